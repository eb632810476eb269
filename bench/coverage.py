"""Coverage and false alarms of the default workload on a real Redis (issue #12's goals).

    python bench/coverage.py [--duration 60] [--seeds 1] [--workload default]

For each seed, a private ``redis-server`` (started here on a free loopback port, from the
distribution's package) is tested with ``redlin.run`` for ``--duration`` seconds.  Printed per
seed: the verdict (anything but LINEARIZABLE against a correct Redis is a false alarm), the
operations recorded, the fraction of the commands the workload can send that were exercised
(goal: at least 95 % in 60 s), how many of them got an error reply, and how transactions and
scripts ended; then the totals.

>>> fraction({"drawable": 4, "exercised": ["get", "set", "incr"]})
0.75
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from detect import start_redis  # bench/detect.py: a private redis-server on a free port

from redlin import run


def fraction(coverage: dict[str, Any]) -> float:
    """The exercised share of the drawable commands."""
    return len(coverage["exercised"]) / coverage["drawable"] if coverage["drawable"] else 0.0


def one(seed: int, duration: float, workload: str, directory: Path) -> dict[str, Any]:
    process, port = start_redis(str(directory))
    try:
        outcome = run(f"redis://127.0.0.1:{port}/0", workload=workload, duration=duration, seed=seed,
                      out=directory / "out", database=None)
    finally:
        process.kill()
        process.wait()
    document = json.loads(outcome.paths["result"].read_text())
    coverage = document["meta"]["coverage"]
    errors = sum(1 for name in coverage["exercised"]
                 if any(kind.startswith("error") for kind in coverage["replies"].get(name, {})))
    return {"seed": seed, "verdict": outcome.verdict, "operations": outcome.stats.operations,
            "coverage": fraction(coverage), "exercised": len(coverage["exercised"]), "drawable": coverage["drawable"],
            "with_errors": errors, "missing": coverage["not_exercised"], "transactions": coverage["transactions"],
            "scripts": coverage["scripts"]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per seed (default 60)")
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 (default 1)")
    parser.add_argument("--workload", default="default", help="workload (default: default)")
    args = parser.parse_args(argv)
    rows = []
    for seed in range(args.seeds):
        with tempfile.TemporaryDirectory(prefix="redlin-coverage-") as directory:
            row = one(seed, args.duration, args.workload, Path(directory))
        rows.append(row)
        print(f"seed {seed}: {row['verdict'].upper()}, {row['operations']:,} operations, "
              f"{row['exercised']}/{row['drawable']} commands exercised ({100 * row['coverage']:.1f} %), "
              f"{row['with_errors']} with error replies; missing: {', '.join(row['missing']) or 'none'}")
        print(f"  transactions: {row['transactions']}; scripts: {row['scripts']}")
    alarms = sum(1 for row in rows if row["verdict"] != "linearizable")
    worst = min(row["coverage"] for row in rows)
    print(f"total: {len(rows)} run(s) of {args.duration:g} s, {sum(r['operations'] for r in rows):,} operations, "
          f"{alarms} false alarm(s) (goal 0), lowest coverage {100 * worst:.1f} % (goal >= 95 %)")
    return 0 if alarms == 0 and worst >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
