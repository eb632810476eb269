"""Reports: what a check found, as files a person, a CI system and a later re-render can read.

:func:`write_report` turns a checked history into a report directory::

    report.html    one self-contained page (inline CSS and JS, no network): a lane per client, each
                   operation a box with its command and reply, the longest linearizable prefix as
                   numbered linearization points, the operation that cannot be placed in red, the
                   model state before and after each step on hover or click, parts selectable
    summary.md     a few lines for a CI log or a pull-request comment
    result.json    the verdict as data, enough to re-render everything (schema below)
    junit.xml      one test case per history, for CI test-report views
    history.jsonl  the history (kept if the recorder already wrote it there)

:func:`explain` gives the plain-English account of a violation shown at the top of all three
human-readable files.  ``redlin report PATH`` (:func:`report_command`) writes a report for a history
file (checking it first) or re-renders one from a ``result.json`` or a report directory, without
checking again.

Large histories stay small on the page: the HTML draws a window of operations around the violation
(the violating part's operations nearest to it first, then others in the same time range) and
summarises the rest by client and outcome; ``result.json`` keeps the full parts and witness.

The ``result.json`` schema (version 1)
---------------------------------------
The JSON Schema is ``redlin/report/schema.json``; in words, an object with:

``format``, ``version``
    ``"redlin-result"`` and ``1``.
``verdict``
    ``"linearizable"``, ``"violation"`` or ``"unknown"``.
``kind``, ``title``
    For a violation, what kind it is: ``stale-read``, ``lost-update``, ``torn-transaction``,
    ``unjustified-nil-exec``, ``impossible-reply``, the Pub/Sub kinds ``lost-message``,
    ``duplicate-message``, ``reordered-messages``, ``phantom-message``, ``wrong-receiver-count``, or
    ``no-valid-order`` (none of the others recognised), and a human title; ``null`` and the verdict
    otherwise.  ``version-difference`` (title ``version difference: profile redis-6.2``) when the
    meta names a ``version_difference``: the model of that other version profile explains the
    failing history, so the server behaves as that version (the anomaly found stays in
    ``anomalies``).
``explanation``
    The plain-English paragraphs of :func:`explain` (keys without the run's prefix).
``anomalies``
    The explanation as data (:mod:`redlin.explain.anomalies`): for a violation, one object per
    anomaly recognised (today one; ``no-valid-order`` when none of the others was) with its
    ``kind``, ``title``, ``claim`` (which of the kind's sentences applies), ``operations`` (the ids
    it is about, which the page highlights), ``facts`` (each ``{"type": ..., fields}``: ``op``,
    ``time``, ``value``, ``key``, ``code``, ``text``, ``count``, ``message``, ``subscription``,
    ``listing``; times in the history's unit) and ``text`` (its sentence, plain).  Empty otherwise.
``model``
    The model's name (``redis``, ``redis-single``, ``register``, ``cas-register``, ``kv``,
    ``kv-single``): re-rendering loads the model by this name.
``history``
    The history file, relative to the directory of ``result.json`` (``history.jsonl``).  Operation
    ids everywhere below are that file's: the n-th invocation in it is operation n.
``operations``, ``clients``, ``outcomes``
    How many operations and clients; ``outcomes`` counts ``ok``, ``info`` (indeterminate) and
    ``fail`` operations.
``time``
    ``unit`` (``"ns"``: the recorder's monotonic clock; ``"tick"``: event positions of an
    imported log) and ``origin``, the first invocation's time; reports show times relative to it.
``states_explored``, ``elapsed``
    The search's effort (states memoised, seconds).
``parts``
    The independent parts (P-compositionality), each ``{"label": keys, "operations": [ids]}``.
    For a linearizable verdict they are the checker's parts, aligned with ``witness``; otherwise
    the model's partition of the operations that were checked (all but ``fail`` ones).
``witness``
    For a linearizable verdict, ``witness[i]`` is part ``i``'s operations in linearization order;
    indeterminate operations not listed are taken never to have happened.  Empty otherwise.
``core``, ``counterexample``
    The minimal counterexample's operation ids (empty if not minimised) and the same operations
    described (``id``, ``client``, ``invoke``, ``complete``, ``outcome``, ``text``, ``line``).
``minimise``
    ``null`` unless the violation was minimised (by ``redlin check``): ``seconds`` it took,
    its ``budget`` and ``stopped_early`` (the budget ran out: the core may not be minimal).
``violation``
    ``null`` unless a violation: ``operation`` (the id that cannot be placed), ``part`` (index
    into ``parts``), ``part_operations`` (that part's ids), ``initial_state`` (the model's initial
    state, described) and ``prefixes``: the longest linearizable prefixes, each a list of
    ``{"op": id, "state": text}`` with the model state after that step, described (``null`` for
    steps longer than 200 before the end, whose states are not kept).
``unknown``
    ``null`` unless unknown: ``reason``, ``parts_checked``, ``parts_total``.
``meta``
    The history's metadata and whatever the caller added (target, seed, command line; for a Redis
    history the version ``profile`` it was checked as, and a run's ``profile_reason``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import msgspec

from redlin.adapter.profiles import profile_in
from redlin.explain.anomalies import KINDS, TITLES, VERSION_DIFFERENCE, anomaly_json
from redlin.explain.generic import json_client
from redlin.explain.names import Names, plural
from redlin.explain.recognise import as_version_difference, classify, explain, vocabulary
from redlin.explain.render import MARKDOWN, TEXT, markdown_code, render
from redlin.history.jsonl import save_history
from redlin.history.records import History, Operation, Outcome
from redlin.report.faults import fault_count, fault_events, fault_sentences
from redlin.report.html import render_html
from redlin.report.text import LIMIT, describe_target, document_paragraphs
from redlin.search.model import Model
from redlin.search.result import Linearizable, Result, Unknown, Violation

__all__ = [
    "KINDS",
    "ReportFiles",
    "default_report_dir",
    "explain",
    "render_report",
    "result_document",
    "write_report",
]

FORMAT = "redlin-result"
VERSION = 1
SCHEMA = Path(__file__).with_name("schema.json")
"""The JSON Schema of ``result.json``."""
HISTORY_FILE = "history.jsonl"
CHECKED_HISTORY_FILE = "history.checked.jsonl"
STATE_TAIL = 200
"""How many steps at the end of a prefix keep their described states in ``result.json``."""
STATE_TEXT_LIMIT = 4000
SUMMARY_ROWS = 20


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """The files of one report directory."""

    directory: Path
    html: Path
    summary: Path
    result: Path
    junit: Path
    history: Path

    def __iter__(self) -> Iterator[Path]:
        return iter((self.html, self.summary, self.result, self.junit, self.history))


def default_report_dir(history: str | os.PathLike[str]) -> Path:
    """Where the report of a history file goes unless told: ``reports/<name>-<digest>``.

    ``<name>`` is the file's stem, or its folder's name for a run's ``history.jsonl``;
    ``<digest>`` is taken from the file's absolute path, so two inputs never share a default
    report (checking a second run's ``history.jsonl`` cannot overwrite the first one's report),
    while checking the same file again rewrites its own.

    >>> default_report_dir("/tmp/runs/a1b2/history.jsonl").name.startswith("a1b2-")
    True
    """
    path = Path(history).resolve()
    name = path.parent.name if path.stem == "history" and path.parent.name else path.stem
    digest = hashlib.sha256(os.fsencode(path)).hexdigest()[:8]
    return Path("reports") / f"{name}-{digest}"


# ----------------------------------------------------------------------------- writing


def write_report(
    out_dir: Path,
    *,
    history: History,
    model: Model[Any],
    result: Result,
    core: tuple[int, ...] = (),
    meta: dict[str, Any] | None = None,
    minimised: dict[str, Any] | None = None,
    loaded_from: bool = False,
) -> ReportFiles:
    """Write a report directory for a checked history.

    Parameters
    ----------
    out_dir:
        The directory (created if missing; files of an earlier report are replaced).
    history:
        The history that was checked.  If ``out_dir`` already has a ``history.jsonl`` (the recorder
        writes it live), that file is kept as the report's history when it holds as many operations
        (its ids are this history's); otherwise this history is saved, to ``history.jsonl`` or,
        beside a different recorded file, to ``history.checked.jsonl``.
    model:
        The model it was checked against.
    result:
        What :func:`~redlin.check` returned.
    core:
        The minimal counterexample from :func:`~redlin.minimise`, if any.
    meta:
        Extra facts for the report (target, seed, command line); merged over ``history.meta``.
    minimised:
        How minimising went (the ``minimise`` field of ``result.json``), if it ran.
    loaded_from:
        Whether ``out_dir``'s ``history.jsonl`` is the very file ``history`` was loaded from (its
        operations need no counting: a million-operation file is read again in 0.7 s).

    Returns
    -------
    ReportFiles
        The paths written.

    Examples
    --------
    >>> import tempfile
    >>> from redlin import History, Operation, check, register
    >>> history = History((Operation(0, "a", ("write", 1), None, 0, 5),
    ...                    Operation(1, "b", ("read",), 1, 6, 9)))
    >>> files = write_report(Path(tempfile.mkdtemp()), history=history, model=register(),
    ...                      result=check(history, register()))
    >>> sorted(path.name for path in files.directory.iterdir())
    ['history.jsonl', 'junit.xml', 'report.html', 'result.json', 'summary.md']
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    history_path = out_dir / HISTORY_FILE
    if history_path.exists() and not loaded_from and _invocations(history_path) != len(history):
        history_path = out_dir / CHECKED_HISTORY_FILE
    if history_path.name == CHECKED_HISTORY_FILE or not history_path.exists():
        history, result, core = _in_file_order(history, result, core)
        save_history(history, history_path, model=model.name)
    document = result_document(history, model, result, core, meta, history_file=history_path.name,
                               minimised=minimised)
    return render_report(out_dir, document, history, model)


