"""Checking Redis histories: operations, sessions (WATCH), transactions, indeterminate outcomes.

Each hand-made history names the concurrency guarantee it exercises (sheet items M17, W1, W3, E25
and DESIGN-NOTES) and its expected verdict; the Hypothesis tests generate histories by running the
model itself, so they are linearizable by construction, then corrupt one reply.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from redis_histories import NULL_ARRAY, OK, HistoryBuilder

from redlin import History, Linearizable, Operation, Outcome, Violation, check, minimise
from redlin.adapter.partition import session_windows
from redlin.adapter.redis_model import canonical_result, redis_model
from redlin.model import INITIAL_STATE, step
from redlin.search.minimise import weaken

MODEL = redis_model()
SINGLE = redis_model(partitioned=False)


def verdict(history: History, model=MODEL) -> str:  # type: ignore[no-untyped-def]
    result = check(history, model, time_limit=30)
    if isinstance(result, Linearizable):
        replay(history, result)
    return result.verdict


def replay(history: History, result: Linearizable) -> None:
    """The witness, replayed through the model, reproduces every definite reply (DESIGN-NOTES)."""
    for order in result.witness:
        state = INITIAL_STATE
        for op_id in order:
            op = history[op_id]
            if op.outcome is Outcome.OK:
                after = SINGLE.step(state, op)
                assert after is not None, f"witness step {op_id} rejected"
                state = after
            else:
                state = SINGLE.step(state, op)  # type: ignore[assignment]


def test_sequential_history_is_linearizable() -> None:
    h = HistoryBuilder()
    h.op(1, 0, 1, ("SET", "k", "1"), OK)
    h.op(2, 2, 3, ("GET", "k"), b"1")
    h.op(1, 4, 5, ("INCR", "k"), 2)
    assert verdict(h.history()) == "linearizable"


def test_stale_read_is_a_violation() -> None:
    h = HistoryBuilder()
    h.op(1, 0, 1, ("SET", "k", "1"), OK)
    h.op(1, 2, 3, ("SET", "k", "2"), OK)
    h.op(2, 4, 5, ("GET", "k"), b"1")  # began after SET k 2 completed
    assert verdict(h.history()) == "violation"


def test_concurrent_read_may_see_either_value() -> None:
    h = HistoryBuilder()
    h.op(1, 0, 1, ("SET", "k", "1"), OK)
    h.op(1, 2, 10, ("SET", "k", "2"), OK)
    h.op(2, 3, 4, ("GET", "k"), b"1")
    h.op(3, 5, 6, ("GET", "k"), b"2")
    assert verdict(h.history()) == "linearizable"
    h.op(2, 7, 8, ("GET", "k"), b"1")  # after someone saw 2, nobody sees 1 again
    assert verdict(h.history()) == "violation"


def test_lost_increment_is_a_violation() -> None:
    """Atomic INCR: two concurrent increments from 0 cannot both return 1."""
    h = HistoryBuilder()
    h.op(1, 0, 10, ("INCR", "n"), 1)
    h.op(2, 0, 10, ("INCR", "n"), 1)
    assert verdict(h.history()) == "violation"


def test_torn_transaction_is_a_violation() -> None:
    """M17: EXEC is atomic; a GET cannot see the first of two queued writes without the second."""
    h = HistoryBuilder()
    h.transaction(1, 0, 10, [("SET", "a", "1"), ("SET", "b", "1")], (OK, OK))
    h.op(2, 2, 8, ("MGET", "a", "b"), (b"1", None))
    assert verdict(h.history()) == "violation"
    h2 = HistoryBuilder()
    h2.transaction(1, 0, 10, [("SET", "a", "1"), ("SET", "b", "1")], (OK, OK))
    h2.op(2, 2, 8, ("MGET", "a", "b"), (b"1", b"1"))
    assert verdict(h2.history()) == "linearizable"


def test_transaction_replies_must_be_consecutive() -> None:
    """M17: MULTI; INCR x; INCR x; EXEC from two clients always returns consecutive values."""
    h = HistoryBuilder()
    h.transaction(1, 0, 10, [("INCR", "x"), ("INCR", "x")], (1, 3))
    h.transaction(2, 0, 10, [("INCR", "x"), ("INCR", "x")], (2, 4))
    assert verdict(h.history()) == "violation"
    h2 = HistoryBuilder()
    h2.transaction(1, 0, 10, [("INCR", "x"), ("INCR", "x")], (3, 4))
    h2.transaction(2, 0, 10, [("INCR", "x"), ("INCR", "x")], (1, 2))
    assert verdict(h2.history()) == "linearizable"


def test_nil_exec_justified_by_a_concurrent_write() -> None:
    """W1: a nil EXEC is legal when another client's write can be ordered after the WATCH."""
    h = HistoryBuilder()
    h.op(1, 0, 1, ("WATCH", "k"), OK)
    h.op(2, 0, 5, ("SET", "k", "x"), OK)
    h.transaction(1, 2, 6, [("SET", "k", "mine")], NULL_ARRAY)
    assert verdict(h.history()) == "linearizable"


