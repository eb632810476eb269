"""redlin's history format: JSON Lines, one event per line, written as it happens.

A recorder appends a line when an operation is invoked and another when it completes, flushing
each, so a crash or Ctrl-C loses nothing recorded so far; an invocation with no completion reads
back as indeterminate (INFO).  The format::

    {"event": "meta", "format": "redlin-history", "version": 1, "model": "redis", ...}
    {"event": "invoke", "op": 0, "client": 1, "time": 1200, "call": [["SET", "k", "v"]]}
    {"event": "ok", "op": 0, "time": 1450, "result": [{"status": "OK"}]}
    {"event": "info", "op": 1, "time": 9000, "error": "timeout"}
    {"event": "fail", "op": 2, "time": 9100, "error": "connection refused"}

``time`` is the client's monotonic clock in nanoseconds.  ``op`` ids are unique in the file;
``client`` is an integer or a string, and a client has at most one operation in flight.  Redis
calls are lists of commands (each a list of arguments); results have one reply per command.
Arguments and bulk replies are JSON strings when they are valid UTF-8, else ``{"b64": ...}``.
Other replies: integer -> number, null bulk -> ``null``, status -> ``{"status": "OK"}``, error ->
``{"error": "ERR ..."}``, array -> list, null array -> ``{"nil_array": true}``, several values read
as one command's answer (``SUBSCRIBE a b``; messages read before a reply) -> ``{"frames": [...]}``.
The pseudo-command ``["RECV", ...]`` is one Pub/Sub message an idle subscriber read.  The
pseudo-command ``["RESTART", data, old_run_id, new_run_id]`` (result ``[{"status": "OK"}]``, ``data``
one of ``kept``, ``emptied``, ``unknown``) is a restart of the server the recorder noticed, from
the last invocation the old process answered to the first reply of the new one
(:mod:`redlin.adapter.restarts`).  A ``fail`` event's ``error`` says why the operation certainly
did not run: the recorder writes one when the server's state rejected it before running it, e.g.
``"error": "OOM: OOM command not allowed when used memory > 'maxmemory'."``
(:mod:`redlin.harness.server_state`).  A deployment run (``redlin run --deployment``) also writes
each injected fault once it is healed, on the operations' clock: ``{"event": "fault", "fault":
"kill", "target": "node0", "port": 10234, "start": 5000, "end": 900000, "detail": {...}}``; they
load into the history's meta as ``faults``, and reports draw them.  All of these fit version 1:
older readers refuse them (``RESTART`` as an unknown command, a fault as an unknown event) rather
than misread them.  The meta line may name the version profile the server is
checked as, ``"profile": "redis-6.2"`` (one of :data:`redlin.model.PROFILES`; Redis 7.0 if none).

A history recorded over RESP3 says ``"protocol": 3`` in its meta line (RESP2 histories say
nothing), and its replies keep RESP3's types, each an object of one key: null -> ``{"null": true}``,
map -> ``{"map": [[key, value], ...]}``, set -> ``{"set": [...]}``, push -> ``{"push": [...]}``,
double -> ``{"double": "3.5"}`` (its text as sent), boolean -> ``{"bool": true}``, big number ->
``{"big_number": "123"}``, verbatim string -> ``{"verbatim": ["txt", "text"]}``, a reply with
attributes -> ``{"attributed": [[[key, value], ...], reply]}``; texts that are not UTF-8 as
``{"b64": ...}``.  For the generic
models (``register``, ``cas-register``, ``kv``) calls and results are plain JSON (lists become
tuples).
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import IO, Any

import msgspec

from redlin.adapter.deliveries import is_receive_argv
from redlin.adapter.redis_model import canonical_result
from redlin.adapter.restarts import is_restart_argv
from redlin.errors import HistoryError, UsageError
from redlin.history.records import History, Literal, Operation, Outcome, make_operation
from redlin.history.sharing import SHARED_ARGUMENT, inline_call, inline_reply, shared_call, status
from redlin.history.source import paused_gc, read_blocks
from redlin.model import (
    COMMANDS,
    NULL,
    NULL_ARRAY,
    PROFILES,
    Attributed,
    BigNumber,
    Boolean,
    Double,
    Error,
    Frames,
    MapReply,
    Push,
    SetReply,
    Status,
    Verbatim,
)
from redlin.model._reply import Reply

FORMAT = "redlin-history"
VERSION = 1
REDIS_MODELS = ("redis", "redis-single")


# ----------------------------------------------------------------------------- values


def encode_bytes(data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(data).decode()}
    return text


def decode_bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict) and isinstance(value.get("b64"), str) and len(value) == 1:
        return base64.b64decode(value["b64"], validate=True)
    raise ValueError(f"expected a string or {{\"b64\": ...}}, got {json.dumps(value)[:60]}")


def encode_reply(reply: Reply) -> Any:
    kind = type(reply)
    if kind is bytes:
        return encode_bytes(reply)  # type: ignore[arg-type]
    if kind is int or reply is None:
        return reply
    if kind is tuple:
        return [encode_reply(item) for item in reply]  # type: ignore[union-attr]
    if kind is Status:
        return {"status": _encode_text(reply.text)}  # type: ignore[union-attr]
    if kind is Error:
        return {"error": _encode_text(reply.text)}  # type: ignore[union-attr]
    if reply is NULL_ARRAY:
        return {"nil_array": True}
    if kind is Frames:
        return {"frames": [encode_reply(item) for item in reply]}  # type: ignore[union-attr]
    return _encode_resp3(reply)


def _encode_resp3(reply: Reply) -> Any:
    """A RESP3 value as JSON (see the module docstring).

    >>> _encode_resp3(MapReply(((b"f", Double(b"1.5")),))), _encode_resp3(NULL)
    ({'map': [['f', {'double': '1.5'}]]}, {'null': True})
    """
    kind = type(reply)
    if reply is NULL:
        return {"null": True}
    if kind is MapReply:
        return {"map": [[encode_reply(key), encode_reply(value)] for key, value in reply.pairs]}  # type: ignore[union-attr]
    if kind is SetReply or kind is Push:
        return {"set" if kind is SetReply else "push": [encode_reply(item) for item in reply]}  # type: ignore[union-attr]
    if kind is Double or kind is BigNumber:
        return {"double" if kind is Double else "big_number": encode_bytes(reply.raw)}  # type: ignore[union-attr]
    if kind is Boolean:
        return {"bool": reply.value}  # type: ignore[union-attr]
    if kind is Verbatim:
        return {"verbatim": [encode_bytes(reply.format), encode_bytes(reply.body)]}  # type: ignore[union-attr]
    if kind is Attributed:
        return {"attributed": [_encode_resp3(reply.attributes)["map"], encode_reply(reply.reply)]}  # type: ignore[union-attr]
    raise TypeError(f"not a reply: {reply!r}")


def _encode_text(text: str) -> Any:
    """A status or error text; one that is not UTF-8 on the wire (read with ``surrogateescape``)
    as ``{"b64": ...}`` of its bytes, like a binary bulk string.

    >>> _encode_text("OK"), _encode_text(b"\\xff".decode("utf-8", "surrogateescape"))
    ('OK', {'b64': '/w=='})
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return encode_bytes(text.encode("utf-8", "surrogateescape"))
    return text


