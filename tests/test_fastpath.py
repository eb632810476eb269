"""The unique-value register fast path (:mod:`redlin.search.fastpath`) against the full search.

The fast path only ever proves "linearizable", so the property that matters is agreement: on every
register history whose written values are unique, it returns a witness exactly when the WGL search
finds the history linearizable (sound and complete for that class, INFO operations included), and
every order it computes replays through the model.  The same abstract histories are written for the
register, cas-register, key/value and Redis models.
"""

from __future__ import annotations

import csv
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from redlin import (
    History,
    Linearizable,
    Model,
    Operation,
    Outcome,
    cas_register,
    check,
    kv,
    kv_single,
    load_porcupine_etcd,
    load_porcupine_kv,
    redis_model,
    register,
)
from redlin.model import NULL, OK
from redlin.search import fastpath
from redlin.search.fastpath import decide_register, fast_order, fast_result, replay_ok
from redlin.search.wgl import Linearized, OutOfBudget, search_part

PORCUPINE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "porcupine"
EXPECTED = PORCUPINE / "expected.tsv"
MISSING = f"Porcupine reference histories not found: {EXPECTED} (shared/ must sit beside the repository)"
_KV_VIEWS = kv().views
assert _KV_VIEWS is not None and _KV_VIEWS.register is not None
KV_VIEW = _KV_VIEWS.register  # the kv model's register view: gets and puts of one key


# --- abstract histories, written for each model ------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One register operation: a write of ``value`` or a read that returned ``value`` (None =
    the initial value); ``complete`` None for an INFO operation."""

    client: int
    is_write: bool
    value: int | None
    invoke: int
    complete: int | None


def as_register(steps: list[Step]) -> list[Operation]:
    return [Operation(i, s.client, ("write", s.value) if s.is_write else ("read",),
                      s.value if not s.is_write and s.complete is not None else None,
                      s.invoke, s.complete, Outcome.OK if s.complete is not None else Outcome.INFO)
            for i, s in enumerate(steps)]


def as_kv(steps: list[Step]) -> list[Operation]:
    def text(value: int | None) -> str:
        return "" if value is None else f"v{value}"
    return [replace(op, call=("put", "k", text(s.value)) if s.is_write else ("get", "k"),
                    result=text(s.value) if op.definite and not s.is_write else None)
            for op, s in zip(as_register(steps), steps)]


def as_redis(steps: list[Step], nil: Any = None) -> list[Operation]:
    def reply(s: Step) -> tuple[Any, ...]:
        if s.is_write:
            return (OK,)
        return (nil if s.value is None else b"v%d" % s.value,)
    return [replace(op, call=((b"SET", b"k", b"v%d" % s.value),) if s.is_write else ((b"GET", b"k"),),
                    result=reply(s) if op.definite else None)
            for op, s in zip(as_register(steps), steps)]


FORMATS = {
    "register": (as_register, register),
    "cas-register": (as_register, cas_register),
    "kv": (as_kv, kv),
    "redis": (as_redis, redis_model),
}


def make_history(pick: Callable[[int, int], int]) -> list[Step]:
    """Up to 8 operations with unique written values, ``pick(lo, hi)`` choosing each number; each
    gets a linearization point in its interval (an INFO one maybe none: it never happened) and reads
    return what the points imply, so the history is linearizable, unless some reads are then given
    another value (a written one or the initial one), which it may or may not stay."""
    count = pick(1, 8)
    steps: list[Step] = []
    points: list[int | None] = []
    for index in range(count):
        invoke, length, is_write, info = pick(0, 12), pick(0, 5), pick(0, 1) == 1, pick(0, 4) == 0
        point: int | None = pick(invoke, invoke + length)
        if info and pick(0, 1):
            point = None
        steps.append(Step(index, is_write, index + 1 if is_write else None, invoke, None if info else invoke + length))
        points.append(point)
    value: int | None = None
    for index in sorted((i for i in range(count) if points[i] is not None), key=lambda i: (points[i], i)):
        if steps[index].is_write:
            value = steps[index].value
        else:
            steps[index] = replace(steps[index], value=value)
    choices = [None, *(s.value for s in steps if s.is_write)]
    for index, s in enumerate(steps):
        if not s.is_write and s.complete is not None and pick(0, 1) == 0:
            steps[index] = replace(s, value=choices[pick(0, len(choices) - 1)])
    return steps


@st.composite
def unique_histories(draw: st.DrawFn) -> list[Step]:
    return make_history(lambda lo, hi: draw(st.integers(lo, hi)))


def decided(ops: list[Operation], model: Model[Any]) -> tuple[int, ...] | None:
    """The fast path's own decision (before its replay), which must replay whenever there is one."""
    assert model.views is not None and model.views.register is not None
    view = model.views.register
    raw = decide_register(ops, view.access, view.initial(model))
    assert raw is None or replay_ok(raw, ops, model), "an order the replay rejects: a bug hidden by the fallback"
    if raw is not None:  # (else the kv models' string fast path may still find one)
        assert fast_order(ops, model) == raw
    return raw


