"""The pressure engine on a Dask cluster: clients on several machines, recorded into one history.

``redlin run --engine async --dask tcp://HOST:8786`` runs the pressure engine's workers
(:func:`~redlin.harness.pressure_clients.work`) as tasks on the cluster's workers, one task per Dask
worker (a worker process; its asyncio loop carries many clients, so worker threads would add
nothing), each pinned to its worker.  redlin must be installed on the workers, and the target must
be reachable from them at the address this process was given (``--target redis://127.0.0.1:...``
or the embedded server reaches only workers on this machine).

Time
----
Each worker records with its own ``time.monotonic_ns()``.  Before recording, and again after, this
process asks every worker for its clock a few times (Dask's ``Client.run``) and bounds the offset
between the two clocks by the tightest round trip; the recording is assumed to lie in the hull of
both bounds, and every invocation is moved as early and every completion as late as that bound
allows (:mod:`redlin.harness.clocks`).  The widened intervals contain the true ones, so the check
stays sound: a violation it finds is real, and a linearizable run is linearizable; but operations
of different machines closer in time than the widening look concurrent, so a violation that needs
them ordered is missed.  Each worker's offset and uncertainty are in the history's meta line
(``dask_workers``) and in the run's notes; on one machine the offset comes out near 0 and the
uncertainty near half Dask's round trip (about a millisecond through the scheduler).  Clocks that
step or drift back and forth during the run are not bounded (see :mod:`redlin.harness.clocks`).

The workers start together: each task, once ready, waits for the word go, then for the run's start
(a time of this process, put on its clock by its offset), so the start-up of tasks (a worker's
first connection back to the scheduler) is not counted; a task not ready within
:data:`READY_TIMEOUT` seconds is given up (its worker counts as lost).

Gathering, and what a crash loses
---------------------------------
A worker writes its events to a file of its own on its machine (in its temporary folder, named in
the run's notes), exactly as a local worker writes the shared history: an invocation is in the file
before its command is sent.  When every task has ended, this process reads each file in pieces,
moves its times onto its own timeline, and appends the lines to ``history.jsonl`` (meta line
first; the lines of one worker after another, which the loader does not mind); then every epoch
is checked (:func:`~redlin.harness.pressure.check_recorded`) -- after the
recording, not while it goes on as without ``--dask`` -- and the workers' files are removed.
``<history>.dask.json``, written before the tasks start and removed at the end, names every
worker's machine and file, and the Dask event (``stop_event``) that stops the tasks.

- A crash of this process (``kill -9``) loses nothing recorded: the tasks run to their end
  (``--duration``/``--ops``, or until ``stop_event`` is set; a task still waiting for the word go
  gives up after :data:`READY_TIMEOUT` seconds) and their files stay on the workers' machines,
  named in ``<history>.dask.json``.  ``history.jsonl`` may be missing or partly written, and
  the files' times are on the workers' clocks: the JSON file holds each offset's bound measured
  before the run, which a second measurement must widen (:func:`~redlin.harness.clocks.clock_map`)
  before the files are put on one timeline; redlin does not do that part for you.
- A worker that dies (or whose task fails) keeps what it recorded in its file, if its machine
  lives, but the history lacks its operations: a read of a value it wrote would look like a
  violation, so a run with a lost worker (or a file that could not be gathered) is not checked
  (its verdict is unknown) and the notes say where the worker's file is.
- Ctrl-C sets a Dask event the tasks poll twice a second: they end their operations in flight,
  and what was recorded is gathered and checked.

>>> local_file("/tmp", b"redlin:20260101-abc:", 2, "5f3a")
'/tmp/redlin-pressure-20260101-abc-5f3a-w2.jsonl'
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, cast

from redlin.errors import UsageError
from redlin.harness.clocks import ClockMap, Sample, clock_map, measure, shift_line
from redlin.harness.interrupts import checkpoint
from redlin.harness.pressure import PressureRecording, PressureWorkload, check_recorded
from redlin.harness.pressure_check import EpochCheck
from redlin.harness.pressure_clients import WorkerReport, WorkerSpec, work
from redlin.harness.target import Target
from redlin.history.jsonl import HistoryWriter
from redlin.search.distributed import CONNECT_SECONDS, DASK_MISSING, lazy_module

__all__ = ["DaskRecording", "WorkerClock", "local_file", "record_pressure_dask"]

_distributed = lazy_module("distributed")

CLOCK_ROUNDS: Final = 7
"""Round trips asked of each worker's clock, before and after recording (the tightest is kept)."""
START_LEAD: Final = 0.2
"""Seconds from the word go (every task ready) to the run's start: the time the word takes to arrive."""
READY_TIMEOUT: Final = 60.0
"""Seconds the tasks have to get ready (a worker busy with other tasks may start them late)."""
PIECE: Final = 16 << 20
"""Bytes of a worker's file read at once while gathering."""
STOP_POLL: Final = 0.5
"""Seconds between two looks of a task at the run's stop event."""
POLL: Final = 0.1
"""Seconds between two looks of this process at its tasks."""
WATCH: Final = 1.0
"""Seconds between two looks of this process at which workers are still in the cluster."""


