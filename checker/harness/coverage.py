"""What a run exercised: commands, the kinds of reply they got, transaction and script outcomes.

A clean verdict is worth what the run sent.  :class:`Coverage` reads every checked execution's
history and counts, for each command, the replies it got by kind (their RESP type, ``integer``,
``bulk string``, ``null bulk string``..., and errors by their code word: ``error WRONGTYPE``); for each transaction
how it ended (committed, aborted by WATCH, EXECABORT, discarded, committed with an error inside);
for each script whether it returned or raised.  :meth:`Coverage.add` returns how many of these
*items* were new, which the program search hands to Hypothesis's ``target()`` so that generation
leans toward what has not been seen.  :meth:`Coverage.summary` is what the console and the report
say: how many of the commands the grammar can draw were exercised, with error replies, and which
were not (and the commands no concurrent run draws, with the reason: :data:`~redlin.harness.grammar.LEFT_OUT`).

>>> from redlin.history.records import History, Operation
>>> from redlin.model import Error, Status
>>> seen = Coverage()
>>> seen.add(History((Operation(0, 1, ((b"INCR", b"k"),), (1,), 0, 1),
...                   Operation(1, 1, ((b"MULTI",), (b"GET", b"k"), (b"EXEC",)), (Status("OK"), Status("QUEUED"), None), 2, 3),
...                   Operation(2, 2, ((b"LPUSH", b"k", b"v"),), (Error("WRONGTYPE Operation against a key"),), 4, 5))))
5
>>> seen.commands["lpush"]
Counter({'error WRONGTYPE': 1})
>>> seen.transactions
Counter({'aborted by WATCH': 1})
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from redlin.adapter.redis_model import resp_type
from redlin.harness.grammar import GRAMMAR, LEFT_OUT
from redlin.history.records import Outcome
from redlin.model import NULL, NULL_ARRAY, Error

__all__ = ["DRAWABLE", "Coverage", "reply_kind"]

DRAWABLE: Final = frozenset({*GRAMMAR, "multi", "exec", "discard", "eval", "evalsha", "script"})
"""The commands a run with the ``model`` or ``default`` workload can send (lower case)."""
_SCRIPTS: Final = frozenset({b"eval", b"evalsha", b"eval_ro", b"evalsha_ro"})


def reply_kind(reply: Any) -> str:
    """A reply's kind: its RESP type, errors by code word, empty arrays apart.

    >>> reply_kind(Error("ERR syntax error")), reply_kind(b"v"), reply_kind(None), reply_kind(())
    ('error ERR', 'bulk string', 'null bulk string', 'empty array')
    """
    if type(reply) is Error:
        return "error " + (reply.text.split(" ", 1)[0] or "?")
    if type(reply) is tuple and not reply:
        return "empty array"
    return resp_type(reply)


@dataclass
class Coverage:
    """Counts of what the checked executions exercised (see the module docstring)."""

    commands: dict[str, Counter[str]] = field(default_factory=dict)
    """Per command (lower case), its replies by kind."""
    transactions: Counter[str] = field(default_factory=Counter)
    scripts: Counter[str] = field(default_factory=Counter)

    def add(self, history: Iterable[Any]) -> int:
        """Count the definite operations of ``history``; how many items were seen for the first time."""
        new = 0
        for op in history:
            if op.outcome is not Outcome.OK:
                continue
            queued: list[bytes] | None = None
            for argv, reply in zip(op.call, op.result, strict=False):
                name = bytes(argv[0]).lower() if argv else b""
                if queued is not None and name not in (b"exec", b"discard"):
                    queued.append(name)  # its reply is QUEUED; its result comes inside EXEC's
                    continue
                if name == b"multi":
                    queued = []
                elif queued is not None:
                    new += self._count(self.transactions, _transaction_outcome(name, reply))
                    if name == b"exec" and type(reply) is tuple:
                        for inner, result in zip(queued, reply, strict=False):
                            new += self._command(inner, result)
                    queued = None
                if name in _SCRIPTS:
                    new += self._count(self.scripts, "raised" if type(reply) is Error else "returned")
                new += self._command(name, reply)
        return new

    def _command(self, name: bytes, reply: Any) -> int:
        return self._count(self.commands.setdefault(name.decode("utf-8", "replace"), Counter()), reply_kind(reply))

    @staticmethod
    def _count(counter: Counter[str], item: str) -> int:
        counter[item] += 1
        return int(counter[item] == 1)

    def exercised(self) -> frozenset[str]:
        """The drawable commands sent at least once."""
        return frozenset(name for name in self.commands if name in DRAWABLE)

    def with_errors(self) -> frozenset[str]:
        return frozenset(name for name, kinds in self.commands.items()
                         if name in DRAWABLE and any(kind.startswith("error") for kind in kinds))

    def summary(self, drawable: Iterable[str] = DRAWABLE) -> list[str]:
        """The console's and the report's lines about coverage (``drawable``: the commands the
        workload could send, lower case).

        >>> Coverage().summary(["get", "set"])[0]
        'coverage: 0 of 2 commands the workload can send were exercised (0 %), 0 with an error reply'
        """
        wanted = sorted(frozenset(drawable))
        if not wanted:
            return []
        done = [name for name in wanted if name in self.commands]
        errors = [name for name in done if any(kind.startswith("error") for kind in self.commands[name])]
        lines = [f"coverage: {len(done)} of {len(wanted)} commands the workload can send were exercised "
                 f"({100 * len(done) // len(wanted)} %), {len(errors)} with an error reply"]
        missing = [name.upper() for name in wanted if name not in self.commands]
        if missing:
            lines.append("not exercised: " + ", ".join(missing))
        if self.transactions:
            lines.append("transactions: " + _counts(self.transactions))
        if self.scripts:
            lines.append("scripts: " + _counts(self.scripts))
        return lines

    def meta(self, drawable: Iterable[str] = DRAWABLE) -> dict[str, Any]:
        """The coverage for the report's metadata (``result.json``)."""
        wanted = sorted(frozenset(drawable))
        return {
            "drawable": len(wanted),
            "exercised": sorted(name for name in wanted if name in self.commands),
            "not_exercised": sorted(name for name in wanted if name not in self.commands),
            "replies": {name: dict(sorted(kinds.items())) for name, kinds in sorted(self.commands.items())},
            "transactions": dict(self.transactions),
            "scripts": dict(self.scripts),
            "never_drawn": dict(sorted(LEFT_OUT.items())),
        }


def _transaction_outcome(name: bytes, reply: Any) -> str:
    if name == b"discard":
        return "discarded"
    if reply is NULL_ARRAY or reply is None or reply is NULL:  # NULL: RESP3
        return "aborted by WATCH"
    if type(reply) is Error:
        return "EXECABORT" if reply.text.startswith("EXECABORT") else "refused"
    if isinstance(reply, tuple) and any(type(item) is Error for item in reply):
        return "committed, with an error inside"
    return "committed"


def _counts(counter: Mapping[str, int]) -> str:
    return ", ".join(f"{count} {what}" for what, count in sorted(counter.items(), key=lambda item: -item[1]))
