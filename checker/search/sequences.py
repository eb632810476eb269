"""A fast path for one list used as a queue or a stack of unique values, both ways.

A part that pushes unique values onto one end of one list and pops them from one end (a Redis list
used as a queue, ``RPUSH k v`` and ``LPOP k``, or as a stack, ``RPUSH k v`` and ``RPOP k``) is far
easier than the general problem: Abdulla et al. ("Efficient Linearizability Monitoring", 2025)
decide queues in O(n log n) and stacks in O(n^2), and Henzinger, Sezgin and Vafeiadis
("Aspect-oriented linearizability proofs", CONCUR 2013) reduce a queue's violations to a few
forbidden patterns.  Like the other fast paths (:mod:`redlin.search.fastpath`), this one proves its
"yes" with a witness the model replays, so a wrong guess here can only cost speed; its "no" is a
pattern that no order survives, named by its operations.

The argument
------------
Every pushed value is unique, so a definite pop names the one push it undoes, and a linearization
is a walk through the list's contents.  The fast path walks it depth first, one operation at a
time, among those real time allows next (invoked no later than every definite operation left
completed), in an order that is almost always right the first time:

- a pop of the value at the head (a queue) or the top (a stack), or an empty pop when the list is
  empty, comes first.  An empty pop changes nothing, so placing it as soon as it fits is always
  safe.  So is such a pop of a value when no push with a length is left that began before the pop
  completed: in any linearization of the rest, only pushes can come before that pop (a pop of
  another value would take the head or top, an empty pop would find the value), none of them
  with a length it would change, so moving the pop before them changes no reply.  Then the walk
  takes it with no other option;
- else a push: for a queue the one whose value must come out soonest (its pop completes first),
  for a stack the one that must stay longest (its pop completes last; one nobody pops first).

A push's reply (the list's length after it) and an indeterminate operation can make such a choice
wrong: a push waits for its length, and the walk backtracks to its latest choice with another
option when it is stuck, within a step budget linear in the part's size and a bound on dead ends
met without progress (then ``None``: the search decides).  Three necessary conditions cut dead
branches early: a queue's push must not overtake a value not yet pushed whose pop completed before
the push or its pop began (that value comes out first); a push whose length is shorter than the
list, or an empty pop, needs the value that would leave last before it to have a pop begun before
it completes; one whose length is longer needs enough pushes left that begin before it completes.
A configuration (what is placed, what the list holds, by fingerprints) found dead once is not
explored again.  An indeterminate pop, or push nobody popped, is optional: tried only when nothing
else fits.  A push of a popped value must be placed, its completion taken as +infinity.

This decides stacks in practice (on random histories of eight clients), and queues of a few
hundred operations; on longer queues a wrong order of two pushes of the same length may show only
when their values come out, a queue's length later, and the walk runs out of budget.

Its "no" (:func:`refute_sequence`) is one of these patterns, each impossible in every order: a value
popped twice (*repeat*) or never pushed (*fresh*), a pop that completed before its push began
(*early*), two values that overtook one another (*order*: for a queue, push(a) completed before
push(b) began and pop(b) before pop(a), or a was never popped and no pop is indeterminate; for a
stack, push(a), push(b), pop(a), pop(b), each completed before the next began), and an empty pop
while a value was certainly in the list (*witness*: push(a) completed before it began and pop(a)
began after it completed, or never).

>>> from redlin.history.records import Operation
>>> def access(op):
...     if op.call[0] == "push":
...         return "push", "right", None, op.call[1], op.result
...     return "pop", op.call[1], None, EMPTY if op.result is None else op.result, None
>>> ops = [Operation(0, "a", ("push", 1), 2, 0, 10), Operation(1, "b", ("push", 2), 1, 1, 3),
...        Operation(2, "c", ("pop", "left"), 2, 4, 11), Operation(3, "d", ("pop", "left"), 1, 12, 13)]
>>> decide_sequence(ops, access)    # a queue: 2 was pushed first, its length says so
(1, 0, 2, 3)
>>> twice = ops + [Operation(4, "e", ("pop", "left"), 1, 14, 15)]
>>> decide_sequence(twice, access) is None, refute_sequence(twice, access)  # 1 popped twice
(True, ('repeat', 4, (3,)))
"""

from __future__ import annotations

import bisect
import heapq
import random
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from redlin.history.records import Operation, Outcome

_OK = Outcome.OK
_INFO = Outcome.INFO

__all__ = ["EMPTY", "SequenceAccess", "decide_sequence", "refute_sequence"]

