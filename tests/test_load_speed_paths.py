"""The loaders' fast paths against their careful paths: same histories, same one-line errors.

Each fast path stands aside for anything unusual, so every test here loads the same input twice --
as shipped, and with the fast path switched off -- and asks for the same operations (ids, clients,
calls, results, times, outcomes, lines, ``ends_session``) and meta, or the same ``file:line:
message``.  The paths: redlin's JSON Lines read in blocks (:func:`read_blocks`) with a Redis
history's usual calls and replies read inline (``jsonl.FAST_PATHS``); the Porcupine and Jepsen
formats read into rows and paired in one pass (``importers._pair_rows``), EDN through
:func:`flat_fields`.  No timings: speed is measured by ``bench/scale.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from redlin import HistoryError
from redlin.history import importers, jsonl, source
from redlin.history.edn import Keyword, flat_fields, flat_records, read_value
from redlin.history.records import History, Operation, Outcome, make_operation

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "porcupine"
META = '{"event":"meta","format":"redlin-history","version":1,"model":"redis"}'


def _outcome(load: Callable[[Path], History], path: Path) -> Any:
    """Everything loading ``path`` gives (all fields of every operation, and the meta), or the error."""
    try:
        history = load(path)
    except HistoryError as error:
        return str(error)
    return [(op.id, op.client, op.call, op.result, op.invoke, op.complete, op.outcome, op.line, op.ends_session)
            for op in history], history.meta


def _both(monkeypatch: pytest.MonkeyPatch, load: Callable[[Path], History], path: Path) -> tuple[Any, Any]:
    """What ``load`` gives with the fast paths, and without (the careful paths, the earlier loaders)."""
    fast = _outcome(load, path)
    with monkeypatch.context() as patched:
        patched.setattr(jsonl, "FAST_PATHS", False)
        patched.setattr(jsonl, "read_blocks", _blocks_line_by_line)
        patched.setattr(importers, "_pair_rows", lambda *_: None)
        careful = _outcome(load, path)
    return fast, careful


def _blocks_line_by_line(path: Path, *, max_line: int) -> Any:
    """read_blocks as read_lines gives the lines: one a block, each with its own newline."""
    for number, line in source.read_lines(path, max_line=max_line):
        yield (number, [line[:-1]], "\n") if line.endswith("\n") else (number, [line], "")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    return path


# --- redlin's JSON Lines ---------------------------------------------------------------------------


def _invoke(op: int, client: Any, call: Any, time: int | None = None) -> str:
    return json.dumps({"event": "invoke", "op": op, "client": client, "time": 2 * op if time is None else time,
                       "call": call}, ensure_ascii=False)


def _ok(op: int, result: Any) -> str:
    return json.dumps({"event": "ok", "op": op, "time": 2 * op + 1, "result": result}, ensure_ascii=False)


TRICKY_ARGS: list[Any] = ["k", "é", "中文 🎉", "", "a\nb", 'q"q', "\\", {"b64": "/wA="}, "\u2028", "x" * 300]
TRICKY_REPLIES: list[Any] = ["v", "é", "", 0, -5, 2**70, None, True, 1.5, {"status": "OK"}, {"error": "ERR x"},
                             {"b64": "/w=="}, [1, "a"], {"nil_array": True}, "\u00ff", {"double": "1.5"}]


def test_jsonl_tricky_calls_and_replies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Escapes, non-ASCII, base64, big integers, RESP types: inline or not, the same operations."""
    lines = [META]
    op = 0
    for arg in TRICKY_ARGS:
        for reply in TRICKY_REPLIES:
            if isinstance(reply, bool | float):
                continue  # refused: tested below
            lines += [_invoke(op, op % 4, [["GET", arg]]), _ok(op, [reply])]
            op += 1
    lines += [_invoke(op, "c", [["SET", "k", "v"], ["GET", "k"]]), _ok(op, [{"status": "OK"}, "v"])]  # two commands
    lines += [_invoke(op + 1, 9, [["get", "K"]]), _ok(op + 1, ["v"])]  # a name as written, in lower case
    lines += [_invoke(op + 2, 8, [["GET", "k"]])]  # never completed
    lines += [_invoke(op + 4, 6, [["RPUSH", "l", "a", "é", "c"]]), _ok(op + 4, [3])]
    lines += [f'{{"op":{op + 3},"event":"invoke","time":{2 * op + 6},"client":7,"call":[[ "GET" , "k" ]]}}',
              f'{{"event":"ok","op":{op + 3},"time":{2 * op + 7},"result":["\\u0076"]}}']
    path = _write(tmp_path, "h.jsonl", "\n".join(lines))  # and no newline at the end
    fast, careful = _both(monkeypatch, jsonl.load_history, path)
    assert not isinstance(fast, str), fast
    assert fast == careful and repr(fast) == repr(careful)
    operations = fast[0]
    assert ((b"GET", b"\xff\x00"),) in {operation[2] for operation in operations}
    assert operations[0][2:4] == (((b"GET", b"k"),), (b"v",))


