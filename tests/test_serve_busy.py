"""Busy scripts in the embedded server (issue #18): BUSY, SCRIPT KILL, FUNCTION KILL.

Each scenario runs on the model server and on a private redis-server 7.0.15 of its own (killed at
the end: a script that wrote cannot be killed), with ``lua-time-limit`` 10 ms, and both must give
the same replies (sheet E26, E27; tests/unit/scripting.tcl "Timedout read-only scripts can be killed by SCRIPT
KILL", "... even when use pcall", "Timedout scripts that modified data can't be killed by SCRIPT
KILL"; multi.tcl "MULTI and script timeout", "EXEC and script timeout", "just EXEC and script
timeout"; functions.tcl "FUNCTION - test function kill", "test script kill not working on
function", "test function kill not working on eval").  A script is known to be timed out when
another client's PING gets BUSY: the tests poll for it, no sleep decides an outcome.
"""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from redlin.model import INITIAL_STATE, NULL, Error, MapReply, Parser, Status, encode_command, step
from redlin.model._lua_runtime import RunningScript
from redlin.serve.busy import BUSY_EVAL, BUSY_FUNCTION, NOTBUSY, UNKILLABLE, runs_lua
from redlin.serve.server import start_in_thread

LOOP = "while true do end"
LIBRARY = "#!lua name=t\nredis.register_function('f', function() while true do end end)"
LOOP_SHA = "694a5fe1ddb97a4c6a1bf299d9537c7d3d0f84e7"
KILLED = "ERR Script killed by user with SCRIPT KILL... script: {}, on {}."
OK = Status("OK")


class Conn:
    """A RESP connection: ``conn(*argv)`` sends a command and reads its reply."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.parser = Parser()

    def send(self, *argv: str) -> None:
        self.sock.sendall(encode_command(list(argv)))

    def read(self) -> object:
        while True:
            for reply in self.parser.values():
                return reply
            data = self.sock.recv(65536)
            assert data, "connection closed"
            self.parser.feed(data)

    def __call__(self, *argv: str) -> object:
        self.send(*argv)
        return self.read()


Connect = Callable[[], Conn]


@pytest.fixture(params=["model", "redis"])
def connect(request: pytest.FixtureRequest) -> Iterator[Connect]:
    """Connections to a fresh server (the model's, or a redis-server of this test's own)."""
    if request.param == "model":
        with start_in_thread() as running:
            port = running.port
            yield lambda: Conn(port)
    else:
        server = request.getfixturevalue("server_in")()
        yield lambda: Conn(server.port)


def timed_out(conn: Conn, deadline: float = 10.0) -> object:
    """Poll with PING until the server answers BUSY; that reply."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        reply = conn("PING")
        if reply != Status("PONG"):
            return reply
    raise AssertionError("the script never timed out")


def busy_script(connect: Connect, *argv: str) -> tuple[Conn, Conn]:
    """Start ``argv`` (a script that runs until killed) on one connection with lua-time-limit 10;
    returns it and another connection, once the script is timed out."""
    runner, other = connect(), connect()
    assert other("CONFIG", "SET", "lua-time-limit", "10") == OK
    runner.send(*argv)
    return runner, other


def test_read_only_script_killed(connect: Connect) -> None:
    runner, other = busy_script(connect, "EVAL", LOOP, "0")
    assert timed_out(other) == BUSY_EVAL
    assert other("GET", "k") == BUSY_EVAL
    assert other("FUNCTION", "KILL") == BUSY_EVAL  # scriptKill: FUNCTION KILL on an EVAL
    assert other("FUNCTION", "STATS") == BUSY_EVAL
    assert other("SCRIPT", "KILL") == OK
    assert runner.read() == Error(KILLED.format(LOOP_SHA, "@user_script:1"))
    assert other("SCRIPT", "KILL") == NOTBUSY
    assert runner("PING") == Status("PONG")  # the killed script's client is still usable


