"""``redlin check --model list-append|rw-register``: a transactional history checked for named anomalies.

The history is a redlin JSON Lines file whose operations are MULTI/EXEC blocks, scripts and
single commands over lists or registers (:mod:`redlin.adapter.transactions` maps them), or an
Elle EDN log (``--format elle-edn``, guessed from a line like ``{:type :invoke, :f :txn, ...}``:
:func:`redlin.history.elle.load_elle_edn`).  It is checked by
:func:`redlin.cycles.check_transactions` against ``--isolation`` (strict serializability, the
promise Redis makes, by default), within ``--time-limit``.  The verdict and each anomaly's
explanation are printed (``--json``: the document), and unless ``--no-report`` the document is
written to ``<out>/transactions.json``, and drawn in ``<out>/transactions.html`` (each cycle an SVG).  Exit codes are the check's: 0 valid, 1 an anomaly rules
out the model, 2 the time ran out first.

>>> isolation_levels("serializable,snapshot-isolation")
('serializable', 'snapshot-isolation')
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from redlin.adapter.transactions import history_kind, transaction_history
from redlin.cycles.check import check_transactions
from redlin.cycles.findings import MODELS as ISOLATION_LEVELS
from redlin.cycles.findings import STRICT_SERIALIZABLE
from redlin.cycles.transactions import TransactionHistory
from redlin.errors import UsageError
from redlin.history.elle import load_elle_edn
from redlin.history.jsonl import load_history
from redlin.registry import TRANSACTION_FORMATS, TRANSACTION_MODELS, guess_format
from redlin.report.cycles_svg import transactions_page
from redlin.report.transactions import EXIT_CODES, transactions_document, transactions_text
from redlin.report.write import default_report_dir

__all__ = ["check_transactions_command", "isolation_levels", "wants_transactions"]

REPORT_FILE = "transactions.json"
PAGE_FILE = "transactions.html"


def isolation_levels(text: str) -> tuple[str, ...]:
    """``--isolation``'s value: one or more of the models the checker knows, comma-separated."""
    levels = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [level for level in levels if level not in ISOLATION_LEVELS]
    if unknown or not levels:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(ISOLATION_LEVELS)}, not {text!r}")
    return levels


def add_isolation_argument(parser: argparse.ArgumentParser) -> None:
    """``--isolation``, for ``--model list-append|rw-register``."""
    parser.add_argument("--isolation", type=isolation_levels, default=(STRICT_SERIALIZABLE,), metavar="LEVEL",
                        help=f"with --model {'/'.join(TRANSACTION_MODELS)}: the consistency models to check, "
                             f"comma-separated, from {', '.join(ISOLATION_LEVELS)} (default {STRICT_SERIALIZABLE})")


def wants_transactions(args: argparse.Namespace) -> bool:
    """Whether ``redlin check``'s arguments ask for the transactional checker: a transactional
    model, or a history in (or guessed to be in) a transactional format."""
    if getattr(args, "model", None) in TRANSACTION_MODELS:
        return True
    fmt = getattr(args, "format", None)
    if fmt is None and Path(args.history).is_file():
        fmt = guess_format(Path(args.history))
    return fmt in TRANSACTION_FORMATS


def _load(args: argparse.Namespace) -> TransactionHistory:
    path = Path(args.history)
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    fmt = args.format or guess_format(path)
    model = getattr(args, "model", None)
    if model is not None and model not in TRANSACTION_MODELS:
        raise UsageError(f"{path}: a {fmt} history holds transactions: check it with --model "
                         f"{' or --model '.join(TRANSACTION_MODELS)}")
    if fmt in TRANSACTION_FORMATS:
        return load_elle_edn(path, kind=model)
    if fmt != "jsonl":
        raise UsageError(f"{path}: --model {model} reads redlin's jsonl or elle-edn histories, not {fmt}")
    history = load_history(path)
    kind = model or history_kind(history)
    if kind is None:
        raise UsageError(f"{path}: no RPUSH/LRANGE or SET/GET commands: not a list-append or rw-register history")
    return transaction_history(history, kind, source=str(path))


def check_transactions_command(args: argparse.Namespace) -> int:
    """Check ``args.history`` for transactional anomalies, print the verdict; the exit code."""
    deadline = time.monotonic() + args.time_limit  # reading the file counts too
    history = _load(args)
    verdict = check_transactions(history, models=args.isolation, time_limit=max(0.0, deadline - time.monotonic()))
    document = {"history": str(args.history), **transactions_document(verdict, history.kind)}
    if not getattr(args, "no_report", False):
        out = args.out or default_report_dir(Path(args.history))
        out.mkdir(parents=True, exist_ok=True)
        (out / REPORT_FILE).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        (out / PAGE_FILE).write_text(transactions_page(document), encoding="utf-8")
    if getattr(args, "json", False):
        print(json.dumps(document, indent=2))
    else:
        print(transactions_text(verdict, history.kind))
        if not getattr(args, "no_report", False):
            print(f"report: {(args.out or default_report_dir(Path(args.history))) / REPORT_FILE}")
    return EXIT_CODES[verdict.verdict]
