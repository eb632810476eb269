"""``report.html``: one self-contained page that draws a history and what the checker found in it.

The page is a template with hand-written CSS and JavaScript and one embedded JSON blob; nothing is
fetched, so it opens from disk in any browser.  The picture follows Porcupine's visualisation: one
lane per client along a time axis, each operation a box from invocation to reply, and the
linearization drawn as numbered points joined in order; the operation that cannot be placed is red
and the model state before and after each step shows on hover or click.

Large histories stay small (a peer's page for 3,000 operations reached 1.5 GB): the page draws a
*window* of at most :data:`WINDOW` operations -- the violating part's operations nearest to the
violation, the core, then other operations of the same time range -- and summarises the rest by
client and outcome.  The default time axis is *event order*: every invocation and reply gets its
own column, wide enough for the boxes' text, so short operations stay readable and the real-time
order ("A returned before B was invoked") is exactly what the picture shows.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redlin.history.records import History, Operation, Outcome
from redlin.search.model import Model

WINDOW = 1000
"""The most operations drawn on one page."""
AROUND = 200
"""Operations of the violating part drawn on each side of the violation (by invocation time)."""
REPLAY_LIMIT = 200_000
"""The most witness steps replayed through the model to show states on a linearizable page."""
SUMMARY_CLIENTS = 15


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
        return Window(tuple(op.id for op in sorted(ops, key=lambda op: (op.invoke, op.id))), start, end)
    if focus is None:
        chosen = {op.id for op in sorted(ops, key=lambda op: (op.invoke, op.id))[:limit]}
        centre = min(op.invoke for op in ops)
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
    others = sorted((op for op in ops if op.id not in chosen),
                    key=lambda op: (not (op.invoke <= end and _end(op) >= start), abs(op.invoke - centre), op.id))
    chosen.update(op.id for op in others[:room])
    start = min(history[i].invoke for i in chosen)
    end = max(_end(history[i]) for i in chosen)
    hidden: dict[Hashable, Counter[str]] = {}
    before = after = beside = 0
    for op in ops:
        if op.id in chosen:
            continue
        hidden.setdefault(op.client, Counter())[op.outcome.value] += 1
        if _end(op) < start:
            before += 1
        elif op.invoke > end:
            after += 1
        else:
            beside += 1
    ids = tuple(sorted(chosen, key=lambda i: (history[i].invoke, i)))
    return Window(ids, start, end, before, after, beside, hidden)


def render_html(document: dict[str, Any], history: History, model: Model[Any]) -> str:
    """The page for a result document (see :mod:`redlin.report.write`) and its history."""
    data = page_data(document, history, model)
    blob = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    # Inside <script>, "</" could end the element early; JSON allows "\/" and "\u003c" instead.
    blob = blob.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    title = f"redlin: {document['verdict']}" + (f" ({document['title']})" if document.get("kind") else "")
    return (_TEMPLATE.replace("{{title}}", html.escape(title))
            .replace("{{css}}", _CSS).replace("{{js}}", _JS).replace("{{data}}", blob))


def page_data(document: dict[str, Any], history: History, model: Model[Any]) -> dict[str, Any]:
    """The JSON blob the page draws from: the window's operations and everything said about them."""
    violation = document.get("violation")
    parts = document["parts"]
    part_of: dict[int, int] = {}
    for index, part in enumerate(parts):
        for op_id in part["operations"]:
            part_of[op_id] = index
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
        command, reply = _cut(command), _cut(reply)
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
        "explanation": document["explanation"],
        "model": document["model"],
        "unit": document["time"]["unit"],
        "clients": [str(client) for client in clients],
        "ops": ops,
        "parts": [{"label": part["label"], "n": len(part["operations"])} for part in parts],
        "core": core,
        "counterexample": [{**op, "s": op["invoke"] - origin,
                            "e": None if op["complete"] is None else op["complete"] - origin}
                           for op in document.get("counterexample", [])],
        "violation": None,
        "steps": {},
        "window": {"drawn": len(window.ids), "total": len(history), "start": window.start - origin,
                   "end": window.end - origin, "before": window.before, "after": window.after,
                   "beside": window.beside, "hidden": _hidden_rows(window)},
        "run": _run_rows(document),
    }
    if violation:
        prefix = violation["prefixes"][0] if violation["prefixes"] else []
        states = [violation["initial_state"]] + [step["state"] for step in prefix]
        data["violation"] = {
            "op": violation["operation"],
            "part": violation["part"],
            "placed": len(prefix),
            "before": states[-1],
            "steps": [[step["op"], number + 1, states[number], states[number + 1]]
                      for number, step in enumerate(prefix) if step["op"] in drawn],
        }
    elif document.get("witness"):
        data["steps"] = _witness_steps(document, history, model, drawn)
    return data


