"""The pressure engine's ``pubsub`` workload: publishers at the engine's rate, subscribers that read
every message as it arrives, each epoch checked on its own (sheet P1-P5, P7, P11).

Against a redis-server 7.0.15 the test starts it is linearizable, also when the server kills the
subscribers' connections; against the embedded server each Pub/Sub fault is found
(tests/test_pressure_epochs.py runs them).
"""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from conftest import RedisServer, private_server

from redlin import load_history
from redlin.harness.pressure import PressureWorkload, record_pressure
from redlin.harness.pressure_check import route
from redlin.harness.pressure_epochs import epoch_at
from redlin.harness.pressure_pubsub import CHANNELS, channels, is_subscriber, publish_share
from redlin.harness.target import Target
from redlin.harness.wire import Connection
from redlin.history.records import History, Operation, Outcome
from redlin.model import Status

_PREFIX = b"redlin:pressure-pubsub:"


def _first(op: Operation) -> bytes:
    return op.call[0][0] if len(op.call) == 1 else b"MULTI"


def _epoch_of(op: Operation) -> int:
    """The epoch the channel an operation names belongs to (every Pub/Sub line names one)."""
    call = json.dumps([[part.decode() for part in argv] for argv in op.call])
    return route(b'{"event":"invoke","op":%d,"client":1,"time":1,"call":%s}' % (op.id, call.encode()))[1] or 0


def _subscribers(history: History) -> dict[object, list[Operation]]:
    mine: dict[object, list[Operation]] = defaultdict(list)
    for op in history:
        if op.call[0][0] in (b"SUBSCRIBE", b"RECV", b"PSUBSCRIBE", b"PING", b"QUIT"):
            mine[op.client].append(op)
    for ops in mine.values():
        ops.sort(key=lambda op: op.invoke)
    return mine


@pytest.mark.redis
def test_pubsub_under_pressure_on_a_real_server(redis_server: RedisServer, tmp_path: Path) -> None:
    """Two of eight clients subscribe: every kind of step comes up, each epoch starts with no
    subscription, reads are stamped in the order they came, and the run is linearizable."""
    recording = record_pressure(Target(redis_server.host, redis_server.port), tmp_path / "h.jsonl",
                                PressureWorkload(clients=8, duration=2.0, epoch=0.25, timeout=2.0, processes=2,
                                                 workload="pubsub"), _PREFIX)
    assert recording.verdict == "linearizable", recording.checks
    assert recording.indeterminate == 0 and not recording.problems
    history = load_history(tmp_path / "h.jsonl")
    kinds = Counter(_first(op) for op in history)
    assert {b"PUBLISH", b"MULTI", b"PUBSUB", b"GET", b"SET", b"RECV", b"SUBSCRIBE", b"UNSUBSCRIBE", b"PSUBSCRIBE",
            b"PUNSUBSCRIBE", b"PING"} <= set(kinds), kinds
    assert kinds[b"RECV"] > kinds[b"PUBLISH"] > 1000  # each message read by one subscriber or more
    assert b"QUIT" not in kinds  # no connection broke
    subscribers = _subscribers(history)
    assert len(subscribers) == sum(is_subscriber("pubsub", slot) for slot in range(8)) == 2
    epochs = set()
    for ops in subscribers.values():
        assert all(a.complete is not None and a.complete < b.invoke for a, b in zip(ops, ops[1:]))  # in order
        seen = -1
        for op in ops:
            epoch = _epoch_of(op)
            assert epoch >= seen, op  # a subscriber moves on, never back
            if epoch > seen:
                assert op.call[0][0] == b"SUBSCRIBE", op  # an epoch starts with no subscription
                seen = epoch
                epochs.add(epoch)
    assert len(epochs) >= 5
    assert all(epoch_at(op.invoke - recording.started_ns, int(0.25e9)) == _epoch_of(op)
               for op in history if op.call[0][0] == b"PUBLISH")


