"""Deployments under faults, end to end (issue #14): ``redlin run --deployment ... --nemesis ...``.

The proof the issue asks for, on real ``redis-server`` and ``redis-sentinel`` processes the tests
start on loopback ports (never a server they did not start):

- a primary with one replica, no persistence, the primary killed and restarted: acknowledged writes
  are lost, and each is reported with the kill that lost it;
- the same with AOF ``always``: nothing is lost and the history is linearizable;
- a Sentinel failover under write load: any lost write is explained by the failover;
- a single node paused (SIGSTOP) with a short timeout: indeterminate operations, no false alarm;
- the user's own server (``hosts=``) with a fault the user's command injects: only the run's keys
  are touched, and they are deleted afterwards.

The runs are marked slow (``.ci/run`` runs them); the pure parts (lost-write analysis, routes,
parsing, the CLI's errors) are not.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import need_binary

from redlin.adapter.redis_model import redis_model
from redlin.deploy.analysis import append_only_violation, describe_fault, lost_writes, wait_summary
from redlin.deploy.cluster import Cluster
from redlin.deploy.faults import FaultEvent, parse_commands, read_events
from redlin.deploy.node import Node
from redlin.deploy.record import KeySpace, refused
from redlin.deploy.routes import HostsRoute, redirect_of
from redlin.deploy.runner import DeploymentOutcome, DeploymentPlan, parse_existing, run_deployment
from redlin.deploy.topology import MASTER_NAME, PrimaryReplica, SentinelGroup
from redlin.errors import EXIT_OK, EXIT_USAGE, EXIT_VIOLATION, HistoryError, UsageError
from redlin.history.jsonl import HistoryWriter, load_history
from redlin.history.records import History, Operation, Outcome
from redlin.model import Error, Status
from redlin.search.check import check
from redlin.search.compose import piece

# -- the lost-write analysis -------------------------------------------------------------------------

PUSH_A = Operation(0, 1, ((b"RPUSH", b"k", b"a"),), (1,), 10, 20)
PUSH_B_UNSURE = Operation(1, 2, ((b"RPUSH", b"k", b"b"),), None, 30, None, Outcome.INFO)
PUSH_C = Operation(2, 3, ((b"MULTI",), (b"RPUSH", b"k", b"c"), (b"RPUSH", b"j", b"c"), (b"EXEC",)),
                   (Status("OK"), Status("QUEUED"), Status("QUEUED"), (2, 1)), 40, 50)
FINAL = Operation(3, "final-0", ((b"LRANGE", b"k", b"0", b"-1"),), ((b"c",),), 900, 910)
KILL = FaultEvent("kill", "node0", 1234, 25, 60)
LATER = FaultEvent("failover", "node1", 2345, 70, 80)


def test_an_acknowledged_push_missing_from_the_final_read_is_lost() -> None:
    lost = lost_writes(History((PUSH_A, PUSH_B_UNSURE, PUSH_C, FINAL)), [KILL, LATER], {0: 1})
    # a is acknowledged and gone; b was never acknowledged; c survived in k; j was never read finally
    assert [(write.key, write.element, write.op, write.wait) for write in lost] == [(b"k", b"a", 0, 1)]
    assert lost[0].fault == KILL  # the first fault after the acknowledgement lost it


def test_a_write_acknowledged_during_a_fault_is_lost_by_that_fault() -> None:
    during = FaultEvent("failover", "node0", 1234, 15, 100)
    lost = lost_writes(History((PUSH_A, FINAL)), [during, LATER])
    assert lost[0].fault == during


def test_a_transaction_whose_exec_was_refused_added_nothing() -> None:
    aborted = Operation(0, 1, PUSH_C.call, (Status("OK"), Status("QUEUED"), Status("QUEUED"), None), 10, 20)
    assert lost_writes(History((aborted, FINAL))) == []


def test_wait_is_reported_as_narrowing_not_closing_the_window() -> None:
    lost = lost_writes(History((PUSH_A, FINAL)), [KILL], {0: 1})
    text = wait_summary(lost, {0: 1, 5: 0}, 1)
    assert text.startswith("WAIT 1 confirmed 1 of 2 acknowledged writes")
    assert "1 of the 1 lost writes were among them" in text and "does not close it" in text
    assert describe_fault(KILL, 5) == "kill of node0 (port 1234) at 0.0 ms, healed at 0.0 ms"


READ_EMPTY = Operation(4, 5, ((b"LRANGE", b"k", b"0", b"-1"),), ((),), 60, 70)


def test_an_append_only_part_proves_a_lost_write_without_a_search() -> None:
    model = redis_model()
    history = History((PUSH_A, PUSH_B_UNSURE, PUSH_C, FINAL, READ_EMPTY))
    found = append_only_violation(history, model)
    assert found is not None
    violation, core = found
    assert violation.operation == 4 and core == (0, 4) and violation.prefixes == ()
    assert check(piece(history, core), model).verdict == "violation"  # the core fails on its own
    assert append_only_violation(History((PUSH_A, PUSH_C)), model) is None


def test_a_part_that_can_remove_elements_gets_the_search() -> None:
    delete = Operation(1, 5, ((b"DEL", b"k"),), (1,), 21, 22)
    read = Operation(2, 5, ((b"LRANGE", b"k", b"0", b"-1"),), ((),), 60, 70)
    history = History((PUSH_A, delete, read))
    # the read lacks a, acknowledged before it began; but the DEL took it out: no shortcut, and no violation
    assert append_only_violation(history, redis_model()) is None
    assert check(history, redis_model()).verdict == "linearizable"


def test_faults_in_a_history_load_into_its_meta_and_bad_ones_are_named(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    with HistoryWriter(path) as writer:
        op = writer.invoke(client=1, call=[(b"GET", b"k")], time=10)
        writer.fault(json.loads(KILL.to_json()))
        writer.complete(op, Outcome.OK, time=90, result=[None])
    history = load_history(path)
    assert len(history) == 1 and [FaultEvent.from_json(json.dumps(f)) for f in history.meta["faults"]] == [KILL]
    path.write_text(path.read_text().replace('"start":25', '"start":"soon"'))
    with pytest.raises(HistoryError, match=r"h\.jsonl:3: a fault needs 'fault' \(its kind\) and 'start'"):
        load_history(path)


# -- parsing and routing -----------------------------------------------------------------------------

def test_refusals_and_redirections_are_recognised() -> None:
    assert refused(Error("LOADING Redis is loading the dataset in memory"))
    assert refused(Error("EXECABORT Transaction discarded because of previous errors."))
    assert not refused(Error("WRONGTYPE Operation against a key holding the wrong kind of value"))
    assert redirect_of(Error("ASK 12 10.0.0.1:7001")) == ("ASK", 12, ("10.0.0.1", 7001))
    assert redirect_of(Error("ERR unknown command")) is None and redirect_of(b"MOVED") is None


def test_every_key_has_a_slot_of_its_own_and_a_final_read() -> None:
    keys = KeySpace(b"redlin:x:", registers=2, lists=2, groups=1)
    assert all(key.startswith(b"redlin:x:{") for key in keys.all())
    routed = [key for key, _ in keys.reads()]
    assert routed == [b"redlin:x:{r0}", b"redlin:x:{r1}", b"redlin:x:{l0}", b"redlin:x:{l1}", b"redlin:x:{g0}:a"]


@pytest.mark.parametrize(("text", "message"), [
    ("hosts=", "expected a local kind"),
    ("hosts=http://a:1", "is not redis://HOST:PORT"),
    ("cluster=redis://a:0", "is not redis://HOST:PORT"),
    ("hosts=redis://u:pw@a:1,redis://a:2", "has another user name or password"),
])
def test_a_bad_existing_deployment_is_one_line(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_existing(text)


@pytest.mark.parametrize(("argv", "message"), [
    (["--nemesis", "kill"], "--nemesis and --nemesis-cmd need --deployment"),
    (["--deployment", "single", "--wait", "x"], "bad --wait 'x'"),
    (["--deployment", "single", "--target", "redis://127.0.0.1:1"], "cannot be used together"),
    (["--deployment", "ring"], "unknown deployment 'ring'"),
    (["--deployment", "single", "--nemesis", "kill:bogus=1"], "bad --nemesis"),
])
def test_the_command_line_refuses_bad_deployment_options(argv: list[str], message: str, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "redlin", "run", *argv, "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == EXIT_USAGE, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_the_hosts_route_finds_the_primary_by_role() -> None:
    need_binary("redis-server")
    with PrimaryReplica(1) as topology:
        replica = topology.replicas[0]
        route = HostsRoute([replica.address, topology.primary.address])  # the replica listed first
        route.refresh()
        assert route.address(b"k") == topology.primary.address
        assert route.address(b"k", replica=0) == replica.address
        topology.promote(replica)
        route.refresh()
        assert route.address(b"k") == replica.address


# -- whole runs --------------------------------------------------------------------------------------

@pytest.fixture
def servers() -> Iterator[None]:
    need_binary("redis-server")
    yield


def _run(tmp_path: Path, deployment: str, nemesis: str | None, **options: object) -> DeploymentOutcome:
    plan = DeploymentPlan(deployment=deployment, out=tmp_path / "run", nemesis=nemesis, duration=4.0,
                          check_time=60.0, **options)  # type: ignore[arg-type]
    return run_deployment(plan)


def _document(outcome: DeploymentOutcome) -> dict[str, object]:
    document: dict[str, object] = json.loads((outcome.out / "deployment.json").read_text())
    return document


@pytest.mark.slow
def test_killing_a_primary_without_persistence_loses_acknowledged_writes(servers: None, tmp_path: Path) -> None:
    outcome = _run(tmp_path, "primary-replica:1", "kill:target=primary:interval=0.5-1:duration=0.5-1")
    assert outcome.faults and all(event.kind == "kill" for event in outcome.faults)
    assert outcome.lost, outcome.summary
    assert all(write.fault is not None and write.fault.kind == "kill" for write in outcome.lost)
    assert outcome.exit_code == EXIT_VIOLATION
    assert f"{len(outcome.lost)} acknowledged writes lost" in outcome.summary
    assert len(_document(outcome)["lost_writes"]) == len(outcome.lost)  # type: ignore[arg-type]
    # the faults were written beside the history, and the report draws them
    assert [event.kind for event in read_events(outcome.out / "nemesis.jsonl")] == [e.kind for e in outcome.faults]
    assert len(load_history(outcome.out / "history.jsonl").meta["faults"]) == len(outcome.faults)
    assert '"faults":[{' in (outcome.out / "report.html").read_text()


@pytest.mark.slow
def test_aof_always_keeps_every_acknowledged_write_across_a_kill(servers: None, tmp_path: Path) -> None:
    outcome = _run(tmp_path, "primary-replica:1,aof-always", "kill:target=primary:interval=0.5-1:duration=0.5-1")
    assert outcome.faults and outcome.acknowledged > 50
    assert outcome.lost == [], outcome.summary
    assert outcome.verdict == "linearizable" and outcome.exit_code == EXIT_OK


@pytest.mark.slow
def test_pauses_of_a_single_node_are_no_false_alarm(servers: None, tmp_path: Path) -> None:
    outcome = _run(tmp_path, "single", "pause:interval=0.3-0.6:duration=0.6-1", timeout=0.25)
    history = load_history(outcome.out / "history.jsonl")
    assert any(op.outcome is Outcome.INFO for op in history), "no operation was left without a reply"
    assert outcome.verdict == "linearizable" and outcome.lost == [] and outcome.exit_code == EXIT_OK


@pytest.mark.slow
def test_a_sentinel_failover_under_load_is_explained(servers: None, tmp_path: Path) -> None:
    need_binary("redis-sentinel")
    outcome = _run(tmp_path, "sentinel", "failover:interval=0.5-1", wait=(1, 100), replica_readers=1)
    assert any(event.kind == "failover" and "error" not in event.detail for event in outcome.faults)
    # lost writes, if any, are explained by the failover; a violation names the fault before it
    assert all(write.fault is not None and write.fault.kind == "failover" for write in outcome.lost)
    document = _document(outcome)
    violation = document["violation"]
    if violation is not None:
        assert "failover of" in violation["fault_before"]  # type: ignore[index]
    assert document["wait_summary"].startswith("WAIT 1 confirmed")  # type: ignore[union-attr]
    assert document["sequential"] is not None and document["replica_reads_linearizable"] is not None
    assert outcome.exit_code == (EXIT_VIOLATION if outcome.lost or violation else outcome.exit_code)


@pytest.mark.slow
def test_the_users_own_server_keeps_its_keys_and_gets_the_users_fault(servers: None, tmp_path: Path) -> None:
    with Node("theirs") as node:
        node.command("SET", "their:key", "precious")
        pause = f"{sys.executable} -c \"import redis; redis.Redis(port={node.port}).client_pause(300, all=False)\""
        commands = parse_commands([f"stall={pause}"])
        outcome = _run(tmp_path, f"hosts=redis://127.0.0.1:{node.port}", "stall:interval=0.5-1", commands=commands)
        assert [event.kind for event in outcome.faults][:1] == ["stall"]
        assert outcome.faults[0].detail.get("status") == 0, outcome.faults[0].detail
        assert outcome.verdict == "linearizable" and outcome.exit_code == EXIT_OK
        assert node.command("GET", "their:key") == b"precious"
        assert node.command("KEYS", "redlin:*") == []  # the run's keys were deleted afterwards


@pytest.mark.slow
def test_a_cluster_run_follows_its_primaries_through_a_failover(servers: None, tmp_path: Path) -> None:
    outcome = _run(tmp_path, "cluster", "failover:interval=0.5-1")
    failovers = [event for event in outcome.faults if event.kind == "failover" and "error" not in event.detail]
    assert failovers, outcome.faults
    history = load_history(outcome.out / "history.jsonl")
    # a CLUSTER FAILOVER loses nothing: every key got its final read and every acknowledged write is there
    finals = [op for op in history if isinstance(op.client, str) and op.outcome is Outcome.OK]
    assert len(finals) == len(KeySpace(b"").reads())
    assert outcome.lost == [] and outcome.verdict == "linearizable", outcome.summary


@pytest.mark.slow
def test_the_users_sentinel_group_is_found_through_its_sentinels(servers: None, tmp_path: Path) -> None:
    need_binary("redis-sentinel")
    with SentinelGroup(2) as group:
        seeds = ",".join(f"redis://{host}:{port}" for host, port in group.sentinel_addresses)
        outcome = _run(tmp_path, f"sentinel={seeds}?master={MASTER_NAME}", None, replica_readers=1)
        assert outcome.verdict == "linearizable" and outcome.lost == [] and outcome.acknowledged > 50
        writes = [op for op in load_history(outcome.out / "history.jsonl") if op.outcome is Outcome.OK]
        assert writes and group.primary.command("KEYS", "redlin:*") == []  # reached the primary, then cleaned up
        assert outcome.document["sequential"] is not None


@pytest.mark.slow
def test_the_users_cluster_is_reached_from_one_seed(servers: None, tmp_path: Path) -> None:
    with Cluster() as cluster:
        outcome = _run(tmp_path, f"cluster={cluster.seed_url}", None)
        assert outcome.verdict == "linearizable" and outcome.lost == [] and outcome.acknowledged > 50
        for primary in cluster.primaries():
            assert primary.command("KEYS", "redlin:*") == []


@pytest.mark.slow
def test_replica_reads_of_a_cluster_are_served_by_its_replicas(servers: None, tmp_path: Path) -> None:
    with Cluster() as cluster:
        outcome = _run(tmp_path, f"cluster={cluster.seed_url}", None, replica_readers=2)
        assert outcome.verdict == "linearizable" and outcome.document["sequential"] is not None
        assert outcome.document["replica_readers"] == 2
        primaries = cluster.primaries()
        replicas = [node for node in cluster.nodes if node not in primaries]
        served = [node.info("commandstats") for node in replicas]
        # each replica was switched to READONLY and answered reads itself (no MOVED back to a primary)
        assert sum(stats.get("cmdstat_readonly", {}).get("calls", 0) for stats in served) >= 1
        assert sum(stats.get(f"cmdstat_{read}", {}).get("calls", 0) for stats in served
                   for read in ("get", "lrange")) > 10


@pytest.mark.slow
def test_sigterm_ends_a_deployment_run_with_a_verdict_and_no_server_left(servers: None, tmp_path: Path) -> None:
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "redlin", "run", "--deployment", "primary-replica:1",
                                "--nemesis", "pause", "--duration", "120", "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / "history.jsonl").exists() or (out / "history.jsonl").stat().st_size < 5000:
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == EXIT_OK, stderr
    assert "recording stopped early by SIGTERM" in stdout and "linearizability" in stdout
    assert json.loads((out / "deployment.json").read_text())["interrupted"] == "SIGTERM"
    assert not _processes_mentioning(str(out)), "a server of the run was left running"


def _processes_mentioning(text: str) -> list[str]:
    """The command lines of running processes that contain ``text`` (from /proc, no pgrep needed)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().decode(errors="replace").replace("\0", " ")
        except OSError:
            continue  # gone meanwhile
        if text in words:
            found.append(words)
    return found
