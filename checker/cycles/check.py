"""Check a transactional history for isolation anomalies: infer, build the graph, find cycles.

The pipeline of Elle (Kingsbury & Alvaro, "Elle: Inferring Isolation Anomalies from Experimental
Observations", VLDB 2020): recover version orders from the reads (:mod:`redlin.cycles.infer`),
build Adya's dependency graph with real-time and process order (:mod:`redlin.cycles.graph`), and
name the cycles of its strongly connected components (:mod:`redlin.cycles.anomalies`).  Each step
is linear in the history's size, except the cycle search inside the (rare, small) components
that hold a cycle, which a deadline bounds.  The components are found on plain lists, and the
networkx graph is built for them alone (:func:`~redlin.cycles.graph.dependency_graph` builds it whole).

>>> from redlin.cycles.transactions import Transaction, TransactionHistory, append, read, OK
>>> h = TransactionHistory((Transaction(0, 0, (append("x", 1), read("y", ())), OK, 0, 5),
...                         Transaction(1, 1, (append("y", 1), read("x", ())), OK, 0, 5)), "list-append")
>>> check_transactions(h).verdict
'invalid'
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from redlin.cycles.anomalies import find_cycles
from redlin.cycles.findings import MODELS, STRICT_SERIALIZABLE, Anomaly
from redlin.cycles.graph import build_graph, cyclic_parts, graph_steps
from redlin.cycles.infer import infer
from redlin.cycles.missing import missing_elements
from redlin.cycles.transactions import TransactionHistory
from redlin.errors import UsageError
from redlin.history.source import paused_gc

VALID, INVALID, UNKNOWN = "valid", "invalid", "unknown"


@dataclass(frozen=True, slots=True)
class TransactionVerdict:
    """What :func:`check_transactions` concludes, and what it looked at.

    ``verdict`` is ``"valid"`` (no anomaly that rules out one of ``models``), ``"invalid"``
    (``anomalies`` are the proof; ``ruled_out`` the models among ``models`` they rule out) or
    ``"unknown"`` (the time budget ran out first: ``reason`` says where).  ``complete`` is False when
    the cycle search stopped early (components left unnamed are reported as ``cycle-exists``).
    ``transactions`` counts those in the graph, ``edges`` its edges, ``keys`` the keys whose
    versions were ordered, ``components`` the strongly connected components searched for cycles.
    """

    verdict: str
    anomalies: tuple[Anomaly, ...]
    models: tuple[str, ...]
    ruled_out: tuple[str, ...]
    transactions: int
    edges: int
    keys: int
    complete: bool
    reason: str
    elapsed: float
    lists: frozenset[Hashable] = frozenset()
    """The keys read as lists in a mixed history (:attr:`TransactionHistory.lists`)."""

    @property
    def valid(self) -> bool:
        return self.verdict == VALID


def check_transactions(history: TransactionHistory, *, models: Iterable[str] = (STRICT_SERIALIZABLE,),
                       time_limit: float | None = None) -> TransactionVerdict:
    """Check a list-append or rw-register history against consistency models, Elle's way.

    Parameters
    ----------
    history : TransactionHistory
        The transactions, with their outcomes, reads and real-time intervals.
    models : iterable of str
        The models to check (see :data:`redlin.cycles.findings.MODELS`); the history is invalid if
        an anomaly rules out any of them.  Real-time and process order are only used when
        ``"strict-serializable"`` is among them.
    time_limit : float, optional
        Seconds to spend; the cycle search stops when they run out.

    Returns
    -------
    TransactionVerdict
        Valid, invalid with the anomalies found (each naming the models it rules out), or
        unknown if the budget ran out before anything was found.

    Examples
    --------
    >>> from redlin.cycles.transactions import Transaction, TransactionHistory, write, read, OK
    >>> lost = TransactionHistory((
    ...     Transaction(0, 0, (read("x", None), write("x", 1)), OK, 0, 5),
    ...     Transaction(1, 1, (read("x", None), write("x", 2)), OK, 0, 5)), "rw-register")
    >>> verdict = check_transactions(lost, models=["snapshot-isolation"])
    >>> verdict.verdict, [a.kind for a in verdict.anomalies], verdict.ruled_out
    ('invalid', ['lost-update'], ('snapshot-isolation',))

    References
    ----------
    Kingsbury & Alvaro, "Elle: Inferring Isolation Anomalies from Experimental Observations",
    VLDB 2020.  Adya, "Weak Consistency", MIT 1999.
    """
    started = time.monotonic()
    wanted = tuple(models)
    unknown = [model for model in wanted if model not in MODELS]
    if unknown or not wanted:
        raise UsageError(f"models must be some of {', '.join(MODELS)}, got {unknown or 'none'}")
    deadline = float("inf") if time_limit is None else started + time_limit
    with paused_gc():  # millions of small records, none of them cyclic: collections only cost time
        inference = infer(history)
        steps = graph_steps(history, inference) if STRICT_SERIALIZABLE in wanted else inference.edges
        parts = cyclic_parts(steps, len(history.transactions))
        part_of = {member: number for number, part in enumerate(parts) for member in part}
        inside = [(a, b, why) for a, b, why in steps if part_of.get(a, -1) == part_of.get(b)] if parts else []
        cycles, complete = find_cycles(build_graph(part_of, inside), deadline=deadline)
    # A missing element always closes a cycle (its real-time path to the read, the read's
    # anti-dependency, ww edges back along the order), so a history without one has none to name.
    missing = missing_elements(history, inference.orders) if STRICT_SERIALIZABLE in wanted and cycles else []
    found = tuple(a for a in (*inference.anomalies, *missing, *cycles) if set(a.models) & set(wanted))
    ruled = tuple(model for model in wanted if any(model in a.models for a in found))
    verdict = INVALID if found else VALID if complete else UNKNOWN  # cycle-exists is a proof too
    reason = "" if complete else "the time limit ran out during the cycle search"
    return TransactionVerdict(verdict, found, wanted, ruled, len(inference.nodes), len(steps),
                              inference.keys, complete, reason, time.monotonic() - started, history.lists)
