"""minimise(): a small core of operations that stays contradictory whatever the others did."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from test_checker_search import history, random_histories

from redlin import (
    History,
    Linearizable,
    Model,
    Operation,
    Outcome,
    Violation,
    cas_register,
    check,
    kv,
    load_porcupine_etcd,
    minimise,
)
from redlin.search.minimise import weaken

OK, INFO = Outcome.OK, Outcome.INFO
PORCUPINE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "porcupine"


def weakened_outside(h: History, core: Sequence[int], part: Sequence[int]) -> History:
    """The part with every operation outside ``core`` weakened to INFO (ids kept)."""
    keep = set(core)
    by_id = {op.id: op for op in h}
    return History(tuple(by_id[i] if i in keep else weaken(by_id[i]) for i in part))


def assert_sound_core(h: History, model: Model[Any], violation: Violation, core: Sequence[int]) -> None:
    assert set(core) <= set(violation.part)
    assert all(h[i].outcome is OK for i in core), "an INFO operation is never needed in a core"
    assert isinstance(check(weakened_outside(h, core, violation.part), model), Violation)


def assert_one_minimal(h: History, model: Model[Any], violation: Violation, core: Sequence[int]) -> None:
    for dropped in core:
        rest = [i for i in core if i != dropped]
        assert isinstance(check(weakened_outside(h, rest, violation.part), model), Linearizable), dropped


def test_weaken() -> None:
    op = Operation(3, "a", ("write", 1), None, invoke=4, complete=9)
    weak = weaken(op)
    assert (weak.id, weak.call, weak.invoke, weak.complete, weak.outcome) == (3, ("write", 1), 4, None, INFO)
    assert weaken(weak) is weak


def test_stale_read_core_is_exactly_the_three_operations() -> None:
    h = history(
        ("x", ("write", 7), None, 0, 1),  # unrelated
        ("a", ("write", 1), None, 2, 3),
        ("y", ("read",), 7, 2, 3),  # unrelated: sees the first write
        ("a", ("write", 2), None, 4, 5),
        ("b", ("read",), 1, 6, 7),  # stale
        ("c", ("write", 3), None, 8, 9),  # unrelated, later
        ("c", ("read",), 3, 10, 11),
    )
    model = cas_register()
    violation = check(h, model)
    assert isinstance(violation, Violation)
    core = minimise(h, model, violation, time_limit=30)
    assert core == (1, 3, 4)
    assert_sound_core(h, model, violation, core)
    assert_one_minimal(h, model, violation, core)


def test_deleting_instead_of_weakening_would_be_wrong() -> None:
    # The read of 2 needs the write of 2.  Deleted, the read would look impossible on its own;
    # weakened to INFO, the write may still explain the read, so the core must explain *why*
    # 2 cannot be seen: the write of 3 completed after the write of 2 and before the read began.
    h = history(
        ("a", ("write", 2), None, 0, 1),
        ("a", ("write", 3), None, 2, 3),
        ("b", ("read",), 2, 4, 5),
    )
    model = cas_register()
    violation = check(h, model)
    assert isinstance(violation, Violation)
    assert minimise(h, model, violation, time_limit=30) == (0, 1, 2)


def test_groups_are_kept_or_weakened_together() -> None:
    # Pair the needed second put with an unrelated get: the core must then carry both.
    h = history(
        ("a", ("put", "k", "1"), None, 0, 1),
        ("z", ("get", "k"), "1", 2, 3),
        ("a", ("put", "k", "2"), None, 4, 5),
        ("b", ("get", "k"), "1", 6, 7),
    )
    base = kv()
    paired = dataclasses.replace(base, groups=lambda ops: [[0], [1, 2], [3]])
    violation = check(h, paired)
    assert isinstance(violation, Violation)
    assert minimise(h, base, violation, time_limit=30) in ((0, 2, 3), (1, 2, 3))
    core = minimise(h, paired, violation, time_limit=30)
    assert {1, 2} <= set(core) or not {1, 2} & set(core)
    assert_sound_core(h, paired, violation, core)


def test_no_time_keeps_every_definite_operation() -> None:
    h = history(
        ("a", ("write", 1), None, 0, 1),
        ("a", ("write", 2), None, 2, 3),
        ("c", ("write", 5), None, 0, None, INFO),
        ("b", ("read",), 1, 4, 5),
    )
    model = cas_register()
    violation = check(h, model)
    assert isinstance(violation, Violation)
    core = minimise(h, model, violation, time_limit=0)
    assert core == (0, 1, 3)
    assert_sound_core(h, model, violation, core)


@settings(max_examples=40)
@given(random_histories())
def test_random_violations_shrink_to_sound_one_minimal_cores(case: tuple[History, Model[Any]]) -> None:
    h, model = case
    violation = check(h, model)
    if not isinstance(violation, Violation):
        return
    core = minimise(h, model, violation, time_limit=30)
    assert_sound_core(h, model, violation, core)
    assert_one_minimal(h, model, violation, core)


@pytest.mark.skipif(not PORCUPINE.is_dir(), reason=f"reference histories not found at {PORCUPINE}")
@pytest.mark.parametrize(
    ("name", "bound"),
    # Measured: etcd_016 is a plain stale read (3 operations); etcd_004's contradiction is a chain
    # of reads, a write and two cas operations (7).  Both cores are 1-minimal.
    [("etcd_016.log", 3), ("etcd_004.log", 7)],
)
def test_illegal_etcd_history_shrinks_to_a_small_core(name: str, bound: int) -> None:
    h = load_porcupine_etcd(PORCUPINE / "jepsen" / name)
    model = cas_register()
    violation = check(h, model)
    assert isinstance(violation, Violation)
    core = minimise(h, model, violation, time_limit=30)
    assert len(core) <= bound
    assert_sound_core(h, model, violation, core)
    assert_one_minimal(h, model, violation, core)
