"""Reply values: a small closed set that maps one-to-one onto RESP2.

=================  ==========================  ==================
RESP2              Python value                example
=================  ==========================  ==================
``+OK``            :class:`Status`             ``Status("OK")``
``-ERR ...``       :class:`Error`              ``Error("ERR syntax error")``
``:5``             ``int``                     ``5``
``$3 foo``         ``bytes``                   ``b"foo"``
``$-1``            ``None``                    ``None``
``*2 ...``         ``tuple`` of replies        ``(b"a", 1)``
``*-1``            :data:`NULL_ARRAY`          ``NULL_ARRAY``
several values     :class:`Frames`             ``Frames(((b"subscribe", b"a", 1), (b"subscribe", b"b", 2)))``
=================  ==========================  ==================

Plain Python values are used where they are unambiguous, because the model creates millions of
replies and the checker compares them; ``bool`` is never a reply.  Status and error texts are
``str`` decoded from the wire with ``surrogateescape``, so any byte string round-trips exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final, TypeAlias


class Status:
    """A simple-string reply (``+OK``)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return type(other) is Status and other.text == self.text

    def __hash__(self) -> int:
        return hash(("+", self.text))

    def __repr__(self) -> str:
        return f"Status({self.text!r})"


class Error:
    """An error reply; ``text`` is everything after the ``-``, code word included."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    @property
    def code(self) -> str:
        """The error's code word (``ERR``, ``WRONGTYPE``, ``EXECABORT``...)."""
        return self.text.split(" ", 1)[0]

    def __eq__(self, other: object) -> bool:
        return type(other) is Error and other.text == self.text

    def __hash__(self) -> int:
        return hash(("-", self.text))

    def __repr__(self) -> str:
        return f"Error({self.text!r})"


class Frames:
    """Several top-level RESP values written in a row as the answer to one command.

    ``SUBSCRIBE a b`` answers one confirmation per channel (sheet P2); an EXEC whose queue produced
    such replies, or delivered messages to its own client, writes ``*n`` and then more than n values,
    so a client reads the array of the first n and the rest as values of their own (M19).  A
    command that writes exactly one value never answers ``Frames``: ``Frames.of`` unwraps it.
    """

    __slots__ = ("frames",)

    def __init__(self, frames: tuple[Reply, ...]) -> None:
        self.frames = frames

    @staticmethod
    def of(frames: tuple[Reply, ...]) -> Reply:
        """The reply that writes ``frames``: the value itself when there is one."""
        return frames[0] if len(frames) == 1 else Frames(frames)

    def __iter__(self) -> Iterator[Reply]:
        return iter(self.frames)

    def __len__(self) -> int:
        return len(self.frames)

    def __eq__(self, other: object) -> bool:
        return type(other) is Frames and other.frames == self.frames

    def __hash__(self) -> int:
        return hash(("frames", self.frames))

    def __repr__(self) -> str:
        return f"Frames({self.frames!r})"


def frames_of(reply: Reply) -> tuple[Reply, ...]:
    """The top-level values ``reply`` writes, in order."""
    return reply.frames if isinstance(reply, Frames) else (reply,)


class _NullArray:
    """The null multi-bulk reply ``*-1`` (a WATCH-aborted EXEC, ``LPOP missing 2``)."""

    __slots__ = ()
    _instance: _NullArray | None = None

    def __new__(cls) -> _NullArray:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NULL_ARRAY"

    def __reduce__(self) -> str:
        return "NULL_ARRAY"


NULL_ARRAY: Final = _NullArray()

Reply: TypeAlias = Status | Error | int | bytes | None | tuple["Reply", ...] | _NullArray | Frames

OK: Final = Status("OK")
QUEUED: Final = Status("QUEUED")
PONG: Final = Status("PONG")

# Error texts used by many commands (exact Redis 7.0 wording, sheet D-items).
WRONGTYPE: Final = Error("WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX: Final = Error("ERR syntax error")
NOT_INTEGER: Final = Error("ERR value is not an integer or out of range")
NOT_FLOAT: Final = Error("ERR value is not a valid float")
OVERFLOW: Final = Error("ERR increment or decrement would overflow")
NO_SUCH_KEY: Final = Error("ERR no such key")
DB_INDEX: Final = Error("ERR DB index is out of range")


def arity_error(name: str) -> Error:
    return Error(f"ERR wrong number of arguments for '{name}' command")


def is_error(reply: Reply) -> bool:
    return type(reply) is Error


def sort_unordered(reply: Reply, pairs: bool = False) -> Reply:
    """Canonical form of a reply whose element order Redis leaves unspecified (SMEMBERS, HGETALL).

    ``pairs`` sorts a flat field/value array by pair.  Other replies come back unchanged.
    """
    if type(reply) is not tuple:
        return reply
    if pairs:
        it = iter(reply)
        flat: list[Reply] = []
        for field, value in sorted(zip(it, it), key=_order):
            flat += (field, value)
        return tuple(flat)
    return tuple(sorted(reply, key=_order))


def _order(item: object) -> tuple[str, str]:
    return (type(item).__name__, repr(item))
