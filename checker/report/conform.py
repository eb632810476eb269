"""The reports of ``redlin conform``: console text, ``summary.md``, ``report.html``, ``junit.xml``.

Everything is rendered from the run's ``result.json`` document
(:mod:`redlin.harness.conform_document` says what it holds), so a saved document renders again
without testing again.  Differences are grouped by command family (the model module that
implements the command: ``strings``, ``lists``, ``scripting``...), one entry per command and kind
of difference; each shows the reply Redis gives and the server's (with their RESP types when they
differ), its shrunk script, and that script as ``redis-cli`` input.  A difference that another
version profile explains is listed apart, as that version's behaviour, not as a bug.

``junit.xml`` has one test case per command exercised (class ``redlin.conform.<family>``), failed
by each difference of that command that no version explains.

>>> document = {"verdict": "conformant", "target": "redis://h:1/0", "server_version": "7.0.15",
...             "profile": "redis-7.0", "profile_reason": "redis_version 7.0.15", "actions": 3, "commands": 4,
...             "seconds": 0.1, "exercised": {"get": 4}, "families": {"get": "strings"}, "differences": [],
...             "notes": [], "interrupted_by": None, "seed": 0, "keys_deleted": 1}
>>> print(render_conform_text(document).splitlines()[0])
CONFORMANT: 3 actions (4 commands, 1 command name) against redis://h:1/0 (Redis 7.0.15), no difference from redis-7.0
"""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from redlin.explain.render import markdown_code
from redlin.report.html import asset
from redlin.report.write import _write_text

__all__ = ["FILES", "render_conform_html", "render_conform_junit", "render_conform_markdown", "render_conform_text",
           "write_conform_report"]

CONSOLE_LINES: Final = 12
"""The most commands of one difference's script the console shows (the last ones)."""
FILES: Final = {"html": "report.html", "summary": "summary.md", "result": "result.json", "junit": "junit.xml"}
"""The files of a conform report directory, by role."""


def write_conform_report(out_dir: Path, document: dict[str, Any]) -> dict[str, Path]:
    """Write ``result.json``, ``summary.md``, ``report.html`` and ``junit.xml`` into ``out_dir``
    (created if missing); the paths by role (:data:`FILES`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {role: out_dir / name for role, name in FILES.items()}
    _write_text(paths["result"], json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    _write_text(paths["summary"], render_conform_markdown(document))
    _write_text(paths["junit"], render_conform_junit(document))
    _write_text(paths["html"], render_conform_html(document))
    return paths


def _bugs(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in document["differences"] if d.get("bug", d.get("version") is None)]


def _versions(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in document["differences"] if d.get("version") is not None]


def _sections(document: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The differences under their headings: bugs, versions' behaviour, the target going away."""
    lost = [d for d in document["differences"] if d.get("version") is None and not d.get("bug", True)]
    return [(title, chosen) for title, chosen in (
        ("differences", _bugs(document)), ("version differences (not bugs)", _versions(document)),
        ("the target went away (not a difference)", lost)) if chosen]


