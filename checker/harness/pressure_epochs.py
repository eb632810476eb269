"""The pressure engine's epochs: when each begins and ends, counted from the run's start.

Every operation goes to a key of the epoch it is invoked in, and each epoch is checked once it is
over (:mod:`redlin.harness.pressure_check`), so a fault is reported no sooner than the end of the
first epoch that shows it.  The epochs therefore start short and double up to the run's epoch
length: with the default second, the first is 1/64 s (16 ms), then 31 ms, 62 ms, 125 ms, 250 ms
and 500 ms, and a full second from 0.98 s on.  A fault that shows in the first few hundred
operations is found a few tens of milliseconds after the start, and a long run is still checked in
pieces of a second.  Which epoch a time lies in is :func:`epoch_at`, where it ends :func:`epoch_end`;
the workers name keys with the first and the checker waits for the second, so both agree.

>>> second = 1_000_000_000
>>> [epoch_end(e, second) for e in range(7)]
[15625000, 46875000, 109375000, 234375000, 484375000, 984375000, 1984375000]
>>> [epoch_at(t, second) for t in (0, 15_624_999, 15_625_000, 984_375_000, 1_984_374_999, 10 * second)]
[0, 0, 1, 6, 6, 15]
>>> epoch_at(10 * second, 0), epoch_end(0, 0) > 10**18
(0, True)
"""

from __future__ import annotations

from typing import Final

__all__ = ["RAMP", "epoch_at", "epoch_end"]

RAMP: Final = 6
"""Epochs shorter than the run's epoch length at the start: the first is ``2**-RAMP`` of it, and each
of the next ones twice the one before."""
_NEVER: Final = 2**62
"""The end of the only epoch of a run without epochs (epoch length 0)."""


def epoch_end(epoch: int, epoch_ns: int) -> int:
    """Nanoseconds from the run's start to the end of ``epoch`` (epochs of ``epoch_ns`` after the
    ramp; a length of 0 means one epoch that never ends)."""
    if epoch_ns <= 0:
        return _NEVER
    if epoch < RAMP:
        return (epoch_ns * ((1 << (epoch + 1)) - 1)) >> RAMP
    return ((epoch_ns * ((1 << RAMP) - 1)) >> RAMP) + (epoch - RAMP + 1) * epoch_ns


def epoch_at(elapsed_ns: int, epoch_ns: int) -> int:
    """The epoch that ``elapsed_ns`` nanoseconds from the run's start lie in: the first whose end
    lies after it."""
    if epoch_ns <= 0 or elapsed_ns < 0:
        return 0
    for epoch in range(RAMP):
        if elapsed_ns < epoch_end(epoch, epoch_ns):
            return epoch
    ramp_end = epoch_end(RAMP - 1, epoch_ns)
    return RAMP + (elapsed_ns - ramp_end) // epoch_ns
