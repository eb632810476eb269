"""``redlin run --engine async``: a workload recorded at pressure, checked as it goes, reported.

The workloads (:mod:`redlin.harness.pressure_workloads`) but ``generated`` read with ``GET k``; ``register`` writes
with ``SET k v`` (unique values), ``counter`` with ``INCR k``, ``counter-multi`` with a MULTI block of
two ``INCR k``, ``counter-script`` with an ``EVAL`` of a guarded script that runs ``INCR k``
twice, and ``counter-long`` with a MULTI block of five ``INCR k`` (each write one operation);
``cas`` writes by optimistic locking, three operations in turn: ``WATCH``, ``GET`` and a MULTI
block that sets ``k``.  ``generated`` draws each operation from the grammar of the whole model: any
modelled command, or a MULTI block of them (:mod:`redlin.harness.pressure_generated`).  ``pubsub``
publishes to each epoch's channels while a few clients subscribe and read every message
(:mod:`redlin.harness.pressure_pubsub`).  ``mixed`` has each of them.

Where :func:`redlin.harness.runner.run` draws programs and runs them between barriers, this run keeps
``--clients`` connections busy for ``--duration`` seconds (or ``--ops`` operations) with the pressure
engine (:mod:`redlin.harness.pressure`) and checks each epoch while the next ones are recorded.  It
says what ``redlin run`` says, in the same words and files: the verdict line and exit code (0
linearizable, 1 violation, 2 unknown, 130 interrupted before anything was checked), the run's
``history.jsonl``, and a report (``report.html``, ``summary.md``, ``result.json``, ``junit.xml``) about
one epoch: the first violating one, else the first unknown one, else the last one (the report of
millions of operations would be unreadable; every epoch's verdict is in the notes and the verdict
is over all of them).  The violating epoch's history is also saved as ``counterexample.jsonl``.
The run's keys are deleted at the end.

With ``dask`` (``--dask tcp://HOST:8786``) the workers are tasks on a Dask cluster's workers, on
other machines, each recording with its own clock: their intervals are widened by each clock's
measured uncertainty and gathered into ``history.jsonl`` when they end, then checked
(:mod:`redlin.harness.pressure_dask`, which says what that guarantees and what a crash loses); the
notes give each worker's clock offset, uncertainty and file.

>>> pressure_workload_name("register")
'register'
>>> pressure_workload_name("transfer")
Traceback (most recent call last):
...
redlin.errors.UsageError: --engine async runs --workload register, counter, counter-multi, counter-script, counter-long, cas, generated, pubsub or mixed only, not 'transfer'
>>> PRESSURE_FAULTS["exec-not-atomic"], PRESSURE_FAULTS["script-not-atomic"]
('counter-multi', 'counter-script')
"""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Final, TextIO

from redlin.adapter.redis_model import redis_model
from redlin.errors import UsageError
from redlin.harness.guard import Guard
from redlin.harness.interrupts import Interrupts
from redlin.harness.outcome import RunOutcome, RunStats
from redlin.harness.plan import RunPlan
from redlin.harness.preflight import new_run_id, resolve_profile, validate
from redlin.harness.pressure import PressureRecording, PressureWorkload, pieces_dir, record_pressure
from redlin.harness.pressure_check import EpochCheck
from redlin.harness.pressure_clients import epoch_key
from redlin.harness.pressure_dask import record_pressure_dask
from redlin.harness.pressure_epochs import epoch_at
from redlin.harness.pressure_workloads import WORKLOAD_NAMES, WORKLOADS
from redlin.harness.run_profile import AUTO
from redlin.harness.run_report import report_paths
from redlin.harness.target import Target, open_connection
from redlin.harness.wire import WireError
from redlin.history.jsonl import load_history, save_history
from redlin.history.records import History
from redlin.search.check import check
from redlin.search.result import Result

__all__ = ["PRESSURE_FAULTS", "PRESSURE_WORKLOADS", "pressure_workload_name", "run_pressure"]

PRESSURE_WORKLOADS: Final = tuple(WORKLOADS)
"""The workloads the pressure engine runs."""
PRESSURE_FAULTS: Final = {"stale-read": "register", "lost-write": "register", "incr-read-then-write": "counter",
                          "exec-not-atomic": "counter-multi", "script-not-atomic": "counter-script",
                          "long-exec-not-atomic": "counter-long", "watch-ignored": "cas", "watch-first-key-only": "cas",
                          **dict.fromkeys(("multi-value-reversed", "decrby-overflow-wraps", "score-shortest-format",
                                           "echo-as-status", "count-as-bulk", "wrongtype-as-err",
                                           "arity-error-typed-name", "script-cache-per-connection",
                                           "group-forgets-delivery"), "generated"),
                          **dict.fromkeys(("drop-message", "duplicate-message", "reorder-delivery",
                                           "wrong-receiver-count"), "pubsub")}
