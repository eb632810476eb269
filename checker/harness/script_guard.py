"""The guard inside every script redlin sends: a Lua prelude that makes the server itself refuse.

A script's KEYS say which keys it means to touch, but what it does is decided by the server, where
:class:`redlin.harness.guard.Guard` cannot look.  So every script redlin sends is *wrapped*
(:func:`guard_script`): a one-line prelude runs before the workload's text and replaces, for that
text, every way to reach a command with a guarded one.  The guarded ``redis.call`` and
``redis.pcall`` check each command before the real one runs: a destructive command
(:data:`DESTRUCTIVE`, or one that touches every key) is refused unless the step declares
``"destructive": true`` *and* the run has ``--allow-destructive``; any other command must be known
to redlin's model (:data:`redlin.model.COMMANDS`, whose key positions this module embeds), and each
of its keys must be one of the script's KEYS, which the Python guard has already checked to lie
under the run's prefix.  A refusal raises a Lua error whose text starts with
``ERR redlin guard:`` (:data:`REFUSAL`): the server replies with it, the history records it, and
the model, which runs the same wrapped text, replies the same.

Why the workload's text cannot get around the prelude (Redis 7.0's Lua 5.1 sandbox, checked
against redis-server 7.0.15 and against the model):

1. *It runs first, and its statement is closed.*  Redis 7.0 compiles a script's body as a chunk
   of its own (``luaL_loadbuffer``), so the prelude, at the start of the body, runs before any of
   the workload's text, and it ends with ``;``, so no text after it can continue its expression
   (``... = (function() ... end)() and redis`` would hand over the real table).  A shebang line
   stays first (Redis strips it); the prelude follows on the next line.
2. *The workload's text sees only guarded values.*  The prelude declares locals over every name
   through which Lua code reaches a command or the real global table: ``redis`` (a proxy whose
   ``call``/``pcall`` are the guarded ones), ``_G`` (a proxy whose own entries are the same guarded
   values, reading anything else through to the read-only real table), ``pcall``, ``xpcall`` and
   ``coroutine`` (see 4), and ``loadstring``, ``load``, ``getfenv``, ``setfenv``, ``require``,
   ``module``, ``dofile``, ``loadfile``, ``newproxy``, ``debug``, ``os``, ``io``, ``package``
   (stubs that refuse when called or indexed: compiled code would see the real globals).  Locals
   are lexical: no later statement, closure, coroutine or ``pcall`` of the workload's text
   resolves those names any other way.  The real values live only as upvalues of the prelude's
   closures, which Lua 5.1 code can reach only through ``debug`` (absent from Redis 7.0, and
   shadowed).  The proxies' metatables are protected (``getmetatable`` shows a stub that refuses
   when indexed, ``setmetatable`` fails), and ``rawget``/``next`` on a proxy see only its own,
   guarded, entries.
3. *The checks cannot be fooled.*  The declared keys are copied before the workload's text runs
   (changing ``KEYS`` later changes nothing); arguments are strings compared by value, and the
   very values checked are the ones passed on; the command table is a string constant.  The
   library functions the checks use were captured before the workload's text ran, and Redis 7.0
   makes the globals and library tables read-only, so no earlier script can have replaced them.
   On a server whose globals are writable (KeyDB; Redis 6.2.14 has the protection, older releases
   may not) the prelude refuses every script, since an earlier one could have done so; and the
   Python guard sends no body that does not compile on its own (the wrapper of Redis 6 could otherwise be closed by the body's text).
4. *A refusal cannot be hidden.*  After the first refusal every guarded call refuses again, and the
   guarded ``pcall``, ``xpcall`` and ``coroutine.resume`` raise the refusal again when they return,
   so a script that catches it still ends with it (a fresh error table each time: a handler that
   edits the one it saw changes nothing).
5. *Nor can a refusal by the server's state.*  Redis 7.0's ``scriptCall`` refuses a command a script
   calls when the server is out of memory (``OOM``), a read-only replica (``READONLY``), stopped
   writes after a failed save (``MISCONF``) or has too few replicas (``NOREPLICAS``), each only
   before the script's first write, and on a stale replica (to a script flagged ``allow-stale``:
   a plain EVAL does not even start) every command not allowed while stale, every write among
   them: so at that point the script has written nothing.  The model knows no such state:
   a script that caught the refusal and carried on would do there what the server did not.  So the
   guarded ``redis.call`` and ``redis.pcall`` both run the command through the real ``redis.pcall``
   and look at its reply (``redis.call`` raises an error reply itself, as Redis would): one that
   starts as in :data:`STATE_REFUSALS` ends the script like a guard refusal, as 4 (every later
   guarded call, ``pcall``, ``xpcall`` and ``coroutine.resume`` raises it again), with the server's
   own text.  The reply is then ``<text> script: <sha>, on @user_script:N.``, which
   :func:`redlin.harness.server_state.rejection` takes for a definite FAIL (INFO for
   ``NOREPLICAS``).  Only the real ``redis.pcall``'s replies count: an error the workload's text
   raises itself (``error({err = 'OOM ...'})``) stays an ordinary error, caught or not.  The model
   never replies so, and runs the same prelude unchanged.

Costs and known limits: the prelude adds about 8 kB to each EVAL (EVALSHA sends only the SHA1),
and the model runs it on every script step.  Errors of a wrapped script's ``redis.call`` point at
the prelude's line (1, or 2 after a shebang) where Redis would name the caller's.  A command that
names no key cannot be limited to the run's keys (``PUBLISH`` to any channel passes, as it does
outside scripts).  EVALSHA names a body by its SHA1: a body someone *else* loaded into the server
under a SHA1 colliding with one of redlin's would answer it.
"""

