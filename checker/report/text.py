"""The plain-text account of a result that ``redlin check`` and ``redlin run`` print.

It names things as every other report does (:mod:`redlin.explain.names`): times in milliseconds
from the history's first invocation, clients by their recorded ids, keys without the run's prefix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from redlin.explain.anomalies import anomaly_from_json
from redlin.explain.names import Names, client_name, plural
from redlin.explain.recognise import classify
from redlin.explain.render import Format, render_anomaly
from redlin.history.records import History
from redlin.search.model import Model
from redlin.search.result import Result, Violation

__all__ = ["LIMIT", "describe_target", "history_ids", "render_text"]

LIMIT = 200
"""The longest operation text a counterexample line shows (a script is cut; the history has it)."""


def describe_target(meta: Mapping[str, Any]) -> str | None:
    """What a run's history was recorded against, from its metadata; ``None`` if it doesn't say.

    >>> describe_target({"target": "redis://127.0.0.1:6379/0", "server_version": "7.2.4"})
    'redis://127.0.0.1:6379/0 (Redis 7.2.4)'
    >>> describe_target({"target": "redis://127.0.0.1:4001/0", "embedded": True, "fault": "stale-read"})
    'redis://127.0.0.1:4001/0 (embedded model server, fault stale-read)'
    >>> describe_target({}) is None
    True
    """
    target = meta.get("target")
    if not isinstance(target, str) or not target:
        return None
    facts = []
    if meta.get("embedded") is True:
        facts.append("embedded model server")
    version = meta.get("server_version")
    if isinstance(version, str) and version:
        facts.append(f"Redis {version}")
    fault = meta.get("fault")
    if isinstance(fault, str) and fault:
        facts.append(f"fault {fault}")
    return target + (f" ({', '.join(facts)})" if facts else "")


def history_ids(history: History) -> tuple[int, ...]:
    """The numbering a counterexample file carries in its metadata (``history_ids``: for each of its
    operations, its id in the run's ``history.jsonl``), or ``()`` when it has none that fits.

    >>> from redlin.history.records import Operation
    >>> op = Operation(0, 1, ("read",), 1, 0, 1)
    >>> history_ids(History((op,), {"history_ids": [17]})), history_ids(History((op,), {"history_ids": [1, 2]}))
    ((17,), ())
    """
    ids = history.meta.get("history_ids")
    if not isinstance(ids, list) or len(ids) != len(history) or not all(type(i) is int and i >= 0 for i in ids):
        return ()
    return tuple(ids)


def render_text(history: History, model: Model[Any], result: Result, core: Sequence[int],
                ids: Sequence[int] = ()) -> str:
    """A short plain-text account of a result: the verdict, the explanation, the counterexample.
    ``ids``, if given, numbers the operations (``ids[i]`` for operation ``i``; see :class:`Names`).

    >>> from redlin import History, Operation, check, register
    >>> history = History((Operation(0, "a", ("write", 1), None, 1_000_000, 2_500_000),
    ...                    Operation(1, "b", ("read",), 2, 3_000_000, 4_000_000)), {"prefix": "redlin:x:"})
    >>> print(render_text(history, register(), check(history, register()), (1,)))  # doctest: +ELLIPSIS
    VIOLATION: 2 operations from 2 clients, model register; ... explored in ... s
      Impossible reply: client b read 2 from the register (2–3 ms), but no operation ever wrote 2 to the register.
      Minimal counterexample: 1 operation that cannot be explained ...
      The checker's pre-check found client b's operation 1 impossible by itself, before any search.
      minimal counterexample (1 operation; times from the start; every other one may or may not have happened):
        op 1, client b, 2–3 ms: read 2
    """
    explanation = classify(history, model, result, core)
    names = replace(explanation.names, ids=tuple(ids)) if ids else explanation.names
    head = (f"{result.verdict.upper()}: {plural(len(history), 'operation')} from "
            f"{plural(len({op.client for op in history}), 'client')}, model {model.name}")
    target = describe_target(history.meta)
    if target is not None:
        head += f", against {target}"
    lines = [head + f"; {plural(result.states_explored, 'state')} explored in {result.elapsed:.2f} s"]
    lines += [f"  {paragraph}" for paragraph in explanation.paragraphs(names=names)]
    if isinstance(result, Violation) and core:
        lines.append(f"  minimal counterexample ({plural(len(core), 'operation')}; times from the start; "
                     "every other one may or may not have happened):")
        for op_id in sorted(core, key=lambda i: (history[i].invoke, i)):
            op = history[op_id]
            lines.append(f"    op {names.op_id(op.id)}, {client_name(op.client)}, {names.clock.span(op)}: "
                         f"{names.shown(model.describe_operation(op), LIMIT)}")
    # Say so when a prefix was left out: the same text named with nothing left out still has it.
    unstripped = explanation.paragraphs(names=Names(names.clock, ids=names.ids))
    unstripped += [model.describe_operation(history[i]) for i in core]
    if names.prefix and any(names.prefix in text for text in unstripped):
        lines.append(f"  ({names.note()})")
    return "\n".join(lines)


def document_paragraphs(document: dict[str, Any], fmt: Format) -> list[str]:
    """The explanation of a result document in ``fmt``: its anomalies rendered from their data, the
    other paragraphs as the document words them (plain text, escaped for ``fmt``).

    A document whose anomalies cannot be read back (written by another redlin) keeps its words.
    """
    paragraphs = list(document["explanation"])
    names = Names.of_document(document)
    try:
        anomalies = [anomaly_from_json(data) for data in document.get("anomalies") or ()]
        rendered = [render_anomaly(anomaly, names, fmt) for anomaly in anomalies]
    except (KeyError, ValueError, TypeError):
        rendered = []
    # A violation's explanation starts with its anomalies, one paragraph each.
    return rendered + [fmt.words(paragraph) for paragraph in paragraphs[len(rendered):]]
