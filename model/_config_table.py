"""CONFIG's parameter table: every parameter of Redis 7.0.15's ``static_configs`` (config.c).

Each row is ``(name[|alias], flags, kind, default[, lower, upper])``.  Flags: ``I`` immutable
(``can't set immutable config``), ``P`` protected (refused while ``enable-protected-configs`` is
``no``, its only value here), ``H`` hidden (``CONFIG GET`` returns it only when named exactly),
``M`` multi-argument (the value is split at every space, as ``sdssplitlen`` does).  Kinds:
``bool``, ``string``, ``enum:<table>``, numeric ``i``/``u`` (signed/unsigned C type) followed by
``m`` (memory units), ``m%`` (memory or percent) or ``o`` (octal), and the special parameters by
their own name.  The build is a TLS one (``tls-*`` parameters), like the distribution's package.

Defaults are what ``redis-server --save '' --appendonly no`` reports, except the values Redis
takes from the machine, which the model fixes so that a step stays a pure function: ``dir`` is
``/tmp``, ``port`` 6379, ``bind`` ``* -::*``, ``pidfile``/``logfile``/``unixsocket`` empty,
``daemonize`` no.  ``save`` is empty: the model never writes an RDB file.

:func:`canonical` turns a ``CONFIG SET`` value into what ``CONFIG GET`` then reports (memory as
bytes, enums by their first name for the value, ``notify-keyspace-events`` re-spelt), or raises
:class:`Invalid` with Redis's error text.

>>> canonical(PARAMS[b"maxmemory"], b"1mb", {})
b'1048576'
>>> canonical(PARAMS[b"notify-keyspace-events"], b"EKgx$lshzted", {})
b'AKE'
>>> canonical(PARAMS[b"appendfsync"], b"ALWAYS", {})
b'always'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

INT_MIN, INT_MAX, UINT_MAX = -(2**31), 2**31 - 1, 2**32 - 1
LONG_MAX, ULLONG_MAX = 2**63 - 1, 2**64 - 1
_OBUF_DEFAULT = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"

_ROWS: tuple[tuple[object, ...], ...] = (
    ("rdbchecksum", "I", "bool", "yes"),
    ("daemonize", "I", "bool", "no"),
    ("io-threads-do-reads", "I", "bool", "no"),
    ("always-show-logo", "I", "bool", "no"),
    ("protected-mode", "", "bool", "yes"),
    ("rdbcompression", "", "bool", "yes"),
    ("rdb-del-sync-files", "", "bool", "no"),
    ("activerehashing", "", "bool", "yes"),
    ("stop-writes-on-bgsave-error", "", "bool", "yes"),
    ("set-proc-title", "I", "bool", "yes"),
    ("dynamic-hz", "", "bool", "yes"),
    ("lazyfree-lazy-eviction", "", "bool", "no"),
    ("lazyfree-lazy-expire", "", "bool", "no"),
    ("lazyfree-lazy-server-del", "", "bool", "no"),
    ("lazyfree-lazy-user-del", "", "bool", "no"),
    ("lazyfree-lazy-user-flush", "", "bool", "no"),
    ("repl-disable-tcp-nodelay", "", "bool", "no"),
    ("repl-diskless-sync", "", "bool", "yes"),
    ("aof-rewrite-incremental-fsync", "", "bool", "yes"),
    ("no-appendfsync-on-rewrite", "", "bool", "no"),
    ("cluster-require-full-coverage", "", "bool", "yes"),
    ("rdb-save-incremental-fsync", "", "bool", "yes"),
    ("aof-load-truncated", "", "bool", "yes"),
    ("aof-use-rdb-preamble", "", "bool", "yes"),
    ("aof-timestamp-enabled", "", "bool", "no"),
    ("cluster-replica-no-failover|cluster-slave-no-failover", "", "bool", "no"),
    ("replica-lazy-flush|slave-lazy-flush", "", "bool", "no"),
    ("replica-serve-stale-data|slave-serve-stale-data", "", "bool", "yes"),
    ("replica-read-only|slave-read-only", "", "bool", "yes"),
    ("replica-ignore-maxmemory|slave-ignore-maxmemory", "", "bool", "yes"),
    ("jemalloc-bg-thread", "", "bool", "yes"),
    ("activedefrag", "", "bool", "no"),
    ("syslog-enabled", "I", "bool", "no"),
    ("cluster-enabled", "I", "bool", "no"),
    ("appendonly", "", "bool", "no"),
    ("cluster-allow-reads-when-down", "", "bool", "no"),
    ("cluster-allow-pubsubshard-when-down", "", "bool", "yes"),
    ("crash-log-enabled", "", "bool", "yes"),
    ("crash-memcheck-enabled", "", "bool", "yes"),
    ("use-exit-on-panic", "H", "bool", "no"),
    ("disable-thp", "I", "bool", "yes"),
    ("cluster-allow-replica-migration", "", "bool", "yes"),
    ("replica-announced", "", "bool", "yes"),
    ("latency-tracking", "", "bool", "yes"),
    ("aof-disable-auto-gc", "", "bool", "no"),
    ("replica-ignore-disk-write-errors", "", "bool", "no"),
    ("aclfile", "I", "string", ""),
    ("unixsocket", "I", "string", ""),
    ("pidfile", "I", "string", ""),
    ("replica-announce-ip|slave-announce-ip", "", "string", ""),
    ("masteruser", "", "string", ""),
    ("cluster-announce-ip", "", "string", ""),
    ("cluster-config-file", "I", "string", "nodes.conf"),
    ("cluster-announce-hostname", "", "string", ""),
    ("syslog-ident", "I", "string", "redis"),
    ("dbfilename", "P", "string", "dump.rdb"),
    ("appendfilename", "I", "string", "appendonly.aof"),
    ("appenddirname", "I", "string", "appendonlydir"),
    ("server_cpulist", "I", "string", ""),
    ("bio_cpulist", "I", "string", ""),
    ("aof_rewrite_cpulist", "I", "string", ""),
    ("bgsave_cpulist", "I", "string", ""),
    ("ignore-warnings", "", "string", ""),
    ("proc-title-template", "", "string", "{title} {listen-addr} {server-mode}"),
    ("bind-source-addr", "", "string", ""),
    ("logfile", "I", "string", ""),
    ("masterauth", "", "string", ""),
    ("requirepass", "", "string", ""),
    ("supervised", "I", "enum:supervised_mode", "no"),
    ("syslog-facility", "I", "enum:syslog_facility", "local0"),
    ("repl-diskless-load", "", "enum:repl_diskless_load", "disabled"),
    ("loglevel", "", "enum:loglevel", "notice"),
    ("maxmemory-policy", "", "enum:maxmemory_policy", "noeviction"),
    ("appendfsync", "", "enum:aof_fsync", "everysec"),
    ("oom-score-adj", "", "enum:oom_score_adj", "no"),
    ("acl-pubsub-default", "", "enum:acl_pubsub_default", "resetchannels"),
    ("sanitize-dump-payload", "", "enum:sanitize_dump_payload", "no"),
    ("enable-protected-configs", "I", "enum:protected_action", "no"),
    ("enable-debug-command", "I", "enum:protected_action", "no"),
    ("enable-module-command", "I", "enum:protected_action", "no"),
    ("cluster-preferred-endpoint-type", "", "enum:cluster_preferred_endpoint_type", "ip"),
    ("propagation-error-behavior", "", "enum:propagation_error_behavior", "ignore"),
    ("shutdown-on-sigint", "M", "enum:shutdown_on_sig", "default"),
    ("shutdown-on-sigterm", "M", "enum:shutdown_on_sig", "default"),
    ("databases", "I", "i", "16", 1, INT_MAX),
    ("port", "", "i", "6379", 0, 65535),
    ("io-threads", "I", "i", "1", 1, 128),
    ("auto-aof-rewrite-percentage", "", "i", "100", 0, INT_MAX),
    ("cluster-replica-validity-factor|cluster-slave-validity-factor", "", "i", "10", 0, INT_MAX),
    ("list-max-listpack-size|list-max-ziplist-size", "", "i", "-2", INT_MIN, INT_MAX),
    ("tcp-keepalive", "", "i", "300", 0, INT_MAX),
    ("cluster-migration-barrier", "", "i", "1", 0, INT_MAX),
    ("active-defrag-cycle-min", "", "i", "1", 1, 99),
    ("active-defrag-cycle-max", "", "i", "25", 1, 99),
    ("active-defrag-threshold-lower", "", "i", "10", 0, 1000),
    ("active-defrag-threshold-upper", "", "i", "100", 0, 1000),
    ("lfu-log-factor", "", "i", "10", 0, INT_MAX),
    ("lfu-decay-time", "", "i", "1", 0, INT_MAX),
    ("replica-priority|slave-priority", "", "i", "100", 0, INT_MAX),
    ("repl-diskless-sync-delay", "", "i", "5", 0, INT_MAX),
    ("maxmemory-samples", "", "i", "5", 1, INT_MAX),
    ("maxmemory-eviction-tenacity", "", "i", "10", 0, 100),
    ("timeout", "", "i", "0", 0, INT_MAX),
    ("replica-announce-port|slave-announce-port", "", "i", "0", 0, 65535),
    ("tcp-backlog", "I", "i", "511", 0, INT_MAX),
    ("cluster-port", "I", "i", "0", 0, 65535),
    ("cluster-announce-bus-port", "", "i", "0", 0, 65535),
    ("cluster-announce-port", "", "i", "0", 0, 65535),
    ("cluster-announce-tls-port", "", "i", "0", 0, 65535),
    ("repl-timeout", "", "i", "60", 1, INT_MAX),
    ("repl-ping-replica-period|repl-ping-slave-period", "", "i", "10", 1, INT_MAX),
    ("list-compress-depth", "", "i", "0", 0, INT_MAX),
    ("rdb-key-save-delay", "H", "i", "0", INT_MIN, INT_MAX),
    ("key-load-delay", "H", "i", "0", INT_MIN, INT_MAX),
    ("active-expire-effort", "", "i", "1", 1, 10),
    ("hz", "", "i", "10", 0, INT_MAX),
    ("min-replicas-to-write|min-slaves-to-write", "", "i", "0", 0, INT_MAX),
    ("min-replicas-max-lag|min-slaves-max-lag", "", "i", "10", 0, INT_MAX),
    ("watchdog-period", "H", "i", "0", 0, INT_MAX),
    ("shutdown-timeout", "", "i", "10", 0, INT_MAX),
    ("repl-diskless-sync-max-replicas", "", "i", "0", 0, INT_MAX),
    ("maxclients", "", "u", "10000", 1, UINT_MAX),
    ("unixsocketperm", "I", "uo", "0", 0, 511),
    ("socket-mark-id", "I", "u", "0", 0, UINT_MAX),
    ("active-defrag-max-scan-fields", "", "i", "1000", 1, LONG_MAX),
    ("slowlog-max-len", "", "i", "128", 0, LONG_MAX),
    ("acllog-max-len", "", "i", "128", 0, LONG_MAX),
    ("busy-reply-threshold|lua-time-limit", "", "i", "5000", 0, LONG_MAX),
    ("cluster-node-timeout", "", "i", "15000", 0, LONG_MAX),
    ("slowlog-log-slower-than", "", "i", "10000", -1, LONG_MAX),
    ("latency-monitor-threshold", "", "i", "0", 0, LONG_MAX),
    ("proto-max-bulk-len", "", "im", "536870912", 1048576, LONG_MAX),
    ("stream-node-max-entries", "", "i", "100", 0, LONG_MAX),
    ("repl-backlog-size", "", "im", "1048576", 1, LONG_MAX),
    ("maxmemory", "", "um", "0", 0, ULLONG_MAX),
    ("cluster-link-sendbuf-limit", "", "um", "0", 0, ULLONG_MAX),
    ("hash-max-listpack-entries|hash-max-ziplist-entries", "", "u", "512", 0, LONG_MAX),
    ("set-max-intset-entries", "", "u", "512", 0, LONG_MAX),
    ("zset-max-listpack-entries|zset-max-ziplist-entries", "", "u", "128", 0, LONG_MAX),
    ("active-defrag-ignore-bytes", "", "um", "104857600", 1, LONG_MAX),
    ("hash-max-listpack-value|hash-max-ziplist-value", "", "um", "64", 0, LONG_MAX),
    ("stream-node-max-bytes", "", "um", "4096", 0, LONG_MAX),
    ("zset-max-listpack-value|zset-max-ziplist-value", "", "um", "64", 0, LONG_MAX),
    ("hll-sparse-max-bytes", "", "um", "3000", 0, LONG_MAX),
    ("tracking-table-max-keys", "", "u", "1000000", 0, LONG_MAX),
    ("client-query-buffer-limit", "", "um", "1073741824", 1048576, LONG_MAX),
    ("maxmemory-clients", "", "im%", "0", -100, LONG_MAX),
    ("repl-backlog-ttl", "", "i", "3600", 0, LONG_MAX),
    ("auto-aof-rewrite-min-size", "", "im", "67108864", 0, LONG_MAX),
    ("loading-process-events-interval-bytes", "H", "i", "2097152", 1024, INT_MAX),
    ("tls-port", "", "i", "0", 0, 65535),
    ("tls-session-cache-size", "", "i", "20480", 0, INT_MAX),
    ("tls-session-cache-timeout", "", "i", "300", 0, INT_MAX),
    ("tls-cluster", "", "bool", "no"),
    ("tls-replication", "", "bool", "no"),
    ("tls-auth-clients", "", "enum:tls_auth_clients", "yes"),
    ("tls-prefer-server-ciphers", "", "bool", "no"),
    ("tls-session-caching", "", "bool", "yes"),
    ("tls-cert-file", "", "string", ""),
    ("tls-key-file", "", "string", ""),
    ("tls-key-file-pass", "", "string", ""),
    ("tls-client-cert-file", "", "string", ""),
    ("tls-client-key-file", "", "string", ""),
    ("tls-client-key-file-pass", "", "string", ""),
    ("tls-dh-params-file", "", "string", ""),
    ("tls-ca-cert-file", "", "string", ""),
    ("tls-ca-cert-dir", "", "string", ""),
    ("tls-protocols", "", "string", ""),
    ("tls-ciphers", "", "string", ""),
    ("tls-ciphersuites", "", "string", ""),
    ("dir", "P", "dir", "/tmp"),
    ("save", "M", "save", ""),
    ("client-output-buffer-limit", "M", "client-output-buffer-limit", _OBUF_DEFAULT),
    ("oom-score-adj-values", "M", "oom-score-adj-values", "0 200 800"),
    ("notify-keyspace-events", "", "notify-keyspace-events", ""),
    ("bind", "M", "bind", "* -::*"),
    ("replicaof|slaveof", "IM", "replicaof", ""),
    ("latency-tracking-info-percentiles", "M", "latency-tracking-info-percentiles", "50 99 99.9"),
)

_ENUMS: dict[str, tuple[tuple[bytes, int], ...]] = {
    "supervised_mode": ((b"upstart", 1), (b"systemd", 2), (b"auto", 3), (b"no", 0)),
    "syslog_facility": tuple((name, i) for i, name in enumerate(
        (b"user", b"local0", b"local1", b"local2", b"local3", b"local4", b"local5", b"local6", b"local7"))),
    "repl_diskless_load": ((b"disabled", 0), (b"on-empty-db", 1), (b"swapdb", 2)),
    "loglevel": ((b"debug", 0), (b"verbose", 1), (b"notice", 2), (b"warning", 3)),
    "maxmemory_policy": tuple((name, i) for i, name in enumerate((
        b"volatile-lru", b"volatile-lfu", b"volatile-random", b"volatile-ttl", b"allkeys-lru", b"allkeys-lfu",
        b"allkeys-random", b"noeviction"))),
    "aof_fsync": ((b"everysec", 2), (b"always", 1), (b"no", 0)),
    # "yes" and "relative" are one value: CONFIG GET names it by the first, "yes".
    "oom_score_adj": ((b"no", 0), (b"yes", 1), (b"relative", 1), (b"absolute", 2)),
    "acl_pubsub_default": ((b"allchannels", 8), (b"resetchannels", 0)),
    "sanitize_dump_payload": ((b"no", 0), (b"yes", 1), (b"clients", 2)),
    "protected_action": ((b"no", 0), (b"yes", 1), (b"local", 2)),
    "cluster_preferred_endpoint_type": ((b"ip", 0), (b"hostname", 1), (b"unknown-endpoint", 2)),
    "propagation_error_behavior": ((b"ignore", 0), (b"panic", 1), (b"panic-on-replicas", 2)),
    # Bit flags (a multi-argument enum): SHUTDOWN_SAVE, _NOSAVE, _NOW, _FORCE.
    "shutdown_on_sig": ((b"default", 0), (b"save", 1), (b"nosave", 2), (b"now", 4), (b"force", 8)),
    "tls_auth_clients": ((b"no", 0), (b"yes", 1), (b"optional", 2)),
}


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of the table (an alias is another name for the same Param)."""

    name: bytes
    flags: str
    kind: str
    default: bytes
    lower: int = 0
    upper: int = 0


