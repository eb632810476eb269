"""Record a workload against a deployment while its nodes fail: clients that follow the primary.

The workload is Jepsen's, in Redis commands, on a few keys under the run's prefix, each key in a
hash slot of its own (``redlin:<token>:{r0}``) so a cluster spreads them:

- registers: ``SET`` of a unique value, ``GET``;
- sets as lists: ``RPUSH`` of a unique element, ``LRANGE 0 -1``: an acknowledged element missing
  from the final read is a lost write (:mod:`redlin.deploy.analysis`);
- transactions: ``MULTI`` / ``RPUSH`` to two lists of one hash tag / ``EXEC``, and the same two read
  in one ``MULTI``: a failover must not split them.

Each client is a thread with its own connections (authenticated with the route's credentials); it
sends a command to the node its :class:`~redlin.deploy.routes.Route` names.  How an operation ends
decides what the history says:

- a reply: OK, whatever it is (the model judges it), after following ``MOVED``/``ASK``;
- a refusal that certainly ran nothing (``READONLY`` from a demoted primary, ``LOADING``,
  ``MASTERDOWN``, ``CLUSTERDOWN``, ``TRYAGAIN``, ``EXECABORT``...): FAIL, and the route looks for
  the primary again;
- no reply in ``timeout`` seconds or a lost connection: INFO (it may have run), and the client
  goes on in a new session.

A connection that cannot be opened sends nothing and records nothing: the client asks the route
again and retries.  Everything is written to the history as it happens; ``WAIT`` replies (with
``wait``), which the model cannot predict, go to a side file of their own (:data:`WAITS_FILE`).

>>> keys = KeySpace(b"redlin:t1:", registers=1, lists=1, groups=1)
>>> [key.decode() for key in keys.all()]
['redlin:t1:{r0}', 'redlin:t1:{l0}', 'redlin:t1:{g0}:a', 'redlin:t1:{g0}:b']
>>> refused(Error("READONLY You can't write against a read only replica.")), refused(Error("ERR no such key"))
(True, False)
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from redlin.deploy.routes import Address, Route, redirect_of
from redlin.harness.interrupts import checkpoint
from redlin.harness.wire import Connection, WireError
from redlin.history.jsonl import HistoryWriter
from redlin.history.records import Outcome
from redlin.model import Error, Reply

Argv = tuple[bytes, ...]
Call = tuple[Argv, ...]

NOT_RUN: Final = ("READONLY", "LOADING", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "EXECABORT", "NOREPLICAS",
                  "MOVED", "ASK", "BUSY", "NOSCRIPT")
"""Error codes that mean the server refused the command before running any of it."""
MAX_REDIRECTS: Final = 5
RETRY_PAUSE: Final = 0.05  # seconds between attempts to reach a node that is down
WAITS_FILE: Final = "waits.jsonl"
FINAL_CLIENT: Final = "final"
"""Client id prefix of the reads after healing (``final-0``...)."""
MIX: Final = (("set", 25), ("get", 20), ("push", 30), ("range", 10), ("multi-push", 10), ("multi-range", 5))
"""The writers' operations and their weights; replica readers only read."""


def refused(reply: Reply) -> bool:
    """Whether ``reply`` is an error that certainly ran nothing."""
    return type(reply) is Error and reply.text.split(" ", 1)[0] in NOT_RUN


@dataclass(frozen=True)
class KeySpace:
    """The run's keys: registers, lists, and groups of two lists written in one transaction."""

    prefix: bytes
    registers: int = 3
    lists: int = 3
    groups: int = 1

    def register(self, index: int) -> bytes:
        return self.prefix + b"{r%d}" % index

    def list_key(self, index: int) -> bytes:
        return self.prefix + b"{l%d}" % index

    def group(self, index: int) -> tuple[bytes, bytes]:
        tag = self.prefix + b"{g%d}" % index
        return tag + b":a", tag + b":b"

    def all(self) -> list[bytes]:
        return [*map(self.register, range(self.registers)), *map(self.list_key, range(self.lists)),
                *itertools.chain.from_iterable(map(self.group, range(self.groups)))]

    def reads(self) -> list[tuple[bytes, Call]]:
        """One read of every key (by its routing key): what the final reads send."""
        found: list[tuple[bytes, Call]] = [(key, ((b"GET", key),)) for key in map(self.register, range(self.registers))]
        found += [(key, ((b"LRANGE", key, b"0", b"-1"),)) for key in map(self.list_key, range(self.lists))]
        for index in range(self.groups):
            first, second = self.group(index)
            found.append((first, _transaction((b"LRANGE", first, b"0", b"-1"), (b"LRANGE", second, b"0", b"-1"))))
        return found


def _transaction(*commands: Argv) -> Call:
    return ((b"MULTI",), *commands, (b"EXEC",))


