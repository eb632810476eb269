"""What the cycle checker finds, as data: dependencies, anomalies, and the models each rules out.

A :class:`Dependency` says why one transaction must come before another (Adya's direct
dependencies, in Elle's names): ``ww`` (the target overwrote, or appended after, the source's
write), ``wr`` (the target read the source's write), ``rw`` (an anti-dependency: the source read a
version that the target's write replaced), ``realtime`` (the source completed before the target was
invoked) and ``process`` (the same client ran the source, then the target).

An :class:`Anomaly` names what broke (Adya, "Weak Consistency: A Generalized Theory and Optimistic
Implementations for Distributed Transactions", MIT 1999; Kingsbury & Alvaro, VLDB 2020), the
transactions involved, and, for a cycle, its steps: ``(source, target, dependency)`` in order,
the last step's target being the first step's source.  Rendering it as sentences is
:mod:`redlin.cycles.explain`'s job.

Which consistency models an anomaly rules out follows Elle's mapping, restricted to six models:
G0 rules out all of them; G1a, G1b, G1c and incompatible orders read committed and stronger;
G-single and lost updates snapshot isolation, repeatable read and stronger; G2-item repeatable
read and serializability; internal inconsistency snapshot isolation and serializability; any
variant needing ``realtime`` or ``process`` edges only strict serializability.

>>> ruled_out("G-single")
('strict-serializable', 'serializable', 'snapshot-isolation', 'repeatable-read')
>>> ruled_out("G2-item-realtime")
('strict-serializable',)
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, NamedTuple

WW, WR, RW, REALTIME, PROCESS = "ww", "wr", "rw", "realtime", "process"
DATA_TYPES = frozenset({WW, WR, RW})

STRICT_SERIALIZABLE = "strict-serializable"
SERIALIZABLE = "serializable"
SNAPSHOT_ISOLATION = "snapshot-isolation"
REPEATABLE_READ = "repeatable-read"
READ_COMMITTED = "read-committed"
READ_UNCOMMITTED = "read-uncommitted"
MODELS = (STRICT_SERIALIZABLE, SERIALIZABLE, SNAPSHOT_ISOLATION, REPEATABLE_READ, READ_COMMITTED,
          READ_UNCOMMITTED)
"""The models the checker knows, strongest first (snapshot isolation and repeatable read are
incomparable: each allows an anomaly the other forbids)."""

_ALL = MODELS
_READ_COMMITTED_UP = MODELS[:5]
_RULED_OUT: dict[str, tuple[str, ...]] = {
    "G0": _ALL,
    "duplicate-elements": _ALL,  # Elle: PL-1 (a list's versions hold each element once)
    "garbage-read": _ALL,  # a value nobody wrote: no isolation level allows it
    "G1a": _READ_COMMITTED_UP,
    "G1b": _READ_COMMITTED_UP,
    "G1c": _READ_COMMITTED_UP,
    "incompatible-order": _READ_COMMITTED_UP,  # Elle: implies G1a
    "G-single": MODELS[:4],  # G-single is also G2-item (Adya: one or more anti-dependencies)
    "lost-update": MODELS[:4],  # Adya P4; Elle: implies G2-item
    "G2-item": (STRICT_SERIALIZABLE, SERIALIZABLE, REPEATABLE_READ),
    "internal": (STRICT_SERIALIZABLE, SERIALIZABLE, SNAPSHOT_ISOLATION),  # Elle: Cerone's INT axiom
    "cycle-exists": (STRICT_SERIALIZABLE,),
    "missing-element": (STRICT_SERIALIZABLE,),  # real time: a read begun after an append misses it
}
CYCLE_KINDS = ("G0", "G1c", "G-single", "G2-item")
"""The cycle anomalies, by their data edges; each also comes as ``-process`` and ``-realtime``."""


def ruled_out(kind: str) -> tuple[str, ...]:
    """The models (strongest first) that an anomaly of ``kind`` rules out."""
    if kind.endswith(("-realtime", "-process")):
        return (STRICT_SERIALIZABLE,)
    return _RULED_OUT[kind]


class Dependency(NamedTuple):
    """Why the source transaction comes before the target: one edge label of the graph.

    (A named tuple, not a dataclass: a check makes one or two per micro-operation, and a tuple is
    made in a third of the time.)

    ``type`` is ``ww``, ``wr``, ``rw``, ``realtime`` or ``process``.  For the data types, ``key``
    and two values: ``ww`` -- the source's version ``value`` came right before the target's
    ``next``; ``wr`` -- the target read ``value``, the source's write; ``rw`` -- the source read
    ``value`` (``None``: the key before any write) and the target wrote ``next``, a later version.
    ``assumed`` marks a version order inferred from a transaction that read one value of a key and
    then wrote another (rw-register): sound for read committed and stronger only (see
    :mod:`redlin.cycles.infer`).  For ``process`` edges, ``key`` is the client.
    """

    type: str
    key: Hashable = None
    value: Any = None
    next: Any = None
    assumed: bool = False


Step = tuple[int, int, Dependency]
"""One step of a cycle: (source transaction, target transaction, why)."""


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One anomaly: its ``kind``, the ``transactions`` involved (indexes), and its evidence.

    For a cycle, ``steps`` go round it.  Otherwise ``key`` and ``values`` are the facts, by kind:
    ``G1a`` -- (value, writer) read from a failed writer; ``G1b`` -- (value, writer's final value);
    ``garbage-read`` -- (value,); ``duplicate-elements`` -- (the read list,); ``incompatible-order``
    -- (one read, the other); ``internal`` -- (expected, read) where expected is ``None`` when only
    the read's tail is known (the transaction's own appends); ``lost-update`` -- (the version both
    read,).  ``models`` are those it rules out, strongest first.
    """

    kind: str
    transactions: tuple[int, ...]
    models: tuple[str, ...]
    steps: tuple[Step, ...] = ()
    key: Hashable = None
    values: tuple[Any, ...] = ()


def anomaly(kind: str, transactions: tuple[int, ...], key: Hashable = None, values: tuple[Any, ...] = ()
            ) -> Anomaly:
    """An anomaly that is not a cycle, with the models it rules out."""
    return Anomaly(kind, transactions, ruled_out(kind), (), key, values)
