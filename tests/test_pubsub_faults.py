"""The Pub/Sub recorder when the server misbehaves for its own reasons: subscribers' connections
killed mid-run, replies that are the server's state speaking (``BUSY``, ``OOM``), connections
refused (max number of clients).  None of it may turn into a false alarm.

Every server here is a private redis-server this test starts in its own folder (``CONFIG`` and
``CLIENT KILL`` are only ever sent to it).  Redis behaviours relied on (../shared/redis-semantics.md):
P4 (PUBLISH answers how many subscriptions received it: the count a lost subscriber would spoil),
P11 (PUBLISH inside MULTI is queued), M11 (``OOM`` is checked when a command is queued), E26
(past ``busy-reply-threshold`` other clients get ``BUSY``; MULTI is accepted, the queued commands
get ``BUSY`` and EXEC ``EXECABORT``).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import RedisServer, private_server

from redlin.adapter.pubsub_check import check_pubsub
from redlin.harness.pubsub import PubSubRecording, PubSubWorkload, record_pubsub
from redlin.harness.pubsub_clients import ENDING_CALL
from redlin.harness.runner import render_outcome, run
from redlin.harness.wire import Connection
from redlin.history.jsonl import load_history
from redlin.history.records import History, Outcome
from redlin.model import Error, Frames

pytestmark = pytest.mark.redis

SUBSCRIBER_COMMANDS = {b"SUBSCRIBE", b"UNSUBSCRIBE", b"PSUBSCRIBE", b"PUNSUBSCRIBE", b"PING"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    with private_server(tmp_path / "redis") as running:
        yield running


def connect(server: RedisServer, timeout: float = 10.0) -> Connection:
    return Connection(server.host, server.port, timeout)


def in_background(work: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def no_state_errors_as_replies(history: History) -> None:
    """No recorded reply is the server's state speaking (such replies are FAIL or INFO operations)."""
    for op in history:
        if op.outcome is not Outcome.OK:
            continue
        for reply in op.result:
            frames = reply.frames if type(reply) is Frames else (reply,)
            for frame in frames:
                assert not (type(frame) is Error and frame.text.startswith(("BUSY", "OOM", "EXECABORT"))), op


def ending_ops(history: History) -> list[int]:
    return [op.id for op in history if op.call == ENDING_CALL]


# ----------------------------------------------------------------------------- lost subscribers


def test_killed_subscribers_end_their_subscriptions_and_nothing_is_lost(tmp_path: Path, server: RedisServer) -> None:
    """``CLIENT KILL TYPE pubsub`` mid-run, several times: each killed subscriber's history ends with
    an indeterminate QUIT (or the command it had in flight) and goes on as a new client; the run
    is linearizable, and the same history without the ending operations is not (P4 counts)."""
    stop = threading.Event()
    killed: list[int] = []

    def killer() -> None:
        with connect(server) as conn:
            while not stop.wait(0.35):
                reply = conn.execute(b"CLIENT", b"KILL", b"TYPE", b"pubsub")
                killed.append(reply if type(reply) is int else 0)

    thread = in_background(killer)
    try:
        recording = record_pubsub(server.url, tmp_path / "h.jsonl", PubSubWorkload(messages=10**6), seed=3,
                                  duration=2.0)
    finally:
        stop.set()
        thread.join()
    history = recording.history
    assert sum(killed) >= 3, killed
    ends = ending_ops(history)
    assert ends, "no subscriber was killed while idle"
    for op_id in ends:
        end = history[op_id]
        assert end.outcome is Outcome.INFO and end.complete is None
        mine = [op for op in history if op.client == end.client]
        assert mine[-1] is end  # the client's last operation, right after its last event
        assert all(op.invoke < end.invoke and (op.complete is None or op.complete < end.invoke) for op in mine[:-1])
    went_on = [int(found) for found in re.findall(r"lost its connection .*; it goes on as client (\d+)",
                                                   "\n".join(recording.problems))]
    assert went_on, recording.problems
    for client in went_on:  # resubscribed on a new connection, under a new id
        assert next(op for op in history if op.client == client).call[0][0] == b"SUBSCRIBE"
    assert recording.received > 0 and recording.published > 100
    result = check_pubsub(history, time_limit=120)
    assert result.verdict == "linearizable", result
    # Without the ending operations the killed subscribers stay subscribed, and the PUBLISHes that
    # no longer reached them look as if they lost a message: the false alarm the endings prevent.
    kept = [op for op in history if op.id not in set(ends)]
    without = History(tuple(replace(op, id=index) for index, op in enumerate(kept)))
    assert check_pubsub(without, time_limit=120).verdict == "violation"


