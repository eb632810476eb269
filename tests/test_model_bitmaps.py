"""The model's bitmap commands (SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO) and LCS
against redis-server 7.0.15 (bitops.c, t_string.c's lcsCommand; tests/unit/bitops.tcl, bitfield.tcl
and type/string.tcl's LCS tests).

Each family has a probe list (setup lines included) whose replies the model and a live server of our
own must give byte for byte, after a FLUSHALL; WATCH probes use two connections, since SETBIT and
BITFIELD touch a key only when something changed.  The unit tests pin the corners the probes
found, so that they run without a server too.  No probe makes a string near the 512 MB limit:
the offsets past it are refused before anything is allocated, in Redis and in the model.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence

import pytest

from redlin.model import NULL_ARRAY, Error, Parser, Redis, Status, encode_command, keys_of

OK = Status("OK")
Line = tuple[str | bytes, ...]

PROBES: dict[str, list[Line]] = {
    "setbit_getbit": [
        ("SETBIT", "b", "7", "1"), ("SETBIT", "b", "0", "1"), ("GET", "b"), ("SETBIT", "b", "8", "1"),
        ("GETBIT", "b", "8"), ("GETBIT", "b", "100"), ("SETBIT", "b", "4294967295", "x"),
        ("SETBIT", "b", "4294967296", "1"), ("SETBIT", "b", "-1", "1"), ("SETBIT", "b", "1", "2"),
        ("SETBIT", "b", "1", "-1"), ("SETBIT", "b", "1", " 1"), ("SETBIT", "b", "x", "1"),
        ("GETBIT", "b", "4294967296"), ("GETBIT", "b", "4294967295"), ("GETBIT", "nokey", "3"),
        ("SET", "i", "123"), ("GETBIT", "i", "2"), ("SETBIT", "i", "7", "1"), ("GET", "i"),
        ("LPUSH", "l", "a"), ("SETBIT", "l", "1", "1"), ("GETBIT", "l", "1"), ("SETBIT", "l", "x", "1"),
        ("GETBIT", "l", "-1"), ("SETBIT", "n", "0", "0"), ("GET", "n"), ("SETBIT", "n", "100000", "1"),
        ("STRLEN", "n"), ("GETBIT", "n", "100000"),
    ],
    "bitcount": [
        ("SETBIT", "b", "7", "1"), ("SETBIT", "b", "0", "1"), ("SETBIT", "b", "8", "1"),
        ("BITCOUNT", "b"), ("BITCOUNT", "b", "0", "0"), ("BITCOUNT", "b", "1", "1", "BIT"),
        ("BITCOUNT", "b", "-1", "-5", "FOO"), ("BITCOUNT", "b", "0", "1", "FOO"), ("BITCOUNT", "b", "0"),
        ("BITCOUNT", "nokey", "0"), ("BITCOUNT", "nokey", "x", "y", "z", "w"), ("BITCOUNT", "b", "0", "-1", "bit"),
        ("BITCOUNT", "b", "5", "12", "bit"), ("BITCOUNT", "b", "-3", "-1", "bit"), ("BITCOUNT", "b", "x", "1"),
        ("BITCOUNT", "b", "0", "x"), ("BITCOUNT", "b", "0", "1", "bit", "x"), ("LPUSH", "l", "a"), ("BITCOUNT", "l"),
        ("SET", "f", "foobar"), ("BITCOUNT", "f", "1", "1"), ("BITCOUNT", "f", "5", "30", "BIT"),
        ("BITCOUNT", "f", "-100", "100"), ("BITCOUNT", "f", "2", "1"), ("BITCOUNT", "f", "-1", "-1", "bit"),
        ("BITCOUNT", "f", "9223372036854775807", "-9223372036854775808"), ("SET", "e", ""), ("BITCOUNT", "e"),
        ("BITCOUNT", "e", "0", "-1", "BIT"), ("SET", "i", "-1"), ("BITCOUNT", "i"),
    ],
    "bitpos": [
        ("SET", "s", b"\xff\xf0\x00"), ("BITPOS", "s", "0"), ("BITPOS", "s", "1"), ("BITPOS", "s", "0", "1"),
        ("BITPOS", "s", "0", "2", "-1"), ("BITPOS", "s", "1", "2"), ("BITPOS", "s", "0", "0", "0"),
        ("BITPOS", "s", "0", "3", "9", "BIT"), ("BITPOS", "s", "0", "0", "11", "bit"),
        ("BITPOS", "s", "1", "12", "-1", "bit"), ("BITPOS", "s", "0", "3", "BIT"), ("BITPOS", "s", "2"),
        ("BITPOS", "s", "x"), ("BITPOS", "nokey", "1", "x"), ("BITPOS", "nokey", "0"),
        ("BITPOS", "s", "1", "1", "1", "foo"), ("BITPOS", "s", "1", "x", "1", "foo"), ("SET", "e", ""),
        ("BITPOS", "e", "0"), ("BITPOS", "e", "1"), ("SET", "f", b"\xff\xff"), ("BITPOS", "f", "0"),
        ("BITPOS", "f", "0", "0", "-1"), ("BITPOS", "f", "0", "0"), ("BITPOS", "f", "0", "0", "15", "bit"),
        ("BITPOS", "f", "0", "3", "bit"), ("BITPOS", "f", "1", "3", "5", "bit"), ("BITPOS", "s", "0", "1", "2", "3", "4"),
        ("SET", "g", b"\x00\x01\x80\x00"), ("BITPOS", "g", "1", "7", "17", "bit"), ("BITPOS", "g", "1", "16", "23", "bit"),
        ("BITPOS", "g", "1", "17", "31", "bit"), ("BITPOS", "g", "0", "15", "16", "bit"), ("BITPOS", "g", "0", "1", "2"),
        ("BITPOS", "g", "1", "-2", "-1"), ("BITPOS", "g", "1", "9223372036854775807"), ("LPUSH", "l", "a"),
        ("BITPOS", "l", "1"), ("BITPOS", "l", "2"),
    ],
    "bitop": [
        ("SET", "x", "ab"), ("SET", "y", "abcdef"), ("BITOP", "AND", "d", "x", "y"), ("GET", "d"),
        ("BITOP", "or", "d", "x", "y", "nokey"), ("GET", "d"), ("BITOP", "xor", "d", "x", "y"), ("GET", "d"),
        ("BITOP", "not", "d", "x"), ("GET", "d"), ("BITOP", "not", "d", "x", "y"), ("BITOP", "nand", "d", "x"),
        ("BITOP", "and", "d", "nokey", "nok2"), ("EXISTS", "d"), ("LPUSH", "l", "a"), ("BITOP", "and", "d", "x", "l"),
        ("SET", "d", "v"), ("EXPIRE", "d", "1000"), ("BITOP", "or", "d", "x"), ("TTL", "d"), ("SET", "n", "42"),
        ("BITOP", "not", "d", "n"), ("GET", "d"), ("BITOP", "xor", "x", "x", "x"), ("GET", "x"),
        ("BITOP", "and", "d", "x", "y", "l"),
    ],
    "bitfield": [
        ("BITFIELD", "b", "SET", "i8", "0", "-100"), ("GET", "b"),
        ("BITFIELD", "b", "GET", "u8", "0", "GET", "i8", "0", "GET", "i4", "4", "GET", "u4", "#1", "GET", "i64", "0",
         "GET", "u63", "3"),
        ("BITFIELD", "b", "INCRBY", "i8", "0", "300"),
        ("BITFIELD", "b", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "300", "INCRBY", "i8", "0", "-1000", "OVERFLOW",
         "FAIL", "INCRBY", "i8", "0", "1", "GET", "i8", "0"),
        ("BITFIELD", "b", "SET", "u8", "0", "-1"),
        ("BITFIELD", "b", "OVERFLOW", "sat", "SET", "u8", "0", "-1", "SET", "u8", "8", "256", "GET", "u16", "0"),
        ("BITFIELD", "b", "OVERFLOW", "fail", "SET", "u8", "0", "-1", "SET", "u8", "8", "255"),
        ("BITFIELD", "c", "SET", "i64", "0", "-9223372036854775808", "INCRBY", "i64", "0", "-1", "GET", "i64", "0"),
        ("BITFIELD", "c", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "-1", "INCRBY", "i64", "0", "9223372036854775807",
         "INCRBY", "i64", "0", "9223372036854775807"),
        ("BITFIELD", "c", "INCRBY", "i64", "0", "9223372036854775807"),
        ("BITFIELD", "c", "SET", "u63", "1", "9223372036854775807", "GET", "u63", "1", "INCRBY", "u63", "1", "1",
         "OVERFLOW", "SAT", "INCRBY", "u63", "1", "-9223372036854775808"),
        ("BITFIELD", "c", "SET", "u64", "0", "1"), ("BITFIELD", "c", "SET", "i65", "0", "1"),
        ("BITFIELD", "c", "SET", "i0", "0", "1"), ("BITFIELD", "c", "SET", "x8", "0", "1"),
        ("BITFIELD", "c", "SET", "u8", "#1", "1"), ("BITFIELD", "c", "GET", "u8", "#x"), ("BITFIELD", "c", "GET", "u8", "#"),
        ("BITFIELD", "c", "GET", "u8", "-1"), ("BITFIELD", "c", "GET", "u8", "4294967296"),
        ("BITFIELD", "c", "GET", "u8", "4294967295"), ("BITFIELD", "c", "GET", "u8", "#536870912"),
        ("BITFIELD", "c", "GET", "i64", "#9223372036854775807"), ("BITFIELD", "c", "GET", "i64", "#1152921504606846976"),
        ("BITFIELD", "c", "SET", "u8", "0", "x"), ("BITFIELD", "c", "OVERFLOW", "foo", "GET", "u8", "0"),
        ("BITFIELD", "c", "OVERFLOW"), ("BITFIELD", "c", "GET", "u8"), ("BITFIELD", "c", "FOO"), ("BITFIELD", "c"),
        ("BITFIELD", "nokey"), ("EXISTS", "nokey"), ("BITFIELD", "nk", "GET", "u8", "100"), ("EXISTS", "nk"),
        ("BITFIELD", "nk", "OVERFLOW", "FAIL", "SET", "u2", "100", "9"), ("GET", "nk"), ("STRLEN", "nk"),
        ("BITFIELD_RO", "c", "GET", "u8", "0"), ("BITFIELD_RO", "c", "SET", "u8", "0", "1"),
        ("BITFIELD_RO", "c", "SET", "u8", "0", "x"), ("BITFIELD_RO", "c", "INCRBY", "u8", "0", "1", "GET", "u8", "x"),
        ("LPUSH", "l", "a"), ("BITFIELD", "l", "GET", "u8", "0"), ("BITFIELD", "l"), ("BITFIELD", "l", "SET", "u8", "0", "1"),
        ("BITFIELD_RO", "l", "GET", "u8", "0"), ("BITFIELD_RO", "l", "SET", "u8", "0", "1"),
        ("BITFIELD", "l", "SET", "u8", "x", "1"), ("SET", "i", "12"),
        ("BITFIELD", "i", "GET", "u8", "0", "GET", "u16", "0", "INCRBY", "u8", "8", "1"), ("GET", "i"),
        ("BITFIELD", "w", "SET", "i5", "3", "-7", "GET", "i5", "3", "GET", "u5", "3", "SET", "u3", "13", "5", "GET", "u16",
         "0", "INCRBY", "i3", "14", "4", "OVERFLOW", "WRAP", "INCRBY", "u2", "1", "-5"), ("GET", "w"),
        ("BITFIELD", "w", "SET", "i8", "0", "-129", "SET", "i8", "8", "128", "OVERFLOW", "SAT", "SET", "i8", "16", "-129",
         "SET", "i8", "24", "128", "SET", "i1", "33", "1", "GET", "i1", "33"),
        ("BITFIELD", "w", "INCRBY", "u1", "7", "3", "INCRBY", "i1", "7", "-1", "GET", "u63", "1", "GET", "i64", "#1"),
        ("BITFIELD", "d", "OVERFLOW", "SAT", "SET", "i32", "#2", "-9223372036854775808", "GET", "i32", "#2", "SET", "i32",
         "#2", "-2147483649", "GET", "i32", "#2", "SET", "i8", "0", "-9223372036854775808", "GET", "i8", "0"),
    ],
    "lcs": [
        ("MSET", "a", "ohmytext", "b", "mynewtext"), ("LCS", "a", "b"), ("LCS", "a", "b", "LEN"), ("LCS", "a", "b", "IDX"),
        ("LCS", "a", "b", "IDX", "WITHMATCHLEN"), ("LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"),
        ("LCS", "a", "b", "IDX", "MINMATCHLEN", "-4"), ("LCS", "a", "b", "LEN", "IDX"), ("LCS", "a", "b", "IDX", "LEN"),
        ("LCS", "a", "b", "MINMATCHLEN"), ("LCS", "a", "b", "MINMATCHLEN", "x"), ("LCS", "a", "b", "foo"),
        ("LCS", "a", "nokey"), ("LCS", "a", "nokey", "IDX"), ("LCS", "nokey", "nokey2", "LEN"), ("LPUSH", "l", "x"),
        ("LCS", "a", "l"), ("LCS", "l", "a", "foo"), ("LCS", "l", "nokey", "IDX"),
        ("MSET", "p", "AAAAAAAAAAAbbbbbbbbbbbbbbAAAAAAAAAAAAAAA", "q", "bbbbbAAAAAAAAAAAAAAAAAAAbbbbb"),
        ("LCS", "p", "q", "IDX", "WITHMATCHLEN"), ("LCS", "q", "p", "IDX", "WITHMATCHLEN"), ("LCS", "p", "q"),
        ("MSET", "r", "abcabcabc", "s", "cbacbacba"), ("LCS", "r", "s", "IDX", "WITHMATCHLEN"), ("LCS", "r", "s"),
        ("LCS", "s", "r", "IDX"), ("SET", "n", "12345"), ("SET", "m", "2345"), ("LCS", "n", "m", "IDX", "WITHMATCHLEN"),
        ("LCS", "a", "a", "IDX", "MINMATCHLEN", "0"), ("SET", "z", ""), ("LCS", "z", "a", "IDX"), ("LCS", "z", "z"),
        ("SETRANGE", "big", "11600", "x"), ("LCS", "big", "big"), ("LCS", "big", "a", "LEN"),
        ("SET", "bin", b"\x00\xff\x00"), ("LCS", "bin", "bin", "IDX", "WITHMATCHLEN"),
    ],
}
"""Per family, the lines sent to both the model and the server (every reply was checked on 7.0.15)."""

WATCH_PROBES: list[tuple[Line, bool]] = [
    (("SETBIT", "k", "1", "0"), False),  # the bit was already 0: nothing changed
    (("SETBIT", "k", "20", "0"), True),  # the string grew
    (("BITFIELD", "k", "SET", "u8", "0", "0"), False),
    (("BITFIELD", "k", "OVERFLOW", "FAIL", "SET", "u2", "400", "9"), False),  # grew, but its only write failed
    (("BITFIELD", "nk", "OVERFLOW", "FAIL", "SET", "u2", "100", "9"), False),  # created, untouched
    (("BITFIELD", "k", "SET", "u8", "0", "1"), True),
    (("BITOP", "AND", "k2", "nokey"), False),  # nothing to delete
    (("BITOP", "OR", "k", "k"), True),  # the same value stored again still touches
]
"""A second client runs the line between the first's WATCH and EXEC; True if EXEC is then aborted."""


