"""``redlin conform``: does a server answer every command as Redis does?  Sequential differential testing.

Where ``redlin run`` asks whether a server keeps Redis's guarantees under concurrency, ``redlin
conform`` asks the simpler question first: one connection, one action at a time, is every reply
the one Redis gives -- byte for byte, and of the same RESP type?  It is differential testing
(McKeeman, "Differential Testing for Software", 1998) with redlin's model as the reference:

1. *Draw.*  Actions come from the same generator as ``redlin run``'s (the ``model`` family of
   :mod:`redlin.harness.workloads`: every command of :mod:`redlin.harness.grammar`, transactions,
   scripts, pipelines), drawn with ``random.Random`` from ``--seed``, in *segments* of
   :data:`SEGMENT` actions, each on keys of its own, ``redlin:<run-id>:<n>:``.
2. *Compare.*  Each action goes to the server and to the model from the same state
   (:class:`~redlin.harness.conform_lane.Lane`); the first reply that differs ends the segment:
   the model and the server no longer share a state.  Its command and kind
   (:data:`~redlin.harness.conform_lane.KINDS`) are the difference's signature: a signature seen
   before is counted, a new one is shrunk.
3. *Shrink.*  The segment up to the difference is replayed, on the server under a fresh prefix
   and on the model from a fresh state, by :func:`~redlin.harness.conform_shrink.shrink` (ddmin
   and friends) until nothing in it can go: at most ``--shrink-time`` seconds per difference.
4. *Explain.*  The shrunk script is replayed on the model of every other version profile
   (:mod:`redlin.harness.conform_versions`): if one gives exactly the server's replies, the
   difference is that version's behaviour, reported as such and not as a bug.

Safe on a live server, as ``redlin run`` is: every key lies under the run's prefix, every command
goes through the :class:`~redlin.harness.guard.Guard` (nothing destructive unless
``allow_destructive``), each segment's and each replay's keys are deleted as soon as it ends,
and a last ``SCAN`` deletes anything left under the prefix.  Ctrl-C, SIGTERM and SIGHUP stop the
drawing (a difference being shrunk is reported as it was found), and the keys are deleted and
the report written all the same (:mod:`redlin.harness.interrupts`).

Exit codes (:mod:`redlin.errors`): 0 no difference but version differences, 1 a difference that
no profile explains, 3 bad arguments or a target that cannot be used (also one that went away
during the run: what was compared is still reported), 130 a signal before any action was
compared.

>>> ConformPlan(target=None, fault=None, profile="auto", ops=10, duration=None, seed=0, timeout=1.0,
...             shrink_time=1.0, allow_destructive=False, password_env=None, run_id="r").prefix
b'redlin:r:'
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from redlin.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, EXIT_VIOLATION, UsageError
from redlin.harness.actions import Action
from redlin.harness.conform_lane import Exchange, Lane, Mismatch, family_of, mismatch, signature_name
from redlin.harness.conform_shrink import Shrunk, script_size, shrink
from redlin.harness.conform_versions import initial_for, version_explaining
from redlin.harness.guard import Guard, UnsafeCommand
from redlin.harness.interrupts import Interrupts, checkpoint, signal_text
from redlin.harness.preflight import for_profile, script_guard_refusal, without_scripts
from redlin.harness.pubsub import escape_glob
from redlin.harness.run_profile import AUTO, check_profile_name, choose_profile
from redlin.harness.server_state import info_fields, rejection_note
from redlin.harness.target import Target, TargetError, open_connection
from redlin.harness.wire import Connection, WireError
from redlin.harness.workloads import FAMILIES, sample_program
from redlin.model import PROFILES, ProtocolError, State, Status
from redlin.serve.server import FAULTS, start_in_thread

__all__ = ["DEFAULT_OPS", "DEFAULT_SHRINK_TIME", "SEGMENT", "ConformPlan", "ConformRun", "Difference", "conform"]

DEFAULT_OPS: Final = 3000
"""Actions drawn unless ``--ops`` or ``--duration`` says otherwise."""
DEFAULT_SHRINK_TIME: Final = 10.0
"""Seconds of shrinking per distinct difference."""
SEGMENT: Final = 100
"""Actions per segment (one key prefix, one model state)."""
SWEEP_TIME: Final = 10.0
"""Seconds the last look for keys left under the run's prefix may take."""
WORKLOAD: Final = "model"
"""The family of :mod:`redlin.harness.workloads` the actions are drawn from."""


