"""What a worker process of the pressure engine is told (:class:`WorkerSpec`) and what it reports
(:class:`WorkerReport`), and the keys its clients write (:func:`epoch_key`).

Both records are pickled between the parent (:mod:`redlin.harness.pressure`, or a Dask task in
:mod:`redlin.harness.pressure_dask`) and a worker (:func:`redlin.harness.pressure_clients.work`).

>>> spec = WorkerSpec(index=0, workers=1, host="127.0.0.1", port=6379, path="h.jsonl", prefix=b"redlin:r:",
...                   clients=8, keys=16, pipeline=1, read_share=0.5, timeout=1.0, duration_ns=0, ops=100, seed=0)
>>> spec.reconnect_time == RECONNECT_TIME, spec.workload, epoch_key(spec.prefix, 0, 3)
(True, 'register', b'redlin:r:e0:k3')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

__all__ = ["RECONNECT_TIME", "Ids", "WorkerReport", "WorkerSpec", "epoch_key"]

RECONNECT_TIME: Final = 5.0
"""Seconds a client keeps trying to reconnect before it stops."""


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What one worker process does (it is pickled to the process)."""

    index: int
    workers: int
    host: str
    port: int
    path: str
    """The run's history file (its meta line already written): events are appended."""
    prefix: bytes
    clients: int
    keys: int
    pipeline: int
    read_share: float
    timeout: float
    duration_ns: int
    """Stop issuing commands this long after the start (0: no time limit)."""
    ops: int | None
    """Stop after this many operations of this worker (``None``: no count limit)."""
    seed: int
    started_ns: int = 0
    """When the run started (``time.monotonic_ns()``): epochs and the duration count from it (set
    by :func:`~redlin.harness.pressure_clients.work` when the parent says go, after the clients' connections are open)."""
    epoch_ns: int = 0
    """Length of an epoch after the short first ones (:mod:`redlin.harness.pressure_epochs`): a
    client's commands go to the keys of the epoch they are invoked in, ``<prefix>e<epoch>:k<n>``, so
    that an epoch's operations can be checked once it is over, while the next ones are recorded (0:
    one epoch)."""
    password: str | None = field(default=None, repr=False)
    username: str | None = None
    db: int = 0
    reconnect_time: float = RECONNECT_TIME
    loop: str = "auto"
    """The event loop (:data:`~redlin.harness.pressure_clients.EVENT_LOOPS`; resolved in the worker's process by :func:`~redlin.harness.pressure_clients.event_loop`)."""
    niceness: int = 0
    """Added to the process's niceness before the worker starts (0: left as it is).  The local
    engine's workers yield the CPU to its checker and to the server
    (:data:`~redlin.harness.pressure.WORKER_NICENESS`); a Dask worker's process is the cluster's,
    and left alone."""
    workload: str = "register"
    """A name of :data:`~redlin.harness.pressure_workloads.WORKLOADS`."""
    profile: str = "redis-7.0"
    """The version the target is checked as (:data:`redlin.model.PROFILES`): ``generated`` draws no
    command that version's model leaves out."""


@dataclass(frozen=True, slots=True)
class WorkerReport:
    """What a worker did: operations recorded, of which indeterminate, connections lost, problems."""

    index: int
    operations: int
    indeterminate: int
    reconnects: int
    problems: tuple[str, ...]
    rejected: dict[str, int]
    cpu: float = 0.0
    """CPU seconds the worker process used (user and system)."""
    failure: str | None = None
    """A bug that stopped the worker (a command the guard refused), if one did."""
    loop: str = "asyncio"
    """The event loop the worker ran (``uvloop`` or ``asyncio``)."""
    niceness: int = 0
    """The process's niceness, as the system read it when the worker ended."""


def epoch_key(prefix: bytes, epoch: int, number: int) -> bytes:
    """Key ``number`` of ``epoch`` under ``prefix``.

    >>> epoch_key(b"redlin:r:", 3, 7)
    b'redlin:r:e3:k7'
    """
    return prefix + b"e%d:k%d" % (epoch, number)


class Ids:
    """Operation and client ids of worker ``index`` of ``workers``, unique over all workers: worker
    ``w`` of ``n`` numbers operations ``w, w + n, w + 2n, ...`` and clients from ``w + 1``.

    >>> [Ids(1, 2).next_client() for _ in range(2)]
    [2, 2]
    >>> ids = Ids(1, 2); ids.next_client(), ids.next_client(), ids.next_op(), ids.next_op()
    (2, 4, 1, 3)
    """

    def __init__(self, index: int, workers: int) -> None:
        self.step = workers
        self.op = index - workers
        self.client = index + 1 - workers

    def next_op(self) -> int:
        self.op += self.step
        return self.op

    def next_client(self) -> int:
        self.client += self.step
        return self.client
