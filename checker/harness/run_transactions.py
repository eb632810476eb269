"""The second verdict of a transactional run: its history checked for named isolation anomalies.

The ``list-append`` and ``rw-register`` families send MULTI/EXEC blocks and scripts whose values
can be traced (unique appends and writes, whole reads).  After the linearizability check,
:func:`with_transactions` reads the run's ``history.jsonl`` back, maps it to transactions
(:mod:`redlin.adapter.transactions`) and checks it with :func:`redlin.cycles.check_transactions`
(Elle's dependency cycles) for strict serializability, the promise Redis makes.  Both verdicts
are reported: the outcome carries the second (:attr:`RunOutcome.transactions`), its text prints it,
``result.json`` gets a ``"transactions"`` section and ``report.html`` its drawing
(:mod:`redlin.report.cycles_svg`).  An anomaly is a proof on its own: a run the search left
unknown but whose transactions show one is a violation.  A run the search found linearizable
cannot show one (a linearizable history of atomic blocks is strictly serializable): if it does,
the checkers contradict each other, the run is unknown, and the note asks for a bug report.

A run of the mixes (``mixed``, ``default``) holds those families' transactions among everything
else: its lists and registers are checked as one ``mixed`` history, each key by the rules of its
type, every key another command changed left out (:mod:`redlin.adapter.projection`; the notes
and ``result.json`` say which).

>>> transactional_kind("list-append"), transactional_kind("register"), transactional_kind("default")
('list-append', None, 'mixed')
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Final

from redlin.adapter.projection import mixed_transactions
from redlin.adapter.transactions import transaction_history
from redlin.cycles.check import INVALID, check_transactions
from redlin.cycles.transactions import LIST_APPEND, MIXED, RW_REGISTER
from redlin.errors import EXIT_UNKNOWN, EXIT_VIOLATION, HistoryError
from redlin.harness.outcome import RunOutcome
from redlin.harness.workloads import FAMILIES
from redlin.history.jsonl import load_history
from redlin.report.cycles_svg import transactions_html
from redlin.report.transactions import transactions_document

__all__ = ["TRANSACTIONAL_FAMILIES", "transactional_kind", "with_transactions"]

TRANSACTIONAL_FAMILIES: Final = {"list-append": LIST_APPEND, "rw-register": RW_REGISTER, "mixed": MIXED,
                                  "default": MIXED}
"""The families whose histories the transactional checker reads, and the kind of each."""

MIXED_LISTS: Final = FAMILIES["list-append"].keys
"""The keys a mix's lists are on (the list-append family's)."""

MIXED_REGISTERS: Final = (*FAMILIES["register"].keys, *FAMILIES["cas"].keys, *FAMILIES["rw-register"].keys)
"""The keys a mix's registers are on: the register, cas and rw-register families' (unique values written
by SET and check-and-set loops, read by GET)."""

SHOWN_LEFT_OUT: Final = 50
"""Keys left out of a mixed check that ``result.json`` names (the notes name three)."""


_EXPLANATION: Final = '<div id="explanation">'


def transactional_kind(family: str) -> str | None:
    """The transactional kind of the family named ``family``, or ``None`` for another family."""
    return TRANSACTIONAL_FAMILIES.get(family)


def with_transactions(outcome: RunOutcome, family: str, *, time_limit: float) -> RunOutcome:
    """``outcome`` with its history's transactional verdict, and ``result.json`` updated; the
    same outcome for a family that is not transactional or a run that recorded nothing."""
    kind = transactional_kind(family)
    path = outcome.paths.get("history")
    if kind is None or path is None or not path.exists() or outcome.verdict == "interrupted":
        return outcome
    left_out: tuple[str, ...] = ()
    try:
        if kind == MIXED:
            history, left_out = mixed_transactions(load_history(path), lists=MIXED_LISTS, registers=MIXED_REGISTERS,
                                                   source=str(path))
        else:
            history = transaction_history(load_history(path), kind, source=str(path))
    except HistoryError as error:
        return replace(outcome, notes=(*outcome.notes, f"the transactional check was left out: {error}"))
    verdict = check_transactions(history, time_limit=time_limit)
    notes = outcome.notes
    if left_out:
        notes = (*notes, f"the transactional check left out {len(left_out)} keys that other commands changed or "
                         f"that were written twice: {'; '.join(left_out[:3])}{'; ...' if len(left_out) > 3 else ''}")
    changed: dict[str, Any] = {}
    if verdict.verdict == INVALID and outcome.verdict == "unknown":
        notes = (*notes, "the search could not decide every run as a history of operations, but its transactions "
                         "show an isolation anomaly (below), a proof on its own: the run is a violation")
        changed = {"verdict": "violation", "exit_code": EXIT_VIOLATION}
    elif verdict.verdict == INVALID and outcome.verdict == "linearizable":
        # A linearizable history of atomic MULTI/EXEC blocks and scripts is strictly serializable:
        # the two checkers contradict each other, so one of them is wrong, and neither verdict is
        # proved.  Say so rather than accuse the server (or clear it).
        notes = (*notes, "every run was linearizable, yet the transactional check names an anomaly (below): the two "
                         "checkers contradict each other, which is a bug in redlin; please report it with this run's "
                         "history.jsonl. Neither verdict stands")
        changed = {"verdict": "unknown", "exit_code": EXIT_UNKNOWN}
    result_file = outcome.paths.get("result")
    if result_file is not None and result_file.exists():
        document = json.loads(result_file.read_text(encoding="utf-8"))
        document["transactions"] = transactions_document(verdict, kind)
        if kind == MIXED:
            document["transactions"]["left_out"] = list(left_out[:SHOWN_LEFT_OUT])
        result_file.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    page = outcome.paths.get("html")
    if page is not None and page.exists():  # the page was drawn before this check: add its section
        text = page.read_text(encoding="utf-8")
        section = transactions_html({"transactions": transactions_document(verdict, kind)})
        page.write_text(text.replace(_EXPLANATION, section + "\n" + _EXPLANATION, 1), encoding="utf-8")
    return replace(outcome, transactions=verdict, transactions_kind=kind, notes=notes, **changed)