def search_says_linearizable(ops: list[Operation], model: Model[Any]) -> bool:
    outcome = search_part(ops, model, deadline=None, max_states=1_000_000)
    assert not isinstance(outcome, OutOfBudget), "the search ran out of budget"
    return isinstance(outcome, Linearized)


@given(unique_histories(), st.sampled_from(sorted(FORMATS)))
def test_fast_path_agrees_with_the_search(steps: list[Step], name: str) -> None:
    write, make_model = FORMATS[name]
    model = make_model()
    ops = write(steps)
    expected = search_says_linearizable(ops, model)
    event(f"linearizable: {expected}")
    # The decision itself, before the replay: complete for the class, and never an order the
    # replay would have to reject.
    assert (decided(ops, model) is not None) == expected, (name, steps)


def test_a_seeded_sweep_agrees_and_mixes_both_verdicts() -> None:
    # More histories than the Hypothesis profile runs, and a check that the generator is not
    # one-sided: the differential test is only as good as its mix of verdicts.
    rng = random.Random(1)
    verdicts = []
    for _ in range(1000):
        ops = as_register(make_history(rng.randint))
        expected = search_says_linearizable(ops, register())
        assert (decided(ops, register()) is not None) == expected, ops
        verdicts.append(expected)
    assert 200 <= sum(verdicts) <= 850, sum(verdicts)


@given(unique_histories())
def test_check_agrees_on_whole_histories(steps: list[Step]) -> None:
    # check() runs the pre-checks too; the fast path's result has the same shape as the search's.
    ops = as_register(steps)
    verdict = check(History(tuple(ops)), register()).verdict
    result = fast_result(ops, register())
    assert (result is not None) == (verdict == "linearizable")
    if result is not None:
        assert result.parts == (tuple(op.id for op in ops),) and result.states_explored == 0


# --- examples ----------------------------------------------------------------------------------------


def test_info_writes_enter_the_witness_only_when_read() -> None:
    ops = as_register([Step(0, True, 1, 0, None), Step(1, True, 2, 1, None), Step(2, False, 2, 5, 6)])
    assert decided(ops, register()) == (1, 2)


def test_an_info_write_read_before_it_was_invoked_is_a_violation_left_to_the_search() -> None:
    ops = as_register([Step(0, False, 1, 0, 1), Step(1, True, 1, 2, None)])
    assert decided(ops, register()) is None
    assert check(History(tuple(ops)), register()).verdict == "violation"


def test_touching_intervals_overlap() -> None:
    # The read ends when the write begins: they overlap (the search's convention), so either order.
    ops = as_register([Step(0, False, 1, 0, 5), Step(1, True, 1, 5, 9)])
    assert decided(ops, register()) == (1, 0)


def test_a_backward_zone_touching_a_forward_zone_goes_first() -> None:
    # Write 1 must persist from 5 (it completed) to 10 (a read of it began); write 2 may end right
    # before 5 only at 5 itself, where it touches write 1: it must come first, and can.
    steps = [Step(0, True, 1, 0, 5), Step(1, False, 1, 10, 11), Step(2, True, 2, 5, 7)]
    assert decided(as_register(steps), register()) == (2, 0, 1)


def test_backward_zone_in_a_forward_zone_is_a_violation() -> None:
    # Value 1 must persist from 1 (its write completed) to 10 (a read of it began); value 2 is
    # written and read entirely inside that stretch.
    steps = [Step(0, True, 1, 0, 1), Step(1, False, 1, 10, 11), Step(2, True, 2, 2, 4), Step(3, False, 2, 3, 5)]
    assert decided(as_register(steps), register()) is None
    assert not search_says_linearizable(as_register(steps), register())
    moved = steps[:2] + [Step(2, True, 2, 0, 4), Step(3, False, 2, 0, 5)]  # now it can go first
    assert decided(as_register(moved), register()) == (2, 3, 0, 1)


@pytest.mark.parametrize("ops", [
    pytest.param(as_register([Step(0, True, 1, 0, 1), Step(1, True, 1, 2, 3)]), id="same value twice"),
    pytest.param(as_register([Step(0, True, None, 0, 1)]), id="writes the initial value"),
    pytest.param(as_register([Step(0, False, 7, 0, 1)]), id="reads a value never written"),
    pytest.param([Operation(0, 0, ("cas", None, 1), True, 0, 1)], id="a cas"),
    pytest.param([replace(as_register([Step(0, True, 1, 0, 1)])[0], outcome=Outcome.FAIL)], id="a FAIL op"),
    pytest.param(as_register([Step(0, True, 1, 3, 1)]), id="completes before invoked"),
])
def test_not_applicable_to_cas_register(ops: list[Operation]) -> None:
    assert fast_order(ops, cas_register()) is None


