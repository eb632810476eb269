"""The ``redlin`` command line: verdicts, exit codes (0/1/2/3), one-line errors, JSON output."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from redlin import Outcome
from redlin.cli import check as check_module
from redlin.cli import main
from redlin.history.jsonl import HistoryWriter
from redlin.model import OK


@pytest.fixture(autouse=True)
def _in_a_scratch_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Default report folders (``reports/...``) land in the test's folder, never in the repository."""
    monkeypatch.chdir(tmp_path)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "redlin", *args], capture_output=True, text=True, timeout=120)


def stale_read_history(path: Path) -> Path:
    with HistoryWriter(path) as w:
        for client, start, call, reply in [(1, 0, (b"SET", b"k", b"1"), OK), (1, 2, (b"SET", b"k", b"2"), OK),
                                           (2, 4, (b"GET", b"k"), b"1")]:
            op = w.invoke(client=client, call=[call], time=start)
            w.complete(op, Outcome.OK, time=start + 1, result=[reply])
    return path


def test_violation_exit_1_with_counterexample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(stale_read_history(tmp_path / "h.jsonl"))])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("VIOLATION")
    # Weakened, SET k 1 could land after SET k 2, so all three operations are needed.
    assert "GET k -> \"1\"" in out and "minimal counterexample (3 operations" in out


def test_check_keeps_the_history_out_of_collection_only_while_it_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``redlin check`` freezes what exists once the history is read (a full collection need not
    walk a million operations again), and thaws it when it ends: a test run's objects are not
    left out of collection."""
    frozen: list[int] = []
    writing = check_module.write_check_report

    def write(*args: Any, **options: Any) -> Any:
        frozen.append(gc.get_freeze_count())
        return writing(*args, **options)

    monkeypatch.setattr(check_module, "write_check_report", write)
    assert gc.get_freeze_count() == 0
    assert main(["check", str(stale_read_history(tmp_path / "h.jsonl"))]) == 1
    assert frozen and frozen[0] > 0 and gc.get_freeze_count() == 0
    capsys.readouterr()


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--json", str(stale_read_history(tmp_path / "h.jsonl"))])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["verdict"] == "violation"
    assert [op["text"] for op in data["counterexample"]] == ['SET k 1 -> OK', 'SET k 2 -> OK', 'GET k -> "1"']


def test_linearizable_exit_0(shared_dir: Path) -> None:
    done = run("check", str(shared_dir / "data/porcupine/jepsen/etcd_002.log"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("LINEARIZABLE")


def test_unknown_exit_2(shared_dir: Path) -> None:
    done = run("check", "--max-states", "5", "--no-minimise", str(shared_dir / "data/porcupine/jepsen/etcd_002.log"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout.startswith("UNKNOWN")


def test_bad_input_exit_3_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"event":"meta","format":"redlin-history","version":1}\n{"event":"invoke"\n')
    done = run("check", str(path))
    assert done.returncode == 3
    assert done.stderr.startswith(f"redlin: {path}:2: not JSON: ")
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("args", [["check"], ["check", "x", "--time-limit", "-1"], ["frobnicate"]])
def test_usage_errors_exit_3(args: list[str]) -> None:
    done = run(*args)
    assert done.returncode == 3
    assert "Traceback" not in done.stderr and done.stderr.count("\n") <= 3


def test_missing_file_exit_3(tmp_path: Path) -> None:
    done = run("check", str(tmp_path / "nope.jsonl"))
    assert done.returncode == 3 and done.stderr.strip() == f"redlin: {tmp_path / 'nope.jsonl'}: no such file"
