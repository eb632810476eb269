"""The model's streams against redis-server 7.0.15: XADD XRANGE XREVRANGE XLEN XDEL XTRIM XSETID XREAD,
the consumer groups (XGROUP XREADGROUP XACK XPENDING XCLAIM XAUTOCLAIM) and XINFO.

Each probe list (setup lines included) is sent to the model and to a live server of our own after a
FLUSHALL, with the model's clock set to the machine's before each line; ids are explicit, so replies
are deterministic but for the clock-derived integers (XPENDING's idle times, XINFO's idle, seen and
delivery times), which must agree within :data:`CLOCK_SLACK` ms.  Seeded random histories exercise
node splitting (listpack byte sizes), approximate trimming and XINFO's radix-tree counters.  The unit
tests pin the corners the probes found, so that they run without a server too.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import pytest
from conftest import RedisServer, live_replies

from redlin.harness.wire import Connection
from redlin.model import NULL_ARRAY, Error, Redis, Status, keys_of, step
from redlin.model._resp3 import nulls
from redlin.model._stream_reads import resp3_maps
from redlin.model._streams import Stream, Trim, append, parse_id, rax_nodes, trim

OK = Status("OK")
CLOCK_SLACK = 100  # ms between the model's clock reading and the server's, on a loaded machine

PROBES: dict[str, list[tuple[str, ...]]] = {
    "xadd": [
        ('XADD', 's', '1-1', 'a', '1'), ('XADD', 's', '1-*', 'b', '2'), ('XADD', 's', '1-1', 'x', 'y'),
        ('XADD', 's', '0-0', 'x', 'y'), ('XADD', 's', '0-*', 'x', 'y'), ('XADD', 'z', '0-*', 'x', 'y'),
        ('XADD', 's', 'NOMKSTREAM', 'MAXLEN', '=', '2', 'LIMIT', '5', '5-5', 'a', 'b'),
        ('XADD', 's', 'MAXLEN', '~', '2', 'LIMIT', '5', '9-9', 'a', 'b'),
        ('XADD', 's', 'MINID', '3', 'MAXLEN', '1', '10-0', 'a', 'b'), ('XADD', 's', 'LIMIT', '5', 'bad', 'a', 'b'),
        ('XADD', 's', 'LIMIT', '5', '11-0', 'a', 'b'), ('XADD', 's', 'LIMIT', '-1', '11-0', 'a', 'b'),
        ('XADD', 'n', 'NOMKSTREAM', '1-1', 'a', 'b'), ('EXISTS', 'n'), ('XADD', 's', '12-1', 'a'),
        ('XADD', 's', 'MAXLEN', '-1', '12-0', 'a', 'b'), ('XADD', 's', 'MAXLEN', 'x', '12-0', 'a', 'b'),
        ('XADD', 's', 'MAXLEN', '1', 'MINID', '1', '12-0', 'a', 'b'), ('XADD', 's', 'MAXLEN', '1'),
        ('XADD', 's', 'NOMKSTREAM', 'MAXLEN', '1'), ('XADD', 's', '-', 'a', 'b'), ('XADD', 's', '+', 'a', 'b'),
        ('XADD', 's', '12-x', 'a', 'b'), ('XADD', 's', '1--05', 'a', 'b'), ('XADD', 's', ' 20-+3', 'a', 'b'),
        ('XADD', 's', '18446744073709551615-18446744073709551614', 'a', 'b'), ('XADD', 's', '*', 'a', 'b'),
        ('XADD', 's', '18446744073709551615-*', 'a', 'b'), ('XADD', 's', '*', 'a', 'b'),
        ('XADD', 'o', '1-18446744073709551615', 'a', 'b'), ('XADD', 'o', '1-*', 'c', 'd'),
        ('XADD', 'o', '18446744073709551616-0', 'c', 'd'), ('XLEN', 's'), ('XLEN', 'nope'), ('XRANGE', 's', '-', '+'),
        ('SET', 'str', 'v'), ('XADD', 'str', '1-1', 'a', 'b'), ('XADD', 'str', 'NOMKSTREAM', '1-1', 'a', 'b'),
        ('XLEN', 'str'), ('TYPE', 's'),
    ],
    "xrange": [
        ('XADD', 's', '1-1', 'a', '1'), ('XADD', 's', '1-2', 'b', '2'), ('XADD', 's', '2-0', 'c', '3', 'd', '4'),
        ('XADD', 's', '3-5', 'e', '5'), ('XRANGE', 's', '-', '+'), ('XRANGE', 's', '(1-1', '+', 'COUNT', '1'),
        ('XREVRANGE', 's', '+', '-', 'COUNT', '0'), ('XREVRANGE', 's', '+', '-', 'COUNT', '-5'),
        ('XRANGE', 'nope', '-', '+', 'COUNT', '0'), ('XRANGE', 's', '(-', '+'), ('XRANGE', 's', '-', '(+'),
        ('XRANGE', 's', '(18446744073709551615-18446744073709551615', '+'), ('XRANGE', 's', '-', '(0-0'),
        ('XRANGE', 's', '1', '1'), ('XRANGE', 's', '2', '3'), ('XREVRANGE', 's', '3', '(1-1'),
        ('XREVRANGE', 's', '(3-5', '-', 'COUNT', '2'), ('XRANGE', 's', '-', '+', 'COUNT'),
        ('XRANGE', 's', '-', '+', 'LIMIT', '1'), ('XRANGE', 's', '-', '+', 'COUNT', 'x'), ('XRANGE', 's', 'x', '+'),
        ('XRANGE', 's', '(', '+'), ('XRANGE', 's', '((1', '+'), ('XDEL', 's', '1-2', '1-2', '9-9'),
        ('XDEL', 's', 'x'), ('XDEL', 'nope', 'x'), ('XRANGE', 's', '-', '+'), ('XINFO', 'STREAM', 's'),
        ('XDEL', 's', '1-1', '2-0', '3-5'), ('XLEN', 's'), ('XINFO', 'STREAM', 's'), ('EXISTS', 's'),
    ],
    "xtrim": [
        ('XADD', 's', '1-1', 'a', '1'), ('XADD', 's', '2-1', 'b', '2'), ('XADD', 's', '3-1', 'c', '3'),
        ('XTRIM', 's', 'MAXLEN', '2'), ('XTRIM', 's', 'LIMIT', '1'), ('XTRIM', 's', 'MAXLEN', '~', '0', 'LIMIT', '0'),
        ('XTRIM', 's'), ('XTRIM', 's', 'MAXLEN', '1', 'LIMIT', '1'), ('XTRIM', 's', 'NOMKSTREAM', 'MAXLEN', '1'),
        ('XTRIM', 'nope', 'MAXLEN', '1'), ('XTRIM', 'nope', 'MAXLEN', 'x'), ('XADD', 's', '4-1', 'd', '4'),
        ('XTRIM', 's', 'MINID', '=', '4'), ('XINFO', 'STREAM', 's'), ('XTRIM', 's', 'MINID', '-'),
        ('XTRIM', 's', 'MINID', '~', '5', 'LIMIT', '10'), ('XRANGE', 's', '-', '+'), ('XINFO', 'STREAM', 's'),
    ],
    "xsetid": [
        ('XADD', 's', '1-1', 'a', '1'), ('XADD', 's', '2-1', 'b', '2'), ('XSETID', 's', '1-0'),
        ('XSETID', 's', '100-0', 'ENTRIESADDED', '1'), ('XSETID', 's', '100-0', 'ENTRIESADDED', '-1'),
        ('XSETID', 's', '100-0', 'ENTRIESADDED', '10', 'MAXDELETEDID', '5-5'), ('XINFO', 'STREAM', 's'),
        ('XSETID', 'nope', '1-1'), ('XSETID', 'nope', 'x'), ('SET', 'str', 'v'), ('XSETID', 'str', '1-1'),
        ('XSETID', 's', '1-1', 'MAXDELETEDID', '2-2'), ('XSETID', 's', '1-1', 'foo'), ('XSETID', 's', '+'),
        ('XSETID', 's', '200', 'ENTRIESADDED'), ('XADD', 's', '100-0', 'a', 'b'), ('XDEL', 's', '1-1', '2-1'),
        ('XSETID', 's', '0-1'), ('XINFO', 'STREAM', 's'), ('XADD', 's', '0-2', 'a', 'b'),
    ],
    "xread": [
        ('XADD', 's', '1-1', 'a', '1'), ('XADD', 's', '2-1', 'b', '2'), ('XADD', 't', '5-0', 'c', '3'),
        ('XREAD', 'STREAMS', 's', '0'), ('XREAD', 'COUNT', '1', 'STREAMS', 's', 'nope', 't', '0', '0', '0'),
        ('XREAD', 'STREAMS', 's', '$'), ('XREAD', 'STREAMS', 's', '>'), ('XREAD', 'STREAMS', 's'),
        ('XREAD', 'GROUP', 'g', 'c', 'STREAMS', 's', '0'), ('XREAD', 'NOACK', 'STREAMS', 's', '0'),
        ('XREAD', 'BLOCK', '-1', 'STREAMS', 's', '0'), ('XREAD', 'BLOCK', 'x', 'STREAMS', 's', '0'),
        ('XREAD', 'BLOCK', '0', 'STREAMS', 's', '0'), ('XREAD', 'COUNT', '-1', 'STREAMS', 's', 't', '1', '(4'),
        ('SET', 'str', 'v'), ('XREAD', 'STREAMS', 'str', '0'), ('XREAD', 'FOO'), ('XREAD', 'STREAMS', 's', '+'),
        ('XREAD', 'STREAMS', 's', '-'), ('XREAD', 'STREAMS', 's', 's', '1-1', '0'), ('XREAD', 'COUNT', 'x', 'STREAMS'),
        ('XDEL', 's', '2-1'), ('XREAD', 'STREAMS', 's', '1-1'), ('MULTI',), ('XREAD', 'BLOCK', '0', 'STREAMS', 's', '$'),
        ('EXEC',),
    ],
    "groups": [
        ('XGROUP', 'CREATE', 's', 'g', '$'), ('XGROUP', 'CREATE', 's', 'g', '$', 'MKSTREAM'),
        ('XGROUP', 'CREATE', 's', 'g', '$', 'MKSTREAM'), ('XADD', 's', '1-1', 'a', '1'), ('XADD', 's', '2-1', 'b', '2'),
        ('XADD', 's', '3-1', 'c', '3'), ('XGROUP', 'CREATE', 's', 'g2', '0', 'ENTRIESREAD', '-2'),
        ('XGROUP', 'CREATE', 's', 'g2', '0', 'ENTRIESREAD', 'x'), ('XGROUP', 'CREATE', 's', 'g2', '0', 'FOO'),
        ('XGROUP', 'CREATE', 's', 'g2', '0', 'MKSTREAM', 'MKSTREAM', 'MKSTREAM', 'MKSTREAM'),
        ('XGROUP', 'create', 's', 'g2', '0', 'ENTRIESREAD', '1'), ('XGROUP', 'CREATE', 's', 'g3', '-'),
        ('XGROUP', 'CREATE', 'nope', 'g', '$'), ('SET', 'str', 'v'), ('XGROUP', 'CREATE', 'str', 'g', '$', 'MKSTREAM'),
        ('XINFO', 'GROUPS', 's'), ('XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', 's', '>'),
        ('XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', 's', '>'), ('XINFO', 'CONSUMERS', 's', 'g'),
        ('XREADGROUP', 'GROUP', 'g2', 'bob', 'COUNT', '1', 'STREAMS', 's', '>'), ('XINFO', 'GROUPS', 's'),
        ('XPENDING', 's', 'g'), ('XPENDING', 's', 'g2'), ('XPENDING', 's', 'g3'), ('XPENDING', 's', 'g', '-', '+', '10'),
        ('XPENDING', 's', 'g', 'IDLE', '0', '-', '+', '10', 'alice'), ('XPENDING', 's', 'g', '-', '+', '10', 'nobody'),
        ('XPENDING', 's', 'nog'), ('XPENDING', 's', 'g', '-', '+'), ('XPENDING', 's', 'g', 'IDLE', 'x', '-', '+', '1'),
        ('XPENDING', 's', 'g', 'IDLE', '1', '-', '+'), ('XPENDING', 's', 'g', 'IDLE', '100000', '-', '+', '5'),
        ('XPENDING', 's', 'g', '(1-1', '(3-1', '5'), ('XPENDING', 's', 'g', '-', '+', '-1'),
        ('XPENDING', 's', 'g', '-', '+', '1', 'alice', 'extra'), ('XPENDING', 'str', 'g'),
        ('XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', 's', '0'), ('XREADGROUP', 'GROUP', 'g', 'bob', 'STREAMS', 's', '0'),
        ('XDEL', 's', '2-1'), ('XREADGROUP', 'GROUP', 'g', 'alice', 'COUNT', '2', 'STREAMS', 's', '0'),
        ('XINFO', 'GROUPS', 's'), ('XACK', 's', 'g', '1-1', '9-9'), ('XACK', 's', 'g', 'bad'),
        ('XACK', 's', 'nog', 'bad'), ('XACK', 'nokey', 'g', '1-1'), ('XACK', 'str', 'g', '1-1'),
        ('XREADGROUP', 'GROUP', 'g', 'a', 'STREAMS', 's', '$'), ('XREADGROUP', 'GROUP', 'nog', 'a', 'STREAMS', 's', '>'),
        ('XREADGROUP', 'STREAMS', 's', '>'), ('XREADGROUP', 'GROUP', 'g', 'a', 'STREAMS', 'nope', '>'),
        ('XREADGROUP', 'GROUP', 'g', 'a', 'STREAMS', 'str', '>'), ('XREADGROUP', 'GROUP', 'g', 'a', 'NOACK', 'STREAMS', 's', '>'),
        ('XGROUP', 'SETID', 's', 'g', '0'), ('XREADGROUP', 'GROUP', 'g', 'a', 'NOACK', 'COUNT', '1', 'STREAMS', 's', '>'),
        ('XINFO', 'GROUPS', 's'), ('XPENDING', 's', 'g'), ('XGROUP', 'CREATE', 's', 'g9', '0-0', 'ENTRIESREAD', '0'),
        ('XINFO', 'GROUPS', 's'), ('XREADGROUP', 'GROUP', 'g9', 'z', 'STREAMS', 's', 's', '>', '>'),
        ('XINFO', 'STREAM', 's', 'FULL'),
    ],
    "claims": [
        ('XADD', 's', '1-1', 'a', '1'), ('XADD', 's', '2-1', 'b', '2'), ('XADD', 's', '3-1', 'c', '3'),
        ('XADD', 's', '4-1', 'd', '4'), ('XGROUP', 'CREATE', 's', 'g', '0'),
        ('XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', 's', '>'), ('XDEL', 's', '2-1'),
        ('XCLAIM', 's', 'g', 'carol', '0', '1-1', '2-1', '3-1'), ('XCLAIM', 's', 'g', 'carol', '0', '3-1', 'JUSTID'),
        ('XCLAIM', 's', 'g', 'carol', '0', '3-1', 'FORCE', 'RETRYCOUNT', '7'),
        ('XCLAIM', 's', 'g', 'carol', '0', '1-1', 'FORCE', 'JUSTID'), ('XPENDING', 's', 'g', '-', '+', '10'),
        ('XACK', 's', 'g', '1-1'), ('XCLAIM', 's', 'g', 'dan', '0', '1-1', 'FORCE'), ('XPENDING', 's', 'g', '-', '+', '10'),
        ('XCLAIM', 's', 'g', 'carol', '0', '1-1', 'BAD'), ('XCLAIM', 's', 'g', 'carol', 'x', '1-1'),
        ('XCLAIM', 's', 'g', 'carol', '0', '1-1', 'IDLE', 'x'), ('XCLAIM', 's', 'g', 'carol', '0', '1-1', 'TIME', 'x'),
        ('XCLAIM', 's', 'g', 'carol', '0', '1-1', 'RETRYCOUNT', 'x'), ('XCLAIM', 's', 'g', 'carol', '0', '1-1', 'IDLE'),
        ('XCLAIM', 's', 'g', 'carol', '0', '1-1', 'LASTID', 'x'), ('XCLAIM', 's', 'g', 'carol', '0', '1-1', 'x', '3-1'),
        ('XCLAIM', 's', 'g', 'carol', '0', '1-1', 'LASTID', '99-0'), ('XINFO', 'GROUPS', 's'),
        ('XCLAIM', 's', 'nog', 'c', 'x', '1-1'), ('XCLAIM', 'nope', 'g', 'c', '0', '1-1'),
        ('XCLAIM', 's', 'g', 'eve', '3600000', '3-1', '4-1'), ('XCLAIM', 's', 'g', 'eve', '0', '4-1', 'IDLE', '-5'),
        ('XCLAIM', 's', 'g', 'eve', '0', '4-1', 'TIME', '1', 'RETRYCOUNT', '0', 'JUSTID'),
        ('XCLAIM', 's', 'g', 'eve', '0', '3-1', 'IDLE', '9223372036854775807'), ('XPENDING', 's', 'g', '-', '+', '10'),
        ('XINFO', 'CONSUMERS', 's', 'g'), ('XAUTOCLAIM', 's', 'g', 'dave', '0', '0'),
        ('XAUTOCLAIM', 's', 'g', 'dave', '0', '0', 'COUNT', '1'), ('XAUTOCLAIM', 's', 'g', 'dave', '0', '0', 'COUNT', '0'),
        ('XAUTOCLAIM', 's', 'g', 'dave', '0', '0', 'JUSTID'), ('XAUTOCLAIM', 's', 'g', 'dave', '0', '(3-1'),
        ('XAUTOCLAIM', 's', 'nog', 'dave', '0', '0'), ('XAUTOCLAIM', 's', 'g', 'dave', '0', '0', 'FOO'),
        ('XAUTOCLAIM', 's', 'nog', 'dave', 'x', '0'), ('XAUTOCLAIM', 's', 'g', 'dave', '0', 'x'),
        ('XAUTOCLAIM', 's', 'g', 'dave', '0', '(18446744073709551615-18446744073709551615'),
        ('XAUTOCLAIM', 's', 'g', 'dave', '0', '0', 'COUNT', '576460752303423488'),
        ('XAUTOCLAIM', 's', 'g', 'dave', '3600000', '0', 'COUNT', '1'), ('XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', 's', '>'),
        ('XADD', 's', '5-1', 'e', '5'), ('XADD', 's', '6-1', 'f', '6'), ('XREADGROUP', 'GROUP', 'g', 'bob', 'STREAMS', 's', '>'),
        ('XDEL', 's', '5-1', '6-1'), ('XAUTOCLAIM', 's', 'g', 'dave', '0', '0', 'COUNT', '1'),
        ('XAUTOCLAIM', 's', 'g', 'dave', '0', '0', 'COUNT', '1', 'JUSTID'), ('XINFO', 'STREAM', 's', 'FULL', 'COUNT', '1'),
    ],
    "xgroup": [
        ('XADD', 's', '1-1', 'a', '1'), ('XGROUP', 'CREATE', 's', 'g', '0'),
        ('XREADGROUP', 'GROUP', 'g', 'dave', 'STREAMS', 's', '>'), ('XGROUP', 'SETID', 's', 'g', '$'),
        ('XGROUP', 'SETID', 's', 'g', '+', 'ENTRIESREAD', '5'), ('XGROUP', 'SETID', 's', 'nog', '0'),
        ('XGROUP', 'SETID', 's', 'g', '0', 'ENTRIESREAD'), ('XGROUP', 'SETID', 's', 'g', '0', 'MKSTREAM'),
        ('XGROUP', 'SETID', 's', 'g', 'x'), ('XINFO', 'GROUPS', 's'), ('XGROUP', 'CREATECONSUMER', 's', 'g', 'erin'),
        ('XGROUP', 'CREATECONSUMER', 's', 'g', 'erin'), ('XGROUP', 'CREATECONSUMER', 's', 'nog', 'erin'),
        ('XGROUP', 'DELCONSUMER', 's', 'g', 'dave'), ('XGROUP', 'DELCONSUMER', 's', 'g', 'zed'),
        ('XPENDING', 's', 'g'), ('XGROUP', 'DESTROY', 's', 'g'), ('XGROUP', 'DESTROY', 's', 'g'),
        ('XGROUP', 'DESTROY', 'nokey', 'g'), ('XINFO', 'GROUPS', 's'), ('XGROUP', 'HELP'), ('XGROUP', 'HELP', 'x'),
        ('XGROUP', 'FOO', 's', 'g'), ('XGROUP', 'CREATE', 's', 'g', '0', 'ENTRIESREAD', '1', 'MKSTREAM', 'x'),
        ('XGROUP', 'CREATE', 's', 'g', '0', 'MKSTREAM', 'ENTRIESREAD', '3', 'MKSTREAM'), ('XGROUP', 'DESTROY', 's'),
        ('XINFO', 'GROUPS', 's'), ('XGROUP', 'CREATE', 'k2', 'g', '$', 'MKSTREAM'), ('XINFO', 'STREAM', 'k2'),
        ('WATCH', 's'), ('XGROUP', 'CREATE', 's', 'g5', '$'), ('XGROUP', 'SETID', 's', 'g5', '0'), ('XSETID', 's', '7-7'),
        ('XREADGROUP', 'GROUP', 'g5', 'w', 'STREAMS', 's', '>'), ('MULTI',), ('PING',), ('EXEC',),
        ('WATCH', 's'), ('XADD', 's', '8-0', 'a', 'b'), ('MULTI',), ('PING',), ('EXEC',),
        ('XINFO', 'HELP'), ('XINFO', 'HELP', 'x'), ('XINFO', 'STREAM', 'nokey'), ('XINFO', 'STREAM', 'str'),
        ('SET', 'str', 'v'), ('XINFO', 'GROUPS', 'str'), ('XINFO', 'CONSUMERS', 's', 'nog'),
        ('XINFO', 'STREAM', 's', 'FULL', 'x'), ('XINFO', 'STREAM', 's', 'FULL', 'COUNT', 'x'),
        ('XINFO', 'STREAM', 's', 'FUL'), ('XINFO', 'STREAM', 's', 'FULL', 'COUNT', '-1'), ('XINFO', 'FOO', 's'),
        ('XINFO', 'STREAM', 's', 'FULL', 'COUNT', '0'),
    ],
    "lag": [  # stream-cgroups.tcl's "read counter and lag" tests
        ('XGROUP', 'CREATE', 'x', 'g1', '0', 'MKSTREAM'), ('XINFO', 'STREAM', 'x', 'FULL'), ('XADD', 'x', '1-0', 'data', 'a'),
        ('XDEL', 'x', '1-0'), ('XINFO', 'STREAM', 'x', 'FULL'), ('DEL', 'x'),
        *(('XADD', 'x', f'{ms}-0', 'data', v) for ms, v in zip(range(1, 6), 'abcde')), ('XGROUP', 'CREATE', 'x', 'g1', '0'),
        ('XINFO', 'GROUPS', 'x'), ('XREADGROUP', 'GROUP', 'g1', 'c11', 'COUNT', '1', 'STREAMS', 'x', '>'),
        ('XINFO', 'GROUPS', 'x'), ('XREADGROUP', 'GROUP', 'g1', 'c12', 'COUNT', '10', 'STREAMS', 'x', '>'),
        ('XINFO', 'GROUPS', 'x'), ('XADD', 'x', '6-0', 'data', 'f'), ('XINFO', 'GROUPS', 'x'), ('DEL', 'x'),
        *(('XADD', 'x', f'{ms}-0', 'data', v) for ms, v in zip(range(1, 6), 'abcde')), ('XDEL', 'x', '3-0'),
        ('XGROUP', 'CREATE', 'x', 'g1', '0'), ('XGROUP', 'CREATE', 'x', 'g2', '0'), ('XINFO', 'GROUPS', 'x'),
        *(('XREADGROUP', 'GROUP', 'g1', 'c11', 'COUNT', '1', 'STREAMS', 'x', '>'), ('XINFO', 'GROUPS', 'x')) * 4,
        ('XADD', 'x', '6-0', 'data', 'f'), ('XINFO', 'GROUPS', 'x'), ('XTRIM', 'x', 'MINID', '=', '3-0'),
        ('XINFO', 'GROUPS', 'x'), ('XTRIM', 'x', 'MINID', '=', '5-0'), ('XINFO', 'GROUPS', 'x'),
        ('XGROUP', 'SETID', 's', 'g1', '0'), ('XGROUP', 'SETID', 'x', 'g1', '0', 'ENTRIESREAD', '2'), ('XINFO', 'GROUPS', 'x'),
        ('XGROUP', 'SETID', 'x', 'g1', '$'), ('XINFO', 'GROUPS', 'x'), ('XGROUP', 'SETID', 'x', 'g1', '99'),
        ('XINFO', 'GROUPS', 'x'),
    ],
}
"""Per family, the lines sent to both the model and the server (every reply was checked on 7.0.15)."""


class Clock:
    """A clock-derived integer of a reply: equal to another within :data:`CLOCK_SLACK` ms."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return (type(other) is Clock and isinstance(self.value, int) and isinstance(other.value, int)
                and abs(self.value - other.value) <= CLOCK_SLACK)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Clock({self.value!r})"


