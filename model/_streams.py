"""Streams (t_stream.c): the :class:`Stream` value and XADD XRANGE XREVRANGE XLEN XDEL XTRIM XSETID.

A stream is kept as Redis keeps it: a sequence of radix-tree *nodes*, each a listpack of at most
``stream-node-max-entries`` (100) entries and, roughly, ``stream-node-max-bytes`` (4096) bytes, in
which deleted entries stay as tombstones.  The model computes each listpack's byte size exactly
(listpack.c's encodings), so it splits nodes where Redis does, and approximate trimming (``~``),
which only drops whole nodes, and XINFO's ``radix-tree-keys``/``radix-tree-nodes`` come out as
Redis's for the default configuration.  Consumer groups live in the value too; their value types and
commands are in :mod:`redlin.model._stream_groups`, XREAD and XREADGROUP in :mod:`redlin.model._stream_reads`.

Ids are ``(ms, seq)`` pairs; ``*`` takes its time from the step's clock ``ctx.now``.  Only XADD, XDEL,
XTRIM (and XGROUP CREATE MKSTREAM) signal a modified key to WATCH, as in Redis: group commands and
XSETID change the value without touching watchers.  Nodes split at ``stream-node-max-entries`` and
``stream-node-max-bytes`` as CONFIG SET left them (``ctx.config``; 0: no limit).  Assumed for
``radix-tree-nodes``: Redis's rax stays in its canonical compressed form (the root, each branching
prefix and its children, each key), which rax.c's insertion and deletion maintain.

>>> from redlin.model import Redis
>>> c = Redis(now=5).client()
>>> c.execute("XADD", "s", "*", "f", "v"), c.execute("XADD", "s", "5-*", "g", "w"), c.execute("TYPE", "s")
(b'5-0', b'5-1', Status('stream'))
>>> c.execute("XRANGE", "s", "(5-0", "+")
((b'5-1', (b'g', b'w')),)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from itertools import islice
from typing import TYPE_CHECKING, NamedTuple

from immutables import Map

from ._commands import command
from ._engine import CommandError, Context
from ._notify import STREAM, notify
from ._numbers import parse_int, to_int
from ._reply import NO_SUCH_KEY, NULL_ARRAY, OK, SYNTAX, Error, Reply, arity_error
from ._state import TYPE_NAMES

if TYPE_CHECKING:
    from ._stream_groups import Group

StreamID = tuple[int, int]
U64 = 2**64 - 1
MIN_ID: StreamID = (0, 0)
MAX_ID: StreamID = (U64, U64)
NODE_MAX_ENTRIES = 100  # stream-node-max-entries
NODE_MAX_BYTES = 4096  # stream-node-max-bytes
LISTPACK_MAX_SIZE = 2**30  # STREAM_LISTPACK_MAX_SIZE: an entry's fields and values together
INVALID_ID = Error("ERR Invalid stream ID specified as stream command argument")


class Entry(NamedTuple):
    id: StreamID
    fields: tuple[bytes, ...]
    values: tuple[bytes, ...]
    deleted: bool = False  # a tombstone (STREAM_ITEM_FLAG_DELETED)


class Node(NamedTuple):
    """One radix-tree key: the listpack whose master entry is ``master_id``/``master_fields``."""

    master_id: StreamID
    master_fields: tuple[bytes, ...]
    entries: tuple[Entry, ...]
    live: int  # entries not deleted (the master entry's "count")
    size: int  # lpBytes: what decides, with the entry count, when XADD starts a new node


EMPTY: Map = Map()  # type: ignore[type-arg]


class Stream:
    """A stream value: immutable and hashable; a step builds a new one with :meth:`replace`."""

    __slots__ = ("nodes", "length", "last_id", "first_id", "max_deleted", "entries_added", "groups", "_hash")

    def __init__(self, nodes: tuple[Node, ...] = (), length: int = 0, last_id: StreamID = MIN_ID,
                 first_id: StreamID = MIN_ID, max_deleted: StreamID = MIN_ID, entries_added: int = 0,
                 groups: Map[bytes, Group] = EMPTY) -> None:
        self.nodes = nodes
        self.length = length
        self.last_id = last_id
        self.first_id = first_id  # "recorded-first-entry-id": updated only where Redis updates it
        self.max_deleted = max_deleted
        self.entries_added = entries_added
        self.groups = groups
        self._hash = -1

    def replace(self, **changes: object) -> Stream:
        fields = {name: getattr(self, name) for name in Stream.__slots__[:-1]}
        fields.update(changes)
        return Stream(**fields)

    def _key(self) -> tuple[object, ...]:
        return (self.nodes, self.length, self.last_id, self.first_id, self.max_deleted, self.entries_added,
                self.groups)

    def __bool__(self) -> bool:
        return True  # an empty stream is still a key (ctx.write deletes empty aggregates)

    def __eq__(self, other: object) -> bool:
        return self is other or (type(other) is Stream and other._key() == self._key())

    def __hash__(self) -> int:
        if self._hash == -1:
            self._hash = hash(self._key())
        return self._hash

    def __repr__(self) -> str:
        return f"Stream(length={self.length}, last_id={self.last_id}, groups={list(self.groups)})"


TYPE_NAMES[Stream] = "stream"  # TYPE's reply


# --------------------------------------------------------------------------- ids


def format_id(sid: StreamID) -> bytes:
    return b"%d-%d" % sid


def cstr(arg: bytes) -> bytes:
    """What C string functions see of an argument (strcmp, strchr, strcasecmp stop at a NUL)."""
    return arg.split(b"\0", 1)[0]


_STRTOULL = re.compile(rb"[ \t\n\v\f\r]*([+-]?)([0-9]+)")


def _string2ull(text: bytes) -> int | None:
    value = to_int(text)  # string2ll first: a negative number is refused
    if value is not None:
        return value if value >= 0 else None
    match = _STRTOULL.fullmatch(text)  # then strtoull, which takes spaces, '+' and negates '-'
    if match is None or int(match[2]) > U64:
        return None
    return (-int(match[2])) & U64 if match[1] == b"-" else int(match[2])


def parse_id(arg: bytes, missing_seq: int = 0, strict: bool = False, star_seq: bool = False) -> tuple[StreamID, bool]:
    """``streamGenericParseIDOrReply``: the id and whether its sequence was given (``<ms>-*``)."""
    if len(arg) > 127:
        raise CommandError(INVALID_ID)
    text = cstr(arg)
    if text in (b"-", b"+"):
        if strict:
            raise CommandError(INVALID_ID)
        return (MIN_ID if text == b"-" else MAX_ID), True
    ms_text, dash, seq_text = text.partition(b"-")
    ms = _string2ull(ms_text)
    if ms is None:
        raise CommandError(INVALID_ID)
    if not dash:
        return (ms, missing_seq), True
    if star_seq and seq_text == b"*":
        return (ms, 0), False
    seq = _string2ull(seq_text)
    if seq is None:
        raise CommandError(INVALID_ID)
    return (ms, seq), True


def strict_id(arg: bytes) -> StreamID:
    return parse_id(arg, strict=True)[0]


def next_id(sid: StreamID) -> StreamID | None:
    """streamIncrID; None where Redis wraps around (the last possible id)."""
    if sid[1] < U64:
        return (sid[0], sid[1] + 1)
    return (sid[0] + 1, 0) if sid[0] < U64 else None


def parse_interval(arg: bytes, missing_seq: int, start: bool) -> StreamID:
    """A range bound of XRANGE/XPENDING/XAUTOCLAIM: ``(`` excludes it, an incomplete id fills seq."""
    if len(arg) > 1 and arg[:1] == b"(":
        sid = parse_id(arg[1:], missing_seq, strict=True)[0]
        if start:
            moved = next_id(sid)
        else:
            moved = None if sid == MIN_ID else (sid[0], sid[1] - 1) if sid[1] else (sid[0] - 1, U64)
        if moved is None:
            raise CommandError(Error(f"ERR invalid {'start' if start else 'end'} ID for the interval"))
        return moved
    return parse_id(arg, missing_seq)[0]


# --------------------------------------------------------------------------- listpack sizes


def _i64(value: int) -> int:
    return ((value + 2**63) & U64) - 2**63


def _int_bytes(value: int) -> int:
    """Bytes of an integer listpack element: encoding plus its one-byte back-length."""
    for limit, size in ((127, 1), (4095, 2), (32767, 3), (8388607, 4), (2147483647, 5)):
        if (0 if size == 1 else -limit - 1) <= value <= limit:
            return size + 1
    return 10


def _str_bytes(text: bytes) -> int:
    value = to_int(text)  # lpStringToInt64 is string2ll's syntax: such strings are stored as integers
    if value is not None:
        return _int_bytes(value)
    n = len(text)
    encoded = n + (1 if n < 64 else 2 if n < 4096 else 5)
    return encoded + next(i for i, limit in enumerate((127, 16382, 2097150, 268435454, 2**64), 1) if encoded <= limit)


def _entry_bytes(entry: Entry, master: StreamID, same_fields: bool) -> int:
    count = len(entry.values)
    size = 2 + _int_bytes(_i64(entry.id[0] - master[0])) + _int_bytes(_i64(entry.id[1] - master[1]))
    if not same_fields:
        size += _int_bytes(count) + sum(map(_str_bytes, entry.fields))
    size += sum(map(_str_bytes, entry.values))
    return size + _int_bytes(count + 3 if same_fields else 2 * count + 4)


def _new_node(entry: Entry) -> Node:
    # header (6) + end (1) + count, deleted, field count, the master fields, the 0 terminator
    master = 7 + 2 + 2 + _int_bytes(len(entry.fields)) + sum(map(_str_bytes, entry.fields)) + 2
    return Node(entry.id, entry.fields, (entry,), 1, master + _entry_bytes(entry, entry.id, True))


# --------------------------------------------------------------------------- stream operations


def append(stream: Stream, sid: StreamID, fields: tuple[bytes, ...], values: tuple[bytes, ...],
           max_entries: int = NODE_MAX_ENTRIES, max_bytes: int = NODE_MAX_BYTES) -> Stream:
    """streamAppendItem with an id already checked to be above ``last_id``; ``max_entries`` and
    ``max_bytes`` are stream-node-max-entries and stream-node-max-bytes (0: no limit)."""
    entry = Entry(sid, fields, values)
    nodes = stream.nodes
    tail = nodes[-1] if nodes else None
    if not 0 < max_bytes <= 1 << 30:
        max_bytes = 1 << 30  # STREAM_LISTPACK_MAX_SIZE
    if tail is not None and (tail.size + sum(map(len, fields)) + sum(map(len, values)) >= max_bytes
                             or (max_entries and len(tail.entries) >= max_entries)):
        tail = None
    if tail is None:
        nodes += (_new_node(entry),)
    else:
        size = tail.size + _entry_bytes(entry, tail.master_id, fields == tail.master_fields)
        nodes = nodes[:-1] + (tail._replace(entries=tail.entries + (entry,), live=tail.live + 1, size=size),)
    return stream.replace(nodes=nodes, length=stream.length + 1, entries_added=stream.entries_added + 1,
                          last_id=sid, first_id=sid if stream.length == 0 else stream.first_id)


def entries(stream: Stream, start: StreamID = MIN_ID, end: StreamID = MAX_ID, rev: bool = False) -> Iterator[Entry]:
    """The live entries with ``start <= id <= end``, in id order (reversed with ``rev``)."""
    for node in reversed(stream.nodes) if rev else stream.nodes:
        if (node.entries[0].id > end) if rev else (node.entries[-1].id < start):
            continue  # the whole node is outside the range
        for entry in reversed(node.entries) if rev else node.entries:
            if entry.deleted:
                continue
            if (entry.id < start) if rev else (entry.id > end):
                return
            if start <= entry.id <= end:
                yield entry


def find(stream: Stream, sid: StreamID) -> Entry | None:
    return next(entries(stream, sid, sid), None)


def first_live(stream: Stream) -> StreamID:
    return next((e.id for e in entries(stream)), MAX_ID)


def last_live(stream: Stream) -> StreamID:
    return next((e.id for e in entries(stream, rev=True)), MIN_ID)


def delete(stream: Stream, sid: StreamID) -> Stream | None:
    """streamDeleteItem: mark the entry deleted (a node whose last live entry goes is dropped)."""
    for index, node in enumerate(stream.nodes):
        if node.entries[-1].id < sid:
            continue
        for position, entry in enumerate(node.entries):
            if entry.id == sid and not entry.deleted:
                if node.live == 1:
                    nodes = stream.nodes[:index] + stream.nodes[index + 1:]
                else:
                    marked = node.entries[:position] + (entry._replace(deleted=True),) + node.entries[position + 1:]
                    nodes = stream.nodes[:index] + (node._replace(entries=marked, live=node.live - 1),) \
                        + stream.nodes[index + 1:]
                return stream.replace(nodes=nodes, length=stream.length - 1)
    return None


class Trim(NamedTuple):
    """Parsed trimming arguments (streamAddTrimArgs)."""

    maxlen: int | None = None
    minid: StreamID | None = None
    approx: bool = False
    limit: int = 0


def trim(stream: Stream, how: Trim) -> tuple[Stream, int]:
    """streamTrim: drop whole nodes from the head; unless approximate, mark entries in the next one."""
    nodes = list(stream.nodes)
    length, deleted = stream.length, 0
    while nodes:
        if how.maxlen is not None and length <= how.maxlen:
            break
        node = nodes[0]
        if how.limit and deleted + node.live > how.limit:
            break
        if how.maxlen is not None:
            whole = length - node.live >= how.maxlen
        else:
            whole = node.entries[-1].id < how.minid  # type: ignore[operator]  # tombstones count
        if whole:
            nodes.pop(0)
            length -= node.live
            deleted += node.live
            continue
        if how.approx:
            break
        marked = list(node.entries)
        for position, entry in enumerate(node.entries):
            if (length <= how.maxlen) if how.maxlen is not None else (entry.id >= how.minid):  # type: ignore[operator]
                break
            if not entry.deleted:
                marked[position] = entry._replace(deleted=True)
                length -= 1
        removed = stream.length - deleted - length
        deleted += removed
        nodes[0] = node._replace(entries=tuple(marked), live=node.live - removed)
        break
    if not deleted:
        return stream, 0
    trimmed = stream.replace(nodes=tuple(nodes), length=length)
    return trimmed.replace(first_id=first_live(trimmed) if length else MIN_ID), deleted


def rax_nodes(stream: Stream) -> int:
    """``radix-tree-nodes``: the nodes of the compressed radix tree over the 128-bit master ids (the
    root, every branching prefix and each of its children, every key)."""
    keys = sorted(ms.to_bytes(8, "big") + seq.to_bytes(8, "big") for ms, seq in (n.master_id for n in stream.nodes))
    objects = {b"", *keys}
    pending = [(keys, 0)]
    while pending:
        group, depth = pending.pop()
        if len(group) < 2:
            continue
        while len({key[depth] for key in group}) == 1:
            depth += 1
        objects.add(group[0][:depth])
        for byte in sorted({key[depth] for key in group}):
            child = [key for key in group if key[depth] == byte]
            objects.add(child[0][:depth + 1])
            pending.append((child, depth + 1))
    return len(objects)


def entry_reply(entry: Entry) -> Reply:
    return (format_id(entry.id), tuple(item for pair in zip(entry.fields, entry.values) for item in pair))


def get_stream(ctx: Context, key: bytes) -> Stream | None:
    return ctx.read_as(key, Stream)  # type: ignore[return-value]


def store(ctx: Context, key: bytes, stream: Stream, signal: bool = True) -> None:
    """Write the stream back; ``signal`` is Redis's signalModifiedKey (only some commands call it:
    without it the value changes, DUMP and XINFO see it, but watchers are not told)."""
    (ctx.write if signal else ctx.write_unsignalled)(key, stream)


def quoted(name: bytes) -> str:
    """A name as an error's %s shows it: cut at a NUL, newlines made spaces."""
    return cstr(name).decode("utf-8", "surrogateescape").replace("\r", " ").replace("\n", " ")


