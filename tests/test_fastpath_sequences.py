"""The list fast path (redlin.search.sequences) against the search: random one-list Redis histories
of unique RPUSHes and LPOPs (a queue) or RPOPs (a stack), linearizable and mutated, and each of its
proofs and declines by hand."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis_histories import effect_order, random_span

from redlin import History, Operation, Outcome, redis_model
from redlin.adapter.views import redis_list_access
from redlin.cli import main
from redlin.history.jsonl import save_history
from redlin.search import sequences
from redlin.search.fastpath import fast_decision, fast_order, replay_ok
from redlin.search.sequences import decide_sequence, refute_sequence
from redlin.search.wgl import Linearized, OutOfBudget, Stuck, search_part

MODEL = redis_model(partitioned=False)


def op(index: int, argv: tuple[bytes, ...], reply: Any, invoke: int, complete: int | None) -> Operation:
    """A one-command Redis operation (INFO when ``complete`` is None)."""
    outcome = Outcome.OK if complete is not None else Outcome.INFO
    return Operation(index, index, (argv,), (reply,) if complete is not None else None, invoke, complete, outcome)


def push(index: int, value: bytes, length: int, invoke: int, complete: int | None) -> Operation:
    return op(index, (b"RPUSH", b"q", value), length, invoke, complete)


def pop(index: int, value: bytes | None, invoke: int, complete: int | None, *, queue: bool = True) -> Operation:
    return op(index, (b"LPOP" if queue else b"RPOP", b"q"), value, invoke, complete)


def simulated(pick: Callable[[int, int], int], *, queue: bool) -> list[Operation]:
    """Each operation takes effect at a random point of its interval (INFO ones maybe never), so the
    history is linearizable; then a pop may be given another value, or a push another length."""
    count = pick(1, 9)
    pushes = [bool(pick(0, 1)) for _ in range(count)]
    spans = [random_span(pick, info_one_in=6) for _ in range(count)]
    items: list[bytes] = []
    replies: list[Any] = [None] * count
    for index in effect_order(spans):
        if pushes[index]:
            items.append(b"v%d" % index)
            replies[index] = len(items)
        elif items:
            replies[index] = items.pop(0) if queue else items.pop()
    values = [b"v%d" % index for index in range(count) if pushes[index]]
    ops = []
    for index in range(count):
        invoke, complete, _ = spans[index]
        reply = replies[index]
        if complete is not None and pick(0, 4) == 0:  # a mutation: maybe no longer linearizable
            reply = pick(1, 4) if pushes[index] else ([None, *values])[pick(0, len(values))]
        if pushes[index]:
            ops.append(push(index, b"v%d" % index, reply, invoke, complete))
        else:
            ops.append(pop(index, reply, invoke, complete, queue=queue))
    return ops


def search_says_linearizable(ops: list[Operation]) -> bool:
    outcome = search_part(ops, MODEL, deadline=None, max_states=1_000_000)  # no fast path
    assert not isinstance(outcome, OutOfBudget)
    return isinstance(outcome, Linearized)


@st.composite
def histories(draw: st.DrawFn) -> list[Operation]:
    return simulated(lambda lo, hi: draw(st.integers(lo, hi)), queue=draw(st.booleans()))


@given(histories())
def test_every_answer_of_the_fast_path_is_the_search_verdict(ops: list[Operation]) -> None:
    decided = fast_decision(ops, MODEL)
    if decided is not None:
        assert isinstance(decided, Linearized) == search_says_linearizable(ops), (decided, ops)


def test_a_seeded_sweep_decides_most_small_histories_both_ways() -> None:
    rng = random.Random(5)
    counts = {"yes": 0, "no": 0, "linearizable": 0, "violations": 0}
    for round_ in range(1500):
        ops = simulated(lambda lo, hi: rng.randint(lo, hi), queue=round_ % 2 == 0)
        expected = search_says_linearizable(ops)
        raw = decide_sequence(ops, redis_list_access)
        assert raw is None or replay_ok(raw, ops, MODEL), ("an order the replay rejects", ops)
        decided = fast_decision(ops, MODEL)
        assert decided is None or isinstance(decided, Linearized) == expected, (decided, ops)
        counts["linearizable" if expected else "violations"] += 1
        counts["yes"] += isinstance(decided, Linearized)
        counts["no"] += isinstance(decided, Stuck)
    assert counts["yes"] >= 0.95 * counts["linearizable"], counts
    assert counts["no"] >= 0.3 * counts["violations"] and counts["violations"] > 200, counts


def list_history(seed: int, ops: int, *, queue: bool) -> list[Operation]:
    """Eight clients' pushes and pops on one list, each taking effect at a random point of its
    interval: linearizable (the generator of bench/queues.py)."""
    rng = random.Random(seed)
    free_at = [0] * 8
    drawn = []
    for index in range(ops):
        client = rng.randrange(8)
        invoke = free_at[client] + rng.randrange(1, 4)
        complete = free_at[client] = invoke + rng.randrange(1, 12)
        drawn.append((rng.uniform(invoke, complete), index, rng.random() < 0.55, invoke, complete))
    items: list[bytes] = []
    made: list[Operation] = []
    for _, index, pushes, invoke, complete in sorted(drawn):
        if pushes:
            items.append(b"v%d" % index)
            made.append(push(index, b"v%d" % index, len(items), invoke, complete))
        else:
            value = (items.pop(0) if queue else items.pop()) if items else None
            made.append(pop(index, value, invoke, complete, queue=queue))
    return sorted(made, key=lambda made_op: made_op.id)


def test_generated_linearizable_lists_are_decided() -> None:
    for queue, size in ((True, 200), (False, 200), (False, 2000)):
        decided = sum(isinstance(fast_decision(list_history(seed, size, queue=queue), MODEL), Linearized)
                      for seed in range(20))
        assert decided >= 18, (queue, size, decided)


def refuted(ops: list[Operation]) -> tuple[str, int, tuple[int, ...]] | None:
    """The proof, which must make ``fast_decision`` say Stuck, and the search agree."""
    found = refute_sequence(ops, redis_list_access)
    if found is not None:
        decided = fast_decision(ops, MODEL)
        assert isinstance(decided, Stuck) and decided.operation == ops[found[1]].id
        assert not search_says_linearizable(ops)
    return found


def test_each_proof_kind() -> None:
    a, b = b"a", b"b"
    assert refuted([push(0, a, 1, 0, 1), pop(1, a, 2, 3), pop(2, a, 4, 5)]) == ("repeat", 2, (1,))
    assert refuted([pop(0, a, 0, 1)]) == ("fresh", 0, ())
    assert refuted([pop(0, a, 0, 1), push(1, a, 1, 2, 3)]) == ("early", 0, (1,))
    fifo = [push(0, a, 1, 0, 1), push(1, b, 2, 2, 3), pop(2, b, 4, 5), pop(3, a, 6, 7)]
    assert refuted(fifo) == ("order", 2, (0, 1, 3))
    assert refuted(fifo[:3]) == ("order", 2, (0, 1))  # a never popped, and no pop indeterminate
    assert refuted([*fifo[:3], pop(3, None, 6, None)]) is None  # an INFO pop may have taken a
    lifo = [push(0, a, 1, 0, 1), push(1, b, 2, 2, 3), pop(2, a, 4, 5, queue=False), pop(3, b, 6, 7, queue=False)]
    assert refuted(lifo) == ("order", 2, (0, 1, 3))
    assert refuted([push(0, a, 1, 0, 1), pop(1, None, 2, 3), pop(2, a, 4, 5)]) == ("witness", 1, (0, 2))
    assert refuted([push(0, a, 1, 0, 1), pop(1, None, 2, 3)]) == ("witness", 1, (0,))
    # Touching intervals overlap: a may be popped at 3, just before the empty pop.
    touching = [push(0, a, 1, 0, 1), pop(1, None, 2, 3), pop(2, a, 3, 4)]
    assert refuted(touching) is None and isinstance(fast_decision(touching, MODEL), Linearized)


def test_each_proof_is_explained_in_its_own_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = b"a", b"b"
    sentences = {
        "repeat": ([push(0, a, 1, 0, 1), pop(1, a, 2, 3), pop(2, a, 4, 5)], "popped the same value from the list"),
        "early": ([pop(0, a, 0, 1), push(1, a, 1, 2, 3)], "the only push of it, began"),
        "order": ([push(0, a, 1, 0, 1), push(1, b, 2, 2, 3), pop(2, b, 4, 5), pop(3, a, 6, 7)],
                  "popped its value out of order"),
        "witness": ([push(0, a, 1, 0, 1), pop(1, None, 2, 3), pop(2, a, 4, 5)], "found the list empty while"),
    }
    for name, (ops, sentence) in sentences.items():
        assert refuted(ops) is not None and refuted(ops)[0] == name  # type: ignore[index]
        save_history(History(tuple(ops)), tmp_path / f"{name}.jsonl")
        assert main(["check", "--model", "redis", "--no-report", str(tmp_path / f"{name}.jsonl")]) == 1
        out = capsys.readouterr().out
        assert "Found without a search: " in out and sentence in out, out


def test_each_decline() -> None:
    a, b = b"a", b"b"
    twice = [push(0, a, 1, 0, 1), push(1, a, 2, 2, 3), pop(2, a, 4, 5), pop(3, a, 6, 7)]
    both_ends = [push(0, a, 1, 0, 1), op(1, (b"LPUSH", b"q", b), 2, 2, 3), pop(2, b, 4, 5)]
    other = [push(0, a, 1, 0, 1), op(1, (b"LRANGE", b"q", b"0", b"-1"), (a,), 2, 3)]
    keys = [push(0, a, 1, 0, 1), op(1, (b"RPUSH", b"r", b), 1, 2, 3)]
    counted = [push(0, a, 1, 0, 1), op(1, (b"LPOP", b"q", b"1"), (a,), 2, 3)]
    error = [push(0, a, 1, 0, 1), pop(1, None, 2, 3), op(2, (b"LPOP", b"q"), "WRONGTYPE", 4, 5)]
    for ops in (twice, both_ends, other, keys, counted, error):
        assert decide_sequence(ops, redis_list_access) is None and refute_sequence(ops, redis_list_access) is None
        assert fast_order(ops, MODEL) is None  # (each is one client's: real time alone decides it, redlin.search.forced)
    # A length no order gives: neither a witness nor one of the proofs; the search decides.
    wrong_length = [push(0, a, 1, 0, 1), push(1, b, 1, 2, 3)]
    assert fast_order(wrong_length, MODEL) is None and refute_sequence(wrong_length, redis_list_access) is None
    assert not search_says_linearizable(wrong_length)
    refused = fast_decision(wrong_length, MODEL)  # the order real time forces, refused at its second push
    assert isinstance(refused, Stuck) and refused.operation == 1 and not refused.proof



def test_past_its_budget_the_walk_declines(monkeypatch: pytest.MonkeyPatch) -> None:
    ops = list_history(0, 2000, queue=False)
    assert isinstance(fast_decision(ops, MODEL), Linearized)
    monkeypatch.setattr(sequences, "STEPS_PER_OPERATION", 0)  # a thousand steps in all
    assert decide_sequence(ops, redis_list_access) is None and fast_decision(ops, MODEL) is None


def test_indeterminate_operations() -> None:
    a, b = b"a", b"b"
    # A popped INFO push is placed; an unpopped one is left out; an INFO pop only when needed.
    ops = [push(0, a, 0, 0, None), pop(1, a, 1, 2), push(2, b, 0, 3, None), pop(3, None, 4, 5)]
    decided = fast_decision(ops, MODEL)
    assert isinstance(decided, Linearized) and decided.order == (0, 1, 3)
    needed = [push(0, a, 1, 0, 1), pop(1, None, 2, None), push(2, b, 1, 3, 4), pop(3, b, 5, 6)]
    decided = fast_decision(needed, MODEL)
    assert isinstance(decided, Linearized) and decided.order == (0, 1, 2, 3)
    lengthened = [push(0, a, 0, 0, None), push(1, b, 2, 1, 2)]  # b's length says a went first
    decided = fast_decision(lengthened, MODEL)
    assert isinstance(decided, Linearized) and decided.order == (0, 1)
