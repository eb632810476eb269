"""SORT and SORT_RO (sort.c): sort a list, set or sorted set, numerically or ALPHA, by its elements
or by weights read through a BY pattern, and reply (or STORE) the elements or GET pattern values.

Patterns: ``#`` is the element itself; otherwise the first ``*`` is replaced by the element and
the key read; ``key->field`` reads a hash field.  A pattern without ``*`` reads nothing (GET
gives nil, BY skips sorting: ``BY nosort``).  BY and GET patterns read keys no argument names,
so :func:`reaches_pattern_keys` tells the command table (``undeclared_keys``): such a SORT
touches any key for the checker's split, and is undeclared inside a script.

Order, as sort.c and glibc make it:

- Numeric: by score (``strtod`` of the element or weight; a missing weight is 0), ties by the
  elements' bytes: a total order.  A weight or element that is not a number, or overflows or
  underflows a double, is "One or more scores can't be converted into double".
- ALPHA: ``strcoll``, which under Redis's C or C.UTF-8 collation is ``strcmp``: bytes up to the
  first NUL (with STORE, ``memcmp``: all the bytes).  With BY, missing weights come first and
  equal weights are ties.  glibc's ``qsort`` is a stable merge sort, so ties keep the order the
  elements were loaded in (DESC too); but a BY pattern with a LIMIT that cuts the vector sorts
  with Redis's own ``pqsort`` (ported here: :func:`pqsort`), whose order of ties is its own.
- ``BY nosort``: a list or sorted set in its own order (DESC reversed, LIMIT applied directly).

A set is loaded in hash-table order, and so is a sorted set that is really sorted: the reply of
``BY nosort`` on a set (unless STORE or a script forces ALPHA sorting, as Redis does), and the
order of ties under ALPHA with BY on a set or sorted set, are Redis's hash order, which no model
can know.  SORT has no NONDETERMINISTIC_OUTPUT_ORDER tip (its other replies are ordered), so the
table cannot flag it ``unordered``: the model answers a canonical order there (an intset's
numeric order when every member is an integer, else the members' bytes) and the checker's
grammar never draws these forms.  Redis also leaves ``errno`` uncleared before ``strtod``:
after another command left it at ERANGE (a subnormal double, say), a numeric SORT over
non-integer elements fails there until something clears it, and not here.

>>> from redlin.model import Redis
>>> client = Redis().client()
>>> _ = client.execute("RPUSH", "l", 3, 1, 2)
>>> _ = client.execute("MSET", "w_1", 30, "w_2", 20, "w_3", 10)
>>> client.execute("SORT", "l"), client.execute("SORT", "l", "BY", "w_*", "GET", "#", "GET", "w_*")
((b'1', b'2', b'3'), (b'3', b'10', b'2', b'20', b'1', b'30'))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from immutables import Map

from ._commands import command
from ._engine import CommandError, Context
from ._notify import GENERIC, LIST, notify
from ._numbers import parse_int, to_float, to_int
from ._reply import NOT_INTEGER, SYNTAX, WRONGTYPE, Error, Reply
from ._state import ZSet

NOT_DOUBLE = Error("ERR One or more scores can't be converted into double")
DBL_MIN = 2.2250738585072014e-308
C_SPACES = b" \t\n\v\f\r"
INTSET_ENTRIES = 512  # set-max-intset-entries


def reaches_pattern_keys(argv: Sequence[bytes]) -> bool:
    """Whether a SORT reads keys through a BY or GET pattern (one with a ``*``; ``#`` is the
    element), reading the options as sortCommandGeneric does, up to the first it refuses.

    >>> reaches_pattern_keys([b"SORT", b"l", b"BY", b"nosort", b"GET", b"#"])
    False
    >>> reaches_pattern_keys([b"SORT", b"l", b"LIMIT", b"0", b"1", b"GET", b"h_*->f"])
    True
    """
    j = 2
    while j < len(argv):
        word, left = argv[j].lower(), len(argv) - j - 1
        if word in (b"asc", b"desc", b"alpha"):
            j += 1
        elif word == b"limit" and left >= 2:
            j += 3
        elif word in (b"store", b"by", b"get") and left >= 1:
            if word != b"store" and b"*" in _c_string(argv[j + 1]):
                return True
            j += 2
        else:
            return False
    return False


def _c_string(pattern: bytes) -> bytes:
    """The pattern as C's string functions see it (strchr, strstr): up to its first NUL."""
    return pattern.split(b"\x00", 1)[0]


