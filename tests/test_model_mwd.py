"""The model against the verified sheet (/work/shared/redis-semantics.md), items M, W and D.

One test per item; the test name carries the item id.  Replies are the sheet's, exactly: these are
what a live redis-server 7.0.15 answered.  Fast, no server needed.
"""

from __future__ import annotations

import pytest

import redlin.model as model
from redlin.model import NULL_ARRAY, Client, Error, Redis, Reply, Status

OK = Status("OK")
QUEUED = Status("QUEUED")
PONG = Status("PONG")
EXECABORT = Error("EXECABORT Transaction discarded because of previous errors.")
WRONGTYPE = Error("WRONGTYPE Operation against a key holding the wrong kind of value")
NOT_INTEGER = Error("ERR value is not an integer or out of range")
SYNTAX = Error("ERR syntax error")


def arity(name: str) -> Error:
    return Error(f"ERR wrong number of arguments for '{name}' command")


def clients(count: int = 2) -> tuple[Redis, list[Client]]:
    m = Redis()
    return m, [m.client() for _ in range(count)]


def transaction(client: Client, *commands: tuple[str, ...]) -> Reply:
    """MULTI, the commands (each must be QUEUED), EXEC; returns EXEC's reply."""
    assert client.execute("MULTI") == OK
    for command in commands:
        assert client.execute(*command) == QUEUED, command
    return client.execute("EXEC")


def watched_exec(a: Client, b: Client, key: str, *touch: tuple[str, ...], setup: tuple[tuple[str, ...], ...] = (),
                 ) -> Reply:
    """``setup`` by b, a WATCHes ``key``, b runs ``touch``, a runs MULTI PING EXEC: its reply."""
    for command in setup:
        b.execute(*command)
    assert a.execute("WATCH", key) == OK
    for command in touch:
        b.execute(*command)
    return transaction(a, ("PING",))


def needs(*names: str) -> None:
    missing = [name for name in names if model.lookup((name.encode(),)) is None]
    if missing:
        pytest.skip(f"the model does not have {', '.join(missing)} yet")


# ---------------------------------------------------------------------------- M: MULTI / EXEC / DISCARD


def test_M1_exec_returns_queued_replies_in_order() -> None:
    _, (a, _b) = clients()
    assert a.execute("MULTI") == OK
    assert a.execute("SET", "k", "v") == QUEUED
    assert a.execute("GET", "k") == QUEUED
    assert a.execute("INCR", "n") == QUEUED
    assert a.execute("EXEC") == (OK, b"v", 1)


def test_M2_empty_transaction_is_empty_array() -> None:
    _, (a, _b) = clients()
    assert a.execute("MULTI") == OK
    assert a.execute("EXEC") == ()


def test_M3_nested_multi_is_an_error_that_does_not_abort() -> None:
    _, (a, _b) = clients()
    assert a.execute("MULTI") == OK
    assert a.execute("SET", "k", "1") == QUEUED
    assert a.execute("MULTI") == Error("ERR MULTI calls can not be nested")
    assert a.execute("EXEC") == (OK,)
    assert a.execute("GET", "k") == b"1"


def test_M4_exec_without_multi() -> None:
    _, (a, _b) = clients()
    assert a.execute("EXEC") == Error("ERR EXEC without MULTI")


def test_M5_discard_without_multi() -> None:
    _, (a, _b) = clients()
    assert a.execute("DISCARD") == Error("ERR DISCARD without MULTI")


def test_M6_discard_drops_the_queue_and_leaves_multi() -> None:
    _, (a, _b) = clients()
    assert a.execute("MULTI") == OK
    assert a.execute("SET", "k", "v") == QUEUED
    assert a.execute("DISCARD") == OK
    assert a.execute("GET", "k") is None
    assert a.execute("EXEC") == Error("ERR EXEC without MULTI")


def test_M7_unknown_command_aborts_exec() -> None:
    _, (a, b) = clients()
    assert a.execute("MULTI") == OK
    assert a.execute("foo", "bar") == Error("ERR unknown command 'foo', with args beginning with: 'bar' ")
    assert a.execute("foo") == Error("ERR unknown command 'foo', with args beginning with: ")
    assert a.execute("SET", "k", "v") == QUEUED
    assert a.execute("EXEC") == EXECABORT
    assert b.execute("GET", "k") is None


