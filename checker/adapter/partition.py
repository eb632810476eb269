"""How a Redis history splits into independent parts: :func:`redis_partition`, the Redis model's
``partition`` (:mod:`redlin.adapter.redis_model` says what ties operations into one part).

An operation's part follows from what it touches: the keys of the command table, the script-cache
entries some operation reads (:mod:`redlin.adapter.script_cache`), Pub/Sub state
(:mod:`redlin.adapter.pubsub_parts`), a set's members (:mod:`redlin.adapter.members`), and the
session window that ties a client's WATCH or MULTI to what closes it (:func:`session_windows`).

All of that but Pub/Sub state depends on an operation's call alone, and calls recur: the keys,
scripts and blocks of a history come back again and again (a million-operation ``redlin run``
history has 1.3 million calls, 0.5 million of them distinct).  So each is worked out once per
distinct call (:class:`_Calls`), not once per operation.

>>> from redlin.history.records import Operation
>>> ops = [Operation(0, "a", ((b"SET", b"x", b"1"),), None, 0, 1),
...        Operation(1, "b", ((b"GET", b"y"),), None, 0, 1),
...        Operation(2, "a", ((b"WATCH", b"y"),), None, 2, 3),
...        Operation(3, "a", ((b"MULTI",), (b"INCR", b"z"), (b"EXEC",)), None, 4, 5),
...        Operation(4, "c", ((b"SET", b"x", b"2"),), None, 4, 5)]
>>> [[op.id for op in part] for part in redis_partition(ops)]
[[0, 4], [1, 2, 3]]
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from operator import attrgetter
from typing import Final, TypeVar

from redlin.adapter.deliveries import is_receive_argv
from redlin.adapter.members import by_member, call_member
from redlin.adapter.pubsub_parts import pubsub_objects, touches_pubsub
from redlin.adapter.restarts import is_restart_argv
from redlin.adapter.script_cache import cache_reads, fills_cache, script_cache_keys
from redlin.history.records import Operation, Outcome
from redlin.model import keys_of
from redlin.search.model import partition_by_keys

_OK = Outcome.OK

__all__ = ["PUBSUB_STATE", "call_keys", "redis_partition", "session_windows"]

Call = tuple[tuple[bytes, ...], ...]
Keys = frozenset[Hashable] | None
"""What an operation touches (``None``: everything)."""
T = TypeVar("T")

# Commands after which key names alone no longer say which data an operation touches.
_WHOLE_HISTORY: Final = frozenset({b"select", b"move", b"swapdb", b"flushall", b"flushdb", b"dbsize",
                                   b"keys", b"scan", b"randomkey", b"script"})
_OPENS_WINDOW: Final = frozenset({b"watch", b"multi"})
_CLOSES_WINDOW: Final = frozenset({b"exec", b"discard", b"unwatch", b"reset", b"quit"})
_SUBSCRIBING: Final = frozenset({b"subscribe", b"unsubscribe", b"psubscribe", b"punsubscribe", b"ssubscribe",
                                 b"sunsubscribe"})
PUBSUB_STATE: Final = ("pubsub",)
"""The pseudo-key of all Pub/Sub state, where it is not split (not bytes: no key can equal it)."""

_SUBSCRIBES: Final = 1
"""A call's flag: its client is a subscriber (it subscribes, or reads a message)."""
_PUBSUB: Final = 2
"""A call's flag: it touches Pub/Sub state."""


class _Calls:
    """The distinct calls of ``ops``, and which of them each operation made.

    >>> from redlin.history.records import Operation
    >>> calls = _Calls([Operation(i, 0, ((b"GET", k),), None, i, i + 1) for i, k in enumerate([b"a", b"b", b"a"])])
    >>> calls.distinct, calls.each([len(call[0][1]) for call in calls.distinct])
    ([((b'GET', b'a'),), ((b'GET', b'b'),)], [1, 1, 1])
    """

    def __init__(self, ops: Sequence[Operation]) -> None:
        index: dict[Call, int] = {}
        self.which = [index.setdefault(op.call, len(index)) for op in ops]
        self.distinct: list[Call] = list(index)

    def each(self, per_call: Sequence[T]) -> list[T]:
        """``per_call`` (one value per distinct call), for each operation."""
        return list(map(per_call.__getitem__, self.which))

    def work_out(self, function: Callable[[Call], T]) -> list[T]:
        """``function`` of each operation's call, called once per distinct call."""
        return self.each([function(call) for call in self.distinct])


def _flags(call: Call) -> int:
    """What ``call`` does to Pub/Sub state: :data:`_SUBSCRIBES` and :data:`_PUBSUB`."""
    flags = 0
    for argv in call:
        if is_receive_argv(argv):
            flags |= _SUBSCRIBES | _PUBSUB
        elif argv:
            if argv[0].lower() in _SUBSCRIBING:
                flags |= _SUBSCRIBES
            if touches_pubsub(argv):
                flags |= _PUBSUB
    return flags


