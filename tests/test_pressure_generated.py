"""The pressure engine's ``generated`` workload: every operation drawn from the grammar of the whole model.

Any modelled command with its corner arguments, or a MULTI block of them (EXEC, DISCARD, EXECABORT
after a command refused at queue time, sheet M8), a consumer group's steps, or its own cached
scripts (SCRIPT LOAD, EVALSHA, SCRIPT EXISTS), at the pressure engine's rate, each group of at most
four client ids (lanes) on nine keys of its own.  Against a redis-server 7.0.15 the test starts it is
linearizable; against the embedded server each corner fault it exists for is found.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from conftest import RedisServer, pressure_keys

from redlin import load_history
from redlin.harness.grammar import TYPES
from redlin.harness.pressure import DEFAULT_KEYS, PressureWorkload, record_pressure
from redlin.harness.pressure_check import NO_EPOCH, route
from redlin.harness.pressure_epochs import epoch_at
from redlin.harness.pressure_generated import GROUP_LANES, POOL
from redlin.harness.pressure_run import run_pressure
from redlin.harness.target import Target
from redlin.history.records import History, Outcome
from redlin.model import NULL_ARRAY, Error, Status

_KEYLESS = {b"PING", b"ECHO", b"SCRIPT"}


def _users(history: History, started_ns: int, epoch_ns: int) -> dict[tuple[int, int], set[object]]:
    """The client ids that used each group's keys, by (epoch, group); and every operation's keys are
    of one group, of the epoch its invocation lies in, past the numbered keys."""
    users: dict[tuple[int, int], set[object]] = {}
    for op in history:
        keys = pressure_keys(op.call)
        if not keys:  # PING, ECHO or SCRIPT, or a block of them and commands refused at queue time
            assert all(argv[0] in _KEYLESS or len(argv) == 1 for argv in op.call), op.call
            continue
        groups = {(epoch, (number - DEFAULT_KEYS) // len(POOL)) for epoch, number in keys}
        assert len(groups) == 1 and min(number for _, number in keys) >= DEFAULT_KEYS, op.call
        ((epoch, group),) = groups
        assert epoch == epoch_at(op.invoke - started_ns, epoch_ns), op
        users.setdefault((epoch, group), set()).add(op.client)
    return users


@pytest.mark.redis
def test_generated_operations_on_a_real_server(redis_server: RedisServer, tmp_path: Path) -> None:
    """Commands of every data type and MULTI blocks of every ending, replies and errors as Redis
    gives them, linearizable; each group's keys used by at most four clients in an epoch."""
    recording = record_pressure(Target(redis_server.host, redis_server.port), tmp_path / "h.jsonl",
                                PressureWorkload(clients=12, ops=6000, epoch=0.25, timeout=2.0, processes=2,
                                                 workload="generated"), b"redlin:pressure-generated:")
    assert recording.verdict == "linearizable", recording.checks
    assert recording.indeterminate == 0 and not recording.problems
    assert all(check.epoch >= 0 for check in recording.checks)  # PING and ECHO go to the epoch of their time
    history = load_history(tmp_path / "h.jsonl")
    assert len(history) == recording.operations == 6000
    assert all(op.outcome is Outcome.OK for op in history)
    names = Counter(argv[0].decode().lower() for op in history for argv in op.call)
    assert len(names) > 120, names  # of the grammar's 145, LCS left out
    assert "lcs" not in names  # one LCS of two 10 kB strings held the server for 170 ms, every client waiting
    assert {TYPES[name] for name in names if name in TYPES} == set("vlhszx")
    endings: Counter[str] = Counter()
    for op in history:
        if op.call[0] == (b"MULTI",):
            last = op.result[-1]
            endings["discard" if op.call[-1] == (b"DISCARD",) else "aborted" if type(last) is Error and
                    last.text.startswith("EXECABORT") else "exec" if isinstance(last, tuple) else "other"] += 1
            assert last is not NULL_ARRAY  # no WATCH: no EXEC is aborted by another client's write
            assert op.result[0] == Status("OK") and len(op.result) == len(op.call)
    assert endings["exec"] > 100 and endings["aborted"] > 0 and endings["discard"] > 0 and not endings["other"], endings
    errors = Counter(reply.text.split(" ", 1)[0] for op in history for reply in op.result if type(reply) is Error)
    assert errors["WRONGTYPE"] > 0 and errors["ERR"] > 0, errors
    # the group's own scripts: EVALSHA finds one some client loaded, or answers NOSCRIPT before
    evalsha = Counter("NOSCRIPT" if type(op.result[0]) is Error else op.result[0] for op in history
                      if op.call[0][0] == b"EVALSHA")
    assert set(evalsha) == {"NOSCRIPT", 1, 2, 3}, evalsha
    # the group's consumer group: entries delivered to a consumer with XREADGROUP >
    delivered = [op for op in history if op.call[0][0] == b"XREADGROUP" and op.call[0][-1] == b">"
                 and isinstance(op.result[0], tuple) and op.result[0]]
    assert len(delivered) > 10
    users = _users(history, recording.started_ns, 250_000_000)
    assert max(map(len, users.values())) <= GROUP_LANES
    assert len({group for _, group in users}) == 3  # twelve clients, three groups
    # a command whose reply depends on state names its epoch: the checker does not go by its time,
    # which may lie past the end of the epoch whose keys it uses (with --dask, by a clock's uncertainty)
    scripts = [line for line in (tmp_path / "h.jsonl").read_bytes().splitlines() if b'"call":[["SCRIPT"' in line]
    assert scripts and all(route(line)[1] != NO_EPOCH for line in scripts)