class Invalid(Exception):
    """A value ``CONFIG SET`` refuses; the argument is Redis's text after the " - "."""


def _table() -> tuple[dict[bytes, Param], dict[bytes, tuple[bytes, Param]], tuple[bytes, ...]]:
    params: dict[bytes, Param] = {}
    names: dict[bytes, tuple[bytes, Param]] = {}
    order: list[bytes] = []
    for row in _ROWS:
        spelled, flags, kind, default, *bounds = row
        primary, _, alias = str(spelled).partition("|")
        param = Param(primary.encode(), str(flags), str(kind), str(default).encode(),
                      *(int(bound) for bound in bounds))  # type: ignore[call-overload]
        params[param.name] = param
        for name in (primary, alias) if alias else (primary,):
            names[name.encode()] = (name.encode(), param)
            order.append(name.encode())
    return params, names, tuple(order)


PARAMS, NAMES, ORDER = _table()
"""By primary name; every registered name (aliases too) -> (that name, its Param); all names in
config.c's order (a primary, then its alias), the order the model lists a pattern's matches in."""
DEFAULTS: Mapping[bytes, bytes] = {name: param.default for name, param in PARAMS.items()}


def lookup(name: bytes) -> tuple[bytes, Param] | None:
    """The registered spelling and Param of ``name`` (case-insensitive, aliases included)."""
    return NAMES.get(name.lower())


