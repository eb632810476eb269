"""Redis 7.0's DUMP payload format: RDB strings, LZF compression and the CRC64 trailer.

A payload (``createDumpPayload`` in ``cluster.c``, ``functionDumpCommand`` in ``functions.c``) is
RDB data followed by two bytes of RDB version (10 in Redis 7.0, little endian) and the CRC64 of
everything before it (Redis's ``crc64``: Jones polynomial, reflected, little endian).  Strings are
written by ``rdbSaveRawString``: a string of more than 20 bytes is LZF-compressed when that saves
at least 4 bytes (``lzf_compress`` with Redis's settings in ``lzfP.h``: HLOG 16, VERY_FAST), else
stored as a length and its bytes.  Reading (``rdbGenericLoadStringObject``) also accepts the
integer encodings, which the function payloads the model writes never need.

Redis leaves ``lzf_compress``'s hash table uninitialised (``INIT_HTAB 0``); it only ever yields a
match that the input bytes confirm, and the port below starts from an empty table, which is what
Redis's output is unless stale stack contents happen to point into the new input.

>>> payload = dump_payload([(0xF5, b"#!lua name=x\\nreturn 1")])
>>> payload[:2], payload[-10:-8], read_payload(payload)
(b'\\xf5\\x15', b'\\n\\x00', [(245, b'#!lua name=x\\nreturn 1')])
"""

from __future__ import annotations

from collections.abc import Iterable

RDB_VERSION = 10
OPCODE_FUNCTION2 = 0xF5  # RDB_OPCODE_FUNCTION2: one library's code
OPCODE_FUNCTION = 0xF6  # RDB_OPCODE_FUNCTION: 7.0 rc1/rc2's name, engine, description, blob

# ---------------------------------------------------------------------------- CRC64 (crc64.c)

_CRC_TABLE: list[int] = []
for _byte in range(256):
    _crc = _byte
    for _ in range(8):
        _crc = (_crc >> 1) ^ 0x95AC9329AC4BC9B5 if _crc & 1 else _crc >> 1
    _CRC_TABLE.append(_crc)


def crc64(data: bytes, crc: int = 0) -> int:
    """Redis's ``crc64(0, data)``.

    >>> hex(crc64(b"123456789"))
    '0xe9c6d914c4b8d9ca'
    """
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


# ---------------------------------------------------------------------------- LZF (lzf_c.c, lzf_d.c)

_MAX_LIT = 1 << 5
_MAX_OFF = 1 << 13
_MAX_REF = (1 << 8) + (1 << 3)


def _slot(hval: int) -> int:
    return ((hval >> 8) - hval * 5) & 0xFFFF  # IDX with HLOG 16, VERY_FAST


def lzf_compress(data: bytes, out_len: int) -> bytes | None:
    """``lzf_compress(data, len, out, out_len)``: the compressed bytes, or None if they would not
    fit in ``out_len`` bytes.  A line-by-line port, so that the output is Redis's to the byte."""
    in_len = len(data)
    if in_len < 2 or out_len == 0:  # (Redis never compresses fewer than 21 bytes)
        return None
    htab = [0] * (1 << 16)  # input position + 1; 0 is an empty slot
    out = bytearray(out_len + 4)
    ip, op, lit = 0, 1, 0
    hval = (data[0] << 8) | data[1]
    while ip < in_len - 2:
        hval = ((hval << 8) | data[ip + 2]) & 0xFFFFFFFF
        slot = _slot(hval)
        ref = htab[slot] - 1
        htab[slot] = ip + 1
        off = ip - ref - 1
        if (ref > 0 and off < _MAX_OFF and data[ref + 2] == data[ip + 2]
                and data[ref] == data[ip] and data[ref + 1] == data[ip + 1]):
            length = 2
            maxlen = min(in_len - ip - length, _MAX_REF)
            if op + 3 + 1 >= out_len and op - (not lit) + 3 + 1 >= out_len:
                return None
            out[op - lit - 1] = (lit - 1) & 0xFF  # stop run
            op -= not lit  # undo run if length is zero
            length = _match_length(data, ref, ip, maxlen)
            length -= 2  # now the number of octets - 1
            ip += 1
            if length < 7:
                out[op] = (off >> 8) + (length << 5)
                op += 1
            else:
                out[op] = (off >> 8) + (7 << 5)
                out[op + 1] = length - 7
                op += 2
            out[op] = off & 0xFF
            op += 2  # the offset, and start a run
            lit = 0
            ip += length + 1
            if ip >= in_len - 2:
                break
            ip -= 2
            hval = (data[ip] << 8) | data[ip + 1]
            for _ in range(2):
                hval = ((hval << 8) | data[ip + 2]) & 0xFFFFFFFF
                htab[_slot(hval)] = ip + 1
                ip += 1
        else:
            if op >= out_len:
                return None
            out[op] = data[ip]
            lit, op, ip = lit + 1, op + 1, ip + 1
            if lit == _MAX_LIT:
                out[op - lit - 1] = lit - 1
                lit, op = 0, op + 1
    if op + 3 > out_len:
        return None
    while ip < in_len:
        out[op] = data[ip]
        lit, op, ip = lit + 1, op + 1, ip + 1
        if lit == _MAX_LIT:
            out[op - lit - 1] = lit - 1
            lit, op = 0, op + 1
    out[op - lit - 1] = (lit - 1) & 0xFF  # end run
    op -= not lit
    return bytes(out[:op])


