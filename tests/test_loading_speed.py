"""The faster loaders read what the full readers read: same histories, same one-line errors.

Each fast path (a plain JSON object per line; a flat EDN map per line; the whole file read in one
go) stands aside for anything it does not take, so every test here loads the same input twice --
once as shipped, once with the fast path switched off, which is the loaders' earlier behaviour --
and asks for the same History (operations, ids, lines, meta) or the same ``file:line: message``.
No timings: speed is measured by ``bench/scale.py``.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redlin import HistoryError
from redlin.history import importers, jsonl
from redlin.history.edn import edn_records, flat_records, read_edn, read_value
from redlin.history.importers import paused_gc
from redlin.history.records import History
from redlin.history.source import read_text

BIG = 12345678901234567890123456789  # beyond 64 bits: orjson would refuse it, json reads it
EDGES = [2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 19817275529406208693]  # msgspec < 0.19 misread the last
META = {"event": "meta", "format": "redlin-history", "version": 1, "model": "redis", "protocol": 3}


def _outcome(load: Callable[[Path], History], path: Path) -> Any:
    """What loading ``path`` gives: the operations with everything they carry, or the error text."""
    try:
        history = load(path)
    except HistoryError as error:
        return str(error)
    return [(op.id, op.line, op.client, op.call, op.result, op.invoke, op.complete, op.outcome)
            for op in history], history.meta


def _both_ways(monkeypatch: pytest.MonkeyPatch, load: Callable[[Path], History], path: Path,
               module: Any, fast_path: str) -> tuple[Any, Any]:
    fast = _outcome(load, path)
    with monkeypatch.context() as patched:
        patched.setattr(module, fast_path, lambda *_: None)
        full = _outcome(load, path)
    return fast, full


def _jsonl(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "h.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _event(**fields: Any) -> str:
    return json.dumps(fields, ensure_ascii=False)


TRICKY_REPLIES = [
    BIG, -BIG, *EDGES, "é ü 中文 🎉", {"b64": "/wA="}, None, [1, [None, "x"]], {"nil_array": True},
    {"status": "OK"}, {"error": "ERR \u00e9"}, {"frames": [["message", "c", "m"], 1]},
    {"map": [["f", {"double": "1.5"}]]}, {"set": ["a", "b"]}, {"push": ["pubsub", "x"]},
    {"double": "inf"}, {"bool": True}, {"big_number": str(BIG)}, {"verbatim": ["txt", "text"]},
    {"attributed": [[["ttl", 3]], "v"]}, {"null": True},
]


def test_jsonl_tricky_values_load_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Big integers, base64, Unicode, RESP3 types, escapes, white space around the object."""
    lines = [_event(**META)]
    for number, reply in enumerate(TRICKY_REPLIES):
        call = [["GET", {"b64": "a/8="} if number % 2 else "ké\u2028y"]]
        lines.append(_event(event="invoke", op=number, client=f"c{number % 3}", time=2 * number, call=call))
        lines.append(_event(event="ok", op=number, time=2 * number + 1, result=[reply]))
    lines[3] = "  " + lines[3] + "  \t"  # white space around: the full reader takes it
    lines[5] = lines[5].replace('"GET"', '"\\u0047ET"')  # an escape that is not a surrogate
    lines.append('{"event":"invoke","op":"last","client":9,"time":99,"call":[["GET","k"]],"call":[["DEL","k"]]}')
    fast, full = _both_ways(monkeypatch, jsonl.load_history, _jsonl(tmp_path, *lines), jsonl, "_quick_event")
    assert not isinstance(fast, str), fast
    assert fast == full
    operations, meta = fast
    assert operations[0][4] == (BIG,) and meta["protocol"] == 3
    assert operations[-1][3] == ((b"DEL", b"k"),)  # a repeated key: the last one counts, as in json.loads


