"""Workload families, and the Hypothesis strategy that draws parallel programs from them.

A *parallel program* is what one example of ``redlin run`` executes: an optional sequential setup,
then one list of actions per client, all drawn before any client starts (the records it is made of
are :mod:`redlin.harness.actions`, re-exported here).  Clients run their lists
concurrently against the server under test, and the recorded history is checked against the model
(see :mod:`redlin.harness.recorder` and :mod:`redlin.harness.runner`).

A *workload family* says which actions a program is made of.  It is data, not code: a small pool of
key names that every client shares (so that clients conflict), and a list of weighted step
templates written as Redis commands with placeholders::

    Family(
        name="register",
        doc="GET/SET of unique values on a few keys",
        keys=("r0", "r1", "r2"),
        steps=(Op("GET {key}"), Op("SET {key} {value}")),
    )

Four kinds of step exist, one per kind of atomic unit Redis offers:

================  =================================================================================
:class:`Op`       one command
:class:`Tx`       MULTI, the commands, EXEC (optionally after WATCH of some keys)
:class:`Eval`     a Lua script with its KEYS and ARGV (EVALSHA, falling back to EVAL on NOSCRIPT)
:class:`Cas`      a check-and-set loop: WATCH k, GET k, MULTI, SET k f(v), EXEC, retried on a nil EXEC
================  =================================================================================

Placeholders (each a whole word):

- ``{key}``, ``{key2}``, ``{key3}``: distinct keys of the step's pool;
- ``{all}``: every key of the pool (only in :attr:`Eval.keys`);
- ``{value}``: a value no other step of the program writes, ``<client>-<n>`` (``s-<n>`` in the
  setup) -- unique values make a violation easy to see and the checker's search fast;
- ``{member}``: one of the family's :attr:`~Family.members`;
- ``{amount}``: an integer from 1 to :attr:`~Family.max_amount`.

A user adds a family by building one (or loading it from JSON with :func:`load_family`) and
passing it to :func:`redlin.harness.runner.run`, or by :func:`register_family`.  Keys are logical names here;
the recorder puts every key under the run's own prefix (``redlin:<run-id>:<n>:``) when it sends it.

TTLs are kept out on purpose: expiry depends on the server's clock, which the checker cannot see.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, cast

from hypothesis import strategies as st

from redlin.adapter.transactions import LIST_APPEND_SCRIPT
from redlin.harness.actions import (
    Action,
    Arg,
    CasLoop,
    Command,
    Key,
    Program,
    ScriptCall,
    Transaction,
    render,
)
from redlin.harness.family_limits import MAX_AMOUNT, MAX_RETRIES, MAX_WEIGHT, whole_number
from redlin.harness.generated import AnyCommand, AnyPipeline, AnyScript, AnyScriptCache, AnyTransaction
from redlin.harness.grammar import Choose
from redlin.harness.script_guard import guard_script
from redlin.harness.templates import (
    KEY_PLACEHOLDERS,
    PLACEHOLDER,
    Cas,
    Eval,
    Family,
    Op,
    Template,
    Tx,
    placeholders,
    template_commands,
)

__all__ = [
    "BASE_FAMILIES", "FAMILIES", "Action", "Arg", "Cas", "CasLoop", "Command", "Eval", "Family", "Key", "Op", "Program",
    "ScriptCall", "Template", "Transaction", "Tx", "drawing", "family", "load_family", "mixed", "programs",
    "example_actions", "register_family", "render", "sample_program",
]

TRANSFER_SCRIPT: Final = """\
-- redlin's bank: ARGV[1] says what to do with the accounts in KEYS.
local mode = ARGV[1]
if mode == 'open' then
  for _, account in ipairs(KEYS) do redis.call('SET', account, ARGV[2]) end
  return #KEYS
