"""The sequential-consistency checker: stale but ordered reads pass, broken client orders fail.

Every "sequential" verdict is re-verified by replaying its witness through the model; random small
histories are compared with a brute-force enumeration of every order; tight budgets may only turn a
verdict into "unknown".
"""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis_histories import OK, HistoryBuilder

from redlin import History, Model, Operation, Outcome, cas_register, check, kv, kv_single, register
from redlin.adapter.redis_model import redis_model
from redlin.search.sequential import PER_PART_REASON, SequentialResult, check_sequential

INFO, FAIL = Outcome.INFO, Outcome.FAIL


def history(*specs: tuple[Any, ...]) -> History:
    """``(client, call, result, invoke, complete[, outcome[, ends_session]])`` per operation."""
    ops = []
    for index, spec in enumerate(specs):
        client, call, result, invoke, complete, *rest = spec
        outcome = rest[0] if rest else Outcome.OK
        ends = rest[1] if len(rest) > 1 else True
        ops.append(Operation(index, client, call, result, invoke, complete, outcome, ends_session=ends))
    return History(tuple(ops))


def checked(h: History, model: Model[Any], **budget: Any) -> SequentialResult:
    """``check_sequential``, with every witness it gives replayed."""
    result = check_sequential(h, model, **budget)
    if result.verdict == "sequential":
        assert_witness(h, model, result)
    else:
        assert result.order is None
    return result


def assert_witness(h: History, model: Model[Any], result: SequentialResult) -> None:
    """The order holds every definite operation once, no FAIL one, keeps each client's order, and
    replaying it through the model reproduces every observed result."""
    assert result.scope == "whole" and result.order is not None
    order = result.order
    by_id = {op.id: op for op in h}
    assert len(set(order)) == len(order)
    assert {op.id for op in h if op.outcome is Outcome.OK} <= set(order)
    assert all(by_id[op_id].outcome is not FAIL for op_id in order)
    position = {op_id: index for index, op_id in enumerate(order)}
    for a in h:
        for b in h:
            if a.client == b.client and (a.invoke, a.id) < (b.invoke, b.id) and a.id in position and b.id in position:
                assert position[a.id] < position[b.id], (a.id, b.id)
    state = model.init()
    for op_id in order:
        after = model.step(state, by_id[op_id])
        assert after is not None, f"witness step {op_id} rejected"
        state = after


# --- the cases the checker exists for ---------------------------------------------------------------


def test_stale_read_by_another_client_is_sequential_though_not_linearizable() -> None:
    h = history(("a", ("write", 1), None, 0, 1),
                ("a", ("write", 2), None, 2, 3),
                ("b", ("read",), 1, 4, 5))  # began after write 2 completed: a replica lagging behind
    assert check(h, register()).verdict == "violation"
    result = checked(h, register())
    assert result.verdict == "sequential"
    assert result.order == (0, 2, 1)


def test_reading_older_than_own_write_violates_the_clients_order() -> None:
    h = history(("a", ("write", 1), None, 0, 1),
                ("b", ("read",), 1, 0, 10),
                ("a", ("write", 2), None, 2, 3),
                ("a", ("read",), 1, 4, 5))  # a wrote 2 itself, then read 1
    for model in (register(), cas_register(), without_read_only(register())):
        result = checked(h, model)
        assert result.verdict == "violation" and result.operation == 3, model.name
        assert result.scope == "whole" and result.prefix[-1] == 2


def test_a_client_going_back_in_time_is_a_violation() -> None:
    """Monotonic reads: after seeing 2, the same client cannot see 1 again."""
    h = history(("a", ("write", 1), None, 0, 1),
                ("a", ("write", 2), None, 2, 3),
                ("b", ("read",), 2, 4, 5),
                ("b", ("read",), 1, 6, 7))
    result = checked(h, register())
    assert result.verdict == "violation" and result.operation == 3
    # Another client may still see 1 later: it reads from a replica that is further behind.
    h2 = history(("a", ("write", 1), None, 0, 1),
                 ("a", ("write", 2), None, 2, 3),
                 ("b", ("read",), 2, 4, 5),
                 ("c", ("read",), 1, 6, 7))
    assert checked(h2, register()).verdict == "sequential"