def _decode_text(value: Any) -> str:
    return value if isinstance(value, str) else decode_bytes(value).decode("utf-8", "surrogateescape")


def decode_reply(value: Any) -> Reply:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, list):
        return tuple(decode_reply(item) for item in value)
    if isinstance(value, dict) and len(value) == 1:
        (tag, inner), = value.items()
        if tag == "status" and isinstance(inner, str | dict):
            return status(_decode_text(inner))
        if tag == "error" and isinstance(inner, str | dict):
            return Error(_decode_text(inner))
        if tag == "nil_array" and inner is True:
            return NULL_ARRAY
        if tag == "frames" and isinstance(inner, list) and len(inner) > 1:
            return Frames(tuple(decode_reply(item) for item in inner))
        if tag == "b64":
            return decode_bytes(value)
        decoded = _decode_resp3(tag, inner)
        if decoded is not _NOT_RESP3:
            return decoded
    raise ValueError(f"not a reply: {json.dumps(value)[:60]}")


_NOT_RESP3: Any = object()


def _decode_resp3(tag: str, inner: Any) -> Reply:
    if tag == "null" and inner is True:
        return NULL
    if tag == "map" and isinstance(inner, list) and all(isinstance(p, list) and len(p) == 2 for p in inner):
        return MapReply(tuple((decode_reply(key), decode_reply(value)) for key, value in inner))
    if tag in ("set", "push") and isinstance(inner, list):
        items = tuple(decode_reply(item) for item in inner)
        return SetReply(items) if tag == "set" else Push(items)
    if tag in ("double", "big_number"):
        text = decode_bytes(inner)
        return Double(text) if tag == "double" else BigNumber(text)
    if tag == "bool" and isinstance(inner, bool):
        return Boolean(inner)
    if tag == "verbatim" and isinstance(inner, list) and len(inner) == 2:
        return Verbatim(decode_bytes(inner[0]), decode_bytes(inner[1]))
    if tag == "attributed" and isinstance(inner, list) and len(inner) == 2:
        attributes = _decode_resp3("map", inner[0])
        if type(attributes) is MapReply:
            return Attributed(attributes, decode_reply(inner[1]))
    return _NOT_RESP3  # type: ignore[no-any-return]


