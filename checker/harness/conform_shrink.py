"""Shrink a script that shows a difference to one in which everything matters.

A difference found by ``redlin conform`` comes at the end of a *script*: the actions one
connection sent since a fresh key prefix, the last one answered unlike Redis.  Most of them do not
matter.  :func:`shrink` removes what does not, keeping a candidate only if replaying it (on the
server under a fresh prefix, and on the model from a fresh state: the caller's ``fails``) still
shows the same difference -- the same command, the same kind -- as the first difference of the
replay.  In four passes, each a fixpoint within the budget:

1. *shapes*: a pipeline becomes its commands sent one by one, a transaction its commands without
   MULTI/EXEC (kept only where the difference survives: a bug of EXEC needs the EXEC);
2. *actions*: delta debugging over the script's actions, ``ddmin`` (Zeller and Hildebrandt,
   "Simplifying and Isolating Failure-Inducing Input", IEEE TSE 28(2), 2002), which ends
   1-minimal: removing any one action loses the difference;
3. *keys and insides*: each key renamed to one used before it (fewer keys often let more
   commands go); ``ddmin`` over a transaction's queued commands, its WATCH keys dropped; a command's
   arguments removed two at a time (pairs), then one at a time, and long values replaced by ``x``
   (a candidate the guard refuses to send -- a value moved to a key's place -- does not fail:
   ``fails`` must say so, having sent nothing);
4. the actions again, if the keys or insides changed.

Replays are memoised (a candidate is a tuple of frozen actions), and the budget -- a deadline and
a most number of replays -- is checked before each: when it runs out, the smallest script found
so far is the result, marked incomplete.

>>> from redlin.harness.actions import Command, Key
>>> script = tuple(Command((b"SET", Key(f"k{n}"), b"v")) for n in range(8)) + (Command((b"ECHO", b"hi", b"x")),)
>>> shrunk = shrink(script, lambda s: any(a.argv[:2] == (b"ECHO", b"hi") for a in s), until=float("inf"))
>>> shrunk.script, shrunk.complete
((Command(argv=(b'ECHO', b'hi')),), True)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Final

from redlin.harness.actions import Action, Arg, Command, Key, Pipeline, ScriptCall, Transaction
from redlin.search.minimise import ddmin

__all__ = ["MOST_REPLAYS", "Shrunk", "script_size", "shrink"]

Script = tuple[Action, ...]

_LONG: Final = 16
"""A value longer than this is tried as ``x``."""
MOST_REPLAYS: Final = 3000
"""The most replays one shrink makes (each a handful of commands on both sides)."""


@dataclass(frozen=True, slots=True)
class Shrunk:
    """The smallest script found that still fails, how many replays it took, and whether the
    passes ran to their end (``False``: the budget ran out first)."""

    script: Script
    replays: int
    complete: bool


class _Spent(Exception):
    """The shrink's budget ran out."""


def script_size(script: Sequence[Action]) -> int:
    """How many commands a script sends, leaving out MULTI and EXEC/DISCARD (a WATCH counts).

    >>> from redlin.harness.actions import Key
    >>> script_size((Command((b"GET", Key("k"))), Transaction(((b"INCR", Key("k")),), (Key("k"),))))
    3
    """
    total = 0
    for action in script:
        if isinstance(action, Transaction):
            total += len(action.commands) + (1 if action.watch else 0)
        elif isinstance(action, Pipeline):
            total += len(action.commands)
        else:
            total += 1
    return total


def shrink(script: Script, fails: Callable[[Script], bool], *, until: float, most: int = MOST_REPLAYS) -> Shrunk:
    """The smallest script found that ``fails`` (see the module docstring); ``script`` must fail.

    ``until`` is a deadline on ``time.monotonic()``; ``most`` the most replays.
    """
    memo: dict[Script, bool] = {script: True}
    replays = 0

    def test(candidate: Script) -> bool:
        nonlocal replays
        if not candidate:
            return False
        known = memo.get(candidate)
        if known is not None:
            return known
        if replays >= most or time.monotonic() >= until:
            raise _Spent
        replays += 1
        memo[candidate] = result = fails(candidate)
        return result

    best = script
    try:
        best = _shapes(best, test)
        best = ddmin(best, test)
        simpler = _insides(_merged(best, test), test)
        if simpler != best:
            best = ddmin(simpler, test)
    except _Spent:
        best = min((s for s, ok in memo.items() if ok), key=lambda s: (script_size(s), len(s)))
        return Shrunk(best, replays, False)
    return Shrunk(best, replays, True)


