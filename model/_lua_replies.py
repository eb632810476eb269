"""Running one script, and turning what it returns into a reply, as Lua source (``eval.c``).

Reply conversion (``luaReplyToRedisReply`` in ``script_lua.c``) is done in Lua, producing RESP
bytes for tables, so that it reads tables raw and in Lua's own ``next`` order, exactly as Redis
does.  The ``{double=}``, ``{map=}``, ``{set=}``, ``{big_number=}`` and ``{verbatim_string=}``
tables are written as RESP3 values; :mod:`redlin.model._scripting` gives a RESP2 caller their RESP2
form (:func:`redlin.model._resp3.to_resp2`), as Redis's ``addReply*`` functions do for it.  Also:
an ``{err=...}`` table is an error reply, ``{ok=...}`` a status, a number is truncated to an
integer as ``(long long)lua_tonumber()`` does on x86-64, ``false`` is a null bulk and ``true`` the
integer 1 (after ``redis.setresp(3)``: RESP3 booleans, ``:1`` and ``:0`` for a RESP2 caller), and
an array stops at its first nil (sheet E1-E7, E28, E30).  ``finish`` reports each outcome to
Python as a small tagged tuple (see its comment and ``Sandbox.run``).

Redis checks its Lua stack before each value it converts, and replies ``-ERR reached lua stack
limit`` for a value nested too deep (a table holding itself: 7995 nested arrays, then the error);
the encoder counts stack slots as Redis does.  The model's Python side holds replies up to
:data:`redlin.model._lua_runtime.MODEL_REPLY_DEPTH` levels: a recursive table is replied as the
error alone, a deeper finite one as an error naming the model.

The other way, :func:`command_reply_to_lua` is ``redisProtocolToLuaType``: what ``redis.call``
hands the script, in RESP2 or, after ``redis.setresp(3)``, RESP3 form.

A run sets ``KEYS`` and ``ARGV`` (E19), then calls the compiled script under ``xpcall`` with
Redis's message handler.  An instruction-count hook runs every million instructions: given an
interrupt (a server's SCRIPT KILL, :mod:`redlin.serve.busy`; E26, E27) it polls it and kills the
script as ``luaMaskCountHook`` does; without one, a runaway script, which would hang the model
where Redis would answer BUSY to everyone else, ends past a budget: the model's own limit, not
Redis's (:class:`redlin.model._lua_runtime.ScriptTooLong`).

:data:`REPLIES_LUA` is the second part of the chunk that :class:`redlin.model._lua_runtime.Sandbox`
loads: it is appended to :data:`redlin.model._lua_environment.ENVIRONMENT_LUA`, uses that part's
locals (``REAL``, ``ENV``, ``handler``, ``cstring``, ``c_error``...) and returns the functions
the Python side calls.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from ._reply import (
    NULL,
    NULL_ARRAY,
    Attributed,
    BigNumber,
    Boolean,
    Double,
    Error,
    MapReply,
    Reply,
    SetReply,
    Status,
    Verbatim,
)
from ._resp import Parser
from ._resp3 import to_resp2, to_resp3

__all__ = ["REPLIES_LUA", "command_reply_to_lua", "script_reply"]

# The second part of the chunk "@redis_lib" (appended to ENVIRONMENT_LUA: one chunk, one scope).
REPLIES_LUA: Final = r"""-- ------------------------------------------------------------------ replies

local LLONG_MIN = '-9223372036854775808'
local shortest = false   -- the profile's doubles (7.2: shortest form), set by configure()
local script_resp = 2    -- redis.setresp(): 2 until the script asks for 3 (set_resp)
-- luaReplyToRedisReply calls lua_checkstack(lua, 4) before each value: a value whose stack
-- position (top - base) is past LUAI_MAXCSTACK - 4 is replied as an error instead.  The script's
-- result sits at position 2 (EVAL and FCALL alike: the error handler is below it).
local STACK_LIMIT, RESULT_TOP = 8000 - 4, 2
local STACK_ERROR = '-ERR reached lua stack limit\r\n'
local deepest = 0        -- the deepest nesting of aggregates in the reply being encoded

