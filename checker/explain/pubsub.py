"""Recognising anomalies of Redis Pub/Sub deliveries (sheet P).

The facts come from :mod:`redlin.adapter.deliveries` (who read which message, which PUBLISH could
have sent it, who was subscribed when); the recognisers here turn them into claims:

- **phantom message** (:func:`phantom_message`) -- a subscriber read a message no PUBLISH sent, or
  one published only after it was read, or while it was not subscribed;
- **duplicate message** (:func:`duplicate_message`) -- read more often than PUBLISHes sent it;
- **wrong receiver count** (:func:`wrong_receiver_count`) -- PUBLISH's count cannot be the number
  of subscriptions at any moment while it ran;
- **reordered messages** (:func:`reordered_messages`, :func:`split_publish`) -- read in another
  order than the server ran the PUBLISHes, in different orders by two subscribers, a pattern
  message before its channel message, or one PUBLISH's messages with another in between;
- **lost message** (:func:`lost_before_a_reply`, :func:`lost_between_reads`, :func:`lost_sibling`)
  -- a message published while a client was subscribed never reached it, although the client
  read later replies or messages that Redis writes after it.

A lost message is said the way a reader wants to hear it: which message, published when, never
delivered to which client, subscribed from when until when.  Scripts can publish what no argument
names, so no claim is made about a part that runs them.
"""

from __future__ import annotations

from collections.abc import Hashable

from redlin.adapter.deliveries import (
    Publish,
    Receipt,
    Sources,
    Subscriptions,
    is_receive,
    publishes,
    receipts,
    runs_scripts,
    subscription_effect,
)
from redlin.adapter.redis_model import describe_command, describe_reply
from redlin.explain.anomalies import (
    DUPLICATE_MESSAGE,
    LOST_MESSAGE,
    PHANTOM_MESSAGE,
    REORDERED_MESSAGES,
    WRONG_RECEIVER_COUNT,
    Anomaly,
    Code,
    Count,
    Fact,
    Listing,
    Message,
    Op,
    Subscription,
    Time,
    Value,
)
from redlin.explain.generic import INFINITY, Analysis, Recogniser, end, json_client
from redlin.explain.redis import brief_command
from redlin.history.records import Operation, Outcome
from redlin.model import stringmatch

_KIND_WORDS = {b"channel": "channel", b"pattern": "pattern", b"shard": "shard channel"}


# ----------------------------------------------------------------------------- facts


def _message(frame: tuple[bytes, ...]) -> Message:
    kind = frame[0]
    if kind == b"pmessage":
        return Message(describe_reply(frame[3]), describe_command((frame[2],)), describe_command((frame[1],)))
    return Message(describe_reply(frame[2]), describe_command((frame[1],)), sharded=kind == b"smessage")


def _publish(analysis: Analysis, publish: Publish) -> Op:
    """The operation of a PUBLISH, named by that one command."""
    name = b"SPUBLISH" if publish.sharded else b"PUBLISH"
    return analysis.op(publish.op, brief_command((name, publish.channel, publish.payload)))


def _subscription(client: Hashable, kind: bytes, name: bytes) -> Subscription:
    return Subscription(json_client(client), _KIND_WORDS[kind], describe_command((name,)))


def _subscription_of(frame: tuple[bytes, ...]) -> tuple[bytes, bytes]:
    """The subscription a message frame was sent for: (kind, channel or pattern)."""
    if frame[0] == b"pmessage":
        return b"pattern", frame[1]
    return (b"shard" if frame[0] == b"smessage" else b"channel"), frame[1]


class _Deliveries:
    """The Pub/Sub facts of a violating part: its PUBLISHes, the messages each client read, which
    PUBLISHes could have sent a frame, and who was subscribed when."""

    def __init__(self, part: list[Operation]) -> None:
        self.sent = publishes(part)
        self.read = receipts(part)
        self.sources = Sources(self.sent)
        self.subscriptions = Subscriptions(part)


def _deliveries(analysis: Analysis) -> _Deliveries | None:
    """The part's deliveries (computed once per analysis); None if it runs scripts, which can
    publish what no argument names."""
    if "pubsub" not in analysis.memo:
        analysis.memo["pubsub"] = None if runs_scripts(analysis.part) else _Deliveries(analysis.part)
    found: _Deliveries | None = analysis.memo["pubsub"]
    return found


