"""What a check concludes: one of three frozen values, never printed by the checker itself.

- :class:`Linearizable` carries a witness: for every part, an order of operations that the model
  accepts and that respects real time.  Replaying it through the model reproduces every observed
  result, so the verdict can be re-verified without trusting the search.
- :class:`Violation` carries the evidence a reporter renders (as Knossos does): the part that cannot
  be linearized, the operation that cannot be placed, and the longest linearizable prefixes the
  search reached before it got stuck.
- :class:`Unknown` means a budget (time or states) ran out first.  It is never a guess: the checker
  answers Linearizable or Violation only when the search proved it.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class Linearizable:
    """Every part has a linearization.

    ``witness[i]`` lists the operation ids of part ``parts[i]`` in linearization order.  Indeterminate
    (INFO) operations appear in the witness only if the order needs them to have taken effect; the
    others are taken never to have happened.
    """

    verdict: ClassVar[str] = "linearizable"
    witness: tuple[tuple[int, ...], ...]
    parts: tuple[tuple[int, ...], ...]
    states_explored: int
    elapsed: float


Prefix = tuple[tuple[int, Hashable], ...]
"""A linearizable prefix: (operation id, model state after it) pairs in order."""


@dataclass(frozen=True, slots=True)
class Violation:
    """A part of the history has no linearization.

    ``operation`` is a definite operation that cannot be placed at the deepest point the search
    reached: after the longest prefix, its real-time deadline has come and the model rejects its
    result from the state there.  ``prefixes`` holds a few of those longest prefixes (longest = placing
    the most definite operations; INFO operations assumed to have happened appear in them too), each
    a tuple of ``(operation id, state after it)``.  It is empty when a pre-check proved ``operation``
    impossible by itself (a read of a value nobody wrote), without a search, or when a fast path
    proved it impossible together with the operations of ``proof`` (a read that began after
    another completed, and returned a string no order can bring back after that one's).
    ``parts`` are the independent parts the check split the history into (operation ids), when
    known (else empty): a report lists them without splitting a long history again.
    """

    verdict: ClassVar[str] = "violation"
    part: tuple[int, ...]
    operation: int
    prefixes: tuple[Prefix, ...]
    states_explored: int
    elapsed: float
    proof: tuple[int, ...] = ()
    parts: tuple[tuple[int, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class Unknown:
    """A budget ran out before any verdict was proved.

    ``parts_checked`` counts the parts proved linearizable before or despite the budget; the
    remaining ``parts_total - parts_checked`` parts were undecided.  ``parts`` are the independent
    parts the check split the history into (operation ids), when it got that far (else empty): a
    report lists them without splitting a long history again.
    """

    verdict: ClassVar[str] = "unknown"
    reason: str
    parts_checked: int
    parts_total: int
    states_explored: int
    elapsed: float
    parts: tuple[tuple[int, ...], ...] = ()


Result = Linearizable | Violation | Unknown
