"""A script cannot catch a refusal by the server's state and carry on (the guard's point 5).

Redis 7.0 refuses a command a script calls when the server is out of memory, a read-only replica,
a stale replica or stopped writes after a failed save (``scriptCall``, ``src/script.c``), and hands
the refusal to ``redis.pcall`` or Lua's ``pcall`` like any error (sheet E7, E10, E17): the script
goes on.  Redlin's model knows no such state, so whatever the script did next could not be
checked.  The guard redlin wraps every script in (:mod:`redlin.harness.script_guard`) ends such a
script right there, with the server's own text, which
:func:`redlin.harness.server_state.rejection` takes for a definite FAIL: the script wrote nothing.
Each test starts a redis-server of its own in the state that refuses (set by its command line).
"""

from __future__ import annotations

import re
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import RedisServer

from redlin.harness.script_guard import STATE_REFUSALS, guard_script, refusal
from redlin.harness.server_state import Rejection, rejection, state_error
from redlin.harness.wire import Connection
from redlin.model import Error, Redis, Reply, Status

OOM_TEXT = "OOM command not allowed when used memory > 'maxmemory'."
READONLY_TEXT = "READONLY You can't write against a read only replica."
STALE_TEXT = "ERR Can not execute the command on a stale replica"
MASTERDOWN_TEXT = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
MISCONF_TEXT = ("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. "
                "Commands that may modify the data set are disabled, because this instance is configured to "
                "report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). "
                "Please check the Redis logs for details about the RDB error.")
"""The texts ``redis.pcall`` gets back from Redis 7.0.15 (``shared.oomerr`` etc. less the ``-``)."""

SUFFIX = re.compile(r" script: [0-9a-f]{40}, on @user_script:1\.$")
"""What Redis appends to an error that ends a script (sheet E9, E14): the guard's line is 1."""

CAUGHT = {
    "redis.pcall": "local r = redis.pcall('SET', KEYS[1], 'x'); redis.call('SET', KEYS[2], 'y'); return 'done'",
    "pcall(redis.call)": ("local ok, e = pcall(redis.call, 'SET', KEYS[1], 'x'); redis.call('SET', KEYS[2], 'y'); "
                          "return 'done'"),
}
"""The brief's scripts: a state error caught, then a write to KEYS[2]."""

CAUGHT_THEN_DELETE = {
    "redis.pcall": "local r = redis.pcall('SET', KEYS[1], 'x') redis.call('DEL', KEYS[2]) return 'done'",
    "pcall(redis.call)": "pcall(redis.call, 'SET', KEYS[1], 'x') redis.call('DEL', KEYS[2]) return 'done'",
    "xpcall": ("xpcall(function() redis.call('SET', KEYS[1], 'x') end, function(e) return 'fine' end) "
               "redis.call('DEL', KEYS[2]) return 'done'"),
    "coroutine": ("coroutine.resume(coroutine.create(function() redis.call('SET', KEYS[1], 'x') end)) "
                  "redis.call('DEL', KEYS[2]) return 'done'"),
    "nested pcall": ("pcall(function() pcall(redis.call, 'SET', KEYS[1], 'x') end) "
                     "pcall(redis.call, 'DEL', KEYS[2]) return 'done'"),
    "caught, then returned": "local r = redis.pcall('SET', KEYS[1], 'x') return r.err and 'caught' or 'set'",
}
"""Caught, then a write that an out-of-memory server still runs (``DEL`` is not ``denyoom``)."""


def _field(conn: Connection, section: bytes, name: str) -> str:
    """One ``name:value`` field of ``INFO section``."""
    reply = conn.execute(b"INFO", section)
    assert isinstance(reply, bytes)
    return dict(line.split(":", 1) for line in reply.decode().splitlines() if ":" in line)[name]


def _memory(conn: Connection) -> tuple[int, int]:
    return int(_field(conn, b"memory", "used_memory")), int(_field(conn, b"memory", "maxmemory"))


def _fill(conn: Connection) -> None:
    """Push used memory 1 MB past ``maxmemory``: ``SCRIPT LOAD`` of big bodies, which Redis keeps
    and does not refuse when out of memory (SCRIPT is no ``denyoom`` command), so nothing after
    can bring memory back under the limit by chance."""
    for n in range(200):
        used, limit = _memory(conn)
        if used > limit + 1_000_000:
            break
        assert isinstance(conn.execute(b"SCRIPT", b"LOAD", b"return %d --" % n + b"x" * 200_000), bytes)
    assert conn.execute(b"SET", b"probe", b"1") == Error(OOM_TEXT)


