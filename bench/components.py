"""How reliably and how fast the pytest plugin's search catches the broken examples (issue #17).

Usage::

    python bench/components.py [--trials 10] [--max-examples 200] [--clients 3] [--steps 3]
                               [--target embedded|redis ...]

For each target (redlin's embedded model server; a private ``redis-server`` started here on a free
loopback port, the distribution's), each broken variant of ``examples/`` is searched ``--trials``
times with :func:`redlin.testing.check_component` (a fresh search each time, no example database),
and each correct component once.  Printed per variant: how many trials caught it, the median and
slowest time to the shrunk counterexample, and the sizes of the minimal cores.  Goals (the issue's
proof): every broken variant caught, within 10 s, with a core of at most 6 calls; every correct
component passes.
"""

from __future__ import annotations

import argparse
import runpy
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from detect import start_redis  # bench/detect.py: a private redis-server on a free port

from redlin.serve.server import start_in_thread
from redlin.testing import Component, ConcurrencyViolation, check_component

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CORRECT = {"lock.py": ["lock"], "rate_limiter.py": ["rate_limiter"], "stock.py": ["stock"],
           "reliable_queue.py": ["reliable_queue"]}
BROKEN = {"lock.py": ["racy_lock", "careless_lock"], "rate_limiter.py": ["racy_rate_limiter"],
          "stock.py": ["racy_stock"], "reliable_queue.py": ["racy_reliable_queue"]}


def _components(table: dict[str, list[str]]) -> list[Component]:
    found = []
    for module, names in table.items():
        namespace = runpy.run_path(str(EXAMPLES / module))  # the examples are plain files, not a package
        found.extend(namespace[name] for name in names)
    return found


@contextmanager
def _target(name: str) -> Iterator[str]:
    if name == "embedded":
        with start_in_thread() as server:
            yield server.url
        return
    with tempfile.TemporaryDirectory() as directory:
        process, port = start_redis(directory)
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.kill()
            process.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10, help="searches per broken variant and target")
    parser.add_argument("--max-examples", type=int, default=200, help="Hypothesis examples per search")
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--target", choices=["embedded", "redis"], action="append",
                        help="targets (default both)")
    args = parser.parse_args(argv)
    correct, broken = _components(CORRECT), _components(BROKEN)
    missed = 0
    for target in args.target or ["embedded", "redis"]:
        with _target(target) as url:
            print(f"{target} ({url})")
            for component in correct:
                start = time.monotonic()
                check_component(component, url, clients=args.clients, steps=args.steps, max_examples=30)
                print(f"  {component.name:22} passes ({time.monotonic() - start:.1f} s, 30 programs)")
            for component in broken:
                times, cores = [], []
                for _ in range(args.trials):
                    start = time.monotonic()
                    try:
                        check_component(component, url, clients=args.clients, steps=args.steps,
                                        max_examples=args.max_examples)
                    except ConcurrencyViolation as found:
                        times.append(time.monotonic() - start)
                        cores.append(len(found.verdict.core))
                missed += args.trials - len(times)
                shown = (f"median {statistics.median(times):.1f} s, slowest {max(times):.1f} s, "
                         f"cores {min(cores)}-{max(cores)} calls") if times else "never"
                print(f"  {component.name:22} caught {len(times)}/{args.trials}: {shown}")
    print("goal: every broken variant caught in every trial, within 10 s, cores of at most 6 calls"
          f" -- {'missed ' + str(missed) if missed else 'all caught'}")
    return 0 if not missed else 1


if __name__ == "__main__":
    raise SystemExit(main())
