"""``report.html``: one self-contained page that draws a history and what the checker found in it.

The page is a template with hand-written CSS and JavaScript (package data: ``assets/report.html``,
``assets/report.css``, ``assets/report.js``, inlined into the page) and one embedded JSON blob;
nothing is fetched, so it opens from disk in any browser.  The picture follows Porcupine's visualisation: one
lane per client along a time axis, each operation a box from invocation to reply, and the
linearization drawn as numbered points joined in order; the operation that cannot be placed is red
and the model state before and after each step shows on hover or click.

Large histories stay small (a peer's page for 3,000 operations reached 1.5 GB): the page draws a
*window* of at most :data:`WINDOW` operations -- the violating part's operations nearest to the
violation, the core, then other operations of the same time range -- and summarises the rest by
client and outcome.  The default time axis is *event order*: every invocation and reply gets its
own column, wide enough for the boxes' text, so short operations stay readable and the real-time
order ("A returned before B was invoked") is exactly what the picture shows.

The explanation is rendered here, from the anomalies' data (:mod:`redlin.explain.render`): each
anomaly is a paragraph that lists the operations it names; those operations are marked on the
timeline and in the counterexample table, and hovering the paragraph (or one operation it mentions)
highlights them.  Times, clients and keys are named as in every other report
(:mod:`redlin.explain.names`).

A run with a nemesis records the faults it injected (metadata ``faults``: objects as
:meth:`redlin.deploy.faults.FaultEvent.to_json` writes them, on the operations' clock).  The page
draws each as a band across the lanes from its start to its heal, the way Jepsen draws its nemesis,
and a violation's explanation names the fault that came last before the operation that cannot be
placed (:mod:`redlin.report.faults`).
"""

from __future__ import annotations

import heapq
import html
import json
import re
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from redlin.explain.names import Names, cut, plural
from redlin.explain.render import HTML
from redlin.history.records import History, Operation, Outcome
from redlin.report.cycles_svg import transactions_html
from redlin.report.faults import FAULT_TEXT, fault_count, fault_events, fault_sentences, fault_text
from redlin.report.text import describe_target, document_paragraphs
from redlin.search.model import Model

WINDOW = 1000
"""The most operations drawn on one page."""
AROUND = 200
"""Operations of the violating part drawn on each side of the violation (by invocation time)."""
REPLAY_LIMIT = 200_000
"""The most witness steps replayed through the model to show states on a linearizable page."""
SUMMARY_CLIENTS = 15
BOX_TEXT = 240
"""The longest command or reply text drawn in a box or a table row (the history file has it whole)."""
FAULT_LIMIT = 500
"""The most faults drawn on one page (a nemesis injects a few; a runaway one is cut)."""


@dataclass(frozen=True, slots=True)
class Window:
    """The operations a page draws, and counts of the ones it leaves out.

    ``ids`` are in invocation order.  ``before``/``after`` count the hidden operations invoked
    before/after the drawn time range ``[start, end]``, ``beside`` those inside it (other parts);
    ``hidden`` counts hidden operations per client and outcome.
    """

    ids: tuple[int, ...]
    start: int
    end: int
    before: int = 0
    after: int = 0
    beside: int = 0
    hidden: dict[Hashable, Counter[str]] = field(default_factory=dict)

    @property
    def hidden_total(self) -> int:
        return self.before + self.after + self.beside


def _end(op: Operation) -> int:
    return op.complete if op.complete is not None else op.invoke


def _invocation_order(op: Operation) -> tuple[int, int]:
    return op.invoke, op.id


