"""The shortcuts a model step takes, against the general rules they stand for (issue #15: the
Redis model's step is what checking a long history spends its time on).

- :func:`redlin.adapter.redis_model._call_facts` tells a single command by its name; a block is
  worked out in full (:func:`_block_facts`).  Both must say the same of every single command.
- :class:`redlin.model._state.Session` writes ``replace`` and ``==`` out field by field; they must
  agree with the session's whole field tuple (what its hash is taken of).
- :func:`redlin.adapter.pubsub_parts.pubsub_objects` takes a lone PUBLISH by its channel; its
  objects must be those of the general rule (:func:`_published`).
"""

from __future__ import annotations

import importlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redlin.adapter import pubsub_parts
from redlin.history.records import Operation, Outcome
from redlin.model._commands import COMMANDS
from redlin.model._state import DEFAULT_SESSION, Session

redis_model_module = importlib.import_module("redlin.adapter.redis_model")  # (the package exports a function by that name)
_general = redis_model_module._block_facts.__wrapped__  # the rule, uncached, for any call


def _single_commands() -> list[tuple[bytes, ...]]:
    """Every command of the table, alone, in both cases, bare and with one or two arguments, and
    every subcommand of a container."""
    argvs: list[tuple[bytes, ...]] = [(b"RECV", b"message", b"ch", b"m"), (b"RESTART", b"emptied", b"a", b"b"), ()]
    for name, spec in COMMANDS.items():
        for word in (name, name.upper()):
            argvs += [(word,), (word, b"k"), (word, b"k", b"v")]
            for sub in spec.subcommands:
                argvs += [(word, sub), (word, sub.upper(), b"x")]
    return argvs


def test_a_single_commands_facts_are_the_general_rules() -> None:
    # Fails when a command whose reply is compared in canonical form is missing from _MAY_REORDER.
    argvs = _single_commands()
    differ = [argv for argv in argvs if redis_model_module._call_facts((argv,)) != _general((argv,))]
    assert not differ and len(argvs) > 1000


def test_a_blocks_facts_are_worked_out_whole() -> None:
    block = ((b"MULTI",), (b"SMEMBERS", b"s"), (b"EVAL", b"return 1", b"0"), (b"EXEC",))
    assert redis_model_module._call_facts(block) == (True, False, False, True)
    assert redis_model_module._call_facts(((b"MULTI",), (b"GET", b"k"), (b"EXEC",))) == (False, False, False, False)


_pairs = st.frozensets(st.tuples(st.integers(0, 2), st.sampled_from([b"a", b"b"])), max_size=2)
_names = st.frozensets(st.sampled_from([b"c1", b"c2", b"p*"]), max_size=2)
_sessions = st.builds(
    Session,
    db=st.integers(0, 2),
    multi=st.none() | st.lists(st.tuples(st.sampled_from([b"GET", b"SET"]), st.just(b"k")), max_size=2).map(tuple),
    dirty_exec=st.booleans(),
    dirty_cas=st.booleans(),
    watched=_pairs,
    stale=_pairs,
    channels=_names,
    patterns=_names,
    shard_channels=_names,
    mailbox=st.lists(st.tuples(st.just(b"message"), st.sampled_from([b"c1", b"c2"]), st.just(b"m")),
                     max_size=2).map(tuple),
    protocol=st.sampled_from([2, 3]),
)
_FIELDS = Session.__slots__[:-1]


@given(_sessions, _sessions, st.sampled_from(_FIELDS))
def test_session_equality_is_equality_of_every_field(one: Session, source: Session, name: str) -> None:
    # ``other`` differs from ``one`` in at most the one field ``name``, so each field's comparison counts.
    other = Session(**{field: getattr(source if field == name else one, field) for field in _FIELDS})
    for left, right in ((one, other), (one, source)):
        assert (left == right) is (left._key() == right._key())
        assert (left == right) is not (left != right)
        if left == right:
            assert hash(left) == hash(right)


@given(_sessions, _sessions, st.sets(st.sampled_from(_FIELDS)))
def test_session_replace_changes_the_named_fields_only(session: Session, source: Session, names: set[str]) -> None:
    changes = {name: getattr(source, name) for name in names}
    replaced = session.replace(**changes)
    expected = Session(**{name: changes.get(name, getattr(session, name)) for name in _FIELDS})
    assert replaced == expected and replaced._key() == expected._key() and hash(replaced) == hash(expected)
    assert session.replace() == session and session.replace() is not session


def test_session_replace_refuses_a_field_it_does_not_have() -> None:
    with pytest.raises(AttributeError):
        DEFAULT_SESSION.replace(colour=1)


def test_a_lone_publish_has_the_general_rules_objects() -> None:
    calls = [((b"PUBLISH", b"ch1", b"m1"),), ((b"publish", b"ch1", b"m2"),), ((b"PUBLISH", b"ch2", b"m3"),),
             ((b"MULTI",), (b"PUBLISH", b"ch1", b"m4"), (b"EXEC",)), ((b"PUBSUB", b"NUMSUB", b"ch2"),)]
    ops = [Operation(index, "publisher", call, None, index, index + 1, Outcome.INFO) for index, call in enumerate(calls)]
    subscriber = Operation(len(ops), "subscriber", ((b"SUBSCRIBE", b"ch1"),), None, 0, 1, Outcome.INFO)
    found = pubsub_parts.pubsub_objects([*ops, subscriber], frozenset({"subscriber"}))
    assert found is not None
    for op in ops:
        expected = pubsub_parts._published(op)
        assert found.get(op.id, frozenset()) == expected, op.call
    assert found[0] is found[1] is found[3]  # equal objects are one set