# ----------------------------------------------------------------------------- phantoms and duplicates


def phantom_message(analysis: Analysis) -> Anomaly | None:
    """A subscriber read a message that no PUBLISH could have sent it when it was read."""
    facts = _deliveries(analysis)
    if facts is None:
        return None
    sent, read = facts.sent, facts.read
    subjects = analysis.subject_ids
    for mine in read.values():
        for receipt in mine:
            if receipt.op.id not in subjects:
                continue
            sources = facts.sources.of(receipt.frame)
            op, message = receipt.op, _message(receipt.frame)
            reader = analysis.op(op)
            if not sources:
                near = [publish for publish in sent if publish.payload == receipt.frame[-1]]
                if near and receipt.frame[0] == b"pmessage":
                    return Anomaly.of(PHANTOM_MESSAGE, "phantom/pattern-mismatch", reader=reader, message=message,
                                      pattern=Code(describe_command((receipt.frame[1],))))
                return Anomaly.of(PHANTOM_MESSAGE, "phantom/never-published", reader=reader, message=message)
            if op.complete is not None and all(publish.op.invoke > op.complete for publish in sources):
                first = min(sources, key=lambda publish: publish.op.invoke)
                return Anomaly.of(PHANTOM_MESSAGE, "phantom/published-later", reader=reader, message=message,
                                  publish=_publish(analysis, first))
            kind, name = _subscription_of(receipt.frame)
            subscribed = facts.subscriptions
            if not any(subscribed.state(op.client, kind, name, publish.op.invoke, end(publish.op))[1]
                       for publish in sources):
                claim = "phantom/not-subscribed" if len(sources) == 1 else "phantom/not-subscribed-any"
                return Anomaly.of(PHANTOM_MESSAGE, claim, reader=reader, message=message,
                                  subscription=_subscription(op.client, kind, name),
                                  publish=_publish(analysis, sources[0]))
    return None


def duplicate_message(analysis: Analysis) -> Anomaly | None:
    """A subscriber read one message more often than PUBLISHes could send it."""
    facts = _deliveries(analysis)
    if facts is None:
        return None
    read = facts.read
    subjects = analysis.subject_ids
    for mine in read.values():
        seen: dict[tuple[bytes, ...], list[Receipt]] = {}
        for receipt in mine:
            copies = seen.setdefault(receipt.frame, [])
            copies.append(receipt)
            sources = facts.sources.of(receipt.frame)
            if len(copies) <= len(sources) or not any(r.op.id in subjects for r in copies):
                continue
            common: dict[str, Fact] = {
                "reader": analysis.op(receipt.op), "message": _message(receipt.frame),
                "copies": Count(len(copies), "copy", "copies"),
                "times": Listing(tuple(analysis.op(r.op) for r in copies), ", ")}
            if len(sources) == 1:
                return Anomaly.of(DUPLICATE_MESSAGE, "duplicate/one-publish", **common,
                                  publish=_publish(analysis, sources[0]))
            return Anomaly.of(DUPLICATE_MESSAGE, "duplicate/publishes", **common,
                              sources=Count(len(sources), "PUBLISH"))
    return None


# ----------------------------------------------------------------------------- order


