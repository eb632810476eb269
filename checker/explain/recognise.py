"""Plain-English explanations of a verdict, for people who study counterexamples.

A :class:`~redlin.Violation` says *that* a part of a history has no linearization; a user wants to
know *why*, in the words of the guarantee that was broken.  :func:`explain` recognises the classic
anomalies in the minimal counterexample (the *core* from :func:`~redlin.minimise`), and states
each as a claim about the history that can be checked by hand against the timeline:

- **impossible reply** -- a read returned a value that no operation ever wrote, or whose only
  writes began after the read had returned (a read "from the future"), or a core of a single
  operation (its reply is impossible whatever the others did);
- **stale read** -- a read returned a value that had already been overwritten before it began
  (or that a completed earlier read had already seen replaced);
- **lost update** -- two read-modify-writes observed the same value (two INCRs returning the same
  number, two WATCH ... EXEC transactions that both committed on the same read, two
  compare-and-sets from the same value);
- **torn transaction** -- a reader saw some writes of a MULTI/EXEC block but not the others, or
  the block's own replies show another command ran in the middle of it;
- **unjustified nil EXEC** -- EXEC returned nil although nothing could have touched a watched key
  between the WATCH and the EXEC;
- Pub/Sub (sheet P): a **lost message** (a subscriber got a later reply but never the message
  published while it was subscribed), a **duplicate message**, **reordered messages** (read in
  another order than the server's, or in different orders by two subscribers), a **phantom
  message** (no PUBLISH sent it) and a **wrong receiver count** (PUBLISH's count cannot be the
  number of subscriptions at any moment while it ran).

Each recogniser only speaks when its claim is implied by the history itself (it checks every other
operation of the part, indeterminate ones included, that could falsify the sentence); otherwise the
explanation falls back to "no order explains these operations", listing the core.  The vocabulary
of reads and writes comes from the model family (Redis commands, register, key/value store), as
Knossos's reports speak of ``:read`` and ``:write``.  Times are relative to the history's first
invocation, in milliseconds (event positions, ``t=12``, for histories imported from logs).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from redlin.adapter.deliveries import (
    Publish,
    Receipt,
    Sources,
    Subscriptions,
    is_receive,
    publishes,
    receipts,
    runs_scripts,
)
from redlin.adapter.redis_model import canonical_result, describe_command, describe_reply
from redlin.history.records import History, Operation, Outcome
from redlin.model import NULL_ARRAY, Error, State, is_message, keys_of, lookup, mailbox, stringmatch
from redlin.model import step as model_step
from redlin.model._reply import Reply
from redlin.search.model import Model
from redlin.search.result import Linearizable, Result, Violation

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
KINDS = (STALE_READ, LOST_UPDATE, TORN_TRANSACTION, UNJUSTIFIED_NIL_EXEC, IMPOSSIBLE_REPLY, LOST_MESSAGE,
         DUPLICATE_MESSAGE, REORDERED_MESSAGES, PHANTOM_MESSAGE, WRONG_RECEIVER_COUNT, NO_VALID_ORDER)
"""The kinds of violation :func:`classify` names (``result.json``'s ``kind``)."""

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
}

_LISTED = 12  # operations listed by name in the generic explanation


# ----------------------------------------------------------------------------- time


@dataclass(frozen=True, slots=True)
class Clock:
    """Formats a history's times relative to its first invocation.

    ``unit`` is ``"ns"`` for recorded histories (the client's monotonic clock) and ``"tick"`` for
    histories imported from event logs, whose times are event positions.
    """

    origin: int
    unit: str

    @classmethod
    def of(cls, history: History) -> Clock:
        origin = min((op.invoke for op in history), default=0)
        unit = history.meta.get("time_unit")
        if unit not in ("ns", "tick"):
            # The importers record where a log came from; their times are positions in it.
            unit = "tick" if "source" in history.meta else "ns"
        return cls(origin, unit)

    def number(self, time: int) -> str:
        """``time`` without a unit: milliseconds with as few decimals as show it, or the tick."""
        if self.unit == "tick":
            return str(time - self.origin)
        ms = (time - self.origin) / 1e6
        for decimals in (1, 3, 6):
            text = f"{ms:.{decimals}f}"
            if float(text) == ms or decimals == 6 or (abs(ms) >= 1 and decimals == 3):
                break
        return text.rstrip("0").rstrip(".") if "." in text else text

    def at(self, time: int) -> str:
        return f"t={self.number(time)}" if self.unit == "tick" else f"{self.number(time)} ms"

    def span(self, op: Operation) -> str:
        """``12.4–12.6 ms``, or ``from 12.4 ms, no reply`` for an indeterminate operation."""
        if op.complete is None:
            return f"from {self.at(op.invoke)}, no reply"
        if self.unit == "tick":
            return f"t={self.number(op.invoke)}–{self.number(op.complete)}"
        return f"{self.number(op.invoke)}–{self.number(op.complete)} ms"


# ----------------------------------------------------------------------------- reads and writes


READ, WRITE, MAYBE, TRANSFORM = "read", "write", "maybe", "transform"


@dataclass(frozen=True, slots=True)
class Access:
    """What one operation did to one key, as far as its call and reply tell.

    ``kind`` is ``read`` (``value`` was observed), ``write`` (the key was set to ``value``: the
    operation definitely took effect and the write was unconditional), ``maybe`` (it may have set
    the key to ``value``: a conditional write, or an indeterminate operation) or ``transform`` (it
    changed the key to something derived from its old value: INCR, APPEND).  ``text`` names the
    command for sentences (``GET k``).
    """

    key: Hashable
    kind: str
    value: Hashable
    text: str


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """How to talk about one model family's operations."""

    accesses: Callable[[Operation], tuple[Access, ...] | None]
    """Reads and writes of an operation; ``None`` if its shape is unknown (no claims are made)."""
    command: Callable[[Operation], str]
    """The call without its reply (``SET k 1``, ``write 1``)."""
    value: Callable[[Hashable], str]
    key: Callable[[Hashable], str]
    initial: Hashable
    """The value every key holds before any write."""
    expected: Callable[[Hashable, Operation], str | None] = lambda state, op: None
    """What the model would have replied to ``op`` in ``state``, when it differs from the reply."""
    keys: Callable[[Operation], Iterable[Hashable]] = lambda op: ()
    """The keys ``op`` names (as ``key`` shows them), to label the parts of a history."""


def vocabulary(model: Model[Any]) -> Vocabulary | None:
    """The vocabulary of ``model``'s family, by its name; ``None`` for a model redlin doesn't know."""
    if model.name in ("redis", "redis-single"):
        return REDIS
    if model.name in ("register", "cas-register"):
        return _register_vocabulary(model)
    if model.name in ("kv", "kv-single"):
        return _KV
    return None


def _plain(value: Hashable) -> str:
    return "nil" if value is None else repr(value) if isinstance(value, str) else str(value)


def _register_vocabulary(model: Model[Any]) -> Vocabulary:
    initial = model.init()[0]

    def accesses(op: Operation) -> tuple[Access, ...] | None:
        call = op.call
        if not isinstance(call, tuple) or not call:
            return None
        kind = call[0]
        definite = op.outcome is Outcome.OK
        if kind == "read":
            return (Access("register", READ, op.result, "read"),) if definite else ()
        if kind == "write" and len(call) == 2:
            return (Access("register", WRITE if definite else MAYBE, call[1], f"write {_plain(call[1])}"),)
        if kind == "cas" and len(call) == 3:
            text = f"cas {_plain(call[1])}->{_plain(call[2])}"
            if definite and not op.result:
                return ()
            return (Access("register", WRITE if definite else MAYBE, call[2], text),)
        return None

    def command(op: Operation) -> str:
        call = op.call
        if call[0] == "write":
            return f"write {_plain(call[1])}"
        if call[0] == "cas":
            return f"cas {_plain(call[1])}->{_plain(call[2])}"
        return str(call[0])

    def expected(state: Hashable, op: Operation) -> str | None:
        held = state[0]  # type: ignore[index]
        if op.outcome is not Outcome.OK:
            return None
        if op.call[0] == "read":
            return f"the register holds {_plain(held)}, so a read returns {_plain(held)}"
        if op.call[0] == "cas":
            verdict = "succeed" if held == op.call[1] else "fail"
            return f"the register holds {_plain(held)}, so {command(op)} would {verdict}"
        return None

    return Vocabulary(accesses, command, _plain, lambda key: "the register", initial, expected,
                      lambda op: ("register",))


