"""Set commands (t_set.c): SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SMOVE SINTER SUNION
SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SINTERCARD.  Sheet items D14, D16, W7.

A set is a frozenset of bytes.  Redis replies SMEMBERS, SINTER, SUNION and SDIFF in hash-table
order; the model sorts them (flag ``unordered``).  SPOP and SRANDMEMBER pick at random, which a
deterministic model cannot reproduce: they are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._commands import command
from ._engine import CommandError, Context
from ._notify import GENERIC, SET, notify
from ._numbers import parse_int, to_int
from ._reply import SYNTAX, WRONGTYPE, Error, Reply

Members = frozenset[bytes]

EMPTY_SET: Members = frozenset()


def _get_set(ctx: Context, key: bytes) -> Members | None:
    return ctx.read_as(key, frozenset)  # type: ignore[return-value]


@command("sadd", -3, "write denyoom fast", keys=(1, 1, 1))
def sadd(ctx: Context, argv: Sequence[bytes]) -> Reply:
    key = argv[1]
    members = _get_set(ctx, key) or EMPTY_SET
    new = members.union(argv[2:])
    added = len(new) - len(members)
    if added:  # only existing members: nothing changed, nothing touched (W7)
        ctx.write(key, new)
        notify(ctx, SET, b"sadd", key)
    return added


@command("srem", -3, "write fast", keys=(1, 1, 1))
def srem(ctx: Context, argv: Sequence[bytes]) -> Reply:
    key = argv[1]
    members = _get_set(ctx, key)
    if members is None:
        return 0
    new = members.difference(argv[2:])
    removed = len(members) - len(new)
    if removed:  # the last member deletes the key (D14); none removed, nothing touched (W7)
        members_removed(ctx, key, new, b"srem")
    return removed


@command("smembers", 2, "readonly unordered", keys=(1, 1, 1))
def smembers(ctx: Context, argv: Sequence[bytes]) -> Reply:
    members = _get_set(ctx, argv[1])
    return () if members is None else tuple(sorted(members))


@command("sismember", 3, "readonly fast", keys=(1, 1, 1))
def sismember(ctx: Context, argv: Sequence[bytes]) -> Reply:
    members = _get_set(ctx, argv[1])
    return int(members is not None and argv[2] in members)


@command("smismember", -3, "readonly fast", keys=(1, 1, 1))
def smismember(ctx: Context, argv: Sequence[bytes]) -> Reply:
    members = _get_set(ctx, argv[1]) or EMPTY_SET
    return tuple(int(member in members) for member in argv[2:])


@command("scard", 2, "readonly fast", keys=(1, 1, 1))
def scard(ctx: Context, argv: Sequence[bytes]) -> Reply:
    members = _get_set(ctx, argv[1])
    return 0 if members is None else len(members)


@command("smove", 4, "write fast", keys=(1, 2, 1))
def smove(ctx: Context, argv: Sequence[bytes]) -> Reply:
    source, destination, member = argv[1], argv[2], argv[3]
    members = ctx.read(source)
    target = ctx.read(destination)
    if members is None:
        return 0  # before any type check
    if type(members) is not frozenset or (target is not None and type(target) is not frozenset):
        raise CommandError(WRONGTYPE)
    if source == destination:
        return int(member in members)
    if member not in members:
        return 0
    members_removed(ctx, source, members - {member}, b"srem")  # the last member deletes the source
    if target is None or member not in target:  # the destination is touched only if it grew
        ctx.write(destination, (target or EMPTY_SET) | {member})
        notify(ctx, SET, b"sadd", destination)
    return 1


def _inter(ctx: Context, keys: Sequence[bytes]) -> Members:
    sets: list[Members] = []
    missing = False
    for key in keys:  # every key is type-checked, even after a missing one
        members = _get_set(ctx, key)
        if members is None:
            missing = True
        else:
            sets.append(members)
    if missing:
        return EMPTY_SET
    sets.sort(key=len)
    return sets[0].intersection(*sets[1:])


def _union(ctx: Context, keys: Sequence[bytes]) -> Members:
    sets = [_get_set(ctx, key) or EMPTY_SET for key in keys]
    return EMPTY_SET.union(*sets)


def _diff(ctx: Context, keys: Sequence[bytes]) -> Members:
    sets = [_get_set(ctx, key) or EMPTY_SET for key in keys]
    return sets[0].difference(*sets[1:])


@command("sinter", -2, "readonly unordered", keys=(1, -1, 1))
def sinter(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return tuple(sorted(_inter(ctx, argv[1:])))


@command("sunion", -2, "readonly unordered", keys=(1, -1, 1))
def sunion(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return tuple(sorted(_union(ctx, argv[1:])))


@command("sdiff", -2, "readonly unordered", keys=(1, -1, 1))
def sdiff(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return tuple(sorted(_diff(ctx, argv[1:])))


def sintercard_keys(argv: Sequence[bytes]) -> tuple[bytes, ...]:
    """The keys SINTERCARD names (none if numkeys is invalid)."""
    count = to_int(argv[1]) if len(argv) > 1 else None
    if count is None or count < 1 or count > len(argv) - 2:
        return ()
    return tuple(argv[2 : 2 + count])


@command("sintercard", -3, "readonly movablekeys", keys_fn=sintercard_keys)
def sintercard(ctx: Context, argv: Sequence[bytes]) -> Reply:
    numkeys_error = Error("ERR numkeys should be greater than 0")
    count = parse_int(argv[1], numkeys_error)
    if count < 1:
        return numkeys_error
    if count > len(argv) - 2:
        return Error("ERR Number of keys can't be greater than number of args")
    limit = 0
    j = 2 + count
    while j < len(argv):
        if argv[j].lower() == b"limit" and j + 1 < len(argv):
            limit = parse_int(argv[j + 1], Error("ERR LIMIT can't be negative"))
            if limit < 0:
                return Error("ERR LIMIT can't be negative")
            j += 2
        else:
            return SYNTAX
    size = len(_inter(ctx, argv[2 : 2 + count]))
    return min(size, limit) if limit else size


def members_removed(ctx: Context, key: bytes, left: Members, event: bytes) -> None:
    """Store what is left of the set, notify ``event`` (srem, spop), and "del" if nothing is."""
    ctx.write(key, left)  # the last member deletes the key
    notify(ctx, SET, event, key)
    if not left:
        notify(ctx, GENERIC, b"del", key)


def _store(ctx: Context, destination: bytes, result: Members, event: bytes) -> Reply:
    if result:
        ctx.replace(destination, result)  # setKey: any old value and its TTL go
        notify(ctx, SET, event, destination)
    elif ctx.delete(destination):  # touches only if the destination existed
        notify(ctx, GENERIC, b"del", destination)
    return len(result)


@command("sinterstore", -3, "write denyoom", keys=(1, -1, 1))
def sinterstore(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _store(ctx, argv[1], _inter(ctx, argv[2:]), b"sinterstore")


@command("sunionstore", -3, "write denyoom", keys=(1, -1, 1))
def sunionstore(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _store(ctx, argv[1], _union(ctx, argv[2:]), b"sunionstore")


@command("sdiffstore", -3, "write denyoom", keys=(1, -1, 1))
def sdiffstore(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _store(ctx, argv[1], _diff(ctx, argv[2:]), b"sdiffstore")


__all__ = ["CommandError", "members_removed"]
