"""A wrong reply with no concurrency in it: a sequential conformance finding, not an interleaving.

When the minimal counterexample is one client's operations and no other client's operation
touches their keys (nor the keys of that client's other operations on them), no race is
involved: the client's commands ran one after another, alone, and the server answered them
differently from Redis.  (A read that saw the middle of a concurrent transaction is alone in its
counterexample too, but that transaction touches its key: a race, which :mod:`redlin.explain.redis`
names.)
Calling that "no valid order" would send its reader looking for a race that is not there, so
:func:`wrong_reply` states it as what it is: the commands, the reply Redis 7.0 gives (the model
replays them from an empty keyspace; the core is minimal, so no other operation of the history
can explain the difference either), the reply the server gave, and both replies' RESP types when
they differ (a simple string ``OK`` against a bulk string ``"OK"``, an error against an integer).

>>> from redlin.explain.generic import Analysis
>>> from redlin.search.result import Violation
>>> from redlin.model import Status
>>> from redlin.history.records import History
>>> history = History((Operation(0, 1, ((b"SET", b"k", b"v"),), (b"OK",), 0, 1),))
>>> wrong_reply(Analysis(history, Violation((0,), 0, (), 1, 0.0), (0,), None)).facts["got"]
Value(text='bulk string "OK"')
"""

from __future__ import annotations

from redlin.adapter.deliveries import is_receive_argv
from redlin.adapter.redis_model import resp_type, typed
from redlin.adapter.replies import expected_replies, first_difference, history_protocol
from redlin.explain.anomalies import WRONG_REPLY, Anomaly, Listing, Text, Value
from redlin.explain.generic import Analysis
from redlin.explain.names import cut
from redlin.explain.redis import brief_command
from redlin.history.records import Operation, Outcome
from redlin.model import NULL_ARRAY, State, keys_of, lookup

__all__ = ["wrong_reply", "wrong_type_reply"]


def _keys(op: Operation) -> frozenset[bytes] | None:
    found: set[bytes] = set()
    for argv in op.call:
        keys = keys_of(argv)
        if keys is None:
            return None
        found.update(keys)
    return frozenset(found)


_PLAIN: dict[bytes, bool] = {}
"""Whether a command without subcommands is a Pub/Sub one, by its name as sent: a long history
sends a few names a million times."""


def _pubsub(op: Operation) -> bool:
    for argv in op.call:
        known = _PLAIN.get(argv[0]) if argv else None
        if known is None:
            spec = lookup(argv) if argv else None
            known = spec is None or "pubsub" in spec.flags or is_receive_argv(argv)
            if spec is not None and not spec.subcommands:
                _PLAIN[argv[0]] = known
        if known:
            return True
    return False


def _any_pubsub(analysis: Analysis) -> bool:
    """Whether an operation of the history is a Pub/Sub one (found once per analysis)."""
    found = analysis.memo.get("any pubsub")
    if found is None:
        found = analysis.memo["any pubsub"] = any(_pubsub(op) for op in analysis.history)
    return bool(found)


def _sequence(analysis: Analysis, core: list[Operation]) -> list[Operation] | None:
    """The client's own operations on the keys of ``core`` (closed over the keys they touch), in
    order, if no other client's operation may touch those keys; ``None`` otherwise."""
    client = core[0].client
    keys: set[bytes] = set()
    chosen = {op.id for op in core}
    mine = [op for op in analysis.history if op.client == client and op.outcome is not Outcome.FAIL]
    grown = True
    while grown:
        grown = False
        for op in mine:
            touched = _keys(op)
            if touched is None:
                return None
            if (op.id in chosen or touched & keys) and (op.id not in chosen or not touched <= keys):
                chosen.add(op.id)
                keys |= touched
                grown = True
    for op in analysis.history:
        if op.client != client and op.outcome is not Outcome.FAIL:
            touched = _keys(op)
            if touched is None or touched & keys:
                return None
    sequence = sorted((op for op in mine if op.id in chosen), key=lambda op: op.invoke)
    if any(op.outcome is not Outcome.OK for op in sequence):
        return None  # an indeterminate one may or may not have run: no single expected reply
    return sequence


def wrong_type_reply(analysis: Analysis) -> Anomaly | None:
    """:func:`wrong_reply` when the two replies differ in RESP type (tried before every other
    recogniser: a reply of the wrong type is no stale read or lost update)."""
    return wrong_reply(analysis, types_differ=True)


def wrong_reply(analysis: Analysis, *, types_differ: bool = False) -> Anomaly | None:
    """One client's operations, in sequence, that the server answered unlike Redis (see the
    module docstring); ``None`` unless the core is exactly that (and, with ``types_differ``, the
    first differing replies have different RESP types)."""
    core = sorted((analysis.history[i] for i in analysis.core), key=lambda op: op.invoke)
    if not core or any(op.outcome is not Outcome.OK or op.client != core[0].client for op in core):
        return None
    if _any_pubsub(analysis):
        return None  # channels are no keys: who could have published is the Pub/Sub recognisers' question
    sequence = _sequence(analysis, core)
    if sequence is None:  # another client may touch these keys: a race is not ruled out
        return None
    state = State()
    protocol = history_protocol(analysis.history.meta)
    for op in sequence:
        try:
            state, expected = expected_replies(state, op.client, op.call, protocol, observed=op.result)
        except Exception:  # noqa: BLE001 - an explanation must never break a report
            return None
        found = first_difference(op.call, expected, op.result)
        if found is None:
            continue
        want, got = found.expected, found.got
        if types_differ and (resp_type(want) == resp_type(got) or NULL_ARRAY in (want, got)):
            return None  # a nil EXEC is the transaction recognisers' (they say which WATCH)
        before = [analysis.op(earlier) for earlier in sequence if earlier.invoke < op.invoke]
        return Anomaly.of(WRONG_REPLY, "conformance/sequential" if before else "conformance/alone", op=analysis.op(op),
                          command=Text(brief_command(found.argv)), expected=Value(cut(typed(want, got), 100)),
                          got=Value(cut(typed(got, want), 100)), before=Listing(tuple(before)))
    return None
