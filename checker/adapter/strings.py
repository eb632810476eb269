"""Redis strings built by SET and APPEND, as the string fast path sees them.

:mod:`redlin.search.appends` decides a part of puts, appends and whole reads of one string without
a search, whatever the model, when every value written is unique: the reads then name the order of
the writes.  It reads each operation through the model's view (:class:`~redlin.search.views.Views`);
this module is the Redis model's (:data:`redlin.adapter.views.REDIS_VIEWS`).

The view must be exact, because the fast path also *refutes* (a stale read, two reads that fork)
without replaying anything: ``SET k v`` (no options) is a put only when it replied ``OK``,
``APPEND k v`` an append only when it replied a length (the new one; it creates a missing key and
refuses any other type with WRONGTYPE: redis-semantics D7), and ``GET k`` reads the empty string when it
replied nil (the key is missing: no value written is empty, or the part is not one the fast path
takes).  Any other command, reply or shape, and the part is left to the other fast paths and the
search.  Values are bytes; the view hands them over as Latin-1 text, one character a byte, which
keeps every concatenation and prefix as it was.  A part's operations are all on one key, and none
of them can be another's (a SELECT, a FLUSHALL, a restart puts the whole history in one part, which
the fast path then declines), so nothing else changes the string between them.

>>> from redlin.history.records import Operation
>>> redis_append_access(Operation(0, "a", ((b"APPEND", b"k", b"x1 "),), (3,), invoke=0, complete=1))
('append', b'k', 'x1 ', 3)
>>> redis_append_access(Operation(1, "b", ((b"get", b"k"),), (None,), invoke=2, complete=3))
('read', b'k', '', None)
>>> redis_append_access(Operation(2, "b", ((b"SET", b"k", b"v", b"NX"),), (None,), invoke=4, complete=5)) is None
True
"""

from __future__ import annotations

from redlin.history.records import Operation, Outcome
from redlin.model import NULL, OK
from redlin.search.appends import AppendAccess

__all__ = ["redis_append_access"]

_OK = Outcome.OK


def redis_append_access(op: Operation) -> AppendAccess | None:
    """One Redis command, ``SET k v``, ``APPEND k v`` or ``GET k``, as the string's put, append or
    read (module docstring); ``None`` for anything else, or for a definite reply that is not the
    command's success (an error: the write had no effect, the read showed no string)."""
    call = op.call
    if len(call) != 1:
        return None
    argv = call[0]
    if len(argv) not in (2, 3) or not isinstance(argv[0], bytes):
        return None
    definite = op.outcome is _OK
    if definite:
        if not isinstance(op.result, tuple) or len(op.result) != 1:
            return None
        reply = op.result[0]
    name = argv[0].upper()
    if len(argv) == 3:
        value = argv[2]
        if not isinstance(value, bytes):
            return None
        if name == b"APPEND":
            if definite and type(reply) is not int:
                return None
            return "append", argv[1], value.decode("latin-1"), reply if definite else None
        if name == b"SET":
            if definite and reply != OK:
                return None
            return "put", argv[1], value.decode("latin-1"), None
        return None
    if name != b"GET":
        return None
    if not definite:
        return "read", argv[1], "", None  # (an indeterminate read shows nothing: its value is not looked at)
    if reply is None or reply is NULL:
        return "read", argv[1], "", None
    if isinstance(reply, bytes):
        return "read", argv[1], reply.decode("latin-1"), None
    return None

