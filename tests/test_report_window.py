"""The report's window of drawn operations, against its definition written the plain way (issue #15).

:func:`redlin.report.html.select_window` picks the operations a page draws without sorting a long
history whole (a million-operation report sorted it twice).  Whatever the history, focus, part and
core, it must pick what sorting everything would: the ``limit`` first by invocation without a focus;
with one, the focus's neighbours in its part, the core, then the nearest others; and count the rest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence

from hypothesis import given
from hypothesis import strategies as st

from redlin import History, Operation, Outcome
from redlin.report.html import Window, select_window


def _end(op: Operation) -> int:
    return op.complete if op.complete is not None else op.invoke


def plain_window(history: History, focus: int | None, part: Sequence[int], core: Sequence[int],
                 limit: int, around: int) -> Window:
    """The window as its docstring defines it, by sorting everything."""
    ops = history.operations
    by_invocation = sorted(ops, key=lambda op: (op.invoke, op.id))
    if len(ops) <= limit:
        return Window(tuple(op.id for op in by_invocation), min(op.invoke for op in ops), max(map(_end, ops)))
    if focus is None:
        chosen = {op.id for op in by_invocation[:limit]}
        centre = by_invocation[0].invoke
    else:
        centre = history[focus].invoke
        ordered = sorted(part or (focus,), key=lambda i: (history[i].invoke, i))
        at = ordered.index(focus) if focus in ordered else 0
        chosen = set(ordered[max(0, at - around): at + around + 1]) | set(core) | {focus}
    start, end = min(history[i].invoke for i in chosen), max(_end(history[i]) for i in chosen)
    rest = sorted((op for op in ops if op.id not in chosen),
                  key=lambda op: (not (op.invoke <= end and _end(op) >= start), abs(op.invoke - centre), op.id))
    chosen.update(op.id for op in rest[:max(0, limit - len(chosen))])
    start, end = min(history[i].invoke for i in chosen), max(_end(history[i]) for i in chosen)
    hidden: dict[Hashable, Counter[str]] = {}
    hidden_ops = [op for op in ops if op.id not in chosen]
    for op in hidden_ops:
        hidden.setdefault(op.client, Counter())[op.outcome.value] += 1
    before = sum(1 for op in hidden_ops if _end(op) < start)
    after = sum(1 for op in hidden_ops if _end(op) >= start and op.invoke > end)
    return Window(tuple(sorted(chosen, key=lambda i: (history[i].invoke, i))), start, end, before, after,
                  len(hidden_ops) - before - after, hidden)


@st.composite
def windows(draw: st.DrawFn) -> tuple[History, int | None, list[int], list[int], int, int]:
    count = draw(st.integers(1, 40))
    ops = []
    for index in range(count):
        invoke = draw(st.integers(0, 60))
        definite = draw(st.booleans())
        complete = invoke + draw(st.integers(0, 20)) if definite else None
        ops.append(Operation(index, draw(st.integers(0, 3)), ("read",), 0, invoke, complete,
                             Outcome.OK if definite else Outcome.INFO))
    ids = st.integers(0, count - 1)
    focus = draw(st.none() | ids)
    part = draw(st.lists(ids, unique=True)) if focus is not None else []
    core = draw(st.lists(ids, unique=True, max_size=3)) if focus is not None else []
    return History(tuple(ops)), focus, part, core, draw(st.integers(1, 12)), draw(st.integers(0, 3))


@given(windows())
def test_the_window_is_the_one_sorting_everything_picks(case: tuple[History, int | None, list[int], list[int], int, int]) -> None:
    history, focus, part, core, limit, around = case
    got = select_window(history, focus=focus, part=part, core=core, limit=limit, around=around)
    assert got == plain_window(history, focus, part, core, limit, around)
