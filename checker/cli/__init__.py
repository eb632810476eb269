"""The ``redlin`` command line: the top of the package (nothing in redlin imports it).

Every subcommand lives in its own module (``campaign``, ``check``, ``conform``, ``report``, ``run``,
``serve``) and is a pair ``add_<name>_arguments(parser)`` / ``<name>_command(args) -> exit code``.
:func:`main` turns every error a user can fix into one line on stderr and exit 3, and a bug into one
line and exit 4 (the traceback with ``--debug``); the exit codes live in :mod:`redlin.errors`.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from redlin import __version__
from redlin.cli.campaign import add_campaign_arguments, campaign_command
from redlin.cli.check import add_check_arguments, check_command
from redlin.cli.conform import add_conform_arguments, conform_command
from redlin.cli.report import add_report_arguments, report_command
from redlin.cli.run import add_run_arguments, run_command
from redlin.cli.serve import add_serve_arguments, serve_command
from redlin.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, HistoryError, UsageError

_COMMANDS = (
    ("check", "check a recorded history for linearizability", add_check_arguments, check_command),
    ("run", "test a Redis server (default: the embedded model) for linearizability", add_run_arguments, run_command),
    ("campaign", "run a matrix of deployments under faults and tabulate what each run found",
     add_campaign_arguments, campaign_command),
    ("conform", "compare a server's replies with the model's, command by command, and shrink each difference",
     add_conform_arguments, conform_command),
    ("report", "write a report for a history, or re-render a saved result", add_report_arguments, report_command),
    ("serve", "serve redlin's Redis model over RESP2 and RESP3 (a test double)", add_serve_arguments, serve_command),
)

_EPILOG = """exit codes: 0 linearizable, 1 violation, 2 unknown (a budget ran out), 3 bad input, usage
or connection error, 4 internal error (a bug: run again with --debug for the traceback), 130 interrupted"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse's own errors: one line and exit 3 (its default 2 means "unknown" here).
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``redlin`` and its subcommands."""
    parser = _Parser(prog="redlin", description="Prove whether a Redis server keeps Redis's concurrency guarantees.",
                     epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"redlin {__version__}")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an internal error")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, help_text, add_arguments, handler in _COMMANDS:
        sub = commands.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        add_arguments(sub)
        sub.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``redlin`` with ``argv`` (default: the process's arguments); the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    try:
        return int(args.handler(args))
    except (HistoryError, UsageError) as error:
        print(f"redlin: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("redlin: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`redlin check ... | head`): not an error of ours.
        sys.stderr.close()
        return EXIT_OK
    except Exception as error:  # a bug: one line, the traceback on request
        if args.debug:
            traceback.print_exc()
        else:
            print(f"redlin: internal error: {type(error).__name__}: {error} (run again with --debug for the "
                  "traceback, and please report it)", file=sys.stderr)
        return EXIT_INTERNAL


__all__ = ["build_parser", "main"]
