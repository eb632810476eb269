"""Anomalies as data: what an explanation claims about a history, before any words are chosen.

A recogniser (:mod:`redlin.explain.generic`, :mod:`~redlin.explain.redis`,
:mod:`~redlin.explain.pubsub`) that finds, say, a stale read returns an :class:`Anomaly`: its
``kind`` (one of :data:`KINDS`), the ``claim`` it makes (which of the kind's sentences applies,
e.g. ``overwritten-read/one-write``), the ``operations`` the claim is about and the ``facts`` it
cites -- operations, values, keys, times, counts, messages -- each a small typed record.  The
renderers of :mod:`redlin.explain.render` turn an anomaly into plain text, Markdown or HTML, and
``result.json`` keeps it as JSON (:func:`anomaly_json`, :func:`anomaly_from_json`), as Elle keeps
``explain-pair-data`` apart from ``render-explanation``.  Data can be tested, highlighted (the page
marks an anomaly's operations on the timeline) and re-rendered without checking again.

Facts hold times as the history recorded them; a :class:`~redlin.explain.names.Names` turns them
into words when rendering.  Texts inside facts (commands, values, keys) are the model's own
descriptions, with any run key prefix still in them: renderers leave the prefix out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

__all__ = [
    "KINDS",
    "TITLES",
    "Anomaly",
    "Code",
    "Count",
    "Fact",
    "Key",
    "Listing",
    "Message",
    "Note",
    "Op",
    "Subscription",
    "Text",
    "Time",
    "Value",
    "anomaly_from_json",
    "anomaly_json",
]

STALE_READ = "stale-read"
LOST_UPDATE = "lost-update"
TORN_TRANSACTION = "torn-transaction"
UNJUSTIFIED_NIL_EXEC = "unjustified-nil-exec"
IMPOSSIBLE_REPLY = "impossible-reply"
NO_VALID_ORDER = "no-valid-order"
LOST_MESSAGE = "lost-message"
DUPLICATE_MESSAGE = "duplicate-message"
REORDERED_MESSAGES = "reordered-messages"
PHANTOM_MESSAGE = "phantom-message"
WRONG_RECEIVER_COUNT = "wrong-receiver-count"
WRONG_REPLY = "wrong-reply"
VERSION_DIFFERENCE = "version-difference"
KINDS = (STALE_READ, LOST_UPDATE, TORN_TRANSACTION, UNJUSTIFIED_NIL_EXEC, IMPOSSIBLE_REPLY, LOST_MESSAGE,
         DUPLICATE_MESSAGE, REORDERED_MESSAGES, PHANTOM_MESSAGE, WRONG_RECEIVER_COUNT, WRONG_REPLY, NO_VALID_ORDER,
         VERSION_DIFFERENCE)
"""The kinds of violation an explanation names (``result.json``'s ``kind``).  ``version-difference``
is no anomaly of its own: a violation of the profile checked that another version profile's model
explains (the anomaly found stays in the explanation)."""

TITLES = {
    STALE_READ: "stale read",
    LOST_UPDATE: "lost update",
    TORN_TRANSACTION: "torn transaction",
    UNJUSTIFIED_NIL_EXEC: "unjustified nil EXEC",
    IMPOSSIBLE_REPLY: "impossible reply",
    NO_VALID_ORDER: "no valid order",
    LOST_MESSAGE: "lost message",
    DUPLICATE_MESSAGE: "duplicate message",
    REORDERED_MESSAGES: "reordered messages",
    PHANTOM_MESSAGE: "phantom message",
    WRONG_RECEIVER_COUNT: "wrong receiver count",
    WRONG_REPLY: "wrong reply (sequential conformance)",
    VERSION_DIFFERENCE: "version difference",
}
"""Each kind's name for people."""


# ----------------------------------------------------------------------------- facts


@dataclass(frozen=True, slots=True)
class Op:
    """An operation as a sentence names it.

    ``command`` is what the sentence calls it (the whole call, or the one command of it that
    matters, such as the PUBLISH inside a transaction); ``described`` is the call with its reply
    (``GET k -> "1"``).  Times are the history's own.
    """

    id: int
    client: int | str
    command: str
    described: str
    invoke: int
    complete: int | None


@dataclass(frozen=True, slots=True)
class Time:
    """A moment of the history, in its own unit."""

    at: int


@dataclass(frozen=True, slots=True)
class Value:
    """A value as the model family shows it (``"1"``, ``nil``, ``'zz'``)."""

    text: str


@dataclass(frozen=True, slots=True)
class Key:
    """A key (or, for a register, ``the register``)."""

    text: str


@dataclass(frozen=True, slots=True)
class Code:
    """A command, a reply or a model state, shown as it would be typed."""

    text: str


@dataclass(frozen=True, slots=True)
class Text:
    """Words that come from elsewhere (the model's account of what it expected, a reason)."""

    text: str


@dataclass(frozen=True, slots=True)
class Count:
    """A number of things: ``Count(2, "operation")`` reads "2 operations" (``plural`` if irregular)."""

    n: int
    noun: str
    plural: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """A Pub/Sub message: its payload and channel (described), the pattern it was sent for, if
    any, and whether it went through a shard channel."""

    payload: str
    channel: str
    pattern: str | None = None
    sharded: bool = False


@dataclass(frozen=True, slots=True)
class Subscription:
    """A client's subscription: ``kind`` is ``channel``, ``pattern`` or ``shard channel``."""

    client: int | str
    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class Listing:
    """Several facts of one sentence slot, shown one after another (joined by ``separator``)."""

    items: tuple[Fact, ...]
    separator: str = "; "


Fact = Op | Time | Value | Key | Code | Text | Count | Message | Subscription | Listing
"""One thing a claim cites."""

_FACT_TYPES: dict[str, type[Any]] = {
    "op": Op, "time": Time, "value": Value, "key": Key, "code": Code, "text": Text, "count": Count,
    "message": Message, "subscription": Subscription, "listing": Listing,
}
_TYPE_NAMES = {cls: name for name, cls in _FACT_TYPES.items()}


def _operations(facts: Mapping[str, Fact]) -> tuple[int, ...]:
    seen: dict[int, None] = {}

    def visit(fact: Fact) -> Iterator[int]:
        if isinstance(fact, Op):
            yield fact.id
        elif isinstance(fact, Listing):
            for item in fact.items:
                yield from visit(item)

    for fact in facts.values():
        for op_id in visit(fact):
            seen.setdefault(op_id)
    return tuple(seen)


# ----------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A recognised anomaly: what kind, which claim, about which operations, citing which facts.

    ``operations`` are the ids of the operations the claim cites, in the order it first cites
    them; :meth:`of` derives them from the facts.

    >>> reader = Op(5, 2, "GET k", 'GET k -> "1"', 4_000_000, 5_000_000)
    >>> anomaly = Anomaly.of("impossible-reply", "never-written", reader=reader, value=Value('"1"'),
    ...                      key=Key("k"))
    >>> anomaly.operations, anomaly.title
    ((5,), 'impossible reply')
    """

    kind: str
    claim: str
    operations: tuple[int, ...]
    facts: Mapping[str, Fact]

    @classmethod
    def of(cls, kind: str, claim: str, **facts: Fact) -> Anomaly:
        """An anomaly whose operations are those its facts cite."""
        if kind not in TITLES:
            raise ValueError(f"unknown kind of anomaly {kind!r} (expected one of {', '.join(KINDS)})")
        return cls(kind, claim, _operations(facts), dict(facts))

    @property
    def title(self) -> str:
        """The kind's name for people (``stale read``)."""
        return TITLES[self.kind]


@dataclass(frozen=True, slots=True)
class Note:
    """A statement of an explanation that is not an anomaly (the verdict of a clean history, the
    size of the counterexample, where the search got stuck): a claim and its facts."""

    claim: str
    facts: Mapping[str, Fact]

    @classmethod
    def of(cls, claim: str, **facts: Fact) -> Note:
        return cls(claim, dict(facts))


# ----------------------------------------------------------------------------- JSON


def fact_json(fact: Fact) -> dict[str, Any]:
    """A fact as a JSON object: its ``type`` and its fields."""
    out: dict[str, Any] = {"type": _TYPE_NAMES[type(fact)]}
    for field in fields(fact):
        value = getattr(fact, field.name)
        out[field.name] = [fact_json(item) for item in value] if field.name == "items" else value
    return out


def fact_from_json(data: Mapping[str, Any]) -> Fact:
    """The fact a :func:`fact_json` object describes; :class:`ValueError` if it is not one."""
    cls = _FACT_TYPES.get(str(data.get("type")))
    if cls is None:
        raise ValueError(f"unknown fact type {data.get('type')!r}")
    values = {key: value for key, value in data.items() if key != "type"}
    if cls is Listing:
        values["items"] = tuple(fact_from_json(item) for item in values.get("items", ()))
    try:
        fact: Fact = cls(**values)
    except TypeError as error:
        raise ValueError(f"malformed {data.get('type')} fact: {error}") from None
    return fact


def anomaly_json(anomaly: Anomaly, text: str | None = None) -> dict[str, Any]:
    """An anomaly as ``result.json`` keeps it: ``kind``, ``title``, ``claim``, ``operations``,
    ``facts`` (name -> fact object) and, if given, its plain ``text``.

    >>> op = Op(1, "a", "read", "read -> 1", 4, 5)
    >>> anomaly_json(Anomaly.of("stale-read", "x", reader=op))["facts"]["reader"]["type"]
    'op'
    >>> anomaly_from_json(anomaly_json(Anomaly.of("stale-read", "x", reader=op))).facts["reader"] == op
    True
    """
    out: dict[str, Any] = {"kind": anomaly.kind, "title": anomaly.title, "claim": anomaly.claim,
                           "operations": list(anomaly.operations),
                           "facts": {name: fact_json(fact) for name, fact in anomaly.facts.items()}}
    if text is not None:
        out["text"] = text
    return out


def anomaly_from_json(data: Mapping[str, Any]) -> Anomaly:
    """The anomaly an :func:`anomaly_json` object describes; :class:`ValueError` if it is not one."""
    kind = data.get("kind")
    if kind not in TITLES:
        raise ValueError(f"unknown kind of anomaly {kind!r}")
    facts = {str(name): fact_from_json(fact) for name, fact in (data.get("facts") or {}).items()}
    return Anomaly(str(kind), str(data.get("claim")), tuple(int(i) for i in data.get("operations", ())), facts)
