"""An embedded Redis server over redlin's model: a test double that speaks RESP2 on loopback.

Every command is one call of the model's pure ``step``, made synchronously on the asyncio event
loop: nothing else runs while it runs, so a command, a whole EXEC and a whole EVAL are atomic
exactly as in Redis's single-threaded ``processCommand`` (sheet M17, E25).  The server keeps one
:class:`~model.State` value and replaces it after each step; ``now`` is the server's monotonic
clock in milliseconds since it started.

Each connection is a fresh model client (ids 1, 2, ...); when it closes, ``disconnect`` ends its
session (MULTI queue, WATCH, SELECT, subscriptions).  Commands are parsed with the model's own
:class:`~model.Parser` (RESP arrays and inline commands), pipelined commands are answered in order,
``QUIT`` replies ``+OK`` and closes, and bytes that are not RESP get ``-ERR Protocol error: ...``
and a close, as Redis does.

A few commands that clients send on connect are answered here, not by the model, and only while
the model has no command of that name and the connection is neither in MULTI nor subscribed
(otherwise the model decides, as it does for any unknown command):

- ``CLIENT ID`` → the connection's id; ``CLIENT SETNAME`` / ``CLIENT GETNAME`` → the connection's
  name (``RESET`` clears it); ``CLIENT SETINFO`` → ``+OK`` (a 7.2 command; redis-py sends it on
  connect and ignores errors).
- ``HELLO [2] [AUTH user pass] [SETNAME name]`` → the RESP2 handshake map as a flat array;
  ``HELLO 3`` → ``-NOPROTO unsupported protocol version`` (RESP3 is not served).
- ``COMMAND``, ``COMMAND DOCS`` → ``*0``.
- ``INFO [section...]`` → a small bulk with ``redis_version:7.0.15-redlin-model``.

Planted faults (:data:`FAULTS`) turn the server into a *wrong* Redis that breaks exactly one
guarantee, so that redlin can be shown to catch each kind of bug.  A fault fires only when its
effect can be observed, and its random choices come from ``random.Random(seed)``.  Where a fault
yields to the event loop it sleeps :data:`PAUSE_SECONDS` rather than ``sleep(0)``: clients running
in the same process (``redlin run`` starts this server in a thread) need the GIL released to get
their commands in between.

When each fault fires (anything else is served exactly as by the clean server):

- ``watch-ignored``: an EXEC that the model aborts with a null array is run again with the
  caller's dirty flag and watches cleared.  No randomness.
- ``exec-not-atomic``: an EXEC that would run a queue of two or more commands runs them one by
  one, pausing between them (the abort checks and the unwatching stay atomic).  No randomness.
- ``incr-read-then-write`` / ``script-not-atomic``: a standalone INCR-family command / script that
  writes is stepped on a snapshot; after a pause the keys it changed are written blindly onto the
  then-current state (still touching watchers).  No randomness.
- ``stale-read``: a standalone read-only command with one key, with chance
  :data:`STALE_READ_CHANCE`, reads the keyspace of 1 to :data:`STALE_READ_DEPTH` versions ago.
- ``lost-write``: a standalone command flagged ``write`` that changed the keyspace, with chance
  :data:`LOST_WRITE_CHANCE`, keeps its reply and loses its effect.
- ``drop-message`` / ``duplicate-message``: each Pub/Sub message, with chance
  :data:`DROP_MESSAGE_CHANCE` / :data:`DUPLICATE_MESSAGE_CHANCE`, is not written / written twice.
- ``reorder-delivery``: each message, with chance :data:`REORDER_CHANCE`, is held back and written
  right after the next message for the same connection (or before its next reply, if that comes
  first: late, but in order with the replies).
- ``wrong-receiver-count``: a standalone PUBLISH, with chance :data:`WRONG_COUNT_CHANCE`, answers
  one receiver more than it delivered to (one fewer, half the time, when it delivered to some).

Out-of-band messages: :meth:`Connection.push` writes a reply to a connection from anywhere on the
event loop, in order with the replies of its own command loop.  Pub/Sub deliveries are the model's:
a step queues messages in the receivers' mailboxes (model state), and the server writes them out
(:func:`model.flush_mailboxes`) right after the step, before the step's reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, TypeVar, cast

from redlin.model import (
    INITIAL_STATE,
    NULL_ARRAY,
    Context,
    Error,
    Keyspace,
    Parser,
    ProtocolError,
    Reply,
    Session,
    State,
    Status,
    disconnect,
    encode_reply,
    flush_mailboxes,
    keys_of,
    lookup,
    step,
)

__all__ = [
    "FAULTS", "PAUSE_SECONDS", "REDIS_VERSION", "Connection", "RunningServer", "Server",
    "is_loopback", "serve", "start_in_thread",
]

REDIS_VERSION: Final = "7.0.15-redlin-model"

FAULTS: Final[Mapping[str, str]] = {
    "watch-ignored":
        "EXEC runs its queue even when a watched key was modified (the WATCH dirty flag is ignored)",
    "exec-not-atomic":
        "EXEC runs its queued commands one per event-loop turn: other clients' commands interleave",
    "incr-read-then-write":
        "INCR/DECR/INCRBY/DECRBY read, yield to other clients, then write: concurrent updates are lost",
    "script-not-atomic":
        "EVAL/EVALSHA run on a snapshot; after yielding, the keys they changed are written blindly",
    "stale-read":
        "read-only single-key commands (GET, STRLEN, ...) sometimes see the keyspace of a few writes ago",
    "lost-write":
        "about 1 in 10 writes outside MULTI is acknowledged with its normal reply but not applied",
    "drop-message":
        "about 1 in 20 Pub/Sub messages is never written to its subscriber",
    "duplicate-message":
        "about 1 in 20 Pub/Sub messages is written to its subscriber twice",
    "reorder-delivery":
        "about 1 in 10 Pub/Sub messages is held back and written after the subscriber's next message",
    "wrong-receiver-count":
        "about 1 in 10 PUBLISH outside MULTI answers a receiver count that is off by one",
}
"""Planted fault name -> what it breaks (one guarantee each)."""

PAUSE_SECONDS: Final = 0.001
"""How long a fault yields to the event loop where it breaks atomicity."""

STALE_READ_CHANCE: Final = 0.25
STALE_READ_DEPTH: Final = 8  # keyspace versions kept for stale-read
LOST_WRITE_CHANCE: Final = 0.1
DROP_MESSAGE_CHANCE: Final = 0.05
DUPLICATE_MESSAGE_CHANCE: Final = 0.05
REORDER_CHANCE: Final = 0.1
WRONG_COUNT_CHANCE: Final = 0.1

_READ_SIZE: Final = 65536
_INCR_FAMILY: Final = frozenset({b"incr", b"decr", b"incrby", b"decrby"})
_SCRIPT_FAMILY: Final = frozenset({b"eval", b"evalsha", b"eval_ro", b"evalsha_ro", b"fcall", b"fcall_ro"})
_EMPTY: Final[tuple[Reply, ...]] = ()

log = logging.getLogger("redlin.serve")

Argv = list[bytes]
T = TypeVar("T")


class Connection:
    """One client connection: its model client id, its name, and its outgoing stream."""

    def __init__(self, client_id: int, writer: asyncio.StreamWriter) -> None:
        self.id = client_id
        self.name: bytes | None = None
        self.closing = False
        self._writer = writer

    def push(self, reply: Reply) -> None:
        """Send ``reply`` now, after everything already sent.  Safe to call from any task on the
        server's event loop (a Pub/Sub delivery, for instance); dropped once the connection closes."""
        if not self.closing and not self._writer.is_closing():
            self._writer.write(encode_reply(reply))