def reordered_messages(analysis: Analysis) -> Anomaly | None:
    """A subscriber read two messages in another order than Redis writes them, or two subscribers
    read the same two messages in opposite orders."""
    facts = _deliveries(analysis)
    if facts is None:
        return None
    read = facts.read
    subjects = analysis.subject_ids
    orders: dict[Hashable, dict[tuple[bytes, ...], int]] = {}
    for client, mine in read.items():
        orders[client] = {}
        for receipt in mine:
            orders[client].setdefault(receipt.frame, receipt.position)
        for later in mine:
            for earlier in mine[later.position + 1:]:
                pair: dict[str, Fact] = {"later": analysis.op(later.op), "late": _message(later.frame),
                                         "earlier": analysis.op(earlier.op), "early": _message(earlier.frame)}
                if (later.frame[0] == b"pmessage" and earlier.frame == (b"message", *later.frame[2:])
                        and (later.op.id in subjects or earlier.op.id in subjects)
                        and facts.sources.only(earlier.frame) is not None):
                    return Anomaly.of(REORDERED_MESSAGES, "reordered/pattern-first", **pair)
                # ``later`` was read first, but its message was published after ``earlier``'s.
                if later.op.id not in subjects and earlier.op.id not in subjects:
                    continue
                first, second = facts.sources.only(earlier.frame), facts.sources.only(later.frame)
                if first is None or second is None or first.op.complete is None:
                    continue
                if first.op.complete < second.op.invoke:
                    return Anomaly.of(REORDERED_MESSAGES, "reordered/publish-order", **pair,
                                      first=_publish(analysis, first), second=_publish(analysis, second))
    # Two subscribers that read the same two messages in opposite orders.
    payload_order = {client: {(f[0], f[-2], f[-1]): i for f, i in order.items()} for client, order in orders.items()}
    clients = sorted(payload_order, key=repr)
    for i, one in enumerate(clients):
        for two in clients[i + 1:]:
            common = [m for m in payload_order[one] if m in payload_order[two] and m[0] == b"message"]
            for x in common:
                for y in common:
                    if payload_order[one][x] < payload_order[one][y] and payload_order[two][y] < payload_order[two][x]:
                        a = next(r for r in read[one] if r.frame[0] == x[0] and r.frame[-2:] == x[1:])
                        b = next(r for r in read[two] if r.frame[0] == y[0] and r.frame[-2:] == y[1:])
                        if a.op.id not in subjects and b.op.id not in subjects:
                            continue
                        return Anomaly.of(REORDERED_MESSAGES, "reordered/two-subscribers", one=analysis.op(a.op),
                                          x=_message(a.frame), y=_message((y[0], *y[1:])), two=analysis.op(b.op))
    return None


def split_publish(analysis: Analysis) -> Anomaly | None:
    """Two messages one PUBLISH wrote to a client, read with another message in between: Redis
    writes all of one PUBLISH's messages to a connection at once."""
    facts = _deliveries(analysis)
    if facts is None:
        return None
    read = facts.read
    subjects = analysis.subject_ids
    for mine in read.values():
        origins = [facts.sources.only(r.frame) for r in mine]
        for i, first in enumerate(mine):
            if origins[i] is None:
                continue
            for j in range(i + 2, len(mine)):
                if origins[j] is not origins[i]:
                    continue
                between = [k for k in range(i + 1, j) if origins[k] is not origins[i]]
                if not between or not {first.op.id, mine[j].op.id, mine[between[0]].op.id} & subjects:
                    continue
                other = mine[between[0]]
                return Anomaly.of(REORDERED_MESSAGES, "reordered/split-publish", first=analysis.op(first.op),
                                  first_message=_message(first.frame), last=analysis.op(mine[j].op),
                                  last_message=_message(mine[j].frame), other=analysis.op(other.op),
                                  other_message=_message(other.frame))
    return None


# ----------------------------------------------------------------------------- receiver counts


def wrong_receiver_count(analysis: Analysis) -> Anomaly | None:
    """PUBLISH returned more receivers than could have been subscribed, or fewer than certainly were."""
    facts = _deliveries(analysis)
    if facts is None:
        return None
    subjects = analysis.subject_ids
    for publish in facts.sent:
        if publish.op.id not in subjects or publish.receivers is None or publish.op.complete is None:
            continue
        certain, possible = [], []
        subscribed = facts.subscriptions
        for client, kind, name in subscribed.matching(publish.channel, publish.sharded):
            sure, maybe = subscribed.state(client, kind, name, publish.op.invoke, publish.op.complete)
            if sure:
                certain.append(_subscription(client, kind, name))
            if maybe:
                possible.append(_subscription(client, kind, name))
        count = publish.receivers
        if count > len(possible):
            return Anomaly.of(WRONG_RECEIVER_COUNT, "receivers/too-many", publish=_publish(analysis, publish),
                              count=Value(str(count)), possible=Count(len(possible), "subscription"),
                              listed=Listing(tuple(possible)))
        if count < len(certain):
            return Anomaly.of(WRONG_RECEIVER_COUNT, "receivers/too-few", publish=_publish(analysis, publish),
                              count=Value(str(count)), certain=Count(len(certain), "subscription"),
                              listed=Listing(tuple(certain)))
    return None