def _live(host: str, port: int) -> tuple[socket.socket, Callable[[Sequence[str | bytes]], object]]:
    sock = socket.create_connection((host, port), timeout=10)
    parser = Parser()

    def call(argv: Sequence[str | bytes]) -> object:
        sock.sendall(encode_command(argv))
        while True:
            for reply in parser.values():
                return reply
            parser.feed(sock.recv(1 << 20))

    return sock, call


@pytest.mark.redis
@pytest.mark.parametrize("name", sorted(PROBES))
def test_probes_match_a_live_server(redis_server: object, name: str) -> None:
    sock, live = _live(redis_server.host, redis_server.port)  # type: ignore[attr-defined]
    model = Redis().client()
    with sock:
        live(("FLUSHALL",))
        for argv in PROBES[name]:
            assert model.execute(*argv) == live(argv), argv
        live(("FLUSHALL",))


@pytest.mark.redis
def test_watch_is_touched_only_by_changes(redis_server: object) -> None:
    first_sock, first = _live(redis_server.host, redis_server.port)  # type: ignore[attr-defined]
    second_sock, second = _live(redis_server.host, redis_server.port)  # type: ignore[attr-defined]
    server = Redis()
    watcher, writer = server.client(), server.client()
    with first_sock, second_sock:
        first(("FLUSHALL",))
        for line in [("SET", "k", b"\x00")] + [argv for argv, _ in WATCH_PROBES]:
            for key in ("k", "nk", "k2"):
                assert watcher.execute("WATCH", key) == first(("WATCH", key)) == OK
            assert writer.execute(*line) == second(line), line
            watcher.execute("MULTI")
            first(("MULTI",))
            watcher.execute("PING")
            first(("PING",))
            assert watcher.execute("EXEC") == first(("EXEC",)), line
        first(("FLUSHALL",))


