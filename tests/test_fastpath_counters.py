"""The counter fast path (redlin.search.counters) against the search: random histories of one Redis
counter (INCR, MULTI/EXEC blocks of INCRs, scripts that increment twice, GET), and the shapes it
must decline."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from redis_histories import effect_order, random_span

from redlin import History, Linearizable, Operation, Outcome, Violation, check, redis_model
from redlin.adapter.views import redis_counter_access, redis_increments
from redlin.model import Error, Status
from redlin.search.counters import refute_counter
from redlin.search.fastpath import decide_counter, fast_order, replay_ok
from redlin.search.wgl import Linearized, OutOfBudget, Stuck, search_part

MODEL = redis_model()
KEY = b"c"
OK, QUEUED = Status("OK"), Status("QUEUED")
SCRIPT = b"return {redis.call('INCR', KEYS[1]), redis.call('INCR', KEYS[1])}"
Pick = Callable[[int, int], int]


def _call(kind: int) -> tuple[tuple[bytes, ...], ...]:
    return (((b"GET", KEY),), ((b"INCR", KEY),), ((b"MULTI",), (b"INCR", KEY), (b"INCR", KEY), (b"EXEC",)),
            ((b"EVAL", SCRIPT, b"1", KEY),))[kind]


def _result(kind: int, before: int) -> tuple[Any, ...]:
    """The replies of a call of ``kind`` on a counter at ``before``."""
    if kind == 0:
        return (str(before).encode() if before else None,)
    if kind == 1:
        return (before + 1,)
    if kind == 2:
        return (OK, QUEUED, QUEUED, (before + 1, before + 2))
    return ((before + 1, before + 2),)


def counter_history(pick: Pick) -> list[Operation]:
    """Operations on one counter, each taking effect at a random point of its interval (so the
    history is linearizable), indeterminate ones maybe never; then maybe one reply changed to
    another the counter showed at some point, which the history may or may not survive."""
    count = pick(1, 8)
    kinds = [pick(0, 3) for _ in range(count)]
    spans = [random_span(pick, info_one_in=6) for _ in range(count)]
    counter = 0
    results: list[tuple[Any, ...]] = [()] * count
    effective = effect_order(spans)
    for index in effective:
        results[index] = _result(kinds[index], counter)
        counter += (0, 1, 2, 2)[kinds[index]]
    ops = []
    for index, kind in enumerate(kinds):
        invoke, complete, _ = spans[index]
        result = results[index]
        if complete is not None and pick(0, 5) == 0:
            result = _result(kind, pick(0, counter))  # a reply from another moment
        if complete is None:
            ops.append(Operation(index, index, _call(kind), None, invoke, None, Outcome.INFO))
        else:
            ops.append(Operation(index, index, _call(kind), result, invoke, complete, Outcome.OK))
    return ops


def agree(ops: list[Operation]) -> bool:
    outcome = search_part(ops, MODEL, deadline=None, max_states=1_000_000)
    assert not isinstance(outcome, OutOfBudget)
    linearizable = isinstance(outcome, Linearized)
    raw = decide_counter(ops, redis_counter_access)
    if raw is not None:
        assert replay_ok(raw, ops, MODEL), f"an order the replay rejects: {ops}"
        assert linearizable
    in_class = all(op.outcome is Outcome.OK for op in ops)
    if linearizable and in_class:
        assert raw is not None, f"a linearizable counter the fast path missed: {ops}"
    return linearizable


@given(st.data())
def test_the_counter_fast_path_agrees_with_the_search(data: st.DataObject) -> None:
    agree(counter_history(lambda lo, hi: data.draw(st.integers(lo, hi))))


def test_a_seeded_sweep_agrees_and_mixes_both_verdicts() -> None:
    rng = random.Random(7)
    verdicts = {agree(counter_history(rng.randint)) for _ in range(1500)}
    assert verdicts == {True, False}


def _op(index: int, call: tuple[tuple[bytes, ...], ...], result: tuple[Any, ...], invoke: int, complete: int
        ) -> Operation:
    return Operation(index, index, call, result, invoke, complete)


def test_what_it_declines() -> None:
    incr, get = _call(1), _call(0)
    gap = [_op(0, incr, (1,), 0, 1), _op(1, incr, (3,), 2, 3)]
    twice = [_op(0, incr, (1,), 0, 1), _op(1, incr, (1,), 0, 1)]
    inside = [_op(0, _call(2), (OK, QUEUED, QUEUED, (1, 2)), 0, 1), _op(1, get, (b"1",), 0, 2)]
    other_key = [_op(0, incr, (1,), 0, 1), _op(1, ((b"INCR", b"d"),), (1,), 0, 1)]
    not_from_nothing = [_op(0, incr, (6,), 0, 1)]
    error = [_op(0, incr, (1,), 0, 1), _op(1, get, (Error("WRONGTYPE Operation against a key holding the wrong kind of value"),), 2, 3)]
    aborted = [_op(0, _call(2), (OK, QUEUED, QUEUED, None), 0, 1)]
    for ops in (gap, twice, inside, other_key, not_from_nothing, aborted):
        assert decide_counter(ops, redis_counter_access) is None, ops
    assert fast_order(error, MODEL) is None  # read as nil, then refused by the replay


def test_a_large_counter_history_needs_no_search() -> None:
    # 4,000 overlapping operations on one counter, each taking effect when it was invoked.
    rng = random.Random(3)
    ops: list[Operation] = []
    counter, clock = 0, 0
    for index in range(4000):
        kind = rng.choice((0, 1, 1, 2, 3))
        invoke = clock
        clock += rng.randint(0, 2)
        result = _result(kind, counter)
        counter += (0, 1, 2, 2)[kind]
        ops.append(Operation(index, index, _call(kind), result, invoke, clock + rng.randint(0, 40)))
    result = check(History(tuple(ops)), MODEL, time_limit=60)
    assert isinstance(result, Linearizable) and result.states_explored == 0


def _beyond(ops: list[Operation], pick: Pick) -> list[Operation]:
    """``ops`` with a definite GET's reply raised to a count that may lie beyond every increment."""
    reads = [index for index, op in enumerate(ops) if op.call == _call(0) and op.outcome is Outcome.OK]
    if not reads:
        return ops
    index = reads[pick(0, len(reads) - 1)]
    increments = sum((0, 1, 2, 2)[(_call(0), _call(1), _call(2), _call(3)).index(op.call)] for op in ops)
    return [replace(op, result=(str(increments + pick(-1, 2) or 1).encode(),)) if n == index else op
            for n, op in enumerate(ops)]


