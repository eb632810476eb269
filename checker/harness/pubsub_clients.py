"""The clients of a Pub/Sub recording (:func:`redlin.harness.pubsub.record_pubsub`): what they
share, and the subscriber.

What they share (:class:`Shared`): the history log, client ids, the counts and the problems, and
connections.  A connection the server refuses for its state (``max number of clients``, sheet
:data:`~redlin.harness.server_state.CODES`; :class:`~redlin.harness.target.ServerRefused`) is
counted in :attr:`Shared.refused` and tried again, as the main recorder's clients do
(:meth:`Shared.attach`), for ``reconnect_time`` seconds; a client that never gets in stops,
noting a problem.

The server's state is not a command's answer (:mod:`redlin.harness.server_state`): a PUBLISH,
MULTI/EXEC, SUBSCRIBE, UNSUBSCRIBE or PING refused with ``BUSY``, ``OOM`` (a PUBLISH queued in
MULTI once ``maxmemory`` is reached), ``LOADING``, ``NOAUTH``... is classified by
:func:`~redlin.harness.server_state.rejection`: written as failed (FAIL: it certainly did not
run) or indeterminate (INFO), with the error, never as its reply, and counted by code in
:attr:`Shared.rejected`; the client goes on on a new connection, under a new id, when the
rejection says so.  Messages a subscriber read before such a refusal (Redis writes them before
any reply) are written after it as ``RECV`` operations, in the order they came: nothing of the
client happens between the two, so the model reads them from its mailbox just the same.

A subscriber whose connection breaks between two commands (the server closed it, ``CLIENT KILL``,
a timeout) is unsubscribed from everything by the server when it closes the connection, but no
command of its says so, and a later PUBLISH that did not count it would look like a lost message
(sheet P4).  The recorder writes an indeterminate ``QUIT`` (:data:`ENDING_CALL`, never sent; its
error says so), invoked just after the client's last recorded event, with no reply.  The checker
lets an indeterminate operation take effect at any time after its invocation, or never, and ends
its client's session with it (subscriptions and unread messages: ``Operation.ends_session``,
:func:`redlin.adapter.deliveries.can_unsubscribe` treats QUIT so).  That is exactly what is known:
after its last recorded event the client read nothing more, and its subscriptions ended at some
moment after that, unknown, when the server let the connection go; the messages published to it
meanwhile, unread, go with the session.  A command in flight when the connection broke is itself
that indeterminate operation (it may have run, then the session ended), so nothing more is
written; its invocation is recorded just after the client's previous event, since the connection
may have ended before it was sent.  The subscriber then goes on as a new client on a new
connection (resubscribing to what it had), or stops if the publishers are done or no connection
can be had; either way a problem is noted.

The argument needs the client's last recorded event to come before the connection ended.  A frame
the server wrote just before it closed the connection may be read milliseconds later by a busy or
descheduled thread, while a PUBLISH that did not count the client completes; so every frame is
recorded at the moment the kernel received it (:meth:`~redlin.harness.wire.Connection.stamp_arrivals`,
Linux, plain TCP), not when a thread got to it, by a reader thread that does nothing else (the
controller thread writes the history).  Over TLS or elsewhere, the moment the reader read it is
used, and that window stays open.  One more case is beyond the history format: the server runs a
command in flight (say SUBSCRIBE), a PUBLISH counts its effect, and the connection is killed before
the reply is written (all in one turn of the server's event loop): the indeterminate command and
the end of its session are one point for the checker, which then cannot explain the count.  Both
leave a problem noted, which makes :mod:`redlin.harness.rounds` count a violation in that round as
unknown, not as a violation.

Over RESP3 (``protocol=3``: every connection sends ``HELLO 3`` once authenticated) the clients read
the same things in RESP3's types, and record them so: messages and (un)subscribe confirmations
are pushes (``>``), one confirmation per channel or pattern named as under RESP2, and PING
answers ``+PONG`` while subscribed.  A RESP3 subscriber may run any command while subscribed, so
it also reads a key now and then (``GET``, answered after the messages already queued for it).

>>> confirmations((b"SUBSCRIBE", b"ch0", b"ch1")), confirmations((b"PING",)), ENDING_CALL
(2, 1, ((b'QUIT',),))
"""

