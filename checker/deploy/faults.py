"""What a nemesis may do and what it did: the ``--nemesis`` and ``--nemesis-cmd`` strings, and the
fault events a run records beside its history.

``--nemesis`` is a comma-separated list of fault kinds, each optionally followed by ``:``-separated
``option=value`` pairs; ``all`` stands for every built-in kind the deployment allows.  Options:
``interval`` (seconds between faults, ``3`` or a range ``2-5``), ``duration`` (seconds a fault
lasts before it is healed), ``target`` (``primary``, ``replica``, ``any`` or a node name),
``mode`` (``force``/``takeover`` for a Cluster ``failover``, ``write``/``all`` for
``client-pause``, ``stall``/``drop`` for ``partition``, ``isolate`` and ``split``) and ``ms`` (the
``latency`` added).

>>> [spec.kind for spec in parse_nemesis("kill,pause:duration=0.5")]
['kill', 'pause']
>>> parse_nemesis("kill:interval=2-4:target=primary")[0]
FaultSpec(kind='kill', interval=(2.0, 4.0), duration=None, target='primary', mode='', ms=100, implied=False)
>>> parse_nemesis("kil")
Traceback (most recent call last):
...
redlin.errors.UsageError: bad --nemesis 'kil': unknown fault 'kil', expected kill, pause, failover, client-pause, partition, latency, restart, isolate, split or all

``--nemesis-cmd`` pairs ``NAME=COMMAND`` (and ``heal-NAME=COMMAND``) name faults the user's own
commands inject, on a deployment redlin does not own; a name may then appear in ``--nemesis``:

>>> commands = parse_commands(["stall=ssh db1 sudo kill -STOP 42", "heal-stall=ssh db1 sudo kill -CONT 42"])
>>> commands["stall"].argv[:2], commands["stall"].heal[-2:]
(('ssh', 'db1'), ('-CONT', '42'))
>>> parse_nemesis("stall", commands=commands)[0].kind
'stall'

Every fault is a :class:`FaultEvent`, one JSON line each (times from ``time.monotonic_ns()``, the
clock the history's operations are timed by):

>>> event = FaultEvent("kill", "node0", 6379, start=10, end=25, detail={"signal": "SIGKILL"})
>>> FaultEvent.from_json(event.to_json()) == event
True
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from redlin.errors import UsageError

FAULT_KINDS: Final = ("kill", "pause", "failover", "client-pause", "partition", "latency", "restart", "isolate",
                      "split")
NODE_PARTITIONS: Final = ("isolate", "split")
"""The kinds that partition nodes from each other: they need a :class:`~redlin.deploy.network.PeerNetwork`."""
MODES: Final[Mapping[str, tuple[str, ...]]] = {
    "failover": ("", "force", "takeover"), "client-pause": ("write", "all"), "partition": ("stall", "drop"),
    "isolate": ("stall", "drop"), "split": ("stall", "drop"),
}
DEFAULT_MODE: Final = {"client-pause": "write", "partition": "stall", "isolate": "stall", "split": "stall"}
OPTIONS: Final = ("interval", "duration", "target", "mode", "ms")
COMMAND_TIMEOUT: Final = 60.0  # seconds a user's fault or heal command may take
OUTPUT_TAIL: Final = 200  # characters of a command's output kept in its event


def _choices(words: Iterable[str]) -> str:
    listed = [word for word in words if word]
    return ", ".join(listed[:-1]) + " or " + listed[-1] if len(listed) > 1 else "".join(listed)


@dataclass(frozen=True)
class FaultSpec:
    """One fault kind of a schedule and its options (``None``: the nemesis's default)."""

    kind: str
    interval: tuple[float, float] | None = None
    duration: tuple[float, float] | None = None
    target: str = "any"
    mode: str = ""
    ms: int = 100
    implied: bool = False
    """Named by ``all`` rather than by the user: dropped, not refused, where it cannot apply."""


def _seconds(text: str, word: str, option: str) -> tuple[float, float]:
    low, dash, high = option.partition("-")
    try:
        bounds = (float(low), float(high if dash else low))
    except ValueError:
        raise UsageError(f"bad --nemesis {text!r}: {word!r} wants seconds, a number or a range like 2-5") from None
    if not 0 <= bounds[0] <= bounds[1]:
        raise UsageError(f"bad --nemesis {text!r}: {word!r} wants a range from low to high, in seconds")
    return bounds


def _option(text: str, spec: FaultSpec, word: str) -> FaultSpec:
    name, equals, value = word.partition("=")
    if not equals or name not in OPTIONS:
        raise UsageError(f"bad --nemesis {text!r}: unknown option {word!r}, expected {_choices(OPTIONS)} (name=value)")
    if name == "interval":
        return replace(spec, interval=_seconds(text, word, value))
    if name == "duration":
        return replace(spec, duration=_seconds(text, word, value))
    if name == "target":
        if not value:
            raise UsageError(f"bad --nemesis {text!r}: {word!r} wants primary, replica, any or a node name")
        return replace(spec, target=value)
    if name == "ms":
        if not value.isdigit():
            raise UsageError(f"bad --nemesis {text!r}: {word!r} wants a whole number of milliseconds")
        return replace(spec, ms=int(value))
    allowed = MODES.get(spec.kind, ())
    if value not in allowed:
        what = f"expected {_choices(allowed)}" if allowed else f"{spec.kind} takes no mode"
        raise UsageError(f"bad --nemesis {text!r}: {word!r}, {what}")
    return replace(spec, mode=value)


def parse_nemesis(text: str, commands: Collection[str] = ()) -> tuple[FaultSpec, ...]:
    """The fault kinds of a ``--nemesis`` string (see the module docstring), in order; the names of
    ``commands`` (``--nemesis-cmd``) are kinds too.  A mistake raises a one-line UsageError naming
    the bad word."""
    specs: list[FaultSpec] = []
    for item in text.split(","):
        kind, *options = item.strip().split(":")
        if kind == "all":
            if options:
                raise UsageError(f"bad --nemesis {text!r}: all takes no options (name the faults to give them some)")
            specs += [FaultSpec(name, mode=DEFAULT_MODE.get(name, ""), implied=True) for name in FAULT_KINDS]
            continue
        if kind not in FAULT_KINDS and kind not in commands:
            known = [*FAULT_KINDS, *sorted(set(commands) - set(FAULT_KINDS)), "all"]
            raise UsageError(f"bad --nemesis {text!r}: unknown fault {kind!r}, expected {_choices(known)}")
        spec = FaultSpec(kind, mode=DEFAULT_MODE.get(kind, ""))
        for word in options:
            spec = _option(text, spec, word)
        specs.append(spec)
    return tuple(specs)


# -- the user's own commands --------------------------------------------------------------------


@dataclass(frozen=True)
class UserCommand:
    """A fault the user's command injects (``argv``), and the command that heals it, if given."""

    name: str
    argv: tuple[str, ...]
    heal: tuple[str, ...] | None = None


def parse_commands(pairs: Iterable[str]) -> dict[str, UserCommand]:
    """``NAME=COMMAND`` and ``heal-NAME=COMMAND`` pairs (split as a POSIX shell splits words; wrap
    shell syntax in ``sh -c '...'``) as the commands by name."""
    faults: dict[str, tuple[str, ...]] = {}
    heals: dict[str, tuple[str, ...]] = {}
    for pair in pairs:
        name, equals, command = pair.partition("=")
        name = name.strip()
        try:
            argv = tuple(shlex.split(command))
        except ValueError as error:
            raise UsageError(f"bad --nemesis-cmd {pair!r}: {error}") from None
        if not equals or not name or not argv or name == "heal-":
            raise UsageError(f"bad --nemesis-cmd {pair!r}: expected NAME=COMMAND or heal-NAME=COMMAND")
        table, key = (heals, name.removeprefix("heal-")) if name.startswith("heal-") else (faults, name)
        if key in table:
            raise UsageError(f"bad --nemesis-cmd {pair!r}: {name} is given twice")
        table[key] = argv
    for name in heals.keys() - faults.keys():
        raise UsageError(f"bad --nemesis-cmd: heal-{name} has no {name}=COMMAND to heal")
    return {name: UserCommand(name, argv, heals.get(name)) for name, argv in faults.items()}


def run_command(argv: tuple[str, ...], timeout: float = COMMAND_TIMEOUT) -> dict[str, Any]:
    """Run one of the user's commands: its exit status (``None`` when it could not run or timed
    out) and the tail of what it printed, as an event's detail."""
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"status": None, "output": f"timed out after {timeout:g} s"}
    except OSError as error:
        return {"status": None, "output": str(error)}
    output = (done.stdout + done.stderr).decode("utf-8", errors="replace").strip()
    return {"status": done.returncode, "output": output[-OUTPUT_TAIL:]}


