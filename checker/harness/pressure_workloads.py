"""The workloads of the pressure engine: what a write sends, how it is recorded, how its replies read.

Every workload but ``generated`` reads with ``GET k``; their writes are (:data:`WORKLOADS`):

- ``register``: ``SET k v`` with a value unique to the client and its sequence number (made by
  :mod:`redlin.harness.pressure_clients` for each write, the others are the same for every write on
  one key);
- ``counter``: ``INCR k``, each reply the count it made, which a non-atomic increment repeats
  under contention;
- ``counter-multi``: ``MULTI``, ``INCR k``, ``INCR k``, ``EXEC`` written at once, one operation of
  four commands whose replies are ``OK``, ``QUEUED``, ``QUEUED`` and EXEC's array of the two counts,
  as :mod:`redlin.harness.recorder` records a transaction: an EXEC whose commands another
  client's INCR falls between makes two counts that are not consecutive;
- ``counter-long``: the same with :data:`LONG_INCRS` ``INCR k`` in the block, a long transaction (a
  server may run short queues atomically and break up long ones: the embedded server's
  ``long-exec-not-atomic`` fault does);
- ``cas``: optimistic locking, three operations one after the other on one connection: ``WATCH k'
  k`` (:func:`watch_key`: ``k'`` is a key nobody writes, so that a server that watches only a
  WATCH's first key misses every write to ``k``), ``GET k``, then ``MULTI``, ``SET k v``, ``EXEC``
  written at once (:func:`cas_exec`, one operation; EXEC answers nil when ``k`` was written since
  the WATCH).  A check-and-set is a session's state (:mod:`redlin.adapter.redis_model` ties the
  three into one part), so it runs on one client id: with ``pipeline`` above 1, whose lanes share a
  connection and so its WATCH, a ``cas`` key is written as a ``register``'s.  No fast path decides
  these parts, and the search's cost grows fast with the clients whose sessions it must follow, so
  at most :data:`CAS_CLIENTS` clients use a ``cas`` key of an epoch (read or write it,
  :func:`cas_keys`): the others never touch it.  A client whose epoch
  ends between two steps sends ``UNWATCH`` (:data:`UNWATCH`) instead of the next one, on no key:
  the epoch's history keeps its WATCH unended, the next epoch starts with nothing watched;
- ``counter-script``: ``EVAL <script> 1 k`` of :func:`counter_script`, which increments ``KEYS[1]``
  twice and returns both counts, wrapped in redlin's script guard
  (:func:`~redlin.harness.script_guard.guard_script`) as every script redlin sends, so the run's
  :class:`~redlin.harness.guard.Guard` lets it through.  It is sent as ``EVAL`` every time (about
  9 kB), never ``EVALSHA``: each epoch is checked on its own, and an EVALSHA whose body was loaded in
  an earlier epoch would answer ``NOSCRIPT`` in the model.  Each key number has a body of its own
  (it names the number): the model's script cache is state of its own, which ties every operation
  running one body into one part of the check, and one body for all keys would tie all of an
  epoch's keys into one search, whose cost grows with the product of their counters' orders.

``generated`` draws every operation from the grammar of the whole model, on keys of its own for
each group of clients, beyond the epoch's numbered keys (:mod:`redlin.harness.pressure_generated`).

``pubsub`` publishes to channels of each epoch, and a few clients subscribe and read every message
(:mod:`redlin.harness.pressure_pubsub`).

``mixed`` writes each key as one of the six (:func:`key_workload`), and makes one operation in
:data:`MIXED_GENERATED` a ``generated`` one: a run that does not know which fault it looks for sees
all of them, as ``redlin run``'s default workload does.

A write is one operation whatever its commands; its call and its payload on the wire are the same
for every write on a key, so they are made once per key and epoch (:class:`Write`).

>>> write = Write.of("counter-multi", b"redlin:r:e0:k1", 1)
>>> write.call
'[["MULTI"],["INCR","redlin:r:e0:k1"],["INCR","redlin:r:e0:k1"],["EXEC"]]'
>>> write.payload[:19]
b'*1\\r\\n$5\\r\\nMULTI\\r\\n*2\\r\\n'
>>> result_json((Status("OK"), Status("QUEUED"), Status("QUEUED"), (3, 4)))
'[{"status":"OK"},{"status":"QUEUED"},{"status":"QUEUED"},[3,4]]'
>>> Write.of("counter-script", b"redlin:r:e0:k1", 1).commands[0][2:]
(b'1', b'redlin:r:e0:k1')
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from redlin.harness.script_guard import guard_script
from redlin.history.jsonl import encode_call, encode_reply
from redlin.model import Reply, Status, encode_command

__all__ = ["CAS_CLIENTS", "LONG_INCRS", "MIXED_CYCLE", "MIXED_GENERATED", "UNWATCH", "WORKLOADS", "WORKLOAD_NAMES", "Write", "call_json", "cas_exec",
           "cas_keys", "counter_script", "epoch_keys", "key_workload", "result_json", "watch_key", "write_commands"]

Argv = tuple[bytes, ...]

WORKLOADS: Final = {
    "register": "SET k v (unique values)",
    "counter": "INCR k",
    "counter-multi": "MULTI, INCR k, INCR k, EXEC",
    "counter-script": "EVAL of a script that runs INCR k twice",
    "counter-long": "MULTI, INCR k five times, EXEC",
    "cas": "WATCH k' k, GET k, then MULTI, SET k v, EXEC",
    "generated": "any modelled command, or a MULTI block of them, drawn from the grammar",
    "pubsub": "PUBLISH to an epoch's channels, read by a few subscribers",
    "mixed": "each key one of the six above, in turn, and one operation in seven generated",
}
"""The workloads the pressure engine runs, by name, and what each writes with (each reads with GET but
``generated`` and ``pubsub``)."""
MIXED_CYCLE: Final = ("register", "counter", "counter-multi", "counter-script", "counter-long", "cas")
"""The writes of ``mixed``: key number ``n`` of an epoch is written as ``MIXED_CYCLE[n % 6]``."""
WORKLOAD_NAMES: Final = ", ".join(list(WORKLOADS)[:-1]) + " or " + list(WORKLOADS)[-1]
"""The names of :data:`WORKLOADS` in a sentence: ``register, counter, counter-multi, counter-script,
counter-long, cas, generated, pubsub or mixed``."""
LONG_INCRS: Final = 5
"""The ``INCR`` commands of a ``counter-long`` block."""
CAS_CLIENTS: Final = 4
"""The most clients that use one ``cas`` key of an epoch."""
MIXED_GENERATED: Final = 1 / 7
"""The share of a ``mixed`` run's operations drawn as ``generated`` ones."""
_OK: Final = Status("OK")
_OK_RESULT: Final = '[{"status":"OK"}]'