def write_check_report(
    path: Path, fmt: str, out: Path, *, history: History, model: Model[Any], result: Result, core: tuple[int, ...],
    meta: dict[str, Any] | None = None, minimised: dict[str, Any] | None = None,
) -> ReportFiles:
    """The report of a history file that was just checked (``redlin check`` / ``redlin report``).

    A redlin JSON Lines history is copied as it is (its ids are the loaded ones); other formats
    are saved in redlin's format.  An earlier report in ``out`` is replaced.  ``meta``: more facts
    for the report (a ``version_difference``).
    """
    out.mkdir(parents=True, exist_ok=True)
    target = out / HISTORY_FILE
    if target.exists() and not target.samefile(path):
        target.unlink()  # a report directory of an earlier history: replace it whole
    if fmt == "jsonl" and not target.exists():
        shutil.copyfile(path, target)
    # A JSON Lines history's report file is now the very file it was loaded from: copied, or there.
    return write_report(out, history=history, model=model, result=result, core=core,
                        meta={"source_file": os.fspath(path), **(meta or {})}, minimised=minimised,
                        loaded_from=fmt == "jsonl")


def _invocations(path: Path) -> int:
    """How many operations a history file holds (its invocation lines), without parsing it."""
    with open(path, encoding="utf-8", errors="replace") as file:
        return sum(1 for line in file if '"event":"invoke"' in line or '"event": "invoke"' in line)


