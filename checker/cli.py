"""The ``redlin`` command line.

Exit codes (all subcommands): 0 linearizable / success, 1 violation, 2 unknown (a budget ran
out), 3 bad input, usage or connection error.  User errors are one line on stderr, never a
traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ._errors import HistoryError

EXIT_OK, EXIT_VIOLATION, EXIT_UNKNOWN, EXIT_USAGE = 0, 1, 2, 3
FORMATS = ("jsonl", "porcupine-etcd", "porcupine-kv", "jepsen-edn")
MODELS = ("redis", "redis-single", "register", "cas-register", "kv", "kv-single")


class UsageError(Exception):
    """A mistake the user can fix; printed as one line, exit 3."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse's own errors: one line and exit 3 (its default 2 means "unknown" here).
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="redlin", description="Prove whether a Redis server keeps Redis's concurrency guarantees.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = commands.add_parser("check", help="check a recorded history for linearizability")
    check.add_argument("history", type=Path, help="the history file")
    check.add_argument("--format", choices=FORMATS, help="history format (default: guessed from the file)")
    check.add_argument("--model", choices=MODELS, help="model to check against (default: from the format)")
    check.add_argument("--time-limit", type=_positive_float, default=60.0, metavar="S",
                       help="give up with 'unknown' after S seconds (default 60)")
    check.add_argument("--max-states", type=_positive_int, default=2_000_000, metavar="N",
                       help="memory budget: most search states memoised per part (default 2,000,000)")
    check.add_argument("--no-minimise", action="store_true", help="do not shrink the counterexample")
    check.add_argument("--json", action="store_true", help="print the result document (result.json) instead of text")
    check.add_argument("--out", type=Path, metavar="DIR", help="report directory (default: reports/<history name>)")
    check.add_argument("--no-report", action="store_true", help="do not write a report directory")
    check.set_defaults(handler=check_command)

    try:
        from .serve import add_serve_arguments, serve_command
    except ImportError:  # pragma: no cover - the server module is optional while it is being built
        pass
    else:
        serve = commands.add_parser("serve", help="serve redlin's Redis model over RESP2 (a test double)")
        add_serve_arguments(serve)
        serve.set_defaults(handler=serve_command)

    try:
        from .run import add_run_arguments, run_command
    except ImportError:  # pragma: no cover - the run module is optional while it is being built
        pass
    else:
        run = commands.add_parser("run", help="test a Redis server (default: the embedded model) for linearizability")
        add_run_arguments(run)
        run.set_defaults(handler=run_command)

    from .report import add_report_arguments, report_command

    report = commands.add_parser("report", help="write a report for a history, or re-render a saved result")
    add_report_arguments(report)
    report.set_defaults(handler=report_command)
    return parser


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a positive finite number: {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def guess_format(path: Path) -> str:
    """The history format, from the first non-empty line of the file."""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            for line in file:
                line = line.strip()
                if not line:
                    continue
                if line.startswith('{"'):
                    return "jsonl"
                if "jepsen.util" in line:
                    return "porcupine-etcd"
                if line.startswith("{") and ":key" in line:
                    return "porcupine-kv"
                return "jepsen-edn"
    except OSError as error:
        raise UsageError(f"{path}: {error.strerror}") from None
    return "porcupine-etcd" if path.suffix == ".log" else "jsonl"


def load(path: Path, fmt: str | None, model_name: str | None) -> tuple[Any, Any]:
    """The history and the model to check it against."""
    from . import _importers, _models
    from ._jsonl import load_history
    from ._redis_model import redis_model

    if not path.exists():
        raise UsageError(f"{path}: no such file")
    fmt = fmt or guess_format(path)
    if fmt == "jsonl":
        history = load_history(path)
        default = history.meta.get("model", "redis")
    elif fmt == "porcupine-etcd":
        history, default = _importers.load_porcupine_etcd(path), "cas-register"
    elif fmt == "porcupine-kv":
        history, default = _importers.load_porcupine_kv(path), "kv"
    else:
        history, default = _importers.load_jepsen_edn(path), "cas-register"
    name = model_name or default
    factories: dict[str, Callable[[], Any]] = {
        "redis": lambda: redis_model(),
        "redis-single": lambda: redis_model(partitioned=False),
        "register": _models.register,
        "cas-register": _models.cas_register,
        "kv": _models.kv,
        "kv-single": _models.kv_single,
    }
    if name not in factories:
        raise UsageError(f"{path}: unknown model {name!r} (choose from {', '.join(MODELS)})")
    return history, factories[name]()


def check_command(args: argparse.Namespace) -> int:
    """``redlin check``: check a history, write its report directory, print the verdict."""
    from ._check import check
    from ._minimise import minimise
    from ._result import Linearizable, Violation
    from .report import default_report_dir, result_document, write_check_report

    history, model = load(args.history, args.format, args.model)
    result = check(history, model, time_limit=args.time_limit, max_states=args.max_states)
    core: tuple[int, ...] = ()
    if isinstance(result, Violation) and not args.no_minimise:
        core = minimise(history, model, result, time_limit=max(1.0, args.time_limit / 4))
    files = None
    if not getattr(args, "no_report", False):
        out = args.out or default_report_dir(args.history.stem)
        fmt = args.format or guess_format(args.history)
        files = write_check_report(args.history, fmt, out, history=history, model=model, result=result, core=core)
    if args.json:
        print(json.dumps(result_document(history, model, result, core, None, history_file="history.jsonl"), indent=2))
    else:
        print(render_text(history, model, result, core))
        if files is not None:
            print(f"report: {files.html}")
    if isinstance(result, Linearizable):
        return EXIT_OK
    return EXIT_VIOLATION if isinstance(result, Violation) else EXIT_UNKNOWN


def render_text(history: Any, model: Any, result: Any, core: Sequence[int]) -> str:
    """A short plain-text account of a result: the verdict, the explanation, the counterexample."""
    from ._explain import explain
    from ._result import Violation

    lines = [f"{result.verdict.upper()}: {len(history)} operations, model {model.name}, "
             f"{result.states_explored} states explored in {result.elapsed:.2f} s"]
    lines += [f"  {paragraph}" for paragraph in explain(history, model, result, core)]
    if isinstance(result, Violation) and core:
        lines.append(f"  minimal counterexample ({len(core)} operations; every other one may or may not have happened):")
        for op_id in sorted(core, key=lambda i: history[i].invoke):
            op = history[op_id]
            end = "…" if op.complete is None else str(op.complete)
            lines.append(f"    [{op.invoke} .. {end}] client {op.client}: {model.describe_operation(op)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except (HistoryError, UsageError) as error:
        print(f"redlin: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("redlin: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`redlin check ... | head`): not an error of ours.
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
