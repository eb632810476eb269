"""A ``redlin run`` history file in the pieces the run checked, so that checking it again agrees.

``redlin run`` checks each run of a program (or each Pub/Sub round) on its own, with its own
budget, as it goes.  The history file holds all of them one after another, and its meta line
says it came from a run (``"run_id"``, and the key ``prefix`` ``redlin:<run-id>:``).  Checked as
one history, the file is partitioned by keys, which finds the same pieces -- except where an
operation touches everything: a server ``RESTART`` the recorder noticed
(:mod:`redlin.adapter.restarts`) or a Pub/Sub delivery joins every run into one part, a far larger
search that may not end in the time the run took.  So ``redlin check`` cuts the file back into
the run's pieces (:func:`run_pieces`), checks each one (:func:`check_pieces`) and minimises a
violation inside its piece (:func:`minimise_piece`), and reaches the run's verdict in about the
run's time.

Which piece an operation belongs to: every key, channel and pattern of run ``n`` is under
``<prefix><n>:``, and each client (one connection) belongs to one run, so a client's operations go
to the piece of the first such name they use.  A client that names none (the recorder's
``RESTART``, a program of ``PING`` alone) goes to the piece that was running when its operation
ended: runs follow one another in time, and a restart noticed during a run is that run's.  This
is sound because pieces touch disjoint keys and channels (P-compositionality): no piece's verdict
depends on another's.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from redlin.adapter.pubsub_check import minimise_pubsub
from redlin.history.records import History
from redlin.search.check import check
from redlin.search.compose import combine, lift, piece
from redlin.search.minimise import minimise
from redlin.search.model import Model
from redlin.search.result import Result, Unknown, Violation

__all__ = ["check_pieces", "minimise_piece", "run_pieces"]

Checker = Callable[[History, float | None], Result]
"""Checks one piece within a time limit (``None``: none)."""


def run_pieces(history: History) -> tuple[tuple[int, ...], ...] | None:
    """The pieces of a ``redlin run`` history (the operation ids of each run or round, in the
    order they ran); ``None`` for a history that does not come from a run.

    >>> from redlin.history.records import Operation, Outcome
    >>> ops = (Operation(0, 1, ((b"SET", b"r:0:k", b"v"),), None, 0, 9, Outcome.INFO),
    ...        Operation(1, 1, ((b"GET", b"r:0:k"),), None, 10, 12, Outcome.INFO),
    ...        Operation(2, 9, ((b"RESTART", b"emptied", b"a", b"b"),), None, 11, 13, Outcome.INFO),
    ...        Operation(3, 2, ((b"PUBLISH", b"r:1:ch0", b"m"),), None, 20, 21, Outcome.INFO))
    >>> run_pieces(History(ops, {"run_id": "x", "prefix": "r:"}))
    ((0, 1, 2), (3,))
    >>> run_pieces(History(ops, {"prefix": "r:"})) is None
    True
    """
    prefix = history.meta.get("prefix")
    if "run_id" not in history.meta or not isinstance(prefix, str) or not prefix:
        return None
    run = prefix.encode()
    where: dict[Hashable, bytes] = {}
    seen: dict[object, bytes | None] = {}  # each argument's run, worked out once (keys recur)
    for op in history:
        if op.client in where:
            continue
        for argv in op.call:
            for arg in argv[1:]:
                if type(arg) is not bytes:
                    continue  # (names no run)
                found = seen.get(arg, _UNSEEN)
                if found is _UNSEEN:
                    found = seen[arg] = _piece_of(arg, run)
                if found is not None:
                    break
            else:
                continue
            where[op.client] = found
            break
    pieces: dict[bytes | None, list[int]] = {}
    for op in history:
        pieces.setdefault(where.get(op.client), []).append(op.id)
    homeless = pieces.pop(None, [])
    named = sorted(pieces.values(), key=lambda ids: min(history[i].invoke for i in ids))
    if not named:
        return (tuple(homeless),) if homeless else ()
    starts = [min(history[i].invoke for i in ids) for ids in named]
    for index in homeless:
        op = history[index]
        when = op.complete if op.complete is not None else op.invoke
        named[max(0, bisect.bisect_right(starts, when) - 1)].append(index)
    return tuple(tuple(sorted(ids)) for ids in named)


_UNSEEN = b"\0unseen"
"""(no run's number: it has no digit)"""


def _piece_of(arg: object, run: bytes) -> bytes | None:
    """The run (or round) a key, channel or pattern belongs to (a pattern escapes the prefix's glob
    characters, which a run id does not have; any backslash is dropped to be sure)."""
    if not isinstance(arg, bytes):
        return None
    plain = arg.replace(b"\\", b"")
    if not plain.startswith(run):
        return None
    number, colon, _ = plain[len(run):].partition(b":")
    return number if colon and number.isdigit() else None


def check_pieces(history: History, pieces: Sequence[Sequence[int]], model: Model[Any], *,
                 time_limit: float | None = None, max_states: int | None = None,
                 checker: Checker | None = None) -> Result:
    """Check each piece on its own within what is left of ``time_limit`` (seconds for all of
    them), until the first violation; a piece the time did not reach is undecided.  The result is
    about the whole history (:func:`redlin.search.compose.combine`).  ``checker(piece, time_limit)``
    checks one piece (default: :func:`~redlin.search.check` with ``max_states``), say in parallel."""
    deadline = None if time_limit is None else time.monotonic() + time_limit
    results: list[Result] = []
    for ids in pieces:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            results.append(Unknown(reason="time limit reached before this piece was checked", parts_checked=0,
                                   parts_total=1, states_explored=0, elapsed=0.0))
            continue
        # One piece of everything (a pressure run's history: its keys name epochs, not runs) is
        # the history itself: no copy of it, nor of the witness's million ids.
        whole = len(ids) == len(history)  # (a piece's ids are distinct ids of the history, sorted)
        part = history if whole else piece(history, ids)
        found = (check(part, model, time_limit=left, max_states=max_states) if checker is None
                 else checker(part, left))
        result = found if whole else lift(found, ids)
        results.append(result)
        if isinstance(result, Violation):
            break
    return combine(results, unit="round" if history.meta.get("workload") == "pubsub" else "run", pieces=len(pieces))


def minimise_piece(history: History, pieces: Sequence[Sequence[int]], violation: Violation, model: Model[Any], *,
                   time_limit: float) -> tuple[int, ...]:
    """Minimise ``violation`` (about the whole history) inside its piece, as the run did (Pub/Sub
    rounds with :func:`~redlin.adapter.pubsub_check.minimise_pubsub`); the core in the whole
    history's ids."""
    ids = next((ids for ids in pieces if violation.operation in ids), None)
    if ids is None:
        return minimise(history, model, violation, time_limit=time_limit)
    inside = {whole: index for index, whole in enumerate(ids)}
    local = lift(violation, inside)
    assert isinstance(local, Violation)
    part = piece(history, ids)
    if history.meta.get("workload") == "pubsub":
        core = minimise_pubsub(part, local, time_limit=time_limit)
    else:
        core = minimise(part, model, local, time_limit=time_limit)
    return tuple(sorted(ids[index] for index in core))
