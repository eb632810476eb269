"""``cmsgpack`` (lua-cmsgpack 0.4.0) and ``struct`` (Roberto Ierusalimschy's struct library), the
binary packing libraries Redis links into its Lua, reimplemented for the sandbox.

Ported from ``deps/lua/src/{lua_cmsgpack.c,lua_struct.c}`` at Redis 7.0.15, with the sizes and
byte order of x86-64 Linux (``long`` and ``size_t`` are 8 bytes, native order little-endian) and
the C library's quirks kept (``struct.pack``'s "string too short" names the argument after the
string; ``unpack_limit``'s error prints the input length as the limit).
"""

from __future__ import annotations

import math
import struct as pystruct
from collections.abc import Callable
from typing import Any

from ._lua_libs import JSON_NULL, check_number
from ._lua_runtime import LuaRaise, Sandbox, lua_type

# ---------------------------------------------------------------------------- cmsgpack

_MAX_NESTING = 16  # deeper tables are packed as nil


def _msgpack_int(n: int) -> bytes:
    if n >= 0:
        if n <= 127:
            return bytes([n])
        for tag, size, limit in ((0xCC, 1, 0xFF), (0xCD, 2, 0xFFFF), (0xCE, 4, 0xFFFFFFFF)):
            if n <= limit:
                return bytes([tag]) + n.to_bytes(size, "big")
        return b"\xcf" + n.to_bytes(8, "big")
    if n >= -32:
        return (n & 0xFF).to_bytes(1, "big")
    for tag, size in ((0xD0, 1), (0xD1, 2), (0xD2, 4)):
        if n >= -(1 << (size * 8 - 1)):
            return bytes([tag]) + n.to_bytes(size, "big", signed=True)
    return b"\xd3" + n.to_bytes(8, "big", signed=True)


def _msgpack_double(d: float) -> bytes:
    try:
        single = pystruct.unpack(">f", pystruct.pack(">f", d))[0]
    except OverflowError:  # (float)d is an infinity, never equal to d
        single = None
    if single == d:
        return b"\xca" + pystruct.pack(">f", d)
    return b"\xcb" + pystruct.pack(">d", d)


def _msgpack_length(count: int, fix: int, tag16: int) -> bytes:
    if count <= 15:
        return bytes([fix | count])
    if count <= 0xFFFF:
        return bytes([tag16]) + count.to_bytes(2, "big")
    return bytes([tag16 + 1]) + count.to_bytes(4, "big")


def _msgpack_pack(value: Any, level: int, out: list[bytes]) -> None:
    kind = lua_type(value)
    if kind == "table" and level == _MAX_NESTING:
        kind = "nil"
    if kind == "string":
        size = len(value)
        if size < 32:
            out.append(bytes([0xA0 | size]))
        elif size <= 0xFF:
            out.append(bytes([0xD9, size]))
        elif size <= 0xFFFF:
            out.append(b"\xda" + size.to_bytes(2, "big"))
        else:
            out.append(b"\xdb" + size.to_bytes(4, "big"))
        out.append(value)
    elif kind == "boolean":
        out.append(b"\xc3" if value else b"\xc2")
    elif kind == "number":
        number = float(value)
        if math.isfinite(number) and number == math.floor(number) and -(2**63) <= number < 2**63:
            out.append(_msgpack_int(int(number)))
        else:
            out.append(_msgpack_double(number))
    elif kind == "table":
        entries = list(value.items())  # lua_next order
        # table_is_an_array: positive keys that fit an int, as many as the largest.
        largest, array = 0, True
        for key, _ in entries:
            if type(key) not in (int, float) or key <= 0 or key != math.floor(key) or key >= 2**31:
                array = False
                break
            largest = max(largest, int(key))
        if array and largest == len(entries):
            items = dict(entries)
            out.append(_msgpack_length(largest, 0x90, 0xDC))
            for index in range(1, largest + 1):
                _msgpack_pack(items[index], level + 1, out)
        else:
            out.append(_msgpack_length(len(entries), 0x80, 0xDE))
            for key, item in entries:
                _msgpack_pack(key, level + 1, out)
                _msgpack_pack(item, level + 1, out)
    else:  # nil, functions, userdata (cjson.null too), threads
        out.append(b"\xc0")


