"""A minimal RESP2/RESP3 client that keeps every reply exactly as the server sent it.

redis-py cannot be used to compare a server with the model: its parser strips the code word from
error replies (``-WRONGTYPE ...`` becomes a ``ResponseError("Operation against ...")``) and turns
status replies into the same ``bytes``/``str`` as bulk strings (``+OK`` and ``$2 OK`` look alike),
so two different replies can come back equal.  This client encodes commands with
:func:`model.encode_command` and parses replies with :class:`model.Parser`, so a reply is the same
:data:`model.Reply` value the model produces: ``Status``, ``Error`` (code word included), ``int``,
``bytes``, ``None``, ``tuple`` or ``NULL_ARRAY``.

With ``protocol=3`` it sends ``HELLO 3`` once connected, and replies come back in RESP3 types
(:data:`model.NULL`, ``MapReply``, ``SetReply``, ``Double``, ``Push``...), again exactly as sent.
With a ``password`` it sends ``AUTH [username] password`` first, and a refusal raises
:class:`AuthRefused` (the connection closed), naming the server and the server's reason, never the
password.

It is deliberately small: one blocking socket, commands written as they are given (pipelining is
just writing several before reading), and two failure modes a caller must tell apart:

* :class:`WireTimeout` -- no complete reply within the timeout.  The command may or may not have
  run; the connection is closed, because a late reply would be taken for the next command's.
* :class:`WireClosed` -- the connection could not be opened, or the server closed it (or it was
  reset) before the reply was complete.

Bytes that are not RESP raise :class:`NotRESP` (both a :class:`WireClosed` and a
:class:`model.ProtocolError`) and close the connection too: an HTTP server, an SSH banner, a TLS
port spoken to in plain text.  Its message says so in one line and shows the first bytes the peer
sent, so that whoever catches network errors reports it without knowing about RESP.

>>> conn = Connection("127.0.0.1", 6379)            # doctest: +SKIP
>>> conn.execute("SET", "k", "v")                   # doctest: +SKIP
Status('OK')
>>> conn.pipeline([("INCR", "k"), ("GET", "k")])    # doctest: +SKIP
[Error('ERR value is not an integer or out of range'), b'v']
"""

from __future__ import annotations

import socket
import struct
import sys
import time
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Final

from redlin.model import Error, Parser, ProtocolError, Reply, encode_command
from redlin.model._resp import Incomplete

Arg = bytes | str | int | float

_SO_TIMESTAMPNS: Final = 35
"""Linux's ``SO_TIMESTAMPNS`` (``asm-generic/socket.h``; also the ancillary message's type), which
Python's socket module does not name."""
_TIMESPEC: Final = struct.Struct("@ll")


class WireError(Exception):
    """The exchange with the server failed; the connection is closed."""


class WireTimeout(WireError, TimeoutError):
    """No complete reply arrived in time: the command's effect is unknown."""


class WireClosed(WireError, ConnectionError):
    """The connection is closed (refused, reset, or closed by the server or by :meth:`Connection.close`)."""


class NotRESP(WireClosed, ProtocolError):
    """The peer sent bytes that are not RESP: it is not a Redis server (or not in plain text).

    >>> error = NotRESP("127.0.0.1:80", b"HTTP/1.0 400 Bad request", ProtocolError("unexpected reply type byte b'H'"))
    >>> str(error)
    "127.0.0.1:80 does not speak RESP (it sent b'HTTP/1.0 400 Bad request')"
    >>> isinstance(error, WireError) and isinstance(error, ProtocolError)
    True
    """

    def __init__(self, where: str, sample: bytes | None, cause: ProtocolError) -> None:
        if sample is None:  # after valid replies: a broken stream rather than another protocol
            text = f"{where} sent bytes that are not RESP ({cause})"
        else:
            text = f"{where} does not speak RESP (it sent {sample[:SAMPLE]!r}{'...' if len(sample) > SAMPLE else ''})"
        super().__init__(text)
        self.sample = sample


