"""Where the server under test listens, and how to reach it: ``redis://`` and ``rediss://`` URLs, passwords, TLS.

A :class:`Target` is parsed from a URL once, before a run starts; its :attr:`~Target.url` never
shows the password (it is what gets printed and stored), and neither does any error about the URL.
:func:`open_connection` opens one connection that is known to speak RESP, authenticated and on
the target's database (TLS when the scheme is ``rediss``): the recorder opens one per client, and
one more after every lost connection.

Every way a target can be wrong ends in one line, never a traceback or a long wait:

- a bad URL (port 0, a database that is not an ASCII number, an option redlin does not know, a
  TLS option without ``rediss://``, a CA file that does not exist): :class:`TargetError` from
  :meth:`Target.parse`;
- nothing listening, an unknown host: ``WireClosed`` naming ``host:port``;
- something that is not Redis (an HTTP server, a socket that sends garbage):
  :class:`~redlin.harness.wire.NotRESP`, "does not speak RESP";
- ``rediss://`` to a plain Redis, which waits for a command line while the client waits for the
  TLS handshake: after :data:`PLAIN_PROBE_AFTER` seconds without a handshake (or at once if the
  handshake read garbage) a second, plain connection sends ``PING``; a RESP answer means the port
  is not TLS, and :class:`TargetError` says to use ``redis://``;
- a server that refuses the connection for its state (max number of clients; a database it cannot
  select while busy): :class:`ServerRefused`, a ``WireError`` the recorder retries.

>>> Target.parse("redis://alice:secret@db.example:6380/2", password_env=None).url
'redis://alice:***@db.example:6380/2'
>>> Target.parse("redis://alice:secret@db.example:0/2", password_env=None)
Traceback (most recent call last):
...
redlin.harness.target.TargetError: bad target URL redis://***@db.example:0/2: port 0 is not a port (use 1 to 65535)
"""

from __future__ import annotations

import os
import socket
import ssl
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Final

from redlin.harness.server_state import ServerRefused, state_error
from redlin.harness.wire import Connection, ProtocolRefused, WireClosed, WireTimeout
from redlin.model import Error, Reply, Status

__all__ = ["PLAIN_PROBE_AFTER", "ServerRefused", "Target", "TargetError", "open_connection"]

PLAIN_PROBE_AFTER: Final = 0.5
"""Seconds a TLS handshake may take before redlin checks whether the port speaks plain RESP."""
_SHOWN_URL: Final = 200
_CERT_REQS: Final = ("none", "optional", "required")


