"""Pub/Sub (pubsub.c): SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH, the sharded
SSUBSCRIBE SUNSUBSCRIBE SPUBLISH, and PUBSUB NUMSUB NUMPAT CHANNELS SHARDCHANNELS SHARDNUMSUB HELP;
sheet items P1-P12 and M19.  Replies are RESP2's; a RESP3 connection gets them as pushes
(P13, :mod:`redlin.model._resp3`).

Deliveries are state.  Redis promises nothing to absent subscribers, but on one server a subscriber
receives every message published to its channels while it is subscribed, once, in the order the
server ran the PUBLISHes.  So each :class:`~model.Session` has a *mailbox*: the frames written to
its connection that its client has not read yet.  PUBLISH appends ``[message, channel, payload]``
(and ``[pmessage, pattern, channel, payload]`` per matching pattern) to every receiving session's
mailbox and answers how many it wrote (P4).  Whoever reads the connection takes from the front:

- the embedded server calls :func:`flush_mailboxes` after every step and writes the frames;
- the checker records each frame a subscriber read as an operation of its own, which
  :func:`receive` replays, and checks that the frames a client read before a reply are exactly
  its mailbox (:func:`receive_all`): a reply is written after everything already queued.

Redis writes the pmessages of one PUBLISH to one client in the order of its pattern hash table,
which is not part of the contract, so several of them form one mailbox entry, a frozenset, read in
any order.  Replies Redis orders by hash table too (``UNSUBSCRIBE`` with no argument, ``PUBSUB
CHANNELS``) come out sorted here, and :func:`canonical_pubsub_reply` brings a server's reply to the
same form.

Glob patterns follow Redis's ``stringmatchlen`` exactly (:func:`stringmatch`).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from ._commands import command, container
from ._engine import CommandError, Context, help_reply
from ._glob import stringmatch
from ._notify import MESSAGE, PMESSAGE, deliver, publish_message
from ._reply import Error, Frames, Push, Reply, frames_of
from ._state import DEFAULT_SESSION, Mail, Session, State, mail_frames

SMESSAGE = b"smessage"
MESSAGE_KINDS = frozenset({MESSAGE, PMESSAGE, SMESSAGE})


# ---------------------------------------------------------------------------- mailboxes


def mailbox(state: State, client: Hashable) -> tuple[Reply, ...]:
    """The frames written to ``client``'s connection and not read yet, in the order the model writes them."""
    return tuple(frame for mail in state.session(client).mailbox for frame in mail_frames(mail))


def flush_mailboxes(state: State) -> tuple[State, dict[Hashable, tuple[Reply, ...]]]:
    """``state`` with every mailbox emptied, and the frames each client is to be sent, in order.

    The embedded server calls this after every step and writes the frames to the connections.

    >>> from redlin.model import Redis
    >>> r = Redis(); sub, pub = r.client(), r.client()
    >>> _ = sub.execute("SUBSCRIBE", "ch"); pub.execute("PUBLISH", "ch", "hi")
    1
    >>> flush_mailboxes(r.state)[1]
    {1: ((b'message', b'ch', b'hi'),)}
    """
    out: dict[Hashable, tuple[Reply, ...]] = {}
    sessions = state.sessions
    for client, session in state.sessions.items():
        if session.mailbox:
            out[client] = tuple(frame for mail in session.mailbox for frame in mail_frames(mail))
            emptied = session.replace(mailbox=())
            sessions = sessions.delete(client) if emptied == DEFAULT_SESSION else sessions.set(client, emptied)
    if not out:
        return state, out
    return State(state.dbs, sessions, state.scripts, state.watched, state.profile, state.functions, state.config), out


def _with_mailbox(state: State, client: Hashable, session: Session, box: tuple[Mail, ...]) -> State:
    emptied = session.replace(mailbox=box)
    sessions = (state.sessions.delete(client) if emptied == DEFAULT_SESSION
                else state.sessions.set(client, emptied))
    return State(state.dbs, sessions, state.scripts, state.watched, state.profile, state.functions, state.config)


