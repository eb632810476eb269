"""Version profiles in checking: which version a history is checked as, and which version explains a violation.

The Redis model plays one version profile at a time (:data:`redlin.model.PROFILES`: Redis 7.0,
the default, or 6.2, 7.2, Valkey 8; each a short list of documented differences).  A history says
which one its server was tested as in its meta line (``"profile": "redis-6.2"``); a history that
does not say is checked as Redis 7.0 (:func:`profile_in`).

A violation under one profile may be no bug at all: a Redis 6.2 server checked as Redis 7.0 quotes
an unknown command with backquotes, which 7.0's model cannot explain.  :func:`explaining_profile`
re-checks the failing history under each other profile -- the default first, then the others in
their order -- and names the first whose model finds it linearizable.  The whole failing history
is checked, not its minimal core: a core that another version accepts does not make the history
around it acceptable.  A profile that cannot decide in time explains nothing (no guesses).

>>> profile_in({"profile": "redis-6.2"}), profile_in({})
('redis-6.2', 'redis-7.0')
>>> other_profiles("redis-6.2")
('redis-7.0', 'redis-7.2', 'valkey-8')
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from redlin.adapter.redis_model import redis_model
from redlin.history.records import History
from redlin.model import DEFAULT_PROFILE, PROFILES
from redlin.search.check import check
from redlin.search.compose import piece
from redlin.search.result import Linearizable, Violation

__all__ = ["explaining_profile", "failing_history", "other_profiles", "profile_in"]


def profile_in(meta: Mapping[str, Any]) -> str:
    """The profile a history's meta names, or the default (Redis 7.0) when it names none."""
    name = meta.get("profile")
    return name if isinstance(name, str) and name else DEFAULT_PROFILE


def other_profiles(profile: str) -> tuple[str, ...]:
    """Every profile but ``profile``: the default first, then the others in :data:`PROFILES` order."""
    return tuple(sorted((name for name in PROFILES if name != profile), key=lambda name: name != DEFAULT_PROFILE))


def explaining_profile(history: History, profile: str, *, time_limit: float, partitioned: bool = True,
                       protocol: int = 2, part: History | None = None) -> str | None:
    """The first other profile whose model finds ``history`` linearizable, or ``None``.

    ``history`` is one that violates ``profile``'s model; ``time_limit`` seconds are shared by
    the profiles tried (each gets what is left, divided by those still to try).  ``part``: the
    operations of the part ``profile``'s model could not linearize, as a history of their own.
    Each profile checks it first, and the whole history only if it passes: the parts split by key
    are independent, so a profile that refuses the part refuses the history (and a long history
    with a real bug is not checked again whole, once per profile).

    >>> from redlin.history.records import Operation
    >>> from redlin.model import Error
    >>> unknown = Error("ERR unknown command `NOSUCH`, with args beginning with: ")
    >>> history = History((Operation(0, 1, ((b"NOSUCH",),), (unknown,), 0, 1),))
    >>> explaining_profile(history, "redis-7.0", time_limit=5.0)
    'redis-6.2'
    """
    deadline = time.monotonic() + time_limit
    others = other_profiles(profile)
    for index, other in enumerate(others):
        left = (deadline - time.monotonic()) / (len(others) - index)
        if left <= 0:
            return None
        model = redis_model(partitioned=partitioned, protocol=protocol, profile=other)
        if part is not None and not isinstance(check(part, model, time_limit=left), Linearizable):
            continue
        if isinstance(check(history, model, time_limit=left), Linearizable):
            return other
    return None


def failing_history(history: History, violation: Violation,
                    pieces: Sequence[Sequence[int]] | None = None) -> History:
    """What :func:`explaining_profile` re-checks for ``redlin check``: the run (one of ``pieces``,
    :func:`redlin.adapter.run_pieces.run_pieces`) that holds the operation the violation could not
    place, as ``redlin run`` re-checks its failing run; the whole history when it is no run's.

    >>> from redlin.history.records import Operation
    >>> ops = tuple(Operation(i, i, ((b"GET", b"k"),), (None,), 2 * i, 2 * i + 1) for i in range(3))
    >>> stuck = Violation(operation=2, part=(2,), prefixes=(), states_explored=0, elapsed=0.0)
    >>> len(failing_history(History(ops), stuck, [(0,), (1, 2)]))
    2
    """
    ids = next((ids for ids in pieces or () if violation.operation in ids), None)
    return history if ids is None else piece(history, ids)
