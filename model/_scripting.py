"""EVAL EVALSHA EVAL_RO EVALSHA_RO SCRIPT (eval.c, script.c, script_lua.c): sheet items E1-E24, E28-E31.

A script runs inside one step: ``redis.call`` and ``redis.pcall`` execute model commands through
the step's :class:`Context`, so the script is atomic (E25) and the step stays a pure function of
its inputs.  Two caches are kept apart: ``State.scripts`` (sha -> body) is the *server's* script
cache, which SCRIPT LOAD and EVAL fill, SCRIPT FLUSH empties and EVALSHA / SCRIPT EXISTS consult;
``_COMPILED`` is this process's cache of compiled Lua chunks, keyed by sha, which no command can
observe.  The Lua environment itself lives in :mod:`redlin.model._lua_runtime`.

Left out on purpose: time (busy scripts, SCRIPT KILL, E25-E27, E32 are about a running server),
RESP3 inside scripts (``redis.setresp(3)`` raises an error naming the model) and the debugger
(``SCRIPT DEBUG YES``).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from immutables import Map

from ._commands import COMMANDS, CommandSpec, command, container
from ._engine import CommandError, Context, help_reply
from ._lua_libs import Lrand48, c_int, library_natives
from ._lua_packing import packing_natives
from ._lua_runtime import LuaRaise, Sandbox, lua_type
from ._numbers import fpconv_dtoa, to_int
from ._profiles import Profile
from ._reply import NOT_INTEGER, NULL_ARRAY, OK, Error, Reply, Status
from ._resp import Parser
from ._resp3 import to_resp2

NOSCRIPT = Error("NOSCRIPT No matching script. Please use EVAL.")
NOSCRIPT_SHORT = Error("NOSCRIPT No matching script.")  # Valkey 8 (trait noscript-short-text)
# Commands with Redis's internal MAY_REPLICATE flag: refused in read-only scripts like writes.
MAY_REPLICATE = frozenset({"publish", "spublish", "pfcount"})
NO_ARGUMENTS = b"Please specify at least one argument for this redis lib call"
BAD_ARGUMENT = b"Lua redis lib command arguments must be strings or integers"
UNKNOWN_COMMAND = b"Unknown Redis command called from script"
WRONG_ARITY = b"Wrong number of args calling Redis command from script"
NOT_ALLOWED = b"This Redis command is not allowed from script"
# Redis 6.2's wordings of the same errors (profile trait script-call-error-texts).
TEXTS_62 = {
    NO_ARGUMENTS: b"Please specify at least one argument for redis.call()",
    BAD_ARGUMENT: b"Lua redis() command arguments must be strings or integers",
    UNKNOWN_COMMAND: b"Unknown Redis command called from Lua script",
    WRONG_ARITY: b"Wrong number of args calling Redis command From Lua script",
    NOT_ALLOWED: b"This Redis command is not allowed from scripts",
}
SHEBANG_FLAGS = frozenset({"no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"})


def sha1hex(body: bytes) -> bytes:
    """The script's name: lowercase hex SHA1 of its body."""
    return hashlib.sha1(body).hexdigest().encode()


def script_keys(argv: Sequence[bytes]) -> tuple[bytes, ...]:
    """The KEYS an EVAL-family call declares (none if numkeys is invalid)."""
    if len(argv) < 3:
        return ()
    count = to_int(argv[2])
    if count is None or count < 0 or count > len(argv) - 3:
        return ()
    return tuple(argv[3 : 3 + count])


# ---------------------------------------------------------------------------- compiled scripts


class Script:
    """A compiled script: its Lua function and its shebang flags (None without a shebang)."""

    __slots__ = ("function", "flags")

    def __init__(self, function: Any, flags: frozenset[str] | None) -> None:
        self.function = function
        self.flags = flags

    @property
    def no_writes(self) -> bool:
        return self.flags is not None and "no-writes" in self.flags


_COMPILED: dict[bytes, Script] = {}
_COMPILED_LIMIT = 100_000  # a bound for fuzzers that invent scripts without end


