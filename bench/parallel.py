"""Check time of ``--jobs 1`` against ``--jobs N`` on a many-key Redis history (issue #15).

Usage::

    python bench/parallel.py [--keys K] [--clients C] [--ops N] [--jobs N] [--repeat R] [--seed S]

Draws a linearizable history of APPEND and GETRANGE on ``K`` keys, ``C`` concurrent clients per key,
``N`` operations each (:func:`many_key_history`), checks it with :func:`redlin.check` (``--jobs
1``) and with :func:`redlin.search.parallel.check_parallel` (``--jobs N``) in ``--repeat`` pairs of
runs, one of each side per pair (alternated, so that a host that speeds up or slows down weighs on
both alike), and prints the best wall time of each side, the speed-up best against best and pair by
pair, and the verdicts.  The goal of the issue: ``--jobs 2`` at least 1.7 times faster than
``--jobs 1`` on two idle cores.  Beside it, the machine's own speed-up for ``N`` independent
pure-Python processes, measured in the same run (:func:`machine_ceiling`): on a 2-vCPU guest it
moves between about 1.4x and 2x from one minute to the next, and no checker beats it.

Also ``--break-even``: the time of ``--jobs 1``, of ``--jobs N`` always starting a pool, and of
``--jobs N`` as it is (in this process when the check ends within
:data:`redlin.search.parallel.PROBE_SECONDS`) on histories of growing size.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import statistics
import time
from collections.abc import Callable

from machine import Steal  # bench/machine.py: the hypervisor's share of the CPU time

from redlin import History, Operation, Result, check, redis_model
from redlin.search import parallel
from redlin.search.parallel import check_parallel


def many_key_history(keys: int, clients: int, ops: int, *, seed: int = 0, stale: bool = False,
                     whole_get: bool = False) -> History:
    """A Redis history of APPEND and whole-string reads, linearizable by construction (each
    operation takes effect at a random point of its interval), over ``keys`` keys with ``clients``
    clients each.  Long, overlapping intervals make each key's search hard.  ``stale``: one read of
    the last key returns an older value than it could have (a violation).

    The reads are ``GETRANGE k 0 -1``, which the string fast path does not take, so that this is a
    history of searches (what this bench measures).  ``whole_get``: ``GET k`` instead, with which
    the fast path decides every key without a search, since each APPEND writes a value of its own
    (:mod:`redlin.adapter.strings`).

    >>> history = many_key_history(2, 2, 3)
    >>> len(history), sorted({op.call[0][1] for op in history}), history[2].call
    (12, [b'k0', b'k1'], ((b'GETRANGE', b'k0', b'0', b'-1'),))
    """
    read = (lambda key: (b"GET", key)) if whole_get else (lambda key: (b"GETRANGE", key, b"0", b"-1"))
    rng = random.Random(seed)
    steps = []  # (effect point, invoke, complete, client, command)
    for client in range(keys * clients):
        key = f"k{client % keys}".encode()
        at = rng.randrange(100)
        for n in range(ops):
            span = rng.randrange(50, 300)
            command: tuple[bytes, ...] = (
                read(key) if rng.random() < 0.4 else (b"APPEND", key, f"{client}.{n} ".encode()))
            steps.append((at + rng.randrange(span), at, at + span, client, command))
            at += span + rng.randrange(1, 5)
    steps.sort()
    values: dict[bytes, bytes] = {}
    done = []
    for _, invoke, complete, client, command in steps:
        key = command[1]
        if command[0] == b"APPEND":
            values[key] = values.get(key, b"") + command[2]
            reply: object = len(values[key])
        else:
            reply = values.get(key, None if whole_get else b"")
        done.append((invoke, complete, client, command, reply))
    done.sort()
    if stale:
        last = f"k{keys - 1}".encode()
        reads = [i for i, (_, _, _, command, reply) in enumerate(done) if command == read(last) and reply]
        invoke, complete, client, command, reply = done[reads[-1]]
        assert isinstance(reply, bytes)
        done[reads[-1]] = (invoke, complete, client, command, reply[: reply.index(b" ") + 1])  # the first append only
    return History(tuple(Operation(i, client, (command,), (reply,), invoke, complete)
                         for i, (invoke, complete, client, command, reply) in enumerate(done)))


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the pool's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(run: Callable[[], Result], steal: Steal) -> tuple[float, float, Result]:
    """One run: (wall seconds, CPU seconds of this process and its children, result)."""
    started, cpu = time.perf_counter(), _cpu()
    with steal:
        result = run()
    return time.perf_counter() - started, _cpu() - cpu, result


def compare(history: History, jobs: int, repeat: int) -> tuple[tuple[float, float], tuple[float, float], str, str,
                                                             tuple[float | None, float | None], list[float]]:
    """(wall, CPU) seconds of the best run with --jobs 1 and with --jobs ``jobs``, the two
    verdicts, the steal of each side, and each pair's speed-up.  The runs alternate (one of each
    per pair, the first side swapping every pair), so a machine that speeds up or slows down during
    the bench (a shared host does) weighs on both sides alike."""
    model = redis_model()
    sides: list[Callable[[], Result]] = [lambda: check(history, model, time_limit=600),
                                         lambda: check_parallel(history, model, jobs=jobs, time_limit=600)]
    steals = (Steal(), Steal())
    runs: tuple[list[tuple[float, float, Result]], list[tuple[float, float, Result]]] = ([], [])
    for pair in range(repeat):
        for side in ((0, 1) if pair % 2 == 0 else (1, 0)):
            runs[side].append(_timed(sides[side], steals[side]))
    (one, one_cpu, first), (many, many_cpu, second) = (min(side, key=lambda run: run[0]) for side in runs)
    ratios = [single[0] / shared[0] for single, shared in zip(*runs)]
    return ((one, one_cpu), (many, many_cpu), first.verdict, second.verdict,
            (steals[0].percent, steals[1].percent), ratios)


def _spin(seconds: float) -> int:
    """Pure-Python work on a small dict for about ``seconds`` (the same every call: a fixed count
    measured once by :func:`machine_ceiling`)."""
    table: dict[int, int] = {}
    count = int(seconds * 6_000_000)
    for i in range(count):
        table[i & 1023] = table.get(i & 1023, 0) + i
    return len(table)


def machine_ceiling(seconds: float, jobs: int, repeat: int) -> float:
    """The machine's own speed-up for ``jobs`` independent CPU-bound processes: one process doing
    ``jobs`` pieces of pure-Python work one after another, against ``jobs`` processes doing one piece
    each at once (best of ``repeat`` alternated pairs each).  What no checker can beat here: on a
    virtual machine two vCPUs may share a physical core, or the host's other guests their caches.

    >>> 0 < machine_ceiling(0.01, 2, 1) < 4
    True
    """
    context = multiprocessing.get_context("fork")
    alone, together = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        worker = context.Process(target=_spin_pieces, args=(seconds, jobs))
        worker.start()
        worker.join()
        alone.append(time.perf_counter() - started)
        started = time.perf_counter()
        workers = [context.Process(target=_spin_pieces, args=(seconds, 1)) for _ in range(jobs)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        together.append(time.perf_counter() - started)
    return min(alone) / min(together)


def _spin_pieces(seconds: float, pieces: int) -> None:
    for _ in range(pieces):
        _spin(seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=8, help="keys (independent parts)")
    parser.add_argument("--clients", type=int, default=12, help="concurrent clients per key")
    parser.add_argument("--ops", type=int, default=40, help="operations per client")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes to compare with one")
    parser.add_argument("--repeat", type=int, default=3, help="pairs of runs (one of each side), the best kept")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--break-even", action="store_true", help="time both on growing histories")
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
    if args.break_even:
        probe = parallel.PROBE_SECONDS
        for keys, clients in ((2, 4), (4, 4), (8, 4), (8, 6), (8, 8), (8, 10), (8, 12)):
            history = many_key_history(keys, clients, 20, seed=args.seed)
            parallel.PROBE_SECONDS = 0
            (one, _), (pool, _), _, _, _, _ = compare(history, args.jobs, args.repeat)
            parallel.PROBE_SECONDS = probe
            (_, _), (many, _), _, _, _, _ = compare(history, args.jobs, args.repeat)
            print(f"{len(history):6,} operations: --jobs 1 {one * 1000:7.1f} ms; --jobs {args.jobs}: always a pool "
                  f"{pool * 1000:7.1f} ms, as it is {many * 1000:7.1f} ms")
        return 0
    history = many_key_history(args.keys, args.clients, args.ops, seed=args.seed)
    (one, one_cpu), (many, many_cpu), first, second, steal, ratios = compare(history, args.jobs, args.repeat)
    print(f"{len(history):,} operations on {args.keys} keys, {args.clients} clients per key")
    print(f"--jobs 1: {one:.3f} s ({one_cpu:.3f} CPU s, {first}); --jobs {args.jobs}: {many:.3f} s "
          f"({many_cpu:.3f} CPU s in all processes, {second}); speed-up {one / many:.2f}x (best against best)")
    print(f"each pair, run one after the other: {' '.join(f'{ratio:.2f}x' for ratio in ratios)} "
          f"(median {statistics.median(ratios):.2f}x)")
    ceiling = machine_ceiling(one / args.jobs, args.jobs, args.repeat)
    print(f"this machine's own speed-up for {args.jobs} independent pure-Python processes, measured now: "
          f"{ceiling:.2f}x (what {args.jobs} processes can give at most)")
    print(f"load average now {os.getloadavg()[0]:.2f}: the speed-up needs {args.jobs} idle cores; "
          f"--jobs 1 ran under {Steal.describe(steal[0])}, --jobs {args.jobs} under {Steal.describe(steal[1])} "
          "(time the hypervisor gave other guests)")
    return 0 if first == second else 1


if __name__ == "__main__":
    raise SystemExit(main())
