"""A wrong reply with no race in it is reported as a sequential conformance finding (issue #12): the
command, the reply Redis gives, the reply the server gave, and their RESP types when they differ,
not "no valid order".

Replies as Redis 7.0 sends them (sheet D1: SET answers the simple string OK, GET a bulk string or
nil; M1: EXEC's array holds the queued commands' replies, in order; D15: ZSCORE replies %.17g).
"""

from __future__ import annotations

import json

import pytest

from redlin import History, Operation, check
from redlin.adapter.redis_model import describe_reply, redis_model
from redlin.explain.anomalies import WRONG_REPLY, anomaly_from_json, anomaly_json
from redlin.explain.conformance import resp_type, typed
from redlin.explain.recognise import classify
from redlin.model import NULL_ARRAY, Error, Status
from redlin.search.minimise import minimise
from redlin.search.result import Violation


def _explain(*ops: Operation) -> tuple[str | None, str, str]:
    history = History(ops, {})
    model = redis_model()
    result = check(history, model)
    assert isinstance(result, Violation)
    core = minimise(history, model, result, time_limit=10)
    explanation = classify(history, model, result, core)
    anomaly = explanation.anomalies[0]
    assert anomaly_from_json(json.loads(json.dumps(anomaly_json(anomaly)))) == anomaly
    return explanation.kind, anomaly.claim, explanation.lines[0]


def test_a_bulk_string_where_redis_sends_a_simple_string() -> None:
    kind, claim, text = _explain(Operation(0, 1, ((b"SET", b"k", b"v"),), (b"OK",), 0, 10),
                                 Operation(1, 2, ((b"INCR", b"c"),), (1,), 0, 20))
    assert (kind, claim) == (WRONG_REPLY, "conformance/alone")
    assert 'got bulk string "OK"' in text and "Redis replies simple string OK" in text and "No race" in text


def test_a_reply_wrong_only_after_the_clients_own_earlier_command() -> None:
    """RPUSH k a b then LRANGE k 0 -1 answered [b, a]: the values pushed in the wrong order."""
    kind, claim, text = _explain(Operation(0, 1, ((b"RPUSH", b"k", b"a", b"b"),), (2,), 0, 10),
                                 Operation(1, 1, ((b"LRANGE", b"k", b"0", b"-1"),), ((b"b", b"a"),), 20, 30),
                                 Operation(2, 2, ((b"INCR", b"c"),), (1,), 0, 40))
    assert kind == WRONG_REPLY, text
    assert "LRANGE k 0 -1" in text and '["b", "a"]' in text


def test_a_wrong_reply_inside_exec_names_the_queued_command() -> None:
    kind, _, text = _explain(Operation(0, 1, ((b"MULTI",), (b"INCRBY", b"n", b"5"), (b"EXEC",)),
                                       (Status("OK"), Status("QUEUED"), (b"5",)), 0, 10))
    assert kind == WRONG_REPLY and "INCRBY n 5" in text and 'bulk string "5"' in text and "(integer) 5" in text


def test_a_race_is_not_called_a_conformance_finding() -> None:
    """Two clients' INCRs that both answered 1: a lost update needs both, so it is not sequential."""
    kind, _, _ = _explain(Operation(0, 1, ((b"INCR", b"c"),), (1,), 0, 10),
                          Operation(1, 2, ((b"INCR", b"c"),), (1,), 5, 15),
                          Operation(2, 3, ((b"GET", b"c"),), (b"1",), 20, 30))
    assert kind != WRONG_REPLY


@pytest.mark.parametrize(("reply", "name"), [(Status("OK"), "simple string"), (b"OK", "bulk string"), (3, "integer"),
                                             (None, "null bulk string"), (NULL_ARRAY, "null array"),
                                             (Error("ERR x"), "error"), ((b"a",), "array")])
def test_resp_types_are_named(reply: object, name: str) -> None:
    assert resp_type(reply) == name  # type: ignore[arg-type]
    assert typed(reply, reply) == describe_reply(reply)  # type: ignore[arg-type]  # same type: not named
