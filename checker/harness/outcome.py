"""What ``redlin run`` found, as data (:class:`RunOutcome`) and as the text it prints (:func:`render_outcome`).

The outcome is a value: the verdict and its exit code, the counts, the files written, and for a
violation the shrunk program with the history of its failing run and the minimal counterexample.
The text names things as every report does (:mod:`redlin.explain.names`), so that what a reader
sees in one part they find in the next, and in the report files:

- *times* are milliseconds from the run's start (the first invocation of its ``history.jsonl``;
  the failing run's history says so in its ``time_origin``), never the recorder's raw monotonic
  nanoseconds;
- *clients* are the ids the history gives them: the shrunk program's lines are labelled with the
  ids its clients had in the failing run, the ones the counterexample names;
- *keys* are shown without the run's prefix ``redlin:<run-id>:<n>:``, in the explanation, the
  counterexample and the notes alike (the program names its keys without it already).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from redlin.adapter.redis_model import redis_model
from redlin.cycles.check import TransactionVerdict
from redlin.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_UNKNOWN, EXIT_VIOLATION
from redlin.explain.names import Clock, Names, plural
from redlin.harness.actions import Program
from redlin.harness.interrupts import signal_text
from redlin.harness.run_profile import ProfileChoice, version_advice
from redlin.history.records import History
from redlin.report.text import render_text
from redlin.report.transactions import transactions_text
from redlin.search.result import Result

__all__ = ["EXIT_CODES", "RunOutcome", "RunStats", "render_outcome"]

EXIT_CODES: Final = {"linearizable": EXIT_OK, "violation": EXIT_VIOLATION, "unknown": EXIT_UNKNOWN,
                     "interrupted": EXIT_INTERRUPTED}
"""The exit code of each verdict of a run (the codes themselves live in :mod:`redlin.errors`)."""


@dataclass(frozen=True, slots=True)
class RunStats:
    """What a run did."""

    programs: int
    executions: int
    operations: int
    elapsed: float
    unknown_executions: int = 0
    indeterminate: int = 0
    """Operations that timed out or lost their connection (they may or may not have taken effect)."""
    found_after_operations: int | None = None
    found_after_seconds: float | None = None
    interrupted: bool = False
    """A signal (Ctrl-C, SIGTERM, SIGHUP) cut the run short: what was recorded was checked."""
    interrupted_by: str | None = None
    """The signal's name (``"SIGTERM"``), when known."""
    target_lost: str | None = None
    """Why the run ended early: the target went away and did not come back (the exit code is then
    3, unless a violation was found)."""
    restarted_executions: int = 0
    """Runs (or Pub/Sub rounds) the target restarted during."""


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """The result of :func:`redlin.run`.

    ``result`` is about ``history``: for a violation, the history of the failing run of the shrunk
    ``program`` (and ``core``, the minimal counterexample, are operation ids in it); otherwise the
    runs checked, put one after another.  ``result`` is ``None`` only when nothing was checked.
    """

    verdict: str
    exit_code: int
    run_id: str
    prefix: str
    target: str
    out: Path
    paths: Mapping[str, Path]
    stats: RunStats
    result: Result | None = None
    history: History | None = None
    core: tuple[int, ...] = ()
    program: Program | None = None
    notes: tuple[str, ...] = ()
    program_clients: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    """For each client list of ``program`` (``-1`` for its setup), the client ids it had in
    ``history`` (one per connection: a client that reconnected has several)."""
    findings: tuple[str, ...] = ()
    """With ``--keep-going`` and more than one finding: every finding, a few lines each."""
    coverage: tuple[str, ...] = ()
    """What the run exercised, in a few lines (:meth:`redlin.harness.coverage.Coverage.summary`)."""
    history_ids: tuple[int, ...] = ()
    """For each operation of ``history`` (the failing execution, ids from 0), its id in the report's
    history (``history.jsonl``), so that the console numbers operations as the report does; empty
    when they are the same."""
    profile: ProfileChoice | None = None
    """The version the run checked the target as, and why (``--profile``)."""
    version_difference: str | None = None
    """For a violation: another profile whose model explains the failing run -- the server behaves
    as that version there, which is no bug (:func:`redlin.adapter.profiles.explaining_profile`)."""
    transactions: TransactionVerdict | None = None
    """For a transactional workload (list-append, rw-register): the recorded history checked for
    named isolation anomalies (:mod:`redlin.harness.run_transactions`)."""
    transactions_kind: str = ""
    """The kind of that check: ``"list-append"`` or ``"rw-register"``."""


