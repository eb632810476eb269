"""``redlin check`` on a history ``redlin run`` recorded: time and memory of the whole command (issue #15).

Usage::

    python bench/recorded.py [--ops 1000000] [--clients 8] [--workload mixed] [--jobs 1,2] [--keep DIR]
                             [--history PATH] [--repeat N] [--plant]

Starts a private ``redis-server`` (the distribution's) on a free loopback port, records ``--ops``
operations with ``redlin run --engine async --workload mixed`` (each key a register, a counter, a
MULTI block of two INCR or a guarded script of two INCR), then runs ``redlin check`` on the history
once for each ``--jobs`` value, as a user would: a process of its own, the default time limit
(60 s for the whole command: reading, checking and the report).  Printed per check: the verdict,
the wall time of the command, and the peak memory of its process tree -- the sum of the
processes' proportional set sizes (PSS: a page the check's worker processes share with it is
counted once), sampled every 0.2 s from ``/proc`` -- beside the sum of their resident sets.
The issue's goal: a million-operation ``redlin run`` history checked in at most 60 s and 2 GiB.

With ``--plant``, a copy of the history with one bug planted is checked as well (its verdict must
be a violation, in the same time and memory): the middle operation whose reply is a number sent as
a string (a GET of a counter) replies ``999999999``, a count no INCR made (:func:`plant`).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from detect import start_redis  # bench/detect.py: a private redis-server on a free port

GOAL_SECONDS = 60.0
GOAL_MIB = 2048.0


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants, as ``/proc`` lists them now."""
    found = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in children:
        found += tree(int(child))
    return found


def memory(pids: list[int]) -> tuple[int, int]:
    """The summed PSS and RSS of ``pids``, in KiB (a process gone meanwhile counts 0)."""
    pss = rss = 0
    for pid in pids:
        try:
            lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("Pss:"):
                pss += int(line.split()[1])
            elif line.startswith("Rss:"):
                rss += int(line.split()[1])
    return pss, rss


def measured(command: list[str]) -> tuple[int, float, float, float]:
    """Run ``command``: its exit code, wall seconds, peak PSS and peak summed RSS (MiB) of its tree."""
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_pss = peak_rss = 0
    while process.poll() is None:
        pss, rss = memory(tree(process.pid))
        peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
        time.sleep(0.2)
    return process.returncode, time.monotonic() - started, peak_pss / 1024, peak_rss / 1024


VERDICTS = {0: "linearizable", 1: "violation", 2: "unknown"}


def record(redlin: list[str], out: Path, ops: int, workload: str, clients: int, scratch: str) -> Path:
    """Record ``ops`` operations with the pressure engine against a private redis-server; the history."""
    server, port = start_redis(scratch)
    try:
        started = time.monotonic()
        subprocess.run([*redlin, "run", "--target", f"redis://127.0.0.1:{port}/0", "--engine", "async",
                        "--workload", workload, "--ops", str(ops), "--clients", str(clients),
                        "--out", str(out), "--progress", "none"], check=False, stdout=subprocess.DEVNULL)
        print(f"recorded {ops:,} operations ({workload}, {clients} clients) in {time.monotonic() - started:.1f} s")
    finally:
        server.kill()
        server.wait()
    return out / "history.jsonl"


PLANTED = b'"result":["999999999"]'


def plant(history: Path, out: Path) -> int:
    """Copy ``history`` to ``out`` with the middle reply of a number as a string changed to
    :data:`PLANTED` (no INCR counts that far); the line changed (1-based).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> lines = [b'{"event":"ok","op":%d,"time":%d,"result":["%d"]}' % (n, n, n) for n in range(5)]
    >>> _ = (folder / "h.jsonl").write_bytes(b"\\n".join(lines) + b"\\n")
    >>> plant(folder / "h.jsonl", folder / "p.jsonl"), (folder / "p.jsonl").read_bytes().splitlines()[2]
    (3, b'{"event":"ok","op":2,"time":2,"result":["999999999"]}')
    """
    number = re.compile(rb'"result":\["[0-9]+"\]')
    with history.open("rb") as lines:
        candidates = [index for index, line in enumerate(lines) if line.startswith(b'{"event":"ok"') and number.search(line)]
    if not candidates:
        raise SystemExit(f"{history}: no reply of a number as a string to plant a bug in")
    chosen = candidates[len(candidates) // 2]
    with history.open("rb") as lines, out.open("wb") as copy:
        for index, line in enumerate(lines):
            copy.write(number.sub(PLANTED, line) if index == chosen else line)
    return chosen + 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workload", default="mixed", help="a workload of the pressure engine (default mixed)")
    parser.add_argument("--jobs", default="1,2", help="the --jobs values to check with, comma-separated")
    parser.add_argument("--keep", type=Path, default=None, help="record into this folder and keep it")
    parser.add_argument("--history", type=Path, default=None,
                        help="check this history (a redlin run's history.jsonl) instead of recording one")
    parser.add_argument("--repeat", type=int, default=1, help="check each way this many times")
    parser.add_argument("--plant", action="store_true",
                        help="also check a copy with one bug planted (a counter's GET of a count nobody made)")
    args = parser.parse_args(argv)
    if args.history is not None and not args.history.is_file():
        parser.error(f"--history {args.history}: no such file")
    try:
        jobs = [int(value) for value in args.jobs.split(",")]
    except ValueError:
        parser.error(f"--jobs {args.jobs!r}: comma-separated numbers, such as 1,2")
    redlin = [sys.executable, "-m", "redlin"]
    with tempfile.TemporaryDirectory(prefix="redlin-recorded-") as scratch:
        out = args.keep or Path(scratch) / "run"
        history = args.history or record(redlin, out, args.ops, args.workload, args.clients, scratch)
        print(f"{history}: {history.stat().st_size / 2**20:,.0f} MiB")
        checks = [(history, 0, "")]
        if args.plant:
            planted = Path(scratch) / "planted.jsonl"
            line = plant(history, planted)
            checks.append((planted, 1, f" (planted, line {line:,})"))
        met = True
        for count in [count for _ in range(args.repeat) for count in jobs]:
            for path, expected, what in checks:
                code, seconds, pss, rss = measured([*redlin, "check", str(path), "--jobs", str(count),
                                                    "--out", str(Path(scratch) / f"check-jobs{count}")])
                ok = code == expected and seconds <= GOAL_SECONDS and pss <= GOAL_MIB
                met = met and ok
                print(f"redlin check --jobs {count}{what}: {VERDICTS.get(code, f'exit {code}')} in {seconds:.1f} s, "
                      f"peak PSS {pss:,.0f} MiB (summed RSS {rss:,.0f} MiB) -- goal <= {GOAL_SECONDS:.0f} s and "
                      f"<= {GOAL_MIB:,.0f} MiB: {'met' if ok else 'NOT met'}", flush=True)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
