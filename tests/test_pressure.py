"""The pressure engine (``redlin run --engine async``): fast recording, checked while it records.

Against a redis-server each test starts itself (or the embedded model server with a planted
fault): histories load, stay under the prefix and in time order, check linearizable; lost
connections and a killed worker give indeterminate operations and no false violation; a stale
read planted in the embedded server is found, and so are non-atomic EXEC and scripts, by the
counter workloads that write with a MULTI block or a script of two INCR.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import RedisServer

from redlin import load_history
from redlin.cli import main
from redlin.errors import UsageError
from redlin.harness import pressure, pressure_clients
from redlin.harness.pressure import PressureRecording, PressureWorkload, record_pressure
from redlin.harness.pressure_check import EpochCheck, route
from redlin.harness.pressure_clients import EventLog, WorkerSpec, call_json, event_loop, work
from redlin.harness.pressure_epochs import epoch_at
from redlin.harness.pressure_workloads import LONG_INCRS, counter_script
from redlin.harness.target import Target
from redlin.harness.wire import Connection
from redlin.history.jsonl import HistoryWriter
from redlin.history.records import Outcome
from redlin.model import QUEUED, Status
from redlin.serve.server import start_in_thread


def _record(server: RedisServer | Target, path: Path, prefix: bytes, **options: object) -> PressureRecording:
    target = server if isinstance(server, Target) else Target(server.host, server.port)
    settings: dict[str, object] = {"duration": 1.0, "epoch": 0.5, "timeout": 2.0, **options}
    return record_pressure(target, path, PressureWorkload(**settings), prefix)  # type: ignore[arg-type]


def _assert_sound_history(path: Path, prefix: bytes, recording: PressureRecording, write: bytes = b"SET") -> None:
    history = load_history(path)
    assert len(history) == recording.operations > 0
    assert history.meta["prefix"] == prefix.decode()
    for op in history:
        ((name, key, *_),) = op.call
        assert name in (write, b"GET") and key.startswith(prefix)
        assert op.complete is None or op.invoke <= op.complete
    clients = {op.client for op in history}
    assert len(clients) >= recording.processes


@pytest.mark.redis
@pytest.mark.parametrize("clients", [8, 200])
def test_records_and_checks_linearizable(redis_server: RedisServer, tmp_path: Path, clients: int) -> None:
    prefix = b"redlin:pressure-%d:" % clients
    with Connection(redis_server.host, redis_server.port) as conn:
        before = set(conn.execute(b"KEYS", b"*"))  # type: ignore[arg-type]
        recording = _record(redis_server, tmp_path / "history.jsonl", prefix, clients=clients)
        written = set(conn.execute(b"KEYS", b"*")) - before  # type: ignore[arg-type]
        conn.execute(b"DEL", *written)
    assert written and all(key.startswith(prefix) for key in written)  # the run wrote under its prefix only
    assert recording.verdict == "linearizable", recording.checks
    assert sum(check.operations for check in recording.checks) == recording.operations
    assert recording.indeterminate == 0 and not recording.problems
    _assert_sound_history(tmp_path / "history.jsonl", prefix, recording)


@pytest.mark.redis
@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_each_event_loop_records_and_checks(redis_server: RedisServer, tmp_path: Path, loop: str) -> None:
    prefix = b"redlin:pressure-loop-%s:" % loop.encode()
    recording = _record(redis_server, tmp_path / "h.jsonl", prefix, clients=4, loop=loop)
    assert recording.loops == (loop,)
    # the workers yield the CPU to the checker and the server, as the system reads their niceness
    assert recording.niceness == (min(19, os.getpriority(os.PRIO_PROCESS, 0) + pressure.WORKER_NICENESS),)
    assert recording.verdict == "linearizable", recording.checks
    assert recording.indeterminate == 0 and not recording.problems
    _assert_sound_history(tmp_path / "h.jsonl", prefix, recording)


def test_uvloop_missing_is_asyncio_or_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    assert event_loop("auto") == "uvloop"  # a dependency: installed wherever the tests run
    monkeypatch.setattr(pressure_clients, "HAVE_UVLOOP", False)
    assert event_loop("auto") == event_loop("asyncio") == "asyncio"
    for loop, words in (("uvloop", "--event-loop uvloop: uvloop is not installed here"),
                        ("trio", "--event-loop must be one of auto, uvloop, asyncio, not 'trio'")):
        with pytest.raises(UsageError) as raised:
            PressureWorkload(duration=1.0, loop=loop)
        assert words in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.redis
def test_a_worker_without_uvloop_runs_asyncio_and_says_so(redis_server: RedisServer, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine whose worker lacks uvloop (a Dask worker's): the run goes on, and the problem is named."""
    monkeypatch.setattr(pressure_clients, "HAVE_UVLOOP", False)
    path, prefix = tmp_path / "h.jsonl", b"redlin:pressure-nouv:"
    with HistoryWriter(path, model="redis"):
        pass
    spec = WorkerSpec(index=0, workers=1, host=redis_server.host, port=redis_server.port, path=str(path), prefix=prefix,
                      clients=2, keys=2, pipeline=1, read_share=0.5, timeout=2.0, duration_ns=0, ops=200, seed=0,
                      loop="uvloop")
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGHUP)}
    try:
        report = work(spec)  # in this process: it ignores SIGINT and SIGHUP, as a worker does
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
        with Connection(redis_server.host, redis_server.port) as conn:
            written = conn.execute(b"KEYS", prefix + b"*")
            if written:
                conn.execute(b"DEL", *written)  # type: ignore[misc]
    assert report.loop == "asyncio" and report.operations == len(load_history(path)) == 200
    assert report.niceness == os.getpriority(os.PRIO_PROCESS, 0)  # a spec's niceness 0 leaves the process alone
    assert report.problems == ("--event-loop uvloop: uvloop is not installed here (pip install uvloop; it has no "
                               "wheels for Windows): asyncio's loop ran instead",)


