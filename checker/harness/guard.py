"""The safety guard: nothing redlin sends reaches beyond the run's own keys.

Every outgoing command is checked before it is sent (:class:`Guard`).  Keys must lie under the
run's prefix, found with the model's own command table (:func:`redlin.model.keys_of`); commands
that touch the whole keyspace or the server (FLUSHALL, FLUSHDB, CONFIG, DEBUG, SCRIPT, ...) are
refused unless ``allow_destructive``.  A refusal is a bug in redlin or in a user's workload
family, never a reaction to the server: it raises :class:`UnsafeCommand`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from redlin.harness.actions import Action, Command, ScriptCall, Transaction, render
from redlin.model import keys_of, lookup

Argv = tuple[bytes, ...]

DESTRUCTIVE: Final = frozenset({
    b"flushall", b"flushdb", b"config", b"debug", b"shutdown", b"swapdb", b"move", b"script",
    b"function", b"save", b"bgsave", b"bgrewriteaof", b"replicaof", b"slaveof", b"acl", b"client",
    b"cluster", b"failover", b"module", b"migrate", b"restore", b"sync", b"psync", b"monitor",
    b"keys", b"scan", b"randomkey", b"dbsize", b"select",
})
"""Commands a run never sends without ``allow_destructive``: they change or read the whole server,
another database, or other users' state (``SELECT`` is sent only once, on connecting, by redlin)."""

CONNECTION_COMMANDS: Final = frozenset({b"auth", b"hello", b"ping", b"info", b"echo"})
"""Keyless commands a run may send although the model need not know them."""

class UnsafeCommand(AssertionError):
    """A command outside the run's prefix, or destructive without permission: a bug, never sent."""


# ----------------------------------------------------------------------------- safety


class Guard:
    """Checks every outgoing command against the run's prefix and the destructive list."""

    def __init__(self, prefix: bytes, *, allow_destructive: bool = False) -> None:
        if not prefix:
            raise ValueError("a run needs a non-empty key prefix")
        self.prefix = prefix
        self.allow_destructive = allow_destructive

    def check(self, argv: Sequence[bytes]) -> tuple[bytes, ...]:
        """The keys ``argv`` touches; :class:`UnsafeCommand` if it must not be sent."""
        if not argv:
            raise UnsafeCommand("an empty command")
        name = bytes(argv[0]).lower()
        if name in DESTRUCTIVE:
            if not self.allow_destructive:
                raise UnsafeCommand(f"refusing to send {name.decode(errors='replace').upper()}: it reaches "
                                    "beyond the run's own keys (only with --allow-destructive)")
            return ()
        if name in CONNECTION_COMMANDS and lookup(argv) is None:
            return ()
        if lookup(argv) is None:
            raise UnsafeCommand(f"refusing to send {name.decode(errors='replace').upper()}: redlin's model "
                                "does not know it, so it cannot tell which keys it touches")
        keys = keys_of(argv)
        if keys is None:
            if not self.allow_destructive:
                raise UnsafeCommand(f"refusing to send {name.decode(errors='replace').upper()}: it touches "
                                    "every key (only with --allow-destructive)")
            return ()
        for key in keys:
            if not key.startswith(self.prefix):
                raise UnsafeCommand(f"refusing to send {name.decode(errors='replace').upper()} on key "
                                    f"{key!r}: outside the run's prefix {self.prefix!r}")
        return tuple(keys)


def possible_commands(action: Action, prefix: bytes) -> list[Argv]:
    """Every command ``action`` may send with its keys under ``prefix`` (both EVAL and EVALSHA for
    a script; a cas loop's SET shows its token as the value)."""
    if isinstance(action, Command):
        return [render(action.argv, prefix)]
    if isinstance(action, Transaction):
        watch = [(b"WATCH", *render(action.watch, prefix))] if action.watch else []
        return [*watch, (b"MULTI",), *(render(c, prefix) for c in action.commands), (b"EXEC",)]
    if isinstance(action, ScriptCall):
        tail = (str(len(action.keys)).encode(), *render(action.keys, prefix), *action.args)
        return [(b"EVAL", action.body, *tail), (b"EVALSHA", action.sha, *tail)]
    (key,) = render((action.key,), prefix)
    return [(b"WATCH", key), (b"GET", key), (b"UNWATCH",), (b"MULTI",), (b"SET", key, action.token), (b"EXEC",)]