def draw(rng: random.Random, keys: KeySpace, tag: bytes, reader: bool) -> tuple[bytes, Call, bool]:
    """One operation: (routing key, call, whether it writes).  ``tag`` makes written values unique."""
    kinds = [kind for kind, _ in MIX]
    kind = rng.choices(kinds, weights=[weight for _, weight in MIX])[0]
    if reader:
        kind = {"set": "get", "push": "range", "multi-push": "multi-range"}.get(kind, kind)
    register = keys.register(rng.randrange(keys.registers))
    lst = keys.list_key(rng.randrange(keys.lists))
    first, second = keys.group(rng.randrange(keys.groups))
    if kind == "set":
        return register, ((b"SET", register, tag),), True
    if kind == "get":
        return register, ((b"GET", register),), False
    if kind == "push":
        return lst, ((b"RPUSH", lst, tag),), True
    if kind == "range":
        return lst, ((b"LRANGE", lst, b"0", b"-1"),), False
    if kind == "multi-push":
        return first, _transaction((b"RPUSH", first, tag), (b"RPUSH", second, tag)), True
    return first, _transaction((b"LRANGE", first, b"0", b"-1"), (b"LRANGE", second, b"0", b"-1")), False


class _NotRun(Exception):
    """The operation was refused or redirected and then could not be sent on: nothing ran."""


class DeploymentRecorder:
    """Clients recording a workload through ``route`` into ``writer``.

    ``clients`` write and read through the primary path; ``replica_readers`` more only read, each
    from one replica (``replica=i``).  ``wait`` is ``(numreplicas, timeout_ms)``: after every
    acknowledged write its client sends ``WAIT`` and the reply goes to :data:`WAITS_FILE` in
    ``directory``.  ``rate`` bounds the operations a second of all clients together.
    """

    def __init__(self, route: Route, writer: HistoryWriter, keys: KeySpace, *, clients: int, seed: int,
                 timeout: float, replica_readers: int = 0, wait: tuple[int, int] | None = None,
                 directory: Path | None = None, rate: float | None = None) -> None:
        self.route = route
        self.interval = 0.0 if rate is None else (clients + replica_readers) / rate
        """Seconds between one client's operations, so that all together make about ``rate`` a second."""
        self.writer = writer
        self.keys = keys
        self.clients = clients
        self.replica_readers = replica_readers
        self.seed = seed
        self.timeout = timeout
        self.wait = wait
        self.stopping = threading.Event()
        self.readers_of: set[int] = set()
        """Session ids of the replica readers (their reads are checked against a weaker model)."""
        self.recorded = 0
        self._sessions = itertools.count(1)
        self._lock = threading.Lock()
        self._waits: IO[str] | None = None
        if wait is not None:
            self._waits = open((directory or writer.path.parent) / WAITS_FILE, "a", encoding="utf-8")  # noqa: SIM115

    # -- sessions and connections ------------------------------------------------------------------

    def new_session(self, reader: bool) -> int:
        with self._lock:
            session = next(self._sessions)
            if reader:
                self.readers_of.add(session)
            return session

    def run(self, duration: float | None, ops: int | None = None) -> None:
        """Run the clients until ``duration`` seconds pass, about ``ops`` operations are recorded or
        :attr:`stopping` is set (by Ctrl-C in the caller), then wait for them."""
        threads = [threading.Thread(target=self._client, args=(index, index >= self.clients), daemon=True,
                                    name=f"redlin-deploy-{index}")
                   for index in range(self.clients + self.replica_readers)]
        for thread in threads:
            thread.start()
        ends = None if duration is None else time.monotonic() + duration
        try:
            while not self.stopping.is_set():
                if ends is not None and time.monotonic() >= ends:
                    break
                if ops is not None and self.recorded >= ops:
                    break
                self.stopping.wait(0.05)
                checkpoint()  # SIGINT, SIGTERM or SIGHUP: stop here, the clients after their operation
        finally:
            self.stopping.set()
            for thread in threads:
                thread.join()

    def _client(self, index: int, reader: bool) -> None:
        rng = random.Random(f"{self.seed}:{index}")
        client = _Client(self, reader, replica=index - self.clients if reader else None)
        due = time.monotonic() + rng.uniform(0, self.interval)  # clients out of step, as real ones are
        for count in itertools.count():
            if self.stopping.wait(max(0.0, due - time.monotonic())):
                break
            due = max(due + self.interval, time.monotonic() - self.interval)  # no burst after a stall
            key, call, writes = draw(rng, self.keys, b"%d.%d" % (index, count), reader)
            self.perform(client, key, call, writes)
        client.close()

    # -- one operation -----------------------------------------------------------------------------

    def perform(self, client: _Client, key: bytes, call: Call, writes: bool, *, until: float | None = None) -> Outcome | None:
        """Send ``call`` and record it; its outcome, or None if no node could be reached before the
        recorder stopped (or ``until``, a monotonic time): then nothing was recorded."""
        while True:
            if (self.stopping.is_set() and until is None) or (until is not None and time.monotonic() > until):
                return None
            try:
                address = self.route.address(key, client.replica)
                connection = client.connection(address)
                break
            except WireError:
                self.route.refresh()
                time.sleep(RETRY_PAUSE)
        op = self.writer.invoke(client=client.session, call=call, time=time.monotonic_ns())
        self.recorded += 1  # a hint for stopping: an increment lost to a race costs nothing
        try:
            replies = self._send(client, connection, call)
        except _NotRun as not_run:
            self.writer.complete(op, Outcome.FAIL, time=time.monotonic_ns(), error=str(not_run))
            self.route.refresh()
            return Outcome.FAIL
        except WireError as error:
            self.writer.complete(op, Outcome.INFO, time=time.monotonic_ns(), error=str(error))
            client.reset()
            self.route.refresh()
            time.sleep(RETRY_PAUSE)
            return Outcome.INFO
        done = time.monotonic_ns()
        refusal = next((reply for reply in replies if refused(reply)), None)
        if refusal is not None:
            self.writer.complete(op, Outcome.FAIL, time=done, error=refusal.text)  # type: ignore[union-attr]
            self.route.refresh()
            time.sleep(RETRY_PAUSE)
            return Outcome.FAIL
        self.writer.complete(op, Outcome.OK, time=done, result=replies)
        if writes and self.wait is not None:
            self._wait(client, connection, op)
        return Outcome.OK

    def _send(self, client: _Client, connection: Connection, call: Call) -> list[Reply]:
        """The replies to ``call``, following Cluster redirections."""
        asking = False
        for _ in range(MAX_REDIRECTS):
            sent = ((b"ASKING",), *call) if asking else call
            replies = connection.pipeline(sent)[1 if asking else 0:]
            redirect = next(filter(None, map(redirect_of, replies)), None)
            if redirect is None:
                return replies
            kind, slot, where = redirect
            if kind == "MOVED":
                self.route.moved(slot, where)
            elif len(call) > 1:
                raise _NotRun(f"ASK {slot} during a transaction: nothing ran")
            asking = kind == "ASK"
            try:
                connection = client.connection(self.route.via(where))
            except WireError as error:
                raise _NotRun(f"{kind} {slot} to {where[0]}:{where[1]}, which did not answer: {error}") from error
        raise _NotRun(f"more than {MAX_REDIRECTS} redirections: nothing ran")

    def _wait(self, client: _Client, connection: Connection, op: int) -> None:
        assert self.wait is not None and self._waits is not None
        replicas, timeout_ms = self.wait
        try:
            reply = connection.execute(b"WAIT", b"%d" % replicas, b"%d" % timeout_ms)
        except WireError:
            client.reset()
            return
        if isinstance(reply, int):
            with self._lock:
                self._waits.write(json.dumps({"op": op, "replicas": reply}) + "\n")
                self._waits.flush()

    def final_reads(self, deadline: float) -> list[int]:
        """After healing: read every key through the primary path until each read gets a reply
        (or ``deadline``, a monotonic time, passes); these reads go to the history too.  The keys
        whose read never succeeded."""
        client = _Client(self, False, None, name=FINAL_CLIENT)
        missing = []
        for index, (key, call) in enumerate(self.keys.reads()):
            while self.perform(client, key, call, False, until=deadline) not in (Outcome.OK, None):
                time.sleep(RETRY_PAUSE)
            if time.monotonic() > deadline:
                missing.append(index)
        client.close()
        return missing

    def close(self) -> None:
        if self._waits is not None:
            self._waits.close()


