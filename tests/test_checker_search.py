"""The search and check(): hand-made histories with known verdicts, random histories against a
brute-force oracle, witness replay, budgets, and partitioning.  Fast: a few seconds in all."""

from __future__ import annotations

import dataclasses
import doctest
import gc
import importlib
import itertools
from collections.abc import Hashable, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redlin import (
    History,
    Linearizable,
    Model,
    Operation,
    Outcome,
    Unknown,
    Violation,
    cas_register,
    check,
    kv,
    kv_single,
    partition_by_keys,
    register,
)
from redlin.search.model import ModelLimit
from redlin.search.wgl import PREFIXES_KEPT, PartSearch, cyclic_gc_paused, search_part

OK, INFO, FAIL = Outcome.OK, Outcome.INFO, Outcome.FAIL


def history(*specs: tuple[Any, ...]) -> History:
    """Operations from (client, call, result, invoke, complete[, outcome]) tuples; ids in order."""
    ops = []
    for index, spec in enumerate(specs):
        client, call, result, invoke, complete, *rest = spec
        outcome = rest[0] if rest else OK
        ops.append(Operation(index, client, call, result, invoke, None if outcome is INFO else complete, outcome))
    return History(tuple(ops))


def without_precheck(model: Model[Any]) -> Model[Any]:
    return dataclasses.replace(model, find_impossible=None)


def plain_search(model: Model[Any]) -> Model[Any]:
    """The model without the optional accelerators: pre-check and read-only commits."""
    return dataclasses.replace(model, find_impossible=None, read_only=None)


def assert_witness_valid(h: History, model: Model[Any], result: Linearizable) -> None:
    """Replay every part's witness: results reproduce, real time is respected, nothing is missing."""
    by_id = {op.id: op for op in h}
    assert len(result.witness) == len(result.parts)
    for order, part in zip(result.witness, result.parts):
        assert set(order) <= set(part)
        assert len(order) == len(set(order))
        definite = {i for i in part if by_id[i].outcome is OK}
        assert definite <= set(order), "every definite operation is linearized"
        assert all(by_id[i].outcome is not FAIL for i in order)
        state = model.init()
        for i in order:
            state = model.step(state, by_id[i])
            assert state is not None, f"witness replay rejects operation {i}"
        position = {op_id: n for n, op_id in enumerate(order)}
        for a, b in itertools.permutations(order, 2):
            complete = by_id[a].complete
            if complete is not None and complete < by_id[b].invoke:
                assert position[a] < position[b], f"{a} completed before {b} began"


# --- hand-made histories ---------------------------------------------------------------------------


def test_empty_history_is_linearizable() -> None:
    result = check(History(()), cas_register())
    assert isinstance(result, Linearizable)
    assert result.witness == ((),)


def test_sequential_register() -> None:
    h = history(
        ("a", ("write", 1), None, 0, 1),
        ("a", ("read",), 1, 2, 3),
        ("b", ("write", 2), None, 4, 5),
        ("b", ("read",), 2, 6, 7),
    )
    result = check(h, register())
    assert isinstance(result, Linearizable)
    assert result.witness == ((0, 1, 2, 3),)
    assert_witness_valid(h, register(), result)


def test_stale_read_is_a_violation_with_its_prefix() -> None:
    h = history(
        ("a", ("write", 1), None, 0, 1),
        ("a", ("write", 2), None, 2, 3),
        ("b", ("read",), 1, 4, 5),
    )
    result = check(h, cas_register())
    assert isinstance(result, Violation)
    assert result.operation == 2
    assert result.part == (0, 1, 2)
    assert result.prefixes == (((0, (1,)), (1, (2,))),)


def test_concurrent_write_may_be_seen_or_not() -> None:
    for seen in (None, 1):
        h = history(("a", ("write", 1), None, 0, 10), ("b", ("read",), seen, 2, 3))
        result = check(h, cas_register())
        assert isinstance(result, Linearizable), seen
        assert_witness_valid(h, cas_register(), result)