BAD_LINES = [
    _invoke(1, 1, [["GET", "k"]]).replace('"k"', '"\\ud800"'),  # a lone surrogate
    _invoke(1, 1, [["GET", {"b64": "!!"}]]),
    _invoke(1, 1, [[]]),
    _invoke(1, 1, [["GET", 1]]),
    _invoke(1, 1, ["GET"]),
    _invoke(1, 1, []),
    _invoke(1, 1, [["FROB", "k"]]),
    _invoke(1, True, [["GET", "k"]]),
    _invoke(0, 5, [["GET", "k"]]),  # op 0 again
    _invoke(1, 0, [["GET", "k"]]),  # client 0 is busy
    '{"event":"invoke","op":1,"client":1,"call":[["GET","k"]]}',  # no time
    '{"event":"invoke","op":1,"time":1,"call":[["GET","k"]]}',  # no client
    '{"event":"ok","op":0,"time":3}',  # no result
    '{"event":"ok","op":0,"time":3,"result":[true]}',
    '{"event":"ok","op":0,"time":3,"result":[1.5]}',
    '{"event":"ok","op":0,"time":3,"result":["v","w"]}',
    '{"event":"ok","op":0,"time":3,"result":"v"}',
    '{"event":"ok","op":0,"time":3,"result":["\\udfff"]}',
    '{"event":"ok","op":0,"time":-1,"result":["v"]}',  # before its invocation
    '{"event":"ok","op":5,"time":3,"result":["v"]}',
    '{"event":"ok","op":0,"time":3,"result":["v"]} x',
    ' {"event":"ok","op":0,"time":3,"result":["v"]}\t',
    '{"event":"ok","op":0,"time":3,"result":["v"]',
    '{"event":"ok","op":0,"time":3,"result":["v"]}\r',
    '{"event":"OK","op":0,"time":3,"result":["v"]}',
    META,
]


@pytest.mark.parametrize("line", BAD_LINES)
@pytest.mark.parametrize("end", ["\n", ""])
def test_jsonl_bad_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str, end: str) -> None:
    """Each odd line, with or without a newline after it, read or refused alike (at line 3, or later)."""
    known = [_invoke(9, 9, [["GET", "k"]]), _ok(9, ["v"])]  # GET is a name seen before: read inline
    path = _write(tmp_path, "h.jsonl", "\n".join([META, *known, _invoke(0, 0, [["GET", "k"]]), line]) + end)
    fast, careful = _both(monkeypatch, jsonl.load_history, path)
    assert fast == careful
    if isinstance(fast, str):
        assert fast.startswith(f"{path}:"), fast


def test_jsonl_generic_model_is_not_read_inline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ['{"event":"meta","format":"redlin-history","version":1,"model":"cas-register"}',
             _invoke(0, 0, ["write", "k"]), _ok(0, None), _invoke(1, 0, [["GET", "k"]]), _ok(1, ["k"])]
    fast, careful = _both(monkeypatch, jsonl.load_history, _write(tmp_path, "h.jsonl", "\n".join(lines)))
    assert fast == careful and fast[0][1][2] == (("GET", "k"),)


@pytest.mark.parametrize("data", [
    b"", b"\n\n", b"a\nb\n", b"a\nb", b"\xef\xbb\xbfa\n\xef\xbb\xbfb\n", b"a\r\nb\r\n", b"x" * 40 + b"\nshort\n",
    b"ok\n" + b"y" * 33, b"ok\n" + b"y" * 32, b"z" * 32 + b"\n" + b"w" * 32, b"a\n\xff\nb\n", b"\xc3\n\xa9\n",
    b"line\n" * 30 + b"\xe9t\xe9\n" + b"more\n" * 5, b"12345678\n" * 20 + b"q" * 40,
])
@pytest.mark.parametrize("block", [1, 7, 64, 1 << 20])
def test_blocks_are_read_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes, block: int) -> None:
    """Lines read in blocks are read_lines's lines, numbered alike; its errors at the same line."""
    monkeypatch.setattr(source, "BLOCK", block)
    path = tmp_path / "h.log"
    path.write_bytes(data)

    def read(reader: Callable[[], list[tuple[int, str]]]) -> Any:
        try:
            return reader()
        except HistoryError as error:
            return f"error: {error}"

    by_line = read(lambda: list(source.read_lines(path, max_line=32)))
    in_blocks = read(lambda: [(first + at, line + newline) for first, lines, newline
                              in source.read_blocks(path, max_line=32) for at, line in enumerate(lines)])
    assert in_blocks == by_line


