"""Running one script, and turning what it returns into a reply, as Lua source (``eval.c``).

Reply conversion (``luaReplyToRedisReply`` in ``script_lua.c``) is done in Lua, producing RESP
bytes for tables, so that it reads tables raw and in Lua's own ``next`` order, exactly as Redis
does.  The ``{double=}``, ``{map=}``, ``{set=}``, ``{big_number=}`` and ``{verbatim_string=}``
tables are written as RESP3 values; :mod:`redlin.model._scripting` gives a RESP2 caller their RESP2
form (:func:`redlin.model._resp3.to_resp2`), as Redis's ``addReply*`` functions do for it.  Also:
an ``{err=...}`` table is an error reply, ``{ok=...}`` a status, a number is truncated to an
integer as ``(long long)lua_tonumber()`` does on x86-64, ``false`` is a null bulk and ``true`` the
integer 1, and an array stops at its first nil (sheet E1-E7, E28, E30).  ``finish`` reports each outcome to Python as a
small tagged tuple (see its comment and ``Sandbox.run``).

A run sets ``KEYS`` and ``ARGV`` (E19), then calls the compiled script under ``xpcall`` with
Redis's message handler.  A runaway script would hang the model where Redis would answer BUSY to
everyone else (E25-E27, not modelled), so an instruction-count hook ends it past a budget: the
model's own limit, not Redis's (:class:`redlin.model._lua_runtime.ScriptTooLong`).

:data:`REPLIES_LUA` is the second part of the chunk that :class:`redlin.model._lua_runtime.Sandbox`
loads: it is appended to :data:`redlin.model._lua_environment.ENVIRONMENT_LUA`, uses that part's
locals (``REAL``, ``ENV``, ``handler``, ``cstring``, ``c_error``...) and returns the functions
the Python side calls.
"""

from __future__ import annotations

from typing import Final

__all__ = ["REPLIES_LUA"]

# The second part of the chunk "@redis_lib" (appended to ENVIRONMENT_LUA: one chunk, one scope).
REPLIES_LUA: Final = r"""-- ------------------------------------------------------------------ replies

local LLONG_MIN = '-9223372036854775808'
local shortest = false   -- the profile's doubles (7.2: shortest form), set by configure()

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
      for key, value in next, f do
        encode_into(key, out)
        encode_into(value, out)
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
        encode_into(key, out)
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

-- 0, value: a string, boolean or nil; 1, resp: a table's reply as RESP bytes; 2, err, source,
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

local function run(f, budget, mode, keys, argv)
  configure(mode)
  rawset(REAL, 'KEYS', keys)
  rawset(REAL, 'ARGV', argv)
  left = budget
  sethook(count, '', HOOK_EVERY)
  local ok, v = xpcall(f, active_handler)
  sethook()
  return finish(ok, v)
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
}
"""
