"""The embedded model server (redlin.serve): RESP2 behaviour, sessions, and each planted fault.

Every fault test runs the same small concurrent scenario twice: on the clean server, where the
guarantee holds, and with the fault, where it visibly breaks.
"""

from __future__ import annotations

import ast
import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from redlin.model import INITIAL_STATE, MapReply, Reply, encode_reply, lookup, step
from redlin.serve.faults import make_fault, write_back
from redlin.serve.hooks import Argv, Fault, Host
from redlin.serve.server import FAULTS, RunningServer, Server, serve, start_in_thread

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def running() -> Iterator[RunningServer]:
    with start_in_thread() as server:
        yield server


def client(running: RunningServer) -> redis.Redis:
    return redis.Redis.from_url(running.url, protocol=2, socket_timeout=10)


class Raw:
    """A raw socket to the server: send bytes, read exact bytes back."""

    def __init__(self, running: RunningServer) -> None:
        self.sock = socket.create_connection((running.host, running.port), timeout=5)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                break
            data += chunk
        return data

    def expect(self, request: bytes, reply: bytes) -> None:
        self.send(request)
        assert self.read(len(reply)) == reply

    def closed_by_server(self) -> bool:
        return self.sock.recv(1) == b""

    def close(self) -> None:
        self.sock.close()


def in_threads(count: int, work: Callable[[int], None]) -> None:
    """Run ``work(0..count-1)`` in threads started together; re-raise the first failure."""
    barrier = threading.Barrier(count)
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            work(index)
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


# ----------------------------------------------------------------------------- plain Redis behaviour


def test_get_set_incr(running: RunningServer) -> None:
    r = client(running)
    assert r.ping() is True
    assert r.get("k") is None
    assert r.set("k", "v") is True
    assert r.get("k") == b"v"
    assert r.incr("n") == 1
    assert r.incrby("n", 41) == 42
    with pytest.raises(redis.ResponseError, match="not an integer"):
        r.incr("k")


def test_expired_keys_go_without_being_touched(running: RunningServer) -> None:
    """Active expiry: DBSIZE (which touches no key) drops to 0, as Redis's own expire.tcl expects,
    and a client that WATCHed a key while it lived sees its EXEC fail (W10)."""
    r = client(running)
    r.set("plain", "v")
    for key in ("a", "b", "c"):
        r.psetex(key, 100, "v")
    watcher = client(running)
    watcher.execute_command("WATCH", "a")
    assert r.dbsize() == 4
    assert wait_until(lambda: r.dbsize() == 1, timeout=3)
    watcher.execute_command("MULTI")
    watcher.execute_command("PING")
    assert watcher.execute_command("EXEC") is None


def test_absolute_expiry_times_are_unix_time(running: RunningServer) -> None:
    r = client(running)
    r.set("k", "v", pxat=int(time.time() * 1000) + 10_000)
    assert 9_000 < r.pttl("k") <= 10_000


def test_repeated_random_draws_differ(running: RunningServer) -> None:
    """The server numbers its commands: SRANDMEMBERs fired within one millisecond still vary."""
    r = client(running)
    r.sadd("s", *"abcdefghij")
    pipe = r.pipeline(transaction=False)
    for _ in range(200):
        pipe.srandmember("s")
    assert len(set(pipe.execute())) == 10


def test_multi_exec(running: RunningServer) -> None:
    r = client(running)
    with r.pipeline(transaction=True) as pipe:
        pipe.set("a", 1).incr("a").get("a")
        assert pipe.execute() == [True, 2, b"2"]


def test_watch_aborts_exec_when_another_client_writes_w1(running: RunningServer) -> None:
    r, other = client(running), client(running)
    r.set("k", "0")
    with r.pipeline() as pipe:
        pipe.watch("k")
        other.set("k", "by-other")
        pipe.multi()
        pipe.set("k", "by-watcher")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert r.get("k") == b"by-other"
    with r.pipeline() as pipe:  # no modification: EXEC runs
        pipe.watch("k")
        pipe.multi()
        pipe.set("k", "by-watcher")
        assert pipe.execute() == [True]
    assert r.get("k") == b"by-watcher"


