"""How redlin scales: histories of 10k to 1M operations, each checked in a fresh process, Porcupine beside.

Usage::

    python bench/scale.py [--sizes 10k,100k] [--only NAME] [--timeout S] [--work DIR] [--porcupine DIR]
                          [--memory MIB] [--max-states N]

The histories, generated once into ``--work`` (``~/.cache/redlin-bench`` by default, outside the
repository) and reused:

- ``register-unique``: a compare-and-set register, 5 clients, every written value unique;
- ``register-small``: the same with values 0..4 only (many equal states: the hard case for a memo);
- ``kv-many``: a key/value store over 1,000 keys, 10 clients (get, put, append);
- ``redis-mixed``: a Redis history as ``redlin run`` records one (strings, counters, lists, hashes,
  sets over 100 keys, 5 clients), in redlin's JSON Lines, its replies computed by redlin's model.

Each is linearizable by construction: clients are interleaved at random, and each operation takes
effect (a sequential model steps) at a random moment between its invocation and its completion.
The registers are written as Porcupine's etcd logs and the kv store as Porcupine's kv format, so
both checkers read the very same files.

Each check runs in a new process, so the peak memory (max RSS) is that check's alone.  Times are
CPU seconds of that process (comparable on a machine shared with other work); a check that runs
past ``--timeout`` seconds is killed and shown as ``timeout``, one that needs more than
``--memory`` MiB of address space fails as ``out of memory``.  When ``go`` is on PATH and a
Porcupine source tree is given (``--porcupine``), a small driver is written to the work folder,
built against it, and run on the same files in the same run; ``ratio`` is redlin's check time over
Porcupine's (both CPU time, below 1 where redlin is faster; Porcupine checks the kv store's keys on
parallel goroutines).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from redlin import History, Operation, check, load, save_history
from redlin.model import Redis

SEED = 20260415
VERSION = 1  # of the generators: bump it when they change, so cached files are remade
CASES = ("register-unique", "register-small", "kv-many", "redis-mixed")
FORMATS = {"register-unique": "porcupine-etcd", "register-small": "porcupine-etcd",
           "kv-many": "porcupine-kv", "redis-mixed": "jsonl"}
SUFFIX = {"porcupine-etcd": "log", "porcupine-kv": "txt", "jsonl": "jsonl"}
_PENDING = object()


# ----------------------------------------------------------------------------- generating


def interleave(rng: random.Random, clients: int, count: int, new_call: Callable[[int], Any],
               apply: Callable[[int, Any], Any]) -> Iterator[tuple[str, int, Any, Any]]:
    """Events ``(kind, client, call, result)`` of ``count`` operations by ``clients`` clients.

    Each step picks a client at random and moves its operation on: invoke, take effect (``apply``
    runs the model: the linearization point, not an event), complete.  So every history made here
    is linearizable, with up to ``clients`` operations overlapping.
    """
    slots: list[list[Any] | None] = [None] * clients
    started = 0
    while True:
        busy = [c for c in range(clients) if slots[c] is not None]
        if started == count and not busy:
            return
        client = rng.randrange(clients) if started < count else rng.choice(busy)
        slot = slots[client]
        if slot is None:
            call = new_call(client)
            slots[client] = [call, _PENDING]
            started += 1
            yield "invoke", client, call, None
        elif slot[1] is _PENDING:
            slot[1] = apply(client, slot[0])
        else:
            slots[client] = None
            yield "ok", client, slot[0], slot[1]


def _edn(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, tuple):
        return "[" + " ".join(_edn(item) for item in value) + "]"
    return json.dumps(value) if isinstance(value, str) else str(value)


def write_register(path: Path, count: int, values: int | None) -> None:
    """A cas register as a Porcupine etcd log; ``values`` bounds the values (None: all unique)."""
    rng = random.Random(SEED)
    state: list[Any] = [None]
    fresh = iter(range(1, 1 << 62))

    def value() -> int:
        return next(fresh) if values is None else rng.randrange(values)

    def new_call(client: int) -> tuple[Any, ...]:
        roll = rng.random()
        if roll < 0.4:
            return ("read", None)
        if roll < 0.7:
            return ("write", value())
        current = state[0] if state[0] is not None and rng.random() < 0.6 else value()
        return ("cas", (current, value()))

    def apply(client: int, call: tuple[Any, ...]) -> Any:
        if call[0] == "read":
            return state[0]
        if call[0] == "write":
            state[0] = call[1]
            return True
        if state[0] == call[1][0]:
            state[0] = call[1][1]
            return True
        return False

    with path.open("w") as out:
        for kind, client, call, result in interleave(rng, 5, count, new_call, apply):
            shown = result if call[0] == "read" and kind == "ok" else call[1]
            kind = "fail" if result is False else kind
            out.write(f"INFO  jepsen.util - {client}\t:{kind}\t:{call[0]}\t{_edn(shown)}\n")


def write_kv(path: Path, count: int, keys: int = 1000, clients: int = 10) -> None:
    """A key/value store in Porcupine's kv format: gets, puts and appends of unique tokens."""
    rng = random.Random(SEED)
    store: dict[str, str] = {}
    tokens = iter(range(1 << 62))

    def new_call(client: int) -> tuple[str, str, str | None]:
        key, roll = str(rng.randrange(keys)), rng.random()
        f = "get" if roll < 0.5 else "put" if roll < 0.8 else "append"
        return (f, key, None if f == "get" else f"x {client} {next(tokens)} y")

    def apply(client: int, call: tuple[str, str, str | None]) -> str | None:
        f, key, value = call
        if f == "get":
            return store.get(key, "")
        store[key] = value if f == "put" else store.get(key, "") + str(value)
        return value

    with path.open("w") as out:
        for kind, client, (f, key, value), result in interleave(rng, clients, count, new_call, apply):
            shown = result if kind == "ok" else value
            out.write(f"{{:process {client}, :type :{kind}, :f :{f}, :key {_edn(key)}, :value {_edn(shown)}}}\n")


