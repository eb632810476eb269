"""Real blocking for the embedded server: parked clients, served in Redis's order (blocked.c, 7.0.15).

The model never blocks: where Redis would block a client it answers ``ERR redlin's model does not
block`` (:data:`redlin.model._lists.DOES_NOT_BLOCK`).  The server then *parks* the connection
(:meth:`Blocking.park`): its later pipelined commands wait too, and its wait ends

- when it is served: after every command, the keys that command changed are *ready* (in the order
  the command names them; an EXEC's queued commands in order), and for each ready key the clients
  blocked on it are retried in the order they blocked, each with its command narrowed to that one
  key (``BLPOP k1 k2 0`` served by ``k2`` runs ``BLPOP k2 0``), as serveClientsBlockedOnKey pops
  from the key that became ready.  The first retry the model does not answer DOES_NOT_BLOCK is the
  client's reply, and its state the new state; keys the retry changed (BLMOVE's destination) are
  ready in turn.  A client is retried only while the key holds its command's type.
- at its deadline (the command's timeout; 0: never): the null array (``_`` under RESP3), or for
  WAIT the number of replicas that acknowledged (always 0 here);
- by ``CLIENT UNBLOCK id [TIMEOUT|ERROR]``: the timeout reply, or
  ``-UNBLOCKED client unblocked via CLIENT UNBLOCK``;
- for XREADGROUP, when its key is deleted or changes type (``-UNBLOCKED the stream key no longer
  exists``) or its group is destroyed (``-NOGROUP the consumer group this client was blocked on no
  longer exists``);
- when its connection closes (the client is dropped).

XREAD's ``$`` is resolved when the client blocks (the stream's last id then, ``0-0`` without a
stream), as Redis records it in the client's blocking state.

>>> narrow_argv([b"BLMPOP", b"0", b"2", b"a", b"b", b"LEFT", b"COUNT", b"3"], b"b")
(b'BLMPOP', b'0', b'1', b'b', b'LEFT', b'COUNT', b'3')
>>> narrow_argv([b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"t", b"1-0", b"2-0"], b"t")
(b'XREAD', b'BLOCK', b'0', b'STREAMS', b't', b'2-0')
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from redlin.model import NULL_ARRAY, Error, Reply, State, ZSet
from redlin.model import step as model_step
from redlin.model._lists import DOES_NOT_BLOCK, check_timeout
from redlin.model._streams import Stream, format_id

__all__ = ["Blocked", "Blocking", "narrow_argv", "would_block"]

Argv = Sequence[bytes]

UNBLOCKED_BY_CLIENT: Final = Error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
STREAM_GONE: Final = Error("UNBLOCKED the stream key no longer exists")
GROUP_GONE: Final = Error("NOGROUP the consumer group this client was blocked on no longer exists")

# The type of value each blocking command waits for (BLOCKED_LIST, BLOCKED_ZSET, BLOCKED_STREAM).
_KINDS: Final[dict[bytes, type]] = {
    **dict.fromkeys((b"blpop", b"brpop", b"blmove", b"brpoplpush", b"blmpop"), tuple),
    **dict.fromkeys((b"bzpopmin", b"bzpopmax", b"bzmpop"), ZSet),
    **dict.fromkeys((b"xread", b"xreadgroup"), Stream),
    b"wait": type(None),
}


def would_block(argv: Argv, reply: Reply) -> bool:
    """Whether the model's ``reply`` to ``argv`` is its stand-in for a wait."""
    return (argv[0].lower() in _KINDS and type(reply) is Error
            and reply.text == DOES_NOT_BLOCK.text)


def _streams_at(argv: Argv) -> int:
    """The index of the word after STREAMS (XREAD/XREADGROUP)."""
    return next(i for i, word in enumerate(argv) if word.lower() == b"streams") + 1


def blocked_keys(argv: Argv) -> tuple[bytes, ...]:
    """The keys a blocking command waits on."""
    name = argv[0].lower()
    if name in (b"blmpop", b"bzmpop"):
        return tuple(argv[3 : 3 + int(argv[2])])
    if name in (b"blmove", b"brpoplpush"):
        return (argv[1],)
    if name in (b"xread", b"xreadgroup"):
        at = _streams_at(argv)
        return tuple(argv[at : at + (len(argv) - at) // 2])
    if name == b"wait":
        return ()
    return tuple(argv[1:-1])


def narrow_argv(argv: Argv, key: bytes) -> tuple[bytes, ...]:
    """``argv`` waiting on ``key`` alone: the command that serves the client from that key."""
    name = argv[0].lower()
    if name in (b"blmpop", b"bzmpop"):
        numkeys = int(argv[2])
        return (argv[0], argv[1], b"1", key, *argv[3 + numkeys :])
    if name in (b"xread", b"xreadgroup"):
        at = _streams_at(argv)
        half = (len(argv) - at) // 2
        index = list(argv[at : at + half]).index(key)
        return (*argv[:at], key, argv[at + half + index])
    if name in (b"blmove", b"brpoplpush", b"wait"):
        return tuple(argv)
    return (argv[0], key, argv[-1])


def timeout_ms(argv: Argv) -> int:
    """The command's timeout in milliseconds (0: forever); its syntax was checked by the model."""
    name = argv[0].lower()
    if name in (b"xread", b"xreadgroup"):
        at = next(i for i, word in enumerate(argv) if word.lower() == b"block")
        return int(argv[at + 1])
    if name == b"wait":
        return int(argv[2])
    return check_timeout(argv[1] if name in (b"blmpop", b"bzmpop") else argv[-1])


def _resolve_dollars(state: State, db: int, argv: Argv) -> tuple[bytes, ...]:
    """XREAD's ``$`` ids as the ids they stand for now."""
    if argv[0].lower() != b"xread":
        return tuple(argv)
    at = _streams_at(argv)
    half = (len(argv) - at) // 2
    out = list(argv)
    for index in range(half):
        if out[at + half + index] == b"$":
            stream = state.dbs[db].data.get(argv[at + index])
            out[at + half + index] = format_id(stream.last_id) if type(stream) is Stream else b"0-0"
    return tuple(out)


@dataclass(eq=False)
class Blocked:
    """One parked client: what it runs, where it waits, and the future its connection awaits."""

    client: int
    argv: tuple[bytes, ...]
    db: int
    keys: tuple[bytes, ...]
    future: asyncio.Future[tuple[Argv, Reply]]
    timer: asyncio.TimerHandle | None = field(default=None)

    @property
    def kind(self) -> type:
        return _KINDS[self.argv[0].lower()]

    @property
    def group(self) -> bool:
        return self.argv[0].lower() == b"xreadgroup"


class Blocking:
    """The server's parked clients, in the order they blocked."""

    def __init__(self) -> None:
        self.parked: list[Blocked] = []

    def __len__(self) -> int:
        return len(self.parked)

    def park(self, state: State, client: int, argv: Argv) -> Blocked:
        """Park ``client``, which ran ``argv`` on ``state`` and would block; await its ``future``."""
        db = state.session(client).db
        loop = asyncio.get_running_loop()
        blocked = Blocked(client, _resolve_dollars(state, db, argv), db, blocked_keys(argv), loop.create_future())
        millis = timeout_ms(argv)
        if millis > 0:
            blocked.timer = loop.call_later(millis / 1000, self.time_out, blocked)
        self.parked.append(blocked)
        return blocked

    def _finish(self, blocked: Blocked, argv: Argv, reply: Reply) -> None:
        if blocked in self.parked:
            self.parked.remove(blocked)
        if blocked.timer is not None:
            blocked.timer.cancel()
        if not blocked.future.done():
            blocked.future.set_result((argv, reply))

    def time_out(self, blocked: Blocked) -> None:
        """replyToBlockedClientTimedOut: the null array, or WAIT's count of acknowledging replicas."""
        self._finish(blocked, blocked.argv, 0 if blocked.kind is type(None) else NULL_ARRAY)

    def unblock(self, client: int, error: bool) -> bool:
        """CLIENT UNBLOCK: whether ``client`` was blocked (it then gets the timeout reply or an error)."""
        for blocked in self.parked:
            if blocked.client == client:
                if error:
                    self._finish(blocked, blocked.argv, UNBLOCKED_BY_CLIENT)
                else:
                    self.time_out(blocked)
                return True
        return False

    def drop(self, client: int) -> None:
        """The client's connection closed: forget its wait."""
        for blocked in [b for b in self.parked if b.client == client]:
            self.parked.remove(blocked)
            if blocked.timer is not None:
                blocked.timer.cancel()
            blocked.future.cancel()

    # ----------------------------------------------------------------- serving

    def _changed(self, before: State, after: State, order: Iterable[Argv]) -> list[tuple[int, bytes]]:
        """The (db, key) pairs some client waits on whose value ``before`` → ``after`` replaced,
        in the order the commands of ``order`` name them, then in blocking order."""
        waited = {(b.db, key) for b in self.parked for key in b.keys}
        changed = {(db, key) for db, key in waited
                   if before.dbs[db].data.get(key) is not after.dbs[db].data.get(key)}
        if not changed:
            return []
        ranked: list[tuple[int, bytes]] = []
        words = [word for argv in order for word in argv[1:]]
        for pair in itertools.chain(((db, w) for w in words for db in sorted({d for d, _ in changed})),
                                    ((b.db, k) for b in self.parked for k in b.keys)):
            if pair in changed and pair not in ranked:
                ranked.append(pair)
        return ranked

    def serve(self, get_state: Callable[[], State], set_state: Callable[[State], None], now: int,
              before: State, order: Iterable[Argv]) -> None:
        """handleClientsBlockedOnKeys after a command that took ``before`` to the current state."""
        ready = self._changed(before, get_state(), order)
        while ready:
            batch, ready = ready, []
            for db, key in batch:
                for blocked in [b for b in self.parked if b.db == db and key in b.keys]:
                    if blocked not in self.parked:
                        continue
                    state = get_state()
                    outcome = self._try(state, now, blocked, key)
                    if outcome is None:
                        continue
                    new_state, argv, reply = outcome
                    set_state(new_state)
                    self._finish(blocked, argv, reply)
                    ready += [pair for pair in self._changed(state, new_state, (argv,)) if pair not in ready]

    def _try(self, state: State, now: int, blocked: Blocked, key: bytes) -> tuple[State, Argv, Reply] | None:
        value = state.dbs[blocked.db].data.get(key)
        if type(value) is not blocked.kind:
            # unblockDeletedStreamReadgroupClients: the key was deleted or overwritten.
            return (state, blocked.argv, STREAM_GONE) if blocked.group else None
        argv = narrow_argv(blocked.argv, key)
        new_state, reply = model_step(state, blocked.client, argv, now)
        if would_block(argv, reply):
            return None
        if blocked.group and type(reply) is Error and reply.text.startswith("NOGROUP"):
            reply = GROUP_GONE
        return new_state, argv, reply


async def wait_parked(blocked: Blocked, reader: asyncio.StreamReader,
                      feed: Callable[[bytes], None]) -> tuple[Argv, Reply]:
    """Wait for ``blocked``'s reply, still reading its connection: what arrives is ``feed``'s (the
    commands wait in the parser), and the end of the stream raises ConnectionResetError."""
    while not blocked.future.done():
        read = asyncio.ensure_future(reader.read(65536))
        await asyncio.wait((blocked.future, read), return_when=asyncio.FIRST_COMPLETED)
        if not read.done():
            read.cancel()  # wait for the cancellation: the stream allows one reader at a time
            with contextlib.suppress(asyncio.CancelledError):
                await read
            if read.cancelled():
                break
        data = read.result()
        if not data:
            raise ConnectionResetError("the blocked client went away")
        feed(data)
    return await blocked.future
