"""The dependency graph of a transactional history, as a networkx ``DiGraph``.

Adya's direct serialization graph (Adya, "Weak Consistency", MIT 1999, section 3.3), as Elle
builds it (Kingsbury & Alvaro, VLDB 2020, section 4): one node per committed transaction, an edge
``a -> b`` whenever ``a`` must come before ``b``, with the attribute ``why``: a tuple of the
:class:`~redlin.cycles.findings.Dependency` records that say so.  The ww, wr and rw edges come from
:mod:`redlin.cycles.infer`; this module adds the two orders that need no data:

- ``realtime``: ``a`` completed before ``b`` was invoked.  Adding every such pair would take
  quadratic space, so, like Elle, each transaction is linked only to the *frontier* at its
  invocation: the transactions that had completed and that no completed transaction follows yet.
  When ``a`` completes, it joins the frontier and the transactions it was linked from leave it
  (``a`` now stands for them).  Every real-time precedence is then a path of these edges, and with
  ``c`` clients each transaction gets about ``c`` edges at most.  An ``info`` transaction has no
  known end, so it follows others but nothing follows it.
- ``process``: consecutive transactions of one client, when the first completed (``ok``).

>>> from redlin.cycles.transactions import Transaction, TransactionHistory, append, read, OK
>>> h = TransactionHistory((Transaction(0, "a", (append("x", 1),), OK, 0, 1),
...                         Transaction(1, "b", (read("x", ()),), OK, 2, 3)), "list-append")
>>> g = dependency_graph(h)
>>> sorted((d.type for d in g.edges[0, 1]["why"])), sorted(d.type for d in g.edges[1, 0]["why"])
(['realtime'], ['rw'])
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable

import networkx as nx

from redlin.cycles.findings import PROCESS, REALTIME, Dependency, Step
from redlin.cycles.infer import Inference, infer
from redlin.cycles.transactions import OK, Transaction, TransactionHistory

_REALTIME = Dependency(REALTIME)


def realtime_steps(transactions: Iterable[Transaction]) -> list[Step]:
    """Real-time edges over ``transactions``, linked to the frontier (see the module's docstring).

    >>> from redlin.cycles.transactions import Transaction, OK
    >>> ts = [Transaction(i, i, (), OK, i * 10, i * 10 + 5) for i in range(3)]
    >>> [(a, b) for a, b, _ in realtime_steps(ts)]  # 0 -> 2 is implied by 0 -> 1 -> 2
    [(0, 1), (1, 2)]
    """
    events: list[tuple[float, int, int]] = []  # (time, 0 invoke | 1 complete, index)
    for t in transactions:
        events.append((t.invoke, 0, t.index))
        if t.outcome == OK and t.complete is not None:
            events.append((t.complete, 1, t.index))
    events.sort()  # at equal times invocations first: precedence needs complete < invoke, strictly
    frontier: set[int] = set()
    linked: dict[int, tuple[int, ...]] = {}
    steps: list[Step] = []
    for _, kind, index in events:
        if kind == 0:
            before = linked[index] = tuple(frontier)
            steps.extend((a, index, _REALTIME) for a in before)
        else:
            frontier.difference_update(linked.pop(index))
            frontier.add(index)
    return steps


def process_steps(transactions: Iterable[Transaction]) -> list[Step]:
    """Edges between consecutive transactions of each client, from those that completed."""
    by_process: dict[Hashable, list[Transaction]] = defaultdict(list)
    for t in transactions:
        by_process[t.process].append(t)
    steps: list[Step] = []
    for process, ts in by_process.items():
        ts.sort(key=lambda t: t.invoke)
        label = Dependency(PROCESS, process)
        steps.extend((a.index, b.index, label) for a, b in zip(ts, ts[1:]) if a.outcome == OK)
    return steps


def cyclic_parts(steps: Iterable[Step], size: int) -> list[set[int]]:
    """The strongly connected components of more than one transaction of the graph of ``steps``
    over transactions ``0 .. size - 1``.

    A valid history's graph has none, and finding that out is most of a check's work, so it is
    done on plain lists before (instead of) building the networkx graph, which is then built for
    these components alone.  First the transactions on no cycle are peeled off from both ends
    (Kahn's topological sort, 1962: a transaction all of whose predecessors are peeled has none
    left; then the same on the reversed edges); what remains, usually nothing, is split by
    Tarjan's algorithm (1972), iteratively.

    >>> from redlin.cycles.findings import Dependency
    >>> ww = Dependency("ww")
    >>> cyclic_parts([(1, 2, ww), (2, 3, ww), (3, 2, ww), (3, 4, ww)], 5)
    [{2, 3}]
    """
    successors: list[list[int]] = [[] for _ in range(size)]
    waiting = [0] * size  # predecessors not yet peeled
    for a, b, _ in steps:
        successors[a].append(b)
        waiting[b] += 1
    ready = [node for node in range(size) if not waiting[node]]
    while ready:  # the hot loop, on lists
        for b in successors[ready.pop()]:
            waiting[b] -= 1
            if not waiting[b]:
                ready.append(b)
    if not any(waiting):
        return []
    left = {node for node in range(size) if waiting[node]}
    forward = {node: [b for b in successors[node] if b in left] for node in left}
    backward: dict[int, list[int]] = {node: [] for node in left}
    for node, targets in forward.items():
        for b in targets:
            backward[b].append(node)
    left = _unpeeled(backward, forward)  # now from the other end: what leads to no cycle
    return _tarjan({node: [b for b in forward[node] if b in left] for node in left})


def _unpeeled(successors: dict[int, list[int]], predecessors: dict[int, list[int]]) -> set[int]:
    """The nodes that Kahn's algorithm cannot order: those on a cycle or after one."""
    keep = set(successors)
    waiting = {node: len(before) for node, before in predecessors.items()}
    ready = [node for node, count in waiting.items() if count == 0]
    while ready:
        node = ready.pop()
        keep.discard(node)
        for b in successors[node]:
            waiting[b] -= 1
            if waiting[b] == 0:
                ready.append(b)
    return keep


def _tarjan(successors: dict[int, list[int]]) -> list[set[int]]:
    """Tarjan's strongly connected components of more than one node, without recursion."""
    order: dict[int, int] = {}  # discovery order
    low: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    parts: list[set[int]] = []
    for root in successors:
        if root in order:
            continue
        order[root] = low[root] = len(order)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(successors[root]))]
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in order:
                    order[target] = low[target] = len(order)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(successors[target])))
                    break
                if target in on_stack and order[target] < low[node]:
                    low[node] = order[target]
            else:
                work.pop()
                if work and low[node] < low[work[-1][0]]:
                    low[work[-1][0]] = low[node]
                if low[node] == order[node]:
                    part = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        part.add(member)
                        if member == node:
                            break
                    if len(part) > 1:
                        parts.append(part)
    return parts


