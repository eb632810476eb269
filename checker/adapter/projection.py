"""The transactional part of a mixed run: its lists and registers, with whatever else touched them left out.

A ``redlin run`` of the ``mixed`` or ``default`` workload sends the list-append and rw-register
families' MULTI/EXEC blocks and scripts among everything else.  Their keys can be checked for
isolation anomalies (:mod:`redlin.cycles`) like a run of those families alone, once the history is
cut down to them: :func:`mixed_transactions` keeps, from each operation, the commands of the
tracked keys that the adapter (:mod:`redlin.adapter.transactions`) can read -- ``RPUSH k v``,
``LRANGE k 0 -1`` and the list-append script on the lists; ``SET k v``, ``GET k`` on the
registers; WATCH and UNWATCH for the read-modify-writes -- and drops the rest.

Dropping is sound: each anomaly is a fact about the operations kept, whose replies are the
server's own, and every inference is made per key.  What would not be sound is keeping a key that
something else changed, so a key is left out whole (in every transaction) when:

- another command that names it may have changed it (a write that succeeded, or that has no reply:
  the mixes' wrong-type steps ``INCR`` and ``SADD`` on a key not created yet, another family's script);
  a command that failed, or only reads (``GET`` of a list, ``LRANGE`` of a register), changed nothing;
- a value was written to it, or an element appended, twice (the checker needs unique ones);
- a pipeline named it (the adapter reads commands one transaction at a time);
- the list-append script that wrote it also wrote a key left out (the script is one transaction:
  it goes whole, and what it appended with it);
- the server restarted without its data (a ``RESTART`` the recorder wrote, :mod:`redlin.adapter.restarts`,
  that came back empty or maybe lost writes) while the key was in use: between its first invocation
  and its last completion.  A key used wholly before a restart, or wholly after, saw none of it.

Keys are compared as sent, with the run's prefix and round, so a key left out in one round stays
in the others.  Commands inside a MULTI block that replied an error did nothing (Redis does not
roll the others back) and are dropped one by one.

>>> from redlin.history.records import History, Operation
>>> from redlin.model import Status
>>> ops = (Operation(0, 1, ((b"RPUSH", b"p:0:l0", b"a"),), (1,), 0, 1),
...        Operation(1, 2, ((b"INCR", b"p:0:x0"),), (1,), 2, 3),
...        Operation(2, 1, ((b"SET", b"p:0:x1", b"v"),), (Status("OK"),), 4, 5))
>>> adapted, left_out = mixed_transactions(History(ops, {"prefix": "p:"}), lists={"l0"}, registers={"x0", "x1"})
>>> [[(m.f, str(m.key)) for m in t.mops] for t in adapted.transactions], left_out
([[('append', 'l0')], [('w', 'x1')]], ('x0 (round 0): INCR wrote it',))
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import replace
from typing import Any, Final

from redlin.adapter.restarts import describe_restart, is_restart_argv
from redlin.adapter.transactions import LIST_APPEND_SCRIPT, KeyNames, transaction_history
from redlin.cycles.transactions import MIXED, TransactionHistory
from redlin.history.records import History, Operation, Outcome
from redlin.model import Error, Status

_OK = Outcome.OK

__all__ = ["mixed_transactions"]

_READ_ONLY: Final = frozenset({b"GET", b"LRANGE", b"SMEMBERS", b"SISMEMBER", b"SMISMEMBER", b"LLEN", b"EXISTS",
                               b"TYPE", b"STRLEN", b"WATCH", b"UNWATCH"})
"""Commands that change no key: naming a tracked key, they are dropped and the key stays."""

_QUEUED: Final = Status("QUEUED")
_NOT_RUN: Final = Error("EXECABORT not run")
_NEVER: Final = float("inf")


def mixed_transactions(history: History, *, lists: Collection[str], registers: Collection[str],
                       source: str = "history") -> tuple[TransactionHistory, tuple[str, ...]]:
    """The transactions of ``history`` on the keys named ``lists`` (list-append) and ``registers``
    (rw-register), names as a workload gives them (without the run's prefix); and the keys left out,
    each with why (``"x0 (round 3): INCR wrote it"``), in the order they were met.

    Raises :class:`~redlin.errors.HistoryError` as :func:`~redlin.adapter.transactions.transaction_history` does.
    """
    prefix = history.meta.get("prefix")
    names = _Names(prefix.encode() if isinstance(prefix, str) else b"", frozenset(lists), frozenset(registers))
    why: dict[bytes, str] = {}
    written: set[tuple[bytes, bytes]] = set()
    spans: dict[bytes, list[float]] = {}  # a tracked key's first invocation and last completion
    restarts: list[tuple[float, float, str]] = []
    for op in history:
        end = _NEVER if op.complete is None else op.complete
        for argv, reply, done in _commands(op):
            if is_restart_argv(argv) and argv[1] != b"kept":
                restarts.append((op.invoke, end, describe_restart(argv)))
            _taint(argv, reply, done, len(op.call) > 1 and op.call[0][0].upper() != b"MULTI", names, why, written)
            for arg in argv[1:]:
                if names.kind(arg) is not None:
                    span = spans.setdefault(arg, [op.invoke, end])
                    span[0], span[1] = min(span[0], op.invoke), max(span[1], end)
    for key, (first, last) in spans.items():
        for begun, ended, what in restarts:
            if first <= ended and begun <= last:
                why.setdefault(key, f"{what} while it was in use")
    _spread(history, names, why)
    kept = tuple(cut for op in history if (cut := _cut(op, names, why)) is not None)
    adapted = transaction_history(History(kept, history.meta), MIXED, source=source)
    return adapted, tuple(f"{names.show(raw)}: {reason}" for raw, reason in why.items())


class _Names(KeyNames):
    """Which keys are tracked, and as what: a sent key's name after the run's prefix and round."""

    def __init__(self, prefix: bytes, lists: frozenset[str], registers: frozenset[str]) -> None:
        super().__init__(prefix)
        self.lists, self.registers = lists, registers
        self.known: dict[bytes, tuple[str, str | None]] = {}

    def _split(self, raw: bytes) -> tuple[str, str | None]:
        found = self.known.get(raw)
        if found is None:
            found = self.known[raw] = self.split(raw)
        return found

    def kind(self, arg: Any) -> str | None:
        """``"list"``, ``"register"``, or ``None`` for an argument that is no tracked key."""
        if not isinstance(arg, bytes) or (self.pattern is not None and self.pattern.match(arg) is None):
            return None  # with a prefix, only what starts with it is a key of the run
        name = self._split(arg)[0]
        return "list" if name in self.lists else "register" if name in self.registers else None

    def show(self, raw: bytes) -> str:
        name, round_ = self._split(raw)
        return name if round_ is None else f"{name} (round {round_})"


def _commands(op: Operation) -> Iterator[tuple[tuple[Any, ...], Any, bool]]:
    """Each command of ``op`` with its reply and whether it has one (the queued ones: EXEC's)."""
    call = op.call if isinstance(op.call, tuple) else ()
    replies = op.result if op.outcome is _OK and isinstance(op.result, tuple) else ()
    if len(replies) != len(call):
        replies = ()
    block = bool(call) and isinstance(call[0], tuple) and bool(call[0]) and bytes(call[0][0]).upper() == b"MULTI"
    executed = replies[-1] if block and replies else None
    for position, argv in enumerate(call):
        if not isinstance(argv, tuple) or not argv or not isinstance(argv[0], bytes):
            continue
        if block and 0 < position < len(call) - 1:
            if isinstance(executed, tuple) and len(executed) == len(call) - 2:
                yield argv, executed[position - 1], True
            elif replies:  # EXEC replied nil (a watched key changed) or an error: nothing ran
                yield argv, _NOT_RUN, True
            else:
                yield argv, None, False
        else:
            yield argv, replies[position] if replies else None, bool(replies)


def _own(argv: tuple[Any, ...], names: _Names) -> str | None:
    """The tracked key's kind if ``argv`` is one of the adapter's commands on a key of that kind."""
    name = argv[0].upper()
    if name in (b"RPUSH", b"LRANGE", b"SET", b"GET"):
        kind = names.kind(argv[1]) if len(argv) > 1 else None
        if kind == "list" and (len(argv) == 3 if name == b"RPUSH" else name == b"LRANGE" and argv[2:] == (b"0", b"-1")):
            return kind
        if kind == "register" and len(argv) == (3 if name == b"SET" else 2 if name == b"GET" else -1):
            return kind
    return None


def _list_script(argv: tuple[Any, ...], names: _Names) -> bool:
    """An EVAL of the list-append script on tracked lists only, or an EVALSHA whose listed keys
    (one at least) are all tracked lists.  An EVALSHA's body is known from an EVAL before it; a wrong
    guess makes the adapter refuse the history (HistoryError), never a wrong check."""
    name = argv[0].upper()
    if name == b"EVALSHA" and len(argv) > 3 and argv[2].isdigit():
        listed = argv[3:3 + int(argv[2])]
        return bool(listed) and all(names.kind(key) == "list" for key in listed)
    if name == b"EVAL" and len(argv) > 2 and LIST_APPEND_SCRIPT.encode() in bytes(argv[1]):
        count = int(argv[2]) if argv[2].isdigit() else -1
        return count >= 0 and all(names.kind(key) == "list" for key in argv[3:3 + count])
    return False


def _taint(argv: tuple[Any, ...], reply: Any, done: bool, pipelined: bool, names: _Names, why: dict[bytes, str],
           written: set[tuple[bytes, bytes]]) -> None:
    """Note in ``why`` the tracked keys ``argv`` may have changed in a way the adapter cannot follow."""
    tracked = [arg for arg in argv[1:] if names.kind(arg) is not None]
    if not tracked:
        return
    name = argv[0].upper()
    shown = name.decode("utf-8", errors="backslashreplace")
    if pipelined:
        for key in tracked:
            why.setdefault(key, f"{shown} was pipelined")
        return
    if done and isinstance(reply, Error):
        return  # it did nothing
    own = _own(argv, names)
    if own is not None or _list_script(argv, names):
        if name in (b"RPUSH", b"SET"):
            if (argv[1], argv[2]) in written:
                why.setdefault(argv[1], f"{argv[2].decode('utf-8', errors='backslashreplace')} was written twice")
            written.add((argv[1], argv[2]))
        return
    if name in _READ_ONLY:
        return
    for key in tracked:
        why.setdefault(key, f"{shown} wrote it" if done else f"{shown} may have written it (no reply)")


def _spread(history: History, names: _Names, why: dict[bytes, str]) -> None:
    """Leave out every key of a list-append script that names a key left out: the script is one
    transaction the adapter reads whole, so it goes, and with it what it appended to the others."""
    scripts = [op.call[0] for op in history if isinstance(op.call, tuple) and len(op.call) == 1
               and isinstance(op.call[0], tuple) and op.call[0] and isinstance(op.call[0][0], bytes)
               and _list_script(op.call[0], names)]
    spreading = True
    while spreading:  # until no script joins a key left out to one kept
        spreading = False
        for argv in scripts:
            listed = argv[3:3 + int(argv[2])]
            out = next((key for key in listed if key in why), None)
            if out is None:
                continue
            for key in listed:
                if key not in why:
                    why[key] = f"a script also wrote {names.show(out)}, which is left out"
                    spreading = True


def _cut(op: Operation, names: _Names, why: dict[bytes, str]) -> Operation | None:
    """``op`` with only the commands the check keeps; ``None`` when none is left."""
    call = op.call if isinstance(op.call, tuple) else ()
    if not call or not all(isinstance(argv, tuple) and argv and isinstance(argv[0], bytes) for argv in call):
        return None
    first = call[0][0].upper()
    if len(call) == 1 and first in (b"WATCH", b"UNWATCH"):
        return op
    if first != b"MULTI":
        if len(call) != 1:
            return None
        argv = call[0]
        keep = _own(argv, names) is not None or _list_script(argv, names)
        if not keep or any(arg in why for arg in argv[1:]):
            return None
        if op.outcome is _OK and isinstance(op.result, tuple) and op.result and isinstance(op.result[0], Error) \
                and not op.result[0].text.startswith("NOSCRIPT"):
            return None  # it did nothing
        return op
    inner = call[1:-1]
    replies = [reply for _, reply, _ in _commands(op)][1:-1]
    executed = op.result[-1] if op.outcome is _OK and isinstance(op.result, tuple) and op.result else None
    ran = isinstance(executed, tuple) and len(executed) == len(inner)  # else the adapter says what is wrong
    chosen = [position for position, argv in enumerate(inner)
              if _own(argv, names) is not None and not any(arg in why for arg in argv[1:])
              and not (ran and isinstance(replies[position], Error))]
    if not chosen:
        return None
    kept_call = (call[0], *(inner[position] for position in chosen), call[-1])
    if op.outcome is not _OK or not isinstance(op.result, tuple):
        return replace(op, call=kept_call)
    kept_exec = tuple(executed[position] for position in chosen) if ran and isinstance(executed, tuple) else executed
    return replace(op, call=kept_call, result=(op.result[0], *(_QUEUED for _ in chosen), kept_exec))
