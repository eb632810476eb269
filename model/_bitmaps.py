"""Bitmap commands (bitops.c): SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO.

A bitmap is a string value (``bytes``); bit 0 is the most significant bit of the first byte.  An
integer-encoded string is read through its decimal text, which is what the model stores anyway.

Redis checks a bit offset against ``proto-max-bulk-len`` (512 MB unless CONFIG SET changed it, so
offsets up to 2^32 - 1) before it allocates anything; the model does the same (``ctx.config``), so
a refused offset costs nothing.  A valid offset near the limit does make a 512 MB string, as in Redis.

Watch semantics follow the source: SETBIT touches the key only when it grew or the bit changed;
BITFIELD only when one of its writes ran (a FAIL overflow writes nothing) and either grew the
string or changed a value.  A BITFIELD whose writes all FAIL still creates or zero-pads the
string (``lookupStringForBitCommand`` runs first), without touching it.

>>> from redlin.model import Redis
>>> client = Redis().client()
>>> client.execute("SETBIT", "b", 7, 1), client.execute("GET", "b"), client.execute("BITCOUNT", "b")
(0, b'\\x01', 1)
>>> client.execute("BITFIELD", "b", "OVERFLOW", "SAT", "INCRBY", "u4", 0, 100)
(15,)
"""

from __future__ import annotations

from collections.abc import Sequence

from ._commands import command
from ._engine import CommandError, Context
from ._notify import GENERIC, STRING, notify
from ._numbers import parse_int, to_int
from ._reply import SYNTAX, Error, Reply
from ._strings import MAX_STRING

BIT_OFFSET = Error("ERR bit offset is not an integer or out of range")
BIT_VALUE = Error("ERR bit is not an integer or out of range")
BIT_ARGUMENT = Error("ERR The bit argument must be 1 or 0.")
BITFIELD_TYPE = Error("ERR Invalid bitfield type. Use something like i16 u8. "
                      "Note that u64 is not supported but i64 is.")
OVERFLOW_TYPE = Error("ERR Invalid OVERFLOW type specified")
RO_ONLY_GET = Error("ERR BITFIELD_RO only supports the GET subcommand")
NOT_ONE_SOURCE = Error("ERR BITOP NOT must be called with a single source key.")

WRAP, SAT, FAIL = b"wrap", b"sat", b"fail"


def _wrap64(value: int) -> int:
    """``value`` as C's int64 arithmetic leaves it (two's complement wrap-around)."""
    return (value + 2**63) % 2**64 - 2**63


def _bit_offset(text: bytes, bits: int = 0, limit: int = MAX_STRING) -> int:
    """getBitOffsetFromArgument: ``#n`` means n * bits (BITFIELD only); at most 2^32 - 1."""
    hashed = bits > 0 and text[:1] == b"#"
    offset = to_int(text[1:] if hashed else text)
    if offset is None:
        raise CommandError(BIT_OFFSET)
    if hashed:
        offset = _wrap64(offset * bits)
    if offset < 0 or (offset >> 3) >= limit:  # limit: proto-max-bulk-len
        raise CommandError(BIT_OFFSET)
    return offset


def _string(ctx: Context, key: bytes) -> bytes | None:
    return ctx.read_as(key, bytes)  # type: ignore[return-value]


def _grown(value: bytes | None, maxbit: int) -> bytes:
    """lookupStringForBitCommand: the string zero-padded so that bit ``maxbit`` exists."""
    size = (maxbit >> 3) + 1
    value = value or b""
    return value + bytes(size - len(value)) if len(value) < size else value


def _store_quietly(ctx: Context, key: bytes, value: bytes) -> None:
    """dbAdd / sdsgrowzero without signalModifiedKey: the value changes, watchers are not touched."""
    ctx.write_unsignalled(key, value)


# ----------------------------------------------------------------------------- SETBIT GETBIT


@command("setbit", 4, "write denyoom", keys=(1, 1, 1))
def setbit(ctx: Context, argv: Sequence[bytes]) -> Reply:
    offset = _bit_offset(argv[2], limit=ctx.config_int(b"proto-max-bulk-len"))
    on = to_int(argv[3])
    if on is None or on not in (0, 1):
        return BIT_VALUE
    key = argv[1]
    old = _string(ctx, key)
    value = _grown(old, offset)
    byte, mask = offset >> 3, 1 << (7 - (offset & 7))
    was = 1 if value[byte] & mask else 0
    if old is None or len(value) != len(old) or was != on:
        new = value[byte] & ~mask | (mask if on else 0)
        ctx.write(key, value[:byte] + bytes((new,)) + value[byte + 1:])
        notify(ctx, STRING, b"setbit", key)
    return was