@dataclass(frozen=True, slots=True)
class WorkerClock:
    """One Dask worker of the run: its address and machine, its file there, its clock bounds."""

    index: int
    address: str
    host: str
    path: str
    before: Sample
    after: Sample | None = None

    @property
    def clocks(self) -> ClockMap:
        return clock_map(self.before, self.after)

    def facts(self) -> dict[str, Any]:
        """What the meta line says of this worker."""
        drift = None if self.after is None else abs(sum(self.after.bound()) - sum(self.before.bound())) // 2
        return {"index": self.index, "address": self.address, "host": self.host, "path": self.path,
                "round_trip_ns": [self.before.round_trip, None if self.after is None else self.after.round_trip],
                "drift_ns": drift, **self.clocks.facts()}

    def note(self) -> str:
        clocks = self.clocks
        return (f"dask worker {self.index} at {self.address} ({self.host}): clock offset {clocks.offset:,} ns "
                f"± {clocks.uncertainty:,} ns, its intervals widened by that; recorded into {self.host}:{self.path}")


@dataclass(frozen=True, slots=True)
class DaskRecording:
    """A recording on a Dask cluster: what :func:`~redlin.harness.pressure.record_pressure` says,
    and the workers' clocks and notes."""

    recording: PressureRecording
    workers: tuple[WorkerClock, ...]
    notes: tuple[str, ...]


def local_file(folder: str, prefix: bytes, index: int, token: str) -> str:
    """The file worker ``index`` of the run with keys under ``prefix`` records into, in ``folder``
    (``token`` makes it new even if a run of the same prefix left its own)."""
    tag = re.sub(r"[^A-Za-z0-9_.-]+", "-", prefix.decode("utf-8", "replace")).strip("-")
    tag = tag.removeprefix("redlin-")
    return os.path.join(folder, f"redlin-pressure-{tag}-{token}-w{index}.jsonl")


# ----------------------------------------------------------------------------- on a worker


def where() -> tuple[str, str]:
    """This machine's name and temporary folder."""
    return socket.gethostname(), tempfile.gettempdir()


def read_piece(path: str, offset: int, size: int) -> bytes:
    """``size`` bytes of the file at ``path`` from ``offset``."""
    with open(path, "rb") as file:
        file.seek(offset)
        return file.read(size)


def remove_file(path: str) -> None:
    Path(path).unlink(missing_ok=True)


