"""The planted faults in the corners clones get wrong (issue 12), each found by the default workload.

Two halves: each fault against the embedded server directly, on exact replies (redlin's own RESP
client, :class:`~redlin.harness.wire.Connection`, which keeps a simple string apart from a bulk
string), clean and faulty side by side; then ``redlin run`` with the default workload, which must
find each fault (a violation with a small counterexample) and must call the clean server
linearizable for the same seeds.  How fast each is found over many seeds: ``bench/detect.py
--workload default``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from redlin.harness.runner import FAULT_WORKLOADS, render_outcome, run
from redlin.harness.wire import Connection
from redlin.history.jsonl import load_history
from redlin.model import NULL_ARRAY, Error, Reply, Status
from redlin.serve.faults import LONG_QUEUE
from redlin.serve.server import FAULTS, RunningServer, start_in_thread

NEW_FAULTS = ("watch-first-key-only", "long-exec-not-atomic", "multi-value-reversed", "decrby-overflow-wraps",
              "score-shortest-format", "echo-as-status", "script-cache-per-connection")
LLONG_MIN, LLONG_MAX = -(2**63), 2**63 - 1


@contextmanager
def server(fault: str | None) -> Iterator[tuple[RunningServer, Callable[[], Connection]]]:
    with start_in_thread(fault=fault) as running:
        opened: list[Connection] = []

        def connect() -> Connection:
            opened.append(Connection(running.host, running.port, timeout=10))
            return opened[-1]

        try:
            yield running, connect
        finally:
            for conn in opened:
                conn.close()


def transaction(conn: Connection, *commands: tuple[bytes | str | int, ...]) -> Reply:
    """MULTI, the commands, EXEC, pipelined: EXEC's reply."""
    return conn.pipeline([("MULTI",), *commands, ("EXEC",)])[-1]


def test_the_new_faults_are_registered_and_exposed_by_the_default_workload() -> None:
    assert set(NEW_FAULTS) <= set(FAULTS)
    assert all(FAULT_WORKLOADS[name] == "default" for name in NEW_FAULTS)


# ----------------------------------------------------------------------------- each fault, directly


@pytest.mark.parametrize("fault", [None, "watch-first-key-only"])
def test_watch_first_key_only(fault: str | None) -> None:
    with server(fault) as (_, connect):
        watcher, other = connect(), connect()
        outcomes = []
        for touched in ("w0", "w1", "w2"):
            assert watcher.execute("WATCH", "w0", "w1", "w2") == Status("OK")
            other.execute("SET", touched, "other")
            outcomes.append(transaction(watcher, ("SET", "w0", "watcher")))
        # One key per WATCH, however many WATCH calls: every key is watched.
        watcher.execute("WATCH", "w0")
        watcher.execute("WATCH", "w1")
        other.execute("SET", "w1", "other")
        separate = transaction(watcher, ("GET", "w1"))
    assert outcomes[0] is NULL_ARRAY and separate is NULL_ARRAY  # the first key is watched either way
    if fault is None:
        assert outcomes[1:] == [NULL_ARRAY, NULL_ARRAY]
    else:
        assert outcomes[1:] == [(Status("OK"),), (Status("OK"),)]


def torn_transactions(fault: str | None, length: int, rounds: int = 60) -> int:
    """Two clients each run ``rounds`` transactions of ``length`` INCRs of one key; how many saw
    the other's INCRs in between their own."""
    torn = 0
    with server(fault) as (_, connect):
        conns = [connect(), connect()]
        barrier = threading.Barrier(2)
        lock = threading.Lock()

        def work(conn: Connection) -> None:
            nonlocal torn
            barrier.wait()
            for _ in range(rounds):
                replies = transaction(conn, *[("INCR", "x")] * length)
                assert isinstance(replies, tuple)
                with lock:
                    torn += replies != tuple(range(replies[0], replies[0] + length))

        threads = [threading.Thread(target=work, args=(conn,)) for conn in conns]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert conns[0].execute("GET", "x") == b"%d" % (2 * rounds * length)  # nothing lost either way
    return torn


def test_long_exec_not_atomic_breaks_only_long_queues_m17() -> None:
    assert torn_transactions(None, LONG_QUEUE) == 0
    assert torn_transactions("long-exec-not-atomic", LONG_QUEUE - 1) == 0
    assert torn_transactions("long-exec-not-atomic", LONG_QUEUE) > 0