def test_M8_wrong_arity_aborts_exec() -> None:
    _, (a, b) = clients()
    assert a.execute("MULTI") == OK
    assert a.execute("SET", "k") == arity("set")
    assert a.execute("SET", "k", "v") == QUEUED
    assert a.execute("EXEC") == EXECABORT
    assert b.execute("GET", "k") is None


def test_M9_after_execabort_the_connection_is_out_of_multi() -> None:
    _, (a, _b) = clients()
    assert a.execute("MULTI") == OK
    assert a.execute("nosuch") == Error("ERR unknown command 'nosuch', with args beginning with: ")
    assert a.execute("EXEC") == EXECABORT
    assert a.execute("PING") == PONG
    assert a.execute("EXEC") == Error("ERR EXEC without MULTI")


def test_M10_runtime_errors_neither_abort_nor_roll_back() -> None:
    needs("lpush")
    _, (a, b) = clients()
    assert a.execute("SET", "s", "v") == OK
    assert transaction(a, ("SET", "t", "1"), ("INCR", "s"), ("LPUSH", "s", "x"), ("INCR", "t")) == \
        (OK, NOT_INTEGER, WRONGTYPE, 2)
    assert b.execute("GET", "t") == b"2"
    assert b.execute("GET", "s") == b"v"


def test_M11_syntax_is_checked_at_run_time() -> None:
    _, (a, _b) = clients()
    assert transaction(a, ("SET", "k", "v", "BAD"), ("SET", "j", "1")) == (SYNTAX, OK)
    assert a.execute("GET", "k") is None
    assert a.execute("GET", "j") == b"1"


def test_M12_watch_inside_multi_is_an_error_that_does_not_abort() -> None:
    _, (a, _b) = clients()
    assert a.execute("MULTI") == OK
    assert a.execute("WATCH", "k") == Error("ERR WATCH inside MULTI is not allowed")
    assert a.execute("SET", "k", "1") == QUEUED
    assert a.execute("EXEC") == (OK,)


@pytest.mark.parametrize("command", [("SAVE",), ("SHUTDOWN",), ("SYNC",), ("PSYNC", "?", "-1")])
def test_M13_no_multi_commands_abort(command: tuple[str, ...]) -> None:
    _, (a, b) = clients()
    assert a.execute("MULTI") == OK
    assert a.execute("SET", "k", "v") == QUEUED
    assert a.execute(*command) == Error("ERR Command not allowed inside a transaction")
    assert a.execute("EXEC") == EXECABORT
    assert b.execute("GET", "k") is None


def test_M14_unwatch_inside_multi_is_queued() -> None:
    _, (a, _b) = clients()
    assert transaction(a, ("UNWATCH",)) == (OK,)


def test_M15_blocking_commands_inside_multi_do_not_block() -> None:
    needs("blpop", "brpop")
    _, (a, _b) = clients()
    assert transaction(a, ("BLPOP", "empty", "0"), ("BRPOP", "empty", "0")) == (NULL_ARRAY, NULL_ARRAY)


def test_M16_select_inside_multi_applies_to_later_commands_and_stays() -> None:
    _, (a, b) = clients()
    assert transaction(a, ("SELECT", "1"), ("SET", "k", "v")) == (OK, OK)
    assert a.execute("GET", "k") == b"v"  # still DB 1
    assert b.execute("GET", "k") is None  # DB 0
    assert b.execute("SELECT", "1") == OK
    assert b.execute("GET", "k") == b"v"


def test_M18_execabort_wins_over_a_dirty_watch() -> None:
    _, (a, b) = clients()
    assert a.execute("WATCH", "k") == OK
    assert b.execute("SET", "k", "1") == OK
    assert a.execute("MULTI") == OK
    assert a.execute("nosuch") == Error("ERR unknown command 'nosuch', with args beginning with: ")
    assert a.execute("EXEC") == EXECABORT


@pytest.mark.xfail(model.lookup((b"subscribe",)) is None, reason="pubsub is issue 7", strict=True)
def test_M19_subscribe_inside_multi_is_queued() -> None:
    _, (a, _b) = clients()
    assert transaction(a, ("SUBSCRIBE", "chm")) == ((b"subscribe", b"chm", 1),)
    assert a.execute("PING") == (b"pong", b"")  # subscribed afterwards (RESP2)


