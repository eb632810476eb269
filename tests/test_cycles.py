"""The transactional checker (redlin.cycles) on hand-built histories, one per anomaly class.

Each anomaly is defined as Adya ("Weak Consistency: A Generalized Theory and Optimistic
Implementations for Distributed Transactions", MIT 1999) and Elle (Kingsbury & Alvaro, "Elle:
Inferring Isolation Anomalies from Experimental Observations", VLDB 2020) define it; each history
comes with a clean variant, one transaction changed, in which it must not be reported.
Transactions overlap in time and run on different clients unless a test says otherwise, so only
the data dependencies count.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import networkx as nx
import pytest

from redlin.cycles import (
    MODELS,
    MicroOp,
    Transaction,
    TransactionHistory,
    append,
    check_transactions,
    dependency_graph,
    describe,
    read,
    render,
    write,
)
from redlin.cycles.anomalies import find_cycles
from redlin.cycles.check import TransactionVerdict
from redlin.cycles.findings import Dependency
from redlin.cycles.graph import cyclic_parts, realtime_steps
from redlin.errors import UsageError

ALL = MODELS
READ_COMMITTED_UP = MODELS[:5]
SNAPSHOT_UP = MODELS[:4]  # strict-serializable, serializable, snapshot-isolation, repeatable-read
REPEATABLE_UP = ("strict-serializable", "serializable", "repeatable-read")


def txn(index: int, *mops: MicroOp, outcome: str = "ok", process: Hashable = None, at: tuple[float, float] = (0, 100)
        ) -> Transaction:
    """Transaction ``index`` on its own client unless ``process`` is given, over ``at``."""
    return Transaction(index, index if process is None else process, mops, outcome, at[0],
                       None if outcome == "info" else at[1])


def lists(*transactions: Transaction) -> TransactionHistory:
    return TransactionHistory(transactions, "list-append")


def registers(*transactions: Transaction) -> TransactionHistory:
    return TransactionHistory(transactions, "rw-register")


def check(history: TransactionHistory, **options: Any) -> TransactionVerdict:
    return check_transactions(history, models=MODELS, **options)


def kinds(verdict: TransactionVerdict) -> list[str]:
    return [a.kind for a in verdict.anomalies]


def only(verdict: TransactionVerdict, kind: str) -> Any:
    (found,) = [a for a in verdict.anomalies if a.kind == kind]
    return found


# --- list-append ------------------------------------------------------------------------------------


def test_g0_write_cycle() -> None:
    """G0 (Adya 4.4.1): a cycle of ww edges.  T0 and T1 append to x and y; T2 sees x in the order
    T0, T1 and y in the order T1, T0, so each overwrote the other."""
    def history(y: tuple[int, ...]) -> TransactionHistory:
        return lists(txn(0, append("x", 1), append("y", 1)), txn(1, append("x", 2), append("y", 2)),
                     txn(2, read("x", (1, 2)), read("y", y)))
    found = check(history((2, 1)))
    assert found.verdict == "invalid" and kinds(found) == ["G0"]
    g0 = only(found, "G0")
    assert g0.models == ALL and set(g0.transactions) == {0, 1}
    assert {d.type for _, _, d in g0.steps} == {"ww"}
    assert check(history((1, 2))).valid


def test_g1a_aborted_read() -> None:
    """G1a (Adya 4.4.2): a committed transaction reads a value written by an aborted one."""
    for outcome, expected in (("fail", ["G1a"]), ("ok", [])):
        found = check(lists(txn(0, append("x", 1), outcome=outcome), txn(1, read("x", (1,)))))
        assert kinds(found) == expected
    g1a = only(check(lists(txn(0, append("x", 1), outcome="fail"), txn(1, read("x", (1,))))), "G1a")
    assert g1a.models == READ_COMMITTED_UP and g1a.transactions == (1, 0) and g1a.values == (1, 0)


def test_g1b_intermediate_read() -> None:
    """G1b (Adya 4.4.2): a read of a version that its writer then overwrote in the same
    transaction: T1 sees 1 but not the 2 that T0 appended after it."""
    found = check(lists(txn(0, append("x", 1), append("x", 2)), txn(1, read("x", (1,)))))
    g1b = only(found, "G1b")
    assert g1b.models == READ_COMMITTED_UP and g1b.transactions == (1, 0) and g1b.values == (1, 2)
    assert check(lists(txn(0, append("x", 1), append("x", 2)), txn(1, read("x", (1, 2))))).valid


def test_g1c_circular_information_flow() -> None:
    """G1c (Adya 4.4.2): a cycle of ww and wr edges: each transaction read the other's append."""
    def history(x: tuple[int, ...]) -> TransactionHistory:
        return lists(txn(0, append("x", 1), read("y", (1,))), txn(1, append("y", 1), read("x", x)))
    g1c = only(check(history((1,))), "G1c")
    assert g1c.models == READ_COMMITTED_UP and {d.type for _, _, d in g1c.steps} == {"wr"}
    assert check(history(())).valid


