"""Check the independent parts of a history in several worker processes at once.

Horn & Kroening's P-compositionality (see :mod:`redlin.search.check`) makes the parts of a history
independent, so they can be searched side by side.  :func:`check_parallel` does what
:func:`~redlin.search.check.check` does, with the parts spread over ``jobs`` processes -- this one
and a pool of ``jobs - 1`` forked ones, each taking the next task itself off a board in shared
memory -- and gives the same verdicts:

- the same rounds of growing budgets (``FIRST_ROUND_STATES``, times ``ROUND_GROWTH``): every part
  is first searched with a small budget, and a part that reaches it goes on with eight times more.
  A search cannot move from one process to another, so the process that ran a part's round runs
  its next ones, going on where it stopped (as check() does), while the others take the next
  parts;
- the violation reported is the one check() reports: the first in check()'s order, parts
  ordered smallest first -- the fast paths of every part, then the model's pre-check of every
  part they leave, then the search, round after round.  A part's first task runs all three
  (:func:`before_search`), in whichever process takes it, so the pre-check is spread over the
  pool too.  A violation found in a worker is held back until every task that could find one
  before it in that order has ended, so the answer does not depend on which worker was faster
  (and an easy violation in a later part still ends the check after one round of the hard parts);
- a witness lists the parts in the order check() decides them;
- Unknown, with check()'s reasons, when the time limit (shared by all workers: one deadline) or
  the state budget ran out and no violation was proved.

Memory: ``max_states`` bounds the configurations memoised at once over all workers, so each
worker's search gets ``max_states // jobs``.  A part that needs more than that share is Unknown
in parallel where check() (with all of ``max_states`` for one search) might decide it.

How the model reaches the workers.  On Linux the pool forks: the workers inherit the model and the
parts from the parent's memory, nothing is pickled on the way in, and any model works (the Redis
model holds closures and Lua runtimes, which do not pickle).  Elsewhere (``spawn``) a worker must
build its own model, from a :class:`ModelSpec` -- a module-level factory and its keyword
options, which pickle by reference; a bare :class:`~redlin.search.model.Model` is then checked in
this process.  What comes back is pickled: part outcomes, whose violation prefixes hold model
states (values, which pickle).

Small histories stay in this process.  Starting a pool of two forked workers and getting a first
answer back costs 15-40 ms (measured on the reference machine), and how long a check takes
depends on how hard its parts are far more than on how many operations it has (a few thousand
easy operations check in 20 ms; a few hundred hard ones take seconds).  So a history of fewer
than ``EARLY_POOL`` operations is first searched here, part after part, for ``PROBE_SECONDS``
(about the pool's start cost): a check done by then never pays for a pool, and what the probe
decided counts (only a search cut short by the probe's end is done again).  A longer history
starts its pool at once, since even the probe's time would leave the other cores idle.

>>> from redlin.search.models import kv
>>> from redlin.history.records import History, Operation
>>> ops = tuple(Operation(i, i, ("put", f"k{i % 3}", "x"), None, invoke=i, complete=i + 1) for i in range(6))
>>> check_parallel(History(ops), kv(), jobs=2, time_limit=10).verdict
'linearizable'
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from redlin.history.records import History, Operation, Outcome
from redlin.search.check import check_operations, state_budget
from redlin.search.fastpath import fast_decision
from redlin.search.model import CannotPartition, Model, ModelLimit
from redlin.search.result import Result
from redlin.search.rounds import (
    FAST,
    PRECHECK,
    Rounds,
    Task,
    TaskOutcome,
    has_next_round,
    round_budget,
)
from redlin.search.wgl import (
    STOP_EVERY,
    STOPPED,
    OutOfBudget,
    PartSearch,
    Stuck,
    cyclic_gc_paused,
    exhausted,
    search_part,
)

_FAIL = Outcome.FAIL

__all__ = ["PROBE_SECONDS", "ModelSpec", "Rounds", "check_parallel", "round_budget"]

EARLY_POOL = 1000
"""A history of this many operations or more starts its pool at once (no probe)."""
PROBE_SECONDS = 0.05
"""A shorter history checked within this many seconds in this process never starts a pool."""
FEED_POLL = 0.1
"""Seconds this process waits for the pool at most, with nothing of its own to search, before it
looks at the deadline."""


@dataclass(frozen=True)
class ModelSpec:
    """A recipe for a model that pickles: ``factory(**options)`` builds it.

    ``factory`` must be a module-level function (pickled by its name, imported again by a worker
    in another process or on another machine); ``options`` its keyword arguments, as pairs of
    picklable values.  The spec compares by value, so a worker builds each model once.

    >>> from redlin.search.models import cas_register
    >>> ModelSpec(cas_register).build().name
    'cas-register'
    """

    factory: Callable[..., Model[Any]]
    options: tuple[tuple[str, Hashable], ...] = ()

    def build(self) -> Model[Any]:
        """A fresh model."""
        return self.factory(**dict(self.options))


def split(ops: Sequence[Operation], model: Model[Any]) -> list[list[Operation]]:
    """check()'s parts, smallest first."""
    parts = model.partition(ops) if model.partition is not None else [list(ops)]
    return sorted(parts, key=len)


