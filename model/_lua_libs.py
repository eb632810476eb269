"""The C libraries Redis links into its Lua, reimplemented for the sandbox: ``math.random`` (Redis's
``redisLrand48``), ``bit`` (LuaBitOp 1.0) and ``cjson`` (lua-cjson 2.1.0 with Redis's defaults).

Each function is called from Lua with Lua values converted by lupa (strings as bytes, numbers as
int or float) and behaves like its C original, error messages included (``luaL_error`` positions
come from :meth:`Sandbox.raise_error`).  Sources: ``deps/lua/src/{lua_bit.c,lua_cjson.c}`` and
``src/rand.c``, ``src/script_lua.c`` at Redis 7.0.15.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable, Mapping
from typing import Any

from ._lua_runtime import LuaRaise, Sandbox, lua_type

# ---------------------------------------------------------------------------- math.random

_LRAND48_A = 0x5DEECE66D
_LRAND48_C = 0xB
_LRAND48_MASK = (1 << 48) - 1
# rand.c's static state before any redisSrand48(): X0=0x330E, X1=0xABCD, X2=0x1234.
LRAND48_INITIAL = 0x1234ABCD330E
_INT32_MAX = 2**31 - 1


class Lrand48:
    """Redis's ``redisLrand48``: the 48-bit linear congruential generator of ``lrand48(3)``."""

    __slots__ = ("x",)

    def __init__(self, x: int = LRAND48_INITIAL) -> None:
        self.x = x

    def next(self) -> int:
        self.x = (_LRAND48_A * self.x + _LRAND48_C) & _LRAND48_MASK
        return self.x >> 17

    def seed(self, value: int) -> None:
        """``redisSrand48``: the low 32 bits of ``value`` become the high 32 bits of the state."""
        self.x = ((value & 0xFFFFFFFF) << 16) | 0x330E


def c_int(value: float) -> int:
    """A C ``(int)`` cast of a double: truncation; what x86-64 gives when it does not fit."""
    if value != value or math.isinf(value):
        return -(2**31)
    result = int(value)
    return result if -(2**31) <= result < 2**31 else -(2**31)


def check_number(sandbox: Sandbox, args: tuple[Any, ...], position: int) -> float:
    """``luaL_checknumber``: a number, or a string Lua converts to one."""
    if position > len(args):
        raise sandbox.argerror(position, "number expected, got no value")
    number = sandbox.number(args[position - 1])
    if number is None:
        raise sandbox.argerror(position, f"number expected, got {lua_type(args[position - 1])}")
    return number


def _math_natives(sandbox: Sandbox) -> dict[str, Callable[..., Any]]:
    def random(*args: Any) -> float:
        generator: Lrand48 = sandbox.current.random
        r = (generator.next() % _INT32_MAX) / _INT32_MAX
        if not args:
            return r
        if len(args) == 1:
            upper = c_int(check_number(sandbox, args, 1))
            if upper < 1:
                raise sandbox.argerror(1, "interval is empty")
            return float(math.floor(r * upper) + 1)
        if len(args) == 2:
            lower = c_int(check_number(sandbox, args, 1))
            upper = c_int(check_number(sandbox, args, 2))
            if lower > upper:
                raise sandbox.argerror(2, "interval is empty")
            return float(math.floor(r * (upper - lower + 1)) + lower)
        raise sandbox.raise_error(b"wrong number of arguments")

    def randomseed(*args: Any) -> None:
        sandbox.current.random.seed(c_int(check_number(sandbox, args, 1)))

    return {"random": random, "randomseed": randomseed}


# ---------------------------------------------------------------------------- bit (LuaBitOp)

_BIT_MAGIC = 6755399441055744.0  # 2^52 + 2^51: adding it leaves the integer part in the low bits


def _bits(sandbox: Sandbox, args: tuple[Any, ...], position: int) -> int:
    """LuaBitOp's ``barg``: a number's value modulo 2^32 (rounded), as an unsigned int."""
    number = check_number(sandbox, args, position)
    raw: int = struct.unpack("<Q", struct.pack("<d", number + _BIT_MAGIC))[0]
    return raw & 0xFFFFFFFF


def _signed(bits: int) -> int:
    bits &= 0xFFFFFFFF
    return bits - (1 << 32) if bits & 0x80000000 else bits


