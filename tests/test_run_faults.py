"""``redlin run`` when things go wrong around it: signals, a target killed, restarted or paused,
budgets that must hold, and a Pub/Sub run's history checked again afterwards.

Every server here is one the test started (a private redis-server in the test's folder, on a free
port, restarted on the same port when a test kills it), so that ``DBSIZE`` is about the run alone.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RedisServer, as_at_a_terminal, start_redis_server, system_redis_server

from redlin.cli import main
from redlin.harness.budget import Budget
from redlin.harness.cleanup import RunKeys
from redlin.harness.guard import Guard
from redlin.harness.interrupts import Interrupts, checkpoint
from redlin.harness.journal import Journal
from redlin.harness.recorder import Recorder, Target
from redlin.harness.runner import RunOutcome, render_outcome, run
from redlin.harness.wire import Connection
from redlin.history.jsonl import load_history
from redlin.history.records import Outcome

SERVER_ARGS = ("--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes",
               "--loglevel", "warning")


# ----------------------------------------------------------------------------- servers we can kill


class Restartable:
    """A redis-server of the test's own that can be killed, paused and started again on its port."""

    def __init__(self, directory: Path, extra: tuple[str, ...] = ()) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory, self.extra = directory, extra
        self.process, self.server = start_redis_server(str(directory), extra)
        self.restarted_at: int | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def restart(self) -> None:
        """Start again on the same port (a killed server's AOF-rewriting child may hold the port a
        moment: retried for up to 15 s)."""
        binary = system_redis_server()
        assert binary is not None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            self.process = subprocess.Popen(
                [binary, "--port", str(self.server.port), *SERVER_ARGS, "--dir", str(self.directory), *self.extra],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while self.process.poll() is None and time.monotonic() < deadline:
                if _answers(self.server.port):
                    self.restarted_at = time.monotonic_ns()
                    return
                time.sleep(0.02)
            if self.process.poll() is None:
                self.kill()
            time.sleep(0.1)
        pytest.fail(f"could not restart redis-server on port {self.server.port}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.kill()

    def keys(self, db: int = 0, pattern: bytes = b"*") -> list[bytes]:
        """Every key of ``db`` matching ``pattern`` (SCAN to the end)."""
        with Connection(self.server.host, self.server.port) as conn:
            conn.execute(b"SELECT", str(db).encode())
            found: list[bytes] = []
            cursor = b"0"
            while True:
                reply = conn.execute(b"SCAN", cursor, b"MATCH", pattern, b"COUNT", b"1000")
                assert isinstance(reply, tuple)
                cursor, keys = reply
                found += keys  # type: ignore[arg-type]
                if cursor == b"0":
                    return found

    def dbsize(self) -> int:
        with Connection(self.server.host, self.server.port) as conn:
            size = conn.execute(b"DBSIZE")
            assert isinstance(size, int)
            return size


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Restartable]:
    server = Restartable(tmp_path / "redis")
    try:
        yield server
    finally:
        server.stop()


def _later(delay: float, action: object) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay), action()), daemon=True)  # type: ignore[operator]
    thread.start()
    return thread


def _report(outcome: RunOutcome) -> dict[str, object]:
    document = json.loads(outcome.paths["result"].read_text())
    assert isinstance(document, dict)
    return document


# ----------------------------------------------------------------------------- signals


