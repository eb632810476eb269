"""Redis 7.0's Lua scripting environment, rebuilt on one ``lupa.lua51`` runtime per process.

Redis runs every script in one Lua 5.1 interpreter with locked globals (``script_lua.c``,
``eval.c`` at tag 7.0.15).  :class:`Sandbox` is that interpreter: it loads, once per process, one
Lua chunk named ``@redis_lib`` made of two parts, and calls into it to compile and run scripts.

- :mod:`redlin.model._lua_environment`: the globals scripts see (read-only tables through
  proxies, the wrapped builtins, ``redis.*``, error positions; sheet E9, E10, E14, E16, E29).
- :mod:`redlin.model._lua_replies`: one run (``KEYS``, ``ARGV``, ``xpcall``, the instruction
  budget) and the conversion of what a script returns into a reply (``luaReplyToRedisReply``;
  sheet E1-E7, E28, E30).

The Python side (this module) owns the interpreter and the boundary between Lua and Python.  The
globals never change, so no state leaks from one script to the next; ``KEYS`` and ``ARGV`` are
replaced before every run.

Errors carry Redis's ``script: <sha>, on @user_script:<line>.`` suffix: like Redis, a run is an
``xpcall`` whose message handler records the position of the failing call.  Redis's library
functions are C functions, which matters for positions: an error raised inside one is reported at
its caller's line, even after a tail call (``return redis.call(...)``), since Lua keeps the frame
of a function that tail-calls a C function.  Here the functions that raise errors
(``redis.call``, ``math.random``, ``bit.*``, ``cjson.*``, ``cmsgpack.*``, ``struct.*``, and the
wrapped ``pairs``, ``setmetatable``, ``loadstring``, ``load``) are Python callables, which Lua also
sees as C frames, and they raise through :class:`LuaRaise`.  The rest of the chunk's Lua code runs
under the chunk name ``@redis_lib``, and the message handler treats a run of its frames like one C
function; only a failing tail call of one of them (``return rawset(_G, 'x', 1)``) loses the
caller's line (``on =(tail call):-1.``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import lupa.lua51 as lua51

from ._lua_environment import ENVIRONMENT_LUA, ERROR_HANDLER_62_LUA, ERROR_HANDLER_LUA
from ._lua_replies import REPLIES_LUA
from ._numbers import format_double_shortest
from ._profiles import Profile

NativeFactory = Callable[["Sandbox"], Mapping[str, Callable[..., Any]]]


# A script may run this many million Lua instructions (a few seconds) before the model gives up.
INSTRUCTION_BUDGET_MILLIONS = 100
# The budget of a run given an interrupt: that caller ends runaway scripts (SCRIPT KILL).
_UNBOUNDED = 2 ** 53


# The deepest nesting of arrays, maps and sets the model replies from a script: the Python side
# (parser, encoder) recurses once per level.  Redis goes as deep as its Lua stack lets it (about
# 8000 levels, then "reached lua stack limit"); deeper script replies are refused by the model.
MODEL_REPLY_DEPTH = 400


class ScriptTooLong(RuntimeError):
    """A script ran past the model's instruction budget: Redis would still be running it (BUSY)."""


class RunningScript:
    """The script a step is running, as the server that gave the step an interrupt sees it.

    Redis's ``scriptRunCtx`` as SCRIPT KILL, FUNCTION KILL and FUNCTION STATS read it: whether it
    is an EVAL (``eval_mode``, else an FCALL), its ``name`` (the SHA1, or the function's name),
    the ``command`` that runs it, and whether it has called a write command (``dirty``: Redis's
    SCRIPT_WRITE_DIRTY, after which it cannot be killed).  ``hooks`` counts the polls: the
    interrupt is called once when the script starts (0) and at every hook after.

    >>> seen = []
    >>> running = RunningScript(lambda script: seen.append(script.hooks) or script.hooks > 1, True, b"f", ())
    >>> running.poll(), running.poll(), seen
    (False, True, [1, 2])
    """

    __slots__ = ("eval_mode", "name", "command", "dirty", "hooks", "_interrupt")

    def __init__(self, interrupt: Interrupt, eval_mode: bool, name: bytes, command: tuple[bytes, ...]) -> None:
        self._interrupt = interrupt
        self.eval_mode = eval_mode
        self.name = name
        self.command = command
        self.dirty = False
        self.hooks = 0

    def poll(self) -> bool:
        """The hook (``luaMaskCountHook``): True when the server asks to kill the script."""
        self.hooks += 1
        return bool(self._interrupt(self))