def select_window(
    history: History,
    *,
    focus: int | None = None,
    part: Sequence[int] = (),
    core: Sequence[int] = (),
    limit: int = WINDOW,
    around: int = AROUND,
) -> Window:
    """The operations to draw: all of them if they fit, else a window around ``focus``.

    Parameters
    ----------
    history:
        The whole history.
    focus:
        The operation to centre on (the one that cannot be placed); ``None`` starts at the beginning.
    part:
        The focus's part: its ``around`` operations nearest to the focus on each side are drawn first.
    core:
        Operations always drawn (the minimal counterexample), wherever they are.
    limit:
        The most operations drawn; others in the window's time range fill it, nearest to the focus
        first.

    Examples
    --------
    >>> from redlin import History, Operation
    >>> ops = tuple(Operation(i, i % 3, ("read",), 0, 10 * i, 10 * i + 5) for i in range(100))
    >>> window = select_window(History(ops), focus=50, part=range(0, 100, 2), limit=20, around=5)
    >>> len(window.ids), window.ids[0], window.ids[-1], window.hidden_total
    (20, 40, 60, 80)
    """
    ops = history.operations
    if len(ops) <= limit:
        start = min((op.invoke for op in ops), default=0)
        end = max((_end(op) for op in ops), default=0)
        return Window(tuple(op.id for op in sorted(ops, key=_invocation_order)), start, end)
    # heapq.nsmallest(n, ...) is sorted(...)[:n] without sorting a long history whole.
    if focus is None:
        first = heapq.nsmallest(limit, ops, key=_invocation_order)
        chosen = {op.id for op in first}
        centre = first[0].invoke
    else:
        centre = history[focus].invoke
        ordered = sorted(part or (focus,), key=lambda i: (history[i].invoke, i))
        at = ordered.index(focus) if focus in ordered else 0
        chosen = set(ordered[max(0, at - around): at + around + 1]) | set(core) | {focus}
    # Fill up to the limit: first the operations in the time range the part's window spans, then
    # the nearest in time outside it.
    start = min(history[i].invoke for i in chosen)
    end = max(_end(history[i]) for i in chosen)
    room = max(0, limit - len(chosen))
    if room:
        others = heapq.nsmallest(
            room, (op for op in ops if op.id not in chosen),
            key=lambda op: (not (op.invoke <= end and _end(op) >= start), abs(op.invoke - centre), op.id))
        chosen.update(op.id for op in others)
        start = min(history[i].invoke for i in chosen)
        end = max(_end(history[i]) for i in chosen)
    tally: dict[tuple[Hashable, Outcome], int] = {}
    before = after = beside = 0
    for op in ops:
        if op.id in chosen:
            continue
        seen = (op.client, op.outcome)
        tally[seen] = tally.get(seen, 0) + 1
        complete = op.complete
        if (op.invoke if complete is None else complete) < start:
            before += 1
        elif op.invoke > end:
            after += 1
        else:
            beside += 1
    hidden: dict[Hashable, Counter[str]] = {}
    for (client, outcome), count in tally.items():
        hidden.setdefault(client, Counter())[outcome.value] += count
    ids = tuple(sorted(chosen, key=lambda i: (history[i].invoke, i)))
    return Window(ids, start, end, before, after, beside, hidden)


@cache
def asset(name: str) -> str:
    """One of the page's files (``report.html``, ``report.css``, ``report.js``), from the package."""
    return resources.files("redlin.report").joinpath("assets", name).read_text(encoding="utf-8")


