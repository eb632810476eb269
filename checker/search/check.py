"""The entry point: check a whole history, part by part, within a budget.

Horn & Kroening's P-compositionality makes a history linearizable iff each of its independent parts
is, so :func:`check` splits the history with the model's ``partition``, decides the parts a fast
path knows (unique-value registers, strings of unique appends), runs the cheap sound pre-checks of
the others, then searches them smallest first and stops at the first violation.
A part whose search runs out of budget does not end the check: a later part may still prove a
violation, which settles the verdict; otherwise the whole is :class:`~redlin.Unknown`.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from typing import Any

from redlin.history.records import History, Operation, Outcome
from redlin.search.fastpath import fast_decision
from redlin.search.forced import replay_as_listed
from redlin.search.model import CannotPartition, Model, ModelLimit
from redlin.search.result import Linearizable, Result, Unknown, Violation
from redlin.search.wgl import Linearized, PartSearch, Stuck, cyclic_gc_paused, exhausted

_FAIL = Outcome.FAIL
_NEG_INF = float("-inf")

DEFAULT_MAX_STATES = 1_000_000
"""Default bound on the configurations memoised at once, for a history of up to half a million
operations.  One costs about 400 bytes with the kv model's strings of a few hundred characters
(measured on Porcupine's c50 histories), so this keeps a check under half a GiB for such states; the
largest peer history needs 0.3 M."""

YOUNG_EVERY = 256
"""Parts decided by a fast path between two collections of the youngest generation (the collector
is paused meanwhile)."""

STATES_PER_OPERATION = 2
"""A longer history's default budget grows with it: this many configurations per operation.  Even
a history whose operations never overlap memoises one configuration per operation it linearizes,
so a fixed budget would make every long enough history Unknown; at this rate the memo stays about
the size of the loaded history itself (a loaded operation takes a few hundred bytes too)."""


def state_budget(max_states: int | None, operations: int) -> int:
    """The state budget of a check of ``operations`` operations: ``max_states`` when one was given,
    else :data:`DEFAULT_MAX_STATES` or :data:`STATES_PER_OPERATION` per operation, the larger.

    >>> state_budget(None, 1_000), state_budget(None, 3_000_000), state_budget(5, 3_000_000)
    (1000000, 6000000, 5)
    """
    if max_states is not None:
        return max_states
    return max(DEFAULT_MAX_STATES, STATES_PER_OPERATION * operations)

FIRST_ROUND_STATES = 10_000
"""Budget of the first round over the parts (see :func:`check_operations`)."""

ROUND_GROWTH = 8
"""Each round multiplies the budget of the parts still undecided by this."""


def check(
    history: History,
    model: Model[Any],
    *,
    time_limit: float | None = None,
    max_states: int | None = None,
) -> Result:
    """Decide whether ``history`` is linearizable with respect to ``model``.

    Parameters
    ----------
    history:
        The operations.  FAIL operations (definitely without effect) are ignored; INFO operations
        may have taken effect at any time after their invocation, or never.
    model:
        The sequential specification.
    time_limit:
        Seconds for the whole check (all parts together); ``None`` for no limit.
    max_states:
        The most configurations memoised at any one time, over all parts: this bounds the
        checker's memory (and the effort on any one part).  Default: :func:`state_budget`, which
        grows with the history.

    Returns
    -------
    Linearizable | Violation | Unknown
        ``Unknown`` only when a budget ran out and no part was proved to violate.

    Examples
    --------
    A read that returns a value older than a write that completed before it began:

    >>> from redlin import History, Operation, cas_register
    >>> ops = (Operation(0, "a", ("write", 1), None, invoke=0, complete=1),
    ...        Operation(1, "a", ("write", 2), None, invoke=2, complete=3),
    ...        Operation(2, "b", ("read",), 1, invoke=4, complete=5))
    >>> result = check(History(ops), cas_register())
    >>> result.verdict, result.operation
    ('violation', 2)
    """
    started = time.monotonic()
    deadline = None if time_limit is None else started + time_limit
    ops = [op for op in history.operations if op.outcome is not _FAIL]
    return check_operations(ops, model, started=started, deadline=deadline,
                            max_states=state_budget(max_states, len(ops)))


def check_operations(
    ops: Sequence[Operation],
    model: Model[Any],
    *,
    started: float,
    deadline: float | None,
    max_states: int,
) -> Result:
    """:func:`check` on OK and INFO operations, with the deadline already fixed (for the minimiser).

    Parts are searched smallest first in rounds of growing state budgets (``FIRST_ROUND_STATES``,
    times ``ROUND_GROWTH`` each round, up to ``max_states``), stopping at the first violation.
    The memos held at any moment (the running search's and the suspended ones') never exceed
    ``max_states`` configurations in all.  The witness lists parts in the order they were decided.
    """
    try:
        return _check_parts(ops, model, started=started, deadline=deadline, max_states=max_states)
    except CannotPartition as unsplittable:
        # An operation reached keys outside its part (a script with undeclared keys): the split
        # was unsound, so check the history again as one part.
        return _check_parts(ops, unsplittable.whole, started=started, deadline=deadline, max_states=max_states)


def _check_parts(
    ops: Sequence[Operation],
    model: Model[Any],
    *,
    started: float,
    deadline: float | None,
    max_states: int,
) -> Result:
    # The cyclic collector would walk every operation again and again while the parts and the fast
    # paths' replays allocate (a third of a million-operation check); neither makes cycles, and
    # the young generation is collected every few hundred parts for a model whose steps might.
    with cyclic_gc_paused() as collect_young:
        if model.partition is not None:
            settled = _one_client(ops, model, started, deadline, collect_young)
            if settled is not None:
                return settled
        parts = model.partition(ops) if model.partition is not None else [list(ops)]
        parts = sorted(parts, key=len)  # small parts first: cheap verdicts, and an early stop is likelier

        explored = 0
        witness: list[tuple[int, ...]] = []
        linearized_parts: list[tuple[int, ...]] = []
        undecided = []
        for index, part in enumerate(parts):
            # A register part with unique values needs no search: Gibbons & Korach decide it in
            # O(n log n), and the witness is replayed through the model (:mod:`redlin.search.fastpath`);
            # nor does a string of unique appends, either way (:mod:`redlin.search.appends`).
            timely = deadline is None or time.monotonic() < deadline
            decided = fast_decision(part, model) if timely else None
            if collect_young and index % YOUNG_EVERY == YOUNG_EVERY - 1:
                gc.collect(0)
            if decided is None:
                undecided.append(index)
            elif isinstance(decided, Stuck):
                return Violation(part=tuple(op.id for op in part), operation=decided.operation, prefixes=decided.prefixes,
                                 states_explored=0, elapsed=time.monotonic() - started, proof=decided.proof,
                                 parts=part_ids(parts))
            else:
                witness.append(decided.order)
                linearized_parts.append(tuple([op.id for op in part]))

        if model.find_impossible is not None:
            # All pre-checks before any search: they are linear, and a violation found here makes every
            # search unnecessary (and survives a budget that a search would exhaust).
            for index in undecided:
                impossible = model.find_impossible(parts[index])
                if impossible is not None:
                    return Violation(
                        part=tuple(op.id for op in parts[index]),
                        operation=impossible.id,
                        prefixes=(),
                        states_explored=0,
                        elapsed=time.monotonic() - started,
                        parts=part_ids(parts),
                    )

    # Budgets grow by rounds: every undecided part gets a small budget first, then a larger one, so
    # one hard part (Porcupine's c50-bad has keys that exhaust 24 GB) cannot hide an easy violation
    # in another.  A part that reaches its budget is suspended with its memo and resumed in the next
    # round, unless the memos held would then exceed max_states: the largest are dropped first
    # (and searched again from scratch if their turn comes).
    suspended: dict[int, PartSearch] = {}
    budget = min(FIRST_ROUND_STATES, max_states)
    beyond: dict[int, str] = {}  # parts the model could not evaluate, with why
    out_of_time = False
    with cyclic_gc_paused() as collect_young:
        try:
            while undecided:
                postponed: list[int] = []
                for position, index in enumerate(undecided):
                    if deadline is not None and time.monotonic() >= deadline:
                        out_of_time = True
                        postponed.extend(undecided[position:])
                        break
                    search = suspended.pop(index, None)
                    _make_room(suspended, max_states - budget)
                    if search is None:
                        search = PartSearch(parts[index], model, deadline=deadline, collect_young=collect_young)
                    before = search.explored
                    try:
                        outcome = search.run(budget)
                    except ModelLimit as limit:  # this part cannot be decided; the others still can
                        explored += search.explored - before
                        search.close()
                        beyond[index] = str(limit)
                        continue
                    explored += search.explored - before
                    if outcome is None:
                        suspended[index] = search
                        postponed.append(index)
                    elif isinstance(outcome, Linearized):
                        witness.append(outcome.order)
                        linearized_parts.append(tuple(op.id for op in parts[index]))
                    elif isinstance(outcome, Stuck):
                        return Violation(
                            part=tuple(op.id for op in parts[index]),
                            operation=outcome.operation,
                            prefixes=outcome.prefixes,
                            states_explored=explored,
                            elapsed=time.monotonic() - started,
                            parts=part_ids(parts),
                        )
                    else:  # the deadline passed during the search
                        out_of_time = True
                        postponed.extend(undecided[position:])
                        break
                undecided = postponed
                if out_of_time or budget >= max_states:
                    break
                budget = min(max_states, budget * ROUND_GROWTH)
        finally:
            for search in suspended.values():
                search.close()
    elapsed = time.monotonic() - started
    if undecided or beyond:
        if beyond:
            reason = f"the model could not evaluate an operation: {next(iter(beyond.values()))}"
        elif out_of_time:
            reason = f"time limit reached after {elapsed:.3g} s"
        else:
            reason = exhausted(max_states)
        count = len(undecided) + len(beyond)
        return Unknown(
            reason=f"{reason}; {count} of {len(parts)} {'part' if len(parts) == 1 else 'parts'} undecided",
            parts_checked=len(linearized_parts),
            parts_total=len(parts),
            states_explored=explored,
            elapsed=elapsed,
            parts=part_ids(parts),
        )
    return Linearizable(
        witness=tuple(witness),
        parts=tuple(linearized_parts),
        states_explored=explored,
        elapsed=elapsed,
    )


def _one_client(ops: Sequence[Operation], model: Model[Any], started: float, deadline: float | None,
                collect_young: bool) -> Result | None:
    """The verdict on a history real time orders completely as listed, with one replay of the whole
    (:func:`~redlin.search.forced.replay_as_listed`) rather than one per part; ``None`` when it is
    not one (or a part does not come out ordered as the whole was, or the refused operation's part
    is not refused by the fast paths on its own: the parts are then checked one by one).  A refusal
    is worded by :func:`fast_decision` on the refused operation's part, as the parts' check would.
    Past ``deadline`` the replay stops, and the parts' check says what is left undecided."""
    accepted = replay_as_listed(ops, model, collect_young=collect_young, deadline=deadline)
    if accepted is None:
        return None
    assert model.partition is not None
    parts = sorted(model.partition(ops), key=len)
    if accepted == len(ops):
        orders: list[tuple[int, ...]] = []
        for part in parts:
            latest = _NEG_INF
            for op in part:
                if op.invoke <= latest:
                    return None  # the split reordered a part: its own forced order is another
                latest = op.invoke
            orders.append(tuple([op.id for op in part]))
        witness = tuple(orders)
        return Linearizable(witness=witness, parts=witness, states_explored=0, elapsed=time.monotonic() - started)
    refused = ops[accepted].id
    named = part_ids(parts)
    for part, ids in zip(parts, named):
        if refused in ids:
            decided = fast_decision(part, model)
            if isinstance(decided, Stuck):
                return Violation(part=ids, operation=decided.operation, prefixes=decided.prefixes, states_explored=0,
                                 elapsed=time.monotonic() - started, proof=decided.proof, parts=named)
    return None


def part_ids(parts: Sequence[Sequence[Operation]]) -> tuple[tuple[int, ...], ...]:
    """The operation ids of each part (what a result names).

    >>> part_ids([[Operation(3, 0, ("read",), 0, 0, 1)], []])
    ((3,), ())
    """
    return tuple([tuple([op.id for op in part]) for part in parts])  # (lists: a third faster than generators)


def _make_room(suspended: dict[int, PartSearch], room: int) -> None:
    """Close the largest suspended searches until the memos they hold fit in ``room`` configurations."""
    held = sum(search.explored for search in suspended.values())
    while suspended and held > room:
        largest = max(suspended, key=lambda index: suspended[index].explored)
        held -= suspended[largest].explored
        suspended.pop(largest).close()
