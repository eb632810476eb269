"""``redlin campaign``: a matrix of deployment runs and the table of what each found.

>>> parser = argparse.ArgumentParser()
>>> add_campaign_arguments(parser)
>>> args = parser.parse_args(["single x none,kill", "--duration", "3"])
>>> [cell.label for cell in campaign_cells(args)], args.duration
(['single x none', 'single x kill'], 3.0)
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from pathlib import Path

from redlin.cli.args import bounded_int, positive_float
from redlin.deploy.campaign import (
    DEFAULT_DURATION,
    DEFAULT_MATRIX,
    INDEX_HTML,
    Cell,
    exit_code,
    parse_matrix,
    read_matrix,
    render_markdown,
    run_campaign,
)
from redlin.errors import EXIT_INTERRUPTED, EXIT_OK, UsageError

MAX_CLIENTS = 256
"""The most writing clients of one cell (each a thread and a connection)."""


def add_campaign_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``redlin campaign``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("spec", nargs="?", metavar="SPEC",
                        help="the matrix: lines separated by ';', each DEPLOYMENT x NEMESIS[,NEMESIS...] "
                             "[+replica-reads=N] [+wait=N[:MS]], one cell per nemesis; join faults of one cell "
                             "with '+' (kill+pause), 'none' for no fault (default: the matrix below)")
    parser.add_argument("--file", type=Path, metavar="F", help="read the matrix from F, one line per group of cells "
                                                                "(# starts a comment)")
    parser.add_argument("--duration", type=positive_float, default=DEFAULT_DURATION, metavar="S",
                        help=f"seconds each cell records (default {DEFAULT_DURATION:g})")
    parser.add_argument("--seed", type=int, default=0, help="seed of every cell's workload and nemesis (default 0)")
    parser.add_argument("--clients", type=bounded_int(MAX_CLIENTS), default=4, metavar="N",
                        help="writing clients of each cell (default 4)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="output directory: a folder per cell, results.md, results.json, index.html "
                             "(default reports/campaign-<time>)")
    parser.add_argument("--list", action="store_true", help="print the cells and the redlin run of each, run nothing")
    parser.epilog = "default matrix:\n" + "".join(f"  {line}\n" for line in DEFAULT_MATRIX.splitlines()) + "\n" + "\n".join(
        textwrap.wrap("exit codes: 0 every cell ran (violations and lost writes are results, in the table), 3 a bad "
                      "matrix or a cell that could not run (an error row: a deployment that would not start, a fault "
                      "that does not apply), 4 a cell hit a bug of redlin's, 130 interrupted (the table keeps the "
                      "cells done)", 100))


def campaign_cells(args: argparse.Namespace) -> list[Cell]:
    """The cells the arguments name: SPEC, --file or the default matrix."""
    if args.spec is not None and args.file is not None:
        raise UsageError("give the campaign matrix as SPEC or as --file, not both")
    if args.file is not None:
        return read_matrix(args.file)
    return parse_matrix(DEFAULT_MATRIX if args.spec is None else args.spec)


def campaign_command(args: argparse.Namespace) -> int:
    """Run the campaign, print its table; the exit code (see the epilog)."""
    cells = campaign_cells(args)
    if args.list:
        for cell in cells:
            print(f"{cell.label}\n    {cell.command(args.duration, args.seed, args.clients)}")
        return EXIT_OK
    out = args.out or Path("reports") / f"campaign-{time.strftime('%Y%m%d-%H%M%S')}"
    print(f"campaign of {len(cells)} cells into {out} (about {len(cells) * (args.duration + 20):.0f} s)",
          file=sys.stderr)
    results = run_campaign(cells, out, args.duration, args.seed, sys.stderr, clients=args.clients)
    print(render_markdown(results), end="")
    print(f"table: {out / INDEX_HTML}")
    if len(results) < len(cells):
        print(f"interrupted after {len(results)} of {len(cells)} cells", file=sys.stderr)
        return EXIT_INTERRUPTED
    return exit_code(results)