def _worker_connections(conn: Connection) -> dict[str, dict[str, str]]:
    """The server's clients other than ``conn``, by id: the fields of ``CLIENT LIST``."""
    own = str(conn.execute(b"CLIENT", b"ID"))
    listed = conn.execute(b"CLIENT", b"LIST")
    assert isinstance(listed, bytes)
    fields = [dict(field.split("=", 1) for field in line.split()) for line in listed.decode().splitlines()]
    return {client["id"]: client for client in fields if client["id"] != own}


@pytest.mark.redis
def test_a_worker_opens_and_sets_up_its_connections_before_it_says_ready(server_in: Callable[..., RedisServer],
                                                                          tmp_path: Path) -> None:
    """Started with the parent's barrier, a worker is ready only once every connection is open and
    set up (AUTH, SELECT): idle past the timeout until the go, none is aborted as late, no command
    goes before the go, and the first ones come at once, in epoch 0."""
    server = server_in()
    path, prefix, clients = tmp_path / "h.jsonl", b"redlin:pressure-go:", 6
    with HistoryWriter(path, model="redis"):
        pass
    spec = WorkerSpec(index=0, workers=1, host=server.host, port=server.port, path=str(path), prefix=prefix,
                      clients=clients, keys=2, pipeline=1, read_share=0.5, timeout=0.3, duration_ns=0, ops=300, seed=0,
                      epoch_ns=8_000_000_000, password="secret", db=1)
    context = multiprocessing.get_context("forkserver")
    stop, go, start, results = context.Event(), context.Event(), context.Value("q", 0), context.Queue()
    process = context.Process(target=work, args=(spec, stop, results, go, start), daemon=True)
    with Connection(server.host, server.port) as conn:
        conn.execute(b"CONFIG", b"SET", b"requirepass", b"secret")  # this connection stays authenticated
        process.start()
        try:
            assert results.get(timeout=20) == 0  # ready
            opened = _worker_connections(conn)
            assert len(opened) == clients  # every connection open before the worker said ready
            assert all(client["db"] == "1" and client["cmd"] == "select" for client in opened.values())  # set up
            time.sleep(3 * spec.timeout)  # no go yet: idle connections are not late ones
            assert _worker_connections(conn).keys() == opened.keys()
            assert len(path.read_text().splitlines()) == 1  # the meta line only: no command invoked
            start.value = started = time.monotonic_ns()
            go.set()
            report = results.get(timeout=20)
            process.join(10)
        finally:
            stop.set()
            go.set()
            process.join(10)
            if process.is_alive():
                process.kill()
    assert report.operations == 300 and report.failure is None
    assert report.reconnects == 0 and report.indeterminate == 0 and not report.problems
    history = load_history(path)
    assert len(history) == 300 and min(op.invoke for op in history) >= started
    assert epoch_at(min(op.invoke for op in history) - started, spec.epoch_ns) == 0
    assert all(op.call[0][1].startswith(prefix + b"e0:") for op in history)