def _kv_accesses(op: Operation) -> tuple[Access, ...] | None:
    call = op.call
    if not isinstance(call, tuple) or len(call) < 2:
        return None
    kind, key = call[0], call[1]
    definite = op.outcome is Outcome.OK
    if kind == "get":
        return (Access(key, READ, op.result, f"get {key!r}"),) if definite else ()
    if kind == "put" and len(call) == 3:
        return (Access(key, WRITE if definite else MAYBE, call[2], f"put {key!r} {call[2]!r}"),)
    if kind == "append" and len(call) == 3:
        return (Access(key, TRANSFORM, None, f"append {key!r} {call[2]!r}"),)
    return None


def _kv_command(op: Operation) -> str:
    return " ".join([str(op.call[0])] + [repr(arg) for arg in op.call[1:]])


def _kv_expected(state: Hashable, op: Operation) -> str | None:
    if op.outcome is not Outcome.OK or op.call[0] != "get":
        return None
    return f"get {op.call[1]!r} would return {state.get(op.call[1], '')!r}"  # type: ignore[attr-defined]


_KV = Vocabulary(_kv_accesses, _kv_command, lambda value: repr(value), lambda key: repr(key), "", _kv_expected,
                 lambda op: (op.call[1],) if isinstance(op.call, tuple) and len(op.call) > 1 else ())


# ----------------------------------------------------------------------------- the entry points


@dataclass(frozen=True, slots=True)
class Explanation:
    """A classified explanation: ``kind`` is one of :data:`KINDS` (``None`` unless a violation)."""

    kind: str | None
    lines: tuple[str, ...]


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
        torn transaction, unjustified nil EXEC, impossible reply) with the clients, values and
        times that prove it, or says that no order explains the core, listing it; the last one
        says where the checker's search got stuck.

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
    """:func:`explain`, with the kind of violation it recognised."""
    clock = Clock.of(history)
    if isinstance(result, Linearizable):
        definite = sum(1 for op in history if op.outcome is Outcome.OK)
        parts = f"{len(result.parts)} independent part{'s' if len(result.parts) != 1 else ''}"
        return Explanation(None, (
            f"Linearizable: each of the {parts} has an order of its operations that respects real "
            f"time and in which the model gives every observed reply ({definite} replies in all). The "
            "witness order is shown; indeterminate operations it leaves out are taken never to have "
            "happened.",
        ))
    if not isinstance(result, Violation):
        return Explanation(None, (
            f"Unknown: {result.reason} before a verdict was proved; {result.parts_checked} of "
            f"{result.parts_total} parts were proved linearizable and no violation was found so far.",
        ))
    words = vocabulary(model)
    analysis = _Analysis(history, result, tuple(core), clock, words)
    found = analysis.recognise()
    kind, first = found if found is not None else (NO_VALID_ORDER, analysis.no_valid_order())
    lines = [first if kind == NO_VALID_ORDER else f"{TITLES[kind][0].upper()}{TITLES[kind][1:]}: {first}"]
    if core:
        lines.append(
            f"Minimal counterexample: {len(core)} operation{'s' if len(core) != 1 else ''} that cannot be "
            "explained even if every other operation of the history may or may not have happened, "
            "at any time after its invocation."
        )
    lines.append(analysis.search_note(model))
    return Explanation(kind, tuple(lines))


# ----------------------------------------------------------------------------- recognisers


def _client(op: Operation) -> str:
    return f"client {op.client}"