Current = Mapping[bytes, bytes]  # the values configured so far (primary name -> canonical value)


def current(values: Current, name: bytes) -> bytes:
    return values.get(name, DEFAULTS[name])


def canonical(param: Param, value: bytes, values: Current) -> bytes:
    """What CONFIG GET reports after ``CONFIG SET <param> <value>``; raises :class:`Invalid`.

    ``values`` are the values in force (the checks of ``proc-title-template`` read ``port``).
    """
    value = value.split(b"\0", 1)[0]  # Redis's setters read C strings
    kind = param.kind
    if kind == "bool":
        if value.lower() not in (b"yes", b"no"):
            raise Invalid("argument must be 'yes' or 'no'")
        return value.lower()
    if kind == "string":
        _check_string(param.name, value, values)
        return value
    if kind.startswith("enum:"):
        return _enum(param, value)
    if kind[0] in "iu":
        return _numeric(param, value)
    return _SPECIAL[kind](_split(value), values)


def _split(value: bytes) -> list[bytes]:
    # sdssplitlen(value, " "): an empty value is no argument at all; every space separates.
    return value.split(b" ") if value else []


_HOSTNAME = re.compile(rb"[A-Za-z0-9.\-]*")
_TEMPLATE_VARIABLES = frozenset({b"title", b"listen-addr", b"server-mode", b"config-file", b"port", b"tls-port",
                                 b"unixsocket"})