@pytest.mark.parametrize(("line", "message"), [
    ('{"event":"invoke","op":1,"client":1,"time":NaN,"call":[["GET","k"]]}', "'time' must be an integer"),
    ('{"event":"invoke","op":1,"client":1,"time":1,"call":[["GET","k"]]} x', "not JSON: Extra data at column"),
    ('{"event":"invoke","op":true,"client":1,"time":1,"call":[["GET","k"]]}', "'op' must be an integer or a string"),
    ('{"event":"invoke","op":1,"client":1,"time":1e3,"call":[["GET","k"]]}', "'time' must be an integer"),
    ('{"event":"invoke","op":1,"client":1,"time":' + "9" * 5000 + "}", "not JSON redlin can read"),
    ('{"event":"invoke","op":1,"client":1,"time":1,"call":[["GET","\\ud800"]]}', "a lone surrogate"),
    ('{"event":"invoke","op":1,"client":1,"time":1,"call":' + "[" * 70 + "]" * 70 + "}", "nested more than 64"),
    ('\ufeff{"event":"invoke","op":1,"client":1,"time":1,"call":[["GET","k"]]}', "not JSON: Unexpected UTF-8 BOM"),
    ('{"event":"invoke","op":1,"client":1,"time":1,"call":[["GET",{"b64":"!!"}]]}', "bad argument"),
    ('{"event":"ok","op":7,"time":1,"result":[1]}', "operation 7 completed but never invoked"),
    ('{"event":"invoke","op":1,"client":1,"time":1,"call":[["FROB","k"]]}', None),
    ('[1, 2]', "each line must be a JSON object"),
    ('{"event":["ok"],"op":1,"time":1}', "unknown event ['ok']"),
])
def test_jsonl_errors_are_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str,
                                   message: str | None) -> None:
    """Each bad line is refused at its line (3) with the same words, by either path."""
    good = _event(event="invoke", op=0, client=0, time=0, call=[["GET", "k"]])
    result = '{"event":"ok","op":1,"time":5,"result":[{"error":"ERR nope"}]}'  # completes a FROB with an error
    path = _jsonl(tmp_path, _event(**META), good, line, result)
    fast, full = _both_ways(monkeypatch, jsonl.load_history, path, jsonl, "_quick_event")
    assert fast == full
    if message is None:  # an unknown command answered "unknown command" is fine; answered 1 it is not
        path = _jsonl(tmp_path, _event(**META), good, line, result.replace('{"error":"ERR nope"}', "1"))
        fast, full = _both_ways(monkeypatch, jsonl.load_history, path, jsonl, "_quick_event")
        assert fast == full and fast.startswith(f"{path}:4: unknown command 'FROB'")
        return
    assert isinstance(fast, str) and fast.startswith(f"{path}:3: ") and message in fast, fast


