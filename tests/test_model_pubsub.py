"""The model's Pub/Sub against the verified sheet (/work/shared/redis-semantics.md), items P1-P12
and M19, plus the mailboxes that make deliveries checkable and Redis's glob matching.

One test per item; the test name carries the item id.  Replies are the sheet's, exactly.  Tests
marked ``redis`` compare with a live redis-server 7.0 (the fixture starts its own).
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable, Hashable, Sequence

import pytest
from hypothesis import HealthCheck, Phase, settings

import redlin.model as model
from redlin.harness.differential import LockstepMismatch, lockstep_once, run_lockstep
from redlin.harness.wire import Connection
from redlin.model import (
    INITIAL_STATE,
    Client,
    Error,
    Frames,
    Redis,
    Reply,
    State,
    Status,
    canonical_pubsub_reply,
    encode_command,
    encode_reply,
    flush_mailboxes,
    mailbox,
    receive,
    receive_all,
    split_messages,
    step,
    stringmatch,
)
from redlin.serve.server import start_in_thread

OK = Status("OK")
QUEUED = Status("QUEUED")
PONG = Status("PONG")


def clients(count: int = 2) -> tuple[Redis, list[Client]]:
    m = Redis()
    return m, [m.client() for _ in range(count)]


def subscribed_error(name: str) -> Error:
    return Error(f"ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
                 "are allowed in this context")


def transaction(client: Client, *commands: tuple[str, ...]) -> Reply:
    assert client.execute("MULTI") == OK
    for command in commands:
        assert client.execute(*command) == QUEUED, command
    return client.execute("EXEC")


# ----------------------------------------------------------------------------- sheet items


def test_P1_publish_without_subscribers_is_zero() -> None:
    _, (a, _b) = clients()
    assert a.execute("PUBLISH", "nobody", "x") == 0


def test_P2_one_confirmation_per_channel() -> None:
    _, (a, _b) = clients()
    reply = a.execute("SUBSCRIBE", "a", "b")
    assert reply == Frames(((b"subscribe", b"a", 1), (b"subscribe", b"b", 2)))
    assert encode_reply(reply) == (b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
                                   b"*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n")
    assert a.execute("SUBSCRIBE") == Error("ERR wrong number of arguments for 'subscribe' command")
    assert a.execute("SUBSCRIBE", "a") == (b"subscribe", b"a", 2)  # already subscribed: same count


def test_P3_message_and_pmessage_frames_and_psubscribe_count() -> None:
    _, (sub, pub) = clients()
    assert sub.execute("SUBSCRIBE", "news.art") == (b"subscribe", b"news.art", 1)
    assert sub.execute("PSUBSCRIBE", "news.*") == (b"psubscribe", b"news.*", 2)  # channels + patterns
    assert pub.execute("PUBLISH", "news.art", "hello") == 2
    assert sub.messages() == [(b"message", b"news.art", b"hello"),
                              (b"pmessage", b"news.*", b"news.art", b"hello")]


def test_P4_publish_counts_channel_and_pattern_subscriptions() -> None:
    _, (one, two, pub) = clients(3)
    one.execute("SUBSCRIBE", "ch")
    one.execute("PSUBSCRIBE", "c*")  # one client with both: counted twice
    two.execute("PSUBSCRIBE", "?h", "x*")
    assert pub.execute("PUBLISH", "ch", "m") == 3
    assert len(one.messages()) == 2 and two.messages() == [(b"pmessage", b"?h", b"ch", b"m")]
    assert pub.execute("PUBLISH", "other", "m") == 0


def test_P5_messages_of_one_publisher_arrive_in_publish_order() -> None:
    _, (sub, pub) = clients()
    sub.execute("SUBSCRIBE", "ch")
    for i in range(200):
        assert pub.execute("PUBLISH", "ch", str(i)) == 1
    assert sub.messages() == [(b"message", b"ch", str(i).encode()) for i in range(200)]
    assert sub.messages() == []


def test_P6_subscribed_connection_refuses_other_commands() -> None:
    _, (a, _b) = clients()
    a.execute("SUBSCRIBE", "ch")
    assert a.execute("GET", "x") == subscribed_error("get")
    assert a.execute("MULTI") == subscribed_error("multi")
    assert a.execute("PUBLISH", "ch", "x") == subscribed_error("publish")
    for allowed in (("PSUBSCRIBE", "p"), ("PUNSUBSCRIBE", "p"), ("PING",), ("SSUBSCRIBE", "s")):
        assert type(a.execute(*allowed)) is not Error, allowed


def test_P7_ping_while_subscribed() -> None:
    _, (a, _b) = clients()
    assert a.execute("PING") == PONG
    a.execute("SUBSCRIBE", "ch")
    assert a.execute("PING") == (b"pong", b"")
    assert a.execute("PING", "hi") == (b"pong", b"hi")
    assert a.execute("PING", "a", "b") == Error("ERR wrong number of arguments for 'ping' command")


def test_P8_unsubscribe_counts_and_leaving_pubsub_mode() -> None:
    _, (a, b) = clients()
    assert a.execute("UNSUBSCRIBE") == (b"unsubscribe", None, 0)
    assert a.execute("PUNSUBSCRIBE") == (b"punsubscribe", None, 0)
    a.execute("SUBSCRIBE", "x", "y")
    a.execute("PSUBSCRIBE", "p*")
    assert a.execute("UNSUBSCRIBE", "zz") == (b"unsubscribe", b"zz", 3)  # not subscribed: count unchanged
    assert a.execute("UNSUBSCRIBE", "x") == (b"unsubscribe", b"x", 2)  # patterns count too
    assert a.execute("UNSUBSCRIBE") == (b"unsubscribe", b"y", 1)
    assert a.execute("UNSUBSCRIBE") == (b"unsubscribe", None, 1)
    assert a.execute("GET", "k") == subscribed_error("get")  # still in pubsub mode
    assert a.execute("PUNSUBSCRIBE") == (b"punsubscribe", b"p*", 0)
    assert a.execute("GET", "k") is None  # left pubsub mode at 0
    a.execute("SUBSCRIBE", "a", "b", "c")
    # Without arguments Redis confirms in its hash-table order; the model sorts the names.
    assert a.execute("UNSUBSCRIBE") == Frames(((b"unsubscribe", b"a", 2), (b"unsubscribe", b"b", 1),
                                               (b"unsubscribe", b"c", 0)))
    assert b.execute("PUBLISH", "a", "m") == 0


def test_P9_repeated_psubscribe_confirms_again_and_delivers_once() -> None:
    _, (sub, pub) = clients()
    assert sub.execute("PSUBSCRIBE", "a*") == (b"psubscribe", b"a*", 1)
    assert sub.execute("PSUBSCRIBE", "a*") == (b"psubscribe", b"a*", 1)
    assert pub.execute("PUBLISH", "ab", "m") == 1
    assert sub.messages() == [(b"pmessage", b"a*", b"ab", b"m")]


def test_P10_reset_leaves_pubsub_mode() -> None:
    _, (sub, pub) = clients()
    sub.execute("SUBSCRIBE", "x")
    assert sub.execute("RESET") == Status("RESET")
    assert sub.execute("PING") == PONG
    assert pub.execute("PUBLISH", "x", "m") == 0


def test_P11_publish_inside_multi_delivers_at_exec_in_order() -> None:
    _, (sub, pub) = clients()
    sub.execute("SUBSCRIBE", "q")
    assert pub.execute("MULTI") == OK
    assert pub.execute("PUBLISH", "q", "1") == QUEUED
    assert pub.execute("PUBLISH", "q", "2") == QUEUED
    assert sub.messages() == []  # queued: nothing delivered before EXEC
    assert pub.execute("EXEC") == (1, 1)
    assert sub.messages() == [(b"message", b"q", b"1"), (b"message", b"q", b"2")]


def test_P12_publish_from_a_script_delivers_and_counts() -> None:
    _, (sub, pub) = clients()
    sub.execute("PSUBSCRIBE", "p*")
    assert pub.execute("EVAL", "return redis.call('publish', 'pa', 'x')", 0) == 1
    assert sub.messages() == [(b"pmessage", b"p*", b"pa", b"x")]
    sha = "573a95f3ea018d51a67b12f516dbc290501fbf3d"
    assert pub.execute("EVAL_RO", "return redis.call('publish','pa','x')", 0) == Error(
        f"ERR Write commands are not allowed from read-only scripts. script: {sha}, on @user_script:1.")
    assert sub.messages() == []
    assert pub.execute("EVAL", "return redis.call('subscribe','pa')", 0) == Error(
        "ERR This Redis command is not allowed from script script: dc46280093d7ba8684c1e9b5c96ed18ae130d4e9, "
        "on @user_script:1.")


def test_M19_subscribe_inside_multi_is_an_exec_element() -> None:
    _, (a, b) = clients()
    assert transaction(a, ("SUBSCRIBE", "chm")) == ((b"subscribe", b"chm", 1),)
    assert a.execute("PING") == (b"pong", b"")  # subscribed afterwards (RESP2)
    assert b.execute("PUBLISH", "chm", "x") == 1


def test_M19_exec_writes_extra_values_and_messages_to_itself_inline() -> None:
    # Verified live: *3, then [subscribe c1 1], [subscribe c2 2], [message c1 self], :1, [pong ""].
    _, (a, _b) = clients()
    reply = transaction(a, ("SUBSCRIBE", "c1", "c2"), ("PUBLISH", "c1", "self"), ("PING",))
    assert reply == Frames((((b"subscribe", b"c1", 1), (b"subscribe", b"c2", 2), (b"message", b"c1", b"self")),
                            1, (b"pong", b"")))
    assert encode_reply(reply).startswith(b"*3\r\n*3\r\n$9\r\nsubscribe\r\n")
    assert a.messages() == []  # the message to itself was written inside the EXEC reply
    assert a.execute("MULTI") == subscribed_error("multi")


# ----------------------------------------------------------------------------- beyond the sheet


def test_sharded_pubsub_is_a_namespace_of_its_own() -> None:
    _, (sub, pub) = clients()
    assert sub.execute("SSUBSCRIBE", "s1", "s2") == Frames(((b"ssubscribe", b"s1", 1), (b"ssubscribe", b"s2", 2)))
    assert sub.execute("SUBSCRIBE", "c") == (b"subscribe", b"c", 1)  # counts are separate
    assert pub.execute("SPUBLISH", "s1", "x") == 1 and pub.execute("PUBLISH", "s1", "y") == 0
    assert sub.messages() == [(b"smessage", b"s1", b"x")]
    assert sub.execute("UNSUBSCRIBE") == (b"unsubscribe", b"c", 0)
    assert sub.execute("PING") == (b"pong", b"")  # still subscribed to shard channels
    assert sub.execute("SUNSUBSCRIBE") == Frames(((b"sunsubscribe", b"s1", 1), (b"sunsubscribe", b"s2", 0)))
    assert sub.execute("PING") == PONG
    assert transaction(sub, ("SSUBSCRIBE", "q")) == (Error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client"),)


def test_pubsub_introspection() -> None:
    _, (a, b, c) = clients(3)
    a.execute("SUBSCRIBE", "x", "y")
    b.execute("SUBSCRIBE", "x")
    b.execute("PSUBSCRIBE", "p*", "q*")
    a.execute("PSUBSCRIBE", "p*")
    assert c.execute("PUBSUB", "NUMSUB", "x", "y", "z") == (b"x", 2, b"y", 1, b"z", 0)
    assert c.execute("PUBSUB", "NUMPAT") == 2
    assert c.execute("PUBSUB", "CHANNELS") == (b"x", b"y")
    assert c.execute("PUBSUB", "CHANNELS", "y*") == (b"y",)
    assert c.execute("PUBSUB", "CHANNELS", "a", "b") == Error(
        "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.")
    assert c.execute("PUBSUB", "NUMPAT", "x") == Error("ERR wrong number of arguments for 'pubsub|numpat' command")
    assert c.execute("PUBSUB") == Error("ERR wrong number of arguments for 'pubsub' command")


def test_several_matching_patterns_form_one_unordered_group() -> None:
    m, (sub, pub) = clients()
    sub.execute("SUBSCRIBE", "ab")
    sub.execute("PSUBSCRIBE", "a*", "?b")
    pub.execute("PUBLISH", "ab", "1")
    message = (b"message", b"ab", b"1")
    first, second = (b"pmessage", b"?b", b"ab", b"1"), (b"pmessage", b"a*", b"ab", b"1")
    # Redis writes the pmessages in its pattern table's order: either order is read correctly.
    for order in ((first, second), (second, first)):
        assert receive_all(m.state, sub.id, (message, *order)) is not None
    assert receive_all(m.state, sub.id, (first, message, second)) is None  # the channel's message comes first
    assert receive(m.state, sub.id, (b"message", b"ab", b"2")) is None
    assert mailbox(m.state, sub.id) == (message, first, second)


def test_mailboxes_are_state_and_flush_empties_them() -> None:
    m, (sub, pub) = clients()
    sub.execute("SUBSCRIBE", "ch")
    before = m.state
    pub.execute("PUBLISH", "ch", "x")
    assert m.state != before and hash(m.state) != hash(before)
    emptied, frames = flush_mailboxes(m.state)
    assert frames == {sub.id: ((b"message", b"ch", b"x"),)}
    assert emptied == before
    assert flush_mailboxes(emptied) == (emptied, {})
    state, _ = step(INITIAL_STATE, 1, [b"SUBSCRIBE", b"ch"])
    assert receive(state, 1, (b"message", b"ch", b"x")) is None  # nothing was published


def test_reset_and_quit_keep_messages_already_written() -> None:
    m, (sub, pub) = clients()
    sub.execute("SUBSCRIBE", "ch")
    pub.execute("PUBLISH", "ch", "x")
    assert sub.execute("RESET") == Status("RESET")
    assert sub.messages() == [(b"message", b"ch", b"x")]


def test_split_messages_and_canonical_form() -> None:
    read = Frames(((b"message", b"c", b"1"), (b"unsubscribe", b"b", 1), (b"unsubscribe", b"a", 0)))
    assert split_messages(read) == (((b"message", b"c", b"1"),),
                                    Frames(((b"unsubscribe", b"b", 1), (b"unsubscribe", b"a", 0))))
    canonical = canonical_pubsub_reply((b"UNSUBSCRIBE",), read)
    assert canonical == Frames(((b"message", b"c", b"1"), (b"unsubscribe", b"a", 1), (b"unsubscribe", b"b", 0)))
    assert canonical_pubsub_reply((b"UNSUBSCRIBE", b"b", b"a"), read) == read  # explicit order is exact
    assert canonical_pubsub_reply((b"PUBSUB", b"CHANNELS"), (b"b", b"a")) == (b"a", b"b")
    exec_reply = Frames((((b"subscribe", b"x", 1), (b"subscribe", b"y", 2)), (b"unsubscribe", b"y", 1),
                         (b"unsubscribe", b"x", 0)))
    queued = ((b"SUBSCRIBE", b"x", b"y"), (b"UNSUBSCRIBE",))
    assert canonical_pubsub_reply((b"EXEC",), exec_reply, queued) == Frames(
        (((b"subscribe", b"x", 1), (b"subscribe", b"y", 2)), (b"unsubscribe", b"x", 1), (b"unsubscribe", b"y", 0)))


@pytest.mark.parametrize(("pattern", "string", "expected"), [
    (b"*", b"", False),  # stringmatchlen never matches an empty string, not even with '*'
    (b"*", b"anything", True),
    (b"h?llo", b"hello", True),
    (b"h[ae]llo", b"hallo", True),
    (b"h[^e]llo", b"hello", False),
    (b"h[a-b]llo", b"hbllo", True),
    (b"h[b-a]llo", b"hbllo", True),  # a reversed range is swapped
    (b"h\\*llo", b"h*llo", True),
    (b"h\\*llo", b"hallo", False),
    (b"[abc", b"a", True),  # an unterminated class ends at the pattern's end
    (b"a[\\]]b", b"a]b", True),
    (b"[a-\xff]", b"b", False),  # C's signed char: 0xff is -1, so the range is [-1, 'a']
    (b"[a-\xff]", b"\x00", True),
    (b"a**b", b"aXb", True),
    (b"a*b*c", b"abbbc", True),
])
def test_glob_matching_is_redis_stringmatchlen(pattern: bytes, string: bytes, expected: bool) -> None:
    assert stringmatch(pattern, string) is expected


# ----------------------------------------------------------------------------- against a live server


@pytest.mark.redis
def test_glob_matching_agrees_with_redis(redis_server: object) -> None:
    """Random patterns and channels over a glob-heavy alphabet: the patterns Redis delivers a
    PUBLISH to are exactly those :func:`stringmatch` accepts."""
    rng = random.Random(7)
    alphabet = [b"a", b"b", b"*", b"?", b"[", b"]", b"^", b"-", b"\\", b"\x80", b"\xff", b"\x00"]

    def word(most: int) -> bytes:
        return b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, most)))

    host, port = redis_server.host, redis_server.port  # type: ignore[attr-defined]
    with Connection(host, port) as sub, Connection(host, port) as pub:
        for _ in range(10):
            patterns = sorted({word(6) for _ in range(40)})
            assert len(sub.pipeline([(b"PSUBSCRIBE", *patterns)])) == 1
            for _ in range(len(patterns) - 1):
                sub.receive()
            for _ in range(40):
                channel = word(5)
                count = pub.execute(b"PUBLISH", channel, b"x")
                assert isinstance(count, int)
                got = {sub.receive()[1] for _ in range(count)}  # type: ignore[index]
                assert got == {p for p in patterns if stringmatch(p, channel)}, channel
            sub.send_many([(b"PUNSUBSCRIBE", *patterns)])
            for _ in patterns:
                sub.receive()


SESSION = [  # (connection, commands): the replies and deliveries must be byte-identical
    ("a", [["SUBSCRIBE", "a", "b"]]),
    ("a", [["GET", "x"], ["MULTI"], ["PING"], ["PING", "hi"], ["PUBLISH", "a", "x"], ["PSUBSCRIBE", "a*"],
           ["PSUBSCRIBE", "a*"]]),
    ("b", [["PUBLISH", "a", "m1"], ["PUBLISH", "b", "m2"]]),
    ("a", [["UNSUBSCRIBE", "a", "b"], ["PUNSUBSCRIBE"], ["PUNSUBSCRIBE"], ["UNSUBSCRIBE", "zz"], ["PING"]]),
    ("c", [["MULTI"], ["SUBSCRIBE", "c1", "c2"], ["PUBLISH", "c1", "self"], ["PING"], ["EXEC"]]),
    ("b", [["MULTI"], ["PUBLISH", "c1", "1"], ["PUBLISH", "c2", "2"], ["EXEC"],
           ["EVAL", "return redis.call('publish','c1','x')", "0"]]),
    ("c", [["RESET"], ["PING"], ["SSUBSCRIBE", "s1", "s2"], ["PING"], ["UNSUBSCRIBE"], ["PSUBSCRIBE", "x"]]),
    ("b", [["SPUBLISH", "s1", "x"], ["PUBLISH", "x", "y"], ["PUBSUB", "NUMSUB", "c1", "s1"],
           ["PUBSUB", "SHARDNUMSUB", "s1"], ["PUBSUB", "NUMPAT"], ["PUBSUB", "CHANNELS", "c?"],
           ["PUBSUB", "CHANNELS", "a", "b"], ["PUBSUB", "FOO"]]),
    ("c", [["SUNSUBSCRIBE", "s1", "s2"], ["PUNSUBSCRIBE", "x"], ["PING"], ["MULTI"], ["SSUBSCRIBE", "q"],
           ["EXEC"], ["QUIT"]]),
]


def _bytes_seen(host: str, port: int) -> list[bytes]:
    sockets: dict[str, socket.socket] = {}
    seen = []
    for who, commands in SESSION:
        if who not in sockets:
            sockets[who] = socket.create_connection((host, port), timeout=2)
        sockets[who].sendall(b"".join(encode_command(c) for c in commands))
        time.sleep(0.05)
        for name in sorted(sockets):
            data = b""
            sockets[name].settimeout(0.05)
            try:
                while chunk := sockets[name].recv(65536):
                    data += chunk
            except TimeoutError:
                pass
            seen.append(name.encode() + b":" + data)
    for sock in sockets.values():
        sock.close()
    return seen


@pytest.mark.redis
def test_embedded_server_writes_the_same_bytes_as_redis(redis_server: object) -> None:
    """P2-P12 and M19 end to end: the embedded server (the model plus mailbox delivery) and a real
    redis-server write byte-identical replies and messages for one multi-client session."""
    real = _bytes_seen(redis_server.host, redis_server.port)  # type: ignore[attr-defined]
    with start_in_thread() as running:
        embedded = _bytes_seen(running.host, running.port)
    assert embedded == real


# ----------------------------------------------------------------------------- lockstep against Redis


def _lockstep_settings(examples: int, shrink: bool = True) -> settings:
    return settings(max_examples=examples, stateful_step_count=60, derandomize=True, deadline=None,
                    print_blob=True, database=None,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate, *([Phase.shrink] if shrink else [])],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


@pytest.fixture
def connect(redis_server: object) -> Callable[[], Connection]:
    host, port = redis_server.host, redis_server.port  # type: ignore[attr-defined]
    return lambda: Connection(host, port, timeout=10)


@pytest.mark.redis
def test_pubsub_matches_redis_in_lockstep(connect: Callable[[], Connection]) -> None:
    """P1-P12 and M19 under random interleavings: every reply and every delivered message."""
    run_lockstep(connect, families={"pubsub", "transactions", "connection", "scripts", "errors"},
                 settings=_lockstep_settings(examples=120))


@pytest.mark.redis
def test_lockstep_script_reads_replies_of_several_values_and_messages(connect: Callable[[], Connection]) -> None:
    lockstep_once(connect, [
        (0, (b"SUBSCRIBE", b"ch1", b"ch2")), (1, (b"PSUBSCRIBE", b"ch*", b"?h1")), (2, (b"PUBLISH", b"ch1", b"x")),
        (2, (b"MULTI",)), (2, (b"SUBSCRIBE", b"news.art", b"ch1")), (2, (b"PUBLISH", b"ch1", b"y")), (2, (b"EXEC",)),
        (0, (b"UNSUBSCRIBE",)), (1, (b"PUNSUBSCRIBE",)), (2, (b"PING",)), (2, (b"RESET",)),
    ])


def drops_deliveries_to_patterns(state: State, client: Hashable, argv: Sequence[bytes],
                                 now: int = 0) -> tuple[State, Reply]:
    """A planted bug: PUBLISH counts pattern subscribers but never delivers to them."""
    after, reply = model.step(state, client, argv, now)
    if argv and argv[0].lower() == b"publish":
        for other, session in after.sessions.items():
            kept = tuple(mail for mail in session.mailbox if type(mail) is tuple and mail[0] != b"pmessage")
            if kept != session.mailbox:
                after = State(after.dbs, after.sessions.set(other, session.replace(mailbox=kept)), after.scripts)
    return after, reply


@pytest.mark.redis
def test_planted_delivery_bug_is_found_in_lockstep(connect: Callable[[], Connection]) -> None:
    with pytest.raises(LockstepMismatch) as failure:
        run_lockstep(connect, step=drops_deliveries_to_patterns, families={"pubsub"},
                     settings=_lockstep_settings(examples=200, shrink=False))
    assert "pmessage" in str(failure.value)  # the message Redis wrote, which the broken model did not
