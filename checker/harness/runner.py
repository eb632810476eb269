"""``redlin run``: does a Redis server keep Redis's concurrency guarantees?  Find out by testing it.

The test is a Hypothesis property over parallel programs (:func:`redlin.harness.workloads.programs`):
*every run of the program is linearizable against the model*.  Each drawn program runs
:data:`DEFAULT_REPEAT` times against the target (:class:`redlin.harness.recorder.Recorder`, one connection
per client, every operation recorded as it happens) and each recorded history is checked
(:func:`redlin.check`, with a time budget).  When a run is not linearizable, Hypothesis shrinks the
program (a program that failed once is known to fail: it is not re-run, which keeps shrinking
deterministic although the failures themselves are not), and the checker then minimises the failing
history to a small core of operations (:func:`redlin.minimise`).  Last, the program is cut down to
the steps that sent the core's operations, step by step, as long as it still fails (the checker
knows which steps matter; Hypothesis does not).  Hypothesis's shrunk program is saved in its
example database, so the next run replays it first.

Targets: the embedded model server (the default: no Redis needed, and ``--fault NAME`` plants a
bug in it, see :data:`redlin.serve.server.FAULTS`), or any server by URL.  Every key lives under
``redlin:<run-id>:``; nothing else is touched (:class:`redlin.harness.recorder.Guard`), and the run deletes
its keys at the end.

``--workload pubsub`` is different: rounds of ``--clients`` publishers and subscribers
(:func:`redlin.harness.pubsub.record_pubsub`: every message a subscriber reads is an operation; at most
``--steps`` and 10 PUBLISHes a round) until ``--ops`` or ``--duration``; each round is checked, and the
first violating one is minimised (:func:`redlin.harness.pubsub.minimise_pubsub`) and reported.  There is
no program to shrink: a round's choices come from the seed.

Verdicts and exit codes: 0 linearizable (every run was proved linearizable), 1 violation, 2 unknown
(some run could not be decided within the check budget, none was proved wrong), 3 usage or
connection error, 130 if Ctrl-C came before anything could be checked.  An unknown run is never
counted as linearizable.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import secrets
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import IO, Any, Final

from hypothesis import HealthCheck, Phase, Verbosity, given
from hypothesis import seed as with_seed
from hypothesis import settings as Settings
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import Flaky

from redlin.adapter.redis_model import redis_model
from redlin.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_UNKNOWN, EXIT_VIOLATION, UsageError
from redlin.harness.recorder import (
    Execution,
    Guard,
    Recorder,
    Target,
    TargetError,
    UnsafeCommand,
    open_connection,
    possible_commands,
)
from redlin.harness.wire import WireError
from redlin.harness.workloads import (
    BASE_FAMILIES,
    FAMILIES,
    Family,
    Program,
    example_actions,
    family,
    mixed,
    programs,
)
from redlin.history.jsonl import HistoryWriter, load_history, save_history
from redlin.history.records import History, Operation
from redlin.model import COMMANDS
from redlin.report.text import render_text
from redlin.search.check import check
from redlin.search.minimise import minimise
from redlin.search.result import Linearizable, Result, Unknown, Violation

__all__ = [
    "DEFAULT_OPS", "FAULT_WORKLOADS", "Progress", "RunOutcome", "RunStats",
    "render_outcome", "run",
]

DEFAULT_CLIENTS: Final = 4
DEFAULT_STEPS: Final = 25
DEFAULT_OPS: Final = 3000
DEFAULT_REPEAT: Final = 3
DEFAULT_TIMEOUT: Final = 5.0
DEFAULT_CHECK_TIME: Final = 10.0
DEFAULT_SHRINK_TIME: Final = 10.0
DEFAULT_DATABASE: Final = Path(".hypothesis") / "redlin"
SHRINK_REPEAT_FACTOR: Final = 3
"""While shrinking, a candidate program runs this many times more before it counts as passing:
most failures depend on timing, and a shrink step that fails to reproduce is a step lost."""
BATCH_EXAMPLES: Final = 25
"""Programs per Hypothesis search; searches repeat (with new seeds) until the budget is spent."""
MAX_REPORTED_OPERATIONS: Final = 200_000
"""Up to this many operations the report covers the whole history file; beyond (long soak runs) it
covers the latest runs only and goes to ``<out>/report/``."""

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


@dataclass(frozen=True, slots=True)
class RunStats:
    """What a run did."""

    programs: int
    executions: int
    operations: int
    elapsed: float
    unknown_executions: int = 0
    indeterminate: int = 0
    """Operations that timed out or lost their connection (they may or may not have taken effect)."""
    found_after_operations: int | None = None
    found_after_seconds: float | None = None
    interrupted: bool = False


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """The result of :func:`run`.

    ``result`` is about ``history``: for a violation, the history of the failing run of the shrunk
    ``program`` (and ``core``, the minimal counterexample, are operation ids in it); otherwise the
    runs checked, put one after another.  ``result`` is ``None`` only when nothing was checked.
    """

    verdict: str
    exit_code: int
    run_id: str
    prefix: str
    target: str
    out: Path
    paths: Mapping[str, Path]
    stats: RunStats
    result: Result | None = None
    history: History | None = None
    core: tuple[int, ...] = ()
    program: Program | None = None
    notes: tuple[str, ...] = ()


# ----------------------------------------------------------------------------- progress


class Progress:
    """Progress on stderr: one updating line on a terminal, a plain line every few seconds otherwise."""

    def __init__(self, stream: IO[str] | None = None, *, total_ops: int | None, duration: float | None,
                 tty: bool | None = None, interval: float | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.total_ops = total_ops
        self.duration = duration
        self.interval = interval if interval is not None else (0.2 if self.tty else 5.0)
        self.operations = 0
        self.programs = 0
        self.phase = "testing"
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._width = 0

    def tick(self) -> None:
        self.operations += 1  # racy by design: a display counter, read-only elsewhere

    def say(self, text: str) -> None:
        """A line of its own (a phase change)."""
        with self._lock:
            if self.tty and self._width:
                self.stream.write("\r" + " " * self._width + "\r")
                self._width = 0
            self.stream.write(f"redlin: {text}\n")
            self.stream.flush()

    def line(self) -> str:
        elapsed = time.monotonic() - self._started
        text = f"{self.operations} ops, {self.programs} programs, {elapsed:.1f} s"
        if self.phase != "testing":
            return f"{self.phase}: {text}"
        fraction = None
        if self.duration:
            fraction = elapsed / self.duration
        elif self.total_ops:
            fraction = self.operations / self.total_ops
        if fraction is None:
            return text
        fraction = min(1.0, fraction)
        if self.tty:
            filled = int(fraction * 24)
            return f"[{'#' * filled}{'.' * (24 - filled)}] {fraction:4.0%}  {text}"
        return f"{fraction:.0%}: {text}"

    def _render(self) -> None:
        with self._lock:
            if self.tty:
                text = self.line()
                self.stream.write("\r" + text.ljust(self._width))
                self._width = len(text)
            else:
                self.stream.write(f"redlin: {self.line()}\n")
            self.stream.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._render()

    def __enter__(self) -> Progress:
        self._thread = threading.Thread(target=self._loop, name="redlin-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self.tty and self._width:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()
                self._width = 0


class _Quiet(Progress):
    """No progress at all."""

    def __init__(self) -> None:
        super().__init__(sys.stderr, total_ops=None, duration=None, tty=False)

    def say(self, text: str) -> None:
        pass

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


# ----------------------------------------------------------------------------- the search


class _Fatal(Exception):
    """Wraps an error that must end the search (raised again after Hypothesis returns)."""


class _StopSearch(KeyboardInterrupt):
    """The budget is spent: end Hypothesis's search now.  A ``KeyboardInterrupt``, because that is
    the one exception Hypothesis passes straight through without taking it for a failure or saving
    the example at hand in its database (where it would replay first next time)."""


@dataclass
class _Search:
    """The property and the bookkeeping around it."""

    recorder: Recorder
    prefix: bytes
    repeat: int
    check_time: float
    shrink_time: float
    ops_budget: int | None
    deadline: float | None
    progress: Progress
    started: float = field(default_factory=time.monotonic)
    model: Any = field(default_factory=redis_model)
    executions: int = 0
    operations: int = 0
    programs: int = 0
    unknown: int = 0
    indeterminate: int = 0
    problems: int = 0
    first_problem: str | None = None
    checked: list[tuple[Execution, Result]] = field(default_factory=list)
    checked_operations: int = 0
    checked_indexes: set[int] = field(default_factory=set)
    truncated: bool = False
    """Older runs were dropped from :attr:`checked` to bound memory (the report covers the latest)."""
    failures: dict[Program, tuple[Execution, Violation]] = field(default_factory=dict)
    latest: Program | None = None
    """The failing program found last: while shrinking, Hypothesis's best so far (its shrinker only
    tries programs smaller than its best), which is also what its database holds."""
    partial: tuple[Execution, Violation] | None = None
    """A violation in the run Ctrl-C cut short (no program to shrink)."""
    found_at: tuple[int, float] | None = None
    shrink_deadline: float | None = None
    fatal: BaseException | None = None

    def spent(self) -> bool:
        if self.deadline is not None:
            return time.monotonic() >= self.deadline
        return self.ops_budget is not None and self.operations >= self.ops_budget

    def fails(self, program: Program) -> bool:
        """The negated property: some run of ``program`` is not linearizable."""
        if program in self.failures:
            return True
        if self.fatal is not None:
            raise _StopSearch
        if self.found_at is None:
            if self.spent():
                raise _StopSearch
        elif self.shrink_deadline is not None and time.monotonic() >= self.shrink_deadline:
            raise _StopSearch
        self.programs += 1
        self.progress.programs = self.programs
        try:
            for _ in range(self.repeat if self.found_at is None else self.repeat * SHRINK_REPEAT_FACTOR):
                if self.run_once(program):
                    return True
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 - re-raised after the search
            self.fatal = error
            raise _StopSearch from None
        return False

    def attempt(self, program: Program) -> tuple[Execution, Result]:
        """Run ``program`` once under a fresh sub-prefix and check what was recorded."""
        index = self.executions
        self.executions += 1
        try:
            execution = self.recorder.execute(program, self.prefix + f"{index}:".encode(), index)
        finally:
            if self.recorder.last is not None and self.recorder.last.index == index:
                self.operations += len(self.recorder.last.history)
        result = check(execution.history, self.model, time_limit=self.check_time)
        self.keep(execution, result)
        if isinstance(result, Unknown):
            self.unknown += 1
        return execution, result

    def run_once(self, program: Program) -> bool:
        execution, result = self.attempt(program)
        if isinstance(result, Violation):
            self.failures[program] = (execution, result)
            self.latest = program
            if self.found_at is None:
                self.found_at = (self.operations, time.monotonic() - self.started)
                self.shrink_deadline = time.monotonic() + self.shrink_time
                self.progress.phase = "shrinking"
                self.progress.say(f"violation found after {self.operations} operations "
                                  f"({self.found_at[1]:.1f} s); shrinking the program")
            return True
        return False

    def keep(self, execution: Execution, result: Result) -> None:
        self.checked.append((execution, result))
        self.checked_indexes.add(execution.index)
        self.indeterminate += sum(1 for op in execution.history if not op.definite)
        self.problems += len(execution.problems)
        if execution.problems and self.first_problem is None:
            self.first_problem = execution.problems[0]
        self.checked_operations += len(execution.history)
        while self.checked_operations > MAX_REPORTED_OPERATIONS and len(self.checked) > 1:
            dropped, _ = self.checked.pop(0)
            self.checked_operations -= len(dropped.history)
            self.truncated = True

    def stats(self, elapsed: float, interrupted: bool) -> RunStats:
        return RunStats(
            programs=self.programs, executions=self.executions, operations=self.operations, elapsed=elapsed,
            unknown_executions=self.unknown, indeterminate=self.indeterminate,
            found_after_operations=None if self.found_at is None else self.found_at[0],
            found_after_seconds=None if self.found_at is None else self.found_at[1],
            interrupted=interrupted,
        )


class _Found(Exception):
    def __init__(self, program: Program) -> None:
        super().__init__("a run of this program is not linearizable")
        self.program = program


def _search(state: _Search, source: Family, *, clients: int, steps: int, seed: int,
            database: Path | None) -> Program | None:
    """Run the property until a failure is found and shrunk, or the budget is spent.

    Hypothesis runs in batches of :data:`BATCH_EXAMPLES` programs, each batch seeded from ``seed``
    (so the same seed draws the same programs) and each replaying the example database first.
    This is :func:`hypothesis.find` with the database kept although the search is seeded
    (``find(random=...)`` would switch the database off).
    """
    strategy = programs(source, clients=clients, steps=steps)
    db = DirectoryBasedExampleDatabase(str(database)) if database is not None else None

    def every_run_is_linearizable(program: Program) -> None:
        if state.fails(program):
            raise _Found(program)

    # Hypothesis's database key is a digest of the test function, its name included: one per
    # family definition and program shape, so that a saved program replays only where it means the same.
    name = f"redlin_run_{source.name}_{source.digest()}_{clients}x{steps}"
    every_run_is_linearizable.__name__ = "".join(c if c.isalnum() else "_" for c in name)
    batch = 0
    while True:
        test = given(strategy)(every_run_is_linearizable)
        test = with_seed(random.Random(f"{seed}:{batch}").getrandbits(64))(test)
        test = Settings(
            max_examples=BATCH_EXAMPLES, database=db, deadline=None, verbosity=Verbosity.quiet,
            suppress_health_check=list(HealthCheck), report_multiple_bugs=False, print_blob=False,
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        )(test)
        try:
            test()
        except _Found as found:
            return found.program
        except _StopSearch:
            pass
        except Flaky:  # cannot happen with failures cached, but never lose a found failure
            pass
        if state.fatal is not None:
            raise _Fatal() from state.fatal
        if state.latest is not None:  # stopped while shrinking: Hypothesis's best so far
            return state.latest
        if state.spent():
            return None
        batch += 1


@dataclass(frozen=True, slots=True)
class _Counterexample:
    program: Program | None
    execution: Execution
    violation: Violation
    core: tuple[int, ...]


def _counterexample(state: _Search, program: Program) -> _Counterexample:
    """Minimise the history of ``program``'s failing run, then shrink the program further with
    what the checker knows and Hypothesis does not: which steps sent the core's operations.

    First the program cut down to those steps is tried, then (delta debugging over steps, Zeller &
    Hildebrandt 2002) the program without each one of its steps; a candidate replaces the best when
    one of a few runs fails with a core no larger.  Failures depend on timing, so a candidate that
    does not fail proves nothing; the time for all this is bounded.
    """
    execution, violation = state.failures[program]
    state.progress.phase = "minimising"
    state.progress.say(f"minimising the failing history ({len(execution.history)} operations)")
    limit = max(2.0, state.shrink_time / 2)
    best = _Counterexample(program, execution, violation,
                           minimise(execution.history, state.model, violation, time_limit=limit))
    deadline = time.monotonic() + limit
    tried: set[Program] = {program}

    def attempt(candidate: Program) -> bool:
        nonlocal best
        if candidate in tried or time.monotonic() >= deadline:
            return False
        tried.add(candidate)
        for _ in range(state.repeat * SHRINK_REPEAT_FACTOR):
            if time.monotonic() >= deadline:
                return False
            again, result = state.attempt(candidate)
            if isinstance(result, Violation):
                core = minimise(again.history, state.model, result, time_limit=limit)
                if len(core) > len(best.core):
                    return False
                best = _Counterexample(candidate, again, result, core)
                return True
        return False

    changed = True
    while changed and time.monotonic() < deadline:
        current = best.program
        assert current is not None
        wanted = {best.execution.steps[i] for i in best.core if i < len(best.execution.steps)}
        changed = attempt(_keep_steps(current, wanted))
        everything = {(slot, index) for slot, actions in enumerate(current.clients) for index in range(len(actions))}
        for step in sorted(everything):
            if changed:
                break
            changed = attempt(_keep_steps(current, everything - {step}))
    return best


def _keep_steps(program: Program, steps: set[tuple[int, int]]) -> Program:
    """``program`` with only the given client steps, ``(client, index)`` (the setup stays)."""
    return replace(program, clients=tuple(tuple(action for index, action in enumerate(actions) if (slot, index) in steps)
                                          for slot, actions in enumerate(program.clients)))


# ----------------------------------------------------------------------------- the run


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
        A family name (:data:`redlin.harness.workloads.FAMILIES`), a ``.json`` file, or a
        :class:`~redlin.harness.workloads.Family`.  ``mixed`` leaves out the steps whose commands redlin's
        model does not implement yet; any other family must be fully implemented.
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
    if workload == "pubsub":
        return _run_pubsub(target, fault=fault, clients=clients, steps=steps, ops=ops, duration=duration, seed=seed,
                           out=out, timeout=timeout, check_time=check_time, shrink_time=shrink_time,
                           password_env=password_env, progress=progress)
    source = _resolve_workload(workload)
    notes: list[str] = []
    if isinstance(workload, str) and workload == "mixed" and source.commands() != FAMILIES["mixed"].commands():
        missing = sorted(FAMILIES["mixed"].commands() - source.commands())
        notes.append(f"mixed workload without {', '.join(missing)} (redlin's model does not implement them yet)")
    _validate(fault=fault, target=target, clients=clients, steps=steps, ops=ops, duration=duration,
              rate=rate, repeat=repeat, timeout=timeout)
    run_id = _new_run_id()
    prefix = f"redlin:{run_id}:".encode()
    guard = Guard(prefix, allow_destructive=allow_destructive)
    _check_safety(source, guard)
    out_dir = Path(out) if out is not None else Path("reports") / run_id
    progress = progress or _Quiet()
    started = time.monotonic()

    with ExitStack() as stack:
        parsed, described, server_version, paths = _open_target(
            stack, target, fault=fault, seed=seed, password_env=password_env, timeout=timeout, out_dir=out_dir)
        meta: dict[str, Any] = {
            "run_id": run_id, "target": parsed.url, "embedded": target is None, "fault": fault,
            "workload": source.name, "seed": seed, "clients": clients, "steps": steps, "repeat": repeat,
            "prefix": prefix.decode(), "server_version": server_version,
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        writer = stack.enter_context(HistoryWriter(paths["history"], model="redis", **meta))
        recorder = Recorder(parsed, writer, guard, timeout=timeout, rate=rate, on_operation=progress.tick)
        state = _Search(recorder, prefix, repeat, check_time, shrink_time, None if duration else ops,
                        None if duration is None else time.monotonic() + duration, progress)
        progress.total_ops = state.ops_budget
        progress.duration = duration
        interrupted = False
        found: _Counterexample | None = None
        fatal: BaseException | None = None
        try:
            with progress:
                for note in notes:
                    progress.say(note)
                failing = _search(state, source, clients=clients, steps=steps, seed=seed,
                                  database=Path(database) if database is not None else None)
                if failing is not None:
                    found = _counterexample(state, failing)
        except KeyboardInterrupt:
            interrupted = True
            recorder.stop.set()
            progress.say("interrupted: checking what was recorded")
            _check_interrupted(state)
        except _Fatal as error:
            fatal = error.__cause__
        finally:
            recorder.stop.clear()
            _cleanup(recorder, notes)
        stats = state.stats(time.monotonic() - started, interrupted)
        if state.problems:
            notes.append(f"{_count(state.problems, 'client')} stopped early, e.g. {state.first_problem}")
        if fatal is not None:
            if isinstance(fatal, TargetError | WireError):
                raise UsageError(f"lost the target {parsed.url}: {fatal}") from None
            raise fatal
        failed = state.failures[state.latest] if state.latest is not None else state.partial
        if found is None and failed is not None:
            # Ctrl-C while shrinking or minimising, or a violation in the run it cut short.
            core = minimise(failed[0].history, state.model, failed[1], time_limit=2.0)
            found = _Counterexample(state.latest, failed[0], failed[1], core)
        writer.close()
        outcome = _conclude(state, found, stats, meta, out_dir, paths, run_id, prefix, described, notes)
    return outcome


def _run_pubsub(target: str | None, *, fault: str | None, clients: int, steps: int, ops: int | None,
                duration: float | None, seed: int, out: str | os.PathLike[str] | None, timeout: float,
                check_time: float, shrink_time: float, password_env: str | None,
                progress: Progress | None) -> RunOutcome:
    """``--workload pubsub``: rounds of publishers and subscribers, each round recorded and checked
    (see the module doc); the first violating round is minimised and reported."""
    from redlin.harness.pubsub import ROUND_MESSAGES, PubSubWorkload, minimise_pubsub, record_pubsub

    _validate(fault=fault, target=target, clients=clients, steps=steps, ops=ops, duration=duration, rate=None,
              repeat=1, timeout=timeout)
    if clients < 2:
        raise UsageError("--workload pubsub needs at least 2 clients (a publisher and a subscriber)")
    publishers = max(1, clients // 2)
    workload = PubSubWorkload(publishers=publishers, subscribers=clients - publishers,
                              messages=max(1, min(steps, ROUND_MESSAGES) // publishers))
    run_id = _new_run_id()
    prefix = f"redlin:{run_id}:".encode()
    out_dir = Path(out) if out is not None else Path("reports") / run_id
    progress = progress or _Quiet()
    budget = None if duration else (ops or DEFAULT_OPS)
    deadline = None if duration is None else time.monotonic() + duration
    notes: list[str] = []
    checked: list[tuple[History, Result]] = []
    found: tuple[History, Violation, tuple[int, ...]] | None = None
    found_at: tuple[int, float] | None = None
    operations = indeterminate = 0
    next_client = 1  # client ids stay unique over the rounds of the history file
    interrupted = False
    with ExitStack() as stack:
        parsed, described, server_version, paths = _open_target(
            stack, target, fault=fault, seed=seed, password_env=password_env, timeout=timeout, out_dir=out_dir)
        meta: dict[str, Any] = {
            "run_id": run_id, "target": parsed.url, "embedded": target is None, "fault": fault, "workload": "pubsub",
            "seed": seed, "clients": clients, "steps": steps, "publishers": workload.publishers,
            "subscribers": workload.subscribers, "prefix": prefix.decode(), "server_version": server_version,
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        writer = stack.enter_context(HistoryWriter(paths["history"], model="redis", **meta))
        progress.total_ops, progress.duration = budget, duration
        started = time.monotonic()
        with progress:
            try:
                while found is None and (operations < budget if budget is not None
                                         else time.monotonic() < (deadline or 0)):
                    index = len(checked)
                    try:
                        recording = record_pubsub(parsed, writer, workload, seed=seed * 1_000_003 + index,
                                                  prefix=prefix + b"%d:" % index, timeout=timeout,
                                                  on_operation=progress.tick, first_client=next_client)
                    except (TargetError, WireError) as error:
                        raise UsageError(f"lost the target {parsed.url}: {error}") from None
                    progress.programs += 1
                    history = recording.history
                    next_client = max((op.client for op in history if isinstance(op.client, int)),
                                      default=next_client) + 1
                    operations += len(history)
                    indeterminate += sum(1 for op in history if not op.definite)
                    notes += [problem for problem in recording.problems if problem not in notes]
                    result = check(history, redis_model(), time_limit=check_time)
                    checked.append((history, result))
                    if isinstance(result, Violation):
                        found_at = (operations, time.monotonic() - started)
                        progress.phase = "minimising"
                        found = (history, result, minimise_pubsub(history, result, time_limit=shrink_time))
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
    meta.update(programs=len(checked), executions=len(checked), operations=operations,
                unknown_executions=unknown, elapsed=round(stats.elapsed, 3), interrupted=interrupted)
    base = RunOutcome(verdict="unknown", exit_code=EXIT_UNKNOWN, run_id=run_id, prefix=prefix.decode(),
                      target=described, out=out_dir, paths=paths, stats=stats, notes=tuple(notes))
    if found is not None:
        history, violation, core = found
        paths["counterexample"] = out_dir / "counterexample.jsonl"
        save_history(history, paths["counterexample"])
        meta.update(verdict="violation", counterexample_operations=len(core))
        paths.update(_write_report(out_dir, history, redis_model(), violation, core, meta, notes))
        return replace(base, verdict="violation", exit_code=EXIT_VIOLATION, result=violation, history=history,
                       core=core, notes=tuple(notes))
    if not checked:
        return replace(base, verdict="interrupted", exit_code=EXIT_INTERRUPTED) if interrupted else base
    # The rounds follow one another in the history file: each one's ids are offset by those before.
    whole = load_history(paths["history"])
    witness: list[tuple[int, ...]] = []
    parts: list[tuple[int, ...]] = []
    offset = 0
    for history, result in checked:
        if isinstance(result, Linearizable):
            witness += [tuple(offset + i for i in order) for order in result.witness]
            parts += [tuple(offset + i for i in part) for part in result.parts]
        offset += len(history)
    explored = sum(result.states_explored for _, result in checked)
    elapsed = sum(result.elapsed for _, result in checked)
    combined: Result = Linearizable(witness=tuple(witness), parts=tuple(parts), states_explored=explored,
                                    elapsed=elapsed)
    if unknown:
        combined = Unknown(reason=f"{unknown} of {len(checked)} rounds undecided", parts_checked=len(parts),
                           parts_total=len(parts) + unknown, states_explored=explored, elapsed=elapsed)
    meta["verdict"] = combined.verdict
    paths.update(_write_report(out_dir, whole, redis_model(), combined, (), meta, notes))
    code = EXIT_OK if isinstance(combined, Linearizable) else EXIT_UNKNOWN
    return replace(base, verdict=combined.verdict, exit_code=code, result=combined, history=whole)


def _resolve_workload(workload: str | Family) -> Family:
    if isinstance(workload, Family):
        source = workload
    else:
        try:
            source = family(workload)
        except KeyError:
            raise UsageError(f"unknown workload {workload!r} (choose from {', '.join(FAMILIES)}, "
                             "or give a .json file)") from None
        except ValueError as error:
            raise UsageError(str(error)) from None
        if workload == "mixed":
            supported = _model_commands()
            try:
                source = mixed([FAMILIES[name] for name in BASE_FAMILIES], supported=supported)
            except ValueError as error:
                raise UsageError(f"workload mixed: {error}") from None
    missing = sorted(name for name in source.commands() if name not in _model_commands())
    if missing:
        raise UsageError(f"workload {source.name!r} sends {', '.join(missing)}, which redlin's model does "
                         "not implement yet, so its histories cannot be checked")
    return source


def _check_safety(source: Family, guard: Guard) -> None:
    """Refuse, before connecting, a family that would name keys of its own or be destructive."""
    for action in example_actions(source):
        for argv in possible_commands(action, guard.prefix + b"0:"):
            try:
                guard.check(argv)
            except UnsafeCommand as error:
                raise UsageError(f"workload {source.name!r}: {error}") from None


def _model_commands() -> frozenset[str]:
    return frozenset(name.decode().upper() for name in COMMANDS)


def _validate(*, fault: str | None, target: str | None, clients: int, steps: int, ops: int | None,
              duration: float | None, rate: float | None, repeat: int, timeout: float) -> None:
    from redlin.serve.server import FAULTS

    if fault is not None:
        if target is not None:
            raise UsageError("--fault plants a bug in the embedded server: it cannot be combined with --target")
        if fault not in FAULTS:
            raise UsageError(f"unknown fault {fault!r} (choose from {', '.join(FAULTS)})")
    for name, value in (("clients", clients), ("steps", steps), ("repeat", repeat)):
        if value < 1:
            raise UsageError(f"--{name} must be at least 1")
    if ops is not None and ops < 1:
        raise UsageError("--ops must be at least 1")
    if duration is not None and not duration > 0:
        raise UsageError("--duration must be positive")
    if rate is not None and not rate > 0:
        raise UsageError("--rate must be positive")
    if not timeout > 0:
        raise UsageError("--timeout must be positive")


def _new_run_id() -> str:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(2)}"


def _parse_target(url: str, password_env: str | None) -> Target:
    try:
        return Target.parse(url, password_env=password_env)
    except TargetError as error:
        raise UsageError(str(error)) from None


def _preflight(target: Target, timeout: float) -> str | None:
    """Connect once (PING); the server's version from INFO if it tells."""
    try:
        with open_connection(target, timeout) as conn:
            pong = conn.execute(b"PING")
            if getattr(pong, "text", None) != "PONG":
                raise UsageError(f"{target.url} does not answer PING like a Redis server (got {pong!r})")
            info = conn.execute(b"INFO", b"server")
    except (WireError, TargetError) as error:
        raise UsageError(f"cannot use {target.url}: {error}") from None
    if isinstance(info, bytes):
        for line in info.decode("utf-8", "replace").splitlines():
            if line.startswith("redis_version:"):
                return line.split(":", 1)[1].strip()
    return None


