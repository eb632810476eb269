"""A Redis history as a transactional one: MULTI/EXEC blocks and scripts as list-append or
rw-register transactions, for the cycle checker (:mod:`redlin.cycles`).

Redis promises that a MULTI/EXEC block and a script run atomically, and one node in real time:
strict serializability.  When a history's commands have recoverable versions, Elle's checker
(Kingsbury & Alvaro, VLDB 2020) can name how a broken server broke that promise.  This module
maps a :class:`~redlin.history.records.History` recorded by ``redlin run`` (or written by hand in
redlin's JSON Lines) to a :class:`~redlin.cycles.transactions.TransactionHistory`:

- ``list-append``: ``RPUSH k v`` (unique ``v``) appends, ``LRANGE k 0 -1`` reads the whole list;
  the :data:`LIST_APPEND_SCRIPT` appends ``ARGV[1]`` to each of its KEYS and reads each back;
- ``rw-register``: ``SET k v`` (unique ``v``, no options) writes, ``GET k`` reads.
- ``mixed``: both, each command read by its own kind (a mixed run's history, once
  :mod:`redlin.adapter.projection` has kept only the keys and commands that fit).

Each operation is one transaction: a MULTI/EXEC block (its queued commands in order), a script,
or a single command.  Outcomes: a reply is ``ok``; an EXEC that replied nil (a WATCHed key
changed) or an error (EXECABORT) is ``fail``, it had no effect; an operation without a reply is
``info``.  WATCH, UNWATCH and PING carry no data and are left out.  But a client's reads (``GET``,
``LRANGE``) of the keys it WATCHes, made between its WATCH and an EXEC that ran, join that block:
EXEC runs only if no watched key changed since WATCH, so those reads still held when the block
ran, and Redis's promise makes the whole read-modify-write one transaction (a server that ignores
WATCH then shows a lost update).  When the EXEC aborts, or the client does anything else first,
the reads stay transactions of their own.  Keys are shown without the
run's prefix and round (``redlin:<run-id>:<n>:``), as every report shows them
(:class:`RunKey`: two rounds' ``l0`` stay two keys).  What cannot be mapped raises
:class:`~redlin.errors.HistoryError` naming the operation and why: the history is then not a
list-append or rw-register one.

>>> from redlin.history.records import History, Operation
>>> from redlin.model import Status
>>> block = ((b"MULTI",), (b"RPUSH", b"r:0:l0", b"a"), (b"LRANGE", b"r:0:l0", b"0", b"-1"), (b"EXEC",))
>>> op = Operation(0, 1, block, (Status("OK"), Status("QUEUED"), Status("QUEUED"), (1, (b"a",))), 5, 9)
>>> adapted = transaction_history(History((op,), {"prefix": "r:"}), "list-append")
>>> [(m.f, str(m.key), m.value) for m in adapted.transactions[0].mops]
[('append', 'l0', 'a'), ('r', 'l0', ('a',))]
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Final

from redlin.cycles.transactions import (
    FAIL,
    INFO,
    KINDS,
    LIST_APPEND,
    MIXED,
    OK,
    RW_REGISTER,
    MicroOp,
    Transaction,
    TransactionHistory,
    append,
    read,
    write,
)
from redlin.errors import HistoryError
from redlin.history.records import History, Operation, Outcome
from redlin.model import NULL, NULL_ARRAY, Error

_OK = Outcome.OK
_FAIL = Outcome.FAIL

__all__ = ["LIST_APPEND_SCRIPT", "KeyNames", "RunKey", "history_kind", "transaction_history"]

LIST_APPEND_SCRIPT: Final = """\
-- redlin's list-append: append ARGV[1] to each list of KEYS, then read each list whole.
local lists = {}
for i, key in ipairs(KEYS) do
  redis.call('RPUSH', key, ARGV[1])
  lists[i] = redis.call('LRANGE', key, 0, -1)
