"""``redlin check HISTORY``: check a recorded history, write its report, print the verdict.

``--time-limit`` holds for the whole command: reading the file, checking, minimising a
violation and writing the report.  The check gets what is left once the file is read, less a
reserve for the report (:func:`report_reserve`); minimising gets at most a quarter of the limit of
what is left after that.  A history recorded by ``redlin run`` is checked run by run (round by
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
import json
import time
from pathlib import Path

from redlin.adapter.profiles import explaining_profile, failing_history, profile_in
from redlin.adapter.run_pieces import check_pieces, minimise_piece, run_pieces
from redlin.cli.args import positive_float, positive_int
from redlin.errors import EXIT_OK, EXIT_UNKNOWN, EXIT_VIOLATION
from redlin.history.jsonl import REDIS_MODELS
from redlin.model import DEFAULT_PROFILE, PROFILES
from redlin.registry import FORMATS, MODELS, guess_format, load
from redlin.report.text import history_ids, render_text
from redlin.report.write import default_report_dir, result_document, write_check_report
from redlin.search.check import check
from redlin.search.minimise import minimise
from redlin.search.result import Linearizable, Violation


def add_budget_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``redlin check`` and ``redlin report`` share: format, model and budgets."""
    parser.add_argument("--format", choices=FORMATS, help="history format (default: guessed from the file)")
    parser.add_argument("--model", choices=MODELS, help="model to check against (default: from the format)")
    parser.add_argument("--profile", choices=list(PROFILES), metavar="NAME",
                        help=f"the version a Redis history is checked as: {', '.join(PROFILES)} (default: the one "
                             f"its meta line names, else {DEFAULT_PROFILE})")
    parser.add_argument("--time-limit", type=positive_float, default=60.0, metavar="S",
                        help="give up with 'unknown' after S seconds, reading the file and writing the report "
                             "included (default 60)")
    parser.add_argument("--max-states", type=positive_int, default=2_000_000, metavar="N",
                        help="memory budget: most search states memoised per part (default 2,000,000)")
    parser.add_argument("--no-minimise", action="store_true", help="do not shrink the counterexample")


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``redlin check``."""
    parser.add_argument("history", type=Path, help="the history file")
    add_budget_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the result document (result.json) instead of text")
    parser.add_argument("--out", type=Path, metavar="DIR", help="report directory (default: reports/<history name>)")
    parser.add_argument("--no-report", action="store_true", help="do not write a report directory")


def check_command(args: argparse.Namespace) -> int:
    """Check ``args.history``, write its report directory, print the verdict; the exit code."""
    deadline = time.monotonic() + args.time_limit
    history, model = load(args.history, args.format, args.model, getattr(args, "profile", None))
    writes_report = not getattr(args, "no_report", False)
    reserve = report_reserve(len(history), args.time_limit) if writes_report else 0.0
    pieces = run_pieces(history) if model.name.startswith("redis") else None
    left = max(0.0, deadline - reserve - time.monotonic())
    if pieces is not None:
        result = check_pieces(history, pieces, model, time_limit=left, max_states=args.max_states)
    else:
        result = check(history, model, time_limit=left, max_states=args.max_states)
    core: tuple[int, ...] = ()
    left = min(args.time_limit / 4, deadline - reserve - time.monotonic())
    if isinstance(result, Violation) and not args.no_minimise and left > 0:
        if pieces is not None:
            core = minimise_piece(history, pieces, result, model, time_limit=left)
        else:
            core = minimise(history, model, result, time_limit=left)
    meta: dict[str, str] = {}
    left = min(args.time_limit / 4, deadline - reserve - time.monotonic())
    if isinstance(result, Violation) and model.name in REDIS_MODELS and left > 0:
        version = explaining_profile(failing_history(history, result, pieces), profile_in(history.meta),
                                     time_limit=left, partitioned=model.name == "redis",
                                     protocol=3 if history.meta.get("protocol") == 3 else 2)
        if version is not None:
            meta["version_difference"] = version
    files = None
    if writes_report:
        out = args.out or default_report_dir(args.history)
        fmt = args.format or guess_format(args.history)
        files = write_check_report(args.history, fmt, out, history=history, model=model, result=result, core=core,
                                   meta=meta)
    if getattr(args, "json", False):
        print(json.dumps(result_document(history, model, result, core, meta, history_file="history.jsonl"), indent=2))
    else:
        print(render_text(history, model, result, core, history_ids(history)))
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
    operations: about 20 microseconds per operation (a few times what it takes) and half a second,
    at most half the limit.

    >>> report_reserve(100_000, 60.0), report_reserve(100_000, 2.0)
    (2.5, 1.0)
    """
    return min(time_limit / 2, 0.5 + 2e-5 * operations)