def _check_interrupted(state: _Search) -> None:
    """After Ctrl-C: check the execution that was cut short (its other runs were checked already)."""
    last = state.recorder.last
    if last is None or last.index in state.checked_indexes or not len(last.history):
        return
    result = check(last.history, state.model, time_limit=state.check_time)
    state.keep(last, result)
    if isinstance(result, Violation):
        state.partial = (last, result)
        if state.found_at is None:
            state.found_at = (state.operations, time.monotonic() - state.started)
    elif isinstance(result, Unknown):
        state.unknown += 1


def _cleanup(recorder: Recorder, notes: list[str]) -> None:
    try:
        recorder.delete_keys(recorder.touched)
    except (WireError, TargetError) as error:
        notes.append(f"could not delete the run's keys: {error}")


def _open_target(
    stack: ExitStack, target: str | None, *, fault: str | None, seed: int, password_env: str | None, timeout: float,
    out_dir: Path,
) -> tuple[Target, str, str | None, dict[str, Path]]:
    """Start the embedded server if there is no target, reach the target, and make the output
    directory: (parsed target, its description, server version, paths with the history file)."""
    if target is None:
        from redlin.serve.server import start_in_thread

        server = stack.enter_context(start_in_thread(port=0, fault=fault, seed=seed))
        url, described = server.url, f"{server.url} (embedded model server, fault: {fault or 'none'})"
    else:
        url, described = target, ""
    parsed = _parse_target(url, password_env)
    server_version = _preflight(parsed, timeout)
    paths: dict[str, Path] = {"history": out_dir / "history.jsonl"}
    if paths["history"].exists():
        raise UsageError(f"{out_dir} already holds a run's history: choose another --out")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create the output directory {out_dir}: {error.strerror}") from None
    return parsed, described or parsed.url, server_version, paths


