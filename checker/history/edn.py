"""A minimal EDN reader, for the histories Jepsen, Knossos and Porcupine write.

The EDN reader here is small on purpose: these logs use maps, vectors, keywords, strings, numbers and
nil, and the PyPI EDN libraries would add a parser-generator dependency (and their own error types)
for far more syntax than Jepsen writes.  Tagged literals (``#inst``, ``#jepsen.history.Op{...}``) are
read as their untagged value.

Logs of many lines are read in two ways that give the same records: a file whose every line is one
flat map (:func:`flat_records`, the common case, about five times faster) or any EDN at all
(:func:`edn_records`, which also words every error).

>>> edn_records('{:f :read}\\n{:f :write, :value 3}')
[(0, {Keyword('f'): Keyword('read')}), (11, {Keyword('f'): Keyword('write'), Keyword('value'): 3})]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

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


def edn_records(text: str) -> list[tuple[int, Any]]:
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


# --- the common case, faster: one flat map per line --------------------------------------------------
# Jepsen and Porcupine write one map per line, of keywords to nil, booleans, integers, keywords,
# strings without escapes and vectors of them, every line laid out alike.  The first line of each
# layout is checked against the grammar of such maps (_FLAT_MAP) and becomes a template: the same
# text with each value a group.  The lines that fit a template take one match each, and each value
# text is read once (_FlatValues) after it too is checked against the grammar.  A line that fits
# none of this sends the whole file to the full reader above, so what is read, and every error,
# stays the full reader's.

_FLAT_SCALAR = r'(?:nil|true|false|:[\w*+!?$%&=<>/.-]+|-?\d{1,18}|"[^"\\\n]*")'
_FLAT_VALUE = rf"(?:{_FLAT_SCALAR}|\[[\s,]*(?:{_FLAT_SCALAR}(?:[\s,]+{_FLAT_SCALAR})*)?[\s,]*\])"
_FLAT_ENTRY = rf":([\w*+!?$%&=<>/.-]+)[\s,]+({_FLAT_VALUE})"
_FLAT_MAP = re.compile(rf"[\s,]*\{{[\s,]*(?:{_FLAT_ENTRY}(?:[\s,]+{_FLAT_ENTRY})*)?[\s,]*\}}[\s,]*")
_FLAT_ENTRIES = re.compile(_FLAT_ENTRY)
_FLAT_SCALARS = re.compile(_FLAT_SCALAR)
_FLAT_VALUE_TEXT = re.compile(_FLAT_VALUE)
# In a template, a value's text: only a flat value matches, so a line that fits a template holds
# nothing the full reader would read otherwise, values it is not asked for included.
_TEMPLATE_VALUE = f"({_FLAT_VALUE})"
_BLANK = re.compile(r"[\s,]*")
_MAX_TEMPLATES = 16
T = TypeVar("T")
_MAX_VALUES = 1 << 16


class _NotFlat(Exception):
    """A value outside the flat grammar: the file goes to the full reader."""


class _FlatValues(dict[str, Any]):
    """Values by their text, each checked and read once: keywords and numbers repeat on every line."""

    def __missing__(self, text: str) -> Any:
        if text[0] == '"':
            value = text[1:-1]
        elif _FLAT_VALUE_TEXT.fullmatch(text):
            value = _flat_value(text)
        else:
            raise _NotFlat(text)
        if len(self) >= _MAX_VALUES:  # unique strings would fill it; a completion repeats its invocation's soon
            self.clear()
        self[text] = value
        return value


def _flat_value(text: str) -> Any:
    """A value of a flat map (its text matched ``_FLAT_VALUE``), as the full reader reads it."""
    if text[0] != "[":
        return text[1:-1] if text[0] == '"' else _atom(text, 0)
    return tuple(item[1:-1] if item[0] == '"' else _atom(item, 0) for item in _FLAT_SCALARS.findall(text[1:-1]))


def read_value(text: str) -> Any:
    """:func:`read_edn`, sooner for a flat value (a scalar, or a vector of scalars, as in a flat map).

    >>> read_value("[1 nil]"), read_value("1.5")
    ((1, None), 1.5)
    """
    return _flat_value(text) if _FLAT_VALUE_TEXT.fullmatch(text) else read_edn(text)


def _template(line: str) -> tuple[re.Pattern[str], tuple[Keyword, ...]] | None:
    """A flat map's line as a template (values made groups) and its keys; None if not a flat map."""
    if _FLAT_MAP.fullmatch(line) is None:
        return None
    pattern, keys, at = [], [], 0
    for entry in _FLAT_ENTRIES.finditer(line):
        keys.append(Keyword(entry.group(1)))
        pattern += [re.escape(line[at:entry.start(2)]), _TEMPLATE_VALUE]
        at = entry.end(2)
    pattern.append(re.escape(line[at:]) + "()")  # and an empty group: what a missing key reads as
    return re.compile("".join(pattern)), tuple(keys)