def _at(items: object, index: int, wrap: Callable[[object], object]) -> object:
    if type(items) is not tuple or len(items) <= index:
        return items
    return items[:index] + (wrap(items[index]),) + items[index + 1:]


def clocked(argv: Sequence[str], reply: object) -> object:
    """The reply with its clock-derived integers wrapped in :class:`Clock`."""
    name = " ".join(word.lower() for word in argv[:2])
    if type(reply) is not tuple:
        return reply
    if argv[0].lower() == "xpending" and len(argv) >= 6:
        return tuple(_at(entry, 2, Clock) for entry in reply)
    if name == "xinfo consumers":
        return tuple(_at(consumer, 5, Clock) for consumer in reply)
    if name == "xinfo stream" and len(argv) > 3 and reply[-2:-1] == (b"groups",):
        return reply[:-1] + (tuple(_group_times(group) for group in reply[-1]),)  # type: ignore[union-attr]
    return reply


def _group_times(group: object) -> object:
    group = _at(group, 11, lambda pending: tuple(_at(nack, 2, Clock) for nack in pending))  # type: ignore[union-attr]
    return _at(group, 13, lambda consumers: tuple(
        _at(_at(consumer, 3, Clock), 7, lambda pending: tuple(_at(nack, 1, Clock) for nack in pending))  # type: ignore[union-attr]
        for consumer in consumers))  # type: ignore[union-attr]


