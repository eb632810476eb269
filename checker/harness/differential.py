"""Differential testing: run the model and a real server in lockstep and compare every reply.

The checker can only prove a server wrong if the model is right.  This module tests the model (or,
seen from the other side, a server or clone) by *differential testing* (McKeeman 1998): the same
random sequence of commands from several clients goes to both, one command at a time, and every
reply must be identical -- exactly, byte for byte, error code words included, because the
:mod:`redlin.harness.wire` client keeps replies as the server sent them.

The sequences come from a Hypothesis rule-based state machine (MacIver et al., "Hypothesis: a new
approach to property-based testing", 2019), so a mismatch is shrunk to a short reproduction.  Each
step picks a client and a command, so clients interleave: one client's write lands between
another's WATCH and EXEC, a transaction queues while others write, a client SELECTs away.  Commands
(:mod:`redlin.harness.lockstep_commands`) are drawn from a small shared key space so that types
collide (LPUSH on a string key), and include wrong arities, unknown commands and transaction misuse.
This module holds the machine and how replies are compared and shown.

Uniform draws almost never line up WATCH, a write to the watched key, MULTI and EXEC on the right
clients, so the draw is steered by the model's view of each session: a client in MULTI is likely
to get EXEC, a watching one MULTI, and data commands favour watched keys.  Each test case also
draws from a random subset of the command families (swarm testing: Groce et al., "Swarm
Testing", ISSTA 2012), so that a few families interact deeply.  A test in the suite plants bugs
in the model and insists that they are found.

Pub/Sub (family ``pubsub``, sheet P): replies of several values (``SUBSCRIBE a b``) are read in
full, and after every step each client reads exactly the messages the model queued for it
(``model.flush_mailboxes``), in an order the model allows (several pattern messages of one PUBLISH
come in the order of Redis's pattern table).  A subscribed client (RESP2) mostly gets Pub/Sub
commands; channel lists whose order is Redis's hash table's are compared sorted
(``model.canonical_pubsub_reply``).  Teardown RESETs every connection, so that no subscription
outlives its test case.

Time never matters: TTLs are at least 1000 s, relative deadlines are never compared with each
other (no GT/LT on EXPIRE), no key is created already expired, and TTL replies are compared by
class only (-2, -1 or positive).  What the model declines to model (it answers ``ERR redlin's
model ...``, e.g. a blocking wait outside MULTI) is not sent to the server.

Use it against your own server or clone (it runs FLUSHALL at the start of every test case: never
point it at data you want to keep)::

    from hypothesis import settings
    from redlin.harness.wire import Connection
    from redlin.harness.differential import make_lockstep_machine, run_lockstep

    run_lockstep(lambda: Connection("127.0.0.1", 6379), settings=settings(max_examples=200))

or, as a pytest test class::

    Lockstep = make_lockstep_machine(lambda: Connection("127.0.0.1", 6379))
    TestLockstep = Lockstep.TestCase

Commands the model's table does not know (``model.lookup(argv) is None``) are left out, so the
tester follows the model as families are added.  ``step`` plugs in another step function, for
instance a deliberately broken one to show that the tester would catch the bug.
"""

from __future__ import annotations

import contextlib
import inspect
import time
from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from typing import Any, Final, TypeAlias

from hypothesis import settings as Settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

import redlin.model as model
from redlin.harness.lockstep_commands import (
    DBS,
    DEFAULT_KEYS,
    FAMILIES,
    Argv,
    command_families,
    data_commands,
    misuse_commands,
    pubsub_commands,
    several,
    with_case,
)
from redlin.harness.wire import Connection, WireError
from redlin.model import (
    INITIAL_STATE,
    NULL_ARRAY,
    Error,
    Frames,
    Reply,
    State,
    Status,
    canonical_pubsub_reply,
    disconnect,
    flush_mailboxes,
    frames_of,
    lookup,
    receive_all,
    sort_unordered,
)

StepFunction: TypeAlias = Callable[[State, Hashable, Sequence[bytes], int], tuple[State, Reply]]