"""The embedded server's planted faults, and the pressure workload that shows each."""
DEFAULT_DURATION: Final = 10.0
"""Seconds of a pressure run given neither --duration nor --ops."""


def pressure_workload_name(workload: str) -> str:
    """``workload`` if the pressure engine runs it, else a one-line UsageError naming ``--workload``."""
    if workload not in PRESSURE_WORKLOADS:
        raise UsageError(f"--engine async runs --workload {WORKLOAD_NAMES} only, not {workload!r}")
    return workload


def run_pressure(target: str | None = None, *, fault: str | None = None, workload: str = "register",
                 clients: int = 8, ops: int | None = None, duration: float | None = None, seed: int = 0,
                 out: str | Path | None = None, timeout: float = 5.0, check_time: float = 10.0,
                 pipeline: int = 1, processes: int | None = None,
                 password_env: str | None = "REDLIN_PASSWORD", progress: TextIO | None = None,
                 dask: str | None = None, loop: str = "auto", profile: str = AUTO) -> RunOutcome:
    """Record and check a pressure run (see the module docstring); its outcome, report written.

    ``check_time`` is the seconds of checking each epoch may take before it is unknown; ``progress``
    gets a line for each epoch checked.  The first violation ends the recording, as it ends
    ``redlin run``'s search.  With ``dask``, the address of a Dask scheduler, the workers record on
    its cluster and the epochs are checked once they are gathered.  ``loop`` is the workers' event
    loop (:data:`~redlin.harness.pressure_clients.EVENT_LOOPS`).  ``profile`` is the version the
    target is checked as (``auto``: what its ``INFO server`` says; the embedded server plays the one
    named, Redis 7.0 for ``auto``), and ``generated`` draws no command that version's model leaves out.
    """
    pressure_workload_name(workload)
    if ops is None and duration is None:
        duration = DEFAULT_DURATION
    validate(fault=fault, target=target, clients=clients, steps=1, ops=ops, duration=duration, rate=None,
             repeat=1, timeout=timeout)
    run_id = new_run_id()
    plan = RunPlan(target=target, fault=fault, clients=clients, steps=1, ops=ops, duration=duration, rate=None,
                   seed=seed, repeat=1, timeout=timeout, check_time=check_time, shrink_time=0.0, reconnect_for=0.0,
                   password_env=password_env, run_id=run_id,
                   out_dir=Path(out) if out is not None else Path("reports") / run_id, engine="async",
                   profile=resolve_profile(profile, target, password_env=password_env, timeout=timeout))
    spec = PressureWorkload(clients=clients, duration=duration, ops=ops, pipeline=pipeline, processes=processes,
                            timeout=timeout, seed=seed, workload=workload, loop=loop, profile=plan.profile.name)
    model = redis_model(profile=plan.profile.name)
    with ExitStack() as stack, Interrupts() as interrupts:
        opened = plan.open(stack)
        record = plan.record(opened, workload=workload, pipeline=pipeline)
        on_check = None if progress is None else partial(_say_check, progress)
        clock_notes: tuple[str, ...] = ()
        with interrupts.armed():
            if dask is None:
                recording = record_pressure(opened.target, opened.history_path, spec, plan.prefix,
                                            time_limit=check_time, meta=record.meta, stop_on_violation=True,
                                            on_check=on_check)
            else:
                remote = record_pressure_dask(opened.target, opened.history_path, spec, plan.prefix, address=dask,
                                              meta=record.meta, time_limit=check_time, on_check=on_check)
                recording, clock_notes = remote.recording, remote.notes
        notes = [*recording.problems, *clock_notes, *(() if plan.profile.warning is None else
                                                      (f"warning: {plan.profile.warning}",))]
        notes += _delete_keys(opened.target, plan.prefix, spec, recording, timeout)
        stats = RunStats(programs=1, executions=len(recording.checks), operations=recording.operations,
                         elapsed=recording.checked_after, unknown_executions=sum(
                             1 for c in recording.checks if c.verdict == "unknown"),
                         indeterminate=recording.indeterminate, interrupted=recording.interrupted,
                         found_after_operations=None if recording.found_after is None else recording.found_after[0],
                         found_after_seconds=None if recording.found_after is None else recording.found_after[1],
                         interrupted_by=(interrupts.received or "SIGINT") if recording.interrupted else None)
        notes.append(_rate_note(recording))
        verdict = recording.verdict
        if not recording.checks:
            shutil.rmtree(pieces_dir(opened.history_path), ignore_errors=True)
            return record.outcome("interrupted" if recording.interrupted else "unknown", stats, notes,
                                  {"history": opened.history_path})
        shown = _shown_epoch(recording.checks, verdict)
        history = load_history(shown.path)
        result: Result = shown.result or check(history, model, time_limit=check_time)
        paths = {"history": opened.history_path}
        if verdict == "violation":
            paths["counterexample"] = plan.out_dir / "counterexample.jsonl"
            save_history(History(history.operations, dict(history.meta)), paths["counterexample"])
        notes.append(f"the report covers epoch {shown.epoch} ({shown.operations:,} operations) of "
                     f"{len(recording.checks)}: " + _epoch_summary(recording.checks))
        meta = {**record.meta, "verdict": verdict, "operations": recording.operations, "programs": 1,
                "executions": len(recording.checks), "engine": "async", "notes": notes}
        paths.update(report_paths(plan.out_dir, history, model, result, (), meta))
        shutil.rmtree(pieces_dir(opened.history_path), ignore_errors=True)
        return record.outcome(verdict, stats, notes, paths, result=result, history=history)


