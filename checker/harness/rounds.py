"""``redlin run --workload pubsub``: rounds of publishers and subscribers, each recorded and checked.

Each round is :func:`redlin.harness.pubsub.record_pubsub` with ``--clients`` publishers and
subscribers on channels of its own (``redlin:<run-id>:<round>:ch<n>``), at most ``--steps`` and
:data:`ROUND_MESSAGES` PUBLISHes; rounds follow one another in the run's one ``history.jsonl`` until
``--ops`` or ``--duration``.  Rounds share no channel, so each is checked on its own
(:mod:`redlin.search.compose`), exactly as ``redlin check`` checks a Pub/Sub run's history
afterwards (:mod:`redlin.adapter.run_pieces`).  The first violating round is
minimised (:func:`redlin.adapter.pubsub_check.minimise_pubsub`) and reported.  There is no
program to shrink: a round's choices come from the seed.  With ``--protocol 3`` every client speaks
RESP3 and the rounds are recorded and checked in RESP3's types.

As for programs (:mod:`redlin.harness.program_search`): every check keeps to the run's
:class:`~redlin.harness.budget.Budget`; a round the target broke off is read back from the file and
checked like the others, the target is waited for (:mod:`redlin.harness.outages`), and a violation
in a round that lived through a restart of the target, or in which a client lost its connection, is
counted as unknown.  (A subscriber that loses its connection between two commands leaves no
operation saying when its subscriptions ended, so a PUBLISH after that may look as if it missed a
subscriber.)
"""

from __future__ import annotations

import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Final

from redlin.adapter.pubsub_check import minimise_pubsub
from redlin.adapter.redis_model import redis_model
from redlin.errors import UsageError
from redlin.harness.budget import Budget
from redlin.harness.interrupts import Interrupts, checkpoint, signal_text
from redlin.harness.journal import Journal
from redlin.harness.outages import RESTART_REASON, TargetLost, TargetWatch
from redlin.harness.outcome import RunOutcome, RunStats
from redlin.harness.plan import DEFAULT_OPS, RunPlan
from redlin.harness.program_search import MAX_REPORTED_OPERATIONS
from redlin.harness.progress import Progress
from redlin.harness.pubsub import PubSubWorkload, record_pubsub, server_state_notes
from redlin.harness.recorder import RECONNECT_TIME
from redlin.harness.run_report import CheckedPiece, conclude_rounds
from redlin.harness.target import Target, TargetError
from redlin.harness.wire import WireError
from redlin.history.jsonl import load_history
from redlin.history.records import History, Outcome
from redlin.search.check import check
from redlin.search.compose import piece
from redlin.search.model import Model
from redlin.search.result import Result, Unknown, Violation

__all__ = ["LOST_CONNECTION_REASON", "ROUND_MESSAGES", "run_rounds"]

ROUND_MESSAGES: Final = 10
"""The most PUBLISHes of one round of ``redlin run --workload pubsub``: small histories are found
wrong just as surely (rounds repeat) and minimise to small cores quickly."""
LOST_CONNECTION_REASON: Final = ("a client of this round lost its connection, and the history does not say when a "
                                 "subscriber's subscriptions ended with it: a violation in it proves nothing")


