"""A script steps the model once in a partitioned check, and the split still stops at undeclared keys (issue #15).

The partitioned Redis model must notice a script that touches a key it did not declare in KEYS (the
split by declared keys is then unsound: the history is checked as one part).  It notes that while
the script runs for the step itself; only a step that fails runs every command again as a probe,
since a failing step may have stopped before a later command's script ran (a MULTI block whose
queueing reply differs).  Sheet items: E1 (KEYS and ARGV), M1 (MULTI queues, EXEC runs).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from redlin import History, Operation, check, redis_model
from redlin.model import Error, Status
from redlin.search.model import CannotPartition

DECLARED = b"return redis.call('INCR', KEYS[1])"
UNDECLARED = b"redis.call('SET', 'b', 'x') return redis.call('INCR', KEYS[1])"
QUEUED = Status("QUEUED")
# The module, not the function redlin.adapter exports under its name.
adapter: Any = importlib.import_module("redlin.adapter.redis_model")


def _op(call: tuple[tuple[bytes, ...], ...], result: tuple[object, ...]) -> Operation:
    return Operation(0, 1, call, result, invoke=0, complete=1)


@pytest.fixture
def engine_steps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """The commands the adapter hands the model's engine, in order (each one run of it)."""
    seen: list[bytes] = []
    step, reporting = adapter.step, adapter.step_reporting_undeclared

    def counted_step(state: Any, client: Any, argv: Sequence[bytes], *args: Any, **kwargs: Any) -> Any:
        seen.append(argv[0])
        return step(state, client, argv, *args, **kwargs)

    def counted_reporting(state: Any, client: Any, argv: Sequence[bytes], *args: Any, **kwargs: Any) -> Any:
        seen.append(argv[0])
        return reporting(state, client, argv, *args, **kwargs)

    monkeypatch.setattr(adapter, "step", counted_step)
    monkeypatch.setattr(adapter, "step_reporting_undeclared", counted_reporting)
    # _step's default engine was bound when the module was loaded: hand it the counted one.
    monkeypatch.setattr(adapter._step, "__defaults__", (2, counted_step))
    yield seen


def test_a_script_that_keeps_to_its_keys_runs_once(engine_steps: list[bytes]) -> None:
    model = redis_model()
    after = model.step(model.init(), _op(((b"EVAL", DECLARED, b"1", b"a"),), (1,)))
    assert after is not None
    assert engine_steps == [b"EVAL"]


def test_a_failing_step_probes_again(engine_steps: list[bytes]) -> None:
    model = redis_model()
    assert model.step(model.init(), _op(((b"EVAL", DECLARED, b"1", b"a"),), (2,))) is None  # INCR gives 1
    assert engine_steps == [b"EVAL", b"EVAL", b"EVAL"]  # the step, the probe, the step again


def test_an_undeclared_key_touched_by_the_step_stops_the_split() -> None:
    model = redis_model()
    with pytest.raises(CannotPartition):
        model.step(model.init(), _op(((b"EVAL", UNDECLARED, b"1", b"a"),), (1,)))


def test_an_undeclared_key_behind_a_failing_reply_stops_the_split() -> None:
    """With the replies as the model gives them, EXEC runs the script in the step itself.  With
    the GET's queueing reply refused, the step stops before EXEC: the probe runs EXEC, and so the
    script, and finds the undeclared key all the same."""
    model = redis_model()
    call = ((b"MULTI",), (b"GET", b"a"), (b"EVAL", UNDECLARED, b"1", b"a"), (b"EXEC",))
    for queued in (QUEUED, Error("ERR queueing refused")):
        with pytest.raises(CannotPartition):
            model.step(model.init(), _op(call, (Status("OK"), queued, QUEUED, (None, 1))))


def test_verdicts_of_a_split_history_with_scripts() -> None:
    """Two keys' scripts, split apart: linearizable as recorded, a violation with a wrong count."""
    ops = [Operation(0, 1, ((b"EVAL", DECLARED, b"1", b"a"),), (1,), invoke=0, complete=5),
           Operation(1, 2, ((b"EVAL", DECLARED, b"1", b"b"),), (1,), invoke=1, complete=6),
           Operation(2, 1, ((b"EVAL", DECLARED, b"1", b"a"),), (2,), invoke=7, complete=8)]
    result = check(History(tuple(ops)), redis_model())
    assert result.verdict == "linearizable"
    wrong = [*ops[:2], Operation(2, 1, ((b"EVAL", DECLARED, b"1", b"a"),), (3,), invoke=7, complete=8)]
    assert check(History(tuple(wrong)), redis_model()).verdict == "violation"
