"""Redis 7.0 Functions in the model against redis-server 7.0.15: FUNCTION LOAD / DELETE / FLUSH /
LIST / DUMP / RESTORE / STATS / KILL / HELP, FCALL and FCALL_RO.

Each probe list (setup lines included) runs on the model and on a live server of our own after
FUNCTION FLUSH and FLUSHALL, and every reply must encode to the same bytes.  Two replies hold
orders Redis leaves to its hash tables (siphash, seeded at start-up): FUNCTION LIST (the command
is tipped nondeterministic_output_order; each library's functions too) and FUNCTION DUMP with
several libraries; those are compared in a canonical form.  The unit tests pin what the probes
found (error texts, payload bytes, state), so they also run without a server.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import redis as redis_py
from conftest import RedisServer, live_replies

from redlin.model import (
    INITIAL_STATE,
    Error,
    MapReply,
    Redis,
    Status,
    _lua_runtime,
    encode_reply,
    keys_of,
    lookup,
    restart,
    sort_unordered,
    step,
)
from redlin.model._function_libs import library, split_args
from redlin.model._functions import resp3_reply
from redlin.model._rdb import (
    crc64,
    dump_payload,
    lzf_compress,
    lzf_decompress,
    payload_ok,
    rdb_length,
    rdb_string,
    read_payload,
)
from redlin.serve.server import start_in_thread

OK = Status("OK")


def lib(name: str, *body: str) -> str:
    return f"#!lua name={name}\n" + "\n".join(body)


def seal(body: bytes) -> bytes:
    """A payload with RDB version 10 and the CRC64 Redis computes."""
    body += b"\n\x00"
    return body + crc64(body).to_bytes(8, "little")


SET_FN = "redis.register_function('f1', function(keys, args) return redis.call('set', keys[1], args[1]) end)"
PL = b"#!lua name=pl\nredis.register_function('pf', function() return 'pf' end)"
PL2 = b"#!lua name=pl2\nredis.register_function('pf', function() return 'pf2' end)"
OLD = (b"\xf6" + rdb_length(3) + b"old" + rdb_length(3) + b"LUA" + b"\x01" + rdb_length(4) + b"desc"
       + rdb_string(b"redis.register_function('of', function() return 'of' end)"))
PAYLOADS = {
    "one": seal(b"\xf5" + rdb_string(PL)),
    "two": seal(b"\xf5" + rdb_string(PL) + b"\xf5" + rdb_string(PL2)),
    "twice": seal(b"\xf5" + rdb_string(PL) + b"\xf5" + rdb_string(PL)),
    "not a function": seal(b"\x00" + rdb_string(PL)),
    "truncated": seal(b"\xf5" + rdb_length(200) + PL[:50]),
    "integer": seal(b"\xf5\xc0\x05"),
    "bad lzf": seal(b"\xf5\xc3\x05\x40\x30\x1faaaa"),
    "bad encoding": seal(b"\xf5\xc4\x05"),
    "bad length": seal(b"\xf5\x82\x05"),
    "old format": seal(OLD),
    "old truncated": seal(b"\xf6" + rdb_length(10) + b"ab"),
    "uncompressed": seal(b"\xf5" + rdb_length(len(PL)) + PL),
    "version 11": (lambda b: b + crc64(b).to_bytes(8, "little"))(b"\xf5" + rdb_string(PL) + b"\x0b\x00"),
    "version 9": (lambda b: b + crc64(b).to_bytes(8, "little"))(b"\xf5" + rdb_string(PL) + b"\x09\x00"),
    "no shebang": seal(b"\xf5" + rdb_string(b"return 1 -- no shebang here at all")),
    "syntax error": seal(b"\xf5" + rdb_string(b"#!lua name=bad\nreturn +")),
    "empty": seal(b""),
    "into the trailer": seal(b"\xf5" + rdb_length(len(PL) + 5) + PL),
}

PROBES: dict[str, list[tuple[str | bytes, ...]]] = {
    "load_and_call": [
        ("FUNCTION", "LOAD", lib("lib1", SET_FN)), ("FCALL", "f1", "1", "k", "v"), ("GET", "k"),
        ("FCALL_RO", "f1", "1", "k", "v"), ("FCALL", "F1", "1", "k", "w"), ("FCALL", "nof", "1", "k", "v"),
        ("FCALL", "f1", "x", "k", "v"), ("FCALL", "f1", "3", "k", "v"), ("FCALL", "f1", "-1", "k", "v"),
        ("FCALL", "f1"), ("FUNCTION", "LOAD", lib("lib1", "redis.register_function('f1', function() return 1 end)")),
        ("FUNCTION", "LOAD", lib("lib2", "redis.register_function('f1', function() return 1 end)")),
        ("FUNCTION", "LOAD", "REPLACE", lib("lib1", "redis.register_function('f1', function() return 1 end)")),
        ("FCALL", "f1", "0"), ("FUNCTION", "LOAD", "foo", "x"), ("FUNCTION", "LOAD", "REPLACE"),
        ("FUNCTION", "LOAD", "replace", "replace", lib("lib3", "redis.register_function('f3', function() return 33 end)")),
        ("FCALL", "f3", "0"), ("FUNCTION", "STATS"),
    ],
    "shebang": [
        ("FUNCTION", "LOAD", "#!lua name=l\nreturn 1 +"), ("FUNCTION", "LOAD", "#!lua name=l2"),
        ("FUNCTION", "LOAD", "#!lua\nreturn 1"), ("FUNCTION", "LOAD", "#!lua name=a name=b\nreturn 1"),
        ("FUNCTION", "LOAD", "#!lua foo=a\nreturn 1"), ("FUNCTION", "LOAD", "#!lua2 name=a\nreturn 1"),
        ("FUNCTION", "LOAD", "#!LUA name=a-b\nreturn 1"), ("FUNCTION", "LOAD", "return 1"),
        ("FUNCTION", "LOAD", "#! lua name=a\nreturn 1"), ("FUNCTION", "LOAD", '#!lua name="a\nreturn 1'),
        ("FUNCTION", "LOAD", '#!lua name="a b"x\nreturn 1'), ("FUNCTION", "LOAD", "#!\nreturn 1"),
        ("FUNCTION", "LOAD", "   \nreturn 1"), ("FUNCTION", "LOAD", "#!lua name=\nreturn 1"),
        ("FUNCTION", "LOAD", "#!lua NAME=lib3 \nredis.register_function('f3', function() return 3 end)"),
        ("FUNCTION", "LOAD", "#!lua 'name=q1'\nredis.register_function('q1', function() return 1 end)"),
        ("FUNCTION", "LOAD", '#!lua "name=q\\x32"\nredis.register_function(\'q2\', function() return 2 end)'),
        ("FUNCTION", "LOAD", "#!lua name=ok\nreturn 1"), ("FUNCTION", "LIST"),
    ],
    "load_errors": [
        ("FUNCTION", "LOAD", lib("e1", "redis.call('ping')")), ("FUNCTION", "LOAD", lib("e2", "local x = math.random()")),
        ("FUNCTION", "LOAD", lib("e3", "local x = nil + 1")), ("FUNCTION", "LOAD", lib("e4", "error('boom')")),
        ("FUNCTION", "LOAD", lib("e5", "x = 1")), ("FUNCTION", "LOAD", lib("e6", "local r = redis.call")),
        ("FUNCTION", "LOAD", lib("e7", "redis.x = 1")), ("FUNCTION", "LOAD", lib("e8", "local x = _G")),
        ("FUNCTION", "LOAD", lib("e9", "redis.log(redis.LOG_WARNING, 'hi') return redis.setresp")),
        ("FUNCTION", "LOAD", lib("e10", "redis.log(redis.LOG_WARNING)")),
        ("FUNCTION", "LOAD", lib("e11", "redis.log(99, 'x')")), ("FUNCTION", "LOAD", lib("e12", "return 1")),
        ("FUNCTION", "LOAD", lib("e13", "redis.register_function('f13', function() return 1 end) local x = nil .. 1")),
        ("FUNCTION", "LOAD", lib("e14", "while true do end")),
        ("FUNCTION", "LOAD", lib("e15", "local t = redis.REDIS_VERSION_NUM + redis.LOG_DEBUG + redis.LOG_VERBOSE",
                                 "redis.register_function('g', function() return t + redis.LOG_NOTICE end)")),
        ("FCALL", "g", "0"), ("FUNCTION", "LIST"),
    ],
    "register_function": [
        ("FUNCTION", "LOAD", lib("r1", "redis.register_function('f 2', function() end)")),
        ("FUNCTION", "LOAD", lib("r2", "redis.register_function('f2')")),
        ("FUNCTION", "LOAD", lib("r3", "redis.register_function()")),
        ("FUNCTION", "LOAD", lib("r4", "redis.register_function(1,2,3)")),
        ("FUNCTION", "LOAD", lib("r5", "redis.register_function{function_name='x'}")),
        ("FUNCTION", "LOAD", lib("r6", "redis.register_function{callback=function() end}")),
        ("FUNCTION", "LOAD", lib("r7", "redis.register_function{function_name='x', callback=function() end, flags={'bad'}}")),
        ("FUNCTION", "LOAD", lib("r8", "redis.register_function{function_name='x', callback=function() end, flags='no-writes'}")),
        ("FUNCTION", "LOAD", lib("r9", "redis.register_function{function_name='x', callback=function() end, other=1}")),
        ("FUNCTION", "LOAD", lib("r10", "redis.register_function{function_name='x', callback=function() end, [1]=1}")),
        ("FUNCTION", "LOAD", lib("r11", "redis.register_function{function_name={}, callback=function() end}")),
        ("FUNCTION", "LOAD", lib("r12", "redis.register_function{function_name='x', callback=1}")),
        ("FUNCTION", "LOAD", lib("r13", "redis.register_function{function_name='x', callback=function() end, description={}}")),
        ("FUNCTION", "LOAD", lib("r14", "redis.register_function('x5', 'y')")),
        ("FUNCTION", "LOAD", lib("r15", "redis.register_function({}, function() end)")),
        ("FUNCTION", "LOAD", lib("r16", "redis.register_function('x7', function() end) redis.register_function('x7', function() end)")),
        ("FUNCTION", "LOAD", lib("r17", "redis.register_function{function_name=12, callback=function() end, description=2}")),
        ("FUNCTION", "LOAD", lib("r18", "redis.register_function{function_name='f18', callback=function() return 1 end, "
                                 "flags={'no-writes', 'ALLOW-OOM', 'allow-stale','no-cluster','allow-cross-slot-keys'}, "
                                 "description='d18'}")),
        ("FUNCTION", "LOAD", lib("r19", "redis.register_function{function_name='f19', callback=function() end, flags={'no-writes', 1}}")),
        ("FUNCTION", "LOAD", lib("r20", "redis.register_function{function_name='f20', callback=function() end, flags={}}")),
        ("FUNCTION", "LOAD", lib("r21", "redis.register_function{FUNCTION_NAME='f21', Callback=function() end, [true]=1}")),
        ("FUNCTION", "LOAD", lib("r22", "for i = 1, 3 do redis.register_function('s' .. i, function() return i end) end")),
        ("FCALL", "s2", "0"), ("FUNCTION", "LIST", "WITHCODE"), ("FUNCTION", "STATS"),
    ],
    "running": [
        ("FUNCTION", "LOAD", lib("l16", "redis.register_function{function_name='f16', callback=function(k, a) "
                                 "return redis.call('set', 'x', 'y') end, flags={'no-writes'}}")),
        ("FCALL", "f16", "0"),
        ("FUNCTION", "LOAD", lib("l17", "redis.register_function('f17', function(k, a) return {k, a, KEYS} end)")),
        ("FCALL", "f17", "1", "a", "b"),
        ("FUNCTION", "LOAD", lib("l18", "redis.register_function('f18', function(k, a) return {k, a} end)")),
        ("FCALL", "f18", "1", "a", "b"),
        ("FUNCTION", "LOAD", lib("l19", "redis.register_function('f19', function(k, a) error('oops') end)")),
        ("FCALL", "f19", "0"),
        ("FUNCTION", "LOAD", lib("l20", "redis.register_function('f20', function(k, a) return redis.call('nosuch') end)")),
        ("FCALL", "f20", "0"),
        ("FUNCTION", "LOAD", lib("l21", "local function helper() return redis.call('incr', 'c') end",
                                 "redis.register_function('f21', function(k, a)", "  return helper()", "end)")),
        ("FCALL", "f21", "0"), ("FCALL", "f21", "0"),
        ("FUNCTION", "LOAD", lib("l22", "redis.register_function('f22', function(k, a) x = 1 end)")), ("FCALL", "f22", "0"),
        ("FUNCTION", "LOAD", lib("l23", "redis.register_function('f23', function() return redis.register_function('a', function() end) end)")),
        ("FCALL", "f23", "0"),
        ("EVAL", "return redis.register_function", "0"), ("EVAL", "return redis.call('fcall', 'f18', '0')", "0"),
        ("FUNCTION", "LOAD", lib("l25", "redis.register_function('f25', function() return redis.call('fcall', 'f18', '0') end)")),
        ("FCALL", "f25", "0"),
        ("FUNCTION", "LOAD", lib("l27", "redis.register_function('f27', function(k, a) return ARGV end)")), ("FCALL", "f27", "0"),
        ("FUNCTION", "LOAD", lib("l28", "redis.register_function('f28', function() return redis.pcall('set', 'a') end)")),
        ("FCALL", "f28", "0"),
        ("FUNCTION", "LOAD", lib("l29", "redis.register_function('f29', function() return redis.call('set', 'a') end)")),
        ("FCALL", "f29", "0"),
        ("FUNCTION", "LOAD", lib("l30", "redis.register_function('f30', function() return redis.pcall('set', 'a', 'b') end)")),
        ("FCALL_RO", "f30", "0"),
        ("FUNCTION", "LOAD", lib("l31", "redis.register_function{function_name='f31', callback=function() "
                                 "return redis.pcall('set', 'a', 'b') end, flags={'no-writes'}}")),
        ("FCALL_RO", "f31", "0"),
        ("FUNCTION", "LOAD", lib("e", "local rf = redis.register_function",
                                 "rf('e1', function() return rf('zz', function() end) end)")),
        ("FCALL", "e1", "0"),
        ("FUNCTION", "LOAD", lib("f", "local r = redis", "redis.register_function('fr', function() return r.call('ping') end)")),
        ("FCALL", "fr", "0"),
        ("FUNCTION", "LOAD", lib("g", "redis.register_function('g1', function(keys, args) return #keys + 10 * #args end)")),
        ("FCALL", "g1", "2", "a", "b", "c"), ("FCALL_RO", "g1", "0"),
        ("MULTI",), ("FCALL", "g1", "1", "a"), ("FUNCTION", "LOAD", lib("h", "redis.register_function('h1', function() return 1 end)")),
        ("FUNCTION", "LIST", "LIBRARYNAME", "h"), ("EXEC",),
        ("FUNCTION", "LOAD", lib("j", "redis.register_function('j1', function() return redis.call('publish', 'ch', 'm') end)",
                                 "redis.register_function{function_name='j2', callback=function() "
                                 "return redis.call('publish', 'ch', 'm') end, flags={'no-writes'}}")),
        ("FCALL", "j1", "0"), ("FCALL", "j2", "0"),
        ("FUNCTION", "LOAD", lib("m", "redis.register_function('m1', function() return pcall(error, 'x') end)")), ("FCALL", "m1", "0"),
        ("FUNCTION", "LOAD", lib("p", "redis.register_function('p1', function() return redis.REDIS_VERSION end)")), ("FCALL", "p1", "0"),
        ("FUNCTION", "LOAD", lib("r", "", "redis.register_function('r1', function()", "  local x = nil", "  return x.y", "end)")),
        ("FCALL", "r1", "0"),
        ("FUNCTION", "LOAD", lib("t", "redis.register_function('t1', function(k, a) return redis.call('lpush', k[1], unpack(a)) end)")),
        ("FCALL", "t1", "1", "list", "a", "b", "c"), ("LRANGE", "list", "0", "-1"),
        ("FUNCTION", "LOAD", lib("u", "redis.register_function('u1', function() return redis.call('function', 'help')[1] end)")),
        ("FCALL", "u1", "0"), ("FUNCTION", "STATS"),
    ],
    "corners": [
        ("FUNCTION", "LOAD", lib("a", "redis.register_function{function_name='a1', callback=function() "
                                 "return redis.error_reply('MY err') end, flags={'no-writes','NO-WRITES'}}")),
        ("FCALL", "a1", "0"), ("FUNCTION", "LIST"),
        ("FUNCTION", "LOAD", lib("b", "redis.register_function('b1', function() error({err='X y'}) end)")), ("FCALL", "b1", "0"),
        ("FUNCTION", "LOAD", lib("c", "redis.register_function('c1', redis.log)")),  # a C function is a callback
        ("FUNCTION", "LOAD", lib("d", "redis.register_function('d1', function() return redis.call('incrbyfloat', 'f', 1.5) end)")),
        ("FCALL", "d1", "0"),
        ("FUNCTION", "LOAD", lib("e", "redis.register_function('e1', function() return {1, 2, nil, 4} end)")), ("FCALL", "e1", "0"),
        ("FUNCTION", "LOAD", lib("f", "redis.register_function('f1', function(keys) return redis.call('get', keys[1]) end)")),
        ("FCALL", "f1", "1", "nokey"),
        ("FUNCTION", "LOAD", lib("i", "redis.register_function('i1', function() local t = {} t.x = 1 return t.x end)")),
        ("FCALL", "i1", "0"),
        ("FUNCTION", "LOAD", lib("j", "redis.register_function('j1', function() return cjson.encode({1,2}) end)")), ("FCALL", "j1", "0"),
        ("FUNCTION", "LOAD", lib("k", "local x", "redis.register_function('k1', function() return x end)", "x = 'later'")),
        ("FCALL", "k1", "0"),
        ("FUNCTION", "LOAD", lib("l", "redis.register_function{function_name='l1', callback=function() return 1 end, description='\0z'}")),
        ("FUNCTION", "LIST", "LIBRARYNAME", "l"),
        ("FUNCTION", "LOAD", lib("m", "redis.register_function('m\0x', function() return 1 end)")),
        ("FUNCTION", "LOAD", lib("n", "redis.register_function{function_name='n1', callback=function() return 1 end, flags={'no-writes\0junk'}}")),
        ("FUNCTION", "LIST", "LIBRARYNAME", "n"),
        ("FUNCTION", "LOAD", lib("o", "redis.register_function{function_name='o1', ['callback\0x']=function() return 1 end}")),
        ("FUNCTION", "LOAD", lib("q", "return redis.LOG_WARNING .. redis.REDIS_VERSION .. redis.REDIS_VERSION_NUM")),
        ("FUNCTION", "LOAD", lib("r", "local r = redis", "redis.register_function('r1', function() return r.REDIS_VERSION end)")),
        ("FCALL", "r1", "0"),
        ("FUNCTION", "LOAD", lib("s", "redis.register_function('s1', function() return rawget(redis, 'call') ~= nil end)")),
        ("FCALL", "s1", "0"),
        ("FUNCTION", "LOAD", lib("t", "redis.register_function('t1', function() return #KEYS end)")), ("FCALL", "t1", "0"),
    ],
    "list_delete_flush": [
        ("FUNCTION", "LOAD", lib("alpha", "redis.register_function('a1', function(k, a) return 'a1' end)",
                                 "redis.register_function{function_name='a2', callback=function(k, a) "
                                 "return redis.call('get', k[1]) end, flags={'no-writes'}, description='reads'}")),
        ("FUNCTION", "LOAD", lib("beta", "redis.register_function('b1', function(k, a) return redis.call('set', k[1], a[1]) end)")),
        ("FUNCTION", "LIST", "LIBRARYNAME", "AL*"), ("FUNCTION", "LIST", "libraryname", "*a", "withcode"),
        ("FUNCTION", "LIST", "withcode", "libraryname", "nomatch"), ("FUNCTION", "LIST", "LIBRARYNAME"),
        ("FUNCTION", "LIST", "foo"), ("FUNCTION", "LIST", "withcode", "withcode"),
        ("FUNCTION", "LIST", "libraryname", "a", "libraryname", "b"), ("FUNCTION", "STATS"),
        ("FCALL", "B1", "1", "k", "v"), ("FCALL_RO", "a2", "1", "k"), ("FCALL", "a2", "1", "k"), ("FCALL_RO", "a1", "0"),
        ("FUNCTION", "DUMP"), ("FUNCTION", "DELETE", "nope"), ("FUNCTION", "DELETE", "BETA"),
        ("FUNCTION", "DELETE", "beta"), ("FUNCTION", "DUMP"), ("FUNCTION", "KILL"),
        ("FUNCTION", "FLUSH", "x"), ("FUNCTION", "FLUSH", "sync", "x"), ("function", "flush", "sync", "x"),
        ("FUNCTION", "FLUSH", "ASYNC"), ("FUNCTION", "LIST"), ("FUNCTION", "DUMP"), ("FUNCTION", "STATS"),
        ("FUNCTION", "FLUSH"), ("FUNCTION", "HELP"), ("FUNCTION", "FOO"), ("FUNCTION",), ("FUNCTION", "HELP", "x"),
        ("FLUSHALL",), ("SCRIPT", "FLUSH"),
        ("FUNCTION", "LOAD", lib("c", "redis.register_function('c1', function() return 1 end)")),
        ("FLUSHALL",), ("SCRIPT", "FLUSH"), ("FCALL", "c1", "0"),
    ],
    "restore": [
        *(("FUNCTION", "RESTORE", payload) for payload in PAYLOADS.values()),
        ("FUNCTION", "LIST"), ("FUNCTION", "FLUSH"), ("FUNCTION", "RESTORE", PAYLOADS["one"]),
        ("FUNCTION", "RESTORE", PAYLOADS["one"]), ("FUNCTION", "RESTORE", PAYLOADS["one"], "REPLACE"),
        ("FUNCTION", "RESTORE", PAYLOADS["one"], "append"), ("FUNCTION", "RESTORE", PAYLOADS["two"]),
        ("FUNCTION", "RESTORE", PAYLOADS["two"], "replace"), ("FUNCTION", "RESTORE", PAYLOADS["one"], "bad"),
        ("FUNCTION", "RESTORE", PAYLOADS["one"], "flush", "x"), ("FUNCTION", "RESTORE", b"short"),
        ("FUNCTION", "RESTORE", PAYLOADS["one"][:-1] + b"X"), ("FUNCTION", "LIST"),
        ("FUNCTION", "RESTORE", PAYLOADS["old format"], "FLUSH"), ("FCALL", "of", "0"), ("FUNCTION", "LIST", "WITHCODE"),
        ("FUNCTION", "DUMP"), ("FUNCTION", "RESTORE", PAYLOADS["empty"], "FLUSH"), ("FUNCTION", "LIST"),
        ("FUNCTION", "LOAD", lib("d", "redis.register_function('d1', function() return {1, 'two', {3}} end)")),
        ("FUNCTION", "DUMP"), ("FUNCTION", "LOAD", "REPLACE", lib("d", "-- " + "filler " * 40,
                                                                    "redis.register_function('d2', function() return 2 end)")),
        ("FUNCTION", "DUMP"), ("FCALL", "d1", "0"), ("FCALL", "d2", "0"),
    ],
}
"""Per theme, the lines sent to both the model and the server (every reply checked on 7.0.15)."""


def canonical(argv: Sequence[str | bytes], reply: object) -> object:
    """The reply in a form independent of Redis's hash-table orders (see the module docstring)."""
    words = [a.lower() if isinstance(a, bytes) else a.lower().encode() for a in argv[:2]]
    if words[0] == b"function" and len(words) > 1 and words[1] == b"list" and isinstance(reply, tuple):
        libraries = []
        for entry in reply:
            entry = list(entry)
            entry[5] = tuple(sorted(entry[5], key=repr))  # the library's functions
            libraries.append(tuple(entry))
        return sort_unordered(tuple(libraries))
    if words[0] == b"function" and len(words) > 1 and words[1] == b"dump" and isinstance(reply, bytes):
        records = read_payload(reply)
        if len(records) > 1:  # the version and a valid CRC64, then the records in any order
            return (reply[-10:-8], int(payload_ok(reply)), *(record for _, record in sorted(records)))
    return reply


