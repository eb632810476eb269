"""The pressure engine's Pub/Sub workload: publishers at full speed, subscribers that read every message.

``--workload pubsub`` of ``--engine async`` (:mod:`redlin.harness.pressure`) checks what Redis
promises about deliveries (sheet P: every subscriber receives each message published to its channels
while it is subscribed, once, in the order the server ran the PUBLISHes, and PUBLISH counts the
receivers, P4, P5) at the rate the server serves, as :mod:`redlin.harness.pubsub` records it for
``redlin run``'s rounds, and in the same history format (:mod:`redlin.adapter.pubsub_check`).

Who does what
-------------
- Client slot ``s`` subscribes if ``s`` is a multiple of :data:`SUBSCRIBER_EVERY` and below
  :data:`SUBSCRIBER_EVERY` × :data:`MOST_SUBSCRIBERS` (:func:`is_subscriber`): every message is
  read by several subscribers, and an epoch's Pub/Sub operations, which share the Pub/Sub state
  and so are one part of the check, stay few enough to be checked as fast as they come.
- The others publish (:func:`publish_step`): ``PUBLISH ch v`` with a payload unique to the lane and
  its sequence number, sometimes two in one MULTI block (P11), and now and then ``PUBSUB NUMSUB ch``,
  which reads the subscriptions.
- An epoch's channels are ``<prefix>ch:e<epoch>:k<n>`` (:func:`channels`): named like keys, so
  that :mod:`redlin.harness.pressure_check` sorts every line that names one into its epoch.

A subscriber (:class:`Subscriber`)
----------------------------------
When its epoch changes, it leaves the old epoch's channels and patterns (``UNSUBSCRIBE`` and
``PUNSUBSCRIBE`` naming them: those lines go to the old epoch, whose check sees the messages that
came before their confirmations), then subscribes to two of the new epoch's channels: so each
epoch's history starts with no subscription, as the model's check of it does.  Meanwhile, after
pauses of up to :data:`PAUSE`, it subscribes to one more channel, leaves one, subscribes to a
pattern (the exact name of a channel, glob-escaped: a message then comes twice, as ``message`` and
``pmessage``) or leaves it, or sends ``PING <channel>`` (named, so that its line has an epoch: a
PING's reply depends on the subscriptions).  At the run's end it leaves everything.

Everything it reads is recorded as :mod:`redlin.harness.pubsub_clients` records it: a message that
arrives while no command of its is in flight is a ``RECV`` operation at the moment the kernel
received it (``SO_TIMESTAMPNS``: :func:`~redlin.harness.wire.receive_stamped`; the subscriber
reads its socket itself, through the event loop's ``add_reader``, since a transport would not
hand over that moment); messages read before a reply are part of that command's result.  Its
events get strictly increasing times, so the order they arrived in is kept.

A connection that breaks: the command in flight is indeterminate (it may have run, then the
session ended), and since the connection may have ended before it was sent (the event loop reads the
end of the connection only when it gets to it), every command is invoked, in the history, just
after the client's previous event, as :mod:`redlin.harness.pubsub_clients` records it; if none was and the subscriber had subscriptions, it writes the indeterminate
``QUIT <channel>`` that :mod:`redlin.harness.pubsub_clients` argues for, just after its last event
(the channel names the epoch; QUIT takes any arguments, and an indeterminate operation ends its
client's session in the model).  It then goes on as a new client on a new connection, after
:data:`AGAIN_PAUSE`.  An error no command of its asked for is the server refusing the connection
(``max number of clients``): noted as a problem, never recorded as a message.

>>> [slot for slot in range(40) if is_subscriber("pubsub", slot)]
[0, 4, 8, 12]
>>> channels(b"redlin:r:", 3)
(b'redlin:r:ch:e3:k0', b'redlin:r:ch:e3:k1', b'redlin:r:ch:e3:k2')
>>> commands, call, payload = publish_step(random.Random(1), channels(b"r:", 0), b"2-9")
>>> call == call_json(*commands) and payload == b"".join(encode_command(argv) for argv in commands)
True
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, cast

from redlin.adapter.deliveries import receive_call
from redlin.harness.pressure_epochs import epoch_at, epoch_end
from redlin.harness.pressure_log import EventLog
from redlin.harness.pressure_spec import Ids, WorkerSpec
from redlin.harness.pressure_workloads import call_json, result_json
from redlin.harness.pubsub import escape_glob
from redlin.harness.pubsub_clients import confirmations, still_to_come, track_subscriptions
from redlin.harness.server_state import rejection
from redlin.harness.wire import receive_stamped, stamp_arrivals
from redlin.model import Error, Frames, Parser, ProtocolError, Reply, encode_command
from redlin.model._resp import Incomplete

__all__ = ["CHANNELS", "MIXED_PUBLISH_SHARE", "MOST_SUBSCRIBERS", "PAUSE", "PUBLISH_SHARE", "SUBSCRIBER_EVERY",
           "Subscriber", "channels", "is_subscriber", "publish_share", "publish_step"]

Argv = tuple[bytes, ...]

CHANNELS: Final = 3
"""The channels of an epoch."""
SUBSCRIBER_EVERY: Final = 4
"""One client slot in this many subscribes (the first of each four)."""
MOST_SUBSCRIBERS: Final = 4
"""The most subscribers of a run."""
PAUSE: Final = 0.005
"""The longest pause, in seconds, between two commands of a subscriber (drawn uniformly)."""
AGAIN_PAUSE: Final = 0.1
"""Seconds a subscriber whose connection broke (or was refused) waits before it connects again."""
BLOCK_SHARE: Final = 0.2
"""The share of a publisher's operations that are two PUBLISHes in one MULTI block."""
PUBLISH_SHARE: Final = 0.25
"""The share of a ``pubsub`` publisher's operations that publish (the others are a register's)."""
MIXED_PUBLISH_SHARE: Final = 1 / 7
"""The share of a ``mixed`` publisher's operations that publish."""
_SHARES: Final = {"pubsub": PUBLISH_SHARE, "mixed": MIXED_PUBLISH_SHARE}
NUMSUB_SHARE: Final = 0.1
"""The share of a publisher's operations that are ``PUBSUB NUMSUB ch``."""


