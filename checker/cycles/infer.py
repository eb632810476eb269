"""Recover version orders and data dependencies from what transactions read (Elle's inference).

Kingsbury & Alvaro, "Elle: Inferring Isolation Anomalies from Experimental Observations" (VLDB
2020), sections 3 and 4: when every write is unique and reads return enough of the history, the
order in which each key's versions were installed can be read off the observations, and from it
Adya's ww, wr and rw dependencies between transactions.  What is inferred here, and why it is sound:

**Which transactions are in the graph.**  Every ``ok`` transaction, and every ``info`` transaction
one of whose writes some committed transaction read (it must have committed).  An ``info``
transaction nobody observed may or may not have happened: it gets no edge, so it can never be part
of a reported cycle.  ``fail`` transactions never happened; reading one of their writes is G1a.

**List-append.**  A read returns the key's whole list, so it shows the order of every append it
saw.  All reads of a key (by committed transactions) must be prefixes of the longest one, which is
then the key's version order (each prefix a version); two reads that are not prefixes of one order
are an ``incompatible-order`` anomaly, and a list holding an element twice ``duplicate-elements``;
either way the key's order is not used for edges (it is not one order).  Then, for consecutive
elements ``a, b`` of the order appended by different transactions: ww from ``a``'s appender to
``b``'s.  For a transaction's *external* read of a key (before it writes the key itself) that ends
in ``a`` and is followed in the order by ``b``: wr from ``a``'s appender, rw to ``b``'s (an empty read:
rw to the first element's appender).  A committed append that no read shows came after the whole
order (a read made after it would show it, and everything before it): ww from the order's last
appender to it, and rw from each external read of the whole order to it.  That holds for the
other appends of an ``info`` transaction that a read showed to have committed; the appends of one
nobody observed give no edge.

**Rw-register.**  A read of value ``v`` gives wr from ``v``'s (unique) writer.  The version order is
known only in part: the initial ``nil`` comes first, and a committed transaction that read ``v1``
(externally) and finally wrote ``v2`` to the same key installed ``v2`` after ``v1``.  The second rule
is sound for read committed and stronger: if ``v2`` came before ``v1`` instead, the reader's write
``ww``-precedes ``v1``'s writer, which wr-precedes the reader, a G1c cycle; such edges are marked
``assumed`` and a cycle through one is never said to rule out read uncommitted.  Edges: ww from
``v1``'s writer to ``v2``'s, rw from every external reader of ``v1`` to ``v2``'s writer, and rw from
every reader of ``nil`` to the writers of the versions with no known predecessor (``r`` readers of
``nil`` and ``f`` such versions of a key make ``r * f`` edges: keys are read as ``nil`` early on).  An edge between
versions known to be ordered but perhaps not adjacent stands for a path of ww edges (and at most
the one rw) in the true order, so cycles through it are true cycles with the same count of rw edges.

**Anomalies found without a cycle.**  ``garbage-read`` (a value nobody wrote), ``G1a`` (a value
written by a failed transaction), ``G1b`` (a value its writer overwrote in the same transaction,
for list-append an element followed by another append of the same transaction, read as the last
element), ``internal`` (a read that disagrees with the transaction's own earlier reads and writes
of the key), ``lost-update`` (two committed transactions read the same version of a key and both
wrote it).

>>> from redlin.cycles.transactions import Transaction, TransactionHistory, append, read, OK
>>> h = TransactionHistory((Transaction(0, 0, (append("x", 1),), OK, 0, 1),
...                         Transaction(1, 0, (read("x", (1,)),), OK, 2, 3)), "list-append")
>>> found = infer(h)
>>> [(a, b, d.type) for a, b, d in found.edges], found.anomalies
([(0, 1, 'wr')], [])
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from typing import Any

from redlin.cycles.findings import RW, WR, WW, Anomaly, Dependency, Step, anomaly
from redlin.cycles.transactions import (
    APPEND,
    FAIL,
    INFO,
    LIST_APPEND,
    MIXED,
    OK,
    READ,
    Transaction,
    TransactionHistory,
)


@dataclass(frozen=True, slots=True)
class Inference:
    """The data dependencies of a history and the anomalies found on the way.

    ``nodes`` are the transactions in the graph (committed for sure), ``edges`` the ww/wr/rw steps
    between them, in no particular order; ``keys`` counts the keys whose versions were ordered.
    """

    nodes: frozenset[int]
    edges: list[Step]
    anomalies: list[Anomaly]
    keys: int
    orders: dict[Hashable, tuple[Any, ...]] = field(default_factory=dict)
    """List-append: each key's version order, for the keys whose reads are prefixes of one."""


