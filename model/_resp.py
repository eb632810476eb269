"""RESP, the Redis wire protocol: exact conversion between bytes and :mod:`redlin.model._reply` values.

One codec serves both directions: the embedded server parses commands and encodes replies; the
differential tester and the recorder encode commands and parse replies.  The parser is incremental
(feed bytes, take complete values) so it works over sockets and asyncio streams alike.

Replies are RESP2 or RESP3 by their values, not by a mode: RESP2 values encode as RESP2 and the
RESP3 ones (:data:`~redlin.model._reply.NULL`, :class:`~redlin.model._reply.MapReply`...) as
RESP3, and the reply parser reads every RESP3 type too (a RESP2 server never sends one).  A reply
converted for a RESP3 client (:func:`redlin.model._resp3.to_resp3`) holds no RESP2 null.

>>> encode_reply(MapReply(((b"a", Double(b"1.5")),)))
b'%1\\r\\n$1\\r\\na\\r\\n,1.5\\r\\n'
>>> parser = Parser()
>>> parser.feed(b"~2\\r\\n#t\\r\\n_\\r\\n")
>>> parser.take()
SetReply((Boolean(True), NULL))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ._reply import (
    NULL,
    NULL_ARRAY,
    Attributed,
    BigNumber,
    Boolean,
    Double,
    Error,
    Frames,
    MapReply,
    Push,
    Reply,
    SetReply,
    Status,
    Verbatim,
)


class ProtocolError(ValueError):
    """The peer sent bytes that are not RESP."""


def encode_command(argv: Sequence[bytes | str | int | float]) -> bytes:
    """A command as a RESP2 array of bulk strings."""
    out = [b"*%d\r\n" % len(argv)]
    for arg in argv:
        data = _as_bytes(arg)
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def _as_bytes(arg: bytes | str | int | float) -> bytes:
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, str):
        return arg.encode("utf-8", "surrogateescape")
    if isinstance(arg, bool):
        raise TypeError("booleans are not Redis arguments")
    if isinstance(arg, int):
        return b"%d" % arg
    return repr(arg).encode()


def encode_reply(reply: Reply) -> bytes:
    """The exact RESP bytes of a reply (a :class:`Frames` reply: its values one after another)."""
    out: list[bytes] = []
    _encode(reply, out)
    return b"".join(out)


def _encode(reply: Reply, out: list[bytes]) -> None:
    kind = type(reply)
    if kind is bytes:
        out.append(b"$%d\r\n%s\r\n" % (len(reply), reply))  # type: ignore[arg-type]
    elif kind is int:
        out.append(b":%d\r\n" % reply)  # type: ignore[str-format]
    elif reply is None:
        out.append(b"$-1\r\n")
    elif kind is tuple or isinstance(reply, list):
        out.append(b"*%d\r\n" % len(reply))  # type: ignore[arg-type]
        for item in reply:  # type: ignore[union-attr]
            _encode(item, out)
    elif kind is Status:
        out.append(b"+%s\r\n" % _line(reply.text))  # type: ignore[union-attr]
    elif kind is Error:
        out.append(b"-%s\r\n" % _line(reply.text))  # type: ignore[union-attr]
    elif reply is NULL_ARRAY:
        out.append(b"*-1\r\n")
    elif kind is Frames:  # several values in a row (SUBSCRIBE a b)
        for frame in reply.frames:  # type: ignore[union-attr]
            _encode(frame, out)
    else:
        _encode_resp3(reply, out)


def _encode_resp3(reply: Reply, out: list[bytes]) -> None:
    kind = type(reply)
    if reply is NULL:
        out.append(b"_\r\n")
    elif kind is Double or kind is BigNumber:
        out.append(b"%s%s\r\n" % (b"," if kind is Double else b"(", reply.raw))  # type: ignore[union-attr]
    elif kind is MapReply or kind is Attributed:
        pairs = reply.pairs if kind is MapReply else reply.attributes.pairs  # type: ignore[union-attr]
        out.append(b"%s%d\r\n" % (b"%" if kind is MapReply else b"|", len(pairs)))
        for key, value in pairs:
            _encode(key, out)
            _encode(value, out)
        if kind is Attributed:
            _encode(reply.reply, out)  # type: ignore[union-attr]
    elif kind is SetReply or kind is Push:
        out.append(b"%s%d\r\n" % (b"~" if kind is SetReply else b">", len(reply.items)))  # type: ignore[union-attr]
        for item in reply.items:  # type: ignore[union-attr]
            _encode(item, out)
    elif kind is Boolean:
        out.append(b"#t\r\n" if reply.value else b"#f\r\n")  # type: ignore[union-attr]
    elif kind is Verbatim:
        body = reply.body  # type: ignore[union-attr]
        out.append(b"=%d\r\n%s:%s\r\n" % (len(body) + 4, reply.format, body))  # type: ignore[union-attr]
    else:
        raise TypeError(f"not a reply: {reply!r}")


def _line(text: str) -> bytes:
    # Redis never emits CR/LF inside a status or error line (it maps them to spaces).
    return text.encode("utf-8", "surrogateescape").replace(b"\r", b" ").replace(b"\n", b" ")


class Parser:
    """Incremental RESP parser (RESP2, and RESP3's types in replies).

    ``feed`` appends bytes; ``take`` returns the next complete value or raises :class:`Incomplete`.
    With ``commands=True`` it parses what a client sends (arrays of bulks, or inline commands) and
    yields ``list[bytes]``; otherwise it parses replies and yields :data:`Reply` values.
    """

    def __init__(self, *, commands: bool = False) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._commands = commands

    def feed(self, data: bytes) -> None:
        if self._pos > 65536 and self._pos * 2 > len(self._buf):
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def values(self) -> Iterable[Reply | list[bytes]]:
        """Every complete value currently buffered."""
        while True:
            try:
                yield self.take()
            except Incomplete:
                return

    def take(self) -> Reply | list[bytes]:
        start = self._pos
        try:
            if self._commands:
                if self._pos < len(self._buf) and self._buf[self._pos] != 0x2A:  # not '*': inline
                    return self._inline()
                value: Reply | list[bytes] = self._command()
            else:
                value = self._reply()
        except Incomplete:
            self._pos = start
            raise
        return value

    def _readline(self) -> bytes:
        end = self._buf.find(b"\r\n", self._pos)
        if end < 0:
            if len(self._buf) - self._pos > 64 * 1024:
                raise ProtocolError("line too long")
            raise Incomplete
        line = bytes(self._buf[self._pos : end])
        self._pos = end + 2
        return line

    def _bulk(self, length: int) -> bytes:
        end = self._pos + length
        if len(self._buf) < end + 2:
            raise Incomplete
        if self._buf[end : end + 2] != b"\r\n":
            raise ProtocolError("bulk string not terminated by CRLF")
        data = bytes(self._buf[self._pos : end])
        self._pos = end + 2
        return data

    def _reply(self) -> Reply:
        line = self._readline()
        if not line:
            raise ProtocolError("empty line")
        tag, rest = line[:1], line[1:]
        if tag == b"+":
            return Status(rest.decode("utf-8", "surrogateescape"))
        if tag == b"-":
            return Error(rest.decode("utf-8", "surrogateescape"))
        if tag == b":":
            return _int(rest)
        if tag == b"$":
            length = _int(rest)
            return None if length < 0 else self._bulk(length)
        if tag == b"*":
            count = _int(rest)
            if count < 0:
                return NULL_ARRAY
            return tuple(self._reply() for _ in range(count))
        return self._resp3(tag, rest)

    def _resp3(self, tag: bytes, rest: bytes) -> Reply:
        if tag == b"_":
            return NULL
        if tag in (b"%", b"|"):
            count = _int(rest)
            pairs = tuple((self._reply(), self._reply()) for _ in range(count))
            return MapReply(pairs) if tag == b"%" else Attributed(MapReply(pairs), self._reply())
        if tag in (b"~", b">"):
            items = tuple(self._reply() for _ in range(_int(rest)))
            return SetReply(items) if tag == b"~" else Push(items)
        if tag == b",":
            return Double(rest)
        if tag == b"(":
            return BigNumber(rest)
        if tag == b"#":
            if rest not in (b"t", b"f"):
                raise ProtocolError(f"bad boolean {rest!r}")
            return Boolean(rest == b"t")
        if tag in (b"=", b"!"):
            data = self._bulk(_int(rest))
            if tag == b"!":
                return Error(data.decode("utf-8", "surrogateescape"))
            if data[3:4] != b":":
                raise ProtocolError("verbatim string without a format")
            return Verbatim(data[:3], data[4:])
        raise ProtocolError(f"unexpected reply type byte {tag!r}")

    def _command(self) -> list[bytes]:
        count = _int(self._readline()[1:])
        argv = []
        for _ in range(count):
            line = self._readline()
            if line[:1] != b"$":
                raise ProtocolError(f"expected '$', got {line[:1]!r}")
            argv.append(self._bulk(_int(line[1:])))
        return argv

    def _inline(self) -> list[bytes]:
        return self._readline().split()


class Incomplete(Exception):
    """More bytes are needed before the next value is complete."""


def _int(text: bytes) -> int:
    try:
        return int(text)
    except ValueError:
        raise ProtocolError(f"bad integer {text!r}") from None