def test_kill_is_not_caught_by_pcall(connect: Connect) -> None:
    body = "local f = function() while true do end end\nwhile true do pcall(f) end"
    runner, other = busy_script(connect, "EVAL", body, "0")
    assert timed_out(other) == BUSY_EVAL
    assert other("SCRIPT", "KILL") == OK
    reply = runner.read()
    assert isinstance(reply, Error) and reply.text.startswith("ERR Script killed by user with SCRIPT KILL...")


def test_script_that_wrote_is_unkillable(connect: Connect) -> None:
    runner, other = busy_script(connect, "EVAL", "redis.call('set', 'x', '1') " + LOOP, "0")
    assert timed_out(other) == BUSY_EVAL
    assert other("SCRIPT", "KILL") == UNKILLABLE
    assert other("MULTI") == OK  # allow-busy
    assert other("INCR", "xx") == BUSY_EVAL
    assert other("EXEC") == Error("EXECABORT Transaction discarded because of: " + BUSY_EVAL.text)


def test_function_kill(connect: Connect) -> None:
    setup = connect()
    assert setup("FUNCTION", "LOAD", LIBRARY) == b"t"
    runner, other = busy_script(connect, "FCALL", "f", "0")
    assert timed_out(other) == BUSY_FUNCTION
    assert other("SCRIPT", "KILL") == BUSY_FUNCTION  # scriptKill: SCRIPT KILL on a function
    stats = other("FUNCTION", "STATS")
    assert isinstance(stats, tuple) and stats[0] == b"running_script"
    running = stats[1]
    assert isinstance(running, tuple) and running[:5] == (b"name", b"f", b"command", (b"FCALL", b"f", b"0"),
                                                          b"duration_ms")
    assert stats[2:] == (b"engines", (b"LUA", (b"libraries_count", 1, b"functions_count", 1)))
    assert other("FUNCTION", "KILL") == OK
    assert runner.read() == Error(KILLED.format("f", "@user_function:2"))
    assert other("FUNCTION", "KILL") == NOTBUSY


def test_function_stats_resp3(connect: Connect) -> None:
    setup = connect()
    assert setup("FUNCTION", "LOAD", LIBRARY) == b"t"
    runner, other = busy_script(connect, "FCALL", "f", "0")
    assert timed_out(other) == BUSY_FUNCTION
    assert isinstance(other("HELLO", "3"), MapReply)
    stats = other("FUNCTION", "STATS")
    assert isinstance(stats, MapReply) and isinstance(stats.pairs[0][1], MapReply)
    assert [key for key, _ in stats.pairs[0][1].pairs] == [b"name", b"command", b"duration_ms"]
    assert other("FUNCTION", "KILL") == OK
    assert runner.read() == Error(KILLED.format("f", "@user_function:2"))


def test_exec_during_busy_aborts(connect: Connect) -> None:
    client = connect()
    assert client("SET", "xx", "1") == OK
    assert client("MULTI") == OK and client("INCR", "xx") == Status("QUEUED")
    runner, other = busy_script(connect, "EVAL", LOOP, "0")
    assert timed_out(other) == BUSY_EVAL
    assert client("INCR", "xx") == BUSY_EVAL
    assert client("EXEC") == Error("EXECABORT Transaction discarded because of: " + BUSY_EVAL.text)
    assert other("SCRIPT", "KILL") == OK
    assert runner.read() == Error(KILLED.format(LOOP_SHA, "@user_script:1"))
    assert client("PING", "asdf") == b"asdf"  # out of MULTI
    assert client("GET", "xx") == b"1"


def test_multi_during_busy_then_exec_after(connect: Connect) -> None:
    client = connect()
    assert client("SET", "xx", "1") == OK
    runner, other = busy_script(connect, "EVAL", LOOP, "0")
    assert timed_out(other) == BUSY_EVAL
    assert client("MULTI") == OK
    assert client("INCR", "xx") == BUSY_EVAL  # flags the transaction
    assert other("SCRIPT", "KILL") == OK
    assert runner.read() == Error(KILLED.format(LOOP_SHA, "@user_script:1"))
    assert client("INCR", "xx") == Status("QUEUED")
    assert client("EXEC") == Error("EXECABORT Transaction discarded because of previous errors.")
    assert client("GET", "xx") == b"1"


