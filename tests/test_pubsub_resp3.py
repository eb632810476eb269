"""Pub/Sub over RESP3: the recorder's subscribers read pushes (``>``), count confirmations as
under RESP2, take ``+PONG`` for PING while subscribed and read a key while subscribed (a RESP3
client may run any command); the checker compares it all exactly.  Against a live redis-server
7.0.15 and the embedded server, with and without the planted Pub/Sub faults, and as the first
share of the default workload under ``--protocol 3``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import RedisServer

from redlin import Violation, check
from redlin.adapter.deliveries import receipts
from redlin.adapter.pubsub_check import check_pubsub, minimise_pubsub
from redlin.explain.recognise import IMPOSSIBLE_REPLY, NO_VALID_ORDER
from redlin.harness.pubsub import PubSubWorkload, record_pubsub
from redlin.harness.runner import FAULT_WORKLOADS, render_outcome, run
from redlin.history.jsonl import HistoryWriter, load_history
from redlin.history.records import History, Outcome
from redlin.model import NULL, Frames, Push, Status
from redlin.registry import load
from redlin.serve.server import start_in_thread

FAULT_KINDS = {"drop-message": "lost-message", "duplicate-message": "duplicate-message",
               "reorder-delivery": "reordered-messages", "wrong-receiver-count": "wrong-receiver-count"}


def resp3_shapes(history: History) -> None:
    """Every frame a subscriber read is a push or a reply that is not an array, and subscribers
    ran GET while subscribed."""
    seen = set()
    for op in history:
        if op.outcome is not Outcome.OK:
            continue
        name = op.call[0][0]
        seen.add(name)
        for reply in op.result:
            frames = reply.frames if type(reply) is Frames else (reply,)
            if name in (b"SUBSCRIBE", b"UNSUBSCRIBE", b"PSUBSCRIBE", b"PUNSUBSCRIBE", b"RECV"):
                assert all(type(frame) is Push for frame in frames), op
            elif name == b"PING":
                assert frames[-1] == Status("PONG") and all(type(f) is Push for f in frames[:-1]), op
            elif name == b"GET":
                assert frames[-1] is NULL and all(type(f) is Push for f in frames[:-1]), op
    assert {b"RECV", b"SUBSCRIBE", b"PING", b"GET", b"PUBLISH"} <= seen, seen


# ----------------------------------------------------------------------------- recordings


@pytest.mark.redis
def test_recording_over_resp3_against_redis(tmp_path: Path, redis_server: RedisServer) -> None:
    recording = record_pubsub(redis_server.url, tmp_path / "h.jsonl", PubSubWorkload(messages=60), seed=4,
                              protocol=3)
    assert not recording.problems and recording.received > 0, recording.problems
    history = load_history(recording.path)
    assert history.meta["protocol"] == 3 and recording.history.meta["protocol"] == 3
    resp3_shapes(history)
    assert check_pubsub(history, time_limit=60).verdict == "linearizable"
    # The same history read as RESP2 is wrong: its pushes are not what a RESP2 client reads.
    assert check_pubsub(History(history.operations, {}), time_limit=60).verdict == "violation"


def test_messages_in_front_of_any_reply_are_receipts(tmp_path: Path) -> None:
    """Under RESP3 a message is a push, so those read before GET's reply are deliveries."""
    path = tmp_path / "h.jsonl"
    message = Push((b"message", b"ch", b"hi"))
    with HistoryWriter(path, model="redis", protocol=3) as writer:
        steps = [(1, (b"SUBSCRIBE", b"ch"), Push((b"subscribe", b"ch", 1))), (2, (b"PUBLISH", b"ch", b"hi"), 1),
                 (1, (b"GET", b"k"), Frames((message, NULL))), (1, (b"PING",), Status("PONG"))]
        for index, (client, argv, reply) in enumerate(steps):
            op = writer.invoke(client=client, call=[argv], time=10 * index)
            writer.complete(op, Outcome.OK, time=10 * index + 5, result=[reply])
    history, model = load(path)
    assert [r.frame for r in receipts(history.operations)[1]] == [message.items]
    assert check(history, model, time_limit=10).verdict == "linearizable"
    assert check_pubsub(history, time_limit=10).verdict == "linearizable"


# ----------------------------------------------------------------------------- redlin run --protocol 3


@pytest.mark.redis
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_run_pubsub_over_resp3_against_redis(tmp_path: Path, redis_server: RedisServer, seed: int) -> None:
    outcome = run(redis_server.url, workload="pubsub", protocol=3, ops=800, seed=seed, out=tmp_path / "out",
                  database=None)
    assert outcome.verdict == "linearizable" and outcome.exit_code == 0, render_outcome(outcome)
    history, model = load(outcome.paths["history"])
    assert history.meta["protocol"] == 3 and history.meta["server_version"].startswith("7.")
    resp3_shapes(history)
    assert check(history, model, time_limit=60).verdict == "linearizable"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_run_pubsub_over_resp3_against_the_embedded_server(tmp_path: Path, seed: int) -> None:
    outcome = run(workload="pubsub", protocol=3, ops=800, seed=seed, out=tmp_path / "out", database=None)
    assert outcome.verdict == "linearizable" and outcome.exit_code == 0, render_outcome(outcome)
    history = load_history(outcome.paths["history"])
    assert history.meta["protocol"] == 3
    resp3_shapes(history)


@pytest.mark.parametrize("fault", sorted(FAULT_KINDS))
def test_each_pubsub_fault_is_found_over_resp3(tmp_path: Path, fault: str) -> None:
    assert FAULT_WORKLOADS[fault] == "pubsub"
    outcome = run(workload="pubsub", protocol=3, fault=fault, ops=20_000, shrink_time=5, out=tmp_path / "out",
                  database=None)
    assert outcome.verdict == "violation" and outcome.exit_code == 1, render_outcome(outcome)
    result = json.loads(outcome.paths["result"].read_text())
    assert result["kind"] in (FAULT_KINDS[fault], NO_VALID_ORDER, IMPOSSIBLE_REPLY), result["kind"]
    again, model = load(outcome.paths["counterexample"])
    assert again.meta["protocol"] == 3
    violation = check(again, model, time_limit=30)
    assert isinstance(violation, Violation)
    assert minimise_pubsub(again, violation, time_limit=10)  # the projections keep RESP3's types


def test_the_default_workload_runs_its_pubsub_share_over_resp3(tmp_path: Path) -> None:
    outcome = run(ops=400, protocol=3, out=tmp_path / "out", database=tmp_path / "examples", shrink_time=3.0)
    assert outcome.verdict == "linearizable", render_outcome(outcome)
    assert any(note.startswith("Pub/Sub: ") and "linearizable" in note for note in outcome.notes), outcome.notes
    rounds = load_history(tmp_path / "out" / "pubsub" / "history.jsonl")
    assert rounds.meta["protocol"] == 3 and rounds.meta["workload"] == "pubsub" and len(rounds)
    assert any(type(reply) is Push for op in rounds if op.outcome is Outcome.OK for reply in op.result)


def test_recording_over_resp3_against_the_embedded_server(tmp_path: Path) -> None:
    with start_in_thread() as running:
        recording = record_pubsub(running.url, tmp_path / "h.jsonl", PubSubWorkload(messages=40), seed=2, protocol=3)
    assert not recording.problems, recording.problems
    resp3_shapes(recording.history)
    assert check_pubsub(recording.history, time_limit=60).verdict == "linearizable"
