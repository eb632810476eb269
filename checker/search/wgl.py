"""The linearizability search for one part of a history: WGL with Lowe's memo.

Algorithm
---------
Wing & Gong (1993), "Testing and verifying concurrent objects", J. Parallel Distrib. Comput. 17:
lay the history out as a list of *call* and *return* entries in real-time order and search for a
sequential order depth first.  At any point, the operations that may come next are exactly those
whose call entries precede the first remaining return entry: an operation whose return has been
passed must already be linearized, since it completed before everything after it began.  Linearizing
an operation *lifts* its call and return out of the doubly linked list (O(1)); backtracking *unlifts*
them in reverse order, so no list is ever copied.

Lowe (2017), "Testing for linearizability", Concurrency Computat.: Pract. Exper. 29(4): memoise
configurations.  Two search nodes with the same set of linearized operations and the same model state
have the same future, so each ``(linearized set, state)`` pair is explored once.  The set is kept as
a watermark and a window: every definite operation (in call order) below the watermark is placed, and
an ``int`` bitset says which above it are; real time keeps that window as narrow as the history's
concurrency, so a configuration costs a few words however long the part (a bitset of the whole part,
as Lowe and Porcupine keep, costs 12 KB a configuration at 100,000 operations).  The INFO operations
assumed to have taken effect are a bitset of their own.

In the spirit of Lowe's just-in-time linearization, an operation is placed only when the search needs
it, and the cheapest choices come first.  Every choice below is sound and complete (it never loses a
linearization), so the verdict does not depend on it:

- Reads first, and committed.  A definite read-only operation (``model.read_only``) whose result fits
  the current state is placed at once, and its siblings are never tried: any linearization that
  places the read later stays valid with the read moved to the front, since it changes nothing and
  every operation that had to precede it already has.  If that configuration was explored before,
  the current one has failed too.
- Then other definite operations, in call order.
- Indeterminate (INFO) operations last, and only where they change the state: placing one that
  changes nothing only removes options, as it could always be left out.  Among INFO operations with
  the same effect (``model.effect``: two timed-out writes of 3), only the earliest pending one is a
  candidate; either can stand in for the other.
- Dominance: a configuration that assumed a superset of the INFO operations of a failed one, with
  the same definite operations placed and the same state, fails too (it has fewer candidates and
  the same deadlines), so it is skipped.

Candidates are kept on separate doubly linked lists (reads, other definite calls, INFO calls, and the
returns), all in real-time order; an operation is a candidate while its call precedes the first
remaining return.  Without the separate INFO list, INFO calls (which never return) would sit at the
head of a single list forever and be tried first at every step: the usual cause of blow-ups on
histories with many timeouts.

Horn & Kroening (2015), "Faster linearizability checking via P-compositionality", FORTE: a history is
linearizable iff each independent part is; the caller (``redlin.search.check``) splits the history with
the model's ``partition`` and calls :func:`search_part` once per part.

Indeterminate operations
------------------------
An INFO operation may take effect at any time after its call, or never.  It has a call entry but no
return entry (its return is at +infinity, so it never blocks the search), and the search succeeds as
soon as every definite operation is linearized; INFO operations still pending then are the ones that
never happened.  FAIL operations must be removed by the caller.

Budgets
-------
The memo is the memory: every explored configuration is kept, so a budget of configurations bounds
memory, and ``deadline`` bounds wall-clock time.  Running out of either yields :class:`OutOfBudget`,
never a guess.  A :class:`PartSearch` is resumable: when it reaches its budget it is suspended, memo
and all, so the caller can give parts budgets in rounds without redoing work.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Generator, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from redlin.history.records import Operation, Outcome
from redlin.search.model import Model
from redlin.search.result import Prefix

_Path = Any
"""A search path: ``None``, or (call entry, state before it, low, window, the path before it)."""

PREFIXES_KEPT = 8
"""How many longest linearizable prefixes a violation keeps: enough to show the alternatives that
were tried, few enough to keep reports (and the search) small."""

_FAILURES_KEPT = 16
"""Failed INFO sets kept per (definite operations, state) for the dominance test: it is a pruning,
so keeping fewer is always sound; a bound keeps each test cheap."""

_CHECK_EVERY = 1024
"""New configurations between two looks at the clock (and collections of young cyclic garbage)."""
STOP_EVERY = 1024
"""Configurations between two questions to :func:`search_part`'s ``stop``."""
STOPPED = "stopped: the verdict was settled elsewhere"
"""The reason of an :class:`OutOfBudget` that :func:`search_part`'s ``stop`` ended."""


