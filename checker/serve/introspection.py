"""What the embedded server says about itself: MEMORY USAGE, COMMAND GETKEYS and error statistics.

These answer questions about the server rather than about the data, so they live beside INFO in
the server layer, not in the model.

**MEMORY.** What a key's value would occupy, estimated (not the model's job).

Redis's ``MEMORY USAGE`` reports what its allocator handed out for a key and its value (jemalloc
size classes, encodings, dictionary overhead): a figure no model of Redis's *behaviour* reproduces,
and one Redis's own test suite does not rely on either when the allocator is not jemalloc (its
``memory_usage`` helper then uses 1).  So the embedded server answers it here, beside INFO, with an
estimate: the bytes of the key and of every element, plus a fixed overhead per element, and
``INFO memory`` says ``mem_allocator:libc``.  Arguments and errors are Redis 7.0.15's: a missing
key gives a null reply, ``SAMPLES`` takes a count (0: every element), anything else is a syntax
error.  ``MEMORY HELP`` is Redis's text; DOCTOR, STATS, MALLOC-STATS and PURGE are not served.

**COMMAND GETKEYS** ``cmd arg...``: the keys the model's command table finds in that invocation,
with Redis 7.0.15's errors (``getKeysSubcommandImpl``).

**Error statistics** (:class:`ErrorStats`): the error replies sent, counted by their first word, as
``INFO errorstats`` and ``total_error_replies`` report them; CONFIG RESETSTAT clears them.

>>> from redlin.model import INITIAL_STATE, step
>>> state, _ = step(INITIAL_STATE, 1, [b"RPUSH", b"l", b"a", b"bc"])
>>> memory_command(state, 1, [b"MEMORY", b"USAGE", b"l"])
76
>>> memory_command(state, 1, [b"MEMORY", b"USAGE", b"nokey"]) is None
True
>>> memory_command(state, 1, [b"MEMORY", b"USAGE", b"l", b"SAMPLES", b"-1"])
Error('ERR syntax error')
>>> command_getkeys([b"COMMAND", b"GETKEYS", b"FCALL", b"f", b"1", b"x", b"foo"])
(b'x',)
>>> command_getkeys([b"COMMAND", b"GETKEYS", b"CONFIG", b"GET", b"x"])
Error('ERR The command has no key arguments')
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from typing import Final

from redlin.model import Error, Reply, State, Status, ZSet, lookup

__all__ = ["ErrorStats", "command_getkeys", "memory_command"]

KEY_OVERHEAD: Final = 56
"""Bytes counted for a key beyond its name and value (Redis's dictEntry, robj and sds headers)."""
ELEMENT_OVERHEAD: Final = 8
"""Bytes counted for each element of an aggregate beyond its own bytes."""

_HELP: Final = (
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
)
_SYNTAX: Final = Error("ERR syntax error")


def memory_command(state: State, client: Hashable, argv: Sequence[bytes]) -> Reply:
    """``MEMORY USAGE key [SAMPLES count]`` and ``MEMORY HELP`` on ``state``, as ``client`` sees it."""
    if len(argv) < 2:
        return Error("ERR wrong number of arguments for 'memory' command")
    sub = argv[1].lower()
    if sub == b"help" and len(argv) == 2:
        return tuple(Status(line) for line in _HELP)
    if sub != b"usage":
        name = argv[1].decode("utf-8", "surrogateescape")[:128]
        return Error(f"ERR unknown subcommand '{name}'. Try MEMORY HELP.")
    if len(argv) < 3:
        return Error("ERR wrong number of arguments for 'memory|usage' command")
    if len(argv) not in (3, 5) or (len(argv) == 5 and not _samples_ok(argv[3], argv[4])):
        return _SYNTAX
    keyspace = state.dbs[state.session(client).db]
    value = keyspace.data.get(argv[2])
    if value is None:
        return None
    return KEY_OVERHEAD + len(argv[2]) + _size(value)


def _samples_ok(option: bytes, count: bytes) -> bool:
    return option.lower() == b"samples" and count.isdigit() and len(count) <= 19


def _size(value: object) -> int:
    """The estimated bytes of a value: its elements' bytes, each with :data:`ELEMENT_OVERHEAD`."""
    if isinstance(value, (bytes, str)):
        return len(value)
    if isinstance(value, (int, float)):
        return 8
    items: Iterable[object]
    if isinstance(value, ZSet):
        items = (part for pair in value.ordered_items() for part in pair)
    elif hasattr(value, "items") and callable(value.items):
        items = (part for pair in value.items() for part in pair)
    elif isinstance(value, Iterable):
        items = value
    else:
        return ELEMENT_OVERHEAD
    return sum(ELEMENT_OVERHEAD + _size(item) for item in items)


# Commands whose keys may be none at all (CMD_NO_MANDATORY_KEYS): GETKEYS then replies an empty array.
_NO_MANDATORY_KEYS: Final = frozenset({"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"})


def command_getkeys(argv: Sequence[bytes]) -> Reply:
    """``COMMAND GETKEYS cmd arg...``: the keys of ``cmd arg...`` by the model's command table."""
    if len(argv) < 4:  # COMMAND GETKEYS's arity is -4: a command and at least one argument
        return Error("ERR wrong number of arguments for 'command|getkeys' command")
    call = argv[2:]
    spec = lookup(call)
    if spec is None or (spec.subcommands and len(call) > 1):  # an unknown subcommand of a container
        return Error("ERR Invalid command specified")
    if spec.first_key <= 0 and spec.keys_fn is None:
        return Error("ERR The command has no key arguments")
    if (spec.arity > 0 and spec.arity != len(call)) or len(call) < -spec.arity:
        return Error("ERR Invalid number of arguments specified for command")
    try:
        keys = spec.keys(call)
    except (IndexError, ValueError):
        keys = ()
    if not keys and spec.name not in _NO_MANDATORY_KEYS:
        return Error("ERR Invalid arguments specified for command")
    return tuple(keys)


class ErrorStats:
    """Error replies sent, by their first word (``ERR``, ``WRONGTYPE``, ``MY_ERR_CODE``...)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def record(self, reply: Reply) -> None:
        """Count ``reply`` if it is an error, and the errors inside an EXEC's array."""
        if type(reply) is Error:
            self.counts[reply.text.split(" ", 1)[0]] += 1
        elif type(reply) is tuple:
            for item in reply:
                if type(item) is Error:
                    self.counts[item.text.split(" ", 1)[0]] += 1

    def reset(self) -> None:
        self.counts.clear()

    def info(self) -> str:
        """The ``# Errorstats`` section of INFO."""
        return "# Errorstats\r\n" + "".join(f"errorstat_{code}:count={count}\r\n"
                                             for code, count in sorted(self.counts.items()))

    @property
    def total(self) -> int:
        return sum(self.counts.values())
