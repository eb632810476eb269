"""Operations a second, side by side against one redis-server: redis-benchmark, ``redlin run``, the pressure engine (issue #19).

Usage::

    python bench/pressure.py [--duration S] [--clients 8,64,1000] [--pipeline N] [--requests N]
                             [--other-loop asyncio|uvloop|none] [--other-niceness N] [--other-workload W|none]
                             [--dask tcp://HOST:PORT | --dask local:N] [--dask-clients 8,64]
                             [--host HOST]

Starts a private ``redis-server`` (the distribution's, on a free loopback port) and measures, one
after the other against it:

- ``redis-benchmark -t set,get -c 8 -n N`` (when installed): its requests a second, the mean of SET
  and GET -- what the server can serve to 8 clients from a C client;
- the programs engine, ``redlin run --workload register --clients 8 --duration S``
  (:func:`redlin.run`): operations recorded and checked, over its whole wall time;
- the pressure engine (``redlin run --engine async``, :func:`redlin.harness.pressure.record_pressure`)
  at each of ``--clients``: operations recorded a second, and recorded *and checked* a second (over
  the time from the start until the last epoch was checked, the checks running beside the recording),
  its verdict; with ``--pipeline N`` one more row at 8 clients, N commands written at once.  Its
  rows run on the default event loop (uvloop where installed); ``--other-loop`` adds a row at 8
  clients on another (asyncio's own, by default), for the loop's share of the rate side by side.
  The engine's workers run at a niceness of 19 (the checker first); ``--other-niceness N`` adds a
  row at 8 clients whose workers run at N (0 by default: as the checker; -1: no row).  Its rows
  write registers (``--workload register``); ``--other-workload`` adds a row at each of
  ``--clients`` with another workload (``mixed`` by default, what ``redlin run --engine async`` runs
  given none: counters, transactions, scripts and check-and-sets beside the registers).

With ``--dask`` (the ``dask`` extra), rows of the pressure engine on a Dask cluster as well
(``redlin run --engine async --dask``, :func:`redlin.harness.pressure_dask.record_pressure_dask`),
at each of ``--dask-clients``: the clients spread over the cluster's workers, which record on
their own clocks; each row also shows how much the workers' intervals were widened (the median
and largest clock uncertainty, :mod:`redlin.harness.clocks`): what several machines cost in
precision.  ``local:N`` starts a cluster of N worker processes on this machine; a scheduler's
address runs on a real cluster, whose workers must reach the server: give ``--host`` an address
of this machine they can reach (the private server then listens on every interface, with
protected mode off, for the bench's length; use it on a trusted network).

For each row: the CPU seconds of redlin (this process, and the engine's worker and checker
processes) and of the server (psutil if installed, else ``/proc/<pid>/stat``).  The goals of the
issue, on a 2-core machine: the pressure engine at 8 clients at least a quarter of
redis-benchmark's rate, and 1,000 clients recorded without an UNKNOWN verdict.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from detect import start_redis  # bench/detect.py: a private redis-server on a free port
from machine import Steal  # bench/machine.py: the hypervisor's share of the CPU time

import redlin
from redlin.cli.check import dask_address
from redlin.errors import UsageError
from redlin.harness.pressure import WORKER_NICENESS, PressureWorkload, record_pressure
from redlin.harness.pressure_dask import record_pressure_dask
from redlin.harness.pressure_workloads import WORKLOADS
from redlin.harness.target import Target

try:
    import psutil
except ImportError:  # pragma: no cover - /proc is read instead
    psutil = None

try:
    import distributed
except ImportError:  # pragma: no cover - the dask extra is not installed: no --dask rows
    distributed = None


@dataclass(frozen=True)
class Row:
    """One measurement."""

    name: str
    rate: float
    recorded_rate: float | None
    redlin_cpu: float | None
    server_cpu: float
    verdict: str
    operations: int
    note: str = ""
    """Printed under the table (the Dask rows' clock widening)."""
    steal: float | None = None
    """Percent of CPU time the hypervisor gave other guests during the row (``None``: not known)."""


def server_cpu(pid: int) -> float:
    """CPU seconds (user and system) process ``pid`` has used."""
    if psutil is not None:
        times = psutil.Process(pid).cpu_times()
        return float(times.user + times.system)
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def measured(pid: int, action: Callable[[], Row]) -> Row:
    """``action``'s row with the server's CPU seconds and the steal during it."""
    before = server_cpu(pid)
    with Steal() as steal:
        row = action()
    return replace(row, server_cpu=server_cpu(pid) - before, steal=steal.percent)


def benchmark_row(port: int, requests: int) -> Row | None:
    binary = shutil.which("redis-benchmark")
    if binary is None:
        return None
    done = subprocess.run([binary, "-p", str(port), "-t", "set,get", "-c", "8", "-n", str(requests), "--csv"],
                          capture_output=True, text=True, check=True)
    rates = [float(line.split(",")[1].strip('"')) for line in done.stdout.splitlines()
             if line.startswith(('"SET"', '"GET"'))]
    return Row("redis-benchmark -t set,get -c 8", sum(rates) / len(rates), None, None, 0.0, "-", 2 * requests)


def programs_row(port: int, duration: float, out: Path) -> Row:
    before, started = own_cpu(), time.monotonic()
    outcome = redlin.run(f"redis://127.0.0.1:{port}/0", workload="register", clients=8, duration=duration,
                         out=out, database=None)
    elapsed = time.monotonic() - started
    operations = outcome.stats.operations
    return Row("redlin run --workload register --clients 8", operations / elapsed, None, own_cpu() - before, 0.0,
               outcome.verdict, operations)


def pressure_row(port: int, clients: int, duration: float, out: Path, pipeline: int = 1, loop: str = "auto",
                 niceness: int = WORKER_NICENESS, workload: str = "register") -> Row:
    before = own_cpu()
    path = out / f"pressure-{clients}-{pipeline}-{loop}-{niceness}-{workload}.jsonl"
    recording = record_pressure(Target("127.0.0.1", port), path,
                                PressureWorkload(clients=clients, duration=duration, pipeline=pipeline, loop=loop,
                                                 workload=workload),
                                f"redlin:bench-{clients}-{pipeline}-{loop}-{niceness}-{workload}:".encode(),
                                niceness=niceness)
    name = (f"--engine async --clients {clients}" + (f" --pipeline {pipeline}" if pipeline > 1 else "")
            + (f" --workload {workload}" if workload != "register" else "")
            + f" ({'/'.join(recording.loops)}, nice {'/'.join(map(str, recording.niceness))})")
    return Row(name, recording.operations / recording.checked_after, recording.rate,
               own_cpu() - before + recording.cpu, 0.0, recording.verdict, recording.operations)


def dask_row(host: str, port: int, address: str, clients: int, duration: float, out: Path) -> Row:
    """The pressure engine's row on the Dask cluster at ``address``, with the widening of its workers."""
    path = out / f"dask-{clients}.jsonl"
    remote = record_pressure_dask(Target(host, port), path, PressureWorkload(clients=clients, duration=duration),
                                  f"redlin:bench-dask-{clients}:".encode(), address=address)
    recording = remote.recording
    widths = [worker.clocks.uncertainty / 1e3 for worker in remote.workers]
    name = f"--engine async --clients {clients} --dask ({len(widths)} workers)"
    note = (f"{name}: each interval widened by its worker's clock uncertainty, median "
            f"{statistics.median(widths):,.0f} us, largest {max(widths):,.0f} us")
    return Row(name, recording.operations / recording.checked_after if recording.checked_after else 0.0,
               recording.rate, None, 0.0, recording.verdict, recording.operations, note)


def dask_spec(text: str) -> str:
    """``--dask``: ``local:N`` (N worker processes here) or a scheduler's address."""
    if text.startswith("local:"):
        count = text.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise argparse.ArgumentTypeError(f"local:N needs a number of workers of at least 1: {text!r}")
        return text
    return dask_address(text)


@contextmanager
def dask_cluster(spec: str | None) -> Iterator[str | None]:
    """The scheduler address of ``--dask``: as given, or a local cluster of N processes (``local:N``)
    for the bench's length."""
    if spec is None or not spec.startswith("local:"):
        yield spec
        return
    if distributed is None:
        raise SystemExit("--dask needs the dask extra: pip install 'redlin[dask]'")
    with distributed.LocalCluster(processes=True, n_workers=int(spec.split(":", 1)[1]), threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        yield str(cluster.scheduler_address)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of each redlin row (default 10)")
    parser.add_argument("--clients", default="8,64,1000", help="the pressure engine's client counts")
    parser.add_argument("--pipeline", type=int, default=8, help="one more row at 8 clients with this pipeline (1: none)")
    parser.add_argument("--requests", type=int, default=400_000, help="redis-benchmark's -n (default 400000)")
    parser.add_argument("--other-loop", choices=("asyncio", "uvloop", "none"), default="asyncio",
                        help="one more row at 8 clients on this event loop (default asyncio; none: no row)")
    parser.add_argument("--other-niceness", type=int, default=0, choices=range(-1, 20), metavar="N",
                        help="one more row at 8 clients with the workers at this niceness (default 0; -1: no row)")
    parser.add_argument("--other-workload", choices=(*(name for name in WORKLOADS if name != "register"), "none"),
                        default="mixed", help="rows at each of --clients with this workload (none: no rows)")
    parser.add_argument("--dask", type=dask_spec, metavar="tcp://HOST:PORT|local:N",
                        help="rows on this Dask cluster as well")
    parser.add_argument("--dask-clients", default="8,64", help="the Dask rows' client counts")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address the Dask workers reach the server at (not loopback: it listens on all)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="redlin-pressure-") as directory, dask_cluster(args.dask) as address:
        server, port = start_redis(directory, exposed=args.host != "127.0.0.1")
        try:
            rows: list[Row] = []
            found = measured(server.pid, lambda: benchmark_row(port, args.requests) or Row("-", 0, None, None, 0, "-", 0))
            if found.name != "-":
                rows.append(found)
            rows.append(measured(server.pid, lambda: programs_row(port, args.duration, Path(directory) / "programs")))
            for clients in (int(text) for text in args.clients.split(",") if text):
                rows.append(measured(server.pid, lambda c=clients: pressure_row(port, c, args.duration, Path(directory))))
            if args.other_workload != "none":
                for clients in (int(text) for text in args.clients.split(",") if text):
                    rows.append(measured(server.pid, lambda c=clients: pressure_row(
                        port, c, args.duration, Path(directory), workload=args.other_workload)))
            if args.pipeline > 1:
                rows.append(measured(server.pid, lambda: pressure_row(port, 8, args.duration, Path(directory),
                                                                      args.pipeline)))
            if args.other_loop != "none":
                rows.append(measured(server.pid, lambda: pressure_row(port, 8, args.duration, Path(directory),
                                                                      loop=args.other_loop)))
            if args.other_niceness >= 0:
                rows.append(measured(server.pid, lambda: pressure_row(port, 8, args.duration, Path(directory),
                                                                      niceness=args.other_niceness)))
            if address is not None:
                scheduler: str = address
                for clients in (int(text) for text in args.dask_clients.split(",") if text):
                    try:
                        rows.append(measured(server.pid, lambda c=clients: dask_row(args.host, port, scheduler, c,
                                                                                     args.duration, Path(directory))))
                    except UsageError as error:  # Dask missing, the scheduler unreachable: one line, exit 3
                        print(f"bench/pressure.py: {error}", file=sys.stderr)
                        raise SystemExit(3) from None
        finally:
            server.kill()
            server.wait()
    reference = rows[0].rate if rows[0].name.startswith("redis-benchmark") else None
    print(f"{'':60} {'checked/s':>10} {'recorded/s':>10} {'share':>6} {'ops':>9} {'redlin cpu':>10} "
          f"{'server cpu':>10} {'steal':>6}  verdict")
    for row in rows:
        share = f"{row.rate / reference:6.1%}" if reference else "     -"
        recorded = f"{row.recorded_rate:10,.0f}" if row.recorded_rate is not None else f"{'-':>10}"
        cpu = f"{row.redlin_cpu:9.1f}s" if row.redlin_cpu is not None else f"{'-':>10}"
        steal = f"{row.steal:5.1f}%" if row.steal is not None else "     -"
        print(f"{row.name:60} {row.rate:10,.0f} {recorded} {share} {row.operations:9,} {cpu} {row.server_cpu:9.1f}s"
              f" {steal}  {row.verdict}")
    for row in rows:
        if row.note:
            print(row.note)
    print(f"({os.cpu_count()} CPUs; redis-benchmark's figure is requests/s, redlin's operations recorded and "
          "checked per second of wall time; steal: CPU time the hypervisor gave other guests during the row)")


if __name__ == "__main__":
    main()
