"""A finished ``redlin run`` as its outcome and its files: the verdict over every run, the report, the counterexample.

The runs of one ``redlin run`` (and the rounds of a Pub/Sub run) touch disjoint keys and
channels, so the verdict over all of them is linearizable when every run was, unknown when some
run was undecided and none was wrong, and a violation when one was
(:mod:`redlin.search.compose`).  The report (:func:`redlin.report.write.write_report`) is about
the run's own ``history.jsonl``, whose ids are its invocation order: results about single runs are
renumbered into it.  Where each operation is in the file the run's
:class:`~redlin.harness.journal.Journal` noted as it was written, so the file is not read back;
when some operation belongs to no checked run (a program the target went away in the middle of),
the file is read, and those operations are checked on their own before anything is said about
them.  A long soak run keeps only its latest runs in memory; its report then covers those and
goes to ``<out>/report/``.  If the report writer fails, a minimal ``result.json`` and
``summary.md`` are written instead: the verdict matters more than the report's looks.

The notes and the outages of the run go into the report's metadata, beside the counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from redlin.adapter.redis_model import redis_model
from redlin.adapter.replies import history_protocol
from redlin.errors import EXIT_USAGE
from redlin.harness.actions import Program
from redlin.harness.journal import Journal
from redlin.harness.outcome import EXIT_CODES, RunOutcome, RunStats
from redlin.harness.program_search import Counterexample, ProgramSearch
from redlin.harness.run_profile import DEFAULT_CHOICE, ProfileChoice
from redlin.history.jsonl import load_history, save_history
from redlin.history.records import History, Operation
from redlin.report.text import render_text
from redlin.report.write import write_report
from redlin.search.check import check
from redlin.search.compose import combine, lift, piece
from redlin.search.model import Model
from redlin.search.result import Result, Violation

__all__ = ["CheckedPiece", "RunRecord", "assemble", "conclude_programs", "conclude_rounds", "report_paths"]

LEFTOVER_CHECK_TIME: Final = 2.0
"""Seconds for checking the operations of the history file that belong to no checked run."""


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What every outcome of a run shares: who ran it, against what, and where its files are."""

    run_id: str
    prefix: bytes
    described: str
    out_dir: Path
    history_path: Path
    meta: dict[str, Any]
    profile: ProfileChoice = DEFAULT_CHOICE
    """The version the run checked the target as (also in ``meta``)."""

    def outcome(self, verdict: str, stats: RunStats, notes: list[str], paths: dict[str, Path], *,
                result: Result | None = None, history: History | None = None, core: tuple[int, ...] = (),
                program: Program | None = None, program_clients: Mapping[int, tuple[int, ...]] | None = None,
                history_ids: tuple[int, ...] = (), version_difference: str | None = None) -> RunOutcome:
        """The run's :class:`RunOutcome`: the verdict and what backs it.  A run that lost its
        target exits 3 (a connection error) whatever it checked, unless it proved a violation.
        ``version_difference``: the other profile whose model explains the violation, if one does."""
        exit_code = EXIT_CODES[verdict]
        if stats.target_lost is not None and verdict != "violation":
            exit_code = EXIT_USAGE
        return RunOutcome(verdict=verdict, exit_code=exit_code, run_id=self.run_id,
                          prefix=self.prefix.decode(), target=self.described, out=self.out_dir, paths=paths,
                          stats=stats, result=result, history=history, core=core, program=program,
                          notes=tuple(notes), program_clients=program_clients or {}, history_ids=history_ids,
                          profile=self.profile, version_difference=version_difference)


@dataclass(frozen=True, slots=True)
class CheckedPiece:
    """One run (or Pub/Sub round) as checked: its history (ids ``0..k-1``), its result, and where
    each of its operations is in the run's history file, ``(id, line)`` (``None`` where unknown)."""

    history: History
    result: Result
    places: tuple[tuple[int, int] | None, ...]


