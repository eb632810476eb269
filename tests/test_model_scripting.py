"""Scripting in the model: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT against the sheet.

Each test names the sheet item it covers (``/work/shared/redis-semantics.md``, section E).  The
expected texts are the ones verified on Redis 7.0.15; ``test_scripts_match_a_live_server`` runs a
corpus of scripts on the model and on a redis-server of our own and compares every reply.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator

import pytest

from redlin.model import COMMANDS, INITIAL_STATE, NULL_ARRAY, OK, Error, Redis, Status, keys_of, step
from redlin.model import _lua_runtime as lua_runtime
from redlin.model._client import Client
from redlin.model._lua_runtime import ScriptTooLong
from redlin.model._reply import Reply
from redlin.model._resp import Incomplete, Parser, encode_command
from redlin.model._scripting import sandbox

LLONG_MIN = -(2**63)


def sha(body: str | bytes) -> str:
    return hashlib.sha1(body.encode() if isinstance(body, str) else body).hexdigest()


def failed(body: str, text: str, line: int = 1) -> Error:
    """The reply of a script that raised: the text, then Redis's position suffix."""
    return Error(f"{text} script: {sha(body)}, on @user_script:{line}.")


@pytest.fixture
def r() -> Client:
    return Redis().client()


def run(client: Client, body: str, *args: str | int, keys: int = 0) -> Reply:
    return client.execute("EVAL", body, keys, *args)


# ---------------------------------------------------------------------------- Lua -> Redis


@pytest.mark.parametrize(("body", "reply"), [
    ("return 100.5", 100), ("return -3.9", -3), ("return 7/2", 3), ("return -0.5", 0), ("return 3", 3),
])
def test_E1_numbers_truncate_toward_zero(r: Client, body: str, reply: int) -> None:
    assert run(r, body) == reply


@pytest.mark.parametrize(("body", "reply"), [
    ("return 'x'", b"x"), ("return ''", b""), ("return true", 1), ("return false", None), ("return nil", None),
    ("return '\\0\\r\\n'", b"\0\r\n"),
])
def test_E2_strings_booleans_nil(r: Client, body: str, reply: Reply) -> None:
    assert run(r, body) == reply


@pytest.mark.parametrize(("body", "reply"), [
    ("return {1,nil,3}", (1,)),
    ("return {1,false,true,'x'}", (1, None, 1, b"x")),
    ("return {1,2.7,{}}", (1, 2, ())),
    ("return {{1,{2}},{}}", ((1, (2,)), ())),
    ("return {}", ()),
])
def test_E3_arrays_cut_at_first_nil(r: Client, body: str, reply: Reply) -> None:
    assert run(r, body) == reply


@pytest.mark.parametrize(("body", "reply"), [
    ("return {a=1}", ()), ("return {1,2,a=3}", (1, 2)), ("return {[2]=2}", ()),
])
def test_E4_hash_part_is_ignored(r: Client, body: str, reply: Reply) -> None:
    assert run(r, body) == reply


def test_E5_status_replies(r: Client) -> None:
    assert run(r, "return {ok='fine'}") == Status("fine")
    assert run(r, "return redis.status_reply('FINE')") == Status("FINE")
    assert run(r, "return {ok='a\\r\\nb'}") == Status("a  b")  # CR/LF become spaces
    assert run(r, "return {ok=5}") == ()  # not a string: an (empty) array
    assert run(r, "return redis.status_reply(1)") == Error("ERR wrong number or type of arguments")


def test_E6_error_replies(r: Client) -> None:
    assert run(r, "return {err='no code here'}") == Error("no code here")
    assert run(r, "return redis.error_reply('my error')") == Error("my error")
    assert run(r, "return redis.error_reply('-FOO bar')") == Error("FOO bar")
    assert run(r, "return redis.error_reply('FOO')") == Error("ERR FOO")
    assert run(r, "return redis.error_reply('')") == Error("ERR ")
    assert run(r, "return {err=''}") == Error("")
    assert run(r, "return {err='-FOO bar'}") == Error("-FOO bar")
    assert run(r, "return {err='x\\ny\\r\\n'}") == Error("x y")
    assert run(r, "return {err='a\\0b'}") == Error("a")  # C strings end at NUL
    assert run(r, "return redis.error_reply()") == Error("ERR wrong number or type of arguments")
    assert run(r, "return {1, {err='inner'}, {ok='s'}}") == (1, Error("inner"), Status("s"))


# ---------------------------------------------------------------------------- Redis -> Lua


def test_E7_replies_seen_from_lua(r: Client) -> None:
    r.execute("SET", "n", "5")
    r.execute("SET", "s", "x")
    r.execute("RPUSH", "l", "a", "b")
    body = """
        return {type(redis.call('incr', 'n')), type(redis.call('get', 's')),
                tostring(redis.call('get', 'missing')), type(redis.call('lrange', 'l', 0, -1)),
                redis.call('set', 'k', 'v').ok, redis.pcall('incr', 's').err,
                #redis.call('lrange', 'empty', 0, -1), redis.call('lrange', 'l', 0, -1)[2]}
    """
    assert run(r, body) == (b"number", b"string", b"false", b"table", b"OK",
                            b"ERR value is not an integer or out of range", 0, b"b")


