"""List commands (t_list.c): LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LREM
LTRIM LINSERT LPOS LMOVE RPOPLPUSH LMPOP and the blocking BLPOP BRPOP BLMOVE BRPOPLPUSH.  Sheet items
D11, D12, D16, M15, W7.

A list is a tuple of bytes, head first.  Emptying a list deletes its key.

The model never blocks.  A blocking command whose lists are all empty answers as Redis does when
it may not block (inside MULTI/EXEC or a script, sheet M15): the null array for BLPOP/BRPOP, the
null bulk for BLMOVE/BRPOPLPUSH.  Anywhere else a real server would block the connection, which a
sequential model cannot express, so it replies ``ERR redlin's model does not block``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ._commands import command
from ._engine import CommandError, Context
from ._hashes import parse_long_double, round_long_double
from ._notify import GENERIC, LIST, notify
from ._numbers import LLONG_MAX, LLONG_MIN, counted_keys, parse_int
from ._reply import NULL_ARRAY, OK, SYNTAX, Error, Reply, arity_error

Items = tuple[bytes, ...]

NOT_POSITIVE = Error("ERR value is out of range, must be positive")
OUT_OF_LONG_RANGE = Error("ERR value is out of range, value must between -9223372036854775807 and "
                          "9223372036854775807")  # getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX)
DOES_NOT_BLOCK = Error("ERR redlin's model does not block")


def _get_list(ctx: Context, key: bytes) -> Items | None:
    return ctx.read_as(key, tuple)  # type: ignore[return-value]


# --------------------------------------------------------------------- push and pop


def elements_removed(ctx: Context, key: bytes, left: bool, kept: Items) -> None:
    """``listElementsRemoved``: store what is left, notify the pop, and "del" if nothing is."""
    ctx.write(key, kept)  # the last element deletes the key
    notify(ctx, LIST, b"lpop" if left else b"rpop", key)
    if not kept:
        notify(ctx, GENERIC, b"del", key)


def _push(ctx: Context, argv: Sequence[bytes], left: bool, only_existing: bool) -> Reply:
    key = argv[1]
    items = _get_list(ctx, key)
    if items is None:
        if only_existing:
            return 0
        items = ()
    pushed = tuple(argv[2:])
    items = pushed[::-1] + items if left else items + pushed  # LPUSH a b c -> c b a (D11)
    ctx.write(key, items)
    notify(ctx, LIST, b"lpush" if left else b"rpush", key)
    return len(items)


@command("lpush", -3, "write denyoom fast", keys=(1, 1, 1))
def lpush(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _push(ctx, argv, left=True, only_existing=False)


@command("rpush", -3, "write denyoom fast", keys=(1, 1, 1))
def rpush(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _push(ctx, argv, left=False, only_existing=False)


@command("lpushx", -3, "write denyoom fast", keys=(1, 1, 1))
def lpushx(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _push(ctx, argv, left=True, only_existing=True)


@command("rpushx", -3, "write denyoom fast", keys=(1, 1, 1))
def rpushx(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _push(ctx, argv, left=False, only_existing=True)


def _pop(ctx: Context, argv: Sequence[bytes], left: bool) -> Reply:
    if len(argv) > 3:
        return arity_error("lpop" if left else "rpop")
    count = -1
    if len(argv) == 3:
        count = parse_int(argv[2], NOT_POSITIVE)  # parsed before the key is looked up (D12)
        if count < 0:
            return NOT_POSITIVE
    key = argv[1]
    items = _get_list(ctx, key)
    if items is None:
        return None if count < 0 else NULL_ARRAY  # nothing changed, nothing touched (W7)
    if count < 0:
        elements_removed(ctx, key, left, items[1:] if left else items[:-1])
        return items[0] if left else items[-1]
    if count == 0:
        return ()
    if left:
        elements_removed(ctx, key, left, items[count:])
        return items[:count]
    kept = items[: max(len(items) - count, 0)]
    elements_removed(ctx, key, left, kept)
    return items[len(kept) :][::-1]  # tail first


@command("lpop", -2, "write fast", keys=(1, 1, 1))
def lpop(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _pop(ctx, argv, left=True)


@command("rpop", -2, "write fast", keys=(1, 1, 1))
def rpop(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _pop(ctx, argv, left=False)


def parse_mpop(argv: Sequence[bytes], sides: tuple[bytes, bytes],
               at: int = 1) -> tuple[Sequence[bytes], bool, int]:
    """[B]LMPOP/[B]ZMPOP's ``numkeys key... side [COUNT n]`` with numkeys at ``at``: (keys, first
    side?, count); raises on errors."""
    numkeys_error = Error("ERR numkeys should be greater than 0")
    numkeys = parse_int(argv[at], numkeys_error)
    if numkeys < 1:
        raise CommandError(numkeys_error)
    where = at + 1 + numkeys
    if where >= len(argv) or argv[where].lower() not in sides:
        raise CommandError(SYNTAX)
    count = -1
    j = where + 1
    while j < len(argv):
        if count == -1 and argv[j].lower() == b"count" and j + 1 < len(argv):
            count_error = Error("ERR count should be greater than 0")
            count = parse_int(argv[j + 1], count_error)
            if count < 1:
                raise CommandError(count_error)
            j += 2
        else:
            raise CommandError(SYNTAX)
    return argv[at + 1:where], argv[where].lower() == sides[0], max(count, 1)


@command("lmpop", -4, "write movablekeys", keys_fn=counted_keys(1))
def lmpop(ctx: Context, argv: Sequence[bytes]) -> Reply:
    keys, left, count = parse_mpop(argv, (b"left", b"right"))
    for key in keys:
        items = _get_list(ctx, key)
        if items:
            popped = items[:count] if left else items[::-1][:count]
            elements_removed(ctx, key, left, items[count:] if left else items[: max(len(items) - count, 0)])
            return (key, popped)
    return NULL_ARRAY


# --------------------------------------------------------------------- reading


@command("llen", 2, "readonly fast", keys=(1, 1, 1))
def llen(ctx: Context, argv: Sequence[bytes]) -> Reply:
    items = _get_list(ctx, argv[1])
    return 0 if items is None else len(items)


def _clamp(start: int, end: int, length: int) -> tuple[int, int]:
    """Redis's index sanitising for LRANGE/LTRIM: the slice [start, stop) selected."""
    if start < 0:
        start += length
    if end < 0:
        end += length
    if start < 0:
        start = 0
    if start > end or start >= length:
        return 0, 0
    return start, min(end, length - 1) + 1


