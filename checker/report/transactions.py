"""The transactional checker's verdict as data (a JSON section) and as the text the commands print.

:func:`redlin.cycles.check_transactions` returns a
:class:`~redlin.cycles.check.TransactionVerdict` of anomaly records; this module renders it, as
the linearizability reports render a :class:`~redlin.search.result.Result`: the section
``"transactions"`` of ``result.json`` (:func:`transactions_document`, described in
``schema.json``) and a few lines of plain text (:func:`transactions_text`), with each anomaly
explained by :func:`redlin.cycles.explain.render`.

>>> from redlin.cycles import Transaction, TransactionHistory, append, read, check_transactions
>>> h = TransactionHistory((Transaction(0, 0, (append("x", 1), read("x", (1,))), "ok", 0, 1),), "list-append")
>>> print(transactions_text(check_transactions(h), h.kind))
transactions VALID (list-append, checked as strict-serializable): 1 transactions over 1 keys, no anomaly
>>> transactions_document(check_transactions(h), h.kind)["verdict"]
'valid'
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Final

from redlin.cycles.check import INVALID, UNKNOWN, VALID, TransactionVerdict
from redlin.cycles.explain import describe, describe_step, render
from redlin.cycles.findings import Anomaly
from redlin.errors import EXIT_OK, EXIT_UNKNOWN, EXIT_VIOLATION
from redlin.explain.names import plural

__all__ = ["EXIT_CODES", "transactions_document", "transactions_text"]

EXIT_CODES: Final = {VALID: EXIT_OK, INVALID: EXIT_VIOLATION, UNKNOWN: EXIT_UNKNOWN}
"""The exit code of each transactional verdict (the codes live in :mod:`redlin.errors`)."""

MAX_SHOWN: Final = 20
"""Anomalies explained in the text; the JSON section holds them all."""


def transactions_document(verdict: TransactionVerdict, kind: str) -> dict[str, Any]:
    """``verdict`` as the ``"transactions"`` section of ``result.json``."""
    return {
        "checker": "elle",
        "kind": kind,
        "verdict": verdict.verdict,
        "models": list(verdict.models),
        "ruled_out": list(verdict.ruled_out),
        "transactions": verdict.transactions,
        "edges": verdict.edges,
        "keys": verdict.keys,
        "complete": verdict.complete,
        "reason": verdict.reason,
        "elapsed": round(verdict.elapsed, 6),
        "anomalies": [_anomaly(anomaly, kind, verdict.lists) for anomaly in verdict.anomalies],
    }


def _anomaly(anomaly: Anomaly, kind: str, lists: frozenset[Hashable]) -> dict[str, Any]:
    return {
        "kind": anomaly.kind,
        "models": list(anomaly.models),
        "transactions": [f"T{index}" for index in anomaly.transactions],
        "explanation": describe(anomaly, kind, lists),
        "cycle": [{"from": f"T{a}", "to": f"T{b}", "type": why.type,
                   "key": None if why.key is None else str(why.key), "text": describe_step((a, b, why), kind, lists)}
                  for a, b, why in anomaly.steps],
    }


def transactions_text(verdict: TransactionVerdict, kind: str) -> str:
    """What ``redlin check`` and ``redlin run`` print about the transactional check."""
    models = ", ".join(verdict.models)
    head = (f"transactions {verdict.verdict.upper()} ({kind}, checked as {models}): {verdict.transactions} "
            f"transactions over {verdict.keys} keys")
    if verdict.verdict == VALID:
        return head + ", no anomaly"
    if verdict.verdict == UNKNOWN:
        return f"{head}: {verdict.reason}"
    kinds = sorted({anomaly.kind for anomaly in verdict.anomalies})
    lines = [f"{head}: {plural(len(verdict.anomalies), 'anomaly', 'anomalies')} ({', '.join(kinds)}); rules out "
             f"{', '.join(verdict.ruled_out)}"]
    for anomaly in verdict.anomalies[:MAX_SHOWN]:
        lines += ["  " + line for line in render(anomaly, kind, verdict.lists).splitlines()]
    if len(verdict.anomalies) > MAX_SHOWN:
        lines.append(f"  ... and {len(verdict.anomalies) - MAX_SHOWN} more (all of them in the JSON output)")
    return "\n".join(lines)