@contextmanager
def live_and_model(redis_server: RedisServer) -> Iterator[Callable[[Sequence[str]], tuple[object, object]]]:
    """A function sending one line to a FLUSHALLed live server and to a fresh model, returning
    both replies (clock fields wrapped); the model's clock is the machine's before each line."""
    server = Redis()
    model = server.client()
    with live_replies(redis_server, timeout=10) as live:

        def both(argv: Sequence[str]) -> tuple[object, object]:
            server.now = int(time.time() * 1000)
            expected = live(argv)
            return clocked(argv, expected), clocked(argv, model.execute(*argv))

        live(("FLUSHALL",))
        yield both
        live(("FLUSHALL",))


@pytest.mark.redis
@pytest.mark.parametrize("name", sorted(PROBES))
def test_probes_match_a_live_server(redis_server: object, name: str) -> None:
    with live_and_model(redis_server) as both:
        for argv in PROBES[name]:
            expected, got = both(argv)
            assert got == expected, argv


def random_history(seed: int, length: int = 500) -> list[tuple[str, ...]]:
    """Explicit-id XADDs of entries of many sizes and shapes (listpack integers and strings, same and
    different fields), interleaved with deletions, exact and approximate trims and group reads."""
    rng = random.Random(seed)
    values = ("1", "12345", "-7", "x" * 10, "y" * 70, "z" * 300, "0", "01", "", "a" * 3000, "9223372036854775808")
    shapes = (("f",), ("f", "g"), ("1",), ("x" * 65,))
    lines: list[tuple[str, ...]] = [("XGROUP", "CREATE", "s", "g", "0", "MKSTREAM"), ("XGROUP", "CREATE", "s", "h", "$")]
    ms, seq, ids = 1, 0, ["0"]
    for _ in range(length):
        if rng.random() < 0.3:
            ms, seq = ms + rng.choice((1, 2, 1000, 2**33)), rng.choice((0, 5, 300))
        else:
            seq += rng.choice((1, 1, 200))
        trim_words: tuple[str, ...] = ()
        if rng.random() < 0.03:
            trim_words = ("MAXLEN", "~", str(rng.choice((0, 10, 100, 300))), "LIMIT", str(rng.choice((0, 50, 150))))
        ids.append(f"{ms}-{seq}")
        lines.append(("XADD", "s", *trim_words, ids[-1], *(w for f in rng.choice(shapes) for w in (f, rng.choice(values)))))
        lines.append(rng.choice((
            ("XDEL", "s", rng.choice(ids)), ("XDEL", "s", rng.choice(ids)), ("XTRIM", "s", "MINID", rng.choice(ids)),
            ("XTRIM", "s", "MINID", "~", rng.choice(ids), "LIMIT", str(rng.choice((0, 50, 150)))),
            ("XTRIM", "s", "MAXLEN", "=", str(rng.choice((0, 20, 200)))), ("XINFO", "STREAM", "s"), ("XINFO", "GROUPS", "s"),
            ("XREADGROUP", "GROUP", rng.choice("gh"), rng.choice("ab"), "COUNT", str(rng.choice((0, 1, 5))), "STREAMS", "s", ">"),
            ("XACK", "s", "g", rng.choice(ids)), ("XCLAIM", "s", "g", "c", "0", rng.choice(ids), rng.choice(ids), "JUSTID"),
            ("XAUTOCLAIM", "s", "h", "d", "0", "0", "COUNT", "3", "JUSTID"), ("XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", "0"),
            ("XGROUP", "SETID", "s", rng.choice("gh"), rng.choice((*ids[-3:], "$", "0"))), ("XLEN", "s"),
        ) + ((),) * 6))
    lines.append(("XINFO", "STREAM", "s", "FULL", "COUNT", "0"))
    return [line for line in lines if line]


