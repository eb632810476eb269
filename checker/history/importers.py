"""Read histories recorded by other tools: Jepsen/Knossos EDN and Porcupine's test logs.

All three formats are logs of *events*: a process invokes an operation, later the same process sees
it complete (``:ok``), fail (``:fail``) or become indeterminate (``:info``).  Each process has at most
one operation in flight, so an invocation is paired with the next completion of the same process.
Time is the event's position in the log (the logs are written in real-time order); an operation
spans from its invocation's position to its completion's.

What a completion means depends on the recording tool, and the verdicts depend on it:

- ``:ok`` -- the operation took effect once, with the logged result.
- ``:info``, or no completion at all -- indeterminate (:attr:`Outcome.INFO`): it may have taken
  effect at any time after its invocation, or never.
- ``:fail`` -- in Jepsen/Knossos EDN, the operation definitely did not take effect
  (:attr:`Outcome.FAIL`, ignored by the checker).  In Porcupine's etcd logs, ``:fail :cas`` is a
  *definite, observed* failure: the value was not the expected one (an OK operation whose result is
  ``False``), while ``:fail :read :timed-out`` is a read whose result is unknown; a read changes
  nothing, so it is kept as FAIL and ignored.

The EDN they are written in is read by :mod:`redlin.history.edn`.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Callable, Hashable, Iterator
from typing import Any, NamedTuple

from redlin.errors import HistoryError
from redlin.history.edn import EdnError, Keyword, Symbol, edn_records, flat_fields, flat_records, read_value
from redlin.history.edn import read_edn as read_edn  # where tests and users have found it
from redlin.history.records import History, Literal, Operation, Outcome, make_operation
from redlin.history.source import BOM, lines_fit, paused_gc, read_text, regular_file

_UNREAD = object()
_COMPLETIONS = frozenset({"ok", "fail", "info"})
MAX_LINE = 4 << 20
"""The longest line read, in bytes: Jepsen's and Porcupine's lines are a few hundred."""


# --- from events to operations ---------------------------------------------------------------------


class _Event(NamedTuple):
    """One line of a log (a tuple: made twice per operation, it must be cheap to make)."""

    line: int
    process: Hashable
    type: str  # "invoke" | "ok" | "fail" | "info"
    f: str
    value: Any
    key: Any = None


_new_event = tuple.__new__  # an _Event from a tuple of all its fields, without NamedTuple's __new__ in Python

_Convert = Callable[[_Event, _Event | None], tuple[Any, Any, Outcome]]
"""(invocation, completion or None) -> (call, result, outcome); raises _Bad for a malformed pair."""


class _Bad(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _pair(path: str | os.PathLike[str], events: Iterator[_Event], convert: _Convert, fs: frozenset[str]) -> History:
    """Pair each invocation with its process's next completion; unfinished ones become INFO."""
    drafts: list[list[Any]] = []  # [invocation, completion, invoke time, complete time]
    pending: dict[Hashable, list[Any]] = {}  # process -> the draft of its operation in flight
    try:
        for time, event in enumerate(events):
            line, process, kind, f, _, key = event
            if f not in fs:
                raise _Bad(line, f"unknown operation :{f} (expected one of {', '.join(sorted(fs))})")
            if kind == "invoke":
                if process in pending:
                    earlier = pending[process][0].line
                    raise _Bad(line, f"process {process} invokes again before its line {earlier} completed")
                draft: list[Any] = [event, None, time, None]
                pending[process] = draft
                drafts.append(draft)
                continue
            if kind not in _COMPLETIONS:
                raise _Bad(line, f"unknown event type :{kind}")
            in_flight = pending.pop(process, None)
            if in_flight is None:
                raise _Bad(line, f"process {process} completes :{f} but invoked nothing")
            invocation = in_flight[0]
            if invocation.f != f:
                raise _Bad(line, f"completion :{f} does not match :{invocation.f} invoked at line {invocation.line}")
            if key is not None and key != invocation.key:
                raise _Bad(line, f"completion for key {_show(key)} does not match key "
                                 f"{_show(invocation.key)} invoked at line {invocation.line}")
            in_flight[1] = event
            in_flight[3] = time
        operations: list[Operation] = []
        for index, (invocation, completion, invoke, complete) in enumerate(drafts):
            call, result, outcome = convert(invocation, completion)
            operations.append(Operation(index, invocation.process, call, result if outcome is Outcome.OK else None,
                                        invoke, None if outcome is Outcome.INFO else complete, outcome,
                                        invocation.line))
    except _Bad as bad:
        raise HistoryError(path, bad.line, bad.message) from None
    return History(tuple(operations), {"source": os.fspath(path)})