def test_nil_exec_without_any_write_is_a_violation() -> None:
    """W1/W4: no write between WATCH and EXEC (a read does not touch), so EXEC must run."""
    h = HistoryBuilder()
    h.op(1, 0, 1, ("WATCH", "k"), OK)
    h.op(2, 0, 5, ("GET", "k"), None)
    h.transaction(1, 2, 6, [("SET", "k", "mine")], NULL_ARRAY)
    assert verdict(h.history()) == "violation"


def test_nil_exec_needs_the_write_after_the_watch() -> None:
    """A write that completed before WATCH was sent cannot dirty it."""
    h = HistoryBuilder()
    h.op(2, 0, 1, ("SET", "k", "x"), OK)
    h.op(1, 2, 3, ("WATCH", "k"), OK)
    h.transaction(1, 4, 6, [("SET", "k", "mine")], NULL_ARRAY)
    assert verdict(h.history()) == "violation"


def test_watch_ignored_lost_update_is_a_violation() -> None:
    """The classic lost update: both check-and-set transactions succeed although both read 0."""
    h = HistoryBuilder()
    h.op(0, 0, 1, ("SET", "bal", "0"), OK)
    for client in (1, 2):
        h.op(client, 2, 3, ("WATCH", "bal"), OK)
        h.op(client, 4, 5, ("GET", "bal"), b"0")
    h.transaction(1, 6, 9, [("SET", "bal", "1")], (OK,))
    h.transaction(2, 6, 9, [("SET", "bal", "1")], (OK,))
    assert verdict(h.history()) == "violation"
    assert verdict(h.history(), SINGLE) == "violation"


def test_own_write_dirties_own_watch() -> None:
    """W3: a write by the watching client itself before MULTI makes its EXEC return nil."""
    h = HistoryBuilder()
    h.op(1, 0, 1, ("WATCH", "k"), OK)
    h.op(1, 2, 3, ("SET", "k", "1"), OK)
    h.transaction(1, 4, 5, [("GET", "k")], NULL_ARRAY)
    assert verdict(h.history()) == "linearizable"
    h2 = HistoryBuilder()
    h2.op(1, 0, 1, ("WATCH", "k"), OK)
    h2.op(1, 2, 3, ("SET", "k", "1"), OK)
    h2.transaction(1, 4, 5, [("GET", "k")], (b"1",))
    assert verdict(h2.history()) == "violation"


def test_unwatch_in_another_part_is_kept_with_its_session() -> None:
    """Partitioning must not separate UNWATCH (no keys) from the WATCH/EXEC it affects."""
    h = HistoryBuilder()
    h.op(1, 0, 1, ("WATCH", "k"), OK)
    h.op(1, 2, 3, ("UNWATCH",), OK)
    h.op(2, 4, 5, ("SET", "k", "x"), OK)
    h.transaction(1, 6, 7, [("SET", "j", "1")], (OK,))  # must run: nothing is watched
    assert verdict(h.history()) == "linearizable"
    assert session_windows(h.history().operations) == [[0, 1]]


def test_indeterminate_write_that_happened() -> None:
    """DESIGN-NOTES: an INFO write may take effect after its invocation..."""
    h = HistoryBuilder()
    h.op(1, 0, None, ("SET", "k", "1"), outcome=Outcome.INFO)
    h.op(2, 5, 6, ("GET", "k"), b"1")
    assert verdict(h.history()) == "linearizable"


def test_indeterminate_write_that_did_not_happen() -> None:
    """... or never."""
    h = HistoryBuilder()
    h.op(1, 0, None, ("SET", "k", "1"), outcome=Outcome.INFO)
    h.op(2, 5, 6, ("GET", "k"), None)
    assert verdict(h.history()) == "linearizable"


