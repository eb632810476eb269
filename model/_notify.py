"""Keyspace notifications (notify.c): the messages a command's changes publish to
``__keyspace@<db>__:<key>`` (the event name) and ``__keyevent@<db>__:<event>`` (the key).

CONFIG SET ``notify-keyspace-events`` chooses them: ``K`` and/or ``E`` say which channels, the
class letters which events (``g`` generic, ``$`` string, ``l`` list, ``s`` set, ``h`` hash, ``z``
sorted set, ``x`` expired, ``e`` evicted, ``t`` stream, ``m`` key miss, ``d`` module, ``n`` new
key; ``A`` is ``g$lshzxetd``).  A handler calls :func:`notify` where Redis 7.0.15 calls
``notifyKeyspaceEvent``, in the same order: the message goes to the subscribers at once, as a
PUBLISH's would (:func:`publish_message`, which PUBLISH itself uses).  The flags are parsed once
per step into ``ctx.notify_flags``, 0 unless K or E is set, so the usual case costs one test.

The model never evicts (``e``), and does not send ``m`` (keymiss), whose lookups it does not tell
apart from writes.

>>> from redlin.model import Redis
>>> from redlin.model._pubsub import flush_mailboxes
>>> r = Redis(); sub, cmd = r.client(), r.client()
>>> _ = cmd.execute("CONFIG", "SET", "notify-keyspace-events", "El")
>>> _ = sub.execute("PSUBSCRIBE", "*"); _ = cmd.execute("RPUSH", "k", "a")
>>> flush_mailboxes(r.state)[1][1]
((b'pmessage', b'*', b'__keyevent@0__:rpush', b'k'),)
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

from immutables import Map

from ._glob import stringmatch
from ._state import Mail, Session

if TYPE_CHECKING:
    from ._engine import Context

# The NOTIFY_* classes of server.h.
KEYSPACE, KEYEVENT = 1 << 0, 1 << 1
GENERIC, STRING, LIST, SET, HASH, ZSET = 1 << 2, 1 << 3, 1 << 4, 1 << 5, 1 << 6, 1 << 7
EXPIRED, EVICTED, STREAM, KEY_MISS, MODULE, NEW = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12, 1 << 13
_LETTERS = {ord("K"): KEYSPACE, ord("E"): KEYEVENT, ord("g"): GENERIC, ord("$"): STRING, ord("l"): LIST,
            ord("s"): SET, ord("h"): HASH, ord("z"): ZSET, ord("x"): EXPIRED, ord("e"): EVICTED,
            ord("t"): STREAM, ord("m"): KEY_MISS, ord("d"): MODULE, ord("n"): NEW,
            ord("A"): GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE}

MESSAGE = b"message"
PMESSAGE = b"pmessage"
_PARSED: dict[bytes, int] = {}
# keyspaceEventsFlagsToString spells every class as "A", "n" too, though "n" is not in A: the
# setting then does not say whether "n" is on, so CONFIG SET records it under this hidden name.
NEW_UNDER_ALL = b"notify-keyspace-events n"


def remember_new_under_all(settings: Map, value: bytes) -> Map:  # type: ignore[type-arg]
    """``settings`` after CONFIG SET notify-keyspace-events ``value`` was stored, recording an
    "n" that the stored spelling "A..." hides.

    >>> remember_new_under_all(Map({b"notify-keyspace-events": b"AK"}), b"KAn")[NEW_UNDER_ALL]
    b'n'
    """
    hidden = b"n" in value and settings.get(b"notify-keyspace-events", b"").startswith(b"A")
    if hidden:
        return settings.set(NEW_UNDER_ALL, b"n")
    return settings.delete(NEW_UNDER_ALL) if NEW_UNDER_ALL in settings else settings


def event_flags(settings: Map) -> int:  # type: ignore[type-arg]
    """The classes enabled by the settings CONFIG SET changed (0 unless K or E is on).

    >>> event_flags(Map({b"notify-keyspace-events": b"AK"})) & (LIST | NEW)  == LIST
    True
    >>> event_flags(Map({b"notify-keyspace-events": b"lg"}))
    0
    """
    spelling = settings.get(b"notify-keyspace-events") if settings else None
    if not spelling:
        return 0
    spelling += settings.get(NEW_UNDER_ALL, b"")
    flags = _PARSED.get(spelling)
    if flags is None:
        flags = 0
        for letter in spelling:
            flags |= _LETTERS.get(letter, 0)
        if not flags & (KEYSPACE | KEYEVENT):
            flags = 0
        _PARSED[spelling] = flags
    return flags


def notify(ctx: Context, kind: int, event: bytes, key: bytes, db: int | None = None) -> None:
    """``notifyKeyspaceEvent(kind, event, key, db)``: ``db`` is the selected one unless given."""
    flags = ctx.notify_flags
    if not flags & kind:
        return
    dbid = b"%d" % (ctx.db if db is None else db)
    if flags & KEYSPACE:
        publish_message(ctx, b"__keyspace@" + dbid + b"__:" + key, event)
    if flags & KEYEVENT:
        publish_message(ctx, b"__keyevent@" + dbid + b"__:" + event, key)


def publish_message(ctx: Context, channel: bytes, payload: bytes) -> int:
    """``pubsubPublishMessage``: deliver to the channel's subscribers, then to the matching
    patterns' (each receiver's mailbox); returns how many messages were written."""
    receivers = 0
    for client, session in _sessions(ctx):
        mail: list[tuple[bytes, ...]] = []
        if channel in session.channels:
            mail.append((MESSAGE, channel, payload))
        for pattern in session.patterns:
            if stringmatch(pattern, channel):
                mail.append((PMESSAGE, pattern, channel, payload))
        if mail:
            receivers += len(mail)
            deliver(ctx, client, session, mail)
    return receivers


def deliver(ctx: Context, client: Hashable, session: Session, mail: list[tuple[bytes, ...]]) -> None:
    """Append ``mail`` to ``client``'s mailbox."""
    entry: tuple[Mail, ...]
    if len(mail) <= 1 or mail[-2][0] != PMESSAGE:
        entry = tuple(mail)
    else:  # two or more pmessages: Redis's pattern order is its hash table's
        first = 1 if mail[0][0] == MESSAGE else 0
        entry = (*mail[:first], frozenset(mail[first:]))
    ctx.set_session(session.replace(mailbox=session.mailbox + entry), client)


def _sessions(ctx: Context) -> list[tuple[Hashable, Session]]:
    return [(c, s) for c, s in ctx.sessions.items() if c != ctx.client] + [(ctx.client, ctx.session)]


__all__ = ["EXPIRED", "GENERIC", "HASH", "LIST", "NEW", "SET", "STREAM", "STRING", "ZSET",
           "deliver", "event_flags", "notify", "publish_message"]
