"""Checking independent parts in parallel (--jobs) and on a Dask cluster (--dask), and the bounded
minimisation (--minimise-time): the same verdicts, witnesses and violations as :func:`redlin.check`."""

from __future__ import annotations

import dataclasses
import importlib
import json
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from test_checker_peer import search_alone

from redlin import (
    History,
    Linearizable,
    Model,
    Operation,
    Outcome,
    Result,
    Unknown,
    Violation,
    check,
    kv,
    redis_model,
    registry,
)
from redlin.cli import main
from redlin.cli.check import minimise_budget, model_spec
from redlin.errors import UsageError
from redlin.history.importers import load_porcupine_kv
from redlin.model import Status
from redlin.search import parallel
from redlin.search.distributed import DASK_MISSING, check_dask
from redlin.search.model import CannotPartition, ModelLimit
from redlin.search.parallel import ModelSpec, check_parallel
from redlin.search.rounds import FAST, PRECHECK, Rounds, TaskOutcome
from redlin.search.wgl import STOPPED, Linearized, OutOfBudget, Stuck

ROOT = Path(__file__).resolve().parents[1]
KV_FILES = ("c01-bad", "c01-ok", "c10-bad", "c10-ok", "c50-bad", "c50-ok")
jsonschema: Any = importlib.import_module("jsonschema")  # a test dependency without type stubs