def render_report(out_dir: Path, document: dict[str, Any], history: History, model: Model[Any]) -> ReportFiles:
    """Write ``result.json``, ``summary.md``, ``junit.xml`` and ``report.html`` from a result document.

    ``document`` is what :func:`result_document` built, or a ``result.json`` read back: rendering
    never needs the search's own values, so a saved report re-renders without checking again.
    ``history`` must be the document's history file (ids are its line order).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(out_dir, out_dir / "report.html", out_dir / "summary.md", out_dir / "result.json",
                        out_dir / "junit.xml", out_dir / document.get("history", HISTORY_FILE))
    # msgspec writes what json.dumps(indent=1, ensure_ascii=False) does, five times faster (a
    # million-operation witness: 0.17 s, not 0.92 s); only floats in exponent form differ (1e300,
    # not 1e+300), and a NaN, which JSON has not, is null.
    _write_text(files.result, msgspec.json.format(msgspec.json.encode(document), indent=1).decode() + "\n")
    _write_text(files.summary, render_summary(document))
    _write_text(files.junit, render_junit(document))
    _write_text(files.html, render_html(document, history, model))
    return files


def _write_text(path: Path, text: str) -> None:
    # Written beside and renamed: a reader never sees half a report.
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _in_file_order(history: History, result: Result, core: tuple[int, ...]) -> tuple[History, Result, tuple[int, ...]]:
    """The history, result and core renumbered as the saved history file will number them.

    A history file numbers operations by invocation order; an in-memory history may not (a test's
    hand-made one).  Renumbering before writing keeps every id in the report equal to the file's.
    """
    order = sorted(history, key=lambda op: (op.invoke, op.id))
    new = {op.id: index for index, op in enumerate(order)}
    if all(old == index for old, index in new.items()):
        return history, result, core
    ops = tuple(Operation(new[op.id], op.client, op.call, op.result, op.invoke, op.complete, op.outcome, op.line)
                for op in order)
    renumbered = History(ops, history.meta)

    def ids(values: Sequence[int]) -> tuple[int, ...]:
        return tuple(new[value] for value in values)

    if isinstance(result, Linearizable):
        result = replace(result, witness=tuple(ids(w) for w in result.witness),
                         parts=tuple(ids(p) for p in result.parts))
    elif isinstance(result, Violation):
        result = replace(result, part=ids(result.part), operation=new[result.operation],
                         prefixes=tuple(tuple((new[i], s) for i, s in prefix) for prefix in result.prefixes),
                         proof=ids(result.proof))
    return renumbered, result, tuple(sorted(ids(core)))


# ----------------------------------------------------------------------------- result.json


def result_document(
    history: History,
    model: Model[Any],
    result: Result,
    core: Sequence[int] = (),
    meta: dict[str, Any] | None = None,
    *,
    history_file: str = HISTORY_FILE,
    minimised: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``result.json`` document (see the module docstring for its schema)."""
    merged = {**history.meta, **(meta or {})}
    names = Names.of(history, merged)
    explanation = classify(history, model, result, core)
    version = merged.get("version_difference")
    if isinstance(result, Violation) and isinstance(version, str):  # another profile's model explains it
        explanation = as_version_difference(explanation, version, profile_in(merged))
    outcomes = Counter(op.outcome.value for op in history)
    parts, witness = _parts(history, model, result)
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "verdict": result.verdict,
        "kind": explanation.kind,
        "title": _title(explanation.kind, version) if explanation.kind else result.verdict,
        "explanation": explanation.paragraphs(TEXT, names),
        "anomalies": [anomaly_json(anomaly, render(anomaly, names, TEXT)) for anomaly in explanation.anomalies],
        "model": model.name,
        "history": history_file,
        "operations": len(history),
        "clients": len({op.client for op in history}),
        "outcomes": {outcome.value: outcomes.get(outcome.value, 0) for outcome in Outcome},
        "time": {"unit": names.clock.unit, "origin": names.clock.origin},
        "states_explored": result.states_explored,
        "elapsed": round(result.elapsed, 6),
        "parts": parts,
        "witness": witness,
        "core": sorted(core, key=lambda i: (history[i].invoke, i)),
        "counterexample": [_operation_json(history[i], model) for i in sorted(core, key=lambda i: (history[i].invoke, i))],
        "minimise": minimised,
        "violation": None,
        "unknown": None,
        "meta": _json_safe(merged),
    }
    if isinstance(result, Violation):
        index = next((i for i, part in enumerate(parts) if set(part["operations"]) == set(result.part)), None)
        if index is None:  # the model's partition differs from the checker's: list the checker's part too
            index = len(parts)
            parts.append({"label": _label(history, model, result.part), "operations": list(result.part)})
        document["violation"] = {
            "operation": result.operation,
            "part": index,
            "part_operations": list(result.part),
            "initial_state": _state_text(model, model.init()),
            "prefixes": [
                [{"op": op_id, "state": _state_text(model, state) if step >= len(prefix) - STATE_TAIL else None}
                 for step, (op_id, state) in enumerate(prefix)]
                for prefix in result.prefixes
            ],
            "proof": list(result.proof),
        }
    elif isinstance(result, Unknown):
        document["unknown"] = {"reason": result.reason, "parts_checked": result.parts_checked,
                               "parts_total": result.parts_total}
    return document