SAMPLE = 32
"""How many of the first bytes a connection received :class:`NotRESP` shows."""
_RESP_TYPES = b"+-:$*_%~>,#(=|!"


class ProtocolRefused(WireError):
    """The server answered ``HELLO`` with an error (:attr:`reply`): it cannot speak that protocol
    (Redis before 6), or not now (``-LOADING``, ``-BUSY``)."""

    def __init__(self, text: str, reply: Error) -> None:
        super().__init__(text)
        self.reply = reply


class AuthRefused(WireError):
    """The server refused the credentials (:attr:`reply`: ``-WRONGPASS``, ``-NOAUTH``...), or asked
    for a password none was given for; the connection is closed.

    >>> str(AuthRefused("authenticating to 127.0.0.1:6379: WRONGPASS invalid password", Error("WRONGPASS x")))
    'authenticating to 127.0.0.1:6379: WRONGPASS invalid password'
    """

    def __init__(self, text: str, reply: Error) -> None:
        super().__init__(text)
        self.reply = reply


class Connection:
    """One connection to a Redis server speaking RESP2, or RESP3 after ``HELLO 3``.

    Parameters
    ----------
    host, port
        Where the server listens.
    timeout
        Seconds to wait for connecting and for each reply.
    protocol
        3: send ``HELLO 3`` at once (:meth:`use_protocol`); 2: speak RESP2 (no ``HELLO``).
    username, password
        With a password (``""`` counts), ``AUTH password`` (``AUTH username password`` with a user
        name) is sent first; :class:`AuthRefused` if the server refuses it.  Without one, no ``AUTH``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 6379, timeout: float = 5.0, protocol: int = 2, *,
                 username: str | None = None, password: str | None = None) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.protocol = 2
        self._parser = Parser()
        self._pending = 0  # commands written whose replies were not read yet
        self._first: bytes | None = b""  # the first bytes received until a reply parses (NotRESP shows them)
        self._stamped = False
        self.arrived: int | None = None
        """With :meth:`stamp_arrivals`: when the bytes that completed the latest reply reached this
        host (``time.monotonic_ns()``), however late this thread got to read them."""
        try:
            self._sock: socket.socket | None = socket.create_connection((host, port), timeout=timeout)
        except TimeoutError as error:
            raise WireTimeout(f"connecting to {host}:{port}: no answer in {timeout} s") from error
        except OSError as error:
            raise WireClosed(f"connecting to {host}:{port}: {error}") from error
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if password is not None:
            self._authenticate(username, password)
        if protocol != 2:
            self.use_protocol(protocol)

    @property
    def closed(self) -> bool:
        return self._sock is None

    def use_protocol(self, protocol: int) -> Reply:
        """Switch the connection to RESP ``protocol`` (2 or 3) with ``HELLO``; its reply (the
        server's handshake map).  :class:`ProtocolRefused` (the connection closed) if the server
        answers with an error: a server older than Redis 6 does not know ``HELLO``."""
        reply = self.execute(b"HELLO", str(protocol).encode())
        if type(reply) is Error:
            self.close()
            raise ProtocolRefused(f"{self._where()} cannot speak RESP{protocol}: HELLO {protocol} answered {reply.text}",
                                  reply)
        self.protocol = protocol
        return reply

    def _authenticate(self, username: str | None, password: str) -> None:
        user = () if username is None else (username.encode(),)
        reply = self.execute(b"AUTH", *user, password.encode())
        if type(reply) is Error:
            self.close()
            raise AuthRefused(f"authenticating to {self._where()}"
                              + (f" as {username}" if username is not None else "") + f": {reply.text}", reply)

    def stamp_arrivals(self) -> bool:
        """From now on, keep in :attr:`arrived` when the kernel received each reply's bytes (Linux,
        plain TCP); whether it can.  A busy or descheduled thread may read a reply milliseconds after
        it came: the kernel's time does not move with it."""
        self._stamped = stamp_arrivals(self._socket())
        return self._stamped

    def execute(self, *argv: Arg) -> Reply:
        """Send one command and return its reply."""
        self.send_many([argv])
        return self.receive()

    def pipeline(self, commands: Iterable[Sequence[Arg]]) -> list[Reply]:
        """Send several commands in one write, then read their replies, in order."""
        count = self.send_many(commands)
        return [self.receive() for _ in range(count)]

    def send_many(self, commands: Iterable[Sequence[Arg]]) -> int:
        """Write commands without reading replies (read them with :meth:`receive`); returns how many."""
        payload = [encode_command(argv) for argv in commands]
        self._write(b"".join(payload))
        self._pending += len(payload)
        return len(payload)

    def receive(self) -> Reply:
        """The next reply to a command already sent."""
        sock = self._socket()
        while True:
            try:
                reply = self._parser.take()
            except Incomplete:
                pass
            except ProtocolError as error:
                self.close()  # the stream cannot be resynchronised
                raise NotRESP(self._where(), self._first, error) from error
            else:
                self._pending -= 1
                self._first = None
                return reply  # type: ignore[return-value]  # a reply parser never yields argv
            try:
                if self._stamped:
                    data, self.arrived = receive_stamped(sock)
                else:
                    data = sock.recv(65536)
            except TimeoutError as error:
                self.close()
                raise WireTimeout(f"{self._where()}: no reply in {self.timeout} s") from error
            except OSError as error:
                self.close()
                raise WireClosed(f"{self._where()}: {error}") from error
            if not data:
                self.close()
                raise WireClosed(f"{self._where()}: the server closed the connection")
            if self._first is not None and len(self._first) <= SAMPLE:
                self._first += data[:SAMPLE + 1 - len(self._first)]
                if self._first[:1] not in _RESP_TYPES:  # now, not after a CRLF that may never come
                    self.close()
                    raise NotRESP(self._where(), self._first, ProtocolError("not a RESP reply"))
            self._parser.feed(data)

    @property
    def pending(self) -> int:
        """How many replies are still to be read."""
        return self._pending

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._sock is None else "open"
        return f"Connection({self.host!r}, {self.port}, {state})"

    def _socket(self) -> socket.socket:
        if self._sock is None:
            raise WireClosed(f"{self._where()}: the connection is closed")
        return self._sock

    def _write(self, data: bytes) -> None:
        sock = self._socket()
        try:
            sock.sendall(data)
        except TimeoutError as error:
            self.close()
            raise WireTimeout(f"{self._where()}: could not send in {self.timeout} s") from error
        except OSError as error:
            self.close()
            raise WireClosed(f"{self._where()}: {error}") from error

    def _where(self) -> str:
        return f"{self.host}:{self.port}"


