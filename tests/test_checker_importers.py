"""Importers: Porcupine's etcd logs and kv EDN, Jepsen/Knossos EDN, and their error messages."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from redlin import (
    HistoryError,
    Linearizable,
    Outcome,
    Violation,
    cas_register,
    check,
    kv,
    load_jepsen_edn,
    load_porcupine_etcd,
    load_porcupine_kv,
)
from redlin.history.importers import EdnError, Keyword, Symbol, read_edn

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PORCUPINE = SHARED / "data" / "porcupine"
needs_shared = pytest.mark.skipif(
    not PORCUPINE.is_dir(), reason=f"reference histories not found at {PORCUPINE} (shared/ sits beside the repo)"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- Porcupine etcd logs ---------------------------------------------------------------------------

ETCD = """\
INFO  jepsen.util - 0\t:invoke\t:read\tnil
INFO  jepsen.util - 1\t:invoke\t:write\t4
INFO  jepsen.util - 0\t:ok\t:read\tnil
INFO  jepsen.util - 1\t:ok\t:write\t4
INFO  jepsen.util - 2\t:invoke\t:cas\t[4 1]
INFO  jepsen.util - 3   :invoke :cas    [0 3]
INFO  jepsen.util - 2\t:ok\t:cas\t[4 1]
INFO  jepsen.util - 3   :fail   :cas    [0 3]
INFO  jepsen.util - 4\t:invoke\t:write\t2
INFO  jepsen.util - 5\t:invoke\t:read\tnil
INFO  jepsen.util - 4\t:info\t:write\t:timed-out
INFO  jepsen.util - 5\t:fail\t:read\t:timed-out
INFO  jepsen.util - 6\t:invoke\t:cas\t[1 2]
"""


def test_etcd_log_semantics(tmp_path: Path) -> None:
    h = load_porcupine_etcd(write(tmp_path, "etcd.log", ETCD))
    summary = [(op.client, op.call, op.result, op.outcome, op.invoke, op.complete, op.line) for op in h]
    assert summary == [
        (0, ("read",), None, Outcome.OK, 0, 2, 1),
        (1, ("write", 4), None, Outcome.OK, 1, 3, 2),
        (2, ("cas", 4, 1), True, Outcome.OK, 4, 6, 5),
        (3, ("cas", 0, 3), False, Outcome.OK, 5, 7, 6),  # :fail :cas is an observed failure
        (4, ("write", 2), None, Outcome.INFO, 8, None, 9),
        (5, ("read",), None, Outcome.FAIL, 9, 11, 10),  # timed-out read: ignored
        (6, ("cas", 1, 2), None, Outcome.INFO, 12, None, 13),  # never completed
    ]
    assert [op.id for op in h] == list(range(len(h)))
    assert isinstance(check(h, cas_register()), Linearizable)


@needs_shared
def test_etcd_files_count_every_invocation() -> None:
    h = load_porcupine_etcd(PORCUPINE / "jepsen" / "etcd_100.log")  # spaces, and timed-out reads
    assert len(h) == 77
    assert sum(op.outcome is Outcome.FAIL for op in h) == 5
    assert load_porcupine_etcd(PORCUPINE / "jepsen" / "etcd_095.log").operations == ()


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("INFO  jepsen.util - 0\t:invoke\t:read\tnil\nnonsense here\n", 2, "not a jepsen.util log line"),
        ("INFO  jepsen.util - 0\t:ok\t:read\t3\n", 1, "invoked nothing"),
        ("INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:invoke\t:read\tnil\n", 2, "invokes again"),
        ("\nINFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:write\t3\n", 3, "does not match"),
        ("INFO  jepsen.util - 0\t:invoke\t:cas\t[1]\n", 1, "a cas needs [expected new]"),
        ("INFO  jepsen.util - 0\t:invoke\t:incr\t1\n", 1, "unknown operation :incr"),
        ("INFO  jepsen.util - 0\t:invoke\t:read\t[1\n", 1, "never closed"),
        ("INFO  jepsen.util - x\t:invoke\t:read\tnil\n", 1, "cannot read"),
        ("INFO  jepsen.util - 0\t:done\t:read\tnil\n", 1, "unknown event type :done"),
    ],
)
def test_etcd_errors_name_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, "bad.log", text)
    with pytest.raises(HistoryError) as caught:
        load_porcupine_etcd(path)
    error = caught.value
    assert (error.path, error.line) == (str(path), line)
    assert message in error.message
    assert str(error).startswith(f"{path}:{line}: ")


def test_missing_file_is_a_history_error(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="cannot read"):
        load_porcupine_etcd(tmp_path / "absent.log")


def test_history_error_format_and_pickling() -> None:
    error = HistoryError("h.edn", 7, "bad thing")
    assert str(error) == "h.edn:7: bad thing"
    assert str(HistoryError("h.edn", None, "bad thing")) == "h.edn: bad thing"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.path, copy.line, copy.message) == ("h.edn", 7, "bad thing")


# --- Porcupine kv -----------------------------------------------------------------------------------

KV = """\
{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}
{:process 1, :type :invoke, :f :get, :key "0", :value nil}
{:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}
{:process 1, :type :ok, :f :get, :key "0", :value "x 0 0 y"}
{:process 2, :type :invoke, :f :put, :key "1", :value "z"}
{:process 2, :type :ok, :f :put, :key "1", :value "z"}
{:process 3, :type :invoke, :f :get, :key "1", :value nil}
{:process 3, :type :ok, :f :get, :key "1", :value ""}
"""


def test_kv_history(tmp_path: Path) -> None:
    h = load_porcupine_kv(write(tmp_path, "kv.txt", KV))
    assert [(op.call, op.result) for op in h] == [
        (("append", "0", "x 0 0 y"), None),
        (("get", "0"), "x 0 0 y"),
        (("put", "1", "z"), None),
        (("get", "1"), ""),
    ]
    result = check(h, kv())
    assert isinstance(result, Violation)  # the get of "1" after the put saw ""
    assert result.part == (2, 3)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('{:process 0, :type :invoke, :f :get, :key "0", :value nil}\n{:process 0 :type :ok}\n', 2, "without :f"),
        ('{:process 0, :type :invoke, :f :get, :key "0"\n', 1, "never closed"),
        ('{:process 0, :type :invoke, :f :get, :value nil}\n{:process 0, :type :ok, :f :get, :value ""}\n', 1, "needs a :key"),
        ('{:process 0, :type :invoke, :f :get, :key "0"}\n{:process 0, :type :ok, :f :get, :key "0", :value 3}\n', 2, "returns a string"),
        ('{:process 0, :type :invoke, :f :put, :key "0", :value 3}\n', 1, "needs a string"),
        ('[1 2]\n', 1, "expected an operation map"),
        ('{:process 0, :type "ok", :f :get}\n', 1, "must be keywords"),
        ('{:process 0, :type :invoke, :f :get, :key "0"}\n\n{:process 0 :type :ok :f :get :key "0" :value "\\q"}', 3, "escape"),
    ],
)
def test_kv_errors_name_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, "bad.txt", text)
    with pytest.raises(HistoryError) as caught:
        load_porcupine_kv(path)
    assert caught.value.line == line, caught.value
    assert message in caught.value.message


# --- Jepsen / Knossos EDN --------------------------------------------------------------------------

EDN_LINES = """\
{:process 0, :type :invoke, :f :write, :value 1}
{:process :nemesis, :type :info, :f :start, :value nil}
{:process 0, :type :ok, :f :write, :value 1}
{:process 1, :type :invoke, :f :cas, :value [1 2]}
{:process 2, :type :invoke, :f :write, :value 5}
{:process 1, :type :fail, :f :cas, :value [1 2]}
{:process 2, :type :fail, :f :write, :value 5}
{:process 3, :type :invoke, :f :read, :value nil}
{:process 3, :type :ok, :f :read, :value 1}
{:process 4, :type :invoke, :f :cas, :value [1 3]}
{:process 4, :type :info, :f :cas, :value [1 3], :error :timeout}
{:process 5, :type :invoke, :f :read}
"""


def test_jepsen_edn_one_map_per_line(tmp_path: Path) -> None:
    h = load_jepsen_edn(write(tmp_path, "h.edn", EDN_LINES))
    assert [(op.client, op.call, op.result, op.outcome, op.line) for op in h] == [
        (0, ("write", 1), None, Outcome.OK, 1),
        (1, ("cas", 1, 2), None, Outcome.FAIL, 4),  # Jepsen :fail: no effect
        (2, ("write", 5), None, Outcome.FAIL, 5),
        (3, ("read",), 1, Outcome.OK, 8),
        (4, ("cas", 1, 3), None, Outcome.INFO, 10),
        (5, ("read",), None, Outcome.INFO, 12),
    ]
    assert isinstance(check(h, cas_register()), Linearizable)


def test_jepsen_edn_as_one_vector(tmp_path: Path) -> None:
    text = "; a Knossos history\n[" + EDN_LINES.replace("\n", "\n ") + "]\n"
    h = load_jepsen_edn(write(tmp_path, "v.edn", text))
    assert [(op.call, op.outcome, op.line) for op in h] == [
        (op.call, op.outcome, op.line + 1) for op in load_jepsen_edn(write(tmp_path, "l.edn", EDN_LINES))
    ]


def test_jepsen_edn_records_and_tags(tmp_path: Path) -> None:
    text = (
        '#jepsen.history.Op{:index 0, :process 0, :type :invoke, :f :read, :value nil, :time 10}\n'
        '#_{:process 9, :type :invoke, :f :read}\n'
        '#jepsen.history.Op{:index 1, :process 0, :type :ok, :f :read, :value nil, :time 20}\n'
    )
    h = load_jepsen_edn(write(tmp_path, "tagged.edn", text))
    assert [(op.call, op.result, op.outcome) for op in h] == [(("read",), None, Outcome.OK)]


def test_jepsen_edn_error_inside_a_vector_names_the_line(tmp_path: Path) -> None:
    text = "[{:process 0, :type :invoke, :f :read}\n {:process 0, :type :ok, :f :read, :value 1}\n {:process 0 :type :ok :f :read}]\n"
    with pytest.raises(HistoryError) as caught:
        load_jepsen_edn(write(tmp_path, "v.edn", text))
    assert caught.value.line == 3
    assert "invoked nothing" in caught.value.message


# --- the EDN reader --------------------------------------------------------------------------------


def test_edn_reader_values() -> None:
    value = read_edn('{:a [1 -2 3.5 1e3 7N], "s" "x\\ny\\u00e9", :set #{1 2}, :l (nil true false), :sym foo, :c \\c}')
    assert value == {
        Keyword("a"): (1, -2, 3.5, 1000.0, 7),
        "s": "x\nyé",
        Keyword("set"): frozenset({1, 2}),
        Keyword("l"): (None, True, False),
        Keyword("sym"): Symbol("foo"),
        Keyword("c"): "c",
    }
    assert Keyword("a") is Keyword("a") and str(Keyword("a")) == ":a"
    assert read_edn(" ; comment\n 42 ,, ") == 42


@pytest.mark.parametrize(
    ("text", "position"),
    [("[1 2", 0), ("{:a}", 0), ("(]", 1), ("]", 0), ('"abc', 0), (":", 0), ("12x", 0), ("1 2", 2), ("", 0), ("[#_]", 3)],
)
def test_edn_reader_errors(text: str, position: int) -> None:
    with pytest.raises(EdnError) as caught:
        read_edn(text)
    assert caught.value.position == position
