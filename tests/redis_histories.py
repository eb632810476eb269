"""Helpers to write small Redis histories by hand in tests, and to draw random operation intervals."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from redlin import History, Operation, Outcome
from redlin.model import NULL_ARRAY, OK, QUEUED, Error, Status, to_argv

__all__ = ["NULL_ARRAY", "OK", "QUEUED", "Error", "Status", "HistoryBuilder", "Span", "effect_order", "random_span"]

Span = tuple[int, int | None, int | None]
"""An operation's (invoke, complete, point): ``complete`` is ``None`` for an indeterminate one, and
``point`` is when it took effect (``None``: never)."""


class HistoryBuilder:
    """``h.op(client, start, end, ("SET", "k", "v"), OK)``; several commands for a transaction."""

    def __init__(self) -> None:
        self.ops: list[Operation] = []

    def op(self, client: Hashable, start: int, end: int | None, *pairs: Any, outcome: Outcome = Outcome.OK) -> int:
        commands = pairs[0::2] if outcome is Outcome.OK else pairs
        replies = pairs[1::2] if outcome is Outcome.OK else None
        call = tuple(to_argv(tuple(c)) for c in commands)
        op = Operation(len(self.ops), client, call, tuple(replies) if replies is not None else None,
                       start, end, outcome)
        self.ops.append(op)
        return op.id

    def transaction(self, client: Hashable, start: int, end: int, commands: Sequence[tuple[Any, ...]], exec_reply: Any) -> int:
        pairs: list[Any] = [("MULTI",), OK]
        for command in commands:
            pairs += [command, QUEUED]
        pairs += [("EXEC",), exec_reply]
        return self.op(client, start, end, *pairs)

    def history(self) -> History:
        return History(tuple(self.ops))


def random_span(pick: Callable[[int, int], int], *, info_one_in: int) -> Span:
    """One operation's interval, and a point inside it where it takes effect; one in ``info_one_in``
    is indeterminate, and then, half the time, it never takes effect."""
    invoke, length, info = pick(0, 12), pick(0, 5), pick(0, info_one_in - 1) == 0
    point: int | None = pick(invoke, invoke + length)
    if info and pick(0, 1):
        point = None
    return invoke, None if info else invoke + length, point


def effect_order(spans: Sequence[Span]) -> list[int]:
    """The indexes of the operations that took effect, in the order they did (ties by index)."""
    return sorted((i for i in range(len(spans)) if spans[i][2] is not None), key=lambda i: (spans[i][2], i))