def _cut(text: str, limit: int = 240) -> str:
    """Box text: a script or a large value is cut (the history file has it whole)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _witness_steps(document: dict[str, Any], history: History, model: Model[Any],
                   drawn: set[int]) -> dict[str, list[list[Any]]]:
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
                rows.append([op_id, number, model.describe_state(before) if replay else None,
                             model.describe_state(state) if replay else None])
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
        out.append([f"{len(rows) - SUMMARY_CLIENTS} other clients", rest["ok"], rest["info"], rest["fail"]])
    return out


def _run_rows(document: dict[str, Any]) -> list[list[str]]:
    outcomes = document["outcomes"]
    rows = [
        ["verdict", document["verdict"] + (f" ({document['title']})" if document.get("kind") else "")],
        ["model", document["model"]],
        ["operations", f"{document['operations']:,} ({outcomes['ok']:,} ok, {outcomes['info']:,} indeterminate, "
                       f"{outcomes['fail']:,} failed) from {document['clients']:,} clients"],
        ["independent parts", f"{len(document['parts']):,}"],
        ["search", f"{document['states_explored']:,} states in {document['elapsed']:.3f} s"],
        ["history file", document["history"]],
    ]
    for key, value in document.get("meta", {}).items():
        if key == "model":
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        rows.append([str(key), text if len(text) <= 300 else text[:299] + "…"])
    return rows


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<style>{{css}}</style>
</head>
<body>
<header class="top"><span class="brand">redlin</span><span id="subtitle"></span></header>
<main>
<section id="verdict" class="verdict">
  <h1 id="verdict-title"></h1>
  <div id="explanation"></div>
  <div class="actions"><button id="jump" type="button">Jump to the violation</button></div>
</section>
<section id="counterexample-section" hidden>
  <h2>Minimal counterexample</h2>
  <p class="note">Every other operation may or may not have happened, at any time after its invocation,
  and these still cannot be explained. Click a row to find it on the timeline.</p>
  <table id="counterexample"><thead><tr><th>op</th><th>client</th><th>invoked</th><th>returned</th>
  <th>operation</th></tr></thead><tbody></tbody></table>
</section>
<section id="timeline-section">
  <h2>Timeline</h2>
  <div class="controls">
    <label>Part (key group) <select id="part"></select></label>
    <label>Time axis <select id="axis"><option value="order">event order</option>
      <option value="time">proportional</option></select></label>
    <label>Zoom <input id="zoom" type="range" min="0.5" max="3" step="0.25" value="1"></label>
    <span id="window-note" class="note"></span>
  </div>
  <div id="legend" class="legend">
    <span><i class="sw ok"></i>operation: command, then reply</span>
    <span><i class="sw info"></i>indeterminate: no reply, may have happened or not</span>
    <span><i class="sw fail"></i>failed: definitely no effect</span>
    <span class="violation-only"><i class="sw core"></i>in the minimal counterexample</span>
    <span class="violation-only"><i class="sw bad"></i>cannot be linearized</span>
    <span><i class="pt">1</i>linearization point, in order</span>
    <span class="violation-only"><i class="pt stuck">✕</i>where the order gets stuck</span>
  </div>
  <div id="scroller"><div id="canvas"><div id="ruler"></div><div id="lanes"></div>
    <svg id="links" xmlns="http://www.w3.org/2000/svg"></svg></div></div>
  <p id="hint" class="note"></p>
  <div id="details"><div id="details-body"><p class="note">Hover over or click an operation, or a
  numbered point, to see its command, reply, times and the model state before and after it.</p></div></div>
</section>
<section id="rest-section">
  <h2>Operations not drawn</h2>
  <p id="rest-note"></p>
  <details><summary>Per client</summary>
  <table id="rest"><thead><tr><th>client</th><th>ok</th><th>indeterminate</th><th>failed</th></tr></thead>
  <tbody></tbody></table></details>
</section>
<section id="run-section">
  <h2>Run</h2>
  <table id="run"><tbody></tbody></table>
</section>
</main>
<script type="application/json" id="redlin-data">{{data}}</script>
<script>{{js}}</script>
</body>
</html>
"""