Interrupt = Callable[[RunningScript], bool]
"""What a step may be given to end a script (``step(..., interrupt=...)``): called with the
:class:`RunningScript` when a script starts and at every hook; True kills it (SCRIPT KILL)."""


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


# The chunk runs once per process.  Its name, "@redis_lib", is how the message handler recognises
# its frames.  It receives the table of Python functions (``py``) and returns the functions the
# Python side calls.  One chunk, so that the second part sees the first part's locals.
_PRELUDE: Final = ENVIRONMENT_LUA + REPLIES_LUA


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
        functions["handler_source"] = ERROR_HANDLER_LUA  # type: ignore[assignment]
        functions["handler_62_source"] = ERROR_HANDLER_62_LUA  # type: ignore[assignment]
        functions["shortest"] = _shortest
        functions["model_depth"] = MODEL_REPLY_DEPTH  # type: ignore[assignment]
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
        self.where_62: Callable[[], bytes] = exported[b"where_62"]
        self.set_resp: Callable[[int], None] = exported[b"set_resp"]
        self.missing_global: Callable[[Any], None] = exported[b"missing_global"]
        self._set_poll: Callable[[Callable[[], bool] | None], None] = exported[b"set_poll"]
        self._modes: dict[str, Any] = {}
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

    def mode(self, profile: Profile | None) -> Any:
        """What a run needs to know of the server version, as a Lua table (one per profile)."""
        name = profile.name if profile is not None else ""
        mode = self._modes.get(name)
        if mode is None:
            version: tuple[bytes | None, int | None] = (b"7.0.15", 458767)
            if profile is not None and profile.has("no-redis-version-field"):
                version = (None, None)
            elif profile is not None and profile.has("redis-version-7.2"):
                version = (b"7.2.4", 459268)
            fields = {b"version": version[0], b"version_num": version[1],
                      b"wrapper_62": profile is not None and profile.has("script-error-wrapper"),
                      b"shortest": profile is not None and profile.has("shortest-double-replies")}
            mode = self._modes[name] = self.runtime.table_from({k: v for k, v in fields.items() if v is not None})
        return mode

    def run(self, function: Any, args: Sequence[bytes], numkeys: int, profile: Profile | None = None,
            interrupt: Callable[[], bool] | None = None) -> tuple[Any, ...]:
        """Run a compiled script with KEYS = args[:numkeys], ARGV = the rest, as ``profile``'s server.

        Returns the raw outcome of ``finish`` in the prelude: ``(0, value)``, ``(1, resp)``,
        ``(2, err, source, line)``, ``(3, text)``, ``(4, digits)``, ``(5, error)``, ``(6, status)``,
        ``(7, boolean)`` (RESP3) or ``(8, resp, depth)`` (nested too deep for the model).

        ``interrupt``, if given, is called every million instructions while the script's code runs
        (Redis's ``luaMaskCountHook``); when it returns True the script is killed: it fails with
        ``Script killed by user with SCRIPT KILL...``, and so does every later instruction of its
        code, which no ``pcall`` can catch.  Such a run has no instruction budget.
        """
        if interrupt is not None:
            self._set_poll(interrupt)
        try:
            budget = INSTRUCTION_BUDGET_MILLIONS if interrupt is None else _UNBOUNDED
            mode = self.mode(profile)
            if len(args) <= self._DIRECT_ARGS:
                result = self._run_args(function, budget, mode, numkeys, *args)
            else:
                table = self.runtime.table_from
                result = self._run(function, budget, mode, table(list(args[:numkeys])), table(list(args[numkeys:])))
        except lua51.LuaError as error:
            self._sethook()  # a C function: no Lua instruction runs, so the hook cannot fire
            if "instruction budget exhausted" in str(error):
                raise ScriptTooLong(
                    f"a script ran more than {INSTRUCTION_BUDGET_MILLIONS} million Lua instructions; "
                    "Redis would still be running it (other clients would get BUSY)") from None
            raise
        finally:
            if interrupt is not None:
                self._set_poll(None)
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


def _shortest(value: Any) -> bytes:
    return format_double_shortest(float(value))


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
