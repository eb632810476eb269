"""How a deployment client finds the server for a key: the primary path, as real clients find it.

A :class:`Route` answers :meth:`~Route.address` (where to send a command on ``key``; a replica's
address for a replica read) and learns from what goes wrong: :meth:`~Route.refresh` after a lost
connection or a refusal (``READONLY`` from a demoted primary, ``LOADING``), :meth:`~Route.moved`
after a Cluster redirection.  Three kinds, one per way a deployment names its primary:

- :class:`HostsRoute`: a list of servers (``primary-replica``, or the user's hosts); the primary is
  the server whose ``ROLE`` says ``master`` (the one with the most replicas if several do, as after a
  restart races a promotion);
- :class:`SentinelRoute`: ``SENTINEL GET-MASTER-ADDR-BY-NAME`` on the first sentinel that answers
  (``SENTINEL MASTER`` lags behind it during a failover), replicas from ``SENTINEL REPLICAS``;
- :class:`ClusterRoute`: the slot table of ``CLUSTER SLOTS`` from any node that answers, updated by
  ``MOVED`` and reloaded on :meth:`~Route.refresh`.

``via`` maps a server's own address to where clients reach it (a proxy of
:class:`~redlin.deploy.proxy.ProxyLayer`), so a partition between clients and nodes is seen by the
clients alone; the route itself asks for the topology directly.

``credentials`` (:class:`Credentials`) are the data nodes' user name and password: every
connection to a server, the route's probes and the clients' (:meth:`~Route.connect`), sends them
first.  A :class:`SentinelRoute` has the sentinels' own as well, since Sentinel and the servers it
watches usually have different passwords.  :meth:`~Route.check_access` tells a refused password
apart from a server that is down, before a run starts.

>>> route = HostsRoute([("127.0.0.1", 1)], probe_timeout=0.1)
>>> route.address(b"k")
('127.0.0.1', 1)
>>> redirect_of(Error("MOVED 3999 127.0.0.1:6381"))
('MOVED', 3999, ('127.0.0.1', 6381))
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from redis.crc import key_slot

from redlin.harness.wire import AuthRefused, Connection, WireError
from redlin.model import Error, Reply

Address = tuple[str, int]
PROBE_TIMEOUT: Final = 0.5
"""Seconds a route waits for a server or sentinel to answer while it looks for the primary."""
REPLICA_RELOAD: Final = 1.0
"""Seconds between two reloads of a cluster's slot table while a replica read finds no replica."""


def _text(value: Reply) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class Credentials:
    """A user name (Redis ACL) and password a connection authenticates with; without a password it
    sends no ``AUTH``.  The password never shows in the repr.

    >>> Credentials("alice", "s3cret")
    Credentials(username='alice')
    """

    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def connect(self, address: Address, timeout: float) -> Connection:
        """A connection to ``address``, authenticated (``AuthRefused`` if the server refuses)."""
        return Connection(*address, timeout=timeout, username=self.username, password=self.password)


NO_CREDENTIALS: Final = Credentials()


def _ask(address: Address, *argv: bytes, timeout: float, credentials: Credentials = NO_CREDENTIALS) -> Reply:
    """One command on a fresh connection (the route's own, never a client's)."""
    with credentials.connect(address, timeout) as connection:
        return connection.execute(*argv)


def _check(address: Address, credentials: Credentials, timeout: float, hint: str) -> None:
    """``AuthRefused`` if the server at ``address`` refuses ``credentials``, or answers ``PING``
    with ``NOAUTH`` (``hint`` says where a password goes); a server that does not answer passes."""
    try:
        reply = _ask(address, b"PING", timeout=timeout, credentials=credentials)
    except AuthRefused:
        raise
    except WireError:
        return
    if type(reply) is Error and reply.text.startswith("NOAUTH"):
        raise AuthRefused(f"{address[0]}:{address[1]} requires a password ({hint}): {reply.text}", reply)


def redirect_of(reply: Reply) -> tuple[str, int, Address] | None:
    """``("MOVED" | "ASK", slot, address)`` for a Cluster redirection error, else None."""
    if type(reply) is not Error:
        return None
    kind, _, rest = reply.text.partition(" ")
    if kind not in ("MOVED", "ASK"):
        return None
    slot, _, where = rest.partition(" ")
    host, _, port = where.rpartition(":")
    return kind, int(slot), (host, int(port))