def test_g_single_read_skew() -> None:
    """G-single (Adya 4.4.3, read skew): a cycle with exactly one rw edge.  T1 sees T0's append to y
    but not its append to x."""
    def history(x: tuple[int, ...]) -> TransactionHistory:
        return lists(txn(0, append("x", 1), append("y", 1)), txn(1, read("x", x), read("y", (1,))))
    found = check(history(()))
    assert kinds(found) == ["G-single"]
    single = only(found, "G-single")
    assert single.models == SNAPSHOT_UP
    assert sorted(d.type for _, _, d in single.steps) == ["rw", "wr"]
    assert check(history((1,))).valid


def test_g2_item_write_skew() -> None:
    """G2-item (Adya 4.4.3, write skew): a cycle with two rw edges: each read the key the other
    appended to without seeing the append."""
    def history(y: tuple[int, ...]) -> TransactionHistory:
        return lists(txn(0, read("x", ()), append("y", 1)), txn(1, read("y", y), append("x", 1)))
    found = check(history(()))
    assert kinds(found) == ["G2-item"]
    assert only(found, "G2-item").models == REPEATABLE_UP
    assert check(history((1,))).valid


def test_g2_item_of_three_anti_dependencies() -> None:
    """G2-item with three rw edges and nothing else: each reads, empty, the key the next appends to."""
    history = lists(txn(0, read("x", ()), append("y", 1)), txn(1, read("y", ()), append("z", 1)),
                    txn(2, read("z", ()), append("x", 1)))
    g2 = only(check(history), "G2-item")
    assert [d.type for _, _, d in g2.steps] == ["rw", "rw", "rw"] and g2.transactions == (0, 2, 1)


def test_lost_update() -> None:
    """Lost update (Adya's P4, Elle's lost-update): two committed transactions read the same
    version of x and both appended to it."""
    def history(seen: tuple[int, ...]) -> TransactionHistory:
        return lists(txn(0, read("x", ()), append("x", 1)), txn(1, read("x", seen), append("x", 2)),
                     txn(2, read("x", (1, 2))))
    found = check(history(()))
    lost = only(found, "lost-update")
    assert lost.models == SNAPSHOT_UP and lost.transactions == (0, 1) and lost.key == "x"
    assert "G-single" in kinds(found)  # T1 rw T0 (it missed 1), T0 ww T1 (1 before 2)
    assert check(history((1,))).valid


def test_duplicate_elements() -> None:
    """Elle's duplicate-elements: a list version holds an element appended once, twice."""
    found = check(lists(txn(0, append("x", 1)), txn(1, read("x", (1, 1)))))
    assert kinds(found) == ["duplicate-elements"] and only(found, "duplicate-elements").models == ALL
    assert check(lists(txn(0, append("x", 1)), txn(1, read("x", (1,))))).valid


def test_incompatible_order() -> None:
    """Elle's incompatible-order: two reads of x that are not prefixes of one order."""
    def history(other: tuple[int, ...]) -> TransactionHistory:
        return lists(txn(0, append("x", 1)), txn(1, append("x", 2)), txn(2, read("x", (1, 2))),
                     txn(3, read("x", other)))
    found = check(history((2, 1)))
    incompatible = only(found, "incompatible-order")
    assert incompatible.models == READ_COMMITTED_UP and set(incompatible.transactions) == {2, 3}
    assert check(history((1,))).valid


