"""Sorted-set algebra and multi-key pops (t_zset.c): ZUNION ZINTER ZDIFF ZUNIONSTORE ZINTERSTORE
ZDIFFSTORE ZINTERCARD ZMPOP.  Sheet items D15, D16.

``zunionInterDiffGenericCommand`` takes sets as well as sorted sets (a set member scores 1).  The
inputs are checked for type before any option is parsed; UNION and INTER visit them from the
smallest to the largest (a stable sort here, glibc's qsort on a few elements), which fixes the
order in which floating-point sums are made.  A product or a sum that is NaN (``0 * inf``,
``inf + -inf``) counts as 0.

>>> from redlin.model import Redis
>>> client = Redis().client()
>>> client.execute("ZADD", "a", 1, "x", 2, "y"), client.execute("SADD", "b", "y")
(2, 1)
>>> client.execute("ZUNION", 2, "a", "b", "WITHSCORES")
(b'x', b'1', b'y', b'3')
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from immutables import Map

from ._commands import command
from ._engine import CommandError, Context
from ._lists import parse_mpop
from ._notify import GENERIC, ZSET, notify
from ._numbers import counted_keys, parse_float, parse_int
from ._reply import NULL_ARRAY, SYNTAX, WRONGTYPE, Error, Reply
from ._state import ZSet, fits_listpack
from ._zsets import score_text

Scores = dict[bytes, float]

UNION, INTER, DIFF = "union", "inter", "diff"


def _source(ctx: Context, key: bytes) -> Scores:
    value = ctx.read(key)
    if value is None:
        return {}
    if type(value) is ZSet:
        return dict(value.scores.items())
    if type(value) is frozenset:
        return dict.fromkeys(value, 1.0)
    raise CommandError(WRONGTYPE)


def _operate(ctx: Context, argv: Sequence[bytes], at: int, op: str, store: bool,
             count_only: bool = False) -> tuple[Scores, bool, int]:
    """Parse ``numkeys key... [WEIGHTS w...] [AGGREGATE a] [WITHSCORES] [LIMIT n]`` from ``at`` and
    compute the result: (member -> score, withscores, limit)."""
    name = argv[0].decode().lower()
    numkeys = parse_int(argv[at])
    if numkeys < 1:
        if ctx.profile.has("zset-numkeys-error-text"):
            raise CommandError(Error(f"ERR at least 1 input key is needed for {name}"))
        raise CommandError(Error(f"ERR at least 1 input key is needed for '{name}' command"))
    if numkeys > len(argv) - at - 1:
        raise CommandError(SYNTAX)
    sources = [_source(ctx, key) for key in argv[at + 1 : at + 1 + numkeys]]
    weights = [1.0] * numkeys
    aggregate = b"sum"
    withscores = False
    limit = 0
    j = at + 1 + numkeys
    while j < len(argv):
        option, remaining = argv[j].lower(), len(argv) - j
        if op != DIFF and not count_only and remaining >= numkeys + 1 and option == b"weights":
            weights = [parse_float(word, Error("ERR weight value is not a float"))
                       for word in argv[j + 1 : j + 1 + numkeys]]
            j += 1 + numkeys
        elif op != DIFF and not count_only and remaining >= 2 and option == b"aggregate":
            aggregate = argv[j + 1].lower()
            if aggregate not in (b"sum", b"min", b"max"):
                raise CommandError(SYNTAX)
            j += 2
        elif not store and not count_only and option == b"withscores":
            withscores = True
            j += 1
        elif count_only and remaining >= 2 and option == b"limit":
            negative = Error("ERR LIMIT can't be negative")
            limit = parse_int(argv[j + 1], negative)
            if limit < 0:
                raise CommandError(negative)
            j += 2
        else:
            raise CommandError(SYNTAX)
    if op == DIFF:
        first = sources[0]
        return {m: s for m, s in first.items() if not any(m in other for other in sources[1:])}, withscores, limit
    order = sorted(range(numkeys), key=lambda i: len(sources[i]))
    result: Scores = {}
    if op == UNION:
        for i in order:
            for member, score in sources[i].items():
                value = _weighted(weights[i], score)
                result[member] = _aggregate(aggregate, result[member], value) if member in result else value
        return result, withscores, limit
    smallest, rest = order[0], order[1:]
    for member, score in sources[smallest].items():
        value = _weighted(weights[smallest], score)
        for i in rest:
            if member not in sources[i]:
                break
            value = _aggregate(aggregate, value, _weighted(weights[i], sources[i][member]))
        else:
            result[member] = value
    return result, withscores, limit


def _weighted(weight: float, score: float) -> float:
    value = weight * score
    return 0.0 if math.isnan(value) else value


def _aggregate(how: bytes, target: float, value: float) -> float:
    if how == b"sum":
        total = target + value
        return 0.0 if math.isnan(total) else total
    return min(value, target) if how == b"min" else max(value, target)


def _reply(ctx: Context, result: Scores, withscores: bool) -> Reply:
    ordered = sorted((score, member) for member, score in result.items())
    if not withscores:
        return tuple(member for _, member in ordered)
    flat: list[bytes] = []
    for score, member in ordered:
        flat += (member, score_text(ctx, score))
    return tuple(flat)


def _store(ctx: Context, destination: bytes, result: Scores, event: bytes) -> Reply:
    if not result:
        if ctx.delete(destination):  # touches only if the destination existed
            notify(ctx, GENERIC, b"del", destination)
        return 0
    small = fits_listpack(result)  # (zsetConvertToListpackIfNeeded)
    if small and not ctx.profile.has("zset-keeps-negative-zero"):  # a listpack reads -0 back as 0
        result = {member: score + 0.0 for member, score in result.items()}
    ctx.replace(destination, ZSet(Map(result), not small))
    notify(ctx, ZSET, event, destination)
    return len(result)


@command("zunion", -3, "readonly movablekeys", keys_fn=counted_keys(1))
def zunion(ctx: Context, argv: Sequence[bytes]) -> Reply:
    result, withscores, _ = _operate(ctx, argv, 1, UNION, store=False)
    return _reply(ctx, result, withscores)


@command("zinter", -3, "readonly movablekeys", keys_fn=counted_keys(1))
def zinter(ctx: Context, argv: Sequence[bytes]) -> Reply:
    result, withscores, _ = _operate(ctx, argv, 1, INTER, store=False)
    return _reply(ctx, result, withscores)


@command("zdiff", -3, "readonly movablekeys", keys_fn=counted_keys(1))
def zdiff(ctx: Context, argv: Sequence[bytes]) -> Reply:
    result, withscores, _ = _operate(ctx, argv, 1, DIFF, store=False)
    return _reply(ctx, result, withscores)


@command("zunionstore", -4, "write denyoom movablekeys", keys=(1, 1, 1), keys_fn=counted_keys(2, fixed=1))
def zunionstore(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _store(ctx, argv[1], _operate(ctx, argv, 2, UNION, store=True)[0], b"zunionstore")


@command("zinterstore", -4, "write denyoom movablekeys", keys=(1, 1, 1), keys_fn=counted_keys(2, fixed=1))
def zinterstore(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _store(ctx, argv[1], _operate(ctx, argv, 2, INTER, store=True)[0], b"zinterstore")


@command("zdiffstore", -4, "write denyoom movablekeys", keys=(1, 1, 1), keys_fn=counted_keys(2, fixed=1))
def zdiffstore(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _store(ctx, argv[1], _operate(ctx, argv, 2, DIFF, store=True)[0], b"zdiffstore")


@command("zintercard", -3, "readonly movablekeys", keys_fn=counted_keys(1))
def zintercard(ctx: Context, argv: Sequence[bytes]) -> Reply:
    result, _, limit = _operate(ctx, argv, 1, INTER, store=False, count_only=True)
    return min(len(result), limit) if limit else len(result)


def pop_members(ctx: Context, key: bytes, lowest: bool, count: int) -> tuple[tuple[bytes, bytes], ...] | None:
    """Pop up to ``count`` members of the sorted set at ``key`` (None: no such key; WRONGTYPE raises):
    ZMPOP, BZMPOP, BZPOPMIN and BZPOPMAX."""
    zset: ZSet | None = ctx.read_as(key, ZSet)  # type: ignore[assignment]
    if zset is None:
        return None
    ordered = zset.ordered()
    popped = ordered[:count] if lowest else ordered[::-1][:count]
    scores = zset.scores
    for _, member in popped:
        scores = scores.delete(member)
    ctx.write(key, ZSet(scores, zset.skiplist))  # the last member deletes the key
    notify(ctx, ZSET, b"zpopmin" if lowest else b"zpopmax", key)
    if not scores:
        notify(ctx, GENERIC, b"del", key)
    return tuple((member, score_text(ctx, score)) for score, member in popped)


@command("zmpop", -4, "write movablekeys", keys_fn=counted_keys(1))
def zmpop(ctx: Context, argv: Sequence[bytes]) -> Reply:
    keys, lowest, count = parse_mpop(argv, (b"min", b"max"))
    for key in keys:
        popped = pop_members(ctx, key, lowest, count)
        if popped is not None:
            return (key, popped)
    return NULL_ARRAY
