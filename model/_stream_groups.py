"""Stream consumer groups (t_stream.c): their value types, XGROUP XACK XPENDING XCLAIM XAUTOCLAIM, and XINFO.

A group (:class:`Group`, in the stream's ``groups`` map) keeps its last delivered id, its read counter
(``entries-read``, -1 when unknown), the pending entries list (id -> :class:`Nack`: delivery time,
delivery count, owner) and its consumers (seen time and their own pending ids).  Times are the
step's clock ``ctx.now``.  None of these commands signals WATCH (except XGROUP CREATE MKSTREAM
creating the key): Redis changes the stream in place without ``signalModifiedKey``.

XREADGROUP, which delivers entries to a group's consumers, is in :mod:`redlin.model._stream_reads`.

>>> from redlin.model import Redis
>>> c = Redis(now=7).client()
>>> c.execute("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"), c.execute("XADD", "s", "1-1", "f", "v")
(Status('OK'), b'1-1')
>>> c.execute("XCLAIM", "s", "g", "alice", "0", "1-1", "FORCE", "JUSTID")
(b'1-1',)
>>> c.execute("XPENDING", "s", "g"), c.execute("XACK", "s", "g", "1-1")
((1, b'1-1', b'1-1', ((b'alice', b'1'),)), 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice
from typing import NamedTuple

from immutables import Map

from ._commands import command, container
from ._engine import CommandError, Context, help_reply
from ._notify import STREAM, notify
from ._numbers import parse_int, to_int
from ._reply import NO_SUCH_KEY, NULL_ARRAY, OK, SYNTAX, Error, Reply
from ._streams import (
    EMPTY,
    MAX_ID,
    MIN_ID,
    Stream,
    StreamID,
    cstr,
    entries,
    entry_reply,
    find,
    format_id,
    get_stream,
    parse_id,
    parse_interval,
    quoted,
    rax_nodes,
    store,
    strict_id,
)

LONG_MAX = 2**63 - 1
# Bytes no allocation gets on x86-64 Linux (a 47-bit user address space; 32 TiB still succeeds under
# the default overcommit, as the kernel only maps it): machine-dependent, measured on 7.0.15.
UNALLOCATABLE = 2**46


class Nack(NamedTuple):
    """A pending entry: last delivery time (ms), deliveries, and the consumer that owns it."""

    delivery_time: int
    delivery_count: int
    consumer: bytes


class Consumer(NamedTuple):
    """A consumer: when it last read or claimed (ms), and the ids it owns in the group's PEL."""

    seen_time: int
    pel: frozenset[StreamID]


class Group(NamedTuple):
    """A consumer group: the last id delivered, its read counter, its PEL (id order) and consumers."""

    last_id: StreamID
    entries_read: int  # -1: not known (SCG_INVALID_ENTRIES_READ)
    pel: Map[StreamID, Nack]
    consumers: Map[bytes, Consumer]


def range_has_tombstones(stream: Stream, start: StreamID) -> bool:
    """streamRangeHasTombstones(s, start, NULL)."""
    if not stream.length or stream.max_deleted == MIN_ID or stream.first_id > stream.max_deleted:
        return False
    return start <= stream.max_deleted


def estimate_entries_read(stream: Stream, sid: StreamID) -> int:
    """streamEstimateDistanceFromFirstEverEntry: the read counter of ``sid``, or -1 if unknown."""
    added = stream.entries_added
    if not added:
        return 0
    if not stream.length and sid <= stream.last_id:
        return added
    if sid == stream.last_id:
        return added
    if sid > stream.last_id:
        return -1
    if stream.max_deleted == MIN_ID or stream.max_deleted < stream.first_id:
        if sid < stream.first_id:
            return added - stream.length
        if sid == stream.first_id:
            return added - stream.length + 1
    return -1