def stamp_arrivals(sock: socket.socket) -> bool:
    """Have the kernel note when it received the bytes ``sock`` reads (Linux, plain TCP; read them
    with :func:`receive_stamped`); whether it can."""
    if not sys.platform.startswith("linux") or type(sock) is not socket.socket:
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


def receive_stamped(sock: socket.socket) -> tuple[bytes, int]:
    """Up to 64 KiB from ``sock`` (after :func:`stamp_arrivals`) and when the kernel received them,
    on the ``time.monotonic_ns()`` scale (see :func:`_kernel_time`); ``OSError`` as ``recv``'s."""
    data, ancillary, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(_TIMESPEC.size))
    return data, _kernel_time(ancillary)


def _kernel_time(ancillary: list[tuple[int, int, bytes]]) -> int:
    """The kernel's receive time in ``ancillary`` (the wall clock), on the ``time.monotonic_ns()``
    scale; now if there is none, or if it is more than a second old (the wall clock was set).
    The clocks are read wall first, so the result errs late, never early."""
    wall, now = time.time_ns(), time.monotonic_ns()
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack_from(data)
            stamp = seconds * 1_000_000_000 + nanoseconds - wall + now
            return stamp if now - 1_000_000_000 <= stamp <= now else now
    return now


__all__ = ["AuthRefused", "Connection", "NotRESP", "ProtocolRefused", "WireClosed", "WireError", "WireTimeout",
           "receive_stamped", "stamp_arrivals"]