from __future__ import annotations

import contextlib
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from redlin.adapter.deliveries import receive_call
from redlin.adapter.redis_model import canonical_result
from redlin.harness.interrupts import checkpoint
from redlin.harness.server_state import rejection
from redlin.harness.target import ServerRefused, Target, TargetError, open_connection
from redlin.harness.wire import Connection, WireError
from redlin.history.jsonl import HistoryWriter
from redlin.history.records import History, Operation, Outcome
from redlin.model import Error, Frames, ProtocolError, Reply, is_message

__all__ = ["ENDING_CALL", "Log", "Shared", "Subscriber", "confirmations", "still_to_come", "track_subscriptions"]

Argv = tuple[bytes, ...]

ENDING_CALL: Final = ((b"QUIT",),)
"""The call of the indeterminate operation that ends a subscriber's session when its connection
broke (see the module docstring); it is never sent."""

_CONFIRMED: Final = frozenset({b"SUBSCRIBE", b"UNSUBSCRIBE", b"PSUBSCRIBE", b"PUNSUBSCRIBE"})
"""The commands answered by one confirmation per channel or pattern they name."""


def confirmations(argv: Argv) -> int:
    """How many frames that are not messages answer ``argv``: one per channel or pattern named (P2,
    P3), one for PING (P7) or any other command."""
    return max(1, len(argv) - 1) if argv[0] in _CONFIRMED else 1


def still_to_come(frame: Reply, left: int) -> int:
    """How many frames that are not messages still answer a command after ``frame`` came, ``left``
    before it: an error is the whole reply, a message is none of it.

    >>> still_to_come((b"message", b"ch", b"hi"), 2), still_to_come((b"subscribe", b"ch", 1), 2)
    (2, 1)
    """
    if type(frame) is Error:
        return 0
    return left if is_message(frame) else left - 1


def track_subscriptions(argv: Argv, channels: set[bytes], patterns: set[bytes]) -> None:
    """What the client is subscribed to after ``argv`` ran (sheet P2, P3).

    >>> channels, patterns = {b"a"}, set()
    >>> track_subscriptions((b"SUBSCRIBE", b"b"), channels, patterns); track_subscriptions((b"PSUBSCRIBE", b"c*"), channels, patterns)
    >>> track_subscriptions((b"UNSUBSCRIBE", b"a"), channels, patterns); sorted(channels), sorted(patterns)
    ([b'b'], [b'c*'])
    """
    name = argv[0]
    subscribed = channels if name in (b"SUBSCRIBE", b"UNSUBSCRIBE") else patterns
    if name in (b"SUBSCRIBE", b"PSUBSCRIBE"):
        subscribed.update(argv[1:])
    elif name in (b"UNSUBSCRIBE", b"PUNSUBSCRIBE"):
        subscribed.difference_update(argv[1:])


class Log:
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