@pytest.fixture
def always_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small histories go through the pool too (they would stay in-process)."""
    monkeypatch.setattr(parallel, "PROBE_SECONDS", 0)


def kv_history(shared_dir: Path, name: str) -> History:
    return load_porcupine_kv(shared_dir / "data/porcupine/kv" / f"{name}.txt")


def assert_same(history: History, model: Model[Any], expected: Result, got: Result) -> None:
    """Same verdict; the same violation; a witness that replays through the model."""
    assert got.verdict == expected.verdict
    if isinstance(expected, Violation):
        assert isinstance(got, Violation)
        assert (got.part, got.operation, got.prefixes) == (expected.part, expected.operation, expected.prefixes)
    if isinstance(expected, Linearizable):
        assert isinstance(got, Linearizable)
        assert sorted(got.parts) == sorted(expected.parts)
        assert_valid_witness(history, model, got)


def assert_valid_witness(history: History, model: Model[Any], result: Linearizable) -> None:
    """Every part's order is accepted by the model, holds all its definite operations and respects
    real time (no operation placed before one that completed before it was invoked)."""
    assert len(result.witness) == len(result.parts)
    for part, order in zip(result.parts, result.witness, strict=True):
        assert {i for i in part if history[i].outcome is Outcome.OK} <= set(order) <= set(part)
        state = model.init()
        for position, op_id in enumerate(order):
            state = model.step(state, history[op_id])
            assert state is not None, f"the model rejects operation {op_id} of the witness"
            invoked = history[op_id].invoke
            completions = [history[later].complete for later in order[position + 1:]]
            assert all(complete is None or complete >= invoked for complete in completions)


@pytest.mark.parametrize("name", KV_FILES)
def test_porcupine_kv_same_verdicts(shared_dir: Path, name: str, always_parallel: None) -> None:
    history = kv_history(shared_dir, name)
    expected = check(history, kv(), time_limit=60)
    got = check_parallel(history, kv(), jobs=2, time_limit=60)
    assert got.verdict == ("violation" if name.endswith("bad") else "linearizable")
    assert_same(history, kv(), expected, got)


@pytest.mark.parametrize("stale", [False, True])
def test_many_key_redis_histories(bench: ModuleType, stale: bool, always_parallel: None) -> None:
    history = bench.many_key_history(6, 5, 12, seed=3, stale=stale)
    model = redis_model()
    expected = check(history, model, time_limit=60)
    got = check_parallel(history, model, jobs=2, time_limit=60)
    assert expected.verdict == ("violation" if stale else "linearizable")
    assert_same(history, model, expected, got)
    # A spec the workers rebuild gives the same answer as the model itself.
    assert_same(history, model, expected, check_parallel(history, ModelSpec(redis_model), jobs=3, time_limit=60))


def test_time_limit_gives_unknown_never_a_wrong_verdict(bench: ModuleType) -> None:
    history = bench.many_key_history(4, 16, 40, seed=1)  # about 2 s of checking on one core (session 17)
    started = time.monotonic()
    result = check_parallel(history, redis_model(), jobs=2, time_limit=0.2)
    took = time.monotonic() - started
    assert isinstance(result, Unknown) and "time limit" in result.reason
    assert took < 0.2 + 1.5  # the pool's start and stop, on a loaded machine


def test_no_search_starts_after_the_deadline(monkeypatch: pytest.MonkeyPatch, bench: ModuleType,
                                            tmp_path: Path, always_parallel: None) -> None:
    """Past the deadline neither this process nor the pool takes another part: on a million
    operations, thousands of parts left each built a search that only found the time gone (16 s
    beyond the limit, session 22)."""
    started_at = tmp_path / "starts"  # forked pool processes inherit the patch and append here
    searching = parallel.search_rounds

    def slow(*args: Any, **options: Any) -> Iterator[tuple[int, TaskOutcome]]:
        with started_at.open("a") as log:
            log.write(f"{time.monotonic()}\n")
        time.sleep(0.02)  # each part costs 20 ms: 160 parts are 1.6 s for two processes
        return searching(*args, **options)

    monkeypatch.setattr(parallel, "search_rounds", slow)
    history = bench.many_key_history(160, 2, 2)
    started = time.monotonic()
    result = check_parallel(history, redis_model(), jobs=2, time_limit=0.4)
    assert isinstance(result, Unknown) and "time limit" in result.reason
    starts = [float(line) for line in started_at.read_text().split()]
    assert 0 < len(starts) < 160
    # The clock is read, then a part taken and logged: a moment later, or longer on a busy machine
    # (0.3 s allowed).  Without the rule, parts start until about 1.6 s.
    assert max(starts) < started + 0.4 + 0.3


def test_state_budget_split_gives_unknown(shared_dir: Path, always_parallel: None) -> None:
    model = search_alone(kv())  # (the workers fork with it)
    history = kv_history(shared_dir, "c50-ok")
    result = check_parallel(history, model, jobs=2, time_limit=60, max_states=2_000)
    assert isinstance(result, Unknown) and "state budget of 2000" in result.reason
    assert isinstance(check(history, model, max_states=2_000), Unknown)


def test_small_histories_stay_in_process(monkeypatch: pytest.MonkeyPatch, bench: ModuleType) -> None:
    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pool was started for a small history")

    monkeypatch.setattr(parallel, "_Pool", no_pool)
    # The probe is 50 ms; a few milliseconds of work can take longer on a loaded machine (a
    # snapshot run met it), so the check here gives it a second: what counts is that no pool starts.
    monkeypatch.setattr(parallel, "PROBE_SECONDS", 1.0)
    history = bench.many_key_history(8, 2, 10)  # checked in a few milliseconds
    assert check_parallel(history, redis_model(), jobs=2).verdict == "linearizable"
    monkeypatch.setattr(parallel, "PROBE_SECONDS", 0)
    with pytest.raises(AssertionError, match="a pool was started"):
        check_parallel(history, redis_model(), jobs=2)


def test_a_long_history_starts_its_pool_at_once(
        monkeypatch: pytest.MonkeyPatch, bench: ModuleType, tmp_path: Path) -> None:
    """No probe: the pool (one process for --jobs 2) starts at once, and this process searches
    beside it (_Pool), each of its searches one of _Pool's, none the probe's."""
    searched_by = tmp_path / "pids"  # forked workers inherit the patch and append to the same file
    searching, sharing = parallel.search_rounds, parallel._Pool._search_task

    def logged(*args: Any, **options: Any) -> Iterator[tuple[int, TaskOutcome]]:
        with searched_by.open("a") as log:
            log.write(f"{os.getpid()}\n")
        return searching(*args, **options)

    def shared(*args: Any) -> bool:
        with searched_by.open("a") as log:
            log.write(f"shared {os.getpid()}\n")
        return sharing(*args)

    sizes: list[int] = []

    class Pool(parallel._Pool):
        def __init__(self, context: Any, size: int, *args: Any) -> None:
            sizes.append(size)
            super().__init__(context, size, *args)

    monkeypatch.setattr(parallel, "_Pool", Pool)
    monkeypatch.setattr(parallel, "search_rounds", logged)
    monkeypatch.setattr(parallel._Pool, "_search_task", shared)
    monkeypatch.setattr(parallel, "PROBE_SECONDS", 60)  # a probe would decide everything here
    history = bench.many_key_history(8, 4, 40, stale=True)
    assert len(history) >= parallel.EARLY_POOL
    result = check_parallel(history, redis_model(), jobs=2)
    assert sizes == [1]
    assert_same(history, redis_model(), check(history, redis_model()), result)
    lines = searched_by.read_text().splitlines()
    here, shared_here = lines.count(str(os.getpid())), lines.count(f"shared {os.getpid()}")
    assert here == shared_here > 0  # every search here went through _Pool: no probe here
    pool = {line for line in lines if not line.startswith("shared") and line != str(os.getpid())}
    assert len(pool) == 1  # one pool process


def test_a_violation_the_pool_proves_stops_this_process_search(
        monkeypatch: pytest.MonkeyPatch, bench: ModuleType, always_parallel: None) -> None:
    """This process takes the largest part, a stale read its search needs about a second to prove;
    the pool takes the next, a violation proved at once (a read of nil after a SET completed), and
    this process leaves its search between steps once that violation settles the verdict.  (The
    pool's process waits here until this process has taken its task, which it usually does first
    anyway.)"""
    hard = list(bench.many_key_history(1, 16, 40, stale=True))
    n = len(hard)
    easy = [Operation(n, "z1", ((b"SET", b"z", b"1"),), (Status("OK"),), invoke=0, complete=1),
            Operation(n + 1, "z2", ((b"GET", b"z"),), (None,), invoke=2, complete=3)]
    history = History((*hard, *easy))
    ended: list[TaskOutcome] = []
    parent, searching, taking = os.getpid(), parallel.search_rounds, parallel._Board.take

    def noted(*args: Any, **options: Any) -> Iterator[tuple[int, TaskOutcome]]:
        for round_, found in searching(*args, **options):
            ended.append(found)  # (in this process: the pool's has its own copy of the list)
            yield round_, found

    def after_this_process(board: Any) -> Any:
        while os.getpid() != parent and board.cells[0] == 0:
            time.sleep(0.001)
        return taking(board)

    monkeypatch.setattr(parallel, "search_rounds", noted)
    monkeypatch.setattr(parallel._Board, "take", after_this_process)
    expected = check(history, redis_model())
    assert isinstance(expected, Violation) and expected.operation in (n, n + 1)
    assert_same(history, redis_model(), expected, check_parallel(history, redis_model(), jobs=2, time_limit=60))
    assert len(ended) == 1 and isinstance(ended[0].outcome, OutOfBudget)  # this process's one search was left
    assert ended[0].outcome.reason == STOPPED


def test_a_part_goes_on_into_its_next_round_where_it_stopped(
        monkeypatch: pytest.MonkeyPatch, bench: ModuleType) -> None:
    """search_rounds(): one search, resumed round after round up to the cap, not one per round."""
    started: list[int] = []

    class Counted(parallel.PartSearch):
        def __init__(self, *args: Any, **options: Any) -> None:
            started.append(1)
            super().__init__(*args, **options)

    monkeypatch.setattr(parallel, "PartSearch", Counted)
    part = list(bench.many_key_history(1, 16, 40, stale=True))  # a violation proved at 29,276 configurations
    rounds = list(parallel.search_rounds(part, redis_model(), 0, 20_000, None))
    assert [(round_, type(found.outcome), found.outcome.states_explored) for round_, found in rounds] == [
        (0, OutOfBudget, 10_000), (1, OutOfBudget, 20_000)]
    assert started == [1]
    stopped = list(parallel.search_rounds(part, redis_model(), 0, 20_000, None, stop=lambda: True))
    assert [(round_, found.outcome.reason) for round_, found in stopped] == [(0, STOPPED)]


def test_an_error_in_a_pool_process_is_raised_here(monkeypatch: pytest.MonkeyPatch, bench: ModuleType,
                                                   always_parallel: None) -> None:
    parent, searching = os.getpid(), parallel.search_rounds

    def broken(*args: Any, **options: Any) -> Iterator[tuple[int, TaskOutcome]]:
        if os.getpid() != parent:  # only in the pool: this process searches as usual
            raise RuntimeError("a worker's bug")
        return searching(*args, **options)

    monkeypatch.setattr(parallel, "search_rounds", broken)  # the forked pool process inherits it
    with pytest.raises(RuntimeError, match="a worker's bug"):
        check_parallel(bench.many_key_history(8, 4, 10), redis_model(), jobs=2, time_limit=60)


def test_the_pool_is_gone_when_the_check_returns(bench: ModuleType, always_parallel: None) -> None:
    """No process of the pool, and no thread, outlives the check."""
    threads = set(threading.enumerate())
    history = bench.many_key_history(8, 4, 40, stale=True)
    result = check_parallel(history, redis_model(), jobs=3)
    assert_same(history, redis_model(), check(history, redis_model()), result)
    assert multiprocessing.active_children() == []
    assert set(threading.enumerate()) == threads


def test_a_pool_process_that_dies_is_an_error_here(monkeypatch: pytest.MonkeyPatch, bench: ModuleType,
                                                   always_parallel: None) -> None:
    """A pool process killed (say by the kernel, out of memory) gives an error, not a wait forever
    or a verdict without its parts."""
    parent, searching = os.getpid(), parallel.search_rounds

    def killed(*args: Any, **options: Any) -> Iterator[tuple[int, TaskOutcome]]:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return searching(*args, **options)

    monkeypatch.setattr(parallel, "search_rounds", killed)
    with pytest.raises(RuntimeError, match="ended .exit code -9"):
        check_parallel(bench.many_key_history(8, 4, 10), redis_model(), jobs=2, time_limit=60)
    assert multiprocessing.active_children() == []


def test_rounds_report_the_violation_check_would() -> None:
    """A violation waits for every task before it in (round, part) order: an earlier part's
    violation, even found later, wins; a violation of a later round loses to one of round 0."""
    parts: list[list[Operation]] = [[], [], []]  # the bookkeeping needs only how many parts there are
    rounds = Rounds(parts, cap=80_000, started=time.monotonic(), max_states=80_000)
    assert rounds.start() == [(0, 0), (0, 1), (0, 2)]
    assert rounds.record((0, 2), TaskOutcome(Stuck(7, (), 5))) == []
    assert rounds.result is None  # parts 0 and 1 may still violate
    assert rounds.record((0, 0), TaskOutcome(Linearized((1, 2), 3))) == []
    assert rounds.result is None
    assert rounds.record((0, 1), TaskOutcome(OutOfBudget("state budget of 10000 configurations exhausted", 9))) == [
        (1, 1)]
    assert isinstance(rounds.result, Violation) and rounds.result.operation == 7  # round 1 comes after it
    assert rounds.result.states_explored == 17


def test_rounds_put_fast_paths_then_the_pre_check_then_the_search() -> None:
    """check() runs the fast paths of every part, then the pre-check of every part they leave,
    then the searches: a later part's pre-check violation beats an earlier part's search
    violation, and a fast path's beats both, whichever process found what first."""
    rounds = Rounds([[], [], []], cap=80_000, started=time.monotonic(), max_states=80_000)
    rounds.start()
    rounds.record((0, 0), TaskOutcome(Stuck(1, (), 40)))  # part 0's search
    rounds.record((0, 2), TaskOutcome(Stuck(3, (), 0), stage=PRECHECK))
    assert rounds.result is None  # part 1's fast path may still find one
    rounds.record((0, 1), TaskOutcome(Stuck(2, (), 0), stage=FAST))
    assert isinstance(rounds.result, Violation) and rounds.result.operation == 2
    rounds = Rounds([[], [], []], cap=80_000, started=time.monotonic(), max_states=80_000)
    rounds.start()
    rounds.record((0, 2), TaskOutcome(Stuck(3, (), 0), stage=PRECHECK))
    rounds.record((0, 0), TaskOutcome(Stuck(1, (), 40)))
    rounds.record((0, 1), TaskOutcome(Linearized((), 0), stage=FAST))
    assert isinstance(rounds.result, Violation) and rounds.result.operation == 3