@pytest.mark.redis
@pytest.mark.parametrize("name", sorted(PROBES))
def test_probes_match_a_live_server(redis_server: RedisServer, name: str) -> None:
    model = Redis().client()
    with live_replies(redis_server) as live:
        live(("FUNCTION", "FLUSH")), live(("FLUSHALL",))
        try:
            for argv in PROBES[name]:
                expected, got = live(argv), model.execute(*argv)
                assert encode_reply(canonical(argv, got)) == encode_reply(canonical(argv, expected)), argv
        finally:
            live(("FUNCTION", "FLUSH")), live(("FLUSHALL",))


@pytest.mark.redis
def test_resp3_replies_match_a_live_server(redis_server: RedisServer) -> None:
    """FUNCTION LIST and STATS after HELLO 3: maps, flags as a set, a missing description null."""
    model = Redis().client()
    code = lib("r3", "redis.register_function{function_name='a', callback=function() return 1 end, "
               "flags={'no-writes', 'allow-oom'}, description='the a'}",
               "redis.register_function('b', function() return 2 end)")
    lines: list[tuple[str, ...]] = [("FUNCTION", "LOAD", code), ("FUNCTION", "LIST"), ("FUNCTION", "LIST", "WITHCODE"),
                                    ("FUNCTION", "STATS"), ("FUNCTION", "LIST", "LIBRARYNAME", "x"), ("FCALL", "a", "0")]
    with live_replies(redis_server) as live:
        live(("HELLO", "3")), live(("FUNCTION", "FLUSH"))
        try:
            for argv in lines:
                expected = live(argv)
                got = resp3_reply([a.encode() for a in argv], model.execute(*argv))
                if argv[1] == "LIST":  # the functions of a library, in hash order in Redis
                    expected, got = (tuple(_sorted_functions(entry) for entry in reply)  # type: ignore[union-attr]
                                     for reply in (expected, got))
                assert encode_reply(got) == encode_reply(expected), argv  # type: ignore[arg-type]
        finally:
            live(("FUNCTION", "FLUSH")), live(("HELLO", "2"))