def _bit_natives(sandbox: Sandbox) -> dict[str, Callable[..., Any]]:
    def fold(operation: Callable[[int, int], int]) -> Callable[..., int]:
        def apply(*args: Any) -> int:
            result = _bits(sandbox, args, 1)
            for position in range(len(args), 1, -1):  # LuaBitOp reads the arguments last to first
                result = operation(result, _bits(sandbox, args, position))
            return _signed(result)

        return apply

    def shift(operation: Callable[[int, int], int]) -> Callable[..., int]:
        def apply(*args: Any) -> int:
            value = _bits(sandbox, args, 1)
            amount = _bits(sandbox, args, 2) & 31
            return _signed(operation(value, amount))

        return apply

    def tobit(*args: Any) -> int:
        return _signed(_bits(sandbox, args, 1))

    def bnot(*args: Any) -> int:
        return _signed(~_bits(sandbox, args, 1))

    def bswap(*args: Any) -> int:
        return _signed(int.from_bytes(_bits(sandbox, args, 1).to_bytes(4, "little"), "big"))

    def tohex(*args: Any) -> bytes:
        value = _bits(sandbox, args, 1)
        width = 8 if len(args) < 2 else _signed(_bits(sandbox, args, 2))
        digits = "0123456789abcdef"
        if width < 0:
            width, digits = -width, "0123456789ABCDEF"
        width = min(width, 8)
        out = []
        for _ in range(width):
            out.append(digits[value & 15])
            value >>= 4
        return "".join(reversed(out)).encode()

    return {
        "bit_tobit": tobit,
        "bit_bnot": bnot,
        "bit_band": fold(lambda a, b: a & b),
        "bit_bor": fold(lambda a, b: a | b),
        "bit_bxor": fold(lambda a, b: a ^ b),
        "bit_lshift": shift(lambda v, n: v << n),
        "bit_rshift": shift(lambda v, n: v >> n),
        "bit_arshift": shift(lambda v, n: _signed(v) >> n),
        "bit_rol": shift(lambda v, n: (v << n) | (v >> (32 - n))),
        "bit_ror": shift(lambda v, n: (v >> n) | (v << (32 - n))),
        "bit_bswap": bswap,
        "bit_tohex": tohex,
    }


# ---------------------------------------------------------------------------- cjson


class _JsonNull:
    """``cjson.null``: in Redis a NULL light userdata; here one Python object (also userdata)."""

    __slots__ = ()

    def __str__(self) -> str:
        return "userdata: (nil)"


JSON_NULL = _JsonNull()

_ESCAPES = {i: b"\\u%04x" % i for i in range(32)}
_ESCAPES.update({8: b"\\b", 9: b"\\t", 10: b"\\n", 12: b"\\f", 13: b"\\r", 34: b'\\"', 47: b"\\/",
                 92: b"\\\\", 127: b"\\u007f"})
_ESCAPE_BYTES = re.compile(rb'[\x00-\x1f"/\\\x7f]')
_ENCODE_MAX_DEPTH = 1000
_DECODE_MAX_DEPTH = 1000


def _json_string(value: bytes) -> bytes:
    return b'"' + _ESCAPE_BYTES.sub(lambda m: _ESCAPES[m.group()[0]], value) + b'"'


class _EncodeError(Exception):
    def __init__(self, message: bytes) -> None:
        self.message = message


def _json_number(value: float) -> bytes:
    if math.isinf(value) or math.isnan(value):
        raise _EncodeError(b"Cannot serialise number: must not be NaN or Inf")
    return b"%.14g" % value


def _json_encode(sandbox: Sandbox, value: Any, depth: int, out: list[bytes]) -> None:
    kind = lua_type(value)
    if kind == "string":
        out.append(_json_string(value))
    elif kind == "number":
        out.append(_json_number(float(value)))
    elif kind == "boolean":
        out.append(b"true" if value else b"false")
    elif kind == "nil" or value is JSON_NULL:
        out.append(b"null")
    elif kind == "table":
        depth += 1
        if depth > _ENCODE_MAX_DEPTH:
            raise _EncodeError(b"Cannot serialise, excessive nesting (%d)" % depth)
        entries = list(value.items())  # lua_next order, as lua-cjson walks the table
        # lua_array_length: only positive integer keys make an array (and not too sparse).
        largest = 0
        array = True
        for key, _ in entries:
            if type(key) in (int, float) and key >= 1 and math.floor(key) == key:
                largest = max(largest, int(key))
            else:
                array = False
                break
        if array and largest > len(entries) * 2 and largest > 10:
            raise _EncodeError(b"Cannot serialise table: excessively sparse array")
        if array and largest > 0:
            items = dict(entries)
            out.append(b"[")
            for index in range(1, largest + 1):
                if index > 1:
                    out.append(b",")
                _json_encode(sandbox, items.get(index), depth, out)
            out.append(b"]")
            return
        out.append(b"{")
        for number, (key, item) in enumerate(entries):
            if number:
                out.append(b",")
            key_kind = lua_type(key)
            if key_kind == "number":
                out.append(b'"' + _json_number(float(key)) + b'":')
            elif key_kind == "string":
                out.append(_json_string(key) + b":")
            else:
                raise _EncodeError(b"Cannot serialise %s: table key must be a number or string" % key_kind.encode())
            _json_encode(sandbox, item, depth, out)
        out.append(b"}")
    else:
        raise _EncodeError(b"Cannot serialise %s: type not supported" % kind.encode())


