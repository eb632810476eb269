"""Find a parallel program that a server runs non-linearizably, and shrink it: the search of ``redlin run``.

The property is *every run of the program is linearizable against the model*, over the programs
:func:`redlin.harness.workloads.programs` draws.  Each program runs ``repeat`` times
(:class:`redlin.harness.recorder.Recorder`) and each recorded history is checked
(:func:`redlin.check`, with a time budget).  When a run is not linearizable, Hypothesis shrinks the
program.  A program that failed once is known to fail and is not run again: that keeps shrinking
deterministic although the failures themselves are not, and it is why a candidate runs
:data:`SHRINK_REPEAT_FACTOR` times more before it counts as passing.

Then the checker minimises the failing history to a small core of operations
(:func:`redlin.minimise`), and the program is cut down to the steps that sent the core's
operations, or by one step at a time (delta debugging over steps, Zeller & Hildebrandt 2002), as
long as it still fails: the checker knows which steps matter, Hypothesis does not.  Hypothesis's
shrunk program is saved in its example database, so the next search replays it first.

The search stops when the budget (operations or a deadline) is spent, when shrinking has had its
time, or on a signal (Ctrl-C, SIGTERM, SIGHUP: :mod:`redlin.harness.interrupts`); what was recorded
is never lost (:meth:`ProgramSearch.check_cut_short`).  Every check and every stage of shrinking
keeps to the run's :class:`~redlin.harness.budget.Budget`: at the ``--duration`` deadline the program
running is stopped (its clients stop after their current operation) and checked, and nothing runs
past the documented tail.

Around each run: its keys are deleted as soon as it is checked (:mod:`redlin.harness.cleanup`),
and if some of its operations went unanswered, the target is waited for and the outage remembered
(:mod:`redlin.harness.outages`).  A restart of the server during a run is in its history (the
recorder's ``RESTART`` operation), and the model checks it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from hypothesis import HealthCheck, Phase, Verbosity, given, target
from hypothesis import seed as with_seed
from hypothesis import settings as Settings
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import Flaky

from redlin.adapter.redis_model import redis_model
from redlin.errors import UsageError
from redlin.harness.budget import INTERRUPTED_CHECK_TIME, Budget
from redlin.harness.cleanup import RunKeys
from redlin.harness.coverage import Coverage
from redlin.harness.findings import Findings, Signature, signature
from redlin.harness.guard import guard_refusals
from redlin.harness.interrupts import checkpoint
from redlin.harness.journal import Journal
from redlin.harness.outages import TargetWatch
from redlin.harness.outcome import RunStats
from redlin.harness.own_draws import own_draws
from redlin.harness.progress import Progress
from redlin.harness.recorder import Execution, Recorder
from redlin.harness.target import TargetError
from redlin.harness.wire import WireError
from redlin.harness.workloads import Family, Program, programs
from redlin.history.records import Outcome
from redlin.search.check import check
from redlin.search.minimise import minimise
from redlin.search.result import Result, Unknown, Violation

__all__ = ["Counterexample", "ProgramSearch", "SearchEnded", "keep_steps", "search_programs", "shrink_counterexample"]

SHRINK_REPEAT_FACTOR: Final = 3
"""While shrinking, a candidate program runs this many times more before it counts as passing:
most failures depend on timing, and a shrink step that fails to reproduce is a step lost."""
BATCH_EXAMPLES: Final = 25
"""Programs per Hypothesis search; searches repeat (with new seeds) until the budget is spent."""
MAX_REPORTED_OPERATIONS: Final = 200_000
"""Up to this many operations the report covers the whole history file; beyond (long soak runs) it
covers the latest runs only and goes to ``<out>/report/``."""
INTERRUPTED_MINIMISE_TIME: Final = 2.0
"""Seconds to minimise a failing run after Ctrl-C (the user is waiting)."""


class SearchEnded(Exception):
    """An error ended the search (the target went away, a bug); ``__cause__`` is that error,
    raised again after Hypothesis has returned."""


class _StopSearch(KeyboardInterrupt):
    """The budget is spent: end Hypothesis's search now.  A ``KeyboardInterrupt``, because that is
    the one exception Hypothesis passes straight through without taking it for a failure or saving
    the example at hand in its database (where it would replay first next time)."""


class _Found(Exception):
    def __init__(self, program: Program) -> None:
        super().__init__("a run of this program is not linearizable")
        self.program = program


@dataclass(frozen=True, slots=True)
class Counterexample:
    """A failing run: its program (``None`` when Ctrl-C cut the run short before any program was
    known to fail), the run, its violation, and the minimal core (operation ids in the run)."""

    program: Program | None
    execution: Execution
    violation: Violation
    core: tuple[int, ...]


@dataclass
class ProgramSearch:
    """The property and the bookkeeping around it: what ran, what was checked, what failed.

    ``journal``, ``watch`` and ``keys`` are the run's history writer, its eye on the target and its
    key deletion; ``budget`` says how long each check and each stage of shrinking may take.
    """

    recorder: Recorder
    prefix: bytes
    repeat: int
    budget: Budget
    ops_budget: int | None
    progress: Progress
    journal: Journal
    watch: TargetWatch
    keys: RunKeys
    started: float = field(default_factory=time.monotonic)
    model: Any = field(default_factory=redis_model)
    executions: int = 0
    operations: int = 0
    programs: int = 0
    unknown: int = 0
    coverage: Coverage = field(default_factory=Coverage)
    """What the checked runs exercised (see :mod:`redlin.harness.coverage`)."""
    new_coverage: int = 0
    """Coverage items the latest program's runs saw for the first time (Hypothesis's target)."""
    indeterminate: int = 0
    restarted: int = 0
    """Runs the server restarted during (each has a ``RESTART`` operation)."""
    problems: int = 0
    first_problem: str | None = None
    checked: list[tuple[Execution, Result]] = field(default_factory=list)
    checked_operations: int = 0
    checked_indexes: set[int] = field(default_factory=set)
    places: dict[int, tuple[tuple[int, int] | None, ...]] = field(default_factory=dict)
    """For each run in :attr:`checked` (by index), where each of its operations is in the history
    file: ``(id, line)``, or ``None`` for one the journal did not see."""
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
    """When Hypothesis's shrinking stops."""
    shrink_end: float | None = None
    """When all shrinking and minimising stops: twice ``--shrink-time`` after the violation was found."""
    fatal: BaseException | None = None
    findings: Findings | None = None
    """With ``--keep-going``: the findings so far; a violation with a known signature is a repeat."""
    signature: Signature | None = None
    """The signature of the violation found (and being shrunk), with ``--keep-going``."""

    @property
    def check_time(self) -> float:
        return self.budget.check_time

    @property
    def shrink_time(self) -> float:
        return self.budget.shrink_time

    def spent(self) -> bool:
        deadline = self.budget.deadline
        if deadline is not None:
            return time.monotonic() >= deadline
        return self.ops_budget is not None and self.operations >= self.ops_budget

    def fails(self, program: Program) -> bool:
        """The negated property: some run of ``program`` is not linearizable."""
        if program in self.failures:
            return True
        if self.fatal is not None:
            raise _StopSearch
        self._stop_if_due()
        self.programs += 1
        self.progress.programs = self.programs
        self.new_coverage = 0
        try:
            for _ in range(self.repeat if self.found_at is None else self.repeat * SHRINK_REPEAT_FACTOR):
                if self.run_once(program):
                    return True
                self._stop_if_due()
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 - re-raised after the search
            self.fatal = error
            raise _StopSearch from None
        return False

    def _stop_if_due(self) -> None:
        checkpoint()  # a signal stops the search between program runs
        if self.found_at is None:
            if self.spent():
                raise _StopSearch
        elif self.shrink_deadline is not None and time.monotonic() >= self.shrink_deadline:
            raise _StopSearch

    def _stop_at(self) -> float | None:
        """When the program running must stop: the deadline while searching, the end of
        shrinking after a violation."""
        return self.budget.deadline if self.found_at is None else self.shrink_end

    @contextmanager
    def _alarm(self) -> Iterator[None]:
        """Stop the program's clients (after their current operation) when :meth:`_stop_at` comes."""
        at = self._stop_at()
        if at is None:
            yield
            return
        rang = threading.Event()

        def ring() -> None:
            rang.set()
            self.recorder.stop.set()

        timer = threading.Timer(max(0.0, at - time.monotonic()), ring)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
            if rang.is_set():
                self.recorder.stop.clear()

    def attempt(self, program: Program) -> tuple[Execution, Result]:
        """Run ``program`` once under a fresh sub-prefix, check what was recorded, delete its keys.

        A target that cannot be reached is waited for (:meth:`TargetWatch.unreachable`) and the
        program run again; raises :class:`_StopSearch` if the time is up meanwhile, and
        :class:`~redlin.harness.outages.TargetLost` if the target does not come back.
        """
        checkpoint()
        while True:
            index = self.executions
            self.executions += 1
            try:
                with self._alarm():
                    execution = self.recorder.execute(program, self.prefix + f"{index}:".encode(), index)
                break
            except (TargetError, WireError) as error:  # not even the program's connections could be opened
                self.watch.unreachable(str(error), until=self._stop_at())
                self._stop_if_due()
                stop_at = self._stop_at()
                if stop_at is not None and time.monotonic() >= stop_at:
                    raise _StopSearch from None
            finally:
                if self.recorder.last is not None and self.recorder.last.index == index:
                    self.operations += len(self.recorder.last.history)
        self.watch.after(execution.problems, until=self._stop_at(), restarts=execution.restarts)
        self.restarted += bool(execution.restarts)
        result = check(execution.history, self.model,
                       time_limit=self.budget.check_limit(len(execution.history), end=self.shrink_end))
        self.keep(execution, result)
        self.new_coverage += self.coverage.add(execution.history)
        self.keys.release(execution.keys)
        refused = guard_refusals(execution.history)
        if refused:  # the server refused a script that reached beyond its keys: the workload is bad input
            op_id, text = refused[0]
            raise UsageError(f"redlin's script guard refused a script of the workload (run {index}, operation "
                             f"{op_id}): {text}; nothing beyond the run's own keys was touched")
        if isinstance(result, Unknown):
            self.unknown += 1
        return execution, result

    def run_once(self, program: Program) -> bool:
        execution, result = self.attempt(program)
        if isinstance(result, Violation) and self.findings is not None:
            found = signature(execution.history, self.model, result)
            if found in self.findings.known:
                self.findings.repeat(found)
                return False  # a bug already reported: go on, and do not shrink toward it
            if self.found_at is None:
                self.signature = found
        if isinstance(result, Violation):
            self.failures[program] = (execution, result)
            self.latest = program
            if self.found_at is None:
                now = time.monotonic()
                self.found_at = (self.operations, now - self.started)
                self.shrink_deadline = now + self.shrink_time
                self.shrink_end = now + 2 * self.shrink_time
                self.progress.phase = "shrinking"
                self.progress.say(f"violation found after {self.operations} operations "
                                  f"({self.found_at[1]:.1f} s); shrinking the program")
            return True
        return False

    def keep(self, execution: Execution, result: Result) -> None:
        self.checked.append((execution, result))
        self.checked_indexes.add(execution.index)
        self.places[execution.index] = tuple(self.journal.claim(op.client, op.invoke) for op in execution.history)
        self.indeterminate += sum(1 for op in execution.history if op.outcome is Outcome.INFO)
        self.problems += len(execution.problems)
        if execution.problems and self.first_problem is None:
            self.first_problem = execution.problems[0]
        self.checked_operations += len(execution.history)
        while self.checked_operations > MAX_REPORTED_OPERATIONS and len(self.checked) > 1:
            dropped, _ = self.checked.pop(0)
            self.places.pop(dropped.index, None)
            self.checked_operations -= len(dropped.history)
            self.truncated = True

    def check_cut_short(self) -> None:
        """After a signal: check the execution that was cut short (its other runs were checked
        already), for at most :data:`~redlin.harness.budget.INTERRUPTED_CHECK_TIME` seconds."""
        last = self.recorder.last
        if last is None or last.index in self.checked_indexes or not len(last.history):
            return
        limit = min(INTERRUPTED_CHECK_TIME, self.budget.check_limit(len(last.history)))
        result = check(last.history, self.model, time_limit=limit)
        self.keep(last, result)
        if isinstance(result, Violation):
            self.partial = (last, result)
            if self.found_at is None:
                self.found_at = (self.operations, time.monotonic() - self.started)
        elif isinstance(result, Unknown):
            self.unknown += 1

    def failure_so_far(self) -> Counterexample | None:
        """After Ctrl-C while shrinking or minimising: the best failing run, quickly minimised."""
        failed = self.failures[self.latest] if self.latest is not None else self.partial
        if failed is None:
            return None
        core = minimise(failed[0].history, self.model, failed[1], time_limit=INTERRUPTED_MINIMISE_TIME)
        return Counterexample(self.latest, failed[0], failed[1], core)

    def next_finding(self) -> None:
        """After a finding is shrunk, with ``--keep-going``: search again for a new one."""
        self.failures.clear()
        self.latest = self.partial = self.signature = None
        self.found_at = self.shrink_deadline = self.shrink_end = None
        self.progress.phase = "searching"

    def stats(self, elapsed: float, interrupted_by: str | None = None, target_lost: str | None = None) -> RunStats:
        return RunStats(
            programs=self.programs, executions=self.executions, operations=self.operations, elapsed=elapsed,
            unknown_executions=self.unknown, indeterminate=self.indeterminate,
            found_after_operations=None if self.found_at is None else self.found_at[0],
            found_after_seconds=None if self.found_at is None else self.found_at[1],
            interrupted=interrupted_by is not None, interrupted_by=interrupted_by, target_lost=target_lost,
            restarted_executions=self.restarted,
        )


