"""What one run of a program recorded (:class:`Execution`), and the small parts the recorder paces
and writes with (:class:`Throttle`, :func:`next_value`).

>>> next_value(None, b"1-2"), next_value(b"1-2", b"0-5")
(b'1-2', b'1-2,0-5')
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Final

from redlin.harness.server_state import Restart
from redlin.harness.wire import Connection, WireClosed, WireTimeout
from redlin.history.records import History, Outcome
from redlin.model import Reply

__all__ = [
    "RESTART_STEP", "ClientConnection", "Execution", "OperationRecord", "Throttle", "next_value", "wire_error_text",
]

Argv = tuple[bytes, ...]

RESTART_STEP: Final = -2
"""The ``client`` of :attr:`Execution.steps` for a ``RESTART`` operation (no program step sent it)."""


@dataclass(frozen=True, slots=True)
class Execution:
    """One run of a program: its operations as a :class:`~redlin.History` (ids 0..n-1, in
    invocation order; client ids are unique in the whole run), the keys it touched, and whether a
    Ctrl-C cut it short."""

    index: int
    prefix: bytes
    history: History
    keys: frozenset[bytes]
    interrupted: bool
    elapsed: float
    problems: tuple[str, ...] = ()
    """Clients that stopped early because they could not reconnect."""
    steps: tuple[tuple[int, int], ...] = ()
    """For each operation (by id), the program step that sent it: ``(client, index)`` into
    ``program.clients``, ``(-1, index)`` into ``program.setup``, or ``(-2, n)`` for the ``n``-th
    restart of :attr:`restarts` (a ``RESTART`` operation, sent by no step)."""
    rejected: tuple[tuple[str, int], ...] = ()
    """Operations the server's state rejected, by code (``("OOM", 12)``), most first."""
    refused: tuple[tuple[str, int], ...] = ()
    """Connection attempts the server refused, by code (``("max clients", 3)``)."""
    restarts: tuple[Restart, ...] = ()
    """Server restarts noticed during this execution (each one with operations recorded before it
    is also a ``RESTART`` operation of :attr:`history`)."""

    def client_ids(self) -> dict[int, tuple[int, ...]]:
        """For each client list of the program (``-1`` for the setup), the client ids its
        operations have in :attr:`history`: one, or one more after each reconnection.

        >>> from redlin.history.records import History, Operation
        >>> ops = History((Operation(0, 7, ("GET",), None, 0, 1), Operation(1, 9, ("GET",), None, 2, 3),
        ...                Operation(2, 8, ("GET",), None, 4, 5)))
        >>> Execution(0, b"p:", ops, frozenset(), False, 0.0, steps=((-1, 0), (1, 0), (1, 1))).client_ids()
        {-1: (7,), 1: (9, 8)}
        """
        found: dict[int, list[int]] = {}
        for op in self.history:
            if op.id < len(self.steps) and isinstance(op.client, int) and self.steps[op.id][0] != RESTART_STEP:
                ids = found.setdefault(self.steps[op.id][0], [])
                if op.client not in ids:
                    ids.append(op.client)
        return {slot: tuple(ids) for slot, ids in found.items()}


class Throttle:
    """At most ``rate`` operations per second over all clients (None: no limit)."""

    def __init__(self, rate: float | None) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self, stop: threading.Event) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            stop.wait(slot - now)


def next_value(old: bytes | None, token: bytes) -> bytes:
    """What a cas loop writes after reading ``old``: ``old`` with ``token`` appended (``token`` if
    the key was missing), so the value tells every update it went through."""
    return token if old is None else old + b"," + token


@dataclass(slots=True)
class OperationRecord:
    """One operation of an execution, as the recorder fills it in (reply, outcome, completion)."""

    client: int
    call: tuple[Argv, ...]
    invoke: int
    step: tuple[int, int]
    complete: int | None = None
    outcome: Outcome = Outcome.INFO
    replies: tuple[Reply, ...] | None = None


@dataclass(slots=True)
class ClientConnection:
    """One client of an execution: its id in the history and its connection."""

    id: int
    conn: Connection | None
    step: tuple[int, int] = (-1, 0)
    """The program step being performed."""
    run_id: str | None = None
    """The server process that answers on :attr:`conn` (``None``: it does not say)."""
    erred: bool = False
    """Whether the latest reply on :attr:`conn` held an error (see :attr:`redlin.harness.recorder.Recorder.closed`)."""


def wire_error_text(error: BaseException) -> str:
    """How a lost operation is described in the run's problems."""
    if isinstance(error, WireTimeout):
        return f"timeout: {error}"
    if isinstance(error, WireClosed):
        return f"connection lost: {error}"
    return f"protocol error: {error}"
