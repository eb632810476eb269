"""The tests a user of redlin would write for these components (pytest with redlin's plugin).

Each correct component gets a concurrent property test: Hypothesis draws programs (a few calls for
each of three clients), redlin runs them against the target and fails the test with a minimal
counterexample if a run is not linearizable.  Each broken variant gets a test that redlin does find
its bug.  ``pytest examples/`` runs them on redlin's embedded model server;
``pytest examples/ --redlin-target redis://localhost:6379/0`` on a real (test!) server.
"""

from __future__ import annotations

import pytest
from hypothesis import settings
from lock import careless_lock, lock, racy_lock
from rate_limiter import racy_rate_limiter, rate_limiter
from reliable_queue import racy_reliable_queue, reliable_queue
from stock import racy_stock, stock

from redlin.testing import Component, ConcurrencyViolation, Verdict, check_component, concurrent


@concurrent(lock, clients=3, steps=3, settings=settings(max_examples=30))
def test_the_lock_is_atomic(verdict: Verdict) -> None:
    # Called after each run that was not a violation; "unknown" would mean redlin ran out of time.
    assert verdict.verdict == "linearizable"


@concurrent(rate_limiter, clients=3, steps=3, settings=settings(max_examples=30))
def test_the_rate_limiter_is_atomic(verdict: Verdict) -> None:
    assert verdict.verdict == "linearizable"


@concurrent(stock, clients=3, steps=3, settings=settings(max_examples=30))
def test_the_stock_is_never_oversold(verdict: Verdict) -> None:
    assert verdict.verdict == "linearizable"


@concurrent(reliable_queue, clients=3, steps=3, settings=settings(max_examples=30))
def test_each_job_goes_to_one_worker(verdict: Verdict) -> None:
    assert verdict.verdict == "linearizable"


@pytest.mark.parametrize(("broken", "call"), [
    (racy_lock, "acquire("),
    (careless_lock, "release("),
    (racy_rate_limiter, "take("),
    (racy_stock, "buy("),
    (racy_reliable_queue, "take("),
], ids=lambda value: value.name if isinstance(value, Component) else None)
def test_redlin_finds_the_broken_variant(broken: Component, call: str, redlin_target: str) -> None:
    with pytest.raises(ConcurrencyViolation, match=call.replace("(", r"\(")):
        check_component(broken, redlin_target, clients=3, steps=3, max_examples=200)
