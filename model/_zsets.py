"""Sorted-set commands (t_zset.c): ZADD ZINCRBY ZSCORE ZMSCORE ZRANGE ZRANGESTORE ZREVRANGE
ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZRANK ZREVRANK ZREM ZCARD ZCOUNT
ZLEXCOUNT ZPOPMIN ZPOPMAX ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX.  Sheet items D15, D16, W7.

A sorted set is a :class:`ZSet` (member -> score), ordered by score then member bytes.

Encoding details the model follows: Redis keeps a small sorted set (up to 128 members of up to
64 bytes) as a listpack, which stores a whole-number score as an integer, so a score of ``-0``
reads back as ``0``; a larger (skiplist) set keeps ``-0``, and so does Redis 6.2's ziplist, which
stores it as the string ``"-0"`` (profile trait ``zset-keeps-negative-zero``).  The model decides
by :attr:`ZSet.skiplist <redlin.model.ZSet>`, which records what Redis never undoes: a set that
outgrew a listpack (more than 128 members, or one longer than 64 bytes) or that a SORT read
(sort.c converts it) stays a skiplist when it shrinks.  Lexicographic ranges over members of
*different* scores are unspecified in Redis: on a listpack the model walks the ordered members as
the listpack code does; on a skiplist the walk depends on the random levels Redis drew for its
nodes, and the model follows the reply among the walks they allow (:mod:`redlin.model._zset_lex`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

from immutables import Map

from ._commands import command
from ._engine import Context
from ._notify import GENERIC, ZSET, notify
from ._numbers import _FLOAT as STRTOD_SYNTAX
from ._numbers import format_double, format_double_shortest, parse_float, parse_int
from ._reply import NULL_ARRAY, SYNTAX, Error, Reply, arity_error
from ._state import ZSET_MAX_LISTPACK_ENTRIES, ZSET_MAX_LISTPACK_VALUE, ZSet, fits_listpack
from ._zset_lex import RangeError as _RangeError
from ._zset_lex import lex_bound, lex_choice, lex_counts, lex_runs, listpack_walk, skiplist_removals

Scores = Map[bytes, float]

EMPTY_SCORES: Scores = Map()
NAN_SCORE = Error("ERR resulting score is not a number (NaN)")
NOT_FLOAT_RANGE = Error("ERR min or max is not a float")
NOT_LEX_RANGE = Error("ERR min or max not valid string range item")
NOT_POSITIVE = Error("ERR value is out of range, must be positive")
_Found = TypeVar("_Found")


def _get_zset(ctx: Context, key: bytes) -> ZSet | None:
    return ctx.read_as(key, ZSet)  # type: ignore[return-value]


# --------------------------------------------------------------------- ZADD and ZINCRBY


def _zadd(ctx: Context, argv: Sequence[bytes], incr: bool) -> Reply:
    nx = xx = gt = lt = ch = False
    i, n = 2, len(argv)
    while i < n:  # options end at the first word that is not one (ZINCRBY parses them too)
        option = argv[i].lower()
        if option == b"nx":
            nx = True
        elif option == b"xx":
            xx = True
        elif option == b"ch":
            ch = True
        elif option == b"incr":
            incr = True
        elif option == b"gt":
            gt = True
        elif option == b"lt":
            lt = True
        else:
            break
        i += 1
    elements = n - i
    if elements % 2 or not elements:
        return SYNTAX
    if nx and xx:
        return Error("ERR XX and NX options at the same time are not compatible")
    if (gt and nx) or (lt and nx) or (gt and lt):
        return Error("ERR GT, LT, and/or NX options at the same time are not compatible")
    if incr and elements > 2:
        return Error("ERR INCR option supports a single increment-element pair")
    given = [parse_float(argv[j]) for j in range(i, n, 2)]  # all scores before the type check
    key = argv[1]
    zset = _get_zset(ctx, key)
    if zset is None and xx:
        return None if incr else 0
    scores = EMPTY_SCORES if zset is None else zset.scores
    skiplist = zset is not None and zset.skiplist  # (zsetAdd converts a listpack as it outgrows one)
    added = updated = processed = 0
    score = 0.0
    for j, member in enumerate(argv[i + 1 : n : 2]):
        score = given[j]
        current = scores.get(member)
        if current is not None:
            if nx:
                continue
            if incr:
                score += current
                if math.isnan(score):
                    return NAN_SCORE  # INCR has one pair: nothing was changed before
            if (lt and score >= current) or (gt and score <= current):
                continue
            processed += 1
            if score != current:
                scores = scores.set(member, _stored(ctx, score, skiplist))
                updated += 1
        elif not xx:
            skiplist = skiplist or not _small(scores, member)
            scores = scores.set(member, _stored(ctx, score, skiplist))
            added += 1
            processed += 1
    if added or updated:  # an unchanged score (ZINCRBY by 0 included) touches nothing
        ctx.write(key, ZSet(scores, skiplist))
        notify(ctx, ZSET, b"zincr" if incr else b"zadd", key)
    if incr:
        return score_text(ctx, score) if processed else None
    return added + updated if ch else added


def _stored(ctx: Context, score: float, skiplist: bool) -> float:
    """The score as the set (a skiplist or not, with the member in it) will read it back.  A listpack
    stores a whole score as an integer, so -0 comes back as 0; a skiplist keeps the double, and so
    does 6.2's ziplist, which stores -0 as the string "-0" (trait ``zset-keeps-negative-zero``)."""
    if score == 0 and not skiplist and not ctx.profile.has("zset-keeps-negative-zero"):
        return 0.0
    return score