def refuted_agrees(ops: list[Operation]) -> bool:
    """A refutation is always the search's violation (sheet D5: INCR from nothing makes 1; M17: a MULTI of
    INCRs makes consecutive counts)."""
    read = refute_counter(ops, redis_counter_access, redis_increments)
    if read is not None:
        outcome = search_part(ops, MODEL, deadline=None, max_states=1_000_000)
        assert isinstance(outcome, Stuck), f"refuted, yet linearizable: {ops}"
        assert ops[read].call == _call(0)
    return read is not None


@given(st.data())
def test_a_counter_refutation_is_a_violation(data: st.DataObject) -> None:
    def pick(lo: int, hi: int) -> int:
        return data.draw(st.integers(lo, hi))

    refuted_agrees(_beyond(counter_history(pick), pick))


def test_a_seeded_sweep_of_refutations() -> None:
    rng = random.Random(11)
    refuted = [refuted_agrees(_beyond(counter_history(rng.randint), rng.randint)) for _ in range(1500)]
    assert 50 < sum(refuted) < 1400  # it fires, and not on everything


def test_a_read_beyond_every_increment_is_refuted_without_a_search() -> None:
    """4,000 operations of INCRs, MULTI blocks of INCRs and GETs, one GET replying a count nobody
    made: a violation with no configuration explored.  A script among them (it adds what it likes)
    leaves the part to the search."""
    rng = random.Random(5)
    ops: list[Operation] = []
    counter, clock = 0, 0
    for index in range(4000):
        kind = rng.choice((0, 1, 1, 2))
        invoke = clock
        clock += rng.randint(0, 2)
        counter += (0, 1, 2, 2)[kind]
        ops.append(Operation(index, index, _call(kind), _result(kind, counter - (0, 1, 2, 2)[kind]), invoke,
                             clock + rng.randint(0, 40)))
    planted = next(index for index in range(2000, 4000) if ops[index].call == _call(0))
    ops[planted] = replace(ops[planted], result=(b"999999999",))
    result = check(History(tuple(ops)), MODEL, time_limit=60)
    assert isinstance(result, Violation) and result.operation == planted and result.states_explored == 0
    scripted = [*ops, Operation(4000, 4000, _call(3), ((counter + 1, counter + 2),), clock + 50, clock + 51)]
    assert refute_counter(scripted, redis_counter_access, redis_increments) is None