# --------------------------------------------------------------------- corners, without a server


@pytest.mark.parametrize(("line", "aborted"), WATCH_PROBES)
def test_watch_touches_in_the_model(line: Line, aborted: bool) -> None:
    server = Redis()
    watcher, writer = server.client(), server.client()
    writer.execute("SET", "k", b"\x00")
    for key in ("k", "nk", "k2"):
        watcher.execute("WATCH", key)
    writer.execute(*line)
    watcher.execute("MULTI")
    watcher.execute("PING")
    assert (watcher.execute("EXEC") is NULL_ARRAY) is aborted


def test_setbit_getbit_offsets() -> None:
    a = Redis().client()
    assert a.execute("SETBIT", "b", 0, 1) == 0
    assert a.execute("SETBIT", "b", 7, 1) == 0
    assert a.execute("SETBIT", "b", 8, 1) == 0
    assert a.execute("GET", "b") == b"\x81\x80"
    assert a.execute("SETBIT", "b", 7, 0) == 1
    assert a.execute("GETBIT", "b", 0) == 1 and a.execute("GETBIT", "b", 9) == 0 and a.execute("GETBIT", "b", 99) == 0
    offset_error = Error("ERR bit offset is not an integer or out of range")
    assert a.execute("SETBIT", "b", 4294967296, 1) == offset_error  # 2^32 bits: past 512 MB
    assert a.execute("GETBIT", "b", -1) == offset_error
    assert a.execute("SETBIT", "b", 4294967295, 2) == Error("ERR bit is not an integer or out of range")
    a.execute("SET", "i", 123)  # an integer-encoded string reads as its digits
    assert a.execute("SETBIT", "i", 7, 1) == 1 and a.execute("GET", "i") == b"123"


