"""Redis 7.0's Lua scripting environment, rebuilt on one ``lupa.lua51`` runtime per process.

Redis runs every script in one Lua 5.1 interpreter whose globals are locked: a patched Lua makes
``_G`` and every library table read-only (``lua_enablereadonlytable``), reading a missing global
raises, and ``os``, ``io``, ``require``, ``print``, ``getfenv``... are gone (``script_lua.c``,
``eval.c`` at tag 7.0.15).  Stock Lua has no read-only tables, so :class:`Sandbox` gets the same
behaviour from proxies: each script's environment is an empty table whose ``__index`` is the
real globals table and whose ``__newindex`` raises; library tables are proxied the same way, and
the builtins that would bypass a metatable (``rawset``, ``rawget``, ``setmetatable``, ``next``,
``pairs``, ``loadstring``, ``load``) are wrapped.  The globals never change, so no state leaks from
one script to the next; ``KEYS`` and ``ARGV`` are replaced before every run.

Errors carry Redis's ``script: <sha>, on @user_script:<line>.`` suffix: like Redis, a run is an
``xpcall`` whose message handler records the position of the failing call.  Redis's library
functions are C functions, which matters for positions: an error raised inside one is reported at
its caller's line, even after a tail call (``return redis.call(...)``), since Lua keeps the frame
of a function that tail-calls a C function.  Here the functions that raise errors
(``redis.call``, ``math.random``, ``bit.*``, ``cjson.*``, ``cmsgpack.*``, ``struct.*``, and the
wrapped ``pairs``, ``setmetatable``, ``loadstring``, ``load``) are Python callables, which Lua also
sees as C frames, and they raise through :class:`LuaRaise`.  The rest of this module's Lua code
runs under the chunk name ``@redis_lib``, and the message handler treats a run of its frames like
one C function; only a failing tail call of one of them (``return rawset(_G, 'x', 1)``) loses the
caller's line (``on =(tail call):-1.``).

Reply conversion (``luaReplyToRedisReply``) is done in Lua, producing RESP2 bytes for tables, so
that it reads tables raw and in Lua's own ``next`` order, exactly as Redis does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import lupa.lua51 as lua51

NativeFactory = Callable[["Sandbox"], Mapping[str, Callable[..., Any]]]


# A script may run this many million Lua instructions (a few seconds) before the model gives up.
INSTRUCTION_BUDGET_MILLIONS = 100


class ScriptTooLong(RuntimeError):
    """A script ran past the model's instruction budget: Redis would still be running it (BUSY)."""


class LuaRaise(Exception):
    """Raised by a Python function called from Lua: the script sees a Lua error with ``value``.

    ``value`` is what Redis's C code would have raised: a message (bytes) for ``luaL_error``, or
    an error table (``{err=...}``) for ``redis.call`` and friends.
    """

    def __init__(self, value: Any) -> None:
        super().__init__(value)
        self.value = value


def _deny_attributes(obj: object, name: object, is_setting: bool) -> object:
    # Python callables are visible to scripts as userdata; never let a script reach their
    # attributes (``redis.call.__globals__`` would be a way out of the sandbox).
    raise AttributeError("not accessible from scripts")