def _sorted_functions(entry: MapReply) -> MapReply:
    return MapReply(tuple((key, tuple(sorted(value, key=repr)) if key == b"functions" else value)  # type: ignore[arg-type]
                          for key, value in entry.pairs))


@pytest.mark.redis
def test_dump_of_one_library_is_byte_identical_and_round_trips(redis_server: object) -> None:
    """LZF-compressed and stored codes of many lengths: FUNCTION DUMP is Redis's to the byte."""
    conn = redis_py.Redis(host=redis_server.host, port=redis_server.port, protocol=2)  # type: ignore[attr-defined]
    model = Redis().client()
    filler = [b"", b"x", b"ab" * 7, b"aaaa" * 40, b"(=' cd)" * 60, bytes(range(32, 127)) * 3, b"z" * 9000]
    try:
        for i, extra in enumerate(filler):
            code = b"#!lua name=l%d\nredis.register_function('f%d', function() return 1 end)\n--" % (i, i) + extra
            conn.function_flush()
            model.execute("FUNCTION", "FLUSH")
            assert conn.function_load(code) == model.execute("FUNCTION", "LOAD", code) == b"l%d" % i
            theirs = conn.function_dump()
            assert model.execute("FUNCTION", "DUMP") == theirs == dump_payload([(0xF5, code)])
            assert read_payload(theirs) == [(0xF5, code)]
    finally:
        conn.function_flush()
        conn.close()