def test_redlin_run_pubsub_with_subscribers_killed_finds_nothing(tmp_path: Path, server: RedisServer) -> None:
    """``redlin run --workload pubsub`` while subscribers are killed every 0.3 s: linearizable, with
    the lost connections noted.  PUBLISH is held around each kill (``CLIENT PAUSE ... WRITE`` holds
    PUBLISH and EXEC, not SUBSCRIBE or PING; verified with redis-cli), so that no PUBLISH runs between
    a subscription command the kill cut off before its reply and the kill itself: for the checker,
    that command and the end of its session are one moment (the case the history format cannot
    express, see :mod:`redlin.harness.pubsub_clients`)."""
    stop = threading.Event()

    def killer() -> None:
        with connect(server) as conn:
            while not stop.wait(0.3):
                conn.execute(b"CLIENT", b"PAUSE", b"2000", b"WRITE")
                time.sleep(0.02)
                conn.execute(b"CLIENT", b"KILL", b"TYPE", b"pubsub")
                conn.execute(b"CLIENT", b"UNPAUSE")

    thread = in_background(killer)
    try:
        outcome = run(server.url, workload="pubsub", duration=3, ops=None, out=tmp_path / "out", database=None)
    finally:
        stop.set()
        thread.join()
    text = render_outcome(outcome)
    assert outcome.verdict == "linearizable" and outcome.exit_code == 0, text
    assert any("lost its connection" in note for note in outcome.notes), outcome.notes
    assert ending_ops(load_history(outcome.paths["history"]))


# ----------------------------------------------------------------------------- the server's state


def test_busy_replies_are_rejections_not_replies(tmp_path: Path) -> None:
    """A script past ``busy-reply-threshold`` makes every client's command answer ``BUSY`` (E26):
    publishers' and subscribers' commands are recorded as failed, counted, and the verdict holds."""
    script_done = threading.Event()

    def busy(server: RedisServer) -> None:
        time.sleep(0.4)
        with connect(server) as conn:
            conn.send_many([(b"EVAL", b"while true do end", b"0")])
            time.sleep(0.6)
            with connect(server) as killer:
                assert killer.execute(b"SCRIPT", b"KILL") is not None
            conn.receive()  # ERR Script killed by user with SCRIPT KILL...
        script_done.set()

    with private_server(tmp_path / "redis", "--busy-reply-threshold", "50") as server:
        thread = threading.Thread(target=busy, args=(server,), daemon=True)
        thread.start()
        recording = record_pubsub(server.url, tmp_path / "h.jsonl", PubSubWorkload(messages=10**6, transactions=0.3),
                                  seed=5, duration=1.6)
        thread.join()
        assert script_done.is_set()
    history = recording.history
    counts = dict(recording.rejected)
    assert counts.get("BUSY", 0) > 0, recording.rejected
    failed = [op for op in history if op.outcome is Outcome.FAIL]
    assert len(failed) == sum(counts.values())  # single commands and transactions: certainly not run
    text = (tmp_path / "h.jsonl").read_text()
    assert text.count('"error":"BUSY: BUSY Redis is busy running a script.') >= 1
    called = {op.call[0][0] for op in failed}
    assert called & SUBSCRIBER_COMMANDS and called & {b"PUBLISH", b"MULTI"}, called  # both kinds of client
    no_state_errors_as_replies(history)
    assert not recording.problems, recording.problems
    result = check_pubsub(history, time_limit=120)
    assert result.verdict == "linearizable", result


