"""The plain-text account of a result that ``redlin check`` and ``redlin run`` print."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redlin.explain.recognise import explain
from redlin.history.records import History
from redlin.search.model import Model
from redlin.search.result import Result, Violation


def render_text(history: History, model: Model[Any], result: Result, core: Sequence[int]) -> str:
    """A short plain-text account of a result: the verdict, the explanation, the counterexample."""
    lines = [f"{result.verdict.upper()}: {len(history)} operations, model {model.name}, "
             f"{result.states_explored} states explored in {result.elapsed:.2f} s"]
    lines += [f"  {paragraph}" for paragraph in explain(history, model, result, core)]
    if isinstance(result, Violation) and core:
        lines.append(f"  minimal counterexample ({len(core)} operations; every other one may or may not have happened):")
        for op_id in sorted(core, key=lambda i: history[i].invoke):
            op = history[op_id]
            end = "…" if op.complete is None else str(op.complete)
            lines.append(f"    [{op.invoke} .. {end}] client {op.client}: {model.describe_operation(op)}")
    return "\n".join(lines)
