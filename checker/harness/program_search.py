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
time, or on Ctrl-C; what was recorded is never lost (:meth:`ProgramSearch.check_cut_short`).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from hypothesis import HealthCheck, Phase, Verbosity, given
from hypothesis import seed as with_seed
from hypothesis import settings as Settings
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import Flaky

from redlin.adapter.redis_model import redis_model
from redlin.harness.outcome import RunStats
from redlin.harness.progress import Progress
from redlin.harness.recorder import Execution, Recorder
from redlin.harness.workloads import Family, Program, programs
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
    """The property and the bookkeeping around it: what ran, what was checked, what failed."""

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

    def check_cut_short(self) -> None:
        """After Ctrl-C: check the execution that was cut short (its other runs were checked already)."""
        last = self.recorder.last
        if last is None or last.index in self.checked_indexes or not len(last.history):
            return
        result = check(last.history, self.model, time_limit=self.check_time)
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

    def stats(self, elapsed: float, interrupted: bool) -> RunStats:
        return RunStats(
            programs=self.programs, executions=self.executions, operations=self.operations, elapsed=elapsed,
            unknown_executions=self.unknown, indeterminate=self.indeterminate,
            found_after_operations=None if self.found_at is None else self.found_at[0],
            found_after_seconds=None if self.found_at is None else self.found_at[1],
            interrupted=interrupted,
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
    does not fail proves nothing; the time for all this is bounded.
    """
    execution, violation = state.failures[program]
    state.progress.phase = "minimising"
    state.progress.say(f"minimising the failing history ({len(execution.history)} operations)")
    limit = max(2.0, state.shrink_time / 2)
    best = Counterexample(program, execution, violation,
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
