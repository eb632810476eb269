"""Serial executions are strictly serializable: the transactional checker must never object.

A simulated key-value store applies random transactions one at a time, in the order of their
non-overlapping real-time intervals (Adya's serial histories, which every level allows; Elle's
soundness argument, Kingsbury & Alvaro, VLDB 2020, section 4.4, says no cycle can then be
inferred).  Some transactions fail (no effect, nothing read) and some end unknown (``info``: the
effect happened or not, the reads are lost, the end is never seen).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redlin.cycles import (
    MODELS,
    MicroOp,
    Transaction,
    TransactionHistory,
    append,
    check_transactions,
    read,
    write,
)

KEYS = ("x", "y", "z")

_mop = st.tuples(st.sampled_from(("write", "read")), st.sampled_from(KEYS))
_transaction = st.tuples(
    st.lists(_mop, min_size=1, max_size=5),
    st.sampled_from(("ok", "ok", "ok", "ok", "fail", "info")),
    st.booleans(),  # did an info transaction take effect
    st.integers(0, 3),  # its client
    st.floats(0.1, 5),  # the gap before it
    st.floats(0.1, 5),  # its duration
)


def serial(kind: str, plans: list[tuple[Any, ...]]) -> TransactionHistory:
    """Apply ``plans`` in order to a store of lists (``kind`` list-append) or registers."""
    store: dict[str, Any] = {}
    counter = 0
    clock = 0.0
    transactions = []
    for index, (mops, outcome, took_effect, client, gap, duration) in enumerate(plans):
        applies = outcome == "ok" or (outcome == "info" and took_effect)
        done: list[MicroOp] = []
        for f, key in mops:
            if f == "write":
                counter += 1
                if kind == "list-append":
                    done.append(append(key, counter))
                    if applies:
                        store[key] = (*store.get(key, ()), counter)
                else:
                    done.append(write(key, counter))
                    if applies:
                        store[key] = counter
            else:
                done.append(read(key, store.get(key) if outcome == "ok" else None))
        clock += gap
        start, clock = clock, clock + duration
        transactions.append(Transaction(index, client, tuple(done), outcome, start, None if outcome == "info" else clock))
    return TransactionHistory(tuple(transactions), kind)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(("list-append", "rw-register")), st.lists(_transaction, max_size=25))
def test_serial_histories_are_valid(kind: str, plans: list[tuple[Any, ...]]) -> None:
    history = serial(kind, plans)
    verdict = check_transactions(history, models=MODELS)
    assert verdict.verdict == "valid", [a.kind for a in verdict.anomalies]


@settings(max_examples=60, deadline=None)
@given(st.lists(_transaction, min_size=2, max_size=15), st.data())
def test_a_swapped_read_is_caught_or_harmless(plans: list[tuple[Any, ...]], data: st.DataObject) -> None:
    """Replacing one read of a serial list-append history with another key's read never crashes the
    checker, and whatever it reports names real transactions and known models."""
    history = serial("list-append", plans)
    reads = [(t.index, i) for t in history.transactions for i, m in enumerate(t.mops) if m.f == "r" and t.outcome == "ok"]
    if reads:
        index, position = data.draw(st.sampled_from(reads))
        victim = history.transactions[index]
        mops = list(victim.mops)
        mops[position] = read(mops[position].key, data.draw(st.sampled_from([None, (), (1,), (2, 1)])))
        changed = Transaction(victim.index, victim.process, tuple(mops), "ok", victim.invoke, victim.complete)
        history = TransactionHistory(tuple(changed if t.index == index else t for t in history.transactions), "list-append")
    verdict = check_transactions(history, models=MODELS)
    for anomaly in verdict.anomalies:
        assert set(anomaly.transactions) <= set(range(len(history.transactions)))
        assert anomaly.models and set(anomaly.models) <= set(MODELS)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(("list-append", "rw-register")), st.lists(_transaction, max_size=25),
       st.lists(st.tuples(st.floats(0, 20), st.floats(0, 20)), min_size=25, max_size=25))
def test_overlapping_strictly_serializable_histories_are_valid(kind: str, plans: list[tuple[Any, ...]],
                                                              spans: list[tuple[float, float]]) -> None:
    """Transactions overlap: each takes effect at a point inside its interval, in the order of
    those points (strict serializability, Herlihy & Wing's condition lifted to transactions)."""
    history = serial(kind, plans)
    points = [t.invoke for t in history.transactions]  # increasing: the serial order
    widened = tuple(Transaction(t.index, f"c{t.index}", t.mops, t.outcome, point - before,
                                None if t.complete is None else point + after)
                    for t, point, (before, after) in zip(history.transactions, points, spans))
    verdict = check_transactions(TransactionHistory(widened, kind), models=MODELS)
    assert verdict.verdict == "valid", [a.kind for a in verdict.anomalies]
