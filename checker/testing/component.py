"""A user's Redis component, declared as operations: what redlin runs concurrently and checks.

A :class:`Component` is a name, the keys its operations touch, an optional ``setup`` that runs
alone before the clients start, and its operations.  An operation is a Python function over a
redis-py client (``fn(r, **arguments)``), a Lua script (:meth:`Component.script`) or a MULTI/EXEC
block (:meth:`Component.transaction`), with a Hypothesis strategy for each argument.  The
specification of an operation is the same function run alone on redlin's model
(:mod:`redlin.testing.model_client`): the question redlin answers is *does every concurrent run
behave as if each call ran atomically, one at a time, in an order that respects real time?*

Functions must be deterministic given the replies they get, return values built from the usual
Python types (bytes, str, numbers, None, bool, lists, tuples, dicts, sets), and leave their
connections clean (redis-py's pipelines UNWATCH on reset).  Argument values must be hashable.

>>> from hypothesis import strategies as st
>>> counter = Component("counter", keys=["hits"])
>>> @counter.operation(by=st.integers(1, 3))
... def add(r, by):
...     return r.incrby("hits", by)
>>> counter.names(), Call("add", (("by", 2),)).describe()
(('add',), 'add(by=2)')
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hypothesis import strategies as st

__all__ = ["Call", "Component", "ConcurrentProgram", "UserOperation", "canonical"]

F = TypeVar("F", bound=Callable[..., Any])

SETUP = "<setup>"
"""The name of the setup call in a history."""


@dataclass(frozen=True, slots=True)
class UserOperation:
    """One declared operation: ``function(r, **arguments)``, its arguments' strategies, its weight."""

    name: str
    function: Callable[..., Any]
    arguments: Mapping[str, st.SearchStrategy[Any]]
    weight: int = 1
    spec: Callable[..., Any] | None = None
    """A reference implementation to check ``function`` against (``function`` itself if ``None``)."""


@dataclass(frozen=True, slots=True)
class Call:
    """A call of an operation with its arguments (as sorted ``(name, value)`` pairs: hashable)."""

    name: str
    arguments: tuple[tuple[str, Hashable], ...] = ()

    def describe(self) -> str:
        if self.name == SETUP:
            return "setup"
        return f"{self.name}({', '.join(f'{key}={value!r}' for key, value in self.arguments)})"


@dataclass(frozen=True, slots=True)
class ConcurrentProgram:
    """What each client calls, in order; the clients run at the same time."""

    clients: tuple[tuple[Call, ...], ...]

    @property
    def size(self) -> int:
        return sum(len(calls) for calls in self.clients)

    def describe(self) -> str:
        """One line per client that calls something.

        >>> ConcurrentProgram(((Call("get"),), (), (Call("put", (("v", 1),)),))).describe()
        'client 0: get()\\nclient 2: put(v=1)'
        """
        return "\n".join(f"client {index}: {'; '.join(call.describe() for call in calls)}"
                         for index, calls in enumerate(self.clients) if calls)