def _pair_rows(path: str | os.PathLike[str], rows: list[tuple[int, Hashable, str, str, Any, Any]], kind: str
               ) -> History | None:
    """:func:`_pair` and its converter in one pass, for rows of well-formed events: the same
    History, or None at the first thing out of the ordinary (an error, a cas without two values,
    ...), so that the careful path reads the file again and words the error as it always has.

    ``rows`` are (line, process, type, f, value, key); ``kind`` is ``"kv"``, ``"register"`` (Jepsen
    EDN) or ``"etcd"`` (``:fail :cas`` an observed failure).
    """
    ops: list[Operation | None] = []
    pending: dict[Hashable, tuple[int, int, str, Any, Any, int]] = {}  # process -> its invocation
    fs = _KV_FS if kind == "kv" else _REGISTER_FS
    observed = kind == "etcd"
    ok, fail, info = Outcome.OK, Outcome.FAIL, Outcome.INFO
    outcomes = {"ok": ok, "fail": fail, "info": info}
    for time, (line, process, type_, f, value, key) in enumerate(rows):
        if type_ == "invoke":
            if process in pending or f not in fs:
                return None
            pending[process] = (len(ops), line, f, value, key, time)
            ops.append(None)
            continue
        invocation = pending.pop(process, None)
        outcome = outcomes.get(type_)
        if invocation is None or outcome is None:
            return None
        index, invoked_at, invoked_f, argument, invoked_key, invoked = invocation
        if f != invoked_f or (key is not None and key != invoked_key):
            return None
        made = _made(kind, observed, invoked_f, argument, invoked_key, value, outcome)
        if made is None:
            return None
        call, result, outcome = made
        ops[index] = make_operation(index, process, call, result, invoked, None if outcome is info else time,
                                    outcome, invoked_at)
    for process, (index, invoked_at, f, argument, key, invoked) in pending.items():  # never completed
        made = _made(kind, observed, f, argument, key, None, info)
        if made is None:
            return None
        ops[index] = make_operation(index, process, made[0], None, invoked, None, info, invoked_at)
    return History(tuple(ops), {"source": os.fspath(path)})  # type: ignore[arg-type]


def _made(kind: str, observed: bool, f: str, argument: Any, key: Any, value: Any, outcome: Outcome
          ) -> tuple[Any, Any, Outcome] | None:
    """What the converters make of an invocation of ``f`` and its completion's ``value`` and
    ``outcome``: (call, result if OK else None, outcome), or None where they would refuse it."""
    if kind == "kv":
        if key is None:
            return None
        if f == "get":
            if outcome is Outcome.OK and type(value) is not str:
                return None
            return ("get", key), value if outcome is Outcome.OK else None, outcome
        if type(argument) is not str:
            return None
        return (f, key, argument), None, outcome
    if f == "read":
        return ("read",), value if outcome is Outcome.OK else None, outcome
    if f == "write":
        return ("write", argument), None, outcome
    if type(argument) is not tuple or len(argument) != 2:
        return None
    if outcome is Outcome.FAIL and observed:
        return ("cas", argument[0], argument[1]), False, Outcome.OK
    return ("cas", argument[0], argument[1]), True if outcome is Outcome.OK else None, outcome


def _outcome(completion: _Event | None) -> Outcome:
    if completion is None or completion.type == "info":
        return Outcome.INFO
    return Outcome.OK if completion.type == "ok" else Outcome.FAIL


def _cas_arguments(event: _Event) -> tuple[Any, Any]:
    value = event.value
    if not isinstance(value, tuple) or len(value) != 2:
        raise _Bad(event.line, f"a cas needs [expected new], got {_show(value)}")
    return value[0], value[1]


def _show(value: Any) -> str:
    return "nil" if value is None else str(value) if isinstance(value, Keyword | Symbol) else repr(value)


def _register_converter(fail_is_observed: bool) -> _Convert:
    """read/write/cas events to cas_register calls; ``fail_is_observed``: Porcupine's etcd reading."""

    def convert(invocation: _Event, completion: _Event | None) -> tuple[Any, Any, Outcome]:
        outcome = _outcome(completion)
        f = invocation.f
        if f == "read":
            result = completion.value if completion is not None else None
            return ("read",), result, outcome
        if f == "write":
            return ("write", invocation.value), None, outcome
        expected, new = _cas_arguments(invocation)
        if outcome is Outcome.FAIL and fail_is_observed:
            return ("cas", expected, new), False, Outcome.OK
        return ("cas", expected, new), outcome is Outcome.OK, outcome

    return convert


