"""The ``stream`` workload: one consumer group under concurrent consumers, checked exactly by the
model (issue #18).  An entry delivered by ``XREADGROUP >`` to two consumers without a claim, or a
delivered entry missing from the pending list, leaves no order of the operations that the model
explains, so the linearizability checker is the consumer-group checker.

The planted fault ``group-forgets-delivery`` (the group does not record a delivery) must be found;
the clean embedded server and a real Redis 7.0.15 of our own must be linearizable.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RedisServer
from redis_histories import NULL_ARRAY, OK, HistoryBuilder

from redlin import Violation, check, redis_model
from redlin.harness.runner import render_outcome, run
from redlin.history.jsonl import load_history
from redlin.history.records import Outcome


def test_the_clean_embedded_server_is_linearizable(tmp_path: Path) -> None:
    outcome = run(workload="stream", ops=1500, seed=1, out=tmp_path / "out", database=None)
    assert outcome.verdict == "linearizable", render_outcome(outcome)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_group_that_forgets_a_delivery_is_found(tmp_path: Path, seed: int) -> None:
    outcome = run(workload="stream", fault="group-forgets-delivery", ops=3000, seed=seed, out=tmp_path / "out",
                  database=None)
    assert outcome.verdict == "violation", render_outcome(outcome)
    core = load_history(tmp_path / "out" / "counterexample.jsonl")  # the core, with its setup
    assert isinstance(check(core, redis_model(), time_limit=30), Violation)  # a violation from its file too
    # The contradiction is in what the group says: a delivery, an acknowledgement, a claim, the pending list.
    group = {b"XREADGROUP", b"XACK", b"XCLAIM", b"XAUTOCLAIM", b"XPENDING"}
    assert any(op.call[0][0].upper() in group for op in core), render_outcome(outcome)


@pytest.mark.redis
def test_a_real_redis_is_linearizable_and_every_step_is_exercised(redis_server: RedisServer, tmp_path: Path) -> None:
    outcome = run(target=redis_server.url, workload="stream", ops=3000, seed=2, out=tmp_path / "out",
                  database=None)
    assert outcome.verdict == "linearizable", render_outcome(outcome)
    history = load_history(tmp_path / "out" / "history.jsonl")
    done = [op for op in history if op.outcome is Outcome.OK]
    sent = {op.call[0][0].upper() for op in done}
    assert {b"XADD", b"XREADGROUP", b"XACK", b"XCLAIM", b"XAUTOCLAIM", b"XPENDING", b"XLEN"} <= sent
    # Entries were really delivered and acknowledged (not only empty replies).
    assert any(op.call[0][0].upper() == b"XACK" and op.result[0] == 1 for op in done)
    assert any(op.call[0][0].upper() == b"XREADGROUP" and op.result[0] is not NULL_ARRAY for op in done)


def test_two_consumers_handed_one_entry_is_a_violation() -> None:
    """By hand: the smallest double delivery (XADD, then two XREADGROUP > both answering 1-0)."""
    group = ("XGROUP", "CREATE", "q", "g", "0", "MKSTREAM")
    entry = ((b"q", ((b"1-0", (b"f", b"v")),)),)
    h = HistoryBuilder()
    h.op(0, 0, 1, group, OK)
    h.op(0, 2, 3, ("XADD", "q", "1-*", "f", "v"), b"1-0")
    h.op(1, 4, 7, ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "q", ">"), entry)
    h.op(2, 4, 7, ("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "q", ">"), entry)
    assert check(h.history(), redis_model(), time_limit=10).verdict == "violation"
    h.ops.pop()
    h.op(2, 4, 7, ("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "q", ">"), NULL_ARRAY)
    assert check(h.history(), redis_model(), time_limit=10).verdict == "linearizable"
