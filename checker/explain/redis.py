"""Recognising anomalies of Redis commands and transactions (MULTI/EXEC, WATCH).

The Redis :data:`VOCABULARY` tells the generic recognisers (:mod:`redlin.explain.generic`) what each
command read and wrote -- GET/MGET/GETSET/SET (with NX/XX/GET)/MSET/DEL and friends precisely, any
other command with keys as a change of unknown effect -- following a committed EXEC's array reply
into its queued commands.  The recognisers here state what only Redis promises:

- **unjustified nil EXEC** (:func:`nil_exec`) -- EXEC returned nil although nothing could have
  touched a watched key between the WATCH and the EXEC (or nothing was watched);
- **torn transaction** -- the block's own counter replies show another command ran in the middle
  of it (:func:`interleaved_transaction`); a reader saw some writes of a MULTI/EXEC block but not
  the others (:func:`torn_read`); a reader saw a value a key held only between two of the block's
  commands (:func:`intermediate_read`);
- **lost update** -- two identical read-modify-writes (two INCRs) returned the same value
  (:func:`lost_increment`); two WATCH ... EXEC transactions committed on the same read value
  (:func:`lost_watched_update`).

Like every recogniser they return :class:`~redlin.explain.anomalies.Anomaly` records, and only when
the history proves the claim.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from redlin.adapter.deliveries import is_receive
from redlin.adapter.redis_model import describe_command, describe_reply, resp_type, typed
from redlin.adapter.replies import expected_replies, first_difference, op_protocol
from redlin.explain.anomalies import (
    LOST_UPDATE,
    TORN_TRANSACTION,
    UNJUSTIFIED_NIL_EXEC,
    Anomaly,
    Code,
    Fact,
    Key,
    Listing,
    Value,
)
from redlin.explain.generic import (
    MAYBE,
    READ,
    TRANSFORM,
    WRITE,
    Access,
    Analysis,
    Recogniser,
    Vocabulary,
    end,
)
from redlin.explain.names import client_name, cut
from redlin.history.records import Operation, Outcome
from redlin.model import NULL_ARRAY, Error, State, is_message, keys_of, lookup, mailbox
from redlin.model._reply import Reply


@dataclass(frozen=True, slots=True)
class _Command:
    """One command of a Redis operation as it ran: inside a committed EXEC, or on its own."""

    argv: tuple[bytes, ...]
    reply: Reply
    known: bool
    """The command ran and ``reply`` is what it answered (a definite operation, not aborted)."""
    queued: bool


_CONDITIONAL_SET = frozenset({b"NX", b"XX"})
# Commands that touch keys without the "readonly" flag but leave every value alone.
_NO_EFFECT = frozenset({b"watch", b"unwatch", b"multi", b"exec", b"discard"})
# Commands Redis flags "readonly" that still rewrite a value: PFCOUNT stores the cardinality it
# computed in the HyperLogLog's header, so a later GET of that key returns other bytes.
_CACHING_READS = frozenset({b"pfcount"})


def _commands(op: Operation) -> list[_Command]:
    """The commands of ``op`` that ran or may have run, with their replies when known.

    Commands queued after MULTI run at EXEC, with EXEC's array reply; an aborted EXEC (nil or
    EXECABORT) ran none of them.  For an indeterminate operation every command may have run.
    """
    definite = op.outcome is Outcome.OK
    replies = op.result if definite else (None,) * len(op.call)
    out: list[_Command] = []
    queue: list[tuple[bytes, ...]] | None = None
    for argv, reply in zip(op.call, replies):
        name = argv[0].lower() if argv else b""
        if name == b"multi" and queue is None:
            queue = []
        elif queue is not None and name == b"exec":
            if not definite:
                out.extend(_Command(q, None, False, True) for q in queue)
            elif type(reply) is tuple:
                out.extend(_Command(q, r, True, True) for q, r in zip(queue, reply))
            queue = None
        elif queue is not None and name == b"discard":
            queue = None
        elif queue is not None:
            queue.append(argv)
        else:
            out.append(_Command(argv, reply, definite, False))
    if queue is not None and not definite:  # MULTI without EXEC in an indeterminate operation
        out.extend(_Command(q, None, False, True) for q in queue)
    return out


def _command_accesses(command: _Command, *, assume_ran: bool = False) -> list[Access] | None:
    """The accesses of one command; with ``assume_ran``, as if it certainly ran (reply unknown)."""
    argv, reply, known = command.argv, command.reply, command.known
    name = argv[0].lower()
    spec = lookup(argv)
    if spec is None or name in _NO_EFFECT or (known and type(reply) is Error):
        return []
    keys = keys_of(argv)
    if keys is None:
        return None
    text = describe_command(argv)
    sure = WRITE if known or assume_ran else MAYBE

    def reads(key: bytes, value: Reply) -> list[Access]:
        return [Access(key, READ, value, text)] if known and (value is None or type(value) is bytes) else []

    try:
        if name == b"get":
            return reads(argv[1], reply)
        if name == b"mget":
            return [a for key, value in zip(argv[1:], reply if known and type(reply) is tuple else ())
                    for a in reads(key, value)]
        if name == b"getset":
            return reads(argv[1], reply) + [Access(argv[1], sure, argv[2], text)]
        if name == b"getdel":
            return reads(argv[1], reply) + [Access(argv[1], sure, None, text)]
        if name == b"getex":
            return reads(argv[1], reply)
        if name == b"set":
            options = {arg.upper() for arg in argv[3:]}
            out = reads(argv[1], reply) if b"GET" in options else []
            if options & _CONDITIONAL_SET:
                if known and b"GET" not in options:
                    return [Access(argv[1], WRITE, argv[2], text)] if reply is not None else []
                return out + [Access(argv[1], MAYBE, argv[2], text)]
            return out + [Access(argv[1], sure, argv[2], text)]
        if name in (b"setex", b"psetex"):
            return [Access(argv[1], sure, argv[3], text)]
        if name in (b"setnx", b"msetnx"):
            if known and reply == 0:
                return []
            pairs = [(argv[1], argv[2])] if name == b"setnx" else list(zip(argv[1::2], argv[2::2]))
            return [Access(key, WRITE if known else MAYBE, value, text) for key, value in pairs]
        if name == b"mset":
            return [Access(key, sure, value, text) for key, value in zip(argv[1::2], argv[2::2])]
        if name in (b"del", b"unlink"):
            return [Access(key, sure, None, text) for key in argv[1:]]
    except IndexError:  # a malformed command: its reply is an error the model checks
        return []
    if "readonly" in spec.flags and name not in _CACHING_READS:
        return []
    # Any other command with keys may change them (scripts carry no "write" flag).
    return [Access(key, TRANSFORM, None, text) for key in keys]


def _redis_accesses(op: Operation) -> tuple[Access, ...] | None:
    found: list[Access] = []
    for command in _commands(op):
        accesses = _command_accesses(command)
        if accesses is None:
            return None
        found.extend(accesses)
    return tuple(found)


_BRIEF = 40


def _brief(arg: bytes) -> bytes:
    """A long argument (a script, a large value) cut to its start, for sentences."""
    if len(arg) <= _BRIEF:
        return arg
    lines = arg.splitlines() or [arg]
    return lines[0][:24] + "…".encode()


def brief_command(argv: Sequence[bytes]) -> str:
    """A command for sentences, its long arguments (a script, a large value) cut to their start.

    >>> brief_command((b"EVAL", b"-- a long script\\n" + b"return 1\\n" * 20, b"0"))
    "EVAL '-- a long script…' 0"
    """
    return describe_command(tuple(_brief(arg) for arg in argv))


def _redis_command(op: Operation) -> str:
    return "; ".join(brief_command(argv) for argv in op.call)


def redis_value(value: Hashable) -> str:
    """A value for sentences: ``nil``, an integer, or a reply as redis-cli shows it, cut short."""
    if value is None:
        return "nil"
    if type(value) is int:
        return str(value)
    return cut(describe_reply(value), 80)  # type: ignore[arg-type]


def _redis_describe(op: Operation) -> str:
    """:func:`describe_operation` with long arguments and replies cut short."""
    if op.outcome is not Outcome.OK:
        return f"{_redis_command(op)} -> ? ({op.outcome.value})"
    return f"{_redis_command(op)} -> {cut(describe_reply(op.result[-1]), 80)}"


def _redis_expected(state: Hashable, op: Operation) -> str | None:
    """The first reply of ``op`` that the model, run from ``state``, answers differently."""
    if op.outcome is not Outcome.OK:
        return None
    waiting = _unread(state, op.client)
    if waiting is not None:  # Pub/Sub: what the client had to read first
        return waiting
    if is_receive(op):
        return f"no message was waiting for client {op.client} to read"
    try:
        _, expected = expected_replies(state, op.client, op.call, op_protocol(state, op),  # type: ignore[arg-type]
                                       observed=op.result)
    except Exception:  # noqa: BLE001 - an explanation must never break a report
        return None
    found = first_difference(op.call, expected, op.result)
    if found is None:
        return None
    where = " (inside EXEC)" if found.inside_exec else ""
    return (f"{brief_command(found.argv)}{where} would reply {_typed(found.expected, found.got)}, "
            f"not {_typed(found.got, found.expected)}")


def _typed(value: Reply, other: Reply) -> str:
    """:func:`redis_value`, with the RESP type named when ``other``'s differs (a simple string
    ``OK`` against a bulk string ``"OK"``)."""
    if resp_type(value) == resp_type(other):
        return redis_value(value)
    return cut(typed(value, other), 80)


def _unread(state: Hashable, client: Hashable) -> str | None:
    """What the client had to read next, when it has messages queued: ``None`` otherwise."""
    if not isinstance(state, State) or not state.session(client).mailbox:
        return None
    frames = mailbox(state, client)
    first = frame_text(frames[0]) if is_message(frames[0]) else redis_value(frames[0])  # type: ignore[arg-type]
    more = f" (and {len(frames) - 1} more)" if len(frames) > 1 else ""
    return f"{client_name(client)} had the {first}{more} to read before anything else"


def _redis_keys(op: Operation) -> Iterable[Hashable]:
    for argv in op.call:
        if argv:
            yield from keys_of(argv) or ()


VOCABULARY = Vocabulary(_redis_accesses, _redis_command, redis_value, lambda key: describe_command((key,)),  # type: ignore[arg-type]
                        None, _redis_expected, _redis_keys, describe=_redis_describe, deletes=True)
"""The words of Redis commands: what each command read and wrote, described as redis-cli would."""


def _watch(analysis: Analysis, exec_op: Operation) -> tuple[Operation, frozenset[bytes]] | None:
    """The operation with the WATCH that guards ``exec_op``'s EXEC, and the keys it watches."""
    mine = sorted((op for op in analysis.part if op.client == exec_op.client and op.invoke <= exec_op.invoke),
                  key=lambda op: (op.invoke, op.id))
    for op in reversed(mine):
        names = [argv[0].lower() for argv in op.call]
        if op.id != exec_op.id and any(n in (b"exec", b"discard", b"unwatch", b"reset") for n in names):
            return None
        if b"watch" in names:
            keys = frozenset(key for argv in op.call if argv[0].lower() == b"watch" for key in argv[1:])
            return op, keys
    return None