STORE_BUFFER = (("a", ("put", "x", "1"), None, 0, 1),
                ("a", ("get", "y"), "", 2, 3),
                ("b", ("put", "y", "1"), None, 0, 1),
                ("b", ("get", "x"), "", 2, 3))


def test_store_buffer_litmus_is_a_violation_of_the_whole_only() -> None:
    """Each key alone is sequentially consistent, but no single order explains both reads of 0."""
    h = history(*STORE_BUFFER)
    x_only, y_only = History(tuple(h[i] for i in (0, 3))), History(tuple(h[i] for i in (1, 2)))
    assert checked(x_only, kv()).verdict == "sequential"
    assert checked(y_only, kv()).verdict == "sequential"
    for model in (kv(), kv_single()):
        result = checked(h, model)
        assert result.verdict == "violation", model.name
        assert result.scope == "whole" and result.part == (0, 1, 2, 3)
        assert result.operation in (1, 3)


def test_store_buffer_with_one_read_seeing_the_write_is_sequential() -> None:
    h = history(*STORE_BUFFER[:3], ("b", ("get", "x"), "1", 2, 3))
    result = checked(h, kv())
    assert result.verdict == "sequential"


def test_violation_in_one_key_is_reported_from_that_part() -> None:
    h = history(("a", ("put", "x", "1"), None, 0, 1),
                ("a", ("get", "x"), "", 2, 3),  # its own write, lost
                ("b", ("put", "y", "1"), None, 0, 1),
                ("b", ("get", "y"), "1", 2, 3))
    result = checked(h, kv())
    assert result.verdict == "violation" and result.scope == "per-part"
    assert result.operation == 1 and result.part == (0, 1)


def test_impossible_read_is_found_by_the_precheck() -> None:
    h = history(("a", ("put", "x", "1"), None, 0, 1),
                ("b", ("get", "x"), "nobody wrote this", 2, 3),
                ("c", ("put", "y", "1"), None, 0, 1))
    result = checked(h, kv())
    assert (result.verdict, result.scope, result.operation, result.prefix) == ("violation", "per-part", 1, ())


def test_fail_operations_are_ignored() -> None:
    h = history(("a", ("write", 1), None, 0, 1, FAIL),
                ("b", ("read",), 1, 2, 3))
    assert checked(h, register()).verdict == "violation"
    h = history(("a", ("write", 1), None, 0, 1, FAIL),
                ("b", ("read",), None, 2, 3))
    assert checked(h, register()).order == (1,)


def test_merged_part_orders_are_replayed_not_trusted() -> None:
    """A partition that breaks its contract (the parts share the register) cannot yield a witness
    the model rejects: the merged order is replayed, and the whole history searched instead."""
    split = Model(name="register-split-by-op", init=register().init, step=register().step,
                  partition=lambda ops: [[op for op in ops if op.call[0] == "write" and op.call[1] == 2],
                                         [op for op in ops if op.call[0] != "write" or op.call[1] != 2]])
    h = history(("a", ("write", 1), None, 0, 1),
                ("b", ("write", 2), None, 2, 3),
                ("a", ("read",), 1, 4, 5))
    result = checked(h, split)
    assert result.verdict == "sequential"  # and its witness replays (see checked)


# --- indeterminate operations -----------------------------------------------------------------------


def test_info_write_may_have_taken_effect_or_not() -> None:
    took = history(("a", ("write", 1), None, 0, None, INFO), ("b", ("read",), 1, 5, 6))
    result = checked(took, register())
    assert result.order == (0, 1)
    never = history(("a", ("write", 1), None, 0, None, INFO), ("b", ("read",), None, 5, 6))
    assert checked(never, register()).order == (1,)  # it never happened: not in the witness
    both = history(("a", ("write", 1), None, 0, None, INFO),
                   ("b", ("read",), None, 5, 6),
                   ("b", ("read",), 1, 7, 8))
    assert checked(both, register()).order == (1, 0, 2)
    back = history(("a", ("write", 1), None, 0, None, INFO),
                   ("b", ("read",), 1, 5, 6),
                   ("b", ("read",), None, 7, 8))
    result = checked(back, register())
    assert result.verdict == "violation" and result.operation == 2