def _say_check(stream: TextIO, check: EpochCheck) -> None:
    """One progress line about an epoch checked.

    >>> import sys
    >>> _say_check(sys.stdout, EpochCheck(3, 21004, 2, "linearizable", 0.45, "p"))
    epoch 3: 21,004 operations (2 indeterminate), linearizable (checked in 0.45 s)
    """
    flying = f" ({check.indeterminate:,} indeterminate)" if check.indeterminate else ""
    print(f"epoch {check.epoch}: {check.operations:,} operations{flying}, {check.verdict} "
          f"(checked in {check.elapsed:.2f} s)", file=stream, flush=True)


def _shown_epoch(checks: tuple[EpochCheck, ...], verdict: str) -> EpochCheck:
    """The epoch the report is about: the first with the run's verdict (the last when linearizable)."""
    matching = [c for c in checks if c.verdict == verdict]
    return matching[-1] if verdict == "linearizable" else matching[0]


def _epoch_summary(checks: tuple[EpochCheck, ...]) -> str:
    """How the epochs' checks ended, in one line.

    >>> _epoch_summary((EpochCheck(0, 10, 0, "linearizable", 0.1, "p"), EpochCheck(1, 5, 1, "violation", 0.2, "q")))
    '1 linearizable, 1 violation (epoch 1)'
    """
    counts: dict[str, list[int]] = {}
    for c in checks:
        counts.setdefault(c.verdict, []).append(c.epoch)
    return ", ".join(f"{len(epochs)} {name}" + (f" (epoch {', '.join(map(str, epochs[:5]))})" if name != "linearizable" else "")
                     for name, epochs in sorted(counts.items()))


def _rate_note(recording: PressureRecording) -> str:
    processes = f"{recording.processes} worker process{'es' if recording.processes != 1 else ''}"
    if recording.niceness:
        processes += f" (niceness {', '.join(map(str, recording.niceness))})"
    loops = f"{' and '.join(recording.loops) or 'no'} event loop{'s' if len(recording.loops) > 1 else ''}"
    return (f"async engine: {recording.operations:,} operations recorded in {recording.elapsed:.1f} s "
            f"({recording.rate:,.0f}/s) by {processes} on {loops}, all checked after {recording.checked_after:.1f} s")


def _delete_keys(target: Target, prefix: bytes, spec: PressureWorkload, recording: PressureRecording,
                 timeout: float) -> list[str]:
    """``DEL`` every key the run can have written; a note if the target could not be reached."""
    epochs = max((c.epoch for c in recording.checks),
                 default=epoch_at(int(recording.elapsed * 1e9), int(spec.epoch * 1e9))) + 2
    guard = Guard(prefix)
    try:
        with open_connection(target, timeout) as conn:
            for epoch in range(epochs):
                argv = (b"DEL", *(epoch_key(prefix, epoch, number) for number in range(spec.written_keys)))
                guard.check(argv)
                conn.execute(*argv)
    except (WireError, OSError) as error:
        return [f"could not delete the run's keys ({error}); they all start with {prefix.decode()}"]
    return []