@pytest.mark.redis
@pytest.mark.parametrize("seed", [1, 2])
def test_random_histories_match_a_live_server(redis_server: object, seed: int) -> None:
    with live_and_model(redis_server) as both:
        for argv in random_history(seed):
            expected, got = both(argv)
            assert got == expected, argv


@pytest.mark.redis
def test_automatic_ids_come_from_the_clock(redis_server: object) -> None:
    """``*`` takes the server's time; a last id in the future makes it the next sequence (the model's
    clock is the machine's, so the ids agree but for the milliseconds between the two readings)."""
    with live_and_model(redis_server) as both:
        expected, got = both(("XADD", "s", "*", "a", "b"))
        assert isinstance(expected, bytes) and isinstance(got, bytes)
        (live_ms, live_seq), (model_ms, model_seq) = (map(int, reply.split(b"-")) for reply in (expected, got))
        assert abs(live_ms - model_ms) <= CLOCK_SLACK and live_seq == model_seq == 0
        for argv in (("XADD", "s", "99999999999999-5", "a", "b"), ("XADD", "s", "*", "a", "b"),
                     ("XADD", "s", "MAXLEN", "1", "*", "a", "b"), ("XRANGE", "s", "-", "+")):
            expected, got = both(argv)
            assert got == expected, argv