EMPTY: object = object()
"""The value a view gives a pop that found the list empty (and an indeterminate pop)."""

SequenceAccess = tuple[str, Hashable, Hashable, Hashable, int | None]
"""How a view sees one operation: ``(kind, end, object, value, length)``: kind ``"push"`` or
``"pop"``; ``end`` the end of the list it works on (any hashable: a part's pushes must all name one
end, and its pops one end, the other for a queue, the same for a stack); ``object`` names the list;
``value`` the value pushed, or the one a definite pop returned (:data:`EMPTY` for none); ``length``
the list's length after a definite push as its reply says, or ``None``."""

_INF = float("inf")
_NEG_INF = float("-inf")
_PUSH, _POP, _EMPTY, _INFO_POP = 0, 1, 2, 3
_MODULUS = (1 << 61) - 1
_BASE = 1_000_003
_random = random.Random(15)  # fingerprints: a collision can only hide a witness (then None)
STEPS_PER_OPERATION = 4
"""The walk's budget: this many placements per operation (plus a thousand) before it gives up."""
STALL = 2000
"""The walk also gives up after this many dead ends without placing more operations than before."""


@dataclass(slots=True)
class _Part:
    """One list's operations, by index into the part: kind, value, length (0: unknown), interval."""

    queue: bool
    kinds: list[int]
    values: list[Hashable]
    lengths: list[int]
    invokes: list[float]
    completes: list[float]
    pushes: dict[Hashable, list[int]]
    pops: dict[Hashable, list[int]]  # definite pops of a value


def _classify(ops: Sequence[Operation], access: Callable[[Operation], SequenceAccess | None]) -> _Part | None:
    """The part as one list's pushes and pops, or ``None`` if it is not one (another command, a
    second list, pushes at both ends, a definite operation without a sane interval)."""
    part = _Part(True, [], [], [], [], [], {}, {})
    ends: dict[str, Hashable] = {}
    first: Hashable = None
    for index, op in enumerate(ops):
        seen = access(op)
        if seen is None:
            return None
        kind, end, obj, value, length = seen
        if not index:
            first = obj
        elif obj != first or ends.setdefault(kind, end) != end:
            return None
        ends.setdefault(kind, end)
        definite = op.outcome is _OK
        if definite:
            if op.complete is None or op.complete < op.invoke:
                return None
        elif op.outcome is not _INFO:
            return None
        part.invokes.append(op.invoke)
        part.completes.append(op.complete if definite and op.complete is not None else _INF)
        part.values.append(value)
        part.lengths.append(length if definite and length else 0)
        if kind == "push":
            part.kinds.append(_PUSH)
            part.pushes.setdefault(value, []).append(index)
        elif not definite:
            part.kinds.append(_INFO_POP)
        elif value is EMPTY:
            part.kinds.append(_EMPTY)
        else:
            part.kinds.append(_POP)
            part.pops.setdefault(value, []).append(index)
    part.queue = len(ends) < 2 or ends["push"] != ends["pop"]
    return part


def decide_sequence(ops: Sequence[Operation], access: Callable[[Operation], SequenceAccess | None]
                    ) -> tuple[int, ...] | None:
    """A linearization of ``ops`` (op ids, in order) for one queue or stack of unique values, if the
    walk of the module docstring finds one within its budget; ``None`` otherwise.  Not re-verified
    here: the caller replays it through the model."""
    part = _classify(ops, access)
    if part is None or any(len(indexes) > 1 for indexes in part.pushes.values()):
        return None
    if any(len(indexes) > 1 or value not in part.pushes for value, indexes in part.pops.items()):
        return None  # popped twice, or never pushed: refute_sequence says so
    order = _walk(part, STEPS_PER_OPERATION * len(ops) + 1000)
    return None if order is None else tuple(ops[index].id for index in order)


