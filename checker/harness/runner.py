"""``redlin run``: does a Redis server keep Redis's concurrency guarantees?  Find out by testing it.

:func:`run` drives one test of a server, by one of two workloads:

- *programs* (every family of :mod:`redlin.harness.workloads`): Hypothesis draws parallel programs,
  each runs :data:`DEFAULT_REPEAT` times and every run's history is checked; a failing program is
  shrunk and its failing history minimised (:mod:`redlin.harness.program_search`);
- ``--workload pubsub``: rounds of ``--clients`` publishers and subscribers, each checked on its
  own (:mod:`redlin.harness.rounds`).

Around either: the arguments, the workload and the target are checked before anything is sent
(:mod:`redlin.harness.preflight`), progress goes to stderr (:mod:`redlin.harness.progress`), and
the verdict, report and counterexample are written at the end (:mod:`redlin.harness.run_report`)
into a :class:`RunOutcome` (:mod:`redlin.harness.outcome`, which also renders it as text).

Targets: the embedded model server (the default: no Redis needed, and ``--fault NAME`` plants a
bug in it, see :data:`redlin.serve.server.FAULTS`), or any server by URL.  Every key lives under
``redlin:<run-id>:``; nothing else is touched (:class:`redlin.harness.guard.Guard`), and each run's
keys are deleted as soon as it is checked (:mod:`redlin.harness.cleanup`).

A run keeps its promises (:mod:`redlin.harness.plan`): ``--duration`` stops generation on time and
bounds what follows; Ctrl-C, SIGTERM and SIGHUP end it cleanly, with a verdict about what was
recorded, a report, and no keys left (:mod:`redlin.harness.interrupts`); a target that goes away
(killed, restarted, paused) is waited for, up to ``--reconnect-for`` seconds, and the outage is
reported (:mod:`redlin.harness.outages`).

Verdicts and exit codes (:mod:`redlin.errors`): 0 linearizable (every run was proved
linearizable), 1 violation, 2 unknown (some run could not be decided within the check budget, none
was proved wrong), 3 usage or connection error (also when the target went away for good: what was
recorded is still checked and reported, and a violation found exits 1), 130 if a signal came before
anything could be checked.  An unknown run is never counted as linearizable.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Final

from redlin.errors import UsageError
from redlin.harness.budget import REPORT_ALLOWANCE
from redlin.harness.cleanup import RunKeys
from redlin.harness.findings import Findings, signature
from redlin.harness.guard import Guard
from redlin.harness.interrupts import Interrupts, signal_text
from redlin.harness.journal import Journal
from redlin.harness.outages import TargetLost, TargetWatch
from redlin.harness.outcome import RunOutcome, RunStats, render_outcome
from redlin.harness.plan import (
    DEFAULT_CHECK_TIME,
    DEFAULT_CLIENTS,
    DEFAULT_DATABASE,
    DEFAULT_OPS,
    DEFAULT_RECONNECT_FOR,
    DEFAULT_REPEAT,
    DEFAULT_SHRINK_TIME,
    DEFAULT_STEPS,
    DEFAULT_TIMEOUT,
    RunPlan,
)
from redlin.harness.preflight import check_safety, new_run_id, resolve_workload, validate
from redlin.harness.program_search import (
    Counterexample,
    ProgramSearch,
    SearchEnded,
    search_programs,
    shrink_counterexample,
)
from redlin.harness.progress import Progress, Quiet
from redlin.harness.recorder import RECONNECT_TIME, Recorder, TargetError
from redlin.harness.rounds import ROUND_MESSAGES, run_rounds
from redlin.harness.run_report import conclude_programs
from redlin.harness.server_state import closing_finding, rejection_note, restart_note
from redlin.harness.wire import WireError
from redlin.harness.workloads import FAMILIES, Family

__all__ = [
    "DEFAULT_CHECK_TIME", "DEFAULT_CLIENTS", "DEFAULT_DATABASE", "DEFAULT_OPS", "DEFAULT_RECONNECT_FOR",
    "DEFAULT_REPEAT", "DEFAULT_SHRINK_TIME", "DEFAULT_STEPS", "DEFAULT_TIMEOUT", "FAULT_WORKLOADS", "ROUND_MESSAGES",
    "Progress", "RunOutcome", "RunStats", "render_outcome", "run",
]

CLEANUP_TIME: Final = REPORT_ALLOWANCE / 2
"""Seconds of the tail for the last look for keys left under the run's prefix."""

