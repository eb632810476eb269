"""Workload families as data, and the Hypothesis strategy that draws parallel programs from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import seed as with_seed
from hypothesis import strategies as st

from redlin.harness import workloads
from redlin.harness.guard import Guard, possible_commands
from redlin.harness.recorder import next_value
from redlin.harness.script_guard import script_source
from redlin.harness.workloads import (
    BASE_FAMILIES,
    FAMILIES,
    TRANSFER_SCRIPT,
    Cas,
    CasLoop,
    Command,
    Eval,
    Family,
    Key,
    Op,
    Program,
    ScriptCall,
    Transaction,
    Tx,
    drawing,
    family_from_json,
    load_family,
    mixed,
    programs,
    render,
)
from redlin.model import COMMANDS, Error, keys_of, lookup

PREFIX = b"redlin:test:0:"
MODEL_COMMANDS = frozenset(name.decode().upper() for name in COMMANDS)


def commands_of(program: Program) -> list[tuple[bytes, ...]]:
    """Every command a program can send (a cas loop's, a script's EVAL and EVALSHA)."""
    return [argv for action in (*program.setup, *(a for actions in program.clients for a in actions))
            for argv in possible_commands(action, PREFIX)]


def written_values(program: Program) -> list[tuple[object, bytes]]:
    """The (key, ``{value}``) pairs a program writes (SET/RPUSH's last word, a cas loop's token);
    one step may write its value to several keys."""
    values: list[tuple[object, bytes]] = []
    for actions in (program.setup, *program.clients):
        for action in actions:
            argvs = [action.argv] if isinstance(action, Command) else (
                list(action.commands) if isinstance(action, Transaction) else [])
            for argv in argvs:
                if argv[0] in (b"SET", b"RPUSH"):
                    values.append((argv[1], argv[-1]))  # type: ignore[arg-type]
            if isinstance(action, CasLoop):
                values.append((action.key, action.token))
    return values


# ----------------------------------------------------------------------------- the families


def test_builtin_families() -> None:
    assert set(BASE_FAMILIES) | {"mixed", "model", "default", "stream", "rw-register", "members"} == set(FAMILIES)
    assert FAMILIES["members"].commands() == {"SADD", "SREM", "SISMEMBER", "SMISMEMBER"}
    assert FAMILIES["rw-register"].commands() == {"MULTI", "GET", "SET", "EXEC", "WATCH", "UNWATCH"}
    assert FAMILIES["stream"].commands() == {"XGROUP", "XADD", "XREADGROUP", "XACK", "XCLAIM", "XAUTOCLAIM",
                                             "XPENDING", "XLEN"}
    expected = {
        "register": {"GET", "SET"},
        "counter": {"INCR", "DECRBY", "GET", "MULTI", "EXEC"},
        "cas": {"WATCH", "GET", "UNWATCH", "MULTI", "SET", "EXEC"},
        "list-append": {"MULTI", "RPUSH", "LRANGE", "EXEC", "EVAL", "EVALSHA"},
        "transfer": {"EVAL", "EVALSHA", "GET"},
        "set": {"SADD", "SREM", "SMEMBERS"},
    }
    for name, commands in expected.items():
        assert FAMILIES[name].commands() == commands, name
    everything = set().union(*expected.values())
    assert FAMILIES["mixed"].commands() == everything
    # Each family has its own keys; mixed shares them all, so types collide there.
    pools = [set(FAMILIES[name].keys) for name in BASE_FAMILIES]
    assert all(a.isdisjoint(b) for i, a in enumerate(pools) for b in pools[i + 1:])
    assert set(FAMILIES["mixed"].keys) == set().union(*pools)


def test_mixed_keeps_each_family_on_its_own_keys_and_adds_wrong_type_steps() -> None:
    steps = FAMILIES["mixed"].steps
    register_set = [t for t in steps if isinstance(t, Op) and t.command == "SET {key} {value}"]
    assert {t.pool for t in register_set} == {FAMILIES["register"].keys, FAMILIES["cas"].keys}
    anywhere = [t for t in steps if t.pool is None]
    assert {t.command for t in anywhere if isinstance(t, Op)} == {
        "GET {key}", "INCR {key}", "LRANGE {key} 0 -1", "SADD {key} {member}"}


def test_mixed_restricted_to_what_the_model_knows() -> None:
    strings_only = mixed([FAMILIES[name] for name in BASE_FAMILIES], supported={"GET", "SET", "INCR", "DECRBY"})
    assert strings_only.commands() == {"GET", "SET", "INCR", "DECRBY"}  # no MULTI: no transactions
    # cas keeps its plain GET and SET, without the loop; list-append, transfer and set drop out.
    assert set(strings_only.keys) == {*FAMILIES["register"].keys, *FAMILIES["counter"].keys, *FAMILIES["cas"].keys}
    assert FAMILIES["transfer"].restricted({"GET"}) is None  # its setup needs EVAL
    assert FAMILIES["cas"].restricted({"GET"}) == Family(
        "cas", FAMILIES["cas"].doc, FAMILIES["cas"].keys, (Op("GET {key}"),))
    with pytest.raises(ValueError, match="no family is left"):
        mixed([FAMILIES["set"]], supported={"GET"})


@pytest.mark.parametrize("template, message", [
    (Op("GET {nope}"), "unknown placeholder"),
    (Op("GET x{key}"), "whole word"),
    (Op("{key} GET"), "command name cannot be a placeholder"),
    (Op("GET {key3}"), "needs 3 keys"),
    (Op("GET {key}", weight=0), "weight"),
    (Tx(("GET {key}",), watch=("{value}",)), "WATCH takes key placeholders"),
    (Eval("return 1", keys=("{value}",)), "KEYS must be key placeholders"),
    (Cas("{member}"), "key placeholder"),
    (Tx(("",)), "empty command"),
])
def test_bad_families_are_refused(template: Op | Tx | Eval | Cas, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Family("bad", "", keys=("a", "b"), steps=(template,))


def test_family_needs_keys_and_steps() -> None:
    with pytest.raises(ValueError, match="at least one key"):
        Family("bad", "", keys=(), steps=(Op("GET {key}"),))
    with pytest.raises(ValueError, match="at least one step"):
        Family("bad", "", keys=("a",), steps=())
    with pytest.raises(ValueError, match="bad key name"):
        Family("bad", "", keys=("a b",), steps=(Op("GET {key}"),))


def test_a_family_from_json(tmp_path: Path) -> None:
    data = {"name": "hits", "doc": "page hits", "keys": ["p0", "p1"],
            "steps": [{"op": "GET {key}"}, {"op": "INCR {key}", "weight": 3},
                      {"tx": ["INCR {key}", "INCR {key2}"], "watch": ["{key}"]},
                      {"cas": "{key}", "retries": 1},
                      {"eval": "return redis.call('GET', KEYS[1])", "keys": ["{key}"]}],
            "setup": [{"op": "SET {key} 0"}]}
    path = tmp_path / "hits.json"
    path.write_text(json.dumps(data))
    loaded = load_family(path)
    assert loaded == family_from_json(data)
    assert loaded.steps[1] == Op("INCR {key}", weight=3)
    assert loaded.steps[2] == Tx(("INCR {key}", "INCR {key2}"), watch=("{key}",))
    assert loaded.steps[3] == Cas("{key}", retries=1)
    assert loaded.commands() == {"GET", "INCR", "MULTI", "EXEC", "WATCH", "UNWATCH", "SET", "EVAL", "EVALSHA"}


@pytest.mark.parametrize("content, message", [
    ("{", "not JSON"),
    ('{"name": "x", "keys": ["a"]}', "'steps'"),
    ('{"name": "x", "keys": ["a"], "steps": [{"what": 1}]}', "one of 'op', 'tx', 'eval', 'cas'"),
    ('{"name": "x", "keys": ["a"], "steps": [{"op": "GET {zzz}"}]}', "unknown placeholder"),
])
def test_bad_json_families_name_the_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as error:
        load_family(path)
    assert str(path) in str(error.value)


# ----------------------------------------------------------------------------- programs


TEMPLATED = sorted(name for name in FAMILIES if name not in ("model", "default"))
"""The families made of templates only: every value they write is unique.  The drawn steps of
``model`` and ``default`` write corner values on purpose (tests/test_generated.py covers them)."""


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(TEMPLATED), st.data())
def test_programs_stay_in_their_family(name: str, data: st.DataObject) -> None:
    source = FAMILIES[name]
    program = data.draw(programs(source, clients=3, steps=6))
    assert program.family == name and program.keys == source.keys
    assert len(program.clients) == 3 and all(len(actions) <= 6 for actions in program.clients)
    assert len(program.setup) <= len(source.setup) + 3
    sent = commands_of(program)
    assert {argv[0].decode().upper() for argv in sent} <= source.commands() | {"EVALSHA"}
    keys = {arg for action in (*program.setup, *(a for c in program.clients for a in c))
            for arg in _keys_in(action)}
    assert keys <= set(source.keys)
    values = written_values(program)
    assert len(values) == len(set(values)), "no {value} is written twice to a key"


def _keys_in(action: object) -> list[str]:
    if isinstance(action, Command):
        return [a.name for a in action.argv if isinstance(a, Key)]
    if isinstance(action, Transaction):
        return [a.name for c in action.commands for a in c if isinstance(a, Key)] + [k.name for k in action.watch]
    if isinstance(action, ScriptCall):
        return [k.name for k in action.keys]
    assert isinstance(action, CasLoop)
    return [action.key.name]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(FAMILIES)), st.data())
def test_every_command_stays_under_the_prefix(name: str, data: st.DataObject) -> None:
    """What the recorder would send passes its guard, judged by the model's own key table."""
    program = data.draw(programs(FAMILIES[name], clients=2, steps=8))
    guard = Guard(PREFIX[: -len(b"0:")])
    for argv in commands_of(program):
        if lookup(argv) is None:
            continue  # a family the model does not implement yet: the run refuses it up front
        keys = keys_of(argv)
        assert keys is not None and all(key.startswith(PREFIX) for key in keys)
        guard.check(argv)


