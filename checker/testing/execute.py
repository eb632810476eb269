"""Run a component's program concurrently against a target, and record each call as one operation.

:func:`run_program` deletes the component's keys, runs its setup alone, then starts one thread per
client, all released together by a barrier; each thread calls its operations in order on its own
``redis.Redis`` (RESP2, so that replies have the types the model's client gives them; see
:mod:`redlin.testing.model_client`).  A call is one :class:`~redlin.Operation`: ``call`` is
``(operation name, arguments)``, ``result`` the :func:`~redlin.testing.component.canonical` form of
what the function returned or raised, and its invocation and completion times frame it.  A call that
lost its connection (``ConnectionError``, ``TimeoutError``) is indeterminate (INFO): it may or may
not have taken effect.  Every command a call sent is kept beside it (:attr:`Recorded.commands`).

With a ``journal`` path the history is also written as it happens, one JSON line per event
(``repr`` of values), so a crash or Ctrl-C keeps every call made so far.

>>> from redlin.testing.component import Component
>>> from redlin.serve.server import start_in_thread
>>> counter = Component("counter", keys=["n"])
>>> _ = counter.operation(lambda r: r.incr("n"), name="incr")
>>> with start_in_thread() as server:
...     recorded = run_program(counter, ConcurrentProgram(((Call("incr"),), (Call("incr"),))), server.url)
>>> sorted(op.result for op in recorded.history if op.client != "setup")
[1, 2]
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from redlin.history.records import History, Operation, Outcome
from redlin.testing.component import SETUP, Call, Component, ConcurrentProgram, canonical

__all__ = ["Recorded", "run_program"]

SOCKET_TIMEOUT = 10.0
"""Seconds a call may wait for a reply before it counts as indeterminate."""

_sent = threading.local()
"""The commands of the call the current thread is making (see :class:`_RecordingConnection`)."""


class _RecordingConnection(redis.connection.Connection):
    """redis-py's connection, noting every command it sends for the call in progress."""

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        if [str(arg).upper() for arg in args[:2]] != ["CLIENT", "SETINFO"]:  # redis-py's greeting, not the call's
            _note((args,))
        super().send_command(*args, **kwargs)  # type: ignore[no-untyped-call]

    def pack_commands(self, commands: Any) -> Any:
        commands = list(commands)
        _note(commands)
        return super().pack_commands(commands)  # type: ignore[no-untyped-call]


def _note(commands: Any) -> None:
    log = getattr(_sent, "log", None)
    if log is not None:
        log.extend(tuple(str(arg) if not isinstance(arg, bytes) else arg.decode("utf-8", "replace")
                         for arg in args) for args in commands)


@dataclass
class Recorded:
    """A recorded run: the history, and for each operation id the commands its call sent."""

    history: History
    commands: dict[int, list[tuple[str, ...]]] = field(default_factory=dict)


class _Journal:
    """The history as JSON lines, written and flushed as each event happens (thread-safe)."""

    def __init__(self, path: Path | None, component: Component) -> None:
        self._file: IO[str] | None = None if path is None else open(path, "a", encoding="utf-8")  # noqa: SIM115
        self._lock = threading.Lock()
        self.write({"event": "meta", "component": component.name, "keys": list(component.keys)})

    def write(self, event: dict[str, Any]) -> None:
        if self._file is None:
            return
        with self._lock:
            self._file.write(json.dumps(event, default=repr) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


@dataclass
class _Recorder:
    component: Component
    journal: _Journal
    operations: list[Operation] = field(default_factory=list)
    commands: dict[int, list[tuple[str, ...]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, client: Hashable, r: redis.Redis, call: Call) -> bool:
        """Make ``call`` on ``r``, record it; False when the connection was lost (stop this client)."""
        function = self.component.function(call.name)
        with self.lock:
            op_id = len(self.operations)
            self.operations.append(None)  # type: ignore[arg-type]  # the slot, filled below
        self.journal.write({"event": "invoke", "op": op_id, "client": client, "call": call.describe()})
        log: list[tuple[str, ...]] = []
        _sent.log = log
        invoke = time.monotonic_ns()
        outcome, result = Outcome.OK, None
        try:
            result = canonical(function(r, **dict(call.arguments)))
        except (RedisConnectionError, RedisTimeoutError) as lost:
            outcome, result = Outcome.INFO, None
            log.append(("(connection lost)", str(lost)))
        except Exception as error:  # noqa: BLE001 - what the call raised is its result
            result = canonical(error)
        complete = time.monotonic_ns()
        _sent.log = None
        self.operations[op_id] = Operation(
            id=op_id, client=client, call=(call.name, call.arguments), result=result, invoke=invoke,
            complete=complete if outcome is Outcome.OK else None, outcome=outcome)
        self.commands[op_id] = log
        self.journal.write({"event": outcome.value, "op": op_id, "result": result, "commands": log})
        return outcome is Outcome.OK


def _client(url: str, component: Component) -> redis.Redis:
    return redis.Redis.from_url(url, protocol=2, decode_responses=component.decode_responses,
                                socket_timeout=SOCKET_TIMEOUT, connection_class=_RecordingConnection)


@contextmanager
def _clients(url: str, component: Component, count: int) -> Iterator[list[redis.Redis]]:
    clients = [_client(url, component) for _ in range(count)]
    try:
        yield clients
    finally:
        for client in clients:
            client.close()


def run_program(component: Component, program: ConcurrentProgram, url: str, *,
                journal: str | os.PathLike[str] | None = None) -> Recorded:
    """Run ``program`` against the server at ``url``; see the module docstring."""
    writer = _Journal(None if journal is None else Path(journal), component)
    recorder = _Recorder(component, writer)
    try:
        with _clients(url, component, len(program.clients) + 1) as (admin, *workers):
            if component.keys:
                admin.delete(*component.keys)
            if component.setup_function is not None and not recorder.call("setup", admin, Call(SETUP)):
                raise RedisConnectionError(f"{url}: the connection was lost during {component.name}'s setup")
            barrier = threading.Barrier(len(workers))

            def work(index: int) -> None:
                barrier.wait()
                for call in program.clients[index]:
                    if not recorder.call(index, workers[index], call):
                        return

            threads = [threading.Thread(target=work, args=(index,), daemon=True) for index in range(len(workers))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        writer.close()
    return Recorded(History(tuple(recorder.operations)), recorder.commands)