def _shebang(body: bytes) -> tuple[frozenset[str] | None, int]:
    """evalExtractShebangFlags: the flags of a ``#!lua flags=...`` first line, and its length."""
    if not body.startswith(b"#!"):
        return None, 0
    end = body.find(b"\n")
    if end < 0:
        raise CommandError(Error("ERR Invalid script shebang"))
    parts = body[:end].decode("utf-8", "surrogateescape").split()
    if not parts:
        raise CommandError(Error("ERR Invalid engine in script shebang"))
    if parts[0] != "#!lua":
        raise CommandError(Error(f"ERR Unexpected engine in script shebang: {parts[0]}"))
    flags: set[str] = set()
    for part in parts[1:]:
        if not part.startswith("flags="):
            raise CommandError(Error(f"ERR Unknown lua shebang option: {part}"))
        listed = part[len("flags="):]
        for flag in listed.split(",") if listed else ():
            if flag not in SHEBANG_FLAGS:
                raise CommandError(Error(f"ERR Unexpected flag in script shebang: {flag}"))
            flags.add(flag)
    return frozenset(flags), end


def _compile_error(message: bytes) -> CommandError:
    text = message.decode("utf-8", "surrogateescape").rstrip("\r\n").replace("\r", " ").replace("\n", " ")
    return CommandError(Error(f"ERR Error compiling script (new function): {text}"))


def compiled(sha: bytes, body: bytes, profile: Profile | None = None) -> Script:
    """luaCreateFunction: the script compiled (once per process), or CommandError as Redis replies.

    Under a profile without shebangs (6.2) a ``#!`` first line is Lua, that is a syntax error."""
    if profile is not None and body.startswith(b"#!") and profile.has("no-script-shebang"):
        result = sandbox().compile(body)
        if type(result) is bytes:
            raise _compile_error(result)
    script = _COMPILED.get(sha)
    if script is not None:
        return script
    flags, skip = _shebang(body)
    # The shebang line is skipped but its newline kept, so line numbers stay the user's.
    result = sandbox().compile(body[skip:])
    if type(result) is bytes:
        raise _compile_error(result)
    if len(_COMPILED) >= _COMPILED_LIMIT:
        _COMPILED.clear()
    script = _COMPILED[sha] = Script(result, flags)
    return script


def _cache(ctx: Context, sha: bytes, body: bytes) -> None:
    if sha not in ctx.scripts:
        ctx.scripts = ctx.scripts.set(sha, body)


# ---------------------------------------------------------------------------- running a script


class Run:
    """What the Lua side needs to know about the script being run."""

    __slots__ = ("ctx", "read_only", "_random", "bug", "declared", "wrapper_62", "texts_62")

    def __init__(self, ctx: Context, read_only: bool, declared: frozenset[bytes] = frozenset()) -> None:
        self.ctx = ctx
        self.read_only = read_only
        self.declared = declared
        self._random: Lrand48 | None = None
        self.bug: BaseException | None = None
        self.wrapper_62 = ctx.profile.has("script-error-wrapper")
        self.texts_62 = ctx.profile.has("script-call-error-texts")

    @property
    def random(self) -> Lrand48:
        # Redis 7.0 never reseeds: math.random continues one sequence across all scripts since the
        # server started.  A step cannot see that history, so every run starts where a fresh
        # server's first script does.
        if self._random is None:
            self._random = Lrand48()
            if self.ctx.profile.has("script-random-reseeded"):
                self._random.seed(0)  # 6.2 calls redisSrand48(0) before every script
        return self._random


def _noscript(ctx: Context) -> Error:
    return NOSCRIPT_SHORT if ctx.profile.has("noscript-short-text") else NOSCRIPT


def _eval(ctx: Context, argv: Sequence[bytes], by_sha: bool, read_only: bool) -> Reply:
    if by_sha and len(argv[1]) != 40:
        return _noscript(ctx)
    numkeys = to_int(argv[2])
    if numkeys is None:
        return NOT_INTEGER
    if numkeys > len(argv) - 3:
        return Error("ERR Number of keys can't be greater than number of args")
    if numkeys < 0:
        return Error("ERR Number of keys can't be negative")
    if by_sha:
        sha = argv[1].lower()
        body = ctx.scripts.get(sha)
        if body is None:
            return _noscript(ctx)
        script = compiled(sha, body, ctx.profile)
    else:
        sha = sha1hex(argv[1])
        script = compiled(sha, argv[1], ctx.profile)
        _cache(ctx, sha, argv[1])
    if script.flags is not None and read_only and not script.no_writes:
        return Error("ERR Can not execute a script with write flag using *_ro command.")
    return run_script(ctx, sha, script, argv[3:], numkeys, read_only or script.no_writes)


_ONE_AT_A_TIME = threading.Lock()  # one Lua interpreter per process: runs from threads take turns