@dataclass(frozen=True, slots=True)
class ConformPlan:
    """The arguments of one ``redlin conform``, checked by :meth:`validate`."""

    target: str | None
    fault: str | None
    profile: str
    ops: int | None
    duration: float | None
    seed: int
    timeout: float
    shrink_time: float
    allow_destructive: bool
    password_env: str | None
    run_id: str
    out: Path | None = None

    @property
    def prefix(self) -> bytes:
        """Every key of the run starts with it: ``redlin:<run-id>:``."""
        return f"redlin:{self.run_id}:".encode()

    @property
    def out_dir(self) -> Path:
        """Where the report goes: ``out``, else ``reports/conform-<run-id>``."""
        return self.out if self.out is not None else Path("reports") / f"conform-{self.run_id}"

    def validate(self) -> None:
        """:class:`~redlin.errors.UsageError`, naming the argument, for values no run can use."""
        if self.fault is not None:
            if self.target is not None:
                raise UsageError("--fault plants a bug in the embedded server: it cannot be combined with --target")
            if self.fault not in FAULTS:
                raise UsageError(f"--fault: unknown fault {self.fault!r} (choose from {', '.join(FAULTS)})")
        check_profile_name(self.profile)
        for name, value in (("ops", self.ops), ("duration", self.duration), ("timeout", self.timeout),
                            ("shrink-time", self.shrink_time)):
            if value is not None and not value > 0:
                raise UsageError(f"--{name} must be positive")


@dataclass(slots=True)
class Difference:
    """One distinct difference (a command and a kind), shrunk, replayed, and maybe explained by a version."""

    number: int
    mismatch: Mismatch
    script: tuple[Action, ...]
    """The shrunk script (logical keys)."""
    exchanges: tuple[Exchange, ...]
    """The shrunk script's last replay: the commands as sent, the model's and the server's replies."""
    prefix: bytes
    """The prefix of that replay (keys are shown without it)."""
    found_after_actions: int
    found_after_seconds: float
    original_size: int
    shrink: Shrunk | None = None
    shrink_seconds: float = 0.0
    occurrences: int = 1
    version: str | None = None
    """Another profile whose model gives exactly the server's replies, if one does."""

    @property
    def command(self) -> str:
        return self.mismatch.command

    @property
    def kind(self) -> str:
        return self.mismatch.kind

    @property
    def family(self) -> str:
        return family_of(self.mismatch.command)


