"""Which version of Redis the model plays for ``redlin conform``, and which version a difference belongs to.

The model is Redis 7.0.15; its version profiles (:data:`redlin.model.PROFILES`: ``redis-6.2``,
``redis-7.2``, ``valkey-8``...) change it where another version is known to answer otherwise.
``redlin conform --profile auto`` (the default) picks the profile from the server's ``INFO
server`` (:func:`redlin.model.profile_from_info`) and says why.

A difference from the chosen profile may still be another version's behaviour -- the server is
a 6.2 that reports itself as something else, or the user chose a profile by hand.  So
:func:`version_explaining` replays the shrunk script on the model of every other profile, from
a fresh state: a profile whose replies are exactly the server's, command by command, explains the
difference, and ``redlin conform`` reports it as that version's behaviour, not as a bug.

>>> choose_profile("auto", {"redis_version": "6.2.14"})
('redis-6.2', 'redis_version 6.2.14 → redis-6.2')
>>> choose_profile("redis-7.2", {"redis_version": "6.2.14"})
('redis-7.2', 'chosen with --profile (the server reports redis_version 6.2.14)')
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from redlin.adapter.redis_model import canonical_result
from redlin.harness.conform_lane import CLIENT, Exchange
from redlin.model import DEFAULT_PROFILE, PROFILES, Reply, State, initial_state, profile_from_info, step

__all__ = ["AUTO", "choose_profile", "initial_for", "profile_names", "version_explaining"]

AUTO = "auto"
"""``--profile auto``: the profile for what ``INFO server`` says the server is."""


def profile_names() -> tuple[str, ...]:
    """Every profile the model can play, the default (Redis 7.0) among them.

    >>> "redis-7.0" in profile_names() and "redis-6.2" in profile_names()
    True
    """
    return tuple(PROFILES)


def choose_profile(requested: str, info: Mapping[str, str]) -> tuple[str, str]:
    """The profile to compare with, and why in one line (``requested`` is a name or ``auto``)."""
    if requested == AUTO:
        return profile_from_info(info)
    said = info.get("redis_version")
    return requested, "chosen with --profile" + (f" (the server reports redis_version {said})" if said else "")


def initial_for(profile: str) -> State:
    """A fresh server of ``profile``."""
    return initial_state(profile)


def version_explaining(exchanges: Sequence[Exchange], profile: str) -> str | None:
    """Another profile whose model gives exactly the server's replies to ``exchanges`` (the
    default profile first, then the others in order), or ``None``."""
    others = sorted((name for name in PROFILES if name != profile), key=lambda name: name != DEFAULT_PROFILE)
    for other in others:
        if _reproduces(exchanges, initial_for(other)):
            return other
    return None


def _reproduces(exchanges: Sequence[Exchange], state: State) -> bool:
    now = int(time.time() * 1000)
    for exchange in exchanges:
        if exchange.lost is not None:
            return False
        replies: list[Reply] = []
        for argv in exchange.commands:
            state, reply = step(state, CLIENT, argv, now)
            replies.append(reply)
        if canonical_result(exchange.commands, replies) != exchange.got:
            return False
    return True