def _walk(part: _Part, budget: int) -> list[int] | None:
    """The depth-first walk: the indexes of the operations in order, or ``None``."""
    kinds, values, lengths, invokes, completes = part.kinds, part.values, part.lengths, part.invokes, part.completes
    queue = part.queue
    count = len(kinds)
    popper = {value: indexes[0] for value, indexes in part.pops.items()}
    required = [kinds[i] in (_POP, _EMPTY) or completes[i] < _INF or values[i] in popper for i in range(count)]
    rank: list[float] = [0.0] * count  # a push's priority: lower first
    for index in range(count):
        if kinds[index] == _PUSH:
            deadline = completes[popper[values[index]]] if values[index] in popper else _INF
            rank[index] = deadline if queue else -deadline
    pushed_at = {values[i]: i for i in range(count) if kinds[i] == _PUSH}
    ahead = [(completes[popper[value]], push) for value, push in pushed_at.items() if value in popper]
    heapq.heapify(ahead)  # the pops of the values not yet pushed, by completion
    lenient = _INFO_POP in kinds  # an indeterminate pop may take a value nobody else pops
    by_invoke = sorted((i for i in range(count) if required[i]), key=invokes.__getitem__)
    position = {index: at for at, index in enumerate(by_invoke)}
    sized = [index for index in by_invoke if kinds[index] == _PUSH and lengths[index]]  # pushes with a length
    sized_at = {index: at for at, index in enumerate(sized)}
    sized_low = 0  # sized[:sized_low] are placed
    optional = sorted((i for i in range(count) if not required[i]), key=invokes.__getitem__)
    heap = [(completes[i], i) for i in by_invoke if completes[i] < _INF]
    heapq.heapify(heap)
    placed = bytearray(count)
    items: list[Hashable] = []  # the list, oldest push first
    head = 0  # a queue's head in items (popped values stay behind it)
    order: list[int] = []
    taken: list[tuple[Hashable, int] | None] = []  # what each placed operation took off a stack, and its code
    left = len(by_invoke)
    low = 0  # by_invoke[:low] are placed
    frames: list[list[int]] = []  # per placed operation: the options left, then whether extended
    keys: list[tuple[int, int]] = []  # per frame: its configuration's fingerprints
    dead: set[tuple[int, int]] = set()
    fingerprints = [_random.getrandbits(61) for _ in range(count)]
    placed_code = 0
    codes = [0]  # codes[i]: the fingerprint of items[:i]

    def current_horizon() -> float:
        while heap and placed[heap[0][1]]:
            heapq.heappop(heap)
        return heap[0][0] if heap else _INF

    deepest = stalled = 0  # the most placed so far, and the dead ends met since
    push_invokes = sorted(invokes[i] for i in range(count) if kinds[i] == _PUSH)
    pushed = 0  # pushes placed: every one began before any operation left completes

    def reachable(index: int, wanted: int, size: int) -> bool:
        # Whether the list can shrink to ``wanted`` values before operation ``index`` completes:
        # the last value to go first (the deepest of those above ``wanted`` on a stack, the one
        # before the ``wanted`` last in a queue) must have a pop begun by then.
        going = items[head + size - wanted - 1] if queue else items[wanted]
        if going not in popper:
            return lenient
        return invokes[popper[going]] <= completes[index]

    def options() -> list[int]:
        nonlocal low, sized_low
        horizon = current_horizon()
        while low < len(by_invoke) and placed[by_invoke[low]]:
            low += 1
        while sized_low < len(sized) and placed[sized[sized_low]]:
            sized_low += 1
        size = len(items) - head
        end = (items[head] if queue else items[-1]) if size else EMPTY
        pops: list[int] = []
        pushes: list[int] = []
        for at in range(low, len(by_invoke)):
            index = by_invoke[at]
            if invokes[index] > horizon:
                break
            if placed[index]:
                continue
            kind = kinds[index]
            if kind == _POP:
                if values[index] == end:
                    pops.append(index)
            elif kind == _EMPTY:
                if not size:
                    pops.append(index)
                elif not reachable(index, 0, size):
                    return []
            elif not lengths[index] or lengths[index] == size + 1:
                pushes.append(index)
            elif lengths[index] <= size and not reachable(index, lengths[index] - 1, size):
                return []
            elif lengths[index] > size + 1 and (
                    bisect.bisect_right(push_invokes, completes[index]) - pushed - 1 < lengths[index] - 1 - size):
                return []  # too few pushes left to begin before it completes, to make it long enough
        if queue and pushes:
            # A value must go in after every value not yet pushed whose pop completed before its
            # own push or pop began (they come out first), and one nobody pops after them all.
            while ahead and placed[ahead[0][1]]:
                heapq.heappop(ahead)
            due = ahead[0][0] if ahead else _INF
            pushes = [index for index in pushes if invokes[index] <= due and (
                invokes[popper[values[index]]] <= due if values[index] in popper else due == _INF or lenient)]
        for index in pops:
            if kinds[index] == _EMPTY or sized_low == len(sized) or invokes[sized[sized_low]] > completes[index]:
                return [index]  # safe, see the module docstring: no need for other options
        pushes.sort(key=rank.__getitem__)
        # Steer toward the operation that must come soonest (the earliest completion left): itself
        # if it fits, else pops first when it needs a shorter list (or another head or top), and
        # pushes first when it needs a longer one (or its own value pushed).
        urgent = heap[0][1] if heap else -1
        kind = kinds[urgent] if urgent >= 0 else _EMPTY
        if kind == _PUSH:
            if lengths[urgent] > size + 1 or urgent in pushes:
                return _first(urgent, pushes) + pops
        elif kind == _POP and values[urgent] in pushed_at and not placed[pushed_at[values[urgent]]]:
            return _first(pushed_at[values[urgent]], pushes) + pops
        return pops + pushes

    def optional_options() -> list[int]:
        size, horizon = len(items) - head, current_horizon()
        found: list[int] = []
        info_pop = False
        for index in optional:
            if invokes[index] > horizon:
                break
            if not placed[index]:
                if kinds[index] == _PUSH:
                    found.append(index)
                elif size and not info_pop:  # every indeterminate pop does the same: one will do
                    found.append(index)
                    info_pop = True
        return found

    while left:
        # The configuration (what is placed, what the list holds) by fingerprints: a dead one, all
        # of whose options failed before along another path, fails again.
        key = (placed_code, (codes[-1] - codes[head] * pow(_BASE, len(items) - head, _MODULUS)) % _MODULUS)
        frames.append([] if key in dead else [*reversed(options()), 0])
        keys.append(key)
        while True:
            frame = frames[-1]
            if len(frame) == 1 and not frame[0]:
                frame[0] = 1
                frame[:0] = reversed(optional_options())
            if len(frame) > 1:
                index = frame.pop(-2)
                budget -= 1
                if budget < 0 or stalled > STALL:
                    return None
                placed[index] = 1
                placed_code ^= fingerprints[index]
                order.append(index)
                if len(order) > deepest:
                    deepest, stalled = len(order), 0
                left -= required[index]
                kind = kinds[index]
                if kind == _PUSH:
                    pushed += 1
                    items.append(values[index])
                    codes.append((codes[-1] * _BASE + fingerprints[index]) % _MODULUS)
                    taken.append(None)
                elif kind == _EMPTY:
                    taken.append(None)
                elif queue:
                    head += 1
                    taken.append(None)
                else:
                    taken.append((items.pop(), codes.pop()))
                break
            frames.pop()
            dead.add(keys.pop())
            stalled += 1
            if not frames:
                return None
            index = order.pop()  # undo the choice of the frame below, and try its next option
            placed[index] = 0
            placed_code ^= fingerprints[index]
            left += required[index]
            if required[index]:
                low = min(low, position[index])
                sized_low = min(sized_low, sized_at.get(index, sized_low))
                if completes[index] < _INF:
                    heapq.heappush(heap, (completes[index], index))
            popped = taken.pop()
            if kinds[index] == _PUSH:
                pushed -= 1
                items.pop()
                codes.pop()
                if values[index] in popper:
                    heapq.heappush(ahead, (completes[popper[values[index]]], index))
            elif kinds[index] != _EMPTY:
                if queue:
                    head -= 1
                elif popped is not None:
                    items.append(popped[0])
                    codes.append(popped[1])
    return order


