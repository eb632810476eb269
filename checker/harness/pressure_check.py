"""Check a pressure run's history epoch by epoch, in a process of its own, while the recording goes on.

The clients of :mod:`redlin.harness.pressure_clients` send each command to a key of the epoch it
is invoked in (``<prefix>e<epoch>:k<n>``), so epochs share no key and each is checked on its own
(P-compositionality: a history is linearizable iff each part on disjoint keys is).  :func:`follow`
reads ``history.jsonl`` as the workers append to it, sorts each line into its epoch (an invocation
by its key, wherever in its call that is: ``MULTI`` has none and ``EVAL`` names it last; a
completion by its operation), and once an epoch is over -- its end, plus the reply
timeout, plus :data:`GRACE`, has passed, so no operation of it can still be written -- checks it:
its lines go to a file of their own behind the run's meta line, which is read back with
:func:`~redlin.history.jsonl.load_history` and checked with :func:`~redlin.search.check.check`, as
``redlin check`` would read and check the whole file.  A line that comes for an epoch already
checked (a worker that stalled longer than the grace) reopens it: it is checked again at the end.
An invocation that names no key (a check-and-set's ``UNWATCH``, sent when the epoch of its
``WATCH`` ended, :mod:`redlin.harness.pressure_workloads`; a generated ``PING`` or ``ECHO``) goes to the
epoch its invocation time lies in: its reply depends on no state, so whichever part holds it cannot
fail for it.  (A command whose reply depends on state must name its epoch: a Pub/Sub line names a channel of its
epoch, ``<prefix>ch:e<epoch>:k<n>``, a subscriber's PING and the QUIT that ends a broken connection's
subscriptions included, :mod:`redlin.harness.pressure_pubsub`; the time of an invocation
can lie a few nanoseconds, or with ``--dask`` a clock's uncertainty, past the end of the epoch whose
keys it uses.)  Lines of
no epoch (a keyless invocation before the run's start is known: none today) are checked together
at the end.

Checking an epoch early never invents a violation: what has been read is a prefix of the file, and
an invocation line is written before its command is sent, so every write a read of the prefix
returned is in the prefix.  What the prefix lacks is operations still in flight (indeterminate in
it: sound) and writes nobody in it read (leaving out a write no read saw keeps a linearizable
history linearizable).  A re-check at the end sees the whole epoch.

>>> route(b'{"event":"invoke","op":7,"client":2,"time":5,"call":[["GET","redlin:r:e3:k1"]]}')
(7, 3)
>>> route(b'{"event":"invoke","op":8,"client":2,"time":5,"call":[["MULTI"],["INCR","redlin:r:e4:k1"],["INCR","redlin:r:e4:k1"],["EXEC"]]}')
(8, 4)
>>> from redlin.harness.pressure_workloads import Write
>>> route(b'{"event":"invoke","op":9,"client":2,"time":5,"call":%s}' % Write.of("counter-script", b"redlin:r:e5:k1", 1).call.encode())
(9, 5)
>>> route(b'{"event":"invoke","op":10,"client":2,"time":5,"call":[["SCRIPT","LOAD","-- redlin script cache redlin:r:e6:k16\\\\nreturn 2"]]}')
(10, 6)
>>> route(b'{"event":"ok","op":7,"time":9,"result":[null]}')
(7, None)
"""

from __future__ import annotations

import os
import re
import resource
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any, Final

from redlin.adapter.redis_model import redis_model
from redlin.harness.pressure_clients import ignore_terminal_signals
from redlin.harness.pressure_epochs import epoch_at, epoch_end
from redlin.history.jsonl import load_history
from redlin.history.records import Outcome
from redlin.model import DEFAULT_PROFILE
from redlin.search.check import check
from redlin.search.result import Result

__all__ = ["GRACE", "EpochCheck", "follow", "grace_ns", "route"]

