"""Errors a user can act on, and the exit codes that tell outcomes apart.

The lowest module of the package: everything may import it, and it imports nothing of redlin.

A malformed history file is the user's problem, not a bug: it is reported as a ``HistoryError`` that
names the file and line (``path:line: message``), so a command-line front end can print it on one
line instead of a traceback.
"""

from __future__ import annotations

import os


class HistoryError(ValueError):
    """A history could not be read: ``str(error)`` is ``"path:line: message"``.

    ``line`` is 1-based, or ``None`` when the problem is not on any one line (for instance an
    unterminated EDN vector, which is reported at the line where it was opened when known).
    """

    path: str
    line: int | None
    message: str

    def __init__(self, path: str | os.PathLike[str], line: int | None, message: str) -> None:
        self.path = os.fspath(path)
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"

    def __reduce__(self) -> tuple[type[HistoryError], tuple[str, int | None, str]]:
        # Exceptions pickle their ``args``; ours has three constructor arguments, not one message.
        return (type(self), (self.path, self.line, self.message))


class UsageError(Exception):
    """A mistake the user can fix (an argument, a target, a file): printed as one line, exit 3."""


# The exit codes of every ``redlin`` command, and of :func:`redlin.run`'s outcome.
EXIT_OK = 0
"""Linearizable (or success, for commands without a verdict)."""
EXIT_VIOLATION = 1
"""A violation was found and proved."""
EXIT_UNKNOWN = 2
"""A time or memory budget ran out before a verdict: redlin never guesses."""
EXIT_USAGE = 3
"""Bad input, a usage error, or a target that cannot be used."""
EXIT_INTERNAL = 4
"""A bug in redlin: one line on stderr, the traceback with ``--debug``."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (or SIGTERM) before anything could be checked."""
