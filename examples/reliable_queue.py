"""A reliable work queue: LMOVE takes a job into a processing list, LREM acknowledges it.

A worker that crashes after taking a job leaves it in ``example:processing``, where a reaper can
find it; that is what makes the queue reliable.  It is only correct if taking is atomic.

- ``reliable_queue`` is correct: ``take`` is one LMOVE from the queue's head to the processing
  list, so each job goes to exactly one worker.
- ``racy_reliable_queue`` takes by LINDEX 0 (look at the head), LREM (remove it from the queue),
  RPUSH (add it to the processing list), three commands.  Two workers look at the head at the same
  time and both take the same job (and when the queue holds a second job of that name, the second
  LREM removes it: a job lost).  No order of whole calls hands one job to two workers.

The module is not named ``queue``: on ``sys.path`` it would hide the standard library's
``queue``, which redis-py imports.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from redlin.testing import Component

QUEUE = "example:queue"
PROCESSING = "example:processing"
JOBS = st.sampled_from(["a", "b", "c"])


def enqueue_two(r: Any) -> None:
    r.rpush(QUEUE, "a", "b")  # jobs waiting from the start: the first takes compete for them


def push(r: Any, job: str) -> int:
    return int(r.rpush(QUEUE, job))


def take(r: Any) -> bytes | None:
    return r.lmove(QUEUE, PROCESSING, "LEFT", "RIGHT")  # type: ignore[no-any-return]


def take_by_look_then_move(r: Any) -> bytes | None:
    job = r.lindex(QUEUE, 0)
    if job is None:
        return None
    r.lrem(QUEUE, 1, job)
    r.rpush(PROCESSING, job)
    return job  # type: ignore[no-any-return]


def ack(r: Any, job: str) -> int:
    return int(r.lrem(PROCESSING, 1, job))


def processing(r: Any) -> list[bytes]:
    return r.lrange(PROCESSING, 0, -1)  # type: ignore[no-any-return]


def _component(name: str, take_with: Any) -> Component:
    component = Component(name, keys=[QUEUE, PROCESSING])
    component.setup(enqueue_two)
    component.add("take", take_with, weight=2)
    component.add("push", push, job=JOBS)
    component.add("ack", ack, job=JOBS)
    component.add("processing", processing)
    return component


reliable_queue = _component("reliable-queue", take)
racy_reliable_queue = _component("racy-reliable-queue", take_by_look_then_move)
