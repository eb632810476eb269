"""The model's HyperLogLog commands (PFADD PFCOUNT PFMERGE PFDEBUG PFSELFTEST) against redis-server 7.0.15.

A HyperLogLog is a string: after every line the probes compare not only the replies but the bytes
GET shows (header, cached cardinality, sparse opcodes, dense registers), so the model must edit the
sparse representation, promote it to dense and cache the cardinality exactly as hyperloglog.c does.
Corrupted values are set by SET.  The unit tests pin what the probes found, without a server.

The server is Debian's 7.0.15, which carries the CVE-2025-32023 fix: a sparse value whose opcodes
run past register 16383 is corrupted even when the overflowing opcode is a final VAL
(``test_an_opcode_running_past_the_end_is_corrupted``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest
from conftest import RedisServer, live_replies

from redlin.model import NULL_ARRAY, Error, Redis, Status, keys_of, lookup
from redlin.model._hll_encoding import (
    DENSE_SIZE,
    REGISTERS,
    START,
    Corrupted,
    Sketch,
    dense_bytes,
    dense_registers,
    estimate,
    murmur64a,
    new_hll,
    pattern,
    signed,
)

OK = Status("OK")
NOT_HLL = Error("WRONGTYPE Key is not a valid HyperLogLog string value.")
WRONGTYPE = Error("WRONGTYPE Operation against a key holding the wrong kind of value")
INVALIDOBJ = Error("INVALIDOBJ Corrupted HLL object detected")


def elements(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(count))


def sparse(*opcodes: int, card: bytes = bytes(8)) -> bytes:
    """A sparse HyperLogLog value with the given opcode bytes."""
    return b"HYLL\x01\x00\x00\x00" + card + bytes(opcodes)


HIGH = "z220898338"  # hashes to register 14063 with a run of 33: above the sparse maximum, 32
STALE = bytes(7) + b"\x80"  # a cached cardinality marked stale: PFCOUNT recomputes it
XZERO_ALL = (0x7F, 0xFF)  # one XZERO covering the 16384 registers
# A first register of value 3, then zeros: VAL(3,1) XZERO(16383).
ONE_REGISTER = sparse(0x88, 0x7F, 0xFE, card=STALE)
# VAL(5,1) then XZERO(16383) then a VAL(2,1) past the end.
PAST_THE_END = sparse(0x90, 0x7F, 0xFE, 0x84, card=STALE)
# Covers 16383 registers only.
TOO_SHORT = sparse(0x7F, 0xFE, card=STALE)
# An XZERO cut short by the end of the string: Redis reads the NUL after it (0x3f00 + 1 = 16129).
CUT_XZERO = sparse(0x40, 0xFE, 0x7F, card=STALE)
# Eight opcodes, then VAL(2,1) VAL(3,1) ZERO(1) VAL(3,1) VAL(5,1) at registers 9 to 13, then zeros.
# Merging registers 11=3 and 12=5 into it: the first set merges registers 10-12 into one VAL, so the
# second one finds its opcode where the previous scan's ``prev`` was, and must merge from the opcode
# before it (hllSparseSet's step 4), joining the two VAL(5,1).
CROWDED = sparse(*(0x80, 0x00) * 4, 0x00, 0x84, 0x88, 0x00, 0x88, 0x90, 0x7F, 0xF1, card=STALE)
CROWDED_SOURCE = sparse(0x40, 0x0A, 0x88, 0x90, 0x7F, 0xF2, card=STALE)  # XZERO(11) VAL(3,1) VAL(5,1) XZERO
DENSE_ZERO = b"HYLL\x00\x00\x00\x00" + bytes(8) + bytes(DENSE_SIZE - 16)


def dense(registers: Sequence[int]) -> bytes:
    """A dense value with a stale cache holding ``registers``."""
    return b"HYLL\x00\x00\x00\x00" + STALE + dense_bytes(registers)
DENSE_HIGH = b"HYLL\x00\x00\x00\x00" + bytes(7) + b"\x80" + b"\x28" + bytes(DENSE_SIZE - 17)  # register 0 = 40

# Corrupted dense registers whose estimate is huge or overflows (llroundl of infinity or >= 2^63).
CORNER_REGISTERS = ([63] * REGISTERS, [51] * REGISTERS, [51] * (REGISTERS - 1) + [1], [63] * 16000 + [1] * 384,
                    [40] * REGISTERS, [30] * REGISTERS, [50] * REGISTERS, [1] * REGISTERS, [52] * 8192 + [0] * 8192)

PROBES: dict[str, list[tuple[str | bytes, ...]]] = {
    "pfadd": [
        ("PFADD", "h"), ("GET", "h"), ("PFADD", "h"), ("PFADD", "h", "x"), ("GET", "h"), ("PFADD", "h", "x"),
        ("PFADD", "h", "a", "b", "c", "a"), ("GET", "h"), ("PFADD", "n", "", "\x00\xff", "x" * 300), ("GET", "n"),
        ("SET", "s", "abc"), ("PFADD", "s", "x"), ("SET", "i", "12345678901234567"), ("PFADD", "i", "x"),
        ("LPUSH", "l", "a"), ("PFADD", "l", "x"), ("PFCOUNT", "l"), ("PFMERGE", "l"), ("PFMERGE", "d", "l"),
        ("EXISTS", "d"),
    ],
    "pfcount": [
        ("PFCOUNT", "nope"), ("PFCOUNT", "nope", "nope2"), ("PFADD", "h", *elements("a", 30)), ("GET", "h"),
        ("PFCOUNT", "h"), ("GET", "h"), ("PFCOUNT", "h"), ("PFADD", "h", "a0"), ("GET", "h"),
        ("PFADD", "h", "zz"), ("GET", "h"), ("PFADD", "g", *elements("b", 30)), ("PFCOUNT", "h", "g"),
        ("GET", "h"), ("GET", "g"), ("PFCOUNT", "h", "nope", "g"), ("PFCOUNT", "g", "g"), ("SET", "s", "x"),
        ("PFCOUNT", "h", "s"), ("PFCOUNT", "s"),
    ],
    "pfmerge": [
        ("PFMERGE", "e"), ("GET", "e"), ("PFADD", "s1", *elements("a", 100)), ("PFADD", "s2", *elements("b", 100)),
        ("PFMERGE", "d", "s1", "s2"), ("GET", "d"), ("PFCOUNT", "d"), ("GET", "d"), ("PFMERGE", "d", "s1"),
        ("GET", "d"), ("PFMERGE", "s1", "s2"), ("GET", "s1"), ("PFMERGE", "s2"), ("GET", "s2"),
        ("PFADD", "big", *elements("e", 3000)), ("PFMERGE", "m", "s2", "big"), ("GET", "m"),
        ("PFMERGE", "s2", "big"), ("GET", "s2"), ("PFCOUNT", "s2"), ("PFCOUNT", "s2", "nope", "big"),
        ("EXPIRE", "s2", "1000"), ("PFMERGE", "s2", "d"), ("TTL", "s2"),
    ],
    "promotion": [
        ("PFADD", "p", *elements("c", 1500)), ("STRLEN", "p"), ("GET", "p"), ("PFCOUNT", "p"),
        ("PFADD", "p", *elements("c", 2000)), ("STRLEN", "p"), ("GET", "p"), ("PFCOUNT", "p"), ("GET", "p"),
        ("PFADD", "q", *elements("d", 900)), ("PFADD", "r", *elements("f", 900)), ("PFMERGE", "qr", "q", "r"),
        ("STRLEN", "qr"), ("GET", "qr"), ("PFADD", "big", *elements("e", 5000)), ("GET", "big"),
        ("PFCOUNT", "big"), ("GET", "big"), ("PFADD", "big", *elements("e", 5000)), ("PFCOUNT", "big"),
        ("PFCOUNT", "big", "q", "r", "p"), ("PFADD", "t", "a", HIGH), ("GET", "t"), ("PFCOUNT", "t"),
        ("PFADD", "u", *elements("a", 50)), ("PFADD", "u", HIGH, "b"), ("GET", "u"), ("PFMERGE", "v", "q", "t"),
        ("GET", "v"), ("PFCOUNT", "t", "q"),
    ],
    "corrupted": [
        ("SET", "short", "HYLL\x01"), ("PFADD", "short", "x"), ("PFCOUNT", "short"),
        ("SET", "magic", b"HYLX" + sparse(*XZERO_ALL)[4:]), ("PFADD", "magic", "x"),
        ("SET", "enc", b"HYLL\x02" + sparse(*XZERO_ALL)[5:]), ("PFCOUNT", "enc"),
        ("SET", "dshort", DENSE_ZERO[:-1]), ("PFCOUNT", "dshort"), ("SET", "empty", sparse()),
        ("PFADD", "empty", "x"), ("PFADD", "empty"), ("PFCOUNT", "empty"), ("PFMERGE", "d", "empty"),
        ("SET", "short2", TOO_SHORT), ("PFCOUNT", "short2"), ("PFCOUNT", "short2", "nope"),
        ("PFADD", "short2", "x"), ("GET", "short2"), ("PFADD", "short2", "a", "y1326", "b"),
        ("GET", "short2"), ("SET", "past", PAST_THE_END), ("PFCOUNT", "past"), ("PFCOUNT", "past", "nope"),
        ("PFMERGE", "d2", "past"), ("EXISTS", "d2"), ("PFADD", "past", "x"), ("GET", "past"),
        ("SET", "cut", CUT_XZERO), ("PFCOUNT", "cut"), ("PFDEBUG", "DECODE", "cut"), ("PFADD", "cut", "x"),
        ("GET", "cut"), ("SET", "one", ONE_REGISTER), ("PFCOUNT", "one"), ("GET", "one"),
        ("PFMERGE", "one", "one"), ("GET", "one"), ("SET", "hi", DENSE_HIGH), ("PFCOUNT", "hi"),
        ("GET", "hi"), ("PFMERGE", "m", "one", "hi"), ("GET", "m"), ("PFCOUNT", "m"),
        ("SET", "cached", sparse(*XZERO_ALL, card=b"\x07\x00\x00\x00\x00\x00\x00\x00")), ("PFCOUNT", "cached"),
        ("SET", "bigcard", sparse(*XZERO_ALL, card=b"\xff" * 7 + b"\x7f")), ("PFCOUNT", "bigcard"),
        ("PFMERGE", "bigcard", "one"), ("GET", "bigcard"), ("SET", "crowded", CROWDED),
        ("SET", "crowded_source", CROWDED_SOURCE), ("PFCOUNT", "crowded_source"), ("PFCOUNT", "crowded"),
        ("PFMERGE", "crowded", "crowded_source"), ("GET", "crowded"),
    ],
    "estimator": [
        *((("SET", f"d{i}", dense(registers)), ("PFCOUNT", f"d{i}"), ("GET", f"d{i}"), ("PFCOUNT", f"d{i}", "nope"))
          for i, registers in enumerate(CORNER_REGISTERS)),
        ("SET", "past", PAST_THE_END[:8] + bytes(8) + PAST_THE_END[16:]), ("PFCOUNT", "past"),
    ],
    "pfdebug": [
        ("PFDEBUG", "ENCODING", "nope"), ("PFADD", "h", "a", "b", "c"), ("PFDEBUG", "encoding", "h"),
        ("PFDEBUG", "DECODE", "h"), ("PFDEBUG", "bad", "h"), ("SET", "s", "x"), ("PFDEBUG", "bad", "s"),
        ("PFDEBUG", "TODENSE", "h"), ("GET", "h"), ("PFDEBUG", "TODENSE", "h"), ("PFDEBUG", "DECODE", "h"),
        ("PFADD", "g", "x"), ("PFDEBUG", "GETREG", "g"), ("GET", "g"), ("PFDEBUG", "ENCODING", "g"),
        ("SET", "c", TOO_SHORT), ("PFDEBUG", "TODENSE", "c"), ("PFDEBUG", "GETREG", "c"),
        ("PFDEBUG", "DECODE", "c"), ("LPUSH", "l", "a"), ("PFDEBUG", "ENCODING", "l"),
        ("PFDEBUG", "encoding\x00x", "h"), ("PFDEBUG", "no\x00pe", "h"), ("PFDEBUG", "a\r\nb", "h"),
    ],
    "watch": [
        ("PFADD", "h", "a", "b"), ("WATCH", "h"), ("PFCOUNT", "h"), ("MULTI",), ("PING",), ("EXEC",),
        ("WATCH", "h"), ("PFCOUNT", "h"), ("MULTI",), ("PING",), ("EXEC",),
        ("WATCH", "h"), ("PFADD", "h", "a"), ("MULTI",), ("PING",), ("EXEC",),
        ("WATCH", "h"), ("PFDEBUG", "TODENSE", "h"), ("MULTI",), ("PING",), ("EXEC",),
        ("WATCH", "h"), ("PFCOUNT", "h", "h"), ("MULTI",), ("PING",), ("EXEC",),
        ("WATCH", "h"), ("PFADD", "h", "new"), ("MULTI",), ("PING",), ("EXEC",),
        ("WATCH", "h"), ("PFMERGE", "h"), ("MULTI",), ("PING",), ("EXEC",),
        ("SET", "c", TOO_SHORT), ("WATCH", "c"), ("PFADD", "c", "x", "y1326"), ("MULTI",), ("PING",), ("EXEC",),
        ("GET", "c"),
    ],
}
"""Per family, the lines sent to both the model and the server (every reply was checked on 7.0.15)."""


@pytest.mark.redis
@pytest.mark.parametrize("name", sorted(PROBES))
def test_probes_match_a_live_server_byte_for_byte(redis_server: RedisServer, name: str) -> None:
    model = Redis().client()
    with live_replies(redis_server) as live:
        live(("FLUSHALL",))
        for argv in PROBES[name]:
            expected, got = live(argv), model.execute(*argv)
            assert got == expected, argv[:3]
        live(("FLUSHALL",))


@pytest.mark.redis
@pytest.mark.parametrize("seed", range(6))
def test_random_sequences_leave_the_servers_bytes(redis_server: RedisServer, seed: int) -> None:
    """PFADD/PFCOUNT/PFMERGE/PFDEBUG over three keys, members from pools of every size, with values
    corrupted now and then by SET: after each command, every key's bytes equal the server's."""
    rng = random.Random(seed)
    model = Redis().client()
    keys = ("a", "b", "c")
    with live_replies(redis_server) as reply:

        def live(*argv: str | bytes) -> object:
            return reply(argv)

        live("FLUSHALL")
        pool = elements("m", rng.choice((5, 50, 500, 5000)))
        for _ in range(40):
            argv = _random_command(rng, keys, pool, live)
            assert model.execute(*argv) == live(*argv), argv[:3]
            for key in keys:
                assert model.execute("GET", key) == live("GET", key), (argv[:3], key)
        live("FLUSHALL")


def _random_command(rng: random.Random, keys: Sequence[str], pool: Sequence[str], live: object) -> tuple[str | bytes, ...]:
    key = rng.choice(keys)
    roll = rng.random()
    if roll < 0.45:
        return ("PFADD", key, *(rng.choice(pool) for _ in range(rng.choice((0, 1, 3, 30, 300)))))
    if roll < 0.65:
        return ("PFCOUNT", *rng.sample(keys, rng.choice((1, 1, 2, 3))))
    if roll < 0.8:
        return ("PFMERGE", key, *rng.sample(keys, rng.choice((0, 1, 2, 3))))
    if roll < 0.9:
        return ("PFDEBUG", rng.choice(("ENCODING", "DECODE", "TODENSE")), key)
    value = live("GET", key)  # type: ignore[operator]
    if not isinstance(value, bytes) or len(value) < 17:
        return ("DEL", key)
    corrupted = bytearray(value)
    corrupted[rng.randrange(16, len(corrupted))] = rng.randrange(256)
    return ("SET", key, bytes(corrupted))


# --------------------------------------------------------------------- the encoding, without a server


def test_murmur_and_the_register_pattern() -> None:
    assert murmur64a(b"") == 0xD8DFEA6585BC9732  # hyperloglog.c's MurmurHash64A, compiled
    assert murmur64a(b"hello world!") == 0x0FC444011F57220C
    assert pattern(b"x") == (16374, 2)  # PFDEBUG DECODE after PFADD h x: "Z:16374 v:2,1 z:9"
    a = Redis().client()
    a.execute("PFADD", "h", "x")
    assert a.execute("PFDEBUG", "DECODE", "h") == b"Z:16374 v:2,1 z:9"
    assert a.execute("GET", "h") == sparse(0x7F, 0xF5, 0x84, 0x08, card=bytes(7) + b"\x80")


def test_a_new_hll_is_one_xzero_and_pfadd_without_elements_creates_it() -> None:
    assert new_hll() == sparse(*XZERO_ALL)
    a = Redis().client()
    assert a.execute("PFADD", "h") == 1
    assert a.execute("GET", "h") == sparse(*XZERO_ALL, card=bytes(7) + b"\x80")  # stale: updated
    assert a.execute("PFADD", "h") == 0
    assert a.execute("PFCOUNT", "h") == 0
    assert a.execute("GET", "h") == sparse(*XZERO_ALL)  # the cardinality 0, cached


def test_pfcount_caches_the_cardinality_in_the_header() -> None:
    a = Redis().client()
    a.execute("PFADD", "s1", *elements("a", 100))
    a.execute("PFADD", "s2", *elements("b", 100))
    assert a.execute("PFCOUNT", "s1", "s2") == 199
    assert a.execute("PFMERGE", "d", "s1", "s2") == OK
    assert a.execute("PFDEBUG", "ENCODING", "d") == Status("sparse")
    assert a.execute("PFCOUNT", "d") == 199
    value = a.execute("GET", "d")
    assert isinstance(value, bytes) and value[:16] == b"HYLL\x01\x00\x00\x00\xc7" + bytes(7)
    assert len(value) == 508


def test_5000_elements_go_dense_with_redis_estimate() -> None:
    a = Redis().client()
    assert a.execute("PFADD", "big", *elements("e", 5000)) == 1
    assert a.execute("PFDEBUG", "ENCODING", "big") == Status("dense")
    assert a.execute("STRLEN", "big") == DENSE_SIZE
    assert a.execute("PFCOUNT", "big") == 4968
    assert a.execute("GETRANGE", "big", 0, 15) == b"HYLL\x00\x00\x00\x00\x68\x13" + bytes(6)


def test_sparse_stays_below_3000_bytes() -> None:
    a = Redis().client()
    a.execute("PFADD", "p", *elements("c", 1500))
    assert a.execute("STRLEN", "p") == 2706 and a.execute("PFCOUNT", "p") == 1495
    a.execute("PFADD", "p", *elements("c", 2000))
    assert a.execute("STRLEN", "p") == DENSE_SIZE


def test_the_estimator() -> None:
    empty = [REGISTERS] + [0] * 63
    assert estimate(empty) == 0
    assert estimate([REGISTERS - 1, 1] + [0] * 62) == 1
    assert estimate([0] * 51 + [REGISTERS] + [0] * 12) == 1 << 63  # z == 0: llroundl(inf) is LLONG_MIN
    assert signed(1 << 63) == -(1 << 63)


@pytest.mark.parametrize(("registers", "reply", "cache"), [
    ([63] * REGISTERS, -(1 << 63), STALE), ([50] * REGISTERS, -(1 << 63), STALE),
    ([40] * REGISTERS, 12994641697113596, b"\xfc\x05W\xca\x8e*.\x00"), ([1] * REGISTERS, 23637, b"U\\" + bytes(6)),
    ([51] * (REGISTERS - 1) + [1], 387270501, b"eG\x15\x17" + bytes(4)),
])
def test_corrupted_dense_estimates(registers: list[int], reply: int, cache: bytes) -> None:
    """Checked on 7.0.15: the overflowing estimate is cached as 2^63, whose top bit is the stale bit."""
    a = Redis().client()
    a.execute("SET", "d", dense(registers))
    assert a.execute("PFCOUNT", "d") == reply
    assert a.execute("GETRANGE", "d", 8, 15) == cache
    assert a.execute("PFCOUNT", "d", "nope") == reply


def test_a_register_above_32_promotes_to_dense() -> None:
    assert pattern(HIGH.encode()) == (14063, 33)
    a = Redis().client()
    assert a.execute("PFADD", "t", "a", HIGH) == 1
    assert a.execute("PFDEBUG", "ENCODING", "t") == Status("dense")
    assert a.execute("PFCOUNT", "t") == 2
    sketch = Sketch(new_hll())
    assert sketch.set(5, 40) == (1, START)
    assert sketch.dense and dense_registers(sketch.value())[5] == 40
    assert sketch.value()[15] == 0  # the promotion itself leaves the cached cardinality as it was


def test_pfmerge_resumes_its_scans_exactly_where_a_full_scan_would_find_them() -> None:
    """PFMERGE into a sparse value resumes each scan from the previous one; the bytes must be those
    of scanning from the first opcode every time (hllSparseSet)."""
    rng = random.Random(5)
    for size in (5, 50, 400, 1200, 400, 1200):  # the last ones promote on the way
        registers = [0] * REGISTERS
        for _ in range(size):
            start = rng.randrange(REGISTERS)
            for at in range(start, min(start + rng.choice((1, 1, 2, 5)), REGISTERS)):
                registers[at] = rng.randint(1, rng.choice((2, 32)))
        target = Sketch(new_hll())
        for index in rng.sample(range(REGISTERS), 20):
            target.set(index, rng.randint(1, 3))
        resumed, scanned = Sketch(target.value()), Sketch(target.value())
        hint = START
        for index, value in enumerate(registers):
            if value:
                if resumed.dense:
                    resumed.dense_set(index, value)
                else:
                    _, hint = resumed.set(index, value, hint)
                if scanned.dense:
                    scanned.dense_set(index, value)
                else:
                    scanned.set(index, value)
        assert resumed.value() == scanned.value()


def test_a_resumed_scan_that_starts_on_its_opcode_merges_from_the_one_before() -> None:
    maxima = [0] * REGISTERS
    for register, value in ((0, 1), (2, 1), (4, 1), (6, 1), (9, 2), (10, 3), (11, 3), (12, 5), (13, 5)):
        maxima[register] = value
    resumed, scanned = Sketch(CROWDED), Sketch(CROWDED)
    hint = START
    for index, value in enumerate(maxima):
        if value:
            _, hint = resumed.set(index, value, hint)
            scanned.set(index, value)
    assert resumed.value() == scanned.value()
    assert scanned.value()[16:].hex() == "8000800080008000008489917ff1"  # VAL(3,2) VAL(5,2)
    a = Redis().client()
    a.execute("SET", "d", CROWDED)
    a.execute("SET", "s", CROWDED_SOURCE)
    assert a.execute("PFMERGE", "d", "s") == OK
    assert a.execute("GET", "d") == scanned.value()


def test_an_opcode_running_past_the_end_is_corrupted() -> None:
    a = Redis().client()
    a.execute("SET", "past", PAST_THE_END)
    assert a.execute("PFCOUNT", "past") == INVALIDOBJ
    assert a.execute("PFCOUNT", "past", "nope") == INVALIDOBJ  # hllMerge with the CVE-2025-32023 fix
    assert a.execute("PFMERGE", "d", "past") == INVALIDOBJ
    assert a.execute("EXISTS", "d") == 0
    with pytest.raises(Corrupted):
        Sketch(PAST_THE_END).to_dense()


def test_a_cut_xzero_reads_the_nul_after_the_string() -> None:
    a = Redis().client()
    a.execute("SET", "cut", CUT_XZERO)
    assert a.execute("PFDEBUG", "DECODE", "cut") == b"Z:255 Z:16129"
    assert a.execute("PFCOUNT", "cut") == 0


def test_errors() -> None:
    a = Redis().client()
    a.execute("SET", "s", "abc")
    a.execute("LPUSH", "l", "x")
    assert a.execute("PFADD", "s", "x") == NOT_HLL
    assert a.execute("PFADD", "l", "x") == WRONGTYPE
    assert a.execute("PFCOUNT", "nope", "l") == WRONGTYPE
    assert a.execute("PFMERGE", "l", "nope") == WRONGTYPE
    assert a.execute("PFMERGE", "d", "s") == NOT_HLL and a.execute("EXISTS", "d") == 0
    a.execute("SET", "dense", DENSE_ZERO[:-1])
    assert a.execute("PFCOUNT", "dense") == NOT_HLL
    assert a.execute("PFDEBUG", "GETREG", "nope") == Error("ERR The specified key does not exist")
    assert a.execute("PFDEBUG", "x", "s") == NOT_HLL
    a.execute("PFADD", "h", "a")
    assert a.execute("PFDEBUG", "x", "h") == Error("ERR Unknown PFDEBUG subcommand 'x'")
    a.execute("PFDEBUG", "TODENSE", "h")
    assert a.execute("PFDEBUG", "DECODE", "h") == Error("ERR HLL encoding is not sparse")
    assert a.execute("PFSELFTEST") == OK


def test_pfadd_on_a_corrupted_value_keeps_what_it_changed_unsignalled() -> None:
    """The elements before the failing one stay added, the key is not touched (EXEC runs)."""
    a = Redis().client()
    a.execute("SET", "c", TOO_SHORT)
    a.execute("WATCH", "c")
    assert pattern(b"y1326")[0] == 16383  # past the registers the value covers
    assert a.execute("PFADD", "c", "x", "y1326") == INVALIDOBJ
    value = a.execute("GET", "c")
    assert value != TOO_SHORT and isinstance(value, bytes) and value[15] == 0x80
    a.execute("MULTI")
    a.execute("PING")
    assert a.execute("EXEC") == (Status("PONG"),)


def test_what_touches_a_watched_key() -> None:
    a = Redis().client()
    a.execute("PFADD", "h", "a", "b")

    def touched(*argv: str) -> bool:
        a.execute("WATCH", "h")
        a.execute(*argv)
        a.execute("MULTI")
        a.execute("PING")
        return a.execute("EXEC") is NULL_ARRAY

    assert touched("PFCOUNT", "h")  # a stale cache is written back, though PFCOUNT is read-only
    assert not touched("PFCOUNT", "h")  # now cached
    assert not touched("PFADD", "h", "a")  # no register grew
    assert not touched("PFDEBUG", "TODENSE", "h")  # changes the value without signalling it
    assert not touched("PFCOUNT", "h", "h")
    assert touched("PFADD", "h", "new")
    assert touched("PFMERGE", "h")


def test_command_table() -> None:
    assert lookup([b"pfcount"]).flags == frozenset({"readonly"})  # type: ignore[union-attr]
    assert keys_of([b"PFMERGE", b"d", b"a", b"b"]) == (b"d", b"a", b"b")
    assert keys_of([b"PFDEBUG", b"GETREG", b"k"]) == (b"k",)
    assert keys_of([b"PFCOUNT", b"a", b"b"]) == (b"a", b"b")