def search_programs(state: ProgramSearch, source: Family, *, clients: int, steps: int, seed: int,
                    database: Path | None) -> Program | None:
    """Run the property until a failure is found and shrunk, or the budget is spent.

    Hypothesis runs in batches of :data:`BATCH_EXAMPLES` programs, each batch seeded from ``seed``
    (so the same seed draws the same programs) and each replaying the example database first.
    This is :func:`hypothesis.find` with the database kept although the search is seeded
    (``find(random=...)`` would switch the database off).  Raises :class:`SearchEnded` when an
    error ended the search.
    """
    strategy = programs(source, clients=clients, steps=steps)
    db = DirectoryBasedExampleDatabase(str(database)) if database is not None else None

    def every_run_is_linearizable(program: Program) -> None:
        failed = state.fails(program)
        # Lean toward programs that exercise what no earlier one did (commands, reply and error
        # kinds, transaction and script outcomes): Hypothesis's targeted search.
        target(float(state.new_coverage), label="new coverage")
        if failed:
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
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        )(test)
        try:
            with own_draws():  # a seed draws alike however redlin is installed (redlin.harness.own_draws)
                test()
        except _Found as found:
            return found.program
        except _StopSearch:
            pass
        except Flaky:  # cannot happen with failures cached, but never lose a found failure
            pass
        if state.fatal is not None:
            raise SearchEnded() from state.fatal
        if state.latest is not None:  # stopped while shrinking: Hypothesis's best so far
            return state.latest
        if state.spent():
            return None
        batch += 1


