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

The EDN reader here is small on purpose: these logs use maps, vectors, keywords, strings, numbers and
nil, and the PyPI EDN libraries would add a parser-generator dependency (and their own error types)
for far more syntax than Jepsen writes.  Tagged literals (``#inst``, ``#jepsen.history.Op{...}``) are
read as their untagged value.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any

from redlin.errors import HistoryError
from redlin.history.records import History, Literal, Operation, Outcome
from redlin.history.source import read_text

# --- a minimal EDN reader --------------------------------------------------------------------------


class Keyword:
    """An EDN keyword, ``:name``.  Interned: ``Keyword("read") is Keyword("read")``, so keywords
    compare and hash by identity, as fast as the builtins (histories are full of them)."""

    __slots__ = ("name",)
    _interned: dict[str, Keyword] = {}
    name: str

    def __new__(cls, name: str) -> Keyword:
        keyword = cls._interned.get(name)
        if keyword is None:
            keyword = super().__new__(cls)
            object.__setattr__(keyword, "name", name)
            cls._interned[name] = keyword
        return keyword

    def __setattr__(self, attribute: str, value: object) -> None:
        raise AttributeError("Keyword is immutable")

    def __reduce__(self) -> tuple[type[Keyword], tuple[str]]:
        return (Keyword, (self.name,))

    def __repr__(self) -> str:
        return f"Keyword({self.name!r})"

    def __str__(self) -> str:
        return ":" + self.name


@dataclass(frozen=True, slots=True)
class Symbol:
    """An EDN symbol other than ``nil``, ``true`` and ``false``."""

    name: str

    def __str__(self) -> str:
        return self.name


class EdnError(ValueError):
    """Malformed EDN at character offset ``position`` of the text being read."""

    def __init__(self, position: int, message: str) -> None:
        super().__init__(message)
        self.position = position
        self.message = message


_TOKEN = re.compile(
    r"""
      (?P<skip>(?:[\s,]+|;[^\n]*)+)
    | (?P<string>"[^"\\]*(?:\\.[^"\\]*)*")
    | (?P<open>\#\{|[\[({])
    | (?P<close>[\])}])
    | (?P<discard>\#_)
    | (?P<tag>\#[A-Za-z][^\s,;"\[\](){}]*)
    | (?P<atom>[^\s,;"\[\](){}\#][^\s,;"\[\](){}]*)
    | (?P<bad>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_INTEGER = re.compile(r"[+-]?\d+N?")
_FLOAT = re.compile(r"[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?M?")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/"}
_STRING_ESCAPE = re.compile(r"\\(u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)", re.DOTALL)
MAX_DEPTH = 64
"""Collections nest at most this deep in a history (Jepsen's are two or three deep)."""
MAX_LINE = 4 << 20
"""The longest line read, in bytes: Jepsen's and Porcupine's lines are a few hundred."""
_CHARACTERS = {"newline": "\n", "space": " ", "tab": "\t", "return": "\r"}
_CLOSING = {"[": "]", "(": ")", "{": "}", "#{": "}"}
_CONSTANTS: dict[str, Any] = {"nil": None, "true": True, "false": False}
_DISCARD = object()  # marks "drop the next form" (#_) in a collection being read


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if code[0] == "u" and len(code) == 11:  # a surrogate pair: one character
        high, low = int(code[1:5], 16), int(code[7:11], 16)
        return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    if code[0] == "u" and len(code) == 5:
        if 0xD800 <= int(code[1:], 16) <= 0xDFFF:
            raise EdnError(match.start(), f"a lone surrogate \\{code} is not a character")
        return chr(int(code[1:], 16))
    if code in _ESCAPES:
        return _ESCAPES[code]
    raise EdnError(match.start(), f"unknown string escape \\{code}")


def _atom(text: str, position: int) -> Any:
    if text in _CONSTANTS:
        return _CONSTANTS[text]
    if text[0] == ":":
        if len(text) == 1:
            raise EdnError(position, "empty keyword ':'")
        return Keyword(text[1:])
    if text[0] == "\\":
        return _CHARACTERS.get(text[1:], text[1:])
    if _INTEGER.fullmatch(text):
        try:
            return int(text.rstrip("N"))
        except ValueError:  # beyond Python's limit on integer digits
            raise EdnError(position, f"an integer of {len(text)} digits is too long") from None
    if _FLOAT.fullmatch(text):
        return float(text.rstrip("M"))
    if text[0].isdigit() or (text[0] in "+-" and text[1:2].isdigit()):
        raise EdnError(position, f"malformed number {text!r}")
    return Symbol(text)


def _collection(opening: str, start: int, elements: list[Any]) -> Any:
    if opening in "[(":
        return tuple(elements)
    try:
        if opening == "#{":
            return frozenset(elements)
        if len(elements) % 2:
            raise EdnError(start, "a map needs an even number of forms")
        return dict(zip(elements[::2], elements[1::2]))
    except TypeError as error:  # a map or set used as a key
        raise EdnError(start, f"unhashable key or element: {error}") from None


def _read_forms(text: str) -> list[tuple[int, Any, list[int] | None]]:
    """The top-level forms of ``text``: (offset, value, offsets of its elements if a vector/list).

    A token loop with an explicit stack (no recursion, no per-token method calls): vectors and
    lists become tuples, maps dicts, sets frozensets; tags are dropped (``#inst "..."`` reads as the
    string), ``#_`` discards the next form.
    """
    forms: list[tuple[int, Any, list[int] | None]] = []
    # Each open collection: [opening, offset, elements, element offsets (top level only)].
    stack: list[tuple[str, int, list[Any], list[int] | None]] = []
    top_discards = 0
    atoms: dict[str, Any] = {}  # keywords, numbers and nil repeat on every line
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "skip" or kind == "tag":
            continue
        start = match.start()
        token = match.group()
        if kind == "open":
            if len(stack) >= MAX_DEPTH:
                raise EdnError(start, f"collections nested more than {MAX_DEPTH} deep")
            stack.append((token, start, [], [] if not stack else None))
            continue
        if kind == "discard":
            if stack:
                stack[-1][2].append(_DISCARD)
            else:
                top_discards += 1
            continue
        if kind == "atom":
            if token in atoms:
                value = atoms[token]
            else:
                value = atoms[token] = _atom(token, start)
        elif kind == "string":
            if "\\" in token:
                try:
                    value = _STRING_ESCAPE.sub(_unescape, token[1:-1])
                except EdnError as error:  # its position is within the string
                    raise EdnError(start + 1 + error.position, error.message) from None
            else:
                value = token[1:-1]
        elif kind == "close":
            if not stack:
                raise EdnError(start, f"unexpected {token!r}")
            opening, start, elements, starts = stack.pop()
            if _CLOSING[opening] != token:
                raise EdnError(match.start(), f"expected {_CLOSING[opening]!r}, found {token!r}")
            if elements and elements[-1] is _DISCARD:
                raise EdnError(match.start(), "#_ with nothing to discard")
            value = _collection(opening, start, elements)
            if starts is not None:  # a top-level collection: keep where its elements began
                if top_discards:
                    top_discards -= 1
                else:
                    forms.append((start, value, starts if opening in "[(" else None))
                continue
        elif token == '"':
            raise EdnError(start, "unterminated string")
        else:
            raise EdnError(start, f"unexpected character {token!r}")
        if stack:
            elements = stack[-1][2]
            if elements and elements[-1] is _DISCARD:
                elements.pop()
            else:
                elements.append(value)
                starts = stack[-1][3]
                if starts is not None:
                    starts.append(start)
        elif top_discards:
            top_discards -= 1
        else:
            forms.append((start, value, None))
    if stack:
        raise EdnError(stack[-1][1], f"{stack[-1][0]!r} is never closed")
    if top_discards:
        raise EdnError(len(text), "#_ with nothing to discard")
    return forms


def read_edn(text: str) -> Any:
    """Read exactly one EDN form from ``text``.

    >>> read_edn('{:type :ok, :value [1 2]}')
    {Keyword('type'): Keyword('ok'), Keyword('value'): (1, 2)}
    """
    forms = _read_forms(text)
    if len(forms) != 1:
        raise EdnError(forms[1][0] if forms else 0, "expected exactly one form")
    return forms[0][1]


def _edn_records(text: str) -> list[tuple[int, Any]]:
    """The records of an EDN history with their character offsets.

    A history is either a sequence of top-level forms (one map per line) or a single top-level
    vector or list of them; either way each record is reported at its own offset.
    """
    forms = _read_forms(text)
    if len(forms) == 1:
        _, records, starts = forms[0]
        if starts is not None:
            return list(zip(starts, records))
    return [(start, value) for start, value, _ in forms]


# --- from events to operations ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Event:
    line: int
    process: Hashable
    type: str  # "invoke" | "ok" | "fail" | "info"
    f: str
    value: Any
    key: Any = None


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
    pending: dict[Hashable, int] = {}
    try:
        for time, event in enumerate(events):
            if event.f not in fs:
                raise _Bad(event.line, f"unknown operation :{event.f} (expected one of {', '.join(sorted(fs))})")
            if event.type == "invoke":
                if event.process in pending:
                    earlier = drafts[pending[event.process]][0].line
                    raise _Bad(event.line, f"process {event.process} invokes again before its line {earlier} completed")
                pending[event.process] = len(drafts)
                drafts.append([event, None, time, None])
                continue
            if event.type not in ("ok", "fail", "info"):
                raise _Bad(event.line, f"unknown event type :{event.type}")
            index = pending.pop(event.process, None)
            if index is None:
                raise _Bad(event.line, f"process {event.process} completes :{event.f} but invoked nothing")
            draft = drafts[index]
            if draft[0].f != event.f:
                raise _Bad(event.line, f"completion :{event.f} does not match :{draft[0].f} invoked at line {draft[0].line}")
            if event.key is not None and event.key != draft[0].key:
                raise _Bad(event.line, f"completion for key {_show(event.key)} does not match key "
                                       f"{_show(draft[0].key)} invoked at line {draft[0].line}")
            draft[1] = event
            draft[3] = time
        operations: list[Operation] = []
        for invocation, completion, invoke, complete in drafts:
            call, result, outcome = convert(invocation, completion)
            operations.append(
                Operation(
                    id=len(operations),
                    client=invocation.process,
                    call=call,
                    result=result if outcome is Outcome.OK else None,
                    invoke=invoke,
                    complete=None if outcome is Outcome.INFO else complete,
                    outcome=outcome,
                    line=invocation.line,
                )
            )
    except _Bad as bad:
        raise HistoryError(path, bad.line, bad.message) from None
    return History(tuple(operations), {"source": os.fspath(path)})


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
    return read_text(path, max_line=MAX_LINE)


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

    def events() -> Iterator[_Event]:
        values: dict[str, Any] = {}
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            match = _ETCD_LINE.fullmatch(line)
            if match is None:
                raise _Bad(number, f"not a jepsen.util log line: {line.strip()[:60]!r}")
            process_text, type_, f, value_text = match.groups()
            try:
                process = int(process_text)
                if value_text in values:  # a handful of distinct values, each on many lines
                    value = values[value_text]
                else:
                    value = values[value_text] = read_edn(value_text)
            except ValueError as error:  # int() or EdnError
                raise _Bad(number, f"cannot read {process_text!r} / {value_text!r}: {error}") from None
            if isinstance(value, Keyword):  # :timed-out and the like: no value was observed
                value = None
            yield _Event(number, process, type_, f, _value(number, value))

    return _pair(path, events(), _register_converter(fail_is_observed=True), _REGISTER_FS)


_TYPE = Keyword("type")
_F = Keyword("f")
_PROCESS = Keyword("process")
_VALUE = Keyword("value")
_KEY = Keyword("key")
_NEMESIS = Keyword("nemesis")


def _edn_events(path: str | os.PathLike[str], *, with_key: bool) -> Iterator[_Event]:
    text = _read_text(path)
    line_of = _line_of(text)
    try:
        records = _edn_records(text)
    except EdnError as error:
        raise _Bad(line_of(error.position), f"malformed EDN: {error.message}") from None
    for offset, record in records:
        line = line_of(offset)
        if not isinstance(record, dict):
            raise _Bad(line, f"expected an operation map {{:process ... :type ... :f ...}}, got {_show(record)}")
        process = record.get(_PROCESS)
        if process is _NEMESIS:
            continue  # fault injection, not an operation on the object
        missing = [str(k) for k in (_PROCESS, _TYPE, _F) if k not in record]
        if missing:
            raise _Bad(line, f"operation map without {', '.join(missing)}")
        type_, f = record[_TYPE], record[_F]
        if not isinstance(type_, Keyword) or not isinstance(f, Keyword):
            raise _Bad(line, ":type and :f must be keywords")
        value = record.get(_VALUE)
        if isinstance(value, Keyword):  # :timed-out and the like
            value = None
        key = _value(line, record.get(_KEY)) if with_key else None
        yield _Event(line, _process(line, process), type_.name, f.name, _value(line, value), key)


def load_jepsen_edn(path: str | os.PathLike[str]) -> History:
    """Read a Jepsen/Knossos register history in EDN, for :func:`register` or :func:`cas_register`.

    Records are maps such as ``{:process 0, :type :invoke, :f :cas, :value [1 2]}``, one per line or
    all inside one vector.  ``:f`` is ``:read``, ``:write`` or ``:cas``; ``:fail`` means the operation
    had no effect (Outcome.FAIL); ``:info`` or no completion means indeterminate.  Records of the
    ``:nemesis`` process are skipped.
    """
    return _pair(path, _edn_events(path, with_key=False), _register_converter(fail_is_observed=False), _REGISTER_FS)


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
    return _pair(path, _edn_events(path, with_key=True), _convert_kv, _KV_FS)
