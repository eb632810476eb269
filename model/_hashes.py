"""Hash commands (t_hash.c): HSET HSETNX HGET HMGET HMSET HDEL HGETALL HKEYS HVALS HINCRBY
HINCRBYFLOAT HLEN HEXISTS HSTRLEN.  Sheet items D13, D16, W7, W8.

A hash is an ``immutables.Map`` field -> value.  HGETALL, HKEYS and HVALS reply in Redis's
unspecified order; the model sorts them (flag ``unordered``) so it stays deterministic.

HINCRBYFLOAT computes in the x87 80-bit ``long double`` Redis uses and prints with ``%.17Lf``
(``ld2string``'s human mode); :func:`parse_long_double` and :func:`format_long_double` reproduce
both exactly with rational arithmetic.  HRANDFIELD is random and left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction

from immutables import Map

from ._commands import command
from ._engine import CommandError, Context
from ._notify import GENERIC, HASH, notify
from ._numbers import LLONG_MAX, LLONG_MIN, parse_int
from ._reply import OK, OVERFLOW, Error, Reply, arity_error

HASH_NOT_INTEGER = Error("ERR hash value is not an integer")
HASH_NOT_FLOAT = Error("ERR hash value is not a float")

EMPTY_HASH: Map[bytes, bytes] = Map()


def _get_hash(ctx: Context, key: bytes) -> Map[bytes, bytes] | None:
    return ctx.read_as(key, Map)  # type: ignore[return-value]


@command("hset", -4, "write denyoom fast", keys=(1, 1, 1))
def hset(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _hset(ctx, argv, "hset")


@command("hmset", -4, "write denyoom fast", keys=(1, 1, 1))
def hmset(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _hset(ctx, argv, "hmset")


def _hset(ctx: Context, argv: Sequence[bytes], name: str) -> Reply:
    if len(argv) % 2:
        return arity_error(name)  # checked before the type (D13)
    key = argv[1]
    fields = _get_hash(ctx, key) or EMPTY_HASH
    created = 0
    for i in range(2, len(argv), 2):
        field = argv[i]
        if field not in fields:
            created += 1
        fields = fields.set(field, argv[i + 1])
    ctx.write(key, fields)  # touches even when every value was already there (W8)
    notify(ctx, HASH, b"hset", key)
    return created if name == "hset" else OK


@command("hsetnx", 4, "write denyoom fast", keys=(1, 1, 1))
def hsetnx(ctx: Context, argv: Sequence[bytes]) -> Reply:
    key, field = argv[1], argv[2]
    fields = _get_hash(ctx, key) or EMPTY_HASH
    if field in fields:
        return 0
    ctx.write(key, fields.set(field, argv[3]))
    notify(ctx, HASH, b"hset", key)
    return 1


@command("hget", 3, "readonly fast", keys=(1, 1, 1))
def hget(ctx: Context, argv: Sequence[bytes]) -> Reply:
    fields = _get_hash(ctx, argv[1])
    return None if fields is None else fields.get(argv[2])


@command("hmget", -3, "readonly fast", keys=(1, 1, 1))
def hmget(ctx: Context, argv: Sequence[bytes]) -> Reply:
    fields = _get_hash(ctx, argv[1]) or EMPTY_HASH
    return tuple(fields.get(field) for field in argv[2:])


@command("hdel", -3, "write fast", keys=(1, 1, 1))
def hdel(ctx: Context, argv: Sequence[bytes]) -> Reply:
    key = argv[1]
    fields = _get_hash(ctx, key)
    if fields is None:
        return 0
    deleted = 0
    for field in argv[2:]:
        if field in fields:
            fields = fields.delete(field)
            deleted += 1
    if deleted:  # nothing deleted, nothing touched (W7)
        ctx.write(key, fields)  # the last field deletes the key
        notify(ctx, HASH, b"hdel", key)
        if not fields:
            notify(ctx, GENERIC, b"del", key)
    return deleted


@command("hgetall", 2, "readonly unordered pairs", keys=(1, 1, 1))
def hgetall(ctx: Context, argv: Sequence[bytes]) -> Reply:
    fields = _get_hash(ctx, argv[1])
    if fields is None:
        return ()
    flat: list[bytes] = []
    for field, value in sorted(fields.items()):
        flat += (field, value)
    return tuple(flat)


@command("hkeys", 2, "readonly unordered", keys=(1, 1, 1))
def hkeys(ctx: Context, argv: Sequence[bytes]) -> Reply:
    fields = _get_hash(ctx, argv[1])
    return () if fields is None else tuple(sorted(fields.keys()))


@command("hvals", 2, "readonly unordered", keys=(1, 1, 1))
def hvals(ctx: Context, argv: Sequence[bytes]) -> Reply:
    fields = _get_hash(ctx, argv[1])
    return () if fields is None else tuple(sorted(fields.values()))


@command("hlen", 2, "readonly fast", keys=(1, 1, 1))
def hlen(ctx: Context, argv: Sequence[bytes]) -> Reply:
    fields = _get_hash(ctx, argv[1])
    return 0 if fields is None else len(fields)


@command("hexists", 3, "readonly fast", keys=(1, 1, 1))
def hexists(ctx: Context, argv: Sequence[bytes]) -> Reply:
    fields = _get_hash(ctx, argv[1])
    return int(fields is not None and argv[2] in fields)


@command("hstrlen", 3, "readonly fast", keys=(1, 1, 1))
def hstrlen(ctx: Context, argv: Sequence[bytes]) -> Reply:
    fields = _get_hash(ctx, argv[1])
    value = None if fields is None else fields.get(argv[2])
    return 0 if value is None else len(value)


@command("hincrby", 4, "write denyoom fast", keys=(1, 1, 1))
def hincrby(ctx: Context, argv: Sequence[bytes]) -> Reply:
    by = parse_int(argv[3])  # before the type check
    key, field = argv[1], argv[2]
    fields = _get_hash(ctx, key) or EMPTY_HASH
    old = fields.get(field)
    value = 0 if old is None else parse_int(old, HASH_NOT_INTEGER)
    if (by < 0 and value < 0 and by < LLONG_MIN - value) or (by > 0 and value > 0 and by > LLONG_MAX - value):
        return OVERFLOW
    value += by
    ctx.write(key, fields.set(field, b"%d" % value))  # touches even for +0 (W8)
    notify(ctx, HASH, b"hincrby", key)
    return value


@command("hincrbyfloat", 4, "write denyoom fast", keys=(1, 1, 1))
def hincrbyfloat(ctx: Context, argv: Sequence[bytes]) -> Reply:
    by = parse_long_double(argv[3])
    if by is None:
        return Error("ERR value is not a valid float")
    if isinstance(by, float):  # an infinity
        return Error("ERR value is NaN or Infinity")
    key, field = argv[1], argv[2]
    fields = _get_hash(ctx, key) or EMPTY_HASH
    old = fields.get(field)
    value: Fraction | float = Fraction(0)
    if old is not None:
        parsed = parse_long_double(old)
        if parsed is None:
            return HASH_NOT_FLOAT
        value = parsed
    if isinstance(value, float):
        return Error("ERR increment would produce NaN or Infinity")
    total = round_long_double(value + by)
    if isinstance(total, float):
        return Error("ERR increment would produce NaN or Infinity")
    text = format_long_double(total)
    ctx.write(key, fields.set(field, text))
    notify(ctx, HASH, b"hincrbyfloat", key)
    return text


# --------------------------------------------------------------------- x87 long double

# The 80-bit extended format: a 64-bit significand, normal exponents down to 2**-16382,
# subnormals down to 2**-16445, the largest finite value just under 2**16384.
_SIGNIFICAND_BITS = 64
_MIN_NORMAL_EXP = -16382
_MAX_FINITE = Fraction((2**64 - 1) * 2 ** (16384 - 64))
_INF = float("inf")

# What strtold accepts (decimal, hex, inf/infinity, nan), the whole string.
_DECIMAL = re.compile(rb"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")
_HEX = re.compile(rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?[0-9]+))?")
_SPECIAL = re.compile(rb"([+-]?)(inf|infinity|nan)", re.IGNORECASE)


def round_long_double(value: Fraction) -> Fraction | float:
    """``value`` rounded (to nearest, ties to even) to an x87 long double; ±inf on overflow."""
    rounded = _round(abs(value.numerator), value.denominator)
    return rounded if value >= 0 else -rounded


def _round(num: int, den: int) -> Fraction | float:
    """The non-negative ``num / den`` rounded to a long double."""
    if num == 0:
        return Fraction(0)
    exp = num.bit_length() - den.bit_length()  # num/den is in [2**(exp-1), 2**(exp+1))
    if (num << max(-exp, 0)) < (den << max(exp, 0)):
        exp -= 1
    quantum = max(exp, _MIN_NORMAL_EXP) - (_SIGNIFICAND_BITS - 1)
    if quantum >= 0:
        units, rest = divmod(num, den << quantum)
        rest, den = rest * 2, den << quantum
    else:
        units, rest = divmod(num << -quantum, den)
        rest *= 2
    if rest > den or (rest == den and units & 1):  # to nearest, ties to even
        units += 1
    rounded = Fraction(units << quantum) if quantum >= 0 else Fraction(units, 1 << -quantum)
    return _INF if rounded > _MAX_FINITE else rounded


def parse_long_double(text: bytes) -> Fraction | float | None:
    """What Redis's ``string2ld`` reads (strtold, whole string, no leading space, no NaN, no
    overflow, no underflow to zero): a Fraction, ±inf as a float, or None."""
    if not text or len(text) >= 5 * 1024:
        return None
    match = _DECIMAL.fullmatch(text)
    if match is not None:
        sign, whole, fraction, exponent = match.groups()
        if not whole and not fraction:
            return None
        digits = (whole + (fraction or b"")).lstrip(b"0")
        shift = _exponent(exponent) - len(fraction or b"")
        if not digits:
            return Fraction(0)
        magnitude = len(digits) + shift  # value < 10**magnitude
        if magnitude > 4940:
            return None  # overflow (ERANGE)
        if magnitude < -4960:
            return None  # underflow to zero (ERANGE)
        number = _decimal_int(digits)
        value = _round(number * 10**shift, 1) if shift >= 0 else _round(number, 10**-shift)
    else:
        match = _HEX.fullmatch(text)
        if match is None:
            special = _SPECIAL.fullmatch(text)
            if special is None or special.group(2).lower() == b"nan":
                return None
            return -_INF if special.group(1) == b"-" else _INF
        sign, whole, fraction, exponent = match.groups()
        if not whole and not fraction:
            return None
        digits = (whole + (fraction or b"")).lstrip(b"0")
        shift = _exponent(exponent) - 4 * len(fraction or b"")
        if not digits:
            return Fraction(0)
        magnitude = 4 * len(digits) + shift  # value < 2**magnitude
        if magnitude > 16400:
            return None
        if magnitude < -16500:
            return None
        number = int(digits, 16)
        value = _round(number << shift, 1) if shift >= 0 else _round(number, 1 << -shift)
    if isinstance(value, float) or value == 0:
        return None  # ERANGE: overflow, or underflow to zero
    return -value if sign == b"-" else value


def format_long_double(value: Fraction) -> bytes:
    """``ld2string(..., LD_STR_HUMAN)``: ``%.17Lf`` with trailing zeros (and a bare '.') cut, "-0" -> "0"."""
    scaled = abs(value) * 10**17
    units = round(scaled)  # glibc's printf rounds the exact value, ties to even
    digits = _int_digits(units).rjust(18, b"0")
    text = digits[:-17] + b"." + digits[-17:]
    text = text.rstrip(b"0").rstrip(b".")
    if value < 0 and text != b"0":
        text = b"-" + text
    return text


def _exponent(text: bytes | None) -> int:
    if text is None:
        return 0
    if len(text.lstrip(b"+-").lstrip(b"0")) > 18:  # far beyond any long double: saturate
        return -(10**18) if text.startswith(b"-") else 10**18
    return int(text)


# Python refuses int <-> str conversions beyond 4300 digits; long doubles reach ~4950.
_CHUNK = 4000
_CHUNK_SCALE = 10**_CHUNK


def _decimal_int(digits: bytes) -> int:
    value = 0
    for start in range(0, len(digits), _CHUNK):
        chunk = digits[start : start + _CHUNK]
        value = value * 10 ** len(chunk) + int(chunk)
    return value


def _int_digits(value: int) -> bytes:
    if value < _CHUNK_SCALE:
        return b"%d" % value
    high, low = divmod(value, _CHUNK_SCALE)
    return _int_digits(high) + (b"%d" % low).rjust(_CHUNK, b"0")


__all__ = ["CommandError", "format_long_double", "parse_long_double", "round_long_double"]
