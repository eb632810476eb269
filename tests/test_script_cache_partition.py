"""The script cache in the partition, and long arguments kept once (issue #15: a recorded million-operation history).

An EVAL only fills the cache entry of its body, the same whatever the order, and no reply depends on
it: EVALs of one body on different keys are independent parts, as their keys are, unless some
operation reads the entry (EVALSHA, SCRIPT EXISTS), which ties them together again (sheet E21:
EVAL caches its body; SCRIPT EXISTS reads the cache).  The verdicts stay the check's: a NOSCRIPT
(E20) that an earlier EVAL makes impossible is still a violation (here the EVAL completed before
the EVALSHA began).  Loading keeps a body sent
a thousand times once.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from redlin import History, Operation, check, load_history, redis_model
from redlin.model import Error

BODY = b"return redis.call('INCR', KEYS[1])"
SHA = hashlib.sha1(BODY).hexdigest().encode()


def _op(index: int, argv: tuple[bytes, ...], result: object, invoke: int, complete: int) -> Operation:
    return Operation(index, index, (argv,), (result,), invoke=invoke, complete=complete)


def _parts(ops: list[Operation]) -> list[list[int]]:
    model = redis_model()
    assert model.partition is not None
    return sorted(sorted(op.id for op in part) for part in model.partition(ops))


def test_evals_of_one_body_on_different_keys_are_separate_parts() -> None:
    ops = [_op(0, (b"EVAL", BODY, b"1", b"k1"), 1, 0, 10), _op(1, (b"EVAL", BODY, b"1", b"k2"), 1, 1, 11),
           _op(2, (b"GET", b"k1"), b"1", 12, 13)]
    assert _parts(ops) == [[0, 2], [1]]
    assert check(History(tuple(ops)), redis_model()).verdict == "linearizable"


def test_an_evalsha_of_the_body_ties_them_together() -> None:
    ops = [_op(0, (b"EVAL", BODY, b"1", b"k1"), 1, 0, 10), _op(1, (b"EVAL", BODY, b"1", b"k2"), 1, 1, 11),
           _op(2, (b"EVALSHA", SHA, b"1", b"k3"), 1, 12, 13)]
    assert _parts(ops) == [[0, 1, 2]]
    assert check(History(tuple(ops)), redis_model()).verdict == "linearizable"


def test_noscript_after_a_completed_eval_is_still_a_violation() -> None:
    noscript = Error("NOSCRIPT No matching script. Please use EVAL.")
    ops = [_op(0, (b"EVAL", BODY, b"1", b"k1"), 1, 0, 10), _op(1, (b"EVALSHA", SHA, b"1", b"k2"), noscript, 12, 13)]
    assert check(History(tuple(ops)), redis_model()).verdict == "violation"
    before = [_op(0, (b"EVAL", BODY, b"1", b"k1"), 1, 12, 20), _op(1, (b"EVALSHA", SHA, b"1", b"k2"), noscript, 0, 10)]
    assert check(History(tuple(before)), redis_model()).verdict == "linearizable"  # the EVALSHA came first


def test_a_long_argument_sent_many_times_is_loaded_once(tmp_path: Path) -> None:
    body = "return 1 -- " + "x" * 400
    path = tmp_path / "h.jsonl"
    lines = [json.dumps({"event": "meta", "model": "redis", "format": "redlin-history", "version": 1})]
    for n in range(50):
        lines.append(json.dumps({"event": "invoke", "op": n, "client": n % 3, "time": 2 * n,
                                 "call": [["EVAL", body, "0"]]}))
        lines.append(json.dumps({"event": "ok", "op": n, "time": 2 * n + 1, "result": [1]}))
    path.write_text("\n".join(lines) + "\n")
    history = load_history(path)
    bodies = {id(op.call[0][1]) for op in history}
    assert len(bodies) == 1 and history[7].call[0][1] == body.encode()
    assert check(history, redis_model()).verdict == "linearizable"


def test_names_keys_and_short_replies_are_loaded_once(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    lines = [json.dumps({"event": "meta", "model": "redis", "format": "redlin-history", "version": 1})]
    steps: list[tuple[list[str], object]] = []
    for count in range(1, 11):
        steps += [(["INCR", "k"], count), (["GET", "k"], str(count)), (["GET", "k"], str(count)), (["EXISTS", "x"], 0)]
    for n, (argv, reply) in enumerate(steps):
        lines.append(json.dumps({"event": "invoke", "op": n, "client": 0, "time": 2 * n, "call": [argv]}))
        lines.append(json.dumps({"event": "ok", "op": n, "time": 2 * n + 1, "result": [reply]}))
    path.write_text("\n".join(lines) + "\n")
    history = load_history(path)
    assert history[0].call[0][1] is history[1].call[0][1] is history[38].call[0][1] == b"k"
    assert history[1].call[0][0] is history[5].call[0][0] == b"GET"
    # two reads of one value, one result (a command's first line is read the long way: from the second)
    assert history[5].result is history[6].result == (b"2",)
    assert history[7].result is history[11].result == (0,)
    assert [op.result for op in history][:4] == [(1,), (b"1",), (b"1",), (0,)]
    assert check(history, redis_model()).verdict == "linearizable"