elseif mode == 'move' then
  local balance = tonumber(redis.call('GET', KEYS[1]) or '0')
  local amount = tonumber(ARGV[2])
  if balance < amount then return {balance, -1} end
  return {redis.call('DECRBY', KEYS[1], amount), redis.call('INCRBY', KEYS[2], amount)}
else
  local balances = {}
  for i, account in ipairs(KEYS) do balances[i] = tonumber(redis.call('GET', account) or '0') end
  return balances
end
"""
"""One script for every bank operation, so that the setup's EVAL loads the only body the clients
EVALSHA: the model's script cache then holds it in every part of the history, as the server's does."""


def _builtin_families() -> dict[str, Family]:
    register = Family(
        name="register",
        doc="GET/SET of unique values on a few keys",
        keys=("r0", "r1", "r2"),
        steps=(Op("GET {key}", weight=2), Op("SET {key} {value}", weight=2)),
    )
    counter = Family(
        name="counter",
        doc="INCR, DECRBY and GET on a few counters; two INCRs in one MULTI/EXEC must count consecutively",
        keys=("c0", "c1"),
        steps=(Op("GET {key}"), Op("INCR {key}", weight=2), Op("DECRBY {key} {amount}"),
               Tx(("INCR {key}", "INCR {key}"))),
    )
    cas = Family(
        name="cas",
        doc="WATCH/GET/MULTI/SET/EXEC check-and-set loops, retried on a nil EXEC, and plain reads",
        keys=("w0", "w1"),
        steps=(Op("GET {key}"), Cas(weight=3), Op("SET {key} {value}")),
    )
    list_append = Family(
        name="list-append",
        doc="RPUSH of unique elements and LRANGE reads inside MULTI/EXEC, over one or two lists",
        keys=("l0", "l1", "l2"),
        steps=(
            Tx(("LRANGE {key} 0 -1",)),
            Tx(("RPUSH {key} {value}",), weight=2),
            Tx(("RPUSH {key} {value}", "LRANGE {key} 0 -1"), weight=2),
            Tx(("RPUSH {key} {value}", "RPUSH {key2} {value}")),
            Tx(("LRANGE {key} 0 -1", "LRANGE {key2} 0 -1")),
            Eval(LIST_APPEND_SCRIPT, keys=("{key}",), args=("{value}",)),
        ),
        # The setup EVALs the script on every list, so that the clients' EVALSHAs find it loaded.
        setup=(Eval(LIST_APPEND_SCRIPT, keys=("{all}",), args=("{value}",)),),
    )
    transfer = Family(
        name="transfer",
        doc="EVALSHA scripts moving amounts between bank accounts, and reads of every balance",
        keys=("a0", "a1", "a2"),
        setup=(Eval(TRANSFER_SCRIPT, keys=("{all}",), args=("open", "10")),),
        steps=(
            Eval(TRANSFER_SCRIPT, keys=("{all}",), args=("read",)),
            Eval(TRANSFER_SCRIPT, keys=("{key}", "{key2}"), args=("move", "{amount}"), weight=3),
            Op("GET {key}"),
        ),
    )
    sets = Family(
        name="set",
        doc="SADD, SREM and SMEMBERS over a few sets of a few members",
        keys=("s0", "s1"),
        steps=(Op("SMEMBERS {key}"), Op("SADD {key} {member}", weight=2), Op("SREM {key} {member}")),
    )
    model = Family(name="model", doc="any modelled command, transaction (WATCH, DISCARD, errors) and script, drawn "
                   "from the grammar", keys=("g0", "g1", "g2", *(f"g{t}{n}" for t in "vlhszx" for n in (0, 1))),
                   steps=(AnyCommand(weight=12), AnyTransaction(weight=4), AnyScript(weight=2), AnyPipeline(weight=2),
                          AnyScriptCache(weight=2)))
    rw_register = Family(
        name="rw-register", doc="SET of unique values and GET inside MULTI/EXEC over a few registers, and "
        "WATCH/GET/MULTI/SET/EXEC read-modify-writes (checked for isolation anomalies too)",
        keys=("x0", "x1", "x2"),
        steps=(Tx(("GET {key}",)), Tx(("SET {key} {value}",), weight=2), Tx(("GET {key}", "SET {key} {value}")),
               Tx(("GET {key}", "SET {key2} {value}"), weight=2), Tx(("GET {key}", "GET {key2}")),
               Tx(("SET {key} {value}", "GET {key}")), Tx(("SET {key} {value}", "SET {key2} {value}")), Cas()))
    registry = {f.name: f for f in (register, counter, cas, list_append, transfer, sets, rw_register)}
    bases = list(registry.values())
    registry["mixed"] = mixed(bases)
    registry["model"] = model
    # One consumer group over one stream: ids are 1-0, 1-1... in the order the XADDs run, so
    # {member} (an id) names entries that exist once the stream has grown.
    registry["stream"] = Family(
        name="stream", doc="a consumer group over one stream: XADD, XREADGROUP >, XACK, XCLAIM, XAUTOCLAIM, "
        "XPENDING (each entry delivered to one consumer at a time, pending until acknowledged)",
        keys=("q0",), members=tuple(f"1-{n}" for n in range(8)),
        setup=(Op("XGROUP CREATE {key} g 0 MKSTREAM"),),
        steps=(Op("XADD {key} 1-* f {value}", weight=4),
               *(Op(f"XREADGROUP GROUP g c{n} COUNT 2 STREAMS {{key}} >", weight=2) for n in range(3)),
               Op("XACK {key} g {member}", weight=3), Op("XCLAIM {key} g c0 0 {member} JUSTID"),
               Op("XAUTOCLAIM {key} g c1 0 0-0 COUNT 2 JUSTID"), Op("XPENDING {key} g"),
               Op("XREADGROUP GROUP g c2 STREAMS {key} 0"), Op("XLEN {key}")))
    drawn = replace(model, steps=(AnyCommand(weight=30), AnyTransaction(weight=8), AnyScript(weight=4),
                                  AnyPipeline(weight=4), AnyScriptCache(weight=4)))
    registry["default"] = replace(mixed([*bases, drawn], name="default"),
                                  doc="the families, and (most steps) the drawn ones of model")
    # Also out of the mixes: a set only single-member commands touch is checked member by member
    # (redlin.adapter.members), however many operations it has; SMEMBERS in a mix would join it.
    registry["members"] = Family(
        name="members", doc="SADD, SREM, SISMEMBER and SMISMEMBER of one member at a time on two sets of 32 "
        "members (checked member by member)",
        keys=("ms0", "ms1"), members=tuple(f"m{n}" for n in range(32)),
        steps=(Op("SADD {key} {member}", weight=3), Op("SREM {key} {member}", weight=2),
               Op("SISMEMBER {key} {member}", weight=3), Op("SMISMEMBER {key} {member}")))
    return registry


def mixed(families: Sequence[Family], *, name: str = "mixed", supported: Iterable[str] | None = None) -> Family:
    """All the steps of ``families`` on their own keys, plus steps that hit any key with a command
    of another type (``INCR``, ``LRANGE``, ``SADD`` on whatever is there: wrong-type errors).

    With ``supported`` (upper-case command names), only the steps that send nothing else are kept,
    and a family whose setup needs something else is left out whole.
    """
    allowed = None if supported is None else frozenset(supported)
    steps: list[Template] = []
    setup: list[Template] = []
    keys: list[str] = []
    for member in families:
        kept = member if allowed is None else member.restricted(allowed)
        if kept is None:
            continue
        keys.extend(k for k in kept.keys if k not in keys)
        steps.extend(_bind(t, kept.keys) for t in kept.steps)
        setup.extend(_bind(t, kept.keys) for t in kept.setup)
    extra: list[Template] = [Op("GET {key}"), Op("INCR {key}"), Op("LRANGE {key} 0 -1"), Op("SADD {key} {member}")]
    steps += [t for t in extra if allowed is None or template_commands(t) <= allowed]
    if not keys:
        raise ValueError(f"family {name!r}: no family is left")
    return Family(name=name, doc="every family at once, plus wrong-type errors across their keys",
                  keys=tuple(keys), steps=tuple(steps), setup=tuple(setup))


def _bind(template: Template, pool: tuple[str, ...]) -> Template:
    return template if template.pool is not None else cast(Template, replace(cast(Any, template), pool=pool))


FAMILIES: Final[dict[str, Family]] = _builtin_families()
"""The built-in families by name (``register``, ``counter``, ``cas``, ``list-append``,
``transfer``, ``set``, ``mixed``, ``model``, ``default``, ``stream``, ``rw-register``, ``members``);
:func:`register_family` adds to it."""

BASE_FAMILIES: Final = ("register", "counter", "cas", "list-append", "transfer", "set", "rw-register")
"""The built-in families ``mixed`` is made of."""


def register_family(new: Family) -> None:
    """Make ``new`` available by name (``--workload NAME``)."""
    FAMILIES[new.name] = new


def family(name: str) -> Family:
    """A family by name, or from a JSON file when ``name`` ends in ``.json`` (``KeyError``/``ValueError``)."""
    if name.endswith(".json"):
        return load_family(name)
    return FAMILIES[name]


def load_family(path: str | os.PathLike[str]) -> Family:
    """Read a family from a JSON file.  ``ValueError`` names what is wrong.

    The format mirrors :class:`Family`; each step is an object with one of ``op`` (a command),
    ``tx`` (a list of commands, optional ``watch``), ``eval`` (a script, with ``keys``, optional ``args``
    and ``destructive``) or ``cas`` (a key placeholder, optional ``retries``), and an optional ``weight``::

        {"name": "hits", "doc": "page hits", "keys": ["p0", "p1"],
         "steps": [{"op": "GET {key}"}, {"op": "INCR {key}", "weight": 3},
                   {"tx": ["INCR {key}", "INCR {key2}"]}]}
    """
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except OSError as error:
        raise ValueError(f"{path}: {error.strerror}") from None
    except (ValueError, RecursionError) as error:  # also undecodable text, too many digits or levels
        why = f"{error.msg} at line {error.lineno}" if isinstance(error, json.JSONDecodeError) else "not UTF-8, or a number or nesting too deep"
        raise ValueError(f"{path}: not JSON ({why})") from None
    try:
        return replace(family_from_json(data), path=os.fspath(path))
    except (TypeError, KeyError, ValueError) as error:
        raise ValueError(f"{path}: {error}") from None


def family_from_json(data: Mapping[str, Any]) -> Family:
    """A :class:`Family` from plain JSON data (see :func:`load_family`)."""
    if not isinstance(data, Mapping):
        raise TypeError("a family must be a JSON object")
    return Family(
        name=str(data["name"]),
        doc=str(data.get("doc", "")),
        keys=tuple(str(k) for k in data["keys"]),
        steps=tuple(_template_from_json(step) for step in data["steps"]),
        setup=tuple(_template_from_json(step) for step in data.get("setup", ())),
        members=tuple(str(m) for m in data.get("members", ("m0", "m1", "m2", "m3"))),
        max_amount=whole_number(data, "max_amount", 5, 1, MAX_AMOUNT),
    )


def _template_from_json(step: Any) -> Template:
    if not isinstance(step, Mapping):
        raise TypeError(f"a step must be a JSON object, not {step!r}")
    weight = whole_number(step, "weight", 1, 1, MAX_WEIGHT)
    if "op" in step:
        return Op(str(step["op"]), weight=weight)
    if "tx" in step:
        return Tx(tuple(str(c) for c in step["tx"]), watch=tuple(str(k) for k in step.get("watch", ())), weight=weight)
    if "eval" in step:
        if not isinstance(destructive := step.get("destructive", False), bool):
            raise ValueError(f"'destructive' must be true or false, not {destructive!r}")
        return Eval(str(step["eval"]), keys=tuple(str(k) for k in step["keys"]),
                    args=tuple(str(a) for a in step.get("args", ())), weight=weight, destructive=destructive)
    if "cas" in step:
        return Cas(str(step["cas"]), retries=whole_number(step, "retries", 3, 0, MAX_RETRIES), weight=weight)
    raise ValueError(f"a step needs one of 'op', 'tx', 'eval', 'cas': {dict(step)!r}")


# ----------------------------------------------------------------------------- the strategy


@dataclass(frozen=True, slots=True)
class _Draft:
    """A drawn step before its unique value is known (it depends on the step's final position)."""

    template: Template
    keys: tuple[str, ...]  # {key}, {key2}, {key3} in order
    member: str
    amount: int
    drawn: Any = None  # a Drawn template's skeleton


SAMPLED_CACHE: Final = 4096
"""How many distinct option lists :func:`drawing` keeps a ``sampled_from`` strategy for."""
_sampled: dict[tuple[type, tuple[Any, ...], tuple[type, ...]], st.SearchStrategy[Any]] = {}


def drawing(draw: st.DrawFn) -> Choose:
    """The generators' ``choose`` fed by Hypothesis: every choice is a draw Hypothesis records,
    shrinks and replays.

    Each option list's ``st.sampled_from`` strategy is built once: building one costs more than
    drawing from it, and a program of 8 clients makes hundreds of choices.  The draws are those of
    a strategy built anew each time; the same elements in another container (a range, a tuple) or
    of other types (``1 == 1.0 == True``) make other draws, so they are other options here.
    """

    def choose(options: Sequence[Any]) -> Any:
        elements = tuple(options)
        key = (type(options), elements, tuple(map(type, elements)))
        try:
            strategy = _sampled.get(key)
        except TypeError:  # options that do not hash
            return draw(st.sampled_from(options))
        if strategy is None:
            strategy = st.sampled_from(options)
            if len(_sampled) < SAMPLED_CACHE:
                _sampled[key] = strategy
        return draw(strategy)

    return choose


def _draft(source: Family) -> st.SearchStrategy[_Draft]:
    expanded = [t for t in source.steps for _ in range(t.weight)]

    @st.composite
    def draw_step(draw: st.DrawFn) -> _Draft:
        return _draft_with(drawing(draw), source, expanded)

    return draw_step()


def _draft_with(choose: Choose, source: Family, expanded: Sequence[Template]) -> _Draft:
    template: Template = choose(expanded)
    pool = template.pool if template.pool is not None else source.keys
    if not isinstance(template, Op | Tx | Eval | Cas):
        return _Draft(template, (), "", 0, template.draw(choose, pool))
    wanted = sum(1 for name in KEY_PLACEHOLDERS if name in placeholders(template))
    keys: list[str] = []
    for _ in range(wanted):
        keys.append(choose([k for k in pool if k not in keys] or list(pool)))
    member = choose(source.members) if "member" in placeholders(template) else ""
    amount = choose(range(1, source.max_amount + 1)) if "amount" in placeholders(template) else 0
    return _Draft(template, tuple(keys), member, amount)


def _fixed_draft(source: Family, template: Template) -> _Draft:
    pool = template.pool if template.pool is not None else source.keys
    if not isinstance(template, Op | Tx | Eval | Cas):
        return _Draft(template, (), "", 0, template.draw(lambda options: options[0], pool))
    return _Draft(template, tuple(pool[:3]), source.members[0], 1)


def programs(source: Family, *, clients: int = 4, steps: int = 25, setup_steps: int = 3) -> st.SearchStrategy[Program]:
    """Parallel programs of ``source``: its fixed setup plus up to ``setup_steps`` drawn steps run
    sequentially, then up to ``steps`` steps for each of ``clients`` clients.

    Every value a ``{value}`` places is unique in the program.  Hypothesis shrinks a program by
    dropping steps (down to empty clients) and moving each step towards the family's first template.

    >>> from hypothesis import find
    >>> find(programs(FAMILIES["register"], clients=2), lambda p: p.size >= 2).describe()
    'client 1: GET r0; GET r0'
    """
    if clients < 1 or steps < 1 or setup_steps < 0:
        raise ValueError("clients and steps must be positive, setup_steps not negative")
    step = _draft(source)

    @st.composite
    def draw_program(draw: st.DrawFn) -> Program:
        fixed = [_fixed_draft(source, t) for t in source.setup]
        extra = draw(st.lists(step, max_size=setup_steps))
        lists = [draw(st.lists(step, max_size=steps)) for _ in range(clients)]
        return Program(
            family=source.name,
            setup=tuple(_build(source, d, "s", n) for n, d in enumerate([*fixed, *extra])),
            clients=tuple(tuple(_build(source, d, str(c), n) for n, d in enumerate(drafts))
                          for c, drafts in enumerate(lists)),
            keys=source.keys,
        )

    return draw_program()


def example_actions(source: Family) -> list[Action]:
    """One action for each setup and step template of ``source`` (first keys, first member), to
    see what a family would send before running it."""
    return [_build(source, _fixed_draft(source, t), "0", n) for n, t in enumerate((*source.setup, *source.steps))]


def sample_program(source: Family, *, clients: int, steps: int, seed: int = 0) -> Program:
    """A program with exactly ``steps`` steps per client, drawn with ``random.Random(seed)``
    instead of Hypothesis (for benchmarks: big programs of a known size, no shrinking)."""
    rng = random.Random(seed)
    expanded = [t for t in source.steps for _ in range(t.weight)]
    fixed = [_fixed_draft(source, t) for t in source.setup]
    return Program(
        family=source.name,
        setup=tuple(_build(source, d, "s", n) for n, d in enumerate(fixed)),
        clients=tuple(tuple(_build(source, _draft_with(rng.choice, source, expanded), str(c), n)
                            for n in range(steps)) for c in range(clients)),
        keys=source.keys,
    )


def _build(source: Family, draft: _Draft, client: str, index: int) -> Action:
    template = draft.template
    pool = template.pool if template.pool is not None else source.keys
    token = f"{client}-{index}".encode()
    if not isinstance(template, Op | Tx | Eval | Cas):
        return template.build(draft.drawn, token)

    def word(text: str) -> Arg:
        match = PLACEHOLDER.fullmatch(text)
        if match is None:
            return text.encode()
        name = match.group(1)
        if name in KEY_PLACEHOLDERS:
            position = KEY_PLACEHOLDERS.index(name)
            return Key(draft.keys[position] if position < len(draft.keys) else pool[position])
        if name == "value":
            return token
        if name == "member":
            return draft.member.encode()
        return str(draft.amount).encode()  # amount

    def key(text: str) -> Key:
        found = word(text)
        assert isinstance(found, Key)
        return found

    if isinstance(template, Op):
        return Command(tuple(word(w) for w in template.command.split()))
    if isinstance(template, Tx):
        return Transaction(tuple(tuple(word(w) for w in c.split()) for c in template.commands),
                           tuple(key(w) for w in template.watch))
    if isinstance(template, Eval):
        keys: list[Key] = []
        for text in template.keys:
            if text == "{all}":
                keys.extend(Key(k) for k in pool)
            else:
                keys.append(key(text))
        args = tuple(word(a) for a in template.args)
        body = guard_script(template.script.encode(), destructive=template.destructive)
        return ScriptCall(body, tuple(keys), tuple(a for a in args if isinstance(a, bytes)))
    return CasLoop(key(template.key), token, template.retries)