def is_subscriber(workload: str, slot: int) -> bool:
    """Whether client slot ``slot`` (its number among all the run's clients) subscribes."""
    return workload in _SHARES and slot % SUBSCRIBER_EVERY == 0 and slot < SUBSCRIBER_EVERY * MOST_SUBSCRIBERS


def publish_share(workload: str, slot: int) -> float:
    """The share of client slot ``slot``'s operations that publish: :data:`PUBLISH_SHARE` (or
    :data:`MIXED_PUBLISH_SHARE`) for the first slots that do not subscribe, else none.

    >>> publish_share("pubsub", 1), publish_share("pubsub", 4), publish_share("pubsub", 16), publish_share("cas", 1)
    (0.25, 0.0, 0.0, 0.0)
    """
    if slot >= SUBSCRIBER_EVERY * MOST_SUBSCRIBERS or is_subscriber(workload, slot):
        return 0.0
    return _SHARES.get(workload, 0.0)


def channels(prefix: bytes, epoch: int) -> tuple[bytes, ...]:
    """The channels of ``epoch`` under ``prefix``."""
    return tuple(prefix + b"ch:e%d:k%d" % (epoch, number) for number in range(CHANNELS))


def publish_step(rng: random.Random, names: Sequence[bytes], tag: bytes) -> tuple[tuple[Argv, ...], str, bytes]:
    """A publisher's next operation on the channels ``names``, payloads made unique by ``tag`` (the
    lane and its sequence number): its commands, its call's JSON and its bytes."""
    roll = rng.random()
    if roll < NUMSUB_SHARE:
        commands: tuple[Argv, ...] = ((b"PUBSUB", b"NUMSUB", rng.choice(names)),)
    elif roll < NUMSUB_SHARE + BLOCK_SHARE:
        commands = ((b"MULTI",), (b"PUBLISH", rng.choice(names), tag + b"a"), (b"PUBLISH", rng.choice(names), tag + b"b"),
                    (b"EXEC",))
    else:
        commands = ((b"PUBLISH", rng.choice(names), tag),)
    return commands, call_json(*commands), b"".join(encode_command(argv) for argv in commands)


