"""A campaign: many deployment runs, one per cell of a matrix, and the Jepsen-style table of results.

A cell is one ``redlin run --deployment D --nemesis F`` (:mod:`redlin.deploy.runner`) with its
options; a campaign runs every cell in turn, each into a folder of its own, and keeps a table of
what each found (``results.md``, ``results.json`` and ``index.html``, rewritten after every cell,
so an interrupted campaign keeps the rows it has).  A cell that cannot run (a deployment that does
not start, a fault that does not apply) becomes an ``error`` row; the campaign goes on.

The matrix is text, one line per group of cells (lines separated by newlines or ``;``)::

    LINE       := DEPLOYMENT "x" NEMESES OPTION...
    DEPLOYMENT := a --deployment spec, without spaces: single, primary-replica[:N], sentinel or
                  cluster, optionally ,none / ,aof-everysec / ,aof-always (or one of your own,
                  hosts=/sentinel=/cluster=URL,..., whose only nemesis here is none)
    NEMESES    := NEMESIS ["," NEMESIS]...        one cell for each
    NEMESIS    := "none" | FAULT ["+" FAULT]...   "+" joins faults of one cell (--nemesis kill,pause)
    FAULT      := KIND [":" NAME "=" VALUE]...    as in --nemesis: kill:target=primary:interval=1-2
    OPTION     := "+replica-reads=N" | "+wait=N[:MS]"   after a space; for every cell of its line

Blank lines and ``#`` comments are skipped.  ``x`` stands alone between spaces; spaces inside the
nemeses are ignored (``none, pause``), but an option is a word of its own starting with ``+``.
Mistakes raise a one-line :class:`~redlin.errors.UsageError` naming the line and the bad part.

>>> [cell.label for cell in parse_matrix("single x none,pause ; sentinel x kill+pause +wait=1")]
['single x none', 'single x pause', 'sentinel x kill+pause +wait=1:100']
>>> parse_matrix("sentinel x failover +replica-reads=2")[0]
Cell(deployment='sentinel', faults=('failover',), replica_reads=2, wait=None)
>>> parse_matrix("cluster x kill + pause")
Traceback (most recent call last):
...
redlin.errors.UsageError: bad campaign line 'cluster x kill + pause': bad option '+' (an option is +replica-reads=N or +wait=N[:MS]; join faults without spaces: kill+pause)
"""

from __future__ import annotations

import html
import json
import os
import re
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Final

import redis

from redlin.deploy.faults import FAULT_KINDS, parse_nemesis
from redlin.deploy.node import DeployError
from redlin.deploy.runner import DeploymentPlan, parse_existing, parse_wait, redacted, run_deployment
from redlin.deploy.topology import Deployment
from redlin.errors import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, HistoryError, UsageError
from redlin.harness.wire import WireError

DEFAULT_MATRIX: Final = """\
single x none,kill,pause,client-pause
primary-replica x kill:target=primary,failover,partition:target=primary,split
primary-replica,aof-always x kill:target=primary
primary-replica x failover +replica-reads=2
sentinel x failover,kill:target=primary,isolate:target=primary:interval=1-2:duration=5
sentinel x failover +wait=1
cluster x kill:target=primary,failover,isolate:target=primary:interval=1-2:duration=5
"""
"""The campaign without a matrix: every local kind under the faults that apply to it (``failover``
needs a replica; ``partition`` between clients and a node is one case for all, through the proxies;
a primary isolated from the other nodes long enough for a failover, 5 s, is a Sentinel and a
Cluster case), one ``+wait`` cell and one ``+replica-reads`` cell; 17 cells, about 4 minutes at 8 s
a cell on 2 cores (a Sentinel cell takes 18-20 s: the failover, and the old primary's demotion)."""
DEFAULT_DURATION: Final = 8.0
MAX_REPLICA_READS: Final = 64
RESULTS_MD: Final = "results.md"
RESULTS_JSON: Final = "results.json"
INDEX_HTML: Final = "index.html"
COLUMNS: Final = ("deployment", "persistence", "nemesis", "options", "linearizability", "lost acked writes",
                  "sequential", "ops", "faults", "seconds", "report")
