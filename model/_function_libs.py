"""Function libraries (Redis 7.0's ``functions.c`` and ``function_lua.c``): parsing and loading.

A library is its code: ``#!lua name=<lib>`` on the first line, then Lua that registers functions
with ``redis.register_function``.  Loading runs the code once in an environment whose only global
is a small ``redis`` table (``register_function``, ``log``, the ``LOG_*`` levels and the version),
so ``redis.call`` or ``math`` at load time fail as in Redis.  The functions then run with the same
globals as EVAL scripts, minus ``KEYS`` and ``ARGV``: FCALL passes keys and arguments as the
callback's two parameters.

What a library registers depends on its code alone, so :func:`library` keeps it per process, by
code.  The Lua closures themselves are not kept between steps: :func:`callbacks` loads the library
afresh for every FCALL.  That keeps a step a pure function of its inputs; the price is that state a
library keeps in its own upvalues across FCALLs (``local n = 0`` incremented by a function), which
Redis keeps until the library is reloaded, starts afresh in every FCALL of the model.

Redis enforces a 500 ms limit on a load (``FUNCTION LOAD timeout``); the model gives a load its
instruction budget for scripts (:data:`redlin.model._lua_runtime.INSTRUCTION_BUDGET_MILLIONS`).

>>> lib = library(b"#!lua name=mylib\\nredis.register_function('f', function() return 1 end)")
>>> lib.name, [f.name for f in lib.functions]
(b'mylib', [b'f'])
"""

from __future__ import annotations

import threading
import types
from collections.abc import Callable
from typing import Any, Final

from ._lua_runtime import LuaRaise, ScriptTooLong, lua_type
from ._profiles import Profile
from ._scripting import _ONE_AT_A_TIME, sandbox

# scripts_flags_def in script.c: the order FUNCTION LIST shows them in.
FLAG_ORDER: Final = ("no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys")
NAME_RULES: Final = ("Library names can only contain letters, numbers, or underscores(_) and must be at "
                     "least one character long")