class _Analysis:
    """The facts one explanation draws on: the core, its part, and their reads and writes."""

    def __init__(self, history: History, violation: Violation, core: tuple[int, ...], clock: Clock,
                 words: Vocabulary | None) -> None:
        self.history = history
        self.violation = violation
        self.clock = clock
        self.words = words
        self.part = [history[i] for i in violation.part if history[i].outcome is not Outcome.FAIL]
        subjects = core or tuple(op.id for op in self.part if op.outcome is Outcome.OK)
        # The operation the search got stuck on first: anomalies that involve it read best.
        self.subjects = sorted((history[i] for i in subjects), key=lambda op: (op.id != violation.operation, op.invoke))
        self.core = core
        self.accesses: dict[int, tuple[Access, ...] | None] = {}

    @cached_property
    def subscriptions(self) -> Subscriptions:
        """Who subscribed to what in the part (for the Pub/Sub recognisers)."""
        return Subscriptions(self.part)

    @cached_property
    def deliveries(self) -> tuple[list[Publish], dict[Hashable, list[Receipt]]] | None:
        """The part's PUBLISHes and the messages each client read (None if it runs scripts)."""
        if runs_scripts(self.part):
            return None
        return publishes(self.part), receipts(self.part)

    @cached_property
    def sources(self) -> Sources:
        """Which PUBLISHes of the part could have sent a frame."""
        return Sources(self.deliveries[0] if self.deliveries is not None else ())

    def of(self, op: Operation) -> tuple[Access, ...] | None:
        if op.id not in self.accesses:
            self.accesses[op.id] = self.words.accesses(op) if self.words is not None else None
        return self.accesses[op.id]

    def recognise(self) -> tuple[str, str] | None:
        """The first anomaly whose claim the history proves, as (kind, sentence)."""
        if self.words is None:
            return None
        redis = self.words is REDIS
        order: list[tuple[str, Callable[[], str | None]]] = [
            (IMPOSSIBLE_REPLY, self.never_written),
            (IMPOSSIBLE_REPLY, self.read_from_the_future),
        ]
        if redis:
            order += [
                (PHANTOM_MESSAGE, lambda: _phantom_message(self)),
                (DUPLICATE_MESSAGE, lambda: _duplicate_message(self)),
                (WRONG_RECEIVER_COUNT, lambda: _wrong_receiver_count(self)),
                (REORDERED_MESSAGES, lambda: _reordered_messages(self)),
                (REORDERED_MESSAGES, lambda: _split_publish(self)),
                (LOST_MESSAGE, lambda: _lost_message(self)),
                (LOST_MESSAGE, lambda: _lost_sibling(self)),
                (UNJUSTIFIED_NIL_EXEC, lambda: _nil_exec(self)),
                (TORN_TRANSACTION, lambda: _interleaved_transaction(self)),
                (TORN_TRANSACTION, lambda: _torn_read(self)),
                (TORN_TRANSACTION, lambda: _intermediate_read(self)),
                (LOST_UPDATE, lambda: _lost_increment(self)),
                (LOST_UPDATE, lambda: _lost_watched_update(self)),
            ]
        order += [
            (LOST_UPDATE, self.lost_compare_and_set),
            (STALE_READ, self.overwritten_read),
            (STALE_READ, self.read_after_newer_read),
            (IMPOSSIBLE_REPLY, self.alone),
        ]
        for kind, recogniser in order:
            sentence = recogniser()
            if sentence is not None:
                return kind, sentence
        return None

    # --- helpers

    def name(self, op: Operation) -> str:
        """``client 1's SET k 1``."""
        assert self.words is not None
        return f"{_client(op)}'s {self.words.command(op)}"

    def reads(self) -> Iterable[tuple[Operation, Access]]:
        for op in self.subjects:
            for access in self.of(op) or ():
                if access.kind == READ:
                    yield op, access

    def writes_to(self, key: Hashable, until: float = float("inf"),
                  exclude: int | None = None) -> list[tuple[Operation, Access]] | None:
        """Every write of ``key`` in the part invoked by ``until`` (later ones cannot affect a read that
        returned by then), or ``None`` if some such operation's effect on it is unknown (a transform,
        or an operation whose shape the vocabulary does not know)."""
        found = []
        for op in self.part:
            if op.invoke > until or op.id == exclude:
                continue
            accesses = self.of(op)
            if accesses is None:
                return None
            for access in accesses:
                if access.key != key:
                    continue
                if access.kind == TRANSFORM:
                    return None
                if access.kind in (WRITE, MAYBE):
                    found.append((op, access))
        return found

    def show(self, access: Access) -> tuple[str, str]:
        assert self.words is not None
        return self.words.value(access.value), self.words.key(access.key)

    # --- impossible replies

    def never_written(self) -> str | None:
        assert self.words is not None
        for op, read in self.reads():
            if read.value == self.words.initial:
                continue
            writes = self.writes_to(read.key)
            if writes is None or any(w.value == read.value for _, w in writes):
                continue
            value, key = self.show(read)
            return (f"{_client(op)} read {value} from {key} ({self.clock.span(op)}), but no operation "
                    f"ever wrote {value} to {key}.")
        return None

    def read_from_the_future(self) -> str | None:
        assert self.words is not None
        for op, read in self.reads():
            if read.value == self.words.initial or op.complete is None:
                continue
            writes, earlier = self.writes_to(read.key), self.writes_to(read.key, op.complete)
            if writes is None or earlier is None:
                continue
            sources = [w for w, access in writes if access.value == read.value]
            if not sources or any(w.invoke <= op.complete for w in sources):
                continue
            value, key = self.show(read)
            first = min(sources, key=lambda w: w.invoke)
            which = "the only write" if len(sources) == 1 else "every write"
            return (f"{_client(op)} read {value} from {key} at {self.clock.at(op.invoke)}, but {which} of "
                    f"{value} ({self.name(first)}) was invoked at {self.clock.at(first.invoke)}, after that "
                    f"read had returned at {self.clock.at(op.complete)}.")
        return None

    def alone(self) -> str | None:
        if len(self.core) != 1:
            return None
        op = self.history[self.core[0]]
        text = self.describe(op)
        return (f"{_client(op)}'s {text} ({self.clock.span(op)}) cannot be explained by any order of "
                "the operations, even if every other one took effect at any time after its invocation "
                "or not at all.")

    # --- stale reads

    def overwritten_read(self) -> str | None:
        """The read began after a write of another value, which began after every write of its value."""
        assert self.words is not None
        for op, read in self.reads():
            writes = self.writes_to(read.key, _end(op))
            if writes is None:
                continue
            sources = [w for w, a in writes if a.value == read.value]
            if not sources and read.value != self.words.initial:
                continue
            # The initial value counts as a write that completed before everything.
            last_source = max((_end(w) for w in sources), default=-_INFINITY)
            over = [(w, a) for w, a in writes
                    if a.kind == WRITE and a.value != read.value and w.complete is not None
                    and w.complete < op.invoke and w.invoke > last_source]
            if not over:
                continue
            writer, overwrite = max(over, key=lambda pair: (pair[0].id in self.core, _end(pair[0])))
            value, key = self.show(read)
            assert writer.complete is not None
            verb = "had deleted it" if overwrite.value is None and self.words is REDIS else "had overwritten it"
            head = f"{_client(op)} read {value} from {key} ({self.clock.span(op)}), but {self.name(writer)} {verb}: "
            if not sources:
                back = (f"nothing deleted {key} afterwards" if self.words is REDIS and read.value is None
                        else f"nothing set {key} back to {value} (its initial value) afterwards")
                return head + f"that write completed at {self.clock.at(writer.complete)}, before the read began, and {back}."
            if len(sources) == 1:
                after = f"after the only write of {value} ({self.name(sources[0])}) had returned"
            else:
                after = f"after every write of {value} had returned (the last, {self.name(max(sources, key=_end))})"
            return (head + f"that write began at {self.clock.at(writer.invoke)}, {after} at "
                    f"{self.clock.at(int(last_source))}, and completed at {self.clock.at(writer.complete)}, "
                    "before the read began.")
        return None

    def read_after_newer_read(self) -> str | None:
        """A read saw a value that an earlier, completed read had already seen replaced."""
        assert self.words is not None
        for later, read in self.reads():
            writes = self.writes_to(read.key, _end(later))
            if writes is None:
                continue
            sources = [w for w, a in writes if a.value == read.value]
            last_source = max((_end(w) for w in sources), default=-_INFINITY)
            if read.value != self.words.initial and not sources:
                continue
            for earlier, seen in self.reads():
                if (seen.key != read.key or seen.value == read.value or earlier.complete is None
                        or earlier.complete >= later.invoke or earlier.invoke <= last_source):
                    continue
                value, key = self.show(read)
                newer = self.words.value(seen.value)
                when = ("it was the initial value and nothing wrote it again" if not sources else
                        f"every write of {value} had completed by {self.clock.at(int(last_source))}, "
                        f"before that earlier read began")
                return (f"{_client(later)} read {value} from {key} ({self.clock.span(later)}), after "
                        f"{_client(earlier)} had already read the newer {newer} ({self.clock.span(earlier)}); "
                        f"{when}, so once {newer} was visible {value} could not come back.")
        return None

    # --- transactions and compare-and-set

    def lost_compare_and_set(self) -> str | None:
        """Two successful compare-and-sets from the same value, with no write of it in between."""
        assert self.words is not None
        cas = [op for op in self.subjects
               if op.outcome is Outcome.OK and isinstance(op.call, tuple) and op.call[0] == "cas" and op.result]
        for i, first in enumerate(cas):
            for second in cas[i + 1:]:
                expected = first.call[1]
                if second.call[1] != expected:
                    continue
                writes = self.writes_to("register")
                if writes is None:
                    continue
                start = min(first.invoke, second.invoke)
                restorers = [w for w, a in writes if a.value == expected and w.id not in (first.id, second.id)]
                if any(w.complete is None or w.complete >= start for w in restorers):
                    continue
                value = self.words.value(expected)
                return (f"{self.name(first)} ({self.clock.span(first)}) and {self.name(second)} "
                        f"({self.clock.span(second)}) both succeeded, but after either one the register no "
                        f"longer held {value}, and no write of {value} could come between them: one update "
                        "was lost.")
        return None

    # --- fallbacks

    def describe(self, op: Operation) -> str:
        if self.words is None:
            return repr(op.call) if op.outcome is not Outcome.OK else f"{op.call!r} -> {op.result!r}"
        if self.words is REDIS:
            return _redis_describe(op)
        text = self.words.command(op)
        if op.outcome is Outcome.OK and op.result is not None and not isinstance(op.result, bool):
            text += f" -> {self.words.value(op.result)}"
        elif op.outcome is Outcome.OK and isinstance(op.result, bool):
            text += " ok" if op.result else " failed"
        return text

    def no_valid_order(self) -> str:
        ops = sorted((self.history[i] for i in self.core), key=lambda op: (op.invoke, op.id)) if self.core \
            else [self.history[self.violation.operation]]
        listed = "; ".join(f"{_client(op)}: {self.describe(op)} ({self.clock.span(op)})" for op in ops[:_LISTED])
        more = f"; and {len(ops) - _LISTED} more" if len(ops) > _LISTED else ""
        if not self.core:
            return (f"No order of this part's operations explains {listed}; the counterexample was not "
                    "minimised.")
        return f"No order of these operations explains all their replies: {listed}{more}."

    def search_note(self, model: Model[Any]) -> str:
        op = self.history[self.violation.operation]
        if not self.violation.prefixes:
            return (f"The checker's pre-check found {_client(op)}'s operation {op.id} impossible by itself, "
                    "before any search.")
        prefix = self.violation.prefixes[0]
        state = prefix[-1][1] if prefix else model.init()
        count = f"{len(prefix)} operation{'s' if len(prefix) != 1 else ''}"
        text = (f"The checker's longest linearization of this part places {count} (state then: "
                f"{_short(model.describe_state(state))}); operation {op.id}, {_client(op)}'s "
                f"{self.describe(op)} ({self.clock.span(op)}), cannot be placed next")
        expected = self.words.expected(state, op) if self.words is not None else None
        if expected:
            text += f": there {expected}"
        return text + "."


