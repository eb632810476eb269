"""Commands whose reply the server chooses (SPOP SRANDMEMBER HRANDFIELD ZRANDMEMBER RANDOMKEY):
the model follows the observed reply when Redis could have sent it, rejects one it could not,
and the checker stays exact (issue #18; sheet items D14 and M17 for the set and transaction
semantics these build on).

The probes run on a live redis-server of our own: each reply the server sends is given to the
model as the observation, and the model must give exactly that reply (the deterministic corners:
errors, empty and missing keys, counts) and end in the same data (SMEMBERS, HGETALL after the pops).
"""

from __future__ import annotations

import shlex

import pytest
from conftest import RedisServer
from redis_histories import OK, QUEUED, HistoryBuilder

from redlin import Outcome, check
from redlin.adapter.redis_model import redis_model
from redlin.harness.wire import Connection
from redlin.model import (
    INITIAL_STATE,
    UNSEEN,
    Error,
    HiddenChoice,
    Redis,
    SetReply,
    State,
    sort_unordered,
    step,
)

MODEL = redis_model()

PROBES = """
SADD s a b c d e f g h 1 2 3
SPOP s
SPOP s 2
SPOP s 0
SPOP s -1
SPOP s x
SPOP s 1 2
SRANDMEMBER s
SRANDMEMBER s 3
SRANDMEMBER s -5
SRANDMEMBER s 100
SRANDMEMBER s 0
SRANDMEMBER s -9223372036854775808
SRANDMEMBER s 1 2
SRANDMEMBER nos
SRANDMEMBER nos 3
SPOP nos
SPOP nos 3
SMEMBERS s
SPOP s 100
EXISTS s
HSET h f1 v1 f2 v2 f3 v3
HRANDFIELD h
HRANDFIELD h 2
HRANDFIELD h -4 WITHVALUES
HRANDFIELD h 5 WITHVALUES
HRANDFIELD h 0 WITHVALUES
HRANDFIELD h 1 WITHSCORES
HRANDFIELD h 4611686018427387904 WITHVALUES
HRANDFIELD h -4611686018427387904 WITHVALUES
HRANDFIELD h 1 WITHVALUES x
HRANDFIELD noh
HRANDFIELD noh 2 WITHVALUES
ZADD z 1 a 2.5 b -inf c 3 d
ZRANDMEMBER z
ZRANDMEMBER z 3 WITHSCORES
ZRANDMEMBER z -6 WITHSCORES
ZRANDMEMBER z 2
ZRANDMEMBER z x
ZRANDMEMBER noz 1
SET str v
SPOP str
SRANDMEMBER str 2
HRANDFIELD str
ZRANDMEMBER str 1 WITHSCORES
RANDOMKEY
MULTI
SADD t x y z
SPOP t 2
SRANDMEMBER t -2
EXEC
SMEMBERS t
SELECT 9
RANDOMKEY
SELECT 0
"""


@pytest.mark.redis
def test_the_model_follows_every_reply_redis_chose(redis_server: RedisServer) -> None:
    connection = Connection(redis_server.host, redis_server.port)
    connection.execute(b"FLUSHALL")
    state: State = INITIAL_STATE
    for line in PROBES.strip().splitlines():
        argv = tuple(word.encode() for word in shlex.split(line))
        got = connection.execute(*argv)
        state, reply = step(state, 1, argv, observed=got)
        if argv[0] in (b"SMEMBERS",):
            reply, got = sort_unordered(reply), sort_unordered(got)
        assert reply == got, f"{line}: model {reply!r}, redis {got!r}"
    connection.execute(b"FLUSHALL")
    connection.close()


def _state(*commands: tuple[str, ...]) -> State:
    state = INITIAL_STATE
    for command in commands:
        state, _ = step(state, 1, [word.encode() for word in command])
    return state