def test_the_pre_check_runs_in_the_pool(bench: ModuleType, tmp_path: Path, always_parallel: None) -> None:
    """The model's pre-check of the parts runs where their searches do, not all in this process
    first, and its violation is check()'s: here, of the one part a pre-check refuses."""
    history = bench.many_key_history(8, 4, 40)
    refused = next(op for op in history if op.call[0][1] == b"k3" and op.call[0][0] == b"GETRANGE")
    ran_in = tmp_path / "pids"  # forked pool processes inherit the model, and append here

    def impossible(ops: Sequence[Operation]) -> Operation | None:
        with ran_in.open("a") as log:
            log.write(f"{os.getpid()}\n")
        return refused if refused in ops else None

    # (another name: no fast path decides a part before its pre-check, as the string one would)
    model = dataclasses.replace(redis_model(), name="redis-searched", find_impossible=impossible)
    expected = check(history, model, time_limit=60)
    assert isinstance(expected, Violation) and expected.operation == refused.id
    ran_in.unlink()
    assert_same(history, model, expected, check_parallel(history, model, jobs=2, time_limit=60))
    pids = ran_in.read_text().split()
    assert str(os.getpid()) in pids and set(pids) - {str(os.getpid())}  # here and in the pool


def test_unsplittable_and_model_limits_are_kept() -> None:
    rounds = Rounds([[], []], cap=10, started=time.monotonic(), max_states=10)
    rounds.start()
    rounds.record((0, 0), TaskOutcome(None, limit="script ran too long"))
    rounds.record((0, 1), TaskOutcome(Linearized((), 0)))
    assert isinstance(rounds.result, Unknown) and "script ran too long" in rounds.result.reason
    rounds = Rounds([[], []], cap=10, started=time.monotonic(), max_states=10)
    rounds.start()
    rounds.record((0, 0), TaskOutcome(None, unsplittable=True))
    assert rounds.unsplittable and rounds.result is None