# -- events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultEvent:
    """One fault as it happened: its kind, the node (name and port) it hit, when it began and when
    it was healed (``time.monotonic_ns()``; ``end`` is ``None`` while it lasts), and the rest in
    ``detail`` (a failover's new primary, a command's exit status, an error)."""

    kind: str
    target: str
    port: int
    start: int
    end: int | None
    detail: dict[str, Any] = field(default_factory=dict, hash=False)

    def covers(self, time_ns: int) -> bool:
        """True when ``time_ns`` falls inside the fault (an unhealed fault lasts for ever)."""
        return self.start <= time_ns and (self.end is None or time_ns <= self.end)

    def to_json(self) -> str:
        return json.dumps({"fault": self.kind, "target": self.target, "port": self.port, "start": self.start,
                           "end": self.end, "detail": self.detail}, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> FaultEvent:
        data = json.loads(line)
        return cls(str(data["fault"]), str(data["target"]), int(data["port"]), int(data["start"]),
                   None if data["end"] is None else int(data["end"]), dict(data.get("detail") or {}))


def write_events(path: str | os.PathLike[str], events: Iterable[FaultEvent]) -> None:
    """The events as JSON lines, one each."""
    Path(path).write_text("".join(event.to_json() + "\n" for event in events), encoding="utf-8")


def read_events(path: str | os.PathLike[str]) -> list[FaultEvent]:
    return [FaultEvent.from_json(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