def run_script(ctx: Context, sha: bytes, script: Script, args: Sequence[bytes], numkeys: int,
               read_only: bool) -> Reply:
    """Run ``script`` as client ``ctx.client``; the caller's selected DB is kept (E31)."""
    lua = sandbox()
    run = Run(ctx, read_only, frozenset(args[:numkeys]))
    db = ctx.db
    with _ONE_AT_A_TIME:
        lua.current = run
        ctx.in_script = True
        try:
            outcome = lua.run(script.function, args, numkeys, ctx.profile)
        finally:
            ctx.in_script = False
            lua.current = None
            ctx.select(db)
    if run.bug is not None:
        raise run.bug
    if run.wrapper_62 and outcome[0] == 3:
        # Redis 6.2's handler returns a string: "Error running script (call to f_<sha>): <it>".
        text = _text(_cstring(outcome[1])).rstrip("\r\n").replace("\r", " ").replace("\n", " ")
        return Error(f"ERR Error running script (call to f_{sha.decode()}): {text}")
    return _reply(outcome, sha, ctx.session.protocol)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _cstring(data: bytes) -> bytes:
    # What C code sees through a char*.
    nul = data.find(b"\0")
    return data if nul < 0 else data[:nul]


def _reply(outcome: tuple[Any, ...], sha: bytes, protocol: int = 2) -> Reply:
    """The Redis reply for what the script returned or raised (luaCallFunction), for a caller
    speaking RESP ``protocol`` (a script's own replies follow RESP2 rules either way)."""
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
    if tag == 1:
        parser = Parser()
        parser.feed(outcome[1])
        reply: Reply = parser.take()  # type: ignore[assignment]
        return reply if protocol == 3 else to_resp2(reply)
    if tag == 2:
        message, source, line = outcome[1:4]
        if message is None:
            # Redis 7.0 formats a NULL message here and crashes (error({}), error({err=true})).
            return Error("ERR redlin: the script raised an error table without an 'err' string "
                         "(this crashes Redis 7.0)")
        text = b"-" + _cstring(message)
        if source is not None and line is not None:
            text += b" script: %s, on %s:%s." % (sha, _cstring(source), _cstring(line))
        return Error(_text(text[1:]).replace("\r", " ").replace("\n", " "))
    # The message handler itself failed ("error in error handling").
    detail = _text(_cstring(outcome[1])[:100]).replace("\r", " ").replace("\n", " ")
    return Error(f"ERR Error running script {sha.decode()}, {detail}".rstrip(" "))


# ---------------------------------------------------------------------------- redis.* in Python


def _format_number(value: int | float, shortest: bool = False) -> bytes:
    """``%.17g`` of a Lua number (luaArgsToRedisArgv; 7.2: the shortest form).  lupa hands whole
    numbers over as int."""
    number = float(value)
    if number != number:
        return b"-nan" if math.copysign(1.0, number) < 0 else b"nan"
    if shortest:
        return fpconv_dtoa(number)
    return b"%.17g" % number


def _argv(args: tuple[Any, ...], shortest: bool = False) -> tuple[bytes, ...] | None:
    """luaArgsToRedisArgv: strings as they are, numbers formatted; None if anything else."""
    out = []
    for arg in args:
        kind = type(arg)
        if kind is bytes:
            out.append(arg)
        elif kind is int or kind is float:
            out.append(_format_number(arg, shortest))
        else:
            return None
    return tuple(out)


# Commands that reach keys no argument names (or another database): never "declared".
_BEYOND_KEYS = frozenset({"select", "swapdb", "move", "flushall", "flushdb", "dbsize", "keys", "scan", "randomkey"})


def _declares(run: Run, spec: CommandSpec, argv: Sequence[bytes]) -> bool:
    """Whether a command called from the script touches only keys the script declared in KEYS.

    Redis runs scripts that touch other keys too, but a checker that splits a history by key needs
    to know: it reads ``Context.undeclared`` (see ``model.step_reporting_undeclared``)."""
    if spec.name in _BEYOND_KEYS or "pubsub" in spec.flags:  # PUBLISH reaches subscribers, not keys
        return False
    if spec.reaches_undeclared(argv):  # SORT's BY and GET patterns read keys of the data's choosing
        return False
    try:
        return all(key in run.declared for key in spec.keys(argv))
    except (IndexError, ValueError):
        return False


def _lookup(argv: Sequence[bytes], profile: Profile | None = None) -> CommandSpec | None:
    """lookupCommand: a container with an unknown subcommand is no command at all (in 6.2, which
    has no subcommand table, the container itself, whose handler then refuses the subcommand)."""
    spec = COMMANDS.get(argv[0].lower())
    if spec is not None and spec.subcommands and profile is not None and profile.has("subcommand-errors-6.2"):
        return spec
    if spec is not None and spec.subcommands and len(argv) > 1:
        return spec.subcommands.get(argv[1].lower())
    return spec