from __future__ import annotations

import re
from typing import Final

from redlin.model import COMMANDS, CommandSpec, Error, Reply, keys_of

__all__ = [
    "CONNECTION_COMMANDS", "DESTRUCTIVE", "REFUSAL", "guard_script", "refusal", "script_policy", "script_source",
]

DESTRUCTIVE: Final = frozenset({
    b"flushall", b"flushdb", b"config", b"debug", b"shutdown", b"swapdb", b"move", b"script",
    b"function", b"fcall", b"fcall_ro", b"save", b"bgsave", b"bgrewriteaof", b"replicaof", b"slaveof",
    b"acl", b"client", b"cluster", b"failover", b"module", b"migrate", b"restore", b"sync", b"psync",
    b"monitor", b"keys", b"scan", b"randomkey", b"dbsize", b"select",
})
"""Commands a run never sends, nor lets a script run, without ``allow_destructive``: they change or
read the whole server, another database, or other users' state (FCALL runs functions someone else
loaded; ``SELECT`` is sent only once, on connecting, by redlin)."""

CONNECTION_COMMANDS: Final = frozenset({b"auth", b"hello", b"ping", b"info", b"echo"})
"""Keyless commands a run may send although the model need not know them."""

REFUSAL: Final = "ERR redlin guard: "
"""How every error reply of the guard inside a script starts."""

STATE_REFUSALS: Final = (
    "OOM command not allowed", "READONLY You can't write against a read only replica", "MISCONF ", "NOREPLICAS ",
    "ERR Can not execute the command on a stale replica",
)
"""How the texts start that Redis 7.0's ``scriptCall`` hands a script's ``redis.pcall`` (and raises from
``redis.call``) when the server's state refuses a command (``src/script.c`` and the shared error
texts of ``src/server.c`` at tag 7.0.15); the guard ends the script with it (see 5 above)."""

_POSITION: Final = re.compile(r" script: \S+, on \S+:-?\d+\.$")
"""What Redis appends to a script's error (``luaCallFunction``)."""

_STUBBED: Final = ("loadstring", "load", "getfenv", "setfenv", "dofile", "loadfile", "require", "module", "newproxy")
_SHADOWED: Final = ("redis", "_G", "pcall", "xpcall", "coroutine", "debug", "os", "io", "package", *_STUBBED)


# ----------------------------------------------------------------------------- the command table