# --- Porcupine's and Jepsen's formats --------------------------------------------------------------

KV = [
    '{:process 0, :type :invoke, :f :put, :key "é", :value "x 0 0 y"}',
    '{:process 0, :type :ok, :f :put, :key "é", :value "x 0 0 y"}',
    '{:process :nemesis, :type :info, :f :start, :value nil}',
    '{:process 1, :type :invoke, :f :get, :key "é", :value nil}',
    '{:process 1, :type :ok, :f :get, :key "é", :value "x 0 0 y"}',
    '{:process 2, :type :invoke, :f :append, :key "k", :value "a"}',
    '{:process 2, :type :info, :f :append, :key "k", :value "a"}',
    '{:process 3,:type :invoke,:f :get,:key "k",:value nil}',
    '{:process 3, :type :fail, :f :get, :key "k", :value nil}',
    '{:process 4, :type :invoke, :f :get, :key "k"}',
]
KV_ODD = [
    '{:process 5, :type :ok, :f :get, :key "k", :value "v"}',  # never invoked
    '{:process 1, :type :invoke, :f :get, :key "k", :value nil}',  # 1 has an operation in flight
    '{:process 5, :type :invoke, :f :get, :value nil}',  # no key
    '{:process 5, :type :invoke, :f :put, :key "k", :value 3}',
    '{:process 5, :type :invoke, :f :cas, :key "k", :value "v"}',
    '{:process 5, :type :invoke, :f "get", :key "k", :value nil}',
    '{:process 5, :f :get, :key "k", :value nil}',
    '{:process true, :type :invoke, :f :get, :key "k", :value nil}',
    '{:process :p, :type :invoke, :f :get, :key "k", :value nil}',
    '{:process "p", :type :invoke, :f :get, :key [1 true], :value nil}',
    '{:process 5, :type :invoke, :f :get, :key :k, :value nil}',
    '{:process 5, :type :invoke, :f :put, :key "k", :value "a\\"b"}',
    '{:process 5, :type :invoke, :f :put, :key "k", :value 1.5}',
    '{:process 5, :type :invoke, :f :put, :key "k", :value "x", :value "y"}',
    '{:process 4, :type :ok, :f :put, :key "k", :value "v"}',  # completes a get as a put
    '{:process 4, :type :ok, :f :get, :key "other", :value "v"}',
    '{:process 4, :type :ok, :f :get, :key "k", :value 3}',
    '{:process 4, :type :done, :f :get, :key "k", :value "v"}',
    '\ufeff{:process 5, :type :invoke, :f :get, :key "k", :value nil}',
    '  , {:process 5 :type :invoke :f :get :key "k" :value nil} ,',
    '',
    '; a comment',
]


@pytest.mark.parametrize("odd", KV_ODD)
@pytest.mark.parametrize("where", [0, 4, len(KV)])
def test_porcupine_kv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, odd: str, where: int) -> None:
    path = _write(tmp_path, "kv.txt", "\n".join(KV[:where] + [odd] + KV[where:]) + "\n")
    fast, careful = _both(monkeypatch, importers.load_porcupine_kv, path)
    assert fast == careful and repr(fast) == repr(careful)


