"""Reports: explanations of every kind of violation, the files of a report directory, large runs,
``redlin report``, and the page itself in a real headless Chromium.

The explanation tests use small hand-made Redis histories (times in nanoseconds, so the sentences
read in milliseconds) checked and minimised for real.  The browser tests need Debian's
``chromium`` and ``chromium-driver`` and the ``selenium`` package (``.ci/run`` installs them):
locally they are skipped without them, under CI (``CI`` set) they fail.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any, NoReturn

import pytest
from redis_histories import NULL_ARRAY, OK, HistoryBuilder

from redlin import (
    History,
    Operation,
    Outcome,
    Unknown,
    Violation,
    cas_register,
    check,
    kv,
    minimise,
    register,
)
from redlin.adapter.redis_model import redis_model
from redlin.cli import main
from redlin.explain.anomalies import (
    Anomaly,
    Code,
    Count,
    Key,
    Listing,
    Note,
    Op,
    Time,
    Value,
    anomaly_from_json,
    anomaly_json,
)
from redlin.explain.names import Clock, Names
from redlin.explain.recognise import Explanation, as_version_difference, classify
from redlin.explain.redis import VOCABULARY
from redlin.explain.render import CLAIMS, HTML, MARKDOWN, TEXT, render, render_anomaly
from redlin.history.jsonl import load_history, save_history
from redlin.report.html import WINDOW, page_data, render_html, select_window
from redlin.report.text import render_text
from redlin.report.write import SCHEMA, explain, result_document, write_report

jsonschema: Any = importlib.import_module("jsonschema")  # a test dependency without type stubs

ROOT = Path(__file__).resolve().parents[1]
MODEL = redis_model()
MS = 1_000_000


def checked(history: History, model: Any = MODEL) -> tuple[Any, tuple[int, ...]]:
    result = check(history, model, time_limit=30)
    core = minimise(history, model, result, time_limit=10) if isinstance(result, Violation) else ()
    return result, core


def explained(h: HistoryBuilder | History, model: Any = MODEL) -> tuple[str | None, str]:
    history = h.history() if isinstance(h, HistoryBuilder) else h
    result, core = checked(history, model)
    explanation = classify(history, model, result, core)
    assert list(explanation.lines) == explain(history, model, result, core)
    return explanation.kind, explanation.lines[0]


# ----------------------------------------------------------------------------- explanations (Redis)


def test_stale_read_names_the_overwrite_and_its_times() -> None:
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("SET", "k", "1"), OK)
    h.op(1, 2 * MS, 3 * MS, ("SET", "k", "2"), OK)
    h.op(2, 4 * MS, 5 * MS, ("GET", "k"), b"1")
    kind, text = explained(h)
    assert kind == "stale-read"
    assert text.startswith('Stale read: client 2 read "1" from k (4–5 ms), but client 1\'s SET k 2 had overwritten it')
    assert text.endswith('that write began at 2 ms, after the only write of "1" (client 1\'s SET k 1) had returned '
                         "at 1 ms, and completed at 3 ms, before the read began.")


def test_stale_read_of_the_initial_nil() -> None:
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("SET", "k", "1"), OK)
    h.op(2, 2 * MS, 3 * MS, ("GET", "k"), None)
    kind, text = explained(h)
    assert kind == "stale-read"
    assert text == ("Stale read: client 2 read nil from k (2–3 ms), but client 1's SET k 1 had overwritten it: that "
                    "write completed at 1 ms, before the read began, and nothing deleted k afterwards.")


def test_stale_read_after_a_newer_read() -> None:
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("SET", "k", "1"), OK)
    h.op(1, 2 * MS, 10 * MS, ("SET", "k", "2"), OK)
    h.op(3, 3 * MS, 4 * MS, ("GET", "k"), b"2")
    h.op(2, 5 * MS, 6 * MS, ("GET", "k"), b"1")
    kind, text = explained(h)
    assert kind == "stale-read"
    assert 'client 2 read "1" from k (5–6 ms), after client 3 had already read the newer "2" (3–4 ms)' in text


def test_pfcount_counts_as_a_change_of_its_key() -> None:
    """PFCOUNT is flagged readonly, yet it caches the cardinality in the value's header: no claim may
    treat it as leaving the bytes alone (a GET after it reads other bytes than the PFADD left)."""
    h = HistoryBuilder()
    pfcount = h.op(1, 0, 1 * MS, ("PFCOUNT", "h"), 0)
    get = h.op(2, 2 * MS, 3 * MS, ("GET", "h"), None)
    (access,) = VOCABULARY.accesses(h.ops[pfcount]) or ()
    assert (access.key, access.kind) == (b"h", "transform")
    assert [a.kind for a in VOCABULARY.accesses(h.ops[get]) or ()] == ["read"]


def test_stale_read_is_not_claimed_when_a_concurrent_increment_could_explain_it() -> None:
    """An indeterminate INCR concurrent with the read: its effect is unknown, so the claim falls back."""
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("SET", "k", "1"), OK)
    h.op(1, 2 * MS, 3 * MS, ("SET", "k", "2"), OK)
    h.op(4, int(2.2 * MS), int(3.5 * MS), ("GET", "k"), b"2")
    h.op(3, int(4.5 * MS), None, ("INCR", "k"), outcome=Outcome.INFO)
    h.op(2, 4 * MS, 5 * MS, ("GET", "k"), b"1")
    kind, text = explained(h)
    assert kind == "no-valid-order"
    assert text.startswith("No order of these operations explains all their replies: client 1: SET k 1 -> OK (0–1 ms)")


def test_lost_increment() -> None:
    h = HistoryBuilder()
    h.op(1, 0, 10 * MS, ("INCR", "n"), 1)
    h.op(2, 0, 10 * MS, ("INCR", "n"), 1)
    kind, text = explained(h)
    assert kind == "lost-update"
    assert "client 1's INCR n (0–10 ms) and client 2's INCR n (0–10 ms) both returned 1" in text
    assert "one of the two updates was lost" in text


def test_lost_update_through_watch() -> None:
    kind, text = explained(lost_watched_update())
    assert kind == "lost-update"
    assert 'client 1 and client 2 both WATCHed bal and read "0" from it' in text
    assert "Whichever EXEC ran second should have returned nil" in text


def test_torn_transaction_seen_by_one_read() -> None:
    h = HistoryBuilder()
    h.transaction(1, 0, 10 * MS, [("SET", "a", "1"), ("SET", "b", "1")], (OK, OK))
    h.op(2, 2 * MS, 8 * MS, ("MGET", "a", "b"), (b"1", None))
    kind, text = explained(h)
    assert kind == "torn-transaction"
    assert 'client 2\'s MGET a b (2–8 ms) saw a = "1" with b = nil: only part of the transaction' in text


def test_torn_transaction_seen_by_two_reads() -> None:
    h = HistoryBuilder()
    h.transaction(1, 0, 10 * MS, [("SET", "a", "1"), ("SET", "b", "1")], (OK, OK))
    h.op(2, 2 * MS, 8 * MS, ("GET", "a"), b"1")
    h.op(2, 9 * MS, 12 * MS, ("GET", "b"), None)
    kind, text = explained(h)
    assert kind == "torn-transaction"
    assert 'client 2 read a = "1" (2–8 ms) and then client 2 read b = nil (9–12 ms)' in text


def test_read_between_two_commands_of_a_transaction() -> None:
    h = HistoryBuilder()
    h.transaction(1, 0, 10 * MS, [("INCR", "c"), ("INCR", "c")], (1, 2))
    h.op(2, 2 * MS, 8 * MS, ("GET", "c"), b"1")
    kind, text = explained(h)
    assert kind == "torn-transaction"
    assert ('client 2 read "1" from c (2–8 ms), a value c held only inside client 1\'s MULTI; INCR c; INCR c; EXEC '
            "(0–10 ms): between its INCR c (-> 1) and its INCR c (-> 2)") in text


def test_long_arguments_are_cut_short_in_sentences() -> None:
    script = "-- a long script\n" + "return redis.call('SET', KEYS[1], ARGV[1])\n" * 20
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("EVAL", script, "1", "k", "v"), 1)  # the model says: a compile error, not 1
    kind, text = explained(h)
    assert kind == "wrong-reply"  # one client, nothing else on its key: a conformance finding
    assert "sent EVAL '-- a long script…' 1 k v (0–1 ms) and got (integer) 1" in text and len(text) < 450


def test_transaction_interleaved_with_another_command() -> None:
    h = HistoryBuilder()
    h.transaction(1, 0, 10 * MS, [("INCR", "x"), ("INCR", "x")], (1, 3))
    h.transaction(2, 0, 10 * MS, [("INCR", "x"), ("INCR", "x")], (2, 4))
    kind, text = explained(h)
    assert kind == "torn-transaction"
    assert "got 1 from INCR x and then 3 from INCR x: another command changed x in between" in text


def test_unjustified_nil_exec_with_only_reads_in_between() -> None:
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("WATCH", "k"), OK)
    h.op(2, 0, 5 * MS, ("GET", "k"), None)
    h.transaction(1, 2 * MS, 6 * MS, [("SET", "k", "mine")], NULL_ARRAY)
    kind, text = explained(h)
    assert kind == "unjustified-nil-exec"
    assert "client 1 WATCHed k at 0 ms and its EXEC returned nil (MULTI; SET k mine; EXEC, 2–6 ms)" in text
    assert "the other operations in between only read: client 2's GET k (0–5 ms)" in text


def test_unjustified_nil_exec_with_the_write_before_the_watch() -> None:
    h = HistoryBuilder()
    h.op(2, 0, 1 * MS, ("SET", "k", "x"), OK)
    h.op(1, 2 * MS, 3 * MS, ("WATCH", "k"), OK)
    h.transaction(1, 4 * MS, 6 * MS, [("SET", "k", "mine")], NULL_ARRAY)
    kind, text = explained(h)
    assert kind == "unjustified-nil-exec"
    assert "client 2's SET k x completed at 1 ms, before the WATCH was sent" in text


def test_impossible_reply_value_never_written() -> None:
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("SET", "k", "1"), OK)
    h.op(3, 12_400_000, 12_600_000, ("GET", "k"), b"5")
    kind, text = explained(h)
    assert kind == "impossible-reply"
    assert text == 'Impossible reply: client 3 read "5" from k (12.4–12.6 ms), but no operation ever wrote "5" to k.'


def test_impossible_reply_read_from_the_future() -> None:
    """The issue's example sentence."""
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("SET", "k", "1"), OK)
    h.op(3, 12_400_000, 12_600_000, ("GET", "k"), b"5")
    h.op(1, 13_000_000, 13_500_000, ("SET", "k", "5"), OK)
    kind, text = explained(h)
    assert kind == "impossible-reply"
    assert ('client 3 read "5" from k at 12.4 ms, but the only write of "5" (client 1\'s SET k 5) was invoked '
            "at 13 ms, after that read had returned at 12.6 ms") in text