def _numkeys_position(spec: CommandSpec) -> tuple[int, int] | None:
    """Where the numkeys argument of a ``keys_fn`` command is, and how many keys come before it,
    found by asking the function itself (EVAL's is argument 2 after no key, SINTERCARD's argument 1,
    ZUNIONSTORE's argument 2 after its destination); ``None`` if it follows no such rule."""
    assert spec.keys_fn is not None
    for position in range(1, 4):
        for fixed in range(position):
            agrees = True
            for count in (0, 1, 2):
                argv = [spec.name.encode()] + [b"w%d" % i for i in range(1, 8)]
                argv[position] = str(count).encode()
                keys = tuple(argv[1:1 + fixed]) + tuple(argv[position + 1:position + 1 + count])
                if spec.keys_fn(argv) != (keys if count or not fixed else ()):
                    agrees = False
            if agrees:
                return position, fixed
    return None


def _key_rule(name: bytes, spec: CommandSpec | None) -> str | None:
    """One command's entry of the Lua table: ``d`` destructive, ``a`` every key, empty for no key,
    ``first:last:step`` (argv positions, the name being 0), ``n<p>`` for a numkeys argument at p
    (``n<p>f<f>``: after ``f`` keys at positions 1 to f),
    a leading ``s`` for a container whose subcommands have entries of their own; ``None``: refused."""
    if name in DESTRUCTIVE:
        return "d"
    if spec is None:
        return "" if name in CONNECTION_COMMANDS else None
    if keys_of((name,)) is None or spec.undeclared_keys is not None:
        return "a"  # every key, or (SORT's BY/GET patterns, STORE anywhere) keys the data chooses
    if spec.keys_fn is not None:
        found = _numkeys_position(spec)
        if found is None:
            return None
        position, fixed = found
        return f"n{position}f{fixed}" if fixed else f"n{position}"
    if spec.first_key <= 0:
        return ""
    if spec.key_step <= 0:
        raise ValueError(f"{spec.name}: keys from {spec.first_key} with step {spec.key_step}")
    return f"{spec.first_key}:{spec.last_key}:{spec.key_step}"


def _specs() -> str:
    """Every known command's entry, as `` name=rule`` words (a string constant costs a script
    nothing to build, unlike a table)."""
    entries: list[str] = []
    for name in sorted(set(COMMANDS) | DESTRUCTIVE | CONNECTION_COMMANDS):
        spec = COMMANDS.get(name)
        rule = _key_rule(name, spec)
        if rule is None:
            continue
        if spec is not None and spec.subcommands and rule != "d":
            rule = "s" + rule
            for sub, subspec in sorted(spec.subcommands.items()):
                sub_rule = _key_rule(name, subspec)
                if sub_rule is not None:
                    entries.append(f"{name.decode()}|{sub.decode()}={sub_rule}")
        entries.append(f"{name.decode()}={rule}")
    return " " + " ".join(entries) + " "


# ----------------------------------------------------------------------------- the prelude

