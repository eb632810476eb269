"""The set fast path (issue #15): a set used one member at a time, checked by member and whole.

Usage::

    python bench/sets.py [--ops 5000,50000] [--members 100] [--clients 32] [--time-limit 30]

Draws a linearizable history of ``SADD``/``SREM``/``SISMEMBER``/``SMISMEMBER`` on one set
(:func:`set_history`), each command taking effect at a random moment of its interval, and the same
with one reply flipped (a violation), and checks each with :func:`redlin.check` twice in this
process: as it is (split by member, :mod:`redlin.adapter.members`) and with the split turned off
(the whole key one part, as before).  Prints the CPU time of each check, the parts, and the
verdicts (a search that runs past ``--time-limit`` says unknown).

>>> history = set_history(0, ops=20, clients=2, keys=1, members=2)
>>> len(history), sorted({op.call[0][0] for op in history}) <= sorted(MEMBER_OPS)
(20, True)
"""

from __future__ import annotations

import argparse
import importlib
import random
import time
from collections.abc import Callable

from redlin import History, Operation, check, redis_model

MEMBER_OPS = (b"SADD", b"SREM", b"SISMEMBER", b"SMISMEMBER")


def set_history(seed: int, *, ops: int = 60, clients: int = 4, keys: int = 2, members: int = 3,
                flip: bool = False, extra: Callable[[int], tuple[bytes, ...] | None] | None = None) -> History:
    """``ops`` single-member set commands from ``clients`` clients on ``keys`` sets of ``members``
    members, each taking effect at a random point of its interval; ``flip`` turns one reply into
    the other; ``extra(i)`` may replace the command of operation ``i`` (a whole-set read, say:
    other commands get no reply, for tests that look at the partition only)."""
    rng = random.Random(seed)
    free_at = [0] * clients
    drawn = []
    for index in range(ops):
        client = rng.randrange(clients)
        invoke = free_at[client] + rng.randrange(1, 4)
        complete = invoke + rng.randrange(1, 12)
        free_at[client] = complete
        argv = (rng.choice(MEMBER_OPS), b"s%d" % rng.randrange(keys), b"m%d" % rng.randrange(members))
        replaced = extra(index) if extra is not None else None
        drawn.append((rng.uniform(invoke, complete), index, client, replaced or argv, invoke, complete))
    sets: dict[bytes, set[bytes]] = {}
    replies: dict[int, object] = {}
    for _, index, _, argv, _, _ in sorted(drawn):
        held = sets.setdefault(argv[1], set())
        replies[index] = _apply(held, argv)
    flipped = rng.randrange(ops) if flip else -1
    history = []
    for _, index, client, argv, invoke, complete in sorted(drawn, key=lambda entry: entry[1]):
        reply = replies[index]
        if index == flipped and isinstance(reply, int):
            reply = 1 - reply
        elif index == flipped and argv[0] == b"SMISMEMBER" and isinstance(reply, tuple):
            reply = (1 - reply[0],)
        history.append(Operation(index, client, (argv,), (reply,), invoke=invoke, complete=complete))
    return History(tuple(history))


def _apply(held: set[bytes], argv: tuple[bytes, ...]) -> object:
    """The reply of ``argv`` on the set ``held``, which it changes."""
    name = argv[0]
    if name == b"SMEMBERS":
        return tuple(sorted(held))
    if name not in MEMBER_OPS or len(argv) != 3:
        return None
    present = argv[2] in held
    if name == b"SADD":
        held.add(argv[2])
        return int(not present)
    if name == b"SREM":
        held.discard(argv[2])
        return int(present)
    return int(present) if name == b"SISMEMBER" else (int(present),)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", default="5000,50000", help="history sizes, comma-separated")
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per check")
    args = parser.parse_args()
    adapter = importlib.import_module("redlin.adapter.redis_model")
    split = adapter.by_member
    print(f"{'ops':>9} {'flipped':>7} {'by member s':>12} {'parts':>6} {'verdict':12} {'whole key s':>12} "
          f"{'verdict':12}")
    for ops, flip in ((int(size), flip) for size in args.ops.split(",") for flip in (False, True)):
        history = set_history(3, ops=ops, clients=args.clients, keys=1, members=args.members, flip=flip)
        started = time.process_time()
        fast = check(history, redis_model(), time_limit=args.time_limit)
        fast_time = time.process_time() - started
        parts = len(getattr(fast, "parts", ()) or ())
        adapter.by_member = lambda ops, keys: keys  # the split off: the set is one part
        try:
            started = time.process_time()
            whole = check(history, redis_model(), time_limit=args.time_limit)
            whole_time = time.process_time() - started
        finally:
            adapter.by_member = split
        print(f"{ops:9,} {'yes' if flip else 'no':>7} {fast_time:12.2f} {parts or '-':>6} {fast.verdict:12} "
              f"{whole_time:12.2f} {whole.verdict:12}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
