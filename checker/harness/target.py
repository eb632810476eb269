"""Where the server under test listens, and how to reach it: ``redis://`` and ``rediss://`` URLs, passwords, TLS.

A :class:`Target` is parsed from a URL once, before a run starts; its :attr:`~Target.url` never
shows the password (it is what gets printed and stored).  :func:`open_connection` opens one
authenticated connection on the target's database (TLS when the scheme is ``rediss``): the
recorder opens one per client, and one more after every lost connection.

>>> Target.parse("redis://alice:secret@db.example:6380/2", password_env=None).url
'redis://alice:***@db.example:6380/2'
"""

from __future__ import annotations

import os
import ssl
import urllib.parse
from dataclasses import dataclass, field

from redlin.harness.wire import Connection, WireClosed, WireTimeout
from redlin.model import Error, Reply, Status

__all__ = ["Target", "TargetError", "open_connection"]


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
        """``TargetError`` for a URL redlin cannot use."""
        try:
            parts = urllib.parse.urlsplit(url)
            port = parts.port or 6379
        except ValueError as error:
            raise TargetError(f"bad target URL: {error}") from None
        if parts.scheme not in ("redis", "rediss"):
            raise TargetError(f"bad target URL: the scheme must be redis:// or rediss://, not {parts.scheme or 'none'}")
        if not parts.hostname:
            raise TargetError("bad target URL: no host (expected redis://host:port/db)")
        path = parts.path.strip("/")
        if path and not path.isdigit():
            raise TargetError(f"bad target URL: the database must be a number, not {path!r}")
        query = dict(urllib.parse.parse_qsl(parts.query))
        unknown = set(query) - {"ssl_ca_certs", "ssl_cert_reqs"}
        if unknown:
            raise TargetError(f"bad target URL: unknown option(s) {', '.join(sorted(unknown))}")
        password = urllib.parse.unquote(parts.password) if parts.password is not None else None
        if password is None and password_env:
            password = os.environ.get(password_env) or None
        return cls(
            host=parts.hostname,
            port=port,
            db=int(path) if path else 0,
            username=urllib.parse.unquote(parts.username) if parts.username else None,
            password=password,
            tls=parts.scheme == "rediss",
            ca_certs=query.get("ssl_ca_certs"),
            verify=query.get("ssl_cert_reqs", "required").lower() != "none",
        )

    @property
    def url(self) -> str:
        """The URL without the password (safe to print and store)."""
        auth = ""
        if self.username or self.password:
            auth = (self.username or "") + (":***" if self.password else "") + "@"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'rediss' if self.tls else 'redis'}://{auth}{host}:{self.port}/{self.db}"


class _TLSConnection(Connection):
    """:class:`~redlin.harness.wire.Connection` over TLS: the connected socket is wrapped before use."""

    def __init__(self, host: str, port: int, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout)
        assert self._sock is not None
        try:
            self._sock = context.wrap_socket(self._sock, server_hostname=host)
        except TimeoutError as error:
            self.close()
            raise WireTimeout(f"{host}:{port}: TLS handshake: no answer in {timeout} s") from error
        except (ssl.SSLError, OSError) as error:
            self.close()
            raise WireClosed(f"{host}:{port}: TLS handshake failed: {error}") from error


def open_connection(target: Target, timeout: float) -> Connection:
    """A connection to ``target``, authenticated and on its database.

    ``WireError`` if the server cannot be reached; ``TargetError`` if it refuses the password or the
    database (a reply, not a network problem).
    """
    conn: Connection
    if target.tls:
        context = ssl.create_default_context(cafile=target.ca_certs)
        if not target.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        conn = _TLSConnection(target.host, target.port, timeout, context)
    else:
        conn = Connection(target.host, target.port, timeout)
    try:
        if target.password is not None:
            argv = (b"AUTH", *((target.username.encode(),) if target.username else ()), target.password.encode())
            reply = conn.execute(*argv)
            if type(reply) is not Status:
                raise TargetError(f"{target.url}: authentication failed: {_reply_text(reply)}")
        if target.db:
            reply = conn.execute(b"SELECT", str(target.db).encode())
            if type(reply) is not Status:
                raise TargetError(f"{target.url}: cannot select database {target.db}: {_reply_text(reply)}")
    except BaseException:
        conn.close()
        raise
    return conn


def _reply_text(reply: Reply) -> str:
    return reply.text if isinstance(reply, Error | Status) else repr(reply)