# The chunk below runs once per process.  Its name, "@redis_lib", is how the message handler
# recognises its frames.  It receives the table of Python functions (``py``) and returns the
# functions the Python side calls.
_PRELUDE = r"""
local py = ...
local LIB = '@redis_lib'
local getinfo, dgetmetatable, sethook = debug.getinfo, debug.getmetatable, debug.sethook
local type, next, rawget, rawset, rawequal = type, next, rawget, rawset, rawequal
local setmetatable, getmetatable, tostring, tonumber = setmetatable, getmetatable, tostring, tonumber
local select, error, pcall, xpcall, unpack = select, error, pcall, xpcall, unpack
local loadstring, load, setfenv = loadstring, load, setfenv
local format, find, sub, gsub = string.format, string.find, string.sub, string.gsub
local floor, ceil, huge = math.floor, math.ceil, math.huge
local concat = table.concat
local unwrap = py.unwrap

-- ------------------------------------------------------------------ read-only tables

local REAL_OF = setmetatable({}, {__mode = 'k'})   -- proxy -> the table it stands for

local function readonly_newindex()
  error('Attempt to modify a readonly table', 2)
end

-- A read-only view of ``real``.  ``visible`` is what getmetatable() shows (false: none).
local function protect(real, visible)
  local proxy = setmetatable({}, {__index = real, __newindex = readonly_newindex, __metatable = visible})
  REAL_OF[proxy] = real
  return proxy
end

local function copy(t)
  local c = {}
  for k, v in next, t do c[k] = v end
  return c
end

local function nonexistent_global(_, name)
  local kind = type(name)
  if kind ~= 'string' and kind ~= 'number' then
    error('Second argument to luaProtectedTableError must be a string or number', 2)
  end
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end

local REAL = setmetatable({}, {__index = nonexistent_global})
local ENV = protect(REAL, protect({__index = nonexistent_global}, false))

local function typename(present, v)
  if not present then return 'no value' end
  return type(v)
end

-- The builtins that could get around a read-only table are replaced.  An implementation returns
-- true and its results, or false and how to fail: 'arg', n, text (luaL_argerror), 'error', text
-- (luaL_error) or 'raw', text (an error raised by the Lua core, without position).  Most are
-- called through a Python trampoline (py.trampoline), so that Lua sees a C function as in Redis:
-- a tail call ``return pairs(nil)`` then keeps its caller's frame, which error positions need.

local function table_arg(...)
  local t = ...
  if type(t) ~= 'table' then
    return false, 'arg', 1, 'table expected, got ' .. typename(select('#', ...) > 0, t)
  end
  return true
end

local function impl_rawset(...)
  local t, k, v = ...
  local ok, how, n, text = table_arg(...)
  if not ok then return false, how, n, text end
  local count = select('#', ...)
  if count < 2 then return false, 'arg', 2, 'value expected' end
  if count < 3 then return false, 'arg', 3, 'value expected' end
  if REAL_OF[t] then return false, 'raw', 'Attempt to modify a readonly table' end
  local done, message = pcall(rawset, t, k, v)   -- "table index is nil"
  if not done then return false, 'raw', message end
  return true, t
end

local function impl_rawget(...)
  local t, k = ...
  local ok, how, n, text = table_arg(...)
  if not ok then return false, how, n, text end
  if select('#', ...) < 2 then return false, 'arg', 2, 'value expected' end
  return true, rawget(REAL_OF[t] or t, k)
end

local function impl_setmetatable(...)
  local t, m = ...
  local ok, how, n, text = table_arg(...)
  if not ok then return false, how, n, text end
  local kind = type(m)
  if select('#', ...) < 2 or (kind ~= 'nil' and kind ~= 'table') then
    return false, 'arg', 2, 'nil or table expected'
  end
  if REAL_OF[t] then return false, 'raw', 'Attempt to modify a readonly table' end
  local current = dgetmetatable(t)
  if current and rawget(current, '__metatable') ~= nil then
    return false, 'error', 'cannot change a protected metatable'
  end
  return true, setmetatable(t, m)
end

local function impl_next(...)
  local t, k = ...
  local ok, how, n, text = table_arg(...)
  if not ok then return false, how, n, text end
  local done, key, value = pcall(next, REAL_OF[t] or t, k)   -- "invalid key to 'next'"
  if not done then return false, 'raw', key end
  if key == nil then return true, nil end
  return true, key, value
end

-- rawset, rawget and next take and give any Lua value, which a trip through Python would not keep
-- (coroutines, -0): they stay Lua functions and raise from here.  Only a tail call
-- ``return rawset(...)`` that fails loses its caller's line.
local function fail(fname, how, a, b)
  if how == 'arg' then error(format("bad argument #%d to '%s' (%s)", a, fname, b), 3) end
  if how == 'error' then error(a, 3) end
  error(a, 0)
end

local function sandbox_rawset(...)
  local ok, a, b, c = impl_rawset(...)
  if not ok then fail('rawset', a, b, c) end
  return a
end

local function sandbox_rawget(...)
  local ok, a, b, c = impl_rawget(...)
  if not ok then fail('rawget', a, b, c) end
  return a
end

local function sandbox_next(...)
  local ok, a, b, c = impl_next(...)
  if not ok then fail('next', a, b, c) end
  if a == nil then return nil end
  return a, b
end

local function impl_pairs(...)
  local t = ...
  local ok, how, n, text = table_arg(...)
  if not ok then return false, how, n, text end
  if REAL_OF[t] then return true, sandbox_next, t, nil end
  return true, next, t, nil
end

local function chunkname_arg(name)
  local kind = type(name)
  if kind ~= 'nil' and kind ~= 'string' and kind ~= 'number' then
    return false, 'arg', 2, 'string expected, got ' .. kind
  end
  return true
end

local function loaded(f, message)
  if not f then return true, nil, message end
  setfenv(f, ENV)   -- chunks see the script's globals, never lupa's
  return true, f
end

local function impl_loadstring(...)
  local s, name = ...
  local kind = type(s)
  if kind ~= 'string' and kind ~= 'number' then
    return false, 'arg', 1, 'string expected, got ' .. typename(select('#', ...) > 0, s)
  end
  local ok, how, n, text = chunkname_arg(name)
  if not ok then return false, how, n, text end
  return loaded(loadstring(s, name))
end

local function impl_load(...)
  local reader, name = ...
  if type(reader) ~= 'function' then
    return false, 'arg', 1, 'function expected, got ' .. typename(select('#', ...) > 0, reader)
  end
  local ok, how, n, text = chunkname_arg(name)
  if not ok then return false, how, n, text end
  local done, f, message = pcall(load, reader, name)
  if not done then return false, 'raw', f end
  return loaded(f, message)
end

-- Redis's pcall (luaRedisPcall) hands back the text of an error table, not the table.
local function pcall_result(ok, ...)
  if ok then return true, ... end
  local e = ...
  if type(e) == 'userdata' then e = unwrap(e) end
  if type(e) == 'table' then
    local text = e.err
    local kind = type(text)
    if kind == 'string' or kind == 'number' then e = text end
  end
  return false, e
end

local function sandbox_pcall(...)
  if select('#', ...) == 0 then return false, 'attempt to call a boolean value' end  -- as luaRedisPcall
  return pcall_result(pcall(...))
end

local function sandbox_xpcall(...)
  local f, handler = ...
  if select('#', ...) < 2 then error("bad argument #2 to 'xpcall' (value expected)", 2) end
  return xpcall(f, function(e)
    if type(e) == 'userdata' then e = unwrap(e) end
    return handler(e)
  end)
end

local resume = coroutine.resume
local function resume_result(ok, ...)
  if ok then return true, ... end
  local e = ...
  if type(e) == 'userdata' then e = unwrap(e) end
  return false, e
end
local function sandbox_resume(...)
  local co = ...
  if type(co) ~= 'thread' then error("bad argument #1 to 'resume' (coroutine expected)", 2) end
  return resume_result(resume(...))
end

-- ------------------------------------------------------------------ redis.* written in Lua

local function cstring(s)   -- what C code sees through a char*: the bytes before the first NUL
  local nul = find(s, '\0', 1, true)
  if nul then return sub(s, 1, nul - 1) end
  return s
end

-- luaPushErrorBuff: "-CODE msg" keeps its code, anything else gets ERR; CR/LF trimmed.
local function error_text(buffer)
  buffer = cstring(buffer)
  local code, message
  if sub(buffer, 1, 1) == '-' then
    local space = find(buffer, ' ', 1, true)
    if space then
      code, message = sub(buffer, 2, space - 1), sub(buffer, space + 1)
    else
      code, message = 'ERR', sub(buffer, 2)
    end
  else
    code, message = 'ERR', buffer
  end
  message = gsub(gsub(message, '^[\r\n]+', ''), '[\r\n]+$', '')
  return code .. ' ' .. message
end

local function error_table(buffer, from_command)
  local t = {err = error_text(buffer)}
  if from_command then t.ignore_error_stats_update = true end
  return t
end

local function error_reply(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  if sub(s, 1, 1) ~= '-' then s = '-' .. s end
  return {err = error_text(s)}
end

local function status_reply(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  return {ok = s}
end

local redis = {
  call = py.call, pcall = py.pcall, sha1hex = py.sha1hex, log = py.log, setresp = py.setresp,
  set_repl = py.set_repl, acl_check_cmd = py.acl_check_cmd,
  error_reply = error_reply, status_reply = status_reply,
  replicate_commands = function() return true end,
  breakpoint = function() return false end,
  debug = function() end,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REPL_NONE = 0, REPL_AOF = 1, REPL_SLAVE = 2, REPL_REPLICA = 2, REPL_ALL = 3,
  REDIS_VERSION = '7.0.15', REDIS_VERSION_NUM = 458767,
}

-- ------------------------------------------------------------------ the globals

local math_lib = copy(math)
math_lib.random, math_lib.randomseed = py.random, py.randomseed
local coroutine_lib = copy(coroutine)
coroutine_lib.resume = sandbox_resume
local string_lib = protect(copy(string), false)
local cjson_lib = {
  encode = py.cjson_encode, decode = py.cjson_decode, null = py.cjson_null,
  _NAME = 'cjson', _VERSION = '2.1.0',
}
local cmsgpack_lib = {
  pack = py.cmsgpack_pack, unpack = py.cmsgpack_unpack, unpack_one = py.cmsgpack_unpack_one,
  unpack_limit = py.cmsgpack_unpack_limit, _NAME = 'cmsgpack', _VERSION = 'lua-cmsgpack 0.4.0',
  _COPYRIGHT = 'Copyright (C) 2012, Salvatore Sanfilippo',
  _DESCRIPTION = 'MessagePack C implementation for Lua',
}
local struct_lib = {pack = py.struct_pack, unpack = py.struct_unpack, size = py.struct_size}
local bit_lib = {}
for _, name in ipairs({'tobit', 'bnot', 'band', 'bor', 'bxor', 'lshift', 'rshift', 'arshift',
                       'rol', 'ror', 'bswap', 'tohex'}) do
  bit_lib[name] = py['bit_' .. name]
end

-- Python functions are userdata sharing lupa's metatable: hide it, as C functions have none.
rawset(dgetmetatable(py.call), '__metatable', false)

for name, value in next, {
  _VERSION = _VERSION, assert = assert, collectgarbage = collectgarbage, error = error,
  gcinfo = gcinfo, getmetatable = getmetatable, ipairs = ipairs,
  load = py.trampoline(impl_load), loadstring = py.trampoline(impl_loadstring),
  next = sandbox_next, pairs = py.trampoline(impl_pairs), pcall = sandbox_pcall,
  rawequal = rawequal, rawget = sandbox_rawget, rawset = sandbox_rawset,
  select = select, setmetatable = py.trampoline(impl_setmetatable), tonumber = tonumber,
  tostring = tostring, type = type, unpack = unpack, xpcall = sandbox_xpcall,
  string = string_lib, table = protect(copy(table), false), math = protect(math_lib, false),
  coroutine = protect(coroutine_lib, false), redis = protect(redis, false),
  cjson = protect(cjson_lib, false), bit = protect(bit_lib, false),
  cmsgpack = protect(cmsgpack_lib, false), struct = protect(struct_lib, false),
} do
  rawset(REAL, name, value)
end
rawset(REAL, '_G', ENV)

-- ("x"):upper() finds string functions through the same read-only table; the strings'
-- metatable itself is shown read-only too (so no script can reach the real one).
local string_meta = dgetmetatable('')
string_meta.__index = string_lib
string_meta.__metatable = protect(copy(string_meta), false)

-- ------------------------------------------------------------------ errors

local handler = loadstring(py.handler_source, '@err_handler_def')(getinfo, unwrap, LIB)
rawset(REAL, '__redis__err__handler', handler)

-- luaL_where(L, 1) and luaL_argerror for a Python function called from Lua.  Seen from
-- position(), level 2 is c_error or c_argerror, level 3 the Python function, level 4 its caller.
local function position()
  local i = getinfo(4, 'Sl')
  if i and i.currentline > 0 then return format('%s:%d: ', i.short_src, i.currentline) end
  return ''
end

local function c_error(message)
  return position() .. message
end

local function c_argerror(narg, extra)
  local i = getinfo(2, 'n')
  local name = i and i.name
  if i and i.namewhat == 'method' then
    narg = narg - 1
    if narg == 0 then
      return position() .. format("calling '%s' on bad self (%s)", tostring(name), extra)
    end
  end
  return position() .. format("bad argument #%d to '%s' (%s)", narg, name or '?', extra)
end

-- ------------------------------------------------------------------ replies

local LLONG_MIN = '-9223372036854775808'

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
encode_into = function(v, out)
  local kind = type(v)
  if kind == 'string' then
    bulk(out, v)
  elseif kind == 'number' then
    out[#out + 1] = ':' .. integer_text(v) .. '\r\n'
  elseif kind == 'boolean' then
    out[#out + 1] = v and ':1\r\n' or '$-1\r\n'
  elseif kind == 'table' then
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
      if f == huge then bulk(out, 'inf') elseif f == -huge then bulk(out, '-inf') else bulk(out, format('%.17g', f)) end
      return
    end
    f = rawget(v, 'big_number')
    if type(f) == 'string' then
      bulk(out, oneline(f))
      return
    end
    f = rawget(v, 'verbatim_string')
    if type(f) == 'table' and type(rawget(f, 'format')) == 'string' and type(rawget(f, 'string')) == 'string' then
      bulk(out, rawget(f, 'string'))
      return
    end
    f = rawget(v, 'map')
    if type(f) == 'table' then
      local head, n = #out + 1, 0
      out[head] = false
      for key, value in next, f do
        encode_into(key, out)
        encode_into(value, out)
        n = n + 1
      end
      out[head] = '*' .. (2 * n) .. '\r\n'
      return
    end
    f = rawget(v, 'set')
    if type(f) == 'table' then
      local head, n = #out + 1, 0
      out[head] = false
      for key in next, f do
        encode_into(key, out)
        n = n + 1
      end
      out[head] = '*' .. n .. '\r\n'
      return
    end
    local head, j = #out + 1, 1
    out[head] = false
    while true do
      local item = rawget(v, j)
      if item == nil then break end
      encode_into(item, out)
      j = j + 1
    end
    out[head] = '*' .. (j - 1) .. '\r\n'
  else
    out[#out + 1] = '$-1\r\n'
  end
end

local function encode_table(v)
  local out = {}
  encode_into(v, out)
  return concat(out)
end

local function text_field(t, key)
  local v = t[key]
  local kind = type(v)
  if kind == 'string' then return v end
  if kind == 'number' then return tostring(v) end
  return nil
end

-- 0, value: a string, boolean or nil; 1, resp: a table's reply as RESP2 bytes; 2, err, source,
-- line: an error table (source and line set if it was raised); 3, text: the error handler failed;
-- 4, digits: a number as the integer Redis replies; 5, text: an error reply; 6, text: a status.
local function finish(ok, v)
  if ok then
    local kind = type(v)
    if kind == 'table' then
      local text = rawget(v, 'err')
      if type(text) == 'string' then return 5, sub(error_line(text), 2) end
      text = rawget(v, 'ok')
      if type(text) == 'string' then return 6, status_line(text) end
      local done, resp = pcall(encode_table, v)
      if done then return 1, resp end
      return 2, 'ERR reached lua stack limit'
    end
    if kind == 'number' then return 4, integer_text(v) end
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
local function count()
  left = left - 1
  if left <= 0 then exhausted() end
end

local function run(f, budget, keys, argv)
  rawset(REAL, 'KEYS', keys)
  rawset(REAL, 'ARGV', argv)
  left = budget
  sethook(count, '', HOOK_EVERY)
  local ok, v = xpcall(f, handler)
  sethook()
  return finish(ok, v)
end

local function run_args(f, budget, nkeys, ...)
  local args = {...}
  if nkeys == 0 then
    return run(f, budget, {}, args)
  end
  return run(f, budget, {unpack(args, 1, nkeys)}, {unpack(args, nkeys + 1, select('#', ...))})
end

local function compile(body)
  local f, message = loadstring(body, '@user_script')
  if not f then return nil, message end
  setfenv(f, ENV)
  return f
end

return {
  compile = compile, run = run, run_args = run_args, error_table = error_table,
  c_error = c_error, c_argerror = c_argerror, sethook = sethook,
  tonumber = tonumber, tostring = tostring, new_table = function() return {} end,
}
"""