def assemble(pieces: Sequence[CheckedPiece], total: int, meta: dict[str, Any]) -> History | None:
    """The run's history file rebuilt from its pieces, each operation at its place; ``None`` if
    some place is unknown or the pieces do not cover the file's ``total`` operations exactly.

    >>> from redlin.search.result import Unknown
    >>> ops = (Operation(0, 1, ((b"GET", b"k"),), None, 5, 6),)
    >>> undecided = Unknown("time", 0, 1, 0, 0.0)
    >>> whole = assemble([CheckedPiece(History(ops), undecided, ((1, 3),)),
    ...                   CheckedPiece(History(ops), undecided, ((0, 2),))], 2, {})
    >>> [(op.id, op.line) for op in whole]
    [(0, 2), (1, 3)]
    >>> assemble([CheckedPiece(History(ops), undecided, (None,))], 1, {}) is None
    True
    """
    ops: list[Operation | None] = [None] * total
    for checked in pieces:
        if len(checked.places) != len(checked.history):
            return None
        for op, place in zip(checked.history, checked.places, strict=True):
            if place is None or not 0 <= place[0] < total or ops[place[0]] is not None:
                return None
            ops[place[0]] = replace(op, id=place[0], line=place[1])
    if any(op is None for op in ops):
        return None
    return History(tuple(op for op in ops if op is not None), meta)


def conclude_programs(record: RunRecord, state: ProgramSearch, found: Counterexample | None, stats: RunStats,
                      notes: list[str], extra: Mapping[str, Any] | None = None,
                      version_difference: str | None = None) -> RunOutcome:
    """The outcome of a program search, its counterexample and report written (``extra``: more
    facts for the report's metadata, such as the outages; ``version_difference``: the profile
    whose model explains the violation ``found``, which the report then names)."""
    meta = {**record.meta, **_stats_meta(stats), **(extra or {})}
    paths: dict[str, Path] = {"history": record.history_path}
    pieces = [CheckedPiece(execution.history, result, state.places.get(execution.index, ()))
              for execution, result in state.checked]
    if found is not None:
        failing, execution = found.program, found.execution
        meta.update(verdict="violation", program=failing.describe() if failing else None,
                    program_steps=failing.size if failing else None, counterexample_operations=len(found.core))
        if version_difference is not None:
            meta["version_difference"] = version_difference
        places = state.places.get(execution.index, ())
        culprit = CheckedPiece(execution.history, found.violation, places)
        paths.update(_report(record, state.journal, pieces, state.truncated, (culprit, found.core), state.model,
                             meta, notes))
        ids = _file_ids(culprit, state.truncated)
        paths["counterexample"] = _save_counterexample(record, execution.history, ids)
        return record.outcome("violation", stats, notes, paths, result=found.violation,
                              history=execution.history, core=found.core, program=failing,
                              program_clients=execution.client_ids(), history_ids=ids,
                              version_difference=version_difference)
    if not pieces:
        return record.outcome("interrupted" if stats.interrupted else "unknown", stats, notes, paths)
    history, result = _sequence(pieces)
    meta["verdict"] = result.verdict
    paths.update(_report(record, state.journal, pieces, state.truncated, None, state.model, meta, notes))
    return record.outcome(result.verdict, stats, notes, paths, result=result, history=history)


def conclude_rounds(record: RunRecord, journal: Journal, rounds: Sequence[CheckedPiece], truncated: bool,
                    found: tuple[CheckedPiece, tuple[int, ...]] | None, stats: RunStats, notes: list[str],
                    extra: Mapping[str, Any] | None = None) -> RunOutcome:
    """The outcome of Pub/Sub rounds (``redlin run --workload pubsub``), its report written: about
    the first violating round (``found``: the round and its minimal core), or about every round
    checked (the latest ones, when ``truncated``)."""
    meta = {**record.meta, **_stats_meta(stats), **(extra or {})}
    paths: dict[str, Path] = {"history": record.history_path}
    model = redis_model(protocol=history_protocol(record.meta), profile=record.profile.name)
    if found is not None:
        culprit, core = found
        assert isinstance(culprit.result, Violation)
        ids = _file_ids(culprit, truncated)
        paths["counterexample"] = _save_counterexample(record, culprit.history, ids)
        meta.update(verdict="violation", counterexample_operations=len(core))
        paths.update(_report(record, journal, rounds, truncated, found, model, meta, notes))
        return record.outcome("violation", stats, notes, paths, result=culprit.result, history=culprit.history,
                              core=core, history_ids=ids)
    if not rounds:
        return record.outcome("interrupted" if stats.interrupted else "unknown", stats, notes, paths)
    history, result = _sequence(rounds, unit="round")
    meta["verdict"] = result.verdict
    paths.update(_report(record, journal, rounds, truncated, None, model, meta, notes))
    return record.outcome(result.verdict, stats, notes, paths, result=result, history=history)


