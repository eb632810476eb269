"""The pressure engine's epochs start short (issue #19: faults found sooner) and its ``mixed`` workload.

The schedule (:mod:`redlin.harness.pressure_epochs`) is checked as a property: every instant lies in
exactly one epoch, the first six double up to the run's epoch length.  Against a redis-server the
test starts, every key a worker wrote names the epoch its invocation lies in, and the first epoch
is checked while the recording goes on.  Against the embedded server with a planted fault, the
``mixed`` workload (each key one of the six workloads, and one operation in seven a ``generated``
one) finds every fault a pressure workload can show, and the run says how soon.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import PRESSURE_KEY, RedisServer, pressure_keys
from hypothesis import given
from hypothesis import strategies as st

from redlin import load_history
from redlin.harness.pressure import DEFAULT_KEYS, PressureWorkload, record_pressure
from redlin.harness.pressure_check import grace_ns
from redlin.harness.pressure_epochs import RAMP, epoch_at, epoch_end
from redlin.harness.pressure_run import PRESSURE_FAULTS, run_pressure
from redlin.harness.pressure_workloads import MIXED_CYCLE, MIXED_GENERATED
from redlin.harness.target import Target
from redlin.history.records import Outcome
from redlin.serve.server import start_in_thread


def _key(call: tuple[tuple[bytes, ...], ...]) -> bytes:
    """The key of a pressure operation: a MULTI block's second command's, an EVAL's or a WATCH's last
    argument, else the command's first argument."""
    if call[0][0] == b"MULTI":
        return call[1][1]
    return call[0][-1] if call[0][0] in (b"EVAL", b"WATCH") else call[0][1]


@given(st.integers(1, 10**10), st.integers(0, 10**11))
def test_every_instant_lies_in_one_epoch(epoch_ns: int, elapsed: int) -> None:
    epoch = epoch_at(elapsed, epoch_ns)
    start = epoch_end(epoch - 1, epoch_ns) if epoch else 0
    assert start <= elapsed < epoch_end(epoch, epoch_ns)


@given(st.integers(32, 10**10))
def test_the_first_epochs_double_up_to_the_length(epoch_ns: int) -> None:
    ends = [0, *(epoch_end(epoch, epoch_ns) for epoch in range(RAMP + 3))]
    lengths = [after - before for before, after in zip(ends, ends[1:])]
    assert lengths[0] == epoch_ns >> RAMP  # 1/64 of the length
    for shorter, longer in zip(lengths[:RAMP - 1], lengths[1:RAMP]):
        assert abs(longer - 2 * shorter) <= 2  # twice the one before, to the nanoseconds the ends round off
    assert lengths[RAMP:] == [epoch_ns] * 3
    assert ends[RAMP] <= epoch_ns  # the short ones together last less than one full epoch
    assert all(grace_ns(epoch, epoch_ns) <= max(length // 4, 2_000_000) for epoch, length in enumerate(lengths))


@pytest.mark.redis
def test_keys_name_the_epoch_of_their_invocation(redis_server: RedisServer, tmp_path: Path) -> None:
    """Every operation's key is of the epoch its invocation lies in, by the schedule, and the first
    epoch was checked while the recording went on."""
    recording = record_pressure(Target(redis_server.host, redis_server.port), tmp_path / "h.jsonl",
                                PressureWorkload(clients=8, duration=1.3, epoch=1.0, workload="mixed"),
                                b"redlin:pressure-epochs:")
    assert recording.verdict == "linearizable", recording.checks
    history = load_history(tmp_path / "h.jsonl")
    seen: dict[int, set[str]] = {}
    generated = pubsub = 0
    for op in history:
        if op.call == ((b"UNWATCH",),):  # a check-and-set whose epoch ended (tests/test_pressure_cas.py)
            continue
        if any(b":ch:e" in arg for argv in op.call for arg in argv[1:]):  # Pub/Sub (tests/test_pressure_pubsub.py)
            pubsub += 1
            continue
        keys = pressure_keys(op.call)
        if not keys or min(number for _, number in keys) >= DEFAULT_KEYS:  # generated (tests/test_pressure_generated.py)
            generated += 1
            assert all(epoch == epoch_at(op.invoke - recording.started_ns, 1_000_000_000)
                       for epoch, _ in keys), (op.call, op.invoke)
            continue
        found = PRESSURE_KEY.search(_key(op.call))
        assert found is not None, op.call
        epoch, number = int(found.group(1)), int(found.group(2))
        assert epoch == epoch_at(op.invoke - recording.started_ns, 1_000_000_000), (op.call, op.invoke)
        seen.setdefault(epoch, set()).add(op.call[0][0].decode() if op.call[0][0] != b"GET" else "GET")
        write = MIXED_CYCLE[number % len(MIXED_CYCLE)]
        name = op.call[0][0]
        assert name == b"GET" or name in {"register": {b"SET"}, "counter": {b"INCR"}, "counter-multi": {b"MULTI"},
                                          "counter-script": {b"EVAL"}, "counter-long": {b"MULTI"},
                                          "cas": {b"WATCH", b"MULTI"}}[write], (op.call, write)
    # 1.3 s: the six short epochs and the first full one (the clients connect before the go, but the
    # workers run niced: a loaded machine may still leave the first 16 ms empty, not the 125 ms from
    # 0.11 s on)
    assert set(range(3, RAMP + 1)) <= set(seen) <= set(range(RAMP + 1))
    assert set().union(*seen.values()) == {"GET", "SET", "INCR", "MULTI", "EVAL", "WATCH"}
    others = len(history) - pubsub
    assert others * MIXED_GENERATED / 2 < generated < others * MIXED_GENERATED * 2 and pubsub > 100
    first = min(recording.checks, key=lambda check: check.epoch)
    last_end = recording.started_ns + int(recording.elapsed * 1e9)
    assert first.epoch < RAMP and first.done_ns < last_end  # a short epoch, checked before the recording ended


@pytest.mark.parametrize(("fault", "workload"), sorted(PRESSURE_FAULTS.items()))
def test_each_fault_is_found_by_its_own_workload(tmp_path: Path, fault: str, workload: str) -> None:
    """The workload each fault is listed with shows it: cas the WATCH faults (a WATCH of a key nobody
    writes first), generated the corners of replies, errors, the script cache and consumer groups."""
    with start_in_thread(fault=fault, seed=3) as running:
        target = Target.parse(running.url, password_env=None)
        recording = record_pressure(target, tmp_path / "h.jsonl",
                                    PressureWorkload(clients=8, duration=20.0, epoch=0.5, workload=workload),
                                    b"redlin:pressure-own:", stop_on_violation=True)
    assert recording.verdict == "violation", recording.checks
    assert recording.elapsed < 10  # the first violation ended the recording


@pytest.mark.parametrize("fault", sorted(PRESSURE_FAULTS))
def test_the_mixed_workload_finds_each_fault_soon(tmp_path: Path, fault: str) -> None:
    """The faults the pressure workloads show, each found by ``mixed`` without being told which
    write shows it, and the run says after how long and how many operations."""
    outcome = run_pressure(fault=fault, workload="mixed", clients=8, duration=20.0, seed=1, out=tmp_path / "out")
    assert outcome.verdict == "violation", outcome.notes
    stats = outcome.stats
    assert stats.found_after_seconds is not None and stats.found_after_operations is not None
    assert 0 < stats.found_after_seconds < 10 and 0 < stats.found_after_operations <= stats.operations
    history = load_history(tmp_path / "out" / "counterexample.jsonl")
    assert all(op.outcome in (Outcome.OK, Outcome.INFO, Outcome.FAIL) for op in history) and len(history) > 0
