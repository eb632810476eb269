"""Check a Pub/Sub history: are the deliveries what Redis promises?  And minimise a violation fast.

Redis keeps no Pub/Sub messages and promises nothing to a client that is not subscribed, but on
one server it does promise (sheet P): a subscriber receives every message published to its
channels and patterns while it is subscribed, once each, in the order the server ran the
PUBLISHes, and PUBLISH answers how many subscriptions received it (P4, P5).  redlin checks exactly
that as linearizability against the model, where deliveries are state (``model._pubsub``):

- PUBLISH appends the message to each receiver's *mailbox* and returns the count;
- a message an idle subscriber reads is an operation of its own, ``RECV``, whose result is the
  frame; it takes the mailbox's first frame, at the moment the reader recorded it (the frame had
  been written, so published, before; successive frames get strictly increasing times, so the
  order they arrived in is kept);
- messages read while the subscriber's own command was in flight come before that command's reply
  on the socket, so they are part of its result (a :class:`model.Frames` value); they must be
  exactly the mailbox when the command ran, and a reply cannot overtake a queued message.

A lost, duplicated, reordered or invented message, or a wrong receiver count, then leaves no order
of the operations that fits the model: the checker finds it, like any other violation, and
:func:`minimise_pubsub` shrinks it to a small core, first in projections of the history that
forget most of the deliveries.  The recorder of such histories is
:func:`redlin.harness.pubsub.record_pubsub`.

A history recorded over RESP3 (its meta says ``"protocol": 3``) is checked in RESP3's types,
exactly: messages and (un)subscribe confirmations are pushes, PING answers ``+PONG`` while
subscribed, and a subscriber may run any command (:func:`redlin.model.to_resp3`).

A ``redlin run --workload pubsub`` history holds many rounds, one after another, each on channels
of its own; ``redlin check`` checks them one by one, as the run did
(:mod:`redlin.adapter.run_pieces`).
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from dataclasses import replace
from typing import Final

from redlin.adapter.deliveries import enables_notifications, impossible_message, is_receive
from redlin.adapter.redis_model import redis_model
from redlin.adapter.replies import history_protocol
from redlin.history.records import History, Operation, Outcome
from redlin.model import DEFAULT_SESSION, Frames, State, split_messages, use_protocol
from redlin.model import step as model_step
from redlin.search.check import check
from redlin.search.minimise import minimise
from redlin.search.model import Model
from redlin.search.result import Result, Violation

_OK = Outcome.OK
_FAIL = Outcome.FAIL

__all__ = ["PROJECTION_TIME", "check_pubsub", "minimise_pubsub"]


def check_pubsub(history: History, *, time_limit: float | None = None, max_states: int = 1_000_000) -> Result:
    """Check a recorded Pub/Sub history against the Redis model, in the RESP version its meta names
    (see the module docstring)."""
    return check(history, redis_model(protocol=history_protocol(history.meta)), time_limit=time_limit,
                 max_states=max_states)


# ----------------------------------------------------------------------------- minimising

PROJECTION_TIME: Final = 2.0
"""Seconds to check one projection before trying the next (see :func:`minimise_pubsub`)."""


def minimise_pubsub(history: History, violation: Violation, *, time_limit: float) -> tuple[int, ...]:
    """:func:`redlin.minimise` for a Pub/Sub violation, made fast by minimising in a projection.

    Weakening an operation to "may have happened at any time, or not at all" is cheap for keys but
    not for deliveries: every weakened PUBLISH may or may not have filled every subscriber's
    mailbox, and the searches over those mailboxes are what the minimiser's budget runs out on.
    So the violation is looked for first in *projections* of the history that forget most of
    that state:

    - *counts*: the messages nobody checks (RECV operations and the messages read before a reply
      are dropped, mailboxes are emptied after every step): what is left is PUBLISH's receiver
      counts against the (un)subscriptions;
    - *deliveries to one subscriber*: its own operations, and every operation that publishes
      (which must have run, but whose replies are not checked); every other mailbox is emptied.

    Each projection allows every behaviour the full model allows (it checks less, and what it drops
    does not change what it keeps), so a core that is contradictory in a projection is
    contradictory in the full model too.  If no projection shows the violation within
    :data:`PROJECTION_TIME` (two subscribers that disagree on the order of messages, say), the
    whole part is minimised as usual.
    """
    deadline = time.monotonic() + time_limit
    protocol = history_protocol(history.meta)
    whole = redis_model(partitioned=False, protocol=protocol)
    in_part = set(violation.part)
    part = [op for op in history if op.id in in_part and op.outcome is not _FAIL]
    for ops, model in _projections(part, whole, protocol):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        projected = History(tuple(ops))
        result = check(projected, model, time_limit=min(PROJECTION_TIME, left))
        if isinstance(result, Violation):
            return minimise(projected, model, result, time_limit=max(0.0, deadline - time.monotonic()))
    return minimise(history, redis_model(protocol=protocol), violation,
                    time_limit=max(0.0, deadline - time.monotonic()))


def _projections(part: Sequence[Operation], whole: Model[State],
                 protocol: int) -> list[tuple[list[Operation], Model[State]]]:
    """The counts projection, then one per subscriber (see :func:`minimise_pubsub`)."""
    counted = [_without_messages(op) for op in part if not is_receive(op)]
    out = [(counted, _projection_model("counts", whole, None, protocol))]
    subscribers = sorted({op.client for op in part if is_receive(op)
                          or any(argv and argv[0].lower() in _SUBSCRIBERS for argv in op.call)}, key=repr)
    notifying = enables_notifications(part)  # then any write may send a subscriber a message
    for client in subscribers:
        ops = [op for op in part if op.client == client or notifying or _publishes(op)]
        out.append((ops, _projection_model(f"deliveries-{client}", whole, client, protocol)))
    return out


_SUBSCRIBERS: Final = frozenset({b"subscribe", b"psubscribe", b"ssubscribe"})


def _publishes(op: Operation) -> bool:
    return any(argv and argv[0].lower() in (b"publish", b"spublish") for argv in op.call)


def _without_messages(op: Operation) -> Operation:
    """``op`` as if its client had not read the messages in front of its replies."""
    if op.outcome is not _OK or not any(type(reply) is Frames for reply in op.result):
        return op
    return replace(op, result=tuple(split_messages(reply)[1] for reply in op.result))


def _projection_model(name: str, whole: Model[State], keep: Hashable | None, protocol: int) -> Model[State]:
    """The full model, forgetting every mailbox but ``keep``'s; with ``keep``, the other clients'
    operations run without their replies being checked (each client speaking ``protocol``)."""

    def step(state: State, op: Operation) -> State | None:
        if keep is not None and op.client != keep and op.outcome is _OK:
            if protocol == 3:  # every connection of a RESP3 history began with HELLO 3
                state = use_protocol(state, op.client, 3)
            for argv in op.call:
                state, _ = model_step(state, op.client, argv)
            after: State | None = state
        else:
            after = whole.step(state, op)
        return None if after is None else _forget_mail(after, keep)

    return Model(name=f"redis-{name}", init=whole.init, step=step, describe_operation=whole.describe_operation,
                 describe_state=whole.describe_state, find_impossible=impossible_message)


def _forget_mail(state: State, keep: Hashable | None) -> State:
    if not any(session.mailbox for client, session in state.sessions.items() if client != keep):
        return state
    sessions = state.sessions
    for client, session in state.sessions.items():
        if client != keep and session.mailbox:
            emptied = session.replace(mailbox=())
            sessions = sessions.delete(client) if emptied == DEFAULT_SESSION else sessions.set(client, emptied)
    return State(state.dbs, sessions, state.scripts, state.watched, state.profile, state.functions, state.config)