def call_keys(call: Call, read: frozenset[Hashable]) -> Keys:
    """The keys ``call`` touches (``None``: all), with the script-cache entries it reads or fills
    (:func:`~redlin.adapter.script_cache.script_cache_keys`); an entry it only fills counts only
    if some operation reads it (``read``, :func:`~redlin.adapter.script_cache.cache_reads`).

    >>> sorted(call_keys(((b"MULTI",), (b"INCR", b"a"), (b"GET", b"b"), (b"EXEC",)), frozenset()))
    [b'a', b'b']
    >>> call_keys(((b"FLUSHALL",),), frozenset()) is None
    True
    """
    keys: set[Hashable] = set()
    for argv in call:
        if is_receive_argv(argv):
            continue
        if not argv or is_restart_argv(argv):
            return None
        name = argv[0].lower()
        scripts = script_cache_keys(name, argv)
        if scripts is not None:
            keys.update(entry for entry in scripts if entry in read or not fills_cache(name, argv))
        elif name in _WHOLE_HISTORY:
            return None
        found = keys_of(argv)
        if found is None:
            return None
        keys.update(found)
    return frozenset(keys)


def _opens(call: Call) -> bool:
    return any(argv and argv[0].lower() in _OPENS_WINDOW for argv in call)


def session_windows(ops: Sequence[Operation], opens: Sequence[bool] | None = None) -> list[list[int]]:
    """Per client, the runs of operations that share session state (WATCH/MULTI ... EXEC/UNWATCH).

    Operations outside any window are not listed.  A window also closes at an INFO operation (the
    connection is gone).  ``opens``: whether each operation's call has a WATCH or MULTI, if known.

    >>> from redlin.history.records import Operation
    >>> ops = [Operation(0, "a", ((b"WATCH", b"k"),), None, 0, 1), Operation(1, "a", ((b"GET", b"k"),), None, 2, 3),
    ...        Operation(2, "a", ((b"MULTI",), (b"EXEC",)), None, 4, 5), Operation(3, "a", ((b"GET", b"k"),), None, 6, 7)]
    >>> session_windows(ops)
    [[0, 1, 2]]
    """
    if opens is None:
        opens = [_opens(op.call) for op in ops]
    opening = {op.id for op, found in zip(ops, opens) if found}
    open_windows: dict[Hashable, list[int]] = {}
    windows: list[list[int]] = []
    for op in sorted(ops, key=attrgetter("invoke", "id")):
        window = open_windows.get(op.client)
        if window is None and op.id not in opening:
            continue  # (most operations: nothing of a window here)
        for argv in op.call:
            name = argv[0].lower() if argv else b""
            if window is None and name in _OPENS_WINDOW:
                window = open_windows[op.client] = []
                windows.append(window)
            if window is not None and (not window or window[-1] != op.id):
                window.append(op.id)
            if window is not None and name in _CLOSES_WINDOW:
                # MULTI ... EXEC inside one operation, after a WATCH, closes the WATCH window too.
                del open_windows[op.client]
                window = None
        if window is not None and op.outcome is not _OK:
            del open_windows[op.client]
    return [w for w in windows if len(w) > 1]


def _links(ops: Sequence[Operation], opens: Sequence[bool]) -> Iterable[tuple[int, int]]:
    for window in session_windows(ops, opens):
        yield from zip(window, window[1:])


def redis_partition(ops: Sequence[Operation]) -> list[list[Operation]]:
    """The independent parts of ``ops`` (see the module docstring), each in the order of ``ops``,
    ordered by their first operation."""
    calls = _Calls(ops)
    flags = calls.work_out(_flags)
    subscribers = frozenset(op.client for op, flag in zip(ops, flags) if flag & _SUBSCRIBES)
    touching = [op for op, flag in zip(ops, flags) if flag & _PUBSUB or op.client in subscribers]
    # Pub/Sub state by channel and by subscriber session segment where the history allows it
    # (redlin.adapter.pubsub_parts), else one pseudo-key for it all.
    objects = pubsub_objects(touching, subscribers) if subscribers else None
    if objects is None:
        objects = dict.fromkeys((op.id for op in touching), frozenset({PUBSUB_STATE}))
    read = cache_reads(calls.distinct)
    keys = calls.work_out(lambda call: call_keys(call, read))
    if objects:
        unions: dict[tuple[frozenset[Hashable], frozenset[Hashable]], frozenset[Hashable]] = {}  # (kept once)
        for position, op in enumerate(ops):
            pubsub = objects.get(op.id)
            found = keys[position]
            if pubsub is not None and found is not None:
                union = unions.get((found, pubsub))
                if union is None:
                    union = unions[found, pubsub] = found | pubsub
                keys[position] = union
    opens = calls.work_out(_opens)
    # A set used member by member splits further.
    return partition_by_keys(ops, by_member(calls.work_out(call_member), keys), _links(ops, opens))