def build_graph(nodes: Iterable[int], steps: Iterable[Step]) -> nx.DiGraph:
    """A ``DiGraph`` over ``nodes`` with one edge per (source, target) pair of ``steps``, its
    ``why`` the tuple of their dependencies."""
    why: dict[tuple[int, int], list[Dependency]] = {}
    for a, b, dependency in steps:
        reasons = why.get((a, b))
        if reasons is None:
            why[a, b] = [dependency]
        else:
            reasons.append(dependency)
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((a, b, {"why": tuple(reasons)}) for (a, b), reasons in why.items())
    return graph


def graph_steps(history: TransactionHistory, inference: Inference) -> list[Step]:
    """All the edges of the history's graph: the inferred ones, real time, and process order."""
    in_graph = [t for t in history.transactions if t.index in inference.nodes]
    return inference.edges + process_steps(in_graph) + realtime_steps(in_graph)


def dependency_graph(history: TransactionHistory) -> nx.DiGraph:
    """The dependency graph of ``history``: ww, wr, rw, realtime and process edges, each labelled.

    Parameters
    ----------
    history : TransactionHistory
        A list-append or rw-register history.

    Returns
    -------
    networkx.DiGraph
        Nodes are the indexes of the committed transactions; each edge's ``why`` attribute is a
        tuple of :class:`~redlin.cycles.findings.Dependency`.
    """
    inference = infer(history)
    return build_graph(inference.nodes, graph_steps(history, inference))