@pytest.mark.redis
@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_end_a_run_like_ctrl_c(tmp_path: Path, own_server: Restartable, name: str) -> None:
    """The run stops generating, checks what it recorded, writes its report, deletes its keys,
    prints its verdict and exits with the verdict's code: no traceback, no key left."""
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "redlin", "run", "--target", own_server.url, "--duration", "60",
                                "--workload", "mixed", "--out", str(out), "--database", str(tmp_path / "db"),
                                "--progress", "lines"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=as_at_a_terminal)
    history = out / "history.jsonl"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not history.exists():
        time.sleep(0.05)
    time.sleep(3)  # a few seconds into the run
    keys_during = own_server.dbsize()
    process.send_signal(getattr(signal, name))
    sent = time.monotonic()
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stdout + stderr
    assert time.monotonic() - sent < 15  # a check of the run cut short (5 s at most), the report, the keys
    assert "Traceback" not in stderr and f"interrupted by {name}: checking what was recorded" in stderr
    first = stdout.splitlines()[0]
    assert first.startswith("LINEARIZABLE") and f"(interrupted by {name}: partial check)" in first
    assert {"history.jsonl", "result.json", "report.html", "summary.md", "junit.xml"} <= {p.name for p in out.iterdir()}
    document = json.loads((out / "result.json").read_text())
    assert document["verdict"] == "linearizable" and document["meta"]["interrupted_by"] == name
    recorded = load_history(history)
    assert len(recorded) == document["operations"] > 1000
    prefix = recorded.meta["prefix"].encode()
    assert own_server.keys(pattern=prefix + b"*") == [] and own_server.dbsize() == 0
    assert keys_during < 1000  # each run's keys went as soon as it was checked


def test_sigterm_ends_a_pubsub_run_cleanly(tmp_path: Path) -> None:
    """A signal that lands in the middle of a round: the round's operations are checked too, and
    its subscribers' threads, still reading, write nothing into the closed history."""
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "redlin", "run", "--workload", "pubsub", "--duration", "60",
                                "--out", str(out), "--progress", "lines"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=as_at_a_terminal)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (out / "history.jsonl").exists():
        time.sleep(0.05)
    time.sleep(2)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stdout + stderr
    assert "Traceback" not in stderr and "Exception" not in stderr
    assert stdout.startswith("LINEARIZABLE") and "(interrupted by SIGTERM: partial check)" in stdout.splitlines()[0]
    document = json.loads((out / "result.json").read_text())
    assert document["operations"] == len(load_history(out / "history.jsonl"))


@pytest.mark.usefixtures("terminal_signals")
def test_a_signal_is_acted_on_at_checkpoints_only() -> None:
    """The handler never raises (an exception from it can land in a gc callback, a Lua callback or
    between a command and its reply); the next checkpoint of the armed run does, once."""
    previous = signal.getsignal(signal.SIGTERM)
    with Interrupts() as interrupts:
        os.kill(os.getpid(), signal.SIGTERM)  # before the run is armed: remembered
        time.sleep(0.05)
        assert interrupts.received == "SIGTERM"
        with pytest.raises(KeyboardInterrupt), interrupts.armed():  # and acted on as soon as it is
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)  # a second one, while finishing: ignored
        time.sleep(0.05)
        checkpoint()  # disarmed: nothing
    assert signal.getsignal(signal.SIGTERM) is previous
    with Interrupts() as interrupts, interrupts.armed():
        os.kill(os.getpid(), signal.SIGHUP)
        time.sleep(0.2)  # the handler ran, and raised nothing
        assert interrupts.received == "SIGHUP"
        elsewhere: list[BaseException] = []
        thread = threading.Thread(target=lambda: _catch(checkpoint, elsewhere))
        thread.start()
        thread.join()
        assert elsewhere == []  # only the main thread stops at checkpoints
        with pytest.raises(KeyboardInterrupt):
            checkpoint()
        checkpoint()  # once is enough
        assert not interrupts.aborted
        with pytest.raises(KeyboardInterrupt):  # a second Ctrl-C gives up at once, without a verdict
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        assert interrupts.aborted
    checkpoint()  # no Interrupts in force: nothing


def _catch(work: object, caught: list[BaseException]) -> None:
    try:
        work()  # type: ignore[operator]
    except BaseException as error:  # noqa: BLE001 - the test looks at it
        caught.append(error)