def lag(stream: Stream, group: Group) -> int | None:
    """streamReplyWithCGLag: entries not yet delivered to the group, or None (not computable)."""
    if not stream.entries_added:
        return 0
    if group.entries_read != -1 and not range_has_tombstones(stream, group.last_id):
        return stream.entries_added - group.entries_read
    known = estimate_entries_read(stream, group.last_id)
    return None if known == -1 else stream.entries_added - known


def nogroup(key: bytes, group: bytes, suffix: str = "") -> Error:
    return Error(f"NOGROUP No such key '{quoted(key)}' or consumer group '{quoted(group)}'{suffix}")


def group_of(ctx: Context, key: bytes, name: bytes) -> tuple[Stream | None, Group | None]:
    stream = get_stream(ctx, key)
    return stream, None if stream is None else stream.groups.get(name)


def put(ctx: Context, key: bytes, stream: Stream, name: bytes, group: Group) -> None:
    if stream.groups.get(name) is not group:
        store(ctx, key, stream.replace(groups=stream.groups.set(name, group)), signal=False)


def seen(group: Group, name: bytes, now: int) -> Group:
    """streamLookupConsumer (refreshing its seen time), or streamCreateConsumer."""
    consumer = group.consumers.get(name)
    refreshed = Consumer(now, frozenset()) if consumer is None else consumer._replace(seen_time=now)
    return group._replace(consumers=group.consumers.set(name, refreshed))


def consumer_created(ctx: Context, key: bytes, before: Group, after: Group, name: bytes) -> None:
    """streamCreateConsumer's "xgroup-createconsumer", if consumer ``name`` is new in ``after``."""
    if name not in before.consumers and name in after.consumers:
        notify(ctx, STREAM, b"xgroup-createconsumer", key)


def give(group: Group, sid: StreamID, owner: bytes, time: int, count: int) -> Group:
    """Make ``owner`` (an existing consumer) own the pending entry ``sid``."""
    consumers = group.consumers
    old = group.pel.get(sid)
    if old is not None and old.consumer != owner:
        previous = consumers[old.consumer]
        consumers = consumers.set(old.consumer, previous._replace(pel=previous.pel - {sid}))
    mine = consumers[owner]
    consumers = consumers.set(owner, mine._replace(pel=mine.pel | {sid}))
    return group._replace(pel=group.pel.set(sid, Nack(time, count, owner)), consumers=consumers)


def drop(group: Group, sid: StreamID) -> Group:
    """Remove ``sid`` from the group's PEL and its owner's."""
    owner = group.pel[sid].consumer
    consumer = group.consumers[owner]
    return group._replace(pel=group.pel.delete(sid),
                          consumers=group.consumers.set(owner, consumer._replace(pel=consumer.pel - {sid})))


# --------------------------------------------------------------------------- XGROUP


def _subcommand_syntax(argv: Sequence[bytes]) -> Error:
    return Error(f"ERR unknown subcommand or wrong number of arguments for '{quoted(argv[1][:128])}'. "
                 f"Try {quoted(argv[0]).upper()} HELP.")


def _xgroup_prologue(ctx: Context, argv: Sequence[bytes]) -> tuple[Stream | None, Group | None, bool, int]:
    """What xgroupCommand does before dispatching: options, the key, and the group if needed."""
    sub = argv[1].lower()
    mkstream, entries_read = False, -1
    i = 5
    while i < len(argv):
        word = cstr(argv[i]).lower()
        if sub == b"create" and word == b"mkstream":
            mkstream = True
            i += 1
        elif sub in (b"create", b"setid") and word == b"entriesread" and i + 1 < len(argv):
            entries_read = parse_int(argv[i + 1])
            if entries_read < -1:
                raise CommandError(Error("ERR value for ENTRIESREAD must be positive or -1"))
            i += 2
        else:
            raise CommandError(_subcommand_syntax(argv))
    stream, group = group_of(ctx, argv[2], argv[3])
    if not mkstream:
        if stream is None:
            raise CommandError(Error("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE "
                                     "you may want to use the MKSTREAM option to create an empty stream "
                                     "automatically."))
        if group is None and sub in (b"setid", b"createconsumer", b"delconsumer"):
            raise CommandError(Error(f"NOGROUP No such consumer group '{quoted(argv[3])}' for key name "
                                     f"'{quoted(argv[2])}'"))
    return stream, group, mkstream, entries_read


