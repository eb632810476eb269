"""redlin's pytest plugin (entry point ``pytest11``: active wherever redlin is installed).

Options:

- ``--redlin-target URL``: the server the concurrent tests run against: ``embedded`` (the
  default) starts redlin's model server on loopback for the session, so tests need no Redis;
  ``redis://host:port/db`` is a real server (a test server: the tests delete their components'
  keys).
- ``--redlin-reports DIR``: where a failing test writes redlin's report (default
  ``reports/pytest``; one folder per test, ``report.html`` in it), and the live history
  (``history.live.jsonl``) of the run in progress.

Fixtures: ``redlin_target`` (the target's URL), ``redlin_reports`` (the folder), ``redlin_recorder``
(``record(component, program)`` runs a program on the target, returning its
:class:`~redlin.testing.execute.Recorded`) and ``redlin_checker`` (``check(component, recorded)``
judges it, returning a :class:`~redlin.testing.judge.Verdict`).  Tests made by
:func:`redlin.testing.concurrent` carry the ``redlin`` marker, so ``pytest -m redlin`` runs them.

>>> _embedded_label("embedded"), _embedded_label("redis://127.0.0.1:6379")
(True, False)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from redlin.harness.target import Target, TargetError
from redlin.serve.server import start_in_thread
from redlin.testing.component import Component, ConcurrentProgram
from redlin.testing.execute import Recorded, run_program
from redlin.testing.judge import Verdict, judge

EMBEDDED = "embedded"
DEFAULT_REPORTS = Path("reports") / "pytest"


def _embedded_label(value: str) -> bool:
    return value == EMBEDDED


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("redlin", "redlin: concurrent tests of your Redis code")
    group.addoption("--redlin-target", default=EMBEDDED, metavar="URL",
                    help="server for redlin's concurrent tests: 'embedded' (redlin's model server, the default) "
                         "or redis://host:port/db")
    group.addoption("--redlin-reports", default=str(DEFAULT_REPORTS), metavar="DIR",
                    help=f"where failing redlin tests write their reports (default {DEFAULT_REPORTS})")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "redlin: a concurrent linearizability test made by redlin.testing.concurrent")
    target = config.getoption("--redlin-target", default=EMBEDDED)
    if not _embedded_label(target):
        try:
            Target.parse(target)
        except TargetError as error:
            raise pytest.UsageError(f"--redlin-target: {error}") from None


@pytest.fixture(scope="session")
def redlin_target(pytestconfig: pytest.Config) -> Iterator[str]:
    """The URL of the server under test (the embedded model server unless ``--redlin-target``)."""
    target = pytestconfig.getoption("--redlin-target")
    if not _embedded_label(target):
        yield target
        return
    with start_in_thread() as server:
        yield server.url


@pytest.fixture(scope="session")
def redlin_reports(pytestconfig: pytest.Config) -> Path:
    """The folder failing tests write their reports to (``--redlin-reports``)."""
    return Path(pytestconfig.getoption("--redlin-reports")).resolve()


@pytest.fixture
def redlin_recorder(redlin_target: str) -> Callable[[Component, ConcurrentProgram], Recorded]:
    """``record(component, program)``: run ``program`` concurrently on the target and record it."""

    def record(component: Component, program: ConcurrentProgram) -> Recorded:
        return run_program(component, program, redlin_target)

    return record


@pytest.fixture
def redlin_checker(redlin_reports: Path, request: pytest.FixtureRequest) -> Callable[[Component, Recorded], Verdict]:
    """``check(component, recorded)``: judge a recorded run (a report is written if it fails)."""

    def check(component: Component, recorded: Recorded) -> Verdict:
        return judge(component, recorded.history, commands=recorded.commands,
                     report_dir=redlin_reports / request.node.name)

    return check