# Replies that depend on the server's clock: compared by class only.
_TIME_DEPENDENT: Final = frozenset({b"ttl", b"pttl", b"expiretime", b"pexpiretime"})
_POSITIVE: Final = Status("<a positive time>")
# The model answers this way what it deliberately does not model (a blocking wait, SAVE...).
_DECLINED: Final = "ERR redlin's model "

# ---------------------------------------------------------------------------- comparing replies


def _pattern_runs_sorted(reply: Reply) -> Reply:
    """Sort each run of ``pmessage`` frames one PUBLISH wrote to one connection.

    When several patterns of a connection match, Redis writes their messages in the order of its
    pattern hash table, which differs between server processes; the model writes them sorted.
    Consecutive ``pmessage`` frames with the same channel and payload are one such run.
    """
    if type(reply) is not Frames:
        return reply
    frames = list(frames_of(reply))
    out: list[Reply] = []
    run: list[Reply] = []

    def flush() -> None:
        out.extend(sorted(run, key=repr))
        run.clear()

    for frame in frames:
        is_pmessage = type(frame) is tuple and len(frame) == 4 and frame[0] == b"pmessage"
        if is_pmessage and run and run[-1][2:] == frame[2:]:  # type: ignore[index]
            run.append(frame)
            continue
        flush()
        if is_pmessage:
            run.append(frame)
        else:
            out.append(frame)
    flush()
    return Frames(tuple(out))


def canonical(argv: Sequence[bytes], reply: Reply, queued: Sequence[Sequence[bytes]] = ()) -> Any:
    """The form in which a reply is compared.

    Unordered replies (table flags ``unordered`` / ``pairs``) are sorted, TTL-like replies are
    reduced to -2, -1 or "positive", and an EXEC reply is canonicalised element by element against
    the commands it ran (``queued``).
    """
    reply = _pattern_runs_sorted(canonical_pubsub_reply(argv, reply, queued))
    name = argv[0].lower()
    if name == b"exec" and type(reply) is tuple:
        return tuple(
            canonical(queued[i], item) if i < len(queued) else item for i, item in enumerate(reply)
        )
    if name in _TIME_DEPENDENT and type(reply) is int and reply >= 0:
        return _POSITIVE
    spec = lookup(argv)
    if spec is not None and ("unordered" in spec.flags or "pairs" in spec.flags):
        return sort_unordered(reply, pairs="pairs" in spec.flags)
    return reply


def show_command(argv: Sequence[bytes]) -> str:
    """A command as one would type it in redis-cli."""
    return " ".join(_show_arg(arg) for arg in argv)


