"""What Hypothesis's scan for "local constants" costs a program search, and what own_draws saves.

Usage::

    python bench/draws.py [--programs 30] [--family default] [--clients 8] [--steps 25]

Draws ``--programs`` programs of one family with a fixed seed, each time in a fresh interpreter
that has imported what ``redlin run`` imports, three ways: letting Hypothesis scan the local
modules with an empty cache (a first run in a new working directory), scanning again with the
cache that run left, and inside :func:`redlin.harness.own_draws.own_draws` (what ``redlin run``
does).  Prints the seconds each took to draw and a digest of what it drew: in an editable install
(redlin's modules are local) the first two digests differ from the third, in a wheel install they
are all the same.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from redlin.cli.args import positive_int
from redlin.harness.workloads import FAMILIES

_DRAW = """
import contextlib, hashlib, sys, time
from hypothesis import HealthCheck, Phase, given, seed, settings
import redlin.cli, redlin.harness.runner  # what redlin run has imported before it draws
from redlin.harness.own_draws import own_draws
from redlin.harness.workloads import FAMILIES, programs

mode, family, count, clients, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
drawn = []

@seed(1)
@settings(max_examples=count, database=None, phases=[Phase.generate], deadline=None,
          suppress_health_check=list(HealthCheck))
@given(programs(FAMILIES[family], clients=clients, steps=steps))
def draw(program):
    drawn.append(repr(program))

started = time.perf_counter()
with own_draws() if mode == "own" else contextlib.nullcontext():
    draw()
print(f"{time.perf_counter() - started:.2f} {hashlib.sha1(''.join(drawn).encode()).hexdigest()[:12]} {len(drawn)}")
"""

MODES = (("scan", "Hypothesis scans local modules, empty cache"), ("scan", "Hypothesis scans again, cache kept"),
         ("own", "own_draws (redlin run)"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=positive_int, default=30, help="programs drawn (default 30)")
    parser.add_argument("--family", choices=sorted(FAMILIES), default="default")
    parser.add_argument("--clients", type=positive_int, default=8)
    parser.add_argument("--steps", type=positive_int, default=25)
    args = parser.parse_args(argv)
    print(f"{args.programs} programs of {args.family}, {args.clients} clients x {args.steps} steps, seed 1")
    with tempfile.TemporaryDirectory(prefix="redlin-draws-") as directory:
        env = {**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(Path(directory) / "hypothesis")}
        for mode, label in MODES:
            done = subprocess.run([sys.executable, "-c", _DRAW, mode, args.family, str(args.programs),
                                   str(args.clients), str(args.steps)], cwd=directory, env=env,
                                  capture_output=True, text=True, check=False)
            if done.returncode:
                print(f"bench/draws.py: drawing failed ({label}): {done.stderr.strip().splitlines()[-1:]}",
                      file=sys.stderr)
                return 4
            seconds, digest, drawn = done.stdout.split()
            print(f"{label:46} {float(seconds):6.2f} s  digest {digest}  ({drawn} drawn)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