USER_ERRORS: Final = (UsageError, HistoryError, DeployError, WireError, redis.RedisError, OSError)
"""What makes a cell an ``error`` row the user can act on (any other exception is a bug of redlin's)."""
_OPTIONS_USAGE: Final = "an option is +replica-reads=N or +wait=N[:MS]"
Complaint = Callable[[str], UsageError]
"""Makes the error of one matrix line from what is wrong with it."""


# -- the matrix ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One run of a campaign: a ``--deployment``, the faults (none: an empty tuple) and options."""

    deployment: str
    faults: tuple[str, ...] = ()
    replica_reads: int = 0
    wait: tuple[int, int] | None = None

    @property
    def nemesis(self) -> str | None:
        """The ``--nemesis`` string of the cell, ``None`` without faults."""
        return ",".join(self.faults) or None

    @property
    def options(self) -> str:
        words = [f"+replica-reads={self.replica_reads}"] if self.replica_reads else []
        if self.wait is not None:
            words.append(f"+wait={self.wait[0]}:{self.wait[1]}")
        return " ".join(words)

    @property
    def label(self) -> str:
        """The cell as the matrix writes it (it parses back to the same cell, passwords aside:
        they are shown ``***``)."""
        return " ".join(filter(None, (redacted(self.deployment), "x", "+".join(self.faults) or "none", self.options)))

    def command(self, duration: float, seed: int, clients: int) -> str:
        """The ``redlin run`` that runs this cell alone (a password shown ``***``)."""
        words = ["redlin", "run", "--deployment", redacted(self.deployment)]
        if self.nemesis:
            words += ["--nemesis", self.nemesis]
        words += ["--duration", f"{duration:g}", "--seed", str(seed), "--clients", str(clients)]
        if self.replica_reads:
            words += ["--replica-reads", str(self.replica_reads)]
        if self.wait is not None:
            words += ["--wait", f"{self.wait[0]}:{self.wait[1]}"]
        return " ".join(words)


def parse_matrix(text: str) -> list[Cell]:
    """The cells of a matrix (see the module docstring), in order."""
    cells: list[Cell] = []
    for line in re.split(r"[;\n]", text):
        line = line.split("#", 1)[0].strip()
        if line:
            cells += _parse_line(line)
    if not cells:
        raise UsageError("the campaign matrix has no cells: expected lines like 'sentinel x none,failover'")
    return cells