class Shared:
    """What the clients of one recording share while their threads run."""

    def __init__(self, target: Target, seed: int, timeout: float, reconnect_time: float, protocol: int = 2) -> None:
        self.target = target
        self.seed = seed
        self.timeout = timeout
        self.reconnect_time = reconnect_time
        self.protocol = protocol
        """The RESP version every connection speaks (3: ``HELLO 3`` once authenticated)."""
        self.writer: Log
        self.lock = threading.Lock()
        self.problems: list[str] = []
        self.published = 0
        self.received = 0
        self.rejected: Counter[str] = Counter()
        """Operations the server's state rejected, by code (like ``Recorder.rejected``)."""
        self.refused: Counter[str] = Counter()
        """Connection attempts the server refused, by code (``max clients``)."""
        self.publishers_done = threading.Event()
        self.stop = threading.Event()  # publishers stop early (Ctrl-C, a failure)
        self.on_operation: Callable[[], None] | None = None
        self._ids = 0

    def new_client_id(self) -> int:
        with self.lock:
            self._ids += 1
            return self._ids

    def count_received(self) -> None:
        with self.lock:
            self.received += 1

    def count_rejection(self, code: str) -> None:
        with self.lock:
            self.rejected[code] += 1

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)

    def completed(self) -> None:
        if self.on_operation is not None:
            self.on_operation()

    def attach(self, until: float) -> Connection | BaseException:
        """A new connection, tried until ``until`` (``time.monotonic()``; once if it has passed),
        or the last error.  A refusal for the server's state is counted and retried soon; a server
        that does not answer, less and less often; a wrong password or database is not retried."""
        pause = 0.05
        while True:
            try:
                return open_connection(self.target, self.timeout, self.protocol)
            except ServerRefused as error:
                with self.lock:
                    self.refused[error.code] += 1
                last: BaseException = error
            except TargetError as error:
                return error
            except WireError as error:
                last = error
            left = until - time.monotonic()
            if left <= 0 or self.stop.wait(min(pause, left)):
                return last
            checkpoint()  # the first connection is made by the main thread
            pause = 0.05 if isinstance(last, ServerRefused) else min(pause * 2, 0.5)


@dataclass(slots=True)
class _Flight:
    """A subscriber's command waiting for its reply: the frames read so far, how many of them are
    still to come that are not messages (one confirmation per channel, or the reply of PING or of
    another command), and how it ended (``None`` while it waits)."""

    op: int
    argv: Argv
    replies_left: int
    frames: list[Reply] = field(default_factory=list)
    outcome: Outcome | None = None


