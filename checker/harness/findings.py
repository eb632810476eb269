"""``--keep-going``: distinct findings, so that one early bug does not hide the others.

Without it a run stops at its first violation, shrinks it and reports it.  With it, each violation
found gets a *signature*, the kind of anomaly and the command it is about (the operation the
checker could not place); a run whose violation has a signature already found counts as a repeat
(not a new failure: Hypothesis goes on, and does not shrink toward a bug already reported), and a
new signature is shrunk and reported as the next finding.  The search goes on until the budget
(``--ops`` or ``--duration``) is spent.

The report and the counterexample files are about the first finding, as without ``--keep-going``;
the console and ``result.json`` list every finding with its shrunk program and minimal
counterexample, and how many runs repeated each.

>>> from redlin.history.records import History, Operation
>>> from redlin.search.result import Violation
>>> from redlin.adapter.redis_model import redis_model
>>> ops = (Operation(0, 1, ((b"SET", b"k", b"v"),), (b"OK",), 0, 1),)
>>> signature(History(ops), redis_model(), Violation((0,), 0, (), 1, 0.0))
('wrong-reply', 'SET')
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from redlin.explain.recognise import classify
from redlin.history.records import History
from redlin.report.text import render_text
from redlin.search.result import Violation

__all__ = ["Finding", "Findings", "signature"]

Signature = tuple[str, str]


def signature(history: History, model: Any, violation: Violation, core: tuple[int, ...] = ()) -> Signature:
    """The kind of anomaly and the command (upper case) of the operation the checker could not
    place: what tells two findings apart.  Cheap: no minimising (``core`` if already known)."""
    try:
        kind = classify(history, model, violation, core or (violation.operation,)).kind or "no-valid-order"
    except Exception:  # noqa: BLE001 - a signature must never end a run
        kind = "no-valid-order"
    stuck = history[violation.operation]
    names = [bytes(argv[0]).upper().decode("utf-8", "replace") for argv in stuck.call if argv] or ["?"]
    if len(names) > 1 and names[0] == "MULTI":
        return kind, "MULTI/" + names[-1]
    return kind, names[0]


@dataclass(frozen=True, slots=True)
class Finding:
    """One distinct finding: its signature, its shrunk program, its counterexample as text."""

    number: int
    signature: Signature
    program: str
    text: str
    found_after_operations: int
    found_after_seconds: float

    def meta(self, repeats: int) -> dict[str, Any]:
        return {"number": self.number, "kind": self.signature[0], "command": self.signature[1],
                "program": self.program, "counterexample": self.text, "repeats": repeats,
                "found_after_operations": self.found_after_operations,
                "found_after_seconds": round(self.found_after_seconds, 3)}


@dataclass
class Findings:
    """The findings of a ``--keep-going`` run and the repeats of each signature."""

    found: list[Finding] = field(default_factory=list)
    repeats: Counter[Signature] = field(default_factory=Counter)
    aliases: dict[Signature, Signature] = field(default_factory=dict)
    """Every signature known, to the finding's own: the one the violation had when first seen, and
    the one its shrunk counterexample has (shrinking may land on another command)."""

    @property
    def known(self) -> frozenset[Signature]:
        return frozenset(self.aliases)

    def repeat(self, sig: Signature) -> None:
        self.repeats[self.aliases.get(sig, sig)] += 1

    def add(self, sig: Signature, program: str, history: History, model: Any, violation: Violation,
            core: tuple[int, ...], at: tuple[int, float]) -> Finding:
        finding = Finding(len(self.found) + 1, sig, program, render_text(history, model, violation, core), *at)
        self.found.append(finding)
        self.aliases[sig] = sig
        self.aliases.setdefault(signature(history, model, violation, core), sig)
        return finding

    def lines(self) -> list[str]:
        """The console's list: one head line per finding, then its program."""
        out: list[str] = []
        for finding in self.found:
            repeats = self.repeats[finding.signature]
            again = f", seen again in {repeats} more run{'s' if repeats != 1 else ''}" if repeats else ""
            out.append(f"finding {finding.number}: {finding.signature[0]} on {finding.signature[1]} "
                       f"(after {finding.found_after_operations} operations, {finding.found_after_seconds:.1f} s"
                       f"{again})")
            out += [f"  {line}" for line in finding.program.splitlines()]
        return out