def test_not_applicable_beyond_one_key_or_to_append() -> None:
    two_keys = [Operation(0, 0, ("put", "a", "1"), None, 0, 1), Operation(1, 1, ("put", "b", "2"), None, 0, 1)]
    assert fast_order(two_keys, kv_single()) is None
    assert fast_order(two_keys[:1], kv_single()) == (0,)
    # An append is the string fast path's (tests/test_fastpath_appends.py), not the register's.
    assert decide_register([Operation(0, 0, ("append", "a", "1"), None, 0, 1)], KV_VIEW.access, "") is None


@pytest.mark.parametrize("call, result", [
    (((b"SET", b"k", b"v", b"EX", b"10"),), (OK,)),
    (((b"INCR", b"k"),), (1,)),
    (((b"MULTI",), (b"SET", b"k", b"v"), (b"EXEC",)), (OK, OK, (OK,))),
])
def test_not_applicable_to_other_redis_commands(call: tuple[tuple[bytes, ...], ...], result: Any) -> None:
    ops = [Operation(0, 0, call, result, 0, 1), Operation(1, 1, ((b"GET", b"k"),), (None,), 2, 3)]
    assert fast_order(ops, redis_model()) is None


def test_redis_resp3_null_and_lower_case_commands() -> None:
    ops = as_redis([Step(0, False, None, 0, 1), Step(1, True, 1, 2, 3), Step(2, False, 1, 4, 5)], nil=NULL)
    assert fast_order(ops, redis_model(protocol=3)) == (0, 1, 2)
    lower = [replace(op, call=((op.call[0][0].lower(), *op.call[0][1:]),)) for op in as_redis(
        [Step(0, True, 1, 0, 1), Step(1, False, 1, 2, 3)])]
    assert fast_order(lower, redis_model()) == (0, 1)
    wrong_reply = [replace(lower[0], result=(b"OK",)), lower[1]]  # a bulk string, not the status OK
    assert fast_order(wrong_reply, redis_model()) is None


def test_models_without_views_are_left_to_the_search() -> None:
    ops = as_register([Step(0, True, 1, 0, 1)])
    assert fast_order(ops, replace(register(), views=None)) is None
    # The views travel with the model, not with its name: a renamed register keeps its fast path,
    # and a model that takes another's name does not get that one's.
    assert fast_order(ops, replace(register(), name="my-register")) == (0,)
    assert fast_order(ops, replace(register(), name="kv", views=None)) is None


def test_a_wrong_order_is_caught_by_the_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    ops = as_register([Step(0, True, 1, 0, 1), Step(1, False, 1, 2, 3)])
    assert fast_order(ops, register()) == (0, 1)
    monkeypatch.setattr(fastpath, "decide_register", lambda ops, access, initial: (1, 0))
    assert fast_order(ops, register()) is None
    assert not replay_ok((0, 1, 1), ops, register()) and not replay_ok((0, 9), ops, register())


# --- Porcupine's etcd histories ----------------------------------------------------------------------


def etcd_rows() -> list[dict[str, str]]:
    if not EXPECTED.is_file():
        pytest.skip(MISSING)
    with EXPECTED.open(newline="") as handle:
        return [row for row in csv.DictReader(handle, delimiter="\t") if row["model"] == "etcd"]


def test_porcupine_etcd_verdicts_where_it_applies() -> None:
    # Their values are 0-4 and most have cas operations, so the fast path applies to none of them
    # as recorded; where it did, it would have to agree with Porcupine's verdict.
    applied = 0
    for row in etcd_rows():
        history = load_porcupine_etcd(PORCUPINE / row["file"])
        ops = [op for op in history if op.outcome is not Outcome.FAIL]
        if fast_order(ops, cas_register()) is not None:
            applied += 1
            assert row["expected_verdict"] != "illegal", row["file"]
    print(f"fast path applied to {applied} of the etcd histories")


def read_mapping(history: History) -> list[Operation]:
    """A unique-value history with the etcd history's real timings and INFO operations: its cas
    operations dropped, write ``i`` writing ``1000 + i``, and each read of ``v`` mapped to the write
    of ``v`` invoked last before the read completed (to the initial value if there is none)."""
    kept = [op for op in history if op.outcome is not Outcome.FAIL and op.call[0] != "cas"]
    writes = sorted((op for op in kept if op.call[0] == "write"), key=lambda op: op.invoke)
    ops = []
    for op in kept:
        if op.call[0] == "write":
            ops.append(replace(op, call=("write", 1000 + op.id)))
        elif op.definite:
            same = [w for w in writes if w.call[1] == op.result and op.complete is not None and w.invoke <= op.complete]
            ops.append(replace(op, result=1000 + same[-1].id if same else None))
        else:
            ops.append(op)
    return ops


