"""Keyspace notifications (issue #18) against redis-server 7.0.15: with ``notify-keyspace-events``
set, a subscriber with ``PSUBSCRIBE *`` must receive from the model exactly the messages, in the
same order, that it receives from a live server of our own, command by command (every
``notifyKeyspaceEvent`` call of 7.0.15's source; :mod:`redlin.model._notify`).

Each probe list runs after a FLUSHALL, with the model's clock set to the machine's before each line;
the test sets the flags on the shared server and sets them back to "" at the end.  The unit tests
pin the corners the probes found, so that they run without a server too.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator, Sequence

import pytest
from conftest import RedisServer, private_server
from immutables import Map

from redlin.model import Parser, Redis, Status, encode_command
from redlin.model._expiry import active_expire
from redlin.model._notify import NEW, NEW_UNDER_ALL, event_flags
from redlin.model._pubsub import flush_mailboxes

Line = tuple[str, ...]
ALL = "AKEn"

PROBES: dict[str, list[Line]] = {
    "strings": [
        ("SET", "s", "v"), ("SET", "s", "w", "EX", "100"), ("SET", "s", "x", "NX"), ("SET", "s", "y", "XX", "GET"),
        ("SET", "t", "v", "PX", "100", "KEEPTTL"), ("SETNX", "s", "1"), ("SETNX", "n", "1"), ("SETEX", "e", "10", "v"),
        ("PSETEX", "e", "10000", "v"), ("GETSET", "s", "z"), ("GETDEL", "s"), ("GETDEL", "s"), ("APPEND", "a", "x"),
        ("APPEND", "a", ""), ("SETRANGE", "r", "2", "ab"), ("SETRANGE", "r", "0", ""), ("SETRANGE", "q", "0", ""),
        ("INCR", "i"), ("DECR", "i"), ("INCRBY", "i", "5"), ("DECRBY", "i", "2"), ("INCR", "a"),
        ("INCRBYFLOAT", "f", "1.5"), ("INCRBYFLOAT", "a", "1"), ("MSET", "m1", "1", "m2", "2", "m1", "3"),
        ("MSETNX", "m1", "1", "m3", "3"), ("MSETNX", "m4", "1", "m5", "3"), ("GETEX", "m1", "EX", "100"),
        ("GETEX", "m1", "PERSIST"), ("GETEX", "m1", "PERSIST"), ("GETEX", "m1", "PXAT", "1"), ("EXISTS", "m1"),
        ("GETEX", "nope", "EX", "10"), ("SET", "s", "v", "GET"), ("LPUSH", "l", "x"), ("SET", "l", "v", "GET"),
        ("SET", "p", "v", "EXAT", "1"), ("EXISTS", "p"), ("SET", "b", "v"), ("SETBIT", "b", "3", "1"),
        ("SETBIT", "b", "3", "1"), ("SETBIT", "nb", "100", "0"), ("BITOP", "AND", "dest", "b", "nb"),
        ("BITOP", "OR", "dest", "none1", "none2"), ("BITOP", "NOT", "dest2", "b"),
        ("BITFIELD", "bf", "SET", "u8", "0", "255"), ("BITFIELD", "bf", "GET", "u8", "0"),
        ("BITFIELD", "bf", "SET", "u8", "0", "255"), ("BITFIELD", "bf2", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9"),
        ("BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "9"), ("PFADD", "h", "a", "b"), ("PFADD", "h", "a"),
        ("PFADD", "h2"), ("PFADD", "h2"), ("PFMERGE", "h3", "h", "h2"), ("PFMERGE", "h3"), ("PFCOUNT", "h3"),
    ],
    "lists": [
        ("LPUSH", "l", "a", "b", "c"), ("RPUSH", "l", "d"), ("LPUSHX", "nl", "a"), ("RPUSHX", "l", "e"),
        ("LINSERT", "l", "BEFORE", "a", "z"), ("LINSERT", "l", "BEFORE", "nope", "z"), ("LSET", "l", "0", "y"),
        ("LREM", "l", "0", "nope"), ("LREM", "l", "1", "z"), ("LTRIM", "l", "0", "-1"), ("LPOP", "l"), ("RPOP", "l", "2"),
        ("LPOP", "l", "0"), ("LRANGE", "l", "0", "-1"), ("LPOP", "l", "5"), ("LPOP", "l"),
        ("RPUSH", "t", "1", "2", "3"), ("LTRIM", "t", "5", "10"), ("RPUSH", "r", "x", "x"), ("LREM", "r", "0", "x"),
        ("RPUSH", "m", "1", "2"), ("LMOVE", "m", "m2", "LEFT", "RIGHT"), ("LMOVE", "m", "m2", "LEFT", "LEFT"),
        ("RPOPLPUSH", "m2", "m2"), ("LMOVE", "m2", "m2", "LEFT", "RIGHT"), ("RPOPLPUSH", "nope", "m2"),
        ("LMPOP", "2", "nope", "m2", "RIGHT", "COUNT", "5"), ("RPUSH", "b", "1", "2"), ("BLPOP", "nope", "b", "0"),
        ("BRPOP", "b", "0"), ("RPUSH", "b", "1", "2"), ("BLMOVE", "b", "c", "RIGHT", "LEFT", "0"),
        ("BRPOPLPUSH", "b", "c", "0"), ("BLMPOP", "0", "1", "c", "LEFT", "COUNT", "1"), ("SET", "s", "v"),
        ("LMOVE", "c", "s", "LEFT", "LEFT"), ("SORT", "c", "STORE", "sorted"), ("SORT", "nope", "STORE", "sorted"),
        ("SORT", "nope", "STORE", "sorted"), ("RPUSH", "n", "3", "1", "2"), ("SORT", "n", "DESC", "STORE", "n"),
    ],
    "sets": [
        ("SADD", "s", "a", "b", "c"), ("SADD", "s", "a"), ("SREM", "s", "nope"), ("SREM", "s", "a"),
        ("SMOVE", "s", "t", "b"), ("SMOVE", "s", "t", "nope"), ("SADD", "t", "c"), ("SMOVE", "s", "t", "c"),
        ("SMOVE", "t", "t", "c"), ("SADD", "u", "1"), ("SPOP", "u"), ("SADD", "u", "1", "2"), ("SPOP", "u", "5"),
        ("SPOP", "nope"), ("SADD", "x", "1", "2", "3"), ("SADD", "y", "3", "4"), ("SINTERSTORE", "d", "x", "y"),
        ("SUNIONSTORE", "d", "x", "y"), ("SDIFFSTORE", "d", "x", "x"), ("SDIFFSTORE", "d", "x", "x"),
        ("SINTERSTORE", "e", "x", "nope"), ("SREM", "y", "3", "4"), ("SADD", "v", "1"), ("SPOP", "v", "0"),
    ],
    "hashes": [
        ("HSET", "h", "a", "1", "b", "2"), ("HSET", "h", "a", "1"), ("HMSET", "h", "c", "3"), ("HSETNX", "h", "a", "9"),
        ("HSETNX", "h", "z", "9"), ("HSETNX", "n", "z", "9"), ("HINCRBY", "h", "a", "5"), ("HINCRBY", "h", "b", "x"),
        ("HINCRBYFLOAT", "h", "f", "1.5"), ("HINCRBYFLOAT", "new", "f", "1.5"), ("HDEL", "h", "nope"),
        ("HDEL", "h", "a", "b"), ("HDEL", "n", "z"), ("HINCRBY", "h2", "x", "1"),
    ],
    "zsets": [
        ("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("ZADD", "z", "1", "a"), ("ZADD", "z", "XX", "5", "nope"),
        ("ZADD", "nz", "XX", "1", "a"), ("ZADD", "z", "INCR", "1", "a"), ("ZINCRBY", "z", "0", "a"),
        ("ZINCRBY", "z", "1", "a"), ("ZADD", "z", "GT", "CH", "0", "b"), ("ZREM", "z", "nope"), ("ZREM", "z", "c"),
        ("ZADD", "y", "1", "a", "2", "b", "3", "c", "4", "d"), ("ZREMRANGEBYRANK", "y", "0", "0"),
        ("ZREMRANGEBYSCORE", "y", "2", "2"), ("ZREMRANGEBYLEX", "y", "[c", "[c"), ("ZREMRANGEBYSCORE", "y", "10", "20"),
        ("ZREMRANGEBYRANK", "y", "0", "-1"), ("ZADD", "p", "1", "a", "2", "b", "3", "c"), ("ZPOPMIN", "p"),
        ("ZPOPMAX", "p", "0"), ("ZPOPMAX", "p", "5"), ("ZPOPMIN", "p"), ("ZADD", "p", "1", "a", "2", "b", "3", "c"),
        ("ZMPOP", "1", "p", "MIN", "COUNT", "2"), ("ZMPOP", "2", "nope", "p", "MAX"), ("ZADD", "q", "1", "a"),
        ("BZPOPMIN", "q", "0"), ("ZADD", "q", "1", "a", "2", "b"), ("BZPOPMAX", "q", "0"),
        ("BZMPOP", "0", "1", "q", "MIN"), ("ZADD", "x", "1", "a", "2", "b"), ("ZADD", "w", "2", "b", "3", "c"),
        ("ZUNIONSTORE", "d", "2", "x", "w"), ("ZINTERSTORE", "d", "2", "x", "w"), ("ZDIFFSTORE", "d", "2", "x", "x"),
        ("ZDIFFSTORE", "d", "2", "x", "x"), ("ZRANGESTORE", "r", "x", "0", "-1"), ("ZRANGESTORE", "r", "x", "5", "6"),
        ("ZRANGESTORE", "r", "x", "5", "6"),
    ],
    "keys": [
        ("SET", "a", "1"), ("SET", "b", "2"), ("DEL", "a", "b", "c"), ("UNLINK", "a"), ("SET", "a", "1"),
        ("RENAME", "a", "b"), ("SET", "c", "3"), ("RENAME", "b", "c"), ("RENAMENX", "c", "d"), ("SET", "e", "1"),
        ("RENAMENX", "d", "e"), ("RENAME", "d", "d"), ("EXPIRE", "d", "100"), ("PEXPIRE", "d", "100000", "NX"),
        ("EXPIRE", "d", "200", "GT"), ("PERSIST", "d"), ("PERSIST", "d"), ("EXPIREAT", "d", "99999999999"),
        ("RENAME", "d", "f"), ("EXPIRETIME", "f"), ("PEXPIREAT", "f", "1"), ("EXISTS", "f"), ("EXPIRE", "e", "-1"),
        ("EXPIRE", "nope", "10"), ("SET", "m", "1"), ("MOVE", "m", "1"), ("MOVE", "m", "1"), ("SET", "m", "2"),
        ("MOVE", "m", "1"), ("COPY", "e", "e2"), ("SET", "e", "x"), ("COPY", "e", "e2"), ("COPY", "e", "e2", "REPLACE"),
        ("COPY", "e", "m", "DB", "1"), ("COPY", "e", "m", "DB", "1", "REPLACE"), ("COPY", "e", "e", "DB", "2"),
        ("SELECT", "1"), ("SET", "k1", "v"), ("DEL", "k1", "m"), ("SELECT", "0"), ("SWAPDB", "0", "1"),
        ("FLUSHDB",), ("SELECT", "2"), ("GETDEL", "e"), ("SELECT", "0"), ("FLUSHALL",),
    ],
    "streams": [
        ("XADD", "s", "1-1", "f", "v"), ("XADD", "s", "2-1", "f", "v"), ("XADD", "s", "MAXLEN", "1", "3-1", "f", "v"),
        ("XADD", "s", "MAXLEN", "5", "4-1", "f", "v"), ("XADD", "n", "NOMKSTREAM", "*", "f", "v"),
        ("XADD", "s", "1-1", "f", "v"), ("XADD", "z", "MAXLEN", "0", "5-1", "f", "v"), ("EXISTS", "z"),
        ("XDEL", "s", "9-9"), ("XDEL", "s", "3-1"), ("XTRIM", "s", "MAXLEN", "5"), ("XTRIM", "s", "MAXLEN", "0"),
        ("XTRIM", "nope", "MAXLEN", "0"), ("XSETID", "s", "10-1"), ("XADD", "s", "11-1", "a", "b"),
        ("XADD", "s", "12-1", "a", "b"), ("XGROUP", "CREATE", "s", "g", "0"), ("XGROUP", "CREATE", "s", "g", "0"),
        ("XGROUP", "CREATE", "m", "g", "$", "MKSTREAM"), ("XGROUP", "SETID", "s", "g", "0"),
        ("XGROUP", "CREATECONSUMER", "s", "g", "c1"), ("XGROUP", "CREATECONSUMER", "s", "g", "c1"),
        ("XREADGROUP", "GROUP", "g", "c2", "COUNT", "1", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", ">"), ("XREADGROUP", "GROUP", "g", "c3", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c4", "STREAMS", "s", "0"), ("XACK", "s", "g", "11-1"),
        ("XCLAIM", "s", "g", "c5", "0", "12-1"), ("XCLAIM", "s", "g", "c6", "0", "99-1"),
        ("XAUTOCLAIM", "s", "g", "c7", "0", "0"), ("XAUTOCLAIM", "s", "g", "c7", "0", "0", "JUSTID"),
        ("XGROUP", "DELCONSUMER", "s", "g", "c1"), ("XGROUP", "DELCONSUMER", "s", "g", "c1"),
        ("XGROUP", "DESTROY", "s", "g"), ("XGROUP", "DESTROY", "s", "g"),
    ],
    "transactions and scripts": [
        ("MULTI",), ("SET", "a", "1"), ("LPUSH", "l", "x"), ("INCR", "a"), ("EXPIRE", "a", "100"), ("EXEC",),
        ("EVAL", "redis.call('SET', KEYS[1], 'x'); redis.call('DEL', KEYS[1]); return 1", "1", "b"),
        ("EVAL", "redis.call('RPUSH', KEYS[1], 'x'); return redis.call('LPOP', KEYS[1])", "1", "l"),
        ("MULTI",), ("CONFIG", "SET", "notify-keyspace-events", "El"), ("SET", "c", "1"), ("RPUSH", "l", "y"),
        ("CONFIG", "SET", "notify-keyspace-events", "AKEn"), ("SADD", "s", "1"), ("EXEC",),
    ],
    "expired": [  # lazy expiry: the read that finds the key dead deletes it and sends "expired"
        ("SET", "a", "1", "PX", "1"), ("SET", "b", "1", "PX", "1"), ("RPUSH", "c", "x"), ("PEXPIRE", "c", "1"),
        ("SET", "d", "1", "PX", "1"), ("SET", "e", "1", "PX", "1"), ("SLEEP", "20"), ("GET", "a"), ("SET", "b", "2"),
        ("LPUSH", "c", "y"), ("DEL", "d"), ("EXISTS", "e"),
    ],
}

# The same changes seen through each class and channel choice (notify.c's masks).
MIXED: list[Line] = [
    ("SET", "s", "1", "EX", "100"), ("APPEND", "s", "x"), ("RPUSH", "l", "a"), ("LPOP", "l"), ("SADD", "t", "a"),
    ("HSET", "h", "f", "v"), ("ZADD", "z", "1", "a"), ("XADD", "x", "1-1", "f", "v"), ("RENAME", "s", "r"),
    ("PERSIST", "r"), ("SET", "p", "1", "PX", "1"), ("SLEEP", "20"), ("GET", "p"), ("DEL", "t", "h"),
]
MASKS = ["KEA", "KA", "EA", "Kl", "E$", "Eg", "Ex", "Es", "Eh", "Ez", "Et", "En", "Kn", "KEAn", "g$lshzxetKE",
         "AE", "gK", "A", ""]


def _canonical(line: Line, reply: object) -> object:
    """SPOP with a count answers in hash table order: compare its members as a sorted tuple."""
    return tuple(sorted(reply)) if line[0] == "SPOP" and isinstance(reply, tuple) else reply  # type: ignore[type-var]


def model_run(lines: Sequence[Line], flags: str) -> list[tuple[object, tuple[object, ...]]]:
    """(reply, messages the PSUBSCRIBE * subscriber got) per line, from the model."""
    server = Redis()
    sub, cmd = server.client(), server.client()
    sub.execute("PSUBSCRIBE", "*")
    cmd.execute("CONFIG", "SET", "notify-keyspace-events", flags)
    out = []
    for line in lines:
        if line[0] == "SLEEP":
            time.sleep(int(line[1]) / 1000)
            out.append((None, ()))
            continue
        server.now = int(time.time() * 1000)
        reply = _canonical(line, cmd.execute(*line))
        server.state, boxes = flush_mailboxes(server.state)
        out.append((reply, boxes.get(sub.id, ())))
    return out


class _Connection:
    def __init__(self, server: RedisServer) -> None:
        self.sock = socket.create_connection((server.host, server.port), timeout=30)
        self.parser = Parser()

    def send(self, *argv: str) -> object:
        self.sock.sendall(encode_command(argv))
        return self.read()

    def read(self) -> object:
        while True:
            for reply in self.parser.values():
                return reply
            self.parser.feed(self.sock.recv(1 << 20))

    def messages(self) -> tuple[object, ...]:
        """What arrived before the reply to a PING (subscribed mode: ``[pong, ""]``)."""
        self.sock.sendall(encode_command(("PING",)))
        got = []
        while True:
            frame = self.read()
            if frame == (b"pong", b""):
                return tuple(got)
            got.append(frame)


def live_run(server: RedisServer, lines: Sequence[Line], flags: str) -> list[tuple[object, tuple[object, ...]]]:
    """The same from the live server; its flags are set back to "" at the end."""
    sub, cmd = _Connection(server), _Connection(server)
    try:
        cmd.send("FLUSHALL")
        assert cmd.send("DEBUG", "SET-ACTIVE-EXPIRE", "0") == Status("OK")
        sub.send("PSUBSCRIBE", "*")
        cmd.send("CONFIG", "SET", "notify-keyspace-events", flags)
        out = []
        for line in lines:
            if line[0] == "SLEEP":
                time.sleep(int(line[1]) / 1000)
                out.append((None, ()))
                continue
            reply = _canonical(line, cmd.send(*line))
            out.append((reply, sub.messages()))
        return out
    finally:
        cmd.send("CONFIG", "SET", "notify-keyspace-events", "")
        cmd.send("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        cmd.send("FLUSHALL")
        sub.sock.close()
        cmd.sock.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A server of this module's own that takes DEBUG: the probes turn its active expiry off, so
    that keys expire only when a command finds them dead, as in the model's steps."""
    with private_server(tmp_path_factory.mktemp("notify"), "--enable-debug-command", "local") as server:
        yield server


