"""The pressure engine on a Dask cluster (``redlin run --engine async --dask``).

On a local cluster of two worker processes, against a redis-server the test starts: both workers
record into one history that loads, checks linearizable, keeps every key under the run's prefix,
and has every interval widened by its worker's measured clock uncertainty; a planted fault of the
embedded server is found through the same path.  Skipped when Dask is not installed.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import RedisServer

from redlin import load_history
from redlin.cli import main
from redlin.errors import UsageError
from redlin.harness import pressure_dask
from redlin.harness.pressure import PressureWorkload
from redlin.harness.pressure_dask import DaskRecording, record_pressure_dask, where
from redlin.harness.target import Target
from redlin.harness.wire import Connection
from redlin.serve.server import start_in_thread

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A Dask cluster of two worker processes, one thread each, on this machine."""
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None) as local:
        with distributed.Client(local) as client:
            client.run(where)  # the workers import redlin's recorder now, not in the first test
        yield str(local.scheduler_address)


def _record(address: str, target: Target, path: Path, prefix: bytes, **options: Any) -> DaskRecording:
    workload = PressureWorkload(**{"clients": 8, "duration": 0.8, "epoch": 0.4, "timeout": 2.0, **options})
    return record_pressure_dask(target, path, workload, prefix, address=address, time_limit=30)


@pytest.mark.redis
def test_two_workers_record_one_widened_linearizable_history(cluster: str, redis_server: RedisServer,
                                                             tmp_path: Path) -> None:
    prefix = b"redlin:pressure-dask:"
    path = tmp_path / "history.jsonl"
    with Connection(redis_server.host, redis_server.port) as conn:
        before = set(conn.execute(b"KEYS", b"*"))  # type: ignore[arg-type]
        remote = _record(cluster, Target(redis_server.host, redis_server.port), path, prefix)
        written = set(conn.execute(b"KEYS", b"*")) - before  # type: ignore[arg-type]
        conn.execute(b"DEL", *written)
    recording = remote.recording
    assert written and all(key.startswith(prefix) for key in written)
    assert recording.verdict == "linearizable", recording.checks
    assert recording.processes == 2 and not recording.problems
    # a Dask worker's process is the cluster's: its niceness is left as the cluster started it
    assert recording.niceness == (os.getpriority(os.PRIO_PROCESS, 0),)
    history = load_history(path)
    assert len(history) == recording.operations > 0
    facts = history.meta["dask_workers"]
    assert [worker["index"] for worker in facts] == [0, 1]
    by_worker: dict[int, int] = {0: 0, 1: 0}
    for op in history:
        ((name, key, *_),) = op.call
        assert name in (b"SET", b"GET") and key.startswith(prefix)
        worker = (int(op.client) - 1) % 2  # worker w of 2 numbers its clients w + 1, w + 3, ...
        by_worker[worker] += 1
        if op.complete is not None:  # widened by the bound's width: at least twice the uncertainty
            assert op.complete - op.invoke >= facts[worker]["high_ns"] - facts[worker]["low_ns"] > 0
    assert all(by_worker.values()), by_worker  # both workers recorded
    for worker, clock in zip(facts, remote.workers):
        assert worker["uncertainty_ns"] == clock.clocks.uncertainty > 0
        assert abs(worker["offset_ns"]) <= worker["uncertainty_ns"] + worker["drift_ns"]  # one machine: offset 0
        assert not Path(worker["path"]).exists()  # gathered, then removed
        assert any(worker["path"] in note and f"± {worker['uncertainty_ns']:,} ns" in note for note in remote.notes)
    assert not Path(f"{path}.dask.json").exists()


def test_planted_fault_found_through_dask(cluster: str, tmp_path: Path) -> None:
    with start_in_thread(fault="lost-write", seed=3) as running:
        target = Target.parse(running.url, password_env=None)
        remote = _record(cluster, target, tmp_path / "h.jsonl", b"redlin:pressure-dask-fault:", duration=1.5)
    assert remote.recording.verdict == "violation", remote.recording.checks


def test_unreachable_scheduler_is_one_line_naming_dask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pressure_dask, "CONNECT_SECONDS", 1.0)
    with pytest.raises(UsageError) as raised:
        _record("tcp://127.0.0.1:1", Target("127.0.0.1", 1), tmp_path / "h.jsonl", b"redlin:x:")
    text = str(raised.value)
    assert text.startswith("--dask: cannot reach the Dask scheduler at tcp://127.0.0.1:1") and "\n" not in text


