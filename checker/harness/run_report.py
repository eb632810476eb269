"""A finished ``redlin run`` as its outcome and its files: the verdict over every run, the report, the counterexample.

The runs of one ``redlin run`` touch disjoint keys, so the verdict over all of them is linearizable
when every run was, unknown when some run was undecided and none was wrong, and a violation when
one was.  The report (:func:`redlin.report.write.write_report`) is about the run's own
``history.jsonl``, whose ids are its invocation order: results about single runs are renumbered
into it.  A long soak run keeps only its latest runs in memory; its report then covers those and
goes to ``<out>/report/``.  If the report writer fails, a minimal ``result.json`` and
``summary.md`` are written instead: the verdict matters more than the report's looks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from redlin.adapter.redis_model import redis_model
from redlin.harness.actions import Program
from redlin.harness.outcome import EXIT_CODES, RunOutcome, RunStats
from redlin.harness.program_search import Counterexample, ProgramSearch
from redlin.harness.recorder import Execution
from redlin.history.jsonl import load_history, save_history
from redlin.history.records import History, Operation
from redlin.report.text import render_text
from redlin.report.write import write_report
from redlin.search.model import Model
from redlin.search.result import Linearizable, Result, Unknown, Violation

__all__ = ["RunRecord", "conclude_programs", "conclude_rounds", "report_paths"]


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What every outcome of a run shares: who ran it, against what, and where its files are."""

    run_id: str
    prefix: bytes
    described: str
    out_dir: Path
    history_path: Path
    meta: dict[str, Any]

    def outcome(self, verdict: str, stats: RunStats, notes: list[str], paths: dict[str, Path], *,
                result: Result | None = None, history: History | None = None, core: tuple[int, ...] = (),
                program: Program | None = None,
                program_clients: Mapping[int, tuple[int, ...]] | None = None) -> RunOutcome:
        """The run's :class:`RunOutcome`: the verdict and what backs it."""
        return RunOutcome(verdict=verdict, exit_code=EXIT_CODES[verdict], run_id=self.run_id,
                          prefix=self.prefix.decode(), target=self.described, out=self.out_dir, paths=paths,
                          stats=stats, result=result, history=history, core=core, program=program,
                          notes=tuple(notes), program_clients=program_clients or {})


def conclude_programs(record: RunRecord, state: ProgramSearch, found: Counterexample | None, stats: RunStats,
                      notes: list[str]) -> RunOutcome:
    """The outcome of a program search, its counterexample and report written."""
    meta = {**record.meta, **_stats_meta(stats)}
    paths: dict[str, Path] = {"history": record.history_path}
    if found is not None:
        failing, execution = found.program, found.execution
        paths["counterexample"] = _save_counterexample(record, execution.history)
        meta.update(verdict="violation", program=failing.describe() if failing else None,
                    program_steps=failing.size if failing else None, counterexample_operations=len(found.core))
        paths.update(_report(state, record, [(execution, found.violation)], found.core, meta, notes))
        return record.outcome("violation", stats, notes, paths, result=found.violation,
                              history=execution.history, core=found.core, program=failing,
                              program_clients=execution.client_ids())
    if not state.checked:
        return record.outcome("interrupted" if stats.interrupted else "unknown", stats, notes, paths)
    history, result = _combine([(execution.history, result) for execution, result in state.checked])
    meta["verdict"] = result.verdict
    paths.update(_report(state, record, state.checked, (), meta, notes))
    return record.outcome(result.verdict, stats, notes, paths, result=result, history=history)


def conclude_rounds(record: RunRecord, checked: Sequence[tuple[History, Result]],
                    found: tuple[History, Violation, tuple[int, ...]] | None, stats: RunStats,
                    notes: list[str]) -> RunOutcome:
    """The outcome of Pub/Sub rounds (``redlin run --workload pubsub``), its report written: about
    the first violating round, or about every round checked."""
    meta = {**record.meta, **_stats_meta(stats)}
    paths: dict[str, Path] = {"history": record.history_path}
    model = redis_model()
    if found is not None:
        history, violation, core = found
        paths["counterexample"] = _save_counterexample(record, history)
        meta.update(verdict="violation", counterexample_operations=len(core))
        paths.update(_write_report(record.out_dir, history, model, violation, core, meta, notes))
        return record.outcome("violation", stats, notes, paths, result=violation, history=history, core=core)
    if not checked:
        return record.outcome("interrupted" if stats.interrupted else "unknown", stats, notes, paths)
    # The rounds follow one another in the history file, as _combine puts them.
    whole = load_history(record.history_path)
    _, combined = _combine(checked, history=whole)
    meta["verdict"] = combined.verdict
    paths.update(_write_report(record.out_dir, whole, model, combined, (), meta, notes))
    return record.outcome(combined.verdict, stats, notes, paths, result=combined, history=whole)