@pytest.mark.parametrize("family", sorted(PROBES))
def test_probes_match_live_server(live: RedisServer, family: str) -> None:
    lines = PROBES[family]
    expected = live_run(live, lines, ALL)
    got = model_run(lines, ALL)
    assert len(got) == len(expected) == len(lines)
    assert any(messages for _, messages in expected)  # the probes do send notifications
    for line, want, have in zip(lines, expected, got):
        assert have == want, line


@pytest.mark.parametrize("flags", MASKS)
def test_masks_match_live_server(live: RedisServer, flags: str) -> None:
    expected = live_run(live, MIXED, flags)
    got = model_run(MIXED, flags)
    assert len(got) == len(expected) == len(MIXED)
    for line, want, have in zip(MIXED, expected, got):
        assert have == want, (flags, line)


def test_active_expiry_matches_live_server(live: RedisServer) -> None:
    """A key the server's cycle deletes between commands: "expired", as active_expire sends it."""
    sub, cmd = _Connection(live), _Connection(live)
    try:
        cmd.send("FLUSHALL")
        sub.send("PSUBSCRIBE", "*")
        cmd.send("CONFIG", "SET", "notify-keyspace-events", "KEA")
        cmd.send("SET", "k", "v", "PX", "1")
        sub.messages()
        time.sleep(0.5)  # hz 10: a few cycles, no command touches the key
        want = sub.messages()
    finally:
        cmd.send("CONFIG", "SET", "notify-keyspace-events", "")
        cmd.send("FLUSHALL")
    server = Redis(now=1000)
    msub, mcmd = server.client(), server.client()
    msub.execute("PSUBSCRIBE", "*")
    mcmd.execute("CONFIG", "SET", "notify-keyspace-events", "KEA")
    mcmd.execute("SET", "k", "v", "PX", "1")
    server.state = active_expire(server.state, 1500)
    assert tuple(msub.messages()[-2:]) == want == (
        (b"pmessage", b"*", b"__keyspace@0__:k", b"expired"), (b"pmessage", b"*", b"__keyevent@0__:expired", b"k"))


