"""Redis's number parsing and formatting, byte for byte (util.c: string2ll, string2ld, %.17g)."""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable, Sequence

from ._engine import CommandError
from ._reply import NOT_FLOAT, NOT_INTEGER, Error

LLONG_MIN = -(2**63)
LLONG_MAX = 2**63 - 1

# string2ll: optional '-', then either "0" alone or a digit 1-9 followed by digits.  No '+', no
# spaces, no leading zeros, no "-0".
_INT = re.compile(rb"-?[1-9][0-9]*|0")


def to_int(text: bytes) -> int | None:
    """The integer ``text`` spells in Redis's strict syntax, or None."""
    if len(text) > 20 or not _INT.fullmatch(text):
        return None
    value = int(text)
    if value < LLONG_MIN or value > LLONG_MAX:
        return None
    return value


def parse_int(text: bytes, error: Error = NOT_INTEGER) -> int:
    """Like :func:`to_int`, raising ``error`` (by default "value is not an integer or out of range")."""
    value = to_int(text)
    if value is None:
        raise CommandError(error)
    return value


# strtod accepts decimal and hex floats, "inf"/"infinity"/"nan" in any case; Redis rejects a
# leading space, trailing garbage and NaN.
_FLOAT = re.compile(
    rb"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan|"
    rb"0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?)",
    re.IGNORECASE,
)


def to_float(text: bytes) -> float | None:
    """The double ``text`` spells as Redis's ``getDoubleFromObject`` reads it, or None."""
    if not _FLOAT.fullmatch(text):
        return None
    lowered = text.lower()
    if b"x" in lowered:
        sign = -1.0 if lowered.startswith(b"-") else 1.0
        body = lowered.lstrip(b"+-")
        if b"p" not in body:
            body += b"p0"
        value = sign * float.fromhex(body.decode())
    else:
        value = float(text)
    if math.isnan(value):
        return None
    if math.isinf(value) and b"inf" not in lowered:
        return None  # overflow (ERANGE)
    if value == 0:  # underflow to zero (ERANGE) is refused: "1e-400", but "0e-400" is 0
        digits = lowered.lstrip(b"+-")
        digits = digits[2:].split(b"p")[0] if digits.startswith(b"0x") else digits.split(b"e")[0]
        if re.search(rb"[1-9a-f]", digits):
            return None
    return value


def parse_float(text: bytes, error: Error = NOT_FLOAT) -> float:
    value = to_float(text)
    if value is None:
        raise CommandError(error)
    return value


def format_double(value: float) -> bytes:
    """A double as Redis replies it (``addReplyDouble``: ``%.17g``, ``inf``/``-inf``)."""
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    return b"%.17g" % value


# ---------------------------------------------------------------------------- Redis 7.2's doubles
# Redis 7.2 replies doubles with ``d2string``: whole numbers within +-2^62 in plain digits, anything
# else by ``fpconv_dtoa``, Florian Loitsch's Grisu2 (deps/fpconv).  Grisu2 is not always shortest
# (1e23 comes out as 99999999999999990000000), so it is rebuilt here step by step rather than
# taken from Python's repr.  C's unsigned 64-bit arithmetic is kept with ``_U64`` masks.

