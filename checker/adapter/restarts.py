"""Server restarts in a Redis history: the pseudo-operation ``RESTART`` and what it does to the model.

A restarted Redis forgets everything it held only in memory: every connection (and so every
session: MULTI, WATCH, SELECT, subscriptions), the script cache (an ``EVALSHA`` answers
``NOSCRIPT`` until the body is sent again, sheet E20), and, unless it reloaded them from disk, the
keys.  None of that is a concurrency bug, so the recorder writes what it saw into the history as
one operation of a client of its own::

    call   ((b"RESTART", data, old_run_id, new_run_id),)     data: kept | emptied | unknown
    result (Status("OK"),)

whose step (:func:`restart_step`) is :func:`redlin.model.restart`: sessions ended, script cache
flushed, keyspace kept or emptied.  ``unknown`` (an RDB snapshot or an AOF that is not fsynced on
every write may have lost the last writes: what survived cannot be told) raises
:class:`~redlin.search.model.ModelLimit`, so the part is undecided and the verdict Unknown, never a
guess.

Why the search stays sound (never reports a violation that did not happen) and complete:

- *Its interval holds the real restart.*  The recorder asks every connection it opens for the
  server's ``run_id`` (``INFO server``).  The operation is invoked at the latest invocation of any
  command the old process answered, and completes when the first reply naming the new ``run_id``
  arrived.  The old process executed each of its commands after the command's invocation and died
  after executing it, so it died after the invocation time; the new process was running when it
  answered, so it started before that reply arrived.  Real-time order therefore only forces
  ``RESTART`` after operations the old process certainly finished and before operations invoked
  after the new one certainly answered, exactly as it happened.  Operations between the two bounds
  may be ordered either way: the search tries both.
- *Its effect is what happened.*  A connection cannot survive a restart, so each client that
  continues does so under a new client id (the recorder reconnects); dropping every session loses
  nothing a later operation could see.  An operation in flight at the restart is indeterminate: it
  may be placed before the restart (it ran), after it (the model then runs it on the new state,
  which only accepts more histories), or never.
- *It touches everything*: its part is the whole history (:func:`redlin.adapter.redis_model`'s
  ``_keys`` answers ``None``), so one point in time is chosen for every key and session at once.
  Splitting by keys would let each part choose its own point, which can accept a history no single
  order explains.

>>> call = restart_call("emptied", "4d63651619ea", "2bf3303f9009")
>>> call
(b'RESTART', b'emptied', b'4d63651619ea', b'2bf3303f9009')
>>> is_restart_argv(call), describe_restart(call)
(True, 'the server restarted (run 4d63651619ea -> 2bf3303f9009) and came back empty')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from redlin.history.records import Operation
from redlin.model import State, restart
from redlin.search.model import ModelLimit

__all__ = ["DATA", "RESTART", "describe_restart", "is_restart_argv", "restart_call", "restart_step"]

RESTART: Final = b"RESTART"
"""The pseudo-command of a server restart (no Redis command has this name)."""

DATA: Final = {
    "kept": "came back with its data",
    "emptied": "came back empty",
    "unknown": "came back with some of its data (which part is unknown)",
}
"""What a restart did to the keys, as the recorder read it from the new process."""


def restart_call(data: str, before: str, after: str) -> tuple[bytes, ...]:
    """The argv of the ``RESTART`` operation: what happened to the data, and the two ``run_id``\\ s."""
    if data not in DATA:
        raise ValueError(f"a restart's data is one of {', '.join(DATA)}, not {data!r}")
    return (RESTART, data.encode(), before.encode(), after.encode())


def is_restart_argv(argv: Sequence[bytes]) -> bool:
    """Whether ``argv`` is a ``RESTART`` pseudo-command."""
    return bool(argv) and argv[0] == RESTART


def restart_step(state: State, op: Operation) -> State:
    """The state after the restart ``op`` (see the module docstring); ``ModelLimit`` when what the
    server kept is unknown.  The same for an OK and an indeterminate restart: it has no reply to check."""
    data = op.call[0][1] if len(op.call[0]) > 1 else b""
    if data == b"kept":
        return restart(state, keep_data=True)
    if data == b"emptied":
        return restart(state, keep_data=False)
    raise ModelLimit(f"operation {op.id}: {describe_restart(op.call[0])}, so no state after it can be "
                     "checked (use AOF with appendfsync always, or no persistence, to make restarts checkable)")


def describe_restart(argv: Sequence[bytes]) -> str:
    """One line for reports: ``the server restarted (run a -> b) and came back empty``."""
    data = argv[1].decode("utf-8", "replace") if len(argv) > 1 else "unknown"
    runs = f" (run {argv[2].decode('utf-8', 'replace')} -> {argv[3].decode('utf-8', 'replace')})" if len(argv) > 3 else ""
    return f"the server restarted{runs} and {DATA.get(data, DATA['unknown'])}"
