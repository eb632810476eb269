"""CONFIG in the model (issue #18) against redis-server 7.0.15: GET's patterns, SET's checks,
normalised values and error texts, RESETSTAT, REWRITE, HELP, and the parameters the model acts on
(proto-max-bulk-len, stream-node-max-entries, min-replicas-to-write).

The probes run on a private server of this module's own (CONFIG SET would change the session's
shared one), each group after a FLUSHALL; every group puts back what it set.  CONFIG GET replies
that list several parameters are compared as sets of pairs: Redis lists them in its hash table's
order.  The unit tests pin the corners so that they run without a server too.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator, Sequence

import pytest
from conftest import RedisServer, live_replies, private_server

from redlin.model import INITIAL_STATE, Error, MapReply, Redis, Status, restart, step, to_resp3
from redlin.model._config_table import DEFAULTS, NAMES, PARAMS, Invalid, canonical, memtoull

OK = Status("OK")

# Parameters whose value on the live server comes from how conftest starts it, or from the machine.
MACHINE = frozenset({b"port", b"bind", b"dir", b"loglevel", b"pidfile", b"logfile", b"daemonize"})

PROBES: dict[str, list[tuple[str, ...]]] = {
    "get": [
        ("CONFIG", "GET", "maxmemory"), ("CONFIG", "GET", "MAXMEMORY"), ("CONFIG", "GET", "MAXmemory", "maxmemory"),
        ("CONFIG", "GET", "maxmemory*"), ("CONFIG", "GET", "maxmemory", "maxmemory*", "hash-max-*"),
        ("CONFIG", "GET", "nosuch"), ("CONFIG", "GET", "nosuch*"), ("CONFIG", "GET", "use-exit-on-panic"),
        ("CONFIG", "GET", "use-exit-*"), ("CONFIG", "GET", "*ziplist*"), ("CONFIG", "GET", "slave*"),
        ("CONFIG", "GET", "save"), ("CONFIG", "GET", "client-output-buffer-limit"),
        ("CONFIG", "GET", "lua-time-limit", "busy-reply-threshold"), ("CONFIG", "GET", "a[co]*"),
        ("CONFIG", "GET", "tls-*"), ("CONFIG", "GET", "?z"), ("CONFIG", "GET"), ("CONFIG",),
        ("CONFIG", "NOSUCH"), ("CONFIG", "GET", "appendonly", "save", "notify-keyspace-events"),
    ],
    "set errors": [
        ("CONFIG", "SET", "foo", "bar"), ("CONFIG", "SET", "maxmemory"), ("CONFIG", "SET", "maxmemory", "1", "x"),
        ("CONFIG", "SET", "daemonize", "yes"), ("CONFIG", "SET", "DAEMONIZE", "yes"),
        ("CONFIG", "SET", "foo", "bar", "daemonize", "yes"), ("CONFIG", "SET", "daemonize", "yes", "foo", "bar"),
        ("CONFIG", "SET", "dir", "/tmp"), ("CONFIG", "SET", "dbfilename", "x.rdb"),
        ("CONFIG", "SET", "maxmemory", "1", "maxmemory", "2"), ("CONFIG", "SET", "MAXMEMORY", "foo"),
        ("CONFIG", "SET", "maxmemory", "-1"), ("CONFIG", "SET", "maxmemory", "1 mb"),
        ("CONFIG", "SET", "appendonly", "maybe"), ("CONFIG", "SET", "maxmemory-policy", "lru"),
        ("CONFIG", "SET", "hz", "x"), ("CONFIG", "SET", "hz", "-1"), ("CONFIG", "SET", "hz", "+5"),
        ("CONFIG", "SET", "hz", "2147483648"), ("CONFIG", "SET", "maxclients", "0"),
        ("CONFIG", "SET", "hash-max-listpack-entries", "-1"), ("CONFIG", "SET", "proto-max-bulk-len", "1000"),
        ("CONFIG", "SET", "maxmemory-clients", "101%"), ("CONFIG", "SET", "maxmemory-clients", "x"),
        ("CONFIG", "SET", "save", "100"), ("CONFIG", "SET", "save", "0 1"), ("CONFIG", "SET", "save", "1 -1"),
        ("CONFIG", "SET", "save", "1 x"), ("CONFIG", "SET", "notify-keyspace-events", "KEZ"),
        ("CONFIG", "SET", "client-output-buffer-limit", "normal 1 2"),
        ("CONFIG", "SET", "client-output-buffer-limit", "master 1 2 3"),
        ("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1x 2 3"),
        ("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1 2 -3"),
        ("CONFIG", "SET", "oom-score-adj-values", "1 2"), ("CONFIG", "SET", "oom-score-adj-values", "0 200 3000"),
        ("CONFIG", "SET", "shutdown-on-sigint", "save nosave"), ("CONFIG", "SET", "shutdown-on-sigint", "bad"),
        ("CONFIG", "SET", "latency-tracking-info-percentiles", "50 x"),
        ("CONFIG", "SET", "latency-tracking-info-percentiles", "101"),
        ("CONFIG", "SET", "cluster-announce-hostname", "a_b"), ("CONFIG", "SET", "proc-title-template", "{nosuch}"),
        ("CONFIG", "SET", "proc-title-template", "{title}"), ("CONFIG", "SET", "slaveof", "no one"),
        ("CONFIG", "SET", "maxmemory", "10", "appendonly", "maybe"), ("CONFIG", "GET", "maxmemory"),
        ("CONFIG", "SET", "bind", "a b c d e f g h i j k l m n o p q"),
    ],
    "set values": [
        ("CONFIG", "SET", "maxmemory", "1mb"), ("CONFIG", "GET", "maxmemory"), ("CONFIG", "SET", "maxmemory", "5K"),
        ("CONFIG", "GET", "maxmemory"), ("CONFIG", "SET", "maxmemory", "2gb"), ("CONFIG", "GET", "maxmemory"),
        ("CONFIG", "SET", "maxmemory", ""), ("CONFIG", "GET", "maxmemory"), ("CONFIG", "SET", "maxmemory", "mb"),
        ("CONFIG", "SET", "maxmemory", "99999999999999999999"), ("CONFIG", "GET", "maxmemory"),
        ("CONFIG", "SET", "maxmemory", "0"),
        ("CONFIG", "SET", "appendfsync", "ALWAYS", "maxmemory-policy", "AllKeys-LRU"),
        ("CONFIG", "GET", "appendfsync"), ("CONFIG", "GET", "maxmemory-policy"),
        ("CONFIG", "SET", "appendfsync", "everysec", "maxmemory-policy", "noeviction"),
        ("CONFIG", "SET", "oom-score-adj", "relative"), ("CONFIG", "GET", "oom-score-adj"),
        ("CONFIG", "SET", "oom-score-adj", "no"),
        ("CONFIG", "SET", "shutdown-on-sigint", "now save force"), ("CONFIG", "GET", "shutdown-on-sigint"),
        ("CONFIG", "SET", "shutdown-on-sigint", "default"),
        ("CONFIG", "SET", "notify-keyspace-events", "KEA"), ("CONFIG", "GET", "notify-keyspace-events"),
        ("CONFIG", "SET", "notify-keyspace-events", "Exg$lshzted"), ("CONFIG", "GET", "notify-keyspace-events"),
        ("CONFIG", "SET", "notify-keyspace-events", "mKnl"), ("CONFIG", "GET", "notify-keyspace-events"),
        ("CONFIG", "SET", "notify-keyspace-events", ""),
        ("CONFIG", "SET", "save", "3600 1 300 100"), ("CONFIG", "GET", "save"), ("CONFIG", "SET", "save", ""),
        ("CONFIG", "GET", "save"),
        ("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 2k 3 REPLICA 0 0 0"),
        ("CONFIG", "GET", "client-output-buffer-limit"),
        ("CONFIG", "SET", "client-output-buffer-limit",
         "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
        ("CONFIG", "SET", "hz", "1000"), ("CONFIG", "GET", "hz"), ("CONFIG", "SET", "hz", "0"),
        ("CONFIG", "GET", "hz"), ("CONFIG", "SET", "hz", "10"),
        ("CONFIG", "SET", "maxmemory-clients", "10%"), ("CONFIG", "GET", "maxmemory-clients"),
        ("CONFIG", "SET", "maxmemory-clients", "0"),
        ("CONFIG", "SET", "slave-read-only", "no", "replica-read-only", "yes"), ("CONFIG", "GET", "slave-read-only"),
        ("CONFIG", "SET", "hash-max-ziplist-value", "128"), ("CONFIG", "GET", "hash-max-*-value"),
        ("CONFIG", "SET", "hash-max-listpack-value", "64"),
        ("CONFIG", "SET", "lua-time-limit", "100"), ("CONFIG", "GET", "busy-reply-threshold"),
        ("CONFIG", "SET", "busy-reply-threshold", "5000"),
        ("CONFIG", "SET", "latency-tracking-info-percentiles", "0.5 99.90 100"),
        ("CONFIG", "GET", "latency-tracking-info-percentiles"),
        ("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9"),
        ("CONFIG", "SET", "oom-score-adj-values", "0 200 800"), ("CONFIG", "SET", "activerehashing", "NO"),
        ("CONFIG", "GET", "activerehashing"), ("CONFIG", "SET", "activerehashing", "yes"),
        ("CONFIG", "SET", "proc-title-template", "{title} {listen-addr} {server-mode}"),
        ("CONFIG", "RESETSTAT"), ("CONFIG", "REWRITE"), ("CONFIG", "HELP"), ("CONFIG", "HELP", "x"),
        ("FLUSHALL",), ("CONFIG", "GET", "hz"),
    ],
    "min-replicas-to-write": [
        ("FUNCTION", "LOAD", "#!lua name=cfg\nredis.register_function('w', function(keys) return 1 end)\n"
         "redis.register_function{function_name='r', callback=function(keys) return 2 end, flags={'no-writes'}}"),
        ("SET", "x", "v"), ("CONFIG", "SET", "min-replicas-to-write", "1"), ("SET", "x", "w"), ("GET", "x"),
        ("FCALL", "w", "0"), ("FCALL", "r", "0"), ("FCALL_RO", "w", "0"), ("FCALL_RO", "r", "0"),
        ("FUNCTION", "DELETE", "cfg"),
        ("MULTI",), ("GET", "x"), ("SET", "x", "w"), ("EXEC",),
        ("EVAL", "return redis.call('get', KEYS[1])", "1", "x"),
        ("EVAL", "return redis.call('set', KEYS[1], 'w')", "1", "x"),
        ("EVAL", "return redis.pcall('set', KEYS[1], 'w')", "1", "x"),
        ("EVAL", "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", "1", "x"),
        ("EVAL", "#!lua\nreturn redis.call('get', KEYS[1])", "1", "x"),
        ("CONFIG", "SET", "min-replicas-max-lag", "0"), ("SET", "x", "w"),
        ("CONFIG", "SET", "min-replicas-max-lag", "10"), ("DEL", "x"),
        ("CONFIG", "SET", "min-replicas-to-write", "0"), ("GET", "x"), ("FUNCTION", "DELETE", "cfg"),
    ],
    "proto-max-bulk-len": [
        ("CONFIG", "SET", "proto-max-bulk-len", "1mb"), ("SETRANGE", "s", "1048575", "x"),
        ("SETRANGE", "s", "1048576", "x"), ("APPEND", "s", "y"), ("SETBIT", "b", "8388607", "1"),
        ("SETBIT", "b", "8388608", "1"), ("GETBIT", "b", "8388608"), ("BITFIELD", "b", "GET", "u8", "8388608"),
        ("STRLEN", "s"), ("SET", "l", "x" * 600), ("LCS", "l", "l"),
        ("CONFIG", "SET", "proto-max-bulk-len", "512mb"), ("LCS", "l", "l", "LEN"),
    ],
    "stream-node-max-entries": [
        ("CONFIG", "SET", "stream-node-max-entries", "2"),
        *[("XADD", "st", f"{i}-0", "f", "v") for i in range(1, 8)],
        ("XTRIM", "st", "MAXLEN", "~", "4"), ("XLEN", "st"), ("XADD", "st", "MAXLEN", "~", "2", "8-0", "f", "v"),
        ("XLEN", "st"), ("CONFIG", "SET", "stream-node-max-entries", "0", "stream-node-max-bytes", "60"),
        *[("XADD", "sb", f"{i}-0", "field", "value") for i in range(1, 6)], ("XINFO", "STREAM", "sb"),
        ("XTRIM", "sb", "MAXLEN", "~", "1"), ("XLEN", "sb"),
        ("CONFIG", "SET", "stream-node-max-entries", "100", "stream-node-max-bytes", "4kb"),
    ],
}


def _comparable(argv: Sequence[str], reply: object) -> object:
    if len(argv) > 2 and argv[0].upper() == "CONFIG" and argv[1].upper() == "GET" and isinstance(reply, tuple):
        return sorted(zip(reply[::2], reply[1::2]))  # Redis's hash table order
    return reply


def _model_replies(probes: Sequence[tuple[str, ...]]) -> list[object]:
    client = Redis().client()
    return [_comparable(argv, client.execute(*argv)) for argv in probes]


@pytest.fixture(scope="module")
def config_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with private_server(tmp_path_factory.mktemp("config")) as server:
        yield server


@pytest.mark.redis
@pytest.mark.parametrize("name", sorted(PROBES))
def test_probes_match_a_live_server(config_server: RedisServer, name: str) -> None:
    probes = PROBES[name]
    with live_replies(config_server, timeout=10) as live:
        live(["FLUSHALL"])
        got = [_comparable(argv, live(argv)) for argv in probes]
    expected = _model_replies(probes)
    mismatches = [f"{argv}:\n  redis {theirs!r}\n  model {ours!r}"
                  for argv, theirs, ours in zip(probes, got, expected) if theirs != ours]
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.redis
def test_every_default_is_a_live_servers(config_server: RedisServer) -> None:
    """CONFIG GET * of a fresh server, parameter by parameter, the machine's ones excepted."""
    with live_replies(config_server, timeout=10) as live:
        reply = live(["CONFIG", "GET", "*"])
        hidden = {name: live(["CONFIG", "GET", name]) for name in
                  ("use-exit-on-panic", "rdb-key-save-delay", "key-load-delay", "watchdog-period",
                   "loading-process-events-interval-bytes")}
    assert isinstance(reply, tuple)
    theirs = dict(zip(reply[::2], reply[1::2]))
    ours = dict(zip(*[iter(Redis().client().execute("CONFIG", "GET", "*"))] * 2))  # type: ignore[arg-type]
    assert set(theirs) == set(ours)
    differ = {name: (theirs[name], ours[name]) for name in theirs
              if theirs[name] != ours[name] and name not in MACHINE}
    assert not differ
    for name, value in hidden.items():
        assert Redis().client().execute("CONFIG", "GET", name) == value