def receive(state: State, client: Hashable, frame: Reply) -> State | None:
    """``client`` read ``frame`` from its connection: the state after, or ``None`` if the frame is
    not the next one the server wrote to it (lost, duplicated, reordered or never published)."""
    session = state.session(client)
    box = session.mailbox
    if not box:
        return None
    head = box[0]
    if type(head) is frozenset:
        if frame not in head:
            return None
        rest = head - {frame}
        left: tuple[Mail, ...] = (next(iter(rest)),) if len(rest) == 1 else (rest,)
        return _with_mailbox(state, client, session, left + box[1:])
    if head != frame:
        return None
    return _with_mailbox(state, client, session, box[1:])


def receive_all(state: State, client: Hashable, frames: Sequence[Reply]) -> State | None:
    """``client`` read ``frames`` and then a reply: they must be exactly its whole mailbox, since a
    reply is written after every message already queued for the connection."""
    for frame in frames:
        after = receive(state, client, frame)
        if after is None:
            return None
        state = after
    return None if state.session(client).mailbox else state


def split_messages(reply: Reply) -> tuple[tuple[Reply, ...], Reply]:
    """A client's read up to and including a reply: (the message frames before it, the reply).

    The recorder stores what a subscriber read while waiting for a reply as one :class:`Frames`
    value; the frames in front that are messages are deliveries, the rest is the reply.
    """
    frames = frames_of(reply)
    count = 0
    while count < len(frames) - 1 and is_message(frames[count]):
        count += 1
    return frames[:count], Frames.of(frames[count:])


def is_message(frame: Reply) -> bool:
    """Whether ``frame`` is a delivery (``message``, ``pmessage`` or ``smessage``), not a reply; a
    RESP3 connection gets deliveries as pushes."""
    parts = frame.items if type(frame) is Push else frame
    return (type(parts) is tuple and len(parts) in (3, 4) and parts[0] in MESSAGE_KINDS
            and len(parts) == (4 if parts[0] == PMESSAGE else 3)
            and all(type(part) is bytes for part in parts))


def _sessions(ctx: Context) -> list[tuple[Hashable, Session]]:
    return [(c, s) for c, s in ctx.sessions.items() if c != ctx.client] + [(ctx.client, ctx.session)]


# ---------------------------------------------------------------------------- commands


def _count(session: Session) -> int:
    # clientSubscriptionsCount: channels and patterns (shard channels are counted apart).
    return len(session.channels) + len(session.patterns)


def _confirm(kind: bytes, name: bytes | None, count: int) -> Reply:
    return (kind, name, count)


@command("subscribe", -2, "pubsub noscript loading stale")
def subscribe(ctx: Context, argv: Sequence[bytes]) -> Reply:
    session = ctx.session
    frames = []
    for channel in argv[1:]:
        if channel not in session.channels:
            session = session.replace(channels=session.channels | {channel})
        frames.append(_confirm(b"subscribe", channel, _count(session)))
    ctx.set_session(session)
    return Frames.of(tuple(frames))


@command("psubscribe", -2, "pubsub noscript loading stale")
def psubscribe(ctx: Context, argv: Sequence[bytes]) -> Reply:
    session = ctx.session
    frames = []
    for pattern in argv[1:]:
        if pattern not in session.patterns:  # a repeat confirms again, unchanged count (P9)
            session = session.replace(patterns=session.patterns | {pattern})
        frames.append(_confirm(b"psubscribe", pattern, _count(session)))
    ctx.set_session(session)
    return Frames.of(tuple(frames))


def _unsubscribe(ctx: Context, argv: Sequence[bytes], field: str, kind: bytes) -> Reply:
    session = ctx.session
    names = argv[1:] or sorted(getattr(session, field))  # all of them: Redis's order is its hash table's
    frames = []
    for name in names:
        current: frozenset[bytes] = getattr(session, field)
        if name in current:
            session = session.replace(**{field: current - {name}})
        frames.append(_confirm(kind, name, _count(session) if field != "shard_channels" else len(session.shard_channels)))
    if not frames:  # nothing to unsubscribe from (P8)
        count = _count(session) if field != "shard_channels" else len(session.shard_channels)
        frames.append(_confirm(kind, None, count))
    ctx.set_session(session)
    return Frames.of(tuple(frames))


