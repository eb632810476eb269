"""Generic models: registers and a key/value store, the objects of the classic test histories.

Calls and results are small hashable values, so histories compare and hash cheaply:

=================  ============================  ====================================================
model              call                          result (of a definite operation)
=================  ============================  ====================================================
register           ``("read",)``                 the value read (``None`` = nil)
                   ``("write", v)``              ``None``
cas_register       the two above, and            ``True`` if it swapped, ``False`` if the value was
                   ``("cas", expected, new)``    not ``expected`` (a definite failure, no effect)
kv, kv_single      ``("get", key)``              the string stored (``""`` if never written)
                   ``("put", key, value)``       ``None``
                   ``("append", key, value)``    ``None``
=================  ============================  ====================================================

An INFO operation's result is ignored (it is unknown).  A register's state is a 1-tuple ``(value,)``
rather than the bare value because ``step`` returns ``None`` for "impossible": a bare nil register
would be indistinguishable from that.  A key/value store's state is an ``immutables.Map`` from key to
string, which hashes once and shares structure between states.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import immutables

from redlin.history.records import Operation, Outcome
from redlin.search.appends import kv_access
from redlin.search.model import Model
from redlin.search.views import Access, RegisterView, Views

RegisterState = tuple[Hashable]
KvState = immutables.Map[Hashable, str]

_INFO = Outcome.INFO
_OK = Outcome.OK


def _value_text(value: object) -> str:
    return "nil" if value is None else repr(value) if isinstance(value, str) else str(value)


def _call_of(op: Operation) -> Hashable:
    # An INFO operation's effect depends on its call alone (its client has no session here).
    call: Hashable = op.call
    return call


# --- registers -------------------------------------------------------------------------------------


def _register_step(state: RegisterState, op: Operation) -> RegisterState | None:
    call = op.call
    kind = call[0]
    if kind == "read":
        if op.outcome is _INFO or state[0] == op.result:
            return state
        return None
    if kind == "write":
        return (call[1],)
    if kind == "cas":
        if op.outcome is _INFO:
            return (call[2],) if state[0] == call[1] else state
        if op.result:
            return (call[2],) if state[0] == call[1] else None
        return None if state[0] == call[1] else state
    raise ValueError(f"operation {op.id}: unknown register call {call!r}")


def _describe_register_op(op: Operation) -> str:
    call = op.call
    kind = call[0]
    if kind == "read":
        text = "read"
        if op.definite:
            text += f" {_value_text(op.result)}"
    elif kind == "write":
        text = f"write {_value_text(call[1])}"
    else:
        text = f"cas {_value_text(call[1])}->{_value_text(call[2])}"
        if op.definite:
            text += " ok" if op.result else " fail"
    if op.outcome is _INFO:
        text += " ?"
    return text


def _describe_register_state(state: RegisterState) -> str:
    return _value_text(state[0])


def _register_impossible(initial: Hashable) -> Callable[[Sequence[Operation]], Operation | None]:
    """Pre-check: a definite read (or successful cas) of a value neither initial nor ever written."""

    def find(ops: Sequence[Operation]) -> Operation | None:
        written: set[Hashable] = {initial}
        for op in ops:
            call = op.call
            if call[0] == "write":
                written.add(call[1])
            elif call[0] == "cas" and (op.result or op.outcome is not _OK):
                written.add(call[2])
        for op in ops:
            if op.outcome is not _OK:  # (op.definite, without a property's call)
                continue
            call = op.call
            if (call[0] == "read" and op.result not in written) or (
                call[0] == "cas" and op.result and call[1] not in written
            ):
                return op
        return None

    return find


def _register_read_only(op: Operation) -> bool:
    # A definite failed cas changes nothing either; an INFO one might have swapped.
    kind = op.call[0]
    return kind == "read" or (kind == "cas" and op.outcome is Outcome.OK and not op.result)


def _register_access(op: Operation) -> Access | None:
    # The register fast path's view: reads and writes (a cas leaves the part to the search).
    call = op.call
    if call[0] == "write" and len(call) == 2:
        return True, None, call[1]
    if call[0] == "read" and len(call) == 1:
        return False, None, op.result
    return None


def _register_initial(model: Model[Any]) -> Hashable:
    state: tuple[Hashable] = model.init()
    return state[0]


_REGISTER_VIEWS = Views(register=RegisterView(_register_access, _register_initial))


def _register_model(name: str, initial: Hashable) -> Model[RegisterState]:
    initial_state: RegisterState = (initial,)
    return Model(
        name=name,
        init=lambda: initial_state,
        step=_register_step,
        describe_operation=_describe_register_op,
        describe_state=_describe_register_state,
        find_impossible=_register_impossible(initial),
        read_only=_register_read_only,
        effect=_call_of,
        views=_REGISTER_VIEWS,
    )


def register(initial: Hashable = None) -> Model[RegisterState]:
    """A read/write register holding one value, ``initial`` (nil) to start with.

    Calls ``("read",)`` (result: the value) and ``("write", v)`` (result ``None``).
    """
    return _register_model("register", initial)


def cas_register(initial: Hashable = None) -> Model[RegisterState]:
    """A compare-and-set register with etcd's semantics (Porcupine's ``etcd`` test model).

    Starts as ``initial`` (nil).  ``("read",)`` observes the value; ``("write", v)`` always succeeds;
    ``("cas", expected, new)`` with result ``True`` means the value was ``expected`` and became
    ``new``, with result ``False`` that the value was not ``expected`` (nothing changed).  An INFO cas
    may have swapped (if the value was ``expected`` when it took effect) or never happened.
    """
    return _register_model("cas-register", initial)


# --- key/value store -------------------------------------------------------------------------------


def _kv_init() -> KvState:
    return immutables.Map()


def _kv_step(state: KvState, op: Operation) -> KvState | None:
    call = op.call
    kind = call[0]
    if kind == "get":
        if op.outcome is _INFO or state.get(call[1], "") == op.result:
            return state
        return None
    if kind == "put":
        return state.set(call[1], call[2])
    if kind == "append":
        key = call[1]
        return state.set(key, state.get(key, "") + call[2])
    raise ValueError(f"operation {op.id}: unknown kv call {call!r}")


def _describe_kv_op(op: Operation) -> str:
    call = op.call
    if call[0] == "get":
        text = f"get {call[1]!r}"
        if op.definite:
            text += f" -> {op.result!r}"
    else:
        text = f"{call[0]} {call[1]!r} {call[2]!r}"
    if op.outcome is _INFO:
        text += " ?"
    return text


def _describe_kv_state(state: KvState) -> str:
    items = sorted(state.items(), key=lambda item: repr(item[0]))
    return "{" + ", ".join(f"{key!r}: {value!r}" for key, value in items) + "}"


def _kv_impossible(ops: Sequence[Operation]) -> Operation | None:
    """A definite get whose string no sequence of this key's puts and appends can build.

    Any reachable string is ``""``, a put value, or ends with an appended value.
    """
    puts: dict[Hashable, set[str]] = {}
    appends: dict[Hashable, set[str]] = {}
    for op in ops:
        call = op.call
        if call[0] == "put":
            puts.setdefault(call[1], set()).add(call[2])
        elif call[0] == "append":
            appends.setdefault(call[1], set()).add(call[2])
    for op in ops:
        call = op.call
        if call[0] != "get" or not op.definite:
            continue
        value = op.result
        if value == "" or value in puts.get(call[1], ()):
            continue
        if not isinstance(value, str) or not any(value.endswith(tail) for tail in appends.get(call[1], ())):
            return op
    return None


def _kv_read_only(op: Operation) -> bool:
    return bool(op.call[0] == "get")


def _kv_access(op: Operation) -> Access | None:
    # The register fast path's view of one key: gets and puts (an append leaves it to the string's).
    call = op.call
    if call[0] == "put" and len(call) == 3:
        return True, call[1], call[2]
    if call[0] == "get" and len(call) == 2:
        return False, call[1], op.result
    return None


_KV_VIEWS = Views(register=RegisterView(_kv_access, lambda model: ""), appends=kv_access)


def _kv_partition(ops: Sequence[Operation]) -> list[list[Operation]]:
    # One key per operation: :func:`partition_by_keys` without its graph.
    parts: defaultdict[Hashable, list[Operation]] = defaultdict(list)
    for op in ops:
        parts[op.call[1]].append(op)
    return list(parts.values())


def kv() -> Model[KvState]:
    """A key/value store of strings (every key starts as ``""``), checked key by key.

    Calls ``("get", key)`` (result: the string), ``("put", key, value)`` and
    ``("append", key, value)`` (result ``None``).  Keys are independent, so the history is
    partitioned by key (P-compositionality).
    """
    return Model(
        name="kv",
        init=_kv_init,
        step=_kv_step,
        partition=_kv_partition,
        describe_operation=_describe_kv_op,
        describe_state=_describe_kv_state,
        find_impossible=_kv_impossible,
        read_only=_kv_read_only,
        effect=_call_of,
        views=_KV_VIEWS,
    )


def kv_single() -> Model[KvState]:
    """The same store as :func:`kv`, checked as one object (no partitioning).

    Slower by far on many keys, since the search interleaves independent keys; it exists to test
    the search and to compare against peers that do the same.
    """
    return Model(
        name="kv-single",
        init=_kv_init,
        step=_kv_step,
        describe_operation=_describe_kv_op,
        describe_state=_describe_kv_state,
        find_impossible=_kv_impossible,
        read_only=_kv_read_only,
        effect=_call_of,
        views=_KV_VIEWS,
    )