def infer(history: TransactionHistory) -> Inference:
    """The dependencies and the anomalies that need no cycle, for any kind of history.

    A mixed history is inferred as two, one of its lists and one of its registers: every
    inference here is about one key at a time, so each key is read by the rules of its kind.
    """
    if history.kind == LIST_APPEND:
        return _list_append(history.transactions)
    if history.kind != MIXED:
        return _rw_register(history.transactions)
    lists = history.lists
    on_lists = _list_append(tuple(replace(t, mops=tuple(m for m in t.mops if m.key in lists))
                                  for t in history.transactions))
    on_registers = _rw_register(tuple(replace(t, mops=tuple(m for m in t.mops if m.key not in lists))
                                      for t in history.transactions))
    return Inference(on_lists.nodes | on_registers.nodes, on_lists.edges + on_registers.edges,
                     on_lists.anomalies + on_registers.anomalies, on_lists.keys + on_registers.keys,
                     on_lists.orders)


def _writers(transactions: tuple[Transaction, ...]) -> tuple[dict[Hashable, dict[Any, int]], dict[tuple[int, Hashable], Any]]:
    """Who wrote each (key, value), and each transaction's last value written to each key."""
    writer: dict[Hashable, dict[Any, int]] = defaultdict(dict)
    last: dict[tuple[int, Hashable], Any] = {}
    for t in transactions:
        index = t.index
        for mop in t.mops:
            if mop.f != READ:
                writer[mop.key][mop.value] = index
                last[index, mop.key] = mop.value
    return writer, last


def _observed(writer_index: int | None, transactions: tuple[Transaction, ...], reader: int, key: Hashable,
              value: Any, found: list[Anomaly]) -> bool:
    """Whether a read of ``value`` from ``writer_index`` may give an edge; records garbage and G1a."""
    if writer_index is None:
        found.append(anomaly("garbage-read", (reader,), key, (value,)))
        return False
    if transactions[writer_index].outcome == FAIL:
        found.append(anomaly("G1a", (reader, writer_index), key, (value, writer_index)))
        return False
    return True


def _list_append(transactions: tuple[Transaction, ...]) -> Inference:
    writer, last = _writers(transactions)
    found: list[Anomaly] = []
    reads, external = _list_reads(transactions, found)
    nodes = {t.index for t in transactions if t.outcome == OK}
    orders = _list_orders(transactions, reads, writer, nodes, found)
    _intermediate_reads(reads, writer, last, transactions, found)
    unread = _unread_appends(nodes, last, orders)
    edges = _list_write_edges(orders, writer, unread)
    versions: dict[tuple[Hashable, Any], list[int]] = defaultdict(list)
    for reader, key, value, writes_later in external:
        if key not in orders:
            continue
        order = orders[key]
        writers = writer[key]
        latest = value[-1] if value else None
        if value:
            w = writers[latest]
            if w != reader:
                edges.append((w, reader, Dependency(WR, key, latest)))
        if len(value) < len(order):
            w = writers[order[len(value)]]
            if w != reader:
                edges.append((reader, w, Dependency(RW, key, latest, order[len(value)])))
        elif key in unread:
            edges.extend((reader, later, Dependency(RW, key, latest, element))
                         for element, later in unread[key] if later != reader)
        if writes_later:
            versions[key, latest].append(reader)
    _lost_updates(versions, found)
    return Inference(frozenset(nodes), edges, found, len(orders), orders)


