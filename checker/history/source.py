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
from typing import BinaryIO

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
            yield from _numbered(path, file, 0, max_line)
    except OSError as error:
        raise HistoryError(path, None, f"cannot read: {error.strerror or error}") from None


def _numbered(path: Path, file: BinaryIO, number: int, max_line: int) -> Iterator[tuple[int, str]]:
    """The lines of ``file`` from where it stands, numbered from ``number + 1`` (see :func:`read_lines`)."""
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


BLOCK = 1 << 20
"""How many bytes :func:`read_blocks` reads at a time."""


def read_blocks(path: str | os.PathLike[str], *, max_line: int) -> Iterator[tuple[int, list[str], str]]:
    """:func:`read_lines`'s lines, a block of them at a time, sooner (one read and one decode a block).

    Each block is (the number of its first line, its lines without their newline, the newline they
    end with: ``"\\n"``, or ``""`` for a last line that has none).  Where a block holds what
    :func:`read_lines` refuses (bytes that are not UTF-8, a line too long), the lines from there on
    come from it, one a block, and so does the error, worded alike at the same line.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("wb", suffix=".log", delete=False) as f:
    ...     _ = f.write(b"\\xef\\xbb\\xbfone\\ntwo\\nthree")
    >>> list(read_blocks(f.name, max_line=10))
    [(1, ['one', 'two'], '\\n'), (3, ['three'], '')]
    """
    path = regular_file(path)
    try:
        with open(path, "rb") as file:
            number, start, rest = 1, 0, b""  # the next line's number and offset; the bytes read of it
            while True:
                data = file.read(max(BLOCK, len(rest)))  # a long line: reads that double, not quadratic copies
                if not data:  # the end of the file, maybe after a last line without a newline
                    text = _decoded(rest, max_line) if rest else None
                    if text is not None:
                        yield number, [text[1:] if number == 1 and text.startswith(BOM) else text], ""
                    if text is not None or not rest:
                        return
                    break
                data = rest + data if rest else data
                cut = data.rfind(b"\n") + 1
                chunk, rest = data[:cut], data[cut:]
                if len(rest) > max_line:
                    break  # a line too long
                if not chunk:
                    continue
                text = _decoded(chunk, max_line)
                if text is None:
                    break
                if number == 1 and text.startswith(BOM):
                    text = text[1:]
                lines = text.split("\n")
                lines.pop()  # the empty text after the last newline
                yield number, lines, "\n"
                number += len(lines)
                start += cut
            file.seek(start)  # read_lines from there on: it finds what is wrong, and words it
            for at, line in _numbered(path, file, number - 1, max_line):
                if line.endswith("\n"):
                    yield at, [line[:-1]], "\n"
                else:
                    yield at, [line], ""
    except OSError as error:
        raise HistoryError(path, None, f"cannot read: {error.strerror or error}") from None


def _decoded(data: bytes, max_line: int) -> str | None:
    """``data`` (whole lines) as text, or None if it is not UTF-8 or has a line over ``max_line`` bytes."""
    if len(data) > max_line + 1 and not lines_fit(data, max_line):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def lines_fit(data: bytes, limit: int) -> bool:
    """Whether no line of ``data`` is longer than ``limit`` bytes (a few steps of ``limit`` bytes each).

    >>> lines_fit(b"ab\\ncd\\n", 2), lines_fit(b"ab\\ncde", 2)
    (True, False)
    """
    start = 0
    while len(data) - start > limit:
        newline = data.rfind(b"\n", start, start + limit + 1)
        if newline < 0:
            return False
        start = newline + 1
    return True


def read_text(path: str | os.PathLike[str], *, max_line: int) -> str:
    """The whole file as text, read through :func:`read_lines` (same checks, same limits)."""
    return "".join(line for _, line in read_lines(path, max_line=max_line))


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run the block without the cyclic garbage collector.

    A loader makes millions of small containers that all stay alive, and each collection walks
    every one of them again: with the collector on, reading takes about a third longer.  Nothing
    a loader makes is a cycle, so nothing is left for the collector once it is back on; what the
    block made and kept goes straight to the oldest generation (frozen, then thawed), so that the
    first collection after it does not walk all of it once more (a tenth of a load's time).

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
            if not gc.get_freeze_count():  # (objects someone else froze stay frozen)
                gc.freeze()
                gc.unfreeze()
            gc.enable()