# Lua without comments: it is joined into one line, so that the workload's line numbers stay its own.
_LUA: Final = r"""
local $NAMES = (function()
  local real_redis, real_G, real_pcall, real_xpcall, real_coroutine, keys = redis, _G, pcall, xpcall, coroutine, KEYS
  local rpcall, resume = real_redis.pcall, real_coroutine.resume
  local type, select, error, rawget, rawset, setmetatable, tonumber = type, select, error, rawget, rawset, setmetatable, tonumber
  local find, match, lower, upper, sub, gsub = string.find, string.match, string.lower, string.upper, string.sub, string.gsub
  local floor = math.floor
  local ALLOW = $ALLOW
  local SPECS = '$SPECS'
  local STATE = {$STATE}
  local refusal, stated
  local function raise() error({err = refusal, ignore_error_stats_update = stated}) end
  local function refuse(text)
    if not refusal then refusal = '$REFUSAL' .. text end
    raise()
  end
  local function stopped(reply)
    local text = type(reply) == 'table' and rawget(reply, 'err')
    if type(text) == 'string' then
      for i = 1, #STATE do
        if sub(text, 1, #STATE[i]) == STATE[i] then
          refusal, stated = text, true
          raise()
        end
      end
    end
    return reply
  end
  if real_pcall(rawset, real_G, 'redlin_guard_probe', nil) then
    refuse("this server lets scripts change the shared Lua globals (KeyDB, older Redis), so no guard can hold there")
  end
  local declared = {}
  for i = 1, #keys do declared[keys[i]] = true end
  local function shown(value)
    if type(value) ~= 'string' then return '(a ' .. type(value) .. ')' end
    return "'" .. sub((gsub(value, '[^%w%p ]', '?')), 1, 60) .. "'"
  end
  local function spec_of(name)
    local at = find(SPECS, ' ' .. name .. '=', 1, true)
    if at then return match(SPECS, '^[^ ]*', at + #name + 2) end
  end
  local function verify(command, key)
    if type(key) ~= 'string' or not declared[key] then
      refuse(upper(command) .. " on key " .. shown(key) .. ": not one of the script's KEYS (a script may touch only the keys it declares)")
    end
  end
  local function check(...)
    if refusal then raise() end
    local n = select('#', ...)
    if n == 0 then return end
    local name = ...
    if type(name) ~= 'string' or not find(name, '^[%w_]+$') then
      refuse("the command " .. shown(name) .. " is not one the guard knows")
    end
    local command = lower(name)
    local spec = spec_of(command)
    if spec == 'd' then
      if ALLOW then return end
      refuse(upper(command) .. " reaches beyond the run's own keys (a script may run it only with \"destructive\": true on its step and --allow-destructive)")
    end
    if spec and sub(spec, 1, 1) == 's' then
      local word = select(2, ...)
      spec = sub(spec, 2)
      if type(word) == 'string' and find(word, '^[%w_%-]+$') then spec = spec_of(command .. '|' .. lower(word)) or spec end
    end
    if spec == nil then
      refuse(upper(command) .. ": redlin's model does not know it, so the guard cannot tell which keys it touches")
    end
    if spec == 'a' then
      if ALLOW then return end
      refuse(upper(command) .. " touches every key (a script may run it only with \"destructive\": true on its step and --allow-destructive)")
    end
    if spec == '' then return end
    local args = {...}
    local first, last, step = match(spec, '^(%d+):(%-?%d+):(%d+)$')
    if first then
      last = tonumber(last)
      if last < 0 then last = n + last end
      if last > n - 1 then last = n - 1 end
      for i = tonumber(first), last, tonumber(step) do verify(command, args[i + 1]) end
      return
    end
    local at, fixed = match(spec, '^n(%d+)f?(%d*)$')
    at = tonumber(at)
    local count = at and args[at + 1]
    if type(count) == 'string' and find(count, '^%d+$') then count = tonumber(count) end
    if type(count) ~= 'number' or count ~= floor(count) or count < 0 or at + count > n - 1 then
      refuse(upper(command) .. ": the guard cannot tell which keys it touches")
    end
    for i = 1, tonumber(fixed) or 0 do verify(command, args[i + 1]) end
    for i = at + 2, at + count + 1 do verify(command, args[i]) end
  end
  local function guarded_call(...)
    check(...)
    local reply = stopped(rpcall(...))
    if type(reply) == 'table' and type(rawget(reply, 'err')) == 'string' then error(reply) end
    return reply
  end
  local function guarded_redis_pcall(...) check(...) return stopped(rpcall(...)) end
  local function after(...)
    if refusal then raise() end
    return ...
  end
  local function guarded_pcall(...) return after(real_pcall(...)) end
  local function guarded_xpcall(...) return after(real_xpcall(...)) end
  local function guarded_resume(...) return after(resume(...)) end
  local hidden = setmetatable({}, {__metatable = false, __index = function(_, field)
    refuse("redlin's script guard hides debug, os, io, package and its tables' metatables (" .. shown(field) .. ")")
  end})
  local function proxy(real, own) return setmetatable(own, {__index = real, __newindex = real, __metatable = hidden}) end
  local function stub(name)
    return function() refuse(name .. " is not available inside redlin's script guard (it could reach around it)") end
  end
  local own = {redis = proxy(real_redis, {call = guarded_call, pcall = guarded_redis_pcall}), pcall = guarded_pcall,
               xpcall = guarded_xpcall, debug = hidden, os = hidden, io = hidden, package = hidden,
               coroutine = {create = real_coroutine.create, resume = guarded_resume, running = real_coroutine.running,
                            status = real_coroutine.status, wrap = real_coroutine.wrap, yield = real_coroutine.yield}}
  local stubbed = {$STUBBED}
  for i = 1, #stubbed do own[stubbed[i]] = stub(stubbed[i]) end
  own._G = own
  proxy(real_G, own)
  return $RETURNS
end)();
"""


