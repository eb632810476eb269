"""Loading keeps repeated values once: a long history sends the same few names, keys and script
bodies, and reads the same few replies, again and again.

:func:`~redlin.history.jsonl.load_history` gives every operation its own call and result; here
equal pieces become one object.  For a million-operation history of ``redlin run --engine async
--workload mixed`` the script bodies (9 kB, sent with every EVAL) took ``redlin check``'s peak from
2.5 GB to 1.45 GB, and the names, keys and replies the loaded history from 814 to 688 MiB; worker
processes that inherit it copy fewer pages too.  All these values are immutable, so sharing them
changes nothing else.

>>> names, replies, counts = {}, {}, {}
>>> first = inline_call(["GET", "k1"], names)
>>> again = inline_call(["GET", "k1"], names)
>>> first == ((b"GET", b"k1"),) and first[0][1] is again[0][1]
True
>>> inline_reply("v", replies, counts) is inline_reply("v", replies, counts), inline_reply(3, replies, counts)
(True, (3,))
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from redlin.model import Status

__all__ = ["SHARED_ARGUMENT", "SHORT_ARGUMENT", "inline_call", "inline_reply", "shared_arguments", "shared_call",
           "status"]

SHORT_ARGUMENT = 64
"""A command's first argument (its key, most often) and a string reply this short or shorter are kept
once per loaded history, as is the command's name."""
SHARED_ARGUMENT = 256
"""Arguments longer than this many bytes are kept once per loaded history however often they are
sent (:func:`shared_arguments`; a JSON line no longer than this has none)."""


def shared_arguments(call: tuple[Any, ...], shared: dict[bytes, bytes]) -> tuple[Any, ...]:
    """``call`` with each argument longer than :data:`SHARED_ARGUMENT` bytes replaced by the equal
    one kept in ``shared`` (added there if new): a history that sends one script body a hundred
    thousand times holds it once.

    >>> shared = {}
    >>> first = shared_arguments(((b"EVAL", b"x" * 300, b"0"),), shared)
    >>> again = shared_arguments(((b"EVAL", b"x" * 300, b"0"),), shared)
    >>> first[0][1] is again[0][1], first == again
    (True, True)
    """
    return tuple(tuple(shared.setdefault(arg, arg) if type(arg) is bytes and len(arg) > SHARED_ARGUMENT else arg
                       for arg in argv) if type(argv) is tuple else argv for argv in call)


def shared_call(call: tuple[Any, ...], shared: dict[Any, Any], long: bool, whole: bool) -> tuple[Any, ...]:
    """``call`` kept once in ``shared``: its long arguments (:func:`shared_arguments`) when ``long``
    (its line is long enough to hold one), and the whole call when ``whole`` -- a Redis call,
    whose arguments are bytes, so that equal calls are alike in every way (``1`` and ``True``
    are equal, and are not).  A million-operation ``redlin run`` history makes 0.5 million
    distinct calls out of 1.3 million.

    >>> shared = {}
    >>> first = shared_call(((b"INCR", b"k"),), shared, False, True)
    >>> first is shared_call(((b"INCR", b"k"),), shared, False, True), first is shared_call(first, {}, False, False)
    (True, True)
    """
    if long:
        call = shared_arguments(call, shared)
    return shared.setdefault(call, call) if whole else call


status = lru_cache(maxsize=1024)(Status)
"""A status reply (``+OK``, ``+QUEUED``...), kept once per text: a MULTI block reads one per
command (874,000 of them in a million-operation ``redlin run`` history).  Statuses are never
changed."""


def inline_call(argv: list[Any], names: dict[str, bytes]) -> tuple[tuple[bytes, ...]]:
    """The call of one command of strings ``argv`` (their UTF-8 bytes), its name and first
    argument, when short, kept once in ``names``; ``TypeError`` or ``ValueError`` (a surrogate)
    for an argument that is not a plain string."""
    encode = str.encode
    if len(argv) > 1 and type(argv[1]) is str and len(argv[1]) <= SHORT_ARGUMENT:
        return ((names.get(argv[0]) or names.setdefault(argv[0], encode(argv[0])),
                 names.get(argv[1]) or names.setdefault(argv[1], encode(argv[1])), *map(encode, argv[2:])),)
    return (tuple(map(encode, argv)),)


def inline_reply(reply: str | int | None, replies: dict[str, tuple[bytes]],
                 counts: dict[int | None, tuple[int | None]]) -> tuple[Any]:
    """The result of one ASCII string, integer or nil reply, kept once in ``replies`` or ``counts``
    when short (an integer's result is keyed by its value: ``True`` never comes here)."""
    if isinstance(reply, str):
        if len(reply) > SHORT_ARGUMENT:
            return (reply.encode(),)
        return replies.get(reply) or replies.setdefault(reply, (reply.encode(),))
    return counts.get(reply) or counts.setdefault(reply, (reply,))
