"""How much CPU the machine's hypervisor took while a bench measured (steal time).

Usage::

    python bench/machine.py [--seconds 5]

prints the steal over the next ``--seconds`` of an idle wait: whether the host is busy enough to
skew a measurement started now.  The benches that compare times import :class:`Steal`.

On a virtual machine the host may run other guests on the same physical cores: the time a vCPU
was ready to run but not running is *steal* (the eighth field of ``/proc/stat``'s ``cpu`` line).
A speed-up measured on two vCPUs under 20 % steal says more about the host than about the code, so
the benches that compare times print it beside their figures.  ``None`` where ``/proc/stat`` has no
such field (not Linux).

>>> share = Steal()
>>> with share:
...     _ = sum(range(1000))
>>> share.percent is None or 0.0 <= share.percent <= 100.0
True
>>> Steal.describe(None), Steal.describe(12.34)
('steal: not measured', 'steal 12.3% of CPU time')
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from types import TracebackType

from redlin.cli.args import positive_float

STAT = Path("/proc/stat")


def cpu_ticks() -> tuple[int, int] | None:
    """All CPUs' (total, steal) clock ticks since boot, or ``None`` if the kernel does not say."""
    try:
        fields = STAT.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    ticks = [int(field) for field in fields[1:]]
    # guest and guest_nice (fields 9 and 10) are already counted in user and nice.
    return sum(ticks[:8]), ticks[7]


class Steal:
    """A ``with`` block's steal, as a share of all CPU time in it (:attr:`percent`, ``None`` if unknown).

    A block can be entered again: the shares add up over every time it was (the runs of one row)."""

    def __init__(self) -> None:
        self.total = 0
        self.stolen = 0
        self.known = True
        self._start: tuple[int, int] | None = None

    def __enter__(self) -> Steal:
        self._start = cpu_ticks()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        end = cpu_ticks()
        if self._start is None or end is None:
            self.known = False
            return
        self.total += end[0] - self._start[0]
        self.stolen += end[1] - self._start[1]

    @property
    def percent(self) -> float | None:
        """Steal over everything measured, in percent of CPU time; ``None`` if unknown."""
        if not self.known or self.total <= 0:
            return None
        return 100.0 * self.stolen / self.total

    @staticmethod
    def describe(percent: float | None) -> str:
        """One phrase for a report line."""
        return "steal: not measured" if percent is None else f"steal {percent:.1f}% of CPU time"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=positive_float, default=5.0, help="how long to watch (default 5)")
    args = parser.parse_args(argv)
    steal = Steal()
    with steal:
        time.sleep(args.seconds)
    print(f"over {args.seconds:g} s: {Steal.describe(steal.percent)} (of all CPUs' time, this process idle)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