def sort_keys(argv: Sequence[bytes]) -> tuple[bytes, ...]:
    """sortGetKeys: the sorted key, and the last STORE destination (scanning options roughly,
    LIMIT skipping two words, GET and BY one)."""
    keys = [argv[1]]
    store: bytes | None = None
    i = 2
    while i < len(argv):
        word = argv[i].lower()
        if word in (b"limit", b"get", b"by"):
            i += 2 if word == b"limit" else 1
        elif word == b"store" and i + 1 < len(argv):
            store = argv[i + 1]
        i += 1
    return tuple(keys) if store is None else (*keys, store)


class _Options:
    """The parsed options of one SORT."""

    __slots__ = ("desc", "alpha", "start", "count", "store", "by", "dontsort", "gets")

    def __init__(self) -> None:
        self.desc = self.alpha = self.dontsort = False
        self.start, self.count = 0, -1
        self.store: bytes | None = None
        self.by: bytes | None = None
        self.gets: list[bytes] = []


def _parse(argv: Sequence[bytes], readonly: bool) -> _Options:
    options = _Options()
    j = 2
    while j < len(argv):
        word, left = argv[j].lower(), len(argv) - j - 1
        if word == b"asc":
            options.desc = False
        elif word == b"desc":
            options.desc = True
        elif word == b"alpha":
            options.alpha = True
        elif word == b"limit" and left >= 2:
            options.start, options.count = parse_int(argv[j + 1]), parse_int(argv[j + 2])
            j += 2
        elif word == b"store" and left >= 1 and not readonly:
            options.store = argv[j + 1]
            j += 1
        elif word == b"by" and left >= 1:
            options.by = argv[j + 1]
            if b"*" not in _c_string(options.by):  # a constant weight: nothing to sort (a later BY does not undo it)
                options.dontsort = True
            j += 1
        elif word == b"get" and left >= 1:
            options.gets.append(argv[j + 1])
            j += 1
        else:
            raise CommandError(SYNTAX)
        j += 1
    return options


def lookup_by_pattern(ctx: Context, pattern: bytes, element: bytes) -> bytes | None:
    """lookupKeyByPattern: ``#``, or the string (or ``->field`` of the hash) under the key the
    pattern names for ``element``; None when there is none (or the pattern has no ``*``)."""
    text = _c_string(pattern)
    if text == b"#":
        return element
    star = text.find(b"*")
    if star < 0:
        return None
    arrow = text.find(b"->", star + 1)
    field: bytes | None = None
    end = len(pattern)
    if arrow >= 0 and arrow + 2 < len(text):
        field, end = pattern[arrow + 2:], arrow
    value = ctx.read(pattern[:star] + element + pattern[star + 1:end])
    if field is None:
        return value if type(value) is bytes else None
    if type(value) is not Map:
        return None
    return value.get(field)


def strtod_score(text: bytes) -> float | None:
    """The score sortCommand reads with ``strtod``: leading C spaces allowed, the text ends at a
    NUL (so ``""`` is 0), None for garbage, NaN, overflow or underflow (ERANGE).

    >>> strtod_score(b" 1.5"), strtod_score(b""), strtod_score(b"1 "), strtod_score(b"1e-310")
    (1.5, 0.0, None, None)
    """
    text = _c_string(text)
    if not text:
        return 0.0
    try:
        value = to_float(text.lstrip(C_SPACES))
    except OverflowError:  # a hex float too large
        return None
    if value is None or (value != 0 and abs(value) < DBL_MIN):
        return None
    return value


def _loaded(value: Any, options: _Options) -> list[bytes]:
    """The elements in the order Redis loads them (a set's, and a sorted set's when it is really
    sorted, is hash order: the model uses the members' byte order)."""
    if type(value) is tuple:
        return list(value)
    if type(value) is ZSet and options.dontsort:
        return [member for _, member in value.ordered()]
    if type(value) is frozenset and len(value) <= INTSET_ENTRIES and all(to_int(m) is not None for m in value):
        return sorted(value, key=int)  # an intset iterates in numeric order (if it never was a hash table)
    return sorted(value.scores if type(value) is ZSet else value)