_U64 = (1 << 64) - 1
_HIDDEN = 1 << 52
_TWO_TO_62 = float(LLONG_MAX // 2)


def _cached_power(k: int) -> tuple[int, int]:
    """10**k as a normalised 64-bit mantissa and binary exponent, rounded to nearest (fpconv's table)."""
    if k >= 0:
        exact, shift = 10**k, 0
    else:
        shift = 64 + (10 ** -k).bit_length()
        exact = (1 << shift) // 10 ** -k  # floor; the rounding below looks at the remainder
        remainder = (1 << shift) % 10 ** -k
    excess = exact.bit_length() - 64
    if k >= 0:
        frac = exact >> excess if excess > 0 else exact << -excess
        round_up = excess > 0 and (exact >> (excess - 1)) & 1
        frac, exp = frac + round_up, excess
    else:
        frac = exact >> excess
        dropped = exact & ((1 << excess) - 1)
        half = 1 << (excess - 1)
        round_up = dropped > half or (dropped == half and remainder > 0) or (dropped == half and frac & 1)
        frac, exp = frac + int(round_up), excess - shift
    if frac >> 64:
        frac, exp = frac >> 1, exp + 1
    return frac, exp


_POWERS = [_cached_power(-348 + 8 * i) for i in range(87)]


def _multiply(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    low = 0xFFFFFFFF
    ah_bl = (a[0] >> 32) * (b[0] & low)
    al_bh = (a[0] & low) * (b[0] >> 32)
    al_bl = (a[0] & low) * (b[0] & low)
    ah_bh = (a[0] >> 32) * (b[0] >> 32)
    tmp = (ah_bl & low) + (al_bh & low) + (al_bl >> 32) + (1 << 31)
    return (ah_bh + (ah_bl >> 32) + (al_bh >> 32) + (tmp >> 32)) & _U64, a[1] + b[1] + 64


def _grisu2(value: float) -> tuple[list[int], int]:
    """The digits of ``value`` (> 0) and K, such that value ~ digits * 10**K."""
    bits = struct.unpack("<Q", struct.pack("<d", value))[0]
    frac, exp = bits & (_HIDDEN - 1), (bits >> 52) & 0x7FF
    if exp:
        frac, exp = frac + _HIDDEN, exp - 1075
    else:
        exp = -1074
    # the boundaries m+ and m-, normalised to m+'s exponent
    upper_frac, upper_exp = (frac << 1) + 1, exp - 1
    while not upper_frac & (_HIDDEN << 1):
        upper_frac, upper_exp = upper_frac << 1, upper_exp - 1
    upper_frac, upper_exp = (upper_frac << 10) & _U64, upper_exp - 10
    l_shift = 2 if frac == _HIDDEN else 1
    lower_frac, lower_exp = (frac << l_shift) - 1, exp - l_shift
    lower_frac = (lower_frac << (lower_exp - upper_exp)) & _U64
    while not frac & _HIDDEN:
        frac, exp = frac << 1, exp - 1
    frac, exp = (frac << 11) & _U64, exp - 11
    approx = int(-(upper_exp + 87) * 0.30102999566398114)
    index = (approx + 348) // 8
    while True:
        current = upper_exp + _POWERS[index][1] + 64
        if current < -60:
            index += 1
        elif current > -32:
            index -= 1
        else:
            break
    power = _POWERS[index]
    w = _multiply((frac, exp), power)
    upper = _multiply((upper_frac, upper_exp), power)
    lower = _multiply((lower_frac, lower_exp), power)
    lower, upper = (lower[0] + 1, lower[1]), (upper[0] - 1, upper[1])
    return _generate_digits(w[0], upper, lower[0], 348 - 8 * index)


def _round_digit(digits: list[int], delta: int, rem: int, kappa: int, frac: int) -> None:
    while rem < frac and ((delta - rem) & _U64) >= kappa and (
        (rem + kappa) & _U64 < frac or ((frac - rem) & _U64) > ((rem + kappa - frac) & _U64)
    ):
        digits[-1] -= 1
        rem = (rem + kappa) & _U64


def _generate_digits(w_frac: int, upper: tuple[int, int], lower_frac: int, k: int) -> tuple[list[int], int]:
    wfrac = (upper[0] - w_frac) & _U64
    delta = (upper[0] - lower_frac) & _U64
    shift = -upper[1]
    one = 1 << shift
    part1, part2 = upper[0] >> shift, upper[0] & (one - 1)
    digits: list[int] = []
    kappa = 10
    for power in range(9, -1, -1):
        divisor = 10**power
        digit, part1 = divmod(part1, divisor)
        if digit or digits:
            digits.append(digit)
        kappa -= 1
        rest = ((part1 << shift) + part2) & _U64
        if rest <= delta:
            _round_digit(digits, delta, rest, (divisor << shift) & _U64, wfrac)
            return digits, k + kappa
    unit = 1
    while True:
        part2, delta = (part2 * 10) & _U64, (delta * 10) & _U64
        kappa -= 1
        digit = part2 >> shift
        if digit or digits:
            digits.append(digit)
        part2 &= one - 1
        unit *= 10
        if part2 < delta:
            _round_digit(digits, delta, part2, one, (wfrac * unit) & _U64)
            return digits, k + kappa


def format_double_shortest(value: float) -> bytes:
    """A double as Redis 7.2 replies it (``d2string``: integers plain, else ``fpconv_dtoa``).

    >>> [format_double_shortest(x) for x in (0.1, 3.0, 1e23, 1.5e300, 1e-7, -0.0)]
    [b'0.1', b'3', b'99999999999999990000000', b'1.5e+300', b'1e-7', b'-0']
    """
    if math.isnan(value):
        return b"nan"
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    if value == 0:
        return b"-0" if math.copysign(1.0, value) < 0 else b"0"
    if abs(value) <= _TWO_TO_62 and value == int(value):  # double2ll: (double)(LLONG_MAX/2) is 2^62
        return b"%d" % int(value)
    return fpconv_dtoa(value)


def fpconv_dtoa(value: float) -> bytes:
    """Redis 7.2's ``fpconv_dtoa``: Grisu2 digits, plain up to about 7 extra zeros, else ``e``.

    >>> fpconv_dtoa(2.0**62), fpconv_dtoa(-0.0), fpconv_dtoa(12.0)
    (b'4611686018427388000', b'-0', b'12')
    """
    negative = math.copysign(1.0, value) < 0
    sign = "-" if negative else ""
    if math.isnan(value) or math.isinf(value):
        return (sign + ("nan" if math.isnan(value) else "inf")).encode()
    if value == 0:
        return (sign + "0").encode()
    digits, k = _grisu2(-value if negative else value)
    text = "".join(map(str, digits))
    ndigits = len(digits)
    exponent = abs(k + ndigits - 1)
    if k >= 0 and exponent < ndigits + 7:
        return (sign + text + "0" * k).encode()
    if k < 0 and (k > -7 or exponent < 4):
        offset = ndigits + k
        if offset <= 0:
            return f"{sign}0.{'0' * -offset}{text}".encode()
        return f"{sign}{text[:offset]}.{text[offset:]}".encode()
    text = text[: 18 - negative]
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    return f"{sign}{mantissa}e{'-' if k + ndigits - 1 < 0 else '+'}{exponent}".encode()


def counted_keys(at: int, fixed: int = 0) -> Callable[[Sequence[bytes]], tuple[bytes, ...]]:
    """A ``keys_fn`` for commands whose keys follow a numkeys word at ``at`` (LMPOP, ZUNION...),
    plus ``fixed`` keys before it (ZUNIONSTORE's destination); none if numkeys is invalid."""

    def keys(argv: Sequence[bytes]) -> tuple[bytes, ...]:
        count = to_int(argv[at]) if len(argv) > at else None
        if count is None or count < 1 or count > len(argv) - at - 1:
            return ()
        return tuple(argv[1 : 1 + fixed]) + tuple(argv[at + 1 : at + 1 + count])

    return keys