def _value(line: int, value: Any) -> Any:
    """An event's value as the checker compares it: booleans and floats keep their type
    (:class:`Literal`); anything but nil, numbers, booleans, strings and vectors of them is refused
    (a set, map or symbol has no meaning as a register's value, and no faithful JSON form)."""
    if value is None or (isinstance(value, (int, str)) and not isinstance(value, bool)):
        return value
    if isinstance(value, (bool, float)):
        return Literal.of(value)
    if isinstance(value, tuple):
        return tuple(_value(line, item) for item in value)
    raise _Bad(line, f"unsupported value {_show(value)}: a history's values are nil, numbers, booleans, "
                     "strings and vectors of them")


def _process(line: int, process: Any) -> Hashable:
    if isinstance(process, (int, str)) and not isinstance(process, bool):
        return process
    if isinstance(process, Keyword):
        return str(process)
    raise _Bad(line, f":process must be an integer, a string or a keyword, got {_show(process)}")


def _read_text(path: str | os.PathLike[str]) -> str:
    """The file as text, as :func:`read_text` gives it, in one read and one decode.

    Any file that the checks of :func:`read_text` might refuse (not UTF-8, a line too long, a read
    error) is read again by it, so it words the error, with its line, the same way.
    """
    try:
        data = regular_file(path).read_bytes()
        text = data.decode("utf-8") if lines_fit(data, MAX_LINE) else None
    except (OSError, UnicodeDecodeError):
        text = None
    if text is None:
        return read_text(path, max_line=MAX_LINE)
    return text[1:] if text.startswith(BOM) else text


def _line_of(text: str) -> Callable[[int], int]:
    newlines = [match.start() for match in re.finditer("\n", text)]
    return lambda offset: bisect.bisect_left(newlines, offset) + 1


# --- the formats -----------------------------------------------------------------------------------

_ETCD_LINE = re.compile(r"INFO\s+jepsen\.util\s+-\s+(\S+)\s+:(\S+)\s+:(\S+)\s+(.*\S)\s*")
_REGISTER_FS = frozenset({"read", "write", "cas"})
_KV_FS = frozenset({"get", "put", "append"})


def load_porcupine_etcd(path: str | os.PathLike[str]) -> History:
    """Read a Jepsen etcd log as shipped with Porcupine (``jepsen/etcd_NNN.log``), for :func:`cas_register`.

    Each line is ``INFO  jepsen.util - PROCESS  :TYPE  :F  VALUE`` (tabs or spaces).  ``:fail :cas``
    is a definite failure (result ``False``); ``:fail :read`` timed out and is kept as FAIL (ignored);
    ``:info`` is indeterminate.
    """
    text = _read_text(path)

    def events() -> Iterator[_Event]:  # the careful path
        values: dict[str, Any] = {}
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            match = _ETCD_LINE.fullmatch(line)
            if match is None:
                raise _Bad(number, f"not a jepsen.util log line: {line.strip()[:60]!r}")
            process_text, type_, f, value_text = match.groups()
            value = values.get(value_text, _UNREAD)  # a handful of distinct values, each on many lines
            try:
                process = int(process_text)
                if value is _UNREAD:
                    value = read_value(value_text)
            except ValueError as error:  # int() or EdnError
                raise _Bad(number, f"cannot read {process_text!r} / {value_text!r}: {error}") from None
            if value_text not in values:
                if isinstance(value, Keyword):  # :timed-out and the like: no value was observed
                    value = None
                if len(values) >= 1 << 16:  # all distinct (unique writes): keep memory flat
                    values.clear()
                value = values[value_text] = _value(number, value)
            yield _new_event(_Event, (number, process, type_, f, value, None))

    with paused_gc():
        rows = _etcd_rows(text)
        history = _pair_rows(path, rows, "etcd") if rows is not None else None
        return history or _pair(path, events(), _register_converter(fail_is_observed=True), _REGISTER_FS)


