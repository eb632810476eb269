"""The numbers of a workload family, and how a JSON family file may give them.

A family's numbers size lists and loops: each step is drawn from a list holding ``weight`` copies
of it, a cas loop retries up to ``retries`` times, ``{amount}`` is drawn from 1 to
``max_amount``.  JSON lets a file say ``1e999`` (read as infinity), ``NaN``, ``-1``, ``2.5``,
``true`` or a number with ten thousand digits; :func:`whole_number` turns each into a one-line
``ValueError`` naming the field (and the step), which :func:`redlin.harness.workloads.load_family`
prefixes with the file's name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["MAX_AMOUNT", "MAX_RETRIES", "MAX_WEIGHT", "whole_number"]

MAX_WEIGHT: Final = 1000
"""The largest ``weight`` of a step."""
MAX_RETRIES: Final = 100
"""The most ``retries`` of a cas loop."""
MAX_AMOUNT: Final = 1_000_000_000
"""The largest ``max_amount`` (amounts are added to counters: far from 64-bit overflow)."""

_STEP_KINDS: Final = ("op", "tx", "eval", "cas")


def whole_number(data: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    """The whole number ``data[name]`` (``default`` if absent), from ``low`` to ``high``; else a
    ``ValueError`` naming the field, and the step when ``data`` is one.  Infinity, not-a-number,
    fractions, strings and booleans are refused; ``3.0`` is 3.

    >>> whole_number({"op": "INCR {key}", "weight": 2e0}, "weight", 1, 1, MAX_WEIGHT)
    2
    >>> whole_number({"op": "INCR {key}", "weight": float("inf")}, "weight", 1, 1, MAX_WEIGHT)
    Traceback (most recent call last):
    ...
    ValueError: step 'INCR {key}': 'weight' must be a whole number from 1 to 1000, not Infinity
    >>> whole_number({"max_amount": 10**30}, "max_amount", 5, 1, MAX_AMOUNT)
    Traceback (most recent call last):
    ...
    ValueError: 'max_amount' must be a whole number from 1 to 1000000000, not a 31-digit number
    """
    value = data.get(name, default)
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    if number is not None and low <= number <= high:
        return number
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**20:
        digits = len(str(abs(value))) if abs(value) < 10**4000 else "huge"  # str() refuses past 4300 digits
        shown = f"a {digits}-digit number"
    else:
        try:
            shown = json.dumps(value)[:40]  # as the file spells it: Infinity, NaN, true, "3"
        except (TypeError, ValueError):
            shown = repr(value)[:40]
    kind = next((key for key in _STEP_KINDS if key in data), None)
    where = f"step {str(data[kind])[:40]!r}: " if kind is not None else ""
    raise ValueError(f"{where}{name!r} must be a whole number from {low} to {high}, not {shown}")