def _check_string(name: bytes, value: bytes, values: Current) -> None:
    if name == b"cluster-announce-hostname":  # isValidAnnouncedHostname
        if len(value) >= 256:
            raise Invalid("Hostnames must be less than 256 characters")
        if not _HOSTNAME.fullmatch(value):
            raise Invalid("Hostnames may only contain alphanumeric characters, hyphens or dots")
    elif name == b"proc-title-template" and not _expands(value, values):
        raise Invalid("template format is invalid or contains unknown variables")


def _expands(template: bytes, values: Current) -> bool:
    """validateProcTitleTemplate: sdstemplate with an empty title, non-empty once trimmed."""
    out, rest = b"", template
    while rest:
        start = rest.find(b"{")
        if start < 0:
            out += rest
            break
        out, rest = out + rest[:start], rest[start + 1:]
        if not rest:
            return False
        if rest[:1] == b"{":
            out, rest = out + b"{", rest[1:]
            continue
        end = rest.find(b"}")
        if end < 0 or rest[:end] not in _TEMPLATE_VARIABLES:
            return False
        out += _template_value(rest[:end], values)
        rest = rest[end + 1:]
    return bool(out.strip(b" "))


def _template_value(variable: bytes, values: Current) -> bytes:
    port, tls_port = current(values, b"port"), current(values, b"tls-port")
    if variable == b"listen-addr":
        if port == b"0" and tls_port == b"0":
            return b"unixsocket:" + current(values, b"unixsocket")
        bind = _split(current(values, b"bind"))
        return (bind[0] if bind else b"*") + b":" + (port if port != b"0" else tls_port)
    if variable in (b"port", b"tls-port", b"unixsocket"):
        return current(values, variable)
    return b"-" if variable == b"config-file" else b""


