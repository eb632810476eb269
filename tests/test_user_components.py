"""User components (``redlin.testing``): the model's redis-py client, recording, judging, the search.

The model's client is the specification of a user's function, so it is compared with a real
redis-server function by function: same return values, same exceptions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from conftest import RedisServer
from hypothesis import strategies as st

from redlin import History, Operation, Outcome
from redlin.serve.server import start_in_thread
from redlin.testing import (
    Call,
    Component,
    ConcurrencyViolation,
    ConcurrentProgram,
    StateBox,
    canonical,
    check_component,
    judge,
    model_client,
    run_program,
)

INCR_TWICE = "redis.call('INCR', KEYS[1]); return redis.call('INCR', KEYS[1])"


def _watch_and_decrement(r: Any) -> Any:
    def body(pipe: Any) -> None:
        value = int(pipe.get("u:stock") or 0)
        pipe.multi()
        pipe.set("u:stock", value - 1)

    return r.transaction(body, "u:stock")


# Each probe is a function a user might write; the model's client must give what the server gives.
PROBES: list[Callable[[Any], Any]] = [
    lambda r: r.set("u:lock", "me", nx=True, px=60_000),  # True (M: SET NX replies OK)
    lambda r: r.set("u:lock", "you", nx=True),  # None: the nil reply
    lambda r: r.get("u:lock"),
    lambda r: r.incrby("u:n", 5),
    lambda r: r.hset("u:h", mapping={"a": 1, "b": 2}),
    lambda r: r.hgetall("u:h"),  # a dict, through redis-py's response callback
    lambda r: r.lpush("u:lock", "x"),  # WRONGTYPE: a ResponseError
    lambda r: r.evalsha("0" * 40, 0),  # NoScriptError
    lambda r: r.register_script(INCR_TWICE)(keys=["u:c"]),  # NOSCRIPT, SCRIPT LOAD, EVALSHA
    lambda r: r.pipeline().incr("u:p").incr("u:p").get("u:p").execute(),
    lambda r: r.pipeline(transaction=True).set("u:t", 1).lpush("u:t", 2).execute(raise_on_error=False),
    _watch_and_decrement,
    lambda r: r.rpush("u:q", "a", "b") and r.lmove("u:q", "u:w", "LEFT", "RIGHT"),
    lambda r: sorted(r.smembers("u:none")),
    lambda r: r.zadd("u:z", {"m": 1.5}) and r.zrange("u:z", 0, -1, withscores=True),
    lambda r: r.ttl("u:lock") > 0,
]


def _outcomes(r: Any) -> list[Any]:
    results = []
    for probe in PROBES:
        try:
            results.append(canonical(probe(r)))
        except redis.RedisError as error:
            results.append(canonical(error))
    return results


@pytest.mark.redis
@pytest.mark.parametrize("decode", [False, True])
def test_the_model_client_answers_as_a_real_server_does(redis_server: RedisServer, decode: bool) -> None:
    real = redis.Redis.from_url(redis_server.url, protocol=2, decode_responses=decode)
    real.delete(*(f"u:{name}" for name in ("lock", "n", "h", "c", "p", "t", "stock", "q", "w", "z")))
    real.script_flush()  # the model starts with no script cached (our own server: allowed)
    expected = _outcomes(real)
    real.close()
    got = _outcomes(model_client(StateBox(), 1, decode_responses=decode))
    assert got == expected
    assert ("raised", "NoScriptError", "No matching script. Please use EVAL.") in got
    assert any(isinstance(item, tuple) and item[:2] == ("raised", "ResponseError") for item in got)


def test_canonical_forms_make_results_comparable() -> None:
    assert canonical([1, {"a": {2, 1}}]) == canonical((1, {"a": frozenset({1, 2})}))
    assert canonical(redis.ResponseError("WRONGTYPE x")) == ("raised", "ResponseError", "WRONGTYPE x")
    assert hash(canonical({"k": [b"v"]})) is not None


def _counter() -> Component:
    counter = Component("counter", keys=["u:n"])
    counter.add("incr", lambda r: r.incr("u:n"))
    counter.add("read", lambda r: int(r.get("u:n") or 0))
    return counter


def _op(op_id: int, client: int, name: str, result: Any, start: int, end: int | None) -> Operation:
    outcome = Outcome.OK if end is not None else Outcome.INFO
    return Operation(op_id, client, (name, ()), result, invoke=start, complete=end, outcome=outcome)


def test_judging_hand_built_histories() -> None:
    counter = _counter()
    # Two increments that both saw 1: lost update.
    lost = History((_op(0, 0, "incr", 1, 0, 10), _op(1, 1, "incr", 1, 5, 15)))
    verdict = judge(counter, lost, commands={0: [("INCR", "u:n")]})
    assert verdict.verdict == "violation" and verdict.core == (0, 1)
    assert "client 0: incr() -> 1" in verdict.explain() and "INCR u:n" in verdict.explain()
    # A read that saw an increment still in flight: fine, it may have taken effect first.
    overlapping = History((_op(0, 0, "incr", 1, 0, 10), _op(1, 1, "read", 1, 5, 6)))
    assert judge(counter, overlapping, commands={}).verdict == "linearizable"
    # An increment whose connection was lost may have happened or not: both reads are explained.
    unknown = History((_op(0, 0, "incr", None, 0, None), _op(1, 1, "read", 0, 5, 6), _op(2, 1, "read", 1, 7, 8)))
    assert judge(counter, unknown, commands={}).verdict == "linearizable"
    # ...but not a read going back after seeing it.
    back = History((_op(0, 0, "incr", None, 0, None), _op(1, 1, "read", 1, 5, 6), _op(2, 1, "read", 0, 7, 8)))
    assert judge(counter, back, commands={}).verdict == "violation"


def test_a_reference_spec_catches_an_atomic_but_wrong_operation() -> None:
    careless = Component("careless", keys=["u:lock"])
    careless.add("acquire", lambda r, token: bool(r.set("u:lock", token, nx=True)), token=st.just("a"))
    careless.add("release", lambda r, token: bool(r.delete("u:lock")), token=st.just("b"),
                 spec=lambda r, token: r.get("u:lock") == token.encode() and bool(r.delete("u:lock")))
    history = History((
        Operation(0, 0, ("acquire", (("token", "a"),)), True, invoke=0, complete=1),
        Operation(1, 1, ("release", (("token", "b"),)), True, invoke=2, complete=3),
    ))
    verdict = judge(careless, history, commands={})
    assert verdict.verdict == "violation" and 1 in verdict.core
    careless.operations["release"] = careless.operations["release"].__class__(
        "release", careless.operations["release"].function, {}, 1, None)  # without the spec: atomic, so fine
    assert judge(careless, history, commands={}).verdict == "linearizable"


def test_a_recorded_run_is_written_as_it_goes(tmp_path: Path) -> None:
    counter = _counter()
    program = ConcurrentProgram(((Call("incr"), Call("read")), (Call("incr"),)))
    with start_in_thread() as server:
        recorded = run_program(counter, program, server.url, journal=tmp_path / "live.jsonl")
    events = [json.loads(line) for line in (tmp_path / "live.jsonl").read_text().splitlines()]
    assert [event["event"] for event in events].count("invoke") == 3
    assert [event["event"] for event in events].count("ok") == 3
    assert sorted(op.result for op in recorded.history if op.call[0] == "incr") == [1, 2]
    assert all(recorded.commands[op.id] for op in recorded.history)
    assert judge(counter, recorded.history, commands=recorded.commands).verdict == "linearizable"


def test_a_server_that_went_away_leaves_the_calls_indeterminate() -> None:
    counter = _counter()
    with start_in_thread() as server:
        url = server.url
        server.stop()
        with pytest.raises(redis.ConnectionError):
            run_program(counter, ConcurrentProgram(((Call("incr"),),)), url)


def test_the_search_finds_and_shrinks_a_lost_update(tmp_path: Path) -> None:
    racy = Component("racy", keys=["u:n"])

    def incr(r: Any) -> int:
        value = int(r.get("u:n") or 0) + 1
        r.set("u:n", value)
        return value

    racy.add("incr", incr)
    with start_in_thread() as server, pytest.raises(ConcurrencyViolation) as caught:
        check_component(racy, server.url, clients=3, steps=3, max_examples=300, report_dir=tmp_path)
    program = caught.value.program
    # Shrunk towards the two racing calls (a smaller program that does not race in its runs stays
    # bigger), and the minimal core is those two.
    assert program.size <= 4 and len(caught.value.verdict.core) == 2
    assert (tmp_path / "report.html").is_file()


def test_the_search_passes_an_atomic_component() -> None:
    with start_in_thread() as server:
        check_component(_counter(), server.url, clients=3, steps=3, max_examples=20)


def test_declarations_are_checked() -> None:
    component = Component("c")
    with pytest.raises(ValueError, match="declares no operations"):
        component.calls()
    component.add("x", lambda r: None)
    with pytest.raises(ValueError, match="already has an operation named 'x'"):
        component.add("x", lambda r: None)
    with pytest.raises(ValueError, match="weight"):
        component.add("y", lambda r: None, weight=0)


def test_scripts_and_transactions_are_operations_too() -> None:
    bank = Component("bank", keys=["u:a", "u:b"])
    bank.setup(lambda r: r.mset({"u:a": 10, "u:b": 10}))
    bank.script("move", "redis.call('DECRBY', KEYS[1], ARGV[1]); return redis.call('INCRBY', KEYS[2], ARGV[1])",
                keys=["u:a", "u:b"], amount=st.integers(1, 3))
    bank.transaction("total", lambda pipe: pipe.get("u:a").get("u:b"))
    with start_in_thread() as server:
        recorded = run_program(bank, ConcurrentProgram(((Call("move", (("amount", 2),)), Call("total")),
                                                        (Call("total"), Call("move", (("amount", 1),))))),
                               server.url)
        assert judge(bank, recorded.history, commands=recorded.commands).verdict == "linearizable"
        totals = [op.result for op in recorded.history if op.call[0] == "total"]
        assert all(int(a) + int(b) == 20 for a, b in totals)  # type: ignore[misc]
        moves = [op.id for op in recorded.history if op.call[0] == "move"]
        assert all(any(argv[0] == "EVALSHA" for argv in recorded.commands[i]) for i in moves)
        check_component(bank, server.url, clients=2, steps=3, max_examples=10)


def test_a_report_holds_results_that_json_cannot(tmp_path: Path) -> None:
    # A lock's holder is bytes; the report's history file is JSON, and must still be written.
    lock = Component("holder", keys=["u:lock"])
    lock.add("holder", lambda r: r.get("u:lock"))
    history = History((Operation(0, 0, ("holder", ()), b"me", invoke=0, complete=1),))
    verdict = judge(lock, history, commands={}, report_dir=tmp_path)
    assert verdict.verdict == "violation" and (tmp_path / "report.html").is_file()
    assert "b'me'" in (tmp_path / "history.jsonl").read_text()
    assert "holder() -> b'me'" in verdict.explain()
