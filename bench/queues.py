"""The queue and stack fast path (issue #15): one Redis list used as a queue or a stack, checked
with the fast path and with the search alone.

Usage::

    python bench/queues.py [--ops 10000,100000] [--clients 8] [--seeds 1] [--time-limit 30]

Draws linearizable histories of ``RPUSH q v`` (unique values) and ``LPOP q`` (a queue) or
``RPOP q`` (a stack) from ``--clients`` clients (:func:`list_history`), each command taking effect
at a random moment of its interval, and checks each with :func:`redlin.check` twice in this
process: as it is (:mod:`redlin.search.sequences` decides it, or declines) and with the list fast
path turned off (the search alone).  Prints the CPU time and verdict of each (a check that runs past
``--time-limit`` says unknown), and how many of the seeds the fast path declined.

>>> history = list_history(0, ops=30, clients=3, queue=True)
>>> len(history.operations), {op.call[0][0] for op in history.operations} <= {b"RPUSH", b"LPOP"}
(30, True)
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import replace

from redlin import History, Operation, check, redis_model


def list_history(seed: int, *, ops: int = 60, clients: int = 4, queue: bool = True) -> History:
    """``ops`` pushes and pops on one list from ``clients`` clients, each taking effect at a random
    point of its interval, with the replies Redis gives (the length after a push; the value popped,
    or nil)."""
    rng = random.Random(seed)
    free_at = [0] * clients
    drawn = []
    for index in range(ops):
        client = rng.randrange(clients)
        invoke = free_at[client] + rng.randrange(1, 4)
        complete = invoke + rng.randrange(1, 12)
        free_at[client] = complete
        argv = (b"RPUSH", b"q", b"v%d" % index) if rng.random() < 0.55 else (b"LPOP" if queue else b"RPOP", b"q")
        drawn.append((rng.uniform(invoke, complete), index, client, argv, invoke, complete))
    items: list[bytes] = []
    replies: dict[int, object] = {}
    for _, index, _, argv, _, _ in sorted(drawn):
        if argv[0] == b"RPUSH":
            items.append(argv[2])
            replies[index] = len(items)
        else:
            replies[index] = (items.pop(0) if queue else items.pop()) if items else None
    history = [Operation(index, client, (argv,), (replies[index],), invoke=invoke, complete=complete)
               for _, index, client, argv, invoke, complete in sorted(drawn, key=lambda entry: entry[1])]
    return History(tuple(history))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--ops", default="10000,100000", help="history sizes, comma-separated")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=1, help="histories per size and kind")
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per check")
    args = parser.parse_args()
    with_lists = redis_model()
    assert with_lists.views is not None
    search_alone = replace(with_lists, views=replace(with_lists.views, lists=None))  # the list fast path off
    print(f"{'list':6} {'ops':>9} {'fast path s':>12} {'verdict':12} {'search s':>10} {'verdict':12} declined")
    for ops, queue in ((int(size), queue) for size in args.ops.split(",") for queue in (True, False)):
        fast_time = search_time = 0.0
        fast_verdicts: set[str] = set()
        search_verdicts: set[str] = set()
        declined = 0
        for seed in range(args.seeds):
            history = list_history(seed, ops=ops, clients=args.clients, queue=queue)
            started = time.process_time()
            fast = check(history, with_lists, time_limit=args.time_limit)
            fast_time += time.process_time() - started
            declined += fast.states_explored > 0 or fast.verdict != "linearizable"
            fast_verdicts.add(fast.verdict)
            started = time.process_time()
            searched = check(history, search_alone, time_limit=args.time_limit)
            search_time += time.process_time() - started
            search_verdicts.add(searched.verdict)
        kind, fast_said, search_said = "queue" if queue else "stack", "/".join(sorted(fast_verdicts)), "/".join(
            sorted(search_verdicts))
        print(f"{kind:6} {ops:9,} {fast_time / args.seeds:12.2f} {fast_said:12} {search_time / args.seeds:10.2f} "
              f"{search_said:12} {declined}/{args.seeds}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