def test_read_mapping_etcd_histories_agree_with_the_search() -> None:
    verdicts = []
    for row in etcd_rows():
        ops = read_mapping(load_porcupine_etcd(PORCUPINE / row["file"]))
        expected = search_says_linearizable(ops, cas_register())
        assert (fast_order(ops, cas_register()) is not None) == expected, row["file"]
        verdicts.append(expected)
    assert any(verdicts) and not all(verdicts)


def last_appended(text: str) -> str:
    """The value of the last append a Porcupine kv get saw (``x <client> <n> y`` tokens)."""
    return text[text.rfind("x"):] if text else ""


def test_read_mapping_kv_parts_agree_with_the_search() -> None:
    # Every kv part appends, so as recorded none qualifies; made read-mapping (appends become puts
    # of the same unique token, a get returns the last token it saw), the parts keep Porcupine's
    # real timings, up to 200 operations each.
    if not EXPECTED.is_file():
        pytest.skip(MISSING)
    model, verdicts = kv(), []
    for path in sorted((PORCUPINE / "kv").glob("*.txt")):
        recorded = list(load_porcupine_kv(path))
        assert model.partition is not None
        view = KV_VIEW
        assert all(decide_register(part, view.access, "") is None for part in model.partition(recorded))
        ops = [replace(op, call=("put", *op.call[1:])) if op.call[0] == "append" else
               replace(op, result=last_appended(op.result)) if op.definite else op for op in recorded]
        for part in model.partition(ops):
            puts = [op.call[2] for op in part if op.call[0] == "put"]
            if len(set(puts)) < len(puts):  # a client appended the same token twice
                assert decided(part, model) is None
                continue
            expected = search_says_linearizable(part, model)
            assert (decided(part, model) is not None) == expected, path.name
            verdicts.append(expected)
    print(f"{len(verdicts)} read-mapping kv parts, {sum(verdicts)} linearizable")
    assert any(verdicts) and not all(verdicts), verdicts


# --- a long history ----------------------------------------------------------------------------------


def simulated(count: int, clients: int = 5, seed: int = 0, info_rate: float = 0.002) -> list[Operation]:
    """A linearizable unique-value register history of ``count`` operations by ``clients`` concurrent
    clients: each operation takes effect at a random instant of its interval; a few time out
    (INFO), before or after taking effect, and their client carries on under a new name."""
    rng = random.Random(seed)
    value: int | None = None
    ops: list[Operation] = []
    slots: list[list[Any]] = [[] for _ in range(clients)]  # per client: [op index, applied?]
    names = list(range(clients))
    clock = 0
    while len(ops) < count or any(slots):
        clock += 1
        slot = rng.randrange(clients)
        flight = slots[slot]
        if not flight:
            if len(ops) < count:
                is_write = rng.random() < 0.4
                call = ("write", len(ops) + 1) if is_write else ("read",)
                ops.append(Operation(len(ops), names[slot], call, None, clock, None, Outcome.INFO))
                flight.extend([len(ops) - 1, False])
            continue
        index, applied = flight
        op = ops[index]
        if rng.random() < info_rate:  # time out: stays INFO, the client reconnects
            names[slot] += clients
            flight.clear()
        elif not applied:
            if op.call[0] == "write":
                value = op.call[1]
            else:
                ops[index] = replace(op, result=value)
            flight[1] = True
        else:
            ops[index] = replace(ops[index], complete=clock, outcome=Outcome.OK)
            flight.clear()
    return [replace(op, result=None) if op.outcome is Outcome.INFO else op for op in ops]


def test_a_100k_operation_history_in_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    ops = simulated(100_000)
    started = time.perf_counter()
    order = fast_order(ops, register())
    elapsed = time.perf_counter() - started
    assert order is not None
    assert {op.id for op in ops if op.outcome is Outcome.OK} <= set(order)
    # One stale read late in the history: no witness (the search would explain it).
    late = next(op for op in reversed(ops) if op.call == ("read",) and op.definite and op.result is not None)
    stale = [replace(op, result=None) if op is late else op for op in ops]
    started = time.perf_counter()
    assert fast_order(stale, register()) is None
    stale_elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\nfast path, 100k-op unique-value register history (5 clients): linearizable in "
              f"{elapsed:.2f} s; with a stale read, declined in {stale_elapsed:.2f} s")


def test_simulated_histories_are_linearizable_by_the_search_too() -> None:
    for seed in range(20):
        ops = simulated(40, seed=seed, info_rate=0.1)
        assert search_says_linearizable(ops, register())
        result = fast_result(ops, register())
        assert isinstance(result, Linearizable)