def test_touching_intervals_are_concurrent() -> None:
    # The write completes at 5, the read begins at 5: neither precedes the other.
    h = history(("a", ("write", 1), None, 0, 5), ("b", ("read",), None, 5, 6))
    assert isinstance(check(h, cas_register()), Linearizable)
    h = history(("a", ("write", 1), None, 0, 4), ("b", ("read",), None, 5, 6))
    assert isinstance(check(h, cas_register()), Violation)


def test_info_write_that_happened() -> None:
    h = history(("a", ("write", 1), None, 0, None, INFO), ("b", ("read",), 1, 5, 6))
    result = check(h, cas_register())
    assert isinstance(result, Linearizable)
    assert result.witness == ((0, 1),)


def test_info_write_that_did_not_happen() -> None:
    h = history(("a", ("write", 1), None, 0, None, INFO), ("b", ("read",), None, 5, 6))
    result = check(h, cas_register())
    assert isinstance(result, Linearizable)
    assert result.witness == ((1,),)


def test_info_write_cannot_act_before_its_invocation() -> None:
    h = history(("b", ("read",), 1, 0, 1), ("a", ("write", 1), None, 2, None, INFO))
    assert isinstance(check(h, plain_search(cas_register())), Violation)


def test_info_write_takes_effect_at_most_once() -> None:
    # 1 then 2 then 1 again would need the INFO write of 1 twice.
    h = history(
        ("a", ("write", 1), None, 0, None, INFO),
        ("b", ("read",), 1, 1, 2),
        ("b", ("write", 2), None, 3, 4),
        ("b", ("read",), 1, 5, 6),
    )
    assert isinstance(check(h, plain_search(cas_register())), Violation)


def test_fail_operations_are_ignored() -> None:
    h = history(("a", ("write", 1), None, 0, 1, FAIL), ("b", ("read",), 1, 2, 3))
    result = check(h, cas_register())
    assert isinstance(result, Violation)
    assert result.prefixes == (), "the pre-check proves it: 1 was never written"
    assert isinstance(check(h, plain_search(cas_register())), Violation)


def test_cas_semantics() -> None:
    ok = history(
        ("a", ("write", 1), None, 0, 1),
        ("a", ("cas", 1, 2), True, 2, 3),
        ("b", ("cas", 1, 3), False, 4, 5),
        ("b", ("read",), 2, 6, 7),
    )
    assert isinstance(check(ok, cas_register()), Linearizable)
    bad = history(("a", ("write", 1), None, 0, 1), ("a", ("cas", 1, 2), False, 2, 3))
    assert isinstance(check(bad, cas_register()), Violation)
    info = history(
        ("a", ("write", 1), None, 0, 1),
        ("a", ("cas", 1, 2), None, 2, None, INFO),
        ("b", ("read",), 2, 4, 5),
    )
    assert isinstance(check(info, cas_register()), Linearizable)


def test_failing_operation_is_reported_at_the_deepest_point() -> None:
    # Two concurrent writes; a later read sees a value neither wrote (pre-check off, to test
    # the search's own report).
    h = history(
        ("a", ("write", 1), None, 0, 3),
        ("b", ("write", 2), None, 1, 4),
        ("c", ("read",), 3, 5, 6),
    )
    result = check(h, plain_search(cas_register()))
    assert isinstance(result, Violation)
    assert result.operation == 2
    assert {tuple(op_id for op_id, _ in prefix) for prefix in result.prefixes} == {(0, 1), (1, 0)}


def test_prefixes_are_bounded() -> None:
    # Many concurrent writes, then an impossible read: every order of the writes is a longest prefix.
    writes = [(c, ("write", c), None, 0, 10) for c in range(6)]
    h = history(*writes, ("r", ("read",), 99, 11, 12))
    result = check(h, plain_search(cas_register()))
    assert isinstance(result, Violation)
    assert 1 <= len(result.prefixes) <= PREFIXES_KEPT
    assert all(len(prefix) == 6 for prefix in result.prefixes)


