"""How long each part of a ``redlin run`` may take: the promises of ``--duration`` and ``--check-time``.

Budgets are promises, so they are written down here once:

- *checking a run*: ``--check-time`` seconds for a run of up to :data:`CHECK_OPERATIONS`
  operations, proportionally more for a larger one, up to :data:`CHECK_SCALE_MAX` times as much.
  A run not decided by then is unknown (never linearizable);
- ``--duration S``: generation stops S seconds after the start, in the middle of a program if need
  be (its clients stop after their current operation, which waits at most ``--timeout``).  What
  follows -- the last checks, shrinking and minimising a violation, the report, deleting the keys --
  is the *tail*, and it is bounded: every check ends by ``--timeout`` + ``--check-time`` after the
  deadline, shrinking a violation takes at most twice ``--shrink-time`` (Hypothesis's shrinker,
  then minimising the history and the program), and the report, the cleanup and re-checking a
  violation under the other version profiles get :data:`REPORT_ALLOWANCE` seconds (see :meth:`Budget.tail`).  A target that stops answering in
  the tail costs one more ``--timeout`` (deleting the keys waits that long for it);
- after Ctrl-C, SIGTERM or SIGHUP, the run cut short is checked for at most
  :data:`INTERRUPTED_CHECK_TIME` seconds (the user, or a supervisor about to send SIGKILL, waits).

>>> budget = Budget(check_time=10.0, shrink_time=10.0, timeout=5.0, duration=60.0, started=0.0)
>>> budget.tail(violation=False), budget.tail(violation=True)
(20.0, 40.0)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

__all__ = ["CHECK_OPERATIONS", "CHECK_SCALE_MAX", "INTERRUPTED_CHECK_TIME", "REPORT_ALLOWANCE", "VERSION_CHECK_TIME",
           "Budget"]

CHECK_OPERATIONS: Final = 1000
"""A run of up to this many operations gets ``--check-time``; a larger one proportionally more."""
CHECK_SCALE_MAX: Final = 6
"""No run gets more than this many times ``--check-time``."""
REPORT_ALLOWANCE: Final = 5.0
"""Seconds of the tail for writing the report and deleting the run's keys."""
INTERRUPTED_CHECK_TIME: Final = 5.0
"""The most seconds spent checking the run that a signal cut short."""
VERSION_CHECK_TIME: Final = 1.0
"""Seconds of :data:`REPORT_ALLOWANCE` for re-checking a violation's failing run (a shrunk one,
small) under the other version profiles (:func:`redlin.adapter.profiles.explaining_profile`)."""


@dataclass(frozen=True, slots=True)
class Budget:
    """The clock of one run: when generation ends, and how long each check and the tail may take.

    ``started`` is the ``time.monotonic()`` at which generation began.
    """

    check_time: float
    shrink_time: float
    timeout: float
    duration: float | None
    started: float

    @property
    def deadline(self) -> float | None:
        """When generation stops (``--duration``), or ``None``."""
        return None if self.duration is None else self.started + self.duration

    @property
    def checks_end(self) -> float | None:
        """No check runs past this: the deadline, plus ``--timeout`` for the last operations to
        come back, plus ``--check-time``."""
        deadline = self.deadline
        return None if deadline is None else deadline + self.timeout + self.check_time

    def check_limit(self, operations: int, *, end: float | None = None, now: float | None = None) -> float:
        """Seconds for checking a run of ``operations`` operations that starts ``now``: scaled with
        its size (see the module docstring), and ending by :attr:`checks_end` and ``end``.

        >>> budget = Budget(check_time=10.0, shrink_time=10.0, timeout=5.0, duration=None, started=0.0)
        >>> budget.check_limit(100), budget.check_limit(2500), budget.check_limit(10**6)
        (10.0, 25.0, 60.0)
        >>> Budget(10.0, 10.0, 5.0, duration=60.0, started=0.0).check_limit(100, now=70.0)
        5.0
        """
        now = time.monotonic() if now is None else now
        limit = self.check_time * min(CHECK_SCALE_MAX, max(1.0, operations / CHECK_OPERATIONS))
        for bound in (self.checks_end, end):
            if bound is not None:
                limit = min(limit, bound - now)
        return max(0.0, limit)

    def tail(self, *, violation: bool) -> float:
        """The most seconds a ``--duration`` run goes on after its deadline: ``--timeout`` +
        ``--check-time`` (+ twice ``--shrink-time`` when a violation is shrunk) +
        :data:`REPORT_ALLOWANCE`."""
        return self.timeout + self.check_time + (2 * self.shrink_time if violation else 0.0) + REPORT_ALLOWANCE
