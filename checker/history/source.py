"""Reading a history file safely: a regular file, UTF-8, lines of bounded length.

Every format reads its file through :func:`read_lines`, so the same promises hold for all of them:
a pipe, a device (``/dev/zero``) or a folder is refused before anything is read (they may never
end); a line longer than the format's limit is refused with its line number instead of being held
in memory whole; bytes that are not UTF-8 are reported at their line; a byte order mark at the
start is dropped (a file saved by an editor that adds one reads as the same history).
"""

from __future__ import annotations

import gc
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redlin.errors import HistoryError

MIB = 1 << 20
BOM = "\ufeff"


def regular_file(path: str | os.PathLike[str]) -> Path:
    """``path``, if it names a regular file; :class:`HistoryError` otherwise."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError as error:
        raise HistoryError(path, None, f"cannot read: {error.strerror or error}") from None
    if not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "a pipe" if stat.S_ISFIFO(mode) else "a device or socket"
        raise HistoryError(path, None, f"not a regular file ({what}): give the path of a history file")
    return path


def read_lines(path: str | os.PathLike[str], *, max_line: int) -> Iterator[tuple[int, str]]:
    """The lines of a history file, numbered from 1, each at most ``max_line`` bytes.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("wb", suffix=".log", delete=False) as f:
    ...     _ = f.write(b"\\xef\\xbb\\xbfone\\ntwo\\n")
    >>> list(read_lines(f.name, max_line=10))
    [(1, 'one\\n'), (2, 'two\\n')]
    """
    path = regular_file(path)
    try:
        with open(path, "rb") as file:
            number = 0
            while True:
                raw = file.readline(max_line + 1)
                if not raw:
                    return
                number += 1
                if len(raw) > max_line and not raw.endswith(b"\n"):
                    raise HistoryError(path, number, f"a line longer than {max_line // MIB} MiB: redlin "
                                                     "refuses lines it cannot hold in memory")
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise HistoryError(path, number, f"not UTF-8 text (byte 0x{raw[error.start]:02x} at "
                                                     f"column {error.start + 1})") from None
                if number == 1 and line.startswith(BOM):
                    line = line[1:]
                yield number, line
    except OSError as error:
        raise HistoryError(path, None, f"cannot read: {error.strerror or error}") from None


def read_text(path: str | os.PathLike[str], *, max_line: int) -> str:
    """The whole file as text, read through :func:`read_lines` (same checks, same limits)."""
    return "".join(line for _, line in read_lines(path, max_line=max_line))


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run the block without the cyclic garbage collector.

    A loader makes millions of small containers that all stay alive, and each collection walks
    every one of them again: with the collector on, reading takes about a third longer.  Nothing
    a loader makes is a cycle, so nothing is left for the collector once it is back on.

    >>> import gc
    >>> with paused_gc():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