def test_kv_partitions_and_witness() -> None:
    h = history(
        ("a", ("put", "x", "1"), None, 0, 1),
        ("b", ("append", "y", "2"), None, 0, 3),
        ("a", ("get", "x"), "1", 2, 3),
        ("c", ("get", "y"), "2", 4, 5),
        ("c", ("append", "x", "3"), None, 6, 7),
        ("a", ("get", "x"), "13", 8, 9),
    )
    result = check(h, kv())
    assert isinstance(result, Linearizable)
    assert sorted(result.parts) == [(0, 2, 4, 5), (1, 3)]
    assert_witness_valid(h, kv(), result)
    single = check(h, kv_single())
    assert isinstance(single, Linearizable) and len(single.parts) == 1
    assert_witness_valid(h, kv_single(), single)


def test_violation_in_one_part_is_found() -> None:
    h = history(
        ("a", ("put", "x", "1"), None, 0, 1),
        ("b", ("put", "y", "1"), None, 0, 1),
        ("a", ("put", "x", "2"), None, 2, 3),
        ("a", ("get", "x"), "1", 4, 5),
    )
    result = check(h, kv())
    assert isinstance(result, Violation)
    assert result.part == (0, 2, 3)


def test_malformed_operations_are_rejected() -> None:
    backwards = History((Operation(0, "a", ("read",), None, invoke=5, complete=4),))
    with pytest.raises(ValueError, match="before invoked"):
        check(backwards, cas_register())


# --- partition_by_keys -----------------------------------------------------------------------------


def _keyed(keys: Sequence[Any]) -> list[Operation]:
    return [Operation(i, i, ("op", k), None, i, i + 1) for i, k in enumerate(keys)]


def _ids(parts: list[list[Operation]]) -> list[list[int]]:
    return [[op.id for op in part] for part in parts]


def test_partition_by_keys_components() -> None:
    ops = _keyed([("a",), ("b",), ("a", "c"), ("c",), ("d",), ()])
    parts = partition_by_keys(ops, lambda op: op.call[1])
    assert _ids(parts) == [[0, 2, 3], [1], [4], [5]]


def test_partition_by_keys_everything_and_links() -> None:
    ops = _keyed([("a",), ("b",), None, ("c",)])
    assert _ids(partition_by_keys(ops, lambda op: op.call[1])) == [[0, 1, 2, 3]]
    ops = _keyed([("a",), ("b",), ("c",)])
    assert _ids(partition_by_keys(ops, lambda op: op.call[1], links=[(0, 2), (1, 99)])) == [[0, 2], [1]]


# --- random histories ------------------------------------------------------------------------------


@st.composite
def sequential_runs(draw: st.DrawFn, model_name: str) -> tuple[History, Model[Any]]:
    """Run a model sequentially and spread the operations over random overlapping intervals.

    Operation i takes effect at time 10*i; its interval contains that point, so the generation
    order is a linearization.  Some operations are made INFO (their effect kept); some INFO
    operations that never took effect are added.
    """
    model = {"register": cas_register(), "kv": kv()}[model_name]
    count = draw(st.integers(1, 14))
    state = model.init()
    ops: list[Operation] = []
    for i in range(count):
        if model_name == "register":
            call = draw(
                st.one_of(
                    st.just(("read",)),
                    st.tuples(st.just("write"), st.integers(0, 3)),
                    st.tuples(st.just("cas"), st.integers(0, 3), st.integers(0, 3)),
                )
            )
        else:
            key = draw(st.sampled_from("xy"))
            call = draw(
                st.one_of(
                    st.just(("get", key)),
                    st.tuples(st.just("put"), st.just(key), st.sampled_from(["a", "b"])),
                    st.tuples(st.just("append"), st.just(key), st.sampled_from(["a", "b"])),
                )
            )
        result = _observe(state, call)
        probe = Operation(i, "p", call, result, 0, 0)
        next_state = model.step(state, probe)
        assert next_state is not None
        state = next_state
        point = 10 * i + 5
        invoke = point - draw(st.integers(0, 25))
        if draw(st.integers(0, 5)) == 0:
            ops.append(Operation(i, f"c{i}", call, None, invoke, None, INFO))
        else:
            ops.append(Operation(i, f"c{i}", call, result, invoke, point + draw(st.integers(0, 25))))
    for extra in range(draw(st.integers(0, 2))):
        call = ("write", 7) if model_name == "register" else ("put", "x", "zz")
        ops.append(Operation(count + extra, "lost", call, None, draw(st.integers(0, 10 * count)), None, INFO))
    return History(tuple(ops)), model