REGISTER = [
    "{:process 0, :type :invoke, :f :write, :value 1}",
    "{:process 0, :type :ok, :f :write, :value 1}",
    "{:process 1, :type :invoke, :f :cas, :value [1 2], :time 5, :index 2}",
    "{:process 1, :type :fail, :f :cas, :value [1 2], :time 6, :index 3}",
    "{:process 2, :type :invoke, :f :read, :value nil}",
    "{:process 2, :type :ok, :f :read, :value 1}",
    "{:process 3, :type :invoke, :f :cas, :value [1 007]}",
    "{:process 3, :type :ok, :f :cas, :value [1 007]}",
    "{:process 4, :type :invoke, :f :read, :value nil}",
    "{:process 4, :type :info, :f :read, :value :timed-out}",
    "{:process 5, :type :invoke, :f :write, :value true}",
    "{:process 6, :type :invoke, :f :cas, :value [2 3]}",
]
REGISTER_ODD = [
    "{:process 7, :type :invoke, :f :cas, :value [1 2 3]}",
    "{:process 7, :type :invoke, :f :cas, :value 4}",
    "{:process 7, :type :invoke, :f :write, :value [1 [2]]}",
    "{:process 7, :type :invoke, :f :write, :value #{1}}",
    "{:process 7, :type :invoke, :f :write, :value -3}",
    "{:process 7, :type :invoke, :f :write, :value 1234567890123456789}",
    "{:process 7, :type :invoke, :f :write, :value :x}",
    "{:process 7, :type :invoke, :f :write, :value \"s\", :time 1.5}",
    "{:process 7, :type :invoke, :f :write, :value 1, :time 123456789012345678901234}",
    "{:process 7, :type :invoke, :f :write, :value 1, :time x.y}",
    "{:process 7, :type :invoke, :f :write, :value 1, :time 1.5.5}",  # malformed: refused, though not needed
    "{:process 7, :type :invoke, :f :write, :value 1, :index 1a}",
    "{:process 7, :type :invoke, :f :put, :value 1}",
    "[{:process 7, :type :invoke, :f :write, :value 1}]",
]


@pytest.mark.parametrize("odd", REGISTER_ODD)
@pytest.mark.parametrize("where", [0, 6, len(REGISTER)])
def test_jepsen_edn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, odd: str, where: int) -> None:
    path = _write(tmp_path, "h.edn", "\n".join(REGISTER[:where] + [odd] + REGISTER[where:]))
    fast, careful = _both(monkeypatch, importers.load_jepsen_edn, path)
    assert fast == careful and repr(fast) == repr(careful)


ETCD = [
    "INFO  jepsen.util - 0\t:invoke\t:write\t3",
    "INFO  jepsen.util - 0\t:ok\t:write\t3",
    "INFO  jepsen.util - 1\t:invoke\t:cas\t[3 4]",
    "INFO  jepsen.util - 1\t:fail\t:cas\t[3 4]",
    "INFO  jepsen.util - 2\t:invoke\t:read\tnil",
    "INFO  jepsen.util - 2\t:fail\t:read\t:timed-out",
    "INFO  jepsen.util - 3\t:invoke\t:cas\t[3  4]",
    "INFO  jepsen.util - 3\t:ok\t:cas\t[3  4]  ",
    "INFO jepsen.util -  4  :invoke  :read  nil",
    "INFO  jepsen.util - 4\t:ok\t:read\t3",
    "INFO  jepsen.util - 5\t:invoke\t:write\t1.5",
    "INFO  jepsen.util - 6\t:invoke\t:write\t\"a b\"",
]
ETCD_ODD = [
    " INFO  jepsen.util - 7\t:invoke\t:write\t3",
    "INFO  jepsen.util - 7\t:invoke\t:write",
    "INFO  jepsen.util - x\t:invoke\t:write\t3",
    "INFO  jepsen.util - +7\t:invoke\t:write\t3",
    "INFO  jepsen.util - 7\t:invoke\t:write\t٣",
    "INFO  jepsen.util - 7\t:invoke\t::write\t3",
    "INFO  jepsen.util - 7\t:\t:write\t3",
    "INFO  jepsen.util - 7\tinvoke\t:write\t3",
    "INFO\u2003jepsen.util - 7\t:invoke\t:write\t3\u2003",
    "WARN  jepsen.util - 7\t:invoke\t:write\t3",
    "INFOX jepsen.util - 7\t:invoke\t:write\t3",
    "INFO  jepsen.util - 7\t:invoke\t:write\t#{1}",
    "INFO  jepsen.util - 7\t:invoke\t:cas\t[1]",
    "INFO  jepsen.util - 7\t:invoke\t:write\t123456789012345678901",
    "INFO  jepsen.util - 0\t:invoke\t:read\tnil",
    "INFO  jepsen.util - 7\t:ok\t:read\t1",
    "   ",
]


@pytest.mark.parametrize("odd", ETCD_ODD)
@pytest.mark.parametrize("where", [0, 5, len(ETCD)])
def test_porcupine_etcd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, odd: str, where: int) -> None:
    path = _write(tmp_path, "etcd.log", "\n".join(ETCD[:where] + [odd] + ETCD[where:]) + "\n")
    fast, careful = _both(monkeypatch, importers.load_porcupine_etcd, path)
    assert fast == careful and repr(fast) == repr(careful)


