"""``redlin conform``: compare a server's replies with the model's, one action at a time.

>>> parser = argparse.ArgumentParser()
>>> add_conform_arguments(parser)
>>> parser.parse_args(["--target", "redis://127.0.0.1:6379/0", "--duration", "30"]).duration
30.0
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from redlin.cli.args import positive_float, positive_int
from redlin.harness.conform import DEFAULT_OPS, DEFAULT_SHRINK_TIME, ConformPlan, conform
from redlin.harness.conform_document import write_conform
from redlin.harness.plan import DEFAULT_TIMEOUT
from redlin.harness.preflight import new_run_id
from redlin.harness.run_profile import AUTO, profile_choices
from redlin.report.conform import render_conform_text
from redlin.serve.server import FAULTS


def add_conform_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``redlin conform``."""
    parser.add_argument("--target", metavar="URL",
                        help="redis://[user:password@]host:port/db or rediss://... (default: start the embedded "
                             "model server in-process)")
    parser.add_argument("--fault", choices=["none", *FAULTS], default="none", metavar="NAME",
                        help="plant a bug in the embedded server: " + ", ".join(FAULTS))
    parser.add_argument("--profile", choices=profile_choices(), default=AUTO, metavar="NAME",
                        help=f"the version the model plays: {', '.join(profile_choices()[1:])}, or auto (default): "
                             "chosen from the server's INFO server")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--ops", type=positive_int, default=DEFAULT_OPS, metavar="N",
                        help=f"stop after N actions (commands, transactions, scripts; default {DEFAULT_OPS})")
    budget.add_argument("--duration", type=positive_float, metavar="S",
                        help="draw and shrink for S seconds (a shrink under way when the time is up finishes: "
                             "at most --shrink-time more)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the actions drawn (default 0)")
    parser.add_argument("--shrink-time", type=positive_float, default=DEFAULT_SHRINK_TIME, metavar="S",
                        help=f"seconds for shrinking each distinct difference (default {DEFAULT_SHRINK_TIME:g})")
    parser.add_argument("--timeout", type=positive_float, default=DEFAULT_TIMEOUT, metavar="S",
                        help=f"seconds to wait for a reply (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--out", type=Path, metavar="DIR", help="report directory (default reports/conform-<run-id>)")
    parser.add_argument("--password-env", default="REDLIN_PASSWORD", metavar="VAR",
                        help="environment variable with the password, if the URL has none (default REDLIN_PASSWORD)")
    parser.add_argument("--allow-destructive", action="store_true",
                        help="let the drawn actions include SCRIPT FLUSH (every key stays under the run's prefix)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.epilog = ("Exit codes: 0 no difference (version differences aside), 1 differences, 3 bad arguments or "
                     "a target that cannot be used, 130 interrupted before anything was compared.  Ctrl-C, SIGTERM "
                     "and SIGHUP stop the run cleanly: the keys are deleted and the report written.")


def conform_command(args: argparse.Namespace) -> int:
    """Compare, print the differences grouped by family and where the report is; the exit code."""
    plan = ConformPlan(
        target=args.target, fault=None if args.fault == "none" else args.fault, profile=args.profile,
        ops=None if args.duration is not None else args.ops,
        duration=args.duration, seed=args.seed, timeout=args.timeout, shrink_time=args.shrink_time,
        allow_destructive=args.allow_destructive, password_env=args.password_env, run_id=new_run_id(), out=args.out,
    )

    def say(line: str) -> None:
        if not args.quiet:
            print(f"redlin conform: {line}", file=sys.stderr, flush=True)

    run = conform(plan, say)
    document, paths = write_conform(run)
    print(render_conform_text(document))
    print(f"report: {paths['html']}")
    return run.exit_code
