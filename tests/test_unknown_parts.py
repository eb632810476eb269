"""An Unknown result carries the check's parts, so its report does not split the history again (issue #15).

A million-operation history that ran out of time spent 12 more seconds in its report splitting the
history again (the Unknown result named no parts), and so overran ``--time-limit``.  Now check(),
check_parallel() and the pieces of a ``redlin run`` history all give the Unknown the parts the check
used (in the whole history's ids), and the report lists those.
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from redlin import History, Unknown, check, redis_model
from redlin.adapter.run_pieces import check_pieces
from redlin.report.write import result_document
from redlin.search import parallel
from redlin.search.parallel import check_parallel

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench() -> Any:
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(ROOT / "bench"))
        module: ModuleType = importlib.import_module("parallel")
        yield module


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