def _stats_meta(stats: RunStats) -> dict[str, Any]:
    return {"programs": stats.programs, "executions": stats.executions, "operations": stats.operations,
            "unknown_executions": stats.unknown_executions, "elapsed": round(stats.elapsed, 3),
            "found_after_operations": stats.found_after_operations,
            "found_after_seconds": None if stats.found_after_seconds is None else round(stats.found_after_seconds, 3),
            "interrupted": stats.interrupted}


def _save_counterexample(record: RunRecord, history: History) -> Path:
    path = record.out_dir / "counterexample.jsonl"
    save_history(history, path)
    return path


def _combine(runs: Sequence[tuple[History, Result]], *, where: Sequence[Sequence[int]] | None = None,
             history: History | None = None) -> tuple[History, Result]:
    """The checked runs as one history and one result: linearizable if every run was, else unknown.

    Runs touch disjoint keys, so each one's parts are parts of the whole.  ``where[i]`` places the
    operations of run ``i`` (by their ids there) in ``history``; without it the runs are put one
    after another (as Pub/Sub rounds are in their file).
    """
    ops: list[Operation] = []
    witness: list[tuple[int, ...]] = []
    parts: list[tuple[int, ...]] = []
    explored, elapsed, undecided, parts_total = 0, 0.0, 0, 0
    reasons: list[str] = []
    for index, (run, result) in enumerate(runs):
        if where is None:
            ids: Sequence[int] = range(len(ops), len(ops) + len(run))
            ops.extend(replace(op, id=ids[op.id]) for op in run)
        else:
            ids = where[index]
        explored += result.states_explored
        elapsed += result.elapsed
        if isinstance(result, Linearizable):
            witness.extend(tuple(ids[i] for i in order) for order in result.witness)
            parts.extend(tuple(ids[i] for i in part) for part in result.parts)
            parts_total += len(result.parts)
        elif isinstance(result, Unknown):
            undecided += 1
            reasons.append(result.reason)
            parts_total += result.parts_total
    combined = history if history is not None else History(tuple(ops), {"model": "redis"})
    if undecided:
        reason = f"{undecided} of {len(runs)} runs undecided ({sorted(set(reasons))[0]})"
        return combined, Unknown(reason=reason, parts_checked=len(parts), parts_total=parts_total,
                                 states_explored=explored, elapsed=elapsed)
    return combined, Linearizable(witness=tuple(witness), parts=tuple(parts), states_explored=explored,
                                  elapsed=elapsed)


def _report(state: ProgramSearch, record: RunRecord, checked: Sequence[tuple[Execution, Result]],
            core: tuple[int, ...], meta: dict[str, Any], notes: list[str]) -> dict[str, Path]:
    """Write the report about ``checked`` (one failing run, or every run checked).

    The report's history is the run's own ``history.jsonl`` (ids are its invocation order), unless
    it was too long to keep in memory: then a report about the latest runs goes to ``<out>/report/``.
    """
    full = load_history(record.history_path) if not state.truncated else None
    covered = sum(len(execution.history) for execution, _ in state.checked)
    if full is not None and (len(checked) > 1 or not isinstance(checked[0][1], Violation)) and covered != len(full):
        full = None  # some recorded operation belongs to no checked run: do not claim anything about it
    if full is not None:
        place = {(op.client, op.invoke): op.id for op in full}

        def where(execution: Execution) -> list[int]:
            return [place[(op.client, op.invoke)] for op in execution.history]

        report_dir, history = record.out_dir, full
    else:
        offsets: dict[int, int] = {}
        total = 0
        for execution, _ in checked:
            offsets[execution.index] = total
            total += len(execution.history)

        def where(execution: Execution) -> list[int]:
            return [offsets[execution.index] + op.id for op in execution.history]

        report_dir = record.out_dir / "report"
        history = History(tuple(replace(op, id=where(execution)[op.id]) for execution, _ in checked
                                for op in execution.history), dict(checked[0][0].history.meta))
        meta = {**meta, "report_covers": f"the latest {len(checked)} runs ({len(history)} operations)"}
    execution, result = checked[0]
    if isinstance(result, Violation):
        ids = where(execution)
        result = replace(result, part=tuple(ids[i] for i in result.part), operation=ids[result.operation],
                         prefixes=tuple(tuple((ids[i], s) for i, s in prefix) for prefix in result.prefixes))
        core = tuple(sorted(ids[i] for i in core))
    else:
        history, result = _combine([(execution.history, result) for execution, result in checked],
                                   where=[where(execution) for execution, _ in checked], history=history)
    return _write_report(report_dir, history, state.model, result, core, meta, notes)


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
