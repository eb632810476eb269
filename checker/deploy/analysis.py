"""Lost acknowledged writes, ``WAIT`` and the faults that explain them.

Redis replicates asynchronously: a write the primary acknowledged can still be lost when the
primary dies before a replica got it and that replica is promoted, or when a primary without
persistence restarts empty and its replicas resync from it.  This module finds such writes the
way Jepsen's set workload does: every ``RPUSH`` adds a unique element, and the final reads after
healing (clients named ``final-...``) list what survived; an element whose ``RPUSH`` got a reply
and that the final read of its list lacks is lost.

Each lost write is reported with the time it was acknowledged, the fault that lost it (one under
way then, as a failover that has promoted a replica while the old primary still takes writes; else
the first that began after it: a write is lost by something that happens after its
acknowledgement), and what ``WAIT`` answered for it, if the run sent one: ``WAIT`` narrows the
window, it does not close it (a failover may still promote a replica that had not got the write).

>>> from redlin.history.records import History, Operation
>>> push = Operation(0, 1, ((b"RPUSH", b"k", b"a"),), (1,), 10, 20)
>>> final = Operation(1, "final-0", ((b"LRANGE", b"k", b"0", b"-1"),), ((),), 90, 95)
>>> [(w.key, w.element, w.op) for w in lost_writes(History((push, final)))]
[(b'k', b'a', 0)]
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redlin.deploy.faults import FaultEvent
from redlin.deploy.record import FINAL_CLIENT
from redlin.history.records import History, Operation, Outcome
from redlin.search.model import Model
from redlin.search.result import Violation


@dataclass(frozen=True)
class LostWrite:
    """One acknowledged ``RPUSH`` whose element the final read lacks."""

    key: bytes
    element: bytes
    op: int
    acknowledged: int
    """When the reply arrived (the client's monotonic clock, ns)."""
    fault: FaultEvent | None = None
    """The fault under way at the acknowledgement, else the first that began after it, if any."""
    wait: int | None = None
    """How many replicas ``WAIT`` said had the write, if one was sent."""

    def to_json(self, origin: int) -> dict[str, Any]:
        return {"key": self.key.decode(errors="replace"), "element": self.element.decode(errors="replace"),
                "op": self.op, "acknowledged_ms": round((self.acknowledged - origin) / 1e6, 3),
                "fault": None if self.fault is None else describe_fault(self.fault, origin), "wait": self.wait}


def _final(op: Operation) -> bool:
    return isinstance(op.client, str) and op.client.startswith(FINAL_CLIENT)


def _pushes(op: Operation) -> Iterable[tuple[bytes, bytes]]:
    """The (key, element) pairs an acknowledged operation added (a transaction's too)."""
    if op.outcome is not Outcome.OK or op.complete is None:
        return
    if op.call[0] == (b"MULTI",) and not isinstance(op.result[-1], tuple):
        return  # EXEC answered nil or an error: the queued commands did not run
    for command in op.call:
        if command[0].upper() == b"RPUSH":
            for element in command[2:]:
                yield command[1], element


APPEND_ONLY = frozenset({b"RPUSH", b"LRANGE", b"MULTI", b"EXEC"})
"""Commands that never take an element out of a list: a part made only of these is append-only."""


def append_only_violation(history: History, model: Model[Any]) -> tuple[Violation, tuple[int, int]] | None:
    """A sound shortcut for the checker: in a part of ``model.partition`` made only of ``RPUSH`` and
    ``LRANGE`` (in transactions or not), an element whose ``RPUSH`` was acknowledged before an
    ``LRANGE`` of its list was invoked must be in that read's reply (real time puts the push first,
    and nothing in the part removes elements).  The first read that lacks one is a violation that
    needs no search; the search of such a part, with many indeterminate pushes, can run out of
    budget first.  Returns the violation and its counterexample, the push and the read (two
    operations that are not linearizable on their own), or ``None`` if there is no such read."""
    started = time.monotonic()
    parts = model.partition(list(history)) if model.partition is not None else [list(history)]
    for part in parts:
        if any(command[0].upper() not in APPEND_ONLY for op in part if op.outcome is not Outcome.FAIL
               for command in op.call):
            continue
        pushed = sorted(((op.complete, key, element, op.id) for op in part if op.complete is not None
                         for key, element in _pushes(op)), key=lambda entry: entry[0])
        for op in sorted(part, key=lambda op: op.invoke):
            push = _missing_from_read(op, pushed)
            if push is not None:
                violation = Violation(tuple(sorted(item.id for item in part)), op.id, (), 0, time.monotonic() - started)
                return violation, (push, op.id)
    return None


def _missing_from_read(op: Operation, pushed: list[tuple[int, bytes, bytes, int]]) -> int | None:
    """The push of an element acknowledged before ``op`` began that ``op``, a read, lacks."""
    if op.outcome is not Outcome.OK:
        return None
    replies = op.result[-1] if op.call[0] == (b"MULTI",) else op.result
    if not isinstance(replies, tuple):
        return None
    reads = [command for command in op.call if command[0].upper() == b"LRANGE"]
    for command, reply in zip(reads, replies, strict=False):
        if not isinstance(reply, tuple) or command[2:] != (b"0", b"-1"):
            continue
        present = set(reply)
        for done, key, element, push in pushed:
            if done < op.invoke and key == command[1] and element not in present:
                return push
    return None


def final_lists(history: History) -> dict[bytes, set[bytes]]:
    """What the final reads found in each list (the last successful read of each)."""
    found: dict[bytes, set[bytes]] = {}
    for op in history:
        if not _final(op) or op.outcome is not Outcome.OK:
            continue
        replies = op.result[-1] if op.call[0] == (b"MULTI",) else op.result
        reads = [command for command in op.call if command[0] == b"LRANGE"]
        for command, reply in zip(reads, replies if isinstance(replies, tuple) else (), strict=False):
            if isinstance(reply, tuple):
                found[command[1]] = set(reply)
    return found


def lost_writes(history: History, faults: Sequence[FaultEvent] = (), waits: dict[int, int] | None = None) -> list[LostWrite]:
    """Every acknowledged ``RPUSH`` element missing from its list's final read, in acknowledgement
    order; a list the final reads never got is not judged."""
    final = final_lists(history)
    lost = []
    for op in history:
        if _final(op):
            continue
        for key, element in _pushes(op):
            if key in final and element not in final[key]:
                assert op.complete is not None
                lost.append(LostWrite(key, element, op.id, op.complete, _losing_fault(faults, op.complete),
                                      (waits or {}).get(op.id)))
    return sorted(lost, key=lambda write: write.acknowledged)


def _losing_fault(faults: Sequence[FaultEvent], acknowledged: int) -> FaultEvent | None:
    """The fault that lost a write acknowledged at ``acknowledged``: one under way then (a write the
    old primary took after a failover began), else the first that began after it."""
    ordered = sorted(faults, key=lambda fault: fault.start)
    during = [fault for fault in ordered if fault.covers(acknowledged)]
    return during[-1] if during else next((fault for fault in ordered if fault.start >= acknowledged), None)


def acknowledged_pushes(history: History) -> int:
    """How many acknowledged ``RPUSH`` elements the run wrote (the lost ones' denominator)."""
    return sum(1 for op in history if not _final(op) for _ in _pushes(op))


def read_waits(path: Path) -> dict[int, int]:
    """``op -> replicas`` from a :data:`~redlin.deploy.record.WAITS_FILE` (empty if there is none)."""
    if not path.exists():
        return {}
    waits = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            waits[int(entry["op"])] = int(entry["replicas"])
    return waits


def describe_fault(fault: FaultEvent, origin: int) -> str:
    """``kill of node0 (port 10234) at 3,200.1 ms, healed at 4,400 ms`` (times from ``origin``)."""
    where = f"{fault.target} (port {fault.port})" if fault.port else fault.target or "the deployment"
    text = f"{fault.kind} of {where} at {(fault.start - origin) / 1e6:,.1f} ms"
    if fault.end is not None:
        text += f", healed at {(fault.end - origin) / 1e6:,.1f} ms"
    error = fault.detail.get("error")
    return text + (f" ({error})" if error else "")


def fault_before(faults: Sequence[FaultEvent], time_ns: int) -> FaultEvent | None:
    """The latest fault that began at or before ``time_ns``."""
    earlier = [fault for fault in faults if fault.start <= time_ns]
    return max(earlier, key=lambda fault: fault.start) if earlier else None


def wait_summary(lost: Sequence[LostWrite], waits: dict[int, int], numreplicas: int) -> str:
    """What ``WAIT`` said about the writes, honestly: how many lost writes it had confirmed."""
    if not waits:
        return ""
    confirmed = [write for write in lost if write.wait is not None and write.wait >= numreplicas]
    answered = sum(1 for replicas in waits.values() if replicas >= numreplicas)
    text = (f"WAIT {numreplicas} confirmed {answered:,} of {len(waits):,} acknowledged writes on at least "
            f"{numreplicas} replica{'s' if numreplicas != 1 else ''}")
    if lost:
        text += (f"; {len(confirmed)} of the {len(lost)} lost writes were among them. WAIT narrows the window "
                 "for losing a write, it does not close it: replication stays asynchronous, and a failover or a "
                 "primary restarted without persistence can still drop a confirmed write")
    return text + "."