def test_a_workers_tasks_report_model_limits_and_unsound_splits() -> None:
    # search_one and search_rounds, a worker's two kinds of task, turn the model's refusals into
    # outcomes that Rounds keeps (above): a limit makes the part undecidable, an unsound split
    # makes the caller check the history whole.
    ops = [Operation(0, "a", ("put", "k", "x"), None, 0, 2), Operation(1, "b", ("get", "k"), "x", 1, 3)]

    def limited(state: Any, op: Operation) -> Any:
        raise ModelLimit("a script ran too long")

    def unsound(state: Any, op: Operation) -> Any:
        raise CannotPartition(kv(), "operation 0 touched a key of another part")

    for step, expected in ((limited, TaskOutcome(None, limit="a script ran too long")),
                           (unsound, TaskOutcome(None, unsplittable=True))):
        model = dataclasses.replace(kv(), name="refusing", step=step)
        assert parallel.search_one(ops, model, 100, None) == expected
        assert list(parallel.search_rounds(ops, model, 0, 100, None)) == [(0, expected)]


# ----------------------------------------------------------------------------- Dask


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[str]:
    """A local Dask cluster of two single-threaded workers in this process (quick to start)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        yield str(cluster.scheduler_address)


@pytest.mark.parametrize("name", ["c10-bad", "c10-ok", "c50-bad"])
def test_dask_same_verdicts(shared_dir: Path, dask_cluster: str, name: str) -> None:
    history = kv_history(shared_dir, name)
    expected = check(history, kv(), time_limit=60)
    got = check_dask(history, ModelSpec(kv), address=dask_cluster, time_limit=60)
    assert_same(history, kv(), expected, got)


def test_dask_rebuilds_a_redis_model_with_its_profile(bench: ModuleType, dask_cluster: str) -> None:
    history = bench.many_key_history(4, 4, 10, seed=5, stale=True)
    history = History(history.operations, {"profile": "redis-6.2"})
    model = redis_model(profile="redis-6.2")
    spec = model_spec(history, model)
    assert dict(spec.options)["profile"] == "redis-6.2"
    expected = check(history, model, time_limit=60)
    assert_same(history, model, expected, check_dask(history, spec, address=dask_cluster, time_limit=60))


def test_dask_time_limit_gives_unknown(bench: ModuleType, dask_cluster: str) -> None:
    history = bench.many_key_history(4, 16, 40, seed=1)  # about 2 s of checking on one core (session 17)
    started = time.monotonic()
    result = check_dask(history, ModelSpec(redis_model), address=dask_cluster, time_limit=0.3)
    assert isinstance(result, Unknown) and "time limit" in result.reason
    assert time.monotonic() - started < 0.3 + 3.0


def test_dask_unreachable_scheduler_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setattr("redlin.search.distributed.CONNECT_SECONDS", 1.0)
    history = load_porcupine_kv(ROOT.parent / "shared/data/porcupine/kv/c10-ok.txt")
    with pytest.raises(UsageError, match="cannot reach the Dask scheduler"):
        check_dask(history, ModelSpec(kv), address="tcp://127.0.0.1:1", time_limit=5)


def test_cli_dask(shared_dir: Path, dask_cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = shared_dir / "data/porcupine/kv/c10-bad.txt"
    assert main(["check", str(path), "--dask", dask_cluster, "--no-report", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["verdict"] == "violation"


# ----------------------------------------------------------------------------- the command line


def test_cli_jobs_same_verdict(shared_dir: Path, capsys: pytest.CaptureFixture[str], always_parallel: None) -> None:
    path = str(shared_dir / "data/porcupine/kv/c10-ok.txt")
    assert main(["check", path, "--jobs", "2", "--no-report"]) == 0
    assert main(["check", path, "--jobs", "1", "--no-report"]) == 0
    assert capsys.readouterr().out.count("LINEARIZABLE") == 2


def test_minimise_time_is_honoured_and_reported(shared_dir: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    make_model = registry.make_model
    monkeypatch.setattr(registry, "make_model", lambda name: search_alone(make_model(name)))  # minimising takes seconds
    path = str(shared_dir / "data/porcupine/kv/c50-bad.txt")
    started = time.monotonic()
    assert main(["check", path, "--jobs", "1", "--minimise-time", "0.2", "--out", str(tmp_path / "r")]) == 1
    assert time.monotonic() - started < 20
    assert "minimised for 0.2 s; stopped early: the core may not be minimal" in capsys.readouterr().out
    document = json.loads((tmp_path / "r/result.json").read_text())
    assert document["minimise"]["stopped_early"] is True and document["minimise"]["budget"] == 0.2
    assert document["minimise"]["seconds"] < 0.2 + 1.0  # ddmin looks at the clock between sub-checks
    schema = json.loads((ROOT / "checker/report/schema.json").read_text())
    jsonschema.validate(document, schema)
    assert "stopped early: the core may not be minimal" in (tmp_path / "r/summary.md").read_text()


def test_minimise_finishing_in_time_says_nothing(shared_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(shared_dir / "data/porcupine/kv/c01-bad.txt"), "--minimise-time", "30", "--json",
                 "--no-report"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["minimise"]["stopped_early"] is False and document["core"]


def test_default_minimise_budget() -> None:
    assert minimise_budget(None, 0.01, 60.0) == pytest.approx(0.1)  # ten times the check
    assert minimise_budget(None, 2.0, 60.0) == 5.0
    assert minimise_budget(None, 2.0, 8.0) == 2.0  # a quarter of the limit
    assert minimise_budget(0.5, 100.0, 60.0) == 0.5


@pytest.mark.parametrize("args, message", [
    (["--jobs", "0"], "--jobs: must be positive"),
    (["--jobs", "two"], "--jobs: not a whole number"),
    (["--dask", "localhost"], "--dask: not a scheduler address"),
    (["--dask", "tcp://h:1", "--jobs", "2"], "not allowed with argument"),
    (["--minimise-time", "-1"], "--minimise-time"),
])
def test_cli_flag_errors_are_one_line_exit_3(shared_dir: Path, capsys: pytest.CaptureFixture[str],
                                            args: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["check", str(shared_dir / "data/porcupine/kv/c01-ok.txt"), *args])
    assert stopped.value.code == 3
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_dask_missing_is_one_line_exit_3(shared_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("redlin.cli.check.dask_installed", lambda: False)
    code = main(["check", str(shared_dir / "data/porcupine/kv/c01-ok.txt"), "--dask", "tcp://127.0.0.1:8786"])
    assert code == 3
    assert capsys.readouterr().err.strip() == f"redlin: {DASK_MISSING}"
