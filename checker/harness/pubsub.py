"""Record a Pub/Sub workload against a Redis server: every message a subscriber reads, as it arrives.

What Redis promises about deliveries, and how a recorded history is checked against it, is
:mod:`redlin.adapter.pubsub_check` (:func:`check_pubsub`, :func:`minimise_pubsub`, re-exported
here).  This module records the histories that check reads:

- a message an idle subscriber reads is an operation of its own, ``RECV``, recorded by the
  subscriber's reader thread the moment it arrives (successive frames of one client get strictly
  increasing times, so the order they arrived in is kept);
- messages read while the subscriber's own command was in flight are part of that command's
  result (a :class:`model.Frames` value), in the order they came before its reply.

The workload (:class:`PubSubWorkload`): publishers PUBLISH unique payloads (sometimes two in one
MULTI/EXEC, P11) to a few channels; subscribers SUBSCRIBE, PSUBSCRIBE (overlapping glob patterns),
UNSUBSCRIBE, resubscribe and PING (P7) over time, each with a reader thread that records every frame
as it arrives.  When the publishers are done, every subscriber unsubscribes from everything and
sends a last PING: everything published while it was subscribed must have arrived by then.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from redlin.adapter.deliveries import receive_call
from redlin.adapter.pubsub_check import check_pubsub, minimise_pubsub
from redlin.adapter.redis_model import canonical_result
from redlin.harness.interrupts import checkpoint
from redlin.harness.target import Target, TargetError, open_connection
from redlin.harness.wire import Connection, WireError
from redlin.history.jsonl import HistoryWriter, load_history
from redlin.history.records import History, Operation, Outcome
from redlin.model import Frames, ProtocolError, Reply, is_message

__all__ = ["PubSubRecording", "PubSubWorkload", "check_pubsub", "escape_glob", "minimise_pubsub", "record_pubsub"]

Argv = tuple[bytes, ...]

_GLOB_SPECIAL: Final = frozenset(b"*?[]\\")


def escape_glob(text: bytes) -> bytes:
    """``text`` as a glob pattern that matches exactly ``text`` (``\\`` before ``* ? [ ] \\``)."""
    return b"".join(b"\\" + bytes((byte,)) if byte in _GLOB_SPECIAL else bytes((byte,)) for byte in text)


@dataclass(frozen=True, slots=True)
class PubSubWorkload:
    """What a Pub/Sub run does.

    Parameters
    ----------
    publishers, subscribers:
        How many clients of each kind run at once.
    messages:
        PUBLISHes per publisher (a MULTI/EXEC block of two counts as two).
    channels:
        Channels ``<prefix>ch0``, ``<prefix>ch1``...; subscribers also use the patterns ``ch*``,
        ``ch[0-1]`` and ``ch[^0]`` under the prefix, which overlap (a channel can match several).
    transactions:
        Chance that a publisher sends two PUBLISHes in one MULTI/EXEC.
    pause:
        The longest pause, in seconds, between two steps of a client (drawn uniformly).
    """

    publishers: int = 2
    subscribers: int = 3
    messages: int = 60
    channels: int = 3
    patterns: bool = True
    transactions: float = 0.2
    pause: float = 0.002

    def __post_init__(self) -> None:
        if self.publishers < 1 or self.subscribers < 1 or self.messages < 1 or self.channels < 1:
            raise ValueError("a Pub/Sub workload needs at least one publisher, subscriber, message and channel")

    def channel_names(self, prefix: bytes) -> tuple[bytes, ...]:
        return tuple(prefix + b"ch%d" % index for index in range(self.channels))

    def pattern_names(self, prefix: bytes) -> tuple[bytes, ...]:
        if not self.patterns:
            return ()
        escaped = escape_glob(prefix)
        return (escaped + b"ch*", escaped + b"ch[0-1]", escaped + b"ch[^0]")


@dataclass(frozen=True, slots=True)
class PubSubRecording:
    """A recorded Pub/Sub run: the history file, the history, and what went wrong on the way."""

    path: Path
    history: History
    published: int
    received: int
    problems: tuple[str, ...] = ()
    elapsed: float = 0.0
    interrupted: bool = False
    """Ctrl-C cut the run short: publishers stopped early (the history is still checkable)."""


def record_pubsub(
    url: str | Target,
    into: str | os.PathLike[str] | HistoryWriter,
    workload: PubSubWorkload = PubSubWorkload(),
    *,
    seed: int = 0,
    prefix: bytes | None = None,
    timeout: float = 5.0,
    duration: float | None = None,
    meta: Mapping[str, Any] | None = None,
    on_operation: Callable[[], None] | None = None,
    first_client: int = 1,
) -> PubSubRecording:
    """Run ``workload`` against the server at ``url`` and record it ``into`` a new history file
    (a path), or append it to an open :class:`~redlin.history.jsonl.HistoryWriter` (several runs in one
    file: give each its own ``prefix`` and ``first_client``, the first client id it uses).

    Every invocation is written before its command is sent and every completion as soon as its
    reply arrives (a message an idle subscriber reads is written on arrival), so an interrupted
    run keeps what it recorded.  ``seed`` fixes every client's choices (not the interleaving).
    ``prefix`` starts every channel name (default: ``redlin:pubsub:<random>:``).  With ``duration``
    (seconds) publishers keep publishing until it has passed, however many messages that makes.
    ``meta`` goes into the history's meta line; ``on_operation`` is called after each operation
    completes (a progress counter).  Ctrl-C stops the publishers, lets the subscribers finish
    cleanly, and returns what was recorded (``interrupted``).

    Raises :class:`~redlin.harness.target.TargetError` if the server cannot be reached or refuses the
    password.

    Examples
    --------
    >>> from redlin.serve.server import start_in_thread
    >>> import tempfile, os
    >>> with start_in_thread() as server:                          # doctest: +SKIP
    ...     run = record_pubsub(server.url, os.path.join(tempfile.mkdtemp(), "h.jsonl"))
    >>> check_pubsub(run.history).verdict                          # doctest: +SKIP
    'linearizable'
    """
    if not isinstance(into, HistoryWriter) and Path(into).exists() and Path(into).stat().st_size:
        raise FileExistsError(f"{into}: a history file must be new (it is written as the run goes)")
    target = url if isinstance(url, Target) else Target.parse(url)
    if prefix is None:
        prefix = b"redlin:pubsub:%s:" % os.urandom(4).hex().encode()
    started = time.monotonic()
    recorder = _Run(target, workload, seed, prefix, timeout)
    recorder._ids = first_client - 1
    recorder.deadline = None if duration is None else started + duration
    recorder.on_operation = on_operation
    if isinstance(into, HistoryWriter):
        log = recorder.writer = _Log(into)
        recorder.go()
        path, history = into.path, log.history()
    else:
        fields = {"workload": "pubsub", "seed": seed, "prefix": prefix.decode("utf-8", "replace"), **(meta or {})}
        with HistoryWriter(into, model="redis", **fields) as writer:
            recorder.writer = _Log(writer)
            recorder.go()
        path, history = Path(into), load_history(into)
    return PubSubRecording(path, history, recorder.published, recorder.received,
                           tuple(recorder.problems), time.monotonic() - started, recorder.interrupted)


# ----------------------------------------------------------------------------- recording


class _Log:
    """Writes a recording's events to a history file and keeps them, to hand back its history."""

    def __init__(self, writer: HistoryWriter) -> None:
        self.writer = writer
        self.lock = threading.Lock()
        self.records: dict[int, list[Any]] = {}  # op -> [client, call, invoke, complete, outcome, result]

    def invoke(self, *, client: int, call: Sequence[Argv], time: int) -> int:
        op = self.writer.invoke(client=client, call=call, time=time)
        with self.lock:
            self.records[op] = [client, tuple(tuple(argv) for argv in call), time, None, Outcome.INFO, None]
        return op

    def complete(self, op: int, outcome: Outcome, *, time: int, result: Sequence[Reply] | None = None,
                 error: str | None = None) -> None:
        self.writer.complete(op, outcome, time=time, result=result, error=error)
        with self.lock:
            record = self.records[op]
            record[3:] = [time, outcome, None if result is None else canonical_result(record[1], result)]

    def history(self) -> History:
        """The operations recorded, in invocation order (ids 0, 1, ...), as the file reads back."""
        with self.lock:
            records = [self.records[op] for op in sorted(self.records)]
        return History(tuple(
            Operation(index, client, call, result if outcome is Outcome.OK else None, invoke,
                      None if outcome is Outcome.INFO else complete, outcome)
            for index, (client, call, invoke, complete, outcome, result) in enumerate(records)))


