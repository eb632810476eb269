"""Simulated stores weaker than serializable: the checker names what they allow, and nothing more.

A snapshot-isolated store (Berenson et al., "A Critique of ANSI SQL Isolation Levels", 1995):
each transaction reads from a snapshot taken when it starts (plus its own appends) and commits
only if no transaction that committed since wrote a key it writes (first committer wins).  Adya's
PL-SI forbids G0, G1, G-single and lost updates there, but allows write skew (G2-item); Elle maps
the same (Kingsbury & Alvaro, VLDB 2020, section 6).  So on any such history the checker must
find nothing that rules out snapshot isolation, and on the classic write skew it must find G2-item.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from redlin.cycles import Transaction, TransactionHistory, append, check_transactions, read
from redlin.cycles.transactions import MicroOp

KEYS = ("x", "y")  # two keys: conflicts are frequent (without first-committer-wins, half the runs fail)
_plan = st.lists(st.tuples(st.sampled_from(("append", "r")), st.sampled_from(KEYS)), min_size=2, max_size=4)


def snapshot_isolated(plans: list[list[tuple[str, str]]], schedule: list[int], clients: int = 3) -> TransactionHistory:
    """Run ``plans`` on ``clients``, each step of ``schedule`` starting or committing one client's
    transaction; transactions still running at the end commit in client order."""
    store: dict[str, tuple[int, ...]] = {}
    written_at: dict[str, int] = {}  # key -> the commit number that last wrote it
    commits = 0
    counter = 0
    pending = list(plans)
    running: dict[int, tuple[int, int, list[MicroOp]]] = {}  # client -> (index, commits at start, micro-ops)
    drafts: list[list[Any]] = []  # [client, micro-ops, outcome, invoke, complete]
    for clock, client in enumerate([*schedule, *range(clients)]):
        client %= clients
        if client in running:
            index, started, mops = running.pop(client)
            keys = {m.key for m in mops if m.f == "append"}
            if any(written_at.get(key, 0) > started for key in keys):
                drafts[index][1:] = [[m if m.f == "append" else read(m.key) for m in mops], "fail", drafts[index][3], clock]
                continue
            commits += 1
            for m in mops:
                if m.f == "append":
                    store[m.key] = (*store.get(m.key, ()), m.value)
                    written_at[m.key] = commits
            drafts[index][1:] = [mops, "ok", drafts[index][3], clock]
        elif pending and clock < len(schedule):
            view = dict(store)
            mops = []
            for f, key in pending.pop(0):
                if f == "append":
                    counter += 1
                    view[key] = (*view.get(key, ()), counter)
                    mops.append(append(key, counter))
                else:
                    mops.append(read(key, view.get(key)))
            running[client] = (len(drafts), commits, mops)
            drafts.append([client, mops, "info", clock, None])
    return TransactionHistory(tuple(Transaction(i, c, tuple(mops), outcome, invoke, complete)
                                    for i, (c, mops, outcome, invoke, complete) in enumerate(drafts)), "list-append")


@settings(max_examples=150, deadline=None)
@given(st.lists(_plan, max_size=12), st.lists(st.integers(0, 2), max_size=40))
def test_snapshot_isolation_is_never_accused(plans: list[list[tuple[str, str]]], schedule: list[int]) -> None:
    history = snapshot_isolated(plans, schedule)
    verdict = check_transactions(history, models=["snapshot-isolation", "read-committed", "read-uncommitted"])
    assert verdict.valid, [(a.kind, a.transactions) for a in verdict.anomalies]


def test_write_skew_under_snapshot_isolation_is_g2_item() -> None:
    """Both start, each reads the key the other appends to, both commit (no write conflict)."""
    history = snapshot_isolated([[("r", "x"), ("append", "y")], [("r", "y"), ("append", "x")],
                                 [("r", "x"), ("r", "y")]], [0, 1, 0, 1, 2, 2])
    assert [t.outcome for t in history.transactions] == ["ok", "ok", "ok"]
    verdict = check_transactions(history, models=["serializable"])
    assert [a.kind for a in verdict.anomalies] == ["G2-item"]
    assert check_transactions(history, models=["snapshot-isolation"]).valid
