"""The JSON Lines history format: round trips, streaming, crash safety and exact error locations."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from redlin import History, HistoryError, Outcome
from redlin.cli import main
from redlin.errors import EXIT_VIOLATION, UsageError
from redlin.history.jsonl import HistoryWriter, load_history, save_history
from redlin.model import NULL_ARRAY, OK, Error, Status

REPLIES = [OK, Error("ERR x"), 5, b"bulk", b"\xff\x00binary", None, (b"a", (1, None)), NULL_ARRAY, ()]


def test_round_trip_of_every_reply_kind(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    with HistoryWriter(path) as writer:
        for i, reply in enumerate(REPLIES):
            op = writer.invoke(client=i % 3, call=[(b"GET", b"k\xfe")], time=10 * i)
            writer.complete(op, Outcome.OK, time=10 * i + 5, result=[reply])
    history = load_history(path)
    assert [op.result[0] for op in history] == REPLIES
    assert history[0].call == ((b"GET", b"k\xfe"),)
    assert history[0].line == 2


def test_save_then_load_is_identity(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    with HistoryWriter(path) as writer:
        a = writer.invoke(client=1, call=[(b"MULTI",), (b"INCR", b"x"), (b"EXEC",)], time=1)
        b = writer.invoke(client=2, call=[(b"GET", b"x")], time=2)
        writer.complete(b, Outcome.OK, time=3, result=[None])
        writer.complete(a, Outcome.OK, time=4, result=[OK, Status("QUEUED"), (1,)])
        writer.invoke(client=3, call=[(b"SET", b"x", b"1")], time=5)  # never completes
    first = load_history(path)
    save_history(first, tmp_path / "b.jsonl")
    second = load_history(tmp_path / "b.jsonl")
    assert [(o.client, o.call, o.result, o.invoke, o.complete, o.outcome) for o in first] == \
           [(o.client, o.call, o.result, o.invoke, o.complete, o.outcome) for o in second]
    # saved again, over the same file (a report written again into its folder): the file holds the
    # new history alone, not two histories one after the other (two meta lines: unreadable)
    save_history(History(first.operations[:1], first.meta), tmp_path / "b.jsonl")
    assert len(load_history(tmp_path / "b.jsonl")) == 1
    with pytest.raises(UsageError, match=r"b\.jsonl: the file exists and is not empty"):
        HistoryWriter(tmp_path / "b.jsonl")  # recording appends: never to a file that holds a history


def test_lines_are_on_disk_before_close(tmp_path: Path) -> None:
    """Written as it happens: a crash after an invocation keeps it (it reads back as INFO)."""
    path = tmp_path / "live.jsonl"
    writer = HistoryWriter(path)
    writer.invoke(client=1, call=[(b"INCR", b"n")], time=1)
    history = load_history(path)  # the writer is still open
    assert len(history) == 1 and history[0].outcome is Outcome.INFO and history[0].complete is None
    writer.close()


def test_operation_numbers_follow_the_file_order_under_threads(tmp_path: Path) -> None:
    """Invocations from many threads: the ``op`` of each invoke line is its position among the
    invoke lines (numbered and written together), so the file's ids and its order agree."""
    path = tmp_path / "threads.jsonl"
    with HistoryWriter(path) as writer:

        def client(number: int) -> None:
            for step in range(300):
                op = writer.invoke(client=number, call=[(b"INCR", b"k" * (1 + step % 50))], time=step)
                writer.complete(op, Outcome.OK, time=step + 1, result=[step])

        threads = [threading.Thread(target=client, args=(number,)) for number in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    events = [json.loads(line) for line in path.read_text().splitlines()[1:]]
    numbers = [event["op"] for event in events if event["event"] == "invoke"]
    assert numbers == list(range(8 * 300))
    assert len(load_history(path)) == 8 * 300


def write_lines(tmp_path: Path, *events: object) -> Path:
    path = tmp_path / "bad.jsonl"
    meta = {"event": "meta", "format": "redlin-history", "version": 1, "model": "redis"}
    path.write_text("\n".join(json.dumps(e) if not isinstance(e, str) else e for e in (meta, *events)) + "\n")
    return path


INVOKE = {"event": "invoke", "op": 0, "client": 1, "time": 10, "call": [["GET", "k"]]}


@pytest.mark.parametrize(
    ("events", "line", "message"),
    [
        (["{not json"], 2, "not JSON"),
        ([INVOKE, {"event": "ok", "op": 0, "time": 5, "result": [None]}], 3, "before its invocation"),
        ([{"event": "ok", "op": 7, "time": 5, "result": [None]}], 2, "completed but never invoked"),
        ([INVOKE, {**INVOKE, "op": 1}], 3, "while operation 0 was still in flight"),
        ([INVOKE, {"event": "ok", "op": 0, "time": 11, "result": [{"weird": 1}]}], 3, "not a reply"),
        ([INVOKE, {"event": "ok", "op": 0, "time": 11, "result": []}], 3, "one per command"),
        ([{**INVOKE, "call": [["FROB", "k"]]}, {"event": "ok", "op": 0, "time": 11, "result": [None]}], 3,
         "unknown command 'FROB'"),
        ([{**INVOKE, "call": "GET k"}], 2, "must be a non-empty list"),
        ([{**INVOKE, "time": "soon"}], 2, "'time' must be an integer"),
        ([{"event": "explode", "op": 0, "time": 1}], 2, "unknown event 'explode'"),
        ([INVOKE, {**INVOKE, "client": 2}], 3, "invoked twice"),
    ],
)
def test_bad_files_name_file_and_line(tmp_path: Path, events: list[object], line: int, message: str) -> None:
    path = write_lines(tmp_path, *events)
    with pytest.raises(HistoryError) as caught:
        load_history(path)
    assert caught.value.line == line
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_unknown_command_is_accepted_when_the_server_said_so(tmp_path: Path) -> None:
    error = {"error": "ERR unknown command 'FROB', with args beginning with: 'k' "}
    path = write_lines(tmp_path, {**INVOKE, "call": [["FROB", "k"]]},
                       {"event": "ok", "op": 0, "time": 11, "result": [error]})
    assert load_history(path)[0].result == (Error(error["error"]),)


def test_not_a_redlin_history(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"event": "meta", "format": "something-else", "version": 1}\n')
    with pytest.raises(HistoryError, match=r"x.jsonl:1: not a redlin history"):
        load_history(path)


def test_status_and_error_texts_that_are_not_utf8_round_trip(tmp_path: Path) -> None:
    """A server may send ``+<binary>`` or ``-<binary>`` (a broken clone): the recorder reads it with
    ``surrogateescape``, and the history keeps the bytes instead of crashing the run."""
    weird = b"\x00\xff\xfe".decode("utf-8", "surrogateescape")
    path = tmp_path / "h.jsonl"
    with HistoryWriter(path) as writer:
        op = writer.invoke(client=1, call=[(b"ECHO", b"\x00\xff\xfe")], time=1)
        writer.complete(op, Outcome.OK, time=2, result=[Status(weird)])
        op = writer.invoke(client=1, call=[(b"GET", b"k")], time=3)
        writer.complete(op, Outcome.OK, time=4, result=[Error("ERR " + weird)])
    history = load_history(path)
    assert history[0].result == (Status(weird),) and history[1].result == (Error("ERR " + weird),)


def test_a_history_with_binary_status_texts_is_checked_and_reported(tmp_path: Path) -> None:
    """``redlin check`` and its report on such a history: a verdict (here a wrong reply: ECHO
    answers a bulk string), not an internal error while writing the report."""
    weird = b"\xff\xfe".decode("utf-8", "surrogateescape")
    path = tmp_path / "h.jsonl"
    with HistoryWriter(path) as writer:
        op = writer.invoke(client=1, call=[(b"ECHO", b"\xff\xfe")], time=1)
        writer.complete(op, Outcome.OK, time=2, result=[Status(weird)])
    assert main(["check", str(path), "--out", str(tmp_path / "report")]) == EXIT_VIOLATION
    assert "\\xff\\xfe" in (tmp_path / "report" / "summary.md").read_text(encoding="utf-8")