def _title(kind: str, version: object) -> str:
    """A kind's name for people; a version difference's names the profile (``version difference:
    profile redis-6.2``)."""
    return f"{TITLES[kind]}: profile {version}" if kind == VERSION_DIFFERENCE else TITLES[kind]


def _parts(history: History, model: Model[Any], result: Result) -> tuple[list[dict[str, Any]], list[list[int]]]:
    known: dict[Hashable, tuple[Hashable, ...]] = {}  # (see _label)
    if isinstance(result, Linearizable) or result.parts:  # the check's own split
        witness = [list(order) for order in result.witness] if isinstance(result, Linearizable) else []
        return [{"label": _label(history, model, part, known=known), "operations": list(part)}
                for part in result.parts], witness
    checked = [op for op in history if op.outcome is not Outcome.FAIL]
    split = model.partition(checked) if model.partition is not None else [checked]
    return [{"label": _label(history, model, [op.id for op in part], known=known), "operations": [op.id for op in part]}
            for part in split], []


def _label(history: History, model: Model[Any], part: Sequence[int], limit: int = 4,
           known: dict[Hashable, tuple[Hashable, ...]] | None = None) -> str:
    """A part's name: the keys it touches.  ``known``: the keys of each call met so far (a
    vocabulary's keys depend on an operation's call alone; calls recur, and a million-operation
    history's labels took 2.8 s without it)."""
    words = vocabulary(model)
    if words is None or model.partition is None:
        return "all operations" if model.partition is None else plural(len(part), "operation")
    keys: set[Hashable] = set()
    known = {} if known is None else known
    for op_id in part:
        op = history[op_id]
        found = known.get(op.call)
        if found is None:
            found = known[op.call] = tuple(words.keys(op))
        keys.update(found)
    if not keys:
        return "no keys"
    names = sorted(keys, key=repr)
    text = ", ".join(words.key(key) for key in names[:limit])
    return text + (f" +{len(names) - limit} more" if len(names) > limit else "")