def record_on_worker(spec: WorkerSpec, offset: int, name: str) -> WorkerReport:
    """A Dask task: record one worker's share into the new file ``spec.path``, until the run's end or
    the Dask event ``<name>-stop``.  Once ready it sets ``<name>-ready-<index>`` and waits for
    ``<name>-go``; the run then starts at the parent time in the variable ``<name>-start``, which
    ``offset`` (the parent's clock minus this machine's) puts on this machine's clock."""
    assert _distributed is not None
    Path(spec.path).parent.mkdir(parents=True, exist_ok=True)
    with open(spec.path, "xb"):
        pass  # new and empty: the worker appends to it
    stop, done = threading.Event(), threading.Event()
    client = _distributed.get_client()  # the worker's, named to the thread (it knows no task context)
    poller = threading.Thread(target=_poll, args=(client, f"{name}-stop", stop, done), name="redlin-stop-poll",
                              daemon=True)
    poller.start()
    try:
        _distributed.Event(f"{name}-ready-{spec.index}", client=client).set()
        go, given_up = _distributed.Event(f"{name}-go", client=client), time.monotonic() + READY_TIMEOUT
        while not go.wait(STOP_POLL) and not stop.is_set():
            if time.monotonic() > given_up:  # the parent is gone, or gave this task up
                stop.set()
        started = time.monotonic_ns()
        if not stop.is_set():
            started = int(_distributed.Variable(f"{name}-start", client=client).get(timeout=READY_TIMEOUT)) - offset
        stop.wait(max(0.0, (started - time.monotonic_ns()) / 1e9))
        return work(replace(spec, started_ns=started), cast(Any, stop))  # it only asks is_set()
    finally:
        done.set()


def _poll(client: Any, name: str, stop: threading.Event, done: threading.Event) -> None:
    """Set ``stop`` when the Dask event ``name`` is set, until ``done``."""
    assert _distributed is not None
    event = _distributed.Event(name, client=client)
    while not done.is_set():
        try:
            if event.wait(STOP_POLL):
                stop.set()
                return
        except Exception:  # noqa: BLE001 - the scheduler went away: the run ends at its own limit
            return


# ----------------------------------------------------------------------------- in this process


def record_pressure_dask(target: Target, path: str | os.PathLike[str], workload: PressureWorkload, prefix: bytes, *,
                         address: str, meta: dict[str, Any] | None = None, time_limit: float | None = None,
                         on_check: Callable[[EpochCheck], None] | None = None) -> DaskRecording:
    """Record ``workload`` against ``target`` on the Dask cluster at ``address`` into the history file
    ``path`` (see the module docstring), then check it epoch by epoch (``time_limit`` seconds each).

    A one-line :class:`~redlin.errors.UsageError` naming ``--dask`` when Dask is not installed or the
    scheduler cannot be reached; ``RuntimeError`` when a task failed with a bug.
    """
    if _distributed is None:
        raise UsageError(DASK_MISSING)
    if target.tls:
        raise UsageError("--engine async speaks plain TCP: use redis:// (or the default engine for rediss://)")
    path = Path(path)
    client = _connect(address)
    try:
        return _record(client, target, path, workload, prefix, meta or {}, time_limit, on_check)
    finally:
        client.close()


def _connect(address: str) -> Any:
    assert _distributed is not None
    try:
        return _distributed.Client(address, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError, ValueError) as error:
        raise UsageError(f"--dask: cannot reach the Dask scheduler at {address}: {error}") from None


def _workers(client: Any) -> set[str]:
    """The addresses of the cluster's workers now.  (Not ``Client.scheduler_info()``: the client's
    periodic refresh may replace what it fetched with totals that list no worker.)"""
    return set(client.sync(client.scheduler.identity, n_workers=-1)["workers"])


def _clock(client: Any, worker: str) -> Sample:
    return measure(time.monotonic_ns, lambda: int(client.run(time.monotonic_ns, workers=[worker])[worker]),
                   rounds=CLOCK_ROUNDS)