def test_indeterminate_write_cannot_happen_before_its_invocation() -> None:
    h = HistoryBuilder()
    h.op(2, 0, 1, ("GET", "k"), b"1")
    h.op(1, 5, None, ("SET", "k", "1"), outcome=Outcome.INFO)
    assert verdict(h.history()) == "violation"


def test_indeterminate_op_ends_its_session() -> None:
    """A client whose EXEC timed out lost its connection: its WATCH is gone with it."""
    h = HistoryBuilder()
    h.op(1, 0, 1, ("WATCH", "k"), OK)
    h.op(1, 2, None, ("MULTI",), ("SET", "k", "1"), ("EXEC",), outcome=Outcome.INFO)
    h.op(2, 3, 4, ("GET", "k"), b"1")
    assert verdict(h.history()) == "linearizable"


def test_unordered_replies_compare_as_sets() -> None:
    h = HistoryBuilder()
    h.op(1, 0, 1, ("SADD", "s", "b", "a", "c"), 3)
    h.op(2, 2, 3, ("SMEMBERS", "s"), (b"c", b"a", b"b"))
    history = h.history()
    ops = tuple(
        op if op.id == 0 else Operation(op.id, op.client, op.call, canonical_result(op.call, op.result),
                                        op.invoke, op.complete)
        for op in history
    )
    assert verdict(History(ops)) == "linearizable"


def test_minimal_counterexample_of_a_stale_read() -> None:
    h = HistoryBuilder()
    for i in range(6):
        h.op(3, 100 + 2 * i, 101 + 2 * i, ("SET", f"other{i}", "x"), OK)
    h.op(1, 0, 1, ("SET", "k", "1"), OK)
    h.op(1, 2, 3, ("SET", "k", "2"), OK)
    h.op(2, 4, 5, ("GET", "k"), b"1")
    h.op(2, 6, 7, ("GET", "k"), b"2")
    history = h.history()
    result = check(history, MODEL)
    assert isinstance(result, Violation)
    core = minimise(history, MODEL, result, time_limit=10)
    # Weakened, SET k 1 could land after SET k 2; so a core needs three operations: either
    # SET k 1, SET k 2, GET -> 1 or SET k 2, GET -> 1, GET -> 2.  The unrelated keys are gone.
    assert sorted(core) in ([6, 7, 8], [7, 8, 9])


# ------------------------------------------------------------------ generated histories

COMMANDS = st.one_of(
    st.tuples(st.just("SET"), st.sampled_from("ab"), st.sampled_from("123")),
    st.tuples(st.just("GET"), st.sampled_from("ab")),
    st.tuples(st.just("INCR"), st.sampled_from("ab")),
    st.tuples(st.just("DEL"), st.sampled_from("ab")),
    st.tuples(st.just("APPEND"), st.sampled_from("ab"), st.sampled_from("xy")),
    st.tuples(st.just("LPUSH"), st.just("l"), st.sampled_from("xy")),
)


@st.composite
def sequential_runs(draw: st.DrawFn) -> History:
    """Run random commands through the model one after another, then give each operation an
    interval that contains its point in the sequence, so the history is linearizable."""
    commands = draw(st.lists(st.tuples(st.integers(1, 3), COMMANDS), min_size=1, max_size=14))
    state = INITIAL_STATE
    ops = []
    busy_until = {1: 0, 2: 0, 3: 0}
    next_point = {}  # position -> the point of the same client's next command
    for position in range(len(commands) - 1, -1, -1):
        client = commands[position][0]
        next_point[position] = next((10 * (p + 1) for p in range(position + 1, len(commands))
                                     if commands[p][0] == client), 10**9)
    for position, (client, command) in enumerate(commands):
        argv = tuple(part.encode() for part in command)
        state, reply = step(state, client, argv)
        point = 10 * (position + 1)  # the linearization point, inside the interval
        start = max(busy_until[client] + 1, point - draw(st.integers(0, 25)))
        end = min(point + draw(st.integers(0, 25)), next_point[position] - 2)
        busy_until[client] = end
        ops.append(Operation(position, client, (argv,), (reply,), start, end))
    return History(tuple(ops))


