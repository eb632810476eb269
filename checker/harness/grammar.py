"""The argument grammar of every modelled command, for drawing commands under concurrency.

Each command redlin's model implements (:data:`redlin.model.COMMANDS`) is either in :data:`GRAMMAR`,
written as a line of Redis's own usage notation, or in :data:`LEFT_OUT` with the reason a
concurrent run cannot send it and still be checked (a test keeps the two complete and disjoint, so
a command added to the model must be placed in one of them).  A line reads like ``COMMAND DOCS``::

    SET k v [NX|XX] [GET] [EX_sec|PX_ms|KEEPTTL|PXAT_ams]

- an upper-case word is sent as it is;
- a lower-case word is an argument *kind*, drawn from :data:`KINDS` (``k`` a key of the program's
  pool, ``v`` a value, ``i`` an integer increment, ...); with ``+`` it is one to three of them;
  ``kv``, ``fv`` and ``sm`` are key/value, field/value and score/member pairs, ``ck`` a count of
  keys and the keys;
- ``[A|B]`` is one of the alternatives or nothing, ``{A|B}`` one of them; an alternative of several
  words joins them with ``_``; ``[A|B]*`` is up to two picks (options that may conflict, as users
  write them).

The values are the corners where implementations differ: 0, ±1, ±2^63 and its neighbours, numbers
just past the 64-bit range, huge and tiny floats, ``inf`` and ``nan``, shortest-round-trip cases
(``0.1``, ``1.1``, ``1e-05``: Redis 7.0 prints ``%.17g``, 7.2 the shortest form),
empty, binary and long strings, negative indexes and counts.  A kind's table also has ``None``
entries, which become the program's unique token (``<client>-<n>``) so that most writes stay
distinguishable.  Times are relative and far (1000 s and more) or absolute and far in the future:
the checker's model has no clock, so nothing drawn may expire, or depend on when it was sent.

>>> import random
>>> rng = random.Random(3)
>>> draw_argv("GETRANGE k x x", rng.choice, ("a", "b"), b"t")
(b'GETRANGE', Key(name='a'), b'-9223372036854775808', b'9223372036854775807')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from redlin.harness.actions import Arg, Key

__all__ = ["GRAMMAR", "KINDS", "LEFT_OUT", "TYPES", "Choose", "draw_argv", "keys_for", "parse"]

Choose = Callable[[Sequence[Any]], Any]
"""Picks one element of a non-empty sequence (Hypothesis's ``sampled_from`` or ``Random.choice``)."""

_LONG: Final = b"x" * 300
_INT_CORNERS: Final = (b"0", b"1", b"-1", b"2", b"-2", b"100", b"9223372036854775807", b"-9223372036854775808",
                       b"9223372036854775806", b"-9223372036854775807", b"9223372036854775808",
                       b"-9223372036854775809")
KINDS: Final[dict[str, tuple[bytes | None, ...]]] = {
    "v": (None, None, None, b"", b"0", b"1", b"-1", b"1.5", b" 1", b"x", b"\x00\xff", _LONG, *_INT_CORNERS[6:],
          b"3.0000000000000004", b"1e308", b"0x10"),
    "i": (*_INT_CORNERS, b"x", b"1.5", b"", b" 1", b"01"),
    "f": (b"1", b"0.1", b"-1.5", b"1e308", b"-1e308", b"5e-324", b"1.7976931348623157e308", b"inf", b"-inf",
          b"nan", b"x", b"3.0000000000000004", b"1e-17", b"100", b"0", b"-0", b"0.3", b"1.1"),
    "x": (b"0", b"1", b"-1", b"2", b"-2", b"-3", b"10", b"-100", b"9223372036854775807", b"-9223372036854775808",
          b"x"),
    "n": (b"0", b"1", b"2", b"3", b"-1", b"10", b"x"),
    "fd": (b"f0", b"f1", b"f2", b""),
    "m": (b"m0", b"m1", b"m2", b"1", b""),
    "s": (b"1", b"0", b"-1", b"1.5", b"0.1", b"inf", b"-inf", b"+inf", b"nan", b"x", b"1e308", b"-0",
          b"9007199254740993", b"3.0000000000000004", b"0.3", b"1.1", b"1e-05", b"-2.2"),
    # ZUNION/ZINTER weights: the float corners but 5e-324, whose strtod leaves errno at ERANGE in
    # Redis 7.0.15, where a later numeric SORT of non-integers then fails (sort.c never resets errno)
    "w": (b"1", b"0.1", b"-1.5", b"1e308", b"-1e308", b"1.7976931348623157e308", b"inf", b"-inf", b"nan", b"x",
          b"3.0000000000000004", b"1e-17", b"0", b"-0", b"1.1"),
    "sr": (b"-inf", b"+inf", b"0", b"1", b"(1", b"(0", b"1.5", b"x", b"(inf"),
    "lr": (b"-", b"+", b"[m1", b"(m2", b"[", b"x", b"[a", b"(m0"),
    "sec": (b"1000", b"100000", b"0", b"-1", b"x", b"9223372036854775807"),
    "ms": (b"1000000", b"0", b"-5", b"x"),
    "asec": (b"4000000000", b"99999999999"),
    "ams": (b"4000000000000", b"99999999999000"),
    # bit offsets: a byte's edges, a grown string, and past 2^32 bits (refused before any allocation;
    # a valid offset near the limit would make a 512 MB string, so none is drawn)
    "bo": (b"0", b"1", b"7", b"8", b"9", b"15", b"63", b"64", b"100", b"1000", b"65535", b"-1", b"4294967296", b"x"),
    "bf": (b"i1", b"i5", b"i8", b"i16", b"u1", b"u4", b"u8", b"u15", b"i63", b"i64", b"u63", b"u64", b"x8", b"i0"),
    "fo": (b"0", b"1", b"7", b"8", b"13", b"64", b"#0", b"#1", b"#3", b"-1", b"#x", b"4294967296"),
    # streams: entry ids (explicit, or <ms>-*: "*" would take the server's clock), range bounds, the
    # ids XREAD ($) and XREADGROUP (>) take, group and consumer names
    "sid": (b"1-1", b"1-2", b"2-0", b"2-*", b"3", b"3-*", b"0-1", b"0-0", b"5-18446744073709551615",
            b"18446744073709551615-18446744073709551615", b"-", b"x"),
    "rid": (b"-", b"+", b"0", b"1-1", b"(1-1", b"2", b"(2-0", b"(-", b"x", b"(18446744073709551615-18446744073709551615"),
    "xid": (b"$", b"$", b"0", b"1-1", b"2-0", b"+", b"x"),
    "gid": (b">", b">", b">", b"0", b"1-1", b"$"),
    "gr": (b"g0", b"g1"),
    "cn": (b"c0", b"c1", b""),
}
"""Argument kinds and their values (``None``: the program's unique token)."""

GRAMMAR: Final[dict[str, str]] = {
    # strings and counters
    "get": "GET k", "set": "SET k v [NX|XX] [GET] [EX_sec|PX_ms|KEEPTTL|PXAT_ams|EXAT_asec|EX_x]",
    "setnx": "SETNX k v", "getset": "GETSET k v", "getdel": "GETDEL k", "append": "APPEND k v",
    "strlen": "STRLEN k", "mget": "MGET k+", "mset": "MSET kv+", "msetnx": "MSETNX kv+",
    "incr": "INCR k", "decr": "DECR k", "incrby": "INCRBY k i", "decrby": "DECRBY k i",
    "incrbyfloat": "INCRBYFLOAT k f", "setrange": "SETRANGE k x v", "getrange": "GETRANGE k x x",
    "substr": "SUBSTR k x x", "getex": "GETEX k [EX_sec|PX_ms|EXAT_asec|PXAT_ams|PERSIST]*",
    "setex": "SETEX k sec v", "psetex": "PSETEX k ms v",
    # keys
    "del": "DEL k+", "unlink": "UNLINK k+", "exists": "EXISTS k+", "type": "TYPE k", "rename": "RENAME k k",
    "renamenx": "RENAMENX k k", "copy": "COPY k k [REPLACE]", "touch": "TOUCH k+", "expire": "EXPIRE k sec [NX|XX]", "pexpire": "PEXPIRE k ms [NX|XX]",
    "expireat": "EXPIREAT k asec [NX|XX]", "pexpireat": "PEXPIREAT k ams [NX|XX]", "persist": "PERSIST k",
    # lists
    "lpush": "LPUSH k v+", "rpush": "RPUSH k v+", "lpushx": "LPUSHX k v+", "rpushx": "RPUSHX k v+",
    "lpop": "LPOP k [n]", "rpop": "RPOP k [n]", "llen": "LLEN k", "lrange": "LRANGE k x x", "lindex": "LINDEX k x",
    "lset": "LSET k x v", "lrem": "LREM k x v", "linsert": "LINSERT k {BEFORE|AFTER} v v", "ltrim": "LTRIM k x x",
    "lpos": "LPOS k v [RANK_x|COUNT_n|MAXLEN_n]*", "lmove": "LMOVE k k {LEFT|RIGHT} {LEFT|RIGHT}",
    "rpoplpush": "RPOPLPUSH k k", "lmpop": "LMPOP ck {LEFT|RIGHT} [COUNT_n]",
    # hashes
    "hset": "HSET k fv+", "hmset": "HMSET k fv+", "hsetnx": "HSETNX k fd v", "hget": "HGET k fd",
    "hmget": "HMGET k fd+", "hdel": "HDEL k fd+", "hlen": "HLEN k", "hexists": "HEXISTS k fd",
    "hstrlen": "HSTRLEN k fd", "hgetall": "HGETALL k", "hkeys": "HKEYS k", "hvals": "HVALS k",
    "hincrby": "HINCRBY k fd i", "hincrbyfloat": "HINCRBYFLOAT k fd f",
    # sets
    "sadd": "SADD k m+", "srem": "SREM k m+", "scard": "SCARD k", "smembers": "SMEMBERS k",
    "sismember": "SISMEMBER k m", "smismember": "SMISMEMBER k m+", "smove": "SMOVE k k m", "sinter": "SINTER k+",
    "sunion": "SUNION k+", "sdiff": "SDIFF k+", "sinterstore": "SINTERSTORE k k+", "sunionstore": "SUNIONSTORE k k+",
    "sdiffstore": "SDIFFSTORE k k+", "sintercard": "SINTERCARD ck [LIMIT_n]",
    # the server chooses the members: the checker follows its reply (redlin.model._random_replies)
    "spop": "SPOP k [n]", "srandmember": "SRANDMEMBER k [n]", "hrandfield": "HRANDFIELD k [n|n_WITHVALUES]",
    "zrandmember": "ZRANDMEMBER k [n|n_WITHSCORES]",
    # sorted sets
    "zadd": "ZADD k [NX|XX|GT|LT|CH|INCR]* sm+", "zincrby": "ZINCRBY k s m", "zscore": "ZSCORE k m",
    "zmscore": "ZMSCORE k m+", "zcard": "ZCARD k", "zrem": "ZREM k m+", "zrank": "ZRANK k m", "zrevrank": "ZREVRANK k m",
    "zrange": "ZRANGE k x x [REV|WITHSCORES|BYSCORE|BYLEX|LIMIT_x_n]*",
    "zrangebyscore": "ZRANGEBYSCORE k sr sr [WITHSCORES|LIMIT_x_n]*",
    "zrevrangebyscore": "ZREVRANGEBYSCORE k sr sr [WITHSCORES|LIMIT_x_n]*",
    "zrevrange": "ZREVRANGE k x x [WITHSCORES]", "zrangebylex": "ZRANGEBYLEX k lr lr [LIMIT_x_n]",
    "zrevrangebylex": "ZREVRANGEBYLEX k lr lr [LIMIT_x_n]", "zlexcount": "ZLEXCOUNT k lr lr",
    "zrangestore": "ZRANGESTORE k k x x [REV|BYSCORE]", "zcount": "ZCOUNT k sr sr", "zpopmin": "ZPOPMIN k [n]",
    "zremrangebyrank": "ZREMRANGEBYRANK k x x", "zremrangebyscore": "ZREMRANGEBYSCORE k sr sr",
    "zremrangebylex": "ZREMRANGEBYLEX k lr lr",
    "zpopmax": "ZPOPMAX k [n]", "zmpop": "ZMPOP ck {MIN|MAX} [COUNT_n]",
    "zunion": "ZUNION ck [WEIGHTS_w|AGGREGATE_MIN|AGGREGATE_MAX|AGGREGATE_SUM|WITHSCORES]*",
    "zinter": "ZINTER ck [WEIGHTS_w|AGGREGATE_MIN|AGGREGATE_MAX|AGGREGATE_SUM|WITHSCORES]*",
    "zdiff": "ZDIFF ck [WITHSCORES]", "zintercard": "ZINTERCARD ck [LIMIT_n]",
    "zunionstore": "ZUNIONSTORE k ck [WEIGHTS_w|AGGREGATE_MIN|AGGREGATE_MAX]*",
    "zinterstore": "ZINTERSTORE k ck [WEIGHTS_w|AGGREGATE_MIN|AGGREGATE_MAX]*", "zdiffstore": "ZDIFFSTORE k ck",
    # connection and transactions (WATCH/UNWATCH as steps of their own; MULTI/EXEC/DISCARD by transactions)
    "ping": "PING [v]", "echo": "ECHO v", "watch": "WATCH k+", "unwatch": "UNWATCH",
    # bitmaps and LCS
    "setbit": "SETBIT k bo {0|1|2}", "getbit": "GETBIT k bo", "bitcount": "BITCOUNT k [x_x|x_x_BIT|x_x_BYTE]",
    "bitpos": "BITPOS k {0|1} [x|x_x|x_x_BIT|x_x_BYTE]", "bitop": "BITOP {AND|OR|XOR|NOT} k k+",
    "bitfield": "BITFIELD k [OVERFLOW_WRAP|OVERFLOW_SAT|OVERFLOW_FAIL] [GET_bf_fo|SET_bf_fo_i|INCRBY_bf_fo_i]* "
                "[OVERFLOW_SAT|OVERFLOW_FAIL] [GET_bf_fo|SET_bf_fo_i|INCRBY_bf_fo_i]",
    "bitfield_ro": "BITFIELD_RO k [GET_bf_fo|SET_bf_fo_i]*", "lcs": "LCS k k [LEN|IDX|MINMATCHLEN_n|WITHMATCHLEN]*",
    # SORT: no BY or GET pattern with a "*" (it reads keys of the data's choosing: keys_of() is None and
    # the guard refuses it), and BY NOSORT only with STORE (a set's reply would be in hash order)
    "sort": "SORT k [ASC|DESC|ALPHA|LIMIT_x_n|GET_#|STORE_k|BY_NOSORT_STORE_k]*",
    "sort_ro": "SORT_RO k [ASC|DESC|ALPHA|LIMIT_x_n|GET_#]*",
    # HyperLogLog: the values are Redis's exact bytes (sparse, dense, cached count), which GET shows;
    # PFDEBUG GETREG is left out of the line (16384 registers per reply)
    "pfadd": "PFADD k m+", "pfcount": "PFCOUNT k+", "pfmerge": "PFMERGE k k+",
    "pfdebug": "PFDEBUG {ENCODING|DECODE|TODENSE} k",
    # streams and consumer groups: no "*" id, no BLOCK, no minimum idle time but 0 (the checker's
    # model has no clock); XPENDING's extended form, XINFO CONSUMERS and XINFO STREAM FULL report
    # idle and delivery times, so only XPENDING's summary and XINFO STREAM/GROUPS are drawn
    "xadd": "XADD k [NOMKSTREAM] [MAXLEN_n|MAXLEN_~_n|MAXLEN_=_n|MINID_sid|MINID_~_sid|MAXLEN_~_n_LIMIT_n] sid fv+",
    "xrange": "XRANGE k rid rid [COUNT_n]", "xrevrange": "XREVRANGE k rid rid [COUNT_n]", "xlen": "XLEN k",
    "xdel": "XDEL k sid+", "xtrim": "XTRIM k {MAXLEN_n|MAXLEN_~_n|MAXLEN_=_n|MINID_sid|MINID_~_sid} [LIMIT_n]",
    "xsetid": "XSETID k sid [ENTRIESADDED_n|MAXDELETEDID_sid]*",
    "xread": "XREAD [COUNT_n] {STREAMS_k_xid|STREAMS_k_k_xid_xid}",
    "xgroup": "XGROUP {CREATE_k_gr_xid|CREATE_k_gr_xid_MKSTREAM|CREATE_k_gr_xid_ENTRIESREAD_n|SETID_k_gr_xid|"
              "DESTROY_k_gr|CREATECONSUMER_k_gr_cn|DELCONSUMER_k_gr_cn}",
    "xreadgroup": "XREADGROUP GROUP gr cn [COUNT_n|NOACK]* {STREAMS_k_gid|STREAMS_k_k_gid_gid}",
    "xack": "XACK k gr sid+", "xpending": "XPENDING k gr",
    "xclaim": "XCLAIM k gr cn 0 sid+ [FORCE|JUSTID|RETRYCOUNT_n|LASTID_sid]*",
    "xautoclaim": "XAUTOCLAIM k gr cn 0 rid [COUNT_n|JUSTID]*", "xinfo": "XINFO {STREAM_k|GROUPS_k}",
}
"""Every command drawn, in usage notation (see the module docstring).  MULTI, EXEC, DISCARD and
EVAL/EVALSHA are drawn as transactions and scripts (:mod:`redlin.harness.generated`)."""

TYPES: Final[dict[str, str]] = {
    **dict.fromkeys(("get", "set", "setnx", "getset", "getdel", "append", "strlen", "mget", "mset", "msetnx", "incr",
                     "decr", "incrby", "decrby", "incrbyfloat", "setrange", "getrange", "substr", "getex", "setex",
                     "psetex"), "v"),
    **dict.fromkeys(("lpush", "rpush", "lpushx", "rpushx", "lpop", "rpop", "llen", "lrange", "lindex", "lset", "lrem",
                     "linsert", "ltrim", "lpos", "lmove", "rpoplpush", "lmpop"), "l"),
    **{name: "h" for name in GRAMMAR if name.startswith("h")},
    **dict.fromkeys(("sadd", "srem", "scard", "smembers", "sismember", "smismember", "smove", "sinter", "sunion",
                     "sdiff", "sinterstore", "sunionstore", "sdiffstore", "sintercard", "spop", "srandmember"), "s"),
    **{name: "z" for name in GRAMMAR if name.startswith("z")},
    **dict.fromkeys(("setbit", "getbit", "bitcount", "bitpos", "bitop", "bitfield", "bitfield_ro", "lcs"), "v"),
    **dict.fromkeys(("sort", "sort_ro"), "l"),
    **{name: "x" for name in GRAMMAR if name.startswith("x")},
}
"""The data type each command works on (``v`` string, ``l`` list, ``h`` hash, ``s`` set, ``z`` sorted
set, ``x`` stream): a drawn command takes its keys from that type's keys of the pool (``gz0``, ``gz1``) two times
in three, so that most commands find their type and go deep, and from the shared keys (``g0``,
``g1``, ``g2``) otherwise, where types clash on purpose; a command of no type (DEL, RENAME, TYPE,
WATCH) from any key."""


def keys_for(name: str, pool: Sequence[str], choose: Choose) -> Sequence[str]:
    """The keys a command ``name`` draws from (see :data:`TYPES`).

    >>> keys_for("zadd", ("g0", "gz0", "gz1", "gl0"), lambda options: options[0])
    ('gz0', 'gz1')
    """
    kind = TYPES.get(name)
    if kind is None:  # DEL, RENAME, TYPE, WATCH...: any key
        return tuple(pool)
    typed = tuple(key for key in pool if key[:2] == f"g{kind}" and key[2:].isdigit())
    shared = tuple(key for key in pool if key[1:].isdigit()) or tuple(pool)
    return typed if typed and choose((True, True, False)) else shared


LEFT_OUT: Final[dict[str, str]] = {
    **dict.fromkeys(("multi", "exec", "discard"), "drawn as whole transactions"),
    **dict.fromkeys(("eval", "evalsha", "eval_ro", "evalsha_ro"), "drawn as whole scripts inside redlin's guard"),
    **dict.fromkeys(("ttl", "pttl", "expiretime", "pexpiretime"), "the reply depends on the server's clock, which the checker cannot see"),
    **dict.fromkeys(("blpop", "brpop", "blmove", "brpoplpush", "blmpop", "bzpopmin", "bzpopmax", "bzmpop"),
                    "blocks: the model does not wait for other clients"),
    **dict.fromkeys(("dbsize", "flushall", "flushdb", "swapdb", "move", "select", "randomkey"),
                    "reaches beyond the run's own keys"),
    **dict.fromkeys(("save", "shutdown", "sync", "psync"), "acts on the whole server"),
    "script": "drawn as script-cache steps (SCRIPT FLUSH only with --allow-destructive)",
    **dict.fromkeys(("publish", "spublish", "subscribe", "ssubscribe", "psubscribe", "unsubscribe", "sunsubscribe",
                     "punsubscribe", "pubsub"), "Pub/Sub: checked by --workload pubsub"),
    **dict.fromkeys(("quit", "reset"), "ends the connection's session (the recorder owns connections)"),
    **dict.fromkeys(("fcall", "fcall_ro"), "calls a function only a library loaded before the run defines "
                    "(the checker's initial state has none)"),
    "function": "FUNCTION LOAD/DELETE/FLUSH/RESTORE change every client's libraries, not keys of the run",
    "pfselftest": "a self-test of the server's own HLL code: ten million additions (half a second) for an "
                  "always-OK reply",
    "config": "CONFIG GET/SET/RESETSTAT/REWRITE/HELP act on the whole server, not keys of the run: never drawn "
              "(CONFIG SET against a real deployment only if the user opts in, see the guard)",
    "keys": "reaches beyond the run's own keys",
    **dict.fromkeys(("scan", "sscan", "hscan", "zscan"), "the cursors and what each call returns are the server's "
                    "choice (its hash table), which no model reproduces"),
    "object": "OBJECT reports internals the model approximates (encodings computed from the contents, not "
              "remembered; refcounts; no access times)",
    "time": "the reply is the server's clock, which the checker cannot see",
    "wait": "counts the deployment's replicas, which the model (a standalone primary) has none of; WAIT n>0 blocks",
}
"""Commands of the model no concurrent run draws, with the reason."""


def parse(line: str) -> tuple[Any, ...]:
    """A usage line as nested tuples: a word (``str``), ``("opt", alternatives, most)`` or
    ``("one", alternatives)``, each alternative a tuple of words.

    >>> parse("LPOS k v [RANK_x|COUNT_n]*")
    ('LPOS', 'k', 'v', ('opt', (('RANK', 'x'), ('COUNT', 'n')), 2))
    """
    out: list[Any] = []
    for word in line.split():
        if word[0] in "[{":
            many = word.endswith("*")
            body = word.rstrip("*")[1:-1]
            alternatives = tuple(tuple(part.split("_")) for part in body.split("|"))
            out.append(("opt", alternatives, 2 if many else 1) if word[0] == "[" else ("one", alternatives))
        else:
            out.append(word)
    return tuple(out)


_PARSED: Final = {line: parse(line) for line in GRAMMAR.values()}


def draw_argv(line: str, choose: Choose, pool: Sequence[str], token: bytes) -> tuple[Arg, ...]:
    """One command drawn from a usage ``line`` over the key ``pool`` (``token``: the unique value).

    >>> draw_argv("MSET kv+", lambda options: options[0], ("a",), b"t")
    (b'MSET', Key(name='a'), b't')
    """
    parsed = _PARSED.get(line)
    out: list[Arg] = []
    for item in parsed if parsed is not None else parse(line):
        _draw_item(item, choose, pool, token, out)
    return tuple(out)


def _draw_item(item: Any, choose: Choose, pool: Sequence[str], token: bytes, out: list[Arg]) -> None:
    if isinstance(item, tuple):
        kind, alternatives = item[0], item[1]
        if kind == "one":
            picks = [choose(alternatives)]
        else:
            picks = [pick for pick in (choose((None, *alternatives)) for _ in range(item[2])) if pick is not None]
        for words in picks:
            for part in words:
                _draw_item(part, choose, pool, token, out)
        return
    word = str(item)
    if word.isupper() or not word[0].isalpha():
        out.append(word.encode())
        return
    several = word.endswith("+")
    kind = word.rstrip("+")
    for _ in range(choose((1, 1, 2, 3)) if several else 1):
        if kind in ("kv", "fv", "sm"):
            first, second = {"kv": ("k", "v"), "fv": ("fd", "v"), "sm": ("s", "m")}[kind]
            _draw_item(first, choose, pool, token, out)
            _draw_item(second, choose, pool, token, out)
        elif kind == "k":
            out.append(Key(choose(pool)))
        elif kind == "ck":  # numkeys, then that many keys (numkeys 0 is an error Redis gives)
            count = choose((1, 2, 3, 0))
            out.append(str(count).encode())
            out.extend(Key(choose(pool)) for _ in range(max(count, 1)))
        else:
            value = choose(KINDS[kind])
            out.append(token if value is None else value)