def test_dask_missing_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(pressure_dask, "_distributed", None)
    with pytest.raises(UsageError) as raised:
        _record("tcp://127.0.0.1:1", Target("127.0.0.1", 1), tmp_path / "h.jsonl", b"redlin:x:")
    assert str(raised.value) == "--dask needs the dask extra: pip install 'redlin[dask]'"


def test_cli_dask_needs_the_async_engine(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["run", "--dask", "tcp://127.0.0.1:8786", "--duration", "1", "--out", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert "--dask runs the pressure engine's workers" in err and len(err.strip().splitlines()) == 1, err


def test_cli_bad_dask_address_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["run", "--engine", "async", "--dask", "localhost", "--duration", "1", "--out", str(tmp_path)])
    assert stopped.value.code == 3
    err = capsys.readouterr().err
    assert "--dask: not a scheduler address" in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.redis
def test_cli_dask_run_reports_clocks(cluster: str, redis_server: RedisServer, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main(["run", "--engine", "async", "--dask", cluster, "--clients", "4", "--duration", "1",
                 "--target", redis_server.url, "--out", str(out), "--progress", "none"])
    text = capsys.readouterr().out
    assert code == 0, text
    notes = json.loads((out / "result.json").read_text())
    assert "dask worker 1 at" in json.dumps(notes), notes
    history = load_history(out / "history.jsonl")
    assert history.meta["engine"] == "async" and len(history.meta["dask_workers"]) == 2
    with Connection(redis_server.host, redis_server.port) as conn:  # the run's keys are gone
        assert conn.execute(b"KEYS", f"{history.meta['prefix']}*".encode()) == ()


def _sidecar(path: Path) -> dict[str, Any]:
    """The ``<history>.dask.json`` of a run under way, once it is written."""
    sidecar = Path(f"{path}.dask.json")
    deadline = time.monotonic() + 30
    while not sidecar.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    facts: dict[str, Any] = json.loads(sidecar.read_text())
    return facts


@pytest.mark.redis
def test_the_stop_event_ends_the_tasks_early(cluster: str, redis_server: RedisServer, tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    done: list[DaskRecording] = []
    thread = threading.Thread(target=lambda: done.append(_record(
        cluster, Target(redis_server.host, redis_server.port), path, b"redlin:pressure-dask-stop:", duration=60.0)))
    thread.start()
    facts = _sidecar(path)
    time.sleep(1.0)
    with distributed.Client(cluster) as client:
        distributed.Event(facts["stop_event"], client=client).set()
    thread.join(30)
    assert not thread.is_alive()
    (remote,) = done
    assert remote.recording.elapsed < 10 and remote.recording.operations > 0
    assert remote.recording.verdict == "linearizable", remote.recording.checks


@pytest.mark.slow
@pytest.mark.redis
def test_a_lost_worker_leaves_its_file_and_no_verdict(cluster: str, redis_server: RedisServer,
                                                      tmp_path: Path) -> None:
    """Killed mid-run, a worker's operations cannot be gathered: the run is not checked (a read of a
    value it wrote would look like a violation), and the notes say where its file is.  (Runs last:
    the cluster's nanny replaces the worker under a new address.)"""
    path = tmp_path / "h.jsonl"
    done: list[DaskRecording] = []
    thread = threading.Thread(target=lambda: done.append(_record(
        cluster, Target(redis_server.host, redis_server.port), path, b"redlin:pressure-dask-lost:", duration=3.0)))
    thread.start()
    victim = _sidecar(path)["workers"][1]
    time.sleep(1.5)
    with distributed.Client(cluster) as client:
        pid = client.run(os.getpid, workers=[victim["address"]])[victim["address"]]
    os.kill(pid, signal.SIGKILL)
    thread.join(60)
    (remote,) = done
    try:
        assert remote.recording.checks == () and remote.recording.verdict == "unknown"
        (problem,) = [p for p in remote.recording.problems if "was lost" in p]
        assert victim["path"] in problem and Path(victim["path"]).stat().st_size > 0  # kept on its machine
        assert len(load_history(path)) > 0  # the other worker's operations are gathered
    finally:
        Path(victim["path"]).unlink(missing_ok=True)