@contextmanager
def oom_server(directory: Path) -> Iterator[RedisServer]:
    """Out of memory from the start: ``maxmemory`` 1 byte, nothing to evict (verified: ``MULTI`` then
    ``PUBLISH`` answers ``-OOM``, ``EXEC`` ``-EXECABORT``; PUBLISH alone and SUBSCRIBE still run)."""
    with private_server(directory, "--maxmemory", "1", "--maxmemory-policy", "noeviction") as server:
        yield server


def test_oom_in_a_transaction_is_a_failed_operation(tmp_path: Path) -> None:
    """PUBLISH queued in MULTI is refused with ``OOM`` once maxmemory is reached (M11, P11): the
    transaction is recorded as failed with the error, counted, and its messages expected nowhere."""
    with oom_server(tmp_path / "redis") as server:
        recording = record_pubsub(server.url, tmp_path / "h.jsonl", PubSubWorkload(messages=40, transactions=0.5),
                                  seed=7)
    assert_oom_recorded(recording)


def assert_oom_recorded(recording: PubSubRecording) -> None:
    history = recording.history
    failed = [op for op in history if op.outcome is Outcome.FAIL]
    assert dict(recording.rejected) == {"OOM": len(failed)} and failed, recording.rejected
    assert all(op.call[0] == (b"MULTI",) for op in failed)
    text = recording.path.read_text()
    assert text.count('"event":"fail"') == len(failed) and '"error":"OOM: OOM command not allowed' in text
    singles = [op for op in history if op.call[0][0] == b"PUBLISH" and op.outcome is Outcome.OK]
    assert recording.published == len(singles) > 0  # the transactions published nothing
    no_state_errors_as_replies(history)
    assert not recording.problems, recording.problems
    result = check_pubsub(history, time_limit=120)
    assert result.verdict == "linearizable", result


def test_redlin_run_pubsub_notes_the_rejections(tmp_path: Path) -> None:
    with oom_server(tmp_path / "redis") as server:
        outcome = run(server.url, workload="pubsub", ops=300, out=tmp_path / "out", database=None)
    text = render_outcome(outcome)
    assert outcome.verdict == "linearizable", text
    assert any("rejected by the server's state, not taken as replies" in note and "OOM" in note
               for note in outcome.notes), outcome.notes


def test_a_refused_connection_is_counted_and_tried_again(tmp_path: Path) -> None:
    """With ``maxclients`` too low for every client at first, the one refused (``-ERR max number of
    clients reached``, then the server closes the connection) tries again and gets in when a slot
    frees: counted, not an operation, and nothing is lost."""
    workload = PubSubWorkload(publishers=2, subscribers=3, messages=30)
    with private_server(tmp_path / "redis", "--maxclients", "6") as server:
        blockers = [connect(server), connect(server)]  # 4 slots left for 5 clients
        for blocker in blockers:
            assert blocker.execute(b"PING") is not None
        freed = threading.Timer(0.5, blockers[0].close)
        freed.start()
        try:
            recording = record_pubsub(server.url, tmp_path / "h.jsonl", workload, seed=11)
        finally:
            freed.join()
            for blocker in blockers:
                blocker.close()
    assert dict(recording.refused).get("max clients", 0) >= 1, recording.refused
    assert not recording.problems, recording.problems
    assert recording.published == workload.publishers * workload.messages
    assert "max number of clients" not in (tmp_path / "h.jsonl").read_text()  # no operation for it
    result = check_pubsub(recording.history, time_limit=120)
    assert result.verdict == "linearizable", result
