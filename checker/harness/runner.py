"""``redlin run``: does a Redis server keep Redis's concurrency guarantees?  Find out by testing it.

:func:`run` drives one test of a server, by one of two workloads:

- *programs* (every family of :mod:`redlin.harness.workloads`): Hypothesis draws parallel programs,
  each runs :data:`DEFAULT_REPEAT` times and every run's history is checked; a failing program is
  shrunk and its failing history minimised (:mod:`redlin.harness.program_search`);
- ``--workload pubsub``: rounds of ``--clients`` publishers and subscribers, each checked on its
  own (:mod:`redlin.harness.rounds`);
- ``default``: first Pub/Sub rounds for :data:`PUBSUB_SHARE` of the budget (a few seconds at most) (their report in
  ``<out>/pubsub/``; a violation there is the run's verdict), then programs for the rest.

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

from redlin.adapter.profiles import explaining_profile
from redlin.adapter.redis_model import redis_model
from redlin.errors import UsageError
from redlin.harness.budget import REPORT_ALLOWANCE, VERSION_CHECK_TIME
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
from redlin.harness.preflight import (
    check_safety,
    for_profile,
    new_run_id,
    resolve_profile,
    resolve_workload,
    script_guard_refusal,
    sends_scripts,
    validate,
    without_scripts,
)
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
from redlin.harness.run_profile import AUTO
from redlin.harness.run_report import conclude_programs
from redlin.harness.run_transactions import with_transactions
from redlin.harness.server_state import closing_finding, rejection_note, restart_note
from redlin.harness.wire import WireError
from redlin.harness.workloads import FAMILIES, Family

__all__ = [
    "DEFAULT_CHECK_TIME", "DEFAULT_CLIENTS", "DEFAULT_DATABASE", "DEFAULT_OPS", "DEFAULT_RECONNECT_FOR",
    "DEFAULT_REPEAT", "DEFAULT_SHRINK_TIME", "DEFAULT_STEPS", "DEFAULT_TIMEOUT", "FAULT_WORKLOADS", "PUBSUB_SHARE", "ROUND_MESSAGES",
    "Progress", "RunOutcome", "RunStats", "render_outcome", "run",
]

PUBSUB_SHARE: Final = 0.1
"""The share of the budget (operations or time) the default workload spends on Pub/Sub rounds
first, before its programs, up to :data:`PUBSUB_MOST_SECONDS` or :data:`PUBSUB_MOST_OPS`: a
Pub/Sub round is small and quickly checked, so a few seconds of them are many rounds, and the
programs' faults are not found later for them."""
PUBSUB_MOST_SECONDS: Final = 1.0
PUBSUB_MOST_OPS: Final = 1000
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
    "script-cache-per-connection": "default",
    "count-as-bulk": "default",
    "wrongtype-as-err": "default",
    "arity-error-typed-name": "default",
    "group-forgets-delivery": "stream",
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
    protocol: int = 2,
    profile: str = AUTO,
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
    protocol:
        The RESP version the recorder speaks (3: ``HELLO 3`` on every connection, RESP3 replies
        recorded and checked exactly), Pub/Sub rounds included (messages and confirmations are
        pushes).
    profile:
        The version the target is checked as (:data:`redlin.model.PROFILES`), or ``auto``: from the
        target's ``INFO server`` (:mod:`redlin.harness.run_profile`); the embedded server plays the
        profile named, Redis 7.0 for ``auto``.  A violation that another profile's model explains
        is reported as a version difference (:attr:`RunOutcome.version_difference`).

    Raises
    ------
    UsageError
        Bad arguments, a workload the model cannot check, or an unreachable target.
    """
    pubsub = workload == "pubsub"
    if protocol not in (2, 3):
        raise UsageError(f"--protocol must be 2 or 3, not {protocol}")
    if pubsub and keep_going:
        raise UsageError("--keep-going searches programs; --workload pubsub records rounds and stops at its "
                         "first violation")
    validate(fault=fault, target=target, clients=clients, steps=steps, ops=ops, duration=duration,
             rate=None if pubsub else rate, repeat=1 if pubsub else repeat, timeout=timeout,
             reconnect_for=reconnect_for, profile=profile)
    run_id = new_run_id()
    plan = RunPlan(target=target, fault=fault, clients=clients, steps=steps, ops=ops, duration=duration, rate=rate,
                   seed=seed, repeat=repeat, timeout=timeout, check_time=check_time, shrink_time=shrink_time,
                   reconnect_for=reconnect_for, password_env=password_env, run_id=run_id,
                   out_dir=Path(out) if out is not None else Path("reports") / run_id, protocol=protocol)
    with Interrupts() as interrupts:
        if pubsub:
            return run_rounds(_with_profile(plan, profile, progress or Quiet()), progress or Quiet(), interrupts)
        source = resolve_workload(workload)
        notes: list[str] = []
        if workload == "mixed" and source.commands() != FAMILIES["mixed"].commands():
            missing = sorted(FAMILIES["mixed"].commands() - source.commands())
            notes.append(f"mixed workload without {', '.join(missing)} (redlin's model does not implement them yet)")
        guard = Guard(plan.prefix, allow_destructive=allow_destructive)
        check_safety(source, guard)
        plan = _with_profile(plan, profile, progress or Quiet())
        source = for_profile(source, plan.profile.name)
        first: RunOutcome | None = None
        if workload == "default" and plan.clients >= 2:
            first = run_rounds(_pubsub_share(plan), progress or Quiet(), interrupts)
            stats = first.stats
            if ((first.verdict == "violation" and not keep_going) or stats.interrupted
                    or stats.target_lost is not None):
                return first
            notes.append(_pubsub_note(first))
            if plan.duration is not None:
                plan = replace(plan, duration=max(1.0, plan.duration - stats.elapsed))
        outcome = _run_programs(plan, source, guard, notes, Path(database) if database is not None else None,
                                progress or Quiet(), interrupts, keep_going, None if first is None else first.stats)
        return with_transactions(outcome, source.name, time_limit=plan.check_time)


def _with_profile(plan: RunPlan, requested: str, progress: Progress) -> RunPlan:
    """The plan with its profile chosen (:func:`~redlin.harness.preflight.resolve_profile`: a
    target's ``INFO server`` is read once), said on the console with why, and warned about when
    ``--profile`` contradicts the server."""
    choice = resolve_profile(requested, plan.target, password_env=plan.password_env, timeout=plan.timeout)
    progress.say(choice.line())
    if choice.warning is not None:
        progress.say(f"warning: {choice.warning}")
    return replace(plan, profile=choice)


def _pubsub_share(plan: RunPlan) -> RunPlan:
    """The default workload's first part: Pub/Sub rounds (:mod:`redlin.harness.rounds`) for
    :data:`PUBSUB_SHARE` of the budget, reported on their own in ``<out>/pubsub/``."""
    ops = None if plan.duration else max(ROUND_MESSAGES, min(PUBSUB_MOST_OPS, int((plan.ops or DEFAULT_OPS) * PUBSUB_SHARE)))
    duration = None if plan.duration is None else min(PUBSUB_MOST_SECONDS, max(0.5, plan.duration * PUBSUB_SHARE))
    return replace(plan, ops=ops, duration=duration, run_id=plan.run_id + "-pubsub", out_dir=plan.out_dir / "pubsub")


def _pubsub_note(outcome: RunOutcome) -> str:
    stats = outcome.stats
    found = "a violation (--keep-going: the programs ran on)" if outcome.verdict == "violation" else outcome.verdict
    return (f"Pub/Sub: {stats.programs} rounds, {stats.operations:,} operations, {found}; report: "
            f"{outcome.paths.get('html', outcome.out)}")


def _run_programs(plan: RunPlan, source: Family, guard: Guard, notes: list[str], database: Path | None,
                  progress: Progress, interrupts: Interrupts, keep_going: bool = False,
                  before: RunStats | None = None) -> RunOutcome:
    """Search for a failing program, shrink it, and report (see the module docstring).  ``before``:
    what the default workload's Pub/Sub rounds did first; operations and times count from the
    start of those (the operations budget is the whole run's)."""
    with ExitStack() as stack:
        opened = plan.open(stack)
        refusal = (script_guard_refusal(opened.target, plan.timeout)
                   if any(sends_scripts(step) for step in (*source.setup, *source.steps)) else None)
        if refusal is not None:  # KeyDB, or scripting denied by ACL: no script is sent
            source = without_scripts(source, refusal)
            notes.append(f"scripts left out: this server cannot run them inside redlin's script guard ({refusal})")
        record = plan.record(opened, workload=source.name, repeat=plan.repeat)
        journal = stack.enter_context(Journal(opened.history_path, model="redis", **record.meta))
        recorder = Recorder(opened.target, journal, guard, timeout=plan.timeout, rate=plan.rate,
                            on_operation=progress.tick, reconnect_time=min(RECONNECT_TIME, plan.reconnect_for),
                            protocol=plan.protocol)
        watch = TargetWatch(opened.target, journal, timeout=plan.timeout, reconnect_for=plan.reconnect_for,
                            run_id=opened.server_run_id, progress=progress)
        keys = RunKeys(recorder)
        budget = plan.budget()
        state = ProgramSearch(recorder, plan.prefix, plan.repeat, budget, None if plan.duration else plan.ops,
                              progress, journal, watch, keys, started=budget.started,
                              findings=Findings() if keep_going else None,
                              model=redis_model(protocol=plan.protocol, profile=plan.profile.name))
        if before is not None:
            state.operations, state.started = before.operations, budget.started - before.elapsed
        progress.total_ops, progress.duration = state.ops_budget, plan.duration
        progress.busy = lambda: (recorder.busy_ns / 1e9, plan.clients)
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
        # A violation that another version's model explains is that version's behaviour, not a bug.
        version = None if found is None else explaining_profile(
            found.execution.history, plan.profile.name, time_limit=VERSION_CHECK_TIME, protocol=plan.protocol)
        outcome = conclude_programs(record, state, found, stats, notes, extra, version)
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