def _redis_call(rng: random.Random, token: int) -> tuple[bytes, ...]:
    """One single-key command on one of 100 keys of five types."""
    kind, slot = rng.randrange(5), rng.randrange(20)
    value = b"v%d" % token
    choices: tuple[tuple[bytes, ...], ...]
    if kind == 0:
        key = b"s%d" % slot
        choices = ((b"SET", key, value), (b"GET", key), (b"APPEND", key, value), (b"DEL", key), (b"STRLEN", key))
    elif kind == 1:
        key = b"c%d" % slot
        choices = ((b"INCR", key), (b"INCRBY", key, b"%d" % rng.randrange(-5, 6)), (b"GET", key), (b"DECR", key))
    elif kind == 2:
        key = b"l%d" % slot
        choices = ((b"LPUSH", key, value), (b"RPUSH", key, value), (b"LPOP", key), (b"LLEN", key),
                   (b"LRANGE", key, b"0", b"2"))
    elif kind == 3:
        key = b"h%d" % slot
        field = b"f%d" % rng.randrange(4)
        choices = ((b"HSET", key, field, value), (b"HGET", key, field), (b"HDEL", key, field), (b"HLEN", key))
    else:
        key = b"t%d" % slot
        member = b"m%d" % rng.randrange(8)
        choices = ((b"SADD", key, member), (b"SREM", key, member), (b"SCARD", key), (b"SISMEMBER", key, member))
    return rng.choice(choices)