# --------------------------------------------------------------------- corners, without a server


def test_crc64_and_lzf_are_redis_s() -> None:
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA  # Redis's own test vector (crc64.c)
    # FUNCTION DUMP of this library on redis-server 7.0.15:
    code = b"#!lua name=l3\nredis.register_function{function_name='x', callback=function() end, description=2}"
    assert dump_payload([(0xF5, code)]).startswith(
        b"\xf5\xc3@U@`\x1f#!lua name=l3\nredis.register_fun\x05ction{\xc0\x08\x00_`(")
    for data in (b"a" * 100, bytes(range(256)) * 5, b"abcabcabd" * 30, b"no repeats here at all, 123"):
        compressed = lzf_compress(data, len(data) - 4)
        if compressed is not None:
            assert lzf_decompress(compressed, len(data)) == data
    assert lzf_compress(bytes(range(100)), 96) is None  # incompressible
    assert lzf_decompress(b"\x1faaaa", 48) is None  # a literal run past the input


def test_payload_checks() -> None:
    payload = dump_payload([(0xF5, PL)])
    assert payload_ok(payload) and not payload_ok(payload[:-1] + b"X") and not payload_ok(b"short")
    assert not payload_ok(PAYLOADS["version 11"]) and payload_ok(PAYLOADS["version 9"])
    assert rdb_length(63) == b"?" and rdb_length(64) == b"\x40\x40" and rdb_length(16384) == b"\x80\x00\x00\x40\x00"