FAULT_WORKLOADS: Final = {
    "watch-ignored": "cas",
    "exec-not-atomic": "counter",
    "incr-read-then-write": "counter",
    "script-not-atomic": "transfer",
    "stale-read": "register",
    "lost-write": "register",
    "drop-message": "pubsub",
    "duplicate-message": "pubsub",
    "reorder-delivery": "pubsub",
    "wrong-receiver-count": "pubsub",
    "watch-first-key-only": "default",
    "long-exec-not-atomic": "default",
    "multi-value-reversed": "default",
    "decrby-overflow-wraps": "default",
    "score-shortest-format": "default",
    "echo-as-status": "default",
}
"""For each planted fault of the embedded server, the workload family that exposes it best
(``default`` draws from every family and the whole grammar, and exposes every program fault, a
little more slowly than a fault's own family; the faults in corners of commands and long
transactions only it reaches)."""


def run(
    target: str | None = None,
    *,
    fault: str | None = None,
    workload: str | Family = "default",
    clients: int = DEFAULT_CLIENTS,
    steps: int = DEFAULT_STEPS,
    ops: int | None = DEFAULT_OPS,
    duration: float | None = None,
    rate: float | None = None,
    seed: int = 0,
    out: str | os.PathLike[str] | None = None,
    repeat: int = DEFAULT_REPEAT,
    timeout: float = DEFAULT_TIMEOUT,
    check_time: float = DEFAULT_CHECK_TIME,
    shrink_time: float = DEFAULT_SHRINK_TIME,
    reconnect_for: float = DEFAULT_RECONNECT_FOR,
    allow_destructive: bool = False,
    keep_going: bool = False,
    password_env: str | None = "REDLIN_PASSWORD",
    database: str | os.PathLike[str] | None = DEFAULT_DATABASE,
    progress: Progress | None = None,
) -> RunOutcome:
    """Test a Redis server (or the embedded model server) for linearizability.

    Parameters
    ----------
    target:
        ``redis://[user:password@]host:port/db`` or ``rediss://...``; ``None`` starts the embedded
        model server in-process on a free port.
    fault:
        With no ``target``: the planted fault of the embedded server (:data:`redlin.serve.server.FAULTS`).
    workload:
        A family name (:data:`redlin.harness.workloads.FAMILIES`), a ``.json`` file, a
        :class:`~redlin.harness.workloads.Family`, or ``pubsub``.  ``mixed`` leaves out the steps
        whose commands redlin's model does not implement yet; any other family must be fully implemented.
    clients, steps:
        Clients per program, and the most steps each client's list has.
    ops, duration:
        Stop generating programs after this many recorded operations, or (soak mode) after this
        many seconds: then the program running is stopped, and the tail that follows (checks,
        shrinking, report) is bounded (:meth:`redlin.harness.budget.Budget.tail`).  A violation
        stops the run earlier.
    rate:
        At most this many operations per second over all clients.
    seed:
        Seeds Hypothesis (and the embedded server's fault): the same seed draws the same programs.
    out:
        Directory for the history and the report (default ``reports/<run-id>``).
    repeat:
        Runs of each program before it counts as passing.
    timeout:
        Seconds to wait for a reply; past it the operation is indeterminate.
    check_time:
        Seconds of checking per run of up to 1,000 operations (a larger run gets proportionally
        more, up to six times as much); a run not decided by then is unknown.
    shrink_time:
        Seconds for shrinking a failing program, then as many at most for minimising its history.
    reconnect_for:
        Seconds to wait for a target that went away (killed, restarting, paused) before the run
        ends; the run goes on when it is back, and the outage is reported.
    allow_destructive:
        Let a workload send FLUSHALL, FLUSHDB, CONFIG, DEBUG and the like (keys stay under the prefix).
    keep_going:
        Do not stop at the first violation: shrink it, report it, and search on for violations of
        other kinds or commands until the budget is spent (:mod:`redlin.harness.findings`).
    password_env:
        Environment variable holding the password when the URL has none.
    database:
        Hypothesis's example database (failing programs replay from it); ``None`` for none.
    progress:
        Where progress goes (default: nowhere).

    Raises
    ------
    UsageError
        Bad arguments, a workload the model cannot check, or an unreachable target.
    """
    pubsub = workload == "pubsub"
    if pubsub and keep_going:
        raise UsageError("--keep-going searches programs; --workload pubsub records rounds and stops at its "
                         "first violation")
    validate(fault=fault, target=target, clients=clients, steps=steps, ops=ops, duration=duration,
             rate=None if pubsub else rate, repeat=1 if pubsub else repeat, timeout=timeout,
             reconnect_for=reconnect_for)
    run_id = new_run_id()
    plan = RunPlan(target=target, fault=fault, clients=clients, steps=steps, ops=ops, duration=duration, rate=rate,
                   seed=seed, repeat=repeat, timeout=timeout, check_time=check_time, shrink_time=shrink_time,
                   reconnect_for=reconnect_for, password_env=password_env, run_id=run_id,
                   out_dir=Path(out) if out is not None else Path("reports") / run_id)
    with Interrupts() as interrupts:
        if pubsub:
            return run_rounds(plan, progress or Quiet(), interrupts)
        source = resolve_workload(workload)
        notes: list[str] = []
        if workload == "mixed" and source.commands() != FAMILIES["mixed"].commands():
            missing = sorted(FAMILIES["mixed"].commands() - source.commands())
            notes.append(f"mixed workload without {', '.join(missing)} (redlin's model does not implement them yet)")
        guard = Guard(plan.prefix, allow_destructive=allow_destructive)
        check_safety(source, guard)
        return _run_programs(plan, source, guard, notes, Path(database) if database is not None else None,
                             progress or Quiet(), interrupts, keep_going)