def test_generic_models_load_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cas-register history: booleans and floats stay Literals, big integers stay exact."""
    lines = [_event(event="meta", format="redlin-history", version=1, model="cas-register")]
    values: list[Any] = [1, BIG, True, 1.0, 2.5, "s", None, [1, [True]], {"literal": "x"}, {"a": 1}, *EDGES]
    for number, value in enumerate(values):
        lines.append(_event(event="invoke", op=number, client=number % 2, time=2 * number, call=["write", value]))
        lines.append(_event(event="ok", op=number, time=2 * number + 1, result=value))
    lines.append(_event(event="invoke", op=99, client=5, time=100, call=["cas", 1, 2]))
    lines.append(_event(event="ok", op=99, time=101, result=False))
    fast, full = _both_ways(monkeypatch, jsonl.load_history, _jsonl(tmp_path, *lines), jsonl, "_quick_event")
    assert not isinstance(fast, str) and fast == full
    assert [op[3][1] for op in fast[0][:4]] == [1, BIG, jsonl.Literal("true"), jsonl.Literal("1.0")]


# --- EDN: the flat reader against the full one -----------------------------------------------------

_FLAT_SCALARS = st.sampled_from(["nil", "true", "false", ":ok", ":timed-out", ":a/b", ":é", "0", "-7", "007", "-0",
                                 "123456789012345678", '""', '"x y"', '"a;b#c,d"', '"]"'])
_ODD_SCALARS = st.sampled_from([":a:b", ":a#b", "+5", "1234567890123456789012", "1.5", "1N", "2M", '"q\\"q"',
                                '"\\u00e9"', "sym", "nilx", "\\a", "#inst \"2020\"", "#_ 1 2", ":", "1a"])
_SCALARS = st.one_of(_FLAT_SCALARS, _FLAT_SCALARS, _FLAT_SCALARS, _ODD_SCALARS)
_VECTORS = st.lists(_SCALARS, max_size=3).map(lambda items: "[" + " ".join(items) + "]")
_VALUES = st.one_of(_SCALARS, _SCALARS, _VECTORS, _VECTORS, st.sampled_from(["{:x 1}", "[[1]]", "#{1 2}"]))
_SEPARATORS = st.sampled_from([" ", ", ", ",", "\t", "  ", " ,\r"])
_LINES = st.lists(st.tuples(st.sampled_from([":process", ":type", ":f", ":value", ":key", ":odd.key-1", "1"]),
                            _SEPARATORS, _VALUES), max_size=5).map(
    lambda entries: "{" + ", ".join(f"{key}{sep}{value}" for key, sep, value in entries) + "}")


def _full(text: str) -> list[tuple[int, Any]] | str:
    """The full reader's records, each at its line, or its error."""
    newlines = [index for index, char in enumerate(text) if char == "\n"]
    try:
        return [(sum(1 for at in newlines if at < offset) + 1, record) for offset, record in edn_records(text)]
    except ValueError as error:
        return f"error: {error}"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_LINES, st.sampled_from(["", " ", ",", "  ,\r", "; a comment"])), min_size=1, max_size=6))
def test_flat_reader_reads_what_the_full_reader_reads(lines: list[str]) -> None:
    text = "\n".join(lines)
    flat = flat_records(text)
    if flat is not None:  # it took the text: then it must agree, record for record and line for line
        assert flat == _full(text)


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_a_value_is_read_as_the_full_reader_reads_it(text: str) -> None:
    """Porcupine's etcd logs: each value's text, read by read_value as by read_edn."""
    def read(reader: Callable[[str], Any]) -> Any:
        try:
            return reader(text)
        except ValueError as error:
            return f"error: {error}"

    assert read(read_value) == read(read_edn)


@pytest.mark.parametrize("text", [
    '{:process 0, :type :invoke, :f :read, :value nil}\n{:process 0, :type :ok, :f :read, :value 3}',
    '{:process 0,:type :invoke,:f :cas,:value [1 2]}\r\n\r\n{:process 0, :type :fail, :f :cas, :value [1 2]}\r\n',
    '{:f :x, :f :y}', "{}", ",,\n{:a \"; # ,\"}", "{:a [\"x\" :k nil -3]}", "{:a [ ]}", "{:a 1}\n{:a 1, :b 2}",
])
def test_flat_reader_takes_the_usual_layouts(text: str) -> None:
    flat = flat_records(text)
    assert flat is not None and flat == _full(text)


@pytest.mark.parametrize("text", ['{:a "\\n"}', "{:a 1.5}", "{:a {:b 1}}", "[{:a 1}]", "{:a 1} {:b 2}", "{:a #_ 1 2}",
                                  "{:a 1234567890123456789012}", "{:a :b:c}", "{:a 1", '{:a "x}'])
def test_flat_reader_leaves_the_rest_to_the_full_reader(text: str) -> None:
    assert flat_records(text) is None


def _kv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kv.txt"
    path.write_bytes(text.encode("utf-8"))
    return path


