"""The model's list, hash, set and sorted-set commands (sheet items D11-D16, M15, W7, W8).

Every expected reply below was checked on redis-server 7.0.15; each test names the sheet item it
covers.  The last test replays a script against a live server of our own and compares the replies
one by one (it is skipped without a ``redis-server`` binary, and fails under CI).
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

import pytest

from redlin.model import (
    NULL_ARRAY,
    Client,
    Error,
    Parser,
    Redis,
    Status,
    encode_command,
    lookup,
    sort_unordered,
)

WRONGTYPE = Error("WRONGTYPE Operation against a key holding the wrong kind of value")
NOT_INTEGER = Error("ERR value is not an integer or out of range")
NOT_FLOAT = Error("ERR value is not a valid float")
SYNTAX = Error("ERR syntax error")
OK = Status("OK")


@pytest.fixture
def a() -> Client:
    return Redis().client()


def touches(setup: Sequence[Sequence[str]], key: str, command: Sequence[str]) -> bool:
    """Does ``command`` (sent by another client) touch a watched ``key``?  (EXEC -> null array)"""
    server = Redis()
    watcher, other = server.client(), server.client()
    for line in setup:
        other.execute(*line)
    assert watcher.execute("WATCH", key) == OK
    other.execute(*command)
    watcher.execute("MULTI")
    watcher.execute("PING")
    return watcher.execute("EXEC") is NULL_ARRAY


# --------------------------------------------------------------------- D11 lists


def test_D11_lpush_prepends_each_element_in_turn(a: Client) -> None:
    assert a.execute("LPUSH", "l", "a", "b", "c") == 3
    assert a.execute("LRANGE", "l", 0, -1) == (b"c", b"b", b"a")


def test_D11_rpush_appends(a: Client) -> None:
    a.execute("RPUSH", "l", "a")
    assert a.execute("RPUSH", "l", "b", "c") == 3
    assert a.execute("LRANGE", "l", 0, -1) == (b"a", b"b", b"c")


def test_D11_lrange_clamps_indexes(a: Client) -> None:
    a.execute("RPUSH", "l", "a", "b", "c")
    assert a.execute("LRANGE", "l", -100, 100) == (b"a", b"b", b"c")
    assert a.execute("LRANGE", "l", 1, -1) == (b"b", b"c")
    assert a.execute("LRANGE", "l", -2, -2) == (b"b",)
    assert a.execute("LRANGE", "l", 3, 10) == ()
    assert a.execute("LRANGE", "l", 2, 1) == ()


def test_D11_missing_list_has_length_zero_and_empty_range(a: Client) -> None:
    assert a.execute("LLEN", "nope") == 0
    assert a.execute("LRANGE", "nope", 0, -1) == ()


def test_D11_non_integer_index_is_an_error(a: Client) -> None:
    a.execute("RPUSH", "l", "a")
    assert a.execute("LRANGE", "l", "x", 1) == NOT_INTEGER
    assert a.execute("LRANGE", "l", 0, "1.5") == NOT_INTEGER
    assert a.execute("LRANGE", "nope", 0, " 1") == NOT_INTEGER  # parsed before the lookup
    assert a.execute("LINDEX", "l", "x") == NOT_INTEGER
    assert a.execute("LINDEX", "nope", "x") is None  # LINDEX looks the key up first
    assert a.execute("LSET", "l", "x", "v") == NOT_INTEGER


def test_D11_pushx_needs_an_existing_list(a: Client) -> None:
    assert a.execute("LPUSHX", "l", "a") == 0
    assert a.execute("EXISTS", "l") == 0
    a.execute("RPUSH", "l", "b")
    assert a.execute("LPUSHX", "l", "a") == 2
    assert a.execute("RPUSHX", "l", "c") == 3
    assert a.execute("LRANGE", "l", 0, -1) == (b"a", b"b", b"c")


def test_D11_lindex_and_lset(a: Client) -> None:
    a.execute("RPUSH", "l", "a", "b", "c")
    assert a.execute("LINDEX", "l", -1) == b"c"
    assert a.execute("LINDEX", "l", 3) is None
    assert a.execute("LSET", "l", -3, "A") == OK
    assert a.execute("LSET", "l", 3, "x") == Error("ERR index out of range")
    assert a.execute("LSET", "nope", 0, "x") == Error("ERR no such key")
    assert a.execute("LRANGE", "l", 0, -1) == (b"A", b"b", b"c")


def test_D11_lrem_ltrim_linsert(a: Client) -> None:
    a.execute("RPUSH", "l", "a", "b", "a", "c", "a")
    assert a.execute("LREM", "l", -2, "a") == 2
    assert a.execute("LRANGE", "l", 0, -1) == (b"a", b"b", b"c")
    assert a.execute("LINSERT", "l", "BEFORE", "c", "x") == 4
    assert a.execute("LINSERT", "l", "after", "zz", "x") == -1
    assert a.execute("LINSERT", "l", "middle", "c", "x") == SYNTAX
    assert a.execute("LINSERT", "nope", "before", "c", "x") == 0
    assert a.execute("LTRIM", "l", 1, 2) == OK
    assert a.execute("LRANGE", "l", 0, -1) == (b"b", b"x")
    assert a.execute("LTRIM", "l", 5, 10) == OK
    assert a.execute("EXISTS", "l") == 0  # trimmed to nothing: deleted


def test_D11_lpos_options(a: Client) -> None:
    a.execute("RPUSH", "l", "a", "b", "c", "a", "x")
    assert a.execute("LPOS", "l", "a") == 0
    assert a.execute("LPOS", "l", "a", "RANK", -1) == 3
    assert a.execute("LPOS", "l", "a", "COUNT", 0) == (0, 3)
    assert a.execute("LPOS", "l", "a", "RANK", -2, "MAXLEN", 3, "COUNT", 0) == ()
    assert a.execute("LPOS", "l", "zz") is None
    assert a.execute("LPOS", "nope", "a", "COUNT", 0) == ()
    assert a.execute("LPOS", "l", "a", "RANK", 0) == Error(
        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
        "or use negative to start from the end of the list")
    assert a.execute("LPOS", "l", "a", "COUNT", "x") == Error("ERR COUNT can't be negative")
    assert a.execute("LPOS", "l", "a", "MAXLEN", -1) == Error("ERR MAXLEN can't be negative")
    assert a.execute("LPOS", "l", "a", "FOO") == SYNTAX


def test_D11_lmove_and_rpoplpush(a: Client) -> None:
    a.execute("RPUSH", "src", "a", "b")
    assert a.execute("LMOVE", "src", "dst", "LEFT", "RIGHT") == b"a"
    assert a.execute("RPOPLPUSH", "src", "dst") == b"b"
    assert a.execute("EXISTS", "src") == 0
    assert a.execute("LRANGE", "dst", 0, -1) == (b"b", b"a")
    assert a.execute("LMOVE", "dst", "dst", "LEFT", "RIGHT") == b"b"  # rotation
    assert a.execute("LRANGE", "dst", 0, -1) == (b"a", b"b")
    assert a.execute("LMOVE", "nope", "dst", "LEFT", "LEFT") is None
    assert a.execute("LMOVE", "dst", "x", "UP", "LEFT") == SYNTAX


# --------------------------------------------------------------------- D12 pops


@pytest.mark.parametrize("pop", ["LPOP", "RPOP"])
def test_D12_pop_last_element_deletes_key(a: Client, pop: str) -> None:
    a.execute("RPUSH", "l", "only")
    assert a.execute(pop, "l") == b"only"
    assert a.execute("EXISTS", "l") == 0
    assert a.execute("TYPE", "l") == Status("none")


@pytest.mark.parametrize("pop", ["LPOP", "RPOP"])
def test_D12_pop_missing_key_is_null(a: Client, pop: str) -> None:
    assert a.execute(pop, "nope") is None


@pytest.mark.parametrize("pop", ["LPOP", "RPOP"])
def test_D12_pop_missing_key_with_count_is_null_array(a: Client, pop: str) -> None:
    assert a.execute(pop, "nope", 1) is NULL_ARRAY
    assert a.execute(pop, "nope", 0) is NULL_ARRAY


def test_D12_pop_count_zero_is_empty_array(a: Client) -> None:
    a.execute("RPUSH", "l", "a")
    assert a.execute("LPOP", "l", 0) == ()
    assert a.execute("LLEN", "l") == 1


def test_D12_pop_negative_count_is_out_of_range(a: Client) -> None:
    positive = Error("ERR value is out of range, must be positive")
    assert a.execute("LPOP", "nope", -1) == positive  # parsed before the lookup
    assert a.execute("RPOP", "nope", "x") == positive
    assert a.execute("LPOP", "nope", "9223372036854775808") == positive
    assert a.execute("LPOP", "l", 1, 2) == Error("ERR wrong number of arguments for 'lpop' command")


def test_D12_pop_with_count_takes_from_its_end(a: Client) -> None:
    a.execute("RPUSH", "l", "a", "b", "c", "d")
    assert a.execute("LPOP", "l", 2) == (b"a", b"b")
    assert a.execute("RPOP", "l", 5) == (b"d", b"c")  # tail first; more than there is
    assert a.execute("EXISTS", "l") == 0


# --------------------------------------------------------------------- D13 hashes


def test_D13_hset_counts_new_fields_only(a: Client) -> None:
    assert a.execute("HSET", "h", "f", "1", "g", "2") == 2
    assert a.execute("HSET", "h", "f", "9", "k", "3") == 1
    assert a.execute("HSET", "h", "z", "1", "z", "2") == 1  # a repeated field counts once
    assert a.execute("HGET", "h", "z") == b"2"
    assert a.execute("HMSET", "h", "f", "x") == OK


def test_D13_hget_missing_is_null(a: Client) -> None:
    assert a.execute("HGET", "nope", "f") is None
    a.execute("HSET", "h", "f", "v")
    assert a.execute("HGET", "h", "g") is None
    assert a.execute("HMGET", "h", "f", "g") == (b"v", None)
    assert a.execute("HMGET", "nope", "f") == (None,)


def test_D13_hincrby_creates(a: Client) -> None:
    assert a.execute("HINCRBY", "h", "n", 5) == 5
    assert a.execute("HINCRBY", "h", "n", -7) == -2
    assert a.execute("HGET", "h", "n") == b"-2"


def test_D13_hincrby_non_integer_field_value(a: Client) -> None:
    for value in ["abc", "1.5", " 1", "007", ""]:
        a.execute("HSET", "h", "f", value)
        assert a.execute("HINCRBY", "h", "f", 1) == Error("ERR hash value is not an integer")


def test_D13_hincrby_overflow(a: Client) -> None:
    a.execute("HSET", "h", "n", "9223372036854775807")
    assert a.execute("HINCRBY", "h", "n", 1) == Error("ERR increment or decrement would overflow")
    assert a.execute("HGET", "h", "n") == b"9223372036854775807"


def test_D13_hincrby_bad_increment(a: Client) -> None:
    assert a.execute("HINCRBY", "h", "n", "x") == NOT_INTEGER
    assert a.execute("HINCRBY", "h", "n", "9223372036854775808") == NOT_INTEGER
    assert a.execute("EXISTS", "h") == 0


def test_D13_hset_odd_arguments_is_an_arity_error(a: Client) -> None:
    assert a.execute("HSET", "h", "f") == Error("ERR wrong number of arguments for 'hset' command")
    assert a.execute("HSET", "h", "f", "v", "g") == Error("ERR wrong number of arguments for 'hset' command")
    assert a.execute("HMSET", "h", "f", "v", "g") == Error("ERR wrong number of arguments for 'hmset' command")
    a.execute("SET", "s", "x")
    assert a.execute("HSET", "s", "f") == Error("ERR wrong number of arguments for 'hset' command")


def test_D13_hash_reads_and_deletes(a: Client) -> None:
    a.execute("HSET", "h", "b", "2", "a", "10")
    assert a.execute("HGETALL", "h") == (b"a", b"10", b"b", b"2")  # sorted: Redis's order is unspecified
    assert a.execute("HKEYS", "h") == (b"a", b"b")
    assert a.execute("HVALS", "h") == (b"10", b"2")
    assert (a.execute("HLEN", "h"), a.execute("HEXISTS", "h", "a"), a.execute("HSTRLEN", "h", "a")) == (2, 1, 2)
    assert a.execute("HSETNX", "h", "a", "x") == 0
    assert a.execute("HSETNX", "h", "c", "x") == 1
    assert a.execute("HDEL", "h", "a", "b", "zz") == 2
    assert a.execute("HDEL", "h", "c") == 1
    assert a.execute("EXISTS", "h") == 0  # the last field deleted the key
    assert (a.execute("HGETALL", "h"), a.execute("HLEN", "h"), a.execute("HSTRLEN", "h", "a")) == ((), 0, 0)


def test_D13_hincrbyfloat_long_double_arithmetic(a: Client) -> None:
    assert a.execute("HINCRBYFLOAT", "h", "f", "1.1") == b"1.1"
    assert a.execute("HINCRBYFLOAT", "h", "f", "2.2") == b"3.3"
    assert a.execute("HINCRBYFLOAT", "h", "g", "0.000003814697265625") == b"0.00000381469726562"
    assert a.execute("HINCRBYFLOAT", "h", "b", "1e30") == b"1000000000000000000024696061952"
    assert a.execute("HINCRBYFLOAT", "h", "z", "-0.000000000000000001") == b"0"
    assert a.execute("HINCRBYFLOAT", "h", "x", "0x10") == b"16"
    assert a.execute("HGET", "h", "f") == b"3.3"


def test_D13_hincrbyfloat_errors(a: Client) -> None:
    a.execute("HSET", "h", "s", "abc", "i", "inf")
    assert a.execute("HINCRBYFLOAT", "h", "f", "inf") == Error("ERR value is NaN or Infinity")
    assert a.execute("HINCRBYFLOAT", "h", "f", "nan") == NOT_FLOAT
    assert a.execute("HINCRBYFLOAT", "h", "f", "1 ") == NOT_FLOAT
    assert a.execute("HINCRBYFLOAT", "h", "s", "1") == Error("ERR hash value is not a float")
    assert a.execute("HINCRBYFLOAT", "h", "i", "1") == Error("ERR increment would produce NaN or Infinity")
    a.execute("HINCRBYFLOAT", "h", "big", "1.18e4932")
    assert a.execute("HINCRBYFLOAT", "h", "big", "1.18e4932") == Error(
        "ERR increment would produce NaN or Infinity")


# --------------------------------------------------------------------- D14 sets


def test_D14_sadd_counts_added_members(a: Client) -> None:
    assert a.execute("SADD", "s", "a", "b", "a") == 2
    assert a.execute("SADD", "s", "b", "c") == 1
    assert a.execute("SMEMBERS", "s") == (b"a", b"b", b"c")  # sorted: Redis's order is unspecified


def test_D14_srem_counts_removed_and_last_member_deletes_key(a: Client) -> None:
    a.execute("SADD", "s", "a", "b")
    assert a.execute("SREM", "s", "a", "zz", "a") == 1
    assert a.execute("SREM", "nope", "a") == 0
    assert a.execute("SREM", "s", "b") == 1
    assert a.execute("EXISTS", "s") == 0


def test_D14_missing_set_is_empty(a: Client) -> None:
    assert a.execute("SCARD", "nope") == 0
    assert a.execute("SMEMBERS", "nope") == ()
    assert a.execute("SISMEMBER", "nope", "a") == 0
    assert a.execute("SMISMEMBER", "nope", "a", "b") == (0, 0)


def test_D14_set_algebra(a: Client) -> None:
    a.execute("SADD", "x", "a", "b", "c")
    a.execute("SADD", "y", "b", "c", "d")
    assert a.execute("SINTER", "x", "y") == (b"b", b"c")
    assert a.execute("SUNION", "x", "y", "nope") == (b"a", b"b", b"c", b"d")
    assert a.execute("SDIFF", "x", "y") == (b"a",)
    assert a.execute("SINTER", "x", "nope") == ()
    a.execute("SET", "str", "v")
    assert a.execute("SINTER", "nope", "str") == WRONGTYPE  # every key is type-checked
    assert a.execute("SDIFFSTORE", "d", "y", "x") == 1
    assert a.execute("SMEMBERS", "d") == (b"d",)
    a.execute("EXPIRE", "str", 100)
    assert a.execute("SUNIONSTORE", "str", "x") == 3  # replaces any type, drops the TTL
    assert (a.execute("TYPE", "str"), a.execute("TTL", "str")) == (Status("set"), -1)
    assert a.execute("SINTERSTORE", "d", "x", "nope") == 0
    assert a.execute("EXISTS", "d") == 0


def test_D14_smove(a: Client) -> None:
    a.execute("SADD", "x", "a")
    a.execute("SET", "str", "v")
    assert a.execute("SMOVE", "nope", "str", "a") == 0  # a missing source answers before type checks
    assert a.execute("SMOVE", "x", "str", "zz") == WRONGTYPE
    assert a.execute("SMOVE", "x", "x", "a") == 1
    assert a.execute("SMOVE", "x", "y", "zz") == 0
    assert a.execute("SMOVE", "x", "y", "a") == 1
    assert (a.execute("EXISTS", "x"), a.execute("SMEMBERS", "y")) == (0, (b"a",))


# --------------------------------------------------------------------- D15 sorted sets


def test_D15_zadd_counts_added(a: Client) -> None:
    assert a.execute("ZADD", "z", 1, "a", 2, "b") == 2
    assert a.execute("ZADD", "z", 5, "a", 3, "c") == 1
    assert a.execute("ZADD", "z", "CH", 6, "a", 3, "c", 4, "d") == 2
    assert a.execute("ZRANGE", "z", 0, -1) == (b"b", b"c", b"d", b"a")


def test_D15_scores_reply_as_17_significant_digits(a: Client) -> None:
    a.execute("ZADD", "z", "0.1", "a", "3", "b", "inf", "c", "-inf", "d")
    assert a.execute("ZSCORE", "z", "a") == b"0.10000000000000001"
    assert a.execute("ZSCORE", "z", "b") == b"3"
    assert a.execute("ZSCORE", "z", "c") == b"inf"
    assert a.execute("ZMSCORE", "z", "d", "nope") == (b"-inf", None)
    assert a.execute("ZINCRBY", "z", "0.2", "a") == b"0.30000000000000004"
    assert a.execute("ZINCRBY", "z", 2, "new") == b"2"
    assert a.execute("ZSCORE", "nope", "a") is None


def test_D15_bad_score_is_not_a_valid_float(a: Client) -> None:
    for score in ["x", "nan", "1e400", "1e-400", " 1", ""]:
        assert a.execute("ZADD", "z", score, "a") == NOT_FLOAT
    assert a.execute("ZINCRBY", "z", "x", "a") == NOT_FLOAT
    assert a.execute("EXISTS", "z") == 0


def test_D15_inf_plus_minus_inf_is_nan(a: Client) -> None:
    a.execute("ZADD", "z", "inf", "a")
    assert a.execute("ZINCRBY", "z", "-inf", "a") == Error("ERR resulting score is not a number (NaN)")
    assert a.execute("ZADD", "z", "INCR", "-inf", "a") == Error("ERR resulting score is not a number (NaN)")
    assert a.execute("ZSCORE", "z", "a") == b"inf"


def test_D15_incompatible_options(a: Client) -> None:
    assert a.execute("ZADD", "z", "NX", "XX", 1, "a") == Error(
        "ERR XX and NX options at the same time are not compatible")
    gt_lt = Error("ERR GT, LT, and/or NX options at the same time are not compatible")
    assert a.execute("ZADD", "z", "GT", "LT", 1, "a") == gt_lt
    assert a.execute("ZADD", "z", "NX", "GT", 1, "a") == gt_lt
    assert a.execute("ZADD", "z", "INCR", 1, "a", 2, "b") == Error(
        "ERR INCR option supports a single increment-element pair")
    assert a.execute("ZADD", "z", 1, "a", 2) == SYNTAX
    assert a.execute("ZADD", "z", "NX") == Error("ERR wrong number of arguments for 'zadd' command")


def test_D15_nx_incr_on_existing_member_is_null(a: Client) -> None:
    a.execute("ZADD", "z", 1, "a")
    assert a.execute("ZADD", "z", "NX", "INCR", 1, "a") is None
    assert a.execute("ZADD", "z", "XX", "INCR", 1, "nope") is None
    assert a.execute("ZADD", "z", "GT", "INCR", -1, "a") is None
    assert a.execute("ZADD", "missing", "XX", 1, "a") == 0
    assert a.execute("ZSCORE", "z", "a") == b"1"


def test_D15_gt_lt_update_only_in_their_direction(a: Client) -> None:
    a.execute("ZADD", "z", 5, "a")
    assert a.execute("ZADD", "z", "GT", "CH", 3, "a", 1, "new") == 1  # only the new member
    assert a.execute("ZADD", "z", "LT", "CH", 3, "a") == 1
    assert a.execute("ZMSCORE", "z", "a", "new") == (b"3", b"1")


def test_D15_negative_zero_is_stored_as_zero(a: Client) -> None:
    # Small sorted sets (listpacks) store whole scores as integers; ZINCRBY replies before storing.
    assert a.execute("ZINCRBY", "z", "-0", "m") == b"-0"
    assert a.execute("ZSCORE", "z", "m") == b"0"


def test_D15_zrange_forms(a: Client) -> None:
    a.execute("ZADD", "z", 1, "a", 2, "b", 3, "c", 3, "d")
    assert a.execute("ZRANGE", "z", 0, 1, "WITHSCORES") == (b"a", b"1", b"b", b"2")
    assert a.execute("ZRANGE", "z", 0, 0, "REV") == (b"d",)
    assert a.execute("ZREVRANGE", "z", 0, -1) == (b"d", b"c", b"b", b"a")
    assert a.execute("ZRANGE", "z", "(1", "3", "BYSCORE", "LIMIT", 1, 2) == (b"c", b"d")
    assert a.execute("ZRANGE", "z", "+inf", "2", "BYSCORE", "REV", "WITHSCORES") == (
        b"d", b"3", b"c", b"3", b"b", b"2")
    assert a.execute("ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", -1, 2) == ()
    assert a.execute("ZRANGE", "z", "[c", "+", "BYLEX") == (b"c", b"d")
    assert a.execute("ZRANGE", "z", 0, -1, "LIMIT", 0, 1) == Error(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
    assert a.execute("ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES") == Error(
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    assert a.execute("ZRANGE", "z", "a", "b", "BYSCORE") == Error("ERR min or max is not a float")
    assert a.execute("ZRANGE", "z", "a", "b", "BYLEX") == Error("ERR min or max not valid string range item")
    assert a.execute("ZREVRANGE", "z", 0, -1, "REV") == SYNTAX
    assert a.execute("ZRANGE", "nope", "x", 1) == NOT_INTEGER
    assert a.execute("ZRANGE", "nope", 0, -1) == ()


def test_D15_rank_count_rem_store(a: Client) -> None:
    a.execute("ZADD", "z", 1, "a", 2, "b", 3, "c")
    assert (a.execute("ZRANK", "z", "c"), a.execute("ZREVRANK", "z", "c"), a.execute("ZRANK", "z", "q")) == (2, 0, None)
    assert (a.execute("ZCARD", "z"), a.execute("ZCOUNT", "z", "(1", 3), a.execute("ZLEXCOUNT", "z", "-", "+")) == (3, 2, 3)
    assert a.execute("ZRANGESTORE", "dst", "z", 1, -1) == 2
    assert a.execute("ZRANGE", "dst", 0, -1, "WITHSCORES") == (b"b", b"2", b"c", b"3")
    assert a.execute("ZRANGESTORE", "dst", "z", 5, 6) == 0
    assert a.execute("EXISTS", "dst") == 0
    assert a.execute("ZREM", "z", "a", "b", "zz") == 2
    assert a.execute("ZREM", "z", "c") == 1
    assert a.execute("EXISTS", "z") == 0


def test_D15_zpopmin_zpopmax(a: Client) -> None:
    a.execute("ZADD", "z", 1, "a", 2, "b", 3, "c")
    positive = Error("ERR value is out of range, must be positive")
    assert (a.execute("ZPOPMIN", "nope", -1), a.execute("ZPOPMIN", "z", "x")) == (positive, positive)
    assert a.execute("ZPOPMIN", "z", 1, 2) == SYNTAX  # not an arity error in 7.0
    assert (a.execute("ZPOPMIN", "nope"), a.execute("ZPOPMIN", "z", 0)) == ((), ())
    assert a.execute("ZPOPMAX", "z", 2) == (b"c", b"3", b"b", b"2")
    assert a.execute("ZPOPMIN", "z", 5) == (b"a", b"1")
    assert a.execute("EXISTS", "z") == 0


def test_D14_sintercard(a: Client) -> None:
    a.execute("SADD", "x", "a", "b", "c")
    a.execute("SADD", "y", "b", "c", "d")
    assert a.execute("SINTERCARD", 2, "x", "y") == 2
    assert a.execute("SINTERCARD", 2, "x", "y", "LIMIT", 1) == 1
    assert a.execute("SINTERCARD", 2, "x", "nope") == 0
    assert a.execute("SINTERCARD", 0, "x") == Error("ERR numkeys should be greater than 0")
    assert a.execute("SINTERCARD", 3, "x", "y") == Error("ERR Number of keys can't be greater than number of args")
    assert a.execute("SINTERCARD", 1, "x", "LIMIT", -1) == Error("ERR LIMIT can't be negative")
    assert a.execute("SINTERCARD", 1, "x", "FOO") == SYNTAX


# --------------------------------------------------------------------- D16 wrong types


TYPED_COMMANDS: dict[str, list[tuple[str | int, ...]]] = {
    "string": [("GET", "k"), ("INCR", "k")],
    "list": [("LLEN", "k"), ("LPUSH", "k", "a"), ("LRANGE", "k", 0, -1), ("LPOP", "k"), ("LPOP", "k", 0),
             ("LINDEX", "k", 0), ("LSET", "k", 0, "a"), ("LREM", "k", 0, "a"), ("LTRIM", "k", 0, 1),
             ("LINSERT", "k", "BEFORE", "a", "b"), ("LPOS", "k", "a"), ("LMOVE", "k", "x", "LEFT", "LEFT")],
    "hash": [("HGET", "k", "f"), ("HSET", "k", "f", "v"), ("HINCRBY", "k", "f", 1), ("HINCRBYFLOAT", "k", "f", 1),
             ("HGETALL", "k"), ("HMGET", "k", "f"), ("HDEL", "k", "f"), ("HLEN", "k")],
    "set": [("SADD", "k", "a"), ("SCARD", "k"), ("SMEMBERS", "k"), ("SREM", "k", "a"), ("SISMEMBER", "k", "a"),
            ("SINTER", "k"), ("SUNION", "k"), ("SDIFF", "k")],
    "zset": [("ZADD", "k", 1, "a"), ("ZSCORE", "k", "a"), ("ZINCRBY", "k", 1, "a"), ("ZRANGE", "k", 0, -1),
             ("ZRANK", "k", "a"), ("ZREM", "k", "a"), ("ZCARD", "k"), ("ZCOUNT", "k", 0, 1), ("ZPOPMIN", "k")],
}
HOLDERS: dict[str, tuple[str | int, ...]] = {
    "string": ("SET", "k", "v"), "list": ("RPUSH", "k", "v"), "hash": ("HSET", "k", "f", "v"),
    "set": ("SADD", "k", "v"), "zset": ("ZADD", "k", 1, "v"),
}


@pytest.mark.parametrize(("holder", "command"), [
    (holder, command)
    for kind, commands in TYPED_COMMANDS.items() for command in commands
    for other, holder in HOLDERS.items() if other != kind
])
def test_D16_typed_commands_on_another_type(holder: tuple[str | int, ...], command: tuple[str | int, ...]) -> None:
    client = Redis().client()
    client.execute(*holder)
    before = client.server.state
    assert client.execute(*command) == WRONGTYPE
    assert client.server.state == before  # nothing written


# --------------------------------------------------------------------- W7 / W8 WATCH touches


@pytest.mark.parametrize(("setup", "key", "command"), [
    ([("SADD", "s", "a")], "s", ("SADD", "s", "a")),
    ([("SADD", "s", "a")], "s", ("SREM", "s", "zz")),
    ([], "l", ("LPOP", "l")),
    ([("HSET", "h", "f", "v")], "h", ("HDEL", "h", "zz")),
    ([("RPUSH", "l", "a")], "l", ("LPOP", "l", 0)),
    ([("RPUSH", "l", "a")], "l", ("LREM", "l", 0, "zz")),
    ([("RPUSH", "l", "a")], "l", ("LINSERT", "l", "BEFORE", "zz", "x")),
    ([], "l", ("LPUSHX", "l", "x")),
    ([], "l", ("RPOPLPUSH", "l", "other")),
    ([("HSET", "h", "f", "v")], "h", ("HSETNX", "h", "f", "x")),
    ([("ZADD", "z", 1, "a")], "z", ("ZADD", "z", 1, "a")),
    ([("ZADD", "z", 1, "a")], "z", ("ZINCRBY", "z", 0, "a")),
    ([("ZADD", "z", 1, "a")], "z", ("ZADD", "z", "XX", 1, "b")),
    ([("ZADD", "z", 1, "a")], "z", ("ZADD", "z", "GT", 0, "a")),
    ([("ZADD", "z", 1, "a")], "z", ("ZREM", "z", "b")),
    ([("SADD", "s", "a"), ("SADD", "d", "a")], "d", ("SMOVE", "s", "d", "a")),
    ([("SADD", "s", "a")], "s", ("SMOVE", "s", "s", "a")),
    ([("SADD", "s", "a")], "dst", ("SINTERSTORE", "dst", "s", "nope")),
    ([("ZADD", "z", 1, "a")], "dst", ("ZRANGESTORE", "dst", "z", 5, 6)),
    ([("SET", "k", "v")], "k", ("LPUSH", "k", "a")),  # WRONGTYPE writes nothing
])
def test_W7_commands_that_change_nothing_do_not_touch(
        setup: list[tuple[object, ...]], key: str, command: tuple[object, ...]) -> None:
    assert not touches(setup, key, command)  # type: ignore[arg-type]


@pytest.mark.parametrize(("setup", "key", "command"), [
    ([("HSET", "h", "f", "v")], "h", ("HSET", "h", "f", "v")),
    ([("HSET", "h", "f", "1")], "h", ("HINCRBY", "h", "f", 0)),
    ([("HSET", "h", "f", "1")], "h", ("HINCRBYFLOAT", "h", "f", 0)),
    ([("RPUSH", "l", "a")], "l", ("LSET", "l", 0, "a")),
    ([("RPUSH", "l", "a", "b")], "l", ("LTRIM", "l", 0, -1)),
    ([("RPUSH", "l", "a")], "l", ("LMOVE", "l", "l", "LEFT", "LEFT")),
    ([("SADD", "s", "a"), ("SADD", "d", "a")], "s", ("SMOVE", "s", "d", "a")),
    ([("SADD", "s", "a"), ("SADD", "dst", "a")], "dst", ("SUNIONSTORE", "dst", "s")),
    ([("SADD", "s", "a"), ("SET", "dst", "x")], "dst", ("SINTERSTORE", "dst", "s", "nope")),
    ([("RPUSH", "l", "a")], "l", ("LPOP", "l")),
    ([("ZADD", "z", 1, "a")], "z", ("ZINCRBY", "z", 1, "a")),
    ([("SADD", "s", "a")], "s", ("SREM", "s", "a")),
])
def test_W8_successful_writes_touch_even_if_equal(
        setup: list[tuple[object, ...]], key: str, command: tuple[object, ...]) -> None:
    assert touches(setup, key, command)  # type: ignore[arg-type]


# --------------------------------------------------------------------- M15 blocking commands


def test_M15_blocking_pops_inside_multi_do_not_block(a: Client) -> None:
    a.execute("RPUSH", "full", "a", "b")
    a.execute("MULTI")
    for line in [("BLPOP", "empty", 0), ("BRPOP", "empty", "other", 0), ("BLMOVE", "empty", "d", "LEFT", "RIGHT", 0),
                 ("BRPOPLPUSH", "empty", "d", 0), ("BRPOP", "empty", "full", 0), ("BLPOP", "empty", "x")]:
        assert a.execute(*line) == Status("QUEUED")
    assert a.execute("EXEC") == (
        NULL_ARRAY, NULL_ARRAY, None, None, (b"full", b"b"),
        Error("ERR timeout is not a float or out of range"))


def test_M15_blocking_pop_with_data_pops_anywhere(a: Client) -> None:
    a.execute("RPUSH", "l", "a", "b")
    assert a.execute("BLPOP", "nope", "l", 0) == (b"l", b"a")
    assert a.execute("BRPOPLPUSH", "l", "d", 0) == b"b"
    assert a.execute("EXISTS", "l") == 0


def test_M15_blocking_pop_outside_multi_cannot_be_modelled(a: Client) -> None:
    assert a.execute("BLPOP", "empty", 0) == Error("ERR redlin's model does not block")
    assert a.execute("BLPOP", "empty", -1) == Error("ERR timeout is negative")
    assert a.execute("BLPOP", "empty", "inf") == Error("ERR timeout is negative")


# --------------------------------------------------------------------- against a live server

SCRIPT: list[tuple[str | int, ...]] = [
    ("LPUSH", "l", "a", "b", "c"), ("RPUSH", "l", "a", "d"), ("LRANGE", "l", -100, 100), ("LPOS", "l", "a", "COUNT", 0),
    ("LREM", "l", 1, "a"), ("LINSERT", "l", "AFTER", "b", "x"), ("LSET", "l", -1, "z"), ("LTRIM", "l", 1, -1),
    ("RPOP", "l", 2), ("LPOP", "l", 0), ("LPOP", "nope", 1), ("LPOP", "l", -1), ("LMOVE", "l", "l2", "RIGHT", "LEFT"),
    ("LLEN", "l"), ("LINDEX", "l2", 0), ("RPOPLPUSH", "l2", "l2"), ("LRANGE", "l", "x", 1),
    ("HSET", "h", "f", "1", "g", "2"), ("HSET", "h", "f", "3"), ("HINCRBY", "h", "f", 7), ("HINCRBY", "h", "g", "x"),
    ("HINCRBYFLOAT", "h", "f", "0.1"), ("HINCRBYFLOAT", "h", "f", "1e-3"), ("HINCRBY", "h", "f", 1),
    ("HGETALL", "h"), ("HKEYS", "h"), ("HVALS", "h"), ("HMGET", "h", "f", "zz"), ("HDEL", "h", "g", "zz"),
    ("HSETNX", "h", "f", "v"), ("HSTRLEN", "h", "f"), ("HSET", "h", "f"),
    ("SADD", "s", "a", "b", "c"), ("SADD", "t", "b", "c", "d"), ("SINTER", "s", "t"), ("SUNION", "s", "t"),
    ("SDIFF", "s", "t"), ("SMISMEMBER", "s", "a", "d"), ("SMOVE", "s", "t", "a"), ("SINTERSTORE", "u", "s", "t"),
    ("SDIFFSTORE", "u", "s", "nope"), ("SMEMBERS", "u"), ("SREM", "s", "b", "c"), ("SCARD", "s"),
    ("ZADD", "z", 1, "a", "0.1", "b", "inf", "c"), ("ZADD", "z", "XX", "CH", 2, "a", 3, "new"),
    ("ZADD", "z", "INCR", "-inf", "c"), ("ZINCRBY", "z", "2.5", "b"), ("ZRANGE", "z", 0, -1, "WITHSCORES"),
    ("ZRANGE", "z", "(1", "+inf", "BYSCORE", "REV", "LIMIT", 0, 1, "WITHSCORES"), ("ZREVRANGE", "z", 0, 1),
    ("ZRANGE", "z", "-", "[b", "BYLEX"), ("ZRANGEBYSCORE", "z", "-inf", "(2", "WITHSCORES"),
    ("ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", 1, 5), ("ZRANK", "z", "b"), ("ZREVRANK", "z", "b"),
    ("ZCOUNT", "z", "-inf", "+inf"), ("ZMSCORE", "z", "a", "zz"), ("ZRANGESTORE", "zz", "z", 0, 0),
    ("ZPOPMAX", "z"), ("ZPOPMIN", "z", 2), ("SINTERCARD", 2, "s", "t", "LIMIT", 1),
    ("ZREM", "z", "a", "zz"), ("ZCARD", "z"), ("ZADD", "z", "GT", "LT", 1, "a"), ("ZADD", "z", "1e-400", "a"),
    ("SET", "str", "v"), ("LPUSH", "str", "a"), ("HGET", "str", "f"), ("SADD", "str", "a"), ("ZSCORE", "str", "a"),
    ("MULTI",), ("BLPOP", "nope", 0), ("BLMOVE", "nope", "x", "LEFT", "LEFT", 0), ("EXEC",),
]


def test_D11_to_D16_match_a_live_server(redis_server: object) -> None:
    host, port = redis_server.host, redis_server.port  # type: ignore[attr-defined]
    model = Redis().client()
    with socket.create_connection((host, port), timeout=10) as sock:
        parser = Parser()

        def live(argv: Sequence[str | int]) -> object:
            sock.sendall(encode_command(argv))
            while True:
                for reply in parser.values():
                    return reply
                parser.feed(sock.recv(65536))

        live(("FLUSHALL",))
        for argv in SCRIPT:
            expected, got = live(argv), model.execute(*argv)
            spec = lookup([str(argv[0]).encode()])
            if spec is not None and "unordered" in spec.flags:
                pairs = "pairs" in spec.flags
                expected, got = sort_unordered(expected, pairs), sort_unordered(got, pairs)  # type: ignore[arg-type]
            assert got == expected, argv
