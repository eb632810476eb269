"""The string fast path on Redis histories (redlin.adapter.strings, the view of SET, APPEND and GET
that redlin.search.appends reads) against the search: random one-key histories whose replies are
Redis's own (APPEND's lengths, SET's OK, GET's nil), and the view's refusals of any other shape."""

from __future__ import annotations

import random
from collections.abc import Callable
from types import ModuleType
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from redis_histories import Span, effect_order, random_span

from redlin import History, Operation, Outcome, Violation, check, redis_model
from redlin.adapter.strings import redis_append_access
from redlin.model import NULL, OK, QUEUED
from redlin.model._reply import Error
from redlin.search.fastpath import fast_decision
from redlin.search.wgl import Linearized, OutOfBudget, Stuck, search_part

MODEL = redis_model()


def simulated(pick: Callable[[int, int], int], *, unique: bool) -> list[Operation]:
    """One key's SET, APPEND and GET, each taking effect at a random point of its interval, with
    the replies Redis gives there (INFO operations maybe never take effect); then some GETs may be
    given another string the key held at some point, which the history may or may not survive."""
    count = pick(1, 9)
    calls: list[tuple[bytes, ...]] = []
    spans: list[Span] = []
    for index in range(count):
        kind = (b"GET", b"SET", b"APPEND")[pick(0, 2)]
        token = b"<%d>" % (index if unique else pick(0, 2))
        calls.append((b"GET", b"k") if kind == b"GET" else (kind, b"k", token))
        spans.append(random_span(pick, info_one_in=5))
    state, seen, replies = b"", [b""], [None] * count
    for index in effect_order(spans):
        argv = calls[index]
        if argv[0] == b"GET":
            replies[index] = state or None
        else:
            state = argv[2] if argv[0] == b"SET" else state + argv[2]
            replies[index] = OK if argv[0] == b"SET" else len(state)
            seen.append(state)
    ops = []
    for index, argv in enumerate(calls):
        invoke, complete, _ = spans[index]
        reply: Any = replies[index]
        if argv[0] == b"GET" and complete is not None and pick(0, 2) == 0:
            reply = seen[pick(0, len(seen) - 1)] or None
        outcome = Outcome.OK if complete is not None else Outcome.INFO
        ops.append(Operation(index, index, (argv,), (reply,) if complete is not None else None,
                             invoke, complete, outcome))
    return ops


def search_says_linearizable(ops: list[Operation]) -> bool:
    outcome = search_part(ops, MODEL, deadline=None, max_states=1_000_000)
    assert not isinstance(outcome, OutOfBudget)
    return isinstance(outcome, Linearized)


def agrees(ops: list[Operation]) -> tuple[bool, bool]:
    """The fast path's decision is the search's whenever it gives one; (whether the search
    linearizes ``ops``, whether the fast path decided).  Unlike the kv store's, a Redis history may
    be left to the search even with unique values: APPEND's lengths say more than the strings read
    (an append nobody read, placed where the strings allow, may not have the length it replied)."""
    expected = search_says_linearizable(ops)
    decided = fast_decision(ops, MODEL)
    if decided is not None:
        assert isinstance(decided, Linearized) == expected, (decided, ops)
    elif expected and _appends_only(ops):
        raise AssertionError(f"unique appends, all definite, and no SET: the lengths order the unread ones: {ops}")
    return expected, decided is not None


def _appends_only(ops: list[Operation]) -> bool:
    """Definite APPENDs of unique values and GETs: the fast path decides every such part it can
    linearize, since an append nobody read follows every read and every append read, in the order
    of the lengths it made (an indeterminate one, left out, may have made a length another shows)."""
    writes = [op.call[0][2] for op in ops if op.call[0][0] != b"GET"]
    return (all(op.outcome is Outcome.OK for op in ops) and len(set(writes)) == len(writes)
            and all(op.call[0][0] in (b"GET", b"APPEND") for op in ops))


@given(st.data())
def test_the_fast_path_says_what_the_search_says_when_it_decides(data: st.DataObject) -> None:
    agrees(simulated(lambda lo, hi: data.draw(st.integers(lo, hi)), unique=True))


def test_a_seeded_sweep_decides_both_verdicts_and_refutes_without_a_replay() -> None:
    rng = random.Random(11)
    verdicts = {True: 0, False: 0}
    decided = refuted = appends_only = 0
    for round_ in range(2000):
        unique = round_ % 2 == 0
        ops = simulated(rng.randint, unique=unique)
        expected, fast = agrees(ops)
        verdicts[expected] += 1
        decided += fast
        appends_only += expected and _appends_only(ops) and any(op.call[0][0] == b"GET" for op in ops)
        outcome = fast_decision(ops, MODEL)
        refuted += isinstance(outcome, Stuck) and bool(outcome.proof)  # a stale read or a fork, proved
    assert min(verdicts.values()) > 250 and decided > 1200 and refuted > 50 and appends_only > 50, (
        verdicts, decided, refuted, appends_only)


