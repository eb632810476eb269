"""The transactional anomalies drawn for the HTML reports: each cycle as an inline SVG.

A cycle's transactions are boxes on a circle, in the cycle's order, and each step is an arrow from
its source to its target labelled with why (``rw x``: an anti-dependency on key ``x``), coloured by
its type, as Elle's reports draw them (Kingsbury & Alvaro, VLDB 2020).  Two steps between the same
pair of transactions (a cycle of two) bend to opposite sides, so both labels stay readable.  The
drawing is plain SVG with its styles inline: the page fetches nothing.

The input is the ``"transactions"`` section of ``result.json``
(:func:`redlin.report.transactions.transactions_document`), so a saved report re-renders it.

>>> svg = cycle_svg([{"from": "T1", "to": "T2", "type": "rw", "key": "x"},
...                  {"from": "T2", "to": "T1", "type": "wr", "key": "y"}])
>>> svg.startswith("<svg") and svg.count("<rect") == 2 and ">rw x</text>" in svg
True
"""

from __future__ import annotations

import html
import math
from typing import Any, Final

__all__ = ["cycle_svg", "transactions_html", "transactions_page"]

COLOURS: Final = {"ww": "#b45309", "wr": "#1d4ed8", "rw": "#b91c1c", "realtime": "#4b5563", "process": "#047857"}
"""Each dependency type's colour (anti-dependencies red: they are what serializability forbids most)."""
BOX_WIDTH, BOX_HEIGHT = 64, 28
BEND = 28
"""How far an arrow's middle bends away from the straight line, in pixels."""
MOST_ANOMALIES: Final = 20
"""Anomalies drawn on one page; the JSON has them all."""


def _layout(names: list[str]) -> dict[str, tuple[float, float]]:
    """Where each transaction's box is centred: on a circle, clockwise from the top."""
    count = len(names)
    radius = 0 if count == 1 else max(80.0, 42.0 * count / math.pi)
    centre = radius + BOX_WIDTH + BEND
    return {name: (centre + radius * math.sin(2 * math.pi * i / count), centre - radius * math.cos(2 * math.pi * i / count))
            for i, name in enumerate(names)}


def _edge(start: tuple[float, float], end: tuple[float, float], colour: str, label: str) -> str:
    (x1, y1), (x2, y2) = start, end
    dx, dy = x2 - x1, y2 - y1
    length = math.hypot(dx, dy) or 1.0
    # Bend to the arrow's right: outwards on a clockwise circle; the reverse arrow bends the other way.
    nx, ny = dy / length, -dx / length
    cx, cy = (x1 + x2) / 2 + BEND * nx, (y1 + y2) / 2 + BEND * ny
    # Start and end on the boxes' edges, not their centres: shorten along the curve's tangents.
    sx, sy = _towards((x1, y1), (cx, cy))
    ex, ey = _towards((x2, y2), (cx, cy))
    lx, ly = (x1 + x2) / 4 + cx / 2 + 16 * nx, (y1 + y2) / 4 + cy / 2 + 16 * ny
    return (f'<path d="M{sx:.1f},{sy:.1f} Q{cx:.1f},{cy:.1f} {ex:.1f},{ey:.1f}" fill="none" stroke="{colour}" '
            f'stroke-width="1.6" marker-end="url(#arrow-{colour[1:]})"/>'
            f'<text x="{lx:.1f}" y="{ly:.1f}" fill="{colour}" font-size="12" text-anchor="middle" '
            f'dominant-baseline="middle">{html.escape(label)}</text>')


def _towards(centre: tuple[float, float], point: tuple[float, float]) -> tuple[float, float]:
    """The point where the line from a box's ``centre`` towards ``point`` leaves the box."""
    dx, dy = point[0] - centre[0], point[1] - centre[1]
    if dx == 0 and dy == 0:
        return centre
    scale = min((BOX_WIDTH / 2 + 3) / abs(dx) if dx else math.inf, (BOX_HEIGHT / 2 + 3) / abs(dy) if dy else math.inf)
    return centre[0] + dx * scale, centre[1] + dy * scale