@command("getbit", 3, "readonly fast", keys=(1, 1, 1))
def getbit(ctx: Context, argv: Sequence[bytes]) -> Reply:
    offset = _bit_offset(argv[2], limit=ctx.config_int(b"proto-max-bulk-len"))
    value = _string(ctx, argv[1])
    byte = offset >> 3
    if value is None or byte >= len(value):
        return 0
    return 1 if value[byte] & (1 << (7 - (offset & 7))) else 0


# ----------------------------------------------------------------------------- BITCOUNT BITPOS


def _unit(word: bytes) -> bool:
    """BIT (True) or BYTE (False), as the range's unit."""
    lowered = word.lower()
    if lowered not in (b"bit", b"byte"):
        raise CommandError(SYNTAX)
    return lowered == b"bit"


def _clamp(start: int, end: int, total: int) -> tuple[int, int]:
    """Negative indexes count from ``total``; the result lies in [0, total - 1] (or is empty)."""
    if start < 0:
        start += total
    if end < 0:
        end += total
    start, end = max(start, 0), max(end, 0)
    return start, min(end, total - 1)


def _edge_masks(start: int, end: int) -> tuple[int, int]:
    """For a BIT range: the bits of the first and of the last byte that lie outside it."""
    return ~((1 << (8 - (start & 7))) - 1) & 0xFF, (1 << (7 - (end & 7))) - 1


@command("bitcount", -2, "readonly", keys=(1, 1, 1))
def bitcount(ctx: Context, argv: Sequence[bytes]) -> Reply:
    value = _string(ctx, argv[1])
    if value is None:
        return 0  # before any argument is looked at
    first_mask = last_mask = 0
    if len(argv) == 5 and ctx.profile.has("bit-byte-options-7.0"):
        return SYNTAX  # 6.2 knows only BITCOUNT key [start end]
    if len(argv) in (4, 5):
        start, end = parse_int(argv[2]), parse_int(argv[3])
        if start < 0 and end < 0 and start > end:
            return 0  # before BIT|BYTE is checked
        isbit = len(argv) == 5 and _unit(argv[4])
        start, end = _clamp(start, end, len(value) * 8 if isbit else len(value))
        if isbit and start <= end:
            first_mask, last_mask = _edge_masks(start, end)
            start, end = start >> 3, end >> 3
    elif len(argv) == 2:
        start, end = 0, len(value) - 1
    else:
        return SYNTAX
    if start > end:
        return 0
    count = int.from_bytes(value[start:end + 1], "big").bit_count()
    return count - (value[start] & first_mask).bit_count() - (value[end] & last_mask).bit_count()


def _first_bit(data: bytes, bit: int) -> int:
    """redisBitpos: where the first ``bit`` is; past the end for a 0 not found (the string is
    zero-padded on the right), -1 for a 1 not found."""
    skip = 0 if bit else 0xFF
    for index, byte in enumerate(data):
        if byte != skip:
            found = byte if bit else byte ^ 0xFF
            return index * 8 + 8 - found.bit_length()
    return -1 if bit else len(data) * 8


@command("bitpos", -3, "readonly", keys=(1, 1, 1))
def bitpos(ctx: Context, argv: Sequence[bytes]) -> Reply:
    bit = parse_int(argv[2])
    if bit not in (0, 1):
        return BIT_ARGUMENT
    value = _string(ctx, argv[1])
    if value is None:
        return -1 if bit else 0  # a missing key is an endless run of 0 bits
    end_given = False
    first_mask = last_mask = 0
    if len(argv) == 6 and ctx.profile.has("bit-byte-options-7.0"):
        return SYNTAX  # 6.2 knows only BITPOS key bit [start [end]]
    if len(argv) in (4, 5, 6):
        start = parse_int(argv[3])
        isbit = len(argv) == 6 and _unit(argv[5])
        total = len(value) * 8 if isbit else len(value)
        if len(argv) >= 5:
            end, end_given = parse_int(argv[4]), True
        else:
            end = total + 7 if isbit else total - 1
        start, end = _clamp(start, end, total)
        if isbit and start <= end:
            first_mask, last_mask = _edge_masks(start, end)
            start, end = start >> 3, end >> 3
    elif len(argv) == 3:
        start, end = 0, len(value) - 1
    else:
        return SYNTAX
    if start > end:
        return -1  # an empty range holds neither a 0 nor a 1
    return _bitpos_in(value, bit, start, end, first_mask, last_mask, end_given)


