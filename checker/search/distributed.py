"""Check the independent parts of a history on a Dask distributed cluster.

:func:`check_dask` is :func:`~redlin.search.parallel.check_parallel` with the parts searched by
the workers of a Dask cluster instead of local processes, and the same bookkeeping
(:class:`~redlin.search.rounds.Rounds`): the same rounds of growing budgets, the same verdicts,
the same violation (the first in check()'s order), the same witness.

- The parts are scattered to the cluster once; each task names its part, a state budget and the
  deadline.  The model does not travel: a task carries a
  :class:`~redlin.search.parallel.ModelSpec` (a factory function, pickled by name, and its
  options, such as a Redis model's version profile), and each worker process builds the model
  once per spec.  redlin must be installed on the workers.
- ``time_limit`` is one deadline for all, sent as wall-clock time (``time.time()``): the
  machines' clocks must agree to within the precision wanted (NTP does).  This process also stops
  waiting at the deadline and answers Unknown.
- ``max_states`` bounds the configurations memoised at once over the cluster: each task gets
  ``max_states`` divided by the cluster's worker threads.
- When the verdict is settled the remaining tasks are cancelled; a task already running cannot be
  interrupted and ends at its own budget or the deadline.

Dask is optional (``pip install 'redlin[dask]'``).  Importing ``distributed`` costs over half a
second, which no other command should pay, so it is imported lazily (:func:`lazy_module`): on first
use, and not at all when Dask is missing, in which case :func:`check_dask` raises a one-line
:class:`~redlin.errors.UsageError`.

>>> DASK_MISSING
"--dask needs the dask extra: pip install 'redlin[dask]'"
"""

from __future__ import annotations

import sys
import time
from importlib.util import LazyLoader, find_spec, module_from_spec
from types import ModuleType
from typing import Any

from redlin.errors import UsageError
from redlin.history.records import History, Operation, Outcome
from redlin.search.check import check_operations, state_budget
from redlin.search.model import Model
from redlin.search.parallel import ModelSpec, search_one, split
from redlin.search.result import Result
from redlin.search.rounds import Rounds, Task, TaskOutcome

_FAIL = Outcome.FAIL

__all__ = ["DASK_MISSING", "check_dask", "dask_installed"]

DASK_MISSING = "--dask needs the dask extra: pip install 'redlin[dask]'"

CONNECT_SECONDS = 10.0
"""How long to wait for the scheduler before giving up (a wrong address)."""


def lazy_module(name: str) -> ModuleType | None:
    """The module ``name``, executed only when one of its attributes is first read; ``None``
    when it is not installed.

    >>> lazy_module("no_such_module_here") is None
    True
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = find_spec(name)
    if spec is None or spec.loader is None:
        return None
    spec.loader = LazyLoader(spec.loader)
    module = module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_distributed = lazy_module("distributed")


def dask_installed() -> bool:
    """Whether Dask's ``distributed`` package can be imported."""
    return _distributed is not None


# ----------------------------------------------------------------------------- on a worker

_models: dict[ModelSpec, Model[Any]] = {}


def dask_task(part: list[Operation], spec: ModelSpec, budget: int, wall_deadline: float | None) -> TaskOutcome:
    """A Dask task: search one part with the model of ``spec`` (built once per worker process)."""
    model = _models.get(spec)
    if model is None:
        model = _models[spec] = spec.build()
    seconds = None if wall_deadline is None else max(0.0, wall_deadline - time.time())
    return search_one(part, model, budget, seconds)


# ----------------------------------------------------------------------------- on the client


def check_dask(
    history: History,
    model_spec: ModelSpec,
    *,
    address: str,
    time_limit: float | None = None,
    max_states: int | None = None,
) -> Result:
    """:func:`~redlin.search.check.check` of ``history`` with its parts searched on the Dask
    cluster whose scheduler is at ``address`` (``tcp://host:8786``).

    Raises :class:`~redlin.errors.UsageError` when Dask is not installed or the scheduler cannot
    be reached.  A history of one part is searched in this process.
    """
    if _distributed is None:
        raise UsageError(DASK_MISSING)
    started = time.monotonic()
    deadline = None if time_limit is None else started + time_limit
    ops = [op for op in history if op.outcome is not _FAIL]
    max_states = state_budget(max_states, len(ops))
    model = model_spec.build()
    parts = split(ops, model)
    if len(parts) < 2:
        return check_operations(ops, model, started=started, deadline=deadline, max_states=max_states)
    client = _connect(address)
    try:
        threads = sum(worker["nthreads"] for worker in client.scheduler_info()["workers"].values())
        rounds = Rounds(parts, cap=max(1, max_states // max(1, threads)), started=started, max_states=max_states)
        _drive(client, rounds, model_spec, deadline)
    finally:
        client.close()
    if rounds.unsplittable or rounds.result is None:
        # A script reached keys beyond its part: check the history as one part, as check() does.
        return check_operations(ops, model, started=started, deadline=deadline, max_states=max_states)
    return rounds.result


def _connect(address: str) -> Any:
    assert _distributed is not None
    try:
        return _distributed.Client(address, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError) as error:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {error}") from None


def _drive(client: Any, rounds: Rounds, spec: ModelSpec, deadline: float | None) -> None:
    """Run the rounds' tasks on the cluster until the verdict is settled or the deadline passes."""
    assert _distributed is not None
    stored = client.scatter(rounds.parts)  # each part travels once, however many rounds it takes
    wall_deadline = None if deadline is None else time.time() + (deadline - time.monotonic())
    running: dict[Any, Task] = {}

    def submit(tasks: list[Task]) -> None:
        for task in tasks:
            round_, index = task
            # Earlier rounds first, as check() goes; pure=False: a round's task is never a cache hit.
            future = client.submit(dask_task, stored[index], spec, rounds.budget(round_), wall_deadline,
                                   pure=False, priority=-round_)
            running[future] = task

    try:
        submit(rounds.start())
        while rounds.result is None and running:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic()) + 0.5
            try:
                done, _ = _distributed.wait(list(running), timeout=timeout, return_when="FIRST_COMPLETED")
            except TimeoutError:  # the workers overran the deadline
                rounds.time_out()
                return
            for future in sorted(done, key=lambda f: running[f]):
                submit(rounds.record(running.pop(future), future.result()))
                if rounds.unsplittable:
                    return
    finally:
        if running:
            client.cancel(list(running))
