"""The set fast path (issue #15): a set used one member at a time is checked member by member
(:mod:`redlin.adapter.members`), and the verdicts are the search's on the whole key.

The differential test draws (with bench/sets.py's generator) concurrent histories of SADD/SREM/SISMEMBER/SMISMEMBER, linearizable
by construction (each operation takes effect at a random moment of its interval), and the same with
one reply flipped, and checks each with and without the split: same verdict, and every witness of
the split replays through the model.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from redlin import History, Operation, Outcome, check, redis_model
from redlin.adapter import partition
from redlin.adapter.members import by_member, member_of
from redlin.harness.runner import render_outcome, run
from redlin.history.jsonl import load_history
from redlin.search.result import Linearizable

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    """bench/sets.py, for its history generator."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(ROOT / "bench"))
        yield importlib.import_module("sets")
def whole_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(partition, "by_member", lambda members, keys: keys)


def parts_of(history: History) -> list[list[int]]:
    model = redis_model()
    assert model.partition is not None
    return [[op.id for op in part] for part in model.partition(list(history))]


def test_a_set_used_member_by_member_splits_by_member(bench: ModuleType) -> None:
    history = bench.set_history(1, ops=40, keys=1, members=3)
    members = {op.call[0][2] for op in history}
    assert len(parts_of(history)) == len(members) == 3
    assert all(len({history[i].call[0][2] for i in part}) == 1 for part in parts_of(history))


@pytest.mark.parametrize("other", [
    (b"SMEMBERS", b"s0"),  # a whole-set read
    (b"SADD", b"s0", b"m0", b"m1"),  # two members at once
    (b"DEL", b"s0"),  # another command on the key
    (b"EXPIRE", b"s0", b"100"),
])
def test_a_set_touched_otherwise_stays_whole(bench: ModuleType, other: tuple[bytes, ...]) -> None:
    history = bench.set_history(2, ops=30, keys=1, members=3, extra=lambda index: other if index == 7 else None)
    assert len(parts_of(history)) == 1


def test_a_transaction_on_the_set_keeps_it_whole(bench: ModuleType) -> None:
    base = bench.set_history(3, ops=20, keys=1, members=3)
    block = Operation(99, 9, ((b"MULTI",), (b"SADD", b"s0", b"m0"), (b"EXEC",)), None, invoke=0, complete=500,
                      outcome=Outcome.INFO)
    assert len(parts_of(History((*base, block)))) == 1


@pytest.mark.parametrize("seed", range(60))
def test_the_member_split_gives_the_whole_keys_verdict(bench: ModuleType, seed: int,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    reads = (lambda index: (b"SMEMBERS", b"s0") if index % 9 == 4 else None) if seed % 3 == 0 else None
    history = bench.set_history(seed, flip=seed % 2 == 1, extra=reads)  # s0 read whole in a third of them
    split = check(history, redis_model(), time_limit=30)
    with monkeypatch.context() as patch:
        whole_key(patch)
        whole = check(history, redis_model(), time_limit=30)
    assert split.verdict == whole.verdict != "unknown"
    if seed % 2 == 0:
        assert split.verdict == "linearizable"  # drawn linearizable
    if isinstance(split, Linearizable):
        assert sum(len(part) for part in split.parts) == len(history)


def test_the_flipped_replies_are_mostly_violations(bench: ModuleType) -> None:
    verdicts = [check(bench.set_history(seed, flip=True), redis_model(), time_limit=30).verdict for seed in range(1, 60, 2)]
    assert verdicts.count("violation") >= 20, verdicts  # the differential test sees both verdicts


def test_indeterminate_operations_split_too(bench: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    history = bench.set_history(5, ops=50)
    unsure = History(tuple(Operation(op.id, op.client, op.call, None, op.invoke, None, Outcome.INFO)
                           if op.id % 7 == 0 else op for op in history))
    split = check(unsure, redis_model(), time_limit=30)
    whole_key(monkeypatch)
    assert split.verdict == check(unsure, redis_model(), time_limit=30).verdict == "linearizable"


def test_by_member_keeps_keys_it_cannot_split() -> None:
    ops = [Operation(0, 0, ((b"SADD", b"k", b"m"),), (1,), 0, 1), Operation(1, 1, ((b"FLUSHALL",),), None, 0, 1)]
    keys = by_member([member_of(op) for op in ops], [frozenset({b"k"}), None])
    assert keys == [{b"k"}, None]


def test_redlin_run_members_family_is_checked_member_by_member(tmp_path: Path) -> None:
    outcome = run(workload="members", clients=6, ops=1500, out=tmp_path / "clean", database=None)
    assert outcome.verdict == "linearizable", render_outcome(outcome)
    history = load_history(outcome.paths["history"])
    keys = {argv[1] for op in history for argv in op.call if len(argv) > 1 and argv[0] != b"PING"}
    parts = parts_of(History(tuple(op for op in history if op.outcome is not Outcome.FAIL)))
    assert len(parts) > 4 * len(keys), (len(parts), len(keys))  # members, not keys
    found = run(workload="members", fault="lost-write", clients=6, ops=3000, out=tmp_path / "lost", database=None)
    assert found.verdict == "violation", render_outcome(found)
