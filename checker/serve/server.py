"""Starting the embedded model server, clean or with one planted fault (``redlin serve``, ``redlin run``).

The server (:class:`Server`, in :mod:`redlin.serve.model_server`) is redlin's model over RESP2 and RESP3 on
loopback: each command one atomic model step, as in Redis's single-threaded ``processCommand``
(sheet M17, E25).  It takes a planted fault as an object (:class:`~redlin.serve.hooks.Fault`) and
knows none by name; this module is where names meet objects: :func:`serve` and
:func:`start_in_thread` take a fault by its name in :data:`FAULTS` (made by
:func:`~redlin.serve.faults.make_fault`) or as a :class:`~redlin.serve.hooks.Fault` of your own.

- :func:`serve` starts a server in the running asyncio event loop.
- :func:`start_in_thread` starts one on its own event loop in a daemon thread
  (:class:`RunningServer`), for synchronous callers and tests.
- :func:`is_loopback` is the guard both apply: this is a test double, not a database, and it
  listens only on loopback unless told otherwise.

:class:`Server`, :class:`Connection`, :data:`REDIS_VERSION`, :data:`FAULTS` and
:data:`PAUSE_SECONDS` are re-exported here, so that callers need one import.
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from redlin.model import DEFAULT_PROFILE
from redlin.serve.faults import FAULTS, PAUSE_SECONDS, make_fault
from redlin.serve.hooks import Fault
from redlin.serve.model_server import REDIS_VERSION, Connection, Server

__all__ = [
    "FAULTS", "PAUSE_SECONDS", "REDIS_VERSION", "Connection", "Fault", "RunningServer", "Server",
    "is_loopback", "serve", "start_in_thread",
]

T = TypeVar("T")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``); no DNS lookup."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve(host: str = "127.0.0.1", port: int = 0, *, fault: Fault | str | None = None, seed: int = 0,
                allow_remote: bool = False, profile: str = DEFAULT_PROFILE) -> Server:
    """Start a model server listening on ``host:port`` (``port=0``: a free port) in the running
    event loop and return it; ``server.url`` is the address to give clients.

    ``fault`` is a name from :data:`FAULTS`, whose random choices ``seed`` makes repeatable, or a
    :class:`~redlin.serve.hooks.Fault` object (which has its own seed); ``None`` or ``"none"``
    serves correctly.  An unknown name is refused (``ValueError``), and so is a non-loopback
    ``host`` unless ``allow_remote``: this is a test double, not a database.  ``profile`` is the
    version the model plays and reports (:data:`redlin.model.PROFILES`, default Redis 7.0).

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
    if isinstance(fault, str):
        fault = None if fault == "none" else make_fault(fault, seed)
    server = Server(host, fault, profile)
    await server.listen(port)
    return server


class RunningServer:
    """A model server running on its own event loop in a daemon thread; see :func:`start_in_thread`."""

    def __init__(self, host: str, port: int, fault: Fault | str | None, seed: int,
                 profile: str = DEFAULT_PROFILE) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._server: Server | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, args=(host, port, fault, seed, profile),
                                        name="redlin-serve", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            self._thread.join()
            raise self._failure

    def _run(self, host: str, port: int, fault: Fault | str | None, seed: int, profile: str) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._server = self._loop.run_until_complete(serve(host, port, fault=fault, seed=seed, profile=profile))
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


def start_in_thread(port: int = 0, fault: Fault | str | None = None, seed: int = 0, *,
                    host: str = "127.0.0.1", profile: str = DEFAULT_PROFILE) -> RunningServer:
    """Start a model server in a background thread (loopback, ``port=0``: a free port).

    ``fault``, ``seed`` and ``profile`` are as for :func:`serve`.

    >>> with start_in_thread() as running:
    ...     running.url.startswith("redis://127.0.0.1:")
    True
    """
    return RunningServer(host, port, fault, seed, profile)
