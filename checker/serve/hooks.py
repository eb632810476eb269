"""Where a planted fault may act on the embedded server: the :class:`Fault` hooks and what they see.

The embedded server (:mod:`redlin.serve.model_server`) is a correct Redis: each command is one
atomic model step on the event loop (``processCommand``, sheet M17, E25).  A planted fault turns it
into a *wrong* Redis that breaks exactly one guarantee, so that redlin can be shown to catch each
kind of bug.  The server knows no fault by name; it calls a :class:`Fault` object at four points,
and a fault overrides only the hooks it needs (the base class serves each point as Redis does):

- :meth:`Fault.execute` runs one model command (every command except the few the server layer
  answers itself).  Around the step a fault may change the state it reads (a stale snapshot), what
  it writes (lost, or written back blindly after a pause), how a transaction's queue runs (one
  command per event-loop turn), or its reply.
- :meth:`Fault.deliver` writes one Pub/Sub frame queued by a step to its receiver (drop it, write
  it twice, hold it back).
- :meth:`Fault.before_reply` runs just before a reply is written to a connection (a held-back
  frame goes out then, late but in order with the replies).
- :meth:`Fault.closed` is told that a connection ended (whatever the fault kept for it goes).

A fault reaches the server only through :class:`Host` and the connections only through
:class:`Peer`, so this module and the faults (:mod:`redlin.serve.faults`) never import the server.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import ClassVar, Protocol

from redlin.model import Reply, State

__all__ = ["Argv", "Fault", "Host", "Peer", "is_standalone"]

Argv = list[bytes]


class Host(Protocol):
    """What a fault may use of the server: its state, its clock, and its two atomic operations."""

    state: State
    """The model state after the last command; a fault may replace it."""

    def now(self) -> int:
        """The server clock: Unix milliseconds (read at start, advanced by the monotonic clock)."""
        ...

    def step(self, client: int, argv: Sequence[bytes]) -> Reply:
        """One atomic model step of ``argv`` by ``client`` on :attr:`state` (which it replaces)."""
        ...

    def deliver(self, state: State) -> State:
        """Write the Pub/Sub messages queued in ``state``'s mailboxes; ``state`` with them emptied."""
        ...


class Peer(Protocol):
    """One client connection, as a fault sees it: its model client id and its outgoing stream."""

    id: int

    def push(self, reply: Reply) -> None:
        """Write ``reply`` to the client, after everything already written."""
        ...


def is_standalone(state: State, client: int) -> bool:
    """True if ``client`` is outside MULTI and not in RESP2's subscribed mode: a plain command of its
    runs now (a RESP3 client may run any command while subscribed)."""
    session = state.session(client)
    return session.multi is None and (not session.subscriptions or session.protocol == 3)


class Fault:
    """A planted bug: hooks the server calls, each serving its point correctly unless overridden.

    A subclass names itself (:attr:`name`, as ``--fault`` spells it) and says what it breaks
    (:attr:`description`).  Its random choices come from :attr:`random`, seeded once, so that a
    run with the same seed and the same commands fails the same way.
    """

    name: ClassVar[str] = "none"
    description: ClassVar[str] = "a correct server"

    def __init__(self, seed: int = 0) -> None:
        self.random = random.Random(seed)

    def __str__(self) -> str:
        return self.name

    async def execute(self, server: Host, client: int, argv: Argv) -> Reply:
        """Run one model command of ``client`` and return its reply (correctly: one atomic step).

        Nothing else runs on the server until this returns or awaits: a fault that awaits lets
        other clients' commands in, which is how atomicity is broken.
        """
        return server.step(client, argv)

    def deliver(self, connection: Peer, frame: Reply) -> None:
        """Write one Pub/Sub ``frame`` that a step queued for ``connection`` (correctly: now)."""
        connection.push(frame)

    def before_reply(self, connection: Peer) -> None:
        """Called just before the server writes a reply to ``connection`` (correctly: nothing)."""

    def closed(self, client: int) -> None:
        """Called once ``client``'s connection has ended (correctly: nothing)."""
