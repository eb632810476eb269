"""The transactional checker: isolation anomalies as named cycles of a dependency graph (Elle).

Nothing in it knows about Redis.  A history of transactions over list-append or rw-register keys
(:mod:`redlin.cycles.transactions`) is checked by :func:`check_transactions`:

- :mod:`redlin.cycles.infer`: version orders and ww/wr/rw dependencies from the reads, and the
  anomalies that need no cycle (G1a, G1b, garbage reads, internal inconsistency, lost updates,
  duplicate elements, incompatible orders);
- :mod:`redlin.cycles.graph`: the networkx dependency graph, with real-time and process order;
- :mod:`redlin.cycles.anomalies`: G0, G1c, G-single, G2-item (and -process, -realtime) cycles;
- :mod:`redlin.cycles.findings`: the records found, and the consistency models each rules out;
- :mod:`redlin.cycles.explain`: those records as sentences.

>>> from redlin.cycles import Transaction, TransactionHistory, append, read, check_transactions
>>> check_transactions(TransactionHistory((Transaction(0, 0, (append("x", 1), read("x", (1,))), "ok", 0, 1),),
...                                       "list-append")).verdict
'valid'
"""

from redlin.cycles.check import TransactionVerdict, check_transactions
from redlin.cycles.explain import describe, describe_step, render
from redlin.cycles.findings import MODELS, Anomaly, Dependency, ruled_out
from redlin.cycles.graph import dependency_graph
from redlin.cycles.transactions import (
    LIST_APPEND,
    RW_REGISTER,
    MicroOp,
    Transaction,
    TransactionHistory,
    append,
    read,
    write,
)

__all__ = [
    "LIST_APPEND", "MODELS", "RW_REGISTER", "Anomaly", "Dependency", "MicroOp", "Transaction",
    "TransactionHistory", "TransactionVerdict", "append", "check_transactions", "dependency_graph",
    "describe", "describe_step", "read", "render", "ruled_out", "write",
]
