"""How the fast paths see Redis commands: the Redis model's :class:`~redlin.search.views.Views`.

The fast paths of :mod:`redlin.search` know nothing of Redis; this module says which commands
have the shapes they decide, by argv shapes and replies alone (no command table, no model):

- a register: ``GET k`` and ``SET k v`` (:func:`redis_register_access`);
- a string: ``SET k v``, ``APPEND k v`` and ``GET k`` (:func:`redlin.adapter.strings.redis_append_access`);
- a list used as a queue or a stack: ``RPUSH``/``LPUSH k v`` and ``LPOP``/``RPOP k``
  (:func:`redis_list_access`);
- a counter: ``INCR k``, ``GET k``, a MULTI/EXEC of ``INCR k`` only, or a one-key ``EVAL`` that
  replied the counts it made (:func:`redis_counter_access`, :func:`redis_increments`).

Every "yes" of a fast path is replayed through the model, so a view that reads too much into a
command only costs speed; the refutations the string, list and counter fast paths make without a
replay rest on the exact replies of redis-semantics (APPEND's length, D7; a pop's nil on an empty
list; INCR's count).  :mod:`redlin.adapter.redis_model` gives both Redis models :data:`REDIS_VIEWS`.

>>> from redlin.history.records import Operation
>>> redis_register_access(Operation(0, "a", ((b"GET", b"k"),), (None,), 0, 1))
(False, b'k', nil)
>>> redis_list_access(Operation(1, "a", ((b"RPUSH", b"q", b"v"),), (1,), 2, 3))
('push', 82, b'q', b'v', 1)
>>> redis_counter_access(Operation(2, "a", ((b"INCR", b"n"),), (4,), 4, 5))
(True, b'n', (4,))
"""

from __future__ import annotations

from redlin.adapter.strings import redis_append_access
from redlin.history.records import Operation, Outcome
from redlin.search.counters import CounterAccess
from redlin.search.sequences import EMPTY, SequenceAccess
from redlin.search.views import Access, RegisterView, Views

__all__ = ["REDIS_VIEWS", "redis_counter_access", "redis_increments", "redis_list_access", "redis_register_access"]

_OK = Outcome.OK


class _Nil:
    """What a Redis GET of a missing key returns, whichever null the protocol spells it with."""

    def __repr__(self) -> str:
        return "nil"


_NIL = _Nil()


def redis_register_access(op: Operation) -> Access | None:
    """One command, no options: ``GET k`` or ``SET k v``, as a read or a write of register ``k``.  A
    GET reply that is not a string is taken as nil (RESP2's None, RESP3's NULL); anything else there
    fails the replay."""
    call = op.call
    if len(call) != 1:
        return None
    argv = call[0]
    name = argv[0].lower() if argv and isinstance(argv[0], bytes) else b""
    if name == b"set" and len(argv) == 3:
        return True, argv[1], argv[2]
    if name == b"get" and len(argv) == 2:
        if op.outcome is not _OK:
            return False, argv[1], _NIL
        reply = op.result[0] if op.result else None
        return False, argv[1], reply if isinstance(reply, bytes) else _NIL
    return None


def redis_list_access(op: Operation) -> SequenceAccess | None:
    """One Redis command, ``RPUSH``/``LPUSH k v`` (one value) or ``LPOP``/``RPOP k`` (no count), as
    the list's operation; ``None`` for anything else, or for a reply that is neither a length (a
    push) nor a string or nil (a pop): the model replays every reply anyway."""
    call = op.call
    if len(call) != 1 or len(call[0]) not in (2, 3) or not isinstance(call[0][0], bytes):
        return None
    argv = call[0]
    name = argv[0].upper()
    definite = op.outcome is _OK
    reply = op.result[0] if definite and isinstance(op.result, tuple) and len(op.result) == 1 else None
    if name in (b"RPUSH", b"LPUSH") and len(argv) == 3:
        if definite and type(reply) is not int:
            return None
        return "push", name[0], argv[1], argv[2], reply if definite else None
    if name in (b"LPOP", b"RPOP") and len(argv) == 2:
        if reply is not None and not isinstance(reply, bytes):
            return None
        return "pop", name[0], argv[1], EMPTY if reply is None else reply, None
    return None


def redis_counter_access(op: Operation) -> CounterAccess | None:
    """``INCR k``, ``GET k``, a MULTI/EXEC of ``INCR k`` only, or an ``EVAL`` of one key that replied
    an int or consecutive ints (taken as an increment: the replay tells), by argv shapes alone."""
    call = op.call
    if not isinstance(call, tuple) or not call or not all(
            isinstance(argv, tuple) and argv and isinstance(argv[0], bytes) for argv in call):
        return None
    done = op.outcome is _OK and isinstance(op.result, tuple) and len(op.result) == len(call)
    if len(call) == 1:
        argv = call[0]
        name = argv[0].lower()
        reply = op.result[0] if done else None
        if name == b"incr" and len(argv) == 2:
            return True, argv[1], (reply,) if done else None
        if name == b"get" and len(argv) == 2:
            if not done:
                return False, argv[1], None
            if isinstance(reply, bytes):
                return False, argv[1], int(reply) if reply.isdigit() and reply[:1] != b"0" else None
            return False, argv[1], 0  # nil (RESP2's None, RESP3's NULL; anything else fails the replay)
        if name == b"eval" and len(argv) == 4 and argv[2] == b"1":
            counts = (reply,) if type(reply) is int else reply
            return True, argv[3], counts if done else None
        return None
    inner = call[1:-1]
    if call[0][0].lower() != b"multi" or call[-1][0].lower() != b"exec" or not inner or any(
            len(argv) != 2 or argv[0].lower() != b"incr" or argv[1] != inner[0][1] for argv in inner):
        return None
    return True, inner[0][1], op.result[-1] if done else None


def redis_increments(op: Operation) -> int | None:
    """The most an increment of :func:`redis_counter_access` adds: one per ``INCR`` (alone, or in
    a MULTI/EXEC of them); ``None`` for a script, whose reply need not say what it added."""
    call = op.call
    name = call[0][0].lower()
    if name == b"incr":
        return 1
    if name == b"multi":
        return len(call) - 2
    return None


REDIS_VIEWS = Views(
    register=RegisterView(redis_register_access, lambda model: _NIL),
    appends=redis_append_access,
    lists=redis_list_access,
    counters=redis_counter_access,
    increments=redis_increments,
)
"""The views of both Redis models (partitioned by key, and whole)."""