def _eval(conn: Connection, script: str, *keys: bytes) -> tuple[tuple[bytes, ...], Reply]:
    """Run ``script`` wrapped in the guard, as the recorder sends it: (the call, the reply)."""
    argv = (b"EVAL", guard_script(script.encode()), str(len(keys)).encode(), *keys)
    return argv, conn.execute(*argv)


def _assert_fail(argv: tuple[bytes, ...], reply: Reply, text: str, code: str, *, line: int = 1) -> None:
    """The reply is the server's refusal ended with the script's position, a definite FAIL."""
    assert isinstance(reply, Error) and reply.text.startswith(text + " script: "), reply
    assert re.search(SUFFIX.pattern.replace(":1", f":{line}"), reply.text), reply
    assert refusal(reply) is None  # not the guard's own refusal: the server's state
    assert rejection((argv,), (reply,)) == Rejection(code, reply.text, True, False)


@pytest.fixture
def out_of_memory(server_in: Callable[..., RedisServer]) -> Iterator[Connection]:
    """A connection to a server past its ``maxmemory`` (noeviction), with ``victim`` set before."""
    server = server_in("--maxmemory", "4mb", "--maxmemory-policy", "noeviction")
    with Connection(server.host, server.port) as conn:
        assert conn.execute(b"SET", b"victim", b"precious") is not None
        _fill(conn)
        yield conn


@pytest.mark.redis
@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_an_out_of_memory_refusal_caught_ends_the_script(name: str, out_of_memory: Connection) -> None:
    """``redis.pcall`` (sheet E10) or ``pcall`` around ``redis.call`` catches the OOM; the guard
    ends the script there: KEYS[2] is not written and the reply is a definite FAIL (code OOM).
    (Here the later SET would be refused too, guard or not: :func:`test_no_write_after_a_caught_out_of_memory_refusal`
    shows a write that would not be.)"""
    conn = out_of_memory
    argv, reply = _eval(conn, CAUGHT[name], b"k1", b"k2")
    _assert_fail(argv, reply, OOM_TEXT, "OOM")
    assert conn.execute(b"EXISTS", b"k1", b"k2") == 0


@pytest.mark.redis
@pytest.mark.parametrize("name", sorted(CAUGHT_THEN_DELETE))
def test_no_write_after_a_caught_out_of_memory_refusal(name: str, out_of_memory: Connection) -> None:
    """Unguarded, Redis lets a script go on after a caught OOM (sheet E17: after a failed pcall the
    script continues) and run a write that needs no memory (``DEL``); guarded, it cannot: whichever
    way it was caught, the script ends with the refusal and ``victim`` keeps its value."""
    conn = out_of_memory
    script = CAUGHT_THEN_DELETE[name]
    argv, reply = _eval(conn, script, b"k1", b"victim")
    _assert_fail(argv, reply, OOM_TEXT, "OOM")
    assert conn.execute(b"GET", b"victim") == b"precious"
    # The model knows no memory limit: there the same guarded script just runs (it never stops).
    model = Redis().client()
    assert model.execute(*argv) in (b"done", b"set")
    # Without the guard the server itself carries on (what the guard closes).
    if name == "redis.pcall":
        unguarded = conn.execute(b"EVAL", script.encode(), b"2", b"k1", b"victim")
        assert unguarded == b"done" and conn.execute(b"EXISTS", b"victim") == 0


@pytest.mark.redis
def test_the_exact_texts_of_out_of_memory(out_of_memory: Connection) -> None:
    """What Redis 7.0.15 hands a script (sheet E7, E10): ``redis.pcall`` the table
    ``{err = OOM_TEXT}``, Lua's ``pcall`` (Redis's own, ``luaRedisPcall``) its text; and what it
    replies when a script raises that table (E14): the text and the position."""
    conn = out_of_memory
    argv = (b"EVAL", b"local r = redis.pcall('SET', KEYS[1], 'x') return r.err", b"1", b"k1")
    assert conn.execute(*argv) == OOM_TEXT.encode()
    argv = (b"EVAL", b"local ok, e = pcall(redis.call, 'SET', KEYS[1], 'x') return {tostring(ok), e}", b"1", b"k1")
    assert conn.execute(*argv) == (b"false", OOM_TEXT.encode())
    raised = (b"EVAL", b"error({err = \"" + OOM_TEXT.encode() + b"\"})", b"0")
    reply = conn.execute(*raised)
    assert isinstance(reply, Error) and reply.text.startswith(OOM_TEXT + " script: ") and SUFFIX.search(reply.text)
    # The script raised the text itself (its body spells OOM): it may have written first, so the
    # operation is indeterminate, not certainly refused.
    assert rejection((raised,), (reply,)) == Rejection("OOM", reply.text, False, True)