class Subscriber:
    """One subscribing client: a reader thread that only receives frames and notes when each
    arrived, and a controller thread that sends commands and records everything in order (a frame
    that arrives while no command is in flight is a RECV operation, at its arrival).  After a broken
    connection it goes on as a new client (see the module docstring).  ``key``: what a RESP3
    subscriber reads now and then while subscribed (a key nobody writes)."""

    def __init__(self, run: Shared, index: int, channels: Sequence[bytes], patterns: Sequence[bytes], pause: float,
                 conn: Connection | None, key: bytes | None = None) -> None:
        self.run = run
        self.index = index
        self.channel_names, self.pattern_names, self.pause = tuple(channels), tuple(patterns), pause
        self.key = key if run.protocol == 3 else None  # RESP2 refuses GET while subscribed (P6)
        self.client = run.new_client_id()
        self.conn = conn
        self.rng = random.Random(f"{run.seed}:subscriber:{index}")
        self.inbox: queue.SimpleQueue[tuple[Reply | BaseException, int]] = queue.SimpleQueue()
        self.flight: _Flight | None = None
        self.last = time.monotonic_ns()  # the client's last recorded event
        self.broken: str | None = None  # why the connection must be given up
        self.ended = False  # an indeterminate operation of the history ends the client's session
        self.invoked = False  # the client has operations in the history
        self.channels: set[bytes] = set()
        self.patterns: set[bytes] = set()

    def _at(self, moment: int) -> int:
        """``moment``, or just after the client's previous event: consecutive events must not overlap
        in time, or the order the frames arrived in would be lost."""
        self.last = max(moment, self.last + 1)
        return self.last

    def go(self) -> None:
        why: str | None = None  # why the previous connection was given up
        while self.conn is not None or self._reconnect(why):
            conn = self.conn
            assert conn is not None
            self.inbox = queue.SimpleQueue()
            reader = threading.Thread(target=_read, args=(conn, self.inbox), daemon=True,
                                      name=f"redlin-reader-{self.client}")
            reader.start()
            done = False
            try:
                done = self._control()
            finally:
                # Closing the socket does not wake a thread blocked reading it: the server's answer
                # to QUIT does (+OK, then it closes the connection).  QUIT has no other effect: the
                # history says what the client was still subscribed to (see _end).
                with contextlib.suppress(WireError):
                    conn.send_many([(b"QUIT",)])
                reader.join(self.run.timeout + 1)
                conn.close()
                reader.join()
                self.conn = None
            why = self._end(done)
            if why is None:
                return

    def _reconnect(self, why: str | None) -> bool:
        """A new connection (after a broken one, ``why``, under a new client id), or stop."""
        old, run = self.client, self.run
        conn = run.attach(time.monotonic() + run.reconnect_time)
        if isinstance(conn, BaseException):
            lost = f"{why}; " if why is not None else ""
            run.problem(f"subscriber {old} stopped: {lost}cannot connect ({conn})")
            return False
        if why is not None:
            self.client = run.new_client_id()
            run.problem(f"subscriber {old} lost its connection ({why}): its subscriptions end there in the "
                        f"history; it goes on as client {self.client}")
        self.conn, self.flight, self.broken, self.ended, self.invoked = conn, None, None, False, False
        self.last = time.monotonic_ns()
        return True

    def _end(self, done: bool) -> str | None:
        """The connection is closed: end the client's session in the history if nothing there does
        and it may matter; the reason to go on as a new client, or ``None`` to stop."""
        why = self.broken
        if self.invoked and not self.ended and (why is not None or self.channels or self.patterns):
            writer = self.run.writer
            op = writer.invoke(client=self.client, call=ENDING_CALL, time=self._at(self.last))
            writer.complete(op, Outcome.INFO, time=self._at(time.monotonic_ns()), error=(
                f"connection lost ({why or 'closed while subscribed'}); not sent: the connection's end, which ended "
                "its subscriptions at some time after the client's last event"))
            self.ended = True
        if done or why is None:
            return None
        if self.run.publishers_done.is_set() or self.run.stop.is_set():
            self.run.problem(f"subscriber {self.client} stopped: {why}")
            return None
        return why

    # --- the controller

    def _control(self) -> bool:
        """Subscribe, listen and change subscriptions until the publishers are done, then leave
        everything: True, or False if the connection was given up first."""
        run, rng = self.run, self.rng
        channels, patterns = self.channel_names, self.pattern_names
        again = sorted(self.patterns)  # after a broken connection: resubscribe to what it had
        first = sorted(self.channels) or rng.sample(channels, min(2, len(channels)))
        self.channels.clear()
        self.patterns.clear()
        if self._request((b"SUBSCRIBE", *first)) is None:
            return False
        if again and self._request((b"PSUBSCRIBE", *again)) is None:
            return False
        while not run.publishers_done.is_set():
            if not self._listen(rng.uniform(0, self.pause * 4)):
                return False
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
            elif roll < 0.8 and self.key is not None:
                ok = self._request((b"GET", self.key))
            else:
                continue
            if ok is None:
                return False
        # Publishers are done: leave everything, so every message published while subscribed
        # must have arrived before these confirmations.
        if self.channels and self._request((b"UNSUBSCRIBE", *sorted(self.channels))) is None:
            return False
        if self.patterns and self._request((b"PUNSUBSCRIBE", *sorted(self.patterns))) is None:
            return False
        return self._request((b"PING",)) is not None

    def _listen(self, seconds: float) -> bool:
        """Record what arrives for ``seconds``, then what has arrived; False if the connection broke."""
        deadline = time.monotonic() + seconds
        while self.broken is None:
            left = deadline - time.monotonic()
            if not self._take(max(left, 0.0)) and left <= 0:
                break
        return self.broken is None

    def _take(self, wait: float) -> bool:
        """Record the next arrival, waiting up to ``wait`` seconds for it; whether there was one."""
        try:
            item, arrived = self.inbox.get(timeout=wait) if wait > 0 else self.inbox.get_nowait()
        except queue.Empty:
            return False
        if isinstance(item, BaseException):
            if not isinstance(item, WireError | ProtocolError):
                raise item  # a bug in the reader
            self._break(str(item), arrived)
            return True
        flight = self.flight
        if flight is None:  # an idle read: one RECV operation
            self.run.count_received()
            self._receipt(item, arrived)
            return True
        flight.frames.append(item)
        if is_message(item):
            self.run.count_received()
        flight.replies_left = still_to_come(item, flight.replies_left)
        if not flight.replies_left:
            self._finish(flight, arrived)
        return True

    def _request(self, argv: Argv) -> bool | None:
        """Send one command and record what arrives until its reply: True if it ran, False if the
        server's state rejected it, ``None`` if the connection is given up."""
        if not self._listen(0):  # first what arrived before it
            return None
        op = self.run.writer.invoke(client=self.client, call=[argv], time=self._at(0))
        self.invoked = True
        flight = self.flight = _Flight(op, argv, confirmations(argv))
        try:
            assert self.conn is not None
            self.conn.send_many([argv])
        except WireError as error:
            self._break(str(error), time.monotonic_ns())
            return None
        while flight.outcome is None and self.broken is None:
            self._take(1.0)  # the reader's timeout ends a wait for a reply that never comes
        if flight.outcome is Outcome.OK:
            track_subscriptions(argv, self.channels, self.patterns)
        return None if self.broken is not None else flight.outcome is Outcome.OK

    def _break(self, error: str, arrived: int) -> None:
        if self.broken is not None:
            return
        self.broken = error
        flight = self.flight
        if flight is not None:  # indeterminate: it ends the client's session in the model
            flight.outcome = Outcome.INFO
            self.run.writer.complete(flight.op, Outcome.INFO, time=self._at(arrived), error=error)
            self.ended = True
            self.flight = None

    def _receipt(self, frame: Reply, arrived: int) -> None:
        writer = self.run.writer
        start = self._at(arrived)
        op = writer.invoke(client=self.client, call=[receive_call(frame)], time=start)
        writer.complete(op, Outcome.OK, time=self._at(start), result=[frame])
        self.run.completed()

    def _finish(self, flight: _Flight, arrived: int) -> None:
        """Write how the command in flight ended: its reply, or the server's state rejecting it (see
        the module docstring)."""
        run, writer = self.run, self.run.writer
        reply = flight.frames[-1]
        refused = rejection((flight.argv,), (reply,)) if type(reply) is Error else None
        if refused is None:
            flight.outcome = Outcome.OK
            writer.complete(flight.op, Outcome.OK, time=self._at(arrived), result=[Frames.of(tuple(flight.frames))])
        else:
            flight.outcome = Outcome.FAIL if refused.definite else Outcome.INFO
            writer.complete(flight.op, flight.outcome, time=self._at(arrived), error=f"{refused.code}: {refused.text}")
            run.count_rejection(refused.code)
            if refused.definite:
                for message in flight.frames[:-1]:  # read before the refusal, and still read
                    self._receipt(message, arrived)
            else:
                self.ended = True
            if refused.reconnect:
                self.broken = f"{refused.code}: {refused.text}"
        run.completed()
        self.flight = None


def _read(conn: Connection, inbox: queue.SimpleQueue[tuple[Reply | BaseException, int]]) -> None:
    """A subscriber's reader thread: every frame, or the error that ended the connection, with the
    moment it was read.  It does nothing else, so that moment is as early as it can be."""
    try:
        stamped = conn.stamp_arrivals()
        while True:
            frame = conn.receive()
            now = time.monotonic_ns()
            inbox.put((frame, conn.arrived if stamped and conn.arrived is not None else now))
    except BaseException as error:  # noqa: BLE001 - handed to the controller
        inbox.put((error, time.monotonic_ns()))