def _enum(param: Param, value: bytes) -> bytes:
    choices = _ENUMS[param.kind[5:]]
    bitflags = "M" in param.flags
    words = _split(value) if bitflags else [value]
    flags = 0
    for word in words:
        matched = [number for name, number in choices if name == word.lower()]
        if not matched:
            words = []
            break
        flags |= matched[0]
    if not words:
        raise Invalid("argument(s) must be one of the following: " + ", ".join(name.decode() for name, _ in choices))
    if bitflags and flags & 1 and flags & 2:  # isValidShutdownOnSigFlags
        raise Invalid("shutdown options SAVE and NOSAVE can't be used simultaneously")
    return _enum_name(choices, flags, bitflags)


def _enum_name(choices: tuple[tuple[bytes, int], ...], flags: int, bitflags: bool) -> bytes:
    # configEnumGetName: an exact value first; bit flags as names, high bits not first (table order).
    names, unmatched = [], flags
    for name, number in choices:
        if flags == number:
            return name
        if bitflags and number and number == unmatched & number:
            names.append(name)
            unmatched &= ~number
    return b" ".join(names) if names and not unmatched else b"unknown"


_DIGITS = re.compile(rb"[0-9]*")
_STRING2LL = re.compile(rb"-?[1-9][0-9]*|0")
_UNITS = {b"": 1, b"b": 1, b"k": 1000, b"kb": 1024, b"m": 1000**2, b"mb": 1024**2, b"g": 1000**3, b"gb": 1024**3}