def test_split_args_is_sdssplitargs() -> None:
    assert split_args(b"  a 'b c' \"d\\x41\\n\"") == [b"a", b"b c", b"dA\n"]
    assert split_args(b"a 'b\\'c'") == [b"a", b"b'c"]
    assert split_args(b"'a'b") is None and split_args(b"\"a") is None and split_args(b"") == []
    assert split_args(b"a\x00b") == [b"a"]  # C sees the line up to its first NUL


def test_load_errors_and_library_rules() -> None:
    r = Redis().client()
    assert r.execute("FUNCTION", "LOAD", "return 1") == Error("ERR Missing library metadata")
    assert r.execute("FUNCTION", "LOAD", lib("a", "redis.call('ping')")) == Error(
        "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global "
        "variable 'call'")
    assert r.execute("FUNCTION", "LOAD", lib("a", "redis.register_function('f 2', function() end)")) == Error(
        "ERR Error registering functions: ERR Library names can only contain letters, numbers, or underscores(_) "
        "and must be at least one character long")
    assert r.execute("FUNCTION", "LOAD", lib("a", "return 1")) == Error("ERR No functions registered")
    assert r.execute("FUNCTION", "LOAD", "#!lua2 name=a\nreturn 1") == Error("ERR Engine 'lua2' not found")
    assert r.execute("FUNCTION", "LOAD", lib("a", "return 1 +")) == Error(
        "ERR Error compiling function: user_function:2: unexpected symbol near '<eof>'")
    fn = library(b"#!lua name=x\nredis.register_function{function_name='f', callback=function() end, "
                 b"flags={'ALLOW-STALE', 'no-writes'}, description=7}").functions[0]
    assert (fn.name, fn.description, fn.flags) == (b"f", b"7", ("no-writes", "allow-stale"))


