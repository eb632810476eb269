"""The Pub/Sub lookahead (redlin.adapter.lookahead): the search refuses a mailbox its subscriber
cannot read, and the verdicts stay the search's own (sheet P4, P5)."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from redlin.adapter.lookahead import lookahead
from redlin.adapter.redis_model import redis_model
from redlin.adapter.restarts import RESTART
from redlin.harness.pubsub import PubSubWorkload, record_pubsub
from redlin.harness.target import Target
from redlin.history.records import History, Operation
from redlin.model import Frames, Push, frames_of
from redlin.search.check import check
from redlin.search.result import Linearizable, Unknown, Violation
from redlin.serve.server import start_in_thread


def _verdict(history: History, *, pruned: bool, time_limit: float = 20.0) -> type:
    model = redis_model(protocol=history.meta.get("protocol", 2))
    return type(check(history, model if pruned else replace(model, for_part=None), time_limit=time_limit))


def _as_resp3(history: History) -> History:
    """The same history as a RESP3 client records it: confirmations and messages as pushes."""
    def push(frame: Any) -> Any:
        return Push(frame) if type(frame) is tuple else frame
    return History(tuple(replace(op, result=(Frames.of(tuple(push(frame) for frame in frames_of(op.result[0]))),))
                         if op.call[0][0] == b"SUBSCRIBE" else
                         replace(op, result=(push(op.result[0]),)) if op.call[0][0] == b"RECV" else op
                         for op in history), meta={"protocol": 3})


def _publish_pairs(ops: list[Operation], pairs: int, seed: int) -> list[tuple[bytes, bytes, bytes]]:
    """Two publishers publish ``pairs`` messages each to ``ch``, every one concurrent with its
    neighbours (appended to ``ops``); the messages in the order they took effect, drawn: often
    not the order the publishes were called in."""
    rng = random.Random(seed)
    points = []
    for index in range(pairs):
        for who, start in (("a", 10 * index + 10), ("b", 10 * index + 15)):
            payload = b"%s%d" % (who.encode(), index)
            ops.append(Operation(len(ops), who, ((b"PUBLISH", b"ch", payload),), (1,), start, start + 15))
            points.append((rng.uniform(start, start + 15), payload))
    return [(b"message", b"ch", payload) for _, payload in sorted(points)]


def _long_flight(pairs: int, seed: int) -> History:
    """Two publishers publish ``pairs`` messages each, every one concurrent with its neighbours; a
    subscriber's PING is in flight the whole time and read the first three messages before its
    reply, then it reads the others one by one (:func:`_publish_pairs`)."""
    ops: list[Operation] = [Operation(0, "s", ((b"SUBSCRIBE", b"ch"),), ((b"subscribe", b"ch", 1),), 0, 1)]
    frames = tuple(_publish_pairs(ops, pairs, seed))
    end = 10 * pairs + 40
    ops.append(Operation(len(ops), "s", ((b"PING",),), (Frames.of((*frames[:3], (b"pong", b""))),), 2, end))
    for index, frame in enumerate(frames[3:]):
        ops.append(Operation(len(ops), "s", ((b"RECV", *frame),), (frame,), end + 1 + 2 * index, end + 2 + 2 * index))
    return History(tuple(ops))


def test_a_long_flight_is_decided_with_the_lookahead_and_not_without() -> None:
    """The case the lookahead is for: without it the search tries every order of the messages
    published while the PING was in flight, and runs out of time."""
    history = _long_flight(40, seed=4)
    assert _verdict(history, pruned=True, time_limit=10) is Linearizable
    assert _verdict(history, pruned=False, time_limit=3) is Unknown
    lost = History(tuple(op for op in history if op.id != len(history) - 5))  # one read lost
    assert _verdict(lost, pruned=True, time_limit=10) is Violation


def _placed_too_early(pairs: int, seed: int) -> History:
    """Like :func:`_long_flight`, but the subscriber reads every message after the publishes, and
    a third publisher's message, in flight from the start to the end, is the last one it reads."""
    ops: list[Operation] = [Operation(0, "s", ((b"SUBSCRIBE", b"ch"),), ((b"subscribe", b"ch", 1),), 0, 1)]
    end = 10 * pairs + 40
    ops.append(Operation(1, "c", ((b"PUBLISH", b"ch", b"late"),), (1,), 2, end + 2 * pairs * 2 + 10))
    frames = [*_publish_pairs(ops, pairs, seed), (b"message", b"ch", b"late")]
    for index, frame in enumerate(frames):
        ops.append(Operation(len(ops), "s", ((b"RECV", *frame),), (frame,), end + 1 + 2 * index, end + 2 + 2 * index))
    return History(tuple(ops))