def read_matrix(path: Path) -> list[Cell]:
    """The cells of a matrix file; an unreadable file is a UsageError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read the campaign matrix {os.fspath(path)!r}: {error}") from None
    return parse_matrix(text)


def _parse_line(line: str) -> list[Cell]:
    def bad(message: str) -> UsageError:
        return UsageError(f"bad campaign line {line!r}: {message}")

    words = line.split()
    if words.count("x") != 1:
        raise bad("expected DEPLOYMENT x NEMESIS[,NEMESIS...] [+OPTION...], with one x between spaces")
    at = words.index("x")
    if at != 1:
        raise bad("expected one deployment before x" if at else "no deployment before x")
    deployment = words[0]
    try:
        _check_deployment(deployment)
    except UsageError as error:
        raise bad(str(error)) from None
    options = [word for word in words[2:] if word.startswith("+")]
    nemeses = "".join(word for word in words[2:] if not word.startswith("+"))
    if not nemeses:
        raise bad("no nemesis after x (write none for a run without faults)")
    replica_reads, wait = 0, None
    for option in options:
        name, equals, value = option[1:].partition("=")
        if name == "replica-reads" and equals:
            replica_reads = _replica_reads(value, bad)
        elif name == "wait" and equals:
            wait = _wait(value, bad)
        else:
            joined = option == "+" or option[1:].split(":")[0] in FAULT_KINDS  # a fault after a space
            hint = "; join faults without spaces: kill+pause" if joined else ""
            raise bad(f"bad option {option!r} ({_OPTIONS_USAGE}{hint})")
    return [Cell(deployment, _faults(item, deployment, bad), replica_reads, wait) for item in nemeses.split(",")]


def _check_deployment(text: str) -> None:
    if "=" in text:
        parse_existing(text)
    else:
        Deployment.parse(text)


def _faults(item: str, deployment: str, bad: Complaint) -> tuple[str, ...]:
    """The faults of one NEMESIS item (``none``: no fault), each checked as ``--nemesis`` checks it."""
    if not item:
        raise bad("an empty nemesis between commas")
    if item == "none":
        return ()
    faults = tuple(item.split("+"))
    for fault in faults:
        if not fault:
            raise bad(f"an empty fault in {item!r} (join faults as kill+pause)")
        if fault == "none":
            raise bad(f"none cannot be joined with faults in {item!r}")
        try:
            parse_nemesis(fault)
        except UsageError as error:
            raise bad(str(error)) from None
    if "=" in deployment:
        raise bad(f"{item!r}: the faults of a campaign need a deployment redlin starts; a deployment of "
                  "your own takes none here (use redlin run --nemesis-cmd for your own faults)")
    return faults


def _replica_reads(value: str, bad: Complaint) -> int:
    if not value.isdigit() or int(value) > MAX_REPLICA_READS:
        raise bad(f"bad option '+replica-reads={value}': a number of readers from 0 to {MAX_REPLICA_READS}")
    return int(value)


def _wait(value: str, bad: Complaint) -> tuple[int, int]:
    try:
        return parse_wait(value)
    except ValueError:
        raise bad(f"bad option '+wait={value}': expected N[:MS], a number of replicas and milliseconds") from None


# -- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellResult:
    """What one cell found, or why it could not run (``verdict`` ``error``, ``error`` the message).

    ``directory`` and ``report`` are relative to the campaign's folder; ``report`` is empty when
    the cell wrote none.  ``sequential`` is the verdict with replica readers, else empty."""

    index: int
    cell: Cell
    directory: str
    verdict: str
    lost: int = 0
    acknowledged: int = 0
    sequential: str = ""
    operations: int = 0
    faults: int = 0
    seconds: float = 0.0
    report: str = ""
    error: str = ""
    internal: bool = False
    """The error is a bug of redlin's, not something about the deployment or the matrix."""
    notes: str = ""
    """What else the run said: interrupted, not settled after healing, keys left unread."""

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["cell"] = {**asdict(self.cell), "deployment": redacted(self.cell.deployment),
                            "label": self.cell.label}
        return document


def cell_directory(index: int, cell: Cell) -> str:
    """The folder of cell ``index`` (from 1): ``03-primary-replica-aof-always-x-kill-target-primary``."""
    slug = re.sub(r"[^a-z0-9]+", "-", cell.label.lower()).strip("-")[:60].rstrip("-")
    return f"{index:02d}-{slug}"


def exit_code(results: Sequence[CellResult]) -> int:
    """0 when every cell ran (whatever it found: verdicts are results), 3 when a cell could not run
    (a deployment, binary or option problem), 4 when one hit a bug of redlin's."""
    if any(result.internal for result in results):
        return EXIT_INTERNAL
    return EXIT_USAGE if any(result.verdict == "error" for result in results) else EXIT_OK


