"""Local topologies from the distribution's binaries (issue #14): real processes, no mocks.

Every test starts its own nodes on free loopback ports (through :mod:`redlin.deploy`) and tears them
down; none touches a process it did not start.  Without ``redis-server`` (or ``redis-sentinel``)
the tests are skipped locally and fail under CI, as in ``conftest.py``.  The Sentinel and Cluster
tests are marked slow (a few seconds each).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from conftest import need_binary
from redis.cluster import RedisCluster
from redis.sentinel import Sentinel

from redlin.deploy import node as node_module
from redlin.deploy.cluster import Cluster, Peer, slot_ranges
from redlin.deploy.node import DeployError, Node, Persistence, config_text
from redlin.deploy.topology import MASTER_NAME, Deployment, PrimaryReplica, SentinelGroup
from redlin.errors import UsageError


@pytest.fixture
def servers() -> None:
    need_binary("redis-server")


@pytest.fixture
def sentinels() -> None:
    need_binary("redis-server")
    need_binary("redis-sentinel")


def _alive(pid: int) -> bool:
    """True while ``pid`` (a process this test started and its Node reaped or not) exists and is not
    a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


# -- parsing (no processes) ---------------------------------------------------------------------


@pytest.mark.parametrize(("text", "kind", "replicas", "persistence"), [
    ("single", "single", 0, Persistence.NONE),
    ("primary-replica", "primary-replica", 1, Persistence.NONE),
    ("primary-replica:2", "primary-replica", 2, Persistence.NONE),
    ("primary-replica:3,aof-everysec", "primary-replica", 3, Persistence.AOF_EVERYSEC),
    ("sentinel,aof-always", "sentinel", 2, Persistence.AOF_ALWAYS),
    ("cluster,none", "cluster", 3, Persistence.NONE),
])
def test_deployment_strings(text: str, kind: str, replicas: int, persistence: Persistence) -> None:
    deployment = Deployment.parse(text)
    assert (deployment.kind, deployment.replicas, deployment.persistence) == (kind, replicas, persistence)
    assert Deployment.parse(str(deployment)) == deployment  # the string round-trips