def test_load_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_lua_runtime, "INSTRUCTION_BUDGET_MILLIONS", 1)
    r = Redis().client()
    assert r.execute("FUNCTION", "LOAD", lib("slow", "local n = 0 while true do n = n + 1 end")) == Error(
        "ERR Error registering functions: ERR FUNCTION LOAD timeout")


def test_fcall_read_only_rules_and_errors() -> None:
    r = Redis().client()
    r.execute("FUNCTION", "LOAD", lib("w", SET_FN, "redis.register_function{function_name='ro', callback=function(k) "
                                       "return redis.call('set', k[1], 'x') end, flags={'no-writes'}}"))
    assert r.execute("FCALL_RO", "f1", "1", "k", "v") == Error(
        "ERR Can not execute a script with write flag using *_ro command.")
    assert r.execute("FCALL", "ro", "1", "k") == Error(
        "ERR Write commands are not allowed from read-only scripts. script: ro, on @user_function:3.")
    assert r.execute("FCALL", "F1", "1", "k", "v") == OK and r.execute("GET", "k") == b"v"
    assert r.execute("FCALL", "f1", "x") == Error("ERR Bad number of keys provided")
    assert keys_of([b"FCALL", b"f1", b"2", b"a", b"b", b"c"]) == (b"a", b"b")
    assert keys_of([b"FCALL_RO", b"f1", b"0", b"a"]) == ()
    assert lookup([b"fcall"]).flags >= {"noscript", "movablekeys"}  # type: ignore[union-attr]


