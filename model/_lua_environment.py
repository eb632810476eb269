"""Redis 7.0's Lua scripting environment, as Lua source: the locked globals scripts see.

Redis runs every script in one Lua 5.1 interpreter whose globals are locked: a patched Lua makes
``_G`` and every library table read-only (``lua_enablereadonlytable``), reading a missing global
raises, and ``os``, ``io``, ``require``, ``print``, ``getfenv``... are gone (``script_lua.c``,
``eval.c`` at tag 7.0.15).  Stock Lua has no read-only tables, so the code below gets the same
behaviour from proxies: each script's environment is an empty table whose ``__index`` is the real
globals table and whose ``__newindex`` raises; library tables are proxied the same way, and the
builtins that would bypass a metatable (``rawset``, ``rawget``, ``setmetatable``, ``next``,
``pairs``, ``loadstring``, ``load``) are wrapped (sheet E16, E29).  The globals never change, so no
state leaks from one script to the next.  The parts of ``redis.*`` that Redis writes in C but that need no
keyspace (``redis.error_reply``, ``redis.status_reply``, Redis's ``pcall`` handing back an error
table's text: ``luaRedisPcall``, E10) are written here in Lua; the rest are Python functions received
in the table ``py`` (:mod:`redlin.model._scripting`, :mod:`redlin.model._lua_libs`,
:mod:`redlin.model._lua_packing`).

Errors carry Redis's ``script: <sha>, on @user_script:<line>.`` suffix: a run is an ``xpcall``
whose message handler (:data:`ERROR_HANDLER_LUA`, Redis's ``__redis__err__handler``) records the
position of the failing call, and ``c_error`` / ``c_argerror`` give a Python function called from
Lua the positions of ``luaL_error`` / ``luaL_argerror`` (sheet E9, E14).

:data:`ENVIRONMENT_LUA` is the first part of the one chunk that :class:`redlin.model._lua_runtime.Sandbox`
loads (the second, :data:`redlin.model._lua_replies.REPLIES_LUA`, uses its locals); see
:mod:`redlin.model._lua_runtime` for how the two are run.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ENVIRONMENT_LUA", "ERROR_HANDLER_LUA"]

# The first part of the chunk "@redis_lib".  It receives the table of Python functions (``py``);
# it ends with the locals that REPLIES_LUA, appended to it, uses and exports.
ENVIRONMENT_LUA: Final = r"""
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

-- luaProtectedTableError, for an __index metamethod to call (not tail-call): level 3 is the code
-- that read the missing global.  The functions engine's load-time globals use it too.
local function missing_global(name)
  local kind = type(name)
  if kind ~= 'string' and kind ~= 'number' then
    error('Second argument to luaProtectedTableError must be a string or number', 3)
  end
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 3)
end

local function nonexistent_global(_, name)
  missing_global(name)
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
  if kind == 'string' and sub(s, 1, 1) == '\27' then
    -- Redis's Lua only parses text (its f_parser always calls luaY_parser): precompiled code is
    -- a syntax error on its first byte, which a leading space leaves unchanged.
    return loaded(loadstring(' ' .. s, name or s))
  end
  return loaded(loadstring(s, name))
end

local function impl_load(...)
  local reader, name = ...
  if type(reader) ~= 'function' then
    return false, 'arg', 1, 'function expected, got ' .. typename(select('#', ...) > 0, reader)
  end
  local ok, how, n, text = chunkname_arg(name)
  if not ok then return false, how, n, text end
  local first = true
  local function text_only()   -- as in loadstring: precompiled code is read as text
    local piece = reader()
    if first and type(piece) == 'string' and piece ~= '' then
      first = false
      if sub(piece, 1, 1) == '\27' then piece = ' ' .. piece end
    end
    return piece
  end
  local done, f, message = pcall(load, text_only, name)
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
local cjson_lib = {null = py.cjson_null, _NAME = 'cjson', _VERSION = '2.1.0'}
for _, name in ipairs({'encode', 'decode', 'encode_sparse_array', 'encode_max_depth', 'decode_max_depth',
                       'encode_number_precision', 'encode_keep_buffer', 'encode_invalid_numbers',
                       'decode_invalid_numbers', 'new'}) do
  cjson_lib[name] = py['cjson_' .. name]
end
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
local handler_62 = loadstring(py.handler_62_source, '@err_handler_def')(getinfo, unwrap, LIB)
rawset(REAL, '__redis__err__handler', handler)

-- Redis 6.2's luaPushError prefix: "<source>: <line>: " of the caller of the Python function that
-- calls this (level 1 is this function, 2 the Python function, 3 its caller).
local function where_62()
  local i = getinfo(3, 'Sl')
  if i then return format('%s: %d: ', i.source, i.currentline) end
  return ''
end

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

"""


# Redis's __redis__err__handler (eval.c): the error as a table, with the position of the failing
# call.  Redis skips one C frame (the library function that raised); here a library function may
# be the prelude's Lua code (plus the C function it called, usually error()): all of it is
# skipped.  Its own chunk name and line numbers are Redis's, which shows when the handler itself
# fails (``error(string)``: setting a field of a read-only table, on line 10).
# Redis 6.2's __redis__err__handler (scripting.c): the error as a *string*, "<source>:<line>: <err>",
# skipping the library frames as above.  Line 9 is Redis's concatenation line, so a table raised by
# error({...}) fails there, and the recursive call reports "@err_handler_def:9: ..." as 6.2 does.
ERROR_HANDLER_62_LUA: Final = b"""local getinfo, unwrap, LIB = ...
-- redlin: Redis 6.2's __redis__err__handler, keeping its chunk name and its line numbers.
return function(err)
  if type(err) == 'userdata' then err = unwrap(err) end
  local level = 2 local i = getinfo(level, 'Sl')
  if i then local above = i.what == 'C' and getinfo(level + 1, 'S') if i.source == LIB or (above and above.source == LIB) then repeat level = level + 1 i = getinfo(level, 'Sl') until not i or i.source ~= LIB elseif i.what == 'C' then i = getinfo(level + 1, 'Sl') end end
  -- (from here on, scripting.c's lines 8 to 12)
  if i then
    return i.source .. ':' .. i.currentline .. ': ' .. err
  else
    return err
  end
end
"""


ERROR_HANDLER_LUA: Final = b"""local getinfo, unwrap, LIB = ...
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
