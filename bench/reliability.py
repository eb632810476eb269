"""Reliability figures of issue #11: bad input, server states, hostile workloads, signals, budgets.

    python bench/reliability.py [--quick] [--inputs N] [--args N] [--trials N] [--signal-trials N]
                                [--duration S] [--input-timeout S] [--jobs N] [--seed N] [--skip PART]

All in one run, against private redis-servers on free loopback ports (always stopped), in a temporary
folder (removed); ``redlin`` runs as ``python -m redlin`` (bytecode cached there) or ``redlin.run``:

- inputs: ``--inputs`` history files of every format, mutated from seeds (two runs' JSON Lines,
  Porcupine's etcd and kv files, EDN made from them) with ``random.Random(--seed)``, special files
  (empty, FIFO, /dev/zero, a 5 MiB line) and bad command lines of ``check`` and ``run`` (absurd
  numbers, bad URLs, a non-RESP server, broken workload files): tracebacks, hangs, exit codes outside
  {0,1,2,3} (4 = internal error counts), the peak ``ru_maxrss`` of one child (goal: 1 GiB).
- states: ``redlin.run`` against a server at maxclients 5 (8 clients), out of memory, a read-only or
  stale replica, paused, killed and restarted, its clients killed: a VIOLATION is a false alarm.
- foreign: 300 user keys of all types DUMPed around a ``mixed`` run, honest and hostile script families
  (plain, or behind a condition): keys disturbed, hostile ones not refused, keys left.
- signals: SIGTERM or SIGHUP to ``redlin run --duration 60``, 0.1-5 s after it starts recording: keys
  left (DBSIZE), exit codes outside {0,1,2,3,130}, tracebacks, verdicts.
- budgets: ``redlin run --duration D`` with 8 and 64 clients: wall time minus D, against the documented
  tail (20 s by default); a Pub/Sub run's history checked again (``--time-limit 60``): same verdict?

Prints a few lines per part, then ``measure | count | goal | ok?``; exit 1 if a goal is missed.  About
5 minutes on 2 cores, ``--quick`` a minute or two.

>>> verdict_of("LINEARIZABLE: 12 operations in 3 runs")
'linearizable'
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis
from detect import system_redis_server  # bench/detect.py: the distribution's redis-server

import redlin
from redlin.errors import UsageError

PORCUPINE = Path(__file__).resolve().parents[2] / "shared" / "data" / "porcupine"
DOCUMENTED = {0, 1, 2, 3}
MEMORY_GOAL_MB = 1024
TAIL = 5.0 + 10.0 + 5.0  # --timeout + --check-time + 5 s, the defaults (see `redlin run --help`)
QUICK = {"inputs": 20, "args": 8, "trials": 1, "signal_trials": 5, "duration": 3.0}
FULL = {"inputs": 160, "args": 50, "trials": 2, "signal_trials": 8, "duration": 10.0}
Row = tuple[str, str, str, bool]  # measure, count, goal, met


def verdict_of(stdout: str) -> str:
    """The verdict a ``redlin`` command printed first (lower case), or ``"none"``."""
    first = stdout.strip().split(":", 1)[0].strip()
    return first.lower() if first.isalpha() else "none"


# ----------------------------------------------------------------------------- children and servers


Child = collections.namedtuple("Child", "argv code stdout stderr seconds rss_mb hung signalled")


def run_child(argv: Sequence[str], cwd: Path, timeout: float, send: tuple[float, int, Path] | None = None) -> Child:
    """``python -m redlin *argv``, its peak memory (wait4), killed past ``timeout``; ``send`` is (seconds
    after ``path`` appears, signal, path): when to signal it, and when it was signalled (since its start)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cwd.parent / "pycache")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "redlin", *argv], cwd=cwd, stdout=out, stderr=err,
                                   stdin=subprocess.DEVNULL, env=env)
        with contextlib.suppress(OSError):
            resource.prlimit(process.pid, resource.RLIMIT_AS, (4 << 30, 4 << 30))  # a runaway child cannot sink us
        hung, armed, signalled = False, 0.0, None
        while not (waited := os.wait4(process.pid, os.WNOHANG))[0]:
            if send is not None and signalled is None and send[2].exists():
                armed = armed or time.monotonic()
                if time.monotonic() - armed >= send[0]:
                    process.send_signal(send[1])
                    signalled = time.monotonic() - started
            if hung := time.monotonic() - started > timeout:
                process.kill()
                waited = os.wait4(process.pid, 0)
                break
            time.sleep(0.01)
        _, status, usage = waited
        process.returncode = os.waitstatus_to_exitcode(status)
        text = [(file.seek(0), file.read().decode("utf-8", "replace"))[1] for file in (out, err)]
        return Child(list(argv), process.returncode, *text, time.monotonic() - started, usage.ru_maxrss / 1024, hung,
                     signalled)


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:  # any RESP reply to PING: a stale replica answers with an error
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64)[:1] in (b"+", b"-")
    except OSError:
        return False


