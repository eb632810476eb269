"""The safety guard holds for everything redlin sends, scripts included (project issue #11).

Hostile scripts are written as a user would, in JSON workload families, and sent through the paths
a user's run takes: ``redlin.run`` / ``redlin run`` (where the pre-flight rehearsal refuses them),
and the recorder with the run's guard (past the pre-flight, where the server itself refuses them,
inside the guard redlin wraps every script in).  A MONITOR connection opened before each attempt
audits what the server executed, scripts' commands included ("lua" lines), and the users' keys of
databases 0 and 1 must keep byte-identical DUMPs.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lupa.lua51
import pytest
from conftest import RedisServer

from redlin.errors import EXIT_USAGE, UsageError
from redlin.harness.actions import Program, ScriptCall
from redlin.harness.guard import DESTRUCTIVE, Guard, UnsafeCommand, guard_refusals
from redlin.harness.recorder import Recorder, Target
from redlin.harness.runner import run
from redlin.harness.script_guard import guard_script, refusal, script_policy, script_source
from redlin.harness.wire import Connection
from redlin.harness.workloads import TRANSFER_SCRIPT, example_actions, load_family, sample_program
from redlin.history.jsonl import HistoryWriter, load_history
from redlin.history.records import History
from redlin.model import COMMANDS, Error, Redis, keys_of, lookup

USER_KEYS = {b"userkey": (b"SET", b"userkey", b"precious"),
             b"user:profile": (b"HSET", b"user:profile", b"name", b"ada"),
             b"user:list": (b"RPUSH", b"user:list", b"a", b"b"),
             b"user1": (b"SET", b"user1", b"one")}
"""Keys of "other users", created in databases 0 and 1 before every hostile attempt."""


# ----------------------------------------------------------------------------- the hostile scripts

HOSTILE: dict[str, str] = {
    "flushall": "redis.call('FLUSHALL') return 1",
    "flushdb": "redis.call('FLUSHDB') return 1",
    "config-set": "redis.call('CONFIG', 'SET', 'slowlog-max-len', '4321') return 1",
    "undeclared-literal": "redis.call('SET', 'userkey', 'x') return 1",
    "undeclared-built": "redis.call('SET', 'us' .. 'er' .. 'key', 'x') return 1",
    "undeclared-from-keys": "redis.call('SET', KEYS[1] .. 'x', 'x') return 1",
    "undeclared-number": "redis.call('SET', 1, 'x') return 1",
    "call-through-variable": "local c = redis.call c('FLUSHALL') return 1",
    "redis-pcall": "local e = redis.pcall('FLUSHALL') return 'survived'",
    "pcall-caught": "local ok = pcall(redis.call, 'FLUSHDB') return 'survived'",
    "xpcall-rewritten": "xpcall(function() redis.call('FLUSHDB') end, function(e) return 'fine' end) return 'survived'",
    "coroutine": "local co = coroutine.create(function() redis.call('FLUSHALL') end) coroutine.resume(co) return 'survived'",
    "coroutine-wrap": "pcall(coroutine.wrap(function() redis.call('FLUSHALL') end)) return 'survived'",
    "_G": "_G.redis.call('FLUSHALL') return 1",
    "rawget-_G": "rawget(_G, 'redis').call('FLUSHALL') return 1",
    "getfenv": "getfenv(0).redis.call('FLUSHALL') return 1",
    "setfenv": "setfenv(1, {}) return 1",
    "loadstring": "loadstring(\"return redis\")().call('FLUSHALL') return 1",
    "load": "load(function() return nil end) return 1",
    "debug": "debug.getregistry() return 1",
    "getmetatable": "getmetatable(redis).__index.call('FLUSHALL') return 1",
    "setmetatable": "pcall(setmetatable, _G, nil) pcall(setmetatable, redis, nil) redis.call('FLUSHALL') return 1",
    "setresp": "redis.setresp(2) redis.call('FLUSHALL') return 1",
    "keys-rewritten": "KEYS[1] = 'userkey' redis.call('DEL', KEYS[1]) return 1",
    "loop-of-keys": ("for _, k in ipairs({'userkey', 'user:profile', 'user:list', 'user1'}) do "
                     "pcall(redis.call, 'DEL', k) end return 'survived'"),
    "loop-of-numbers": "for i = 0, 50 do pcall(redis.call, 'SET', 'user' .. i, 'x') end return 'survived'",
    "select": "redis.call('SELECT', 1) redis.call('DEL', 'userkey') return 1",
    "select-declared": "redis.call('SELECT', 1) redis.call('SET', KEYS[1], 'x') return 1",
    "swapdb": "redis.call('SWAPDB', 0, 1) return 1",
    "move": "redis.call('MOVE', KEYS[1], 1) return 1",
    "keys-scan": "return redis.call('KEYS', '*')",
    "unknown-command": "redis.call('OBJECT', 'ENCODING', 'userkey') return 1",
    "close-the-wrapper": "end redis.call('FLUSHALL') local function x()",
    "continue-the-prelude": ".call('FLUSHALL')",
}
"""Scripts that must never reach anything outside their declared keys (each gets the declared key
``{key}``, a fresh key under the run's prefix)."""

PLAIN_ERROR = {"close-the-wrapper", "continue-the-prelude"}
"""Scripts that do not even compile: the Python guard never sends them."""


def family_file(folder: Path, name: str, script: str, *, destructive: bool = False, setup: bool = False) -> Path:
    """A JSON workload family with one eval step running ``script`` on ``{key}``."""
    step: dict[str, Any] = {"eval": script, "keys": ["{key}"]}
    if destructive:
        step["destructive"] = True
    data: dict[str, Any] = {"name": name, "doc": "a hostile script", "keys": ["k0", "k1"],
                            "steps": [{"op": "GET {key}"}, step] if not setup else [{"op": "GET {key}"}]}
    if setup:
        data["setup"] = [step]
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- the audit


@dataclass
class Monitor:
    """The lines a MONITOR connection saw: ``(db, source, argv)``, source ``lua`` for a script's."""

    lines: list[tuple[int, str, tuple[bytes, ...]]] = field(default_factory=list)

    def audit(self, *, prefix: bytes, db: int, allow: frozenset[bytes] = frozenset()) -> list[str]:
        """What the server executed that it must not have: a script's command on a key outside
        ``prefix``, in another database, or destructive (unless in ``allow``); a client's command
        on a key outside the prefix or destructive (redlin's own SELECT on connecting aside)."""
        wrong = []
        for line_db, source, argv in self.lines:
            name = argv[0].lower()
            if name == b"echo" or (source != "lua" and name in (b"ping", b"info", b"monitor")):
                continue
            if source != "lua" and name == b"select" and argv[1:] == (str(db).encode(),):
                continue
            keys = keys_of(argv) if lookup(argv) is not None else None
            if line_db != db:
                wrong.append(f"{source} ran {argv!r} in db {line_db}")
            elif name in DESTRUCTIVE - allow or (keys is None and name not in allow):
                wrong.append(f"{source} ran {argv[:3]!r}")
            elif keys is not None and any(not key.startswith(prefix) for key in keys):
                wrong.append(f"{source} touched a key outside {prefix!r}: {argv[:4]!r}")
        return wrong


def _unrepr(text: str) -> tuple[bytes, ...]:
    """The arguments of a MONITOR line (``"SET" "k" "a\\x00b"``, as sdscatrepr writes them)."""
    args: list[bytes] = []
    escapes = {"n": b"\n", "r": b"\r", "t": b"\t", "a": b"\a", "b": b"\b", '"': b'"', "\\": b"\\"}
    i = 0
    while i < len(text):
        if text[i] == " ":
            i += 1
            continue
        assert text[i] == '"', text
        i += 1
        out = bytearray()
        while text[i] != '"':
            if text[i] == "\\" and text[i + 1] == "x":
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
            elif text[i] == "\\":
                out += escapes[text[i + 1]]
                i += 2
            else:
                out += text[i].encode("latin-1")
                i += 1
        args.append(bytes(out))
        i += 1
    return tuple(args)


_LINE = re.compile(r"^\+\d+\.\d+ \[(\d+) ([^\]]+)\] (.*)$", re.S)


@contextmanager
def monitoring(server: RedisServer) -> Iterator[Monitor]:
    """MONITOR from before the block to after everything the block sent (a marker ECHO closes it)."""
    seen = Monitor()
    sock = socket.create_connection((server.host, server.port), timeout=5)
    sock.sendall(b"MONITOR\r\n")
    buffer = b""
    while b"\r\n" not in buffer:
        buffer += sock.recv(4096)
    assert buffer.startswith(b"+OK\r\n")
    buffer = buffer[len(b"+OK\r\n"):]
    marker = f"redlin-audit-{uuid.uuid4()}".encode()
    done = threading.Event()

    def read() -> None:
        nonlocal buffer
        sock.settimeout(0.2)
        while True:
            while b"\r\n" in buffer:
                line, buffer = buffer.split(b"\r\n", 1)
                match = _LINE.match(line.decode("latin-1"))
                assert match, line
                argv = _unrepr(match.group(3))
                if argv == (b"ECHO", marker):
                    done.set()
                    return
                seen.lines.append((int(match.group(1)), match.group(2), argv))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                return
            buffer += chunk

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield seen
    finally:
        with Connection(server.host, server.port) as conn:
            conn.execute(b"ECHO", marker)
        assert done.wait(30), "MONITOR never saw the closing marker"
        reader.join(5)
        sock.close()


@contextmanager
def users_keys(server: RedisServer) -> Iterator[None]:
    """Other users' keys in databases 0 and 1; afterwards their DUMPs must be byte-identical, and
    the CONFIG a hostile script tried to change unchanged."""
    before: dict[tuple[int, bytes], Any] = {}
    with Connection(server.host, server.port) as conn:
        for db in (0, 1):
            conn.execute(b"SELECT", str(db).encode())
            for key, create in USER_KEYS.items():
                conn.execute(b"DEL", key)
                conn.execute(*create)
                before[db, key] = conn.execute(b"DUMP", key)
        config = conn.execute(b"CONFIG", b"GET", b"slowlog-max-len")
    yield
    with Connection(server.host, server.port) as conn:
        for (db, key), dump in before.items():
            conn.execute(b"SELECT", str(db).encode())
            assert conn.execute(b"DUMP", key) == dump, f"db {db} key {key!r} changed"
        assert conn.execute(b"CONFIG", b"GET", b"slowlog-max-len") == config


AUDIT = {"scripts": 0, "commands": 0, "lua": 0, "disturbed": 0}
"""Totals over the session (printed at the end with ``-s``): hostile scripts tried, commands the
MONITOR audited (of which scripts' own), and foreign keys disturbed."""


def record(monitor: Monitor, wrong: list[str]) -> None:
    AUDIT["commands"] += len(monitor.lines)
    AUDIT["lua"] += sum(1 for _, source, _ in monitor.lines if source == "lua")
    AUDIT["disturbed"] += len(wrong)


# ----------------------------------------------------------------------------- the guard alone


def test_scripts_are_sent_only_inside_the_guard() -> None:
    guard = Guard(b"redlin:r1:")
    key = b"redlin:r1:0:k"
    with pytest.raises(UnsafeCommand, match="outside redlin's script guard"):
        guard.check((b"EVAL", b"return 1", b"1", key))
    body = guard_script(b"return redis.call('GET', KEYS[1])")
    sha = ScriptCall(body, (), ()).sha
    with pytest.raises(UnsafeCommand, match="names no script"):
        guard.check((b"EVALSHA", sha, b"1", key))
    assert guard.check((b"EVAL", body, b"1", key)) == (key,)
    assert guard.check((b"EVALSHA", sha.upper(), b"1", key)) == (key,)
    with pytest.raises(UnsafeCommand, match="outside the run's prefix"):
        guard.check((b"EVALSHA", sha, b"1", b"userkey"))
    with pytest.raises(UnsafeCommand, match="does not compile"):
        guard.check((b"EVAL", guard_script(b"end redis.call('FLUSHALL') local function x()"), b"0"))
    destructive = guard_script(b"redis.call('FLUSHDB')", destructive=True)
    with pytest.raises(UnsafeCommand, match="--allow-destructive"):
        guard.check((b"EVAL", destructive, b"0"))
    assert Guard(b"redlin:r1:", allow_destructive=True).check((b"EVAL", destructive, b"0")) == ()
    for argv in [(b"SCRIPT", b"FLUSH"), (b"SCRIPT", b"KILL"), (b"FCALL", b"f", b"0"), (b"FUNCTION", b"FLUSH")]:
        with pytest.raises(UnsafeCommand, match="--allow-destructive"):
            guard.check(argv)


def test_wrapping_keeps_the_text_and_its_line_numbers() -> None:
    for source in (b"return 1", b"#!lua flags=no-writes\nreturn 1", b"-- a comment\nreturn 1"):
        body = guard_script(source)
        assert script_policy(body) == "strict" and script_source(body) == source
        assert body.count(b"\n") == source.count(b"\n")
    assert script_policy(guard_script(b"return 1", destructive=True)) == "destructive"
    assert script_policy(b"return 1") is None and script_source(b"return 1") == b"return 1"
    # The workload's error lines are its own: line 2 stays line 2.
    reply = Redis().client().execute(b"EVAL", guard_script(b"local x = 1\nerror('boom')"), b"0")
    assert isinstance(reply, Error) and "user_script:2: boom" in reply.text


def test_the_prelude_refuses_to_run_where_globals_are_writable() -> None:
    """Before Redis 7.0 a script could replace the library functions the next script's guard
    captures: there the prelude runs nothing (shown on a bare Lua 5.1, whose globals are writable)."""
    lua = lupa.lua51.LuaRuntime(encoding=None)
    calls: list[tuple[bytes, ...]] = []
    lua.execute(b"redis = {}; KEYS = {}")
    lua.globals().redis.call = lambda *argv: calls.append(argv)
    run_it = lua.eval(b"function(body) local ok, e = pcall(loadstring(body)) return type(e) == 'table' and e.err or e end")
    assert run_it(guard_script(b"redis.call('SET', 'k', 'v') return 'ran'")).startswith(
        b"ERR redlin guard: this server lets scripts change the shared Lua globals")
    assert calls == []


def test_the_lua_key_table_agrees_with_the_model() -> None:
    """For every command redlin's model knows, the guard inside a script finds the keys
    :func:`redlin.model.keys_of` finds: declared, the command passes; one left out, it is refused."""
    client = Redis().client()
    body = guard_script(b"return redis.pcall(unpack(ARGV))")
    checked = 0
    for name, spec in sorted(COMMANDS.items()):
        if name in DESTRUCTIVE:
            continue
        if spec.undeclared_keys is not None:  # SORT: patterns reach keys the data names; refused as "every key"
            reply = client.execute(b"EVAL", body, b"1", b"k1", name, b"k1")
            assert "touches every key" in (refusal(reply) or ""), (name, reply)
            continue
        words = [b"k%d" % i for i in range(1, 7)]
        shapes = [[b"2", *words], [b"1", *words], [b"1", b"1", *words], words[:abs(spec.arity) - 1]]
        for tail in shapes:
            argv = (name, *tail)
            keys = keys_of(argv)
            if keys is None:
                continue
            declared = sorted(set(keys))
            reply = client.execute(b"EVAL", body, str(len(declared)).encode(), *declared, *argv)
            if spec.keys_fn is not None and not keys:  # numkeys is not a number: Redis refuses it too
                assert "cannot tell which keys" in (refusal(reply) or ""), (argv, reply)
                continue
            assert refusal(reply) is None, (argv, reply)
            if declared:
                reply = client.execute(b"EVAL", body, str(len(declared) - 1).encode(), *declared[1:], *argv)
                assert refusal(reply) is not None, (argv, reply)
                checked += 1
    assert checked > 50


@pytest.mark.redis
def test_the_lua_key_table_covers_the_keys_redis_finds(redis_server: RedisServer) -> None:
    """The keys Redis itself finds (``COMMAND GETKEYS``) are among those the guard checks, for every
    command the guard lets a script run; no command it lets through has keys Redis moves around
    (``movablekeys``) unless the model knows how (its ``keys_fn``)."""
    client = Redis().client()
    body = guard_script(b"return redis.pcall(unpack(ARGV))")
    with Connection(redis_server.host, redis_server.port) as conn:
        for name, spec in sorted(COMMANDS.items()):
            if name in DESTRUCTIVE or spec.undeclared_keys is not None:  # refused in scripts (see above)
                continue
            (info,) = conn.execute(b"COMMAND", b"INFO", name)  # type: ignore[misc]
            flags = {getattr(flag, "text", flag) for flag in info[2]}
            assert "movablekeys" not in flags or spec.keys_fn is not None, name
            words = [b"k%d" % i for i in range(1, 7)]
            for tail in ([b"2", *words], [b"1", *words], [b"1", b"1", *words], words[:abs(spec.arity) - 1]):
                argv = (name, *tail)
                found = conn.execute(b"COMMAND", b"GETKEYS", *argv)
                if not isinstance(found, tuple):
                    continue  # no keys, or arguments Redis would refuse
                declared = sorted(set(found))
                for left_out in declared:
                    kept = [key for key in declared if key != left_out]
                    reply = client.execute(b"EVAL", body, str(len(kept)).encode(), *kept, *argv)
                    assert refusal(reply) is not None, (argv, left_out, reply)


def test_destructive_must_be_a_boolean(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text(json.dumps({"name": "f", "keys": ["k"], "steps": [{"eval": "return 1", "keys": ["{key}"],
                                                                     "destructive": "yes"}]}))
    with pytest.raises(ValueError, match="'destructive' must be true or false"):
        load_family(path)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_the_preflight_refuses_hostile_scripts(name: str, tmp_path: Path) -> None:
    """``redlin.run`` refuses every hostile script before connecting: a one-line usage error that
    names the file and the step (the target does not even exist)."""
    path = family_file(tmp_path, f"hostile-{name}", HOSTILE[name])
    with pytest.raises(UsageError) as caught:
        run(target="redis://127.0.0.1:1/0", workload=str(path), ops=20, out=tmp_path / "out", database=None)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and "step 2 (eval " in message
    assert ("does not compile" in message) if name in PLAIN_ERROR else ("script guard" in message)


def test_the_model_refuses_every_hostile_script() -> None:
    """The history records the wrapped script and the checker runs it in the model, where the same
    guard refuses (that the server replies the same is :func:`test_the_server_refuses_hostile_scripts`)."""
    client = Redis().client()
    for name, script in HOSTILE.items():
        if name not in PLAIN_ERROR:
            reply = client.execute(b"EVAL", guard_script(script.encode()), b"1", b"redlin:t:0:k0")
            assert refusal(reply) is not None, (name, reply)


# ----------------------------------------------------------------------------- against redis-server


def _record(server: RedisServer, path: Path, prefix: bytes, tmp_path: Path, *,
            allow_destructive: bool = False) -> History:
    """Run the family's example actions, then a drawn program, through the recorder and the run's
    guard (what ``redlin run`` does after its pre-flight), on ``server``'s database 0."""
    source = load_family(path)
    guard = Guard(prefix, allow_destructive=allow_destructive)
    sampled = sample_program(source, clients=2, steps=3, seed=1)
    program = Program(source.name, setup=(*example_actions(source), *sampled.setup), clients=sampled.clients)
    with HistoryWriter(tmp_path / f"{uuid.uuid4()}.jsonl") as writer:
        recorder = Recorder(Target.parse(server.url), writer, guard, timeout=5)
        execution = recorder.execute(program, prefix + b"0:")
        recorder.delete_keys(recorder.touched)
    return execution.history


@pytest.mark.redis
@pytest.mark.parametrize("name", sorted(set(HOSTILE) - PLAIN_ERROR))
def test_the_server_refuses_hostile_scripts(name: str, redis_server: RedisServer, tmp_path: Path) -> None:
    """Past the pre-flight, the server itself refuses: every script reply is the guard's error, the
    model replies the same, and MONITOR saw nothing reach beyond the prefix."""
    # A first, allowed command shows that MONITOR sees what scripts run (its "lua" lines).
    path = family_file(tmp_path, f"hostile-{name}", "redis.call('INCR', KEYS[1]) " + HOSTILE[name])
    prefix = f"redlin:guard-{uuid.uuid4().hex[:8]}:".encode()
    with users_keys(redis_server), monitoring(redis_server) as monitor:
        history = _record(redis_server, path, prefix, tmp_path)
    wrong = monitor.audit(prefix=prefix, db=0)
    AUDIT["scripts"] += 1
    record(monitor, wrong)
    assert not wrong
    assert any(source == "lua" and argv[0] == b"INCR" for _, source, argv in monitor.lines)
    scripts = [op for op in history if op.call[0][0] in (b"EVAL", b"EVALSHA")]
    assert scripts
    client = Redis().client()
    for op in scripts:
        (reply,) = op.result  # type: ignore[misc]
        assert isinstance(reply, Error), (name, reply)
        if op.call[0][0] == b"EVAL":
            assert client.execute(*op.call[0]) == reply  # the model replies the same
    refused = {op_id for op_id, _ in guard_refusals(history)}
    assert refused == {op.id for op in scripts}, (name, [op.result for op in scripts])


@pytest.mark.redis
def test_the_audit_sees_what_an_unguarded_script_does(redis_server: RedisServer) -> None:
    """The audit itself: a script sent without redlin's guard (by this test, on a key of its own)
    shows in MONITOR as a "lua" line outside the prefix, and a FLUSHDB in an empty database as a
    destructive one."""
    with monitoring(redis_server) as monitor, Connection(redis_server.host, redis_server.port) as conn:
        conn.execute(b"EVAL", b"redis.call('SET', 'redlin-audit probe', 'x\\0y') return 1", b"0")
        conn.execute(b"EVAL", b"redis.call('DEL', 'redlin-audit probe') return 1", b"0")
        conn.execute(b"SELECT", b"13")
        conn.execute(b"EVAL", b"redis.call('FLUSHDB') return 1", b"0")
    assert (0, "lua", (b"SET", b"redlin-audit probe", b"x\0y")) in monitor.lines
    assert [wrong for wrong in monitor.audit(prefix=b"redlin:", db=0) if wrong.startswith("lua")] == [
        "lua touched a key outside b'redlin:': (b'SET', b'redlin-audit probe', b'x\\x00y')",
        "lua touched a key outside b'redlin:': (b'DEL', b'redlin-audit probe')",
        "lua ran (b'FLUSHDB',) in db 13"]


@pytest.mark.redis
def test_a_refusal_that_depends_on_data_is_made_by_the_server(redis_server: RedisServer, tmp_path: Path) -> None:
    """A script that misbehaves only after the run's first execution (its keys' names say so) passes
    the rehearsal; the server refuses it, the history records the refusal, and nothing is touched."""
    script = ("if not string.find(KEYS[1], ':0:', 1, true) then redis.call('FLUSHALL') redis.call('SET', 'userkey', 'x') end "
              "return redis.call('INCR', KEYS[1])")
    path = family_file(tmp_path, "sleeper", script)
    with users_keys(redis_server), monitoring(redis_server) as monitor, pytest.raises(UsageError):
        run(target=redis_server.url, workload=str(path), clients=2, steps=4, ops=60, repeat=3,
            out=tmp_path / "out", database=None, shrink_time=2.0)
    history = load_history(tmp_path / "out" / "history.jsonl")  # written as it happened, kept
    wrong = monitor.audit(prefix=str(history.meta["prefix"]).encode(), db=0)
    AUDIT["scripts"] += 1
    record(monitor, wrong)
    assert not wrong
    refusals = guard_refusals(history)
    assert refusals and all(text.startswith("FLUSHALL reaches beyond") for _, text in refusals)


@pytest.mark.redis
def test_a_run_whose_script_was_refused_does_not_end_linearizable(redis_server: RedisServer, tmp_path: Path) -> None:
    """A hostile branch the pre-flight rehearsal cannot see (it depends on the run's keys) is refused
    by the server-side guard, and the run ends as bad input naming the operation, not as linearizable."""
    script = "if not string.find(KEYS[1], ':0:', 1, true) then redis.call('FLUSHALL') end return redis.call('INCR', KEYS[1])"
    with users_keys(redis_server), pytest.raises(UsageError, match="script guard refused .* FLUSHALL"):
        run(target=redis_server.url, workload=str(family_file(tmp_path, "sleeper", script)), clients=2, steps=4,
            ops=60, repeat=3, out=tmp_path / "out", database=None, shrink_time=2.0)
    with Connection(redis_server.host, redis_server.port) as conn:
        assert conn.execute(b"KEYS", b"redlin:*") == ()  # the run's keys were deleted all the same


@pytest.mark.redis
def test_the_command_line_refuses_a_hostile_workload(redis_server: RedisServer, tmp_path: Path) -> None:
    path = family_file(tmp_path, "wiper", HOSTILE["flushall"], setup=True)
    with users_keys(redis_server), monitoring(redis_server) as monitor:
        done = subprocess.run([sys.executable, "-m", "redlin", "run", "--target", redis_server.url, "--workload",
                               str(path), "--ops", "50"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == EXIT_USAGE and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"redlin: workload 'wiper' ({path}), setup step 1")
    assert "FLUSHALL reaches beyond the run's own keys" in done.stderr
    assert monitor.lines == []  # refused before connecting


@pytest.mark.redis
def test_honest_scripts_run_and_check_clean(redis_server: RedisServer, tmp_path: Path) -> None:
    honest = {"name": "honest", "doc": "scripts on their own keys", "keys": ["h0", "h1", "h2"],
              "setup": [{"eval": "for _, k in ipairs(KEYS) do redis.call('SET', k, 0) end return #KEYS",
                         "keys": ["{all}"]}],
              "steps": [{"eval": "local v = redis.call('INCRBY', KEYS[1], ARGV[1]) "
                                 "return {v, redis.call('DECRBY', KEYS[2], ARGV[1])}",
                         "keys": ["{key}", "{key2}"], "args": ["{amount}"], "weight": 2},
                        {"eval": "#!lua flags=no-writes\nlocal t = {} for i, k in ipairs(KEYS) do "
                                 "t[i] = redis.call('GET', k) end return t", "keys": ["{all}"]},
                        {"op": "GET {key}"}]}
    path = tmp_path / "honest.json"
    path.write_text(json.dumps(honest))
    with users_keys(redis_server), monitoring(redis_server) as monitor:
        outcomes = [run(target=redis_server.url, workload=workload, ops=150, out=tmp_path / name, database=None)
                    for name, workload in (("honest", str(path)), ("transfer", "transfer"))]
    for outcome in outcomes:
        assert (outcome.verdict, outcome.exit_code) == ("linearizable", 0)
        assert not guard_refusals(load_history(outcome.paths["history"]))
    assert not monitor.audit(prefix=b"redlin:", db=0)  # both runs' prefixes start so
    for outcome, command in zip(outcomes, (b"incrby", b"decrby")):
        assert any(source == "lua" and argv[0].lower() == command and argv[1].startswith(outcome.prefix.encode())
                   for _, source, argv in monitor.lines)
    bank = load_history(outcomes[1].paths["history"])
    assert any(argv[0] == b"EVAL" and script_source(argv[1]) == TRANSFER_SCRIPT.encode()
               for op in bank for argv in op.call)


@pytest.mark.redis
def test_allow_destructive_lets_a_declared_destructive_script_through(redis_server: RedisServer,
                                                                      tmp_path: Path) -> None:
    """On the fixture's own server (database 11), a step declared destructive runs FLUSHDB with
    --allow-destructive; without the flag it is refused before connecting, and a script that does
    not declare it is refused by the server even with the flag."""
    declared = family_file(tmp_path, "flusher", "redis.call('FLUSHDB') return redis.call('INCR', KEYS[1])",
                           destructive=True)
    target = f"redis://{redis_server.host}:{redis_server.port}/11"
    with pytest.raises(UsageError, match="declared \"destructive\" \\(only with --allow-destructive\\)"):
        run(target=target, workload=str(declared), ops=20, out=tmp_path / "refused", database=None)
    with Connection(redis_server.host, redis_server.port) as conn:
        conn.execute(b"SELECT", b"11")
        conn.execute(b"SET", b"sentinel", b"x")
    with users_keys(redis_server), monitoring(redis_server) as monitor:
        outcome = run(target=target, workload=str(declared), ops=40, out=tmp_path / "out", database=None,
                      allow_destructive=True)
        undeclared = family_file(tmp_path, "sneaky", HOSTILE["flushdb"])
        with pytest.raises(UsageError, match="FLUSHDB reaches beyond"):
            run(target=target, workload=str(undeclared), ops=20, out=tmp_path / "sneaky", database=None,
                allow_destructive=True)
    assert outcome.verdict == "linearizable" and not guard_refusals(load_history(outcome.paths["history"]))
    assert any(source == "lua" and argv == (b"FLUSHDB",) for _, source, argv in monitor.lines)
    assert not monitor.audit(prefix=outcome.prefix.encode(), db=11, allow=frozenset({b"flushdb"}))
    with Connection(redis_server.host, redis_server.port) as conn:
        conn.execute(b"SELECT", b"11")
        assert conn.execute(b"EXISTS", b"sentinel") == 0


def test_the_audit_totals(capsys: pytest.CaptureFixture[str]) -> None:
    """Last in the file: the figures of the MONITOR audit over the hostile scripts sent."""
    with capsys.disabled():
        print(f"\nguard audit: {AUDIT['scripts']} hostile scripts sent, {AUDIT['commands']} commands audited "
              f"({AUDIT['lua']} run by scripts), {AUDIT['disturbed']} foreign keys or databases disturbed")
    assert AUDIT["disturbed"] == 0