# --------------------------------------------------------------------------- commands


class AddArgs(NamedTuple):
    """What precedes XADD's fields: the trim, NOMKSTREAM, the id (None for ``*``) and its position."""

    trim: Trim
    nomkstream: bool = False
    sid: StreamID | None = None
    seq_given: bool = True
    at: int = 0


def parse_trim(argv: Sequence[bytes], xadd: bool, node_max_entries: int = NODE_MAX_ENTRIES, star_seq: bool = True) -> AddArgs:
    """streamParseAddOrTrimArgsOrReply (XADD's id parsed where it stands; ``<ms>-*`` only if ``star_seq``)."""
    given: StreamID | None = None
    seq_given = True
    maxlen: int | None = None
    minid: StreamID | None = None
    approx = nomkstream = False
    limit: int | None = None
    i = 2
    while i < len(argv):
        more = len(argv) - 1 - i
        option = cstr(argv[i]).lower()
        if xadd and option == b"*":
            break
        if option in (b"maxlen", b"minid") and more:
            if maxlen is not None or minid is not None:
                raise CommandError(Error("ERR syntax error, MAXLEN and MINID options at the same time are not compatible"))
            approx = more >= 2 and cstr(argv[i + 1]) == b"~"
            if more >= 2 and cstr(argv[i + 1]) in (b"~", b"="):
                i += 1
            if option == b"maxlen":
                maxlen = parse_int(argv[i + 1])
                if maxlen < 0:
                    raise CommandError(Error("ERR The MAXLEN argument must be >= 0."))
            else:
                minid = strict_id(argv[i + 1])
            i += 1
        elif option == b"limit" and more:
            limit = parse_int(argv[i + 1])
            if limit < 0:
                raise CommandError(Error("ERR The LIMIT argument must be >= 0."))
            i += 1
        elif xadd and option == b"nomkstream":
            nomkstream = True
        elif xadd:
            given, seq_given = parse_id(argv[i], strict=True, star_seq=star_seq)
            break
        else:
            raise CommandError(SYNTAX)
        i += 1
    if limit and maxlen is None and minid is None:
        raise CommandError(Error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"))
    if not xadd and maxlen is None and minid is None:
        raise CommandError(Error("ERR syntax error, XTRIM must be called with a trimming strategy"))
    if limit is not None and not approx:
        raise CommandError(Error("ERR syntax error, LIMIT cannot be used without the special ~ option"))
    if limit is None and approx:  # ~ alone works 100 nodes at most (capped both sides, as Redis does)
        limit = (100 * node_max_entries + 2**63) % 2**64 - 2**63  # a C long long product
        limit = 10000 if limit <= 0 else min(limit, 1000000)
    return AddArgs(Trim(maxlen, minid, approx, 0 if limit is None else limit),  # exact trimming: never limited
                   nomkstream, given, seq_given, i)


@command("xadd", -5, "write denyoom fast", keys=(1, 1, 1))
def xadd(ctx: Context, argv: Sequence[bytes]) -> Reply:
    how, nomkstream, given, seq_given, at = parse_trim(argv, True, ctx.config_int(b"stream-node-max-entries"),
                                                       not ctx.profile.has("streams-6.2"))  # 6.2: no <ms>-* ids
    pairs = argv[at + 1:]
    if len(pairs) < 2 or len(pairs) % 2:
        return arity_error("xadd")
    if given == MIN_ID and seq_given:
        return Error("ERR The ID specified in XADD must be greater than 0-0")
    stream = get_stream(ctx, key := argv[1])
    created = stream is None
    if stream is None:
        if nomkstream:
            return None
        stream = Stream()
    last = stream.last_id
    if last == MAX_ID:
        return Error("ERR The stream has exhausted the last possible ID, unable to add more items")
    if given is None:
        sid = (ctx.now, 0) if ctx.now > last[0] else next_id(last)
    elif not seq_given and given[0] == last[0]:
        if last[1] == U64:  # Redis leaves errno unset on this path: the reply is the other error
            return Error("ERR Elements are too large to be stored")
        sid = (last[0], last[1] + 1)
    else:
        sid = given
    if sid is None or sid <= last:
        return Error("ERR The ID specified in XADD is equal or smaller than the target stream top item")
    if sum(map(len, pairs)) > LISTPACK_MAX_SIZE:
        if created:  # Redis added the empty stream before failing, and leaves it
            store(ctx, key, stream, signal=False)
        return Error("ERR Elements are too large to be stored")
    stream = append(stream, sid, tuple(pairs[0::2]), tuple(pairs[1::2]),
                    ctx.config_int(b"stream-node-max-entries"), ctx.config_int(b"stream-node-max-bytes"))
    stream, trimmed = trim(stream, how) if how.maxlen is not None or how.minid is not None else (stream, 0)
    store(ctx, key, stream)
    notify(ctx, STREAM, b"xadd", key)
    if trimmed:
        notify(ctx, STREAM, b"xtrim", key)
    return format_id(sid)


def _xrange(ctx: Context, argv: Sequence[bytes], rev: bool) -> Reply:
    start = parse_interval(argv[3 if rev else 2], 0, start=True)
    end = parse_interval(argv[2 if rev else 3], U64, start=False)
    count = -1
    j = 4
    while j < len(argv):
        if cstr(argv[j]).lower() == b"count" and j + 1 < len(argv):
            count = max(parse_int(argv[j + 1]), 0)
            j += 2
        else:
            return SYNTAX
    stream = get_stream(ctx, argv[1])
    if stream is None:
        return ()
    if count == 0:
        return NULL_ARRAY
    return tuple(map(entry_reply, islice(entries(stream, start, end, rev), count if count > 0 else None)))


@command("xrange", -4, "readonly", keys=(1, 1, 1))
def xrange(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _xrange(ctx, argv, rev=False)


@command("xrevrange", -4, "readonly", keys=(1, 1, 1))
def xrevrange(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return _xrange(ctx, argv, rev=True)


@command("xlen", 2, "readonly fast", keys=(1, 1, 1))
def xlen(ctx: Context, argv: Sequence[bytes]) -> Reply:
    stream = get_stream(ctx, argv[1])
    return 0 if stream is None else stream.length


@command("xdel", -3, "write fast", keys=(1, 1, 1))
def xdel(ctx: Context, argv: Sequence[bytes]) -> Reply:
    stream = get_stream(ctx, argv[1])
    if stream is None:
        return 0
    ids = [strict_id(arg) for arg in argv[2:]]  # all parsed before any is deleted
    deleted = 0
    first_gone = False
    for sid in ids:
        after = delete(stream, sid)
        if after is None:
            continue
        first_gone = first_gone or sid == stream.first_id
        stream = after.replace(max_deleted=max(sid, after.max_deleted))
        deleted += 1
    if deleted:
        if not stream.length:
            stream = stream.replace(first_id=MIN_ID)
        elif first_gone:
            stream = stream.replace(first_id=first_live(stream))
        store(ctx, argv[1], stream)
        notify(ctx, STREAM, b"xdel", argv[1])
    return deleted


@command("xtrim", -4, "write", keys=(1, 1, 1))
def xtrim(ctx: Context, argv: Sequence[bytes]) -> Reply:
    how = parse_trim(argv, xadd=False, node_max_entries=ctx.config_int(b"stream-node-max-entries")).trim
    stream = get_stream(ctx, argv[1])
    if stream is None:
        return 0
    stream, deleted = trim(stream, how)
    if deleted:
        store(ctx, argv[1], stream)
        notify(ctx, STREAM, b"xtrim", argv[1])
    return deleted


@command("xsetid", -3, "write denyoom fast", keys=(1, 1, 1))
def xsetid(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if ctx.profile.has("streams-6.2") and get_stream(ctx, argv[1]) is None:  # 6.2 looks the key up first
        return NO_SUCH_KEY
    sid = strict_id(argv[2])
    entries_added = -1
    max_deleted = MIN_ID
    i = 3
    while i < len(argv):
        option = cstr(argv[i]).lower()
        if option == b"entriesadded" and i + 1 < len(argv):
            entries_added = parse_int(argv[i + 1])
            if entries_added < 0:
                return Error("ERR entries_added must be positive")
        elif option == b"maxdeletedid" and i + 1 < len(argv):
            max_deleted = strict_id(argv[i + 1])
            if sid < max_deleted:
                return Error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
        else:
            return SYNTAX
        i += 2
    stream = get_stream(ctx, argv[1])
    if stream is None:
        return NO_SUCH_KEY
    if stream.length:
        if sid < last_live(stream):
            return Error("ERR The ID specified in XSETID is smaller than the target stream top item")
        if entries_added != -1 and stream.length > entries_added:
            return Error("ERR The entries_added specified in XSETID is smaller than the target stream length")
    stream = stream.replace(last_id=sid, entries_added=stream.entries_added if entries_added == -1 else entries_added,
                            max_deleted=stream.max_deleted if max_deleted == MIN_ID else max_deleted)
    store(ctx, argv[1], stream, signal=False)
    notify(ctx, STREAM, b"xsetid", argv[1])
    return OK


