"""lua-cjson 2.1.0 as Redis 7.0 links it into its Lua (``deps/lua/src/lua_cjson.c``), for the sandbox.

``cjson.encode`` and ``cjson.decode`` behave like their C originals, error messages included
(``luaL_error`` positions come from :meth:`Sandbox.raise_error`), and so do the configuration
functions (``encode_sparse_array``, ``encode_max_depth``, ``decode_max_depth``,
``encode_number_precision``, ``encode_keep_buffer``, ``encode_invalid_numbers``,
``decode_invalid_numbers``) and ``cjson.new``, which makes a module with its own configuration.

One difference: in Redis the configuration of the ``cjson`` global lives as long as the Lua
interpreter (a script that calls ``cjson.encode_max_depth(2)`` changes it for every later script,
until SCRIPT FLUSH).  A step of the model cannot see earlier scripts, so every script starts with
lua-cjson's defaults (:class:`JsonConfig`) and its changes last until it ends.

>>> config = JsonConfig()
>>> config.encode_number_precision, config.encode_max_depth, config.decode_invalid_numbers
(14, 1000, 1)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from ._lua_runtime import Sandbox, lua_type

__all__ = ["JSON_NULL", "JsonConfig", "cjson_natives"]

_INT_MAX = 2**31 - 1


class JsonConfig:
    """json_config_t: lua-cjson's settings, with Redis's defaults."""

    __slots__ = ("encode_sparse_convert", "encode_sparse_ratio", "encode_sparse_safe", "encode_max_depth",
                 "encode_invalid_numbers", "encode_number_precision", "encode_keep_buffer",
                 "decode_invalid_numbers", "decode_max_depth")

    def __init__(self) -> None:
        self.encode_sparse_convert = 0
        self.encode_sparse_ratio = 2
        self.encode_sparse_safe = 10
        self.encode_max_depth = 1000
        self.encode_invalid_numbers = 0  # 2: encoded as null
        self.encode_number_precision = 14
        self.encode_keep_buffer = 1  # a buffer kept between calls: nothing a script can see
        self.decode_invalid_numbers = 1
        self.decode_max_depth = 1000


def _is_invalid_number(data: bytes, p: int) -> bool:
    """json_is_invalid_number: what strtod reads but strict JSON refuses (+1, 0x1, 01, inf, nan)."""
    if data[p] == ord("+"):
        return True
    if data[p] == ord("-"):
        p += 1
    if data[p] == ord("0"):
        following = data[p + 1]
        return (following | 0x20) == ord("x") or 48 <= following <= 57
    if data[p] <= ord("9"):
        return False
    return data[p:p + 3].lower() in (b"inf", b"nan")


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


def _json_string(value: bytes) -> bytes:
    return b'"' + _ESCAPE_BYTES.sub(lambda m: _ESCAPES[m.group()[0]], value) + b'"'


class _EncodeError(Exception):
    def __init__(self, message: bytes) -> None:
        self.message = message


def _json_number(config: JsonConfig, value: float) -> bytes:
    """json_append_number: ``%.<precision>g``; NaN and Inf as encode_invalid_numbers says."""
    if math.isinf(value) or math.isnan(value):
        if config.encode_invalid_numbers == 0:
            raise _EncodeError(b"Cannot serialise number: must not be NaN or Inf")
        if config.encode_invalid_numbers == 2:
            return b"null"
        if math.isnan(value):
            return b"nan"
    return b"%.*g" % (config.encode_number_precision, value)


def _array_length(config: JsonConfig, entries: list[tuple[Any, Any]]) -> int:
    """lua_array_length: the largest index if only positive integer keys, else -1 (an object);
    an excessively sparse array is an error, or an object if encode_sparse_array converts."""
    largest = 0
    for key, _ in entries:
        if type(key) in (int, float) and key >= 1 and math.floor(key) == key:
            largest = max(largest, int(key))
        else:
            return -1
    ratio = config.encode_sparse_ratio
    if ratio > 0 and largest > len(entries) * ratio and largest > config.encode_sparse_safe:
        if not config.encode_sparse_convert:
            raise _EncodeError(b"Cannot serialise table: excessively sparse array")
        return -1
    return largest


def _json_encode(config: JsonConfig, value: Any, depth: int, out: list[bytes]) -> None:
    kind = lua_type(value)
    if kind == "string":
        out.append(_json_string(value))
    elif kind == "number":
        out.append(_json_number(config, float(value)))
    elif kind == "boolean":
        out.append(b"true" if value else b"false")
    elif kind == "nil" or value is JSON_NULL:
        out.append(b"null")
    elif kind == "table":
        depth += 1
        if depth > config.encode_max_depth:
            raise _EncodeError(b"Cannot serialise, excessive nesting (%d)" % depth)
        entries = list(value.items())  # lua_next order, as lua-cjson walks the table
        largest = _array_length(config, entries)
        if largest > 0:
            items = dict(entries)
            out.append(b"[")
            for index in range(1, largest + 1):
                if index > 1:
                    out.append(b",")
                _json_encode(config, items.get(index), depth, out)
            out.append(b"]")
            return
        out.append(b"{")
        for number, (key, item) in enumerate(entries):
            if number:
                out.append(b",")
            key_kind = lua_type(key)
            if key_kind == "number":
                out.append(b'"' + _json_number(config, float(key)) + b'":')
            elif key_kind == "string":
                out.append(_json_string(key) + b":")
            else:
                raise _EncodeError(b"Cannot serialise %s: table key must be a number or string" % key_kind.encode())
            _json_encode(config, item, depth, out)
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

    def __init__(self, sandbox: Sandbox, config: JsonConfig, data: bytes) -> None:
        self.sandbox = sandbox
        self.config = config
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
        lenient = self.config.decode_invalid_numbers
        if ch == ord("-") or 48 <= ch <= 57:
            if not lenient and _is_invalid_number(data, start):
                return "T_ERROR", "invalid number", start
            return self.number(start)
        for word, kind, value in ((b"true", "T_BOOLEAN", True), (b"false", "T_BOOLEAN", False),
                                  (b"null", "T_NULL", None)):
            if data.startswith(word, start):
                self.pos += len(word)
                return kind, value, start
        if lenient and _is_invalid_number(data, start):
            return self.number(start)
        return "T_ERROR", "invalid token", start

    def number(self, start: int) -> tuple[str, Any, int]:
        match = _STRTOD.match(self.data, start)
        if not match:
            return "T_ERROR", "invalid number", start
        self.pos = match.end()
        return "T_NUMBER", _strtod(match.group()), start

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
        if self.depth > self.config.decode_max_depth:
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




# ---------------------------------------------------------------------------- the module's functions


def _c_int(value: float) -> int:
    # luaL_checkinteger's (lua_Integer) cast, then C's int.
    if value != value or math.isinf(value):
        return -(2**31)
    return ((int(value) + 2**31) % 2**32) - 2**31


class _Options:
    """json_arg_init, json_integer_option and json_enum_option: the configuration functions'
    arguments, checked in lua-cjson's order with its messages."""

    def __init__(self, sandbox: Sandbox, args: tuple[Any, ...], count: int) -> None:
        if len(args) > count:
            raise sandbox.argerror(count + 1, "found too many arguments")
        self.sandbox = sandbox
        self.args = args + (None,) * (count - len(args))

    def integer(self, config: JsonConfig, field: str, position: int, low: int, high: int) -> int:
        value = self.args[position - 1]
        if value is not None:
            number = self.sandbox.number(value)
            if number is None:
                raise self.sandbox.argerror(position, f"number expected, got {lua_type(value)}")
            checked = _c_int(number)
            if not low <= checked <= high:
                raise self.sandbox.argerror(1, f"expected integer between {low} and {high}")  # always #1
            setattr(config, field, checked)
        result: int = getattr(config, field)
        return result

    def enum(self, config: JsonConfig, field: str, position: int, options: tuple[bytes, ...] = (b"off", b"on")) -> Any:
        value = self.args[position - 1]
        if value is not None:
            if type(value) is bool:
                setattr(config, field, int(value))
            else:
                setattr(config, field, self._option(value, position, options))
        setting: int = getattr(config, field)
        return bool(setting) if setting in (0, 1) else options[setting]

    def _option(self, value: Any, position: int, options: tuple[bytes, ...]) -> int:
        """luaL_checkoption."""
        if type(value) in (int, float):
            value = self.sandbox.tostring(value)
        if type(value) is not bytes:
            raise self.sandbox.argerror(position, f"string expected, got {lua_type(value)}")
        name = value.split(b"\0", 1)[0]
        if name not in options:
            raise self.sandbox.argerror(position, f"invalid option '{name.decode('utf-8', 'surrogateescape')}'")
        return options.index(name)