def test_every_violation_ends_with_where_the_search_got_stuck() -> None:
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("SET", "k", "1"), OK)
    h.op(1, 2 * MS, 3 * MS, ("SET", "k", "2"), OK)
    h.op(2, 4 * MS, 5 * MS, ("GET", "k"), b"1")
    history = h.history()
    result, core = checked(history)
    lines = explain(history, MODEL, result, core)
    assert lines[1].startswith("Minimal counterexample: 3 operations")
    assert lines[-1].endswith('cannot be placed next: there GET k would reply "2", not "1".')


def test_unminimised_violation_is_still_explained() -> None:
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("SET", "k", "1"), OK)
    h.op(1, 2 * MS, 3 * MS, ("SET", "k", "2"), OK)
    h.op(2, 4 * MS, 5 * MS, ("GET", "k"), b"1")
    history = h.history()
    result = check(history, MODEL)
    assert classify(history, MODEL, result, ()).kind == "stale-read"


# ----------------------------------------------------------------------------- explanations (generic models)


def test_register_stale_read_in_event_positions() -> None:
    ops = (Operation(0, "a", ("write", 1), None, 0, 1), Operation(1, "a", ("write", 2), None, 2, 3),
           Operation(2, "b", ("read",), 1, 4, 5))
    kind, text = explained(History(ops, {"source": "etcd.log"}), cas_register())
    assert kind == "stale-read"
    assert text.startswith("Stale read: client b read 1 from the register (t=4–5)")


def test_compare_and_set_lost_update() -> None:
    ops = (Operation(0, "a", ("write", 0), None, 0, 1), Operation(1, "b", ("cas", 0, 1), True, 2, 5),
           Operation(2, "c", ("cas", 0, 2), True, 2, 5))
    kind, text = explained(History(ops, {"time_unit": "tick"}), cas_register())
    assert kind == "lost-update"
    assert "both succeeded, but after either one the register no longer held 0" in text


def test_kv_value_never_written_is_found_by_the_pre_check() -> None:
    ops = (Operation(0, "a", ("put", "x", "1"), None, 0, 1), Operation(1, "b", ("get", "x"), "zz", 4, 5))
    history = History(ops, {"time_unit": "tick"})
    result, core = checked(history, kv())
    lines = explain(history, kv(), result, core)
    assert lines[0] == "Impossible reply: client b read 'zz' from 'x' (t=4–5), but no operation ever wrote 'zz' to 'x'."
    assert "pre-check" in lines[-1]


def test_linearizable_and_unknown_explanations() -> None:
    ops = (Operation(0, "a", ("write", 1), None, 0, 5), Operation(1, "b", ("read",), 1, 6, 9))
    history = History(ops)
    first = explain(history, register(), check(history, register()))[0]
    assert first.startswith("Linearizable: the history has an order of its operations") and "(2 replies in all)" in first
    unknown = Unknown(reason="time limit reached", parts_checked=1, parts_total=3, states_explored=5, elapsed=1.0)
    assert explain(history, register(), unknown) == [
        "Unknown: time limit reached before a verdict was proved; 1 of 3 parts were proved linearizable "
        "and no violation was found so far."]


# ----------------------------------------------------------------------------- explanations as data


def stale_read_core() -> History:
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("SET", "k", "1"), OK)
    h.op(1, 2 * MS, 3 * MS, ("SET", "k", "2"), OK)
    h.op(2, 4 * MS, 5 * MS, ("GET", "k"), b"1")
    return h.history()


def test_a_stale_read_is_a_record_of_kind_claim_operations_and_facts() -> None:
    history = stale_read_core()
    result, core = checked(history)
    explanation = classify(history, MODEL, result, core)
    (anomaly,) = explanation.anomalies
    assert (anomaly.kind, anomaly.claim, anomaly.title) == ("stale-read", "overwritten-read/one-write", "stale read")
    assert anomaly.operations == (2, 1, 0)  # the reader, the overwrite, the source of the value read
    assert anomaly.facts["reader"] == Op(2, 2, "GET k", 'GET k -> "1"', 4 * MS, 5 * MS)
    assert anomaly.facts["writer"] == Op(1, 1, "SET k 2", "SET k 2 -> OK", 2 * MS, 3 * MS)
    assert (anomaly.facts["value"], anomaly.facts["key"], anomaly.facts["returned"]) == (Value('"1"'), Key("k"),
                                                                                         Time(1 * MS))
    with pytest.raises(FrozenInstanceError):
        anomaly.kind = "lost-update"  # type: ignore[misc]


