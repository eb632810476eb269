"""Errors a user can act on.

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