def _record(client: Any, target: Target, path: Path, workload: PressureWorkload, prefix: bytes, meta: dict[str, Any],
            time_limit: float | None, on_check: Callable[[EpochCheck], None] | None) -> DaskRecording:
    assert _distributed is not None
    addresses = sorted(_workers(client))
    if not addresses:
        raise UsageError(f"--dask: the Dask cluster at {client.scheduler.address} has no workers")
    count = min(len(addresses), workload.clients, workload.processes or len(addresses))
    addresses = addresses[:count]
    workers, token = [], secrets.token_hex(4)
    for index, address in enumerate(addresses):
        host, folder = client.run(where, workers=[address])[address]
        workers.append(WorkerClock(index, address, host, local_file(folder, prefix, index, token), _clock(client, address)))
    name = f"redlin-pressure-{prefix.decode('utf-8', 'replace')}{token}"
    sidecar = Path(f"{path}.dask.json")
    sidecar.write_text(json.dumps({"history": str(path), "scheduler": client.scheduler.address, "stop_event": f"{name}-stop",
                                   "workers": [w.facts() for w in workers]}, indent=1) + "\n")
    stop = _distributed.Event(f"{name}-stop", client=client)
    futures = {}
    for worker in workers:
        futures[client.submit(record_on_worker, _spec(worker, count, target, prefix, workload), worker.clocks.offset,
                              name, key=f"{name}-{worker.index}", workers=[worker.address],
                              allow_other_workers=False, pure=False)] = worker
    interrupted = False
    lost: dict[int, str] = {}
    started_ns = time.monotonic_ns()
    try:
        _wait(client, futures, lost, ready=name)
        started_ns = time.monotonic_ns() + int(START_LEAD * 1e9)  # every task is ready: go
        _distributed.Variable(f"{name}-start", client=client).set(started_ns)
        _distributed.Event(f"{name}-go", client=client).set()
        _wait(client, futures, lost)
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
        _wait(client, futures, lost)
    elapsed = (time.monotonic_ns() - started_ns) / 1e9
    reports: dict[int, WorkerReport] = {}
    problems: list[str] = []
    for future, worker in futures.items():
        if worker.index in lost:
            continue
        if future.status != "finished":
            lost[worker.index] = f"its task failed: {future.exception()!r}"
            continue
        reports[worker.index] = future.result()
    for index, why in sorted(lost.items()):
        worker = workers[index]
        problems.append(f"dask worker {index} at {worker.address} was lost ({why}): what it recorded stays in "
                        f"{worker.host}:{worker.path}; the run is not checked without its operations")
    failures = [report.failure for report in reports.values() if report.failure is not None]
    if failures:
        raise RuntimeError(f"a worker of the pressure engine failed: {failures[0]}")
    workers = [w if w.index in lost else replace(w, after=_clock(client, w.address)) for w in workers]
    facts = {**meta, "prefix": prefix.decode("utf-8", "replace"), "time_origin": started_ns,
             "dask": client.scheduler.address, "dask_workers": [w.facts() for w in workers]}
    with HistoryWriter(path, model="redis", **facts):
        pass  # the meta line, then each worker's lines
    for worker in workers:
        if worker.index not in lost:
            try:
                _gather(client, worker, path)
            except (OSError, ValueError, KeyError, TimeoutError) as error:  # the worker went away meanwhile
                lost[worker.index] = f"its file could not be gathered: {error}"
                problems.append(f"dask worker {worker.index} at {worker.address} was lost ({lost[worker.index]}): "
                                f"what it recorded stays in {worker.host}:{worker.path}, part of it in the history; "
                                "the run is not checked")
    with open(path, "rb") as file:
        os.fsync(file.fileno())
    for worker in workers:
        if worker.index not in lost:
            client.run(remove_file, worker.path, workers=[worker.address])
    sidecar.unlink(missing_ok=True)
    checks: tuple[EpochCheck, ...] = ()
    cpu, failed = 0.0, None
    if not lost:
        checks, cpu, failed = check_recorded(path, workload, time_limit=time_limit, on_check=on_check)
        if failed is not None:
            problems.append(failed)
    for report in reports.values():
        problems += report.problems
    rejected: dict[str, int] = {}
    for report in reports.values():
        for code, number in report.rejected.items():
            rejected[code] = rejected.get(code, 0) + number
    operations = sum(c.operations for c in checks) if checks else sum(r.operations for r in reports.values())
    indeterminate = sum(c.indeterminate for c in checks) if checks else sum(r.indeterminate for r in reports.values())
    recording = PressureRecording(path, operations, indeterminate, sum(r.reconnects for r in reports.values()),
                                  elapsed, count, tuple(problems), rejected, interrupted, checks,
                                  (time.monotonic_ns() - started_ns) / 1e9,
                                  cpu + sum(r.cpu for r in reports.values()),
                                  tuple(sorted({r.loop for r in reports.values()})),
                                  tuple(sorted({r.niceness for r in reports.values()})), checker_failed=failed is not None)
    return DaskRecording(recording, tuple(workers), tuple(w.note() for w in workers))