def _first(index: int, options: list[int]) -> list[int]:
    """``options`` with ``index`` moved to the front, if it is there."""
    return [index] + [option for option in options if option != index] if index in options else options


def refute_sequence(ops: Sequence[Operation], access: Callable[[Operation], SequenceAccess | None]
                    ) -> tuple[str, int, tuple[int, ...]] | None:
    """A pattern of the module docstring that no order of ``ops`` survives, as ``(name, operation,
    proof)``: the operation that cannot be placed and the others of the pattern, as indexes into
    ``ops``; or ``None`` when none is found (which proves nothing: the search decides)."""
    part = _classify(ops, access)
    if part is None:
        return None
    for value, indexes in part.pops.items():
        pushed = part.pushes.get(value, [])
        if not pushed:
            return "fresh", indexes[0], ()
        if len(pushed) == 1 and len(indexes) > 1:
            earlier, later = sorted(indexes[:2], key=part.invokes.__getitem__)
            return "repeat", later, (earlier,)
    if any(len(indexes) > 1 for indexes in part.pushes.values()):
        return None
    push_of = {value: indexes[0] for value, indexes in part.pushes.items()}
    for value, indexes in part.pops.items():
        if part.completes[indexes[0]] < part.invokes[push_of[value]]:
            return "early", indexes[0], (push_of[value],)
    never = _INF if _INFO_POP not in part.kinds else _NEG_INF  # a value nobody popped: popped never
    pairs = [(push, part.pops[value][0] if value in part.pops else -1) for value, push in push_of.items()]
    found = _overtaken(part, pairs, never) if part.queue else _buried(part, pairs)
    if found is not None:
        return found
    return _witnessed(part, pairs, never)