def encode_call(call: Sequence[Sequence[bytes]]) -> list[list[Any]]:
    return [[encode_bytes(arg) for arg in argv] for argv in call]


def _frozen(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or value is None:  # as Literal.of leaves them, sooner
        return value
    if kind is list:
        return tuple([_frozen(item) for item in value])
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get("literal"), str):
            return Literal(value["literal"])
        return tuple(sorted((key, _frozen(item)) for key, item in value.items()))
    return Literal.of(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, Literal):  # a boolean or float that keeps its type (see Literal)
        return {"literal": value.text}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


MAX_LINE = 64 << 20
"""The longest line read, in bytes: a recorded Redis reply can be large, but not unbounded."""
MAX_DEPTH = 64
"""JSON values nest at most this deep (replies of nested arrays are a few levels deep)."""
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
FAST_PATHS = True
"""Whether :func:`load_history` reads the usual lines of a Redis history inline: a call of one
command of strings, a reply that is a string, an integer or nil (anything else, and any history
when False, goes through the full checks; tests compare the two)."""
_OUTCOMES = {"ok": Outcome.OK, "fail": Outcome.FAIL, "info": Outcome.INFO}
_DECODE: Callable[[str], Any] = msgspec.json.Decoder().decode
"""msgspec's JSON reader (C): :func:`json.loads`'s values, integers of any size and the last of a
repeated key included, in half the time; it refuses what json refuses, and some more (NaN, lone
surrogates), which the full path then reads or refuses as before."""


def _quick_event(line: str) -> dict[str, Any] | None:
    """The object on ``line`` when it is one JSON object (the common case), else None.

    Anything else (another value, malformed JSON, what :data:`_DECODE` refuses) is left to the full
    path, which finds the same value or words the same error.

    >>> _quick_event('{"op": 1}\\n'), _quick_event('[{"op": 1}]'), _quick_event('{"op": 1} x')
    ({'op': 1}, None, None)
    """
    try:
        event = _DECODE(line)
    except (msgspec.DecodeError, ValueError, RecursionError):  # (a ValueError only since msgspec 0.21)
        return None
    return event if type(event) is dict else None


# ----------------------------------------------------------------------------- writing


