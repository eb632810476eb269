"""The string fast path on Redis (issue #15): APPEND and whole reads, with GET and with GETRANGE.

Usage::

    python bench/strings.py [--shapes 8x12x40,1x16x40,32x12x40] [--time-limit 60] [--seed S]

Each shape ``KxCxN`` is :func:`parallel.many_key_history`'s history (``bench/parallel.py``): ``K``
keys, ``C`` clients a key, ``N`` operations a client, every APPEND writing a value of its own.  It
is checked with :func:`redlin.check` (one process) twice: read by ``GET k``, which the string fast
path takes (:mod:`redlin.adapter.strings`: the reads name the order of the appends), and read by
``GETRANGE k 0 -1``, the same whole string (the same intervals, the same states) through a command
the fast path does not take, so each key is searched.  Then both again with one stale read (a
violation).  Prints the CPU seconds, the verdicts and the configurations each explored (a search
that runs past ``--time-limit`` says unknown).
"""

from __future__ import annotations

import argparse
import time

from parallel import many_key_history  # bench/parallel.py, beside this script

from redlin import check, redis_model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shapes", default="8x12x40,1x16x40,32x12x40",
                        help="keys x clients a key x operations a client, comma-separated")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per check")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{'shape':>10} {'ops':>7} {'stale':>5} {'GET s':>8} {'verdict':12} {'configs':>8} "
          f"{'GETRANGE s':>10} {'verdict':12} {'configs':>8} {'ratio':>7}")
    for shape in args.shapes.split(","):
        keys, clients, ops = (int(number) for number in shape.split("x"))
        for stale in (False, True):
            figures = []
            for whole_get in (True, False):
                history = many_key_history(keys, clients, ops, seed=args.seed, stale=stale, whole_get=whole_get)
                started = time.process_time()
                result = check(history, redis_model(), time_limit=args.time_limit)
                figures.append((time.process_time() - started, result.verdict, result.states_explored, len(history)))
            (fast, fast_verdict, fast_configs, size), (searched, verdict, configs, _) = figures
            print(f"{shape:>10} {size:7,} {'yes' if stale else 'no':>5} {fast:8.3f} {fast_verdict:12} {fast_configs:8,} "
                  f"{searched:10.3f} {verdict:12} {configs:8,} {searched / fast:6.1f}x", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