@command("unsubscribe", -1, "pubsub noscript loading stale")
def unsubscribe(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _unsubscribe(ctx, argv, "channels", b"unsubscribe")


@command("punsubscribe", -1, "pubsub noscript loading stale")
def punsubscribe(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _unsubscribe(ctx, argv, "patterns", b"punsubscribe")


@command("publish", 3, "pubsub loading stale fast")
def publish(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return publish_message(ctx, argv[1], argv[2])


# --- sharded Pub/Sub: a namespace of its own; in a standalone server one shard holds every channel


@command("ssubscribe", -2, "pubsub noscript loading stale", keys=(1, -1, 1))
def ssubscribe(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if ctx.in_exec:  # no MULTI exception, unlike SUBSCRIBE
        return Error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client")
    session = ctx.session
    frames = []
    for channel in argv[1:]:
        if channel not in session.shard_channels:
            session = session.replace(shard_channels=session.shard_channels | {channel})
        frames.append(_confirm(b"ssubscribe", channel, len(session.shard_channels)))
    ctx.set_session(session)
    return Frames.of(tuple(frames))


@command("sunsubscribe", -1, "pubsub noscript loading stale", keys=(1, -1, 1))
def sunsubscribe(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _unsubscribe(ctx, argv, "shard_channels", b"sunsubscribe")


@command("spublish", 3, "pubsub loading stale fast", keys=(1, 1, 1))
def spublish(ctx: Context, argv: Sequence[bytes]) -> Reply:
    channel, payload = argv[1], argv[2]
    receivers = 0
    for client, session in _sessions(ctx):
        if channel in session.shard_channels:
            receivers += 1
            deliver(ctx, client, session, [(SMESSAGE, channel, payload)])
    return receivers


# --- PUBSUB introspection

container("pubsub", -2)


def _channels(ctx: Context, argv: Sequence[bytes], field: str) -> Reply:
    if len(argv) > 3:
        sub = argv[1].decode("utf-8", "surrogateescape")[:128]
        unknown = "Unknown" if ctx.profile.has("subcommand-errors-6.2") else "unknown"
        raise CommandError(Error(f"ERR {unknown} subcommand or wrong number of arguments for '{sub}'. "
                                 "Try PUBSUB HELP."))
    pattern = argv[2] if len(argv) == 3 else None
    active: set[bytes] = set()
    for _, session in _sessions(ctx):
        active.update(getattr(session, field))
    return tuple(sorted(c for c in active if pattern is None or stringmatch(pattern, c)))


@command("pubsub|channels", -2, "pubsub loading stale")
def pubsub_channels(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _channels(ctx, argv, "channels")


@command("pubsub|shardchannels", -2, "pubsub loading stale")
def pubsub_shardchannels(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _channels(ctx, argv, "shard_channels")


def _numsub(ctx: Context, argv: Sequence[bytes], field: str) -> Reply:
    sessions = _sessions(ctx)
    out: list[Reply] = []
    for channel in argv[2:]:
        out += (channel, sum(1 for _, session in sessions if channel in getattr(session, field)))
    return tuple(out)


@command("pubsub|numsub", -2, "pubsub loading stale")
def pubsub_numsub(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _numsub(ctx, argv, "channels")


@command("pubsub|shardnumsub", -2, "pubsub loading stale")
def pubsub_shardnumsub(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _numsub(ctx, argv, "shard_channels")


@command("pubsub|numpat", 2, "pubsub loading stale")
def pubsub_numpat(ctx: Context, argv: Sequence[bytes]) -> Reply:
    patterns: set[bytes] = set()
    for _, session in _sessions(ctx):
        patterns |= session.patterns
    return len(patterns)


_HELP = (
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
)


@command("pubsub|help", 2, "loading stale")
def pubsub_help(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if ctx.profile.has("no-7.0-commands"):  # no shard channels in 6.2
        return help_reply(ctx, [line for line in _HELP if "SHARD" not in line and "shard level" not in line])
    return help_reply(ctx, _HELP)


# ---------------------------------------------------------------------------- comparing replies

_UNSUBSCRIBE_KINDS = frozenset({b"unsubscribe", b"punsubscribe", b"sunsubscribe"})
_UNORDERED = frozenset({b"channels", b"shardchannels"})


def _unsubscribes_all(argv: Sequence[bytes]) -> bool:
    return len(argv) == 1 and argv[0].lower() in _UNSUBSCRIBE_KINDS


def _lists_channels(argv: Sequence[bytes]) -> bool:
    return len(argv) >= 2 and argv[0].lower() == b"pubsub" and argv[1].lower() in _UNORDERED


def needs_canonical_form(argv: Sequence[bytes]) -> bool:
    """Whether Redis may order the reply to ``argv`` by a hash table (see :func:`canonical_pubsub_reply`)."""
    return _unsubscribes_all(argv) or _lists_channels(argv)


def canonical_pubsub_reply(argv: Sequence[bytes], reply: Reply, queued: Sequence[Sequence[bytes]] = ()) -> Reply:
    """``reply`` with the parts whose order Redis leaves to a hash table in the model's order.

    ``UNSUBSCRIBE`` (``PUNSUBSCRIBE``, ``SUNSUBSCRIBE``) without arguments confirms each channel in
    the order of the connection's channel table, the counts going down by one: the channel names
    are sorted, the counts stay in place.  ``PUBSUB CHANNELS`` lists are sorted.  For an EXEC pass
    the queued commands: its whole output is treated so, when one of them needs it.  Messages read
    in front of the reply (see :func:`split_messages`) are kept as they are.  Any other reply comes
    back unchanged.
    """
    name = argv[0].lower() if argv else b""
    if type(reply) is Frames and (name == b"exec" or needs_canonical_form(argv)):
        pending, rest = split_messages(reply)
        if pending:
            return Frames(pending + frames_of(canonical_pubsub_reply(argv, rest, queued)))
    if name == b"exec":
        if not any(needs_canonical_form(q) for q in queued):
            return reply
        if type(reply) is tuple and len(reply) == len(queued):  # one value per queued command
            reply = tuple(canonical_pubsub_reply(q, item) if _lists_channels(q) else item
                          for q, item in zip(queued, reply))
        frames = list(frames_of(reply))
        if not frames or type(frames[0]) is not tuple:
            return reply  # aborted, or not an EXEC reply at all
        array = frames[0]
        assert type(array) is tuple
        stream = _sort_unsubscribe_runs([*array, *frames[1:]])
        return Frames.of((tuple(stream[: len(array)]), *stream[len(array):]))
    if _lists_channels(argv) and type(reply) is tuple:
        return tuple(sorted(reply, key=repr))
    if _unsubscribes_all(argv):
        return Frames.of(tuple(_sort_unsubscribe_runs(list(frames_of(reply)))))
    return reply


def _sort_unsubscribe_runs(stream: list[Reply]) -> list[Reply]:
    """Sort the names inside each run of unsubscribe confirmations whose counts go down by one."""
    out = list(stream)
    i = 0
    while i < len(out):
        j = i
        while j + 1 < len(out) and _continues(out[j], out[j + 1]):
            j += 1
        if j > i:
            run = [_parts(frame) for frame in out[i : j + 1]]
            names = sorted(parts[1] for parts in run)  # type: ignore[type-var]
            rebuilt = [(parts[0], name, parts[2]) for parts, name in zip(run, names)]
            out[i : j + 1] = [Push(new) if type(old) is Push else new for old, new in zip(out[i : j + 1], rebuilt)]
        i = j + 1
    return out


def _parts(frame: Reply) -> tuple[Reply, ...]:
    """A confirmation's values, whether sent as an array (RESP2) or as a push (RESP3)."""
    parts = frame.items if type(frame) is Push else frame
    return parts if type(parts) is tuple else ()


def _confirmation(frame: Reply) -> bool:
    parts = _parts(frame)
    return (len(parts) == 3 and parts[0] in _UNSUBSCRIBE_KINDS and type(parts[1]) is bytes
            and type(parts[2]) is int)


def _continues(first: Reply, second: Reply) -> bool:
    one, two = _parts(first), _parts(second)
    return (_confirmation(first) and _confirmation(second) and one[0] == two[0]
            and two[2] == one[2] - 1)  # type: ignore[operator]


__all__ = ["MESSAGE_KINDS", "canonical_pubsub_reply", "flush_mailboxes", "is_message", "mailbox",
           "needs_canonical_form", "receive", "receive_all", "split_messages", "stringmatch"]
