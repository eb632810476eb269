"""Lexicographic ranges of sorted sets (t_zset.c): the walks of ZRANGEBYLEX, ZREVRANGEBYLEX,
ZRANGE/ZRANGESTORE BYLEX, ZLEXCOUNT and ZREMRANGEBYLEX, on a listpack and on a skiplist.

A lex range is meant for members of one score, which then sort by their bytes; over members of
*different* scores Redis's answer is whatever its walk meets.  On a listpack the walk is a plain
scan (zzlFirstInLexRange, zzlLastInLexRange): after checking that the last member is above the
minimum and the first below the maximum, it starts at the first member above the minimum (or,
reversed, the last one below the maximum) and goes on while members stay in range.  On a
skiplist (:attr:`ZSet.skiplist <redlin.model.ZSet>`) the start is found by descending the levels:
at each level, move forward while the next node is out of range.  A node of a higher level can
carry the walk past members in range that sort after one out of it, so the start can be the first
member of *any* run of members above the minimum (zslFirstInLexRange; zslDeleteRangeByLex, which
skips the first-and-last check, can also end past the tail), and the end of reversed walks the
last of any run below the maximum.  Which one depends on the levels Redis drew at random for the
nodes.

So, as for the commands that choose at random (:mod:`redlin.model._random_replies`), the model
follows the reply: :func:`lex_choice` takes every outcome the levels allow, keeps those whose
reply is the one observed, and goes on from the state they leave; when they leave different
states (two removals of the same size) it raises :class:`HiddenChoice`, and the checker says
Unknown.  In sequential use it takes the listpack's walk, which is one of the skiplist's.  Two
walks of the same skiplist draw on the same levels, which the model does not remember: it accepts
each reply some levels explain, which can only miss a bug, never report one.

>>> members = [b"1", b"m0", b""]          # scores -inf, -2.2 and 1: "1" < "a" <= "m0", "" < "a"
>>> low, high = lex_bound(b"[a"), lex_bound(b"+")
>>> listpack_walk(members, low, high, reverse=False)  # the last member is below the minimum
[]
>>> sorted(skiplist_removals(members, low, high))    # from m0 to the end, or nothing
[(), (b'm0', b'')]
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from ._engine import SEQUENTIAL, UNSEEN, Context, HiddenChoice
from ._reply import Reply

__all__ = ["LexBound", "RangeError", "lex_bound", "lex_choice", "lex_counts", "lex_runs", "listpack_walk",
           "skiplist_removals"]


class RangeError(Exception):
    """A malformed range bound (each command has its own error text)."""


# Lex bounds: bytes with an "exclusive" flag, or the infinities "-" and "+".
_MINUS = object()
_PLUS = object()
LexBound = tuple[object, bool]


def lex_bound(text: bytes) -> LexBound:
    """One end of a lex range: ``[x`` (inclusive), ``(x`` (exclusive), ``-`` or ``+``."""
    first = text[:1]
    if first == b"+" and len(text) == 1:
        return _PLUS, True
    if first == b"-" and len(text) == 1:
        return _MINUS, True
    if first == b"(":
        return text[1:], True
    if first == b"[":
        return text[1:], False
    raise RangeError


def _compare(a: object, b: object) -> int:
    """sdscmplex: "-" below and "+" above every string."""
    if a is b:
        return 0
    if a is _MINUS or b is _PLUS:
        return -1
    if a is _PLUS or b is _MINUS:
        return 1
    assert isinstance(a, bytes) and isinstance(b, bytes)
    return (a > b) - (a < b)


def _gte_min(member: bytes, low: LexBound) -> bool:
    cmp = _compare(member, low[0])
    return cmp > 0 if low[1] else cmp >= 0


def _lte_max(member: bytes, high: LexBound) -> bool:
    cmp = _compare(member, high[0])
    return cmp < 0 if high[1] else cmp <= 0


def _in_range(members: Sequence[bytes], low: LexBound, high: LexBound) -> bool:
    """zzlIsInLexRange / zslIsInLexRange: a range that can hold something, a last member above the
    minimum and a first one below the maximum."""
    cmp = _compare(low[0], high[0])
    if cmp > 0 or (cmp == 0 and (low[1] or high[1])) or not members:
        return False
    return _gte_min(members[-1], low) and _lte_max(members[0], high)


def _forward(members: Sequence[bytes], start: int | None, high: LexBound) -> list[bytes]:
    """From ``start`` on while members stay below the maximum."""
    out: list[bytes] = []
    if start is not None:
        for member in members[start:]:
            if not _lte_max(member, high):
                break
            out.append(member)
    return out


def _backward(members: Sequence[bytes], end: int | None, low: LexBound) -> list[bytes]:
    """From ``end`` back while members stay above the minimum."""
    out: list[bytes] = []
    if end is not None:
        for member in members[end::-1]:
            if not _gte_min(member, low):
                break
            out.append(member)
    return out


def listpack_walk(members: Sequence[bytes], low: LexBound, high: LexBound, reverse: bool) -> list[bytes]:
    """The members a lex range selects on a listpack (``members`` in score order)."""
    if not _in_range(members, low, high):
        return []
    if not reverse:  # zzlFirstInLexRange, then forward while <= max
        first = next(i for i, member in enumerate(members) if _gte_min(member, low))
        return _forward(members, first, high)
    last = next(i for i in range(len(members) - 1, -1, -1) if _lte_max(members[i], high))
    return _backward(members, last, low)


def _starts(members: Sequence[bytes], low: LexBound) -> list[int | None]:
    """Where a skiplist's descent toward the minimum can leave the walk: the first member of each
    run of members above it (the descent stops on the member before, or the header), and past the
    tail (``None``) when the last member is below it."""
    found: list[int | None] = [i for i, member in enumerate(members)
                               if _gte_min(member, low) and (i == 0 or not _gte_min(members[i - 1], low))]
    if not members or not _gte_min(members[-1], low):
        found.append(None)
    return found


def _first_candidates(members: Sequence[bytes], low: LexBound, high: LexBound) -> list[int | None]:
    """zslFirstInLexRange's possible answers (indexes; ``None``: no first member)."""
    if not _in_range(members, low, high):
        return [None]
    return [start if start is not None and _lte_max(members[start], high) else None
            for start in _starts(members, low)]


def _last_candidates(members: Sequence[bytes], low: LexBound, high: LexBound) -> list[int | None]:
    """zslLastInLexRange's possible answers: the last member of each run below the maximum, when it
    is above the minimum."""
    if not _in_range(members, low, high):
        return [None]
    ends = [i for i, member in enumerate(members)
            if _lte_max(member, high) and (i == len(members) - 1 or not _lte_max(members[i + 1], high))]
    return [end if _gte_min(members[end], low) else None for end in ends]


def lex_runs(members: Sequence[bytes], low: LexBound, high: LexBound, reverse: bool,
             skiplist: bool) -> list[tuple[bytes, ...]]:
    """The runs of members a ZRANGE-family lex walk can select before its LIMIT, the listpack's walk
    first (the only one unless the set is a skiplist)."""
    runs = [tuple(listpack_walk(members, low, high, reverse))]
    if skiplist:
        if reverse:
            found = [tuple(_backward(members, end, low)) for end in _last_candidates(members, low, high)]
        else:
            found = [tuple(_forward(members, start, high)) for start in _first_candidates(members, low, high)]
        runs += [run for run in dict.fromkeys(found) if run != runs[0]]
    return runs


def skiplist_removals(members: Sequence[bytes], low: LexBound, high: LexBound) -> set[tuple[bytes, ...]]:
    """What zslDeleteRangeByLex can remove: from each possible start while below the maximum (it
    makes no first-and-last check)."""
    return {tuple(_forward(members, start, high)) for start in _starts(members, low)}


def lex_counts(members: Sequence[bytes], low: LexBound, high: LexBound) -> set[int]:
    """ZLEXCOUNT's possible replies on a skiplist: the rank of the last member in range minus the
    rank of the first, plus one, each found by its own descent (so even 0 or less), or the members
    from the first to the end when no last is found."""
    counts: set[int] = set()
    for first in _first_candidates(members, low, high):
        if first is None:
            counts.add(0)
            continue
        for last in _last_candidates(members, low, high):
            counts.add(len(members) - first if last is None else last + 1 - first)
    return counts


def lex_choice(ctx: Context, outcomes: Sequence[tuple[Reply, Hashable]], what: str) -> tuple[Reply, Hashable]:
    """One of ``outcomes`` (reply, and what it leaves: the members removed or stored), the first
    being the listpack's walk: the only one, the one in sequential use, or the one whose reply was
    observed.  :class:`HiddenChoice` when the outcomes differ and the reply is not visible, or when
    outcomes with the observed reply leave different states.  A reply no outcome gives gets the
    listpack's walk's, which the checker then refuses."""
    if len({effect for _, effect in outcomes}) == 1 and len({repr(reply) for reply, _ in outcomes}) == 1:
        return outcomes[0]
    observed = ctx.observation()
    if observed is SEQUENTIAL:
        return outcomes[0]
    if observed is UNSEEN:
        raise HiddenChoice(f"{what}: where a lexicographic walk over a skiplist whose scores differ starts "
                           "depends on its random levels, and the reply is not visible")
    matching = {effect: reply for reply, effect in outcomes if reply == observed}
    if not matching:
        return outcomes[0]
    if len(matching) > 1:
        raise HiddenChoice(f"{what}: walks over the skiplist's random levels that leave different sets give "
                           "this reply")
    effect, reply = next(iter(matching.items()))
    return reply, effect
