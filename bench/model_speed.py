"""Model speed: commands per second on a fixed mixed stream, side by side with fakeredis.

    python bench/model_speed.py [--commands 100000] [--seed 1]

Runs the same stream (3 clients; strings, counters, keys, lists, hashes, sets, WATCH and
MULTI/EXEC blocks, a few wrong-type errors) through

- ``model.step``            the pure step function the checker calls (immutable states),
- ``model.Client.execute``  the sequential wrapper (argument conversion included),
- ``fakeredis``             the closest Python peer, through redis-py's ``execute_command``,
- and, with ``--scripts``, an EVALSHA-heavy stream (a transfer script) vs the same transfer as
  MULTI/EXEC in the model.

and prints commands per second and the ratios, all measured in this one run.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import time
from collections.abc import Callable

from redlin import model

Command = tuple[int, tuple[bytes, ...]]


def mixed_stream(count: int, seed: int) -> list[Command]:
    """A reproducible stream of (client, argv) over a small key space, so commands conflict."""
    rng = random.Random(seed)
    keys = [b"k%d" % i for i in range(20)]
    stream: list[Command] = []
    in_multi: dict[int, bool] = {1: False, 2: False, 3: False}
    while len(stream) < count:
        client = rng.randint(1, 3)
        key = rng.choice(keys)
        roll = rng.random()
        if in_multi[client] and roll < 0.3:
            stream.append((client, (b"EXEC",)))
            in_multi[client] = False
            continue
        if roll < 0.15:
            argv: tuple[bytes, ...] = (b"SET", b"s" + key, b"%d" % rng.randint(0, 999))
        elif roll < 0.30:
            argv = (b"GET", b"s" + key)
        elif roll < 0.40:
            argv = (b"INCR", b"n" + key)
        elif roll < 0.45:
            argv = (b"APPEND", b"s" + key, b"x")
        elif roll < 0.52:
            argv = (b"LPUSH", b"l" + key, b"%d" % rng.randint(0, 9))
        elif roll < 0.56:
            argv = (b"RPOP", b"l" + key)
        elif roll < 0.60:
            argv = (b"LRANGE", b"l" + key, b"0", b"4")
        elif roll < 0.66:
            argv = (b"HSET", b"h" + key, b"f%d" % rng.randint(0, 4), b"v")
        elif roll < 0.70:
            argv = (b"HGET", b"h" + key, b"f%d" % rng.randint(0, 4))
        elif roll < 0.76:
            argv = (b"SADD", b"t" + key, b"m%d" % rng.randint(0, 9))
        elif roll < 0.80:
            argv = (b"SISMEMBER", b"t" + key, b"m%d" % rng.randint(0, 9))
        elif roll < 0.83:
            argv = (b"DEL", b"s" + key)
        elif roll < 0.86:
            argv = (b"EXISTS", b"s" + key, b"n" + key)
        elif roll < 0.89:
            argv = (b"INCR", b"s" + key)  # often not an integer: an error reply
        elif roll < 0.92 and not in_multi[client]:
            argv = (b"WATCH", b"n" + key)
        elif roll < 0.96 and not in_multi[client]:
            argv = (b"MULTI",)
            in_multi[client] = True
        else:
            argv = (b"LPUSH", b"s" + key, b"x")  # WRONGTYPE when s<key> holds a string
        stream.append((client, argv))
    for client, open_ in in_multi.items():
        if open_:
            stream.append((client, (b"EXEC",)))
    return stream


TRANSFER = b"""
local from = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
if from < amount then return 0 end
redis.call('SET', KEYS[1], from - amount)
redis.call('SET', KEYS[2], tonumber(redis.call('GET', KEYS[2]) or '0') + amount)
return 1
"""


def timed(label: str, count: int, run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    rate = count / elapsed
    print(f"  {label:<44} {elapsed:7.2f} s  {rate:>10,.0f} commands/s")
    return rate


def run_step(stream: list[Command]) -> None:
    state = model.INITIAL_STATE
    step = model.step
    for client, argv in stream:
        state, _ = step(state, client, argv)


def run_client(stream: list[Command]) -> None:
    server = model.Redis()
    clients = {c: server.client(c) for c in (1, 2, 3)}
    for client, argv in stream:
        clients[client].execute(*argv)


def run_fakeredis(stream: list[Command]) -> None:
    import fakeredis

    fake_server = fakeredis.FakeServer()
    clients = {c: fakeredis.FakeStrictRedis(server=fake_server, single_connection_client=True) for c in (1, 2, 3)}
    for client, argv in stream:
        # Error replies raise in redis-py; they are part of the stream.
        with contextlib.suppress(Exception):
            clients[client].execute_command(*argv)


def script_streams(count: int, seed: int) -> tuple[list[Command], list[Command]]:
    """The same transfers, as EVALSHA and as WATCH-free MULTI/EXEC blocks (5 commands each)."""
    rng = random.Random(seed)
    sha = model.Redis().client().execute("SCRIPT", "LOAD", TRANSFER)
    assert isinstance(sha, bytes), sha
    evalsha: list[Command] = [(1, (b"SCRIPT", b"LOAD", TRANSFER))]
    multi: list[Command] = []
    for _ in range(count):
        a, b = rng.sample(range(10), 2)
        client = rng.randint(1, 3)
        ka, kb = b"acct%d" % a, b"acct%d" % b
        evalsha.append((client, (b"EVALSHA", sha, b"2", ka, kb, b"1")))
        multi += [(client, (b"MULTI",)), (client, (b"DECRBY", ka, b"1")), (client, (b"INCRBY", kb, b"1")),
                  (client, (b"EXEC",))]
    return evalsha, multi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scripts", type=int, default=20_000, help="transfers in the script stream (0: skip)")
    args = parser.parse_args()

    stream = mixed_stream(args.commands, args.seed)
    print(f"mixed stream: {len(stream):,} commands, 3 clients, seed {args.seed}")
    step_rate = timed("model.step (pure, immutable states)", len(stream), lambda: run_step(stream))
    client_rate = timed("model.Redis().client().execute", len(stream), lambda: run_client(stream))
    try:
        fake_rate = timed("fakeredis (redis-py execute_command)", len(stream), lambda: run_fakeredis(stream))
    except ImportError:
        print("  fakeredis is not installed: pip install fakeredis")
        fake_rate = 0.0
    if fake_rate:
        print(f"ratio model.step / fakeredis:    {step_rate / fake_rate:5.2f}x")
        print(f"ratio Client.execute / fakeredis: {client_rate / fake_rate:5.2f}x")

    if args.scripts:
        evalsha, multi = script_streams(args.scripts, args.seed)
        print(f"script stream: {args.scripts:,} transfers")
        script_rate = timed("EVALSHA transfer (model.step)", len(evalsha), lambda: run_step(evalsha))
        multi_rate = timed("MULTI/DECRBY/INCRBY/EXEC transfer (model.step)", len(multi), lambda: run_step(multi))
        per_script = 1 / script_rate
        per_transaction = 4 / multi_rate
        print(f"scripts per second: {script_rate:,.0f}")
        print(f"cost of one EVALSHA / one equivalent MULTI..EXEC (4 commands): {per_script / per_transaction:5.2f}x")


if __name__ == "__main__":
    main()