def test_operations_after_an_info_one_stay_after_it() -> None:
    """A client id with operations after an INFO one (a weakened operation, its session going on)."""
    def run(read: Hashable) -> SequentialResult:
        return checked(history(("a", ("write", 1), None, 0, None, INFO, False),
                               ("a", ("read",), read, 5, 6)), register())

    assert run(None).order == (1,)  # skipped: it never took effect
    assert run(1).order == (0, 1)
    assert run(2).verdict == "violation"
    # It cannot take effect after the client's later write.
    h = history(("a", ("write", 1), None, 0, None, INFO, False),
                ("a", ("write", 2), None, 5, 6),
                ("a", ("read",), 1, 7, 8))
    assert checked(h, register()).verdict == "violation"


def test_info_cas_may_have_swapped() -> None:
    h = history(("a", ("write", 1), None, 0, 1),
                ("b", ("cas", 1, 2), None, 2, None, INFO),
                ("c", ("read",), 2, 10, 11),
                ("c", ("read",), 1, 12, 13))
    result = checked(h, cas_register())
    assert result.verdict == "violation" and result.operation == 3
    h = history(*[(op.client, op.call, op.result, op.invoke, op.complete, op.outcome) for op in h][:3],
                ("d", ("read",), 1, 12, 13))
    assert checked(h, cas_register()).verdict == "sequential"


# --- budgets ---------------------------------------------------------------------------------------


def test_tiny_budget_gives_unknown_never_a_wrong_verdict() -> None:
    h = history(*STORE_BUFFER)
    seen = set()
    for budget in range(1, 40):
        result = checked(h, kv(), max_states=budget)
        assert result.verdict in ("violation", "unknown"), budget
        assert result.states_explored <= budget
        seen.add((result.verdict, result.scope, result.reason))
    assert any(scope == "per-part" and reason.startswith(PER_PART_REASON + ": state budget") for _, scope, reason in seen)
    assert any(verdict == "unknown" and scope == "whole" for verdict, scope, _ in seen)
    assert checked(h, kv(), max_states=1).verdict == "unknown"


def test_tiny_budget_on_a_passing_history() -> None:
    h = hard_register_history(5)
    full = checked(h, register())
    assert full.verdict == "sequential"
    verdicts = {checked(h, register(), max_states=budget).verdict for budget in (1, 2, 5, 10, 100)}
    assert verdicts <= {"sequential", "unknown"} and "unknown" in verdicts


def test_zero_time_limit_gives_unknown() -> None:
    result = checked(hard_register_history(6, late=99), without_read_only(register()), time_limit=0)
    assert result.verdict == "unknown" and "time limit" in result.reason


def hard_register_history(writers: int, late: Hashable = None) -> History:
    """Writers of distinct values and a reader that sees them in reverse order: only backtracking
    finds an order (or, with ``late`` read last, proves there is none)."""
    specs: list[tuple[Any, ...]] = [(f"w{i}", ("write", i), None, i, i + 1) for i in range(writers)]
    specs += [("r", ("read",), i, 100 + i, 101 + i) for i in reversed(range(writers))]
    if late is not None:
        specs.append(("r", ("read",), late, 200, 201))
    return history(*specs)


def test_hard_violation_is_found_with_enough_budget() -> None:
    h = hard_register_history(6, late=3)  # 3 was read earlier, then 2, 1, 0: it cannot come back
    result = checked(h, without_read_only(register()))
    assert result.verdict == "violation" and result.operation == len(h) - 1
    assert checked(h, register()).verdict == "violation"


