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

RESP3 (after ``HELLO 3``) adds types of its own; they are values here too, so that a RESP3 reply
is kept exactly as it was sent (:mod:`redlin.model._resp3` turns the model's RESP2-shaped replies
into them):

=================  ==========================  ==================
RESP3              Python value                example
=================  ==========================  ==================
``_``              :data:`NULL`                ``NULL``
``%2 ...``         :class:`MapReply`           ``MapReply(((b"f", b"1"),))``
``~2 ...``         :class:`SetReply`           ``SetReply((b"a", b"b"))``
``>3 ...``         :class:`Push`               ``Push((b"message", b"ch", b"hi"))``
``,3.5``           :class:`Double`             ``Double(b"3.5")``
``#t``             :class:`Boolean`            ``Boolean(True)``
``(123``           :class:`BigNumber`          ``BigNumber(b"123")``
``=7 txt:abc``     :class:`Verbatim`           ``Verbatim(b"txt", b"abc")``
``|1 ...`` value   :class:`Attributed`         ``Attributed(MapReply(...), 5)``
=================  ==========================  ==================

A map and a set keep the order they were sent in (two replies with the same entries in another
order are different values; the checker compares unordered replies in a sorted form).  A double
keeps its text as sent (``raw``: ``inf``, ``1e+300``), so it round-trips to the byte.

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


# --------------------------------------------------------------------------- RESP3 values


class _Null:
    """RESP3's one null (``_``), which replaces both RESP2 nulls (``$-1`` and ``*-1``)."""

    __slots__ = ()
    _instance: _Null | None = None

    def __new__(cls) -> _Null:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NULL"

    def __reduce__(self) -> str:
        return "NULL"


NULL: Final = _Null()


class _Items:
    """A RESP3 aggregate of one kind: its items in the order they were sent."""

    __slots__ = ("items",)

    def __init__(self, items: tuple[Reply, ...]) -> None:
        self.items = items

    def __iter__(self) -> Iterator[Reply]:
        return iter(self.items)

    def __getitem__(self, index: int) -> Reply:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.items == self.items

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.items))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.items!r})"


class SetReply(_Items):
    """A RESP3 set (``~``): SMEMBERS, SINTER, SUNION, SDIFF."""

    __slots__ = ()


class Push(_Items):
    """A RESP3 push (``>``): a Pub/Sub message or a (un)subscribe confirmation."""

    __slots__ = ()


class MapReply:
    """A RESP3 map (``%``): ``pairs`` of (key, value) in the order they were sent (HGETALL, HELLO)."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: tuple[tuple[Reply, Reply], ...]) -> None:
        self.pairs = pairs

    @staticmethod
    def flat(items: tuple[Reply, ...]) -> MapReply:
        """The map of a flat key, value, key, value... array (a RESP2 HGETALL reply)."""
        return MapReply(tuple(zip(items[::2], items[1::2])))

    def __len__(self) -> int:
        return len(self.pairs)

    def __eq__(self, other: object) -> bool:
        return type(other) is MapReply and other.pairs == self.pairs

    def __hash__(self) -> int:
        return hash(("%", self.pairs))

    def __repr__(self) -> str:
        return f"MapReply({self.pairs!r})"


class _Text:
    """A RESP3 scalar sent as text: ``raw``, the text as sent, so that it round-trips exactly."""

    __slots__ = ("raw",)

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.raw))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.raw!r})"


class Double(_Text):
    """A RESP3 double (``,``): ZSCORE, ZINCRBY, WITHSCORES scores.  ``raw`` as sent (``b"inf"``)."""

    __slots__ = ()


class BigNumber(_Text):
    """A RESP3 big number (``(``): only scripts returning ``{big_number=...}`` send one."""

    __slots__ = ()


class Verbatim:
    """A RESP3 verbatim string (``=``): a three-byte ``format`` (``txt``, ``mkd``) and the ``body``."""

    __slots__ = ("format", "body")

    def __init__(self, format: bytes, body: bytes) -> None:
        self.format = format
        self.body = body

    def __eq__(self, other: object) -> bool:
        return type(other) is Verbatim and other.format == self.format and other.body == self.body

    def __hash__(self) -> int:
        return hash(("=", self.format, self.body))

    def __repr__(self) -> str:
        return f"Verbatim({self.format!r}, {self.body!r})"


class Boolean:
    """A RESP3 boolean (``#t`` / ``#f``); Python's ``bool`` is never a reply."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return type(other) is Boolean and other.value == self.value

    def __hash__(self) -> int:
        return hash(("#", self.value))

    def __repr__(self) -> str:
        return f"Boolean({self.value!r})"


class Attributed:
    """A reply sent after a RESP3 attribute map (``|``): the map and the reply it qualifies."""

    __slots__ = ("attributes", "reply")

    def __init__(self, attributes: MapReply, reply: Reply) -> None:
        self.attributes = attributes
        self.reply = reply

    def __eq__(self, other: object) -> bool:
        return type(other) is Attributed and other.attributes == self.attributes and other.reply == self.reply

    def __hash__(self) -> int:
        return hash(("|", self.attributes, self.reply))

    def __repr__(self) -> str:
        return f"Attributed({self.attributes!r}, {self.reply!r})"


RESP3_TYPES: Final = (_Null, MapReply, SetReply, Push, Double, BigNumber, Verbatim, Boolean, Attributed)
"""The types of RESP3 values (what a RESP2 connection never receives)."""

Reply: TypeAlias = (Status | Error | int | bytes | None | tuple["Reply", ...] | _NullArray | Frames
                    | _Null | MapReply | SetReply | Push | Double | BigNumber | Verbatim | Boolean | Attributed)

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

    ``pairs`` sorts a flat field/value array by pair; a RESP3 map is sorted by pair and a RESP3 set
    by item.  Other replies come back unchanged.

    >>> sort_unordered((b"b", b"2", b"a", b"1"), pairs=True)
    (b'a', b'1', b'b', b'2')
    >>> sort_unordered(SetReply((b"b", b"a")))
    SetReply((b'a', b'b'))
    """
    if type(reply) is MapReply:
        return MapReply(tuple(sorted(reply.pairs, key=_order)))
    if type(reply) is SetReply:
        return SetReply(tuple(sorted(reply.items, key=_order)))
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
