"""What a Redis history says about Pub/Sub deliveries: who read which message, which PUBLISH could
have sent it, and who was subscribed when.

Facts, not a search: the checker's pre-check (:func:`impossible_message`) and the explanations of
Pub/Sub violations (``redlin.explain.recognise``) both read them.  Every function is conservative: it
speaks only about what the recorded calls and replies prove.

Where messages are read (see ``redlin.adapter.redis_model``): the pseudo-command ``RECV`` is one message
read by an idle subscriber (its result is the frame); a :class:`model.Frames` result of a
subscriber's own Pub/Sub command or PING starts with the messages read before its reply.  Over
RESP3 a message is a push (``>``), which no reply is, so the messages in front of any command's
reply are known exactly (a RESP3 subscriber may send any command); the facts here hold a message
as the tuple of its parts, however it was sent.

>>> receive_call(Push((b"message", b"ch", b"hi"))), message_parts(Push((b"message", b"ch", b"hi")))
((b'RECV', b'message', b'ch', b'hi'), (b'message', b'ch', b'hi'))
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from redlin.history.records import Operation, Outcome
from redlin.model import Frames, Push, Reply, is_message, split_messages, stringmatch

_OK = Outcome.OK
_INFO = Outcome.INFO

RECV = b"RECV"
"""The pseudo-command of one Pub/Sub message read by an idle subscriber: call
``((b"RECV", *frame),)`` (the frame's parts, so that an operation weakened to indeterminate still
says which message it took), result ``(frame,)``."""


def receive_call(frame: object) -> tuple[bytes, ...]:
    """The argv of the RECV operation that read ``frame`` (just ``RECV`` if it is not a message)."""
    parts = frame.items if type(frame) is Push else frame
    if type(parts) is tuple and parts and all(type(part) is bytes for part in parts):
        return (RECV, *parts)
    return (RECV,)


def message_parts(frame: Reply) -> tuple[bytes, ...]:
    """A message frame as the tuple of its parts: a RESP3 push's items, a RESP2 array itself."""
    return frame.items if type(frame) is Push else frame  # type: ignore[return-value]


def is_receive_argv(argv: Sequence[bytes]) -> bool:
    return bool(argv) and argv[0] == RECV

_SCRIPTS = frozenset({b"eval", b"evalsha", b"eval_ro", b"evalsha_ro", b"fcall", b"fcall_ro"})
_NOTIFICATION_CHANNELS = (b"__keyspace@", b"__keyevent@")  # keyspace notifications' channels
# Replies of these commands are never message frames, so messages in front of them are exact.
_READS_MESSAGES_FIRST = frozenset({b"subscribe", b"unsubscribe", b"psubscribe", b"punsubscribe",
                                   b"ssubscribe", b"sunsubscribe", b"ping"})


@dataclass(frozen=True, slots=True)
class Receipt:
    """One message frame a client read: in operation ``op``, the ``position``-th frame the client read."""

    op: Operation
    frame: tuple[bytes, ...]
    position: int


@dataclass(frozen=True, slots=True)
class Publish:
    """One PUBLISH (or SPUBLISH) command of an operation, queued in a MULTI or not."""

    op: Operation
    channel: bytes
    payload: bytes
    sharded: bool
    receivers: int | None
    """Its reply, when the operation is definite and the reply is a count."""
    index: int = 0
    """Where the command is in the operation's call (commands of one EXEC run in this order)."""

    def sends(self, frame: tuple[bytes, ...]) -> bool:
        """Could this PUBLISH have written ``frame`` to some subscriber?"""
        kind = frame[0]
        if kind == b"smessage":
            return self.sharded and frame[1:] == (self.channel, self.payload)
        if self.sharded:
            return False
        if kind == b"message":
            return frame[1:] == (self.channel, self.payload)
        return bool(frame[2:] == (self.channel, self.payload) and stringmatch(frame[1], self.channel))


def is_receive(op: Operation) -> bool:
    return len(op.call) == 1 and is_receive_argv(op.call[0])


def _reads_messages(ops: Sequence[Operation]) -> bool:
    """Whether an operation of ``ops`` read a message: a receive, or a definite reply with message
    frames in front of it (one plain pass: a long history of other commands is the usual case).

    >>> _reads_messages([Operation(0, 0, ((b"GET", b"k"),), (None,), invoke=0, complete=1)])
    False
    """
    definite = _OK
    for op in ops:
        if is_receive(op):
            return True
        if op.outcome is definite:
            for reply in op.result:
                if type(reply) is Frames:
                    return True
    return False