@dataclass(slots=True)
class ConformRun:
    """What one ``redlin conform`` did and found (rendered by :mod:`redlin.report.conform`)."""

    plan: ConformPlan
    described: str
    server_version: str | None
    profile: str
    profile_reason: str
    profile_warning: str | None = None
    """Set when ``--profile`` named a version the server's ``INFO`` contradicts."""
    differences: list[Difference] = field(default_factory=list)
    exercised: Counter[str] = field(default_factory=Counter)
    """Commands sent while drawing, by name (lower case, EVALSHA as EVAL)."""
    rejected: Counter[str] = field(default_factory=Counter)
    """Segments cut short by a reply of the server's state (OOM, READONLY...), by code."""
    unfollowed: int = 0
    """Segments cut short where the server made a choice its reply does not show."""
    actions: int = 0
    replays: int = 0
    seconds: float = 0.0
    deleted: int = 0
    notes: list[str] = field(default_factory=list)
    interrupted_by: str | None = None
    lost: str | None = None
    """Why the target could not be reached any more, if it went away."""

    @property
    def bugs(self) -> list[Difference]:
        """The differences no other version explains.  When the target went away, a command it
        never answered and that could not be replayed is the target going away, not a bug."""
        return [d for d in self.differences if d.version is None
                and not (self.lost is not None and d.kind == "no-reply" and d.shrink is None)]

    @property
    def verdict(self) -> str:
        """``differences``, ``target-lost``, ``interrupted`` (before any comparison) or ``conformant``."""
        if self.bugs:
            return "differences"
        if self.lost is not None:
            return "target-lost"
        return "interrupted" if self.interrupted_by is not None and not self.actions else "conformant"

    @property
    def exit_code(self) -> int:
        return {"differences": EXIT_VIOLATION, "target-lost": EXIT_USAGE, "interrupted": EXIT_INTERRUPTED}.get(
            self.verdict, EXIT_OK)


class _TargetGone(Exception):
    """The target could not be reached any more."""


def conform(plan: ConformPlan, say: Callable[[str], None] = lambda line: None) -> ConformRun:
    """Test ``plan.target`` (the embedded model server, with ``plan.fault``, when ``None``) against
    the model (see the module docstring); ``say`` gets a line as each difference is found and shrunk
    and when the profile is chosen.  :class:`~redlin.errors.UsageError` for bad arguments or a
    target that cannot be used."""
    plan.validate()
    with Interrupts() as interrupts, ExitStack() as stack:
        if plan.target is None:
            server = stack.enter_context(start_in_thread(port=0, fault=plan.fault, seed=plan.seed))
            url, described = server.url, f"{server.url} (embedded model server, fault: {plan.fault or 'none'})"
        else:
            url, described = plan.target, ""
        try:
            target = Target.parse(url, password_env=plan.password_env)
        except TargetError as error:
            raise UsageError(f"--target: {error}") from None
        info = _server_info(target, plan.timeout)
        choice = choose_profile(plan.profile, info)
        profile = choice.name
        say(choice.line())
        if choice.warning is not None:
            say(f"warning: {choice.warning}")
        run = ConformRun(plan, described or target.url, info.get("redis_version"), profile, choice.reason,
                         choice.warning)
        tester = _Tester(run, target, Guard(plan.prefix, allow_destructive=plan.allow_destructive),
                         initial_for(profile), say)
        try:
            try:
                with interrupts.armed():
                    tester.draw()
            except KeyboardInterrupt:
                if interrupts.aborted:
                    raise
                run.interrupted_by = interrupts.received or "SIGINT"
                say(f"interrupted by {signal_text(run.interrupted_by)}: reporting what was compared")
            except _TargetGone as error:
                run.lost = f"lost the target {target.url}: {error}"
                run.notes.append(run.lost)
        finally:
            run.seconds = time.monotonic() - tester.started
            run.notes += tester.clean_up()
        note = rejection_note(run.rejected)
        if note is not None:
            run.notes.append(note + " (each ended its segment)")
        if run.unfollowed:
            run.notes.append(f"{run.unfollowed} segment{'s' if run.unfollowed != 1 else ''} ended early: the server made "
                             "a choice its reply does not show (which members a lexicographic range removed "
                             "from a skiplist), so the model could not follow its keys")
        native = choose_profile(AUTO, info).name  # the version the server says it is
        documented: set[str] = set()
        for difference in run.differences:
            difference.version = version_explaining(difference.exchanges, profile)
            if difference.version is None and native != profile and difference.command in PROFILES[native].unmodelled:
                # That version changes this command in ways its profile documents but does not encode.
                difference.version = native
                documented.add(difference.command.upper())
        if documented:
            run.notes.append(f"{', '.join(sorted(documented))}: {native} changes these in ways its profile documents "
                             f"but the model does not encode; their differences are listed as {native}'s behaviour "
                             "without a replay")
    return run