@dataclass(frozen=True, slots=True)
class Linearized:
    """The part has a linearization: ``order`` lists its operation ids."""

    order: tuple[int, ...]
    states_explored: int


@dataclass(frozen=True, slots=True)
class Stuck:
    """The part has no linearization; ``operation`` cannot be placed after any of ``prefixes``, or
    (from a fast path, without a search) after the operations of ``proof``."""

    operation: int
    prefixes: tuple[Prefix, ...]
    states_explored: int
    proof: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class OutOfBudget:
    """The search stopped before a verdict; ``reason`` says which budget ran out."""

    reason: str
    states_explored: int


PartOutcome = Linearized | Stuck | OutOfBudget


def _entries(ops: Sequence[Operation]) -> list[tuple[int, int, int]]:
    """The call and return entries of ``ops`` in real-time order, as (time, 0 for a call or 1 for a
    return, op index).

    At equal times calls come before returns: A precedes B only if A completed strictly before B
    was invoked, so touching intervals overlap.  INFO operations have a call entry only.
    """
    events: list[tuple[int, int, int]] = []
    append, ok, info = events.append, Outcome.OK, Outcome.INFO
    for index, op in enumerate(ops):
        outcome = op.outcome
        if outcome is ok:
            complete = op.complete
            if complete is None:
                raise ValueError(f"operation {op.id}: a definite operation needs a completion time")
            if complete < op.invoke:
                raise ValueError(f"operation {op.id}: completed ({complete}) before invoked ({op.invoke})")
            append((complete, 1, index))
        elif outcome is not info:
            raise ValueError(f"operation {op.id}: {outcome.value} operations must be removed before searching")
        append((op.invoke, 0, index))
    events.sort()
    return events


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


def cyclic_gc_paused() -> _GcPause:
    """Pause the cyclic garbage collector; ``with`` gives whether it was running (and will run again).

    The search allocates hundreds of thousands of small objects that it keeps (the memo) and
    creates no reference cycles, so the collector's repeated passes over the growing memo are pure
    cost: 30-45% of the search time on the kv histories.  Reference counting still frees all
    acyclic garbage at once; the search collects the youngest generation itself at its
    checkpoints, for the sake of models whose steps make cycles.  Nested and concurrent pauses
    share one.
    """
    return _PAUSE


class _GcPause:
    """:func:`cyclic_gc_paused`'s context: a class, as a generator-based one costs as much as a
    tiny part's search (a few microseconds, several times a part)."""

    __slots__ = ()

    def __enter__(self) -> bool:
        global _gc_pauses, _gc_was_enabled
        with _gc_lock:
            if _gc_pauses == 0:
                _gc_was_enabled = gc.isenabled()
                gc.disable()
            _gc_pauses += 1
            return _gc_was_enabled

    def __exit__(self, *exc: object) -> None:
        global _gc_pauses
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


_PAUSE = _GcPause()


class PartSearch:
    """A resumable search of one part: :meth:`run` it with a budget, and again with a larger one.

    A search that reaches its budget is suspended, memo and all, rather than abandoned, so giving it
    more later costs only the new configurations.  :meth:`close` frees a suspended search's memory.
    Run it inside :func:`cyclic_gc_paused` (``collect_young`` is what that yields).
    """

    def __init__(
        self, ops: Sequence[Operation], model: Model[Any], *, deadline: float | None, collect_young: bool
    ) -> None:
        self._search: Generator[int, int, PartOutcome] | None = _search(ops, model, deadline, collect_young)
        self._started = False
        self.explored = 0
        """Configurations memoised so far (the memory this search holds while suspended)."""

    def run(self, budget: int) -> PartOutcome | None:
        """Go on until a verdict (returned) or until ``budget`` configurations in all (``None``)."""
        if self._search is None:
            raise RuntimeError("this search has finished or was closed")
        try:
            if not self._started:
                self._started = True
                next(self._search)
            self.explored = self._search.send(budget)
        except StopIteration as stop:
            self._search = None
            outcome: PartOutcome = stop.value
            self.explored = outcome.states_explored
            return outcome
        return None

    def close(self) -> None:
        """Drop the memo of a suspended search."""
        if self._search is not None:
            self._search.close()
            self._search = None