def test_the_usual_files_take_the_fast_path(tmp_path: Path) -> None:
    """The fast paths stand aside for the odd, but not for the usual layouts."""
    text = "\n".join(KV) + "\n"
    rows = importers._flat_rows(text, with_key=True)
    assert rows is not None and importers._pair_rows(tmp_path, rows, "kv") is not None
    rows = importers._flat_rows("\n".join(REGISTER), with_key=False)
    assert rows is not None and importers._pair_rows(tmp_path, rows, "register") is not None
    rows = importers._etcd_rows("\n".join(ETCD) + "\n")
    assert rows is not None and importers._pair_rows(tmp_path, rows, "etcd") is not None
    assert [row[:4] for row in rows[:2]] == [(1, 0, "invoke", "write"), (2, 0, "ok", "write")]


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"reference histories not found at {SHARED}")
def test_porcupine_reference_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Porcupine's own logs (shared/ beside the repository) load alike, by the fast path."""
    taken = []
    rows = importers._pair_rows
    monkeypatch.setattr(importers, "_pair_rows", lambda *args: taken.append(1) or rows(*args))
    logs = sorted((SHARED / "jepsen").glob("etcd_*.log"))[::10] + sorted((SHARED / "kv").glob("*.txt"))[:2]
    for log in logs:
        load = importers.load_porcupine_etcd if log.suffix == ".log" else importers.load_porcupine_kv
        fast, careful = _both(monkeypatch, load, log)
        assert fast == careful, log
    assert len(taken) == len(logs)


def test_flat_fields_are_flat_records() -> None:
    """flat_fields gives the texts of the values flat_records reads, the last of a repeated key."""
    text = "\n".join(REGISTER + KV + ["", "{:f :a, :f :b, :value [1 nil]}", "{}"])
    keys = (Keyword("process"), Keyword("f"), Keyword("value"))
    records, fields = flat_records(text), flat_fields(text, keys)
    assert records is not None and fields is not None
    assert [number for number, _ in fields] == [number for number, _ in records]
    for (_, record), (_, texts) in zip(records, fields):
        assert tuple(record.get(key, "missing") for key in keys) == tuple(
            read_value(value) if value else "missing" for value in texts)
    assert flat_fields("{:a 1}\n{:a 1.5}", keys) is None


@pytest.mark.parametrize("text", ["0", "17", "007", "123456789012345678", "1234567890123456789", "[1 2]",
                                  "[1  2]", "[0 123456789012345678]", "[1 2 3]", "[-1 2]", "-5", "nil", ":x",
                                  "[1 nil]", "[1 2.5]", "\"s\"", "٣", "[٣ 1]", "[1 +2]", "²", "[² 1]"])
def test_values_read_alike(text: str) -> None:
    def careful() -> Any:
        value = read_value(text)
        return None if isinstance(value, Keyword) else importers._value(1, value)

    def read(reader: Callable[[], Any]) -> str:
        try:
            return repr(reader())
        except (ValueError, importers._Bad) as error:
            return f"error: {error}"

    assert read(lambda: importers._read_value(1, text)) == read(careful)


def test_make_operation_is_the_constructor() -> None:
    made = make_operation(3, "c", ("read",), (b"v",), 10, None, Outcome.INFO, 7)
    built = Operation(3, "c", ("read",), (b"v",), 10, None, Outcome.INFO, 7)
    assert made == built and repr(made) == repr(built) and made.ends_session is True
    assert [getattr(made, name) for name in Operation.__slots__] == [getattr(built, name) for name in Operation.__slots__]


def test_equal_redis_calls_and_statuses_are_kept_once(tmp_path: Path) -> None:
    """A Redis history's equal calls are one object, as are its equal statuses (memory: a
    million-operation run's history went from 1,121 to 833 MB), on the inline path (one command)
    and the full one (a MULTI block) alike."""
    block = '[["MULTI"],["INCR","k"],["EXEC"]]'
    lines = [META]
    for op in range(4):
        call = block if op % 2 else '[["INCR","k"]]'
        result = '[{"status":"OK"},{"status":"QUEUED"},[3]]' if op % 2 else "[3]"
        lines += [f'{{"event":"invoke","op":{op},"client":{op},"time":{2 * op},"call":{call}}}',
                  f'{{"event":"ok","op":{op},"time":{2 * op + 1},"result":{result}}}']
    history = jsonl.load_history(_write(tmp_path, "h.jsonl", "\n".join(lines) + "\n"))
    assert history[0].call is history[2].call and history[1].call is history[3].call
    assert history[1].result[0] is history[3].result[0] and history[1].result[1] is history[3].result[1]
