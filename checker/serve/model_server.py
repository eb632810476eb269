"""The embedded Redis server over redlin's model: a test double that speaks RESP2 and RESP3 on loopback.

Every command is one call of the model's pure ``step``, made synchronously on the asyncio event
loop: nothing else runs while it runs, so a command, a whole EXEC and a whole EVAL are atomic
exactly as in Redis's single-threaded ``processCommand`` (sheet M17, E25).  A step that may run a
script runs in a worker thread while the other connections wait, then (past
``busy-reply-threshold``) get BUSY, and may SCRIPT KILL it (:mod:`redlin.serve.busy`).  The server
keeps one :class:`~model.State` value and replaces it after each step; ``now`` is Unix time in milliseconds,
read once at start and carried on by the monotonic clock.  Between commands, ten times a second, it
deletes the keys that have expired, as Redis's active expiry does (:mod:`redlin.model._expiry`).

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
- ``HELLO [2|3] [AUTH user pass] [SETNAME name]`` → the handshake map (server, version, proto, id,
  mode, role, modules), a flat array under RESP2; ``HELLO 3`` switches the connection to RESP3 and
  ``HELLO 2`` (or ``RESET``) back; another version → ``-NOPROTO unsupported protocol version``.
- ``CLIENT UNBLOCK id [TIMEOUT|ERROR]`` and ``CLIENT REPLY ON|OFF|SKIP`` (OFF and SKIP silence replies,
  not Pub/Sub confirmations and messages), as Redis 7.0.15.
- ``COMMAND``, ``COMMAND DOCS`` → ``*0`` (``COMMAND DOCS``: ``%0`` under RESP3); ``COMMAND GETKEYS``
  and ``MEMORY USAGE`` / ``MEMORY HELP`` (:mod:`redlin.serve.introspection`).
- ``INFO [section...]`` → a small bulk with ``redis_version:7.0.15-redlin-model`` (a verbatim
  ``txt`` string under RESP3): the version of the profile the server plays (``6.2.14-redlin-model``
  for ``redis-6.2``, see :data:`SERVER_VERSIONS`); the sections clients, memory, stats
  (``total_error_replies``) and errorstats hold the few fields Redis's own tests read.

RESP3: the connection's protocol lives in its model session (:func:`redlin.model._resp3.use_protocol`),
because it changes what the model does (a RESP3 client may run any command while subscribed, and
its PING answers ``+PONG``).  Each model reply is converted for the connection by
:func:`redlin.model._resp3.to_resp3` (an EXEC's with the queue it ran), and Pub/Sub deliveries go
out as push frames.

A planted fault is an object given to the server (:class:`~redlin.serve.hooks.Fault`): the server
calls its hooks where a fault may act (running a model command, writing a Pub/Sub frame, before a
reply, when a connection ends) and knows no fault by name; the faults themselves are in
:mod:`redlin.serve.faults`, and :mod:`redlin.serve.server` starts a server with one.

Blocking: where the model answers ``ERR redlin's model does not block`` to a blocking command, the
connection is parked until a later command serves it, its timeout passes or CLIENT UNBLOCK ends it
(:mod:`redlin.serve.blocking`); ``INFO clients`` counts the parked connections (``blocked_clients``).

Out-of-band messages: :meth:`Connection.push` writes a reply to a connection from anywhere on the
event loop, in order with the replies of its own command loop.  Pub/Sub deliveries are the model's:
a step queues messages in the receivers' mailboxes (model state), and the server writes them out
(:func:`model.flush_mailboxes`) right after the step, before the step's reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Final, cast

from redlin.model import (
    DEFAULT_PROFILE,
    Error,
    MapReply,
    Parser,
    ProtocolError,
    Push,
    Reply,
    State,
    Status,
    Verbatim,
    disconnect,
    encode_reply,
    flush_mailboxes,
    initial_state,
    lookup,
    protocol_of,
    to_resp3,
    use_protocol,
)
from redlin.model import step as model_step
from redlin.model._expiry import active_expire
from redlin.model._resp3 import nulls
from redlin.serve.blocking import Blocking, wait_parked, would_block
from redlin.serve.busy import Busy, runs_lua
from redlin.serve.hooks import Argv, Fault, is_standalone
from redlin.serve.introspection import ErrorStats, command_getkeys, memory_command

__all__ = ["REDIS_VERSION", "SERVER_VERSIONS", "Connection", "Server"]

REDIS_VERSION: Final = "7.0.15-redlin-model"
"""The version the server reports under the default profile (Redis 7.0)."""
SERVER_VERSIONS: Final[dict[str, tuple[str, str | None]]] = {
    "redis-6.2": ("6.2.14", None), "redis-7.0": ("7.0.15", None), "redis-7.2": ("7.2.4", None),
    "valkey-8": ("7.2.4", "8.0.1"),
}
"""For each version profile the server can play, the ``redis_version`` (and ``valkey_version``) its
``INFO server`` and ``HELLO`` report, suffixed ``-redlin-model``: the versions the profile was
checked against, so that ``--profile auto`` (:func:`redlin.model.profile_from_info`) finds it again."""

_READ_SIZE: Final = 65536
ACTIVE_EXPIRY_PERIOD: Final = 0.1
"""Seconds between two rounds of active expiry (Redis's default ``hz`` is 10)."""
_EMPTY: Final[tuple[Reply, ...]] = ()

log = logging.getLogger("redlin.serve")


class Connection:
    """One client connection: its model client id, its name, and its outgoing stream."""

    def __init__(self, client_id: int, writer: asyncio.StreamWriter) -> None:
        self.id = client_id
        self.name: bytes | None = None
        self.closing = False
        self.reply_mode = b"on"  # CLIENT REPLY: on, off, or skip (the next command's reply)
        self._writer = writer

    def push(self, reply: Reply) -> None:
        """Send ``reply`` now, after everything already sent.  Safe to call from any task on the
        server's event loop (a Pub/Sub delivery, for instance); dropped once the connection closes."""
        if not self.closing and not self._writer.is_closing():
            self._writer.write(encode_reply(reply))


class Server:
    """A model server, optionally with a planted ``fault``; made and started by
    :func:`redlin.serve.server.serve`.

    ``state`` is the model state after the last command; ``connections`` the open connections by
    client id.  ``listen(port)`` starts listening; ``close()`` stops listening and closes every
    connection.  ``profile`` is the version the model plays (:data:`redlin.model.PROFILES`), and
    the one ``INFO server`` and ``HELLO`` report (:data:`SERVER_VERSIONS`).
    """

    def __init__(self, host: str, fault: Fault | None = None, profile: str = DEFAULT_PROFILE) -> None:
        self.host = host
        self.port = 0
        self.fault = fault
        self.profile = profile
        self.state: State = initial_state(profile)  # ValueError for an unknown profile
        self.connections: dict[int, Connection] = {}
        self.blocking = Blocking()  # the parked clients (redlin.serve.blocking)
        self.errors = ErrorStats()  # INFO errorstats (redlin.serve.introspection)
        self.busy = Busy()  # the script step running in the worker thread (redlin.serve.busy)
        # Unix time when the server started, carried on by the monotonic clock: absolute expiry times
        # (EXPIREAT, SET ... PXAT, XADD's ids) mean what they mean to Redis, and time never goes back.
        # Kept in nanoseconds: rounding both clocks to ms first could put ``now`` 1 ms behind Unix time.
        self._offset_ns = time.time_ns() - time.monotonic_ns()
        self._commands = 0  # numbers the model's steps: the salt of its sequential random choices
        self._expiry: asyncio.Task[None] | None = None
        self._next_id = 1
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncio.AbstractServer | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"redis://{host}:{self.port}/0"

    def now(self) -> int:
        """The server clock: Unix milliseconds, read at start and advanced by the monotonic clock."""
        return (time.monotonic_ns() + self._offset_ns) // 1_000_000

    async def listen(self, port: int) -> None:
        """Start listening on ``port`` of the host (0: a free port, then read :attr:`port`)."""
        self._listener = await asyncio.start_server(self._handle, self.host, port)
        self.port = int(self._listener.sockets[0].getsockname()[1])
        self._expiry = asyncio.get_running_loop().create_task(self._expire_actively())

    async def _expire_actively(self) -> None:
        """Redis's active expiry (``activeExpireCycle``, ``hz`` 10): between commands, ten times a
        second, delete the keys whose time has come (:func:`redlin.model._expiry.active_expire`)."""
        while True:
            await asyncio.sleep(ACTIVE_EXPIRY_PERIOD)
            if self.busy.run is None:  # not while a script runs (its step started from this state)
                self.state = self.deliver(active_expire(self.state, self.now()))

    async def serve_forever(self) -> None:
        """Run until cancelled (or until :meth:`close`)."""
        assert self._listener is not None
        await self._listener.serve_forever()

    async def close(self) -> None:
        """Stop listening, close every connection and end its session."""
        if self._listener is not None:
            self._listener.close()
        self.busy.kill_all()
        if self._expiry is not None:
            self._expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._expiry
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._listener is not None:
            await self._listener.wait_closed()
        self.busy.shutdown()

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
                            await self._serve_command(connection, argv, reader, parser.feed)
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
            self.blocking.drop(connection.id)
            client = connection.id
            self.update(lambda state: disconnect(state, client))
            if self.fault is not None:
                self.fault.closed(connection.id)
            del self.connections[connection.id]
            writer.close()
            try:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await writer.wait_closed()
            finally:
                self._tasks.discard(task)  # only now: close() must wait for this task to end

    async def _serve_command(self, connection: Connection, argv: Argv, reader: asyncio.StreamReader,
                             feed: Callable[[bytes], None]) -> None:
        if self.busy.run is not None:  # a script runs: wait for it, or (timed out) maybe BUSY
            answered = await self.busy.admit(self.state, connection.id, argv)
            if answered is not None:
                self.state, reply = answered
                self._reply(connection, argv, reply)
                return
        name = argv[0].lower()
        handler = _SERVER_COMMANDS.get(name)
        if handler is not None and (lookup(argv) is not None or not is_standalone(self.state, connection.id)):
            handler = None  # the model has the command, or the session queues/refuses it: model decides
        session = self.state.session(connection.id)
        queued = session.multi if name == b"exec" and session.multi is not None else ()
        before = self.state
        try:
            if handler is not None:
                reply = handler(self, connection, argv)
            elif self.fault is None and self.busy.run is None and runs_lua(argv, session.multi):
                self._commands += 1
                self.state, reply = await self.busy.step(self.state, connection.id, argv, self.now(), self._commands)
            elif self.fault is None:
                reply = self.step(connection.id, argv)
            else:
                reply = await self.fault.execute(self, connection.id, argv)
        except Exception as error:  # a bug in the model: say so, keep serving
            log.exception("model failed on %r", argv[:2])
            reply = Error(f"ERR redlin's model failed on '{name.decode(errors='replace')}': {error!r}")
        if handler is None and would_block(argv, reply):
            # The model cannot wait: park the connection until a write serves it (or it times out).
            blocked = self.blocking.park(self.state, connection.id, argv)
            served, reply = await wait_parked(blocked, reader, feed)
            argv = list(served)  # the command that served it (narrowed to one key): its reply's shape
        else:
            self.blocking.serve(lambda: self.state, self._set_state, self.now(), before, queued or (argv,))
        self._count_errors(name, argv, reply)  # after a wait: the reply that ended it
        if protocol_of(self.state, connection.id) == 3:
            reply = to_resp3(argv, reply, queued) if handler is None else _server_resp3(name, argv, reply)
        self.state = self.deliver(self.state)
        if self.fault is not None:
            self.fault.before_reply(connection)
        if _reply_wanted(connection, name, argv, reply):
            connection.push(reply)
        if name == b"quit":
            connection.closing = True  # after the reply, like CLIENT_CLOSE_AFTER_REPLY
        elif name == b"reset":
            connection.name = None

    def deliver(self, state: State) -> State:
        """Write the Pub/Sub messages queued in ``state``'s mailboxes; ``state`` with them emptied."""
        resp3 = {client for client, session in state.sessions.items() if session.mailbox and session.protocol == 3}
        state, mail = flush_mailboxes(state)
        for client, frames in mail.items():
            connection = self.connections.get(client)  # type: ignore[call-overload]
            if connection is None:
                continue
            for frame in frames:
                if client in resp3:
                    frame = Push(frame)  # type: ignore[arg-type]
                if self.fault is None:
                    connection.push(frame)
                else:
                    self.fault.deliver(connection, frame)
        return state

    def _reply(self, connection: Connection, argv: Argv, reply: Reply) -> None:
        """Send a reply of busy time (:meth:`Busy.admit`), as its connection's protocol has it."""
        if protocol_of(self.state, connection.id) == 3:
            reply = to_resp3(argv, reply, ())
        if _reply_wanted(connection, argv[0].lower(), argv, reply):
            connection.push(reply)

    def _count_errors(self, name: bytes, argv: Argv, reply: Reply) -> None:
        if name == b"config" and len(argv) == 2 and argv[1].lower() == b"resetstat" and reply == Status("OK"):
            self.errors.reset()
        else:
            self.errors.record(reply)

    def _set_state(self, state: State) -> None:
        self.state = state

    def update(self, change: Callable[[State], State]) -> None:
        """Apply a change to the state; while a script step runs, also to its result, when it ends."""
        self.state = change(self.state)
        self.busy.log(change)

    def step(self, client: int, argv: Sequence[bytes]) -> Reply:
        """One atomic model step on the current state (no await: nothing can interleave)."""
        self._commands += 1
        now, salt = self.now(), self._commands
        self.state, reply = model_step(self.state, client, argv, now, salt=salt)
        if self.busy.run is not None:  # an allow-busy command while a script runs: replay it after
            self.busy.log(lambda state: model_step(state, client, argv, now, salt=salt)[0])
        return reply


# --------------------------------------------------------------------- commands of the server layer


def _client_command(server: Server, connection: Connection, argv: Argv) -> Reply:
    if len(argv) < 2:
        return _arity_error("client")
    sub = argv[1].lower()
    arity = {b"id": 2, b"getname": 2, b"setname": 3, b"setinfo": 4, b"reply": 3, b"unblock": -3}.get(sub)
    if arity is None:
        return _unknown_subcommand(argv)
    if len(argv) != arity and not (arity < 0 and -arity <= len(argv) <= 1 - arity):
        return _arity_error(f"client|{sub.decode()}")
    if sub == b"unblock":
        return _client_unblock(server, argv)
    if sub == b"reply":
        return _client_reply(connection, argv[2])
    if sub == b"id":
        return connection.id
    if sub == b"getname":
        return connection.name
    if sub == b"setname":
        return _set_name(connection, argv[2])
    if argv[2].lower() not in (b"lib-name", b"lib-ver"):
        return Error(f"ERR Unrecognized option '{argv[2].decode('utf-8', 'surrogateescape')}'")
    return Status("OK")


def _client_unblock(server: Server, argv: Argv) -> Reply:
    """CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 if the client was blocked (and is no more), else 0."""
    error = False
    if len(argv) == 4:
        reason = argv[3].lower()
        if reason not in (b"timeout", b"error"):
            return Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
        error = reason == b"error"
    text = argv[2]
    if not text.lstrip(b"-").isdigit() or len(text) > 20 or text != str(int(text)).encode():
        return Error("ERR value is not an integer or out of range")
    return int(server.blocking.unblock(int(text), error))


def _client_reply(connection: Connection, mode: bytes) -> Reply:
    """CLIENT REPLY ON|OFF|SKIP: ON answers +OK; OFF and SKIP silence replies (not Pub/Sub pushes)."""
    mode = mode.lower()
    if mode not in (b"on", b"off", b"skip"):
        return SYNTAX_ERROR
    if mode == b"on" or connection.reply_mode != b"off":
        connection.reply_mode = mode
    return Status("OK")


def _reply_wanted(connection: Connection, name: bytes, argv: Argv, reply: Reply) -> bool:
    """Whether CLIENT REPLY lets ``reply`` go out (and, for SKIP, use up the skip)."""
    mode = connection.reply_mode
    if name == b"client" and len(argv) == 3 and argv[1].lower() == b"reply" and type(reply) is Status:
        return mode == b"on"  # OFF and SKIP take effect at once: their own +OK is not sent
    if mode == b"on" or type(reply) is Push or name in _CONFIRMED:
        return True  # Pub/Sub pushes its confirmations even to a silenced client (CLIENT_PUSHING)
    if mode == b"skip":
        connection.reply_mode = b"on"
    return False


def _set_name(connection: Connection, name: bytes) -> Reply:
    if any(byte < 0x21 or byte > 0x7E for byte in name):
        return Error("ERR Client names cannot contain spaces, newlines or special characters.")
    connection.name = name or None
    return Status("OK")


def _hello(server: Server, connection: Connection, argv: Argv) -> Reply:
    i = 1
    protocol = protocol_of(server.state, connection.id)
    if len(argv) > 1:
        version = argv[1]
        if not version.lstrip(b"-").isdigit() or len(version) > 20:
            return Error("ERR Protocol version is not an integer or out of range")
        if int(version) not in (2, 3):
            return Error("NOPROTO unsupported protocol version")
        protocol = int(version)
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
    client = connection.id
    server.update(lambda state: use_protocol(state, client, protocol))
    redis_version, valkey_version = SERVER_VERSIONS[server.profile]
    product, reported = ("valkey", valkey_version) if valkey_version else ("redis", redis_version)
    fields: tuple[Reply, ...] = (
        b"server", product.encode(), b"version", f"{reported}-redlin-model".encode(), b"proto", protocol,
        b"id", connection.id,
        b"mode", b"standalone", b"role", b"master", b"modules", _EMPTY)
    return MapReply.flat(fields) if protocol == 3 else fields


def _command_command(server: Server, connection: Connection, argv: Argv) -> Reply:
    if len(argv) == 1 or argv[1].lower() == b"docs":
        return _EMPTY
    if argv[1].lower() == b"getkeys":
        return command_getkeys(argv)
    return _unknown_subcommand(argv)


def _memory(server: Server, connection: Connection, argv: Argv) -> Reply:
    return memory_command(server.state, connection.id, argv)


def _info(server: Server, connection: Connection, argv: Argv) -> Reply:
    redis_version, valkey_version = SERVER_VERSIONS[server.profile]
    valkey = f"server_name:valkey\r\nvalkey_version:{valkey_version}-redlin-model\r\n" if valkey_version else ""
    sections = {arg.lower() for arg in argv[1:]} or {b"default"}
    text = ""
    if sections & {b"server", b"default", b"all", b"everything"}:
        text += (f"# Server\r\nredis_version:{redis_version}-redlin-model\r\n{valkey}redis_mode:standalone\r\n"
                 f"tcp_port:{server.port}\r\n")
    if sections & {b"clients", b"default", b"all", b"everything"}:
        text += ("\r\n" if text else "") + (f"# Clients\r\nconnected_clients:{len(server.connections)}\r\n"
                                            f"blocked_clients:{len(server.blocking)}\r\n")
    if sections & {b"memory", b"default", b"all", b"everything"}:  # the script cache (SCRIPT LOAD, EVAL)
        text += ("\r\n" if text else "") + (f"# Memory\r\nmem_allocator:libc\r\n"  # MEMORY USAGE is an estimate
                                            f"number_of_cached_scripts:{len(server.state.scripts)}\r\n")
    if sections & {b"stats", b"default", b"all", b"everything"}:
        text += ("\r\n" if text else "") + f"# Stats\r\ntotal_error_replies:{server.errors.total}\r\n"
    if sections & {b"errorstats", b"all", b"everything"}:
        text += ("\r\n" if text else "") + server.errors.info()
    return text.encode()


def _server_resp3(name: bytes, argv: Argv, reply: Reply) -> Reply:
    """A reply of the server layer as a RESP3 connection gets it (HELLO builds its own map)."""
    if name == b"info" and type(reply) is bytes:
        return Verbatim(b"txt", reply)
    if name == b"command" and len(argv) > 1 and reply == _EMPTY:
        return MapReply(())  # COMMAND DOCS: a map of command name to docs
    return nulls(reply)


SYNTAX_ERROR: Final = Error("ERR syntax error")
_CONFIRMED: Final = frozenset({b"subscribe", b"unsubscribe", b"psubscribe", b"punsubscribe", b"ssubscribe",
                               b"sunsubscribe"})


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
    b"memory": _memory,
}
