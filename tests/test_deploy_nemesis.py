"""The nemesis (issue #14): faults injected into local deployments on a schedule, the proxy layer
network faults go through, and the events they leave.  Real processes, no mocks.

Every test starts its own nodes and proxies on free loopback ports and tears them down; none
touches a process it did not start.  Each is bounded to a few seconds; the Sentinel and Cluster
ones are marked slow (they run under CI or with ``--run-slow``).
"""

from __future__ import annotations

import shlex
import socket
import sys
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
from redlin.deploy.faults import (
    FaultEvent,
    parse_commands,
    parse_nemesis,
    read_events,
    write_events,
)
from redlin.deploy.nemesis import Nemesis, stopped
from redlin.deploy.network import PeerNetwork
from redlin.deploy.node import HOST, Node
from redlin.deploy.proxy import Proxy, ProxyLayer
from redlin.deploy.topology import PrimaryReplica, SentinelGroup
from redlin.errors import UsageError


@pytest.fixture
def servers() -> None:
    need_binary("redis-server")


@pytest.fixture
def pair(servers: None) -> Iterator[PrimaryReplica]:
    with PrimaryReplica(1) as topology:
        yield topology


def _client(port: int, timeout: float) -> redis.Redis:
    """A client of ``port`` that never retries (redis-py's default retries hide a timeout)."""
    return redis.Redis(host=HOST, port=port, socket_timeout=timeout, socket_connect_timeout=timeout,
                       retry=Retry(NoBackoff(), 0))


def _answers(node: Node) -> bool:
    try:
        return bool(node.command("PING"))
    except (redis.RedisError, OSError):
        return False


def _until_healed(nemesis: Nemesis, count: int = 1, timeout: float = 15.0) -> list[FaultEvent]:
    """The events once ``count`` faults have been healed (the test fails after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = nemesis.events()
        if len(events) >= count and all(event.end is not None for event in events[:count]):
            return events
        time.sleep(0.02)
    raise AssertionError(f"{count} faults were not healed within {timeout} s: {nemesis.events()}")


def _until_injected(nemesis: Nemesis, timeout: float = 5.0) -> FaultEvent:
    """The first event once its fault is in place (its detail is set when the action is done)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = nemesis.events()
        if events and events[0].detail:
            return events[0]
        time.sleep(0.01)
    raise AssertionError(f"no fault was injected within {timeout} s: {nemesis.events()}")


def _all_healed(topology: PrimaryReplica | Cluster) -> None:
    """No process of ``topology`` left stopped, every node running and answering."""
    for node in topology.nodes:
        assert node.running and not stopped(node), node
        assert _answers(node), node


# -- parsing (no processes) ---------------------------------------------------------------------


def test_nemesis_strings() -> None:
    specs = parse_nemesis("kill:interval=3,pause:duration=0.5-1.5:target=primary,latency:ms=40")
    assert [spec.kind for spec in specs] == ["kill", "pause", "latency"]
    assert specs[0].interval == (3.0, 3.0) and specs[0].duration is None
    assert specs[1].duration == (0.5, 1.5) and specs[1].target == "primary"
    assert specs[2].ms == 40
    assert parse_nemesis("client-pause:mode=all")[0].mode == "all"
    assert parse_nemesis("client-pause")[0].mode == "write"  # the default: reads go on
    assert parse_nemesis("failover:mode=takeover")[0].mode == "takeover"
    everything = parse_nemesis("all")
    assert [spec.kind for spec in everything] == ["kill", "pause", "failover", "client-pause", "partition",
                                                  "latency", "restart", "isolate", "split"]
    assert parse_nemesis("isolate:mode=drop")[0].mode == "drop" and parse_nemesis("split")[0].mode == "stall"
    assert all(spec.implied for spec in everything)


