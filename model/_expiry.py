"""Active expiry: the keys Redis's ``activeExpireCycle`` deletes between commands, as a pure step.

Redis deletes an expired key in two ways: lazily, when a command touches it (the model's
:meth:`Context.read <redlin.model._engine.Context.read>` does that), and actively, about ten times a
second, sampling keys with a TTL and deleting the expired ones.  Both delete the key the same way
(``deleteExpiredKeyAndPropagate``: the key is gone, and a client that WATCHed it while it was still
alive sees its transaction fail, sheet W10).  Only the moment differs, and only commands that see
the whole keyspace (DBSIZE, KEYS, SCAN, RANDOMKEY) can tell.

The model's steps never expire actively: in a checked history the moment is unknown, and a step
must be a pure function of its inputs.  The embedded server (``redlin serve``) calls
:func:`active_expire` on a timer instead, with its clock, and so shrinks DBSIZE the way Redis's
own tests expect.  Where Redis samples twenty keys at random per round and stops early, this
deletes every key that is due: after one round nothing expired is left, which Redis reaches within
a few rounds for a small keyspace.

>>> from redlin.model import step
>>> from redlin.model._state import INITIAL_STATE
>>> state, _ = step(INITIAL_STATE, 1, [b"SET", b"k", b"v", b"PX", b"100"], now=0)
>>> step(active_expire(state, now=99), 1, [b"DBSIZE"], now=99)[1]
1
>>> step(active_expire(state, now=100), 1, [b"DBSIZE"], now=100)[1]
0
"""

from __future__ import annotations

from ._engine import Context
from ._state import State

_CRON = "active-expire"
"""The client id the deletions run as: no connection's, so no session is changed but by WATCH."""


def active_expire(state: State, now: int) -> State:
    """``state`` with every key whose expiry time is ``now`` or earlier deleted, in every database.

    Deleting a key touches it, as lazy expiry does: a session watching it becomes dirty unless it
    started watching when the key had already expired (W11).  Returns ``state`` itself when nothing
    is due.
    """
    due = [(index, [key for key, when in keyspace.expires.items() if when <= now])
           for index, keyspace in enumerate(state.dbs) if keyspace.expires]
    due = [(index, keys) for index, keys in due if keys]
    if not due:
        return state
    ctx = Context(state, _CRON, now)
    for index, keys in due:
        ctx.select(index)
        for key in keys:
            ctx.read(key)  # reading an expired key deletes it and touches it, as expireIfNeeded does
    return ctx.commit()


__all__ = ["active_expire"]
