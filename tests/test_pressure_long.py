"""The pressure engine's long transactions (``counter-long``): a MULTI block of five ``INCR k``.

A server may run short transactions atomically and break up long ones; the embedded server's
``long-exec-not-atomic`` fault does exactly that, where Redis runs every EXEC whole (redis-semantics
M17, M1: the EXEC reply is each queued command's reply, in order).  ``counter-multi``'s two-command blocks
cannot show it; ``counter-long``'s can.  Its blocks against a real server are checked beside the
other counter writes' (``tests/test_pressure.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from redlin.harness.pressure import PressureWorkload, record_pressure
from redlin.harness.pressure_workloads import LONG_INCRS
from redlin.harness.target import Target
from redlin.serve.faults import LONG_QUEUE
from redlin.serve.server import start_in_thread


def test_a_long_block_is_long_enough_for_the_planted_fault() -> None:
    assert LONG_INCRS >= LONG_QUEUE


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
    if verdict == "violation":
        # The first violation ended the recording, however early the race showed (once within the
        # first 10 operations, of 166 recorded): what was checked up to it is all recorded.
        assert recording.elapsed < 10 and recording.found_after is not None
        assert 0 < recording.found_after[0] <= recording.operations
    else:
        assert recording.operations > 200  # two seconds of blocks, none of them broken up
