"""``redlin conform``: sequential differential testing of a server against the model.

Against a correct server (a private redis-server 7.0.15, the embedded model server) no difference
may be reported; against the embedded server with a planted conformance fault, each fault must be
found and shrunk to at most three commands.  The run must be safe on a live server: keys outside
its prefix untouched, none of its own left, also after Ctrl-C.  Exit codes and one-line errors as
for the other commands; every report file well-formed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import RedisServer, as_at_a_terminal, free_port

from redlin.cli import main
from redlin.errors import UsageError
from redlin.harness.actions import Command, Key, Transaction
from redlin.harness.conform import ConformPlan, ConformRun, conform
from redlin.harness.conform_document import conform_document, write_conform
from redlin.harness.conform_lane import Exchange, Lane, kind_of, mismatch
from redlin.harness.conform_shrink import script_size, shrink
from redlin.harness.guard import Guard
from redlin.harness.preflight import script_guard_refusal
from redlin.harness.runner import render_outcome, run
from redlin.harness.target import Target
from redlin.harness.wire import Connection
from redlin.model import INITIAL_STATE, Error, Status
from redlin.search.minimise import ddmin

# Each planted conformance fault, and the kind of difference it must show.  score-shortest-format
# plants Python's shortest double format in a 7.0 server: where it equals Redis 7.2's (0.1) the
# redis-7.2 profile explains the difference, a version difference; where it does not (1e-05 against
# 7.2's 0.00001) it is a difference.
VERSION_FAULTS = {"score-shortest-format": "redis-7.2"}
CONFORMANCE_FAULTS = {
    "echo-as-status": "wrong-type",
    "count-as-bulk": "wrong-type",
    "decrby-overflow-wraps": "missing-error",
    "score-shortest-format": "wrong-value",
    "wrongtype-as-err": "wrong-error-text",
    "arity-error-typed-name": "wrong-error-text",
    "multi-value-reversed": "wrong-value",
}
MOST_COMMANDS = 3


def plan(target: str | None = None, *, fault: str | None = None, ops: int = 1500, seed: int = 0,
         out: Path | None = None, **options: object) -> ConformPlan:
    values: dict[str, object] = {"profile": "auto", "duration": None, "timeout": 5.0, "shrink_time": 10.0,
                                 "allow_destructive": False, "password_env": None, **options}
    return ConformPlan(target=target, fault=fault, ops=ops, seed=seed, run_id=f"test-{os.getpid()}-{time.monotonic_ns()}",
                       out=out, **values)  # type: ignore[arg-type]


def described(run: ConformRun) -> str:
    return "\n".join(f"{d.command} {d.kind}: {d.mismatch.expected!r} vs {d.mismatch.got!r}" for d in run.differences)


# ----------------------------------------------------------------------------- pieces


def test_kinds_of_difference() -> None:
    assert kind_of(b"OK", Status("OK")) == "wrong-type"
    assert kind_of(Error("WRONGTYPE x"), Error("ERR x")) == "wrong-error-text"
    assert kind_of(1, Error("ERR unknown command 'sintercard', with args beginning with: ")) == "unknown-command"
    assert kind_of(1, Error("ERR syntax error")) == "unexpected-error"
    assert kind_of(Error("ERR overflow"), 5) == "missing-error"
    assert kind_of((b"a", b"b"), (b"b", b"a")) == "wrong-value"


def test_a_difference_inside_exec_is_filed_under_the_queued_command() -> None:
    commands = ((b"MULTI",), (b"SET", b"k", b"1"), (b"LLEN", b"l"), (b"EXEC",))
    exchange = Exchange(Transaction(((b"SET", Key("k"), b"1"), (b"LLEN", Key("l"))),), commands,
                        (Status("OK"), Status("QUEUED"), Status("QUEUED"), (Status("OK"), 0)),
                        (Status("OK"), Status("QUEUED"), Status("QUEUED"), (Status("OK"), b"0")))
    found = mismatch(exchange)
    assert found is not None and (found.command, found.kind, found.index) == ("llen", "wrong-type", 3)
    lost = Exchange(Command((b"GET", Key("k"))), ((b"GET", b"k"),), (None,), (), "closed")
    assert mismatch(lost) is not None and mismatch(lost).kind == "no-reply"  # type: ignore[union-attr]


def test_ddmin_is_one_minimal_and_shrink_keeps_the_budget() -> None:
    assert ddmin(list(range(40)), lambda s: {3, 17, 31} <= set(s)) == (3, 17, 31)
    script = tuple(Command((b"SET", Key(f"k{n}"), b"v")) for n in range(30))
    shrunk = shrink(script, lambda s: len(s) >= 5, until=float("inf"), most=4)
    assert not shrunk.complete and shrunk.replays == 4 and len(shrunk.script) >= 5
    inside = (Transaction(((b"INCR", Key("a")), (b"ECHO", b"x", b"y")), (Key("a"),)),)
    found = shrink(inside, lambda s: any(b"ECHO" in getattr(a, "argv", ()) for a in s), until=float("inf"))
    assert found.script == (Command((b"ECHO",)),) and script_size(found.script) == 1


# ----------------------------------------------------------------------------- correct servers


def test_the_embedded_server_conforms(tmp_path: Path) -> None:
    run = conform(plan(ops=2000, out=tmp_path))
    assert run.differences == [], described(run)
    assert run.actions == 2000 and run.exit_code == 0 and len(run.exercised) >= 90


@pytest.mark.parametrize("seed", [0, 1])
def test_redis_7_0_conforms(redis_server: RedisServer, seed: int) -> None:
    run = conform(plan(redis_server.url, ops=2000, seed=seed))
    assert run.profile == "redis-7.0" and "7.0" in run.profile_reason
    assert run.differences == [], described(run)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 3, 4, 5])
def test_redis_7_0_conforms_over_longer_runs(redis_server: RedisServer, seed: int) -> None:
    run = conform(plan(redis_server.url, ops=20_000, seed=seed))
    assert run.differences == [], described(run)


def test_keys_outside_the_prefix_are_untouched_and_none_are_left(redis_server: RedisServer) -> None:
    with Connection(redis_server.host, redis_server.port) as conn:
        # Foreign keys, some named like the pool's logical keys: none may be read, changed or deleted.
        foreign = {b"g0": b"mine", b"gv0": b"1", b"gl0": b"x", b"redlin:other-run:g0": b"kept"}
        for key, value in foreign.items():
            conn.execute(b"SET", key, value)
        run = conform(plan(redis_server.url, ops=1500, seed=7))
        assert [conn.execute(b"GET", key) for key in foreign] == list(foreign.values())
        left = conn.execute(b"SCAN", b"0", b"MATCH", run.plan.prefix + b"*", b"COUNT", b"100000")
        assert left == (b"0", ()), left
        conn.execute(b"DEL", *foreign)
    assert run.deleted > 0 and run.differences == []


# ----------------------------------------------------------------------------- planted faults


@pytest.mark.parametrize("fault", sorted(CONFORMANCE_FAULTS))
def test_each_planted_fault_is_found_and_shrunk(fault: str, tmp_path: Path) -> None:
    started = time.monotonic()
    run = conform(plan(fault=fault, ops=800, out=tmp_path))
    assert run.differences, f"{fault} not found in {run.actions} actions"
    version = VERSION_FAULTS.get(fault)
    if fault == "decrby-overflow-wraps" and not run.bugs:
        # Shrunk to DECRBY k -2^63 the wrap-around is Redis 6.2's own (decrby-min-wraps, D6): every
        # difference must then be that one, explained by the 6.2 profile.
        assert all(d.version == "redis-6.2" and d.command == "decrby" for d in run.differences), described(run)
        assert all(b"-9223372036854775808" in action.argv for d in run.differences for action in d.script
                   if isinstance(action, Command) and action.argv[0] == b"DECRBY"), described(run)
    elif version is None:
        assert run.exit_code == 1 and run.bugs
    else:
        assert version in {d.version for d in run.differences} <= {version, None}, described(run)
    kinds = {d.kind for d in run.differences}
    assert CONFORMANCE_FAULTS[fault] in kinds, described(run)
    for difference in run.differences:
        assert script_size(difference.script) <= MOST_COMMANDS, (difference.command, difference.script)
        assert difference.shrink is not None and difference.shrink.complete
    first = min(d.found_after_seconds for d in run.differences)
    print(f"{fault}: first difference after {first:.2f} s; {len(run.differences)} distinct, "
          f"{time.monotonic() - started:.1f} s in all")


def test_a_difference_is_reported_with_both_replies_and_their_types(tmp_path: Path) -> None:
    run = conform(plan(fault="echo-as-status", ops=400, out=tmp_path))
    document, paths = write_conform(run)
    echo = next(d for d in document["differences"] if d["command"] == "echo")
    assert echo["kind"] == "wrong-type" and echo["family"] == "server" and echo["shrunk_commands"] == 1
    assert echo["expected"].startswith('bulk string "') and echo["got"].startswith("simple string ")
    assert [line["first"] for line in echo["lines"]] == [True]
    assert echo["redis_cli"].startswith("ECHO ")
    assert json.loads(paths["result"].read_text())["verdict"] == "differences"
    assert "simple string" in paths["summary"].read_text() and "<table>" in paths["html"].read_text()


# ----------------------------------------------------------------------------- command line


def test_exit_codes_and_junit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conform", "--ops", "300", "--out", str(tmp_path / "clean"), "--quiet"]) == 0
    assert capsys.readouterr().out.startswith("CONFORMANT")
    assert main(["conform", "--fault", "count-as-bulk", "--ops", "300", "--out", str(tmp_path / "bad"),
                 "--quiet"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("DIFFERENCES") and "lists:" in out and "LLEN wrong-type" in out
    for name in ("clean", "bad"):
        root = ElementTree.parse(tmp_path / name / "junit.xml").getroot()
        cases = root.findall("./testsuite/testcase")
        document = json.loads((tmp_path / name / "result.json").read_text())
        assert len(cases) == len(document["exercised"]) == int(root.get("tests", "0")) >= 90
        failures = len({d["command"] for d in document["differences"]})
        assert failures == (0 if name == "clean" else len(document["differences"])) <= 5
        assert int(root.get("failures", "-1")) == failures == sum(1 for c in cases if c.find("failure") is not None)
        assert all(c.get("classname", "").startswith("redlin.conform.") for c in cases)


@pytest.mark.parametrize(("argv", "names"), [
    (["--ops", "0"], "--ops"),
    (["--duration", "-1"], "--duration"),
    (["--profile", "redis-9"], "--profile"),
    (["--fault", "nope"], "--fault"),
    (["--target", "http://127.0.0.1:1/0"], "--target"),
    (["--target", "redis://127.0.0.1:6379/0", "--fault", "count-as-bulk"], "--fault"),
    (["--ops", "5", "--duration", "5"], "--duration"),
])
def test_bad_arguments_exit_3_with_one_line(argv: list[str], names: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(["conform", "--out", str(tmp_path), *argv])
    except SystemExit as exit:  # argparse's own errors
        code = int(exit.code or 0)
    err = capsys.readouterr().err
    assert code == 3, err
    assert len(err.strip().splitlines()) == 1 and names in err, err


def test_an_unreachable_target_exits_3(tmp_path: Path, unused_port: int) -> None:
    done = subprocess.run([sys.executable, "-m", "redlin", "conform", "--target", f"redis://127.0.0.1:{unused_port}/0",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and done.stderr.count("\n") == 1 and f"127.0.0.1:{unused_port}" in done.stderr


@pytest.fixture
def unused_port() -> int:
    return free_port()


def test_ctrl_c_deletes_the_keys_and_writes_the_report(server_in: Callable[..., RedisServer], tmp_path: Path) -> None:
    server = server_in()
    child = subprocess.Popen([sys.executable, "-m", "redlin", "conform", "--target", server.url, "--duration", "60",
                              "--out", str(tmp_path / "out")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, preexec_fn=as_at_a_terminal)
    with Connection(server.host, server.port) as conn:
        deadline = time.monotonic() + 30
        while conn.execute(b"DBSIZE") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        assert "interrupted by Ctrl-C" in err and out.startswith("CONFORMANT")
        assert conn.execute(b"DBSIZE") == 0
    assert json.loads((tmp_path / "out" / "result.json").read_text())["interrupted_by"] == "SIGINT"


def test_a_target_that_goes_away_exits_3_and_is_no_difference(server_in: Callable[..., RedisServer],
                                                               tmp_path: Path) -> None:
    server = server_in()
    with Connection(server.host, server.port) as conn:
        info = conn.execute(b"INFO", b"server")
    assert isinstance(info, bytes)
    pid = int(info.split(b"process_id:")[1].split(b"\r\n")[0])
    child = subprocess.Popen([sys.executable, "-m", "redlin", "conform", "--target", server.url, "--duration", "60",
                              "--out", str(tmp_path / "out"), "--quiet"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    # Killed once conform is at work (on a loaded machine its start can take seconds, and a target
    # gone before it started is a usage error, not a lost target).
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _commands_processed(server) < 200:
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)  # our own server
    out, err = child.communicate(timeout=60)
    assert child.returncode == 3, out + err
    assert out.startswith("TARGET LOST") and "lost the target" in out
    document = json.loads((tmp_path / "out" / "result.json").read_text())
    assert document["verdict"] == "target-lost" and not any(d["bug"] for d in document["differences"])


def _commands_processed(server: RedisServer) -> int:
    with Connection(server.host, server.port) as conn:
        stats = conn.execute(b"INFO", b"stats")
    assert isinstance(stats, bytes)
    return int(stats.split(b"total_commands_processed:")[1].split(b"\r\n")[0])


def test_replies_of_the_servers_state_are_no_differences(server_in: Callable[..., RedisServer]) -> None:
    server = server_in("--maxmemory", "1", "--maxmemory-policy", "noeviction")  # every write: OOM
    run = conform(plan(server.url, ops=500))
    assert run.differences == [] and run.exit_code == 0, described(run)
    assert any("OOM" in note for note in run.notes) and sum(run.rejected.values()) > 0


def test_the_document_renders_from_json_alone(tmp_path: Path) -> None:
    run = conform(plan(fault="decrby-overflow-wraps", ops=800, out=tmp_path))
    document = json.loads(json.dumps(conform_document(run)))
    assert {d["family"] for d in document["differences"]} <= {"strings", "hashes"}
    assert all(d["shrunk_commands"] <= MOST_COMMANDS for d in document["differences"])


# ----------------------------------------------------------------------------- another version: Redis 6.2 (conftest's redis62)


def unexplained(run: ConformRun) -> list[str]:
    return [f"{d.command} {d.kind}: {d.mismatch.expected!r} vs {d.mismatch.got!r}" for d in run.bugs]


@pytest.mark.parametrize("seed", [0, 1])
def test_redis_6_2_conforms_to_its_profile(redis62: RedisServer, seed: int) -> None:
    run = conform(plan(redis62.url, ops=3000, seed=seed))
    assert run.profile == "redis-6.2" and "6.2.14" in run.profile_reason
    assert not unexplained(run)


def test_a_6_2_difference_from_7_0_is_a_version_difference(redis62: RedisServer, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    run = conform(plan(redis62.url, ops=2000, profile="redis-7.0"))
    assert run.differences and not unexplained(run)
    versions = {d.command for d in run.differences if d.version == "redis-6.2"}
    assert {"sintercard", "expire"} <= versions, described(run)
    code = main(["conform", "--target", redis62.url, "--profile", "redis-7.0", "--ops", "300", "--quiet",
                 "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and "version differences (not bugs)" in out and "as redis-6.2 does" in out
    # The profile lines read as redlin run's (one chooser, redlin.harness.run_profile.choose_profile).
    assert "profile: redis-7.0 (chosen with --profile)" in out.splitlines()
    assert ("warning: --profile redis-7.0, but the server reports redis_version 6.2.14 → redis-6.2: replies where "
            "the versions differ will be reported as version differences") in out.splitlines()


def test_a_server_that_cannot_run_the_script_guard_is_tested_without_scripts(
        server_in: Callable[..., RedisServer], tmp_path: Path) -> None:
    """A server where no script runs inside redlin's guard (KeyDB, whose Lua globals scripts may
    change; here a real redis-server 7.0.15 whose ACL forbids scripting) is tested without scripts,
    and says so, instead of reporting every script as a difference (conform) or a violation (run)."""
    server = server_in("--user", "default", "on", "nopass", "~*", "&*", "+@all", "-@scripting")
    refusal = script_guard_refusal(Target.parse(server.url), 5.0)
    assert refusal is not None and "NOPERM" in refusal
    checked = conform(plan(server.url, ops=1500, seed=1))
    assert checked.differences == [], described(checked)
    assert any(note.startswith("scripts left out") for note in checked.notes), checked.notes
    ran = run(server.url, ops=1500, seed=1, out=tmp_path / "run", database=None)
    assert ran.verdict == "linearizable", render_outcome(ran)
    assert any(note.startswith("scripts left out") for note in ran.notes), ran.notes
    with pytest.raises(UsageError, match="workload 'transfer' sends scripts"):
        run(server.url, workload="transfer", ops=200, out=tmp_path / "transfer", database=None)


@pytest.mark.redis
def test_a_choice_the_reply_does_not_show_ends_the_segment_without_a_difference(redis_server: RedisServer) -> None:
    """A lex removal over a skiplist of mixed scores (made one by SORT_RO) whose reply fits two
    removals (from b or from c: one member either way): the model cannot know the lane's keys
    from there, so the exchange says so and nothing is compared from that command on."""
    prefix = b"redlin:test-unfollowed:"
    lane = Lane(lambda: Connection(redis_server.host, redis_server.port), Guard(prefix), prefix, INITIAL_STATE)
    try:
        setup = (Command((b"ZADD", Key("j"), b"1", b"b", b"2", b"z", b"3", b"0", b"4", b"c")),
                 Command((b"SORT_RO", Key("j"), b"ALPHA")))
        assert all(mismatch(lane.send(action)) is None for action in setup)
        exchange = lane.send(Command((b"ZREMRANGEBYLEX", Key("j"), b"[a", b"(d")))
        assert exchange.got == (1,) and exchange.expected == (1,)
        assert exchange.unfollowed is not None and "different sets" in exchange.unfollowed
        assert mismatch(exchange) is None
    finally:
        with Connection(redis_server.host, redis_server.port) as conn:
            conn.execute(b"DEL", prefix + b"j")
        lane.close()