def _spec(worker: WorkerClock, count: int, target: Target, prefix: bytes, workload: PressureWorkload) -> WorkerSpec:
    """What worker ``worker.index`` of ``count`` records (its share of the clients and operations)."""
    index = worker.index
    clients = workload.clients // count + (index < workload.clients % count)
    ops = None if workload.ops is None else workload.ops // count + (index < workload.ops % count)
    return WorkerSpec(index=index, workers=count, host=target.host, port=target.port, path=worker.path, prefix=prefix,
                      clients=clients, keys=workload.epoch_keys, pipeline=workload.pipeline, read_share=workload.read_share,
                      timeout=workload.timeout,
                      duration_ns=int(workload.duration * 1e9) if workload.duration is not None else 0, ops=ops,
                      seed=workload.seed, epoch_ns=int(workload.epoch * 1e9),
                      password=target.password, username=target.username, db=target.db,
                      workload=workload.workload, loop=workload.loop, profile=workload.profile)


def _wait(client: Any, futures: dict[Any, WorkerClock], lost: dict[int, str], *, ready: str | None = None) -> None:
    """Until every task has ended (with ``ready``: is ready, see :func:`record_on_worker`) or lost its
    worker; the workers lost are added to ``lost``, with why."""
    assert _distributed is not None
    pending = {future for future in futures if futures[future].index not in lost}
    looked = started = time.monotonic()
    while pending:
        checkpoint()  # Ctrl-C: KeyboardInterrupt here
        time.sleep(POLL)
        pending = {future for future in pending if not future.done() and (ready is None or not _distributed.Event(
            f"{ready}-ready-{futures[future].index}", client=client).is_set())}
        if ready is not None and time.monotonic() - started > READY_TIMEOUT:
            for future in pending:
                lost[futures[future].index] = f"its task did not start in {READY_TIMEOUT:g} s"
                future.cancel()
            break
        if time.monotonic() - looked >= WATCH:
            looked = time.monotonic()
            present = _workers(client)
            for future in list(pending):
                if futures[future].address not in present:
                    lost[futures[future].index] = "it left the cluster"
                    pending.discard(future)
                    future.cancel()


def _gather(client: Any, worker: WorkerClock, path: Path) -> None:
    """Append worker's events to the history at ``path``, their times on this process's clock."""
    clocks, offset, rest = worker.clocks, 0, b""
    with open(path, "ab") as out:
        while True:
            piece = client.run(read_piece, worker.path, offset, PIECE, workers=[worker.address])[worker.address]
            if not piece:
                break
            offset += len(piece)
            data = rest + piece
            cut = data.rfind(b"\n") + 1
            rest = data[cut:]
            text = data[:cut].decode("utf-8")
            out.write("".join(shift_line(line, clocks) for line in text.splitlines(keepends=True)).encode("utf-8"))
