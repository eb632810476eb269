"""``redlin check HISTORY``: check a recorded history, write its report, print the verdict.

``--time-limit`` holds for the whole command: reading the file, checking, minimising a
violation and writing the report.  The check gets what is left once the file is read, less a
reserve for the report (:func:`report_reserve`); minimising a violation gets ``--minimise-time``
(:func:`minimise_budget`: by default 5 s, at most ten times what the check took and a quarter of
the limit), within what is left.  Minimising that stops at its budget keeps the smallest core
found, and the report and the console say it may not be minimal.

The parts of a history are checked in ``--jobs`` processes (:mod:`redlin.search.parallel`), or on
a Dask cluster with ``--dask`` (:mod:`redlin.search.distributed`, the ``dask`` extra).  A history recorded by ``redlin run`` is checked run by run (round by
round for ``--workload pubsub``), as the run checked it (:mod:`redlin.adapter.run_pieces`), so
that it gets the run's verdict in about the run's time.

A Redis history is checked as the version profile its meta names (``--profile`` overrides it);
a violation is then re-checked, for at most another quarter of the limit, under every other
profile (:func:`redlin.adapter.profiles.explaining_profile`): the failing run for a run's
history, else the whole history.  If one explains it, the verdict stays a violation of the
profile checked, reported as a version difference, as ``redlin run`` does.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from redlin.adapter.profiles import explaining_profile, failing_history, profile_in
from redlin.adapter.redis_model import redis_model
from redlin.adapter.run_pieces import check_pieces, minimise_piece, run_pieces
from redlin.cli.args import positive_float, positive_int
from redlin.cli.check_transactions import (
    add_isolation_argument,
    check_transactions_command,
    wants_transactions,
)
from redlin.errors import EXIT_OK, EXIT_UNKNOWN, EXIT_VIOLATION, UsageError
from redlin.history.jsonl import REDIS_MODELS
from redlin.history.records import History
from redlin.model import DEFAULT_PROFILE, PROFILES
from redlin.registry import (
    FORMATS,
    MODELS,
    TRANSACTION_FORMATS,
    TRANSACTION_MODELS,
    guess_format,
    load,
    make_model,
)
from redlin.report.text import history_ids, render_text
from redlin.report.write import default_report_dir, minimise_sentence, result_document, write_check_report
from redlin.search.check import check
from redlin.search.compose import piece
from redlin.search.distributed import DASK_MISSING, check_dask, dask_installed
from redlin.search.minimise import minimise
from redlin.search.model import Model
from redlin.search.parallel import ModelSpec, check_parallel
from redlin.search.result import Linearizable, Result, Violation
from redlin.search.wgl import cyclic_gc_paused

DEFAULT_MINIMISE_SECONDS = 5.0
"""Seconds for minimising a violation, without --minimise-time."""
MINIMISE_RATIO = 10.0
"""Without --minimise-time, minimising takes at most this many times what the check took."""


def add_budget_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``redlin check`` and ``redlin report`` share: format, model and budgets."""
    parser.add_argument("--format", choices=FORMATS + TRANSACTION_FORMATS,
                        help="history format (default: guessed from the file)")
    parser.add_argument("--model", choices=MODELS + TRANSACTION_MODELS,
                        help="model to check against (default: from the format); list-append and rw-register check "
                             "transactions for named isolation anomalies (Elle)")
    parser.add_argument("--profile", choices=list(PROFILES), metavar="NAME",
                        help=f"the version a Redis history is checked as: {', '.join(PROFILES)} (default: the one "
                             f"its meta line names, else {DEFAULT_PROFILE})")
    parser.add_argument("--time-limit", type=positive_float, default=60.0, metavar="S",
                        help="give up with 'unknown' after S seconds, reading the file and writing the report "
                             "included (default 60)")
    parser.add_argument("--max-states", type=positive_int, default=None, metavar="N",
                        help="memory budget: most search states memoised at once (default: 2 per operation, "
                             "at least 1,000,000)")
    parser.add_argument("--no-minimise", action="store_true", help="do not shrink the counterexample")
    parser.add_argument("--minimise-time", type=positive_float, metavar="S",
                        help=f"seconds for shrinking the counterexample (default {DEFAULT_MINIMISE_SECONDS:g}, and at "
                             f"most {MINIMISE_RATIO:g} times what the check took); the smallest found when it runs out")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--jobs", type=positive_int, metavar="N",
                       help=f"check independent parts in N processes (default: the cores, {os.cpu_count() or 1}; "
                            "1: in this process)")
    where.add_argument("--dask", type=dask_address, metavar="tcp://HOST:PORT",
                       help="check independent parts on the Dask cluster of this scheduler (needs the dask extra)")


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``redlin check``."""
    parser.add_argument("history", type=Path, help="the history file")
    add_budget_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the result document (result.json) instead of text")
    parser.add_argument("--out", type=Path, metavar="DIR", help="report directory (default: reports/<history name>)")
    parser.add_argument("--no-report", action="store_true", help="do not write a report directory")
    add_isolation_argument(parser)


def check_command(args: argparse.Namespace) -> int:
    """Check ``args.history``, write its report directory, print the verdict; the exit code."""
    if hasattr(args, "isolation") and wants_transactions(args):
        return check_transactions_command(args)
    deadline = time.monotonic() + args.time_limit
    if getattr(args, "dask", None) and not dask_installed():
        raise UsageError(DASK_MISSING)
    history, model = load(args.history, args.format, args.model, getattr(args, "profile", None))
    with _out_of_collection():
        return _check_loaded(args, history, model, deadline)


@contextmanager
def _out_of_collection() -> Iterator[None]:
    """What exists now (the history: it lives as long as the command) is kept out of the cyclic
    collector's reach for the block (:func:`gc.freeze`), so that a full collection need not walk
    it again: each took 3 s of a million-operation check's report."""
    mine = not gc.get_freeze_count()  # (objects someone else froze stay as they are)
    if mine:
        gc.freeze()
    try:
        yield
    finally:
        if mine:
            gc.unfreeze()