def test_each_fcall_sees_the_library_as_loaded() -> None:
    """The model loads a library afresh for each FCALL (a step stays pure): state a library keeps
    in its upvalues does not carry over, where Redis would count 1, 2, 3."""
    r = Redis().client()
    r.execute("FUNCTION", "LOAD", lib("c", "local n = 0", "redis.register_function('inc', function() n = n + 1 "
                                       "return n end)"))
    assert [r.execute("FCALL", "inc", "0") for _ in range(3)] == [1, 1, 1]


def test_functions_are_server_state() -> None:
    code = lib("s", "redis.register_function('sf', function() return 'sf' end)").encode()
    state, reply = step(INITIAL_STATE, 1, [b"FUNCTION", b"LOAD", code])
    assert reply == b"s" and dict(state.functions) == {b"s": code} and state != INITIAL_STATE
    again, _ = step(INITIAL_STATE, 2, [b"FUNCTION", b"LOAD", code])
    assert again == state and hash(again) == hash(state)
    flushed, reply = step(state, 1, [b"FLUSHALL"])
    assert reply == OK and flushed.functions == state.functions
    assert restart(state, keep_data=True).functions == state.functions
    assert restart(state, keep_data=False) == INITIAL_STATE
    _, reply = step(restart(state, keep_data=True), 3, [b"FCALL", b"sf", b"0"])
    assert reply == b"sf"
    same, reply = step(state, 1, [b"FUNCTION", b"DELETE", b"nope"])
    assert same is state and reply == Error("ERR Library not found")
    state, _ = step(state, 1, [b"FUNCTION", b"LOAD", code])  # already exists: no change
    assert dict(state.functions) == {b"s": code}