class _MissingBytes(Exception):
    pass


class _BadFormat(Exception):
    pass


class _MsgpackReader:
    def __init__(self, sandbox: Sandbox, data: bytes, offset: int) -> None:
        self.sandbox = sandbox
        self.data = data
        self.pos = offset

    def take(self, count: int) -> bytes:
        if len(self.data) - self.pos < count:
            raise _MissingBytes
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def value(self) -> Any:
        tag = self.take(1)[0]
        if tag <= 0x7F:
            return float(tag)
        if tag >= 0xE0:
            return float(tag - 256)
        if 0xA0 <= tag <= 0xBF:
            return self.take(tag & 0x1F)
        if 0x90 <= tag <= 0x9F:
            return self.array(tag & 0xF)
        if 0x80 <= tag <= 0x8F:
            return self.map(tag & 0xF)
        sizes = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8, 0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8}
        if tag in sizes:
            return float(int.from_bytes(self.take(sizes[tag]), "big", signed=tag >= 0xD0))
        if tag == 0xC0:
            return None
        if tag in (0xC2, 0xC3):
            return tag == 0xC3
        if tag == 0xCA:
            return float(pystruct.unpack(">f", self.take(4))[0])
        if tag == 0xCB:
            return float(pystruct.unpack(">d", self.take(8))[0])
        if tag in (0xD9, 0xDA, 0xDB):
            size = int.from_bytes(self.take({0xD9: 1, 0xDA: 2, 0xDB: 4}[tag]), "big")
            return self.take(size)
        if tag in (0xDC, 0xDD):
            return self.array(int.from_bytes(self.take(2 if tag == 0xDC else 4), "big"))
        if tag in (0xDE, 0xDF):
            return self.map(int.from_bytes(self.take(2 if tag == 0xDE else 4), "big"))
        raise _BadFormat

    def array(self, count: int) -> Any:
        table = self.sandbox.new_table()
        for index in range(1, count + 1):
            table[index] = self.value()
        return table

    def map(self, count: int) -> Any:
        table = self.sandbox.new_table()
        for _ in range(count):
            key = self.value()
            item = self.value()
            if key is None or key != key:
                raise LuaRaise(b"table index is nil" if key is None else b"table index is NaN")
            table[key] = item
        return table


def _lua_integer(sandbox: Sandbox, args: tuple[Any, ...], position: int, default: int) -> int:
    """``luaL_optinteger``: the argument truncated to an integer, or ``default`` if absent or nil."""
    if position > len(args) or args[position - 1] is None:
        return default
    number = check_number(sandbox, args, position)
    return int(number) if math.isfinite(number) and abs(number) < 2**63 else -(2**63)


def _check_string(sandbox: Sandbox, args: tuple[Any, ...], position: int) -> bytes:
    """``luaL_checklstring``: a string, or a number as Lua writes it."""
    value = args[position - 1] if position <= len(args) else None
    if type(value) in (int, float):
        value = sandbox.tostring(value)
    if type(value) is not bytes:
        got = lua_type(value) if position <= len(args) else "no value"
        raise sandbox.argerror(position, f"string expected, got {got}")
    return value


