"""Sequential consistency: is there one total order of all operations that keeps each client's order?

Redis replicates asynchronously, so a history of replica reads is rarely linearizable.  The weaker
question is Lamport's (1979, "How to make a multiprocessor computer that correctly executes
multiprocess programs"): is there a total order of the operations that the sequential model accepts
and that keeps every client's own operations in the order that client issued them?  Real time
between clients does not count.

>>> from redlin import History, Operation, cas_register
>>> ops = (Operation(0, "a", ("write", 1), None, invoke=0, complete=1),
...        Operation(1, "a", ("write", 2), None, invoke=2, complete=3),
...        Operation(2, "b", ("read",), 1, invoke=4, complete=5))   # stale, yet sequential
>>> result = check_sequential(History(ops), cas_register())
>>> result.verdict, result.order
('sequential', (0, 2, 1))

Semantics
---------
FAIL operations are ignored.  A client's operations are ordered by invocation time.  An INFO
operation may have taken effect or not; it normally ends its client's session, so it is that
client's last operation, but a client id with operations after it keeps them ordered after it.

Search
------
Depth first over configurations ``(next operation of every client, model state)``, choosing the
next operation of any client; an INFO operation may also be skipped.  Every failed configuration is
memoised (two equal configurations have the same future), and the memo is the budget.  Each move
takes one more operation, so a configuration never recurs on the current path.  The choices, and
why none of them loses an order:

- Success as soon as every client's *definite* operations are placed: the INFO operations left are
  the ones that never happened.  So an INFO operation is skipped explicitly only when its client
  has more operations behind it.
- A definite read-only operation (``model.read_only``) at the head of a client whose result fits
  the current state is placed at once, and nothing else is tried: in any order that completes the
  configuration, only other clients' operations precede it, and moving it to the front changes no
  state they see.
- An INFO operation whose step leaves the state as it is, is the same move as skipping it.
- Otherwise the heads are tried by rank, their invocation time by default (an INFO one applied
  before skipped): the real-time order is usually close to a witness.

Without real time the choices are many, and a dead end found late sends a plain depth-first search
back through every interleaving of what came between.  So the search runs in rounds of widening
*windows* (heuristics only: they restrict, never add, orders): in a round with window ``w``, an
operation may be placed only if no operation still to be placed completed more than ``w`` before
it was invoked (``w = 0`` is real time, as in linearizability; a lagging replica needs ``w`` about
its lag).  Windows start at 0 and grow eightfold from a typical operation's duration; each bounded
round gets a quarter of the budget left, and a round that fails proves nothing.  The last round
has no window: only its failure is a violation.

``model.effect`` is not used: two INFO operations of different clients sit in different places of
their clients' orders, so one cannot stand in for the other.

Parts
-----
Sequential consistency is not local: every key of a history can be sequentially consistent on its
own while the whole is not (the "store buffer" litmus test).  But restricting a sequentially
consistent order to one part of ``model.partition`` gives an order of that part, which a fresh model
accepts (the partition's contract: parts do not observe each other).  So a violation in one part is a
violation of the whole.  :func:`check_sequential` checks the parts first (small searches, sound
violations), then the whole history with what is left of the budget, and claims ``"sequential"`` only
with a witness of the whole, replayed through the model.  In order, cheapest first:

1. Merge the parts' orders and the clients' orders (a topological sort).  Only the precedences that
   matter are kept: an operation that leaves its part's state as it found it (a read) need only
   stay between the state-changing operations around it.  Concurrent writes to one key can be
   ordered either way, and the first pass's choice may not fit other parts, so the parts are
   searched again preferring operations by completion, then by midpoint, and merged again.
2. Search a linearization (:func:`redlin.check`, a quarter of the budget left) and merge its parts:
   a linearizable history is sequentially consistent.
3. Search the whole history, ranking each operation by where its part's order put it (a stale read
   ranks with the earliest write it was placed before).
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, Literal

import networkx as nx

from redlin.history.records import History, Operation, Outcome
from redlin.search.check import DEFAULT_MAX_STATES
from redlin.search.check import check as check_linearizable
from redlin.search.model import CannotPartition, Model, ModelLimit
from redlin.search.result import Linearizable
from redlin.search.wgl import cyclic_gc_paused, exhausted

_CHECK_EVERY = 1024
"""New configurations between two looks at the clock (and collections of young cyclic garbage)."""

ROUND_GROWTH = 8
"""Each round's window is this many times the previous one's."""

ROUND_SHARE = 4
"""A bounded round may use one part in this many of the configurations left."""

PER_PART_REASON = (
    "every key (part) is sequentially consistent on its own; the whole history was not decided within the budget"
)


Verdict = Literal["sequential", "violation", "unknown"]
Scope = Literal["whole", "per-part"]


@dataclass(frozen=True, slots=True)
class SequentialResult:
    """What :func:`check_sequential` concludes.

    ``verdict`` is ``"sequential"`` (``order`` is a witness), ``"violation"`` (``operation`` cannot
    be placed) or ``"unknown"`` (a budget ran out, or the model could not evaluate an operation;
    ``reason`` says which).  It is never a guess.

    ``scope`` says what the verdict rests on: ``"whole"`` for a search of the whole history (always
    so for ``"sequential"``); ``"per-part"`` for a violation found in one part of
    ``model.partition`` (a violation of the whole too), or for ``"unknown"`` when every part was
    proved sequentially consistent on its own but the whole history was not decided.

    ``order`` lists operation ids in the witness order: every definite operation once, and the INFO
    operations the order needs to have taken effect.  Replaying it through ``model.step`` from
    ``model.init()`` reproduces every observed result.

    ``operation`` is a definite operation that the model rejects at the deepest point the search
    reached (the most definite operations placed), ``prefix`` the order that reached it, ``part``
    the operations of the part searched (all at scope ``"whole"``).  A sound pre-check
    (``model.find_impossible``) may name ``operation`` without a search (``prefix`` then empty).
    """

    verdict: Verdict
    scope: Scope
    operation: int | None = None
    order: tuple[int, ...] | None = None
    states_explored: int = 0
    elapsed: float = 0.0
    reason: str = ""
    part: tuple[int, ...] = ()
    prefix: tuple[int, ...] = ()


@dataclass(slots=True)
class _Budget:
    """What is left of the check's budget, shared by all its searches."""

    max_states: int
    deadline: float | None
    collect_young: bool
    explored: int = 0