def test_bitcount_and_bitpos_ranges() -> None:
    a = Redis().client()
    a.execute("SET", "f", "foobar")
    assert a.execute("BITCOUNT", "f") == 26
    assert a.execute("BITCOUNT", "f", 1, 1) == 6
    assert a.execute("BITCOUNT", "f", 5, 30, "BIT") == 17
    assert a.execute("BITCOUNT", "f", -1, -5, "FOO") == 0  # an empty negative range answers first
    assert a.execute("BITCOUNT", "f", 0, 1, "FOO") == Error("ERR syntax error")
    assert a.execute("BITCOUNT", "nokey", "x") == 0  # a missing key answers before the arguments are read
    a.execute("SET", "s", b"\xff\xf0\x00")
    assert a.execute("BITPOS", "s", 0) == 12
    assert a.execute("BITPOS", "s", 1, 2) == -1
    assert a.execute("BITPOS", "s", 0, 0, 0) == -1  # an explicit end: no 0 within it
    assert a.execute("BITPOS", "s", 0, 3, 9, "BIT") == -1  # bits 3-9 are all 1
    assert a.execute("BITPOS", "s", 0, 3, 15, "BIT") == 12
    a.execute("SET", "f", b"\xff\xff")
    assert a.execute("BITPOS", "f", 0) == 16  # no end given: the string is zero-padded
    assert a.execute("BITPOS", "f", 0, 0, -1) == -1
    assert a.execute("BITPOS", "nokey", 0) == 0 and a.execute("BITPOS", "nokey", 1) == -1
    assert a.execute("BITPOS", "s", 2) == Error("ERR The bit argument must be 1 or 0.")


