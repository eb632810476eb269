"""Introspection and server clock commands (object.c, server.c, replication.c): OBJECT TIME WAIT.

OBJECT ENCODING follows Redis 7.0.15's rules with the default configuration, computed from the
value's contents:

==========  ==========================================================================
string      ``int`` (a strict integer of at most 20 bytes that fits a long), ``embstr`` (at
            most 44 bytes), else ``raw``
list        ``quicklist`` (always, in 7.0: listpack lists came with 7.2)
set         ``intset`` (integers only, at most 512), else ``hashtable``
hash        ``listpack`` (at most 128 fields, every field and value at most 64 bytes), else
            ``hashtable``
zset        ``skiplist`` once it outgrew a listpack (128 members, 64 bytes) or a SORT read it, else
            ``listpack`` (:attr:`ZSet.skiplist <redlin.model.ZSet>`: Redis never converts back)
stream      ``stream``
==========  ==========================================================================

What the model does not reproduce: Redis's conversions are one-way (a hash that grew to a
hashtable stays one when it shrinks) and a few commands store ``raw`` strings however short
(APPEND, SETRANGE, SETBIT...).  Remembering that would put an encoding inside every value, make
values with the same contents unequal (the checker's cache would split on a detail no other
command shows) and touch every family; OBJECT ENCODING is not worth it.  The limits are the
``*-max-*`` defaults: once CONFIG SET can change them (``ctx.config``), :func:`encoding` should
read them there.

OBJECT REFCOUNT is 1, except for the shared integers 0..9999 (``OBJ_SHARED_INTEGERS``): 2147483647
(``OBJ_SHARED_REFCOUNT``); Redis 7.0 shares them unless a maxmemory policy forbids it
(``MAXMEMORY_FLAG_NO_SHARED_INTEGERS``: LRU/LFU policies with maxmemory set).  OBJECT FREQ needs an
LFU maxmemory policy: with the default (noeviction) it is an error.  OBJECT IDLETIME is 0: the
model does not track when each key was last accessed (that would change the state on every read;
Redis's own answer for a shared integer is the time since the server started or any key holding
that integer was last read).
Again, the maxmemory policy would matter once CONFIG exists.

TIME replies the clock input ``ctx.now`` as seconds and microseconds; the model's clock has
millisecond resolution, so the microseconds are always a multiple of 1000.  WAIT: the model is a
standalone primary with no replicas, so WAIT replies 0 at once when it asks for no replica or runs
inside MULTI; asking for replicas elsewhere would block until the timeout (then reply 0), which
the model does not do (:data:`~redlin.model._lists.DOES_NOT_BLOCK`).

>>> from redlin.model import Redis
>>> client = Redis().client()
>>> client.execute("SET", "n", "42"), client.execute("OBJECT", "ENCODING", "n")
(Status('OK'), b'int')
>>> client.execute("OBJECT", "REFCOUNT", "n"), client.execute("WAIT", "0", "100")
(2147483647, 0)
"""

from __future__ import annotations

from collections.abc import Sequence

from immutables import Map

from ._commands import command, container
from ._engine import Context, help_reply
from ._lists import cannot_block
from ._numbers import LLONG_MAX, parse_int, to_int
from ._reply import Error, Reply
from ._state import TYPE_NAMES, Value, ZSet

# The defaults of redis.conf 7.0 (CONFIG would change them).
SET_MAX_INTSET_ENTRIES = 512
HASH_MAX_LISTPACK_ENTRIES = 128
HASH_MAX_LISTPACK_VALUE = 64
EMBSTR_SIZE_LIMIT = 44  # OBJ_ENCODING_EMBSTR_SIZE_LIMIT
SHARED_INTEGERS = 10000  # OBJ_SHARED_INTEGERS
SHARED_REFCOUNT = 2**31 - 1  # OBJ_SHARED_REFCOUNT: INT_MAX

NO_LFU = Error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that "
               "when switching between policies at runtime LRU and LFU data will take some time to adjust.")
OBJECT_HELP = (
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
)


def type_name(value: Value | None) -> str:
    """TYPE's name for a value (``getObjectTypeName``), "none" for no value.

    >>> type_name(b"x"), type_name(None), type_name(frozenset({b"a"}))
    ('string', 'none', 'set')
    """
    return "none" if value is None else TYPE_NAMES[type(value)]


