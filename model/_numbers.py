"""Redis's number parsing and formatting, byte for byte (util.c: string2ll, string2ld, %.17g)."""

from __future__ import annotations

import math
import re

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