@pytest.mark.parametrize("fault", [None, "multi-value-reversed"])
def test_multi_value_reversed(fault: str | None) -> None:
    with server(fault) as (_, connect):
        conn = connect()
        conn.execute("RPUSH", "r", "a", "b", "c")
        conn.execute("LPUSH", "l", "a", "b")
        conn.execute("RPUSHX", "r", "d", "e")
        conn.execute("MSET", "k", "1", "j", "x", "k", "2")
        conn.execute("HSET", "h", "f", "1", "f", "2")
        queued = transaction(conn, ("RPUSH", "t", "a", "b"), ("LRANGE", "t", 0, -1))
        seen = [conn.execute("LRANGE", "r", 0, -1), conn.execute("LRANGE", "l", 0, -1), conn.execute("GET", "k"),
                conn.execute("HGET", "h", "f"), queued]
        # Where the order cannot show, nothing changes.
        conn.execute("RPUSH", "same", "a", "a")
        conn.execute("MSET", "m1", "1", "m2", "2")
        assert conn.execute("MGET", "m1", "m2") == (b"1", b"2")
        assert conn.execute("RPUSH", "one", "a") == 1
    if fault is None:
        assert seen == [(b"a", b"b", b"c", b"d", b"e"), (b"b", b"a"), b"2", b"2", (2, (b"a", b"b"))]
    else:
        assert seen == [(b"c", b"b", b"a", b"e", b"d"), (b"a", b"b"), b"1", b"1", (2, (b"b", b"a"))]


@pytest.mark.parametrize("fault", [None, "decrby-overflow-wraps"])
def test_decrby_overflow_wraps(fault: str | None) -> None:
    with server(fault) as (_, connect):
        conn = connect()
        replies = [conn.execute("DECRBY", "missing", str(LLONG_MIN))]
        conn.execute("SET", "max", str(LLONG_MAX), "EX", "1000")
        replies += [conn.execute("INCR", "max"), conn.execute("GET", "max"), 0 < conn.execute("TTL", "max") <= 1000]
        conn.execute("SET", "neg", "-2")
        replies.append(conn.execute("INCRBY", "neg", str(LLONG_MIN)))
        conn.execute("HSET", "h", "f", str(LLONG_MAX))
        replies += [conn.execute("HINCRBY", "h", "f", "2"), conn.execute("HGET", "h", "f")]
        conn.execute("SET", "top", str(LLONG_MAX))
        replies.append(transaction(conn, ("INCRBY", "top", 1), ("GET", "top")))
        # No integer to wrap: Redis's error stays; in range: nothing changes.
        conn.execute("SET", "text", "abc")
        assert conn.execute("DECRBY", "text", str(LLONG_MIN)) == Error("ERR decrement would overflow")
        assert conn.execute("INCRBY", "small", "5") == 5
    if fault is None:
        overflow = Error("ERR increment or decrement would overflow")
        assert replies == [Error("ERR decrement would overflow"), overflow, str(LLONG_MAX).encode(), True, overflow,
                           overflow, str(LLONG_MAX).encode(), (overflow, str(LLONG_MAX).encode())]
    else:
        assert replies == [LLONG_MIN, LLONG_MIN, str(LLONG_MIN).encode(), True, LLONG_MAX - 1, LLONG_MIN + 1,
                           str(LLONG_MIN + 1).encode(), (LLONG_MIN, str(LLONG_MIN).encode())]


@pytest.mark.parametrize("fault", [None, "score-shortest-format"])
def test_score_shortest_format(fault: str | None) -> None:
    with server(fault) as (_, connect):
        conn = connect()
        replies = [conn.execute("ZINCRBY", "z", "0.1", "a"), conn.execute("ZADD", "z", "INCR", "1e-17", "b"),
                   conn.execute("ZMSCORE", "z", "a", "b", "none"),
                   conn.execute("ZRANGE", "z", 0, -1, "WITHSCORES"),
                   transaction(conn, ("ZSCORE", "z", "a"), ("ZPOPMAX", "z"))]
        # Scores whose %.17g is already the shortest, and members, are untouched.
        conn.execute("ZADD", "y", "1.5", "0.10000000000000001", "1e308", "b")
        assert conn.execute("ZRANGE", "y", 0, -1, "WITHSCORES") == (b"0.10000000000000001", b"1.5", b"b", b"1e+308")
    tenth, tiny = (b"0.1", b"1e-17") if fault else (b"0.10000000000000001", b"1.0000000000000001e-17")
    assert replies == [tenth, tiny, (tenth, tiny, None), (b"b", tiny, b"a", tenth), (tenth, (b"a", tenth))]