def receipts(ops: Iterable[Operation]) -> dict[Hashable, list[Receipt]]:
    """Per client, the messages it read, in the order it read them (each as its parts)."""
    out: dict[Hashable, list[Receipt]] = defaultdict(list)
    for op in sorted(ops, key=lambda o: (o.invoke, o.id)):
        if op.outcome is not _OK:
            continue
        mine = out[op.client]
        if is_receive(op):
            frame = op.result[0]
            if is_message(frame):
                mine.append(Receipt(op, message_parts(frame), len(mine)))
            continue
        for argv, reply in zip(op.call, op.result):
            if type(reply) is Frames and (type(reply.frames[0]) is Push  # RESP3: exact for any command
                                          or argv and argv[0].lower() in _READS_MESSAGES_FIRST):
                for frame in split_messages(reply)[0]:
                    mine.append(Receipt(op, message_parts(frame), len(mine)))
    return dict(out)


def publishes(ops: Iterable[Operation]) -> list[Publish]:
    """Every PUBLISH and SPUBLISH command of ``ops`` (whatever the outcome), with its count if known."""
    out: list[Publish] = []

    def add(op: Operation, index: int, argv: tuple[bytes, ...], reply: object) -> None:
        name = argv[0].lower() if argv else b""
        if name in (b"publish", b"spublish") and len(argv) == 3:
            out.append(Publish(op, argv[1], argv[2], name == b"spublish", reply if type(reply) is int else None,
                               index))

    for op in ops:
        replies = op.result if op.outcome is _OK else (None,) * len(op.call)
        queue: list[tuple[int, tuple[bytes, ...]]] | None = None
        for index, (argv, reply) in enumerate(zip(op.call, replies)):
            name = argv[0].lower() if argv else b""
            if queue is None and name == b"multi":
                queue = []
            elif queue is not None and name == b"exec":
                if type(reply) is Frames:
                    reply = split_messages(reply)[1]
                elements = reply.frames[0] if type(reply) is Frames else reply
                for position, (where, queued) in enumerate(queue):
                    inner = elements[position] if type(elements) is tuple and position < len(elements) else None
                    add(op, where, queued, inner)
                queue = None
            elif queue is not None and name == b"discard":
                queue = None
            elif queue is not None:
                queue.append((index, argv))
            else:
                add(op, index, argv, reply)
    return out


class Sources:
    """Which PUBLISHes could have sent a frame (indexed by channel and payload, answers cached)."""

    def __init__(self, sent: Iterable[Publish]) -> None:
        self.by_message: dict[tuple[bytes, bytes], list[Publish]] = defaultdict(list)
        for publish in sent:
            self.by_message[(publish.channel, publish.payload)].append(publish)
        self._found: dict[tuple[bytes, ...], list[Publish]] = {}

    def of(self, frame: tuple[bytes, ...]) -> list[Publish]:
        found = self._found.get(frame)
        if found is None:
            found = self._found[frame] = [p for p in self.by_message.get((frame[-2], frame[-1]), ()) if p.sends(frame)]
        return found

    def only(self, frame: tuple[bytes, ...]) -> Publish | None:
        """The one PUBLISH that could have sent ``frame``, if there is exactly one."""
        found = self.of(frame)
        return found[0] if len(found) == 1 else None


def runs_scripts(ops: Iterable[Operation]) -> bool:
    """Scripts can publish messages no argument names: no claim can be made about deliveries."""
    return any(argv and argv[0].lower() in _SCRIPTS for op in ops for argv in op.call)


def enables_notifications(ops: Iterable[Operation]) -> bool:
    """``CONFIG SET notify-keyspace-events``: from then on any write may publish a keyspace
    notification, a message no PUBLISH names."""
    return any(len(argv) > 3 and argv[0].lower() == b"config" and argv[1].lower() == b"set"
               and any(name.lower() == b"notify-keyspace-events" for name in argv[2::2])
               for op in ops for argv in op.call)


def impossible_message(ops: Sequence[Operation]) -> Operation | None:
    """A definite operation that read a message no PUBLISH of ``ops`` sent, or read it more often
    than the PUBLISHes that could send it (each writes a given frame to a client at most once).

    The checker's pre-check for Redis histories: linear, and sound whatever the order of the
    operations (indeterminate PUBLISHes count as having run).
    """
    if not _reads_messages(ops):
        return None
    if runs_scripts(ops):
        return None
    by_frame: dict[tuple[bytes, ...], int] = Counter()
    # Only a PUBLISH of the frame's channel and payload can send it: index them so, and the check
    # stays linear in the history (it once compared every frame with every PUBLISH).
    candidates: dict[tuple[bytes, bytes, bool], list[Publish]] = defaultdict(list)
    for publish in publishes(ops):
        candidates[(publish.channel, publish.payload, publish.sharded)].append(publish)
    found: dict[tuple[bytes, ...], int] = {}
    for receipt_list in receipts(ops).values():
        by_frame.clear()
        for receipt in receipt_list:
            frame = receipt.frame
            if len(frame) >= 3 and frame[-2].startswith(_NOTIFICATION_CHANNELS):
                continue  # a keyspace notification: any write may have sent it, no PUBLISH names it
            by_frame[frame] += 1
            if frame not in found:
                same = candidates.get((frame[-2], frame[-1], frame[0] == b"smessage"), ()) if len(frame) >= 3 else ()
                found[frame] = sum(1 for publish in same if publish.sends(frame))
            if by_frame[frame] > found[frame]:
                return receipt.op
    return None