FaultHook = Callable[["Server", Connection, Argv], Awaitable[Reply]]


class Server:
    """A running model server; made by :func:`serve`.

    ``state`` is the model state after the last command; ``connections`` the open connections by
    client id.  ``close()`` stops listening and closes every connection.
    """

    def __init__(self, host: str, fault: str | None, seed: int) -> None:
        if fault == "none":
            fault = None
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known faults: {', '.join(FAULTS)}")
        self.host = host
        self.port = 0
        self.fault = fault
        self.seed = seed
        self.state: State = INITIAL_STATE
        self.connections: dict[int, Connection] = {}
        self._start_ms = time.monotonic_ns() // 1_000_000
        self._next_id = 1
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncio.AbstractServer | None = None
        self._random = random.Random(seed)
        self._hook: FaultHook | None = _FAULT_HOOKS[fault] if fault is not None else None
        self._mail_fault: MailFault | None = _MAIL_FAULTS.get(fault) if fault is not None else None
        self._held: dict[int, Reply] = {}  # reorder-delivery: a message held back per connection
        # stale-read only: the keyspaces (all 16 dbs) of the last few versions, oldest first.
        self._history: deque[tuple[Keyspace, ...]] | None = (
            deque(maxlen=STALE_READ_DEPTH) if fault == "stale-read" else None
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"redis://{host}:{self.port}/0"

    def now(self) -> int:
        """The server clock: milliseconds since the server started (monotonic)."""
        return time.monotonic_ns() // 1_000_000 - self._start_ms

    async def _listen(self, port: int) -> None:
        self._listener = await asyncio.start_server(self._handle, self.host, port)
        self.port = int(self._listener.sockets[0].getsockname()[1])

    async def serve_forever(self) -> None:
        """Run until cancelled (or until :meth:`close`)."""
        assert self._listener is not None
        await self._listener.serve_forever()

    async def close(self) -> None:
        """Stop listening, close every connection and end its session."""
        if self._listener is not None:
            self._listener.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._listener is not None:
            await self._listener.wait_closed()

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.close()

    # ----------------------------------------------------------------- connections

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        connection = Connection(self._next_id, writer)
        self._next_id += 1
        self.connections[connection.id] = connection
        parser = Parser(commands=True)
        try:
            while not connection.closing:
                data = await reader.read(_READ_SIZE)
                if not data:
                    break
                parser.feed(data)
                try:
                    for value in parser.values():
                        argv = cast(Argv, value)
                        if argv:  # an empty inline line or *0: ignored, as Redis does
                            await self._serve_command(connection, argv)
                        if connection.closing:
                            break
                except ProtocolError as error:
                    # Redis answers what came before, then the error, then closes.
                    connection.push(Error(f"ERR Protocol error: {error}"))
                    connection.closing = True
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            # The peer vanished, or close() cancelled us: either way this connection is over.  A
            # cancelled task is not re-raised: asyncio's stream callback would log it as an error.
            pass
        finally:
            connection.closing = True
            self.state = disconnect(self.state, connection.id)
            self._held.pop(connection.id, None)
            del self.connections[connection.id]
            writer.close()
            try:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await writer.wait_closed()
            finally:
                self._tasks.discard(task)  # only now: close() must wait for this task to end

    async def _serve_command(self, connection: Connection, argv: Argv) -> None:
        name = argv[0].lower()
        handler = _SERVER_COMMANDS.get(name)
        if handler is not None and (lookup(argv) is not None or _standalone(self, connection.id) is None):
            handler = None  # the model has the command, or the session queues/refuses it: model decides
        try:
            if handler is not None:
                reply = handler(self, connection, argv)
            elif self._hook is None:
                reply = self._step(connection.id, argv)
            else:
                reply = await self._hook(self, connection, argv)
        except Exception as error:  # a bug in the model: say so, keep serving
            log.exception("model failed on %r", argv[:2])
            reply = Error(f"ERR redlin's model failed on '{name.decode(errors='replace')}': {error!r}")
        self.state = self._deliver(self.state)
        if self._mail_fault is not None:
            self._mail_fault(self, connection, None)  # a reply is next on this connection
        connection.push(reply)
        if name == b"quit":
            connection.closing = True  # after the reply, like CLIENT_CLOSE_AFTER_REPLY
        elif name == b"reset":
            connection.name = None

    def _deliver(self, state: State) -> State:
        """Write the Pub/Sub messages queued in ``state``'s mailboxes; ``state`` with them emptied."""
        state, mail = flush_mailboxes(state)
        for client, frames in mail.items():
            connection = self.connections.get(client)  # type: ignore[call-overload]
            if connection is None:
                continue
            for frame in frames:
                if self._mail_fault is None:
                    connection.push(frame)
                else:
                    self._mail_fault(self, connection, frame)
        return state

    def _step(self, client: int, argv: Sequence[bytes]) -> Reply:
        """One atomic model step on the current state (no await: nothing can interleave)."""
        before = self.state
        self.state, reply = step(before, client, argv, self.now())
        if self._history is not None and self.state.dbs is not before.dbs:
            self._history.append(before.dbs)
        return reply


# --------------------------------------------------------------------- commands of the server layer


def _standalone(server: Server, client: int) -> Session | None:
    """The caller's session if it is outside MULTI and not subscribed (a plain command runs now)."""
    session = server.state.session(client)
    if session.multi is not None or session.subscriptions:
        return None
    return session


def _client_command(server: Server, connection: Connection, argv: Argv) -> Reply:
    if len(argv) < 2:
        return _arity_error("client")
    sub = argv[1].lower()
    arity = {b"id": 2, b"getname": 2, b"setname": 3, b"setinfo": 4}.get(sub)
    if arity is None:
        return _unknown_subcommand(argv)
    if len(argv) != arity:
        return _arity_error(f"client|{sub.decode()}")
    if sub == b"id":
        return connection.id
    if sub == b"getname":
        return connection.name
    if sub == b"setname":
        return _set_name(connection, argv[2])
    if argv[2].lower() not in (b"lib-name", b"lib-ver"):
        return Error(f"ERR Unrecognized option '{argv[2].decode('utf-8', 'surrogateescape')}'")
    return Status("OK")


def _set_name(connection: Connection, name: bytes) -> Reply:
    if any(byte < 0x21 or byte > 0x7E for byte in name):
        return Error("ERR Client names cannot contain spaces, newlines or special characters.")
    connection.name = name or None
    return Status("OK")


def _hello(server: Server, connection: Connection, argv: Argv) -> Reply:
    i = 1
    if len(argv) > 1:
        version = argv[1]
        if not version.lstrip(b"-").isdigit() or len(version) > 20:
            return Error("ERR Protocol version is not an integer or out of range")
        if int(version) != 2:
            return Error("NOPROTO unsupported protocol version")
        i = 2
    name: bytes | None = None
    while i < len(argv):
        option = argv[i].lower()
        if option == b"auth" and i + 2 < len(argv):
            i += 3  # no password is configured: the default user accepts any
        elif option == b"setname" and i + 1 < len(argv):
            name = argv[i + 1]
            i += 2
        else:
            return Error(f"ERR Syntax error in HELLO option '{argv[i].decode('utf-8', 'surrogateescape')}'")
    if name is not None:
        error = _set_name(connection, name)
        if type(error) is Error:
            return error
    return (b"server", b"redis", b"version", REDIS_VERSION.encode(), b"proto", 2, b"id", connection.id,
            b"mode", b"standalone", b"role", b"master", b"modules", _EMPTY)


def _command_command(server: Server, connection: Connection, argv: Argv) -> Reply:
    if len(argv) == 1 or argv[1].lower() == b"docs":
        return _EMPTY
    return _unknown_subcommand(argv)


def _info(server: Server, connection: Connection, argv: Argv) -> Reply:
    return (f"# Server\r\nredis_version:{REDIS_VERSION}\r\nredis_mode:standalone\r\n"
            f"tcp_port:{server.port}\r\n").encode()


def _arity_error(name: str) -> Error:
    return Error(f"ERR wrong number of arguments for '{name}' command")


def _unknown_subcommand(argv: Argv) -> Error:
    sub = argv[1].decode("utf-8", "surrogateescape")[:128]
    return Error(f"ERR unknown subcommand '{sub}'. Try {argv[0].decode('utf-8', 'replace').upper()} HELP.")


_SERVER_COMMANDS: Final[dict[bytes, Callable[[Server, Connection, Argv], Reply]]] = {
    b"client": _client_command,
    b"hello": _hello,
    b"command": _command_command,
    b"info": _info,
}


# --------------------------------------------------------------------- planted faults
# Each hook replaces ``Server._step`` for every model command; it must behave exactly like it
# except under the one condition it breaks.


def _with_session(state: State, client: int, session: Session) -> State:
    return State(state.dbs, state.sessions.set(client, session), state.scripts)


async def _watch_ignored(server: Server, connection: Connection, argv: Argv) -> Reply:
    before = server.state
    reply = server._step(connection.id, argv)
    if argv[0].lower() != b"exec" or reply is not NULL_ARRAY:
        return reply
    # Aborted by a touched (or expired) watched key: run it as if nothing had been watched.
    session = before.session(connection.id)
    unwatched = session.replace(dirty_cas=False, watched=frozenset(), stale=frozenset())
    server.state = _with_session(before, connection.id, unwatched)
    return server._step(connection.id, argv)


async def _exec_not_atomic(server: Server, connection: Connection, argv: Argv) -> Reply:
    client = connection.id
    session = server.state.session(client)
    queue = session.multi
    if argv[0].lower() != b"exec" or queue is None or len(queue) < 2 or _special(queue):
        return server._step(client, argv)
    # EXEC with an empty queue does the whole prologue (abort checks, unwatch, leave MULTI).
    trial, reply = step(_with_session(server.state, client, session.replace(multi=())), client,
                        argv, server.now())
    if reply != _EMPTY:
        return server._step(client, argv)  # aborted (EXECABORT or null array): nothing to break
    server.state = trial
    replies: list[Reply] = []
    for index, queued in enumerate(queue):
        if index:
            await asyncio.sleep(PAUSE_SECONDS)
        replies.append(server._step(client, queued))
    return tuple(replies)


def _special(queue: tuple[tuple[bytes, ...], ...]) -> bool:
    # Queued Pub/Sub and blocking commands behave differently outside EXEC: leave them atomic.
    for queued in queue:
        spec = lookup(queued)
        if spec is None or "pubsub" in spec.flags or "blocking" in spec.flags:
            return True
    return False


async def _incr_read_then_write(server: Server, connection: Connection, argv: Argv) -> Reply:
    if argv[0].lower() not in _INCR_FAMILY or _standalone(server, connection.id) is None:
        return server._step(connection.id, argv)
    return await _read_yield_write(server, connection.id, argv)


async def _script_not_atomic(server: Server, connection: Connection, argv: Argv) -> Reply:
    if argv[0].lower() not in _SCRIPT_FAMILY or _standalone(server, connection.id) is None:
        return server._step(connection.id, argv)
    return await _read_yield_write(server, connection.id, argv)


async def _read_yield_write(server: Server, client: int, argv: Argv) -> Reply:
    """Run ``argv`` on a snapshot, let other clients run, then write what it changed blindly."""
    snapshot = server.state
    after, reply = step(snapshot, client, argv, server.now())
    after = server._deliver(after)  # messages a script published go out now: only keys are written back
    if after.dbs is snapshot.dbs:  # wrote nothing (an error, a read-only script): nothing to lose
        server.state = after
        return reply
    await asyncio.sleep(PAUSE_SECONDS)
    server.state = _write_back(snapshot, after, server.state, client, server.now())
    return reply


def _write_back(snapshot: State, after: State, current: State, client: int, now: int) -> State:
    """``current`` with every key that differs between ``snapshot`` and ``after`` set to its value
    (and TTL) in ``after``, as writes by ``client`` (they touch watchers); new cached scripts too."""
    ctx = Context(current, client, now)
    for index, (old, new) in enumerate(zip(snapshot.dbs, after.dbs, strict=True)):
        if old is new:
            continue
        ctx.select(index)
        for key in set(old.data.keys()) | set(new.data.keys()) | set(old.expires.keys()) | set(new.expires.keys()):
            value, deadline = new.data.get(key), new.expires.get(key)
            if value == old.data.get(key) and deadline == old.expires.get(key):
                continue
            if value is None:
                ctx.delete(key)
                continue
            ctx.write(key, value)
            if ctx.deadline(key) != deadline:
                ctx.set_deadline(key, deadline)
    for sha, body in after.scripts.items():
        if sha not in ctx.scripts:
            ctx.scripts = ctx.scripts.set(sha, body)
    return ctx.commit()


async def _stale_read(server: Server, connection: Connection, argv: Argv) -> Reply:
    client = connection.id
    history = server._history
    assert history is not None
    spec = lookup(argv)
    if (spec is None or "readonly" not in spec.flags or spec.keys_fn is not None or not history
            or _standalone(server, client) is None or len(keys_of(argv) or ()) != 1
            or server._random.random() >= STALE_READ_CHANCE):
        return server._step(client, argv)
    versions_ago = server._random.randint(1, len(history))
    current = server.state
    old = State(history[-versions_ago], current.sessions, current.scripts, current.watched)
    _, reply = step(old, client, argv, server.now())  # the current state stays as it is
    return reply


async def _lost_write(server: Server, connection: Connection, argv: Argv) -> Reply:
    client = connection.id
    spec = lookup(argv)
    before = server.state
    standalone = _standalone(server, client) is not None
    reply = server._step(client, argv)
    if (standalone and spec is not None and spec.write and server.state.dbs is not before.dbs
            and server._random.random() < LOST_WRITE_CHANCE):
        server.state = before
    return reply


async def _plain_step(server: Server, connection: Connection, argv: Argv) -> Reply:
    return server._step(connection.id, argv)


async def _wrong_receiver_count(server: Server, connection: Connection, argv: Argv) -> Reply:
    standalone = _standalone(server, connection.id) is not None
    reply = server._step(connection.id, argv)
    if (standalone and argv[0].lower() == b"publish" and type(reply) is int
            and server._random.random() < WRONG_COUNT_CHANCE):
        return reply - 1 if reply > 0 and server._random.random() < 0.5 else reply + 1
    return reply


# Delivery faults: called with each message about to be written to ``connection`` (and with
# ``None`` just before a reply is written to it); they write what the faulty server writes.
MailFault = Callable[["Server", Connection, "Reply | None"], None]


def _drop_message(server: Server, connection: Connection, frame: Reply | None) -> None:
    if frame is not None and server._random.random() >= DROP_MESSAGE_CHANCE:
        connection.push(frame)


def _duplicate_message(server: Server, connection: Connection, frame: Reply | None) -> None:
    if frame is not None:
        connection.push(frame)
        if server._random.random() < DUPLICATE_MESSAGE_CHANCE:
            connection.push(frame)


def _reorder_delivery(server: Server, connection: Connection, frame: Reply | None) -> None:
    held = server._held.pop(connection.id, None)
    if frame is not None and held is None and server._random.random() < REORDER_CHANCE:
        server._held[connection.id] = frame
        return
    if frame is not None:
        connection.push(frame)
    if held is not None:
        connection.push(held)  # after the message that overtook it, or before the next reply


_FAULT_HOOKS: Final[dict[str, FaultHook]] = {
    "watch-ignored": _watch_ignored,
    "exec-not-atomic": _exec_not_atomic,
    "incr-read-then-write": _incr_read_then_write,
    "script-not-atomic": _script_not_atomic,
    "stale-read": _stale_read,
    "lost-write": _lost_write,
    "drop-message": _plain_step,
    "duplicate-message": _plain_step,
    "reorder-delivery": _plain_step,
    "wrong-receiver-count": _wrong_receiver_count,
}
assert _FAULT_HOOKS.keys() == FAULTS.keys()
_MAIL_FAULTS: Final[dict[str, MailFault]] = {
    "drop-message": _drop_message,
    "duplicate-message": _duplicate_message,
    "reorder-delivery": _reorder_delivery,
}


# --------------------------------------------------------------------- starting a server


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``); no DNS lookup."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve(host: str = "127.0.0.1", port: int = 0, *, fault: str | None = None, seed: int = 0,
                allow_remote: bool = False) -> Server:
    """Start a model server listening on ``host:port`` (``port=0``: a free port) in the running
    event loop and return it; ``server.url`` is the address to give clients.

    ``fault`` is a name from :data:`FAULTS` (or ``None``/``"none"`` for a correct server); ``seed``
    makes its random choices repeatable.  A non-loopback ``host`` is refused (``ValueError``)
    unless ``allow_remote``: this is a test double, not a database.

    >>> async def demo() -> None:
    ...     async with await serve() as server:
    ...         reader, writer = await asyncio.open_connection(server.host, server.port)
    ...         writer.write(b"PING\\r\\n")
    ...         print(await reader.readline())
    ...         writer.close()
    >>> asyncio.run(demo())
    b'+PONG\\r\\n'
    """
    if not allow_remote and not is_loopback(host):
        raise ValueError(f"refusing to listen on non-loopback host {host!r} (this is a test double)")
    server = Server(host, fault, seed)
    await server._listen(port)
    return server