RESP3_LINES = [
    ('XADD', 's', '1-1', 'f', 'v'), ('XADD', 's', '2-1', 'g', 'w'), ('XGROUP', 'CREATE', 's', 'g', '0'),
    ('XREAD', 'STREAMS', 's', 's', '0', '1-1'), ('XREADGROUP', 'GROUP', 'g', 'a', 'STREAMS', 's', '>'),
    ('XDEL', 's', '1-1'), ('XREADGROUP', 'GROUP', 'g', 'a', 'STREAMS', 's', '0'), ('XREAD', 'STREAMS', 's', '5'),
    ('XINFO', 'STREAM', 's'), ('XINFO', 'GROUPS', 's'), ('XGROUP', 'SETID', 's', 'g', '0'), ('XINFO', 'GROUPS', 's'),
    ('XINFO', 'STREAM', 's', 'FULL'), ('XINFO', 'CONSUMERS', 's', 'g'), ('XADD', 'e', 'MAXLEN', '0', '1-1', 'f', 'v'),
    ('XINFO', 'STREAM', 'e'), ('XINFO', 'HELP'), ('XINFO', 'STREAM', 'nope'),
]


@pytest.mark.redis
def test_resp3_shapes_of_stream_replies(redis_server: object) -> None:
    """What :func:`resp3_maps` (then ``nulls``) makes of the model's replies is what a RESP3
    connection receives."""
    server = Redis()
    model = server.client()
    model.execute("HELLO", "3")
    with Connection(redis_server.host, redis_server.port) as conn:  # type: ignore[attr-defined]
        conn.execute(b"FLUSHALL")
        conn.execute(b"HELLO", b"3")
        for line in RESP3_LINES:
            argv = [word.encode() for word in line]
            server.now = int(time.time() * 1000)
            expected = conn.execute(*argv)
            got = nulls(resp3_maps(argv, model.execute(*line)))
            if line[:2] in (("XINFO", "CONSUMERS"), ("XINFO", "STREAM")) and len(line) > 3:
                assert repr(got).count("MapReply") == repr(expected).count("MapReply"), line  # clock fields aside
            else:
                assert got == expected, line
        conn.execute(b"FLUSHALL")