def torn_by_two_reads() -> History:
    h = HistoryBuilder()
    h.transaction(1, 0, 10 * MS, [("SET", "a", "1"), ("SET", "b", "1")], (OK, OK))
    h.op(2, 2 * MS, 8 * MS, ("GET", "a"), b"1")
    h.op(2, 9 * MS, 12 * MS, ("GET", "b"), None)
    return h.history()


def nil_exec_with_reads() -> History:
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("WATCH", "k"), OK)
    h.op(2, 0, 5 * MS, ("GET", "k"), None)
    h.transaction(1, 2 * MS, 6 * MS, [("SET", "k", "mine")], NULL_ARRAY)
    return h.history()


def lost_watched_update() -> History:
    h = HistoryBuilder()
    h.op(0, 0, 1 * MS, ("SET", "bal", "0"), OK)
    for client in (1, 2):
        h.op(client, 2 * MS, 3 * MS, ("WATCH", "bal"), OK)
        h.op(client, 4 * MS, 5 * MS, ("GET", "bal"), b"0")
    h.transaction(1, 6 * MS, 9 * MS, [("SET", "bal", "1")], (OK,))
    h.transaction(2, 6 * MS, 9 * MS, [("SET", "bal", "2")], (OK,))
    return h.history()


def interleaved() -> History:
    h = HistoryBuilder()
    h.transaction(1, 0, 10 * MS, [("INCR", "x"), ("INCR", "x")], (1, 3))
    h.transaction(2, 0, 10 * MS, [("INCR", "x"), ("INCR", "x")], (2, 4))
    return h.history()


def no_valid_order() -> History:
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("SET", "k", "1"), OK)
    h.op(1, 2 * MS, 3 * MS, ("SET", "k", "2"), OK)
    h.op(4, int(2.2 * MS), int(3.5 * MS), ("GET", "k"), b"2")
    h.op(3, int(4.5 * MS), None, ("INCR", "k"), outcome=Outcome.INFO)
    h.op(2, 4 * MS, 5 * MS, ("GET", "k"), b"1")
    return h.history()


def cas_lost_update() -> History:
    return History((Operation(0, "a", ("write", 0), None, 0, 1), Operation(1, "b", ("cas", 0, 1), True, 2, 5),
                    Operation(2, "c", ("cas", 0, 2), True, 2, 5)), {"time_unit": "tick"})


EXAMPLES = {
    "stale-read": (stale_read_core, MODEL), "torn-transaction": (torn_by_two_reads, MODEL),
    "unjustified-nil-exec": (nil_exec_with_reads, MODEL), "lost-update": (lost_watched_update, MODEL),
    "interleaved": (interleaved, MODEL), "no-valid-order": (no_valid_order, MODEL),
    "cas": (cas_lost_update, cas_register()),
}


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_anomalies_survive_json_and_read_the_same(example: str) -> None:
    build, model = EXAMPLES[example]
    history = build()
    result, core = checked(history, model)
    explanation = classify(history, model, result, core)
    (anomaly,) = explanation.anomalies
    assert anomaly.operations and set(anomaly.operations) <= set(result.part)
    again = anomaly_from_json(json.loads(json.dumps(anomaly_json(anomaly))))
    assert again == anomaly
    for fmt in (TEXT, MARKDOWN, HTML):
        assert render_anomaly(again, explanation.names, fmt) == render_anomaly(anomaly, explanation.names, fmt)
    assert render_anomaly(anomaly, explanation.names) == explanation.lines[0]


def test_one_anomaly_in_three_formats() -> None:
    """The renderers differ in markup only: plain text, Markdown code spans, HTML that escapes what
    the history holds and marks each operation it names."""
    reader = Op(7, "b", "GET <k>", "GET <k> -> nil", 2 * MS, 3 * MS)
    writer = Op(3, "a", "SET <k> *x*", "SET <k> *x* -> OK", 0, 1 * MS)
    anomaly = Anomaly.of("stale-read", "overwritten-read/initial-nil", reader=reader, value=Value("nil"),
                         key=Key("<k>"), writer=writer)
    names = Names(Clock(0, "ns"))
    assert render_anomaly(anomaly, names, TEXT) == (
        "Stale read: client b read nil from <k> (2–3 ms), but client a's SET <k> *x* had overwritten it: that write "
        "completed at 1 ms, before the read began, and nothing deleted <k> afterwards.")
    assert render_anomaly(anomaly, names, MARKDOWN) == (
        "**Stale read:** client b read `nil` from `<k>` (2–3 ms), but client a's `SET <k> *x*` had overwritten it: "
        "that write completed at 1 ms, before the read began, and nothing deleted `<k>` afterwards.")
    page = render_anomaly(anomaly, names, HTML)
    assert page.startswith('<strong>Stale read:</strong> <span class="op-ref" data-op="7">client b</span> read '
                           "<code>nil</code> from <code>&lt;k&gt;</code>")
    assert """<span class="op-ref" data-op="3">client a's <code>SET &lt;k&gt; *x*</code></span>""" in page
    assert "<k>" not in page


def test_a_claim_without_a_sentence_or_a_fact_is_a_bug_that_shows() -> None:
    names = Names(Clock(0, "ns"))
    with pytest.raises(KeyError):
        render_anomaly(Anomaly.of("stale-read", "no-such-claim"), names)
    with pytest.raises(KeyError):
        render_anomaly(Anomaly.of("impossible-reply", "never-written", value=Value("1")), names)
    with pytest.raises(ValueError, match="unknown kind"):
        Anomaly.of("torn-read", "never-written")
    with pytest.raises(ValueError, match="unknown fact type"):
        anomaly_from_json({"kind": "stale-read", "claim": "x", "operations": [], "facts": {"a": {"type": "opp"}}})


def explanation_of(history: History, model: Any = MODEL, *, minimised: bool = True) -> Explanation:
    result = check(history, model, time_limit=30)
    core = minimise(history, model, result, time_limit=10) if minimised and isinstance(result, Violation) else ()
    return classify(history, model, result, core)


def redis_history(*steps: tuple[Any, ...]) -> History:
    """``(client, start ms, end ms, command, reply)`` steps; a list of commands is a MULTI/EXEC block."""
    h = HistoryBuilder()
    for client, start, end, call, reply in steps:
        if isinstance(call, list):
            h.transaction(client, int(start * MS), int(end * MS), call, reply)
        else:
            h.op(client, int(start * MS), None if end is None else int(end * MS), call, reply)
    return h.history()


def kv_history(*steps: tuple[Any, ...]) -> History:
    return History(tuple(Operation(i, *step) for i, step in enumerate(steps)), {"time_unit": "tick"})


