"""What a parallel program is made of: actions, each one atomic unit of Redis, and the program itself.

A :class:`Program` is what one example of ``redlin run`` executes: a sequential setup, then one
list of actions per client.  Each action is what Redis runs atomically (:class:`Command`,
:class:`Transaction`, :class:`ScriptCall`), a check-and-set loop of such units
(:class:`CasLoop`), or several commands written at once (:class:`Pipeline`).  Keys are logical names (:class:`Key`) until the recorder sends them under
the run's prefix (:func:`render`).  Programs are drawn from workload families by
:func:`redlin.harness.workloads.programs`, which re-exports these names.

>>> render((b"GET", Key("r0")), b"redlin:run:0:")
(b'GET', b'redlin:run:0:r0')
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from redlin.adapter.redis_model import describe_command

__all__ = [
    "Action", "Arg", "Argv", "CasLoop", "Command", "Key", "Pipeline", "Program", "ScriptCache", "ScriptCall",
    "CACHED_SOURCES", "CACHE_BODY", "Transaction", "cache_command", "cached_body", "describe_action", "render",
]


@dataclass(frozen=True, slots=True)
class Key:
    """A logical key name in an action; the recorder sends it under the run's prefix."""

    name: str


Arg: TypeAlias = bytes | Key
Argv: TypeAlias = tuple[Arg, ...]


@dataclass(frozen=True, slots=True)
class Command:
    """Send one command."""

    argv: Argv


@dataclass(frozen=True, slots=True)
class Transaction:
    """``WATCH`` the :attr:`watch` keys (one operation, if any), then ``MULTI``, the commands,
    ``EXEC`` or ``DISCARD`` (one operation)."""

    commands: tuple[Argv, ...]
    watch: tuple[Key, ...] = ()
    discard: bool = False
    """End with ``DISCARD`` instead of ``EXEC`` (nothing queued runs; the WATCHes end)."""
    reads: tuple[Argv, ...] = ()
    """Commands sent after the WATCH and before MULTI, each an operation of its own: the reads a
    check-and-set makes before it decides (only with :attr:`watch`)."""


@dataclass(frozen=True, slots=True)
class ScriptCall:
    """``EVALSHA`` (or ``EVAL`` until this body was loaded in the run) of :attr:`body`."""

    body: bytes
    """The script as sent: the workload's text inside redlin's script guard
    (:func:`redlin.harness.script_guard.guard_script`; the guard refuses any other body)."""
    keys: tuple[Key, ...]
    args: tuple[bytes, ...]

    @property
    def sha(self) -> bytes:
        return hashlib.sha1(self.body).hexdigest().encode()