def search_part(
    ops: Sequence[Operation],
    model: Model[Any],
    *,
    deadline: float | None,
    max_states: int,
    stop: Callable[[], bool] | None = None,
) -> PartOutcome:
    """Decide whether ``ops`` (OK and INFO operations of one part) are linearizable under ``model``.

    ``deadline`` is a ``time.monotonic()`` instant or ``None``; ``max_states`` bounds the number of
    memoised configurations.  The result never depends on the budget except by becoming
    :class:`OutOfBudget`.  ``stop``, asked after every :data:`STOP_EVERY` configurations, ends the
    search early when it says so (an :class:`OutOfBudget` that says it was stopped): another
    process settled the verdict meanwhile.
    """
    with cyclic_gc_paused() as collect_young:
        search = PartSearch(ops, model, deadline=deadline, collect_young=collect_young)
        step = max_states if stop is None else STOP_EVERY
        reached = 0
        outcome = None
        while outcome is None and reached < max_states:
            reached = min(max_states, reached + step)
            outcome = search.run(reached)
            if outcome is None and stop is not None and reached < max_states and stop():
                search.close()
                return OutOfBudget(STOPPED, search.explored)
        search.close()
    if outcome is None:
        return OutOfBudget(exhausted(max_states), search.explored)
    return outcome


def exhausted(budget: int) -> str:
    """Why a search that explored ``budget`` configurations stopped.

    >>> exhausted(10_000)
    'state budget of 10000 configurations exhausted'
    """
    return f"state budget of {budget} configurations exhausted"


