"""EVAL EVALSHA EVAL_RO EVALSHA_RO SCRIPT (eval.c, script.c, script_lua.c): sheet items E1-E24, E28-E31.

A script runs inside one step: ``redis.call`` and ``redis.pcall`` execute model commands through
the step's :class:`Context`, so the script is atomic (E25) and the step stays a pure function of
its inputs.  Two caches are kept apart: ``State.scripts`` (sha -> body) is the *server's* script
cache, which SCRIPT LOAD and EVAL fill, SCRIPT FLUSH empties and EVALSHA / SCRIPT EXISTS consult;
``_COMPILED`` is this process's cache of compiled Lua chunks, keyed by sha, which no command can
observe.  The Lua environment itself lives in :mod:`redlin.model._lua_runtime`.

``redis.setresp(3)`` switches the script's client to RESP3 until the script ends: ``redis.call``
then hands it the command's RESP3 reply as Lua tables (:mod:`redlin.model._lua_replies`), and its
booleans are replied as RESP3 booleans.  A ``noscript`` command is refused with Redis's text, also
one the model's table lacks (ACL, CLIENT, CLUSTER RESET...: ``_NOSCRIPT_ELSEWHERE``).

Time (busy scripts, E25-E27, E32) belongs to a running server: a step given an ``interrupt``
polls it while the script runs, and the server kills the script through it (SCRIPT KILL in
:mod:`redlin.serve.busy`); in a step, SCRIPT KILL finds no script.  Left out: the debugger
(``SCRIPT DEBUG YES``).  Known limits: ``math.random`` cannot continue Redis's
server-wide sequence (see :attr:`Run.random`), and ``redis.call`` with more than 7997 arguments
fails in lupa ("bad argument #1 to 'call' (not a python object)": lupa's call of a Python
function checks the Lua C stack, which such a call fills), where Redis takes up to ~8000.
"""

from __future__ import annotations

import hashlib
import math
import threading
import zlib
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from immutables import Map

from ._commands import COMMANDS, CommandSpec, command, container
from ._engine import NOREPLICAS, CommandError, Context, help_reply
from ._lua_libs import Lrand48, c_int, library_natives
from ._lua_packing import packing_natives
from ._lua_replies import command_reply_to_lua, script_reply
from ._lua_runtime import LuaRaise, RunningScript, Sandbox, lua_type
from ._numbers import fpconv_dtoa, to_int
from ._profiles import Profile
from ._reply import NOT_INTEGER, OK, Error, Reply

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


@lru_cache(maxsize=1024)
def script_sha(body: bytes) -> bytes:
    """:func:`sha1hex` of a script body EVAL or SCRIPT LOAD names, remembered: a history sends a few
    bodies again and again, and hashing one of several kilobytes costs more than the rest of its
    step (``redis.sha1hex`` of a script's own values is not remembered: those can be anything)."""
    return sha1hex(body)


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

    __slots__ = ("ctx", "read_only", "_random", "bug", "declared", "wrapper_62", "texts_62", "resp", "cjson", "sha",
                 "running")

    def __init__(self, ctx: Context, read_only: bool, declared: frozenset[bytes] = frozenset(),
                 sha: bytes = b"") -> None:
        self.ctx = ctx
        self.sha = sha
        self.read_only = read_only
        self.declared = declared
        self._random: Lrand48 | None = None
        self.bug: BaseException | None = None
        self.wrapper_62 = ctx.profile.has("script-error-wrapper")
        self.texts_62 = ctx.profile.has("script-call-error-texts")
        self.resp = 2  # the script client's protocol: redis.setresp() changes it
        self.cjson: Any = None  # the cjson global's configuration, once the script changes it
        self.running: RunningScript | None = None  # what the step's interrupt sees

    @property
    def random(self) -> Lrand48:
        # Redis 7.0 never reseeds: math.random continues one sequence across all scripts since the
        # server started, so consecutive scripts draw different numbers.  A step cannot see that
        # history: a run at clock 0 (a model server's start) draws a fresh server's first numbers;
        # later, the sequence is seeded with the clock and the script's SHA1 (deterministic, and
        # different from one millisecond or script to the next, but not Redis's numbers).
        if self._random is None:
            self._random = Lrand48()
            if self.ctx.profile.has("script-random-reseeded"):
                self._random.seed(0)  # 6.2 calls redisSrand48(0) before every script
            elif self.ctx.now:
                self._random.seed(self.ctx.now ^ zlib.crc32(self.sha))
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
        sha = script_sha(argv[1])
        script = compiled(sha, argv[1], ctx.profile)
        _cache(ctx, sha, argv[1])
    if script.flags is not None and not script.no_writes and ctx.lacks_good_replicas():
        return NOREPLICAS  # a script with flags but not no-writes is a write (evalGetCommandFlags)
    if script.flags is not None and read_only and not script.no_writes:
        return Error("ERR Can not execute a script with write flag using *_ro command.")
    return run_script(ctx, sha, script, argv[3:], numkeys, read_only or script.no_writes)


_ONE_AT_A_TIME = threading.Lock()  # one Lua interpreter per process: runs from threads take turns