_NAME_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class LibraryError(Exception):
    """A library that cannot be created; ``text`` is Redis's ``err`` (the reply adds ``ERR``)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class FunctionInfo:
    """One registered function: its name, description (None if not given) and flags."""

    __slots__ = ("name", "description", "flags")

    def __init__(self, name: bytes, description: bytes | None, flags: tuple[str, ...]) -> None:
        self.name = name
        self.description = description
        self.flags = flags

    @property
    def no_writes(self) -> bool:
        return "no-writes" in self.flags


class Library:
    """A loaded library: its name, its whole code (shebang included) and its functions in the
    order they were registered."""

    __slots__ = ("name", "code", "functions")

    def __init__(self, name: bytes, code: bytes, functions: tuple[FunctionInfo, ...]) -> None:
        self.name = name
        self.code = code
        self.functions = functions


def valid_name(name: bytes) -> bool:
    """``functionsVerifyName``: letters, digits and underscores, at least one."""
    return bool(name) and all(byte in _NAME_BYTES for byte in name)


def c_string(data: bytes) -> bytes:
    """What C code sees through a ``char *``: the bytes before the first NUL."""
    nul = data.find(b"\0")
    return data if nul < 0 else data[:nul]


def text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


# ---------------------------------------------------------------------------- the shebang


_SPACE = b" \t\n\v\f\r"  # isspace() in the C locale
_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("a"): b"\a"}
_HEX = b"0123456789abcdefABCDEF"


def split_args(line: bytes) -> list[bytes] | None:
    """``sdssplitargs``: the words of a line (quotes and escapes as redis-cli reads them), or None
    for unbalanced quotes or a closing quote not followed by a space.

    >>> split_args(b'#!lua name="my lib" x'), split_args(b'a "b'), split_args(b'"a"b')
    ([b'#!lua', b'name=my lib', b'x'], None, None)
    """
    line = c_string(line) + b"\0"
    words: list[bytes] = []
    p = 0
    while True:
        while line[p] and line[p] in _SPACE:
            p += 1
        if not line[p]:
            return words
        word, p = _word(line, p)
        if word is None:
            return None
        words.append(word)


def _word(line: bytes, p: int) -> tuple[bytes | None, int]:
    current = bytearray()
    quote = 0  # 0, ord('"') or ord("'")
    while True:
        c = line[p]
        if quote == ord('"'):
            if c == ord("\\") and line[p + 1] == ord("x") and line[p + 2] in _HEX and line[p + 3] in _HEX:
                current.append(int(line[p + 2 : p + 4], 16))
                p += 3
            elif c == ord("\\") and line[p + 1]:
                p += 1
                current += _ESCAPES.get(line[p], line[p : p + 1])
            elif c == ord('"'):
                if line[p + 1] and line[p + 1] not in _SPACE:
                    return None, p
                return bytes(current), p + 1
            elif not c:
                return None, p
            else:
                current.append(c)
        elif quote:
            if c == ord("\\") and line[p + 1] == ord("'"):
                p += 1
                current.append(ord("'"))
            elif c == ord("'"):
                if line[p + 1] and line[p + 1] not in _SPACE:
                    return None, p
                return bytes(current), p + 1
            elif not c:
                return None, p
            else:
                current.append(c)
        elif c in b" \n\r\t\0":
            return bytes(current), p + (1 if c else 0)
        elif c in b"\"'":
            quote = c
        else:
            current.append(c)
        p += 1


def metadata(code: bytes) -> tuple[bytes, bytes, bytes]:
    """``functionExtractLibMetaData``: (engine, library name, code after the shebang line; its
    newline kept, so that line numbers count the shebang)."""
    if not code.startswith(b"#!"):
        raise LibraryError("Missing library metadata")
    end = c_string(code).find(b"\n")
    if end < 0:
        raise LibraryError("Invalid library metadata")
    parts = split_args(code[:end])
    if not parts:
        raise LibraryError("Invalid library metadata")
    name: bytes | None = None
    for part in parts[1:]:
        if part[:5].lower() == b"name=":
            if name is not None:
                raise LibraryError("Invalid metadata value, name argument was given multiple times")
            name = part[5:]
            continue
        raise LibraryError(f"Invalid metadata value given: {text(c_string(part))}")
    if name is None:
        raise LibraryError("Library name was not given")
    return parts[0][2:], name, code[end:]


# ---------------------------------------------------------------------------- the Lua engine

# Runs once per process in the sandbox's interpreter (lupa's own globals: the real builtins).  It
# receives ENV, the environment EVAL scripts see, and builds the two environments of function_lua.c:
# the load-time one (only ``redis``) and, after the load, the run-time one (ENV's globals).
_ENGINE_LUA: Final = rb"""
local ENV, register, unwrap, missing_global = ...
local setmetatable, setfenv, loadstring, pcall, type, tostring, error = setmetatable, setfenv, loadstring, pcall, type, tostring, error

local function readonly() error('Attempt to modify a readonly table', 2) end

-- An __index that raises as Redis's luaSetErrorMetatable does for what ``t`` lacks (with the
-- scripts' own luaProtectedTableError: called, not tail-called, so the error names the reader).
local function strict_index(t)
  return function(_, name)
    local v = t[name]
    if v ~= nil then return v end
    missing_global(name)
  end
end

local CALL = {}
for name, value in ENV.pairs(ENV) do CALL[name] = value end
CALL.KEYS, CALL.ARGV, CALL.__redis__err__handler = nil, nil, nil
local CALL_INDEX = strict_index(CALL)

local function compile(body)
  local f, message = loadstring(body, '@user_function')
  if not f then return false, message end
  return f
end

-- A load: a fresh environment (so nothing a library does leaks into another load) whose globals
-- are the library API until the code has run, then ENV's.  Returns false if the load succeeded,
-- the error text otherwise, or true where Redis 7.0 would crash (lua_getfield on a non-table).
local function load(chunk)
  return function()   -- run by Sandbox.run, which has set redis.REDIS_VERSION for the profile
    local redis = ENV.redis
    local api = setmetatable({}, {__index = strict_index({
      register_function = register, log = redis.log,
      LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
      REDIS_VERSION = redis.REDIS_VERSION, REDIS_VERSION_NUM = redis.REDIS_VERSION_NUM,
    }), __newindex = readonly, __metatable = false})
    local meta = {__index = strict_index({redis = api}), __newindex = readonly, __metatable = false}
    setfenv(chunk, setmetatable({}, meta))
    local ok, e = pcall(chunk)
    meta.__index = CALL_INDEX
    if ok then return false end
    if type(e) == 'userdata' then e = unwrap(e) end
    local kind = type(e)
    if kind == 'string' then return 'ERR ' .. e end
    if kind ~= 'table' then return true end
    local message = e.err
    kind = type(message)
    if kind == 'string' or kind == 'number' then return tostring(message) end
    return '(null)'
  end