def replica_history(seed: int, steps: int = 60, max_lag: int = 40) -> History:
    """Three writers put unique values on a primary; four readers each read from their own replica,
    which applies the primary's writes after a lag that drifts but never goes back: sequentially
    consistent by construction, far from linearizable."""
    rng = random.Random(seed)
    applied: list[tuple[float, str, str]] = []  # (when the primary applied it, key, value)
    specs: list[tuple[Any, ...]] = []
    for writer in range(3):
        t = rng.randint(0, 3)
        for i in range(steps):
            duration, key, value = rng.randint(1, 3), f"k{rng.randrange(3)}", f"w{writer}.{i}"
            applied.append((t + rng.random() * duration, key, value))
            specs.append((f"w{writer}", ("put", key, value), None, t, t + duration))
            t += duration + rng.randint(0, 2)
    applied.sort()

    def seen(key: str, when: float) -> str:
        return ([value for at, k, value in applied if k == key and at <= when] or [""])[-1]

    for reader in range(4):
        t, upto, lag = rng.randint(0, 3), -math.inf, rng.randint(0, max_lag)
        for _ in range(steps):
            duration, key = rng.randint(1, 3), f"k{rng.randrange(3)}"
            lag = max(0, min(max_lag, lag + rng.randint(-5, 5)))
            upto = max(upto, t - lag)
            specs.append((f"r{reader}", ("get", key), seen(key, upto), t, t + duration))
            t += duration + rng.randint(0, 2)
    return history(*sorted(specs, key=lambda spec: spec[3]))


@pytest.mark.parametrize(("seed", "steps"), [(0, 15), (1, 15), (2, 15), (0, 60), (2, 60)])
def test_lagging_replicas_are_sequential(seed: int, steps: int) -> None:
    h = replica_history(seed, steps)
    assert check(h, kv()).verdict == "violation"
    result = checked(h, kv(), max_states=100_000)
    assert result.verdict == "sequential"


def test_lagging_replica_going_back_is_a_violation() -> None:
    specs = [(op.client, op.call, op.result, op.invoke, op.complete) for op in replica_history(0, steps=15)]
    last = max(i for i, spec in enumerate(specs) if spec[0] == "r0" and spec[2] not in ("", "w0.0"))
    client, call, _, invoke, complete = specs[last]
    first_write = next(spec for spec in specs if spec[1][0] == "put" and spec[1][1] == call[1])
    specs.append((client, call, first_write[1][2], invoke + 1000, complete + 1000))  # far older than r0 saw
    result = checked(history(*specs), kv(), max_states=100_000)
    assert result.verdict == "violation" and result.operation == len(specs) - 1


# --- the Redis model --------------------------------------------------------------------------------


def test_redis_stale_replica_read_is_sequential() -> None:
    h = HistoryBuilder()
    h.op(1, 0, 1, ("SET", "k", "1"), OK)
    h.op(1, 2, 3, ("SET", "k", "2"), OK)
    h.op(2, 4, 5, ("GET", "k"), b"1")  # a replica behind the primary
    h.op(2, 6, 7, ("GET", "k"), b"2")
    model = redis_model()
    assert check(h.history(), model).verdict == "violation"
    result = checked(h.history(), model)
    assert result.verdict == "sequential" and result.order == (0, 2, 1, 3)
    h.op(2, 8, 9, ("GET", "k"), b"1")  # the replica went back in time
    result = checked(h.history(), model)
    assert result.verdict == "violation" and result.operation == 4


def test_redis_store_buffer_is_a_violation_of_the_whole() -> None:
    h = HistoryBuilder()
    h.op(1, 0, 1, ("SET", "x", "1"), OK)
    h.op(1, 2, 3, ("GET", "y"), None)
    h.op(2, 0, 1, ("SET", "y", "1"), OK)
    h.op(2, 2, 3, ("GET", "x"), None)
    result = checked(h.history(), redis_model())
    assert result.verdict == "violation" and result.scope == "whole"
    h.op(3, 4, None, ("INCR", "x"), outcome=INFO)  # irrelevant: it may never have happened
    assert checked(h.history(), redis_model()).verdict == "violation"


