"""Record a Pub/Sub workload against a Redis server: every message a subscriber reads, as it arrives.

What Redis promises about deliveries, and how a recorded history is checked against it, is
:mod:`redlin.adapter.pubsub_check` (:func:`check_pubsub`, :func:`minimise_pubsub`, re-exported
here).  This module records the histories that check reads:

- a message an idle subscriber reads is an operation of its own, ``RECV``, recorded at the moment
  it arrived (the kernel's receive time where it can be had: see
  :mod:`redlin.harness.pubsub_clients`; successive frames of one client get strictly increasing
  times, so the order they arrived in is kept);
- messages read while the subscriber's own command was in flight are part of that command's
  result (a :class:`model.Frames` value), in the order they came before its reply.

The workload (:class:`PubSubWorkload`): publishers PUBLISH unique payloads (sometimes two in one
MULTI/EXEC, P11) to a few channels; subscribers SUBSCRIBE, PSUBSCRIBE (overlapping glob patterns),
UNSUBSCRIBE, resubscribe and PING (P7) over time, each with a reader thread that notes every frame
as it arrives.  When the publishers are done, every subscriber unsubscribes from everything and
sends a last PING: everything published while it was subscribed must have arrived by then.
With ``protocol=3`` every client speaks RESP3 and the history records RESP3's types (messages
and confirmations as pushes; its meta says ``"protocol": 3``), checked exactly.

When things go wrong (:mod:`redlin.harness.pubsub_clients`): a reply that is the server's state
speaking (``BUSY``, ``OOM``, ``LOADING``...) is recorded as failed or indeterminate, never as the
command's reply, and counted (:attr:`PubSubRecording.rejected`); a refused connection (max number
of clients) is counted (:attr:`PubSubRecording.refused`) and tried again; a subscriber whose
connection breaks gets an indeterminate ``QUIT`` that ends its subscriptions in the history, and
goes on as a new client.

>>> server_state_notes({"BUSY": 3}, {"max clients": 2})[1]
'2 connection attempts refused by the server (2 max clients); the clients tried again'
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from redlin.adapter.pubsub_check import check_pubsub, minimise_pubsub
from redlin.harness.interrupts import checkpoint
from redlin.harness.pubsub_clients import Log, Shared, Subscriber
from redlin.harness.recorder import RECONNECT_TIME
from redlin.harness.server_state import rejection, rejection_note
from redlin.harness.target import Target, TargetError
from redlin.harness.wire import Connection, WireError
from redlin.history.jsonl import HistoryWriter, load_history
from redlin.history.records import History, Outcome
from redlin.model import ProtocolError

__all__ = ["PubSubRecording", "PubSubWorkload", "check_pubsub", "escape_glob", "minimise_pubsub", "record_pubsub",
           "server_state_notes"]

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
    rejected: tuple[tuple[str, int], ...] = ()
    """Operations the server's state rejected, by code (``("BUSY", 4)``), most first: recorded as
    failed or indeterminate, not as replies (:func:`server_state_notes` words them)."""
    refused: tuple[tuple[str, int], ...] = ()
    """Connection attempts the server refused, by code (``("max clients", 2)``); they were retried."""


def server_state_notes(rejected: Mapping[str, int], refused: Mapping[str, int]) -> list[str]:
    """Lines for a run report about what the server's state rejected or refused (none if nothing)."""
    notes = [note for note in (rejection_note(rejected),) if note is not None]
    total = sum(refused.values())
    if total:
        counts = ", ".join(f"{count} {code}" for code, count in sorted(refused.items(), key=lambda item: -item[1]))
        notes.append(f"{total} connection attempt{'s' if total != 1 else ''} refused by the server ({counts}); "
                     "the clients tried again")
    return notes


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
    reconnect_time: float = RECONNECT_TIME,
    protocol: int = 2,
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
    cleanly, and returns what was recorded (``interrupted``).  A client whose connection is lost
    or refused tries to reconnect for ``reconnect_time`` seconds before it stops (a problem).
    ``protocol=3``: every connection speaks RESP3 (``HELLO 3``), and the history is a RESP3 one
    (the file's meta says so; with a writer, its meta line must, as ``redlin run`` writes it).

    Raises :class:`~redlin.harness.target.TargetError` if the server cannot be reached (for
    ``reconnect_time`` seconds) or refuses the password.

    Examples
    --------
    >>> from redlin.serve.server import start_in_thread
    >>> import tempfile, os
    >>> with start_in_thread() as server:                          # doctest: +SKIP
    ...     run = record_pubsub(server.url, os.path.join(tempfile.mkdtemp(), "h.jsonl"))
    >>> check_pubsub(run.history).verdict                          # doctest: +SKIP
    'linearizable'
    """
    target = url if isinstance(url, Target) else Target.parse(url)
    if prefix is None:
        prefix = b"redlin:pubsub:%s:" % os.urandom(4).hex().encode()
    started = time.monotonic()
    if protocol not in (2, 3):
        raise ValueError(f"protocol must be 2 or 3, not {protocol}")
    recorder = _Run(target, workload, seed, prefix, timeout, reconnect_time, protocol)
    recorder._ids = first_client - 1
    recorder.deadline = None if duration is None else started + duration
    recorder.on_operation = on_operation
    if isinstance(into, HistoryWriter):
        log = recorder.writer = Log(into)
        recorder.go()
        path, history = into.path, log.history()
        if protocol == 3:
            history = History(history.operations, {"protocol": 3})
    else:
        fields = {"workload": "pubsub", "seed": seed, "prefix": prefix.decode("utf-8", "replace"),
                  **({"protocol": 3} if protocol == 3 else {}), **(meta or {})}
        with HistoryWriter(into, model="redis", **fields) as writer:
            recorder.writer = Log(writer)
            recorder.go()
        path, history = Path(into), load_history(into)
    return PubSubRecording(path, history, recorder.published, recorder.received,
                           tuple(recorder.problems), time.monotonic() - started, recorder.interrupted,
                           tuple(recorder.rejected.most_common()), tuple(recorder.refused.most_common()))


# ----------------------------------------------------------------------------- recording


class _Run(Shared):
    """The shared state of one recording while its threads run, and the publishers."""

    def __init__(self, target: Target, workload: PubSubWorkload, seed: int, prefix: bytes, timeout: float,
                 reconnect_time: float, protocol: int = 2) -> None:
        super().__init__(target, seed, timeout, reconnect_time, protocol)
        self.workload = workload
        self.prefix = prefix
        self.failure: BaseException | None = None
        self.deadline: float | None = None
        self.interrupted = False

    def go(self) -> None:
        workload = self.workload
        # Connect everyone first: a server that cannot be reached fails the run before it starts.
        # A client the server refuses now (max number of clients) tries again in its thread.
        first = self.attach(time.monotonic() + self.reconnect_time)
        if isinstance(first, BaseException):
            raise first if isinstance(first, TargetError) else TargetError(f"{self.target.url}: {first}")
        conns = [first, *(self._try_connect() for _ in range(workload.subscribers + workload.publishers - 1))]
        subscribers = [Subscriber(self, index, workload.channel_names(self.prefix), workload.pattern_names(self.prefix),
                                  workload.pause, conns[index], self.prefix + b"key")
                       for index in range(workload.subscribers)]
        publishers = [(self.new_client_id(), conn) for conn in conns[workload.subscribers:]]
        threads = [threading.Thread(target=self._guard, args=(subscriber.go,), daemon=True,
                                    name=f"redlin-subscriber-{subscriber.client}") for subscriber in subscribers]
        publishing = [threading.Thread(target=self._guard, args=(self._publish, index, connection), daemon=True,
                                       name=f"redlin-publisher-{index}")
                      for index, connection in enumerate(publishers)]
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

    def _guard(self, work: object, *args: object) -> None:
        try:
            work(*args)  # type: ignore[operator]
        except BaseException as error:  # noqa: BLE001 - re-raised by the main thread
            with self.lock:
                if self.failure is None:
                    self.failure = error
            self.stop.set()
            self.publishers_done.set()

    def _try_connect(self) -> Connection | None:
        """One try; ``None`` if it failed for now (the client tries again in its thread)."""
        conn = self.attach(time.monotonic())
        if isinstance(conn, TargetError):
            raise conn
        return None if isinstance(conn, BaseException) else conn

    def _reconnect(self, client: int, why: str) -> tuple[int, Connection | None]:
        """A new connection for a publisher, under a new client id; ``None`` if it must stop."""
        conn = self.attach(time.monotonic() + self.reconnect_time)
        if isinstance(conn, BaseException):
            if not self.stop.is_set():  # not Ctrl-C
                self.problem(f"publisher {client} stopped: {why}cannot connect ({conn})")
            return client, None
        return self.new_client_id(), conn

    # ------------------------------------------------------------------ publishers

    def _publish(self, index: int, connection: tuple[int, Connection | None]) -> None:
        client, conn = connection
        if conn is None:  # refused at the start: try again now, as the same client (it sent nothing)
            attached = self.attach(time.monotonic() + self.reconnect_time)
            if isinstance(attached, BaseException):
                self.problem(f"publisher {client} stopped: cannot connect ({attached})")
                return
            conn = attached
        workload = self.workload
        rng = random.Random(f"{self.seed}:publisher:{index}")
        channels = workload.channel_names(self.prefix)
        sent = 0
        try:
            while conn is not None and not self.stop.is_set() and (
                    sent < workload.messages if self.deadline is None else time.monotonic() < self.deadline):
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
                    client, conn = self._reconnect(client, f"{error}; ")
                    continue
                end = time.monotonic_ns()
                refused = rejection(commands, replies)
                if refused is not None:  # the server's state, not the commands' answer
                    outcome = Outcome.FAIL if refused.definite else Outcome.INFO
                    self.writer.complete(op, outcome, time=end, error=f"{refused.code}: {refused.text}")
                    self.count_rejection(refused.code)
                    self.completed()
                    if refused.reconnect:  # a discarded transaction, a session the model ended
                        conn.close()
                        client, conn = self._reconnect(client, "")
                    continue
                self.writer.complete(op, Outcome.OK, time=end, result=replies)
                self.completed()
                with self.lock:
                    self.published += sum(1 for argv in commands if argv[0] == b"PUBLISH")
        finally:
            if conn is not None:
                conn.close()


def _join(threads: Sequence[threading.Thread]) -> None:
    for thread in threads:
        while thread.is_alive():
            thread.join(0.05)  # short waits, so that a signal is noticed promptly
            checkpoint()
