"""One connection and the model side by side: send an action to both, and say where the replies differ.

``redlin conform`` (:mod:`redlin.harness.conform`) tests a server's replies, not its concurrency:
one client sends drawn actions (:mod:`redlin.harness.generated`) one at a time, and the model
runs the same commands from the same state.  A :class:`Lane` is that pair -- one connection, the
model's state for the same keys, every key under one prefix, every command through the run's
:class:`~redlin.harness.guard.Guard` -- and :meth:`Lane.send` returns an :class:`Exchange`: the
commands as sent, the model's replies and the server's, both in the form they are compared in
(replies whose element order Redis leaves unspecified are sorted, :func:`canonical_result`).

A difference is exact: bytes and RESP type (a simple string ``OK`` is not a bulk string ``"OK"``).
:func:`mismatch` finds the first reply that differs -- inside an EXEC's array, the queued command
whose reply differs; inside an array, the first element that differs -- and names its *kind*
(:data:`KINDS`), which with the command is what ``redlin conform`` deduplicates by.

A script is sent as ``EVAL`` when the model's script cache does not hold it yet and as ``EVALSHA``
after, so a script replayed from a fresh state (while shrinking) is loaded again first.

>>> from redlin.model import Status
>>> kind_of(Status("OK"), b"OK"), kind_of(Error("ERR x"), Error("ERR y")), kind_of(1, 2)
('wrong-type', 'wrong-error-text', 'wrong-value')
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from redlin.adapter.redis_model import canonical_result, resp_type
from redlin.adapter.replies import first_difference
from redlin.harness.actions import Action, Argv, ScriptCache, ScriptCall, cache_command, cached_body, render
from redlin.harness.guard import Guard, possible_commands
from redlin.harness.server_state import state_error
from redlin.harness.wire import Connection, WireError
from redlin.model import SEQUENTIAL, Error, HiddenChoice, Reply, State, disconnect, lookup, step

__all__ = ["CLIENT", "KINDS", "Exchange", "Lane", "Mismatch", "family_of", "kind_of", "mismatch", "signature_name"]

CLIENT: Final = 0
"""The model's client id for the lane's connection."""

KINDS: Final = {
    "wrong-type": "a reply of another RESP type",
    "wrong-value": "a reply of the right type with another value",
    "wrong-error-text": "an error with another text",
    "unknown-command": "the server does not know the command",
    "unexpected-error": "an error where Redis replies",
    "missing-error": "a reply where Redis answers an error",
    "no-reply": "the server closed the connection or did not answer in time",
}
"""The kinds of difference, most specific first where several could apply."""

_SCRIPTS: Final = {"evalsha": "eval", "evalsha_ro": "eval_ro"}


def kind_of(expected: Reply, got: Reply) -> str:
    """What kind of difference ``got`` is from ``expected`` (two different replies; see :data:`KINDS`).

    >>> kind_of(b"1", Error("ERR unknown command 'x', with args beginning with: "))
    'unknown-command'
    >>> kind_of(None, b""), kind_of(Error("ERR x"), 1)
    ('wrong-type', 'missing-error')
    """
    if type(got) is Error and type(expected) is Error:
        return "wrong-error-text"
    if type(got) is Error:
        return "unknown-command" if got.text.lower().startswith("err unknown command") else "unexpected-error"
    if type(expected) is Error:
        return "missing-error"
    if resp_type(expected) != resp_type(got):
        return "wrong-type"
    return "wrong-value"


def family_of(command: str) -> str:
    """The family of a command: the model module that implements it (``model/_strings.py``:
    ``strings``), ``unknown`` for a command the model does not have.

    >>> family_of("get"), family_of("zadd"), family_of("exec"), family_of("nosuch")
    ('strings', 'zsets', 'transactions', 'unknown')
    """
    spec = lookup((command.encode(),))
    handler = None if spec is None else spec.handler
    if handler is None and spec is not None and spec.subcommands:
        handler = next(iter(spec.subcommands.values())).handler
    if handler is None:
        return "unknown"
    return str(handler.__module__).rsplit(".", 1)[-1].lstrip("_")


def signature_name(argv: Argv) -> str:
    """The command a difference is filed under: the name in lower case, EVALSHA as EVAL (a script
    is sent either way, depending on the script cache).

    >>> signature_name((b"EVALSHA", b"ab", b"0")), signature_name((b"Get", b"k"))
    ('eval', 'get')
    """
    first = argv[0]
    name = (first if isinstance(first, bytes) else b"?").decode("utf-8", "replace").lower()
    return _SCRIPTS.get(name, name)


@dataclass(frozen=True, slots=True)
class Exchange:
    """One action sent to the server and run by the model from the same state."""

    action: Action
    commands: tuple[tuple[bytes, ...], ...]
    """The commands as sent (keys under the lane's prefix)."""
    expected: tuple[Reply, ...]
    """The model's replies, one per command, canonical (unordered replies sorted)."""
    got: tuple[Reply, ...]
    """The server's replies, canonical; shorter than :attr:`commands` when :attr:`lost` says why."""
    lost: str | None = None
    """Why the server's replies stopped (the connection closed, no reply in time), or ``None``."""
    unfollowed: str | None = None
    """Why the model lost track of the server from some command on (a choice the server made that
    its reply does not show: which members a lex range removed from a skiplist), or ``None``.  The
    replies from that command on are the server's own, not compared."""

    @property
    def rejected(self) -> str | None:
        """The code of a reply that came from the server's state (OOM, READONLY, LOADING...), not
        from the command: no difference can be read from such an exchange."""
        for want, have in zip(self.expected, self.got, strict=False):
            code: str | None = state_error(have)
            if code is not None and have != want:
                return code
        return None


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The first reply of an exchange that differs: which command (its position, its name as it is
    filed, its argv) and how."""

    index: int
    command: str
    argv: tuple[bytes, ...]
    kind: str
    expected: Reply
    got: Reply
    """The server's reply (``None`` for ``no-reply``)."""

    @property
    def signature(self) -> tuple[str, str]:
        """What differences are deduplicated by: (command, kind)."""
        return self.command, self.kind


def mismatch(exchange: Exchange) -> Mismatch | None:
    """Where ``exchange``'s replies first differ, or ``None`` if they are the same.

    >>> from redlin.harness.actions import Command
    >>> from redlin.model import Status
    >>> ex = Exchange(Command((b"ECHO", b"hi")), ((b"ECHO", b"hi"),), (b"hi",), (Status("hi"),))
    >>> found = mismatch(ex)
    >>> found.command, found.kind
    ('echo', 'wrong-type')
    """
    commands = exchange.commands
    found = first_difference(commands, exchange.expected, exchange.got)
    if found is None:
        if len(exchange.got) >= len(commands):
            return None
        index = len(exchange.got)
        return Mismatch(index, signature_name(commands[index]), commands[index], "no-reply",
                        exchange.expected[index], None)
    leaf_want, leaf_have = _first_leaf(found.expected, found.got)
    return Mismatch(found.index, signature_name(found.argv), found.argv, kind_of(leaf_want, leaf_have),
                    found.expected, found.got)


def _first_leaf(want: Reply, have: Reply) -> tuple[Reply, Reply]:
    """The first pair of elements that differ inside two arrays of the same length (the replies
    themselves otherwise): a wrong element type inside an array is a wrong type."""
    while type(want) is tuple and type(have) is tuple and len(want) == len(have):
        pair = next(((a, b) for a, b in zip(want, have, strict=True) if a != b), None)
        if pair is None:
            break
        want, have = pair
    return want, have


class Lane:
    """One connection to the server and the model's state beside it, every key under ``prefix``.

    ``connect`` opens a connection (authenticated, on the target's database); the lane opens one
    when it first sends and again after the server closed one (the model's session for the lane
    ends with it).  ``state`` is where the model starts (a fresh server of the chosen version).
    """

    def __init__(self, connect: Callable[[], Connection], guard: Guard, prefix: bytes, state: State) -> None:
        self.connect = connect
        self.guard = guard
        self.prefix = prefix
        self.state = state
        self.touched: set[bytes] = set()
        """Every key a command of the lane named (what is deleted afterwards)."""
        self.sent = 0
        """Commands sent."""
        self._conn: Connection | None = None

    def commands(self, action: Action) -> tuple[tuple[bytes, ...], ...]:
        """The commands ``action`` sends from the model's current state."""
        if isinstance(action, ScriptCall):
            cached = action.sha in self.state.scripts
            head = (b"EVALSHA", action.sha) if cached else (b"EVAL", action.body)
            return ((*head, str(len(action.keys)).encode(), *render(action.keys, self.prefix), *action.args),)
        if isinstance(action, ScriptCache):
            if action.verb == "evalsha":  # a script nobody may have loaded: the guard must know it
                self.guard.admit(cached_body(action.scripts[0], self.prefix))
            return (cache_command(action, self.prefix, allow_destructive=self.guard.allow_destructive),)
        return tuple(possible_commands(action, self.prefix))

    def send(self, action: Action) -> Exchange:
        """Send ``action`` to the server and run it in the model; both replies, canonical.
        ``WireError`` only if no connection can be opened."""
        commands = self.commands(action)
        for argv in commands:
            self.touched.update(self.guard.check(argv))
        now = int(time.time() * 1000)
        before = self.state
        if self._conn is None:
            self._conn = self.connect()
        got: list[Reply] = []
        lost = None
        try:
            self._conn.send_many(commands)
            self.sent += len(commands)
            for _ in commands:
                got.append(self._conn.receive())
        except WireError as error:
            lost = str(error)
            self.close()
        # The model runs after the server replied: a command whose reply the server chooses (SPOP)
        # follows the server's choice when Redis could have made it.
        state, expected, unfollowed = before, [], None
        for index, argv in enumerate(commands):
            try:
                state, reply = step(state, CLIENT, argv, now, observed=got[index] if index < len(got) else SEQUENTIAL)
            except HiddenChoice as error:
                unfollowed = str(error)
                expected += got[index:] + [None] * (len(commands) - max(index, len(got)))
                break
            expected.append(reply)
        self.state = state if lost is None else disconnect(state, CLIENT)
        return Exchange(action, commands, canonical_result(commands, expected), canonical_result(commands, got), lost,
                        unfollowed)

    @property
    def settled(self) -> bool:
        """Whether the connection's session is as a new connection's (no MULTI, no WATCH), in the
        model; after an exchange without a difference the server's is the same."""
        return CLIENT not in self.state.sessions  # the model stores only sessions unlike a new one

    def renew(self, prefix: bytes, state: State) -> None:
        """Go on under a new prefix from ``state``; a new connection unless the session is settled."""
        if not self.settled:
            self.close()
        self.prefix, self.state = prefix, state

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.state = disconnect(self.state, CLIENT)

    def delete_touched(self) -> int:
        """``DEL`` every key the lane named (through the guard); how many existed."""
        keys = sorted(self.touched)
        removed = 0
        if not keys:
            return 0
        conn = self._conn if self._conn is not None and self.settled else None
        with self.connect() if conn is None else _Borrowed(conn) as using:
            for start in range(0, len(keys), 256):
                argv = (b"DEL", *keys[start:start + 256])
                self.guard.check(argv)
                reply = using.execute(*argv)
                removed += reply if type(reply) is int else 0
        self.touched.clear()
        return removed


class _Borrowed:
    """A connection used in a ``with`` block without closing it at the end."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def __enter__(self) -> Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        return None
