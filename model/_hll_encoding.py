"""HyperLogLog strings as Redis 7.0's hyperloglog.c lays them out, byte for byte.

A HyperLogLog is a plain string: a 16-byte header (``"HYLL"``, the encoding, three unused bytes,
the cached cardinality as 8 little-endian bytes whose top bit says "stale"), then either the
*dense* registers (16384 of 6 bits, 12288 bytes) or the *sparse* opcodes (ZERO ``00xxxxxx``: 1-64
zero registers, XZERO ``01xxxxxx yyyyyyyy``: 1-16384 zero registers, VAL ``1vvvvvxx``: 1-4
registers of value 1-32).  Elements are hashed with MurmurHash64A (seed ``0xadc83b19``): the low
14 bits pick the register, the run of zeros above them gives the value.

Values are immutable ``bytes`` in the model; a command works on a :class:`Sketch`, a mutable copy
that imitates the sds buffer (with its NUL terminator: Redis reads an XZERO cut short by the end of
the string against it) so that the in-place edits of ``hllSparseSet`` can be replayed exactly.

Validity follows the live server, Debian's 7.0.15, which carries the CVE-2025-32023 fix: opcodes
that run past register 16383 make the value corrupted, even when the one running over is a final
VAL (the 7.0.15 tag accepted that).  One corner is not modelled: when PFADD splits an XZERO cut
short by the end of the string, Redis writes the last byte of the new opcodes over the NUL after
the string, where GET does not show it but later commands read it; the model reads a NUL there.

>>> sketch = Sketch(new_hll())
>>> pattern(b"x")
(16374, 2)
>>> sketch.set(16374, 2)[0], sketch.value()[16:].hex()
(1, '7ff58408')
>>> estimate(sketch.histogram()[0])
1
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

HDR = 16  # sizeof(struct hllhdr)
P = 14
Q = 64 - P
REGISTERS = 1 << P
DENSE_BYTES = REGISTERS * 6 // 8
DENSE_SIZE = HDR + DENSE_BYTES
DENSE, SPARSE = 0, 1
SPARSE_VAL_MAX_VALUE = 32
SPARSE_VAL_MAX_LEN = 4
SPARSE_ZERO_MAX_LEN = 64
SPARSE_XZERO_MAX_LEN = 16384
SPARSE_MAX_BYTES = 3000  # hll-sparse-max-bytes, the default
ALPHA_INF = 0.721347520444481703680  # 0.5 / ln(2)
SEED = 0xADC83B19
_M64 = (1 << 64) - 1
_MURMUR_M = 0xC6A4A7935BD1E995
_STALE = 0x80  # in the last byte of the cached cardinality


class Corrupted(Exception):
    """The sparse opcodes do not cover exactly 16384 registers (Redis's INVALIDOBJ)."""


def murmur64a(data: bytes, seed: int = SEED) -> int:
    """MurmurHash64A as hyperloglog.c writes it (endian-neutral: blocks read little-endian).

    >>> hex(murmur64a(b"")), hex(murmur64a(b"hello world!"))
    ('0xd8dfea6585bc9732', '0xfc444011f57220c')
    """
    m = _MURMUR_M
    size = len(data)
    h = seed ^ (size * m & _M64)
    whole = size - (size & 7)
    for at in range(0, whole, 8):
        k = int.from_bytes(data[at : at + 8], "little") * m & _M64
        k ^= k >> 47
        k = k * m & _M64
        h = (h ^ k) * m & _M64
    if size & 7:
        h = (h ^ int.from_bytes(data[whole:], "little")) * m & _M64
    h ^= h >> 47
    h = h * m & _M64
    return h ^ (h >> 47)


def pattern(element: bytes) -> tuple[int, int]:
    """``hllPatLen``: the register an element hashes to and its value (the 0...01 run, 1 to 51)."""
    h = murmur64a(element)
    rest = (h >> P) | (1 << Q)  # the set bit ends the run at Q+1 at most
    return h & (REGISTERS - 1), (rest & -rest).bit_length()


def new_hll() -> bytes:
    """``createHLLObject``: sparse, one XZERO covering every register, cached cardinality 0 (valid)."""
    return b"HYLL\x01" + bytes(11) + bytes((0x40 | (REGISTERS - 1) >> 8, (REGISTERS - 1) & 0xFF))


def is_hll(value: bytes) -> bool:
    """``isHLLObjectOrReply``'s checks after the type: header, magic, encoding, dense length."""
    return (len(value) >= HDR and value[:4] == b"HYLL" and value[4] <= SPARSE
            and (value[4] != DENSE or len(value) == DENSE_SIZE))


def cached(value: bytes) -> int | None:
    """The cached cardinality, or None when it is marked stale."""
    return None if value[15] & _STALE else int.from_bytes(value[8:16], "little")


def with_cardinality(value: bytes, card: int) -> bytes:
    """The value with ``card`` stored (valid) in its header, as PFCOUNT does."""
    return value[:8] + card.to_bytes(8, "little") + value[16:]


# --------------------------------------------------------------------- registers


def dense_registers(value: bytes) -> list[int]:
    """The 16384 registers of a dense value (6 bits each, least significant bits first)."""
    out: list[int] = []
    data = value[HDR:DENSE_SIZE]
    for at in range(0, DENSE_BYTES, 3):
        word = data[at] | data[at + 1] << 8 | data[at + 2] << 16
        out += (word & 63, word >> 6 & 63, word >> 12 & 63, word >> 18)
    return out


def dense_bytes(registers: Sequence[int]) -> bytes:
    """The 12288 register bytes holding ``registers`` (each 0 to 63)."""
    out = bytearray(DENSE_BYTES)
    at = 0
    for index in range(0, REGISTERS, 4):
        word = registers[index] | registers[index + 1] << 6 | registers[index + 2] << 12 | registers[index + 3] << 18
        out[at : at + 3] = word.to_bytes(3, "little")
        at += 3
    return bytes(out)


@lru_cache(maxsize=64)
def dense_histogram(value: bytes) -> tuple[int, ...]:
    """How many registers hold each value 0..63 (``hllDenseRegHisto``)."""
    histogram = [0] * 64
    for register in dense_registers(value):
        histogram[register] += 1
    return tuple(histogram)


def _opcode(buf: bytearray, p: int) -> tuple[int, int, int]:
    """(registers covered, value, opcode bytes) of the opcode at ``p``."""
    op = buf[p]
    if op & 0xC0 == 0:  # ZERO
        return (op & 0x3F) + 1, 0, 1
    if op & 0x80:  # VAL
        return (op & 3) + 1, (op >> 2 & 0x1F) + 1, 1
    return ((op & 0x3F) << 8 | buf[p + 1]) + 1, 0, 2  # XZERO


def _runs(buf: bytearray, size: int) -> list[tuple[int, int, int]]:
    """The (first register, registers, value) of each sparse opcode; Corrupted unless they cover
    exactly the 16384 registers (``hllMerge`` and ``hllSparseToDense`` with the CVE-2025-32023
    fix: they stop at the first opcode of any kind that runs past the last register)."""
    out: list[tuple[int, int, int]] = []
    index, p = 0, HDR
    while p < size:
        run, register, length = _opcode(buf, p)
        if run + index > REGISTERS:
            raise Corrupted
        out.append((index, run, register))
        index += run
        p += length
    if index != REGISTERS:
        raise Corrupted
    return out


def merge_into(maxima: list[int], value: bytes) -> None:
    """``hllMerge``: raise each of ``maxima`` to the value's register; Corrupted for a bad sparse."""
    if value[4] == DENSE:
        maxima[:] = [a if a >= b else b for a, b in zip(maxima, dense_registers(value))]
        return
    for index, run, register in _runs(bytearray(value) + b"\0", len(value)):
        if register:
            for at in range(index, index + run):
                if register > maxima[at]:
                    maxima[at] = register


def histogram_of(registers: Sequence[int]) -> list[int]:
    """The histogram of plain byte registers (``hllRawRegHisto``, PFCOUNT of several keys)."""
    histogram = [0] * 64
    for register in registers:
        histogram[register] += 1
    return histogram


# --------------------------------------------------------------------- the estimator


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        previous = z
        z += x * y
        y += y
        if previous == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y, z = 1.0, 1 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        z -= math.pow(1 - x, 2) * y
        if previous == z:
            return z / 3


def estimate(histogram: Sequence[int]) -> int:
    """``hllCount`` from a register histogram: Ertl's improved estimator, as the unsigned 64-bit
    integer Redis computes (``(uint64_t)(double)llroundl(...)``).

    Only corrupted dense values reach the overflow: ``llroundl`` of infinity or of 2^63 and more
    gives LLONG_MIN on x86-64, so the count is 2^63, which PFCOUNT replies as a negative number
    and caches with the stale bit set (see :func:`signed`).

    >>> estimate([REGISTERS] + [0] * 63), estimate([REGISTERS - 3, 3] + [0] * 62)
    (0, 3)
    >>> signed(estimate([0] * 63 + [REGISTERS]))
    -9223372036854775808
    """
    m = float(REGISTERS)
    z = m * _tau((m - histogram[Q + 1]) / m)
    for j in range(Q, 0, -1):
        z += histogram[j]
        z *= 0.5
    z += m * _sigma(histogram[0] / m)
    quotient = ALPHA_INF * m * m / z if z else math.inf  # C divides by zero into infinity
    if quotient >= 2.0**63:
        return 1 << 63
    whole = math.floor(quotient)
    rounded = int(whole) + (1 if quotient - whole >= 0.5 else 0)  # half away from zero
    return int(float(rounded)) & _M64  # through a double: above 2^53 it rounds to even


def signed(card: int) -> int:
    """A cardinality as ``addReplyLongLong`` sends it (the uint64 read as a long long)."""
    return card - (1 << 64) if card >> 63 else card


# --------------------------------------------------------------------- the value being changed


Hint = tuple[int, int, int]
"""Where a sparse scan may start: an opcode's offset, the registers before it, the offset of the
opcode before it (-1 if none).  PFMERGE sets registers in ascending order and resumes each scan
from the previous one's ``prev`` instead of the first opcode, which keeps it linear."""
START: Hint = (HDR, 0, -1)


class Sketch:
    """A HyperLogLog string changed in place, as hyperloglog.c changes its sds buffer.

    ``buf`` holds the string, its NUL terminator and a little room (``sdsMakeRoomFor``).
    """

    __slots__ = ("buf", "size")

    def __init__(self, value: bytes) -> None:
        self.buf = bytearray(value) + bytes(8)
        self.size = len(value)

    def value(self) -> bytes:
        return bytes(self.buf[: self.size])

    @property
    def dense(self) -> bool:
        return self.buf[4] == DENSE

    def invalidate(self) -> None:
        """``HLL_INVALIDATE_CACHE``."""
        self.buf[15] |= _STALE

    def _grow(self, delta: int) -> None:
        # sdsIncrLen: the new length, and a NUL after it.
        self.size += delta
        if len(self.buf) < self.size + 8:
            self.buf += bytes(self.size + 8 - len(self.buf))
        self.buf[self.size] = 0

    # ---------------------------------------------------------------- dense

    def dense_set(self, index: int, count: int) -> int:
        """``hllDenseSet``: raise register ``index`` to ``count``; 1 if it changed."""
        at = HDR + index * 6 // 8
        shift = index * 6 & 7
        word = self.buf[at] | self.buf[at + 1] << 8
        if count <= (word >> shift) & 63:
            return 0
        word = (word & ~(63 << shift)) | count << shift
        self.buf[at], self.buf[at + 1] = word & 0xFF, word >> 8
        return 1

    def to_dense(self) -> None:
        """``hllSparseToDense`` (nothing for a dense value); Corrupted if the opcodes are bad."""
        if self.dense:
            return
        registers = [0] * REGISTERS
        for index, run, register in _runs(self.buf, self.size):
            if register:
                registers[index : index + run] = [register] * run
        header = bytearray(self.buf[:HDR])
        header[4] = DENSE
        self.buf = header + dense_bytes(registers) + bytes(8)
        self.size = DENSE_SIZE

    # ---------------------------------------------------------------- counting

    def histogram(self) -> tuple[Sequence[int], bool]:
        """The register histogram and whether the value is valid (a sparse one may not be)."""
        value = self.value()
        if self.dense:
            return dense_histogram(value), True
        histogram = [0] * 64
        index, p, end = 0, HDR, self.size
        while p < end:
            run, register, size = _opcode(self.buf, p)
            histogram[register] += run
            index += run
            p += size
        return histogram, index == REGISTERS

    def decode(self) -> bytes:
        """PFDEBUG DECODE's text for a sparse value."""
        words: list[str] = []
        p = HDR
        while p < self.size:
            run, register, size = _opcode(self.buf, p)
            if register:
                words.append(f"v:{register},{run}")
            else:
                words.append(f"{'z' if size == 1 else 'Z'}:{run}")
            p += size
        return " ".join(words).encode()

    # ---------------------------------------------------------------- adding

    def add(self, element: bytes) -> int:
        """``hllAdd``: 1 if a register grew, 0 if not, -1 for a corrupted sparse value."""
        index, count = pattern(element)
        if self.dense:
            return self.dense_set(index, count)
        return self.set(index, count)[0]

    def set(self, index: int, count: int, hint: Hint = START) -> tuple[int, Hint]:
        """``hllSparseSet`` (promoting to dense when needed): its result, and where a next call
        with a higher ``index`` may start scanning (see :data:`Hint`)."""
        if count > SPARSE_VAL_MAX_VALUE:
            return self._promote(index, count), START
        buf = self.buf
        end = self.size
        p, first, prev = hint
        prev_first = before_prev = -1
        span = oplen = 0
        while p < end:  # step 1: find the opcode covering the register
            span, _, oplen = _opcode(buf, p)
            if index <= first + span - 1:
                break
            before_prev, prev, prev_first = prev, p, first
            p += oplen
            first += span
        if span == 0 or p >= end:
            return -1, START
        # Edits reach back to ``prev`` at most (step 4 merges from there): what lies before stays.
        next_hint = (prev, prev_first, before_prev) if prev_first >= 0 else START
        return self._update(p, first, span, oplen, prev, index, count), next_hint

    def _update(self, p: int, first: int, span: int, oplen: int, prev: int, index: int, count: int) -> int:
        buf = self.buf
        op = buf[p]
        is_val = bool(op & 0x80)
        if is_val:
            current = (op >> 2 & 0x1F) + 1
            if current >= count:  # case A: nothing to do
                return 0
            if span == 1:  # case B
                buf[p] = _val(count, 1)
                return self._merge_values(prev)
        elif op & 0xC0 == 0 and span == 1:  # case C: a ZERO of one register
            buf[p] = _val(count, 1)
            return self._merge_values(prev)
        seq = _split(op, first, span, index, count)  # case D
        delta = len(seq) - oplen
        end = self.size
        if delta > 0 and self.size + delta > SPARSE_MAX_BYTES:
            return self._promote(index, count)
        follow = p + oplen
        if delta and follow < end:
            buf[follow + delta : end + delta] = buf[follow:end]
        self._grow(delta)
        buf[p : p + len(seq)] = seq
        return self._merge_values(prev)

    def _merge_values(self, prev: int) -> int:
        """Step 4: merge adjacent VAL opcodes of equal value, up to 5 opcodes from ``prev``."""
        buf = self.buf
        p = prev if prev >= 0 else HDR
        scans = 5
        while p < self.size and scans:
            scans -= 1
            op = buf[p]
            if op & 0xC0 == 0x40:
                p += 2
                continue
            if op & 0xC0 == 0:
                p += 1
                continue
            end = self.size
            if p + 1 < end and buf[p + 1] & 0x80:
                after = buf[p + 1]
                run = (op & 3) + (after & 3) + 2
                if op >> 2 & 0x1F == after >> 2 & 0x1F and run <= SPARSE_VAL_MAX_LEN:
                    buf[p + 1] = _val((op >> 2 & 0x1F) + 1, run)
                    buf[p:end] = buf[p + 1 : end + 1]  # memmove(p, p+1, end-p)
                    self._grow(-1)
                    continue
            p += 1
        self.invalidate()
        return 1

    def _promote(self, index: int, count: int) -> int:
        try:
            self.to_dense()
        except Corrupted:
            return -1
        changed = self.dense_set(index, count)
        assert changed == 1  # serverAssert in hllSparseSet
        return 1


def _val(value: int, run: int) -> int:
    return 0x80 | (value - 1) << 2 | (run - 1)


def _zeros(run: int) -> bytes:
    if run > SPARSE_ZERO_MAX_LEN:
        return bytes((0x40 | (run - 1) >> 8, (run - 1) & 0xFF))
    return bytes((run - 1,))


def _split(op: int, first: int, span: int, index: int, count: int) -> bytes:
    """Case D of ``hllSparseSet``: the opcodes replacing the one covering ``index``."""
    last = first + span - 1
    if op & 0x80:
        current = (op >> 2 & 0x1F) + 1
        before = bytes((_val(current, index - first),)) if index != first else b""
        after = bytes((_val(current, last - index),)) if index != last else b""
    else:
        before = _zeros(index - first) if index != first else b""
        after = _zeros(last - index) if index != last else b""
    return before + bytes((_val(count, 1),)) + after