def _match_length(data: bytes, ref: int, ip: int, maxlen: int) -> int:
    """The C loop's ``len`` at its end: 16 unrolled steps when ``maxlen > 16``, then a do-while."""
    length = 2
    if maxlen > 16:
        for _ in range(16):
            length += 1
            if data[ref + length] != data[ip + length]:
                return length
    while True:
        length += 1
        if not (length < maxlen and data[ref + length] == data[ip + length]):
            return length


def lzf_decompress(data: bytes, out_len: int) -> bytes | None:
    """``lzf_decompress``: the output, or None where the C function returns 0 (bad input)."""
    out = bytearray()
    ip, in_len = 0, len(data)
    while ip < in_len:
        ctrl = data[ip]
        ip += 1
        if ctrl < 32:
            ctrl += 1
            if len(out) + ctrl > out_len or ip + ctrl > in_len:
                return None
            out += data[ip : ip + ctrl]
            ip += ctrl
            continue
        length = ctrl >> 5
        ref = len(out) - ((ctrl & 0x1F) << 8) - 1
        if ip >= in_len:
            return None
        if length == 7:
            length += data[ip]
            ip += 1
            if ip >= in_len:
                return None
        ref -= data[ip]
        ip += 1
        if len(out) + length + 2 > out_len or ref < 0:
            return None
        for i in range(length + 2):  # byte by byte: the reference may overlap the output
            out.append(out[ref + i])
    return bytes(out)


# ---------------------------------------------------------------------------- RDB strings (rdb.c)


def rdb_length(length: int) -> bytes:
    """``rdbSaveLen``: 6, 14, 32 or 64 bits, big endian."""
    if length < 1 << 6:
        return bytes([length])
    if length < 1 << 14:
        return bytes([0x40 | (length >> 8), length & 0xFF])
    if length <= 0xFFFFFFFF:
        return b"\x80" + length.to_bytes(4, "big")
    return b"\x81" + length.to_bytes(8, "big")


def rdb_string(data: bytes) -> bytes:
    """``rdbSaveRawString`` with ``rdbcompression yes`` (for strings that are not integers)."""
    if len(data) > 20:
        compressed = lzf_compress(data, len(data) - 4)
        if compressed:
            return b"\xc3" + rdb_length(len(compressed)) + rdb_length(len(data)) + compressed
    return rdb_length(len(data)) + data


def dump_payload(records: Iterable[tuple[int, bytes]]) -> bytes:
    """RDB records (opcode, string) followed by the RDB version and the CRC64."""
    body = b"".join(bytes([opcode]) + rdb_string(data) for opcode, data in records)
    body += RDB_VERSION.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


def payload_ok(payload: bytes) -> bool:
    """``verifyDumpPayload``: long enough, an RDB version Redis 7.0 reads, the right CRC64."""
    if len(payload) < 10:
        return False
    footer = payload[-10:]
    if int.from_bytes(footer[:2], "little") > RDB_VERSION:
        return False
    return crc64(payload[:-8]) == int.from_bytes(footer[2:], "little")


class Reader:
    """A ``rio`` over a payload: reads may run into the trailer, as Redis's do."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, count: int) -> bytes | None:
        if len(self.data) - self.pos < count:
            return None
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def length(self) -> tuple[int, bool] | None:
        """``rdbLoadLenByRef``: (length or encoding, whether it is an encoding); None on error."""
        first = self.take(1)
        if first is None:
            return None
        kind, low = first[0] >> 6, first[0] & 0x3F
        if kind == 3:
            return low, True
        if kind == 0:
            return low, False
        if kind == 1:
            second = self.take(1)
            return None if second is None else ((low << 8) | second[0], False)
        size = {0x80: 4, 0x81: 8}.get(first[0])
        raw = self.take(size) if size else None
        return None if raw is None else (int.from_bytes(raw, "big"), False)

    def string(self) -> bytes | None:
        """``rdbGenericLoadStringObject``: the string, or None where Redis returns NULL."""
        header = self.length()
        if header is None:
            return None
        length, encoded = header
        if not encoded:
            return self.take(length)
        if length in (0, 1, 2):  # RDB_ENC_INT8, INT16, INT32: little endian, signed
            raw = self.take(1 << length)
            return None if raw is None else b"%d" % int.from_bytes(raw, "little", signed=True)
        if length != 3:  # not RDB_ENC_LZF: a corrupt payload
            return None
        sizes = self.length(), self.length()
        if sizes[0] is None or sizes[1] is None:
            return None
        compressed = self.take(sizes[0][0])
        if compressed is None:
            return None
        data = lzf_decompress(compressed, sizes[1][0])
        return data if data is not None and len(data) == sizes[1][0] else None


def read_payload(payload: bytes) -> list[tuple[int, bytes]]:
    """The (opcode, string) records of a function payload the model wrote (no error handling:
    FUNCTION RESTORE reads payloads itself, with Redis's errors)."""
    reader = Reader(payload)
    records = []
    while len(payload) - reader.pos > 10:
        opcode = reader.take(1)
        text = reader.string()
        assert opcode is not None and text is not None
        records.append((opcode[0], text))
    return records


__all__ = ["OPCODE_FUNCTION", "OPCODE_FUNCTION2", "RDB_VERSION", "Reader", "crc64", "dump_payload",
           "lzf_compress", "lzf_decompress", "payload_ok", "rdb_length", "rdb_string", "read_payload"]