@pytest.mark.redis
def test_a_subscriber_whose_connection_is_killed_goes_on(redis_server: RedisServer, tmp_path: Path) -> None:
    """The server kills the subscribers' connections now and then (CLIENT KILL TYPE pubsub): the
    subscription's end is an indeterminate QUIT naming a channel of its epoch, the subscriber goes
    on as a new client, and the run stays linearizable (no false violation)."""
    stop = threading.Event()

    def kill() -> None:
        with Connection(redis_server.host, redis_server.port) as admin:
            while not stop.wait(0.3):
                admin.execute(b"CLIENT", b"KILL", b"TYPE", b"pubsub")

    killer = threading.Thread(target=kill)
    killer.start()
    try:
        recording = record_pressure(Target(redis_server.host, redis_server.port), tmp_path / "h.jsonl",
                                    PressureWorkload(clients=8, duration=2.5, epoch=0.25, timeout=2.0, processes=1,
                                                     workload="pubsub"), _PREFIX + b"killed:")
    finally:
        stop.set()
        killer.join()
    assert recording.verdict == "linearizable", recording.checks
    history = load_history(tmp_path / "h.jsonl")
    ended = [op for op in history if op.call[0][0] == b"QUIT" or
             (op.outcome is Outcome.INFO and op.call[0][0] != b"RECV")]
    assert ended and all(op.outcome is Outcome.INFO for op in ended)
    assert all(op.call[0][1] in channels(_PREFIX + b"killed:", _epoch_of(op)) for op in ended
               if op.call[0][0] == b"QUIT")
    assert recording.reconnects >= 2 and len(_subscribers(history)) > 2  # new client ids


@pytest.mark.redis
def test_a_server_that_refuses_connections_is_no_violation(tmp_path: Path) -> None:
    """``max number of clients``: with room for three connections of eight, the refusals are counted
    and the run is linearizable, the subscribers waiting before they try again; with no room at
    all (the test holds both places), every subscriber is refused before it asks anything, and that
    error is never recorded as a message."""
    with private_server(tmp_path / "server", "--maxclients", "3") as server:
        recording = record_pressure(Target(server.host, server.port), tmp_path / "h.jsonl",
                                    PressureWorkload(clients=8, duration=1.5, epoch=0.25, timeout=2.0, processes=1,
                                                     workload="pubsub"), _PREFIX + b"full:")
    assert recording.verdict == "linearizable", recording.checks
    assert recording.rejected.get("max clients", 0) > 0
    assert recording.reconnects < 500  # at most ten a second for each client slot
    assert all(op.call[0][1] in (b"message", b"pmessage") for op in load_history(tmp_path / "h.jsonl")
               if op.call[0][0] == b"RECV")
    with private_server(tmp_path / "server2", "--maxclients", "2") as server, \
            Connection(server.host, server.port) as one, Connection(server.host, server.port) as two:
        assert one.execute(b"PING") == two.execute(b"PING") == Status("PONG")
        recording = record_pressure(Target(server.host, server.port), tmp_path / "h2.jsonl",
                                    PressureWorkload(clients=8, duration=1.0, epoch=0.25, timeout=2.0, processes=1,
                                                     workload="pubsub"), _PREFIX + b"none:")
    assert recording.verdict != "violation" and recording.reconnects < 200
    assert b'"RECV"' not in (tmp_path / "h2.jsonl").read_bytes()


def test_who_subscribes_and_who_publishes() -> None:
    """The first of each four slots subscribes, at most four in a run; the first sixteen others
    publish (so an epoch's Pub/Sub part stays small however many clients run)."""
    assert [slot for slot in range(1000) if is_subscriber("pubsub", slot)] == [0, 4, 8, 12]
    assert [slot for slot in range(1000) if publish_share("pubsub", slot)] == [
        slot for slot in range(16) if slot % 4]
    assert publish_share("mixed", 1) < publish_share("pubsub", 1) and not is_subscriber("register", 0)
    assert len(channels(b"p:", 0)) == CHANNELS


def test_every_pubsub_line_names_its_epoch() -> None:
    """The router sorts a subscriber's lines by the channel they name: RECV, pmessage, PING, QUIT."""
    channel = channels(b"redlin:r:", 7)[1].decode()
    lines = [f'[["SUBSCRIBE","{channel}"]]', f'[["RECV","message","{channel}","3-4"]]',
             f'[["RECV","pmessage","{channel}","{channel}","3-4"]]', f'[["PING","{channel}"]]',
             f'[["QUIT","{channel}"]]', f'[["PUBSUB","NUMSUB","{channel}"]]',
             f'[["MULTI"],["PUBLISH","{channel}","1-2a"],["PUBLISH","{channel}","1-2b"],["EXEC"]]']
    assert [route(b'{"event":"invoke","op":1,"client":2,"time":3,"call":%s}' % line.encode())
            for line in lines] == [(1, 7)] * len(lines)