_INFINITY = float("inf")


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _end(op: Operation) -> float:
    """An operation's completion, +infinity if it has none (it may take effect at any later time)."""
    return _INFINITY if op.complete is None else op.complete


# ----------------------------------------------------------------------------- Redis


@dataclass(frozen=True, slots=True)
class _Command:
    """One command of a Redis operation as it ran: inside a committed EXEC, or on its own."""

    argv: tuple[bytes, ...]
    reply: Reply
    known: bool
    """The command ran and ``reply`` is what it answered (a definite operation, not aborted)."""
    queued: bool


_CONDITIONAL_SET = frozenset({b"NX", b"XX"})
# Commands that touch keys without the "readonly" flag but leave every value alone.
_NO_EFFECT = frozenset({b"watch", b"unwatch", b"multi", b"exec", b"discard"})


def _commands(op: Operation) -> list[_Command]:
    """The commands of ``op`` that ran or may have run, with their replies when known.

    Commands queued after MULTI run at EXEC, with EXEC's array reply; an aborted EXEC (nil or
    EXECABORT) ran none of them.  For an indeterminate operation every command may have run.
    """
    definite = op.outcome is Outcome.OK
    replies = op.result if definite else (None,) * len(op.call)
    out: list[_Command] = []
    queue: list[tuple[bytes, ...]] | None = None
    for argv, reply in zip(op.call, replies):
        name = argv[0].lower() if argv else b""
        if name == b"multi" and queue is None:
            queue = []
        elif queue is not None and name == b"exec":
            if not definite:
                out.extend(_Command(q, None, False, True) for q in queue)
            elif type(reply) is tuple:
                out.extend(_Command(q, r, True, True) for q, r in zip(queue, reply))
            queue = None
        elif queue is not None and name == b"discard":
            queue = None
        elif queue is not None:
            queue.append(argv)
        else:
            out.append(_Command(argv, reply, definite, False))
    if queue is not None and not definite:  # MULTI without EXEC in an indeterminate operation
        out.extend(_Command(q, None, False, True) for q in queue)
    return out


def _command_accesses(command: _Command, *, assume_ran: bool = False) -> list[Access] | None:
    """The accesses of one command; with ``assume_ran``, as if it certainly ran (reply unknown)."""
    argv, reply, known = command.argv, command.reply, command.known
    name = argv[0].lower()
    spec = lookup(argv)
    if spec is None or name in _NO_EFFECT or (known and type(reply) is Error):
        return []
    keys = keys_of(argv)
    if keys is None:
        return None
    text = describe_command(argv)
    sure = WRITE if known or assume_ran else MAYBE

    def reads(key: bytes, value: Reply) -> list[Access]:
        return [Access(key, READ, value, text)] if known and (value is None or type(value) is bytes) else []

    try:
        if name == b"get":
            return reads(argv[1], reply)
        if name == b"mget":
            return [a for key, value in zip(argv[1:], reply if known and type(reply) is tuple else ())
                    for a in reads(key, value)]
        if name == b"getset":
            return reads(argv[1], reply) + [Access(argv[1], sure, argv[2], text)]
        if name == b"getdel":
            return reads(argv[1], reply) + [Access(argv[1], sure, None, text)]
        if name == b"getex":
            return reads(argv[1], reply)
        if name == b"set":
            options = {arg.upper() for arg in argv[3:]}
            out = reads(argv[1], reply) if b"GET" in options else []
            if options & _CONDITIONAL_SET:
                if known and b"GET" not in options:
                    return [Access(argv[1], WRITE, argv[2], text)] if reply is not None else []
                return out + [Access(argv[1], MAYBE, argv[2], text)]
            return out + [Access(argv[1], sure, argv[2], text)]
        if name in (b"setex", b"psetex"):
            return [Access(argv[1], sure, argv[3], text)]
        if name in (b"setnx", b"msetnx"):
            if known and reply == 0:
                return []
            pairs = [(argv[1], argv[2])] if name == b"setnx" else list(zip(argv[1::2], argv[2::2]))
            return [Access(key, WRITE if known else MAYBE, value, text) for key, value in pairs]
        if name == b"mset":
            return [Access(key, sure, value, text) for key, value in zip(argv[1::2], argv[2::2])]
        if name in (b"del", b"unlink"):
            return [Access(key, sure, None, text) for key in argv[1:]]
    except IndexError:  # a malformed command: its reply is an error the model checks
        return []
    if "readonly" in spec.flags:
        return []
    # Any other command with keys may change them (scripts carry no "write" flag).
    return [Access(key, TRANSFORM, None, text) for key in keys]


def _redis_accesses(op: Operation) -> tuple[Access, ...] | None:
    found: list[Access] = []
    for command in _commands(op):
        accesses = _command_accesses(command)
        if accesses is None:
            return None
        found.extend(accesses)
    return tuple(found)


_BRIEF = 40


def _brief(arg: bytes) -> bytes:
    """A long argument (a script, a large value) cut to its start, for sentences."""
    if len(arg) <= _BRIEF:
        return arg
    lines = arg.splitlines() or [arg]
    return lines[0][:24] + "…".encode()


def _brief_command(argv: Sequence[bytes]) -> str:
    return describe_command(tuple(_brief(arg) for arg in argv))


def _redis_command(op: Operation) -> str:
    return "; ".join(_brief_command(argv) for argv in op.call)


def _redis_value(value: Hashable) -> str:
    if value is None:
        return "nil"
    if type(value) is int:
        return str(value)
    return _short(describe_reply(value), 80)  # type: ignore[arg-type]


def _redis_describe(op: Operation) -> str:
    """:func:`describe_operation` with long arguments and replies cut short."""
    if op.outcome is not Outcome.OK:
        return f"{_redis_command(op)} -> ? ({op.outcome.value})"
    return f"{_redis_command(op)} -> {_short(describe_reply(op.result[-1]), 80)}"


def _redis_expected(state: Hashable, op: Operation) -> str | None:
    """The first reply of ``op`` that the model, run from ``state``, answers differently."""
    if op.outcome is not Outcome.OK:
        return None
    waiting = _unread(state, op.client)
    if waiting is not None:  # Pub/Sub: what the client had to read first
        return waiting
    if is_receive(op):
        return f"no message was waiting for client {op.client} to read"
    try:
        replies: list[Reply] = []
        for argv in op.call:
            state, reply = model_step(state, op.client, argv)  # type: ignore[arg-type]
            replies.append(reply)
        expected = canonical_result(op.call, replies)
    except Exception:  # noqa: BLE001 - an explanation must never break a report
        return None
    queue: list[tuple[bytes, ...]] = []
    for argv, want, got in zip(op.call, expected, op.result):
        name = argv[0].lower()
        if name == b"multi":
            queue = []
        elif name not in (b"exec", b"discard"):
            queue.append(argv)
        if want == got:
            continue
        if name == b"exec" and type(want) is tuple and type(got) is tuple and len(want) == len(got):
            for queued, inner_want, inner_got in zip(queue, want, got):
                if inner_want != inner_got:
                    return (f"{_brief_command(queued)} (inside EXEC) would reply {_redis_value(inner_want)}, "
                            f"not {_redis_value(inner_got)}")
        return f"{_brief_command(argv)} would reply {_redis_value(want)}, not {_redis_value(got)}"
    return None


def _unread(state: Hashable, client: Hashable) -> str | None:
    """What the client had to read next, when it has messages queued: ``None`` otherwise."""
    if not isinstance(state, State) or not state.session(client).mailbox:
        return None
    frames = mailbox(state, client)
    first = _frame_text(frames[0]) if is_message(frames[0]) else _redis_value(frames[0])  # type: ignore[arg-type]
    more = f" (and {len(frames) - 1} more)" if len(frames) > 1 else ""
    return f"client {client} had the {first}{more} to read before anything else"


