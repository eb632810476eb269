"""The model's BLMPOP, BZPOPMIN, BZPOPMAX and BZMPOP (issue #18) against redis-server 7.0.15 (sheet M15).

The probes never make the live server block: every pop finds data, fails on its arguments, or runs
inside MULTI/EXEC or a script, where Redis answers an empty wait with the null array at once.  The
unit tests pin the corners so they run without a server too; the waits themselves are the embedded
server's (tests/test_serve_blocking.py).
"""

from __future__ import annotations

import pytest
from conftest import RedisServer, live_replies

from redlin.model import NULL_ARRAY, Error, Redis, Status, keys_of, lookup, to_resp3
from redlin.model._lists import DOES_NOT_BLOCK

PROBES: dict[str, list[tuple[str, ...]]] = {
    "blmpop": [
        ('RPUSH', 'l', 'a', 'b', 'c'), ('BLMPOP', '0', '2', 'nol', 'l', 'LEFT'),
        ('BLMPOP', '0', '1', 'l', 'RIGHT', 'COUNT', '10'), ('EXISTS', 'l'),
        ('BLMPOP', '0', '0', 'l', 'LEFT'), ('BLMPOP', '0', '-1', 'l', 'LEFT'), ('BLMPOP', '0', 'x', 'l', 'LEFT'),
        ('BLMPOP', '0', '2', 'l', 'LEFT'), ('BLMPOP', '0', '1', 'l', 'MIDDLE'),
        ('BLMPOP', '0', '1', 'l', 'LEFT', 'COUNT', '0'), ('BLMPOP', '0', '1', 'l', 'LEFT', 'COUNT', '-1'),
        ('BLMPOP', '0', '1', 'l', 'LEFT', 'COUNT', 'x'), ('BLMPOP', '0', '1', 'l', 'LEFT', 'COUNT'),
        ('BLMPOP', '0', '1', 'l', 'LEFT', 'COUNT', '1', 'COUNT', '1'), ('BLMPOP', 'x', '1', 'l', 'LEFT'),
        ('BLMPOP', '-1', '1', 'l', 'LEFT'), ('BLMPOP', 'inf', '1', 'l', 'LEFT'),
        ('BLMPOP', '-1', '0', 'l', 'LEFT'), ('BLMPOP', 'x', '1', 'l', 'MIDDLE'), ('BLMPOP', '0', '1', 'l'),
        ('SET', 's', 'v'), ('RPUSH', 'l2', 'x', 'y', 'z'), ('BLMPOP', '0', '2', 's', 'l2', 'LEFT'),
        ('BLMPOP', '0', '2', 'l2', 's', 'LEFT'), ('BLMPOP', '0', '1', 'l2', 'left', 'count', '5'),
        ('MULTI',), ('BLMPOP', '0', '1', 'l', 'LEFT'), ('BLMPOP', '0', '1', 'x', 'LEFT'), ('EXEC',),
        ('EVAL', "return redis.pcall('blmpop', 0, 1, 'l', 'left')", '0'),
        ('EVAL', "return redis.pcall('blmpop', 0, 1, 's', 'left')", '0'), ('BLMPOP', '0.01'),
    ],
    "bzpop": [
        ('ZADD', 'z', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e'), ('BZPOPMIN', 'noz', 'z', '0'),
        ('BZPOPMAX', 'z', '0.5'),
        ('BZPOPMIN', 'z', '-1'), ('BZPOPMIN', 'z', 'x'), ('BZPOPMIN', 'z', 'inf'), ('BZPOPMIN', 'z', '1e400'),
        ('BZPOPMIN', 'z', '0x10'), ('BZPOPMAX', 'z', '1.5'), ('EXISTS', 'z'), ('SET', 's', 'v'),
        ('ZADD', 'z', '-0', 'm'), ('BZPOPMIN', 's', 'z', '0'), ('BZPOPMIN', 'z', 's', '0'), ('BZPOPMIN', 'z'),
        ('MULTI',), ('BZPOPMIN', 'z', '0'), ('BZPOPMAX', 'z', 's', '0'), ('EXEC',),
        ('EVAL', "return redis.pcall('bzpopmin', 'z', 0)", '0'),
        ('EVAL', "return redis.pcall('bzpopmax', 'z', 0)", '0'),
    ],
    "bzmpop": [
        ('ZADD', 'z', '1', 'a', '2', 'b', '3.5', 'c'), ('BZMPOP', '0', '2', 'noz', 'z', 'MIN'),
        ('BZMPOP', '0', '1', 'z', 'MAX', 'COUNT', '10'), ('EXISTS', 'z'), ('BZMPOP', '0', '0', 'z', 'MIN'),
        ('BZMPOP', '0', '1', 'z', 'LEFT'), ('BZMPOP', '0', '1', 'z', 'MIN', 'COUNT', '0'),
        ('BZMPOP', 'x', '1', 'z', 'MIN'), ('BZMPOP', '-1', '1', 'z', 'MIN'), ('BZMPOP', '0', '3', 'z', 'MIN'),
        ('SET', 's', 'v'), ('BZMPOP', '0', '1', 's', 'min'), ('MULTI',), ('BZMPOP', '0', '1', 'z', 'MIN'),
        ('EXEC',), ('EVAL', "return redis.pcall('bzmpop', 0, 1, 'z', 'min')", '0'), ('BZMPOP', '1', '1'),
    ],
}
"""Per family, the lines sent to both the model and the server (every reply was checked on 7.0.15)."""


@pytest.mark.redis
@pytest.mark.parametrize("name", sorted(PROBES))
def test_probes_match_a_live_server(redis_server: RedisServer, name: str) -> None:
    model = Redis().client()
    with live_replies(redis_server, timeout=10) as live:
        live(("FLUSHALL",))
        for argv in PROBES[name]:
            assert model.execute(*argv) == live(argv), argv
        live(("FLUSHALL",))


@pytest.mark.redis
def test_resp3_shapes_match_a_live_server(redis_server: RedisServer) -> None:
    model = Redis().client()
    lines = [('ZADD', 'z', '1', 'a', '2', 'b', '3', 'c'), ('BZPOPMIN', 'z', '0'), ('BZMPOP', '0', '1', 'z', 'MAX'),
             ('RPUSH', 'l', 'x'), ('BLMPOP', '0', '1', 'l', 'LEFT'), ('MULTI',), ('BZPOPMAX', 'z', '0'),
             ('BZMPOP', '0', '1', 'z', 'MIN'), ('BZMPOP', '0', '1', 'no', 'MIN'), ('EXEC',)]
    with live_replies(redis_server, timeout=10) as live:
        live(("FLUSHALL",))
        live(("HELLO", "3"))
        model.execute("HELLO", "3")
        queued: list[tuple[bytes, ...]] = []
        for argv in lines:
            raw = tuple(word.encode() for word in argv)
            got = model.execute(*argv)
            if argv[0] == "MULTI":
                queued = []
            elif argv[0] != "EXEC":
                queued.append(raw)
            expected = live(argv)
            assert to_resp3(raw, got, queued if argv[0] == "EXEC" else ()) == expected, argv
        live(("FLUSHALL",))


# --------------------------------------------------------------------- corners, without a server


def test_pops_find_data_in_key_order() -> None:
    c = Redis().client()
    c.execute("RPUSH", "l", "a", "b", "c")
    assert c.execute("BLMPOP", "0", "2", "nol", "l", "RIGHT", "COUNT", "2") == (b"l", (b"c", b"b"))
    c.execute("ZADD", "z", "1", "a", "2", "b")
    assert c.execute("BZPOPMAX", "noz", "z", "0") == (b"z", b"b", b"2")
    assert c.execute("BZMPOP", "0", "1", "z", "MIN", "COUNT", "3") == (b"z", ((b"a", b"1"),))
    assert c.execute("EXISTS", "z") == 0  # the last member deletes the key


def test_empty_keys_block_only_where_redis_may_block() -> None:
    c = Redis().client()
    for argv in (("BLMPOP", "0", "1", "l", "LEFT"), ("BZPOPMIN", "z", "0"), ("BZPOPMAX", "z", "1"),
                 ("BZMPOP", "0", "1", "z", "MAX")):
        assert c.execute(*argv) == DOES_NOT_BLOCK
        c.execute("MULTI")
        c.execute(*argv)
        assert c.execute("EXEC") == (NULL_ARRAY,)  # M15: a timeout at once
    assert c.execute("EVAL", "return redis.pcall('bzmpop', 0, 1, 'z', 'min')", "0") is None
    assert c.execute("EVAL", "return redis.pcall('bzpopmin', 'z', 0)", "0") == Error(
        "ERR This Redis command is not allowed from script")


def test_argument_errors_come_in_redis_order() -> None:
    c = Redis().client()
    c.execute("SET", "s", "v")
    # [B]LMPOP: numkeys, side and COUNT before the timeout; BZPOPMIN: the timeout before the keys.
    assert c.execute("BLMPOP", "x", "0", "s", "LEFT") == Error("ERR numkeys should be greater than 0")
    assert c.execute("BZMPOP", "x", "1", "s", "MIDDLE") == Error("ERR syntax error")
    assert c.execute("BZMPOP", "-1", "1", "s", "MIN") == Error("ERR timeout is negative")
    assert c.execute("BZPOPMIN", "s", "nan") == Error("ERR timeout is not a float or out of range")
    assert c.execute("BZPOPMIN", "s", "0") == Error("WRONGTYPE Operation against a key holding the wrong kind "
                                                    "of value")
    assert c.execute("BLMPOP", "0", "1", "l", "LEFT", "COUNT", "1", "COUNT", "1") == Error("ERR syntax error")
    assert c.execute("MULTI") == Status("OK")
    assert c.execute("BZPOPMIN", "z") == Error("ERR wrong number of arguments for 'bzpopmin' command")
    c.execute("DISCARD")


@pytest.mark.parametrize(("argv", "keys"), [
    (("BLMPOP", "0", "2", "a", "b", "LEFT"), ("a", "b")),
    (("BZMPOP", "1.5", "1", "z", "MIN", "COUNT", "2"), ("z",)),
    (("BZPOPMIN", "a", "b", "0"), ("a", "b")),
    (("BZPOPMAX", "a", "0"), ("a",)),
    (("BLMPOP", "0", "x", "a", "LEFT"), ()),
])
def test_keys_of_blocking_pops(argv: tuple[str, ...], keys: tuple[str, ...]) -> None:
    assert keys_of([word.encode() for word in argv]) == tuple(key.encode() for key in keys)


def test_flags_follow_command_info() -> None:
    flags = {name: lookup([name.encode()]).flags for name in ("blmpop", "bzpopmin", "bzpopmax", "bzmpop")}  # type: ignore[union-attr]
    assert "noscript" in flags["bzpopmin"] and "noscript" in flags["bzpopmax"]
    assert "noscript" not in flags["blmpop"] and "noscript" not in flags["bzmpop"]
    assert all("blocking" in words and "write" in words for words in flags.values())