@dataclass(frozen=True, slots=True)
class _Found:
    order: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Stuck:
    operation: int | None  # rejected at the deepest point, reached by prefix
    prefix: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _OutOfBudget:
    reason: str
    round_only: bool = False
    """Only the round's own share ran out: a wider round may still run."""


_Outcome = _Found | _Stuck | _OutOfBudget

Move = tuple[int, Hashable, int | None]  # (lane that advances, state after it, op id placed or None)


class _Search:
    """The depth-first search of one set of operations (a part, or the whole history)."""

    def __init__(self, ops: Sequence[Operation], model: Model[Any], budget: _Budget, *, window: int | None,
                 share: int | None, rank: dict[int, float]) -> None:
        self.rank = rank
        lanes: dict[Hashable, list[Operation]] = {}
        for op in sorted(ops, key=lambda op: (op.invoke, op.id)):
            lanes.setdefault(op.client, []).append(op)
        self.lanes = tuple(tuple(lane) for lane in lanes.values())
        # The search succeeds once every lane is past its last definite operation.
        self.last_definite = tuple(max((i for i, op in enumerate(lane) if op.definite), default=-1)
                                   for lane in self.lanes)
        # For a bounded window: per lane, the earliest completion among its operations from each
        # position on (INFO operations never complete).
        self.window = window
        self.earliest_completion = tuple(_suffix_minima(lane) for lane in self.lanes) if window is not None else ()
        self.share, self.explored, self.budget = share, 0, budget
        self.step, self.read_only, self.init = model.step, model.read_only, model.init
        # The deepest point: most definite operations placed, a definite operation rejected there
        # and the order that got there.
        self.best_depth = -1
        self.best_operation: int | None = None
        self.best_prefix: tuple[int, ...] = ()

    def run(self) -> _Outcome:
        """Search; the memo lives only as long as this call."""
        start = (tuple(0 for _ in self.lanes), self.init())
        memo: set[tuple[tuple[int, ...], Hashable]] = {start}
        if not self._charge(memo) or (self.budget.deadline is not None and time.monotonic() >= self.budget.deadline):
            return self._exhausted()
        # One frame per configuration on the current path: its lanes' positions, how many definite
        # operations it placed, and its untried moves.  ``path`` holds the op ids placed.
        path: list[int | None] = []
        frames: list[tuple[tuple[int, ...], int, Iterator[Move]]] = []
        if self._done(start[0]):
            return _Found(())
        frames.append((start[0], 0, self._moves(start[0], start[1], 0, path)))
        while frames:
            positions, depth, moves = frames[-1]
            move = next(moves, None)
            if move is None:
                frames.pop()
                if path:
                    path.pop()
                continue
            lane, state, op_id = move
            after = positions[:lane] + (positions[lane] + 1,) + positions[lane + 1:]
            key = (after, state)
            if key in memo:
                continue  # explored before, and failed
            memo.add(key)
            if not self._charge(memo):
                return self._exhausted()
            definite = op_id is not None and self.lanes[lane][positions[lane]].definite
            path.append(op_id)
            if self._done(after):
                return _Found(tuple(op_id for op_id in path if op_id is not None))
            depth_after = depth + 1 if definite else depth
            frames.append((after, depth_after, self._moves(after, state, depth_after, path)))
        return _Stuck(self.best_operation, self.best_prefix)

    def _done(self, positions: tuple[int, ...]) -> bool:
        return all(position > last for position, last in zip(positions, self.last_definite))

    def _moves(self, positions: tuple[int, ...], state: Hashable, depth: int, path: list[int | None]) -> Iterator[Move]:
        """The moves from a configuration, best first (see the module docstring for why each is sound)."""
        if depth > self.best_depth:
            self.best_depth, self.best_operation = depth, None
        horizon = self._horizon(positions)
        heads: list[tuple[float, int, int]] = []  # (rank, op id, lane) of every lane's next operation
        for lane, position in enumerate(positions):
            ops = self.lanes[lane]
            if position < len(ops):
                op = ops[position]
                if op.invoke <= horizon:
                    heads.append((self.rank.get(op.id, op.invoke), op.id, lane))
        heads.sort()
        tried_reads: set[int] = set()
        if self.read_only is not None:
            for _, _, lane in heads:
                op = self.lanes[lane][positions[lane]]
                if op.definite and self.read_only(op):
                    after = self.step(state, op)
                    if after is not None:
                        yield lane, after, op.id
                        return  # committed: no other move is needed
                    self._rejected(op, depth, path)
                    tried_reads.add(op.id)
        for _, op_id, lane in heads:
            if op_id in tried_reads:
                continue
            op = self.lanes[lane][positions[lane]]
            after = self.step(state, op)
            if op.definite:
                if after is None:
                    self._rejected(op, depth, path)
                else:
                    yield lane, after, op.id
                continue
            if after is not None and after is not state and after != state:
                yield lane, after, op.id
            if positions[lane] + 1 < len(self.lanes[lane]):
                yield lane, state, None  # skipped: it never took effect, its client goes on

    def _horizon(self, positions: tuple[int, ...]) -> float:
        """The latest invocation that may be placed next: within ``window`` of the earliest
        completion still to be placed (no bound without a window)."""
        if self.window is None:
            return math.inf
        pending = zip(self.earliest_completion, positions)
        return min((minima[position] for minima, position in pending), default=math.inf) + self.window

    def _rejected(self, op: Operation, depth: int, path: list[int | None]) -> None:
        if depth == self.best_depth and self.best_operation is None:
            self.best_operation = op.id
            self.best_prefix = tuple(op_id for op_id in path if op_id is not None)

    def _charge(self, memo: set[Any]) -> bool:
        """Count one new configuration; false once the budget is gone."""
        budget = self.budget
        budget.explored += 1
        self.explored += 1
        if budget.explored > budget.max_states or (self.share is not None and self.explored > self.share):
            return False
        if len(memo) % _CHECK_EVERY == 0:
            if budget.collect_young:
                gc.collect(0)
            if budget.deadline is not None and time.monotonic() >= budget.deadline:
                return False
        return True

    def _exhausted(self) -> _OutOfBudget:
        if self.budget.explored > self.budget.max_states:
            return _OutOfBudget(exhausted(self.budget.max_states))
        if self.budget.deadline is not None and time.monotonic() >= self.budget.deadline:
            return _OutOfBudget("time limit reached")
        return _OutOfBudget("the round's share of the budget ran out", round_only=True)