# ----------------------------------------------------------------------------- without a server


def _events(lines: Sequence[Line], flags: str = ALL, now: int = 1000) -> list[tuple[bytes, ...]]:
    """(channel, payload) of every message the PSUBSCRIBE * subscriber got, in order."""
    server = Redis(now=now)
    sub, cmd = server.client(), server.client()
    sub.execute("PSUBSCRIBE", "*")
    cmd.execute("CONFIG", "SET", "notify-keyspace-events", flags)
    for line in lines:
        cmd.execute(*line)
    return [frame[2:] for frame in sub.messages()]  # type: ignore[index]


def _keyevents(lines: Sequence[Line], flags: str = "AEn") -> list[tuple[bytes, ...]]:
    return [(channel.split(b":", 1)[1], key) for channel, key in _events(lines, flags)]


def test_keyspace_before_keyevent_and_new_before_the_command_event() -> None:
    assert _events([("LPUSH", "l", "a", "b")]) == [
        (b"__keyspace@0__:l", b"new"), (b"__keyevent@0__:new", b"l"),
        (b"__keyspace@0__:l", b"lpush"), (b"__keyevent@0__:lpush", b"l"),
    ]


def test_nothing_is_sent_without_k_or_e_or_with_the_class_off() -> None:
    assert _events([("SET", "a", "1"), ("LPUSH", "l", "x")], "A") == []
    assert _events([("SET", "a", "1")], "") == []
    assert _events([("SET", "a", "1"), ("LPUSH", "l", "x")], "El") == [(b"__keyevent@0__:lpush", b"l")]


