"""Real blocking in the embedded server (issue #18): each scenario runs on the model server and, where
a real redis-server 7.0.15 is at hand, on it too, and both must give the same replies (sheet M15
for the non-blocking forms inside MULTI).

Scenarios are deterministic: a client is known to be blocked when ``INFO clients`` counts it, as the
Redis test suite's ``wait_for_blocked_client`` does; no sleep decides an outcome (only the short
timeouts themselves).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import pytest
from conftest import RedisServer

from redlin.model import NULL, NULL_ARRAY, Double, Error, MapReply, Parser, Status, encode_command
from redlin.serve.blocking import narrow_argv
from redlin.serve.server import start_in_thread

Address = tuple[str, int]


class Conn:
    """A raw connection: commands out, parsed replies in."""

    def __init__(self, address: Address) -> None:
        self.sock = socket.create_connection(address, timeout=10)
        self.parser = Parser()

    def send(self, *argv: str | bytes) -> None:
        self.sock.sendall(encode_command(argv))

    def read(self) -> object:
        while True:
            for reply in self.parser.values():
                return reply
            data = self.sock.recv(1 << 16)
            if not data:
                raise ConnectionError("closed")
            self.parser.feed(data)

    def call(self, *argv: str | bytes) -> object:
        self.send(*argv)
        return self.read()

    def idle(self, seconds: float = 0.2) -> bool:
        """Whether nothing arrives for ``seconds`` (the client is still waiting)."""
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(1 << 16)
        except TimeoutError:
            return True
        finally:
            self.sock.settimeout(10)
        self.parser.feed(data)
        return False

    def close(self) -> None:
        self.sock.close()


def blocked_clients(conn: Conn) -> int:
    info = conn.call("INFO", "clients")
    assert isinstance(info, bytes)
    line = next(line for line in info.split(b"\r\n") if line.startswith(b"blocked_clients:"))
    return int(line.split(b":")[1])


def wait_blocked(conn: Conn, count: int) -> None:
    deadline = time.monotonic() + 10
    while blocked_clients(conn) != count:
        assert time.monotonic() < deadline, f"never {count} blocked clients"
        time.sleep(0.005)


Scenario = Callable[[Callable[[], Conn]], list[object]]


@contextmanager
def model_address() -> Iterator[Address]:
    with start_in_thread() as running:
        yield (running.host, running.port)


def run(scenario: Scenario, address: Address) -> list[object]:
    with ExitStack() as stack:
        def connect() -> Conn:
            conn = Conn(address)
            stack.callback(conn.close)
            return conn
        connect().call("FLUSHALL")
        return scenario(connect)


# --------------------------------------------------------------------- scenarios


def fifo_order(connect: Callable[[], Conn]) -> list[object]:
    a, b, c = connect(), connect(), connect()
    a.send("BLPOP", "l", "0")
    wait_blocked(c, 1)
    b.send("BRPOP", "l", "0")
    wait_blocked(c, 2)
    return [c.call("RPUSH", "l", "x", "y", "z"), a.read(), b.read(), c.call("LRANGE", "l", "0", "-1"),
            blocked_clients(c)]


def served_by_the_ready_key(connect: Callable[[], Conn]) -> list[object]:
    a, c = connect(), connect()
    a.send("BLPOP", "k1", "k2", "0")
    wait_blocked(c, 1)
    c.call("MULTI")
    c.call("RPUSH", "k2", "a")
    c.call("RPUSH", "k1", "b")
    return [c.call("EXEC"), a.read(), c.call("LRANGE", "k1", "0", "-1")]


def blmove_chain(connect: Callable[[], Conn]) -> list[object]:
    a, b, c = connect(), connect(), connect()
    a.send("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0")
    wait_blocked(c, 1)
    b.send("BRPOP", "dst", "0")
    wait_blocked(c, 2)
    return [c.call("RPUSH", "src", "v"), a.read(), b.read(), c.call("EXISTS", "src", "dst")]


def timeouts(connect: Callable[[], Conn]) -> list[object]:
    a = connect()
    replies = [a.call("BLPOP", "l", "0.05"), a.call("BRPOPLPUSH", "l", "d", "0.05"),
               a.call("BLMOVE", "l", "d", "LEFT", "LEFT", "0.05"), a.call("BZPOPMIN", "z", "0.05"),
               a.call("BLMPOP", "0.05", "1", "l", "LEFT"), a.call("BZMPOP", "0.05", "1", "z", "MAX"),
               a.call("XREAD", "BLOCK", "50", "STREAMS", "s", "$")]
    a.call("HELLO", "3")
    return [*replies, a.call("BLPOP", "l", "0.05"), a.call("BZPOPMAX", "z", "0.05")]


def sorted_sets_and_counts(connect: Callable[[], Conn]) -> list[object]:
    a, b, c = connect(), connect(), connect()
    a.send("BZPOPMIN", "z", "0")
    wait_blocked(c, 1)
    b.send("BZMPOP", "0", "2", "y", "z", "MAX", "COUNT", "2")
    wait_blocked(c, 2)
    replies = [c.call("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"), a.read(), b.read()]
    a.send("BLMPOP", "0", "1", "l", "RIGHT", "COUNT", "3")
    wait_blocked(c, 1)
    return [*replies, c.call("RPUSH", "l", "1", "2"), a.read()]


def wrong_type_keeps_waiting(connect: Callable[[], Conn]) -> list[object]:
    a, c = connect(), connect()
    a.send("BLPOP", "l", "0")
    wait_blocked(c, 1)
    replies = [c.call("SET", "l", "x"), a.idle(), blocked_clients(c), c.call("DEL", "l"),
               c.call("RPUSH", "l", "y")]
    return [*replies, a.read()]


def pipelined_commands_wait(connect: Callable[[], Conn]) -> list[object]:
    a, c = connect(), connect()
    a.sock.sendall(b"BLPOP l 0\r\nPING\r\nLLEN l\r\n")
    wait_blocked(c, 1)
    return [c.call("RPUSH", "l", "a", "b"), a.read(), a.read(), a.read()]


def streams(connect: Callable[[], Conn]) -> list[object]:
    a, b, c = connect(), connect(), connect()
    c.call("XADD", "s", "1-0", "f", "v")
    a.send("XREAD", "BLOCK", "0", "STREAMS", "t", "s", "0-0", "$")
    wait_blocked(c, 1)
    replies = [c.call("XADD", "s", "2-0", "f", "w"), a.read(), c.call("XGROUP", "CREATE", "s", "g", "$")]
    a.send("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">")
    wait_blocked(c, 1)
    replies += [c.call("XADD", "s", "3-0", "f", "x"), a.read()]
    a.send("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">")
    b.send("XREADGROUP", "GROUP", "g", "bob", "BLOCK", "0", "STREAMS", "s", ">")
    wait_blocked(c, 2)
    replies += [c.call("XGROUP", "DESTROY", "s", "g"), a.read(), b.read(), c.call("XGROUP", "CREATE", "s", "g", "$")]
    a.send("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">")
    wait_blocked(c, 1)
    replies += [c.call("DEL", "s"), a.read()]
    return replies


def client_unblock(connect: Callable[[], Conn]) -> list[object]:
    a, c = connect(), connect()
    ident = a.call("CLIENT", "ID")
    assert isinstance(ident, int)
    a.send("BLPOP", "l", "0")
    wait_blocked(c, 1)
    replies = [c.call("CLIENT", "UNBLOCK", str(ident)), a.read()]
    a.send("BZPOPMIN", "z", "0")
    wait_blocked(c, 1)
    replies += [c.call("CLIENT", "UNBLOCK", str(ident), "ERROR"), a.read()]
    return [*replies, c.call("CLIENT", "UNBLOCK", str(ident)), c.call("CLIENT", "UNBLOCK", str(ident), "BAD"),
            c.call("CLIENT", "UNBLOCK", "x")]


def closed_client_is_dropped(connect: Callable[[], Conn]) -> list[object]:
    a, c = connect(), connect()
    a.send("BLPOP", "l", "0")
    wait_blocked(c, 1)
    a.close()
    wait_blocked(c, 0)
    return [c.call("RPUSH", "l", "x"), c.call("LLEN", "l")]


def no_wait_inside_multi(connect: Callable[[], Conn]) -> list[object]:
    c = connect()
    c.call("MULTI")
    for argv in (("BLPOP", "l", "0"), ("BLMOVE", "l", "d", "LEFT", "LEFT", "0"), ("BZMPOP", "0", "1", "z", "MIN"),
                 ("XREAD", "BLOCK", "0", "STREAMS", "s", "$")):
        c.call(*argv)
    return [c.call("EXEC"), blocked_clients(c)]


def client_reply(connect: Callable[[], Conn]) -> list[object]:
    a = connect()
    a.send("CLIENT", "REPLY", "OFF")
    a.send("SET", "k", "1")
    a.send("CLIENT", "REPLY", "SKIP")
    a.send("CLIENT", "REPLY", "ON")
    replies = [a.read()]
    a.send("CLIENT", "REPLY", "SKIP")
    a.send("INCR", "k")
    return [*replies, a.call("GET", "k"), a.call("CLIENT", "REPLY", "MAYBE")]


def wait_times_out(connect: Callable[[], Conn]) -> list[object]:
    a, c = connect(), connect()
    ident = a.call("CLIENT", "ID")
    assert isinstance(ident, int)
    replies = [a.call("WAIT", "0", "0"), a.call("WAIT", "1", "50")]
    a.send("WAIT", "1", "0")  # no replica ever acknowledges: only CLIENT UNBLOCK ends it
    wait_blocked(c, 1)
    return [*replies, c.call("CLIENT", "UNBLOCK", str(ident)), a.read()]


def resp3_served(connect: Callable[[], Conn]) -> list[object]:
    a, c = connect(), connect()
    a.call("HELLO", "3")
    a.send("BZPOPMIN", "z", "0")
    wait_blocked(c, 1)
    replies = [c.call("ZADD", "z", "1.5", "m"), a.read()]
    a.send("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    wait_blocked(c, 1)
    return [*replies, c.call("XADD", "s", "1-0", "f", "v"), a.read()]


def silenced_subscriber(connect: Callable[[], Conn]) -> list[object]:
    a, c = connect(), connect()
    a.send("CLIENT", "REPLY", "OFF")
    replies = [a.call("SUBSCRIBE", "ch"), c.call("PUBLISH", "ch", "hi"), a.read()]
    return [*replies, a.call("UNSUBSCRIBE", "ch"), a.idle()]


SCENARIOS: dict[str, Scenario] = {
    scenario.__name__: scenario for scenario in (
        fifo_order, served_by_the_ready_key, blmove_chain, timeouts, sorted_sets_and_counts,
        wrong_type_keeps_waiting, pipelined_commands_wait, streams, client_unblock,
        closed_client_is_dropped, no_wait_inside_multi, client_reply, silenced_subscriber,
        wait_times_out, resp3_served)
}

EXPECTED: dict[str, list[object]] = {
    "fifo_order": [3, (b"l", b"x"), (b"l", b"z"), (b"y",), 0],
    "served_by_the_ready_key": [(1, 1), (b"k2", b"a"), (b"b",)],
    "blmove_chain": [1, b"v", (b"dst", b"v"), 0],
    "timeouts": [NULL_ARRAY] * 7 + [NULL, NULL],
    "streams": [b"2-0", ((b"s", ((b"2-0", (b"f", b"w")),)),), Status("OK"), b"3-0",
                ((b"s", ((b"3-0", (b"f", b"x")),)),), 1,
                Error("NOGROUP the consumer group this client was blocked on no longer exists"),
                Error("NOGROUP the consumer group this client was blocked on no longer exists"), Status("OK"),
                1, Error("UNBLOCKED the stream key no longer exists")],
    "client_unblock": [1, NULL_ARRAY, 1, Error("UNBLOCKED client unblocked via CLIENT UNBLOCK"), 0,
                       Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"),
                       Error("ERR value is not an integer or out of range")],
    "closed_client_is_dropped": [1, 1],
    "no_wait_inside_multi": [(NULL_ARRAY, None, NULL_ARRAY, NULL_ARRAY), 0],  # BLMOVE: a null bulk
    "wait_times_out": [0, 0, 1, 0],
    "resp3_served": [1, (b"z", b"m", Double(b"1.5")), b"1-0", MapReply(((b"s", ((b"1-0", (b"f", b"v")),)),))],
    "silenced_subscriber": [(b"subscribe", b"ch", 1), 1, (b"message", b"ch", b"hi"), (b"unsubscribe", b"ch", 0), True],
    "client_reply": [Status("OK"), b"2", Error("ERR syntax error")],  # the skipped INCR ran
}
"""What the model server answers (checked against redis-server 7.0.15 by the live test)."""


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_model_server_blocks_as_redis(name: str) -> None:
    with model_address() as address:
        got = run(SCENARIOS[name], address)
    if name in EXPECTED:
        assert got == EXPECTED[name]
    else:
        assert got  # the live test compares it with Redis
    if name == "sorted_sets_and_counts":
        assert got == [4, (b"z", b"a", b"1"), (b"z", ((b"d", b"4"), (b"c", b"3"))), 2, (b"l", (b"2", b"1"))]
    if name == "wrong_type_keeps_waiting":
        assert got == [Status("OK"), True, 1, 1, 1, (b"l", b"y")]
    if name == "pipelined_commands_wait":
        assert got == [2, (b"l", b"a"), Status("PONG"), 1]


@pytest.mark.redis
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenarios_match_a_live_server(redis_server: RedisServer, name: str) -> None:
    expected = run(SCENARIOS[name], (redis_server.host, redis_server.port))
    with model_address() as address:
        assert run(SCENARIOS[name], address) == expected


def test_info_counts_connected_and_blocked_clients() -> None:
    with model_address() as address, ExitStack() as stack:
        a, c = Conn(address), Conn(address)
        stack.callback(a.close)
        stack.callback(c.close)
        info = c.call("INFO")
        assert isinstance(info, bytes)
        assert b"# Clients\r\nconnected_clients:2\r\nblocked_clients:0\r\n" in info
        assert b"redis_version:" in info
        a.send("BLPOP", "l", "0")
        wait_blocked(c, 1)
        assert c.call("INFO", "server").startswith(b"# Server\r\n")  # type: ignore[union-attr]
        assert c.call("LPUSH", "l", "x") == 1
        assert a.read() == (b"l", b"x")


def test_narrowed_commands() -> None:
    assert narrow_argv((b"BLPOP", b"a", b"b", b"0"), b"b") == (b"BLPOP", b"b", b"0")
    assert narrow_argv((b"BZMPOP", b"1", b"2", b"a", b"b", b"MIN"), b"a") == (b"BZMPOP", b"1", b"1", b"a", b"MIN")
    assert narrow_argv((b"BRPOPLPUSH", b"a", b"b", b"0"), b"a") == (b"BRPOPLPUSH", b"a", b"b", b"0")
    assert narrow_argv((b"XREADGROUP", b"GROUP", b"g", b"c", b"BLOCK", b"0", b"STREAMS", b"s", b">"), b"s")[-2:] == (
        b"s", b">")