def _server_info(target: Target, timeout: float) -> dict[str, str]:
    """``INFO server``'s fields (PING first: a server that serves nothing now is refused)."""
    try:
        with open_connection(target, timeout) as conn:
            pong = conn.execute(b"PING")
            if pong != Status("PONG"):
                raise UsageError(f"cannot use {target.url}: it answers PING with {pong!r}")
            return info_fields(conn.execute(b"INFO", b"server"))
    except (WireError, TargetError, ProtocolError) as error:
        raise UsageError(f"cannot use {target.url}: {error}") from None


class _Tester:
    """The drawing loop, the replays and the cleanup of one run (see the module docstring)."""

    def __init__(self, run: ConformRun, target: Target, guard: Guard, initial: State,
                 say: Callable[[str], None]) -> None:
        self.run = run
        self.plan = run.plan
        self.target = target
        self.guard = guard
        self.initial = initial
        self.say = say
        self.started = time.monotonic()
        self.seen: dict[tuple[str, str], Difference] = {}
        self.lanes = 0
        self.source = for_profile(FAMILIES[WORKLOAD], initial.profile.name)
        refusal = script_guard_refusal(target, self.plan.timeout)
        if refusal is not None:  # KeyDB, or scripting denied by ACL: no script is sent
            self.source = without_scripts(self.source, refusal)
            run.notes.append(f"scripts left out: this server cannot run them inside redlin's script guard ({refusal})")
            say(run.notes[-1])

    def connect(self) -> Connection:
        try:
            return open_connection(self.target, self.plan.timeout)
        except (WireError, TargetError) as error:
            raise _TargetGone(str(error)) from None

    def spent(self) -> bool:
        plan = self.plan
        if plan.duration is not None:
            return time.monotonic() - self.started >= plan.duration
        return plan.ops is not None and self.run.actions >= plan.ops

    def new_lane(self) -> Lane:
        self.lanes += 1
        return Lane(self.connect, self.guard, self.plan.prefix + b"%d:" % self.lanes, self.initial)

    def draw(self) -> None:
        """Draw segments and compare until the budget is spent."""
        source = self.source
        segment = 0
        while not self.spent():
            program = sample_program(source, clients=1, steps=SEGMENT, seed=self.plan.seed * 1_000_003 + segment)
            segment += 1
            lane = self.new_lane()
            try:
                self.segment(lane, program.clients[0])
            finally:
                self.release(lane)

    def segment(self, lane: Lane, actions: Sequence[Action]) -> None:
        exchanges: list[Exchange] = []
        for index, action in enumerate(actions):
            checkpoint()
            if self.spent():
                return
            exchange = self.send(lane, action)
            exchanges.append(exchange)
            self.run.actions += 1
            for argv in exchange.commands:
                self.run.exercised[signature_name(argv)] += 1
            if exchange.rejected is not None:  # not the command's reply: nothing to compare from here
                self.run.rejected[exchange.rejected] += 1
                return
            found = mismatch(exchange)
            if found is not None:
                lane.close()
                self.found(tuple(actions[:index + 1]), found, tuple(exchanges), lane.prefix)
                return
            if exchange.unfollowed is not None:  # the model cannot know the lane's keys from here
                self.run.unfollowed += 1
                return

    def send(self, lane: Lane, action: Action) -> Exchange:
        try:
            return lane.send(action)
        except (WireError, ProtocolError) as error:
            raise _TargetGone(str(error)) from None

    def found(self, script: tuple[Action, ...], found: Mismatch, exchanges: tuple[Exchange, ...],
              prefix: bytes) -> None:
        """Count a difference seen before; shrink a new one (a signal while shrinking stops the run,
        and the difference is reported unshrunk)."""
        known = self.seen.get(found.signature)
        if known is not None:
            known.occurrences += 1
            return
        run = self.run
        difference = Difference(len(run.differences) + 1, found, script, exchanges, prefix, run.actions,
                                time.monotonic() - self.started, script_size(script))
        self.seen[found.signature] = difference
        run.differences.append(difference)
        self.say(f"difference {difference.number}: {found.kind} on {found.command.upper()} after "
                 f"{run.actions} actions; shrinking {difference.original_size} commands")
        signature = found.signature
        interrupted = False

        def fails(candidate: tuple[Action, ...]) -> bool:
            nonlocal interrupted
            if interrupted:
                return False
            try:
                return self.replay(candidate)[1] == signature
            except KeyboardInterrupt:
                interrupted = True
                return False

        started = time.monotonic()
        try:
            shrunk = shrink(script, fails, until=started + self.plan.shrink_time)
        finally:
            difference.shrink_seconds = time.monotonic() - started
        difference.shrink = shrunk
        if interrupted:  # reported as found: the smaller scripts had no replay to show
            raise KeyboardInterrupt
        replayed, again, replay_prefix = self.replay(shrunk.script)
        if again == signature:
            difference.script, difference.exchanges, difference.prefix = shrunk.script, replayed, replay_prefix
            difference.mismatch = mismatch(replayed[-1]) or found
        self.say(f"difference {difference.number}: shrunk to {script_size(difference.script)} command(s) in "
                 f"{difference.shrink_seconds:.2f} s ({shrunk.replays} replays)")

    def replay(self, script: Sequence[Action]) -> tuple[tuple[Exchange, ...], tuple[str, str] | None, bytes]:
        """Run ``script`` on a fresh lane: its exchanges up to the first difference, that
        difference's signature (``None`` if none), and the lane's prefix."""
        self.run.replays += 1
        lane = self.new_lane()
        exchanges: list[Exchange] = []
        found: Mismatch | None = None
        try:
            for action in script:
                checkpoint()
                try:
                    exchange = self.send(lane, action)
                except UnsafeCommand:  # a shrunk command the guard refuses (sent nothing): not this difference
                    found = None
                    break
                exchanges.append(exchange)
                found = mismatch(exchange)
                if found is not None or exchange.rejected is not None or exchange.unfollowed is not None:
                    lane.close()
                    break
        finally:
            self.release(lane)
        return tuple(exchanges), None if found is None else found.signature, lane.prefix

    def release(self, lane: Lane) -> None:
        try:
            self.run.deleted += lane.delete_touched()
        except (WireError, TargetError, ProtocolError):
            pass  # the last sweep looks again
        finally:
            lane.close()

    def clean_up(self) -> list[str]:
        """Look for keys left under the run's prefix and delete them; notes for the user."""
        pattern = escape_glob(self.plan.prefix) + b"*"
        until = time.monotonic() + SWEEP_TIME
        try:
            with open_connection(self.target, self.plan.timeout) as conn:
                cursor: object = b"0"
                while time.monotonic() < until:
                    reply = conn.execute(b"SCAN", cursor, b"MATCH", pattern, b"COUNT", b"1000")  # type: ignore[arg-type]
                    if not (type(reply) is tuple and len(reply) == 2 and type(reply[1]) is tuple):
                        return []  # no SCAN (the embedded server, which stops with the run)
                    cursor, keys = reply[0], [key for key in reply[1] if type(key) is bytes]
                    if keys:
                        argv = (b"DEL", *keys)
                        self.guard.check(argv)
                        deleted = conn.execute(*argv)
                        self.run.deleted += deleted if type(deleted) is int else 0
                    if cursor == b"0" or type(cursor) is not bytes:
                        return []
        except (WireError, TargetError, ProtocolError) as error:
            return [f"could not look for keys left under {self.plan.prefix.decode()}: {error}"]
        return [f"the last look for keys left under {self.plan.prefix.decode()} ran out of time"]
