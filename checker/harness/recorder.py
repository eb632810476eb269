"""Run a parallel program against a Redis server and record every operation as it happens.

One connection per client; the clients run in threads released together by a barrier.  Each
operation is exactly what the server executes atomically (DESIGN-NOTES, "What is one operation"):
one command, a whole ``MULTI ... EXEC`` block (its commands are written in one batch, and the
operation spans from that write to EXEC's reply), one ``EVAL``/``EVALSHA``; ``WATCH`` is an
operation of its own.  Invocation and completion times are the client's ``time.monotonic_ns()``.

Every invocation is written to the history file *before* the command is sent and every completion
right after the reply arrives, each line flushed (:class:`~redlin.history.jsonl.HistoryWriter`), so a crash
or Ctrl-C keeps everything that may have reached the server.  A timeout or a dropped connection
makes the operation indeterminate (INFO: it may or may not have taken effect); the client then
continues on a fresh connection under a new client id, because its session (WATCH, MULTI) ended
with the old one.  Reconnecting is retried for :attr:`Recorder.reconnect_time` seconds, so a
client outlives a server restart.

The server's state is not the command's answer (:mod:`redlin.harness.server_state`): an operation
refused before it ran (``OOM``, ``READONLY``, ``LOADING``, ``BUSY``, ``MASTERDOWN``, max number of
clients...) is recorded as failed (FAIL, with the error in the history file), or as indeterminate
where Redis does not guarantee it did not run, and counted in :attr:`Recorder.rejected`; refused
connections are counted in :attr:`Recorder.refused`.

Every connection the recorder opens reads the server's ``run_id`` (``INFO server``).  When it
changes, the server restarted: the recorder reads what the new process kept (``INFO
persistence``), keeps a :class:`~redlin.harness.server_state.Restart` in :attr:`Recorder.restarts`
(:class:`~redlin.harness.server_state.ProcessWatch` does the watching),
and, if the running execution recorded anything before, adds a ``RESTART`` operation to its
history (:mod:`redlin.adapter.restarts`), from the last invocation the old process answered to
the reply that revealed the new one.  A connection whose server does not say which process it is,
when an earlier one did, is not used (it is retried): its operations could not be placed.

Safety: every command is checked before it is sent (:class:`redlin.harness.guard.Guard`).

Where the target is and how to connect to it is :mod:`redlin.harness.target` (:class:`Target`,
:class:`TargetError` and :func:`open_connection` are re-exported here).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Final

from redlin.adapter.redis_model import canonical_result
from redlin.adapter.restarts import restart_call
from redlin.harness.actions import (
    Action,
    CasLoop,
    Command,
    Key,
    Pipeline,
    Program,
    ScriptCache,
    ScriptCall,
    Transaction,
    cache_command,
    cached_body,
    render,
)
from redlin.harness.execution import (
    RESTART_STEP,
    ClientConnection,
    Execution,
    OperationRecord,
    Throttle,
    next_value,
    wire_error_text,
)
from redlin.harness.guard import Guard, UnsafeCommand
from redlin.harness.interrupts import checkpoint
from redlin.harness.server_state import ProcessWatch, Restart, refuses_connection, rejection
from redlin.harness.target import ServerRefused, Target, TargetError, open_connection
from redlin.harness.wire import WireClosed, WireError
from redlin.history.jsonl import HistoryWriter
from redlin.history.records import History, Operation, Outcome
from redlin.model import NULL, NULL_ARRAY, Error, ProtocolError, Reply, Status

__all__ = ["Execution", "RECONNECT_TIME", "Recorder", "Restart", "Target", "TargetError", "next_value", "open_connection"]

Argv = tuple[bytes, ...]

RECONNECT_TIME: Final = 5.0
"""Seconds a client keeps trying to reconnect before it stops (long enough for a restart)."""


class Recorder:
    """Runs programs against one target, appending every operation to one history file.

    Parameters
    ----------
    target:
        The server under test.
    writer:
        Where events go, as they happen.
    guard:
        Checks every command before it is sent.
    timeout:
        Seconds to wait for each reply; past it the operation is indeterminate.
    rate:
        At most this many operations per second over all clients (``None``: as fast as possible).
    on_operation:
        Called after each completed operation (progress display); must be cheap and thread-safe.
    reconnect_time:
        Seconds a client keeps trying to reconnect after losing its connection (an execution's
        first connection too), before it stops.
    protocol:
        The RESP version the connections speak (3: replies kept in RESP3 types; meta ``protocol``).
    """

    def __init__(self, target: Target, writer: HistoryWriter, guard: Guard, *, timeout: float = 5.0,
                 rate: float | None = None, on_operation: Callable[[], None] | None = None,
                 reconnect_time: float = RECONNECT_TIME, protocol: int = 2) -> None:
        self.target = target
        self.protocol = protocol
        self.writer = writer
        self.guard = guard
        self.timeout = timeout
        self.reconnect_time = reconnect_time
        self.rejected: Counter[str] = Counter()
        """Operations the server's state rejected, by code (:data:`~redlin.harness.server_state.CODES`),
        over every execution: what ``rejection_note`` words for the report."""
        self.refused: Counter[str] = Counter()
        """Connection attempts the server refused (``max clients``, or a database it could not
        select while busy), over every execution."""
        self.closed: Counter[bool] = Counter()
        """Connections the server closed under an operation, by whether the reply before was an error."""
        self.watch = ProcessWatch()
        """Which server process answers: ``watch.run_id`` (``None`` while no connection could tell,
        and then restarts cannot be noticed) and ``watch.restarts``, every restart noticed, in order
        (also between executions)."""
        self.stop = threading.Event()
        """Set it to make every client stop after its current operation."""
        self.last: Execution | None = None
        """The latest execution, also when Ctrl-C interrupted it (``execute`` then re-raises)."""
        self.touched: set[bytes] = set()
        """Every key any execution sent a command on (what :meth:`delete_keys` should remove)."""
        self.origin: int | None = None
        """The earliest invocation time recorded: time 0 of the history file, and so of every
        execution's history (its ``time_origin``), so that all of them read times alike."""
        self._throttle = Throttle(rate)
        self._on_operation = on_operation
        self.busy_ns = 0
        """Nanoseconds clients have spent waiting for replies, over every execution (a display
        figure: the threads add to it without a lock)."""
        self._ids = 0
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ public

    def execute(self, program: Program, prefix: bytes, index: int = 0) -> Execution:
        """Run ``program`` once with every key under ``prefix`` (which must lie under the guard's).

        The setup runs first on a client of its own; then one thread per non-empty client list,
        all released together.  Raises ``KeyboardInterrupt`` after stopping the clients (the
        partial execution is in :attr:`last`), :class:`TargetError`/``WireError`` if not even the
        first connection can be opened (it is tried for :attr:`reconnect_time` seconds), and
        :class:`UnsafeCommand` for a bug.
        """
        if not prefix.startswith(self.guard.prefix):
            raise UnsafeCommand(f"execution prefix {prefix!r} is outside the run's {self.guard.prefix!r}")
        run = _ExecutionRun(self, prefix, index)
        started = time.monotonic()
        interrupted = False
        try:
            run.go(program)
        except KeyboardInterrupt:
            interrupted = True
            self.stop.set()
            if run.barrier is not None:
                run.barrier.abort()  # clients already waiting for others that never started
            run.join()
        self.last = run.result(interrupted, time.monotonic() - started)
        self.touched |= self.last.keys
        if interrupted:
            raise KeyboardInterrupt
        if run.failure is not None:
            raise run.failure
        return self.last

    def delete_keys(self, keys: Iterable[bytes], *, batch: int = 256) -> int:
        """``DEL`` the given keys (all must lie under the prefix); returns how many existed.  Not
        recorded: it runs after the clients are done."""
        todo = sorted(set(keys))
        removed = 0
        if not todo:
            return 0
        with open_connection(self.target, self.timeout) as conn:
            for start in range(0, len(todo), batch):
                argv = (b"DEL", *todo[start:start + batch])
                self.guard.check(argv)
                reply = conn.execute(*argv)
                if type(reply) is int:
                    removed += reply
        return removed

    # ------------------------------------------------------------------ used by executions

    @property
    def restarts(self) -> list[Restart]:
        """Every restart of the server noticed so far, in order (``watch.restarts``)."""
        return self.watch.restarts

    @property
    def run_id(self) -> str | None:
        """The server process answering now (``watch.run_id``)."""
        return self.watch.run_id

    def new_client_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids


class _ExecutionRun:
    """The mutable state of one execution while its threads run."""

    def __init__(self, recorder: Recorder, prefix: bytes, index: int) -> None:
        self.recorder = recorder
        self.prefix = prefix
        self.index = index
        self.records: list[OperationRecord] = []
        self.keys: set[bytes] = set()
        self.loaded: set[bytes] = set()  # script shas EVAL'd in this execution
        self.problems: list[str] = []
        self.rejected: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.restarts: list[Restart] = []
        self.failure: BaseException | None = None
        self.threads: list[threading.Thread] = []
        self.barrier: threading.Barrier | None = None
        self.lock = threading.Lock()

    def go(self, program: Program) -> None:
        recorder = self.recorder
        if program.setup:
            setup = self.first_client()
            try:
                for index, action in enumerate(program.setup):
                    checkpoint()  # a signal stops the setup between steps
                    if recorder.stop.is_set() or setup.conn is None:
                        break
                    setup.step = (-1, index)
                    self.perform(setup, action)
            finally:
                if setup.conn is not None:
                    setup.conn.close()
            if self.failure is not None:
                return
        slots = [slot for slot, actions in enumerate(program.clients) if actions]
        clients: list[ClientConnection] = []
        for _ in slots:
            if clients or program.setup:
                client = ClientConnection(recorder.new_client_id(), None)
                self.attach(client, time.monotonic())  # one try: a refused client retries in its thread
            else:
                client = self.first_client()
            clients.append(client)
        self.barrier = barrier = threading.Barrier(len(clients)) if clients else None
        for client, slot in zip(clients, slots, strict=True):
            thread = threading.Thread(target=self.client_loop, args=(client, slot, program.clients[slot], barrier),
                                      name=f"redlin-client-{client.id}", daemon=True)
            self.threads.append(thread)
            thread.start()
        self.join()

    def join(self) -> None:
        for thread in self.threads:
            while thread.is_alive():
                thread.join(0.05)  # short waits, so that a signal is noticed promptly
                checkpoint()

    def first_client(self) -> ClientConnection:
        """The execution's first client, connected (retried for ``reconnect_time``), or the last
        error raised: the target is gone."""
        client = ClientConnection(self.recorder.new_client_id(), None)
        error = self.attach(client, time.monotonic() + self.recorder.reconnect_time)
        if error is not None:
            raise error
        return client

    def attach(self, client: ClientConnection, until: float) -> BaseException | None:
        """Give ``client`` a connection to an identified server, trying until ``until``
        (``time.monotonic()``); ``None``, or the last error.  A wrong password or database is not
        retried."""
        recorder = self.recorder
        pause = 0.05
        while True:
            try:
                conn = open_connection(recorder.target, recorder.timeout, recorder.protocol)
            except ServerRefused as error:
                self.count_refusal(error.code)
                last: BaseException = error
            except TargetError as error:
                return error
            except WireError as error:
                last = error
            else:
                try:
                    client.run_id = recorder.watch.identify(conn, self.index, self.add_restart)
                except (WireError, ProtocolError) as error:
                    conn.close()
                    if isinstance(error, ServerRefused):
                        self.count_refusal(error.code)
                    last = error
                else:
                    client.conn, client.erred = conn, False  # a new connection has had no reply yet
                    return None
            left = until - time.monotonic()
            if left <= 0 or recorder.stop.wait(min(pause, left)):
                return last
            checkpoint()  # the main thread waiting for the setup's or the first client's connection
            # A server that answers but refuses (busy, loading, full) is polled often; one that does
            # not answer (restarting) less and less often.
            pause = 0.05 if isinstance(last, ServerRefused) else min(pause * 2, 0.5)

    def reconnect(self, client: ClientConnection) -> None:
        """Replace a broken connection with a fresh one under a new client id (or give up)."""
        if client.conn is not None:
            client.conn.close()
        client.conn = None
        old = client.id
        error = self.attach(client, time.monotonic() + self.recorder.reconnect_time)
        if error is None:
            client.id = self.recorder.new_client_id()
            return
        if not self.recorder.stop.is_set():
            with self.lock:
                self.problems.append(f"client {old} stopped: cannot reconnect ({error})")

    def count_refusal(self, code: str) -> None:
        with self.lock:
            self.refused[code] += 1
        with self.recorder._lock:
            self.recorder.refused[code] += 1

    def add_restart(self, restart: Restart) -> None:
        """Record ``restart`` (called once per restart, by the recorder): a ``RESTART`` operation if
        anything of this execution was recorded before it (else nothing recorded can have run on
        the old process)."""
        recorder = self.recorder
        with self.lock:
            self.restarts.append(restart)
            if not self.records:
                return
            number = len(self.restarts) - 1
        client = recorder.new_client_id()
        call = (restart_call(restart.data, restart.before, restart.after),)
        reply = (Status("OK"),)
        op = recorder.writer.invoke(client=client, call=call, time=restart.earliest)
        recorder.writer.complete(op, Outcome.OK, time=restart.latest, result=reply)
        with recorder._lock:
            if recorder.origin is None or restart.earliest < recorder.origin:
                recorder.origin = restart.earliest
        with self.lock:
            self.records.append(OperationRecord(client, call, restart.earliest, (RESTART_STEP, number), restart.latest,
                                        Outcome.OK, reply))

    def client_loop(self, client: ClientConnection, slot: int, actions: Sequence[Action],
                    barrier: threading.Barrier | None) -> None:
        try:
            if barrier is not None:
                try:
                    barrier.wait()
                except threading.BrokenBarrierError:
                    return  # Ctrl-C before every client started
            if client.conn is None:  # refused at the start (max number of clients): try again now
                self.reconnect(client)
            for index, action in enumerate(actions):
                if self.recorder.stop.is_set() or client.conn is None:
                    break
                client.step = (slot, index)
                self.perform(client, action)
        except BaseException as error:  # noqa: BLE001 - re-raised by the main thread
            with self.lock:
                if self.failure is None:
                    self.failure = error
            self.recorder.stop.set()
        finally:
            if client.conn is not None:
                client.conn.close()

    # ------------------------------------------------------------------ actions

    def perform(self, client: ClientConnection, action: Action) -> None:
        prefix = self.prefix
        if isinstance(action, Command):
            self.operation(client, [render(action.argv, prefix)])
        elif isinstance(action, Transaction):
            if action.watch:
                watch: tuple[bytes | Key, ...] = (b"WATCH", *action.watch)
                for argv in (watch, *action.reads):
                    if self.operation(client, [render(argv, prefix)]) is None:
                        return
            end = (b"DISCARD",) if action.discard else (b"EXEC",)
            self.operation(client, [(b"MULTI",), *(render(c, prefix) for c in action.commands), end])
        elif isinstance(action, ScriptCall):
            self.script(client, action)
        elif isinstance(action, Pipeline):
            self.pipeline(client, tuple(render(c, prefix) for c in action.commands))
        elif isinstance(action, ScriptCache):
            guard = self.recorder.guard
            if action.verb == "evalsha":
                guard.admit(cached_body(action.scripts[0], prefix))
            self.operation(client, [cache_command(action, prefix, allow_destructive=guard.allow_destructive)])
        else:
            self.cas(client, action)

    def script(self, client: ClientConnection, call: ScriptCall) -> None:
        sha = call.sha
        tail = (str(len(call.keys)).encode(), *render(call.keys, self.prefix), *call.args)
        if sha in self.loaded:
            replies = self.operation(client, [(b"EVALSHA", sha, *tail)], body=call.body)
            if replies is None:
                return
            if not (type(replies[0]) is Error and replies[0].text.startswith("NOSCRIPT")):
                return
        replies = self.operation(client, [(b"EVAL", call.body, *tail)])
        if replies is not None and not (type(replies[0]) is Error and "Error compiling" in replies[0].text):
            with self.lock:
                self.loaded.add(sha)

    def cas(self, client: ClientConnection, loop: CasLoop) -> None:
        (key,) = render((loop.key,), self.prefix)
        for _ in range(loop.retries + 1):
            if self.operation(client, [(b"WATCH", key)]) is None:
                return
            read = self.operation(client, [(b"GET", key)])
            if read is None:
                return
            old = None if read[0] is NULL else read[0]  # RESP3's null
            if old is not None and not isinstance(old, bytes):  # an error (wrong type): give up cleanly
                self.operation(client, [(b"UNWATCH",)])
                return
            new = next_value(old, loop.token)
            done = self.operation(client, [(b"MULTI",), (b"SET", key, new), (b"EXEC",)])
            if done is None or done[-1] not in (NULL_ARRAY, NULL):
                return
            if self.recorder.stop.is_set():
                return

    # ------------------------------------------------------------------ one operation

    def operation(self, client: ClientConnection, commands: list[Argv], *, body: bytes | None = None) -> tuple[Reply, ...] | None:
        """Send ``commands`` as one operation and record it; the replies, or ``None`` if the
        operation became indeterminate (the client is then on a new connection, or stopped) or the
        server's state rejected it (``body``: the script an EVALSHA runs, see
        :func:`~redlin.harness.server_state.rejection`)."""
        conn = client.conn
        if conn is None:
            return None
        call = self._checked(commands)
        start = time.monotonic_ns()
        op, record = self._begin(client, call, start)
        received: list[Reply] = []
        try:
            conn.send_many(call)
            for _ in call:
                received.append(conn.receive())
                if refuses_connection(received[-1]):
                    break  # the server closes the connection: nothing else will come
        except (WireError, ProtocolError) as error:
            self._broken(client, op, error)
            self.reconnect(client)
            return None
        replies, again = self._finish(client, op, record, call, tuple(received), start, body)
        if again:
            self.reconnect(client)
        return replies

    def pipeline(self, client: ClientConnection, commands: tuple[Argv, ...]) -> None:
        """Write ``commands`` at once, then read their replies: each command is an operation of its
        own, invoked before the write (a nanosecond apart, in order) and complete when its reply
        is read.  A client's operations must not overlap in a history, so every command after the
        first is recorded under a client id of its own (pipelines hold no WATCH or UNWATCH: no
        session state is split).  The server runs them in order; the checker may try other
        orders for overlapping operations, so a pipeline never makes it stricter than the server."""
        conn = client.conn
        if conn is None:
            return
        calls = [self._checked([argv]) for argv in commands]
        base = time.monotonic_ns()
        ids = [client.id, *(self.recorder.new_client_id() for _ in calls[1:])]
        begun = [self._begin(client, call, base + index, ids[index]) for index, call in enumerate(calls)]
        again = False
        done = 0
        broke: BaseException | None = None
        try:
            conn.send_many([call[0] for call in calls])
            for (op, record), call in zip(begun, calls, strict=True):
                reply = conn.receive()
                done += 1
                again |= self._finish(client, op, record, call, (reply,), record.invoke, None)[1]
                if refuses_connection(reply):  # a refusal, not a close after an error reply
                    broke = WireError("the server refused the connection and closed it")
                    break
        except (WireError, ProtocolError) as error:
            broke = error
        if broke is not None:
            for op, _ in begun[done:]:
                self._broken(client, op, broke)
            again = True
        if again:
            self.reconnect(client)

    def _checked(self, commands: list[Argv]) -> tuple[Argv, ...]:
        """``commands`` past the guard (its keys noted), after the throttle's wait."""
        recorder = self.recorder
        touched: list[bytes] = []
        for argv in commands:
            touched.extend(recorder.guard.check(argv))
        with self.lock:
            self.keys.update(touched)
        recorder._throttle.wait(recorder.stop)
        return tuple(commands)

    def _begin(self, client: ClientConnection, call: tuple[Argv, ...], start: int, as_id: int | None = None) -> tuple[int, OperationRecord]:
        """Write the invocation (before anything is sent) and keep its record (under ``as_id``,
        default the client's id)."""
        recorder = self.recorder
        with recorder._lock:
            if recorder.origin is None or start < recorder.origin:
                recorder.origin = start
        who = client.id if as_id is None else as_id
        op = recorder.writer.invoke(client=who, call=call, time=start)
        record = OperationRecord(who, call, start, client.step)
        with self.lock:
            self.records.append(record)
        return op, record

    def _broken(self, client: ClientConnection, op: int, error: BaseException) -> None:
        """The connection broke under ``op``: indeterminate (and counted if the server closed it)."""
        recorder = self.recorder
        if isinstance(error, WireClosed) and not recorder.stop.is_set():
            with recorder._lock:
                recorder.closed[client.erred] += 1
        recorder.writer.complete(op, Outcome.INFO, time=time.monotonic_ns(), error=wire_error_text(error))

    def _finish(self, client: ClientConnection, op: int, record: OperationRecord, call: tuple[Argv, ...], replies: tuple[Reply, ...],
                start: int, body: bytes | None) -> tuple[tuple[Reply, ...] | None, bool]:
        """Write how ``op`` ended: its replies, or a rejection by the server's state.  Returns the
        replies (``None`` if rejected) and whether the client must go on on a new connection."""
        recorder = self.recorder
        end = time.monotonic_ns()
        recorder.watch.answered(client.run_id, start)
        client.erred = any(type(reply) is Error or type(reply) is tuple and any(type(r) is Error for r in reply)
                           for reply in replies)
        refused = rejection(call, replies, script_body=body)
        if refused is not None:
            outcome = Outcome.FAIL if refused.definite else Outcome.INFO
            recorder.writer.complete(op, outcome, time=end, error=f"{refused.code}: {refused.text}")
            record.complete, record.outcome = end, outcome
            with self.lock:
                self.rejected[refused.code] += 1
            with recorder._lock:
                recorder.rejected[refused.code] += 1
            if recorder._on_operation is not None:
                recorder._on_operation()
            return None, refused.reconnect
        recorder.writer.complete(op, Outcome.OK, time=end, result=replies)
        record.complete, record.outcome, record.replies = end, Outcome.OK, replies
        recorder.busy_ns += end - start  # racy by design: a display counter (see Progress.busy)
        if recorder._on_operation is not None:
            recorder._on_operation()
        return replies, False

    # ------------------------------------------------------------------ the result

    def result(self, interrupted: bool, elapsed: float) -> Execution:
        with self.lock:
            records = sorted(self.records, key=lambda r: (r.invoke, r.client))
            keys = frozenset(self.keys)
            problems = tuple(self.problems)
            rejected, refused = tuple(self.rejected.most_common()), tuple(self.refused.most_common())
            restarts = tuple(self.restarts)
        ops = []
        for number, record in enumerate(records):
            result = None
            if record.outcome is Outcome.OK and record.replies is not None:
                result = canonical_result(record.call, record.replies)
            complete = None if record.outcome is Outcome.INFO else record.complete
            ops.append(Operation(number, record.client, record.call, result, record.invoke, complete, record.outcome))
        meta: dict[str, object] = {"model": "redis", "prefix": self.recorder.guard.prefix.decode("utf-8", "replace")}
        meta.update({"protocol": self.recorder.protocol} if self.recorder.protocol != 2 else {})  # RESP3 only
        if self.recorder.origin is not None:
            meta["time_origin"] = self.recorder.origin
        history = History(tuple(ops), meta)
        steps = tuple(record.step for record in records)
        return Execution(self.index, self.prefix, history, keys, interrupted, elapsed, problems, steps,
                         rejected, refused, restarts)