def shrink_counterexample(state: ProgramSearch, program: Program) -> Counterexample:
    """Minimise the history of ``program``'s failing run, then shrink the program further with
    what the checker knows and Hypothesis does not: which steps sent the core's operations.

    First the program cut down to those steps is tried, then (delta debugging over steps, Zeller &
    Hildebrandt 2002) the program without each one of its steps; a candidate replaces the best when
    one of a few runs fails with a core no larger.  Failures depend on timing, so a candidate that
    does not fail proves nothing.  All of it ends by :attr:`ProgramSearch.shrink_end` (twice
    ``--shrink-time`` after the violation was found); each minimisation gets at most half of
    ``--shrink-time`` (2 s at least, if there is that much time left).
    """
    execution, violation = state.failures[program]
    state.progress.phase = "minimising"
    state.progress.say(f"minimising the failing history ({len(execution.history)} operations)")
    end = state.shrink_end if state.shrink_end is not None else time.monotonic() + 2 * state.shrink_time
    limit = max(2.0, state.shrink_time / 2)

    def left() -> float:
        return min(limit, max(0.0, end - time.monotonic()))

    best = Counterexample(program, execution, violation,
                          minimise(execution.history, state.model, violation, time_limit=left()))
    deadline = end
    tried: set[Program] = {program}

    def attempt(candidate: Program) -> bool:
        nonlocal best
        if candidate in tried or time.monotonic() >= deadline:
            return False
        tried.add(candidate)
        for _ in range(state.repeat * SHRINK_REPEAT_FACTOR):
            if time.monotonic() >= deadline:
                return False
            try:
                again, result = state.attempt(candidate)
            except _StopSearch:  # the time ran out while the target was away
                return False
            if isinstance(result, Violation):
                core = minimise(again.history, state.model, result, time_limit=left())
                if len(core) > len(best.core):
                    return False
                best = Counterexample(candidate, again, result, core)
                return True
        return False

    changed = True
    while changed and time.monotonic() < deadline:
        current = best.program
        assert current is not None
        wanted = {best.execution.steps[i] for i in best.core if i < len(best.execution.steps)}
        changed = attempt(keep_steps(current, wanted))
        everything = {(slot, index) for slot, actions in enumerate(current.clients) for index in range(len(actions))}
        for step in sorted(everything):
            if changed:
                break
            changed = attempt(keep_steps(current, everything - {step}))
    return best


def keep_steps(program: Program, steps: set[tuple[int, int]]) -> Program:
    """``program`` with only the given client steps, ``(client, index)`` (the setup stays).

    >>> from redlin.harness.actions import Command
    >>> get, incr = Command((b"GET", b"k")), Command((b"INCR", b"k"))
    >>> keep_steps(Program("x", (), ((get, incr), (incr,))), {(0, 1)}).clients == ((incr,), ())
    True
    """
    return replace(program, clients=tuple(tuple(action for index, action in enumerate(actions) if (slot, index) in steps)
                                          for slot, actions in enumerate(program.clients)))
