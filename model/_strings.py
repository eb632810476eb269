"""String commands (t_string.c): GET SET SETNX GETSET GETDEL GETEX SETEX PSETEX APPEND STRLEN
SETRANGE GETRANGE SUBSTR INCR DECR INCRBY DECRBY INCRBYFLOAT MGET MSET MSETNX LCS.  Sheet items D1-D9.

>>> from redlin.model import Redis
>>> client = Redis().client()
>>> client.execute("SETRANGE", "k", 2, "ab"), client.execute("GETRANGE", "k", -2, -1)
(4, b'ab')
"""

from __future__ import annotations

from collections.abc import Sequence

from ._commands import command
from ._engine import CommandError, Context, expire_time_error
from ._hashes import format_long_double, parse_long_double, round_long_double
from ._notify import GENERIC, STRING, notify
from ._numbers import LLONG_MAX, LLONG_MIN, parse_int
from ._reply import NOT_FLOAT, NOT_INTEGER, OK, OVERFLOW, SYNTAX, WRONGTYPE, Error, Reply, arity_error

MAX_STRING = 512 * 1024 * 1024  # proto-max-bulk-len's default (CONFIG SET changes it: ctx.config)
STRING_TOO_BIG = Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")


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
        deadline = _deadline(ctx, "set", unit, expire)
    key = argv[1]
    old = _get_string(ctx, key) if want_old else None
    found = ctx.exists(key)
    if (nx and found) or (xx and not found):
        return old if want_old else None
    if keepttl:
        ctx.write(key, argv[2])
    else:
        ctx.replace(key, argv[2])
    notify(ctx, STRING, b"set", key)
    if deadline is not None:
        ctx.set_deadline(key, deadline)
        notify(ctx, GENERIC, b"expire", key)
    return old if want_old else OK