def _state_text(model: Model[Any], state: Hashable) -> str:
    text = model.describe_state(state)
    return text if len(text) <= STATE_TEXT_LIMIT else text[: STATE_TEXT_LIMIT - 1] + "…"


def _operation_json(op: Operation, model: Model[Any]) -> dict[str, Any]:
    return {"id": op.id, "client": json_client(op.client), "invoke": op.invoke, "complete": op.complete,
            "outcome": op.outcome.value, "text": model.describe_operation(op), "line": op.line}


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return str(value)


def load_document(path: Path) -> dict[str, Any]:
    """Read a ``result.json`` (or the one in a report directory); :class:`ValueError` if it isn't one."""
    path = Path(path)
    if path.is_dir():
        path = path / "result.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"{path}: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(f"{path}: not JSON") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{path}: not a redlin result (no \"format\": \"{FORMAT}\")")
    if document.get("version") != VERSION:
        raise ValueError(f"{path}: unsupported result version {document.get('version')!r} (this redlin reads {VERSION})")
    return document


# ----------------------------------------------------------------------------- summary.md and junit.xml


def minimise_sentence(minimised: dict[str, Any]) -> str:
    """What the console and summary.md say when minimising ran out of time.

    >>> minimise_sentence({"seconds": 5.01, "budget": 5.0, "stopped_early": True})
    'minimised for 5 s; stopped early: the core may not be minimal'
    """
    return f"minimised for {minimised['budget']:.3g} s; stopped early: the core may not be minimal"


def _headline(document: dict[str, Any]) -> str:
    verdict = document["verdict"]
    if verdict == "violation":
        return f"VIOLATION ({document['title']})"
    return str(verdict).upper()