def _pop_invoke(part: _Part, pop: int, never: float) -> float:
    return never if pop < 0 else part.invokes[pop]


def _overtaken(part: _Part, pairs: list[tuple[int, int]], never: float) -> tuple[str, int, tuple[int, ...]] | None:
    """A queue's order pattern: a push completed before another began, whose value came out first."""
    invokes, completes = part.invokes, part.completes
    earlier = sorted(pairs, key=lambda pair: completes[pair[0]])
    best: tuple[int, int] | None = None  # the pushed-earlier pair whose pop began last
    at = 0
    for push, pop in sorted(pairs, key=lambda pair: invokes[pair[0]]):
        while at < len(earlier) and completes[earlier[at][0]] < invokes[push]:
            if best is None or _pop_invoke(part, earlier[at][1], never) > _pop_invoke(part, best[1], never):
                best = earlier[at]
            at += 1
        if best is not None and pop >= 0 and completes[pop] < _pop_invoke(part, best[1], never):
            return "order", pop, (best[0], push) if best[1] < 0 else (best[0], push, best[1])
    return None


def _buried(part: _Part, pairs: list[tuple[int, int]]) -> tuple[str, int, tuple[int, ...]] | None:
    """A stack's order pattern: push(a), push(b), pop(a), pop(b), each completed before the next began
    (b was above a when a came out).  Offline: a by pop invocation, the b pushed in time in a
    Fenwick tree of the latest pop invocation by push invocation, queried above push(a)'s completion."""
    invokes, completes = part.invokes, part.completes
    popped = [pair for pair in pairs if pair[1] >= 0]
    starts = sorted({invokes[push] for push, _ in popped})
    slot = {start: len(starts) - at for at, start in enumerate(starts)}  # later push invocation: lower slot
    tree: list[tuple[float, int]] = [(_NEG_INF, -1)] * (len(starts) + 1)
    candidates = sorted(popped, key=lambda pair: completes[pair[0]])
    at = 0
    for push_a, pop_a in sorted(popped, key=lambda pair: invokes[pair[1]]):
        while at < len(candidates) and completes[candidates[at][0]] < invokes[pop_a]:
            entry = (invokes[candidates[at][1]], at)
            index = slot[invokes[candidates[at][0]]]
            while index < len(tree):
                tree[index] = max(tree[index], entry)
                index += index & -index
            at += 1
        best: tuple[float, int] = (_NEG_INF, -1)
        index = len(starts) - _count_at_most(starts, completes[push_a])  # pushes invoked after push(a)
        while index > 0:
            best = max(best, tree[index])
            index -= index & -index
        if best[1] >= 0 and best[0] > completes[pop_a]:
            push_b, pop_b = candidates[best[1]]
            return "order", pop_a, (push_a, push_b, pop_b)
    return None


def _count_at_most(sorted_values: list[float], bound: float) -> int:
    low, high = 0, len(sorted_values)
    while low < high:
        middle = (low + high) // 2
        if sorted_values[middle] <= bound:
            low = middle + 1
        else:
            high = middle
    return low


def _witnessed(part: _Part, pairs: list[tuple[int, int]], never: float) -> tuple[str, int, tuple[int, ...]] | None:
    """An empty pop while a value was certainly in the list: pushed before it, popped after it."""
    invokes, completes = part.invokes, part.completes
    earlier = sorted(pairs, key=lambda pair: completes[pair[0]])
    best: tuple[int, int] | None = None
    at = 0
    for empty in sorted((i for i, kind in enumerate(part.kinds) if kind == _EMPTY), key=invokes.__getitem__):
        while at < len(earlier) and completes[earlier[at][0]] < invokes[empty]:
            if best is None or _pop_invoke(part, earlier[at][1], never) > _pop_invoke(part, best[1], never):
                best = earlier[at]
            at += 1
        if best is not None and completes[empty] < _pop_invoke(part, best[1], never):
            return "witness", empty, (best[0],) if best[1] < 0 else (best[0], best[1])
    return None
