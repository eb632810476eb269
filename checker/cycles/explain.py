"""Plain-text explanations of transactional anomalies: one sentence per fact or cycle step.

The anomalies are data (:class:`~redlin.cycles.findings.Anomaly`); this module only renders them,
as Elle separates ``explain-pair-data`` from ``render-explanation`` (Kingsbury & Alvaro, VLDB
2020, section 5): a report can highlight, translate or draw the same records another way.

>>> from redlin.cycles.findings import Anomaly, Dependency
>>> cycle = Anomaly("G-single", (1, 2), ("serializable",),
...                 ((1, 2, Dependency("rw", "x", 3, 4)), (2, 1, Dependency("wr", "y", 5))))
>>> print(render(cycle, "list-append"))
G-single (rules out serializable): T1, T2
  T1 read x without 4, which T2 appended after 3.
  T1 read y ending in 5, which T2 appended.
>>> print(render(cycle, "mixed", lists={"y"}))
G-single (rules out serializable): T1, T2
  T1 read x = 3, and T2 later wrote x = 4.
  T1 read y ending in 5, which T2 appended.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable
from typing import Any

from redlin.cycles.findings import PROCESS, REALTIME, RW, WR, WW, Anomaly, Step
from redlin.cycles.transactions import LIST_APPEND, MIXED


def _name(index: int) -> str:
    return f"T{index}"


def _value(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, tuple):
        return "[" + " ".join(_value(item) for item in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)


def _key(key: Hashable) -> str:
    return str(key)


def describe_step(step: Step, kind: str, lists: Collection[Hashable] = ()) -> str:
    """One sentence saying why ``step``'s source comes before its target (in a mixed history,
    ``lists`` are the keys that hold lists).

    >>> from redlin.cycles.findings import Dependency
    >>> describe_step((1, 2, Dependency("wr", "x", 5)), "rw-register")
    'T2 read x = 5, which T1 wrote.'
    """
    a, b, dependency = step
    source, target = _name(a), _name(b)
    key, value, after = _key(dependency.key), _value(dependency.value), _value(dependency.next)
    is_list = _is_list(kind, dependency.key, lists)
    if dependency.type == WW:
        if is_list:
            return f"{source} appended {value} to {key} right before {target} appended {after}."
        why = f" ({target} read {value}, then wrote)" if dependency.assumed else ""
        return f"{source} wrote {key} = {value} before {target} wrote {key} = {after}{why}."
    if dependency.type == WR:
        if is_list:
            return f"{target} read {key} ending in {value}, which {source} appended."
        return f"{target} read {key} = {value}, which {source} wrote."
    if dependency.type == RW:
        if is_list:
            seen = f"after {value}" if dependency.value is not None else "first"
            return f"{source} read {key} without {after}, which {target} appended {seen}."
        return f"{source} read {key} = {value}, and {target} later wrote {key} = {after}."
    if dependency.type == REALTIME:
        return f"{source} completed before {target} began."
    if dependency.type == PROCESS:
        return f"{source} ran before {target} on client {dependency.key}."
    raise ValueError(f"unknown dependency type {dependency.type!r}")


def describe(anomaly: Anomaly, kind: str, lists: Collection[Hashable] = ()) -> list[str]:
    """The sentences that explain ``anomaly``: one per cycle step, or its facts."""
    if anomaly.steps:
        return [describe_step(step, kind, lists) for step in anomaly.steps]
    names = [_name(index) for index in anomaly.transactions]
    key, values = _key(anomaly.key), [_value(value) for value in anomaly.values]
    is_list = _is_list(kind, anomaly.key, lists)
    shown = "ending in" if is_list else "="
    if anomaly.kind == "G1a":
        return [f"{names[0]} read {key} {shown} {values[0]}, written by {names[1]}, which aborted."]
    if anomaly.kind == "G1b":
        wrote = "appended" if is_list else "wrote"
        return [f"{names[0]} read {key} {shown} {values[0]}, an intermediate value: {names[1]} {wrote} it, then "
                f"{values[1]} in the same transaction."]
    if anomaly.kind == "garbage-read":
        return [f"{names[0]} read {values[0]} in {key}, which no transaction wrote."]
    if anomaly.kind == "duplicate-elements":
        return [f"{names[0]} read {key} = {values[0]}, which holds an element twice."]
    if anomaly.kind == "incompatible-order":
        return [f"{names[0]} read {key} = {values[0]} and {names[1]} read {key} = {values[1]}: "
                "neither is a prefix of the other, so no one order of appends explains both."]
    if anomaly.kind == "internal":
        expected = (f"{values[0]}" if anomaly.values[0] is not None
                    else "a value ending in its own appends")
        return [f"{names[0]} read {key} = {values[1]}, but its own earlier reads and writes say {expected}."]
    if anomaly.kind == "lost-update":
        version = values[0] if anomaly.values[0] is not None else "nil (nothing written yet)"
        return [f"{', '.join(names)} each read {key} at {version} and each wrote {key}: all but one update "
                "was lost."]
    if anomaly.kind == "missing-element":
        return [f"{names[0]} appended {values[0]} to {key} and completed before {names[1]} began, yet "
                f"{names[1]} read {key} = {values[1]}, without it."]
    if anomaly.kind == "cycle-exists":
        return [f"{len(names)} transactions form a cycle ({', '.join(names[:10])}"
                f"{', ...' if len(names) > 10 else ''}); the search ran out of time before naming it."]
    raise ValueError(f"unknown anomaly kind {anomaly.kind!r}")


def render(anomaly: Anomaly, kind: str, lists: Collection[Hashable] = ()) -> str:
    """``anomaly`` as text: a heading (its name, the models it rules out, the transactions), then
    its sentences, indented."""
    heading = (f"{anomaly.kind} (rules out {', '.join(anomaly.models)}): "
               f"{', '.join(_name(index) for index in anomaly.transactions)}")
    return "\n".join([heading, *("  " + sentence for sentence in describe(anomaly, kind, lists))])


def _is_list(kind: str, key: Hashable, lists: Collection[Hashable]) -> bool:
    return kind == LIST_APPEND or (kind == MIXED and key in lists)