container("xgroup", -2)


@command("xgroup|create", -5, "write denyoom", keys=(2, 2, 1))
def xgroup_create(ctx: Context, argv: Sequence[bytes]) -> Reply:
    stream, _, _, entries_read = _xgroup_prologue(ctx, argv)
    if len(argv) > 8:
        return _subcommand_syntax(argv)
    default = stream.last_id if stream is not None else MIN_ID
    sid = default if cstr(argv[4]) == b"$" else strict_id(argv[4])
    created = stream is None
    if stream is None:
        stream = Stream()
    if argv[3] in stream.groups:
        return Error("BUSYGROUP Consumer Group name already exists")
    group = Group(sid, entries_read, EMPTY, EMPTY)
    store(ctx, argv[2], stream.replace(groups=stream.groups.set(argv[3], group)), signal=created)
    notify(ctx, STREAM, b"xgroup-create", argv[2])
    return OK


@command("xgroup|setid", -5, "write", keys=(2, 2, 1))
def xgroup_setid(ctx: Context, argv: Sequence[bytes]) -> Reply:
    stream, group, _, entries_read = _xgroup_prologue(ctx, argv)
    if len(argv) not in (5, 7):
        return _subcommand_syntax(argv)
    assert stream is not None and group is not None
    sid = stream.last_id if cstr(argv[4]) == b"$" else parse_id(argv[4])[0]
    put(ctx, argv[2], stream, argv[3], group._replace(last_id=sid, entries_read=entries_read))
    notify(ctx, STREAM, b"xgroup-setid", argv[2])
    return OK


@command("xgroup|destroy", 4, "write", keys=(2, 2, 1))
def xgroup_destroy(ctx: Context, argv: Sequence[bytes]) -> Reply:
    stream, group, _, _ = _xgroup_prologue(ctx, argv)
    if stream is None or group is None:
        return 0
    store(ctx, argv[2], stream.replace(groups=stream.groups.delete(argv[3])), signal=False)
    notify(ctx, STREAM, b"xgroup-destroy", argv[2])
    return 1


@command("xgroup|createconsumer", 5, "write denyoom", keys=(2, 2, 1))
def xgroup_createconsumer(ctx: Context, argv: Sequence[bytes]) -> Reply:
    stream, group, _, _ = _xgroup_prologue(ctx, argv)
    assert stream is not None and group is not None
    if argv[4] in group.consumers:
        return 0
    put(ctx, argv[2], stream, argv[3], seen(group, argv[4], ctx.now))
    notify(ctx, STREAM, b"xgroup-createconsumer", argv[2])
    return 1


@command("xgroup|delconsumer", 5, "write", keys=(2, 2, 1))
def xgroup_delconsumer(ctx: Context, argv: Sequence[bytes]) -> Reply:
    stream, group, _, _ = _xgroup_prologue(ctx, argv)
    assert stream is not None and group is not None
    consumer = group.consumers.get(argv[4])
    if consumer is None:
        return 0
    pel = group.pel
    for sid in consumer.pel:
        pel = pel.delete(sid)
    put(ctx, argv[2], stream, argv[3], group._replace(pel=pel, consumers=group.consumers.delete(argv[4])))
    notify(ctx, STREAM, b"xgroup-delconsumer", argv[2])
    return len(consumer.pel)


_XGROUP_HELP = (
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
)