def _observe(state: Any, call: tuple[Any, ...]) -> Any:
    """What a definite operation returns in ``state`` (the result the model must accept)."""
    kind = call[0]
    if kind == "read":
        return state[0]
    if kind == "cas":
        return state[0] == call[1]
    if kind == "get":
        return state.get(call[1], "")
    return None


@given(st.sampled_from(["register", "kv"]).flatmap(sequential_runs))
def test_sequential_runs_are_linearizable(run: tuple[History, Model[Any]]) -> None:
    h, model = run
    result = check(h, model)
    assert isinstance(result, Linearizable)
    assert_witness_valid(h, model, result)
    plain = check(h, plain_search(model))
    assert isinstance(plain, Linearizable)
    assert_witness_valid(h, model, plain)


@given(st.sampled_from(["register", "kv"]).flatmap(sequential_runs), st.data())
def test_a_read_of_a_value_never_written_is_a_violation(run: tuple[History, Model[Any]], data: st.DataObject) -> None:
    h, model = run
    reads = [op for op in h if op.definite and op.call[0] in ("read", "get")]
    if not reads:
        return
    victim = data.draw(st.sampled_from(reads))
    never = 99 if victim.call[0] == "read" else "never written"
    corrupted = History(tuple(dataclasses.replace(op, result=never) if op.id == victim.id else op for op in h))
    assert isinstance(check(corrupted, model), Violation)
    searched = check(corrupted, without_precheck(model))
    assert isinstance(searched, Violation)
    assert victim.id in searched.part


# --- against a brute-force oracle ------------------------------------------------------------------


def brute_force_linearizable(ops: Sequence[Operation], model: Model[Any]) -> bool:
    """Try every order (and every subset of INFO operations): the definition, exponentially."""
    ops = [op for op in ops if op.outcome is not FAIL]

    def extend(state: Hashable, placed: frozenset[int]) -> bool:
        if all(op.id in placed for op in ops if op.outcome is OK):
            return True
        for op in ops:
            if op.id in placed:
                continue
            blocked = any(
                other.id not in placed and other.complete is not None and other.complete < op.invoke
                for other in ops
            )
            if blocked:
                continue
            after = model.step(state, op)
            if after is not None and extend(after, placed | {op.id}):
                return True
        return False

    return extend(model.init(), frozenset())


@st.composite
def random_histories(draw: st.DrawFn) -> tuple[History, Model[Any]]:
    """Small histories with arbitrary (mostly wrong) results, INFO and FAIL operations."""
    model_name = draw(st.sampled_from(["register", "cas", "kv"]))
    model = {"register": register(), "cas": cas_register(), "kv": kv_single()}[model_name]
    ops = []
    for i in range(draw(st.integers(1, 6))):
        if model_name == "kv":
            key = draw(st.sampled_from("xy"))
            call = draw(st.sampled_from([("get", key), ("put", key, "a"), ("append", key, "b")]))
            result = draw(st.sampled_from(["", "a", "ab", "b", "abb"])) if call[0] == "get" else None
        else:
            kinds = ["read", "write", "cas"] if model_name == "cas" else ["read", "write"]
            kind = draw(st.sampled_from(kinds))
            if kind == "read":
                call, result = ("read",), draw(st.sampled_from([None, 1, 2]))
            elif kind == "write":
                call, result = ("write", draw(st.integers(1, 2))), None
            else:
                call, result = ("cas", draw(st.sampled_from([None, 1, 2])), draw(st.integers(1, 2))), draw(st.booleans())
        invoke = draw(st.integers(0, 12))
        outcome = draw(st.sampled_from([OK, OK, OK, OK, INFO, FAIL]))
        complete = None if outcome is INFO else invoke + draw(st.integers(0, 6))
        ops.append(Operation(i, i, call, result if outcome is OK else None, invoke, complete, outcome))
    return History(tuple(ops)), model


