"""Generic key commands (db.c, expire.c): DEL EXISTS TOUCH TYPE RENAME RENAMENX MOVE COPY EXPIRE PEXPIRE
EXPIREAT PEXPIREAT PERSIST TTL PTTL EXPIRETIME PEXPIRETIME.  Sheet items D10, D18, W5, W9, W14.

>>> from redlin.model import Redis
>>> client = Redis().client()
>>> client.execute("SET", "a", "1"), client.execute("COPY", "a", "b"), client.execute("COPY", "a", "b")
(Status('OK'), 1, 0)
"""

from __future__ import annotations

from collections.abc import Sequence

from ._commands import command
from ._engine import CommandError, Context, expire_time_error
from ._notify import GENERIC, notify
from ._numbers import LLONG_MAX, LLONG_MIN, parse_int, to_int
from ._reply import DB_INDEX, NO_SUCH_KEY, NOT_INTEGER, OK, SYNTAX, Error, Reply, Status
from ._state import DATABASES, TYPE_NAMES


@command("del", -2, "write", keys=(1, -1, 1))
def del_(ctx: Context, argv: Sequence[bytes]) -> Reply:
    deleted = 0
    for key in argv[1:]:
        if ctx.delete(key):
            notify(ctx, GENERIC, b"del", key)
            deleted += 1
    return deleted