def test_M21_reset_inside_multi() -> None:
    _, (a, b) = clients()
    assert a.execute("SELECT", "1") == OK
    assert a.execute("WATCH", "k") == OK
    assert b.execute("SELECT", "1") == OK
    assert b.execute("SET", "k", "1") == OK  # a's watch is now dirty
    assert a.execute("MULTI") == OK
    assert a.execute("SET", "j", "1") == QUEUED
    assert a.execute("RESET") == Status("RESET")
    assert a.execute("EXEC") == Error("ERR EXEC without MULTI")
    assert a.execute("GET", "k") is None  # back in DB 0
    assert b.execute("GET", "j") is None  # the queue was dropped
    assert transaction(a, ("PING",)) == (PONG,)  # neither watches nor the dirty flag survive


def test_exec_with_wrong_arity_discards_and_unwatches() -> None:
    # Not a sheet item (found by the differential tester, checked on 7.0.15): rejectCommand on EXEC
    # calls execCommandAbort, which discards the transaction and unwatches, even outside MULTI.
    _, (a, b) = clients()
    abort = Error("EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command")
    assert a.execute("MULTI") == OK
    assert a.execute("SET", "k", "v") == QUEUED
    assert a.execute("EXEC", "x") == abort
    assert a.execute("EXEC") == Error("ERR EXEC without MULTI")
    assert b.execute("GET", "k") is None
    assert a.execute("WATCH", "k") == OK
    assert a.execute("EXEC", "x") == abort
    assert b.execute("SET", "k", "1") == OK
    assert transaction(a, ("PING",)) == (PONG,)


def test_M22_quit_inside_multi_is_not_queued() -> None:
    _, (a, b) = clients()
    assert a.execute("MULTI") == OK
    assert a.execute("SET", "k", "v") == QUEUED
    assert a.execute("QUIT") == OK
    a.close()
    assert b.execute("GET", "k") is None


# ---------------------------------------------------------------------------- W: WATCH / UNWATCH


def test_W1_watch_without_and_with_a_modification() -> None:
    _, (a, b) = clients()
    assert a.execute("WATCH", "k") == OK
    assert transaction(a, ("SET", "k", "1")) == (OK,)
    assert a.execute("WATCH", "k") == OK
    assert b.execute("SET", "k", "2") == OK
    assert transaction(a, ("SET", "k", "3")) == NULL_ARRAY
    assert b.execute("GET", "k") == b"2"


def test_W2_same_value_still_touches() -> None:
    _, (a, b) = clients()
    assert watched_exec(a, b, "k", ("SET", "k", "v"), setup=(("SET", "k", "v"),)) == NULL_ARRAY


def test_W3_own_write_before_multi_touches_own_watch() -> None:
    _, (a, _b) = clients()
    assert a.execute("WATCH", "k") == OK
    assert a.execute("SET", "k", "1") == OK
    assert transaction(a, ("PING",)) == NULL_ARRAY


def test_W4_reads_do_not_touch() -> None:
    _, (a, b) = clients()
    reads = (("GET", "k"), ("EXISTS", "k"), ("TYPE", "k"))
    assert watched_exec(a, b, "k", *reads, setup=(("SET", "k", "v"),)) == (PONG,)
    assert a.execute("WATCH", "k") == OK
    for command in reads:
        a.execute(*command)
    assert transaction(a, ("PING",)) == (PONG,)


def test_W5_del_touches_only_an_existing_key() -> None:
    _, (a, b) = clients()
    assert watched_exec(a, b, "k", ("DEL", "k")) == (PONG,)
    assert watched_exec(a, b, "k", ("DEL", "k"), setup=(("SET", "k", "v"),)) == NULL_ARRAY


def test_W6_creating_a_watched_key_touches_even_if_deleted_again() -> None:
    _, (a, b) = clients()
    assert watched_exec(a, b, "k", ("SET", "k", "v")) == NULL_ARRAY
    assert watched_exec(a, b, "j", ("SET", "j", "v"), ("DEL", "j")) == NULL_ARRAY


@pytest.mark.parametrize(("family", "setup", "no_op"), [
    ("set", ("SET", "k", "v"), ("SET", "k", "w", "NX")),
    ("set", None, ("SET", "k", "w", "XX")),
    ("sadd", ("SADD", "k", "m"), ("SADD", "k", "m")),
    ("srem", ("SADD", "k", "m"), ("SREM", "k", "other")),
    ("lpop", None, ("LPOP", "k")),
    ("persist", ("SET", "k", "v"), ("PERSIST", "k")),
    ("hdel", ("HSET", "k", "f", "v"), ("HDEL", "k", "other")),
])
def test_W7_commands_that_change_nothing_do_not_touch(
    family: str, setup: tuple[str, ...] | None, no_op: tuple[str, ...]
) -> None:
    needs(family)
    _, (a, b) = clients()
    assert watched_exec(a, b, "k", no_op, setup=(setup,) if setup else ()) == (PONG,)