@pytest.mark.parametrize("fault", [None, "echo-as-status"])
def test_echo_as_status(fault: str | None) -> None:
    with server(fault) as (_, connect):
        conn = connect()
        replies = [conn.execute("ECHO", "hello"), conn.execute("PING", ""), transaction(conn, ("ECHO", "x"))]
        # What a simple string cannot carry (CR, LF; and bytes that are not UTF-8) stays a bulk string.
        assert conn.execute("ECHO", "a\r\nb") == b"a\r\nb"
        assert conn.execute("ECHO", b"\x00\xff") == b"\x00\xff"
        assert conn.execute("PING") == Status("PONG")
    if fault is None:
        assert replies == [b"hello", b"", (b"x",)]
    else:
        assert replies == [Status("hello"), Status(""), (Status("x"),)]


# ----------------------------------------------------------------------------- found by redlin run

# A seed where each fault is found within seconds, with a small counterexample (bench/detect.py
# --workload default measures seeds 0..N-1).  The search is deterministic for a seed until the fault
# first fires, so the deterministic faults are found after the same number of operations each time;
# the two that need an interleaving (WATCH, long EXEC) vary a little.  decrby-overflow-wraps takes
# the longest: about 12,000 operations (11 s on a busy machine, a core of one operation).
# Recalibrated when rw-register and list-append's script joined the mixes (seeds 0-3 of each, on a
# loaded machine: watch-first-key-only missed with seed 1 in 60 s, found with 2 after 4 s).
# The default workload spends its first second on Pub/Sub rounds (PUBSUB_MOST_SECONDS), so nothing
# else is found sooner than that.
FOUND_WITH: dict[str, int] = {
    "watch-first-key-only": 2,
    "long-exec-not-atomic": 2,
    "multi-value-reversed": 0,
    "decrby-overflow-wraps": 2,
    "score-shortest-format": 0,
    "echo-as-status": 0,
    "script-cache-per-connection": 0,
}
SLOW: frozenset[str] = frozenset({"decrby-overflow-wraps"})
MOST_CORE = 6


@pytest.mark.parametrize("fault", [pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name
                                   for name in NEW_FAULTS])
def test_each_corner_fault_is_found_by_the_default_workload(tmp_path: Path, fault: str) -> None:
    # The slow one's part is large (transactions of up to 12 commands join dozens of keys), and its
    # one-operation core is proved only after checks of the rest weakened: it gets more shrinking time.
    outcome = run(fault=fault, workload="default", duration=60, ops=None, seed=FOUND_WITH[fault],
                  shrink_time=15 if fault in SLOW else 3, out=tmp_path / "out", database=None)
    assert outcome.verdict == "violation", render_outcome(outcome)
    assert outcome.stats.found_after_seconds is not None and outcome.stats.found_after_seconds <= 60
    print(f"{fault}: found after {outcome.stats.found_after_seconds:.2f} s, "
          f"{outcome.stats.found_after_operations} operations; counterexample of {len(outcome.core)}")
    if fault not in SLOW:
        assert 1 <= len(outcome.core) <= MOST_CORE, render_outcome(outcome)
        return
    # Whether that shrinking reaches the one wrapped operation within its budget depends on the
    # interleaving the run met (1 operation, or 54 on a loaded machine): the counterexample must
    # hold a wrapping command; its size is measured by bench/detect.py, not bounded here.
    counterexample = load_history(outcome.paths["counterexample"])
    assert any(argv[0].lower() in (b"incr", b"decr", b"incrby", b"decrby", b"hincrby")
               for op in counterexample for argv in op.call), render_outcome(outcome)


@pytest.mark.parametrize("seed", sorted(set(FOUND_WITH.values())))
def test_the_clean_server_is_linearizable_for_the_same_seeds(tmp_path: Path, seed: int) -> None:
    outcome = run(workload="default", seed=seed, ops=3000, out=tmp_path / "out", database=None)
    assert outcome.verdict == "linearizable", render_outcome(outcome)
    assert outcome.stats.operations >= 3000 and outcome.stats.unknown_executions == 0


@pytest.mark.parametrize("fault", [None, "script-cache-per-connection"])
def test_script_cache_per_connection_e20_e21(fault: str | None) -> None:
    """The script cache is the server's (E21: SCRIPT LOAD, then EXISTS and EVALSHA from anyone):
    the fault keeps each script to the connection that loaded it."""
    with server(fault) as (_, connect):
        loader, other = connect(), connect()
        sha = loader.execute("SCRIPT", "LOAD", "return 1")
        assert isinstance(sha, bytes) and len(sha) == 40
        assert loader.execute("SCRIPT", "EXISTS", sha, "0" * 40) == (1, 0)
        assert loader.execute("EVALSHA", sha, "0") == 1
        seen, ran = other.execute("SCRIPT", "EXISTS", sha), other.execute("EVALSHA", sha, "0")
    if fault is None:
        assert (seen, ran) == ((1,), 1)
    else:
        assert seen == (0,) and ran == Error("NOSCRIPT No matching script. Please use EVAL.")  # E20