def _stats_meta(stats: RunStats) -> dict[str, Any]:
    return {"programs": stats.programs, "executions": stats.executions, "operations": stats.operations,
            "unknown_executions": stats.unknown_executions, "elapsed": round(stats.elapsed, 3),
            "found_after_operations": stats.found_after_operations,
            "found_after_seconds": None if stats.found_after_seconds is None else round(stats.found_after_seconds, 3),
            "interrupted": stats.interrupted, "interrupted_by": stats.interrupted_by,
            "target_lost": stats.target_lost, "restarted_executions": stats.restarted_executions}


def _file_ids(culprit: CheckedPiece, truncated: bool) -> tuple[int, ...]:
    """The failing piece's operations numbered as the report numbers them: by their ids in
    ``history.jsonl``; ``()`` (numbered from 0) when the report covers only the latest pieces
    (under ``report/``, the failing one first) or some place is unknown."""
    places = culprit.places
    if truncated or len(places) != len(culprit.history) or None in places:
        return ()
    return tuple(place[0] for place in places if place is not None)


def _save_counterexample(record: RunRecord, history: History, ids: tuple[int, ...]) -> Path:
    """The failing run's history, on its own (ids from 0); ``history_ids`` in its metadata says
    which operation of ``history.jsonl`` each one is, so that ``redlin check`` numbers them alike."""
    path = record.out_dir / "counterexample.jsonl"
    save_history(History(history.operations, {**history.meta, "history_ids": list(ids)}) if ids else history, path)
    return path


def _sequence(pieces: Sequence[CheckedPiece], *, unit: str = "run") -> tuple[History, Result]:
    """The pieces put one after another, as one history and one result (what the console shows)."""
    ops: list[Operation] = []
    results: list[Result] = []
    for checked in pieces:
        ids = range(len(ops), len(ops) + len(checked.history))
        ops.extend(replace(op, id=ids[op.id]) for op in checked.history)
        results.append(lift(checked.result, ids))
    meta = dict(pieces[0].history.meta) if pieces else {"model": "redis"}
    return History(tuple(ops), meta), combine(results, unit=unit, pieces=len(pieces))


def _report(record: RunRecord, journal: Journal, pieces: Sequence[CheckedPiece], truncated: bool,
            failing: tuple[CheckedPiece, tuple[int, ...]] | None, model: Model[Any], meta: dict[str, Any],
            notes: list[str]) -> dict[str, Path]:
    """Write the report about ``failing`` (a violating piece and its core), or about every piece.

    The report's history is the run's own ``history.jsonl`` (ids are its invocation order), unless
    the run was too long to keep in memory: then a report about the latest pieces (or the failing
    one) goes to ``<out>/report/``.
    """
    unit = "round" if meta.get("workload") == "pubsub" else "run"
    located = None if truncated else _locate(record, journal, pieces, model, check_rest=failing is None)
    if located is not None:
        report_dir, (history, where, rest) = record.out_dir, located
    else:
        chosen = [failing[0]] if failing is not None else list(pieces)
        offsets: dict[int, int] = {}
        total = 0
        for checked in chosen:
            offsets[id(checked)] = total
            total += len(checked.history)

        def where(checked: CheckedPiece) -> list[int]:
            return list(range(offsets[id(checked)], offsets[id(checked)] + len(checked.history)))

        report_dir, rest = record.out_dir / "report", None
        history = History(tuple(replace(op, id=offsets[id(checked)] + op.id, line=None) for checked in chosen
                                for op in checked.history), dict(chosen[0].history.meta))
        meta = {**meta, "report_covers": f"the latest {len(chosen)} {unit}s ({len(history)} operations)"}
    if failing is not None:
        culprit, core = failing
        ids = where(culprit)
        result = lift(culprit.result, ids)
        if isinstance(result, Violation) and len(pieces) != 1:
            result = replace(result, parts=())  # the failing piece's parts, not the whole's
        core = tuple(sorted(ids[i] for i in core))
    else:
        results = [lift(checked.result, where(checked)) for checked in pieces]
        if rest is not None:
            count, checked_rest = rest
            results.append(checked_rest)
            notes.append(f"{count} recorded operation{'s' if count != 1 else ''} belonged to no {unit} checked on "
                         f"the way (a signal or the target cut it short): checked on their own")
        result = combine(results, unit=unit, pieces=len(results))
        core = ()
    meta = {**meta, "notes": list(notes)}
    return _write_report(report_dir, history, model, result, core, meta, notes)


