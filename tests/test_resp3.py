"""RESP3: the model's replies converted for ``HELLO 3`` clients, byte for byte against a live
redis-server 7.0.15; the codec; the embedded server under RESP3 (redis-py ``protocol=3``, Pub/Sub
pushes); RESP3 histories (the file format, the checker); ``redlin run --protocol 3``."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import redis
from conftest import RedisServer
from resp3_probes import PROBES, UNMODELLED

from redlin import Violation, check, minimise
from redlin.adapter.redis_model import canonical_result, describe_reply, redis_model, resp_type
from redlin.harness.runner import render_outcome, run
from redlin.harness.target import Target, TargetError, open_connection
from redlin.harness.wire import Connection, ProtocolRefused
from redlin.history.jsonl import HistoryWriter, decode_reply, encode_reply, load_history
from redlin.history.records import Outcome
from redlin.model import (
    COMMANDS,
    INITIAL_STATE,
    NULL,
    Attributed,
    BigNumber,
    Boolean,
    Double,
    Error,
    Frames,
    MapReply,
    Parser,
    Push,
    Reply,
    SetReply,
    Status,
    Verbatim,
    encode_command,
    frames_of,
    protocol_of,
    to_resp2,
    to_resp3,
    use_protocol,
)
from redlin.model import encode_reply as encode_resp
from redlin.model import step as model_step
from redlin.model._pubsub import flush_mailboxes
from redlin.registry import load
from redlin.report.text import render_text
from redlin.serve.server import RunningServer, start_in_thread

Argv = tuple[bytes, ...]


# ----------------------------------------------------------------------------- the probes, both ways


class ModelConnection:
    """One connection to the model as the embedded server serves it: the model's reply converted
    by :func:`to_resp3` while the session speaks RESP3, messages written to it first as pushes."""

    def __init__(self) -> None:
        self.state = use_protocol(INITIAL_STATE, 1, 3)

    def send(self, argv: Argv) -> list[Reply]:
        queued = self.state.session(1).multi or ()
        self.state, reply = model_step(self.state, 1, argv, int(time.time() * 1000))
        resp3 = protocol_of(self.state, 1) == 3
        self.state, mail = flush_mailboxes(self.state)
        out: list[Reply] = [Push(frame) if resp3 else frame for frame in mail.get(1, ())]  # type: ignore[arg-type]
        return out + list(frames_of(to_resp3(argv, reply, queued) if resp3 else reply))


class RedisConnection:
    """A raw connection to a real server that said ``HELLO 3``: values read as they come."""

    def __init__(self, server: RedisServer) -> None:
        self.sock = socket.create_connection((server.host, server.port), timeout=5)
        self.parser = Parser()
        self.raw = bytearray()
        self.sock.sendall(encode_command([b"HELLO", b"3"]))
        self.take(1)
        self.raw.clear()

    def take(self, count: int) -> list[Reply]:
        values: list[Reply] = []
        while len(values) < count:
            values += self.parser.values()  # type: ignore[arg-type]
            if len(values) < count:
                data = self.sock.recv(65536)
                assert data, "the server closed the connection"
                self.raw += data
                self.parser.feed(data)
        return values

    def send(self, argv: Argv, count: int) -> list[Reply]:
        self.sock.sendall(encode_command(argv))
        return self.take(count)


def _comparable(call: Sequence[Argv], values: list[Reply]) -> bytes:
    """The encoded values, unordered replies sorted (SMEMBERS, HGETALL, UNSUBSCRIBE's channels)."""
    canonical = canonical_result(tuple(call), [Status("OK")] * (len(call) - 1) + [Frames.of(tuple(values))])[-1]
    return b"".join(encode_resp(value) for value in frames_of(canonical))


def test_every_modelled_command_is_probed() -> None:
    probed = {" ".join(word.decode().lower() for word in argv[:2]) for argv in PROBES} | {
        argv[0].decode().lower() for argv in PROBES}
    wanted = set()
    for name, spec in COMMANDS.items():
        if spec.subcommands:
            wanted |= {f"{name.decode()} {sub.decode()}" for sub in spec.subcommands if sub != b"debug"}
        else:
            wanted.add(name.decode().lower())
    assert wanted - probed - UNMODELLED == set()


@pytest.mark.redis
def test_resp3_replies_are_redis_7_0_byte_for_byte(redis_server: RedisServer) -> None:
    """Each probe's RESP3 reply from the model (converted by ``to_resp3``) against the live server's."""
    if not redis_server.version.startswith("7.0."):
        pytest.skip(f"the probes are Redis 7.0's replies, the server is {redis_server.version}")
    model, real = ModelConnection(), RedisConnection(redis_server)
    real.send((b"SCRIPT", b"FLUSH"), 1)
    real.raw.clear()
    received: list[Reply] = []
    transaction: list[Argv] = []
    mismatches = []
    for argv in PROBES:
        name = argv[0].lower()
        transaction = [argv] if name == b"multi" else [*transaction, argv] if transaction else [argv]
        expected = model.send(argv)
        got = real.send(argv, len(expected))
        received += got
        call = transaction if name in (b"exec", b"discard") else [argv]
        if argv[0].upper() == b"PTTL" and len(got) == 1 and type(got[0]) is int and got[0] > 0:
            continue  # the clocks differ (none of the probes has one)
        if _comparable(call, expected) != _comparable(call, got):
            mismatches.append(f"{b' '.join(argv)!r}:\n  redis {got!r}\n  model {expected!r}")
        if name in (b"exec", b"discard"):
            transaction = []
    assert not mismatches, "\n".join(mismatches)
    # The values read re-encode to exactly the bytes received: nothing was lost in parsing.
    assert b"".join(encode_resp(value) for value in received) == bytes(real.raw)


# ----------------------------------------------------------------------------- the codec and the rules


@pytest.mark.parametrize("value", [
    NULL, MapReply(((b"a", Double(b"-inf")), (1, NULL))), SetReply((b"x", Boolean(False))),
    Push((b"message", b"c", b"m")), BigNumber(b"-123456789012345678901234567890"),
    Verbatim(b"txt", b"a\r\nb"), Attributed(MapReply(((b"ttl", 3),)), b"v"), Error("ERR x"),
    (Double(b"1.5"), (b"m", Double(b"nan"))),
])
def test_codec_round_trips_every_resp3_type(value: Reply) -> None:
    parser = Parser()
    parser.feed(encode_resp(value))
    assert parser.take() == value
    assert decode_reply(json.loads(json.dumps(encode_reply(value)))) == value


def test_blob_error_and_bad_frames() -> None:
    parser = Parser()
    parser.feed(b"!9\r\nERR x\r\nyz\r\n#x\r\n")
    assert parser.take() == Error("ERR x\r\nyz")
    with pytest.raises(ValueError, match="bad boolean"):
        parser.take()


def test_to_resp2_is_what_resp2_callers_get() -> None:
    assert to_resp2(MapReply(((b"a", Double(b"1")),))) == (b"a", b"1")
    assert to_resp2((NULL, Boolean(True), Push((b"x",)))) == (None, 1, (b"x",))


def test_conversion_rules() -> None:
    assert to_resp3([b"LPOP", b"x", b"2"], None) is NULL
    assert to_resp3([b"HKEYS", b"h"], (b"a",)) == (b"a",)  # an array stays an array
    assert to_resp3([b"HINCRBYFLOAT", b"h", b"f", b"1"], b"1.5") == b"1.5"  # stays bulk
    assert to_resp3([b"ZADD", b"z", b"1", b"a"], 1) == 1
    assert to_resp3([b"ZPOPMIN", b"z", b"1"], (b"a", b"1")) == ((b"a", Double(b"1")),)
    assert to_resp3([b"GET", b"k"], Error("WRONGTYPE x")) == Error("WRONGTYPE x")


@pytest.mark.redis
def test_the_wire_client_speaks_resp3(redis_server: RedisServer) -> None:
    with Connection(redis_server.host, redis_server.port, protocol=3) as conn:
        assert conn.protocol == 3
        conn.execute("DEL", "resp3:h")
        conn.execute("HSET", "resp3:h", "f", "v")
        assert conn.execute("HGETALL", "resp3:h") == MapReply(((b"f", b"v"),))
        assert conn.execute("GET", "resp3:nosuch") is NULL
        assert conn.execute("DEL", "resp3:h") == 1
        with pytest.raises(ProtocolRefused, match="NOPROTO"):
            conn.use_protocol(4)
        assert conn.closed
    target = Target.parse(redis_server.url, password_env=None)
    with open_connection(target, 5.0, protocol=3) as conn:
        assert conn.protocol == 3 and type(conn.execute("INFO", "server")) is Verbatim
    with pytest.raises(TargetError, match="cannot speak RESP4"):
        open_connection(target, 5.0, protocol=4)


# ----------------------------------------------------------------------------- the embedded server


@pytest.fixture
def embedded() -> Iterator[RunningServer]:
    with start_in_thread() as running:
        yield running


def _raw(port: int, *commands: Sequence[bytes | str], hello: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        if hello:
            sock.sendall(encode_command([b"HELLO", b"3"]))
        for argv in commands:
            sock.sendall(encode_command(list(argv)))
        sock.sendall(encode_command([b"ECHO", b"END"]))
        data = b""
        while not data.endswith(b"$3\r\nEND\r\n"):
            chunk = sock.recv(65536)
            assert chunk
            data += chunk
    return data[: -len(b"$3\r\nEND\r\n")]


def test_hello_switches_the_embedded_server_to_resp3(embedded: RunningServer) -> None:
    port = embedded.port
    data = _raw(port, ["HELLO"], ["HGETALL", "nosuch"], ["HELLO", "2"], ["HGETALL", "nosuch"], ["HELLO", "4"],
                ["HELLO", "3"], ["RESET"], ["HGETALL", "nosuch"], ["HELLO", "3"], ["CLIENT", "GETNAME"],
                ["COMMAND", "DOCS"], ["INFO"], hello=False)
    parser = Parser()
    parser.feed(data)
    values = list(parser.values())
    hello = values[0]
    assert type(hello) is tuple and hello[4:6] == (b"proto", 2)  # HELLO alone: the current protocol
    assert values[1] == ()
    hello3 = values[5]
    assert type(hello3) is MapReply and [key for key, _ in hello3.pairs] == [
        b"server", b"version", b"proto", b"id", b"mode", b"role", b"modules"]
    assert dict(hello3.pairs)[b"proto"] == 3 and dict(hello3.pairs)[b"modules"] == ()
    assert values[2][5] == 2 and values[3] == () and values[4] == Error("NOPROTO unsupported protocol version")
    assert values[6] == Status("RESET") and values[7] == ()  # RESET: RESP2 again
    assert values[9] is NULL and values[10] == MapReply(())
    assert type(values[11]) is Verbatim and values[11].format == b"txt" and b"redis_version:" in values[11].body


def test_redis_py_protocol_3_against_the_embedded_server(embedded: RunningServer) -> None:
    port = embedded.port
    client = redis.Redis(port=port, protocol=3)
    assert client.ping() is True
    client.hset("h", mapping={"a": 1, "b": 2})
    client.zadd("z", {"m": 1.5, "n": 0.1})
    assert client.hgetall("h") == {b"a": b"1", b"b": b"2"}
    assert client.zscore("z", "m") == 1.5
    assert client.zrange("z", 0, -1, withscores=True) == [[b"n", 0.1], [b"m", 1.5]]
    assert client.smembers("nosuch") == set() and client.get("nosuch") is None
    pipe = client.pipeline()
    pipe.hgetall("h").zscore("z", "n").zpopmin("z")
    assert pipe.execute() == [{b"a": b"1", b"b": b"2"}, 0.1, [b"n", 0.1]]
    pubsub = client.pubsub()
    pubsub.subscribe("ch")
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"  # type: ignore[index]
    assert redis.Redis(port=port, protocol=3).publish("ch", "hi") == 1
    message = pubsub.get_message(timeout=2)
    assert message is not None and message["type"] == "message" and message["data"] == b"hi"
    pubsub.close()
    client.close()


def test_pubsub_deliveries_are_push_frames(embedded: RunningServer) -> None:
    port = embedded.port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sub:
        sub.sendall(encode_command([b"HELLO", b"3"]) + encode_command([b"SUBSCRIBE", b"ch"]))
        parser = Parser()
        values: list[Reply] = []
        while len(values) < 2:
            parser.feed(sub.recv(65536))
            values += parser.values()  # type: ignore[arg-type]
        assert values[1] == Push((b"subscribe", b"ch", 1))
        publisher = Connection("127.0.0.1", port, protocol=3)
        assert publisher.execute("PUBLISH", "ch", "hello") == 1
        expected = b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n"
        data = b""
        while len(data) < len(expected):
            data += sub.recv(65536)
        assert data == expected
        # While subscribed, a RESP3 client runs any command (RESP2 would refuse GET).
        sub.sendall(encode_command([b"GET", b"nosuch"]) + encode_command([b"PING"]))
        data = b""
        while not data.endswith(b"+PONG\r\n"):
            data += sub.recv(65536)
        assert data == b"_\r\n+PONG\r\n"
        publisher.close()


# ----------------------------------------------------------------------------- histories and the checker


def _history(tmp_path: Path, replies: Sequence[Reply], name: str = "h") -> Path:
    path = tmp_path / f"{name}.jsonl"
    with HistoryWriter(path, model="redis", protocol=3) as writer:
        calls = [[(b"HSET", b"h", b"f", b"1")], [(b"HGETALL", b"h")], [(b"ZADD", b"z", b"INCR", b"2", b"m")],
                 [(b"GET", b"nosuch")]]
        for index, (call, reply) in enumerate(zip(calls, replies)):
            op = writer.invoke(client=1, call=call, time=10 * index)
            writer.complete(op, Outcome.OK, time=10 * index + 5, result=[reply])
    return path


def test_a_resp3_history_round_trips_and_checks_exactly(tmp_path: Path) -> None:
    good = [1, MapReply(((b"f", b"1"),)), Double(b"2"), NULL]
    path = _history(tmp_path, good)
    history, model = load(path)
    assert history.meta["protocol"] == 3 and [op.result[0] for op in history] == good
    assert check(history, model, time_limit=10).verdict == "linearizable"
    # The same replies in RESP2 shape are wrong for a RESP3 history, one by one.
    for index, wrong in enumerate([b"1", (b"f", b"1"), b"2", None]):
        replies = list(good)
        replies[index] = wrong
        history, model = load(_history(tmp_path, replies, f"wrong{index}"))
        assert isinstance(check(history, model, time_limit=10), Violation), wrong


def test_a_wrong_resp3_reply_is_explained_in_resp3_types(tmp_path: Path) -> None:
    history, model = load(_history(tmp_path, [1, MapReply(((b"f", b"1"),)), b"2", NULL]))
    result = check(history, model, time_limit=10)
    assert isinstance(result, Violation)
    text = render_text(history, model, result, minimise(history, model, result, time_limit=10))
    assert 'got bulk string "2"' in text and "Redis replies (double) 2" in text


def _pubsub_history(tmp_path: Path, message: Reply) -> Path:
    path = tmp_path / f"pubsub{type(message).__name__}.jsonl"
    with HistoryWriter(path, model="redis", protocol=3) as writer:
        steps = [(1, (b"SUBSCRIBE", b"ch"), Push((b"subscribe", b"ch", 1))), (2, (b"PUBLISH", b"ch", b"hi"), 1),
                 (1, (b"RECV", b"message", b"ch", b"hi"), message), (1, (b"GET", b"k"), NULL)]
        for index, (client, argv, reply) in enumerate(steps):
            op = writer.invoke(client=client, call=[argv], time=10 * index)
            writer.complete(op, Outcome.OK, time=10 * index + 5, result=[reply])
    return path


def test_a_resp3_pubsub_history_reads_pushes(tmp_path: Path) -> None:
    """Confirmations and messages are pushes, and a subscribed RESP3 client may GET."""
    history, model = load(_pubsub_history(tmp_path, Push((b"message", b"ch", b"hi"))))
    assert check(history, model, time_limit=10).verdict == "linearizable"
    history, model = load(_pubsub_history(tmp_path, (b"message", b"ch", b"hi")))
    assert isinstance(check(history, model, time_limit=10), Violation)


def test_bad_protocol_in_meta_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text('{"event":"meta","format":"redlin-history","version":1,"model":"redis","protocol":4}\n')
    with pytest.raises(ValueError, match="'protocol' must be 2 or 3"):
        load_history(path)


def test_resp3_values_are_described() -> None:
    assert describe_reply(NULL) == "(nil)" and resp_type(NULL) == "null"
    assert describe_reply(SetReply((b"a",))) == 'set {"a"}' and resp_type(Double(b"1")) == "double"


# ----------------------------------------------------------------------------- redlin run --protocol 3


def test_run_over_resp3_is_linearizable(tmp_path: Path) -> None:
    outcome = run(ops=400, out=tmp_path / "out", database=tmp_path / "examples", protocol=3, shrink_time=3.0)
    assert outcome.verdict == "linearizable", render_outcome(outcome)
    lines = outcome.paths["history"].read_text().splitlines()
    assert json.loads(lines[0])["protocol"] == 3
    assert any('{"map":' in line or '{"null":true}' in line or '{"double":' in line for line in lines)
    history, model = load(outcome.paths["history"])
    assert check(history, model, time_limit=60).verdict == "linearizable"


def test_run_over_resp3_finds_a_planted_fault(tmp_path: Path) -> None:
    outcome = run(ops=20_000, out=tmp_path / "out", database=tmp_path / "examples", protocol=3,
                  fault="lost-write", workload="register", shrink_time=3.0)
    assert outcome.verdict == "violation", render_outcome(outcome)
    again, model = load(outcome.paths["counterexample"])
    assert again.meta["protocol"] == 3
    assert isinstance(check(again, model, time_limit=30), Violation)
    assert isinstance(check(again, redis_model(protocol=3), time_limit=30), Violation)