def test_a_message_placed_too_early_is_refused_at_once() -> None:
    """A message in flight the whole time, read last: the search first places it before all the
    others, and then each message published next lands behind it, where the subscriber (which
    reads it in the same session, before that one) could never read it.  Refusing that at once
    decides the history; comparing only up to the end of the reads left it unknown."""
    history = _placed_too_early(40, seed=5)
    assert _verdict(history, pruned=True, time_limit=10) is Linearizable
    assert _verdict(history, pruned=False, time_limit=3) is Unknown
    lost = History(tuple(op for op in history if op.id != len(history) - 10))  # one read lost
    assert _verdict(lost, pruned=True, time_limit=10) is Violation
    # The same over RESP3, where the subscriber reads pushes.
    assert _verdict(_as_resp3(history), pruned=True, time_limit=10) is Linearizable
    assert _verdict(_as_resp3(history), pruned=False, time_limit=3) is Unknown
    assert _verdict(_as_resp3(lost), pruned=True, time_limit=10) is Violation


def test_no_step_of_its_own_where_nothing_is_read() -> None:
    ops = [Operation(0, 1, ((b"PUBLISH", b"ch", b"x"),), (0,), 0, 1), Operation(1, 2, ((b"GET", b"k"),), (None,), 0, 1)]
    assert lookahead(ops, redis_model().step) is None
    subscribed = [*ops, Operation(2, 3, ((b"SUBSCRIBE", b"ch"),), ((b"subscribe", b"ch", 1),), 2, 3)]
    assert lookahead(subscribed, redis_model().step) is None  # a subscriber that reads no message
    read = Operation(3, 3, ((b"RECV", b"message", b"ch", b"x"),), ((b"message", b"ch", b"x"),), 4, 5)
    assert lookahead([*subscribed, read], redis_model().step) is not None
    assert lookahead(list(_as_resp3(History((*subscribed, read)))), redis_model(protocol=3).step, protocol=3) is not None
    restarted = Operation(4, 4, ((RESTART,),), (None,), 6, 7)
    assert lookahead([*subscribed, read, restarted], redis_model().step) is None


def _mutations(history: History, rng: random.Random) -> list[History]:
    """Histories a little wrong: two reads of a subscriber swapped, one read dropped, a receiver
    count changed."""
    ops = list(history)
    receives = [op for op in ops if op.call[0][0] == b"RECV" and op.result is not None]
    publishes = [op for op in ops if op.call[0][0] == b"PUBLISH" and op.result is not None]
    out = []
    for _ in range(3):
        one = rng.choice(receives)
        other = rng.choice([op for op in receives if op.client == one.client and op is not one] or [one])
        swapped = {one.id: replace(one, call=other.call, result=other.result),
                   other.id: replace(other, call=one.call, result=one.result)}
        out.append(History(tuple(swapped.get(op.id, op) for op in ops), meta=history.meta))
        dropped = rng.choice(receives).id
        out.append(History(tuple(replace(op, id=index) for index, op in
                                 enumerate(op for op in ops if op.id != dropped)), meta=history.meta))
        counted = rng.choice(publishes)
        out.append(History(tuple(replace(op, result=(op.result[0] + 1,)) if op is counted else op for op in ops),
                           meta=history.meta))
    return out


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("fault", [None, "drop-message", "duplicate-message", "reorder-delivery",
                                   "wrong-receiver-count"])
def test_the_verdicts_are_the_searchs_own(tmp_path: Path, fault: str | None, protocol: int) -> None:
    """A differential test: recorded histories of the embedded server, with each Pub/Sub fault and
    without, over RESP2 and RESP3, and small mutations of them, get the same verdict with the
    lookahead and without it."""
    compared = violations = 0
    for seed in range(2):
        with start_in_thread(fault=fault, seed=seed) as running:
            recording = record_pubsub(Target.parse(running.url, password_env=None), tmp_path / f"h{seed}.jsonl",
                                      PubSubWorkload(publishers=3, subscribers=2, messages=40), seed=seed,
                                      prefix=b"redlin:lookahead:", protocol=protocol)
        histories = [recording.history, *_mutations(recording.history, random.Random(seed))]
        for history in histories:
            without = _verdict(history, pruned=False)
            if without is Unknown:
                continue
            assert _verdict(history, pruned=True) is without
            compared += 1
            violations += without is Violation
    assert compared >= 12 and violations >= 6
