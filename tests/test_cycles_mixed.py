"""The transactional verdict of a mixed run: list-append and rw-register keys cut out of a history
that holds everything else (redlin.adapter.projection), checked as one ``mixed`` history
(redlin.cycles with lists and registers side by side), and reported by ``redlin run`` for the
``mixed`` and ``default`` workloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import RedisServer
from test_cycles_redis import result_section

from redlin.adapter.projection import mixed_transactions
from redlin.adapter.restarts import restart_call
from redlin.adapter.transactions import LIST_APPEND_SCRIPT, RunKey
from redlin.cycles import check_transactions
from redlin.cycles.explain import render
from redlin.cycles.transactions import MIXED, OK, Transaction, TransactionHistory, append, read, write
from redlin.harness.runner import RunOutcome, render_outcome, run
from redlin.history.records import History, Operation, Outcome
from redlin.model import NULL_ARRAY, Error, Status

QUEUED, DONE = Status("QUEUED"), Status("OK")
WRONGTYPE = Error("WRONGTYPE Operation against a key holding the wrong kind of value")
LISTS, REGISTERS = ("l0", "l1"), ("x0", "x1")


@pytest.fixture(autouse=True)
def _in_a_scratch_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def op(number: int, client: int, call: tuple[tuple[bytes, ...], ...], result: Any, *,
       outcome: Outcome = Outcome.OK) -> Operation:
    return Operation(number, client, call, result, 10 * number, None if outcome is Outcome.INFO else 10 * number + 5,
                     outcome)


def project(*ops: Operation) -> tuple[list[list[tuple[str, str, Any]]], list[str], tuple[str, ...]]:
    adapted, left_out = mixed_transactions(History(ops, {"prefix": "p:"}), lists=LISTS, registers=REGISTERS)
    mops = [[(m.f, str(m.key), m.value) for m in t.mops] for t in adapted.transactions]
    return mops, [t.outcome for t in adapted.transactions], left_out


# ------------------------------------------------------------------------------------- projection


def test_only_the_tracked_keys_own_commands_are_kept() -> None:
    mops, outcomes, left_out = project(
        op(0, 1, ((b"RPUSH", b"p:1:l0", b"a"),), (1,)),
        op(1, 2, ((b"GET", b"p:1:l0"),), (WRONGTYPE,)),  # a read of another type: dropped, the key stays
        op(2, 3, ((b"LRANGE", b"p:1:x0", b"0", b"-1"),), ((),)),
        op(3, 4, ((b"SET", b"p:1:x0", b"v"),), (DONE,)),
        op(4, 5, ((b"INCR", b"p:1:l1"),), (WRONGTYPE,)),  # failed: changed nothing
        op(5, 6, ((b"SET", b"p:1:g0", b"v"),), (DONE,)),  # not a tracked key
        op(6, 7, ((b"SET", b"l0", b"v"),), (DONE,)),  # without the run's prefix: not the run's key
        op(7, 8, ((b"LRANGE", b"p:1:l0", b"0", b"-1"),), ((b"a",),)))
    assert mops == [[("append", "l0", "a")], [("w", "x0", "v")], [("r", "l0", ("a",))]]
    assert outcomes == [OK, OK, OK] and left_out == ()


def test_a_key_another_command_changed_is_left_out_in_its_round_only() -> None:
    mops, _, left_out = project(
        op(0, 1, ((b"SET", b"p:1:x0", b"v"),), (DONE,)),
        op(1, 2, ((b"INCR", b"p:2:x0"),), (1,)),
        op(2, 3, ((b"GET", b"p:2:x0"),), (b"1",)),
        op(3, 4, ((b"SADD", b"p:1:l0", b"m"),), None, outcome=Outcome.INFO),
        op(4, 5, ((b"RPUSH", b"p:1:l0", b"a"),), (WRONGTYPE,)),
        op(5, 6, ((b"SET", b"p:1:x1", b"w"),), (DONE,)),
        op(6, 7, ((b"SET", b"p:1:x1", b"w"),), (DONE,)),
        op(7, 8, ((b"GET", b"p:3:x0"), (b"GET", b"p:1:x1")), (None, b"w")))
    assert mops == [[("w", "x0", "v")]]
    assert left_out == ("x0 (round 2): INCR wrote it", "l0 (round 1): SADD may have written it (no reply)",
                        "x1 (round 1): w was written twice", "x0 (round 3): GET was pipelined")


def test_a_restart_that_lost_the_data_leaves_out_the_keys_in_use_across_it() -> None:
    emptied = restart_call("emptied", "old", "new")
    mops, _, left_out = project(
        op(0, 1, ((b"RPUSH", b"p:1:l0", b"a"),), (1,)),  # wholly before the restart: kept
        op(1, 2, ((b"LRANGE", b"p:1:l0", b"0", b"-1"),), ((b"a",),)),
        op(2, 3, ((b"SET", b"p:2:x0", b"v"),), (DONE,)),  # in use across it: left out
        op(3, 0, (emptied,), (DONE,)),
        op(4, 4, ((b"GET", b"p:2:x0"),), (None,)),
        op(5, 5, ((b"SET", b"p:3:x0", b"w"),), (DONE,)),  # wholly after: kept
        op(6, 6, (restart_call("kept", "new", "newer"),), (DONE,)),  # kept its data: changes nothing
        op(7, 7, ((b"GET", b"p:3:x0"),), (b"w",)))
    assert mops == [[("append", "l0", "a")], [("r", "l0", ("a",))], [("w", "x0", "w")], [("r", "x0", "w")]]
    assert left_out == ("x0 (round 2): the server restarted (run old -> new) and came back empty while it was in use",)


def test_a_script_that_wrote_a_key_left_out_takes_its_other_keys_out_too() -> None:
    # The CI met it: a setup script appended to l0 and l1, l1 was left out, and the script went
    # with it, so l0's read of the script's element looked like a garbage read.
    body = b"-- guard\n" + LIST_APPEND_SCRIPT.encode()
    mops, _, left_out = project(
        op(0, 1, ((b"EVAL", body, b"2", b"p:1:l0", b"p:1:l1", b"s"),), (((b"s",), (b"s",)),)),
        op(1, 2, ((b"INCR", b"p:1:l1"),), (WRONGTYPE,)),
        op(2, 3, ((b"SADD", b"p:1:l1", b"m"),), None, outcome=Outcome.INFO),
        op(3, 4, ((b"LRANGE", b"p:1:l0", b"0", b"-1"),), ((b"s",),)),
        op(4, 5, ((b"RPUSH", b"p:2:l0", b"a"),), (1,)))
    assert mops == [[("append", "l0", "a")]]
    assert left_out == ("l1 (round 1): SADD may have written it (no reply)",
                        "l0 (round 1): a script also wrote l1 (round 1), which is left out")


def test_blocks_keep_what_ran_and_aborted_blocks_stay_aborted() -> None:
    push, incr, get = (b"RPUSH", b"p:0:l0", b"a"), (b"INCR", b"p:0:l0"), (b"GET", b"p:0:x0")
    multi, exec_ = (b"MULTI",), (b"EXEC",)
    mops, outcomes, left_out = project(
        op(0, 1, (multi, push, incr, get, (b"GET", b"p:0:x1"), exec_),
           (DONE, QUEUED, QUEUED, QUEUED, QUEUED, (1, WRONGTYPE, None, WRONGTYPE))),
        op(1, 2, (multi, (b"SET", b"p:0:x0", b"b"), exec_), (DONE, QUEUED, NULL_ARRAY)),
        op(2, 3, (multi, (b"SET", b"p:0:g0", b"b"), exec_), (DONE, QUEUED, (DONE,))),
        op(3, 4, (multi, (b"RPUSH", b"p:0:l1", b"c"), exec_), None, outcome=Outcome.INFO))
    assert mops == [[("append", "l0", "a"), ("r", "x0", None)], [("w", "x0", "b")], [("append", "l1", "c")]]
    assert outcomes == [OK, "fail", "info"] and left_out == ()


# --------------------------------------------------------------------------------- the mixed kind


def test_a_cycle_through_a_list_and_a_register_is_found_and_worded_by_each_key() -> None:
    # Write skew across a list and a register: each reads what the other then changes.
    skew = TransactionHistory((
        Transaction(0, 0, (read("l", ()), write("x", 1)), OK, 0, 5),
        Transaction(1, 1, (read("x", None), append("l", 1)), OK, 0, 5),
        Transaction(2, 2, (read("l", (1,)), read("x", 1)), OK, 6, 9)), MIXED, frozenset({"l"}))
    verdict = check_transactions(skew)
    assert verdict.verdict == "invalid" and [a.kind for a in verdict.anomalies] == ["G2-item"]
    text = render(verdict.anomalies[0], MIXED, verdict.lists)
    assert "T0 read l without 1, which T1 appended first." in text
    assert "T1 read x = nil, and T0 later wrote x = 1." in text
    serial = TransactionHistory((
        Transaction(0, 0, (read("l", ()), write("x", 1)), OK, 0, 5),
        Transaction(1, 1, (read("x", 1), append("l", 1)), OK, 6, 9)), MIXED, frozenset({"l"}))
    assert check_transactions(serial).verdict == "valid"


def test_a_mixed_history_finds_each_kinds_own_anomalies() -> None:
    broken = TransactionHistory((
        Transaction(0, 0, (append("l", 1), read("l", ())), OK, 0, 5),  # does not see its own append
        Transaction(1, 1, (read("x", 7),), OK, 0, 5)), MIXED, frozenset({"l"}))  # nobody wrote 7
    assert {a.kind for a in check_transactions(broken).anomalies} == {"internal", "garbage-read"}


# ------------------------------------------------------------------------------------- redlin run


def quick(tmp_path: Path, **options: Any) -> RunOutcome:
    options.setdefault("shrink_time", 3.0)
    return run(out=tmp_path / "out", database=None, **options)


@pytest.mark.parametrize("workload", ["mixed", "default"])
def test_a_clean_mixed_run_reports_its_transactions_valid(tmp_path: Path, workload: str) -> None:
    outcome = quick(tmp_path, workload=workload, ops=1500, seed=1)
    assert outcome.verdict == "linearizable", render_outcome(outcome)
    assert outcome.transactions is not None and outcome.transactions.verdict == "valid", render_outcome(outcome)
    assert outcome.transactions_kind == "mixed" and outcome.transactions.transactions > 100
    assert outcome.transactions.lists and all(isinstance(key, RunKey) and key.name in ("l0", "l1", "l2")
                                              for key in outcome.transactions.lists)
    assert "transactions VALID (mixed, checked as strict-serializable)" in render_outcome(outcome)
    document = result_section(outcome)
    assert document["kind"] == "mixed" and document["verdict"] == "valid"
    assert all(": " in entry for entry in document["left_out"])


@pytest.mark.slow
def test_exec_not_atomic_in_a_mixed_run_shows_as_internal_inconsistency(tmp_path: Path) -> None:
    # A block seen torn needs another client's append to land inside it, on a key nothing else
    # touched in that round: the first of a few seeds that shows it (seeds 1, 3, 4 and 5 did in
    # each of two rounds here; 0 and 2 never, their torn blocks were on keys left out).
    for seed in (1, 3, 4):
        outcome = quick(tmp_path / str(seed), workload="mixed", fault="exec-not-atomic", ops=3000, seed=seed)
        assert outcome.verdict == "violation"
        assert outcome.transactions is not None, render_outcome(outcome)
        if "internal" in {a.kind for a in outcome.transactions.anomalies}:
            break
    assert "internal" in {a.kind for a in outcome.transactions.anomalies}, render_outcome(outcome)
    assert result_section(outcome)["verdict"] == "invalid"


@pytest.mark.redis
def test_real_redis_keeps_a_mixed_runs_transactions_isolated(tmp_path: Path, redis_server: RedisServer) -> None:
    outcome = quick(tmp_path, target=redis_server.url, workload="mixed", ops=1500)
    assert outcome.verdict == "linearizable", render_outcome(outcome)
    assert outcome.transactions is not None and outcome.transactions.verdict == "valid", render_outcome(outcome)
    assert outcome.transactions.transactions > 100
