"""Step templates and workload families, as data: what :mod:`redlin.harness.workloads` draws from.

A :class:`Family` is a small pool of shared keys and weighted step templates (:class:`Op`,
:class:`Tx`, :class:`Eval`, :class:`Cas`, or a :class:`~redlin.harness.generated.Drawn` step that
draws its own shape); :mod:`redlin.harness.workloads` explains the placeholders, keeps the built-in
families and turns a family into programs.  Everything a family says is checked when it is made
(:func:`validate`), so that a bad JSON family fails before a run with a message naming the step.

>>> sorted(template_commands(Tx(("INCR {key}", "INCR {key}"))))
['EXEC', 'INCR', 'MULTI']
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Final, TypeAlias

from redlin.harness.family_limits import MAX_AMOUNT, MAX_RETRIES, MAX_WEIGHT
from redlin.harness.generated import Drawn

__all__ = [
    "KEY_PLACEHOLDERS", "PLACEHOLDER", "VALUE_PLACEHOLDERS", "Cas", "Eval", "Family", "Op", "Template", "Tx",
    "key_word", "placeholders", "template_commands", "validate", "words_of",
]

PLACEHOLDER: Final = re.compile(r"\{([a-z0-9]+)\}")
KEY_PLACEHOLDERS: Final = ("key", "key2", "key3")
VALUE_PLACEHOLDERS: Final = frozenset({"value", "member", "amount"})


# ----------------------------------------------------------------------------- step templates


@dataclass(frozen=True, slots=True)
class Op:
    """One command, e.g. ``Op("SET {key} {value}")``."""

    command: str
    weight: int = 1
    pool: tuple[str, ...] | None = None
    """The keys ``{key}`` is drawn from; ``None``: the family's :attr:`Family.keys`."""


@dataclass(frozen=True, slots=True)
class Tx:
    """A transaction: ``WATCH`` of :attr:`watch` (if any) as an operation of its own, then
    ``MULTI``, :attr:`commands`, ``EXEC`` as one operation."""

    commands: tuple[str, ...]
    watch: tuple[str, ...] = ()
    weight: int = 1
    pool: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Eval:
    """A Lua script called with :attr:`keys` as KEYS and :attr:`args` as ARGV.

    It may touch only its KEYS, and reach beyond them (FLUSHDB...) only if :attr:`destructive` and the
    run has ``--allow-destructive``: it is sent inside :func:`redlin.harness.script_guard.guard_script`,
    so the server refuses the rest.  Each run sends EVAL the first time a body is used and EVALSHA
    (of the wrapped body's SHA1) afterwards.  The script cache is not a key, so
    give a family with scripts a setup step that EVALs every body on *all* the keys its scripts use
    (as ``transfer`` does): then every EVALSHA lands in the same part of the history as the EVAL
    that loaded it, and the model's cache agrees with the server's.
    """

    script: str
    keys: tuple[str, ...]
    args: tuple[str, ...] = ()
    weight: int = 1
    pool: tuple[str, ...] | None = None
    destructive: bool = False


@dataclass(frozen=True, slots=True)
class Cas:
    """A check-and-set loop on one key: ``WATCH k``; ``GET k``; ``MULTI; SET k f(v); EXEC``, retried
    up to :attr:`retries` more times while EXEC answers nil.  ``f(v)`` appends the step's unique
    token to the value read (see :func:`redlin.harness.recorder.next_value`)."""

    key: str = "{key}"
    retries: int = 3
    weight: int = 1
    pool: tuple[str, ...] | None = None


Template: TypeAlias = Op | Tx | Eval | Cas | Drawn


def words_of(template: Template) -> list[str]:
    if not isinstance(template, Op | Tx | Eval | Cas):
        return []
    if isinstance(template, Op):
        return template.command.split()
    if isinstance(template, Tx):
        return [word for command in template.commands for word in command.split()] + list(template.watch)
    if isinstance(template, Eval):
        return [*template.keys, *template.args]
    return [template.key]


def placeholders(template: Template) -> set[str]:
    return {match for word in words_of(template) for match in PLACEHOLDER.findall(word)}


def template_commands(template: Template) -> frozenset[str]:
    """The command names (upper case) a step of this template sends."""
    if isinstance(template, Op):
        return frozenset({template.command.split()[0].upper()})
    if isinstance(template, Tx):
        names = {command.split()[0].upper() for command in template.commands} | {"MULTI", "EXEC"}
        return frozenset(names | ({"WATCH"} if template.watch else set()))
    if isinstance(template, Eval):
        return frozenset({"EVAL", "EVALSHA"})
    if isinstance(template, Cas):
        return frozenset({"WATCH", "GET", "UNWATCH", "MULTI", "SET", "EXEC"})
    return template.commands()  # UNWATCH: when GET fails