@pytest.mark.redis
@pytest.mark.parametrize("name", ["SIGHUP", "SIGTERM"])
@pytest.mark.usefixtures("terminal_signals")
def test_a_signal_at_any_moment_gives_no_false_alarm(tmp_path: Path, own_server: Restartable, name: str) -> None:
    """Signals sent at moments spread over the run's phases (setup, clients running, checking,
    between programs) always end a run against a correct server LINEARIZABLE, with no key left."""
    verdicts: list[str] = []
    for index, delay in enumerate((0.05, 0.3, 0.7, 1.1, 1.6, 2.2)):
        sender = _later(delay, lambda: os.kill(os.getpid(), getattr(signal, name)))
        outcome = run(own_server.url, workload="mixed", duration=10, ops=None, out=tmp_path / f"out{index}",
                      database=None, seed=index)
        sender.join()
        # INTERRUPTED (exit 130) only when nothing was recorded yet; never a violation
        expected = "linearizable" if outcome.stats.operations else "interrupted"
        assert outcome.verdict == expected, (delay, render_outcome(outcome))
        assert outcome.stats.interrupted_by == name, delay
        verdicts.append(outcome.verdict)
        assert own_server.dbsize() == 0, delay
    assert verdicts.count("linearizable") >= 4, verdicts


def test_an_ignored_sighup_stays_ignored() -> None:
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with Interrupts() as interrupts, interrupts.armed():
            os.kill(os.getpid(), signal.SIGHUP)  # nohup: the run goes on
            time.sleep(0.05)
        assert interrupts.received is None
    finally:
        signal.signal(signal.SIGHUP, previous)


# ----------------------------------------------------------------------------- keys


@pytest.mark.redis
def test_keys_are_deleted_as_each_run_is_checked(tmp_path: Path, own_server: Restartable) -> None:
    """A soak run does not pile its keys up: at any moment only the runs being recorded or
    checked have keys on the server, and none is left at the end."""
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(len(own_server.keys(pattern=b"redlin:*")))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        outcome = run(own_server.url, workload="mixed", duration=6, ops=None, out=tmp_path / "out", database=None)
    finally:
        done.set()
        sampler.join()
    assert outcome.verdict == "linearizable", render_outcome(outcome)
    history = load_history(outcome.paths["history"])
    prefix = outcome.prefix.encode()
    written = {arg for op in history for argv in op.call for arg in argv[1:] if arg.startswith(prefix)}
    assert len(samples) > 20 and max(samples) <= 100, samples
    assert len(written) > 10 * max(samples)
    assert own_server.keys(pattern=prefix + b"*") == []


@pytest.mark.redis
def test_the_last_sweep_deletes_keys_written_after_their_run_was_cleaned(tmp_path: Path,
                                                                        redis_server: RedisServer) -> None:
    """An operation that went unanswered may land after its run's keys were deleted (a paused
    server resumes): the sweep at the end finds it under the prefix, and nothing else is touched."""
    prefix = f"redlin:sweep-{os.getpid()}:".encode()
    target = Target.parse(f"redis://{redis_server.host}:{redis_server.port}/5", password_env=None)
    with Journal(tmp_path / "h.jsonl") as journal:
        recorder = Recorder(target, journal, Guard(prefix), timeout=2.0)
        with Connection(redis_server.host, redis_server.port) as conn:
            conn.execute(b"SELECT", b"5")
            conn.execute(b"SET", prefix + b"0:late", b"1")
            conn.execute(b"SET", prefix + b"1:late", b"1")
            conn.execute(b"SET", b"someone-else:" + prefix, b"1")
            keys = RunKeys(recorder)
            keys.release([prefix + b"0:late"])
            assert keys.finish(sweep=True, until=time.monotonic() + 5) == []
            assert conn.execute(b"EXISTS", prefix + b"0:late", prefix + b"1:late") == 0
            assert conn.execute(b"EXISTS", b"someone-else:" + prefix) == 1
            conn.execute(b"DEL", b"someone-else:" + prefix)


# ----------------------------------------------------------------------------- the target goes away


@pytest.mark.redis
@pytest.mark.parametrize("workload, persistence, down_for", [
    ("mixed", "no", 0.5), ("mixed", "no", 1.5), ("mixed", "yes", 1.0), ("pubsub", "no", 1.0)])