# ----------------------------------------------------------------------------- without a server


def test_the_table_is_config_c() -> None:
    assert len(PARAMS) == 178 and len(NAMES) == 197  # 19 aliases; 5 hidden parameters
    assert NAMES[b"hash-max-ziplist-value"][1] is PARAMS[b"hash-max-listpack-value"]
    assert NAMES[b"slave-read-only"][1] is PARAMS[b"replica-read-only"]
    assert NAMES[b"lua-time-limit"][1] is PARAMS[b"busy-reply-threshold"]
    assert DEFAULTS[b"save"] == b"" and DEFAULTS[b"dir"] == b"/tmp" and DEFAULTS[b"port"] == b"6379"


def test_get_patterns_and_spelling() -> None:
    r = Redis().client()
    assert r.execute("CONFIG", "GET", "MAXmemory", "maxmemory") == (b"MAXmemory", b"0")
    assert r.execute("CONFIG", "GET", "use-exit-*") == ()  # hidden: only by its exact name
    assert r.execute("CONFIG", "GET", "use-exit-on-panic") == (b"use-exit-on-panic", b"no")
    assert r.execute("CONFIG", "GET", "*ziplist-value") == (
        b"hash-max-ziplist-value", b"64", b"zset-max-ziplist-value", b"64")
    assert to_resp3([b"CONFIG", b"GET", b"hz"], (b"hz", b"10")) == MapReply(((b"hz", b"10"),))