_CSS = """
:root { --ok:#e8f0fe; --ok-line:#4a73c9; --info:#fff6e0; --info-line:#c98a00; --fail:#f1f1f1;
  --fail-line:#a8a8a8; --bad:#fde0de; --bad-line:#d0281c; --core:#1d2c6b; --point:#167a3a;
  --text:#1d1f23; --muted:#5f6570; --line:#d9dce1; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--text);
  background:#fafbfc; }
.top { display:flex; gap:12px; align-items:baseline; padding:10px 20px; background:#20242c; color:#fff; }
.brand { font-weight:700; letter-spacing:.04em; }
#subtitle { color:#c9ced8; font-size:13px; }
main { padding:0 20px 40px; max-width:100%; }
h1 { font-size:22px; margin:0 0 8px; }
h2 { font-size:16px; margin:26px 0 8px; }
.verdict { margin-top:16px; padding:14px 18px; border-radius:8px; border:1px solid var(--line);
  border-left:6px solid var(--muted); background:#fff; }
.verdict.violation { border-left-color:var(--bad-line); }
.verdict.violation h1 { color:var(--bad-line); }
.verdict.linearizable { border-left-color:var(--point); }
.verdict.linearizable h1 { color:var(--point); }
.verdict.unknown { border-left-color:var(--info-line); }
#explanation p { margin:6px 0; max-width:110ch; }
#explanation p:first-child { font-size:15px; font-weight:500; }
.actions { margin-top:10px; }
button { font:inherit; padding:5px 12px; border-radius:6px; border:1px solid #b9bec8; background:#fff;
  cursor:pointer; }
#jump { background:var(--bad-line); color:#fff; border-color:var(--bad-line); font-weight:600; }
.note { color:var(--muted); font-size:13px; }
table { border-collapse:collapse; background:#fff; }
th, td { border:1px solid var(--line); padding:4px 8px; text-align:left; vertical-align:top; }
th { background:#f1f3f6; font-weight:600; }
#counterexample tbody tr { cursor:pointer; }
#counterexample tbody tr:hover { background:#f4f7ff; }
#counterexample tr.stuck td { background:var(--bad); }
td.mono, .mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12.5px; }
#part { max-width:min(460px,60vw); }
details summary { cursor:pointer; color:var(--muted); margin-bottom:6px; }
.controls { display:flex; flex-wrap:wrap; gap:16px; align-items:center; margin-bottom:6px; }
.legend { display:flex; flex-wrap:wrap; gap:14px; font-size:12.5px; color:var(--muted); margin:6px 0 8px; }
.legend span { display:inline-flex; align-items:center; gap:5px; }
.sw { display:inline-block; width:22px; height:13px; border-radius:3px; border:1.5px solid; }
.sw.ok { background:var(--ok); border-color:var(--ok-line); }
.sw.info { background:var(--info); border-color:var(--info-line); border-style:dashed; }
.sw.fail { background:var(--fail); border-color:var(--fail-line); }
.sw.core { background:var(--ok); border:2.5px solid var(--core); }
.sw.bad { background:var(--bad); border:2.5px solid var(--bad-line); }
.pt { display:inline-flex; align-items:center; justify-content:center; min-width:19px; height:19px;
  padding:0 4px; border-radius:10px; background:var(--point); color:#fff; font:600 11px/1 system-ui,sans-serif;
  font-style:normal; }
.pt.stuck { background:var(--bad-line); }
#scroller { position:relative; overflow:auto; max-height:70vh; border:1px solid var(--line);
  background:#fff; border-radius:6px; }
#canvas { position:relative; }
#ruler { position:sticky; top:0; height:26px; background:#f6f7f9; border-bottom:1px solid var(--line);
  z-index:5; }
#ruler .corner { position:sticky; left:0; z-index:6; width:96px; height:25px; padding:5px 10px;
  background:#f6f7f9; border-right:1px solid var(--line); font-size:11px; color:var(--muted); }
.tick { position:absolute; top:0; height:26px; border-left:1px solid #c5c9d0; padding:5px 0 0 3px;
  font-size:11px; color:var(--muted); white-space:nowrap; }
.lane { position:relative; height:66px; border-bottom:1px solid #eef0f3; }
.lane:nth-child(even) { background:#fcfcfd; }
.lane-label { position:sticky; left:0; z-index:4; display:flex; align-items:center; width:96px; height:100%;
  padding-left:10px; background:inherit; background-color:#f6f7f9; border-right:1px solid var(--line);
  font-weight:600; font-size:12.5px; }
.op { position:absolute; top:22px; height:38px; padding:2px 6px; border:1.5px solid var(--ok-line);
  border-radius:5px; background:var(--ok); overflow:hidden; cursor:pointer; z-index:1;
  font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:11.5px; line-height:16px; }
.op:hover, .op.selected { box-shadow:0 0 0 3px rgba(74,115,201,.35); z-index:3; }
.op .cmd, .op .rep { display:block; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
.op .rep { color:#37474f; }
.op.info { background:linear-gradient(90deg,var(--info) 70%,rgba(255,246,224,0)); border-style:dashed;
  border-color:var(--info-line); border-right-color:transparent; }
.op.fail { background:var(--fail); border-color:var(--fail-line); color:#777; }
.op.fail .cmd { text-decoration:line-through; }
.op.core { border:2.5px solid var(--core); }
.op.linearized { background:#e3f4e8; }
.op.bad { background:var(--bad); border:2.5px solid var(--bad-line); color:#7a1109; z-index:2; }
.op.flash { animation:flash 0.6s ease-in-out 4; }
@keyframes flash { 50% { box-shadow:0 0 0 7px rgba(208,40,28,.45); } }
.marker { position:absolute; top:1px; transform:translateX(-50%); z-index:6; cursor:pointer; }
.marker.stuck .pt { background:var(--bad-line); }
#links { position:absolute; left:0; top:0; pointer-events:none; z-index:2; overflow:visible; }
#details { margin-top:8px; min-height:120px; background:#fff; border:1px solid var(--line);
  border-left:4px solid var(--ok-line); border-radius:6px; padding:10px 14px; font-size:13px; max-width:1100px; }
#details.bad { border-left-color:var(--bad-line); }
#details .tag { display:inline-block; margin-left:8px; padding:0 6px; border-radius:4px; font-size:11.5px;
  font-weight:600; background:#e6e9f5; color:var(--core); }
#details h3 { margin:0 0 6px; font-size:14px; }
#details dl { display:grid; grid-template-columns:max-content 1fr; gap:3px 10px; margin:0; }
#details dt { color:var(--muted); }
#details dd { margin:0; word-break:break-word; }
.state { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12px;
  background:#f6f7f9; padding:1px 4px; border-radius:3px; }
.rejected { color:var(--bad-line); font-weight:600; }
#run td:first-child { color:var(--muted); white-space:nowrap; }
"""