def _exec_reply(op: Operation) -> Reply:
    for argv, reply in zip(op.call, op.result):
        if argv[0].lower() == b"exec":
            found: Reply = reply
            return found
    return Error("no EXEC")


def _touches(op: Operation, keys: frozenset[bytes]) -> bool:
    """Could ``op`` modify one of ``keys`` (conservatively: any non-read-only command on it)?"""
    for command in _commands(op):
        accesses = _command_accesses(command)
        if accesses is None:
            return True
        if any(a.kind != READ and a.key in keys for a in accesses):
            return True
    return False


def _keys(keys: Iterable[bytes]) -> Listing:
    return Listing(tuple(Key(describe_command((key,))) for key in sorted(keys)), ", ")


def frame_text(frame: tuple[bytes, ...]) -> str:
    """``message "x" on ch`` (``... via pattern p*``, ``... (sharded)``).

    >>> frame_text((b"pmessage", b"ch*", b"ch1", b"x"))
    'message "x" on ch1 via pattern ch*'
    """
    kind = frame[0]
    channel, payload = (frame[2], frame[3]) if kind == b"pmessage" else (frame[1], frame[2])
    text = f"message {describe_reply(payload)} on {describe_command((channel,))}"
    if kind == b"pmessage":
        text += f" via pattern {describe_command((frame[1],))}"
    elif kind == b"smessage":
        text += " (sharded)"
    return text


