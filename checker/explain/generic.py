"""Recognising anomalies in the words of reads and writes, for any model family.

A :class:`Vocabulary` says what an operation of one model family read and wrote (an
:class:`Access` per key): the register's ``read``/``write``/``cas``, the key/value store's
``get``/``put``/``append``, and -- in :mod:`redlin.explain.redis` -- Redis commands.  On top of it
the recognisers here state the classic anomalies as claims the history itself proves:

- **impossible reply** -- a read returned a value that no operation ever wrote
  (:func:`never_written`), or whose only writes began after the read had returned
  (:func:`read_from_the_future`), or a core of a single operation (:func:`alone`);
- **stale read** -- a read returned a value that had already been overwritten before it began
  (:func:`overwritten_read`), or that a completed earlier read had already seen replaced
  (:func:`read_after_newer_read`);
- **lost update** -- two compare-and-sets succeeded from the same value (:func:`lost_compare_and_set`).

Each recogniser only speaks when its claim is implied by the history: it checks every other
operation of the violating part, indeterminate ones included, that could falsify it.  It returns an
:class:`~redlin.explain.anomalies.Anomaly` (data); :mod:`redlin.explain.render` words it.  Nothing
here knows Redis: a vocabulary brings its family's knowledge (how to describe an operation, whether
``None`` means a deleted key).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from redlin.explain.anomalies import (
    IMPOSSIBLE_REPLY,
    LOST_UPDATE,
    NO_VALID_ORDER,
    STALE_READ,
    Anomaly,
    Code,
    Count,
    Fact,
    Key,
    Listing,
    Note,
    Op,
    Text,
    Time,
    Value,
)
from redlin.explain.names import cut
from redlin.history.records import History, Operation, Outcome
from redlin.search.model import Model
from redlin.search.result import Violation
from redlin.search.sequences import refute_sequence

READ, WRITE, MAYBE, TRANSFORM = "read", "write", "maybe", "transform"
INFINITY = float("inf")
LISTED = 12
"""Operations listed by name when no anomaly is recognised."""


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
    """The keys ``op`` names (as ``key`` shows them), to label the parts of a history: a function
    of ``op.call`` alone (the report works it out once per call)."""
    describe: Callable[[Operation], str] | None = None
    """The call with its reply, cut short for sentences; ``None``: the command and the value."""
    deletes: bool = False
    """Whether writing ``None`` deletes the key (Redis), so that sentences say "deleted"."""


def plain(value: Hashable) -> str:
    """A register's value: ``nil`` for ``None``, strings quoted.

    >>> plain(None), plain("x"), plain(3)
    ('nil', "'x'", '3')
    """
    return "nil" if value is None else repr(value) if isinstance(value, str) else str(value)


def register_vocabulary(model: Model[Any]) -> Vocabulary:
    """The words of the (compare-and-set) register: ``read``, ``write v``, ``cas a->b``."""
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
            return (Access("register", WRITE if definite else MAYBE, call[1], f"write {plain(call[1])}"),)
        if kind == "cas" and len(call) == 3:
            text = f"cas {plain(call[1])}->{plain(call[2])}"
            if definite and not op.result:
                return ()
            return (Access("register", WRITE if definite else MAYBE, call[2], text),)
        return None

    def command(op: Operation) -> str:
        call = op.call
        if call[0] == "write":
            return f"write {plain(call[1])}"
        if call[0] == "cas":
            return f"cas {plain(call[1])}->{plain(call[2])}"
        return str(call[0])

    def expected(state: Hashable, op: Operation) -> str | None:
        held = state[0]  # type: ignore[index]
        if op.outcome is not Outcome.OK:
            return None
        if op.call[0] == "read":
            return f"the register holds {plain(held)}, so a read returns {plain(held)}"
        if op.call[0] == "cas":
            verdict = "succeed" if held == op.call[1] else "fail"
            return f"the register holds {plain(held)}, so {command(op)} would {verdict}"
        return None

    return Vocabulary(accesses, command, plain, lambda key: "the register", initial, expected,
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


KV = Vocabulary(_kv_accesses, _kv_command, lambda value: repr(value), lambda key: repr(key), "", _kv_expected,
                lambda op: (op.call[1],) if isinstance(op.call, tuple) and len(op.call) > 1 else ())
"""The words of the key/value store: ``get 'x'``, ``put 'x' '1'``, ``append 'x' 'y'``."""


# ----------------------------------------------------------------------------- the facts of one violation


def end(op: Operation) -> float:
    """An operation's completion, +infinity if it has none (it may take effect at any later time)."""
    return INFINITY if op.complete is None else op.complete