def test_set_is_all_or_nothing_with_redis_texts() -> None:
    r = Redis().client()
    assert r.execute("CONFIG", "SET", "maxmemory", "10", "appendonly", "maybe") == Error(
        "ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'")
    assert r.execute("CONFIG", "GET", "maxmemory") == (b"maxmemory", b"0")
    assert r.execute("CONFIG", "SET", "foo", "bar") == Error(
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'")
    assert r.execute("CONFIG", "SET", "daemonize", "yes") == Error(
        "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config")
    assert r.execute("CONFIG", "SET", "Maxmemory", "1", "MAXMEMORY", "2") == Error(
        "ERR CONFIG SET failed (possibly related to argument 'MAXMEMORY') - duplicate parameter")
    assert r.execute("CONFIG", "SET", "MAXMEMORY", "x") == Error(
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value")
    assert r.execute("CONFIG", "SET", "hz", "-1") == Error(
        "ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between 0 and 2147483647 inclusive")
    assert r.execute("CONFIG", "SET", "maxmemory", "1", "x") == Error("ERR syntax error")
    assert r.execute("CONFIG", "REWRITE") == Error("ERR The server is running without a config file")


def test_values_are_normalised() -> None:
    assert memtoull(b"") == 0 and memtoull(b"2GB") == 2 * 1024**3 and memtoull(b"1.5mb") is None
    param = PARAMS[b"notify-keyspace-events"]
    assert canonical(param, b"KEA", {}) == b"AKE"
    assert canonical(param, b"mKnl", {}) == b"lnKm"
    with pytest.raises(Invalid, match="Invalid event class character"):
        canonical(param, b"KEZ", {})
    assert canonical(PARAMS[b"oom-score-adj"], b"relative", {}) == b"yes"
    assert canonical(PARAMS[b"shutdown-on-sigint"], b"now save force", {}) == b"save now force"
    assert canonical(PARAMS[b"maxmemory-clients"], b"10%", {}) == b"10%"
    assert canonical(PARAMS[b"hz"], b"1000", {}) == b"500"
    assert canonical(PARAMS[b"latency-tracking-info-percentiles"], b"0.5 99.90 100", {}) == b"0.5 99.9 100"
    assert canonical(PARAMS[b"client-output-buffer-limit"], b"pubsub 1mb 2k 3", {}) == (
        b"normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 2000 3")


def test_config_lives_in_the_state() -> None:
    state, reply = step(INITIAL_STATE, 1, [b"CONFIG", b"SET", b"maxmemory", b"1mb"])
    assert reply == OK and state != INITIAL_STATE and dict(state.config) == {b"maxmemory": b"1048576"}
    state, _ = step(state, 2, [b"FLUSHALL"])
    assert dict(state.config) == {b"maxmemory": b"1048576"}  # FLUSHALL keeps the configuration
    back, reply = step(state, 1, [b"CONFIG", b"SET", b"maxmemory", b"0"])
    assert reply == OK and back == INITIAL_STATE and hash(back) == hash(INITIAL_STATE)


def test_noreplicas_refuses_writes() -> None:
    r = Redis().client()
    r.execute("CONFIG", "SET", "min-replicas-to-write", "1")
    refused = Error("NOREPLICAS Not enough good replicas to write.")
    assert r.execute("SET", "x", "1") == refused
    assert r.execute("GET", "x") is None
    r.execute("CONFIG", "SET", "min-replicas-to-write", "0")
    r.execute("MULTI")
    assert r.execute("SET", "x", "1") == Status("QUEUED")
    r.server.client(2).execute("CONFIG", "SET", "min-replicas-to-write", "1")  # while r is in MULTI
    assert r.execute("EXEC") == Error("EXECABORT Transaction discarded because of: " + refused.text)
    assert r.execute("EXEC") == Error("ERR EXEC without MULTI")  # the transaction was discarded


def test_parameters_the_model_acts_on() -> None:
    r = Redis().client()
    assert r.execute("CONFIG", "SET", "proto-max-bulk-len", "1mb") == OK
    assert r.execute("SETRANGE", "s", "1048576", "x") == Error(
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    assert r.execute("SETRANGE", "s", "1048575", "x") == 1048576
    assert r.execute("APPEND", "s", "y") == Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    assert r.execute("SETBIT", "b", "8388608", "1") == Error("ERR bit offset is not an integer or out of range")
    assert r.execute("CONFIG", "SET", "stream-node-max-entries", "2") == OK
    for i in range(1, 8):
        r.execute("XADD", "st", f"{i}-0", "f", "v")
    assert r.execute("XINFO", "STREAM", "st")[3] == 4  # type: ignore[index]  # radix-tree-keys: 4 nodes
    assert r.execute("XTRIM", "st", "MAXLEN", "~", "4") == 2  # one whole node of 2


def test_states_with_config_pickle_and_restart() -> None:
    state, _ = step(INITIAL_STATE, 1, [b"CONFIG", b"SET", b"hz", b"20"])
    assert pickle.loads(pickle.dumps(state)) == state
    assert restart(state, keep_data=True) == INITIAL_STATE  # no config file: CONFIG SET is lost
