"""The server's state is not a concurrency bug: rejections and restarts during a recorded run
(issue #11 parts 1 and 2).

Each test drives :class:`redlin.harness.recorder.Recorder` directly against a redis-server it
started in a state that refuses commands (out of memory, a read-only or stale replica, a busy
script, too many clients) or that it kills and restarts, and checks every execution: never a
violation, the rejections counted, the restarts in the history.
"""

from __future__ import annotations

import hashlib
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import RedisServer, start_redis_server, system_redis_server

from redlin import check
from redlin.adapter.redis_model import redis_model
from redlin.adapter.restarts import RESTART, restart_call
from redlin.harness.guard import Guard
from redlin.harness.recorder import Execution, Recorder, Target
from redlin.harness.server_state import Rejection, rejection, rejection_note
from redlin.harness.wire import Connection
from redlin.harness.workloads import BASE_FAMILIES, FAMILIES, sample_program
from redlin.history.jsonl import HistoryWriter, load_history
from redlin.history.records import History, Operation, Outcome
from redlin.model import Error, Status
from redlin.search.result import Unknown

pytestmark = pytest.mark.redis

PREFIX = b"redlin:faults:"
BUSY_SCRIPT = (b"local t = redis.call('TIME') local start = t[1] * 1000000 + t[2] "
               b"while true do local n = redis.call('TIME') "
               b"if n[1] * 1000000 + n[2] - start > 300000 then break end end return 1")


def _record(server: RedisServer, tmp_path: Path, *, families: tuple[str, ...] = BASE_FAMILIES, runs: int = 2,
            clients: int = 4, steps: int = 12) -> tuple[Recorder, list[tuple[Execution, str]]]:
    """Run ``runs`` programs of each family and check each execution: (recorder, [(execution, verdict)])."""
    done = []
    with HistoryWriter(tmp_path / "history.jsonl") as writer:
        recorder = Recorder(Target.parse(server.url, password_env=None), writer, Guard(PREFIX), timeout=5.0)
        for family in families:
            for seed in range(runs):
                index = len(done)
                program = sample_program(FAMILIES[family], clients=clients, steps=steps, seed=seed)
                execution = recorder.execute(program, PREFIX + b"%d:" % index, index)
                done.append((execution, check(execution.history, redis_model(), time_limit=20).verdict))
    return recorder, done


def _no_false_alarm(recorder: Recorder, done: list[tuple[Execution, str]], code: str) -> None:
    verdicts = Counter(verdict for _, verdict in done)
    assert verdicts["violation"] == 0, verdicts
    assert verdicts["linearizable"] == len(done), verdicts  # nothing in these histories is hard to search
    assert recorder.rejected[code] > 0
    assert sum(count for execution, _ in done for name, count in execution.rejected if name == code) == \
        recorder.rejected[code]
    failed = [op for execution, _ in done for op in execution.history if op.outcome is Outcome.FAIL]
    assert failed and all(op.result is None and op.complete is not None for op in failed)
    # No reply of the server's state was taken as a command's reply.
    for execution, _ in done:
        for op in execution.history:
            if op.outcome is Outcome.OK:
                assert rejection(op.call, op.result) is None, op


def test_out_of_memory_writes_are_rejected_not_wrong(server_in: Callable[..., RedisServer], tmp_path: Path) -> None:
    server = server_in("--maxmemory", "1", "--maxmemory-policy", "noeviction")
    recorder, done = _record(server, tmp_path)
    _no_false_alarm(recorder, done, "OOM")
    note = rejection_note(recorder.rejected)
    assert note is not None and "rejected by the server's state" in note and "OOM" in note
    # The history file says why each failed: the loader reads them back as FAIL.
    loaded = load_history(tmp_path / "history.jsonl")
    assert sum(op.outcome is Outcome.FAIL for op in loaded) == recorder.rejected["OOM"]
    assert "OOM: OOM command not allowed" in (tmp_path / "history.jsonl").read_text()


def test_writes_to_a_read_only_replica_are_rejected_not_wrong(server_in: Callable[..., RedisServer],
                                                              tmp_path: Path) -> None:
    with socket.socket() as probe:  # a primary that is not there
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    server = server_in("--replicaof", "127.0.0.1", str(dead), "--replica-read-only", "yes")
    recorder, done = _record(server, tmp_path)
    _no_false_alarm(recorder, done, "READONLY")