def render_html(document: dict[str, Any], history: History, model: Model[Any]) -> str:
    """The page for a result document (see :mod:`redlin.report.write`) and its history."""
    data = page_data(document, history, model)
    blob = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    # Inside <script>, "</" could end the element early; JSON allows "\/" and "\u003c" instead.
    blob = blob.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    violation = document["verdict"] == "violation"
    title = f"redlin: {document['verdict']}" + (f" ({document['title']})" if document.get("kind") else "")
    heading = (f"Violation: {document['title']}" if violation
               else "Linearizable" if document["verdict"] == "linearizable" else "Unknown: no verdict")
    subtitle = [f"{document['model']} model", plural(document["operations"], "operation")]
    target = describe_target(document.get("meta") or {})
    if target is not None:
        subtitle.append(f"target {target}")
    template = asset("report.html")
    if not violation:  # a clean page has no legend entries about violations
        template = re.sub(r'\n *<span class="violation-only">.*?</span>', "", template)
    if not data["faults"]:  # nor, without a nemesis, about faults
        template = re.sub(r'\n *<span class="fault-only">.*?</span>', "", template)
    # After the anomalies: the fault a violation came after, if a nemesis ran (its operation's times
    # from the history, which has them even when the document's counterexample is empty).
    stuck = (document.get("violation") or {}).get("operation")
    times = None
    if isinstance(stuck, int) and 0 <= stuck < len(history):
        times = (history[stuck].invoke, history[stuck].complete)
    explanation = explanation_html(document) + "".join(
        f'\n<p class="fault-note">{line}</p>' for line in fault_sentences(document, HTML, times)) + transactions_html(document)
    fields = {"title": html.escape(title), "heading": html.escape(heading),
              "subtitle": html.escape(" · ".join(subtitle)), "explanation": explanation,
              "coverage": coverage_html(document.get("meta") or {}),
              "css": asset("report.css"), "js": asset("report.js"), "data": blob}
    # One pass: text put in one field is never read as another field's placeholder.
    return re.sub(r"\{\{(\w+)\}\}", lambda match: fields[match.group(1)], template)


def explanation_html(document: dict[str, Any]) -> str:
    """The explanation's paragraphs as HTML: each anomaly from its data, with the operations it
    names (``data-ops``) listed under it; the other paragraphs as text."""
    anomalies = document.get("anomalies") or []
    out = []
    for index, paragraph in enumerate(document_paragraphs(document, HTML)):
        if index >= len(anomalies):
            out.append(f"<p>{paragraph}</p>")
            continue
        anomaly = anomalies[index]
        ids = [int(i) for i in anomaly.get("operations", ())]
        chips = "".join(f'<button type="button" class="op-chip" data-op="{i}">op {i}</button>' for i in sorted(ids))
        out.append(f'<div class="anomaly" data-kind="{html.escape(str(anomaly.get("kind")))}" '
                   f'data-ops="{" ".join(map(str, ids))}"><p>{paragraph}</p>'
                   f'<p class="anomaly-ops">{"Operation" if len(ids) == 1 else "Operations"} it names: {chips}</p></div>')
    return "\n".join(out)


def coverage_html(meta: dict[str, Any]) -> str:
    """The coverage section: what a clean verdict covers, and what it does not (empty when the run
    recorded no coverage, e.g. a history checked on its own).

    >>> meta = {"coverage_summary": ["coverage: 1 of 2 commands ..."], "coverage": {"drawable": 2,
    ...     "exercised": ["get"], "not_exercised": ["set"], "replies": {"get": {"bulk string": 3,
    ...     "error WRONGTYPE": 1}}, "transactions": {}, "scripts": {}, "never_drawn": {"keys": "whole keyspace"}}}
    >>> page = coverage_html(meta)
    >>> "<td>GET</td><td>3 bulk string</td><td>1 error WRONGTYPE</td>" in page, "SET" in page
    (True, True)
    >>> coverage_html({})
    ''
    """
    coverage = meta.get("coverage")
    if not isinstance(coverage, dict):
        return ""
    lines = [str(line) for line in meta.get("coverage_summary") or ()]
    rows = []
    for name, kinds in (coverage.get("replies") or {}).items():
        replies = ", ".join(f"{count:,} {kind}" for kind, count in kinds.items() if not kind.startswith("error"))
        errors = ", ".join(f"{count:,} {kind}" for kind, count in kinds.items() if kind.startswith("error"))
        rows.append(f"<tr><td>{html.escape(name.upper())}</td><td>{html.escape(replies) or '—'}</td>"
                    f"<td>{html.escape(errors) or '—'}</td></tr>")
    missing = ", ".join(name.upper() for name in coverage.get("not_exercised") or ())
    left_out = "".join(f"<li><code>{html.escape(name.upper())}</code>: {html.escape(str(why))}</li>"
                       for name, why in (coverage.get("never_drawn") or {}).items())
    parts = ['<section id="coverage-section">', "<h2>Coverage</h2>",
             *(f'<p class="coverage-line">{html.escape(line)}</p>' for line in lines)]
    if missing and not any(line.startswith("not exercised") for line in lines):
        parts.append(f'<p class="note">Not exercised: {html.escape(missing)}</p>')
    parts.append('<details open><summary>Replies seen, by command</summary><table id="coverage">'
                 "<thead><tr><th>command</th><th>replies</th><th>error replies</th></tr></thead>"
                 f"<tbody>{''.join(rows)}</tbody></table></details>")
    if left_out:
        parts.append(f"<details><summary>Never drawn, and why</summary><ul>{left_out}</ul></details>")
    parts.append("</section>")
    return "\n".join(parts)