@command("lrange", 4, "readonly", keys=(1, 1, 1))
def lrange(ctx: Context, argv: Sequence[bytes]) -> Reply:
    start, end = parse_int(argv[2]), parse_int(argv[3])  # before the type check
    items = _get_list(ctx, argv[1])
    if items is None:
        return ()
    start, stop = _clamp(start, end, len(items))
    return items[start:stop]


@command("lindex", 3, "readonly", keys=(1, 1, 1))
def lindex(ctx: Context, argv: Sequence[bytes]) -> Reply:
    items = _get_list(ctx, argv[1])
    if items is None:
        return None  # even with a malformed index
    index = parse_int(argv[2])
    if index < 0:
        index += len(items)
    return items[index] if 0 <= index < len(items) else None


@command("lpos", -3, "readonly", keys=(1, 1, 1))
def lpos(ctx: Context, argv: Sequence[bytes]) -> Reply:
    rank, count, maxlen = 1, -1, 0
    i = 3
    while i < len(argv):
        option, more = argv[i].lower(), i + 1 < len(argv)
        if option == b"rank" and more:
            rank = parse_int(argv[i + 1])
            if rank == 0:
                if ctx.profile.has("lpos-rank-zero-text"):
                    return Error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second, ...")
                return Error("ERR RANK can't be zero: use 1 to start from the first match, 2 from "
                             "the second ... or use negative to start from the end of the list")
            if rank == LLONG_MIN and ctx.profile.has("lpos-rank-range"):
                return OUT_OF_LONG_RANGE
        elif option == b"count" and more:
            count = parse_int(argv[i + 1], Error("ERR COUNT can't be negative"))
            if count < 0:
                return Error("ERR COUNT can't be negative")
        elif option == b"maxlen" and more:
            maxlen = parse_int(argv[i + 1], Error("ERR MAXLEN can't be negative"))
            if maxlen < 0:
                return Error("ERR MAXLEN can't be negative")
        else:
            return SYNTAX
        i += 2
    from_tail = rank < 0
    if from_tail:
        rank = -rank if rank != LLONG_MIN else LLONG_MIN  # C's negation wraps
    items = _get_list(ctx, argv[1])
    if items is None:
        return None if count < 0 else ()
    length = len(items)
    found: list[int] = []
    matches = 0
    for scanned in range(length if maxlen == 0 else min(maxlen, length)):
        index = length - 1 - scanned if from_tail else scanned
        if items[index] != argv[2]:
            continue
        matches += 1
        if matches >= rank:
            if count < 0:
                return index
            found.append(index)
            # C computes matches-rank+1 in a long: with rank LLONG_MIN it wraps negative.
            reached = matches - rank + 1 if rank != LLONG_MIN else LLONG_MIN + matches + 1
            if count and reached >= count:
                break
    return None if count < 0 else tuple(found)


