"""The faults a nemesis injected during a run, as the reports show them.

A run with a nemesis passes the faults it injected to :func:`redlin.report.write.write_report` in
its metadata, ``meta["faults"]``: a list of objects exactly as
:meth:`redlin.deploy.faults.FaultEvent.to_json` writes them -- ``fault`` (the kind), ``target``
(the node's name), ``port``, ``start`` and ``end`` (on the clock of the history's operations,
``end`` null while unhealed) and ``detail``.  ``report.html`` draws each as a band across the lanes
from its start to its heal, the way Jepsen draws its nemesis; a violation's explanation there and
in ``summary.md`` names the fault that came last before the operation that cannot be placed.

>>> from redlin.explain.render import TEXT
>>> doc = {"verdict": "violation", "time": {"origin": 1_000_000, "unit": "ns"}, "violation": {"operation": 4},
...        "counterexample": [{"id": 4, "invoke": 9_000_000, "complete": 9_500_000}],
...        "meta": {"faults": [{"fault": "pause", "target": "replica", "port": 7001, "start": 2_000_000,
...                             "end": 8_000_000, "detail": {}}]}}
>>> fault_text(fault_events(doc["meta"])[0])
'pause replica :7001, healed after 6.0 ms'
>>> print(*fault_sentences(doc, TEXT))
The last fault before operation 4 (the one that cannot be placed) was a pause (SIGSTOP) of replica (port 7001) at 1 ms, healed at 7 ms.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

from redlin.explain.names import Clock, Names, cut, plural
from redlin.explain.render import Format

__all__ = ["FAULT_TEXT", "fault_count", "fault_events", "fault_sentences", "fault_text"]

FAULT_TEXT = 160
"""The longest fault error or detail a report shows."""

_FAULT_WORDS = {"kill": "a kill of", "pause": "a pause (SIGSTOP) of", "restart": "a restart of",
                "failover": "a failover of", "client-pause": "a CLIENT PAUSE on",
                "partition": "a partition from the clients of", "latency": "added latency on",
                "isolate": "a partition from the other nodes of", "split": "a partition of the nodes, cutting off"}
"""How a sentence names a fault of each built-in kind (a user's command is "a <name> fault on")."""


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)  # JSON's true is no time