class Server:
    """A private redis-server on a free loopback port, in a folder of its own; stopped on leaving ``with``."""

    def __init__(self, directory: Path, *extra: str) -> None:
        self.directory, self.extra, self.port = directory, extra, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        directory.mkdir(parents=True, exist_ok=True)
        self.process = self.start()

    def start(self) -> subprocess.Popen[bytes]:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # a killed server's port may be held a moment
            self.process = subprocess.Popen(
                [system_redis_server() or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(self.directory), "--loglevel", "warning",
                 *self.extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while self.process.poll() is None and time.monotonic() < deadline:
                if _answers(self.port):
                    return self.process
                time.sleep(0.02)
            self.kill()
            time.sleep(0.1)
        raise SystemExit(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
        self.process.wait()

    close = kill  # for contextlib.closing

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(port=self.port, db=db, socket_timeout=10)

    def count(self, pattern: str = "redlin:*", db: int = 0) -> int:
        return sum(1 for _ in self.client(db).scan_iter(match=pattern, count=1000))


def later(delay: float, *actions: Callable[[], object]) -> list[threading.Thread]:  # in turn, in a thread
    thread = threading.Thread(target=lambda: [time.sleep(delay), *(action() for action in actions)], daemon=True)
    thread.start()
    return [thread]


@contextlib.contextmanager
def garbage_server() -> Iterator[int]:
    """A port that answers every connection with an HTTP error: a server that does not speak RESP."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                with conn:
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()


# ----------------------------------------------------------------------------- malformed inputs

JSONL_REGISTER = [
    '{"event": "meta", "format": "redlin-history", "version": 1, "model": "cas-register"}',
    '{"event": "invoke", "op": 0, "client": 1, "time": 100, "call": ["write", 1]}', '{"event": "ok", "op": 0, "time": 200}',
    '{"event": "invoke", "op": 1, "client": 2, "time": 300, "call": ["cas", 1, 2]}', '{"event": "invoke", "op": 2, '
    '"client": 3, "time": 310, "call": ["read"]}', '{"event": "ok", "op": 1, "time": 400, "result": true}',
    '{"event": "ok", "op": 2, "time": 500, "result": 2}']
ETCD = ["INFO  jepsen.util - 1\t:invoke\t:write\t1", "INFO  jepsen.util - 1\t:ok\t:write\t1",
        "INFO  jepsen.util - 2\t:invoke\t:cas\t[1 2]", "INFO  jepsen.util - 3\t:invoke\t:read\tnil",
        "INFO  jepsen.util - 2\t:ok\t:cas\t[1 2]", "INFO  jepsen.util - 3\t:ok\t:read\t2"]
KV = ['{:process 0, :type :invoke, :f :put, :key "k", :value "a"}', '{:process 0, :type :ok, :f :put, :key "k", :value "a"}',
      '{:process 1, :type :invoke, :f :get, :key "k", :value nil}', '{:process 1, :type :ok, :f :get, :key "k", :value "a"}']
JSON_ATOMS = ["9" * 5000, "-" + "9" * 4400, "1e999", "NaN", "-Infinity", "[" * 5000 + "]" * 5000, "[" * 90 + "]" * 90,
              '"\\ud800"', '["\\udfff"]', '{"b64": "!!"}', '[{"b64": "AAAA"}]', '{"frames": []}', '[{"status": 1}]',
              '[{"nil_array": false}]', '[["SET", "k", {"b64": "/w=="}]]', '[["NOSUCH"]]', "null", "true", "1.0",
              "-1", "0", '""', "[]", "{}", '"ok"', '"info"', '[["EVAL", "while true do end", "0"]]', "3.5e300"]
EDN_ATOMS = ["nil", "true", "false", "1", "-7", "1.0", "1N", "2.5M", "1e400", "9" * 5000, ":kw", ":timed-out", "sym",
             "foo/bar", '"text"', '"\\ud800"', '"\\ud83d\\ude00"', '"\\q"', "#{1 2}", "#{}", "{:a 1}", "[1 [2 [3]]]",
             '#inst "2020"', "#_ 1", "\\newline", "(1 2)", "[" * 300 + "]" * 300, "{[1] 2}", "#{#{1}}", '"', "[",
             "}", "#", ":", "1.2.3", "0x10", "+", "-", ":invoke", ":ok", ":fail", ":info", ":cas", ":nemesis"]
TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|:[\w.?-]+|-?\d+(?:\.\d+)?|\bnil\b|\btrue\b|\bfalse\b|\bnull\b|\[[^\[\]]*\]')
NAMES = {"jsonl": "h.jsonl", "etcd": "h.log", "edn": "h.edn", "kv": "h.txt", "bytes": "h"}
CHECK_OPTIONS = [[], [], [], *(["--format", f] for f in redlin.FORMATS), *(["--model", m] for m in redlin.MODELS)]


def seed_histories(work: Path, porcupine: Path, rng: random.Random) -> dict[str, list[list[str]]]:
    """Valid histories of each format to mutate: two short redlin runs, Porcupine's files, inline ones."""
    seeds: dict[str, list[list[str]]] = {"jsonl": [JSONL_REGISTER], "etcd": [ETCD], "kv": [KV], "edn": []}
    for workload in ("mixed", "pubsub"):
        outcome = redlin.run(workload=workload, ops=200, out=work / f"seed-{workload}", database=None)
        seeds["jsonl"].append(outcome.paths["history"].read_text(encoding="utf-8").splitlines()[:120])
    logs = sorted((porcupine / "jepsen").glob("etcd_*.log"))
    for path in rng.sample(logs, min(4, len(logs))):
        seeds["etcd"].append([line for line in path.read_text().splitlines() if line.strip()][:80])
    for name in ("c01-ok.txt", "c10-bad.txt"):
        if (porcupine / "kv" / name).exists():
            seeds["kv"].append((porcupine / "kv" / name).read_text().splitlines()[:60])
    for lines in seeds["etcd"]:
        edn = ["{{:process {}, :type {}, :f {}, :value {}}}".format(*line.split("jepsen.util - ", 1)[1].split(maxsplit=3))
               for line in lines if "jepsen.util - " in line and len(line.split()) >= 7]  # the same log as EDN
        seeds["edn"] += [edn, ["[", *edn, "]"]]
    return seeds


def mutate(lines: list[str], fmt: str, rng: random.Random) -> bytes:
    """A malformed variant of a history: 1-4 line or value mutations, then maybe a byte-level one."""
    lines = list(lines) or [""]
    atoms = JSON_ATOMS if fmt == "jsonl" else EDN_ATOMS
    for _ in range(rng.randint(1, 4)):
        where = rng.randrange(len(lines))
        action = rng.choice(["drop", "repeat", "cut", "garbage", "swap", "value", "value", "value", "field"])
        if action == "drop" and len(lines) > 1:
            del lines[where]
        elif action == "repeat":
            lines.insert(where, lines[where])
        elif action == "cut":
            lines[where] = lines[where][: rng.randint(0, len(lines[where]))]
        elif action == "garbage":
            lines.insert(where, "".join(rng.choice("{}[]():#\"\\ \t,abc019-") for _ in range(rng.randint(1, 30))))
        elif action == "swap" and where + 1 < len(lines):
            lines[where], lines[where + 1] = lines[where + 1], lines[where]
        elif action == "field" and fmt == "jsonl" and lines[where].endswith("}"):
            field = rng.choice(["event", "op", "client", "time", "call", "result", "model", "version", "x"])
            lines[where] = lines[where][:-1] + f', "{field}": {rng.choice(atoms)}}}'
        elif tokens := list(TOKEN.finditer(lines[where])):
            token = rng.choice(tokens)
            lines[where] = lines[where][: token.start()] + rng.choice(atoms) + lines[where][token.end():]
    raw = "\n".join(lines).encode("utf-8", "surrogatepass")
    roll = rng.random()
    if roll < 0.15:
        raw = b"\xef\xbb\xbf" + raw
    elif roll < 0.35 and raw:
        cut = rng.randrange(len(raw))
        raw = raw[:cut] + rng.choice([b"\xff", b"\xc3", b"\x00", b"\r\n", b"\xed\xa0\x80"]) + raw[cut:]
    return raw


def input_files(work: Path, count: int, seeds: dict[str, list[list[str]]], rng: random.Random) -> list[list[str]]:
    """Command lines of ``redlin check``: special files, then ``count`` mutated histories."""
    folder = work / "inputs"
    folder.mkdir()
    special: dict[str, bytes] = {
        "empty.jsonl": b"", "blank.log": b"  \n\t\n", "bom.edn": b"\xef\xbb\xbf", "nested.jsonl": b"[" * 200_000,
        "long-line.log": b'INFO  jepsen.util - 1\t:invoke\t:write\t"' + b"a" * (5 << 20) + b'"\n',
        "big-value.edn": b'{:process 0, :type :invoke, :f :write, :value "' + b"a" * (3 << 20) + b'"}\n',
        "binary": bytes(rng.randrange(256) for _ in range(4096))}
    vectors = []
    for name, raw in special.items():
        (folder / name).write_bytes(raw)
        vectors.append([str(folder / name)])
    os.mkfifo(folder / "fifo")
    vectors += [[str(folder / "fifo")], ["/dev/zero"], [str(folder)], [str(folder / "missing.jsonl")]]
    for index in range(count):
        fmt = rng.choice(["jsonl", "jsonl", "etcd", "edn", "kv", "bytes"])
        raw = (bytes(rng.randrange(256) for _ in range(rng.randint(0, 300))) if fmt == "bytes"
               else mutate(rng.choice(seeds[fmt]), fmt, rng))
        path = folder / f"{index:04d}-{NAMES[fmt]}"
        path.write_bytes(raw)
        vectors.append([str(path), *rng.choice(CHECK_OPTIONS)])
    return [["check", *vector, "--time-limit", "5", "--out", str(work / "reports" / str(i))]
            for i, vector in enumerate(vectors)]


FAMILY = {"name": "hits", "doc": "page hits", "keys": ["p0", "p1"], "max_amount": 5,
          "steps": [{"op": "GET {key}"}, {"op": "INCRBY {key} {amount}", "weight": 3},
                    {"tx": ["INCR {key}", "INCR {key2}"], "watch": ["{key}"]}]}
FAMILY_EDITS = [{"max_amount": 0}, {"steps": []}, {"keys": []}, {"name": 7}, {"steps": [{"op": ""}]},
                {"steps": [{"op": "GET {key}", "weight": 1e999}]}, {"steps": [{"op": "FLUSHALL"}]},
                {"steps": [{"eval": "return 1", "keys": ["{nokey}"]}]}, {"max_amount": 10**30}, {"keys": ["a b"]}]
RAW_FAMILIES = [b"", b"{", b"\xff\xfe", b"[" * 100_000, b'{"name": "n", "keys": ["k"], "steps": [{"op": "GET {key}",'
                b' "weight": 1e999}]}']
BAD_VALUES = ["0", "-1", "nan", "inf", "1e10", "1e999", "\u0663", "x", "", "20000", "99999999999", "1e3", "3.5",
              "4", "50", "-", "--", "1_000"]
RUN_OPTIONS = ["--clients", "--steps", "--rate", "--seed", "--repeat", "--timeout", "--check-time", "--shrink-time",
               "--reconnect-for", "--duration", "--ops", "--fault", "--workload", "--progress", "--password-env",
               "--allow-destructive", "--target", "--bogus"]
CHECK_TOKENS = ["--time-limit", "--max-states", "--format", "--model", "--out", "--json", "--no-minimise",
                "--no-report", "1e10", "0", "-1", "nan", "inf", "1e999", "\u0663", "jsonl", "redis", "x", "", "10"]


def argument_vectors(work: Path, count: int, rng: random.Random, port: int, garbage: int) -> list[list[str]]:
    """Bad ``redlin check`` and ``redlin run`` command lines: fixed cases, then ``count`` random ones."""
    valid = work / "valid.jsonl"
    valid.write_text("\n".join(JSONL_REGISTER) + "\n")
    families = [work / f"family-{i}.json" for i in range(len(FAMILY_EDITS) + len(RAW_FAMILIES))]
    for path, content in zip(families, [json.dumps({**FAMILY, **edit}).encode() for edit in FAMILY_EDITS] + RAW_FAMILIES):
        path.write_bytes(content)
    targets = [f"redis://127.0.0.1:{port}/0", "redis://127.0.0.1:0/0", "redis://127.0.0.1/\u0663", "http://127.0.0.1/0",
               f"rediss://127.0.0.1:{port}/0?ssl_cert_reqs=none", f"redis://127.0.0.1:{free_port()}/0",
               f"redis://127.0.0.1:{garbage}/0", "rediss://127.0.0.1/0?ssl_ca_certs=/no/such/ca.pem", "redis://[::1",
               f"redis://:wrong@127.0.0.1:{port}/0", f"redis://127.0.0.1:{port}/99999", "redis://no-such-host.invalid/0", ""]
    vectors = [["check"], ["check", str(valid), str(valid)], ["check", "--bogus", str(valid)], ["run", "--target"],
               *(["run", "--ops", "30", "--timeout", "3", "--target", target] for target in targets),
               *(["run", "--ops", "30", "--workload", str(path)] for path in families),
               ["run", "--workload", "nosuch"], ["run", "--fault", "nosuch"], ["nosuch"], ["report", str(valid)]]
    for _ in range(count):
        if rng.random() < 0.4:
            vectors.append(["check", str(valid), *rng.choices(CHECK_TOKENS, k=rng.randint(1, 5)),
                            "--out", str(work / "arg-reports" / str(len(vectors)))])
            continue
        vector = ["run", "--ops", "30", "--progress", "none"]
        for option in rng.choices(RUN_OPTIONS, k=rng.randint(1, 3)):
            vector += [option, rng.choice(targets) if option == "--target" else str(rng.choice(families))
                       if option == "--workload" and rng.random() < 0.5 else rng.choice(BAD_VALUES)]
        vectors.append(vector)
    return vectors


def bench_inputs(work: Path, args: argparse.Namespace, rng: random.Random) -> list[Row]:
    (work / "cwd").mkdir(parents=True)
    seeds = seed_histories(work, args.porcupine, rng)
    with contextlib.closing(Server(work / "fuzz-redis")) as target, garbage_server() as garbage:
        vectors = input_files(work, args.inputs, seeds, rng)
        files = len(vectors)
        vectors += argument_vectors(work, args.args, rng, target.port, garbage)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            children = list(pool.map(lambda argv: run_child(argv, work / "cwd", args.input_timeout), vectors))
    tracebacks, hangs = [c for c in children if "Traceback" in c.stdout + c.stderr], [c for c in children if c.hung]
    outside = [c for c in children if not c.hung and c.code not in DOCUMENTED]
    peak = max(children, key=lambda c: c.rss_mb)
    codes = collections.Counter(c.code for c in children)
    print(f"Bad input: {files} history files, {len(vectors) - files} command lines, {time.monotonic() - started:.0f} s; "
          f"exit codes {dict(sorted(codes.items()))}; slowest {max(c.seconds for c in children):.1f} s; "
          f"peak memory {peak.rss_mb:.0f} MB (redlin {' '.join(peak.argv)[:100]})")
    for label, bad in (("traceback", tracebacks), ("hang", hangs), ("exit code", outside)):
        for child in bad[:5]:
            last = (child.stderr.strip().splitlines() or ["(no stderr)"])[-1][:160]
            print(f"  {label}: exit {child.code}: redlin {' '.join(child.argv)[:160]!r}: {last}")
    return [(f"inputs tried ({files} history files, {len(vectors) - files} command lines)", str(len(vectors)), "-", True),
            ("  tracebacks", str(len(tracebacks)), "0", not tracebacks),
            (f"  hangs (> {args.input_timeout:g} s)", str(len(hangs)), "0", not hangs),
            ("  exit codes outside {0,1,2,3} (4 = internal error)", str(len(outside)), "0", not outside),
            ("  peak memory of one child (ru_maxrss)", f"{peak.rss_mb:.0f} MB", f"<= {MEMORY_GOAL_MB} MB",
             peak.rss_mb <= MEMORY_GOAL_MB)]


# ----------------------------------------------------------------------------- false alarms


def fill_memory(target: Server) -> list[threading.Thread]:  # keys outside the prefix until OOM
    with contextlib.suppress(redis.ResponseError), target.client() as client:
        for index in range(5000):
            client.set(f"filler:{index}", "x" * 4096)
    return []


STATES: dict[str, tuple[tuple[str, ...], Callable[[Server, float], list[threading.Thread]]]] = {
    "maxclients 5 < 8 clients": (("--maxclients", "5"), lambda s, d: []),
    "out of memory (noeviction)": (("--maxmemory", "1mb", "--maxmemory-policy", "noeviction"), lambda s, d: fill_memory(s)),
    "read-only replica": (("--replicaof", "127.0.0.1", "{dead}", "--replica-read-only", "yes"), lambda s, d: []),
    "stale replica (serve-stale-data no)": (("--replicaof", "127.0.0.1", "{dead}", "--replica-serve-stale-data", "no"),
                                            lambda s, d: []),
    "paused 2.5 s (SIGSTOP/SIGCONT)": ((), lambda s, d: later(0.3 * d, lambda: s.process.send_signal(signal.SIGSTOP),
                                                           lambda: time.sleep(2.5),
                                                           lambda: s.process.send_signal(signal.SIGCONT))),
    "killed, restarted on its port": ((), lambda s, d: later(0.3 * d, s.kill, lambda: time.sleep(1.0), s.start)),
    "CLIENT KILL x3": ((), lambda s, d: later(0.25 * d, *[lambda: (s.client().client_kill_filter(_type="normal"),
                                                                 time.sleep(0.25 * d))] * 3)),
}


def bench_false_alarms(work: Path, trials: int, duration: float) -> list[Row]:
    alarms, crashes, left, runs = 0, 0, 0, 0
    print(f"\nFalse alarms: redlin.run, 8 clients, --duration {duration:g}, {trials} run(s) per server state")
    for name, (extra, act) in STATES.items():
        seen: collections.Counter[str] = collections.Counter()
        for trial in range(trials):
            runs += 1
            dead = str(free_port())  # a primary nobody listens for
            with contextlib.closing(Server(work / f"s{runs}", *(dead if a == "{dead}" else a for a in extra))) as target:
                threads = act(target, duration)
                try:
                    outcome = redlin.run(target.url, workload="mixed", clients=8, duration=duration, ops=None,
                                         timeout=1.0, reconnect_for=15, seed=trial, out=work / f"run-{runs}",
                                         database=None, shrink_time=3)
                    seen[f"{outcome.verdict} (exit {outcome.exit_code})"] += 1
                    alarms += outcome.verdict == "violation"
                except Exception as error:  # noqa: BLE001 - UsageError is exit 3; anything else a crash, counted
                    crashes += not isinstance(error, UsageError)
                    seen["refused (exit 3)" if isinstance(error, UsageError) else f"crash {type(error).__name__}"] += 1
                    print(f"    {name}: {error!r}"[:200])
                for thread in threads:
                    thread.join()  # bounded: a restart gives up after 15 s
                with contextlib.suppress(redis.RedisError):
                    left += target.count()
        print(f"  {name:<38} {dict(seen)}")
    return [(f"false alarms: VIOLATION against a correct server ({runs} runs)", str(alarms), "0", alarms == 0),
            ("  runs that raised (not UsageError)", str(crashes), "0", crashes == 0),
            ("  keys left under redlin: after those runs", str(left), "0", left == 0)]


# ----------------------------------------------------------------------------- foreign keys and hostile scripts

HOSTILE = {"flushall": "redis.call('FLUSHALL') return 1", "undeclared": "redis.call('SET', 'user:0', 'x') return 1",
           "computed-name": "redis.call('SET', 'us' .. 'er:' .. '1', 'x') return 1",
           "through-variable": "local c = redis.call c('DEL', 'user:2') return 1",
           "pcall": "local e = redis.pcall('FLUSHDB') return 'survived'",
           "loop": "for i = 0, 50 do pcall(redis.call, 'DEL', 'user:' .. i) end return 'survived'",
           "select": "redis.call('SELECT', 1) redis.call('DEL', 'user:3') return 1",
           "keys-rewritten": "KEYS[1] = 'user:4' redis.call('DEL', KEYS[1]) return 1",
           "getfenv": "getfenv(0).redis.call('FLUSHALL') return 1",
           "coroutine": "pcall(coroutine.wrap(function() redis.call('FLUSHALL') end)) return 'survived'"}
HONEST = {"name": "honest", "doc": "scripts on their own keys", "keys": ["h0", "h1", "h2"],
          "steps": [{"eval": "local v = redis.call('INCRBY', KEYS[1], ARGV[1]) return {v, redis.call('DECRBY', KEYS[2], "
                             "ARGV[1])}", "keys": ["{key}", "{key2}"], "args": ["{amount}"], "weight": 2},
                    {"op": "GET {key}"}]}
USER_KEYS = [("SET", "{k}", "value {i}"), ("HSET", "{k}", "a", "{i}", "b", "x"), ("RPUSH", "{k}", "a", "{i}", "c"),
             ("SADD", "{k}", "a", "{i}"), ("ZADD", "{k}", "{i}", "a", "1.5", "b"), ("XADD", "{k}", "*", "f", "{i}"),
             ("SET", "{k}", "\x00\xff{i}", "PX", "1000000000")]


def populate(target: Server, count: int) -> None:
    """``count`` keys of every type in databases 0 and 1, none under redlin's prefix."""
    for db in (0, 1):
        client = target.client(db)
        client.flushdb()
        for index in range(count):
            command = USER_KEYS[index % len(USER_KEYS)]
            client.execute_command(*(arg.format(k=f"user:{index}", i=index) for arg in command))


def dumps(target: Server) -> dict[tuple[int, bytes], Any]:
    return {(db, key): target.client(db).dump(key) for db in (0, 1)
            for key in target.client(db).scan_iter(count=1000) if not key.startswith(b"redlin:")}


def bench_foreign_keys(work: Path, ops: int, count: int = 150) -> list[Row]:
    (work / "honest.json").write_text(json.dumps(HONEST))
    workloads = [("mixed", "mixed", False), ("honest scripts", str(work / "honest.json"), False)]
    for name, plain in HOSTILE.items():  # each plain, and behind a condition only the run's later keys meet
        hidden = f"if not string.find(KEYS[1], ':0:', 1, true) then {plain} end return redis.call('INCR', KEYS[1])"
        for label, script in ((f"hostile {name}", plain), (f"hostile {name}, data-dependent", hidden)):
            path = work / f"{label.replace(' ', '-').replace(',', '')}.json"
            path.write_text(json.dumps({"name": name, "doc": "hostile", "keys": ["k0", "k1"],
                                        "steps": [{"op": "GET {key}"}, {"eval": script, "keys": ["{key}"]}]}))
            workloads.append((label, str(path), True))
    disturbed, accepted, left, outcomes = 0, [], 0, collections.Counter[str]()
    print(f"\nForeign keys: {2 * count} user keys in databases 0 and 1, {len(workloads)} workloads")
    with contextlib.closing(Server(work / "foreign-redis")) as target:
        populate(target, count)
        before = dumps(target)
        for label, workload, hostile in workloads:
            try:
                outcome = redlin.run(target.url, workload=workload, ops=60 if hostile else ops, clients=2 if hostile
                                     else 4, out=work / "fk" / label.replace(" ", "-"), database=None, shrink_time=2)
                outcomes[f"{outcome.verdict} (exit {outcome.exit_code})"] += 1
                accepted += [f"{label}: {outcome.verdict}"] if hostile else []
            except UsageError as error:
                outcomes["refused (exit 3)"] += 1
                if not hostile:
                    print(f"  {label}: refused: {str(error)[:150]}")
            after = dumps(target)
            changed = sum(1 for key, dump in before.items() if after.get(key) != dump) + len(set(after) - set(before))
            disturbed += changed
            left += target.count() + target.count(db=1)
            if changed:
                print(f"  {label}: {changed} foreign keys changed, lost or created")
                populate(target, count)
    print(f"  outcomes: {dict(outcomes)}; hostile workloads not refused: {accepted or 'none'}")
    return [(f"foreign keys disturbed ({2 * count} keys, {len(workloads)} workloads)", str(disturbed), "0",
             disturbed == 0), ("  hostile workloads not refused", str(len(accepted)), "0", not accepted),
            ("  keys left under redlin: after those runs", str(left), "0", left == 0)]


# ----------------------------------------------------------------------------- signals, duration, Pub/Sub


def bench_signals(work: Path, trials: int, rng: random.Random, latest: float) -> list[Row]:
    left, wrong, alarms, ended = 0, 0, 0, []
    print(f"\nSignals: redlin run --duration 60, {trials} runs, the signal 0.1-{latest:g} s after it starts recording")
    with contextlib.closing(Server(work / "signal-redis")) as target:
        for trial in range(trials):
            name, out = ("SIGTERM", "SIGHUP")[trial % 2], work / f"sig-{trial}"
            delay = 0.1 + (latest - 0.1) * trial / max(1, trials - 1) + rng.uniform(0, 0.2)
            child = run_child(["run", "--target", target.url, "--duration", "60", "--workload", "mixed", "--seed",
                               str(trial), "--out", str(out), "--progress", "none"], work / "cwd", 120,
                              send=(delay, getattr(signal, name), out / "history.jsonl"))
            ended.append(child.seconds - (child.signalled or 0.0))
            left += (keys := target.client().dbsize())
            wrong += child.code not in DOCUMENTED | {130} or child.hung or "Traceback" in child.stdout + child.stderr
            alarms += verdict_of(child.stdout) == "violation"
            print(f"  {name:<7} {child.signalled or float('nan'):4.1f} s after the start: exit {child.code}, "
                  f"{verdict_of(child.stdout)}, {keys} keys left, ended {ended[-1]:.1f} s after the signal"
                  + (f"; stderr: {child.stderr.strip()[-150:]}" if child.code not in (0, 130) else ""))
    return [(f"keys left after SIGTERM / SIGHUP ({trials} runs)", str(left), "0", left == 0),
            ("  exit codes outside {0,1,2,3,130}, tracebacks, hangs", str(wrong), "0", wrong == 0),
            ("  violations", str(alarms), "0", alarms == 0),
            ("  slowest end after the signal", f"{max(ended):.1f} s", f"<= {TAIL:g} s", max(ended) <= TAIL)]


def bench_budgets(work: Path, duration: float) -> list[Row]:
    """``--duration`` with 8 and 64 clients; a Pub/Sub run's history checked again."""
    worst, alarms = 0.0, 0
    print(f"\nDuration: redlin run --duration {duration:g} against a private server")
    with contextlib.closing(Server(work / "budget-redis")) as target:
        for clients in (8, 64):
            child = run_child(["run", "--target", target.url, "--duration", str(duration), "--clients", str(clients),
                               "--out", str(work / f"dur-{clients}"), "--progress", "none"], work / "cwd",
                              duration + 3 * TAIL)
            overrun = child.seconds - duration
            worst, alarms = max(worst, overrun), alarms + (verdict_of(child.stdout) == "violation")
            print(f"  {clients:>3} clients: {verdict_of(child.stdout)}, exit {child.code}, overrun {overrun:.1f} s"
                  + (" (killed)" if child.hung else ""))
        print(f"\nPub/Sub: redlin run --workload pubsub --duration {duration:g}, then redlin check --time-limit 60")
        ran = run_child(["run", "--target", target.url, "--workload", "pubsub", "--duration", str(duration),
                         "--out", str(work / "ps-run"), "--progress", "none"], work / "cwd", duration + 3 * TAIL)
    result = work / "ps-run" / "result.json"
    document = json.loads(result.read_text()) if result.exists() else {}
    check = run_child(["check", str(work / "ps-run" / "history.jsonl"), "--time-limit", "60", "--out",
                       str(work / "ps-check")], work / "cwd", 180)
    same = bool(document) and verdict_of(check.stdout) == document.get("verdict") and not check.hung
    own = document.get("elapsed", float("nan"))
    print(f"  run: {verdict_of(ran.stdout)} (exit {ran.code}), {document.get('operations', '?')} operations, its "
          f"check {own:.2f} s; re-check: {verdict_of(check.stdout)} (exit {check.code}), {check.seconds:.1f} s wall"
          + ("" if same else f"; stderr: {(ran.stderr + check.stderr).strip()[-200:]}"))
    return [(f"duration overrun, worst of 8 and 64 clients (D = {duration:g} s)", f"{worst:.1f} s", f"<= {TAIL:g} s",
             worst <= TAIL), ("  violations in those runs", str(alarms), "0", alarms == 0),
            ("Pub/Sub re-check: verdict differs from the run's", str(int(not same)), "0", same),
            (f"  re-check wall time (the run's own check: {own:.2f} s)", f"{check.seconds:.1f} s", "<= 60 s",
             check.seconds <= 60)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small budget (a minute or two)")
    parser.add_argument("--inputs", type=int, help=f"malformed history files (default {FULL['inputs']}, quick {QUICK['inputs']})")
    parser.add_argument("--args", type=int, help=f"random bad command lines besides the fixed ones ({FULL['args']}, quick {QUICK['args']})")
    parser.add_argument("--trials", type=int, help=f"runs per server state ({FULL['trials']}, quick {QUICK['trials']})")
    parser.add_argument("--signal-trials", type=int, help=f"SIGTERM/SIGHUP runs ({FULL['signal_trials']}, quick {QUICK['signal_trials']})")
    parser.add_argument("--duration", type=float, help=f"--duration of the overrun and Pub/Sub runs ({FULL['duration']:g}, quick {QUICK['duration']:g})")
    parser.add_argument("--input-timeout", type=float, default=30.0, help="seconds before an input counts as a hang (30)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="inputs tried at once (the CPUs)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the mutations and signal moments (0)")
    parser.add_argument("--porcupine", type=Path, default=PORCUPINE, help="Porcupine's histories (../shared/data/porcupine)")
    parser.add_argument("--skip", action="append", default=[], help="leave a part out (repeatable)",
                        choices=["inputs", "states", "foreign", "signals", "budgets"])
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if system_redis_server() is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    rng, rows = random.Random(args.seed), list[Row]()
    started, cwd = time.monotonic(), os.getcwd()
    parts: dict[str, Callable[[Path], list[Row]]] = {
        "inputs": lambda work: bench_inputs(work / "inputs", args, rng),
        "states": lambda work: bench_false_alarms(work, args.trials, 3.0 if args.quick else 6.0),
        "foreign": lambda work: bench_foreign_keys(work, 300 if args.quick else 1500),
        "signals": lambda work: bench_signals(work, args.signal_trials, rng, 2.0 if args.quick else 5.0),
        "budgets": lambda work: bench_budgets(work, args.duration)}
    with tempfile.TemporaryDirectory(prefix="redlin-reliability-") as directory:
        work = Path(directory)
        (work / "cwd").mkdir()
        os.chdir(work / "cwd")  # what a run writes by default (reports/, .hypothesis/) stays in the folder
        try:
            for name, part in parts.items():
                if name not in args.skip:
                    began = time.monotonic()
                    rows += part(work)
                    print(f"  ({name}: {time.monotonic() - began:.0f} s)")
        finally:
            os.chdir(cwd)
    width = max((len(row[0]) for row in rows), default=7)
    print(f"\n{'measure':<{width}} | {'count':>9} | {'goal':<10} | ok?\n{'-' * width}-+-{'-' * 9}-+-{'-' * 10}-+-----")
    for measure, count, goal, ok in rows:
        print(f"{measure:<{width}} | {count:>9} | {goal:<10} | {'yes' if ok else 'NO'}")
    print(f"\n{time.monotonic() - started:.0f} s in all")
    return 0 if all(row[3] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
