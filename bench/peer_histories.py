"""Check every Porcupine test history with its model and compare with the verdicts Porcupine asserts.

Usage::

    python bench/peer_histories.py [--shared PATH] [--repeat N] [--set etcd|kv|kv-nopartition]
                                   [--porcupine PORCUPINE-SRC [--porcupine-verbose]]

Prints one line per file (check time, verdict, configurations explored), then per set the total check
time, whether every verdict matched ``expected.tsv``, and the process's peak resident memory.  Times
are the best of ``--repeat`` runs per file, as CPU time of this process (the checker is single
threaded, and CPU time is what stays comparable on a machine shared with other work) with the wall
time beside it.  Loading (parsing) time is reported apart: the peer's figures below are for checking
only.

The peer, Porcupine (Go), checks the whole etcd set in about 0.47 s and the partitioned kv set in
about 0.24 s on the reference machine (2 cores); see shared/data/porcupine/README.md.  With
``--porcupine`` (a Porcupine source tree, and ``go`` on PATH), Porcupine itself checks every file in
the same run, through ``bench/scale.py``'s driver (built into ``--work``), best of ``--repeat``
checks in one process (warm, as redlin's are), and each line and total shows both times (CPU) and their ratio.
Porcupine's ``CheckOperations`` answers a bare verdict, while redlin's result always carries its
witness or counterexample; ``--porcupine-verbose`` also times ``CheckOperationsVerbose``, the call
that computes Porcupine's counterexample (its longest partial linearizations), in a third column.
A driver's repeats stop once they have taken ``--time-limit`` in all.
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scale import _VERDICTS, build_driver, run_child

from redlin import (
    History,
    Model,
    cas_register,
    check,
    kv,
    kv_single,
    load_porcupine_etcd,
    load_porcupine_kv,
)

ROOT = Path(__file__).resolve().parents[1]


SETS: dict[str, tuple[Callable[[Path], History], Callable[[], Model[Any]]]] = {
    "etcd": (load_porcupine_etcd, cas_register),
    "kv": (load_porcupine_kv, kv),
    "kv-nopartition": (load_porcupine_kv, kv_single),
}
PEER_SECONDS = {"etcd": 0.47, "kv": 0.24}
EXPECTED_VERDICT = {"ok": "linearizable", "illegal": "violation", "untested": "linearizable"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared", help="the shared/ folder")
    parser.add_argument("--repeat", type=int, default=1, help="check each file N times, keep the best time")
    parser.add_argument("--set", choices=sorted(SETS), action="append", help="only these sets (repeatable)")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per check")
    parser.add_argument("--quiet", action="store_true", help="totals only")
    parser.add_argument("--porcupine", type=Path, default=None, help="a Porcupine source tree, to check beside it")
    parser.add_argument("--porcupine-verbose", action="store_true",
                        help="also time Porcupine's CheckOperationsVerbose (its counterexample)")
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "redlin-bench",
                        help="where the Porcupine driver is built")
    args = parser.parse_args(argv)
    if args.porcupine_verbose and args.porcupine is None:
        parser.error("--porcupine-verbose needs --porcupine")
    driver = None
    if args.porcupine is not None:
        driver, why = build_driver(args.work, args.porcupine)
        if driver is None:
            print(why, file=sys.stderr)
            return 2

    data = args.shared / "data" / "porcupine"
    expected_path = data / "expected.tsv"
    if not expected_path.is_file():
        print(f"{expected_path}: not found (pass --shared PATH)", file=sys.stderr)
        return 2
    with expected_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    listed = {row["file"] for row in rows}
    for path in sorted(data.glob("*/*")):
        if path.relative_to(data).as_posix() not in listed:
            print(f"note: {path.relative_to(data)} is not in expected.tsv; skipped")

    chosen = args.set or list(SETS)
    totals: dict[str, float] = {}
    peer_totals: dict[str, float] = {}
    verbose_totals: dict[str, float] = {}
    wall_totals: dict[str, float] = {}
    load_totals: dict[str, float] = {}
    mismatches: list[str] = []
    for row in rows:
        name = row["model"]
        if name not in chosen:
            continue
        load, make_model = SETS[name]
        started = time.perf_counter()
        history = load(data / row["file"])
        load_totals[name] = load_totals.get(name, 0.0) + time.perf_counter() - started
        model = make_model()
        best = best_wall = float("inf")
        for _ in range(max(1, args.repeat)):
            started, started_wall = time.process_time(), time.perf_counter()
            result = check(history, model, time_limit=args.time_limit)
            best = min(best, time.process_time() - started)
            best_wall = min(best_wall, time.perf_counter() - started_wall)
        totals[name] = totals.get(name, 0.0) + best
        wall_totals[name] = wall_totals.get(name, 0.0) + best_wall
        expected = EXPECTED_VERDICT[row["expected_verdict"]]
        beside = ""
        if driver is not None and name in PORCUPINE_SETS:
            peer_best, peer_verdict = _peer_run(driver, name, data / row["file"], args.time_limit, args.repeat)
            peer_totals[name] = peer_totals.get(name, 0.0) + peer_best
            beside = f"  porcupine {_ms(peer_best)} cpu ({_ratio(best, peer_best)})"
            if peer_verdict != expected:
                beside += f" PORCUPINE SAYS {peer_verdict}"
            if args.porcupine_verbose:
                verbose_best, verbose_verdict = _peer_run(driver, name, data / row["file"], args.time_limit,
                                                          args.repeat, verbose=True)
                verbose_totals[name] = verbose_totals.get(name, 0.0) + verbose_best
                beside += f"  verbose {_ms(verbose_best)} cpu ({_ratio(best, verbose_best)})"
                if verbose_verdict != expected:
                    beside += f" VERBOSE SAYS {verbose_verdict}"
        mark = "" if result.verdict == expected else f"  MISMATCH (expected {expected})"
        if mark:
            mismatches.append(f"{row['file']} ({name})")
        if not args.quiet:
            print(
                f"{row['file']:24} {name:15} {len(history):5} ops  {_ms(best)} cpu {_ms(best_wall)} wall  "
                f"{result.verdict:12} {result.states_explored:9} configurations{beside}{mark}"
            )

    print()
    for name in chosen:
        if name not in totals:
            continue
        peer = PEER_SECONDS.get(name)
        against = f"  (peer {peer:.2f} s: {totals[name] / peer:.2f}x)" if peer else ""
        if name in peer_totals:
            against = (f"  (porcupine, same run: {peer_totals[name]:.3f} s cpu, "
                       f"{totals[name] / peer_totals[name]:.2f}x)")
        if name in verbose_totals:
            against += f"  (verbose: {verbose_totals[name]:.3f} s cpu, {totals[name] / verbose_totals[name]:.2f}x)"
        print(
            f"{name:15} check {totals[name]:7.3f} s cpu ({wall_totals[name]:7.3f} s wall)   "
            f"load {load_totals[name]:6.3f} s{against}"
        )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"verdicts: {'all match expected.tsv' if not mismatches else 'MISMATCH: ' + ', '.join(mismatches)}")
    print(f"peak memory (max RSS): {peak_mib:.0f} MiB")
    return 1 if mismatches else 0


def _ms(seconds: float) -> str:
    """A file's check time in milliseconds, to the microsecond (the smallest take tens of them).

    >>> _ms(0.0000123), _ms(1.5)
    ('    0.012 ms', ' 1500.000 ms')
    """
    return f"{seconds * 1e3:9.3f} ms"


PORCUPINE_SETS = ("etcd", "kv", "kv-nopartition")
"""The sets the driver reads as Porcupine's own tests do (an etcd ``:info`` completion leaves its
call open to the end with an unknown output, as Porcupine's test parser does)."""


def _ratio(ours: float, theirs: float) -> str:
    """redlin's time over the peer's.

    >>> _ratio(0.002, 0.001), _ratio(0.001, 0.0)
    ('  2.00x', '   infx')
    """
    return f"{ours / theirs if theirs else float('inf'):6.2f}x"


def _peer_run(driver: Path, name: str, path: Path, time_limit: float, repeat: int, *,
              verbose: bool = False) -> tuple[float, str]:
    """Porcupine's CPU seconds checking one file (the best of ``repeat`` checks in one process, warm
    as redlin's are, that stop once they took ``time_limit`` in all), and its verdict; ``verbose``:
    with ``CheckOperationsVerbose``."""
    repeat = max(1, repeat)
    command = [str(driver), name, str(path), str(time_limit), str(repeat)] + (["verbose"] if verbose else [])
    found = run_child(command, 2 * time_limit + 30, 20_000)
    if not isinstance(found, dict):
        raise SystemExit(f"porcupine on {path.name}: {found}")
    return float(found["check"]), _VERDICTS.get(found["verdict"], found["verdict"])


if __name__ == "__main__":
    sys.exit(main())