@given(sequential_runs())
def test_generated_sequential_runs_are_linearizable(history: History) -> None:
    assert verdict(history) == "linearizable"
    assert verdict(history, SINGLE) == "linearizable"


@given(sequential_runs(), st.data())
def test_a_corrupted_reply_is_found_unless_it_is_explainable(history: History, data: st.DataObject) -> None:
    """Corrupt one GET's reply to a value no command ever wrote: always a violation."""
    reads = [op for op in history if op.call[0][0] == b"GET"]
    if not reads:
        return
    victim = data.draw(st.sampled_from(reads))
    corrupted = Operation(victim.id, victim.client, victim.call, (b"never-written",), victim.invoke, victim.complete)
    ops = tuple(corrupted if op.id == victim.id else op for op in history)
    assert verdict(History(ops)) == "violation"


def test_script_with_undeclared_keys_is_checked_unpartitioned() -> None:
    """A script that writes a key it did not declare joins parts the key split kept apart.

    Split by declared keys, the GET of b would be judged alone (b never written: a violation);
    the checker must notice the undeclared write and check the whole history as one part.
    """
    body = "redis.call('SET', 'b', 'x') return redis.call('SET', KEYS[1], 'y')"
    h = HistoryBuilder()
    h.op(1, 0, 1, ("EVAL", body, "1", "a"), OK)
    h.op(2, 2, 3, ("GET", "b"), b"x")
    assert [[op.id for op in part] for part in MODEL.partition(h.history().operations)] == [[0], [1]]
    assert verdict(h.history()) == "linearizable"
    h.op(2, 4, 5, ("GET", "b"), None)  # after b was written: a real violation stays one
    assert verdict(h.history()) == "violation"


def test_script_with_declared_keys_keeps_the_split() -> None:
    h = HistoryBuilder()
    h.op(1, 0, 1, ("EVAL", "return redis.call('INCR', KEYS[1])", "1", "a"), 1)
    h.op(2, 2, 3, ("GET", "b"), None)
    result = check(h.history(), MODEL)
    assert isinstance(result, Linearizable) and len(result.parts) == 2


def test_weakened_operation_keeps_its_clients_session() -> None:
    """A core must not rely on a weakened operation ending its client's session.

    Client 1 WATCHes k, reads it, and its EXEC returns nil because client 2 wrote k.  Weakening the
    GET (or client 2's earlier unrelated write) must leave the WATCH in force: were the session
    dropped, the nil EXEC would look unjustified and a spurious core would come out.
    """
    h = HistoryBuilder()
    h.op(1, 0, 1, ("WATCH", "k"), OK)
    h.op(1, 2, 3, ("GET", "k"), None)
    h.op(2, 2, 7, ("SET", "k", "x"), OK)
    h.transaction(1, 4, 8, [("SET", "k", "mine")], NULL_ARRAY)
    h.op(3, 9, 10, ("GET", "k"), b"mine")  # the violation: the aborted transaction's write seen
    history = h.history()
    result = check(history, MODEL)
    assert isinstance(result, Violation)
    core = minimise(history, MODEL, result, time_limit=10)
    weakened = History(tuple(op if op.id in core else weaken(op) for op in history))
    assert isinstance(check(weakened, SINGLE), Violation)
    assert sorted(core) == [3, 4]  # the nil EXEC, and the read of the write it cannot have made


def test_evalsha_shares_a_part_with_the_load_of_its_script() -> None:
    """E21: EVAL caches its body, so a later EVALSHA on another key succeeds; split by key alone,
    the EVALSHA's part would start with an empty script cache and reply NOSCRIPT."""
    body = "return redis.call('INCR', KEYS[1])"
    sha = __import__("hashlib").sha1(body.encode()).hexdigest()
    h = HistoryBuilder()
    h.op(1, 0, 1, ("EVAL", body, "1", "a"), 1)
    h.op(2, 2, 3, ("EVALSHA", sha.upper(), "1", "b"), 1)  # the SHA is case-insensitive (E20)
    h.op(3, 4, 5, ("GET", "c"), None)
    parts = [[op.id for op in part] for part in MODEL.partition(h.history().operations)]
    assert sorted(parts) == [[0, 1], [2]]
    assert verdict(h.history()) == "linearizable"
    h.op(2, 6, 7, ("EVALSHA", "0" * 40, "1", "b"), 1)  # never loaded: must reply NOSCRIPT
    assert verdict(h.history()) == "violation"