def memtoull(text: bytes) -> int | None:
    """util.c's memtoull: digits then an optional unit (b, k, kb, m, mb, g, gb, any case), or None.

    No digits at all reads as 0 (strtoull of "" is 0), a value past 2^64 saturates, and the
    product wraps around 2^64, all as in C.

    >>> memtoull(b"1Gb"), memtoull(b"5k"), memtoull(b"mb"), memtoull(b"-1"), memtoull(b"1 mb")
    (1073741824, 5000, 0, None, None)
    """
    digits = _DIGITS.match(text)
    assert digits is not None
    unit = text[digits.end():].lower()
    if unit not in _UNITS or digits.end() >= 128:
        return None
    number = min(int(digits.group() or b"0"), ULLONG_MAX)
    return (number * _UNITS[unit]) % 2**64


def string2ll(text: bytes) -> int | None:
    """util.c's string2ll: strict decimal (no sign +, no leading zero), in range, or None."""
    if len(text) > 20 or not _STRING2LL.fullmatch(text):
        return None
    value = int(text)
    return value if -(2**63) <= value <= LONG_MAX else None


def _numeric(param: Param, text: bytes) -> bytes:
    units, value = param.kind[1:], None
    if "m" in units:
        found = memtoull(text)
        if found is not None:
            value = found - 2**64 if found > LONG_MAX else found  # the long long it is kept in
    if value is None and "%" in units and len(text) > 1 and text.endswith(b"%"):
        percent = string2ll(text[:-1])
        if percent is not None and percent >= 0:
            value = -percent  # kept negative: a share of maxmemory
    if value is None and not units:
        value = string2ll(text)
    if value is None:
        raise Invalid("argument must be a memory or percent value" if "%" in units else
                      "argument must be a memory value" if "m" in units else
                      "argument couldn't be parsed into an integer")
    _bounds(param, value)
    if param.name == b"hz":  # updateHZ caps the value (CONFIG_MIN_HZ, CONFIG_MAX_HZ)
        value = min(max(value, 1), 500)
    if "%" in units and value < 0:
        return b"%d%%" % -value
    return b"%d" % (value % 2**64 if "m" in units else value)