# --------------------------------------------------------------------- corners, without a server


def test_ids_parse_as_redis_does() -> None:
    assert parse_id(b"5") == ((5, 0), True)
    assert parse_id(b"5", 2**64 - 1) == ((5, 2**64 - 1), True)
    assert parse_id(b"5-*", star_seq=True) == ((5, 0), False)
    assert parse_id(b"1--05") == ((1, 2**64 - 5), True)  # strtoull negates
    assert parse_id(b" 20-+3") == ((20, 3), True)
    assert parse_id(b"7-1\x00junk") == ((7, 1), True)  # C strings stop at a NUL
    for bad in (b"", b"x", b"1-x", b"-1", b"18446744073709551616", b"1" * 128, b"5-*"):
        with pytest.raises(Exception, match="Invalid stream ID"):
            parse_id(bad)


def test_nodes_split_at_100_entries_or_4096_bytes() -> None:
    stream = Stream()
    for seq in range(1, 251):
        stream = append(stream, (1, seq), (b"f",), (b"v",))
    assert [node.live for node in stream.nodes] == [100, 100, 50]
    assert (len(stream.nodes), rax_nodes(stream)) == (3, 5)  # the root, the 15-byte prefix, three leaves
    big = Stream()
    for seq in range(1, 5):
        big = append(big, (1, seq), (b"f",), (b"x" * 1500,))
    assert [node.live for node in big.nodes] == [2, 2]  # 2 x ~1500 bytes + the next one reach 4096