@pytest.mark.parametrize(("text", "message"), [
    ("kil", "bad --nemesis 'kil': unknown fault 'kil', expected kill, pause"),
    ("kill,,pause", "unknown fault ''"),
    ("kill:interval", "unknown option 'interval', expected interval, duration, target, mode or ms"),
    ("kill:every=3", "unknown option 'every=3'"),
    ("pause:interval=soon", "'interval=soon' wants seconds"),
    ("pause:duration=5-2", "'duration=5-2' wants a range from low to high"),
    ("latency:ms=fast", "'ms=fast' wants a whole number of milliseconds"),
    ("partition:mode=sideways", "'mode=sideways', expected stall or drop"),
    ("kill:mode=force", "'mode=force', kill takes no mode"),
    ("all:interval=2", "all takes no options"),
    ("split:mode=half", "'mode=half', expected stall or drop"),
])
def test_bad_nemesis_strings_are_one_line_usage_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_nemesis(text)
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(("pairs", "message"), [
    (["kill"], "bad --nemesis-cmd 'kill': expected NAME=COMMAND"),
    (["kill="], "expected NAME=COMMAND"),
    (["=true"], "expected NAME=COMMAND"),
    (["kill=echo 'unclosed"], "No closing quotation"),
    (["heal-kill=true"], "heal-kill has no kill=COMMAND to heal"),
    (["kill=true", "kill=false"], "kill is given twice"),
])
def test_bad_nemesis_commands(pairs: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_commands(pairs)


def test_nemesis_commands_become_fault_kinds() -> None:
    commands = parse_commands(["stop-db=ssh h sudo systemctl kill redis", "heal-stop-db=ssh h sudo systemctl start redis"])
    assert commands["stop-db"].argv == ("ssh", "h", "sudo", "systemctl", "kill", "redis")
    assert commands["stop-db"].heal == ("ssh", "h", "sudo", "systemctl", "start", "redis")
    assert [spec.kind for spec in parse_nemesis("stop-db", commands)] == ["stop-db"]
    with pytest.raises(UsageError, match="expected kill, .*, split, stop-db or all"):
        parse_nemesis("stop", commands)


def test_faults_that_cannot_apply_are_refused_or_left_out() -> None:
    topology = PrimaryReplica(1)  # built, not started
    try:
        with pytest.raises(UsageError, match="--nemesis latency needs the proxy layer"):
            Nemesis(topology, "latency")
        with pytest.raises(UsageError, match="mode=force is a CLUSTER FAILOVER option"):
            Nemesis(topology, "failover:mode=force")
        # ``all`` keeps what applies: no proxies here, so no partition or latency.
        kinds = [spec.kind for spec in Nemesis(topology, "all").faults]
        assert kinds == ["kill", "pause", "failover", "client-pause", "restart"]
    finally:
        topology.close()
    with pytest.raises(UsageError, match="--nemesis kill needs a deployment redlin started"):
        Nemesis(None, "kill")


def test_events_are_json_lines(tmp_path: Path) -> None:
    events = [FaultEvent("kill", "node0", 30001, 5, 9, {"signal": "SIGKILL"}),
              FaultEvent("pause", "node1", 30002, 12, None)]
    write_events(tmp_path / "nemesis.jsonl", events)
    assert read_events(tmp_path / "nemesis.jsonl") == events
    assert events[0].covers(5) and events[0].covers(9) and not events[0].covers(10)
    assert events[1].covers(10**18)  # never healed: lasts for ever


# -- the proxy ----------------------------------------------------------------------------------


@pytest.fixture
def proxied(servers: None) -> Iterator[tuple[Node, Proxy]]:
    with Node("proxied") as node, Proxy(node.address, name=node.name) as proxy:
        yield node, proxy


def test_the_proxy_passes_traffic_and_partitions_stop_it(proxied: tuple[Node, Proxy]) -> None:
    node, proxy = proxied
    assert proxy.port not in (0, node.port)
    with _client(proxy.port, 0.3) as client:
        client.set("key", "through")
        assert node.command("GET", "key") == b"through"
        proxy.partition("stall")  # nothing forwarded: the client times out
        started = time.monotonic()
        with pytest.raises(redis.TimeoutError):
            client.get("key")
        assert time.monotonic() - started < 2
        proxy.heal()
        assert client.get("key") == b"through"
        proxy.partition("drop")  # connections reset, new ones refused at once
        with pytest.raises(redis.ConnectionError):
            client.get("key")
        with pytest.raises(redis.ConnectionError), _client(proxy.port, 1) as fresh:
            fresh.get("key")
        proxy.heal()
        assert client.get("key") == b"through"


def test_the_proxy_adds_latency(proxied: tuple[Node, Proxy]) -> None:
    _, proxy = proxied

    def round_trip(client: redis.Redis) -> float:
        started = time.monotonic()
        client.ping()
        return time.monotonic() - started

    with _client(proxy.port, 2) as client:
        client.ping()
        before = min(round_trip(client) for _ in range(5))
        proxy.delay(60)
        delayed = min(round_trip(client) for _ in range(3))
        proxy.heal()
        after = min(round_trip(client) for _ in range(5))
    assert before < 0.05 and after < 0.05
    assert 0.12 <= delayed < 0.5  # 60 ms each way


# -- faults on a primary and a replica ------------------------------------------------------------


def test_a_kill_covers_the_time_the_primary_refused_connections(pair: PrimaryReplica) -> None:
    primary = pair.primary
    refused: list[tuple[int, int]] = []  # (before the attempt, after the refusal)
    with Nemesis(pair, "kill:target=primary", seed=3, interval=(0.2, 0.2), duration=(0.8, 0.8), limit=1) as nemesis:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (nemesis.events() and nemesis.events()[0].end is not None):
            before = time.monotonic_ns()
            try:
                socket.create_connection(primary.address, timeout=1).close()
            except (ConnectionRefusedError, ConnectionResetError):  # reset: a SYN queued as it died
                refused.append((before, time.monotonic_ns()))
            time.sleep(0.01)
    [event] = nemesis.events()
    assert (event.kind, event.target, event.port, event.detail) == ("kill", primary.name, primary.port,
                                                                     {"signal": "SIGKILL"})
    assert event.end is not None and event.end - event.start >= 800_000_000
    assert len(refused) > 5  # about 0.8 s of refusals, probed every 10 ms
    assert all(event.start <= after and before <= event.end for before, after in refused)
    assert _answers(primary) and pair.primary is primary


def test_a_pause_makes_commands_time_out_inside_its_event(pair: PrimaryReplica) -> None:
    timeouts: list[tuple[int, int]] = []
    nemesis = Nemesis(pair, "pause:target=primary", seed=1, interval=(0.2, 0.2), duration=(1.0, 1.0), limit=1)
    with pair.primary.client(timeout=0.2) as client, nemesis:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (nemesis.events() and nemesis.events()[0].end is not None):
            before = time.monotonic_ns()
            try:
                client.get("key")
            except redis.TimeoutError:
                timeouts.append((before, time.monotonic_ns()))
            time.sleep(0.01)
    [event] = nemesis.events()
    assert event.kind == "pause" and event.target == pair.primary.name and event.end is not None
    assert timeouts and all(event.start <= after and before <= event.end for before, after in timeouts)
    _all_healed(pair)


def test_a_client_pause_holds_writes_not_reads(pair: PrimaryReplica) -> None:
    pair.primary.command("SET", "key", "before")
    nemesis = Nemesis(pair, "client-pause", seed=1)
    holding = threading.Thread(target=nemesis.inject, args=(nemesis.faults[0], 1.0))
    with pair.primary.client(timeout=0.3) as client:
        holding.start()
        _until_injected(nemesis)
        assert client.get("key") == b"before"  # WRITE mode: reads are served
        with pytest.raises(redis.TimeoutError):
            client.set("key", "during")
        holding.join(10)
    [event] = nemesis.events()
    assert (event.kind, event.target, event.detail) == ("client-pause", pair.primary.name, {"mode": "WRITE"})
    with pair.primary.client(timeout=1) as client:
        client.set("key", "after")  # unpaused at the heal, not a minute later


def test_a_client_pause_of_all_commands_is_waited_out(pair: PrimaryReplica) -> None:
    nemesis = Nemesis(pair, "client-pause:mode=all", seed=1)
    holding = threading.Thread(target=nemesis.inject, args=(nemesis.faults[0], 0.6))
    with pair.primary.client(timeout=0.2) as client:
        holding.start()
        _until_injected(nemesis)
        before = time.monotonic_ns()
        with pytest.raises(redis.TimeoutError):
            client.get("key")  # ALL: reads wait too
        holding.join(10)
    [event] = nemesis.events()
    assert event.detail == {"mode": "ALL"} and event.end is not None and event.start <= before <= event.end
    assert event.end - event.start >= 600_000_000  # ended when the server lifted it, not before
    with pair.primary.client(timeout=0.2) as client:
        assert client.get("key") is None


def test_a_failover_promotes_a_replica(pair: PrimaryReplica) -> None:
    old, replica = pair.primary, pair.replicas[0]
    nemesis = Nemesis(pair, "failover", seed=1)
    event = nemesis.inject(nemesis.faults[0], hold=0)
    assert (event.kind, event.target, event.detail) == ("failover", old.name, {"new_primary": replica.name})
    assert pair.primary is replica and replica.info("replication")["role"] == "master"
    replica.command("SET", "after", "failover")
    pair.wait_synced()
    assert old.command("GET", "after") == b"failover"


def test_a_partition_through_the_proxy_layer(pair: PrimaryReplica) -> None:
    with ProxyLayer(pair.servers) as layer:
        primary = layer.address(pair.primary)
        failures: list[tuple[int, int]] = []
        nemesis = Nemesis(pair, "partition:target=primary", seed=1, interval=(0.2, 0.2), duration=(0.8, 0.8),
                          limit=1, proxies=layer)
        with nemesis, _client(primary[1], 0.2) as client:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not (nemesis.events() and nemesis.events()[0].end is not None):
                before = time.monotonic_ns()
                try:
                    client.ping()
                except redis.TimeoutError:
                    failures.append((before, time.monotonic_ns()))
                time.sleep(0.01)
            assert client.ping()  # healed: the same client goes on
        [event] = nemesis.events()
        assert event.detail == {"mode": "stall", "proxy_port": primary[1]} and event.end is not None
        assert failures and all(event.start <= after and before <= event.end for before, after in failures)


def test_a_seed_gives_the_same_schedule(servers: None, tmp_path: Path) -> None:
    def schedule(topology: PrimaryReplica, seed: int) -> list[FaultEvent]:
        with Nemesis(topology, "kill,pause,restart,client-pause", seed=seed, interval=(0, 0.05),
                     duration=(0.05, 0.1), limit=6) as nemesis:
            events = _until_healed(nemesis, 6)
        assert not any("error" in event.detail for event in events), events
        _all_healed(topology)
        return events

    with PrimaryReplica(2) as topology:
        first = schedule(topology, 42)
        again = schedule(topology, 42)
        other = schedule(topology, 7)
    picks = [(event.kind, event.target) for event in first]
    assert picks == [(event.kind, event.target) for event in again]
    assert picks != [(event.kind, event.target) for event in other]
    assert len({event.kind for event in first + other}) > 1 and len({event.target for event in first + other}) > 1
    assert all(a.end is not None and a.end <= b.start for a, b in zip(first, first[1:]))  # one at a time
    write_events(tmp_path / "nemesis.jsonl", first)  # what a run writes beside its history
    assert read_events(tmp_path / "nemesis.jsonl") == first


def test_every_fault_kind_in_one_schedule(servers: None) -> None:
    topology = PrimaryReplica(2)
    with PeerNetwork(topology.nodes) as network, topology, ProxyLayer(topology.servers) as layer:
        started = time.monotonic()
        with Nemesis(topology, "all", seed=5, interval=(0, 0.05), duration=(0.05, 0.15), limit=40,
                     proxies=layer, network=network) as nemesis:
            events = _until_healed(nemesis, 40, timeout=40)
        assert time.monotonic() - started < 30
        assert {event.kind for event in events} == {"kill", "pause", "failover", "client-pause", "partition",
                                                    "latency", "restart", "isolate", "split"}
        assert not any("error" in event.detail for event in events), events
        _all_healed(topology)
        topology.primary.command("SET", "key", "after")
        topology.wait_synced()


@pytest.mark.parametrize("fault", ["pause", "kill", "client-pause"])
def test_stop_heals_a_fault_under_way(pair: PrimaryReplica, fault: str) -> None:
    nemesis = Nemesis(pair, f"{fault}:target=primary", seed=5, interval=(0, 0), duration=(60, 60)).start()
    assert _until_injected(nemesis).end is None  # under way, for a minute
    started = time.monotonic()
    [event] = nemesis.stop()
    assert time.monotonic() - started < 5 and event.end is not None
    _all_healed(pair)
    pair.primary.command("SET", "writable", "again")


def test_stop_also_resumes_a_node_stopped_outside_the_schedule(pair: PrimaryReplica) -> None:
    nemesis = Nemesis(pair, "pause", seed=1, interval=(60, 60))
    with nemesis:
        pair.replicas[0].pause()  # a node found stopped is resumed too, whoever paused it
        deadline = time.monotonic() + 5
        while not stopped(pair.replicas[0]) and time.monotonic() < deadline:
            time.sleep(0.01)  # SIGSTOP takes effect asynchronously
        assert stopped(pair.replicas[0])
    _all_healed(pair)
    assert nemesis.events() == []


def test_user_commands_run_and_record_their_exit_status(tmp_path: Path) -> None:
    python = shlex.quote(sys.executable)
    mark = tmp_path / "marks"
    write = f"{python} -c 'import sys; open(sys.argv[1], \"a\").write(sys.argv[2])' {shlex.quote(str(mark))}"
    commands = parse_commands([f"mark={write} on", f"heal-mark={write} off", f"fail={python} -c 'exit(3)'",
                               "missing=/nonexistent/redlin-fault"])
    nemesis = Nemesis(None, "mark,fail,missing", commands=commands, seed=1)
    mark_event, fail_event, missing_event = [nemesis.inject(spec, hold=0.05) for spec in nemesis.faults]
    assert mark.read_text() == "onoff"
    assert (mark_event.kind, mark_event.target, mark_event.port) == ("mark", "mark", 0)
    assert mark_event.detail["status"] == 0 and mark_event.detail["heal_status"] == 0
    assert mark_event.end is not None and mark_event.end - mark_event.start >= 50_000_000
    assert fail_event.detail["status"] == 3 and "heal_status" not in fail_event.detail
    assert missing_event.detail["status"] is None and "No such file" in missing_event.detail["output"]


# -- Sentinel and Cluster ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_sentinel_failover_as_a_fault(servers: None) -> None:
    need_binary("redis-sentinel")
    with SentinelGroup() as group:
        old = group.primary
        with Nemesis(group, "failover", seed=1, interval=(0, 0), limit=1) as nemesis:
            [event] = _until_healed(nemesis, 1, timeout=40)
        assert event.target == old.name and event.detail == {"new_primary": group.primary.name}
        assert group.primary is not old and group.master_address() == group.primary.address
        _all_healed(group)


@pytest.mark.slow
def test_sentinels_fail_over_during_a_kill_and_the_event_says_to_whom(servers: None) -> None:
    need_binary("redis-sentinel")
    with SentinelGroup() as group:
        old = group.primary
        nemesis = Nemesis(group, "kill:target=primary", seed=1)
        event = nemesis.inject(nemesis.faults[0], hold=4)  # longer than down-after-milliseconds (1 s)
        assert event.target == old.name and event.detail["signal"] == "SIGKILL"
        assert event.detail["primary"] == group.primary.name != old.name  # followed at the heal
        nemesis.stop()
        _all_healed(group)


@pytest.mark.slow
def test_cluster_faults(servers: None) -> None:
    with Cluster() as cluster:
        nemesis = Nemesis(cluster, "failover:mode=force,kill:target=replica,client-pause", seed=2)
        failover, kill, pause = (nemesis.inject(spec, hold=0.3) for spec in nemesis.faults)
        assert "error" not in failover.detail and failover.detail["mode"] == "FORCE"
        promoted = next(node for node in cluster.nodes if node.name == failover.detail["new_primary"])
        assert promoted in cluster.primaries()
        assert kill.detail == {"signal": "SIGKILL"} and pause.detail == {"mode": "WRITE"}
        assert pause.port in {node.port for node in cluster.primaries()}
        nemesis.stop()
        cluster.wait_healthy()
        _all_healed(cluster)
