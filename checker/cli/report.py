"""``redlin report PATH``: write a report for a history, or re-render a saved result."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from redlin.cli.check import add_budget_arguments, check_command
from redlin.errors import EXIT_OK, EXIT_UNKNOWN, EXIT_VIOLATION, UsageError
from redlin.registry import load
from redlin.report.write import FORMAT, load_document, render_report


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``redlin report``."""
    parser.add_argument("path", type=Path, help="a history file (checked first), or a result.json or report "
                                                "directory (re-rendered without checking)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="report directory (default: reports/<history name>-<digest>, or the result's own directory)")
    add_budget_arguments(parser)


def report_command(args: argparse.Namespace) -> int:
    """Write a report for a history, or re-render a saved one.

    Exit codes as ``redlin check``: 0 linearizable, 1 violation, 2 unknown, 3 bad input.
    """
    path: Path = args.path
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory")
    if not (path.is_dir() or _looks_like_result(path)):
        # A history: check it and write its report, exactly as `redlin check` does.
        args.history = path
        args.json = False
        return check_command(args)
    try:
        document = load_document(path)
    except ValueError as error:
        raise UsageError(str(error)) from None
    source = path if path.is_dir() else path.parent
    history_path = source / document["history"]
    if not history_path.exists():
        raise UsageError(f"{history_path}: the result's history file is missing")
    history, model = load(history_path, "jsonl", document["model"])
    out = args.out or source
    out.mkdir(parents=True, exist_ok=True)
    target = out / document["history"]
    if not target.exists():
        shutil.copyfile(history_path, target)
    files = render_report(out, document, history, model)
    print(document["explanation"][0])
    print(f"report: {files.html}")
    verdict = document["verdict"]
    return EXIT_OK if verdict == "linearizable" else EXIT_VIOLATION if verdict == "violation" else EXIT_UNKNOWN


def _looks_like_result(path: Path) -> bool:
    if path.suffix != ".json":
        return False
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return FORMAT in file.read(4096)
    except OSError:
        return False