def test_approximate_trimming_drops_whole_nodes_only() -> None:
    stream = Stream()
    for seq in range(1, 251):
        stream = append(stream, (1, seq), (b"f",), (b"v",))
    trimmed, deleted = trim(stream, Trim(maxlen=120, approx=True, limit=10000))
    assert (deleted, trimmed.length, trimmed.first_id) == (100, 150, (1, 101))
    exact, deleted = trim(stream, Trim(maxlen=120))
    assert (deleted, exact.length, len(exact.nodes)) == (130, 120, 2)  # a node dropped, 30 tombstones
    assert trim(stream, Trim(maxlen=0, approx=True, limit=150)) == (trim(stream, Trim(maxlen=100, approx=True))[0], 100)


def test_an_emptied_stream_stays_a_key_and_reports_its_history() -> None:
    c = Redis().client()
    assert c.execute("XADD", "s", "MAXLEN", "0", "5-5", "f", "v") == b"5-5"
    assert (c.execute("EXISTS", "s"), c.execute("XLEN", "s"), c.execute("TYPE", "s")) == (1, 0, Status("stream"))
    info = c.execute("XINFO", "STREAM", "s")
    assert info == (b"length", 0, b"radix-tree-keys", 0, b"radix-tree-nodes", 1, b"last-generated-id", b"5-5",
                    b"max-deleted-entry-id", b"0-0", b"entries-added", 1, b"recorded-first-entry-id", b"0-0",
                    b"groups", 0, b"first-entry", None, b"last-entry", None)
    assert c.execute("XADD", "s", "5-5", "f", "v") == Error(
        "ERR The ID specified in XADD is equal or smaller than the target stream top item")


def test_xadd_id_errors() -> None:
    c = Redis().client()
    c.execute("XADD", "s", "1-18446744073709551615", "a", "b")
    assert c.execute("XADD", "s", "1-*", "a", "b") == Error("ERR Elements are too large to be stored")
    assert c.execute("XADD", "s", "0-0", "a", "b") == Error("ERR The ID specified in XADD must be greater than 0-0")
    c.execute("XADD", "m", "18446744073709551615-18446744073709551615", "a", "b")
    assert c.execute("XADD", "m", "*", "a", "b") == Error(
        "ERR The stream has exhausted the last possible ID, unable to add more items")
    assert c.execute("XADD", "s", "2-0", "a") == Error("ERR wrong number of arguments for 'xadd' command")


def test_automatic_ids_use_the_step_clock() -> None:
    server = Redis(now=1000)
    c = server.client()
    assert c.execute("XADD", "s", "*", "a", "b") == b"1000-0"
    assert c.execute("XADD", "s", "*", "a", "b") == b"1000-1"  # same millisecond: next sequence
    server.advance(5)
    assert c.execute("XADD", "s", "*", "a", "b") == b"1005-0"
    c.execute("XADD", "s", "9000-7", "a", "b")
    assert c.execute("XADD", "s", "*", "a", "b") == b"9000-8"  # the clock behind the last id


def test_lag_and_entries_read_follow_tombstones() -> None:
    c = Redis().client()
    for ms in (1, 2, 3, 4):
        c.execute("XADD", "s", f"{ms}-0", "f", "v")
    c.execute("XGROUP", "CREATE", "s", "g", "0")
    c.execute("XREADGROUP", "GROUP", "g", "a", "COUNT", "1", "STREAMS", "s", ">")
    assert c.execute("XINFO", "GROUPS", "s")[0][-4:] == (b"entries-read", 1, b"lag", 3)
    c.execute("XDEL", "s", "3-0")  # a tombstone ahead of the group: the lag is unknown
    assert c.execute("XINFO", "GROUPS", "s")[0][-4:] == (b"entries-read", 1, b"lag", None)
    c.execute("XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", ">")
    assert c.execute("XINFO", "GROUPS", "s")[0][-4:] == (b"entries-read", 4, b"lag", 0)
    c.execute("XGROUP", "SETID", "s", "g", "0")  # no ENTRIESREAD: unknown, and a tombstone follows
    assert c.execute("XINFO", "GROUPS", "s")[0][-4:] == (b"entries-read", None, b"lag", None)