def render_summary(document: dict[str, Any]) -> str:
    """``summary.md``: the verdict, the explanation and the counterexample, in a few lines of Markdown."""
    names = Names.of_document(document)
    clock = names.clock
    outcomes = document["outcomes"]
    lines = [f"## redlin: {_headline(document)}", ""]
    target = describe_target(document.get("meta") or {})
    if target is not None:
        lines += [f"Target: {markdown_code(target)}", ""]
    profile = (document.get("meta") or {}).get("profile")
    if isinstance(profile, str):
        reason = (document.get("meta") or {}).get("profile_reason")
        lines += [f"Profile: {markdown_code(profile)}" + (f" ({MARKDOWN.words(str(reason))})" if reason else ""), ""]
    lines += [
        f"{plural(document['operations'], 'operation')} from {plural(document['clients'], 'client')} "
        f"({outcomes['ok']:,} ok, {outcomes['info']:,} indeterminate, {outcomes['fail']:,} failed), "
        f"model {markdown_code(document['model'])}, {plural(len(document['parts']), 'independent part')}; "
        f"{plural(document['states_explored'], 'state')} explored in {document['elapsed']:.2f} s.",
        "",
    ]
    for paragraph in document_paragraphs(document, MARKDOWN):
        lines += [paragraph, ""]
    faults = fault_events(document.get("meta") or {})
    if faults:  # a nemesis's run: how many faults, and the one the violation came after
        lines += [" ".join([f"**Faults injected:** {MARKDOWN.words(fault_count(faults))}.",
                            *fault_sentences(document, MARKDOWN)]), ""]
    counterexample = document["counterexample"]
    if counterexample:
        lines += [f"**Minimal counterexample** ({plural(len(counterexample), 'operation')}, times from the start):",
                  "", "| op | client | invoked | returned | operation |", "|---:|---|---:|---:|---|"]
        stuck = (document.get("violation") or {}).get("operation")
        for op in counterexample[:SUMMARY_ROWS]:
            returned = clock.at(op["complete"]) if op["complete"] is not None else "no reply"
            mark = " **(cannot be placed)**" if op["id"] == stuck else ""
            lines.append(f"| {op['id']} | {MARKDOWN.words(str(op['client']))} | {clock.at(op['invoke'])} | "
                         f"{returned} | {markdown_code(names.shown(op['text'], LIMIT))}{mark} |")
        if len(counterexample) > SUMMARY_ROWS:
            lines.append(f"| … | | | | {len(counterexample) - SUMMARY_ROWS} more in result.json |")
        lines.append("")
        if (document.get("minimise") or {}).get("stopped_early"):
            lines += [MARKDOWN.words(minimise_sentence(document["minimise"]).capitalize() + "."), ""]
    findings = (document.get("meta") or {}).get("findings")
    if isinstance(findings, list) and len(findings) > 1:
        lines += [f"**{len(findings)} distinct findings** (`--keep-going`; the first is the one above):", ""]
        for finding in findings:
            if isinstance(finding, dict):
                program = "; ".join(str(finding.get("program", "")).splitlines())
                lines.append(f"{finding.get('number')}. {MARKDOWN.words(str(finding.get('kind')))} on "
                             f"{markdown_code(str(finding.get('command')))}: {markdown_code(names.shown(program, LIMIT))}")
        lines.append("")
    coverage = (document.get("meta") or {}).get("coverage_summary")
    if isinstance(coverage, list) and coverage:
        lines += ["**Coverage**", "", *(f"- {MARKDOWN.words(str(line))}" for line in coverage), ""]
    if names.prefix and (counterexample or document.get("anomalies")):
        lines += [f"Keys are shown without the run's prefix {markdown_code(names.prefix)}.", ""]
    lines.append("Files: `report.html` (open in a browser) · `result.json` · `junit.xml` · "
                 f"`{document['history']}`")
    return "\n".join(lines) + "\n"


def render_junit(document: dict[str, Any]) -> str:
    """``junit.xml``: one test case, linearizability of the history, failed by a violation.

    An unknown verdict is an *error* (the check did not finish), never a pass.
    """
    verdict = document["verdict"]
    name = str(document.get("meta", {}).get("name") or Path(document["history"]).stem)
    failures = 1 if verdict == "violation" else 0
    errors = 1 if verdict == "unknown" else 0
    elapsed = f"{document['elapsed']:.3f}"
    suites = ElementTree.Element("testsuites", name="redlin", tests="1", failures=str(failures),
                                 errors=str(errors), time=elapsed)
    suite = ElementTree.SubElement(suites, "testsuite", name=f"redlin.{document['model']}", tests="1",
                                   failures=str(failures), errors=str(errors), skipped="0", time=elapsed)
    properties = ElementTree.SubElement(suite, "properties")
    for key in ("verdict", "kind", "model", "operations", "clients", "states_explored"):
        ElementTree.SubElement(properties, "property", name=key, value=str(document.get(key)))
    case = ElementTree.SubElement(suite, "testcase", classname=f"redlin.{document['model']}",
                                  name=f"linearizability of {name}", time=elapsed)
    body = "\n\n".join(document["explanation"])
    if verdict == "violation":
        counterexample = "\n".join(f"  op {op['id']} client {op['client']}: {op['text']}" for op in document["counterexample"])
        failure = ElementTree.SubElement(case, "failure", type=document["kind"] or "violation",
                                         message=document["explanation"][0])
        failure.text = body + (f"\n\nMinimal counterexample:\n{counterexample}" if counterexample else "")
    elif verdict == "unknown":
        error = ElementTree.SubElement(case, "error", type="unknown", message=document["explanation"][0])
        error.text = body
    else:
        ElementTree.SubElement(case, "system-out").text = body
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"