SCRIPT = "-- a long script\n" + "return redis.call('SET', KEYS[1], ARGV[1])\n" * 20
UNKNOWN = Unknown(reason="time limit reached", parts_checked=1, parts_total=3, states_explored=5, elapsed=1.0)
UNKNOWN_ONE = Unknown(reason="time limit reached", parts_checked=0, parts_total=1, states_explored=5, elapsed=1.0)
CLAIM_EXAMPLES: dict[str, Callable[[], Explanation]] = {
    "never-written": lambda: explanation_of(redis_history((1, 0, 1, ("SET", "k", "1"), OK), (3, 2, 3, ("GET", "k"), b"5"))),
    "read-from-the-future": lambda: explanation_of(redis_history(
        (1, 0, 1, ("SET", "k", "1"), OK), (3, 2, 3, ("GET", "k"), b"5"), (1, 4, 5, ("SET", "k", "5"), OK))),
    "read-from-the-future/every-write": lambda: explanation_of(redis_history(
        (2, 1, 2, ("GET", "k"), b"5"), (1, 3, 4, ("SET", "k", "5"), OK), (3, 5, 6, ("SET", "k", "5"), OK))),
    "alone": lambda: explanation_of(redis_history((1, 0, 1, ("EVAL", SCRIPT, "1", "k", "v"), 1),
                                                  (2, 2, 3, ("SET", "k", "x"), OK))),
    "conformance/alone": lambda: explanation_of(redis_history((1, 0, 1, ("EVAL", SCRIPT, "1", "k", "v"), 1))),
    "conformance/sequential": lambda: explanation_of(redis_history(
        (1, 0, 1, ("RPUSH", "k", "a", "b"), 2), (1, 2, 3, ("LRANGE", "k", "0", "-1"), (b"b", b"a")))),
    "overwritten-read/one-write": lambda: explanation_of(stale_read_core()),
    "overwritten-read/every-write": lambda: explanation_of(redis_history(
        (1, 0, 1, ("SET", "k", "1"), OK), (3, 0, 1, ("SET", "k", "1"), OK), (1, 2, 3, ("SET", "k", "2"), OK),
        (2, 4, 5, ("GET", "k"), b"1"))),
    "overwritten-read/initial-nil": lambda: explanation_of(redis_history(
        (1, 0, 1, ("SET", "k", "1"), OK), (2, 2, 3, ("GET", "k"), None))),
    "overwritten-read/initial-value": lambda: explanation_of(kv_history((0, ("put", "x", "1"), None, 0, 1),
                                                                        (1, ("get", "x"), "", 2, 3)), kv()),
    "deleted-read/one-write": lambda: explanation_of(redis_history(
        (1, 0, 1, ("SET", "k", "1"), OK), (1, 2, 3, ("DEL", "k"), 1), (2, 4, 5, ("GET", "k"), b"1"))),
    "deleted-read/every-write": lambda: explanation_of(redis_history(
        (1, 0, 1, ("SET", "k", "1"), OK), (3, 0, 1, ("SET", "k", "1"), OK), (1, 2, 3, ("DEL", "k"), 1),
        (2, 4, 5, ("GET", "k"), b"1"))),
    "read-after-newer-read": lambda: explanation_of(redis_history(
        (1, 0, 1, ("SET", "k", "1"), OK), (1, 2, 10, ("SET", "k", "2"), OK), (3, 3, 4, ("GET", "k"), b"2"),
        (2, 5, 6, ("GET", "k"), b"1"))),
    "read-after-newer-read/initial": lambda: explanation_of(kv_history(
        (0, ("put", "x", "1"), None, 0, 10), (1, ("get", "x"), "1", 2, 3), (2, ("get", "x"), "", 4, 5)), kv()),
    "lost-compare-and-set": lambda: explanation_of(cas_lost_update(), cas_register()),
    "lost-increment": lambda: explanation_of(redis_history((1, 0, 10, ("INCR", "n"), 1), (2, 0, 10, ("INCR", "n"), 1))),
    "lost-watched-update": lambda: explanation_of(lost_watched_update()),
    "nil-exec/unwatched": lambda: explanation_of(redis_history((1, 2, 3, [("SET", "k", "x")], NULL_ARRAY))),
    "nil-exec": lambda: explanation_of(redis_history((1, 0, 1, ("WATCH", "k"), OK),
                                                     (1, 2, 3, [("SET", "k", "x")], NULL_ARRAY))),
    "nil-exec/written-before": lambda: explanation_of(redis_history(
        (2, 0, 1, ("SET", "k", "x"), OK), (1, 2, 3, ("WATCH", "k"), OK), (1, 4, 6, [("SET", "k", "mine")], NULL_ARRAY))),
    "nil-exec/only-reads": lambda: explanation_of(nil_exec_with_reads()),
    "interleaved-transaction": lambda: explanation_of(interleaved()),
    "torn-read/one-reader": lambda: explanation_of(redis_history(
        (1, 0, 10, [("SET", "a", "1"), ("SET", "b", "1")], (OK, OK)), (2, 2, 8, ("MGET", "a", "b"), (b"1", None)))),
    "torn-read/two-readers": lambda: explanation_of(torn_by_two_reads()),
    "intermediate-read": lambda: explanation_of(redis_history(
        (1, 0, 10, [("INCR", "c"), ("INCR", "c")], (1, 2)), (2, 2, 8, ("GET", "c"), b"1"))),
    "no-valid-order": lambda: explanation_of(no_valid_order()),
    "no-valid-order/not-minimised": lambda: explanation_of(no_valid_order(), minimised=False),
    "minimal-counterexample": lambda: explanation_of(stale_read_core()),
    "search-stuck/expected": lambda: explanation_of(stale_read_core()),
    "pre-check": lambda: explanation_of(kv_history((0, ("put", "x", "1"), None, 0, 1), (1, ("get", "x"), "zz", 4, 5)),
                                        kv()),
    "fast-proof/stale": lambda: explanation_of(kv_history(
        (0, ("put", "x", "p"), None, 0, 1), (1, ("append", "x", "a"), None, 2, 3), (2, ("get", "x"), "pa", 4, 5),
        (3, ("get", "x"), "p", 6, 7)), kv()),
    "fast-proof/fork": lambda: explanation_of(kv_history(
        (0, ("put", "x", "p"), None, 0, 1), (1, ("append", "x", "a"), None, 0, 9), (2, ("append", "x", "b"), None, 0, 9),
        (3, ("get", "x"), "pa", 2, 9), (4, ("get", "x"), "pb", 2, 9)), kv()),
    "fast-proof/repeat": lambda: explanation_of(redis_history(
        (1, 0, 1, ("RPUSH", "q", "a"), 1), (2, 2, 3, ("LPOP", "q"), b"a"), (3, 4, 5, ("LPOP", "q"), b"a"))),
    "fast-proof/early": lambda: explanation_of(redis_history(
        (1, 0, 1, ("LPOP", "q"), b"a"), (2, 2, 3, ("RPUSH", "q", "a"), 1))),
    "fast-proof/order": lambda: explanation_of(redis_history(
        (1, 0, 1, ("RPUSH", "q", "a"), 1), (1, 2, 3, ("RPUSH", "q", "b"), 2), (2, 4, 5, ("LPOP", "q"), b"b"),
        (2, 6, 7, ("LPOP", "q"), b"a"))),
    "fast-proof/witness": lambda: explanation_of(redis_history(
        (1, 0, 1, ("RPUSH", "q", "a"), 1), (2, 2, 3, ("LPOP", "q"), None), (3, 4, 5, ("LPOP", "q"), b"a"))),
    "linearizable": lambda: explanation_of(kv_history((0, ("put", "x", "1"), None, 0, 1), (1, ("get", "y"), "", 2, 3)),
                                           kv()),
    "linearizable/one-part": lambda: explanation_of(redis_history((1, 0, 1, ("SET", "k", "1"), OK))),
    "unknown": lambda: classify(stale_read_core(), MODEL, UNKNOWN),
    "unknown/one-part": lambda: classify(stale_read_core(), MODEL, UNKNOWN_ONE),
    "version-difference": lambda: as_version_difference(explanation_of(stale_read_core()), "redis-6.2", "redis-7.0"),
}
"""A history for each claim that is not about Pub/Sub (tests/test_pubsub_check.py has those)."""
_OP = Op(3, 1, "GET k", "GET k -> nil", 1 * MS, 2 * MS)
SYNTHETIC: dict[str, Anomaly | Note] = {
    # Thirteen operations no anomaly explains, and a search stuck on an operation the model cannot say more about.
    "no-valid-order/more": Anomaly.of("no-valid-order", "no-valid-order/more", ops=Listing((_OP,) * 12),
                                      more=Count(1, "operation")),
    "search-stuck": Note.of("search-stuck", placed=Count(1, "operation"), state=Code("{k=1}"), op=_OP),
}