_JS = r"""
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("redlin-data").textContent);
  var LABEL = 96, GAP = 16, LANE = 66, RULER = 26, MARK_Y = 11;
  var $ = function (id) { return document.getElementById(id); };
  var byId = {}, i;
  for (i = 0; i < D.ops.length; i++) byId[D.ops[i].id] = D.ops[i];
  var selected = null, pinned = false;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function num(n) { return n.toLocaleString("en-US"); }
  function fmt(t) {
    if (t === null || t === undefined) return "no reply";
    if (D.unit === "tick") return "t=" + t;
    var s = (t / 1e6).toFixed(3);
    return (s.indexOf(".") >= 0 ? s.replace(/\.?0+$/, "") : s) + " ms";
  }

  // ------------------------------------------------------------------ verdict and explanation
  var banner = $("verdict");
  banner.classList.add(D.verdict);
  $("verdict-title").textContent = D.verdict === "violation" ? "Violation: " + D.title
    : D.verdict === "linearizable" ? "Linearizable" : "Unknown: no verdict";
  D.explanation.forEach(function (p) { $("explanation").appendChild(el("p", null, p)); });
  $("subtitle").textContent = D.model + " model · " + num(D.window.total) + " operations";
  if (!D.violation) {
    $("jump").hidden = true;
    Array.prototype.forEach.call(document.querySelectorAll(".violation-only"), function (e) { e.hidden = true; });
  }

  if (D.counterexample.length) {
    $("counterexample-section").hidden = false;
    var body = document.querySelector("#counterexample tbody");
    D.counterexample.forEach(function (op) {
      var tr = el("tr");
      if (D.violation && op.id === D.violation.op) tr.className = "stuck";
      [String(op.id), String(op.client), fmt(op.s), op.e === null ? "no reply" : fmt(op.e), op.text]
        .forEach(function (text, k) { tr.appendChild(el("td", k === 4 ? "mono" : null, text)); });
      tr.addEventListener("click", function () { focusOp(op.id, true); });
      body.appendChild(tr);
    });
  }

  // ------------------------------------------------------------------ steps (linearization points)
  var stepOf = {};      // op id -> [n, before, after]
  function stepsFor(part) {
    stepOf = {};
    var rows = [];
    if (D.violation && (part === "all" || Number(part) === D.violation.part)) rows = D.violation.steps;
    else if (!D.violation && part !== "all" && D.steps[part]) rows = D.steps[part];
    rows.forEach(function (r) { stepOf[r[0]] = [r[1], r[2], r[3]]; });
    return rows;
  }

  // ------------------------------------------------------------------ parts
  var partSelect = $("part"), inWindow = {};
  D.ops.forEach(function (op) { inWindow[op.p] = (inWindow[op.p] || 0) + 1; });
  partSelect.appendChild(new Option("all parts (" + num(D.ops.length) + " drawn)", "all"));
  var defaultPart = "all", best = -1;
  Object.keys(inWindow).map(Number).sort(function (a, b) { return inWindow[b] - inWindow[a]; })
    .forEach(function (p) {
      if (p < 0) return;
      var info = D.parts[p], label = "part " + (p + 1) + ": " + info.label + " (" + num(info.n) + " ops)";
      if (D.violation && p === D.violation.part) label += " ← violation";
      partSelect.appendChild(new Option(label, String(p)));
      if (!D.violation && D.steps[String(p)] && inWindow[p] > best) { best = inWindow[p]; defaultPart = String(p); }
    });
  if (D.violation) defaultPart = String(D.violation.part);
  partSelect.value = defaultPart;

  // ------------------------------------------------------------------ layout
  function minWidth(op) {
    var chars = Math.max(op.t.length, op.r.length + 2);
    return Math.max(60, Math.min(240, 22 + chars * 7.2));
  }
  function layout(ops, mode, zoom) {
    var xs = {}, x0 = {}, x1 = {}, maxX = 0;
    if (mode === "time") {
      var lo = Infinity, hi = -Infinity;
      ops.forEach(function (op) { lo = Math.min(lo, op.s); hi = Math.max(hi, op.e === null ? op.s : op.e); });
      var width = Math.max(900, ops.length * 70) * zoom, scale = width / Math.max(1, hi - lo);
      ops.forEach(function (op) {
        x0[op.id] = (op.s - lo) * scale;
        x1[op.id] = op.e === null ? null : Math.max(x0[op.id] + 8, (op.e - lo) * scale);
        maxX = Math.max(maxX, x1[op.id] === null ? x0[op.id] : x1[op.id]);
      });
      xs = { lo: lo, scale: scale };
    } else {
      var events = [];
      ops.forEach(function (op) {
        events.push([op.s, 0, op]);
        if (op.e !== null) events.push([op.e, 1, op]);
      });
      events.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
      var x = -GAP * zoom, k = 0, ticks = [];
      while (k < events.length) {
        var t = events[k][0], kind = events[k][1], j = k, nx = x + GAP * zoom;
        while (j < events.length && events[j][0] === t && events[j][1] === kind) {
          if (kind === 1) nx = Math.max(nx, x0[events[j][2].id] + minWidth(events[j][2]) * zoom);
          j++;
        }
        for (; k < j; k++) { if (kind === 0) x0[events[k][2].id] = nx; else x1[events[k][2].id] = nx; }
        ticks.push([nx, t]);
        x = nx;
      }
      ops.forEach(function (op) { if (op.e === null) x1[op.id] = null; });
      maxX = Math.max(0, x);
      // A short history fills the view (up to 2.5 times wider), so boxes and gaps stay legible.
      var room = ($("scroller").clientWidth || 1000) - LABEL - 140;
      var stretch = maxX > 0 ? Math.min(2.5, Math.max(1, room / maxX)) : 1;
      Object.keys(x0).forEach(function (id) { x0[id] *= stretch; if (x1[id] !== null && x1[id] !== undefined) x1[id] *= stretch; });
      ticks.forEach(function (tk) { tk[0] *= stretch; });
      maxX *= stretch;
      xs = { ticks: ticks };
    }
    // An indeterminate operation runs on until its client's next operation, or past the end.
    var next = {};
    ops.slice().sort(function (a, b) { return b.s - a.s; }).forEach(function (op) {
      if (op.e === null) x1[op.id] = next[op.c] !== undefined ? Math.max(x0[op.id] + 40, next[op.c] - 6)
        : Math.max(x0[op.id] + minWidth(op) * zoom, maxX) + 90;
      next[op.c] = x0[op.id];
    });
    ops.forEach(function (op) { maxX = Math.max(maxX, x1[op.id]); });
    return { x0: x0, x1: x1, maxX: maxX, axis: xs };
  }

  function ruler(L, mode, width) {
    var r = $("ruler");
    r.textContent = "";
    r.style.width = width + "px";
    r.appendChild(el("div", "corner", D.unit === "tick" ? "event" : "time"));
    var last = -1e9, add = function (x, label) {
      if (x - last < 96) return;
      var t = el("div", "tick", label);
      t.style.left = (LABEL + x) + "px";
      r.appendChild(t);
      last = x;
    };
    if (mode === "time") {
      var span = (L.maxX) / L.axis.scale, step = Math.pow(10, Math.floor(Math.log10(Math.max(1, span / 8))));
      for (var t = Math.ceil(L.axis.lo / step) * step; (t - L.axis.lo) * L.axis.scale <= L.maxX; t += step)
        add((t - L.axis.lo) * L.axis.scale, fmt(t));
    } else {
      L.axis.ticks.forEach(function (tk) { add(tk[0], fmt(tk[1])); });
    }
  }

  // ------------------------------------------------------------------ drawing
  var boxes = {};
  function draw() {
    var part = partSelect.value, mode = $("axis").value, zoom = Number($("zoom").value);
    var ops = D.ops.filter(function (op) { return part === "all" || String(op.p) === part; });
    var steps = stepsFor(part);
    var L = layout(ops, mode, zoom);
    var width = LABEL + L.maxX + 60;
    var lanesEl = $("lanes"), canvas = $("canvas");
    lanesEl.textContent = "";
    canvas.style.width = width + "px";
    ruler(L, mode, width);
    var lanes = [], laneOf = {};
    ops.forEach(function (op) { if (laneOf[op.c] === undefined) { laneOf[op.c] = -1; lanes.push(op.c); } });
    lanes.sort(function (a, b) {
      var x = D.clients[a], y = D.clients[b], nx = Number(x), ny = Number(y);
      return isNaN(nx) || isNaN(ny) ? (x < y ? -1 : x > y ? 1 : 0) : nx - ny;
    });
    var rows = {};
    lanes.forEach(function (c, k) {
      laneOf[c] = k;
      var row = el("div", "lane");
      row.style.width = width + "px";
      row.appendChild(el("div", "lane-label", "client " + D.clients[c]));
      lanesEl.appendChild(row);
      rows[c] = row;
    });
    boxes = {};
    var stuck = D.violation ? D.violation.op : null;
    ops.forEach(function (op) {
      var b = el("div", "op " + op.o);
      if (op.k) b.classList.add("core");
      if (stepOf[op.id]) b.classList.add("linearized");
      if (op.id === stuck) { b.classList.add("bad"); b.id = "violating-op"; }
      b.dataset.op = op.id;
      b.style.left = (LABEL + L.x0[op.id]) + "px";
      b.style.width = Math.max(10, L.x1[op.id] - L.x0[op.id]) + "px";
      b.appendChild(el("span", "cmd", op.t));
      var reply = op.o === "ok" ? (op.r ? "→ " + op.r : "") : op.o === "info" ? "→ ? (no reply)" : "✗ failed";
      if (reply) b.appendChild(el("span", "rep", reply));
      b.title = "op " + op.id + ": " + op.t + (op.r ? " → " + op.r : "");
      b.addEventListener("mouseenter", function () { if (!pinned) show(op.id); });
      b.addEventListener("click", function () { pinned = true; show(op.id); });
      rows[op.c].appendChild(b);
      boxes[op.id] = b;
    });
    // Linearization points: each as early as its invocation and the order allow.
    var svg = $("links"), pts = [], p = -Infinity;
    svg.textContent = "";
    svg.setAttribute("width", width);
    svg.setAttribute("height", lanes.length * LANE + RULER);
    steps.forEach(function (s) {
      var op = byId[s[0]];
      if (!op || laneOf[op.c] === undefined || !boxes[op.id]) return;
      p = Math.min(Math.max(p + 10, L.x0[op.id] + 10), L.x1[op.id] - 4);
      pts.push([p, laneOf[op.c], s[1], op.id, false]);
    });
    if (stuck !== null && boxes[stuck] && laneOf[byId[stuck].c] !== undefined) {
      var sop = byId[stuck];
      pts.push([Math.min(Math.max(p + 10, L.x0[stuck] + 10), L.x1[stuck] - 4), laneOf[sop.c], "✕", stuck, true]);
    }
    var line = "";
    pts.forEach(function (q) {
      line += (LABEL + q[0]) + "," + (RULER + q[1] * LANE + MARK_Y) + " ";
      var m = el("div", "marker" + (q[4] ? " stuck" : ""));
      var dot = el("i", "pt", String(q[2]));
      m.appendChild(dot);
      m.style.left = (LABEL + q[0]) + "px";
      m.title = q[4] ? "cannot be placed after step " + D.violation.placed : "linearization step " + q[2];
      m.addEventListener("mouseenter", function () { if (!pinned) show(q[3]); });
      m.addEventListener("click", function () { pinned = true; show(q[3]); });
      rows[byId[q[3]].c].appendChild(m);
    });
    if (pts.length > 1) {
      var poly = document.createElementNS(svg.namespaceURI, "polyline");
      poly.setAttribute("points", line);
      poly.setAttribute("fill", "none");
      poly.setAttribute("stroke", "#167a3a");
      poly.setAttribute("stroke-width", "1.6");
      poly.setAttribute("stroke-dasharray", "5 4");
      poly.setAttribute("opacity", "0.75");
      svg.appendChild(poly);
    }
    var hint = "";
    if (!D.violation && part === "all" && Object.keys(D.steps).length)
      hint = "Select a part to see its witness: the order in which its operations take effect.";
    else if (steps.length)
      hint = "Numbered points: the " + (D.violation ? "longest linearizable prefix the checker found" : "witness order")
        + ". Hover or click an operation or a point for the model state before and after it.";
    $("hint").textContent = hint;
    if (selected !== null && boxes[selected]) boxes[selected].classList.add("selected");
  }

  // ------------------------------------------------------------------ details
  function state(text) {
    if (text === null || text === undefined) return el("span", "note", "(not recorded)");
    return el("span", "state", text || "(empty)");
  }
  function show(id) {
    var op = byId[id];
    if (!op) return;
    if (selected !== null && boxes[selected]) boxes[selected].classList.remove("selected");
    selected = id;
    if (boxes[id]) boxes[id].classList.add("selected");
    var body = $("details-body");
    body.textContent = "";
    var head = el("h3", null, "op " + op.id + " · client " + D.clients[op.c] + " · " +
      (op.o === "ok" ? "replied" : op.o === "info" ? "indeterminate" : "failed"));
    if (op.k) head.appendChild(el("span", "tag", "in the minimal counterexample"));
    body.appendChild(head);
    $("details").className = D.violation && id === D.violation.op ? "bad" : "";
    var dl = el("dl");
    function row(k, v) { dl.appendChild(el("dt", null, k)); var d = el("dd"); if (typeof v === "string") d.textContent = v; else d.appendChild(v); dl.appendChild(d); }
    row("command", el("span", "mono", op.t));
    if (op.o === "ok") row("reply", el("span", "mono", op.r || "(none)"));
    row("invoked", fmt(op.s));
    row("returned", op.o === "info" ? "no reply: may have taken effect at any time after its invocation, or never" : fmt(op.e));
    if (D.parts[op.p]) row("part", D.parts[op.p].label);
    var s = stepOf[id];
    if (D.violation && id === D.violation.op) {
      row("verdict", el("span", "rejected", "cannot be linearized after step " + D.violation.placed));
      row("state before", state(D.violation.before));
      row("state after", el("span", "rejected", "none: the model cannot give this reply there"));
    } else if (s) {
      row("step", String(s[0]));
      row("state before", state(s[1]));
      row("state after", state(s[2]));
    } else if (op.o === "ok" && D.violation && op.p === D.violation.part) {
      row("step", "not in the longest linearizable prefix");
    }
    body.appendChild(dl);
  }

  function focusOp(id, pin) {
    if (!byId[id]) return;
    if (partSelect.value !== "all" && String(byId[id].p) !== partSelect.value) { partSelect.value = "all"; draw(); }
    var b = boxes[id];
    if (!b) return;
    b.scrollIntoView({ block: "center", inline: "center" });
    b.classList.remove("flash");
    void b.offsetWidth;
    b.classList.add("flash");
    if (pin) pinned = true;
    show(id);
  }
  $("jump").addEventListener("click", function () { if (D.violation) focusOp(D.violation.op, true); });

  // ------------------------------------------------------------------ the rest
  var W = D.window, note = $("rest-note");
  if (W.total === W.drawn) {
    $("rest-section").hidden = true;
  } else {
    note.textContent = "The timeline draws " + num(W.drawn) + " of " + num(W.total) + " operations: " +
      (D.violation ? "those around the violation" : "the first ones") + ", from " + fmt(W.start) + " to " +
      fmt(W.end) + ". Not drawn: " + num(W.before) + " earlier, " + num(W.after) + " later and " +
      num(W.beside) + " in between (other parts). Every operation is in the history file; result.json " +
      "has the full parts" + (D.verdict === "linearizable" ? " and witness." : ".");
    var totals = [0, 0, 0];
    W.hidden.forEach(function (r) { totals[0] += r[1]; totals[1] += r[2]; totals[2] += r[3]; });
    note.textContent += " Of those not drawn, " + num(totals[0]) + " replied, " + num(totals[1]) +
      " are indeterminate and " + num(totals[2]) + " failed.";
    var rb = document.querySelector("#rest tbody");
    W.hidden.forEach(function (r) {
      var tr = el("tr");
      r.forEach(function (v, k) { tr.appendChild(el("td", null, k === 0 ? String(v) : num(v))); });
      rb.appendChild(tr);
    });
    $("window-note").textContent = "showing " + num(W.drawn) + " of " + num(W.total) + " operations";
  }
  var runBody = document.querySelector("#run tbody");
  D.run.forEach(function (r) {
    var tr = el("tr");
    tr.appendChild(el("td", null, r[0]));
    tr.appendChild(el("td", "mono", r[1]));
    runBody.appendChild(tr);
  });

  partSelect.addEventListener("change", draw);
  $("axis").addEventListener("change", draw);
  $("zoom").addEventListener("input", draw);
  draw();
  if (D.violation && boxes[D.violation.op]) show(D.violation.op);
  document.documentElement.setAttribute("data-redlin-ready", "1");
  window.redlinReadyAt = performance.now();
})();
"""
