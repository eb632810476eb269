"""The bookkeeping of a check spread over workers (:mod:`redlin.search.parallel`, and
:mod:`redlin.search.distributed` for a Dask cluster), whatever runs the tasks: check()'s rounds of
growing budgets, part by part, and the order in which check() would find a violation, so that
the answer is check()'s whichever worker was faster.

>>> rounds = Rounds([[], []], cap=80_000, started=0.0, max_states=80_000)
>>> rounds.start()
[(0, 0), (0, 1)]
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from redlin.history.records import Operation
from redlin.search.check import FIRST_ROUND_STATES, ROUND_GROWTH, part_ids
from redlin.search.result import Linearizable, Result, Unknown, Violation
from redlin.search.wgl import Linearized, OutOfBudget, PartOutcome, Stuck, exhausted

__all__ = ["FAST", "PRECHECK", "SEARCH", "Rounds", "Task", "TaskOutcome", "has_next_round", "round_budget",
           "violation_order"]

Task = tuple[int, int]
"""(round, part index): the order check() searches in, and the order tasks are compared in."""

FAST, PRECHECK, SEARCH = 0, 1, 2
"""Where a part's violation is found, in the order check() looks: the fast paths (of every part),
the model's pre-check (of every part they leave undecided), the search (round after round)."""


def violation_order(task: Task, stage: int) -> tuple[int, int]:
    """Where a violation found at ``stage`` of ``task`` comes in check()'s order.

    >>> sorted([violation_order((0, 5), FAST), violation_order((1, 0), SEARCH), violation_order((0, 3), PRECHECK),
    ...         violation_order((0, 1), SEARCH)])
    [(0, 5), (1, 3), (2, 1), (3, 0)]
    """
    round_, index = task
    return (stage, index) if stage < SEARCH else (SEARCH + round_, index)


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """What a worker found for one part: a search outcome, or why the part could not be searched
    (``limit``: the model's own limit, a :class:`ModelLimit`; ``unsplittable``: the partition was
    unsound, a :class:`CannotPartition`)."""

    outcome: PartOutcome | None
    limit: str | None = None
    unsplittable: bool = False
    stage: int = SEARCH
    """Where ``outcome`` was found: :data:`FAST`, :data:`PRECHECK` or :data:`SEARCH`."""


def round_budget(round_: int, cap: int) -> int:
    """The state budget of a round: check()'s, capped at ``cap`` (a worker's share).

    >>> [round_budget(round_, 100_000) for round_ in range(3)]
    [10000, 80000, 100000]
    """
    growth: int = ROUND_GROWTH**round_  # (an int power of ints is typed Any)
    return min(cap, FIRST_ROUND_STATES * growth)


def has_next_round(round_: int, cap: int) -> bool:
    """Whether a search that used up round ``round_``'s budget goes on into a next round (the
    rule :class:`Rounds` and :func:`search_rounds` both follow): only below the ``cap``.

    >>> [has_next_round(round_, 100_000) for round_ in range(3)]
    [True, True, False]
    """
    return round_budget(round_, cap) < cap


@dataclass
class Rounds:
    """The bookkeeping of a check spread over workers, whatever runs the tasks.

    :meth:`start` gives the first tasks; :meth:`record` takes each task's outcome and gives the
    tasks to run next; :attr:`result` is set once the verdict is settled (a caller stops then,
    cancelling what still runs).  ``cap`` is one search's state budget (the memory share of a
    worker).
    """

    parts: list[list[Operation]]
    cap: int
    started: float
    max_states: int
    result: Result | None = None
    unsplittable: bool = False
    explored: int = 0
    out_of_time: bool = False
    outstanding: set[Task] = field(default_factory=set)
    decided: dict[Task, tuple[int, ...]] = field(default_factory=dict)
    violations: dict[tuple[int, int], Violation] = field(default_factory=dict)  # by violation_order()
    exhausted: set[int] = field(default_factory=set)
    beyond: dict[int, str] = field(default_factory=dict)

    def budget(self, round_: int) -> int:
        """The state budget of a round: check()'s, capped at a worker's share."""
        return round_budget(round_, self.cap)

    def start(self) -> list[Task]:
        """The first round: every part, smallest first."""
        tasks = [(0, index) for index in range(len(self.parts))]
        self.outstanding.update(tasks)
        if not tasks:
            self._settle()
        return tasks

    def record(self, task: Task, found: TaskOutcome) -> list[Task]:
        """Take a task's outcome; the tasks to run next (a part's next round)."""
        self.outstanding.discard(task)
        round_, index = task
        follow: list[Task] = []
        outcome = found.outcome
        if found.unsplittable:
            self.unsplittable = True
        elif found.limit is not None:
            self.beyond[index] = found.limit
        elif isinstance(outcome, Linearized):
            self.explored += outcome.states_explored
            self.decided[task] = outcome.order
        elif isinstance(outcome, Stuck):
            self.explored += outcome.states_explored
            part = self.parts[index]
            self.violations[violation_order(task, found.stage)] = Violation(
                part=tuple(op.id for op in part), operation=outcome.operation, prefixes=outcome.prefixes,
                states_explored=0, elapsed=0.0, proof=outcome.proof)
        elif isinstance(outcome, OutOfBudget):
            self.explored += outcome.states_explored
            if outcome.reason.startswith("time"):
                self.out_of_time = True
            elif has_next_round(round_, self.cap):
                follow.append((round_ + 1, index))
            else:
                self.exhausted.add(index)
        self.outstanding.update(follow)
        self._settle()
        return follow

    def time_out(self) -> None:
        """The deadline passed with tasks still running: settle on what is known."""
        self.out_of_time = True
        self._settle(force=True)

    def _settle(self, *, force: bool = False) -> None:
        elapsed = time.monotonic() - self.started
        if self.unsplittable:
            return  # the caller checks the history again as one part
        if self.violations:
            first = min(self.violations)
            # Only once nothing before it in check()'s order can still turn up a violation: a
            # part's first task may yet find one at any stage, a later round only in the search.
            if force or not any(violation_order(task, FAST if task[0] == 0 else SEARCH) < first
                                for task in self.outstanding):
                violation = self.violations[first]
                self.result = Violation(part=violation.part, operation=violation.operation,
                                        prefixes=violation.prefixes, states_explored=self.explored,
                                        elapsed=elapsed, proof=violation.proof, parts=part_ids(self.parts))
                return
        if self.outstanding and not force:
            return
        undecided = len(self.parts) - len(self.decided)
        if undecided:
            if self.beyond:
                reason = f"the model could not evaluate an operation: {next(iter(self.beyond.values()))}"
            elif self.out_of_time:
                reason = f"time limit reached after {elapsed:.3g} s"
            else:
                reason = f"{exhausted(self.max_states)} ({self.cap} for each search at once)"
            total = len(self.parts)
            self.result = Unknown(reason=f"{reason}; {undecided} of {total} {'part' if total == 1 else 'parts'} "
                                         "undecided", parts_checked=len(self.decided), parts_total=total,
                                  states_explored=self.explored, elapsed=elapsed,
                                  parts=part_ids(self.parts))
            return
        order = sorted(self.decided)
        self.result = Linearizable(witness=tuple(self.decided[task] for task in order),
                                   parts=tuple(tuple(op.id for op in self.parts[index]) for _, index in order),
                                   states_explored=self.explored, elapsed=elapsed)
