"""How the fast paths see a model's operations: the views a :class:`~redlin.search.model.Model`
carries.

The fast paths (:mod:`redlin.search.fastpath`, :mod:`~redlin.search.appends`,
:mod:`~redlin.search.sequences`, :mod:`~redlin.search.counters`) decide parts of a few simple
shapes without a search: one register, one string built by appends, one list used as a queue or
a stack, one counter.  They know nothing of any model's calls.  A model says which of its
operations have such a shape through its :class:`Views`, one function per shape: given an
operation, the read, write, push or increment it is (and of which object), or ``None`` for an
operation of another shape, which leaves the part to the search.  A model without views is
searched (and checked by real time alone, :mod:`redlin.search.forced`).

A view must be exact where the fast path refutes without replaying (the strings', the lists' and
the counters' patterns): see each fast path's module for what it trusts.  Every "yes" is replayed
through the model's own step, so a view that says too little only costs speed.

>>> from redlin.history.records import Operation
>>> view = RegisterView(access=lambda op: (op.call[0] == "write", None, op.call[-1] if op.call[0] == "write" else op.result),
...                     initial=lambda model: None)
>>> Views(register=view).register.access(Operation(0, "a", ("write", 3), None, 0, 1))
(True, None, 3)
>>> Views().lists is None
True
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redlin.history.records import Operation
from redlin.search.appends import AppendAccess
from redlin.search.counters import CounterAccess
from redlin.search.sequences import SequenceAccess

if TYPE_CHECKING:
    from redlin.search.model import Model

__all__ = ["Access", "RegisterView", "Views"]

Access = tuple[bool, Hashable, Hashable]
"""How a register view sees one operation: ``(is_write, object, value)``.  ``object`` names the
register (a key; ``None`` for a lone register), and every operation of a part must name the same
one.  ``value`` is the value written, or the value a definite read returned (ignored for an INFO
read)."""


@dataclass(frozen=True, slots=True)
class RegisterView:
    """Sees a model's operations as register reads and writes.

    ``access(op)`` is the :data:`Access` of ``op``, or ``None`` for an operation that is no plain
    read or write (a cas, an append, a command with options): the fast path then does not apply.
    It must accept INFO operations, whose result is meaningless.  ``initial(model)`` is the value
    a read returns before any write.
    """

    access: Callable[[Operation], Access | None]
    initial: Callable[[Model[Any]], Hashable]


@dataclass(frozen=True, slots=True)
class Views:
    """A model's views, one per fast path; ``None`` where none of its operations has that shape.

    Parameters
    ----------
    register:
        Reads and writes of one register (:func:`~redlin.search.fastpath.decide_register`).
    appends:
        Puts, appends and whole reads of one string (:func:`~redlin.search.appends.decide_appends`
        and :func:`~redlin.search.appends.refute_appends`).
    lists:
        Pushes and pops of one list (:func:`~redlin.search.sequences.decide_sequence` and
        :func:`~redlin.search.sequences.refute_sequence`).
    counters:
        Increments and reads of one counter (:func:`~redlin.search.fastpath.decide_counter`).
    increments:
        The most one of the counter view's increments adds, or ``None`` when its reply need not
        say (:func:`~redlin.search.counters.refute_counter` refutes only with it).
    """

    register: RegisterView | None = None
    appends: Callable[[Operation], AppendAccess | None] | None = None
    lists: Callable[[Operation], SequenceAccess | None] | None = None
    counters: Callable[[Operation], CounterAccess | None] | None = None
    increments: Callable[[Operation], int | None] | None = None