def _suffix_minima(lane: Sequence[Operation]) -> tuple[float, ...]:
    """``minima[i]``: the earliest completion of a definite operation of ``lane[i:]``."""
    completions = [op.complete if op.definite and op.complete is not None else math.inf for op in lane]
    return tuple(accumulate(reversed(completions), min, initial=math.inf))[::-1]


def _windows(ops: Sequence[Operation]) -> list[int | None]:
    """The rounds' windows: 0, then a typical operation's duration growing eightfold, until the
    window spans the whole history, and last ``None`` (no bound: the only round whose failure is a
    violation)."""
    durations = sorted(op.complete - op.invoke for op in ops if op.definite and op.complete is not None)
    if not ops or not durations:
        return [None]
    span = max(op.complete if op.complete is not None else op.invoke for op in ops) - min(op.invoke for op in ops)
    windows: list[int | None] = []
    window, unit = 0, max(1, durations[len(durations) // 2])
    while window < span:
        windows.append(window)
        window = unit if window == 0 else window * ROUND_GROWTH
    windows.append(None)
    return windows


def _search(ops: Sequence[Operation], model: Model[Any], budget: _Budget, rank: dict[int, float] | None = None) -> _Outcome:
    """Search ``ops`` in rounds of widening windows (see the module docstring).

    ``rank`` orders the choices (an operation without one ranks by its invocation).  A round with
    a window gets a quarter of the budget left; only the last, unbounded round can prove a
    violation.
    """
    rank = rank or {}
    for window in _windows(ops):
        if window is None:
            return _Search(ops, model, budget, window=None, share=None, rank=rank).run()
        share = (budget.max_states - budget.explored) // ROUND_SHARE
        outcome = _Search(ops, model, budget, window=window, share=share, rank=rank).run()
        if isinstance(outcome, _Found) or (isinstance(outcome, _OutOfBudget) and not outcome.round_only):
            return outcome
    raise AssertionError("the last window is unbounded")


def check_sequential(
    history: History,
    model: Model[Any],
    *,
    time_limit: float | None = None,
    max_states: int = DEFAULT_MAX_STATES,
) -> SequentialResult:
    """Decide whether ``history`` is sequentially consistent with respect to ``model``.

    Parameters
    ----------
    history:
        The operations.  FAIL operations are ignored; INFO operations may have taken effect (at any
        point after their client's earlier operations) or not.
    model:
        The sequential specification (any :class:`~redlin.Model`, e.g. ``redis_model()``).
    time_limit:
        Seconds for the whole check; ``None`` for no limit.
    max_states:
        The most configurations explored in all, over every search of the check (the parts', then
        the whole history's): this bounds both the work and the memory.

    Returns
    -------
    SequentialResult
        ``"sequential"`` with a witness order of the whole history, ``"violation"`` with the
        operation that cannot be placed, or ``"unknown"`` (never a guess).

    Examples
    --------
    A client that reads its own write's older value breaks its own order:

    >>> from redlin import History, Operation, register
    >>> ops = (Operation(0, "a", ("write", 1), None, invoke=0, complete=1),
    ...        Operation(1, "a", ("write", 2), None, invoke=2, complete=3),
    ...        Operation(2, "a", ("read",), 1, invoke=4, complete=5))
    >>> result = check_sequential(History(ops), register())
    >>> result.verdict, result.operation, result.prefix
    ('violation', 2, (0, 1))
    """
    started = time.monotonic()
    deadline = None if time_limit is None else started + time_limit
    ops = [op for op in history if op.outcome is not Outcome.FAIL]
    with cyclic_gc_paused() as collect_young:
        budget = _Budget(max_states=max_states, deadline=deadline, collect_young=collect_young)
        try:
            return _check(ops, model, budget, started)
        except CannotPartition as unsplittable:
            # An operation reached keys outside its part (a script with undeclared keys): the split
            # was unsound, so check the history again, as one part, with what is left.
            return _check(ops, unsplittable.whole, budget, started)


def _check(ops: Sequence[Operation], model: Model[Any], budget: _Budget, started: float) -> SequentialResult:
    parts = model.partition(ops) if model.partition is not None else [list(ops)]
    parts = sorted((part for part in parts if part), key=len)  # small first: cheap, early verdicts
    if len(parts) <= 1:
        return _check_whole(ops, model, budget, started, scope_if_unknown="whole", reason_prefix="")

    if model.find_impossible is not None:
        for part in parts:
            impossible = model.find_impossible(part)
            if impossible is not None:
                return _result(budget, started, "violation", "per-part", operation=impossible.id,
                               part=tuple(op.id for op in part))

    undecided: list[str] = []
    witnesses: list[tuple[int, ...]] = []
    for part in parts:
        try:
            outcome = _search(part, model, budget)
        except ModelLimit as limit:  # this part cannot be decided; another may still violate
            undecided.append(f"the model could not evaluate an operation: {limit}")
            continue
        if isinstance(outcome, _Stuck):
            return _result(budget, started, "violation", "per-part", operation=outcome.operation,
                           part=tuple(op.id for op in part), prefix=outcome.prefix)
        if isinstance(outcome, _OutOfBudget):
            undecided.append(outcome.reason)
            break  # the budget is shared: nothing is left for the other parts
        witnesses.append(outcome.order)
    if undecided:
        return _result(budget, started, "unknown", "whole", reason=f"{undecided[0]}; not every part was decided")
    order = _merge(ops, witnesses, model)
    for guess in (_completion, _midpoint):
        if order is not None:
            break
        # Two concurrent writes to one key may have taken effect in either order, and the order the
        # first pass chose for a part may not fit the other parts: try the parts again, preferring
        # other plausible orders.
        again = _part_witnesses(parts, model, budget, {op.id: guess(op) for op in ops})
        if again is None:
            break
        order = _merge(ops, again, model)
    order = order or _merge_linearization(ops, model, budget)
    if order is not None:
        return _result(budget, started, "sequential", "whole", order=order)
    return _check_whole(ops, model, budget, started, scope_if_unknown="per-part",
                        reason_prefix=PER_PART_REASON + ": ", rank=_rank(ops, witnesses))


def _completion(op: Operation) -> float:
    return math.inf if op.complete is None else op.complete


def _midpoint(op: Operation) -> float:
    return op.invoke if op.complete is None else (op.invoke + op.complete) / 2

def _part_witnesses(parts: Sequence[Sequence[Operation]], model: Model[Any], budget: _Budget,
                    rank: dict[int, float]) -> list[tuple[int, ...]] | None:
    """Every part's order, each searched preferring operations by ``rank``; ``None`` if any part was
    not found (the budget ran out, or the model could not evaluate an operation)."""
    orders = []
    for part in parts:
        try:
            outcome = _search(part, model, budget, rank)
        except ModelLimit:
            outcome = None
        if not isinstance(outcome, _Found):
            return None
        orders.append(outcome.order)
    return orders


def _rank(ops: Sequence[Operation], orders: Sequence[Sequence[int]]) -> dict[int, float]:
    """When each operation probably took effect, judging by the parts' orders.

    An operation placed before others that were invoked earlier (a stale read, placed before the
    writes it did not see) ranks with the earliest of them: the whole search then tries it about
    where its part's order put it, instead of at its invocation, where it no longer fits.
    """
    invoke = {op.id: op.invoke for op in ops}
    rank: dict[int, float] = {}
    for order in orders:
        earliest = math.inf
        for op_id in reversed(order):
            earliest = min(earliest, invoke[op_id])
            rank[op_id] = earliest
    return rank


def _merge(ops: Sequence[Operation], orders: Sequence[Sequence[int]], model: Model[Any]) -> tuple[int, ...] | None:
    """One order of the whole history made of the parts' orders, if there is one the model accepts.

    The parts' orders (as far as they matter: :func:`_add_part_order`) and the clients' orders are
    merged by a topological sort (by :func:`_rank`); a cycle means these part orders cannot be
    combined (others might).  The merged order is replayed through the model rather than trusted,
    so a partition that breaks its contract costs only this shortcut.
    """
    by_id = {op.id: op for op in ops}
    rank = _rank(ops, orders)
    graph: nx.DiGraph[int] = nx.DiGraph()
    try:
        for order in orders:
            if not _add_part_order(graph, order, by_id, model):
                return None
    except ModelLimit:
        return None  # the search will meet it too, and say so
    lanes: dict[Hashable, list[int]] = {}
    for op in sorted((by_id[op_id] for op_id in graph), key=lambda op: (op.invoke, op.id)):
        lanes.setdefault(op.client, []).append(op.id)
    for lane in lanes.values():
        nx.add_path(graph, lane)
    try:
        merged = tuple(nx.lexicographical_topological_sort(graph, key=lambda op_id: (rank[op_id], op_id)))
    except nx.NetworkXUnfeasible:
        return None
    try:  # replayed, not trusted
        return merged if _add_part_order(nx.DiGraph(), merged, by_id, model) else None
    except ModelLimit:
        return None


def _add_part_order(graph: nx.DiGraph[int], order: Sequence[int], by_id: dict[int, Operation], model: Model[Any]) -> bool:
    """Add the precedences ``order`` (one part's witness) needs to ``graph``; false if the model
    rejects it.

    Operations that leave the state as they found it (reads, there) need only stay between the
    operations around them that change it: each of them sees the same state wherever it is in that
    stretch, so two reads of the same value are not ordered, and other parts' orders can put them
    either way.
    """
    state = model.init()
    changed: int | None = None  # the last operation that changed the state
    unchanged: list[int] = []  # the operations since then that did not
    for op_id in order:
        graph.add_node(op_id)
        after = model.step(state, by_id[op_id])
        if after is None:
            return False
        if changed is not None:
            graph.add_edge(changed, op_id)
        if after is state or after == state:
            unchanged.append(op_id)
        else:
            graph.add_edges_from((before, op_id) for before in unchanged)
            changed, unchanged = op_id, []
        state = after
    return True


def _merge_linearization(ops: Sequence[Operation], model: Model[Any], budget: _Budget) -> tuple[int, ...] | None:
    """A linearization, merged into one order, if found within a quarter of the budget left: its parts'
    orders respect real time, so they combine (Herlihy & Wing's locality) unless a client's own
    operations overlap in time."""
    left = budget.max_states - budget.explored
    now = time.monotonic()
    if left < 4 or (budget.deadline is not None and budget.deadline <= now):
        return None
    time_limit = None if budget.deadline is None else (budget.deadline - now) / 4
    result = check_linearizable(History(tuple(ops)), model, time_limit=time_limit, max_states=left // 4)
    budget.explored += result.states_explored
    if not isinstance(result, Linearizable):
        return None
    return _merge(ops, result.witness, model)


def _check_whole(ops: Sequence[Operation], model: Model[Any], budget: _Budget, started: float, *,
                 scope_if_unknown: Scope, reason_prefix: str, rank: dict[int, float] | None = None) -> SequentialResult:
    """Search the whole history; a violation found here has scope ``"whole"``."""
    whole = tuple(op.id for op in ops)
    if scope_if_unknown == "whole" and model.find_impossible is not None:
        impossible = model.find_impossible(ops)
        if impossible is not None:
            return _result(budget, started, "violation", "whole", operation=impossible.id, part=whole)
    try:
        outcome = _search(ops, model, budget, rank)
    except ModelLimit as limit:
        return _result(budget, started, "unknown", scope_if_unknown,
                       reason=f"{reason_prefix}the model could not evaluate an operation: {limit}")
    if isinstance(outcome, _Found):
        return _result(budget, started, "sequential", "whole", order=outcome.order)
    if isinstance(outcome, _Stuck):
        return _result(budget, started, "violation", "whole", operation=outcome.operation, part=whole,
                       prefix=outcome.prefix)
    return _result(budget, started, "unknown", scope_if_unknown, reason=f"{reason_prefix}{outcome.reason}")


def _result(budget: _Budget, started: float, verdict: Verdict, scope: Scope, **fields: Any) -> SequentialResult:
    return SequentialResult(verdict=verdict, scope=scope, states_explored=min(budget.explored, budget.max_states),
                            elapsed=time.monotonic() - started, **fields)
