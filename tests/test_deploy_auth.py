"""Deployments of the user's that need a password: ``redis://[[USER]:PASSWORD@]HOST:PORT``.

On real ``redis-server`` (and ``redis-sentinel``) processes these tests start on loopback ports,
the password set once they run (``CONFIG SET requirepass``: a node answers its readiness ``PING``
before that), and inspected with redis-py, which authenticates:

- :class:`~redlin.harness.wire.Connection` sends ``AUTH`` first when given a password, and a
  refusal is an ``AuthRefused`` naming the server and the reason, never the password;
- a run against a server with ``requirepass`` records, checks and cleans up, and no file it writes
  holds the password; a wrong or missing password ends the run at once, in one line (exit 3 from
  the command line);
- an ACL user allowed only ``redlin:*`` keys is enough for a run: the server's ACL log shows that
  redlin touched nothing else;
- for ``sentinel=``, the URLs' password is the sentinels' and ``?password=`` the servers'.

The parsing and the redaction of ``--deployment`` are tested without servers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from conftest import need_binary

from redlin.cli import main
from redlin.deploy.cluster import Cluster
from redlin.deploy.node import Node, Topology
from redlin.deploy.routes import Credentials, HostsRoute
from redlin.deploy.runner import DeploymentOutcome, DeploymentPlan, parse_existing, redacted, run_deployment
from redlin.deploy.topology import MASTER_NAME, PrimaryReplica, SentinelGroup
from redlin.errors import EXIT_OK, EXIT_USAGE, UsageError
from redlin.harness.wire import AuthRefused, Connection
from redlin.model import Error, Status

PASSWORD = "s3cret"


# -- parsing and redaction ---------------------------------------------------------------------------

def test_the_urls_credentials_are_parsed_and_percent_decoded() -> None:
    existing = parse_existing("hosts=redis://:s3cret@a:1,redis://:s3cret@b:2")
    assert existing.addresses == [("a", 1), ("b", 2)]
    assert existing.credentials == Credentials(None, "s3cret")
    assert parse_existing("cluster=redis://alice:p%2Cw%40x@a:1").credentials == Credentials("alice", "p,w@x")
    assert parse_existing("hosts=redis://alice@a:1").credentials == Credentials("alice", "")  # a nopass user
    assert parse_existing("hosts=redis://a:1").credentials == Credentials()  # no AUTH at all
    assert "s3cret" not in repr(existing)


@pytest.mark.parametrize(("text", "message", "named"), [
    ("hosts=redis://:s3cret@a:1,redis://b:2", "has another user name or password", "redis://b:2"),
    ("cluster=redis://u:s3cret@a:1,redis://v:s3cret@b:2", "has another user name or password",
     "redis://v:***@b:2"),
    ("hosts=redis://:one@a:1,redis://:s3cret@b:2", "has another user name or password", "redis://:***@b:2"),
    ("hosts=redis://:s3cret@a:1?password=s3cret", "only sentinel= takes", "hosts=redis://:***@a:1"),
    ("sentinel=redis://a:1?master=m&pasword=s3cret", "unknown or repeated option(s) pasword", "sentinel="),
    ("sentinel=redis://a:1?master=m&master=n", "unknown or repeated option(s) master", "sentinel="),
    ("hosts=redis://:s3,cret@a:1", "URL 2 is not redis://HOST:PORT", "must be percent-encoded"),
    ("hosts=redis://:s3?cret@a:1", "the part after '?' is not NAME=VALUE", "must be percent-encoded"),
    ("hosts=redis://:s3cret@a:0", "is not redis://HOST:PORT (with a password", "redis://:***@a:0"),
])
def test_a_bad_deployment_with_credentials_is_one_line_without_the_password(text: str, message: str,
                                                                             named: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_existing(text)
    shown = str(caught.value)
    assert message in shown and named in shown and "\n" not in shown
    assert "s3" not in shown.replace("redis://", "")  # no piece of the password


def test_the_sentinels_password_is_the_urls_and_the_servers_is_the_querys() -> None:
    existing = parse_existing("sentinel=redis://:sentpw@a:1,redis://:sentpw@b:2?master=cache&password=d%26ta"
                              "&username=app")
    assert existing.kind == "sentinel" and existing.master == "cache"
    assert existing.sentinel_credentials == Credentials(None, "sentpw")
    assert existing.credentials == Credentials("app", "d&ta")
    plain = parse_existing("sentinel=redis://:sentpw@a:1")
    assert plain.master == MASTER_NAME and plain.credentials == Credentials()  # the servers': none unless given


@pytest.mark.parametrize(("text", "shown"), [
    ("hosts=redis://:s3cret@a:1,redis://:s3cret@b:2", "hosts=redis://:***@a:1,redis://:***@b:2"),
    ("cluster=redis://alice:s3cret@a:1", "cluster=redis://alice:***@a:1"),
    ("hosts=redis://alice@a:1", "hosts=redis://alice@a:1"),
    ("sentinel=redis://:s3cret@a:1?master=m&password=s3cret&username=u",
     "sentinel=redis://:***@a:1?master=m&password=***&username=u"),
    ("sentinel=redis://a:1?password=s3@cret", "sentinel=redis://a:1?password=***"),
    ("hosts=redis://:s3,cret@a:1", "hosts=redis://:***@a:1"),
    ("hosts=redis://:s3cret/x@a:1", "hosts=redis://:***@a:1"),
    ("hosts=:s3cret@a:1", "hosts=***@a:1"),
    ("sentinel,aof-always", "sentinel,aof-always"),
])
def test_a_deployment_is_shown_without_its_passwords(text: str, shown: str) -> None:
    assert redacted(text) == shown


# -- the wire client ---------------------------------------------------------------------------------

@pytest.fixture
def protected() -> Iterator[Node]:
    """A server that needs :data:`PASSWORD` (set once it answered the readiness PING)."""
    need_binary("redis-server")
    with Node("auth") as node:
        node.command("CONFIG", "SET", "requirepass", PASSWORD)
        yield node


def _client(node: Node, **credentials: str) -> redis.Redis:
    return redis.Redis(*node.address, socket_timeout=5, **credentials)  # type: ignore[arg-type]


def _protect(topology: Topology, password: str) -> None:
    """Make every server of a running ``topology`` need ``password`` (replicas authenticate with it)."""
    for node in topology.nodes:
        if not node.sentinel:
            node.command("CONFIG", "SET", "masterauth", password)
    for node in topology.nodes:
        if not node.sentinel:
            node.command("CONFIG", "SET", "requirepass", password)


def test_a_connection_with_the_password_authenticates_first(protected: Node) -> None:
    with Connection(*protected.address, timeout=2, password=PASSWORD) as connection:
        assert connection.execute(b"PING") == Status("PONG")
    with Connection(*protected.address, timeout=2, password=PASSWORD, protocol=3) as connection:
        assert connection.protocol == 3 and connection.execute(b"PING") == Status("PONG")
    with Connection(*protected.address, timeout=2) as connection:  # no password: no AUTH, as before
        reply = connection.execute(b"PING")
        assert type(reply) is Error and reply.text.startswith("NOAUTH")
        assert not connection.closed


def test_a_refused_password_is_one_line_naming_the_server(protected: Node) -> None:
    host, port = protected.address
    with pytest.raises(AuthRefused) as caught:
        Connection(host, port, timeout=2, password="wrong")
    text = str(caught.value)
    assert text.startswith(f"authenticating to {host}:{port}: WRONGPASS") and "wrong" not in text.split(":", 2)[2]
    assert "\n" not in text
    with pytest.raises(AuthRefused, match=f"authenticating to {host}:{port} as nobody: WRONGPASS"):
        Connection(host, port, timeout=2, username="nobody", password=PASSWORD)


def test_the_route_tells_a_missing_password_from_a_server_that_is_down(protected: Node) -> None:
    with pytest.raises(AuthRefused, match="requires a password .*redis://\\[USER\\]:PASSWORD@HOST:PORT"):
        HostsRoute([protected.address]).check_access()
    HostsRoute([protected.address], credentials=Credentials(None, PASSWORD)).check_access()
    HostsRoute([("127.0.0.1", 1)], probe_timeout=0.2).check_access()  # nothing there: left to the run


def test_the_hosts_route_asks_for_the_role_with_the_password() -> None:
    need_binary("redis-server")
    with PrimaryReplica(1) as topology:
        _protect(topology, PASSWORD)
        route = HostsRoute([topology.replicas[0].address, topology.primary.address],
                           credentials=Credentials(None, PASSWORD))
        route.refresh()
        assert route.address(b"k") == topology.primary.address  # not the first listed: ROLE was answered


# -- whole runs --------------------------------------------------------------------------------------

def _run(tmp_path: Path, deployment: str, **options: object) -> DeploymentOutcome:
    plan = DeploymentPlan(deployment=deployment, out=tmp_path / "run", duration=2.0, check_time=30.0,
                          **options)  # type: ignore[arg-type]
    return run_deployment(plan)


def _files_mentioning(directory: Path, *secrets: str) -> list[str]:
    return [path.name for path in directory.rglob("*") if path.is_file()
            and any(secret.encode() in path.read_bytes() for secret in secrets)]


def test_a_run_authenticates_everywhere_and_writes_no_password(protected: Node, tmp_path: Path) -> None:
    with _client(protected, password=PASSWORD) as client:
        client.set("their:key", "precious")
        outcome = _run(tmp_path, f"hosts=redis://:{PASSWORD}@{protected.host}:{protected.port}")
        assert outcome.verdict == "linearizable" and outcome.exit_code == EXIT_OK, outcome.summary
        assert outcome.operations > 20 and outcome.acknowledged > 0
        assert client.get("their:key") == b"precious" and client.keys("redlin:*") == []  # deleted afterwards
    assert _files_mentioning(outcome.out, PASSWORD) == []
    assert {"history.jsonl", "deployment.json", "report.html"} <= {path.name for path in outcome.out.iterdir()}
    document = json.loads((outcome.out / "deployment.json").read_text())
    assert document["deployment"] == f"hosts=redis://:***@{protected.host}:{protected.port}"
    assert PASSWORD not in outcome.summary and "redis://:***@" in outcome.summary


@pytest.mark.parametrize(("userinfo", "message"), [
    (":wrong@", "WRONGPASS"),
    ("", "requires a password"),
])
def test_a_wrong_or_missing_password_ends_the_run_in_one_line(protected: Node, tmp_path: Path, userinfo: str,
                                                              message: str) -> None:
    deployment = f"hosts=redis://{userinfo}{protected.host}:{protected.port}"
    with pytest.raises(UsageError) as caught:
        _run(tmp_path, deployment)
    text = str(caught.value)
    assert message in text and f"{protected.host}:{protected.port}" in text and "\n" not in text
    assert "wrong" not in text.replace("WRONGPASS", "")


def test_the_command_line_says_a_password_was_refused_and_exits_3(protected: Node, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--deployment", f"hosts=redis://:wrong@{protected.host}:{protected.port}",
                 "--duration", "1", "--progress", "none", "--out", str(tmp_path / "run")])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == EXIT_USAGE and len(lines) == 1, captured.err
    assert lines[0].startswith("redlin: --deployment hosts=redis://:***@") and "WRONGPASS" in lines[0]
    assert "wrong" not in (captured.out + captured.err).replace("WRONGPASS", "")


def test_the_password_can_come_from_the_environment(protected: Node, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MY_REDIS_PASSWORD", PASSWORD)  # kept off the command line (and out of ps)
    code = main(["run", "--deployment", f"hosts=redis://{protected.host}:{protected.port}", "--password-env",
                 "MY_REDIS_PASSWORD", "--duration", "1", "--progress", "none", "--out", str(tmp_path / "run")])
    captured = capsys.readouterr()
    assert code == EXIT_OK, captured.err
    assert _files_mentioning(tmp_path / "run", PASSWORD) == []


def test_an_acl_user_limited_to_the_run_prefix_is_enough(protected: Node, tmp_path: Path) -> None:
    with _client(protected, password=PASSWORD) as admin:
        admin.execute_command("ACL", "SETUSER", "tester", "on", ">pw", "~redlin:*", "+@all")
        admin.execute_command("ACL", "LOG", "RESET")
        outcome = _run(tmp_path, f"hosts=redis://tester:pw@{protected.host}:{protected.port}")
        assert outcome.verdict == "linearizable" and outcome.operations > 20, outcome.summary
        assert admin.execute_command("ACL", "LOG") == []  # not one command or key outside what it may use
        assert admin.keys("redlin:*") == []
    assert outcome.document["deployment"] == f"hosts=redis://tester:***@{protected.host}:{protected.port}"


def test_the_sentinels_and_the_servers_each_get_their_own_password(tmp_path: Path) -> None:
    need_binary("redis-sentinel")
    with SentinelGroup(1, sentinels=1, quorum=1) as group:
        group.sentinels[0].command("SENTINEL", "SET", MASTER_NAME, "auth-pass", "datapw")
        _protect(group, "datapw")
        group.sentinels[0].command("ACL", "SETUSER", "default", "resetpass", ">sentpw")
        sentinel = "redis://:sentpw@{}:{}".format(*group.sentinel_addresses[0])
        with pytest.raises(UsageError, match=r"requires a password \(the primary of 'redlin': give its password as "
                                             r"\?master=NAME&password="):
            _run(tmp_path, f"sentinel={sentinel}?master={MASTER_NAME}")
        outcome = _run(tmp_path, f"sentinel={sentinel}?master={MASTER_NAME}&password=datapw", replica_readers=1)
        assert outcome.verdict == "linearizable" and outcome.acknowledged > 0, outcome.summary
        with _client(group.primary, password="datapw") as client:
            assert client.keys("redlin:*") == []
    assert _files_mentioning(outcome.out, "sentpw", "datapw") == []


@pytest.mark.slow
def test_a_cluster_with_a_password_is_followed_slot_by_slot(tmp_path: Path) -> None:
    need_binary("redis-server")
    with Cluster(3, 0) as cluster:
        primaries = cluster.primaries()  # its helpers cannot ask once the password is set
        _protect(cluster, PASSWORD)
        seed = primaries[0]
        outcome = _run(tmp_path, f"cluster=redis://:{PASSWORD}@{seed.host}:{seed.port}")
        assert outcome.verdict == "linearizable" and outcome.acknowledged > 0, outcome.summary
        for primary in primaries:
            with _client(primary, password=PASSWORD) as client:
                assert client.keys("redlin:*") == []
    assert _files_mentioning(outcome.out, PASSWORD) == []