def json_client(client: Hashable) -> int | str:
    """A client id as JSON keeps it (ints and strings as they are, anything else as text).

    >>> json_client(3), json_client("a"), json_client(("node", 1))
    (3, 'a', "('node', 1)")
    """
    return client if isinstance(client, int | str) and not isinstance(client, bool) else str(client)


class Analysis:
    """The facts one explanation draws on: the core, its part, and their reads and writes.

    ``subjects`` are the operations an anomaly must involve: the minimal counterexample (or every
    definite operation of the part if there is none), the one the search got stuck on first.
    """

    def __init__(self, history: History, violation: Violation, core: tuple[int, ...],
                 words: Vocabulary | None) -> None:
        self.history = history
        self.violation = violation
        self.words = words
        self.part = [history[i] for i in violation.part if history[i].outcome is not Outcome.FAIL]
        subjects = core or tuple(op.id for op in self.part if op.outcome is Outcome.OK)
        # The operation the search got stuck on first: anomalies that involve it read best.
        self.subjects = sorted((history[i] for i in subjects), key=lambda op: (op.id != violation.operation, op.invoke))
        self.core = core
        self._accesses: dict[int, tuple[Access, ...] | None] = {}
        self.memo: dict[str, Any] = {}
        """Facts a family's recognisers compute once per analysis (the Pub/Sub deliveries)."""

    @cached_property
    def subject_ids(self) -> frozenset[int]:
        return frozenset(op.id for op in self.subjects)

    def of(self, op: Operation) -> tuple[Access, ...] | None:
        """``op``'s reads and writes (cached), ``None`` if the vocabulary cannot tell."""
        if op.id not in self._accesses:
            self._accesses[op.id] = self.words.accesses(op) if self.words is not None else None
        return self._accesses[op.id]

    def reads(self) -> Iterator[tuple[Operation, Access]]:
        """The subjects' reads."""
        for op in self.subjects:
            for access in self.of(op) or ():
                if access.kind == READ:
                    yield op, access

    def writes_to(self, key: Hashable, until: float = INFINITY,
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

    # --- facts

    def describe(self, op: Operation) -> str:
        """The call with its reply, for sentences (``GET k -> "1"``, ``cas 0->1 ok``)."""
        if self.words is None:
            return repr(op.call) if op.outcome is not Outcome.OK else f"{op.call!r} -> {op.result!r}"
        if self.words.describe is not None:
            return self.words.describe(op)
        text = self.words.command(op)
        if op.outcome is Outcome.OK and op.result is not None and not isinstance(op.result, bool):
            text += f" -> {self.words.value(op.result)}"
        elif op.outcome is Outcome.OK and isinstance(op.result, bool):
            text += " ok" if op.result else " failed"
        return text

    def op(self, op: Operation, command: str | None = None) -> Op:
        """``op`` as a fact; ``command`` names it in the sentence if not its whole call."""
        if command is None:
            command = self.words.command(op) if self.words is not None else repr(op.call)
        return Op(op.id, json_client(op.client), command, self.describe(op), op.invoke, op.complete)

    def value(self, value: Hashable) -> Value:
        assert self.words is not None
        return Value(self.words.value(value))

    def key(self, key: Hashable) -> Key:
        assert self.words is not None
        return Key(self.words.key(key))


Recogniser = Callable[[Analysis], Anomaly | None]
"""A function that finds one anomaly in an analysis, or ``None``."""


# ----------------------------------------------------------------------------- impossible replies


def never_written(analysis: Analysis) -> Anomaly | None:
    """A read returned a value that no operation of the part ever wrote."""
    assert analysis.words is not None
    for op, read in analysis.reads():
        if read.value == analysis.words.initial:
            continue
        writes = analysis.writes_to(read.key)
        if writes is None or any(w.value == read.value for _, w in writes):
            continue
        return Anomaly.of(IMPOSSIBLE_REPLY, "never-written", reader=analysis.op(op),
                          value=analysis.value(read.value), key=analysis.key(read.key))
    return None


def read_from_the_future(analysis: Analysis) -> Anomaly | None:
    """A read returned a value whose every write was invoked after the read had returned."""
    assert analysis.words is not None
    for op, read in analysis.reads():
        if read.value == analysis.words.initial or op.complete is None:
            continue
        writes, earlier = analysis.writes_to(read.key), analysis.writes_to(read.key, op.complete)
        if writes is None or earlier is None:
            continue
        sources = [w for w, access in writes if access.value == read.value]
        if not sources or any(w.invoke <= op.complete for w in sources):
            continue
        first = min(sources, key=lambda w: w.invoke)
        claim = "read-from-the-future" if len(sources) == 1 else "read-from-the-future/every-write"
        return Anomaly.of(IMPOSSIBLE_REPLY, claim, reader=analysis.op(op), value=analysis.value(read.value),
                          key=analysis.key(read.key), writer=analysis.op(first))
    return None


def alone(analysis: Analysis) -> Anomaly | None:
    """A minimal counterexample of one operation: its reply is impossible whatever the others did."""
    if len(analysis.core) != 1:
        return None
    return Anomaly.of(IMPOSSIBLE_REPLY, "alone", op=analysis.op(analysis.history[analysis.core[0]]))


# ----------------------------------------------------------------------------- stale reads


def overwritten_read(analysis: Analysis) -> Anomaly | None:
    """The read began after a write of another value, which began after every write of its value."""
    words = analysis.words
    assert words is not None
    for op, read in analysis.reads():
        writes = analysis.writes_to(read.key, end(op))
        if writes is None:
            continue
        sources = [w for w, a in writes if a.value == read.value]
        if not sources and read.value != words.initial:
            continue
        # The initial value counts as a write that completed before everything.
        last_source = max((end(w) for w in sources), default=-INFINITY)
        over = [(w, a) for w, a in writes
                if a.kind == WRITE and a.value != read.value and w.complete is not None
                and w.complete < op.invoke and w.invoke > last_source]
        if not over:
            continue
        writer, overwrite = max(over, key=lambda pair: (pair[0].id in analysis.core, end(pair[0])))
        head = "deleted-read" if overwrite.value is None and words.deletes else "overwritten-read"
        facts: dict[str, Fact] = {"reader": analysis.op(op), "value": analysis.value(read.value),
                                  "key": analysis.key(read.key), "writer": analysis.op(writer)}
        if not sources:
            tail = "initial-nil" if words.deletes and read.value is None else "initial-value"
            return Anomaly.of(STALE_READ, f"{head}/{tail}", **facts)
        source = sources[0] if len(sources) == 1 else max(sources, key=end)
        tail = "one-write" if len(sources) == 1 else "every-write"
        return Anomaly.of(STALE_READ, f"{head}/{tail}", **facts, source=analysis.op(source),
                          returned=Time(int(last_source)))
    return None


def read_after_newer_read(analysis: Analysis) -> Anomaly | None:
    """A read saw a value that an earlier, completed read had already seen replaced."""
    assert analysis.words is not None
    for later, read in analysis.reads():
        writes = analysis.writes_to(read.key, end(later))
        if writes is None:
            continue
        sources = [w for w, a in writes if a.value == read.value]
        last_source = max((end(w) for w in sources), default=-INFINITY)
        if read.value != analysis.words.initial and not sources:
            continue
        for earlier, seen in analysis.reads():
            if (seen.key != read.key or seen.value == read.value or earlier.complete is None
                    or earlier.complete >= later.invoke or earlier.invoke <= last_source):
                continue
            facts: dict[str, Fact] = {"later": analysis.op(later), "value": analysis.value(read.value),
                                      "key": analysis.key(read.key), "earlier": analysis.op(earlier),
                                      "newer": analysis.value(seen.value)}
            if not sources:
                return Anomaly.of(STALE_READ, "read-after-newer-read/initial", **facts)
            return Anomaly.of(STALE_READ, "read-after-newer-read", **facts, returned=Time(int(last_source)))
    return None


# ----------------------------------------------------------------------------- compare-and-set


def lost_compare_and_set(analysis: Analysis) -> Anomaly | None:
    """Two successful compare-and-sets from the same value, with no write of it in between."""
    assert analysis.words is not None
    cas = [op for op in analysis.subjects
           if op.outcome is Outcome.OK and isinstance(op.call, tuple) and op.call[0] == "cas" and op.result]
    for i, first in enumerate(cas):
        for second in cas[i + 1:]:
            expected = first.call[1]
            if second.call[1] != expected:
                continue
            writes = analysis.writes_to("register")
            if writes is None:
                continue
            start = min(first.invoke, second.invoke)
            restorers = [w for w, a in writes if a.value == expected and w.id not in (first.id, second.id)]
            if any(w.complete is None or w.complete >= start for w in restorers):
                continue
            return Anomaly.of(LOST_UPDATE, "lost-compare-and-set", first=analysis.op(first),
                              second=analysis.op(second), value=analysis.value(expected))
    return None


FIRST: tuple[Recogniser, ...] = (never_written, read_from_the_future)
"""Generic recognisers tried before a family's own (a value no one wrote says the most)."""
LAST: tuple[Recogniser, ...] = (lost_compare_and_set, overwritten_read, read_after_newer_read, alone)
"""Generic recognisers tried after a family's own."""


# ----------------------------------------------------------------------------- when nothing is recognised


def no_valid_order(analysis: Analysis) -> Anomaly:
    """The fallback: no order explains the core, which is listed (or the operation the search got
    stuck on, if the violation was not minimised)."""
    history = analysis.history
    if not analysis.core:
        ops = Listing((analysis.op(history[analysis.violation.operation]),))
        return Anomaly.of(NO_VALID_ORDER, "no-valid-order/not-minimised", ops=ops)
    ordered = sorted((history[i] for i in analysis.core), key=lambda op: (op.invoke, op.id))
    ops = Listing(tuple(analysis.op(op) for op in ordered[:LISTED]))
    if len(ordered) > LISTED:
        return Anomaly.of(NO_VALID_ORDER, "no-valid-order/more", ops=ops,
                          more=Count(len(ordered) - LISTED, "operation"))
    return Anomaly.of(NO_VALID_ORDER, "no-valid-order", ops=ops)


def search_note(analysis: Analysis, model: Model[Any]) -> Note:
    """Where the checker's search got stuck: the longest linearizable prefix and the operation
    that cannot follow it, with what the model would have replied instead."""
    violation = analysis.violation
    op = analysis.op(analysis.history[violation.operation])
    if violation.proof:
        earlier = analysis.history[violation.proof[0]]
        lists = model.views.lists if model.views is not None else None  # the list fast path's pattern, found again
        pattern = None if lists is None else refute_sequence([analysis.history[i] for i in violation.part], lists)
        if pattern is not None:
            return Note.of(f"fast-proof/{pattern[0]}", op=op, earlier=analysis.op(earlier))
        stale = earlier.complete is not None and earlier.complete < analysis.history[violation.operation].invoke
        return Note.of("fast-proof/stale" if stale else "fast-proof/fork", op=op, earlier=analysis.op(earlier))
    if not violation.prefixes:
        return Note.of("pre-check", op=op)
    prefix = violation.prefixes[0]
    state = prefix[-1][1] if prefix else model.init()
    facts: dict[str, Fact] = {"placed": Count(len(prefix), "operation"),
                              "state": Code(cut(model.describe_state(state), 300)), "op": op}
    words = analysis.words
    expected = words.expected(state, analysis.history[violation.operation]) if words is not None else None
    if expected:
        return Note.of("search-stuck/expected", **facts, expected=Text(expected))
    return Note.of("search-stuck", **facts)