def test_E8_lua_numbers_as_arguments_use_17_digits(r: Client) -> None:
    assert run(r, "return redis.call('set', 'k', 3.7)") == OK
    assert r.execute("GET", "k") == b"3.7000000000000002"
    run(r, "redis.call('set', 'k', 0.1)")
    assert r.execute("GET", "k") == b"0.10000000000000001"
    run(r, "redis.call('set', 'k', 12)")
    assert r.execute("GET", "k") == b"12"
    assert run(r, "return redis.call('echo', 1e20)") == b"1e+20"
    assert run(r, "return redis.call('echo', 1/0)") == b"inf"
    assert run(r, "return redis.call('echo', 0/0)") == b"-nan"  # x86-64's 0/0, as glibc prints it


@pytest.mark.parametrize("argument", ["{}", "nil", "true", "redis"])
def test_E8_other_argument_types_are_refused(r: Client, argument: str) -> None:
    body = f"return redis.call('get', {argument})"
    assert run(r, body) == failed(body, "ERR Lua redis lib command arguments must be strings or integers")
    body = f"return redis.pcall('get', {argument})"
    assert run(r, body) == Error("ERR Lua redis lib command arguments must be strings or integers")


def test_E9_call_error_suffix_names_the_line(r: Client) -> None:
    r.execute("RPUSH", "l", "a")
    body = "return redis.call('get', 'l')"
    assert run(r, body) == failed(body, "WRONGTYPE Operation against a key holding the wrong kind of value")
    body = "local x = 1\n\nredis.call('get', 'l')\nreturn x"
    assert run(r, body) == failed(body, "WRONGTYPE Operation against a key holding the wrong kind of value", 3)
    body = "redis.call('set', 'k', 'v', 'bad')"
    assert run(r, body) == failed(body, "ERR syntax error")


def test_E10_pcall_returns_the_error(r: Client) -> None:
    r.execute("RPUSH", "l", "a")
    assert run(r, "return redis.pcall('get', 'l')") == Error(
        "WRONGTYPE Operation against a key holding the wrong kind of value")
    assert run(r, "local t = redis.pcall('get', 'l'); return {t.err, tostring(t.ignore_error_stats_update)}") == (
        b"WRONGTYPE Operation against a key holding the wrong kind of value", b"true")
    # Lua's pcall around redis.call gives the text, as Redis's own pcall does.
    body = "local ok, e = pcall(redis.call, 'get', 'l'); return {tostring(ok), e}"
    assert run(r, body) == (b"false", b"WRONGTYPE Operation against a key holding the wrong kind of value")
    assert run(r, "local ok, e = pcall(error, {err='x'}); return e") == b"x"


def test_E11_unknown_command(r: Client) -> None:
    body = "return redis.call('nosuch', 'x')"
    assert run(r, body) == failed(body, "ERR Unknown Redis command called from script")
    assert run(r, "return redis.pcall('nosuch')") == Error("ERR Unknown Redis command called from script")
    body = "return redis.call('script', 'bogus')"  # an unknown subcommand is an unknown command
    assert run(r, body) == failed(body, "ERR Unknown Redis command called from script")


def test_E12_wrong_arity(r: Client) -> None:
    body = "return redis.call('get')"
    assert run(r, body) == failed(body, "ERR Wrong number of args calling Redis command from script")
    assert run(r, "return redis.pcall('get', 'a', 'b')") == Error(
        "ERR Wrong number of args calling Redis command from script")
    body = "return redis.call('script')"
    assert run(r, body) == failed(body, "ERR Wrong number of args calling Redis command from script")


def test_E13_call_without_arguments(r: Client) -> None:
    body = "return redis.call()"
    assert run(r, body) == failed(body, "ERR Please specify at least one argument for this redis lib call")
    assert run(r, "return redis.pcall()") == Error("ERR Please specify at least one argument for this redis lib call")


def test_E14_lua_runtime_errors(r: Client) -> None:
    body = "error('boom')"
    assert run(r, body) == failed(body, "ERR user_script:1: boom")
    body = "error({err='CUSTOM boom'})"
    assert run(r, body) == failed(body, "CUSTOM boom")
    body = "local t = nil\nreturn t.x"
    assert run(r, body) == failed(body, "ERR user_script:2: attempt to index local 't' (a nil value)", 2)
    body = "error('x', 0)"
    assert run(r, body) == failed(body, "ERR x")
    body = "error(42)"
    assert run(r, body) == failed(body, "ERR user_script:1: 42")
    body = "error()"
    assert run(r, body) == failed(body, "ERR nil")
    body = "error('a\\nb')"
    assert run(r, body) == failed(body, "ERR user_script:1: a b")


def test_E15_compile_errors(r: Client) -> None:
    expected = Error("ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'")
    assert run(r, "return 1 +") == expected
    assert r.execute("SCRIPT", "LOAD", "return 1 +") == expected
    assert r.execute("SCRIPT", "EXISTS", sha("return 1 +")) == (0,)  # nothing cached


