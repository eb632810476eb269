"""``redlin run``: the clean servers are never flagged, every planted fault is caught, and a run is
safe on a real server (its own keys only, nothing destructive, the password never shown)."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import RedisServer, as_at_a_terminal, free_port, start_redis_server

from redlin import Outcome, Violation, check
from redlin import RunOutcome as PublicRunOutcome
from redlin import run as public_run
from redlin.adapter import pubsub_check
from redlin.adapter.redis_model import redis_model
from redlin.cli import main
from redlin.errors import UsageError
from redlin.explain.names import Clock
from redlin.harness import outcome as outcome_module
from redlin.harness import program_search, pubsub, run_report, runner
from redlin.harness import progress as progress_module
from redlin.harness.guard import Guard, UnsafeCommand
from redlin.harness.recorder import Recorder, Target, TargetError
from redlin.harness.runner import FAULT_WORKLOADS, Progress, RunOutcome, render_outcome, run
from redlin.harness.wire import Connection
from redlin.harness.workloads import (
    BASE_FAMILIES,
    FAMILIES,
    CasLoop,
    Command,
    Family,
    Key,
    Op,
    Program,
    Transaction,
)
from redlin.history.jsonl import HistoryWriter, load_history
from redlin.model import COMMANDS, Parser
from redlin.serve.server import FAULTS, start_in_thread

MODEL_COMMANDS = frozenset(name.decode().upper() for name in COMMANDS)
PASSWORD = "s3cret-Pa55word"


def needs_model(workload: str) -> None:
    missing = FAMILIES[workload].commands() - MODEL_COMMANDS
    if missing:
        pytest.skip(f"redlin's model does not implement {', '.join(sorted(missing))} yet")


def quick(tmp_path: Path, **options: Any) -> RunOutcome:
    """A short run writing under ``tmp_path`` (its own example database: no replays from others)."""
    options.setdefault("ops", 400)
    options.setdefault("shrink_time", 3.0)
    options.setdefault("out", tmp_path / "out")
    options.setdefault("database", tmp_path / "examples")
    return run(**options)


def redlin(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m redlin ARGS`` in ``cwd`` (a test's own folder: a run writes ``reports/`` and
    Hypothesis's ``.hypothesis/`` where it starts, and tests never write into the repository)."""
    return subprocess.run([sys.executable, "-m", "redlin", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


# ----------------------------------------------------------------------------- verdicts


@pytest.mark.parametrize("workload", [*BASE_FAMILIES, "mixed"])
def test_clean_embedded_server_is_linearizable(tmp_path: Path, workload: str) -> None:
    if workload != "mixed":
        needs_model(workload)
    outcome = quick(tmp_path, workload=workload)
    assert outcome.verdict == "linearizable", render_outcome(outcome)
    assert outcome.exit_code == 0
    assert outcome.stats.operations >= 400 and outcome.stats.unknown_executions == 0
    # The report is about the run's own history file, which checks the same way on its own.
    history = load_history(outcome.paths["history"])
    assert len(history) == outcome.stats.operations
    assert check(history, redis_model(), time_limit=60).verdict == "linearizable"


# Pub/Sub faults need the pubsub workload, which has no program to shrink: tests/test_pubsub_check.py.
# The faults in command corners, which only the default workload reaches: tests/test_planted_faults.py.
# The consumer-group fault, which needs its stream workload: tests/test_stream_workload.py.
PROGRAM_FAULTS = sorted(fault for fault in FAULTS if FAULT_WORKLOADS[fault] not in ("pubsub", "default", "stream"))


@pytest.mark.parametrize("fault", PROGRAM_FAULTS)
def test_each_planted_fault_is_found(tmp_path: Path, fault: str) -> None:
    workload = FAULT_WORKLOADS[fault]
    needs_model(workload)
    outcome = quick(tmp_path, workload=workload, fault=fault, ops=20_000)
    assert outcome.verdict == "violation", render_outcome(outcome)
    assert outcome.exit_code == 1
    assert outcome.stats.found_after_seconds is not None  # how fast: bench/detect.py, not a timed test
    assert 1 <= len(outcome.core) <= 6
    assert outcome.program is not None
    # The saved failing run is a violation when checked again from its file.
    again = load_history(outcome.paths["counterexample"])
    assert isinstance(check(again, redis_model(), time_limit=30), Violation)
    text = render_outcome(outcome)
    assert text.startswith("VIOLATION") and "minimal counterexample" in text and "shrunk program" in text
    result = json.loads(outcome.paths["result"].read_text())
    assert result["verdict"] == "violation"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("fault", PROGRAM_FAULTS)
def test_each_fault_is_found_by_the_default_workload(tmp_path: Path, fault: str, seed: int) -> None:
    """What ``redlin run --fault NAME`` does: the mixed workload, several seeds.  Only the finding is
    asserted here (shrinking is test_each_planted_fault_is_found's), so shrinking gets a second."""
    outcome = quick(tmp_path, fault=fault, seed=seed, ops=50_000, shrink_time=1)
    assert outcome.verdict == "violation", render_outcome(outcome)
    assert outcome.stats.found_after_seconds is not None  # how fast: bench/detect.py, not a timed test


@pytest.mark.redis
@pytest.mark.slow
def test_real_redis_soak_with_eight_clients(tmp_path: Path, redis_server: RedisServer) -> None:
    outcome = quick(tmp_path, target=redis_server.url, clients=8, duration=20, ops=None)
    assert outcome.verdict == "linearizable", render_outcome(outcome)
    assert outcome.stats.operations > 2000


@pytest.mark.redis
@pytest.mark.parametrize("workload", [*BASE_FAMILIES, "mixed"])
def test_real_redis_is_linearizable(tmp_path: Path, redis_server: RedisServer, workload: str) -> None:
    if workload != "mixed":
        needs_model(workload)
    outcome = quick(tmp_path, target=redis_server.url, workload=workload)
    assert outcome.verdict == "linearizable", render_outcome(outcome)
    assert outcome.stats.indeterminate == 0


def test_failing_programs_replay_from_the_example_database(tmp_path: Path) -> None:
    database = tmp_path / "examples"
    first = run(workload="counter", fault="incr-read-then-write", ops=20_000, shrink_time=3,
                out=tmp_path / "first", database=database)
    assert first.verdict == "violation" and first.program is not None
    assert any(database.iterdir())
    # Against the clean server the saved failing program runs first.  Without the database, seed 99
    # would start with Hypothesis's simplest program, which sends nothing.
    second = run(workload="counter", ops=50, out=tmp_path / "second", database=database, seed=99)
    assert second.verdict == "linearizable"
    history = load_history(second.paths["history"])
    first_run = [op for op in history if any(arg.startswith(second.prefix.encode() + b"0:")
                                             for argv in op.call for arg in argv)]
    # An update is an INCR or DECRBY, alone or inside MULTI/EXEC (the counter family's Tx step).
    updates = [op for op in first_run if any(argv[0] in (b"INCR", b"DECRBY") for argv in op.call)]
    assert len(updates) >= 2 and len({op.client for op in updates}) >= 2  # what that fault needs
    fresh = run(workload="counter", ops=50, out=tmp_path / "fresh", database=tmp_path / "empty", seed=99)
    assert not [op for op in load_history(fresh.paths["history"])
                if any(arg.startswith(fresh.prefix.encode() + b"0:") for argv in op.call for arg in argv)]


def test_the_same_seed_draws_the_same_programs(tmp_path: Path) -> None:
    def calls(name: str) -> list[object]:
        outcome = quick(tmp_path / name, workload="register", ops=100, seed=5, database=None)
        history = load_history(outcome.paths["history"])
        return sorted((op.call[0][0], op.call[0][1].rsplit(b":", 2)[1:]) for op in history)

    assert calls("a") == calls("b")


def test_soak_mode_runs_for_its_duration(tmp_path: Path) -> None:
    started = time.monotonic()
    outcome = quick(tmp_path, workload="register", duration=2.0, ops=None)
    elapsed = time.monotonic() - started
    assert outcome.verdict == "linearizable"
    assert 2.0 <= elapsed < 30 and outcome.stats.operations > 100


def test_rate_limits_the_load(tmp_path: Path) -> None:
    started = time.monotonic()
    outcome = quick(tmp_path, workload="register", ops=60, rate=100.0)
    assert outcome.verdict == "linearizable"
    assert time.monotonic() - started >= (outcome.stats.operations - 1) / 100.0


def test_a_user_family(tmp_path: Path) -> None:
    hits = Family("hits", "page hits", keys=("p0", "p1"),
                  steps=(Op("GET {key}"), Op("INCR {key}", weight=3)), setup=(Op("SET {key} 100"),))
    outcome = quick(tmp_path, workload=hits, ops=200)
    assert outcome.verdict == "linearizable"
    path = tmp_path / "hits.json"
    path.write_text(json.dumps({"name": "hits", "keys": ["p0"], "steps": [{"op": "INCR {key}"}]}))
    assert quick(tmp_path / "json", workload=str(path), ops=100).verdict == "linearizable"


# ----------------------------------------------------------------------------- safety on real servers


def _snapshot(conn: Connection, db: int) -> dict[bytes, tuple[Any, ...]]:
    conn.execute(b"SELECT", str(db).encode())
    keys: list[bytes] = []
    cursor = b"0"
    while True:
        reply = conn.execute(b"SCAN", cursor, b"COUNT", b"1000")
        assert isinstance(reply, tuple)
        cursor, found = reply
        keys.extend(found)  # type: ignore[arg-type]
        if cursor == b"0":
            break
    replies = conn.pipeline([c for key in keys for c in ((b"DUMP", key), (b"PTTL", key))])
    return {key: (replies[2 * i], replies[2 * i + 1] > 0) for i, key in enumerate(keys)}  # type: ignore[operator]


@pytest.mark.redis
def test_ten_thousand_existing_keys_are_untouched(tmp_path: Path, redis_server: RedisServer) -> None:
    """The run works in the same database as 10,000 keys of every type, some of them named like
    redlin's own (``redlin:...``), and leaves each one exactly as it was, TTLs included."""
    db = 7
    with Connection(redis_server.host, redis_server.port) as conn:
        conn.execute(b"SELECT", str(db).encode())
        conn.execute(b"FLUSHDB")
        commands: list[tuple[bytes, ...]] = []
        for i in range(10_000):
            key = b"user:%d" % i if i % 10 else b"redlin:someone-else:%d:r0" % i
            kind = i % 5
            if kind == 0:
                commands.append((b"SET", key, b"value-%d" % i))
            elif kind == 1:
                commands.append((b"RPUSH", key, b"a", b"b", b"%d" % i))
            elif kind == 2:
                commands.append((b"HSET", key, b"field", b"%d" % i))
            elif kind == 3:
                commands.append((b"SADD", key, b"x", b"%d" % i))
            else:
                commands.append((b"SET", key, b"%d" % i, b"EX", b"100000"))
        for start in range(0, len(commands), 1000):
            conn.pipeline(commands[start:start + 1000])
        before = _snapshot(conn, db)
        assert len(before) == 10_000
        outcome = quick(tmp_path, target=f"redis://{redis_server.host}:{redis_server.port}/{db}",
                        workload="mixed", ops=1000)
        assert outcome.verdict == "linearizable", render_outcome(outcome)
        after = _snapshot(conn, db)
        assert after == before
        conn.execute(b"FLUSHDB")


@pytest.mark.redis
def test_a_run_deletes_its_own_keys(tmp_path: Path, redis_server: RedisServer) -> None:
    outcome = quick(tmp_path, target=f"redis://{redis_server.host}:{redis_server.port}/6", workload="cas", ops=300)
    with Connection(redis_server.host, redis_server.port) as conn:
        conn.execute(b"SELECT", b"6")
        assert conn.execute(b"SCAN", b"0", b"MATCH", outcome.prefix.encode() + b"*", b"COUNT", b"100000") == (b"0", ())
    history = load_history(outcome.paths["history"])
    assert all(argv[1].startswith(outcome.prefix.encode()) for op in history for argv in op.call
               if argv[0] not in (b"MULTI", b"EXEC"))


def test_the_guard() -> None:
    guard = Guard(b"redlin:r1:")
    assert guard.check((b"SET", b"redlin:r1:3:k", b"v")) == (b"redlin:r1:3:k",)
    assert guard.check((b"MULTI",)) == () and guard.check((b"AUTH", b"pw")) == ()
    for argv, why in [
        ((b"SET", b"user:1", b"v"), "outside the run's prefix"),
        ((b"DEL", b"redlin:r1:k", b"redlin:r2:k"), "outside the run's prefix"),
        ((b"FLUSHALL",), "--allow-destructive"),
        ((b"flushdb",), "--allow-destructive"),
        ((b"CONFIG", b"SET", b"maxmemory", b"1"), "--allow-destructive"),
        ((b"DEBUG", b"SLEEP", b"0"), "--allow-destructive"),
        ((b"KEYS", b"*"), "--allow-destructive"),
        ((b"NOSUCHCOMMAND", b"x"), "does not know it"),
    ]:
        with pytest.raises(UnsafeCommand, match=why):
            guard.check(argv)
    permissive = Guard(b"redlin:r1:", allow_destructive=True)
    assert permissive.check((b"FLUSHALL",)) == ()
    with pytest.raises(UnsafeCommand, match="outside"):
        permissive.check((b"GET", b"user:1"))


def test_a_program_outside_the_prefix_is_never_sent(tmp_path: Path) -> None:
    with start_in_thread() as server:
        target = Target.parse(server.url)
        with HistoryWriter(tmp_path / "h.jsonl") as writer:
            recorder = Recorder(target, writer, Guard(b"redlin:mine:"))
            with pytest.raises(UnsafeCommand):
                recorder.execute(Program("x", (), ((Command((b"GET", b"not-mine")),),)), b"redlin:mine:0:")
            with pytest.raises(UnsafeCommand):
                recorder.execute(Program("x", (), ()), b"redlin:other:0:")
        assert load_history(tmp_path / "h.jsonl").operations == ()


# ----------------------------------------------------------------------------- targets and passwords


def test_target_urls() -> None:
    target = Target.parse("redis://alice:p%40ss@db.example:6380/3", password_env=None)
    assert (target.host, target.port, target.db, target.username, target.password, target.tls) == (
        "db.example", 6380, 3, "alice", "p@ss", False)
    assert target.url == "redis://alice:***@db.example:6380/3"
    assert "p@ss" not in repr(target)
    assert Target.parse("rediss://h?ssl_cert_reqs=none").url == "rediss://h:6379/0"
    assert not Target.parse("rediss://h?ssl_cert_reqs=none").verify
    os.environ["REDLIN_TEST_PW"] = "from-env"
    try:
        assert Target.parse("redis://h", password_env="REDLIN_TEST_PW").password == "from-env"
        assert Target.parse("redis://:url@h", password_env="REDLIN_TEST_PW").password == "url"
    finally:
        del os.environ["REDLIN_TEST_PW"]
    for bad, why in [("http://h", "scheme"), ("redis://", "no host"), ("redis://h/x", "database"),
                     ("redis://h:99999", "bad target"), ("redis://h?tls=1", "unknown option")]:
        with pytest.raises(TargetError, match=why):
            Target.parse(bad)


@pytest.fixture(scope="module")
def password_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    process, server = start_redis_server(str(tmp_path_factory.mktemp("pw")))
    try:
        with Connection(server.host, server.port) as conn:  # after start: the fixture's probe PINGs
            conn.execute(b"CONFIG", b"SET", b"requirepass", PASSWORD.encode())
        yield server
    finally:
        process.terminate()
        process.wait()


def _everything_written(directory: Path) -> str:
    return "".join(path.read_text(errors="replace") for path in directory.rglob("*") if path.is_file())


@pytest.mark.redis
def test_password_in_url_or_environment_is_never_printed(tmp_path: Path, password_server: RedisServer,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    url = f"redis://:{PASSWORD}@{password_server.host}:{password_server.port}/0"
    code = main(["run", "--target", url, "--workload", "register", "--ops", "200", "--progress", "lines",
                 "--out", str(tmp_path / "a"), "--database", str(tmp_path / "db")])
    printed = capsys.readouterr()
    assert code == 0, printed.out + printed.err
    assert "redis://:***@" in printed.out
    os.environ["REDLIN_TEST_PASSWORD"] = PASSWORD
    try:
        code = main(["run", "--target", f"redis://{password_server.host}:{password_server.port}/0",
                     "--password-env", "REDLIN_TEST_PASSWORD", "--workload", "counter", "--ops", "200",
                     "--out", str(tmp_path / "b"), "--database", str(tmp_path / "db")])
    finally:
        del os.environ["REDLIN_TEST_PASSWORD"]
    printed2 = capsys.readouterr()
    assert code == 0, printed2.out + printed2.err
    # Wrong password: one line, exit 3, and the wrong password is not shown either.
    bad = f"redis://:not-{PASSWORD}@{password_server.host}:{password_server.port}/0"
    code = main(["run", "--target", bad, "--out", str(tmp_path / "c"), "--database", str(tmp_path / "db")])
    printed3 = capsys.readouterr()
    assert code == 3 and printed3.err.count("\n") == 1 and "authentication failed" in printed3.err
    everything = printed.out + printed.err + printed2.out + printed2.err + printed3.out + printed3.err
    assert PASSWORD not in everything
    assert PASSWORD not in _everything_written(tmp_path)


@pytest.mark.redis
@pytest.mark.slow
def test_tls_target(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    port = free_port()
    process, _ = start_redis_server(str(tmp_path), ("--tls-port", str(port), "--tls-cert-file", str(cert),
                                                    "--tls-key-file", str(key), "--tls-ca-cert-file", str(cert),
                                                    "--tls-auth-clients", "no"))
    try:
        outcome = quick(tmp_path, target=f"rediss://localhost:{port}/0?ssl_ca_certs={cert}", workload="cas", ops=300)
        assert outcome.verdict == "linearizable", render_outcome(outcome)
        with pytest.raises(UsageError, match="TLS handshake failed"):
            quick(tmp_path / "bad", target=f"rediss://localhost:{port}/0")  # self-signed: not trusted
    finally:
        process.terminate()
        process.wait()


# ----------------------------------------------------------------------------- recording


class _StallingServer:
    """Answers PING and INFO (so a run can start) and never anything else: every operation times out."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        parser = Parser(commands=True)
        with conn:
            while data := conn.recv(65536):
                parser.feed(data)
                for argv in parser.values():
                    assert isinstance(argv, list)
                    if argv[0].upper() == b"PING":
                        conn.sendall(b"+PONG\r\n")
                    elif argv[0].upper() == b"INFO":
                        conn.sendall(b"$-1\r\n")

    def close(self) -> None:
        self.sock.close()


@pytest.mark.redis
@pytest.mark.slow
def test_a_target_that_goes_away_is_a_connection_error(tmp_path: Path) -> None:
    """Killed for good: the run waits --reconnect-for seconds, then ends with exit code 3, and
    what was recorded is still checked and reported (tests/test_run_faults.py has the restarts)."""
    process, server = start_redis_server(str(tmp_path))
    threading.Timer(2.0, process.kill).start()
    try:
        outcome = quick(tmp_path, target=server.url, workload="cas", duration=30, ops=None, timeout=1.0,
                        reconnect_for=2.0)
    finally:
        process.wait()
    assert outcome.exit_code == 3 and outcome.stats.target_lost is not None, render_outcome(outcome)
    assert "did not come back" in render_outcome(outcome)
    assert len(load_history(tmp_path / "out" / "history.jsonl")) > 0  # what was recorded is kept


def test_timeouts_become_indeterminate_and_the_client_reconnects(tmp_path: Path) -> None:
    server = _StallingServer()
    try:
        outcome = quick(tmp_path, target=f"redis://127.0.0.1:{server.port}/0", workload="register", ops=6,
                        clients=2, steps=3, repeat=1, timeout=0.2)
    finally:
        server.close()
    history = load_history(outcome.paths["history"])
    assert len(history) >= 6
    assert all(op.outcome is Outcome.INFO for op in history)
    # Each timed-out operation ended its connection: the next one is a new client id.
    assert len({op.client for op in history}) == len(history)
    assert outcome.verdict == "linearizable" and outcome.stats.indeterminate == len(history)
    assert any("could not delete" in note for note in outcome.notes)
    assert "indeterminate" in render_outcome(outcome)


@pytest.mark.redis
def test_each_atomic_unit_is_one_operation(tmp_path: Path, redis_server: RedisServer) -> None:
    prefix = b"redlin:unit-test:"
    program = Program("x", setup=(Command((b"SET", Key("k"), b"s-0")),), clients=(
        (Transaction(((b"INCR", Key("n")), (b"GET", Key("k"))), watch=(Key("k"),)), CasLoop(Key("k"), b"0-1", 3)),))
    with HistoryWriter(tmp_path / "h.jsonl") as writer:
        recorder = Recorder(Target.parse(redis_server.url), writer, Guard(prefix))
        execution = recorder.execute(program, prefix + b"0:")
        recorder.delete_keys(recorder.touched)
    calls = [[argv[0] for argv in op.call] for op in execution.history]
    assert calls == [[b"SET"], [b"WATCH"], [b"MULTI", b"INCR", b"GET", b"EXEC"], [b"WATCH"], [b"GET"],
                     [b"MULTI", b"SET", b"EXEC"]]
    last = execution.history[-1]
    assert last.call[1] == (b"SET", prefix + b"0:k", b"s-0,0-1")  # f(v): the value read, then the token
    assert check(execution.history, redis_model()).verdict == "linearizable"
    assert load_history(tmp_path / "h.jsonl").operations == tuple(
        op.__class__(op.id, op.client, op.call, op.result, op.invoke, op.complete, op.outcome, 2 * op.id + 2)
        for op in execution.history)


# ----------------------------------------------------------------------------- the command line


@pytest.mark.parametrize("args, message", [
    (["--clients", "0"], "must be positive"),
    (["--workload", "nope"], "unknown workload 'nope'"),
    (["--target", "redis://127.0.0.1:1/0"], "cannot use redis://127.0.0.1:1/0"),
    (["--target", "http://x"], "scheme"),
    (["--fault", "lost-write", "--target", "redis://127.0.0.1:1/0"], "cannot be combined with --target"),
    (["--fault", "no-such-fault"], "invalid choice"),
    (["--ops", "10", "--duration", "5"], "not allowed with argument"),
])
def test_usage_errors_are_one_line_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                          message: str) -> None:
    try:
        code = main(["run", "--out", str(tmp_path / "o"), "--database", str(tmp_path / "db"), *args])
    except SystemExit as exit:  # argparse's own errors
        code = exit.code  # type: ignore[assignment]
    printed = capsys.readouterr()
    assert code == 3, printed.out + printed.err
    assert message in printed.err and printed.err.count("\n") == 1 and printed.out == ""


def test_unreachable_target_from_the_shell_is_one_line(tmp_path: Path) -> None:
    done = redlin("run", "--target", "redis://127.0.0.1:1/0", "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert done.returncode == 3 and done.stdout == ""
    assert done.stderr.startswith("redlin: cannot use redis://127.0.0.1:1/0:") and done.stderr.count("\n") == 1


def test_a_family_the_model_cannot_check_is_a_usage_error(tmp_path: Path) -> None:
    dumps = Family("dumps", "serialised values", keys=("x0",), steps=(Op("DUMP {key}"),))
    with pytest.raises(UsageError, match="sends DUMP, which redlin's model does not implement"):
        quick(tmp_path, workload=dumps)


def test_unsafe_families_are_refused_before_connecting(tmp_path: Path) -> None:
    literal = Family("literal", "names a key of its own", keys=("k",), steps=(Op("GET user:1"),))
    with pytest.raises(UsageError, match="outside the run's prefix"):
        quick(tmp_path / "a", workload=literal, target="redis://127.0.0.1:1/0")
    flush = Family("flush", "flushes", keys=("k",), steps=(Op("SET {key} {value}"), Op("FLUSHDB")))
    with pytest.raises(UsageError, match="--allow-destructive"):
        quick(tmp_path / "b", workload=flush, target="redis://127.0.0.1:1/0")
    # Allowed, it runs (on the embedded server, which is the run's alone).
    assert quick(tmp_path / "c", workload=flush, allow_destructive=True, ops=100).verdict == "linearizable"


def test_a_long_run_reports_its_latest_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(program_search, "MAX_REPORTED_OPERATIONS", 100)
    outcome = quick(tmp_path, workload="register", ops=400)
    assert outcome.verdict == "linearizable"
    assert outcome.paths["result"].parent == tmp_path / "out" / "report"
    document = json.loads(outcome.paths["result"].read_text())
    assert 0 < document["operations"] <= 200 and "latest" in document["meta"]["report_covers"]


def test_if_the_report_writer_fails_a_minimal_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(run_report, "write_report", broken)
    outcome = quick(tmp_path, workload="counter", fault="incr-read-then-write", ops=5000)
    assert outcome.verdict == "violation" and outcome.exit_code == 1
    assert any("the report writer failed (OSError: disk full)" in note for note in outcome.notes)
    assert {name: path.name for name, path in outcome.paths.items()} == {
        "history": "history.jsonl", "counterexample": "counterexample.jsonl", "result": "result.json",
        "summary": "summary.md"}
    assert json.loads(outcome.paths["result"].read_text())["verdict"] == "violation"
    assert "minimal counterexample" in outcome.paths["summary"].read_text()


def test_a_check_that_runs_out_of_time_is_unknown(tmp_path: Path) -> None:
    outcome = quick(tmp_path, workload="register", ops=100, check_time=1e-9)
    assert outcome.verdict == "unknown" and outcome.exit_code == 2
    assert outcome.stats.unknown_executions > 0
    assert render_outcome(outcome).startswith("UNKNOWN") and "--check-time" in render_outcome(outcome)


def test_an_output_directory_is_never_reused(tmp_path: Path) -> None:
    quick(tmp_path, workload="register", ops=50)
    with pytest.raises(UsageError, match="already holds"):
        quick(tmp_path, workload="register", ops=50)


def test_redlin_run_with_no_arguments(tmp_path: Path) -> None:
    """The main job: no Redis needed, LINEARIZABLE, the history and the report written."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "redlin", "run"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env=dict(os.environ))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("LINEARIZABLE")
    assert time.monotonic() - started < 60
    (run_dir,) = (tmp_path / "reports").iterdir()
    assert f"history: reports/{run_dir.name}/history.jsonl" in done.stdout
    assert {"history.jsonl", "result.json", "summary.md"} <= {p.name for p in run_dir.iterdir()}


def test_fault_from_the_command_line(tmp_path: Path) -> None:
    done = redlin("run", "--fault", "incr-read-then-write", "--workload", "counter", "--shrink-time", "3",
                  "--out", str(tmp_path / "o"), "--database", str(tmp_path / "db"), "--progress", "lines", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith("VIOLATION") and "minimal counterexample" in done.stdout
    assert "redlin: violation found after" in done.stderr
    assert f"counterexample: {tmp_path / 'o' / 'counterexample.jsonl'}" in done.stdout
    assert redlin("check", "--no-report", str(tmp_path / "o" / "counterexample.jsonl"), cwd=tmp_path).returncode == 1


def test_ctrl_c_keeps_the_history_and_checks_it(tmp_path: Path) -> None:
    out = tmp_path / "o"
    process = subprocess.Popen([sys.executable, "-m", "redlin", "run", "--duration", "60", "--workload", "cas",
                                "--out", str(out), "--database", str(tmp_path / "db"), "--progress", "lines"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=as_at_a_terminal)
    history = out / "history.jsonl"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not history.exists() or history.stat().st_size < 20_000):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stdout + stderr
    assert "interrupted" in stderr and "interrupted by Ctrl-C" in stdout and "Traceback" not in stderr
    recorded = load_history(history)
    assert len(recorded) > 50
    assert check(recorded, redis_model(), time_limit=30).verdict == "linearizable"


def test_ctrl_c_before_anything_was_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "search_programs", interrupted)
    outcome = quick(tmp_path, workload="register")
    assert outcome.verdict == "interrupted" and outcome.exit_code == 130
    assert "nothing was recorded" in render_outcome(outcome)


def test_progress_bar_and_lines() -> None:
    bar = io.StringIO()
    progress = Progress(bar, total_ops=100, duration=None, tty=True)
    progress.operations, progress.programs = 50, 3
    progress._render()
    assert bar.getvalue().startswith("\r[############............]  50%  50 ops, 3 programs")
    progress.say("violation found")
    assert bar.getvalue().endswith("\rredlin: violation found\n")
    lines = io.StringIO()
    plain = Progress(lines, total_ops=None, duration=10.0, tty=False)
    plain._render()
    assert lines.getvalue().startswith("redlin: 0%: 0 ops, 0 programs") and "\r" not in lines.getvalue()
    assert "busy" not in lines.getvalue()  # nobody said how busy the clients are
    plain.busy = lambda: (1e9, 2)
    plain._render()
    assert lines.getvalue().splitlines()[-1].endswith(", clients busy 100%")


def test_progress_lines_mark_each_tenth_and_the_end() -> None:
    log = io.StringIO()
    progress = Progress(log, total_ops=100, duration=None, tty=False, interval=3600)
    with progress:
        for _ in range(35):
            progress.tick()
        progress.phase = "shrinking"  # past the search: a line for each phase change, none for tenths
        for _ in range(30):
            progress.tick()
    *tenths, last = log.getvalue().splitlines()
    assert [line.split("%")[0][:len("redlin: 1")] for line in tenths] == ["redlin: 1", "redlin: 2", "redlin: 3"]
    assert last.startswith("redlin: done: 65 ops, 0 programs")


@pytest.mark.parametrize("mode", ["lines", "auto"])
def test_progress_lines_on_an_ops_run_from_the_command_line(tmp_path: Path, mode: str) -> None:
    """A CI log (stderr not a terminal) gets progress lines on an --ops run, however short."""
    done = redlin("run", "--workload", "register", "--ops", "300", "--progress", mode, "--out", str(tmp_path / "o"),
                  "--database", str(tmp_path / "db"), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert "\r" not in done.stderr
    assert all(line.startswith("redlin: ") for line in lines)
    assert [line for line in lines if "%: " in line and " ops, " in line], done.stderr  # on the way
    assert lines[-1].startswith("redlin: done: ") and " ops, " in lines[-1]
    # How much of the clients' time went to operations (the rest: barriers, generating, checking).
    busy = re.search(r", clients busy (\d+)%$", lines[-1])
    assert busy is not None and 0 < int(busy.group(1)) < 100, lines[-1]
    assert redlin("run", "--workload", "register", "--ops", "50", "--progress", "none", "--out", str(tmp_path / "n"),
                  "--database", str(tmp_path / "db"), cwd=tmp_path).stderr == ""


def test_the_console_names_times_clients_and_keys_as_the_history_does(tmp_path: Path) -> None:
    """One time base (ms from the run's start), one client numbering (the shrunk program's clients
    are named by their ids in the failing run), keys without the run's prefix."""
    outcome = quick(tmp_path, workload="counter", fault="incr-read-then-write", ops=20_000)
    assert outcome.verdict == "violation" and outcome.history is not None and outcome.program is not None
    text = render_outcome(outcome)
    body, files = text.split("\nhistory: ")
    # Times: the failing run's history starts where the run's history file does, and so does the
    # saved counterexample; no raw monotonic nanoseconds are printed.
    recorded = load_history(outcome.paths["history"])
    origin = min(op.invoke for op in recorded)
    assert outcome.history.meta["time_origin"] == origin
    assert load_history(outcome.paths["counterexample"]).meta["time_origin"] == origin
    assert not re.search(r"\d{10}", body), body
    clock = Clock.of(outcome.history)
    listed = re.findall(r"^ {6}op \d+, client (\d+), (.+? ms): ", body, re.MULTILINE)
    assert sorted(listed) == sorted((str(outcome.history[i].client), clock.span(outcome.history[i]))
                                    for i in outcome.core)
    assert any(f"({span})" in body for _, span in listed)  # the explanation cites the same times
    # Clients: every client of the counterexample is one of the shrunk program's, by the same number.
    program = body.split("shrunk program")[1].split("\n  VIOLATION")[0]
    named = {int(number) for number in re.findall(r"(?:client|then) (\d+)", program)}
    assert {int(client) for client, _ in listed} <= named
    assert named == {client for ids in outcome.program_clients.values() for client in ids}
    assert {op.client for op in outcome.history} <= named
    # Operations: numbered as in history.jsonl, like the report and `redlin check counterexample.jsonl`.
    numbers = sorted(int(n) for n in re.findall(r"^ {6}op (\d+), ", body, re.MULTILINE))
    document = json.loads(outcome.paths["result"].read_text())
    assert numbers == sorted(op["id"] for op in document["counterexample"]) == \
        sorted(outcome.history_ids[i] for i in outcome.core)
    assert all(recorded[n].client == outcome.history[i].client and recorded[n].call == outcome.history[i].call
               for n, i in zip(sorted(outcome.history_ids[i] for i in outcome.core), sorted(outcome.core), strict=True))
    assert "(operations are numbered as in history.jsonl)" in body
    checked = redlin("check", str(outcome.paths["counterexample"]), "--no-report", cwd=tmp_path).stdout
    assert sorted(int(n) for n in re.findall(r"^ {4}op (\d+), ", checked, re.MULTILINE)) == numbers, checked
    # Keys: shown without the run's prefix, once said so.
    assert body.count(outcome.prefix) == 1 and f"without the run's prefix {outcome.prefix}" in body


def test_the_runner_keeps_its_public_names() -> None:
    """What ``redlin``, the command line and the benchmarks import from the runner and the Pub/Sub
    recorder, wherever the code now lives."""
    assert public_run is runner.run and PublicRunOutcome is outcome_module.RunOutcome is runner.RunOutcome
    assert runner.Progress is progress_module.Progress and runner.render_outcome is outcome_module.render_outcome
    for name in ("DEFAULT_CHECK_TIME", "DEFAULT_CLIENTS", "DEFAULT_DATABASE", "DEFAULT_OPS", "DEFAULT_RECONNECT_FOR",
                 "DEFAULT_REPEAT", "DEFAULT_SHRINK_TIME", "DEFAULT_STEPS", "DEFAULT_TIMEOUT", "FAULT_WORKLOADS",
                 "RunStats"):
        assert name in runner.__all__ and hasattr(runner, name)
    assert set(FAULT_WORKLOADS) == set(FAULTS)
    assert pubsub.check_pubsub is pubsub_check.check_pubsub and pubsub.minimise_pubsub is pubsub_check.minimise_pubsub
