"""The pressure engine: record a workload at the speed the server can serve, then check it.

``redlin run --engine async`` (and :func:`record_pressure` / :func:`check_pressure` from Python)
drives ``clients`` connections from one or several worker processes
(:mod:`redlin.harness.pressure_clients`, an event loop each: uvloop's where installed), every
client in a closed loop of writes and reads -- ``SET k v`` with a value unique to the client and its sequence number, or
``INCR k``, or two ``INCR k`` in one MULTI block or one script (each one operation:
:mod:`redlin.harness.pressure_workloads`), and ``GET k``, or commands drawn from the grammar of the
whole model (:mod:`redlin.harness.pressure_generated`) -- on a few keys under the run's prefix,
for a duration or a number of operations.  There are no programs and no barrier: the server is
kept busy for the whole run.

One history file
----------------
The parent writes the meta line of ``history.jsonl``; each worker then appends its events to the
same file, a turn of its event loop at a time, with ``O_APPEND`` (lines of two workers never mix
inside a line).  A worker sends a command only after its invocation is in the file, so a crash of a
worker or of the whole run (``kill -9``) loses at most the completions of its last turn: those
operations read back as indeterminate, which never invents a violation, and nothing that reached
the server is missing.  Ctrl-C stops the workers through an event; they finish the operations in
flight and the history is checked.  A worker that dies leaves its operations in flight without a
completion: indeterminate as well.

Time
----
Invocation and completion times are ``time.monotonic_ns()`` (Linux's ``CLOCK_MONOTONIC``), which
every process of one machine reads alike, so the intervals of clients in different workers compare.
Workers on other machines (``--dask``: :mod:`redlin.harness.pressure_dask`) have clocks of their
own: their intervals are widened by each clock's measured uncertainty (:mod:`redlin.harness.clocks`)
and their events gathered into the history when they end, then checked by :func:`check_recorded`.

Checking
--------
The history is read back with :func:`~redlin.history.jsonl.load_history` and checked with
:func:`~redlin.search.check.check` and :func:`~redlin.adapter.redis_model.redis_model`, which
splits it by key; each key's part of the register workload is a register with unique values,
which the fast path (:mod:`redlin.search.fastpath`) decides in O(n log n); the counters' parts are
searched.  Even so, one checker process checks more slowly than the workers record, so the workers
run at :data:`WORKER_NICENESS`: the checker (and a server on this machine) take the CPU first, and
the recording fills what they leave.

>>> file_limit_needed(1000)
2256
>>> default_processes(8, cpus=2), default_processes(1000, cpus=4), default_processes(1, cpus=8)
(2, 4, 1)
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from redlin.adapter.redis_model import redis_model
from redlin.errors import UsageError
from redlin.harness.interrupts import checkpoint
from redlin.harness.pressure_check import GRACE, EpochCheck, follow
from redlin.harness.pressure_clients import WorkerReport, WorkerSpec, event_loop, work
from redlin.harness.pressure_generated import pool_keys
from redlin.harness.pressure_workloads import WORKLOAD_NAMES, WORKLOADS, epoch_keys
from redlin.harness.target import Target
from redlin.history.jsonl import HistoryWriter, load_history
from redlin.history.records import History, Outcome
from redlin.model import DEFAULT_PROFILE, PROFILES
from redlin.search.check import check
from redlin.search.result import Result

__all__ = ["WORKER_NICENESS", "PressureRecording", "PressureWorkload", "check_pressure", "check_recorded",
           "default_processes", "file_limit_needed", "raise_file_limit", "record_pressure"]

DEFAULT_KEYS: Final = 16
DEFAULT_READ_SHARE: Final = 0.5
DEFAULT_EPOCH: Final = 1.0
PRELOAD: Final = ("redlin.harness.pressure_clients", "redlin.harness.pressure_check")
"""What the fork server imports once: its children (the workers, the checker) start at once, and
as copies of a process that runs no other thread (a plain fork of a process running the embedded
server's thread could copy a lock another thread held)."""
WORKER_NICENESS: Final = 19
"""Added to each local worker process's niceness: the checker and the server run first whenever
they have work, and the workers fill the CPU they leave.  Checking is what limits a run's checked
rate (the workers record faster than one checker process checks), and at equal niceness the
workers took CPU the checker needed.  ``python bench/pressure.py --other-niceness 0`` measures
both side by side: 8 clients on uvloop recorded and checked 16,543 operations a second at 19 and
13,286 at 0, recording about as fast (17,598 and 17,281 a second)."""
JOIN_GRACE: Final = 2.0
"""Seconds past a worker's timeout the parent waits for it to end before it is stopped by force."""


@dataclass(frozen=True, slots=True)
class PressureWorkload:
    """What the pressure engine runs.

    ``duration`` seconds or ``ops`` operations over all clients (the first reached ends the run;
    at least one must be given); ``pipeline`` commands written at once per client; ``read_share``
    of the commands are ``GET``; ``processes`` worker processes (``None``: :func:`default_processes`).
    ``workload`` is what the others are (:data:`~redlin.harness.pressure_workloads.WORKLOADS`):
    ``register``, ``SET`` of unique values; ``counter``, ``INCR``; ``counter-multi``, a MULTI block
    of two ``INCR``; ``counter-script``, an ``EVAL`` of a script that runs two ``INCR``; ``counter-long``,
    a MULTI block of five ``INCR``; ``cas``, WATCH, GET and a MULTI block of SET; ``generated``, any
    modelled command or a MULTI block of them; ``pubsub``, PUBLISH read by a few subscribers
    (:mod:`redlin.harness.pressure_pubsub`); ``mixed``, all of them.  ``loop`` is the
    workers' event loop (:data:`~redlin.harness.pressure_clients.EVENT_LOOPS`).
    """

    clients: int = 8
    duration: float | None = None
    ops: int | None = None
    keys: int = DEFAULT_KEYS
    pipeline: int = 1
    read_share: float = DEFAULT_READ_SHARE
    processes: int | None = None
    timeout: float = 5.0
    seed: int = 0
    epoch: float = DEFAULT_EPOCH
    """Seconds of one epoch: the keys change every epoch, and each epoch is checked once it is over
    while later ones are recorded (:mod:`redlin.harness.pressure_check`)."""
    workload: str = "register"
    loop: str = "auto"
    profile: str = DEFAULT_PROFILE
    """The version the target is checked as (:data:`redlin.model.PROFILES`)."""

    def __post_init__(self) -> None:
        event_loop(self.loop)  # a loop that does not exist here, or uvloop missing: a UsageError now
        if self.clients < 1:
            raise UsageError(f"--clients must be at least 1, not {self.clients}")
        if self.duration is None and self.ops is None:
            raise UsageError("the pressure engine needs --duration or --ops")
        if self.keys < 1 or self.pipeline < 1:
            raise UsageError(f"keys and --pipeline must be at least 1, not {self.keys} and {self.pipeline}")
        if not 0.0 <= self.read_share <= 1.0:
            raise UsageError(f"the read share must lie between 0 and 1, not {self.read_share}")
        if self.profile not in PROFILES:
            raise UsageError(f"--profile must be one of {', '.join(PROFILES)}, not {self.profile!r}")
        if self.workload not in WORKLOADS:
            raise UsageError(f"--engine async runs --workload {WORKLOAD_NAMES} only, not {self.workload!r}")

    @property
    def epoch_keys(self) -> int:
        """The keys of an epoch: :attr:`keys`, more for ``cas`` with many clients
        (:func:`~redlin.harness.pressure_workloads.epoch_keys`)."""
        return epoch_keys(self.workload, self.keys, self.clients, self.pipeline)

    @property
    def written_keys(self) -> int:
        """The keys of an epoch the run may write: :attr:`epoch_keys`, then the pools of ``generated``
        operations (:func:`~redlin.harness.pressure_generated.pool_keys`)."""
        return self.epoch_keys + pool_keys(self.workload, self.clients, self.pipeline)


@dataclass(frozen=True, slots=True)
class PressureRecording:
    """What a recording did: the file, its operations (as checked, else as the workers counted them)
    and how many were indeterminate, the wall time of recording."""

    path: Path
    operations: int
    indeterminate: int
    reconnects: int
    elapsed: float
    processes: int
    problems: tuple[str, ...]
    rejected: dict[str, int]
    interrupted: bool = False
    checks: tuple[EpochCheck, ...] = ()
    """The latest check of each epoch (empty when not checked while recording)."""
    checked_after: float = 0.0
    """Seconds from the start until the last epoch was checked."""
    cpu: float = 0.0
    """CPU seconds the worker processes and the checker process used."""
    loops: tuple[str, ...] = ()
    """The event loops the workers ran (each once, sorted)."""
    niceness: tuple[int, ...] = ()
    """The worker processes' niceness when they ended (each value once, sorted)."""
    started_ns: int = 0
    """When the workers were told to go (``time.monotonic_ns()``): the epochs count from it."""
    found_after: tuple[int, float] | None = None
    """When checking while recording found the first violation: the operations of the epochs checked
    by then, and the seconds from the start until that check ended."""
    checker_failed: bool = False
    """The checker process ended before it had checked every epoch (it crashed, or was killed)."""

    @property
    def rate(self) -> float:
        """Operations recorded per second."""
        return self.operations / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def verdict(self) -> str:
        """Over every epoch: a violation if one is, else unknown if one is (or if the checker ended
        before it had checked them all), else linearizable."""
        verdicts = {check.verdict for check in self.checks}
        if self.checker_failed:
            verdicts.add("unknown")
        return next((v for v in ("violation", "unknown") if v in verdicts), "linearizable" if verdicts else "unknown")


def default_processes(clients: int, *, cpus: int | None = None) -> int:
    """Worker processes for ``clients``: one per CPU, at most one per client.  (Measured on 2 CPUs
    beside the server and the checker, two workers recorded and checked 4 to 20 % more than one.)"""
    return max(1, min(clients, cpus or os.cpu_count() or 1))


def file_limit_needed(clients: int) -> int:
    """Open files a run of ``clients`` connections needs: both ends (the embedded server runs in the
    same process), plus the history, the report and Python's own."""
    return 2 * clients + 256


def raise_file_limit(clients: int) -> None:
    """Raise the soft open-files limit toward the hard one as ``clients`` need; a one-line
    :class:`~redlin.errors.UsageError` naming ``--clients`` and the limit if it cannot be raised enough."""
    need = file_limit_needed(clients)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return
    if hard == resource.RLIM_INFINITY or hard >= need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
        return
    raise UsageError(f"--clients {clients} needs about {need} open files, but this process may open at most "
                     f"{hard} (raise it with `ulimit -n {need}`, or use fewer clients)")


def record_pressure(target: Target, path: str | os.PathLike[str], workload: PressureWorkload, prefix: bytes, *,
                    checking: bool = True, time_limit: float | None = None, meta: dict[str, Any] | None = None,
                    on_check: Callable[[EpochCheck], None] | None = None,
                    stop_on_violation: bool = False, niceness: int = WORKER_NICENESS) -> PressureRecording:
    """Record ``workload`` against ``target`` into the new history file ``path`` (``meta`` goes into
    its meta line, after ``prefix``), and return what the workers counted.

    With ``checking``, a process of its own checks each epoch once it is over while the next ones
    are recorded (``time_limit`` seconds of checking at most per epoch); the checks are in
    :attr:`PressureRecording.checks`, the epochs' files in ``<path>.pieces/`` (removed by the caller
    when it likes).  A bug in a worker (a command the guard refused) stops it and raises
    ``RuntimeError`` here.  ``on_check`` is called with each check as it comes (in this process, while
    recording); with ``stop_on_violation`` the first violation ends the recording.  ``niceness`` is
    added to the worker processes' (:data:`WORKER_NICENESS`).  Every key lies under ``prefix``;
    Ctrl-C stops the workers cleanly (:attr:`PressureRecording.interrupted`) and what was recorded
    is checked.
    """
    if target.tls:
        raise UsageError("--engine async speaks plain TCP: use redis:// (or the default engine for rediss://)")
    raise_file_limit(workload.clients)
    path = Path(path)
    started_ns = time.monotonic_ns()
    facts = {**(meta or {}), "prefix": prefix.decode("utf-8", "replace"), "time_origin": started_ns}
    with HistoryWriter(path, model="redis", **facts):
        pass  # the meta line; the workers append the events
    processes = min(workload.processes or default_processes(workload.clients), workload.clients)
    duration_ns = int(workload.duration * 1e9) if workload.duration is not None else 0
    epoch_ns = int(workload.epoch * 1e9)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    stop, recorded, go = context.Event(), context.Event(), context.Event()
    start = context.Value("q", 0)
    results: Any = context.Queue()
    checked: Any = context.Queue()
    checker = None
    if checking:
        wait_ns = int((workload.timeout + GRACE) * 1e9)
        checker = context.Process(target=follow, args=(str(path), pieces_dir(path), epoch_ns, start, wait_ns,
                                                       recorded, checked, time_limit, go, workload.profile),
                                  name="redlin-pressure-check", daemon=True)
        checker.start()
    workers = []
    for index in range(processes):
        clients = workload.clients // processes + (index < workload.clients % processes)
        ops = None if workload.ops is None else workload.ops // processes + (index < workload.ops % processes)
        spec = WorkerSpec(index=index, workers=processes, host=target.host, port=target.port, path=str(path),
                          prefix=prefix, clients=clients, keys=workload.epoch_keys, pipeline=workload.pipeline,
                          read_share=workload.read_share, timeout=workload.timeout, duration_ns=duration_ns, ops=ops,
                          seed=workload.seed, epoch_ns=epoch_ns, password=target.password,
                          username=target.username, db=target.db, workload=workload.workload, loop=workload.loop,
                          niceness=niceness, profile=workload.profile)
        process = context.Process(target=work, args=(spec, stop, results, go, start), name=f"redlin-pressure-{index}",
                                  daemon=True)
        process.start()
        workers.append(process)
    interrupted = False
    reports: list[WorkerReport] = []
    progress = _Checks(checker, checked, on_check)
    try:
        try:
            _ready(workers, results)
        except UsageError:
            for event in (stop, go, recorded):  # the others end at once
                event.set()
            raise
        started_ns = start.value = progress.started_ns = time.monotonic_ns()
        go.set()
        _wait(workers, results, reports, workload, progress, stop, stop_on_violation)
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
        go.set()
        _wait(workers, results, reports, workload, progress, stop, stop_on_violation)
    elapsed = (time.monotonic_ns() - started_ns) / 1e9
    recorded.set()
    progress.drain(until_done=True)
    checks, cpu = progress.latest, progress.cpu
    checked_after = (time.monotonic_ns() - started_ns) / 1e9
    problems: list[str] = []
    failed = progress.failure()
    if failed is not None:
        problems.append(failed)
    rejected: dict[str, int] = {}
    for process in workers:
        if process.exitcode not in (0, None) and all(r.index != workers.index(process) for r in reports):
            problems.append(f"worker process {workers.index(process)} ended with exit code {process.exitcode}: "
                            "its operations in flight are indeterminate")
    failures = [report.failure for report in reports if report.failure is not None]
    if failures:
        raise RuntimeError(f"a worker process of the pressure engine failed: {failures[0]}")
    for report in reports:
        problems += report.problems
        for code, count in report.rejected.items():
            rejected[code] = rejected.get(code, 0) + count
    operations, indeterminate = sum(r.operations for r in reports), sum(r.indeterminate for r in reports)
    if checks:  # read from the file: also the operations of a worker that died
        operations = sum(check.operations for check in checks.values())
        indeterminate = sum(check.indeterminate for check in checks.values())
    return PressureRecording(path, operations, indeterminate, sum(r.reconnects for r in reports), elapsed, processes, tuple(problems), rejected,
                             interrupted, tuple(checks[epoch] for epoch in sorted(checks)), checked_after,
                             cpu + sum(r.cpu for r in reports), tuple(sorted({r.loop for r in reports})),
                             tuple(sorted({r.niceness for r in reports})), started_ns, progress.found_after,
                             failed is not None)


def check_recorded(path: str | os.PathLike[str], workload: PressureWorkload, *, time_limit: float | None = None,
                   on_check: Callable[[EpochCheck], None] | None = None
                   ) -> tuple[tuple[EpochCheck, ...], float, str | None]:
    """Check a history recorded elsewhere and complete (:mod:`redlin.harness.pressure_dask`) epoch by
    epoch, as :func:`record_pressure` checks while it records; the checks, the checker's CPU seconds,
    and the problem if the checker process ended before it had checked every epoch (the verdict is
    then unknown, :attr:`PressureRecording.checker_failed`)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    recorded, checked = context.Event(), context.Queue()
    recorded.set()  # every line is in the file: each epoch is checked once, whole
    checker = context.Process(target=follow, args=(os.fspath(path), pieces_dir(path), int(workload.epoch * 1e9), 0, 0,
                                                   recorded, checked, time_limit, None, workload.profile),
                              name="redlin-pressure-check", daemon=True)
    checker.start()
    progress = _Checks(checker, checked, on_check)
    progress.drain(until_done=True)
    return tuple(progress.latest[epoch] for epoch in sorted(progress.latest)), progress.cpu, progress.failure()


def pieces_dir(path: str | os.PathLike[str]) -> str:
    """Where the epochs' files of the history at ``path`` go while it is checked.

    >>> pieces_dir("out/history.jsonl")
    'out/history.jsonl.pieces'
    """
    return f"{os.fspath(path)}.pieces"


class _Checks:
    """What the checker process said so far: the last check of each epoch, its CPU seconds at the end."""

    def __init__(self, checker: Any, queue_: Any, on_check: Callable[[EpochCheck], None] | None) -> None:
        self.checker, self.queue, self.on_check = checker, queue_, on_check
        self.latest: dict[int, EpochCheck] = {}
        self.cpu = 0.0
        self.done = checker is None
        self.finished = False  # the checker said it was done (its CPU seconds), rather than dying
        self.violation = False
        self.started_ns = 0
        self.found_after: tuple[int, float] | None = None

    def failure(self) -> str | None:
        """Once drained until done: the problem, if the checker process ended without saying it
        was done (it crashed, or was killed), else ``None``."""
        if self.checker is None or self.finished:
            return None
        return (f"the checker process ended with exit code {self.checker.exitcode} before it had checked every "
                "epoch: the verdict is unknown, past any violation it found")

    def drain(self, *, until_done: bool) -> None:
        """Take what the checker said; with ``until_done``, until it says it is done (or dies)."""
        while not self.done:
            try:
                item = self.queue.get(timeout=0.2) if until_done else self.queue.get_nowait()
            except queue.Empty:
                if until_done and self.checker.is_alive():
                    continue
                self.done = until_done
                return
            if isinstance(item, float):
                self.cpu, self.done, self.finished = item, True, True
                break
            if item.verdict == "linearizable":  # the report shows the last one: forget the others' witnesses
                for epoch, kept in self.latest.items():
                    if kept.verdict == "linearizable" and kept.result is not None:
                        self.latest[epoch] = replace(kept, result=None)
            self.latest[item.epoch] = item
            if item.verdict == "violation" and not self.violation and self.started_ns:
                self.found_after = (sum(c.operations for c in self.latest.values()),
                                    (item.done_ns - self.started_ns) / 1e9)
            self.violation |= item.verdict == "violation"
            if self.on_check is not None:
                self.on_check(item)
        if self.checker is not None and self.done:
            self.checker.join()


def _ready(workers: list[Any], results: Any) -> None:
    """Wait until every worker has started and opened its connections (its index on ``results``), or
    one died starting."""
    ready: set[int] = set()
    while len(ready) < len(workers):
        checkpoint()
        try:
            ready.add(results.get(timeout=0.1))
        except queue.Empty:
            if any(not process.is_alive() for process in workers):
                raise UsageError("a worker process of the pressure engine died while starting") from None


def _wait(workers: list[Any], results: Any, reports: list[WorkerReport], workload: PressureWorkload,
          checks: _Checks, stop: Any, stop_on_violation: bool) -> None:
    """Collect the workers' reports until every worker has ended (a dead one reports nothing), and
    the checks made meanwhile (a violation stops the workers if ``stop_on_violation``)."""
    while any(process.is_alive() for process in workers) or len(reports) < len(workers):
        checkpoint()  # Ctrl-C, SIGTERM, SIGHUP (:mod:`redlin.harness.interrupts`): KeyboardInterrupt here
        checks.drain(until_done=False)
        if stop_on_violation and checks.violation:
            stop.set()
        try:
            reports.append(results.get(timeout=0.1))
        except queue.Empty:
            if not any(process.is_alive() for process in workers):
                try:
                    while True:
                        reports.append(results.get(timeout=0.2))
                except queue.Empty:
                    break
    for process in workers:
        process.join(workload.timeout + JOIN_GRACE)
        if process.is_alive():
            process.kill()
            process.join()


def check_pressure(path: str | os.PathLike[str], *, time_limit: float | None = None) -> tuple[History, Result]:
    """Load a recorded history and check it against Redis's model (split by key), of the version its
    meta line names (``profile``; Redis 7.0 if none)."""
    history = load_history(path)
    model = redis_model(profile=str(history.meta.get("profile", DEFAULT_PROFILE)))
    return history, check(history, model, time_limit=time_limit)


def indeterminate(history: History) -> int:
    """Operations of ``history`` that ended without a reply."""
    return sum(1 for op in history if op.outcome is Outcome.INFO)
