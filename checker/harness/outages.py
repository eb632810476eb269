"""When the target goes away during a run: notice it, wait for it, remember the outage, tell a restart.

A server under test gets killed and restarted, paused (SIGSTOP), or cut off by the network while a
run goes on (Jepsen's nemeses do it on purpose).  The recorder makes every operation in flight
indeterminate (INFO: it may or may not have taken effect) and reconnects its clients for a few
seconds.  :class:`TargetWatch` does the rest:

- a *heartbeat* PINGs the target every :data:`HEARTBEAT` seconds on a connection of its own: a
  stretch in which it did not answer within ``--timeout`` is an outage, even if no operation of
  the run was in flight then (a pause that fell while the recorder was connecting);
- after a run with operations that ended without a reply (the :class:`~redlin.harness.journal.Journal`
  saw them), clients that gave up, or a restart the recorder saw, :meth:`TargetWatch.after` asks
  the target whether it is there (PING); if it is not, it polls it, backing off from 50 ms to 1 s,
  for up to ``--reconnect-for`` seconds, then the run goes on;
- when not even a program's first connection can be opened, :meth:`TargetWatch.unreachable` does
  the same;
- a target that does not come back in time ends the run (:class:`TargetLost`): what was recorded
  is still checked and reported.

Every such stretch is an :class:`Outage` (when, how long, the first error, whether the target
restarted; overlapping ones are one), in the run's notes and in its report's metadata; times are
milliseconds from the run's start, as in the report.

*Restarts.*  Redis gives every start of a server a new ``run_id`` (``INFO server``).  The recorder
notices a restart on the connections it opens and writes it into the run's history as a
``RESTART`` operation, which the model checks (:mod:`redlin.adapter.restarts`); the watch says so in
the outage it records, and compares ``run_id`` itself (the heartbeat and the waits read it), which
is what tells a restart during the Pub/Sub rounds, whose recorder does not (a violation in a round that lived through a restart counts as unknown, with
:data:`RESTART_REASON`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from redlin.harness.interrupts import checkpoint
from redlin.harness.journal import Journal
from redlin.harness.progress import Progress
from redlin.harness.server_state import Restart, info_fields
from redlin.harness.target import Target, TargetError, open_connection
from redlin.harness.wire import Connection, WireError
from redlin.model import Error, ProtocolError, Status

__all__ = ["RESTART_REASON", "Outage", "ServerFacts", "TargetLost", "TargetWatch", "probe", "server_facts",
           "wait_for_target"]

FIRST_RETRY: Final = 0.05
LONGEST_RETRY: Final = 1.0
"""Seconds between two attempts to reach a target that went away: doubling from the first to the longest."""
PROBE_TIMEOUT: Final = 2.0
"""The most seconds one attempt waits for a reply (a paused server accepts connections but does not answer)."""
MERGE_GAP: Final = 1_000_000_000
"""Nanoseconds: outages closer than this are one outage (a pause makes every run in it lose operations)."""
HEARTBEAT: Final = 0.25
"""Seconds between two PINGs of the heartbeat."""
MAX_OUTAGES: Final = 100
"""Outages kept one by one; later ones only counted (a flapping target over a day's soak)."""
RESTART_REASON: Final = ("the target restarted during this round (its run_id changed), and the history does not "
                         "say when: a violation in it proves nothing")


class TargetLost(Exception):
    """The target did not come back within ``--reconnect-for`` seconds: the run ends there."""


@dataclass(frozen=True, slots=True)
class ServerFacts:
    """What ``INFO server`` says about the server: its version and the id of its current start."""

    version: str | None
    run_id: str | None


def server_facts(info: object) -> ServerFacts:
    """The facts in an ``INFO server`` reply (``None`` for those it does not give).

    >>> server_facts(b"# Server\\r\\nredis_version:7.0.15\\r\\nrun_id:ab12\\r\\n")
    ServerFacts(version='7.0.15', run_id='ab12')
    """
    found = info_fields(info) if isinstance(info, bytes) else {}
    return ServerFacts(found.get("redis_version") or None, found.get("run_id") or None)


def probe(target: Target, timeout: float) -> ServerFacts:
    """Is the target there and ready?  Its facts if it answers PING (a server still loading its
    data answers ``-LOADING``: not ready); otherwise ``WireError``/``TargetError`` saying why."""
    with open_connection(target, timeout) as conn:
        try:
            pong = conn.execute(b"PING")
            if type(pong) is not Status or pong.text != "PONG":
                raise TargetError(f"{target.url}: PING answered {pong.text if isinstance(pong, Error) else pong!r}")
            return server_facts(conn.execute(b"INFO", b"server"))
        except ProtocolError as error:
            raise TargetError(f"{target.url}: {error}") from None


def wait_for_target(target: Target, timeout: float, *, until: float, give_up: float) -> ServerFacts | None:
    """Poll the target until it answers (its facts), backing off from :data:`FIRST_RETRY` to
    :data:`LONGEST_RETRY` seconds.  ``None`` when the clock reaches ``until`` first (the run's own
    end); :class:`TargetLost` when it reaches ``give_up`` first."""
    delay = FIRST_RETRY
    last = "no answer"
    while True:
        now = time.monotonic()
        if now >= until:
            return None
        if now >= give_up:
            raise TargetLost(last)
        try:
            return probe(target, min(timeout, PROBE_TIMEOUT, max(0.1, min(until, give_up) - now)))
        except (WireError, TargetError) as error:
            last = str(error)
        time.sleep(max(0.0, min(delay, until - time.monotonic(), give_up - time.monotonic())))
        checkpoint()  # a signal ends the wait
        delay = min(delay * 2, LONGEST_RETRY)


@dataclass(frozen=True, slots=True)
class Outage:
    """A stretch of a run when operations went unanswered.

    ``start`` and ``end`` are milliseconds from the run's start; ``unreachable`` the seconds the
    target did not answer the run loop's PING (0 when it answered at once: the operations timed
    out or lost their connection, but the server was there); ``lost`` that it never came back.
    """

    start: float
    end: float
    error: str
    indeterminate: int
    unreachable: float
    restarted: bool
    lost: bool = False

    def describe(self) -> str:
        """One line for the console and the notes.

        >>> Outage(1200.0, 2650.0, "connection lost: reset", 7, 1.25, True).describe()
        'outage from 1,200 ms to 2,650 ms: the target restarted (it did not answer for 1.2 s); 7 operations indeterminate; first error: connection lost: reset'
        """
        if self.lost:
            what = "the target went away and did not come back"
        elif self.restarted:
            what = "the target restarted"
        elif self.unreachable:
            what = "the target did not answer"
        else:
            what = "operations went unanswered (the target stalled or dropped connections)"
        if self.unreachable and not self.lost and self.restarted:
            what += f" (it did not answer for {self.unreachable:.1f} s)"
        elif self.unreachable and not self.lost:
            what += f" for {self.unreachable:.1f} s"
        count = f"{self.indeterminate:,} operation{'s' if self.indeterminate != 1 else ''} indeterminate"
        return (f"outage from {self.start:,.0f} ms to {self.end:,.0f} ms: {what}; {count}; "
                f"first error: {self.error}")

    def as_meta(self) -> dict[str, Any]:
        """The outage in the report's metadata."""
        return {"from_ms": round(self.start, 1), "to_ms": round(self.end, 1), "what": self.describe(),
                "error": self.error, "indeterminate": self.indeterminate, "unreachable_s": round(self.unreachable, 3),
                "restarted": self.restarted, "lost": self.lost}


class TargetWatch:
    """The run's eye on the target (see the module docstring): a heartbeat while the run goes on,
    and a wait between runs when operations went unanswered.  A context manager: the heartbeat
    runs inside it.

    Parameters
    ----------
    target, timeout:
        The server under test, and the seconds to wait for a reply (the heartbeat's too: the
        target is *down* when it does not answer within the time an operation waits).
    journal:
        The run's history writer, which saw every operation that ended without a reply.
    reconnect_for:
        Seconds to wait for a target that went away before the run ends (:class:`TargetLost`).
    run_id:
        The server's ``run_id`` when the run started (``None`` if it does not tell).
    progress:
        Where to say that the target went away and came back.
    """

    def __init__(self, target: Target, journal: Journal, *, timeout: float, reconnect_for: float,
                 run_id: str | None, progress: Progress) -> None:
        self.target = target
        self.journal = journal
        self.timeout = timeout
        self.reconnect_for = reconnect_for
        self.run_id = run_id
        self.progress = progress
        self.restarts = 0
        """Restarts the watch saw (the ``run_id`` changed), by the heartbeat or between runs."""
        self._reported = 0  # restarts already told by after() or unreachable()
        self._spans: list[_Span] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> TargetWatch:
        self._stop.clear()
        self._thread = threading.Thread(target=self._heartbeat, name="redlin-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            # Not waiting for a PING a paused server holds: the heartbeat ends on its own.
            self._thread.join(HEARTBEAT * 2)
            self._thread = None

    @property
    def outages(self) -> list[Outage]:
        """The outages so far, in time order (times in milliseconds from the run's start)."""
        with self._lock:
            spans = list(self._spans)
        return [span.outage(self._ms) for span in spans[:MAX_OUTAGES]]

    def after(self, problems: Sequence[str], *, until: float | None = None,
              restarts: Sequence[Restart] = ()) -> bool:
        """After a run: if some of its operations went unanswered, clients gave up, or the recorder
        saw the server restart (``restarts``), make sure the target is there (waiting for it if need
        be) and record the outage.  Whether the target restarted since the last call (as far as
        the watch could tell)."""
        trouble, answered = self.journal.take_indeterminate()
        if not trouble and not problems and not restarts:
            return self._restarted_since()
        starts = [trouble[0]] if trouble else []
        starts += [(restart.earliest, restart.describe()) for restart in restarts]
        first = min(starts) if starts else (time.monotonic_ns(), problems[0])
        last = max([first[0], answered or 0, *(time for time, _ in trouble[-1:]),
                    *(restart.latest for restart in restarts)])
        return self._ride_out(first, last, len(trouble), until, bool(restarts))

    def unreachable(self, error: str, *, until: float | None = None) -> bool:
        """A run could not even connect: wait for the target (see :meth:`after`); whether it restarted."""
        trouble, answered = self.journal.take_indeterminate()
        first = trouble[0] if trouble else (time.monotonic_ns(), error)
        last = max(trouble[-1][0] if trouble else first[0], answered or 0)
        return self._ride_out(first, last, len(trouble), until, False)

    def notes(self) -> list[str]:
        """The outages, one line each, for the console and the notes."""
        lines = [outage.describe() for outage in self.outages]
        with self._lock:
            more = len(self._spans) - MAX_OUTAGES
        if more > 0:
            lines.append(f"{more:,} more outages (only the first {MAX_OUTAGES} are listed)")
        return lines

    def meta(self) -> list[dict[str, Any]]:
        """The outages for the report's metadata."""
        return [outage.as_meta() for outage in self.outages]

    # ------------------------------------------------------------------ internals

    def _ride_out(self, first: tuple[int, str], last: int, count: int, until: float | None, seen: bool) -> bool:
        waited_from = time.monotonic()
        facts: ServerFacts | None
        try:
            facts = probe(self.target, min(self.timeout, PROBE_TIMEOUT))
        except (WireError, TargetError) as error:
            self.progress.say(f"the target does not answer ({error}); trying again for up to "
                              f"{self.reconnect_for:g} s")
            try:
                facts = wait_for_target(self.target, self.timeout, until=until if until is not None else float("inf"),
                                        give_up=waited_from + self.reconnect_for)
            except (TargetLost, KeyboardInterrupt):  # gone for good, or a signal ended the wait
                self._record(_Span(first[0], time.monotonic_ns(), first[1], count,
                                   time.monotonic() - waited_from, False, lost=True))
                raise
        unreachable = 0.0
        end = last
        if facts is None or time.monotonic() - waited_from > PROBE_TIMEOUT / 4:
            unreachable, end = time.monotonic() - waited_from, time.monotonic_ns()
        self._identify(facts)
        noticed = self._restarted_since()
        restarted = noticed or seen
        if facts is not None and unreachable:
            self.progress.say(f"the target is back after {unreachable:.1f} s" + (" (it restarted)" if restarted else ""))
        elif noticed:
            self.progress.say("the target restarted")
        self._record(_Span(first[0], end, first[1], count, unreachable, restarted, lost=facts is None))
        return restarted

    def _restarted_since(self) -> bool:
        with self._lock:
            restarted, self._reported = self.restarts > self._reported, self.restarts
        return restarted

    def _identify(self, facts: ServerFacts | None) -> bool:
        """Note the server's ``run_id``; whether it changed (a restart)."""
        if facts is None or facts.run_id is None:
            return False
        with self._lock:
            restarted = self.run_id is not None and facts.run_id != self.run_id
            self.run_id = facts.run_id
            self.restarts += restarted
        return restarted

    def _heartbeat(self) -> None:
        """PING the target every :data:`HEARTBEAT` seconds; a stretch without an answer within
        ``timeout`` is an outage, even when no operation of the run was in flight."""
        conn: Connection | None = None
        down: tuple[int, str] | None = None
        restarted = False
        try:
            while not self._stop.wait(HEARTBEAT):
                sent = time.monotonic_ns()
                try:
                    if conn is None:
                        conn = open_connection(self.target, self.timeout)
                        restarted |= self._identify(server_facts(conn.execute(b"INFO", b"server")))
                    pong = conn.execute(b"PING")
                    if type(pong) is not Status or pong.text != "PONG":
                        raise TargetError(f"PING answered {pong.text if isinstance(pong, Error) else pong!r}")
                except (WireError, TargetError, ProtocolError) as error:
                    if conn is not None:
                        conn.close()
                        conn = None
                    if down is None:
                        down = (sent, str(error))
                    continue
                if down is not None:
                    now = time.monotonic_ns()
                    self._record(_Span(down[0], now, down[1], 0, (now - down[0]) / 1e9, restarted))
                    down, restarted = None, False
            if down is not None:  # still down at the run's end
                now = time.monotonic_ns()
                self._record(_Span(down[0], now, down[1], 0, (now - down[0]) / 1e9, restarted, lost=True))
        finally:
            if conn is not None:
                conn.close()

    def _ms(self, time_ns: int) -> float:
        origin = self.journal.origin if self.journal.origin is not None else time_ns
        return max(0.0, (time_ns - origin) / 1e6)

    def _record(self, span: _Span) -> None:
        """Add ``span``, merged with any outage it overlaps or nearly touches."""
        with self._lock:
            kept: list[_Span] = []
            for other in self._spans:
                if other.start <= span.end + MERGE_GAP and span.start <= other.end + MERGE_GAP:
                    span = span.merged(other)
                else:
                    kept.append(other)
            kept.append(span)
            self._spans = sorted(kept, key=lambda each: each.start)


@dataclass(frozen=True, slots=True)
class _Span:
    """An outage as the watch records it: times in client nanoseconds (see :class:`Outage`)."""

    start: int
    end: int
    error: str
    indeterminate: int
    unreachable: float
    restarted: bool
    lost: bool = False

    def merged(self, other: _Span) -> _Span:
        first = self if self.start <= other.start else other
        return _Span(min(self.start, other.start), max(self.end, other.end), first.error,
                     self.indeterminate + other.indeterminate, max(self.unreachable, other.unreachable),
                     self.restarted or other.restarted, self.lost or other.lost)

    def outage(self, ms: Callable[[int], float]) -> Outage:
        return Outage(ms(self.start), ms(self.end), self.error, self.indeterminate, self.unreachable,
                      self.restarted, self.lost)