def _show_arg(arg: bytes) -> str:
    text = arg.decode("utf-8", "backslashreplace")
    if not text or any(ch.isspace() or ch in "\"'\\" for ch in text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def show_reply(reply: Reply) -> str:
    """A reply in RESP2 terms: ``+OK``, ``-ERR ...``, ``:5``, ``"bytes"``, ``$-1``, ``[...]``, ``*-1``."""
    if type(reply) is Status:
        return "+" + reply.text
    if type(reply) is Error:
        return "-" + reply.text
    if type(reply) is int:
        return f":{reply}"
    if type(reply) is bytes:
        return _show_arg(reply) if reply else '""'
    if reply is None:
        return "$-1"
    if reply is NULL_ARRAY:
        return "*-1"
    if type(reply) is tuple:
        return "[" + ", ".join(show_reply(item) for item in reply) + "]"
    if type(reply) is Frames:
        return " then ".join(show_reply(item) for item in reply)
    return repr(reply)


# ---------------------------------------------------------------------------- the machine


class LockstepMismatch(AssertionError):
    """The model and the server answered one command differently."""


# How often each kind of command is drawn, by what the client is doing (the model's view of its
# session).  Transactions only get interesting when EXEC goes to a client in MULTI, MULTI to one
# that is watching, and writes land between: uniform draws almost never line those up.
_IDLE: Final = {"data": 12, "watch": 4, "multi": 3, "misuse": 1, "session": 1, "exec": 1, "abandon": 1}
_WATCHING: Final = {"data": 12, "multi": 6, "watch": 1, "abandon": 1, "misuse": 1, "session": 1, "exec": 1}
_IN_MULTI: Final = {"data": 10, "exec": 5, "abandon": 1, "misuse": 1, "refused": 1, "session": 1,
                    "watch": 1, "multi": 1}
# RESP2 subscribed mode allows only Pub/Sub commands, PING, QUIT and RESET (P6): mostly those.
_SUBSCRIBED: Final = {"pubsub": 12, "data": 1, "session": 1, "misuse": 1}
# Which family each kind of command belongs to (data commands have their own families).
_KIND_FAMILY: Final = {"watch": "transactions", "multi": "transactions", "exec": "transactions",
                       "abandon": "transactions", "refused": "transactions", "misuse": "errors",
                       "session": "connection", "pubsub": "pubsub"}


def make_lockstep_machine(
    connect: Callable[[], Connection],
    *,
    clients: int = 3,
    keys: Sequence[bytes] = DEFAULT_KEYS,
    families: Collection[str] = FAMILIES,
    step: StepFunction = model.step,
    transcript: int = 40,
) -> type[RuleBasedStateMachine]:
    """A Hypothesis state machine that runs ``step`` and a server side by side.

    Parameters
    ----------
    connect
        Opens one new connection to the server under test.  Called ``clients`` times per test case
        (and again after a client sends QUIT).  The server is emptied with FLUSHALL (and SCRIPT
        FLUSH) at the start of each test case.
    clients
        How many concurrent connections interleave (at least 2; 3 or more let a third client
        write while two others hold watches).
    keys
        The shared key space; keep it small so that clients and types collide.
    families
        Which command families to draw from (see :data:`FAMILIES`).
    step
        The model's step function; ``model.step`` by default.  Plug in a variant to test the
        tester (a planted bug must be found).
    transcript
        How many of the last steps a failure message lists.

    Returns
    -------
    A :class:`~hypothesis.stateful.RuleBasedStateMachine` subclass with one rule,
    ``send(command=(client, argv))``; run it with :func:`run_lockstep`,
    :func:`~hypothesis.stateful.run_state_machine_as_test`, or expose its ``TestCase`` to pytest.
    A failure is shrunk and printed as the list of ``state.send(...)`` calls that reproduce it.
    """
    if clients < 2:
        raise ValueError("the lockstep machine needs at least 2 clients to interleave")
    if not keys:
        raise ValueError("the lockstep machine needs at least one key")
    unknown = set(families) - FAMILIES
    if unknown:
        raise ValueError(f"unknown command families {sorted(unknown)}; choose from {sorted(FAMILIES)}")
    keys = tuple(keys)
    key = st.sampled_from(keys)
    data = data_commands(keys, families, st.one_of(key, _watched_key(keys)))
    # A step function that takes the observed reply follows the server's random choices (SPOP...).
    follows: Any = step if "observed" in inspect.signature(step).parameters else None
    kinds: dict[str, st.SearchStrategy[Argv]] = {
        "watch": several(st.one_of(key, _watched_key(keys)), 2).map(lambda watched: (b"WATCH",) + watched),
        "multi": st.just((b"MULTI",)),
        "exec": st.just((b"EXEC",)),
        "abandon": st.sampled_from(((b"DISCARD",), (b"UNWATCH",))),
        "refused": st.just((b"SAVE",)),  # no-multi: aborts the transaction (M13); only inside MULTI
        "misuse": misuse_commands(keys),
        "session": st.sampled_from(
            tuple((b"SELECT", db) for db in DBS + (b"16", b"x")) + ((b"RESET",), (b"QUIT",))),
        "pubsub": with_case(st.one_of([strategy for _, strategy in pubsub_commands()])),
    }
    if data:
        # Swarm testing: each test case draws from a random subset of the families (chosen by the
        # ``swarm`` initialize rule), so that a few families interact deeply instead of all thinly.
        kinds["data"] = st.runner().flatmap(lambda machine: st.sampled_from(machine.swarm_families)).flatmap(
            data.__getitem__)
    kinds = {kind: strategy for kind, strategy in kinds.items()
             if kind == "data" or _KIND_FAMILY[kind] in families}
    if not kinds:
        raise ValueError(f"no commands to draw from families {sorted(families)}")

    def weighted(table: dict[str, int]) -> st.SearchStrategy[Argv]:
        # Data commands first: Hypothesis shrinks towards the first choice.
        choices = [kind for kind, weight in table.items() if kind in kinds for _ in range(weight)]
        return st.sampled_from(choices).flatmap(kinds.__getitem__)

    by_situation = {"idle": weighted(_IDLE), "watching": weighted(_WATCHING), "in_multi": weighted(_IN_MULTI),
                    "subscribed": weighted(_SUBSCRIBED) if "pubsub" in kinds else weighted(_IDLE)}

    def command_for(machine: Any, client: int) -> st.SearchStrategy[tuple[int, Argv]]:
        return by_situation[machine.situation(client)].flatmap(lambda argv: st.just((client, argv)))

    command = st.runner().flatmap(
        lambda machine: st.integers(0, clients - 1).flatmap(lambda client: command_for(machine, client)))

    class LockstepMachine(RuleBasedStateMachine):
        """Model and server, one command at a time, from interleaved clients."""

        def __init__(self) -> None:
            super().__init__()
            self.state: State = INITIAL_STATE
            self.swarm_families = sorted(data)
            self.steps = 0
            self.log: list[str] = []
            self.start_ms = int(time.time() * 1000)
            self.start = time.monotonic()
            self.connections: list[Connection] = []
            try:
                for _ in range(clients):
                    self.connections.append(connect())
                reply = self.connections[0].execute(b"FLUSHALL")
                self.connections[0].execute(b"SCRIPT", b"FLUSH")  # the model starts with no scripts
            except WireError as error:
                self.teardown()
                raise LockstepMismatch(f"could not set up the server under test: {error}") from error
            if reply != model.OK:
                self.teardown()
                raise LockstepMismatch(f"FLUSHALL at setup answered {show_reply(reply)}, expected +OK")

        def teardown(self) -> None:
            for client, connection in enumerate(self.connections):
                if not connection.closed and self.state.session(client).subscriptions:
                    # No subscription may outlive its test case: channels are server-wide.
                    with contextlib.suppress(WireError):
                        connection.send_many([(b"RESET",)])
                connection.close()

        @initialize(families=st.lists(st.sampled_from(sorted(data) or [""]), min_size=1, unique=True))
        def swarm(self, families: list[str]) -> None:
            """The data families this test case draws from (swarm testing, Groce et al. 2012)."""
            self.swarm_families = sorted(families)

        @rule(command=command)
        def send(self, command: tuple[int, Argv]) -> None:
            """One command from one client, to both sides.  SAVE only goes out inside MULTI."""
            client, argv = command
            if argv == (b"SAVE",) and self.situation(client) != "in_multi":
                return
            self.lockstep(client, argv)

        def lockstep(self, client: int, argv: Argv) -> Reply:
            """Run one command on both sides and insist on the same reply."""
            self.steps += 1
            queued = self.state.session(client).multi or ()
            now = self.now()
            try:
                state, expected = step(self.state, client, argv, now)
            except Exception as error:
                raise LockstepMismatch(self.report(client, argv, f"the model raised {error!r}")) from error
            if type(expected) is Error and expected.text.startswith(_DECLINED):
                # The model does not model this (a blocking wait, persistence...): not sent.
                self.log.append(f"  step {self.steps:<4} client {client}  {show_command(argv)}  ->  "
                                f"(not sent: {expected.text})")
                return expected
            connection = self.connections[client]
            try:
                connection.send_many([argv])
                # One value per frame the model writes (SUBSCRIBE a b writes two, P2).
                actual = Frames.of(tuple(connection.receive() for _ in frames_of(expected)))
            except WireError as error:
                raise LockstepMismatch(self.report(
                    client, argv, f"the server failed: {error}\n  model : {show_reply(expected)}")) from error
            if follows is not None and actual != expected and type(actual) is not Frames:
                # A command whose reply the server chooses (SPOP...) follows the server's choice
                # when Redis could have made it.
                state, expected = follows(self.state, client, argv, now, observed=actual)
            self.state = self.deliver(client, argv, state)
            self.log.append(f"  step {self.steps:<4} client {client}  {show_command(argv)}  ->  "
                            f"{show_reply(actual)}")
            if canonical(argv, expected, queued) != canonical(argv, actual, queued):
                raise LockstepMismatch(self.report(
                    client, argv,
                    f"different replies\n  model : {show_reply(expected)}\n  server: {show_reply(actual)}"))
            if argv[0].lower() == b"quit" and actual == model.OK:
                # The server closes the connection after QUIT; the client comes back as a new one.
                connection.close()
                self.state = disconnect(self.state, client)
                self.connections[client] = connect()
            return actual

        def deliver(self, client: int, argv: Argv, state: State) -> State:
            """Every client reads the messages the model queued for it; they must be those (P3-P5)."""
            emptied, mail = flush_mailboxes(state)
            for receiver, frames in sorted(mail.items(), key=repr):
                try:
                    got = tuple(self.connections[int(receiver)].receive() for _ in frames)  # type: ignore[call-overload]
                except WireError as error:
                    raise LockstepMismatch(self.report(
                        client, argv, f"client {receiver} did not get its messages: {error}\n"
                                      f"  model : {show_reply(Frames.of(frames))}")) from error
                if receive_all(state, receiver, got) is None:
                    raise LockstepMismatch(self.report(
                        client, argv, f"client {receiver} got other messages\n  model : "
                                      f"{show_reply(Frames.of(frames))}\n  server: {show_reply(Frames.of(got))}"))
                self.log.append(f"             client {receiver} got  {show_reply(Frames.of(got))}")
            return emptied

        def now(self) -> int:
            """The model's clock, close to the server's (only TTL classes depend on it)."""
            return self.start_ms + int((time.monotonic() - self.start) * 1000)

        def situation(self, client: int) -> str:
            """What the client is doing, as the model sees it: in_multi, subscribed, watching or idle."""
            session = self.state.session(client)
            if session.multi is not None:
                return "in_multi"
            if session.subscriptions:
                return "subscribed"
            return "watching" if session.watched or session.dirty_cas else "idle"

        def report(self, client: int, argv: Argv, what: str) -> str:
            recent = "\n".join(self.log[-transcript:])
            return (f"step {self.steps}: client {client} sent {show_command(argv)}: {what}\n"
                    f"steps so far (with the server's replies):\n{recent or '  (none)'}")

    LockstepMachine.__name__ = LockstepMachine.__qualname__ = "LockstepMachine"
    return LockstepMachine


def _watched_key(keys: Sequence[bytes]) -> st.SearchStrategy[bytes]:
    """A key some client watches, if any: writes (and no-op writes) to watched keys are what the
    WATCH items are about (W1-W9), and with uniform keys they are rare."""
    def among(machine: Any) -> st.SearchStrategy[bytes]:
        watched = sorted({key for session in machine.state.sessions.values() for _, key in session.watched})
        return st.sampled_from(watched or keys)

    return st.runner().flatmap(among)


def run_lockstep(
    connect: Callable[[], Connection], *, settings: Settings | None = None, **options: Any
) -> None:
    """Run the lockstep machine once (Hypothesis explores, shrinks and reports a failure).

    ``options`` are passed to :func:`make_lockstep_machine`.  Raises :class:`LockstepMismatch`
    (an ``AssertionError``) with a readable report if the model and the server ever disagree.
    """
    machine = make_lockstep_machine(connect, **options)
    run_state_machine_as_test(machine, settings=settings)


def lockstep_once(
    connect: Callable[[], Connection], script: Iterable[tuple[int, Sequence[bytes]]], *,
    clients: int = 3, step: StepFunction = model.step,
) -> None:
    """Run a fixed script of (client, argv) steps in lockstep: a reproduction without Hypothesis."""
    machine: Any = make_lockstep_machine(connect, clients=clients, step=step)()
    try:
        for client, argv in script:
            machine.lockstep(client, tuple(argv))
    finally:
        machine.teardown()


__all__ = [
    "DEFAULT_KEYS", "FAMILIES", "LockstepMismatch", "StepFunction", "canonical", "command_families",
    "data_commands", "lockstep_once", "make_lockstep_machine", "misuse_commands", "pubsub_commands",
    "run_lockstep", "show_command", "show_reply",
]