end
return lists
"""
"""The one script the list-append workload runs: the adapter knows what it does (any other
script cannot be mapped)."""

_NO_DATA: Final = frozenset({b"WATCH", b"UNWATCH", b"PING"})
_LIST_COMMANDS: Final = "RPUSH k v, LRANGE k 0 -1"
_REGISTER_COMMANDS: Final = "SET k v, GET k"


@dataclass(frozen=True, slots=True)
class RunKey:
    """A key as reports show it: ``name`` without the run's prefix; ``round`` (the ``<n>`` after
    the prefix, ``None`` without one) keeps the same name in two rounds apart.

    >>> str(RunKey("l0", 3)), RunKey("l0", 3) == RunKey("l0", 4)
    ('l0', False)
    """

    name: str
    round: int | None = None

    def __str__(self) -> str:
        return self.name


class _Unmappable(Exception):
    """Why one operation is not a transaction of the history's kind."""


def history_kind(history: History) -> str | None:
    """``"list-append"`` if the history's commands are RPUSH and LRANGE, ``"rw-register"`` if
    they are SET and GET, else ``None`` (decided by the first command that tells).

    >>> from redlin.history.records import Operation
    >>> history_kind(History((Operation(0, 1, ((b"GET", b"x"),), None, 0, 1),)))
    'rw-register'
    """
    for op in history:
        for argv in op.call if isinstance(op.call, tuple) else ():
            name = argv[0].upper() if argv and isinstance(argv[0], bytes) else b""
            if name in (b"RPUSH", b"LRANGE") or name in (b"EVAL", b"EVALSHA"):
                return LIST_APPEND
            if name in (b"SET", b"GET"):
                return RW_REGISTER
    return None