def _check_loaded(args: argparse.Namespace, history: History, model: Model[Any], deadline: float) -> int:
    writes_report = not getattr(args, "no_report", False)
    reserve = report_reserve(len(history), args.time_limit) if writes_report else 0.0
    pieces = run_pieces(history) if model.name.startswith("redis") else None
    checking = time.monotonic()
    left = max(0.0, deadline - reserve - checking)
    result = _check_each(history, pieces, model, args, time_limit=left)
    core: tuple[int, ...] = ()
    minimised: dict[str, Any] | None = None
    checked = time.monotonic()
    left = min(minimise_budget(getattr(args, "minimise_time", None), checked - checking, args.time_limit),
               deadline - reserve - checked)
    if isinstance(result, Violation) and not args.no_minimise and left > 0:
        if pieces is not None:
            core = minimise_piece(history, pieces, result, model, time_limit=left)
        else:
            core = minimise(history, model, result, time_limit=left)
        took = time.monotonic() - checked
        # ddmin gives up at its deadline with the smallest core proved so far (see minimise()).
        minimised = {"seconds": round(took, 3), "budget": round(left, 3), "stopped_early": took >= left}
    meta: dict[str, str] = {}
    left = min(args.time_limit / 4, deadline - reserve - time.monotonic())
    if isinstance(result, Violation) and model.name in REDIS_MODELS and left > 0:
        failing = failing_history(history, result, pieces)
        part = piece(history, sorted(result.part)) if model.name == "redis" and len(result.part) < len(failing) else None
        version = explaining_profile(failing, profile_in(history.meta), time_limit=left, partitioned=model.name == "redis",
                                     protocol=3 if history.meta.get("protocol") == 3 else 2, part=part)
        if version is not None:
            meta["version_difference"] = version
    files = None
    if writes_report:
        out = args.out or default_report_dir(args.history)
        fmt = args.format or guess_format(args.history)
        with cyclic_gc_paused():  # (a report makes a million small objects and no cycle)
            files = write_check_report(args.history, fmt, out, history=history, model=model, result=result,
                                       core=core, meta=meta, minimised=minimised)
    if getattr(args, "json", False):
        print(json.dumps(result_document(history, model, result, core, meta, history_file="history.jsonl",
                                         minimised=minimised), indent=2))
    else:
        print(render_text(history, model, result, core, history_ids(history)))
        if minimised is not None and minimised["stopped_early"]:
            print(minimise_sentence(minimised))
        if "version_difference" in meta:
            version = meta["version_difference"]
            print(f"version difference: the model of profile {version} explains the failing history: the server "
                  f"behaves as that version here, not a bug (check it as that version with --profile {version})")
        if files is not None:
            print(f"report: {files.html}")
    if isinstance(result, Linearizable):
        return EXIT_OK
    return EXIT_VIOLATION if isinstance(result, Violation) else EXIT_UNKNOWN


