"""Parts whose order real time forces: one client's operations, or any that never overlap.

When every operation of a part completed before the next one began, and none is indeterminate,
real time leaves exactly one candidate order: a linearization must put each operation after every
one that completed before it began, which here is all those before it.  So nothing needs searching.
Replaying that order through the model decides the part: if every step accepts, the order is the
witness; if the model refuses the operation at position ``k``, no linearization exists, because
every one must place operation ``k`` right after the first ``k`` operations, in that order.  The
verdict is the search's, at the cost of one replay (O(n) steps), and the refusal comes with the one
longest linearizable prefix, as the search would give it.

Porcupine's single-client histories are of this kind, and so is any part one connection drove.
An indeterminate operation, or two that overlap, and the part is left to the other fast paths and
the search (``None``).

>>> from redlin.history.records import Operation
>>> from redlin.search.models import register
>>> ops = [Operation(0, "a", ("write", 1), None, invoke=0, complete=1),
...        Operation(1, "a", ("read",), 1, invoke=2, complete=3),
...        Operation(2, "a", ("write", 2), None, invoke=4, complete=5)]
>>> forced_decision(ops, register())
Linearized(order=(0, 1, 2), states_explored=0)
>>> stale = ops + [Operation(3, "a", ("read",), 1, invoke=6, complete=7)]
>>> stuck = forced_decision(stale, register())
>>> stuck.operation, [op for op, _ in stuck.prefixes[0]]
(3, [0, 1, 2])
>>> overlapping = ops[:2] + [Operation(2, "b", ("write", 2), None, invoke=2, complete=5)]
>>> forced_decision(overlapping, register()) is None
True
"""

from __future__ import annotations

import gc
import time
from collections.abc import Hashable, Sequence
from typing import Any

from redlin.history.records import Operation, Outcome
from redlin.search.model import Model, ModelLimit
from redlin.search.wgl import Linearized, Stuck

_OK = Outcome.OK
_YOUNG_EVERY = 4096  # replay_as_listed collects the youngest generation and reads the clock every so many steps

__all__ = ["forced_decision", "forced_order", "replay_as_listed"]


def forced_order(ops: Sequence[Operation]) -> list[Operation] | None:
    """``ops`` in the one order real time allows, or ``None`` when it allows more than one (two
    operations overlap, or one is indeterminate).  Ties count as overlaps: an operation precedes
    another only if it completed strictly before the other began."""
    definite = Outcome.OK
    latest_invoke = latest_complete = float("-inf")
    for op in ops:
        invoke, complete = op.invoke, op.complete
        if op.outcome is not definite or complete is None or complete < invoke:
            return None
        if invoke < latest_invoke:
            break  # not listed in invocation order: sort, then look again
        if invoke <= latest_complete:
            return None  # it began before the one listed before it completed
        latest_invoke, latest_complete = invoke, complete
    else:
        return list(ops)
    ordered = sorted(ops, key=_invoked)
    latest_complete = float("-inf")
    for op in ordered:
        complete = op.complete
        if op.outcome is not definite or complete is None or complete < op.invoke or op.invoke <= latest_complete:
            return None
        latest_complete = complete
    return ordered


def forced_decision(ops: Sequence[Operation], model: Model[Any]) -> Linearized | Stuck | None:
    """The verdict on a part real time orders completely (module docstring), or ``None`` when it
    does not, or when the model cannot evaluate an operation (the search then says why)."""
    ordered = forced_order(ops)
    if ordered is None:
        return None
    step = model.step
    state = model.init()
    try:
        for position, op in enumerate(ordered):
            after = step(state, op)
            if after is None:
                return Stuck(operation=op.id, prefixes=(_prefix(ordered[:position], model),), states_explored=0)
            state = after
    except ModelLimit:
        return None
    return Linearized(order=tuple([op.id for op in ordered]), states_explored=0)


def replay_as_listed(ops: Sequence[Operation], model: Model[Any], *, collect_young: bool = False,
                     deadline: float | None = None) -> int | None:
    """Replay ``ops`` as one object when real time orders them completely *as listed*: the number of
    operations the model accepted (``len(ops)``: all of them), or ``None`` when an operation is
    indeterminate, overlaps the one listed before it, is listed before it in real time, or the model
    cannot evaluate it.

    For a model that splits histories into parts, this is one pass over a history one client made
    (a single-client run, Porcupine's c01 histories): each part is then ordered by real time as
    well, and linearizable iff the parts' replays all accept, which the partition's own contract
    makes the same as this one replay.  The caller splits the history only to name the parts.
    ``collect_young``: collect the youngest generation every few thousand steps (the caller paused
    the cyclic collector, and a model's steps might make cycles).  Past ``deadline`` (a
    ``time.monotonic()`` instant, looked at every few thousand steps) it stops with ``None``.

    >>> from redlin.search.models import kv
    >>> ops = [Operation(0, "a", ("put", "x", "1"), None, invoke=0, complete=1),
    ...        Operation(1, "a", ("put", "y", "2"), None, invoke=2, complete=3),
    ...        Operation(2, "a", ("get", "x"), "1", invoke=4, complete=5)]
    >>> replay_as_listed(ops, kv()), replay_as_listed(ops[::-1], kv())
    (3, None)
    >>> replay_as_listed(ops[:2] + [Operation(2, "a", ("get", "x"), "2", invoke=4, complete=5)], kv())
    2
    """
    definite = _OK
    step = model.step
    state: Any = model.init()
    latest_complete = float("-inf")
    accepted = len(ops)
    try:
        for start in range(0, len(ops), _YOUNG_EVERY):
            if start and collect_young:
                gc.collect(0)
            if start and deadline is not None and time.monotonic() >= deadline:
                return None
            for offset, op in enumerate(ops[start:start + _YOUNG_EVERY]):
                invoke, complete = op.invoke, op.complete
                if op.outcome is not definite or complete is None or invoke <= latest_complete or complete < invoke:
                    return None
                latest_complete = complete
                if state is not None:
                    state = step(state, op)
                    if state is None:
                        accepted = start + offset  # refused; the rest must still be ordered for this to count
    except ModelLimit:
        return None
    return accepted


def _prefix(ops: Sequence[Operation], model: Model[Any]) -> tuple[tuple[int, Hashable], ...]:
    """The prefix the model accepted, as (operation id, state after it) pairs: replayed again, so
    that the common case, a linearizable part, keeps no states."""
    state = model.init()
    placed: list[tuple[int, Hashable]] = []
    for op in ops:
        state = model.step(state, op)
        placed.append((op.id, state))
    return tuple(placed)


def _invoked(op: Operation) -> float:
    return op.invoke