class Route:
    """Where commands on a key go; subclasses find the primary their own way."""

    needs_readonly = False
    """Whether a replica serves reads only after ``READONLY`` on the connection (a cluster's)."""

    def __init__(self, via: Callable[[Address], Address] | None = None, probe_timeout: float = PROBE_TIMEOUT,
                 credentials: Credentials = NO_CREDENTIALS) -> None:
        self.via = via or (lambda address: address)
        self.probe_timeout = probe_timeout
        self.credentials = credentials
        self._lock = threading.Lock()

    def connect(self, address: Address, timeout: float) -> Connection:
        """A connection to the data node at ``address`` (as :meth:`address` gave it), authenticated
        with the route's credentials: ``AuthRefused`` (a ``WireError``) if it refuses them."""
        return self.credentials.connect(address, timeout)

    def check_access(self) -> None:
        """``AuthRefused`` naming the first server the route was given that refuses its credentials
        or asks for a password none was given for; servers that do not answer are not checked."""
        for address in self._seeds():
            _check(address, self.credentials, self.probe_timeout, "give it in the URL: redis://[USER]:PASSWORD@HOST:PORT")

    def _seeds(self) -> list[Address]:
        raise NotImplementedError

    def address(self, key: bytes, replica: int | None = None) -> Address:
        """Where a client sends a command on ``key``: the primary serving it, or for a replica read
        replica number ``replica`` (modulo how many there are; the primary if there is none)."""
        with self._lock:
            primary, replicas = self._locate(key)
        chosen = replicas[replica % len(replicas)] if replica is not None and replicas else primary
        return self.via(chosen)

    def _locate(self, key: bytes) -> tuple[Address, list[Address]]:
        raise NotImplementedError

    def refresh(self) -> None:
        """Look for the primary again (after a lost connection or a refusal)."""
        with self._lock:
            self._discover()

    def _discover(self) -> None:
        raise NotImplementedError

    def moved(self, slot: int, address: Address) -> None:
        """A ``MOVED`` said ``slot`` is served at ``address`` (only a cluster has slots)."""