def run_rounds(plan: RunPlan, progress: Progress, interrupts: Interrupts) -> RunOutcome:
    """Record and check rounds until the budget is spent (see the module docstring)."""
    if plan.clients < 2:
        raise UsageError("--workload pubsub needs at least 2 clients (a publisher and a subscriber)")
    publishers = max(1, plan.clients // 2)
    workload = PubSubWorkload(publishers=publishers, subscribers=plan.clients - publishers,
                              messages=max(1, min(plan.steps, ROUND_MESSAGES) // publishers))
    interrupted = False
    lost: str | None = None
    with ExitStack() as stack:
        opened = plan.open(stack)
        record = plan.record(opened, workload="pubsub", publishers=workload.publishers,
                             subscribers=workload.subscribers)
        journal = stack.enter_context(Journal(opened.history_path, model="redis", **record.meta))
        watch = TargetWatch(opened.target, journal, timeout=plan.timeout, reconnect_for=plan.reconnect_for,
                            run_id=opened.server_run_id, progress=progress)
        rounds = _Rounds(plan, opened.target, journal, watch, workload, progress, plan.budget(),
                         redis_model(protocol=plan.protocol, profile=plan.profile.name))
        progress.total_ops, progress.duration = rounds.ops_budget, plan.duration
        with progress, watch:
            try:
                with interrupts.armed():
                    interrupted = rounds.go()
            except KeyboardInterrupt:
                if interrupts.aborted:  # a second Ctrl-C: no verdict
                    raise
                interrupted = True
            except TargetLost as error:
                lost = f"the target went away and did not come back within {plan.reconnect_for:g} s ({error})"
                progress.say(lost)
            if interrupted:
                progress.say(f"interrupted by {signal_text(interrupts.received or 'SIGINT')}: checking what was "
                             "recorded")
        journal.close()
    stats = RunStats(programs=rounds.count, executions=rounds.count, operations=rounds.operations,
                     elapsed=time.monotonic() - rounds.budget.started, unknown_executions=rounds.unknown,
                     indeterminate=rounds.indeterminate,
                     found_after_operations=rounds.found_at[0] if rounds.found_at else None,
                     found_after_seconds=rounds.found_at[1] if rounds.found_at else None, interrupted=interrupted,
                     interrupted_by=(interrupts.received or "SIGINT") if interrupted else None, target_lost=lost,
                     restarted_executions=rounds.restarted)
    notes = rounds.notes + watch.notes() + server_state_notes(rounds.rejected, rounds.refused) + ([lost] if lost else [])
    return conclude_rounds(record, journal, rounds.checked, rounds.truncated, rounds.found, stats, notes,
                           {"outages": watch.meta()})


@dataclass
class _Rounds:
    """The round loop and its bookkeeping."""

    plan: RunPlan
    target: Target
    journal: Journal
    watch: TargetWatch
    workload: PubSubWorkload
    progress: Progress
    budget: Budget
    model: Model[Any] = field(default_factory=redis_model)
    checked: list[CheckedPiece] = field(default_factory=list)
    checked_operations: int = 0
    truncated: bool = False
    found: tuple[CheckedPiece, tuple[int, ...]] | None = None
    found_at: tuple[int, float] | None = None
    count: int = 0
    operations: int = 0
    indeterminate: int = 0
    unknown: int = 0
    restarted: int = 0
    notes: list[str] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    """Operations the server's state rejected, over the rounds, by code; and refused connections."""
    refused: Counter[str] = field(default_factory=Counter)
    next_client: int = 1
    """Client ids stay unique over the rounds of the history file."""

    @property
    def ops_budget(self) -> int | None:
        return None if self.plan.duration else (self.plan.ops or DEFAULT_OPS)

    def spent(self) -> bool:
        deadline = self.budget.deadline
        if deadline is not None:
            return time.monotonic() >= deadline
        return self.operations >= (self.ops_budget or 0)

    def go(self) -> bool:
        """Rounds until the budget is spent or a violation is found; whether a signal cut one short."""
        while self.found is None and not self.spent():
            checkpoint()  # a signal stops the rounds between rounds
            if self.one_round():
                return True
        return False

    def one_round(self) -> bool:
        """Record a round, wait for the target if it went away, check the round; whether a signal
        cut it short."""
        plan, index = self.plan, self.count
        self.count += 1
        before = self.journal.invocations
        broke: BaseException | None = None
        try:
            recording = record_pubsub(self.target, self.journal, self.workload, seed=plan.seed * 1_000_003 + index,
                                      prefix=plan.prefix + b"%d:" % index, timeout=plan.timeout,
                                      on_operation=self.progress.tick, first_client=self.next_client,
                                      reconnect_time=min(RECONNECT_TIME, plan.reconnect_for), protocol=plan.protocol)
            history, problems, interrupted = recording.history, recording.problems, recording.interrupted
            self.rejected.update(dict(recording.rejected))
            self.refused.update(dict(recording.refused))
        except (TargetError, WireError) as error:  # the round broke off: what it recorded is in the file
            broke, interrupted = error, False
            history = self._read_back(before)
            problems = (f"round {index} broke off: {error}",)
        self.progress.programs = self.count
        history = History(history.operations, {**history.meta, "model": "redis", "prefix": plan.prefix.decode(),
                                                **({"protocol": plan.protocol} if plan.protocol != 2 else {}),
                                                **({"time_origin": self.journal.origin} if self.journal.origin else {})})
        self.next_client = max((op.client for op in history if isinstance(op.client, int)),
                               default=self.next_client - 1) + 1
        self.notes += [problem for problem in problems if problem not in self.notes][:max(0, 20 - len(self.notes))]
        until = self.budget.deadline
        restarted = False
        try:
            if broke is not None:
                restarted = self.watch.unreachable(str(broke), until=until)
            else:
                restarted = self.watch.after(problems, until=until)
        finally:  # the round is checked even when the target is lost for good
            self._check(history, restarted=restarted, lost_connection=bool(problems))
        return interrupted

    def _read_back(self, start: int) -> History:
        """The operations of the history file from the ``start``-th on, as a round's history."""
        full = load_history(self.journal.path)
        return piece(full, range(start, len(full)))

    def _check(self, history: History, *, restarted: bool, lost_connection: bool) -> None:
        if not len(history):
            return
        result: Result = check(history, self.model, time_limit=self.budget.check_limit(len(history)))
        if isinstance(result, Violation) and (restarted or lost_connection):
            result = Unknown(reason=RESTART_REASON if restarted else LOST_CONNECTION_REASON, parts_checked=0,
                             parts_total=1, states_explored=result.states_explored, elapsed=result.elapsed)
        self.restarted += restarted
        self.operations += len(history)
        self.indeterminate += sum(1 for op in history if op.outcome is Outcome.INFO)
        self.unknown += isinstance(result, Unknown)
        checked = CheckedPiece(history, result, tuple(self.journal.claim(op.client, op.invoke) for op in history))
        self.checked.append(checked)
        self.checked_operations += len(history)
        while self.checked_operations > MAX_REPORTED_OPERATIONS and len(self.checked) > 1:
            self.checked_operations -= len(self.checked.pop(0).history)
            self.truncated = True
        if isinstance(result, Violation):
            self.found_at = (self.operations, time.monotonic() - self.budget.started)
            self.progress.phase = "minimising"
            self.progress.say(f"violation found after {self.operations} operations ({self.found_at[1]:.1f} s); "
                              "minimising the round")
            self.found = (checked, minimise_pubsub(history, result, time_limit=self.plan.shrink_time))