@command("xgroup|help", 2, "loading stale")
def xgroup_help(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return help_reply(ctx, _XGROUP_HELP)


# --------------------------------------------------------------------------- XACK XPENDING


@command("xack", -4, "write fast", keys=(1, 1, 1))
def xack(ctx: Context, argv: Sequence[bytes]) -> Reply:
    stream, group = group_of(ctx, argv[1], argv[2])
    if stream is None or group is None:
        return 0
    ids = [strict_id(arg) for arg in argv[3:]]  # all or nothing
    acknowledged = 0
    for sid in ids:
        if sid in group.pel:
            group = drop(group, sid)
            acknowledged += 1
    put(ctx, argv[1], stream, argv[2], group)
    return acknowledged


@command("xpending", -3, "readonly", keys=(1, 1, 1))
def xpending(ctx: Context, argv: Sequence[bytes]) -> Reply:
    argc = len(argv)
    if argc != 3 and not 6 <= argc <= 9:
        return SYNTAX
    min_idle, start, end, count, owner = 0, MIN_ID, MAX_ID, 0, None
    if argc >= 6:
        at = 3
        if cstr(argv[3]).lower() == b"idle":
            min_idle = parse_int(argv[4])
            if argc < 8:
                return SYNTAX
            at = 5
        count = max(parse_int(argv[at + 2]), 0)
        start = parse_interval(argv[at], 0, start=True)
        end = parse_interval(argv[at + 1], 2**64 - 1, start=False)
        owner = argv[at + 3] if at + 3 < argc else None
    stream, group = group_of(ctx, argv[1], argv[2])
    if stream is None or group is None:
        return nogroup(argv[1], argv[2])
    if argc == 3:
        if not group.pel:
            return (0, None, None, NULL_ARRAY)
        ids = sorted(group.pel)
        owners = tuple((name, b"%d" % len(c.pel)) for name, c in sorted(group.consumers.items()) if c.pel)
        return (len(ids), format_id(ids[0]), format_id(ids[-1]), owners)
    if owner is not None and owner not in group.consumers:
        return ()
    pel = group.consumers[owner].pel if owner is not None else group.pel
    out: list[Reply] = []
    for sid in sorted(sid for sid in pel if start <= sid <= end):
        if not count:
            break
        nack = group.pel[sid]
        if min_idle and ctx.now - nack.delivery_time < min_idle:
            continue
        count -= 1
        out.append((format_id(sid), nack.consumer, max(ctx.now - nack.delivery_time, 0), nack.delivery_count))
    return tuple(out)


# --------------------------------------------------------------------------- XCLAIM XAUTOCLAIM


def _claim(group: Group, sid: StreamID, owner: bytes, have_owner: bool, time: int, count: int,
           now: int) -> Group:
    if not have_owner:  # the first claim looks the consumer up (refreshing it) or creates it
        group = seen(group, owner, now)
    return give(group, sid, owner, time, count)


@command("xclaim", -6, "write fast", keys=(1, 1, 1))
def xclaim(ctx: Context, argv: Sequence[bytes]) -> Reply:
    key, name, owner, now = argv[1], argv[2], argv[3], ctx.now
    stream, group = group_of(ctx, key, name)
    if stream is None or group is None:
        return nogroup(key, name)
    min_idle = max(parse_int(argv[4], Error("ERR Invalid min-idle-time argument for XCLAIM")), 0)
    ids: list[StreamID] = []
    j = 5
    while j < len(argv):  # ids up to the first argument that is not one: the options follow
        try:
            ids.append(strict_id(argv[j]))
        except CommandError:
            break
        j += 1
    delivery, retry, force, justid, last_id = -1, -1, False, False, MIN_ID
    while j < len(argv):
        more = len(argv) - 1 - j
        option = cstr(argv[j]).lower()
        if option == b"force":
            force = True
        elif option == b"justid":
            justid = True
        elif option in (b"idle", b"time", b"retrycount") and more:
            j += 1
            label = {b"idle": "IDLE", b"time": "TIME", b"retrycount": "RETRYCOUNT"}[option]
            value = parse_int(argv[j], Error(f"ERR Invalid {label} option argument for XCLAIM"))
            if option == b"retrycount":
                retry = value
            else:
                delivery = now - value if option == b"idle" else value
        elif option == b"lastid" and more:
            j += 1
            last_id = strict_id(argv[j])
        else:
            return Error(f"ERR Unrecognized XCLAIM option '{quoted(argv[j])}'")
        j += 1
    if last_id > group.last_id:
        group = group._replace(last_id=last_id)
    if delivery < 0 or delivery > now:  # not given, or bogus: now
        delivery = now
    out: list[Reply] = []
    have_owner = False
    for sid in ids:
        nack = group.pel.get(sid)
        entry = find(stream, sid)
        if entry is None:  # gone from the stream: gone from the PEL too
            if nack is not None:
                group = drop(group, sid)
            continue
        if nack is None and not force:
            continue
        if nack is not None and min_idle and now - nack.delivery_time < min_idle:
            continue
        # A NACK FORCE creates starts at one delivery, then counts this one as any other claim.
        delivered = nack.delivery_count if nack is not None else 1
        group = _claim(group, sid, owner, have_owner, delivery,
                       retry if retry >= 0 else delivered + (0 if justid else 1), now)
        have_owner = True
        out.append(format_id(sid) if justid else entry_reply(entry))
    put(ctx, key, stream, name, group)
    consumer_created(ctx, key, stream.groups[name], group, owner)
    return tuple(out)


@command("xautoclaim", -6, "write fast", keys=(1, 1, 1))
def xautoclaim(ctx: Context, argv: Sequence[bytes]) -> Reply:
    key, name, owner, now = argv[1], argv[2], argv[3], ctx.now
    min_idle = max(parse_int(argv[4], Error("ERR Invalid min-idle-time argument for XAUTOCLAIM")), 0)
    start = parse_interval(argv[5], 0, start=True)
    count, justid = 100, False
    j = 6
    while j < len(argv):
        option = cstr(argv[j]).lower()
        if option == b"count" and j + 1 < len(argv):
            value = to_int(argv[j + 1])
            if value is None or not 1 <= value <= LONG_MAX // 16:
                return Error("ERR COUNT must be > 0")
            count = value
            j += 1
        elif option == b"justid":
            justid = True
        else:
            return SYNTAX
        j += 1
    stream, group = group_of(ctx, key, name)
    if stream is None or group is None:
        return nogroup(key, name)
    if count * 16 >= UNALLOCATABLE:  # the array of deleted ids Redis allocates first (ztrymalloc)
        return Error("ERR Insufficient memory, failed allocating transient memory, COUNT too high.")
    attempts = count * 10
    ids = sorted(sid for sid in group.pel if sid >= start)
    claimed: list[Reply] = []
    deleted: list[Reply] = []
    have_owner = False
    visited = 0
    while attempts and count and visited < len(ids):
        attempts -= 1
        sid = ids[visited]
        visited += 1
        nack = group.pel[sid]
        entry = find(stream, sid)
        if entry is None:
            group = drop(group, sid)
            deleted.append(format_id(sid))
            count -= 1
            continue
        if min_idle and now - nack.delivery_time < min_idle:
            continue
        group = _claim(group, sid, owner, have_owner, now, nack.delivery_count + (0 if justid else 1), now)
        have_owner = True
        claimed.append(format_id(sid) if justid else entry_reply(entry))
        count -= 1
    put(ctx, key, stream, name, group)
    consumer_created(ctx, key, stream.groups[name], group, owner)
    cursor = ids[visited] if visited < len(ids) else MIN_ID
    return (format_id(cursor), tuple(claimed), tuple(deleted))


# --------------------------------------------------------------------------- XINFO


def _info_stream(ctx: Context, key: bytes) -> Stream:
    stream = ctx.read(key)
    if stream is None:
        raise CommandError(NO_SUCH_KEY)
    return get_stream(ctx, key)  # type: ignore[return-value]  # raises WRONGTYPE


container("xinfo", -2)


@command("xinfo|stream", -3, "readonly", keys=(2, 2, 1))
def xinfo_stream(ctx: Context, argv: Sequence[bytes]) -> Reply:
    stream = _info_stream(ctx, argv[2])
    options = [cstr(arg).lower() for arg in argv[3:]]
    full, count = bool(options), 10
    if full:
        if len(options) not in (1, 3) or options[0] != b"full" or (len(options) == 3 and options[1] != b"count"):
            return _subcommand_syntax(argv)
        if len(options) == 3:
            count = parse_int(argv[5])
            count = 10 if count < 0 else count
    reply: list[Reply] = [
        b"length", stream.length, b"radix-tree-keys", len(stream.nodes), b"radix-tree-nodes", rax_nodes(stream),
        b"last-generated-id", format_id(stream.last_id), b"max-deleted-entry-id", format_id(stream.max_deleted),
        b"entries-added", stream.entries_added, b"recorded-first-entry-id", format_id(stream.first_id)]
    if not full:
        first, last = next(entries(stream), None), next(entries(stream, rev=True), None)
        reply += [b"groups", len(stream.groups), b"first-entry", None if first is None else entry_reply(first),
                  b"last-entry", None if last is None else entry_reply(last)]
        return tuple(reply)
    limit = count or None
    reply += [b"entries", tuple(entry_reply(e) for e in islice(entries(stream), limit)),
              b"groups", tuple(_group_full(stream, name, group, limit) for name, group in sorted(stream.groups.items()))]
    return tuple(reply)


def _group_full(stream: Stream, name: bytes, group: Group, limit: int | None) -> Reply:
    pending = tuple((format_id(sid), nack.consumer, nack.delivery_time, nack.delivery_count)
                    for sid, nack in islice(sorted(group.pel.items()), limit))
    consumers = tuple(
        (b"name", owner, b"seen-time", consumer.seen_time, b"pel-count", len(consumer.pel), b"pending",
         tuple((format_id(sid), group.pel[sid].delivery_time, group.pel[sid].delivery_count)
               for sid in islice(sorted(consumer.pel), limit)))
        for owner, consumer in sorted(group.consumers.items()))
    return (b"name", name, b"last-delivered-id", format_id(group.last_id), b"entries-read",
            None if group.entries_read == -1 else group.entries_read, b"lag", lag(stream, group),
            b"pel-count", len(group.pel), b"pending", pending, b"consumers", consumers)


@command("xinfo|groups", 3, "readonly", keys=(2, 2, 1))
def xinfo_groups(ctx: Context, argv: Sequence[bytes]) -> Reply:
    stream = _info_stream(ctx, argv[2])
    return tuple(
        (b"name", name, b"consumers", len(group.consumers), b"pending", len(group.pel),
         b"last-delivered-id", format_id(group.last_id),
         b"entries-read", None if group.entries_read == -1 else group.entries_read, b"lag", lag(stream, group))
        for name, group in sorted(stream.groups.items()))


@command("xinfo|consumers", 4, "readonly", keys=(2, 2, 1))
def xinfo_consumers(ctx: Context, argv: Sequence[bytes]) -> Reply:
    stream = _info_stream(ctx, argv[2])
    group = stream.groups.get(argv[3])
    if group is None:
        return Error(f"NOGROUP No such consumer group '{quoted(argv[3])}' for key name '{quoted(argv[2])}'")
    return tuple((b"name", owner, b"pending", len(consumer.pel), b"idle", max(ctx.now - consumer.seen_time, 0))
                 for owner, consumer in sorted(group.consumers.items()))


_XINFO_HELP = (
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
)


@command("xinfo|help", 2, "loading stale")
def xinfo_help(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return help_reply(ctx, _XINFO_HELP)
