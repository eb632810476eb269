"""Helpers to write small Redis histories by hand in tests."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from redlin import History, Operation, Outcome
from redlin.model import NULL_ARRAY, OK, QUEUED, Error, Status, to_argv

__all__ = ["NULL_ARRAY", "OK", "QUEUED", "Error", "Status", "HistoryBuilder"]


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