def _small(scores: Scores, member: bytes) -> bool:
    # Whether a listpack still fits once ``member`` is in it (zsetAdd's conversion test).  The
    # members already there fit: a set that is not a skiplist has none longer than the limit.
    size = len(scores) + (member not in scores)
    return size <= ZSET_MAX_LISTPACK_ENTRIES and len(member) <= ZSET_MAX_LISTPACK_VALUE


@command("zadd", -4, "write denyoom fast", keys=(1, 1, 1))
def zadd(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _zadd(ctx, argv, incr=False)


@command("zincrby", 4, "write denyoom fast", keys=(1, 1, 1))
def zincrby(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _zadd(ctx, argv, incr=True)


# --------------------------------------------------------------------- single lookups


@command("zscore", 3, "readonly fast", keys=(1, 1, 1))
def zscore(ctx: Context, argv: Sequence[bytes]) -> Reply:
    zset = _get_zset(ctx, argv[1])
    score = None if zset is None else zset.scores.get(argv[2])
    return None if score is None else score_text(ctx, score)


@command("zmscore", -3, "readonly fast", keys=(1, 1, 1))
def zmscore(ctx: Context, argv: Sequence[bytes]) -> Reply:
    zset = _get_zset(ctx, argv[1])
    scores = EMPTY_SCORES if zset is None else zset.scores
    replies: list[Reply] = []
    for member in argv[2:]:
        score = scores.get(member)
        replies.append(None if score is None else score_text(ctx, score))
    return tuple(replies)


@command("zcard", 2, "readonly fast", keys=(1, 1, 1))
def zcard(ctx: Context, argv: Sequence[bytes]) -> Reply:
    zset = _get_zset(ctx, argv[1])
    return 0 if zset is None else len(zset)


def score_text(ctx: Context, score: float) -> bytes:
    """A score as the profile's server replies it (``addReplyDouble``; sheet D15)."""
    if ctx.profile.has("shortest-double-replies"):
        return format_double_shortest(score)
    return format_double(score)


def _rank(ctx: Context, argv: Sequence[bytes], reverse: bool) -> Reply:
    withscore = False
    if len(argv) > 3:  # only under zrank-withscore (7.2), whose arity is -3
        if len(argv) > 4:
            return arity_error(argv[0].decode().lower())
        if argv[3].lower() != b"withscore":
            return SYNTAX
        withscore = True
    missing = NULL_ARRAY if withscore else None
    zset = _get_zset(ctx, argv[1])
    if zset is None:
        return missing
    score = zset.scores.get(argv[2])
    if score is None:
        return missing
    below = sum(1 for other, s in zset.scores.items() if (s, other) < (score, argv[2]))
    rank = len(zset) - 1 - below if reverse else below
    return (rank, score_text(ctx, score)) if withscore else rank


@command("zrank", 3, "readonly fast", keys=(1, 1, 1))
def zrank(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _rank(ctx, argv, reverse=False)


@command("zrevrank", 3, "readonly fast", keys=(1, 1, 1))
def zrevrank(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _rank(ctx, argv, reverse=True)


@command("zrem", -3, "write fast", keys=(1, 1, 1))
def zrem(ctx: Context, argv: Sequence[bytes]) -> Reply:
    key = argv[1]
    zset = _get_zset(ctx, key)
    if zset is None:
        return 0
    scores = zset.scores
    removed = 0
    for member in argv[2:]:
        if member in scores:
            scores = scores.delete(member)
            removed += 1
    if removed:  # the last member deletes the key; none removed, nothing touched (W7)
        _removed(ctx, key, scores, b"zrem", zset.skiplist)
    return removed


def _pop(ctx: Context, argv: Sequence[bytes], highest: bool) -> Reply:
    if len(argv) > 3:
        return SYNTAX  # not an arity error, in 7.0
    count = 1
    if len(argv) == 3:
        if ctx.profile.has("zpop-negative-count"):  # 6.2: any count <= 0 pops nothing
            count = parse_int(argv[2])
            if count <= 0:
                return ()
        count = parse_int(argv[2], NOT_POSITIVE)  # before the lookup
        if count < 0:
            return NOT_POSITIVE
    key = argv[1]
    zset = _get_zset(ctx, key)
    if zset is None or count == 0:
        return ()  # nothing popped, nothing touched
    ordered = zset.ordered()
    popped = ordered[::-1][:count] if highest else ordered[:count]
    scores = zset.scores
    flat: list[bytes] = []
    for score, member in popped:
        scores = scores.delete(member)
        flat += (member, score_text(ctx, score))
    _removed(ctx, key, scores, b"zpopmax" if highest else b"zpopmin", zset.skiplist)
    return tuple(flat)


@command("zpopmin", -2, "write fast", keys=(1, 1, 1))
def zpopmin(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _pop(ctx, argv, highest=False)


@command("zpopmax", -2, "write fast", keys=(1, 1, 1))
def zpopmax(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _pop(ctx, argv, highest=True)


# --------------------------------------------------------------------- score and lex ranges

_SPACE = b" \t\n\v\f\r"


def _strtod(text: bytes) -> float | None:
    """``strtod`` as zslParseRange uses it: leading space allowed, out-of-range values saturate,
    the empty string is 0, NaN is refused."""
    if not text:
        return 0.0  # strtod converts nothing and stops at the terminating NUL
    body = text.lstrip(_SPACE)
    if not STRTOD_SYNTAX.fullmatch(body):  # zslParseRange only checks that nothing follows
        return None
    lowered = body.lower()
    if b"x" in lowered:
        negative = lowered.startswith(b"-")
        try:
            value = float.fromhex(lowered.lstrip(b"+-").decode())
        except OverflowError:
            value = math.inf
        value = -value if negative else value
    else:
        value = float(body)  # overflow -> inf, underflow -> 0, as strtod returns them
    return None if math.isnan(value) else value


def _score_bound(text: bytes) -> tuple[float, bool]:
    """One end of a score range: (value, exclusive)."""
    exclusive = text[:1] == b"("
    value = _strtod(text[1:] if exclusive else text)
    if value is None:
        raise _RangeError
    return value, exclusive


def _parse_score_range(low: bytes, high: bytes) -> tuple[float, bool, float, bool]:
    return (*_score_bound(low), *_score_bound(high))


def _in_score_range(score: float, spec: tuple[float, bool, float, bool]) -> bool:
    low, low_ex, high, high_ex = spec
    return (score > low if low_ex else score >= low) and (score < high if high_ex else score <= high)


@command("zcount", 4, "readonly fast", keys=(1, 1, 1))
def zcount(ctx: Context, argv: Sequence[bytes]) -> Reply:
    try:
        spec = _parse_score_range(argv[2], argv[3])
    except _RangeError:
        return NOT_FLOAT_RANGE
    zset = _get_zset(ctx, argv[1])
    if zset is None:
        return 0
    return sum(1 for score in zset.scores.values() if _in_score_range(score, spec))


@command("zlexcount", 4, "readonly fast", keys=(1, 1, 1))
def zlexcount(ctx: Context, argv: Sequence[bytes]) -> Reply:
    try:
        low, high = lex_bound(argv[2]), lex_bound(argv[3])
    except _RangeError:
        return NOT_LEX_RANGE
    zset = _get_zset(ctx, argv[1])
    if zset is None:
        return 0
    members = [member for _, member in zset.ordered()]
    counted = len(listpack_walk(members, low, high, reverse=False))
    if not _lex_walks_vary(zset):
        return counted
    others = sorted(lex_counts(members, low, high) - {counted})
    return lex_choice(ctx, [(counted, None)] + [(count, None) for count in others], "ZLEXCOUNT")[0]


# --------------------------------------------------------------------- ZRANGE and its family

RANK, SCORE, LEX = "rank", "score", "lex"


def _zrange(ctx: Context, argv: Sequence[bytes], first: int, store: bool,
            by: str | None, reverse: bool | None) -> Reply:
    """zrangeGenericCommand: ``first`` is the source key's position; ``by``/``reverse`` are fixed
    by the older commands (ZREVRANGE, ZRANGEBYSCORE...) and left to the options by ZRANGE."""
    withscores = False
    offset, limit = 0, -1
    j = first + 3
    while j < len(argv):
        option = argv[j].lower()
        if not store and option == b"withscores":
            withscores = True
        elif option == b"limit" and len(argv) - j - 1 >= 2:
            offset, limit = parse_int(argv[j + 1]), parse_int(argv[j + 2])
            j += 2
        elif reverse is None and option == b"rev":
            reverse = True
        elif by is None and option == b"bylex":
            by = LEX
        elif by is None and option == b"byscore":
            by = SCORE
        else:
            return SYNTAX
        j += 1
    reverse = bool(reverse)
    by = by or RANK
    if limit != -1 and by == RANK:
        return Error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
    if withscores and by == LEX:
        return Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    low_arg, high_arg = argv[first + 1], argv[first + 2]
    if reverse and by != RANK:
        low_arg, high_arg = high_arg, low_arg  # given as max min
    try:
        if by == RANK:
            start, end = parse_int(low_arg), parse_int(high_arg)
        elif by == SCORE:
            score_spec = _parse_score_range(low_arg, high_arg)
        else:
            low, high = lex_bound(low_arg), lex_bound(high_arg)
    except _RangeError:
        return NOT_FLOAT_RANGE if by == SCORE else NOT_LEX_RANGE
    zset = _get_zset(ctx, argv[first])
    ordered = [] if zset is None else zset.ordered()
    if by == LEX:
        members = [member for _, member in ordered]
        runs = lex_runs(members, low, high, reverse, zset is not None and _lex_walks_vary(zset))
        if len(runs) > 1:  # the LIMIT, then the reply, of each run the skiplist's levels allow
            # What a run leaves is the members it shows (or stores): runs that differ only beyond
            # the LIMIT are one outcome.
            shown = [tuple(_limited(ctx, zset, list(run), offset, limit)) for run in runs]
            _, effect = lex_choice(ctx, [(len(part) if store else part, part) for part in shown],
                                   "ZRANGESTORE" if store else "ZRANGE")
            picked = list(next(run for part, run in zip(shown, runs) if part == effect))
        else:
            picked = list(runs[0])
        scores = EMPTY_SCORES if zset is None else zset.scores
        ordered = [(scores[member], member) for member in picked]
    elif reverse:
        ordered.reverse()
    if by == RANK:
        length = len(ordered)
        if start < 0:
            start += length
        if end < 0:
            end += length
        if start < 0:
            start = 0
        chosen = [] if start > end or start >= length else ordered[start : min(end, length - 1) + 1]
    else:
        chosen = ordered if by == LEX else [pair for pair in ordered if _in_score_range(pair[0], score_spec)]
        chosen = _limited(ctx, zset, chosen, offset, limit)
    if store:
        destination = argv[1]
        if chosen:
            fits = fits_listpack([member for _, member in chosen])
            small = fits and not ctx.profile.has("zset-keeps-negative-zero")
            stored = Map((member, score + 0.0 if small else score) for score, member in chosen)  # -0 -> 0
            ctx.replace(destination, ZSet(stored, not fits))
            notify(ctx, ZSET, b"zrangestore", destination)
        elif ctx.delete(destination):  # touches only if the destination existed
            notify(ctx, GENERIC, b"del", destination)
        return len(chosen)
    if not withscores:
        return tuple(member for _, member in chosen)
    flat: list[bytes] = []
    for score, member in chosen:
        flat += (member, score_text(ctx, score))
    return tuple(flat)


def _limited(ctx: Context, zset: ZSet | None, found: list[_Found], offset: int, limit: int) -> list[_Found]:
    """LIMIT ``offset`` ``limit`` (``limit < 0``: no limit) of what a range found."""
    if offset < 0:
        offset = _negative_offset(ctx, zset, len(found), offset)
    return found[offset:] if limit < 0 else found[offset : offset + limit]


def _lex_walks_vary(zset: ZSet) -> bool:
    """Whether a lex walk over ``zset`` depends on its skiplist's levels: a skiplist whose scores
    differ (of one score, members sort by their bytes, and every walk finds the same ends)."""
    return zset.skiplist and len(set(zset.scores.values())) > 1


def _negative_offset(ctx: Context, zset: ZSet | None, found: int, offset: int) -> int:
    """Where a negative LIMIT offset starts among the ``found`` members in range.  C's ``while
    (offset--)`` walks past the end: nowhere.  Valkey 8 finds a skiplist's start by rank
    (``zslNthInRange``, Redis's #12450), where a negative offset counts back from the end of the
    range in the command's order, -1 its last member (trait ``zrange-negative-offset-from-end``)."""
    if (zset is not None and ctx.profile.has("zrange-negative-offset-from-end") and zset.skiplist
            and found + offset >= 0):
        return found + offset
    return found


@command("zrange", -4, "readonly", keys=(1, 1, 1))
def zrange(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _zrange(ctx, argv, 1, False, None, None)


@command("zrangestore", -5, "write denyoom", keys=(1, 2, 1))
def zrangestore(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _zrange(ctx, argv, 2, True, None, None)


@command("zrevrange", -4, "readonly", keys=(1, 1, 1))
def zrevrange(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _zrange(ctx, argv, 1, False, RANK, True)


@command("zrangebyscore", -4, "readonly", keys=(1, 1, 1))
def zrangebyscore(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _zrange(ctx, argv, 1, False, SCORE, False)


@command("zrevrangebyscore", -4, "readonly", keys=(1, 1, 1))
def zrevrangebyscore(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _zrange(ctx, argv, 1, False, SCORE, True)


@command("zrangebylex", -4, "readonly", keys=(1, 1, 1))
def zrangebylex(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _zrange(ctx, argv, 1, False, LEX, False)


@command("zrevrangebylex", -4, "readonly", keys=(1, 1, 1))
def zrevrangebylex(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _zrange(ctx, argv, 1, False, LEX, True)


__all__ = ["NAN_SCORE"]


# --------------------------------------------------------------------- ZREMRANGEBY*


def _removed(ctx: Context, key: bytes, scores: Scores, event: bytes, skiplist: bool) -> None:
    ctx.write(key, ZSet(scores, skiplist))  # the last member deletes the key
    notify(ctx, ZSET, event, key)
    if not scores:
        notify(ctx, GENERIC, b"del", key)


def _remove(ctx: Context, key: bytes, members: Sequence[bytes], event: bytes) -> Reply:
    zset = _get_zset(ctx, key)
    if zset is None or not members:
        return 0  # nothing removed, nothing touched
    scores = zset.scores
    for member in members:
        scores = scores.delete(member)
    _removed(ctx, key, scores, event, zset.skiplist)
    return len(members)


@command("zremrangebyrank", 4, "write", keys=(1, 1, 1))
def zremrangebyrank(ctx: Context, argv: Sequence[bytes]) -> Reply:
    start, end = parse_int(argv[2]), parse_int(argv[3])
    zset = _get_zset(ctx, argv[1])
    if zset is None:
        return 0
    ordered, length = zset.ordered(), len(zset)
    start = max(start + length if start < 0 else start, 0)
    end = end + length if end < 0 else end
    if start > end or start >= length:
        return 0
    return _remove(ctx, argv[1], [member for _, member in ordered[start : min(end, length - 1) + 1]],
                   b"zremrangebyrank")


@command("zremrangebyscore", 4, "write", keys=(1, 1, 1))
def zremrangebyscore(ctx: Context, argv: Sequence[bytes]) -> Reply:
    try:
        spec = _parse_score_range(argv[2], argv[3])
    except _RangeError:
        return NOT_FLOAT_RANGE
    zset = _get_zset(ctx, argv[1])
    if zset is None:
        return 0
    return _remove(ctx, argv[1], [member for score, member in zset.ordered() if _in_score_range(score, spec)],
                   b"zremrangebyscore")


@command("zremrangebylex", 4, "write", keys=(1, 1, 1))
def zremrangebylex(ctx: Context, argv: Sequence[bytes]) -> Reply:
    try:
        low, high = lex_bound(argv[2]), lex_bound(argv[3])
    except _RangeError:
        return NOT_LEX_RANGE
    zset = _get_zset(ctx, argv[1])
    if zset is None:
        return 0
    members = [member for _, member in zset.ordered()]
    removed = tuple(listpack_walk(members, low, high, reverse=False))
    if _lex_walks_vary(zset):
        others = sorted(skiplist_removals(members, low, high) - {removed})
        _, removed = lex_choice(ctx, [(len(removed), removed)] + [(len(run), run) for run in others],  # type: ignore[assignment]
                                "ZREMRANGEBYLEX")
    return _remove(ctx, argv[1], removed,
                   b"zremrangebylex")
