"""What a ``redlin conform`` run found, as data: the ``result.json`` document its reports render.

:func:`conform_document` turns a :class:`~redlin.harness.conform.ConformRun` into plain JSON data
(schema below), in which every difference carries its shrunk script as lines to read -- each
command with the keys shown without the run's prefix, the reply Redis gives (the model's) and the
server's, with their RESP types where those differ -- and as a ``redis-cli`` script to copy.
:mod:`redlin.report.conform` renders the console text, ``summary.md``, ``report.html`` and
``junit.xml`` from it alone.

The ``result.json`` schema (format ``redlin-conform``, version 1): ``verdict`` (``conformant``: no
difference that no version explains; ``differences``; ``target-lost``: the target went away;
``interrupted``: a signal before any comparison), ``target``, ``server_version``, ``profile``,
``profile_reason`` and ``profile_warning`` (``null`` unless ``--profile`` named a version the
server's ``INFO`` contradicts), ``seed``, ``run_id``, ``prefix``, ``actions``, ``commands``,
``seconds``, ``replays``, ``keys_deleted``, ``interrupted_by``, ``notes``, ``exercised`` (command
-> times sent, and ``families``: command -> family), and ``differences``, each with ``number``,
``command``, ``family``, ``kind`` and ``kind_text``, ``version`` (the profile that explains it,
or ``null``), ``bug`` (neither a version's behaviour nor the target going away), ``occurrences``, ``found_after_actions``/``_seconds``, ``original_commands``,
``shrunk_commands``, ``shrink_seconds``, ``shrink_replays``, ``shrink_complete``, ``argv``,
``expected``, ``got``, ``lines`` (per command sent: ``command``, ``expected``, ``got``, ``differs``,
and ``first`` on the difference itself),
``scripts`` (each Lua source sent, by short SHA1) and ``redis_cli``.

>>> cli_word(b"a b"), cli_word(b"GET"), cli_word(b"\\x00")
('"a b"', 'GET', '"\\\\x00"')
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from redlin.adapter.redis_model import typed
from redlin.harness.actions import Action, ScriptCall, render
from redlin.harness.conform import ConformRun, Difference
from redlin.harness.conform_lane import KINDS, family_of
from redlin.harness.conform_shrink import script_size
from redlin.harness.guard import possible_commands
from redlin.harness.script_guard import script_source
from redlin.model import Reply
from redlin.report.conform import write_conform_report

__all__ = ["FORMAT", "VERSION", "cli_word", "conform_document", "write_conform"]

FORMAT: Final = "redlin-conform"
VERSION: Final = 1
_SHOWN: Final = 400
"""The longest reply or argument text shown (the server's replies can be long)."""


def cli_word(word: bytes) -> str:
    """``word`` as ``redis-cli`` reads it: bare when plain, else in double quotes with escapes."""
    if word and all(33 <= byte < 127 and byte not in b"\"'\\" for byte in word):
        return word.decode()
    inner = "".join(chr(byte) if 32 <= byte < 127 and byte not in b"\"\\" else
                    ("\\" + chr(byte) if byte in b"\"\\" else f"\\x{byte:02x}") for byte in word)
    return f'"{inner}"'


def _cut(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN - 1] + "…"


def conform_document(run: ConformRun) -> dict[str, Any]:
    """The ``result.json`` document of ``run`` (see the module docstring)."""
    plan = run.plan
    exercised = dict(sorted(run.exercised.items()))
    for difference in run.differences:
        exercised.setdefault(difference.command, 0)
    return {
        "format": FORMAT,
        "version": VERSION,
        "verdict": run.verdict,
        "target": run.described,
        "server_version": run.server_version,
        "embedded": plan.target is None,
        "fault": plan.fault,
        "profile": run.profile,
        "profile_reason": run.profile_reason,
        "profile_warning": run.profile_warning,
        "seed": plan.seed,
        "run_id": plan.run_id,
        "prefix": plan.prefix.decode(),
        "actions": run.actions,
        "commands": sum(run.exercised.values()),
        "seconds": round(run.seconds, 3),
        "replays": run.replays,
        "keys_deleted": run.deleted,
        "interrupted_by": run.interrupted_by,
        "notes": list(run.notes),
        "exercised": exercised,
        "families": {name: family_of(name) for name in exercised},
        "differences": [_difference(d, d in run.bugs) for d in run.differences],
    }


def write_conform(run: ConformRun) -> tuple[dict[str, Any], dict[str, Path]]:
    """Write ``run``'s report into its output directory: the document and the paths by role."""
    document = conform_document(run)
    return document, write_conform_report(run.plan.out_dir, document)


def _difference(difference: Difference, bug: bool) -> dict[str, Any]:
    found = difference.mismatch
    shrink = difference.shrink
    lines, scripts = _lines(difference)
    return {
        "number": difference.number,
        "command": found.command,
        "family": difference.family,
        "kind": found.kind,
        "kind_text": KINDS.get(found.kind, found.kind),
        "version": difference.version,
        "bug": bug,
        "occurrences": difference.occurrences,
        "found_after_actions": difference.found_after_actions,
        "found_after_seconds": round(difference.found_after_seconds, 3),
        "original_commands": difference.original_size,
        "shrunk_commands": script_size(difference.script),
        "shrink_seconds": round(difference.shrink_seconds, 3),
        "shrink_replays": 0 if shrink is None else shrink.replays,
        "shrink_complete": shrink is not None and shrink.complete,
        "argv": _command(found.argv, difference.prefix, scripts),
        "expected": _reply(found.expected, found.expected if found.kind == "no-reply" else found.got,
                           difference.prefix),
        "got": "no reply" if found.kind == "no-reply" else _reply(found.got, found.expected, difference.prefix),
        "lines": lines,
        "scripts": scripts,
        "redis_cli": _redis_cli(difference.script),
    }


def _reply(reply: Reply, other: Reply, prefix: bytes = b"") -> str:
    """``reply`` as text (its RESP type shown where ``other``'s differs), keys without ``prefix``."""
    text = typed(reply, other)
    return _cut(text.replace(prefix.decode("utf-8", "replace"), "") if prefix else text)


def _command(argv: Sequence[bytes], prefix: bytes, scripts: dict[str, str]) -> str:
    """A command as sent, keys without ``prefix``, a script body as ``<script ab12cd34>``."""
    words = []
    for index, word in enumerate(argv):
        if index == 1 and argv[0].lower() in (b"eval", b"eval_ro") and len(word) > 40:
            short = _sha(word)
            scripts.setdefault(short, script_source(word).decode("utf-8", "replace"))
            words.append(f"<script {short}>")
        elif index == 1 and argv[0].lower() in (b"evalsha", b"evalsha_ro"):
            words.append(f"<sha {word[:8].decode('ascii', 'replace')}>")
        else:
            words.append(cli_word(word[len(prefix):] if prefix and word.startswith(prefix) else word))
    return _cut(" ".join(words))


def _sha(body: bytes) -> str:
    return ScriptCall(body, (), ()).sha[:8].decode()


def _lines(difference: Difference) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every command of the difference's replay, with both replies (the differing one marked)."""
    scripts: dict[str, str] = {}
    lines: list[dict[str, Any]] = []
    last = len(difference.exchanges) - 1
    for position, exchange in enumerate(difference.exchanges):
        for index, argv in enumerate(exchange.commands):
            want, prefix = exchange.expected[index], difference.prefix
            expected = got = _reply(want, want, prefix)
            if index >= len(exchange.got):
                got = f"no reply ({exchange.lost})" if index == len(exchange.got) else "not read"
            elif exchange.got[index] != want:
                expected, got = _reply(want, exchange.got[index], prefix), _reply(exchange.got[index], want, prefix)
            first = position == last and index == difference.mismatch.index
            lines.append({"command": _command(argv, difference.prefix, scripts), "expected": expected, "got": got,
                          "differs": first or expected != got, "first": first})
    return lines, scripts


def _redis_cli(script: Sequence[Action]) -> str:
    """The script as ``redis-cli`` input: keys as named in the report, scripts without redlin's guard."""
    lines = []
    for action in script:
        if isinstance(action, ScriptCall):
            commands = [(b"EVAL", script_source(action.body), str(len(action.keys)).encode(),
                         *render(action.keys, b""), *action.args)]
        else:
            commands = possible_commands(action, b"")
        lines += [" ".join(cli_word(word) for word in argv) for argv in commands]
    return "\n".join(lines)