def page_data(document: dict[str, Any], history: History, model: Model[Any]) -> dict[str, Any]:
    """The JSON blob the page draws from: the window's operations and everything said about them."""
    violation = document.get("violation")
    parts = document["parts"]
    part_of: dict[int, int] = {}
    for index, part in enumerate(parts):
        for op_id in part["operations"]:
            part_of[op_id] = index
    names = Names.of_document(document)
    core = document.get("core") or []
    focus = violation["operation"] if violation else None
    window = select_window(history, focus=focus, part=violation["part_operations"] if violation else (),
                           core=core)
    drawn = set(window.ids)
    clients: dict[Hashable, int] = {}
    origin = document["time"]["origin"]
    core_set = set(core)
    ops = []
    for op_id in window.ids:
        op = history[op_id]
        text = model.describe_operation(op)
        command, _, reply = text.partition(" -> ")
        command, reply = names.shown(command, BOX_TEXT), names.shown(reply, BOX_TEXT)
        ops.append({
            "id": op.id,
            "c": clients.setdefault(op.client, len(clients)),
            "s": op.invoke - origin,
            "e": None if op.complete is None else op.complete - origin,
            "o": op.outcome.value,
            "t": command,
            "r": reply if op.outcome is Outcome.OK else "",
            "p": part_of.get(op.id, -1),
            "k": 1 if op.id in core_set else 0,
        })
    data: dict[str, Any] = {
        "verdict": document["verdict"],
        "kind": document.get("kind"),
        "title": document.get("title"),
        "anomalies": [{"kind": a.get("kind"), "operations": list(a.get("operations", ()))}
                      for a in document.get("anomalies") or ()],
        "model": document["model"],
        "unit": document["time"]["unit"],
        "clients": [str(client) for client in clients],
        "ops": ops,
        "parts": [{"label": names.shown(part["label"]), "n": len(part["operations"])} for part in parts],
        "core": core,
        "counterexample": [{**op, "text": names.shown(op["text"], BOX_TEXT), "s": op["invoke"] - origin,
                            "e": None if op["complete"] is None else op["complete"] - origin}
                           for op in document.get("counterexample", [])],
        "violation": None,
        "steps": {},
        "window": {"drawn": len(window.ids), "total": len(history), "start": window.start - origin,
                   "end": window.end - origin, "before": window.before, "after": window.after,
                   "beside": window.beside, "hidden": _hidden_rows(window)},
        "run": _run_rows(document),
        "faults": _drawn_faults(document, window),
    }
    if violation:
        prefix = violation["prefixes"][0] if violation["prefixes"] else []
        states = [_shown(names, violation["initial_state"])] + [_shown(names, step["state"]) for step in prefix]
        data["violation"] = {
            "op": violation["operation"],
            "part": violation["part"],
            "placed": len(prefix),
            "before": states[-1],
            "steps": [[step["op"], number + 1, states[number], states[number + 1]]
                      for number, step in enumerate(prefix) if step["op"] in drawn],
        }
    elif document.get("witness"):
        data["steps"] = _witness_steps(document, history, model, drawn, names)
    return data


def _shown(names: Names, state: str | None) -> str | None:
    return None if state is None else names.shown(state)


