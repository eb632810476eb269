"""The Redis model as a checker model: operations are what Redis executes atomically.

An operation's ``call`` is the tuple of commands its client sent (each an argv tuple of bytes),
and its ``result`` the tuple of replies, one per command:

- a single command: ``((b"INCR", b"x"),)`` -> ``(5,)``;
- a transaction: ``((b"MULTI",), (b"INCR", b"x"), (b"EXEC",))`` -> ``(OK, QUEUED, (5,))`` — one
  operation, because nothing queued takes effect before EXEC and EXEC runs atomically (sheet M17);
- a script: ``((b"EVALSHA", sha, b"1", b"x"),)`` -> its reply (E25).

WATCH/UNWATCH are operations of their own; their effect lives in the client's session, which is
part of the model state being searched, so a nil EXEC is accepted exactly when some write to a
watched key can be ordered between the WATCH and the EXEC.  An indeterminate (INFO) operation may
take effect or not; either way its connection is gone, so its session ends with it.

Partitioning (P-compositionality) splits by the keys of the command table, and never separates the
operations of one client's *session window* (from a WATCH or MULTI to the EXEC, DISCARD, UNWATCH,
RESET or QUIT that closes it), because the session state they share is not a key.  Commands that
read or change every key, or that move a session to another database (SELECT, MOVE, SWAPDB,
FLUSHALL...), put the whole history in one part.  A set only single-member commands touch splits
further, by member (:mod:`redlin.adapter.members`); :mod:`redlin.adapter.partition` does the split.

Pub/Sub (sheet P): channels are not keys, so every Pub/Sub command, and every operation of a client
that ever subscribes, touches one shared pseudo-key and lands in one part.  A message an idle
subscriber read is an operation of its own, the pseudo-command ``RECV`` whose result is the frame:
it takes the next frame from the client's mailbox in the model state (``model.receive``), so a
lost, duplicated, reordered or invented message leaves no valid order.  Messages read while a
command was in flight are part of that command's result (a ``Frames`` value: the messages, then the
reply); they must be exactly the client's mailbox when the command ran, since Redis writes a reply
after everything already queued for the connection.

Restarts (:mod:`redlin.adapter.restarts`): the pseudo-command ``RESTART`` is a restart of the
server the recorder noticed (its ``run_id`` changed); it ends every session, empties the script
cache and keeps or empties the keyspace, and it touches everything, so a history with a restart is
one part.  That module argues why its interval and effect keep the search sound.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from functools import lru_cache, partial

from redlin.adapter.deliveries import impossible_message, is_receive_argv
from redlin.adapter.lookahead import lookahead
from redlin.adapter.partition import redis_partition
from redlin.adapter.restarts import describe_restart, is_restart_argv, restart_step
from redlin.adapter.views import REDIS_VIEWS
from redlin.history.records import Operation, Outcome
from redlin.model import (
    DEFAULT_PROFILE,
    NULL_ARRAY,
    UNSEEN,
    Attributed,
    BigNumber,
    Boolean,
    Double,
    Error,
    Frames,
    HiddenChoice,
    MapReply,
    Push,
    ScriptTooLong,
    Session,
    SetReply,
    State,
    Status,
    Unseen,
    Verbatim,
    canonical_pubsub_reply,
    disconnect,
    frames_of,
    initial_state,
    lookup,
    mailbox,
    receive,
    receive_all,
    split_messages,
    step,
    step_reporting_undeclared,
)
from redlin.model._commands import COMMANDS
from redlin.model._pubsub import needs_canonical_form
from redlin.model._reply import Reply, sort_unordered
from redlin.model._resp3 import message_frame, to_resp3, use_protocol
from redlin.search.model import CannotPartition, Model, ModelLimit

_OK = Outcome.OK

Call = tuple[tuple[bytes, ...], ...]



@lru_cache(maxsize=65536)
def _canon_plan(call: Call) -> tuple[tuple[int, bool, tuple[tuple[int, bool], ...]], ...]:
    """Which replies of ``call`` have an unspecified element order, and how to sort them.

    Entries are (command index, pairs, ()) for a direct reply, or (EXEC index, False, ((queued
    position, pairs), ...)) for the replies inside an EXEC array.
    """
    plan = []
    queue: list[tuple[bytes, ...]] | None = None
    for index, argv in enumerate(call):
        name = argv[0].lower() if argv else b""
        if name == b"multi" and queue is None:
            queue = []
            continue
        if queue is not None:
            if name == b"exec":
                inner = tuple(
                    (position, "pairs" in spec.flags)
                    for position, queued in enumerate(queue)
                    if (spec := lookup(queued)) is not None and "unordered" in spec.flags
                )
                if inner:
                    plan.append((index, False, inner))
                queue = None
            elif name == b"discard":
                queue = None
            else:
                queue.append(argv)
            continue
        spec = lookup(argv) if argv else None
        if spec is not None and "unordered" in spec.flags:
            plan.append((index, "pairs" in spec.flags, ()))
    return tuple(plan)


@lru_cache(maxsize=65536)
def _pubsub_plan(call: Call) -> tuple[tuple[int, tuple[tuple[bytes, ...], ...]], ...]:
    """Which replies of ``call`` Redis orders by a hash table in Pub/Sub (UNSUBSCRIBE without
    arguments, PUBSUB CHANNELS): (command index, queued commands if it is an EXEC)."""
    plan = []
    queue: list[tuple[bytes, ...]] | None = None
    for index, argv in enumerate(call):
        name = argv[0].lower() if argv else b""
        if queue is None and name == b"multi":
            queue = []
        elif queue is not None and name in (b"exec", b"discard"):
            if name == b"exec" and any(needs_canonical_form(q) for q in queue):
                plan.append((index, tuple(queue)))
            queue = None
        elif queue is not None:
            queue.append(argv)
        elif needs_canonical_form(argv):
            plan.append((index, ()))
    return tuple(plan)


def _past_messages(reply: Reply, canonical: Callable[[Reply], Reply]) -> Reply:
    """``canonical`` applied to a reply, leaving the messages read in front of it as they are."""
    if type(reply) is not Frames:
        return canonical(reply)
    pending, rest = split_messages(reply)
    if type(rest) is Frames and type(rest.frames[0]) is tuple:  # an EXEC that wrote extra values
        return Frames(pending + (canonical(rest.frames[0]),) + rest.frames[1:])
    return Frames(pending + frames_of(canonical(rest))) if pending else reply


def canonical_result(call: Call, result: Sequence[Reply]) -> tuple[Reply, ...]:
    """``result`` with every reply whose element order Redis leaves unspecified put in sorted order.

    Both the recorded replies and the model's are compared in this form.
    """
    plan = _canon_plan(call)
    pubsub = _pubsub_plan(call)
    if not plan and not pubsub:
        return tuple(result)
    out = list(result)
    for index, pairs, inner in plan:
        if index >= len(out):
            continue
        if not inner:
            out[index] = _past_messages(out[index], partial(sort_unordered, pairs=pairs))
        else:
            out[index] = _past_messages(out[index], partial(_sort_inside, inner=inner))
    for index, queued in pubsub:
        if index < len(out):
            out[index] = canonical_pubsub_reply(call[index], out[index], queued)
    return tuple(out)


def _sort_inside(reply: Reply, inner: tuple[tuple[int, bool], ...]) -> Reply:
    if type(reply) is not tuple:
        return reply
    replies = list(reply)
    for position, inner_pairs in inner:
        if position < len(replies):
            replies[position] = sort_unordered(replies[position], inner_pairs)
    return tuple(replies)


_SCRIPTS = frozenset({b"eval", b"evalsha", b"eval_ro", b"evalsha_ro"})


@lru_cache(maxsize=65536)
def _runs_script(call: Call) -> bool:
    return any(argv and argv[0].lower() in _SCRIPTS for argv in call)


_MAY_REORDER = frozenset(
    {name for name, spec in COMMANDS.items()
     if "unordered" in spec.flags or any("unordered" in sub.flags for sub in spec.subcommands.values())}
    | {b"unsubscribe", b"punsubscribe", b"sunsubscribe", b"pubsub"})
"""The commands whose reply, sent alone, :func:`canonical_result` may put in canonical form (their
own or a subcommand's element order is unspecified, or Pub/Sub's hash-table orders)."""


def _call_facts(call: Call) -> tuple[bool, bool, bool, bool]:
    """What a step asks of a call before it runs it: whether it runs a script, whether it is a
    read of messages (``RECV``) or a ``RESTART``, and whether its replies are compared in canonical
    form (:func:`canonical_result`).  A single command (most calls) is told by its name, in less
    time than a cache takes to hash the call; a block is worked out once per distinct block.

    >>> _call_facts(((b"EVAL", b"return 1", b"0"),)), _call_facts(((b"SMEMBERS", b"s"),))
    ((True, False, False, False), (False, False, False, True))
    """
    if len(call) != 1:
        return _block_facts(call)
    argv = call[0]
    name = argv[0].lower() if argv else b""
    return (name in _SCRIPTS, is_receive_argv(argv), is_restart_argv(argv),
            name in _MAY_REORDER and bool(_canon_plan(call) or _pubsub_plan(call)))


@lru_cache(maxsize=65536)
def _block_facts(call: Call) -> tuple[bool, bool, bool, bool]:
    """:func:`_call_facts` of a call of several commands (a MULTI block, a pipeline)."""
    first = call[0]
    return (_runs_script(call), is_receive_argv(first), is_restart_argv(first),
            bool(_canon_plan(call) or _pubsub_plan(call)))


def _step_keyed(state: State, op: Operation, protocol: int = 2) -> State | None:
    """:func:`_step` for a partitioned history: a script touching an undeclared key stops the split.

    The script runs once, its step noting whether it touched such a key (what the step accepts
    then depended on the part's own keys alone).  A step that fails (a reply the model does not
    give, or a script it cannot finish) may have stopped before a later command's script ran, so
    then every command is probed as the client sent it, and the step taken again as it fails."""
    if not _call_facts(op.call)[0]:
        return _step_whole(state, op, protocol)
    noted: list[bool] = []
    try:
        after = _step(state, op, protocol, partial(_noting_undeclared, noted))
    except (ScriptTooLong, HiddenChoice):
        after = None
    if not noted and after is not None:
        return after
    probe = state
    try:
        for argv in op.call:
            probe, _, undeclared = step_reporting_undeclared(probe, op.client, argv)
            if undeclared or noted:
                raise CannotPartition(redis_model(partitioned=False, protocol=protocol,
                                                  profile=state.profile.name),
                                      f"operation {op.id} runs a script that touches keys it does not declare")
    except ScriptTooLong as error:
        raise ModelLimit(f"operation {op.id} (line {op.line}): {error}") from None
    return _step_whole(state, op, protocol)


def _noting_undeclared(noted: list[bool], state: State, client: Hashable, argv: Sequence[bytes],
                       observed: Reply | Unseen) -> tuple[State, Reply]:
    """:func:`~redlin.model.step`, appending to ``noted`` when a script touched an undeclared key."""
    after, reply, undeclared = step_reporting_undeclared(state, client, argv, observed=observed)
    if undeclared:
        noted.append(True)
    return after, reply


def _step_whole(state: State, op: Operation, protocol: int = 2) -> State | None:
    """:func:`_step` for an unpartitioned history: a script the model cannot finish, or a random
    choice the history does not show (:class:`HiddenChoice`), gives Unknown."""
    try:
        return _step(state, op, protocol)
    except (ScriptTooLong, HiddenChoice) as error:
        raise ModelLimit(f"operation {op.id} (line {op.line}): {error}") from None


def _step(state: State, op: Operation, protocol: int = 2,
          run: Callable[..., tuple[State, Reply]] = step) -> State | None:
    client = op.client
    _, receives, restarts, canonical = _call_facts(op.call)
    if protocol == 3 and not restarts and state.session(client).protocol == 2:
        state = use_protocol(state, client, 3)  # every connection of a RESP3 history began with HELLO 3
    if receives:
        return _receive(state, op, protocol)
    if restarts:
        return restart_step(state, op)
    if op.outcome is not _OK:
        if not op.ends_session and state.session(client).mailbox:
            # Weakened by the minimiser: whenever it ran, its client read every queued message
            # before its reply, whatever they were.
            state = receive_all(state, client, mailbox(state, client))  # type: ignore[assignment]
        for argv in op.call:
            state, _ = run(state, client, argv, observed=UNSEEN)
        return disconnect(state, client) if op.ends_session else state
    expected = op.result
    if protocol == 3 or canonical:
        replies, wanted = [], []
        for argv, want in zip(op.call, expected):
            after, want = _read_messages(state, client, want, protocol)
            if after is None:
                return None
            queued = after.session(client).multi or ()
            state, reply = run(after, client, argv, observed=want)
            replies.append(to_resp3(argv, reply, queued) if protocol == 3 else reply)  # the history's types
            wanted.append(want)
        return state if canonical_result(op.call, replies) == canonical_result(op.call, wanted) else None
    for argv, want in zip(op.call, expected):
        session = state.sessions.get(client)
        if session is not None and session.mailbox:  # (else nothing to read: the usual case, inline)
            after, want = _read_messages(state, client, want)
            if after is None:
                return None
            state = after
        state, reply = run(state, client, argv, observed=want)
        if reply != want:
            return None
    return state


def _read_messages(state: State, client: Hashable, want: Reply, protocol: int = 2) -> tuple[State | None, Reply]:
    """Before a reply the client read every message queued for it (as pushes under RESP3): take
    them off ``want``."""
    session = state.session(client)
    if not session.mailbox:
        return state, want
    count = session.unread
    frames = frames_of(want)
    if len(frames) <= count:
        return None, want
    read = tuple(message_frame(frame) for frame in frames[:count]) if protocol == 3 else frames[:count]
    return receive_all(state, client, read), Frames.of(frames[count:])


def _receive(state: State, op: Operation, protocol: int = 2) -> State | None:
    if op.outcome is _OK:
        frame = op.result[0]
        return receive(state, op.client, message_frame(frame) if protocol == 3 else frame)
    # Weakened by the minimiser: it read the message its call names (or, if it names none, the
    # next one), at any time after its invocation, or never.
    frame = op.call[0][1:]
    if frame:
        return receive(state, op.client, frame)
    frames = mailbox(state, op.client)
    return receive(state, op.client, frames[0]) if frames else None


def describe_reply(reply: Reply) -> str:
    """A reply as redis-cli would show it, on one line."""
    if reply is None:
        return "(nil)"
    if reply is NULL_ARRAY:
        return "(nil array)"
    if type(reply) is Status:
        return _printable(reply.text)
    if type(reply) is int:
        return f"(integer) {reply}"
    if type(reply) is bytes:
        return '"' + reply.decode("utf-8", "backslashreplace") + '"'
    if type(reply) is tuple:
        return "[" + ", ".join(describe_reply(item) for item in reply) + "]"
    if type(reply) is Frames:
        return " then ".join(describe_reply(item) for item in reply)
    if type(reply) is Error:
        return "(error) " + _printable(reply.text)
    return _describe_resp3(reply)


def _describe_resp3(reply: Reply) -> str:
    """A RESP3 value as :func:`describe_reply` shows it (a null as RESP2's, ``(nil)``).

    >>> _describe_resp3(MapReply(((b"f", Double(b"1.5")),))), _describe_resp3(Push((b"message", b"c", b"m")))
    ('{"f" => (double) 1.5}', 'push ["message", "c", "m"]')
    """
    kind = type(reply)
    if kind is MapReply:
        return "{" + ", ".join(f"{describe_reply(k)} => {describe_reply(v)}" for k, v in reply.pairs) + "}"  # type: ignore[union-attr]
    if kind is SetReply:
        return "set {" + ", ".join(describe_reply(item) for item in reply) + "}"  # type: ignore[union-attr]
    if kind is Push:
        return "push [" + ", ".join(describe_reply(item) for item in reply) + "]"  # type: ignore[union-attr]
    if kind is Double or kind is BigNumber:
        return f"({resp_type(reply)}) " + reply.raw.decode("utf-8", "backslashreplace")  # type: ignore[union-attr]
    if kind is Verbatim:
        return describe_reply(reply.body)  # type: ignore[union-attr]
    if kind is Boolean:
        return "(true)" if reply.value else "(false)"  # type: ignore[union-attr]
    if kind is Attributed:
        return describe_reply(reply.reply) + " with attributes " + describe_reply(reply.attributes)  # type: ignore[union-attr]
    return "(nil)"


def _printable(text: str) -> str:
    """A status or error text as it can be written anywhere: bytes that were not UTF-8 on the
    wire (read with ``surrogateescape``) shown as ``\\xff`` escapes.

    >>> _printable(b"a\\xff".decode("utf-8", "surrogateescape"))
    'a\\\\xff'
    """
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def resp_type(reply: Reply) -> str:
    """The RESP2 type a reply is sent as.

    >>> resp_type(Status("OK")), resp_type(b"OK"), resp_type(None), resp_type(NULL_ARRAY), resp_type(Error("ERR x"))
    ('simple string', 'bulk string', 'null bulk string', 'null array', 'error')
    """
    if type(reply) is Status:
        return "simple string"
    if type(reply) is Error:
        return "error"
    if type(reply) is int:
        return "integer"
    if type(reply) is bytes:
        return "bulk string"
    if reply is None:
        return "null bulk string"
    if reply is NULL_ARRAY:
        return "null array"
    if type(reply) is Frames:
        return "replies with messages"
    if type(reply) is tuple:
        return "array"
    return _RESP3_NAMES.get(type(reply), "null")


_RESP3_NAMES: dict[type, str] = {MapReply: "map", SetReply: "set", Push: "push", Double: "double",
                                 BigNumber: "big number", Verbatim: "verbatim string", Boolean: "boolean",
                                 Attributed: "attributed"}


def typed(reply: Reply, other: Reply) -> str:
    """``reply`` as :func:`describe_reply` shows it, with its RESP type when ``other``'s differs.

    >>> typed(Status("OK"), b"OK"), typed(b"OK", Status("OK")), typed(1, 2)
    ('simple string OK', 'bulk string "OK"', '(integer) 1')
    """
    shown = describe_reply(reply)
    kind = resp_type(reply)
    if kind == resp_type(other) or kind == "null bulk string" and other is None:
        return shown
    if kind in ("integer", "null bulk string", "null array", "error", "double", "big number", "boolean"):
        return shown if shown.startswith("(") else f"{kind} {shown}"
    return f"{kind} {shown}"


def describe_command(argv: Sequence[bytes]) -> str:
    return " ".join(_word(arg) for arg in argv)


def _word(arg: bytes) -> str:
    text = arg.decode("utf-8", "backslashreplace")
    return text if text and all(c.isprintable() and not c.isspace() for c in text) else repr(text)


def describe_operation(op: Operation) -> str:
    if is_restart_argv(op.call[0]):
        return describe_restart(op.call[0])
    if len(op.call) == 1:
        text = describe_command(op.call[0])
        if op.outcome is _OK:
            return f"{text} -> {describe_reply(op.result[0])}"
        return f"{text} -> ? ({op.outcome.value})"
    commands = "; ".join(describe_command(argv) for argv in op.call)
    if op.outcome is _OK:
        return f"{commands} -> {describe_reply(op.result[-1])}"
    return f"{commands} -> ? ({op.outcome.value})"


def describe_state(state: State) -> str:
    parts = []
    for index, keyspace in enumerate(state.dbs):
        for key, value in sorted(keyspace.data.items()):
            name = _word(key) if index == 0 else f"{index}:{_word(key)}"
            parts.append(f"{name}={_value(value)}")
    for client, session in sorted(state.sessions.items(), key=lambda item: repr(item[0])):
        if session.protocol == 3 and session.replace(protocol=2).is_default():
            continue  # a RESP3 history's client, which did nothing else yet
        parts.append(f"client {client}: {describe_session(session)}")
    return "{" + ", ".join(parts) + "}" if parts else "{}"


def describe_session(session: Session) -> str:
    """A session in words: ``watching k, j (dirty)``, ``in MULTI (2 queued)``, ``db 3``."""
    words = []
    if session.db:
        words.append(f"db {session.db}")
    if session.watched:
        keys = ", ".join(_word(key) if db == 0 else f"{db}:{_word(key)}" for db, key in sorted(session.watched))
        words.append(f"watching {keys}")
    if session.dirty_cas:
        words.append("watch touched: EXEC will return nil")
    if session.multi is not None:
        words.append(f"in MULTI ({len(session.multi)} queued)")
    if session.dirty_exec:
        words.append("queue-time error: EXEC will abort")
    if session.subscriptions:
        words.append(f"subscribed to {session.subscriptions}")
    if session.mailbox:
        words.append(f"{session.unread} message{'s' if session.unread != 1 else ''} not read yet")
    return "; ".join(words) or "default"


def _value(value: object) -> str:
    if isinstance(value, bytes):
        return _word(value)
    if isinstance(value, tuple):
        return "[" + ",".join(_word(v) for v in value) + "]"
    if isinstance(value, frozenset):
        return "{" + ",".join(sorted(_word(v) for v in value)) + "}"
    return repr(value)


def redis_model(*, partitioned: bool = True, protocol: int = 2, profile: str = DEFAULT_PROFILE) -> Model[State]:
    """The Redis 7.0 model as a :class:`Model` for :func:`redlin.check`.

    ``protocol=3`` checks a history recorded over RESP3 (its meta says ``"protocol": 3``): every
    client spoke RESP3 from its first operation, and the model's replies are compared in RESP3
    types (:func:`redlin.model.to_resp3`), exactly.  ``profile`` is the version the model plays
    (:data:`redlin.model.PROFILES`; its meta says ``"profile": "redis-6.2"``): the search starts
    from that version's empty server, and every state carries its profile.  ``ValueError`` for
    an unknown one.
    """
    initial = initial_state(profile)
    keyed, whole = (partial(_step_keyed, protocol=3), partial(_step_whole, protocol=3)) if protocol == 3 else (
        _step_keyed, _step_whole)
    return Model(
        name="redis" if partitioned else "redis-single",
        init=lambda: initial,
        step=keyed if partitioned else whole,
        partition=redis_partition if partitioned else None,
        describe_operation=describe_operation,
        describe_state=describe_state,
        find_impossible=impossible_message,  # a Pub/Sub message read that no PUBLISH sent (that often)
        for_part=partial(lookahead, step=keyed if partitioned else whole, protocol=protocol),
        views=REDIS_VIEWS,  # how the fast paths see GET/SET, APPEND, list pushes and pops, INCR
        # No minimiser groups: a weakened operation keeps its client's session (ends_session), so
        # a WATCH can be weakened apart from its EXEC without changing what the session means.
    )
