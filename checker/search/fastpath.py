"""A near-linear fast path for register parts whose written values are unique.

Checking linearizability is NP-complete in general, even for a register, but not when every write
writes a value of its own: then each read *maps* to the one write of the value it returned, and
Gibbons & Korach ("Testing shared memories", SIAM J. Comput. 26(4), 1997) decide such
*read-mapping* histories in O(n log n).  This module decides them, and proves its "yes" with a
witness that :func:`replay_ok` re-verifies through the model itself, so a mistake here can only
cost speed: whenever the fast path does not apply, or the part is not linearizable, it answers
``None`` and the caller runs the full search, which finds and explains the violation.

The argument
------------
Call a write together with the reads of its value a *cluster*; the reads of the initial value form
a cluster whose write is virtual, done before time began.  In any linearization the register holds
a write's value from that write to the next one, so every cluster is a contiguous block, its write
first.  A linearization is therefore an order of clusters, plus an order within each:

- *within* a cluster, the write and then its reads by invocation time respect real time iff no read
  completed before the write was invoked (a read that did returned a value not yet written);
- *between* clusters, with ``s(C)`` the latest invocation and ``f(C)`` the earliest completion of
  the operations of ``C``, cluster ``A`` may precede ``B`` iff no operation of ``B`` completed before
  one of ``A`` began, iff ``s(A) <= f(B)``.  So ``A`` must precede ``B`` when ``f(A) < s(B)``.

A cluster order exists iff that "must precede" relation has no cycle, and then sorting by the key
``(min(s, f), s > f)`` is one: if ``A`` must precede ``B`` but sorts after it, then either ``B``'s
zone ``[f(B), s(B)]`` (a *forward* zone, ``f < s``) contains ``A``'s backward zone ``[s(A), f(A)]``,
or two forward zones overlap, and either way ``B`` must precede ``A`` too (Gibbons & Korach's two
conditions).  The sort ties only where the one order that can work puts the backward zone first.
So the check is: sort, then test each cluster against the latest ``s`` before it (O(n)).  Real time
uses the search's convention: ``A`` precedes ``B`` only if ``A`` completed strictly before ``B`` began.

Indeterminate operations: an INFO read tells nothing and is left out.  An INFO write may take effect
at any time after its invocation (its completion is +infinity) or never: one that some read
returned must be in the order, and its cluster's ``f`` is its reads' earliest completion; one that
nobody read is left out, which never hurts (its block would hold no read, and dropping it lets the
value before it last longer, unobserved).  So the fast path is complete for its class: every part
of reads and writes with unique written values (none equal to the initial value), INFO operations
included, gets a witness exactly when it is linearizable.

Which parts qualify is said by the model's register view (a
:class:`~redlin.search.views.RegisterView` in its :attr:`~redlin.search.model.Model.views`): the
register and cas-register models take reads and writes, the key/value models get and put on one
key, and the Redis model single-command ``GET k`` and ``SET k v`` (:mod:`redlin.adapter.views`);
the replay checks every reply.  Lee & Mathur (OOPSLA 2025) reach the same bound for unique-value
registers by decrease-and-conquer.

>>> from redlin.history.records import Operation, Outcome
>>> from redlin.search.models import register
>>> ops = [Operation(0, "a", ("write", 1), None, invoke=0, complete=5),
...        Operation(1, "b", ("read",), 1, invoke=1, complete=2),
...        Operation(2, "c", ("write", 2), None, invoke=3, complete=None, outcome=Outcome.INFO),
...        Operation(3, "d", ("read",), None, invoke=0, complete=1)]
>>> fast_order(ops, register())
(3, 0, 1)
>>> stale = ops[:3] + [Operation(3, "d", ("read",), None, invoke=6, complete=7)]
>>> fast_order(stale, register()) is None   # the initial value, read after write 1 completed
True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from redlin.history.records import Operation, Outcome
from redlin.search.appends import StringPart, decide_appends, refute_appends
from redlin.search.counters import CounterAccess, counter_steps, refute_counter
from redlin.search.forced import forced_decision
from redlin.search.model import Model, ModelLimit
from redlin.search.result import Linearizable
from redlin.search.sequences import decide_sequence, refute_sequence
from redlin.search.views import Access
from redlin.search.wgl import Linearized, Stuck, cyclic_gc_paused

_OK = Outcome.OK
_INFO = Outcome.INFO

__all__ = ["decide_register", "fast_decision", "fast_order", "fast_result", "replay_ok"]

_INF = float("inf")
_NEG_INF = float("-inf")
_VIRTUAL = -1  # the index of the initial value's virtual write
_Value = TypeVar("_Value", bound=Hashable)


def decide_register(
    ops: Sequence[Operation], access: Callable[[Operation], Access | None], initial: Hashable
) -> tuple[int, ...] | None:
    """A linearization of ``ops`` (op ids, in order) for a register, if the fast path can find one.

    ``None`` when some operation is not a read or write, two writes (or a write and ``initial``)
    share a value, a read returned a value nobody wrote, a definite operation has no sane interval,
    or the part is not linearizable.  The order holds every definite operation and the INFO writes
    some read returned.  It is not re-verified here: :func:`fast_order` does that.

    >>> from redlin.history.records import Operation
    >>> access = lambda op: (op.call[0] == "write", None, op.call[-1] if op.call[0] == "write" else op.result)
    >>> ops = [Operation(0, "a", ("write", 1), None, 0, 3), Operation(1, "b", ("read",), 1, 1, 2)]
    >>> decide_register(ops, access, None)
    (0, 1)
    >>> decide_register([ops[1], Operation(2, "c", ("read",), 1, 0, 0)], access, None) is None
    True
    """
    classified = _classify(ops, access, initial)
    if classified is None:
        return None
    writers, readers = classified
    clusters = _clusters(ops, writers, readers)
    if clusters is None:
        return None
    starts, finishes, members = clusters
    order = sorted(members, key=lambda c: (min(starts[c], finishes[c]), starts[c] > finishes[c]))
    return _in_order(ops, order, clusters)


def decide_counter(ops: Sequence[Operation], access: Callable[[Operation], CounterAccess | None]
                   ) -> tuple[int, ...] | None:
    """A linearization of ``ops`` (op ids, in order) for one counter whose increments reply the counts
    they made (:mod:`redlin.search.counters`): the clusters of a register whose writes are the
    increments (each by the last count it made) and whose initial value is 0, in the order the counts
    force.  Not re-verified here: :func:`fast_order` does that.

    >>> from redlin.history.records import Operation
    >>> access = lambda op: (op.call[0] == "incr", "k", op.result)
    >>> ops = [Operation(0, "a", ("incr",), (2, 3), 0, 10), Operation(1, "b", ("incr",), (1,), 1, 3),
    ...        Operation(2, "c", ("read",), 1, 2, 4), Operation(3, "d", ("read",), 3, 11, 12)]
    >>> decide_counter(ops, access)
    (1, 2, 0, 3)
    >>> decide_counter(ops[:2] + [Operation(2, "c", ("read",), 1, 11, 12)], access) is None  # stale
    True
    """
    steps = counter_steps(ops, access)
    if steps is None:
        return None
    writers, readers = steps
    clusters = _clusters(ops, writers, readers)  # (a read of 0 joins the initial value's cluster)
    if clusters is None:
        return None
    return _in_order(ops, [_VIRTUAL, *(writers[count] for count in sorted(writers))], clusters)


def _in_order(ops: Sequence[Operation], order: Sequence[int],
              clusters: tuple[dict[int, float], dict[int, float], dict[int, list[int]]]) -> tuple[int, ...] | None:
    """The operations of ``clusters`` in the cluster ``order``, if it respects real time: no cluster
    completes before one placed earlier began (the module docstring); else ``None``."""
    starts, finishes, members = clusters
    latest_start: float = _NEG_INF
    for cluster in order:
        if finishes[cluster] < latest_start:
            return None  # a cycle of "must precede": not linearizable
        if starts[cluster] > latest_start:
            latest_start = starts[cluster]
    return tuple(ops[index].id for cluster in order for index in members[cluster])


def _classify(
    ops: Sequence[Operation], access: Callable[[Operation], Access | None], initial: Hashable
) -> tuple[dict[Hashable, int], list[tuple[int, Hashable]]] | None:
    """The writes by value and the definite reads as (index, value), or ``None`` if not applicable."""
    writers: dict[Hashable, int] = {}
    readers: list[tuple[int, Hashable]] = []
    first: Hashable = None
    definite, indeterminate = _OK, _INFO
    for index, op in enumerate(ops):
        seen = access(op)
        if seen is None:
            return None
        is_write, obj, value = seen
        if not index:
            first = obj
        elif obj != first:
            return None  # a second register (key): not one register's history
        outcome = op.outcome
        if outcome is definite:
            if op.complete is None or op.complete < op.invoke:
                return None  # the search reports this malformed operation
        elif outcome is not indeterminate:
            return None
        if is_write:
            if value in writers or value == initial:
                return None
            writers[value] = index
        elif outcome is definite:
            readers.append((index, value))
    for _, value in readers:
        if value not in writers and value != initial:
            return None  # a value nobody wrote: the pre-check or the search explains it
    return writers, readers


def _clusters(
    ops: Sequence[Operation], writers: dict[_Value, int], readers: list[tuple[int, _Value]]
) -> tuple[dict[int, float], dict[int, float], dict[int, list[int]]] | None:
    """Each cluster's latest invocation ``s``, earliest completion ``f`` and operations (write first,
    then reads by invocation), keyed by its write's index (:data:`_VIRTUAL` for the initial value);
    ``None`` if a read completed before its write began."""
    members: dict[int, list[int]] = {_VIRTUAL: []}
    starts: dict[int, float] = {_VIRTUAL: _NEG_INF}
    finishes: dict[int, float] = {_VIRTUAL: _NEG_INF}
    for index in writers.values():
        op = ops[index]
        if op.complete is not None:  # an INFO write joins only once a read returned its value
            members[index] = [index]
            starts[index] = op.invoke
            finishes[index] = op.complete
    readers.sort(key=lambda reader: ops[reader[0]].invoke)  # (already sorted, mostly: linear)
    for index, value in readers:
        op = ops[index]
        cluster = writers.get(value, _VIRTUAL)
        if cluster not in members:  # the first read of an INFO write
            members[cluster] = [cluster]
            starts[cluster] = ops[cluster].invoke
            finishes[cluster] = _INF
        members[cluster].append(index)
        invoke, complete = op.invoke, op.complete
        if invoke > starts[cluster]:
            starts[cluster] = invoke
        if complete is not None and complete < finishes[cluster]:
            if cluster != _VIRTUAL and complete < ops[cluster].invoke:
                return None  # read before it was written
            finishes[cluster] = complete
    return starts, finishes, members


def replay_ok(order: Sequence[int], ops: Sequence[Operation], model: Model[Any]) -> bool:
    """Whether ``order`` is a linearization of ``ops``: each id at most once, every definite
    operation present, real time respected, and ``model.step`` accepting every result in turn.

    >>> from redlin.history.records import Operation
    >>> from redlin.search.models import register
    >>> ops = [Operation(0, "a", ("write", 1), None, 0, 1), Operation(1, "b", ("read",), 1, 2, 3)]
    >>> replay_ok((0, 1), ops, register()), replay_ok((1, 0), ops, register()), replay_ok((0,), ops, register())
    (True, False, False)
    """
    by_id = {op.id: op for op in ops}
    placed: set[int] = set()
    definite = _OK
    unplaced = len([op for op in ops if op.outcome is definite])  # definite operations not placed yet
    latest_invoke: float = _NEG_INF
    state = model.init()
    step = model.step
    for op_id in order:
        op = by_id.get(op_id)
        if op is None or op_id in placed:
            return False
        placed.add(op_id)
        complete = op.complete
        if complete is not None and complete < latest_invoke:
            return False  # an operation placed earlier began after this one completed
        if op.invoke > latest_invoke:
            latest_invoke = op.invoke
        state = step(state, op)
        if state is None:
            return False
        if op.outcome is definite:
            unplaced -= 1
    return unplaced == 0


def fast_order(ops: Sequence[Operation], model: Model[Any], string: StringPart | None = None
               ) -> tuple[int, ...] | None:
    """A replay-verified linearization of one part (OK and INFO operations), or ``None`` when the
    fast path does not apply to ``model`` or to these operations, or the part is not linearizable.
    ``string``: the part as the string fast path saw it, if the caller did."""
    views = model.views
    if views is None:
        return None
    view, appends, lists, counters = views.register, views.appends, views.lists, views.counters
    with cyclic_gc_paused():  # a million small objects kept: the collector's passes are pure cost
        order = None if view is None else decide_register(ops, view.access, view.initial(model))
        if order is None and appends is not None:
            order = decide_appends(ops, appends, string)
        if order is None and lists is not None:
            order = decide_sequence(ops, lists)
        if order is None and counters is not None:
            order = decide_counter(ops, counters)
        try:
            if order is None or not replay_ok(order, ops, model):
                return None
        except ModelLimit:  # the model cannot evaluate an operation: the search says so
            return None
    return order


def fast_decision(ops: Sequence[Operation], model: Model[Any]) -> Linearized | Stuck | None:
    """One part decided without a search: :func:`fast_order`'s linearization, or a violation the
    string fast path proves (:func:`~redlin.search.appends.refute_appends`: ``operation`` is the
    later read, ``proof`` the earlier one) or the list fast path does
    (:func:`~redlin.search.sequences.refute_sequence`), or a counter's read beyond every increment
    (:func:`~redlin.search.counters.refute_counter`), or ``None`` for the search to decide.  A part
    real time orders completely is decided too, for any model (:mod:`redlin.search.forced`): a
    witness at once, a refusal only when no pattern above (nor the model's pre-check) words it."""
    forced = forced_decision(ops, model)
    if isinstance(forced, Linearized):
        return forced
    views = model.views
    if views is None:
        return forced if forced is None else _worded(ops, model, forced)
    appends = views.appends
    string = StringPart(ops, appends) if appends is not None else None  # seen once, to decide or refute
    order = None if forced is not None else fast_order(ops, model, string)
    if order is not None:
        return Linearized(order=order, states_explored=0)
    lists = views.lists
    if lists is not None:
        refuted = refute_sequence(ops, lists)
        if refuted is not None:
            _, operation, proof = refuted
            return Stuck(operation=ops[operation].id, prefixes=(), states_explored=0,
                         proof=tuple(ops[index].id for index in proof))
    if appends is not None:
        pair = refute_appends(ops, appends, string)
        if pair is not None:
            earlier, later = pair
            return Stuck(operation=ops[later].id, prefixes=(), states_explored=0, proof=(ops[earlier].id,))
    counters, bounds = views.counters, views.increments
    if counters is not None and bounds is not None:
        read = refute_counter(ops, counters, bounds)
        if read is not None:
            return Stuck(operation=ops[read].id, prefixes=(), states_explored=0)
    return forced if forced is None else _worded(ops, model, forced)


def _worded(ops: Sequence[Operation], model: Model[Any], forced: Stuck) -> Stuck:
    """A refusal of the order real time forces, unless the model's pre-check finds something: it
    words the violation better than the refused prefix does (a value nobody wrote, say)."""
    impossible = model.find_impossible(ops) if model.find_impossible is not None else None
    if impossible is not None:
        return Stuck(operation=impossible.id, prefixes=(), states_explored=0)
    return forced


def fast_result(ops: Sequence[Operation], model: Model[Any]) -> Linearizable | None:
    """:func:`fast_order` as the result of checking ``ops`` as one part."""
    started = time.monotonic()
    order = fast_order(ops, model)
    if order is None:
        return None
    return Linearizable(witness=(order,), parts=(tuple(op.id for op in ops),), states_explored=0,
                        elapsed=time.monotonic() - started)