@pytest.mark.redis
def test_a_ready_worker_ends_on_stop_without_the_go(redis_server: RedisServer, tmp_path: Path) -> None:
    """The go never comes (the parent stopped): the stop event still ends the worker, which sent nothing."""
    path, prefix = tmp_path / "h.jsonl", b"redlin:pressure-nogo:"
    with HistoryWriter(path, model="redis"):
        pass
    spec = WorkerSpec(index=0, workers=1, host=redis_server.host, port=redis_server.port, path=str(path),
                      prefix=prefix, clients=3, keys=2, pipeline=1, read_share=0.5, timeout=1.0, duration_ns=0,
                      ops=None, seed=0)
    context = multiprocessing.get_context("forkserver")
    stop, go, start, results = context.Event(), context.Event(), context.Value("q", 0), context.Queue()
    process = context.Process(target=work, args=(spec, stop, results, go, start), daemon=True)
    process.start()
    try:
        assert results.get(timeout=20) == 0
        stop.set()
        report = results.get(timeout=10)
        process.join(10)
        assert process.exitcode == 0
    finally:
        if process.is_alive():
            process.kill()
    assert report.operations == 0 and report.failure is None and not report.problems
    assert len(path.read_text().splitlines()) == 1


@pytest.mark.redis
def test_pipelined_and_counted_run(redis_server: RedisServer, tmp_path: Path) -> None:
    prefix = b"redlin:pressure-pipe:"
    recording = _record(redis_server, tmp_path / "h.jsonl", prefix, clients=4, duration=None, ops=3000, pipeline=4,
                        processes=2)
    assert recording.verdict == "linearizable"
    assert 3000 <= recording.operations < 3000 + 4 * 4 * 2  # the last batch of each client may overshoot
    history = load_history(tmp_path / "h.jsonl")
    batch = [op for op in history if op.invoke - history[0].invoke < 10][:4]  # a pipeline: one client id each
    assert len({op.client for op in batch}) == len(batch)
    _assert_sound_history(tmp_path / "h.jsonl", prefix, recording)


@pytest.mark.redis
def test_server_closing_connections_gives_indeterminate_operations(server_in: Callable[..., RedisServer],
                                                                     tmp_path: Path) -> None:
    server = server_in()
    prefix = b"redlin:pressure-kill:"
    done: list[PressureRecording] = []
    thread = threading.Thread(target=lambda: done.append(_record(server, tmp_path / "h.jsonl", prefix, clients=16,
                                                                 duration=1.5)))
    thread.start()
    killed = 0
    with Connection(server.host, server.port) as conn:
        _wait_for_records(tmp_path / "h.jsonl")
        for _ in range(10):
            killed += conn.execute(b"CLIENT", b"KILL", b"TYPE", b"normal")  # type: ignore[operator]
            time.sleep(0.05)
    thread.join()
    (recording,) = done
    assert killed > 0
    assert recording.reconnects > 0 and recording.indeterminate > 0
    assert recording.verdict == "linearizable", recording.checks
    history = load_history(tmp_path / "h.jsonl")
    assert sum(op.outcome is Outcome.INFO for op in history) == recording.indeterminate
    _assert_sound_history(tmp_path / "h.jsonl", prefix, recording)