def write_redis(path: Path, count: int) -> None:
    """A mixed Redis history in redlin's JSON Lines, its replies computed by the model."""
    rng = random.Random(SEED)
    server = Redis()
    clients = [server.client(client) for client in range(5)]
    tokens = iter(range(1 << 62))

    def apply(client: int, call: tuple[tuple[bytes, ...], ...]) -> tuple[Any, ...]:
        return tuple(clients[client].execute(*argv) for argv in call)

    ops: list[Operation] = []
    open_ops: dict[int, tuple[int, int]] = {}  # client -> (index in ops, invoke time)
    events = interleave(rng, 5, count, lambda _client: (_redis_call(rng, next(tokens)),), apply)
    for time_ns, (kind, client, call, result) in enumerate(events):
        if kind == "invoke":
            open_ops[client] = (len(ops), time_ns * 1000)
            ops.append(Operation(len(ops), client, call, None, time_ns * 1000, None))
        else:
            index, invoked = open_ops.pop(client)
            ops[index] = Operation(index, client, call, result, invoked, time_ns * 1000)
    save_history(History(tuple(ops)), path, model="redis")


def history_file(work: Path, case: str, count: int) -> Path:
    """The cached history of ``case`` with ``count`` operations, generated when missing."""
    path = work / f"{case}-{count}-v{VERSION}.{SUFFIX[FORMATS[case]]}"
    if path.exists():
        return path
    partial = path.with_name(path.name + ".partial")  # an interrupted run leaves no half file behind
    if case == "register-unique":
        write_register(partial, count, None)
    elif case == "register-small":
        write_register(partial, count, 5)
    elif case == "kv-many":
        write_kv(partial, count)
    else:
        write_redis(partial, count)
    partial.replace(path)
    return path


# ----------------------------------------------------------------------------- checking


def check_one(path: str, fmt: str, time_limit: float, max_states: int | None) -> dict[str, Any]:
    """Load and check one file in this process (the fresh child the bench starts)."""
    started = time.process_time()
    history, model = load(path, fmt)
    loaded = time.process_time()
    result = check(history, model, time_limit=time_limit, **({"max_states": max_states} if max_states else {}))
    checked = time.process_time()
    return {"ops": len(history), "load": loaded - started, "check": checked - loaded, "verdict": result.verdict,
            "mib": peak_mib(), "reason": getattr(result, "reason", "")}


def peak_mib() -> float:
    """This process's peak resident memory.  /proc's VmHWM, where there is one: ``ru_maxrss`` also
    counts the parent's memory copied by ``fork`` before ``exec`` (Linux keeps it across exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(command: list[str], timeout: float, memory_mib: int) -> dict[str, Any] | str:
    """The JSON a child prints last, or why there is none ('timeout', 'out of memory', 'error: ...').

    The child may address at most ``memory_mib`` MiB (RLIMIT_AS): a checker whose memory grows with
    the square of the history (Porcupine's cache of bitsets on one register) must fail alone, not
    take a machine shared with others down with it.
    """
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mib << 20, memory_mib << 20))

    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        return "timeout"
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        if "out of memory" in done.stderr or "MemoryError" in done.stderr:
            return "out of memory"
        return "error: " + (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1][:80]
    return json.loads(lines[-1])  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- Porcupine


DRIVER = r"""package main

// Reads the bench's etcd-log and kv files, checks them with Porcupine, prints one JSON line.
import (
	"bufio"; "fmt"; "os"; "regexp"; "strconv"; "strings"; "syscall"; "time"/*FNV*/
	"github.com/anishathalye/porcupine"
)

type regIn struct{ op string; a, b int }
type regOut struct{ ok bool; value int; unknown bool }
type kvIn struct{ op, key, value string }

func num(s string) int { if s == "nil" { return -1 }; n, err := strconv.Atoi(s); if err != nil { panic(s) }; return n }

var register = porcupine.Model{/*HASH_INT*/
	Init: func() interface{} { return -1 },
	Step: func(st, in, out interface{}) (bool, interface{}) {
		s, i, o := st.(int), in.(regIn), out.(regOut)
		switch i.op {
		case "read": return o.unknown || o.value == s, s
		case "write": return true, i.a
		}
		if !o.unknown && o.ok != (s == i.a) { return false, s }
		if s == i.a { return true, i.b }
		return true, s
	},
}

var kv = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		for _, op := range h { k := op.Input.(kvIn).key; by[k] = append(by[k], op) }
		parts := [][]porcupine.Operation{}
		for _, p := range by { parts = append(parts, p) }
		return parts
	},
	Init: func() interface{} { return "" },/*HASH_STRING*/
	Step: func(st, in, out interface{}) (bool, interface{}) {
		s, i := st.(string), in.(kvIn)
		switch i.op {
		case "get": return out.(string) == s, s
		case "put": return true, i.value
		}
		return true, s + i.value
	},
}