def _window(length: int, options: _Options) -> tuple[int, int]:
    """LIMIT's start and end, clamped as sortCommandGeneric does."""
    start = min(max(options.start, 0), length)
    count = min(max(options.count, -1), length)
    end = length - 1 if count < 0 else start + count - 1
    if start >= length:
        start, end = length - 1, length - 2
    return start, min(end, length - 1)


def _sort_key(ctx: Context, elements: list[bytes], options: _Options) -> Callable[[bytes], Any]:
    """sortCompare as a key: equal keys are sortCompare's ties.  Reads every BY weight first."""
    by = options.by
    if not options.alpha:
        scores: dict[bytes, float | None] = {}
        for element in elements:  # every weight is read (and may expire) before the error
            weight = element if by is None else lookup_by_pattern(ctx, by, element)
            scores[element] = 0.0 if weight is None else strtod_score(weight)
        if None in scores.values():
            raise CommandError(NOT_DOUBLE)
        return lambda element: (scores[element], element)
    binary = options.store is not None  # compareStringObjects; else strcoll, that is strcmp

    def text(value: bytes) -> bytes:
        return value if binary else _c_string(value)

    if by is None:
        return text
    weights = {element: lookup_by_pattern(ctx, by, element) for element in elements}
    return lambda element: (0, b"") if weights[element] is None else (1, text(weights[element]))  # type: ignore[arg-type]


def _sorted(elements: list[bytes], key: Callable[[bytes], Any], desc: bool, window: tuple[int, int] | None) -> list[bytes]:
    """The elements sorted: by glibc's ``qsort`` (a stable merge sort; DESC keeps ties in order), or
    by Redis's ``pqsort`` when BY meets a LIMIT (``window``), whose order of ties is its own."""
    if window is None:
        return sorted(elements, key=key, reverse=desc)
    keys = [key(element) for element in elements]
    sign = -1 if desc else 1

    def compare(i: int, j: int) -> int:
        above: bool = keys[i] > keys[j]
        below: bool = keys[i] < keys[j]
        return sign * (above - below)

    order = list(range(len(elements)))
    pqsort(order, compare, *window)
    return [elements[i] for i in order]


def pqsort(v: list[int], cmp: Callable[[int, int], int], lrange: int, rrange: int, lo: int = 0,
           n: int | None = None) -> None:
    """pqsort.c: Bentley and McIlroy's quicksort that only sorts the parts overlapping positions
    ``lrange..rrange``, on ``v[lo:lo+n]`` in place (``cmp`` compares two of its items).

    >>> v = [5, 1, 4, 2, 3, 9, 8, 7, 6, 0]
    >>> pqsort(v, lambda a, b: (a > b) - (a < b), 0, 2); v[:3]
    [0, 1, 2]
    """
    n = len(v) - lo if n is None else n
    while True:
        if n < 7:  # insertion sort
            for pm in range(lo + 1, lo + n):
                pl = pm
                while pl > lo and cmp(v[pl - 1], v[pl]) > 0:
                    v[pl], v[pl - 1] = v[pl - 1], v[pl]
                    pl -= 1
            return
        below, above = _partition(v, cmp, lo, n)
        if below > 1 and _overlaps(lo, lo + below - 1, lrange, rrange):
            pqsort(v, cmp, lrange, rrange, lo, below)
        if above <= 1:
            return
        lo, n = lo + n - above, above  # iterate rather than recurse, as pqsort.c does
        if not _overlaps(lo, lo + n - 1, lrange, rrange):
            return


def _overlaps(first: int, last: int, lrange: int, rrange: int) -> bool:
    """pqsort.c's test: a part is skipped only when the range's two ends lie on one side of it."""
    return not ((lrange < first and rrange < first) or (lrange > last and rrange > last))


def _med3(v: list[int], cmp: Callable[[int, int], int], a: int, b: int, c: int) -> int:
    if cmp(v[a], v[b]) < 0:
        return b if cmp(v[b], v[c]) < 0 else (c if cmp(v[a], v[c]) < 0 else a)
    return b if cmp(v[b], v[c]) > 0 else (a if cmp(v[a], v[c]) < 0 else c)