def _locate(record: RunRecord, journal: Journal, pieces: Sequence[CheckedPiece], model: Model[Any], *,
            check_rest: bool) -> tuple[History, Callable[[CheckedPiece], list[int]], tuple[int, Result] | None] | None:
    """The run's whole history file, where each piece's operations are in it, and (with
    ``check_rest``) the result about the operations in no piece, with their count.  Rebuilt from
    memory when the journal placed every operation; read from the file otherwise."""
    meta: dict[str, Any] = {"model": "redis", **record.meta}
    if journal.origin is not None:
        meta["time_origin"] = journal.origin
    full = assemble(pieces, journal.invocations, meta)
    if full is None:
        full = load_history(record.history_path)
    position = {(op.client, op.invoke): op.id for op in full}

    def found(checked: CheckedPiece) -> list[int]:
        return [position[(op.client, op.invoke)] for op in checked.history]

    try:
        covered = {index for checked in pieces for index in found(checked)}
    except KeyError:  # an operation missing from the file: say nothing about the file as a whole
        return None
    left = [op.id for op in full if op.id not in covered]
    rest = None
    if check_rest and left:
        rest = (len(left), lift(check(piece(full, left), model, time_limit=LEFTOVER_CHECK_TIME), left))
    return full, found, rest


def report_paths(out_dir: Path, history: History, model: Model[Any], result: Result, core: tuple[int, ...],
                 meta: dict[str, Any]) -> dict[str, Path]:
    """Write the report (:func:`~redlin.report.write.write_report`); its files by name, in the
    order ``redlin run`` lists them (the history is the run's own, listed first)."""
    files = write_report(out_dir, history=history, model=model, result=result, core=core, meta=meta)
    return {"html": files.html, "summary": files.summary, "result": files.result, "junit": files.junit}


def _write_report(out_dir: Path, history: History, model: Model[Any], result: Result, core: tuple[int, ...],
                  meta: dict[str, Any], notes: list[str]) -> dict[str, Path]:
    """The report's files, or a minimal ``result.json`` and ``summary.md`` if the writer fails."""
    try:
        return report_paths(out_dir, history, model, result, core, meta)
    except Exception as error:  # noqa: BLE001 - the verdict matters more than the report's looks
        notes.append(f"the report writer failed ({type(error).__name__}: {error}); wrote a minimal report")
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {"verdict": result.verdict, "operations": len(history), "meta": meta,
            "counterexample": [model.describe_operation(history[i]) for i in core]}
    (out_dir / "result.json").write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    summary = [f"# redlin run {meta['run_id']}: {result.verdict}", "",
               f"- target: {meta['target']}", f"- workload: {meta['workload']} ({meta['clients']} clients)",
               f"- operations: {meta['operations']} in {meta['executions']} runs of {meta['programs']} programs",
               ""]
    if meta.get("program"):
        summary += ["## Shrunk program", "", "```", str(meta["program"]), "```", ""]
    summary += ["## Verdict", "", "```", render_text(history, model, result, core), "```", ""]
    (out_dir / "summary.md").write_text("\n".join(summary), encoding="utf-8")
    return {"result": out_dir / "result.json", "summary": out_dir / "summary.md"}
