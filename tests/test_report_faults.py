"""Reports of runs with a nemesis: the faults it injected (``meta["faults"]``, as
``FaultEvent.to_json`` writes them) drawn as bands on the timeline, and named in a violation's
explanation and in ``summary.md``.

The histories are tiny register histories with times in nanoseconds on a monotonic-looking clock
(the first invocation at 1 s), so relative times read in milliseconds.  The browser test needs
Debian's ``chromium`` and ``chromium-driver`` and ``selenium``, as ``test_report.py``'s do.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from test_report import browser  # noqa: F401 (the fixture: headless chromium, as the report tests drive it)

from redlin import History, Operation, Violation, check, minimise, register
from redlin.deploy.faults import FaultEvent
from redlin.explain.render import MARKDOWN
from redlin.report.faults import fault_events, fault_sentences
from redlin.report.html import FAULT_LIMIT, page_data, render_html
from redlin.report.write import render_summary, result_document, write_report

T0 = 1_000_000_000
MS = 1_000_000


def stale_read() -> History:
    """Client a writes 1 then 2; client b then reads 1: op 2 cannot be placed."""
    return History((Operation(0, "a", ("write", 1), None, T0, T0 + 1 * MS),
                    Operation(1, "a", ("write", 2), None, T0 + 2 * MS, T0 + 3 * MS),
                    Operation(2, "b", ("read",), 1, T0 + 10 * MS, T0 + 11 * MS)))


def clean() -> History:
    return History((Operation(0, "a", ("write", 1), None, T0, T0 + 1 * MS),
                    Operation(1, "b", ("read",), 1, T0 + 2 * MS, T0 + 3 * MS)))


def fault(kind: str, start_ms: float, end_ms: float | None, target: str = "primary", port: int = 10234,
          **detail: Any) -> dict[str, Any]:
    """A fault as the runner passes it: ``json.loads(FaultEvent.to_json())``."""
    event = FaultEvent(kind, target, port, T0 + int(start_ms * MS), None if end_ms is None else T0 + int(end_ms * MS),
                       detail)
    loaded: dict[str, Any] = json.loads(event.to_json())
    return loaded


KILL = fault("kill", 4, 6)


def document(history: History, faults: list[dict[str, Any]] | None, minimised: bool = True) -> dict[str, Any]:
    result = check(history, register())
    core = minimise(history, register(), result, time_limit=10) if minimised and isinstance(result, Violation) else ()
    meta = None if faults is None else {"faults": faults}
    return result_document(history, register(), result, core, meta)


def report(tmp: Path, history: History, faults: list[dict[str, Any]] | None) -> tuple[str, str, dict[str, Any]]:
    """Write a report; its page, its summary and its page's data blob."""
    result = check(history, register())
    core = minimise(history, register(), result, time_limit=10) if isinstance(result, Violation) else ()
    files = write_report(tmp, history=history, model=register(), result=result, core=core,
                         meta=None if faults is None else {"faults": faults})
    page = files.html.read_text(encoding="utf-8")
    blob = re.search(r'<script type="application/json" id="redlin-data">(.*?)</script>', page, re.S)
    assert blob is not None
    return page, files.summary.read_text(encoding="utf-8"), json.loads(blob.group(1))


# ----------------------------------------------------------------------------- the data


def test_page_data_has_the_faults_relative_to_the_first_invocation() -> None:
    doc = document(stale_read(), [KILL, fault("pause", 9, None, target="replica", port=10235, error="no such pid")])
    faults = page_data(doc, stale_read(), register())["faults"]
    assert faults == [
        {"s": 4 * MS, "e": 6 * MS, "kind": "kill", "target": "primary", "port": 10234,
         "text": "kill primary :10234, healed after 2.0 ms", "detail": ""},
        {"s": 9 * MS, "e": None, "kind": "pause", "target": "replica", "port": 10235,
         "text": "pause replica :10235, error: no such pid", "detail": '{"error": "no such pid"}'},
    ]