@pytest.mark.redis
def test_reads_still_run_when_out_of_memory(out_of_memory: Connection) -> None:
    """Only ``denyoom`` commands are refused: a guarded script's reads go through as before."""
    argv, reply = _eval(out_of_memory, "local r = redis.pcall('GET', KEYS[1]) return r", b"victim")
    assert reply == b"precious" and rejection((argv,), (reply,)) is None


def _dead_port() -> int:
    with socket.socket() as probe:  # a primary that is not there
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.redis
@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_a_read_only_replica_refusal_caught_ends_the_script(name: str, server_in: Callable[..., RedisServer]) -> None:
    """On a read-only replica the first write a script calls is refused (READONLY); caught, it
    still ends the script, a definite FAIL."""
    server = server_in("--replicaof", "127.0.0.1", str(_dead_port()), "--replica-read-only", "yes")
    with Connection(server.host, server.port) as conn:
        argv, reply = _eval(conn, CAUGHT[name], b"k1", b"k2")
        _assert_fail(argv, reply, READONLY_TEXT, "READONLY")


@pytest.mark.redis
@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_a_stale_replica_refusal_caught_ends_the_script(name: str, server_in: Callable[..., RedisServer]) -> None:
    """On a stale replica (``replica-serve-stale-data no``) Redis refuses a plain EVAL as a whole
    (bare MASTERDOWN, ``scriptPrepareForRun``); a script flagged ``allow-stale`` runs, but every
    command it calls that is not allowed while stale is refused, writes among them (it wrote
    nothing); caught, the refusal ends the script (its line is 2, after the shebang)."""
    server = server_in("--replicaof", "127.0.0.1", str(_dead_port()))
    with Connection(server.host, server.port) as conn:
        # Set after the start: a stale replica answers the start's probe (PING) with MASTERDOWN.
        # The server is this test's own.
        assert conn.execute(b"CONFIG", b"SET", b"replica-serve-stale-data", b"no") == Status("OK")
        plain = (b"EVAL", b"return redis.pcall('GET', KEYS[1])", b"1", b"k1")
        assert conn.execute(*plain) == Error(MASTERDOWN_TEXT)
        assert rejection((plain,), (Error(MASTERDOWN_TEXT),)) == Rejection("MASTERDOWN", MASTERDOWN_TEXT, True, False)
        flagged = b"#!lua flags=allow-stale,no-writes\n"
        assert conn.execute(b"EVAL", flagged + plain[1], b"1", b"k1") == Error(STALE_TEXT)
        argv, reply = _eval(conn, flagged.decode() + CAUGHT[name], b"k1", b"k2")
        _assert_fail(argv, reply, STALE_TEXT, "stale replica", line=2)


@pytest.mark.redis
@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_a_failed_save_refusal_caught_ends_the_script(name: str, server_in: Callable[..., RedisServer],
                                                      tmp_path: Path) -> None:
    """After a failed BGSAVE (its folder removed) with save points set, writes are refused
    (MISCONF); caught in a script, the refusal ends it, a definite FAIL."""
    folder = tmp_path / f"gone-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    server = server_in("--dir", str(folder), "--save", "3600 1")
    with Connection(server.host, server.port) as conn:
        shutil.rmtree(folder)
        assert conn.execute(b"BGSAVE") is not None
        deadline = time.monotonic() + 10
        while _field(conn, b"persistence", "rdb_last_bgsave_status") != "err":
            assert time.monotonic() < deadline, "BGSAVE did not fail"
            time.sleep(0.05)
        assert conn.execute(b"SET", b"k1", b"x") == Error(MISCONF_TEXT)
        argv, reply = _eval(conn, CAUGHT[name], b"k1", b"k2")
        _assert_fail(argv, reply, MISCONF_TEXT, "MISCONF")
        assert conn.execute(b"EXISTS", b"k1", b"k2") == 0