def _functions(sandbox: Sandbox, config: Callable[[], JsonConfig]) -> dict[str, Callable[..., Any]]:
    """The functions of one cjson module; ``config`` gives the configuration they share."""

    def encode(*args: Any) -> bytes:
        if len(args) != 1:
            raise sandbox.argerror(1, "expected 1 argument")
        out: list[bytes] = []
        try:
            _json_encode(config(), args[0], 0, out)
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
            return _JsonParser(sandbox, config(), text).document()
        except _ParseError as error:
            raise sandbox.raise_error(error.message) from None

    def encode_sparse_array(*args: Any) -> tuple[Any, ...]:
        options, current = _Options(sandbox, args, 3), config()
        return (options.enum(current, "encode_sparse_convert", 1),
                options.integer(current, "encode_sparse_ratio", 2, 0, _INT_MAX),
                options.integer(current, "encode_sparse_safe", 3, 0, _INT_MAX))

    def integer_setting(field: str, low: int, high: int) -> Callable[..., int]:
        def setting(*args: Any) -> int:
            return _Options(sandbox, args, 1).integer(config(), field, 1, low, high)

        return setting

    def enum_setting(field: str, options: tuple[bytes, ...] = (b"off", b"on")) -> Callable[..., Any]:
        def setting(*args: Any) -> Any:
            return _Options(sandbox, args, 1).enum(config(), field, 1, options)

        return setting

    def new(*args: Any) -> Any:
        fresh = JsonConfig()
        return module_table(sandbox, lambda: fresh)

    return {
        "encode": encode, "decode": decode, "encode_sparse_array": encode_sparse_array,
        "encode_max_depth": integer_setting("encode_max_depth", 1, _INT_MAX),
        "decode_max_depth": integer_setting("decode_max_depth", 1, _INT_MAX),
        "encode_number_precision": integer_setting("encode_number_precision", 1, 14),
        "encode_keep_buffer": enum_setting("encode_keep_buffer"),
        "encode_invalid_numbers": enum_setting("encode_invalid_numbers", (b"off", b"on", b"null")),
        "decode_invalid_numbers": enum_setting("decode_invalid_numbers"),
        "new": new,
    }


def module_table(sandbox: Sandbox, config: Callable[[], JsonConfig]) -> Any:
    """lua_cjson_new: a plain table with the functions, ``null``, ``_NAME`` and ``_VERSION``."""
    fields: dict[bytes, Any] = {name.encode(): f for name, f in _functions(sandbox, config).items()}
    fields.update({b"null": JSON_NULL, b"_NAME": b"cjson", b"_VERSION": b"2.1.0"})
    return sandbox.runtime.table_from(fields)


def _script_config(sandbox: Sandbox) -> JsonConfig:
    """The ``cjson`` global's configuration: the running script's (see the module docstring)."""
    run = sandbox.current
    config: JsonConfig | None = getattr(run, "cjson", None)
    if config is None:
        config = JsonConfig()
        if run is not None:
            run.cjson = config
    return config


def cjson_natives(sandbox: Sandbox) -> dict[str, Callable[..., Any]]:
    """The Python functions behind the ``cjson`` global (``cjson_<name>``), and ``cjson_null``."""
    natives = {f"cjson_{name}": f for name, f in _functions(sandbox, lambda: _script_config(sandbox)).items()}
    natives["cjson_null"] = JSON_NULL  # type: ignore[assignment]
    return natives