@pytest.mark.redis
def test_killed_worker_leaves_indeterminate_operations(server_in: Callable[..., RedisServer], tmp_path: Path) -> None:
    server = server_in()
    prefix = b"redlin:pressure-worker:"
    done: list[PressureRecording] = []
    thread = threading.Thread(target=lambda: done.append(_record(server, tmp_path / "h.jsonl", prefix, clients=8,
                                                                 processes=2, duration=1.5, timeout=1.0)))
    thread.start()
    deadline = time.monotonic() + 20
    victim = None
    while victim is None and time.monotonic() < deadline:
        victim = next((child for child in _children() if child[1] == "redlin-pressure-1"), None)
        time.sleep(0.05)
    assert victim is not None
    _wait_for_records(tmp_path / "h.jsonl")
    os.kill(victim[0], signal.SIGKILL)
    thread.join()
    (recording,) = done
    assert any("worker process 1 ended" in problem for problem in recording.problems)
    history = load_history(tmp_path / "h.jsonl")
    assert any(op.outcome is Outcome.INFO for op in history)  # its operations in flight
    assert recording.verdict == "linearizable", recording.checks


def _wait_for_records(path: Path) -> None:
    """Until the history at ``path`` holds some operations (the clients are recording)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not path.exists() or path.stat().st_size < 100_000):
        time.sleep(0.05)


def _children() -> list[tuple[int, str]]:
    """This process's children: pid and the name multiprocessing gave them."""
    return [(child.pid, child.name) for child in multiprocessing.active_children() if child.pid is not None]


@pytest.mark.redis
def test_counter_workload_on_a_real_server(redis_server: RedisServer, tmp_path: Path) -> None:
    prefix = b"redlin:pressure-counter:"
    recording = _record(redis_server, tmp_path / "h.jsonl", prefix, clients=16, workload="counter")
    assert recording.verdict == "linearizable", recording.checks
    _assert_sound_history(tmp_path / "h.jsonl", prefix, recording, write=b"INCR")
    history = load_history(tmp_path / "h.jsonl")
    counts: dict[bytes, list[int]] = {}
    for op in history:
        if op.call[0][0] == b"INCR" and op.outcome is Outcome.OK:
            counts.setdefault(op.call[0][1], []).append(op.result[0])
    assert sum(map(len, counts.values())) > 100
    assert all(len(set(made)) == len(made) for made in counts.values())  # no count made twice on one key


def test_other_workloads_are_refused() -> None:
    """A workload the pressure engine does not run is a one-line error naming the ones it does."""
    with pytest.raises(UsageError) as raised:
        PressureWorkload(duration=1.0, workload="transfer")
    assert str(raised.value) == ("--engine async runs --workload register, counter, counter-multi, counter-script, "
                                 "counter-long, cas, generated, pubsub or mixed only, not 'transfer'")


@pytest.mark.redis
@pytest.mark.parametrize("workload", ["counter-multi", "counter-script", "counter-long"])
def test_counter_multi_and_script_workloads_on_a_real_server(redis_server: RedisServer, tmp_path: Path,
                                                             workload: str) -> None:
    """Each write is one operation of two INCR (a MULTI block, an EVAL) or five (counter-long's MULTI
    block), recorded with every reply: consecutive counts, no other client's INCR between them."""
    prefix = b"redlin:pressure-%s:" % workload.encode()
    recording = _record(redis_server, tmp_path / "h.jsonl", prefix, clients=8, duration=None, ops=1500,
                        pipeline=2, processes=2, workload=workload)
    assert recording.verdict == "linearizable", recording.checks
    assert recording.indeterminate == 0 and not recording.problems
    assert recording.checks and all(check.epoch >= 0 for check in recording.checks)  # every line routed to its epoch
    history = load_history(tmp_path / "h.jsonl")
    assert len(history) == recording.operations
    counts: dict[bytes, list[int]] = {}
    for op in history:
        assert op.outcome is Outcome.OK
        if op.call[0][0] == b"GET":
            assert len(op.call) == 1 and op.call[0][1].startswith(prefix)
            continue
        if workload != "counter-script":
            incrs, key = 2 if workload == "counter-multi" else LONG_INCRS, op.call[1][1]
            assert op.call == ((b"MULTI",), *((b"INCR", key),) * incrs, (b"EXEC",))
            assert op.result[:-1] == (Status("OK"), *(QUEUED,) * incrs)
            made = op.result[-1]
        else:
            ((name, body, numkeys, key),) = op.call
            assert (name, body, numkeys) == (b"EVAL", counter_script(int(key.rsplit(b":k", 1)[1])), b"1")
            (made,) = op.result
        assert key.startswith(prefix)
        assert isinstance(made, tuple) and list(made) == list(range(made[0], made[0] + len(made)))  # atomic
        counts.setdefault(key, []).extend(made)
    assert sum(map(len, counts.values())) > 500
    assert all(len(set(made)) == len(made) for made in counts.values())  # no count made twice on one key
    assert {op.client for op in history} >= set(range(1, 5))