end

-- FCALL runs the callback with KEYS and ARGV, which Sandbox.run has just set, as its arguments.
local function entry(callback)
  return function() return callback(ENV.KEYS, ENV.ARGV) end
end

return {compile = compile, load = load, entry = entry}
"""


class _Engine:
    """The functions engine in the process's Lua interpreter (use under ``_ONE_AT_A_TIME``)."""

    def __init__(self) -> None:
        lua = sandbox()
        self.lua = lua
        env = lua.runtime.eval(b"getfenv")(lua.compile(b"return"))
        # Named as the prelude is, so that the error handler skips its frames (Redis's are C).
        exported = lua.runtime.execute(_ENGINE_LUA, env, self._register, _unwrap, lua.missing_global,
                                       name=b"@redis_lib")
        self._compile: Callable[[bytes], Any] = exported[b"compile"]
        self._load: Callable[[Any], Any] = exported[b"load"]
        self.entry: Callable[[Any], Any] = exported[b"entry"]
        self.registered: list[tuple[FunctionInfo, Any]] | None = None  # during a load
        self.chunks: dict[bytes, Any] = {}

    def fail(self, message: str) -> LuaRaise:
        """luaPushError + luaError: an error table ``{err='ERR <message>'}``."""
        return LuaRaise(self.lua.error_table(message.encode(), False))

    def chunk(self, body: bytes) -> Any:
        """The compiled code (cached), or LibraryError for a syntax error."""
        compiled = self.chunks.get(body)
        if compiled is None:
            result = self._compile(body)
            if len(self.chunks) >= 10_000:
                self.chunks.clear()
            compiled = self.chunks[body] = result if type(result) is not tuple else result[1]
        if type(compiled) is bytes:
            message = text(c_string(compiled)).replace("\r", " ").replace("\n", " ")
            raise LibraryError(f"Error compiling function: {message}")
        return compiled

    def load(self, body: bytes, profile: Profile | None = None) -> list[tuple[FunctionInfo, Any]]:
        """Run the library code as ``profile``'s server; the functions it registered, with their
        callbacks."""
        self.registered = []
        try:
            outcome = self.lua.run(self._load(self.chunk(body)), (), 0, profile)
        except ScriptTooLong:
            outcome = (0, b"ERR FUNCTION LOAD timeout")
        finally:
            registered, self.registered = self.registered, None
        result = outcome[1] if outcome[0] == 0 else True
        if result is True:
            raise LibraryError("redlin: this library raises an error Redis 7.0 crashes on")
        if result:
            raise LibraryError(f"Error registering functions: {text(c_string(result))}")
        if not registered:
            raise LibraryError("No functions registered")
        return registered

    # ------------------------------------------------------------------ redis.register_function

    def _register(self, *args: Any) -> None:
        """luaRegisterFunction."""
        if self.registered is None:
            raise self.fail("redis.register_function can only be called on FUNCTION LOAD command")
        if not 1 <= len(args) <= 2:
            raise self.fail("wrong number of arguments to redis.register_function")
        name, description, callback, flags = self._named(args[0]) if len(args) == 1 else self._positional(*args)
        if not valid_name(name):
            raise self.fail(NAME_RULES)
        if any(info.name == name for info, _ in self.registered):
            raise self.fail("Function already exists in the library")
        self.registered.append((FunctionInfo(name, description, flags), callback))

    def _string(self, value: Any) -> bytes | None:
        """luaGetStringSds: a string, a number as Lua writes it, or None."""
        kind = type(value)
        if kind is bytes:
            return value  # type: ignore[no-any-return]
        if kind is int or kind is float:
            return self.lua.tostring(value)
        return None

    def _positional(self, name: Any, callback: Any) -> tuple[bytes, None, Any, tuple[str, ...]]:
        checked = self._string(name)
        if checked is None:
            raise self.fail("first argument to redis.register_function must be a string")
        if not _is_function(callback):
            raise self.fail("second argument to redis.register_function must be a function")
        return checked, None, callback, ()

    def _named(self, table: Any) -> tuple[bytes, bytes | None, Any, tuple[str, ...]]:
        if lua_type(table) != "table":
            raise self.fail("calling redis.register_function with a single argument is only applicable "
                            "to Lua table (representing named arguments).")
        name = description = callback = None
        flags: tuple[str, ...] = ()
        for key, value in table.items():  # lua_next's order, as Redis reads them
            word = self._string(key)
            if word is None:
                raise self.fail("named argument key given to redis.register_function is not a string")
            word = c_string(word).lower()
            if word == b"function_name":
                name = self._string(value)
                if name is None:
                    raise self.fail("function_name argument given to redis.register_function must be a string")
            elif word == b"description":
                description = self._string(value)
                if description is None:
                    raise self.fail("description argument given to redis.register_function must be a string")
            elif word == b"callback":
                if not _is_function(value):
                    raise self.fail("callback argument given to redis.register_function must be a function")
                callback = value
            elif word == b"flags":
                flags = self._flags(value)
            else:
                raise self.fail("unknown argument given to redis.register_function")
        if name is None:
            raise self.fail("redis.register_function must get a function name argument")
        if callback is None:
            raise self.fail("redis.register_function must get a callback argument")
        return name, description, callback, flags

    def _flags(self, table: Any) -> tuple[str, ...]:
        """luaRegisterFunctionReadFlags: t[1], t[2]... until nil, each a flag name in any case."""
        if lua_type(table) != "table":
            raise self.fail("flags argument to redis.register_function must be a table representing function flags")
        found: set[str] = set()
        index = 1
        while (value := table[index]) is not None:
            word = self._string(value)
            flag = c_string(word).lower().decode("latin-1") if word is not None else ""
            if flag not in FLAG_ORDER:
                raise self.fail("unknown flag given")
            found.add(flag)
            index += 1
        return tuple(flag for flag in FLAG_ORDER if flag in found)