# ----------------------------------------------------------------------------- families


@dataclass(frozen=True, slots=True)
class Family:
    """A workload family: what the steps of a program are drawn from.

    Parameters
    ----------
    name:
        What ``--workload`` calls it.
    doc:
        One line for ``--help`` and reports.
    keys:
        The shared key pool (logical names; a few, so that clients conflict).
    steps:
        Weighted step templates.  Put the simplest first: Hypothesis shrinks towards it.
    setup:
        Steps that every program runs first, sequentially, before the clients start (opening the
        accounts of a bank, loading a script).
    members:
        What ``{member}`` is drawn from.
    max_amount:
        ``{amount}`` is drawn from 1 to this.
    """

    name: str
    doc: str
    keys: tuple[str, ...]
    steps: tuple[Template, ...]
    setup: tuple[Template, ...] = ()
    members: tuple[str, ...] = ("m0", "m1", "m2", "m3")
    max_amount: int = 5
    path: str | None = field(default=None, repr=False, compare=False)  # its JSON file, for errors

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError(f"family {self.name!r}: needs at least one key")
        if not self.steps:
            raise ValueError(f"family {self.name!r}: needs at least one step")
        if not 1 <= self.max_amount <= MAX_AMOUNT:
            raise ValueError(f"family {self.name!r}: max_amount must be from 1 to {MAX_AMOUNT}")
        for key in self.keys:
            if not key or any(c.isspace() or c in "{}" for c in key):
                raise ValueError(f"family {self.name!r}: bad key name {key!r}")
        for template in (*self.setup, *self.steps):
            validate(self, template)

    def commands(self) -> frozenset[str]:
        """Every command name (upper case) a program of this family can send."""
        names: set[str] = set()
        for template in (*self.setup, *self.steps):
            names |= template_commands(template)
        return frozenset(names)

    def restricted(self, supported: Iterable[str]) -> Family | None:
        """This family without the steps that send a command outside ``supported`` (upper-case
        names); ``None`` if no step or a setup step would be left out."""
        allowed = frozenset(supported)
        if any(not template_commands(t) <= allowed for t in self.setup):
            return None
        steps = tuple(t for t in self.steps if template_commands(t) <= allowed)
        if not steps:
            return None
        return replace(self, steps=steps)

    def digest(self) -> str:
        """A short stable hash of the definition (Hypothesis's database key depends on it)."""
        return hashlib.sha1(repr(self).encode()).hexdigest()[:16]


def validate(family: Family, template: Template) -> None:
    where = f"family {family.name!r}, step {template!r}"
    if not 1 <= template.weight <= MAX_WEIGHT:
        raise ValueError(f"{where}: weight must be from 1 to {MAX_WEIGHT}")
    pool = template.pool if template.pool is not None else family.keys
    for name in placeholders(template):
        if name not in KEY_PLACEHOLDERS and name not in VALUE_PLACEHOLDERS and name != "all":
            raise ValueError(f"{where}: unknown placeholder {{{name}}}")
        if name in KEY_PLACEHOLDERS and KEY_PLACEHOLDERS.index(name) >= len(pool):
            raise ValueError(f"{where}: {{{name}}} needs {KEY_PLACEHOLDERS.index(name) + 1} keys in the pool")
    for word in words_of(template):
        if PLACEHOLDER.search(word) and not PLACEHOLDER.fullmatch(word):
            raise ValueError(f"{where}: a placeholder must be a whole word, not {word!r}")
    if isinstance(template, Op | Tx):
        commands = [template.command] if isinstance(template, Op) else list(template.commands)
        if not commands or any(not command.split() for command in commands):
            raise ValueError(f"{where}: empty command")
        for command in commands:
            if PLACEHOLDER.fullmatch(command.split()[0]):
                raise ValueError(f"{where}: the command name cannot be a placeholder")
        if isinstance(template, Tx) and any(key_word(word) is None for word in template.watch):
            raise ValueError(f"{where}: WATCH takes key placeholders only")
    elif isinstance(template, Eval):
        if any(key_word(word) is None and word != "{all}" for word in template.keys):
            raise ValueError(f"{where}: KEYS must be key placeholders or {{all}}")
        if "{all}" in template.args:
            raise ValueError(f"{where}: {{all}} is only allowed in keys")
    elif isinstance(template, Cas) and (key_word(template.key) is None or not 0 <= template.retries <= MAX_RETRIES):
        raise ValueError(f"{where}: a cas loop needs a key placeholder and retries from 0 to {MAX_RETRIES}")


def key_word(word: str) -> str | None:
    match = PLACEHOLDER.fullmatch(word)
    return match.group(1) if match and match.group(1) in KEY_PLACEHOLDERS else None
