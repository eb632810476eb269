"""Judge a recorded run of a component: linearizable against its own functions run one at a time?

:func:`component_model` is the component as a checker :class:`~redlin.Model`: its state is redlin's
Redis model state, and one step runs the called function alone on it through
:func:`~redlin.testing.model_client.model_client`, accepting the call when the function returns
(or raises) what the real call did.  The search (:func:`redlin.check`) then asks whether some order
of the calls, respecting real time, gives every call its observed result; on a violation,
:func:`redlin.minimise` cuts the history down to a small core, and :class:`Verdict` says it in
words: the calls of the core with their clients, results and the commands each sent, and the order
in which they ran.

>>> from redlin.testing.component import Call, Component
>>> counter = Component("counter", keys=["n"])
>>> _ = counter.operation(lambda r: r.incr("n"), name="incr")
>>> from redlin import History, Operation
>>> ops = (Operation(0, 0, ("incr", ()), 1, invoke=0, complete=10),
...        Operation(1, 1, ("incr", ()), 1, invoke=5, complete=15))
>>> verdict = judge(counter, History(ops), commands={})
>>> verdict.verdict, verdict.core
('violation', (0, 1))
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from redlin.adapter.redis_model import describe_state
from redlin.history.records import History, Operation, Outcome
from redlin.model import State, initial_state
from redlin.report.write import write_report
from redlin.search.check import check
from redlin.search.minimise import minimise
from redlin.search.model import Model
from redlin.search.result import Result, Violation
from redlin.testing.component import Call, Component, canonical
from redlin.testing.model_client import StateBox, model_client

__all__ = ["Verdict", "component_model", "judge"]

CHECK_SECONDS = 20.0
MINIMISE_SECONDS = 5.0


def component_model(component: Component) -> Model[State]:
    """``component`` as a checker model (see the module docstring)."""

    def step(state: State, op: Operation) -> State | None:
        name, arguments = op.call
        box = StateBox(state)
        client = model_client(box, op.client, decode_responses=component.decode_responses)
        try:
            result = canonical(component.specification(name)(client, **dict(arguments)))
        except Exception as error:  # noqa: BLE001 - what the function raises is its result
            result = canonical(error)
        if op.outcome is Outcome.OK and result != op.result:
            return None
        return box.state

    return Model(name=f"component:{component.name}", init=initial_state, step=step, describe_operation=_describe,
                 describe_state=describe_state)


def _describe(op: Operation) -> str:
    """``incr() -> 3``: the call and what it returned."""
    outcome = repr(op.result) if op.outcome is Outcome.OK else "? (connection lost)"
    return f"{Call(*op.call).describe()} -> {outcome}"


@dataclass
class Verdict:
    """What redlin concluded about one recorded run."""

    verdict: str
    """``"linearizable"``, ``"violation"`` or ``"unknown"`` (a budget ran out)."""
    result: Result
    history: History
    core: tuple[int, ...] = ()
    commands: dict[int, list[tuple[str, ...]]] = field(default_factory=dict)
    report: Path | None = None

    def explain(self) -> str:
        """The counterexample in words (empty unless a violation)."""
        if self.verdict == "unknown":
            return f"redlin could not decide: {getattr(self.result, 'reason', '')}"
        if self.verdict != "violation":
            return ""
        by_id = {op.id: op for op in self.history}
        core = sorted((by_id[i] for i in self.core), key=lambda op: op.invoke)
        start = min(op.invoke for op in core)
        calls = "this call, run alone, does not give the result it got" if len(core) == 1 else (
            f"no order of these {len(core)} calls, one at a time, gives each the result it got")
        lines = [f"not linearizable: {calls} (times in ms from the first call):"]
        for op in core:
            end = "?" if op.complete is None else f"{(op.complete - start) / 1e6:.3f}"
            lines.append(f"  client {op.client}: {_describe(op)}   [{(op.invoke - start) / 1e6:.3f} .. {end}]")
            for argv in self.commands.get(op.id, ()):
                lines.append(f"      {' '.join(argv)}")
        if self.report is not None:
            lines.append(f"report: {self.report / 'report.html'}")
        return "\n".join(lines)


def judge(component: Component, history: History, *, commands: dict[int, list[tuple[str, ...]]],
          report_dir: Path | None = None, check_seconds: float = CHECK_SECONDS,
          minimise_seconds: float = MINIMISE_SECONDS) -> Verdict:
    """Check ``history`` (a :func:`~redlin.testing.execute.run_program` recording) against
    ``component``; on a violation, minimise it and (with ``report_dir``) write redlin's report."""
    model = component_model(component)
    result = check(history, model, time_limit=check_seconds)
    core: tuple[int, ...] = ()
    if isinstance(result, Violation):
        core = minimise(history, model, result, time_limit=minimise_seconds)
    verdict = Verdict(result.verdict, result, history, core, commands)
    if report_dir is not None and result.verdict != "linearizable":
        write_report(report_dir, history=_displayable(history), model=model, result=result, core=core,
                     meta={"component": component.name, "keys": list(component.keys)})
        verdict.report = report_dir
    return verdict


def _displayable(history: History) -> History:
    """``history`` with values JSON can hold, for the report's ``history.jsonl``: a call's arguments
    and results are whatever the user's functions take and return (bytes, sets...), and redlin's
    JSON Lines format keeps only JSON values for models other than Redis.  Bytes are shown as their
    ``repr`` (``"b'v'"``), so they stay apart from strings; the check itself used the real values.

    >>> from redlin import Operation
    >>> op = Operation(0, 0, ("get", (("key", b"k"),)), (b"v", None), invoke=0, complete=1)
    >>> _displayable(History((op,)))[0].call, _displayable(History((op,)))[0].result
    (('get', (('key', "b'k'"),)), ("b'v'", None))
    """
    return History(tuple(replace(op, call=_json_value(op.call), result=_json_value(op.result)) for op in history),
                   meta=history.meta)


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return tuple(_json_value(item) for item in value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)
