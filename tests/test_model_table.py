"""The model's command table against a live redis-server 7.0's ``COMMAND INFO``.

The table is written once and trusted by everyone: the model checks arity and queue-time flags
with it (no_multi aborts a transaction, M13), and the checker splits histories by its key
positions and asks it whether a command writes.  So every registered command (and subcommand)
must agree with Redis on arity, key positions (first, last, step) and the core flag words; each
test lists all mismatches in one message.  Whatever the table holds is covered, including
families registered after this test was written.

RESP2 layout of one COMMAND INFO entry: [name, arity, flags, first, last, step, acl-categories,
tips, key-specs, subcommands].
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

import redlin.model as model
from redlin.harness.wire import Connection
from redlin.model import COMMANDS, CommandSpec, Status
from redlin.model._commands import FLAG_WORDS

pytestmark = pytest.mark.redis

# The model's own tip words: unordered/pairs (NONDETERMINISTIC_OUTPUT_ORDER, split by reply shape,
# compared with the server's tips below) and random (in 7.0 a tip, not a flag; Redis also tips
# TTL as nondeterministic_output, which the model, given the clock, is not).
TIP_WORDS = frozenset({"unordered", "pairs", "random"})
CORE_FLAGS = FLAG_WORDS - TIP_WORDS


@dataclass(frozen=True)
class ServerInfo:
    name: str
    arity: int
    flags: frozenset[str]
    keys: tuple[int, int, int]
    tips: frozenset[str]
    subcommands: dict[str, ServerInfo]


def parse_info(entry: object) -> ServerInfo:
    assert isinstance(entry, tuple) and len(entry) >= 10, entry
    name, arity, flags, first, last, step, _acl, tips, _key_specs, subcommands = entry[:10]
    assert isinstance(name, bytes) and isinstance(arity, int)
    assert isinstance(first, int) and isinstance(last, int) and isinstance(step, int)
    assert isinstance(flags, tuple) and isinstance(tips, tuple) and isinstance(subcommands, tuple)
    subs = {info.name: info for info in map(parse_info, subcommands)}
    return ServerInfo(
        name.decode(), arity, frozenset(_text(flag) for flag in flags), (first, last, step),
        frozenset(_text(tip) for tip in tips), subs,
    )


def _text(value: object) -> str:
    if isinstance(value, Status):
        return value.text
    assert isinstance(value, bytes), value
    return value.decode()


@pytest.fixture(scope="module")
def server_info(redis_server: object) -> dict[str, ServerInfo | None]:
    """COMMAND INFO of every command the model's table holds, by name (None: unknown to Redis)."""
    names = sorted(COMMANDS)
    with Connection(redis_server.host, redis_server.port) as conn:  # type: ignore[attr-defined]
        reply = conn.execute(b"COMMAND", b"INFO", *names)
    assert isinstance(reply, tuple) and len(reply) == len(names), reply
    return {name.decode(): None if entry is None else parse_info(entry) for name, entry in zip(names, reply)}


def specs() -> Iterator[tuple[CommandSpec, str]]:
    """Every command and subcommand, with the key under which the server lists it (``script|load``)."""
    for spec in COMMANDS.values():
        yield spec, spec.name
        for sub in spec.subcommands.values():
            yield sub, sub.name


def info_for(spec_name: str, server_info: dict[str, ServerInfo | None]) -> ServerInfo | None:
    container, _, sub = spec_name.partition("|")
    info = server_info.get(container)
    if info is None or not sub:
        return info
    return info.subcommands.get(spec_name)


def test_table_is_not_empty() -> None:
    assert b"get" in COMMANDS and b"exec" in COMMANDS


def test_every_command_exists_in_redis(server_info: dict[str, ServerInfo | None]) -> None:
    missing = [name for spec, name in specs() if info_for(name, server_info) is None]
    assert not missing, f"registered in the model but unknown to redis-server 7.0: {missing}"


def test_arity_matches_redis(server_info: dict[str, ServerInfo | None]) -> None:
    mismatches = []
    for spec, name in specs():
        info = info_for(name, server_info)
        if info is not None and info.arity != spec.arity:
            mismatches.append(f"{name}: model {spec.arity}, redis {info.arity}")
    assert not mismatches, "arity differs:\n  " + "\n  ".join(mismatches)


def test_key_positions_match_redis(server_info: dict[str, ServerInfo | None]) -> None:
    mismatches = []
    for spec, name in specs():
        info = info_for(name, server_info)
        model_keys = (spec.first_key, spec.last_key, spec.key_step)
        if info is not None and info.keys != model_keys:
            mismatches.append(f"{name}: model (first, last, step) {model_keys}, redis {info.keys}")
    assert not mismatches, "key positions differ:\n  " + "\n  ".join(mismatches)


def test_core_flags_match_redis(server_info: dict[str, ServerInfo | None]) -> None:
    mismatches = []
    for spec, name in specs():
        info = info_for(name, server_info)
        if info is None:
            continue
        ours = spec.flags & CORE_FLAGS
        theirs = info.flags & CORE_FLAGS
        if ours != theirs:
            extra, lacking = sorted(ours - theirs), sorted(theirs - ours)
            mismatches.append(f"{name}: model has extra {extra}, lacks {lacking}")
    assert not mismatches, "flags differ:\n  " + "\n  ".join(mismatches)


def test_unordered_replies_are_flagged(server_info: dict[str, ServerInfo | None]) -> None:
    # The differential tester sorts replies of commands flagged unordered/pairs before comparing;
    # a missing flag makes it report Redis's hash order as a bug, an extra one hides order bugs.
    mismatches = []
    for spec, name in specs():
        info = info_for(name, server_info)
        if info is None:
            continue
        ours = bool(spec.flags & {"unordered", "pairs"})
        theirs = "nondeterministic_output_order" in info.tips
        if ours != theirs:
            mismatches.append(f"{name}: model unordered/pairs {ours}, redis nondeterministic_output_order {theirs}")
    assert not mismatches, "reply-order tips differ:\n  " + "\n  ".join(mismatches)


def test_lookup_resolves_subcommands() -> None:
    for spec in COMMANDS.values():
        for word, sub in spec.subcommands.items():
            assert model.lookup((spec.name.encode(), word.upper())) is sub