class TargetError(Exception):
    """The target cannot be used (bad URL, unreachable, authentication failed): one line for the user."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where the server under test listens, parsed from a ``redis://`` or ``rediss://`` URL.

    ``redis://[[user]:password@]host[:port][/db][?ssl_ca_certs=PATH&ssl_cert_reqs=none]``.  Without a
    password in the URL, the one in the environment variable ``password_env`` (if set) is used.
    The password never appears in :attr:`url` (what is printed and stored).
    """

    host: str
    port: int
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_certs: str | None = None
    verify: bool = True

    @classmethod
    def parse(cls, url: str, *, password_env: str | None = "REDLIN_PASSWORD") -> Target:
        """``TargetError`` for a URL redlin cannot use; its message shows the URL without the user
        name and password, and no part of a URL that has them (a password with an unencoded ``/``
        would otherwise be split into the host, port or database).

        >>> Target.parse("redis://h/\\u0663", password_env=None)
        Traceback (most recent call last):
        ...
        redlin.harness.target.TargetError: bad target URL redis://h/\u0663: the database must be a number (0, 1, 2...), not '\u0663'
        """
        shown = _redacted(url)
        echo = "@" not in url  # else a fragment of the URL may be a piece of the password

        def bad(why: str) -> TargetError:
            return TargetError(f"bad target URL {shown}: {why}")

        try:
            parts = urllib.parse.urlsplit(url)
        except ValueError as error:
            raise bad(str(error) if echo else "it cannot be parsed") from None
        if parts.scheme not in ("redis", "rediss"):
            scheme = parts.scheme if echo and parts.scheme.isalnum() else "something else"
            raise bad(f"the scheme must be redis:// or rediss://, not {scheme or 'none'}")
        if "@" in url and "@" not in parts.netloc and "@" in parts.path + parts.fragment + parts.query.split("=", 1)[0]:
            raise bad("a '/', '?', '#' or '@' in the user name or password must be percent-encoded (%2F, %3F, %23, %40)")
        if not parts.hostname:
            raise bad("no host (expected redis://host:port/db)")
        try:
            port = parts.port
        except ValueError:
            raise bad("the port must be a number from 1 to 65535") from None
        if port == 0:
            raise bad("port 0 is not a port (use 1 to 65535)")
        path = parts.path.strip("/")
        if path and not (path.isascii() and path.isdigit()):
            raise bad(f"the database must be a number (0, 1, 2...), not {path!r}" if echo else
                      "the database must be a number (0, 1, 2...)")
        if len(path) > 9:
            raise bad("the database number is too large")
        query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        unknown = set(query) - {"ssl_ca_certs", "ssl_cert_reqs"}
        if unknown:
            raise bad(f"unknown option(s) {', '.join(sorted(unknown))}" if echo else "unknown option(s)")
        if query and parts.scheme != "rediss":
            raise bad("ssl_ca_certs and ssl_cert_reqs are for TLS: use rediss://")
        reqs = query.get("ssl_cert_reqs", "required").lower()
        if reqs not in _CERT_REQS:
            raise bad(f"ssl_cert_reqs must be one of {', '.join(_CERT_REQS)}")
        ca_certs = query.get("ssl_ca_certs")
        if ca_certs is not None and not os.path.isfile(ca_certs):
            raise bad(f"the TLS CA file {ca_certs!r} does not exist" if ca_certs else "ssl_ca_certs names no file")
        password = urllib.parse.unquote(parts.password) if parts.password is not None else None
        if password is None and password_env:
            password = os.environ.get(password_env) or None
        return cls(
            host=parts.hostname,
            port=6379 if port is None else port,
            db=int(path) if path else 0,
            username=urllib.parse.unquote(parts.username) if parts.username else None,
            password=password,
            tls=parts.scheme == "rediss",
            ca_certs=ca_certs,
            verify=reqs != "none",
        )

    @property
    def url(self) -> str:
        """The URL without the password (safe to print and store)."""
        auth = ""
        if self.username or self.password:
            auth = (self.username or "") + (":***" if self.password else "") + "@"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'rediss' if self.tls else 'redis'}://{auth}{host}:{self.port}/{self.db}"


def _redacted(url: str) -> str:
    """``url`` as an error may show it: no user information, printable, not too long.

    >>> _redacted("redis://u:pa/ss@host:1/0"), _redacted("redis://host:1/0\\n")
    ('redis://***@host:1/0', 'redis://host:1/0?')
    """
    scheme, separator, rest = url.partition("://")
    if separator and "@" in rest:
        url = f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    elif "@" in url:
        url = "***@" + url.rsplit("@", 1)[1]
    shown = "".join(c if c.isprintable() else "?" for c in url)
    return shown if len(shown) <= _SHOWN_URL else shown[:_SHOWN_URL] + "..."


# ----------------------------------------------------------------------------- connecting


def open_connection(target: Target, timeout: float, protocol: int = 2) -> Connection:
    """A connection to ``target`` that answered RESP, authenticated and on its database, speaking
    RESP ``protocol`` (3: ``HELLO 3`` is sent last, once authenticated).

    ``PING`` goes first, before the password is sent to anything: a reply proves RESP (any reply:
    ``-LOADING`` or ``-BUSY`` too, which the recorder then counts as rejections).  ``WireError`` if
    the server cannot be reached, does not speak RESP (``NotRESP``) or refuses the connection for
    now (:class:`ServerRefused`); ``TargetError`` if it refuses the password or the database, or
    the target's TLS settings cannot work, or it cannot speak RESP3.
    """
    conn = _TLSConnection(target, timeout, _tls_context(target)) if target.tls else Connection(
        target.host, target.port, timeout)
    try:
        _greet(conn, target)
        if protocol != 2:
            _hello(conn, target, protocol)
    except BaseException:
        conn.close()
        raise
    return conn


