"""Signals that end a run the way Ctrl-C does: SIGINT, SIGTERM and SIGHUP.

A run stopped by a service manager or ``timeout`` (SIGTERM), by a closed terminal or a dropped ssh
session (SIGHUP), or by Ctrl-C (SIGINT) ends the same way: generation stops, what was recorded is
checked, the report is written, the run's keys are deleted, and the verdict is printed.  Killed by
SIGTERM's default action instead, a run would leave no verdict, no report and its keys behind.

A signal handler never raises.  An exception raised from a handler lands wherever the main thread
happens to be: inside a garbage-collector callback (where Python prints it and carries on), inside a
Lua callback of the model (where it could become a script error), or between a command sent and its
reply read (leaving a reply on the connection for the next command).  Raising from the handler
once made a run cut short by SIGHUP end VIOLATION against a correct server.  So the handler only writes down the
signal, and the run looks at it at *checkpoints*, places where stopping cuts nothing in half: between
programs, between setup steps, while the main thread waits for the clients' threads or for the
target to come back.  There :func:`checkpoint` raises ``KeyboardInterrupt``, which the runner, the
recorder and Hypothesis already know how to handle:

- while the run is *armed* (recording, searching, shrinking), the first signal makes the next
  checkpoint raise; the clients then stop after their current operation, so that every operation
  recorded has its true outcome;
- disarmed (the bounded tail: the last checks, the report, deleting keys), a first signal is only
  remembered: the tail is short, and finishing it is the point;
- after the first, a Ctrl-C gives up at once (a user at a terminal who presses it twice means it):
  it raises ``KeyboardInterrupt`` where the main thread is and sets :attr:`Interrupts.aborted`, so
  that the run ends without a verdict (what it was doing may have been cut in half); further
  SIGTERMs and SIGHUPs are ignored (a supervisor that repeats its SIGTERM should not cost the report
  and leave the keys behind).

A signal the process was told to ignore (``nohup`` ignores SIGHUP) stays ignored, and outside the
main thread (where handlers cannot be installed) nothing changes.

>>> with Interrupts() as interrupts:
...     interrupts.received is None
True
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, Final

__all__ = ["SIGNALS", "Interrupts", "checkpoint", "signal_text"]

SIGNALS: Final = ("SIGINT", "SIGTERM", "SIGHUP")
"""The signals that end a run cleanly (SIGHUP where the platform has it)."""


def signal_text(name: str) -> str:
    """How the console names a signal: Ctrl-C for SIGINT, its name otherwise.

    >>> signal_text("SIGINT"), signal_text("SIGTERM")
    ('Ctrl-C', 'SIGTERM')
    """
    return "Ctrl-C" if name == "SIGINT" else name


_active: list[Interrupts] = []
"""The :class:`Interrupts` in force, innermost last (signal handlers are the process's, so is this)."""


def checkpoint() -> None:
    """A place where the main thread may stop: raises ``KeyboardInterrupt`` if a signal came while
    the innermost :class:`Interrupts` is armed (once; see the module docstring).  Does nothing in
    other threads or when no :class:`Interrupts` is in force.

    >>> checkpoint()
    """
    if _active and threading.current_thread() is threading.main_thread():
        _active[-1].checkpoint()


class Interrupts:
    """Writes down SIGINT, SIGTERM and SIGHUP for the checkpoints (see the module docstring); a
    context manager that restores the previous handlers on exit."""

    def __init__(self) -> None:
        self.received: str | None = None
        """The name of the first signal received (``"SIGTERM"``), or ``None``."""
        self.aborted = False
        """Whether a second Ctrl-C gave up at once: the run must end without a verdict."""
        self._armed = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Interrupts:
        _active.append(self)
        if threading.current_thread() is not threading.main_thread():
            return self
        for name in SIGNALS:
            number = getattr(signal, name, None)
            if number is None or signal.getsignal(number) is signal.SIG_IGN:
                continue
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self in _active:
            _active.remove(self)
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()

    @contextmanager
    def armed(self) -> Iterator[None]:
        """Within it, the first signal makes the next checkpoint raise ``KeyboardInterrupt`` (entering
        raises at once if one came before)."""
        self._armed = True
        try:
            if self.received is not None:
                raise KeyboardInterrupt
            yield
        finally:
            self._armed = False

    def checkpoint(self) -> None:
        """Raise ``KeyboardInterrupt`` if a signal came while armed (then disarm: once is enough)."""
        if self._armed and self.received is not None:
            self._armed = False
            raise KeyboardInterrupt

    def _handle(self, number: int, frame: FrameType | None) -> None:
        # No printing and no raising here (see the module docstring): the main thread may be inside
        # the progress display's lock, a Lua callback or a reply half read.
        if self.received is None:
            self.received = signal.Signals(number).name
        elif number == signal.SIGINT:
            self.aborted = True
            raise KeyboardInterrupt
