"""The pressure engine's ``generated`` workload: every operation drawn from the grammar of the whole model.

The other pressure workloads (:mod:`redlin.harness.pressure_workloads`) send a few fixed commands,
which show the faults of atomicity and isolation they are made for.  A server can also be wrong in
the corners of its commands: the order of a multi-value push, an overflow, the format of a score, a
count sent as a string, an error's text.  ``generated`` sends what ``redlin run --workload model``
draws, at the pressure engine's rate: each operation is one command of any modelled data type, from
:mod:`redlin.harness.grammar` (arguments from the corners where implementations differ), or one time
in :data:`BLOCK_SHARE` a ``MULTI`` block of such commands (sometimes with a command Redis refuses at
queue time, EXECABORT, or ending in ``DISCARD``), written at once as one operation.  One time in
:data:`SIDE_SHARE` it is a step of a consumer group over the group's stream (:data:`STREAM_STEPS`),
and one time in :data:`SIDE_SHARE` a command on the group's own cached scripts: ``SCRIPT LOAD``,
``EVALSHA`` (NOSCRIPT until a client loaded it), ``SCRIPT EXISTS`` (:func:`script_bodies`).

What it leaves out, and why (each epoch is checked on its own, from an empty keyspace and an empty
script cache):

- ``WATCH`` and ``UNWATCH``: a WATCH outlives its epoch on its connection (``cas`` shows WATCH);
- ``EVAL`` of drawn scripts: the model's script cache is state every script shares, and bodies
  common to all clients would tie all of an epoch's keys into one part (``counter-script`` shows
  scripts; the cached scripts above are each group's own, so they tie only its keys);
- ``LCS``: its time grows with the product of its two strings' lengths, and at the engine's rate
  appends grow a string to about 10 kB within an epoch; one ``LCS k k`` then held redis-server for
  about 170 ms (its SLOWLOG), every client of the run waiting, and the model's check pays it as well
  (``--workload model`` still draws it);
- Pub/Sub (``pubsub`` shows it) and the commands :data:`~redlin.harness.grammar.LEFT_OUT` names.

The search follows every session of a part, and drawn commands join keys (``RENAME``, ``SUNIONSTORE``,
``LMOVE``...), so the clients are in groups of :data:`GROUP_LANES` client ids (lanes: with ``pipeline``
above 1, each lane of a connection is one; :func:`client_group`), and each group draws its keys from a
pool of its own (:data:`POOL`: three keys every type shares, where types clash on purpose, and one of
each type), which no other group touches: so a part has at most four sessions however many clients
the run has, as for ``cas``.  The pools' keys are numbered after the epoch's ``keys`` numbered keys,
which ``mixed`` writes with its other workloads (:func:`group_pool`).  A step's unique value is its
lane and sequence number.

>>> import random
>>> drawer = Drawer(random.Random(7))
>>> pool = group_pool(b"redlin:r:", 3, 16, 1)
>>> pool["g0"], pool["gx0"], len(pool)
(b'redlin:r:e3:k25', b'redlin:r:e3:k33', 9)
>>> commands, call, payload = drawer.step(pool, b"3-1")
>>> call == call_json(*commands) and payload == b"".join(map(encode_command, commands))
True
>>> {key for argv in commands for key in argv[1:] if key.startswith(b"redlin:")} <= set(pool.values())
True
>>> len(Drawer(random.Random(7), frozenset({"xadd", "xgroup"})).stream) == len(STREAM_STEPS) - 5
True
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from typing import Final

from redlin.harness.actions import CACHED_SOURCES, Arg, Key, cached_body
from redlin.harness.generated import QUEUE_ERRORS, TOKEN
from redlin.harness.grammar import GRAMMAR, draw_argv, keys_for
from redlin.harness.pressure_spec import epoch_key
from redlin.harness.pressure_workloads import call_json
from redlin.model import encode_command

__all__ = ["BLOCK_SHARE", "GROUP_LANES", "POOL", "SIDE_SHARE", "STREAM_STEPS", "Drawer", "client_group", "group_pool",
           "pool_keys", "script_bodies"]

Argv = tuple[bytes, ...]

GROUP_LANES: Final = 4
"""The most client ids (lanes) that draw from one group's keys."""
POOL: Final = ("g0", "g1", "g2", *(f"g{kind}0" for kind in "vlhszx"))
"""A group's keys, by the names :func:`~redlin.harness.grammar.keys_for` sorts them by: shared by
every type, then one of each type."""