def test_E16_global_protection(r: Client) -> None:
    body = "return nope"
    assert run(r, body) == failed(body, "ERR user_script:1: Script attempted to access nonexistent global variable 'nope'")
    body = "x = 1"
    assert run(r, body) == failed(body, "ERR user_script:1: Attempt to modify a readonly table")
    body = "rawset(_G, 'y', 1)"
    assert run(r, body) == failed(body, "ERR Attempt to modify a readonly table")
    body = "return setmetatable(_G, nil)"  # a tail call keeps the caller's line, as with a C function
    assert run(r, body) == failed(body, "ERR Attempt to modify a readonly table")
    for body in ("string.foo = 1", "redis = 1", "KEYS = 1", "local t = getmetatable(_G); t.__index = nil"):
        assert run(r, body) == failed(body, "ERR user_script:1: Attempt to modify a readonly table")
    body = "setmetatable(_G, nil)"
    assert run(r, body) == failed(body, "ERR Attempt to modify a readonly table")
    # Later scripts are unaffected, whatever the earlier ones tried.
    run(r, "pcall(function() x = 1 end); pcall(rawset, _G, 'y', 1); pcall(rawset, string, 'rep', 1)")
    assert run(r, "return {type(rawget(_G, 'x')), type(rawget(_G, 'y')), type(string.rep)}") == (
        b"nil", b"nil", b"function")


def test_E16_no_way_around_the_protection(r: Client) -> None:
    body = "getmetatable('').__index = nil"
    assert run(r, body) == failed(body, "ERR user_script:1: Attempt to modify a readonly table")
    body = "local f = loadstring('zz = 1'); f()"
    assert run(r, body) == Error(
        f'ERR [string "zz = 1"]:1: Attempt to modify a readonly table script: {sha(body)}, on zz = 1:1.')
    assert run(r, "return rawget(_G, 'nope') == nil") == 1
    assert run(r, "return type(rawget(_G, 'redis'))") == b"table"
    assert run(r, "return tostring(getmetatable(redis.call))") == b"false"
    run(r, "for k, v in pairs(_G) do pcall(rawset, v, 'leak', 1) end")
    assert run(r, "return rawget(string, 'leak') == nil and rawget(redis, 'leak') == nil") == 1


def test_E17_no_rollback(r: Client) -> None:
    r.execute("RPUSH", "l", "a")
    body = "redis.call('set', 'k', 'v')\nredis.call('get', 'l')\nredis.call('set', 'k', 'never')"
    assert run(r, body) == failed(body, "WRONGTYPE Operation against a key holding the wrong kind of value", 2)
    assert r.execute("GET", "k") == b"v"
    body = "redis.pcall('get', 'l'); redis.call('set', 'k', 'after'); return 1"
    assert run(r, body) == 1
    assert r.execute("GET", "k") == b"after"


@pytest.mark.parametrize(("numkeys", "reply"), [
    ("-1", Error("ERR Number of keys can't be negative")),
    ("2", Error("ERR Number of keys can't be greater than number of args")),
    ("abc", Error("ERR value is not an integer or out of range")),
    ("9223372036854775808", Error("ERR value is not an integer or out of range")),
])
def test_E18_numkeys_errors(r: Client, numkeys: str, reply: Error) -> None:
    assert r.execute("EVAL", "return 1", numkeys, "a") == reply
    assert r.execute("EVALSHA", "a" * 40, numkeys, "a") == reply  # checked before the lookup


def test_E18_missing_numkeys_is_an_arity_error(r: Client) -> None:
    assert r.execute("EVAL", "return 1") == Error("ERR wrong number of arguments for 'eval' command")
    assert r.execute("EVALSHA", "x") == Error("ERR wrong number of arguments for 'evalsha' command")


def test_E18_numkeys_checked_before_compiling(r: Client) -> None:
    assert r.execute("EVAL", "return 1 +", "x") == Error("ERR value is not an integer or out of range")


def test_E19_keys_and_argv(r: Client) -> None:
    body = "return {KEYS[1], KEYS[2], ARGV[1], ARGV[1] + 1, #KEYS, #ARGV}"
    assert r.execute("EVAL", body, 2, "k1", "k2", "41") == (b"k1", b"k2", b"41", 42, 2, 1)
    assert r.execute("EVAL", "return {#KEYS, #ARGV}", 0) == (0, 0)
    # Each run gets fresh tables.
    assert r.execute("EVAL", "KEYS[1] = 'changed'; return KEYS[1]", 1, "k") == b"changed"
    assert r.execute("EVAL", "return KEYS[1]", 1, "k") == b"k"


def test_E20_noscript(r: Client) -> None:
    noscript = Error("NOSCRIPT No matching script. Please use EVAL.")
    assert r.execute("EVALSHA", "a" * 40, 0) == noscript
    assert r.execute("EVALSHA", "abc", "x") == noscript  # a malformed sha: before numkeys
    digest = r.execute("SCRIPT", "LOAD", "return 'hi'")
    assert isinstance(digest, bytes)
    assert r.execute("EVALSHA", digest.upper(), 0) == b"hi"
    assert r.execute("EVALSHA_RO", digest.decode().upper(), 0) == b"hi"


