"""A loopback TCP proxy per node that redlin controls: where network faults are injected.

Clients connect to a :class:`Proxy`'s port instead of the node's; the proxy forwards each
connection's bytes both ways, and on command:

- **partitions** it: ``stall`` stops forwarding (connections stay open and nothing arrives, as when
  a network drops packets: clients time out), ``drop`` resets every connection and closes each new
  one at once (clients see the connection refused or reset);
- **delays** it: every chunk read is held ``ms`` milliseconds before it is forwarded, in each
  direction, so a request and its reply gain ``2 * ms``;
- **heals**: forwarding resumes, bytes held during a stall are delivered.

Only traffic through the proxy is affected.  A proxy may also sit between nodes (a
:class:`~redlin.deploy.network.PeerNetwork`): then it tells its connections apart by where they come
from (``sources`` names the peer by its address), and :meth:`Proxy.cut` stalls or drops the
connections of some sources only, the others flowing on.  Everything is on 127.0.0.1.

>>> proxy = Proxy(("127.0.0.1", 6379), name="node0")
>>> proxy.partition("stall"); proxy.state
'stall'
>>> proxy.delay(25); proxy.heal(); (proxy.state, proxy.latency_ms)
('open', 0)
>>> proxy.cut({"node1"}, "drop"); (proxy.state, proxy.mode_for("node1"), proxy.mode_for("clients"))
('open', 'drop', 'open')
>>> proxy.heal(); proxy.mode_for("node1")
'open'
>>> proxy.partition("sideways")
Traceback (most recent call last):
...
redlin.errors.UsageError: unknown partition mode 'sideways': expected stall or drop
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Final

from redlin.deploy.node import HOST, Node
from redlin.errors import UsageError

PARTITION_MODES: Final = ("stall", "drop")
CHUNK: Final = 65536
POLL: Final = 0.02  # seconds a pump or the acceptor waits before looking at the proxy's state again
CONNECT_TIMEOUT: Final = 2.0


Address = tuple[str, int]
CLIENTS: Final = "clients"
"""The source of every connection a proxy without ``sources`` forwards."""


class _Link:
    """One client connection and its upstream connection to the node."""

    def __init__(self, client: socket.socket, upstream: socket.socket, source: str = CLIENTS) -> None:
        self.client = client
        self.upstream = upstream
        self.source = source
        self.closed = threading.Event()

    def close(self) -> None:
        """Reset both ends (SO_LINGER 0: an RST, as a dropped route or a killed peer gives)."""
        self.closed.set()
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with contextlib.suppress(OSError):
                sock.close()


class Proxy:
    """Forwards connections made to :attr:`port` (on 127.0.0.1) to ``target`` (an address, or
    what gives it when a connection comes: a node's port is known only once it has started); see
    the module doc.  ``sources`` names a connection's source by the address it comes from.

    Not listening until :meth:`start`; :meth:`close` (or leaving a ``with``) stops it and resets
    every connection."""

    def __init__(self, target: Address | Callable[[], Address], *, name: str = "proxy",
                 sources: Callable[[str], str] | None = None) -> None:
        self.target = target
        self.name = name
        self.sources = sources or (lambda host: CLIENTS)
        self.port = 0
        self.state = "open"  # or one of PARTITION_MODES: every source at once
        self.cuts: dict[str, str] = {}  # source -> one of PARTITION_MODES
        self.latency_ms = 0
        self._lock = threading.Lock()
        self._links: set[_Link] = set()
        self._listener: socket.socket | None = None
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []

    def __repr__(self) -> str:
        return f"Proxy({self.name!r}, port={self.port} -> {self.target_address()[1]}, {self.state}, {self.latency_ms} ms)"

    @property
    def address(self) -> tuple[str, int]:
        return (HOST, self.port)

    def target_address(self) -> Address:
        """Where connections are forwarded now."""
        return self.target() if callable(self.target) else self.target

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    # -- faults -------------------------------------------------------------------------------------

    def partition(self, mode: str = "stall") -> None:
        """Cut the traffic: ``stall`` (hold every byte) or ``drop`` (reset and refuse connections)."""
        self._cut(mode, None)

    def cut(self, sources: Iterable[str], mode: str = "stall") -> None:
        """Cut the connections of ``sources`` only (see :meth:`partition`); the others flow on."""
        self._cut(mode, set(sources))

    def _cut(self, mode: str, sources: set[str] | None) -> None:
        """Cut ``sources``' connections (every source's when None) and, for ``drop``, reset them."""
        if mode not in PARTITION_MODES:
            raise UsageError(f"unknown partition mode {mode!r}: expected stall or drop")
        with self._lock:
            if sources is None:
                self.state = mode
            else:
                self.cuts.update(dict.fromkeys(sources, mode))
            dropped = [link for link in self._links
                       if mode == "drop" and (sources is None or link.source in sources)]
            self._links.difference_update(dropped)
        for link in dropped:
            link.close()

    def mode_for(self, source: str) -> str:
        """How the connections of ``source`` fare now: ``open``, ``stall`` or ``drop``."""
        return self.state if self.state != "open" else self.cuts.get(source, "open")

    def delay(self, ms: int) -> None:
        """Hold each chunk ``ms`` milliseconds before forwarding it (0: no added latency)."""
        self.latency_ms = max(0, int(ms))

    def heal(self) -> None:
        """Forward again at full speed."""
        with self._lock:
            self.state = "open"
            self.cuts = {}
        self.latency_ms = 0

    # -- running ------------------------------------------------------------------------------------

    def start(self) -> Proxy:
        """Listen on a free loopback port and accept connections in a background thread."""
        if self._listener is not None:
            return self
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, 0))
        listener.listen(128)
        listener.settimeout(POLL * 5)
        self._listener = listener
        self.port = int(listener.getsockname()[1])
        self._spawn(self._accept_loop)
        return self

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=f"redlin-proxy-{self.name}", daemon=True)
        with self._lock:
            self._threads = [known for known in self._threads if known.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._closing.is_set():
            try:
                client, (host, _) = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed
            source = self.sources(host)
            if self.mode_for(source) == "drop":
                _Link(client, socket.socket()).close()
                continue
            try:
                upstream = socket.create_connection(self.target_address(), timeout=CONNECT_TIMEOUT)
            except OSError:
                _Link(client, socket.socket()).close()  # the node is down: the client sees it too
                continue
            for sock in (client, upstream):
                sock.settimeout(None)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(client, upstream, source)
            with self._lock:
                self._links.add(link)
            self._spawn(self._pump, link, client, upstream)
            self._spawn(self._pump, link, upstream, client)

    def _pump(self, link: _Link, source: socket.socket, sink: socket.socket) -> None:
        """Forward ``source`` to ``sink`` until either end closes or the link is reset."""
        try:
            while not link.closed.is_set() and not self._closing.is_set():
                if self.mode_for(link.source) != "open":  # stalled: leave the bytes in the kernel's buffers
                    time.sleep(POLL)
                    continue
                ready, _, _ = select.select([source], [], [], POLL)
                if not ready:
                    continue
                data = source.recv(CHUNK)
                if not data:
                    break
                if self.latency_ms:
                    time.sleep(self.latency_ms / 1000)
                while self.mode_for(link.source) == "stall" and not link.closed.is_set():
                    time.sleep(POLL)  # a chunk read just before a stall waits for the heal too
                sink.sendall(data)
        except (OSError, ValueError):
            pass  # reset by a partition, by the node's death or by the client
        with self._lock:
            self._links.discard(link)
        link.close()

    def close(self) -> None:
        """Stop accepting, reset every connection and wait for the threads."""
        self._closing.set()
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            links, self._links = list(self._links), set()
            threads = list(self._threads)
        for link in links:
            link.close()
        for thread in threads:
            thread.join(timeout=2)

    def __enter__(self) -> Proxy:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


class ProxyLayer:
    """One started :class:`Proxy` in front of each of ``nodes`` (started nodes: their ports are
    known), by node name.  A node keeps its port across a kill and restart, so its proxy keeps
    working."""

    def __init__(self, nodes: Iterable[Node]) -> None:
        self.proxies: dict[str, Proxy] = {}
        try:
            for node in nodes:
                self.proxies[node.name] = Proxy(node.address, name=node.name).start()
        except BaseException:
            self.close()
            raise

    def __getitem__(self, node: Node | str) -> Proxy:
        return self.proxies[node if isinstance(node, str) else node.name]

    def __contains__(self, node: Node | str) -> bool:
        return (node if isinstance(node, str) else node.name) in self.proxies

    def address(self, node: Node | str) -> tuple[str, int]:
        """Where a client reaches ``node`` through its proxy."""
        return self[node].address

    def heal_all(self) -> None:
        for proxy in self.proxies.values():
            proxy.heal()

    def close(self) -> None:
        for proxy in self.proxies.values():
            proxy.close()

    def __enter__(self) -> ProxyLayer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
