"""Busy scripts in the embedded server: BUSY replies, SCRIPT KILL and FUNCTION KILL (7.0.15).

A step that may run Lua (EVAL, EVALSHA, FCALL and their ``_RO`` forms, or an EXEC whose queue
holds one) runs in one dedicated worker thread, so that the event loop keeps reading the other
connections; every other step stays on the loop thread.  Atomicity is kept: while a script step
runs, no other step runs.  The model is given an ``interrupt`` (:data:`redlin.model._lua_runtime.Interrupt`)
that the script's instruction hook polls, as Redis's ``luaMaskCountHook`` calls ``scriptInterrupt``:

- Until ``busy-reply-threshold`` (alias ``lua-time-limit``, 5000 ms) has passed since the script
  started, other clients' commands wait for the step to end (Redis does not read them).
- After it, at the first poll, the script is *timed out*: each command of another client gets
  ``-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.``
  (``FUNCTION KILL`` for a function), unless it is unknown, has a wrong arity, or has the
  ``allow_busy`` flag (MULTI, DISCARD, WATCH, UNWATCH, QUIT, RESET, HELLO, SCRIPT KILL,
  FUNCTION KILL, FUNCTION STATS, SHUTDOWN; ``processCommand``).  A rejected command flags its
  client's transaction (EXECABORT at EXEC); a rejected EXEC ends the transaction with
  ``-EXECABORT Transaction discarded because of: BUSY ...`` (``rejectCommand``).
- SCRIPT KILL and FUNCTION KILL are answered at the script's next poll, where Redis answers them
  (``scriptKill``): ``-UNKILLABLE`` once the script called a write command, the other kind's BUSY
  text for the wrong command, else ``+OK``, and the script fails with ``Script killed by user
  with SCRIPT KILL...`` (which ``pcall`` cannot catch).  With no script running, the model
  answers ``-NOTBUSY``.  FUNCTION STATS shows the running function (BUSY for an EVAL).

The commands run meanwhile act on the state the script started from; each change they make (a
MULTI, a WATCH, a flagged transaction, a closed connection) is a pure function of the state,
replayed on the script step's result when it ends, as if they had come right after the script.
Left out: SHUTDOWN NOSAVE (the model answers it as it does outside a script; the script goes on).

>>> runs_lua([b"EVAL", b"return 1", b"0"], None), runs_lua([b"GET", b"k"], None)
(True, False)
>>> runs_lua([b"EXEC"], ((b"SET", b"k", b"v"), (b"FCALL", b"f", b"0"))), runs_lua([b"EVAL"], ())
(True, False)
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from redlin.model import Error, MapReply, Reply, State, Status, lookup
from redlin.model import step as model_step
from redlin.model._config_table import DEFAULTS
from redlin.model._lua_runtime import RunningScript

__all__ = ["Busy", "runs_lua"]

LUA_COMMANDS: Final = frozenset({b"eval", b"evalsha", b"eval_ro", b"evalsha_ro", b"fcall", b"fcall_ro"})
BUSY_EVAL: Final = Error("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
BUSY_FUNCTION: Final = Error(
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.")
UNKILLABLE: Final = Error(
    "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either "
    "wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
NOTBUSY: Final = Error("NOTBUSY No scripts in execution right now.")
_OK: Final = Status("OK")
# Commands of the server layer (not in the model's table) that busy time refuses; its HELLO has the
# allow-busy flag (the model's table says it for the model's own commands).
_SERVER_ONLY: Final = frozenset({b"client", b"command", b"info"})

Update = Callable[[State], State]


def runs_lua(argv: Sequence[bytes], queued: Sequence[Sequence[bytes]] | None) -> bool:
    """Whether a step of ``argv`` may run a script: a script command outside MULTI (``queued`` is
    the client's MULTI queue, None outside one), or an EXEC whose queue holds one."""
    name = argv[0].lower()
    if queued is None:
        return name in LUA_COMMANDS
    return name == b"exec" and any(command[0].lower() in LUA_COMMANDS for command in queued)


class _Run:
    """One script step in the worker thread, and what the loop thread knows of it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, threshold_ms: int) -> None:
        self.loop = loop
        self.threshold = threshold_ms / 1000
        self.started = time.monotonic()
        self.script: RunningScript | None = None  # the script running now (None: not started)
        self.timedout = False  # scriptIsTimedout(): read by the loop thread, set by the worker
        self.changed = asyncio.Event()  # set (on the loop) when timedout changes or the step ends
        self.killed = False
        self.closing = False  # the server closes: every script of the step is killed
        self.requests: list[tuple[bool, asyncio.Future[Reply]]] = []  # SCRIPT KILL (True) / FUNCTION KILL
        self.lock = threading.Lock()
        self.replay: list[Update] = []  # changes made meanwhile, for the step's result

    def signal(self) -> None:
        self.loop.call_soon_threadsafe(self.changed.set)

    def interrupt(self, script: RunningScript) -> bool:
        """The worker thread's side: ``scriptInterrupt`` at a poll of the running script."""
        if self.closing:
            return True
        if script.hooks == 0:  # a script starts (another one of an EXEC: the clock starts again)
            self.script, self.started, self.killed = script, time.monotonic(), False
            if self.timedout:
                self.timedout = False
                self.signal()
            return False
        if not self.timedout:
            if time.monotonic() - self.started < self.threshold or self.threshold <= 0:
                return False
            self.timedout = True  # enterScriptTimedoutMode: other clients are served from now on
            self.signal()
        with self.lock:
            requests, self.requests = self.requests, []
        for is_eval, future in requests:
            reply = kill_reply(script, is_eval)
            if reply is None:
                self.killed = True
                reply = _OK
            self.loop.call_soon_threadsafe(_resolve, future, reply)
        return self.killed


def kill_reply(script: RunningScript, is_eval: bool) -> Reply | None:
    """``scriptKill``: the error SCRIPT KILL (``is_eval``) or FUNCTION KILL gets, or None: killed."""
    if script.dirty:
        return UNKILLABLE
    if is_eval and not script.eval_mode:
        return BUSY_FUNCTION
    if not is_eval and script.eval_mode:
        return BUSY_EVAL
    return None


def _resolve(future: asyncio.Future[Reply], reply: Reply) -> None:
    if not future.done():
        future.set_result(reply)


class Busy:
    """The server's script steps: at most one runs, in :attr:`executor`'s one thread."""

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="redlin-script")
        self.run: _Run | None = None

    async def step(self, state: State, client: int, argv: Sequence[bytes], now: int,
                   salt: int) -> tuple[State, Reply]:
        """One script step, in the worker thread; the result has the meanwhile changes replayed."""
        loop = asyncio.get_running_loop()
        run = self.run = _Run(loop, _threshold(state))
        try:
            work = functools.partial(model_step, state, client, argv, now, salt=salt, interrupt=run.interrupt)
            state, reply = await loop.run_in_executor(self.executor, work)
            for update in run.replay:
                state = update(state)
            return state, reply
        finally:
            self.run = None
            run.changed.set()
            with run.lock:
                requests, run.requests = run.requests, []
            for _, future in requests:
                _resolve(future, NOTBUSY)  # the script ended before its next poll

    def log(self, update: Update) -> None:
        """Note a change made while a script step runs, to replay on its result."""
        if self.run is not None:
            self.run.replay.append(update)

    async def admit(self, state: State, client: int, argv: Sequence[bytes]) -> tuple[State, Reply] | None:
        """Wait while a script step runs and has not timed out; then None (the server serves the
        command as usual), or the reply busy-time gives it, with the state it leaves."""
        while True:
            run = self.run
            if run is None:
                return None
            if run.timedout:
                return await self._busy_reply(run, state, client, argv)
            run.changed.clear()
            if self.run is run and not run.timedout:
                await run.changed.wait()

    async def _busy_reply(self, run: _Run, state: State, client: int,
                          argv: Sequence[bytes]) -> tuple[State, Reply] | None:
        name = argv[0].lower()
        spec = lookup(argv)
        if spec is None:
            return None if name not in _SERVER_ONLY else self._reject(run, state, client, name)
        if (spec.arity > 0 and len(argv) != spec.arity) or len(argv) < -spec.arity:
            return None  # processCommand's arity check comes before the BUSY one
        if spec.name in ("script|kill", "function|kill"):
            future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
            with run.lock:
                run.requests.append((spec.name == "script|kill", future))
            return state, await future
        if spec.name == "function|stats":
            return state, self._function_stats(run, state, client, argv)
        if "allow_busy" in spec.flags:
            return None
        return self._reject(run, state, client, name)

    def _reject(self, run: _Run, state: State, client: int, name: bytes) -> tuple[State, Reply]:
        """``rejectCommand``: the BUSY error; a transaction is flagged, an EXEC aborts it."""
        script = run.script
        reply = BUSY_EVAL if script is None or script.eval_mode else BUSY_FUNCTION
        session = state.session(client)
        update: Update | None = None
        if name == b"exec":  # execCommandAbort: discardTransaction, in MULTI or not
            end = [b"DISCARD"] if session.multi is not None else [b"UNWATCH"]
            update = lambda s: model_step(s, client, end)[0]  # noqa: E731
            reply = Error(f"EXECABORT Transaction discarded because of: {reply.text}")
        elif session.multi is not None and not session.dirty_exec:
            update = lambda s: _flag_transaction(s, client)  # noqa: E731
        if update is not None:
            state = update(state)
            self.log(update)
        return state, reply

    def _function_stats(self, run: _Run, state: State, client: int, argv: Sequence[bytes]) -> Reply:
        """FUNCTION STATS while a script runs: BUSY for an EVAL, else the running function."""
        script = run.script
        if script is None or script.eval_mode:
            return BUSY_EVAL
        reply = model_step(state, client, argv)[1]
        if type(reply) is not tuple:
            return reply
        duration = int((time.monotonic() - run.started) * 1000)
        running: Reply = (b"name", script.name, b"command", script.command, b"duration_ms", duration)
        if state.session(client).protocol == 3:
            running = MapReply.flat(running)  # type: ignore[arg-type]
        return (reply[0], running) + reply[2:]

    def kill_all(self) -> None:
        """The server is closing: end the running script (killed even after writes)."""
        run = self.run
        if run is not None:
            run.closing = True

    def shutdown(self) -> None:
        self.kill_all()
        self.executor.shutdown(wait=False)



def _flag_transaction(state: State, client: int) -> State:
    """``flagTransaction``: the client's queued transaction will abort at EXEC."""
    session = state.session(client)
    if session.multi is None:
        return state
    return state.replace(sessions=state.sessions.set(client, session.replace(dirty_exec=True)))


def _threshold(state: State) -> int:
    value = state.config.get(b"busy-reply-threshold")
    return int(DEFAULTS[b"busy-reply-threshold"] if value is None else value)