@dataclass(frozen=True, slots=True)
class CasLoop:
    """``WATCH k; GET k; MULTI; SET k f(v); EXEC``, retried up to :attr:`retries` times on nil."""

    key: Key
    token: bytes
    retries: int


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Write :attr:`commands` at once, then read their replies: each command is an operation of
    its own (they overlap in time; the server runs them in order)."""

    commands: tuple[Argv, ...]


CACHED_SOURCES: Final = (b"return 1", b"return 2", b"return 3", b"return 4")
"""The scripts of :class:`ScriptCache` steps: the first three are loaded and run, the last is only
ever asked about (``SCRIPT EXISTS`` of a script nobody loaded).  They call nothing, so they are
sent as they are, not inside the guard's prelude: a server keeps every script until SCRIPT FLUSH,
and each execution loads its own (see :func:`cached_body`), so they must stay small."""

CACHE_BODY: Final = re.compile(rb"-- redlin script cache [!-~]+\nreturn [0-9]")
"""The only bodies outside the guard's prelude redlin sends (:func:`cached_body`; the guard
checks the whole body against it): a comment and a constant."""


@dataclass(frozen=True, slots=True)
class ScriptCache:
    """One command on the server's script cache, shared by every client: ``SCRIPT LOAD`` of one of
    :data:`CACHED_SOURCES`, ``SCRIPT EXISTS`` of some of their SHA1s, ``EVALSHA`` of one (NOSCRIPT
    until some client loaded it), or ``SCRIPT FLUSH``, which empties the cache of every user of the
    server and so is sent only with ``--allow-destructive`` (``SCRIPT EXISTS`` of the same scripts
    otherwise).  Each body names the execution's key prefix (:func:`cache_command`), so every
    execution starts with none of them cached, as its model does."""

    verb: str
    """``load``, ``exists``, ``evalsha`` or ``flush``."""
    scripts: tuple[int, ...]
    """Indexes into :data:`CACHED_SOURCES`."""
    key: Key = Key("g0")
    """The key an ``evalsha`` passes as ``KEYS[1]``."""


def cached_body(index: int, prefix: bytes) -> bytes:
    """The body sent for ``CACHED_SOURCES[index]`` in the execution of ``prefix``: its name in a
    comment makes it that execution's own.

    >>> cached_body(1, b"redlin:r:0:")
    b'-- redlin script cache redlin:r:0:\\nreturn 2'
    """
    return b"-- redlin script cache " + prefix + b"\n" + CACHED_SOURCES[index]


def cache_command(action: ScriptCache, prefix: bytes, *, allow_destructive: bool = False) -> tuple[bytes, ...]:
    """The command ``action`` sends in the execution of ``prefix``.

    >>> cache_command(ScriptCache("exists", (0, 3)), b"redlin:r:0:")[:2]
    (b'SCRIPT', b'EXISTS')
    >>> cache_command(ScriptCache("flush", (1,)), b"p:")[1], cache_command(ScriptCache("flush", ()), b"p:", allow_destructive=True)
    (b'EXISTS', (b'SCRIPT', b'FLUSH'))
    """
    shas = tuple(hashlib.sha1(cached_body(index, prefix)).hexdigest().encode() for index in action.scripts)
    if action.verb == "load":
        return (b"SCRIPT", b"LOAD", cached_body(action.scripts[0], prefix))
    if action.verb == "evalsha":
        return (b"EVALSHA", shas[0], b"1", prefix + action.key.name.encode())
    if action.verb == "flush" and allow_destructive:
        return (b"SCRIPT", b"FLUSH")
    return (b"SCRIPT", b"EXISTS", *(shas or (b"0" * 40,)))


Action: TypeAlias = Command | Transaction | ScriptCall | CasLoop | Pipeline | ScriptCache


@dataclass(frozen=True, slots=True)
class Program:
    """A parallel program: :attr:`setup` runs first on one client, then each list of
    :attr:`clients` runs on its own client, all clients at once."""

    family: str
    setup: tuple[Action, ...]
    clients: tuple[tuple[Action, ...], ...]
    keys: tuple[str, ...] = field(default=())
    """Every logical key the program may touch (the family's pool)."""

    @property
    def size(self) -> int:
        """How many actions (setup included)."""
        return len(self.setup) + sum(len(actions) for actions in self.clients)

    def describe(self, labels: Mapping[int, str] | None = None) -> str:
        """The program as text, one line per client.

        Each line starts with the client's label: ``labels[i]`` for the list ``clients[i]`` and
        ``labels[-1]`` for the setup when given (a run names them as its history does), else
        ``client i`` and ``setup``.

        >>> program = Program("demo", (), ((), (Command((b"INCR", Key("c0"))),)))
        >>> program.describe()
        'client 1: INCR c0'
        >>> program.describe({1: "client 17"})
        'client 17: INCR c0'
        """
        names = labels or {}
        lines = []
        if self.setup:
            label = names.get(-1)
            head = f"{label}: " if label is not None else "setup:    "
            lines.append(head + "; ".join(describe_action(a) for a in self.setup))
        for index, actions in enumerate(self.clients):
            if actions:
                lines.append(f"{names.get(index, f'client {index}')}: " + "; ".join(describe_action(a) for a in actions))
        return "\n".join(lines) if lines else "(empty program)"


def render(argv: Argv, prefix: bytes) -> tuple[bytes, ...]:
    """``argv`` with every :class:`Key` put under ``prefix``."""
    return tuple(prefix + arg.name.encode() if isinstance(arg, Key) else arg for arg in argv)


def _text(argv: Argv) -> str:
    """``argv`` as words: a key by its name, a value quoted when it is empty or holds spaces or
    control characters (it goes to consoles and logs).

    >>> print(_text((b"SET", Key("k"), b"a b", b"")))
    SET k 'a b' ''
    """
    return " ".join(arg.name if isinstance(arg, Key) else describe_command((arg,)) for arg in argv)


def describe_action(action: Action) -> str:
    """One action as short text (``SET r0 0-1``, ``MULTI; RPUSH l0 1-2; EXEC``, ``cas w0 += 1-2``;
    a script shows its sha's first 8 digits: EVAL sends the body the first time, EVALSHA later)."""
    if isinstance(action, Command):
        return _text(action.argv)
    if isinstance(action, Transaction):
        watch = f"WATCH {_text(action.watch)}; " if action.watch else ""
        watch += "".join(f"{_text(c)}; " for c in action.reads)
        end = "DISCARD" if action.discard else "EXEC"
        return watch + "MULTI; " + "; ".join(_text(c) for c in action.commands) + f"; {end}"
    if isinstance(action, Pipeline):
        return "pipeline(" + "; ".join(_text(c) for c in action.commands) + ")"
    if isinstance(action, ScriptCache):
        return f"SCRIPT {action.verb.upper()} <cached {', '.join(map(str, action.scripts))}>" + (
            f" {action.key.name}" if action.verb == "evalsha" else "")
    if isinstance(action, ScriptCall):
        return f"EVAL/EVALSHA <{action.sha[:8].decode()}> {len(action.keys)} {_text((*action.keys, *action.args))}"
    return f"cas {action.key.name} += {action.token.decode('utf-8', 'backslashreplace')}"