def counter_script(number: int) -> bytes:
    """The body ``counter-script`` sends for key number ``number``, inside redlin's script guard.

    >>> counter_script(3).endswith(b"; local number = 3; return {redis.call('INCR', KEYS[1]), redis.call('INCR', KEYS[1])}")
    True
    """
    return guard_script(b"local number = %d; return {redis.call('INCR', KEYS[1]), redis.call('INCR', KEYS[1])}"
                        % number)


def key_workload(workload: str, number: int) -> str:
    """How key number ``number`` of an epoch is written under ``workload``: as ``workload`` itself,
    or for ``mixed``, as the workload :data:`MIXED_CYCLE` gives it.

    >>> [key_workload("mixed", n) for n in range(7)]
    ['register', 'counter', 'counter-multi', 'counter-script', 'counter-long', 'cas', 'register']
    >>> key_workload("counter", 3)
    'counter'
    """
    return MIXED_CYCLE[number % len(MIXED_CYCLE)] if workload == "mixed" else workload


def cas_keys(workload: str, keys: int, slot: int) -> tuple[tuple[int, ...], int | None]:
    """The numbers of an epoch's ``cas`` keys (of ``keys``), and the one client slot ``slot`` (its
    number among all the run's clients) may use, if any: slots ``0..CAS_CLIENTS-1`` the first,
    the next :data:`CAS_CLIENTS` the second, and so on.

    >>> cas_keys("mixed", 16, 0), cas_keys("mixed", 16, 7), cas_keys("mixed", 16, 8)
    (((5, 11), 5), ((5, 11), 11), ((5, 11), None))
    >>> cas_keys("register", 16, 0)
    ((), None)
    """
    numbers = [number for number in range(keys) if key_workload(workload, number) == "cas"]
    rank = slot // CAS_CLIENTS
    return tuple(numbers), numbers[rank] if rank < len(numbers) else None


