"""The blocking pops added in Redis 6.2 and 7.0 (t_list.c, t_zset.c): BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP.

Like BLPOP (:mod:`redlin.model._lists`), each pops at once when one of its keys holds elements:
BLMPOP and BZMPOP as LMPOP and ZMPOP do, BZPOPMIN/BZPOPMAX as ``[key, member, score]``.  When all
the keys are empty the model does not block: inside MULTI/EXEC or a script the reply is the null
array (CLIENT_DENY_BLOCKING, sheet M15), anywhere else ``ERR redlin's model does not block`` (the
embedded server, :mod:`redlin.serve.blocking`, turns that answer into a real wait).

Arguments are checked in Redis's order: BLMPOP/BZMPOP parse numkeys, the side and COUNT before
the timeout; BZPOPMIN/BZPOPMAX parse the timeout first.  A key of the wrong type stops the scan
only once it is reached.  BZPOPMIN and BZPOPMAX are ``noscript``; BLMPOP and BZMPOP may run in a
script (they never block there).

>>> from redlin.model import Redis
>>> c = Redis().client()
>>> c.execute("ZADD", "z", "1", "a", "2", "b")
2
>>> c.execute("BZPOPMAX", "noz", "z", "0"), c.execute("BZMPOP", "0", "1", "z", "MIN", "COUNT", "5")
((b'z', b'b', b'2'), (b'z', ((b'a', b'1'),)))
>>> c.execute("BLMPOP", "0", "1", "l", "LEFT")
Error("ERR redlin's model does not block")
>>> c.execute("BZPOPMIN", "z", "-1")
Error('ERR timeout is negative')
"""

from __future__ import annotations

from collections.abc import Sequence

from ._commands import command
from ._engine import Context
from ._lists import cannot_block, check_timeout, elements_removed, parse_mpop
from ._numbers import counted_keys
from ._reply import NULL_ARRAY, Double, Reply
from ._resp3 import Argv, register_rule
from ._zset_algebra import pop_members

__all__ = ["BLOCKING_POPS"]

BLOCKING_POPS = frozenset({b"blmpop", b"bzpopmin", b"bzpopmax", b"bzmpop"})
"""The commands of this module."""


# --------------------------------------------------------------------- BLMPOP


@command("blmpop", -5, "write blocking movablekeys", keys_fn=counted_keys(2))
def blmpop(ctx: Context, argv: Sequence[bytes]) -> Reply:
    keys, left, count = parse_mpop(argv, (b"left", b"right"), at=2)
    check_timeout(argv[1])
    for key in keys:
        items: tuple[bytes, ...] | None = ctx.read_as(key, tuple)  # type: ignore[assignment]
        if items:
            popped = items[:count] if left else items[::-1][:count]
            elements_removed(ctx, key, left, items[count:] if left else items[: max(len(items) - count, 0)])
            return (key, popped)
    return cannot_block(ctx, NULL_ARRAY)


# --------------------------------------------------------------------- sorted sets


def _bzpop(ctx: Context, argv: Sequence[bytes], lowest: bool) -> Reply:
    check_timeout(argv[-1])
    for key in argv[1:-1]:
        popped = pop_members(ctx, key, lowest, 1)
        if popped is not None:
            return (key, *popped[0])
    return cannot_block(ctx, NULL_ARRAY)


@command("bzpopmin", -3, "write noscript fast blocking", keys=(1, -2, 1))
def bzpopmin(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _bzpop(ctx, argv, lowest=True)


@command("bzpopmax", -3, "write noscript fast blocking", keys=(1, -2, 1))
def bzpopmax(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _bzpop(ctx, argv, lowest=False)


@command("bzmpop", -5, "write blocking movablekeys", keys_fn=counted_keys(2))
def bzmpop(ctx: Context, argv: Sequence[bytes]) -> Reply:
    keys, lowest, count = parse_mpop(argv, (b"min", b"max"), at=2)
    check_timeout(argv[1])
    for key in keys:
        popped = pop_members(ctx, key, lowest, count)
        if popped is not None:
            return (key, popped)
    return cannot_block(ctx, NULL_ARRAY)


# --------------------------------------------------------------------- RESP3 shapes


def _bzpop_resp3(argv: Argv, reply: Reply) -> Reply:
    """``[key, member, score]`` with the score as a double."""
    if type(reply) is tuple and len(reply) == 3:
        return (reply[0], reply[1], Double(reply[2]))  # type: ignore[arg-type]
    return reply


def _bzmpop_resp3(argv: Argv, reply: Reply) -> Reply:
    """``[key, [[member, score]...]]`` with each score as a double, as ZMPOP."""
    if type(reply) is tuple and len(reply) == 2 and type(reply[1]) is tuple:
        return (reply[0], tuple((pair[0], Double(pair[1])) for pair in reply[1]))  # type: ignore[index, arg-type]
    return reply


register_rule(b"bzpopmin", _bzpop_resp3)
register_rule(b"bzpopmax", _bzpop_resp3)
register_rule(b"bzmpop", _bzmpop_resp3)