# ----------------------------------------------------------------------------- what is not stopped on


CARRIES_ON = {
    "redis.pcall": "local r = redis.pcall('GET', KEYS[1]) redis.call('SET', KEYS[2], 'y') return r.err",
    "pcall(redis.call)": "local ok, e = pcall(redis.call, 'GET', KEYS[1]) redis.call('SET', KEYS[2], 'y') return e",
    "forged state text": ("local ok, e = pcall(error, {err = \"" + OOM_TEXT + "\"}) "
                          "redis.call('SET', KEYS[2], 'y') return e"),
}
"""Errors that are not the server's state: the script goes on, as without the guard (E10, E17)."""


@pytest.mark.redis
@pytest.mark.parametrize("name", sorted(CARRIES_ON))
def test_other_caught_errors_still_return_to_the_script(name: str, redis_server: RedisServer) -> None:
    """A WRONGTYPE caught by ``redis.pcall`` or ``pcall`` still returns to the script, which goes
    on and writes KEYS[2] (sheet E10, E17); so does an error table the script raises itself with a
    state error's text: only the server's own refusals end a script.  The model replies the same."""
    prefix = f"redlin:state-{uuid.uuid4().hex[:8]}:".encode()
    keys = (prefix + b"list", prefix + b"k2")
    with Connection(redis_server.host, redis_server.port) as conn:
        model = Redis().client()
        for client in (conn, model):
            assert client.execute(b"RPUSH", keys[0], b"a") == 1
        argv, reply = _eval(conn, CARRIES_ON[name], *keys)
        expected = OOM_TEXT if name == "forged state text" else \
            "WRONGTYPE Operation against a key holding the wrong kind of value"
        assert reply == expected.encode() and rejection((argv,), (reply,)) is None
        assert model.execute(*argv) == reply
        assert conn.execute(b"GET", keys[1]) == model.execute(b"GET", keys[1]) == b"y"
        conn.execute(b"DEL", *keys)


@pytest.mark.redis
def test_a_command_error_from_redis_call_is_unchanged(redis_server: RedisServer) -> None:
    """The guarded ``redis.call`` now runs the command through ``redis.pcall`` and raises an error
    reply itself: the reply is still Redis's (sheet E9), on the guard's line, and the model's."""
    key = f"redlin:state-{uuid.uuid4().hex[:8]}:list".encode()
    with Connection(redis_server.host, redis_server.port) as conn:
        model = Redis().client()
        for client in (conn, model):
            assert client.execute(b"RPUSH", key, b"a") == 1
        for script in ("return redis.call('GET', KEYS[1])", "#!lua\nreturn redis.call('GET', KEYS[1])",
                       "return redis.call('GET')", "return redis.call('NOPE', KEYS[1])"):
            argv, reply = _eval(conn, script, key)
            assert isinstance(reply, Error) and re.search(r" script: [0-9a-f]{40}, on @user_script:[12]\.$", reply.text)
            assert model.execute(*argv) == reply, script
        conn.execute(b"DEL", key)


# ----------------------------------------------------------------------------- the texts themselves


@pytest.mark.parametrize("text, code", [(OOM_TEXT, "OOM"), (READONLY_TEXT, "READONLY"), (MISCONF_TEXT, "MISCONF"),
                                        ("MISCONF Errors writing to the AOF file: No space left on device", "MISCONF"),
                                        (STALE_TEXT, "stale replica"),
                                        ("NOREPLICAS Not enough good replicas to write.", "NOREPLICAS")])
def test_every_state_refusal_the_guard_stops_on_is_a_rejection(text: str, code: str) -> None:
    """Each text the guard ends a script with is one :func:`state_error` knows; raised from a
    script (with the position) it is a definite FAIL, but NOREPLICAS, which stays INFO."""
    assert any(text.startswith(prefix) for prefix in STATE_REFUSALS)
    assert state_error(Error(text)) == code
    argv = (b"EVAL", guard_script(b"return 1"), b"0")
    raised = Error(text + " script: 87fada2bdb5944df9d1dbba9f182d132f4d4fed5, on @user_script:1.")
    assert rejection((argv,), (raised,)) == Rejection(code, raised.text, code != "NOREPLICAS", code == "NOREPLICAS")
    assert all(state_error(Error(prefix + "...")) is not None for prefix in STATE_REFUSALS)