def test_a_stale_replica_rejects_reads_too(server_in: Callable[..., RedisServer], tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    server = server_in("--replicaof", "127.0.0.1", str(dead), "--replica-read-only", "yes")
    with Connection(server.host, server.port) as conn:  # after the start: the fixture's probe PINGs
        assert conn.execute(b"CONFIG", b"SET", b"replica-serve-stale-data", b"no") == Status("OK")
    recorder, done = _record(server, tmp_path, runs=1)
    _no_false_alarm(recorder, done, "MASTERDOWN")
    assert recorder.rejected["READONLY"] > 0  # writes are refused first (processCommand's order)


def test_commands_refused_while_another_script_runs(server_in: Callable[..., RedisServer], tmp_path: Path) -> None:
    server = server_in("--busy-reply-threshold", "50")
    stop = threading.Event()

    def keep_busy() -> None:  # another client's long script, not recorded and on no key of the run
        with Connection(server.host, server.port, timeout=10) as conn:
            while not stop.is_set():
                conn.execute(b"EVAL", BUSY_SCRIPT, b"0")
                time.sleep(0.05)

    busy = threading.Thread(target=keep_busy, daemon=True)
    busy.start()
    try:
        recorder, done = _record(server, tmp_path, steps=30)
    finally:
        stop.set()
        busy.join()
    _no_false_alarm(recorder, done, "BUSY")


def test_more_clients_than_the_server_takes(server_in: Callable[..., RedisServer], tmp_path: Path) -> None:
    server = server_in("--maxclients", "5")
    recorder, done = _record(server, tmp_path, clients=8)
    verdicts = Counter(verdict for _, verdict in done)
    assert verdicts["violation"] == 0 and verdicts["linearizable"] == len(done), verdicts
    assert recorder.refused["max clients"] > 0
    assert sum(count for execution, _ in done for _, count in execution.refused) == recorder.refused["max clients"]
    for execution, _ in done:
        assert not any(type(reply) is Error and "max number of clients" in reply.text
                       for op in execution.history if op.outcome is Outcome.OK for reply in op.result)


# ----------------------------------------------------------------------------- classification


OOM = Error("OOM command not allowed when used memory > 'maxmemory'.")
BUSY = Error("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
SUFFIX = " script: 87fada2bdb5944df9d1dbba9f182d132f4d4fed5, on @user_script:1."


@pytest.mark.parametrize("call, replies, body, expected", [
    # Refused by processCommand before running: FAIL.
    (((b"SET", b"k", b"v"),), (OOM,), None, Rejection("OOM", OOM.text, True, False)),
    (((b"GET", b"k"),), (Error("ERR max number of clients reached"),), None,
     Rejection("max clients", "ERR max number of clients reached", True, True)),
    (((b"GET", b"k"),), (Error("NOAUTH Authentication required."),), None,
     Rejection("NOAUTH", "NOAUTH Authentication required.", True, True)),
    # A transaction: a queued command refused, or EXEC itself: discarded, and its WATCHes with it.
    (((b"MULTI",), (b"SET", b"k", b"v"), (b"EXEC",)),
     (Status("OK"), BUSY, Error("EXECABORT Transaction discarded because of previous errors.")), None,
     Rejection("BUSY", BUSY.text, True, True)),
    (((b"MULTI",), (b"SET", b"k", b"v"), (b"EXEC",)),
     (Status("OK"), Status("QUEUED"), Error("EXECABORT Transaction discarded because of: " + BUSY.text)), None,
     Rejection("BUSY", "EXECABORT Transaction discarded because of: " + BUSY.text, True, True)),
    # A maxclients refusal, then the connection closed: the other replies never came.
    (((b"MULTI",), (b"SET", b"k", b"v"), (b"EXEC",)), (Error("ERR max number of clients reached"),), None,
     Rejection("max clients", "ERR max number of clients reached", True, True)),
    # Scripts: refused at their first write, they wrote nothing (FAIL)...
    (((b"EVAL", b"return redis.call('SET', KEYS[1], 1)", b"1", b"k"),), (Error(OOM.text + SUFFIX),), None,
     Rejection("OOM", OOM.text + SUFFIX, True, False)),
    # ... refused before running (FAIL), unless the body could have said it itself, or is unknown (INFO).
    (((b"EVAL", b"return 1", b"0"),), (BUSY,), None, Rejection("BUSY", BUSY.text, True, False)),
    (((b"EVALSHA", b"a" * 40, b"0"),), (BUSY,), b"return 1", Rejection("BUSY", BUSY.text, True, False)),
    (((b"EVALSHA", b"a" * 40, b"0"),), (BUSY,), None, Rejection("BUSY", BUSY.text, False, True)),
    (((b"EVAL", b"return redis.error_reply('BUSY Redis is busy running a script.')", b"0"),), (BUSY,), None,
     Rejection("BUSY", BUSY.text, False, True)),
    # A bare OOM from a script may be what redis.pcall handed back: INFO.
    (((b"EVAL", b"return redis.pcall('SET', KEYS[1], 1)", b"1", b"k"),), (OOM,), None,
     Rejection("OOM", OOM.text, False, True)),
    # The command's own errors are replies.
    (((b"INCR", b"k"),), (Error("ERR value is not an integer or out of range"),), None, None),
    (((b"MULTI",), (b"FOO",), (b"EXEC",)),
     (Status("OK"), Error("ERR unknown command 'FOO', with args beginning with: "),
      Error("EXECABORT Transaction discarded because of previous errors.")), None, None),
])
def test_what_is_a_rejection(call: tuple[tuple[bytes, ...], ...], replies: tuple[Error | Status, ...],
                             body: bytes | None, expected: Rejection | None) -> None:
    assert rejection(call, replies, script_body=body) == expected


# ----------------------------------------------------------------------------- restarts


def _launch(port: int, directory: Path, extra: tuple[str, ...]) -> subprocess.Popen[bytes]:
    """redis-server on ``port`` again (as conftest starts it), once it answers PING."""
    binary = system_redis_server()
    assert binary is not None
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(directory),
         "--protected-mode", "yes", "--loglevel", "warning", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return process
        except OSError:
            time.sleep(0.02)
    process.kill()
    process.wait()
    pytest.fail(f"redis-server did not come back on port {port}")


def _record_through_restarts(tmp_path: Path, extra: tuple[str, ...], how: signal.Signals, *,
                             again: tuple[str, ...] = (), prepare: Callable[[RedisServer], None] | None = None,
                             ) -> tuple[Recorder, list[Execution], int]:
    """The transfer family (EVALSHA) recorded in a loop while the server is stopped with ``how``
    and started again on the same port and folder (with ``again`` added): twice, and more (up to 8
    times) until a restart fell inside an execution rather than between two and an EVALSHA met
    the emptied script cache; also how many restarts there were.  ``prepare`` runs on the server before the recording starts."""
    process, server = start_redis_server(str(tmp_path), extra)
    if prepare is not None:
        prepare(server)
    executions: list[Execution] = []
    stop = threading.Event()
    failure: list[BaseException] = []
    try:
        with HistoryWriter(tmp_path / "history.jsonl") as writer:
            recorder = Recorder(Target.parse(server.url, password_env=None), writer, Guard(PREFIX), timeout=2.0,
                                rate=2000, reconnect_time=10.0)

            def loop() -> None:
                try:
                    while not stop.is_set():
                        index = len(executions)
                        program = sample_program(FAMILIES["transfer"], clients=4, steps=25, seed=index)
                        executions.append(recorder.execute(program, PREFIX + b"%d:" % index, index))
                except BaseException as error:  # noqa: BLE001 - reported by the test
                    failure.append(error)

            recording = threading.Thread(target=loop)
            recording.start()
            restarts = 0
            try:
                # Until a restart fell inside an execution and an EVALSHA after it met the emptied
                # script cache (a loaded machine may need more tries).
                while restarts < 2 or (restarts < 8 and not {'"RESTART"', "NOSCRIPT"} <= _words(tmp_path)):
                    time.sleep(0.4)
                    process.send_signal(how)
                    process.wait()
                    process = _launch(server.port, tmp_path, extra + again)
                    restarts += 1
                time.sleep(0.4)
            finally:
                stop.set()
                recording.join()
    finally:
        process.kill()
        process.wait()
    assert not failure, failure
    return recorder, executions, restarts


def _words(tmp_path: Path) -> set[str]:
    text = (tmp_path / "history.jsonl").read_text()
    return {word for word in ('"RESTART"', "NOSCRIPT") if word in text}


def _restarts_check(recorder: Recorder, executions: list[Execution], restarts: int, data: str, *, clean: bool,
                    noscript: bool = True) -> None:
    assert len(recorder.restarts) == restarts and {restart.data for restart in recorder.restarts} == {data}
    assert all(restart.earliest < restart.latest for restart in recorder.restarts)
    with_restart = [execution for execution in executions if any(op.call[0][0] == RESTART for op in execution.history)]
    assert with_restart, "no execution was running across a restart"
    verdicts = Counter()
    for execution in executions:
        result = check(execution.history, redis_model(), time_limit=30)
        verdicts[result.verdict] += 1
        assert result.verdict != "violation", (execution.restarts, result)
        if clean and execution in with_restart:
            assert result.verdict == "linearizable", result
    # Those that crossed a restart saw NOSCRIPT: the EVALSHA of a body loaded before it.
    replies = [reply for execution in with_restart for op in execution.history if op.outcome is Outcome.OK
               for reply in op.result]
    assert not noscript or any(type(reply) is Error and reply.text.startswith("NOSCRIPT") for reply in replies)


@pytest.mark.slow
@pytest.mark.parametrize("extra, how, data, clean", [
    (("--appendonly", "no"), signal.SIGKILL, "emptied", True),
    (("--appendonly", "yes", "--appendfsync", "always"), signal.SIGKILL, "kept", True),
    (("--appendonly", "yes"), signal.SIGTERM, "unknown", False),  # everysec: what a crash keeps is unknown
])
def test_restarts_are_not_violations(tmp_path: Path, extra: tuple[str, ...], how: signal.Signals, data: str,
                                     clean: bool) -> None:
    recorder, executions, restarts = _record_through_restarts(tmp_path, extra, how)
    _restarts_check(recorder, executions, restarts, data, clean=clean)
    if not clean:
        unknown = [check(e.history, redis_model()) for e in executions if e.restarts and len(e.history) > 1]
        assert any(isinstance(result, Unknown) and "restarted" in result.reason for result in unknown)
    loaded = load_history(tmp_path / "history.jsonl")  # the file reads back, RESTART operations and all
    assert sum(op.call[0][0] == RESTART for op in loaded) == sum(
        op.call[0][0] == RESTART for execution in executions for op in execution.history)


def _fill_the_aof(server: RedisServer) -> None:
    """20,000 keys of no run, rewritten into the AOF's base: reloading them takes a while."""
    with Connection(server.host, server.port, timeout=30) as conn:
        conn.execute(b"EVAL", b"for i = 1, 20000 do redis.call('SET', 'filler:' .. i, i) end return 1", b"0")
        conn.execute(b"BGREWRITEAOF")
        while b"aof_rewrite_in_progress:0" not in conn.execute(b"INFO", b"persistence"):  # type: ignore[operator]
            time.sleep(0.05)


@pytest.mark.slow
def test_operations_refused_while_the_server_loads(tmp_path: Path) -> None:
    """A restart that reloads a large AOF: the operations sent meanwhile get LOADING (rejected),
    and what the AOF kept is checked (``appendfsync always``)."""
    recorder, executions, restarts = _record_through_restarts(
        tmp_path, ("--appendonly", "yes", "--appendfsync", "always"), signal.SIGKILL,
        again=("--key-load-delay", "50", "--loading-process-events-interval-bytes", "1024"), prepare=_fill_the_aof)
    # (Every operation sent while the server loads is rejected at once: the clients may be done
    # before it serves an EVALSHA, so NOSCRIPT is not sure to be seen.)
    _restarts_check(recorder, executions, restarts, "kept", clean=True, noscript=False)
    assert recorder.rejected["LOADING"] > 0, (recorder.rejected, recorder.refused, recorder.restarts)


def _restart_history(data: str, *, after: int = 30) -> History:
    """EVAL loads a script and sets k; the server restarts; EVALSHA gets NOSCRIPT; a GET reads k."""
    body = b"redis.call('SET', KEYS[1], 'v') return 1"
    sha = hashlib.sha1(body).hexdigest().encode()
    read = b"v" if data == "kept" else None
    return History((
        Operation(0, 1, ((b"EVAL", body, b"1", b"k"),), (1,), 0, 10),
        Operation(1, 99, (restart_call(data, "old", "new"),), (Status("OK"),), 10, 20),
        Operation(2, 2, ((b"EVALSHA", sha, b"1", b"k"),), (Error("NOSCRIPT No matching script. Please use EVAL."),),
                  after, after + 5),
        Operation(3, 2, ((b"GET", b"k"),), (read,), after + 6, after + 8),
    ))


def test_the_model_flushes_scripts_and_sessions_at_a_restart() -> None:
    assert check(_restart_history("emptied"), redis_model()).verdict == "linearizable"
    assert check(_restart_history("kept"), redis_model()).verdict == "linearizable"
    # The restart's interval bounds it: a NOSCRIPT answered before the restart can have happened is wrong.
    early = _restart_history("kept")
    ops = list(early.operations)
    ops[1] = Operation(1, 99, ops[1].call, ops[1].result, 40, 50)
    assert check(History(tuple(ops)), redis_model()).verdict == "violation"
    # A wrong read after the restart is still a violation.
    wrong = list(_restart_history("emptied").operations)
    wrong[3] = Operation(3, 2, ((b"GET", b"k"),), (b"v",), 36, 38)
    assert check(History(tuple(wrong)), redis_model()).verdict == "violation"
    unknown = check(_restart_history("unknown"), redis_model())
    assert isinstance(unknown, Unknown) and "came back with some of its data" in unknown.reason