def _conclude(state: _Search, found: _Counterexample | None, stats: RunStats, meta: dict[str, Any], out_dir: Path,
              paths: dict[str, Path], run_id: str, prefix: bytes, described: str, notes: list[str]) -> RunOutcome:
    meta = {**meta, "programs": stats.programs, "executions": stats.executions, "operations": stats.operations,
            "unknown_executions": stats.unknown_executions, "elapsed": round(stats.elapsed, 3),
            "found_after_operations": stats.found_after_operations,
            "found_after_seconds": None if stats.found_after_seconds is None else round(stats.found_after_seconds, 3),
            "interrupted": stats.interrupted}
    base = RunOutcome(verdict="unknown", exit_code=EXIT_UNKNOWN, run_id=run_id, prefix=prefix.decode(),
                      target=described, out=out_dir, paths=paths, stats=stats, notes=tuple(notes))
    if found is not None:
        failing, execution, violation, core = found.program, found.execution, found.violation, found.core
        paths["counterexample"] = out_dir / "counterexample.jsonl"
        save_history(execution.history, paths["counterexample"])
        meta.update(verdict="violation", program=failing.describe() if failing else None,
                    program_steps=failing.size if failing else None, counterexample_operations=len(core))
        paths.update(_report(state, out_dir, paths["history"], [(execution, violation)], core, meta, notes))
        return replace(base, verdict="violation", exit_code=EXIT_VIOLATION, result=violation,
                       history=execution.history, core=core, program=failing, notes=tuple(notes))
    if not state.checked:
        if stats.interrupted:
            return replace(base, verdict="interrupted", exit_code=EXIT_INTERRUPTED)
        return base
    history, result = _combine(state.checked, lambda execution: list(range(len(execution.history))), sequential=True)
    meta["verdict"] = result.verdict
    paths.update(_report(state, out_dir, paths["history"], state.checked, (), meta, notes))
    code = EXIT_OK if isinstance(result, Linearizable) else EXIT_UNKNOWN
    return replace(base, verdict=result.verdict, exit_code=code, result=result, history=history,
                   notes=tuple(notes))