def _redis_keys(op: Operation) -> Iterable[Hashable]:
    for argv in op.call:
        if argv:
            yield from keys_of(argv) or ()


REDIS = Vocabulary(_redis_accesses, _redis_command, _redis_value, lambda key: describe_command((key,)),  # type: ignore[arg-type]
                   None, _redis_expected, _redis_keys)


def _watch(analysis: _Analysis, exec_op: Operation) -> tuple[Operation, frozenset[bytes]] | None:
    """The operation with the WATCH that guards ``exec_op``'s EXEC, and the keys it watches."""
    mine = sorted((op for op in analysis.part if op.client == exec_op.client and op.invoke <= exec_op.invoke),
                  key=lambda op: (op.invoke, op.id))
    for op in reversed(mine):
        names = [argv[0].lower() for argv in op.call]
        if op.id != exec_op.id and any(n in (b"exec", b"discard", b"unwatch", b"reset") for n in names):
            return None
        if b"watch" in names:
            keys = frozenset(key for argv in op.call if argv[0].lower() == b"watch" for key in argv[1:])
            return op, keys
    return None


def _exec_reply(op: Operation) -> Reply:
    for argv, reply in zip(op.call, op.result):
        if argv[0].lower() == b"exec":
            found: Reply = reply
            return found
    return Error("no EXEC")


def _touches(op: Operation, keys: frozenset[bytes]) -> bool:
    """Could ``op`` modify one of ``keys`` (conservatively: any non-read-only command on it)?"""
    for command in _commands(op):
        accesses = _command_accesses(command)
        if accesses is None:
            return True
        if any(a.kind != READ and a.key in keys for a in accesses):
            return True
    return False


def _keys_text(keys: Iterable[bytes]) -> str:
    return ", ".join(describe_command((key,)) for key in sorted(keys))


def _nil_exec(analysis: _Analysis) -> str | None:
    clock = analysis.clock
    for op in analysis.subjects:
        if op.outcome is not Outcome.OK or _exec_reply(op) is not NULL_ARRAY:
            continue
        commands = _redis_command(op)
        watch = _watch(analysis, op)
        if watch is None:
            return (f"{_client(op)}'s EXEC returned nil ({commands}, {clock.span(op)}), but that client "
                    "watched no key: EXEC aborts with nil only when a key WATCHed before it was modified.")
        watcher, keys = watch
        assert op.complete is not None
        between = [other for other in analysis.part
                   if other.id not in (watcher.id, op.id) and other.invoke < op.complete
                   and _end(other) > watcher.invoke]
        if any(_touches(other, keys) for other in between):
            continue
        earlier = [other for other in analysis.part
                   if other.id not in (watcher.id, op.id) and _end(other) <= watcher.invoke and _touches(other, keys)]
        context = ""
        if earlier:
            last = max(earlier, key=_end)
            context = (f" ({analysis.name(last)} completed at {clock.at(int(_end(last)))}, before the WATCH "
                       "was sent)")
        elif between:
            readers = ", ".join(f"{analysis.name(other)} ({clock.span(other)})" for other in between[:3])
            context = f" (the other operations in between only read: {readers})"
        return (f"{_client(op)} WATCHed {_keys_text(keys)} at {clock.at(watcher.invoke)} and its EXEC "
                f"returned nil ({commands}, {clock.span(op)}), but no operation could have modified "
                f"{_keys_text(keys)} between that WATCH and the EXEC{context}. EXEC aborts with nil only "
                "when a watched key was modified after WATCH.")
    return None


_DELTAS = {b"incr": 1, b"decr": -1}


def _delta(argv: tuple[bytes, ...]) -> int | None:
    name = argv[0].lower()
    if name in _DELTAS:
        return _DELTAS[name]
    if name in (b"incrby", b"decrby") and len(argv) == 3:
        try:
            amount = int(argv[2])
        except ValueError:
            return None
        return amount if name == b"incrby" else -amount
    return None


def _interleaved_transaction(analysis: _Analysis) -> str | None:
    """A committed transaction's own counter replies show another command ran inside it."""
    clock = analysis.clock
    for op in analysis.subjects:
        if op.outcome is not Outcome.OK or len(op.call) < 3:
            continue
        last: dict[Hashable, tuple[int, tuple[bytes, ...]]] = {}
        for command in _commands(op):
            if not command.queued or not command.known:
                continue
            delta = _delta(command.argv)
            key = command.argv[1] if len(command.argv) > 1 else b""
            if delta is None or type(command.reply) is not int:
                for access in _command_accesses(command) or ():
                    last.pop(access.key, None)
                continue
            before = last.get(key)
            if before is not None and before[0] + delta != command.reply:
                return (f"{_client(op)}'s transaction ({_redis_command(op)}, {clock.span(op)}) got "
                        f"{before[0]} from {describe_command(before[1])} and then {command.reply} from "
                        f"{describe_command(command.argv)}: another command changed {describe_command((key,))} "
                        "in between, but EXEC runs its queued commands with nothing in between.")
            last[key] = (command.reply, command.argv)
    return None


def _final_writes(op: Operation) -> dict[bytes, Access] | None:
    """The value each key holds after a transaction's writes, if it ran; ``None`` if one is conditional."""
    writes: dict[bytes, Access] = {}
    for command in _commands(op):
        if not command.queued:
            continue
        for access in _command_accesses(command, assume_ran=True) or ():
            if access.kind == READ:
                continue
            if access.kind != WRITE:
                return None
            writes[access.key] = access  # type: ignore[index]
    return writes


def _torn_read(analysis: _Analysis) -> str | None:
    """A reader saw one write of a committed transaction and, later or at once, not another."""
    clock = analysis.clock
    # The transaction itself need not be in the core: weakened to "may or may not have happened",
    # it still happens atomically or not at all.
    transactions = [op for op in analysis.part
                    if (op.outcome is Outcome.OK and type(_exec_reply(op)) is tuple)
                    or (op.outcome is Outcome.INFO and any(argv[0].lower() == b"multi" for argv in op.call))]
    reads = list(analysis.reads())
    for tx in transactions:
        writes = _final_writes(tx)
        if not writes or len(writes) < 2:
            continue
        for a, wrote_a in writes.items():
            others_a = analysis.writes_to(a)
            if others_a is None or any(w.id != tx.id and access.value == wrote_a.value for w, access in others_a):
                continue  # a's value might have come from elsewhere
            for b, wrote_b in writes.items():
                others_b = analysis.writes_to(b)
                if b == a or others_b is None or any(
                        w.id != tx.id and _end(w) >= tx.invoke for w, _ in others_b):
                    continue  # b might have changed again after the transaction
                for first, saw_a in reads:
                    if first.id == tx.id or saw_a.key != a or saw_a.value != wrote_a.value:
                        continue
                    for second, saw_b in reads:
                        if (second.id == tx.id or saw_b.key != b or saw_b.value == wrote_b.value
                                or not (second.id == first.id or _end(first) < second.invoke)):
                            continue
                        a_text, b_text = describe_command((a,)), describe_command((b,))
                        wrote = (f"{analysis.name(tx)} ({clock.span(tx)}) sets {a_text} = "
                                 f"{_redis_value(wrote_a.value)} and {b_text} = {_redis_value(wrote_b.value)} "
                                 f"in one EXEC, and nothing else writes {a_text} = {_redis_value(wrote_a.value)}")
                        if second.id == first.id:
                            saw = (f"{analysis.name(first)} ({clock.span(first)}) saw {a_text} = "
                                   f"{_redis_value(saw_a.value)} with {b_text} = {_redis_value(saw_b.value)}")
                        else:
                            saw = (f"{_client(first)} read {a_text} = {_redis_value(saw_a.value)} "
                                   f"({clock.span(first)}) and then {_client(second)} read {b_text} = "
                                   f"{_redis_value(saw_b.value)} ({clock.span(second)})")
                        return (f"{wrote}, but {saw}: only part of the transaction. EXEC applies all its "
                                "commands at once, so no reader may see some of its writes without the others.")
    return None