class Host(Protocol):
    """What a subscriber uses of its worker (:class:`redlin.harness.pressure_clients._Worker`)."""

    spec: WorkerSpec
    log: EventLog
    stopping: bool
    completed: int
    indeterminate: int
    reconnects: int
    rejected: dict[str, int]
    going: asyncio.Future[None]
    ids: Ids

    def may_go(self, now: int | None = None) -> bool: ...

    def problem(self, text: str) -> None: ...

    def arrived(self, client: Any) -> None: ...


@dataclass(slots=True)
class _Flight:
    """The command waiting for its reply: frames read so far, confirmations still to come."""

    op: int
    argv: Argv
    replies_left: int
    done: asyncio.Future[bool]
    frames: list[Reply] = field(default_factory=list)


class _Socket:
    """The subscriber's socket as :class:`EventLog` sends to it (:meth:`EventLog.send_now`; commands
    are small: what the kernel does not take at once waits for the socket to be writable)."""

    def __init__(self, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        self.sock, self.loop = sock, loop
        self.closed = False
        self.waiting = b""

    def is_closing(self) -> bool:
        return self.closed

    def write(self, data: bytes) -> None:
        if self.waiting:
            self.waiting += data
            return
        try:
            sent = self.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            return  # the reader sees the connection end
        if sent < len(data):
            self.waiting = data[sent:]
            self.loop.add_writer(self.sock.fileno(), self._writable)

    def _writable(self) -> None:
        try:
            sent = self.sock.send(self.waiting)
        except BlockingIOError:
            return
        except OSError:
            sent = len(self.waiting)
        self.waiting = self.waiting[sent:]
        if not self.waiting:
            self.loop.remove_writer(self.sock.fileno())


class Subscriber:
    """One subscribing client slot (see the module docstring)."""

    def __init__(self, worker: Host, slot: int) -> None:
        self.worker = worker
        self.rng = random.Random(f"{worker.spec.seed}:subscriber:{slot}")
        self.counted = False  # set up once, or given up: counted by the worker's ``arrived``
        self.client = 0
        self.sock: _Socket | None = None
        self.parser = Parser()
        self.flight: _Flight | None = None
        self.last = 0  # the client's last recorded event
        self.broken: str | None = None
        self.lost: asyncio.Future[None] | None = None
        self.channels: set[bytes] = set()
        self.patterns: set[bytes] = set()
        self.epoch = -1
        self.invoked = False
        self.stamped = False  # the kernel stamps each frame's arrival (wire.stamp_arrivals)

    def _at(self, moment: int) -> int:
        self.last = max(moment, self.last + 1)
        return self.last

    async def run(self, loop: asyncio.AbstractEventLoop) -> None:
        """Connect, wait for the run's start, subscribe and listen until the run ends; after a broken
        connection, go on as a new client."""
        worker, first = self.worker, True
        try:
            while not worker.stopping and worker.may_go():
                if not await self._connect(loop):
                    return
                worker.reconnects += not first
                first = False
                worker.arrived(self)
                await worker.going
                self.last = max(self.last, time.monotonic_ns())  # nothing of it happened before the start
                try:
                    await self._control(loop)
                finally:
                    self._close(loop)
                if self.broken is not None:
                    await asyncio.sleep(AGAIN_PAUSE)  # a server that refuses connections is not hammered
        finally:
            worker.arrived(self)

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> bool:
        spec = self.worker.spec
        until, pause = time.monotonic() + spec.reconnect_time, 0.05
        while True:
            try:
                sock = await asyncio.wait_for(loop.run_in_executor(
                    None, socket.create_connection, (spec.host, spec.port), spec.timeout), spec.timeout + 1)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if await self._set_up(loop, sock):
                    break
                sock.close()
            except (OSError, asyncio.TimeoutError) as error:
                if self.worker.stopping or time.monotonic() + pause > until:
                    self.worker.problem(f"a subscriber stopped: cannot connect to {spec.host}:{spec.port} ({error})")
                    return False
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)
        self.client, self.parser, self.broken, self.flight = self.worker.ids.next_client(), Parser(), None, None
        self.channels.clear()
        self.patterns.clear()
        self.epoch, self.invoked, self.last = -1, False, time.monotonic_ns()
        self.lost = loop.create_future()
        self.stamped = stamp_arrivals(sock)
        sock.setblocking(False)
        self.sock = _Socket(sock, loop)
        loop.add_reader(sock.fileno(), self._readable)
        return True

    async def _set_up(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> bool:
        """AUTH and SELECT, as the other clients send them (not recorded); whether the server took them."""
        spec = self.worker.spec
        hello: list[Argv] = []
        if spec.password is not None:
            hello.append((b"AUTH", *((spec.username.encode(),) if spec.username else ()), spec.password.encode()))
        if spec.db:
            hello.append((b"SELECT", str(spec.db).encode()))
        if not hello:
            return True
        sock.setblocking(False)
        await loop.sock_sendall(sock, b"".join(encode_command(argv) for argv in hello))
        parser, replies = Parser(), list[Reply]()
        while len(replies) < len(hello):
            try:
                replies.append(cast(Reply, parser.take()))  # a reply parser: never a command's list
            except Incomplete:
                data = await asyncio.wait_for(loop.sock_recv(sock, 65536), spec.timeout)
                if not data:
                    raise OSError("the server closed the connection while it was set up") from None
                parser.feed(data)
        refused = next((reply for reply in replies if type(reply) is Error), None)
        if refused is not None:
            self.worker.problem(f"a subscriber's connection setup was refused: {refused.text}")
        sock.setblocking(True)
        return refused is None

    def _close(self, loop: asyncio.AbstractEventLoop) -> None:
        """End the connection; write the end of the session if the history does not say it."""
        if self.sock is not None:
            loop.remove_reader(self.sock.sock.fileno())
            if self.sock.waiting:
                loop.remove_writer(self.sock.sock.fileno())
            self.sock.closed = True
            self.sock.sock.close()
            self.sock = None
        if self.invoked and self.flight is None and (self.channels or self.patterns):
            name = min(self.channels or self.patterns)
            log = self.worker.log
            op = self.worker.ids.next_op()
            log.invoke(op, self.client, call_json((b"QUIT", name)), self._at(self.last))
            log.ended(op, "info", self._at(time.monotonic_ns()),
                      f"connection lost ({self.broken or 'closed while subscribed'}); not sent: the connection's end, "
                      "which ended its subscriptions at some time after the client's last event")
            self.worker.indeterminate += 1
            self.channels.clear()
            self.patterns.clear()

    # --- the controller

    async def _control(self, loop: asyncio.AbstractEventLoop) -> None:
        worker, rng, spec = self.worker, self.rng, self.worker.spec
        while self.broken is None and worker.may_go():
            now = time.monotonic_ns()
            epoch = epoch_at(now - spec.started_ns, spec.epoch_ns)
            names = channels(spec.prefix, epoch)
            if epoch != self.epoch:
                if not await self._leave():
                    return
                self.epoch = epoch
                if not await self._request((b"SUBSCRIBE", *sorted(rng.sample(names, 2)))):
                    return
            else:
                roll = rng.random()
                if roll < 0.25:
                    argv: Argv = (b"SUBSCRIBE", rng.choice(names))
                elif roll < 0.45 and len(self.channels) > 1:
                    argv = (b"UNSUBSCRIBE", rng.choice(sorted(self.channels)))
                elif roll < 0.6:
                    argv = (b"PSUBSCRIBE", escape_glob(rng.choice(names)))
                elif roll < 0.75 and self.patterns:
                    argv = (b"PUNSUBSCRIBE", rng.choice(sorted(self.patterns)))
                else:
                    argv = (b"PING", rng.choice(names))
                if not await self._request(argv):
                    return
            left = (spec.started_ns + epoch_end(epoch, spec.epoch_ns) - time.monotonic_ns()) / 1e9
            assert self.lost is not None
            await asyncio.wait([self.lost], timeout=max(0.0, min(rng.uniform(0, PAUSE), left)))
        if self.broken is None:
            await self._leave()

    async def _leave(self) -> bool:
        """Leave every channel and pattern, naming them; whether the connection still works."""
        if self.channels and not await self._request((b"UNSUBSCRIBE", *sorted(self.channels))):
            return False
        return not self.patterns or await self._request((b"PUNSUBSCRIBE", *sorted(self.patterns)))

    async def _request(self, argv: Argv) -> bool:
        """Send one command and record what arrives until its reply; whether the connection still works."""
        worker, sock = self.worker, self.sock
        while sock is not None and self.broken is None and self._readable():  # first what arrived before it
            pass
        if self.broken is not None or sock is None:
            return False
        op = worker.ids.next_op()
        # invoked just after the client's previous event: the connection may have ended since, and
        # then this operation, indeterminate, is where the session ends (see the module docstring)
        worker.log.invoke(op, self.client, call_json(argv), self._at(0))
        self.invoked = True
        flight = self.flight = _Flight(op, argv, confirmations(argv), asyncio.get_running_loop().create_future())
        worker.log.send_now(sock, encode_command(argv))  # not at the turn's end: a long flight is costly to search
        try:
            ran = await asyncio.wait_for(asyncio.shield(flight.done), worker.spec.timeout)
        except asyncio.TimeoutError:
            self._break(f"timeout: no reply in {worker.spec.timeout:g} s", time.monotonic_ns())
            return False
        if ran:
            track_subscriptions(argv, self.channels, self.patterns)
        return self.broken is None

    # --- the reader (a callback of the event loop)

    def _readable(self) -> bool:
        """Read what has come, record its frames; whether anything had come."""
        sock = self.sock
        if sock is None:
            return False
        try:
            data, arrived = receive_stamped(sock.sock) if self.stamped else (sock.sock.recv(65536),
                                                                             time.monotonic_ns())
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as error:
            self._break(f"connection lost: {error}", time.monotonic_ns())
            return False
        if not data:
            self._break("connection lost: closed by the server", arrived)
            return False
        self.parser.feed(data)
        while self.broken is None:
            try:
                frame: Reply = self.parser.take()  # type: ignore[assignment]  # a reply parser
            except Incomplete:
                break
            except ProtocolError as error:
                self._break(f"not RESP: {error}", arrived)
                break
            self._frame(frame, arrived)
        return True

    def _frame(self, frame: Reply, arrived: int) -> None:
        worker, flight = self.worker, self.flight
        if flight is None and type(frame) is Error:  # no command asked: the server refuses the connection
            worker.problem(f"a subscriber's connection was refused: {frame.text}")
            self._break(f"refused: {frame.text}", arrived)
            return
        if flight is None:  # an idle read: one RECV operation, at its arrival (a frame no command asked for
            # that is not a message is recorded so too, and the check shows it)
            op = worker.ids.next_op()
            start = self._at(arrived)
            worker.log.invoke(op, self.client, call_json(receive_call(frame)), start)
            worker.log.ok(op, self._at(start), result_json((frame,)))
            worker.completed += 1
            return
        flight.frames.append(frame)
        flight.replies_left = still_to_come(frame, flight.replies_left)
        if flight.replies_left:
            return
        self.flight = None
        worker.completed += 1
        refused = rejection((flight.argv,), (frame,)) if type(frame) is Error else None
        if refused is None:
            worker.log.ok(flight.op, self._at(arrived), result_json((Frames.of(tuple(flight.frames)),)))
            flight.done.set_result(True)
            return
        worker.rejected[refused.code] = worker.rejected.get(refused.code, 0) + 1
        worker.log.ended(flight.op, "fail" if refused.definite else "info", self._at(arrived),
                         f"{refused.code}: {refused.text}")
        for message in flight.frames[:-1] if refused.definite else ():  # read before the refusal, and still read
            self._frame(message, arrived)
        if not refused.definite:
            worker.indeterminate += 1
            self.channels.clear()  # the indeterminate operation ends the session in the model
            self.patterns.clear()
        if refused.reconnect or not refused.definite:
            self._break(f"{refused.code}: {refused.text}", arrived)
        flight.done.set_result(False)

    def _break(self, why: str, arrived: int) -> None:
        """The connection is given up: the command in flight is indeterminate (it ends the session)."""
        if self.broken is not None:
            return
        self.broken = why
        flight, self.flight = self.flight, None
        if flight is not None:
            self.worker.log.ended(flight.op, "info", self._at(arrived), why)
            self.worker.indeterminate += 1
            self.worker.completed += 1
            self.channels.clear()
            self.patterns.clear()
            flight.done.set_result(False)
        if self.lost is not None and not self.lost.done():
            self.lost.set_result(None)