def _search(
    ops: Sequence[Operation],
    model: Model[Any],
    deadline: float | None,
    collect_young: bool,
) -> Generator[int, int, PartOutcome]:
    """The search itself, as a generator: it first receives a budget (a number of configurations);
    whenever it has explored that many it yields the count and receives a larger budget; it
    returns the outcome (an OutOfBudget only for the deadline)."""
    budget = yield 0
    if not ops:
        return Linearized(order=(), states_explored=0)
    # Entries 1..m are the calls and returns in real-time order, so "call c precedes return r" is
    # just c < r.  They are threaded on four doubly linked lists that share the nxt/prv arrays, each
    # with a head and a tail sentinel numbered above m (so a scan stops at a tail as it stops at a
    # return): the returns, the definite read-only calls, the other definite calls, the INFO calls.
    # No tail is reached while a definite operation is pending: its return lies before them all.
    layout = _entries(ops)
    m = len(layout)
    returns_head, reads_head, writes_head, maybe_head = m + 1, m + 2, m + 3, m + 4
    heads = (reads_head, writes_head, maybe_head)  # scanned in this order: phase 0, 1, 2
    size = m + 9
    call_op: list[Operation] = [ops[0]] * size  # call entry -> its operation (others: filler)
    returns_to: list[int] = [0] * size  # call entry -> its return entry (0: none, an INFO op)
    rank: list[int] = [0] * size  # call entry -> its definite operation's rank (in call order)
    bit: list[int] = [0] * size  # call entry -> its INFO operation's bit in the set of assumed ones
    phase_of: list[int] = [0] * size  # call entry -> the phase of its list
    returning: list[int] = [0] * size  # return entry -> index of its operation in ops
    read_only = model.read_only
    call_entry_of = [0] * len(ops)  # index in ops -> its call entry
    reads: list[int] = []  # each list's entries, in order (linked below, in one pass each)
    writes: list[int] = []
    infos: list[int] = []
    returned: list[int] = []
    ranked = 0
    ok = Outcome.OK
    for entry, (_, is_return, index) in enumerate(layout, start=1):
        if is_return:
            returning[entry] = index
            returns_to[call_entry_of[index]] = entry
            returned.append(entry)
            continue
        op = ops[index]
        call_op[entry] = op
        call_entry_of[index] = entry
        if op.outcome is not ok:
            phase_of[entry] = 2
            bit[entry] = 1 << len(infos)
            infos.append(entry)
        else:
            rank[entry] = ranked
            ranked += 1
            if read_only is not None and read_only(op):
                reads.append(entry)  # (phase 0)
            else:
                phase_of[entry] = 1
                writes.append(entry)
    nxt = [0] * size
    prv = [0] * size
    for tail, (head, chain) in enumerate(((returns_head, returned), (reads_head, reads), (writes_head, writes),
                                          (maybe_head, infos)), start=m + 5):
        linked = [head, *chain, tail]
        for before, after in zip(linked, linked[1:]):
            nxt[before] = after
            prv[after] = before
    # twin[e]: for an INFO call, the bit of the previous INFO call with the same effect
    # (model.effect); it may be placed only once that twin is.  Interchangeable INFO operations
    # are thus placed in call order, which loses nothing: the earlier one can stand in for the later
    # wherever the later is placed, and it is a candidate whenever the later one is.
    twin = [0] * size
    if model.effect is not None:
        effect = model.effect
        last_with_effect: dict[Hashable, int] = {}
        entry = nxt[maybe_head]
        while entry < m + 1:
            key = effect(call_op[entry])
            if key in last_with_effect:
                twin[entry] = bit[last_with_effect[key]]
            last_with_effect[key] = entry
            entry = nxt[entry]
    # committed[e]: a definite read-only operation; once it fits, its siblings need no trying.
    committed = [False] * size
    for entry in reads:
        committed[entry] = True

    step = (model.for_part(ops) if model.for_part is not None else None) or model.step
    state: Hashable = model.init()
    # The definite operations linearized so far: every one ranked below `low`, and those of
    # `window` (bit k: rank low + k; bit 0 is clear).  Real time keeps them close to a prefix, so
    # this stays a few words long however long the part is: a plain bitset of the part would cost
    # every configuration in the memo an int as long as the part (12 KB at 100k operations).
    low = 0
    window = 0
    assumed = 0  # the INFO operations assumed to have taken effect (by `bit`)
    seen: set[tuple[int, int, int, Hashable]] = set()
    remember = seen.add
    # Failed configurations that assumed INFO operations, by (definite operations, state): a
    # configuration that assumed a superset of a failed one's INFO operations fails too.
    failed: dict[tuple[int, int, Hashable], list[int]] = {}
    failed_get = failed.get
    # The search path, as a persistent list: (call entry, state, low, window before it, the rest).
    # A dead end keeps a reference to it, never a copy: copying the path at every new deepest dead
    # end made a long part quadratic.
    path: _Path = None
    definite = ranked  # (each definite operation has one call entry, ranked in call order)
    pending = definite  # definite operations not yet placed
    explored = 0
    checkpoint = min(budget, _CHECK_EVERY)
    deepest = -1
    dead_ends: list[tuple[_Path, Hashable, int]] = []

    due = nxt[returns_head]  # the first remaining return: candidates are the calls before it
    phase = 0
    entry = nxt[reads_head]
    while pending:
        if entry < due:
            op = call_op[entry]
            if phase == 2:
                if assumed & twin[entry] != twin[entry]:
                    # An earlier INFO operation with the same effect is still pending: use it.
                    entry = nxt[entry]
                    continue
                new_state = step(state, op)
                if new_state is None or new_state == state:
                    # Impossible here, or changes nothing: better left out (placing it only
                    # removes options).
                    entry = nxt[entry]
                    continue
            else:
                new_state = step(state, op)
                if new_state is None:
                    entry = nxt[entry]
                    continue
            if phase == 2:
                new_low, new_window, new_assumed = low, window, assumed | bit[entry]
            else:
                new_assumed = assumed
                offset = rank[entry] - low
                if offset:
                    new_low, new_window = low, window | (1 << offset)
                else:  # the lowest pending one: move the watermark past every placed one above it
                    new_window = window | 1
                    ones = (~new_window & (new_window + 1)).bit_length() - 1
                    new_low, new_window = low + ones, new_window >> ones
            remember((new_low, new_window, new_assumed, new_state))
            fresh = len(seen) != explored  # (one hash instead of a lookup and an insertion)
            if fresh:
                explored += 1
                if explored >= checkpoint:
                    if deadline is not None and time.monotonic() >= deadline:
                        return OutOfBudget(f"time limit reached after {explored} configurations", explored)
                    if collect_young:
                        gc.collect(0)
                    while explored >= budget:
                        budget = yield explored
                    checkpoint = min(budget, explored + _CHECK_EVERY)
                if new_assumed:
                    for failure in failed_get((new_low, new_window, new_state), ()):
                        if failure & new_assumed == failure:
                            fresh = False  # dominated by a failed configuration
                            break
            if fresh:
                path = (entry, state, low, window, path)
                state = new_state
                low = new_low
                window = new_window
                assumed = new_assumed
                # Lift the call (and its return, if any) out of their lists.
                before = prv[entry]
                after = nxt[entry]
                nxt[before] = after
                prv[after] = before
                ret = returns_to[entry]
                if ret:
                    before = prv[ret]
                    after = nxt[ret]
                    nxt[before] = after
                    prv[after] = before
                    pending -= 1
                    due = nxt[returns_head]
                phase = 0
                entry = nxt[reads_head]
                continue
            if not committed[entry]:
                entry = nxt[entry]
                continue
            # A read that fits leads to a configuration explored before (hence failed): this one
            # has failed too.  Fall through to back up.
        elif phase < 2:
            phase += 1
            entry = nxt[heads[phase]]
            continue
        else:
            # Every candidate has been tried: the return `due` has come and this configuration
            # cannot reach a linearization.  Depth counts definite operations: at the deepest such
            # dead end every definite candidate, `due`'s among them, is impossible in the model
            # (one that fitted would lead deeper, or to a configuration that failed deeper).
            depth = definite - pending
            if depth >= deepest:
                if depth > deepest:
                    deepest = depth
                    dead_ends.clear()
                if len(dead_ends) < PREFIXES_KEPT:
                    dead_ends.append((path, state, due))
        # Back up; past a committed read its configuration has failed as well, so keep going.
        while True:
            if path is None:
                return Stuck(
                    operation=ops[returning[dead_ends[0][2]]].id,
                    prefixes=tuple(_prefix(call_op, dead_path, last) for dead_path, last, _ in dead_ends),
                    states_explored=explored,
                )
            if assumed:
                key = (low, window, state)
                failures = failed_get(key)
                if failures is None:
                    failed[key] = [assumed]
                elif len(failures) < _FAILURES_KEPT:
                    failures.append(assumed)
            entry, state, low, window, path = path
            if phase_of[entry] == 2:
                assumed ^= bit[entry]
            # Unlift in the reverse order of the lift.
            ret = returns_to[entry]
            if ret:
                nxt[prv[ret]] = ret
                prv[nxt[ret]] = ret
                pending += 1
            nxt[prv[entry]] = entry
            prv[nxt[entry]] = entry
            if not committed[entry]:
                break
        # Go on after it in its own list: every earlier phase has been tried in this configuration.
        due = nxt[returns_head]
        phase = phase_of[entry]
        entry = nxt[entry]
    order = []
    while path is not None:
        order.append(call_op[path[0]].id)
        path = path[4]
    return Linearized(order=tuple(reversed(order)), states_explored=explored)


def _prefix(call_op: list[Operation], path: _Path, last_state: Hashable) -> Prefix:
    """Turn a saved search path into (operation id, state after it) pairs, first to last."""
    prefix: list[tuple[int, Hashable]] = []
    after = last_state
    while path is not None:
        entry, before, _, _, path = path
        prefix.append((call_op[entry].id, after))
        after = before
    return tuple(reversed(prefix))