def test_a_hides_n_in_config_get_but_not_in_the_events() -> None:
    server = Redis()
    client = server.client()
    client.execute("CONFIG", "SET", "notify-keyspace-events", "KEAn")
    assert client.execute("CONFIG", "GET", "notify-keyspace-events") == (b"notify-keyspace-events", b"AKE")
    assert _keyevents([("SET", "a", "1")], "EAn") == [(b"new", b"a"), (b"set", b"a")]
    assert _keyevents([("SET", "a", "1")], "EA") == [(b"set", b"a")]


def test_pops_that_empty_a_key_send_del_after_the_pop() -> None:
    assert _keyevents([("RPUSH", "l", "a"), ("LPOP", "l")])[-2:] == [(b"lpop", b"l"), (b"del", b"l")]
    assert _keyevents([("SADD", "s", "a"), ("SPOP", "s")])[-2:] == [(b"spop", b"s"), (b"del", b"s")]
    assert _keyevents([("ZADD", "z", "1", "a"), ("ZPOPMAX", "z")])[-2:] == [(b"zpopmax", b"z"), (b"del", b"z")]
    assert _keyevents([("HSET", "h", "f", "v"), ("HDEL", "h", "f")])[-2:] == [(b"hdel", b"h"), (b"del", b"h")]


