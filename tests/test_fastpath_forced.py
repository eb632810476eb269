"""Parts whose order real time forces (redlin.search.forced) against the search: random histories of
operations that never overlap, for the cas register, the kv store and the Redis model; and the
shapes the forced path must leave alone (an overlap, a tie, an indeterminate operation)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redlin import (
    History,
    Linearizable,
    Operation,
    Outcome,
    Violation,
    cas_register,
    check,
    kv,
    kv_single,
    load_porcupine_kv,
    redis_model,
)
from redlin.search.fastpath import fast_decision
from redlin.search.forced import forced_decision, forced_order, replay_as_listed
from redlin.search.model import Model
from redlin.search.wgl import Linearized, OutOfBudget, Stuck, search_part

PORCUPINE = Path(__file__).resolve().parents[2] / "shared" / "data" / "porcupine" / "kv"
Pick = Callable[[int, int], int]


def _cas_call(pick: Pick) -> tuple[Any, ...]:
    kind = pick(0, 2)
    return ("read",) if kind == 0 else ("write", pick(0, 2)) if kind == 1 else ("cas", pick(0, 2), pick(0, 2))


def _cas_result(call: tuple[Any, ...], pick: Pick) -> Any:
    return pick(0, 2) if call[0] == "read" else pick(0, 1) == 0 if call[0] == "cas" else None


def _kv_call(pick: Pick) -> tuple[Any, ...]:
    kind = ("get", "put", "append")[pick(0, 2)]
    return ("get", "k") if kind == "get" else (kind, "k", "ab"[pick(0, 1)])


def _kv_result(call: tuple[Any, ...], pick: Pick) -> Any:
    return ("", "a", "b", "ab", "ba", "aa")[pick(0, 5)] if call[0] == "get" else None


def _redis_call(pick: Pick) -> tuple[Any, ...]:
    kind = pick(0, 3)
    argv = ((b"GET", b"k"), (b"SET", b"k", b"12"[pick(0, 1):][:1]), (b"INCR", b"k"), (b"DEL", b"k"))[kind]
    return (argv,)


def _redis_result(call: tuple[Any, ...], pick: Pick) -> Any:
    name = call[0][0]
    if name == b"GET":
        return ((None, b"1", b"2", b"3")[pick(0, 3)],)
    if name == b"SET":
        return ("OK",)
    return (pick(0, 3),)


FORMATS: dict[str, tuple[Callable[[], Model[Any]], Callable[[Pick], tuple[Any, ...]], Callable[..., Any]]] = {
    "cas-register": (cas_register, _cas_call, _cas_result),
    "kv": (kv, _kv_call, _kv_result),
    "redis": (lambda: redis_model(partitioned=False), _redis_call, _redis_result),
}


def one_after_another(pick: Pick, name: str) -> list[Operation]:
    """Operations of one client or several, each completing before the next begins (a gap of zero
    or more), with replies either what the model replies (so the history may well be linearizable)
    or drawn at random; listed in a shuffled order, which the forced path must sort."""
    make_model, call_of, result_of = FORMATS[name]
    model = make_model()
    count = pick(1, 8)
    ops: list[Operation] = []
    state = model.init()
    clock = 0
    for index in range(count):
        call = call_of(pick)
        invoke = clock + pick(0, 2)
        complete = invoke + pick(0, 2)
        clock = complete + 1
        result = result_of(call, pick)
        op = Operation(index, pick(0, 2), call, result, invoke, complete, Outcome.OK)
        if pick(0, 2):  # most replies are the model's own
            for candidate in (result_of(call, lambda lo, hi, v=v: v) for v in range(4)):
                trial = Operation(index, op.client, call, candidate, invoke, complete, Outcome.OK)
                if model.step(state, trial) is not None:
                    op = trial
                    break
        after = model.step(state, op)
        state = after if after is not None else state
        ops.append(op)
    order = list(range(count))
    for position in range(count - 1, 0, -1):
        other = pick(0, position)
        order[position], order[other] = order[other], order[position]
    return [ops[i] for i in order]


def agree(ops: list[Operation], name: str) -> bool:
    model = FORMATS[name][0]()
    searched = search_part(ops, model, deadline=None, max_states=1_000_000)
    assert not isinstance(searched, OutOfBudget)
    forced = forced_decision(ops, model)
    assert forced is not None, "operations that never overlap: real time forces their order"
    assert isinstance(forced, Linearized) == isinstance(searched, Linearized), (name, ops)
    if isinstance(forced, Stuck):
        assert isinstance(searched, Stuck) and forced.operation == searched.operation, (name, ops)
        # The prefix is the one real time forces, each state the model's own after its operation.
        (prefix,) = forced.prefixes
        by_id = {op.id: op for op in ops}
        state = model.init()
        for op_id, after in prefix:
            state = model.step(state, by_id[op_id])
            assert state == after
        assert model.step(state, by_id[forced.operation]) is None
    else:
        assert isinstance(forced, Linearized)
        assert list(forced.order) == [op.id for op in sorted(ops, key=lambda op: op.invoke)]
    return isinstance(forced, Linearized)


@given(st.data(), st.sampled_from(sorted(FORMATS)))
def test_the_forced_order_agrees_with_the_search(data: st.DataObject, name: str) -> None:
    ops = one_after_another(lambda lo, hi: data.draw(st.integers(lo, hi)), name)
    agree(ops, name)


def sweep(seed: int, trials: int, names: list[str], agrees: Callable[[Pick, str], bool]) -> None:
    """``agrees(pick, name)`` on ``trials`` seeded histories, the names in turn: each name must see
    both verdicts (``agrees`` says whether the history was linearizable)."""
    rng = random.Random(seed)
    verdicts: dict[str, set[bool]] = {name: set() for name in names}
    for trial in range(trials):
        name = names[trial % len(names)]
        verdicts[name].add(agrees(rng.randint, name))
    assert all(seen == {True, False} for seen in verdicts.values()), verdicts


def test_a_seeded_sweep_agrees_and_mixes_both_verdicts() -> None:
    sweep(15, 1500, sorted(FORMATS), lambda pick, name: agree(one_after_another(pick, name), name))


def test_what_real_time_does_not_order_is_left_alone() -> None:
    write = Operation(0, "a", ("write", 1), None, invoke=0, complete=2)
    overlapping = Operation(1, "b", ("read",), 1, invoke=1, complete=3)
    tie = Operation(1, "b", ("read",), 1, invoke=2, complete=3)  # began as the write completed
    indeterminate = Operation(1, "b", ("write", 2), None, invoke=3, complete=None, outcome=Outcome.INFO)
    after = Operation(1, "b", ("read",), 1, invoke=3, complete=4)
    for ops in ([write, overlapping], [write, tie], [write, indeterminate]):
        assert forced_order(ops) is None and forced_decision(ops, cas_register()) is None
    assert forced_order([after, write]) == [write, after]  # listed out of order, yet forced
    late = Operation(2, "c", ("write", 3), None, invoke=5, complete=None, outcome=Outcome.INFO)
    assert forced_order([after, write, late]) is None  # out of order, and one of them indeterminate


def test_a_model_limit_leaves_the_part_to_the_search() -> None:
    # A script the model refuses to run past its instruction limit: the search says why, not us.
    looping = ((b"EVAL", b"while true do end", b"0"),)
    ops = [Operation(0, "a", looping, (None,), invoke=0, complete=1)]
    model = redis_model(partitioned=False)
    assert forced_order(ops) is not None
    assert forced_decision(ops, model) is None


@pytest.mark.skipif(not PORCUPINE.is_dir(), reason="the shared Porcupine histories are not here")
def test_porcupine_single_client_files_need_no_search() -> None:
    good = check(load_porcupine_kv(PORCUPINE / "c01-ok.txt"), kv())
    assert isinstance(good, Linearizable) and good.states_explored == 0
    bad_history = load_porcupine_kv(PORCUPINE / "c01-bad.txt")
    bad = check(bad_history, kv())
    assert isinstance(bad, Violation) and bad.states_explored == 0
    # The refused read, after the prefix real time forces: the one the search names.
    searched = search_part([op for op in bad_history if op.id in bad.part], kv(), deadline=None, max_states=10_000)
    assert isinstance(searched, Stuck) and searched.operation == bad.operation
    assert [op_id for op_id, _ in bad.prefixes[0]] == sorted(
        (op_id for op_id in bad.part if bad_history[op_id].invoke < bad_history[bad.operation].invoke),
        key=lambda op_id: bad_history[op_id].invoke)


def test_the_fast_paths_own_proofs_come_first() -> None:
    # One client's stale read of a value never written: the pre-check's words, not a refused prefix.
    ops = [Operation(0, "a", ("put", "k", "x"), None, invoke=0, complete=1),
           Operation(1, "a", ("get", "k"), "never", invoke=2, complete=3)]
    decided = fast_decision(ops, kv())
    assert isinstance(decided, Stuck) and decided.operation == 1 and decided.prefixes == ()
    result = check(History(tuple(ops)), kv())
    assert isinstance(result, Violation) and result.prefixes == ()


def _many_keys(pick: Pick, name: str) -> list[Operation]:
    """One client's operations on up to three keys, listed in real-time order: the history that
    :func:`~redlin.search.forced.replay_as_listed` checks in one replay, whatever the parts."""
    key = (b"k", b"m", b"n") if name == "redis" else ("k", "m", "n")
    ops = sorted(one_after_another(pick, name), key=lambda op: op.invoke)
    keyed = []
    for position, op in enumerate(ops):
        chosen = key[pick(0, 2)]
        if name == "redis":
            call: tuple[Any, ...] = (op.call[0][:1] + (chosen,) + op.call[0][2:],)
        else:
            call = (op.call[0], chosen) + op.call[2:]
        keyed.append(Operation(position, "a", call, op.result, op.invoke, op.complete, Outcome.OK))
    return keyed


WHOLE = {"kv": (kv, kv_single), "redis": (redis_model, lambda: redis_model(partitioned=False))}


def one_client_agrees(ops: list[Operation], name: str) -> bool:
    """``check`` with the parts' model (one replay of the whole, the parts named after) against the
    same model unsplit: the same verdict, the refused operation's part named, and each part's
    witness its operations in real-time order, which the model accepts."""
    split, whole = (make() for make in WHOLE[name])
    history = History(tuple(ops))
    result, reference = check(history, split), check(history, whole)
    assert result.verdict == reference.verdict, (name, ops, result, reference)
    by_id = {op.id: op for op in ops}
    parts = split.partition(ops)
    assert split.partition is not None and parts is not None
    if isinstance(result, Linearizable):
        assert sorted(result.parts) == sorted(tuple(op.id for op in part) for part in parts)
        for order in result.witness:
            assert [by_id[i].invoke for i in order] == sorted(by_id[i].invoke for i in order)
            state = split.init()
            for i in order:
                state = split.step(state, by_id[i])
                assert state is not None, (name, ops, order)
    else:
        assert isinstance(result, Violation) and result.operation in result.part
        assert result.states_explored == 0, "decided by the one replay and the refused part's fast paths"
    return isinstance(result, Linearizable)


@given(st.data(), st.sampled_from(sorted(WHOLE)))
def test_one_clients_history_is_checked_in_one_replay_with_the_parts_verdict(data: st.DataObject, name: str) -> None:
    one_client_agrees(_many_keys(lambda lo, hi: data.draw(st.integers(lo, hi)), name), name)


def test_a_seeded_sweep_of_one_clients_histories_mixes_both_verdicts() -> None:
    sweep(7, 600, sorted(WHOLE), lambda pick, name: one_client_agrees(_many_keys(pick, name), name))


def test_a_part_the_split_reorders_is_ordered_by_real_time_in_the_witness() -> None:
    # A partition that lists each part backwards: the one replay cannot name the parts' witnesses
    # as listed, so the parts are checked one by one, each witness in real-time order.
    base = kv()
    backwards = Model(name="kv-backwards", init=base.init, step=base.step,
                      partition=lambda ops: [part[::-1] for part in base.partition(ops)])  # type: ignore[misc]
    ops = [Operation(0, "a", ("put", "k", "1"), None, invoke=0, complete=1),
           Operation(1, "a", ("put", "m", "2"), None, invoke=2, complete=3),
           Operation(2, "a", ("get", "k"), "1", invoke=4, complete=5),
           Operation(3, "a", ("append", "m", "3"), None, invoke=6, complete=7)]
    result = check(History(tuple(ops)), backwards)
    assert isinstance(result, Linearizable)
    assert sorted(result.witness) == [(0, 2), (1, 3)]


class _Cycle:
    """An object in a reference cycle, counting how many of its kind are alive."""

    alive = 0

    def __init__(self) -> None:
        self.me = self
        _Cycle.alive += 1

    def __del__(self) -> None:
        _Cycle.alive -= 1


def test_one_long_replay_collects_the_cycles_a_models_steps_make() -> None:
    # The collector is paused during a check; the one replay of a long single-client history
    # collects the youngest generation itself, so a model whose steps make cycles stays bounded.
    base = kv()
    most_alive = [0]

    def step(state: Any, op: Operation) -> Any:
        _Cycle()
        most_alive[0] = max(most_alive[0], _Cycle.alive)
        return base.step(state, op)

    cycling = Model(name="kv-cycling", init=base.init, step=step, partition=base.partition)
    ops = tuple(Operation(i, "a", ("put", f"k{i % 50}", str(i)), None, invoke=2 * i, complete=2 * i + 1)
                for i in range(20_000))
    assert isinstance(check(History(ops), cycling), Linearizable)
    assert most_alive[0] <= 5_000, most_alive[0]


def test_the_one_replay_stops_at_the_deadline() -> None:
    # A long single-client history whose model takes its time: past the time limit the check says
    # unknown, as the parts' check does, rather than replaying to the end.
    base = kv()

    def slow(state: Any, op: Operation) -> Any:
        time.sleep(0.0002)
        return base.step(state, op)

    model = Model(name="kv-slow", init=base.init, step=slow, partition=base.partition)
    ops = tuple(Operation(i, "a", ("put", f"k{i % 50}", str(i)), None, invoke=2 * i, complete=2 * i + 1)
                for i in range(20_000))  # four seconds of steps at least
    started = time.monotonic()
    result = check(History(ops), model, time_limit=0.5)
    assert result.verdict == "unknown" and time.monotonic() - started < 2.5, (result, time.monotonic() - started)
    assert replay_as_listed(ops, model, deadline=time.monotonic()) is None