def test_page_data_draws_only_the_faults_of_the_drawn_range_and_at_most_the_limit() -> None:
    outside = [fault("kill", -50, -20), fault("kill", 40, 60)]  # before the first op, after the last
    assert page_data(document(stale_read(), outside), stale_read(), register())["faults"] == []
    many = [fault("latency", 0.001 * i, 0.001 * i + 1) for i in range(FAULT_LIMIT + 20)]
    drawn = page_data(document(stale_read(), many), stale_read(), register())["faults"]
    assert len(drawn) == FAULT_LIMIT and drawn[0]["s"] == 0


def test_malformed_faults_are_left_out() -> None:
    meta = {"faults": [KILL, {"fault": "kill"}, {"fault": "kill", "start": "soon", "end": None}, 7,
                       {"fault": "kill", "start": T0, "end": "later"}]}
    assert [f["start"] for f in fault_events(meta)] == [KILL["start"]]
    assert fault_events({"faults": "kill"}) == []


# ----------------------------------------------------------------------------- the narrative


def test_a_violation_names_the_last_fault_before_the_operation(tmp_path: Path) -> None:
    faults = [fault("pause", 1, 1.5, target="replica", port=10235), KILL]
    page, summary, data = report(tmp_path, stale_read(), faults)
    sentence = ("The last fault before operation 2 (the one that cannot be placed) was a kill of primary "
                "(port 10234) at 4 ms, healed at 6 ms.")
    assert f'<p class="fault-note">{sentence}</p>' in page
    assert [f["kind"] for f in data["faults"]] == ["pause", "kill"]
    assert '<span class="fault-only">' in page  # the legend says what a band is
    assert f"**Faults injected:** 2 faults (1 pause, 1 kill). {sentence}" in summary
    assert ["faults", "2 faults (1 pause, 1 kill)"] in data["run"]
    assert not any(row[0] == "faults" and "10234" in row[1] for row in data["run"])  # not the raw JSON


def test_an_operation_invoked_during_a_fault_says_so() -> None:
    doc = document(stale_read(), [KILL, fault("partition", 9, None, target="node1", port=7002)])
    assert fault_sentences(doc, MARKDOWN) == [
        "Operation 2 (the one that cannot be placed) was invoked during a fault: a partition from the clients of node1 "
        "(port 7002), from 9 ms, never healed."]
    # A short fault healed before the invocation, inside a long one still in effect: both are named.
    doc = document(stale_read(), [fault("partition", 1, None, target="node1", port=7002), KILL])
    assert fault_sentences(doc, MARKDOWN) == [
        "The last fault before operation 2 (the one that cannot be placed) was a kill of primary (port 10234) "
        "at 4 ms, healed at 6 ms.",
        "It was invoked during an earlier fault still in effect: a partition from the clients of node1 (port 7002), from 1 ms, "
        "never healed."]


def test_faults_that_began_while_the_operation_ran_and_none_before_it() -> None:
    doc = document(stale_read(), [fault("failover", 10.5, 12, target="node0", port=7000, error="timeout")])
    assert fault_sentences(doc, MARKDOWN) == [
        "No fault began before operation 2 (the one that cannot be placed) was invoked; the first began at 10.5 ms.",
        "A failover of node0 (port 7000) began while it ran, at 10.5 ms."]
    doc = document(stale_read(), [fault("pause", 8, 9, error="no such pid")])
    assert fault_sentences(doc, MARKDOWN)[0].endswith(
        "healed at 9 ms (the nemesis reported an error: no such pid).")


def test_the_operation_times_come_from_the_anomaly_without_a_counterexample() -> None:
    doc = document(stale_read(), [KILL], minimised=False)
    assert doc["counterexample"] == []
    assert fault_sentences(doc, MARKDOWN)[0].startswith("The last fault before operation 2 ")
    assert "The last fault before operation 2 " in render_summary(doc)


def test_a_linearizable_run_with_faults_gets_the_bands_but_no_sentence(tmp_path: Path) -> None:
    page, summary, data = report(tmp_path, clean(), [fault("kill", 1.5, 2.5)])
    assert data["verdict"] == "linearizable"
    assert [(f["s"], f["e"]) for f in data["faults"]] == [(1.5 * MS, 2.5 * MS)]
    assert '<span class="fault-only">' in page
    assert '<p class="fault-note">' not in page and "fault before" not in page
    assert "**Faults injected:** 1 fault (1 kill)." in summary and "fault before" not in summary