IdMap = Callable[[Execution], list[int]]
"""Where each operation of an execution (by its id there) is in the history a report is about."""


def _combine(checked: Sequence[tuple[Execution, Result]], where: IdMap, *, sequential: bool = False,
             history: History | None = None) -> tuple[History, Result]:
    """The checked runs as one history and one result: linearizable if every run was, else unknown.
    Runs touch disjoint keys, so each one's parts are parts of the whole.  ``where`` places each
    run's operations in ``history`` (or, with ``sequential``, in the runs put one after another)."""
    ops: list[Operation] = []
    witness: list[tuple[int, ...]] = []
    parts: list[tuple[int, ...]] = []
    explored, elapsed, undecided, parts_total = 0, 0.0, 0, 0
    reasons: list[str] = []
    for execution, result in checked:
        ids = where(execution) if not sequential else [len(ops) + i for i in range(len(execution.history))]
        if sequential:
            ops.extend(replace(op, id=ids[op.id]) for op in execution.history)
        explored += result.states_explored
        elapsed += result.elapsed
        if isinstance(result, Linearizable):
            witness.extend(tuple(ids[i] for i in order) for order in result.witness)
            parts.extend(tuple(ids[i] for i in part) for part in result.parts)
            parts_total += len(result.parts)
        elif isinstance(result, Unknown):
            undecided += 1
            reasons.append(result.reason)
            parts_total += result.parts_total
    combined = history if history is not None else History(tuple(ops), {"model": "redis"})
    if undecided:
        reason = f"{undecided} of {len(checked)} runs undecided ({sorted(set(reasons))[0]})"
        return combined, Unknown(reason=reason, parts_checked=len(parts), parts_total=parts_total,
                                 states_explored=explored, elapsed=elapsed)
    return combined, Linearizable(witness=tuple(witness), parts=tuple(parts), states_explored=explored,
                                  elapsed=elapsed)