GRACE: Final = 0.25
"""Seconds past an epoch's end before it is checked, if none of its operations is in flight (a
quarter of the epoch's length for the short first ones, :func:`grace_ns`); else past its end and
the reply timeout."""
POLL: Final = 0.05
"""Seconds between reads of the file, at most."""
MIN_POLL: Final = 0.002
"""Seconds between reads of the file, at least."""
_OP: Final = re.compile(rb'"op":(\d+)')
_TIME: Final = re.compile(rb'"time":(\d+)')
_EPOCH: Final = re.compile(rb':e(\d+):k\d+(?:"|\\n)')
"""The end of a key, ``:e<epoch>:k<n>`` and the closing quote: the first in an invocation line is its
first key's (no other text of the line ends so: not the names of its commands, nor a register's value
``<client>.<sequence>``, nor ``counter-script``'s body, which comes before its key).  Or such a key and
a newline: a ``generated`` group's cached script names its group's first key, then a newline
(:func:`~redlin.harness.pressure_generated.script_bodies`), so a ``SCRIPT LOAD`` goes to its epoch."""
NO_EPOCH: Final = -1


@dataclass(frozen=True, slots=True)
class EpochCheck:
    """One epoch checked: its operations, how many indeterminate, the verdict, the checking time,
    and the file of its lines (the run's meta line first; removed with the run's pieces)."""

    epoch: int
    operations: int
    indeterminate: int
    verdict: str
    elapsed: float
    path: str
    result: Result | None = None
    """The checker's result (the parent keeps it only where the report may need it)."""
    done_ns: int = 0
    """When the check ended (``time.monotonic_ns()``, the clock every process of the machine shares)."""


def route(line: bytes) -> tuple[int, int | None]:
    """A line's operation id and, for an invocation, its epoch (``None`` for a completion)."""
    found = _OP.search(line)
    if found is None:
        raise ValueError(f"not an event of an operation: {line[:80]!r}")
    if line.startswith(b'{"event":"invoke"'):
        epoch = _EPOCH.search(line)
        return int(found.group(1)), NO_EPOCH if epoch is None else int(epoch.group(1))
    return int(found.group(1)), None