def test_E21_script_load_exists_flush(r: Client) -> None:
    body = "return KEYS[1]..ARGV[1]"
    assert r.execute("SCRIPT", "LOAD", body) == sha(body).encode()
    assert r.execute("SCRIPT", "EXISTS", sha(body), sha(body).upper(), "nope") == (1, 1, 0)
    assert r.execute("EVALSHA", sha(body), 1, "k", "v") == b"kv"
    assert r.execute("SCRIPT", "FLUSH") == OK
    assert r.execute("EVALSHA", sha(body), 1, "k", "v") == Error("NOSCRIPT No matching script. Please use EVAL.")
    assert r.execute("EVAL", body, 1, "k", "v") == b"kv"  # EVAL caches its body
    assert r.execute("SCRIPT", "EXISTS", sha(body)) == (1,)
    assert r.execute("SCRIPT", "FLUSH", "ASYNC") == OK
    assert r.execute("SCRIPT", "FLUSH", "sync") == OK
    assert r.execute("SCRIPT", "FLUSH", "x") == Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    assert r.execute("SCRIPT", "EXISTS") == Error("ERR wrong number of arguments for 'script|exists' command")
    assert r.execute("SCRIPT", "LOAD") == Error("ERR wrong number of arguments for 'script|load' command")
    assert r.execute("SCRIPT", "nope") == Error("ERR unknown subcommand 'nope'. Try SCRIPT HELP.")
    assert r.execute("SCRIPT") == Error("ERR wrong number of arguments for 'script' command")