def test_every_claim_has_an_example() -> None:
    pubsub = ("phantom", "duplicate", "reordered", "receivers", "lost")
    assert {claim for claim in CLAIMS if claim.split("/")[0] not in pubsub} == set(CLAIM_EXAMPLES) | set(SYNTHETIC)


@pytest.mark.parametrize("claim", sorted(CLAIM_EXAMPLES))
def test_each_claim_is_recognised_and_worded(claim: str) -> None:
    explanation = CLAIM_EXAMPLES[claim]()
    assert claim in [statement.claim for statement in explanation.statements]
    for fmt in (TEXT, MARKDOWN, HTML):
        assert all(explanation.paragraphs(fmt))


def test_claims_without_a_short_history_render_in_every_format() -> None:
    names = Names(Clock(0, "ns"))
    assert render(SYNTHETIC["no-valid-order/more"], names).endswith("GET k -> nil (1–2 ms); and 1 more.")
    assert render(SYNTHETIC["search-stuck"], names, MARKDOWN).endswith("cannot be placed next.")
    for statement in SYNTHETIC.values():
        assert render(statement, names, HTML).count('data-op="3"') >= 1


@pytest.mark.parametrize("module", ["explain.names", "explain.anomalies", "explain.render", "explain.recognise",
                                    "explain.generic", "explain.redis", "report.text", "report.write", "report.html"])
def test_docstring_examples(module: str) -> None:
    failed, attempted = doctest.testmod(importlib.import_module(f"redlin.{module}"), optionflags=doctest.ELLIPSIS)
    assert attempted and not failed


def test_every_explain_module_stays_small_and_says_its_job() -> None:
    for path in sorted((ROOT / "checker" / "explain").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 600, path.name
        assert text.startswith('"""'), path.name
    assert len((ROOT / "checker" / "report" / "html.py").read_text(encoding="utf-8").splitlines()) <= 600


# ----------------------------------------------------------------------------- one time base, plurals


def test_times_are_milliseconds_from_the_first_invocation_everywhere(tmp_path: Path) -> None:
    """Raw monotonic nanoseconds never show: the console, summary.md and result.json's prose all
    count from the history's first invocation, with one rounding rule."""
    start = 8_123_456_789_000  # a monotonic clock's reading
    h = HistoryBuilder()
    h.op(1, start, start + 1 * MS, ("SET", "k", "1"), OK)
    h.op(1, start + 2 * MS, start + 3 * MS, ("SET", "k", "2"), OK)
    h.op(2, start + 4_062_500, start + 5 * MS, ("GET", "k"), b"1")  # 4.0625 ms: rounds half up
    history = h.history()
    result, core = checked(history)
    console = render_text(history, MODEL, result, core)
    assert str(start) not in console and "8123456" not in console
    assert "    op 2, client 2, 4.063–5 ms: GET k -> \"1\"" in console
    assert "client 2 read \"1\" from k (4.063–5 ms)" in console
    report_of(history, tmp_path)
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "| 2 | 2 | 4.063 ms | 5 ms |" in summary and "8123456" not in summary
    assert Clock(0, "ns").at(1_062_499) == "1.062 ms" and Clock(0, "ns").at(999_999) == "0.999999 ms"


def test_one_of_everything_reads_in_the_singular(tmp_path: Path) -> None:
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("GET", "k"), b"5")
    history = h.history()
    result, core = checked(history)
    document = report_of(history, tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    outputs = [render_text(history, MODEL, result, core), (tmp_path / "summary.md").read_text(encoding="utf-8"),
               *document["explanation"], json.dumps(page_data(document, history, MODEL)["run"]), page]
    for text in outputs:
        assert not re.search(r"\b1 (operations|clients|parts|independent parts|replies|states)\b", text), text
    assert "1 operation from 1 client" in outputs[0] and "1 operation from 1 client" in outputs[1]
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("GET", "k"), None)
    clean = report_of(h.history(), tmp_path / "ok")
    assert clean["explanation"][0].startswith("Linearizable: the history has an order")
    assert "(1 reply in all)" in clean["explanation"][0]


def test_several_parts_read_in_the_plural() -> None:
    ops = (Operation(0, 0, ("put", "x", "1"), None, 0, 1), Operation(1, 1, ("get", "y"), "", 2, 3))
    history = History(ops, {"time_unit": "tick"})
    first = explain(history, kv(), check(history, kv()))[0]
    assert first.startswith("Linearizable: each of the 2 independent parts has an order") and "(2 replies in all)" in first


# ----------------------------------------------------------------------------- the report directory


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(loaded)
    return loaded


def stale_read_history() -> History:
    """A stale read among other clients and keys, an indeterminate and a failed operation."""
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("SET", "k", "1"), OK)
    h.op(2, int(0.5 * MS), int(1.6 * MS), ("GET", "j"), None)
    h.op(1, 2 * MS, 3 * MS, ("SET", "k", "2"), OK)
    h.op(3, int(1.5 * MS), int(4.2 * MS), ("SET", "j", "x"), OK)
    h.op(4, int(2.2 * MS), int(3.5 * MS), ("GET", "k"), b"2")
    h.op(2, 4 * MS, 5 * MS, ("GET", "k"), b"1")
    h.op(4, 4 * MS, int(4.4 * MS), ("SET", "k", "zz"), outcome=Outcome.FAIL)
    h.op(3, int(5.5 * MS), None, ("INCR", "k"), outcome=Outcome.INFO)
    return h.history()


def report_of(history: History, out: Path, model: Any = MODEL, **meta: Any) -> dict[str, Any]:
    result, core = checked(history, model)
    write_report(out, history=history, model=model, result=result, core=core, meta=meta or None)
    document: dict[str, Any] = json.loads((out / "result.json").read_text(encoding="utf-8"))
    return document


def test_violation_report_files_and_schema(tmp_path: Path, schema: dict[str, Any]) -> None:
    history = stale_read_history()
    document = report_of(history, tmp_path, target="model", seed=7)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "history.jsonl", "junit.xml", "report.html", "result.json", "summary.md"]
    jsonschema.validate(document, schema)
    assert document["verdict"] == "violation" and document["kind"] == "stale-read"
    assert document["meta"]["target"] == "model" and document["meta"]["seed"] == 7
    violation = document["violation"]
    assert violation["operation"] == 5 and document["core"] == [0, 4, 5]
    assert document["parts"][violation["part"]]["operations"] == violation["part_operations"]
    assert document["parts"][violation["part"]]["label"] == "k"
    assert violation["prefixes"][0][-1]["state"] == "{k=2}"
    assert [op["text"] for op in document["counterexample"]] == ['SET k 1 -> OK', 'GET k -> "2"', 'GET k -> "1"']
    # Every id refers to the saved history file.
    saved = load_history(tmp_path / "history.jsonl")
    assert [MODEL.describe_operation(saved[op["id"]]) for op in document["counterexample"]] == [
        op["text"] for op in document["counterexample"]]


