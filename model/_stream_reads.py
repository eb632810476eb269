"""XREAD and XREADGROUP (t_stream.c's xreadCommand): reading streams, and delivering to consumer groups.

XREAD returns the entries after the given ids (``$``: after the stream's last id).  XREADGROUP
with ``>`` delivers entries past the group's last delivered id to the consumer (creating it),
advancing the group's read counter and, unless NOACK, adding them to the pending lists; with an
explicit id it rereads the consumer's own pending entries.  Neither signals WATCH for the group's
changes, as in Redis.

The model never blocks.  With BLOCK and nothing to serve, the reply is the null array where Redis
may not block (MULTI/EXEC; a script refuses BLOCK outright), and ``ERR redlin's model does not
block`` anywhere else, as for the list commands.

>>> from redlin.model import Redis
>>> c = Redis(now=7).client()
>>> c.execute("XADD", "s", "1-1", "f", "v"), c.execute("XGROUP", "CREATE", "s", "g", "0")
(b'1-1', Status('OK'))
>>> c.execute("XREAD", "STREAMS", "s", "0"), c.execute("XREAD", "STREAMS", "s", "$")
(((b's', ((b'1-1', (b'f', b'v')),)),), NULL_ARRAY)
>>> c.execute("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")
((b's', ((b'1-1', (b'f', b'v')),)),)
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice
from typing import NamedTuple

from ._commands import command
from ._engine import CommandError, Context
from ._lists import DOES_NOT_BLOCK
from ._numbers import parse_int
from ._reply import NULL_ARRAY, SYNTAX, Error, MapReply, Reply
from ._resp3 import register_rule
from ._stream_groups import (
    Group,
    consumer_created,
    estimate_entries_read,
    give,
    group_of,
    nogroup,
    put,
    range_has_tombstones,
    seen,
)
from ._streams import (
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
    last_live,
    next_id,
    strict_id,
)


class ReadArgs(NamedTuple):
    """Parsed XREAD/XREADGROUP arguments; the ids stay raw (``$``, ``>``), resolved with their keys."""

    max_count: int
    block: bool
    noack: bool
    group: bytes | None
    consumer: bytes
    keys: tuple[bytes, ...]
    ids: tuple[bytes, ...]


def parse_read(ctx: Context, argv: Sequence[bytes], xreadgroup: bool) -> ReadArgs:
    """The option loop of xreadCommand (the ids are parsed with the keys, by the caller)."""
    count, block, noack = 0, False, False
    group: bytes | None = None
    consumer = b""
    name = argv[0].decode("utf-8", "surrogateescape")
    i = 1
    while i < len(argv):
        more = len(argv) - i - 1
        option = cstr(argv[i]).lower()
        if option == b"block" and more:
            if ctx.in_script:
                raise CommandError(Error(f"ERR {name} command is not allowed with BLOCK option from scripts"))
            i += 1
            if parse_int(argv[i], Error("ERR timeout is not an integer or out of range")) < 0:
                raise CommandError(Error("ERR timeout is negative"))
            block = True
        elif option == b"count" and more:
            i += 1
            count = max(parse_int(argv[i]), 0)
        elif option == b"streams" and more:
            streams = argv[i + 1:]
            if len(streams) % 2:
                raise CommandError(Error("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' "
                                         "must be specified."))
            half = len(streams) // 2
            return ReadArgs(count, block, noack, group, consumer, tuple(streams[:half]), tuple(streams[half:]))
        elif option == b"group" and more >= 2:
            if not xreadgroup:
                raise CommandError(Error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD "
                                         "instead."))
            group, consumer = argv[i + 1], argv[i + 2]
            i += 2
        elif option == b"noack":
            if not xreadgroup:
                raise CommandError(Error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD "
                                         "instead."))
            noack = True
        else:
            raise CommandError(SYNTAX)
        i += 1
    raise CommandError(SYNTAX)  # STREAMS is mandatory


def read_keys(argv: Sequence[bytes]) -> tuple[bytes, ...]:
    """xreadGetKeys: the keys after STREAMS (none for a malformed command)."""
    i = 1
    while i < len(argv):
        word = cstr(argv[i]).lower()
        if word in (b"block", b"count"):
            i += 2
        elif word == b"group":
            i += 3
        elif word == b"noack":
            i += 1
        elif word == b"streams":
            rest = argv[i + 1:]
            if not rest or len(rest) % 2:
                return ()
            return tuple(rest[:len(rest) // 2])
        else:
            return ()
    return ()


def no_data(ctx: Context, args: ReadArgs) -> Reply:
    """Nothing to serve: the null array, unless BLOCK asked to wait (which the model cannot)."""
    if args.block and not ctx.in_exec:
        return DOES_NOT_BLOCK
    return NULL_ARRAY


@command("xread", -4, "readonly blocking movablekeys", keys_fn=read_keys)
def xread(ctx: Context, argv: Sequence[bytes]) -> Reply:
    args = parse_read(ctx, argv, xreadgroup=False)
    after: list[StreamID] = []
    for key, arg in zip(args.keys, args.ids):
        stream = get_stream(ctx, key)
        if cstr(arg) == b"$":
            after.append(stream.last_id if stream is not None else MIN_ID)
        elif cstr(arg) == b">":
            return Error("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> "
                         "<consumer> option.")
        else:
            after.append(strict_id(arg))
    out: list[Reply] = []
    for key, gt in zip(args.keys, after):
        stream = get_stream(ctx, key)
        if stream is None or not stream.length or last_live(stream) <= gt:
            continue
        start = next_id(gt) or MIN_ID
        out.append((key, tuple(map(entry_reply, islice(entries(stream, start), args.max_count or None)))))
    return tuple(out) if out else no_data(ctx, args)


def deliver(stream: Stream, group: Group, owner: bytes, start: StreamID, count: int, noack: bool,
            now: int) -> tuple[Reply, Group]:
    """streamReplyWithRange with a group: new entries, advancing the group and filling the PELs."""
    out: list[Reply] = []
    last_id, entries_read = group.last_id, group.entries_read
    for entry in entries(stream, start):
        if entry.id > last_id:
            if entries_read != -1 and not range_has_tombstones(stream, entry.id):
                entries_read += 1
            elif stream.entries_added:
                entries_read = estimate_entries_read(stream, entry.id)
            last_id = entry.id
        out.append(entry_reply(entry))
        if not noack:
            group = give(group, entry.id, owner, now, 1)
        if count and len(out) == count:
            break
    return tuple(out), group._replace(last_id=last_id, entries_read=entries_read)


def history(stream: Stream, group: Group, owner: bytes, start: StreamID, count: int,
            now: int) -> tuple[Reply, Group]:
    """streamReplyWithRangeFromConsumerPEL: the consumer's own pending entries from ``start``."""
    out: list[Reply] = []
    for sid in sorted(sid for sid in group.consumers[owner].pel if sid >= start):
        if count and len(out) >= count:
            break
        entry = find(stream, sid)
        if entry is None:  # deleted since delivery: the id and a null
            out.append((format_id(sid), NULL_ARRAY))
            continue
        out.append(entry_reply(entry))
        nack = group.pel[sid]
        group = group._replace(pel=group.pel.set(sid, nack._replace(delivery_time=now,
                                                                    delivery_count=nack.delivery_count + 1)))
    return tuple(out), group