# ----------------------------------------------------------------------------- lost messages


def _due(kind: bytes, name: bytes, publish: Publish) -> tuple[bytes, ...] | None:
    """The frame ``publish`` writes for a subscription, or None if it does not reach it."""
    if publish.sharded != (kind == b"shard"):
        return None
    if kind == b"pattern":
        return (b"pmessage", name, publish.channel, publish.payload) if stringmatch(name, publish.channel) else None
    if name != publish.channel:
        return None
    return (b"smessage" if kind == b"shard" else b"message", publish.channel, publish.payload)


def _subscribed(mine: list[Operation], kind: bytes, name: bytes, start: int) -> tuple[int | None, int | None]:
    """Around a moment ``start`` when a client was certainly subscribed: since when (the reply that
    subscribed it) and until when (the invocation of its next operation that may end the
    subscription; ``None``: until the end of the history)."""
    since: int | None = None
    for op in mine:
        effect = subscription_effect(op, kind, name)
        if op.complete is not None and op.complete < start:
            if effect is not None:
                since = op.complete if effect else None
        elif effect is False:
            return since, op.invoke
    return since, None


def lost_before_a_reply(analysis: Analysis) -> Anomaly | None:
    """A message published while a client was subscribed, not read before the client's later reply
    (Redis writes a reply after the messages already queued for the connection)."""
    facts = _deliveries(analysis)
    if facts is None:
        return None
    sent, read = facts.sent, facts.read
    subjects = analysis.subject_ids
    subscribed = facts.subscriptions
    for publish in sent:
        op = publish.op
        if op.outcome is not Outcome.OK or op.complete is None or publish.receivers == 0:
            continue
        for client, kind, name in subscribed.matching(publish.channel, publish.sharded):
            frame = _due(kind, name, publish)
            if frame is None or any(r.frame == frame for r in read.get(client, ())):
                continue
            sure, _ = subscribed.state(client, kind, name, op.invoke, op.complete)
            if not sure:
                continue
            mine = subscribed.by_client[client]
            later = [x for x in mine if x.outcome is Outcome.OK and x.invoke > op.complete and not is_receive(x)]
            if not later:
                continue
            reply = min(later, key=lambda x: x.invoke)
            if op.id not in subjects and reply.id not in subjects:
                continue
            since, until = _subscribed(mine, kind, name, op.invoke)
            cited: dict[str, Fact] = {
                "lost": _message(frame), "publish": _publish(analysis, publish),
                "subscription": _subscription(client, kind, name), "since": Time(since if since is not None else 0),
                "reply": analysis.op(reply, brief_command(reply.call[0]))}
            if until is None:
                return Anomaly.of(LOST_MESSAGE, "lost/before-a-reply/to-the-end", **cited)
            return Anomaly.of(LOST_MESSAGE, "lost/before-a-reply", **cited, until=Time(until))
    return None


def _without_replies_between(mine: list[Receipt], replies: list[Operation]) -> list[list[Receipt]]:
    """A client's reads split where a reply of its own may lie between two of them."""
    segments: list[list[Receipt]] = []
    current: list[Receipt] = []
    for receipt in mine:
        if current:
            previous = current[-1]
            same = previous.op.id == receipt.op.id
            if not same and (not is_receive(previous.op) or any(
                    previous.op.invoke < op.invoke < receipt.op.invoke for op in replies)):
                segments.append(current)
                current = []
        current.append(receipt)
    if current:
        segments.append(current)
    return segments


