"""The network between the nodes of a deployment redlin starts, with partitions redlin controls.

Out of the box the nodes of a local deployment talk to each other directly on 127.0.0.1, and no
fault can come between them.  A :class:`PeerNetwork` puts a :class:`~redlin.deploy.proxy.Proxy`
in front of every node (two for a Cluster node: its client port and its bus port) and has each
node announce the proxy as its address, so every link between nodes goes through one:

- a replica reaches its primary at the primary's proxy (``replicaof``, and ``REPLICAOF`` as
  Sentinel sends it after a failover, use the announced address);
- a server announces its proxy to its primary (``replica-announce-ip``/``-port``), a sentinel to
  the other sentinels (``sentinel announce-ip``/``-port``), a Cluster node to its peers
  (``cluster-announce-ip``/``-port``/``-bus-port``), so what each learns of the others is the proxy;
- each node's own connections leave from an address of its own (``bind-source-addr``
  ``127.0.1.N``, N its place in the topology; all of ``127.0.0.0/8`` is loopback), so a proxy tells
  which node a connection comes from, and anything else (redlin's clients) is ``clients``.

:meth:`PeerNetwork.split` then cuts every link between nodes on different sides, in both
directions: a replica loses its primary, a sentinel its view of the primary and of the other
sentinels, a Cluster node its bus links, exactly as a network partition between hosts would, while
the clients keep reaching every node (a partition between clients and nodes is
:class:`~redlin.deploy.proxy.ProxyLayer`'s).  ``stall`` holds the bytes (peers time out),
``drop`` resets the connections and refuses new ones.  Since nodes accept connections from
``127.0.1.N`` only as from any other host, the servers run with ``protected-mode no``; they still
listen on 127.0.0.1 alone.  The network must be in place before the nodes' first start (their
configuration names the proxies), and outlives their kills and restarts.

>>> from redlin.deploy.topology import PrimaryReplica
>>> topology = PrimaryReplica(1)  # built, not started
>>> with PeerNetwork(topology.nodes) as network:
...     primary, replica = topology.nodes
...     (primary.peer_port > 0, ("bind-source-addr", "127.0.1.2") in replica.settings)
...     network.source_of("127.0.1.1"), network.source_of("127.0.0.1")
...     network.isolate(primary)
(True, True)
('node0', 'clients')
['node1']
>>> topology.close()
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from types import TracebackType
from typing import Final

from redlin.deploy.node import HOST, DeployError, Node, Setting
from redlin.deploy.proxy import CLIENTS, Address, Proxy

SOURCE_NET: Final = "127.0.1."
"""Node N of a network sends from ``127.0.1.N`` (N from 1)."""
MAX_NODES: Final = 254


class PeerNetwork:
    """Proxies between ``nodes`` (not started yet); see the module docstring.  Use it as a context
    manager, or :meth:`close` it: it stops every proxy."""

    def __init__(self, nodes: Iterable[Node]) -> None:
        self.nodes = list(nodes)
        if len(self.nodes) > MAX_NODES:
            raise DeployError(f"a peer network holds at most {MAX_NODES} nodes, not {len(self.nodes)}")
        self.sources: dict[str, str] = {}  # source address -> node name
        self.proxies: dict[str, list[Proxy]] = {}  # node name -> the proxies in front of it
        try:
            for index, node in enumerate(self.nodes):
                self._attach(node, f"{SOURCE_NET}{index + 1}")
        except BaseException:
            self.close()
            raise

    def _attach(self, node: Node, source: str) -> None:
        if node.port:
            raise DeployError(f"{node.name} has started already: a peer network goes in before the first start")
        self.sources[source] = node.name
        front = self._proxy(node, "peer", lambda: node.address)
        node.peer_port = front.port
        settings: list[Setting] = [("bind-source-addr", source), ("protected-mode", "no")]
        if node.sentinel:
            settings += [("sentinel", ("announce-ip", HOST)), ("sentinel", ("announce-port", str(front.port)))]
        else:
            settings += [("replica-announce-ip", HOST), ("replica-announce-port", str(front.port))]
        if node.cluster_bus:
            bus = self._proxy(node, "bus", lambda: (HOST, node.bus_port))
            node.peer_bus_port = bus.port
            settings += [("cluster-announce-ip", HOST), ("cluster-announce-port", str(front.port)),
                         ("cluster-announce-bus-port", str(bus.port))]
        node.settings += settings

    def _proxy(self, node: Node, role: str, target: Callable[[], Address]) -> Proxy:
        proxy = Proxy(target, name=f"{node.name}-{role}", sources=self.source_of)
        self.proxies.setdefault(node.name, []).append(proxy)
        return proxy.start()

    def source_of(self, host: str) -> str:
        """The node a connection from ``host`` comes from (its name), else ``clients``."""
        return self.sources.get(host, CLIENTS)

    def _names(self, side: Iterable[Node | str]) -> set[str]:
        names = {member if isinstance(member, str) else member.name for member in side}
        unknown = names - set(self.proxies)
        if unknown:
            raise DeployError(f"not a node of this network: {', '.join(sorted(unknown))}")
        return names

    def split(self, *sides: Collection[Node | str], mode: str = "stall") -> list[list[str]]:
        """Cut every link between two nodes on different ``sides`` (``stall`` or ``drop``), both
        ways; links within a side, and the clients' connections, stay.  Returns the sides' names."""
        named = [self._names(side) for side in sides]
        for index, side in enumerate(named):
            others = set().union(*(other for place, other in enumerate(named) if place != index))
            for name in side:
                for proxy in self.proxies[name]:
                    proxy.cut(others, mode)
        return [sorted(side) for side in named]

    def isolate(self, node: Node | str, mode: str = "stall") -> list[str]:
        """Cut ``node`` off from every other node of the network; returns the others' names."""
        name = node if isinstance(node, str) else node.name
        return self.split([name], [other.name for other in self.nodes if other.name != name], mode=mode)[1]

    def heal(self) -> None:
        """Mend every cut."""
        for proxies in self.proxies.values():
            for proxy in proxies:
                proxy.heal()

    def close(self) -> None:
        for proxies in self.proxies.values():
            for proxy in proxies:
                proxy.close()

    def __enter__(self) -> PeerNetwork:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