def _list_reads(transactions: tuple[Transaction, ...], found: list[Anomaly]
                ) -> tuple[dict[Hashable, list[tuple[int, tuple[Any, ...]]]], list[tuple[int, Hashable, tuple[Any, ...], bool]]]:
    """Every read of a committed transaction by key, as (reader, list); its external reads as
    (reader, key, list, whether it appends to the key later); internal anomalies into ``found``."""
    reads: dict[Hashable, list[tuple[int, tuple[Any, ...]]]] = defaultdict(list)
    external: list[tuple[int, Hashable, tuple[Any, ...], bool]] = []
    for t in transactions:
        if t.outcome != OK:
            continue
        index = t.index
        expected: dict[Hashable, tuple[Any, ...] | None] = {}  # what a read must return (None: unknown)
        tail: dict[Hashable, tuple[Any, ...]] = {}  # the transaction's own appends, when that is unknown
        appends_to: set[Hashable] | None = None  # the keys it appends to, when first needed
        for mop in t.mops:
            key = mop.key
            if mop.f == APPEND:
                if key not in expected:
                    expected[key] = None
                    tail[key] = (mop.value,)
                elif (before := expected[key]) is None:
                    tail[key] += (mop.value,)
                else:
                    expected[key] = (*before, mop.value)
                continue
            value = mop.value or ()
            if key in expected:
                before = expected[key]
                if before is not None and value != before:
                    found.append(anomaly("internal", (index,), key, (before, value)))
                elif before is None and value[len(value) - len(tail[key]):] != tail[key]:
                    found.append(anomaly("internal", (index,), key, (None, value)))
            else:
                if appends_to is None:
                    appends_to = {m.key for m in t.mops if m.f == APPEND}
                external.append((index, key, value, key in appends_to))
            expected[key] = value
            reads[key].append((index, value))
    return reads, external


def _list_orders(transactions: tuple[Transaction, ...], reads: dict[Hashable, list[tuple[int, tuple[Any, ...]]]],
                 writer: dict[Hashable, dict[Any, int]], nodes: set[int], found: list[Anomaly]
                 ) -> dict[Hashable, tuple[Any, ...]]:
    """Each key's version order, if its reads agree and show only appends that committed; the
    ``info`` appenders they show join ``nodes``."""
    orders: dict[Hashable, tuple[Any, ...]] = {}
    outcome_of = [t.outcome for t in transactions]
    for key, seen in reads.items():
        reader, order = _order(key, seen, found)
        if order is None:
            continue
        writers = writer.get(key, {})
        good = True
        for element in order:
            w = writers.get(element)
            if w is None:
                found.append(anomaly("garbage-read", (reader,), key, (element,)))
                good = False
            elif outcome_of[w] == FAIL:
                found.append(anomaly("G1a", (reader, w), key, (element, w)))
                good = False
            elif outcome_of[w] == INFO:
                nodes.add(w)  # it committed: someone read its append
        if good:
            orders[key] = order
    return orders


def _list_write_edges(orders: dict[Hashable, tuple[Any, ...]], writer: dict[Hashable, dict[Any, int]],
                      unread: dict[Hashable, list[tuple[Any, int]]]) -> list[Step]:
    """ww edges: between consecutive appends of different transactions, and from the last one
    read to every append never read."""
    edges: list[Step] = []
    for key, order in orders.items():
        if not order:
            continue
        writers = writer[key]
        previous_writer = writers[order[0]]
        for before, after in zip(order, order[1:]):
            w = writers[after]
            if w != previous_writer:
                edges.append((previous_writer, w, Dependency(WW, key, before, after)))
                previous_writer = w
        if key in unread:
            edges.extend((previous_writer, later, Dependency(WW, key, order[-1], element))
                         for element, later in unread[key] if later != previous_writer)
    return edges


def _unread_appends(nodes: set[int], last: dict[tuple[int, Hashable], Any],
                    orders: dict[Hashable, tuple[Any, ...]]) -> dict[Hashable, list[tuple[Any, int]]]:
    """Per key with an order, the (element, appender) of appends that no read showed by the
    committed transactions ``nodes`` (an ``info`` one among them if a read showed another of its appends),
    each its appender's last to the key: they come after the whole order (a read made after one of
    them would have shown it, and every element before it)."""
    shown = {key: set(order) for key, order in orders.items()}
    unread: dict[Hashable, list[tuple[Any, int]]] = defaultdict(list)
    for (w, key), element in last.items():
        if key in shown and element not in shown[key] and w in nodes:
            unread[key].append((element, w))
    return unread


def _order(key: Hashable, seen: list[tuple[int, tuple[Any, ...]]], found: list[Anomaly]
           ) -> tuple[int, tuple[Any, ...] | None]:
    """A reader of the key's longest list and its version order (that list), or None for the
    order after recording why there is none."""
    longest_reader, longest = max(seen, key=lambda pair: len(pair[1]))
    if len(set(longest)) != len(longest):
        found.append(anomaly("duplicate-elements", (longest_reader,), key, (longest,)))
        return longest_reader, None
    for reader, value in seen:
        if value != longest[:len(value)]:
            if len(set(value)) != len(value):
                found.append(anomaly("duplicate-elements", (reader,), key, (value,)))
            else:
                found.append(anomaly("incompatible-order", (reader, longest_reader), key, (value, longest)))
            return longest_reader, None
    return longest_reader, longest