def test_allow_busy_commands_outlast_the_script(connect: Connect) -> None:
    # HELLO, MULTI, WATCH run while the script is timed out; their effects on the client's session
    # remain after the script (the server replays them on the script step's result).
    client = connect()
    runner, other = busy_script(connect, "EVAL", LOOP, "0")
    assert timed_out(other) == BUSY_EVAL
    hello = client("HELLO", "3")
    assert isinstance(hello, MapReply) and dict(hello.pairs)[b"proto"] == 3
    assert client("WATCH", "k") == OK
    assert client("MULTI") == OK
    assert client("CLIENT", "ID") == BUSY_EVAL
    assert other("SCRIPT", "KILL") == OK
    assert runner.read() == Error(KILLED.format(LOOP_SHA, "@user_script:1"))
    assert client("SET", "k", "v") == Status("QUEUED")
    assert client("EXEC") == Error("EXECABORT Transaction discarded because of previous errors.")
    libraries = MapReply.flat((b"libraries_count", 0, b"functions_count", 0))
    stats = MapReply.flat((b"running_script", NULL, b"engines", MapReply.flat((b"LUA", libraries))))
    assert client("FUNCTION", "STATS") == stats  # a map: the connection is still RESP3


def test_commands_wait_for_a_script_under_the_limit() -> None:
    # Under lua-time-limit (5000 ms here), another client's command waits for the script: it sees
    # the state before the script or after it, never the one in between (sheet E25).
    with start_in_thread() as running:
        runner, other = Conn(running.port), Conn(running.port)
        runner.send("EVAL", "redis.call('set', 'k', '1') for i = 1, 3000000 do end redis.call('set', 'k', '2')", "0")
        assert other("GET", "k") in (None, b"2")
        assert runner.read() is None
        assert other("GET", "k") == b"2"


# ------------------------------------------------------------- the model's side, without a server


def test_step_interrupt_kills_and_reports() -> None:
    seen: list[tuple[bool, bytes, bool, int]] = []

    def interrupt(script: RunningScript) -> bool:
        seen.append((script.eval_mode, script.name, script.dirty, script.hooks))
        return script.hooks >= 2

    body = b"redis.call('set', 'k', 'v')\nwhile true do end"
    state, reply = step(INITIAL_STATE, 1, [b"EVAL", body, b"0"], interrupt=interrupt)
    assert type(reply) is Error and reply.text.endswith("on @user_script:2.")
    sha = hashlib.sha1(body).hexdigest().encode()
    assert seen == [(True, sha, False, 0), (True, sha, True, 1), (True, sha, True, 2)]
    assert state.dbs[0].data[b"k"] is not None  # a killed script keeps what it wrote
    # Without an interrupt, or with one that never kills, a script runs to its end.
    assert step(INITIAL_STATE, 1, [b"EVAL", b"return 1", b"0"])[1] == 1
    assert step(INITIAL_STATE, 1, [b"EVAL", b"for i=1,3000000 do end return 2", b"0"],
                interrupt=lambda script: False)[1] == 2


def test_step_interrupt_sees_functions() -> None:
    state, _ = step(INITIAL_STATE, 1, [b"FUNCTION", b"LOAD", LIBRARY.encode()])
    seen: list[RunningScript] = []
    reply = step(state, 1, [b"FCALL", b"f", b"0"], interrupt=lambda script: seen.append(script) or True)[1]
    assert reply == Error(KILLED.format("f", "@user_function:2"))
    assert not seen[0].eval_mode and seen[0].name == b"f" and seen[0].command == (b"FCALL", b"f", b"0")


def test_runs_lua() -> None:
    assert runs_lua([b"fcall_ro", b"f", b"0"], None) and not runs_lua([b"EVAL", b"x", b"0"], ())
    assert not runs_lua([b"EXEC"], ((b"GET", b"k"),)) and not runs_lua([b"EXEC"], None)