def _grouped(differences: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for difference in sorted(differences, key=lambda d: (d["family"], d["command"], d["kind"])):
        groups.setdefault(difference["family"], []).append(difference)
    return groups


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _target(document: dict[str, Any]) -> str:
    version = document.get("server_version")
    return str(document["target"]) + (f" (Redis {version})" if version and not document.get("embedded") else "")


def headline(document: dict[str, Any]) -> str:
    """The verdict in one line.

    >>> headline({"verdict": "differences", "target": "t", "profile": "redis-7.0", "actions": 5, "commands": 9,
    ...           "exercised": {"a": 1, "b": 2}, "differences": [{"version": None}, {"version": "redis-6.2"}]})
    'DIFFERENCES: 1 difference from redis-7.0 (and 1 version difference) in 5 actions (9 commands, 2 command names) against t'
    """
    bugs, versions = _bugs(document), _versions(document)
    size = (f"{_plural(document['actions'], 'action')} ({_plural(document['commands'], 'command')}, "
            f"{_plural(len(document['exercised']), 'command name')})")
    also = f" (and {_plural(len(versions), 'version difference')})" if versions else ""
    if bugs:
        return (f"DIFFERENCES: {_plural(len(bugs), 'difference')} from {document['profile']}{also} in {size} "
                f"against {_target(document)}")
    if document["verdict"] == "target-lost":
        return f"TARGET LOST after {size} against {_target(document)}, no difference from {document['profile']}{also}"
    if document["verdict"] == "interrupted":
        return f"INTERRUPTED before any comparison with {_target(document)}"
    return f"CONFORMANT: {size} against {_target(document)}, no difference from {document['profile']}{also}"


# ----------------------------------------------------------------------------- console


def render_conform_text(document: dict[str, Any]) -> str:
    """What ``redlin conform`` prints: the verdict, then each difference grouped by family."""
    # The words of redlin run's profile line (redlin.harness.run_profile.ProfileChoice.line).
    lines = [headline(document), f"profile: {document['profile']} ({document['profile_reason']})"]
    if document.get("profile_warning"):
        lines.append(f"warning: {document['profile_warning']}")
    for title, chosen in _sections(document):
        lines.append(f"{title}, by family:")
        for family, differences in _grouped(chosen).items():
            lines.append(f"  {family}:")
            for d in differences:
                version = f" — as {d['version']} does" if d.get("version") else ""
                lines.append(f"    #{d['number']} {d['command'].upper()} {d['kind']}{version}: expected {d['expected']}, "
                             f"got {d['got']} (seen {_plural(d['occurrences'], 'time')}; "
                             f"{d['original_commands']} → {_plural(d['shrunk_commands'], 'command')})")
                script = _script_lines(d)
                if len(script) > CONSOLE_LINES:  # unshrunk (interrupted, or the target went away)
                    lines.append(f"        … {len(script) - CONSOLE_LINES} earlier commands (in the report)")
                lines += [f"        {line}" for line in script[-CONSOLE_LINES:]]
    lines += [f"note: {note}" for note in document.get("notes", [])]
    if document.get("interrupted_by"):
        lines.append(f"interrupted by {document['interrupted_by']}: the report covers what was compared")
    return "\n".join(lines)


def _script_lines(difference: dict[str, Any]) -> list[str]:
    out = []
    for line in difference["lines"]:
        if line["differs"]:
            out.append(f"{line['command']}  → expected {line['expected']}, got {line['got']}"
                       + ("   ← the difference" if line.get("first") else ""))
        else:
            out.append(f"{line['command']}  → {line['got']}")
    return out


# ----------------------------------------------------------------------------- summary.md


def render_conform_markdown(document: dict[str, Any]) -> str:
    """``summary.md``: the verdict, then a section per family with each difference's script."""
    lines = [f"## redlin conform: {headline(document)}", "",
             f"Profile {markdown_code(document['profile'])}: {document['profile_reason']}. "
             f"Seed {document['seed']}, {document['seconds']:.1f} s; keys shown without the run's prefix "
             f"{markdown_code(document['prefix'])}, scripts without redlin's guard.", ""]
    if document.get("profile_warning"):
        lines += [f"Warning: {document['profile_warning']}.", ""]
    for title, chosen in _sections(document):
        for family, differences in _grouped(chosen).items():
            lines += [f"### {title[0].upper() + title[1:]}: {family}", ""]
            for d in differences:
                version = f" (as {markdown_code(d['version'])} does)" if d.get("version") else ""
                lines += [f"**#{d['number']} {markdown_code(d['command'].upper())} — {d['kind']}**{version}: "
                          f"{d['kind_text']}; seen {_plural(d['occurrences'], 'time')}, shrunk from "
                          f"{d['original_commands']} to {_plural(d['shrunk_commands'], 'command')}.", "",
                          "| command | Redis replies | the server replied |", "|---|---|---|"]
                for line in d["lines"]:
                    mark = "**" if line.get("first") else ""
                    lines.append(f"| {markdown_code(line['command'])} | {markdown_code(line['expected'])} | "
                                 f"{mark}{markdown_code(line['got'])}{mark} |")
                lines += ["", "```", d["redis_cli"], "```", ""]
    lines += [f"- {note}" for note in document.get("notes", [])]
    lines += ["", "Files: `report.html` · `result.json` · `junit.xml`"]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- junit.xml


def render_conform_junit(document: dict[str, Any]) -> str:
    """``junit.xml``: one test case per command exercised, a failure per difference of it."""
    by_command: dict[str, list[dict[str, Any]]] = {}
    for difference in document["differences"]:
        by_command.setdefault(difference["command"], []).append(difference)
    commands = sorted(document["exercised"])
    failed = sum(1 for name in commands if any(d.get("bug", d.get("version") is None) for d in by_command.get(name, ())))
    elapsed = f"{document['seconds']:.3f}"
    suites = ElementTree.Element("testsuites", name="redlin conform", tests=str(len(commands)),
                                 failures=str(failed), errors="0", time=elapsed)
    suite = ElementTree.SubElement(suites, "testsuite", name="redlin.conform", tests=str(len(commands)),
                                   failures=str(failed), errors="0", skipped="0", time=elapsed)
    properties = ElementTree.SubElement(suite, "properties")
    for key in ("verdict", "target", "server_version", "profile", "seed", "actions"):
        ElementTree.SubElement(properties, "property", name=key, value=str(document.get(key)))
    for name in commands:
        family = document.get("families", {}).get(name, "unknown")
        case = ElementTree.SubElement(suite, "testcase", classname=f"redlin.conform.{family}", name=name.upper(),
                                      time="0")
        notes = [f"sent {_plural(document['exercised'][name], 'time')}"]
        for d in by_command.get(name, ()):
            text = "\n".join(_script_lines(d)) + "\n\nredis-cli:\n" + d["redis_cli"]
            message = f"{d['kind']}: expected {d['expected']}, got {d['got']}"
            if d.get("bug", d.get("version") is None):
                ElementTree.SubElement(case, "failure", type=d["kind"], message=message).text = text
            elif d.get("version"):
                notes.append(f"version difference, as {d['version']} does: {message}")
            else:
                notes.append(f"the target went away: {message}")
        ElementTree.SubElement(case, "system-out").text = "\n".join(notes)
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"


# ----------------------------------------------------------------------------- report.html

_STYLE: Final = """
.difference { margin:14px 0 22px; padding:10px 14px; background:#fff; border:1px solid var(--line);
  border-left:5px solid var(--bad-line); border-radius:6px; }
.difference.version { border-left-color:var(--info-line); }
.difference h3 { margin:0 0 6px; font-size:15px; }
tr.first td { background:var(--bad); }
tr.differs td.got { color:var(--bad-line); }
pre { background:#f4f5f7; padding:8px 10px; border-radius:6px; overflow-x:auto; }
"""


def render_conform_html(document: dict[str, Any]) -> str:
    """``report.html``: one self-contained page (the reports' stylesheet inlined, no script)."""
    e = html.escape
    verdict = {"differences": "violation", "conformant": "linearizable"}.get(document["verdict"], "unknown")
    body = [f'<header class="top"><span class="brand">redlin conform</span><span id="subtitle">{e(_target(document))}'
            "</span></header><main>",
            f'<section class="verdict {verdict}"><h1>{e(str(document["verdict"]).replace("-", " ").capitalize())}</h1>'
            f"<p>{e(headline(document))}</p><p class=\"note\">Profile {e(document['profile'])}: "
            f"{e(document['profile_reason'])}. Seed {e(str(document['seed']))}, {document['seconds']:.1f} s. Keys are "
            f"shown without the run's prefix <code>{e(document['prefix'])}</code>, scripts without redlin's guard."
            "</p></section>"]
    if document.get("profile_warning"):
        body.append(f'<p class="note">Warning: {e(document["profile_warning"])}.</p>')
    for note in document.get("notes", []):
        body.append(f'<p class="note">{e(note)}</p>')
    for title, chosen in _sections(document):
        body.append(f"<p><b>{e(title[0].upper() + title[1:])}</b>: " + " · ".join(
            f"{e(family)} " + ", ".join(f'<a href="#d{d["number"]}">{e(d["command"].upper())}</a>' for d in found)
            for family, found in _grouped(chosen).items()) + "</p>")
    for title, chosen in _sections(document):
        for family, differences in _grouped(chosen).items():
            body.append(f"<h2>{e(title[0].upper() + title[1:])}: {e(family)}</h2>")
            body += [_difference_html(d) for d in differences]
    body.append("<h2>Commands exercised</h2><table><thead><tr><th>command</th><th>family</th><th>sent</th>"
                "<th>differences</th></tr></thead><tbody>")
    for name, count in sorted(document["exercised"].items()):
        found = [f"#{d['number']} {d['kind']}" + (f" ({d['version']})" if d.get("version") else "")
                 for d in document["differences"] if d["command"] == name]
        body.append(f"<tr><td class=\"mono\">{e(name.upper())}</td><td>{e(document['families'].get(name, ''))}</td>"
                    f"<td>{count:,}</td><td>{e(', '.join(found))}</td></tr>")
    body.append("</tbody></table></main>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>redlin conform: "
            f"{e(document['verdict'])}</title><style>{asset('report.css')}{_STYLE}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")


def _difference_html(d: dict[str, Any]) -> str:
    e = html.escape
    version = f" — as {e(d['version'])} does" if d.get("version") else ""
    rows = []
    for line in d["lines"]:
        kind = " ".join(word for word, on in (("first", line.get("first")), ("differs", line["differs"])) if on)
        rows.append(f'<tr class="{kind}"><td class="mono">{e(line["command"])}</td><td class="mono">'
                    f'{e(line["expected"])}</td><td class="mono got">{e(line["got"])}</td></tr>')
    scripts = "".join(f"<p class=\"note\">script {e(sha)}:</p><pre>{e(text)}</pre>" for sha, text in d["scripts"].items())
    return (f'<section class="difference{" version" if d.get("version") else ""}" id="d{d["number"]}">'
            f"<h3>#{d['number']} <code>{e(d['command'].upper())}</code> {e(d['kind'])}{version}</h3>"
            f"<p>{e(d['kind_text'])}: Redis replies {e(d['expected'])}, the server replied {e(d['got'])}. Seen "
            f"{_plural(d['occurrences'], 'time')}; first after {_plural(d['found_after_actions'], 'action')} "
            f"({d['found_after_seconds']:.2f} s), shrunk from {d['original_commands']} to "
            f"{_plural(d['shrunk_commands'], 'command')} in {d['shrink_seconds']:.2f} s "
            f"({_plural(d['shrink_replays'], 'replay')}{'' if d['shrink_complete'] else ', budget spent'}).</p>"
            "<table><thead><tr><th>command</th><th>Redis replies</th><th>the server replied</th></tr></thead><tbody>"
            + "".join(rows) + f"</tbody></table>{scripts}<p class=\"note\">As <code>redis-cli</code> input:</p>"
            f"<pre>{e(d['redis_cli'])}</pre></section>")
