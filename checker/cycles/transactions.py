"""Transactions as the cycle checker sees them: micro-operations, outcomes, real-time intervals.

The records follow Elle's view of a transactional history (Kingsbury & Alvaro, "Elle: Inferring
Isolation Anomalies from Experimental Observations", VLDB 2020): a transaction is a list of
*micro-operations* on keys, and the history's *kind* says what the objects are.

- ``"list-append"``: each key holds a list; ``append k v`` adds ``v`` (unique per key across the
  whole history) to its end, and ``r k`` returns the whole list, as a tuple (``None`` for a key that
  does not exist).  Every read reveals the order of all the appends it saw.
- ``"rw-register"``: each key holds one value; ``w k v`` writes ``v`` (unique per key) and ``r k``
  returns the value, or ``None`` for a key never written.
- ``"mixed"``: both at once, on separate keys: the keys in :attr:`TransactionHistory.lists` hold
  lists, the others registers (what a ``redlin run`` of the mixed workloads records).

A transaction's outcome is ``"ok"`` (committed, with its reads filled in), ``"fail"`` (definitely
aborted: it had no effect, e.g. an EXECABORT or a WATCH that made EXEC return nil) or ``"info"``
(unknown: it may have committed at any time after its invocation, or never; its reads are unknown).
Times are any comparable numbers, measured on one clock: A precedes B in real time iff
``A.complete < B.invoke``.

>>> t = Transaction(0, "c1", (append("x", 1), read("x", (1,))), OK, 0, 1)
>>> t.committed, t.mops[1]
(True, MicroOp(f='r', key='x', value=(1,)))
>>> TransactionHistory((t,), LIST_APPEND).kind
'list-append'
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

LIST_APPEND = "list-append"
RW_REGISTER = "rw-register"
KINDS = (LIST_APPEND, RW_REGISTER)
MIXED = "mixed"
"""Lists and registers in one history (:attr:`TransactionHistory.lists` says which keys are lists)."""

OK = "ok"
FAIL = "fail"
INFO = "info"
OUTCOMES = (OK, FAIL, INFO)

APPEND = "append"
READ = "r"
WRITE = "w"


@dataclass(frozen=True, slots=True)
class MicroOp:
    """One step of a transaction: ``f`` is ``"append"``, ``"r"`` or ``"w"``.

    ``value`` is the element appended, the value written, or what a read returned (a tuple of
    elements or ``None`` for list-append, the value or ``None`` for rw-register).  A read of a
    transaction that did not complete successfully carries ``None``: nothing was observed.
    """

    f: str
    key: Hashable
    value: Any

    @property
    def writes(self) -> bool:
        return self.f != READ


def append(key: Hashable, element: Hashable) -> MicroOp:
    """``append key element`` (list-append)."""
    return MicroOp(APPEND, key, element)


def read(key: Hashable, value: Any = None) -> MicroOp:
    """``r key`` returning ``value``."""
    return MicroOp(READ, key, value)


def write(key: Hashable, value: Hashable) -> MicroOp:
    """``w key value`` (rw-register)."""
    return MicroOp(WRITE, key, value)


@dataclass(frozen=True, slots=True)
class Transaction:
    """One transaction of a history.

    ``index`` is its position in :attr:`TransactionHistory.transactions` (shown as ``T<index>``);
    ``process`` the client that ran it (its transactions never overlap in time); ``complete`` is
    ``None`` for an ``"info"`` transaction, whose end is unknown.  ``line`` is where it was read
    from, when it was read from a file.
    """

    index: int
    process: Hashable
    mops: tuple[MicroOp, ...]
    outcome: str
    invoke: float
    complete: float | None
    line: int | None = None

    @property
    def committed(self) -> bool:
        """Definitely committed (``"ok"``); an ``"info"`` transaction may or may not have."""
        return self.outcome == OK

    @property
    def name(self) -> str:
        return f"T{self.index}"


@dataclass(frozen=True, slots=True)
class TransactionHistory:
    """A history of transactions of one ``kind`` (``"list-append"``, ``"rw-register"`` or ``"mixed"``,
    whose ``lists`` are the keys that hold lists)."""

    transactions: tuple[Transaction, ...]
    kind: str
    lists: frozenset[Hashable] = frozenset()

    def __post_init__(self) -> None:
        if self.kind not in (*KINDS, MIXED):
            raise ValueError(f"kind must be one of {', '.join((*KINDS, MIXED))}, not {self.kind!r}")
        for position, transaction in enumerate(self.transactions):
            if transaction.index != position:
                raise ValueError(f"transaction {transaction.index} is at position {position}: index them in order")