// The kv store as one model without partitions (Porcupine's kvNoPartitionModel): a map of keys.
var kvMap = porcupine.Model{/*HASH_MAP*/
	Init: func() interface{} { return map[string]string{} },
	Step: func(st, in, out interface{}) (bool, interface{}) {
		s, i := st.(map[string]string), in.(kvIn)
		if i.op == "get" { return out.(string) == s[i.key], st }
		next := make(map[string]string, len(s) + 1)
		for k, v := range s { next[k] = v }
		if i.op == "put" { next[i.key] = i.value } else { next[i.key] = s[i.key] + i.value }
		return true, next
	},
	Equal: func(a, b interface{}) bool {
		x, y := a.(map[string]string), b.(map[string]string)
		if len(x) != len(y) { return false }
		for k, v := range x { if w, ok := y[k]; !ok || w != v { return false } }
		return true
	},
}

var kvLine = regexp.MustCompile(`:process (\d+), :type :(\w+), :f :(\w+), :key "([^"]*)", :value (nil|"[^"]*")`)

func cpu() float64 {
	var u syscall.Rusage; syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return float64(u.Utime.Nano()+u.Stime.Nano()) / 1e9
}

func main() {
	kind, path := os.Args[1], os.Args[2]
	limit, _ := strconv.ParseFloat(os.Args[3], 64)
	file, err := os.Open(path); if err != nil { panic(err) }
	scanner := bufio.NewScanner(file); scanner.Buffer(make([]byte, 1<<20), 1<<26)
	ops := []porcupine.Operation{}; open := map[int]int{}
	t := int64(0)
	for ; scanner.Scan(); t++ {
		var client int; var typ string; var in, out interface{}
		if kind == "etcd" {
			// As Porcupine's own test parser reads Jepsen's etcd logs: an :info completion leaves the
			// call open to the end, with an unknown output; a failed read returns an unknown output.
			f := strings.Fields(scanner.Text())
			client = num(f[3]); typ = f[4][1:]; value := strings.Trim(strings.Join(f[6:], " "), "[]")
			if typ == "info" { continue }
			switch {
			case f[5] == ":read" && typ == "fail": in = regIn{op: "read"}; out = regOut{unknown: true}
			case f[5] == ":read": in = regIn{op: "read"}; out = regOut{value: num(value)}
			case f[5] == ":write": in = regIn{op: "write", a: num(value)}; out = regOut{}
			default: ab := strings.Fields(value); in = regIn{"cas", num(ab[0]), num(ab[1])}; out = regOut{ok: typ == "ok"}
			}
		} else {
			m := kvLine.FindStringSubmatch(scanner.Text())
			client = num(m[1]); typ = m[2]; v := strings.Trim(m[5], "\""); in = kvIn{m[3], m[4], v}; out = v
		}
		if typ == "invoke" {
			open[client] = len(ops); ops = append(ops, porcupine.Operation{ClientId: client, Input: in, Call: t})
		} else {
			i := open[client]; delete(open, client); ops[i].Output = out; ops[i].Return = t
		}
	}
	if kind == "etcd" {
		for _, i := range open { ops[i].Output = regOut{unknown: true}; ops[i].Return = t + 1 }
	}
	model := register; if kind == "kv" { model = kv }
	if kind == "kv-nopartition" { model = kvMap }
	repeat := 1 // an optional 4th argument: check N times in this process, keep the best (warm) time
	if len(os.Args) > 4 { repeat, _ = strconv.Atoi(os.Args[4]) }
	// An optional 5th argument "verbose": CheckOperationsVerbose, which also computes the
	// counterexample's partial linearizations (what redlin's results always carry).
	verbose := len(os.Args) > 5 && os.Args[5] == "verbose"
	timeout := time.Duration(limit*float64(time.Second))
	var result porcupine.CheckResult
	spent, took, all := -1.0, time.Duration(0), time.Duration(0)
	for r := 0; r < repeat && (r == 0 || all < timeout); r++ { // repeats stop once they took the limit in all
		wall, started := time.Now(), cpu()
		if verbose { result, _ = porcupine.CheckOperationsVerbose(model, ops, timeout) } else {
			result = porcupine.CheckOperationsTimeout(model, ops, timeout) }
		all += time.Since(wall)
		if now := cpu() - started; spent < 0 || now < spent { spent, took = now, time.Since(wall) }
	}
	status, _ := os.ReadFile("/proc/self/status") // VmHWM: this process's own peak (see peak_mib)
	kib := 0.0
	if m := regexp.MustCompile(`VmHWM:\s+(\d+)`).FindSubmatch(status); m != nil { kib, _ = strconv.ParseFloat(string(m[1]), 64) }
	fmt.Printf("{\"verdict\": %q, \"check\": %f, \"wall\": %f, \"mib\": %f}\n", result, spent, took.Seconds(), kib/1024)
}
"""
_VERDICTS = {"Ok": "linearizable", "Illegal": "violation", "Unknown": "unknown"}


def build_driver(work: Path, porcupine: Path | None) -> tuple[Path | None, str]:
    """Build the Porcupine driver in ``work``; (binary, '') or (None, why not and how to)."""
    folder = work / "porcupine-driver"
    source = porcupine or Path("PORCUPINE-SRC")
    how = (f"  git clone https://github.com/anishathalye/porcupine {source}\n"
           f"  python bench/scale.py ... --porcupine {source}   # writes {folder}/main.go and go.mod, then runs:\n"
           f"  cd {folder} && GOFLAGS=-mod=mod GOPROXY=off go build -o driver .")
    if shutil.which("go") is None:
        return None, "go is not on PATH (apt-get install golang-go, or https://go.dev/dl), then:\n" + how
    if porcupine is None or not (porcupine / "go.mod").is_file():
        return None, "no Porcupine source tree (--porcupine DIR); to get one:\n" + how
    folder.mkdir(parents=True, exist_ok=True)
    driver = DRIVER
    if "Hash func(state interface{}) uint64" in (porcupine / "model.go").read_text(encoding="utf-8"):
        # Porcupine's own test models give it a state hash since it takes one (its cache is then
        # much faster): so does the driver, for a fair comparison.
        driver = (driver.replace("/*FNV*/", '; "hash/fnv"')
                  .replace("/*HASH_INT*/", "\n\tHash: func(st interface{}) uint64 { return uint64(st.(int)) },")
                  .replace("/*HASH_MAP*/", "\n\tHash: func(st interface{}) uint64 { var h uint64; for k, v := range "
                                           "st.(map[string]string) { f := fnv.New64a(); f.Write([]byte(k)); "
                                           "f.Write([]byte{0}); f.Write([]byte(v)); h ^= f.Sum64() }; return h },")
                  .replace("/*HASH_STRING*/", "\n\tHash: func(st interface{}) uint64 { h := fnv.New64a(); "
                                              "h.Write([]byte(st.(string))); return h.Sum64() },"))
    for unused in ("/*FNV*/", "/*HASH_INT*/", "/*HASH_STRING*/", "/*HASH_MAP*/"):
        driver = driver.replace(unused, "")
    (folder / "main.go").write_text(driver)
    (folder / "go.mod").write_text("module redlinbench/driver\n\ngo 1.16\n\n"
                                   "require github.com/anishathalye/porcupine v0.0.0\n\n"
                                   f"replace github.com/anishathalye/porcupine => {porcupine.resolve()}\n")
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOPROXY": "off"}
    done = subprocess.run(["go", "build", "-o", "driver", "."], cwd=folder, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        return None, "building the Porcupine driver failed:\n" + done.stderr[-800:]
    return folder / "driver", ""


# ----------------------------------------------------------------------------- the table


def parse_size(text: str) -> int:
    """``10k`` -> 10000, ``1M`` -> 1000000."""
    scale = {"k": 1000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def _cell(result: dict[str, Any] | str, key: str, spec: str) -> str:
    width = spec.split(".")[0]
    return format(result[key], spec) if isinstance(result, dict) else format("-", ">" + width)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k,100k", help="operations per history, comma separated (10k,100k,1M)")
    parser.add_argument("--only", choices=CASES, action="append", help="only this history (repeatable)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per check (load included)")
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "redlin-bench",
                        help="where the histories and the Porcupine driver are kept")
    parser.add_argument("--porcupine", type=Path, default=None, help="a Porcupine source tree, to check beside it")
    parser.add_argument("--max-states", type=int, default=None,
                        help="redlin's budget of configurations per check (its default: 1,000,000)")
    parser.add_argument("--memory", type=int, default=8192, help="MiB of address space per check (RLIMIT_AS)")
    parser.add_argument("--check-one", nargs=2, metavar=("PATH", "FORMAT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check_one:
        print(json.dumps(check_one(*args.check_one, time_limit=args.timeout, max_states=args.max_states)))
        return 0

    args.work.mkdir(parents=True, exist_ok=True)
    driver, why = build_driver(args.work, args.porcupine)
    if driver is None:
        print(f"Porcupine is not run: {why}\n")
    sizes = [parse_size(text) for text in args.sizes.split(",")]
    print(f"{'history':16} {'ops':>9} {'load s':>8} {'check s':>9} {'peak MiB':>9} {'verdict':12}"
          + (f" | {'porcupine s':>11} {'peak MiB':>9} {'verdict':12} {'ratio':>7}" if driver else ""))
    for count in sizes:
        for case in args.only or CASES:
            path = history_file(args.work, case, count)
            fmt = FORMATS[case]
            budget = ["--max-states", str(args.max_states)] if args.max_states else []
            ours = run_child([sys.executable, __file__, "--check-one", str(path), fmt, "--timeout", str(args.timeout),
                              *budget], args.timeout, args.memory)
            verdict = ours["verdict"] if isinstance(ours, dict) else ours
            row = (f"{case:16} {count:9,} {_cell(ours, 'load', '8.2f')} {_cell(ours, 'check', '9.2f')} "
                   f"{_cell(ours, 'mib', '9.0f')} {verdict:12}")
            if driver and fmt != "jsonl":
                kind = "etcd" if fmt == "porcupine-etcd" else "kv"
                peer = run_child([str(driver), kind, str(path), str(args.timeout)], args.timeout, args.memory)
                peer_verdict = _VERDICTS.get(peer["verdict"], peer["verdict"]) if isinstance(peer, dict) else peer
                ratio = (f"{ours['check'] / max(peer['check'], 1e-3):7.1f}"
                         if isinstance(ours, dict) and isinstance(peer, dict) else f"{'-':>7}")
                row += (f" | {_cell(peer, 'check', '11.2f')} {_cell(peer, 'mib', '9.0f')} {peer_verdict:12} {ratio}")
            elif driver:
                row += f" | {'(not a format Porcupine reads)':>43}"
            print(row, flush=True)
            if isinstance(ours, dict) and ours["reason"]:
                print(f"{'':16} redlin: {ours['reason']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
