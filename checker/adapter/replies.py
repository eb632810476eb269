"""What the model replies to an operation, in the RESP version its history was recorded in.

The checker compares a RESP3 history's replies with the model's converted by Redis 7.0's RESP3
rules (:func:`redlin.model.to_resp3`, see :func:`redlin.adapter.redis_model.redis_model`); the
explanations that say what the model *would* have replied (:mod:`redlin.explain`) must compare in
the same types, or a correct ``,1.5`` would read as different from the model's ``"1.5"``.  They
ask :func:`expected_replies` here.

>>> from redlin.model import INITIAL_STATE, Double
>>> _, replies = expected_replies(INITIAL_STATE, 1, ((b"ZADD", b"z", b"1.5", b"m"), (b"ZSCORE", b"z", b"m")), 3)
>>> replies
(1, Double(b'1.5'))
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redlin.adapter.redis_model import Call, canonical_result
from redlin.history.records import Operation
from redlin.model import RESP3_TYPES, SEQUENTIAL, Reply, State, protocol_of, step, to_resp3, use_protocol

__all__ = ["Difference", "expected_replies", "first_difference", "history_protocol", "op_protocol"]


def history_protocol(meta: Mapping[str, Any]) -> int:
    """The RESP version a history's meta line says it was recorded in (2 unless it says 3)."""
    return 3 if meta.get("protocol") == 3 else 2


def op_protocol(state: State, op: Operation) -> int:
    """The RESP version ``op``'s client spoke, as far as ``state`` and its replies tell: 3 if its
    session switched (the checker marks every client of a RESP3 history) or a reply holds a RESP3
    value; else 2."""
    if protocol_of(state, op.client) == 3:
        return 3
    return 3 if op.result is not None and any(_has_resp3(reply) for reply in op.result) else 2


def _has_resp3(reply: Reply) -> bool:
    if isinstance(reply, RESP3_TYPES):
        return True
    return type(reply) is tuple and any(_has_resp3(item) for item in reply)


def expected_replies(state: State, client: Hashable, call: Call, protocol: int = 2,
                     observed: Sequence[Reply] | None = None) -> tuple[State, tuple[Reply, ...]]:
    """The state after ``client`` sends ``call`` from ``state``, and the model's replies in the
    form the checker compares (unordered replies sorted), converted to RESP3 for ``protocol=3``.
    ``observed``, the replies the server sent, guide the commands whose reply the server chooses."""
    if protocol == 3:
        state = use_protocol(state, client, 3)
    replies: list[Reply] = []
    for index, argv in enumerate(call):
        queued = state.session(client).multi or ()
        seen = observed[index] if observed is not None and index < len(observed) else SEQUENTIAL
        state, reply = step(state, client, argv, observed=seen)
        replies.append(to_resp3(argv, reply, queued) if protocol == 3 else reply)
    return state, canonical_result(call, replies)


@dataclass(frozen=True, slots=True)
class Difference:
    """The first reply of an operation that differs from the model's: the command, the model's
    reply and the one recorded; ``index``, the position in the call of the reply that differs (of
    the EXEC, when ``inside_exec``: the command was queued and EXEC's array carried its reply)."""

    index: int
    argv: tuple[bytes, ...]
    expected: Reply
    got: Reply
    inside_exec: bool = False


def first_difference(call: Call, expected: Sequence[Reply], got: Sequence[Reply]) -> Difference | None:
    """The first reply of ``got`` that differs from ``expected`` (the model's, for ``call``); an
    EXEC whose array differs is looked into, command by queued command.

    >>> from redlin.model import OK, QUEUED
    >>> call = ((b"MULTI",), (b"SET", b"k", b"v"), (b"GET", b"k"), (b"EXEC",))
    >>> d = first_difference(call, (OK, QUEUED, QUEUED, (OK, b"v")), (OK, QUEUED, QUEUED, (OK, b"w")))
    >>> d.argv, d.got, d.inside_exec
    ((b'GET', b'k'), b'w', True)
    """
    queue: list[tuple[bytes, ...]] = []
    for index, (argv, want, had) in enumerate(zip(call, expected, got, strict=False)):
        name = argv[0].lower() if argv else b""
        if name == b"multi":
            queue = []
        elif name not in (b"exec", b"discard"):
            queue.append(argv)
        if want == had:
            continue
        if name == b"exec" and type(want) is tuple and type(had) is tuple and len(want) == len(had):
            for queued, inner_want, inner_had in zip(queue, want, had, strict=False):
                if inner_want != inner_had:
                    return Difference(index, queued, inner_want, inner_had, inside_exec=True)
        return Difference(index, argv, want, had)
    return None
