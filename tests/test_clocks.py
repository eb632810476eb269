"""Clock offsets bounded by round trips, and intervals widened by them (:mod:`redlin.harness.clocks`).

A fake worker clock with a known offset, a steady drift and jittery round trips: the true interval
of every operation lies inside the widened one, and the widening is no more than the bound's width.
"""

from __future__ import annotations

import random

import pytest

from redlin.harness.clocks import ClockMap, Sample, clock_map, measure, shift_line, tightest


class FakeWorker:
    """A worker whose clock reads ``(parent - offset) * (1 + drift)``: its true offset moves steadily."""

    def __init__(self, offset: int, drift_ppm: float, seed: int) -> None:
        self.offset, self.rate = offset, 1 + drift_ppm * 1e-6
        self.rng = random.Random(seed)
        self.parent = 10**12  # the parent's clock, advanced by the round trips

    def clock(self, parent: int) -> int:
        return int((parent - self.offset) * self.rate)

    def true_offset(self, worker: int) -> float:
        """The parent time minus the worker time, at worker time ``worker``."""
        return worker / self.rate + self.offset - worker

    def now(self) -> int:
        self.parent += self.rng.randrange(1, 50_000)  # a one-way delay of up to 50 µs, asymmetric
        return self.parent

    def ask(self) -> int:
        return self.clock(self.now())


@pytest.mark.parametrize("seed", range(20))
def test_true_intervals_lie_inside_the_widened_ones(seed: int) -> None:
    rng = random.Random(seed)
    fake = FakeWorker(offset=rng.randrange(-10**11, 10**11), drift_ppm=rng.uniform(-200, 200), seed=seed)
    before = measure(fake.now, fake.ask, rounds=5)
    start = fake.parent
    operations = []
    for _ in range(200):  # true (parent) intervals, recorded on the worker's clock
        invoked = start + rng.randrange(0, 10**9)
        completed = invoked + rng.randrange(0, 2_000_000)
        operations.append((invoked, completed, fake.clock(invoked), fake.clock(completed)))
    fake.parent = start + 10**9 + 2_000_000
    after = measure(fake.now, fake.ask, rounds=5)
    clocks = clock_map(before, after)
    for invoked, completed, worker_invoked, worker_completed in operations:
        assert clocks.invoke(worker_invoked) <= invoked
        assert completed <= clocks.complete(worker_completed)
    drift = abs(fake.true_offset(after.worker) - fake.true_offset(before.worker))
    assert clocks.high - clocks.low <= before.round_trip + after.round_trip + drift + 2
    assert abs(clocks.offset - fake.true_offset(before.worker)) <= clocks.uncertainty + drift + 1


def test_without_a_second_measurement_a_drifting_clock_can_escape() -> None:
    """Why the bound is measured again after the run: one sample says nothing about the drift."""
    fake = FakeWorker(offset=5_000, drift_ppm=500, seed=1)
    clocks = clock_map(measure(fake.now, fake.ask, rounds=3))
    later = fake.parent + 10**10  # ten seconds on: 5 ms of drift, far beyond a 50 µs round trip
    assert clocks.invoke(fake.clock(later)) > later


def test_tightest_keeps_the_shortest_round_trip() -> None:
    samples = [Sample(0, 5, 100), Sample(200, 260, 230), Sample(300, 350, 340)]
    assert tightest(samples) == Sample(200, 260, 230)
    assert tightest(samples).bound() == (-60, -30)
    with pytest.raises(ValueError, match="no clock samples"):
        tightest([])
    with pytest.raises(ValueError, match="before it starts"):
        Sample(10, 0, 5)


def test_the_hull_covers_both_measurements_and_slack() -> None:
    clocks = clock_map(Sample(100, 0, 120), Sample(1_000, 890, 1_010), slack_ns=3)
    assert (clocks.low, clocks.high) == (97, 123)
    assert clocks.offset == 110 and clocks.uncertainty == 13
    assert clocks.to_worker(1_110) == 1_000
    with pytest.raises(ValueError):
        ClockMap(5, 4)


def test_shift_line_moves_invocations_earlier_and_completions_later() -> None:
    clocks = ClockMap(-10, 30)
    invoke = '{"event":"invoke","op":1,"client":2,"time":1000,"call":[["SET","k:time:5","1.1"]]}'
    assert shift_line(invoke, clocks) == invoke.replace('"time":1000', '"time":990')
    for outcome in ("ok", "fail", "info"):
        line = f'{{"event":"{outcome}","op":1,"time":1000,"error":"x"}}\n'
        assert shift_line(line, clocks) == line.replace('"time":1000', '"time":1030')
    assert shift_line('{"event":"meta"}', clocks) == '{"event":"meta"}'