def before_search(part: Sequence[Operation], model: Model[Any], deadline: float | None) -> TaskOutcome | None:
    """What check() does with a part before its search: the fast paths decide it (unless the
    deadline has passed), or the model's pre-check proves a violation; ``None`` if neither."""
    if deadline is None or time.monotonic() < deadline:
        decided = fast_decision(part, model)  # e.g. a unique-value register part
        if decided is not None:
            return TaskOutcome(decided, stage=FAST)
    impossible = model.find_impossible(part) if model.find_impossible is not None else None
    if impossible is not None:
        return TaskOutcome(Stuck(operation=impossible.id, prefixes=(), states_explored=0), stage=PRECHECK)
    return None


def search_one(part: Sequence[Operation], model: Model[Any], budget: int, seconds: float | None,
               stop: Callable[[], bool] | None = None) -> TaskOutcome:
    """Search one part with a state budget and ``seconds`` (``None``: no limit) -- a worker's task;
    ``stop``: :func:`~redlin.search.wgl.search_part`'s."""
    deadline = None if seconds is None else time.monotonic() + seconds
    try:
        decided = before_search(part, model, deadline)
        if decided is not None:
            return decided
        return TaskOutcome(search_part(part, model, deadline=deadline, max_states=budget, stop=stop))
    except (ModelLimit, CannotPartition) as error:
        return _refused(error)


def search_rounds(part: Sequence[Operation], model: Model[Any], round_: int, cap: int, seconds: float | None,
                  stop: Callable[[], bool] | None = None) -> Iterator[tuple[int, TaskOutcome]]:
    """search_one() of ``part`` from round ``round_`` on, each (round, outcome) as it ends: a search
    that runs out of a round's budget goes on into the next round (while the budget is below
    ``cap``) where it stopped, memo and all, as check() resumes it.  ``stop``: as search_one's,
    asked every :data:`~redlin.search.wgl.STOP_EVERY` configurations."""
    deadline = None if seconds is None else time.monotonic() + seconds
    try:
        decided = before_search(part, model, deadline) if round_ == 0 else None
        if decided is not None:
            yield round_, decided
            return
        with cyclic_gc_paused() as collect_young:
            search = PartSearch(part, model, deadline=deadline, collect_young=collect_young)
            try:
                while True:
                    budget = round_budget(round_, cap)
                    outcome = None
                    while outcome is None and search.explored < budget:
                        outcome = search.run(budget if stop is None else min(budget, search.explored + STOP_EVERY))
                        if outcome is None and search.explored < budget and stop is not None and stop():
                            yield round_, TaskOutcome(OutOfBudget(STOPPED, search.explored))
                            return
                    if outcome is not None:
                        yield round_, TaskOutcome(outcome)
                        return
                    yield round_, TaskOutcome(OutOfBudget(exhausted(budget), search.explored))
                    if not has_next_round(round_, cap):
                        return
                    round_ += 1
            finally:
                search.close()
    except (ModelLimit, CannotPartition) as error:
        yield round_, _refused(error)


def _refused(error: ModelLimit | CannotPartition) -> TaskOutcome:
    """A task's outcome when the model cannot evaluate an operation of the part (``limit``), or an
    operation reached beyond its part (``unsplittable``: the caller checks the history whole)."""
    if isinstance(error, ModelLimit):
        return TaskOutcome(None, limit=str(error))
    return TaskOutcome(None, unsplittable=True)


# ----------------------------------------------------------------------------- the pool


class _Board:
    """The tasks not taken yet, in memory this process shares with the pool's processes: whoever
    is idle takes the next one itself.  A pool process thus goes on to its next task at once,
    without waiting for this process (which holds its interpreter lock while it searches).
    ``capacity``: how many tasks it can hold.

    >>> board = _Board(multiprocessing.get_context("fork"), 3)
    >>> board.add([(0, 1), (1, 0)])
    >>> board.take(), board.take(), board.take()
    ((0, 1), (1, 0), None)
    """

    def __init__(self, context: Any, capacity: int) -> None:
        self.lock = context.Lock()
        self.cells = context.RawArray("q", 2 + 2 * capacity)  # taken, added, then (round, part) pairs

    def add(self, tasks: Sequence[Task]) -> None:
        with self.lock:
            cells = self.cells
            for round_, index in tasks:
                at = 2 + 2 * cells[1]
                cells[at], cells[at + 1] = round_, index
                cells[1] += 1

    def take(self) -> Task | None:
        with self.lock:
            cells = self.cells
            taken = cells[0]
            if taken == cells[1]:
                return None
            cells[0] = taken + 1
            return cells[2 + 2 * taken], cells[3 + 2 * taken]


