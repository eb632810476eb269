"""The safety guard: nothing redlin sends reaches beyond the run's own keys, scripts included.

Every outgoing command is checked before it is sent (:class:`Guard`).  Keys must lie under the
run's prefix, found with the model's own command table (:func:`redlin.model.keys_of`); commands
that touch the whole keyspace or the server (FLUSHALL, FLUSHDB, CONFIG, DEBUG, SCRIPT, ...) are
refused unless ``allow_destructive``.  A refusal is a bug in redlin or in a user's workload
family, never a reaction to the server: it raises :class:`UnsafeCommand`.

What a script does happens on the server, out of this guard's sight, so the guard lets a script
go only inside the guard of :mod:`redlin.harness.script_guard`, which makes the server itself
refuse what the script may not do: ``EVAL`` only of a body wrapped by
:func:`~redlin.harness.script_guard.guard_script` that compiles on its own (a body wrapped for
destructive scripts only with ``allow_destructive``), ``EVALSHA`` only of the SHA1 of a body this
guard has let through.  Before a run, :meth:`Guard.rehearse` runs a family's actions in the model, where
the same wrapped scripts meet the same guard, to refuse a family early with a readable error;
after a run, :func:`guard_refusals` finds the refusals a history recorded.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from redlin.harness.actions import (
    CACHE_BODY,
    Action,
    Command,
    Pipeline,
    ScriptCache,
    ScriptCall,
    Transaction,
    cache_command,
    render,
)
from redlin.harness.script_guard import CONNECTION_COMMANDS, DESTRUCTIVE, refusal, script_policy
from redlin.history.records import History
from redlin.model import INITIAL_STATE, Error, ScriptTooLong, keys_of, lookup, step, step_reporting_undeclared

__all__ = [
    "CONNECTION_COMMANDS", "DESTRUCTIVE", "Guard", "Rehearsal", "UnsafeCommand", "guard_refusals", "possible_commands",
]

Argv = tuple[bytes, ...]

_EVAL: Final = frozenset({b"eval", b"eval_ro"})
_EVALSHA: Final = frozenset({b"evalsha", b"evalsha_ro"})


class UnsafeCommand(AssertionError):
    """A command outside the run's prefix, or destructive without permission: a bug, never sent."""


# ----------------------------------------------------------------------------- safety


@dataclass(frozen=True, slots=True)
class Rehearsal:
    """Why a script of a rehearsed action would be stopped: the action's position in the sequence
    rehearsed, the action, and what happened (the guard's refusal, or the model giving up)."""

    index: int
    action: ScriptCall
    problem: str