-- (long long)lua_tonumber(): truncation toward zero; what x86-64 gives for NaN and out of range.
local function integer_text(n)
  if n ~= n or n >= 9223372036854775808 or n < -9223372036854775808 then return LLONG_MIN end
  if n < 0 then n = ceil(n) else n = floor(n) end
  return format('%.0f', n)
end

local function oneline(s)
  return (gsub(s, '[\r\n]', ' '))
end

-- The texts of an error table ('-' included) and of a status table, as addReplyErrorFormatEx and
-- addReplyStatusLength send them.
local function error_line(text)
  return oneline((gsub('-' .. cstring(text), '[\r\n]+$', '')))
end

local function status_line(text)
  return oneline(cstring(text))
end

local function bulk(out, s)
  out[#out + 1] = '$' .. #s .. '\r\n' .. s .. '\r\n'
end

local encode_into
encode_into = function(v, out, top, depth)
  if top > STACK_LIMIT then
    out[#out + 1] = STACK_ERROR
    return
  end
  local kind = type(v)
  if kind == 'string' then
    bulk(out, v)
  elseif kind == 'number' then
    out[#out + 1] = ':' .. integer_text(v) .. '\r\n'
  elseif kind == 'boolean' then
    if script_resp == 3 then out[#out + 1] = v and '#t\r\n' or '#f\r\n'
    else out[#out + 1] = v and ':1\r\n' or '$-1\r\n' end
  elseif kind == 'table' then
    if depth > deepest then deepest = depth end
    local f = rawget(v, 'err')
    if type(f) == 'string' then
      out[#out + 1] = error_line(f) .. '\r\n'
      return
    end
    f = rawget(v, 'ok')
    if type(f) == 'string' then
      out[#out + 1] = '+' .. status_line(f) .. '\r\n'
      return
    end
    f = rawget(v, 'double')
    if type(f) == 'number' then
      if f == huge then out[#out + 1] = ',inf\r\n' elseif f == -huge then out[#out + 1] = ',-inf\r\n'
      else out[#out + 1] = ',' .. (shortest and py.shortest(f) or format('%.17g', f)) .. '\r\n' end
      return
    end
    f = rawget(v, 'big_number')
    if type(f) == 'string' then
      out[#out + 1] = '(' .. oneline(f) .. '\r\n'
      return
    end
    f = rawget(v, 'verbatim_string')
    if type(f) == 'table' and type(rawget(f, 'format')) == 'string' and type(rawget(f, 'string')) == 'string' then
      -- addReplyVerbatim: the format's first three C characters, padded with spaces.
      local text, kind = rawget(f, 'string'), sub(cstring(rawget(f, 'format')) .. '   ', 1, 3)
      out[#out + 1] = '=' .. (#text + 4) .. '\r\n' .. kind .. ':' .. text .. '\r\n'
      return
    end
    f = rawget(v, 'map')
    if type(f) == 'table' then
      local head, n = #out + 1, 0
      out[head] = false
      -- Stack positions as in Redis: the inner table, the key, the value, then a copy of the key.
      for key, value in next, f do
        encode_into(key, out, top + 4, depth + 1)
        encode_into(value, out, top + 3, depth + 1)
        n = n + 1
      end
      out[head] = '%' .. n .. '\r\n'
      return
    end
    f = rawget(v, 'set')
    if type(f) == 'table' then
      local head, n = #out + 1, 0
      out[head] = false
      for key in next, f do
        encode_into(key, out, top + 3, depth + 1)
        n = n + 1
      end
      out[head] = '~' .. n .. '\r\n'
      return
    end
    local head, j = #out + 1, 1
    out[head] = false
    while true do
      local item = rawget(v, j)
      if item == nil then break end
      encode_into(item, out, top + 1, depth + 1)
      j = j + 1
    end
    out[head] = '*' .. (j - 1) .. '\r\n'
  else
    out[#out + 1] = '$-1\r\n'
  end
end

local function encode_table(v)
  local out = {}
  deepest = 0
  encode_into(v, out, RESULT_TOP, 1)
  return concat(out), deepest
end

local function text_field(t, key)
  local v = t[key]
  local kind = type(v)
  if kind == 'string' then return v end
  if kind == 'number' then return tostring(v) end
  return nil
end

-- 0, value: a string, boolean or nil; 1, resp: a table's reply as RESP bytes; 2, err, source,
-- line: an error table (source and line set if it was raised); 3, text: the error handler failed;
-- 4, digits: a number as the integer Redis replies; 5, text: an error reply; 6, text: a status;
-- 7, boolean: a RESP3 boolean (after redis.setresp(3)); 8, resp, depth: a reply nested deeper
-- than the model's Python side can hold.
local function finish(ok, v)
  if ok then
    local kind = type(v)
    if kind == 'table' then
      local text = rawget(v, 'err')
      if type(text) == 'string' then return 5, sub(error_line(text), 2) end
      text = rawget(v, 'ok')
      if type(text) == 'string' then return 6, status_line(text) end
      local done, resp, depth = pcall(encode_table, v)
      if not done then return 3, tostring(resp) end
      if depth > py.model_depth then return 8, resp, depth end
      return 1, resp
    end
    if kind == 'number' then return 4, integer_text(v) end
    if kind == 'boolean' and script_resp == 3 then return 7, v end
    if kind == 'string' or kind == 'boolean' then return 0, v end
    return 0, nil
  end
  if type(v) ~= 'table' then return 3, tostring(v) end
  local done, message, source, line = pcall(function()
    return text_field(v, 'err'), text_field(v, 'source'), text_field(v, 'line')
  end)
  if not done then return 3, tostring(message) end
  return 2, message, source, line
end

-- A runaway script would hang the model (Redis would answer BUSY to everyone else): past a budget
-- of instructions, every instruction fails, so that no pcall can keep the script going, and the
-- Lua error escapes to Python (see Sandbox.run).
local HOOK_EVERY = 1000000
local left = 0
local function exhausted()
  sethook(exhausted, '', 1)
  error('redlin: instruction budget exhausted', 0)
end
-- A run given an interrupt (Sandbox.run) polls it at every hook, as luaMaskCountHook calls
-- scriptInterrupt; no budget then: the interrupt ends the script (SCRIPT KILL, FUNCTION KILL).
local poll, polled = nil, false
local KILLED = 'Script killed by user with SCRIPT KILL...'
local function user_code(level)
  local frame = getinfo(level + 1, 'S')
  local source = frame and frame.source
  return source == '@user_script' or source == '@user_function'
end
local function kill()
  -- Like luaMaskCountHook after SCRIPT_KILL, error again at every instruction of the script's own
  -- code, so that no pcall can keep it going (not in the library's code: Redis's is C).
  if user_code(2) then error(KILLED, 0) end
end
local function count()
  left = left - 1
  if left <= 0 then exhausted() end
  if polled and poll() then
    sethook(kill, '', 1)
    if user_code(2) then error(KILLED, 0) end
  end
end
local function set_poll(f)
  poll = f
end

-- The server version a run imitates (Sandbox.mode): redis.REDIS_VERSION, the error handler (6.2's
-- returns a string) and how doubles are replied.
local configured = nil
local active_handler = handler
local function configure(mode)
  if mode == configured then return end
  configured = mode
  rawset(redis, 'REDIS_VERSION', mode.version)
  rawset(redis, 'REDIS_VERSION_NUM', mode.version_num)
  active_handler = mode.wrapper_62 and handler_62 or handler
  shortest = mode.shortest or false
end

local function set_resp(version)
  script_resp = version
end

local function run(f, budget, mode, keys, argv)
  configure(mode)
  script_resp = 2   -- scriptPrepareForRun: every script starts in RESP2
  rawset(REAL, 'KEYS', keys)
  rawset(REAL, 'ARGV', argv)
  left = budget
  sethook(count, '', HOOK_EVERY)
  polled = poll ~= nil
  local ok, v = xpcall(f, active_handler)
  polled = false  -- the script has ended: encoding its reply cannot be interrupted
  -- Still under the budget: encoding a reply may not end either (a table that holds itself
  -- several times, as map keys and values, is walked along every path).
  local tag, a, b, c = finish(ok, v)
  sethook()
  return tag, a, b, c
end

local function run_args(f, budget, mode, nkeys, ...)
  local args = {...}
  if nkeys == 0 then
    return run(f, budget, mode, {}, args)
  end
  return run(f, budget, mode, {unpack(args, 1, nkeys)}, {unpack(args, nkeys + 1, select('#', ...))})
end

local function compile(body)
  local f, message = loadstring(body, '@user_script')
  if not f then return nil, message end
  setfenv(f, ENV)
  return f
end

return {
  compile = compile, run = run, run_args = run_args, error_table = error_table,
  c_error = c_error, c_argerror = c_argerror, sethook = sethook, where_62 = where_62,
  tonumber = tonumber, tostring = tostring, new_table = function() return {} end,
  set_resp = set_resp, missing_global = missing_global, set_poll = set_poll,
}
"""


# ---------------------------------------------------------------------------- Python side


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _cstring(data: bytes) -> bytes:
    # What C code sees through a char*.
    nul = data.find(b"\0")
    return data if nul < 0 else data[:nul]


def command_reply_to_lua(lua: Any, argv: Sequence[bytes], reply: Reply, resp: int, texts_62: bool = False) -> Any:
    """redisProtocolToLuaType: what ``redis.call`` hands the script for a command's reply.

    ``lua`` is the :class:`~redlin.model._lua_runtime.Sandbox`.  In RESP2 (the default) nulls are
    ``false``; after ``redis.setresp(3)`` the script's client gets the command's RESP3 reply
    (:func:`redlin.model._resp3.to_resp3`), whose maps, sets, doubles, big numbers and verbatim
    strings become ``{map=}``, ``{set=}``, ``{double=}``, ``{big_number=}`` and
    ``{verbatim_string={format=, string=}}`` tables, booleans Lua booleans and a null ``nil``.
    """
    if resp == 3:
        reply = to_resp3(argv, reply)
    return _to_lua(lua, reply, texts_62)


def _to_lua(lua: Any, reply: Reply, texts_62: bool) -> Any:
    kind = type(reply)
    if kind is bytes or kind is int:
        return reply
    if reply is None or reply is NULL_ARRAY:
        return False
    if reply is NULL:
        return None
    if kind is tuple:
        return lua.array([_to_lua(lua, item, texts_62) for item in reply])  # type: ignore[union-attr]
    if kind is Status:
        return lua.runtime.table_from({b"ok": reply.text.encode("utf-8", "surrogateescape")})  # type: ignore[union-attr]
    if kind is Error:
        text = reply.text.encode("utf-8", "surrogateescape")  # type: ignore[union-attr]
        if texts_62:
            return lua.runtime.table_from({b"err": text})
        return lua.error_table(b"-" + text, True)
    return _resp3_to_lua(lua, reply, texts_62)


def _resp3_to_lua(lua: Any, reply: Reply, texts_62: bool) -> Any:
    kind = type(reply)
    wrap = lua.runtime.table_from
    if kind is MapReply:
        inner = lua.new_table()
        for key, value in reply.pairs:  # type: ignore[union-attr]
            inner[_to_lua(lua, key, texts_62)] = _to_lua(lua, value, texts_62)
        return wrap({b"map": inner})
    if kind is SetReply:
        inner = lua.new_table()
        for item in reply.items:  # type: ignore[union-attr]
            inner[_to_lua(lua, item, texts_62)] = True
        return wrap({b"set": inner})
    if kind is Double:
        return wrap({b"double": float(reply.raw)})  # type: ignore[union-attr]
    if kind is BigNumber:
        return wrap({b"big_number": reply.raw})  # type: ignore[union-attr]
    if kind is Verbatim:
        return wrap({b"verbatim_string": wrap({b"string": reply.body, b"format": reply.format})})  # type: ignore[union-attr]
    if kind is Boolean:
        return reply.value  # type: ignore[union-attr]
    if kind is Attributed:
        return _to_lua(lua, reply.reply, texts_62)  # type: ignore[union-attr]
    raise TypeError(f"not a command reply: {reply!r}")


def script_reply(outcome: tuple[Any, ...], sha: bytes, protocol: int = 2) -> Reply:
    r"""The Redis reply for what the script returned or raised (luaCallFunction), for a caller
    speaking RESP ``protocol``; ``outcome`` is what ``finish`` above returned.

    >>> script_reply((4, b"-3"), b"0" * 40), script_reply((7, False), b"0" * 40)
    (-3, 0)
    >>> script_reply((1, b"%1\r\n$1\r\na\r\n,1.5\r\n"), b"0" * 40, protocol=3)
    MapReply(((b'a', Double(b'1.5')),))
    """
    tag = outcome[0]
    if tag == 0:
        value = outcome[1]
        if type(value) is bytes:
            return value
        return 1 if value is True else None
    if tag == 4:
        return int(outcome[1])
    if tag == 6:
        return Status(_text(outcome[1]))
    if tag == 5:
        return Error(_text(outcome[1]))
    if tag == 1 or tag == 7:
        reply: Reply = Boolean(outcome[1])
        if tag == 1:
            parser = Parser()
            parser.feed(outcome[1])
            reply = parser.take()  # type: ignore[assignment]
        return reply if protocol == 3 else to_resp2(reply)
    if tag == 8:
        return _too_deep(outcome[1], outcome[2])
    if tag == 2:
        return _raised(outcome[1:4], sha)
    # The message handler itself failed ("error in error handling").
    detail = _text(_cstring(outcome[1])[:100]).replace("\r", " ").replace("\n", " ")
    return Error(f"ERR Error running script {sha.decode()}, {detail}".rstrip(" "))


def _too_deep(resp: bytes, depth: int) -> Error:
    if STACK_ERROR in resp:
        # A table that holds itself: Redis sends ~8000 nested arrays, the innermost this error.
        return Error("ERR reached lua stack limit")
    return Error(f"ERR redlin's model does not reply arrays nested {int(depth)} levels deep from a script")


STACK_ERROR: Final = b"-ERR reached lua stack limit\r\n"


# lupa refuses to call a Python function (redis.call, cjson.encode...) whose arguments fill Lua's C
# stack (7998 or more); Redis's C functions take them.  Say so rather than lupa's puzzling text.
_LUPA_LIMIT: Final = re.compile(rb"bad argument #1 to '[^']*' \(not a python object\)")
_MODEL_LIMIT: Final = b"redlin's model cannot pass more than 7997 arguments to a library function (lupa's limit)"


def _raised(fields: Sequence[Any], sha: bytes) -> Error:
    message, source, line = fields
    if message is None:
        # Redis 7.0 formats a NULL message here and crashes (error({}), error({err=true})).
        return Error("ERR redlin: the script raised an error table without an 'err' string "
                     "(this crashes Redis 7.0)")
    text = b"-" + _LUPA_LIMIT.sub(_MODEL_LIMIT, _cstring(message))
    if source is not None and line is not None:
        text += b" script: %s, on %s:%s." % (sha, _cstring(source), _cstring(line))
    return Error(_text(text[1:]).replace("\r", " ").replace("\n", " "))