def transaction_history(history: History, kind: str, *, source: str = "history") -> TransactionHistory:
    """``history``'s operations as transactions of ``kind`` (``"list-append"`` or ``"rw-register"``).

    Raises :class:`~redlin.errors.HistoryError` (``source:line: ...``) for the first operation
    that is not one of ``kind``'s: the commands it knows are named in the message.
    """
    if kind not in (*KINDS, MIXED):
        raise HistoryError(source, None, f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    prefix = history.meta.get("prefix")
    keys = _Keys(prefix.encode() if isinstance(prefix, str) else b"")
    scripts: dict[bytes, bytes] = {}
    transactions: list[Transaction] = []
    watching: dict[Hashable, tuple[frozenset[bytes], list[tuple[Operation, tuple[MicroOp, ...]]]]] = {}

    def add(first: Operation, op: Operation, mops: tuple[MicroOp, ...], outcome: str) -> None:
        complete = op.complete if outcome != INFO else None
        transactions.append(Transaction(len(transactions), op.client, mops, outcome, first.invoke, complete,
                                        first.line))

    def release(client: Hashable) -> None:  # the reads of a WATCH that no EXEC joined: on their own
        for read_op, read_mops in watching.pop(client, (frozenset(), []))[1]:
            add(read_op, read_op, read_mops, OK)

    for op in history:
        try:
            mapped = _transaction(op, kind, keys, scripts)
        except _Unmappable as why:
            knows = {LIST_APPEND: _LIST_COMMANDS, RW_REGISTER: _REGISTER_COMMANDS}.get(
                kind, f"{_LIST_COMMANDS}, {_REGISTER_COMMANDS}")
            raise HistoryError(source, op.line, f"operation {op.id} is not a {kind} transaction ({knows}, in "
                                                f"MULTI/EXEC or not): {why}") from None
        call, watched = op.call, watching.get(op.client)
        if watched is not None and mapped is not None and op.outcome is _OK and len(call) == 1 \
                and bytes(call[0][0]).upper() in (b"GET", b"LRANGE") and call[0][1] in watched[0]:
            watched[1].append((op, mapped[0]))  # a read of a watched key: it may join the EXEC
            continue
        if watched is not None and mapped is not None and bytes(call[0][0]).upper() == b"MULTI" \
                and mapped[1] == OK and watched[1]:
            # The EXEC ran, so no watched key changed since WATCH: the reads made after WATCH
            # still held when the block ran, and with it they are one transaction (at EXEC).
            reads = watched[1]
            del watching[op.client]
            add(reads[0][0], op, tuple(mop for _, mops in reads for mop in mops) + mapped[0], OK)
            continue
        release(op.client)
        if len(call) == 1 and bytes(call[0][0]).upper() == b"WATCH" and op.outcome is _OK:
            watching[op.client] = (frozenset(call[0][1:]), [])
        if mapped is not None:
            add(op, op, *mapped)
    for client in list(watching):
        release(client)
    return TransactionHistory(tuple(transactions), kind, frozenset(keys.lists) if kind == MIXED else frozenset())


class KeyNames:
    """A run's sent keys split into the name after the run's prefix and the digits of the round
    (``<n>:``) that may follow it, as sent (:class:`RunKey` makes them a number); with no prefix
    (``b""``), or on a key without it, the whole key is the name.

    >>> names = KeyNames(b"r:")
    >>> names.split(b"r:07:l0"), names.split(b"r:l0"), names.split(b"l0"), KeyNames(b"").split(b"r:0:l0")
    (('l0', '07'), ('l0', None), ('l0', None), ('r:0:l0', None))
    """

    def __init__(self, prefix: bytes) -> None:
        self.pattern = re.compile(re.escape(prefix) + rb"(?:(\d+):)?") if prefix else None

    def split(self, raw: bytes) -> tuple[str, str | None]:
        """``raw``'s name and round digits (``None``: no round); a key without the prefix is all name."""
        match = self.pattern.match(raw) if self.pattern is not None else None
        if match is None:
            return _show(raw), None
        return _show(raw[match.end():]), match.group(1).decode() if match.group(1) else None


class _Keys(KeyNames):
    """Keys without the run's prefix, as :class:`RunKey` records (one per name)."""

    def __init__(self, prefix: bytes) -> None:
        super().__init__(prefix)
        self.known: dict[bytes, RunKey] = {}
        self.lists: set[RunKey] = set()

    def list(self, raw: bytes) -> RunKey:
        """The key ``raw`` names, noted as one that holds a list."""
        key = self(raw)
        self.lists.add(key)
        return key

    def __call__(self, raw: bytes) -> RunKey:
        key = self.known.get(raw)
        if key is None:
            name, round_ = self.split(raw)
            key = self.known[raw] = RunKey(name, None if round_ is None else int(round_))
        return key


def _text(value: Any) -> Hashable:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    return value  # type: ignore[no-any-return]


def _nil(reply: Any) -> bool:
    return reply is None or reply is NULL or reply is NULL_ARRAY


def _transaction(op: Operation, kind: str, keys: _Keys, scripts: dict[bytes, bytes]
                 ) -> tuple[tuple[MicroOp, ...], str] | None:
    """``op``'s micro-operations and outcome; ``None`` for an operation that carries no data."""
    call = op.call
    if not isinstance(call, tuple) or not call or not all(isinstance(argv, tuple) and argv and isinstance(argv[0], bytes)
                                                          for argv in call):
        raise _Unmappable(f"its call {call!r} is not a list of Redis commands")
    names = [bytes(argv[0]).upper() for argv in call]
    if all(name in _NO_DATA for name in names):
        return None
    replies: tuple[Any, ...] = op.result if op.outcome is _OK and isinstance(op.result, tuple) else ()
    if op.outcome is _OK and len(replies) != len(call):
        raise _Unmappable(f"{len(call)} commands but {len(replies)} replies")
    if names[0] == b"MULTI":
        if names[-1] != b"EXEC":
            raise _Unmappable("a MULTI block that does not end in EXEC")
        inner = call[1:-1]
        if any(name in (b"MULTI", b"EXEC", b"DISCARD", b"WATCH") for name in names[1:-1]):
            raise _Unmappable("a MULTI block holding MULTI, EXEC, DISCARD or WATCH")
        if op.outcome is not _OK:
            return tuple(_mop(argv, kind, keys, None, done=False) for argv in inner), _outcome(op)
        executed = replies[-1]
        if _nil(executed) or isinstance(executed, Error):  # WATCH abort or EXECABORT: no effect
            return tuple(_mop(argv, kind, keys, None, done=False) for argv in inner), FAIL
        if not isinstance(executed, tuple) or len(executed) != len(inner):
            raise _Unmappable(f"EXEC replied {executed!r}, not one reply per queued command")
        return tuple(_mop(argv, kind, keys, reply, done=True) for argv, reply in zip(inner, executed)), OK
    if len(call) != 1:
        raise _Unmappable("several commands outside MULTI/EXEC (a pipeline)")
    argv, name = call[0], names[0]
    done = op.outcome is _OK
    reply = replies[0] if done else None
    if name in (b"EVAL", b"EVALSHA"):
        if done and isinstance(reply, Error) and reply.text.startswith("NOSCRIPT"):
            return None  # not run: the recorder sends EVAL next
        return _script(argv, kind, keys, scripts, reply, done), _outcome(op)
    return (_mop(argv, kind, keys, reply, done=done),), _outcome(op)


def _outcome(op: Operation) -> str:
    return OK if op.outcome is _OK else FAIL if op.outcome is _FAIL else INFO


def _mop(argv: tuple[Any, ...], kind: str, keys: _Keys, reply: Any, *, done: bool) -> MicroOp:
    """One command as a micro-operation (``done``: ``reply`` is its reply)."""
    name = bytes(argv[0]).upper()
    if done and isinstance(reply, Error):
        raise _Unmappable(f"{name.decode()} replied an error, {reply.text!r}")
    if kind != RW_REGISTER:
        if name == b"RPUSH" and len(argv) == 3:
            return append(keys.list(argv[1]), _text(argv[2]))
        if name == b"LRANGE" and len(argv) == 4 and argv[2:] == (b"0", b"-1"):
            return read(keys.list(argv[1]), _list(reply) if done else None)
    if kind != LIST_APPEND:
        if name == b"SET" and len(argv) == 3:
            return write(keys(argv[1]), _text(argv[2]))
        if name == b"GET" and len(argv) == 2:
            return read(keys(argv[1]), None if not done or _nil(reply) else _text(reply))
    shown = " ".join(_show(arg) for arg in argv)
    raise _Unmappable(f"{shown} is not one of its commands")


def _list(reply: Any) -> tuple[Hashable, ...] | None:
    if _nil(reply):
        return ()
    if not isinstance(reply, tuple):
        raise _Unmappable(f"LRANGE replied {reply!r}, not a list")
    return tuple(_text(item) for item in reply)


def _script(argv: tuple[Any, ...], kind: str, keys: _Keys, scripts: dict[bytes, bytes], reply: Any,
            done: bool) -> tuple[MicroOp, ...]:
    """:data:`LIST_APPEND_SCRIPT` called by EVAL, or by EVALSHA of a body an EVAL sent earlier."""
    if kind == RW_REGISTER or len(argv) < 3:
        raise _Unmappable(f"a script in a {kind} history")
    name, body = bytes(argv[0]).upper(), bytes(argv[1])
    if name == b"EVAL":
        known = LIST_APPEND_SCRIPT.encode() in body
        if known:
            scripts[hashlib.sha1(body).hexdigest().encode()] = body
    else:
        known = body.lower() in scripts
    if not known:
        raise _Unmappable("a script other than redlin's list-append script (the adapter cannot tell what it did)")
    try:
        count = int(argv[2])
    except ValueError:
        raise _Unmappable(f"numkeys {argv[2]!r} is not a number") from None
    listed, rest = argv[3:3 + count], argv[3 + count:]
    if len(listed) != count or len(rest) != 1:
        raise _Unmappable("the list-append script takes its KEYS and one element")
    if done and (not isinstance(reply, tuple) or len(reply) != count):
        raise _Unmappable(f"the list-append script replied {reply!r}, not one list per key")
    element = _text(rest[0])
    mops: list[MicroOp] = []
    for position, raw in enumerate(listed):
        key = keys.list(raw)
        mops += [append(key, element), read(key, _list(reply[position]) if done else None)]
    return tuple(mops)


def _show(arg: Any) -> str:
    return arg.decode("utf-8", errors="backslashreplace") if isinstance(arg, bytes) else str(arg)
