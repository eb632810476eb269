"""Deployments under faults: a campaign of ``redlin run --deployment`` cells and the time each took.

    python bench/deployments.py [--cells SPEC] [--duration 8] [--seed 0] [--clients 4] [--out DIR]

Runs the default campaign matrix (``redlin.deploy.campaign.DEFAULT_MATRIX``: every local kind
redlin starts from the distribution's ``redis-server``/``redis-sentinel``, on loopback, under the
faults that apply to it) or the cells of ``--cells`` (the matrix grammar of ``redlin campaign``),
each for ``--duration`` seconds, with ``redlin.deploy.campaign.run_campaign``.  Prints the campaign's
table (linearizability, lost acknowledged writes, sequential consistency with replica readers,
faults, the seconds each cell took from start to teardown), then the total wall time against the
goal: the default matrix in under 6 minutes at 8 s a cell.  The reports stay in ``--out`` (default:
a new temporary folder, printed), ``index.html`` linking each.

>>> over_budget(400.0, 8.0, default=True), over_budget(400.0, 8.0, default=False)
(True, False)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from redlin.deploy.campaign import (
    DEFAULT_MATRIX,
    INDEX_HTML,
    exit_code,
    parse_matrix,
    render_markdown,
    run_campaign,
)
from redlin.errors import UsageError

BUDGET_SECONDS = 360.0
"""The goal: the default matrix in under 6 minutes at 8 s a cell."""
BUDGET_DURATION = 8.0


def over_budget(total: float, duration: float, *, default: bool) -> bool:
    """Whether a run of the default matrix at the budget's duration missed the goal (other runs have none)."""
    return default and duration == BUDGET_DURATION and total > BUDGET_SECONDS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", metavar="SPEC", help="the matrix (default: redlin campaign's default matrix)")
    parser.add_argument("--duration", type=float, default=BUDGET_DURATION, help="seconds each cell records (default 8)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--out", type=Path, help="campaign directory (default: a new temporary one, kept)")
    args = parser.parse_args()
    try:
        cells = parse_matrix(args.cells or DEFAULT_MATRIX)
    except UsageError as error:
        parser.error(str(error))
    out = args.out or Path(tempfile.mkdtemp(prefix="redlin-campaign-"))
    print(f"{len(cells)} cells of {args.duration:g} s into {out}", file=sys.stderr)
    started = time.monotonic()
    results = run_campaign(cells, out, args.duration, args.seed, sys.stderr, clients=args.clients)
    total = time.monotonic() - started
    print(render_markdown(results))
    slowest = max(results, key=lambda result: result.seconds, default=None)
    print(f"total: {len(results)} of {len(cells)} cells in {total:.1f} s wall time "
          f"({sum(result.seconds for result in results):.1f} s in the cells"
          + (f"; slowest {slowest.cell.label}, {slowest.seconds:.1f} s" if slowest else "") + ")")
    if args.cells is None and args.duration == BUDGET_DURATION:
        print(f"goal: under {BUDGET_SECONDS:.0f} s: {'missed' if over_budget(total, args.duration, default=True) else 'ok'}")
    print(f"table: {out / INDEX_HTML}")
    return exit_code(results)


if __name__ == "__main__":
    sys.exit(main())
