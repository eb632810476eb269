"""Active expiry (:func:`redlin.model._expiry.active_expire`): what the embedded server does between
commands, checked against what lazy expiry does in a step (sheet W10, W11)."""

from __future__ import annotations

from redlin.model import NULL_ARRAY, Status, step
from redlin.model._expiry import active_expire
from redlin.model._state import INITIAL_STATE, State


def run(state: State, client: int, *words: str, now: int) -> tuple[State, object]:
    return step(state, client, [word.encode() for word in words], now=now)


def test_due_keys_go_in_every_database_and_others_stay() -> None:
    state, _ = run(INITIAL_STATE, 1, "SET", "a", "1", "PX", "100", now=0)
    state, _ = run(state, 1, "SET", "b", "1", "PX", "500", now=0)
    state, _ = run(state, 1, "SET", "c", "1", now=0)
    state, _ = run(state, 2, "SELECT", "3", now=0)
    state, _ = run(state, 2, "SET", "d", "1", "PX", "50", now=0)
    assert [len(keyspace) for keyspace in state.dbs[:4]] == [3, 0, 0, 1]
    after = active_expire(state, now=200)
    assert [len(keyspace) for keyspace in after.dbs[:4]] == [2, 0, 0, 0]
    assert run(after, 1, "PTTL", "b", now=200)[1] == 300
    assert after.sessions == state.sessions  # the deletions belong to no connection


def test_nothing_due_is_the_same_state() -> None:
    state, _ = run(INITIAL_STATE, 1, "SET", "a", "1", "PX", "100", now=0)
    assert active_expire(state, now=99) is state
    assert active_expire(INITIAL_STATE, now=10**12) is INITIAL_STATE


def test_a_key_watched_alive_and_expired_actively_fails_the_exec() -> None:
    """W10: the same outcome as the lazy expiry in the sheet's example."""
    state, _ = run(INITIAL_STATE, 1, "SET", "k", "1", "PX", "100", now=0)
    state, _ = run(state, 1, "WATCH", "k", now=10)
    state = active_expire(state, now=250)
    assert run(state, 2, "DBSIZE", now=250)[1] == 0
    state, _ = run(state, 1, "MULTI", now=260)
    state, _ = run(state, 1, "PING", now=260)
    assert run(state, 1, "EXEC", now=260)[1] is NULL_ARRAY


def test_a_key_watched_already_expired_does_not_fail_the_exec() -> None:
    """W11: its later deletion, active here, is not a change."""
    state, _ = run(INITIAL_STATE, 1, "SET", "k", "1", "PX", "100", now=0)
    state, _ = run(state, 1, "WATCH", "k", now=150)
    state = active_expire(state, now=250)
    state, _ = run(state, 1, "MULTI", now=260)
    state, _ = run(state, 1, "PING", now=260)
    assert run(state, 1, "EXEC", now=260)[1] == (Status("PONG"),)
