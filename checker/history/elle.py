"""Read Jepsen/Elle transactional histories in EDN: list-append and rw-register.

Elle (Kingsbury & Alvaro, VLDB 2020) logs each transaction as two events of one process: an
``:invoke`` whose ``:value`` lists micro-operations with reads not yet known, such as
``[[:append :x 1] [:r :x nil]]``, and its completion, ``:ok`` with the reads filled in
(``[:r :x [1 2]]`` for a list, ``[:r :x 3]`` for a register), ``:fail`` (it did not happen) or
``:info`` (unknown).  Writes to a register are ``[:w :x 1]``.  An invocation is paired with its
process's next completion; one never completed is ``info``.  As in
:mod:`redlin.history.importers`, time is the event's position in the log (logs are written in
real-time order; ``:time`` fields are left alone, they may come from different clocks).  Events of
the ``:nemesis`` process are skipped; a log without ``:process`` is taken as one process.
Keywords (keys, and values) are read as their names.

>>> import tempfile
>>> with tempfile.NamedTemporaryFile("w", suffix=".edn", delete=False) as f:
...     _ = f.write('{:type :invoke, :f :txn, :value [[:append :x 1] [:r :x nil]], :process 0}\\n'
...                 '{:type :ok, :f :txn, :value [[:append :x 1] [:r :x [1]]], :process 0}\\n')
>>> history = load_elle_edn(f.name)
>>> history.kind, history.transactions[0].mops[1]
('list-append', MicroOp(f='r', key='x', value=(1,)))
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Callable, Hashable
from typing import Any

from redlin.cycles.transactions import (
    APPEND,
    FAIL,
    INFO,
    KINDS,
    LIST_APPEND,
    OK,
    READ,
    RW_REGISTER,
    WRITE,
    MicroOp,
    Transaction,
    TransactionHistory,
)
from redlin.errors import HistoryError, UsageError
from redlin.history.edn import EdnError, Keyword, Symbol, edn_records
from redlin.history.source import paused_gc, read_text

MAX_LINE = 16 << 20
"""The longest line read, in bytes (a transaction's line holds its whole value)."""

_TYPE, _F, _VALUE, _PROCESS = Keyword("type"), Keyword("f"), Keyword("value"), Keyword("process")
_NEMESIS = Keyword("nemesis")
_FS = {"append": APPEND, "r": READ, "w": WRITE}
_OUTCOMES = {"ok": OK, "fail": FAIL, "info": INFO}


class _Bad(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _show(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, Keyword | Symbol):
        return str(value)
    if isinstance(value, tuple):
        return "[" + " ".join(_show(item) for item in value) + "]"
    return repr(value)


def _scalar(line: int, value: Any, what: str) -> Hashable:
    if isinstance(value, Keyword):
        return value.name
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return value
    raise _Bad(line, f"{what} must be an integer, a string or a keyword, got {_show(value)}")


def _mops(line: int, value: Any, completed: bool) -> tuple[MicroOp, ...]:
    """A transaction's micro-operations; reads keep their values only if ``completed``."""
    if not isinstance(value, tuple):
        raise _Bad(line, f"a transaction's :value must be a vector of micro-operations, got {_show(value)}")
    mops = []
    for mop in value:
        if not isinstance(mop, tuple) or len(mop) != 3 or not isinstance(mop[0], Keyword) or mop[0].name not in _FS:
            raise _Bad(line, f"a micro-operation is [:append k v], [:r k v] or [:w k v], got {_show(mop)}")
        f, key = _FS[mop[0].name], _scalar(line, mop[1], "a key")
        argument = mop[2]
        if f != READ:
            mops.append(MicroOp(f, key, _scalar(line, argument, "a value written")))
        elif not completed or argument is None:
            mops.append(MicroOp(f, key, None))
        elif isinstance(argument, tuple):
            mops.append(MicroOp(f, key, tuple(_scalar(line, item, "an element") for item in argument)))
        else:
            mops.append(MicroOp(f, key, _scalar(line, argument, "a value read")))
    return tuple(mops)


def _kind(line: int, mops: tuple[MicroOp, ...], kind: str | None) -> str | None:
    """The history's kind so far, given one more transaction's micro-operations."""
    for mop in mops:
        this = LIST_APPEND if mop.f == APPEND else RW_REGISTER if mop.f == WRITE else None
        if mop.f == READ and mop.value is not None:
            this = LIST_APPEND if isinstance(mop.value, tuple) else RW_REGISTER
        if this is not None and kind is not None and this != kind:
            raise _Bad(line, f"{_show(mop.key)}: a {this} micro-operation in a {kind} history")
        kind = this or kind
    return kind


def _line_of(text: str) -> Callable[[int], int]:
    newlines = [match.start() for match in re.finditer("\n", text)]
    return lambda offset: bisect.bisect_left(newlines, offset) + 1


def _transactions(text: str, kind: str | None) -> tuple[tuple[Transaction, ...], str]:
    line_of = _line_of(text)
    try:
        records = edn_records(text)
    except EdnError as error:
        raise _Bad(line_of(error.position), f"malformed EDN: {error.message}") from None
    drafts: list[list[Any]] = []  # [process, line, invoked mops, invoke time, outcome, completed mops, time]
    pending: dict[Hashable, list[Any]] = {}
    for time, (offset, record) in enumerate(records):
        line = line_of(offset)
        if not isinstance(record, dict):
            raise _Bad(line, f"expected an operation map {{:type ... :value ...}}, got {_show(record)}")
        process = record.get(_PROCESS)
        if process is _NEMESIS:
            continue
        type_, f = record.get(_TYPE), record.get(_F, Keyword("txn"))
        if not isinstance(type_, Keyword) or type_.name not in ("invoke", *_OUTCOMES):
            raise _Bad(line, f":type must be :invoke, :ok, :fail or :info, got {_show(type_)}")
        if f is not Keyword("txn"):
            raise _Bad(line, f":f must be :txn, got {_show(f)}")
        process = None if process is None else _scalar(line, process, ":process")
        if type_.name == "invoke":
            if process in pending:
                raise _Bad(line, f"process {_show(process)} invokes again before its line {pending[process][1]} completed")
            mops = _mops(line, record.get(_VALUE), completed=False)
            kind = _kind(line, mops, kind)
            opened: list[Any] = [process, line, mops, time, INFO, mops, None]
            pending[process] = opened
            drafts.append(opened)
            continue
        draft = pending.pop(process, None)
        if draft is None:
            raise _Bad(line, f"process {_show(process)} completes a transaction but invoked none")
        outcome = _OUTCOMES[type_.name]
        value = record.get(_VALUE)
        if value is None and outcome == OK:
            raise _Bad(line, "an :ok completion needs its :value, the micro-operations with their reads")
        mops = draft[2] if value is None else _mops(line, value, completed=outcome == OK)
        if [(m.f, m.key) for m in mops] != [(m.f, m.key) for m in draft[2]]:
            raise _Bad(line, f"the completion's micro-operations differ from those invoked at line {draft[1]}")
        kind = _kind(line, mops, kind)
        draft[4:] = [outcome, mops, time if outcome != INFO else None]
    transactions = tuple(Transaction(index, process, mops, outcome, invoked, complete, line)
                         for index, (process, line, _, invoked, outcome, mops, complete) in enumerate(drafts))
    return transactions, kind or LIST_APPEND


def load_elle_edn(path: str | os.PathLike[str], *, kind: str | None = None) -> TransactionHistory:
    """Read an Elle list-append or rw-register history from an EDN file.

    ``kind`` is ``"list-append"`` or ``"rw-register"``; by default it is told from the
    micro-operations (``:append`` or a list read: list-append; ``:w`` or a scalar read:
    rw-register).  A malformed file raises :class:`~redlin.errors.HistoryError`, whose message
    is one line naming the file and line.
    """
    if kind is not None and kind not in KINDS:
        raise UsageError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    text = read_text(path, max_line=MAX_LINE)
    try:
        with paused_gc():
            transactions, found = _transactions(text, kind)
    except _Bad as bad:
        raise HistoryError(path, bad.line, bad.message) from None
    return TransactionHistory(transactions, found)
