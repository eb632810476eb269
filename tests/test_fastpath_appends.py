"""The string fast path (redlin.search.appends) against the search: random one-key kv histories of
puts, appends and whole-string gets, and Porcupine's kv histories, part by part."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis_histories import Span, effect_order, random_span

from redlin import History, Operation, Outcome, Violation, check, kv, load_porcupine_kv, minimise
from redlin.search import appends
from redlin.search.appends import decide_appends, kv_access, refute_appends
from redlin.search.fastpath import fast_order, replay_ok
from redlin.search.wgl import Linearized, OutOfBudget, search_part

PORCUPINE = Path(__file__).resolve().parents[2] / "shared" / "data" / "porcupine" / "kv"
MODEL = kv()


def simulated(pick: Callable[[int, int], int], *, unique: bool) -> list[Operation]:
    """A one-key history: each operation takes effect at a random point of its interval (so it is
    linearizable), INFO ones maybe never; then some gets may be given another string they could
    have read at some point, which the history may or may not survive."""
    count = pick(1, 9)
    calls: list[tuple[str, ...]] = []
    spans: list[Span] = []
    for index in range(count):
        kind = ("get", "put", "append")[pick(0, 2)]
        token = f"<{index if unique else pick(0, 2)}>"
        calls.append(("get", "k") if kind == "get" else (kind, "k", token))
        spans.append(random_span(pick, info_one_in=5))
    state, seen, results = "", [""], [None] * count
    for index in effect_order(spans):
        call = calls[index]
        if call[0] == "get":
            results[index] = state
        else:
            state = call[2] if call[0] == "put" else state + call[2]
            seen.append(state)
    ops = []
    for index, call in enumerate(calls):
        invoke, complete, _ = spans[index]
        result = results[index]
        if call[0] == "get" and complete is not None and pick(0, 2) == 0:
            result = seen[pick(0, len(seen) - 1)]
        outcome = Outcome.OK if complete is not None else Outcome.INFO
        if call[0] == "get" and result is None:
            result = ""
        ops.append(Operation(index, index, call, result, invoke, complete, outcome))
    return ops


def search_says_linearizable(ops: list[Operation]) -> bool:
    outcome = search_part(ops, MODEL, deadline=None, max_states=1_000_000)
    assert not isinstance(outcome, OutOfBudget)
    return isinstance(outcome, Linearized)


def decided(ops: list[Operation]) -> tuple[int, ...] | None:
    """The decision before its replay, which must replay whenever there is one."""
    raw = decide_appends(ops, kv_access)
    assert raw is None or replay_ok(raw, ops, MODEL), "an order the replay rejects: a bug hidden by the fallback"
    return raw


@st.composite
def unique_histories(draw: st.DrawFn) -> list[Operation]:
    return simulated(lambda lo, hi: draw(st.integers(lo, hi)), unique=True)


@given(unique_histories())
def test_with_unique_values_it_decides_exactly_what_the_search_does(ops: list[Operation]) -> None:
    assert (decided(ops) is not None) == search_says_linearizable(ops), ops


def test_a_seeded_sweep_mixes_both_verdicts_and_repeated_values() -> None:
    rng = random.Random(7)
    verdicts = {True: 0, False: 0}
    repeated_decided = refuted = 0
    for round_ in range(3000):
        unique = round_ % 2 == 0
        ops = simulated(lambda lo, hi: rng.randint(lo, hi), unique=unique)
        expected = search_says_linearizable(ops)
        verdicts[expected] += 1
        # A refutation is a proof: never of a history the search linearizes.
        pair = refute_appends(ops, kv_access)
        assert pair is None or not expected, (pair, ops)
        refuted += pair is not None
        found = decided(ops)
        if unique:
            assert (found is not None) == expected, ops
        else:
            # Repeated values: a guess, so only sound (never a "yes" the search denies).
            assert found is None or expected, ops
            repeated_decided += found is not None
    assert min(verdicts.values()) > 300 and repeated_decided > 300 and refuted > 100, (verdicts, repeated_decided,
                                                                                        refuted)


def test_reads_that_fork_or_put_in_the_middle_are_left_to_the_search() -> None:
    fork = [Operation(0, 0, ("append", "k", "a"), None, 0, 9), Operation(1, 1, ("append", "k", "b"), None, 0, 9),
            Operation(2, 2, ("get", "k"), "a", 10, 11), Operation(3, 3, ("get", "k"), "b", 12, 13)]
    assert decided(fork) is None and not search_says_linearizable(fork)
    middle = [Operation(0, 0, ("append", "k", "a"), None, 0, 1), Operation(1, 1, ("put", "k", "b"), None, 2, 3),
              Operation(2, 2, ("get", "k"), "ab", 4, 5)]
    assert decided(middle) is None and not search_says_linearizable(middle)


def test_an_unread_append_ends_an_epoch_and_an_unread_info_write_is_left_out() -> None:
    ops = [Operation(0, 0, ("append", "k", "a"), None, 0, 2), Operation(1, 1, ("append", "k", "u"), None, 1, 3),
           Operation(2, 2, ("put", "k", "p"), None, 4, 5), Operation(3, 3, ("get", "k"), "p", 6, 7),
           Operation(4, 4, ("get", "k"), "a", 1, 2), Operation(5, 5, ("append", "k", "i"), None, 0, None, Outcome.INFO)]
    order = decided(ops)
    assert order is not None and 5 not in order and order.index(1) < order.index(2)


@pytest.mark.skipif(not PORCUPINE.is_dir(), reason="the shared Porcupine histories are not there")
def test_porcupine_kv_parts_agree_with_the_search() -> None:
    decided_parts = 0
    for path in sorted(PORCUPINE.glob("*.txt")):
        recorded = [op for op in load_porcupine_kv(path) if op.outcome is not Outcome.FAIL]
        assert MODEL.partition is not None
        for part in MODEL.partition(recorded):
            if len(part) > 250:
                continue
            order = fast_order(part, MODEL)
            if order is not None:
                decided_parts += 1
                assert "bad" not in path.name or search_says_linearizable(part)
    assert decided_parts >= 20, decided_parts


def test_a_stale_read_and_a_fork_are_proved_without_a_search() -> None:
    stale = [Operation(0, 0, ("put", "k", "p"), None, 0, 1), Operation(1, 1, ("append", "k", "a"), None, 2, 3),
             Operation(2, 2, ("get", "k"), "pa", 4, 5), Operation(3, 3, ("get", "k"), "p", 6, 7)]
    assert refute_appends(stale, kv_access) == (2, 3)
    overlapping = stale[:3] + [Operation(3, 3, ("get", "k"), "p", 3, 7)]  # may be linearized first
    assert refute_appends(overlapping, kv_access) is None and search_says_linearizable(overlapping)
    again = [*stale[:3], Operation(3, 3, ("get", "k"), "p", 6, 7), Operation(4, 4, ("put", "k", "p"), None, 5, 6)]
    assert refute_appends(again, kv_access) is None  # a second put of "p" may start it again
    empty = [stale[0], Operation(1, 1, ("get", "k"), "p", 2, 3), Operation(2, 2, ("get", "k"), "", 4, 5)]
    assert refute_appends(empty, kv_access) == (1, 2)
    fork = [Operation(0, 0, ("put", "k", "p"), None, 0, 1), Operation(1, 1, ("append", "k", "a"), None, 0, 9),
            Operation(2, 2, ("append", "k", "b"), None, 0, 9), Operation(3, 3, ("get", "k"), "pa", 2, 9),
            Operation(4, 4, ("get", "k"), "pb", 2, 9)]
    assert refute_appends(fork, kv_access) == (3, 4) and not search_says_linearizable(fork)


def test_a_proved_violation_is_reported_with_its_two_reads_as_the_core() -> None:
    ops = (Operation(0, 0, ("put", "k", "p"), None, 0, 1), Operation(1, 1, ("append", "k", "a"), None, 2, 3),
           Operation(2, 2, ("get", "k"), "pa", 4, 5), Operation(3, 3, ("append", "k", "b"), None, 4, 12),
           Operation(4, 4, ("get", "k"), "p", 6, 7), Operation(5, 5, ("get", "k"), "pab", 13, 14))
    result = check(History(ops), MODEL)
    assert isinstance(result, Violation) and result.states_explored == 0
    assert (result.operation, result.proof) == (4, (2,))
    assert minimise(History(ops), MODEL, result, time_limit=10) == (2, 4)


@pytest.mark.skipif(not PORCUPINE.is_dir(), reason="the shared Porcupine histories are not there")
def test_every_bad_porcupine_kv_file_is_refuted_and_no_good_one() -> None:
    for path in sorted(PORCUPINE.glob("*.txt")):
        recorded = [op for op in load_porcupine_kv(path) if op.outcome is not Outcome.FAIL]
        assert MODEL.partition is not None
        refuted = [part for part in MODEL.partition(recorded) if refute_appends(part, kv_access) is not None]
        # c01-bad's violation is of another kind: the search finds it.
        assert len(refuted) == {"c10-bad.txt": 4, "c50-bad.txt": 10}.get(path.name, 0), path.name


def test_a_split_reuses_only_what_every_value_was_checked_against() -> None:
    # "ab" splits one way alone ("abc" does not fit), but in "abcd" both "ab" and "abc" fit at 0:
    # reusing the shorter string's split there would read "abcd" as "ab" + "cd".
    writers = {"ab": [0], "abc": [1], "cd": [2]}
    assert appends._Splitter(writers).all(["abcd", "ab"]) == {"ab": ("ab",), "abcd": None}
    longer = {"ab": [0], "cd": [2], "e": [3]}
    assert appends._Splitter(longer).all(["abcde", "ab", "abcd"]) == {
        "ab": ("ab",), "abcd": ("ab", "cd"), "abcde": ("ab", "cd", "e")}