def test_restore_policies_and_collisions() -> None:
    r = Redis().client()
    assert r.execute("FUNCTION", "RESTORE", PAYLOADS["one"]) == OK
    assert r.execute("FUNCTION", "RESTORE", PAYLOADS["one"]) == Error("ERR Library pl already exists")
    assert r.execute("FUNCTION", "RESTORE", PAYLOADS["twice"]) == Error("ERR Library 'pl' already exists")
    assert r.execute("FUNCTION", "RESTORE", PAYLOADS["two"], "REPLACE") == Error("ERR Function pf already exists")
    assert r.execute("FUNCTION", "RESTORE", PAYLOADS["old format"], "FLUSH") == OK
    assert r.execute("FUNCTION", "LIST", "WITHCODE")[0][-1] == (  # type: ignore[index]
        b"#!LUA name=old\nredis.register_function('of', function() return 'of' end)")
    assert r.execute("FUNCTION", "RESTORE", PAYLOADS["not a function"]) == Error("ERR given type is not a function")
    assert r.execute("FUNCTION", "RESTORE", PAYLOADS["bad lzf"]) == Error("ERR Failed loading library payload")
    assert r.execute("FUNCTION", "RESTORE", PAYLOADS["empty"], "flush") == OK
    assert r.execute("FUNCTION", "STATS") == (
        b"running_script", None, b"engines", (b"LUA", (b"libraries_count", 0, b"functions_count", 0)))


def test_the_embedded_server_serves_functions() -> None:
    with start_in_thread() as running:
        conn = redis_py.Redis.from_url(running.url, protocol=2, socket_timeout=10)
        assert conn.function_load(lib("srv", SET_FN)) == b"srv"
        assert conn.fcall("f1", 1, "k", "v") == b"OK" and conn.get("k") == b"v"
        assert conn.function_list()[0][1] == b"srv"
        with pytest.raises(redis_py.ResponseError, match="Function not found"):
            conn.fcall("nope", 0)
        conn.close()