def _intermediate_reads(reads: dict[Hashable, list[tuple[int, tuple[Any, ...]]]], writer: dict[Hashable, dict[Any, int]],
                        last: dict[tuple[int, Hashable], Any], transactions: tuple[Transaction, ...],
                        found: list[Anomaly]) -> None:
    """G1b for list-append: a read ending in an element its appender followed with another."""
    for key, seen in reads.items():
        writers = writer.get(key, {})
        for reader, value in seen:
            if not value:
                continue
            w = writers.get(value[-1])
            if w is not None and w != reader and last[w, key] != value[-1] and transactions[w].outcome != FAIL:
                found.append(anomaly("G1b", (reader, w), key, (value[-1], last[w, key])))


def _lost_updates(versions: dict[tuple[Hashable, Any], list[int]], found: list[Anomaly]) -> None:
    for (key, version), readers in versions.items():
        if len(readers) > 1:
            found.append(anomaly("lost-update", tuple(readers), key, (version,)))


def _rw_register(transactions: tuple[Transaction, ...]) -> Inference:
    writer, last = _writers(transactions)
    found: list[Anomaly] = []
    nodes = {t.index for t in transactions if t.outcome == OK}
    external: list[tuple[int, Hashable, Any]] = []
    follows: dict[Hashable, dict[Any, set[Any]]] = defaultdict(lambda: defaultdict(set))  # key -> v1 -> {v2}
    versions: dict[tuple[Hashable, Any], list[int]] = defaultdict(list)
    for t in transactions:
        if t.outcome != OK:
            continue
        index = t.index
        state: dict[Hashable, Any] = {}
        read_first: dict[Hashable, Any] = {}
        for mop in t.mops:
            key, value = mop.key, mop.value
            if mop.f != READ:
                state[key] = value
                continue
            if key in state:
                if state[key] != value:
                    found.append(anomaly("internal", (index,), key, (state[key], value)))
            else:
                read_first[key] = value
                external.append((index, key, value))
            state[key] = value
            w = writer.get(key, {}).get(value) if value is not None else None
            if value is not None and _observed(w, transactions, index, key, value, found) and w != index:
                assert w is not None
                if transactions[w].outcome == INFO:
                    nodes.add(w)
                if last[w, key] != value:
                    found.append(anomaly("G1b", (index, w), key, (value, last[w, key])))
        for key, value in read_first.items():
            if (index, key) in last:
                follows[key][value].add(last[index, key])
                versions[key, value].append(index)
    _lost_updates(versions, found)
    edges: list[Step] = []
    for key, successors in follows.items():
        writers = writer[key]
        for before, afters in successors.items():
            if before is None or writers.get(before) not in nodes:
                continue
            for after in afters:
                if writers[before] != writers[after]:
                    edges.append((writers[before], writers[after], Dependency(WW, key, before, after, True)))
    firsts: dict[Hashable, list[Any]] = {}
    for reader, key, value in external:
        writers = writer.get(key, {})
        if value is not None:
            w = writers.get(value)
            if w is None or w not in nodes:
                continue
            if w != reader:
                edges.append((w, reader, Dependency(WR, key, value)))
        successors = follows.get(key, {})
        for after in successors.get(value, ()):
            if writers[after] != reader:
                edges.append((reader, writers[after], Dependency(RW, key, value, after, True)))
        if value is None:
            if key not in firsts:
                firsts[key] = _first_versions(key, writers, last, follows.get(key, {}), nodes)
            for after in firsts[key]:
                w = writers[after]
                if w != reader and after not in successors.get(None, ()):
                    edges.append((reader, w, Dependency(RW, key, None, after)))
    return Inference(frozenset(nodes), edges, found, len(follows))


def _first_versions(key: Hashable, writers: dict[Any, int], last: dict[tuple[int, Hashable], Any],
                    follows: dict[Any, set[Any]], nodes: set[int]) -> list[Any]:
    """The key's installed versions (final writes of transactions in the graph) with no known
    predecessor but ``nil``."""
    later = {after for before, afters in follows.items() if before is not None for after in afters}
    return [value for value, w in writers.items() if w in nodes and last[w, key] == value and value not in later]
