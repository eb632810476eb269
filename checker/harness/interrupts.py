"""Signals that end a run the way Ctrl-C does: SIGINT, SIGTERM and SIGHUP.

A run stopped by a service manager or ``timeout`` (SIGTERM), by a closed terminal or a dropped ssh
session (SIGHUP), or by Ctrl-C (SIGINT) ends the same way: generation stops, what was recorded is
checked, the report is written, the run's keys are deleted, and the verdict is printed.  Killed by
SIGTERM's default action instead, a run would leave no verdict, no report and its keys behind.

The runner, the recorder and Hypothesis already know how to stop on ``KeyboardInterrupt``, so the
signals are turned into it:

- while the run is *armed* (recording, searching, shrinking), the first signal raises
  ``KeyboardInterrupt`` in the main thread, where Python runs signal handlers;
- disarmed (the bounded tail: the last checks, the report, deleting keys), a first signal is only
  remembered: the tail is short, and finishing it is the point;
- after the first, a Ctrl-C gives up at once (a user at a terminal who presses it twice means it),
  while further SIGTERMs and SIGHUPs are ignored (a supervisor that repeats its SIGTERM should not
  cost the report and leave the keys behind).

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

__all__ = ["SIGNALS", "Interrupts", "signal_text"]

SIGNALS: Final = ("SIGINT", "SIGTERM", "SIGHUP")
"""The signals that end a run cleanly (SIGHUP where the platform has it)."""


def signal_text(name: str) -> str:
    """How the console names a signal: Ctrl-C for SIGINT, its name otherwise.

    >>> signal_text("SIGINT"), signal_text("SIGTERM")
    ('Ctrl-C', 'SIGTERM')
    """
    return "Ctrl-C" if name == "SIGINT" else name


class Interrupts:
    """Turns SIGINT, SIGTERM and SIGHUP into ``KeyboardInterrupt`` while armed (see the module
    docstring); a context manager that restores the previous handlers on exit."""

    def __init__(self) -> None:
        self.received: str | None = None
        """The name of the first signal received (``"SIGTERM"``), or ``None``."""
        self._armed = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is not threading.main_thread():
            return self
        for name in SIGNALS:
            number = getattr(signal, name, None)
            if number is None or signal.getsignal(number) is signal.SIG_IGN:
                continue
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()

    @contextmanager
    def armed(self) -> Iterator[None]:
        """Within it, the first signal raises ``KeyboardInterrupt`` (at once, if one came before)."""
        self._armed = True
        try:
            if self.received is not None:
                raise KeyboardInterrupt
            yield
        finally:
            self._armed = False

    def _handle(self, number: int, frame: FrameType | None) -> None:
        # No printing here: the main thread may be inside the progress display's lock.
        if self.received is None:
            self.received = signal.Signals(number).name
            if self._armed:
                self._armed = False
                raise KeyboardInterrupt
        elif number == signal.SIGINT:
            raise KeyboardInterrupt
