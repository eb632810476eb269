"""The examples of ``examples/`` (issue #17's proof): redlin passes the correct components and
catches every broken variant, on its embedded model server and on a real redis-server.

A broken variant must be caught within :data:`EXAMPLES` Hypothesis examples with a counterexample
core of at most :data:`CORE_LIMIT` calls, and the explanation must name the call that is not atomic.
How fast (the issue's goal: within 10 s) is measured by ``bench/components.py``, not timed here: a
loaded machine made a wall-clock bound flaky.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RedisServer

from redlin.serve.server import start_in_thread
from redlin.testing import Component, ConcurrencyViolation, check_component

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))  # the examples are plain modules, as a user's would be

from lock import careless_lock, lock, racy_lock  # noqa: E402
from rate_limiter import racy_rate_limiter, rate_limiter  # noqa: E402
from reliable_queue import racy_reliable_queue, reliable_queue  # noqa: E402
from stock import racy_stock, stock  # noqa: E402

EXAMPLES = 200
CORE_LIMIT = 6
CLIENTS, STEPS = 3, 3

CORRECT = [lock, rate_limiter, stock, reliable_queue]
BROKEN = [  # each broken variant, and the call its counterexample must show
    (racy_lock, "acquire("),
    (careless_lock, "release("),
    (racy_rate_limiter, "take("),
    (racy_stock, "buy("),
    (racy_reliable_queue, "take("),
]


def _name(value: object) -> str | None:
    return value.name if isinstance(value, Component) else None


@pytest.fixture(scope="module")
def embedded() -> Iterator[str]:
    with start_in_thread() as server:
        yield server.url


@pytest.fixture(params=["embedded", pytest.param("redis-server", marks=pytest.mark.redis)])
def target(request: pytest.FixtureRequest) -> str:
    """The URL of each target: redlin's embedded model server, then a real redis-server."""
    if request.param == "embedded":
        url: str = request.getfixturevalue("embedded")
        return url
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url


def test_the_examples_keep_to_their_prefix() -> None:
    components = CORRECT + [broken for broken, _ in BROKEN]
    assert {key.split(":")[0] for component in components for key in component.keys} == {"example"}


@pytest.mark.parametrize("component", CORRECT, ids=_name)
def test_a_correct_example_passes(component: Component, target: str) -> None:
    check_component(component, target, clients=CLIENTS, steps=STEPS, max_examples=30)


@pytest.mark.parametrize(("broken", "call"), BROKEN, ids=_name)
def test_a_broken_variant_is_caught_with_a_small_counterexample(broken: Component, call: str,
                                                               target: str) -> None:
    with pytest.raises(ConcurrencyViolation) as caught:
        check_component(broken, target, clients=CLIENTS, steps=STEPS, max_examples=EXAMPLES)
    verdict = caught.value.verdict
    assert 1 <= len(verdict.core) <= CORE_LIMIT, caught.value
    assert call in verdict.explain(), caught.value


@pytest.mark.slow
def test_the_user_tests_of_the_examples_pass_under_pytest(tmp_path: Path) -> None:
    """``pytest examples/`` as a user runs it: the plugin from the installed package, the embedded
    server, reports and Hypothesis's files in the working folder (here a temporary one)."""
    env = {**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(tmp_path / ".hypothesis")}
    done = subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "examples"), "-q", "-p", "no:cacheprovider"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b9 passed\b", done.stdout), done.stdout
    assert not (tmp_path / "reports").exists() or not any(p.is_file() for p in (tmp_path / "reports").rglob("*"))
