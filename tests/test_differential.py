"""The model against a real redis-server 7.0, in lockstep (redlin.harness.differential), and the tester
against planted model bugs: a differential tester that cannot find a known bug proves nothing.

Fast: the default lockstep run (well under a minute), the planted bugs, the wire client.
Slow (``-m slow``, CI): a longer lockstep run.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import pytest
from hypothesis import HealthCheck, Phase, settings

import redlin.model as model
from redlin.harness.differential import (
    LockstepMismatch,
    StepFunction,
    canonical,
    lockstep_once,
    make_lockstep_machine,
    run_lockstep,
    show_reply,
)
from redlin.harness.wire import Connection, WireClosed, WireTimeout
from redlin.model import NULL_ARRAY, Error, Reply, State, Status

pytestmark = pytest.mark.redis

Connect = Callable[[], Connection]


@pytest.fixture
def connect(redis_server: object) -> Connect:
    host, port = redis_server.host, redis_server.port  # type: ignore[attr-defined]
    return lambda: Connection(host, port, timeout=10)


def lockstep_settings(examples: int, steps: int = 100, shrink: bool = True) -> settings:
    # Derandomized whatever the profile: the outcome must not depend on the run.
    return settings(
        max_examples=examples, stateful_step_count=steps, derandomize=True, deadline=None,
        print_blob=True, database=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, *([Phase.shrink] if shrink else [])],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# The families the planted bugs live in.  Pinned, so that the planted-bug runs (derandomized) do not
# change as other command families are added to the model.
SCALAR_FAMILIES = frozenset({"strings", "counters", "keys", "expire", "transactions", "connection", "errors"})


# ---------------------------------------------------------------------------- the real model


def test_model_matches_redis_in_lockstep(connect: Connect) -> None:
    run_lockstep(connect, settings=lockstep_settings(examples=250))


@pytest.mark.slow
def test_model_matches_redis_in_lockstep_long(connect: Connect) -> None:
    run_lockstep(connect, settings=lockstep_settings(examples=500, steps=150))  # about 110 s under CI


@pytest.mark.slow
def test_model_matches_redis_with_four_clients_one_key(connect: Connect) -> None:
    # One key and four clients: every write collides with every watch.
    run_lockstep(connect, clients=4, keys=(b"k",), settings=lockstep_settings(examples=300))


def test_fixed_script_replays_transactions(connect: Connect) -> None:
    # A hand-written interleaving of the watch items, as a readable smoke test of the machine.
    lockstep_once(connect, [
        (0, (b"WATCH", b"a")), (1, (b"SET", b"a", b"1")), (0, (b"MULTI",)), (0, (b"INCR", b"a")),
        (2, (b"APPEND", b"a", b"x")), (0, (b"EXEC",)),                                        # W1
        (0, (b"WATCH", b"b")), (0, (b"SET", b"b", b"1")), (0, (b"MULTI",)), (0, (b"EXEC",)),  # W3
        (1, (b"MULTI",)), (1, (b"NOSUCH",)), (1, (b"EXEC",)),                                  # M7
        (2, (b"EXEC", b"x")), (2, (b"SELECT", b"1")), (2, (b"TTL", b"a")), (2, (b"QUIT",)),
        (2, (b"GET", b"a")),
    ])


# ---------------------------------------------------------------------------- planted bugs


def forgets_own_write_dirties_watch(state: State, client: Hashable, argv: Sequence[bytes],
                                    now: int) -> tuple[State, Reply]:
    """Sheet W3 broken: a client's own write before MULTI no longer dirties its own watch."""
    before = state.session(client)
    state, reply = model.step(state, client, argv, now)
    after = state.session(client)
    if not before.dirty_cas and after.dirty_cas and after.multi is None:
        restored = after.replace(dirty_cas=False, watched=before.watched, stale=before.stale)
        state = model.State(state.dbs, state.sessions.set(client, restored), state.scripts)
    return state, reply


def incr_without_overflow_check(state: State, client: Hashable, argv: Sequence[bytes],
                                now: int) -> tuple[State, Reply]:
    """Sheet D6 broken: INCR/DECR/INCRBY/DECRBY go past 2^63-1 / -2^63 instead of refusing."""
    new_state, reply = model.step(state, client, argv, now)
    name = argv[0].lower()
    if reply == Error("ERR increment or decrement would overflow") and name in INCREMENTS:
        ctx = model.Context(state, client, now)
        value = int(ctx.read(argv[1]) or b"0") + INCREMENTS[name](argv)  # type: ignore[call-overload]
        ctx.write(argv[1], b"%d" % value)
        return ctx.commit(), value
    return new_state, reply


INCREMENTS: dict[bytes, Callable[[Sequence[bytes]], int]] = {
    b"incr": lambda argv: 1, b"decr": lambda argv: -1,
    b"incrby": lambda argv: int(argv[2]), b"decrby": lambda argv: -int(argv[2]),
}


def touches_missing_keys_on_del(state: State, client: Hashable, argv: Sequence[bytes],
                                now: int) -> tuple[State, Reply]:
    """Sheet W5 broken: DEL (and UNLINK, which shares its code) of a missing watched key marks its
    watchers dirty."""
    new_state, reply = model.step(state, client, argv, now)
    if argv[0].lower() in (b"del", b"unlink") and state.session(client).multi is None and type(reply) is int:
        ctx = model.Context(new_state, client, now)
        for key in argv[1:]:
            ctx.touch(key)
        return ctx.commit(), reply
    return new_state, reply