def test_programs_shrink_to_the_simplest_step() -> None:
    program = find(programs(FAMILIES["register"], clients=2), lambda p: p.size >= 2,
                   settings=settings(database=None))
    assert program.describe() == "client 1: GET r0; GET r0"
    counter = find(programs(FAMILIES["counter"], clients=3),
                   lambda p: sum(isinstance(a, Command) and a.argv[0] == b"INCR" for c in p.clients for a in c) >= 2,
                   settings=settings(database=None))
    assert counter.describe() == "client 2: INCR c0; INCR c0"


def test_the_transfer_setup_opens_every_account_with_one_eval() -> None:
    program = find(programs(FAMILIES["transfer"], clients=1), lambda p: True, settings=settings(database=None))
    (setup,) = program.setup
    assert isinstance(setup, ScriptCall)
    assert setup.body != TRANSFER_SCRIPT.encode()  # sent wrapped in the script guard's prelude
    assert script_source(setup.body) == TRANSFER_SCRIPT.encode()
    assert [k.name for k in setup.keys] == ["a0", "a1", "a2"] and setup.args == (b"open", b"10")


def test_values_are_unique_per_client_and_position() -> None:
    program = find(programs(FAMILIES["cas"], clients=2),
                   lambda p: sum(isinstance(a, CasLoop) for c in p.clients for a in c) >= 3,
                   settings=settings(database=None))
    tokens = [a.token for c in program.clients for a in c if isinstance(a, CasLoop)]
    assert len(tokens) == len(set(tokens))
    assert all(t.split(b"-")[0].isdigit() for t in tokens)


