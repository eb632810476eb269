"""Which version of Redis the model plays for ``redlin conform``, and which version a difference belongs to.

The model is Redis 7.0.15; its version profiles (:data:`redlin.model.PROFILES`: ``redis-6.2``,
``redis-7.2``, ``valkey-8``...) change it where another version is known to answer otherwise.
``redlin conform --profile auto`` (the default) picks the profile from the server's ``INFO
server``, and a profile named by hand is checked against it, with the same function and the same
words as ``redlin run``'s (:func:`redlin.harness.run_profile.choose_profile`).

A difference from the chosen profile may still be another version's behaviour -- the server is
a 6.2 that reports itself as something else, or the user chose a profile by hand.  So
:func:`version_explaining` replays the shrunk script on the model of every other profile, from
a fresh state: a profile whose replies are exactly the server's, command by command, explains the
difference, and ``redlin conform`` reports it as that version's behaviour, not as a bug.

>>> from redlin.harness.actions import Command, Key
>>> from redlin.model import Error
>>> unknown = Error("ERR unknown command `NOSUCH`, with args beginning with: ")
>>> version_explaining([Exchange(Command((b"NOSUCH",)), ((b"NOSUCH",),), (unknown,), (unknown,))], "redis-7.0")
'redis-6.2'
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from redlin.adapter.profiles import other_profiles
from redlin.adapter.redis_model import canonical_result
from redlin.harness.conform_lane import CLIENT, Exchange
from redlin.model import SEQUENTIAL, HiddenChoice, Reply, State, initial_state, step

__all__ = ["initial_for", "version_explaining"]


def initial_for(profile: str) -> State:
    """A fresh server of ``profile``."""
    return initial_state(profile)


def version_explaining(exchanges: Sequence[Exchange], profile: str) -> str | None:
    """Another profile whose model gives exactly the server's replies to ``exchanges`` (the
    default profile first, then the others in order), or ``None``."""
    for other in other_profiles(profile):
        if _reproduces(exchanges, initial_for(other)):
            return other
    return None


def _reproduces(exchanges: Sequence[Exchange], state: State) -> bool:
    now = int(time.time() * 1000)
    for exchange in exchanges:
        if exchange.lost is not None:
            return False
        replies: list[Reply] = []
        for index, argv in enumerate(exchange.commands):
            observed = exchange.got[index] if index < len(exchange.got) else SEQUENTIAL
            try:
                state, reply = step(state, CLIENT, argv, now, observed=observed)
            except HiddenChoice:  # that version's model cannot follow the server here either
                return False
            replies.append(reply)
        if canonical_result(exchange.commands, replies) != exchange.got:
            return False
    return True
