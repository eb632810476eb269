"""The pressure engine's check-and-set (``cas``): ``WATCH k' k``, ``GET k``, then ``MULTI``, ``SET k v``,
``EXEC``, one after the other on one client.

Redis's optimistic locking: EXEC answers nil when another client wrote a watched key after the
WATCH, and runs its queue otherwise (redis-semantics W1; W6 for a key created meanwhile).  A WATCH
of several keys watches each of them.  The embedded server's
``watch-ignored`` and ``watch-first-key-only`` faults break each; the write names first a key nobody
writes, so that a server watching only a WATCH's first key misses every write to ``k``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from conftest import RedisServer, pressure_keys

from redlin import load_history
from redlin.harness.pressure import DEFAULT_KEYS, PressureWorkload, record_pressure
from redlin.harness.pressure_check import route
from redlin.harness.pressure_epochs import epoch_at
from redlin.harness.pressure_workloads import CAS_CLIENTS, cas_exec, key_workload, watch_key
from redlin.harness.target import Target
from redlin.history.records import Operation, Outcome
from redlin.model import NULL_ARRAY, QUEUED, Status

OK = Status("OK")


def _epoch(key: bytes) -> int:
    """The epoch of a key of the run, as the checker routes an invocation naming it."""
    _, epoch = route(b'{"event":"invoke","op":1,"call":[["GET","%s"]]}' % key)
    assert epoch is not None
    return epoch


def _sequences(ops: list[Operation]) -> list[list[Operation]]:
    """One client's operations, in order, cut into check-and-sets (each begins with its WATCH)."""
    runs: list[list[Operation]] = []
    for op in ops:
        if op.call[0][0] == b"WATCH" or not runs:
            runs.append([])
        runs[-1].append(op)
    return runs


@pytest.mark.redis
def test_check_and_set_on_a_real_server(redis_server: RedisServer, tmp_path: Path) -> None:
    """Every client's check-and-sets keep their order and their key; some EXEC succeed and some are
    aborted by another client's write; a check-and-set whose epoch ended before its next step sends
    UNWATCH instead (short epochs here: many end), and the run is linearizable."""
    prefix = b"redlin:pressure-cas:"
    recording = record_pressure(Target(redis_server.host, redis_server.port), tmp_path / "h.jsonl",
                                PressureWorkload(clients=8, ops=3000, epoch=0.05, timeout=2.0, processes=2,
                                                 workload="cas"), prefix)
    assert recording.verdict == "linearizable", recording.checks
    assert recording.indeterminate == 0 and not recording.problems
    assert all(check.epoch >= 0 for check in recording.checks)  # an UNWATCH goes to the epoch of its time
    history = load_history(tmp_path / "h.jsonl")
    assert len(history) == recording.operations == 3000
    execs: Counter[str] = Counter()
    by_client: dict[object, list[Operation]] = {}
    for op in sorted(history, key=lambda op: op.invoke):
        assert op.outcome is Outcome.OK
        by_client.setdefault(op.client, []).append(op)
    for ops in by_client.values():
        assert all(earlier.complete is not None and earlier.complete <= later.invoke
                   for earlier, later in zip(ops, ops[1:]))  # one operation at a time
        for steps in _sequences(ops):
            names = [op.call[0][0] for op in steps]
            if names[0] != b"WATCH":  # reads before the client's first check-and-set
                assert set(names) == {b"GET"}
                continue
            ((_, first, key),) = steps[0].call
            assert first == watch_key(key) and key.startswith(prefix) and steps[0].result == (OK,)
            done = 1
            if len(steps) > 1 and steps[1].call == ((b"GET", key),):
                done = 2
                if len(steps) > 2 and steps[2].call[0] == (b"MULTI",):
                    assert steps[2].call == cas_exec(key, "", steps[2].call[1][2].decode())[0]
                    assert steps[2].result[:2] == (OK, QUEUED)
                    execs["aborted" if steps[2].result[2] is NULL_ARRAY else "done"] += 1
                    assert steps[2].result[2] in (NULL_ARRAY, (OK,))
                    done = 3
            if len(steps) > done and steps[done].call == ((b"UNWATCH",),):  # the epoch was over
                assert epoch_at(steps[done].invoke - recording.started_ns, 50_000_000) > _epoch(key)
                assert steps[done].result == (OK,)
                execs["unwatched"] += 1
                done += 1
            assert {op.call[0][0] for op in steps[done:]} <= {b"GET"}, names  # then reads, until the next WATCH
    assert execs["done"] > 100 and execs["aborted"] > 0 and execs["unwatched"] > 0, execs


@pytest.mark.redis
def test_pipelined_lanes_share_a_connection_so_they_write_cas_keys_as_registers(redis_server: RedisServer,
                                                                                tmp_path: Path) -> None:
    """A WATCH is the connection's: lanes of one connection would watch for one another."""
    recording = record_pressure(Target(redis_server.host, redis_server.port), tmp_path / "h.jsonl",
                                PressureWorkload(clients=4, ops=800, epoch=0.5, timeout=2.0, processes=1, pipeline=2,
                                                 workload="cas"), b"redlin:pressure-cas-pipe:")
    assert recording.verdict == "linearizable", recording.checks
    assert {op.call[0][0] for op in load_history(tmp_path / "h.jsonl")} == {b"GET", b"SET"}


@pytest.mark.redis
def test_each_cas_key_is_used_by_a_few_clients_only(redis_server: RedisServer, tmp_path: Path) -> None:
    """The search follows every session of a part: a cas key of an epoch is read and written by at
    most CAS_CLIENTS clients (mixed, 24 clients; the other keys by everyone), so that a run of
    hundreds of clients is still decided (64 and 1,000 clients were, outside the suite)."""
    recording = record_pressure(Target(redis_server.host, redis_server.port), tmp_path / "h.jsonl",
                                PressureWorkload(clients=24, ops=6000, epoch=0.5, timeout=2.0, processes=2,
                                                 workload="mixed"), b"redlin:pressure-cas-few:")
    assert recording.verdict == "linearizable", recording.checks
    users: dict[tuple[int, int], set[object]] = {}  # (epoch, key number) -> clients
    for op in load_history(tmp_path / "h.jsonl"):
        # every key the operation names (UNWATCH, generated PING and ECHO name none)
        for epoch, number in pressure_keys(op.call):
            users.setdefault((epoch, number), set()).add(op.client)
    assert max(number for _, number in users) >= DEFAULT_KEYS  # mixed's generated operations: not cas keys
    users = {where: clients for where, clients in users.items() if where[1] < DEFAULT_KEYS}
    cas = {where: clients for where, clients in users.items() if key_workload("mixed", where[1]) == "cas"}
    assert cas and max(map(len, cas.values())) <= CAS_CLIENTS, cas
    assert max(map(len, users.values())) > 2 * CAS_CLIENTS  # the other keys: everyone's