def test_render_and_describe() -> None:
    argv = (b"SET", Key("r0"), b"0-1")
    assert render(argv, b"redlin:x:3:") == (b"SET", b"redlin:x:3:r0", b"0-1")
    program = Program("demo", setup=(Command((b"SET", Key("r0"), b"s-0")),),
                      clients=((Transaction(((b"RPUSH", Key("l0"), b"0-0"),), watch=(Key("l0"),)),), (),
                               (CasLoop(Key("w0"), b"2-0", 3),)))
    assert program.size == 3
    assert program.describe() == ("setup:    SET r0 s-0\n"
                                  "client 0: WATCH l0; MULTI; RPUSH l0 0-0; EXEC\n"
                                  "client 2: cas w0 += 2-0")


def test_describe_names_clients_as_told() -> None:
    """``redlin run`` labels a shrunk program's clients with their ids in the failing run."""
    program = Program("demo", setup=(Command((b"SET", Key("c0"), b"0")),),
                      clients=((), (Command((b"INCR", Key("c0"))),), (Command((b"GET", Key("c0"))),)))
    assert program.describe({-1: "setup (client 4)", 1: "client 5", 2: "client 6, then 9"}) == (
        "setup (client 4): SET c0 0\n"
        "client 5: INCR c0\n"
        "client 6, then 9: GET c0")
    assert program.describe({2: "client 6"}) == "setup:    SET c0 0\nclient 1: INCR c0\nclient 6: GET c0"