def test_planted_stale_read_is_found(tmp_path: Path) -> None:
    seen: list[EpochCheck] = []
    with start_in_thread(fault="stale-read", seed=3) as running:
        target = Target.parse(running.url, password_env=None)
        recording = record_pressure(target, tmp_path / "h.jsonl", PressureWorkload(clients=8, duration=20.0, epoch=0.5),
                                    b"redlin:pressure-stale:", on_check=seen.append, stop_on_violation=True)
    assert recording.verdict == "violation"
    assert any(check.verdict == "violation" for check in seen)
    assert recording.elapsed < 10  # the first violation ended the recording


def test_event_lines_are_the_history_writers(tmp_path: Path) -> None:
    """The engine's lines are the lines HistoryWriter writes for the same events."""
    call = (b"SET", b"redlin:r:e0:k1", b"3.1")
    with HistoryWriter(tmp_path / "w.jsonl") as writer:
        op = writer.invoke(client=3, call=[call], time=10)
        writer.complete(op, Outcome.OK, time=20, result=[Status("OK")])
        op = writer.invoke(client=3, call=[(b"GET", b"redlin:r:e0:k1")], time=30)
        writer.complete(op, Outcome.INFO, time=40, error="timeout")
    expected = (tmp_path / "w.jsonl").read_text().splitlines(keepends=True)[1:]
    path = tmp_path / "e.jsonl"
    path.touch()

    async def log_events() -> None:
        log = EventLog(str(path), asyncio.get_running_loop())
        log.invoke(0, 3, call_json(call), 10)
        log.ok(0, 20, '[{"status":"OK"}]')
        log.invoke(1, 3, call_json((b"GET", b"redlin:r:e0:k1")), 30)
        log.ended(1, "info", 40, "timeout")
        log.close()

    asyncio.run(log_events())
    assert path.read_text().splitlines(keepends=True) == expected
    assert route(expected[0].encode()) == (0, 0)


def test_too_few_file_descriptors_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pressure.resource, "getrlimit", lambda _: (64, 64))
    with pytest.raises(UsageError) as raised:
        pressure.raise_file_limit(1000)
    text = str(raised.value)
    assert "--clients 1000" in text and "64" in text and "\n" not in text