def test_a_reply_no_choice_explains_is_rejected() -> None:
    state = _state(("SADD", "s", "a", "b", "c"), ("HSET", "h", "f", "v"), ("ZADD", "z", "1", "m"))
    cases = [
        ((b"SPOP", b"s"), b"x"),                          # not a member
        ((b"SPOP", b"s", b"2"), (b"a", b"a")),            # SPOP never repeats
        ((b"SPOP", b"s", b"2"), (b"a",)),                 # too few
        ((b"SPOP", b"s", b"5"), (b"a", b"b")),            # all three must go
        ((b"SRANDMEMBER", b"s", b"2"), (b"a", b"a")),     # a positive count is distinct
        ((b"SRANDMEMBER", b"s", b"-2"), (b"a",)),         # a negative count is exact
        ((b"HRANDFIELD", b"h", b"1", b"WITHVALUES"), (b"f", b"other")),  # the value must be the field's
        ((b"ZRANDMEMBER", b"z", b"1", b"WITHSCORES"), (b"m", b"2")),     # the score must be the member's
        ((b"SRANDMEMBER", b"s"), None),                   # the set is not empty
        ((b"RANDOMKEY",), b"nosuchkey"),
    ]
    for argv, observed in cases:
        _, reply = step(state, 1, argv, observed=observed)
        assert reply != observed, argv


def test_the_state_follows_the_choice() -> None:
    state = _state(("SADD", "s", "a", "b", "c"))
    state, reply = step(state, 1, [b"SPOP", b"s", b"2"], observed=(b"c", b"a"))
    assert reply == (b"c", b"a")  # in the order Redis sent them
    assert step(state, 1, [b"SMEMBERS", b"s"])[1] == (b"b",)
    # Repetition is allowed for a negative count, even beyond the set's size.
    assert step(state, 1, [b"SRANDMEMBER", b"s", b"-3"], observed=(b"b",) * 3)[1] == (b"b",) * 3


def test_resp3_shapes_are_read_as_choices() -> None:
    state = _state(("SADD", "s", "a", "b"), ("HSET", "h", "f", "v", "g", "w"))
    _, reply = step(state, 1, [b"SPOP", b"s", b"1"], observed=SetReply((b"b",)))
    assert reply == (b"b",)
    _, reply = step(state, 1, [b"HRANDFIELD", b"h", b"2", b"WITHVALUES"], observed=((b"g", b"w"), (b"f", b"v")))
    assert reply == (b"g", b"w", b"f", b"v")


def test_sequential_use_picks_valid_members() -> None:
    client = Redis().client(1)
    client.execute("SADD", "s", *"abcdefgh")
    picked = client.execute("SRANDMEMBER", "s", 5)
    assert len(set(picked)) == 5 and set(picked) <= {bytes([c]) for c in b"abcdefgh"}
    assert len(client.execute("SRANDMEMBER", "s", -20)) == 20
    popped = client.execute("SPOP", "s", 3)
    assert client.execute("SCARD", "s") == 5 and not set(popped) & set(client.execute("SMEMBERS", "s"))
    assert client.execute("RANDOMKEY") == b"s"


def test_the_salt_varies_sequential_draws_within_one_millisecond() -> None:
    """The embedded server numbers its commands: Redis's tests fire hundreds of SRANDMEMBERs a
    millisecond and count how often each member comes back."""
    state = _state(("SADD", "s", *"abcdefghij"))
    same = {step(state, 1, [b"SRANDMEMBER", b"s"], now=5)[1] for _ in range(20)}
    salted = {step(state, 1, [b"SRANDMEMBER", b"s"], now=5, salt=salt)[1] for salt in range(200)}
    assert len(same) == 1  # a step is a pure function of its inputs
    assert salted == {bytes([c]) for c in b"abcdefghij"}


def test_a_choice_the_checker_cannot_see_raises() -> None:
    state = _state(("SADD", "s", "a", "b"))
    with pytest.raises(HiddenChoice):
        step(state, 1, [b"SPOP", b"s"], observed=UNSEEN)
    script = [b"EVAL", b"return redis.call('SPOP', KEYS[1])", b"1", b"s"]
    with pytest.raises(HiddenChoice):
        step(state, 1, script, observed=b"a")
    # Sequential use of the same script chooses by itself.
    assert step(state, 1, script)[1] in (b"a", b"b")


