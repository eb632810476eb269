"""Fuzzing the inputs: every history format and the check options, malformed in every way we know.

The property: ``redlin check`` never shows a traceback and never exits with a code outside the
documented set (0 linearizable, 1 violation, 2 unknown, 3 bad input); a bad input is one line that
names the file (and the line, when there is one).  An internal error (exit 4) is a failure here.
Inputs are drawn by Hypothesis from valid histories of each format, mutated (values of the wrong
type or size, deep nesting, huge integers, lone surrogates, EDN sets and symbols, lines dropped,
repeated or cut, bytes that are not UTF-8, a BOM), so a failure prints a reproducible example.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import string
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redlin.cli import main
from redlin.errors import EXIT_OK, EXIT_UNKNOWN, EXIT_USAGE, EXIT_VIOLATION

DOCUMENTED = {EXIT_OK, EXIT_VIOLATION, EXIT_UNKNOWN, EXIT_USAGE}

JSONL_REDIS = [
    {"event": "meta", "format": "redlin-history", "version": 1, "model": "redis"},
    {"event": "invoke", "op": 0, "client": 1, "time": 100, "call": [["SET", "k", "1"]]},
    {"event": "invoke", "op": 1, "client": 2, "time": 150, "call": [["GET", "k"]]},
    {"event": "ok", "op": 0, "time": 200, "result": [{"status": "OK"}]},
    {"event": "ok", "op": 1, "time": 250, "result": ["1"]},
    {"event": "invoke", "op": 2, "client": 1, "time": 300,
     "call": [["MULTI"], ["INCR", "k"], ["EXEC"]]},
    {"event": "ok", "op": 2, "time": 400, "result": [{"status": "OK"}, {"status": "QUEUED"}, [2]]},
]
JSONL_REGISTER = [
    {"event": "meta", "format": "redlin-history", "version": 1, "model": "cas-register"},
    {"event": "invoke", "op": 0, "client": 1, "time": 100, "call": ["write", 1]},
    {"event": "ok", "op": 0, "time": 200, "result": None},
    {"event": "invoke", "op": 1, "client": 2, "time": 300, "call": ["read"]},
    {"event": "ok", "op": 1, "time": 400, "result": 1},
]
ETCD = [
    "INFO  jepsen.util - 1\t:invoke\t:write\t1",
    "INFO  jepsen.util - 1\t:ok\t:write\t1",
    "INFO  jepsen.util - 2\t:invoke\t:cas\t[1 2]",
    "INFO  jepsen.util - 3\t:invoke\t:read\tnil",
    "INFO  jepsen.util - 2\t:ok\t:cas\t[1 2]",
    "INFO  jepsen.util - 3\t:ok\t:read\t2",
]
EDN = [
    "{:process 0, :type :invoke, :f :write, :value 1}",
    "{:process 0, :type :ok, :f :write, :value 1}",
    "{:process 1, :type :invoke, :f :read, :value nil}",
    "{:process 1, :type :ok, :f :read, :value 1}",
]
KV = [
    '{:process 0, :type :invoke, :f :put, :key "k", :value "a"}',
    '{:process 0, :type :ok, :f :put, :key "k", :value "a"}',
    '{:process 1, :type :invoke, :f :get, :key "k", :value nil}',
    '{:process 1, :type :ok, :f :get, :key "k", :value "a"}',
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)
RAW_JSON = ["9" * 5000, "-" + "9" * 4400, "1e999", "NaN", "-Infinity", "[" * 5000 + "]" * 5000,
            "[" * 80 + "]" * 80, '"\\ud800"', '["\\udfff"]', '{"b64": "!!"}', '[{"b64": "AAAA"}]', '{"frames": []}',
            '[{"status": 1}]', '[{"nil_array": false}]', '[["SET", "k", {"b64": "/w=="}]]', '[["NOSUCH"]]',
            '[["EVAL", "while true do end", "0"]]']
edn_atoms = st.sampled_from([
    "nil", "true", "false", "1", "-7", "1.0", "1N", "2.5M", "1e400", "9" * 5000, ":kw", ":timed-out",
    "sym", "foo/bar", '"text"', '"\\ud800"', '"\\ud83d\\ude00"', '"\\q"', "#{1 2}", "#{}", "{:a 1}", "[1 [2 [3]]]",
    "#inst \"2020\"", "#_ 1", "\\newline", "(1 2)", "[" * 300 + "]" * 300, "{[1] 2}", "#{#{1}}", '"',
    "[", "}", "#", ":", "1.2.3", "0x10", "+", "-",
])


def _mutate_lines(lines: list[str], data: st.DataObject) -> list[str]:
    lines = list(lines)
    for _ in range(data.draw(st.integers(0, 3), label="mutations")):
        if not lines:
            break
        where = data.draw(st.integers(0, len(lines) - 1), label="line")
        action = data.draw(st.sampled_from(["drop", "repeat", "cut", "garbage", "swap"]), label="action")
        if action == "drop":
            del lines[where]
        elif action == "repeat":
            lines.insert(where, lines[where])
        elif action == "cut":
            lines[where] = lines[where][: data.draw(st.integers(0, len(lines[where])), label="cut at")]
        elif action == "garbage":
            lines.insert(where, data.draw(st.text(string.printable, max_size=30), label="garbage"))
        elif where + 1 < len(lines):
            lines[where], lines[where + 1] = lines[where + 1], lines[where]
    return lines


def _jsonl(data: st.DataObject) -> list[str]:
    events = [dict(event) for event in data.draw(st.sampled_from([JSONL_REDIS, JSONL_REGISTER]), label="base")]
    for _ in range(data.draw(st.integers(0, 3), label="value mutations")):
        event = data.draw(st.sampled_from(events), label="event")
        field = data.draw(st.sampled_from(["event", "op", "client", "time", "call", "result", "model", "version"]),
                          label="field")
        event[field] = data.draw(json_values, label="value")
    lines = [json.dumps(event) for event in events]
    # Raw JSON that no Python value dumps to: huge integers, deep nesting, lone surrogates, NaN.
    for _ in range(data.draw(st.integers(0, 2), label="raw values")):
        where = data.draw(st.integers(0, len(lines) - 1), label="line")
        raw = data.draw(st.sampled_from(RAW_JSON), label="raw")
        lines[where] = lines[where][:-1] + ', "' + data.draw(st.sampled_from(["call", "result", "time", "x"]),
                                                             label="key") + '": ' + raw + "}"
    return _mutate_lines(lines, data)


def _edn_like(base: list[str], data: st.DataObject) -> list[str]:
    lines = list(base)
    for _ in range(data.draw(st.integers(0, 3), label="value mutations")):
        where = data.draw(st.integers(0, len(lines) - 1), label="line")
        atom = data.draw(edn_atoms, label="atom")
        if ":value" in lines[where]:
            head = lines[where].rsplit(":value", 1)[0]
            lines[where] = head + ":value " + atom + "}"
        elif "\t" in lines[where]:
            lines[where] = lines[where].rsplit("\t", 1)[0] + "\t" + atom
    return _mutate_lines(lines, data)


@st.composite
def history_files(draw: st.DrawFn) -> tuple[str, bytes]:
    data = draw(st.data())
    kind = draw(st.sampled_from(["jsonl", "etcd", "edn", "kv", "bytes"]))
    if kind == "bytes":
        return kind, draw(st.binary(max_size=200))
    lines = {"jsonl": lambda: _jsonl(data), "etcd": lambda: _edn_like(ETCD, data),
             "edn": lambda: _edn_like(EDN, data), "kv": lambda: _edn_like(KV, data)}[kind]()
    raw = "\n".join(lines).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        raw = b"\xef\xbb\xbf" + raw  # a byte order mark
    if draw(st.booleans()) and raw:
        cut = draw(st.integers(0, len(raw) - 1))
        raw = raw[:cut] + draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\r\n"])) + raw[cut:]
    return kind, raw


def _check(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exit_:  # argparse's own usage errors
            code = exit_.code if isinstance(exit_.code, int) else 3
    return code, out.getvalue(), err.getvalue()


def _assert_well_behaved(code: int, stdout: str, stderr: str, path: Path) -> None:
    assert code in DOCUMENTED, f"exit {code}: {stderr}"
    assert "Traceback" not in stderr + stdout
    if code == EXIT_USAGE:
        lines = stderr.strip().splitlines()
        assert len(lines) == 1, stderr
        assert str(path) in lines[0] or "--" in lines[0] or "argument" in lines[0], lines[0]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
          deadline=None)
@given(history_files(), st.sampled_from([[], ["--format", "jsonl"], ["--format", "porcupine-etcd"],
                                         ["--format", "jepsen-edn"], ["--format", "porcupine-kv"],
                                         ["--model", "redis"], ["--model", "register"], ["--model", "kv"]]))
def test_no_history_file_makes_check_crash(tmp_path_factory: pytest.TempPathFactory, drawn: tuple[str, bytes],
                                            options: list[str]) -> None:
    kind, raw = drawn
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / {"jsonl": "h.jsonl", "etcd": "h.log", "edn": "h.edn", "kv": "h.txt", "bytes": "h"}[kind]
    path.write_bytes(raw)
    code, stdout, stderr = _check(["check", str(path), "--time-limit", "5", "--out", str(folder / "report"), *options])
    _assert_well_behaved(code, stdout, stderr, path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["--time-limit", "--max-states", "--format", "--model", "--out", "--json",
                                 "--no-minimise", "--no-report", "1e10", "0", "-1", "nan", "inf", "1e999",
                                 "٣", "jsonl", "redis", "x", "", "10"]), max_size=6))
def test_no_option_makes_check_crash(tmp_path_factory: pytest.TempPathFactory, options: list[str]) -> None:
    folder = tmp_path_factory.mktemp("options")
    path = folder / "h.jsonl"
    path.write_text("\n".join(json.dumps(event) for event in JSONL_REGISTER) + "\n")
    cwd = os.getcwd()
    os.chdir(folder)  # a relative --out lands here, not in the repository
    try:
        code, stdout, stderr = _check(["check", str(path), *options])
    finally:
        os.chdir(cwd)
    _assert_well_behaved(code, stdout, stderr, path)


@pytest.mark.parametrize("content", [b"", b"   \n\n\t\n", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("name", ["h.jsonl", "h.log", "h.edn"])
def test_an_empty_file_is_bad_input(tmp_path: Path, content: bytes, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    code, _, stderr = _check(["check", str(path), "--no-report"])
    assert code == EXIT_USAGE
    assert stderr.strip() == f"redlin: {path}: no events: the history is empty"


def test_a_bom_does_not_change_the_format(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(json.dumps(e) for e in JSONL_REGISTER).encode())
    code, stdout, _ = _check(["check", str(path), "--no-report"])
    assert code == EXIT_OK and stdout.startswith("LINEARIZABLE")


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "directory"])
def test_a_file_that_never_ends_is_refused(tmp_path: Path, special: str) -> None:
    if special == "fifo":
        path = tmp_path / "pipe"
        os.mkfifo(path)
    elif special == "directory":
        path = tmp_path
    else:
        path = Path(special)
    code, _, stderr = _check(["check", str(path), "--no-report"])
    assert code == EXIT_USAGE
    assert stderr.strip().startswith(f"redlin: {path}: ") and "not a regular file" in stderr


@pytest.mark.parametrize("writes, reads", [("true", "1"), ("1.0", "1"), ("false", "0")])
def test_values_of_another_type_are_not_equal(tmp_path: Path, writes: str, reads: str) -> None:
    """``true`` and ``1.0`` are not the integer 1 (Python's equality says they are)."""
    path = tmp_path / "h.log"
    path.write_text(f"INFO  jepsen.util - 1\t:invoke\t:write\t{writes}\nINFO  jepsen.util - 1\t:ok\t:write\t{writes}\n"
                    f"INFO  jepsen.util - 2\t:invoke\t:read\tnil\nINFO  jepsen.util - 2\t:ok\t:read\t{reads}\n")
    code, stdout, _ = _check(["check", str(path), "--no-report"])
    assert code == EXIT_VIOLATION, stdout


def test_a_kv_completion_must_name_its_invocations_key(tmp_path: Path) -> None:
    path = tmp_path / "h.txt"
    path.write_text('{:process 0, :type :invoke, :f :get, :key "a", :value nil}\n'
                    '{:process 0, :type :ok, :f :get, :key "b", :value "x"}\n')
    code, _, stderr = _check(["check", str(path), "--no-report"])
    assert code == EXIT_USAGE
    assert stderr.strip().startswith(f"redlin: {path}:2: ") and "key" in stderr


@pytest.mark.parametrize("model", ["redis", "redis-single"])
def test_a_model_that_does_not_fit_the_format_is_refused(tmp_path: Path, model: str) -> None:
    path = tmp_path / "h.log"
    path.write_text("\n".join(ETCD) + "\n")
    code, _, stderr = _check(["check", str(path), "--model", model, "--no-report"])
    assert code == EXIT_USAGE
    assert "does not fit" in stderr and str(path) in stderr


@pytest.mark.parametrize("option, value", [
    ("--timeout", "1e10"), ("--timeout", "0"), ("--timeout", "nan"), ("--check-time", "inf"), ("--duration", "-1"),
    ("--clients", "20000"), ("--clients", "٣"), ("--clients", "0"), ("--steps", "1e3"), ("--ops", "99999999999"),
    ("--rate", "1e999"), ("--repeat", "x"), ("--shrink-time", ""),
])
def test_absurd_run_options_are_one_line_usage_errors(option: str, value: str) -> None:
    code, stdout, stderr = _check(["run", option, value])
    assert code == EXIT_USAGE
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0], stderr
    assert "Traceback" not in stderr + stdout