def _prelude(allow_destructive: bool) -> bytes:
    """The prelude as one line (ending in a space), for one policy."""
    code = (_LUA.replace("$NAMES", ", ".join(_SHADOWED))
            .replace("$ALLOW", "true" if allow_destructive else "false")
            .replace("$REFUSAL", REFUSAL)
            .replace("$STATE", ", ".join(f'"{prefix}"' for prefix in STATE_REFUSALS))
            .replace("$SPECS", _specs())
            .replace("$STUBBED", ", ".join(f"'{name}'" for name in _STUBBED))
            .replace("$RETURNS", ", ".join(f"own.{name}" for name in _SHADOWED)))
    assert "--" not in code.replace("--allow-destructive", ""), "a Lua comment would swallow the line"
    assert not any(mark in prefix for prefix in STATE_REFUSALS for mark in ('"', "\\")), "quoted as Lua strings"
    return " ".join(line.strip() for line in code.strip().splitlines()).encode() + b" "


_PRELUDES: Final = {"strict": _prelude(False), "destructive": _prelude(True)}


def _split_shebang(body: bytes) -> tuple[bytes, bytes]:
    """``(shebang line with its newline, the rest)``; the first is empty without a shebang."""
    if body.startswith(b"#!"):
        end = body.find(b"\n")
        if end >= 0:
            return body[:end + 1], body[end + 1:]
    return b"", body


def guard_script(source: bytes, *, destructive: bool = False) -> bytes:
    """``source`` wrapped in the guard: the body redlin sends.  A ``#!lua`` line stays first, and
    the prelude shares the next line, so line numbers stay the workload's own.

    >>> body = guard_script(b"return redis.call('GET', KEYS[1])")
    >>> body.startswith(b"local redis, _G, pcall") and body.endswith(b"; return redis.call('GET', KEYS[1])")
    True
    >>> guard_script(b"#!lua flags=no-writes\\nreturn 1").split(b"\\n")[0]
    b'#!lua flags=no-writes'
    """
    shebang, rest = _split_shebang(source)
    return shebang + _PRELUDES["destructive" if destructive else "strict"] + rest


def script_policy(body: bytes) -> str | None:
    """``"strict"`` or ``"destructive"`` for a body wrapped by :func:`guard_script`, else ``None``.

    >>> script_policy(guard_script(b"return 1")), script_policy(b"return 1")
    ('strict', None)
    """
    _, rest = _split_shebang(body)
    for policy, prelude in _PRELUDES.items():
        if rest.startswith(prelude):
            return policy
    return None


def script_source(body: bytes) -> bytes:
    """The workload's own text of a wrapped body (for reports); any other body as it is.

    >>> script_source(guard_script(b"#!lua\\nreturn 1", destructive=True))
    b'#!lua\\nreturn 1'
    """
    shebang, rest = _split_shebang(body)
    policy = script_policy(body)
    return body if policy is None else shebang + rest[len(_PRELUDES[policy]):]


def refusal(reply: Reply) -> str | None:
    """The guard's refusal text if ``reply`` is one (an error reply of a wrapped script), without
    the position Redis appends.

    >>> refusal(Error("ERR redlin guard: FLUSHALL reaches beyond ... script: 1a2b, on @user_script:1."))
    'FLUSHALL reaches beyond ...'
    >>> refusal(Error("ERR wrong number of arguments")) is None
    True
    """
    if type(reply) is Error and reply.text.startswith(REFUSAL):
        return _POSITION.sub("", reply.text[len(REFUSAL):])
    return None