def _bitpos_in(value: bytes, bit: int, start: int, end: int, first_mask: int, last_mask: int,
               end_given: bool) -> int:
    """bitposCommand's scan of bytes start..end, the edge bits outside a BIT range masked off."""
    remaining = end - start + 1

    def edge(byte: int, mask: int) -> bytes:  # the bits outside the range read as "not found"
        return bytes((byte & ~mask & 0xFF,)) if bit else bytes((byte | mask,))

    pos = -1
    done = False
    if first_mask:
        mask = first_mask | (last_mask if remaining == 1 else 0)
        pos = _first_bit(edge(value[start], mask), bit)
        done = remaining == 1 or pos not in (-1, 8)
        if not done:
            start, remaining = start + 1, remaining - 1
    if not done:
        middle = remaining - (1 if last_mask else 0)
        if middle > 0:
            pos = _first_bit(value[start:start + middle], bit)
            done = remaining == middle or pos not in (-1, middle * 8)
            if not done:
                start, remaining = start + middle, remaining - middle
        if not done:
            pos = _first_bit(edge(value[end], last_mask), bit)
    if end_given and bit == 0 and pos == remaining * 8:
        return -1  # the 0 found lies past an end the caller gave
    return pos + start * 8 if pos != -1 else -1


# ----------------------------------------------------------------------------- BITOP


@command("bitop", -4, "write denyoom", keys=(2, -1, 1))
def bitop(ctx: Context, argv: Sequence[bytes]) -> Reply:
    op = argv[1].lower()
    if op not in (b"and", b"or", b"xor", b"not"):
        return SYNTAX
    if op == b"not" and len(argv) != 4:
        return NOT_ONE_SOURCE
    sources = [_string(ctx, key) or b"" for key in argv[3:]]
    size = max(len(source) for source in sources)
    target = argv[2]
    if not size:
        if ctx.delete(target):
            notify(ctx, GENERIC, b"del", target)
        return 0
    numbers = [int.from_bytes(source.ljust(size, b"\x00"), "big") for source in sources]
    result = numbers[0]
    for number in numbers[1:]:
        if op == b"and":
            result &= number
        elif op == b"or":
            result |= number
        else:
            result ^= number
    if op == b"not":
        result ^= (1 << (8 * size)) - 1
    ctx.replace(target, result.to_bytes(size, "big"))
    notify(ctx, STRING, b"set", target)
    return size


# ----------------------------------------------------------------------------- BITFIELD


class _Op:
    """One parsed BITFIELD operation (GET, SET or INCRBY)."""

    __slots__ = ("opcode", "signed", "bits", "offset", "number", "overflow")

    def __init__(self, opcode: bytes, signed: bool, bits: int, offset: int, number: int, overflow: bytes) -> None:
        self.opcode, self.signed, self.bits = opcode, signed, bits
        self.offset, self.number, self.overflow = offset, number, overflow


def _bitfield_type(text: bytes) -> tuple[bool, int]:
    """getBitfieldTypeFromArgument: i1..i64 or u1..u63."""
    signed = text[:1] == b"i"
    bits = to_int(text[1:]) if text[:1] in (b"i", b"u") else None
    if bits is None or bits < 1 or bits > (64 if signed else 63):
        raise CommandError(BITFIELD_TYPE)
    return signed, bits


def _parse_bitfield(argv: Sequence[bytes], limit: int = MAX_STRING) -> list[_Op]:
    """The operations in order, each with the OVERFLOW mode in force where it appears."""
    ops: list[_Op] = []
    overflow = WRAP
    j = 2
    while j < len(argv):
        left = len(argv) - j - 1
        word = argv[j].lower()
        if word == b"overflow" and left >= 1:
            overflow = argv[j + 1].lower()
            if overflow not in (WRAP, SAT, FAIL):
                raise CommandError(OVERFLOW_TYPE)
            j += 2
            continue
        if not ((word == b"get" and left >= 2) or (word in (b"set", b"incrby") and left >= 3)):
            raise CommandError(SYNTAX)
        signed, bits = _bitfield_type(argv[j + 1])
        offset = _bit_offset(argv[j + 2], bits, limit)
        number = 0 if word == b"get" else parse_int(argv[j + 3])
        ops.append(_Op(word, signed, bits, offset, number, overflow))
        j += 3 if word == b"get" else 4
    return ops


def _read_field(value: bytes | bytearray, offset: int, bits: int, signed: bool) -> int:
    """get(Un)SignedBitfield; bits past the end of the string read as 0."""
    first, last = offset >> 3, (offset + bits - 1) >> 3
    chunk = value[first:last + 1].ljust(last - first + 1, b"\x00")
    shift = (last - first + 1) * 8 - (offset - first * 8) - bits
    field = (int.from_bytes(chunk, "big") >> shift) & ((1 << bits) - 1)
    if signed and field >> (bits - 1):
        field -= 1 << bits
    return field