class _Client:
    """One client: its session id (a new one after an indeterminate operation) and connections."""

    def __init__(self, recorder: DeploymentRecorder, reader: bool, replica: int | None, name: str | None = None) -> None:
        self.recorder = recorder
        self.reader = reader
        self.replica = replica
        self.name = name
        self._names = itertools.count()
        self.session: int | str = 0
        self.connections: dict[Address, Connection] = {}
        self.reset()

    def connection(self, address: Address) -> Connection:
        if address not in self.connections:
            connection = self.recorder.route.connect(address, timeout=self.recorder.timeout)  # authenticated
            try:
                # A proxy accepts a connection even when its node is down: a PING first, recorded
                # nowhere, makes sure an operation is only sent where a server answers.
                connection.execute(b"PING")
                if self.reader and self.recorder.route.needs_readonly:
                    connection.execute(b"READONLY")  # a cluster replica serves reads only when asked
            except WireError:
                connection.close()
                raise
            self.connections[address] = connection
        return self.connections[address]

    def reset(self) -> None:
        """Close every connection and go on as a new session."""
        self.close()
        if self.name is not None:
            self.session = f"{self.name}-{next(self._names)}"
        else:
            self.session = self.recorder.new_session(self.reader)

    def close(self) -> None:
        for connection in self.connections.values():
            connection.close()
        self.connections = {}