def _pull(model: Model[Any] | ModelSpec, parts: list[list[Operation]], cap: int, board: _Board,
          results: Connection, deadline: float | None) -> None:
    """A pool process: take tasks off the board and send back what each round of each found (or
    the error that ended it), then ``None`` once the board is empty."""
    # Ctrl-C reaches the whole process group: the parent stops the pool, whose processes need not
    # print a traceback each.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # What a forked process inherits (the history, its parts, the model) lives as long as it does:
    # out of the collector's reach, no collection walks it (nor copies its pages to write the
    # collector's marks).
    gc.freeze()
    built = model.build() if isinstance(model, ModelSpec) else model
    task = board.take()
    while task is not None and (deadline is None or time.monotonic() < deadline):
        first, index = task
        seconds = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            for round_, found in search_rounds(parts[index], built, first, cap, seconds):
                results.send(((round_, index), found, None))
        except BaseException as error:  # noqa: BLE001 - raised again in the parent
            results.send((task, None, error))
            return
        task = board.take()  # (past the deadline, it is left: no search starts then)
    results.send(None)


def check_parallel(
    history: History,
    model: Model[Any] | ModelSpec,
    *,
    jobs: int,
    time_limit: float | None = None,
    max_states: int | None = None,
) -> Result:
    """:func:`~redlin.search.check.check`, with the parts searched in ``jobs`` worker processes.

    Same verdicts and the same violation (see the module docstring); ``time_limit`` holds for
    the whole check, ``max_states`` for all workers together.  ``jobs`` of 1, a history of one
    part or a short one checked within :data:`PROBE_SECONDS` is checked in this process.
    The pool forks (on Linux): call it from a program's main thread while no other thread holds
    a lock the workers could need (``redlin check`` runs no other thread).
    """
    started = time.monotonic()
    deadline = None if time_limit is None else started + time_limit
    ops = [op for op in history if op.outcome is not _FAIL]
    max_states = state_budget(max_states, len(ops))
    built = model.build() if isinstance(model, ModelSpec) else model
    context = _context(model)
    if jobs <= 1 or context is None:
        return check_operations(ops, built, started=started, deadline=deadline, max_states=max_states)
    with cyclic_gc_paused():  # (see check(): the split allocates much and makes no cycles)
        parts = split(ops, built)
    if len(parts) < 2:
        return check_operations(ops, built, started=started, deadline=deadline, max_states=max_states)
    workers = min(jobs, len(parts))
    rounds = Rounds(parts, cap=max(1, max_states // workers), started=started, max_states=max_states)
    queue = deque(rounds.start())
    # The probe: this process searches the first tasks itself; a check done by then starts no pool,
    # and what it decided counts for the rest.
    probe = started + PROBE_SECONDS if deadline is None else min(deadline, started + PROBE_SECONDS)
    if len(ops) < EARLY_POOL:
        _search_here(rounds, queue, built, deadline, until=probe)
    if rounds.result is None and not rounds.unsplittable and queue:
        # Forked workers inherit the built model; spawned ones build their own from the spec.
        # This process is one of the ``workers`` (see _Pool), so the pool has one process fewer.
        installed: Model[Any] | ModelSpec = built if context.get_start_method() == "fork" else model
        pool = _Pool(context, workers - 1, installed, rounds, queue, deadline)
        try:
            # As in the split: the collector's passes over the history's million objects cost a
            # pre-check here twice its time (session 22); searches collect their young themselves.
            with cyclic_gc_paused():
                pool.drive(built)
        finally:
            pool.stop()
    if rounds.unsplittable or rounds.result is None:
        # A script reached keys beyond its part: check the history as one part, as check() does.
        return check_operations(ops, built, started=started, deadline=deadline, max_states=max_states)
    return rounds.result


def _search_here(rounds: Rounds, queue: deque[Task], model: Model[Any], deadline: float | None, *,
                 until: float | None) -> None:
    """Search queued tasks in this process, one after another, until ``until`` (a search cut
    short by ``until`` rather than by the check's deadline stays queued, for the pool)."""
    while queue and rounds.result is None and not rounds.unsplittable:
        now = time.monotonic()
        stop = deadline if until is None else until
        if stop is not None and now >= stop:
            return
        task = queue[0]
        found = search_one(rounds.parts[task[1]], model, rounds.budget(task[0]), None if stop is None else stop - now)
        cut = isinstance(found.outcome, OutOfBudget) and found.outcome.reason.startswith("time")
        if cut and (deadline is None or time.monotonic() < deadline):
            return
        queue.popleft()
        queue.extend(rounds.record(task, found))


def _context(model: Model[Any] | ModelSpec) -> Any:
    """The multiprocessing context to use (fork where there is one), or ``None`` when ``model``
    cannot reach a worker (a bare model, and no fork)."""
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn") if isinstance(model, ModelSpec) else None


class _Pool:
    """The pool's ``size`` processes (:func:`_pull`) and this process, taking the rounds' tasks
    (``queue``: those the probe left) off one board, largest part first.

    Whoever runs a part runs its next rounds too, going on with the same search where the budget
    stopped it (as check() does): a search cannot move from one process to another, and searching
    a part anew each round cost a large part more than the round itself (a 420,000-operation
    Pub/Sub part: 7.8 s of 21).  Nothing is added to the board after it starts.  Largest first,
    since the largest part is most often the one left running alone at the end; the violation
    reported stays check()'s, whose order :class:`Rounds` keeps whatever the order of the work.

    This process searches too, and reads what the pool found whenever it looks up from its
    search (every :data:`~redlin.search.wgl.STOP_EVERY` configurations) or has nothing to take: it
    records each outcome and leaves its own search once the verdict is settled (a violation the
    pool proved).  Searching here rather than in one more forked process saves forking it and the
    memory it would copy: a forked process writes to every page of the history it reads
    (reference counts), so each holds a copy of its share of the pages.  No thread is involved:
    the pool's processes need nothing from this one to go on.
    """

    def __init__(self, context: Any, size: int, model: Model[Any] | ModelSpec, rounds: Rounds,
                 queue: deque[Task], deadline: float | None) -> None:
        self.rounds = rounds
        self.deadline = deadline
        tasks = sorted(queue, key=lambda task: -len(rounds.parts[task[1]]))
        self.board = _Board(context, len(tasks))
        self.board.add(tasks)
        self.results: list[Connection] = []
        self.processes: list[Any] = []
        for _ in range(size):
            results, sent = context.Pipe(duplex=False)
            process = context.Process(target=_pull, name="redlin-check", daemon=True,
                                      args=(model, rounds.parts, rounds.cap, self.board, sent, deadline))
            process.start()
            sent.close()
            self.results.append(results)
            self.processes.append(process)
        self.working = set(range(size))

    def settled(self) -> bool:
        return self.rounds.result is not None or self.rounds.unsplittable

    def drive(self, model: Model[Any]) -> None:
        """Until the verdict is settled (or the deadline passes)."""
        while not self._read():
            # Past the deadline no search starts: one would only find the time gone, after
            # building its part's search (thousands of parts left took 16 s so, session 22).
            late = self.deadline is not None and time.monotonic() >= self.deadline
            task = None if late else self.board.take()
            if task is not None:
                if not self._search_task(task, model):
                    return
                continue
            if not self.working:
                if late:  # the pool left the board too
                    self.rounds.time_out()
                    return
                raise RuntimeError("the check's pool ended with the verdict unsettled")  # (a bug)
            # Nothing left to take: wait for the pool's answers.
            if wait([self.results[worker] for worker in self.working], timeout=FEED_POLL):
                continue
            if self.deadline is not None and time.monotonic() > self.deadline + 0.5:
                # The pool's searches look at the deadline only now and then: past it by half a
                # second, settle on what is known.
                self.rounds.time_out()
                return

    def stop(self) -> None:
        """End the pool's processes (a verdict no longer needs them; a search does not look up
        from its loop) and wait for them, so that the pool is gone when the check returns."""
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.join()
        for connection in self.results:
            connection.close()

    def _read(self) -> bool:
        """Record every outcome the pool has sent; whether the verdict is settled."""
        for worker in sorted(self.working):
            results, process = self.results[worker], self.processes[worker]
            while not self.settled() and worker in self.working and results.poll():
                try:
                    message = results.recv()
                except EOFError:  # the process ended without a word: killed (by the kernel, out of memory...)
                    process.join(1.0)
                    raise RuntimeError(f"a process of the check's pool ended (exit code {process.exitcode})") from None
                if message is None:
                    self.working.discard(worker)  # the board is empty, and its last task ended
                    continue
                task, found, error = message
                if error is not None:
                    raise error
                self.rounds.record(task, found)  # (its next round, if any, goes on where it is)
        return self.settled()

    def _search_task(self, task: Task, model: Model[Any]) -> bool:
        """Search a part here, round after round; whether to go on (``False`` once the verdict is
        settled: the search is left then)."""
        first, index = task
        seconds = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
        for round_, found in search_rounds(self.rounds.parts[index], model, first, self.rounds.cap, seconds,
                                           stop=self._read):
            if isinstance(found.outcome, OutOfBudget) and found.outcome.reason == STOPPED:
                return False
            self.rounds.record((round_, index), found)
            if self.settled():
                return False
        return True