def _run_programs(plan: RunPlan, source: Family, guard: Guard, notes: list[str], database: Path | None,
                  progress: Progress, interrupts: Interrupts, keep_going: bool = False) -> RunOutcome:
    """Search for a failing program, shrink it, and report (see the module docstring)."""
    with ExitStack() as stack:
        opened = plan.open(stack)
        record = plan.record(opened, workload=source.name, repeat=plan.repeat)
        journal = stack.enter_context(Journal(opened.history_path, model="redis", **record.meta))
        recorder = Recorder(opened.target, journal, guard, timeout=plan.timeout, rate=plan.rate,
                            on_operation=progress.tick, reconnect_time=min(RECONNECT_TIME, plan.reconnect_for))
        watch = TargetWatch(opened.target, journal, timeout=plan.timeout, reconnect_for=plan.reconnect_for,
                            run_id=opened.server_run_id, progress=progress)
        keys = RunKeys(recorder)
        budget = plan.budget()
        state = ProgramSearch(recorder, plan.prefix, plan.repeat, budget, None if plan.duration else plan.ops,
                              progress, journal, watch, keys, started=budget.started,
                              findings=Findings() if keep_going else None)
        progress.total_ops, progress.duration = state.ops_budget, plan.duration
        interrupted_by: str | None = None
        lost: str | None = None
        found: Counterexample | None = None
        ended: BaseException | None = None
        with progress, watch:
            for note in notes:
                progress.say(note)
            try:
                try:
                    with interrupts.armed():
                        found = _search(state, source, plan, database)
                except KeyboardInterrupt:
                    if interrupts.aborted:  # a second Ctrl-C: no verdict
                        raise
                    interrupted_by = interrupts.received or "SIGINT"
                    recorder.stop.set()
                    progress.say(f"interrupted by {signal_text(interrupted_by)}: checking what was recorded")
                except SearchEnded as error:
                    ended = error.__cause__
                except TargetLost as error:  # while shrinking
                    ended = error
                if isinstance(ended, TargetLost):
                    lost = f"the target went away and did not come back within {plan.reconnect_for:g} s ({ended})"
                    progress.say(lost + ": checking what was recorded")
                    ended = None
                recorder.stop.clear()
                if interrupted_by is not None or lost is not None:
                    state.check_cut_short()
            finally:  # whatever happened, the run's keys go
                recorder.stop.clear()
                notes += keys.finish(sweep=state.indeterminate > 0 or bool(watch.outages),
                                     until=time.monotonic() + CLEANUP_TIME)
        if state.findings is not None and state.findings.found:  # the first finding is the run's
            first = state.findings.found[0]
            state.found_at = (first.found_after_operations, first.found_after_seconds)
        stats = state.stats(time.monotonic() - budget.started, interrupted_by, lost)
        notes += watch.notes()
        notes += [note for note in (closing_finding(recorder.closed), restart_note(recorder.restarts),
                                    rejection_note(recorder.rejected),
                                    _refusal_note(recorder.refused)) if note is not None]
        if lost is not None:
            notes.append(lost)
        if state.problems:
            notes.append(f"{state.problems} client{'s' if state.problems != 1 else ''} stopped early, "
                         f"e.g. {state.first_problem}")
        if isinstance(ended, TargetError | WireError):
            raise UsageError(f"lost the target {opened.target.url}: {ended}") from None
        if ended is not None:
            raise ended
        if found is None:  # a signal while shrinking or minimising, or a violation in the run it cut short
            found = state.failure_so_far()
        journal.close()
        drawable = {name.lower() for name in source.commands()}
        coverage = state.coverage.summary(drawable)
        extra: dict[str, object] = {"outages": watch.meta(), "coverage": state.coverage.meta(drawable),
                                    "coverage_summary": coverage}
        findings = state.findings
        if findings is not None:
            extra["findings"] = [f.meta(findings.repeats[f.signature]) for f in findings.found]
        outcome = conclude_programs(record, state, found, stats, notes, extra)
        return replace(outcome, coverage=tuple(coverage),
                       findings=tuple(findings.lines()) if findings is not None and len(findings.found) > 1 else ())