@command("xreadgroup", -7, "write blocking movablekeys", keys_fn=read_keys)
def xreadgroup(ctx: Context, argv: Sequence[bytes]) -> Reply:
    args = parse_read(ctx, argv, xreadgroup=True)
    name, owner = args.group, args.consumer
    if name is None:
        return Error("ERR Missing GROUP option for XREADGROUP")
    after: list[StreamID] = []
    for key, arg in zip(args.keys, args.ids):
        if group_of(ctx, key, name)[1] is None:
            return nogroup(key, name, " in XREADGROUP with GROUP option")
        if cstr(arg) == b"$":
            return Error("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of "
                         "this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID "
                         "would just return an empty result set.")
        after.append(MAX_ID if cstr(arg) == b">" else strict_id(arg))
    out: list[Reply] = []
    for key, gt in zip(args.keys, after):
        stream, group = group_of(ctx, key, name)
        assert stream is not None and group is not None
        serve_history = gt != MAX_ID  # an explicit id reads the consumer's own pending entries
        if not serve_history:  # ">": served only if the stream has entries past the group's last id
            if not stream.length or last_live(stream) <= group.last_id:
                continue
            gt = group.last_id
        start = next_id(gt) or MIN_ID
        known, group = group, seen(group, owner, ctx.now)
        consumer_created(ctx, key, known, group, owner)
        if serve_history:
            reply, group = history(stream, group, owner, start, args.max_count, ctx.now)
        else:
            reply, group = deliver(stream, group, owner, start, args.max_count, args.noack, ctx.now)
        put(ctx, key, stream, name, group)
        out.append((key, reply))
    return tuple(out) if out else no_data(ctx, args)


# --------------------------------------------------------------------------- RESP3


def resp3_maps(argv: Sequence[bytes], reply: Reply) -> Reply:
    """The RESP3 shape of a stream reply, its RESP2 nulls left for ``_resp3.nulls`` to convert.

    XREAD and XREADGROUP answer a map of key -> entries; XINFO STREAM a map (with FULL, each group
    and each of its consumers a map too), XINFO GROUPS and CONSUMERS an array of maps.  Meant for
    :mod:`redlin.model._resp3`'s rules under ``xread``, ``xreadgroup`` and ``xinfo``.

    >>> resp3_maps([b"XREAD", b"STREAMS", b"s", b"0"], ((b"s", ((b"1-1", (b"f", b"v")),)),))
    MapReply(((b's', ((b'1-1', (b'f', b'v')),)),))
    >>> resp3_maps([b"XINFO", b"GROUPS", b"s"], ((b"name", b"g", b"lag", None),))
    (MapReply(((b'name', b'g'), (b'lag', None))),)
    """
    if type(reply) is not tuple:
        return reply
    name = argv[0].lower()
    if name in (b"xread", b"xreadgroup"):
        return MapReply(tuple(_map(pair).pairs[0] for pair in reply))  # (key, entries) pairs
    sub = argv[1].lower() if len(argv) > 1 else b""
    if sub in (b"groups", b"consumers"):
        return _maps(reply)
    if sub != b"stream" or len(argv) == 3:
        return _map(reply) if sub == b"stream" else reply
    return MapReply(tuple((field, _groups(value) if field == b"groups" else value) for field, value in _map(reply).pairs))


def _map(items: Reply) -> MapReply:
    assert type(items) is tuple
    return MapReply.flat(items)


def _maps(items: Reply) -> Reply:
    assert type(items) is tuple
    return tuple(map(_map, items))


def _groups(groups: Reply) -> Reply:
    """XINFO STREAM FULL's groups: each a map, and so is each of its consumers."""
    assert type(groups) is tuple
    return tuple(MapReply(tuple((field, _maps(value) if field == b"consumers" else value)
                                for field, value in _map(group).pairs)) for group in groups)


for _name in (b"xread", b"xreadgroup", b"xinfo"):
    register_rule(_name, resp3_maps)