def run_campaign(cells: Sequence[Cell], out_dir: Path, duration: float = DEFAULT_DURATION, seed: int = 0,
                 progress: IO[str] | None = None, *, clients: int = 4) -> list[CellResult]:
    """Run every cell (each into ``out_dir/<index>-<slug>/``) and write the table after each.

    Returns the results so far: fewer than the cells when the campaign was interrupted (Ctrl-C),
    which ends it after the cell under way is judged."""
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = {"duration": duration, "seed": seed, "clients": clients, "cells": [cell.label for cell in cells],
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    results: list[CellResult] = []
    write_results(out_dir, results, settings)
    for index, cell in enumerate(cells, 1):
        _say(progress, f"[{index}/{len(cells)}] {cell.label}")
        try:
            result = run_cell(index, cell, out_dir, duration, seed, clients, progress)
        except KeyboardInterrupt:
            _say(progress, "interrupted: the table keeps the cells done")
            break
        results.append(result)
        write_results(out_dir, results, settings)
        _say(progress, f"[{index}/{len(cells)}] {cell.label}: {_brief(result)}")
        if "interrupted" in result.notes:
            break
    return results


def _say(progress: IO[str] | None, text: str) -> None:
    if progress is not None:
        print(text, file=progress, flush=True)


def run_cell(index: int, cell: Cell, out_dir: Path, duration: float, seed: int, clients: int,
             progress: IO[str] | None = None) -> CellResult:
    """Run one cell; a failure becomes an ``error`` result (a KeyboardInterrupt goes through)."""
    directory = cell_directory(index, cell)
    plan = DeploymentPlan(deployment=cell.deployment, out=out_dir / directory, nemesis=cell.nemesis, clients=clients,
                          replica_readers=cell.replica_reads, duration=duration, seed=seed, wait=cell.wait)
    started = time.monotonic()
    try:
        outcome = run_deployment(plan, progress)
    except Exception as error:  # any failure is this cell's row, never the campaign's end
        internal = not isinstance(error, USER_ERRORS)
        message = f"{type(error).__name__}: {error}" if internal else str(error)
        if internal and progress is not None:
            traceback.print_exc(file=progress)
        return CellResult(index, cell, directory, "error", seconds=time.monotonic() - started,
                          report=_report(out_dir, directory), error=message.splitlines()[0] if message else "",
                          internal=internal)
    document = outcome.document
    notes = ["interrupted"] if document.get("interrupted") else []
    if document.get("unsettled"):
        notes.append(f"not settled: {document['unsettled']}")
    if document.get("unread_keys"):
        notes.append(f"{document['unread_keys']} keys unread")
    return CellResult(index, cell, directory, outcome.verdict, lost=len(outcome.lost),
                      acknowledged=outcome.acknowledged,
                      sequential="" if outcome.sequential is None else outcome.sequential.verdict,
                      operations=outcome.operations, faults=len(outcome.faults),
                      seconds=time.monotonic() - started, report=_report(out_dir, directory), notes="; ".join(notes))


def _report(out_dir: Path, directory: str) -> str:
    return f"{directory}/report.html" if (out_dir / directory / "report.html").is_file() else ""


def _brief(result: CellResult) -> str:
    if result.verdict == "error":
        return f"error: {result.error} ({result.seconds:.1f} s)"
    return (f"{result.verdict}, {result.lost} of {result.acknowledged} acknowledged writes lost"
            + (f", sequential {result.sequential}" if result.sequential else "") + f" ({result.seconds:.1f} s)")


# -- the table ----------------------------------------------------------------------------------


def _deployment_columns(deployment: str) -> tuple[str, str]:
    """(topology, persistence) of a ``--deployment`` spec as the table shows them."""
    if "=" in deployment:
        return redacted(deployment), "(yours)"
    parsed = Deployment.parse(deployment)
    shown = Deployment(parsed.kind, parsed.replicas)
    return str(shown), parsed.persistence.value


def table_rows(results: Iterable[CellResult]) -> list[dict[str, str]]:
    """The table's cells as text, one dict a row keyed by :data:`COLUMNS` (the report: its path)."""
    rows = []
    for result in results:
        topology, persistence = _deployment_columns(result.cell.deployment)
        ran = result.verdict != "error"
        rows.append({
            "deployment": topology, "persistence": persistence, "nemesis": "+".join(result.cell.faults) or "none",
            "options": result.cell.options.replace("+", ""), "linearizability": result.verdict,
            "lost acked writes": f"{result.lost} of {result.acknowledged}" if ran else "",
            "sequential": result.sequential, "ops": f"{result.operations}" if ran else "",
            "faults": f"{result.faults}" if ran else "", "seconds": f"{result.seconds:.1f}",
            "report": result.report,
        })
    return rows


def _remark(result: CellResult) -> str:
    return result.error if result.verdict == "error" else result.notes


def _markdown_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(results: Sequence[CellResult]) -> str:
    """The table in Markdown; a cell's report is a link, an error or a note follows it."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for result, row in zip(results, table_rows(results)):
        report = f"[report]({row['report']})" if row["report"] else ""
        remark = _remark(result)
        row["report"] = " ".join(filter(None, (report, remark and _markdown_cell(remark))))
        lines.append("| " + " | ".join(row[column] if column == "report" else _markdown_cell(row[column])
                                       for column in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def _header(results: Sequence[CellResult], settings: dict[str, Any]) -> str:
    planned = len(settings["cells"])
    total = sum(result.seconds for result in results)
    return (f"{len(results)} of {planned} cells, {settings['duration']:g} s each, seed {settings['seed']}, "
            f"{settings['clients']} clients, started {settings['started']}; "
            + (f"{total:.0f} s in all" if len(results) == planned else f"{total:.0f} s so far"))


def render_html(results: Sequence[CellResult], settings: dict[str, Any]) -> str:
    """The table as a page of its own: reports linked, verdicts coloured."""
    body = []
    for result, row in zip(results, table_rows(results)):
        cells = []
        for column in COLUMNS:
            text = html.escape(row[column])
            if column == "report":
                link = f'<a href="{html.escape(row["report"], quote=True)}">report</a>' if row["report"] else ""
                text = " ".join(filter(None, (link, html.escape(_remark(result)))))
            kind = _colour(column, result)
            cells.append(f"<td{f' class={kind}' if kind else ''}>{text}</td>")
        title = html.escape(result.cell.command(settings["duration"], settings["seed"], settings["clients"]), True)
        body.append(f'<tr title="{title}">' + "".join(cells) + "</tr>")
    not_run = settings["cells"][len(results):]
    pending = f"<p>Not run: {html.escape(', '.join(not_run))}</p>" if not_run else ""
    return _PAGE.format(header=html.escape(_header(results, settings)),
                        columns="".join(f"<th>{html.escape(column)}</th>" for column in COLUMNS),
                        rows="\n".join(body), pending=pending)


def _colour(column: str, result: CellResult) -> str:
    if column == "linearizability" or (column == "sequential" and result.sequential):
        return {"linearizable": "good", "sequential": "good", "violation": "bad", "unknown": "unsure"}.get(
            result.verdict if column == "linearizability" else result.sequential, "error")
    if column == "lost acked writes" and result.verdict != "error":
        return "bad" if result.lost else "good"
    return ""


_PAGE: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>redlin campaign</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f2f2f2; }}
td.good {{ background: #d9f2d9; }}
td.bad {{ background: #f8d0d0; font-weight: bold; }}
td.unsure {{ background: #fbedc4; }}
td.error {{ background: #ddd; color: #700; }}
</style></head>
<body><h1>redlin campaign</h1>
<p>{header}</p>
<table><thead><tr>{columns}</tr></thead>
<tbody>
{rows}
</tbody></table>
{pending}
</body></html>
"""


def write_results(out_dir: Path, results: Sequence[CellResult], settings: dict[str, Any]) -> None:
    """``results.md``, ``results.json`` and ``index.html`` in ``out_dir``, each replaced whole (an
    interruption leaves the last complete one)."""
    not_run = settings["cells"][len(results):]
    markdown = (f"# redlin campaign\n\n{_header(results, settings)}\n\n{render_markdown(results)}"
                + (f"\nNot run: {', '.join(not_run)}\n" if not_run else ""))
    document = {**settings, "results": [result.to_json() for result in results]}
    for name, text in ((RESULTS_MD, markdown), (RESULTS_JSON, json.dumps(document, indent=2) + "\n"),
                       (INDEX_HTML, render_html(results, settings))):
        partial = out_dir / f".{name}.partial"
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, out_dir / name)