# ----------------------------------------------------------------------------- recognisers


def nil_exec(analysis: Analysis) -> Anomaly | None:
    """EXEC returned nil, but nothing could have modified a watched key since the WATCH."""
    for op in analysis.subjects:
        if op.outcome is not Outcome.OK or _exec_reply(op) is not NULL_ARRAY:
            continue
        exec_op = analysis.op(op)
        watch = _watch(analysis, op)
        if watch is None:
            return Anomaly.of(UNJUSTIFIED_NIL_EXEC, "nil-exec/unwatched", exec=exec_op)
        watcher, keys = watch
        assert op.complete is not None
        between = [other for other in analysis.part
                   if other.id not in (watcher.id, op.id) and other.invoke < op.complete
                   and end(other) > watcher.invoke]
        if any(_touches(other, keys) for other in between):
            continue
        earlier = [other for other in analysis.part
                   if other.id not in (watcher.id, op.id) and end(other) <= watcher.invoke and _touches(other, keys)]
        facts: dict[str, Fact] = {"exec": exec_op, "keys": _keys(keys), "watch": analysis.op(watcher)}
        if earlier:
            last = max(earlier, key=end)
            return Anomaly.of(UNJUSTIFIED_NIL_EXEC, "nil-exec/written-before", **facts, last=analysis.op(last))
        if between:
            readers = Listing(tuple(analysis.op(other) for other in between[:3]), ", ")
            return Anomaly.of(UNJUSTIFIED_NIL_EXEC, "nil-exec/only-reads", **facts, readers=readers)
        return Anomaly.of(UNJUSTIFIED_NIL_EXEC, "nil-exec", **facts)
    return None


