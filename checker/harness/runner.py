"""``redlin run``: does a Redis server keep Redis's concurrency guarantees?  Find out by testing it.

:func:`run` drives one test of a server, by one of two workloads:

- *programs* (every family of :mod:`redlin.harness.workloads`): Hypothesis draws parallel programs,
  each runs :data:`DEFAULT_REPEAT` times and every run's history is checked; a failing program is
  shrunk and its failing history minimised (:mod:`redlin.harness.program_search`);
- ``--workload pubsub``: rounds of ``--clients`` publishers and subscribers
  (:func:`redlin.harness.pubsub.record_pubsub`: every message a subscriber reads is an operation; at
  most ``--steps`` and :data:`ROUND_MESSAGES` PUBLISHes a round) until ``--ops`` or ``--duration``;
  each round is checked, and the first violating one is minimised
  (:func:`redlin.adapter.pubsub_check.minimise_pubsub`) and reported.  There is no program to
  shrink: a round's choices come from the seed.

Around either: the arguments, the workload and the target are checked before anything is sent
(:mod:`redlin.harness.preflight`), progress goes to stderr (:mod:`redlin.harness.progress`), and
the verdict, report and counterexample are written at the end (:mod:`redlin.harness.run_report`)
into a :class:`RunOutcome` (:mod:`redlin.harness.outcome`, which also renders it as text).

Targets: the embedded model server (the default: no Redis needed, and ``--fault NAME`` plants a
bug in it, see :data:`redlin.serve.server.FAULTS`), or any server by URL.  Every key lives under
``redlin:<run-id>:``; nothing else is touched (:class:`redlin.harness.recorder.Guard`), and the run
deletes its keys at the end.

Verdicts and exit codes (:mod:`redlin.errors`): 0 linearizable (every run was proved
linearizable), 1 violation, 2 unknown (some run could not be decided within the check budget, none
was proved wrong), 3 usage or connection error, 130 if Ctrl-C came before anything could be
checked.  An unknown run is never counted as linearizable.
"""

from __future__ import annotations

import datetime
import os
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from redlin.adapter.pubsub_check import minimise_pubsub
from redlin.adapter.redis_model import redis_model
from redlin.errors import UsageError
from redlin.harness.guard import Guard
from redlin.harness.outcome import RunOutcome, RunStats, render_outcome
from redlin.harness.preflight import (
    OpenTarget,
    check_safety,
    new_run_id,
    open_target,
    resolve_workload,
    validate,
)
from redlin.harness.program_search import (
    Counterexample,
    ProgramSearch,
    SearchEnded,
    search_programs,
    shrink_counterexample,
)
from redlin.harness.progress import Progress, Quiet
from redlin.harness.pubsub import PubSubWorkload, record_pubsub
from redlin.harness.recorder import Recorder, TargetError
from redlin.harness.run_report import RunRecord, conclude_programs, conclude_rounds
from redlin.harness.wire import WireError
from redlin.harness.workloads import FAMILIES, Family
from redlin.history.jsonl import HistoryWriter
from redlin.history.records import History
from redlin.search.check import check
from redlin.search.result import Result, Unknown, Violation

__all__ = [
    "DEFAULT_CHECK_TIME", "DEFAULT_CLIENTS", "DEFAULT_DATABASE", "DEFAULT_OPS", "DEFAULT_REPEAT",
    "DEFAULT_SHRINK_TIME", "DEFAULT_STEPS", "DEFAULT_TIMEOUT", "FAULT_WORKLOADS", "Progress", "RunOutcome",
    "RunStats", "render_outcome", "run",
]

DEFAULT_CLIENTS: Final = 4
DEFAULT_STEPS: Final = 25
DEFAULT_OPS: Final = 3000
DEFAULT_REPEAT: Final = 3
DEFAULT_TIMEOUT: Final = 5.0
DEFAULT_CHECK_TIME: Final = 10.0
DEFAULT_SHRINK_TIME: Final = 10.0
DEFAULT_DATABASE: Final = Path(".hypothesis") / "redlin"
ROUND_MESSAGES: Final = 10
"""The most PUBLISHes of one round of ``redlin run --workload pubsub``: small histories are found
wrong just as surely (rounds repeat) and minimise to small cores quickly."""

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
}
"""For each planted fault of the embedded server, the workload family that exposes it best
(``mixed``, the default, exposes every one, a little more slowly)."""


