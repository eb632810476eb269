"""The commands the lockstep machine draws (:mod:`redlin.harness.differential`), family by family.

Each family (:data:`FAMILIES`) is a list of (command name, argv strategy) pairs over a small shared
key space, so that clients and types collide (LPUSH on a string key).  Arguments are drawn from
short tables of values chosen to hit edge cases: empty strings, integers and their limits,
not-quite-integers, infinite and NaN scores, out-of-range indexes, options that conflict.  A family
keeps only the commands the model's table knows (``model.lookup``), so the tester follows the model
as families are added.  Beside the data commands: wrong arities, unknown commands and SAVE
(:func:`misuse_commands`, sheet M7, M8, M13, D17) and the Pub/Sub commands (:func:`pubsub_commands`,
sheet P1-P12).

Time never matters: TTLs are at least 1000 s, relative deadlines are never compared with each
other (no GT/LT on EXPIRE), and no key is created already expired (the tables below say why).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from typing import Final, TypeAlias

from hypothesis import strategies as st

from redlin.model import lookup

__all__ = [
    "ABSOLUTE_MILLISECONDS", "ABSOLUTE_SECONDS", "Argv", "CHANNELS", "DBS", "DEFAULT_KEYS", "FAMILIES",
    "FIELDS", "INCREMENTS", "INDEXES", "MEMBERS", "PATTERNS", "RELATIVE_MILLISECONDS", "RELATIVE_SECONDS",
    "SCORES", "SCRIPTS", "VALUES", "command_families", "data_commands", "misuse_commands",
    "pubsub_commands", "several", "with_case",
]

Argv: TypeAlias = tuple[bytes, ...]

DEFAULT_KEYS: Final = (b"a", b"b", b"c")
FAMILIES: Final = frozenset({
    "strings", "counters", "keys", "expire", "lists", "hashes", "sets", "zsets", "scripts",
    "transactions", "connection", "errors", "pubsub",
})
"""Every command family the machine can draw from (all are on by default)."""

# Values chosen to hit edge cases: empty, integers (and their limits), not-quite-integers.
VALUES: Final = (b"v", b"", b"0", b"1", b"-1", b"1.5", b" 1", b"x",
                 b"9223372036854775807", b"-9223372036854775808")
INCREMENTS: Final = (b"1", b"0", b"-1", b"100", b"9223372036854775807", b"-9223372036854775808",
                     b"9223372036854775808", b"x", b"1.5")
FIELDS: Final = (b"f1", b"f2", b"f3")
MEMBERS: Final = (b"m1", b"m2", b"m3", b"1")
SCORES: Final = (b"1", b"0", b"-1", b"1.5", b"0.1", b"inf", b"-inf", b"+inf", b"x", b"nan")
INDEXES: Final = (b"0", b"1", b"-1", b"2", b"-3", b"10", b"x")
DBS: Final = (b"0", b"1")
# Small scripts: atomic writes (W16), replies of every kind, errors inside and outside pcall.
SCRIPTS: Final = (
    b"return redis.call('INCR', KEYS[1])",
    b"redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])",
    b"return redis.pcall('LPUSH', KEYS[1], ARGV[1])",
    b"return redis.call('EXISTS', KEYS[1])",
    b"return {1, 2.7, ARGV[1], false, {ok='fine'}}",
    b"error('boom')",
)
# Far from "now" and from each other, so comparisons between deadlines never depend on timing.
# A deadline in the past (EXPIRE k -1, EXPIREAT k 1) deletes at once on both sides; but the machine
# never *creates* a key that is already expired (SET ... PXAT 1): Redis's active expiry removes it
# at a moment of its own choosing, which DBSIZE would see.
RELATIVE_SECONDS: Final = (b"1000", b"100000", b"0", b"-1", b"x", b"9223372036854775807")
RELATIVE_MILLISECONDS: Final = (b"1000000", b"0", b"x")
ABSOLUTE_SECONDS: Final = (b"4000000000", b"99999999999", b"1")
ABSOLUTE_MILLISECONDS: Final = (b"4000000000000", b"99999999999000", b"1")
# Channels and glob patterns that overlap (a channel can match several patterns: P4, P9).
CHANNELS: Final = (b"ch1", b"ch2", b"news.art")
PATTERNS: Final = (b"ch*", b"?h1", b"news.[a-z]*", b"*", b"ch[^1]")

Part: TypeAlias = "st.SearchStrategy[bytes] | st.SearchStrategy[Argv] | bytes"


def _argv(name: bytes, *parts: Part) -> tuple[bytes, st.SearchStrategy[Argv]]:
    """A command and the strategy for its argv; tuple-valued parts are spliced in."""
    strategies = [st.just(part) if isinstance(part, bytes) else part for part in parts]

    def flatten(drawn: tuple[bytes | Argv, ...]) -> Argv:
        out = [name]
        for item in drawn:
            if isinstance(item, bytes):
                out.append(item)
            else:
                out.extend(item)
        return tuple(out)

    return name, st.tuples(*strategies).map(flatten)


def _sha1(script: bytes) -> bytes:
    return hashlib.sha1(script).hexdigest().encode()


def several(strategy: st.SearchStrategy[bytes], most: int = 3) -> st.SearchStrategy[Argv]:
    return st.lists(strategy, min_size=1, max_size=most).map(tuple)


def _options(*choices: Argv, most: int = 2) -> st.SearchStrategy[Argv]:
    return st.lists(st.sampled_from(choices), max_size=most).map(lambda picked: sum(picked, ()))


def _optional(*choices: Argv) -> st.SearchStrategy[Argv]:
    return st.sampled_from(((),) + choices)


def command_families(
    keys: Sequence[bytes], key: st.SearchStrategy[bytes] | None = None,
) -> dict[str, list[tuple[bytes, st.SearchStrategy[Argv]]]]:
    """The data commands of each family, as (name, argv strategy) pairs over ``keys``.

    ``key`` draws one key (by default uniformly from ``keys``).
    """
    if key is None:
        key = st.sampled_from(tuple(keys))
    keys_ = several(key)
    value = st.sampled_from(VALUES)
    increment = st.sampled_from(INCREMENTS)
    field = st.sampled_from(FIELDS)
    member = st.sampled_from(MEMBERS)
    score = st.sampled_from(SCORES)
    index = st.sampled_from(INDEXES)
    db = st.sampled_from(DBS)
    side = st.sampled_from((b"LEFT", b"RIGHT"))
    numkeys = st.sampled_from((b"1", b"2", b"0", b"x"))
    set_options = _options(
        (b"NX",), (b"XX",), (b"GET",), (b"KEEPTTL",), (b"EX", b"1000"), (b"PX", b"1000000"),
        (b"EXAT", b"99999999999"), (b"PXAT", b"4000000000000"), (b"EX", b"0"), (b"EX", b"x"), (b"BAD",),
    )
    field_values = st.lists(st.tuples(field, value), min_size=1, max_size=2).map(lambda pairs: sum(pairs, ()))
    key_values = st.lists(st.tuples(key, value), min_size=1, max_size=2).map(lambda pairs: sum(pairs, ()))
    score_members = st.lists(st.tuples(score, member), min_size=1, max_size=2).map(lambda pairs: sum(pairs, ()))
    score_range = st.sampled_from((b"-inf", b"+inf", b"0", b"1", b"(1", b"x"))
    lex_range = st.sampled_from((b"-", b"+", b"[m1", b"(m2", b"x"))
    when = _optional((b"NX",), (b"XX",))
    script = st.sampled_from(SCRIPTS)
    algebra_options = _options((b"WEIGHTS", b"2"), (b"WEIGHTS", b"0.5", b"-1"), (b"WEIGHTS", b"inf", b"0"),
                               (b"AGGREGATE", b"MIN"), (b"AGGREGATE", b"MAX"), (b"AGGREGATE", b"SUM"),
                               (b"AGGREGATE", b"BAD"))
    compare = _optional((b"NX",), (b"XX",), (b"GT",), (b"LT",), (b"BAD",))
    return {
        "strings": [
            _argv(b"GET", key),
            _argv(b"SET", key, value, set_options),
            _argv(b"SETNX", key, value),
            _argv(b"GETSET", key, value),
            _argv(b"GETDEL", key),
            _argv(b"APPEND", key, value),
            _argv(b"STRLEN", key),
            _argv(b"MGET", keys_),
            _argv(b"MSET", key_values),
            _argv(b"MSETNX", key_values),
            _argv(b"GETRANGE", key, index, index),
            _argv(b"SETRANGE", key, st.sampled_from((b"0", b"2", b"-1")), value),
            _argv(b"SUBSTR", key, index, index),
            _argv(b"GETEX", key, _options((b"EX", b"1000"), (b"PX", b"1000000"), (b"EXAT", b"99999999999"),
                                          (b"PXAT", b"4000000000000"), (b"EXAT", b"1"), (b"PERSIST",),
                                          (b"EX", b"0"), (b"PX", b"x"), (b"BAD",))),
            _argv(b"SETEX", key, st.sampled_from(RELATIVE_SECONDS), value),
            _argv(b"PSETEX", key, st.sampled_from(RELATIVE_MILLISECONDS), value),
        ],
        "counters": [
            _argv(b"INCR", key),
            _argv(b"DECR", key),
            _argv(b"INCRBY", key, increment),
            _argv(b"DECRBY", key, increment),
            _argv(b"INCRBYFLOAT", key, st.sampled_from((b"1", b"0.1", b"-1.5", b"x", b"inf", b"1e308", b"5e-324"))),
        ],
        "keys": [
            _argv(b"DEL", keys_),
            _argv(b"UNLINK", keys_),
            _argv(b"EXISTS", keys_),
            _argv(b"TOUCH", keys_),
            _argv(b"TYPE", key),
            _argv(b"RENAME", key, key),
            _argv(b"RENAMENX", key, key),
            _argv(b"MOVE", key, st.sampled_from(DBS + (b"16", b"x"))),
            _argv(b"COPY", key, key, _options((b"REPLACE",), (b"DB",), (b"DB", b"1"), (b"DB", b"0"), (b"DB", b"16"),
                                              (b"BAD",))),
            _argv(b"DBSIZE"),
            _argv(b"SWAPDB", db, db),
        ],
        "expire": [
            _argv(b"EXPIRE", key, st.sampled_from(RELATIVE_SECONDS), when),
            _argv(b"PEXPIRE", key, st.sampled_from(RELATIVE_MILLISECONDS), when),
            _argv(b"EXPIREAT", key, st.sampled_from(ABSOLUTE_SECONDS), compare),
            _argv(b"PEXPIREAT", key, st.sampled_from(ABSOLUTE_MILLISECONDS), compare),
            _argv(b"PERSIST", key),
            _argv(b"TTL", key),
            _argv(b"PTTL", key),
            _argv(b"EXPIRETIME", key),
            _argv(b"PEXPIRETIME", key),
        ],
        "lists": [
            _argv(b"LPUSH", key, several(value)),
            _argv(b"RPUSH", key, several(value)),
            _argv(b"LPUSHX", key, several(value)),
            _argv(b"RPUSHX", key, several(value)),
            _argv(b"LPOP", key, _optional((b"1",), (b"2",), (b"0",), (b"-1",))),
            _argv(b"RPOP", key, _optional((b"1",), (b"2",), (b"0",), (b"x",))),
            _argv(b"LLEN", key),
            _argv(b"LRANGE", key, index, index),
            _argv(b"LINDEX", key, index),
            _argv(b"LSET", key, index, value),
            _argv(b"LREM", key, st.sampled_from((b"0", b"1", b"-1")), value),
            _argv(b"LINSERT", key, st.sampled_from((b"BEFORE", b"AFTER")), value, value),
            _argv(b"LTRIM", key, index, index),
            _argv(b"LPOS", key, value),
            _argv(b"LMOVE", key, key, side, side),
            _argv(b"RPOPLPUSH", key, key),
            _argv(b"LMPOP", numkeys, keys_, side, _optional((b"COUNT", b"2"), (b"COUNT", b"0"), (b"COUNT", b"x"))),
            # Outside MULTI the model declines to block (so these are not sent when it would), inside
            # MULTI nothing blocks (M15); the 10 ms timeout bounds the wait if the model is wrong.
            _argv(b"BLPOP", keys_, b"0.01"),
            _argv(b"BRPOP", keys_, b"0.01"),
            _argv(b"BLMOVE", key, key, side, side, b"0.01"),
            _argv(b"BRPOPLPUSH", key, key, b"0.01"),
        ],
        "hashes": [
            _argv(b"HSET", key, field_values),
            _argv(b"HSETNX", key, field, value),
            _argv(b"HGET", key, field),
            _argv(b"HMGET", key, several(field)),
            _argv(b"HDEL", key, several(field)),
            _argv(b"HLEN", key),
            _argv(b"HEXISTS", key, field),
            _argv(b"HSTRLEN", key, field),
            _argv(b"HGETALL", key),
            _argv(b"HKEYS", key),
            _argv(b"HVALS", key),
            _argv(b"HINCRBY", key, field, increment),
            _argv(b"HINCRBYFLOAT", key, field, st.sampled_from((b"1", b"0.1", b"-1.5", b"x", b"inf"))),
            _argv(b"HMSET", key, field_values),
        ],
        "sets": [
            _argv(b"SADD", key, several(member)),
            _argv(b"SREM", key, several(member)),
            _argv(b"SCARD", key),
            _argv(b"SMEMBERS", key),
            _argv(b"SISMEMBER", key, member),
            _argv(b"SMISMEMBER", key, several(member)),
            _argv(b"SMOVE", key, key, member),
            _argv(b"SINTER", keys_),
            _argv(b"SUNION", keys_),
            _argv(b"SDIFF", keys_),
            _argv(b"SINTERSTORE", key, keys_),
            _argv(b"SUNIONSTORE", key, keys_),
            _argv(b"SDIFFSTORE", key, keys_),
            _argv(b"SINTERCARD", numkeys, keys_),
        ],
        "zsets": [
            _argv(b"ZADD", key, _options((b"NX",), (b"XX",), (b"GT",), (b"LT",), (b"CH",), (b"INCR",)),
                  score_members),
            _argv(b"ZINCRBY", key, score, member),
            _argv(b"ZSCORE", key, member),
            _argv(b"ZMSCORE", key, several(member)),
            _argv(b"ZCARD", key),
            _argv(b"ZREM", key, several(member)),
            _argv(b"ZRANK", key, member),
            _argv(b"ZREVRANK", key, member),
            _argv(b"ZRANGE", key, index, index, _optional((b"WITHSCORES",), (b"REV",))),
            _argv(b"ZRANGEBYSCORE", key, score_range, score_range, _optional((b"WITHSCORES",),)),
            _argv(b"ZREVRANGEBYSCORE", key, score_range, score_range, _optional((b"WITHSCORES",),)),
            _argv(b"ZREVRANGE", key, index, index, _optional((b"WITHSCORES",),)),
            _argv(b"ZRANGEBYLEX", key, lex_range, lex_range),
            _argv(b"ZREVRANGEBYLEX", key, lex_range, lex_range),
            _argv(b"ZLEXCOUNT", key, lex_range, lex_range),
            _argv(b"ZRANGESTORE", key, key, index, index),
            _argv(b"ZCOUNT", key, score_range, score_range),
            _argv(b"ZREMRANGEBYRANK", key, index, index),
            _argv(b"ZREMRANGEBYSCORE", key, score_range, score_range),
            _argv(b"ZREMRANGEBYLEX", key, lex_range, lex_range),
            _argv(b"ZPOPMIN", key, _optional((b"1",), (b"2",), (b"0",), (b"-1",))),
            _argv(b"ZPOPMAX", key, _optional((b"2",),)),
            _argv(b"ZMPOP", numkeys, keys_, st.sampled_from((b"MIN", b"MAX")), _optional((b"COUNT", b"2"),)),
            _argv(b"ZUNION", numkeys, keys_, algebra_options, _optional((b"WITHSCORES",),)),
            _argv(b"ZINTER", numkeys, keys_, algebra_options, _optional((b"WITHSCORES",),)),
            _argv(b"ZDIFF", numkeys, keys_, _optional((b"WITHSCORES",),)),
            _argv(b"ZUNIONSTORE", key, numkeys, keys_, algebra_options),
            _argv(b"ZINTERSTORE", key, numkeys, keys_, algebra_options),
            _argv(b"ZDIFFSTORE", key, numkeys, keys_),
            _argv(b"ZINTERCARD", numkeys, keys_, _optional((b"LIMIT", b"1"), (b"LIMIT", b"0"), (b"LIMIT", b"-1"))),
        ],
        "scripts": [
            _argv(b"EVAL", script, st.sampled_from((b"1", b"0", b"2", b"-1", b"x")), key, value),
            _argv(b"EVALSHA", script.map(_sha1), b"1", key, value),
            _argv(b"EVAL_RO", script, b"1", key, value),
        ],
        "connection": [
            _argv(b"PING", _optional((b"hello",),)),
            _argv(b"ECHO", value),
        ],
        "pubsub": pubsub_commands(),
    }


def pubsub_commands() -> list[tuple[bytes, st.SearchStrategy[Argv]]]:
    """Pub/Sub commands over :data:`CHANNELS` and :data:`PATTERNS` (sheet P1-P12)."""
    channel = st.sampled_from(CHANNELS)
    pattern = st.sampled_from(PATTERNS)
    payload = st.sampled_from((b"m1", b"m2", b""))
    return [
        _argv(b"PUBLISH", channel, payload),
        _argv(b"SUBSCRIBE", several(channel)),
        _argv(b"UNSUBSCRIBE", st.one_of(st.just(()), several(channel))),
        _argv(b"PSUBSCRIBE", several(pattern)),
        _argv(b"PUNSUBSCRIBE", st.one_of(st.just(()), several(pattern))),
        _argv(b"SPUBLISH", channel, payload),
        _argv(b"SSUBSCRIBE", several(channel, 2)),
        _argv(b"SUNSUBSCRIBE", st.one_of(st.just(()), several(channel, 2))),
        _argv(b"PUBSUB", st.sampled_from(((b"NUMSUB", b"ch1", b"ch2"), (b"NUMPAT",), (b"CHANNELS",),
                                          (b"CHANNELS", b"ch*"), (b"SHARDNUMSUB", b"ch1")))),
        _argv(b"PING", _optional((b"hi",),)),
    ]


def misuse_commands(keys: Sequence[bytes]) -> st.SearchStrategy[Argv]:
    """Wrong arities, unknown commands and SAVE (no-multi: sheet M7, M8, M13, D17).

    Wrong arities are only drawn for commands the model has; the machine sends SAVE only inside MULTI.
    """
    k = keys[0]
    wrong_arity: tuple[Argv, ...] = (
        (b"GET",), (b"GET", k, k), (b"SET", k), (b"MSET", k), (b"MSET", k, b"1", k), (b"INCR",),
        (b"INCRBY", k), (b"WATCH",), (b"MULTI", b"x"), (b"EXEC", b"x"), (b"DISCARD", b"x"),
        (b"UNWATCH", b"x"), (b"SELECT",), (b"EXPIRE", k), (b"PERSIST",), (b"DEL",), (b"TTL", k, k),
        (b"LPUSH", k), (b"HSET", k, b"f"), (b"HSET", k, b"f", b"v", b"g"), (b"SADD", k),
        (b"ZADD", k, b"1"), (b"PING", b"a", b"b"), (b"ECHO",),
    )
    unknown: tuple[Argv, ...] = ((b"NOSUCH",), (b"nosuch", k, b"v"), (b"FOO", b"bar"))
    refused: tuple[Argv, ...] = ((b"SAVE",),) if lookup((b"SAVE",)) is not None else ()
    known = tuple(argv for argv in wrong_arity if lookup(argv) is not None)
    return st.sampled_from(known + unknown + refused)


def with_case(strategy: st.SearchStrategy[Argv]) -> st.SearchStrategy[Argv]:
    # Command names are case-insensitive; shrinks towards the upper-case spelling.  Both spellings
    # are new tuples, so that a reproduction prints them as literals (not as ``flatten(...)``).
    return strategy.flatmap(
        lambda argv: st.sampled_from(((argv[0].upper(),) + argv[1:], (argv[0].lower(),) + argv[1:])))


def data_commands(
    keys: Sequence[bytes], families: Collection[str], key: st.SearchStrategy[bytes] | None = None,
) -> dict[str, st.SearchStrategy[Argv]]:
    """Per family, one strategy over its commands that the model's table knows (empty families left out)."""
    out = {}
    for family, commands in command_families(keys, key).items():
        known = [strategy for name, strategy in commands if lookup((name,)) is not None]
        if family in families and known:
            out[family] = with_case(st.one_of(known))
    return out