# ----------------------------------------------------------------------------- the checker


def test_two_clients_cannot_pop_the_same_member() -> None:
    h = HistoryBuilder()
    h.op(0, 0, 1, ("SADD", "s", "a", "b"), 2)
    h.op(1, 2, 5, ("SPOP", "s"), b"a")
    h.op(2, 2, 5, ("SPOP", "s"), b"a")
    assert check(h.history(), MODEL, time_limit=10).verdict == "violation"


def test_concurrent_pops_of_different_members_are_linearizable() -> None:
    h = HistoryBuilder()
    h.op(0, 0, 1, ("SADD", "s", "a", "b", "c"), 3)
    h.op(1, 2, 5, ("SPOP", "s", "2"), (b"c", b"a"))
    h.op(2, 2, 5, ("SPOP", "s"), b"b")
    h.op(1, 6, 7, ("SRANDMEMBER", "s", "-2"), ())
    h.op(2, 6, 7, ("EXISTS", "s"), 0)
    assert check(h.history(), MODEL, time_limit=10).verdict == "linearizable"


def test_a_pop_inside_exec_is_followed() -> None:
    h = HistoryBuilder()
    h.op(0, 0, 1, ("SADD", "s", "a", "b"), 2)
    h.op(1, 2, 3, ("MULTI",), OK, ("SPOP", "s"), QUEUED, ("SMEMBERS", "s"), QUEUED, ("EXEC",), (b"b", (b"a",)))
    assert check(h.history(), MODEL, time_limit=10).verdict == "linearizable"
    wrong = HistoryBuilder()
    wrong.op(0, 0, 1, ("SADD", "s", "a", "b"), 2)
    wrong.op(1, 2, 3, ("MULTI",), OK, ("SPOP", "s"), QUEUED, ("SMEMBERS", "s"), QUEUED, ("EXEC",), (b"b", (b"b",)))
    assert check(wrong.history(), MODEL, time_limit=10).verdict == "violation"


def test_a_random_read_of_a_stale_member_is_a_violation() -> None:
    h = HistoryBuilder()
    h.op(0, 0, 1, ("HSET", "h", "f", "1"), 1)
    h.op(0, 2, 3, ("HDEL", "h", "f"), 1)
    h.op(0, 4, 5, ("HSET", "h", "g", "2"), 1)
    h.op(1, 6, 7, ("HRANDFIELD", "h", "1", "WITHVALUES"), (b"f", b"1"))
    assert check(h.history(), MODEL, time_limit=10).verdict == "violation"


def test_an_unseen_choice_makes_the_verdict_unknown_not_wrong() -> None:
    h = HistoryBuilder()
    h.op(0, 0, 1, ("SADD", "s", "a", "b"), 2)
    h.op(1, 2, None, ("SPOP", "s"), outcome=Outcome.INFO)
    h.op(2, 4, 5, ("SCARD", "s"), 1)
    result = check(h.history(), MODEL, time_limit=10)
    assert result.verdict == "unknown" and "SPOP" in str(result)
    scripted = HistoryBuilder()
    scripted.op(0, 0, 1, ("SADD", "s", "a", "b"), 2)
    scripted.op(1, 2, 3, ("EVAL", "return redis.call('SPOP', KEYS[1])", "1", "s"), b"a")
    assert check(scripted.history(), MODEL, time_limit=10).verdict == "unknown"


def test_errors_are_redis_texts() -> None:
    state = _state(("SADD", "s", "a"))
    assert step(state, 1, [b"SPOP", b"s", b"-1"])[1] == Error("ERR value is out of range, must be positive")
    assert step(state, 1, [b"HRANDFIELD", b"s", b"4611686018427387904", b"WITHVALUES"])[1] == Error(
        "ERR value is out of range")