def _flat(action: Action) -> tuple[Action, ...] | None:
    """``action`` as plain commands, or ``None`` if it is one already (or a script)."""
    if isinstance(action, Pipeline):
        return tuple(Command(argv) for argv in action.commands)
    if isinstance(action, Transaction):
        return tuple(Command(argv) for argv in action.commands)
    return None


def _shapes(script: Script, test: Callable[[Script], bool]) -> Script:
    index = len(script) - 1
    while index >= 0:
        flat = _flat(script[index])
        if flat is not None:
            candidate = script[:index] + flat + script[index + 1:]
            if test(candidate):
                script = candidate
        index -= 1
    return script


def _keys(script: Script) -> list[Key]:
    """The keys a script names, in order of first use."""
    found: dict[Key, None] = {}
    for action in script:
        for argv in _argvs(action):
            found.update((arg, None) for arg in argv if isinstance(arg, Key))
        if isinstance(action, ScriptCall):
            found.update((key, None) for key in action.keys)
    return list(found)


def _argvs(action: Action) -> tuple[tuple[Arg, ...], ...]:
    if isinstance(action, Command):
        return (action.argv,)
    if isinstance(action, Transaction):
        return (*action.commands, tuple(action.watch))
    if isinstance(action, Pipeline):
        return action.commands
    return ()


def _renamed(action: Action, old: Key, new: Key) -> Action:
    """``action`` with the key ``old`` named ``new``."""
    def swap(argv: tuple[Arg, ...]) -> tuple[Arg, ...]:
        return tuple(new if arg == old else arg for arg in argv)

    if isinstance(action, Command):
        return Command(swap(action.argv))
    if isinstance(action, Transaction):
        return replace(action, commands=tuple(swap(c) for c in action.commands),
                       watch=tuple(new if key == old else key for key in action.watch))
    if isinstance(action, Pipeline):
        return Pipeline(tuple(swap(c) for c in action.commands))
    if isinstance(action, ScriptCall):
        return replace(action, keys=tuple(new if key == old else key for key in action.keys))
    return action


def _merged(script: Script, test: Callable[[Script], bool]) -> Script:
    """Fewer keys: each key renamed to one used before it, where the difference survives (a list
    moved to another key by LMOVE can often be the same key, and the LMOVE then goes)."""
    keys = _keys(script)
    for index, old in enumerate(keys):
        for new in keys[:index]:
            candidate = tuple(_renamed(action, old, new) for action in script)
            if test(candidate):
                script = candidate
                break
    return script


def _insides(script: Script, test: Callable[[Script], bool]) -> Script:
    for index in range(len(script)):
        script = script[:index] + (_inside(script, index, test),) + script[index + 1:]
    return script


def _inside(script: Script, index: int, test: Callable[[Script], bool]) -> Action:
    """The simplest form of ``script[index]`` that still fails, the rest of the script kept."""
    action = script[index]

    def with_action(new: Action) -> Script:
        return script[:index] + (new,) + script[index + 1:]

    if isinstance(action, Transaction):
        if action.watch and test(with_action(replace(action, watch=()))):
            action = replace(action, watch=())
        if len(action.commands) > 1:
            base = action
            kept = ddmin(base.commands, lambda commands: test(with_action(replace(base, commands=commands))))
            action = replace(action, commands=kept)
    elif isinstance(action, Command):
        for width in (2, 1):  # pairs first (field and value, score and member), then single words
            position = len(action.argv) - width
            while position >= 1:
                shorter = Command(action.argv[:position] + action.argv[position + width:])
                if test(with_action(shorter)):
                    action = shorter
                position -= 1
        for position, word in enumerate(action.argv):
            if isinstance(word, bytes) and len(word) > _LONG and test(with_action(shorter := Command(
                    action.argv[:position] + (b"x",) + action.argv[position + 1:]))):
                action = shorter
    return action