def _write_field(value: bytearray, offset: int, bits: int, number: int) -> None:
    """setUnsignedBitfield: the low ``bits`` bits of ``number`` at bit ``offset`` (in bounds)."""
    first, last = offset >> 3, (offset + bits - 1) >> 3
    width = (last - first + 1) * 8
    shift = width - (offset - first * 8) - bits
    mask = ((1 << bits) - 1) << shift
    old = int.from_bytes(value[first:last + 1], "big")
    new = (old & ~mask) | ((number << shift) & mask)
    value[first:last + 1] = new.to_bytes(width // 8, "big")


def _overflow(op: _Op, value: int, incr: int) -> int:
    """check(Un)SignedBitfieldOverflow's verdict on ``value + incr``: 1 over, -1 under, 0 fits.

    Its bounds on the increment are computed in C's int64 and may wrap: a SET of a value far below
    a narrow signed field's minimum (SET i32 -2^63) counts as an overflow, so SAT stores the max.
    """
    bits = op.bits
    if op.signed:
        high = (1 << (bits - 1)) - 1
        low = -high - 1
        max_incr, min_incr = _wrap64(high - value), _wrap64(low - value)
        wide = bits == 64
        if value > high or (not wide and incr > max_incr) or (value >= 0 and incr > 0 and incr > max_incr):
            return 1
        if value < low or (not wide and incr < min_incr) or (value < 0 and incr < 0 and incr < min_incr):
            return -1
        return 0
    high = (1 << bits) - 1
    if value > high or (incr > 0 and incr > _wrap64(high - value)):
        return 1
    return -1 if incr < 0 and incr < _wrap64(-value) else 0


def _fit(op: _Op, value: int, incr: int) -> int | None:
    """What the field stores for ``value + incr`` under the op's OVERFLOW mode (None: FAIL)."""
    verdict = _overflow(op, value, incr)
    if not verdict:
        return value + incr
    if op.overflow == FAIL:
        return None
    bits = op.bits
    if op.overflow == SAT:
        if op.signed:
            return (1 << (bits - 1)) - 1 if verdict > 0 else -(1 << (bits - 1))
        return (1 << bits) - 1 if verdict > 0 else 0
    wrapped = (value + incr) % (1 << bits)
    return wrapped - (1 << bits) if op.signed and wrapped >> (bits - 1) else wrapped


def _bitfield(ctx: Context, argv: Sequence[bytes], readonly: bool) -> Reply:
    ops = _parse_bitfield(argv, ctx.config_int(b"proto-max-bulk-len"))
    key = argv[1]
    writes = [op for op in ops if op.opcode != b"get"]
    if not writes:
        value = _string(ctx, key) or b""
        return tuple(_read_field(value, op.offset, op.bits, op.signed) for op in ops)
    if readonly:
        return RO_ONLY_GET
    old = _string(ctx, key)
    grown = _grown(old, max(op.offset + op.bits - 1 for op in writes))
    dirty = old is None or len(grown) != len(old)
    buffer = bytearray(grown)
    replies: list[Reply] = []
    changes = 0
    for op in ops:
        current = _read_field(buffer, op.offset, op.bits, op.signed)
        if op.opcode == b"get":
            replies.append(current)
            continue
        # A SET value is a C int64: cast to uint64 for an unsigned field (-1 is 2^64 - 1).
        if op.opcode == b"incrby":
            new = _fit(op, current, op.number)
        else:
            new = _fit(op, op.number + (1 << 64) if op.number < 0 and not op.signed else op.number, 0)
        if new is None:
            replies.append(None)
            continue
        replies.append(new if op.opcode == b"incrby" else current)
        _write_field(buffer, op.offset, op.bits, new)
        if dirty or new != current:
            changes += 1
    if changes:
        ctx.write(key, bytes(buffer))
        notify(ctx, STRING, b"setbit", key)
    elif dirty:
        _store_quietly(ctx, key, bytes(buffer))
    return tuple(replies)


@command("bitfield", -2, "write denyoom", keys=(1, 1, 1))
def bitfield(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _bitfield(ctx, argv, readonly=False)


@command("bitfield_ro", -2, "readonly fast", keys=(1, 1, 1))
def bitfield_ro(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _bitfield(ctx, argv, readonly=True)


__all__ = ["BIT_OFFSET", "BITFIELD_TYPE", "RO_ONLY_GET"]