@pytest.mark.parametrize(("broken", "item"), [
    (forgets_own_write_dirties_watch, "W3"),
    (incr_without_overflow_check, "D6"),
    (touches_missing_keys_on_del, "W5"),
])
def test_planted_bug_is_found(connect: Connect, broken: StepFunction, item: str) -> None:
    # Detection is what matters here: no shrinking (it would only make the report shorter).
    with pytest.raises(LockstepMismatch) as failure:
        run_lockstep(connect, step=broken, families=SCALAR_FAMILIES,
                     settings=lockstep_settings(examples=300, shrink=False))
    report = str(failure.value)
    # The report names the step, the client, the command and both replies.
    assert "step " in report and "client " in report
    assert "model : " in report and "server: " in report, report


def test_planted_bug_report_reads_well(connect: Connect) -> None:
    with pytest.raises(LockstepMismatch) as failure:
        lockstep_once(connect, [
            (0, (b"WATCH", b"k")), (0, (b"SET", b"k", b"1")), (0, (b"MULTI",)), (0, (b"EXEC",)),
        ], step=forgets_own_write_dirties_watch)
    assert str(failure.value).startswith("step 4: client 0 sent EXEC: different replies\n"
                                         "  model : []\n  server: *-1\n"), str(failure.value)


def test_a_server_that_drops_the_connection_is_reported(connect: Connect) -> None:
    machine = make_lockstep_machine(connect)()
    try:
        machine.connections[1].close()  # type: ignore[attr-defined]
        with pytest.raises(LockstepMismatch, match="client 1 sent GET a: the server failed"):
            machine.lockstep(1, (b"GET", b"a"))  # type: ignore[attr-defined]
    finally:
        machine.teardown()


# ---------------------------------------------------------------------------- comparing replies


def test_canonical_sorts_unordered_replies_and_ttl_classes() -> None:
    assert canonical((b"TTL", b"k"), 1234) == canonical((b"TTL", b"k"), 5)
    assert canonical((b"TTL", b"k"), -1) != canonical((b"TTL", b"k"), -2)
    assert canonical((b"EXEC",), (7, 1), [(b"PTTL", b"k"), (b"INCR", b"k")]) == \
        canonical((b"EXEC",), (9, 1), [(b"PTTL", b"k"), (b"INCR", b"k")])
    assert canonical((b"GET", b"k"), b"a") != canonical((b"GET", b"k"), b"b")
    if model.lookup((b"SMEMBERS",)) is not None:
        assert canonical((b"SMEMBERS", b"s"), (b"b", b"a")) == canonical((b"SMEMBERS", b"s"), (b"a", b"b"))


def test_show_reply() -> None:
    assert show_reply((Status("OK"), Error("ERR x"), 3, b"a b", b"", None, NULL_ARRAY, ())) == \
        '[+OK, -ERR x, :3, "a b", "", $-1, *-1, []]'


# ---------------------------------------------------------------------------- the wire client


def test_wire_round_trips_every_reply_kind_exactly(connect: Connect) -> None:
    with connect() as conn:
        assert conn.execute("FLUSHALL") == Status("OK")
        assert conn.execute("PING") == Status("PONG")
        assert conn.execute("SET", "k", "OK") == Status("OK")
        assert conn.execute("GET", "k") == b"OK"  # a bulk string, not a status
        assert conn.execute("INCR", "k") == Error("ERR value is not an integer or out of range")
        assert conn.execute("LPUSH", "k", "x") == \
            Error("WRONGTYPE Operation against a key holding the wrong kind of value")
        assert conn.execute("INCR", "n") == 1
        assert conn.execute("SET", "bin", b"\x00\r\n\xff") == Status("OK")
        assert conn.execute("GET", "bin") == b"\x00\r\n\xff"
        assert conn.execute("SET", "empty", "") == Status("OK")
        assert conn.execute("GET", "empty") == b""
        assert conn.execute("GET", "missing") is None
        assert conn.execute("MGET", "k", "missing") == (b"OK", None)
        assert conn.execute("LPOP", "missing", "2") is NULL_ARRAY
        assert conn.execute("MULTI") == Status("OK")
        assert conn.execute("GET", "k") == Status("QUEUED")
        assert conn.execute("EXEC") == (b"OK",)
        assert conn.execute("MULTI") == Status("OK")
        assert conn.execute("EXEC") == ()
        assert conn.pipeline([("INCR", "n"), ("INCR", "n"), ("GET", "n")]) == [2, 3, b"3"]
        assert conn.execute("NOSUCH") == Error("ERR unknown command 'NOSUCH', with args beginning with: ")


def test_wire_errors(connect: Connect, redis_server: object) -> None:
    conn = connect()
    assert conn.execute("QUIT") == Status("OK")
    with pytest.raises(WireClosed):
        conn.execute("PING")
    conn.close()
    with pytest.raises(WireClosed):
        conn.execute("PING")
    slow = Connection(redis_server.host, redis_server.port, timeout=0.2)  # type: ignore[attr-defined]
    with pytest.raises(WireTimeout):
        slow.execute("BLPOP", "never", "5")
    assert slow.closed
    with pytest.raises(WireClosed):
        Connection("127.0.0.1", 1, timeout=1)


def test_wire_pipelining_with_send_and_receive(connect: Connect) -> None:
    with connect() as conn:
        assert conn.send_many([("SET", "p", "1"), ("INCR", "p")]) == 2
        assert conn.pending == 2
        assert conn.receive() == Status("OK")
        assert conn.receive() == 2
        assert conn.pending == 0