class RunningServer:
    """A model server running on its own event loop in a daemon thread; see :func:`start_in_thread`."""

    def __init__(self, host: str, port: int, fault: str | None, seed: int) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._server: Server | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, args=(host, port, fault, seed),
                                        name="redlin-serve", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            self._thread.join()
            raise self._failure

    def _run(self, host: str, port: int, fault: str | None, seed: int) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._server = self._loop.run_until_complete(serve(host, port, fault=fault, seed=seed))
        except BaseException as error:  # noqa: BLE001 - re-raised in the starting thread
            self._failure = error
            self._loop.close()
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
            self._loop.run_until_complete(self._server.close())
        finally:
            self._loop.close()

    @property
    def server(self) -> Server:
        """The :class:`Server` (read ``server.state`` for the model state; do not mutate)."""
        assert self._server is not None
        return self._server

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``"""
        return self.server.url

    def submit(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the server's event loop and return its result (for pushing messages,
        or reading ``server`` consistently, from another thread)."""
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def stop(self) -> None:
        """Close every connection and stop the thread (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()


def start_in_thread(port: int = 0, fault: str | None = None, seed: int = 0, *,
                    host: str = "127.0.0.1") -> RunningServer:
    """Start a model server in a background thread (loopback, ``port=0``: a free port).

    >>> with start_in_thread() as running:
    ...     running.url.startswith("redis://127.0.0.1:")
    True
    """
    return RunningServer(host, port, fault, seed)
