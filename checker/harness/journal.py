"""The run's history file as it is written, and what the run loop learns from watching it.

:class:`Journal` is the :class:`~redlin.history.jsonl.HistoryWriter` a run writes ``history.jsonl``
through: it writes exactly the same lines, and on the way keeps two facts the run loop needs
without reading the file back:

- where each operation is in the file: its id there (operations are numbered in the order their
  invocation lines come, as :func:`~redlin.history.jsonl.load_history` numbers them) and its line,
  by ``(client, invocation time)``, which is unique: a client has one operation in flight at a
  time.  The report is about the file, so results about single runs are renumbered into these
  ids (:mod:`redlin.harness.run_report`);
- every operation that ended without a reply (INFO): when it was invoked, and the recorder's
  error text; and when the next reply came.  A run with such operations may have lived through
  an outage of the target (:mod:`redlin.harness.outages` looks).

The ids are counted as the lines are written, under one lock, so they follow the file's order even
when two clients' threads invoke at the same moment (the writer's own counter may not).  Once the
journal is closed, events are dropped: a client thread a signal left running (a Pub/Sub reader)
must not write into a file the report is being made from.

>>> import tempfile, os
>>> from redlin.history.records import Outcome
>>> with Journal(os.path.join(tempfile.mkdtemp(), "h.jsonl")) as journal:
...     op = journal.invoke(client=1, call=[(b"GET", b"k")], time=10)
...     journal.complete(op, Outcome.INFO, time=20, error="timeout: no reply in 5 s")
...     op = journal.invoke(client=2, call=[(b"GET", b"k")], time=30)
...     journal.complete(op, Outcome.OK, time=40, result=[None])
>>> journal.claim(1, 10), journal.take_indeterminate(), journal.invocations, journal.origin
((0, 2), ([(10, 'timeout: no reply in 5 s')], 40), 2, 10)
>>> journal.take_indeterminate(), journal.claim(1, 10)
(([], None), None)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Hashable
from typing import Any

from redlin.history.jsonl import HistoryWriter

__all__ = ["Journal"]


class Journal(HistoryWriter):
    """A :class:`HistoryWriter` that remembers where each operation is in the file and every
    indeterminate ending (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str], *, model: str = "redis", **meta: Any) -> None:
        self._order = threading.Lock()
        self._ids: dict[tuple[Hashable, int], tuple[int, int]] = {}
        self._indeterminate: list[tuple[int, str]] = []
        self._answered: int | None = None  # the first reply after the latest indeterminate ending
        self._in_flight: dict[Any, int] = {}  # the writer's op id -> invocation time, until completed
        self.lines = 0
        """Lines written so far (the meta line included)."""
        self.invocations = 0
        """Operations invoked so far."""
        self.origin: int | None = None
        """The earliest invocation time written: time 0 of the history file."""
        self._closed = False
        super().__init__(path, model=model, **meta)

    def _write(self, event: dict[str, Any]) -> None:
        # Every event of a HistoryWriter is one line written here.  Counting under a lock held
        # around the write keeps the count in the file's order.
        with self._order:
            if self._closed:  # a client thread a signal left behind, still reading: drop it
                return
            super()._write(event)
            self.lines += 1
            kind = event.get("event")
            if kind == "invoke":
                time = event["time"]
                self._ids[(event["client"], time)] = (self.invocations, self.lines)
                self._in_flight[event["op"]] = time
                self.invocations += 1
                if self.origin is None or time < self.origin:
                    self.origin = time
            elif kind == "info":
                invoked = self._in_flight.pop(event["op"], event["time"])
                self._indeterminate.append((invoked, str(event.get("error") or "no reply")))
                self._answered = None
            else:
                self._in_flight.pop(event.get("op"), None)
                if kind == "ok" and self._indeterminate and self._answered is None:
                    self._answered = event["time"]

    def __enter__(self) -> Journal:
        return self

    def close(self) -> None:
        """Close the file; what comes after is dropped (an operation still in flight then reads
        back as indeterminate, which it is)."""
        with self._order:
            self._closed = True
        super().close()

    def take_indeterminate(self) -> tuple[list[tuple[int, str]], int | None]:
        """``(invocation time, error)`` of the operations that ended without a reply since the last
        call, in the order written (then forgotten), and when the first reply after the latest of
        them came (``None`` if none came yet): the target answered again by then."""
        with self._order:
            taken, self._indeterminate = self._indeterminate, []
            answered, self._answered = self._answered, None
        return taken, answered

    def claim(self, client: Hashable, invoke: int) -> tuple[int, int] | None:
        """``(id, line)`` in the file of the operation ``client`` invoked at ``invoke``, forgotten
        once claimed (a soak run would otherwise keep one entry per operation ever recorded)."""
        with self._order:
            return self._ids.pop((client, invoke), None)