def test_next_value_appends_the_token() -> None:
    assert next_value(None, b"1-0") == b"1-0"
    assert next_value(b"1-0", b"2-3") == b"1-0,2-3"


def test_programs_reject_bad_shapes() -> None:
    with pytest.raises(ValueError):
        programs(FAMILIES["register"], clients=0)


# ----------------------------------------------------------------------------- the bank script


@pytest.mark.redis
def test_the_transfer_script_on_real_redis(redis_server: object) -> None:
    """The bank script does what the family says (checked on a real server, whatever the model has)."""
    from redlin.harness.wire import Connection

    host, port = redis_server.host, redis_server.port  # type: ignore[attr-defined]
    accounts = [b"redlin:test-bank:a0", b"redlin:test-bank:a1", b"redlin:test-bank:a2"]
    body = TRANSFER_SCRIPT.encode()
    with Connection(host, port) as conn:
        assert conn.execute(b"EVAL", body, b"3", *accounts, b"open", b"10") == 3
        assert conn.execute(b"EVAL", body, b"2", accounts[0], accounts[1], b"move", b"4") == (6, 14)
        assert conn.execute(b"EVAL", body, b"2", accounts[0], accounts[1], b"move", b"7") == (6, -1)
        assert conn.execute(b"EVAL", body, b"3", *accounts, b"read") == (6, 14, 10)
        reply = conn.execute(b"EVALSHA", b"0" * 40, b"0")
        assert isinstance(reply, Error) and reply.text.startswith("NOSCRIPT")
        conn.execute(b"DEL", *accounts)


def test_model_command_list_is_what_families_are_checked_against() -> None:
    # A family the model implements fully is runnable; the others are refused up front by run().
    runnable = {name for name in BASE_FAMILIES if FAMILIES[name].commands() <= MODEL_COMMANDS}
    assert {"register", "counter", "cas"} <= runnable


# Option lists whose elements compare equal across lists, in other containers or of other types:
# each must still draw as a strategy built anew for it would.
_OPTIONS = ([1, 2, 3], range(1, 4), (1, 2, 3), [1.0, 2.0, 3.0], [True, False], [1, 0], ["a", "b"], [[1], [2]])


def _draws(choose_with: str) -> list[object]:
    drawn: list[object] = []

    @with_seed(7)
    @settings(max_examples=60, database=None, phases=[Phase.generate], deadline=None)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        choose = drawing(data.draw) if choose_with == "cached" else (lambda o: data.draw(st.sampled_from(o)))
        picked = [choose(options) for options in _OPTIONS for _ in range(3)]
        drawn.append([(type(value), value) for value in picked])

    run()
    return drawn


def test_a_cached_choice_draws_as_a_new_strategy_would() -> None:
    """``drawing`` builds each option list's strategy once; the same seed draws the same values, of
    the same types, as building it anew each time (so seeds and saved examples keep their programs)."""
    assert _draws("cached") == _draws("fresh")


def _default_programs() -> list[str]:
    described: list[str] = []

    @with_seed(1)
    @settings(max_examples=20, database=None, phases=[Phase.generate], deadline=None)
    @given(programs(FAMILIES["default"], clients=4, steps=10))
    def run(program: Program) -> None:
        described.append(program.describe())

    run()
    return described


def test_programs_draw_the_same_with_the_cached_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default family's programs (its generated commands choose from many option lists) by one
    seed: the same with every strategy cached as with none kept, so every seed of ``redlin run``
    draws the programs it drew before the cache."""
    monkeypatch.setattr(workloads, "_sampled", {})
    cached = _default_programs()
    assert workloads._sampled  # the cache was used
    monkeypatch.setattr(workloads, "_sampled", {})
    monkeypatch.setattr(workloads, "SAMPLED_CACHE", 0)
    assert _default_programs() == cached and not workloads._sampled
