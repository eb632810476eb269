"""Explanations of a verdict for people who study counterexamples: the entry points.

A :class:`~redlin.Violation` says *that* a part of a history has no linearization; a user wants to
know *why*, in the words of the guarantee that was broken.  :func:`classify` recognises the classic
anomalies in the minimal counterexample (the *core* from :func:`~redlin.minimise`) and returns them
as data, an :class:`Explanation`; :func:`explain` gives its paragraphs in plain English.

The work is split by job:

- :mod:`redlin.explain.anomalies` -- the records: :class:`~redlin.explain.anomalies.Anomaly` (kind,
  claim, operations, facts), :data:`KINDS` and :data:`TITLES`;
- :mod:`redlin.explain.generic` -- reads and writes of any model family (register, key/value
  store) and the anomalies stated in them: impossible replies, stale reads, lost compare-and-sets;
- :mod:`redlin.explain.redis` -- the words of Redis commands, and transactions: unjustified nil
  EXEC, torn transactions, lost increments and watched updates;
- :mod:`redlin.explain.pubsub` -- Pub/Sub deliveries: lost, duplicate, reordered and phantom
  messages, wrong receiver counts;
- :mod:`redlin.explain.render` -- each claim's sentence, as plain text, Markdown or HTML;
- :mod:`redlin.explain.names` -- one time base, one client numbering, one key-prefix rule.

Each recogniser only speaks when its claim is implied by the history itself (it checks every other
operation of the part, indeterminate ones included, that could falsify it); otherwise the
explanation falls back to "no order explains these operations", listing the core.  The vocabulary of
reads and writes comes from the model family, as Knossos's reports speak of ``:read`` and
``:write``.  Times are relative to the history's first invocation, in milliseconds (event
positions, ``t=12``, for histories imported from logs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redlin.explain import conformance, generic, pubsub, redis
from redlin.explain.anomalies import (
    DUPLICATE_MESSAGE,
    IMPOSSIBLE_REPLY,
    KINDS,
    LOST_MESSAGE,
    LOST_UPDATE,
    NO_VALID_ORDER,
    PHANTOM_MESSAGE,
    REORDERED_MESSAGES,
    STALE_READ,
    TITLES,
    TORN_TRANSACTION,
    UNJUSTIFIED_NIL_EXEC,
    VERSION_DIFFERENCE,
    WRONG_RECEIVER_COUNT,
    Anomaly,
    Code,
    Count,
    Note,
    Text,
)
from redlin.explain.generic import Access, Analysis, Recogniser, Vocabulary, register_vocabulary
from redlin.explain.names import Clock, Names
from redlin.explain.render import TEXT, Format, render, render_anomaly
from redlin.history.records import History, Outcome
from redlin.search.model import Model
from redlin.search.result import Linearizable, Result, Violation

__all__ = [
    "DUPLICATE_MESSAGE",
    "IMPOSSIBLE_REPLY",
    "KINDS",
    "LOST_MESSAGE",
    "LOST_UPDATE",
    "NO_VALID_ORDER",
    "PHANTOM_MESSAGE",
    "REDIS",
    "REORDERED_MESSAGES",
    "STALE_READ",
    "TITLES",
    "TORN_TRANSACTION",
    "UNJUSTIFIED_NIL_EXEC",
    "VERSION_DIFFERENCE",
    "WRONG_RECEIVER_COUNT",
    "Access",
    "Clock",
    "Explanation",
    "Vocabulary",
    "as_version_difference",
    "classify",
    "explain",
    "vocabulary",
]

REDIS = redis.VOCABULARY
"""The words of Redis commands (see :mod:`redlin.explain.redis`)."""


def vocabulary(model: Model[Any]) -> Vocabulary | None:
    """The vocabulary of ``model``'s family, by its name; ``None`` for a model redlin doesn't know."""
    if model.name in ("redis", "redis-single"):
        return REDIS
    if model.name in ("register", "cas-register"):
        return register_vocabulary(model)
    if model.name in ("kv", "kv-single"):
        return generic.KV
    return None


def recognisers(words: Vocabulary | None) -> tuple[Recogniser, ...]:
    """The recognisers for a family, in the order they are tried: a value no one wrote first, then
    the family's own anomalies (Pub/Sub before transactions), then the generic ones.  For Redis, a
    reply of the wrong RESP type comes before everything, and one client's wrong reply in sequence
    (:mod:`redlin.explain.conformance`) before the generic ones that come last."""
    if words is None:
        return ()
    if words is not REDIS:
        return generic.FIRST + generic.LAST
    return ((conformance.wrong_type_reply,) + generic.FIRST + pubsub.RECOGNISERS + redis.RECOGNISERS
            + (conformance.wrong_reply,) + generic.LAST)


@dataclass(frozen=True, slots=True)
class Explanation:
    """What :func:`classify` found: the ``kind`` of violation (one of :data:`KINDS`; ``None`` unless
    a violation) and the statements that explain the verdict, as data.

    For a violation the statements are the anomaly, then (if the counterexample was minimised) its
    size, then where the search got stuck; otherwise the one verdict statement.  ``names`` says how
    to name times, clients and keys when rendering them.
    """

    kind: str | None
    statements: tuple[Anomaly | Note, ...]
    names: Names

    @property
    def anomalies(self) -> tuple[Anomaly, ...]:
        """The anomalies among the statements (one for a violation, none otherwise)."""
        return tuple(s for s in self.statements if isinstance(s, Anomaly))

    @property
    def lines(self) -> tuple[str, ...]:
        """The statements in plain English, one paragraph each."""
        return tuple(self.paragraphs())

    def paragraphs(self, fmt: Format = TEXT, names: Names | None = None) -> list[str]:
        """The statements rendered in ``fmt``, naming things with ``names`` (default: the history's)."""
        names = names or self.names
        return [render_anomaly(s, names, fmt) if isinstance(s, Anomaly) else render(s, names, fmt)
                for s in self.statements]


def explain(history: History, model: Model[Any], result: Result, core: Sequence[int] = ()) -> list[str]:
    """A plain-English account of ``result``: what was checked and, for a violation, why it is one.

    Parameters
    ----------
    history:
        The history that was checked.
    model:
        The model it was checked against (its family decides the words: Redis commands, register
        reads and writes, key/value gets and puts).
    result:
        What :func:`~redlin.check` returned.
    core:
        The minimal counterexample from :func:`~redlin.minimise` (operation ids); empty if the
        violation was not minimised, then the whole violating part is searched for an anomaly.

    Returns
    -------
    list of str
        Paragraphs.  For a violation the first one names the anomaly (stale read, lost update,
        torn transaction, unjustified nil EXEC, impossible reply, a Pub/Sub anomaly) with the
        clients, values and times that prove it, or says that no order explains the core, listing
        it; the last one says where the checker's search got stuck.

    Examples
    --------
    >>> from redlin import History, Operation, cas_register, check
    >>> ops = (Operation(0, "a", ("write", 1), None, invoke=0, complete=1),
    ...        Operation(1, "a", ("write", 2), None, invoke=2, complete=3),
    ...        Operation(2, "b", ("read",), 1, invoke=4, complete=5))
    >>> history = History(ops, {"time_unit": "tick"})
    >>> print(explain(history, cas_register(), check(history, cas_register()), (0, 1, 2))[0])
    Stale read: client b read 1 from the register (t=4–5), but client a's write 2 had overwritten it: that write began at t=2, after the only write of 1 (client a's write 1) had returned at t=1, and completed at t=3, before the read began.
    """
    return list(classify(history, model, result, core).lines)


def classify(history: History, model: Model[Any], result: Result, core: Sequence[int] = ()) -> Explanation:
    """:func:`explain` as data: the kind of violation and the anomaly that shows it.

    >>> from redlin import History, Operation, cas_register, check
    >>> ops = (Operation(0, "a", ("write", 1), None, invoke=0, complete=1),
    ...        Operation(1, "b", ("read",), 7, invoke=2, complete=3))
    >>> history = History(ops, {"time_unit": "tick"})
    >>> found = classify(history, cas_register(), check(history, cas_register()), (1,))
    >>> found.kind, found.anomalies[0].claim, found.anomalies[0].operations
    ('impossible-reply', 'never-written', (1,))
    """
    names = Names.of(history)
    if isinstance(result, Linearizable):
        definite = sum(1 for op in history if op.outcome is Outcome.OK)
        replies = Count(definite, "reply")
        if len(result.parts) == 1:
            return Explanation(None, (Note.of("linearizable/one-part", replies=replies),), names)
        parts = Count(len(result.parts), "independent part")
        return Explanation(None, (Note.of("linearizable", parts=parts, replies=replies),), names)
    if not isinstance(result, Violation):
        reason = Text(result.reason)
        if result.parts_total == 1:
            return Explanation(None, (Note.of("unknown/one-part", reason=reason),), names)
        return Explanation(None, (Note.of("unknown", reason=reason, checked=Count(result.parts_checked, "part"),
                                          total=Count(result.parts_total, "part")),), names)
    words = vocabulary(model)
    analysis = Analysis(history, result, tuple(core), words)
    anomaly = next((found for recogniser in recognisers(words) if (found := recogniser(analysis)) is not None),
                   None) or generic.no_valid_order(analysis)
    statements: list[Anomaly | Note] = [anomaly]
    if core:
        statements.append(Note.of("minimal-counterexample", size=Count(len(core), "operation")))
    statements.append(generic.search_note(analysis, model))
    return Explanation(anomaly.kind, tuple(statements), names)


def as_version_difference(explanation: Explanation, profile: str, checked: str) -> Explanation:
    """A violation's explanation when the model of another version profile, ``profile``, explains
    the failing history that ``checked``'s model could not: kind ``version-difference``, and after
    the anomaly (what ``checked``'s model saw) a note naming the version the server behaves as.

    >>> from redlin import History, Operation, cas_register, check
    >>> ops = (Operation(0, "a", ("write", 1), None, 0, 1), Operation(1, "b", ("read",), 7, 2, 3))
    >>> history = History(ops, {"time_unit": "tick"})
    >>> found = classify(history, cas_register(), check(history, cas_register()), (1,))
    >>> different = as_version_difference(found, "redis-6.2", "redis-7.0")
    >>> different.kind, different.lines[1][:59]
    ('version-difference', 'Version difference: the model of profile redis-6.2 explains')
    """
    statements = list(explanation.statements)
    statements.insert(len(explanation.anomalies), Note.of("version-difference", profile=Code(profile),
                                                          checked=Code(checked)))
    return Explanation(VERSION_DIFFERENCE, tuple(statements), explanation.names)