def test_linearizable_and_unknown_reports_match_the_schema(tmp_path: Path, schema: dict[str, Any]) -> None:
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("SET", "k", "1"), OK)
    h.op(2, 2 * MS, 3 * MS, ("GET", "k"), b"1")
    h.op(3, 0, 3 * MS, ("SET", "j", "2"), OK)
    document = report_of(h.history(), tmp_path / "ok")
    jsonschema.validate(document, schema)
    assert document["verdict"] == "linearizable" and document["kind"] is None
    assert [sorted(order) for order in document["witness"]] == [sorted(p["operations"]) for p in document["parts"]]
    history = h.history()
    unknown = Unknown(reason="state budget exhausted", parts_checked=0, parts_total=2, states_explored=1, elapsed=0.0)
    write_report(tmp_path / "unknown", history=history, model=MODEL, result=unknown)
    document = json.loads((tmp_path / "unknown" / "result.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)
    assert document["unknown"]["parts_total"] == unknown.parts_total


def test_generic_model_report(tmp_path: Path, schema: dict[str, Any]) -> None:
    ops = (Operation(0, 0, ("put", "x", "1"), None, 0, 1), Operation(1, 1, ("put", "x", "2"), None, 2, 3),
           Operation(2, 2, ("get", "x"), "1", 4, 5), Operation(3, 0, ("get", "y"), "", 4, 6))
    document = report_of(History(ops, {"source": "c01-ok.txt"}), tmp_path, kv())
    jsonschema.validate(document, schema)
    assert document["kind"] == "stale-read" and document["time"]["unit"] == "tick"
    assert sorted(part["label"] for part in document["parts"]) == ["'x'", "'y'"]
    assert "t=4–5" in (tmp_path / "summary.md").read_text(encoding="utf-8")


def test_ids_follow_the_saved_file_when_the_history_is_not_in_invocation_order(tmp_path: Path) -> None:
    h = HistoryBuilder()
    h.op(2, 4 * MS, 5 * MS, ("GET", "k"), b"1")  # id 0, but invoked last
    h.op(1, 0, 1 * MS, ("SET", "k", "1"), OK)
    h.op(1, 2 * MS, 3 * MS, ("SET", "k", "2"), OK)
    document = report_of(h.history(), tmp_path)
    saved = load_history(tmp_path / "history.jsonl")
    assert document["violation"]["operation"] == 2
    assert MODEL.describe_operation(saved[2]) == 'GET k -> "1"'
    assert document["core"] == [0, 1, 2]


def test_a_recorded_history_file_is_kept(tmp_path: Path) -> None:
    recorded = tmp_path / "history.jsonl"
    save_history(History(stale_read_history().operations, {"note": "recorded live"}), recorded)
    before = recorded.read_bytes()
    history = load_history(recorded)
    write_report(tmp_path, history=history, model=MODEL, result=check(history, MODEL))
    assert recorded.read_bytes() == before
    assert json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))["history"] == "history.jsonl"
    # A file that is not this history is kept too, and the report's own goes beside it.
    other = History(history.operations[:3])
    write_report(tmp_path, history=other, model=MODEL, result=check(other, MODEL))
    assert recorded.read_bytes() == before
    assert json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))["history"] == "history.checked.jsonl"
    assert len(load_history(tmp_path / "history.checked.jsonl")) == 3


def test_junit_file(tmp_path: Path) -> None:
    report_of(stale_read_history(), tmp_path / "bad")
    root = ElementTree.parse(tmp_path / "bad" / "junit.xml").getroot()
    assert root.tag == "testsuites" and root.get("failures") == "1" and root.get("tests") == "1"
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "redlin.redis"
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["kind"] == "stale-read" and properties["operations"] == "8"
    failure = suite.find("testcase/failure")
    assert failure is not None and failure.get("type") == "stale-read"
    assert (failure.get("message") or "").startswith("Stale read: client 2 read")
    assert "Minimal counterexample:" in (failure.text or "")
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("SET", "k", "1"), OK)
    report_of(h.history(), tmp_path / "good")
    root = ElementTree.parse(tmp_path / "good" / "junit.xml").getroot()
    assert root.get("failures") == "0" and root.get("errors") == "0"
    assert root.find("testsuite/testcase/failure") is None


def test_summary_fits_a_ci_log(tmp_path: Path) -> None:
    report_of(stale_read_history(), tmp_path)
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("## redlin: VIOLATION (stale read)\n")
    assert "| 5 | 2 | 4 ms | 5 ms | `GET k -> \"1\"` **(cannot be placed)** |" in summary
    assert len(summary.splitlines()) < 30


def test_html_is_self_contained(tmp_path: Path) -> None:
    report_of(stale_read_history(), tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    for reference in ("http://", "https://", "src=", "@import", "url("):
        assert reference not in page.replace('xmlns="http://www.w3.org/2000/svg"', ""), reference
    assert page.count("<script") == 2 and "</script>" in page


def test_data_blob_cannot_close_its_script_element() -> None:
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("SET", "k", "</script><b>"), OK)
    h.op(2, 2 * MS, 3 * MS, ("GET", "k"), b"</script><b>")
    history = h.history()
    result, core = checked(history)
    page = render_html(result_document(history, MODEL, result, core), history, MODEL)
    assert page.count("</script>") == 2


def test_result_json_carries_the_anomalies(tmp_path: Path, schema: dict[str, Any]) -> None:
    document = report_of(stale_read_history(), tmp_path)
    jsonschema.validate(document, schema)
    (anomaly,) = document["anomalies"]
    assert anomaly["kind"] == document["kind"] == "stale-read" and anomaly["title"] == "stale read"
    assert anomaly["operations"] == [5, 3, 0] and set(anomaly["operations"]) <= set(document["violation"]["part_operations"])
    assert anomaly["facts"]["reader"] == {"type": "op", "id": 5, "client": 2, "command": "GET k",
                                          "described": 'GET k -> "1"', "invoke": 4 * MS, "complete": 5 * MS}
    assert anomaly["facts"]["value"] == {"type": "value", "text": '"1"'}
    assert document["explanation"][0] == "Stale read: " + anomaly["text"]
    broken = json.loads(json.dumps(document))
    broken["anomalies"][0]["facts"]["reader"]["type"] = "operation"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
    broken = json.loads(json.dumps(document))
    broken["anomalies"] = []
    with pytest.raises(jsonschema.ValidationError):  # a violation names at least one anomaly
        jsonschema.validate(broken, schema)


def test_a_pubsub_report_validates_and_marks_the_lost_message(tmp_path: Path, schema: dict[str, Any]) -> None:
    h = HistoryBuilder()
    h.op(9, 0, 1 * MS, ("SUBSCRIBE", "ch0"), (b"subscribe", b"ch0", 1))
    h.op(2, int(3.2 * MS), int(3.4 * MS), ("PUBLISH", "ch0", "0.1a"), 1)
    h.op(9, 10 * MS, 11 * MS, ("PING",), (b"pong", b""))
    document = report_of(h.history(), tmp_path)
    jsonschema.validate(document, schema)
    assert document["kind"] == "lost-message"
    assert {fact["type"] for fact in document["anomalies"][0]["facts"].values()} >= {"message", "subscription", "time"}
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'class="anomaly" data-kind="lost-message" data-ops="1 2"' in page
    assert "message <code>&quot;0.1a&quot;</code> published on <code>ch0</code>" in page \
        or "message <code>\"0.1a\"</code> published on <code>ch0</code>" in page


