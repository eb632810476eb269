"""The pressure engine's event log: one worker's history lines, appended once a turn of its event loop.

A worker of :mod:`redlin.harness.pressure_clients` writes every event through :class:`EventLog`,
which keeps the lines of one turn of the event loop and writes them with one ``write(2)`` on a file
opened with ``O_APPEND`` (Linux appends a write to a regular file whole: lines of different workers
never interleave inside a line).  A client does not write to its socket itself: it hands the bytes
to the log, which sends them only after the lines before them, the client's invocations included,
are in the file.  So whatever a crash (``kill -9`` of a worker, of the whole run) loses, no command
that reached the server is missing from the file: at most the completions of the last turn, and an
invocation without its completion reads back as indeterminate
(:func:`~redlin.history.jsonl.load_history`), which is sound.

>>> import asyncio, os, tempfile
>>> async def two_lines(path: str) -> None:
...     log = EventLog(path, asyncio.get_running_loop())
...     log.invoke(0, 1, '[["GET","k"]]', 10)
...     log.ok(0, 20, '[null]')
...     log.close()
>>> with tempfile.TemporaryDirectory() as folder:
...     path = os.path.join(folder, "h.jsonl")
...     open(path, "x").close()
...     asyncio.run(two_lines(path))
...     print(open(path).read(), end="")
{"event":"invoke","op":0,"client":1,"time":10,"call":[["GET","k"]]}
{"event":"ok","op":0,"time":20,"result":[null]}
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Final, Protocol

__all__ = ["FLUSH_LINES", "EventLog", "Sink"]

FLUSH_LINES: Final = 4096
"""Lines the log holds before it writes them at once, whatever the turn of the loop."""


class Sink(Protocol):
    """Where :class:`EventLog` sends: an asyncio transport, or a Pub/Sub subscriber's socket
    (:mod:`redlin.harness.pressure_pubsub`, through :meth:`EventLog.send_now`)."""

    def is_closing(self) -> bool: ...

    def write(self, data: bytes) -> None: ...


class EventLog:
    """The history's events of one worker: kept for one turn of the loop, then appended with one write,
    before the commands that wait for them are sent (see the module docstring)."""

    def __init__(self, path: str, loop: asyncio.AbstractEventLoop) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        self.loop = loop
        self.lines: list[str] = []
        self.sends: list[tuple[Sink, bytes]] = []
        self.scheduled = False

    def invoke(self, op: int, client: int, call: str, time: int) -> None:
        self.lines.append(f'{{"event":"invoke","op":{op},"client":{client},"time":{time},"call":{call}}}\n')

    def ok(self, op: int, time: int, result: str) -> None:
        self.lines.append(f'{{"event":"ok","op":{op},"time":{time},"result":{result}}}\n')
        if len(self.lines) >= FLUSH_LINES:
            self.flush()

    def ended(self, op: int, outcome: str, time: int, error: str) -> None:
        """A completion without result: ``info`` (indeterminate) or ``fail``."""
        self.lines.append(f'{{"event":"{outcome}","op":{op},"time":{time},"error":{json.dumps(error)}}}\n')

    def send(self, transport: Sink, payload: bytes) -> None:
        """Send ``payload`` once the lines logged so far are in the file (this turn's end)."""
        self.sends.append((transport, payload))
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.flush)

    def send_now(self, sink: Sink, payload: bytes) -> None:
        """Send ``payload`` at once, after the lines logged so far and what waited to be sent (a
        Pub/Sub subscriber: its command's reply must not wait for the turn's end)."""
        self.sends.append((sink, payload))
        self.flush()

    def flush(self) -> None:
        self.scheduled = False
        if self.lines:
            data = "".join(self.lines).encode("utf-8")
            self.lines.clear()
            while data:
                written = os.write(self.fd, data)
                data = data[written:]
        sends, self.sends = self.sends, []
        for transport, payload in sends:
            if not transport.is_closing():
                transport.write(payload)

    def close(self) -> None:
        self.flush()
        os.fsync(self.fd)
        os.close(self.fd)