def test_pipelined_commands_are_answered_in_order(running: RunningServer) -> None:
    raw = Raw(running)
    raw.expect(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n1\r\n*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n"
               b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n",
               b"+OK\r\n:2\r\n$1\r\n2\r\n+PONG\r\n")
    with client(running).pipeline(transaction=False) as pipe:
        for _ in range(500):
            pipe.incr("many")
        assert pipe.execute() == list(range(1, 501))


def test_a_command_split_across_packets(running: RunningServer) -> None:
    raw = Raw(running)
    request = b"*3\r\n$3\r\nSET\r\n$5\r\nsplit\r\n$5\r\nvalue\r\n"
    for byte in request[:-1]:
        raw.send(bytes([byte]))
    raw.expect(request[-1:], b"+OK\r\n")


def test_inline_commands(running: RunningServer) -> None:
    raw = Raw(running)
    raw.expect(b"SET greeting hello\r\nGET greeting\r\n\r\nPING\r\n", b"+OK\r\n$5\r\nhello\r\n+PONG\r\n")


def test_exact_bytes_of_replies(running: RunningServer) -> None:
    raw, other = Raw(running), Raw(running)
    raw.expect(b"SET s x\r\n", b"+OK\r\n")
    raw.expect(b"GET missing\r\n", b"$-1\r\n")
    raw.expect(b"INCR s\r\n", b"-ERR value is not an integer or out of range\r\n")
    raw.expect(b"SET x\r\n", b"-ERR wrong number of arguments for 'set' command\r\n")
    raw.expect(b"WATCH s\r\n", b"+OK\r\n")
    other.expect(b"SET s y\r\n", b"+OK\r\n")
    raw.expect(b"MULTI\r\nSET s z\r\nEXEC\r\n", b"+OK\r\n+QUEUED\r\n*-1\r\n")  # aborted EXEC: null array
    raw.expect(b"MULTI\r\nEXEC\r\n", b"+OK\r\n*0\r\n")
    raw.expect(b"GET s\r\n", b"$1\r\ny\r\n")


def test_unknown_command_text_is_the_models(running: RunningServer) -> None:
    raw = Raw(running)
    for argv in ([b"FOO"], [b"nosuch", b"a", b"b c"]):
        expected = encode_reply(step(INITIAL_STATE, 1, argv)[1])
        assert expected.startswith(b"-ERR unknown command")
        request = b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)
        raw.expect(request, expected)


def test_quit_replies_ok_closes_and_drops_the_queue_m22(running: RunningServer) -> None:
    raw = Raw(running)
    raw.expect(b"MULTI\r\nSET q 1\r\nQUIT\r\nPING\r\n", b"+OK\r\n+QUEUED\r\n+OK\r\n")
    assert raw.closed_by_server()
    assert client(running).get("q") is None


def test_closing_a_connection_ends_its_session(running: RunningServer) -> None:
    raw = Raw(running)
    raw.expect(b"WATCH w\r\nMULTI\r\nSET w 1\r\n", b"+OK\r\n+OK\r\n+QUEUED\r\n")
    assert running.server.state.sessions  # the watch and the queue are in the model state
    raw.close()
    assert wait_until(lambda: not running.server.state.sessions and not running.server.connections)
    assert running.server.state.watched == frozenset()
    assert client(running).get("w") is None


def test_protocol_error_replies_and_closes(running: RunningServer) -> None:
    raw = Raw(running)
    raw.send(b"PING\r\n*1\r\nGET\r\n")
    assert raw.read(7) == b"+PONG\r\n"
    line = raw.sock.recv(200)
    assert line.startswith(b"-ERR Protocol error: ") and line.endswith(b"\r\n")
    assert raw.closed_by_server()


def test_time_runs_on_the_server_clock(running: RunningServer) -> None:
    r = client(running)
    r.set("ttl", "v", px=150)
    assert 0 < r.pttl("ttl") <= 150
    time.sleep(0.25)
    assert r.get("ttl") is None