def _etcd_rows(text: str) -> list[tuple[int, Hashable, str, str, Any, Any]] | None:
    """The events of an etcd log as :func:`_pair_rows` takes them; None for anything out of the
    ordinary (the careful path then words it)."""
    rows: list[tuple[int, Hashable, str, str, Any, Any]] = []
    values: dict[str, Any] = {}
    processes: dict[str, int] = {}
    try:
        for number, line in enumerate(text.split("\n"), start=1):
            # Split at white space, the line is what _ETCD_LINE matches, sooner, when it has seven
            # fields (the value, the last, may hold spaces) and the first three are as they must be.
            parts = line.split(None, 6)
            if (len(parts) == 7 and line[:4] == "INFO" and parts[0] == "INFO" and parts[1] == "jepsen.util"
                    and parts[2] == "-" and parts[4][:1] == ":" == parts[5][:1] and parts[4][1:] and parts[5][1:]):
                process_text, type_, f, value_text = parts[3], parts[4][1:], parts[5][1:], parts[6].rstrip()
            else:
                match = _ETCD_LINE.fullmatch(line)
                if match is None:
                    if line.strip():
                        return None
                    continue
                process_text, type_, f, value_text = match.groups()
            process = processes.get(process_text)
            if process is None:
                process = processes[process_text] = int(process_text)
            value = values.get(value_text, _UNREAD)
            if value is _UNREAD:
                value = _read_value(number, value_text)
                if len(values) >= 1 << 16:  # all distinct (unique writes): keep memory flat
                    values.clear()
                values[value_text] = value
            rows.append((number, process, type_, f, value, None))
    except (ValueError, _Bad):  # int(), EdnError, an unsupported value
        return None
    return rows


def _read_value(line: int, text: str) -> Any:
    """An event's value from its text, read as the careful paths read it (a keyword, such as
    ``:timed-out``, as nil); a natural number, or a vector of two, sooner (a log of unique writes
    has a new one on nearly every line).

    >>> _read_value(1, "17"), _read_value(1, "[1 2]"), _read_value(1, ":timed-out"), _read_value(1, "[1 2.5]")
    (17, (1, 2), None, (1, 2.5))
    """
    if text.isdigit() and text.isascii() and len(text) <= 18:
        return int(text)
    if text[:1] == "[" and text[-1:] == "]":
        items = text[1:-1].split(" ")
        if len(items) == 2:
            first, second = items
            if (first.isdigit() and first.isascii() and len(first) <= 18 and second.isdigit()
                    and second.isascii() and len(second) <= 18):
                return (int(first), int(second))
    value = read_value(text)
    if isinstance(value, Keyword):  # :timed-out and the like: no value was observed
        return None
    return _value(line, value)


_TYPE = Keyword("type")
_F = Keyword("f")
_PROCESS = Keyword("process")
_VALUE = Keyword("value")
_KEY = Keyword("key")
_NEMESIS = Keyword("nemesis")


def _edn_events(text: str, *, with_key: bool) -> Iterator[_Event]:
    """The events of an EDN history, the careful way: every record checked in turn."""
    records = flat_records(text)
    if records is None:
        line_of = _line_of(text)
        try:
            records = [(line_of(offset), record) for offset, record in edn_records(text)]
        except EdnError as error:
            raise _Bad(line_of(error.position), f"malformed EDN: {error.message}") from None
    for line, record in records:
        if not isinstance(record, dict):
            raise _Bad(line, f"expected an operation map {{:process ... :type ... :f ...}}, got {_show(record)}")
        process = record.get(_PROCESS)
        if process is _NEMESIS:
            continue  # fault injection, not an operation on the object
        if _PROCESS not in record or _TYPE not in record or _F not in record:
            missing = [str(k) for k in (_PROCESS, _TYPE, _F) if k not in record]
            raise _Bad(line, f"operation map without {', '.join(missing)}")
        type_, f = record[_TYPE], record[_F]
        if type(type_) is not Keyword or type(f) is not Keyword:
            raise _Bad(line, ":type and :f must be keywords")
        key = record.get(_KEY) if with_key else None
        if type(key) is not str and type(key) is not int and key is not None:  # what _value leaves as it is
            key = _value(line, key)
        if type(process) is not int:
            process = _process(line, process)
        value = record.get(_VALUE)
        if type(value) is Keyword:  # :timed-out and the like
            value = None
        elif type(value) is not str and type(value) is not int and value is not None:
            value = _value(line, value)
        yield _new_event(_Event, (line, process, type_.name, f.name, value, key))


_FIELDS = (_PROCESS, _TYPE, _F, _VALUE, _KEY)