@given(random_histories())
def test_agrees_with_brute_force(case: tuple[History, Model[Any]]) -> None:
    h, model = case
    expected = brute_force_linearizable(list(h), model)
    for variant in (model, plain_search(model), without_precheck(model)):
        result = check(h, variant)
        assert isinstance(result, Linearizable) == expected, variant
        assert isinstance(result, Violation) != expected
        if isinstance(result, Linearizable):
            assert_witness_valid(h, model, result)


# --- budgets ---------------------------------------------------------------------------------------


def hard_history(writers: int = 9) -> History:
    """Concurrent writes of distinct values and reads that pin none of them down: many orders."""
    specs: list[tuple[Any, ...]] = [(f"w{i}", ("write", i), None, 0, 100) for i in range(writers)]
    specs += [(f"r{i}", ("read",), i, 1 + i, 100) for i in range(writers)]
    specs.append(("late", ("read",), 99, 101, 102))  # impossible, found only after the whole search
    return history(*specs)


def test_tiny_state_budget_gives_unknown() -> None:
    h = hard_history()
    result = check(h, plain_search(cas_register()), max_states=50)
    assert isinstance(result, Unknown)
    assert result.parts_total == 1 and result.parts_checked == 0
    assert result.states_explored <= 50
    assert "state budget" in result.reason


def test_the_default_budget_grows_with_the_history(monkeypatch: pytest.MonkeyPatch) -> None:
    """A history whose operations never overlap still memoises one configuration per operation, so
    a fixed default budget made every long enough history Unknown (bench/scale.py: a 1M-operation
    cas register).  The default now grows with the history; a budget given is kept."""
    monkeypatch.setattr(importlib.import_module("redlin.search.check"), "DEFAULT_MAX_STATES", 100)
    specs: list[tuple[Any, ...]] = []
    for i in range(400):  # one after another; cas keeps the fast path out, so the search runs
        specs.append((f"c{i}", ("cas", i, i + 1), True, 2 * i, 2 * i + 1))
    h = history(("w", ("write", 0), None, -2, 0), *specs)  # overlapping the first cas: real time forces no order
    assert isinstance(check(h, cas_register()), Linearizable)
    given_budget = check(h, cas_register(), max_states=100)
    assert isinstance(given_budget, Unknown) and "state budget of 100 " in given_budget.reason


def test_zero_time_limit_gives_unknown() -> None:
    result = check(hard_history(), plain_search(cas_register()), time_limit=0)
    assert isinstance(result, Unknown)
    assert "time limit" in result.reason


def test_budget_never_changes_a_verdict() -> None:
    h = hard_history(6)
    model = plain_search(cas_register())
    full = check(h, model)
    assert isinstance(full, Violation)
    for budget in (1, 10, 100, 1000, 10_000):
        result = check(h, model, max_states=budget)
        assert isinstance(result, Unknown | Violation), budget


def two_parts(hard_size: int) -> History:
    """Part "x": concurrent puts and gets, then an impossible get, found only after trying every
    order of the puts (35,000 configurations for 8 of them).  Part "y", larger (so searched
    second) but plainly wrong: a stale get, repeated."""
    hard = [(f"w{i}", ("put", "x", str(i)), None, 0, 100) for i in range(hard_size)]
    hard += [(f"r{i}", ("get", "x"), str(i), 1 + i, 100) for i in range(hard_size)]
    hard.append(("late", ("get", "x"), "nope", 101, 102))
    stale = [("a", ("put", "y", "1"), None, 0, 1), ("a", ("put", "y", "2"), None, 2, 3), ("a", ("get", "y"), "1", 4, 5)]
    wrong = [(c, call, r, 10 * n + t, 10 * n + t2) for n in range(8) for c, call, r, t, t2 in stale]
    return history(*hard, *wrong)