def test_a_script_that_never_ends_gives_unknown_not_a_crash(tmp_path: Path) -> None:
    """The model stops a script at its instruction budget: no reply can be judged, so Unknown (exit 2)."""
    events = [JSONL_REDIS[0],
              {"event": "invoke", "op": 0, "client": 1, "time": 100, "call": [["EVAL", "while true do end", "0"]]},
              {"event": "ok", "op": 0, "time": 200, "result": [None]},
              {"event": "invoke", "op": 1, "client": 2, "time": 100, "call": [["SET", "k", "v"]]},
              {"event": "ok", "op": 1, "time": 200, "result": [{"status": "OK"}]}]
    path = tmp_path / "loop.jsonl"
    path.write_text("\n".join(json.dumps(event) for event in events) + "\n")
    for model in ("redis", "redis-single"):
        code, stdout, stderr = _check(["check", str(path), "--model", model, "--no-report"])
        assert code == EXIT_UNKNOWN, stdout + stderr
        assert "could not evaluate" in stdout and "line 2" in stdout


@pytest.mark.slow
@pytest.mark.parametrize("name, line", [
    ("big.log", b'INFO  jepsen.util - 1\t:invoke\t:write\t"' + b"a" * (100 << 20) + b'"\n'),
    ("big.edn", b'{:process 0, :type :invoke, :f :write, :value "' + b"a" * (100 << 20) + b'"}\n'),
])
def test_a_100_mb_value_is_refused_within_bounded_memory(tmp_path: Path, name: str, line: bytes) -> None:
    """A 100 MB value once took 17.6 GB; now its line is refused, in a process held to 2 GiB."""
    path = tmp_path / name
    path.write_bytes(line)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    done = subprocess.run([sys.executable, "-m", "redlin", "check", str(path), "--no-report"], capture_output=True,
                          text=True, timeout=120, preexec_fn=limit)
    assert done.returncode == EXIT_USAGE, done.stderr
    assert done.stderr.strip() == f"redlin: {path}:1: a line longer than 4 MiB: redlin refuses lines it cannot hold in memory"