# Redis's __redis__err__handler (eval.c): the error as a table, with the position of the failing
# call.  Redis skips one C frame (the library function that raised); here a library function may
# be the prelude's Lua code (plus the C function it called, usually error()): all of it is
# skipped.  Its own chunk name and line numbers are Redis's, which shows when the handler itself
# fails (``error(string)``: setting a field of a read-only table, on line 10).
_ERROR_HANDLER = b"""local getinfo, unwrap, LIB = ...
-- redlin: eval.c's __redis__err__handler, keeping its chunk name and the line of err['source'].
return function(err)
  if type(err) == 'userdata' then err = unwrap(err) end
  local level = 2 local i = getinfo(level, 'Sl')
  if i then local above = i.what == 'C' and getinfo(level + 1, 'S') if i.source == LIB or (above and above.source == LIB) then repeat level = level + 1 i = getinfo(level, 'Sl') until not i or i.source ~= LIB elseif i.what == 'C' then i = getinfo(level + 1, 'Sl') end end
  -- (from here on, eval.c's lines 8 to 13)
  if type(err) ~= 'table' then
    err = {err='ERR ' .. tostring(err)}  end  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end  return err
end
"""


class Sandbox:
    """The process's Lua interpreter with Redis's scripting environment loaded.

    ``natives`` builds the Python functions the environment exposes (``redis.call``, ``bit.*``,
    ``cjson.*``, ``math.random``...); each receives this sandbox so it can reach :attr:`current`,
    the state of the script being run.
    """

    # Arguments beyond this many are passed as tables built in Python (a Lua call has a bounded
    # number of arguments); below it, passing them directly is faster.
    _DIRECT_ARGS = 200

    def __init__(self, natives: NativeFactory) -> None:
        self.runtime = lua51.LuaRuntime(
            encoding=None, register_eval=False, register_builtins=False, attribute_filter=_deny_attributes,
            unpack_returned_tuples=True,  # only trampolines return tuples: their several results
        )
        self.current: Any = None
        functions = dict(natives(self))
        functions["unwrap"] = _unwrap
        functions["trampoline"] = self._trampoline
        functions["handler_source"] = _ERROR_HANDLER  # type: ignore[assignment]
        lua_globals = self.runtime.globals()
        chunk = lua_globals.loadstring(_PRELUDE.encode(), b"@redis_lib")
        exported = chunk(self.runtime.table_from({name.encode(): f for name, f in functions.items()}))
        self._compile = exported[b"compile"]
        self._run = exported[b"run"]
        self._run_args = exported[b"run_args"]
        self.error_table: Callable[..., Any] = exported[b"error_table"]
        self.c_error: Callable[[bytes], bytes] = exported[b"c_error"]
        self.c_argerror: Callable[[int, bytes], bytes] = exported[b"c_argerror"]
        self.tonumber: Callable[[Any], Any] = exported[b"tonumber"]
        self._sethook: Callable[[], None] = exported[b"sethook"]
        self.tostring: Callable[[Any], bytes] = exported[b"tostring"]
        self.new_table: Callable[[], Any] = exported[b"new_table"]
        # Lupa wraps every call in a handler found at globals().debug; the runs catch their own
        # errors, so drop it (and the other globals scripts must never see).
        for name in (b"debug", b"python", b"os", b"io", b"require", b"package", b"dofile", b"loadfile"):
            lua_globals[name] = None

    def _trampoline(self, implementation: Any) -> Callable[..., Any]:
        """A Python function (a C function to Lua) running a Lua ``impl_*`` of the prelude."""

        def native(*args: Any) -> Any:
            result = implementation(*args)
            if type(result) is not tuple:
                result = (result,)
            if result[0] is True:
                return result[1:]
            how = result[1]
            if how == b"arg":
                raise LuaRaise(self.c_argerror(result[2], result[3]))
            if how == b"error":
                raise LuaRaise(self.c_error(result[2]))
            raise LuaRaise(result[2])

        return native

    def compile(self, body: bytes) -> Any:
        """The compiled chunk, or the compiler's message (bytes) if ``body`` is not valid Lua."""
        result = self._compile(body)
        if type(result) is tuple:
            return result[1]
        return result

    def run(self, function: Any, args: Sequence[bytes], numkeys: int) -> tuple[Any, ...]:
        """Run a compiled script with KEYS = args[:numkeys], ARGV = the rest.

        Returns the raw outcome of ``finish`` in the prelude: ``(0, value)``, ``(1, resp)``,
        ``(2, err, source, line)``, ``(3, text)``, ``(4, digits)``, ``(5, error)`` or ``(6, status)``.
        """
        try:
            budget = INSTRUCTION_BUDGET_MILLIONS
            if len(args) <= self._DIRECT_ARGS:
                result = self._run_args(function, budget, numkeys, *args)
            else:
                table = self.runtime.table_from
                result = self._run(function, budget, table(list(args[:numkeys])), table(list(args[numkeys:])))
        except lua51.LuaError as error:
            self._sethook()  # a C function: no Lua instruction runs, so the hook cannot fire
            if "instruction budget exhausted" in str(error):
                raise ScriptTooLong(
                    f"a script ran more than {INSTRUCTION_BUDGET_MILLIONS} million Lua instructions; "
                    "Redis would still be running it (other clients would get BUSY)") from None
            raise
        return result if type(result) is tuple else (result,)

    def number(self, value: Any) -> float | None:
        """``lua_tonumber``: a number, a string Lua reads as one, or None."""
        kind = type(value)
        if kind is int or kind is float:
            return float(value)
        if kind is bytes:
            number = self.tonumber(value)
            return None if number is None else float(number)
        return None

    def array(self, items: list[Any]) -> Any:
        """A Lua array (1-based table) holding ``items`` (already Lua values)."""
        return self.runtime.table_from(items)

    def raise_error(self, message: bytes) -> LuaRaise:
        """``luaL_error`` from a Python function: the message gets its caller's position."""
        return LuaRaise(self.c_error(message))

    def argerror(self, position: int, extra: str) -> LuaRaise:
        """``luaL_argerror`` from a Python function (``bad argument #n to 'f' (...)``)."""
        return LuaRaise(self.c_argerror(position, extra.encode()))


def _unwrap(value: Any) -> Any:
    # The Lua side of LuaRaise: lupa hands Lua the exception object; give Lua its value instead.
    if type(value) is LuaRaise:
        return value.value
    return value


def lua_type(value: Any) -> str:
    """Lua's ``type()`` of a value received from Lua."""
    kind = type(value)
    if kind is bytes:
        return "string"
    if kind is bool:
        return "boolean"
    if kind is int or kind is float:
        return "number"
    if value is None:
        return "nil"
    kind_name: str = lua51.lua_type(value) or "userdata"
    return kind_name