def _flat_lines(text: str, prepare: Callable[[tuple[Keyword, ...]], T]) -> Iterator[tuple[int, re.Match[str], T]]:
    """Each non-blank line of ``text`` with its number, its match, and what ``prepare`` made of the
    keys of the template that matched it (once a template: the templates made so far are tried
    first); :class:`_NotFlat` at the first line that is not one flat map."""
    templates: list[tuple[re.Pattern[str], T]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        for made in templates:
            match = made[0].fullmatch(line)
            if match is not None:
                break
        else:
            if _BLANK.fullmatch(line) is not None:
                continue
            fresh = _template(line)
            match = None if fresh is None else fresh[0].fullmatch(line)
            if fresh is None or match is None:  # (a line always matches its own template, but never misread)
                raise _NotFlat(line)
            made = (fresh[0], prepare(fresh[1]))
            if len(templates) < _MAX_TEMPLATES:
                templates.insert(0, made)
        yield number, match, made[1]


def flat_records(text: str) -> list[tuple[int, dict[Keyword, Any]]] | None:
    """The records of ``text`` with their line numbers if every line is one flat map or blank, else None.

    >>> flat_records('{:process 0, :value [1 nil]}\\n\\n{:f :read}')
    [(1, {Keyword('process'): 0, Keyword('value'): (1, None)}), (3, {Keyword('f'): Keyword('read')})]
    >>> flat_records('{:value "a\\\\"b"}') is None  # an escape: the full reader reads it
    True
    """
    value_of = _FlatValues().__getitem__
    lines = _flat_lines(text, lambda keys: keys)
    try:
        return [(number, dict(zip(keys, map(value_of, match.groups())))) for number, match, keys in lines]
    except _NotFlat:
        return None


def flat_fields(text: str, wanted: tuple[Keyword, ...]) -> list[tuple[int, tuple[str, ...]]] | None:
    """The lines of ``text`` that hold a flat map, each as its number and the texts of the ``wanted``
    keys' values (the last one of a key given twice; ``""`` for a key the map does not have), if
    every line is one flat map or blank, else None: :func:`flat_records`, for a reader that needs
    a few keys of each map, as text (``wanted`` names two keys or more).

    >>> flat_fields('{:f :read, :value [1 nil]}\\n\\n{:f :write}', (Keyword("f"), Keyword("value")))
    [(1, (':read', '[1 nil]')), (3, (':write', ''))]
    """

    def groups(keys: tuple[Keyword, ...]) -> tuple[int, ...]:  # a template's groups of the wanted keys
        last = {key: group for group, key in enumerate(keys, start=1)}
        return tuple(last.get(key, len(keys) + 1) for key in wanted)

    try:
        return [(number, match.group(*picked)) for number, match, picked in _flat_lines(text, groups)]
    except _NotFlat:
        return None