def can_unsubscribe(argv: Sequence[bytes], kind: bytes, name: bytes) -> bool:
    """Could ``argv`` end the subscription ``name`` (``kind`` is b"channel", b"pattern" or b"shard")?"""
    command = argv[0].lower() if argv else b""
    if command in (b"reset", b"quit"):
        return True
    target = {b"channel": b"unsubscribe", b"pattern": b"punsubscribe", b"shard": b"sunsubscribe"}[kind]
    return command == target and (len(argv) == 1 or name in argv[1:])


def subscribes(argv: Sequence[bytes], kind: bytes, name: bytes) -> bool:
    command = argv[0].lower() if argv else b""
    target = {b"channel": b"subscribe", b"pattern": b"psubscribe", b"shard": b"ssubscribe"}[kind]
    return command == target and name in argv[1:]


class Subscriptions:
    """Who subscribed to what in a history, indexed for repeated questions.

    ``named`` holds every (client, kind, name) subscription some operation asks for; kind is
    ``b"channel"``, ``b"pattern"`` or ``b"shard"``.
    """

    def __init__(self, ops: Iterable[Operation]) -> None:
        self.by_client: dict[Hashable, list[Operation]] = defaultdict(list)
        named: set[tuple[Hashable, bytes, bytes]] = set()
        for op in ops:
            self.by_client[op.client].append(op)
            for argv in op.call:
                command = argv[0].lower() if argv else b""
                kind = _SUBSCRIBE_KINDS.get(command)
                if kind is not None:
                    named.update((op.client, kind, name) for name in argv[1:])
        for mine in self.by_client.values():
            mine.sort(key=lambda o: (o.invoke, o.id))
        self.named = sorted(named, key=repr)

    def matching(self, channel: bytes, sharded: bool) -> list[tuple[Hashable, bytes, bytes]]:
        """The named subscriptions a PUBLISH (``sharded``: SPUBLISH) to ``channel`` reaches."""
        out = []
        for client, kind, name in self.named:
            if sharded:
                reaches = kind == b"shard" and name == channel
            elif kind == b"pattern":
                reaches = stringmatch(name, channel)
            else:
                reaches = kind == b"channel" and name == channel
            if reaches:
                out.append((client, kind, name))
        return out

    def state(self, client: Hashable, kind: bytes, name: bytes, start: int, end: float) -> tuple[bool, bool]:
        """Was ``client`` subscribed to ``name`` (certainly, possibly) at some point in [start, end]?

        Certainly: a definite operation of the client subscribed to it and completed before
        ``start``, and no operation of the client that could end the subscription (an unsubscribe
        naming it or all, RESET, QUIT, a lost connection) was invoked after it and before ``end``.
        Possibly: it was subscribed before ``start``, or some operation that subscribes it was
        invoked before ``end``.
        """
        before = False  # after the client's operations that completed before start
        changing: list[Operation] = []  # those that overlap [start, end]
        for op in self.by_client.get(client, ()):
            if op.invoke > end:
                break
            effect = subscription_effect(op, kind, name)
            if op.complete is not None and op.complete < start:
                if effect is not None:
                    before = effect
                continue
            if effect is not None or op.outcome is not _OK:
                changing.append(op)
        certainly = before and not changing
        possibly = before or any(subscription_effect(op, kind, name) for op in changing)
        return certainly, possibly


_SUBSCRIBE_KINDS = {b"subscribe": b"channel", b"psubscribe": b"pattern", b"ssubscribe": b"shard"}


def subscription_effect(op: Operation, kind: bytes, name: bytes) -> bool | None:
    """What ``op`` leaves the subscription as (True/False), or None if it does not change it (or
    its EXEC was aborted, so nothing it queued ran)."""
    if op.outcome is _INFO:
        return False if op.ends_session else None
    state: bool | None = None
    for argv, reply in zip(op.call, op.result):
        command = argv[0].lower() if argv else b""
        if command == b"exec" and type(reply) not in (tuple, Frames):
            return None
        if subscribes(argv, kind, name):
            state = True
        elif can_unsubscribe(argv, kind, name):
            state = False
    return state
