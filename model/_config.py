"""CONFIG GET / SET / RESETSTAT / REWRITE / HELP, as Redis 7.0.15's config.c answers them.

The parameters and their checks are :mod:`redlin.model._config_table`; the values CONFIG SET
changed live in the state (``State.config``, only those that differ from their defaults, so a
fresh state stays equal to every other fresh state).  Handlers read a value with
``ctx.config(name)`` (its primary name, the value as CONFIG GET reports it: memory in bytes).
FLUSHALL keeps them; a restart loses them (the model's server has no config file, so CONFIG
REWRITE answers "The server is running without a config file").

What the model does with a value, parameter by parameter:

* ``proto-max-bulk-len``: the string size limit of SETRANGE, APPEND, SETBIT... (their
  "string exceeds maximum allowed size" errors);
* ``stream-node-max-entries``, ``stream-node-max-bytes``: the node boundaries of approximate
  trimming (``XADD``/``XTRIM`` with ``~``);
* ``min-replicas-to-write`` (with ``min-replicas-max-lag`` not 0): the model is a master with no
  replica, so every write is refused with NOREPLICAS (processCommand, EXEC, scripts);
* ``notify-keyspace-events``: re-spelt as Redis does; the keyspace notifications it enables are
  sent (:mod:`redlin.model._notify`);
* everything else, ``maxmemory`` (the model does not count memory: never an OOM error, never an
  eviction) and ``busy-reply-threshold``/``lua-time-limit`` (a step runs a script to its end; the
  embedded server reads the limit to answer BUSY, :mod:`redlin.serve.busy`) among them, is
  stored and reported only.  So are the parameters whose apply step can fail on a real server
  (``port``, ``bind``, ``maxclients``, ``oom-score-adj``, ``appendonly``, TLS): the model's always
  succeeds.

CONFIG GET lists a pattern's matches in config.c's table order; Redis lists them in its hash
table's order, which differs from run to run (compare a multi-match reply as a set of pairs).

>>> from redlin.model import Redis
>>> r = Redis().client()
>>> r.execute("CONFIG", "SET", "maxmemory", "1mb", "notify-keyspace-events", "Exg$lshzted")
Status('OK')
>>> r.execute("CONFIG", "GET", "maxmemory", "notify-keyspace-events")
(b'maxmemory', b'1048576', b'notify-keyspace-events', b'AE')
"""

from __future__ import annotations

from collections.abc import Sequence

from immutables import Map

from ._commands import command, container
from ._config_table import DEFAULTS, NAMES, ORDER, Invalid, canonical
from ._config_table import lookup as lookup_param
from ._engine import Context, help_reply
from ._glob import stringmatch
from ._notify import event_flags, remember_new_under_all
from ._reply import OK, SYNTAX, Error, MapReply, Reply
from ._resp3 import register_rule

container("config", -2)


def _matches(patterns: Sequence[bytes]) -> list[tuple[bytes, bytes]]:
    """configGetCommand: (reported name, primary name) of every parameter the patterns select.

    A pattern without ``[``, ``*`` or ``?`` names one parameter (hidden ones too) and is reported
    as spelt; a glob matches the registered names without case, hidden ones excepted.  Each
    name is reported once (names compare without case).
    """
    found: dict[bytes, tuple[bytes, bytes]] = {}
    for pattern in patterns:
        if not any(char in pattern for char in b"[*?"):
            known = lookup_param(pattern)
            if known is not None and pattern.lower() not in found:
                found[pattern.lower()] = (pattern, known[1].name)
            continue
        for name in ORDER:
            param = NAMES[name][1]
            if "H" in param.flags or name in found:
                continue
            if stringmatch(pattern, name, nocase=True):
                found[name] = (name, param.name)
    return list(found.values())


@command("config|get", -3, "admin noscript loading stale")
def config_get(ctx: Context, argv: Sequence[bytes]) -> Reply:
    reply: list[bytes] = []
    for reported, name in _matches(argv[2:]):
        reply += (reported, ctx.config(name))
    return tuple(reply)


def _refusal(argv: Sequence[bytes]) -> Error | None:
    """configSetCommand's first pass: unknown, immutable, protected or repeated names.  The first
    problem met wins; an unknown name is reported as spelt, the others too."""
    seen: set[bytes] = set()
    for spelled in argv[2::2]:
        known = lookup_param(spelled)
        if known is None:
            return Error(f"ERR Unknown option or number of arguments for CONFIG SET - '{_text(spelled)}'")
        registered, param = known
        problem = ("can't set immutable config" if "I" in param.flags else
                   "can't set protected config" if "P" in param.flags else  # enable-protected-configs no
                   "duplicate parameter" if registered in seen else None)  # an alias is another name
        if problem is not None:
            return _failed(spelled, problem)
        seen.add(registered)
    return None


def _failed(name: bytes, problem: str) -> Error:
    return Error(f"ERR CONFIG SET failed (possibly related to argument '{_text(name)}') - {problem}")


def _text(data: bytes) -> str:
    return data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


@command("config|set", -4, "admin noscript loading stale")
def config_set(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if len(argv) % 2:
        return SYNTAX
    refused = _refusal(argv)
    if refused is not None:
        return refused
    settings: Map = ctx.settings  # type: ignore[type-arg]
    for spelled, value in zip(argv[2::2], argv[3::2]):
        registered, param = NAMES[spelled.lower()]
        try:
            new = canonical(param, value, settings)
        except Invalid as problem:  # all or nothing: the values set before are restored
            return _failed(registered, str(problem))
        if new == DEFAULTS[param.name]:
            settings = settings.delete(param.name) if param.name in settings else settings
        else:
            settings = settings.set(param.name, new)
        if param.name == b"notify-keyspace-events":
            settings = remember_new_under_all(settings, value)
    ctx.settings = settings
    ctx.notify_flags = event_flags(settings)  # the commands after it in this step notify at once
    return OK


@command("config|resetstat", 2, "admin noscript loading stale")
def config_resetstat(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return OK  # the model keeps no statistics (INFO stats, command stats, error stats)


@command("config|rewrite", 2, "admin noscript loading stale")
def config_rewrite(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return Error("ERR The server is running without a config file")


_HELP = (
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
)


@command("config|help", 2, "loading stale")
def config_help(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return help_reply(ctx, _HELP)


def _resp3(argv: Sequence[bytes], reply: Reply) -> Reply:
    # CONFIG GET replies with addReplyMapLen: a map under RESP3.
    if len(argv) > 1 and argv[1].lower() == b"get" and type(reply) is tuple:
        return MapReply.flat(reply)
    return reply


register_rule(b"config", _resp3)

__all__ = ["config_get", "config_set"]
