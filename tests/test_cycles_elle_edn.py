"""Reading Jepsen/Elle EDN transactional histories (redlin.history.elle), and checking them.

The histories here are written for these tests in Elle's format (Kingsbury & Alvaro, VLDB 2020:
``:invoke`` then ``:ok``/``:fail``/``:info`` with the reads filled in).  With ``ELLE_HISTORIES`` set
to a folder holding Elle's own published examples, they are checked too.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from redlin.cycles import MODELS, check_transactions
from redlin.errors import HistoryError, UsageError
from redlin.history.elle import load_elle_edn

LIST_APPEND = """\
{:type :invoke, :f :txn, :value [[:append :x 1] [:r :y nil]], :process 0, :time 10, :index 0}
{:type :invoke, :f :txn, :value [[:append :y 1] [:r :x nil]], :process 1, :time 11, :index 1}
{:type :info, :f :start, :process :nemesis, :value nil}
{:type :ok, :f :txn, :value [[:append :x 1] [:r :y []]], :process 0, :time 20, :index 2}
{:type :ok, :f :txn, :value [[:append :y 1] [:r :x []]], :process 1, :time 21, :index 3}
{:type :invoke, :f :txn, :value [[:r :x nil] [:r :y nil]], :process 0, :time 30, :index 4}
{:type :ok, :f :txn, :value [[:r :x [1]] [:r :y [1]]], :process 0, :time 40, :index 5}
{:type :invoke, :f :txn, :value [[:append :z 5]], :process 2, :time 50, :index 6}
"""


def _write(tmp_path: Path, text: str, name: str = "history.edn") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_list_append_history_is_read_and_write_skew_found(tmp_path: Path) -> None:
    """Elle's write skew (G2-item): each transaction appends to one key and reads the other empty."""
    history = load_elle_edn(_write(tmp_path, LIST_APPEND))
    assert history.kind == "list-append" and len(history.transactions) == 4
    first, _, _, unfinished = history.transactions
    assert (first.process, first.outcome, first.invoke, first.complete, first.line) == (0, "ok", 0, 3, 1)
    assert [(m.f, m.key, m.value) for m in first.mops] == [("append", "x", 1), ("r", "y", ())]
    assert unfinished.outcome == "info" and unfinished.complete is None
    verdict = check_transactions(history, models=MODELS)
    assert [a.kind for a in verdict.anomalies] == ["G2-item"]


def test_rw_register_history_and_fail(tmp_path: Path) -> None:
    """A read of a value from a failed transaction: G1a (Adya's aborted read)."""
    text = ("{:type :invoke, :f :txn, :value [[:w :x 1]], :process 0}\n"
            "{:type :fail, :f :txn, :value [[:w :x 1]], :process 0}\n"
            "{:type :invoke, :f :txn, :value [[:r :x nil]], :process 1}\n"
            "{:type :ok, :f :txn, :value [[:r :x 1]], :process 1}\n")
    history = load_elle_edn(_write(tmp_path, text))
    assert history.kind == "rw-register"
    assert [a.kind for a in check_transactions(history).anomalies] == ["G1a"]


def test_a_vector_of_maps_without_processes(tmp_path: Path) -> None:
    """Some of Elle's examples are one vector of maps with no :process or :f: one client."""
    text = ("[{:type :invoke :value [[:append 1 2]]}\n {:type :ok :value [[:append 1 2]]}\n"
            " {:type :invoke :value [[:r 1 nil]]}\n {:type :ok :value [[:r 1 [2]]]}]\n")
    history = load_elle_edn(_write(tmp_path, text))
    assert [t.process for t in history.transactions] == [None, None]
    assert check_transactions(history).valid


@pytest.mark.parametrize(("text", "line", "words"), [
    ("{:type :invoke, :value [[:append :x 1]], :process 0}\n{:type :ok, :value [[:append :x", 2, "malformed EDN"),
    ("{:type :invoke, :value [[:put :x 1]], :process 0}\n", 1, "a micro-operation is"),
    ("\n{:type :ok, :value [[:r :x [1]]], :process 0}\n", 2, "invoked none"),
    ("{:type :invoke, :value [[:r :x nil]], :process 0}\n{:type :invoke, :value [], :process 0}\n", 2,
     "invokes again"),
    ("{:type :invoke, :value [[:r :x nil]], :process 0}\n{:type :ok, :value [[:r :y 1]], :process 0}\n", 2,
     "differ from those invoked at line 1"),
    ("{:type :invoke, :value [[:append :x 1] [:w :y 2]], :process 0}\n"
     "{:type :ok, :value [[:append :x 1] [:w :y 2]], :process 0}\n", 1, "rw-register micro-operation"),
    ("{:type :invoke, :value [[:r :x nil]], :process 0}\n{:type :ok, :value [[:r :x [1]]], :process 0}\n"
     "{:type :invoke, :value [[:r :x nil]], :process 0}\n{:type :ok, :value [[:r :x 1]], :process 0}\n", 4,
     "rw-register micro-operation"),
    ("{:type :invoke, :f :read, :value nil, :process 0}\n", 1, ":f must be :txn"),
    ("{:type :invoke, :value [[:r :x nil]], :process 0}\n{:type :ok, :process 0}\n", 2, "needs its :value"),
    ("{:type :begin, :value [], :process 0}\n", 1, ":type must be"),
    ("[1 2]\n", 1, "expected an operation map"),
    ("{:type :invoke, :value [[:r {:a 1} nil]], :process 0}\n", 1, "a key must be"),
])
def test_bad_input_names_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(HistoryError) as raised:
        load_elle_edn(path)
    message = str(raised.value)
    assert message.startswith(f"{path}:{line}: ") and words in message and "\n" not in message


def test_a_completion_without_value_keeps_the_invocation(tmp_path: Path) -> None:
    """An :info or :fail completion may leave :value out (or nil): the invoked micro-operations stand."""
    text = ("{:type :invoke, :value [[:w :x 1]], :process 0}\n{:type :info, :process 0, :value nil}\n"
            "{:type :invoke, :value [[:w :x 2]], :process 1}\n{:type :fail, :process 1}\n")
    history = load_elle_edn(_write(tmp_path, text))
    assert history.kind == "rw-register"
    assert [(t.outcome, t.mops[0].value) for t in history.transactions] == [("info", 1), ("fail", 2)]


def test_kind_can_be_given(tmp_path: Path) -> None:
    path = _write(tmp_path, "{:type :invoke, :value [[:r :x nil]], :process 0}\n")
    assert load_elle_edn(path, kind="rw-register").kind == "rw-register"
    with pytest.raises(UsageError, match="kind must be one of"):
        load_elle_edn(path, kind="bank")


ELLE = os.environ.get("ELLE_HISTORIES")
EXPECTED = {"paper-example.edn": "G-single", "si-without-g-single.edn": "G2-item", "huge-scc.edn": "G2-item-realtime"}


@pytest.mark.skipif(not ELLE, reason="ELLE_HISTORIES (a folder of Elle's histories/*.edn) is not set")
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_elles_published_histories(name: str) -> None:
    """The anomaly Elle's own test suite expects of each of its published histories."""
    path = Path(ELLE or ".") / name
    if not path.exists():
        pytest.skip(f"{name} is not in ELLE_HISTORIES")
    verdict = check_transactions(load_elle_edn(path), models=MODELS, time_limit=120)
    assert EXPECTED[name] in [a.kind for a in verdict.anomalies]