class HistoryWriter:
    """Appends events to a history file as they happen (thread-safe, flushed line by line).

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "h.jsonl")
    >>> with HistoryWriter(path, model="redis") as w:
    ...     op = w.invoke(client=1, call=[(b"SET", b"k", b"v")], time=10)
    ...     w.complete(op, Outcome.OK, time=20, result=[Status("OK")])
    >>> len(load_history(path))
    1
    >>> HistoryWriter(path)
    Traceback (most recent call last):
    redlin.errors.UsageError: .../h.jsonl: the file exists and is not empty; a history is written to a new file
    """

    def __init__(self, path: str | os.PathLike[str], *, model: str = "redis", **meta: Any) -> None:
        self.path = Path(path)
        self.model = model
        if self.path.exists() and self.path.stat().st_size:  # another history's: a second meta line spoils both
            raise UsageError(f"{self.path}: the file exists and is not empty; a history is written to a new file")
        self._file: IO[str] = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        self._lock = threading.Lock()
        self._invoking = threading.Lock()
        self._next = 0
        self._write({"event": "meta", "format": FORMAT, "version": VERSION, "model": model, **meta})

    def _write(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, separators=(",", ":"), ensure_ascii=False, default=_json_default) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def invoke(self, *, client: Hashable, call: Any, time: int) -> int:
        """Record an invocation; returns the new operation id."""
        encoded = encode_call(call) if self.model in REDIS_MODELS else call
        with self._invoking:  # numbered and written together: op numbers follow the file's order
            op = self._next
            self._next += 1
            self._write({"event": "invoke", "op": op, "client": client, "time": time, "call": encoded})
        return op

    def complete(self, op: int, outcome: Outcome, *, time: int, result: Any = None, error: str | None = None) -> None:
        """Record how operation ``op`` ended."""
        event: dict[str, Any] = {"event": outcome.value, "op": op, "time": time}
        if outcome is Outcome.OK:
            event["result"] = [encode_reply(r) for r in result] if self.model in REDIS_MODELS else result
        if error is not None:
            event["error"] = error
        self._write(event)

    def fault(self, record: dict[str, Any]) -> None:
        """Record an injected fault (``FaultEvent.to_json``'s fields), once it is healed."""
        self._write({"event": "fault", **record})

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def save_history(history: History, path: str | os.PathLike[str], *, model: str = "redis") -> None:
    """Write a whole history (completions follow their invocations, in time order), in place of the file's."""
    events: list[tuple[int, int, Operation]] = []
    for op in history:
        events.append((op.invoke, 0, op))
        if op.complete is not None:
            events.append((op.complete, 1, op))
    events.sort(key=lambda e: (e[0], e[1], e[2].id))
    ids: dict[int, int] = {}
    meta = {key: value for key, value in history.meta.items() if key != "model"}
    Path(path).unlink(missing_ok=True)
    with HistoryWriter(path, model=model, **meta) as writer:
        for time, kind, op in events:
            if kind == 0:
                ids[op.id] = writer.invoke(client=op.client, call=op.call, time=time)
            else:
                writer.complete(ids[op.id], op.outcome, time=time, result=op.result if op.definite else None)


# ----------------------------------------------------------------------------- reading


def load_history(path: str | os.PathLike[str]) -> History:
    """Read and validate a history file.  Errors are :class:`HistoryError` naming ``file:line``."""
    with paused_gc():
        return _Loader(Path(path)).load()


