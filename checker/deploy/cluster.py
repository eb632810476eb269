"""A local Redis Cluster: primaries sharing the 16384 hash slots, each with replicas, formed by
redlin itself through redis-py (``CLUSTER MEET``, ``ADDSLOTSRANGE``, ``REPLICATE``: no ``redis-cli``).

Every node has ``cluster-enabled yes``, its ``nodes.conf`` in its own folder (so a restarted node
keeps its identity and role) and a bus port (``cluster-port``) picked free like its client port.
A cluster-aware client (redis-py's ``RedisCluster``, which follows MOVED and ASK) starts from
:attr:`Cluster.seed_url` or :attr:`Cluster.startup_nodes`.

``CLUSTER NODES`` is read as :class:`Peer` records:

>>> line = "07c3 127.0.0.1:30004@31004 myself,slave e7d1 0 0 1 connected"
>>> peer = Peer.parse(line)
>>> (peer.node_id, peer.port, peer.replica, peer.myself, peer.master)
('07c3', 30004, True, True, 'e7d1')
>>> Peer.parse("e7d1 127.0.0.1:30001@31001,host master - 0 0 1 connected 0-5460 5461").slots
((0, 5460), (5461, 5461))
>>> slot_ranges(3)
[(0, 5460), (5461, 10922), (10923, 16383)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from redlin.deploy.node import DeployError, Node, Persistence, Topology, wait_until

SLOTS: Final = 16384
FORM_TIMEOUT: Final = 30.0
DATA_NODE: Final = (("repl-diskless-sync-delay", "0"), ("cluster-enabled", "yes"),
                    ("cluster-config-file", "nodes.conf"))


@dataclass(frozen=True)
class Peer:
    """One line of ``CLUSTER NODES``: a node as the node asked sees it."""

    node_id: str
    port: int
    flags: frozenset[str]
    master: str  # the primary's id for a replica, ``-`` for a primary
    link: str  # ``connected`` or ``disconnected``
    slots: tuple[tuple[int, int], ...]

    @classmethod
    def parse(cls, line: str) -> Peer:
        fields = line.split()
        address = fields[1].split("@")[0]
        slots = []
        for part in fields[8:]:
            if part.startswith("["):
                continue  # a slot being imported or migrated
            first, _, last = part.partition("-")
            slots.append((int(first), int(last or first)))
        return cls(fields[0], int(address.rpartition(":")[2]), frozenset(fields[2].split(",")), fields[3],
                   fields[7], tuple(slots))

    @property
    def replica(self) -> bool:
        return "slave" in self.flags

    @property
    def myself(self) -> bool:
        return "myself" in self.flags

    @property
    def healthy(self) -> bool:
        """Known, reachable and agreed on: no handshake, no failure flag, link up."""
        return self.link == "connected" and not self.flags & {"handshake", "fail", "fail?", "noaddr"}


def slot_ranges(primaries: int) -> list[tuple[int, int]]:
    """The slots split as ``redis-cli --cluster create`` splits them, one range per primary."""
    per_node = SLOTS / primaries
    ranges, first = [], 0
    for index in range(primaries):
        last = SLOTS - 1 if index == primaries - 1 else max(first, math.floor(index * per_node + per_node - 1 + 0.5))
        ranges.append((first, last))
        first = last + 1
    return ranges


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Cluster(Topology):
    """``primaries`` primaries with ``replicas_per_primary`` replicas each, on free loopback ports.

    ``node_timeout_ms`` is ``cluster-node-timeout``: small, so a failed primary is noticed quickly.
    """

    def __init__(self, primaries: int = 3, replicas_per_primary: int = 1, *,
                 persistence: Persistence = Persistence.NONE, node_timeout_ms: int = 2000,
                 directory: Path | str | None = None, binary: str | None = None) -> None:
        super().__init__(directory, binary)
        if primaries < 1 or replicas_per_primary < 0:
            raise DeployError("a cluster needs at least one primary and no negative replica count")
        self.persistence = persistence
        settings = (*DATA_NODE, ("cluster-node-timeout", str(node_timeout_ms)))
        for index in range(primaries * (1 + replicas_per_primary)):
            self._node(f"node{index}", settings=settings, persistence=persistence, cluster_bus=True)
        self.initial_primaries = self.nodes[:primaries]
        self.ids: dict[str, Node] = {}  # node id -> node, learned at the first start

    # -- what the cluster says ----------------------------------------------------------------

    def peers(self, node: Node) -> list[Peer]:
        """``CLUSTER NODES`` as ``node`` answers it."""
        return [Peer.parse(line) for line in _text(node.command("CLUSTER", "NODES")).splitlines() if line.strip()]

    def state(self, node: Node) -> dict[str, str]:
        """``CLUSTER INFO`` as a dict (``cluster_state``, ``cluster_known_nodes``, ...)."""
        lines = _text(node.command("CLUSTER", "INFO")).splitlines()
        return dict(line.strip().split(":", 1) for line in lines if ":" in line)

    def _observer(self) -> Node:
        for node in self.nodes:
            if node.running:
                return node
        raise DeployError("no node of the cluster is running")

    def primaries(self) -> list[Node]:
        """The nodes that serve slots now, as the first running node sees it, in slot order."""
        serving = sorted((peer for peer in self.peers(self._observer()) if not peer.replica and peer.slots),
                         key=lambda peer: peer.slots[0])
        return [self.ids[peer.node_id] for peer in serving]

    def replicas_of(self, primary: Node) -> list[Node]:
        """The replicas of ``primary``, as the first running node sees it."""
        node_id = self.node_id(primary)
        return [self.ids[peer.node_id] for peer in self.peers(self._observer())
                if peer.replica and peer.master == node_id]

    def node_id(self, node: Node) -> str:
        for node_id, known in self.ids.items():
            if known is node:
                return node_id
        raise DeployError(f"{node.name} is not a node of this cluster")

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        """Every node's address: what a cluster client may start from."""
        return [node.address for node in self.nodes]

    @property
    def seed_url(self) -> str:
        """One running node's URL: a cluster-aware client discovers the rest from it."""
        return self._observer().url

    # -- forming ------------------------------------------------------------------------------

    def start(self) -> Cluster:
        """Start every node; the first time, form the cluster; then wait until it is healthy."""
        first_time = not self.ids
        for node in self.nodes:
            node.start()
        if first_time:
            self._form()
        self.wait_healthy()
        return self

    def _form(self) -> None:
        for node in self.nodes:
            self.ids[_text(node.command("CLUSTER", "MYID"))] = node
        seed = self.nodes[0]
        for node in self.nodes[1:]:
            seed.command("CLUSTER", "MEET", *node.peer_address, node.peer_bus_port or node.bus_port)
        for primary, (first, last) in zip(self.initial_primaries, slot_ranges(len(self.initial_primaries))):
            primary.command("CLUSTER", "ADDSLOTSRANGE", first, last)
        everyone = len(self.nodes)
        wait_until(lambda: all(self._knows_all(node, everyone) for node in self.nodes),
                   "every cluster node to know every other", FORM_TIMEOUT, interval=0.1, nodes=self.nodes)
        replicas = self.nodes[len(self.initial_primaries):]
        for index, replica in enumerate(replicas):
            primary = self.initial_primaries[index % len(self.initial_primaries)]
            replica.command("CLUSTER", "REPLICATE", self.node_id(primary))

    def _knows_all(self, node: Node, count: int) -> bool:
        peers = self.peers(node)
        return len(peers) == count and all(peer.healthy for peer in peers)

    def _healthy(self, running: Iterable[Node]) -> bool:
        nodes = list(running)
        views = {node.name: self.peers(node) for node in nodes}
        for node in nodes:
            if self.state(node).get("cluster_state") != "ok":
                return False
            mine = next(peer for peer in views[node.name] if peer.myself)
            if mine.replica and node.info("replication").get("master_link_status") != "up":
                return False
        # Every running node agrees on who serves which slots and who replicates whom.
        roles = {frozenset((peer.node_id, peer.master, peer.slots) for peer in view) for view in views.values()}
        return len(roles) == 1

    def wait_healthy(self, timeout: float = FORM_TIMEOUT) -> None:
        """Wait until every running node says ``cluster_state:ok``, every running replica's link to
        its primary is up, and all running nodes agree on the slots and the replication."""
        running = [node for node in self.nodes if node.running]
        wait_until(lambda: self._healthy(running), "the cluster to be healthy (cluster_state:ok, replicas attached)",
                   timeout, interval=0.1, nodes=running)

    # -- faults -------------------------------------------------------------------------------

    def failover(self, primary: Node, option: str = "", timeout: float = FORM_TIMEOUT) -> Node:
        """``CLUSTER FAILOVER [FORCE|TAKEOVER]`` on a running replica of ``primary``; waits until
        the cluster agrees the replica serves the slots, and returns it."""
        if option.upper() not in ("", "FORCE", "TAKEOVER"):
            raise DeployError(f"unknown CLUSTER FAILOVER option {option!r}: expected FORCE or TAKEOVER")
        candidates = [replica for replica in self.replicas_of(primary) if replica.running]
        if not candidates:
            raise DeployError(f"{primary.name} has no running replica to fail over to")
        replica = candidates[0]
        replica.command("CLUSTER", "FAILOVER", *([option.upper()] if option else []))
        replica_id = self.node_id(replica)

        def promoted() -> bool:
            running = [node for node in self.nodes if node.running]
            for node in running:
                peer = next(peer for peer in self.peers(node) if peer.node_id == replica_id)
                if peer.replica or not peer.slots:
                    return False
            return all(self.state(node).get("cluster_state") == "ok" for node in running)

        wait_until(promoted, f"{replica.name} to take over {primary.name}'s slots", timeout, interval=0.1,
                   nodes=[primary, replica])
        return replica