def test_cli_refuses_other_workloads(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--engine", "async", "--workload", "transfer", "--duration", "1"]) == 3
    err = capsys.readouterr().err
    assert "--engine async runs --workload register, counter, counter-multi, counter-script, counter-long, cas, generated, pubsub or mixed only, not 'transfer'" in err
    assert "\n" not in err.strip()
    assert main(["run", "--engine", "async", "--rate", "100", "--duration", "1"]) == 3
    assert "--rate does not apply to --engine async" in capsys.readouterr().err
    assert main(["run", "--event-loop", "asyncio", "--duration", "1"]) == 3
    assert "--event-loop is the pressure engine's: it needs --engine async" in capsys.readouterr().err


@pytest.mark.redis
def test_cli_async_engine_reports(redis_server: RedisServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--engine", "async", "--workload", "register", "--clients", "8", "--duration", "1",
                 "--target", redis_server.url, "--out", str(tmp_path / "out"), "--progress", "none",
                 "--event-loop", "asyncio"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert text.startswith("LINEARIZABLE: ")
    for name in ("history.jsonl", "report.html", "summary.md", "result.json", "junit.xml"):
        assert (tmp_path / "out" / name).exists()
    assert not (tmp_path / "out" / "history.jsonl.pieces").exists()
    meta = load_history(tmp_path / "out" / "history.jsonl").meta
    assert meta["engine"] == "async"
    assert (meta["profile"], meta["profile_reason"]) == ("redis-7.0", "redis_version 7.0.15 → redis-7.0")  # --profile auto
    niceness = min(19, os.getpriority(os.PRIO_PROCESS, 0) + pressure.WORKER_NICENESS)
    note = f"worker processes (niceness {niceness}) on asyncio event loop, all checked"
    assert note in (tmp_path / "out" / "result.json").read_text()
    with Connection(redis_server.host, redis_server.port) as conn:  # the run's keys are gone
        prefix = load_history(tmp_path / "out" / "history.jsonl").meta["prefix"]
        assert conn.execute(b"KEYS", f"{prefix}*".encode()) == ()


@pytest.mark.redis
@pytest.mark.parametrize(("workload", "clients"), [("generated", 12), ("cas", 72)])
def test_every_key_a_run_writes_is_deleted(redis_server: RedisServer, tmp_path: Path, workload: str, clients: int,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Beyond the numbered keys of an epoch: the generated operations' pools, and the cas keys of
    more than sixteen groups of four clients."""
    code = main(["run", "--engine", "async", "--workload", workload, "--clients", str(clients), "--duration", "1",
                 "--target", redis_server.url, "--out", str(tmp_path / "out"), "--progress", "none"])
    assert code == 0, capsys.readouterr().out
    history = load_history(tmp_path / "out" / "history.jsonl")
    numbers = {int(arg.rsplit(b":k", 1)[1]) for op in history for argv in op.call for arg in argv[1:]
               if arg.startswith(history.meta["prefix"].encode()) and not arg.endswith(b":w")}
    assert max(numbers) >= 16  # keys past the sixteen numbered ones were written
    with Connection(redis_server.host, redis_server.port) as conn:
        assert conn.execute(b"KEYS", f"{history.meta['prefix']}*".encode()) == ()


@pytest.mark.slow
def test_cli_async_engine_finds_planted_fault(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--engine", "async", "--fault", "lost-write", "--clients", "8", "--duration", "3",
                 "--out", str(tmp_path / "out"), "--progress", "none"])
    text = capsys.readouterr().out
    assert code == 1, text
    assert text.startswith("VIOLATION: ")
    assert (tmp_path / "out" / "counterexample.jsonl").exists()


def test_pieces_left_by_an_earlier_run_are_not_this_ones(tmp_path: Path) -> None:
    """A history path used again (its file removed, its ``.pieces`` folder left): each epoch's
    piece starts anew.  Appended to the old pieces, an epoch had two meta lines, the checker
    process died, and the run said linearizable over the epochs it had checked."""
    path = tmp_path / "h.jsonl"
    workload = PressureWorkload(clients=4, duration=0.6, epoch=0.2, processes=1)
    with start_in_thread(seed=1) as running:
        target = Target.parse(running.url, password_env=None)
        first = record_pressure(target, path, workload, b"redlin:pieces-again:")
        path.unlink()
        again = record_pressure(target, path, workload, b"redlin:pieces-again-2:")
    assert first.verdict == again.verdict == "linearizable", (first.problems, again.problems)
    assert not again.checker_failed and not again.problems
    assert len(again.checks) >= 3


def test_a_checker_that_ended_early_makes_the_verdict_unknown() -> None:
    """What it checked stays (a violation it found is one), but linearizable needs every epoch."""
    def recording(verdict: str, failed: bool) -> PressureRecording:
        check = EpochCheck(0, 10, 0, verdict, 0.1, "epoch0.jsonl", None, 1)
        return PressureRecording(Path("h.jsonl"), 10, 0, 0, 1.0, 1, (), {}, checks=(check,), checker_failed=failed)

    assert recording("linearizable", False).verdict == "linearizable"
    assert recording("linearizable", True).verdict == "unknown"
    assert recording("violation", True).verdict == "violation"


def test_checking_a_recorded_history_says_when_its_checker_died(tmp_path: Path) -> None:
    """check_recorded (the Dask engine's checker) names a checker process that ended before it
    was done, as record_pressure does: here it finds no file to read, and exits 1."""
    checks, _, failed = pressure.check_recorded(tmp_path / "missing.jsonl", PressureWorkload(ops=100), time_limit=5)
    assert checks == () and failed is not None and "exit code 1" in failed
