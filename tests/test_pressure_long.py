"""The pressure engine's long transactions (``counter-long``): a MULTI block of five ``INCR k``.

A server may run short transactions atomically and break up long ones; the embedded server's
``long-exec-not-atomic`` fault does exactly that, where Redis runs every EXEC whole (redis-semantics
M17, M1: the EXEC reply is each queued command's reply, in order).  ``counter-multi``'s two-command blocks
cannot show it; ``counter-long``'s can.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RedisServer

from redlin import load_history
from redlin.harness.pressure import PressureWorkload, record_pressure
from redlin.harness.pressure_workloads import LONG_INCRS
from redlin.harness.target import Target
from redlin.history.records import Outcome
from redlin.model import QUEUED, Status
from redlin.serve.faults import LONG_QUEUE
from redlin.serve.server import start_in_thread


def test_a_long_block_is_long_enough_for_the_planted_fault() -> None:
    assert LONG_INCRS >= LONG_QUEUE


@pytest.mark.redis
def test_counter_long_on_a_real_server(redis_server: RedisServer, tmp_path: Path) -> None:
    """Each write is one operation: MULTI, five INCR and EXEC, whose reply is five consecutive counts."""
    prefix = b"redlin:pressure-long:"
    recording = record_pressure(Target(redis_server.host, redis_server.port), tmp_path / "h.jsonl",
                                PressureWorkload(clients=8, ops=1500, epoch=0.5, timeout=2.0, processes=2,
                                                 workload="counter-long"), prefix)
    assert recording.verdict == "linearizable", recording.checks
    assert recording.indeterminate == 0 and not recording.problems
    history = load_history(tmp_path / "h.jsonl")
    assert len(history) == recording.operations
    counts: dict[bytes, list[int]] = {}
    for op in history:
        assert op.outcome is Outcome.OK
        if op.call[0][0] == b"GET":
            continue
        key = op.call[1][1]
        assert key.startswith(prefix)
        assert op.call == ((b"MULTI",), *((b"INCR", key),) * LONG_INCRS, (b"EXEC",))
        assert op.result[:-1] == (Status("OK"), *(QUEUED,) * LONG_INCRS)
        made = op.result[-1]
        assert isinstance(made, tuple) and list(made) == list(range(made[0], made[0] + LONG_INCRS))
        counts.setdefault(key, []).extend(made)
    assert sum(map(len, counts.values())) > 2000
    assert all(len(set(made)) == len(made) for made in counts.values())


@pytest.mark.parametrize(("workload", "verdict"), [("counter-long", "violation"), ("counter-multi", "linearizable")])
def test_only_long_blocks_show_a_server_that_breaks_up_long_transactions(tmp_path: Path, workload: str,
                                                                         verdict: str) -> None:
    """Against ``long-exec-not-atomic``, ``counter-long`` finds the violation soon; ``counter-multi``
    (two queued commands, which that server still runs atomically) cannot, however long it runs."""
    with start_in_thread(fault="long-exec-not-atomic", seed=3) as running:
        target = Target.parse(running.url, password_env=None)
        recording = record_pressure(target, tmp_path / "h.jsonl",
                                    PressureWorkload(clients=8, duration=20.0 if verdict == "violation" else 2.0,
                                                     epoch=0.5, workload=workload),
                                    b"redlin:pressure-long:", stop_on_violation=True)
    assert recording.verdict == verdict, recording.checks
    assert recording.operations > 200
    if verdict == "violation":
        assert recording.elapsed < 10  # the first violation ended the recording