def fault_events(meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The faults a run injected, from its metadata's ``faults`` (objects as ``FaultEvent.to_json``
    writes them), in the order they began; malformed entries are left out, an ``end`` before the
    ``start`` is taken as the start.

    >>> faults = fault_events({"faults": [{"fault": "pause", "target": "replica", "port": 7001,
    ...     "start": 50, "end": None, "detail": {}}, {"fault": "kill", "start": 10, "end": 5}, "junk"]})
    >>> [(f["fault"], f["target"], f["port"], f["start"], f["end"]) for f in faults]
    [('kill', '', None, 10, 10), ('pause', 'replica', 7001, 50, None)]
    >>> fault_events({})
    []
    """
    raw = meta.get("faults")
    if not isinstance(raw, list):
        return []
    faults = []
    for item in raw:
        if not isinstance(item, dict) or not _is_int(item.get("start")):
            continue
        start, end, port, detail = item["start"], item.get("end"), item.get("port"), item.get("detail")
        if end is not None and not _is_int(end):
            continue
        faults.append({"fault": str(item.get("fault") or "fault"), "target": str(item.get("target") or ""),
                       "port": port if _is_int(port) and port > 0 else None, "start": start,
                       "end": None if end is None else max(start, end),
                       "detail": detail if isinstance(detail, dict) else {}})
    faults.sort(key=lambda fault: fault["start"])
    return faults


def fault_count(faults: Sequence[Mapping[str, Any]]) -> str:
    """How many faults of which kinds: ``3 faults (2 kill, 1 pause)``.

    >>> fault_count([{"fault": "kill"}, {"fault": "pause"}, {"fault": "kill"}])
    '3 faults (2 kill, 1 pause)'
    """
    kinds = Counter(str(fault["fault"]) for fault in faults)
    return f"{plural(len(faults), 'fault')} ({', '.join(f'{n:,} {kind}' for kind, n in kinds.items())})"


def _duration(elapsed: int, unit: str) -> str:
    if unit == "tick":
        return plural(elapsed, "tick")
    if elapsed >= 1_000_000_000:
        return f"{elapsed / 1e9:.1f} s"
    return f"{elapsed / 1e6:.1f} ms" if elapsed >= 1_000_000 else f"{elapsed / 1e3:.1f} µs"


def fault_text(fault: Mapping[str, Any], unit: str = "ns") -> str:
    """A fault in one line, as its band's label and tooltip say it: kind, node, and how it ended.

    >>> kill = {"fault": "kill", "target": "primary", "port": 10234, "start": 0, "end": 1_200_000_000, "detail": {}}
    >>> fault_text(kill)
    'kill primary :10234, healed after 1.2 s'
    >>> fault_text({**kill, "end": None}), fault_text({**kill, "detail": {"error": "no such node"}})
    ('kill primary :10234, not healed', 'kill primary :10234, error: no such node')
    """
    where = " ".join(part for part in (str(fault["target"]), f":{fault['port']}" if fault["port"] else "") if part)
    head = f"{fault['fault']} {where}".strip()
    error = fault["detail"].get("error")
    if error:
        return f"{head}, error: {cut(str(error), FAULT_TEXT)}"
    if fault["end"] is None:
        return f"{head}, not healed"
    return f"{head}, healed after {_duration(fault['end'] - fault['start'], unit)}"


def _operation_times(document: Mapping[str, Any], op_id: int) -> tuple[int, int | None] | None:
    """An operation's invocation and reply times, from what the document says about it: the
    counterexample's rows, else the anomalies' facts."""
    for row in document.get("counterexample") or ():
        if row.get("id") == op_id:
            return int(row["invoke"]), row["complete"]
    for anomaly in document.get("anomalies") or ():
        for fact in (anomaly.get("facts") or {}).values():
            if isinstance(fact, dict) and fact.get("type") == "op" and fact.get("id") == op_id:
                return int(fact["invoke"]), fact.get("complete")
    return None


def _fault_name(fault: Mapping[str, Any]) -> str:
    where = str(fault["target"]) + (f" (port {fault['port']})" if fault["port"] else "")
    return f"{_FAULT_WORDS.get(fault['fault'], 'a ' + str(fault['fault']) + ' fault on')} {where}".strip()


def fault_sentences(document: dict[str, Any], fmt: Format,
                    times: tuple[int, int | None] | None = None) -> list[str]:
    """For a violation of a run with faults: which fault came last before the operation that
    cannot be placed, whether it was still in effect (the operation ran *during* it), and which
    began while the operation ran; in ``fmt``.  ``times``: that operation's invocation and reply
    (else read from the document).  Empty for other verdicts, without faults, or without the times.

    >>> from redlin.explain.render import HTML
    >>> doc = {"verdict": "violation", "time": {"origin": 0, "unit": "ns"}, "violation": {"operation": 1},
    ...        "counterexample": [{"id": 1, "invoke": 5_000_000, "complete": 6_000_000}],
    ...        "meta": {"faults": [{"fault": "kill", "target": "primary", "port": 10234, "start": 3_200_000,
    ...                             "end": 4_000_000, "detail": {}}]}}
    >>> print(*fault_sentences(doc, HTML, times=(3_500_000, 3_600_000)))
    Operation 1 (the one that cannot be placed) was invoked during a fault: a kill of primary (port 10234), from 3.2 ms, healed at 4 ms.
    >>> print(*fault_sentences({**doc, "verdict": "linearizable"}, HTML))
    <BLANKLINE>
    """
    faults = fault_events(document.get("meta") or {})
    stuck = (document.get("violation") or {}).get("operation")
    if document.get("verdict") != "violation" or not faults or not isinstance(stuck, int):
        return []
    times = times or _operation_times(document, stuck)
    if times is None:
        return []
    clock = Names.of_document(document).clock
    invoke, complete = times
    before = [fault for fault in faults if fault["start"] <= invoke]
    if not before:
        lines = [f"No fault began before operation {stuck} (the one that cannot be placed) was invoked; "
                 f"the first began at {clock.at(faults[0]['start'])}."]
    else:
        lines = _before(stuck, before, invoke, clock)
    _while_it_ran(lines, faults, invoke, complete, clock)
    return [fmt.words(line) for line in lines]


def _ending(fault: Mapping[str, Any], clock: Clock) -> str:
    ending = "never healed" if fault["end"] is None else f"healed at {clock.at(fault['end'])}"
    error = fault["detail"].get("error")
    if error:  # the nemesis could not inject or heal it: it may not have happened as planned
        ending += f" (the nemesis reported an error: {cut(str(error), FAULT_TEXT)})"
    return ending


def _before(stuck: int, before: Sequence[Mapping[str, Any]], invoke: int, clock: Clock) -> list[str]:
    """The sentences about the faults that began before the violating operation's invocation: the
    last of them, and the latest one still in effect when it was invoked (they may differ: a short
    fault healed inside a long one)."""
    last = before[-1]
    lines = []
    in_effect = [fault for fault in before if fault["end"] is None or fault["end"] >= invoke]
    if in_effect and in_effect[-1] is last:
        lines.append(f"Operation {stuck} (the one that cannot be placed) was invoked during a fault: "
                     f"{_fault_name(last)}, from {clock.at(last['start'])}, {_ending(last, clock)}.")
    else:
        lines.append(f"The last fault before operation {stuck} (the one that cannot be placed) was "
                     f"{_fault_name(last)} at {clock.at(last['start'])}, {_ending(last, clock)}.")
        if in_effect:
            lines.append(f"It was invoked during an earlier fault still in effect: {_fault_name(in_effect[-1])}, "
                         f"from {clock.at(in_effect[-1]['start'])}, {_ending(in_effect[-1], clock)}.")
    if len(in_effect) > 1:
        lines.append(f"{plural(len(in_effect), 'fault')} were in effect when it was invoked.")
    return lines


def _while_it_ran(lines: list[str], faults: Sequence[Mapping[str, Any]], invoke: int, complete: int | None,
                  clock: Clock) -> None:
    """Adds the sentence naming the faults that began after the operation's invocation and before its reply."""
    during = [fault for fault in faults if invoke < fault["start"] and (complete is None or fault["start"] <= complete)]
    if during:
        more = f" (and {plural(len(during) - 1, 'other fault')})" if len(during) > 1 else ""
        first = _fault_name(during[0])
        lines.append(f"{first[0].upper()}{first[1:]} began while it ran, at {clock.at(during[0]['start'])}{more}.")