def cycle_svg(cycle: list[dict[str, Any]]) -> str:
    """One cycle (its steps: ``from``, ``to``, ``type``, ``key``) as an SVG element."""
    names: list[str] = []
    for step in cycle:
        for name in (str(step["from"]), str(step["to"])):
            if name not in names:
                names.append(name)
    where = _layout(names)
    size = 2 * next(iter(where.values()))[0]  # the first box is at the top, centred: the circle's centre is x
    markers = "".join(
        f'<marker id="arrow-{colour[1:]}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        for colour in COLOURS.values())
    edges = []
    for step in cycle:
        kind = str(step.get("type", ""))
        key = step.get("key")
        label = kind if key is None or kind in ("realtime", "process") else f"{kind} {key}"
        edges.append(_edge(where[str(step["from"])], where[str(step["to"])], COLOURS.get(kind, "#111827"), label))
    boxes = "".join(
        f'<rect x="{x - BOX_WIDTH / 2:.1f}" y="{y - BOX_HEIGHT / 2:.1f}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" '
        f'rx="5" fill="#f9fafb" stroke="#111827"/><text x="{x:.1f}" y="{y:.1f}" font-size="13" '
        f'text-anchor="middle" dominant-baseline="middle" font-family="monospace">{html.escape(name)}</text>'
        for name, (x, y) in where.items())
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="cycle" width="{size:.0f}" height="{size:.0f}" '
            f'viewBox="0 0 {size:.0f} {size:.0f}" role="img" aria-label="dependency cycle {" ".join(names)}">'
            f"<defs>{markers}</defs>{''.join(edges)}{boxes}</svg>")


def transactions_html(document: dict[str, Any]) -> str:
    """The ``"transactions"`` section of a result document as HTML (empty without one): the
    verdict, then each anomaly with its sentences and, for a cycle, its drawing."""
    section = document.get("transactions")
    if not isinstance(section, dict):
        return ""
    verdict = str(section.get("verdict", "unknown"))
    models = ", ".join(section.get("models") or [])
    head = (f"Transactions ({section.get('kind')}), checked as {models}: {verdict}; "
            f"{section.get('transactions', 0)} transactions")
    out = [f'<section class="transactions" id="transactions"><h2>{html.escape(head)}</h2>']
    anomalies = section.get("anomalies") or []
    if not anomalies and verdict == "valid":
        out.append("<p>No anomaly: no dependency cycle or impossible read rules out the models checked.</p>")
    for anomaly in anomalies[:MOST_ANOMALIES]:
        names = ", ".join(anomaly.get("transactions") or [])
        ruled = ", ".join(anomaly.get("models") or [])
        out.append(f'<div class="tx-anomaly" data-kind="{html.escape(str(anomaly.get("kind")))}">'
                   f"<p><strong>{html.escape(str(anomaly.get('kind')))}</strong> (rules out {html.escape(ruled)}): "
                   f"{html.escape(names)}</p><ul>"
                   + "".join(f"<li>{html.escape(str(line))}</li>" for line in anomaly.get("explanation") or [])
                   + "</ul>" + (cycle_svg(anomaly["cycle"]) if anomaly.get("cycle") else "") + "</div>")
    if len(anomalies) > MOST_ANOMALIES:
        out.append(f"<p>... and {len(anomalies) - MOST_ANOMALIES} more anomalies (result.json has them all).</p>")
    out.append("</section>")
    return "\n".join(out)


def transactions_page(document: dict[str, Any]) -> str:
    """A page of its own for ``redlin check --model list-append|rw-register``: the section alone."""
    title = html.escape(f"redlin: transactions {document.get('verdict', 'unknown')}")
    body = transactions_html({"transactions": document})
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}"
            ".tx-anomaly{border-top:1px solid #d1d5db;padding-top:.5em}svg.cycle{display:block}</style></head>"
            f"<body>\n{body}\n</body></html>\n")
