"""The model interface: a sequential specification the checker searches against.

A *model* says what one copy of the object, executing operations one at a time, would answer.  It is a
plain record of pure functions (the shape Porcupine uses), so adding a model never touches the
checker:

- ``init()`` gives the initial state.  States must be hashable and compare by value: the search
  memoises ``(set of linearized operations, state)`` pairs, so two equal states reached by different
  orders must hash alike.  Immutable values (tuples, strings, frozensets, ``immutables.Map``) do.
- ``step(state, op)`` gives the state after ``op``, or ``None`` if ``op.result`` cannot be what the
  object answers in ``state``.  For an indeterminate (INFO) operation the result is unknown, so
  ``step`` must accept it and return the state after it took effect.  ``step`` never mutates
  ``state``.
- ``partition(ops)`` optionally splits a history into independent parts (P-compositionality, Horn &
  Kroening 2015): a history is linearizable iff each part is, so each part is searched on its own,
  which turns one search over a product of states into several small ones.  ``partition_by_keys``
  builds such a function from "which keys does this operation touch".
- ``groups(ops)`` optionally says which operations the minimiser must keep or weaken together.
- ``find_impossible(ops)`` is an optional cheap pre-check (see below).
- ``read_only(op)`` optionally tells which operations never change the state (reads).  The search
  places such an operation as soon as its result fits, without trying alternatives: moving a read
  earlier, to a point where its result holds, keeps any linearization valid.
- ``effect(op)`` optionally tells which indeterminate operations are interchangeable (two writes of
  the same value), so the search tries only one of them at a time.
- ``describe_operation`` and ``describe_state`` give short human text for reports.
- ``views`` optionally tell the fast paths which operations are a register's reads and writes, a
  string's appends, a list's pushes and pops or a counter's increments
  (:class:`~redlin.search.views.Views`): parts of those shapes are then decided without a search.

Examples
--------
A counter whose ``("incr",)`` operations return the new value:

>>> from redlin import History, Operation, check
>>> counter = Model(
...     name="counter",
...     init=lambda: 0,
...     step=lambda n, op: n + 1 if op.outcome.value == "info" or op.result == n + 1 else None,
... )
>>> ops = (Operation(0, "a", ("incr",), 1, invoke=0, complete=10),
...        Operation(1, "b", ("incr",), 2, invoke=1, complete=2))
>>> type(check(History(ops), counter)).__name__
'Linearizable'
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import networkx as nx

from redlin.history.records import Operation
from redlin.search.views import Views

S = TypeVar("S", bound=Hashable)


def describe_call(op: Operation) -> str:
    """Default operation text: the call, and the result when one was observed."""
    if op.definite:
        return f"{op.call!r} -> {op.result!r}"
    return f"{op.call!r} -> ? ({op.outcome.value})"


def describe_value(state: Hashable) -> str:
    """Default state text: its ``repr``."""
    return repr(state)


class CannotPartition(Exception):
    """Raised by a model's ``step`` when an operation reaches beyond the keys it was partitioned by.

    A Redis script may touch keys it did not declare in KEYS; only running it shows that.  The
    checker then drops the partition and checks the whole history as one part with ``whole``, a
    model that does not partition (and so never raises this).
    """

    def __init__(self, whole: Model[Any], reason: str) -> None:
        super().__init__(reason)
        self.whole = whole
        self.reason = reason


class ModelLimit(Exception):
    """Raised by a model's ``step`` that cannot compute an operation within its own limits.

    A Redis script that loops forever never ends in the model either: the model stops it after an
    instruction budget, and no reply can be said to be right or wrong.  The checker then leaves
    the operation's part undecided, and the verdict is Unknown with this reason, never a guess.
    """


@dataclass(frozen=True, slots=True)
class Model(Generic[S]):
    """A sequential specification: the functions the checker needs, and nothing else.

    Parameters
    ----------
    name:
        Short name for reports (``"cas-register"``).
    init:
        Returns the initial state (hashable, compared by value).
    step:
        ``step(state, op)`` returns the state after ``op`` or ``None`` when ``op.result`` is
        impossible from ``state``.  For an INFO operation, return the state after it took effect.
    partition:
        Splits operations into independent parts; ``None`` means the history is one part.  Every
        part must be checkable against a fresh ``init()``: whatever one part does must not change
        what another part observes.
    groups:
        Lists of operation ids the minimiser must keep or weaken to INFO together (a Redis client's
        WATCH and its EXEC); ``None`` means every operation stands alone.
    find_impossible:
        A sound pre-check: returns a definite operation whose result *no* ordering of the given
        operations can explain (a read of a value nobody wrote), or ``None``.  It must never accuse
        an operation that some order could explain, because its answer is reported as a violation
        without a search.
    read_only:
        ``read_only(op)`` is true only if ``step(state, op)`` is ``state`` or ``None`` for *every*
        state (a read, a failed compare-and-set).  Saying true for an operation that can change
        the state makes the checker unsound; saying false is always safe, only slower.
    effect:
        ``effect(op)`` is a hashable key such that two INFO operations with equal keys change every
        state in the same way (``op.call`` for a register, whatever the client).  Equal keys for
        operations that differ in any state (say, through a client's session) make the checker
        unsound; ``None`` (the default) treats every operation as unique.
    for_part:
        ``for_part(ops)`` optionally gives the search of the part ``ops`` a step of its own, or
        ``None`` to use ``step``.  It must return what ``step`` returns, or ``None`` where the part's
        operations show that no linearization can go on from the state it would return (the Redis
        model refuses mailboxes its subscribers cannot read: :mod:`redlin.adapter.lookahead`).
        Only the search uses it; refusing a state some linearization goes through makes the
        checker unsound.
    describe_operation, describe_state:
        Short human text for reports (``"write 3"``, ``"cas 1->2 ok"``, ``"3"``).
    views:
        How the fast paths see the model's operations (:mod:`redlin.search.views`); ``None``: the
        search (and the order real time forces, :mod:`redlin.search.forced`) decides every part.
        A view that says an operation is a read, a write, an append or a pop must say so exactly,
        since some of the fast paths' refutations are not replayed through ``step``.
    """

    name: str
    init: Callable[[], S]
    step: Callable[[S, Operation], S | None]
    partition: Callable[[Sequence[Operation]], list[list[Operation]]] | None = None
    describe_operation: Callable[[Operation], str] = describe_call
    describe_state: Callable[[S], str] = describe_value
    groups: Callable[[Sequence[Operation]], list[list[int]]] | None = None
    find_impossible: Callable[[Sequence[Operation]], Operation | None] | None = None
    read_only: Callable[[Operation], bool] | None = None
    effect: Callable[[Operation], Hashable] | None = None
    for_part: Callable[[Sequence[Operation]], Callable[[S, Operation], S | None] | None] | None = None
    views: Views | None = None


def partition_by_keys(
    ops: Sequence[Operation],
    keys_of: Callable[[Operation], Iterable[Hashable] | None] | Sequence[Iterable[Hashable] | None],
    links: Iterable[tuple[int, int]] | None = None,
) -> list[list[Operation]]:
    """Split operations into independent parts: the connected components of "touches a common key".

    Two operations land in the same part when they share a key, directly or through a chain of
    other operations.  An operation for which ``keys_of`` returns ``None`` touches everything (a
    FLUSHALL, a script with undeclared keys), so it joins every operation into one part.  An
    operation with no keys at all (``()``) shares nothing and is a part of its own.  ``links`` are
    pairs of operation ids that must share a part even without a common key (a WATCH and the EXEC
    it guards); pairs naming an id not in ``ops`` are ignored, since the operation may have been
    dropped (a definite failure).

    Parameters
    ----------
    ops:
        The operations to split.
    keys_of:
        The keys an operation touches, or ``None`` for "all of them"; or a sequence of them, one
        per operation of ``ops``.
    links:
        Extra (op id, op id) pairs that must be in the same part.

    Returns
    -------
    list of list of Operation
        The parts, each in the order of ``ops``, ordered by their first operation.

    Examples
    --------
    >>> from redlin import Operation
    >>> ops = [Operation(i, i, ("put", k), None, i, i + 1) for i, k in enumerate("abab")]
    >>> [[op.id for op in part] for part in partition_by_keys(ops, lambda op: (op.call[1],))]
    [[0, 2], [1, 3]]
    """
    # The graph's nodes are the keys (few), not the operations (many): an operation joins its keys
    # by a path, and an operation without keys stands for itself.  Its part is its first node's.
    firsts: list[Hashable] = []
    edges: list[tuple[Hashable, Hashable]] = []
    first_of: dict[frozenset[Hashable], Hashable] = {}  # a set of keys met before: its edges are in
    each = keys_of if not callable(keys_of) else map(keys_of, ops)
    for op, keys in zip(ops, each):
        if keys is None:  # touches everything: one part of all
            return [list(ops)] if ops else []
        first = first_of.get(keys) if type(keys) is frozenset else None
        if first is None:
            nodes = [("key", key) for key in keys] or [("op", op.id)]
            if len(nodes) > 1:
                edges.extend(zip(nodes, nodes[1:]))
            first = nodes[0]
            if type(keys) is frozenset and keys:
                first_of[keys] = first
        firsts.append(first)
    if links is not None:
        node_of = {op.id: first for op, first in zip(ops, firsts)}
        edges.extend((node_of[a], node_of[b]) for a, b in links if a in node_of and b in node_of)
    component_of: dict[Hashable, Hashable] = {}
    if edges:  # (else every node is a component of its own: one key per operation, as in a kv store)
        # Only the nodes on an edge: any other is a component of its own (most keys of a history).
        graph = nx.Graph(edges)
        for number, component in enumerate(nx.connected_components(graph)):
            component_of.update(dict.fromkeys(component, number))
    grouped: dict[Hashable, list[Operation]] = {}
    for op, first in zip(ops, firsts):
        grouped.setdefault(component_of.get(first, first), []).append(op)
    return list(grouped.values())  # each in the order of ops, and ordered by its first operation