@command("unlink", -2, "write fast", keys=(1, -1, 1))
def unlink(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return del_(ctx, argv)


@command("exists", -2, "readonly fast", keys=(1, -1, 1))
def exists(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return sum(ctx.exists(key) for key in argv[1:])  # repeats count (D10)


@command("touch", -2, "readonly fast", keys=(1, -1, 1))
def touch(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return sum(ctx.exists(key) for key in argv[1:])  # repeats count, as for EXISTS


@command("type", 2, "readonly fast", keys=(1, 1, 1))
def type_(ctx: Context, argv: Sequence[bytes]) -> Reply:
    value = ctx.read(argv[1])
    return Status("none" if value is None else TYPE_NAMES[type(value)])


def _rename(ctx: Context, argv: Sequence[bytes], nx: bool) -> Reply:
    source, target = argv[1], argv[2]
    value = ctx.read(source)
    if value is None:
        return NO_SUCH_KEY
    if source == target:
        return 0 if nx else OK
    if ctx.exists(target):
        if nx:
            return 0
        ctx.delete(target)
    deadline = ctx.deadline(source)
    ctx.delete(source)
    ctx.replace(target, value)  # dbAdd: "new", even when an old value was just deleted
    if deadline is not None:
        ctx.set_deadline(target, deadline)
    notify(ctx, GENERIC, b"rename_from", source)
    notify(ctx, GENERIC, b"rename_to", target)
    return 1 if nx else OK


@command("rename", 3, "write", keys=(1, 2, 1))
def rename(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _rename(ctx, argv, nx=False)


@command("renamenx", 3, "write fast", keys=(1, 2, 1))
def renamenx(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _rename(ctx, argv, nx=True)


@command("move", 3, "write fast", keys=(1, 1, 1))
def move(ctx: Context, argv: Sequence[bytes]) -> Reply:
    key = argv[1]
    target = to_int(argv[2])
    if target is None or not -(2**31) <= target < 2**31:
        return NOT_INTEGER
    if not 0 <= target < DATABASES:
        return DB_INDEX
    source = ctx.db
    if target == source:
        return Error("ERR source and destination objects are the same")
    value = ctx.read(key)
    if value is None:
        return 0
    deadline = ctx.deadline(key)
    ctx.select(target)
    try:
        if ctx.exists(key):
            return 0
        ctx.replace(key, value)
        if deadline is not None:
            ctx.set_deadline(key, deadline)
    finally:
        ctx.select(source)
    ctx.delete(key)
    notify(ctx, GENERIC, b"move_from", key)
    notify(ctx, GENERIC, b"move_to", key, target)
    return 1


@command("copy", -3, "write denyoom", keys=(1, 2, 1))
def copy(ctx: Context, argv: Sequence[bytes]) -> Reply:
    source, target = argv[1], argv[2]
    source_db = target_db = ctx.db
    replace = False
    j = 3
    while j < len(argv):
        option = argv[j].lower()
        if option == b"replace":
            replace = True
        elif option == b"db" and j + 1 < len(argv):
            target_db = parse_int(argv[j + 1])
            if not -(2**31) <= target_db < 2**31:
                return Error("ERR value is out of range, value must between -2147483648 and 2147483647")
            if not 0 <= target_db < DATABASES:
                return DB_INDEX  # at once, before later options
            j += 1
        else:
            return SYNTAX
        j += 1
    if source == target and source_db == target_db:
        return Error("ERR source and destination objects are the same")
    value = ctx.read(source)
    if value is None:
        return 0
    deadline = ctx.deadline(source)
    ctx.select(target_db)
    try:
        if ctx.exists(target):
            if not replace:
                return 0
            ctx.delete(target)
        ctx.replace(target, value)
        if deadline is not None:
            ctx.set_deadline(target, deadline)
    finally:
        ctx.select(source_db)
    notify(ctx, GENERIC, b"copy_to", target, target_db)
    return 1


def _expire(ctx: Context, argv: Sequence[bytes], unit_ms: int, absolute: bool) -> Reply:
    key = argv[1]
    nx = xx = gt = lt = False
    for option in argv[3:]:
        word = option.lower()
        if word == b"nx":
            nx = True
        elif word == b"xx":
            xx = True
        elif word == b"gt":
            gt = True
        elif word == b"lt":
            lt = True
        else:
            return Error(f"ERR Unsupported option {option.decode('utf-8', 'surrogateescape')}")
    if nx and (xx or gt or lt):
        return Error("ERR NX and XX, GT or LT options at the same time are not compatible")
    if gt and lt:
        return Error("ERR GT and LT options at the same time are not compatible")
    when = parse_int(argv[2])
    name = argv[0].decode().lower()
    invalid = expire_time_error(ctx, name)
    if unit_ms == 1000:
        if when > LLONG_MAX // 1000 or when < -(-LLONG_MIN // 1000):  # C's division truncates
            return invalid
        when *= 1000
    base = 0 if absolute else ctx.now
    if when > LLONG_MAX - base:
        return invalid
    when += base
    if not ctx.exists(key):
        return 0
    current = ctx.deadline(key)
    if (nx and current is not None) or (xx and current is None):
        return 0
    if gt and (current is None or when <= current):
        return 0
    if lt and current is not None and when >= current:
        return 0
    if when <= ctx.now:
        ctx.delete(key)  # a deadline in the past deletes at once
        notify(ctx, GENERIC, b"del", key)
    else:
        ctx.set_deadline(key, when)
        notify(ctx, GENERIC, b"expire", key)
    return 1


@command("expire", -3, "write fast", keys=(1, 1, 1))
def expire(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _expire(ctx, argv, 1000, absolute=False)


@command("pexpire", -3, "write fast", keys=(1, 1, 1))
def pexpire(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _expire(ctx, argv, 1, absolute=False)


@command("expireat", -3, "write fast", keys=(1, 1, 1))
def expireat(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _expire(ctx, argv, 1000, absolute=True)


@command("pexpireat", -3, "write fast", keys=(1, 1, 1))
def pexpireat(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _expire(ctx, argv, 1, absolute=True)


@command("persist", 2, "write fast", keys=(1, 1, 1))
def persist(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if not ctx.exists(argv[1]) or ctx.deadline(argv[1]) is None:
        return 0  # nothing changed, nothing touched (W7)
    ctx.set_deadline(argv[1], None)
    notify(ctx, GENERIC, b"persist", argv[1])
    return 1


def _ttl(ctx: Context, key: bytes, in_ms: bool, *, absolute: bool = False) -> Reply:
    """TTL/PTTL (time left), or with ``absolute`` EXPIRETIME/PEXPIRETIME (the deadline itself):
    -2 for a missing key, -1 for one without a deadline; seconds are rounded."""
    if not ctx.exists(key):
        return -2
    deadline = ctx.deadline(key)
    if deadline is None:
        return -1
    value = deadline if absolute else max(deadline - ctx.now, 0)
    return value if in_ms else (value + 500) // 1000


@command("ttl", 2, "readonly fast", keys=(1, 1, 1))
def ttl(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _ttl(ctx, argv[1], in_ms=False)


@command("pttl", 2, "readonly fast", keys=(1, 1, 1))
def pttl(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _ttl(ctx, argv[1], in_ms=True)


@command("expiretime", 2, "readonly fast", keys=(1, 1, 1))
def expiretime(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _ttl(ctx, argv[1], in_ms=False, absolute=True)


@command("pexpiretime", 2, "readonly fast", keys=(1, 1, 1))
def pexpiretime(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _ttl(ctx, argv[1], in_ms=True, absolute=True)


__all__ = ["CommandError"]