def test_the_appends_nobody_read_follow_the_lengths_they_made() -> None:
    # Two appends nobody read, the later one (by its length) invoked first: real time alone would
    # put it first, and its length then would not be the one it replied (APPEND's reply is the new
    # length: redis-semantics D7).
    ops = [Operation(0, "a", ((b"APPEND", b"k", b"ab"),), (2,), 0, 1),
           Operation(1, "b", ((b"GET", b"k"),), (b"ab",), 2, 3),
           Operation(2, "c", ((b"APPEND", b"k", b"cd"),), (6,), 4, 12),
           Operation(3, "d", ((b"APPEND", b"k", b"ef"),), (4,), 5, 11)]
    decided = fast_decision(ops, MODEL)
    assert isinstance(decided, Linearized) and decided.order == (0, 1, 3, 2)


def _op(argv: tuple[bytes, ...], reply: Any, outcome: Outcome = Outcome.OK) -> Operation:
    return Operation(0, "a", (argv,), (reply,) if outcome is Outcome.OK else None, 0, 1, outcome)


def test_the_view_takes_only_what_redis_says_succeeded() -> None:
    # APPEND replies the new length, and WRONGTYPE on another type (redis-semantics D7).
    assert redis_append_access(_op((b"SET", b"k", b"v"), OK)) == ("put", b"k", "v", None)
    assert redis_append_access(_op((b"append", b"k", b"\xff"), 1)) == ("append", b"k", "\xff", 1)  # a byte a char
    assert redis_append_access(_op((b"GET", b"k"), NULL)) == ("read", b"k", "", None)  # RESP3's nil
    assert redis_append_access(_op((b"GET", b"k"), b"ab")) == ("read", b"k", "ab", None)
    assert redis_append_access(_op((b"APPEND", b"k", b"v"), None, Outcome.INFO)) == ("append", b"k", "v", None)
    refused = [
        _op((b"SET", b"k", b"v"), Error("OOM command not allowed when used memory > 'maxmemory'.")),
        _op((b"APPEND", b"k", b"v"), Error("WRONGTYPE Operation against a key holding the wrong kind of value")),
        _op((b"GET", b"k"), Error("WRONGTYPE Operation against a key holding the wrong kind of value")),
        _op((b"SET", b"k", b"v"), QUEUED),  # not the success of a SET
        _op((b"SET", b"k", b"v", b"NX"), OK),
        _op((b"GETSET", b"k", b"v"), None),
        _op((b"GET", b"k", b"x"), None),
    ]
    for op in refused:
        assert redis_append_access(op) is None, op
    block = Operation(0, "a", ((b"MULTI",), (b"APPEND", b"k", b"v"), (b"EXEC",)), (OK, QUEUED, (1,)), 0, 1)
    assert redis_append_access(block) is None


def test_a_many_key_append_history_is_checked_without_a_search(bench: ModuleType) -> None:
    # bench/parallel.py's history read by GET (the fast path's) and by GETRANGE 0 -1 (the search's).
    many_key_history = bench.many_key_history
    good = check(many_key_history(4, 6, 20, whole_get=True), MODEL)
    assert good.verdict == "linearizable" and good.states_explored == 0
    stale = many_key_history(4, 6, 20, stale=True, whole_get=True)
    bad = check(stale, MODEL)
    assert isinstance(bad, Violation) and bad.states_explored == 0
    assert search_says_linearizable([op for op in stale if op.id in bad.part]) is False
    searched = check(many_key_history(4, 6, 20, stale=True), MODEL)
    assert isinstance(searched, Violation) and searched.states_explored > 0


def test_a_history_of_another_key_or_command_in_the_part_is_left_alone() -> None:
    ops = [Operation(0, "a", ((b"APPEND", b"k", b"x"),), (1,), 0, 3),
           Operation(1, "b", ((b"APPEND", b"k", b"y"),), (2,), 1, 4),
           Operation(2, "c", ((b"INCR", b"k"),), (Error("ERR value is not an integer or out of range"),), 2, 5)]
    assert fast_decision(ops, MODEL) is None
    assert check(History(tuple(ops)), MODEL).verdict == "linearizable"