def _deadline(ctx: Context, name: str, unit: bytes, text: bytes) -> int:
    """getExpireMillisecondsOrReply: the absolute deadline in ms (raises the reply's error)."""
    amount = parse_int(text)
    if amount <= 0 or (unit in (b"ex", b"exat") and amount > LLONG_MAX // 1000):
        raise CommandError(expire_time_error(ctx, name))
    if unit in (b"ex", b"exat"):
        amount *= 1000
    if unit in (b"ex", b"px"):
        amount += ctx.now
        if amount > LLONG_MAX:  # wraps negative in C
            raise CommandError(expire_time_error(ctx, name))
    return amount


@command("setex", 4, "write denyoom", keys=(1, 1, 1))
def setex(ctx: Context, argv: Sequence[bytes]) -> Reply:
    deadline = _deadline(ctx, "setex", b"ex", argv[2])
    ctx.replace(argv[1], argv[3])
    notify(ctx, STRING, b"set", argv[1])
    ctx.set_deadline(argv[1], deadline)
    notify(ctx, GENERIC, b"expire", argv[1])
    return OK


@command("psetex", 4, "write denyoom", keys=(1, 1, 1))
def psetex(ctx: Context, argv: Sequence[bytes]) -> Reply:
    deadline = _deadline(ctx, "psetex", b"px", argv[2])
    ctx.replace(argv[1], argv[3])
    notify(ctx, STRING, b"set", argv[1])
    ctx.set_deadline(argv[1], deadline)
    notify(ctx, GENERIC, b"expire", argv[1])
    return OK


@command("getex", -2, "write fast", keys=(1, 1, 1))
def getex(ctx: Context, argv: Sequence[bytes]) -> Reply:
    unit: bytes | None = None  # b"ex", b"px", b"exat", b"pxat", b"persist"
    expire = b""
    i, n = 2, len(argv)
    while i < n:  # parseExtendedStringArgumentsOrReply (COMMAND_GET): one kind, repeats allowed
        opt = argv[i].lower()
        if opt == b"persist" and unit in (None, opt):
            unit = opt
        elif opt in (b"ex", b"px", b"exat", b"pxat") and unit in (None, opt) and i + 1 < n:
            unit, expire = opt, argv[i + 1]
            i += 1
        else:
            return SYNTAX
        i += 1
    key = argv[1]
    value = _get_string(ctx, key)
    if value is None:
        return None  # before the expire time is checked
    if unit == b"persist":
        if ctx.deadline(key) is not None:
            ctx.set_deadline(key, None)
            notify(ctx, GENERIC, b"persist", key)
    elif unit is not None:
        deadline = _deadline(ctx, "getex", unit, expire)
        if unit in (b"exat", b"pxat") and deadline <= ctx.now:
            ctx.delete(key)  # checkAlreadyExpired
            notify(ctx, GENERIC, b"del", key)
        else:
            ctx.set_deadline(key, deadline)
            notify(ctx, GENERIC, b"expire", key)
    return value


@command("setnx", 3, "write denyoom fast", keys=(1, 1, 1))
def setnx(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if ctx.exists(argv[1]):
        return 0
    ctx.replace(argv[1], argv[2])
    notify(ctx, STRING, b"set", argv[1])
    return 1


@command("getset", 3, "write denyoom fast", keys=(1, 1, 1))
def getset(ctx: Context, argv: Sequence[bytes]) -> Reply:
    old = _get_string(ctx, argv[1])
    ctx.replace(argv[1], argv[2])
    notify(ctx, STRING, b"set", argv[1])
    return old


@command("getdel", 2, "write fast", keys=(1, 1, 1))
def getdel(ctx: Context, argv: Sequence[bytes]) -> Reply:
    old = _get_string(ctx, argv[1])
    if old is not None:
        ctx.delete(argv[1])
        notify(ctx, GENERIC, b"del", argv[1])
    return old


@command("append", 3, "write denyoom fast", keys=(1, 1, 1))
def append(ctx: Context, argv: Sequence[bytes]) -> Reply:
    old = _get_string(ctx, argv[1])
    if old is not None and len(old) + len(argv[2]) > ctx.config_int(b"proto-max-bulk-len"):
        return STRING_TOO_BIG  # checkStringLength, only when appending to a string
    value = argv[2] if old is None else old + argv[2]
    ctx.write(argv[1], value)  # touches even when nothing was appended (W8)
    notify(ctx, STRING, b"append", argv[1])
    return len(value)


@command("strlen", 2, "readonly fast", keys=(1, 1, 1))
def strlen(ctx: Context, argv: Sequence[bytes]) -> Reply:
    value = _get_string(ctx, argv[1])
    return 0 if value is None else len(value)


@command("setrange", 4, "write denyoom", keys=(1, 1, 1))
def setrange(ctx: Context, argv: Sequence[bytes]) -> Reply:
    key, value = argv[1], argv[3]
    offset = parse_int(argv[2])
    if offset < 0:
        return Error("ERR offset is out of range")
    old = _get_string(ctx, key)
    if not value:
        return 0 if old is None else len(old)  # nothing written, nothing touched
    if offset + len(value) > ctx.config_int(b"proto-max-bulk-len"):
        return STRING_TOO_BIG
    base = old or b""
    if len(base) < offset:
        base += bytes(offset - len(base))
    new = base[:offset] + value + base[offset + len(value):]
    ctx.write(key, new)
    notify(ctx, STRING, b"setrange", key)
    return len(new)


def _getrange(ctx: Context, argv: Sequence[bytes]) -> Reply:
    start, end = parse_int(argv[2]), parse_int(argv[3])
    value = _get_string(ctx, argv[1]) or b""
    if start < 0 and end < 0 and start > end:
        return b""
    size = len(value)
    start = max(size + start if start < 0 else start, 0)
    end = max(size + end if end < 0 else end, 0)
    end = min(end, size - 1)
    return b"" if start > end or not size else value[start : end + 1]


@command("getrange", 4, "readonly", keys=(1, 1, 1))
def getrange(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _getrange(ctx, argv)


@command("substr", 4, "readonly", keys=(1, 1, 1))
def substr(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _getrange(ctx, argv)


def _incr(ctx: Context, key: bytes, by: int) -> Reply:
    old = _get_string(ctx, key)
    value = 0 if old is None else parse_int(old)
    if (by < 0 and value < 0 and by < LLONG_MIN - value) or (by > 0 and value > 0 and by > LLONG_MAX - value):
        return OVERFLOW
    value += by
    ctx.write(key, b"%d" % value)  # keeps the TTL
    notify(ctx, STRING, b"incrby", key)
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


@command("incrbyfloat", 3, "write denyoom fast", keys=(1, 1, 1))
def incrbyfloat(ctx: Context, argv: Sequence[bytes]) -> Reply:
    key = argv[1]
    old = _get_string(ctx, key)
    value = parse_long_double(b"0" if old is None else old)
    by = parse_long_double(argv[2])
    if value is None or by is None:
        return NOT_FLOAT
    total = None if isinstance(value, float) or isinstance(by, float) else round_long_double(value + by)
    if total is None or isinstance(total, float):
        return Error("ERR increment would produce NaN or Infinity")
    text = format_long_double(total)
    ctx.write(key, text)  # keeps the TTL
    notify(ctx, STRING, b"incrbyfloat", key)
    return text


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
        notify(ctx, STRING, b"set", argv[i])
    return OK


@command("msetnx", -3, "write denyoom", keys=(1, -1, 2))
def msetnx(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if len(argv) % 2 == 0:
        return _mset_arity(ctx, "msetnx")
    if any(ctx.exists(argv[i]) for i in range(1, len(argv), 2)):
        return 0
    for i in range(1, len(argv), 2):
        ctx.replace(argv[i], argv[i + 1])
        notify(ctx, STRING, b"set", argv[i])
    return 1


NOT_STRINGS = Error("ERR The specified keys must contain string values")
LEN_AND_IDX = Error("ERR If you want both the length and indexes, please just use IDX.")
LCS_TOO_BIG = Error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")


@command("lcs", -3, "readonly", keys=(1, 2, 1))
def lcs(ctx: Context, argv: Sequence[bytes]) -> Reply:
    """lcsCommand: the longest common subsequence of two strings, its length, or its matching ranges.

    >>> from redlin.model import Redis
    >>> client = Redis().client()
    >>> _ = client.execute("MSET", "a", "ohmytext", "b", "mynewtext")
    >>> client.execute("LCS", "a", "b"), client.execute("LCS", "a", "b", "LEN")
    (b'mytext', 6)
    >>> client.execute("LCS", "a", "b", "IDX", "MINMATCHLEN", 4, "WITHMATCHLEN")
    (b'matches', (((4, 7), (5, 8), 4),), b'len', 6)
    """
    a, b = ctx.read(argv[1]), ctx.read(argv[2])
    if (a is not None and type(a) is not bytes) or (b is not None and type(b) is not bytes):
        return NOT_STRINGS
    first: bytes = a or b""
    second: bytes = b or b""
    want_len = want_idx = with_len = False
    min_len = 0
    j = 3
    while j < len(argv):
        option = argv[j].lower()
        if option == b"idx":
            want_idx = True
        elif option == b"len":
            want_len = True
        elif option == b"withmatchlen":
            with_len = True
        elif option == b"minmatchlen" and j + 1 < len(argv):
            min_len = max(parse_int(argv[j + 1]), 0)
            j += 1
        else:
            return SYNTAX
        j += 1
    if want_len and want_idx:
        return LEN_AND_IDX
    if (len(first) + 1) * (len(second) + 1) * 4 > ctx.config_int(b"proto-max-bulk-len"):
        return LCS_TOO_BIG
    table = LcsTable(first, second)
    if want_len:
        return table.length()
    common, matches = _lcs_walk(first, second, table, min_len, with_len)
    if want_idx:
        return (b"matches", matches, b"len", table.length())
    return common


class LcsTable:
    """Redis's table LCS(i, j), the length of the LCS of ``a[:i]`` and ``b[:j]``, kept as one
    bit-vector per row (Hyyro's bit-parallel LCS): row i has bit j clear where LCS(i, j + 1) grew,
    so LCS(i, j) is j minus the set bits below j.  Far faster than the cell-by-cell table, and the
    walk back reads the very values Redis compares.

    >>> LcsTable(b"ohmytext", b"mynewtext").length(), LcsTable(b"abc", b"xbc").at(2, 2)
    (6, 1)
    """

    __slots__ = ("rows", "size")

    def __init__(self, a: bytes, b: bytes) -> None:
        matches: dict[int, int] = {}
        for j, char in enumerate(b):
            matches[char] = matches.get(char, 0) | (1 << j)
        full = (1 << len(b)) - 1
        row = full
        self.rows = [row]
        for char in a:
            matched = row & matches.get(char, 0)
            row = ((row + matched) | (row - matched)) & full
            self.rows.append(row)
        self.size = len(b)

    def at(self, i: int, j: int) -> int:
        return j - (self.rows[i] & ((1 << j) - 1)).bit_count()

    def length(self) -> int:
        return self.at(len(self.rows) - 1, self.size)


def _lcs_walk(a: bytes, b: bytes, table: LcsTable, min_len: int,
              with_len: bool) -> tuple[bytes, tuple[Reply, ...]]:
    """Walk the table back from the end, as Redis does: the LCS, and its contiguous matching
    ranges last first, each ``((a_start, a_end), (b_start, b_end)[, length])``, the shorter than
    ``min_len`` left out."""
    common: list[int] = []
    matches: list[Reply] = []
    i, j = len(a), len(b)
    current: list[int] | None = None  # [a_start, a_end, b_start, b_end] of the range being grown
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            common.append(a[i - 1])
            if current is None:
                current = [i - 1, i - 1, j - 1, j - 1]
            else:  # the walk only meets a match right after another one, diagonally: extend it
                current[0] -= 1
                current[2] -= 1
            emit = current[0] == 0 or current[2] == 0
            i, j = i - 1, j - 1
        else:
            if table.at(i - 1, j) > table.at(i, j - 1):
                i -= 1
            else:
                j -= 1
            emit = current is not None
        if emit and current is not None:
            length = current[1] - current[0] + 1
            if min_len == 0 or length >= min_len:
                match: tuple[Reply, ...] = ((current[0], current[1]), (current[2], current[3]))
                matches.append(match + (length,) if with_len else match)
            current = None
    return bytes(reversed(common)), tuple(matches)


__all__ = ["CommandError", "NOT_INTEGER", "WRONGTYPE"]
