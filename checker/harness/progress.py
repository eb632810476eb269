"""How far ``redlin run`` has got, on stderr: an updating bar on a terminal, plain lines in a log.

On a terminal one line is rewritten in place a few times a second.  Elsewhere (a CI log, a pipe,
``--progress lines``) every line is a line of its own, and there must be some however short the
run: one at every tenth of the budget (written by the operation that completes it with ``--ops``,
at the next look at the clock with ``--duration``), at least one every :attr:`Progress.interval`
seconds, one for each phase change (violation found, shrinking, minimising), and a last one when
the run ends.  Nothing here knows what a run does:
the driver counts operations (:meth:`Progress.tick`) and programs, and names the phase.  Given
:attr:`Progress.busy` (the seconds clients have spent with an operation in flight, and how many
clients there are), each line also says how busy the clients were: the rest of their time went to
barriers, generating and checking programs (:func:`busy_share`).

>>> import io
>>> log = io.StringIO()
>>> with Progress(log, total_ops=10, duration=None, tty=False) as progress:
...     for _ in range(10):
...         progress.tick()
>>> log.getvalue().splitlines()[-1].startswith("redlin: done: 10 ops, 0 programs")
True
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Final

__all__ = ["Progress", "Quiet", "busy_share"]

BAR_WIDTH: Final = 24
MILESTONES: Final = 10
"""Plain lines mark every tenth of the budget."""
POLL: Final = 0.1
"""Seconds between two looks at the counters (a plain line is written only when one is due)."""


def busy_share(busy_seconds: float, clients: int, elapsed: float) -> float | None:
    """The share of ``clients`` x ``elapsed`` client-seconds spent with an operation in flight
    (``None`` before there is any time to share).

    >>> busy_share(3.0, 4, 2.0), busy_share(0.0, 4, 0.0)
    (0.375, None)
    """
    if clients <= 0 or elapsed <= 0:
        return None
    return min(1.0, busy_seconds / (clients * elapsed))


class Progress:
    """Progress on stderr: one updating line on a terminal, plain lines otherwise.

    Parameters
    ----------
    stream:
        Where to write (default ``sys.stderr``).
    total_ops, duration:
        The run's budget, which the driver may set later: a line shows the fraction spent.
    tty:
        Draw a bar updated in place (default: whether ``stream`` is a terminal).
    interval:
        Seconds between two redraws of the bar, or the longest silence between two plain lines.
    """

    def __init__(self, stream: IO[str] | None = None, *, total_ops: int | None, duration: float | None,
                 tty: bool | None = None, interval: float | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.total_ops = total_ops
        self.duration = duration
        self.interval = interval if interval is not None else (0.2 if self.tty else 5.0)
        self.operations = 0
        self.programs = 0
        self.phase = "testing"
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._width = 0
        self._last_line = self._started
        self._milestone = 0
        self._active = False
        self.busy: Callable[[], tuple[float, int]] | None = None
        """The seconds clients have spent with an operation in flight so far, and their number."""

    def tick(self) -> None:
        """One more operation recorded (called from the clients' threads).

        In a log, the operation that completes a tenth of an ``--ops`` budget writes that line
        itself: a short run must not end between two looks at the counter without one.
        """
        self.operations += 1  # racy by design: a display counter, read-only elsewhere
        if self._active and not self.tty and self.total_ops and not self.duration and self.phase == "testing" \
                and self.operations * MILESTONES >= (self._milestone + 1) * self.total_ops:
            self._render(milestone_only=True)

    def say(self, text: str) -> None:
        """A line of its own (a phase change)."""
        with self._lock:
            self._clear_bar()
            self.stream.write(f"redlin: {text}\n")
            self.stream.flush()
            self._last_line = time.monotonic()

    def fraction(self) -> float | None:
        """How much of the budget is spent (0 to 1), or ``None`` when there is no budget."""
        if self.duration:
            return min(1.0, (time.monotonic() - self._started) / self.duration)
        if self.total_ops:
            return min(1.0, self.operations / self.total_ops)
        return None

    def line(self) -> str:
        """The progress as text, without the ``redlin:`` of a plain line."""
        elapsed = time.monotonic() - self._started
        text = f"{self.operations} ops, {self.programs} programs, {elapsed:.1f} s"
        share = busy_share(*self.busy(), elapsed) if self.busy is not None else None
        if share is not None:
            text += f", clients busy {share:.0%}"
        if self.phase != "testing":
            return f"{self.phase}: {text}"
        fraction = self.fraction()
        if fraction is None:
            return text
        if self.tty:
            filled = int(fraction * BAR_WIDTH)
            return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction:4.0%}  {text}"
        return f"{fraction:.0%}: {text}"

    def _render(self, *, milestone_only: bool = False) -> None:
        """Redraw the bar, or write a plain line (with ``milestone_only``, only if no other thread
        has written the line of the tenth just reached)."""
        with self._lock:
            if self.tty:
                text = self.line()
                self.stream.write("\r" + text.ljust(self._width))
                self._width = len(text)
            else:
                fraction = self.fraction()
                reached = int(fraction * MILESTONES) if fraction is not None else 0
                if milestone_only and reached <= self._milestone:
                    return
                self._milestone = max(self._milestone, reached)
                self.stream.write(f"redlin: {self.line()}\n")
                self._last_line = time.monotonic()
            self.stream.flush()

    def _clear_bar(self) -> None:
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0

    def _loop(self) -> None:
        period = self.interval if self.tty else min(self.interval, POLL)
        while not self._stop.wait(period):
            if self.tty or time.monotonic() - self._last_line >= self.interval:
                self._render()
            elif self.phase == "testing":
                self._render(milestone_only=True)

    def __enter__(self) -> Progress:
        self._started = self._last_line = time.monotonic()
        self._active = True
        self._thread = threading.Thread(target=self._loop, name="redlin-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._active = False
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        elapsed = time.monotonic() - self._started
        with self._lock:
            if self.tty:
                self._clear_bar()
            else:  # the last line of a log: what the run did, however short it was
                share = busy_share(*self.busy(), elapsed) if self.busy is not None else None
                busy = f", clients busy {share:.0%}" if share is not None else ""
                self.stream.write(f"redlin: done: {self.operations} ops, {self.programs} programs, {elapsed:.1f} s"
                                  f"{busy}\n")
            self.stream.flush()


class Quiet(Progress):
    """No progress at all (what :func:`redlin.run` shows unless given a :class:`Progress`)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr, total_ops=None, duration=None, tty=False)

    def say(self, text: str) -> None:
        pass

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass
