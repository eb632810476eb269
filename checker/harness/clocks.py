"""Clocks of other machines: bound a worker's clock offset by round trips, and widen its intervals by it.

A worker on another machine records its operations with its own ``time.monotonic_ns()``, whose
origin (the machine's boot) has nothing to do with the parent's.  To put its operations on the
parent's timeline the parent asks it for the time: it reads its own clock (``sent``), the worker
answers with its clock (``worker``), it reads its own again (``received``).  The worker read its
clock at some parent time between ``sent`` and ``received``, so the offset ``parent - worker`` lies in
``[sent - worker, received - worker]`` (:meth:`Sample.bound`): an interval as wide as the round trip,
whatever the network's asymmetry.  Of several samples the one with the shortest round trip is kept
(:func:`tightest`); samples are not intersected, so a drift between them costs no soundness.

Clocks drift (NTP slews ``CLOCK_MONOTONIC`` by up to 500 ppm; a free-running crystal drifts some tens
of ppm), so the offset is measured before recording and again after, and the recording is taken to
lie inside the hull of the two bounds (:func:`clock_map`): the whole of both round trips and the
drift seen between them.  A worker time ``t`` then stands for a parent time in ``[t + low, t + high]``;
an invocation is moved to ``t + low`` (earlier than it can have been) and a completion to
``t + high`` (later than it can have been) (:meth:`ClockMap.invoke`, :meth:`ClockMap.complete`).
Every operation's interval on the parent's timeline contains its true interval, so precedence is
only ever lost, never invented: a history that was linearizable stays linearizable, and a violation
found in the widened history is a violation of the true one.  The price is that operations closer
than the widening look concurrent, which can hide a violation.

Limits: the hull holds if the offset moves monotonically between the two measurements (a steady
drift, or NTP slewing one way); a step of the worker's clock during the run (``CLOCK_MONOTONIC`` is
never stepped on Linux, but a suspended machine stops it) or a drift that goes out and comes back
is not bounded.  ``slack_ns`` adds a margin on both sides for those who want one.

>>> before = tightest([Sample(1_000, 50, 1_400), Sample(2_000, 1_060, 2_080)])
>>> before.bound()
(940, 1020)
>>> after = Sample(9_000, 8_010, 9_040)
>>> clocks = clock_map(before, after)
>>> clocks.low, clocks.high, clocks.offset, clocks.uncertainty
(940, 1030, 985, 45)
>>> clocks.invoke(100), clocks.complete(200)
(1040, 1230)
>>> shift_line('{"event":"invoke","op":3,"client":4,"time":100,"call":[["GET","k"]]}', clocks)
'{"event":"invoke","op":3,"client":4,"time":1040,"call":[["GET","k"]]}'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["ClockMap", "Sample", "clock_map", "measure", "shift_line", "tightest"]

_TIME: Final = re.compile(r'"time":(-?\d+)')


@dataclass(frozen=True, slots=True)
class Sample:
    """One round trip: the parent's clock when it asked (``sent``) and when the answer came
    (``received``), and the worker's clock in the answer (``worker``), all nanoseconds."""

    sent: int
    worker: int
    received: int

    def __post_init__(self) -> None:
        if self.received < self.sent:
            raise ValueError(f"a round trip cannot end ({self.received}) before it starts ({self.sent})")

    @property
    def round_trip(self) -> int:
        return self.received - self.sent

    def bound(self) -> tuple[int, int]:
        """The offset ``parent - worker`` lies in this interval (see the module docstring)."""
        return self.sent - self.worker, self.received - self.worker


def tightest(samples: Iterable[Sample]) -> Sample:
    """The sample with the shortest round trip (the narrowest bound), the first of equals."""
    found = min(samples, key=lambda sample: sample.round_trip, default=None)
    if found is None:
        raise ValueError("no clock samples")
    return found


def measure(now: Callable[[], int], ask: Callable[[], int], rounds: int = 5) -> Sample:
    """Ask the worker's clock ``rounds`` times (``ask``: its ``monotonic_ns()``), reading the parent's
    (``now``) around each, and keep the tightest sample.

    >>> ticks = iter(range(0, 100, 10))
    >>> measure(lambda: next(ticks), lambda: 7, rounds=2)
    Sample(sent=0, worker=7, received=10)
    """
    samples = []
    for _ in range(rounds):
        sent = now()
        worker = ask()
        samples.append(Sample(sent, worker, now()))
    return tightest(samples)


@dataclass(frozen=True, slots=True)
class ClockMap:
    """A worker's clock on the parent's timeline: a worker time ``t`` was a parent time in
    ``[t + low, t + high]``."""

    low: int
    high: int

    def __post_init__(self) -> None:
        if self.high < self.low:
            raise ValueError(f"an offset bound needs low <= high, not {self.low} > {self.high}")

    @property
    def offset(self) -> int:
        """The middle of the bound: the best single guess of ``parent - worker``."""
        return (self.low + self.high) // 2

    @property
    def uncertainty(self) -> int:
        """How far the true offset can lie from :attr:`offset` (half the bound's width, rounded up):
        each end of an interval is moved outward by about this much around the best guess."""
        return (self.high - self.low + 1) // 2

    def invoke(self, time: int) -> int:
        """An invocation at worker time ``time``, moved as early as it can have been."""
        return time + self.low

    def complete(self, time: int) -> int:
        """A completion at worker time ``time``, moved as late as it can have been."""
        return time + self.high

    def to_worker(self, time: int) -> int:
        """A parent time on the worker's clock (best guess: where the worker should start)."""
        return time - self.offset

    def facts(self) -> dict[str, Any]:
        """What the history's meta line says of this clock."""
        return {"offset_ns": self.offset, "uncertainty_ns": self.uncertainty, "low_ns": self.low, "high_ns": self.high}


def clock_map(before: Sample, after: Sample | None = None, *, slack_ns: int = 0) -> ClockMap:
    """The worker's clock over a recording between ``before`` and ``after`` (``None``: no second
    measurement, the worker assumed not to drift): the hull of the two bounds, widened by ``slack_ns``.

    >>> clock_map(Sample(10, 0, 30)), clock_map(Sample(10, 0, 30), slack_ns=5)
    (ClockMap(low=10, high=30), ClockMap(low=5, high=35))
    """
    low, high = before.bound()
    if after is not None:
        later_low, later_high = after.bound()
        low, high = min(low, later_low), max(high, later_high)
    return ClockMap(low - slack_ns, high + slack_ns)


def shift_line(line: str, clocks: ClockMap) -> str:
    """An event line of a worker's history with its time on the parent's timeline: an invocation
    moved earlier, a completion (``ok``, ``fail``, ``info``) later.  Other lines are unchanged.

    >>> shift_line('{"event":"ok","op":3,"time":200,"result":[null]}', ClockMap(-5, 5))
    '{"event":"ok","op":3,"time":205,"result":[null]}'
    """
    found = _TIME.search(line)
    if found is None:
        return line
    time = int(found.group(1))
    moved = clocks.invoke(time) if line.startswith('{"event":"invoke"') else clocks.complete(time)
    return f"{line[:found.start(1)]}{moved}{line[found.end(1):]}"
