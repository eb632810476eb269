"""Partitions between nodes (issue #14): the peer network of proxies between the nodes of a local
deployment, the ``isolate`` and ``split`` faults, and the split brain they cause.  Real processes
on loopback, no mocks; each test starts its own nodes and proxies.  The Sentinel and Cluster ones
are marked slow (CI runs them).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from conftest import need_binary
from redis.backoff import NoBackoff
from redis.retry import Retry

from redlin.deploy.cluster import Cluster
from redlin.deploy.nemesis import Nemesis
from redlin.deploy.network import PeerNetwork
from redlin.deploy.node import HOST, DeployError, Node, wait_until
from redlin.deploy.proxy import Proxy
from redlin.deploy.runner import DeploymentPlan, run_deployment
from redlin.deploy.topology import PrimaryReplica, SentinelGroup
from redlin.errors import EXIT_VIOLATION, UsageError


@pytest.fixture
def servers() -> None:
    need_binary("redis-server")


@pytest.fixture
def networked(servers: None) -> Iterator[tuple[PrimaryReplica, PeerNetwork]]:
    topology = PrimaryReplica(1)
    with PeerNetwork(topology.nodes) as network, topology:
        yield topology, network


def _client(address: tuple[str, int], timeout: float = 2.0) -> redis.Redis:
    return redis.Redis(host=address[0], port=address[1], socket_timeout=timeout, socket_connect_timeout=timeout,
                       retry=Retry(NoBackoff(), 0))


def _echo_server() -> tuple[socket.socket, int]:
    """A loopback server that echoes every connection (one thread per connection)."""
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(16)

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return

            def echo(sock: socket.socket = connection) -> None:
                with sock, contextlib.suppress(OSError):  # a reset by the proxy ends it
                    while data := sock.recv(4096):
                        sock.sendall(data)

            threading.Thread(target=echo, daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return listener, int(listener.getsockname()[1])


def _from(source: str, port: int) -> socket.socket:
    sock = socket.socket()
    sock.bind((source, 0))
    sock.settimeout(0.5)
    sock.connect((HOST, port))
    return sock


def _echoes(sock: socket.socket) -> bool:
    try:
        sock.sendall(b"ping")
        return sock.recv(16) == b"ping"
    except OSError:
        return False


def _refused(source: str, port: int) -> bool:
    """Whether a new connection from ``source`` is reset, at once or at its first request."""
    try:
        sock = _from(source, port)
    except OSError:
        return True
    with sock:
        return not _echoes(sock)


# -- the proxy's cuts, by source --------------------------------------------------------------------


def test_a_cut_stops_one_source_and_lets_the_others_through() -> None:
    listener, port = _echo_server()
    names = {"127.0.1.1": "node0", "127.0.1.2": "node1"}
    with listener, Proxy((HOST, port), sources=lambda host: names.get(host, "clients")) as proxy:
        node0, node1, client = (_from(source, proxy.port) for source in ("127.0.1.1", "127.0.1.2", HOST))
        assert all(_echoes(sock) for sock in (node0, node1, client))
        proxy.cut({"node0"}, "stall")
        assert not _echoes(node0)  # held, not refused: it times out
        assert _echoes(node1) and _echoes(client)
        proxy.heal()
        assert node0.recv(16) == b"ping"  # what was held is delivered at the heal
        proxy.cut({"node1"}, "drop")
        assert not _echoes(node1)  # reset
        assert _refused("127.0.1.2", proxy.port)  # a new connection from the cut source is closed at once
        assert _echoes(node0) and _echoes(client)
        for sock in (node0, node1, client):
            sock.close()


def test_a_network_goes_in_before_the_first_start(servers: None) -> None:
    with Node("early") as node, pytest.raises(DeployError, match="before the first start"):
        PeerNetwork([node])
    topology = PrimaryReplica(1)
    with PeerNetwork(topology.nodes) as network, pytest.raises(DeployError, match="not a node of this network: x"):
        network.split(["node0"], ["x"])
    topology.close()


def test_nemesis_node_partitions_need_the_network(servers: None) -> None:
    topology = PrimaryReplica(1)
    with pytest.raises(UsageError, match="--nemesis isolate needs the network between nodes"):
        Nemesis(topology, "isolate")
    with PeerNetwork(topology.nodes) as network, pytest.raises(UsageError, match="split .* takes no target"):
        Nemesis(topology, "split:target=primary", network=network)
    assert [spec.kind for spec in Nemesis(topology, "all").faults if spec.kind in ("isolate", "split")] == []
    topology.close()


# -- a primary and a replica --------------------------------------------------------------------------


def test_the_nodes_reach_each_other_through_the_network(networked: tuple[PrimaryReplica, PeerNetwork]) -> None:
    topology, network = networked
    primary, replica = topology.primary, topology.replicas[0]
    info = replica.info("replication")
    assert int(info["master_port"]) == primary.peer_port != primary.port  # the replica follows the proxy
    listed = primary.info("replication")["slave0"]
    assert (listed["ip"], int(listed["port"])) == (HOST, replica.peer_port)  # and announces its own
    # the replica's link comes from its own address: the primary's proxy knows it as node1's
    network.proxies[primary.name][0].cut({replica.name}, "drop")
    wait_until(lambda: replica.info("replication")["master_link_status"] == "down", "the link to go down", 10)


def test_isolating_the_primary_holds_replication_and_not_the_clients(
        networked: tuple[PrimaryReplica, PeerNetwork]) -> None:
    topology, network = networked
    primary, replica = topology.primary, topology.replicas[0]
    assert network.isolate(primary) == [replica.name]
    with _client(primary.peer_address) as client:  # a client through the same proxy is not cut
        client.set("during", "isolation")
    time.sleep(0.5)
    assert replica.command("GET", "during") is None  # the write did not cross the partition
    network.heal()
    wait_until(lambda: replica.command("GET", "during") == b"isolation", "the write to reach the replica", 10)


def test_a_dropped_link_is_seen_down_by_the_replica(networked: tuple[PrimaryReplica, PeerNetwork]) -> None:
    topology, network = networked
    replica = topology.replicas[0]
    network.split([topology.primary], [replica], mode="drop")
    wait_until(lambda: replica.info("replication")["master_link_status"] == "down", "the link to go down", 10)
    network.heal()
    topology.wait_synced()


def test_the_nemesis_isolates_and_splits(networked: tuple[PrimaryReplica, PeerNetwork]) -> None:
    topology, network = networked
    nemesis = Nemesis(topology, "isolate:target=replica:mode=drop,split", seed=3, network=network)
    isolate, split = (nemesis.inject(spec, hold=0.2) for spec in nemesis.faults)
    assert (isolate.kind, isolate.target, isolate.port) == ("isolate", "node1", topology.nodes[1].port)
    assert isolate.detail == {"mode": "drop", "from": ["node0"]} and isolate.end is not None
    assert split.detail["sides"] in ([["node0"], ["node1"]], [["node1"], ["node0"]])
    assert split.target == split.detail["sides"][0][0]
    assert all(proxy.cuts == {} for proxies in network.proxies.values() for proxy in proxies)  # healed
    topology.primary.command("SET", "after", "1")
    topology.wait_synced()


# -- split brain -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_isolated_sentinel_primary_takes_writes_that_the_failover_loses(servers: None) -> None:
    need_binary("redis-sentinel")
    group = SentinelGroup()
    with PeerNetwork(group.nodes) as network, group:
        old = group.primary
        assert group.master_address() == old.peer_address
        with _client(old.peer_address) as client:
            client.rpush("log", "before")
            group.wait_synced()
            network.isolate(old)
            acknowledged = []
            deadline = time.monotonic() + 20
            while group.master_address() == old.peer_address and time.monotonic() < deadline:
                acknowledged.append(client.rpush("log", f"during-{len(acknowledged)}"))
                time.sleep(0.05)
            assert group.master_address() != old.peer_address, "the sentinels did not fail over"
            assert len(acknowledged) > 5  # the old primary went on acknowledging writes: a split brain
            network.heal()
            group.follow()
            group.wait_synced(30)  # the old primary rejoins as a replica of the new one
            assert old.info("replication")["role"] == "slave"
            assert group.primary.command("LRANGE", "log", 0, -1) == [b"before"]  # every write "during" lost


@pytest.mark.slow
def test_an_isolated_cluster_primary_is_replaced_over_the_bus(servers: None) -> None:
    cluster = Cluster(node_timeout_ms=1000)
    with PeerNetwork(cluster.nodes) as network, cluster:
        old = cluster.primaries()[0]
        [replica] = cluster.replicas_of(old)
        network.isolate(old)

        def promoted() -> bool:  # as the replica sees itself: the isolated node's own view is stale
            return not next(peer for peer in cluster.peers(replica) if peer.myself).replica

        wait_until(promoted, "the replica to take over the isolated primary's slots", 20, interval=0.2)
        network.heal()
        cluster.wait_healthy(30)
        assert replica in cluster.primaries() and old in cluster.replicas_of(replica)


@pytest.mark.slow
def test_a_run_under_isolation_reports_the_lost_writes_and_blames_it(servers: None, tmp_path: Path) -> None:
    need_binary("redis-sentinel")
    plan = DeploymentPlan(deployment="sentinel", nemesis="isolate:target=primary:interval=1:duration=5",
                          duration=8, seed=1, out=tmp_path, check_time=30)
    outcome = run_deployment(plan)
    assert [event.kind for event in outcome.faults][:1] == ["isolate"], outcome.faults
    assert outcome.faults[0].detail["primary"] != outcome.faults[0].target  # followed the failover
    assert outcome.lost, outcome.summary
    assert all(write.fault is not None and write.fault.kind == "isolate" for write in outcome.lost)
    assert outcome.exit_code == EXIT_VIOLATION
    assert "was a partition from the other nodes of node" in (tmp_path / "summary.md").read_text()