def _search(state: ProgramSearch, source: Family, plan: RunPlan, database: Path | None) -> Counterexample | None:
    """Search and shrink: the first violation, or (``--keep-going``, :attr:`ProgramSearch.findings`
    set) every distinct one until the budget is spent; returns the first."""
    first: Counterexample | None = None
    while True:
        number = len(state.findings.found) if state.findings is not None else 0
        failing = search_programs(state, source, clients=plan.clients, steps=plan.steps,
                                  seed=plan.seed + 1_000_003 * number, database=database)
        if failing is None:
            return first
        shrunk = shrink_counterexample(state, failing)
        first = first or shrunk
        if state.findings is None:
            return first
        found_at = state.found_at or (state.operations, time.monotonic() - state.started)
        sig = state.signature or signature(shrunk.execution.history, state.model, shrunk.violation, shrunk.core)
        finding = state.findings.add(sig, shrunk.program.describe() if shrunk.program else "", shrunk.execution.history,
                                     state.model, shrunk.violation, shrunk.core, found_at)
        state.progress.say(f"finding {finding.number}: {sig[0]} on {sig[1]}; searching on (--keep-going)")
        if state.spent():
            return first
        state.next_finding()


def _refusal_note(refused: Mapping[str, int]) -> str | None:
    """One line about the connection attempts the server refused, or ``None``.

    >>> _refusal_note({"max clients": 3})
    '3 connection attempts refused by the server (3 max clients); the clients tried again'
    """
    total = sum(refused.values())
    if not total:
        return None
    counts = ", ".join(f"{count} {code}" for code, count in sorted(refused.items(), key=lambda item: -item[1]))
    return f"{total} connection attempt{'s' if total != 1 else ''} refused by the server ({counts}); the clients tried again"