def _partition(v: list[int], cmp: Callable[[int, int], int], lo: int, n: int) -> tuple[int, int]:
    """One split of v[lo:lo+n] around a median pivot, its equals moved to the middle: how many
    items are now below them (from lo) and above them (up to lo+n)."""
    pm = lo + n // 2
    if n > 7:
        pl, pn = lo, lo + n - 1
        if n > 40:
            d = n // 8
            pl = _med3(v, cmp, pl, pl + d, pl + 2 * d)
            pm = _med3(v, cmp, pm - d, pm, pm + d)
            pn = _med3(v, cmp, pn - 2 * d, pn - d, pn)
        pm = _med3(v, cmp, pl, pm, pn)
    v[lo], v[pm] = v[pm], v[lo]
    pa = pb = lo + 1
    pc = pd = lo + n - 1
    while True:
        while pb <= pc and (result := cmp(v[pb], v[lo])) <= 0:
            if result == 0:
                v[pa], v[pb] = v[pb], v[pa]
                pa += 1
            pb += 1
        while pb <= pc and (result := cmp(v[pc], v[lo])) >= 0:
            if result == 0:
                v[pc], v[pd] = v[pd], v[pc]
                pd -= 1
            pc -= 1
        if pb > pc:
            break
        v[pb], v[pc] = v[pc], v[pb]
        pb += 1
        pc -= 1
    pn = lo + n
    r = min(pa - lo, pb - pa)
    _vecswap(v, lo, pb - r, r)
    r = min(pd - pc, pn - pd - 1)
    _vecswap(v, pb, pn - r, r)
    return pb - pa, pd - pc


def _vecswap(v: list[int], a: int, b: int, n: int) -> None:
    for i in range(n):
        v[a + i], v[b + i] = v[b + i], v[a + i]


def _sort(ctx: Context, argv: Sequence[bytes], readonly: bool) -> Reply:
    options = _parse(argv, readonly)
    value = ctx.read(argv[1])
    if value is not None and type(value) not in (tuple, frozenset, ZSet):
        return WRONGTYPE
    if type(value) is ZSet and not value.skiplist:
        # "Destructively convert encoded sorted sets for SORT" (sort.c), SORT_RO too, before any
        # other error: a change of encoding, which nobody watching the key is told of.
        value = ZSet(value.scores, skiplist=True)
        ctx.write_unsignalled(argv[1], value)
    value = value if value is not None else ()
    if options.dontsort and type(value) is frozenset and (options.store is not None or ctx.in_script):
        # A set's order must not depend on its hash table where it is replicated: sort it ALPHA.
        options.dontsort, options.alpha, options.by = False, True, None
    elements = _loaded(value, options)
    start, end = _window(len(elements), options)
    if options.dontsort and type(value) is not frozenset:
        ordered = elements[::-1] if options.desc else elements
    elif options.dontsort:
        ordered = elements  # hash order; DESC changes nothing
    else:
        key = _sort_key(ctx, elements, options)
        partial = options.by is not None and (start != 0 or end != len(elements) - 1)
        ordered = _sorted(elements, key, options.desc, (start, end) if partial else None)
    chosen = ordered[start:end + 1] if end >= start else []
    if options.store is None:
        if not options.gets:
            return tuple(chosen)
        return tuple(lookup_by_pattern(ctx, pattern, element) for element in chosen for pattern in options.gets)
    if options.gets:
        stored = tuple(lookup_by_pattern(ctx, pattern, element) or b"" for element in chosen
                       for pattern in options.gets)
    else:
        stored = tuple(chosen)
    if stored:
        ctx.replace(options.store, stored)
        notify(ctx, LIST, b"sortstore", options.store)
    elif ctx.delete(options.store):
        notify(ctx, GENERIC, b"del", options.store)
    return len(stored)


@command("sort", -2, "write denyoom movablekeys", keys=(1, 1, 1), keys_fn=sort_keys,
         undeclared_keys=reaches_pattern_keys)
def sort(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _sort(ctx, argv, readonly=False)


@command("sort_ro", -2, "readonly movablekeys", keys=(1, 1, 1), undeclared_keys=reaches_pattern_keys)
def sort_ro(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _sort(ctx, argv, readonly=True)


__all__ = ["NOT_DOUBLE", "NOT_INTEGER", "lookup_by_pattern", "reaches_pattern_keys", "sort_keys", "strtod_score"]