@pytest.mark.parametrize(("family", "setup", "write"), [
    ("incrby", ("SET", "k", "5"), ("INCRBY", "k", "0")),
    ("append", ("SET", "k", "v"), ("APPEND", "k", "")),
    ("hset", ("HSET", "k", "f", "v"), ("HSET", "k", "f", "v")),
])
def test_W8_successful_writes_touch_even_when_nothing_changes(
    family: str, setup: tuple[str, ...], write: tuple[str, ...]
) -> None:
    needs(family)
    _, (a, b) = clients()
    assert watched_exec(a, b, "k", write, setup=(setup,)) == NULL_ARRAY


def test_W9_expire_and_persist_touch() -> None:
    _, (a, b) = clients()
    assert watched_exec(a, b, "k", ("EXPIRE", "k", "1000"), setup=(("SET", "k", "v"),)) == NULL_ARRAY
    assert b.execute("TTL", "k") == 1000
    assert watched_exec(a, b, "k", ("PERSIST", "k")) == NULL_ARRAY
    assert b.execute("TTL", "k") == -1


def test_W10_watched_key_expiring_before_exec_fails_it() -> None:
    m, (a, _b) = clients()
    assert a.execute("SET", "k", "1", "PX", "100") == OK
    assert a.execute("WATCH", "k") == OK
    m.advance(250)
    assert transaction(a, ("PING",)) == NULL_ARRAY


def test_W11_watching_an_already_expired_key_is_not_a_change() -> None:
    m, (a, b) = clients()
    assert a.execute("SET", "k", "1", "PX", "100") == OK
    m.advance(250)
    assert a.execute("WATCH", "k") == OK
    assert transaction(a, ("PING",)) == (PONG,)
    # Its later (lazy) deletion is not a change either.
    assert a.execute("WATCH", "k") == OK
    assert b.execute("GET", "k") is None
    assert transaction(a, ("PING",)) == (PONG,)


def test_W12_flush_touches_only_existing_watched_keys() -> None:
    _, (a, b) = clients()
    assert watched_exec(a, b, "k", ("FLUSHDB",)) == (PONG,)
    assert watched_exec(a, b, "k", ("FLUSHALL",)) == (PONG,)
    assert watched_exec(a, b, "k", ("FLUSHDB",), setup=(("SET", "k", "v"),)) == NULL_ARRAY
    assert watched_exec(a, b, "k", ("FLUSHALL",), setup=(("SET", "k", "v"),)) == NULL_ARRAY
    # FLUSHDB of another DB does not touch.
    assert watched_exec(a, b, "k", ("SELECT", "1"), ("FLUSHDB",), ("SELECT", "0"),
                        setup=(("SET", "k", "v"),)) == (PONG,)


def test_W13_swapdb_touches_keys_existing_in_either_db() -> None:
    _, (a, b) = clients()
    assert watched_exec(a, b, "k", ("SWAPDB", "0", "1")) == (PONG,)  # in neither
    assert watched_exec(a, b, "k", ("SWAPDB", "0", "1"), setup=(("SET", "k", "v"),)) == NULL_ARRAY
    # Now k exists only in DB 1.
    assert a.execute("EXISTS", "k") == 0
    assert watched_exec(a, b, "k", ("SWAPDB", "0", "1")) == NULL_ARRAY


def test_W14_rename_touches_source_and_destination_move_touches_the_key() -> None:
    _, (a, b) = clients()
    assert watched_exec(a, b, "src", ("RENAME", "src", "dst"), setup=(("SET", "src", "v"),)) == NULL_ARRAY
    assert watched_exec(a, b, "dst", ("RENAME", "src", "dst"), setup=(("SET", "src", "v"),)) == NULL_ARRAY
    assert watched_exec(a, b, "k", ("MOVE", "k", "1"), setup=(("SET", "k", "v"),)) == NULL_ARRAY


def test_W15_watches_are_per_db_chosen_at_watch_time() -> None:
    _, (a, b) = clients()
    # The same name in another DB is another key.
    assert watched_exec(a, b, "k", ("SELECT", "1"), ("SET", "k", "v"), ("SELECT", "0")) == (PONG,)
    # a watches k in DB 0, then selects DB 1: a write to DB 0's k still touches.
    assert a.execute("WATCH", "k") == OK
    assert a.execute("SELECT", "1") == OK
    assert b.execute("SET", "k", "w") == OK
    assert transaction(a, ("PING",)) == NULL_ARRAY
    assert a.execute("WATCH", "k") == OK  # now DB 1's k
    assert b.execute("SET", "k", "x") == OK
    assert transaction(a, ("PING",)) == (PONG,)