def test_a_run_survives_its_target_killed_and_restarted(tmp_path: Path, workload: str, persistence: str,
                                                        down_for: float) -> None:
    """SIGKILL mid-run, the same server started again on its port a moment later: the run
    reconnects, records the outage, goes on, and takes nothing for a violation."""
    server = Restartable(tmp_path / "redis", ("--appendonly", persistence))
    try:
        _later(2.0, lambda: (server.kill(), time.sleep(down_for), server.restart()))
        started = time.monotonic()
        outcome = run(server.url, workload=workload, duration=7, ops=None, timeout=1.0, reconnect_for=15,
                      out=tmp_path / "out", database=None)
        elapsed = time.monotonic() - started
        left = server.dbsize()
    finally:
        server.stop()
    text = render_outcome(outcome)
    assert outcome.verdict != "violation", text  # no false alarm
    # Without persistence the restart empties the keys, which the model follows: linearizable.  An
    # AOF fsynced every second may lose the last writes: a run across it cannot be decided.
    assert outcome.exit_code == 0 if persistence == "no" else outcome.exit_code in (0, 2), text
    assert "note: outage from " in text and "restarted" in text
    outages = _report(outcome)["meta"]["outages"]  # type: ignore[index]
    assert outages and any(outage["restarted"] for outage in outages), outages
    assert server.restarted_at is not None
    history = load_history(outcome.paths["history"])
    after = [op for op in history if op.invoke > server.restarted_at and op.outcome is Outcome.OK]
    assert len(after) > 100  # the run went on after the restart
    assert elapsed < 7 + Budget(10.0, 10.0, 1.0, 7.0, 0.0).tail(violation=False)
    assert left == 0
    # Checked again from its file, run by run as the run did (a RESTART joins every key into one
    # part otherwise), the history gets the run's verdict.
    code = main(["check", str(outcome.paths["history"]), "--time-limit", "30", "--out", str(tmp_path / "check")])
    assert code == outcome.exit_code


@pytest.mark.redis
def test_a_run_survives_its_target_paused(tmp_path: Path, own_server: Restartable) -> None:
    """SIGSTOP for longer than --timeout: operations time out (indeterminate), the run waits and
    goes on, the outage is reported, and nothing is taken for a violation."""
    def pause() -> None:
        own_server.process.send_signal(signal.SIGSTOP)
        time.sleep(2.5)
        own_server.process.send_signal(signal.SIGCONT)

    _later(2.0, pause)
    outcome = run(own_server.url, workload="mixed", duration=7, ops=None, timeout=1.0, out=tmp_path / "out",
                  database=None)
    text = render_outcome(outcome)
    assert outcome.verdict == "linearizable" and outcome.exit_code == 0, text
    assert "note: outage from " in text
    (outage,) = _report(outcome)["meta"]["outages"]  # type: ignore[index]
    assert outage["to_ms"] - outage["from_ms"] > 1500 and not outage["restarted"], outage
    assert own_server.dbsize() == 0


@pytest.mark.redis
def test_a_target_gone_for_good_ends_the_run_with_a_verdict(tmp_path: Path) -> None:
    """Past --reconnect-for the run ends: what was recorded is checked and reported, and the exit
    code says the target was lost (3)."""
    server = Restartable(tmp_path / "redis")
    try:
        _later(2.0, server.kill)
        started = time.monotonic()
        outcome = run(server.url, workload="cas", duration=30, ops=None, timeout=1.0, reconnect_for=2,
                      out=tmp_path / "out", database=None)
    finally:
        server.stop()
    text = render_outcome(outcome)
    assert time.monotonic() - started < 20
    assert outcome.verdict == "linearizable" and outcome.exit_code == 3, text
    assert outcome.stats.target_lost is not None and "(the target went away: partial check)" in text.splitlines()[0]
    assert "did not come back within 2 s" in text
    assert _report(outcome)["verdict"] == "linearizable" and outcome.stats.operations > 100


