"""RESP3: the replies Redis 7.0 sends a connection after ``HELLO 3``, made from the model's RESP2 ones.

The model computes every reply once, in RESP2 shape (:mod:`redlin.model._reply`).  A RESP3
connection gets the same information in richer types, and which type depends on the command, not
on the value: HGETALL's flat array becomes a map, but LRANGE's array of the same strings stays an
array.  :func:`to_resp3` applies Redis 7.0's rules, command by command (each one checked against a
live redis-server 7.0.15 by ``tests/test_resp3.py``):

==============================================  ================================================
command                                         RESP3 reply
==============================================  ================================================
every command                                   ``$-1`` and ``*-1`` become ``_`` (:data:`NULL`),
                                                at any depth (MGET, BLPOP's timeout, EXEC aborted
                                                by WATCH, ``LPOP missing 2``)
HGETALL                                         map (``%``)
SMEMBERS SINTER SUNION SDIFF                    set (``~``)
ZSCORE ZINCRBY, ZADD ... INCR                   double (``,``)
ZMSCORE                                         array of doubles and nulls
ZRANGE ZREVRANGE ZRANGEBYSCORE                  ``WITHSCORES``: array of ``[member, double]``
ZREVRANGEBYSCORE                                pairs
ZPOPMIN ZPOPMAX                                 ``[member, double]``; with a count, an array of
                                                such pairs
(P|S)SUBSCRIBE (P|S)UNSUBSCRIBE                 each confirmation a push (``>``); so is every
                                                Pub/Sub message written to the connection
EXEC                                            each queued command's reply by its own rule
EVAL EVALSHA EVAL_RO EVALSHA_RO                 nulls only: a script's reply is converted by the
                                                RESP2 rules unless it runs ``redis.setresp(3)``
                                                (then as Redis converts it); its ``{double=}``,
                                                ``{map=}``, ``{set=}``, ``{big_number=}`` and
                                                ``{verbatim_string=}`` tables are RESP3 types
                                                already, made by the model for a RESP3 caller
==============================================  ================================================

Everything else (integers, statuses, errors, bulk strings, INCRBYFLOAT and HINCRBYFLOAT's bulk
results, arrays such as HKEYS, LRANGE, SMISMEMBER, PUBSUB NUMSUB) is sent as in RESP2.  What the
server layer answers itself (HELLO, CLIENT, INFO, COMMAND) is converted there.

The connection's protocol also changes what the model *does*: a RESP3 client may run any command
while subscribed, and PING answers ``+PONG`` (sheet P6, P7 are RESP2 rules).  The model keeps the
protocol in the client's :class:`~redlin.model._state.Session` (:func:`use_protocol`); ``RESET``
sets it back to 2, as Redis does.

>>> to_resp3([b"HGETALL", b"h"], (b"f", b"1"))
MapReply(((b'f', b'1'),))
>>> to_resp3([b"ZPOPMIN", b"z"], (b"a", b"1.5"))
(b'a', Double(b'1.5'))
>>> to_resp3([b"MGET", b"a", b"b"], (b"1", None))
(b'1', NULL)
>>> to_resp2(MapReply(((b"a", Double(b"inf")),)))
(b'a', b'inf')
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Final

from ._pubsub import is_message
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
    Verbatim,
    frames_of,
)
from ._state import DEFAULT_SESSION, State

__all__ = ["message_frame", "protocol_of", "to_resp2", "to_resp3", "use_protocol"]

Argv = Sequence[bytes]

_CONFIRMING: Final = frozenset({b"subscribe", b"psubscribe", b"ssubscribe", b"unsubscribe", b"punsubscribe",
                                b"sunsubscribe"})
_MAY_PUBLISH: Final = frozenset({b"publish", b"spublish", b"eval", b"evalsha", b"eval_ro", b"evalsha_ro", b"fcall",
                                 b"fcall_ro"})
_WITHSCORES: Final = frozenset({b"zrange", b"zrevrange", b"zrangebyscore", b"zrevrangebyscore"})


def to_resp3(argv: Argv, reply: Reply, queued: Sequence[Argv] = ()) -> Reply:
    """The reply Redis 7.0 sends a RESP3 connection for ``argv``, given the model's RESP2 ``reply``.

    For ``EXEC`` pass the queued commands (the session's MULTI queue before the step), so that each
    reply in its array is converted by its own command's rule.  Errors and statuses never change.

    >>> to_resp3([b"ZRANGE", b"z", b"0", b"-1", b"WITHSCORES"], (b"a", b"1", b"b", b"2"))
    ((b'a', Double(b'1')), (b'b', Double(b'2')))
    >>> to_resp3([b"EXEC"], (None, (b"f", b"v")), queued=[[b"GET", b"x"], [b"HGETALL", b"h"]])
    (NULL, MapReply(((b'f', b'v'),)))
    >>> to_resp3([b"SUBSCRIBE", b"a"], (b"subscribe", b"a", 1))
    Push((b'subscribe', b'a', 1))
    """
    if type(reply) is Error:
        return reply
    name = argv[0].lower() if argv else b""
    if name == b"exec":
        return _exec(reply, queued)
    if name in _CONFIRMING:
        return Frames.of(tuple(_push(frame) for frame in frames_of(reply)))
    rule = _RULES.get(name)
    if rule is not None and type(reply) is not Frames:
        return rule(argv, reply)
    return nulls(reply)


def nulls(reply: Reply) -> Reply:
    """``reply`` with both RESP2 nulls, at any depth, replaced by RESP3's :data:`NULL`."""
    kind = type(reply)
    if reply is None or reply is NULL_ARRAY:
        return NULL
    if kind is tuple:
        return tuple(nulls(item) for item in reply)  # type: ignore[union-attr]
    if kind is Frames:
        return Frames(tuple(nulls(frame) for frame in reply))  # type: ignore[union-attr]
    if kind is MapReply:
        return MapReply(tuple((nulls(key), nulls(value)) for key, value in reply.pairs))  # type: ignore[union-attr]
    if kind is SetReply or kind is Push:
        return kind(tuple(nulls(item) for item in reply.items))  # type: ignore[union-attr]
    return reply


def _push(frame: Reply) -> Reply:
    return Push(tuple(nulls(item) for item in frame)) if type(frame) is tuple else frame


def _map(argv: Argv, reply: Reply) -> Reply:
    return MapReply.flat(reply) if type(reply) is tuple else nulls(reply)


def _set(argv: Argv, reply: Reply) -> Reply:
    return SetReply(reply) if type(reply) is tuple else nulls(reply)


def _double(argv: Argv, reply: Reply) -> Reply:
    return Double(reply) if type(reply) is bytes else nulls(reply)


def _doubles(argv: Argv, reply: Reply) -> Reply:
    return tuple(_double(argv, item) for item in reply) if type(reply) is tuple else nulls(reply)


def _pairs(reply: Reply) -> Reply:
    if type(reply) is not tuple:
        return nulls(reply)
    return tuple((member, _double((), score)) for member, score in zip(reply[::2], reply[1::2]))


def _withscores(argv: Argv, reply: Reply) -> Reply:
    # Options start after ``key min max``; a "withscores" anywhere else would have been an error.
    return _pairs(reply) if any(arg.lower() == b"withscores" for arg in argv[4:]) else nulls(reply)


def _pop(argv: Argv, reply: Reply) -> Reply:
    if len(argv) > 2:  # with a count: an array of pairs, even of one
        return _pairs(reply)
    if type(reply) is tuple and len(reply) == 2:
        return (reply[0], _double(argv, reply[1]))
    return nulls(reply)


def _algebra_withscores(argv: Argv, reply: Reply) -> Reply:
    # ZUNION/ZINTER/ZDIFF: options follow ``numkeys key...``.
    numkeys = int(argv[1]) if type(reply) is tuple and argv[1].isdigit() else len(argv)
    return _pairs(reply) if any(arg.lower() == b"withscores" for arg in argv[2 + numkeys :]) else nulls(reply)


def _mpop(argv: Argv, reply: Reply) -> Reply:
    if type(reply) is tuple and len(reply) == 2 and type(reply[1]) is tuple:
        return (reply[0], tuple((pair[0], _double(argv, pair[1])) for pair in reply[1]))  # type: ignore[index]
    return nulls(reply)


def _spop(argv: Argv, reply: Reply) -> Reply:
    return SetReply(reply) if len(argv) > 2 and type(reply) is tuple else nulls(reply)  # with a count: a set


def _random_pairs(argv: Argv, reply: Reply) -> Reply:
    # HRANDFIELD/ZRANDMEMBER key count WITHVALUES|WITHSCORES: nested pairs (a score as a double).
    if len(argv) != 4 or type(reply) is not tuple:
        return nulls(reply)
    score = argv[0].lower() == b"zrandmember"
    return tuple((first, Double(second) if score else second)  # type: ignore[arg-type]
                 for first, second in zip(reply[::2], reply[1::2]))


def _lcs(argv: Argv, reply: Reply) -> Reply:
    return _map(argv, reply) if any(arg.lower() == b"idx" for arg in argv[3:]) else nulls(reply)


_RULES: Final[dict[bytes, Callable[[Argv, Reply], Reply]]] = {
    b"spop": _spop,
    b"lcs": _lcs,
    **dict.fromkeys((b"hrandfield", b"zrandmember"), _random_pairs),
    b"hgetall": _map,
    **dict.fromkeys((b"smembers", b"sinter", b"sunion", b"sdiff"), _set),
    **dict.fromkeys((b"zscore", b"zincrby", b"zadd"), _double),
    b"zmscore": _doubles,
    **dict.fromkeys(_WITHSCORES, _withscores),
    **dict.fromkeys((b"zpopmin", b"zpopmax"), _pop),
    **dict.fromkeys((b"zunion", b"zinter", b"zdiff"), _algebra_withscores),
    b"zmpop": _mpop,
}


def register_rule(name: bytes, rule: Callable[[Argv, Reply], Reply]) -> None:
    """Give ``name``'s replies their RESP3 shape with ``rule`` (for families that this module cannot
    import without a cycle: FUNCTION, the stream reads); ``rule`` sees the RESP2 reply, nulls included."""
    _RULES[name] = lambda argv, reply: nulls(rule(argv, reply))


def _exec(reply: Reply, queued: Sequence[Argv]) -> Reply:
    """EXEC's reply: ``*n`` then what each queued command wrote, each by its command's rule.

    The model's RESP2 reply is the array of the first n values written and, when some command
    wrote several (SUBSCRIBE a b, or a message to the EXEC's own client), the rest as values of
    their own (sheet M19).  The written values are walked command by command: a Pub/Sub message
    before the reply of a command that can publish, the confirmations of a (un)subscribe, one
    value for any other command.  RESP3 writes the same values, pushes included, under the same
    ``*n`` (a RESP3 client takes the pushes out of band: Redis 7.0 counts them all the same).
    """
    if reply is NULL_ARRAY:
        return NULL
    frames = frames_of(reply)
    array = frames[0]
    if type(array) is not tuple or not queued:
        return nulls(reply)
    stream = [*array, *frames[1:]]
    out: list[Reply] = []
    position = 0
    for index, argv in enumerate(queued):
        if position >= len(stream):
            break
        later = len(queued) - index - 1  # values the commands after this one still need
        name = argv[0].lower() if argv else b""
        if name in _MAY_PUBLISH:
            while position < len(stream) - later - 1 and is_message(stream[position]):
                out.append(_push(stream[position]))
                position += 1
        if name in _CONFIRMING and type(stream[position]) is tuple:
            count = len(argv) - 1 if len(argv) > 1 else None
            taken = 0
            while position < len(stream) - later and (taken < count if count is not None else (
                    taken == 0 or _confirms(stream[position], name))):
                out.append(_push(stream[position]))
                position += 1
                taken += 1
            continue
        out.append(to_resp3(argv, stream[position]))
        position += 1
    out += (nulls(value) for value in stream[position:])
    n = len(array)
    return tuple(out) if len(out) == n else Frames((tuple(out[:n]), *out[n:]))


def _confirms(frame: Reply, name: bytes) -> bool:
    return type(frame) is tuple and len(frame) == 3 and frame[0] == name and type(frame[1]) is bytes


def message_frame(frame: Reply) -> Reply:
    """What a RESP3 client read as a Pub/Sub delivery (a push), as the model's mailbox holds it (an
    array); ``None``, which no mailbox holds, for anything that is not a push.

    >>> message_frame(Push((b"message", b"ch", b"hi"))), message_frame((b"message", b"ch", b"hi"))
    ((b'message', b'ch', b'hi'), None)
    """
    return frame.items if type(frame) is Push else None


def to_resp2(reply: Reply) -> Reply:
    """What a RESP2 connection gets for a reply built in RESP3 types (``addReply*`` for ``resp == 2``).

    A map is its flat key/value array, a set and a push are arrays, a double, a big number and a
    verbatim string are bulk strings of their text, a boolean is ``:1`` or ``:0``, a null is
    ``$-1``, and an attribute is dropped.  The model's scripts build their replies in RESP3 types
    and give a RESP2 caller this.

    >>> to_resp2(SetReply((Verbatim(b"txt", b"x"), BigNumber(b"12"), Boolean(False), NULL)))
    (b'x', b'12', 0, None)
    """
    kind = type(reply)
    if reply is NULL:
        return None
    if kind is tuple:
        return tuple(to_resp2(item) for item in reply)  # type: ignore[union-attr]
    if kind is MapReply:
        return tuple(to_resp2(part) for pair in reply.pairs for part in pair)  # type: ignore[union-attr]
    if kind is SetReply or kind is Push:
        return tuple(to_resp2(item) for item in reply.items)  # type: ignore[union-attr]
    if kind is Double or kind is BigNumber:
        return reply.raw  # type: ignore[union-attr]
    if kind is Verbatim:
        return reply.body  # type: ignore[union-attr]
    if kind is Boolean:
        return 1 if reply.value else 0  # type: ignore[union-attr]
    if kind is Attributed:
        return to_resp2(reply.reply)  # type: ignore[union-attr]
    return reply


# ----------------------------------------------------------------------------- the session's protocol


def protocol_of(state: State, client: Hashable) -> int:
    """The protocol ``client``'s connection speaks in ``state`` (2 until a ``HELLO 3``)."""
    return state.session(client).protocol


def use_protocol(state: State, client: Hashable, protocol: int) -> State:
    """``state`` after ``client`` switched to ``protocol`` (2 or 3) with ``HELLO``.

    >>> from ._state import INITIAL_STATE
    >>> state = use_protocol(INITIAL_STATE, 1, 3)
    >>> protocol_of(state, 1), protocol_of(use_protocol(state, 1, 2), 1), use_protocol(state, 1, 2) == INITIAL_STATE
    (3, 2, True)
    """
    session = state.session(client)
    if session.protocol == protocol:
        return state
    changed = session.replace(protocol=protocol)
    sessions = state.sessions.delete(client) if changed == DEFAULT_SESSION else state.sessions.set(client, changed)
    return state.replace(sessions=sessions)