def _greet(conn: Connection, target: Target) -> None:
    pong = conn.execute(b"PING")
    code = state_error(pong)
    if code == "max clients":
        raise ServerRefused(code, _reply_text(pong))
    if code == "NOAUTH" and target.password is None:
        raise TargetError(f"{target.url}: the server requires a password (give it in the URL or in the "
                          "password's environment variable)")
    if target.password is not None:
        argv = (b"AUTH", *((target.username.encode(),) if target.username else ()), target.password.encode())
        reply = conn.execute(*argv)
        code = state_error(reply)
        if code is not None and code not in ("WRONGPASS", "NOAUTH", "NOPERM"):
            raise ServerRefused(code, _reply_text(reply))
        if type(reply) is not Status:
            raise TargetError(f"{target.url}: authentication failed: {_reply_text(reply)}")
    if target.db:
        reply = conn.execute(b"SELECT", str(target.db).encode())
        code = state_error(reply)
        if code is not None and code not in ("NOAUTH", "NOPERM"):  # busy, loading...: try again later
            raise ServerRefused(code, _reply_text(reply))
        if type(reply) is not Status:
            raise TargetError(f"{target.url}: cannot select database {target.db}: {_reply_text(reply)}")


def _hello(conn: Connection, target: Target, protocol: int) -> None:
    try:
        conn.use_protocol(protocol)
    except ProtocolRefused as error:
        code = state_error(error.reply)
        if code is not None:  # busy, loading...: try again later
            raise ServerRefused(code, error.reply.text) from None
        raise TargetError(f"{target.url}: the server cannot speak RESP{protocol} (HELLO {protocol} answered "
                          f"{error.reply.text}): use --protocol 2") from None


def _tls_context(target: Target) -> ssl.SSLContext:
    """The TLS settings of ``target``; ``TargetError`` naming the CA file if it cannot be used."""
    try:
        context = ssl.create_default_context(cafile=target.ca_certs)
    except ssl.SSLError as error:
        raise TargetError(f"the TLS CA file {target.ca_certs!r} holds no usable certificate "
                          f"({error.reason or error})") from None
    except OSError as error:
        raise TargetError(f"cannot read the TLS CA file {target.ca_certs!r}: {error.strerror or error}") from None
    if not target.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _TLSConnection(Connection):
    """:class:`~redlin.harness.wire.Connection` over TLS: the connected socket is wrapped before use."""

    def __init__(self, target: Target, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(target.host, target.port, timeout)
        assert self._sock is not None
        tls = context.wrap_socket(self._sock, server_hostname=target.host, do_handshake_on_connect=False)
        self._sock = tls
        try:
            _handshake(tls, target, timeout)
        except BaseException:
            self.close()
            raise


def _handshake(tls: ssl.SSLSocket, target: Target, timeout: float) -> None:
    where = f"{target.host}:{target.port}"
    deadline = time.monotonic() + timeout
    probed = False
    while True:
        left = deadline - time.monotonic()
        tls.settimeout(max(0.001, left if probed else min(left, PLAIN_PROBE_AFTER)))
        try:
            tls.do_handshake()
        except ssl.SSLCertVerificationError as error:
            raise WireClosed(f"{where}: TLS handshake failed: {error}") from error
        except TimeoutError as error:
            if not probed:
                probed = True
                _refuse_plain(target, timeout)
                if deadline > time.monotonic():
                    continue  # a slow TLS server: keep waiting (the handshake resumes where it stopped)
            raise WireTimeout(f"{where}: TLS handshake: no answer in {timeout} s") from error
        except (ssl.SSLError, OSError) as error:
            _refuse_plain(target, timeout)
            raise WireClosed(f"{where}: TLS handshake failed: {error}") from error
        tls.settimeout(timeout)
        return


def _refuse_plain(target: Target, timeout: float) -> None:
    """``TargetError`` if ``target``'s port answers a plain ``PING`` in RESP: it is not a TLS port."""
    try:
        with socket.create_connection((target.host, target.port), timeout=min(timeout, 2.0)) as probe:
            probe.sendall(b"PING\r\n")
            answer = probe.recv(64)
    except OSError:
        return
    if answer[:1] in (b"+", b"-") and answer.endswith(b"\r\n"):
        raise TargetError(f"{target.host}:{target.port} speaks plain RESP, not TLS: use redis:// instead of rediss://")


def _reply_text(reply: Reply) -> str:
    return reply.text if isinstance(reply, Error | Status) else repr(reply)