def _flat_rows(text: str, *, with_key: bool) -> list[tuple[int, Hashable, str, str, Any, Any]] | None:
    """The events of an EDN history of one flat map per line as :func:`_pair_rows` takes them
    (the records of the ``:nemesis`` process left out), or None if it is not one or anything is out
    of the ordinary (the careful path, :func:`_edn_events`, then reads it)."""
    fields = flat_fields(text, _FIELDS)
    if fields is None:
        return None
    rows: list[tuple[int, Hashable, str, str, Any, Any]] = []
    processes: dict[str, Any] = {}
    names: dict[str, str] = {}  # a keyword's text -> its name
    values: dict[str, Any] = {"": None}
    try:
        for number, (process_text, type_text, f_text, value_text, key_text) in fields:
            process = processes.get(process_text, _UNREAD)
            if process is _UNREAD:
                process = processes[process_text] = _flat_process(number, process_text)
            if process is _NEMESIS:
                continue
            type_, f = names.get(type_text), names.get(f_text)
            if type_ is None or f is None:
                type_, f = _flat_name(names, type_text), _flat_name(names, f_text)
            if value_text[:1] == '"':
                value = value_text[1:-1]
            else:
                value = values.get(value_text, _UNREAD)
                if value is _UNREAD:
                    value = _flat_value(number, values, value_text)
            if not with_key or not key_text:
                key = None
            elif key_text[0] == '"':
                key = key_text[1:-1]
            else:
                key = _value(number, read_value(key_text))
            rows.append((number, process, type_, f, value, key))
    except _Bad:
        return None
    return rows


def _flat_process(line: int, text: str) -> Any:
    """A ``:process`` value's text read (as :func:`_process` has it), or :data:`_NEMESIS`."""
    if not text:
        raise _Bad(line, "no :process")
    process = read_value(text)
    return process if process is _NEMESIS or type(process) is int else _process(line, process)


def _flat_name(names: dict[str, str], text: str) -> str:
    """A keyword's name from its text (kept in ``names``); _Bad if the text is not a keyword."""
    keyword = read_value(text) if text else None
    if type(keyword) is not Keyword:
        raise _Bad(0, "not a keyword")
    names[text] = keyword.name
    return keyword.name


def _flat_value(line: int, values: dict[str, Any], text: str) -> Any:
    """A ``:value``'s text read as :func:`_edn_events` reads it, kept in ``values``."""
    value = _read_value(line, text)
    if len(values) >= 1 << 16:  # all distinct (unique writes): keep memory flat
        values.clear()
        values[""] = None
    values[text] = value
    return value


def _edn_history(path: str | os.PathLike[str], *, with_key: bool, kind: str) -> History:
    """An EDN history, by the fast path when it takes the file, else the careful one."""
    text = _read_text(path)
    rows = _flat_rows(text, with_key=with_key)
    history = _pair_rows(path, rows, kind) if rows is not None else None
    if history is not None:
        return history
    if kind == "kv":
        return _pair(path, _edn_events(text, with_key=True), _convert_kv, _KV_FS)
    return _pair(path, _edn_events(text, with_key=False), _register_converter(fail_is_observed=False), _REGISTER_FS)


def load_jepsen_edn(path: str | os.PathLike[str]) -> History:
    """Read a Jepsen/Knossos register history in EDN, for :func:`register` or :func:`cas_register`.

    Records are maps such as ``{:process 0, :type :invoke, :f :cas, :value [1 2]}``, one per line or
    all inside one vector.  ``:f`` is ``:read``, ``:write`` or ``:cas``; ``:fail`` means the operation
    had no effect (Outcome.FAIL); ``:info`` or no completion means indeterminate.  Records of the
    ``:nemesis`` process are skipped.
    """
    with paused_gc():
        return _edn_history(path, with_key=False, kind="register")


def _convert_kv(invocation: _Event, completion: _Event | None) -> tuple[Any, Any, Outcome]:
    outcome = _outcome(completion)
    key = invocation.key
    if key is None:
        raise _Bad(invocation.line, "a kv operation needs a :key")
    if invocation.f == "get":
        result = completion.value if completion is not None else None
        if outcome is Outcome.OK and not isinstance(result, str):
            raise _Bad(completion.line if completion else invocation.line, f"a get returns a string, got {_show(result)}")
        return ("get", key), result, outcome
    if not isinstance(invocation.value, str):
        raise _Bad(invocation.line, f"a {invocation.f} needs a string :value, got {_show(invocation.value)}")
    return (invocation.f, key, invocation.value), None, outcome


def load_porcupine_kv(path: str | os.PathLike[str]) -> History:
    """Read a Porcupine key/value history (``kv/c*.txt``), for :func:`kv` or :func:`kv_single`.

    Records are EDN maps ``{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}``;
    ``:f`` is ``:get``, ``:put`` or ``:append``.
    """
    with paused_gc():
        return _edn_history(path, with_key=True, kind="kv")