@pytest.mark.redis
def test_pipelined_lanes_count_in_a_group(redis_server: RedisServer, tmp_path: Path) -> None:
    """Each lane of a connection is a client id the search follows: with two lanes per connection,
    a group is two clients."""
    recording = record_pressure(Target(redis_server.host, redis_server.port), tmp_path / "h.jsonl",
                                PressureWorkload(clients=4, ops=2000, epoch=0.25, timeout=2.0, processes=1, pipeline=2,
                                                 workload="generated"), b"redlin:pressure-generated-pipe:")
    assert recording.verdict == "linearizable", recording.checks
    users = _users(load_history(tmp_path / "h.jsonl"), recording.started_ns, 250_000_000)
    assert max(map(len, users.values())) == GROUP_LANES
    assert len({group for _, group in users}) == 2


@pytest.mark.parametrize("profile", ["redis-6.2", "redis-7.2"])
def test_the_version_profile_is_checked_as(tmp_path: Path, profile: str) -> None:
    """Redis 7.2 prints scores in the shortest form, 6.2 has no streams in the model (redis-versions.md):
    the embedded server plays the profile, the epochs are checked as it, and a 6.2 run draws no stream
    command."""
    outcome = run_pressure(workload="generated", profile=profile, clients=8, duration=2.0, seed=1, out=tmp_path / "out")
    assert outcome.verdict == "linearizable", outcome.notes
    history = load_history(tmp_path / "out" / "history.jsonl")
    assert history.meta["profile"] == profile
    streams = sum(1 for op in history for argv in op.call if argv[0].startswith(b"X"))
    assert (streams == 0) == (profile == "redis-6.2"), streams


@pytest.mark.slow
@pytest.mark.redis
def test_a_thousand_clients_of_the_default_workload_are_decided(redis_server: RedisServer, tmp_path: Path) -> None:
    """Issue #19's thousand clients, on the default async workload (mixed: a generated pool for each
    of 250 groups, a cas key for each four clients): every epoch decided, none unknown."""
    recording = record_pressure(Target(redis_server.host, redis_server.port), tmp_path / "h.jsonl",
                                PressureWorkload(clients=1000, duration=3.0, timeout=5.0, workload="mixed"),
                                b"redlin:pressure-thousand:", time_limit=30.0)
    assert recording.verdict == "linearizable", [(check.epoch, check.verdict) for check in recording.checks]
    assert recording.indeterminate == 0 and recording.operations > 10_000
    history = load_history(tmp_path / "h.jsonl")
    assert len({op.client for op in history}) == 1000
    assert max(number for op in history for _, number in pressure_keys(op.call)) >= DEFAULT_KEYS + 249 * len(POOL)  # the last group's pool
