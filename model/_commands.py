"""The command table: one record per command, written once and used by everyone.

The model uses it for dispatch, arity and queue-time checks; the checker uses the same records to
learn which keys an operation touches (to split a history into independent parts) and whether it
can write.  Arity, flags and key positions follow Redis 7.0's ``COMMAND INFO`` (a test compares
them with a live server).

Arity is Redis's convention: ``n > 0`` means exactly n words including the name, ``n < 0`` means
at least ``-n``.  Keys are at positions ``first, first+step, ... last`` (``last < 0`` counts from
the end), or are found by ``keys_fn`` for commands whose keys move (EVAL's numkeys).
``undeclared_keys`` says when an invocation also reads keys no argument names (SORT's BY and GET
patterns): :func:`keys_of` then answers None, and a script calling it touches undeclared keys.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._engine import Context
    from ._reply import Reply

    Handler = Callable[[Context, Sequence[bytes]], Reply]

# Flag words, as Redis names them (plus ``unordered``: the NONDETERMINISTIC_OUTPUT_ORDER tip, and
# ``pairs``: an unordered reply made of field/value pairs, like HGETALL).
FLAG_WORDS = frozenset({
    "write", "readonly", "admin", "noscript", "no_multi", "blocking", "pubsub", "fast",
    "movablekeys", "loading", "stale", "allow_busy", "unordered", "pairs", "random", "denyoom",
})


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One command (or subcommand, named ``container|sub``)."""

    name: str
    arity: int
    flags: frozenset[str]
    first_key: int = 0
    last_key: int = 0
    key_step: int = 0
    handler: Any = None
    keys_fn: Callable[[Sequence[bytes]], tuple[bytes, ...]] | None = None
    subcommands: dict[bytes, CommandSpec] = field(default_factory=dict)
    undeclared_keys: Callable[[Sequence[bytes]], bool] | None = None

    @property
    def write(self) -> bool:
        return "write" in self.flags

    def keys(self, argv: Sequence[bytes]) -> tuple[bytes, ...]:
        """The keys this invocation names (argv includes the command name)."""
        if self.keys_fn is not None:
            return self.keys_fn(argv)
        if self.first_key <= 0:
            return ()
        last = self.last_key if self.last_key >= 0 else len(argv) + self.last_key
        return tuple(argv[self.first_key : last + 1 : self.key_step])

    def reaches_undeclared(self, argv: Sequence[bytes]) -> bool:
        """Whether this invocation reads keys its arguments do not name (``SORT l BY w_*``)."""
        return self.undeclared_keys is not None and self.undeclared_keys(argv)


COMMANDS: dict[bytes, CommandSpec] = {}


def command(
    name: str,
    arity: int,
    flags: str = "",
    keys: tuple[int, int, int] = (0, 0, 0),
    keys_fn: Callable[[Sequence[bytes]], tuple[bytes, ...]] | None = None,
    undeclared_keys: Callable[[Sequence[bytes]], bool] | None = None,
) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of ``name`` (``"script|load"`` for a subcommand)."""
    words = frozenset(flags.split())
    unknown = words - FLAG_WORDS
    if unknown:
        raise ValueError(f"unknown flags {sorted(unknown)} for {name}")

    def register(handler: Handler) -> Handler:
        spec = CommandSpec(name, arity, words, *keys, handler=handler, keys_fn=keys_fn,
                           undeclared_keys=undeclared_keys)
        container, _, sub = name.partition("|")
        if sub:
            parent = COMMANDS.get(container.encode())
            if parent is None:
                raise ValueError(f"container {container} must be registered before {name}")
            parent.subcommands[sub.encode()] = spec
        else:
            COMMANDS[name.encode()] = spec
        return handler

    return register


def container(name: str, arity: int = -2, flags: str = "") -> None:
    """Register a command that only dispatches to subcommands (SCRIPT, CONFIG...)."""
    COMMANDS[name.encode()] = CommandSpec(name, arity, frozenset(flags.split()))


def lookup(argv: Sequence[bytes]) -> CommandSpec | None:
    """The spec an argv runs: the subcommand's for a container with a known subcommand."""
    spec = COMMANDS.get(argv[0].lower())
    if spec is not None and spec.subcommands and len(argv) > 1:
        return spec.subcommands.get(argv[1].lower(), spec)
    return spec


def keys_of(argv: Sequence[bytes]) -> tuple[bytes, ...] | None:
    """The keys an invocation touches; ``None`` if it may touch any key (FLUSHALL, DBSIZE...)."""
    spec = lookup(argv)
    if spec is None:
        return ()
    if spec.name in _ALL_KEYS or spec.reaches_undeclared(argv):
        return None
    try:
        return spec.keys(argv)
    except (IndexError, ValueError):
        return ()


# Commands that read or change the whole keyspace: a history containing them cannot be split by key.
# CONFIG SET is one: it changes how commands on every key behave (proto-max-bulk-len, NOREPLICAS...).
_ALL_KEYS = frozenset({"flushall", "flushdb", "swapdb", "dbsize", "keys", "scan", "randomkey", "config|set"})
