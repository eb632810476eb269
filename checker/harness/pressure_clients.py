"""One worker process of the pressure engine: many clients on one asyncio event loop, each in a closed loop.

:mod:`redlin.harness.pressure` starts one or several worker processes; each runs :func:`work`,
which opens its share of the clients' connections and records every operation into the run's one
``history.jsonl``.  A client is an :class:`asyncio.Protocol` rather than a stream: a reply is
parsed in the callback that received its bytes, and the client's next command is queued right
there, so an operation costs no task, future or wake-up of its own (streams cost about one of each
per read, which is most of an operation's time at these rates).

The workloads (:mod:`redlin.harness.pressure_workloads`) read with ``GET k`` and write on a few keys
under the run's prefix, every command past the run's :class:`~redlin.harness.guard.Guard`: a
register with unique values (``SET k v``), or a counter (``INCR k``, a ``MULTI`` block of two or
five, an ``EVAL`` of a guarded script), or by check-and-set (``cas``: ``WATCH``, ``GET``, then a MULTI
block, three operations; :attr:`_Client.cas` is where a client is in it).  A write is one operation
however many commands it sends.  ``generated`` (and one operation in seven of ``mixed``) draws each
operation from the grammar on its client group's keys (:mod:`redlin.harness.pressure_generated`,
:attr:`_Client.pool`); ``pubsub`` publishes, and some slots subscribe
(:mod:`redlin.harness.pressure_pubsub`).  With ``pipeline`` above 1 a client writes that many
operations at once, each under a client id of its own (a lane), invoked when the batch is written.

Crash safety
------------
Every event goes through :class:`~redlin.harness.pressure_log.EventLog`, which appends the lines
of one turn of the event loop with one write and sends a client's commands only once the lines
before them, the client's invocations included, are in the file: whatever a crash loses, no command
that reached the server is missing from the file (see :mod:`redlin.harness.pressure_log`).

The start
---------
Started by the parent with its barrier (``go``), a worker first opens every client's connection
and reads the replies of its set-up (AUTH, SELECT), then says it is ready and waits for the go,
with its connections open and idle (a connection lost meanwhile is renewed as it would be later);
only then does it take the run's start and send its clients' first commands.  So the first epoch
(16 ms) holds commands however long the connections took to open.

The event loop is uvloop's where it is installed (a dependency on every platform it has wheels
for: its transports read, write and poll in C, which is most of a worker's time at these rates),
else asyncio's own; :attr:`WorkerSpec.loop` can ask for either (:func:`event_loop`).

Operation and client ids are unique across workers without talking to each other: worker ``w`` of
``n`` numbers them ``w, w + n, w + 2n, ...`` (clients from ``w + 1``).  Times are
``time.monotonic_ns()``, one clock for every process of the machine.

>>> spec = WorkerSpec(index=1, workers=2, host="127.0.0.1", port=6379, path="h.jsonl", prefix=b"redlin:r:",
...                   clients=4, keys=8, pipeline=1, read_share=0.5, timeout=1.0, duration_ns=0, ops=None, seed=0)
>>> event_loop("asyncio"), event_loop("auto") in ("uvloop", "asyncio")
('asyncio', True)
>>> call_json((b"SET", b"redlin:r:k1", b"7.1"))
'[["SET","redlin:r:k1","7.1"]]'
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import signal
import threading
import time
from collections import deque
from dataclasses import replace
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any, Final, cast

from redlin.errors import UsageError
from redlin.harness.guard import Guard
from redlin.harness.pressure_epochs import epoch_at, epoch_end
from redlin.harness.pressure_generated import Drawer, client_group, group_pool, script_bodies
from redlin.harness.pressure_log import EventLog
from redlin.harness.pressure_pubsub import Subscriber, channels, is_subscriber, publish_share, publish_step
from redlin.harness.pressure_spec import Ids, WorkerReport, WorkerSpec, epoch_key
from redlin.harness.pressure_workloads import (
    MIXED_GENERATED,
    UNWATCH,
    Write,
    call_json,
    cas_exec,
    cas_keys,
    key_workload,
    result_json,
)
from redlin.harness.server_state import rejection
from redlin.model import PROFILES, Error, Parser, ProtocolError, Reply, encode_command
from redlin.model._resp import Incomplete

try:
    import uvloop

    HAVE_UVLOOP = True
except ImportError:  # no wheel for this platform (Windows): asyncio's own loop
    HAVE_UVLOOP = False

__all__ = ["EVENT_LOOPS", "EventLog", "WorkerReport", "WorkerSpec", "call_json", "epoch_key", "event_loop",
           "ignore_terminal_signals", "work"]

TICK: Final = 0.05
"""Seconds between two looks of the watchdog (timeouts, the stop signal, the log's tail)."""
FILES_BESIDE_CLIENTS: Final = 64
"""Open files a worker needs beside its clients' connections (the history, the pipes, Python's own)."""
REFUSED_PAUSE: Final = 0.1
"""Seconds a client whose connection the server refused waits before it tries again."""
EVENT_LOOPS: Final = ("auto", "uvloop", "asyncio")
"""The event loops a worker can run: ``auto`` is uvloop where it is installed, else asyncio's."""
Argv = tuple[bytes, ...]


class _Client(asyncio.Protocol):
    """One client slot: a connection (renewed after a loss, under new client ids) in a closed loop."""

    def __init__(self, worker: _Worker, slot: int) -> None:
        self.worker = worker
        # The one cas key number this client may use, by its slot among all the run's clients.
        self.cas_key = cas_keys(worker.spec.workload, worker.spec.keys, slot)[1]
        self.group = client_group(slot, worker.spec.pipeline)  # its generated steps' group of keys
        self.publish_share = publish_share(worker.spec.workload, slot)
        self.pool: dict[str, bytes] | None = None  # and that group's keys of :attr:`epoch`
        self.keys: list[bytes] = []  # the keys of :attr:`epoch` this client uses
        self.epoch = -1
        self.transport: asyncio.Transport | None = None
        self.parser = Parser()
        self.lanes: list[int] = []
        self.sequence = 0
        self.pending: deque[tuple[int, int, tuple[Argv, ...]]] = deque()  # (op, invoked, commands), in send order
        self.got: list[Reply] = []  # the replies read so far of the first pending operation (of several commands)
        self.since = 0
        self.timed_out = False
        self.setup = 0  # replies of AUTH/SELECT still to read (not recorded)
        self.lost: asyncio.Future[None] | None = None
        self.refused = False  # the server refused the connection (max clients): wait before the next
        self.held = False  # set up, its first commands held until the go (:meth:`_Worker.open_first`)
        self.cas: bytes | None = None  # the key of the check-and-set under way (its WATCH sent)
        self.cas_read = False  # and its GET sent
        self.counted = False  # set up once, or given up: counted by :meth:`_Worker.arrived`

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio's classes
        try:
            self._start(transport)
        except Exception as error:  # noqa: BLE001 - a bug (a refusal of the guard): the worker stops
            self.worker.fail(error)

    def data_received(self, data: bytes) -> None:
        try:
            self._received(data)
        except Exception as error:  # noqa: BLE001 - as above
            self.worker.fail(error)

    def _start(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.parser = Parser()
        self.timed_out = False
        self.lanes = [self.worker.ids.next_client() for _ in range(self.worker.spec.pipeline)]
        spec = self.worker.spec
        hello = []
        if spec.password is not None:
            hello.append((b"AUTH", *((spec.username.encode(),) if spec.username else ()), spec.password.encode()))
        if spec.db:
            hello.append((b"SELECT", str(spec.db).encode()))
        self.setup = len(hello)
        if hello:
            self.since = time.monotonic_ns()
            transport.write(b"".join(encode_command(argv) for argv in hello))
        else:
            self._ready()

    def _ready(self) -> None:
        """The connection is set up: send the first commands, or hold them until the go."""
        worker = self.worker
        worker.arrived(self)
        if worker.holding:
            self.held = True
        else:
            self.next_batch()

    def next_batch(self) -> None:
        worker, transport = self.worker, self.transport
        if transport is None or transport.is_closing():
            return
        now = time.monotonic_ns()
        if not worker.may_go(now):
            transport.close()
            return
        spec, log, rng, ids = worker.spec, worker.log, worker.rng, worker.ids
        payload = []
        keys = worker.keys_at(now)
        drawer = worker.drawer
        if self.epoch != worker.epoch and (drawer is not None or worker.cas_numbers):
            self.epoch = worker.epoch
            if drawer is not None:  # its group's keys, and the scripts it may EVALSHA
                self.pool = group_pool(spec.prefix, worker.epoch, spec.keys, self.group)
                for body in script_bodies(self.pool["g0"]):
                    worker.guard.admit(body)
            # a cas key only if it is this client's
            self.keys = [key for number, key in enumerate(keys)
                         if number not in worker.cas_numbers or number == self.cas_key]
        if worker.cas_numbers and len(self.lanes) == 1:
            keys = self.keys
        for index, lane in enumerate(self.lanes):
            key = keys[rng.randrange(len(keys))]
            commands: tuple[Argv, ...]
            if self.cas is not None:  # a check-and-set under way (one lane): its next step
                commands, call, data = self._cas_step(lane)
                payload.append(data)
            elif drawer is not None and self.pool is not None and (
                    spec.workload == "generated" or rng.random() < MIXED_GENERATED):  # a step drawn from the grammar
                self.sequence += 1
                commands, call, data = drawer.step(self.pool, b"%d-%d" % (lane, self.sequence))
                payload.append(data)
            elif self.publish_share and rng.random() < self.publish_share:  # subscribers: :class:`Subscriber`
                self.sequence += 1
                commands, call, data = publish_step(rng, worker.channels, b"%d-%d" % (lane, self.sequence))
                payload.append(data)
            elif rng.random() < spec.read_share:
                commands = ((b"GET", key),)
                call = worker.get_json[key]
                payload.append(encode_command(commands[0]))
            elif (write := worker.writes.get(key)) is not None and not (write.cas and len(self.lanes) > 1):
                commands, call = write.commands, write.call
                payload.append(write.payload)
                if write.cas:
                    self.cas = key
            else:
                self.sequence += 1
                commands = ((b"SET", key, b"%d.%d" % (lane, self.sequence)),)
                call = f'[["SET",{worker.key_json[key]},"{lane}.{self.sequence}"]]'
                payload.append(encode_command(commands[0]))
            for argv in commands:
                worker.guard.check(argv)
            op = ids.next_op()
            log.invoke(op, lane, call, now + index)
            self.pending.append((op, now + index, commands))
        worker.started += len(self.lanes)
        self.since = now
        log.send(transport, b"".join(payload))

    def _cas_step(self, lane: int) -> tuple[tuple[Argv, ...], str, bytes]:
        """The next step of the check-and-set of :attr:`cas` (its WATCH sent): ``GET``, then the
        ``MULTI`` block; ``UNWATCH`` instead once its epoch is over."""
        worker, key = self.worker, self.cas
        assert key is not None
        key_json = worker.key_json.get(key)
        if key_json is None:  # another epoch: its keys are not this one's
            self.cas, self.cas_read = None, False
            return UNWATCH.commands, UNWATCH.call, UNWATCH.payload
        if not self.cas_read:
            self.cas_read = True
            return ((b"GET", key),), worker.get_json[key], encode_command((b"GET", key))
        self.cas, self.cas_read = None, False
        self.sequence += 1
        return cas_exec(key, key_json, f"{lane}.{self.sequence}")

    def _received(self, data: bytes) -> None:
        parser = self.parser
        parser.feed(data)
        while self.setup:
            try:
                reply = parser.take()
            except Incomplete:
                return
            except ProtocolError as error:
                self.abort(f"not RESP: {error}")
                return
            self.setup -= 1
            if type(reply) is Error:
                self.worker.problem(f"connection setup refused: {reply.text}")
                self.worker.arrived(self)  # as set up as it will get: the run does not wait for it
                self.abort(reply.text)
                return
            if not self.setup:
                self._ready()
                return
        if self.held:  # nothing sent yet: the server refuses the connection (max clients) and closes it
            self.refused = True
            self.worker.problem(f"connection refused before the start: {data.decode('utf-8', 'replace').strip()}")
            self.abort("refused")
            return
        pending, log, worker = self.pending, self.worker.log, self.worker
        while pending:
            try:
                reply = cast(Reply, parser.take())  # a reply parser: never a command's list
            except Incomplete:
                return
            except ProtocolError as error:
                self.abort(f"not RESP: {error}")
                return
            op, invoked, commands = pending[0]
            if len(commands) > 1:  # a MULTI block: one operation, complete with its last reply
                self.got.append(reply)
                if len(self.got) < len(commands):
                    continue
                replies, self.got = tuple(self.got), []
            else:
                replies = (reply,)
            pending.popleft()
            done = time.monotonic_ns()
            worker.completed += 1
            if any(type(one) is Error for one in replies):
                refused = rejection(commands, replies)
                if refused is not None:
                    worker.rejected[refused.code] = worker.rejected.get(refused.code, 0) + 1
                    log.ended(op, "fail" if refused.definite else "info", done, f"{refused.code}: {refused.text}")
                    worker.indeterminate += not refused.definite
                    if refused.reconnect:
                        self.refused = True
                        self.abort(refused.text)
                        return
                    continue
            log.ok(op, done, result_json(replies))
        self.next_batch()

    def abort(self, why: str) -> None:
        """Close the connection at once; what is in flight becomes indeterminate (``why``)."""
        self.timed_out = self.timed_out or why == "timeout"
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        worker = self.worker
        done = time.monotonic_ns()
        if self.pending:
            why = f"timeout: no reply in {worker.spec.timeout:g} s" if self.timed_out else \
                f"connection lost: {exc or 'closed by the server'}"
            for op, _, _ in self.pending:
                worker.log.ended(op, "info", done, why)
            worker.indeterminate += len(self.pending)
            worker.completed += len(self.pending)
            self.pending.clear()
        self.got = []
        self.transport = None
        self.held = False
        self.cas, self.cas_read = None, False  # the WATCH ended with the connection
        if self.lost is not None and not self.lost.done():
            self.lost.set_result(None)


class _Worker:
    """The clients of one process and what they share."""

    def __init__(self, spec: WorkerSpec, log: EventLog, holding: bool = False) -> None:
        self.spec = spec
        self.log = log
        self.ids = Ids(spec.index, spec.workers)
        self.rng = random.Random(spec.seed * 1_000_003 + spec.index)
        self.epoch = -1
        self.epoch_ends = 0  # when the epoch of :attr:`keys` ends (``time.monotonic_ns()``)
        self.keys: list[bytes] = []
        self.channels: tuple[bytes, ...] = ()  # the Pub/Sub channels of :attr:`epoch`
        self.key_json: dict[bytes, str] = {}
        self.get_json: dict[bytes, str] = {}
        self.writes: dict[bytes, Write] = {}  # each key's write (none for a register's, made each time)
        self.cas_numbers = cas_keys(spec.workload, spec.keys, 0)[0]  # (each used by a few clients only)
        self.drawer = Drawer(self.rng, PROFILES[spec.profile].unmodelled) if spec.workload in ("generated", "mixed") else None
        self.guard = Guard(spec.prefix)
        self.stopping = False
        self.started = 0
        self.completed = 0
        self.indeterminate = 0
        self.reconnects = 0
        self.rejected: dict[str, int] = {}
        self.problems: list[str] = []
        self.clients: list[_Client] = []
        self.slots = 0  # client slots begun (a :class:`_Client` or a :class:`Subscriber`)
        self.holding = holding  # clients hold their first commands until the go (:meth:`open_first`)
        self.waiting = spec.clients  # client slots neither set up once nor given up
        self.all_set: asyncio.Future[None] = log.loop.create_future()
        self.going: asyncio.Future[None] = log.loop.create_future()  # done at the go: subscribers start
        if not holding:
            self.going.set_result(None)
        self.failure: str | None = None
        self.loop = type(log.loop).__module__.partition(".")[0]  # the loop that runs: "uvloop" or "asyncio"

    def keys_at(self, now: int) -> list[bytes]:
        """The keys of the epoch ``now`` lies in (:attr:`WorkerSpec.epoch_ns`)."""
        if now < self.epoch_ends:
            return self.keys
        spec = self.spec
        epoch = epoch_at(now - spec.started_ns, spec.epoch_ns)
        self.epoch_ends = spec.started_ns + epoch_end(epoch, spec.epoch_ns)
        if epoch != self.epoch:
            self.epoch = epoch
            self.keys = [epoch_key(spec.prefix, epoch, number) for number in range(spec.keys)]
            self.key_json = {key: json.dumps(key.decode("utf-8", "surrogateescape")) for key in self.keys}
            self.get_json = {key: call_json((b"GET", key)) for key in self.keys}
            self.channels = channels(spec.prefix, epoch)
            self.writes = {key: Write.of(kind, key, number) for number, key in enumerate(self.keys)
                           if (kind := key_workload(spec.workload, number)) not in ("register", "generated", "pubsub")}
        return self.keys

    def may_go(self, now: int | None = None) -> bool:
        """Whether a client may send its next command (at ``now``, default the present)."""
        spec = self.spec
        if self.stopping:
            return False
        if spec.ops is not None and self.started >= spec.ops:
            return False
        if spec.duration_ns and not self.holding and (now or time.monotonic_ns()) >= spec.started_ns + spec.duration_ns:
            self.stopping = True
            return False
        return True

    def fail(self, error: Exception) -> None:
        """A bug in a callback (a command the guard refused): stop every client of this worker; the
        parent raises it."""
        if self.failure is None:
            self.failure = f"{type(error).__name__}: {error}"
        self.stopping = True
        for client in self.clients:
            if client.transport is not None:
                client.transport.abort()

    def problem(self, text: str) -> None:
        if len(self.problems) < 10:
            self.problems.append(text)

    def arrived(self, client: _Client | Subscriber) -> None:
        """``client`` is set up for the first time, or gave up: once every slot is, :attr:`all_set`."""
        if not client.counted:
            client.counted = True
            self.waiting -= 1
            if self.waiting <= 0 and not self.all_set.done():
                self.all_set.set_result(None)

    async def open_first(self, results: Queue[Any], go: Event, start: Any, stop: Event | None) -> None:
        """With the parent's barrier: once every client is connected and set up (or gave up), say
        ready on ``results``, wait for ``go`` (or ``stop``) with the connections open, take the run's
        start from ``start`` and send every held client's first commands."""
        if self.waiting > 0:  # a connection that cannot get set up does not hold the run up for ever
            await asyncio.wait([self.all_set], timeout=self.spec.reconnect_time + self.spec.timeout)
        results.put(self.spec.index)
        loop = asyncio.get_running_loop()
        while not await loop.run_in_executor(None, go.wait, TICK):  # the loop serves the connections meanwhile
            if stop is not None and stop.is_set():
                self.stopping = True
                break
        self.spec = replace(self.spec, started_ns=int(start.value))
        self.holding = False
        self.going.set_result(None)
        for client in self.clients:
            if client.held:
                client.held = False
                try:
                    client.next_batch()
                except Exception as error:  # noqa: BLE001 - a bug (a refusal of the guard): the worker stops
                    self.fail(error)

    async def client(self, loop: asyncio.AbstractEventLoop) -> None:
        """One client slot: connect, run until stopped, reconnect after every loss."""
        slot = self.slots * self.spec.workers + self.spec.index
        self.slots += 1
        if is_subscriber(self.spec.workload, slot):
            await Subscriber(self, slot).run(loop)
            return
        client = _Client(self, slot)
        self.clients.append(client)
        first = True
        try:
            while not self.stopping and self.may_go():
                client.lost = loop.create_future()
                if not await self.connect(loop, client):
                    return
                if not first:
                    self.reconnects += 1
                first = False
                await client.lost
                if client.refused:
                    client.refused = False
                    await asyncio.sleep(REFUSED_PAUSE)
        finally:
            self.arrived(client)

    async def connect(self, loop: asyncio.AbstractEventLoop, client: _Client) -> bool:
        pause, until = 0.05, time.monotonic() + self.spec.reconnect_time
        while True:
            try:
                await asyncio.wait_for(loop.create_connection(lambda: client, self.spec.host, self.spec.port),
                                       self.spec.timeout)
                return True
            except (OSError, asyncio.TimeoutError) as error:
                if self.stopping or time.monotonic() + pause > until:
                    self.problem(f"a client stopped: cannot reconnect to {self.spec.host}:{self.spec.port} ({error})")
                    return False
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.5)

    async def watch(self, stop: Event | None) -> None:
        """Every :data:`TICK`: abort connections whose reply is late, notice the stop signal, write the log."""
        timeout = int(self.spec.timeout * 1e9)
        while True:
            await asyncio.sleep(TICK)
            if stop is not None and stop.is_set():
                self.stopping = True
            now = time.monotonic_ns()
            for client in self.clients:
                if (client.pending or client.setup) and now - client.since > timeout:
                    client.abort("timeout")
            self.log.flush()


async def _run(spec: WorkerSpec, stop: Event | None, results: Queue[Any] | None = None, go: Event | None = None,
               start: Any = None) -> _Worker:
    loop = asyncio.get_running_loop()
    log = EventLog(spec.path, loop)
    worker = _Worker(spec, log, holding=go is not None and results is not None)
    try:
        tasks = [asyncio.ensure_future(worker.client(loop)) for _ in range(spec.clients)]
        watcher = asyncio.ensure_future(worker.watch(stop))
        if results is not None and go is not None:
            await worker.open_first(results, go, start, stop)
        await asyncio.gather(*tasks)
        watcher.cancel()
    finally:
        log.close()
    return worker


def _enough_files(need: int) -> None:
    """Raise this process's soft open-files limit to ``need`` if the hard limit allows (the parent
    raised its own, but a fork server started earlier keeps the limit it started with)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need if hard == resource.RLIM_INFINITY else min(need, hard), hard))


def ignore_terminal_signals() -> None:
    """Ignore SIGINT and SIGHUP, which a terminal sends to every process of its group: the parent
    handles them (:mod:`redlin.harness.interrupts`) and stops this process cleanly.  Outside the main
    thread (a Dask task: :mod:`redlin.harness.pressure_dask`) signals are not this code's to handle."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def event_loop(name: str) -> str:
    """The loop ``name`` (:data:`EVENT_LOOPS`) runs in this process: ``uvloop`` or ``asyncio``;
    a one-line :class:`~redlin.errors.UsageError` for ``uvloop`` where it is not installed."""
    if name not in EVENT_LOOPS:
        raise UsageError(f"--event-loop must be one of {', '.join(EVENT_LOOPS)}, not {name!r}")
    if name == "uvloop" and not HAVE_UVLOOP:
        raise UsageError("--event-loop uvloop: uvloop is not installed here (pip install uvloop; it has no "
                         "wheels for Windows)")
    return "asyncio" if name == "asyncio" or not HAVE_UVLOOP else "uvloop"


def work(spec: WorkerSpec, stop: Event | None = None, results: Queue[Any] | None = None,
         go: Event | None = None, start: Any = None) -> WorkerReport:
    """Run one worker to its end (the target of a worker process); its report, also put on ``results``.

    With ``go``, the worker opens and sets up every client's connection, says it is ready on
    ``results`` (its index), waits for ``go`` (or ``stop``) with its connections open, and takes the
    run's start from ``start`` (a shared ``multiprocessing.Value``) before its first command: the
    processes' start-up and the connections' are not counted in the run.  SIGINT is ignored:
    Ctrl-C reaches every process of the terminal's group, and the parent stops the workers through
    ``stop`` after it has noticed, so that they end their operations cleanly (SIGHUP likewise).
    The process's niceness goes up by :attr:`WorkerSpec.niceness` first, and the event loop is
    :attr:`WorkerSpec.loop`'s.
    """
    ignore_terminal_signals()
    if spec.niceness:
        os.nice(spec.niceness)
    _enough_files(spec.clients + FILES_BESIDE_CLIENTS)
    absent: str | None = None
    try:
        loop = event_loop(spec.loop)
    except UsageError as missing:  # uvloop asked for and missing on this machine (a Dask worker's)
        loop, absent = "asyncio", str(missing)
    worker = (uvloop.run if loop == "uvloop" else asyncio.run)(_run(spec, stop, results, go, start))
    if absent is not None:
        worker.problem(f"{absent}: asyncio's loop ran instead")
    used = resource.getrusage(resource.RUSAGE_SELF)
    report = WorkerReport(spec.index, worker.completed, worker.indeterminate, worker.reconnects,
                          tuple(worker.problems), dict(worker.rejected), used.ru_utime + used.ru_stime,
                          worker.failure, worker.loop, os.getpriority(os.PRIO_PROCESS, 0))
    if results is not None:
        results.put(report)
    return report