def run_script(ctx: Context, sha: bytes, script: Script, args: Sequence[bytes], numkeys: int,
               read_only: bool, command: Sequence[bytes] = ()) -> Reply:
    """Run ``script`` as client ``ctx.client``; the caller's selected DB is kept (E31).

    ``command`` is the FCALL that runs a function (empty for an EVAL): what the step's interrupt sees."""
    lua = sandbox()
    run = Run(ctx, read_only, frozenset(args[:numkeys]), sha)
    db = ctx.db
    poll = None
    if ctx.interrupt is not None:
        run.running = RunningScript(ctx.interrupt, not command, sha, tuple(command))
        ctx.interrupt(run.running)  # scriptPrepareForRun: the server times the script from here
        poll = run.running.poll
    with _ONE_AT_A_TIME:
        lua.current = run
        ctx.in_script = True
        try:
            outcome = lua.run(script.function, args, numkeys, ctx.profile, poll)
        finally:
            ctx.in_script = False
            lua.current = None
            ctx.select(db)
    if run.bug is not None:
        raise run.bug
    if run.wrapper_62 and outcome[0] == 3:
        # Redis 6.2's handler returns a string: "Error running script (call to f_<sha>): <it>".
        message = outcome[1]
        message = message[:message.find(b"\0")] if b"\0" in message else message
        text = message.decode("utf-8", "surrogateescape").rstrip("\r\n").replace("\r", " ").replace("\n", " ")
        return Error(f"ERR Error running script (call to f_{sha.decode()}): {text}")
    return script_reply(outcome, sha, ctx.session.protocol)




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


# Redis 7.0.15's commands flagged ``noscript`` that the model's table does not have (the server
# layer answers some of them, the model none): a script calling one gets Redis's refusal, after
# Redis's arity check, rather than "Unknown Redis command".
_NOSCRIPT_ELSEWHERE: dict[bytes, int] = {
    b"auth": -2, b"bgrewriteaof": 1, b"bgsave": -1, b"debug": -2, b"failover": -1, b"hello": -1, b"monitor": 1,
    b"replconf": -1, b"replicaof": 3, b"role": 1, b"slaveof": 3, b"cluster|reset": -2,
    b"acl|cat": -2, b"acl|deluser": -3, b"acl|dryrun": -4, b"acl|genpass": -2, b"acl|getuser": 3,
    b"acl|list": 2, b"acl|load": 2, b"acl|log": -2, b"acl|save": 2, b"acl|setuser": -3, b"acl|users": 2,
    b"acl|whoami": 2, b"client|caching": 3, b"client|getname": 2, b"client|getredir": 2, b"client|id": 2,
    b"client|info": 2, b"client|kill": -3, b"client|list": -2, b"client|no-evict": 3, b"client|pause": -3,
    b"client|reply": 3, b"client|setname": 3, b"client|tracking": -3, b"client|trackinginfo": 2,
    b"client|unblock": -3, b"client|unpause": 2, b"latency|doctor": 2, b"latency|graph": 3,
    b"latency|histogram": -2, b"latency|history": 3, b"latency|latest": 2, b"latency|reset": -2,
    b"module|list": 2, b"module|load": -3, b"module|loadex": -3, b"module|unload": 3,
}


def _served_elsewhere(argv: Sequence[bytes]) -> bytes | None:
    """scriptCall's refusal of a ``noscript`` command missing from the model's table, or None."""
    name = argv[0].lower()
    arity = _NOSCRIPT_ELSEWHERE.get(name)
    if arity is None and len(argv) > 1:
        arity = _NOSCRIPT_ELSEWHERE.get(name + b"|" + argv[1].lower())
    if arity is None:
        return None
    if (arity > 0 and len(argv) != arity) or len(argv) < -arity:
        return WRONG_ARITY
    return NOT_ALLOWED


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
        if spec is None and not profile.has("subcommand-errors-6.2"):
            refused = _served_elsewhere(argv)
            if refused is not None:
                return call_fail(refused, raise_error)
        if spec is None or not profile.knows(spec.name) or (spec.name == "quit" and run.texts_62):
            return call_fail(UNKNOWN_COMMAND, raise_error)  # 6.2 handles QUIT before its command table
        arity = profile.arity(spec.name, spec.arity)
        if (arity > 0 and len(argv) != arity) or len(argv) < -arity:
            return call_fail(WRONG_ARITY, raise_error)
        if _refused_in_scripts(spec, profile):
            return call_fail(NOT_ALLOWED, raise_error)
        if run.read_only and ("write" in spec.flags or spec.name in MAY_REPLICATE):
            return call_fail(b"Write commands are not allowed from read-only scripts.", raise_error)
        if "write" in spec.flags and run.ctx.lacks_good_replicas():  # scriptVerifyWriteCommandAllow
            return call_fail(b"-" + NOREPLICAS.text.encode(), raise_error)
        if run.running is not None and "write" in spec.flags:
            run.running.dirty = True  # SCRIPT_WRITE_DIRTY: SCRIPT KILL now answers UNKILLABLE
        if not run.ctx.undeclared and not _declares(run, spec, argv):
            run.ctx.undeclared = True
        try:
            reply = run.ctx.call(spec, argv)
        except Exception as bug:  # a bug in a handler: end the script, re-raise after it
            run.bug = bug
            raise LuaRaise(b"redlin: internal error") from bug
        if type(reply) is Error and raise_error and run.wrapper_62:
            raise LuaRaise(reply.text.encode("utf-8", "surrogateescape"))  # 6.2's luaRaiseError: the text
        value = command_reply_to_lua(lua, argv, reply, run.resp, run.texts_62)
        if type(reply) is Error and raise_error:
            raise LuaRaise(value)
        return value

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
        lua.current.resp = version
        lua.set_resp(version)

    def set_repl(*args: Any) -> None:
        if len(args) != 1:
            fail(b"redis.set_repl() requires two arguments.", False, True)
        if c_int(lua.number(args[0]) or 0.0) & ~3:
            fail(b"Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.", False, True)

    def acl_check_cmd(*args: Any) -> bool:
        argv = arguments(args)
        if _lookup(argv) is None and _served_elsewhere(argv) is None:  # no arity check here
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
    sha = script_sha(argv[2])
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
    return Error("NOTBUSY No scripts in execution right now.")  # the server kills (redlin.serve.busy)


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
           "script_keys", "script_sha", "sha1hex"]
