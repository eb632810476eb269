"""The model's string, key, list and sorted-set commands added for issue #18 against redis-server 7.0.15:
SETRANGE GETRANGE SUBSTR GETEX SETEX PSETEX INCRBYFLOAT COPY TOUCH EXPIRETIME PEXPIRETIME LMPOP
ZMPOP ZUNION ZINTER ZDIFF ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZINTERCARD ZREMRANGEBYRANK
ZREMRANGEBYSCORE ZREMRANGEBYLEX (sheet items D4, D10, D15, D16).

Each command has a probe list (setup lines included) whose replies the model and a live server of
our own must give byte for byte, after a FLUSHALL, with the model's clock set to the machine's
before each line (GETEX/SETEX deadlines and TTLs depend on it).  The unit tests pin the corners
the probes found, so that they run without a server too.
"""

from __future__ import annotations

import time

import pytest
from conftest import RedisServer, live_replies

from redlin.model import (
    NULL_ARRAY,
    Error,
    Redis,
    Status,
    keys_of,
    lookup,
    sort_unordered,
)

OK = Status("OK")

PROBES: dict[str, list[tuple[str, ...]]] = {
    "setrange": [
        ('SETRANGE', 's', '0', 'abc'), ('SETRANGE', 's', '-1', 'x'), ('SETRANGE', 's', '536870912', 'x'),
        ('SETRANGE', 's', '536870911', ''), ('SETRANGE', 'm', '5', ''), ('EXISTS', 'm'),
        ('SETRANGE', 'm', '2', 'ab'), ('GET', 'm'), ('SETRANGE', 's', 'x', 'a'), ('SETRANGE', 's', '1', 'Z'),
        ('SETRANGE', 's', '5', 'tail'), ('GET', 's'),
    ],
    "getrange": [
        ('SETRANGE', 's', '0', 'abc'), ('SETRANGE', 's', '1', 'Z'), ('SETRANGE', 's', '5', 'tail'),
        ('GETRANGE', 's', '0', '-1'), ('GETRANGE', 's', '-100', '100'), ('GETRANGE', 's', '2', '1'),
        ('GETRANGE', 's', 'x', '1'), ('GETRANGE', 'nope', '0', '1'), ('GETRANGE', 's', '-1', '-5'),
        ('GETRANGE', 's', '-5', '-1'), ('GETRANGE', 's', '5', '10'), ('GETRANGE', 's', '100', '200'),
        ('GETRANGE', 's', '-9223372036854775808', '9223372036854775807'),
        ('GETRANGE', 's', '9223372036854775807', '-9223372036854775808'), ('SUBSTR', 's', '0', '1'),
        ('SET', 'e', ''), ('GETRANGE', 'e', '0', '-1'), ('GETRANGE', 'e', '-1', '-1'),
    ],
    "getex": [
        ('SETRANGE', 's', '0', 'abc'), ('SETRANGE', 's', '1', 'Z'), ('SETRANGE', 's', '5', 'tail'),
        ('GETEX', 's'), ('GETEX', 's', 'EX', '0'), ('GETEX', 's', 'ex', '-1'), ('GETEX', 's', 'px', 'x'),
        ('GETEX', 's', 'ex', '10', 'px', '10'), ('GETEX', 's', 'persist', 'ex', '5'), ('GETEX', 's', 'bad'),
        ('GETEX', 's', 'ex'), ('GETEX', 'nope', 'ex', '10'), ('GETEX', 'nope', 'ex', '0'),
        ('GETEX', 's', 'ex', '0', 'persist'), ('GETEX', 's', 'PERSIST', 'PERSIST'),
        ('GETEX', 's', 'ex', '1000', 'ex', '2000'), ('TTL', 's'), ('GETEX', 's', 'PERSIST'), ('TTL', 's'),
        ('GETEX', 's', 'px', '9223372036854775807'), ('GETEX', 's', 'pxat', '9223372036854775807'),
        ('GETEX', 's', 'EXAT', '4000000000'), ('GETEX', 's', 'exat', '9223372036854775807'),
        ('GETEX', 's', 'exat', '9223372036854775'), ('GETEX', 's', 'exat', '1'), ('EXISTS', 's'),
    ],
    "setex": [
        ('SETEX', 'k', '0', 'v'), ('SETEX', 'k', '-5', 'v'), ('SETEX', 'k', 'x', 'v'),
        ('SETEX', 'k', '9223372036854775807', 'v'), ('SETEX', 'k', '9223372036854775', 'v'),
        ('PSETEX', 'k', '0', 'v'), ('PSETEX', 'k', '9223372036854775807', 'v'),
        ('PSETEX', 'k', '10000000', 'v'), ('TTL', 'k'), ('SETEX', 'k', '100', 'v'), ('TTL', 'k'),
        ('SET', 'p', 'v', 'px', '9223372036854775000'), ('SET', 'p', 'v', 'ex', '9223372036854775'),
    ],
    "incrbyfloat": [
        ('INCRBYFLOAT', 'f', '1.5'), ('INCRBYFLOAT', 'f', 'x'), ('INCRBYFLOAT', 'f', 'inf'),
        ('INCRBYFLOAT', 'f', '1e308'), ('INCRBYFLOAT', 'f', '1e308'), ('INCRBYFLOAT', 'f', '0.1'),
        ('SET', 'g', ' 1'), ('INCRBYFLOAT', 'g', '1'), ('SET', 'g', '1e5'), ('INCRBYFLOAT', 'g', '0'),
        ('INCRBYFLOAT', 'f', 'nan'), ('INCRBYFLOAT', 'f', ''), ('INCRBYFLOAT', 'f', '5e-324'),
        ('SET', 'g', 'inf'), ('INCRBYFLOAT', 'g', '1'), ('SET', 'g', '1'), ('INCRBYFLOAT', 'g', '-inf'),
        ('INCRBYFLOAT', 'g', '1e5000'), ('INCRBYFLOAT', 'g', '0x10'), ('INCRBYFLOAT', 'g', '1 '),
        ('SET', 'g', '0x10'), ('INCRBYFLOAT', 'g', '1'), ('SET', 'e', ''), ('INCRBYFLOAT', 'e', '1'),
        ('SET', 'g', '1.0'), ('INCRBYFLOAT', 'g', '0'), ('INCRBYFLOAT', 'g', '1e-20'),
        ('INCRBYFLOAT', 'g', '0.1'), ('INCRBYFLOAT', 'g', '-0.30000000000000004'),
        ('INCRBYFLOAT', 'g', '3.0000000000000004'), ('INCRBYFLOAT', 'nf', '-0'),
        ('INCRBYFLOAT', 'g', '9223372036854775807'),
    ],
    "wrongtype": [
        ('LPUSH', 'L', 'a'), ('SETRANGE', 'L', '0', 'x'), ('SETRANGE', 'L', '0', ''),
        ('GETRANGE', 'L', '0', '1'), ('GETRANGE', 'L', 'x', '1'), ('GETEX', 'L'), ('GETEX', 'L', 'ex', '0'),
        ('INCRBYFLOAT', 'L', '1'), ('SETEX', 'L', '10000', 'v'), ('TYPE', 'L'), ('SETRANGE',), ('GETEX',),
        ('SETEX', 'k', '10'),
    ],
    "zunion": [
        ('ZADD', 'z1', '1', 'a', '2', 'b', '3', 'c'),
        ('ZADD', 'z2', '10', 'b', '20', 'c', '30', 'd', '40', 'e'), ('SADD', 's', 'c', 'd', 'e'),
        ('SET', 'str', 'v'), ('ZUNION', '2', 'z1', 'z2', 'WITHSCORES'),
        ('ZUNION', '2', 'z1', 's', 'withscores'), ('ZINTER', '2', 'z1', 's', 'withscores'),
        ('ZDIFF', '2', 'z1', 's', 'withscores'), ('ZUNION', '0', 'z1'), ('ZUNION', '-1', 'z1'),
        ('ZUNION', 'x', 'z1'), ('ZUNION', '3', 'z1', 'z2'), ('ZUNION', '2', 'z1', 'str'),
        ('ZUNION', '2', 'z1', 'str', 'bad'), ('ZUNION', '2', 'z1', 'z2', 'weights', '1'),
        ('ZUNION', '2', 'z1', 'z2', 'weights', '1', 'x'), ('ZUNION', '2', 'z1', 'z2', 'weights', '1', 'nan'),
        ('ZUNION', '2', 'z1', 'z2', 'weights', 'x', '1', 'aggregate', 'bad'),
        ('ZUNION', '2', 'z1', 'z2', 'weights', 'inf', '-inf', 'withscores'),
        ('ZUNION', '2', 'z1', 'z2', 'aggregate', 'max', 'withscores'),
        ('ZUNION', '2', 'z1', 'z2', 'aggregate', 'min', 'withscores'),
        ('ZINTER', '2', 'z1', 'z2', 'aggregate', 'max', 'withscores'),
        ('ZINTER', '2', 'z1', 'z2', 'weights', '0.1', '0.2', 'withscores'),
        ('ZUNION', '2', 'z1', 'z2', 'aggregate', 'bad'), ('ZUNION', '2', 'z1', 'z2', 'aggregate'),
        ('ZUNION', '2', 'z1', 'z2', 'bad'), ('ZDIFF', '2', 'z1', 'z2', 'weights', '1', '2'),
        ('ZDIFF', '2', 'z1', 'z2', 'aggregate', 'min'), ('ZDIFF', '2', 'z2', 'z1', 'withscores'),
        ('ZUNIONSTORE', 'd', '2', 'z1', 'z2', 'withscores'),
        ('ZUNIONSTORE', 'd', '2', 'z1', 'z2', 'weights', '2', '3'), ('ZRANGE', 'd', '0', '-1', 'withscores'),
        ('ZINTERSTORE', 'd', '2', 'z1', 'nope'), ('EXISTS', 'd'), ('ZDIFFSTORE', 'd', '1', 'z1'),
        ('ZDIFFSTORE', 'd', '0', 'z1'), ('ZINTERCARD', '2', 'z1', 'z2'),
        ('ZINTERCARD', '2', 'z1', 'z2', 'limit', '1'), ('ZINTERCARD', '2', 'z1', 'z2', 'limit', '-1'),
        ('ZINTERCARD', '2', 'z1', 'z2', 'limit', 'x'),
        ('ZINTERCARD', '2', 'z1', 'z2', 'limit', '1', 'limit', '0'),
        ('ZINTERCARD', '2', 'z1', 'z2', 'weights', '1', '1'), ('ZINTERCARD', '0', 'z1'),
        ('ZINTERCARD', '3', 'z1', 'z2'), ('ZINTERCARD', '2', 'z1', 'str'), ('ZINTERCARD', 'x', 'z1'),
        ('ZINTERCARD', '1', 's'),
        ('ZUNION', '2', 'z1', 'z2', 'weights', '1', '2', 'weights', '1', '1', 'withscores'),
        ('ZUNION', '2', 'z1', 'z2', 'withscores', 'withscores'), ('ZUNION', '1', 'nope'),
        ('ZUNION', '1', 'nope', 'withscores'), ('ZUNION', '9223372036854775807', 'z1'),
        ('ZUNION', '9223372036854775808', 'z1'), ('ZUNIONSTORE', 'd', '3', 'z1'),
        ('ZUNION', '2', 'z1', 'z2', 'weights'), ('ZUNION', '2', 'z1', 'z2', 'weights', '1', '2', '3'),
        ('ZADD', 'zz', '0', 'x', '1', 'y', '-0', 'w'), ('ZUNION', '1', 'zz', 'weights', '-1', 'withscores'),
        ('ZUNIONSTORE', 'd', '1', 'zz', 'weights', '-1'), ('ZRANGE', 'd', '0', '-1', 'withscores'),
        ('ZUNION', '2', 'z1', 'z2', 'weights', '-1', '0', 'withscores'),
        ('ZUNION', '3', 'z1', 'z2', 's', 'weights', '0.1', '0.2', '0.3', 'withscores'),
        ('ZUNION', '3', 'z1', 'z2', 's', 'weights', '0.1', '0.7', '0.3', 'withscores'),
        ('ZINTERSTORE', 'str', '1', 'z1'), ('TYPE', 'str'), ('ZINTERSTORE', 's', '2', 's', 'z1'),
        ('ZRANGE', 's', '0', '-1', 'WITHSCORES'), ('ZUNIONSTORE', 'z1', '2', 'z1', 'z1'),
        ('ZRANGE', 'z1', '0', '-1', 'WITHSCORES'),
    ],
    "zmpop": [
        ('ZADD', 'z1', '1', 'a', '2', 'b', '3', 'c'),
        ('ZADD', 'z2', '10', 'b', '20', 'c', '30', 'd', '40', 'e'), ('SADD', 's', 'c', 'd', 'e'),
        ('SET', 'str', 'v'), ('ZMPOP', '1', 'z1', 'min'), ('ZMPOP', '2', 'nope', 'z1', 'max', 'count', '5'),
        ('ZMPOP', '0', 'z1', 'min'), ('ZMPOP', 'x', 'z1', 'min'), ('ZMPOP', '3', 'z1', 'min'),
        ('ZMPOP', '1', 'z1', 'up'), ('ZMPOP', '1', 'z1', 'min', 'count', '0'),
        ('ZMPOP', '1', 'z1', 'min', 'count', 'x'), ('ZMPOP', '1', 'z1', 'min', 'count', '1', 'count', '1'),
        ('ZMPOP', '1', 'z1', 'min', 'count'), ('ZMPOP', '1', 'nope', 'min'), ('SET', 'str', 'v'),
        ('ZMPOP', '1', 'str', 'min'), ('SADD', 'st', 'a'), ('ZMPOP', '1', 'st', 'min'),
        ('ZMPOP', '2', 'z2', 'str', 'MAX'), ('ZMPOP', '2', 'nope', 'str', 'MAX'),
        ('ZMPOP', '1', 'z2', 'MIN', 'COUNT', '9223372036854775807'), ('EXISTS', 'z2'),
    ],
    "lmpop": [
        ('SET', 'str', 'v'), ('RPUSH', 'l', 'a', 'b', 'c'), ('RPUSH', 'l2', 'x'), ('LMPOP', '1', 'l', 'left'),
        ('LMPOP', '2', 'nope', 'l', 'right', 'count', '2'), ('LMPOP', '0', 'l', 'left'),
        ('LMPOP', '-1', 'l', 'left'), ('LMPOP', 'x', 'l', 'left'), ('LMPOP', '3', 'l', 'left'),
        ('LMPOP', '1', 'l', 'up'), ('LMPOP', '1', 'l', 'left', 'count', '0'),
        ('LMPOP', '1', 'l', 'left', 'count', '-1'), ('LMPOP', '1', 'l', 'left', 'count', 'x'),
        ('LMPOP', '1', 'l', 'left', 'count', '1', 'count', '2'), ('LMPOP', '1', 'l', 'left', 'bad'),
        ('LMPOP', '1', 'nope', 'left'), ('LMPOP', '2', 'str', 'l', 'left'),
        ('LMPOP', '2', 'nope', 'str', 'left'), ('LMPOP', '1', 'l', 'left', 'count', '10'), ('EXISTS', 'l'),
        ('LMPOP', '1', 'l'), ('LMPOP', '1', 'l2', 'left', 'count'),
        ('LMPOP', '1', 'l2', 'left', 'count', '9223372036854775807'),
        ('LMPOP', '1', 'l2', 'left', 'COUNT', '2147483648'), ('RPUSH', 'l3', 'a', 'b', 'c', 'd'),
        ('LMPOP', '1', 'l3', 'RIGHT', 'COUNT', '3'), ('LRANGE', 'l3', '0', '-1'),
    ],
    "copy": [
        ('ZADD', 'z1', '1', 'a', '2', 'b', '3', 'c'),
        ('ZADD', 'z2', '10', 'b', '20', 'c', '30', 'd', '40', 'e'), ('SADD', 's', 'c', 'd', 'e'),
        ('SET', 'str', 'v'), ('ZADD', 'zz', '0', 'x', '1', 'y', '-0', 'w'), ('SET', 's1', 'v'),
        ('EXPIRE', 's1', '1000'), ('COPY', 's1', 's1'), ('COPY', 's1', 'd1'), ('COPY', 's1', 'd1'),
        ('TTL', 'd1'), ('COPY', 's1', 'd1', 'replace'), ('COPY', 's1', 'd1', 'db', '1'),
        ('COPY', 's1', 'd1', 'db', '16'), ('COPY', 's1', 'd1', 'db', 'x'), ('COPY', 's1', 'd1', 'db', '-1'),
        ('COPY', 's1', 'd1', 'db', '2147483648'), ('COPY', 's1', 's1', 'db', '1'), ('COPY', 's1', 'd1', 'bad'),
        ('COPY', 's1', 'd1', 'db'), ('COPY', 'nope', 'd1'), ('COPY', 's1', 's1', 'db', '0'),
        ('COPY', 's1', 'd1', 'replace', 'replace'), ('COPY', 's1', 'd1', 'db', '0', 'db', '1'),
        ('COPY', 'z2', 'zc'), ('COPY', 'zz', 'zc', 'replace'), ('ZRANGE', 'zc', '0', '-1', 'WITHSCORES'),
        ('COPY', 's1', 'd1', 'db', '99', 'bad'), ('COPY', 'nope', 'nope'), ('COPY',), ('SELECT', '1'),
        ('GET', 'd1'), ('GET', 's1'), ('COPY', 's1', 's1'), ('SELECT', '0'),
    ],    "zremrangeby": [
        ('ZADD', 'z', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e'), ('ZREMRANGEBYRANK', 'z', '1', '2'),
        ('ZRANGE', 'z', '0', '-1', 'WITHSCORES'), ('ZREMRANGEBYRANK', 'z', '-1', '-1'),
        ('ZREMRANGEBYRANK', 'z', '5', '10'), ('ZREMRANGEBYRANK', 'z', '2', '1'),
        ('ZREMRANGEBYRANK', 'z', 'x', '1'), ('ZREMRANGEBYRANK', 'nope', '0', '-1'),
        ('ZREMRANGEBYRANK', 'z', '-100', '100'), ('EXISTS', 'z'),
        ('ZADD', 'z', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e'), ('ZREMRANGEBYSCORE', 'z', '(1', '3'),
        ('ZREMRANGEBYSCORE', 'z', 'x', '3'), ('ZREMRANGEBYSCORE', 'z', '3', '1'),
        ('ZREMRANGEBYSCORE', 'nope', '-inf', '+inf'), ('ZREMRANGEBYSCORE', 'nope', 'x', '1'),
        ('ZREMRANGEBYSCORE', 'z', '-inf', '(5'), ('ZRANGE', 'z', '0', '-1', 'WITHSCORES'),
        ('ZREMRANGEBYSCORE', 'z', '5', '+inf'), ('EXISTS', 'z'),
        ('ZADD', 'z', '0', 'a', '0', 'b', '0', 'c', '0', 'd', '1', 'x'), ('ZREMRANGEBYLEX', 'z', '[b', '(d'),
        ('ZREMRANGEBYLEX', 'z', 'x', 'y'), ('ZREMRANGEBYLEX', 'nope', 'x', 'y'),
        ('ZREMRANGEBYLEX', 'z', '-', '+'), ('EXISTS', 'z'),
        ('ZADD', 'z', '0', 'a', '0', 'b', '0', 'c', '0', 'd', '1', 'x'), ('ZREMRANGEBYLEX', 'z', '(a', '[c'),
        ('ZRANGE', 'z', '0', '-1'), ('ZREMRANGEBYLEX', 'z', '+', '-'), ('SET', 'str', 'v'),
        ('ZREMRANGEBYRANK', 'str', '0', '1'), ('ZREMRANGEBYSCORE', 'str', '0', '1'),
        ('ZREMRANGEBYLEX', 'str', '-', '+'), ('ZREMRANGEBYRANK', 'str', 'x', '1'),
    ],
    "touch_expiretime": [
        ('SET', 'a', '1'), ('SET', 'b', '2'), ('PEXPIREAT', 'b', '99999999999000'),
        ('TOUCH', 'a', 'b', 'nope', 'a'), ('EXPIRETIME', 'a'), ('EXPIRETIME', 'b'), ('PEXPIRETIME', 'b'),
        ('EXPIRETIME', 'nope'), ('PEXPIRETIME', 'nope'), ('PEXPIREAT', 'a', '99999999999499'),
        ('EXPIRETIME', 'a'), ('PEXPIREAT', 'a', '99999999999500'), ('EXPIRETIME', 'a'), ('PEXPIRETIME', 'a'),
    ],
}
"""Per command, the lines sent to both the model and the server (every reply was checked on 7.0.15)."""


@pytest.mark.redis
@pytest.mark.parametrize("name", sorted(PROBES))
def test_probes_match_a_live_server(redis_server: RedisServer, name: str) -> None:
    server = Redis()
    model = server.client()
    with live_replies(redis_server, timeout=10) as live:
        live(("FLUSHALL",))
        for argv in PROBES[name]:
            server.now = int(time.time() * 1000)
            expected, got = live(argv), model.execute(*argv)
            spec = lookup([argv[0].encode()])
            if spec is not None and "unordered" in spec.flags:
                pairs = "pairs" in spec.flags
                expected, got = sort_unordered(expected, pairs), sort_unordered(got, pairs)  # type: ignore[arg-type]
            assert got == expected, argv
        live(("FLUSHALL",))


# --------------------------------------------------------------------- corners, without a server


def test_D4_expire_times_out_of_range() -> None:
    server = Redis(now=1_700_000_000_000)
    a = server.client()
    for line in [("SETEX", "k", 9223372036854775, "v"), ("PSETEX", "k", 9223372036854775807, "v"),
                 ("SET", "k", "v", "PX", 9223372036854775000), ("SETEX", "k", 0, "v")]:
        assert a.execute(*line) == Error(f"ERR invalid expire time in '{str(line[0]).lower()}' command"), line
    a.execute("SET", "k", "v")
    assert a.execute("GETEX", "k", "PX", 9223372036854775807) == Error("ERR invalid expire time in 'getex' command")
    assert a.execute("GETEX", "nope", "EX", 0) is None  # a missing key answers before the time is checked
    assert a.execute("GETEX", "k", "EXAT", 1) == b"v"  # a deadline already past deletes at once
    assert a.execute("EXISTS", "k") == 0


def test_getex_sets_and_removes_the_deadline() -> None:
    server = Redis(now=1000)
    a = server.client()
    a.execute("SET", "k", "v")
    assert a.execute("GETEX", "k", "EX", 100) == b"v"
    assert a.execute("PTTL", "k") == 100_000
    assert a.execute("GETEX", "k", "PERSIST", "PERSIST") == b"v"
    assert a.execute("TTL", "k") == -1
    assert a.execute("GETEX", "k", "EX", 1, "PX", 1) == Error("ERR syntax error")


def test_setrange_and_getrange_corners() -> None:
    a = Redis().client()
    assert a.execute("SETRANGE", "m", 5, "") == 0
    assert a.execute("EXISTS", "m") == 0  # an empty value creates nothing
    assert a.execute("SETRANGE", "m", 2, "ab") == 4
    assert a.execute("GET", "m") == b"\x00\x00ab"
    assert a.execute("SETRANGE", "m", -1, "x") == Error("ERR offset is out of range")
    assert a.execute("SETRANGE", "m", 536870912, "x") == Error(
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    assert a.execute("GETRANGE", "m", -1, -5) == b""
    assert a.execute("SUBSTR", "m", -2, 100) == b"ab"


def test_D15_incrbyfloat_long_double_and_errors() -> None:
    a = Redis().client()
    assert a.execute("INCRBYFLOAT", "f", "1.5") == b"1.5"
    assert a.execute("INCRBYFLOAT", "f", "inf") == Error("ERR increment would produce NaN or Infinity")
    assert a.execute("INCRBYFLOAT", "f", "nan") == Error("ERR value is not a valid float")
    a.execute("SET", "g", "0x10")
    assert a.execute("INCRBYFLOAT", "g", 1) == b"17"


def test_zset_algebra_scores() -> None:
    a = Redis().client()
    a.execute("ZADD", "z1", 1, "a", 2, "b", 3, "c")
    a.execute("ZADD", "z2", 10, "b", 20, "c", 30, "d")
    a.execute("SADD", "s", "c", "d")
    assert a.execute("ZUNION", 2, "z1", "s", "WITHSCORES") == (b"a", b"1", b"d", b"1", b"b", b"2", b"c", b"4")
    assert a.execute("ZINTER", 2, "z1", "z2", "WEIGHTS", "inf", "-inf", "WITHSCORES") == (b"b", b"0", b"c", b"0")
    assert a.execute("ZDIFF", 2, "z2", "z1", "WITHSCORES") == (b"d", b"30")
    assert a.execute("ZUNION", 0, "z1") == Error("ERR at least 1 input key is needed for 'zunion' command")
    assert a.execute("ZINTERCARD", 2, "z1", "z2", "LIMIT", 1) == 1
    assert a.execute("ZINTERSTORE", "d", 2, "z1", "nope") == 0
    assert a.execute("ZMPOP", 2, "nope", "z1", "MAX", "COUNT", 5) == (b"z1", ((b"c", b"3"), (b"b", b"2"), (b"a", b"1")))
    assert a.execute("ZMPOP", 1, "z1", "MIN") is NULL_ARRAY


def test_lmpop_and_copy() -> None:
    a = Redis().client()
    a.execute("RPUSH", "l", "a", "b", "c")
    assert a.execute("LMPOP", 2, "nope", "l", "RIGHT", "COUNT", 2) == (b"l", (b"c", b"b"))
    assert a.execute("LMPOP", 1, "l", "LEFT", "COUNT", 0) == Error("ERR count should be greater than 0")
    a.execute("SET", "s", "v")
    assert a.execute("COPY", "s", "s") == Error("ERR source and destination objects are the same")
    assert a.execute("COPY", "s", "d", "DB", 1) == 1
    assert a.execute("COPY", "s", "d", "DB", 16, "BAD") == Error("ERR DB index is out of range")
    assert a.execute("SELECT", 1) == OK
    assert a.execute("GET", "d") == b"v"


@pytest.mark.parametrize(("argv", "keys"), [
    (("LMPOP", "2", "a", "b", "LEFT"), ("a", "b")),
    (("ZMPOP", "1", "a", "MIN", "COUNT", "2"), ("a",)),
    (("ZUNION", "2", "a", "b", "WEIGHTS", "1", "2"), ("a", "b")),
    (("ZUNIONSTORE", "d", "2", "a", "b"), ("d", "a", "b")),
    (("ZDIFFSTORE", "d", "3", "a"), ()),  # an invalid numkeys names no key: the command fails
    (("ZINTERCARD", "x", "a"), ()),
    (("COPY", "a", "b", "REPLACE"), ("a", "b")),
    (("GETEX", "a", "PERSIST"), ("a",)),
])
def test_keys_of_numkeys_commands(argv: tuple[str, ...], keys: tuple[str, ...]) -> None:
    assert keys_of([word.encode() for word in argv]) == tuple(key.encode() for key in keys)