_READ_MODIFY_WRITE = frozenset({b"incr", b"decr", b"incrby", b"decrby", b"incrbyfloat", b"hincrby",
                                b"hincrbyfloat", b"zincrby", b"append", b"lpush", b"rpush", b"sadd"})


def _lost_increment(analysis: _Analysis) -> str | None:
    """Two identical read-modify-writes of a key both answered as if the other had not happened."""
    clock = analysis.clock
    found: list[tuple[Operation, _Command]] = []
    for op in analysis.subjects:
        for command in _commands(op):
            if command.known and command.argv[0].lower() in _READ_MODIFY_WRITE and type(command.reply) is not Error:
                found.append((op, command))
    for i, (first, a) in enumerate(found):
        for second, b in found[i + 1:]:
            if first.id == second.id or a.argv[1:] != b.argv[1:] or a.argv[0].lower() != b.argv[0].lower() \
                    or a.reply != b.reply:
                continue
            key = a.argv[1]
            start, end = min(first.invoke, second.invoke), max(_end(first), _end(second))
            # No other writer of the key may fit between the two (a DEL would explain equal replies).
            others = [op for op in analysis.part if op.id not in (first.id, second.id) and _touches(op, frozenset({key}))
                      and _end(op) >= start and op.invoke <= end]
            if others:
                continue
            first, second = sorted((first, second), key=lambda op: (op.invoke, op.id))
            text = describe_command(a.argv)
            return (f"{_client(first)}'s {text} ({clock.span(first)}) and {_client(second)}'s {text} "
                    f"({clock.span(second)}) both returned {_redis_value(a.reply)}: each applied to the same "
                    f"value of {describe_command((key,))}, so one of the two updates was lost.")
    return None


def _lost_watched_update(analysis: _Analysis) -> str | None:
    """Two WATCH ... read ... EXEC transactions on the same read value both committed."""
    clock = analysis.clock
    guarded: list[tuple[Operation, Operation, bytes, Operation, Access, Access]] = []
    for tx in analysis.subjects:
        if tx.outcome is not Outcome.OK or type(_exec_reply(tx)) is not tuple:
            continue
        watch = _watch(analysis, tx)
        writes = _final_writes(tx)
        if watch is None or not writes:
            continue
        watcher, keys = watch
        for key, wrote in writes.items():
            if key not in keys:
                continue
            for reader in analysis.part:
                if reader.client != tx.client or not watcher.invoke <= reader.invoke <= tx.invoke:
                    continue
                for access in analysis.of(reader) or ():
                    if access.kind == READ and access.key == key:
                        guarded.append((tx, watcher, key, reader, access, wrote))
    for i, (tx1, w1, key, r1, read1, wrote1) in enumerate(guarded):
        for tx2, w2, key2, r2, read2, wrote2 in guarded[i + 1:]:
            if tx1.client == tx2.client or key2 != key or read1.value != read2.value \
                    or read1.value in (wrote1.value, wrote2.value):
                continue
            all_writes = analysis.writes_to(key)
            start = min(w1.invoke, w2.invoke)
            if all_writes is None or any(w.id not in (tx1.id, tx2.id) and _end(w) >= start for w, _ in all_writes):
                continue
            if (tx2.invoke, tx2.id) < (tx1.invoke, tx1.id):
                tx1, r1, tx2, r2 = tx2, r2, tx1, r1
            k, v = describe_command((key,)), _redis_value(read1.value)
            return (f"{_client(tx1)} and {_client(tx2)} both WATCHed {k} and read {v} from it "
                    f"({_client(tx1)} at {clock.span(r1)}, {_client(tx2)} at {clock.span(r2)}), and both of their "
                    f"transactions committed ({_client(tx1)}'s EXEC {clock.span(tx1)}, {_client(tx2)}'s "
                    f"{clock.span(tx2)}). Whichever EXEC ran second should have returned nil, because the "
                    f"first had modified {k} after the second client's WATCH: one update was lost.")
    return None


def _steps(tx: Operation) -> dict[bytes, list[tuple[Hashable, str]]] | None:
    """For a committed transaction, each key's values after each of its queued commands, with the
    command's text; ``None`` for a key once a value cannot be told from the replies."""
    if tx.outcome is not Outcome.OK or type(_exec_reply(tx)) is not tuple:
        return None
    steps: dict[bytes, list[tuple[Hashable, str]]] = {}
    unknown: set[bytes] = set()
    for command in _commands(tx):
        if not command.queued:
            continue
        text = f"{_brief_command(command.argv)} (-> {_redis_value(command.reply)})"
        if _delta(command.argv) is not None and type(command.reply) is int:
            steps.setdefault(command.argv[1], []).append((b"%d" % command.reply, text))
            continue
        for access in _command_accesses(command, assume_ran=True) or ():
            key = access.key
            if access.kind == READ or not isinstance(key, bytes):
                continue
            if access.kind == WRITE:
                steps.setdefault(key, []).append((access.value, text))
            else:
                unknown.add(key)
    return {key: values for key, values in steps.items() if key not in unknown}


def _intermediate_read(analysis: _Analysis) -> str | None:
    """A reader saw a value a key held only between two commands of one committed transaction."""
    clock = analysis.clock
    for tx in analysis.part:
        steps = _steps(tx)
        if not steps:
            continue
        for reader, read in analysis.reads():
            values = steps.get(read.key)  # type: ignore[call-overload]
            if reader.id == tx.id or not values or len(values) < 2 or read.value is None:
                continue
            middle = [i for i, (value, _) in enumerate(values[:-1]) if value == read.value]
            if not middle or values[-1][0] == read.value:
                continue
            others = analysis.writes_to(read.key, _end(reader), exclude=tx.id)
            if others is None or any(access.value == read.value for _, access in others):
                continue
            at = middle[0]
            key, value = analysis.words.key(read.key), _redis_value(read.value)  # type: ignore[union-attr]
            return (f"{_client(reader)} read {value} from {key} ({clock.span(reader)}), a value {key} held only "
                    f"inside {analysis.name(tx)} ({clock.span(tx)}): between its {values[at][1]} and its "
                    f"{values[at + 1][1]}. EXEC runs its queued commands at once, so no reader may see the "
                    "state between two of them.")
    return None


# ----------------------------------------------------------------------------- Pub/Sub


def _frame_text(frame: tuple[bytes, ...]) -> str:
    """``message "x" on ch`` (``... via pattern p*``)."""
    kind = frame[0]
    channel, payload = (frame[2], frame[3]) if kind == b"pmessage" else (frame[1], frame[2])
    text = f"message {describe_reply(payload)} on {describe_command((channel,))}"
    if kind == b"pmessage":
        text += f" via pattern {describe_command((frame[1],))}"
    elif kind == b"smessage":
        text += " (sharded)"
    return text


def _publish_text(analysis: _Analysis, publish: Publish) -> str:
    op = publish.op
    return f"{_client(op)}'s {_brief_command((b'SPUBLISH' if publish.sharded else b'PUBLISH', publish.channel, publish.payload))} ({analysis.clock.span(op)})"


def _pubsub_facts(analysis: _Analysis) -> tuple[list[Publish], dict[Hashable, list[Receipt]]] | None:
    """The part's PUBLISHes and reads; None if it runs scripts (they publish what no argument names)."""
    return analysis.deliveries




def _subject_ids(analysis: _Analysis) -> set[int]:
    return {op.id for op in analysis.subjects}