BLOCK_SHARE: Final = 0.2
"""The share of operations that are a ``MULTI`` block rather than one command."""
SIDE_SHARE: Final = 0.1
"""The share of operations on the group's consumer group (:data:`STREAM_STEPS`), and the same share on
its cached scripts (:func:`script_bodies`)."""
_X: Final = Key("gx0")
_ID: Final = b"\x00id\x00"
"""Stands for an entry id of the group's stream, one of :data:`_IDS`."""
_IDS: Final = tuple(b"1-%d" % number for number in range(8))
STREAM_STEPS: Final = (
    (b"XGROUP", b"CREATE", _X, b"g", b"0", b"MKSTREAM"),
    *((b"XADD", _X, b"1-*", b"f", TOKEN),) * 4,
    *((b"XREADGROUP", b"GROUP", b"g", b"c%d" % number, b"COUNT", b"2", b"STREAMS", _X, b">")
      for number in range(3) for _ in range(2)),
    *((b"XACK", _X, b"g", _ID),) * 3,
    (b"XCLAIM", _X, b"g", b"c0", b"0", _ID, b"JUSTID"),
    (b"XAUTOCLAIM", _X, b"g", b"c1", b"0", b"0-0", b"COUNT", b"2", b"JUSTID"),
    (b"XPENDING", _X, b"g"),
    (b"XREADGROUP", b"GROUP", b"g", b"c2", b"STREAMS", _X, b"0"),
)
"""A consumer group over the group's stream, the steps of ``redlin run --workload stream`` (each
entry delivered to one consumer at a time, pending until acknowledged; ids ``1-0``, ``1-1``... in the
order the XADDs run): drawn commands reach a group only by chance."""
_CACHE_VERBS: Final = ("load", "evalsha", "exists", "load", "evalsha")
_NAMES: Final = tuple(name for name in GRAMMAR if name not in ("watch", "unwatch", "lcs"))
_LENGTHS: Final = (1, 2, 3, 2, 4, 6, 12)
"""A block's commands, drawn from these (long blocks find atomicity lost only past some length)."""


def client_group(slot: int, pipeline: int) -> int:
    """The group of the client in slot ``slot`` (its number among the run's clients), of
    :data:`GROUP_LANES` lanes at most.

    >>> [client_group(slot, 1) for slot in range(9)], [client_group(slot, 4) for slot in range(3)]
    ([0, 0, 0, 0, 1, 1, 1, 1, 2], [0, 1, 2])
    """
    return slot // max(1, GROUP_LANES // pipeline)


def group_pool(prefix: bytes, epoch: int, numbered: int, group: int) -> dict[str, bytes]:
    """The keys of group ``group`` in ``epoch``, by their names in :data:`POOL`: numbered after the
    epoch's ``numbered`` keys and the pools of the groups before it."""
    first = numbered + group * len(POOL)
    return {name: epoch_key(prefix, epoch, first + at) for at, name in enumerate(POOL)}


def pool_keys(workload: str, clients: int, pipeline: int) -> int:
    """The keys of an epoch's pools, after its numbered ones: one :data:`POOL` per group of
    ``clients`` for a workload with generated operations, else none.

    >>> pool_keys("generated", 10, 1), pool_keys("mixed", 10, 2), pool_keys("mixed", 10, 8), pool_keys("cas", 10, 1)
    (27, 45, 90, 0)
    """
    if workload not in ("generated", "mixed"):
        return 0
    return (client_group(clients - 1, pipeline) + 1) * len(POOL)