def test_W16_writes_inside_transactions_and_scripts_touch() -> None:
    _, (a, b) = clients()
    assert a.execute("WATCH", "k") == OK
    assert transaction(b, ("SET", "k", "1")) == (OK,)
    assert transaction(a, ("PING",)) == NULL_ARRAY
    if model.lookup((b"eval",)) is not None:
        assert a.execute("WATCH", "k") == OK
        assert b.execute("EVAL", "return redis.call('SET', KEYS[1], 'x')", "1", "k") == OK
        assert transaction(a, ("PING",)) == NULL_ARRAY


def test_W17_own_queued_writes_do_not_abort() -> None:
    _, (a, _b) = clients()
    assert a.execute("WATCH", "k") == OK
    assert transaction(a, ("SET", "k", "1"), ("INCR", "k")) == (OK, 2)


def test_W18_exec_discard_and_unwatch_clear_watches() -> None:
    _, (a, b) = clients()
    # EXEC (successful) clears.
    assert a.execute("WATCH", "k") == OK
    assert transaction(a, ("PING",)) == (PONG,)
    assert b.execute("SET", "k", "1") == OK
    assert transaction(a, ("PING",)) == (PONG,)
    # EXEC (failed) clears, flag included.
    assert watched_exec(a, b, "k", ("SET", "k", "2")) == NULL_ARRAY
    assert transaction(a, ("PING",)) == (PONG,)
    # DISCARD clears.
    assert a.execute("WATCH", "k") == OK
    assert a.execute("MULTI") == OK
    assert a.execute("DISCARD") == OK
    assert b.execute("SET", "k", "3") == OK
    assert transaction(a, ("PING",)) == (PONG,)
    # UNWATCH clears keys and the dirty flag.
    assert a.execute("WATCH", "k") == OK
    assert b.execute("SET", "k", "4") == OK
    assert a.execute("UNWATCH") == OK
    assert transaction(a, ("PING",)) == (PONG,)


def test_W19_rewatch_does_not_clean_and_a_doomed_transaction_still_queues() -> None:
    _, (a, b) = clients()
    assert a.execute("WATCH", "k") == OK
    assert b.execute("SET", "k", "1") == OK
    assert a.execute("WATCH", "k") == OK
    assert a.execute("WATCH", "other") == OK
    assert a.execute("MULTI") == OK
    assert a.execute("SET", "j", "1") == QUEUED
    assert a.execute("EXEC") == NULL_ARRAY
    assert b.execute("GET", "j") is None


def test_W20_watch_needs_keys_duplicates_are_fine() -> None:
    _, (a, b) = clients()
    assert a.execute("WATCH") == arity("watch")
    assert a.execute("WATCH", "k", "k") == OK
    assert b.execute("SET", "k", "1") == OK
    assert transaction(a, ("PING",)) == NULL_ARRAY


# ---------------------------------------------------------------------------- D: data commands


def test_D1_get_set_and_the_empty_string() -> None:
    _, (a, _b) = clients()
    assert a.execute("GET", "k") is None
    assert a.execute("SET", "k", "v") == OK
    assert a.execute("GET", "k") == b"v"
    assert a.execute("SET", "e", "") == OK
    assert a.execute("GET", "e") == b""
    assert a.execute("EXISTS", "e") == 1


def test_D2_set_nx_xx_and_bad_options() -> None:
    _, (a, _b) = clients()
    assert a.execute("SET", "k", "v") == OK
    assert a.execute("SET", "k", "w", "NX") is None
    assert a.execute("GET", "k") == b"v"
    assert a.execute("SET", "missing", "w", "XX") is None
    assert a.execute("EXISTS", "missing") == 0
    assert a.execute("SET", "k", "w", "NX", "XX") == SYNTAX
    assert a.execute("SET", "k", "w", "BAD") == SYNTAX
    assert a.execute("GET", "k") == b"v"