class Guard:
    """Checks every outgoing command against the run's prefix and the destructive list.

    >>> guard = Guard(b"redlin:r1:")
    >>> guard.check((b"GET", b"redlin:r1:0:k"))
    (b'redlin:r1:0:k',)
    >>> guard.check((b"EVAL", b"return redis.call('FLUSHALL')", b"0"))
    Traceback (most recent call last):
    ...
    redlin.harness.guard.UnsafeCommand: refusing to send EVAL of a script outside redlin's script guard ...
    """

    def __init__(self, prefix: bytes, *, allow_destructive: bool = False) -> None:
        if not prefix:
            raise ValueError("a run needs a non-empty key prefix")
        self.prefix = prefix
        self.allow_destructive = allow_destructive
        self._scripts: set[bytes] = set()  # the SHA1s of the bodies let through (EVALSHA may name them)
        self._lock = threading.Lock()

    def check(self, argv: Sequence[bytes]) -> tuple[bytes, ...]:
        """The keys ``argv`` touches; :class:`UnsafeCommand` if it must not be sent."""
        if not argv:
            raise UnsafeCommand("an empty command")
        name = bytes(argv[0]).lower()
        shown = name.decode(errors="replace").upper()
        sub = bytes(argv[1]).lower() if name == b"script" and len(argv) > 1 else b""
        if sub in (b"load", b"exists"):  # the cache only grows, or is read: no other user notices
            if sub == b"load":
                self._check_body("SCRIPT LOAD", bytes(argv[2]) if len(argv) > 2 else b"")
            return ()
        if name in DESTRUCTIVE:
            if not self.allow_destructive:
                raise UnsafeCommand(f"refusing to send {shown}: it reaches beyond the run's own keys "
                                    "(only with --allow-destructive)")
            return ()
        if name in CONNECTION_COMMANDS and lookup(argv) is None:
            return ()
        if lookup(argv) is None:
            raise UnsafeCommand(f"refusing to send {shown}: redlin's model does not know it, so it cannot tell "
                                "which keys it touches")
        if name in _EVAL:
            self._check_body(shown, bytes(argv[1]) if len(argv) > 1 else b"")
        elif name in _EVALSHA:
            with self._lock:
                known = len(argv) > 1 and bytes(argv[1]).lower() in self._scripts
            if not known:
                raise UnsafeCommand(f"refusing to send {shown}: it names no script this run sent inside "
                                    "redlin's script guard")
        keys = keys_of(argv)
        if keys is None:
            if not self.allow_destructive:
                raise UnsafeCommand(f"refusing to send {shown}: it touches every key (only with --allow-destructive)")
            return ()
        for key in keys:
            if not key.startswith(self.prefix):
                raise UnsafeCommand(f"refusing to send {shown} on key {key!r}: outside the run's prefix {self.prefix!r}")
        return tuple(keys)

    def admit(self, body: bytes) -> None:
        """Let ``EVALSHA`` name ``body``'s SHA1 before any client loaded it (the server answers
        NOSCRIPT then); :class:`UnsafeCommand` if the body itself may not be sent."""
        self._check_body("EVALSHA", body)

    def _check_body(self, shown: str, body: bytes) -> None:
        """Let a script's body go if it is wrapped, for a policy this run allows, and compiles on its
        own (so that no server's wrapper around it can be closed by its text); remember its SHA1."""
        sha = hashlib.sha1(body).hexdigest().encode()
        with self._lock:
            if sha in self._scripts:
                return
        policy = script_policy(body)
        if policy is None and CACHE_BODY.fullmatch(body):  # a constant: it calls nothing
            policy = "strict"
        if policy is None:
            raise UnsafeCommand(f"refusing to send {shown} of a script outside redlin's script guard "
                                "(write scripts as \"eval\" steps, which redlin wraps)")
        if policy == "destructive" and not self.allow_destructive:
            raise UnsafeCommand(f"refusing to send {shown} of a script declared \"destructive\" "
                                "(only with --allow-destructive)")
        _, compiled = step(INITIAL_STATE, 0, (b"SCRIPT", b"LOAD", body))
        if type(compiled) is Error:
            raise UnsafeCommand(f"refusing to send {shown} of a script that does not compile: {compiled.text}")
        with self._lock:
            self._scripts.add(sha)

    def rehearse(self, actions: Iterable[Action]) -> Rehearsal | None:
        """Run ``actions`` one after the other in the model, on one client, with keys under this
        run's first prefix; the first script the guard inside it refuses (or that touches keys it
        does not declare without being destructive, or runs past the model's budget), else ``None``.

        The model runs the very bodies the server would, so a refusal here is one the server would
        make from the same state; a script whose misdeeds depend on data the rehearsal never
        produced passes, and the server refuses it during the run instead.

        >>> from redlin.harness.actions import Key
        >>> from redlin.harness.script_guard import guard_script
        >>> bad = ScriptCall(guard_script(b"return redis.call('GET', 'elsewhere')"), (Key("k"),), ())
        >>> Guard(b"redlin:r1:").rehearse([bad]).problem
        "GET on key 'elsewhere': not one of the script's KEYS ..."
        """
        state = INITIAL_STATE
        for index, action in enumerate(actions):
            for argv in possible_commands(action, self.prefix + b"0:"):
                try:
                    state, reply, undeclared = step_reporting_undeclared(state, 0, argv)
                except ScriptTooLong as error:
                    if isinstance(action, ScriptCall):
                        return Rehearsal(index, action, f"the model gave up running it ({error})")
                    raise
                if not isinstance(action, ScriptCall):
                    continue
                text = refusal(reply)
                if text is not None:
                    return Rehearsal(index, action, text)
                if undeclared and script_policy(action.body) != "destructive":
                    return Rehearsal(index, action, "it touched a key it does not declare")
        return None


def possible_commands(action: Action, prefix: bytes) -> list[Argv]:
    """Every command ``action`` may send with its keys under ``prefix`` (both EVAL and EVALSHA for
    a script; a cas loop's SET shows its token as the value)."""
    if isinstance(action, Command):
        return [render(action.argv, prefix)]
    if isinstance(action, Transaction):
        watch = [(b"WATCH", *render(action.watch, prefix)), *(render(c, prefix) for c in action.reads)] \
            if action.watch else []
        end = (b"DISCARD",) if action.discard else (b"EXEC",)
        return [*watch, (b"MULTI",), *(render(c, prefix) for c in action.commands), end]
    if isinstance(action, Pipeline):
        return [render(c, prefix) for c in action.commands]
    if isinstance(action, ScriptCache):  # an EVALSHA's body is admitted as its SCRIPT LOAD would be
        load = [cache_command(ScriptCache("load", action.scripts), prefix)] if action.verb == "evalsha" else []
        return [*load, cache_command(action, prefix)]
    if isinstance(action, ScriptCall):
        tail = (str(len(action.keys)).encode(), *render(action.keys, prefix), *action.args)
        return [(b"EVAL", action.body, *tail), (b"EVALSHA", action.sha, *tail)]
    (key,) = render((action.key,), prefix)
    return [(b"WATCH", key), (b"GET", key), (b"UNWATCH",), (b"MULTI",), (b"SET", key, action.token), (b"EXEC",)]


# ----------------------------------------------------------------------------- scripts, before and after


def guard_refusals(history: History) -> list[tuple[int, str]]:
    """The operations of a recorded history whose scripts the guard inside them refused, with the
    first refusal of each (``(operation id, text)``): a run that met one must not end as if
    nothing happened.  Replies inside EXEC's count too.

    >>> from redlin.history.records import Operation
    >>> refused = Error("ERR redlin guard: FLUSHALL reaches beyond ... script: f, on @user_script:1.")
    >>> guard_refusals(History((Operation(0, 1, ((b"EVALSHA", b"f", b"0"),), (refused,), 0, 1),)))
    [(0, 'FLUSHALL reaches beyond ...')]
    """
    found: list[tuple[int, str]] = []
    for op in history:
        pending = list(op.result) if isinstance(op.result, tuple) else []
        while pending:
            reply = pending.pop(0)
            if isinstance(reply, tuple):
                pending[:0] = reply
                continue
            text = refusal(reply)
            if text is not None:
                found.append((op.id, text))
                break
    return found