def test_pending_lists_and_claims() -> None:
    server = Redis(now=10_000)
    c = server.client()
    for ms in (1, 2, 3):
        c.execute("XADD", "s", f"{ms}-0", "f", "v")
    c.execute("XGROUP", "CREATE", "s", "g", "0")
    c.execute("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")
    server.advance(500)
    assert c.execute("XPENDING", "s", "g", "IDLE", "400", "-", "+", "10") == (
        (b"1-0", b"alice", 500, 1), (b"2-0", b"alice", 500, 1), (b"3-0", b"alice", 500, 1))
    c.execute("XDEL", "s", "2-0")
    assert c.execute("XAUTOCLAIM", "s", "g", "bob", "100", "0", "COUNT", "2") == (
        b"3-0", ((b"1-0", (b"f", b"v")),), (b"2-0",))  # a deleted entry leaves the PEL, and counts
    assert c.execute("XCLAIM", "s", "g", "bob", "0", "3-0", "JUSTID") == (b"3-0",)
    assert c.execute("XPENDING", "s", "g", "-", "+", "10") == ((b"1-0", b"bob", 0, 2), (b"3-0", b"bob", 0, 1))
    c.execute("XACK", "s", "g", "1-0")
    assert c.execute("XCLAIM", "s", "g", "carol", "0", "1-0", "FORCE") == ((b"1-0", (b"f", b"v")),)
    assert c.execute("XPENDING", "s", "g", "-", "+", "10", "carol") == ((b"1-0", b"carol", 0, 2),)  # FORCE: 1+1
    assert c.execute("XPENDING", "s", "g") == (2, b"1-0", b"3-0", ((b"bob", b"1"), (b"carol", b"1")))
    assert c.execute("XINFO", "CONSUMERS", "s", "g") == (
        (b"name", b"alice", b"pending", 0, b"idle", 500), (b"name", b"bob", b"pending", 1, b"idle", 0),
        (b"name", b"carol", b"pending", 1, b"idle", 0))
    assert c.execute("XGROUP", "DELCONSUMER", "s", "g", "bob") == 1
    assert c.execute("XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", "0") == ((b"s", ((b"1-0", (b"f", b"v")),)),)


def test_xautoclaim_counts_beyond_memory_fail_as_in_redis() -> None:
    c = Redis().client()
    c.execute("XGROUP", "CREATE", "s", "g", "0", "MKSTREAM")
    assert c.execute("XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT", 2**45 // 16) == (b"0-0", (), ())
    assert c.execute("XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT", 2**46 // 16) == Error(
        "ERR Insufficient memory, failed allocating transient memory, COUNT too high.")
    assert c.execute("XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT", 2**63 // 16) == Error("ERR COUNT must be > 0")


def test_group_changes_do_not_signal_watchers() -> None:
    """Only XADD, XDEL, XTRIM and XGROUP CREATE MKSTREAM call signalModifiedKey."""
    c = Redis().client()
    c.execute("XADD", "s", "1-0", "f", "v")
    for change in (("XGROUP", "CREATE", "s", "g", "0"), ("XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", ">"),
                   ("XACK", "s", "g", "1-0"), ("XSETID", "s", "5-0"), ("XGROUP", "DESTROY", "s", "g")):
        c.execute("WATCH", "s")
        c.execute(*change)
        c.execute("MULTI")
        assert c.execute("EXEC") == (), change
    for change in (("XADD", "s", "6-0", "f", "v"), ("XDEL", "s", "6-0"), ("XTRIM", "s", "MAXLEN", "0")):
        c.execute("WATCH", "s")
        c.execute(*change)
        c.execute("MULTI")
        assert c.execute("EXEC") is NULL_ARRAY, change


def test_blocking_reads_never_block() -> None:
    c = Redis().client()
    c.execute("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    assert c.execute("XREAD", "BLOCK", "0", "STREAMS", "s", "$") == Error("ERR redlin's model does not block")
    assert c.execute("XREADGROUP", "GROUP", "g", "a", "BLOCK", "10", "STREAMS", "s", ">") == Error(
        "ERR redlin's model does not block")
    c.execute("MULTI")
    c.execute("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    assert c.execute("EXEC") == (NULL_ARRAY,)  # no blocking inside MULTI: a timeout at once
    assert c.execute("EVAL", "return redis.pcall('XREAD', 'BLOCK', '0', 'STREAMS', KEYS[1], '$')", 1, "s") == Error(
        "ERR XREAD command is not allowed with BLOCK option from scripts")


def test_streams_are_values_like_any_other() -> None:
    c = Redis().client()
    c.execute("XADD", "s", "1-0", "f", "v")
    c.execute("XGROUP", "CREATE", "s", "g", "0")
    assert c.execute("COPY", "s", "t") == 1 and c.execute("RENAME", "t", "u") == OK
    assert c.execute("XINFO", "GROUPS", "u") == c.execute("XINFO", "GROUPS", "s")
    assert c.execute("LPUSH", "s", "x") == Error("WRONGTYPE Operation against a key holding the wrong kind of value")
    one, _ = step(step(Redis().state, 1, [b"XADD", b"k", b"1-0", b"f", b"v"])[0], 1, [b"XLEN", b"k"])
    two = step(Redis().state, 2, [b"XADD", b"k", b"1-0", b"f", b"v"])[0]
    assert one == two and hash(one) == hash(two)


@pytest.mark.parametrize(("argv", "keys"), [
    (("XREAD", "COUNT", "2", "STREAMS", "a", "b", "0", "0"), ("a", "b")),
    (("XREADGROUP", "GROUP", "g", "c", "NOACK", "STREAMS", "a", ">"), ("a",)),
    (("XREAD", "STREAMS", "a", "b", "0"), ()),  # unbalanced: no keys, the command fails
    (("XGROUP", "CREATE", "k", "g", "$"), ("k",)),
    (("XINFO", "STREAM", "k", "FULL"), ("k",)),
])
def test_keys_of_stream_commands(argv: tuple[str, ...], keys: tuple[str, ...]) -> None:
    assert keys_of([word.encode() for word in argv]) == tuple(key.encode() for key in keys)


def test_group_changes_keep_the_ttl() -> None:
    c = Redis(now=0).client()
    c.execute("XADD", "s", "1-0", "f", "v")
    c.execute("PEXPIRE", "s", "5000")
    c.execute("XGROUP", "CREATE", "s", "g", "0")
    assert c.execute("PTTL", "s") == 5000