def test_bitop_stores_deletes_and_drops_the_ttl() -> None:
    a = Redis(now=1000).client()
    a.execute("MSET", "x", "ab", "y", "abcdef")
    a.execute("SET", "d", "v", "EX", 1000)
    assert a.execute("BITOP", "AND", "d", "x", "y") == 6
    assert a.execute("GET", "d") == b"ab\x00\x00\x00\x00"
    assert a.execute("TTL", "d") == -1
    assert a.execute("BITOP", "NOT", "d", "x") == 2 and a.execute("GET", "d") == b"\x9e\x9d"
    assert a.execute("BITOP", "OR", "d", "nokey") == 0 and a.execute("EXISTS", "d") == 0
    assert a.execute("BITOP", "NOT", "d", "x", "y") == Error("ERR BITOP NOT must be called with a single source key.")


def test_bitfield_overflow_modes() -> None:
    a = Redis().client()
    assert a.execute("BITFIELD", "b", "SET", "i8", 0, -100, "INCRBY", "i8", 0, 300) == (0, -56)
    assert a.execute("BITFIELD", "b", "OVERFLOW", "SAT", "INCRBY", "i8", 0, 300, "INCRBY", "i8", 0, -1000,
                     "OVERFLOW", "FAIL", "INCRBY", "i8", 0, -1) == (127, -128, None)
    assert a.execute("BITFIELD", "b", "OVERFLOW", "SAT", "SET", "u8", 0, -1) == (128,)  # -1 as uint64 saturates
    assert a.execute("BITFIELD", "b", "GET", "u8", 0) == (255,)
    assert a.execute("BITFIELD", "b", "SET", "u8", 0, -2, "GET", "u8", 0) == (255, 254)  # WRAP: modulo 2^8
    assert a.execute("BITFIELD", "c", "SET", "i64", 0, -9223372036854775808, "INCRBY", "i64", 0, -1) == (
        0, 9223372036854775807)
    # Redis's bound on the increment wraps in int64: a value far below i32's minimum "overflows".
    assert a.execute("BITFIELD", "d", "OVERFLOW", "SAT", "SET", "i32", 0, -9223372036854775808, "GET", "i32", 0,
                     "SET", "i32", 0, -2147483649, "GET", "i32", 0) == (0, 2147483647, 2147483647, -2147483648)
    assert a.execute("BITFIELD", "c", "SET", "u64", 0, 1) == Error(
        "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
    assert a.execute("BITFIELD", "c", "GET", "u8", "#536870912") == Error(
        "ERR bit offset is not an integer or out of range")
    assert a.execute("BITFIELD", "c", "OVERFLOW", "foo", "GET", "u8", 0) == Error("ERR Invalid OVERFLOW type specified")
    assert a.execute("BITFIELD_RO", "c", "SET", "u8", 0, 1) == Error("ERR BITFIELD_RO only supports the GET subcommand")
    assert a.execute("BITFIELD_RO", "c", "GET", "u4", "#1") == (15,)
    assert a.execute("BITFIELD", "nk", "OVERFLOW", "FAIL", "SET", "u2", 100, 9) == (None,)
    assert a.execute("GET", "nk") == bytes(13)  # created and padded although the write failed


def test_lcs_replies() -> None:
    a = Redis().client()
    a.execute("MSET", "a", "ohmytext", "b", "mynewtext")
    assert a.execute("LCS", "a", "b") == b"mytext"
    assert a.execute("LCS", "a", "b", "LEN") == 6
    assert a.execute("LCS", "a", "b", "IDX", "WITHMATCHLEN") == (
        b"matches", (((4, 7), (5, 8), 4), ((2, 3), (0, 1), 2)), b"len", 6)
    assert a.execute("LCS", "a", "b", "IDX", "MINMATCHLEN", 4) == (b"matches", (((4, 7), (5, 8)),), b"len", 6)
    assert a.execute("LCS", "a", "b", "LEN", "IDX") == Error(
        "ERR If you want both the length and indexes, please just use IDX.")
    a.execute("RPUSH", "l", "x")
    assert a.execute("LCS", "a", "l") == Error("ERR The specified keys must contain string values")
    assert a.execute("LCS", "a", "nokey") == b""
    a.execute("SETRANGE", "big", 11600, "x")
    assert a.execute("LCS", "big", "big") == Error(
        "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
    assert keys_of((b"LCS", b"a", b"b", b"IDX")) == (b"a", b"b")