def _report(state: _Search, out_dir: Path, history_path: Path, checked: Sequence[tuple[Execution, Result]],
            core: tuple[int, ...], meta: dict[str, Any], notes: list[str]) -> dict[str, Path]:
    """Write the report about ``checked`` (one failing run, or every run checked).

    The report's history is the run's own ``history.jsonl`` (ids are its invocation order), unless
    it was too long to keep in memory: then a report about the latest runs goes to ``<out>/report/``.
    """
    model = state.model
    full = load_history(history_path) if not state.truncated else None
    covered = sum(len(execution.history) for execution, _ in state.checked)
    if full is not None and (len(checked) > 1 or not isinstance(checked[0][1], Violation)) and covered != len(full):
        full = None  # some recorded operation belongs to no checked run: do not claim anything about it
    if full is not None:
        place = {(op.client, op.invoke): op.id for op in full}

        def where(execution: Execution) -> list[int]:
            return [place[(op.client, op.invoke)] for op in execution.history]

        report_dir, history = out_dir, full
    else:
        offsets: dict[int, int] = {}
        total = 0
        for execution, _ in checked:
            offsets[execution.index] = total
            total += len(execution.history)

        def where(execution: Execution) -> list[int]:
            return [offsets[execution.index] + op.id for op in execution.history]

        report_dir = out_dir / "report"
        history = History(tuple(replace(op, id=where(execution)[op.id]) for execution, _ in checked
                                for op in execution.history), {"model": "redis"})
        meta = {**meta, "report_covers": f"the latest {len(checked)} runs ({len(history)} operations)"}
    execution, result = checked[0]
    if isinstance(result, Violation):
        ids = where(execution)
        result = replace(result, part=tuple(ids[i] for i in result.part), operation=ids[result.operation],
                         prefixes=tuple(tuple((ids[i], s) for i, s in prefix) for prefix in result.prefixes))
        core = tuple(sorted(ids[i] for i in core))
    else:
        history, result = _combine(checked, where, history=history)
    return _write_report(report_dir, history, model, result, core, meta, notes)