def test_connect_time_commands_of_the_server_layer(running: RunningServer) -> None:
    named = redis.Redis.from_url(running.url, protocol=2, client_name="tester")
    assert named.client_getname() == "tester"  # sent CLIENT SETNAME (and SETINFO) on connect
    assert isinstance(named.client_id(), int)
    raw = Raw(running)
    raw.send(b"CLIENT ID\r\n")
    reply = raw.sock.recv(100)
    client_id = int(reply[1:-2])
    assert reply == b":%d\r\n" % client_id and client_id in running.server.connections
    raw.expect(b"CLIENT GETNAME\r\n", b"$-1\r\n")
    raw.expect(b"*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$9\r\nhas space\r\n",
               b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n")
    raw.expect(b"CLIENT SETINFO LIB-NAME x\r\n", b"+OK\r\n")
    raw.expect(b"CLIENT NOPE\r\n", b"-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.\r\n")
    raw.expect(b"HELLO 4\r\n", b"-NOPROTO unsupported protocol version\r\n")
    raw.expect(b"HELLO 3\r\n", encode_reply(MapReply.flat((  # RESP3 now (tests/test_resp3.py), then back
        b"server", b"redis", b"version", b"7.0.15-redlin-model", b"proto", 3, b"id", client_id,
        b"mode", b"standalone", b"role", b"master", b"modules", ()))))
    raw.expect(b"HELLO 2\r\n", encode_reply((
        b"server", b"redis", b"version", b"7.0.15-redlin-model", b"proto", 2, b"id", client_id,
        b"mode", b"standalone", b"role", b"master", b"modules", ())))
    raw.expect(b"COMMAND\r\nCOMMAND DOCS\r\n", b"*0\r\n*0\r\n")
    assert named.info()["redis_version"] == "7.0.15-redlin-model"
    # Inside MULTI the model decides: an unknown command, so the transaction aborts (M7).
    raw.expect(b"MULTI\r\nCLIENT ID\r\nEXEC\r\n",
               b"+OK\r\n" + encode_reply(step(INITIAL_STATE, 1, [b"CLIENT", b"ID"])[1])
               + b"-EXECABORT Transaction discarded because of previous errors.\r\n")


def test_push_out_of_band(running: RunningServer) -> None:
    raw = Raw(running)
    raw.expect(b"PING\r\n", b"+PONG\r\n")
    (client_id,) = running.server.connections

    async def deliver() -> None:
        running.server.connections[client_id].push((b"message", b"ch", b"hi"))

    running.submit(deliver())
    expected = b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"
    assert raw.read(len(expected)) == expected


def test_refuses_unknown_faults_and_remote_hosts() -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        start_in_thread(fault="nope")
    with pytest.raises(ValueError, match="non-loopback"):
        start_in_thread(host="0.0.0.0")
    assert set(FAULTS) == {"watch-ignored", "exec-not-atomic", "incr-read-then-write", "script-not-atomic",
                           "stale-read", "lost-write", "drop-message", "duplicate-message",
                           "reorder-delivery", "wrong-receiver-count", "watch-first-key-only", "long-exec-not-atomic",
                           "multi-value-reversed", "decrby-overflow-wraps", "score-shortest-format", "echo-as-status",
                           "script-cache-per-connection"} | {
                               "count-as-bulk", "wrongtype-as-err", "arity-error-typed-name", "group-forgets-delivery"}


def test_each_fault_is_an_object_made_by_name() -> None:
    for name, description in FAULTS.items():
        fault = make_fault(name, seed=5)
        assert isinstance(fault, Fault) and str(fault) == fault.name == name
        assert fault.description == description
    with pytest.raises(ValueError, match="unknown fault 'nope'; known faults: watch-ignored, "):
        make_fault("nope")


class CountingFault(Fault):
    """A fault of a user's own, through the same hooks: it counts commands and breaks nothing."""

    name = "counting"

    def __init__(self) -> None:
        super().__init__()
        self.commands: list[bytes] = []
        self.closed_clients: list[int] = []

    async def execute(self, server: Host, client: int, argv: Argv) -> Reply:
        self.commands.append(argv[0].lower())
        return await super().execute(server, client, argv)

    def closed(self, client: int) -> None:
        self.closed_clients.append(client)


def test_the_server_takes_a_fault_object() -> None:
    fault = CountingFault()
    with start_in_thread(fault=fault) as running:
        assert running.server.fault is fault
        raw = Raw(running)
        raw.expect(b"CLIENT ID\r\nSET k 1\r\nGET k\r\n", b":1\r\n+OK\r\n$1\r\n1\r\n")
        raw.close()
        assert wait_until(lambda: fault.closed_clients == [1])
    assert fault.commands == [b"set", b"get"]  # CLIENT ID is the server layer's: no model step


def test_the_server_does_not_import_the_faults() -> None:
    # Read from the source: importing redlin itself may load every module.
    for module in ("model_server", "hooks"):
        tree = ast.parse((ROOT / "checker" / "serve" / f"{module}.py").read_text(encoding="utf-8"))
        imported = {("redlin.serve." if node.level else "") + (node.module or "")
                    for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        assert not {"redlin.serve.faults", "redlin.serve.server"} & imported, module


def test_serve_is_an_asyncio_api() -> None:
    async def run() -> bytes:
        async with await serve(port=0) as server:
            assert isinstance(server, Server) and server.url == f"redis://127.0.0.1:{server.port}/0"
            reader, writer = await asyncio.open_connection(server.host, server.port)
            writer.write(b"ECHO hi\r\n")
            line = await reader.readexactly(8)
            writer.close()
            return line

    assert asyncio.run(run()) == b"$2\r\nhi\r\n"


def test_command_line_serves_until_ctrl_c() -> None:
    env = dict(os.environ)
    # Ctrl-C as at a terminal, even when this test runs where SIGINT is ignored (a background job).
    ctrl_c_able = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                   "from redlin.cli import main; sys.exit(main(sys.argv[1:]))")
    process = subprocess.Popen([sys.executable, "-c", ctrl_c_able, "serve", "--port", "0", "--fault", "lost-write"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        match = re.fullmatch(r"redlin model server listening on redis://127\.0\.0\.1:(\d+)/0 "
                             r"\(fault: lost-write, seed 0\)\n", line)
        assert match, line
        assert redis.Redis(port=int(match[1]), protocol=2).ping()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0
    assert b"Traceback" not in stderr
    with subprocess.Popen([sys.executable, "-m", "redlin", "serve", "--port", "0"], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None
        assert process.stdout.readline().endswith(b"(fault: none)\n")
        process.terminate()  # SIGTERM ends it cleanly too
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0 and b"Traceback" not in stderr
    refused = subprocess.run([sys.executable, "-m", "redlin", "serve", "--host", "10.1.2.3"],
                             cwd=ROOT, env=env, capture_output=True, timeout=30)
    assert refused.returncode == 3 and b"--allow-remote" in refused.stderr and b"Traceback" not in refused.stderr


# ----------------------------------------------------------------------------- planted faults


@pytest.mark.parametrize("fault", [None, "incr-read-then-write"])
def test_incr_read_then_write_loses_updates(fault: str | None) -> None:
    with start_in_thread(fault=fault) as running:
        def work(index: int) -> None:
            r = client(running)
            for _ in range(200):
                r.incr("counter")

        in_threads(4, work)
        total = int(client(running).get("counter") or 0)
    if fault is None:
        assert total == 800
    else:
        assert total < 800


@pytest.mark.parametrize("fault", [None, "exec-not-atomic"])
def test_exec_not_atomic_interleaves_other_clients_m17(fault: str | None) -> None:
    pairs: list[list[int]] = []
    with start_in_thread(fault=fault) as running:
        def work(index: int) -> None:
            with client(running).pipeline(transaction=True) as pipe:
                for _ in range(300):
                    pipe.incr("x").incr("x")
                    pairs.append(pipe.execute())

        in_threads(2, work)
        final = int(client(running).get("x") or 0)
    assert final == 1200  # no update is lost either way
    torn = [pair for pair in pairs if pair[1] != pair[0] + 1]
    if fault is None:
        assert not torn
    else:
        assert torn


@pytest.mark.parametrize("fault", [None, "watch-ignored"])
def test_watch_ignored_runs_a_doomed_exec_w1(fault: str | None) -> None:
    with start_in_thread(fault=fault) as running:
        r, other = client(running), client(running)
        outcomes = []
        for round_ in range(5):
            with r.pipeline() as pipe:
                pipe.watch("k")
                other.set("k", f"other-{round_}")
                pipe.multi()
                pipe.set("k", f"watcher-{round_}")
                try:
                    pipe.execute()
                    outcomes.append("ran")
                except redis.WatchError:
                    outcomes.append("aborted")
        value = r.get("k")
        # Untouched watches still run normally under the fault.
        with r.pipeline() as pipe:
            pipe.watch("k")
            pipe.multi()
            pipe.get("k")
            assert pipe.execute() == [value]
    if fault is None:
        assert outcomes == ["aborted"] * 5 and value == b"other-4"
    else:
        assert outcomes == ["ran"] * 5 and value == b"watcher-4"


@pytest.mark.parametrize("fault", [None, "stale-read"])
def test_stale_read_misses_acknowledged_writes(fault: str | None) -> None:
    with start_in_thread(fault=fault, seed=7) as running:
        writer, reader = client(running), client(running)
        stale = 0
        for i in range(100):
            writer.set("register", i)
            writer.set("elsewhere", i)
            stale += reader.get("register") != str(i).encode()
        assert reader.get("unwritten") is None  # never a value that was never written
    if fault is None:
        assert stale == 0
    else:
        assert 0 < stale < 100


@pytest.mark.parametrize("fault", [None, "lost-write"])
def test_lost_write_acknowledges_writes_it_drops(fault: str | None) -> None:
    with start_in_thread(fault=fault, seed=3) as running:
        writer, reader = client(running), client(running)
        replies = [writer.incr("n") for _ in range(100)]
        final = int(reader.get("n") or 0)
        with writer.pipeline(transaction=True) as pipe:  # writes inside EXEC are never dropped
            pipe.set("t1", 1).set("t2", 2)
            pipe.execute()
        assert reader.mget("t1", "t2") == [b"1", b"2"]
    if fault is None:
        assert replies == list(range(1, 101)) and final == 100
    else:
        # A dropped INCR was answered as if applied, so the next one repeats its reply.
        assert final < 100 and len(set(replies)) < 100 and final in (replies[-1], replies[-1] - 1)


def sequential_workload(running: RunningServer) -> list[object]:
    r = client(running)
    out: list[object] = [r.set("a", 1), r.incr("a"), r.decrby("a", 5), r.incr("missing"), r.get("a")]
    with r.pipeline() as pipe:
        pipe.watch("a")
        pipe.multi()
        pipe.incr("a").incr("a").get("a")
        out.append(pipe.execute())
    with r.pipeline() as pipe:
        pipe.watch("a")
        r.set("a", 100)  # the watcher's own write (W3)
        pipe.multi()
        pipe.incr("a")
        try:
            out.append(pipe.execute())
        except redis.WatchError:
            out.append("aborted")
    out.append(r.get("a"))
    if lookup([b"eval"]) is not None:
        script = ("redis.call('SET', KEYS[1], ARGV[1], 'PX', 100000); redis.call('DEL', KEYS[2]); "
                  "return {redis.call('INCR', KEYS[1]), redis.call('EXISTS', KEYS[2])}")
        r.set("gone", 1)
        out.append(r.eval(script, 2, "s", "gone", 41))
        out.append(r.evalsha(r.script_load("return redis.call('GET', KEYS[1])"), 1, "s"))
        out += [r.get("gone"), 0 < r.pttl("s") <= 100000]
    return out


@pytest.mark.parametrize("fault", ["exec-not-atomic", "incr-read-then-write", "script-not-atomic"])
def test_concurrency_faults_are_invisible_to_a_lone_client(fault: str) -> None:
    with start_in_thread() as running:
        clean = sequential_workload(running)
    with start_in_thread(fault=fault) as running:
        assert sequential_workload(running) == clean
    assert clean[6:8] == ["aborted", b"100"]


def test_faults_are_repeatable_with_a_seed() -> None:
    def run(seed: int) -> list[bytes | None]:
        with start_in_thread(fault="lost-write", seed=seed) as running:
            r = client(running)
            out = []
            for i in range(60):
                r.set(f"k{i % 5}", i)
                out.append(r.get(f"k{i % 5}"))
            return out

    first = run(11)
    assert run(11) == first
    assert first != [str(i).encode() for i in range(60)]


def test_script_write_back_is_blind_but_touches_watchers() -> None:
    # The mechanism of script-not-atomic, independent of the model's EVAL: a script's effect
    # computed on a snapshot overwrites whatever happened to its keys in between.
    snapshot, _ = step(INITIAL_STATE, 1, [b"SET", b"counter", b"10"])
    after, _ = step(snapshot, 1, [b"INCR", b"counter"])
    after, _ = step(after, 1, [b"SET", b"tmp", b"x", b"PX", b"5000"])
    current, _ = step(snapshot, 2, [b"INCRBY", b"counter", b"5"])  # a concurrent update
    current, _ = step(current, 3, [b"WATCH", b"counter"])
    written = write_back(snapshot, after, current, 1, now=0)
    assert step(written, 2, [b"GET", b"counter"])[1] == b"11"  # the +5 is lost
    assert step(written, 2, [b"PTTL", b"tmp"])[1] == 5000
    assert written.session(3).dirty_cas  # a blind write is still a write


def publish_and_receive(fault: str | None, count: int = 200) -> tuple[list[int], list[int]]:
    """One subscriber, one publisher: the PUBLISH replies, and the payloads the subscriber got
    before the reply to its PING (a held-back message goes out before a reply at the latest)."""
    with start_in_thread(fault=fault, seed=1) as running:
        subscriber = client(running).pubsub()
        subscriber.subscribe("ch")
        assert (subscriber.get_message(timeout=5) or {}).get("type") == "subscribe"
        publisher = client(running)
        counts = [int(publisher.publish("ch", str(i))) for i in range(count)]
        subscriber.ping()
        received: list[int] = []
        while (message := subscriber.get_message(timeout=5)) is not None and message["type"] != "pong":
            received.append(int(message["data"]))
        assert message is not None, "no PONG"
        subscriber.close()
    return counts, received


@pytest.mark.parametrize("fault", [None, "drop-message", "duplicate-message", "reorder-delivery",
                                   "wrong-receiver-count"])
def test_pubsub_faults_break_delivery_p4_p5(fault: str | None) -> None:
    counts, received = publish_and_receive(fault)
    everything = list(range(200))
    if fault is None:
        assert counts == [1] * 200 and received == everything
    elif fault == "drop-message":
        assert counts == [1] * 200 and received == sorted(set(received)) and len(received) < 200
    elif fault == "duplicate-message":
        assert counts == [1] * 200 and sorted(set(received)) == everything and len(received) > 200
        assert all(a <= b for a, b in zip(received, received[1:]))  # a copy comes right after its original
    elif fault == "reorder-delivery":
        assert counts == [1] * 200 and sorted(received) == everything and received != everything
    else:
        assert received == everything and set(counts) > {1} and set(counts) <= {0, 1, 2}


@pytest.mark.skipif(lookup([b"eval"]) is None, reason="the model has no EVAL yet")
@pytest.mark.parametrize("fault", [None, "script-not-atomic"])
def test_script_not_atomic_loses_updates_e25(fault: str | None) -> None:
    script = "return redis.call('INCR', KEYS[1])"
    with start_in_thread(fault=fault) as running:
        def work(index: int) -> None:
            r = client(running)
            for _ in range(100):
                r.eval(script, 1, "scripted")

        in_threads(4, work)
        total = int(client(running).get("scripted") or 0)
    if fault is None:
        assert total == 400
    else:
        assert total < 400