def grace_ns(epoch: int, epoch_ns: int) -> int:
    """Nanoseconds past the end of ``epoch`` before it is checked when none of its operations is in
    flight: :data:`GRACE`, or a quarter of the epoch's length if that is less (at least
    :data:`MIN_POLL`), so that the first epochs are checked soon after they end.  A line that comes
    later reopens the epoch (it is checked again at the end, whole).

    >>> grace_ns(0, 1_000_000_000), grace_ns(3, 1_000_000_000), grace_ns(9, 1_000_000_000)
    (3906250, 31250000, 250000000)
    """
    length = epoch_end(epoch, epoch_ns) - (epoch_end(epoch - 1, epoch_ns) if epoch > 0 else 0)
    return max(int(MIN_POLL * 1e9), min(int(GRACE * 1e9), length // 4))


class _Follower:
    """The state of :func:`follow`."""

    def __init__(self, path: Path, pieces: Path, epoch_ns: int, started_ns: int, wait_ns: int,
                 time_limit: float | None, profile: str) -> None:
        self.path, self.pieces = path, pieces
        self.epoch_ns, self.started_ns, self.wait_ns = epoch_ns, started_ns, wait_ns
        self.time_limit = time_limit
        self.offset = 0
        self.rest = b""
        self.meta = b""
        self.lines: dict[int, list[bytes]] = {}
        self.owner: dict[int, int] = {}  # op -> epoch, while the op is in flight
        self.flying: Counter[int] = Counter()  # epoch -> operations in flight
        self.checked: dict[int, EpochCheck] = {}
        self.reopened: set[int] = set()
        self.model = redis_model(profile=profile)

    def read(self) -> None:
        with open(self.path, "rb") as file:
            file.seek(self.offset)
            data = file.read()
        self.offset += len(data)
        data = self.rest + data
        cut = data.rfind(b"\n") + 1
        self.rest = data[cut:]
        for line in data[:cut].splitlines(keepends=True):
            if not self.meta:
                self.meta = line
                continue
            op, epoch = route(line)
            if epoch == NO_EPOCH:
                epoch = self.keyless(line)
            if epoch is None:
                epoch = self.owner.pop(op, NO_EPOCH)
                self.flying[epoch] -= 1
            else:
                self.owner[op] = epoch
                self.flying[epoch] += 1
            self.lines.setdefault(epoch, []).append(line)
            if epoch in self.checked:
                self.reopened.add(epoch)

    def keyless(self, line: bytes) -> int:
        """The epoch of an invocation that names no key: the one its time lies in."""
        found = _TIME.search(line)
        if found is None or not self.started_ns:
            return NO_EPOCH
        return epoch_at(int(found.group(1)) - self.started_ns, self.epoch_ns)

    def ready_at(self, epoch: int) -> int:
        """When ``epoch`` may be checked (``time.monotonic_ns()``): past its end and its grace with
        nothing in flight, else past its end and the wait."""
        end = epoch_end(epoch, self.epoch_ns)
        return self.started_ns + end + (grace_ns(epoch, self.epoch_ns) if self.flying[epoch] <= 0 else self.wait_ns)

    def due(self, now: int, final: bool) -> list[int]:
        """Epochs with lines not checked yet that are over (all of them when ``final``)."""
        return sorted(epoch for epoch, lines in self.lines.items() if lines and (
            final or (epoch != NO_EPOCH and epoch not in self.checked and now > self.ready_at(epoch))))

    def pause(self, now: int) -> float:
        """Seconds to sleep before reading again: :data:`POLL`, or less if an epoch read so far, or
        the one under way, is due sooner."""
        waiting = [self.ready_at(epoch) for epoch, lines in self.lines.items()
                   if lines and epoch != NO_EPOCH and epoch not in self.checked]
        if self.started_ns:
            waiting.append(self.ready_at(epoch_at(now - self.started_ns, self.epoch_ns)))
        return max(MIN_POLL, min([POLL, *((at - now) / 1e9 for at in waiting)]))

    def check(self, epoch: int) -> EpochCheck:
        piece = self.pieces / f"epoch{epoch}.jsonl"
        # An epoch's first lines start its file anew: a file left by an earlier run is not this one's.
        with open(piece, "ab" if epoch in self.checked else "wb") as file:
            if epoch not in self.checked:
                file.write(self.meta)
            file.writelines(self.lines[epoch])
        self.lines[epoch] = []
        history = load_history(piece)
        started = time.monotonic()
        result = check(history, self.model, time_limit=self.time_limit)
        done = EpochCheck(epoch, len(history), sum(1 for op in history if op.outcome is Outcome.INFO),
                          result.verdict, time.monotonic() - started, str(piece), result, time.monotonic_ns())
        self.checked[epoch] = done
        return done


def follow(path: str, pieces: str, epoch_ns: int, started: Any, wait_ns: int, recorded: Event,
           results: Queue[Any] | None = None, time_limit: float | None = None, go: Event | None = None,
           profile: str = DEFAULT_PROFILE) -> list[EpochCheck]:
    """Check the epochs of the history at ``path`` as they end, until ``recorded`` is set and every
    line is checked; each :class:`EpochCheck` also goes to ``results`` as it is made (then the CPU
    seconds this process used, as the end).

    ``pieces`` is a directory for the epochs' files; ``wait_ns`` the reply timeout plus the grace;
    ``time_limit`` seconds of checking for each epoch; ``started`` the run's start
    (``time.monotonic_ns()``), an integer or a shared ``multiprocessing.Value`` set before ``go``;
    ``profile`` the version the model plays (:data:`redlin.model.PROFILES`).
    """
    ignore_terminal_signals()  # Ctrl-C is the parent's to handle (it sets ``recorded``)
    if go is not None:
        go.wait()
    started_ns = started if isinstance(started, int) else int(started.value)
    follower = _Follower(Path(path), Path(pieces), epoch_ns, started_ns, wait_ns, time_limit, profile)
    os.makedirs(pieces, exist_ok=True)
    made: list[EpochCheck] = []
    while True:
        final = recorded.is_set()  # read after the flag: the workers' last lines are in the file
        follower.read()
        due = follower.due(time.monotonic_ns(), final)
        for epoch in due:
            made.append(follower.check(epoch))
            if results is not None:
                results.put(made[-1])
        if final:
            break
        if not due:
            time.sleep(follower.pause(time.monotonic_ns()))
    if results is not None:
        used = resource.getrusage(resource.RUSAGE_SELF)
        results.put(used.ru_utime + used.ru_stime)
    return made