def test_E21_other_script_subcommands(r: Client) -> None:
    assert r.execute("SCRIPT", "KILL") == Error("NOTBUSY No scripts in execution right now.")
    assert r.execute("SCRIPT", "DEBUG", "NO") == OK
    assert r.execute("SCRIPT", "DEBUG", "maybe") == Error("ERR Use SCRIPT DEBUG YES/SYNC/NO")
    help_lines = r.execute("SCRIPT", "HELP")
    assert isinstance(help_lines, tuple) and help_lines[0] == Status(
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:") and len(help_lines) == 17


@pytest.mark.parametrize("call", [
    "'blpop', 'l', 0", "'brpop', 'l', 0", "'multi'", "'exec'", "'discard'", "'eval', 'return 1', 0",
    "'evalsha', 'x', 0", "'watch', 'k'", "'unwatch'", "'subscribe', 'c'", "'quit'", "'reset'",
    "'script', 'load', 'return 1'", "'script', 'flush'", "'save'", "'shutdown'",
])
def test_E22_commands_refused_in_scripts(r: Client, call: str) -> None:
    name = call.split(",")[0].strip("'").encode()
    if name not in COMMANDS:
        pytest.skip(f"{name.decode()} is not in the model's command table yet")
    body = f"return redis.call({call})"
    assert run(r, body) == failed(body, "ERR This Redis command is not allowed from script")
    assert run(r, f"return redis.pcall({call})") == Error("ERR This Redis command is not allowed from script")


def test_E23_read_only_scripts_refuse_writes(r: Client) -> None:
    body = "return redis.call('set', 'a', 'b')"
    assert r.execute("EVAL_RO", body, 0) == failed(body, "ERR Write commands are not allowed from read-only scripts.")
    assert r.execute("GET", "a") is None
    assert r.execute("EVALSHA_RO", sha(body), 0) == failed(
        body, "ERR Write commands are not allowed from read-only scripts.")
    assert r.execute("EVAL_RO", "return redis.call('get', 'a')", 0) is None
    assert r.execute("EVAL_RO", "return redis.call('bogus')", 0) == failed(
        "return redis.call('bogus')", "ERR Unknown Redis command called from script")
    for name, call in (("publish", "'publish', 'c', 'm'"), ("pfcount", "'pfcount', 'h'")):
        if name.encode() in COMMANDS:  # MAY_REPLICATE commands count as writes
            body = f"return redis.call({call})"
            assert r.execute("EVAL_RO", body, 0) == failed(
                body, "ERR Write commands are not allowed from read-only scripts.")


def test_E23_shebang_flags(r: Client) -> None:
    body = '#!lua flags=no-writes\nreturn redis.call("set","a","b")'
    assert run(r, body) == failed(body, "ERR Write commands are not allowed from read-only scripts.", 2)
    assert run(r, '#!lua flags=no-writes\nreturn redis.call("get","a")') is None
    assert r.execute("EVAL_RO", '#!lua\nreturn redis.call("get","a")', 0) == Error(
        "ERR Can not execute a script with write flag using *_ro command.")
    assert r.execute("EVAL_RO", '#!lua flags=no-writes,allow-oom\nreturn 1', 0) == 1
    body = '#!lua\nerror("x")'
    assert run(r, body) == failed(body, "ERR user_script:2: x", 2)
    assert run(r, "#!python\nreturn 1") == Error("ERR Unexpected engine in script shebang: #!python")
    assert run(r, "#!lua flags=bogus\nreturn 1") == Error("ERR Unexpected flag in script shebang: bogus")
    assert run(r, "#!lua bogus\nreturn 1") == Error("ERR Unknown lua shebang option: bogus")
    assert run(r, "#!lua") == Error("ERR Invalid script shebang")
    assert run(r, "#!lua flags=\nreturn 1") == 1
    assert r.execute("SCRIPT", "LOAD", "#!python\nreturn 1") == Error("ERR Unexpected engine in script shebang: #!python")


def test_E24_eval_inside_multi(r: Client) -> None:
    assert r.execute("MULTI") == OK
    assert r.execute("EVAL", "return redis.call('incr', KEYS[1])", 1, "n") == Status("QUEUED")
    assert r.execute("EVAL", "error('boom')", 0) == Status("QUEUED")
    assert r.execute("EVALSHA", "a" * 40, 0) == Status("QUEUED")
    assert r.execute("EVAL", "return 1", "-1") == Status("QUEUED")
    assert r.execute("EXEC") == (1, failed("error('boom')", "ERR user_script:1: boom"),
                                 Error("NOSCRIPT No matching script. Please use EVAL."),
                                 Error("ERR Number of keys can't be negative"))
    assert r.execute("MULTI") == OK
    assert r.execute("EVAL", "return 1") == Error("ERR wrong number of arguments for 'eval' command")
    assert r.execute("EXEC") == Error("EXECABORT Transaction discarded because of previous errors.")


@pytest.mark.parametrize("body", ["return 1e20", "return -1e20", "return 1/0", "return -1/0", "return 0/0",
                                  "return 2^63", "return {1e20}"])
def test_E28_out_of_range_numbers_are_llong_min(r: Client, body: str) -> None:
    expected: Reply = (LLONG_MIN,) if body.endswith("}") else LLONG_MIN
    assert run(r, body) == expected
    assert run(r, "return -2^63") == LLONG_MIN
    assert run(r, "return 2^62") == 2**62


def test_E29_environment(r: Client) -> None:
    assert run(r, "return _VERSION") == b"Lua 5.1"
    assert run(r, "return redis.sha1hex('abc')") == b"a9993e364706816aba3e25717850c26c9cd0d89d"
    assert run(r, "return redis.sha1hex(1)") == sha("1").encode()
    body = "return redis.sha1hex()"
    assert run(r, body) == failed(body, "ERR wrong number of arguments")
    for name in ("os", "io", "print", "require", "debug", "getfenv", "setfenv", "newproxy", "dofile", "loadfile",
                 "module", "python"):
        body = f"return {name}"
        assert run(r, body) == failed(
            body, f"ERR user_script:1: Script attempted to access nonexistent global variable '{name}'")
    assert run(r, "return {type(cjson), type(bit), type(redis), type(string), type(math), type(table)}") == (
        b"table",) * 6
    assert run(r, "return {redis.REDIS_VERSION, redis.REDIS_VERSION_NUM, redis.LOG_WARNING, redis.REPL_ALL}") == (
        b"7.0.15", 458767, 3, 3)


def test_E29_redis_helpers(r: Client) -> None:
    assert run(r, "redis.log(redis.LOG_WARNING, 'hello')") is None
    for body, text in (("redis.log()", "ERR redis.log() requires two arguments or more."),
                       ("redis.log('x', 'y')", "ERR First argument must be a number (log level)."),
                       ("redis.log(99, 'y')", "ERR Invalid debug level."),
                       ("redis.setresp(4)", "ERR RESP version must be 2 or 3."),
                       ("redis.setresp()", "ERR redis.setresp() requires one argument."),
                       ("redis.set_repl(8)", "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, "
                                             "REPL_ALL or REPL_NONE."),
                       ("redis.acl_check_cmd('nosuch')", "ERR Invalid command passed to redis.acl_check_cmd()")):
        assert run(r, body) == failed(body, text)
    assert run(r, "return redis.setresp(2)") is None
    # false is a nil element, not the end of the array
    assert run(r, "return {redis.replicate_commands(), redis.breakpoint(), redis.acl_check_cmd('get', 'x')}") == (
        1, None, 1)


def test_E29_math_random_starts_like_a_fresh_server(r: Client) -> None:
    # The first script on a fresh Redis 7.0.15 (values taken from a live server).
    body = "return {tostring(math.random()), tostring(math.random()), math.random(100), math.random(3,9)}"
    assert run(r, body) == (b"0.39646477363839", b"0.84048536971234", 36, 6)
    assert run(r, body) == (b"0.39646477363839", b"0.84048536971234", 36, 6)  # deterministic per run
    assert run(r, "math.randomseed(7); return {tostring(math.random()), math.random(1000)}") == (
        b"0.26644419658298", 683)
    body = "return math.random(0)"
    assert run(r, body) == failed(body, "ERR user_script:1: bad argument #1 to 'random' (interval is empty)")
    body = "return math.random(5, 1)"
    assert run(r, body) == failed(body, "ERR user_script:1: bad argument #2 to 'random' (interval is empty)")
    body = "return math.random('x')"
    assert run(r, body) == failed(body, "ERR user_script:1: bad argument #1 to 'random' (number expected, got string)")


def test_E29_bit(r: Client) -> None:
    body = """return {bit.band(0xff, 0x0f), bit.tobit(2^32+5), bit.tohex(255), bit.tohex(-1, -4),
        bit.lshift(1, 33), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.bnot(0), bit.bxor(5, 3),
        bit.bor(1,2,4), bit.rol(1, 31), bit.ror(1, 1), bit.bswap(0x12345678), bit.tobit(1.5),
        bit.tobit(2.5), bit.tobit('0x10')}"""
    assert run(r, body) == (15, 5, b"000000ff", b"FFFF", 2, 15, -16, -1, 6, 7, -2147483648, -2147483648,
                            2018915346, 2, 2, 16)
    body = "return bit.band(1, nil, nil)"
    assert run(r, body) == failed(body, "ERR user_script:1: bad argument #3 to 'band' (number expected, got nil)")


def test_E29_cjson(r: Client) -> None:
    # Key order is Lua's own table order, as in Redis.
    assert run(r, "return cjson.encode({a=1,b=2,c={1,2,3},d='x/y\"z\\1',e=1.5,f=1e100,g=0.1})") == (
        b'{"a":1,"c":[1,2,3],"b":2,"e":1.5,"d":"x\\/y\\"z\\u0001","g":0.1,"f":1e+100}')
    assert run(r, "return cjson.encode({[1]=1,[2]=2,[4]=4})") == b"[1,2,null,4]"
    assert run(r, "return cjson.encode({})") == b"{}"
    assert run(r, "return cjson.encode(cjson.null)") == b"null"
    body = "return cjson.encode({[1]=1,[20]=2})"
    assert run(r, body) == failed(body, "ERR user_script:1: Cannot serialise table: excessively sparse array")
    body = "return cjson.encode(function() end)"
    assert run(r, body) == failed(body, "ERR user_script:1: Cannot serialise function: type not supported")
    body = """local t = cjson.decode('{"a":[1,2,{"b":null}],"c":"\\\\u00e9\\\\ud83d\\\\ude00","d":1e400}')
return {t.a[1], t.a[3].b == cjson.null, t.c, tostring(t.d)}"""
    assert run(r, body) == (1, 1, "é😀".encode(), b"inf")
    body = "return cjson.decode('[1,2')"
    assert run(r, body) == failed(
        body, "ERR user_script:1: Expected comma or array end but found T_END at character 5")
    assert run(r, "local ok, e = pcall(cjson.decode, 'x'); return e") == (
        b"Expected value but found invalid token at character 1")


def test_E29_cmsgpack(r: Client) -> None:
    assert run(r, "return cmsgpack.pack({1, 2, 3}, {a = 1}, true, nil, 1.5, -1, 'x')") == (
        b"\x93\x01\x02\x03\x81\xa1a\x01\xc3\xc0\xca?\xc0\x00\x00\xff\xa1x")
    assert run(r, "return {cmsgpack.unpack(cmsgpack.pack(1, 'two', {3, 4}, true))}") == (1, b"two", (3, 4), 1)
    assert run(r, "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}") == (2, 2)
    body = "return cmsgpack.unpack('\\193')"
    assert run(r, body) == failed(body, "ERR user_script:1: Bad data format in input.")


def test_E29_struct(r: Client) -> None:
    assert run(r, "return struct.pack('>i<hBc2s', 1, -2, 255, 'ab', 'cd')") == b"\x00\x00\x00\x01\xfe\xff\xffabcd\x00"
    assert run(r, "return {struct.unpack('>i<hBc2s', struct.pack('>i<hBc2s', 1, -2, 255, 'ab', 'cd'))}") == (
        1, -2, 255, b"ab", b"cd", 13)
    assert run(r, "return struct.size('!ibd')") == 16
    body = "return struct.pack('z', 1)"
    assert run(r, body) == failed(body, "ERR user_script:1: bad argument #1 to 'pack' (invalid format option 'z')")


def test_E30_doubles(r: Client) -> None:
    assert run(r, "return 9007199254740993") == 9007199254740992
    r.execute("SET", "k", "9007199254740992")
    assert run(r, "return redis.call('incr', 'k')") == 9007199254740992  # 2^53+1 rounds in Lua
    assert r.execute("GET", "k") == b"9007199254740993"  # the stored value is exact
    assert run(r, "return tostring(123456789012345)") == b"1.2345678901234e+14"
    assert run(r, "return tostring(1e15)") == b"1e+15"


def test_E31_select_in_script_keeps_the_callers_db(r: Client) -> None:
    assert run(r, "redis.call('select', 2); redis.call('set', 'k', 'in2'); return redis.call('get', 'k')") == b"in2"
    assert r.execute("GET", "k") is None
    assert r.execute("SELECT", "2") == OK
    assert r.execute("GET", "k") == b"in2"
    assert run(r, "redis.call('select', 0); return redis.call('get', 'k')") is None
    assert r.execute("GET", "k") == b"in2"  # still on DB 2
    # Inside EXEC too: later queued commands run in the caller's DB.
    r.execute("MULTI")
    r.execute("EVAL", "redis.call('select', 5)", 0)
    r.execute("GET", "k")
    assert r.execute("EXEC") == (None, b"in2")


# ---------------------------------------------------------------------------- the model's contract


def test_step_stays_pure() -> None:
    state, digest = step(INITIAL_STATE, 1, [b"SCRIPT", b"LOAD", b"return redis.call('incr', KEYS[1])"])
    assert isinstance(digest, bytes)
    first = step(state, 1, [b"EVALSHA", digest, b"1", b"n"])
    second = step(state, 1, [b"EVALSHA", digest, b"1", b"n"])
    assert first == second and first[1] == 1
    assert step(state, 1, [b"GET", b"n"])[1] is None  # the input state is untouched
    flushed, _ = step(state, 1, [b"SCRIPT", b"FLUSH"])
    assert flushed == INITIAL_STATE and state != INITIAL_STATE


def test_eval_adds_its_body_to_the_state() -> None:
    state, reply = step(INITIAL_STATE, 1, [b"EVAL", b"return 1", b"0"])
    assert reply == 1
    assert dict(state.scripts) == {sha("return 1").encode(): b"return 1"}
    again, _ = step(state, 2, [b"EVAL", b"return 1", b"0"])
    assert again is state  # nothing changed


def test_keys_of_eval_family() -> None:
    for name in (b"EVAL", b"EVALSHA", b"EVAL_RO", b"EVALSHA_RO"):
        assert keys_of([name, b"body", b"2", b"a", b"b", b"arg"]) == (b"a", b"b")
        assert keys_of([name, b"body", b"0", b"arg"]) == ()
        assert keys_of([name, b"body", b"3", b"a"]) == ()
        assert keys_of([name, b"body", b"x", b"a"]) == ()
    assert "write" not in COMMANDS[b"eval"].flags and "readonly" in COMMANDS[b"eval_ro"].flags


def test_script_sees_expiry_and_touches_watchers() -> None:
    m = Redis()
    watcher, writer = m.client(), m.client()
    watcher.execute("WATCH", "k")
    writer.execute("EVAL", "redis.call('set', KEYS[1], 'v')", 1, "k")
    watcher.execute("MULTI")
    watcher.execute("GET", "k")
    assert watcher.execute("EXEC") is NULL_ARRAY  # W16: a script's write touches


def test_one_runtime_for_the_process() -> None:
    assert sandbox() is sandbox()


def test_many_arguments(r: Client) -> None:
    args = [str(i) for i in range(1000)]
    assert r.execute("EVAL", "return {#KEYS, #ARGV, KEYS[300], ARGV[700]}", 300, *args) == (300, 700, b"299", b"999")


def test_runaway_script_raises_instead_of_hanging(r: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lua_runtime, "INSTRUCTION_BUDGET_MILLIONS", 2)
    for body in ("while true do end", "while true do pcall(function() while true do end end) end"):
        with pytest.raises(ScriptTooLong):
            run(r, body)
    assert run(r, "return 1") == 1  # the interpreter is usable afterwards


def test_E14_error_inside_the_error_handler(r: Client) -> None:
    # error(string): the handler cannot write into a read-only table; Redis reports its own line.
    body = "error(string)"
    assert run(r, body) == Error(f"ERR err_handler_def:10: Attempt to modify a readonly table script: {sha(body)}, "
                                 "on @err_handler_def:10.")


# ---------------------------------------------------------------------------- against a live server

# Scripts run as ``EVAL <script> 2 s l x 5`` after ``SET s str``, ``RPUSH l a b``, ``SET n 41``.
# Nothing here depends on math.random's server-wide state or on addresses (tostring of tables).
LIVE_CORPUS = (
    "return 100.5", "return {1,nil,3}", "return {true, false, 'x', {ok='s'}, {err='e'}}", "return KEYS",
    "return ARGV", "return {KEYS[1], ARGV[1], ARGV[2] + 1}", "return redis.call('lrange', 'l', 0, -1)",
    "return redis.call('set', 'k', 3.7)", "return redis.call('get', 'l')", "return redis.pcall('get', 'l')",
    "return redis.call('nosuch', 'x')", "return redis.call('get')", "return redis.call()", "error('boom')",
    "error({err='CUSTOM boom'})", "local t = nil\nreturn t.x", "return 1 +", "return nope", "x = 1",
    "rawset(_G, 'y', 1)", "return setmetatable(_G, nil)", "string.foo = 1", "setmetatable(_G, nil)",
    "return os", "redis.call('set', 'k', 'v')\nredis.call('lpush', 's', 'x')\nredis.call('set', 'k', 'never')",
    "return redis.call('blpop', 'l', 0)", "return redis.call('multi')", "return redis.call('eval', 'return 1', 0)",
    "redis.call('select', 2); redis.call('set', 'k', 'in2'); return redis.call('get', 'k')",
    "return {1e20, -1/0, 0/0}", "return 9007199254740993", "return tostring(0.1)",
    "return redis.call('echo', 0/0)", "return redis.call('echo', 2^53 + 1)",
    "return cjson.encode({zebra=1, apple=2, mango=3, kiwi=4, banana=5, x1=1, x2=2, x3=3})",
    "return cjson.encode({1.5, -0.25, 1e300, 123456789012345678, 3})", "return cjson.encode('\\0\\1\\31\\127\\128')",
    "return cjson.encode({[true] = 1})", "return cjson.encode(1/0)", "return cjson.encode()",
    "return cjson.decode('{1:2}')", "return cjson.decode('\"abc')", "return cjson.decode('[1] x')",
    "return cjson.decode('')", "return cjson.decode('+1')", "return tostring(cjson.decode('0x10'))",
    "return cjson.decode('[\"\\\\x\"]')", "return cjson.decode('[\"\\\\ud800\"]')", "return cjson.decode({})",
    "return cjson.decode('{\"a\":1,\"b\":[true,false,null]}').b", "return cjson.decode('[01]')",
    "return {bit.band('0x10', 255), bit.tobit(-1), bit.tobit(2^31), bit.tobit(-2^31 - 1), bit.tohex(-1)}",
    "return bit.band()", "return bit.tohex(0x1234, 12)", "return bit.tobit('abc')",
    "return xpcall(function() redis.call('nosuch') end, function(e) return e.err end)",
    "local co = coroutine.create(function() redis.call('nosuch') end); "
    "local ok, e = coroutine.resume(co); return {tostring(ok), type(e)}",
    "error('a\\r\\n')", "error({err='x\\ny\\r\\n'})", "return {ok='x\\ny\\r\\n'}", "error('a\\0b')",
    "error({err=5})", "return {err=5}", "local f = loadstring('return nope2'); return f()",
    "local f, e = loadstring('return 1 +'); return e", "local f = loadstring('return KEYS[1]'); return f()",
    "return type(getmetatable(_G).__index)", "getmetatable('').__index = nil",
    "local out = {}; for k, v in pairs(redis) do table.insert(out, k) end; table.sort(out); return out",
    "local out = {}; for k, v in pairs(math) do table.insert(out, k) end; table.sort(out); return out",
    "local t = {pcall()}; return {#t, tostring(t[1]), tostring(t[2]), type(t[2])}",
    "return select('#', next({}))", "rawset(nil)", "local sm = setmetatable; sm(nil)", "return setmetatable({})",
    "return (loadstring('return 1', {}))", "return load(nil)", "return pairs(nil)", "next({}, 'nokey')",
    "local t = setmetatable({}, {__metatable = 'locked'}); setmetatable(t, {})",
    "return {double=3.5}", "return {map={a=1}}", "return {set={a=true}}",
    "return {verbatim_string={format='txt', string='hello'}}", "return {big_number='12345678901234567890'}",
    "return redis.call('mget', 's', 'nokey', 'l')", "return redis.call('script', 'load', 'return 1')",
    "return redis.call('set', 'k', 'v', 'EX', 0)", "return redis.call(1)", "local t = {}\nt[nil] = 1",
    "local x = 0\nfor i = 1, 10 do\n  x = x + i\nend\nerror('line four')", "return (nil)()", "return {} .. 'x'",
    "local s = 'x'; return s:rep()", "return math.random(1, 2, 3)", "return redis.sha1hex({})",
    "redis.log('x', 'y')", "return redis.error_reply(1)", "return redis.status_reply('a\\0b')",
    "return cmsgpack.pack(1, -1, 127, 128, 255, 256, 65535, 65536, 2^32, -32, -33, -128, -129, -32768, -32769, "
    "-2^31, -2^31-1, -2^63, 2^63, 2^64, 1.5, 0.1, 1/0, 1e300, string.rep('b', 32), string.rep('c', 256))",
    "return cmsgpack.pack({1, 2, 3}, {a = 1}, {}, {[1] = 1, [3] = 3}, true, false, nil, cjson.null)",
    "local t = {} local c = t for i = 1, 20 do c[1] = {} c = c[1] end return cmsgpack.pack(t)",
    "return cmsgpack.pack()", "local a, b, c = cmsgpack.unpack(cmsgpack.pack(1, nil, 3)); return {a, tostring(b), c}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 3)}", "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2), 9)}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}", "return {cmsgpack.unpack_limit(cmsgpack.pack(1), 0)}",
    "return cmsgpack.unpack_limit('x')", "return cmsgpack.unpack('\\205\\1')", "return cmsgpack.unpack({})",
    "return {cmsgpack.unpack('\\208\\255', '\\209\\255\\254', '\\207\\255\\255\\255\\255\\255\\255\\255\\255')}",
    "return {struct.unpack('>i<hBbHlLTfdxc2s', struct.pack('>i<hBbHlLTfdxc2s', 1, -2, 255, -1, 65535, -3, 4, 5, "
    "1.5, 2.5, 'ab', 'cd'))}",
    "return struct.pack('!4bi', 1, 2)", "return struct.pack('i33', 1)", "return struct.pack('c3', 'ab')",
    "return struct.pack('i')", "return {struct.unpack('bc0', '\\3abcdef')}", "return {struct.unpack('c0', 'abc')}",
    "return {struct.unpack('s', 'abc')}", "return {struct.unpack('i', 'ab')}", "return {struct.unpack('b', 'ab', 0)}",
    "return {struct.size('i3c5'), struct.size('z'), struct.size('<>i')}", "return struct.size('s')",
    "return struct.size('?')", "return {struct.unpack('i16', struct.pack('i16', -1))}", "return struct.pack('f', 1e300)",
    "local out = {}; for k, v in pairs(_G) do table.insert(out, k) end; table.sort(out); return out",
)


class _LiveClient:
    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=10)
        self.parser = Parser()

    def __call__(self, *argv: str | int) -> Reply:
        self.sock.sendall(encode_command(argv))
        while True:
            try:
                return self.parser.take()  # type: ignore[return-value]
            except Incomplete:
                self.parser.feed(self.sock.recv(65536))


@pytest.fixture
def live(redis_server: object) -> Iterator[_LiveClient]:
    client = _LiveClient(redis_server.host, redis_server.port)  # type: ignore[attr-defined]
    yield client
    client("FLUSHALL")
    client("SCRIPT", "FLUSH")
    client.sock.close()


@pytest.mark.redis
def test_scripts_match_a_live_server(live: _LiveClient) -> None:
    setup: tuple[tuple[str, ...], ...] = (("SET", "s", "str"), ("RPUSH", "l", "a", "b"), ("SET", "n", "41"))
    mismatches = []
    for body in LIVE_CORPUS:
        live("FLUSHALL")
        live("SCRIPT", "FLUSH")
        model = Redis().client()
        for command in setup:
            live(*command)
            model.execute(*command)
        expected = live("EVAL", body, 2, "s", "l", "x", "5")
        got = model.execute("EVAL", body, 2, "s", "l", "x", "5")
        after = [(live(*c), model.execute(*c)) for c in (("GET", "k"), ("GET", "s"), ("EXISTS", "l"))]
        if expected != got or any(a != b for a, b in after):
            mismatches.append((body, expected, got, after))
    assert not mismatches, "\n".join(map(repr, mismatches))
