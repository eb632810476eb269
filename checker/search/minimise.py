"""Shrink a violation to a small *core* of operations that cannot be explained whatever the rest did.

Deleting operations from a violating history is unsound as a way to explain it: delete the write a
read observed and the read becomes a violation of its own.  Instead every operation outside the core
is *weakened* to INFO: it keeps its invocation, but may have taken effect at any later time, or
never, and its result is forgotten.  A weakened history allows every behaviour the original allowed
and more, so if it is still not linearizable, the core alone is contradictory: no matter what the
other operations did, the core cannot be explained.

The search for a small core is Zeller & Hildebrandt's delta debugging (ddmin, "Simplifying and
isolating failure-inducing input", IEEE TSE 28(2), 2002): split the candidates into chunks, keep a
chunk or drop one whenever the smaller set still fails, refine the chunks when neither works.  The
result is 1-minimal: weakening any single remaining unit makes the violation go away (or makes it
undecidable within the budget).  A sub-check that runs out of budget counts as "no longer violating",
so the core only ever shrinks through proved violations.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from redlin.history.records import History, Operation, Outcome
from redlin.search.check import check_operations
from redlin.search.model import Model
from redlin.search.result import Violation

_OK = Outcome.OK
_INFO = Outcome.INFO

T = TypeVar("T")

MAX_STATES_PER_TRY = 20_000
"""Memo bound for each sub-check.  Weakened histories can be far harder than the original (every INFO
operation may be placed anywhere after its call), and a sub-check that gives up only costs the core
a little size: on Porcupine's 79 illegal etcd histories, 20,000 gives cores of 8 operations on
average, as 200,000 does, in a tenth of the time."""


def weaken(op: Operation) -> Operation:
    """``op`` as an indeterminate operation: same call and invocation, unknown result and completion."""
    if op.outcome is _INFO:
        return op
    # The client did carry on after it: its session must not end here (see Operation.ends_session).
    return replace(op, result=None, complete=None, outcome=_INFO, ends_session=False)


def minimise(
    history: History,
    model: Model[Any],
    violation: Violation,
    *,
    time_limit: float,
    max_states: int = MAX_STATES_PER_TRY,
) -> tuple[int, ...]:
    """A small set of operation ids of ``violation.part`` that is not linearizable on its own.

    Parameters
    ----------
    history:
        The history that was checked.
    model:
        The model it was checked against; ``model.groups`` (if any) says which operations are kept
        or weakened together.
    violation:
        The violation :func:`~redlin.check` returned for ``history``.
    time_limit:
        Seconds for the whole minimisation.  When it runs out, the smallest core proved so far is
        returned (at worst the whole part's definite operations).
    max_states:
        Memo bound for each sub-check.

    Returns
    -------
    tuple of int
        Sorted operation ids: with these kept as they are and every other operation of the part
        weakened to INFO, the part is still not linearizable.  Only definite operations can be in
        a core (an INFO operation is already as weak as it gets).

    Examples
    --------
    A stale read: the read of 1 needs the write of 1 *and* the write of 2 that completed between
    them; the later write of 3 is not needed.

    >>> from redlin import History, Operation, cas_register, check
    >>> ops = (Operation(0, "a", ("write", 1), None, invoke=0, complete=1),
    ...        Operation(1, "a", ("write", 2), None, invoke=2, complete=3),
    ...        Operation(2, "b", ("read",), 1, invoke=4, complete=5),
    ...        Operation(3, "c", ("write", 3), None, invoke=6, complete=7))
    >>> history = History(ops)
    >>> minimise(history, cas_register(), check(history, cas_register()), time_limit=10)
    (0, 1, 2)
    """
    started = time.monotonic()
    deadline = started + time_limit
    by_id = {op.id: op for op in history}
    part = [by_id[op_id] for op_id in violation.part]
    if model.groups is not None:
        units = [tuple(group) for group in model.groups(part)]
    else:
        units = [(op.id,) for op in part]
    # A unit of INFO operations only is weak already: keeping it or weakening it is the same.
    units = [unit for unit in units if any(by_id[op_id].outcome is _OK for op_id in unit)]
    weakened = {op.id: weaken(op) for op in part}
    verdicts: dict[frozenset[tuple[int, ...]], bool] = {}

    def still_violating(kept: Sequence[tuple[int, ...]]) -> bool:
        key = frozenset(kept)
        if key not in verdicts:
            keep = {op_id for unit in kept for op_id in unit}
            ops = [op if op.id in keep else weakened[op.id] for op in part]
            result = check_operations(ops, model, started=started, deadline=deadline, max_states=max_states)
            verdicts[key] = isinstance(result, Violation)
        return verdicts[key]

    if violation.proof:
        # A fast path's proof names its operations: start from them when they suffice on their own.
        named = set(violation.proof) | {violation.operation}
        proved = [unit for unit in units if named.intersection(unit)]
        if still_violating(proved):
            units = proved
    core = list(ddmin(units, still_violating, lambda: time.monotonic() >= deadline))
    return tuple(sorted(op_id for unit in core for op_id in unit))


def ddmin(items: Sequence[T], fails: Callable[[tuple[T, ...]], bool],
          out_of_time: Callable[[], bool] = lambda: False) -> tuple[T, ...]:
    """Zeller and Hildebrandt's ddmin: a 1-minimal subsequence of ``items`` (which must fail) for
    which ``fails`` still holds -- test subsets, then complements, of ``n`` chunks, doubling ``n``
    when neither fails -- or the smallest found when ``out_of_time``.

    >>> ddmin(range(10), lambda s: 3 in s and 7 in s)
    (3, 7)
    """
    units = tuple(items)
    granularity = 2
    while len(units) >= 2 and not out_of_time():
        size = len(units)
        bounds = [size * i // granularity for i in range(granularity + 1)]
        chunks = [units[bounds[i] : bounds[i + 1]] for i in range(granularity)]
        for chunk in chunks:
            if fails(chunk):
                units, granularity = chunk, 2
                break
        else:
            for index in range(len(chunks)):
                complement = tuple(unit for j, chunk in enumerate(chunks) if j != index for unit in chunk)
                if fails(complement):
                    units, granularity = complement, max(granularity - 1, 2)
                    break
            else:
                if granularity >= size:
                    break
                granularity = min(size, granularity * 2)
    return units
