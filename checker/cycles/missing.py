"""Missing elements: a committed append that a list read begun after it completed does not show.

A list only grows, so under strict serializability (Redis's promise for MULTI/EXEC and scripts on
one node) a read that began after an append completed must show the appended element.  The cycle
search finds this too, as a real-time cycle (``G-single-realtime``: the append precedes the read in
real time, and the read's anti-dependency points back to it), but under a name that says little;
this pass names it ``missing-element`` and points at the two transactions, in one sweep per key:
the reads by invocation against the appends completed before each, where a key's version order
(its longest read, all others prefixes of it) gives every element its position, so a read shows an
element iff its length passes that position (an element no read shows has none: any later read
misses it).  The orders are :mod:`redlin.cycles.infer`'s: keys whose reads are not prefixes of one
order (an ``incompatible-order`` or duplicate elements, reported there) have none and are skipped.  Only ``ok`` appends and reads count: an indeterminate
append has no completion, an indeterminate read no value.  It rules out strict serializability
only: without real time, the read may be ordered before the append.

>>> from redlin.cycles.transactions import Transaction, TransactionHistory, append, read, OK
>>> h = TransactionHistory((Transaction(0, 0, (append("x", 1),), OK, 0, 1),
...                         Transaction(1, 1, (append("x", 2),), OK, 2, 3),
...                         Transaction(2, 2, (read("x", (1,)),), OK, 4, 5)), "list-append")
>>> [(a.kind, a.transactions, a.values) for a in missing_elements(h, {"x": (1,)})]
[('missing-element', (1, 2), (2, (1,)))]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping
from typing import Any

from redlin.cycles.findings import Anomaly, anomaly
from redlin.cycles.transactions import APPEND, OK, READ, RW_REGISTER, TransactionHistory

__all__ = ["missing_elements"]

_NOWHERE = float("inf")  # the position of an element no read shows


def missing_elements(history: TransactionHistory, orders: Mapping[Hashable, tuple[Any, ...]]) -> list[Anomaly]:
    """The ``missing-element`` anomalies of a list-append history, at most one per key of ``orders``
    (each key's version order, its reads all prefixes of it: :attr:`Inference.orders`): the first
    read, by invocation, that misses an element appended before it began."""
    if history.kind == RW_REGISTER:
        return []
    reads: dict[Hashable, list[tuple[float, int, int]]] = defaultdict(list)
    appends: dict[Hashable, list[tuple[float, int, Any]]] = defaultdict(list)
    for t in history.transactions:
        if t.outcome != OK or t.complete is None:
            continue
        for mop in t.mops:
            if mop.key not in orders:
                continue
            if mop.f == READ:
                reads[mop.key].append((t.invoke, t.index, 0 if mop.value is None else len(mop.value)))
            elif mop.f == APPEND:
                appends[mop.key].append((t.complete, t.index, mop.value))
    found: list[Anomaly] = []
    for key, seen in reads.items():
        position = {element: number for number, element in enumerate(orders[key])}
        done = sorted(appends.get(key, ()), key=lambda entry: entry[:2])
        needed, needed_by, next_done = -1.0, (-1, None), 0
        for invoke, reader, length in sorted(seen):
            while next_done < len(done) and done[next_done][0] < invoke:
                _, writer, element = done[next_done]
                next_done += 1
                if writer != reader and position.get(element, _NOWHERE) > needed:
                    needed, needed_by = position.get(element, _NOWHERE), (writer, element)
            if needed >= length:
                shown = orders[key][:length]
                found.append(anomaly("missing-element", (needed_by[0], reader), key, (needed_by[1], shown)))
                break
    return found