_DELTAS = {b"incr": 1, b"decr": -1}


def _delta(argv: tuple[bytes, ...]) -> int | None:
    name = argv[0].lower()
    if name in _DELTAS:
        return _DELTAS[name]
    if name in (b"incrby", b"decrby") and len(argv) == 3:
        try:
            amount = int(argv[2])
        except ValueError:
            return None
        return amount if name == b"incrby" else -amount
    return None


def interleaved_transaction(analysis: Analysis) -> Anomaly | None:
    """A committed transaction's own counter replies show another command ran inside it."""
    for op in analysis.subjects:
        if op.outcome is not Outcome.OK or len(op.call) < 3:
            continue
        last: dict[Hashable, tuple[int, tuple[bytes, ...]]] = {}
        for command in _commands(op):
            if not command.queued or not command.known:
                continue
            delta = _delta(command.argv)
            key = command.argv[1] if len(command.argv) > 1 else b""
            if delta is None or type(command.reply) is not int:
                for access in _command_accesses(command) or ():
                    last.pop(access.key, None)
                continue
            before = last.get(key)
            if before is not None and before[0] + delta != command.reply:
                return Anomaly.of(TORN_TRANSACTION, "interleaved-transaction", tx=analysis.op(op),
                                  before=Value(str(before[0])), first=Code(describe_command(before[1])),
                                  after=Value(str(command.reply)), second=Code(describe_command(command.argv)),
                                  key=Key(describe_command((key,))))
            last[key] = (command.reply, command.argv)
    return None


def _final_writes(op: Operation) -> dict[bytes, Access] | None:
    """The value each key holds after a transaction's writes, if it ran; ``None`` if one is conditional."""
    writes: dict[bytes, Access] = {}
    for command in _commands(op):
        if not command.queued:
            continue
        for access in _command_accesses(command, assume_ran=True) or ():
            if access.kind == READ:
                continue
            if access.kind != WRITE:
                return None
            writes[access.key] = access  # type: ignore[index]
    return writes