@pytest.mark.parametrize("mops", [
    (append("x", 1), read("x", ())),  # does not see its own append
    (read("x", ()), append("x", 1), read("x", (2, 1))),  # sees more than its read and its append
])
def test_internal_inconsistency(mops: tuple[MicroOp, ...]) -> None:
    """Elle's internal anomaly: a transaction's read disagrees with its own earlier reads and
    writes of the key (Cerone et al.'s INT axiom)."""
    found = check(lists(txn(0, *mops), txn(1, append("x", 2))))
    internal = only(found, "internal")
    assert internal.models == ("strict-serializable", "serializable", "snapshot-isolation")
    assert check(lists(txn(0, append("x", 1), read("x", (1,))), txn(1, append("x", 2)))).valid


def test_garbage_read() -> None:
    """A read of an element no transaction appended."""
    found = check(lists(txn(0, append("x", 1)), txn(1, read("x", (1, 9)))))
    assert kinds(found) == ["garbage-read"] and only(found, "garbage-read").values == (9,)


def test_realtime_and_process_variants() -> None:
    """Elle's -realtime and -process variants: T1 began after T0 completed (on another client, or
    on the same one) and still missed T0's append.  Serializable (T1 first), not strictly."""
    def history(process: Hashable, later: float) -> TransactionHistory:
        return lists(txn(0, append("x", 1), process=process, at=(0, 1)),
                     txn(1, read("x", ()), process=process if process is None else process, at=(later, later + 1)))
    realtime = check(history(None, 2))
    assert kinds(realtime) == ["missing-element", "G-single-realtime"]  # (the same, named plainly)
    assert only(realtime, "G-single-realtime").models == ("strict-serializable",)
    assert check_transactions(history(None, 2), models=["serializable"]).valid
    assert kinds(check(history("c", 2))) == ["missing-element", "G-single-process"]
    assert check(history(None, 0.5)).valid  # overlapping: T1 may come first
    assert check(history(None, 1)).valid  # T0 ends as T1 begins: neither precedes the other


def test_missing_elements() -> None:
    """A list only grows: a read begun after an append completed must show it (strict
    serializability), whether some other read shows it or none does (a lost append)."""
    seen_elsewhere = lists(txn(0, append("x", 1), at=(0, 1)), txn(1, append("x", 2), at=(2, 3)),
                           txn(2, read("x", (1,)), at=(4, 5)), txn(3, read("x", (1, 2)), at=(6, 7)))
    missing = only(check(seen_elsewhere), "missing-element")
    assert (missing.transactions, missing.values, missing.models) == ((1, 2), (2, (1,)), ("strict-serializable",))
    assert "T1 appended 2 to x and completed before T2 began, yet T2 read x = [1], without it." in render(
        missing, "list-append")
    lost = lists(txn(0, append("x", 1), at=(0, 1)), txn(1, append("x", 2), at=(2, 3)),
                 txn(2, read("x", (1,)), at=(4, 5)))
    assert only(check(lost), "missing-element").values == (2, (1,))
    overlapping = lists(txn(0, append("x", 1), at=(0, 1)), txn(1, append("x", 2), at=(2, 5)),
                        txn(2, read("x", (1,)), at=(4, 6)), txn(3, read("x", (1, 2)), at=(7, 8)))
    assert "missing-element" not in kinds(check(overlapping))
    assert check_transactions(lost, models=["serializable"]).valid


def test_g0_realtime() -> None:
    """A ww edge against real time: T1 appended after T0 in x's order, yet completed before T0 began."""
    history = lists(txn(0, append("x", 1), at=(10, 11)), txn(1, append("x", 2), at=(0, 1)),
                    txn(2, read("x", (1, 2)), at=(20, 21)))
    assert kinds(check(history)) == ["G0-realtime"]


# --- rw-register ------------------------------------------------------------------------------------