# --- against brute force ---------------------------------------------------------------------------


def brute_force_sequential(ops: Sequence[Operation], model: Model[Any]) -> bool:
    """Every merge of the clients' orders, every INFO operation applied or not."""
    lanes: dict[Hashable, list[Operation]] = {}
    for op in sorted((op for op in ops if op.outcome is not FAIL), key=lambda op: (op.invoke, op.id)):
        lanes.setdefault(op.client, []).append(op)
    queues = list(lanes.values())

    def extend(state: Any, positions: tuple[int, ...]) -> bool:
        if all(position == len(queue) for position, queue in zip(positions, queues)):
            return True
        for lane, queue in enumerate(queues):
            if positions[lane] == len(queue):
                continue
            op = queue[positions[lane]]
            after = positions[:lane] + (positions[lane] + 1,) + positions[lane + 1:]
            new = model.step(state, op)
            if new is not None and extend(new, after):
                return True
            if op.outcome is INFO and extend(state, after):
                return True
        return False

    return extend(model.init(), tuple(0 for _ in queues))


def without_read_only(model: Model[Any]) -> Model[Any]:
    return Model(name=model.name + "-plain", init=model.init, step=model.step, partition=model.partition)


@st.composite
def random_histories(draw: st.DrawFn) -> tuple[History, Model[Any]]:
    """Small histories of a few clients with arbitrary (often wrong) results, INFO and FAIL ops."""
    model_name = draw(st.sampled_from(["register", "cas", "kv"]))
    model = {"register": register(), "cas": cas_register(), "kv": kv()}[model_name]
    ops = []
    for i in range(draw(st.integers(1, 7))):
        if model_name == "kv":
            key = draw(st.sampled_from("xy"))
            call = draw(st.sampled_from([("get", key), ("put", key, "a"), ("append", key, "b")]))
            result = draw(st.sampled_from(["", "a", "ab", "b"])) if call[0] == "get" else None
        else:
            kind = draw(st.sampled_from(["read", "write", "cas"] if model_name == "cas" else ["read", "write"]))
            if kind == "read":
                call, result = ("read",), draw(st.sampled_from([None, 1, 2]))
            elif kind == "write":
                call, result = ("write", draw(st.integers(1, 2))), None
            else:
                call, result = ("cas", draw(st.sampled_from([None, 1, 2])), draw(st.integers(1, 2))), draw(st.booleans())
        invoke = draw(st.integers(0, 12))
        outcome = draw(st.sampled_from([Outcome.OK] * 4 + [INFO, FAIL]))
        complete = None if outcome is INFO else invoke + 1
        ops.append(Operation(i, draw(st.sampled_from("abc")), call, result if outcome is Outcome.OK else None,
                             invoke, complete, outcome, ends_session=draw(st.booleans())))
    return History(tuple(ops)), model


@given(random_histories())
def test_agrees_with_brute_force(case: tuple[History, Model[Any]]) -> None:
    h, model = case
    expected = "sequential" if brute_force_sequential(list(h), model) else "violation"
    for variant in (model, without_read_only(model)):
        result = checked(h, variant)
        assert result.verdict == expected, variant.name
        if expected == "violation":
            assert result.operation is not None and h[result.operation].outcome is Outcome.OK
        for budget in (1, 3, 8):
            assert checked(h, variant, max_states=budget).verdict in (expected, "unknown")


@pytest.mark.parametrize("clients", [4, 12])
def test_long_real_time_ordered_history_is_fast(clients: int) -> None:
    """A history whose real-time order is a witness passes without backtracking."""
    specs = []
    for t in range(600):
        client = t % clients
        call, result = (("write", t), None) if t % 3 == 0 else (("read",), t - t % 3)
        specs.append((client, call, result, t * 2, t * 2 + 1))
    h = history(*specs)
    for model in (register(), without_read_only(register())):
        result = checked(h, model, max_states=4 * (len(h) + 1))  # the first round has a quarter
        assert result.verdict == "sequential"
