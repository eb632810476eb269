"""The Pub/Sub split (redlin.adapter.pubsub_parts): a history's Pub/Sub operations checked by
channel and by subscriber session segment give the verdicts of the one Pub/Sub part (sheet P2,
P4, P5)."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from redlin.adapter import partition as partition_module
from redlin.adapter.pubsub_parts import pubsub_objects
from redlin.adapter.redis_model import redis_model
from redlin.harness.pressure import PressureWorkload, record_pressure
from redlin.harness.target import Target
from redlin.history.jsonl import load_history
from redlin.history.records import History, Operation
from redlin.model import Frames
from redlin.search.check import check
from redlin.search.result import Unknown
from redlin.serve.server import start_in_thread


def _pubsub_parts(history: History) -> int:
    parts = redis_model().partition(list(history))
    return sum(1 for part in parts if any(op.call[0][0] in (b"PUBLISH", b"RECV") for op in part))


def _record(tmp_path: Path, fault: str | None, seed: int) -> History:
    """A pressure ``pubsub`` history with enough to compare: on a starved machine (every core busy
    elsewhere) a second of it once held fewer than two reads, so a short one is recorded again,
    for twice as long."""
    for attempt, duration in enumerate((1.0, 2.0, 4.0)):
        path = tmp_path / f"h{seed}-{attempt}.jsonl"
        with start_in_thread(fault=fault, seed=seed) as running:
            record_pressure(Target.parse(running.url, password_env=None), path,
                            PressureWorkload(clients=8, duration=duration, epoch=0.2, workload="pubsub",
                                             processes=1), b"redlin:pubsub-parts:")
        history = load_history(path)
        if sum(op.call[0][0] == b"RECV" for op in history) >= 20 and _pubsub_parts(history) >= 4:
            break
    return history


def _mutations(history: History, rng: random.Random) -> list[History]:
    """A read of a subscriber moved to another message, one read dropped, a count changed."""
    ops = list(history)
    receives = [op for op in ops if op.call[0][0] == b"RECV" and op.result is not None]
    publishes = [op for op in ops if op.call[0][0] == b"PUBLISH" and op.result is not None]
    out = []
    for _ in range(2):
        one, other = rng.sample(receives, 2)
        out.append(History(tuple(replace(op, call=other.call, result=other.result) if op is one else op
                                 for op in ops), meta=history.meta))
        dropped = rng.choice(receives)
        out.append(History(tuple(op for op in ops if op is not dropped), meta=history.meta))
        counted = rng.choice(publishes)
        out.append(History(tuple(replace(op, result=(op.result[0] + 1,)) if op is counted else op for op in ops),
                           meta=history.meta))
    return out


@pytest.mark.parametrize("fault", [None, "drop-message", "duplicate-message", "reorder-delivery",
                                   "wrong-receiver-count"])
def test_the_split_gives_the_verdicts_of_one_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  fault: str | None) -> None:
    """A differential test: pressure histories of the embedded server (subscribers that leave every
    channel at each epoch's end), with each Pub/Sub fault and without, and small mutations of
    them, checked whole: the same verdict split by channel and session segment as in one part."""
    compared = violations = 0
    for seed in range(1):
        history = _record(tmp_path, fault, seed)
        assert _pubsub_parts(history) >= 4  # an epoch's Pub/Sub is a part of its own
        for variant in [history, *_mutations(history, random.Random(seed))]:
            split = check(variant, redis_model(), time_limit=30)
            with monkeypatch.context() as one_part:
                one_part.setattr(partition_module, "pubsub_objects", lambda ops, subscribers: None)
                assert _pubsub_parts(variant) == 1
                whole = check(variant, redis_model(), time_limit=30)
            if isinstance(whole, Unknown) or isinstance(split, Unknown):
                continue
            assert split.verdict == whole.verdict, variant
            compared += 1
            violations += whole.verdict == "violation"
    assert compared >= 5 and violations >= 3 + (fault is not None)


def test_what_is_not_split() -> None:
    """A pattern matching more than itself, another Pub/Sub command, or a subscriber running
    anything else keeps the one Pub/Sub part."""
    def leave(name: bytes, what: bytes) -> Operation:
        return Operation(1, "s", ((name.upper(), what),), (Frames.of(((name, what, 0),)),), 2, 3)

    base = [Operation(0, "s", ((b"SUBSCRIBE", b"a"),), ((b"subscribe", b"a", 1),), 0, 1), leave(b"unsubscribe", b"a"),
            Operation(2, "p", ((b"PUBLISH", b"a", b"x"),), (0,), 4, 5)]
    found = pubsub_objects(base, frozenset({"s"}))
    assert found is not None and found[0] & found[1] and not found[1] & {("session", "s", 1)}
    assert pubsub_objects([*base, Operation(3, "s", ((b"PSUBSCRIBE", b"a*"),), ((b"psubscribe", b"a*", 1),), 6, 7)],
                          frozenset({"s"})) is None
    assert pubsub_objects([*base, Operation(3, "s", ((b"GET", b"k"),), (None,), 6, 7)], frozenset({"s"})) is None
    assert pubsub_objects([*base, Operation(3, "p", ((b"PUBSUB", b"CHANNELS"),), ((),), 6, 7)],
                          frozenset({"s"})) is None
    # A confirmation that still counts a subscription does not end the segment.
    still = [base[0], Operation(1, "s", ((b"UNSUBSCRIBE", b"b"),), ((b"unsubscribe", b"b", 1),), 2, 3),
             Operation(2, "s", ((b"SUBSCRIBE", b"c"),), ((b"subscribe", b"c", 2),), 4, 5)]
    found = pubsub_objects(still, frozenset({"s"}))
    assert found is not None and ("session", "s", 0) in found[2]
