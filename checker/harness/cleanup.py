"""Delete a run's keys: each run's as soon as it is checked, whatever is left at the end, and a last sweep.

A soak run of a day draws hundreds of thousands of programs, each under its own prefix
``redlin:<run-id>:<n>:``; deleting their keys only at the end would leave the server holding all
of them until then, and all of them behind if the run were killed.  So :meth:`RunKeys.release`
deletes a run's keys as soon as the run is checked (its history is in memory: the keys are of no
further use), and :meth:`RunKeys.finish` deletes whatever could not be deleted on the way (the
target was away, or a signal came in between).

An operation that went unanswered may still take effect later: a paused server runs the commands
it had read when it resumes, possibly after its keys were deleted.  So when a run had such
operations, :meth:`RunKeys.finish` ends with a sweep: ``SCAN`` for keys under the run's prefix
(names only: other keys are never read or touched), deleting what it finds, for at most the time
given.  Every ``DEL`` goes through the run's guard, like every command of the run.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Final

from redlin.harness.pubsub import escape_glob
from redlin.harness.recorder import Recorder
from redlin.harness.target import TargetError, open_connection
from redlin.harness.wire import WireError
from redlin.model import ProtocolError

__all__ = ["SCAN_COUNT", "RunKeys"]

SCAN_COUNT: Final = 1000
"""Keys looked at per SCAN call of the last sweep."""


class RunKeys:
    """The keys of a run's programs, deleted as soon as each run is checked (see the module docstring)."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.deleted = 0
        """Keys deleted so far (that existed)."""
        self.failed = False
        """Some deletion failed on the way (its keys are deleted by :meth:`finish`)."""

    def release(self, keys: Iterable[bytes]) -> None:
        """Delete ``keys`` now; if the target cannot be reached, :meth:`finish` will."""
        keys = set(keys)
        if not keys:
            return
        try:
            self.deleted += self.recorder.delete_keys(keys)
        except (WireError, TargetError, ProtocolError):
            self.failed = True
            return
        self.recorder.touched.difference_update(keys)

    def finish(self, *, sweep: bool, until: float) -> list[str]:
        """Delete every key not deleted yet, then (with ``sweep``) any key left under the run's
        prefix, until the clock reaches ``until``; the notes for the user (what could not be done)."""
        left = set(self.recorder.touched)
        try:
            self.deleted += self.recorder.delete_keys(left)
        except (WireError, TargetError, ProtocolError) as error:
            return [f"could not delete the run's keys: {error}"]
        self.recorder.touched.difference_update(left)
        if not (sweep or self.failed):
            return []
        try:
            if not self._sweep(until):
                return [f"the last look for the run's keys ran out of time: some may be left under "
                        f"{self.recorder.guard.prefix.decode('utf-8', 'replace')}"]
        except (WireError, TargetError, ProtocolError) as error:
            return [f"could not look for keys left under the run's prefix: {error}"]
        return []

    def _sweep(self, until: float) -> bool:
        """SCAN for the run's keys and delete them; whether the scan finished in time.  A server
        without SCAN (redlin's embedded one, which stops with the run) is not swept."""
        recorder = self.recorder
        pattern = escape_glob(recorder.guard.prefix) + b"*"
        with open_connection(recorder.target, recorder.timeout) as conn:
            cursor: object = b"0"
            while True:
                if time.monotonic() >= until:
                    return False
                assert isinstance(cursor, bytes)
                reply = conn.execute(b"SCAN", cursor, b"MATCH", pattern, b"COUNT", str(SCAN_COUNT).encode())
                if not (isinstance(reply, tuple) and len(reply) == 2 and isinstance(reply[1], tuple)):
                    return True
                cursor, found = reply[0], [key for key in reply[1] if isinstance(key, bytes)]
                if found:
                    argv = (b"DEL", *found)
                    recorder.guard.check(argv)
                    reply = conn.execute(*argv)
                    if type(reply) is int:
                        self.deleted += reply
                if cursor == b"0" or not isinstance(cursor, bytes):
                    return True