def test_an_unknown_part_does_not_hide_a_violation_elsewhere() -> None:
    h = two_parts(8)
    model = plain_search(kv())
    hard_part = tuple(range(17))
    alone = check(History(tuple(op for op in h if op.id in hard_part)), model, max_states=200)
    assert isinstance(alone, Unknown)
    result = check(h, model, max_states=200)
    assert isinstance(result, Violation)
    assert result.part == tuple(range(17, len(h)))


def test_rounds_find_an_easy_violation_behind_a_hard_part() -> None:
    # With the default budget, the hard part gets a small first round only, then the easy
    # violation settles the verdict: far fewer configurations than the hard part alone needs.
    result = check(two_parts(8), plain_search(kv()))
    assert isinstance(result, Violation)
    assert result.part[0] == 17
    assert result.states_explored < 20_000


# --- resumable searches, the collector, the documentation ------------------------------------------


def test_a_suspended_search_resumes_where_it_stopped() -> None:
    h = hard_history(6)
    model = plain_search(cas_register())
    ops = list(h)
    whole = search_part(ops, model, deadline=None, max_states=10**6)
    with cyclic_gc_paused() as collect_young:
        search = PartSearch(ops, model, deadline=None, collect_young=collect_young)
        assert search.run(10) is None and search.explored == 10
        assert search.run(5) is None and search.explored == 10  # a smaller budget: nothing to do
        outcome = search.run(10**6)
    assert outcome == whole
    with pytest.raises(RuntimeError):
        search.run(10)


def test_the_collector_is_paused_only_during_a_check() -> None:
    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    check(hard_history(4), cas_register())
    assert gc.isenabled()
    gc.disable()
    try:
        check(hard_history(4), cas_register())
        assert not gc.isenabled(), "a user's choice to disable it is kept"
    finally:
        gc.enable()


@pytest.mark.parametrize("module", ["search.check", "search.minimise", "search.model", "history.importers"])
def test_docstring_examples(module: str) -> None:
    failed, attempted = doctest.testmod(importlib.import_module(f"redlin.{module}"))
    assert attempted and not failed


def _limited_kv() -> Model[Any]:
    """kv, but a put of the value "forever" cannot be evaluated (like a script that never ends)."""
    base = kv()

    def step(state: Any, op: Operation) -> Any:
        if op.call[0] == "put" and op.call[2] == "forever":
            raise ModelLimit("a script ran more than 100 million Lua instructions")
        return base.step(state, op)

    return dataclasses.replace(base, step=step)


def test_a_model_limit_leaves_its_part_undecided_not_guessed() -> None:
    ops = (Operation(0, 1, ("put", "a", "forever"), None, 0, 1),
           Operation(1, 2, ("get", "a"), "", 2, 3),
           Operation(2, 3, ("put", "b", "x"), None, 0, 1),
           Operation(3, 4, ("get", "b"), "x", 2, 3))
    result = check(History(ops), _limited_kv())
    assert isinstance(result, Unknown)
    assert "could not evaluate" in result.reason and "100 million" in result.reason
    assert result.parts_checked == 1 and result.parts_total == 2


def test_a_model_limit_does_not_hide_a_violation_elsewhere() -> None:
    ops = (Operation(0, 1, ("put", "a", "forever"), None, 0, 1),
           Operation(1, 2, ("put", "b", "x"), None, 0, 1),
           Operation(2, 3, ("get", "b"), "y", 2, 3))
    result = check(History(ops), _limited_kv())
    assert isinstance(result, Violation) and result.operation == 2