class _Loader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.model = "redis"
        self.meta: dict[str, Any] = {}
        self.known: set[bytes] = set()  # command names seen that the model knows, as written

    def fail(self, line: int, message: str) -> HistoryError:
        return HistoryError(self.path, line, message)

    def load(self) -> History:
        # One pass, no per-line generators or dicts: an invocation is a slot in ``ops`` (ids follow
        # the invocation lines' order) and a list in ``pending`` until its completion fills the slot.
        ops: list[Operation | None] = []
        pending: dict[Any, tuple[int, int, Hashable, int, Any]] = {}  # op id -> (index, line, client, time, call)
        busy: dict[Hashable, Any] = {}  # client -> op id in flight
        seen: set[Any] = set()
        shared: dict[Any, Any] = {}  # long arguments and Redis calls, each kept once (sharing.shared_call)
        names: dict[str, bytes] = {}  # (redlin.history.sharing: what is kept once)
        replies: dict[str, tuple[bytes]] = {}
        counts: dict[int | None, tuple[int | None]] = {}
        faults: list[dict[str, Any]] = []
        known = self.known
        OK = Outcome.OK
        inline = FAST_PATHS  # a Redis history's usual calls and replies read inline (set at each meta line)
        quick, outcomes, deep = _quick_event, _OUTCOMES, 2 * MAX_DEPTH
        try:
            for first, lines, newline in read_blocks(self.path, max_line=MAX_LINE):
                for number, line in enumerate(lines, first):
                    event = quick(line)
                    if event is None:
                        event = self._event(number, line + newline)
                        if event is None:
                            continue
                    elif len(line) > deep and _deep(line, event):  # each level opens and closes
                        raise self.fail(number, f"JSON nested more than {MAX_DEPTH} deep")
                    if "\\u" in line:
                        self._surrogates(number, line, event)
                    get = event.get
                    kind = get("event")
                    if kind == "meta":
                        if number != 1 and self.meta:
                            raise self.fail(number, "a second meta line")
                        self._meta(number, event)
                        inline = FAST_PATHS and self.model in REDIS_MODELS
                        continue
                    if kind == "fault":
                        faults.append(self._fault(number, event))
                        continue
                    op, time = get("op"), get("time")
                    if type(op) is not int and type(op) is not str:  # JSON gives exact types: bool is not int here
                        raise self.fail(number, "'op' must be an integer or a string")
                    if type(time) is not int:
                        raise self.fail(number, "'time' must be an integer (nanoseconds)")
                    if kind == "invoke":
                        if op in seen:
                            raise self.fail(number, f"operation {op!r} invoked twice")
                        client = get("client")
                        if type(client) is not int and type(client) is not str:
                            raise self.fail(number, "'client' must be an integer or a string")
                        if client in busy:
                            raise self.fail(number, f"client {client!r} invoked operation {op!r} while "
                                                    f"operation {busy[client]!r} was still in flight")
                        seen.add(op)
                        busy[client] = op
                        call = get("call")
                        if inline and type(call) is list and len(call) == 1 and type(call[0]) is list and call[0]:
                            try:  # one command of strings, the usual call: its arguments' UTF-8 bytes
                                call = inline_call(call[0], names)
                            except (TypeError, ValueError):  # {"b64": ...} or a surrogate: the full path
                                call = self._call(number, call)
                        else:
                            call = self._call(number, call)
                        if type(call) is tuple:
                            call = shared_call(call, shared, len(line) > SHARED_ARGUMENT, self.model in REDIS_MODELS)
                        pending[op] = (len(ops), number, client, time, call)
                        ops.append(None)
                    elif type(kind) is str and kind in outcomes:  # (a list would not hash)
                        invocation = pending.pop(op, None)
                        if invocation is None:
                            what = "completed twice" if op in seen else "completed but never invoked"
                            raise self.fail(number, f"operation {op!r} {what}")
                        index, invoked_at, client, invoked, call = invocation
                        if time < invoked:
                            raise self.fail(number, f"operation {op!r} completes at {time}, before its "
                                                    f"invocation at {invoked} (line {invoked_at})")
                        del busy[client]
                        if kind != "ok":
                            ops[index] = make_operation(index, client, call, None, invoked,
                                                        None if kind == "info" else time, outcomes[kind], invoked_at)
                            continue
                        result = get("result")
                        if (inline and len(call) == 1 and call[0][0] in known and type(result) is list
                                and len(result) == 1):
                            reply = result[0]  # one reply, of a command seen before: a bulk string, an integer, nil
                            if (type(reply) is str and reply.isascii()) or type(reply) is int or reply is None:
                                result = inline_reply(reply, replies, counts)  # (as canonical_result leaves them)
                            else:
                                result = self._result(number, call, result)
                        else:
                            result = self._result(number, call, result)
                        ops[index] = make_operation(index, client, call, result, invoked, time, OK, invoked_at)
                    else:
                        raise self.fail(number, f"unknown event {kind!r} (expected meta, invoke, ok, fail, info or fault)")
        except OSError as error:
            raise HistoryError(self.path, None, error.strerror or str(error)) from None
        for index, invoked_at, client, invoked, call in pending.values():  # never completed: a crash, Ctrl-C
            ops[index] = make_operation(index, client, call, None, invoked, None, Outcome.INFO, invoked_at)
        return History(tuple(ops), {"model": self.model, **self.meta,  # type: ignore[arg-type]
                                    **({"faults": faults} if faults else {})})

    def _fault(self, number: int, event: dict[str, Any]) -> dict[str, Any]:
        """A ``fault`` line as the report's fault record (``event`` dropped), or a one-line error."""
        start, end = event.get("start"), event.get("end")
        if not isinstance(event.get("fault"), str) or not isinstance(start, int) or isinstance(start, bool):
            raise self.fail(number, "a fault needs 'fault' (its kind) and 'start' (nanoseconds)")
        if end is not None and (not isinstance(end, int) or isinstance(end, bool) or end < start):
            raise self.fail(number, "a fault's 'end' must be null or nanoseconds no earlier than its 'start'")
        return {key: value for key, value in event.items() if key != "event"}

    def _event(self, number: int, line: str) -> dict[str, Any] | None:
        """A line :func:`_quick_event` did not take: blank (None), an event, or a one-line error."""
        if not line.strip():
            return None
        try:
            event = json.loads(line)
        except json.JSONDecodeError as error:
            raise self.fail(number, f"not JSON: {error.msg} at column {error.colno}") from None
        except ValueError as error:  # an integer beyond Python's limit on digits
            raise self.fail(number, f"not JSON redlin can read: {error}") from None
        except RecursionError:
            raise self.fail(number, f"JSON nested more than {MAX_DEPTH} deep") from None
        if not isinstance(event, dict):
            raise self.fail(number, "each line must be a JSON object")
        if _depth(event) > MAX_DEPTH:
            raise self.fail(number, f"JSON nested more than {MAX_DEPTH} deep")
        return event

    def _surrogates(self, number: int, line: str, event: dict[str, Any]) -> None:
        """Refuse a ``\\ud800``-``\\udfff`` escape that is not half of a pair (not a character)."""
        if _SURROGATE_ESCAPE.search(line):
            try:
                json.dumps(event, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                raise self.fail(number, "a lone surrogate (\\ud800-\\udfff) is not a character") from None

    def _meta(self, number: int, event: dict[str, Any]) -> None:
        if event.get("format") != FORMAT:
            raise self.fail(number, f"not a redlin history (format {event.get('format')!r})")
        if event.get("version") != VERSION:
            raise self.fail(number, f"unsupported version {event.get('version')!r} (this redlin reads {VERSION})")
        model = event.get("model", "redis")
        if not isinstance(model, str):
            raise self.fail(number, "'model' must be a string")
        self.model = model
        if event.get("protocol", 2) not in (2, 3) or isinstance(event.get("protocol"), bool):
            raise self.fail(number, "'protocol' must be 2 or 3 (the RESP version the history was recorded in)")
        if "profile" in event and event["profile"] not in PROFILES:
            raise self.fail(number, f"'profile' must be one of {', '.join(PROFILES)} (the version the server was "
                                    "checked as)")
        self.meta = {k: v for k, v in event.items() if k not in ("event", "format", "version")}

    def _call(self, number: int, call: Any) -> Any:
        if self.model not in REDIS_MODELS:
            return _frozen(call)  # booleans and floats become Literals: ``true`` is not ``1``
        if not isinstance(call, list) or not call:
            raise self.fail(number, "'call' must be a non-empty list of commands")
        commands = []
        for argv in call:
            if not isinstance(argv, list) or not argv:
                raise self.fail(number, "each command must be a non-empty list of arguments")
            try:
                commands.append(tuple([arg.encode() if type(arg) is str else decode_bytes(arg) for arg in argv]))
            except ValueError as error:
                raise self.fail(number, f"bad argument: {error}") from None
        return tuple(commands)

    def _result(self, number: int, call: Any, result: Any) -> Any:
        if self.model not in REDIS_MODELS:
            if isinstance(call, tuple) and call[:1] == ("cas",) and isinstance(result, bool):
                return result  # whether the swap happened, not a value
            return _frozen(result)
        if not isinstance(result, list) or len(result) != len(call):
            raise self.fail(number, f"'result' must be a list of {len(call)} replies, one per command")
        try:  # a bulk string, an integer or a null bulk inline: most replies are one of them
            replies = tuple([item.encode() if type(item) is str else item if type(item) is int or item is None
                             else decode_reply(item) for item in result])
        except ValueError as error:
            raise self.fail(number, str(error)) from None
        for argv, reply in zip(call, replies):
            name = argv[0]
            if name in self.known:  # as written: most histories repeat a few names, not to lower-case again
                continue
            if name.lower() in COMMANDS:
                self.known.add(name)
            elif not is_receive_argv(argv) and not is_restart_argv(argv) and not (
                type(reply) is Error and reply.text.startswith("ERR unknown command")
            ):
                raise self.fail(number, f"unknown command '{name.decode('utf-8', 'replace')}': redlin's model "
                                        "does not know it")
        return canonical_result(call, replies)


def _deep(line: str, event: Any) -> bool:
    """Whether a line's JSON nests more than :data:`MAX_DEPTH` deep; brackets counted first (as many
    in strings at most), so only a line with that many is walked.

    >>> _deep("[" * 70 + "]" * 70, json.loads("[" * 70 + "]" * 70)), _deep('{"a": "[[[["}', {"a": "[[[["})
    (True, False)
    """
    return line.count("[") + line.count("{") > MAX_DEPTH and _depth(event) > MAX_DEPTH


def _depth(value: Any) -> int:
    """How deep lists and objects nest in a decoded JSON value (iteratively: no recursion limit)."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        item, depth = pending.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        if isinstance(item, list):
            pending.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, dict):
            pending.extend((inner, depth + 1) for inner in item.values())
    return deepest