def _phantom_message(analysis: _Analysis) -> str | None:
    facts = _pubsub_facts(analysis)
    if facts is None:
        return None
    sent, read = facts
    subjects = _subject_ids(analysis)
    for mine in read.values():
        for receipt in mine:
            if receipt.op.id not in subjects:
                continue
            sources = analysis.sources.of(receipt.frame)
            op, what = receipt.op, _frame_text(receipt.frame)
            if not sources:
                near = [publish for publish in sent if publish.payload == receipt.frame[-1]]
                why = ""
                if near and receipt.frame[0] == b"pmessage":
                    why = (f" (the pattern {describe_command((receipt.frame[1],))} does not match the channel "
                           "it was published to)")
                return (f"{_client(op)} read a {what} ({analysis.clock.span(op)}), but no PUBLISH of the history "
                        f"could have sent it{why}: a subscriber receives only what was published.")
            if op.complete is not None and all(publish.op.invoke > op.complete for publish in sources):
                first = min(sources, key=lambda publish: publish.op.invoke)
                return (f"{_client(op)} read a {what} by {analysis.clock.at(op.complete)}, but "
                        f"{_publish_text(analysis, first)}, the only one that could send it, began later.")
            kind, name = _subscription_of(receipt.frame)
            subscribed = analysis.subscriptions
            if not any(subscribed.state(op.client, kind, name, publish.op.invoke, _end(publish.op))[1]
                       for publish in sources):
                return (f"{_client(op)} read a {what} ({analysis.clock.span(op)}), but it was not subscribed to "
                        f"{_subscription_text(kind, name)} at any moment while "
                        f"{'the PUBLISH that could send it' if len(sources) == 1 else 'any PUBLISH that could send it'}"
                        f" ran ({_publish_text(analysis, sources[0])}).")
    return None


def _duplicate_message(analysis: _Analysis) -> str | None:
    facts = _pubsub_facts(analysis)
    if facts is None:
        return None
    sent, read = facts
    subjects = _subject_ids(analysis)
    for mine in read.values():
        seen: dict[tuple[bytes, ...], list[Receipt]] = {}
        for receipt in mine:
            copies = seen.setdefault(receipt.frame, [])
            copies.append(receipt)
            sources = analysis.sources.of(receipt.frame)
            if len(copies) <= len(sources) or not any(r.op.id in subjects for r in copies):
                continue
            op = receipt.op
            times = ", ".join(analysis.clock.span(r.op) for r in copies)
            source = (f"only {_publish_text(analysis, sources[0])} sent it" if len(sources) == 1
                      else f"only {len(sources)} PUBLISHes could send it")
            return (f"{_client(op)} read the {_frame_text(receipt.frame)} {len(copies)} times ({times}), but "
                    f"{source}: each PUBLISH reaches a subscription once.")
    return None


def _reordered_messages(analysis: _Analysis) -> str | None:
    facts = _pubsub_facts(analysis)
    if facts is None:
        return None
    sent, read = facts
    subjects = _subject_ids(analysis)
    clock = analysis.clock
    orders: dict[Hashable, dict[tuple[bytes, ...], int]] = {}
    for client, mine in read.items():
        orders[client] = {}
        for receipt in mine:
            orders[client].setdefault(receipt.frame, receipt.position)
        for later in mine:
            for earlier in mine[later.position + 1:]:
                if (later.frame[0] == b"pmessage" and earlier.frame == (b"message", *later.frame[2:])
                        and (later.op.id in subjects or earlier.op.id in subjects)
                        and analysis.sources.only(earlier.frame) is not None):
                    return (f"{_client(later.op)} read the {_frame_text(later.frame)} ({clock.span(later.op)}) "
                            f"before the {_frame_text(earlier.frame)} ({clock.span(earlier.op)}), which the same "
                            "PUBLISH sent: Redis writes a channel's message before its pattern messages.")
                # ``later`` was read first, but its message was published after ``earlier``'s.
                if later.op.id not in subjects and earlier.op.id not in subjects:
                    continue
                first, second = analysis.sources.only(earlier.frame), analysis.sources.only(later.frame)
                if first is None or second is None or first.op.complete is None:
                    continue
                if first.op.complete < second.op.invoke:
                    return (f"{_client(later.op)} read the {_frame_text(later.frame)} ({clock.span(later.op)}) "
                            f"before the {_frame_text(earlier.frame)} ({clock.span(earlier.op)}), but "
                            f"{_publish_text(analysis, first)} completed before {_publish_text(analysis, second)} "
                            "began: Redis writes to a connection in the order it runs the PUBLISHes.")
    # Two subscribers that read the same two messages in opposite orders.
    payload_order = {client: {(f[0], f[-2], f[-1]): i for f, i in order.items()} for client, order in orders.items()}
    clients = sorted(payload_order, key=repr)
    for i, one in enumerate(clients):
        for two in clients[i + 1:]:
            common = [m for m in payload_order[one] if m in payload_order[two] and m[0] == b"message"]
            for x in common:
                for y in common:
                    if payload_order[one][x] < payload_order[one][y] and payload_order[two][y] < payload_order[two][x]:
                        a = next(r for r in read[one] if r.frame[0] == x[0] and r.frame[-2:] == x[1:])
                        b = next(r for r in read[two] if r.frame[0] == y[0] and r.frame[-2:] == y[1:])
                        if a.op.id not in subjects and b.op.id not in subjects:
                            continue
                        return (f"client {one} read the {_frame_text(a.frame)} before the "
                                f"{_frame_text((y[0], *y[1:]))}, and client {two} read them the other way round "
                                f"(from {clock.at(b.op.invoke)}): subscribers of one server see one order of "
                                "PUBLISHes.")
    return None


def _wrong_receiver_count(analysis: _Analysis) -> str | None:
    if runs_scripts(analysis.part):
        return None
    subjects = _subject_ids(analysis)
    part = analysis.part
    for publish in publishes(part):
        if publish.op.id not in subjects or publish.receivers is None or publish.op.complete is None:
            continue
        certain, possible = [], []
        subscribed = analysis.subscriptions
        for client, kind, name in subscribed.matching(publish.channel, publish.sharded):
            sure, maybe = subscribed.state(client, kind, name, publish.op.invoke, publish.op.complete)
            if sure:
                certain.append((client, kind, name))
            if maybe:
                possible.append((client, kind, name))
        count = publish.receivers
        if count > len(possible):
            listed = _subscriptions_text(possible) or "none"
            return (f"{_publish_text(analysis, publish)} returned {count}, but at most {len(possible)} "
                    f"subscription{'s' if len(possible) != 1 else ''} could have received it while it ran "
                    f"({listed}): PUBLISH counts the subscriptions it reached.")
        if count < len(certain):
            return (f"{_publish_text(analysis, publish)} returned {count}, but {len(certain)} subscriptions "
                    f"were in place for its whole duration ({_subscriptions_text(certain)}): PUBLISH counts "
                    "the subscriptions it reached.")
    return None


def _subscription_text(kind: bytes, name: bytes) -> str:
    words = {b"channel": "channel", b"pattern": "pattern", b"shard": "shard channel"}
    return f"{words[kind]} {describe_command((name,))}"


def _subscriptions_text(found: list[tuple[Hashable, bytes, bytes]]) -> str:
    return "; ".join(f"client {client} to {_subscription_text(kind, name)}" for client, kind, name in found)


def _subscription_of(frame: tuple[bytes, ...]) -> tuple[bytes, bytes]:
    """The subscription a message frame was sent for: (kind, channel or pattern)."""
    if frame[0] == b"pmessage":
        return b"pattern", frame[1]
    return (b"shard" if frame[0] == b"smessage" else b"channel"), frame[1]


def _lost_message(analysis: _Analysis) -> str | None:
    return _lost_before_a_reply(analysis) or _lost_between_reads(analysis)


