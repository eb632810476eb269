"""Results of disjoint pieces of a history, as one result about the whole.

A history whose operations fall into pieces that share no object (the runs of ``redlin run``,
each under its own keys; the rounds of a Pub/Sub run, each on its own channels) is linearizable
iff every piece is: this is P-compositionality (Horn & Kroening, "Faster linearizability checking
via P-compositionality", FORTE 2015), the same argument :func:`redlin.check` partitions by.  So a
piece may be checked on its own, with its own budget, and its result moved into the whole:

- :func:`piece` cuts a piece out (its operations renumbered ``0..k-1``);
- :func:`lift` renumbers a piece's result into the whole history's ids;
- :func:`combine` joins the lifted results: a violation of any piece is a violation of the whole,
  otherwise an undecided piece makes the whole unknown, and only when every piece was proved
  linearizable is the whole.

The pieces must really be independent: nothing here checks that they share no object.

>>> from redlin.search.models import register
>>> from redlin.search.check import check
>>> ops = (Operation(0, "a", ("write", 1), None, 0, 1), Operation(1, "b", ("write", 2), None, 0, 1))
>>> whole = History(ops)
>>> pieces = [(0,), (1,)]
>>> results = [lift(check(piece(whole, ids), register()), ids) for ids in pieces]
>>> combine(results).verdict, combine(results).parts
('linearizable', ((0,), (1,)))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from redlin.history.records import History, Operation
from redlin.search.result import Linearizable, Result, Unknown, Violation

__all__ = ["combine", "lift", "piece"]


def piece(history: History, ids: Sequence[int]) -> History:
    """The operations ``ids`` of ``history`` (in that order) as a history of their own, renumbered
    ``0..k-1``; ``history``'s meta is kept (its key prefix and time origin name things alike)."""
    ops: list[Operation] = [op if op.id == new else replace(op, id=new)  # (a whole history's ops keep theirs)
                            for new, op in enumerate(map(history.__getitem__, ids))]
    return History(tuple(ops), dict(history.meta))


def lift(result: Result, ids: Sequence[int] | Mapping[int, int]) -> Result:
    """``result``, about a piece whose operation ``i`` is operation ``ids[i]`` of the whole (or,
    given the inverse mapping, a result about the whole renumbered into the piece)."""
    parts = tuple(tuple(ids[i] for i in part) for part in result.parts)
    if isinstance(result, Linearizable):
        return replace(result, witness=tuple(tuple(ids[i] for i in order) for order in result.witness), parts=parts)
    if isinstance(result, Violation):
        return replace(result, part=tuple(ids[i] for i in result.part), operation=ids[result.operation],
                       prefixes=tuple(tuple((ids[i], state) for i, state in prefix) for prefix in result.prefixes),
                       proof=tuple(ids[i] for i in result.proof), parts=parts)
    return replace(result, parts=parts)


def combine(results: Sequence[Result], *, unit: str = "run", pieces: int | None = None) -> Result:
    """One result for the whole history, from the lifted results of its pieces.

    The first violation wins (its search effort is the whole's so far; the parts it names are the
    whole's only when the whole is that one piece: ``pieces`` is how many there are); otherwise an
    undecided piece makes the whole :class:`Unknown`, whose reason counts the undecided ``unit``\\ s
    and quotes the first of their reasons; otherwise the witnesses and parts are put together.
    """
    explored = sum(result.states_explored for result in results)
    elapsed = sum(result.elapsed for result in results)
    for result in results:
        if isinstance(result, Violation):
            return replace(result, states_explored=explored, elapsed=elapsed,
                           parts=result.parts if pieces == 1 else ())
    undecided = [result for result in results if isinstance(result, Unknown)]
    decided = [result for result in results if isinstance(result, Linearizable)]
    parts = tuple(part for result in decided for part in result.parts)
    if undecided:
        total = len(parts) + sum(result.parts_total for result in undecided)
        reason = (f"{len(undecided)} of {len(results)} {unit}s undecided "
                  f"({sorted({result.reason for result in undecided})[0]})")
        # The parts of the whole, when every undecided piece's are known.
        split = () if any(not result.parts for result in undecided) else (
            *parts, *(part for result in undecided for part in result.parts))
        return Unknown(reason=reason, parts_checked=len(parts) + sum(result.parts_checked for result in undecided),
                       parts_total=total, states_explored=explored, elapsed=elapsed, parts=split)
    return Linearizable(witness=tuple(order for result in decided for order in result.witness), parts=parts,
                        states_explored=explored, elapsed=elapsed)