def _cmsgpack_natives(sandbox: Sandbox) -> dict[str, Callable[..., Any]]:
    def pack(*args: Any) -> bytes:
        if not args:
            raise sandbox.argerror(0, "MessagePack pack needs input.")
        out: list[bytes] = []
        for value in args:
            _msgpack_pack(value, 0, out)
        return b"".join(out)

    def unpack_full(data: bytes, limit: int, offset: int) -> tuple[Any, ...]:
        decode_all = not limit and not offset
        if offset < 0 or limit < 0:
            raise sandbox.raise_error(b"Invalid request to unpack with offset of %d and limit of %d."
                                      % (offset, len(data)))
        if offset > len(data):
            raise sandbox.raise_error(b"Start offset %d greater than input length %d." % (offset, len(data)))
        reader = _MsgpackReader(sandbox, data, offset)
        values: list[Any] = []
        try:
            while reader.pos < len(data) and (decode_all or len(values) < limit):
                values.append(reader.value())
        except _MissingBytes:
            raise sandbox.raise_error(b"Missing bytes in input.") from None
        except _BadFormat:
            raise sandbox.raise_error(b"Bad data format in input.") from None
        if decode_all:
            return tuple(values)
        return (-1 if reader.pos == len(data) else reader.pos, *values)

    def unpack(*args: Any) -> tuple[Any, ...]:
        return unpack_full(_check_string(sandbox, args, 1), 0, 0)

    def unpack_one(*args: Any) -> tuple[Any, ...]:
        offset = _lua_integer(sandbox, args, 2, 0)
        return unpack_full(_check_string(sandbox, args, 1), 1, offset)

    def unpack_limit(*args: Any) -> tuple[Any, ...]:
        if len(args) < 2 or args[1] is None:
            check_number(sandbox, args[:1], 2)  # "number expected, got no value"
        limit = _lua_integer(sandbox, args, 2, 0)
        offset = _lua_integer(sandbox, args, 3, 0)
        return unpack_full(_check_string(sandbox, args, 1), limit, offset)

    return {"cmsgpack_pack": pack, "cmsgpack_unpack": unpack, "cmsgpack_unpack_one": unpack_one,
            "cmsgpack_unpack_limit": unpack_limit}


# ---------------------------------------------------------------------------- struct

_MAX_INT_SIZE = 32
_MAX_ALIGN = 8  # x86-64: offsetof(struct {char c; double d;}, d)
_SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "f": 4, "d": 8, "x": 1}
_INTEGERS = "bBhHlLTiI"


class _Format:
    """A cursor over a struct format string (a C string: it ends at the first NUL)."""

    def __init__(self, sandbox: Sandbox, text: bytes) -> None:
        self.sandbox = sandbox
        self.text = text.split(b"\0", 1)[0].decode("latin-1")
        self.pos = 0
        self.little = True  # the machine's order
        self.align = 1

    def __iter__(self) -> _Format:
        return self

    def __next__(self) -> tuple[str, int]:
        if self.pos >= len(self.text):
            raise StopIteration
        option = self.text[self.pos]
        self.pos += 1
        return option, self.size(option)

    def number(self, default: int) -> int:
        if self.pos >= len(self.text) or self.text[self.pos] not in "0123456789":
            return default
        value = 0
        while self.pos < len(self.text) and self.text[self.pos] in "0123456789":
            digit = ord(self.text[self.pos]) - 48
            if value > (2**31 - 1) // 10 or value * 10 > 2**31 - 1 - digit:
                raise self.sandbox.raise_error(b"integral size overflow")
            value = value * 10 + digit
            self.pos += 1
        return value

    def size(self, option: str) -> int:
        if option in _SIZES:
            return _SIZES[option]
        if option == "c":
            return self.number(1)
        if option in "iI":
            size = self.number(4)
            if size > _MAX_INT_SIZE:
                raise self.sandbox.raise_error(b"integral size %d is larger than limit of %d" % (size, _MAX_INT_SIZE))
            return size
        return 0

    def padding(self, offset: int, option: str, size: int) -> int:
        if size == 0 or option == "c":
            return 0
        size = min(size, self.align)
        return (size - (offset & (size - 1))) & (size - 1)

    def control(self, option: str) -> None:
        if option == " ":
            return
        if option in "<>":
            self.little = option == "<"
            return
        if option == "!":
            alignment = self.number(_MAX_ALIGN)
            if alignment <= 0 or alignment & (alignment - 1):
                raise self.sandbox.raise_error(b"alignment %d is not a power of 2" % alignment)
            self.align = alignment
            return
        raise self.sandbox.argerror(1, f"invalid format option '{option}'")


def _to_unsigned(number: float) -> int:
    """putinteger's C casts of a double to an unsigned long (what x86-64 gives out of range)."""
    if number != number:
        return 1 << 63
    if number < 0:
        value = int(number) if number > -(2.0**63) else -(2**63)
        return value & (2**64 - 1)
    return int(number) if number < 2.0**64 else 0