def _lost_between_reads(analysis: _Analysis) -> str | None:
    """A subscriber read messages with no reply of its own in between, so its subscriptions did not
    change while their PUBLISHes ran; a PUBLISH that certainly ran after one of them and before a
    later one, on one of those subscriptions, had to reach it in between."""
    facts = _pubsub_facts(analysis)
    if facts is None:
        return None
    sent, read = facts
    part, clock = analysis.part, analysis.clock
    subjects = _subject_ids(analysis)
    source = analysis.sources.only
    ran_by: dict[int, float] = {id(publish): _end(publish.op) for publish in sent}  # certainly ran by then
    for mine in read.values():
        for receipt in mine:
            origin = source(receipt.frame)
            if origin is not None and receipt.op.complete is not None:
                ran_by[id(origin)] = min(ran_by[id(origin)], receipt.op.complete)
    for client, mine in read.items():
        replies = [op for op in part if op.client == client and not is_receive(op)]
        for segment in _without_replies_between(mine, replies):
            origins = [source(r.frame) for r in segment]
            frames = {r.frame for r in mine}
            subscribed = {_subscription_of(r.frame) for r in segment}
            for publish in sent:
                if publish.receivers is None and ran_by[id(publish)] == _INFINITY:
                    continue  # may never have run
                after = [i for i, o in enumerate(origins) if o is not None and ran_by[id(o)] < publish.op.invoke]
                before = [j for j, o in enumerate(origins) if o is not None and ran_by[id(publish)] < o.op.invoke]
                if not after or not before or after[0] >= before[-1]:
                    continue
                first, last = segment[after[0]], segment[before[-1]]
                for kind, name in sorted(subscribed):
                    due = _due(kind, name, publish)
                    if due is None or due in frames:
                        continue
                    if not {first.op.id, last.op.id, publish.op.id} & subjects:
                        continue
                    return (f"client {client} read the {_frame_text(first.frame)} ({clock.span(first.op)}) and "
                            f"later the {_frame_text(last.frame)} ({clock.span(last.op)}) with no reply of its own "
                            f"in between, so it stayed subscribed to {_subscription_text(kind, name)}; but "
                            f"{_publish_text(analysis, publish)} ran after the first was published and before the "
                            f"second, and client {client} never read its {_frame_text(due)}.")
    return None


def _without_replies_between(mine: list[Receipt], replies: list[Operation]) -> list[list[Receipt]]:
    """A client's reads split where a reply of its own may lie between two of them."""
    segments: list[list[Receipt]] = []
    current: list[Receipt] = []
    for receipt in mine:
        if current:
            previous = current[-1]
            same = previous.op.id == receipt.op.id
            if not same and (not is_receive(previous.op) or any(
                    previous.op.invoke < op.invoke < receipt.op.invoke for op in replies)):
                segments.append(current)
                current = []
        current.append(receipt)
    if current:
        segments.append(current)
    return segments


def _due(kind: bytes, name: bytes, publish: Publish) -> tuple[bytes, ...] | None:
    """The frame ``publish`` writes for a subscription, or None if it does not reach it."""
    if publish.sharded != (kind == b"shard"):
        return None
    if kind == b"pattern":
        return (b"pmessage", name, publish.channel, publish.payload) if stringmatch(name, publish.channel) else None
    if name != publish.channel:
        return None
    return (b"smessage" if kind == b"shard" else b"message", publish.channel, publish.payload)


def _split_publish(analysis: _Analysis) -> str | None:
    """Two messages one PUBLISH wrote to a client, read with another message in between: Redis
    writes all of one PUBLISH's messages to a connection at once."""
    facts = _pubsub_facts(analysis)
    if facts is None:
        return None
    _, read = facts
    subjects, clock = _subject_ids(analysis), analysis.clock
    for client, mine in read.items():
        origins = [analysis.sources.only(r.frame) for r in mine]
        for i, first in enumerate(mine):
            if origins[i] is None:
                continue
            for j in range(i + 2, len(mine)):
                if origins[j] is not origins[i]:
                    continue
                between = [k for k in range(i + 1, j) if origins[k] is not origins[i]]
                if not between or not {first.op.id, mine[j].op.id, mine[between[0]].op.id} & subjects:
                    continue
                other = mine[between[0]]
                return (f"client {client} read the {_frame_text(first.frame)} ({clock.span(first.op)}) and the "
                        f"{_frame_text(mine[j].frame)} ({clock.span(mine[j].op)}), which one PUBLISH sent, with the "
                        f"{_frame_text(other.frame)} ({clock.span(other.op)}) in between: Redis writes all the "
                        "messages of one PUBLISH to a connection at once.")
    return None


def _lost_sibling(analysis: _Analysis) -> str | None:
    """A subscriber read a message, and was subscribed, around it, to another channel or pattern
    that the same PUBLISH (or an earlier PUBLISH of the same EXEC) also reached; that message
    never came."""
    facts = _pubsub_facts(analysis)
    if facts is None:
        return None
    sent, read = facts
    part, clock = analysis.part, analysis.clock
    subjects = _subject_ids(analysis)
    by_op: dict[int, list[Publish]] = {}
    for publish in sent:
        by_op.setdefault(publish.op.id, []).append(publish)
    for client, mine in read.items():
        frames = {r.frame for r in mine}
        replies = [op for op in part if op.client == client and not is_receive(op)]
        later_events = sorted(op.invoke for op in part if op.client == client and op.outcome is Outcome.OK)
        for segment in _without_replies_between(mine, replies):
            subscribed = sorted({_subscription_of(r.frame) for r in segment})
            for receipt in segment:
                origin = analysis.sources.only(receipt.frame)
                if origin is None or receipt.op.id not in subjects and origin.op.id not in subjects:
                    continue
                for sibling in by_op.get(origin.op.id, ()):
                    if sibling.index > origin.index:
                        continue
                    for kind, name in subscribed:
                        due = _due(kind, name, sibling)
                        if due is None or due in frames:
                            continue
                        if sibling is origin and not any(t > _end(receipt.op) for t in later_events):
                            continue  # it may come right after, and the client read nothing more
                        evidence = next(r for r in segment if _subscription_of(r.frame) == (kind, name))
                        source = ("the same PUBLISH" if sibling is origin
                                  else f"the same EXEC, before it ({_publish_text(analysis, sibling)})")
                        return (f"client {client} read the {_frame_text(receipt.frame)} ({clock.span(receipt.op)}) "
                                f"and, with no reply of its own in between, the {_frame_text(evidence.frame)} "
                                f"({clock.span(evidence.op)}), so it was subscribed to "
                                f"{_subscription_text(kind, name)} all along; but {source} also sent it the "
                                f"{_frame_text(due)}, which never came.")
    return None


def _lost_before_a_reply(analysis: _Analysis) -> str | None:
    facts = _pubsub_facts(analysis)
    if facts is None:
        return None
    sent, read = facts
    clock = analysis.clock
    subjects = _subject_ids(analysis)
    for publish in sent:
        op = publish.op
        if op.outcome is not Outcome.OK or op.complete is None or publish.receivers == 0:
            continue
        subscribed = analysis.subscriptions
        for client, kind, name in subscribed.matching(publish.channel, publish.sharded):
            frame: tuple[bytes, ...]
            if kind == b"pattern":
                frame = (b"pmessage", name, publish.channel, publish.payload)
            else:
                frame = (b"smessage" if kind == b"shard" else b"message", publish.channel, publish.payload)
            if any(r.frame == frame for r in read.get(client, ())):
                continue
            sure, _ = subscribed.state(client, kind, name, op.invoke, op.complete)
            if not sure:
                continue
            later = [x for x in subscribed.by_client[client] if x.outcome is Outcome.OK and x.invoke > op.complete
                     and not is_receive(x)]
            if not later:
                continue
            reply = min(later, key=lambda x: x.invoke)
            if op.id not in subjects and reply.id not in subjects:
                continue
            return (f"{_publish_text(analysis, publish)} ran while client {client} was subscribed to "
                    f"{_subscription_text(kind, name)}, but client {client} never "
                    f"read the {_frame_text(frame)}, not even before the reply to its later "
                    f"{_brief_command(reply.call[0])} ({clock.span(reply)}): Redis writes a reply after the "
                    "messages already queued for the connection.")
    return None
