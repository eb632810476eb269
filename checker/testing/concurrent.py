"""The concurrent property test of a component: Hypothesis draws programs, redlin runs and judges them.

The property is *every run of every program is linearizable against the component's own functions
run one at a time*.  Hypothesis draws a :class:`~redlin.testing.component.ConcurrentProgram`
(calls per client), :func:`~redlin.testing.execute.run_program` runs it ``repeat`` times against the
target, and :func:`~redlin.testing.judge.judge` checks each run.  Interleavings are not under
redlin's control, so a program that failed once is remembered as failing: Hypothesis's shrinking
and its final replay then see a deterministic property, and the counterexample it reports is the
smallest program that redlin saw fail, with the minimal core of its failing run
(:class:`ConcurrencyViolation`).  A run whose check ran out of budget fails nothing; it is noted
(Hypothesis's ``note``) and counted.

:func:`concurrent` is the decorator the pytest plugin (:mod:`redlin.testing.plugin`) gives users;
:func:`check_component` is the same search for use outside pytest.

>>> from redlin.testing.component import Component
>>> counter = Component("counter", keys=["n"])
>>> @counter.operation
... def incr(r):
...     return r.incr("n")
>>> from redlin.serve.server import start_in_thread
>>> with start_in_thread() as server:
...     check_component(counter, server.url, max_examples=5)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note
from hypothesis import settings as Settings

from redlin.testing.component import Component, ConcurrentProgram
from redlin.testing.execute import run_program
from redlin.testing.judge import Verdict, judge

__all__ = ["ConcurrencyViolation", "Search", "check_component", "concurrent"]

DEFAULT_REPEAT = 3
"""Runs of each program: an interleaving that breaks a component may need a few tries."""


class ConcurrencyViolation(AssertionError):
    """A run of a component was not linearizable; the message is the counterexample."""

    def __init__(self, program: ConcurrentProgram, verdict: Verdict) -> None:
        super().__init__(f"program:\n{_indent(program.describe())}\n{verdict.explain()}")
        self.program = program
        self.verdict = verdict


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


@dataclass
class Search:
    """The property's memory across Hypothesis's calls: each program's verdict, and what was checked.

    A program is run (``repeat`` times) the first time it is drawn only; drawn again, it gets the
    verdict it got then.  Interleavings differ from run to run, so without this memory a program
    could pass once and fail when Hypothesis's shrinker replays it, which Hypothesis reports as a
    flaky test instead of the counterexample.
    """

    component: Component
    repeat: int = DEFAULT_REPEAT
    report_dir: Path | None = None
    journal_dir: Path | None = None
    verdicts: dict[ConcurrentProgram, Verdict | None] = field(default_factory=dict)
    runs: int = 0
    unknown: int = 0

    def run(self, url: str, program: ConcurrentProgram) -> Verdict | None:
        """The verdict on ``program`` (``None`` for an empty one); raise
        :class:`ConcurrencyViolation` if some run of it was not linearizable."""
        if program not in self.verdicts:
            self.verdicts[program] = self._first_verdict(url, program)
        verdict = self.verdicts[program]
        if verdict is not None and verdict.verdict == "violation":
            # Raised from one place: Hypothesis tells bugs apart by where they were raised.
            raise ConcurrencyViolation(program, verdict)
        return verdict

    def _first_verdict(self, url: str, program: ConcurrentProgram) -> Verdict | None:
        """Run ``program`` until a run is not linearizable, ``repeat`` times at most.  The live
        history of a run (``journal_dir``) is kept only if that run failed."""
        verdict = None
        journal = None if self.journal_dir is None else self.journal_dir / "history.live.jsonl"
        for _ in range(self.repeat if program.size else 0):
            self.runs += 1
            if journal is not None:
                journal.parent.mkdir(parents=True, exist_ok=True)
                journal.unlink(missing_ok=True)
            recorded = run_program(self.component, program, url, journal=journal)
            verdict = judge(self.component, recorded.history, commands=recorded.commands, report_dir=self.report_dir)
            if verdict.verdict == "violation":
                return verdict
            if verdict.verdict == "unknown":
                self.unknown += 1
                note(verdict.explain())
        if journal is not None:
            journal.unlink(missing_ok=True)
            if journal.parent.is_dir() and not any(journal.parent.iterdir()):
                journal.parent.rmdir()
        return verdict


def check_component(component: Component, url: str, *, clients: int = 2, steps: int = 3,
                    repeat: int = DEFAULT_REPEAT, max_examples: int = 50, report_dir: Path | None = None) -> None:
    """Search for a program whose concurrent run on ``url`` is not linearizable; raise
    :class:`ConcurrencyViolation` (the shrunk counterexample) if one is found."""
    search = Search(component, repeat=repeat, report_dir=report_dir)

    @Settings(max_examples=max_examples, deadline=None, database=None, report_multiple_bugs=False,
              suppress_health_check=[HealthCheck.too_slow])
    @given(program=component.programs(clients=clients, steps=steps))
    def every_run_is_linearizable(program: ConcurrentProgram) -> None:
        search.run(url, program)

    every_run_is_linearizable()


def concurrent(component: Component, *, clients: int = 2, steps: int = 3, repeat: int = DEFAULT_REPEAT,
               settings: Settings | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turn a test function into the concurrent property test of ``component`` (pytest plugin).

    The decorated function is called after each linearizable run with its
    :class:`~redlin.testing.judge.Verdict` if it takes an argument (for assertions of your own),
    or not at all.  The test uses the plugin's ``redlin_target`` (``--redlin-target``) and
    ``redlin_reports`` fixtures; Hypothesis's settings profile, database and
    ``@reproduce_failure`` apply as to any ``@given`` test.  Give Hypothesis settings of your own
    as ``settings=settings(max_examples=...)`` (not as an ``@settings`` decorator: the test has
    settings already, since a run takes longer than Hypothesis's default deadline).
    """

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        wants_verdict = bool(inspect.signature(function).parameters)
        search = Search(component, repeat=repeat)

        def test(redlin_target: str, redlin_reports: Path, program: ConcurrentProgram) -> None:
            search.report_dir = redlin_reports / function.__name__
            search.journal_dir = search.report_dir
            verdict = search.run(redlin_target, program)
            if wants_verdict and verdict is not None:
                function(verdict)

        # Named as the user's function before Hypothesis wraps it: its database key is a digest of
        # the name, so each decorated test keeps its own saved examples.
        test.__name__ = function.__name__
        test.__qualname__ = function.__qualname__
        test.__module__ = function.__module__
        test.__doc__ = function.__doc__
        base = settings if settings is not None else Settings()  # the profile loaded now
        chosen = Settings(base, deadline=None, report_multiple_bugs=False,
                          suppress_health_check=[*base.suppress_health_check, HealthCheck.too_slow])
        test = chosen(given(program=component.programs(clients=clients, steps=steps))(test))
        marked: Callable[..., Any] = pytest.mark.redlin(test)
        return marked

    return decorate
