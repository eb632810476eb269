"""Prune the search of a Pub/Sub part early: a mailbox must be what its subscriber reads next.

In the model (:mod:`redlin.adapter.redis_model`) a PUBLISH appends its message to every receiving
session's mailbox, and a subscriber's reads take frames off the front: a ``RECV`` takes one, a
command takes every one queued before its reply.  Nothing else takes a frame out, except the end
of the session (an indeterminate operation of the client, or a restart), which drops them all.

So when a subscriber's reads are known -- its definite operations, in its client order, each
reading known frames -- a state whose mailbox does not line up with them can lead to no
linearization: if the mailbox's first frame is the ``i``-th frame the client reads, the next frames
of the mailbox must be the ``i+1``-th, ``i+2``-th... for as long as the client reads without its
session ending in between.  The search alone finds that out only when the subscriber's next
operation comes due; a subscriber whose command was in flight for a long time (a stalled server,
a descheduled client) then makes it try every order of the messages published meanwhile.
:func:`lookahead` gives the search (:attr:`redlin.search.model.Model.for_part`) a step that
refuses such a state at once, after each operation that publishes.

It is conservative, since a refusal must be certain:

- only histories without restarts, and only subscribers whose operations are single commands
  and whose frames read are all different (one position in the reads per frame); others are not
  looked at.  A RESP3 client reads its messages as pushes, which the mailbox holds as arrays
  (:func:`redlin.model._resp3.message_frame`);
- a mailbox whose first frame the client never reads (in the part: a part may be a prefix of a
  history) is not looked at, nor one holding an unordered group (a frozenset: the pmessages of one
  PUBLISH);
- past the end of the first frame's session (or of its known reads) a frame may be anything the
  client does not read in that session, or before it: a frame the client reads there can never
  reach the front in time, as the frames ahead of it are read later or dropped with the session.
  (Whether the client reads it in a later session is not looked at: the session may have gone on
  past an indeterminate operation, which may also have read frames no one saw.)  This is what
  refuses a message placed too early, before a stretch the subscriber has yet to read: with its
  frames at the front, the frames published next all land past the end;
- a command's frames before its reply are its leading message frames
  (:func:`redlin.model.split_messages`); the model reads as many as the mailbox holds, which is the
  same count whenever the state can go on (and otherwise it fails there anyway).

>>> from redlin.history.records import History, Operation
>>> msg = (b"message", b"ch", b"a")
>>> ops = [Operation(0, 1, ((b"RECV", *msg),), (msg,), 5, 6)]
>>> lookahead(ops, lambda state, op: state) is None  # no operation publishes
True
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import Final

from redlin.adapter.deliveries import is_receive_argv
from redlin.adapter.restarts import is_restart_argv
from redlin.history.records import Operation, Outcome
from redlin.model import State, split_messages
from redlin.model._resp3 import message_frame

_OK = Outcome.OK

__all__ = ["lookahead"]

Step = Callable[[State, Operation], State | None]
_PUBLISHING: Final = frozenset({b"publish", b"spublish", b"exec", b"eval", b"evalsha", b"eval_ro", b"evalsha_ro",
                                b"fcall", b"fcall_ro"})
"""Commands that can put a message in a mailbox (a script or a transaction may publish)."""


class _Reads:
    """What one subscriber reads, in order: the frames, each frame's position, and where each
    position's session ends (the position of the first frame read after an end, or the count)."""

    def __init__(self) -> None:
        self.frames: list[object] = []
        self.position: dict[object, int] = {}
        self.ends: list[int] = []  # for each position: the first position past its session
        self.usable = True

    def read(self, frame: object) -> None:
        if frame in self.position:
            self.usable = False  # read twice: its position would be a guess
        self.position[frame] = len(self.frames)
        self.frames.append(frame)

    def close_session(self) -> None:
        self.ends.extend([len(self.frames)] * (len(self.frames) - len(self.ends)))

    def line_up(self, mailbox: tuple[object, ...]) -> bool:
        """Whether ``mailbox`` can still be read as the client reads (see the module docstring)."""
        first = self.position.get(mailbox[0])
        if first is None:
            return True
        end = self.ends[first]
        frames = self.frames
        span = min(len(mailbox), end - first)
        for offset in range(1, span):
            if mailbox[offset] != frames[first + offset]:
                return False
        position = self.position
        for offset in range(span, len(mailbox)):
            at = position.get(mailbox[offset])
            if at is not None and at < end:
                return False
        return True


def _reads(ops: Sequence[Operation], protocol: int) -> dict[Hashable, _Reads]:
    by_client: dict[Hashable, list[Operation]] = defaultdict(list)
    for op in ops:
        by_client[op.client].append(op)
    found: dict[Hashable, _Reads] = {}
    for client, mine in by_client.items():
        reads = _Reads()
        for op in sorted(mine, key=lambda op: op.invoke):
            if len(op.call) != 1:
                reads.usable = False
                break
            if op.outcome is not _OK:
                reads.close_session()  # it may have ended the session (or read anything: weakened)
                continue
            frames = (op.result[0],) if is_receive_argv(op.call[0]) else split_messages(op.result[0])[0]
            for frame in frames:
                mail = message_frame(frame) if protocol == 3 else frame
                if mail is None:
                    reads.usable = False  # not a push: the model refuses it anyway
                reads.read(mail)
        reads.close_session()
        if reads.usable and reads.frames:
            found[client] = reads
    return found


def lookahead(ops: Sequence[Operation], step: Step, protocol: int = 2) -> Step | None:
    """A step for the part ``ops`` that also refuses a state whose mailboxes cannot be read as the
    part's subscribers read (see the module docstring); ``None`` if there is nothing to look at."""
    if any(is_restart_argv(op.call[0]) for op in ops if op.call):
        return None
    publishing = frozenset(op.id for op in ops if any(argv and argv[0].lower() in _PUBLISHING for argv in op.call))
    readers = _reads(ops, protocol) if publishing else None
    if not readers:
        return None
    watched = tuple(readers.items())

    def pruned(state: State, op: Operation) -> State | None:
        after = step(state, op)
        if after is None or op.id not in publishing:
            return after
        for client, reads in watched:
            box = after.session(client).mailbox
            if box and box is not state.session(client).mailbox and not any(type(mail) is frozenset for mail in box) \
                    and not reads.line_up(box):
                return None
        return after

    return pruned