def lost_between_reads(analysis: Analysis) -> Anomaly | None:
    """A subscriber read messages with no reply of its own in between, so its subscriptions did not
    change while their PUBLISHes ran; a PUBLISH that certainly ran after one of them and before a
    later one, on one of those subscriptions, had to reach it in between."""
    facts = _deliveries(analysis)
    if facts is None:
        return None
    sent, read = facts.sent, facts.read
    subjects = analysis.subject_ids
    source = facts.sources.only
    ran_by: dict[int, float] = {id(publish): end(publish.op) for publish in sent}  # certainly ran by then
    for mine in read.values():
        for receipt in mine:
            origin = source(receipt.frame)
            if origin is not None and receipt.op.complete is not None:
                ran_by[id(origin)] = min(ran_by[id(origin)], receipt.op.complete)
    for client, mine in read.items():
        replies = [op for op in analysis.part if op.client == client and not is_receive(op)]
        for segment in _without_replies_between(mine, replies):
            origins = [source(r.frame) for r in segment]
            frames = {r.frame for r in mine}
            subscribed = {_subscription_of(r.frame) for r in segment}
            for publish in sent:
                if publish.receivers is None and ran_by[id(publish)] == INFINITY:
                    continue  # may never have run
                after = [i for i, o in enumerate(origins) if o is not None and ran_by[id(o)] < publish.op.invoke]
                before = [j for j, o in enumerate(origins) if o is not None and ran_by[id(publish)] < o.op.invoke]
                if not after or not before or after[0] >= before[-1]:
                    continue
                first, last = segment[after[0]], segment[before[-1]]
                for kind, name in sorted(subscribed):
                    due = _due(kind, name, publish)
                    if due is None or due in frames:
                        continue
                    if not {first.op.id, last.op.id, publish.op.id} & subjects:
                        continue
                    return Anomaly.of(LOST_MESSAGE, "lost/between-reads", lost=_message(due),
                                      publish=_publish(analysis, publish),
                                      subscription=_subscription(client, kind, name), first=analysis.op(first.op),
                                      first_message=_message(first.frame), last=analysis.op(last.op),
                                      last_message=_message(last.frame))
    return None


def lost_sibling(analysis: Analysis) -> Anomaly | None:
    """A subscriber read a message, and was subscribed, around it, to another channel or pattern
    that the same PUBLISH (or an earlier PUBLISH of the same EXEC) also reached; that message
    never came."""
    facts = _deliveries(analysis)
    if facts is None:
        return None
    sent, read = facts.sent, facts.read
    subjects = analysis.subject_ids
    by_op: dict[int, list[Publish]] = {}
    for publish in sent:
        by_op.setdefault(publish.op.id, []).append(publish)
    for client, mine in read.items():
        frames = {r.frame for r in mine}
        replies = [op for op in analysis.part if op.client == client and not is_receive(op)]
        later_events = sorted(op.invoke for op in analysis.part if op.client == client and op.outcome is Outcome.OK)
        for segment in _without_replies_between(mine, replies):
            subscribed = sorted({_subscription_of(r.frame) for r in segment})
            for receipt in segment:
                origin = facts.sources.only(receipt.frame)
                if origin is None or receipt.op.id not in subjects and origin.op.id not in subjects:
                    continue
                for sibling in by_op.get(origin.op.id, ()):
                    if sibling.index > origin.index:
                        continue
                    for kind, name in subscribed:
                        due = _due(kind, name, sibling)
                        if due is None or due in frames:
                            continue
                        if sibling is origin and not any(t > end(receipt.op) for t in later_events):
                            continue  # it may come right after, and the client read nothing more
                        evidence = next(r for r in segment if _subscription_of(r.frame) == (kind, name))
                        claim = "lost/sibling" if sibling is origin else "lost/sibling-in-exec"
                        return Anomaly.of(LOST_MESSAGE, claim, lost=_message(due), publish=_publish(analysis, sibling),
                                          subscription=_subscription(client, kind, name),
                                          message=_message(receipt.frame), read=analysis.op(receipt.op),
                                          evidence_message=_message(evidence.frame),
                                          evidence=analysis.op(evidence.op))
    return None


RECOGNISERS: tuple[Recogniser, ...] = (phantom_message, duplicate_message, wrong_receiver_count, reordered_messages,
                                       split_publish, lost_before_a_reply, lost_between_reads, lost_sibling)
"""The Pub/Sub recognisers, in the order they are tried (before the other Redis ones)."""