def _is_function(value: Any) -> bool:
    """lua_isfunction: a Lua function, or one of the sandbox's Python functions (C functions in
    Redis, such as ``redis.log``)."""
    return lua_type(value) == "function" or isinstance(value, types.FunctionType | types.MethodType)


def _unwrap(value: Any) -> Any:
    return value.value if type(value) is LuaRaise else value


_ENGINE: _Engine | None = None
_LIBRARIES: dict[bytes, Library | LibraryError] = {}
_CACHE_LOCK = threading.Lock()


def _engine() -> _Engine:
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = _Engine()
    return _ENGINE


def library(code: bytes) -> Library:
    """The library ``code`` creates, or LibraryError with Redis's text (before any check that
    depends on the other libraries: the name taken, a function name taken)."""
    known = _LIBRARIES.get(code)
    if known is None:
        known = _create(code)
        with _CACHE_LOCK:
            if len(_LIBRARIES) >= 10_000:
                _LIBRARIES.clear()
            _LIBRARIES[code] = known
    if type(known) is LibraryError:
        raise known
    return known  # type: ignore[return-value]


def library_name(code: bytes) -> bytes:
    """The name of the library ``code`` would create, after the checks Redis makes before it
    looks for a library of that name: the metadata, the name's characters, the engine."""
    engine_name, name, _ = metadata(code)
    if not valid_name(name):
        raise LibraryError(NAME_RULES)
    if engine_name.lower() != b"lua":
        raise LibraryError(f"Engine '{text(engine_name)}' not found")
    return name


def _create(code: bytes) -> Library | LibraryError:
    try:
        name = library_name(code)
        _, _, body = metadata(code)
        with _ONE_AT_A_TIME:
            registered = _engine().load(body)
    except LibraryError as error:
        return error
    return Library(name, code, tuple(info for info, _ in registered))


def callbacks(code: bytes, profile: Profile | None = None) -> dict[bytes, Any]:
    """A fresh load of a library known to load: its functions' entry points for ``run_script``
    (Lua functions taking no arguments that call the callback with KEYS and ARGV)."""
    with _ONE_AT_A_TIME:
        engine = _engine()
        _, _, body = metadata(code)
        return {info.name: engine.entry(callback) for info, callback in engine.load(body, profile)}


__all__ = ["FLAG_ORDER", "NAME_RULES", "FunctionInfo", "Library", "LibraryError", "c_string", "callbacks",
           "library", "library_name", "metadata", "split_args", "valid_name"]