@pytest.mark.parametrize(("text", "persistence", "message"), [
    ("replicas", None, "unknown deployment 'replicas': expected single, primary-replica[:N], sentinel or cluster"),
    ("primary-replica:0", None, "the replica count must be a number from 1 to 16"),
    ("primary-replica:17", None, "the replica count must be a number from 1 to 16"),
    ("primary-replica:", None, "the replica count must be a number from 1 to 16"),
    ("sentinel:2", None, "only primary-replica takes a replica count"),
    ("cluster,aof", None, "unknown persistence 'aof': expected none, aof-everysec or aof-always"),
    ("cluster,aof-always", "none", "persistence given twice"),
    ("cluster", "fsync", "unknown persistence 'fsync'"),
])
def test_bad_deployment_strings_are_one_line_usage_errors(text: str, persistence: str | None, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        Deployment.parse(text, persistence=persistence)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_separate_persistence_option_is_accepted() -> None:
    assert Deployment.parse("primary-replica:2", persistence="aof-always") == Deployment(
        "primary-replica", 2, Persistence.AOF_ALWAYS)
    group = Deployment.parse("sentinel,aof-always").build()
    try:
        assert isinstance(group, SentinelGroup) and len(group.sentinels) == 3 and len(group.servers) == 3
        assert all(node.persistence is Persistence.AOF_ALWAYS for node in group.servers)
    finally:
        group.close()


def test_configuration_lines_quote_what_redis_would_split() -> None:
    text = config_text([("dir", '/tmp/with space/"q"'), ("save", ""), ("sentinel", ("monitor", "m", "h", "1", "2"))])
    assert text.splitlines() == ['dir "/tmp/with space/\\"q\\""', 'save ""', "sentinel monitor m h 1 2"]


def test_cluster_nodes_lines_and_slot_ranges() -> None:
    peer = Peer.parse("abc 127.0.0.1:7000@17000 myself,master - 0 1 2 connected 0-10 12 [13->-def]")
    assert (peer.port, peer.master, peer.slots, peer.healthy) == (7000, "-", ((0, 10), (12, 12)), True)
    assert not Peer.parse("abc 127.0.0.1:7000@17000 master,fail? - 0 1 2 connected").healthy
    ranges = slot_ranges(3)
    assert ranges[0][0] == 0 and ranges[-1][1] == 16383
    assert all(ranges[index][1] + 1 == ranges[index + 1][0] for index in range(2))


def test_ports_are_picked_below_the_ephemeral_range() -> None:
    floor = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = {node_module.free_port() for _ in range(20)}
    assert all(node_module.PORT_FLOOR <= port < floor for port in ports) and len(ports) > 1
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", min(ports)))  # really free
    assert all(node_module.free_port(avoid=[min(ports)]) != min(ports) for _ in range(20))


# -- one node -------------------------------------------------------------------------------------


def test_a_node_starts_answers_and_leaves_nothing_behind(servers: None) -> None:
    with Node("solo") as node:
        pid, directory = node.pid, node.directory
        assert pid is not None and _alive(pid)
        assert node.command("PING")
        assert node.info("server")["redis_version"] == "7.0.15"
        assert node.config.read_text().count(f"port {node.port}") == 1
        assert node.log.exists() and node.log.parent == directory
    assert not _alive(pid) and not directory.exists()


def test_a_node_that_cannot_start_says_why(servers: None, tmp_path: Path) -> None:
    node = Node("broken", settings=[("no-such-directive", "1")], directory=tmp_path / "broken")
    with pytest.raises(DeployError) as caught:
        node.start()
    message = str(caught.value)
    assert "broken: redis-server exited at start" in message and "Bad directive or wrong number of arguments" in message
    assert not node.running


def test_a_taken_port_is_replaced_by_another(servers: None, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # The race the retry is for, made certain: the first port offered is already listened on.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        offers = iter([taken])
        real = node_module.free_port
        monkeypatch.setattr(node_module, "free_port", lambda avoid=(): next(offers, None) or real(avoid))
        with Node("retry", directory=tmp_path / "retry") as node:
            assert node.port != taken and node.command("SET", "k", "v")
            assert "Address already in use" in node.log_tail(40)  # the first attempt's failure, logged


@pytest.mark.parametrize(("persistence", "kept"), [
    (Persistence.NONE, None), (Persistence.AOF_ALWAYS, b"acknowledged"),
])
def test_kill_and_restart_loses_data_without_persistence_only(servers: None, persistence: Persistence,
                                                              kept: bytes | None) -> None:
    with Node("crash", persistence=persistence) as node:
        port = node.port
        assert node.command("SET", "key", "acknowledged")  # the reply is the acknowledgement
        node.kill()
        assert not node.running
        with pytest.raises(redis.ConnectionError):
            node.command("PING")
        node.restart()
        assert node.port == port
        assert node.command("GET", "key") == kept


def test_aof_everysec_restart_reloads_after_a_clean_stop(servers: None) -> None:
    with Node("stop", persistence=Persistence.AOF_EVERYSEC) as node:
        node.command("RPUSH", "list", "a", "b")
        node.stop()  # SIGTERM: the AOF is flushed at shutdown
        node.start()
        assert node.command("LRANGE", "list", 0, -1) == [b"a", b"b"]
        assert (node.directory / "appendonlydir").is_dir()


def test_pause_makes_commands_time_out_and_resume_answers_them(servers: None) -> None:
    with Node("pause") as node, node.client(timeout=0.5) as client:
        client.set("k", "before")
        node.pause()
        started = time.monotonic()
        with pytest.raises(redis.TimeoutError):
            client.get("k")
        assert time.monotonic() - started < 2
        node.resume()
        with node.client() as fresh:
            assert fresh.get("k") == b"before"
        # A paused node can still be stopped (SIGTERM is followed by SIGCONT), or killed.
        node.pause()
        node.stop(timeout=5)
        assert not node.running
        node.start().pause()
        node.kill()
        assert not node.running and node.restart().command("PING")


def test_the_exit_safety_net_kills_forgotten_nodes(servers: None, tmp_path: Path) -> None:
    script = ("from redlin.deploy.node import Node\n"
              f"node = Node('forgotten', directory={str(tmp_path / 'n')!r}).start()\n"
              "print(node.pid, flush=True)\n")  # exits without stopping the node
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


# -- primary and replicas ---------------------------------------------------------------------------


@pytest.fixture
def pair(servers: None) -> Iterator[PrimaryReplica]:
    with PrimaryReplica(2) as topology:
        yield topology


def test_replication_replicates(pair: PrimaryReplica) -> None:
    assert len(pair.replica_urls) == 2 and pair.primary_url.startswith("redis://127.0.0.1:")
    with redis.Redis.from_url(pair.primary_url) as primary:
        for index in range(100):
            primary.set(f"key:{index}", index)
    pair.wait_synced()
    for url in pair.replica_urls:
        with redis.Redis.from_url(url) as replica:
            assert replica.get("key:99") == b"99" and replica.dbsize() == 100
            with pytest.raises(redis.ReadOnlyError):
                replica.set("key:0", "refused")


def test_promote_repoints_the_others_and_survives_restarts(pair: PrimaryReplica) -> None:
    old, new = pair.primary, pair.replicas[0]
    old.kill()
    pair.promote(new)
    assert pair.primary is new and new.info("replication")["role"] == "master"
    new.command("SET", "after", "promotion")
    pair.wait_synced()  # the other replica follows the new primary
    old.restart()  # comes back as a replica of the new primary: its file was repointed while down
    pair.wait_synced()
    assert old.command("GET", "after") == b"promotion"
    new.restart()  # CONFIG REWRITE kept its role
    assert new.info("replication")["role"] == "master"


# -- Sentinel ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_sentinel_failover_promotes_a_replica(sentinels: None) -> None:
    with SentinelGroup() as group:
        assert len(group.sentinels) == 3 and len(group.replicas) == 2
        assert group.master_address() == group.primary.address
        watcher = Sentinel(group.sentinel_addresses, socket_timeout=2)
        watcher.master_for(MASTER_NAME, socket_timeout=2).set("before", "failover")
        group.wait_synced()
        old = group.primary
        new = group.failover()
        assert new is not old and new is group.primary
        assert group.master_address() == new.address
        assert {sentinel.command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)[1] for sentinel in
                group.sentinels} == {str(new.port).encode()}
        # Clients that ask Sentinel now write to the new primary, which kept the replicated write.
        assert watcher.discover_master(MASTER_NAME) == new.address  # SENTINEL MASTERS agrees too
        client = watcher.master_for(MASTER_NAME, socket_timeout=2)
        assert client.get("before") == b"failover"
        client.set("after", "failover")
        # The sentinels turn the old primary into a replica of the new one when they next poll it
        # (Sentinel's INFO period, 10 s): until then it is a second primary, as in production.
        group.wait_synced(timeout=20)
        assert old.info("replication")["master_port"] == new.port and old.command("GET", "after") == b"failover"


@pytest.mark.slow
def test_sentinels_fail_over_on_their_own_when_the_primary_is_killed(sentinels: None) -> None:
    with SentinelGroup() as group:
        old = group.primary
        old.command("SET", "acknowledged", "before")
        group.wait_synced()
        old.kill()
        node_module.wait_until(lambda: group.master_address() != old.address,
                               "the sentinels to fail over on their own", 20)
        new = group.follow()
        assert new is group.primary and new is not old and new.info("replication")["role"] == "master"
        assert new.command("GET", "acknowledged") == b"before"  # replicated before the kill: kept


# -- Cluster ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_cluster_forms_serves_every_slot_and_fails_over(servers: None) -> None:
    with Cluster() as cluster:
        primaries = cluster.primaries()
        assert len(primaries) == 3 and all(len(cluster.replicas_of(primary)) == 1 for primary in primaries)
        client = RedisCluster(host="127.0.0.1", port=primaries[0].port, socket_timeout=5)
        try:
            owners = {}
            for index in range(60):  # keys spread over the slots of all three primaries
                key = f"key:{index}"
                client.set(key, index)
                owners[key] = client.get_node_from_key(key).port
            assert set(owners.values()) == {primary.port for primary in primaries}
            assert all(client.get(key) == str(index).encode() for index, key in enumerate(owners))

            target = primaries[0]
            replica = cluster.replicas_of(target)[0]
            promoted = cluster.failover(target)
            assert promoted is replica and target in cluster.replicas_of(promoted)
            assert promoted in cluster.primaries() and target not in cluster.primaries()
            # The client follows MOVED to the promoted node and reads what the old primary acknowledged
            # (a coordinated CLUSTER FAILOVER waits for the replica to catch up first).
            moved = [key for key, port in owners.items() if port == target.port]
            assert moved and all(client.get(key) is not None for key in moved)
            client.set(moved[0], "after")
            assert promoted.command("GET", moved[0]) == b"after"

            # kill -9 and restart of the demoted node: nodes.conf brings it back as a replica.
            target.restart()
            cluster.wait_healthy()
            assert target in cluster.replicas_of(promoted)
            with target.client() as replica:  # READONLY: this connection may read the replica's slots
                assert replica.execute_command("READONLY") and replica.get(moved[0]) == b"after"
        finally:
            client.close()


@pytest.mark.parametrize(("text", "kind", "nodes"), [
    ("single", PrimaryReplica, 1), ("primary-replica:3", PrimaryReplica, 4), ("cluster", Cluster, 6),
])
def test_build_gives_each_kind_its_topology(text: str, kind: type, nodes: int) -> None:
    topology = Deployment.parse(text).build()
    try:
        assert isinstance(topology, kind) and len(topology.nodes) == nodes
        assert not any(node.running for node in topology.nodes)  # built, not started
    finally:
        topology.close()
    assert not topology.directory.exists()
