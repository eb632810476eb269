"""A convenient mutable wrapper around the pure step function, for sequential use.

>>> m = Redis()
>>> c = m.client()
>>> c.execute("SET", "k", "v")
Status('OK')
>>> c.execute("GET", "k")
b'v'
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable

from ._engine import disconnect, step
from ._pubsub import mailbox, receive_all
from ._reply import Reply
from ._state import State, initial_state

Arg = bytes | str | int | float


def to_argv(args: tuple[Arg, ...]) -> tuple[bytes, ...]:
    """Arguments as Redis receives them: bytes; str as UTF-8; numbers in decimal."""
    out = []
    for arg in args:
        if isinstance(arg, bytes):
            out.append(arg)
        elif isinstance(arg, str):
            out.append(arg.encode("utf-8", "surrogateescape"))
        elif isinstance(arg, bool):
            raise TypeError("booleans are not Redis arguments")
        elif isinstance(arg, int):
            out.append(b"%d" % arg)
        else:
            out.append(repr(arg).encode())
    return tuple(out)


class Redis:
    """A model server: holds the current :class:`State` and a clock (milliseconds, starts at 0).

    ``profile`` names the server version to imitate (``redis-7.0`` by default); a given ``state``
    brings its own.

    >>> Redis(profile="redis-6.2").client().execute("NOSUCH", "x")
    Error('ERR unknown command `NOSUCH`, with args beginning with: `x`, ')
    """

    def __init__(self, state: State | None = None, now: int = 0, profile: str | None = None) -> None:
        if state is None:
            state = initial_state() if profile is None else initial_state(profile)
        elif profile is not None and state.profile.name != profile:
            raise ValueError(f"the state given is of profile {state.profile.name!r}, not {profile!r}")
        self.state = state
        self.now = now
        self._ids = itertools.count(1)

    def client(self, client_id: Hashable | None = None) -> Client:
        """A new connection (ids are 1, 2, ... unless given)."""
        return Client(self, next(self._ids) if client_id is None else client_id)

    def advance(self, milliseconds: int) -> None:
        """Move the server's clock forward."""
        self.now += milliseconds


class Client:
    """One connection to a :class:`Redis` model."""

    def __init__(self, server: Redis, client_id: Hashable) -> None:
        self.server = server
        self.id = client_id

    def execute(self, *args: Arg) -> Reply:
        """Send one command and return its reply."""
        self.server.state, reply = step(self.server.state, self.id, to_argv(args), self.server.now)
        return reply

    def messages(self) -> list[Reply]:
        """Read the Pub/Sub messages written to this connection since the last call, oldest first.

        >>> m = Redis(); sub, pub = m.client(), m.client()
        >>> sub.execute("SUBSCRIBE", "news")
        (b'subscribe', b'news', 1)
        >>> pub.execute("PUBLISH", "news", "hello")
        1
        >>> sub.messages()
        [(b'message', b'news', b'hello')]
        """
        frames = mailbox(self.server.state, self.id)
        if frames:
            self.server.state = receive_all(self.server.state, self.id, frames)  # type: ignore[assignment]
        return list(frames)

    def close(self) -> None:
        """Close the connection: its session ends."""
        self.server.state = disconnect(self.server.state, self.id)