# strtod's grammar, which lua-cjson uses to read numbers (hex and inf/nan included).
_STRTOD = re.compile(
    rb"[+-]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    rb"|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    rb"|(?i:inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?))"
)
_WHITESPACE = b" \t\r\n"
_SINGLE_TOKENS = {ord("{"): "T_OBJ_BEGIN", ord("}"): "T_OBJ_END", ord("["): "T_ARR_BEGIN",
                  ord("]"): "T_ARR_END", ord(","): "T_COMMA", ord(":"): "T_COLON"}
_UNESCAPE = {ord('"'): b'"', ord("\\"): b"\\", ord("/"): b"/", ord("b"): b"\b", ord("t"): b"\t",
             ord("n"): b"\n", ord("f"): b"\f", ord("r"): b"\r"}


def _strtod(text: bytes) -> float:
    lowered = text.lower().lstrip(b"+-")
    negative = text.startswith(b"-")
    if lowered.startswith(b"0x"):
        body = lowered[2:]
        if b"p" not in body:
            body += b"p0"
        number = float.fromhex("0x" + body.decode())
    elif lowered.startswith(b"inf"):
        number = math.inf
    elif lowered.startswith(b"nan"):
        number = math.nan
    else:
        number = float(lowered)
    return -number if negative else number


class _ParseError(Exception):
    def __init__(self, message: bytes) -> None:
        self.message = message