def torn_read(analysis: Analysis) -> Anomaly | None:
    """A reader saw one write of a committed transaction and, later or at once, not another."""
    # The transaction itself need not be in the core: weakened to "may or may not have happened",
    # it still happens atomically or not at all.
    transactions = [op for op in analysis.part
                    if (op.outcome is Outcome.OK and type(_exec_reply(op)) is tuple)
                    or (op.outcome is Outcome.INFO and any(argv[0].lower() == b"multi" for argv in op.call))]
    reads = list(analysis.reads())
    for tx in transactions:
        writes = _final_writes(tx)
        if not writes or len(writes) < 2:
            continue
        for a, wrote_a in writes.items():
            others_a = analysis.writes_to(a)
            if others_a is None or any(w.id != tx.id and access.value == wrote_a.value for w, access in others_a):
                continue  # a's value might have come from elsewhere
            for b, wrote_b in writes.items():
                others_b = analysis.writes_to(b)
                if b == a or others_b is None or any(
                        w.id != tx.id and end(w) >= tx.invoke for w, _ in others_b):
                    continue  # b might have changed again after the transaction
                for first, saw_a in reads:
                    if first.id == tx.id or saw_a.key != a or saw_a.value != wrote_a.value:
                        continue
                    for second, saw_b in reads:
                        if (second.id == tx.id or saw_b.key != b or saw_b.value == wrote_b.value
                                or not (second.id == first.id or end(first) < second.invoke)):
                            continue
                        facts: dict[str, Fact] = {
                            "tx": analysis.op(tx), "a": Key(describe_command((a,))),
                            "a_value": Value(redis_value(wrote_a.value)), "b": Key(describe_command((b,))),
                            "b_value": Value(redis_value(wrote_b.value)), "saw_a": Value(redis_value(saw_a.value)),
                            "saw_b": Value(redis_value(saw_b.value))}
                        if second.id == first.id:
                            return Anomaly.of(TORN_TRANSACTION, "torn-read/one-reader", **facts,
                                              reader=analysis.op(first))
                        return Anomaly.of(TORN_TRANSACTION, "torn-read/two-readers", **facts,
                                          first=analysis.op(first), second=analysis.op(second))
    return None


_READ_MODIFY_WRITE = frozenset({b"incr", b"decr", b"incrby", b"decrby", b"incrbyfloat", b"hincrby",
                                b"hincrbyfloat", b"zincrby", b"append", b"lpush", b"rpush", b"sadd"})


def lost_increment(analysis: Analysis) -> Anomaly | None:
    """Two identical read-modify-writes of a key both answered as if the other had not happened."""
    found: list[tuple[Operation, _Command]] = []
    for op in analysis.subjects:
        for command in _commands(op):
            if command.known and command.argv[0].lower() in _READ_MODIFY_WRITE and type(command.reply) is not Error:
                found.append((op, command))
    for i, (first, a) in enumerate(found):
        for second, b in found[i + 1:]:
            if first.id == second.id or a.argv[1:] != b.argv[1:] or a.argv[0].lower() != b.argv[0].lower() \
                    or a.reply != b.reply:
                continue
            key = a.argv[1]
            start, stop = min(first.invoke, second.invoke), max(end(first), end(second))
            # No other writer of the key may fit between the two (a DEL would explain equal replies).
            others = [op for op in analysis.part if op.id not in (first.id, second.id) and _touches(op, frozenset({key}))
                      and end(op) >= start and op.invoke <= stop]
            if others:
                continue
            first, second = sorted((first, second), key=lambda op: (op.invoke, op.id))
            return Anomaly.of(LOST_UPDATE, "lost-increment", first=analysis.op(first), second=analysis.op(second),
                              command=Code(describe_command(a.argv)), reply=Value(redis_value(a.reply)),
                              key=Key(describe_command((key,))))
    return None