def test_the_journal_numbers_operations_as_the_file_does(tmp_path: Path) -> None:
    """Ids follow the order of the invocation lines, as load_history numbers them, even when many
    threads invoke at once; indeterminate endings are kept with their invocation times."""
    path = tmp_path / "h.jsonl"
    with Journal(path) as journal:
        def client(number: int) -> None:
            for step in range(200):
                op = journal.invoke(client=number, call=[(b"GET", b"k")], time=time.monotonic_ns())
                journal.complete(op, Outcome.INFO if step % 50 == 0 else Outcome.OK, time=time.monotonic_ns(),
                                 result=None if step % 50 == 0 else [None], error="timeout: no reply")

        threads = [threading.Thread(target=client, args=(number,)) for number in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        trouble, answered = journal.take_indeterminate()
    history = load_history(path)
    assert journal.invocations == len(history) == 1600 and len(trouble) == 32 and answered is not None
    assert all(journal.claim(op.client, op.invoke) == (op.id, op.line) for op in history)
    assert {invoked for invoked, _ in trouble} == {op.invoke for op in history if op.outcome is Outcome.INFO}


# ----------------------------------------------------------------------------- budgets


def test_duration_is_a_promise_with_many_clients(tmp_path: Path) -> None:
    """128 clients draw runs the checker cannot always decide: generation still stops at the
    deadline, and checks, report and cleanup fit in the documented tail."""
    budget = Budget(check_time=3.0, shrink_time=10.0, timeout=2.0, duration=5.0, started=0.0)
    started = time.monotonic()
    outcome = run(workload="mixed", clients=128, duration=5, ops=None, check_time=3.0, timeout=2.0,
                  out=tmp_path / "out", database=None)
    elapsed = time.monotonic() - started
    assert outcome.verdict in ("linearizable", "unknown"), render_outcome(outcome)
    assert elapsed < 5 + budget.tail(violation=False) + 1.0, elapsed  # + starting the embedded server


def test_check_budgets_scale_with_the_run_and_end_with_the_tail() -> None:
    budget = Budget(check_time=10.0, shrink_time=10.0, timeout=5.0, duration=None, started=0.0)
    assert [budget.check_limit(n, now=0.0) for n in (10, 1000, 3000, 100_000)] == [10.0, 10.0, 30.0, 60.0]
    soak = Budget(check_time=10.0, shrink_time=10.0, timeout=5.0, duration=60.0, started=100.0)
    assert soak.check_limit(3000, now=100.0) == 30.0
    assert soak.check_limit(3000, now=170.0) == 5.0  # the check ends with the tail
    assert soak.check_limit(3000, now=200.0) == 0.0


# ----------------------------------------------------------------------------- Pub/Sub runs checked again


def test_check_of_a_pubsub_run_gives_the_runs_verdict_in_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outcome = run(workload="pubsub", duration=4, ops=None, out=tmp_path / "run", database=None)
    assert outcome.verdict == "linearizable", render_outcome(outcome)
    capsys.readouterr()
    started = time.monotonic()
    code = main(["check", str(outcome.paths["history"]), "--time-limit", "10", "--out", str(tmp_path / "check")])
    elapsed = time.monotonic() - started
    printed = capsys.readouterr().out
    assert code == 0 and printed.startswith("LINEARIZABLE"), printed
    assert elapsed < 10
    document = json.loads((tmp_path / "check" / "result.json").read_text())
    assert document["operations"] == outcome.stats.operations
    assert len(document["parts"]) >= outcome.stats.executions  # one part (at least) per round


def test_check_of_a_violating_pubsub_run_finds_the_runs_violation(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    outcome = run(workload="pubsub", fault="drop-message", ops=20_000, shrink_time=3, out=tmp_path / "run",
                  database=None)
    assert outcome.verdict == "violation", render_outcome(outcome)
    capsys.readouterr()
    started = time.monotonic()
    code = main(["check", str(outcome.paths["history"]), "--time-limit", "20", "--out", str(tmp_path / "check")])
    assert time.monotonic() - started < 20
    assert code == 1, capsys.readouterr().out
    document = json.loads((tmp_path / "check" / "result.json").read_text())
    history = load_history(outcome.paths["history"])
    core = [history[i] for i in document["core"]]
    assert core
    rounds = {arg.split(b":")[2] for op in core for argv in op.call for arg in argv[1:]
              if arg.startswith(outcome.prefix.encode())}
    assert len(rounds) == 1  # the core lies in one round, as the run's did