class _JsonParser:
    """A port of lua-cjson's decoder: the same tokens, the same error texts and positions."""

    def __init__(self, sandbox: Sandbox, data: bytes) -> None:
        self.sandbox = sandbox
        nul = data.find(b"\0")  # the C parser stops at a NUL byte (its T_END)
        self.data = (data if nul < 0 else data[:nul]) + b"\0"
        self.pos = 0
        self.depth = 0

    def token(self) -> tuple[str, Any, int]:
        """The next token: (type, value, index); for errors type is "T_ERROR" and value the text."""
        data = self.data
        while data[self.pos] in _WHITESPACE:
            self.pos += 1
        start = self.pos
        ch = data[start]
        if ch == 0:
            return "T_END", None, start
        single = _SINGLE_TOKENS.get(ch)
        if single is not None:
            self.pos += 1
            return single, None, start
        if ch == ord('"'):
            return self.string(start)
        if ch == ord("-") or 48 <= ch <= 57 or (ch in b"+iInN" and self.invalid_number()):
            match = _STRTOD.match(data, start)
            if not match:
                return "T_ERROR", "invalid number", start
            self.pos = match.end()
            return "T_NUMBER", _strtod(match.group()), start
        for word, kind, value in ((b"true", "T_BOOLEAN", True), (b"false", "T_BOOLEAN", False),
                                  (b"null", "T_NULL", None)):
            if data.startswith(word, start):
                self.pos += len(word)
                return kind, value, start
        return "T_ERROR", "invalid token", start

    def invalid_number(self) -> bool:
        # json_is_invalid_number for the characters that are not '-' or a digit.
        rest = self.data[self.pos:self.pos + 3].lower()
        return self.data[self.pos] == ord("+") or rest in (b"inf", b"nan")

    def string(self, start: int) -> tuple[str, Any, int]:
        data = self.data
        pos = start + 1
        out = bytearray()
        while data[pos] != ord('"'):
            ch = data[pos]
            if ch == 0:
                return "T_ERROR", "unexpected end of string", pos
            if ch == ord("\\"):
                escape = data[pos + 1]
                if escape == ord("u"):
                    decoded = self.unicode_escape(pos)
                    if decoded is None:
                        return "T_ERROR", "invalid unicode escape code", pos
                    text, length = decoded
                    out += text
                    pos += length
                    continue
                replacement = _UNESCAPE.get(escape)
                if replacement is None:
                    return "T_ERROR", "invalid escape code", pos
                out += replacement
                pos += 2
                continue
            out.append(ch)
            pos += 1
        self.pos = pos + 1
        return "T_STRING", bytes(out), start

    def unicode_escape(self, pos: int) -> tuple[bytes, int] | None:
        def hex4(at: int) -> int | None:
            digits = self.data[at:at + 4]
            if len(digits) < 4 or not all(c in b"0123456789abcdefABCDEF" for c in digits):
                return None
            return int(digits, 16)

        code = hex4(pos + 2)
        if code is None:
            return None
        length = 6
        if code & 0xF800 == 0xD800:
            if code & 0x400 or self.data[pos + 6:pos + 8] != b"\\u":
                return None
            low = hex4(pos + 8)
            if low is None or low & 0xFC00 != 0xDC00:
                return None
            code = (((code & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000
            length = 12
        return chr(code).encode("utf-8", "surrogatepass"), length

    def fail(self, expected: str, token: tuple[str, Any, int]) -> _ParseError:
        kind, value, index = token
        found = value if kind == "T_ERROR" else kind
        return _ParseError(b"Expected %s but found %s at character %d" % (expected.encode(), found.encode(), index + 1))

    def descend(self) -> None:
        self.depth += 1
        if self.depth > _DECODE_MAX_DEPTH:
            raise _ParseError(b"Found too many nested data structures (%d) at character %d" % (self.depth, self.pos))

    def value(self, token: tuple[str, Any, int]) -> Any:
        kind, value, _ = token
        if kind in ("T_STRING", "T_NUMBER", "T_BOOLEAN"):
            return value
        if kind == "T_NULL":
            return JSON_NULL
        if kind == "T_OBJ_BEGIN":
            return self.object()
        if kind == "T_ARR_BEGIN":
            return self.array()
        raise self.fail("value", token)

    def object(self) -> Any:
        self.descend()
        table = self.sandbox.new_table()
        token = self.token()
        if token[0] == "T_OBJ_END":
            self.depth -= 1
            return table
        while True:
            if token[0] != "T_STRING":
                raise self.fail("object key string", token)
            key = token[1]
            token = self.token()
            if token[0] != "T_COLON":
                raise self.fail("colon", token)
            table[key] = self.value(self.token())
            token = self.token()
            if token[0] == "T_OBJ_END":
                self.depth -= 1
                return table
            if token[0] != "T_COMMA":
                raise self.fail("comma or object end", token)
            token = self.token()

    def array(self) -> Any:
        self.descend()
        table = self.sandbox.new_table()
        token = self.token()
        if token[0] == "T_ARR_END":
            self.depth -= 1
            return table
        index = 1
        while True:
            table[index] = self.value(token)
            index += 1
            token = self.token()
            if token[0] == "T_ARR_END":
                self.depth -= 1
                return table
            if token[0] != "T_COMMA":
                raise self.fail("comma or array end", token)
            token = self.token()

    def document(self) -> Any:
        result = self.value(self.token())
        token = self.token()
        if token[0] != "T_END":
            raise self.fail("the end", token)
        return result


def _cjson_natives(sandbox: Sandbox) -> dict[str, Callable[..., Any]]:
    def encode(*args: Any) -> bytes:
        if len(args) != 1:
            raise sandbox.argerror(1, "expected 1 argument")
        out: list[bytes] = []
        try:
            _json_encode(sandbox, args[0], 0, out)
        except _EncodeError as error:
            raise sandbox.raise_error(error.message) from None
        return b"".join(out)

    def decode(*args: Any) -> Any:
        if len(args) != 1:
            raise sandbox.argerror(1, "expected 1 argument")
        text = args[0]
        if type(text) in (int, float):
            text = sandbox.tostring(text)
        if type(text) is not bytes:
            raise sandbox.argerror(1, f"string expected, got {lua_type(text)}")
        if len(text) >= 2 and (text[0] == 0 or text[1] == 0):
            raise sandbox.raise_error(b"JSON parser does not support UTF-16 or UTF-32")
        try:
            return _JsonParser(sandbox, text).document()
        except _ParseError as error:
            raise sandbox.raise_error(error.message) from None

    return {"cjson_encode": encode, "cjson_decode": decode, "cjson_null": JSON_NULL}  # type: ignore[dict-item]


def library_natives(sandbox: Sandbox) -> Mapping[str, Callable[..., Any]]:
    """The Python functions behind ``math.random``, ``bit.*`` and ``cjson.*``."""
    return {**_math_natives(sandbox), **_bit_natives(sandbox), **_cjson_natives(sandbox)}


__all__ = ["JSON_NULL", "Lrand48", "LuaRaise", "c_int", "check_number", "library_natives"]