def run(
    target: str | None = None,
    *,
    fault: str | None = None,
    workload: str | Family = "mixed",
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
    allow_destructive: bool = False,
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
        many seconds.  A violation stops the run earlier.
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
        Seconds of checking per run; a run not decided by then is unknown.
    shrink_time:
        Seconds for shrinking a failing program (then for minimising its history).
    allow_destructive:
        Let a workload send FLUSHALL, FLUSHDB, CONFIG, DEBUG and the like (keys stay under the prefix).
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
    validate(fault=fault, target=target, clients=clients, steps=steps, ops=ops, duration=duration,
             rate=None if pubsub else rate, repeat=1 if pubsub else repeat, timeout=timeout)
    run_id = new_run_id()
    plan = _Plan(target=target, fault=fault, clients=clients, steps=steps, ops=ops, duration=duration, rate=rate,
                 seed=seed, repeat=repeat, timeout=timeout, check_time=check_time, shrink_time=shrink_time,
                 password_env=password_env, run_id=run_id,
                 out_dir=Path(out) if out is not None else Path("reports") / run_id)
    if pubsub:
        return _run_pubsub(plan, progress or Quiet())
    source = resolve_workload(workload)
    notes: list[str] = []
    if workload == "mixed" and source.commands() != FAMILIES["mixed"].commands():
        missing = sorted(FAMILIES["mixed"].commands() - source.commands())
        notes.append(f"mixed workload without {', '.join(missing)} (redlin's model does not implement them yet)")
    guard = Guard(plan.prefix, allow_destructive=allow_destructive)
    check_safety(source, guard)
    return _run_programs(plan, source, guard, notes, Path(database) if database is not None else None,
                         progress or Quiet())


@dataclass(frozen=True, slots=True)
class _Plan:
    """One call of :func:`run`: its arguments (checked) and the run's identity."""

    target: str | None
    fault: str | None
    clients: int
    steps: int
    ops: int | None
    duration: float | None
    rate: float | None
    seed: int
    repeat: int
    timeout: float
    check_time: float
    shrink_time: float
    password_env: str | None
    run_id: str
    out_dir: Path

    @property
    def prefix(self) -> bytes:
        """Every key of the run starts with it: ``redlin:<run-id>:``."""
        return f"redlin:{self.run_id}:".encode()

    def open(self, stack: ExitStack) -> OpenTarget:
        return open_target(stack, self.target, fault=self.fault, seed=self.seed, password_env=self.password_env,
                           timeout=self.timeout, out_dir=self.out_dir)

    def record(self, opened: OpenTarget, **meta: Any) -> RunRecord:
        """What the history file's meta line and the report say about the run."""
        facts = {"run_id": self.run_id, "target": opened.target.url, "embedded": self.target is None,
                 "fault": self.fault, "seed": self.seed, "clients": self.clients, "steps": self.steps, **meta,
                 "prefix": self.prefix.decode(), "server_version": opened.server_version,
                 "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        return RunRecord(self.run_id, self.prefix, opened.described, self.out_dir, opened.history_path, facts)


def _run_programs(plan: _Plan, source: Family, guard: Guard, notes: list[str], database: Path | None,
                  progress: Progress) -> RunOutcome:
    """Search for a failing program, shrink it, and report (see the module docstring)."""
    started = time.monotonic()
    with ExitStack() as stack:
        opened = plan.open(stack)
        record = plan.record(opened, workload=source.name, repeat=plan.repeat)
        writer = stack.enter_context(HistoryWriter(opened.history_path, model="redis", **record.meta))
        recorder = Recorder(opened.target, writer, guard, timeout=plan.timeout, rate=plan.rate,
                            on_operation=progress.tick)
        state = ProgramSearch(recorder, plan.prefix, plan.repeat, plan.check_time, plan.shrink_time,
                              None if plan.duration else plan.ops,
                              None if plan.duration is None else time.monotonic() + plan.duration, progress)
        progress.total_ops, progress.duration = state.ops_budget, plan.duration
        interrupted = False
        found: Counterexample | None = None
        ended: BaseException | None = None
        try:
            with progress:
                for note in notes:
                    progress.say(note)
                failing = search_programs(state, source, clients=plan.clients, steps=plan.steps, seed=plan.seed,
                                          database=database)
                if failing is not None:
                    found = shrink_counterexample(state, failing)
        except KeyboardInterrupt:
            interrupted = True
            recorder.stop.set()
            progress.say("interrupted: checking what was recorded")
            state.check_cut_short()
        except SearchEnded as error:
            ended = error.__cause__
        finally:
            recorder.stop.clear()
            _delete_keys(recorder, notes)
        stats = state.stats(time.monotonic() - started, interrupted)
        if state.problems:
            notes.append(f"{state.problems} client{'s' if state.problems != 1 else ''} stopped early, "
                         f"e.g. {state.first_problem}")
        if isinstance(ended, TargetError | WireError):
            raise UsageError(f"lost the target {opened.target.url}: {ended}") from None
        if ended is not None:
            raise ended
        if found is None:  # Ctrl-C while shrinking or minimising, or a violation in the run it cut short
            found = state.failure_so_far()
        writer.close()
        return conclude_programs(record, state, found, stats, notes)


def _delete_keys(recorder: Recorder, notes: list[str]) -> None:
    try:
        recorder.delete_keys(recorder.touched)
    except (WireError, TargetError) as error:
        notes.append(f"could not delete the run's keys: {error}")


def _run_pubsub(plan: _Plan, progress: Progress) -> RunOutcome:
    """``--workload pubsub``: rounds of publishers and subscribers, each round recorded and checked
    (see the module docstring); the first violating round is minimised and reported."""
    if plan.clients < 2:
        raise UsageError("--workload pubsub needs at least 2 clients (a publisher and a subscriber)")
    publishers = max(1, plan.clients // 2)
    workload = PubSubWorkload(publishers=publishers, subscribers=plan.clients - publishers,
                              messages=max(1, min(plan.steps, ROUND_MESSAGES) // publishers))
    budget = None if plan.duration else (plan.ops or DEFAULT_OPS)
    deadline = None if plan.duration is None else time.monotonic() + plan.duration
    model = redis_model()
    notes: list[str] = []
    checked: list[tuple[History, Result]] = []
    found: tuple[History, Violation, tuple[int, ...]] | None = None
    found_at: tuple[int, float] | None = None
    operations = indeterminate = 0
    next_client = 1  # client ids stay unique over the rounds of the history file
    origin: int | None = None  # the first invocation of the history file: time 0 of every round
    interrupted = False
    with ExitStack() as stack:
        opened = plan.open(stack)
        record = plan.record(opened, workload="pubsub", publishers=workload.publishers,
                             subscribers=workload.subscribers)
        writer = stack.enter_context(HistoryWriter(opened.history_path, model="redis", **record.meta))
        progress.total_ops, progress.duration = budget, plan.duration
        started = time.monotonic()
        with progress:
            try:
                while found is None and (operations < budget if budget is not None
                                         else time.monotonic() < (deadline or 0)):
                    index = len(checked)
                    try:
                        recording = record_pubsub(opened.target, writer, workload, seed=plan.seed * 1_000_003 + index,
                                                  prefix=plan.prefix + b"%d:" % index, timeout=plan.timeout,
                                                  on_operation=progress.tick, first_client=next_client)
                    except (TargetError, WireError) as error:
                        raise UsageError(f"lost the target {opened.target.url}: {error}") from None
                    progress.programs += 1
                    if origin is None and len(recording.history):
                        origin = min(op.invoke for op in recording.history)
                    history = _round_history(recording.history, plan.prefix, origin)
                    next_client = max((op.client for op in history if isinstance(op.client, int)),
                                      default=next_client) + 1
                    operations += len(history)
                    indeterminate += sum(1 for op in history if not op.definite)
                    notes += [problem for problem in recording.problems if problem not in notes]
                    result = check(history, model, time_limit=plan.check_time)
                    checked.append((history, result))
                    if isinstance(result, Violation):
                        found_at = (operations, time.monotonic() - started)
                        progress.phase = "minimising"
                        progress.say(f"violation found after {operations} operations ({found_at[1]:.1f} s); "
                                     "minimising the round")
                        found = (history, result, minimise_pubsub(history, result, time_limit=plan.shrink_time))
                    if recording.interrupted:
                        interrupted = True
                        break
            except KeyboardInterrupt:
                interrupted = True
        writer.close()
    unknown = sum(1 for _, result in checked if isinstance(result, Unknown))
    stats = RunStats(programs=len(checked), executions=len(checked), operations=operations,
                     elapsed=time.monotonic() - started, unknown_executions=unknown, indeterminate=indeterminate,
                     found_after_operations=found_at[0] if found_at else None,
                     found_after_seconds=found_at[1] if found_at else None, interrupted=interrupted)
    return conclude_rounds(record, checked, found, stats, notes)


def _round_history(history: History, prefix: bytes, origin: int | None) -> History:
    """A round's history as a part of the run's: keys named under the run's prefix, times from
    the run's start (see :mod:`redlin.explain.names`)."""
    meta: dict[str, object] = {**history.meta, "model": "redis", "prefix": prefix.decode()}
    if origin is not None:
        meta["time_origin"] = origin
    return History(history.operations, meta)