def test_the_page_marks_what_each_anomaly_names(tmp_path: Path) -> None:
    document = report_of(stale_read_history(), tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert '<div class="anomaly" data-kind="stale-read" data-ops="5 3 0">' in page
    assert '<span class="op-ref" data-op="5">client 2</span>' in page
    assert [f'data-op="{i}">op {i}</button>' in page for i in (0, 3, 5)] == [True] * 3
    data = page_data(document, load_history(tmp_path / "history.jsonl"), MODEL)
    assert data["anomalies"] == [{"kind": "stale-read", "operations": [5, 3, 0]}]


def run_meta() -> dict[str, Any]:
    return {"run_id": "r1", "target": "redis://127.0.0.1:6379/0", "embedded": False, "fault": None,
            "server_version": "7.2.4", "workload": "strings", "operations": 8, "verdict": "violation",
            "prefix": "redlin:r1:", "program": None, "found_after_seconds": None, "interrupted": False}


def test_the_header_names_the_target_and_the_run_table_has_no_nulls(tmp_path: Path) -> None:
    document = report_of(stale_read_history(), tmp_path, **run_meta())
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert '<span id="subtitle">redis model · 8 operations · target redis://127.0.0.1:6379/0 (Redis 7.2.4)</span>' in page
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "Target: `redis://127.0.0.1:6379/0 (Redis 7.2.4)`" in summary
    rows = page_data(document, load_history(tmp_path / "history.jsonl"), MODEL)["run"]
    labels = [label for label, _ in rows]
    assert len(labels) == len(set(labels)), labels
    assert not any(value in ("null", "None", "") for _, value in rows), rows
    assert dict(rows)["target"] == "redis://127.0.0.1:6379/0 (Redis 7.2.4)"
    assert dict(rows)["interrupted"] == "no" and "program" not in dict(rows)


def test_keys_are_shown_without_the_run_prefix(tmp_path: Path) -> None:
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("SET", "redlin:r1:3:k", "1"), OK)
    h.op(1, 2 * MS, 3 * MS, ("SET", "redlin:r1:3:k", "2"), OK)
    h.op(2, 4 * MS, 5 * MS, ("GET", "redlin:r1:3:k"), b"1")
    history = History(h.history().operations, {"prefix": "redlin:r1:"})
    result, core = checked(history)
    console = render_text(history, MODEL, result, core)
    assert "redlin:r1:" not in console.replace("prefix redlin:r1:.", "")
    assert "client 2 read \"1\" from k (4–5 ms)" in console and "GET k -> \"1\"" in console
    document = report_of(history, tmp_path)
    assert "redlin:r1:3:k" in json.dumps(document["anomalies"])  # the data keeps the real key
    assert not any("redlin:r1:" in paragraph for paragraph in document["explanation"])
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    blob = page.split('id="redlin-data">', 1)[1].split("</script>", 1)[0]
    assert "redlin:r1:3:" not in page.split('id="redlin-data">', 1)[0] and "redlin:r1:3:" not in blob
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "redlin:r1:3:" not in summary and "Keys are shown without the run's prefix `redlin:r1:`." in summary


def test_a_clean_page_has_no_violation_legend(tmp_path: Path) -> None:
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("SET", "k", "1"), OK)
    h.op(2, 2 * MS, 3 * MS, ("GET", "k"), b"1")
    document = report_of(h.history(), tmp_path)
    assert document["anomalies"] == []
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    legend = page.split('<div id="legend" class="legend">', 1)[1].split("</div>", 1)[0]
    assert "linearization point" in legend and "indeterminate" in legend
    for entry in ("violation-only", "cannot be linearized", "minimal counterexample", "named in the explanation"):
        assert entry not in legend, entry


# ----------------------------------------------------------------------------- redlin report


def write_history_file(path: Path, history: History) -> None:
    save_history(history, path)


def test_report_command_checks_then_re_renders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "run.jsonl"
    write_history_file(source, stale_read_history())
    out = tmp_path / "report"
    assert main(["report", str(source), "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert printed.startswith("VIOLATION") and "  Stale read: client 2 read" in printed
    assert str(out / "report.html") in printed
    assert (out / "history.jsonl").read_bytes() == source.read_bytes()
    first = (out / "result.json").read_text(encoding="utf-8")
    # Re-render from result.json, elsewhere: no check, same result, history copied along.
    again = tmp_path / "again"
    assert main(["report", str(out / "result.json"), "--out", str(again)]) == 1
    assert (again / "result.json").read_text(encoding="utf-8") == first
    assert (again / "summary.md").read_text(encoding="utf-8") == (out / "summary.md").read_text(encoding="utf-8")
    assert (again / "history.jsonl").exists()
    # ... and from the report directory, in place.
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 1
    assert (out / "report.html").exists()


def test_report_command_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "missing.jsonl")]) == 3
    not_a_result = tmp_path / "other.json"
    not_a_result.write_text('{"format": "redlin-result", "version": 99}', encoding="utf-8")
    assert main(["report", str(not_a_result)]) == 3
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and "no such file" in errors[0] and "unsupported result version" in errors[1]


def test_report_command_on_a_linearizable_history(tmp_path: Path) -> None:
    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("SET", "k", "1"), OK)
    h.op(2, 2 * MS, 3 * MS, ("GET", "k"), b"1")
    source = tmp_path / "ok.jsonl"
    write_history_file(source, h.history())
    assert main(["report", str(source), "--out", str(tmp_path / "r")]) == 0


