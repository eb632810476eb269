"""The pytest plugin as a user meets it: installed (entry point ``pytest11``), in a project of their own.

Each test writes a small sample project into pytester's temporary folder and runs pytest on it in a
subprocess, so the plugin is found the way a user's pytest finds it: through redlin's installed
entry point, not through this suite's conftest.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
from pathlib import Path

import pytest
import redis
from conftest import RedisServer

pytest_plugins = ["pytester"]

COMPONENT = '''
from hypothesis import strategies as st
from redlin.testing import Component

def incr_by_get_then_set(r):
    value = int(r.get("sample:n") or 0) + 1
    r.set("sample:n", value)
    return value

counter = Component("counter", keys=["sample:n"])
counter.add("incr", lambda r: r.incr("sample:n"))
counter.add("read", lambda r: int(r.get("sample:n") or 0))

racy_counter = Component("racy-counter", keys=["sample:n"])
racy_counter.add("incr", incr_by_get_then_set)
racy_counter.add("read", lambda r: int(r.get("sample:n") or 0))
'''

TESTS = '''
from hypothesis import settings
from redlin.testing import concurrent, Verdict
from sample import counter, racy_counter

seen = []

@concurrent(counter, clients=3, steps=3, settings=settings(max_examples=15, database=None))
def test_counter_is_atomic(verdict):
    assert isinstance(verdict, Verdict) and verdict.verdict == "linearizable"
    seen.append(verdict)

def test_the_verdicts_reached_the_test():
    assert seen

def test_the_fixtures(redlin_target, redlin_recorder, redlin_checker):
    from redlin.testing import Call, ConcurrentProgram
    recorded = redlin_recorder(counter, ConcurrentProgram(((Call("incr"),), (Call("incr"),))))
    assert redlin_checker(counter, recorded).verdict == "linearizable"
    assert redlin_target.startswith("redis://")
'''

FAILING = '''
from hypothesis import settings
from redlin.testing import concurrent
from sample import racy_counter

@concurrent(racy_counter, clients=3, steps=2, settings=settings(max_examples=300, database=None))
def test_racy_counter_is_atomic():
    pass
'''


def _project(pytester: pytest.Pytester, **tests: str) -> None:
    pytester.makepyfile(sample=COMPONENT, **tests)


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # A user's project: no conftest of ours, CI's profile not loaded; keep Hypothesis's files out.
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(pytester.path / ".hypothesis"))
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "--redlin-reports", "out", *args)


def test_the_plugin_is_registered_by_the_installed_package() -> None:
    points = importlib.metadata.entry_points(group="pytest11")
    assert [point.value for point in points if point.name == "redlin"] == ["redlin.testing.plugin"]


def test_a_correct_component_passes_on_the_embedded_server(pytester: pytest.Pytester) -> None:
    _project(pytester, test_counter=TESTS)
    result = _run(pytester, "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_counter_is_atomic PASSED*"])
    assert not [path for path in (pytester.path / "out").rglob("*") if path.is_file()]  # nothing failed: no report,
    # and no live history left behind


def test_a_racy_component_fails_with_its_counterexample_and_a_report(pytester: pytest.Pytester) -> None:
    _project(pytester, test_racy=FAILING)
    result = _run(pytester)
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "ConcurrencyViolation" in output
    assert "not linearizable" in output and "incr() -> " in output
    assert "Failing test case" in output or "Falsifying example" in output  # Hypothesis's own report
    assert re.search(r"program:\nE? *client \d: incr\(\)", output)  # the shrunk program, as redlin says it
    assert "GET sample:n" in output  # the commands each call sent
    report = pytester.path / "out" / "test_racy_counter_is_atomic" / "report.html"
    assert report.is_file() and f"report: {report}" in output
    live = report.parent / "history.live.jsonl"  # the failing run, as it was written while it ran
    assert '"event": "invoke"' in live.read_text()


def test_the_tests_can_be_selected_by_the_marker(pytester: pytest.Pytester) -> None:
    _project(pytester, test_counter=TESTS)
    result = _run(pytester, "-m", "redlin", "-v")
    result.assert_outcomes(passed=1, deselected=2)


def test_a_bad_target_is_a_usage_error(pytester: pytest.Pytester) -> None:
    _project(pytester, test_counter=TESTS)
    result = _run(pytester, "--redlin-target", "redis://127.0.0.1:0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--redlin-target:*port*"])


@pytest.mark.redis
def test_the_target_option_points_the_tests_at_a_real_server(pytester: pytest.Pytester,
                                                             redis_server: RedisServer) -> None:
    _project(pytester, test_counter=TESTS, test_racy=FAILING)
    server = redis.Redis.from_url(redis_server.url)
    server.delete("sample:n")
    result = _run(pytester, "--redlin-target", redis_server.url)
    result.assert_outcomes(passed=3, failed=1)
    assert "not linearizable" in result.stdout.str()
    assert server.exists("sample:n")  # the runs went to this server, not to an embedded one
    server.close()


def test_the_readme_example_fails_as_the_readme_shows(pytester: pytest.Pytester) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```python\n# test_lock.py\n(.*?)```", readme, re.S)
    assert example is not None, "the README's plugin example is gone"
    pytester.makepyfile(test_lock=example.group(1))
    result = _run(pytester)
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "acquire(token=" in output and "-> True" in output and "SET lock" in output


def test_the_help_lists_the_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--redlin-target=URL*", "*--redlin-reports=DIR*"])
    assert Path(__file__).is_file()
