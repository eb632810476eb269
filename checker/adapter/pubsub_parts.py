"""Split a history's Pub/Sub operations into parts: by channel, and each subscriber's session where
it certainly holds nothing.

Every operation that touches Pub/Sub state used to share one pseudo-key, so a history's Pub/Sub
operations were one part: a ``redlin run --workload mixed`` of a million operations has one of
420,546 operations, searched by one process for 13 s.  Yet the state is a product of smaller
ones (P-compositionality, as for keys):

- a channel's subscribers: what ``PUBLISH ch`` counts and writes to, what ``PUBSUB NUMSUB ch``
  counts, changed by (un)subscribing to ``ch``;
- a subscriber's session: its subscriptions and its mailbox.  Once a definite ``UNSUBSCRIBE`` or
  ``PUNSUBSCRIBE`` confirms that it holds no channel and no pattern any more (sheet P2: the count
  in the last confirmation is 0), the session holds nothing at all: no subscription, and no
  message, since a reply comes after every message queued before it (P5), and none can come
  after it.  Its next operations start from the state a new connection has, so they are a new
  *segment*, as independent of the earlier one as another client would be.  This is what a
  ``redlin run`` subscriber does between two epochs.

So each Pub/Sub operation is given objects instead of the one pseudo-key: the channels it names,
and the segment of its client's session.  A pattern that matches only itself (no glob character
left once its escapes are read, as the pressure subscribers' are) counts as its channel.

Only simple histories are split so; anything else keeps the one pseudo-key (``None`` from
:func:`pubsub_objects`): a subscriber that runs anything but single ``SUBSCRIBE``,
``UNSUBSCRIBE``, ``PSUBSCRIBE``, ``PUNSUBSCRIBE``, ``PING``, ``QUIT`` and reads (its other
session state would be split too), a pattern that matches more than itself, and any other Pub/Sub
command (``PUBSUB CHANNELS``, ``PUBSUB NUMPAT``, sharded channels, a script, ``CLIENT KILL``...).

>>> from redlin.history.records import Operation
>>> from redlin.model import Frames
>>> ops = [Operation(0, "s", ((b"SUBSCRIBE", b"a"),), ((b"subscribe", b"a", 1),), 0, 1),
...        Operation(1, "s", ((b"UNSUBSCRIBE", b"a"),), (Frames.of(((b"unsubscribe", b"a", 0),)),), 2, 3),
...        Operation(2, "s", ((b"PSUBSCRIBE", b"b"),), ((b"psubscribe", b"b", 1),), 4, 5),
...        Operation(3, "p", ((b"PUBLISH", b"b", b"x"),), (1,), 4, 5)]
>>> found = pubsub_objects(ops, frozenset({"s"}))
>>> [sorted(found[index], key=repr) for index in range(4)]  # doctest: +NORMALIZE_WHITESPACE
[[('channel', b'a'), ('session', 's', 0)], [('channel', b'a'), ('session', 's', 0)],
 [('channel', b'b'), ('session', 's', 1)], [('channel', b'b')]]
>>> pubsub_objects(ops + [Operation(4, "p", ((b"PUBSUB", b"NUMPAT"),), (1,), 6, 7)], frozenset({"s"})) is None
True
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from typing import Final

from redlin.adapter.deliveries import is_receive_argv
from redlin.history.records import Operation, Outcome
from redlin.model import Push, frames_of, lookup, split_messages, stringmatch

_OK = Outcome.OK

__all__ = ["pubsub_objects", "touches_pubsub"]

Objects = frozenset[Hashable]

_SESSION_COMMANDS: Final = frozenset({b"subscribe", b"unsubscribe", b"psubscribe", b"punsubscribe", b"ping",
                                      b"quit"})
"""What a subscriber may run for its session to be cut into segments."""
_LEAVING: Final = frozenset({b"unsubscribe", b"punsubscribe"})
_GLOB: Final = frozenset(b"*?[")


def _literal(pattern: bytes) -> bytes | None:
    """The one string ``pattern`` matches, if it matches only one (no glob character once its
    escapes are read).

    >>> _literal(rb"ch\\[1\\]"), _literal(b"ch*"), _literal(b"ch")
    (b'ch[1]', None, b'ch')
    """
    found = bytearray()
    escaped = False
    for byte in pattern:
        if escaped:
            found.append(byte)
            escaped = False
        elif byte == 0x5C:  # a backslash
            escaped = True
        elif byte in _GLOB:
            return None
        else:
            found.append(byte)
    literal = bytes(found)
    return literal if not escaped and stringmatch(pattern, literal) else None


def _channels(argv: Sequence[bytes]) -> Objects | None:
    """The channels a subscriber's command names (its patterns as their one channel); ``None`` if
    one is a pattern that matches more."""
    name = argv[0].lower()
    if name in (b"subscribe", b"unsubscribe"):
        return frozenset(("channel", channel) for channel in argv[1:])
    if name in (b"psubscribe", b"punsubscribe"):
        literals = [_literal(pattern) for pattern in argv[1:]]
        if any(literal is None for literal in literals):
            return None
        return frozenset(("channel", literal) for literal in literals)
    return frozenset()  # PING, QUIT: only the session


def _holds_nothing_after(op: Operation) -> bool:
    """Whether ``op`` is a definite (P)UNSUBSCRIBE whose last confirmation counts 0 (P2)."""
    if op.outcome is not _OK or op.call[0][0].lower() not in _LEAVING:
        return False
    frames = frames_of(split_messages(op.result[0])[1])
    last = frames[-1] if frames else None
    items = last.items if type(last) is Push else last
    return type(items) is tuple and len(items) == 3 and items[2] == 0


def _segments(ops: Sequence[Operation], subscribers: frozenset[Hashable]) -> dict[int, Objects] | None:
    """The objects of each subscriber's operations: its session's segment, and channels."""
    by_client: dict[Hashable, list[Operation]] = defaultdict(list)
    for op in ops:
        if op.client in subscribers:
            by_client[op.client].append(op)
    found: dict[int, Objects] = {}
    kept: dict[Objects, Objects] = {}  # each set once: a segment's reads all name the same objects
    for client, mine in by_client.items():
        segment = 0
        for op in sorted(mine, key=lambda op: op.invoke):
            if len(op.call) != 1 or not op.call[0]:
                return None
            argv = op.call[0]
            if is_receive_argv(argv):
                channels: Objects | None = frozenset({("channel", argv[-2])}) if len(argv) >= 4 else frozenset()
            elif argv[0].lower() in _SESSION_COMMANDS:
                channels = _channels(argv)
            else:
                return None
            if channels is None:
                return None
            objects = channels | {("session", client, segment)}
            found[op.id] = kept.setdefault(objects, objects)
            if _holds_nothing_after(op):
                segment += 1
    return found


def _published(op: Operation) -> Objects | None:
    """The channels a publisher's operation names (PUBLISH, PUBSUB NUMSUB; in a MULTI block too);
    ``None`` for any other Pub/Sub command."""
    found: set[Hashable] = set()
    for argv in op.call:
        name = argv[0].lower() if argv else b""
        if name == b"publish" and len(argv) == 3:
            found.add(("channel", argv[1]))
        elif name == b"pubsub" and len(argv) >= 2 and argv[1].lower() == b"numsub":
            found.update(("channel", channel) for channel in argv[2:])
        elif name in (b"multi", b"exec", b"discard") or not touches_pubsub(argv):
            continue
        else:
            return None
    return frozenset(found)


def touches_pubsub(argv: Sequence[bytes]) -> bool:
    """Whether the command ``argv`` is a Pub/Sub command (its table entry's ``pubsub`` flag).

    >>> touches_pubsub((b"PUBSUB", b"NUMPAT")), touches_pubsub((b"GET", b"k"))
    (True, False)
    """
    spec = lookup(argv) if argv else None
    return spec is not None and "pubsub" in spec.flags


def pubsub_objects(ops: Sequence[Operation], subscribers: frozenset[Hashable]) -> dict[int, Objects] | None:
    """For each operation of ``ops`` that touches Pub/Sub state (``subscribers``' all, others'
    Pub/Sub commands), the objects it touches there; ``None`` where the history is not simple
    enough to split (see the module docstring)."""
    found = _segments(ops, subscribers)
    if found is None:
        return None
    kept: dict[Objects, Objects] = {}
    one_channel: dict[bytes, Objects] = {}  # a lone PUBLISH's objects, by its channel
    publish = b"publish"
    for op in ops:
        if op.client in subscribers:
            continue
        call = op.call
        if len(call) == 1 and len(call[0]) == 3 and call[0][0].lower() == publish:
            # Most publishers' operations: their payloads differ, their channels do not.
            channel = call[0][1]
            published = one_channel.get(channel)
            if published is None:
                objects = frozenset({("channel", channel)})
                published = one_channel[channel] = kept.setdefault(objects, objects)
            found[op.id] = published
            continue
        published = _published(op)
        if published is None:
            return None
        if published:
            found[op.id] = kept.setdefault(published, published)
    return found