def _bounds(param: Param, value: int) -> None:
    """numericBoundaryCheck: unsigned types compare the value as unsigned."""
    lower, upper = param.lower, param.upper
    if param.kind[0] == "u":
        if not lower <= value % 2**64 <= upper:
            raise Invalid(f"argument must be between {lower} and {upper} inclusive")
    elif "%" in param.kind and value < 0:
        if value < lower:
            raise Invalid(f"percentage argument must be less or equal to {-lower}")
    elif not lower <= value <= upper:
        raise Invalid(f"argument must be between {lower} and {upper} inclusive")


_STRTOLL = re.compile(rb"[ \t\n\v\f\r]*([+-]?[0-9]+)?")


def strtoll(text: bytes) -> tuple[int, bool]:
    """C's ``strtoll(text, &end, 10)``: the value (saturated) and whether ``*end`` is the end."""
    found = _STRTOLL.match(text)
    assert found is not None
    if found.group(1) is None:
        return 0, not text
    value = max(min(int(found.group(1)), LONG_MAX), -(2**63))
    return value, found.end() == len(text)


def _c_int(value: int) -> int:
    """A long long stored in a C int (two's complement truncation)."""
    return (value + 2**31) % 2**32 - 2**31


def _save(args: list[bytes]) -> bytes:
    """setConfigSaveOption: ``<seconds> <changes>`` pairs, seconds >= 1, changes >= 0."""
    if len(args) % 2:
        raise Invalid("Invalid save parameters")
    numbers = []
    for index, arg in enumerate(args):
        value, whole = strtoll(arg)
        if not whole or value < (1 if index % 2 == 0 else 0):
            raise Invalid("Invalid save parameters")
        numbers.append(value if index % 2 == 0 else _c_int(value))
    return b" ".join(b"%d" % number for number in numbers)


_CLIENT_CLASSES = {b"normal": 0, b"slave": 1, b"replica": 1, b"pubsub": 2}


