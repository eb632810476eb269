// report.html's script: draws the timeline from the JSON blob (see redlin/report/html.py, page_data)
// and ties the explanation to it: the operations an anomaly names are marked, and hovering the
// anomaly, or one operation it mentions, highlights them; clicking finds them on the timeline.
// Faults a nemesis injected (D.faults) are bands across the lanes, labelled in a row of their own.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("redlin-data").textContent);
  D.faults = D.faults || [];
  var LABEL = 96, GAP = 16, LANE = 66, RULER = 26, MARK_Y = 11, NEM = 24, OPEN = 50;
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
  function plural(n, noun, nouns) { return num(n) + " " + (n === 1 ? noun : (nouns || noun + "s")); }
  // Milliseconds since the first invocation, as redlin.explain.names.Clock.number writes them:
  // every nanosecond below 1 ms, to the microsecond (half up) from 1 ms on, no trailing zeros.
  function msText(ns) {
    var sign = ns < 0 ? "-" : "", whole, digits;
    ns = Math.abs(ns);
    if (ns >= 1e6) {
      var micros = Math.floor((ns + 500) / 1000);
      whole = Math.floor(micros / 1000);
      digits = String(micros % 1000).padStart(3, "0");
    } else {
      whole = 0;
      digits = String(ns).padStart(6, "0");
    }
    digits = digits.replace(/0+$/, "");
    return sign + whole + (digits ? "." + digits : "");
  }
  function fmt(t) {
    if (t === null || t === undefined) return "no reply";
    if (D.unit === "tick") return "t=" + t;
    return msText(t) + " ms";
  }

  // ------------------------------------------------------------------ verdict and explanation
  var banner = $("verdict");
  banner.classList.add(D.verdict);
  if (!D.violation) {
    $("jump").hidden = true;
    Array.prototype.forEach.call(document.querySelectorAll(".violation-only"), function (e) { e.hidden = true; });
  }

  // The operations the explanation's anomalies name (marked on the timeline and in the table).
  var named = {};
  D.anomalies.forEach(function (a) { a.operations.forEach(function (id) { named[id] = true; }); });

  if (D.counterexample.length) {
    $("counterexample-section").hidden = false;
    var body = document.querySelector("#counterexample tbody");
    D.counterexample.forEach(function (op) {
      var tr = el("tr");
      if (D.violation && op.id === D.violation.op) tr.className = "stuck";
      if (named[op.id]) tr.classList.add("named");
      tr.dataset.op = op.id;
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
  partSelect.appendChild(new Option("all parts (" + plural(D.ops.length, "operation") + " drawn)", "all"));
  var defaultPart = "all", best = -1;
  Object.keys(inWindow).map(Number).sort(function (a, b) { return inWindow[b] - inWindow[a]; })
    .forEach(function (p) {
      if (p < 0) return;
      var info = D.parts[p], label = "part " + (p + 1) + ": " + info.label + " (" + plural(info.n, "operation") + ")";
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

  // ------------------------------------------------------------------ faults (a nemesis's)
  // Where time t falls on the axis: proportionally, or in event order between the two ticks
  // around it; a time before the first tick is the left edge, after the last the right one.
  function xAt(L, t) {
    if (!L.axis.ticks) return Math.min(Math.max(0, (t - L.axis.lo) * L.axis.scale), L.maxX);
    var tk = L.axis.ticks, a = 0, b = tk.length - 1;
    if (!tk.length || t < tk[0][1]) return 0;
    if (t >= tk[b][1]) return t === tk[b][1] ? tk[b][0] : L.maxX;
    while (b - a > 1) {  // tk[a] is at or before t, tk[b] after it
      var m = (a + b) >> 1;
      if (tk[m][1] <= t) a = m; else b = m;
    }
    return tk[a][0] + (tk[b][0] - tk[a][0]) * (t - tk[a][1]) / (tk[b][1] - tk[a][1]);
  }
  // The bands, behind the operations (which stay clickable), and their labels in the nemesis row;
  // the height that row takes (none without faults).
  function drawFaults(L, laneCount, width) {
    var box = $("faults"), row = $("nemesis");
    box.textContent = "";
    row.textContent = "";
    row.hidden = !D.faults.length;
    if (!D.faults.length) return 0;
    row.style.width = width + "px";
    row.appendChild(el("div", "lane-label", "nemesis"));
    D.faults.forEach(function (f, k) {
      var x0 = xAt(L, f.s), x1 = f.e === null ? L.maxX + OPEN : Math.max(x0 + 4, xAt(L, f.e));
      var tip = f.text + "\n" + fmt(f.s) + " to " + (f.e === null ? "the end (not healed)" : fmt(f.e)) +
        (f.detail ? "\n" + f.detail : "");
      var band = el("div", "fault-band" + (f.e === null ? " open" : ""));
      band.dataset.fault = k;
      band.style.left = (LABEL + x0) + "px";
      band.style.width = (x1 - x0) + "px";
      band.style.top = RULER + "px";
      band.style.height = (NEM + laneCount * LANE) + "px";
      box.appendChild(band);
      var label = el("div", "fault-label", f.kind + (f.target ? " " + f.target : ""));
      label.dataset.fault = k;
      label.style.left = (LABEL + x0) + "px";
      label.style.maxWidth = Math.max(90, x1 - x0) + "px";
      label.title = tip;
      row.appendChild(label);
    });
    return NEM;
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
    var top = RULER + drawFaults(L, lanes.length, width);
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
      if (named[op.id]) b.classList.add("named");
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
    svg.setAttribute("height", lanes.length * LANE + top);
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
      line += (LABEL + q[0]) + "," + (top + q[1] * LANE + MARK_Y) + " ";
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
    note.textContent = "The timeline draws " + num(W.drawn) + " of " + plural(W.total, "operation") + ": " +
      (D.violation ? "those around the violation" : "the first ones") + ", from " + fmt(W.start) + " to " +
      fmt(W.end) + ". Not drawn: " + num(W.before) + " earlier, " + num(W.after) + " later and " +
      num(W.beside) + " in between (other parts). Every operation is in the history file; result.json " +
      "has the full parts" + (D.verdict === "linearizable" ? " and witness." : ".");
    var totals = [0, 0, 0];
    W.hidden.forEach(function (r) { totals[0] += r[1]; totals[1] += r[2]; totals[2] += r[3]; });
    note.textContent += " Of those not drawn, " + num(totals[0]) + " replied, " + num(totals[1]) +
      (totals[1] === 1 ? " is" : " are") + " indeterminate and " + num(totals[2]) + " failed.";
    var rb = document.querySelector("#rest tbody");
    W.hidden.forEach(function (r) {
      var tr = el("tr");
      r.forEach(function (v, k) { tr.appendChild(el("td", null, k === 0 ? String(v) : num(v))); });
      rb.appendChild(tr);
    });
    $("window-note").textContent = "showing " + num(W.drawn) + " of " + plural(W.total, "operation");
  }
  var runBody = document.querySelector("#run tbody");
  D.run.forEach(function (r) {
    var tr = el("tr");
    tr.appendChild(el("td", null, r[0]));
    tr.appendChild(el("td", "mono", r[1]));
    runBody.appendChild(tr);
  });

  // ------------------------------------------------------------------ the explanation, on the timeline
  var lit = [];
  function highlight(ids) {
    lit.forEach(function (e) { e.classList.remove("highlight"); });
    lit = [];
    ids.forEach(function (id) {
      var found = document.querySelectorAll('#lanes .op[data-op="' + id + '"], #counterexample tr[data-op="' + id + '"]');
      Array.prototype.forEach.call(found, function (e) { e.classList.add("highlight"); lit.push(e); });
    });
  }
  function opsOf(e) { return (e.dataset.ops || e.dataset.op || "").split(" ").filter(Boolean).map(Number); }
  Array.prototype.forEach.call(document.querySelectorAll("#explanation .anomaly, #explanation [data-op]"), function (e) {
    e.addEventListener("mouseenter", function () { highlight(opsOf(e)); });
    e.addEventListener("mouseleave", function () {
      var owner = e.closest(".anomaly");
      highlight(owner && owner !== e ? opsOf(owner) : []);
    });
    if (e.dataset.op !== undefined) {
      e.addEventListener("click", function () { focusOp(Number(e.dataset.op), true); });
    }
  });

  partSelect.addEventListener("change", draw);
  $("axis").addEventListener("change", draw);
  $("zoom").addEventListener("input", draw);
  draw();
  if (D.violation && boxes[D.violation.op]) show(D.violation.op);
  document.documentElement.setAttribute("data-redlin-ready", "1");
  window.redlinReadyAt = performance.now();
})();
