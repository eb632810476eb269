"""How every report names times, clients and keys: one time base, one client numbering, one prefix rule.

A violation is read in several places -- the console, ``summary.md``, ``report.html``, ``junit.xml``
-- and a reader moves between them: an operation that is "client 2, 4–5 ms" in one must be exactly
that in the others.  So all of them name things through this module:

- **times** (:class:`Clock`) are relative to one origin, the history's first invocation (the run's
  start), in milliseconds: to the nanosecond below 1 ms, to the microsecond above, without trailing
  zeros.  Histories imported from event logs count event positions instead (``t=12``).  The page's
  JavaScript formats times with the same rule (``assets/report.js``, ``msText``).
- **clients** are ``client <id>``, the id the history records (:func:`client_name`).
- **keys** written by ``redlin run`` carry the run's prefix (``redlin:<run id>:<round>:``, in the
  history's ``prefix`` metadata); reports show them without it (:class:`Names`).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from redlin.history.records import History, Operation

__all__ = ["Clock", "Names", "client_name", "cut", "plural"]


@dataclass(frozen=True, slots=True)
class Clock:
    """Formats a history's times relative to its first invocation.

    ``unit`` is ``"ns"`` for recorded histories (the client's monotonic clock) and ``"tick"`` for
    histories imported from event logs, whose times are event positions.

    >>> clock = Clock(origin=5_000_000, unit="ns")
    >>> clock.at(17_400_000), clock.at(5_000_250), clock.between(9_000_000, 10_062_500)
    ('12.4 ms', '0.00025 ms', '4–5.063 ms')
    >>> Clock(origin=10, unit="tick").between(14, 15)
    't=4–5'
    """

    origin: int
    unit: str

    @classmethod
    def of(cls, history: History) -> Clock:
        """The clock of ``history``: its first invocation is time 0.

        A history cut out of a longer run may name the run's start in its metadata
        (``time_origin``, in the history's unit) so that its times read as the whole run's do.
        """
        origin = history.meta.get("time_origin")
        if not isinstance(origin, int) or isinstance(origin, bool):
            origin = min((op.invoke for op in history), default=0)
        unit = history.meta.get("time_unit")
        if unit not in ("ns", "tick"):
            # The importers record where a log came from; their times are positions in it.
            unit = "tick" if "source" in history.meta else "ns"
        return cls(origin, unit)

    def number(self, time: int | float) -> str:
        """``time`` without a unit: milliseconds since the origin, or the tick.

        Below 1 ms every nanosecond shows; from 1 ms on, times are rounded to the microsecond.
        """
        if self.unit == "tick":
            return str(int(time) - self.origin)
        elapsed = int(time) - self.origin
        sign, elapsed = ("-" if elapsed < 0 else ""), abs(elapsed)
        if elapsed >= 1_000_000:
            whole, fraction = divmod((elapsed + 500) // 1000, 1000)  # to the microsecond, half up
            digits = f"{fraction:03d}"
        else:
            whole, digits = 0, f"{elapsed:06d}"
        digits = digits.rstrip("0")
        return sign + str(whole) + ("." + digits if digits else "")

    def at(self, time: int | float) -> str:
        """A moment: ``12.4 ms``, or ``t=12`` for event positions."""
        return f"t={self.number(time)}" if self.unit == "tick" else f"{self.number(time)} ms"

    def between(self, invoke: int, complete: int | None) -> str:
        """An operation's interval: ``12.4–12.6 ms``, or ``from 12.4 ms, no reply`` without a reply."""
        if complete is None:
            return f"from {self.at(invoke)}, no reply"
        if self.unit == "tick":
            return f"t={self.number(invoke)}–{self.number(complete)}"
        return f"{self.number(invoke)}–{self.number(complete)} ms"

    def span(self, op: Operation) -> str:
        """:meth:`between` for an operation."""
        return self.between(op.invoke, op.complete)


def client_name(client: Hashable) -> str:
    """How every report names a client: by the id its history records.

    >>> client_name(3), client_name("b")
    ('client 3', 'client b')
    """
    return f"client {client}"


def cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit - 1`` characters and an ellipsis if it is longer.

    >>> cut("SET k 1", 10), cut("SET k 1234567", 10)
    ('SET k 1', 'SET k 123…')
    """
    return text if len(text) <= limit else text[: limit - 1] + "…"


_IRREGULAR = {"reply": "replies", "PUBLISH": "PUBLISHes", "match": "matches"}


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``count`` and ``noun``, the noun in the plural unless the count is one.

    >>> plural(1, "operation"), plural(2, "operation"), plural(0, "reply"), plural(3, "PUBLISH")
    ('1 operation', '2 operations', '0 replies', '3 PUBLISHes')
    """
    if count == 1:
        return f"{count:,} {noun}"
    return f"{count:,} {nouns or _IRREGULAR.get(noun, noun + 's')}"


@dataclass(frozen=True, slots=True)
class Names:
    """A report's way of naming things: its :class:`Clock` and the key prefix it leaves out.

    ``prefix`` is the run's key prefix (``redlin:<run id>:``), as the history's metadata gives it;
    a key shows without it and without the round number that may follow it.

    >>> names = Names(Clock(0, "ns"), "redlin:ab12:")
    >>> names.shown("GET redlin:ab12:3:k -> nil")
    'GET k -> nil'
    """

    clock: Clock
    prefix: str = ""
    ids: tuple[int, ...] = ()
    """How operations are numbered, when not by their own ids: ``ids[i]`` for operation ``i``.  A
    run's failing execution is numbered as its operations are in the run's ``history.jsonl``, so
    that the console, the report and the file agree."""

    def op_id(self, op_id: int) -> int:
        """The number operation ``op_id`` is shown by.

        >>> Names(Clock(0, "ns"), ids=(40, 42)).op_id(1), Names(Clock(0, "ns")).op_id(1)
        (42, 1)
        """
        return self.ids[op_id] if 0 <= op_id < len(self.ids) else op_id

    @classmethod
    def of(cls, history: History, meta: Mapping[str, Any] | None = None) -> Names:
        """The names of ``history`` (``meta``, if given, is merged over its metadata)."""
        merged = {**history.meta, **(meta or {})}
        prefix = merged.get("prefix")
        return cls(Clock.of(history), prefix if isinstance(prefix, str) else "")

    @classmethod
    def of_document(cls, document: Mapping[str, Any]) -> Names:
        """The names a saved ``result.json`` document was written with."""
        time = document.get("time") or {}
        prefix = (document.get("meta") or {}).get("prefix")
        return cls(Clock(int(time.get("origin", 0)), str(time.get("unit", "ns"))),
                   prefix if isinstance(prefix, str) else "")

    def shown(self, text: str, limit: int | None = None) -> str:
        """``text`` with the run's key prefix (and a round number after it) left out, and cut to
        ``limit`` characters if given (a script or a large value; the history file has it whole).

        >>> Names(Clock(0, "ns")).shown("EVAL 'return 1' 0", limit=10)
        "EVAL 'ret…"
        """
        if self.prefix and self.prefix in text:
            text = _prefix_pattern(self.prefix).sub("", text)
        return text if limit is None else cut(text, limit)

    def note(self) -> str:
        """The sentence that says keys are shown without their prefix (empty without one)."""
        return f"Keys are shown without the run's prefix {self.prefix}." if self.prefix else ""


def _prefix_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(re.escape(prefix) + r"(?:\d+:)?")