def _refused_in_scripts(spec: CommandSpec, profile: Profile) -> bool:
    """CMD_NOSCRIPT, as the profile has it (7.2 lets blocking commands run, without blocking)."""
    if spec.subcommands:  # a 6.2 container: refused if its subcommands are (SCRIPT)
        return any("noscript" in sub.flags for sub in spec.subcommands.values())
    if "noscript" not in spec.flags:
        return False
    return not ("blocking" in spec.flags and profile.has("blocking-commands-in-scripts"))


def _redis_natives(lua: Sandbox) -> dict[str, Callable[..., Any]]:
    def fail(message: bytes, from_command: bool, raise_error: bool) -> Any:
        run: Run | None = lua.current
        table = lua.error_table(message, from_command)
        if raise_error:
            raise LuaRaise(message if run is not None and run.wrapper_62 else table)
        return table

    def call_fail(message: bytes, raise_error: bool) -> Any:
        """redis.call's own errors (luaPushError + luaRaiseError)."""
        run: Run = lua.current
        if run.texts_62:
            # 6.2: its own wording, "<source>: <line>: " before it, no error code.
            text = lua.where_62() + TEXTS_62.get(message, message)
            table = lua.runtime.table_from({b"err": text})
        else:
            table = lua.error_table(message, message not in (NO_ARGUMENTS, BAD_ARGUMENT))
            text = table[b"err"]
        if raise_error:
            raise LuaRaise(text if run.wrapper_62 else table)  # 6.2 raises the text
        return table

    def arguments(args: tuple[Any, ...]) -> tuple[bytes, ...]:
        """luaArgsToRedisArgv, raising its errors."""
        argv = _argv(args) if args else None
        if argv is None:
            fail(BAD_ARGUMENT if args else NO_ARGUMENTS, False, True)
        return argv  # type: ignore[return-value]

    def to_lua(reply: Reply) -> Any:
        kind = type(reply)
        if kind is bytes or kind is int:
            return reply
        if reply is None or reply is NULL_ARRAY:
            return False
        if kind is Status:
            return lua.runtime.table_from({b"ok": reply.text.encode("utf-8", "surrogateescape")})  # type: ignore[union-attr]
        if kind is Error:
            text = reply.text.encode("utf-8", "surrogateescape")  # type: ignore[union-attr]
            if lua.current is not None and lua.current.texts_62:
                return lua.runtime.table_from({b"err": text})
            return lua.error_table(b"-" + text, True)
        return lua.array([to_lua(item) for item in reply])  # type: ignore[union-attr]

    def execute(args: tuple[Any, ...], raise_error: bool) -> Any:
        """luaRedisGenericCommand and scriptCall: checks in Redis's order, then the command."""
        run: Run = lua.current
        if not args:
            return call_fail(NO_ARGUMENTS, raise_error)
        argv: tuple[bytes, ...] | None = args
        for arg in args:
            if type(arg) is not bytes:  # the common case is all strings: no copy
                argv = _argv(args, run.ctx.profile.has("shortest-double-replies"))
                if argv is None:
                    return call_fail(BAD_ARGUMENT, raise_error)
                break
        assert argv is not None
        profile = run.ctx.profile
        spec = _lookup(argv, profile)
        if spec is None or not profile.knows(spec.name) or (spec.name == "quit" and run.texts_62):
            return call_fail(UNKNOWN_COMMAND, raise_error)  # 6.2 handles QUIT before its command table
        arity = profile.arity(spec.name, spec.arity)
        if (arity > 0 and len(argv) != arity) or len(argv) < -arity:
            return call_fail(WRONG_ARITY, raise_error)
        if _refused_in_scripts(spec, profile):
            return call_fail(NOT_ALLOWED, raise_error)
        if run.read_only and ("write" in spec.flags or spec.name in MAY_REPLICATE):
            return call_fail(b"Write commands are not allowed from read-only scripts.", raise_error)
        if not run.ctx.undeclared and not _declares(run, spec, argv):
            run.ctx.undeclared = True
        try:
            reply = run.ctx.call(spec, argv)
        except Exception as bug:  # a bug in a handler: end the script, re-raise after it
            run.bug = bug
            raise LuaRaise(b"redlin: internal error") from bug
        if type(reply) is Error and raise_error:
            if run.wrapper_62:  # 6.2's luaRaiseError raises the error's text
                raise LuaRaise(reply.text.encode("utf-8", "surrogateescape"))
            raise LuaRaise(to_lua(reply))
        return to_lua(reply)

    def call(*args: Any) -> Any:
        return execute(args, True)

    def pcall(*args: Any) -> Any:
        return execute(args, False)

    def sha1(*args: Any) -> bytes:
        if len(args) != 1:
            fail(b"wrong number of arguments", False, True)
        value = args[0]
        if type(value) in (int, float):
            value = lua.tostring(value)
        return sha1hex(value if type(value) is bytes else b"")

    def log(*args: Any) -> None:
        if len(args) < 2:
            fail(b"redis.log() requires two arguments or more.", False, True)
        level = lua.number(args[0])
        if level is None:
            fail(b"First argument must be a number (log level).", False, True)
        if not 0 <= c_int(level) <= 3:  # type: ignore[arg-type]
            fail(b"Invalid debug level.", False, True)
        # The model keeps no log.

    def setresp(*args: Any) -> None:
        if len(args) != 1:
            fail(b"redis.setresp() requires one argument.", False, True)
        version = c_int(lua.number(args[0]) or 0.0)
        if version not in (2, 3):
            fail(b"RESP version must be 2 or 3.", False, True)
        if version == 3:
            fail(b"redlin's model does not implement RESP3 inside scripts (redis.setresp(3))", False, True)

    def set_repl(*args: Any) -> None:
        if len(args) != 1:
            fail(b"redis.set_repl() requires two arguments.", False, True)
        if c_int(lua.number(args[0]) or 0.0) & ~3:
            fail(b"Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.", False, True)

    def acl_check_cmd(*args: Any) -> bool:
        argv = arguments(args)
        if _lookup(argv) is None:
            fail(b"Invalid command passed to redis.acl_check_cmd()", False, True)
        return True  # the model has one user, allowed everything

    return {"call": call, "pcall": pcall, "sha1hex": sha1, "log": log, "setresp": setresp,
            "set_repl": set_repl, "acl_check_cmd": acl_check_cmd}