def _is_int(text: bytes) -> bool:
    return to_int(text) is not None  # string2ll: at most 20 bytes, no sign tricks, fits a long


def encoding(value: Value) -> bytes:
    """OBJECT ENCODING's answer for a value with these contents (Redis 7.0.15's defaults).

    >>> encoding(b"12"), encoding(b"x" * 44), encoding(b"x" * 45), encoding((b"a",))
    (b'int', b'embstr', b'raw', b'quicklist')
    >>> encoding(frozenset({b"1", b"2"})), encoding(frozenset({b"1", b"a"}))
    (b'intset', b'hashtable')
    """
    kind = type(value)
    if kind is bytes:
        assert isinstance(value, bytes)
        if _is_int(value):
            return b"int"
        return b"embstr" if len(value) <= EMBSTR_SIZE_LIMIT else b"raw"
    if kind is tuple:
        return b"quicklist"
    if kind is frozenset:
        assert isinstance(value, frozenset)
        small = len(value) <= SET_MAX_INTSET_ENTRIES and all(_is_int(member) for member in value)
        return b"intset" if small else b"hashtable"
    if kind is Map:
        assert isinstance(value, Map)
        small = len(value) <= HASH_MAX_LISTPACK_ENTRIES and all(
            len(field) <= HASH_MAX_LISTPACK_VALUE and len(text) <= HASH_MAX_LISTPACK_VALUE
            for field, text in value.items())
        return b"listpack" if small else b"hashtable"
    if kind is ZSet:
        assert isinstance(value, ZSet)
        return b"skiplist" if value.skiplist else b"listpack"
    return b"stream"


def refcount(value: Value) -> int:
    """OBJECT REFCOUNT: the shared integers' INT_MAX, else 1 (the model shares no other object).

    >>> refcount(b"9999"), refcount(b"10000"), refcount(b"-1")
    (2147483647, 1, 1)
    """
    number = to_int(value) if type(value) is bytes else None
    return SHARED_REFCOUNT if number is not None and 0 <= number < SHARED_INTEGERS else 1


container("object")


def _lookup(ctx: Context, argv: Sequence[bytes]) -> Value | None:
    # objectCommandLookup (LOOKUP_NOTOUCH): an expired key is deleted, nothing else changes.
    return ctx.read(argv[2])


@command("object|help", 2, "loading stale")
def object_help(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return help_reply(ctx, OBJECT_HELP)


@command("object|encoding", 3, "readonly random", keys=(2, 2, 1))
def object_encoding(ctx: Context, argv: Sequence[bytes]) -> Reply:
    value = _lookup(ctx, argv)
    return None if value is None else encoding(value)


@command("object|refcount", 3, "readonly random", keys=(2, 2, 1))
def object_refcount(ctx: Context, argv: Sequence[bytes]) -> Reply:
    value = _lookup(ctx, argv)
    return None if value is None else refcount(value)


@command("object|idletime", 3, "readonly random", keys=(2, 2, 1))
def object_idletime(ctx: Context, argv: Sequence[bytes]) -> Reply:
    # Not tracked: 0.  (With an LFU maxmemory policy this is an error: CONFIG.)
    return None if _lookup(ctx, argv) is None else 0


@command("object|freq", 3, "readonly random", keys=(2, 2, 1))
def object_freq(ctx: Context, argv: Sequence[bytes]) -> Reply:
    # Only an LFU maxmemory policy keeps the counter (CONFIG); the default does not.
    return None if _lookup(ctx, argv) is None else NO_LFU


@command("time", 1, "random loading stale fast")
def time_(ctx: Context, argv: Sequence[bytes]) -> Reply:
    seconds, millis = divmod(ctx.now, 1000)
    return (str(seconds).encode(), str(millis * 1000).encode())


@command("wait", 3, "noscript")
def wait(ctx: Context, argv: Sequence[bytes]) -> Reply:
    numreplicas = parse_int(argv[1])
    timeout = parse_int(argv[2], Error("ERR timeout is not an integer or out of range"))
    if timeout < 0:
        return Error("ERR timeout is negative")
    assert timeout <= LLONG_MAX
    if numreplicas <= 0:
        return 0  # no replica acknowledged, and none was asked for
    return cannot_block(ctx, 0)  # inside MULTI: at once; elsewhere it would wait out the timeout


__all__ = ["encoding", "refcount", "type_name"]
