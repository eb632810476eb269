"""Unknown and Violation results carry the check's parts, so a report does not split the history again (issue #15).

A million-operation history that ran out of time spent 12 more seconds in its report splitting the
history again (the result named no parts), and so overran ``--time-limit``; one with a violation
took 64.6 s of its 60.  Now check(), check_parallel() and the pieces of a ``redlin run`` history
give their Unknown or Violation the parts the check used (in the whole history's ids; a violation in
one of several pieces names none, since the others' were never split), and the report lists those.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from redlin import History, Operation, Unknown, Violation, check, redis_model
from redlin.adapter.deliveries import receive_call
from redlin.adapter.run_pieces import check_pieces
from redlin.model import Status
from redlin.report.write import result_document
from redlin.search import parallel
from redlin.search.parallel import check_parallel


def _split(history: History) -> set[frozenset[int]]:
    model = redis_model()
    assert model.partition is not None
    return {frozenset(op.id for op in part) for part in model.partition(list(history))}


def test_check_and_check_parallel_name_their_parts(bench: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    history = bench.many_key_history(4, 16, 40, seed=1)  # seconds of checking: unknown at 0.1 s
    result = check(history, redis_model(), time_limit=0.1)
    assert isinstance(result, Unknown)
    assert {frozenset(part) for part in result.parts} == _split(history) and len(result.parts) == 4
    monkeypatch.setattr(parallel, "PROBE_SECONDS", 0)
    shared = check_parallel(history, redis_model(), jobs=2, time_limit=0.1)
    assert isinstance(shared, Unknown)
    assert {frozenset(part) for part in shared.parts} == _split(history)


def test_pieces_name_their_parts_in_the_whole_history(bench: Any) -> None:
    first, second = bench.many_key_history(4, 16, 40, seed=1), bench.many_key_history(4, 16, 40, seed=2)
    n = len(first)
    history = History((*first, *(replace(op, id=op.id + n) for op in second)))  # two runs, one file
    ids = sorted(op.id for op in history)
    pieces = [ids[:n], ids[n:]]
    model = redis_model()
    result = check_pieces(history, pieces, model, time_limit=30,
                          checker=lambda part, left: check(part, model, time_limit=0.05))  # each piece reached
    assert isinstance(result, Unknown)
    named = [op_id for part in result.parts for op_id in part]
    assert sorted(named) == ids  # every operation once, in the whole history's ids
    assert "2 of 2 runs undecided" in result.reason
    expected = set()
    for piece_ids in pieces:
        expected |= _split(History(tuple(history[i] for i in piece_ids)))
    assert {frozenset(part) for part in result.parts} == expected


def test_the_report_lists_the_unknown_parts_without_splitting_again(bench: Any) -> None:
    history = bench.many_key_history(4, 16, 40, seed=1)
    result = check(history, redis_model(), time_limit=0.1)
    assert isinstance(result, Unknown) and result.parts

    def no_split(ops: Any) -> Any:
        raise AssertionError("the report split the history again")

    model = replace(redis_model(), partition=no_split)
    document = result_document(history, model, result)
    assert [part["operations"] for part in document["parts"]] == [list(part) for part in result.parts]
    assert all(part["label"].startswith("k") for part in document["parts"])  # each part's key, k0..k3
    unknown_without_parts = replace(result, parts=())
    with pytest.raises(AssertionError, match="split the history again"):
        result_document(history, model, unknown_without_parts)


def test_a_violation_names_the_parts(bench: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    history = bench.many_key_history(4, 4, 20, seed=1, stale=True)
    result = check(history, redis_model())
    assert isinstance(result, Violation)
    assert {frozenset(part) for part in result.parts} == _split(history) and result.part in result.parts
    monkeypatch.setattr(parallel, "PROBE_SECONDS", 0)
    shared = check_parallel(history, redis_model(), jobs=2)
    assert isinstance(shared, Violation) and {frozenset(part) for part in shared.parts} == _split(history)


def test_a_violation_in_one_of_several_pieces_names_no_parts(bench: Any) -> None:
    good, bad = bench.many_key_history(2, 4, 10, seed=1), bench.many_key_history(2, 4, 10, seed=2, stale=True)
    n = len(good)
    history = History((*good, *(replace(op, id=op.id + n) for op in bad)))
    ids = list(range(len(history)))
    alone = check_pieces(history, [ids[n:]], redis_model())  # the bad run as the only piece: its parts
    assert isinstance(alone, Violation) and sorted(i for part in alone.parts for i in part) == ids[n:]
    both = check_pieces(history, [ids[:n], ids[n:]], redis_model())
    assert isinstance(both, Violation) and both.operation >= n and both.parts == ()


def test_the_report_lists_the_violation_parts_without_splitting_again(bench: Any) -> None:
    history = bench.many_key_history(4, 4, 20, seed=1, stale=True)
    result = check(history, redis_model())
    assert isinstance(result, Violation) and result.parts

    def no_split(ops: Any) -> Any:
        raise AssertionError("the report split the history again")

    document = result_document(history, replace(redis_model(), partition=no_split), result)
    assert [part["operations"] for part in document["parts"]] == [list(part) for part in result.parts]


def _redis(index: int, argv: tuple[bytes, ...], reply: object, invoke: int, complete: int) -> Operation:
    return Operation(index, index, (argv,), (reply,), invoke=invoke, complete=complete)


@pytest.mark.parametrize("kind", ["fast path", "read of nothing written", "phantom message"])
def test_violations_without_a_search_name_the_parts(kind: str) -> None:
    """A read of a shorter string after a longer one was read, and a read of a value nobody wrote
    (the fast paths refute both), and a message no PUBLISH sent (the pre-check, sheet P3): each
    beside a part on key b."""
    other = [_redis(0, (b"SET", b"b", b"1"), Status("OK"), 0, 1)]
    if kind == "fast path":
        ops = [_redis(1, (b"APPEND", b"a", b"x1y"), 3, 0, 1), _redis(2, (b"GET", b"a"), b"x1y", 2, 3),
               _redis(3, (b"GET", b"a"), b"", 4, 5)]
    elif kind == "read of nothing written":
        ops = [_redis(1, (b"GET", b"a"), b"never written", 0, 1)]
    else:
        frame = (b"pmessage", b"a*", b"ba", b"x")
        ops = [_redis(1, (b"PSUBSCRIBE", b"a*"), (b"psubscribe", b"a*", 1), 0, 1),
               _redis(2, (b"PUBLISH", b"ba", b"x"), 1, 2, 10),  # overlapping: no order is forced
               replace(_redis(3, receive_call(frame), frame, 3, 9), client=1)]
    history = History((*other, *ops))
    for result in (check(history, redis_model()), check_parallel(history, redis_model(), jobs=2)):
        assert isinstance(result, Violation)
        assert sorted(map(sorted, result.parts)) == [[0], sorted(op.id for op in ops)]
