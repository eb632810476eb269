"""The planted faults of the embedded server: each breaks exactly one guarantee of Redis.

Each fault is a :class:`~redlin.serve.hooks.Fault` that overrides the hooks it needs and serves
everything else exactly as the clean server does.  A fault fires only when its effect can be
observed, and its random choices come from ``random.Random(seed)``.  Where a fault yields to the
event loop it sleeps :data:`PAUSE_SECONDS` rather than ``sleep(0)``: clients running in the same
process (``redlin run`` starts the server in a thread) need the GIL released to get their commands
in between.

When each fault fires (anything else is served exactly as by the clean server):

- ``watch-ignored``: an EXEC that the model aborts with a null array is run again with the
  caller's dirty flag and watches cleared (breaks W1).  No randomness.
- ``exec-not-atomic``: an EXEC that would run a queue of two or more commands runs them one by
  one, pausing between them; the abort checks and the unwatching stay atomic (breaks M17).  No
  randomness.
- ``long-exec-not-atomic``: the same, only for a queue of :data:`LONG_QUEUE` commands or more
  (shorter ones stay atomic).  No randomness.
- ``watch-first-key-only``: a WATCH of several distinct keys watches only its first one (breaks
  W1 for the others).  No randomness.
- ``incr-read-then-write`` / ``script-not-atomic``: a standalone INCR-family command / script that
  writes is stepped on a snapshot; after a pause the keys it changed are written blindly onto the
  then-current state, still touching watchers (breaks the atomicity of ``incrDecrCommand`` in
  ``t_string.c`` / of a script, E25).  No randomness.
- ``stale-read``: a standalone read-only command with one key, with chance
  :data:`STALE_READ_CHANCE`, reads the keyspace of 1 to :data:`STALE_READ_DEPTH` versions ago.
- ``lost-write``: a standalone command flagged ``write`` that changed the keyspace, with chance
  :data:`LOST_WRITE_CHANCE`, keeps its reply and loses its effect.
- ``drop-message`` / ``duplicate-message``: each Pub/Sub message, with chance
  :data:`DROP_MESSAGE_CHANCE` / :data:`DUPLICATE_MESSAGE_CHANCE`, is not written / written twice
  (breaks "each receiver gets it once", P4).
- ``reorder-delivery``: each message, with chance :data:`REORDER_CHANCE`, is held back and written
  right after the next message for the same connection (or before its next reply, if that comes
  first: late, but in order with the replies; breaks P5).
- ``wrong-receiver-count``: a standalone PUBLISH, with chance :data:`WRONG_COUNT_CHANCE`, answers
  one receiver more than it delivered to (one fewer, half the time, when it delivered to some;
  breaks P4).

Corners of single commands, where clones differ from Redis (no randomness; each fires on a command
a client sends outside MULTI and on each command an EXEC runs, still atomically, not on calls a
script makes; :class:`_Corner`):

- ``multi-value-reversed``: RPUSH/LPUSH/RPUSHX/LPUSHX of several values, and MSET/MSETNX/HSET/HMSET
  that set one key or field twice, apply their values last to first (``RPUSH k a b`` makes
  ``[b, a]``; ``MSET k 1 k 2`` leaves 1).  Only where the order shows.
- ``decrby-overflow-wraps``: INCR/DECR/INCRBY/DECRBY/HINCRBY whose result would leave the 64-bit
  range, on a missing key (field) or an integer, wrap around (two's complement) instead of
  answering "increment or decrement would overflow", and ``DECRBY k -9223372036854775808`` is not
  refused (KeyDB's bug).
- ``score-shortest-format``: the scores in replies (ZSCORE, ZMSCORE, ZINCRBY, ZADD INCR, ZPOPMIN,
  ZPOPMAX, and ZRANGE, ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE WITHSCORES) are written in the
  shortest form that reads back the same (``0.1``), not as Redis 7.0's ``%.17g``
  (``0.10000000000000001``).  Only where the two differ.
- ``echo-as-status``: ECHO and PING with a message answer it as a simple string (``+msg``) instead
  of a bulk string (``$3 msg``).  Only where a simple string can carry it (UTF-8, no CR or LF).

The script cache (no randomness):

- ``script-cache-per-connection``: a script loaded by SCRIPT LOAD or EVAL is known only to the
  connection that loaded it, as behind a proxy that spreads connections over servers: EVALSHA
  from another connection answers NOSCRIPT and SCRIPT EXISTS answers 0 (breaks "the script cache
  is the server's", E20, E21).  Only on commands sent outside MULTI.

Wrong replies (:mod:`redlin.serve.reply_faults`): ``count-as-bulk``, ``wrongtype-as-err``,
``arity-error-typed-name``.  Consumer groups (:mod:`redlin.serve.group_faults`):
``group-forgets-delivery``.

:data:`FAULTS` lists them by name; :func:`make_fault` makes one.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Callable, Mapping
from typing import Final

from redlin.model import (
    NULL_ARRAY,
    Context,
    Error,
    Keyspace,
    Reply,
    Session,
    State,
    Status,
    keys_of,
    lookup,
    step,
)
from redlin.serve.group_faults import GROUP_FAULTS
from redlin.serve.hooks import Argv, Fault, Host, Peer, is_standalone
from redlin.serve.reply_faults import REPLY_FAULTS

__all__ = [
    "DROP_MESSAGE_CHANCE", "DUPLICATE_MESSAGE_CHANCE", "FAULTS", "LONG_QUEUE", "LOST_WRITE_CHANCE", "PAUSE_SECONDS",
    "REORDER_CHANCE", "STALE_READ_CHANCE", "STALE_READ_DEPTH", "WRONG_COUNT_CHANCE", "DecrbyOverflowWraps",
    "DropMessage", "DuplicateMessage", "EchoAsStatus", "ExecNotAtomic", "IncrReadThenWrite", "LongExecNotAtomic",
    "LostWrite", "MultiValueReversed", "ReorderDelivery", "ScoreShortestFormat", "ScriptCachePerConnection", "ScriptNotAtomic", "StaleRead",
    "WatchFirstKeyOnly", "WatchIgnored", "WrongReceiverCount", "make_fault", "write_back",
]

PAUSE_SECONDS: Final = 0.001
"""How long a fault yields to the event loop where it breaks atomicity."""

STALE_READ_CHANCE: Final = 0.25
STALE_READ_DEPTH: Final = 8  # keyspace versions kept for stale-read
LOST_WRITE_CHANCE: Final = 0.1
DROP_MESSAGE_CHANCE: Final = 0.05
DUPLICATE_MESSAGE_CHANCE: Final = 0.05
REORDER_CHANCE: Final = 0.1
WRONG_COUNT_CHANCE: Final = 0.1
LONG_QUEUE: Final = 5
"""The shortest queue whose EXEC long-exec-not-atomic breaks up."""

_INCR_FAMILY: Final = frozenset({b"incr", b"decr", b"incrby", b"decrby"})
_SCRIPT_FAMILY: Final = frozenset({b"eval", b"evalsha", b"eval_ro", b"evalsha_ro", b"fcall", b"fcall_ro"})
_EMPTY: Final[tuple[Reply, ...]] = ()


def _with_session(state: State, client: int, session: Session) -> State:
    return state.replace(sessions=state.sessions.set(client, session))


# --------------------------------------------------------------------- transactions


class WatchIgnored(Fault):
    name = "watch-ignored"
    description = "EXEC runs its queue even when a watched key was modified (the WATCH dirty flag is ignored)"

    async def execute(self, server: Host, client: int, argv: Argv) -> Reply:
        before = server.state
        reply = server.step(client, argv)
        if argv[0].lower() != b"exec" or reply is not NULL_ARRAY:
            return reply
        # Aborted by a touched (or expired) watched key: run it as if nothing had been watched.
        session = before.session(client)
        unwatched = session.replace(dirty_cas=False, watched=frozenset(), stale=frozenset())
        server.state = _with_session(before, client, unwatched)
        return server.step(client, argv)


class ExecNotAtomic(Fault):
    name = "exec-not-atomic"
    description = "EXEC runs its queued commands one per event-loop turn: other clients' commands interleave"
    shortest = 2  # the shortest queue broken up

    async def execute(self, server: Host, client: int, argv: Argv) -> Reply:
        queue = server.state.session(client).multi
        if argv[0].lower() != b"exec" or queue is None or len(queue) < self.shortest or _special(queue):
            return server.step(client, argv)
        return await _run_exec(server, client, argv, _step, PAUSE_SECONDS)


class LongExecNotAtomic(ExecNotAtomic):
    name = "long-exec-not-atomic"
    description = (f"EXEC of {LONG_QUEUE} or more queued commands runs them one per event-loop turn "
                   "(shorter ones stay atomic)")
    shortest = LONG_QUEUE


def _step(server: Host, client: int, argv: Argv) -> Reply:
    return server.step(client, argv)


async def _run_exec(server: Host, client: int, argv: Argv, run: Callable[[Host, int, Argv], Reply],
                    pause: float = 0.0) -> Reply:
    """EXEC's prologue atomically (abort checks, unwatch, leave MULTI), then each queued command by
    ``run``, as a command of its own, ``pause`` seconds apart (0: none, the whole EXEC atomic)."""
    session = server.state.session(client)
    queue = session.multi
    assert queue is not None
    # EXEC with an empty queue does the whole prologue.
    trial, reply = step(_with_session(server.state, client, session.replace(multi=())), client,
                        argv, server.now())
    if reply != _EMPTY:
        return server.step(client, argv)  # aborted (EXECABORT or null array): nothing to break
    server.state = trial
    replies: list[Reply] = []
    for index, queued in enumerate(queue):
        if index and pause:
            await asyncio.sleep(pause)
        replies.append(run(server, client, list(queued)))
    return tuple(replies)


def _special(queue: tuple[tuple[bytes, ...], ...]) -> bool:
    # Queued Pub/Sub and blocking commands behave differently outside EXEC: leave them atomic.
    for queued in queue:
        spec = lookup(queued)
        if spec is None or "pubsub" in spec.flags or "blocking" in spec.flags:
            return True
    return False


# --------------------------------------------------------------------- read, yield, write back


class _ReadYieldWrite(Fault):
    """Commands of :attr:`family`, outside a transaction, run on a snapshot, yield, and write back."""

    family: frozenset[bytes] = frozenset()

    async def execute(self, server: Host, client: int, argv: Argv) -> Reply:
        if argv[0].lower() not in self.family or not is_standalone(server.state, client):
            return server.step(client, argv)
        return await _read_yield_write(server, client, argv)


class IncrReadThenWrite(_ReadYieldWrite):
    name = "incr-read-then-write"
    description = "INCR/DECR/INCRBY/DECRBY read, yield to other clients, then write: concurrent updates are lost"
    family = _INCR_FAMILY


class ScriptNotAtomic(_ReadYieldWrite):
    name = "script-not-atomic"
    description = "EVAL/EVALSHA run on a snapshot; after yielding, the keys they changed are written blindly"
    family = _SCRIPT_FAMILY


async def _read_yield_write(server: Host, client: int, argv: Argv) -> Reply:
    """Run ``argv`` on a snapshot, let other clients run, then write what it changed blindly."""
    snapshot = server.state
    after, reply = step(snapshot, client, argv, server.now())
    after = server.deliver(after)  # messages a script published go out now: only keys are written back
    if after.dbs is snapshot.dbs:  # wrote nothing (an error, a read-only script): nothing to lose
        server.state = after
        return reply
    await asyncio.sleep(PAUSE_SECONDS)
    server.state = write_back(snapshot, after, server.state, client, server.now())
    return reply


def write_back(snapshot: State, after: State, current: State, client: int, now: int) -> State:
    """``current`` with every key that differs between ``snapshot`` and ``after`` set to its value
    (and TTL) in ``after``, as writes by ``client`` (they touch watchers); new cached scripts too."""
    ctx = Context(current, client, now)
    for index, (old, new) in enumerate(zip(snapshot.dbs, after.dbs, strict=True)):
        if old is new:
            continue
        ctx.select(index)
        for key in set(old.data.keys()) | set(new.data.keys()) | set(old.expires.keys()) | set(new.expires.keys()):
            value, deadline = new.data.get(key), new.expires.get(key)
            if value == old.data.get(key) and deadline == old.expires.get(key):
                continue
            if value is None:
                ctx.delete(key)
                continue
            ctx.write(key, value)
            if ctx.deadline(key) != deadline:
                ctx.set_deadline(key, deadline)
    for sha, body in after.scripts.items():
        if sha not in ctx.scripts:
            ctx.scripts = ctx.scripts.set(sha, body)
    return ctx.commit()


# --------------------------------------------------------------------- the keyspace


class StaleRead(Fault):
    name = "stale-read"
    description = "read-only single-key commands (GET, STRLEN, ...) sometimes see the keyspace of a few writes ago"

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        # The keyspaces (all 16 dbs) of the last few versions, oldest first.
        self.history: deque[tuple[Keyspace, ...]] = deque(maxlen=STALE_READ_DEPTH)

    async def execute(self, server: Host, client: int, argv: Argv) -> Reply:
        spec = lookup(argv)
        if (spec is None or "readonly" not in spec.flags or spec.keys_fn is not None or not self.history
                or not is_standalone(server.state, client) or len(keys_of(argv) or ()) != 1
                or self.random.random() >= STALE_READ_CHANCE):
            before = server.state
            reply = server.step(client, argv)
            if server.state.dbs is not before.dbs:
                self.history.append(before.dbs)
            return reply
        versions_ago = self.random.randint(1, len(self.history))
        current = server.state
        old = State(self.history[-versions_ago], current.sessions, current.scripts, current.watched, current.profile,
                    current.functions, current.config)
        _, reply = step(old, client, argv, server.now())  # the current state stays as it is
        return reply


class LostWrite(Fault):
    name = "lost-write"
    description = "about 1 in 10 writes outside MULTI is acknowledged with its normal reply but not applied"

    async def execute(self, server: Host, client: int, argv: Argv) -> Reply:
        spec = lookup(argv)
        before = server.state
        standalone = is_standalone(before, client)
        reply = server.step(client, argv)
        if (standalone and spec is not None and spec.write and server.state.dbs is not before.dbs
                and self.random.random() < LOST_WRITE_CHANCE):
            server.state = before
        return reply


# --------------------------------------------------------------------- Pub/Sub


class DropMessage(Fault):
    name = "drop-message"
    description = "about 1 in 20 Pub/Sub messages is never written to its subscriber"

    def deliver(self, connection: Peer, frame: Reply) -> None:
        if self.random.random() >= DROP_MESSAGE_CHANCE:
            connection.push(frame)


class DuplicateMessage(Fault):
    name = "duplicate-message"
    description = "about 1 in 20 Pub/Sub messages is written to its subscriber twice"

    def deliver(self, connection: Peer, frame: Reply) -> None:
        connection.push(frame)
        if self.random.random() < DUPLICATE_MESSAGE_CHANCE:
            connection.push(frame)


class ReorderDelivery(Fault):
    name = "reorder-delivery"
    description = "about 1 in 10 Pub/Sub messages is held back and written after the subscriber's next message"

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self.held: dict[int, Reply] = {}  # a message held back, per connection

    def deliver(self, connection: Peer, frame: Reply) -> None:
        held = self.held.pop(connection.id, None)
        if held is None and self.random.random() < REORDER_CHANCE:
            self.held[connection.id] = frame
            return
        connection.push(frame)
        if held is not None:
            connection.push(held)  # after the message that overtook it

    def before_reply(self, connection: Peer) -> None:
        held = self.held.pop(connection.id, None)
        if held is not None:
            connection.push(held)  # late, but before the reply: in order with the replies

    def closed(self, client: int) -> None:
        self.held.pop(client, None)


class WrongReceiverCount(Fault):
    name = "wrong-receiver-count"
    description = "about 1 in 10 PUBLISH outside MULTI answers a receiver count that is off by one"

    async def execute(self, server: Host, client: int, argv: Argv) -> Reply:
        standalone = is_standalone(server.state, client)
        reply = server.step(client, argv)
        if (standalone and argv[0].lower() == b"publish" and type(reply) is int
                and self.random.random() < WRONG_COUNT_CHANCE):
            return reply - 1 if reply > 0 and self.random.random() < 0.5 else reply + 1
        return reply


# --------------------------------------------------------------------- corners of single commands


class _Corner(Fault):
    """A command that a clone runs its own way: :meth:`applies` picks it by its argv, :meth:`command`
    runs it wrongly.  Fires on a command sent outside MULTI and on each one an EXEC runs (the EXEC
    still atomic); anything else is one step of the model, as Redis runs it."""

    def applies(self, argv: Argv) -> bool:
        return False

    def command(self, server: Host, client: int, argv: Argv) -> Reply:
        return server.step(client, argv)

    async def execute(self, server: Host, client: int, argv: Argv) -> Reply:
        queue = server.state.session(client).multi
        if queue is None:
            if is_standalone(server.state, client) and self.applies(argv):
                return self.command(server, client, argv)
            return server.step(client, argv)
        if argv[0].lower() != b"exec" or _special(queue) or not any(self.applies(list(q)) for q in queue):
            return server.step(client, argv)
        return await _run_exec(server, client, argv, self._queued)

    def _queued(self, server: Host, client: int, argv: Argv) -> Reply:
        return self.command(server, client, argv) if self.applies(argv) else server.step(client, argv)


class WatchFirstKeyOnly(_Corner):
    name = "watch-first-key-only"
    description = "WATCH of several keys watches only the first: a write to the others does not abort EXEC"

    def applies(self, argv: Argv) -> bool:
        return argv[0].lower() == b"watch" and any(key != argv[1] for key in argv[2:])

    def command(self, server: Host, client: int, argv: Argv) -> Reply:
        return server.step(client, argv[:2])


_PUSHES: Final = frozenset({b"rpush", b"lpush", b"rpushx", b"lpushx"})
_PAIRS: Final = {b"mset": 1, b"msetnx": 1, b"hset": 2, b"hmset": 2}  # where the pairs start


def _reversed_values(argv: Argv) -> Argv | None:
    """``argv`` with its values last to first, or ``None`` where the order would not show.

    >>> _reversed_values([b"RPUSH", b"k", b"a", b"b"])
    [b'RPUSH', b'k', b'b', b'a']
    >>> _reversed_values([b"MSET", b"k", b"1", b"j", b"2"]) is None  # distinct keys: order unseen
    True
    """
    name = argv[0].lower()
    if name in _PUSHES and len(argv) > 3:
        values = argv[2:]
        return None if values == values[::-1] else [*argv[:2], *values[::-1]]
    start = _PAIRS.get(name)
    if start is None or len(argv) < start + 4 or (len(argv) - start) % 2:
        return None
    pairs = [(argv[i], argv[i + 1]) for i in range(start, len(argv), 2)]
    if dict(pairs) == dict(reversed(pairs)):
        return None
    return [*argv[:start], *(word for pair in reversed(pairs) for word in pair)]


class MultiValueReversed(_Corner):
    name = "multi-value-reversed"
    description = "RPUSH/LPUSH of several values, and MSET/HSET setting a key twice, apply the values last to first"

    def applies(self, argv: Argv) -> bool:
        return _reversed_values(argv) is not None

    def command(self, server: Host, client: int, argv: Argv) -> Reply:
        rewritten = _reversed_values(argv)
        return server.step(client, argv if rewritten is None else rewritten)


_INT64: Final = 1 << 64


def _integer(value: Reply) -> int | None:
    """What INCR reads: a missing key as 0, an integer string as itself; ``None`` for anything else."""
    if value is None:
        return 0
    if type(value) is not bytes or not value.lstrip(b"-").isdigit():
        return None
    number = int(value)
    return number if b"%d" % number == value and -_INT64 // 2 <= number < _INT64 // 2 else None


class DecrbyOverflowWraps(_Corner):
    name = "decrby-overflow-wraps"
    description = "INCR/DECR/INCRBY/DECRBY/HINCRBY past the 64-bit range wrap around instead of failing with an overflow"

    def applies(self, argv: Argv) -> bool:
        return argv[0].lower() in _WRAPPING

    def command(self, server: Host, client: int, argv: Argv) -> Reply:
        reply = server.step(client, argv)
        if type(reply) is not Error or "overflow" not in reply.text:
            return reply
        name = argv[0].lower()
        hashed = name == b"hincrby"
        _, old = step(server.state, client, [b"HGET", *argv[1:3]] if hashed else [b"GET", argv[1]], server.now())
        value = _integer(old)
        if value is None:  # not an integer (DECRBY's own check came first): the error stays
            return reply
        by = _DELTAS.get(name) or int(argv[-1]) * (-1 if name == b"decrby" else 1)
        wrapped = (value + by + _INT64 // 2) % _INT64 - _INT64 // 2
        new = b"%d" % wrapped
        server.step(client, [b"HSET", *argv[1:3], new] if hashed else [b"SET", argv[1], new, b"KEEPTTL"])
        return wrapped


_WRAPPING: Final = _INCR_FAMILY | {b"hincrby"}
_DELTAS: Final = {b"incr": 1, b"decr": -1}
_SCORES: Final = frozenset({b"zscore", b"zmscore", b"zincrby", b"zadd"})  # every bulk string a score
_PAIRS_WITH_SCORES: Final = frozenset({b"zpopmin", b"zpopmax"})  # member, score, member, score...
_WITHSCORES: Final = frozenset({b"zrange", b"zrevrange", b"zrangebyscore", b"zrevrangebyscore"})


def _shortest(reply: Reply) -> Reply:
    """A score reply (or an array of them) in the shortest form that reads back the same.

    >>> _shortest((b"0.10000000000000001", None, b"inf", b"100"))
    (b'0.1', None, b'inf', b'100')
    """
    if type(reply) is tuple:
        return tuple(_shortest(item) for item in reply)
    if type(reply) is not bytes or reply in (b"inf", b"-inf"):
        return reply
    return repr(float(reply)).removesuffix(".0").encode()


class ScoreShortestFormat(_Corner):
    name = "score-shortest-format"
    description = "scores in replies (ZSCORE, ZINCRBY, WITHSCORES...) are shortest (0.1), not Redis 7.0's %.17g"

    def applies(self, argv: Argv) -> bool:
        name = argv[0].lower()
        return (name in _SCORES or name in _PAIRS_WITH_SCORES
                or (name in _WITHSCORES and any(word.lower() == b"withscores" for word in argv[4:])))

    def command(self, server: Host, client: int, argv: Argv) -> Reply:
        reply = server.step(client, argv)
        if argv[0].lower() in _SCORES or type(reply) is not tuple:
            return _shortest(reply)
        return tuple(_shortest(item) if index % 2 else item for index, item in enumerate(reply))


class EchoAsStatus(_Corner):
    name = "echo-as-status"
    description = "ECHO msg and PING msg answer +msg (a simple string) instead of a bulk string"

    def applies(self, argv: Argv) -> bool:
        return argv[0].lower() in (b"echo", b"ping") and len(argv) == 2

    def command(self, server: Host, client: int, argv: Argv) -> Reply:
        reply = server.step(client, argv)
        if type(reply) is not bytes or b"\r" in reply or b"\n" in reply:
            return reply
        try:
            return Status(reply.decode())
        except UnicodeDecodeError:  # a status line redlin's history could not hold: left alone
            return reply


# --------------------------------------------------------------------- the script cache


class ScriptCachePerConnection(Fault):
    name = "script-cache-per-connection"
    description = "a script loaded by one connection is unknown to the others (EVALSHA: NOSCRIPT, SCRIPT EXISTS: 0)"

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self._loaded: dict[int, set[bytes]] = {}

    async def execute(self, server: Host, client: int, argv: Argv) -> Reply:
        name = argv[0].lower()
        sub = argv[1].lower() if name == b"script" and len(argv) > 1 else b""
        mine = self._loaded.setdefault(client, set())
        if server.state.session(client).multi is not None or not is_standalone(server.state, client):
            return server.step(client, argv)
        if name in (b"evalsha", b"evalsha_ro") and len(argv) > 1 and argv[1].lower() not in mine:
            return step(State(), client, argv)[1]  # NOSCRIPT, from a server that knows no script
        reply = server.step(client, argv)
        if sub == b"load" and type(reply) is bytes:
            mine.add(reply)
        elif name in (b"eval", b"eval_ro") and len(argv) > 1:
            mine.add(hashlib.sha1(argv[1]).hexdigest().encode())
        elif sub == b"exists" and type(reply) is tuple:
            return tuple(int(bool(known) and sha.lower() in mine) for known, sha in zip(reply, argv[2:], strict=False))
        return reply

    def closed(self, client: int) -> None:
        self._loaded.pop(client, None)


# --------------------------------------------------------------------- the registry


_KINDS: Final[Mapping[str, type[Fault]]] = {kind.name: kind for kind in (
    WatchIgnored, ExecNotAtomic, IncrReadThenWrite, ScriptNotAtomic, StaleRead, LostWrite,
    DropMessage, DuplicateMessage, ReorderDelivery, WrongReceiverCount, WatchFirstKeyOnly, LongExecNotAtomic,
    MultiValueReversed, DecrbyOverflowWraps, ScoreShortestFormat, EchoAsStatus, ScriptCachePerConnection,
    *REPLY_FAULTS, *GROUP_FAULTS,
)}

FAULTS: Final[Mapping[str, str]] = {name: kind.description for name, kind in _KINDS.items()}
"""Planted fault name -> what it breaks (one guarantee each)."""


def make_fault(name: str, seed: int = 0) -> Fault:
    """The planted fault called ``name`` (a key of :data:`FAULTS`), its random choices seeded by ``seed``.

    >>> str(make_fault("lost-write", seed=3))
    'lost-write'
    """
    kind = _KINDS.get(name)
    if kind is None:
        raise ValueError(f"unknown fault {name!r}; known faults: {', '.join(FAULTS)}")
    return kind(seed)