def lost_watched_update(analysis: Analysis) -> Anomaly | None:
    """Two WATCH ... read ... EXEC transactions on the same read value both committed."""
    guarded: list[tuple[Operation, Operation, bytes, Operation, Access, Access]] = []
    for tx in analysis.subjects:
        if tx.outcome is not Outcome.OK or type(_exec_reply(tx)) is not tuple:
            continue
        watch = _watch(analysis, tx)
        writes = _final_writes(tx)
        if watch is None or not writes:
            continue
        watcher, keys = watch
        for key, wrote in writes.items():
            if key not in keys:
                continue
            for reader in analysis.part:
                if reader.client != tx.client or not watcher.invoke <= reader.invoke <= tx.invoke:
                    continue
                for access in analysis.of(reader) or ():
                    if access.kind == READ and access.key == key:
                        guarded.append((tx, watcher, key, reader, access, wrote))
    for i, (tx1, w1, key, r1, read1, wrote1) in enumerate(guarded):
        for tx2, w2, key2, r2, read2, wrote2 in guarded[i + 1:]:
            if tx1.client == tx2.client or key2 != key or read1.value != read2.value \
                    or read1.value in (wrote1.value, wrote2.value):
                continue
            all_writes = analysis.writes_to(key)
            start = min(w1.invoke, w2.invoke)
            if all_writes is None or any(w.id not in (tx1.id, tx2.id) and end(w) >= start for w, _ in all_writes):
                continue
            if (tx2.invoke, tx2.id) < (tx1.invoke, tx1.id):
                tx1, r1, tx2, r2 = tx2, r2, tx1, r1
            return Anomaly.of(LOST_UPDATE, "lost-watched-update", tx1=analysis.op(tx1), tx2=analysis.op(tx2),
                              key=Key(describe_command((key,))), value=Value(redis_value(read1.value)),
                              read1=analysis.op(r1), read2=analysis.op(r2))
    return None


def _steps(tx: Operation) -> dict[bytes, list[tuple[Hashable, str]]] | None:
    """For a committed transaction, each key's values after each of its queued commands, with the
    command's text; ``None`` for a key once a value cannot be told from the replies."""
    if tx.outcome is not Outcome.OK or type(_exec_reply(tx)) is not tuple:
        return None
    steps: dict[bytes, list[tuple[Hashable, str]]] = {}
    unknown: set[bytes] = set()
    for command in _commands(tx):
        if not command.queued:
            continue
        text = f"{brief_command(command.argv)} (-> {redis_value(command.reply)})"
        if _delta(command.argv) is not None and type(command.reply) is int:
            steps.setdefault(command.argv[1], []).append((b"%d" % command.reply, text))
            continue
        for access in _command_accesses(command, assume_ran=True) or ():
            key = access.key
            if access.kind == READ or not isinstance(key, bytes):
                continue
            if access.kind == WRITE:
                steps.setdefault(key, []).append((access.value, text))
            else:
                unknown.add(key)
    return {key: values for key, values in steps.items() if key not in unknown}


def intermediate_read(analysis: Analysis) -> Anomaly | None:
    """A reader saw a value a key held only between two commands of one committed transaction."""
    for tx in analysis.part:
        steps = _steps(tx)
        if not steps:
            continue
        for reader, read in analysis.reads():
            values = steps.get(read.key)  # type: ignore[call-overload]
            if reader.id == tx.id or not values or len(values) < 2 or read.value is None:
                continue
            middle = [i for i, (value, _) in enumerate(values[:-1]) if value == read.value]
            if not middle or values[-1][0] == read.value:
                continue
            others = analysis.writes_to(read.key, end(reader), exclude=tx.id)
            if others is None or any(access.value == read.value for _, access in others):
                continue
            at = middle[0]
            return Anomaly.of(TORN_TRANSACTION, "intermediate-read", reader=analysis.op(reader),
                              value=Value(redis_value(read.value)), key=analysis.key(read.key), tx=analysis.op(tx),
                              before=Code(values[at][1]), after=Code(values[at + 1][1]))
    return None


RECOGNISERS: tuple[Recogniser, ...] = (nil_exec, interleaved_transaction, torn_read, intermediate_read,
                                       lost_increment, lost_watched_update)
"""The Redis recognisers, in the order they are tried (after the Pub/Sub ones)."""
