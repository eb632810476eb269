"""Argument types shared by the subcommands: each rejects a bad value with a one-line message."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

MAX_SECONDS = 1_000_000.0
"""The longest time an option may give (about 11 days): more overflows the clocks it is added to."""


def positive_float(text: str, *, most: float = MAX_SECONDS) -> float:
    """A positive, finite number (seconds, or operations per second), at most ``most``.

    >>> positive_float("2.5")
    2.5
    """
    if not _ascii_number(text):
        raise argparse.ArgumentTypeError(f"not a number: {text!r}")
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a positive finite number: {text!r}")
    if value > most:
        raise argparse.ArgumentTypeError(f"must be at most {most:g}: {text!r}")
    return value


def positive_int(text: str, *, most: int = 1_000_000_000) -> int:
    """A whole number from 1 to ``most``, in ASCII digits (``int`` would also take ``"٣"``).

    >>> positive_int("12")
    12
    """
    if not text.strip().lstrip("+").isascii() or not text.strip().lstrip("+").isdigit():
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}")
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    if value > most:
        raise argparse.ArgumentTypeError(f"must be at most {most:,}: {text!r}")
    return value


def bounded_int(most: int) -> Callable[[str], int]:
    """:func:`positive_int` with another upper bound, as an argparse type."""

    def parse(text: str) -> int:
        return positive_int(text, most=most)

    parse.__name__ = "positive_int"  # argparse names the type in its messages
    return parse


def seconds(most: float) -> Callable[[str], float]:
    """:func:`positive_float` with another upper bound, as an argparse type."""

    def parse(text: str) -> float:
        return positive_float(text, most=most)

    parse.__name__ = "positive_float"
    return parse


def _ascii_number(text: str) -> bool:
    return text.isascii() and any(ch.isdigit() for ch in text)


def port(text: str) -> int:
    """A TCP port, 0 for any free one."""
    if not text.isascii() or not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number (0-65535): {text!r}")
    return value