_SANDBOX: Sandbox | None = None


def _natives(lua: Sandbox) -> Mapping[str, Callable[..., Any]]:
    return {**_redis_natives(lua), **library_natives(lua), **packing_natives(lua)}


def sandbox() -> Sandbox:
    """The process's Lua environment (created on first use)."""
    global _SANDBOX
    if _SANDBOX is None:
        _SANDBOX = Sandbox(_natives)
    return _SANDBOX


# ---------------------------------------------------------------------------- commands


@command("eval", -3, "noscript stale movablekeys", keys_fn=script_keys)
def eval_(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _eval(ctx, argv, by_sha=False, read_only=False)


@command("evalsha", -3, "noscript stale movablekeys", keys_fn=script_keys)
def evalsha(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _eval(ctx, argv, by_sha=True, read_only=False)


@command("eval_ro", -3, "readonly noscript stale movablekeys", keys_fn=script_keys)
def eval_ro(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _eval(ctx, argv, by_sha=False, read_only=True)


@command("evalsha_ro", -3, "readonly noscript stale movablekeys", keys_fn=script_keys)
def evalsha_ro(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _eval(ctx, argv, by_sha=True, read_only=True)


container("script", -2)


@command("script|load", 3, "noscript stale")
def script_load(ctx: Context, argv: Sequence[bytes]) -> Reply:
    sha = sha1hex(argv[2])
    compiled(sha, argv[2], ctx.profile)
    _cache(ctx, sha, argv[2])
    return sha


@command("script|exists", -3, "noscript")
def script_exists(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return tuple(1 if sha.lower() in ctx.scripts else 0 for sha in argv[2:])  # case-insensitive (E20)


@command("script|flush", -2, "noscript")
def script_flush(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"sync", b"async")):
        return Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    if ctx.scripts:
        ctx.scripts = Map()
    return OK


@command("script|kill", 2, "noscript allow_busy")
def script_kill(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return Error("NOTBUSY No scripts in execution right now.")  # a step never overlaps a script


@command("script|debug", 3, "noscript")
def script_debug(ctx: Context, argv: Sequence[bytes]) -> Reply:
    mode = argv[2].lower()
    if mode == b"no":
        return OK
    if mode in (b"yes", b"sync"):
        return Error("ERR redlin's model does not implement 'script debug'")
    return Error("ERR Use SCRIPT DEBUG YES/SYNC/NO")


_HELP = (
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
)


@command("script|help", 2, "loading stale")
def script_help(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return help_reply(ctx, _HELP)


__all__ = ["MAY_REPLICATE", "NOSCRIPT", "Script", "compiled", "lua_type", "run_script", "sandbox",
           "script_keys", "sha1hex"]