# --------------------------------------------------------------------- changing elements


@command("lset", 4, "write denyoom", keys=(1, 1, 1))
def lset(ctx: Context, argv: Sequence[bytes]) -> Reply:
    key = argv[1]
    items = _get_list(ctx, key)
    if items is None:
        return Error("ERR no such key")
    index = parse_int(argv[2])
    if ctx.profile.has("lset-index-int32"):  # 7.2's listTypeReplaceAtIndex takes an int
        index = (index + 2**31) % 2**32 - 2**31
    if index < 0:
        index += len(items)
    if not 0 <= index < len(items):
        return Error("ERR index out of range")
    ctx.write(key, items[:index] + (argv[3],) + items[index + 1 :])  # touches even if equal
    notify(ctx, LIST, b"lset", key)
    return OK


@command("lrem", 4, "write", keys=(1, 1, 1))
def lrem(ctx: Context, argv: Sequence[bytes]) -> Reply:
    count = parse_int(argv[2])
    if count == LLONG_MIN and ctx.profile.has("lrem-count-range"):  # before the lookup
        return OUT_OF_LONG_RANGE
    key, element = argv[1], argv[3]
    items = _get_list(ctx, key)
    if items is None or element not in items:
        return 0
    limit = abs(count) or len(items)
    kept: list[bytes] = []
    removed = 0
    for item in items if count >= 0 else reversed(items):
        if item == element and removed < limit:
            removed += 1
        else:
            kept.append(item)
    if count < 0:
        kept.reverse()
    ctx.write(key, tuple(kept))
    notify(ctx, LIST, b"lrem", key)
    if not kept:
        notify(ctx, GENERIC, b"del", key)
    return removed


@command("ltrim", 4, "write", keys=(1, 1, 1))
def ltrim(ctx: Context, argv: Sequence[bytes]) -> Reply:
    start, end = parse_int(argv[2]), parse_int(argv[3])
    key = argv[1]
    items = _get_list(ctx, key)
    if items is None:
        return OK
    start, stop = _clamp(start, end, len(items))
    ctx.write(key, items[start:stop])  # Redis signals the key even when nothing was trimmed
    notify(ctx, LIST, b"ltrim", key)
    if start >= stop:
        notify(ctx, GENERIC, b"del", key)
    return OK


@command("linsert", 5, "write denyoom", keys=(1, 1, 1))
def linsert(ctx: Context, argv: Sequence[bytes]) -> Reply:
    where = argv[2].lower()
    if where not in (b"before", b"after"):
        return SYNTAX
    key = argv[1]
    items = _get_list(ctx, key)
    if items is None:
        return 0
    try:
        index = items.index(argv[3])
    except ValueError:
        return -1  # pivot not found: nothing changed, nothing touched
    if where == b"after":
        index += 1
    items = items[:index] + (argv[4],) + items[index:]
    ctx.write(key, items)
    notify(ctx, LIST, b"linsert", key)
    return len(items)


# --------------------------------------------------------------------- moving between lists


def _side(word: bytes) -> bool:
    """LEFT -> True, RIGHT -> False (getListPositionFromObjectOrReply)."""
    lowered = word.lower()
    if lowered == b"left":
        return True
    if lowered == b"right":
        return False
    raise CommandError(SYNTAX)


