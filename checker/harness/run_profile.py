"""Which version of Redis a ``redlin run`` checks its target as: ``--profile NAME|auto``.

The model plays one version profile (:data:`redlin.model.PROFILES`); every execution of a run is
checked against that profile's model.  ``auto`` (the default) reads the target's ``INFO server``
and maps it with :func:`redlin.model.profile_from_info`; the embedded model server plays the
default, Redis 7.0, unless ``--profile`` names another, which it then imitates (its ``INFO``
reports that version).  A profile given by name wins over what the server says, with a warning
when the two disagree: a version difference is then expected, and reported as such
(:func:`redlin.adapter.profiles.explaining_profile`), never as a bug.

>>> choose_profile("auto", {"redis_version": "6.2.14"})
ProfileChoice(name='redis-6.2', reason='redis_version 6.2.14 → redis-6.2', warning=None)
>>> choose_profile("redis-7.0", {"redis_version": "6.2.14"}).warning
'--profile redis-7.0, but the server reports redis_version 6.2.14 → redis-6.2: replies where the versions differ will be reported as version differences'
>>> choose_profile("auto", None).line()
'profile: redis-7.0 (the embedded model server plays the default)'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from redlin.errors import UsageError
from redlin.model import DEFAULT_PROFILE, PROFILES, profile_from_info

__all__ = ["AUTO", "DEFAULT_CHOICE", "ProfileChoice", "check_profile_name", "choose_profile", "profile_choices",
           "version_advice"]

AUTO: Final = "auto"
"""``--profile auto``: the profile for what the target's ``INFO server`` says it is."""


@dataclass(frozen=True, slots=True)
class ProfileChoice:
    """The profile a run checks its target as, why (one line), and a warning when ``--profile``
    named one that the server's ``INFO`` contradicts."""

    name: str
    reason: str
    warning: str | None = None

    def line(self) -> str:
        """The console's line: ``profile: redis-6.2 (redis_version 6.2.14 → redis-6.2)``."""
        return f"profile: {self.name} ({self.reason})"

    def meta(self) -> dict[str, str]:
        """The facts of the history's meta line and the report: ``profile``, ``profile_reason``
        (and ``profile_warning``)."""
        facts = {"profile": self.name, "profile_reason": self.reason}
        if self.warning is not None:
            facts["profile_warning"] = self.warning
        return facts


DEFAULT_CHOICE: Final = ProfileChoice(DEFAULT_PROFILE, "the default")
"""What a plan that chose nothing checks as."""


def profile_choices() -> tuple[str, ...]:
    """What ``--profile`` accepts: ``auto`` and every profile's name.

    >>> profile_choices()[:2]
    ('auto', 'redis-6.2')
    """
    return (AUTO, *PROFILES)


def check_profile_name(requested: str) -> None:
    """:class:`~redlin.errors.UsageError`, naming the argument, unless ``requested`` is ``auto`` or a profile.

    >>> check_profile_name("redis-9")
    Traceback (most recent call last):
    ...
    redlin.errors.UsageError: --profile: unknown profile 'redis-9' (choose from auto, redis-6.2, redis-7.0, redis-7.2, valkey-8)
    """
    if requested not in profile_choices():
        raise UsageError(f"--profile: unknown profile {requested!r} (choose from {', '.join(profile_choices())})")


def choose_profile(requested: str, info: Mapping[str, str] | None) -> ProfileChoice:
    """The profile to check as, from ``--profile`` (a name or ``auto``) and the target's ``INFO
    server`` fields (``None`` for the embedded server, which plays what it is told).

    :class:`~redlin.errors.UsageError` naming the argument for a name that is no profile.
    """
    check_profile_name(requested)
    if info is None:
        if requested == AUTO:
            return ProfileChoice(DEFAULT_PROFILE, "the embedded model server plays the default")
        return ProfileChoice(requested, "chosen with --profile; the embedded model server imitates it")
    detected, why = profile_from_info(info)
    if requested == AUTO:
        return ProfileChoice(detected, why)
    if detected == requested:
        return ProfileChoice(requested, f"chosen with --profile; the server agrees: {why}")
    warning = (f"--profile {requested}, but the server reports {why}: replies where the versions differ will be "
               "reported as version differences")
    return ProfileChoice(requested, "chosen with --profile", warning)


def version_advice(version: str) -> str:
    """The console's line when a violation is a version difference.

    >>> version_advice("redis-6.2")
    'version difference: the server behaves as profile redis-6.2 (its model explains the failing run): not a bug; run again with --profile redis-6.2 to test the server as that version'
    """
    return (f"version difference: the server behaves as profile {version} (its model explains the failing run): "
            f"not a bug; run again with --profile {version} to test the server as that version")