def _output_buffer_limit(args: list[bytes], values: Current) -> bytes:
    """updateClientOutputBufferLimit: ``<class> <hard> <soft> <seconds>`` groups, all or nothing."""
    if len(args) % 4:
        raise Invalid("Wrong number of arguments in buffer limit configuration.")
    limits = _split(current(values, b"client-output-buffer-limit"))
    for at in range(0, len(args), 4):
        klass, hard, soft, seconds = args[at:at + 4]
        index = _CLIENT_CLASSES.get(klass.lower())
        if index is None:  # "master" is a class, but not one that has limits
            raise Invalid("Invalid client class specified in buffer limit configuration.")
        hard_bytes, soft_bytes = memtoull(hard), memtoull(soft)
        number, whole = strtoll(seconds)
        number = _c_int(number)
        if hard_bytes is None or soft_bytes is None or number < 0 or not whole:
            raise Invalid("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
        limits[index * 4 + 1:index * 4 + 4] = [b"%d" % hard_bytes, b"%d" % soft_bytes, b"%d" % number]
    return b" ".join(limits)


def _oom_score_adj_values(args: list[bytes]) -> bytes:
    if len(args) != 3:
        raise Invalid("wrong number of arguments")
    numbers = []
    for arg in args:
        value, whole = strtoll(arg)
        if not whole or not -2000 <= value <= 2000:
            raise Invalid("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
        numbers.append(value)
    return b" ".join(b"%d" % number for number in numbers)


# keyspaceEventsStringToFlags / keyspaceEventsFlagsToString (notify.c).
_EVENT_CLASSES = {ord(c): 1 << bit for c, bit in zip("KEg$lshzxetm", range(12))} | {ord("d"): 1 << 13, ord("n"): 1 << 14}
_NOTIFY_ALL = sum(_EVENT_CLASSES[ord(c)] for c in "g$lshzxetd")
_EVENT_ORDER = "g$lshzxetdn"


def _notify_keyspace_events(args: list[bytes]) -> bytes:
    flags = 0
    for byte in b" ".join(args):
        if byte == ord("A"):
            flags |= _NOTIFY_ALL
        elif byte in _EVENT_CLASSES:
            flags |= _EVENT_CLASSES[byte]
        else:
            raise Invalid("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
    if flags & _NOTIFY_ALL == _NOTIFY_ALL:
        out = "A"
    else:
        out = "".join(c for c in _EVENT_ORDER if flags & _EVENT_CLASSES[ord(c)])
    out += "".join(c for c in "KEm" if flags & _EVENT_CLASSES[ord(c)])
    return out.encode()


def _bind(args: list[bytes]) -> bytes:
    if len(args) > 16:  # CONFIG_BINDADDR_MAX
        raise Invalid("Too many bind addresses specified.")
    return b" ".join(args)


_PERCENTILE = re.compile(rb"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?)", re.IGNORECASE)


def _percentiles(args: list[bytes]) -> bytes:
    out = []
    for arg in args:
        if not _PERCENTILE.fullmatch(arg):  # string2d (hex floats left out)
            raise Invalid("Invalid latency-tracking-info-percentiles parameters")
        value = float(arg)
        if not 0.0 <= value <= 100.0:
            raise Invalid("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
        text = b"%f" % value  # then trimDoubleString: no trailing zeros, no trailing dot
        out.append(text.rstrip(b"0").rstrip(b".") if b"." in text else text)
    return b" ".join(out)


_SPECIAL: dict[str, Callable[[list[bytes], Current], bytes]] = {
    "save": lambda args, values: _save(args),
    "client-output-buffer-limit": _output_buffer_limit,
    "oom-score-adj-values": lambda args, values: _oom_score_adj_values(args),
    "notify-keyspace-events": lambda args, values: _notify_keyspace_events(args),
    "bind": lambda args, values: _bind(args),
    "latency-tracking-info-percentiles": lambda args, values: _percentiles(args),
}