def _move(ctx: Context, source: bytes, destination: bytes, from_left: bool, to_left: bool) -> Reply:
    items = _get_list(ctx, source)
    if items is None:
        return None
    target = items if destination == source else _get_list(ctx, destination)
    value = items[0] if from_left else items[-1]
    rest = items[1:] if from_left else items[:-1]
    push = b"lpush" if to_left else b"rpush"
    if destination == source:
        ctx.write(source, (value,) + rest if to_left else rest + (value,))
        notify(ctx, LIST, push, source)
        notify(ctx, LIST, b"lpop" if from_left else b"rpop", source)
        return value
    target = target or ()
    # lmoveHandlePush: the destination (created, "new") gets its push first, then the source's pop.
    ctx.write(destination, (value,) + target if to_left else target + (value,))
    notify(ctx, LIST, push, destination)
    elements_removed(ctx, source, from_left, rest)
    return value


@command("lmove", 5, "write denyoom", keys=(1, 2, 1))
def lmove(ctx: Context, argv: Sequence[bytes]) -> Reply:
    from_left, to_left = _side(argv[3]), _side(argv[4])
    return _move(ctx, argv[1], argv[2], from_left, to_left)


@command("rpoplpush", 3, "write denyoom", keys=(1, 2, 1))
def rpoplpush(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _move(ctx, argv[1], argv[2], from_left=False, to_left=True)


# --------------------------------------------------------------------- blocking variants


def check_timeout(text: bytes) -> int:
    """getTimeoutFromObjectOrReply in seconds: ``(long long) ceill(ld * 1000.0)``, the timeout in
    milliseconds (0: wait forever)."""
    seconds = parse_long_double(text)
    if seconds is None:
        raise CommandError(Error("ERR timeout is not a float or out of range"))
    millis = seconds if isinstance(seconds, float) else round_long_double(seconds * 1000)
    # The x87 cast of an infinite or out-of-range value gives LLONG_MIN: "negative".
    whole = LLONG_MIN if isinstance(millis, float) else math.ceil(millis)
    if whole < 0 or whole > LLONG_MAX:
        raise CommandError(Error("ERR timeout is negative"))
    return int(whole)


def cannot_block(ctx: Context, reply: Reply) -> Reply:
    # CLIENT_DENY_BLOCKING (MULTI/EXEC, scripts) turns the wait into an immediate timeout (M15).
    return reply if ctx.in_exec or ctx.in_script else DOES_NOT_BLOCK


def _blocking_pop(ctx: Context, argv: Sequence[bytes], left: bool) -> Reply:
    check_timeout(argv[-1])
    for key in argv[1:-1]:
        items = _get_list(ctx, key)  # a wrong type stops the scan only once reached
        if items is None:
            continue
        elements_removed(ctx, key, left, items[1:] if left else items[:-1])
        return (key, items[0] if left else items[-1])
    return cannot_block(ctx, NULL_ARRAY)


@command("blpop", -3, "write noscript blocking", keys=(1, -2, 1))
def blpop(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _blocking_pop(ctx, argv, left=True)


@command("brpop", -3, "write noscript blocking", keys=(1, -2, 1))
def brpop(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _blocking_pop(ctx, argv, left=False)


def _blocking_move(ctx: Context, argv: Sequence[bytes], from_left: bool, to_left: bool) -> Reply:
    if _get_list(ctx, argv[1]) is None:
        return cannot_block(ctx, None)
    return _move(ctx, argv[1], argv[2], from_left, to_left)


@command("blmove", 6, "write denyoom noscript blocking", keys=(1, 2, 1))
def blmove(ctx: Context, argv: Sequence[bytes]) -> Reply:
    from_left, to_left = _side(argv[3]), _side(argv[4])
    check_timeout(argv[5])
    return _blocking_move(ctx, argv, from_left, to_left)


@command("brpoplpush", 4, "write denyoom noscript blocking", keys=(1, 2, 1))
def brpoplpush(ctx: Context, argv: Sequence[bytes]) -> Reply:
    check_timeout(argv[3])
    return _blocking_move(ctx, argv, from_left=False, to_left=True)


__all__ = ["DOES_NOT_BLOCK", "cannot_block", "check_timeout", "elements_removed", "parse_mpop"]