@pytest.mark.parametrize("meta_faults", [None, []])
def test_without_faults_there_is_no_fault_text(tmp_path: Path, meta_faults: list[dict[str, Any]] | None) -> None:
    page, summary, data = report(tmp_path, stale_read(), meta_faults)
    assert data["faults"] == []
    assert '<span class="fault-only">' not in page and '<p class="fault-note">' not in page
    assert "fault injected" not in page
    assert "Faults" not in summary and "fault" not in summary.lower()
    assert not any(row[0] == "faults" for row in data["run"])
    doc = document(stale_read(), meta_faults)
    without = {**doc, "meta": {key: value for key, value in doc["meta"].items() if key != "faults"}}
    assert render_html(doc, stale_read(), register()) == render_html(without, stale_read(), register())


# ----------------------------------------------------------------------------- in a real browser


BANDS = """
var out = [];
document.querySelectorAll('.fault-band').forEach(function (b) {
  var r = b.getBoundingClientRect(); out.push([b.dataset.fault, r.left, r.right, r.height]); });
return out;"""
EDGES = "var r = document.querySelector('.op[data-op=\"' + arguments[0] + '\"]').getBoundingClientRect(); return [r.left, r.right];"


def test_browser_draws_the_bands_in_both_axis_modes(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    from selenium.webdriver.support.ui import WebDriverWait

    # The kill lies between op 1's reply and op 2's invocation; the pause covers everything, open-ended.
    report(tmp_path, stale_read(), [KILL, fault("pause", -1, None, target="replica", port=10235)])
    browser.get((tmp_path / "report.html").resolve().as_uri())
    WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.documentElement.dataset.redlinReady") == "1")
    assert not browser.execute_script("return document.getElementById('nemesis').hidden")
    for mode in ("order", "time"):
        browser.execute_script("var s = document.getElementById('axis'); s.value = arguments[0];"
                               "s.dispatchEvent(new Event('change'));", mode)
        bands = {band[0]: band[1:] for band in browser.execute_script(BANDS)}
        assert set(bands) == {"0", "1"}, mode
        (pause_left, _, pause_height), (kill_left, kill_right, height) = bands["0"], bands["1"]  # by start
        assert browser.execute_script(EDGES, 1)[1] <= kill_left < kill_right <= browser.execute_script(EDGES, 2)[0], mode
        assert height > 2 * 66 and pause_height == height  # across the nemesis row and both lanes
        assert pause_left <= browser.execute_script(EDGES, 0)[0]  # begun before the first invocation
        labels = browser.execute_script("return Array.from(document.querySelectorAll('.fault-label'),"
                                        " function (l) { return [l.textContent, l.title]; })")
        assert labels[1][0] == "kill primary" and "kill primary :10234, healed after 2.0 ms" in labels[1][1]
        assert labels[0][1].startswith("pause replica :10235, not healed")
    # The bands never take a click from the operations under them.
    hit = browser.execute_script("var op = document.querySelector('.op[data-op=\"2\"]');"
                                 "op.scrollIntoView({block: 'center', inline: 'center'});"
                                 "var r = op.getBoundingClientRect();"
                                 "var e = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
                                 "return e.closest('.op') && e.closest('.op').dataset.op;")
    assert hit == "2"
    explanation = browser.find_element("id", "explanation").text
    assert "The last fault before operation 2 (the one that cannot be placed) was a kill of primary" in explanation
    assert "It was invoked during an earlier fault still in effect: a pause (SIGSTOP) of replica" in explanation
    assert "fault injected" in browser.find_element("id", "legend").text
    if os.environ.get("REDLIN_SCREENSHOTS"):
        browser.save_screenshot(os.environ["REDLIN_SCREENSHOTS"])
    assert [entry for entry in browser.get_log("browser") if entry.get("level") == "SEVERE"] == []