def _struct_natives(sandbox: Sandbox) -> dict[str, Callable[..., Any]]:
    def pack(*given: Any) -> bytes:
        fmt = _Format(sandbox, _check_string(sandbox, given, 1))
        args = (*given, None)  # b_pack pushes a nil after its arguments: a missing one is "nil"
        out = bytearray()
        position = 2
        for option, size in fmt:
            padding = fmt.padding(len(out), option, size)
            out += b"\0" * padding
            order = "<" if fmt.little else ">"
            if option in _INTEGERS:
                value = _to_unsigned(check_number(sandbox, args, position))
                position += 1
                out += (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little" if fmt.little else "big")
            elif option == "x":
                out += b"\0"
            elif option == "f":
                number = check_number(sandbox, args, position)
                position += 1
                try:
                    out += pystruct.pack(order + "f", number)
                except OverflowError:  # C's (float) cast overflows to an infinity
                    out += pystruct.pack(order + "f", math.copysign(math.inf, number))
            elif option == "d":
                out += pystruct.pack(order + "d", check_number(sandbox, args, position))
                position += 1
            elif option in "cs":
                text = _check_string(sandbox, args, position)
                position += 1
                if size == 0:
                    size = len(text)
                if len(text) < size:
                    raise sandbox.argerror(position, "string too short")  # sic: the next argument
                out += text[:size]
                if option == "s":
                    out += b"\0"
            else:
                fmt.control(option)
        return bytes(out)

    def unpack(*args: Any) -> tuple[Any, ...]:
        fmt = _Format(sandbox, _check_string(sandbox, args, 1))
        data = _check_string(sandbox, args, 2)
        pos = _lua_integer(sandbox, args, 3, 1) & (2**64 - 1)  # a size_t
        if pos == 0:
            raise sandbox.argerror(3, "offset must be 1 or greater")
        pos -= 1
        results: list[Any] = []
        for option, size in fmt:
            pos += fmt.padding(pos, option, size)
            if size > len(data) or pos > len(data) - size:
                raise sandbox.argerror(2, "data string too short")
            chunk = data[pos : pos + size]
            order = "<" if fmt.little else ">"
            if option in _INTEGERS:
                value = int.from_bytes(chunk, "little" if fmt.little else "big") & (2**64 - 1)
                # The sign mask of C's (~0UL << (size*8 - 1)); x86-64 takes the count modulo 64.
                mask = ((2**64 - 1) << ((size * 8 - 1) % 64)) & (2**64 - 1)
                if option.islower() and size and value & mask:
                    value = (value | mask) - 2**64  # sign extension
                results.append(float(value))
            elif option == "f":
                results.append(float(pystruct.unpack(order + "f", chunk)[0]))
            elif option == "d":
                results.append(float(pystruct.unpack(order + "d", chunk)[0]))
            elif option == "c":
                if size == 0:
                    if not results or sandbox.number(results[-1]) is None:
                        raise sandbox.raise_error(b"format 'c0' needs a previous size")
                    size = int(sandbox.number(results.pop()) or 0)
                    if size > len(data) or pos > len(data) - size:
                        raise sandbox.argerror(2, "data string too short")
                results.append(data[pos : pos + size])
            elif option == "s":
                end = data.find(b"\0", pos)
                if end < 0:
                    raise sandbox.raise_error(b"unfinished string in data")
                size = end - pos + 1
                results.append(data[pos:end])
            elif option != "x":
                fmt.control(option)
            pos += size
        return (*results, pos + 1)

    def size(*args: Any) -> int:
        fmt = _Format(sandbox, _check_string(sandbox, args, 1))
        pos = 0
        for option, width in fmt:
            pos += fmt.padding(pos, option, width)
            if option == "s":
                raise sandbox.argerror(1, "option 's' has no fixed size")
            if option == "c" and width == 0:
                raise sandbox.argerror(1, "option 'c0' has no fixed size")
            if not (option.isascii() and option.isalnum()):
                fmt.control(option)
            pos += width
        return pos

    return {"struct_pack": pack, "struct_unpack": unpack, "struct_size": size}


def packing_natives(sandbox: Sandbox) -> dict[str, Callable[..., Any]]:
    """The Python functions behind ``cmsgpack.*`` and ``struct.*``."""
    return {**_cmsgpack_natives(sandbox), **_struct_natives(sandbox)}


__all__ = ["JSON_NULL", "packing_natives"]
