"""MULTI / EXEC / DISCARD / WATCH / UNWATCH (multi.c), sheet items M1-M22 and W1-W20."""

from __future__ import annotations

from collections.abc import Sequence

from ._commands import command
from ._engine import EXECABORT, SEQUENTIAL, UNSEEN, Context, Unseen
from ._reply import NULL_ARRAY, OK, Error, Frames, Reply, frames_of
from ._state import Session, mail_frames


@command("multi", 1, "noscript loading stale fast allow_busy")
def multi(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if ctx.session.multi is not None:
        return Error("ERR MULTI calls can not be nested")  # does not abort the transaction (M3)
    ctx.set_session(ctx.session.replace(multi=()))
    return OK


@command("discard", 1, "noscript loading stale fast allow_busy")
def discard(ctx: Context, argv: Sequence[bytes]) -> Reply:
    if ctx.session.multi is None:
        return Error("ERR DISCARD without MULTI")
    ctx.set_session(_ended(ctx.session))
    return OK


def _ended(session: Session) -> Session:
    """discardTransaction: out of MULTI, both dirty flags cleared, every key unwatched."""
    return session.replace(multi=None, dirty_exec=False, dirty_cas=False, watched=frozenset(), stale=frozenset())


@command("exec", 1, "noscript loading stale")
def exec_(ctx: Context, argv: Sequence[bytes]) -> Reply:
    session = ctx.session
    queue = session.multi
    if queue is None:
        return Error("ERR EXEC without MULTI")
    if session.dirty_exec:  # EXECABORT wins over a touched watch (M18)
        ctx.set_session(_ended(session))
        return EXECABORT
    if session.dirty_cas or _watched_key_expired(ctx, session):
        ctx.set_session(_ended(session))
        return NULL_ARRAY
    # Redis unwatches before running the queue, so the queue's own writes cannot abort it (W17).
    ctx.set_session(_ended(session))
    ctx.in_exec = True
    observed = ctx.observed
    try:
        stream: list[Reply] = []
        for index, queued in enumerate(queue):
            ctx.observed = _observed_in_exec(observed, index, len(queue))
            before = len(ctx.session.mailbox)
            reply = ctx.run(queued)
            box = ctx.session.mailbox
            if len(box) > before:
                # A message to the EXEC's own client (it subscribed earlier in the queue) is written
                # in the middle of the EXEC reply, before the reply of the command that sent it.
                ctx.set_session(ctx.session.replace(mailbox=box[:before]))
                stream += [frame for mail in box[before:] for frame in mail_frames(mail)]
            stream += frames_of(reply)
    finally:
        ctx.in_exec = False
        ctx.observed = observed
    # ``*n`` then the values: a command that wrote several (SUBSCRIBE a b) makes the array end early
    # and the rest follow it as values of their own (M19).
    n = len(queue)
    return tuple(stream) if len(stream) == n else Frames((tuple(stream[:n]), *stream[n:]))


def _observed_in_exec(observed: Reply | Unseen, index: int, size: int) -> Reply | Unseen:
    """What a checker saw of the ``index``-th queued command's reply: its place in the observed
    EXEC array.  Messages written inside the EXEC reply (:class:`Frames`) make the places uncertain:
    the command is then as unseen as in a script.  Any other reply (nil, an error, an array of
    another size) differs from the reply the queue gives whatever is chosen: choose freely."""
    if observed is SEQUENTIAL or observed is UNSEEN:
        return observed
    if type(observed) is tuple and len(observed) == size:
        return observed[index]
    return UNSEEN if type(observed) is Frames else SEQUENTIAL


def _watched_key_expired(ctx: Context, session: Session) -> bool:
    """isWatchedKeyExpired: a watched key that was alive at WATCH has logically expired (W10)."""
    for db, key in session.watched:
        if (db, key) in session.stale:
            continue
        keyspace = ctx.keyspace(db)
        deadline = keyspace.expires.get(key)
        if deadline is not None and deadline <= ctx.now and key in keyspace.data:
            return True
    return False


@command("watch", -2, "noscript loading stale fast allow_busy", keys=(1, -1, 1))
def watch(ctx: Context, argv: Sequence[bytes]) -> Reply:
    session = ctx.session
    if session.multi is not None:
        return Error("ERR WATCH inside MULTI is not allowed")  # does not abort (M12)
    if session.dirty_cas:
        return OK  # already doomed; Redis keeps no watches for it (W19)
    watched, stale = set(session.watched), set(session.stale)
    keyspace = ctx.keyspace(ctx.db)
    for key in argv[1:]:
        where = (ctx.db, key)
        if where in watched:
            continue
        watched.add(where)
        deadline = keyspace.expires.get(key)
        if deadline is not None and deadline <= ctx.now and key in keyspace.data:
            stale.add(where)  # watched while already logically expired (W11)
    ctx.set_session(session.replace(watched=frozenset(watched), stale=frozenset(stale)))
    return OK


@command("unwatch", 1, "noscript loading stale fast allow_busy")
def unwatch(ctx: Context, argv: Sequence[bytes]) -> Reply:
    ctx.set_session(ctx.session.replace(dirty_cas=False, watched=frozenset(), stale=frozenset()))
    return OK