def _write_report(out_dir: Path, history: History, model: Any, result: Result, core: tuple[int, ...],
                  meta: dict[str, Any], notes: list[str]) -> dict[str, Path]:
    """The report writer's files, or a minimal result.json and summary.md if it is not there."""
    try:
        from redlin.report.write import write_report

        written = write_report(out_dir, history=history, model=model, result=result, core=core, meta=meta)
    except ImportError:
        pass
    except Exception as error:  # noqa: BLE001 - the verdict matters more than the report's looks
        notes.append(f"the report writer failed ({type(error).__name__}: {error}); wrote a minimal report")
    else:
        return _named_paths(written)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {"verdict": result.verdict, "operations": len(history), "meta": meta,
            "counterexample": [model.describe_operation(history[i]) for i in core]}
    (out_dir / "result.json").write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    summary = [f"# redlin run {meta['run_id']}: {result.verdict}", "",
               f"- target: {meta['target']}", f"- workload: {meta['workload']} ({meta['clients']} clients)",
               f"- operations: {meta['operations']} in {meta['executions']} runs of {meta['programs']} programs",
               ""]
    if meta.get("program"):
        summary += ["## Shrunk program", "", "```", str(meta["program"]), "```", ""]
    summary += ["## Verdict", "", "```", render_text(history, model, result, core), "```", ""]
    (out_dir / "summary.md").write_text("\n".join(summary), encoding="utf-8")
    return {"result": out_dir / "result.json", "summary": out_dir / "summary.md"}