def test_register_anomalies() -> None:
    """The same classes over registers of unique values (Elle's rw-register workload)."""
    cases: list[tuple[str, tuple[Transaction, ...], tuple[Transaction, ...]]] = [
        ("G1a", (txn(0, write("x", 1), outcome="fail"), txn(1, read("x", 1))),
         (txn(0, write("x", 1)), txn(1, read("x", 1)))),
        ("G1b", (txn(0, write("x", 1), write("x", 2)), txn(1, read("x", 1))),
         (txn(0, write("x", 1), write("x", 2)), txn(1, read("x", 2)))),
        ("G1c", (txn(0, write("x", 1), read("y", 1)), txn(1, write("y", 1), read("x", 1))),
         (txn(0, write("x", 1), read("y", 1)), txn(1, write("y", 1), read("x", None)))),
        ("G-single", (txn(0, write("x", 1), write("y", 1)), txn(1, read("x", None), read("y", 1))),
         (txn(0, write("x", 1), write("y", 1)), txn(1, read("x", 1), read("y", 1)))),
        ("G2-item", (txn(0, read("x", None), write("y", 1)), txn(1, read("y", None), write("x", 1))),
         (txn(0, read("x", None), write("y", 1)), txn(1, read("y", 1), write("x", 1)))),
        ("lost-update", (txn(0, read("x", None), write("x", 1)), txn(1, read("x", None), write("x", 2))),
         (txn(0, read("x", None), write("x", 1)), txn(1, read("x", 1), write("x", 2)))),
        ("internal", (txn(0, write("x", 1), read("x", None)),), (txn(0, write("x", 1), read("x", 1)),)),
        ("garbage-read", (txn(0, read("x", 7)),), (txn(0, read("x", None)),)),
    ]
    for kind, bad, clean in cases:
        found = check(registers(*bad))
        assert kind in kinds(found), (kind, kinds(found))
        assert check(registers(*clean)).valid, kind


def test_register_g0_from_read_then_write_order() -> None:
    """rw-register versions are ordered only by read-then-write; a ww cycle built on that order
    is G0, but does not rule out read uncommitted (see redlin.cycles.infer)."""
    history = registers(txn(0, write("x", 1), read("y", 2), write("y", 3)),
                        txn(1, write("y", 2), read("x", 1), write("x", 4)))
    found = check(history)
    g0 = only(found, "G0")
    assert g0.models == READ_COMMITTED_UP and all(d.assumed for _, _, d in g0.steps)


# --- what must not be reported ------------------------------------------------------------------------


def test_info_transactions_never_cause_false_anomalies() -> None:
    """An info transaction may have committed at any time after its invocation, or never: its
    append seen by one read and missed by an earlier one, or never seen at all, is fine."""
    seen = lists(txn(0, append("x", 1), outcome="info", at=(0, 0)), txn(1, read("x", ()), at=(1, 2)),
                 txn(2, read("x", (1,)), at=(3, 4)), txn(3, append("x", 2), read("x", (1, 2)), at=(5, 6)))
    assert check(seen).valid
    unseen = lists(txn(0, append("x", 1), outcome="info", at=(0, 0)), txn(1, read("x", ()), at=(1, 2)),
                   txn(2, append("x", 2), at=(3, 4)), txn(3, read("x", (2,)), at=(5, 6)))
    assert check(unseen).valid
    register = registers(txn(0, write("x", 1), outcome="info", at=(0, 0)), txn(1, read("x", None), at=(1, 2)),
                         txn(2, read("x", 1), at=(3, 4)), txn(3, read("x", 1), write("x", 2), at=(5, 6)))
    assert check(register).valid


def test_an_observed_info_transaction_is_in_the_graph() -> None:
    """An info transaction whose write was read committed (Elle): it takes part in cycles.  Here
    T1 read its x but not its y: G-single, for lists and for registers."""
    found = check(lists(txn(0, append("x", 1), append("y", 1), outcome="info"), txn(1, read("x", (1,)), read("y", ()))))
    assert kinds(found) == ["G-single"] and only(found, "G-single").transactions == (0, 1)
    found = check(registers(txn(0, write("x", 1), write("y", 1), outcome="info"), txn(1, read("x", 1), read("y", None))))
    assert kinds(found) == ["G-single"]


def test_failed_transactions_are_ignored() -> None:
    """A failed transaction never happened: its appends, unread, constrain nothing."""
    history = lists(txn(0, append("x", 1), outcome="fail", at=(0, 1)), txn(1, read("x", ()), at=(2, 3)))
    assert check(history).valid


# --- the graph, the search, the explanation -------------------------------------------------------------


