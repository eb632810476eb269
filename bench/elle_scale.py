"""How the transactional (Elle-style) checker scales: list-append histories of 10k to 1M transactions.

Usage::

    python bench/elle_scale.py [--sizes 10k,100k] [--clients 10] [--keys 5] [--seed N] [--profile]

Each history comes from a simulated store that is concurrent but strictly serializable: 10
clients (``--clients``) run transactions of 3 to 5 micro-operations (appends of unique elements
and reads of whole lists) over a few hot keys (``--keys`` at a time; each key is retired after 100
appends and a fresh one takes its place, as Elle's generator does, so that reads stay short).
Clients are interleaved at random and each transaction takes effect atomically when it completes
(a moment inside its interval, so the history is strictly serializable); 1% of them fail (no
effect) and 1% end unknown (``info``, half of which took effect).  The checker must find it valid.

Each size is generated and checked in a fresh process, so its peak memory is its own: max RSS once
the history is generated (``history MiB``) and at the end of the check (``max RSS MiB``).  The rate
is transactions checked per CPU second of ``check_transactions`` (graph with real-time and process
order, all six models; CPU time, as the machine may be shared), its wall time shown beside.
``--profile`` prints the top of a cProfile of the check of the first size instead.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import resource
import subprocess
import sys
import time
from typing import Any

from redlin.cycles import MODELS, Transaction, TransactionHistory, append, check_transactions, read

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
APPENDS_PER_KEY = 100


def generate(size: int, clients: int, keys: int, seed: int) -> TransactionHistory:
    """A strictly serializable list-append history of ``size`` transactions (see the module)."""
    rng = random.Random(seed)
    lists: dict[str, list[int]] = {}
    hot = [f"k{i}" for i in range(keys)]
    made_keys = keys
    appended: dict[str, int] = dict.fromkeys(hot, 0)
    next_element = 0
    in_flight: dict[int, tuple[int, list[tuple[str, str, Any]], str]] = {}  # client -> (index, mops, fate)
    drafts: list[list[Any]] = []  # [process, mops, outcome, invoke, complete]
    process_of = list(range(clients))
    clock = 0
    while len(drafts) < size or in_flight:
        clock += 1
        client = rng.randrange(clients)
        if client not in in_flight:
            if len(drafts) >= size:
                continue
            plan = []
            for _ in range(rng.randint(3, 5)):
                key = rng.choice(hot)
                if rng.random() < 0.5:
                    plan.append(("append", key, next_element))
                    next_element += 1
                    appended[key] += 1
                    if appended[key] >= APPENDS_PER_KEY:  # retire the key: reads stay short
                        fresh = f"k{made_keys}"
                        made_keys += 1
                        hot[hot.index(key)] = fresh
                        appended[fresh] = 0
                else:
                    plan.append(("r", key, None))
            roll = rng.random()
            fate = "fail" if roll < 0.01 else "info" if roll < 0.02 else "ok"
            in_flight[client] = (len(drafts), plan, fate)
            drafts.append([process_of[client], plan, fate, clock, None])
            continue
        if rng.random() < 0.5:  # not yet: let others move
            continue
        index, plan, fate = in_flight.pop(client)
        applies = fate == "ok" or (fate == "info" and rng.random() < 0.5)  # atomically, now
        done = []
        for f, key, value in plan:
            if f == "append":
                if applies:
                    lists.setdefault(key, []).append(value)
                done.append(append(key, value))
            else:
                seen = lists.get(key) if fate == "ok" else None  # only an ok transaction's reads are known
                done.append(read(key, None if seen is None else tuple(seen)))
        if fate == "info":
            process_of[client] += clients  # Jepsen's way: a client that lost track starts a new process
        drafts[index][1] = tuple(done)
        drafts[index][4] = None if fate == "info" else clock
    return TransactionHistory(tuple(Transaction(i, process, mops, outcome, invoke, complete)
                                    for i, (process, mops, outcome, invoke, complete) in enumerate(drafts)),
                              "list-append")


def measure(size: int, clients: int, keys: int, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    history = generate(size, clients, keys, seed)
    generated = time.perf_counter() - started
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # the history alone
    cpu = time.process_time()
    verdict = check_transactions(history, models=MODELS)
    cpu = time.process_time() - cpu
    return {"transactions": size, "verdict": verdict.verdict, "anomalies": [a.kind for a in verdict.anomalies],
            "edges": verdict.edges, "generate_s": round(generated, 2), "check_s": round(verdict.elapsed, 2),
            "cpu_s": round(cpu, 2), "rate": round(size / cpu),
            "history_rss_mib": before, "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated, of " + ", ".join(SIZES))
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--keys", type=int, default=5)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--profile", action="store_true", help="profile the check of the first size")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child process: one size, as JSON
    options = parser.parse_args(argv)
    if options.one is not None:
        print(json.dumps(measure(options.one, options.clients, options.keys, options.seed)))
        return 0
    sizes = [SIZES[name.strip().lower()] for name in options.sizes.split(",")]
    if options.profile:
        history = generate(sizes[0], options.clients, options.keys, options.seed)
        profiler = cProfile.Profile()
        profiler.runcall(check_transactions, history, models=MODELS)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return 0
    print(f"{'transactions':>12} {'verdict':>8} {'edges':>10} {'wall s':>7} {'CPU s':>7} {'txn/CPU s':>9} "
          f"{'history MiB':>11} {'max RSS MiB':>11}")
    for size in sizes:
        done = subprocess.run([sys.executable, __file__, "--one", str(size), "--clients", str(options.clients),
                               "--keys", str(options.keys), "--seed", str(options.seed)],
                              capture_output=True, text=True, check=True)
        row = json.loads(done.stdout)
        print(f"{row['transactions']:>12} {row['verdict']:>8} {row['edges']:>10} {row['check_s']:>7} "
              f"{row['cpu_s']:>7} {row['rate']:>9} {row['history_rss_mib']:>11} {row['max_rss_mib']:>11}", flush=True)
        if row["verdict"] != "valid":
            print(f"  unexpected anomalies: {row['anomalies']}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
