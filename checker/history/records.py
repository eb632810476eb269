"""Operations and histories: what a concurrent run of a system looked like from its clients.

An *operation* is one thing the system under test executes atomically: one Redis command, one
whole MULTI...EXEC block, one EVAL; or, for the generic models, one register read/write/cas or one
kv get/put/append.  It spans from its invocation (the client sent it) to its completion (the client
got the reply).  Real-time order is the only order a checker may trust: A precedes B iff A completed
before B was invoked (times are the *client's* monotonic clock, never the server's).
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any


class Outcome(enum.Enum):
    """How an operation ended, as its client saw it."""

    OK = "ok"
    """A reply arrived: the operation took effect exactly once, between invocation and completion."""
    FAIL = "fail"
    """It definitely had no effect (e.g. the connection was refused before anything was sent)."""
    INFO = "info"
    """Indeterminate: sent, but no reply (timeout, lost connection).  It may have taken effect at any
    time after its invocation, or never; its client's session ends with it."""


_OK = Outcome.OK
"""Hot loops test outcomes through module constants like this one: on Python 3.11 an enum member
read as ``Outcome.OK`` goes through the enum metaclass's ``__getattr__`` hook, at 75 ns against 5 ns
for a global (CPython gh-93910; 3.12 drops the hook), once per operation of a million-operation history."""


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of a history.

    ``call`` and ``result`` are model-specific hashable values: ``("write", 3)`` / ``None`` for a
    register, ``(("INCR", "x"),)`` / ``(5,)`` for Redis.  ``complete`` is ``None`` for an INFO
    operation (its completion is taken as +infinity).  ``result`` is meaningless unless the outcome
    is OK.
    """

    id: int
    client: Hashable
    call: Any
    result: Any
    invoke: int
    complete: int | None
    outcome: Outcome = Outcome.OK
    line: int | None = None
    """Where the operation was read from (1-based line of its invocation), for error messages."""
    ends_session: bool = True
    """For an INFO operation: whether its client's connection ended with it.  True for a timeout or
    a lost connection as recorded (the client went on under a new id); False for an operation the
    minimiser weakened, whose client carried on in the same session (WATCH, MULTI, SELECT...)."""

    @property
    def definite(self) -> bool:
        return self.outcome is _OK


_new = object.__new__
_FIELDS = ("id", "client", "call", "result", "invoke", "complete", "outcome", "line", "ends_session")
if tuple(Operation.__slots__) != _FIELDS:  # a field added or moved: make_operation must follow
    raise ImportError(f"Operation's fields {Operation.__slots__} are not make_operation's {_FIELDS}")
_SET_ID, _SET_CLIENT, _SET_CALL, _SET_RESULT, _SET_INVOKE, _SET_COMPLETE, _SET_OUTCOME, _SET_LINE, _SET_ENDS = (
    getattr(Operation, name).__set__ for name in _FIELDS)


def make_operation(id: int, client: Hashable, call: Any, result: Any, invoke: int, complete: int | None,
                   outcome: Outcome, line: int | None) -> Operation:
    """``Operation(id, client, call, result, invoke, complete, outcome, line)``, in half the time.

    A frozen dataclass sets each field through ``object.__setattr__``; the loaders make one
    operation per line pair, so they set the slots directly instead.  Same object, same fields
    (``ends_session`` its default).

    >>> make_operation(0, 1, ("read",), 3, 5, 9, Outcome.OK, 2) == Operation(0, 1, ("read",), 3, 5, 9, Outcome.OK, 2)
    True
    """
    op = _new(Operation)
    _SET_ID(op, id)
    _SET_CLIENT(op, client)
    _SET_CALL(op, call)
    _SET_RESULT(op, result)
    _SET_INVOKE(op, invoke)
    _SET_COMPLETE(op, complete)
    _SET_OUTCOME(op, outcome)
    _SET_LINE(op, line)
    _SET_ENDS(op, True)
    return op


@dataclass(frozen=True, slots=True)
class History:
    """An ordered collection of operations (ids are their indexes) plus free-form metadata."""

    operations: tuple[Operation, ...]
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __len__(self) -> int:
        return len(self.operations)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations)

    def __getitem__(self, index: int) -> Operation:
        return self.operations[index]


@dataclass(frozen=True, slots=True)
class Literal:
    """A value whose type Python's equality would forget: a boolean or a floating-point number.

    In a history, ``true``, ``1`` and ``1.0`` are three different values, but as Python objects
    ``True == 1 == 1.0``: a register written ``true`` would read back as ``1`` without complaint.
    Importers wrap booleans and floats in a ``Literal`` (equal only to the same literal), so the
    checker compares values as the recording tool wrote them.

    >>> Literal.of(True) == Literal.of(True), Literal.of(True) == 1, Literal.of(1.0) == Literal.of(1)
    (True, False, False)
    >>> Literal.of(2.5)
    2.5
    """

    text: str

    @staticmethod
    def of(value: Any) -> Any:
        """``value`` with its booleans and floats (also inside tuples) wrapped; others unchanged."""
        if isinstance(value, bool):
            return Literal("true" if value else "false")
        if isinstance(value, float):
            return Literal(repr(value))
        if isinstance(value, tuple):
            return tuple(Literal.of(item) for item in value)
        return value

    def __repr__(self) -> str:
        return self.text