def test_lmove_pushes_to_the_destination_before_popping_the_source() -> None:
    assert _keyevents([("RPUSH", "a", "x"), ("LMOVE", "a", "b", "LEFT", "RIGHT")])[2:] == [
        (b"new", b"b"), (b"rpush", b"b"), (b"lpop", b"a"), (b"del", b"a")]


def test_set_with_a_ttl_and_expire_in_the_past() -> None:
    assert _keyevents([("SET", "a", "1", "EX", "10")]) == [(b"new", b"a"), (b"set", b"a"), (b"expire", b"a")]
    assert _keyevents([("SET", "a", "1"), ("EXPIRE", "a", "-1")])[2:] == [(b"del", b"a")]


def test_rename_sends_new_then_from_then_to() -> None:
    assert _keyevents([("SET", "a", "1"), ("SET", "b", "2"), ("RENAME", "a", "b")])[4:] == [
        (b"new", b"b"), (b"rename_from", b"a"), (b"rename_to", b"b")]


def test_move_and_copy_name_the_destination_db() -> None:
    assert _events([("SET", "a", "1"), ("MOVE", "a", "3")], "Eg") == [
        (b"__keyevent@0__:move_from", b"a"), (b"__keyevent@3__:move_to", b"a")]
    assert _events([("SET", "a", "1"), ("COPY", "a", "b", "DB", "2")], "Kg") == [(b"__keyspace@2__:b", b"copy_to")]