class _Run:
    """The shared state of one recording while its threads run."""

    def __init__(self, target: Target, workload: PubSubWorkload, seed: int, prefix: bytes, timeout: float) -> None:
        self.target = target
        self.workload = workload
        self.seed = seed
        self.prefix = prefix
        self.timeout = timeout
        self.writer: _Log
        self.lock = threading.Lock()
        self.problems: list[str] = []
        self.failure: BaseException | None = None
        self.published = 0
        self.received = 0
        self.publishers_done = threading.Event()
        self.stop = threading.Event()  # publishers stop early (Ctrl-C, a failure)
        self.deadline: float | None = None
        self.on_operation: Callable[[], None] | None = None
        self.interrupted = False
        self._ids = 0

    def new_client_id(self) -> int:
        with self.lock:
            self._ids += 1
            return self._ids

    def count_received(self) -> None:
        with self.lock:
            self.received += 1

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)

    def go(self) -> None:
        workload = self.workload
        # Connect everyone first: a server that cannot be reached fails the run before it starts.
        subscribers = [_Subscriber(self, index) for index in range(workload.subscribers)]
        publishers = [self.connect() for _ in range(workload.publishers)]
        threads = [threading.Thread(target=self._guard, args=(subscriber.go,), daemon=True,
                                    name=f"redlin-subscriber-{subscriber.client}") for subscriber in subscribers]
        publishing = [threading.Thread(target=self._guard, args=(self._publish, index, conn), daemon=True,
                                       name=f"redlin-publisher-{index}")
                      for index, conn in enumerate(publishers)]
        for thread in threads + publishing:
            thread.start()
        try:
            _join(publishing)
            self.publishers_done.set()
            _join(threads)
        except KeyboardInterrupt:  # at a checkpoint: every client stops after its current operation
            self.interrupted = True
            self.stop.set()
            _join(publishing)
            self.publishers_done.set()
            _join(threads)
        if self.failure is not None:
            raise self.failure

    def completed(self) -> None:
        if self.on_operation is not None:
            self.on_operation()

    def _guard(self, work: object, *args: object) -> None:
        try:
            work(*args)  # type: ignore[operator]
        except BaseException as error:  # noqa: BLE001 - re-raised by the main thread
            with self.lock:
                if self.failure is None:
                    self.failure = error
            self.stop.set()
            self.publishers_done.set()

    def connect(self) -> tuple[int, Connection]:
        try:
            conn = open_connection(self.target, self.timeout)
        except WireError as error:
            raise TargetError(f"{self.target.url}: {error}") from None
        return self.new_client_id(), conn

    # ------------------------------------------------------------------ publishers

    def _publish(self, index: int, connection: tuple[int, Connection]) -> None:
        client, conn = connection
        workload = self.workload
        rng = random.Random(f"{self.seed}:publisher:{index}")
        channels = workload.channel_names(self.prefix)
        sent = 0
        try:
            while not self.stop.is_set() and (sent < workload.messages if self.deadline is None
                                              else time.monotonic() < self.deadline):
                time.sleep(rng.uniform(0, workload.pause))
                payload = b"%d.%d" % (index, sent)
                if (sent + 1 < workload.messages or self.deadline is not None) and rng.random() < workload.transactions:
                    commands: list[Argv] = [(b"MULTI",), (b"PUBLISH", rng.choice(channels), payload + b"a"),
                                            (b"PUBLISH", rng.choice(channels), payload + b"b"), (b"EXEC",)]
                    sent += 2
                else:
                    commands = [(b"PUBLISH", rng.choice(channels), payload)]
                    sent += 1
                start = time.monotonic_ns()
                op = self.writer.invoke(client=client, call=commands, time=start)
                try:
                    replies = conn.pipeline(commands)
                except (WireError, ProtocolError) as error:
                    self.writer.complete(op, Outcome.INFO, time=time.monotonic_ns(), error=str(error))
                    conn.close()
                    self.problem(f"publisher {client}: {error}; continuing on a new connection")
                    client, conn = self.connect()
                    continue
                self.writer.complete(op, Outcome.OK, time=time.monotonic_ns(), result=replies)
                self.completed()
                with self.lock:
                    self.published += sum(1 for argv in commands if argv[0] == b"PUBLISH")
        finally:
            conn.close()


