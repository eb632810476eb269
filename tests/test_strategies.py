"""The public Hypothesis strategies, ``redlin.strategies`` (issue #17).

What is drawn must be real Redis: every command runs on redlin's model without an unknown-command
or arity error, transactions and scripts have the shape Redis expects.  And the strategies must be
ordinary Hypothesis strategies: users compose them into their own state machines, find() shrinks
to the smallest example, the example database replays a failure, ``@reproduce_failure`` replays
the printed blob, settings govern a run.  Each test keeps its examples few: the file runs in
seconds.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, assume, find, given, reproduce_failure, settings
from hypothesis import strategies as st
from hypothesis.database import InMemoryExampleDatabase
from hypothesis.stateful import RuleBasedStateMachine, rule

import redlin.strategies
from redlin import FAMILIES, Program
from redlin.harness.script_guard import script_policy
from redlin.model import Error, Redis, Status, keys_of
from redlin.strategies import commands, programs, scripts, transactions

QUICK = settings(max_examples=60, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
"""Explicit settings: these tests must not depend on the profile the suite runs under."""

KEYS = ("k0", "k1", "k2")


def _not_a_real_command(reply: object) -> bool:
    """Whether ``reply`` says the command does not exist or has the wrong number of arguments."""
    return isinstance(reply, Error) and ("unknown command" in reply.text or "wrong number of arguments" in reply.text)


# ----------------------------------------------------------------------------- what is drawn


@QUICK
@given(commands(keys=KEYS))
def test_drawn_commands_are_commands_redis_knows(argv: tuple[bytes, ...]) -> None:
    assert all(isinstance(arg, bytes) for arg in argv)
    reply = Redis().client().execute(*argv)
    assert not _not_a_real_command(reply), (argv, reply)
    assert set(keys_of(argv) or ()) <= {key.encode() for key in KEYS}


@QUICK
@given(commands(names=["zadd", "XADD", "Lpush"], keys=["only"], values=st.just(b"mine")))
def test_commands_draws_only_the_names_and_keys_given(argv: tuple[bytes, ...]) -> None:
    assert argv[0] in (b"ZADD", b"XADD", b"LPUSH")
    assert argv[1] == b"only"
    assert not _not_a_real_command(Redis().client().execute(*argv))


@QUICK
@given(transactions(max_commands=3))
def test_transactions_are_multi_then_exec_or_discard(tx: tuple[tuple[bytes, ...], ...]) -> None:
    multi = tx.index((b"MULTI",))
    assert {argv[0] for argv in tx[:multi]} <= {b"WATCH", b"TYPE"}
    assert multi == 0 or tx[0][0] == b"WATCH"
    assert tx[-1] in ((b"EXEC",), (b"DISCARD",))
    queued = tx[multi + 1:-1]
    assert 1 <= len(queued) <= 3
    client = Redis().client()
    replies = [client.execute(*argv) for argv in tx]
    end = replies[-1]
    if tx[-1] == (b"DISCARD",):
        assert end == Status("OK")
    else:  # the array of replies, or EXECABORT after a command refused at queue time
        refused = [reply for reply in replies[multi + 1:-1] if reply != Status("QUEUED")]
        assert isinstance(end, tuple) and len(end) == len(queued) and not refused or \
            isinstance(end, Error) and end.code == "EXECABORT" and refused, (tx, replies)


@QUICK
@given(scripts(keys=KEYS))
def test_scripts_are_eval_with_their_numkeys(argv: tuple[bytes, ...]) -> None:
    assert argv[0] == b"EVAL"
    numkeys = int(argv[2])
    assert 1 <= numkeys <= 3
    assert set(argv[3:3 + numkeys]) <= {key.encode() for key in KEYS}
    assert 1 <= len(argv[3 + numkeys:]) <= 2  # the script's ARGV
    used = {int(n) for n in re.findall(rb"KEYS\[(\d+)\]", argv[1])}
    assert used and max(used) <= numkeys
    assert script_policy(argv[1]) is None  # the workload's own text, no guard
    reply = Redis().client().execute(*argv)
    assert not _not_a_real_command(reply), (argv, reply)


def test_guarded_scripts_carry_redlins_guard() -> None:
    argv = find(scripts(guarded=True), lambda argv: True, settings=QUICK)
    assert script_policy(argv[1]) == "strict"
    assert isinstance(Redis().client().execute(*argv), tuple)


@QUICK
@given(programs("counter", clients=3, steps=4))
def test_programs_have_the_clients_asked(program: Program) -> None:
    assert program.family == "counter" and len(program.clients) == 3
    assert all(len(actions) <= 4 for actions in program.clients)


def test_programs_take_a_family_and_name_the_known_ones() -> None:
    program = find(programs(FAMILIES["cas"], clients=1), lambda p: p.size >= 1, settings=QUICK)
    assert program.family == "cas" and len(program.clients) == 1
    with pytest.raises(ValueError, match="unknown workload 'nosuch': one of .*register"):
        programs("nosuch")


def test_mistaken_arguments_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="MULTI is not drawn: drawn as whole transactions"):
        commands(names=["MULTI"])
    with pytest.raises(ValueError, match="NOSUCH is not drawn"):
        commands(names=["get", "nosuch"])
    with pytest.raises(TypeError, match="sequence of command names"):
        commands(names="GET")
    with pytest.raises(TypeError, match="sequence of str"):
        scripts(keys="k0")
    with pytest.raises(ValueError, match="at least one key"):
        transactions(keys=())
    with pytest.raises(ValueError, match="max_commands must be at least 1"):
        transactions(max_commands=0)


def test_the_public_names() -> None:
    assert sorted(redlin.strategies.__all__) == ["commands", "programs", "scripts", "transactions"]


# ----------------------------------------------------------------------------- composing them


class SameRepliesInsideMulti(RuleBasedStateMachine):
    """A user's own machine: any command replies the same alone as inside MULTI/EXEC.

    Two models go through the same commands, one sends each alone, the other wraps each in its
    own transaction; transactions and scripts run on both as they are, so their data stays equal.
    """

    def __init__(self) -> None:
        super().__init__()
        self.alone = Redis().client()
        self.wrapped = Redis().client()

    @rule(argv=commands())
    def command(self, argv: tuple[bytes, ...]) -> None:
        assume(argv[0] != b"WATCH")  # refused inside MULTI: EXEC would abort
        reply = self.alone.execute(*argv)
        assert self.wrapped.execute(b"MULTI") == Status("OK")
        assert self.wrapped.execute(*argv) == Status("QUEUED")
        assert self.wrapped.execute(b"EXEC") == (reply,), argv

    @rule(tx=transactions(max_commands=4))
    def transaction(self, tx: tuple[tuple[bytes, ...], ...]) -> None:
        assert [self.alone.execute(*argv) for argv in tx] == [self.wrapped.execute(*argv) for argv in tx]

    @rule(argv=scripts())
    def script(self, argv: tuple[bytes, ...]) -> None:
        assert self.alone.execute(*argv) == self.wrapped.execute(*argv)


TestSameRepliesInsideMulti = SameRepliesInsideMulti.TestCase
TestSameRepliesInsideMulti.settings = settings(QUICK, max_examples=15, stateful_step_count=12)


# ----------------------------------------------------------------------------- Hypothesis as usual


def test_find_shrinks_to_the_smallest_command() -> None:
    assert find(commands(names=["LPUSH"]), lambda argv: len(argv) > 3, settings=QUICK) == \
        (b"LPUSH", b"k0", b"v1", b"v1")
    assert find(commands(names=["GET", "DEL"], keys=["a", "b"]), lambda argv: b"b" in argv,
                settings=QUICK) == (b"GET", b"b")
    assert find(transactions(), lambda tx: True, settings=QUICK) == ((b"MULTI",), (b"GET", b"k0"), (b"EXEC",))


def _failing_on_long_sets(seen: list[tuple[bytes, ...]]) -> Callable[[], None]:
    """A test that records what it is given and fails on a SET with options."""

    @given(commands(names=["GET", "SET"]))
    def long_sets_fail(argv: tuple[bytes, ...]) -> None:
        seen.append(argv)
        assert len(argv) <= 3

    return long_sets_fail


def test_reproduce_failure_replays_the_printed_blob() -> None:
    first: list[tuple[bytes, ...]] = []
    with pytest.raises(AssertionError) as failure:
        settings(QUICK, print_blob=True)(_failing_on_long_sets(first))()
    notes = "\n".join(getattr(failure.value, "__notes__", []))
    found = re.search(r"@reproduce_failure\('([^']+)', (b'[^']*')\)", notes)
    assert found, notes
    version, blob = found.group(1), ast.literal_eval(found.group(2))
    again: list[tuple[bytes, ...]] = []
    replay = reproduce_failure(version, blob)(settings(QUICK)(_failing_on_long_sets(again)))
    with pytest.raises(AssertionError):
        replay()
    assert again == [first[-1]] and len(first[-1]) == 4


def test_the_example_database_replays_a_failure_first() -> None:
    database = InMemoryExampleDatabase()
    first: list[tuple[bytes, ...]] = []
    with pytest.raises(AssertionError):
        settings(QUICK, database=database)(_failing_on_long_sets(first))()
    again: list[tuple[bytes, ...]] = []
    with pytest.raises(AssertionError):
        settings(QUICK, database=database)(_failing_on_long_sets(again))()
    assert again[0] == first[-1]  # the saved failure, before any new example


def test_settings_govern_the_run() -> None:
    seen: list[tuple[bytes, ...]] = []

    @settings(QUICK, max_examples=7)
    @given(commands())
    def record(argv: tuple[bytes, ...]) -> None:
        seen.append(argv)

    record()
    assert 1 <= len(seen) <= 7
