"""Local Redis deployments from the distribution's binaries: what ``--deployment`` names, and the
replicated topologies (a primary with replicas; the same watched by Sentinel).

A :class:`Deployment` is the description the command line gives: ``single``,
``primary-replica[:N]`` (N replicas, 1 by default), ``sentinel`` (a primary, 2 replicas and 3
sentinels) or ``cluster`` (3 primaries with a replica each), optionally followed by ``,`` and a
persistence option (``none``, ``aof-everysec``, ``aof-always``).  :meth:`Deployment.build` makes the
topology (not yet started); use it as a context manager, which starts it and always tears it down.

Replication is asynchronous, as in production: :meth:`PrimaryReplica.wait_synced` waits until every
replica has applied the primary's whole stream, which a test of "what a replica reads" needs first.

>>> Deployment.parse("primary-replica:2,aof-always")
Deployment(kind='primary-replica', replicas=2, persistence=<Persistence.AOF_ALWAYS: 'aof-always'>)
>>> str(Deployment.parse("sentinel", persistence="aof-everysec"))
'sentinel,aof-everysec'
>>> Deployment.parse("cluster").replicas
3
>>> Deployment.parse("primary-replica:x")
Traceback (most recent call last):
...
redlin.errors.UsageError: bad deployment 'primary-replica:x': the replica count must be a number from 1 to 16
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from redlin.deploy.cluster import Cluster
from redlin.deploy.node import HOST, DeployError, Node, Persistence, Topology, wait_until
from redlin.errors import UsageError

KINDS: Final = ("single", "primary-replica", "sentinel", "cluster")
MAX_REPLICAS: Final = 16
SYNC_TIMEOUT: Final = 15.0
MASTER_NAME: Final = "redlin"
"""The name Sentinel monitors the primary under (``SENTINEL get-master-addr-by-name redlin``)."""
_USAGE: Final = "expected single, primary-replica[:N], sentinel or cluster, then optionally ,none / ,aof-everysec / ,aof-always"


@dataclass(frozen=True)
class Deployment:
    """A local topology to start: its kind, how many replicas it has in all, and its persistence."""

    kind: str
    replicas: int
    persistence: Persistence = Persistence.NONE

    @classmethod
    def parse(cls, text: str, persistence: str | Persistence | None = None) -> Deployment:
        """``KIND[:N][,PERSISTENCE]``; a ``persistence`` argument (a separate option) also works,
        but not both.  Bad input raises :class:`UsageError` with a one-line message."""
        spec, _, inline = text.strip().partition(",")
        if inline and persistence is not None:
            raise UsageError(f"bad deployment {text!r}: persistence given twice")
        chosen = persistence if persistence is not None else (inline or "none")
        option = chosen if isinstance(chosen, Persistence) else Persistence.parse(chosen.strip())
        kind, colon, count = spec.partition(":")
        if kind not in KINDS:
            raise UsageError(f"unknown deployment {text!r}: {_USAGE}")
        if colon and kind != "primary-replica":
            raise UsageError(f"bad deployment {text!r}: only primary-replica takes a replica count (:N)")
        if kind == "primary-replica":
            replicas = _count(text, count) if colon else 1
        else:
            replicas = {"single": 0, "sentinel": 2, "cluster": 3}[kind]
        return cls(kind, replicas, option)

    def __str__(self) -> str:
        spec = f"{self.kind}:{self.replicas}" if self.kind == "primary-replica" and self.replicas != 1 else self.kind
        return spec if self.persistence is Persistence.NONE else f"{spec},{self.persistence.value}"

    def build(self, directory: Path | str | None = None, binary: str | None = None) -> Topology:
        """The topology, not started: ``with deployment.build() as topology:`` starts and stops it."""
        if self.kind == "sentinel":
            return SentinelGroup(self.replicas, persistence=self.persistence, directory=directory, binary=binary)
        if self.kind == "cluster":
            return Cluster(persistence=self.persistence, directory=directory, binary=binary)
        return PrimaryReplica(self.replicas, persistence=self.persistence, directory=directory, binary=binary)


def _count(text: str, count: str) -> int:
    if count.isdigit() and 1 <= int(count) <= MAX_REPLICAS:
        return int(count)
    raise UsageError(f"bad deployment {text!r}: the replica count must be a number from 1 to {MAX_REPLICAS}")


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _pairs(reply: object) -> dict[str, str]:
    """A flat ``[field, value, ...]`` reply (``SENTINEL MASTER``) as a dict of strings, or the dict
    redis-py may already have made of it.

    >>> _pairs([b"name", b"redlin", b"num-slaves", b"2"])
    {'name': 'redlin', 'num-slaves': '2'}
    >>> _pairs({"num-slaves": 2})
    {'num-slaves': '2'}
    """
    if isinstance(reply, dict):
        return {_text(field): _text(value) for field, value in reply.items()}
    assert isinstance(reply, list)
    return {_text(field): _text(value) for field, value in zip(reply[::2], reply[1::2])}


# Settings of every data node: a full sync starts at once (Redis 7.0 waits 5 s for more replicas
# to join a diskless one by default), and any node may be promoted, so all have them.
DATA_NODE: Final = (("repl-diskless-sync-delay", "0"),)


class PrimaryReplica(Topology):
    """A primary and ``replicas`` replicas (``replicaof``), on free loopback ports."""

    def __init__(self, replicas: int = 1, *, persistence: Persistence = Persistence.NONE,
                 directory: Path | str | None = None, binary: str | None = None) -> None:
        super().__init__(directory, binary)
        self.persistence = persistence
        for index in range(replicas + 1):
            self._node(f"node{index}", settings=DATA_NODE, persistence=persistence)
        self.primary = self.nodes[0]

    @property
    def servers(self) -> list[Node]:
        return [node for node in self.nodes if not node.sentinel]

    @property
    def replicas(self) -> list[Node]:
        """The servers other than the current primary (some may be down)."""
        return [node for node in self.servers if node is not self.primary]

    @property
    def primary_url(self) -> str:
        return self.primary.url

    @property
    def replica_urls(self) -> list[str]:
        return [replica.url for replica in self.replicas]

    def start(self) -> PrimaryReplica:
        """Start the primary, then the replicas pointing at it, and wait until they are in sync."""
        self.primary.start()
        for replica in self.replicas:
            if not replica.running:
                if replica.port == 0:  # first start: the file is written with the primary's port
                    replica.settings.append(("replicaof", (HOST, str(self.primary.peer_address[1]))))
                replica.start()
        self.wait_synced()
        return self

    def node_at(self, port: int) -> Node:
        for node in self.nodes:
            if node.listens_on(port):
                return node
        raise DeployError(f"no node of this deployment listens on port {port}")

    def _synced(self, replicas: list[Node]) -> bool:
        offset = int(self.primary.info("replication")["master_repl_offset"])
        for replica in replicas:
            info = replica.info("replication")
            if (info.get("master_link_status") != "up" or not self.primary.listens_on(int(info.get("master_port", 0)))
                    or int(info.get("slave_repl_offset", -1)) < offset):
                return False
        return True

    def wait_synced(self, timeout: float = SYNC_TIMEOUT) -> None:
        """Wait until every running replica follows the current primary with its link up and has
        applied everything the primary had written when the check began."""
        replicas = [replica for replica in self.replicas if replica.running]
        wait_until(lambda: self._synced(replicas), f"the replicas to sync with {self.primary.name}", timeout,
                   nodes=[self.primary, *replicas])

    def promote(self, replica: Node) -> None:
        """Make ``replica`` the primary (``REPLICAOF NO ONE``) and point every other server at it,
        the old primary included (now if it runs, else at its next start)."""
        if replica not in self.replicas:
            raise DeployError(f"{replica.name} is not a replica of this deployment")
        replica.replicate(None)
        self.primary = replica
        for other in self.replicas:
            other.replicate(replica)


class SentinelGroup(PrimaryReplica):
    """A primary, ``replicas`` replicas and ``sentinels`` ``redis-sentinel`` processes watching it
    under the name :data:`MASTER_NAME`, with a quorum of ``quorum``.

    ``down_after_ms`` and ``failover_timeout_ms`` are small so a failover takes a few seconds."""

    def __init__(self, replicas: int = 2, *, sentinels: int = 3, quorum: int = 2,
                 persistence: Persistence = Persistence.NONE, down_after_ms: int = 1000,
                 failover_timeout_ms: int = 4000, directory: Path | str | None = None,
                 binary: str | None = None) -> None:
        super().__init__(replicas, persistence=persistence, directory=directory, binary=binary)
        self.quorum = quorum
        self.timing = (down_after_ms, failover_timeout_ms)
        self.sentinels = [self._node(f"sentinel{index}", program="redis-sentinel") for index in range(sentinels)]

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """Where a client asks for the primary: what ``redis.sentinel.Sentinel`` takes."""
        return [sentinel.address for sentinel in self.sentinels]

    def start(self) -> SentinelGroup:
        """Start the servers, then the sentinels, and wait until every sentinel has discovered the
        replicas and the other sentinels (a failover needs both)."""
        super().start()
        down_after, failover_timeout = self.timing
        for sentinel in self.sentinels:
            if sentinel.port == 0:
                sentinel.settings += [
                    ("sentinel", ("monitor", MASTER_NAME, HOST, str(self.primary.peer_address[1]), str(self.quorum))),
                    ("sentinel", ("down-after-milliseconds", MASTER_NAME, str(down_after))),
                    ("sentinel", ("failover-timeout", MASTER_NAME, str(failover_timeout))),
                ]
            sentinel.start()
        wait_until(self._discovered, "the sentinels to discover the replicas and each other", SYNC_TIMEOUT,
                   interval=0.2, nodes=self.sentinels)
        return self

    def _discovered(self) -> bool:
        for sentinel in self.sentinels:
            state = _pairs(sentinel.command("SENTINEL", "MASTER", MASTER_NAME))
            if (int(state["num-slaves"]) < len(self.replicas)
                    or int(state["num-other-sentinels"]) < len(self.sentinels) - 1):
                return False
        return True

    def master_address(self) -> tuple[str, int]:
        """The primary's address as clients learn it: ``SENTINEL get-master-addr-by-name`` on the
        first sentinel that answers."""
        failure: Exception | None = None
        for sentinel in self.sentinels:
            if not sentinel.running:
                continue
            try:
                return self._reported(sentinel)
            except Exception as error:  # a paused or dying sentinel: ask the next one
                failure = error
        raise DeployError(f"no sentinel answered get-master-addr-by-name: {failure}")

    def follow(self) -> Node:
        """The primary the sentinels name now, also :attr:`primary` from then on: after a failover
        they made on their own (the primary killed or paused past ``down_after_ms``)."""
        self.primary = self.node_at(self.master_address()[1])
        return self.primary

    def _view(self, sentinel: Node) -> tuple[tuple[str, int], tuple[str, int], str]:
        """What ``sentinel`` says of the primary: ``get-master-addr-by-name``, then the address and
        flags ``SENTINEL MASTER`` lists."""
        state = _pairs(sentinel.command("SENTINEL", "MASTER", MASTER_NAME))
        return (self._reported(sentinel), (state["ip"], int(state["port"])), state["flags"])

    def _reported(self, sentinel: Node) -> tuple[str, int]:
        """What ``sentinel`` answers to ``SENTINEL get-master-addr-by-name``."""
        host, port = sentinel.command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)
        return (_text(host), int(port))

    def failover(self, timeout: float = 30.0) -> Node:
        """``SENTINEL FAILOVER`` and wait until the failover is over as every client sees it: every
        running sentinel names the same new primary both ways a client asks (``get-master-addr-by-name``
        and ``SENTINEL MASTER``, which redis-py's ``Sentinel`` reads), with no flag but ``master``,
        and that node accepts writes.  Returns the node (also :attr:`primary` from then on).

        Waiting for both matters: while its failover is in progress the leading sentinel already
        answers ``get-master-addr-by-name`` with the promoted replica but still lists the old
        primary in ``SENTINEL MASTER``, so a redis-py client connecting then writes to the old one.
        The other replicas are repointed at once, but a running old primary stays a primary until
        the sentinels next poll it (Sentinel's INFO period: 10 s), as in production; call
        :meth:`wait_synced` to wait for that too."""
        old = self.master_address()
        asked = next(sentinel for sentinel in self.sentinels if sentinel.running)
        asked.command("SENTINEL", "FAILOVER", MASTER_NAME)

        def settled() -> bool:
            views = {self._view(sentinel) for sentinel in self.sentinels if sentinel.running}
            if len(views) != 1:
                return False
            address, listed, flags = views.pop()
            if address == old or listed != address or flags != "master":
                return False
            node = self.node_at(address[1])
            if node.info("replication")["role"] != "master":
                return False
            node.command("SET", "redlin:deploy:probe", "1")  # refused by a read-only replica
            node.command("DEL", "redlin:deploy:probe")
            self.primary = node
            return True

        wait_until(settled, "the sentinels to report a new primary that accepts writes", timeout, interval=0.1,
                   nodes=self.sentinels)
        return self.primary