def report_reserve(operations: int, time_limit: float) -> float:
    """Seconds of ``--time-limit`` kept for writing the report of a history of ``operations``
    operations: 8 microseconds per operation (twice what it takes: a million-operation ``redlin
    run`` history's report took 5.2 s, session 22) and half a second, at most half the limit.

    >>> round(report_reserve(1_000_000, 60.0), 3), report_reserve(100_000, 1.0)
    (8.5, 0.5)
    """
    return min(time_limit / 2, 0.5 + 8e-6 * operations)


def minimise_budget(given: float | None, check_seconds: float, time_limit: float) -> float:
    """Seconds for minimising: ``given`` (``--minimise-time``), else 5 s but at most ten times the
    ``check_seconds`` the check took and a quarter of ``time_limit`` (the version-profile re-check
    gets another quarter).

    >>> minimise_budget(None, 0.1, 60.0), minimise_budget(None, 3.0, 60.0), minimise_budget(30.0, 0.1, 60.0)
    (1.0, 5.0, 30.0)
    """
    if given is not None:
        return given
    return min(DEFAULT_MINIMISE_SECONDS, MINIMISE_RATIO * check_seconds, time_limit / 4)


def dask_address(text: str) -> str:
    """A Dask scheduler's address, ``tcp://host:port`` (or another of Dask's protocols).

    >>> dask_address("tcp://127.0.0.1:8786")
    'tcp://127.0.0.1:8786'
    """
    scheme, separator, rest = text.partition("://")
    host, colon, port = rest.rpartition(":")
    networked = scheme in ("tcp", "tls", "ucx")  # inproc:// (a cluster in this process) has no port
    if not separator or not (networked and host and colon and port.isdigit() or scheme == "inproc" and rest):
        raise argparse.ArgumentTypeError(f"not a scheduler address like tcp://HOST:PORT: {text!r}")
    return text


def model_spec(history: History, model: Model[Any]) -> ModelSpec:
    """How a worker on another machine builds ``model``: a Redis model with the history's version
    profile and protocol, or a generic model by name."""
    if model.name in REDIS_MODELS:
        return ModelSpec(redis_model, (("partitioned", model.name == "redis"),
                                       ("protocol", 3 if history.meta.get("protocol") == 3 else 2),
                                       ("profile", profile_in(history.meta))))
    return ModelSpec(make_model, (("name", model.name),))


def _check(history: History, model: Model[Any], args: argparse.Namespace, *, time_limit: float) -> Result:
    """:func:`~redlin.check` in this process, in ``--jobs`` processes or on the ``--dask`` cluster."""
    address = getattr(args, "dask", None)
    if address:
        return check_dask(history, model_spec(history, model), address=address, time_limit=time_limit,
                          max_states=args.max_states)
    jobs = getattr(args, "jobs", None) or os.cpu_count() or 1
    if jobs > 1:
        return check_parallel(history, model, jobs=jobs, time_limit=time_limit, max_states=args.max_states)
    return check(history, model, time_limit=time_limit, max_states=args.max_states)


def _check_each(history: History, pieces: tuple[tuple[int, ...], ...] | None, model: Model[Any],
                args: argparse.Namespace, *, time_limit: float) -> Result:
    """The history checked whole, or a run's history piece by piece as the run did, each with
    :func:`_check`, until the first violation."""
    if pieces is None:
        return _check(history, model, args, time_limit=time_limit)
    return check_pieces(history, pieces, model, time_limit=time_limit,
                        checker=lambda part, left: _check(part, model, args, time_limit=left or 0.0))
