"""Find and name the cycles of a dependency graph: G0, G1c, G-single, G2-item, and their variants.

Adya ("Weak Consistency", MIT 1999, chapter 4) names isolation anomalies by the cycles of the
direct serialization graph: G0 (a cycle of ww edges alone), G1c (ww and wr edges, at least one
wr), G-single (exactly one rw anti-dependency), G2-item (any number of rw edges; reported here as
G2-item when it needs two or more).  Elle (Kingsbury & Alvaro, VLDB 2020, section 4.3) adds the
``-process`` and ``-realtime`` variants, cycles that need per-client or real-time order.

How the search stays small and still complete: a cycle lies inside one strongly connected
component (SCC) of the whole graph, and histories that are fine have none but single
transactions, so only the few nontrivial SCCs are searched, smallest first.  Within an SCC,

- G0 and G1c: the SCCs of the subgraph of ww (then ww and wr) edges; in a nontrivial one, every
  edge lies on a cycle inside it, so one breadth-first search from the target of a ww (a wr) edge
  back to its source finds the shortest cycle through that edge;
- G-single: within each SCC of the subgraph of data edges (ww, wr, rw), where every cycle through
  an rw edge lies, for each rw edge ``a -> b``, the shortest ww/wr path from ``b`` back to ``a``
  (tried only where ``b`` does not come after ``a`` in a topological order of the SCCs of ww/wr
  edges: otherwise there is none);
- G2-item: in such an SCC without G-single, every cycle through an rw edge holds two or more, and
  every edge lies on a cycle: the shortest one back from the first rw edge (a G-single, where
  there is one, already rules out more models than a G2-item would);
- only if the SCC has no cycle of data edges alone (which already rules out strict
  serializability): a cycle through a ``process`` edge within the SCCs of data and process edges,
  else through a ``realtime`` edge; it is named by its data edges plus the suffix.

Every search stops at its first cycle, so an SCC yields at most one cycle of each kind, and an
SCC that holds a cycle always yields one.  When the
deadline passes, the SCCs not yet explained are reported as ``cycle-exists`` (a cycle surely
exists in them: strict serializability is ruled out).

>>> import networkx as nx
>>> from redlin.cycles.findings import Dependency
>>> g = nx.DiGraph()
>>> g.add_edge(1, 2, why=(Dependency("ww", "x", 1, 2),))
>>> g.add_edge(2, 1, why=(Dependency("wr", "y", 3),))
>>> [(a.kind, a.transactions) for a in find_cycles(g, deadline=float("inf"))[0]]
[('G1c', (1, 2))]
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Collection, Hashable, Iterable

import networkx as nx

from redlin.cycles.findings import (
    CYCLE_KINDS,
    PROCESS,
    READ_UNCOMMITTED,
    REALTIME,
    RW,
    WR,
    WW,
    Anomaly,
    Dependency,
    Step,
    anomaly,
    ruled_out,
)

_PREFERENCE = (WW, WR, PROCESS, REALTIME, RW)  # the label shown when an edge has several reasons
_DATA = frozenset({WW, WR, RW})


class _OutOfTime(Exception):
    pass


def _label(reasons: tuple[Dependency, ...], allowed: Collection[str]) -> Dependency | None:
    """The reason a path over ``allowed`` edges shows for an edge: the preferred one (no rw when
    the edge has another reason: a cycle is named by its fewest rw edges)."""
    usable = [d for d in reasons if d.type in allowed]
    return min(usable, key=lambda d: _PREFERENCE.index(d.type)) if usable else None


def _path(graph: nx.DiGraph, start: int, goal: int, allowed: Collection[str], members: Collection[int],
          deadline: float) -> list[Step] | None:
    """The shortest path from ``start`` to ``goal`` within ``members`` over ``allowed`` edges
    (breadth-first), or None if there is none."""
    parents: dict[int, tuple[int, Dependency] | None] = {start: None}
    queue = deque([start])
    succ = graph.succ
    searched = 0
    while queue:
        node = queue.popleft()
        if node == goal:
            steps: list[Step] = []
            while (parent := parents[node]) is not None:
                previous, dependency = parent
                steps.append((previous, node, dependency))
                node = previous
            return steps[::-1]
        searched += 1
        if searched % 1024 == 0 and time.monotonic() > deadline:
            raise _OutOfTime
        for target, attributes in succ[node].items():
            if target in members and target not in parents:
                label = _label(attributes["why"], allowed)
                if label is not None:
                    parents[target] = (node, label)
                    queue.append(target)
    return None


def _edges_of(graph: nx.DiGraph, members: Collection[int], kind: str) -> Iterable[tuple[int, int, Dependency]]:
    for a in members:
        for b, attributes in graph.succ[a].items():
            if b in members:
                for dependency in attributes["why"]:
                    if dependency.type == kind:
                        yield a, b, dependency
                        break


def _components(graph: nx.DiGraph, members: Collection[int], allowed: Collection[str]) -> list[set[int]]:
    """The nontrivial SCCs of the subgraph of ``members`` over ``allowed`` edges, smallest first."""
    sub = nx.subgraph_view(graph, filter_node=members.__contains__,
                           filter_edge=lambda a, b: any(d.type in allowed for d in graph.edges[a, b]["why"]))
    return sorted((c for c in nx.strongly_connected_components(sub) if len(c) > 1), key=len)


def _ranks(graph: nx.DiGraph, members: Collection[int], allowed: Collection[str]) -> dict[int, int]:
    """Each member's position in a topological order of the SCCs of its ``allowed`` edges: a path
    over those edges from ``b`` to ``a`` needs ``rank[b] <= rank[a]``."""
    sub = nx.subgraph_view(graph, filter_node=members.__contains__,
                           filter_edge=lambda a, b: any(d.type in allowed for d in graph.edges[a, b]["why"]))
    condensed = nx.condensation(sub)
    rank = {component: position for position, component in enumerate(nx.topological_sort(condensed))}
    mapping: dict[int, int] = condensed.graph["mapping"]
    return {node: rank[component] for node, component in mapping.items()}


def _through(graph: nx.DiGraph, members: Collection[int], kind: str, allowed: Collection[str],
             deadline: float, rank: dict[int, int] | None = None) -> tuple[Step, ...] | None:
    """The first cycle found through an edge of type ``kind``, its other steps over ``allowed``
    (only from edges ``a -> b`` with ``rank[b] <= rank[a]``, if ``rank`` is given)."""
    for a, b, dependency in _edges_of(graph, members, kind):
        if rank is not None and rank[b] > rank[a]:
            continue
        path = _path(graph, b, a, allowed, members, deadline)
        if path is not None:
            return ((a, b, dependency), *path)
    return None


def classify(steps: tuple[Step, ...]) -> Anomaly:
    """Name a cycle by its edges (see the module's docstring) and say which models it rules out.

    >>> classify(((1, 2, Dependency("rw", "x")), (2, 1, Dependency("realtime")))).kind
    'G-single-realtime'
    """
    start = min(range(len(steps)), key=lambda i: steps[i][0])  # shown from its first transaction
    steps = steps[start:] + steps[:start]
    types = [dependency.type for _, _, dependency in steps]
    anti = types.count(RW)
    base = ("G0" if WR not in types else "G1c") if anti == 0 else "G-single" if anti == 1 else "G2-item"
    kind = base + ("-realtime" if REALTIME in types else "-process" if PROCESS in types else "")
    models = ruled_out(kind)
    if any(dependency.assumed for _, _, dependency in steps):  # see redlin.cycles.infer
        models = tuple(model for model in models if model != READ_UNCOMMITTED)
    transactions = tuple(dict.fromkeys(a for a, _, _ in steps))
    return Anomaly(kind, transactions, models, steps)


def _data_cycles(graph: nx.DiGraph, scc: set[int], deadline: float) -> list[tuple[Step, ...]]:
    cycles: list[tuple[Step, ...]] = []
    for allowed, kind in ((frozenset({WW}), WW), (frozenset({WW, WR}), WR)):
        for component in _components(graph, scc, allowed):
            cycle = _through(graph, component, kind, allowed, deadline)
            if cycle is not None:
                cycles.append(cycle)
                break
    reads = frozenset({WW, WR})
    for component in _components(graph, scc, _DATA):  # every cycle with an rw edge lies in one
        single = _through(graph, component, RW, reads, deadline, _ranks(graph, component, reads))
        # With no G-single here, every cycle through an rw edge has two or more: the shortest is G2-item.
        cycle = single if single is not None else _through(graph, component, RW, _DATA, deadline)
        if cycle is not None:
            cycles.append(cycle)
    return cycles


def _ordered_cycle(graph: nx.DiGraph, scc: set[int], deadline: float) -> tuple[Step, ...] | None:
    allowed = _DATA | {PROCESS}
    for component in _components(graph, scc, allowed):
        found = _through(graph, component, PROCESS, allowed, deadline)
        if found is not None:
            return found
    return _through(graph, scc, REALTIME, allowed | {REALTIME}, deadline)


def find_cycles(graph: nx.DiGraph, *, deadline: float) -> tuple[list[Anomaly], bool]:
    """The named cycles of ``graph`` and whether the search finished before ``deadline``
    (a ``time.monotonic()`` value); SCCs left unexplained are reported as ``cycle-exists``."""
    found: list[Anomaly] = []
    sccs = sorted((c for c in nx.strongly_connected_components(graph) if len(c) > 1), key=len)
    for done, scc in enumerate(sccs):
        try:
            cycles = _data_cycles(graph, scc, deadline)
            if not cycles:
                ordered = _ordered_cycle(graph, scc, deadline)
                cycles = [] if ordered is None else [ordered]
        except _OutOfTime:
            found += [anomaly("cycle-exists", tuple(sorted(rest))) for rest in sccs[done:]]
            return found, False
        named: dict[str, Anomaly] = {}
        for cycle in cycles:
            named.setdefault(classify(cycle).kind, classify(cycle))
        found += sorted(named.values(), key=lambda a: _order(a.kind))
    return found, True


def _order(kind: str) -> tuple[int, Hashable]:
    base = kind.removesuffix("-realtime").removesuffix("-process")
    return (CYCLE_KINDS.index(base) if base in CYCLE_KINDS else len(CYCLE_KINDS), kind)