def render_outcome(outcome: RunOutcome) -> str:
    """What ``redlin run`` prints: the verdict, the shrunk program and counterexample, the files."""
    stats = outcome.stats
    head = (f"{outcome.verdict.upper()}: {stats.operations} operations in {stats.executions} runs of "
            f"{stats.programs} programs against {outcome.target}")
    if stats.interrupted:
        head += f" (interrupted by {signal_text(stats.interrupted_by or 'SIGINT')}: partial check)"
    elif stats.target_lost is not None:
        head += " (the target went away: partial check)"
    lines = [head]
    if outcome.profile is not None:
        lines.append(f"  {outcome.profile.line()}")
        if outcome.profile.warning is not None:
            lines.append(f"  warning: {outcome.profile.warning}")
    if outcome.version_difference is not None:
        lines.append(f"  {version_advice(outcome.version_difference)}")
    lines += [f"  note: {note}" for note in outcome.notes]
    lines += [f"  {line}" for line in outcome.coverage]
    if outcome.findings:
        lines.append(f"  {sum(1 for line in outcome.findings if line.startswith('finding '))} distinct findings "
                     "(--keep-going); the first is shown below and in the report:")
        lines += [f"    {line}" for line in outcome.findings]
    if stats.indeterminate:
        lines.append(f"  note: {plural(stats.indeterminate, 'operation')} indeterminate (timeouts or lost "
                     "connections): they may or may not have taken effect, and constrain little")
    if outcome.verdict == "violation" and outcome.program is not None:
        if stats.found_after_operations is not None and stats.found_after_seconds is not None:
            lines.append(f"  found after {stats.found_after_operations} operations ({stats.found_after_seconds:.1f} s)")
        lines.append(f"  shrunk program ({outcome.program.size} steps; clients named as in the failing run below):")
        labels = _client_labels(outcome.program, outcome.program_clients)
        lines += ["    " + line for line in outcome.program.describe(labels).splitlines()]
    # The verdict names keys and times by the history's own names (its prefix and time origin);
    # the lines around it (notes, problems) leave out the run's prefix by the same rule.
    names = Names(Clock(0, "ns"), outcome.prefix)
    shown = [names.shown(line) for line in lines]
    if outcome.result is not None and outcome.history is not None:
        text = render_text(outcome.history, redis_model(), outcome.result, outcome.core, outcome.history_ids)
        shown += ["  " + line for line in text.splitlines()]
        if outcome.history_ids:
            shown.append("  (operations are numbered as in history.jsonl)")
    elif outcome.verdict == "interrupted":
        shown.append(f"  nothing was recorded before {signal_text(stats.interrupted_by or 'SIGINT')}")
    if outcome.transactions is not None:
        shown += ["  " + line for line in transactions_text(outcome.transactions, outcome.transactions_kind).splitlines()]
    if outcome.verdict == "unknown":
        if stats.restarted_executions:
            shown.append(f"  ({plural(stats.restarted_executions, 'run')} lived through a restart of the target: "
                         "where what it kept of their data cannot be told, they cannot be decided)")
        if stats.unknown_executions > stats.restarted_executions:
            shown.append("  (unknown is not linearizable: give the checker more time with --check-time, "
                         "or fewer --clients/--steps)")
    if shown[:len(lines)] != lines and not any(names.note() in line for line in shown):
        shown.append(f"  ({names.note()})")
    files = [f"history: {outcome.paths['history']}"]
    files += [f"{name}: {path}" for name, path in outcome.paths.items() if name != "history"]
    return "\n".join(shown + files)


def _client_labels(program: Program, clients: Mapping[int, tuple[int, ...]]) -> dict[int, str]:
    """Each client list's label in the program's text: its client id(s) in the failing run."""
    labels: dict[int, str] = {}
    if program.setup:
        ids = clients.get(-1, ())
        labels[-1] = f"setup (client {_ids(ids)})" if ids else "setup"
    for slot, actions in enumerate(program.clients):
        if actions:
            ids = clients.get(slot, ())
            labels[slot] = f"client {_ids(ids)}" if ids else f"a client that sent nothing (list {slot})"
    return labels


def _ids(ids: tuple[int, ...]) -> str:
    """``7``, or ``7, then 9`` for a client that reconnected."""
    return str(ids[0]) + "".join(f", then {later}" for later in ids[1:])