def test_lazy_and_active_expiry_send_expired() -> None:
    server = Redis(now=1000)
    sub, cmd = server.client(), server.client()
    sub.execute("PSUBSCRIBE", "*")
    cmd.execute("CONFIG", "SET", "notify-keyspace-events", "Ex")
    cmd.execute("SET", "a", "1", "PX", "10")
    cmd.execute("SET", "b", "1", "PX", "10")
    server.advance(20)
    cmd.execute("GET", "a")
    assert [frame[2:] for frame in sub.messages()] == [(b"__keyevent@0__:expired", b"a")]  # type: ignore[index]
    server.state = active_expire(server.state, server.now)
    assert [frame[2:] for frame in sub.messages()] == [(b"__keyevent@0__:expired", b"b")]  # type: ignore[index]


def test_config_set_in_a_transaction_applies_to_the_commands_after_it() -> None:
    lines = [("MULTI",), ("SET", "a", "1"), ("CONFIG", "SET", "notify-keyspace-events", "E$"), ("SET", "b", "1"),
             ("EXEC",)]
    assert _events(lines, "") == [(b"__keyevent@0__:set", b"b")]


def test_stream_consumers_created_implicitly_are_notified() -> None:
    lines = [("XADD", "s", "1-1", "f", "v"), ("XGROUP", "CREATE", "s", "g", "0"),
             ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"), ("XCLAIM", "s", "g", "d", "0", "1-1"),
             ("XAUTOCLAIM", "s", "g", "d", "0", "0")]
    assert _keyevents(lines, "Et") == [(b"xadd", b"s"), (b"xgroup-create", b"s"), (b"xgroup-createconsumer", b"s"),
                                       (b"xgroup-createconsumer", b"s")]


def test_the_flags_are_parsed_once_per_setting() -> None:
    assert event_flags(Map()) == 0
    assert event_flags(Map({b"notify-keyspace-events": b"AKE"})) & NEW == 0
    assert event_flags(Map({b"notify-keyspace-events": b"AKE", NEW_UNDER_ALL: b"n"})) & NEW == NEW
