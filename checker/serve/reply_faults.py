"""Planted faults in what a reply says, not in when it happens: conformance bugs of the embedded server.

The faults of :mod:`redlin.serve.faults` that break a corner of one command (``echo-as-status``,
``decrby-overflow-wraps``, ``score-shortest-format``) are found by ``redlin conform`` as well as by
``redlin run``; these add the kinds of difference clones most often show in their replies, one
each, so that ``redlin conform`` can be shown to find and shrink every kind:

- ``count-as-bulk`` (a reply of the wrong RESP type): LLEN, SCARD, HLEN, ZCARD and STRLEN answer
  their count as a bulk string (``$1 3``) instead of an integer (``:3``);
- ``wrongtype-as-err`` (an error with the wrong text): a command on a key holding another type
  answers ``-ERR Operation against a key holding the wrong kind of value`` instead of
  ``-WRONGTYPE ...``, so a client that tells errors apart by their code word is misled;
- ``arity-error-typed-name`` (an error with the wrong text): a wrong number of arguments names the
  command as the client spelled it (``'GET'``) instead of Redis's lower-case name (``'get'``).

Each changes the reply of a command sent outside MULTI, of a command queued in one (the
queue-time error), and of each command an EXEC runs; the state changes exactly as Redis's does.
No randomness.

>>> CountAsBulk().wrong([b"LLEN", b"k"], 3), CountAsBulk().wrong([b"GET", b"k"], None)
(b'3', None)
>>> ArityErrorTypedName().wrong([b"GET"], Error("ERR wrong number of arguments for 'get' command")).text
"ERR wrong number of arguments for 'GET' command"
"""

from __future__ import annotations

from typing import Final

from redlin.model import Error, Reply
from redlin.serve.hooks import Argv, Fault, Host

__all__ = ["REPLY_FAULTS", "ArityErrorTypedName", "CountAsBulk", "ReplyFault", "WrongtypeAsErr"]


class ReplyFault(Fault):
    """A fault that rewrites replies (:meth:`wrong`) and leaves everything else as Redis does it."""

    def wrong(self, argv: Argv, reply: Reply) -> Reply:
        """The reply the faulty server sends for ``argv`` where Redis sends ``reply``."""
        return reply

    async def execute(self, server: Host, client: int, argv: Argv) -> Reply:
        queue = server.state.session(client).multi
        reply = server.step(client, argv)
        if queue is not None and argv[0].lower() == b"exec" and type(reply) is tuple and len(reply) == len(queue):
            return tuple(self.wrong(list(queued), inner) for queued, inner in zip(queue, reply, strict=True))
        return self.wrong(argv, reply)


_COUNTS: Final = frozenset({b"llen", b"scard", b"hlen", b"zcard", b"strlen"})


class CountAsBulk(ReplyFault):
    name = "count-as-bulk"
    description = "LLEN/SCARD/HLEN/ZCARD/STRLEN answer their count as a bulk string (\"3\") instead of an integer"

    def wrong(self, argv: Argv, reply: Reply) -> Reply:
        return b"%d" % reply if type(reply) is int and argv[0].lower() in _COUNTS else reply


class WrongtypeAsErr(ReplyFault):
    name = "wrongtype-as-err"
    description = "a command on a key of another type answers -ERR Operation against ... instead of -WRONGTYPE ..."

    def wrong(self, argv: Argv, reply: Reply) -> Reply:
        if type(reply) is Error and reply.text.startswith("WRONGTYPE "):
            return Error("ERR " + reply.text.removeprefix("WRONGTYPE "))
        return reply


_ARITY: Final = "ERR wrong number of arguments for '"


class ArityErrorTypedName(ReplyFault):
    name = "arity-error-typed-name"
    description = "a wrong number of arguments names the command as typed ('GET'), not in lower case ('get')"

    def wrong(self, argv: Argv, reply: Reply) -> Reply:
        if type(reply) is not Error or not reply.text.startswith(_ARITY):
            return reply
        _, quoted, rest = reply.text[len(_ARITY):].partition("'")
        typed = argv[0].decode("utf-8", "surrogateescape")
        return Error(f"{_ARITY}{typed}'{rest}") if quoted else reply


REPLY_FAULTS: Final = (CountAsBulk, WrongtypeAsErr, ArityErrorTypedName)
"""The faults of this module, for :data:`redlin.serve.faults.FAULTS`."""