# ----------------------------------------------------------------------------- large runs


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("report_size", ROOT / "bench" / "report_size.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("report_size", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def large() -> tuple[History, dict[str, Any], str]:
    """The 100,000-operation synthetic history with one stale read, checked, and its page."""
    history = _bench().synthetic_history(100_000)
    result, core = checked(history)
    assert isinstance(result, Violation)
    document = result_document(history, MODEL, result, core)
    return history, document, render_html(document, history, MODEL)


def test_large_history_page_stays_small(large: tuple[History, dict[str, Any], str]) -> None:
    history, document, page = large
    assert document["kind"] == "stale-read"
    assert len(page.encode("utf-8")) < 5_000_000
    data = page_data(document, history, MODEL)
    drawn = {op["id"] for op in data["ops"]}
    assert len(drawn) == WINDOW
    assert set(document["core"]) <= drawn and document["violation"]["operation"] in drawn
    window = data["window"]
    assert window["drawn"] + window["before"] + window["after"] + window["beside"] == len(history) == window["total"]
    hidden = sum(row[1] + row[2] + row[3] for row in window["hidden"])
    assert hidden == len(history) - WINDOW


def test_window_prefers_the_violating_part() -> None:
    ops = tuple(Operation(i, i % 4, ("read",), 0, 10 * i, 10 * i + 15) for i in range(10_000))
    part = list(range(0, 10_000, 50))
    window = select_window(History(ops), focus=5000, part=part, core=(0, 9950), limit=300, around=20)
    assert len(window.ids) == 300
    assert {0, 9950, 5000} <= set(window.ids)
    assert set(part[100 - 20: 100 + 21]) <= set(window.ids)
    assert window.hidden_total == 10_000 - 300
    assert sum(sum(counts.values()) for counts in window.hidden.values()) == window.hidden_total


# ----------------------------------------------------------------------------- in a real browser


def _require(message: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(message + " (.ci/run installs it)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, driven by Selenium through Debian's chromedriver."""
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        _require("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _require("selenium is not installed (pip install selenium)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium  # never let a tool download a browser of its own
    profile = tempfile.mkdtemp(prefix="redlin-chromium-")
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}",
                     "--window-size=1400,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(driver: Any, page: Path) -> float:
    """Load ``page`` and wait for the ready marker; seconds from navigation start to it."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get("about:blank")
    driver.get(page.resolve().as_uri())
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.documentElement.dataset.redlinReady") == "1")
    return float(driver.execute_script("return window.redlinReadyAt")) / 1000


def test_browser_shows_the_violation_and_its_explanation(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    from selenium.webdriver.common.by import By

    out = tmp_path_factory.mktemp("report")
    report_of(stale_read_history(), out)
    open_page(browser, out / "report.html")
    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.is_displayed()
    assert "Violation: stale read" in verdict.text
    assert 'Stale read: client 2 read "1" from k (4–5 ms), but client 1\'s SET k 2 had overwritten it' in verdict.text
    stuck = browser.find_element(By.ID, "violating-op")
    assert stuck.is_displayed() and stuck.get_attribute("data-op") == "5"
    assert 'GET k\n→ "1"' in stuck.text and "bad" in (stuck.get_attribute("class") or "")
    points = [m.text for m in browser.find_elements(By.CSS_SELECTOR, ".marker")]
    assert sorted(points) == ["1", "2", "3", "✕"]  # in lane order in the DOM
    legend = browser.find_element(By.ID, "legend").text
    assert "cannot be linearized" in legend and "linearization point" in legend
    browser.find_element(By.ID, "jump").click()
    in_view = browser.execute_script(
        "var r = document.getElementById('violating-op').getBoundingClientRect();"
        "return r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0 && r.right <= window.innerWidth;")
    assert in_view
    details = browser.find_element(By.ID, "details").text
    assert "cannot be linearized after step 3" in details and "{k=2}" in details
    # Hovering a linearization point shows the state before and after that step.
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).move_to_element(browser.find_element(By.CSS_SELECTOR, ".marker")).perform()
    assert "{k=1}" in browser.find_element(By.ID, "details").text or "cannot be linearized" in browser.find_element(
        By.ID, "details").text
    artifacts = tmp_path_factory.mktemp("artifacts")
    jumped = artifacts / "report-after-jump.png"
    browser.save_screenshot(str(jumped))
    # The whole page: explanation, counterexample, timeline and legend in one picture.
    browser.execute_script("window.scrollTo(0, 0)")
    height = int(browser.execute_script("return document.documentElement.scrollHeight"))
    browser.set_window_size(1400, min(height + 140, 4000))
    try:
        shot = artifacts / "report-violation.png"
        browser.save_screenshot(str(shot))
    finally:
        browser.set_window_size(1400, 1000)
    assert shot.stat().st_size > 10_000 and jumped.stat().st_size > 10_000
    print(f"screenshots: {shot} {jumped}")
    severe = [entry for entry in browser.get_log("browser") if entry.get("level") == "SEVERE"]
    assert severe == []


def test_browser_opens_the_large_report_quickly(browser: Any, large: tuple[History, dict[str, Any], str],
                                                tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    _, document, page = large
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    started = time.monotonic()
    ready = open_page(browser, path)
    assert ready < 2.0 and time.monotonic() - started < 10
    assert len(browser.find_elements(By.CSS_SELECTOR, ".op")) >= 1
    assert browser.find_element(By.ID, "violating-op").is_displayed()
    assert "The timeline draws 1,000 of 100,000 operations" in browser.find_element(By.ID, "rest-note").text


def test_browser_highlights_the_operations_an_anomaly_names(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    report_of(stale_read_history(), tmp_path, **run_meta())
    open_page(browser, tmp_path / "report.html")
    named = sorted(int(e.get_attribute("data-op")) for e in browser.find_elements(By.CSS_SELECTOR, "#lanes .op.named"))
    assert named == [0, 3, 5]
    rows = sorted(int(e.get_attribute("data-op")) for e in browser.find_elements(By.CSS_SELECTOR, "#counterexample tr.named"))
    assert rows == [0, 5]  # op 3 (the overwrite) is not in the minimal counterexample
    assert browser.find_elements(By.CSS_SELECTOR, ".highlight") == []
    ActionChains(browser).move_to_element(browser.find_element(By.CSS_SELECTOR, "#explanation .anomaly")).perform()
    lit = sorted(int(e.get_attribute("data-op")) for e in browser.find_elements(By.CSS_SELECTOR, "#lanes .op.highlight"))
    assert lit == [0, 3, 5]
    ActionChains(browser).move_to_element(browser.find_element(By.CSS_SELECTOR, '#explanation .op-ref[data-op="3"]')).perform()
    lit = [int(e.get_attribute("data-op")) for e in browser.find_elements(By.CSS_SELECTOR, "#lanes .op.highlight")]
    assert lit == [3]
    browser.find_element(By.CSS_SELECTOR, '.op-chip[data-op="0"]').click()
    assert browser.find_element(By.ID, "details").text.startswith("op 0 · client 1")
    header = browser.find_element(By.ID, "subtitle").text
    assert header == "redis model · 8 operations · target redis://127.0.0.1:6379/0 (Redis 7.2.4)"
    assert [entry for entry in browser.get_log("browser") if entry.get("level") == "SEVERE"] == []


def test_browser_times_match_the_summary(browser: Any, tmp_path: Path) -> None:
    """The page's JavaScript formats times by the rule Python uses (summary.md, the console)."""
    from selenium.webdriver.common.by import By

    start = 8_123_456_789_000
    h = HistoryBuilder()
    h.op(1, start, start + 1 * MS, ("SET", "k", "1"), OK)
    h.op(1, start + 2 * MS, start + 1_062_500 + 2 * MS, ("SET", "k", "2"), OK)
    h.op(2, start + 1_062_500 + 3 * MS, start + 3_999_999 + 2 * MS, ("GET", "k"), b"1")
    h.op(3, start + 250, start + 999_999, ("GET", "j"), None)
    document = report_of(h.history(), tmp_path)
    open_page(browser, tmp_path / "report.html")
    clock = Clock(document["time"]["origin"], "ns")
    shown = [[td.text for td in row.find_elements(By.TAG_NAME, "td")[2:4]]
             for row in browser.find_elements(By.CSS_SELECTOR, "#counterexample tbody tr")]
    assert shown == [[clock.at(op["invoke"]), clock.at(op["complete"])] for op in document["counterexample"]]
    assert ["4.063 ms", "5.999999 ms"] not in shown and ["4.063 ms", "6 ms"] in shown
    browser.execute_script('var s = document.getElementById("part"); s.value = "all";'
                           's.dispatchEvent(new Event("change"));')
    browser.find_element(By.CSS_SELECTOR, '#lanes .op[data-op="1"]').click()
    assert "invoked\n0.00025 ms" in browser.find_element(By.ID, "details").text


def test_browser_clean_report_shows_no_violation_legend(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    h = HistoryBuilder()
    h.op(1, 0, 1 * MS, ("SET", "k", "1"), OK)
    report_of(h.history(), tmp_path)
    open_page(browser, tmp_path / "report.html")
    legend = browser.find_element(By.ID, "legend").text
    assert "linearization point" in legend and "cannot be linearized" not in legend
    assert "minimal counterexample" not in legend and "stuck" not in legend
    assert "1 operation" in browser.find_element(By.ID, "subtitle").text
    assert not browser.find_element(By.ID, "jump").is_displayed()
