"""A fast path for a counter: one key that increments reply to with the count they made.

``INCR k`` replies the count it made, so a history of increments and reads of one counter names its
own version order: when the definite increments made the counts 1, 2, ..., N, each exactly once,
the increment that made count ``c`` is the ``c``-th in every linearization (the counter only goes up
by one at a time).  A block that increments several times atomically (a MULTI/EXEC of INCRs, a
script) makes a run of consecutive counts and takes their place as one step; a read that returned
``v`` reads the version of the step that made ``v`` (``0``: before any).  So, as in the unique-value
register fast path (:mod:`redlin.search.fastpath`), every step and the reads of its count form a
*cluster* whose place is now forced, not chosen: the clusters in count order respect real time iff
no read completed before its step began, and no cluster's earliest completion ``f`` comes before
the latest invocation ``s`` of a cluster before it (O(n log n), the sort by invocation inside each
cluster).  The witness is replayed through the model, so a wrong reading of an operation (a script
that only looks like an increment) can only cost speed: ``None`` sends the part to the search,
which also explains every violation.

Indeterminate increments are left out (one that took effect unobserved changes no reply; one that
someone observed leaves a count no definite increment made, and the fast path declines: the search
decides), and so are indeterminate reads.  A count made twice, a gap, a read of a count no step
ended on (inside an atomic block, or never made), or a counter that did not start from nothing:
``None``.

The fast path itself is :func:`redlin.search.fastpath.decide_counter`, which orders the clusters
of :func:`counter_steps` with the register fast path's machinery; this module says what a counter
history is.

>>> from redlin.history.records import Operation
>>> def access(op):
...     return (op.call[0] == "incr", "k", op.result)
>>> ops = [Operation(0, "a", ("incr",), (2, 3), 0, 10), Operation(1, "b", ("incr",), (1,), 1, 3),
...        Operation(2, "c", ("read",), 1, 2, 4), Operation(3, "d", ("read",), 3, 11, 12)]
>>> counter_steps(ops, access)
({3: 0, 1: 1}, [(2, 1), (3, 3)])
>>> counter_steps(ops[:3] + [Operation(3, "d", ("read",), 2, 11, 12)], access) is None  # inside a block
True
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

from redlin.history.records import Operation, Outcome

_OK = Outcome.OK
_INFO = Outcome.INFO

__all__ = ["CounterAccess", "counter_steps", "refute_counter"]

CounterAccess = tuple[bool, Hashable, object]
"""How a view sees one operation: ``(is_increment, key, seen)``; for a definite increment ``seen``
is the tuple of counts it made (one per INCR, in order), for a definite read the count it returned
(an int, ``0`` for a missing key); ignored for an indeterminate operation."""

def counter_steps(ops: Sequence[Operation], access: Callable[[Operation], CounterAccess | None]
                  ) -> tuple[dict[int, int], list[tuple[int, int]]] | None:
    """The definite increments by the last count each made (``{count: index}``) and the definite
    reads as ``(index, count)``, when ``ops`` are one counter's whose increments made the counts
    1..N once each and whose reads each returned ``0`` or a count an increment ended on; else ``None``
    (module docstring).  Indeterminate operations are left out."""
    steps: dict[int, int] = {}
    made: set[int] = set()  # the counts the definite increments made
    reads: list[tuple[int, int]] = []
    definite, indeterminate = _OK, _INFO
    views = _one_counter(ops, access)
    if views is None:
        return None
    for index, (op, (is_increment, value)) in enumerate(zip(ops, views)):
        if op.outcome is indeterminate:
            continue
        if op.outcome is not definite or op.complete is None or op.complete < op.invoke:
            return None
        if is_increment:
            if not isinstance(value, tuple) or not value or any(type(count) is not int for count in value):
                return None
            first = value[0]
            if first < 1 or list(value) != list(range(first, first + len(value))):
                return None
            for count in value:
                if count in made:
                    return None  # a count made twice
                made.add(count)
            steps[value[-1]] = index
        elif type(value) is int:
            reads.append((index, value))
        else:
            return None
    if made and max(made) != len(made):
        return None  # a gap: the counts are not exactly 1..N
    if any(count and count not in steps for _, count in reads):
        return None  # a read of a count no step ended on (inside an atomic block, or never made)
    return steps, reads


def _one_counter(ops: Sequence[Operation], access: Callable[[Operation], CounterAccess | None]
                 ) -> list[tuple[bool, object]] | None:
    """Each operation's ``(is_increment, seen)`` when all of ``ops`` are increments and reads of
    one counter (one key), else ``None``."""
    views: list[tuple[bool, object]] = []
    key: Hashable = None
    for index, op in enumerate(ops):
        seen = access(op)
        if seen is None:
            return None
        is_increment, obj, value = seen
        if not index:
            key = obj
        elif obj != key:
            return None
        views.append((is_increment, value))
    return views


def refute_counter(ops: Sequence[Operation], access: Callable[[Operation], CounterAccess | None],
                   adds: Callable[[Operation], int | None]) -> int | None:
    """A definite read (its index in ``ops``) that returned a count higher than all the part's
    increments together could make, definite and indeterminate (``adds``: the most one adds, or
    ``None`` when that is not known, as for a script, which adds what it likes: then ``None``).

    The counter starts from nothing and each increment adds at most its INCRs (a failed one adds
    nothing), so no order of the part reaches that count: a violation without a search.  Unlike
    :func:`counter_steps`' verdicts, nothing replays this one, so it counts only what it knows.

    >>> from redlin.history.records import Operation
    >>> def access(op):
    ...     return (op.call[0] == "incr", "k", op.result)
    >>> ops = [Operation(0, "a", ("incr",), (1,), 0, 1), Operation(1, "b", ("read",), 5, 2, 3)]
    >>> refute_counter(ops, access, lambda op: 1), refute_counter(ops[:1], access, lambda op: 1)
    (1, None)
    """
    most = 0
    highest: tuple[int, int] | None = None  # (count, index) of the highest definite read
    views = _one_counter(ops, access)
    if views is None:
        return None
    for index, (op, (is_increment, value)) in enumerate(zip(ops, views)):
        if is_increment:
            size = adds(op)
            if size is None:
                return None
            most += size
        elif op.outcome is _OK and type(value) is int and (highest is None or value > highest[0]):
            highest = (value, index)
    return highest[1] if highest is not None and highest[0] > most else None
