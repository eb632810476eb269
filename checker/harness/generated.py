"""Steps drawn from the whole model: every command of the grammar, transactions, scripts.

Where a :class:`~redlin.harness.workloads.Family`'s templates (``Op("SET {key} {value}")``) fix a
step's shape, the templates here draw it, from :mod:`redlin.harness.grammar`:

- :class:`AnyCommand`: one command of any modelled data type, arguments from the corners where
  implementations differ, on a small pool of keys every client shares (so that clients conflict
  and types clash on purpose);
- :class:`AnyTransaction`: MULTI, one to :data:`LONGEST_TRANSACTION` drawn commands, EXEC or
  DISCARD, sometimes after WATCH of one or several keys, sometimes with a command Redis refuses
  at queue time (EXECABORT) or one that fails when it runs (an error inside EXEC's reply);
- :class:`AnyScript`: a Lua script made of one to four ``redis.call``/``redis.pcall`` calls on its
  declared keys, sent inside redlin's script guard (EVAL the first time, EVALSHA after);
- :class:`AnyPipeline`: two to five drawn commands written at once, each its own operation;
- :class:`AnyScriptCache`: SCRIPT LOAD, SCRIPT EXISTS, EVALSHA (NOSCRIPT until someone loaded it)
  and, with ``--allow-destructive``, SCRIPT FLUSH, on a few scripts every client shares.

WATCH and UNWATCH are commands of the grammar too, so several WATCHes, a WATCH then a DISCARD then
a new transaction, and an UNWATCH between happen as a client's steps come.

Each template draws with a ``choose`` function (Hypothesis's ``sampled_from``, or
``random.Random.choice``), so programs shrink like the others: Hypothesis moves every choice towards
the first option.  The unique token of a step (``<client>-<n>``) is known only when the step's
place is (:meth:`build`): the drawn skeleton holds :data:`TOKEN` until then.

>>> import random
>>> rng = random.Random(7)
>>> template = AnyCommand()
>>> template.build(template.draw(rng.choice, ("g0", "g1")), b"1-3")
Command(argv=(b'LPOP', Key(name='g1')))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, Protocol

from redlin.harness.actions import (
    CACHED_SOURCES,
    Action,
    Arg,
    Command,
    Key,
    Pipeline,
    ScriptCache,
    ScriptCall,
    Transaction,
)
from redlin.harness.grammar import GRAMMAR, KINDS, Choose, draw_argv, keys_for
from redlin.harness.script_guard import guard_script

__all__ = [
    "LONGEST_TRANSACTION", "QUEUE_ERRORS", "TOKEN", "AnyCommand", "AnyPipeline", "AnyScript", "AnyScriptCache", "AnyTransaction", "Drawn", "drawn_commands",
]

TOKEN: Final = b"\x00token\x00"
"""Stands for the step's unique token in a drawn skeleton (no drawn value contains a NUL byte
followed by ``token``)."""
LONGEST_TRANSACTION: Final = 12
"""The most commands in a drawn transaction: long ones find atomicity lost only past some length."""

_NAMES: Final = tuple(name for name in GRAMMAR if name not in ("watch", "unwatch"))
_SESSION: Final = ("watch", "unwatch")
QUEUE_ERRORS: Final = ((b"GET",), (b"SET",), (b"INCRBY",), (b"LPUSH",))
"""Refused at queue time (wrong arity): EXEC then answers EXECABORT (sheet M8).  Unknown commands
are left out: the guard sends nothing the model does not know."""


@lru_cache(maxsize=16)
def _names(leave_out: frozenset[str]) -> tuple[str, ...]:
    """The grammar's commands (but WATCH/UNWATCH) without ``leave_out``, in the grammar's order."""
    return tuple(name for name in _NAMES if name not in leave_out)


class Drawn(Protocol):
    """A step that draws its own shape: a skeleton from ``choose`` and the key pool (:meth:`draw`),
    then the action once the step's unique token is known (:meth:`build`).  A
    :class:`~redlin.harness.workloads.Family` takes these beside its templates."""

    @property
    def weight(self) -> int: ...
    @property
    def pool(self) -> tuple[str, ...] | None: ...

    def draw(self, choose: Choose, pool: Sequence[str]) -> Any: ...
    def build(self, drawn: Any, token: bytes) -> Action: ...
    def commands(self) -> frozenset[str]: ...


def _swap(argv: tuple[Arg, ...], token: bytes) -> tuple[Arg, ...]:
    return tuple(token if arg == TOKEN else arg for arg in argv)


@dataclass(frozen=True, slots=True)
class AnyCommand:
    """One command drawn from the whole grammar (WATCH and UNWATCH a little less often), but the
    commands ``leave_out`` names (those a version profile changes in ways the model does not encode)."""

    weight: int = 1
    pool: tuple[str, ...] | None = None
    leave_out: frozenset[str] = frozenset()

    def draw(self, choose: Choose, pool: Sequence[str]) -> tuple[Arg, ...]:
        name = choose(_names(self.leave_out) if choose((True, True, True, True, True, True, False)) else _SESSION)
        return draw_argv(GRAMMAR[name], choose, keys_for(name, pool, choose), TOKEN)

    def build(self, drawn: Any, token: bytes) -> Action:
        return Command(_swap(drawn, token))

    def commands(self) -> frozenset[str]:
        return frozenset(name.upper() for name in (*_names(self.leave_out), *_SESSION))


@dataclass(frozen=True, slots=True)
class AnyTransaction:
    """MULTI, drawn commands, EXEC (or DISCARD), optionally after WATCH (see the module docstring)."""

    weight: int = 1
    pool: tuple[str, ...] | None = None
    leave_out: frozenset[str] = frozenset()

    def draw(self, choose: Choose, pool: Sequence[str]) -> tuple[Any, ...]:
        length = choose((1, 2, 3, 2, 4, 6, LONGEST_TRANSACTION))
        drawable = _names(self.leave_out)
        names = [choose(drawable) for _ in range(length)]
        commands = [draw_argv(GRAMMAR[name], choose, keys_for(name, pool, choose), TOKEN) for name in names]
        if choose((False,) * 9 + (True,)):
            where = choose(range(len(commands) + 1))
            commands.insert(where, choose(QUEUE_ERRORS))
        # WATCH the keys the block works on (where other clients' writes land), or any key.
        used = sorted({arg.name for argv in commands for arg in argv if isinstance(arg, Key)}) or list(pool)
        watch = tuple(Key(choose(used if choose((True, True, False)) else pool))
                      for _ in range(choose((0, 0, 1, 1, 2, 3))))
        # Half the time, read what is watched before deciding (as a check-and-set does): other
        # clients' writes then have a round trip per read to land between WATCH and EXEC.
        reads = tuple((b"TYPE", key) for key in watch) if watch and choose((False, True)) else ()
        discard = choose((False,) * 7 + (True,))
        return tuple(commands), watch, discard, reads

    def build(self, drawn: Any, token: bytes) -> Action:
        commands, watch, discard, reads = drawn
        return Transaction(tuple(_swap(argv, token) for argv in commands), watch, discard=discard, reads=reads)

    def commands(self) -> frozenset[str]:
        names = {name.upper() for name in _names(self.leave_out)} | {argv[0].decode() for argv in QUEUE_ERRORS}
        return frozenset(names | {"MULTI", "EXEC", "DISCARD", "WATCH", "TYPE"})


@dataclass(frozen=True, slots=True)
class AnyPipeline:
    """Two to five drawn commands written at once before any reply is read (each its own operation)."""

    weight: int = 1
    pool: tuple[str, ...] | None = None
    leave_out: frozenset[str] = frozenset()

    def draw(self, choose: Choose, pool: Sequence[str]) -> tuple[tuple[Arg, ...], ...]:
        drawable = _names(self.leave_out)
        names = [choose(drawable) for _ in range(choose((2, 3, 5)))]
        return tuple(draw_argv(GRAMMAR[name], choose, keys_for(name, pool, choose), TOKEN) for name in names)

    def build(self, drawn: Any, token: bytes) -> Action:
        return Pipeline(tuple(_swap(argv, token) for argv in drawn))

    def commands(self) -> frozenset[str]:
        return frozenset(name.upper() for name in _names(self.leave_out))


# Script calls: (command, arguments), where "K<n>" is KEYS[n] and "A<n>" is ARGV[n].
_SCRIPT_CALLS: Final = (
    ("GET", ("K",)), ("SET", ("K", "A")), ("INCR", ("K",)), ("INCRBY", ("K", "A")), ("DEL", ("K",)),
    ("LPUSH", ("K", "A")), ("RPOP", ("K",)), ("LRANGE", ("K", "'0'", "'-1'")), ("SADD", ("K", "A")),
    ("SISMEMBER", ("K", "A")), ("HSET", ("K", "'f'", "A")), ("HGET", ("K", "'f'")), ("EXISTS", ("K",)),
    ("APPEND", ("K", "A")), ("ZADD", ("K", "'1'", "A")), ("ZINCRBY", ("K", "A", "'m'")), ("TYPE", ("K",)),
)


@dataclass(frozen=True, slots=True)
class AnyScript:
    """A Lua script of one to four ``redis.call``/``redis.pcall`` calls on one to three declared
    keys and one or two arguments, returning every reply as a table."""

    weight: int = 1
    pool: tuple[str, ...] | None = None

    def draw(self, choose: Choose, pool: Sequence[str]) -> tuple[Any, ...]:
        keys = tuple(Key(choose(pool)) for _ in range(choose((1, 2, 3))))
        args = tuple(TOKEN if value is None else value
                     for value in (choose(KINDS["v"]) for _ in range(choose((1, 2)))))
        lines = []
        for number in range(1, choose((1, 2, 3, 4)) + 1):
            name, shape = choose(_SCRIPT_CALLS)
            words = [f"'{name}'"]
            for part in shape:
                if part == "K":
                    words.append(f"KEYS[{choose(range(1, len(keys) + 1))}]")
                elif part == "A":
                    words.append(f"ARGV[{choose(range(1, len(args) + 1))}]")
                else:
                    words.append(part)
            call = choose(("call", "pcall"))
            lines.append(f"local r{number} = redis.{call}({', '.join(words)})")
        replies = ", ".join(f"r{n}" for n in range(1, len(lines) + 1))
        body = "\n".join([*lines, f"return {{{replies}}}"]).encode()
        return guard_script(body), keys, args

    def build(self, drawn: Any, token: bytes) -> Action:
        body, keys, args = drawn
        return ScriptCall(body, keys, tuple(token if arg == TOKEN else arg for arg in args))

    def commands(self) -> frozenset[str]:
        return frozenset({"EVAL", "EVALSHA"})


@dataclass(frozen=True, slots=True)
class AnyScriptCache:
    """A command on the script cache every client shares (see
    :class:`~redlin.harness.actions.ScriptCache`): clients race to load, ask about, run and flush
    the same few scripts."""

    weight: int = 1
    pool: tuple[str, ...] | None = None

    def draw(self, choose: Choose, pool: Sequence[str]) -> ScriptCache:
        loadable = range(len(CACHED_SOURCES) - 1)
        verb = choose(("load", "evalsha", "exists", "load", "evalsha", "flush"))
        if verb == "exists":
            count = choose((1, 2, 3))
            return ScriptCache(verb, tuple(choose(range(len(CACHED_SOURCES))) for _ in range(count)))
        return ScriptCache(verb, (choose(loadable),), Key(choose(pool)))

    def build(self, drawn: Any, token: bytes) -> Action:
        return drawn  # type: ignore[no-any-return]

    def commands(self) -> frozenset[str]:
        return frozenset({"SCRIPT", "EVALSHA"})


def drawn_commands() -> frozenset[str]:
    """Every command name (upper case) a drawn step can send.

    >>> {"SET", "ZADD", "EXEC", "EVALSHA"} <= drawn_commands()
    True
    """
    return (AnyCommand().commands() | AnyTransaction().commands() | AnyScript().commands()
            | AnyScriptCache().commands())