class HostsRoute(Route):
    """Servers named by address; the primary is found with ``ROLE``."""

    def __init__(self, hosts: Sequence[Address], **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.hosts = list(hosts)
        self._primary = self.hosts[0]
        self._replicas = self.hosts[1:]

    def _locate(self, key: bytes) -> tuple[Address, list[Address]]:
        return self._primary, self._replicas

    def _seeds(self) -> list[Address]:
        return self.hosts

    def _discover(self) -> None:
        masters: list[tuple[int, Address]] = []
        replicas: list[Address] = []
        for host in self.hosts:
            try:
                role = _ask(host, b"ROLE", timeout=self.probe_timeout, credentials=self.credentials)
            except WireError:
                continue  # down or paused: neither primary nor a replica to read from now
            if isinstance(role, tuple) and role and role[0] == b"master":
                followers = role[2] if len(role) > 2 and isinstance(role[2], tuple) else []
                masters.append((len(followers), host))
            elif isinstance(role, tuple) and role:
                replicas.append(host)
        if masters:
            self._primary = max(masters, key=lambda entry: entry[0])[1]  # max keeps the first of equals
            self._replicas = replicas


class SentinelRoute(Route):
    """A primary watched by sentinels under ``name``; ``sentinel_credentials`` are the sentinels'
    (``credentials``, the servers')."""

    def __init__(self, sentinels: Sequence[Address], name: str, *, sentinel_credentials: Credentials = NO_CREDENTIALS,
                 **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.sentinels = list(sentinels)
        self.sentinel_credentials = sentinel_credentials
        self.name = name.encode()
        self._primary: Address | None = None
        self._replicas: list[Address] = []

    def _locate(self, key: bytes) -> tuple[Address, list[Address]]:
        if self._primary is None:
            self._discover()
        if self._primary is None:
            raise WireError(f"no sentinel of {len(self.sentinels)} named the primary of {self.name.decode()!r}")
        return self._primary, self._replicas

    def check_access(self) -> None:
        """The sentinels with their credentials, then the primary they name with the servers'."""
        for sentinel in self.sentinels:
            _check(sentinel, self.sentinel_credentials, self.probe_timeout,
                   "give it in the URL: redis://[USER]:PASSWORD@HOST:PORT")
        with self._lock:
            self._discover()
            primary = self._primary
        if primary is not None:
            _check(primary, self.credentials, self.probe_timeout,
                   f"the primary of {self.name.decode()!r}: give its password as ?master=NAME&password=PASSWORD")

    def _discover(self) -> None:
        for sentinel in self.sentinels:
            try:
                reply = _ask(sentinel, b"SENTINEL", b"GET-MASTER-ADDR-BY-NAME", self.name, timeout=self.probe_timeout,
                             credentials=self.sentinel_credentials)
                listed = _ask(sentinel, b"SENTINEL", b"REPLICAS", self.name, timeout=self.probe_timeout,
                              credentials=self.sentinel_credentials)
            except WireError:
                continue
            if isinstance(reply, tuple) and len(reply) == 2:
                self._primary = (_text(reply[0]), int(_text(reply[1])))
                self._replicas = _healthy_replicas(listed)
                return


def _healthy_replicas(listed: Reply) -> list[Address]:
    """The replicas ``SENTINEL REPLICAS`` lists as neither down nor disconnected."""
    found = []
    for entry in listed if isinstance(listed, tuple) else []:
        if not isinstance(entry, tuple):
            continue
        fields = dict(zip(map(_text, entry[::2]), map(_text, entry[1::2]), strict=False))
        if not {"s_down", "o_down", "disconnected"} & set(fields.get("flags", "").split(",")):
            found.append((fields["ip"], int(fields["port"])))
    return found


class ClusterRoute(Route):
    """A Redis Cluster reached through any of ``seeds``; keys go by their hash slot.

    ``CLUSTER SLOTS`` leaves out a replica that has replicated nothing yet (Redis 7.0 lists only
    replicas with a replication offset), as every replica of a new, empty cluster; and a ``MOVED``
    names a primary alone.  So a replica read that finds no replica for its slot reloads the table,
    at most every :data:`REPLICA_RELOAD` seconds, until the replicas show (meanwhile it reads the
    primary)."""

    needs_readonly = True

    def __init__(self, seeds: Sequence[Address], **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.seeds = list(seeds)
        self._slots: dict[int, tuple[Address, list[Address]]] = {}
        self._loaded = 0.0

    def address(self, key: bytes, replica: int | None = None) -> Address:
        if replica is not None:
            with self._lock:
                _, replicas = self._locate(key)
                if not replicas and time.monotonic() - self._loaded >= REPLICA_RELOAD:
                    self._discover()
        return super().address(key, replica)

    def _locate(self, key: bytes) -> tuple[Address, list[Address]]:
        slot = key_slot(key)
        if slot not in self._slots:
            self._discover()
        if slot not in self._slots:
            raise WireError(f"no node of the cluster serves slot {slot}")
        return self._slots[slot]

    def moved(self, slot: int, address: Address) -> None:
        with self._lock:
            self._slots[slot] = (address, [])

    def _seeds(self) -> list[Address]:
        return self.seeds

    def _discover(self) -> None:
        self._loaded = time.monotonic()
        known = [*self.seeds, *{entry[0] for entry in self._slots.values()}]
        for node in known:
            try:
                table = _ask(node, b"CLUSTER", b"SLOTS", timeout=self.probe_timeout, credentials=self.credentials)
            except WireError:
                continue
            if type(table) is Error or not isinstance(table, tuple) or not table:
                continue
            slots: dict[int, tuple[Address, list[Address]]] = {}
            for entry in table:
                if not isinstance(entry, tuple) or len(entry) < 3:
                    continue
                first, last, primary, *replicas = entry
                served = (_address(primary), [_address(replica) for replica in replicas])
                for slot in range(int(_text(first)), int(_text(last)) + 1):
                    slots[slot] = served
            self._slots = slots
            return


def _address(node: Reply) -> Address:
    """A node's ``[ip, port, id, ...]`` entry of ``CLUSTER SLOTS`` as an address."""
    if not isinstance(node, tuple) or len(node) < 2:
        raise WireError(f"CLUSTER SLOTS gave a node entry redlin cannot read: {node!r}")
    return (_text(node[0]), int(_text(node[1])))