def _witness_steps(document: dict[str, Any], history: History, model: Model[Any],
                   drawn: set[int], names: Names) -> dict[str, list[list[Any]]]:
    """Per part (its index, as a string), the drawn operations' witness steps: [op id, step number,
    state before, state after], states described by replaying the witness through the model."""
    steps: dict[str, list[list[Any]]] = {}
    budget = REPLAY_LIMIT
    for index, order in enumerate(document["witness"]):
        if not drawn.intersection(order):
            continue
        replay = len(order) <= budget
        budget -= len(order) if replay else 0
        state = model.init()
        rows = []
        for number, op_id in enumerate(order, 1):
            before = state
            if replay:
                after = model.step(state, history[op_id])
                replay = after is not None  # a witness of another history: stop showing states
                state = after if after is not None else state
            if op_id in drawn:
                rows.append([op_id, number, names.shown(model.describe_state(before)) if replay else None,
                             names.shown(model.describe_state(state)) if replay else None])
        steps[str(index)] = rows
    return steps


def _hidden_rows(window: Window) -> list[list[Any]]:
    rows = sorted(window.hidden.items(), key=lambda item: -sum(item[1].values()))
    out: list[list[Any]] = [[str(client), counts["ok"], counts["info"], counts["fail"]]
                            for client, counts in rows[:SUMMARY_CLIENTS]]
    if len(rows) > SUMMARY_CLIENTS:
        rest: Counter[str] = Counter()
        for _, counts in rows[SUMMARY_CLIENTS:]:
            rest.update(counts)
        out.append([f"{plural(len(rows) - SUMMARY_CLIENTS, 'other client')}", rest["ok"], rest["info"], rest["fail"]])
    return out


_FOLDED = frozenset({"verdict", "model", "operations", "clients", "target", "server_version", "embedded", "fault",
                     "time_origin", "coverage", "coverage_summary", "faults"})
"""Metadata the run table shows in its fixed rows (or the target's), not again on its own."""


def _run_rows(document: dict[str, Any]) -> list[list[str]]:
    """The run table: the verdict, model, counts and search effort, the target, then every other
    fact of the metadata that has a value (none twice, no nulls)."""
    outcomes = document["outcomes"]
    rows = [
        ["verdict", document["verdict"] + (f" ({document['title']})" if document.get("kind") else "")],
        ["model", document["model"]],
        ["operations", f"{plural(document['operations'], 'operation')} ({outcomes['ok']:,} ok, "
                       f"{outcomes['info']:,} indeterminate, {outcomes['fail']:,} failed) from "
                       f"{plural(document['clients'], 'client')}"],
        ["independent parts", f"{len(document['parts']):,}"],
        ["search", f"{plural(document['states_explored'], 'state')} in {document['elapsed']:.3f} s"],
        ["history file", document["history"]],
    ]
    meta = document.get("meta") or {}
    target = describe_target(meta)
    if target is not None:
        rows.append(["target", target])
    faults = fault_events(meta)
    if faults:
        rows.append(["faults", fault_count(faults)])
    for key, value in meta.items():
        if key in _FOLDED or value is None or value == "" or value == [] or value == {}:
            continue
        if isinstance(value, bool):
            text = "yes" if value else "no"
        else:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        rows.append([str(key).replace("_", " "), text if len(text) <= 300 else text[:299] + "…"])
    return rows


def _drawn_faults(document: dict[str, Any], window: Window) -> list[dict[str, Any]]:
    """The page's faults: those overlapping the drawn time range, times relative to the origin."""
    origin, unit = document["time"]["origin"], document["time"]["unit"]
    shown = [fault for fault in fault_events(document.get("meta") or {})
             if fault["start"] <= window.end and (fault["end"] is None or fault["end"] >= window.start)]
    return [{"s": fault["start"] - origin, "e": None if fault["end"] is None else fault["end"] - origin,
             "kind": fault["fault"], "target": fault["target"], "port": fault["port"],
             "text": fault_text(fault, unit),
             "detail": cut(json.dumps(fault["detail"], ensure_ascii=False, sort_keys=True), FAULT_TEXT)
             if fault["detail"] else ""}
            for fault in shown[:FAULT_LIMIT]]