def test_dependency_graph_edges_are_labelled() -> None:
    """Adya's DSG: each edge says why (type, key, values)."""
    history = lists(txn(0, append("x", 1), at=(0, 1)), txn(1, read("x", (1,)), append("x", 2), at=(2, 3)),
                    txn(2, read("x", (1, 2)), at=(4, 5)))
    graph = dependency_graph(history)
    assert isinstance(graph, nx.DiGraph) and set(graph) == {0, 1, 2}
    assert Dependency("wr", "x", 1) in graph.edges[0, 1]["why"]
    assert Dependency("ww", "x", 1, 2) in graph.edges[0, 1]["why"]
    assert Dependency("wr", "x", 2) in graph.edges[1, 2]["why"]
    assert Dependency("realtime") in graph.edges[0, 1]["why"]


def test_realtime_edges_are_linear_and_complete() -> None:
    """The frontier construction links each transaction to few others, yet every real-time
    precedence is a path."""
    transactions = [Transaction(i, i % 5, (), "ok", i, i + 4.5) for i in range(200)]  # 5 in flight
    steps = realtime_steps(transactions)
    assert len(steps) <= 5 * len(transactions)
    graph = nx.DiGraph([(a, b) for a, b, _ in steps])
    for a in transactions[:40]:
        for b in transactions[:40]:
            if a.complete is not None and a.complete < b.invoke:
                assert nx.has_path(graph, a.index, b.index)
            elif b.index in graph and a.index in graph and a is not b:
                assert not nx.has_path(graph, a.index, b.index)


def test_cyclic_parts_match_networkx() -> None:
    graph = nx.gnp_random_graph(300, 0.006, seed=3, directed=True)
    ww = Dependency("ww")
    expected = sorted(sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1)
    assert expected and sorted(sorted(c) for c in cyclic_parts([(a, b, ww) for a, b in graph.edges], 300)) == expected


def test_explanation_is_data_rendered_as_sentences() -> None:
    """Elle's explain-pair-data / render split: the anomaly holds the facts, the renderer words them."""
    history = lists(txn(0), txn(1, append("x", 3), append("y", 1)), txn(2, read("x", ()), read("y", (1,))))
    single = only(check(history), "G-single")
    assert single.transactions == (1, 2)
    assert describe(single, "list-append") == ["T2 read y ending in 1, which T1 appended.",
                                              "T2 read x without 3, which T1 appended first."]
    assert render(single, "list-append").startswith("G-single (rules out strict-serializable, serializable, ")
    register = only(check(registers(txn(0, write("x", 5), outcome="fail"), txn(1, read("x", 5)))), "G1a")
    assert describe(register, "rw-register") == ["T1 read x = 5, written by T0, which aborted."]


def test_a_long_search_runs_out_of_time() -> None:
    """A G0 ring of 3,000 transactions with no time to search: unknown for serializability, and
    invalid (a cycle exists) for strict serializability."""
    n = 3000
    ring = [txn(i, append(f"k{i}", "a"), append(f"k{(i - 1) % n}", "b")) for i in range(n)]
    reader = txn(n, *(read(f"k{i}", ("a", "b")) for i in range(n)))
    history = lists(*ring, reader)
    unknown = check_transactions(history, models=["serializable"], time_limit=0)
    assert unknown.verdict == "unknown" and not unknown.complete and unknown.reason
    strict = check_transactions(history, time_limit=0)
    assert strict.verdict == "invalid" and kinds(strict) == ["cycle-exists"]
    assert kinds(check_transactions(history, models=["serializable"])) == ["G0"]


def test_find_cycles_prefers_the_data_cycle() -> None:
    """An SCC with a data cycle is not searched again for real-time variants."""
    graph = nx.DiGraph()
    graph.add_edge(0, 1, why=(Dependency("ww", "x", 1, 2), Dependency("realtime")))
    graph.add_edge(1, 0, why=(Dependency("ww", "y", 1, 2),))
    found, complete = find_cycles(graph, deadline=float("inf"))
    assert complete and [a.kind for a in found] == ["G0"]


def test_unknown_model_is_refused() -> None:
    with pytest.raises(UsageError, match="models must be some of"):
        check_transactions(lists(), models=["linearizable"])