@dataclass
class Component:
    """A component under test: ``name``, the ``keys`` its operations touch (deleted before every run),
    its operations and an optional setup.

    ``decode_responses`` is passed to the clients its functions get (the real one and the model's).
    """

    name: str
    keys: Sequence[str] = ()
    decode_responses: bool = False
    operations: dict[str, UserOperation] = field(default_factory=dict)
    setup_function: Callable[[Any], Any] | None = None

    def operation(self, function: F | None = None, /, *, name: str | None = None, weight: int = 1,
                  spec: Callable[..., Any] | None = None, **arguments: st.SearchStrategy[Any]) -> Any:
        """Declare ``function(r, **arguments)`` as an operation (a decorator, with or without
        arguments); each keyword names a Hypothesis strategy for that argument.  ``spec`` is a
        reference implementation with the same signature: the calls are then checked against it,
        run alone on the model, instead of against ``function`` itself."""

        def declare(fn: F) -> F:
            self.add(name or fn.__name__, fn, weight=weight, spec=spec, **arguments)
            return fn

        return declare if function is None else declare(function)

    def add(self, name: str, function: Callable[..., Any], *, weight: int = 1,
            spec: Callable[..., Any] | None = None, **arguments: st.SearchStrategy[Any]) -> None:
        """Declare an operation without a decorator (``spec``: see :meth:`operation`)."""
        self._declare(name, function, weight, spec, arguments)

    def _declare(self, name: str, function: Callable[..., Any], weight: int, spec: Callable[..., Any] | None,
                 arguments: Mapping[str, st.SearchStrategy[Any]]) -> None:
        if name in self.operations or name == SETUP:
            raise ValueError(f"component {self.name!r} already has an operation named {name!r}")
        if weight < 1:
            raise ValueError(f"operation {name!r}: weight must be at least 1, not {weight}")
        self.operations[name] = UserOperation(name, function, dict(arguments), weight, spec)

    def script(self, name: str, source: str, *, keys: Sequence[str], weight: int = 1,
               **arguments: st.SearchStrategy[Any]) -> None:
        """Declare a Lua script as an operation: ``EVALSHA`` (loading it when the server lacks it)
        with ``keys`` as KEYS and the drawn arguments, in the order given, as ARGV."""
        names = tuple(arguments)

        def run_script(r: Any, **values: Any) -> Any:
            return r.register_script(source)(keys=list(keys), args=[values[key] for key in names])

        self._declare(name, run_script, weight, None, arguments)

    def transaction(self, name: str, queue: Callable[..., Any], *, weight: int = 1,
                    **arguments: st.SearchStrategy[Any]) -> None:
        """Declare a MULTI/EXEC block as an operation: ``queue(pipe, **arguments)`` queues its
        commands on a transactional pipeline; the operation returns EXEC's replies."""

        def run_transaction(r: Any, **values: Any) -> Any:
            pipe = r.pipeline(transaction=True)
            queue(pipe, **values)
            return pipe.execute(raise_on_error=False)

        self._declare(name, run_transaction, weight, None, arguments)

    def setup(self, function: F) -> F:
        """Declare ``function(r)`` as the setup: it runs alone, after the keys are deleted and before
        the clients start (on the target and in the model alike)."""
        self.setup_function = function
        return function

    def names(self) -> tuple[str, ...]:
        return tuple(self.operations)

    def function(self, name: str) -> Callable[..., Any]:
        """What a call of ``name`` runs on the target."""
        if name == SETUP:
            if self.setup_function is None:
                raise KeyError(f"component {self.name!r} has no setup")
            return self.setup_function
        return self.operations[name].function

    def specification(self, name: str) -> Callable[..., Any]:
        """What a call of ``name`` is checked against, run alone on the model."""
        if name == SETUP:
            return self.function(name)
        operation = self.operations[name]
        return operation.function if operation.spec is None else operation.spec

    def calls(self) -> st.SearchStrategy[Call]:
        """One call of one of the operations (weighted), with drawn arguments.  Hypothesis shrinks
        towards the first declared operation and each argument's simplest value."""
        if not self.operations:
            raise ValueError(f"component {self.name!r} declares no operations")
        choices = [op for op in self.operations.values() for _ in range(op.weight)]
        # Lambdas rather than named functions in map: Hypothesis then prints a failing program by
        # its value's repr (Call(name='incr', ...)), not as the calls that built it.
        return st.sampled_from(choices).flatmap(
            lambda op: st.fixed_dictionaries(dict(op.arguments)).map(
                lambda values: Call(op.name, tuple(sorted(values.items())))))

    def programs(self, *, clients: int = 2, steps: int = 3) -> st.SearchStrategy[ConcurrentProgram]:
        """Up to ``steps`` calls for each of ``clients`` clients."""
        if clients < 1 or steps < 1:
            raise ValueError("clients and steps must be at least 1")
        per_client = st.lists(self.calls(), max_size=steps).map(lambda calls: tuple(calls))
        return st.tuples(*[per_client] * clients).map(lambda lists: ConcurrentProgram(lists))


def canonical(value: Any) -> Hashable:
    """A hashable, comparable form of what a function returned (or raised).

    >>> canonical({"b": [1, 2], "a": {3}})
    (('a', (3,)), ('b', (1, 2)))
    >>> canonical(ValueError("no"))
    ('raised', 'ValueError', 'no')
    """
    if isinstance(value, BaseException):
        return ("raised", type(value).__name__, str(value))
    if isinstance(value, dict):
        return tuple(sorted(((canonical(k), canonical(v)) for k, v in value.items()), key=repr))
    if isinstance(value, set | frozenset):
        return tuple(sorted((canonical(item) for item in value), key=repr))
    if isinstance(value, list | tuple):
        return tuple(canonical(item) for item in value)
    if isinstance(value, Hashable):
        return value
    return repr(value)
