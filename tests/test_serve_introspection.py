"""The embedded server's answers about itself (:mod:`redlin.serve.introspection`): COMMAND GETKEYS
side by side with a live Redis 7.0.15, MEMORY USAGE's arguments and errors, INFO errorstats."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from conftest import RedisServer, live_replies

from redlin.model import Error
from redlin.serve.server import RunningServer, start_in_thread

GETKEYS = [
    ["COMMAND", "GETKEYS", "FCALL", "f", "1", "x", "foo"],
    ["COMMAND", "GETKEYS", "FCALL_RO", "f", "0"],
    ["COMMAND", "GETKEYS", "EVAL", "return 1", "2", "a", "b", "c"],
    ["COMMAND", "GETKEYS", "GET"],
    ["COMMAND", "GETKEYS", "SET", "a"],
    ["COMMAND", "GETKEYS", "SET", "a", "b"],
    ["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"],
    ["COMMAND", "GETKEYS", "NOSUCH", "a"],
    ["COMMAND", "GETKEYS", "CONFIG", "GET", "x"],
    ["COMMAND", "GETKEYS", "OBJECT", "ENCODING", "k"],
    ["COMMAND", "GETKEYS", "OBJECT", "NOSUCH", "k"],
    ["COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "2", "a", "b"],
    ["COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "x", "a", "b"],
    ["COMMAND", "GETKEYS", "LMOVE", "a", "b", "LEFT", "RIGHT"],
    ["COMMAND", "GETKEYS"],
]
MEMORY = [
    ["MEMORY", "USAGE", "nokey"],
    ["MEMORY", "USAGE", "k", "SAMPLES", "-1"],
    ["MEMORY", "USAGE", "k", "FOO"],
    ["MEMORY", "USAGE"],
    ["MEMORY", "NOSUCH"],
    ["MEMORY", "HELP"],
]


@pytest.fixture
def running() -> Iterator[RunningServer]:
    with start_in_thread() as server:
        yield server


@pytest.mark.redis
def test_getkeys_and_memory_errors_are_redis_7_0s(running: RunningServer, redis_server: RedisServer) -> None:
    model = RedisServer(running.host, running.port, "7.0.15")
    with live_replies(model) as ours, live_replies(redis_server) as theirs:
        for call in GETKEYS + MEMORY:
            assert ours(call) == theirs(call), call


def test_memory_usage_is_a_positive_estimate_for_every_type(running: RunningServer) -> None:
    with live_replies(RedisServer(running.host, running.port, "7.0.15")) as send:
        for setup in (["SET", "s", "v"], ["RPUSH", "l", "a"], ["HSET", "h", "f", "v"], ["SADD", "t", "m"],
                      ["ZADD", "z", "1", "m"], ["XADD", "x", "*", "f", "v"]):
            send(setup)
            usage = send(["MEMORY", "USAGE", setup[1], "SAMPLES", "0"])
            assert isinstance(usage, int) and usage > len(setup[1]), setup
        assert b"mem_allocator:libc" in send(["INFO", "memory"])  # type: ignore[operator]


def test_error_replies_are_counted_by_code_until_resetstat(running: RunningServer) -> None:
    with live_replies(RedisServer(running.host, running.port, "7.0.15")) as send:
        assert isinstance(send(["EVAL", "return redis.error_reply('MY_ERR_CODE custom msg')", "0"]), Error)
        send(["SET", "k", "v"])
        assert isinstance(send(["INCR", "k"]), Error)
        assert isinstance(send(["LPUSH", "k", "x"]), Error)
        info = send(["INFO", "errorstats"]).decode()  # type: ignore[union-attr]
        assert re.findall(r"errorstat_(\w+):count=(\d+)", info) == [("ERR", "1"), ("MY_ERR_CODE", "1"),
                                                                    ("WRONGTYPE", "1")]
        assert b"total_error_replies:3" in send(["INFO", "stats"])  # type: ignore[operator]
        send(["CONFIG", "RESETSTAT"])
        assert "errorstat_" not in send(["INFO", "errorstats"]).decode()  # type: ignore[union-attr]