def epoch_keys(workload: str, keys: int, clients: int, pipeline: int) -> int:
    """The keys of an epoch: ``keys``, or for ``cas`` (one client id per connection) enough that
    every client has one (:func:`cas_keys`).

    >>> epoch_keys("cas", 16, 1000, 1), epoch_keys("cas", 16, 1000, 2), epoch_keys("mixed", 16, 1000, 1)
    (250, 16, 16)
    """
    if workload == "cas" and pipeline == 1:
        return max(keys, -(-clients // CAS_CLIENTS))
    return keys


def write_commands(workload: str, key: bytes, number: int) -> tuple[Argv, ...]:
    """The commands of one write of ``workload`` (not ``register``, whose values differ) on ``key``,
    key number ``number`` of its epoch.

    >>> write_commands("counter", b"k", 0)
    ((b'INCR', b'k'),)
    >>> len(write_commands("counter-long", b"k", 0)) == LONG_INCRS + 2
    True
    """
    if workload == "counter":
        return ((b"INCR", key),)
    if workload == "counter-multi":
        return ((b"MULTI",), (b"INCR", key), (b"INCR", key), (b"EXEC",))
    if workload == "counter-script":
        return ((b"EVAL", counter_script(number), b"1", key),)
    if workload == "counter-long":
        return ((b"MULTI",), *((b"INCR", key),) * LONG_INCRS, (b"EXEC",))
    if workload == "cas":
        return ((b"WATCH", watch_key(key), key),)
    raise ValueError(f"no fixed write for workload {workload!r}")


def call_json(*commands: Argv) -> str:
    """The JSON of a call of ``commands``, exactly as :class:`~redlin.history.jsonl.HistoryWriter` writes it.

    >>> call_json((b"SET", b"redlin:r:k1", b"7.1"))
    '[["SET","redlin:r:k1","7.1"]]'
    """
    return json.dumps(encode_call(commands), separators=(",", ":"), ensure_ascii=False)


def result_json(replies: tuple[Reply, ...]) -> str:
    """The JSON of an operation's replies, one per command, as the history writer writes them."""
    if len(replies) == 1 and type(replies[0]) is Status and replies[0] == _OK:
        return _OK_RESULT
    return json.dumps([encode_reply(reply) for reply in replies], separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Write:
    """One write on a key, ready to record and send: its commands, its call's JSON, its bytes."""

    commands: tuple[Argv, ...]
    call: str
    payload: bytes
    cas: bool = False
    """The first step of a check-and-set (``WATCH``), which a GET and :func:`cas_exec` follow."""

    @classmethod
    def of(cls, workload: str, key: bytes, number: int) -> Write:
        """The write of ``workload`` on ``key``, key number ``number`` (see :func:`write_commands`)."""
        commands = write_commands(workload, key, number)
        return cls(commands, call_json(*commands), b"".join(encode_command(argv) for argv in commands),
                   workload == "cas")


UNWATCH: Final = Write(((b"UNWATCH",),), '[["UNWATCH"]]', encode_command((b"UNWATCH",)))
"""What a ``cas`` client sends when its epoch ended between two steps."""


def watch_key(key: bytes) -> bytes:
    """The key a ``cas`` WATCH names first, before ``key``: nobody writes it.  It does not end the
    way :mod:`redlin.harness.pressure_check` finds an invocation's epoch by (``:k<n>`` and a quote),
    so the epoch is ``key``'s.

    >>> watch_key(b"redlin:r:e3:k5")
    b'redlin:r:e3:k5:w'
    """
    return key + b":w"


def cas_exec(key: bytes, key_json: str, value: str) -> tuple[tuple[Argv, ...], str, bytes]:
    """The last step of a check-and-set of ``key`` (its JSON ``key_json``) to ``value``: its
    commands, its call's JSON and its bytes.

    >>> commands, call, payload = cas_exec(b"k", '"k"', "3.1")
    >>> call == call_json(*commands)
    True
    >>> call
    '[["MULTI"],["SET","k","3.1"],["EXEC"]]'
    """
    commands = ((b"MULTI",), (b"SET", key, value.encode()), (b"EXEC",))
    return (commands, f'[["MULTI"],["SET",{key_json},"{value}"],["EXEC"]]',
            b"".join(encode_command(argv) for argv in commands))