@pytest.mark.parametrize("text", [
    '{:process 0, :type :invoke, :f :put, :key "é", :value "x 0 0 y"}\n'
    '{:process 0, :type :ok, :f :put, :key "é", :value "x 0 0 y"}\n'
    '{:process :nemesis, :type :info, :f :start, :value nil}\n'
    '{:process 1, :type :invoke, :f :get, :key "é", :value nil}\n'
    '{:process 1, :type :ok, :f :get, :key "é", :value "x 0 0 y"}\n',
    '\ufeff{:process 0, :type :invoke, :f :get, :key "1", :value nil}\n',  # a byte order mark
    '{:process 0, :type :invoke, :f :get, :key "1", :value nil}\n{:process 0 :type :ok}\n',  # no :f, line 2
    '{:process 0, :type :invoke, :f :get, :key "1", :value nil}\n{:process 1, :type :ok, :f :get, :key "1"}\n',
    '{:process 0, :type :invoke, :f :get, :key [1 true], :value nil}\n',  # a boolean in a key: a Literal
    '{:process 0, :type :invoke, :f :get, :key "1", :value nil}\n{:process 0, :type "ok", :f :get}\n',
    '{:process 0, :type :invoke, :f :get, :key "1", :value nil}\n{:process sym, :type :ok, :f :get}\n',
    '{:process 0, :type :invoke, :f :put, :key "1", :value #{1}}\n',  # a set: refused at line 1
    '{:process 0, :type :invoke, :f :get, :key "1", :value nil}\n{:process 0, :type :ok, :f :get, :key "1", '
    ':value "a\\u00e9"}\n',  # an escape: the full reader, same result
])
def test_edn_histories_load_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    path = _kv(tmp_path, text)
    for load in (importers.load_porcupine_kv, importers.load_jepsen_edn):
        fast, full = _both_ways(monkeypatch, load, path, importers, "flat_records")
        assert fast == full
        if isinstance(fast, str):
            assert fast.startswith(f"{path}:") and fast.split(":")[1].isdigit(), fast


def test_etcd_values_are_read_once_and_errors_keep_their_line(tmp_path: Path) -> None:
    """A value text is read on its first line only; a bad one is refused at that first line."""
    path = tmp_path / "etcd.log"
    lines = ["INFO  jepsen.util - 1\t:invoke\t:write\t[1 2.5]", "INFO  jepsen.util - 1\t:ok\t:write\t[1 2.5]",
             "INFO  jepsen.util - 2\t:invoke\t:write\t#{1}"]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(HistoryError) as caught:
        importers.load_porcupine_etcd(path)
    assert caught.value.line == 3 and "unsupported value" in caught.value.message
    path.write_text("\n".join(lines[:2]) + "\n")
    history = importers.load_porcupine_etcd(path)
    assert history[0].call == ("write", (1, jsonl.Literal("2.5"))) and history[0].line == 1


@pytest.mark.parametrize("data", [b"a\nb\n", b"\xef\xbb\xbfa\nb", b"a\n\xff\n", b"x" * 40 + b"\nshort\n",
                                  b"ok\n" + b"y" * 33, b"z" * 32 + b"\n" + b"w" * 32])
def test_whole_file_reading_is_read_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """One read and one decode give what reading line by line gives, errors (not UTF-8, a line over
    the limit, here 32 bytes) included."""
    monkeypatch.setattr(importers, "MAX_LINE", 32)
    path = tmp_path / "h.log"
    path.write_bytes(data)

    def read(reader: Callable[[], str]) -> str:
        try:
            return reader()
        except HistoryError as error:
            return f"error: {error}"

    assert read(lambda: importers._read_text(path)) == read(lambda: read_text(path, max_line=32))


def test_gc_is_paused_only_while_loading() -> None:
    gc.disable()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError
    assert gc.isenabled()


def test_what_a_loader_keeps_skips_the_young_collections() -> None:
    """Kept in the oldest generation: the first collections after loading do not walk it all again."""
    with paused_gc():
        kept = [[number] for number in range(1000)]
    young = {id(item) for generation in (0, 1) for item in gc.get_objects(generation=generation)}
    assert gc.isenabled() and not any(id(item) in young for item in kept)
    gc.freeze()  # objects someone froze stay frozen
    try:
        with paused_gc():
            pass
        assert gc.get_freeze_count() > len(kept)
    finally:
        gc.unfreeze()