def _named_paths(written: Any) -> dict[str, Path]:
    if isinstance(written, Mapping):
        return {str(k): Path(v) for k, v in written.items()}
    if is_dataclass(written):
        return {f.name: getattr(written, f.name) for f in fields(written)
                if f.name not in ("directory", "history") and isinstance(getattr(written, f.name), Path)}
    if isinstance(written, str | os.PathLike):
        return {"report": Path(written)}
    return {}


# ----------------------------------------------------------------------------- text


def render_outcome(outcome: RunOutcome) -> str:
    """What ``redlin run`` prints: the verdict, the shrunk program and counterexample, the files."""
    stats = outcome.stats
    head = (f"{outcome.verdict.upper()}: {stats.operations} operations in {stats.executions} runs of "
            f"{stats.programs} programs against {outcome.target}")
    if stats.interrupted:
        head += " (interrupted by Ctrl-C: partial check)"
    lines = [head]
    lines += [f"  note: {note}" for note in outcome.notes]
    if stats.indeterminate:
        lines.append(f"  note: {_count(stats.indeterminate, 'operation')} indeterminate (timeouts or lost "
                     "connections): they may or may not have taken effect, and constrain little")
    if outcome.verdict == "violation" and outcome.program is not None:
        if stats.found_after_operations is not None and stats.found_after_seconds is not None:
            lines.append(f"  found after {stats.found_after_operations} operations ({stats.found_after_seconds:.1f} s)")
        lines.append(f"  shrunk program ({outcome.program.size} steps):")
        lines += ["    " + line for line in outcome.program.describe().splitlines()]
    if outcome.result is not None and outcome.history is not None:
        text = render_text(outcome.history, redis_model(), outcome.result, outcome.core)
        lines += ["  " + line for line in text.splitlines()]
    elif outcome.verdict == "interrupted":
        lines.append("  nothing was recorded before Ctrl-C")
    if outcome.verdict == "unknown":
        lines.append("  (unknown is not linearizable: give the checker more time with --check-time, "
                     "or fewer --clients/--steps)")
    shown = _strip_prefixes("\n".join(lines), outcome.prefix)
    if shown != "\n".join(lines):
        shown += f"\n  (keys shown without their prefix {outcome.prefix}<run>:)"
    files = [f"history: {outcome.paths['history']}"]
    files += [f"{name}: {path}" for name, path in outcome.paths.items() if name != "history"]
    return shown + "\n" + "\n".join(files)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _strip_prefixes(text: str, prefix: str) -> str:
    import re

    return re.sub(re.escape(prefix) + r"\d+:", "", text)