@dataclass(slots=True)
class _Flight:
    """A subscriber's command waiting for its reply: the frames read so far, and how many of them
    are still to come that are not messages (one confirmation per channel, or PING's reply)."""

    op: int
    replies_left: int
    last: bool
    frames: list[Reply] = field(default_factory=list)


class _Subscriber:
    """One subscribing client: a controller thread that sends commands, and a reader thread that
    records every frame as it arrives (as a RECV operation when no command is in flight)."""

    def __init__(self, run: _Run, index: int) -> None:
        self.run = run
        self.index = index
        self.client, self.conn = run.connect()
        self.rng = random.Random(f"{run.seed}:subscriber:{index}")
        self.lock = threading.Condition()
        self.flight: _Flight | None = None
        self.last = time.monotonic_ns()  # the client's last recorded event
        self.broken: str | None = None
        self.finished = False
        self.channels: set[bytes] = set()
        self.patterns: set[bytes] = set()

    def _tick(self) -> int:
        # Strictly after the client's previous event: consecutive frames must not overlap in time,
        # or the order they arrived in would be lost.
        now = max(time.monotonic_ns(), self.last + 1)
        self.last = now
        return now

    def go(self) -> None:
        reader = threading.Thread(target=self._read, daemon=True, name=f"redlin-reader-{self.client}")
        reader.start()
        try:
            self._control()
        finally:
            reader.join(self.run.timeout + 1)
            self.conn.close()
            reader.join()

    # --- the controller

    def _control(self) -> None:
        run, rng = self.run, self.rng
        workload = run.workload
        channels = workload.channel_names(run.prefix)
        patterns = workload.pattern_names(run.prefix)
        if not self._request((b"SUBSCRIBE", *rng.sample(channels, min(2, len(channels))))):
            return
        while not run.publishers_done.is_set():
            time.sleep(rng.uniform(0, workload.pause * 4))  # listen a while: the reader records arrivals
            roll = rng.random()
            if roll < 0.2:
                ok = self._request((b"SUBSCRIBE", rng.choice(channels)))
            elif roll < 0.35 and self.channels:
                ok = self._request((b"UNSUBSCRIBE", rng.choice(sorted(self.channels))))
            elif roll < 0.5 and patterns:
                ok = self._request((b"PSUBSCRIBE", rng.choice(patterns)))
            elif roll < 0.6 and self.patterns:
                ok = self._request((b"PUNSUBSCRIBE", rng.choice(sorted(self.patterns))))
            elif roll < 0.7:
                ok = self._request((b"PING",))
            else:
                continue
            if not ok:
                return
        # Publishers are done: leave everything, so every message published while subscribed
        # must have arrived before these confirmations.  The last PING ends the reader.
        if self.channels and not self._request((b"UNSUBSCRIBE", *sorted(self.channels))):
            return
        if self.patterns and not self._request((b"PUNSUBSCRIBE", *sorted(self.patterns))):
            return
        self._request((b"PING",), last=True)

    def _request(self, argv: Argv, *, last: bool = False) -> bool:
        """Send one command and wait until the reader has its reply; False if the connection broke."""
        expected = max(1, len(argv) - 1) if argv[0] != b"PING" else 1
        with self.lock:
            if self.broken is not None:
                return False
            op = self.run.writer.invoke(client=self.client, call=[argv], time=self._tick())
            self.flight = _Flight(op, expected, last)
        try:
            self.conn.send_many([argv])
        except WireError as error:
            self._break(str(error))
            return False
        with self.lock:
            while self.flight is not None and self.broken is None:
                self.lock.wait()
            if self.broken is not None:
                return False
        name = argv[0]
        if name == b"SUBSCRIBE":
            self.channels.update(argv[1:])
        elif name == b"UNSUBSCRIBE":
            self.channels.difference_update(argv[1:])
        elif name == b"PSUBSCRIBE":
            self.patterns.update(argv[1:])
        elif name == b"PUNSUBSCRIBE":
            self.patterns.difference_update(argv[1:])
        return True

    def _break(self, error: str) -> None:
        with self.lock:
            if self.broken is not None:
                return
            self.broken = error
            if self.flight is not None:
                self.run.writer.complete(self.flight.op, Outcome.INFO, time=self._tick(), error=error)
                self.flight = None
            self.lock.notify_all()
        self.run.problem(f"subscriber {self.client} stopped: {error}")

    # --- the reader

    def _read(self) -> None:
        writer = self.run.writer
        while True:
            try:
                frame = self.conn.receive()
            except (WireError, ProtocolError) as error:
                with self.lock:
                    done = self.broken is not None or self.finished
                if not done:
                    self._break(str(error))
                return
            with self.lock:
                flight = self.flight
                if flight is None:  # an idle read: one RECV operation
                    op = writer.invoke(client=self.client, call=[receive_call(frame)], time=self._tick())
                    writer.complete(op, Outcome.OK, time=self._tick(), result=[frame])
                    self.run.count_received()
                    self.run.completed()
                    continue
                flight.frames.append(frame)
                if is_message(frame):
                    self.run.count_received()
                else:
                    flight.replies_left -= 1
                if flight.replies_left:
                    continue
                writer.complete(flight.op, Outcome.OK, time=self._tick(), result=[Frames.of(tuple(flight.frames))])
                self.run.completed()
                self.flight = None
                self.lock.notify_all()
                if flight.last:
                    self.finished = True
                    return


def _join(threads: Sequence[threading.Thread]) -> None:
    for thread in threads:
        while thread.is_alive():
            thread.join(0.05)  # short waits, so that a signal is noticed promptly
            checkpoint()
