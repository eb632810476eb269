"""String commands (t_string.c): GET SET SETNX GETSET GETDEL APPEND STRLEN INCR DECR INCRBY DECRBY
MGET MSET MSETNX.  Sheet items D1-D9."""

from __future__ import annotations

from collections.abc import Sequence

from ._commands import command
from ._engine import CommandError, Context, expire_time_error
from ._numbers import LLONG_MAX, LLONG_MIN, parse_int
from ._reply import NOT_INTEGER, OK, OVERFLOW, SYNTAX, WRONGTYPE, Error, Reply, arity_error


def _get_string(ctx: Context, key: bytes) -> bytes | None:
    return ctx.read_as(key, bytes)  # type: ignore[return-value]


@command("get", 2, "readonly fast", keys=(1, 1, 1))
def get(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _get_string(ctx, argv[1])


@command("set", -3, "write denyoom", keys=(1, 1, 1))
def set_(ctx: Context, argv: Sequence[bytes]) -> Reply:
    nx = xx = want_old = keepttl = False
    unit: bytes | None = None  # b"ex", b"px", b"exat", b"pxat"
    expire: bytes = b""
    i, n = 3, len(argv)
    while i < n:  # parseExtendedStringArgumentsOrReply: each option excludes its rivals
        opt = argv[i].lower()
        has_next = i + 1 < n
        if opt == b"nx" and not xx and not (want_old and ctx.profile.has("set-nx-get-rejected")):
            nx = True
        elif opt == b"xx" and not nx:
            xx = True
        elif opt == b"get" and not (nx and ctx.profile.has("set-nx-get-rejected")):
            want_old = True
        elif opt == b"keepttl" and unit is None:
            keepttl = True
        elif opt in (b"ex", b"px", b"exat", b"pxat") and not keepttl and unit in (None, opt) and has_next:
            unit, expire = opt, argv[i + 1]
            i += 1
        else:
            return SYNTAX
        i += 1
    deadline: int | None = None
    if unit is not None:
        amount = parse_int(expire)
        if amount <= 0 or (unit in (b"ex", b"exat") and amount > LLONG_MAX // 1000):
            return expire_time_error(ctx, "set")
        if unit in (b"ex", b"exat"):
            amount *= 1000
        deadline = amount + ctx.now if unit in (b"ex", b"px") else amount
    key = argv[1]
    old = _get_string(ctx, key) if want_old else None
    found = ctx.exists(key)
    if (nx and found) or (xx and not found):
        return old if want_old else None
    if keepttl:
        ctx.write(key, argv[2])
    else:
        ctx.replace(key, argv[2])
    if deadline is not None:
        ctx.set_deadline(key, deadline)
    return old if want_old else OK


@command("setnx", 3, "write denyoom fast", keys=(1, 1, 1))
def setnx(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if ctx.exists(argv[1]):
        return 0
    ctx.replace(argv[1], argv[2])
    return 1


@command("getset", 3, "write denyoom fast", keys=(1, 1, 1))
def getset(ctx: Context, argv: Sequence[bytes]) -> Reply:
    old = _get_string(ctx, argv[1])
    ctx.replace(argv[1], argv[2])
    return old


@command("getdel", 2, "write fast", keys=(1, 1, 1))
def getdel(ctx: Context, argv: Sequence[bytes]) -> Reply:
    old = _get_string(ctx, argv[1])
    if old is not None:
        ctx.delete(argv[1])
    return old


@command("append", 3, "write denyoom fast", keys=(1, 1, 1))
def append(ctx: Context, argv: Sequence[bytes]) -> Reply:
    old = _get_string(ctx, argv[1])
    value = argv[2] if old is None else old + argv[2]
    ctx.write(argv[1], value)  # touches even when nothing was appended (W8)
    return len(value)


@command("strlen", 2, "readonly fast", keys=(1, 1, 1))
def strlen(ctx: Context, argv: Sequence[bytes]) -> Reply:
    value = _get_string(ctx, argv[1])
    return 0 if value is None else len(value)


def _incr(ctx: Context, key: bytes, by: int) -> Reply:
    old = _get_string(ctx, key)
    value = 0 if old is None else parse_int(old)
    if (by < 0 and value < 0 and by < LLONG_MIN - value) or (by > 0 and value > 0 and by > LLONG_MAX - value):
        return OVERFLOW
    value += by
    ctx.write(key, b"%d" % value)  # keeps the TTL
    return value


@command("incr", 2, "write denyoom fast", keys=(1, 1, 1))
def incr(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _incr(ctx, argv[1], 1)


@command("decr", 2, "write denyoom fast", keys=(1, 1, 1))
def decr(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _incr(ctx, argv[1], -1)


@command("incrby", 3, "write denyoom fast", keys=(1, 1, 1))
def incrby(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _incr(ctx, argv[1], parse_int(argv[2]))


@command("decrby", 3, "write denyoom fast", keys=(1, 1, 1))
def decrby(ctx: Context, argv: Sequence[bytes]) -> Reply:
    by = parse_int(argv[2])
    if by == LLONG_MIN:
        if ctx.profile.has("decrby-min-wraps"):
            return _incr(ctx, argv[1], LLONG_MIN)  # 6.2: -LLONG_MIN wraps around to LLONG_MIN
        return Error("ERR decrement would overflow")
    return _incr(ctx, argv[1], -by)


@command("mget", -2, "readonly fast", keys=(1, -1, 1))
def mget(ctx: Context, argv: Sequence[bytes]) -> Reply:
    values = []
    for key in argv[1:]:
        value = ctx.read(key)
        values.append(value if type(value) is bytes else None)
    return tuple(values)


def _mset_arity(ctx: Context, name: str) -> Error:
    if ctx.profile.has("mset-arity-text"):
        return Error("ERR wrong number of arguments for MSET")  # 6.2, for MSETNX too
    return arity_error(name)


@command("mset", -3, "write denyoom", keys=(1, -1, 2))
def mset(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if len(argv) % 2 == 0:
        return _mset_arity(ctx, "mset")
    for i in range(1, len(argv), 2):
        ctx.replace(argv[i], argv[i + 1])
    return OK


@command("msetnx", -3, "write denyoom", keys=(1, -1, 2))
def msetnx(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if len(argv) % 2 == 0:
        return _mset_arity(ctx, "msetnx")
    if any(ctx.exists(argv[i]) for i in range(1, len(argv), 2)):
        return 0
    for i in range(1, len(argv), 2):
        ctx.replace(argv[i], argv[i + 1])
    return 1


__all__ = ["CommandError", "NOT_INTEGER", "WRONGTYPE"]
