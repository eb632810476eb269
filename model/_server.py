"""Connection and server commands: PING ECHO SELECT DBSIZE FLUSHDB FLUSHALL SWAPDB QUIT RESET."""

from __future__ import annotations

from collections.abc import Sequence

from ._commands import command
from ._engine import CommandError, Context
from ._numbers import to_int
from ._reply import DB_INDEX, NOT_INTEGER, OK, PONG, SYNTAX, Error, Reply, Status
from ._state import DATABASES, DEFAULT_SESSION, EMPTY_KEYSPACE


@command("ping", -1, "fast")
def ping(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if len(argv) > 2:
        return Error("ERR wrong number of arguments for 'ping' command")
    if ctx.session.subscriptions and ctx.session.protocol == 2:  # RESP2 subscribed mode (P7)
        return (b"pong", argv[1] if len(argv) == 2 else b"")
    return argv[1] if len(argv) == 2 else PONG


@command("echo", 2, "loading stale fast")
def echo(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return argv[1]


def _db_index(text: bytes, invalid: str | None = None) -> int:
    index = to_int(text)
    if index is None or not -(2**31) <= index < 2**31:
        raise CommandError(Error(invalid) if invalid else NOT_INTEGER)
    if not 0 <= index < DATABASES:
        raise CommandError(DB_INDEX)
    return index


@command("select", 2, "loading stale fast")
def select(ctx: Context, argv: Sequence[bytes]) -> Reply:
    index = _db_index(argv[1])
    ctx.select(index)
    if not ctx.in_script:  # SELECT inside a script does not change the caller's DB (E31)
        ctx.set_session(ctx.session.replace(db=index))
    return OK


@command("dbsize", 1, "readonly fast")
def dbsize(ctx: Context, argv: Sequence[bytes]) -> Reply:
    return len(ctx.data)


def _flush_option(argv: Sequence[bytes]) -> None:
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() not in (b"async", b"sync")):
        raise CommandError(SYNTAX)


@command("flushdb", -1, "write")
def flushdb(ctx: Context, argv: Sequence[bytes]) -> Reply:
    _flush_option(argv)
    ctx.touch_db(ctx.db)
    ctx.set_keyspace(ctx.db, EMPTY_KEYSPACE)
    return OK


@command("flushall", -1, "write")
def flushall(ctx: Context, argv: Sequence[bytes]) -> Reply:
    _flush_option(argv)
    for index in range(DATABASES):
        ctx.touch_db(index)
        ctx.set_keyspace(index, EMPTY_KEYSPACE)
    return OK


@command("swapdb", 3, "write fast")
def swapdb(ctx: Context, argv: Sequence[bytes]) -> Reply:
    first = _db_index(argv[1], "ERR invalid first DB index")
    second = _db_index(argv[2], "ERR invalid second DB index")
    if first == second:
        return OK
    a, b = ctx.keyspace(first), ctx.keyspace(second)
    ctx.touch_db(first, b)
    ctx.touch_db(second, a)
    ctx.set_keyspace(first, b)
    ctx.set_keyspace(second, a)
    return OK


@command("quit", -1, "noscript loading stale fast allow_busy")
def quit_(ctx: Context, argv: Sequence[bytes]) -> Reply:
    # The connection closes after the reply: its session, queued MULTI included, is gone (M22).
    # Messages already written to it still arrive before the reply.
    ctx.set_session(DEFAULT_SESSION.replace(mailbox=ctx.session.mailbox))
    return OK


@command("reset", 1, "noscript loading stale fast allow_busy")
def reset(ctx: Context, argv: Sequence[bytes]) -> Reply:
    # Out of MULTI, unwatched, DB 0, unsubscribed, RESP2 again: a brand-new connection (M21, P10).
    # Messages already written to it are not taken back.
    ctx.set_session(DEFAULT_SESSION.replace(mailbox=ctx.session.mailbox))
    return Status("RESET")


def _not_modelled(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if argv[0].lower() == b"save" and ctx.profile.has("no-multi-commands-queued"):
        return OK  # 6.2 runs a queued SAVE at EXEC; with no disk in the model, a save changes nothing
    return Error(f"ERR redlin's model does not implement '{argv[0].decode().lower()}'")


# Registered so that their flags behave (no_multi aborts a transaction, M13); the model has no
# persistence or replication to run them against.
for _name, _arity, _flags in (
    ("save", 1, "admin noscript no_multi"),
    ("shutdown", -1, "admin noscript loading stale no_multi allow_busy"),
    ("sync", 1, "admin noscript no_multi"),
    ("psync", -3, "admin noscript no_multi"),
):
    command(_name, _arity, _flags)(_not_modelled)
