"""Iterating the keyspace and collections (db.c, t_set.c, t_hash.c, t_zset.c): KEYS SCAN SSCAN HSCAN ZSCAN.

KEYS replies every live key matching a glob (``stringmatchlen``, :func:`~redlin.model._pubsub.stringmatch`,
whose CVE-2022-36021 cut-off keeps nested stars fast); expired keys are left out but not deleted
(``keyIsExpired``).  Its order is the hash table's, so the reply is a set (flag ``unordered``).

The SCAN family's cursor
------------------------
Redis's cursor is a position in its hash table (reverse-binary increments of the bucket index),
which depends on the table's size and its hash seed: no model can reproduce it.  The model keeps
SCAN's guarantees with a deterministic cursor of its own:

* every element has a fixed *position*, the first 62 bits of its BLAKE2b hash (independent of the
  collection's contents, so adding or removing other elements never moves it);
* cursor ``c`` visits the elements whose position is ``>= c``, in position order: a call examines
  the first COUNT of them (10 by default; elements sharing a position are never split between
  calls), filters them (MATCH, TYPE, expired keys: Redis filters after counting too), and replies
  the position after the last examined one as the next cursor, or 0 once none is left.

So an element present for the whole iteration is returned exactly once, an element added or
removed meanwhile at most once, and an iteration ends after at most ``len / COUNT + 1`` calls.  Any
cursor Redis accepts is accepted (``strtoul``: an optional sign, digits, nothing else; an empty
cursor is 0) and simply resumes at that position.  Small encodings are returned whole in one call
with cursor 0, as Redis does: an intset (in ascending order), a listpack hash (in HGETALL's order,
the model's: Redis's is insertion order) or a listpack sorted set (by score, then member: Redis's
order exactly).  The encoding is the one :func:`~redlin.model._object.encoding` reports for the
current contents (the model does not remember that a collection once grew past the limits).
These replies depend on server-chosen cursors, so the checker's generator never draws them.

>>> from redlin.model import Redis
>>> client = Redis().client()
>>> client.execute("MSET", "user:1", "a", "user:2", "b", "other", "c")
Status('OK')
>>> sorted(client.execute("KEYS", "user:*"))
[b'user:1', b'user:2']
>>> client.execute("SADD", "ints", "3", "1", "2"), client.execute("SSCAN", "ints", "0")
(3, (b'0', (b'1', b'2', b'3')))
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Collection, Sequence
from functools import lru_cache

from immutables import Map

from ._commands import command
from ._engine import CommandError, Context
from ._glob import stringmatch
from ._numbers import format_double, parse_int
from ._object import encoding, type_name
from ._reply import SYNTAX, Error, Reply
from ._state import ZSet

INVALID_CURSOR = Error("ERR invalid cursor")
EMPTY_SCAN: Reply = (b"0", ())
ULONG_MAX = 2**64 - 1
# strtoul in base 10 as parseScanCursorOrReply uses it: optional spaces are refused at [0] (a
# space after the sign leaves no digits), an optional sign, digits; "" converts to 0.
_CURSOR = re.compile(rb"([+-]?)([0-9]+)")


def parse_cursor(text: bytes) -> int:
    """``parseScanCursorOrReply``: the cursor as C's ``unsigned long`` (a minus sign negates it
    modulo 2**64, as strtoul does).

    >>> parse_cursor(b"42"), parse_cursor(b""), parse_cursor(b"-1") == ULONG_MAX
    (42, 0, True)
    """
    if not text:
        return 0
    found = _CURSOR.fullmatch(text)
    if found is None:
        raise CommandError(INVALID_CURSOR)
    value = int(found.group(2))
    if value > ULONG_MAX:
        raise CommandError(INVALID_CURSOR)  # ERANGE
    return (-value) % 2**64 if found.group(1) == b"-" else value


@lru_cache(maxsize=1 << 16)
def position(element: bytes) -> int:
    """An element's fixed place in the model's scan order (62 bits: cursors stay positive longs).

    >>> 0 <= position(b"key") < 2**62
    True
    """
    return int.from_bytes(hashlib.blake2b(element, digest_size=8).digest(), "big") >> 2


# The scan order of the last few collections (a full SCAN calls again and again on the same,
# immutable, keyspace or value): keyed by identity, holding the collection so the id stays its own.
_ORDERS: dict[int, tuple[Collection[bytes], list[tuple[int, bytes]]]] = {}
_ORDERS_KEPT = 8


def _order(elements: Collection[bytes]) -> list[tuple[int, bytes]]:
    cached = _ORDERS.get(id(elements))
    if cached is not None and cached[0] is elements:
        return cached[1]
    order = sorted((position(element), element) for element in elements)
    if len(_ORDERS) >= _ORDERS_KEPT:
        del _ORDERS[next(iter(_ORDERS))]
    _ORDERS[id(elements)] = (elements, order)
    return order


def scan_batch(elements: Collection[bytes], cursor: int, count: int) -> tuple[list[bytes], int]:
    """The elements one call examines from ``cursor`` and the next cursor (0: the end).
    ``elements`` must not change afterwards (the model's collections are immutable).

    >>> elements = (b"a", b"b", b"c")
    >>> batch, after = scan_batch(elements, 0, 2)
    >>> rest, end = scan_batch(elements, after, 2)
    >>> sorted(batch + rest), end
    ([b'a', b'b', b'c'], 0)
    """
    order = _order(elements)
    start = bisect.bisect_left(order, (cursor, b""))
    end = start + count
    if end < len(order):
        last = order[end - 1][0]
        # Elements sharing the last position go in this call too, or the next cursor would skip them.
        while end < len(order) and order[end][0] == last:
            end += 1
    chosen = [element for _, element in order[start:end]]
    return chosen, (order[end - 1][0] + 1 if end < len(order) else 0)


def _options(argv: Sequence[bytes], first: int, keyspace: bool) -> tuple[int, bytes | None, bytes | None]:
    """Step 1 of ``scanGenericCommand``: COUNT, MATCH and (SCAN only) TYPE, last one wins."""
    count, pattern, wanted = 10, None, None
    i = first
    while i < len(argv):
        option = argv[i].lower()
        has_value = len(argv) - i >= 2
        if option == b"count" and has_value:
            count = parse_int(argv[i + 1])
            if count < 1:
                raise CommandError(SYNTAX)
        elif option == b"match" and has_value:
            pattern = None if argv[i + 1] == b"*" else argv[i + 1]  # "*" disables matching
        elif option == b"type" and keyspace and has_value:
            wanted = argv[i + 1]
        else:
            raise CommandError(SYNTAX)
        i += 2
    return count, pattern, wanted


def _matches(pattern: bytes | None, element: bytes) -> bool:
    return pattern is None or stringmatch(pattern, element)


def _expired(ctx: Context, key: bytes) -> bool:
    deadline = ctx.expires.get(key) if ctx.expires else None
    return deadline is not None and deadline <= ctx.now


@command("keys", 2, "readonly unordered")
def keys(ctx: Context, argv: Sequence[bytes]) -> Reply:
    pattern = None if argv[1] == b"*" else argv[1]
    return tuple(sorted(key for key in ctx.data if _matches(pattern, key) and not _expired(ctx, key)))


@command("scan", -2, "readonly random")
def scan(ctx: Context, argv: Sequence[bytes]) -> Reply:
    cursor = parse_cursor(argv[1])
    count, pattern, wanted = _options(argv, 2, keyspace=True)
    batch, after = scan_batch(ctx.data, cursor, count)
    found: list[bytes] = []
    for key in batch:
        if not _matches(pattern, key):
            continue
        if wanted is not None:
            # lookupKeyReadWithFlags expires the key first: a key gone that way is "none".
            value = ctx.read(key)
            if type_name(value).encode().lower() != wanted.lower():
                continue
        if _expired(ctx, key):
            ctx.read(key)  # expireIfNeeded deletes it
            continue
        found.append(key)
    return (str(after).encode(), tuple(found))


def _collection(ctx: Context, argv: Sequence[bytes], kind: type) -> tuple[object, int] | None:
    """SSCAN/HSCAN/ZSCAN's start: the cursor first, then the key (missing: None)."""
    cursor = parse_cursor(argv[2])
    value = ctx.read_as(argv[1], kind)
    return None if value is None else (value, cursor)


@command("sscan", -3, "readonly random", keys=(1, 1, 1))
def sscan(ctx: Context, argv: Sequence[bytes]) -> Reply:
    found = _collection(ctx, argv, frozenset)
    if found is None:
        return EMPTY_SCAN
    members, cursor = found
    assert isinstance(members, frozenset)
    count, pattern, _ = _options(argv, 3, keyspace=False)
    if encoding(members) == b"intset":
        chosen, after = sorted(members, key=int), 0
    else:
        chosen, after = scan_batch(members, cursor, count)
    return (str(after).encode(), tuple(member for member in chosen if _matches(pattern, member)))


@command("hscan", -3, "readonly random", keys=(1, 1, 1))
def hscan(ctx: Context, argv: Sequence[bytes]) -> Reply:
    found = _collection(ctx, argv, Map)
    if found is None:
        return EMPTY_SCAN
    fields, cursor = found
    assert isinstance(fields, Map)
    count, pattern, _ = _options(argv, 3, keyspace=False)
    if encoding(fields) == b"listpack":
        chosen, after = sorted(fields.keys()), 0
    else:
        chosen, after = scan_batch(fields, cursor, count)
    flat = [item for field in chosen if _matches(pattern, field) for item in (field, fields[field])]
    return (str(after).encode(), tuple(flat))


@command("zscan", -3, "readonly random", keys=(1, 1, 1))
def zscan(ctx: Context, argv: Sequence[bytes]) -> Reply:
    found = _collection(ctx, argv, ZSet)
    if found is None:
        return EMPTY_SCAN
    zset, cursor = found
    assert isinstance(zset, ZSet)
    count, pattern, _ = _options(argv, 3, keyspace=False)
    if encoding(zset) == b"listpack":
        chosen, after = [member for _, member in zset.ordered()], 0
    else:
        chosen, after = scan_batch(zset.scores, cursor, count)
    # Scores as d2string writes them (%.17g, whole numbers in plain digits): format_double's text.
    flat = [item for member in chosen if _matches(pattern, member)
            for item in (member, format_double(zset.scores[member]))]
    return (str(after).encode(), tuple(flat))


__all__ = ["INVALID_CURSOR", "parse_cursor", "position", "scan_batch"]