class Drawer:
    """Draws a worker's steps with its random generator."""

    def __init__(self, rng: random.Random, leave_out: frozenset[str] = frozenset()) -> None:
        self.choose = rng.choice
        self.random = rng.random
        # the commands a version profile's model leaves out (redis.model.Profile.unmodelled) are not drawn
        self.names = tuple(name for name in _NAMES if name not in leave_out)
        absent = {name.upper().encode() for name in leave_out}
        self.stream = tuple(argv for argv in STREAM_STEPS if argv[0] not in absent)
        self.scripts: dict[bytes, tuple[tuple[bytes, ...], tuple[bytes, ...]]] = {}  # a group's bodies, SHA1s

    def step(self, pool: Mapping[str, bytes], token: bytes) -> tuple[tuple[Argv, ...], str, bytes]:
        """One operation on the keys of ``pool``: its commands, its call's JSON and its bytes;
        ``token`` is its unique value."""
        draw = self.random()
        if draw < SIDE_SHARE and self.stream:
            commands: tuple[Argv, ...] = (tuple(self._bytes(arg, pool, token) for arg in self.choose(self.stream)),)
        elif draw < 2 * SIDE_SHARE:
            commands = (self._cached(pool),)
        elif draw < 2 * SIDE_SHARE + BLOCK_SHARE:
            commands = self._block(pool, token)
        else:
            commands = (self._command(pool, token),)
        return commands, call_json(*commands), b"".join(encode_command(argv) for argv in commands)

    def _command(self, pool: Mapping[str, bytes], token: bytes) -> Argv:
        name = self.choose(self.names)
        drawn = draw_argv(GRAMMAR[name], self.choose, keys_for(name, POOL, self.choose), TOKEN)
        return tuple(self._bytes(arg, pool, token) for arg in drawn)

    def _block(self, pool: Mapping[str, bytes], token: bytes) -> tuple[Argv, ...]:
        commands: list[Argv] = [self._command(pool, token) for _ in range(self.choose(_LENGTHS))]
        if self.random() < 0.1:
            # refused at queue time for its arity: EXEC then answers EXECABORT (sheet M8)
            commands.insert(self.choose(range(len(commands) + 1)), self.choose(QUEUE_ERRORS))
        return ((b"MULTI",), *commands, (b"DISCARD",) if self.random() < 0.1 else (b"EXEC",))

    def _cached(self, pool: Mapping[str, bytes]) -> Argv:
        """``SCRIPT LOAD`` of one of the group's scripts, ``EVALSHA`` of one (NOSCRIPT until some
        client loaded it), or ``SCRIPT EXISTS`` of some (the last is never loaded).  Each names a
        key of the group, as :mod:`redlin.harness.pressure_check` finds an invocation's epoch by."""
        tag = pool["g0"]
        if tag not in self.scripts:
            if len(self.scripts) > 4096:  # the pools of epochs long gone
                self.scripts.clear()
            bodies = script_bodies(tag)
            self.scripts[tag] = bodies, tuple(hashlib.sha1(body).hexdigest().encode() for body in bodies)
        bodies, shas = self.scripts[tag]
        verb = self.choose(_CACHE_VERBS)
        if verb == "load":
            return b"SCRIPT", b"LOAD", bodies[self.choose(range(len(bodies) - 1))]
        if verb == "evalsha":
            return b"EVALSHA", shas[self.choose(range(len(shas) - 1))], b"1", pool[self.choose(POOL)]
        # and the group's first key, which no script has as its SHA1 (0), so that the checker finds the epoch
        return b"SCRIPT", b"EXISTS", *(self.choose(shas) for _ in range(self.choose((1, 2, 3)))), tag

    def _bytes(self, arg: Arg, pool: Mapping[str, bytes], token: bytes) -> bytes:
        if isinstance(arg, Key):
            return pool[arg.name]
        if arg == _ID:
            return self.choose(_IDS)
        return token if arg == TOKEN else arg


def script_bodies(tag: bytes) -> tuple[bytes, ...]:
    """The scripts of the group whose first key is ``tag``: the bodies of
    :data:`~redlin.harness.actions.CACHED_SOURCES`, each naming ``tag``, so that no other group or
    epoch loads them (the model of an epoch starts with none cached).  The guard lets their
    ``EVALSHA`` through once a worker admits them (:meth:`~redlin.harness.guard.Guard.admit`).

    >>> script_bodies(b"redlin:r:e3:k25")[1]
    b'-- redlin script cache redlin:r:e3:k25\\nreturn 2'
    """
    return tuple(cached_body(index, tag) for index in range(len(CACHED_SOURCES)))
