"""Commands whose reply the server chooses: SPOP SRANDMEMBER HRANDFIELD ZRANDMEMBER RANDOMKEY.

Redis picks these members at random, so no deterministic model can predict the reply.  The model
follows the reply instead: a step may be given the reply the server was *observed* to send
(``step(..., observed=reply)``), and each command here checks that the reply is one Redis could
have sent from that state -- the right number of members, all present, distinct where Redis picks
without repetition -- and continues from the state that reply implies (SPOP removes exactly the
members it returned).  A reply no choice explains gets a different reply from the model, so the
checker rejects that order as it rejects any wrong reply; a reply some choice explains is never
rejected.  That keeps the checker exact without guessing.

Without an observation (sequential use: :class:`~redlin.model.Redis`, the embedded server) the
choice is pseudo-random, a pure function of the members, the arguments and the clock input (so
the same call on the same state within one millisecond draws the same members again).  When
the checker cannot see the reply (an operation whose outcome is unknown, or a command run by a
script, whose reply the script consumes) the step raises :class:`HiddenChoice`: the checker gives
up on that history (Unknown) rather than guess which members went.

>>> from redlin.model import Redis
>>> client = Redis().client(1)
>>> client.execute("SADD", "s", "a", "b", "c")
3
>>> popped = client.execute("SPOP", "s", 2)
>>> len(popped), client.execute("SCARD", "s")
(2, 1)
>>> from redlin.model import INITIAL_STATE, step
>>> state, _ = step(INITIAL_STATE, 1, [b"SADD", b"s", b"a", b"b", b"c"])
>>> state, reply = step(state, 1, [b"SPOP", b"s"], observed=b"b")
>>> reply, sorted(step(state, 1, [b"SMEMBERS", b"s"])[1])
(b'b', [b'a', b'c'])
>>> step(state, 1, [b"SPOP", b"s"], observed=b"b")[1] == b"b"   # b is gone: no choice explains it
False
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from immutables import Map

from ._commands import command
from ._engine import SEQUENTIAL, UNSEEN, CommandError, Context, HiddenChoice
from ._numbers import parse_int
from ._reply import SYNTAX, Error, Reply, SetReply
from ._sets import members_removed
from ._state import ZSet
from ._zsets import score_text

RANGE = Error("ERR value is out of range")
POSITIVE = Error("ERR value is out of range, must be positive")
LONG_MAX = 2**63 - 1


def _seen(ctx: Context, name: str) -> Reply | None:
    """The reply the server sent for this command, None in sequential use; raises HiddenChoice."""
    observed = ctx.observation()
    if observed is SEQUENTIAL:
        return None
    if observed is UNSEEN:
        raise HiddenChoice(f"{name.upper()} chose at random, and its reply is not visible "
                           f"({'run by a script' if ctx.in_script else 'its outcome is unknown'})")
    return observed  # type: ignore[return-value]  # neither SEQUENTIAL nor UNSEEN: a reply


def _items(reply: Reply | None) -> tuple[Reply, ...] | None:
    """The elements of an array or RESP3 set reply (or None)."""
    if type(reply) is tuple:
        return reply
    if type(reply) is SetReply:
        return reply.items
    return None


def _picked(reply: Reply | None, pairs: bool) -> tuple[bytes, ...] | None:
    """The members an observed reply names: itself (a bulk reply), every element, or each pair's
    first (flat or nested)."""
    if type(reply) is bytes:
        return (reply,)
    items = _items(reply)
    if items is None:
        return None
    if pairs:
        if items and all(type(item) is tuple and len(item) == 2 for item in items):
            items = tuple(item[0] for item in items)  # type: ignore[index]  # RESP3: [[member, value], ...]
        elif len(items) % 2 == 0:
            items = items[::2]
        else:
            return None
    return items if all(type(item) is bytes for item in items) else None  # type: ignore[return-value]


def _draw(population: Sequence[bytes], count: int, distinct: bool, salt: Sequence[bytes]) -> tuple[bytes, ...]:
    """A pseudo-random choice, a pure function of its inputs (sequential use).

    Pick number i takes the index ``BLAKE2b(i, key=seed) * len // 2**64``: uniform and independent
    picks.  (An LCG's low bits are not: taking ``state % len`` of one made the lowest bit alternate,
    so a choice between two members always fell on the same one, and histograms failed Redis's
    chi-square tests.)
    """
    seed = hashlib.blake2b(b"\0".join([*population, b"|", *salt]), digest_size=16).digest()
    pool = list(population)
    chosen: list[bytes] = []
    for pick in range(min(count, len(pool)) if distinct else count):
        word = hashlib.blake2b(pick.to_bytes(8, "big"), key=seed, digest_size=8).digest()
        index = int.from_bytes(word, "big") * len(pool) >> 64
        chosen.append(pool.pop(index) if distinct else pool[index])
    return tuple(chosen)


def choose(ctx: Context, name: str, population: Sequence[bytes], count: int, distinct: bool,
           argv: Sequence[bytes], pairs: bool = False) -> tuple[bytes, ...]:
    """``count`` members of ``population`` (at most all of them if ``distinct``): the ones the
    observed reply names if Redis could have picked them, else a valid pick of the model's own.

    >>> _draw([b"a", b"b", b"c"], 2, True, [b"x"]) == _draw([b"a", b"b", b"c"], 2, True, [b"x"])
    True
    """
    seen = _picked(_seen(ctx, name), pairs)
    wanted = min(count, len(population)) if distinct else count
    if seen is not None and len(seen) == wanted:
        present = set(population)
        if all(member in present for member in seen) and (not distinct or len(set(seen)) == len(seen)):
            return seen
    return _draw(sorted(population), count, distinct, [*argv, str(ctx.now).encode(), str(ctx.salt).encode()])


def _count(text: bytes, paired: bool = False) -> tuple[int, bool]:
    """The count of SRANDMEMBER, HRANDFIELD and ZRANDMEMBER: (how many, distinct)."""
    count = parse_int(text)
    if count < -LONG_MAX:  # getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX)
        raise CommandError(Error(f"ERR value is out of range, value must between {-LONG_MAX} and {LONG_MAX}"))
    if paired and (count < -(LONG_MAX // 2) or count > LONG_MAX // 2):  # C: -LONG_MAX/2 rounds toward 0
        raise CommandError(RANGE)
    return abs(count), count >= 0


# --------------------------------------------------------------------------------- sets


@command("spop", -2, "write random fast", keys=(1, 1, 1))
def spop(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if len(argv) > 3:
        return SYNTAX
    count = None
    if len(argv) == 3:
        count = parse_int(argv[2], POSITIVE)  # getPositiveLongFromObjectOrReply: one text for every error
        if count < 0:
            return POSITIVE
    key = argv[1]
    members: frozenset[bytes] | None = ctx.read_as(key, frozenset)  # type: ignore[assignment]
    if members is None:
        return () if count is not None else None
    if count == 0:
        return ()
    chosen = choose(ctx, "spop", tuple(members), 1 if count is None else count, True, argv)
    members_removed(ctx, key, members.difference(chosen), b"spop")
    return chosen[0] if count is None else chosen


@command("srandmember", -2, "readonly random", keys=(1, 1, 1))
def srandmember(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if len(argv) > 3:
        return SYNTAX
    count, distinct = _count(argv[2]) if len(argv) == 3 else (1, True)
    members: frozenset[bytes] | None = ctx.read_as(argv[1], frozenset)  # type: ignore[assignment]
    if members is None:
        return () if len(argv) == 3 else None
    if count == 0:
        return ()
    chosen = choose(ctx, "srandmember", tuple(members), count, distinct, argv)
    return chosen if len(argv) == 3 else chosen[0]


# ------------------------------------------------------------------------ hashes, zsets


def _random_pairs(ctx: Context, argv: Sequence[bytes], option: bytes, kind: type) -> Reply:
    """HRANDFIELD key [count [WITHVALUES]] and ZRANDMEMBER key [count [WITHSCORES]]."""
    name = argv[0].decode().lower()
    with_values = False
    if len(argv) >= 3:
        count, distinct = _count(argv[2])
        if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != option):
            return SYNTAX
        with_values = len(argv) == 4
        if with_values:
            _count(argv[2], paired=True)
    value = ctx.read_as(argv[1], kind)
    if value is None:
        return () if len(argv) >= 3 else None
    values: Map[bytes, object] = value.scores if type(value) is ZSet else value  # type: ignore[assignment]
    if len(argv) < 3:
        return choose(ctx, name, tuple(values.keys()), 1, True, argv)[0]
    if count == 0:
        return ()
    chosen = choose(ctx, name, tuple(values.keys()), count, distinct, argv, pairs=with_values)
    if not with_values:
        return chosen
    if kind is ZSet:
        return tuple(item for member in chosen for item in (member, score_text(ctx, values[member])))  # type: ignore[arg-type]
    return tuple(item for member in chosen for item in (member, values[member]))  # type: ignore[misc]


@command("hrandfield", -2, "readonly random", keys=(1, 1, 1))
def hrandfield(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _random_pairs(ctx, argv, b"withvalues", Map)


@command("zrandmember", -2, "readonly random", keys=(1, 1, 1))
def zrandmember(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _random_pairs(ctx, argv, b"withscores", ZSet)


# --------------------------------------------------------------------------------- keys


@command("randomkey", 1, "readonly random")
def randomkey(ctx: Context, argv: Sequence[bytes]) -> Reply:
    """A live key of the selected database (dbRandomKey skips, and deletes, expired ones)."""
    expires = ctx.expires
    live = tuple(key for key in ctx.data
                 if not (expires and key in expires and expires[key] <= ctx.now))
    if not live:
        return None
    return choose(ctx, "randomkey", live, 1, True, argv)[0]


__all__ = ["HiddenChoice", "choose"]