def test_D3_set_get() -> None:
    _, (a, _b) = clients()
    assert a.execute("SET", "k", "v1", "GET") is None
    assert a.execute("SET", "k", "v2", "GET") == b"v1"
    assert a.execute("SET", "k", "v3", "NX", "GET") == b"v2"  # allowed in 7.0; does not set
    assert a.execute("GET", "k") == b"v2"
    needs("lpush")
    assert a.execute("LPUSH", "l", "x") == 1
    assert a.execute("SET", "l", "v", "GET") == WRONGTYPE
    assert a.execute("TYPE", "l") == Status("list")


def test_D4_set_invalid_expire() -> None:
    _, (a, _b) = clients()
    invalid = Error("ERR invalid expire time in 'set' command")
    assert a.execute("SET", "k", "v", "EX", "0") == invalid
    assert a.execute("SET", "k", "v", "EX", "-1") == invalid
    assert a.execute("SET", "k", "v", "EX", "abc") == NOT_INTEGER
    assert a.execute("EXISTS", "k") == 0


@pytest.mark.parametrize("value", ["v", "1.5", " 1", "1 ", ""])
def test_D5_incr(value: str) -> None:
    _, (a, _b) = clients()
    assert a.execute("INCR", "n") == 1
    assert a.execute("SET", "k", value) == OK
    assert a.execute("INCR", "k") == NOT_INTEGER
    assert a.execute("GET", "k") == value.encode()


def test_D6_overflow() -> None:
    _, (a, _b) = clients()
    overflow = Error("ERR increment or decrement would overflow")
    assert a.execute("SET", "max", "9223372036854775807") == OK
    assert a.execute("INCR", "max") == overflow
    assert a.execute("GET", "max") == b"9223372036854775807"
    assert a.execute("SET", "min", "-9223372036854775808") == OK
    assert a.execute("DECR", "min") == overflow
    assert a.execute("GET", "min") == b"-9223372036854775808"
    assert a.execute("DECRBY", "k", "-9223372036854775808") == Error("ERR decrement would overflow")
    assert a.execute("INCRBY", "k", "9223372036854775808") == NOT_INTEGER
    assert a.execute("EXISTS", "k") == 0


def test_D7_append() -> None:
    _, (a, _b) = clients()
    assert a.execute("APPEND", "k", "ab") == 2
    assert a.execute("APPEND", "k", "cde") == 5
    assert a.execute("GET", "k") == b"abcde"
    needs("sadd")
    assert a.execute("SADD", "s", "m") == 1
    assert a.execute("APPEND", "s", "x") == WRONGTYPE


def test_D8_getset() -> None:
    _, (a, _b) = clients()
    assert a.execute("GETSET", "k", "v1") is None
    assert a.execute("GETSET", "k", "v2") == b"v1"
    assert a.execute("GET", "k") == b"v2"
    needs("hset")
    assert a.execute("HSET", "h", "f", "v") == 1
    assert a.execute("GETSET", "h", "x") == WRONGTYPE


def test_D9_mset_and_msetnx() -> None:
    _, (a, _b) = clients()
    assert a.execute("MSET", "a", "1", "b") == arity("mset")
    assert a.execute("MSETNX", "a", "1", "b", "2") == 1
    assert a.execute("MSETNX", "b", "3", "c", "4") == 0  # all or nothing
    assert a.execute("MGET", "a", "b", "c") == (b"1", b"2", None)
    assert a.execute("MSETNX", "d", "1", "d", "2") == 1
    assert a.execute("GET", "d") == b"2"


def test_D10_del_counts_removed_exists_counts_repeats() -> None:
    _, (a, _b) = clients()
    assert a.execute("SET", "a", "1") == OK
    assert a.execute("EXISTS", "a", "a", "missing") == 2
    assert a.execute("DEL", "a", "a", "missing") == 1
    assert a.execute("EXISTS", "a") == 0


def test_D17_unknown_command_and_arity_at_top_level() -> None:
    _, (a, _b) = clients()
    assert a.execute("nosuch", "a", "b") == Error("ERR unknown command 'nosuch', with args beginning with: 'a' 'b' ")
    assert a.execute("GET") == arity("get")


def test_D18_type() -> None:
    needs("lpush", "hset", "sadd", "zadd")
    _, (a, _b) = clients()
    a.execute("SET", "s", "v")
    a.execute("LPUSH", "l", "x")
    a.execute("HSET", "h", "f", "v")
    a.execute("SADD", "t", "m")
    a.execute("ZADD", "z", "1", "m")
    for key, name in [("s", "string"), ("l", "list"), ("h", "hash"), ("t", "set"), ("z", "zset"), ("no", "none")]:
        assert a.execute("TYPE", key) == Status(name), key
