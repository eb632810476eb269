"""A fast path for string parts built by puts and appends of unique values, read whole.

Porcupine's kv histories (and any store that appends unique tokens to a string) are hard for the
search: with fifty clients, the same key's appends overlap, and the search tries their orders one
by one.  But a read that returns the whole string tells more than a register read: split into the
values that were put or appended, it names *every* write since the last put, in order.  So when
every written value is unique (and not empty), the reads reveal the history's version order, and
deciding it is as easy as for a unique-value register (:mod:`redlin.search.fastpath`).  Like that
fast path, this one proves its "yes" with a witness the model replays, so a mistake here can only
cost speed: when it does not apply, or cannot find an order, the caller runs the full search.

The argument
------------
Split each read into written values (a value must match exactly one way, else the fast path does
not apply).  The value before each appended value, across all reads, must always be the same one
(or the read's start), else two reads disagree and the part is left to the search.  This gives every
observed write a *parent*; a put is always a read's first value.  The observed writes then form
*epochs*: the initial one (reads of ``""``, then the appends made onto the empty string), and one
per put (the put, then the appends made onto it), each a chain with no fork.

Call a write with the reads that returned exactly the string it made a *cluster*, as in the register
fast path: within an epoch the clusters' order is forced (the chain), and a forced order of clusters
respects real time iff no cluster completes (``f``: its earliest completion) before an earlier one
began (``s``: its latest invocation).  Between epochs nothing is forced: each epoch is a contiguous
block (a later put resets the string, so none can resume), and any order of blocks with the initial
one first is possible, so Gibbons & Korach's sort of the register fast path orders them, each block
with the ``s`` and ``f`` of all its operations.  A write no read saw is a block of its own: a put
nobody read is overwritten by the next block's put, and an append nobody read may end whichever
block it follows, unobserved; an indeterminate write nobody saw is left out (it may never have run).
Where the view knows the length each append made (Redis's APPEND replies it) and the part has no
put, the appends nobody read end the string instead, in the order of those lengths: a read after
one would have shown its value.

Its "no" needs no search either, when one of two patterns proves it (:func:`refute_appends`).  A
string's first value is a put's (or an append's made onto the empty string), and when that value
was written by one operation only, every string starting with it lies on the one chain of appends
made after that write: so two reads of such strings must be prefixes of one another (else they
*fork*), and a read that began after another completed cannot return a shorter one (it would be
*stale*: the write that started it cannot happen again).  Nor can a read return ``""`` once
another returned a longer string, since every value written is non-empty.

>>> from redlin.history.records import Operation
>>> ops = [Operation(0, "a", ("append", "k", "x1y"), None, invoke=0, complete=10),
...        Operation(1, "b", ("append", "k", "x2y"), None, invoke=1, complete=9),
...        Operation(2, "c", ("get", "k"), "x2yx1y", invoke=11, complete=12),
...        Operation(3, "d", ("get", "k"), "x2y", invoke=2, complete=8)]
>>> decide_appends(ops, kv_access)
(1, 3, 0, 2)
>>> stale = ops[:3] + [Operation(3, "d", ("get", "k"), "x2y", invoke=13, complete=14)]
>>> decide_appends(stale, kv_access) is None, refute_appends(stale, kv_access)
(True, (2, 3))
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from functools import cached_property

from redlin.history.records import Operation, Outcome

__all__ = ["AppendAccess", "StringPart", "decide_appends", "kv_access", "refute_appends"]

AppendAccess = tuple[str, Hashable, str, "int | None"]
"""How a view sees one operation: ``(kind, object, value, made)``, kind ``"read"``, ``"put"`` or
``"append"``; ``value`` is the value written, or the string a definite read returned; ``made`` the
length of the string a definite append made, when its reply says (Redis's APPEND), else ``None``.

The lengths order the appends nobody read: in a part without puts they all end the string, each
where its length says (see :func:`decide_appends`)."""

Seen = tuple[dict[str, list[int]], set[int], list[tuple[int, str]], dict[int, int]]
"""A part as :func:`_classify` sees it: the writes of each value, the puts, the definite reads, and
the length each append made (when its view says)."""

_INF = float("inf")
_NEG_INF = float("-inf")
_INITIAL = -1  # the initial epoch's root: the empty string, before any write


def kv_access(op: Operation) -> AppendAccess | None:
    """The kv models' ``get``, ``put`` and ``append`` (``None`` for anything else)."""
    call = op.call
    kind = call[0]
    if kind == "get" and len(call) == 2:
        return "read", call[1], op.result, None
    if kind in ("put", "append") and len(call) == 3:
        return kind, call[1], call[2], None
    return None


def decide_appends(ops: Sequence[Operation], access: Callable[[Operation], AppendAccess | None],
                   part: StringPart | None = None) -> tuple[int, ...] | None:
    """A linearization of ``ops`` (op ids, in order) for one string built by puts and appends of
    unique values, if the argument of the module docstring finds one; ``None`` otherwise.  Not
    re-verified here: the caller replays it through the model.  ``part``: ``ops`` already seen
    (:class:`StringPart`), when the caller may refute them too."""
    part = StringPart(ops, access) if part is None else part
    if part.seen is None:
        return None
    writers, is_put, reads, lengths = part.seen
    splits = part.splits()
    found = _parents(reads, writers, is_put, ops, splits)
    if found is None:
        return None
    parents, last_write = found
    child: dict[int, int] = {}
    for write, parent in parents.items():
        if parent is not None:
            if parent in child:
                return None  # two writes made onto the same string: the reads fork
            child[parent] = write
    clusters = _clusters(ops, reads, parents, last_write)
    if clusters is None:
        return None
    starts, finishes, members = clusters
    blocks: list[tuple[float, float, list[int]]] = []  # (s, f, operation indexes in order)
    first: tuple[float, float, list[int]] | None = None
    roots = [write for write, parent in parents.items() if parent is None]
    if _INITIAL in members or _INITIAL in child:
        roots.append(_INITIAL)
    for root in roots:
        block = _epoch(root, child, starts, finishes, members)
        if block is None:
            return None
        if root == _INITIAL:
            first = block
        else:
            blocks.append(block)
    unread: list[tuple[float, float, list[int]]] = []  # the definite writes nobody read
    for index in (index for same in writers.values() for index in same):
        complete = ops[index].complete
        if index not in parents and complete is not None:
            unread.append((ops[index].invoke, complete, [index]))
    if unread and not is_put and all(block[2][0] in lengths for block in unread):
        # No put: every append nobody read ends the string, where the length it made says.
        unread.sort(key=lambda block: lengths[block[2][0]])
        blocks += unread
    else:
        blocks += unread
        blocks.sort(key=lambda block: (min(block[0], block[1]), block[0] > block[1]))
    if first is not None:
        blocks.insert(0, (first[0], _NEG_INF, first[2]))
    latest_start = _NEG_INF
    for start, finish, _ in blocks:
        if finish < latest_start:
            return None
        latest_start = max(latest_start, start)
    return tuple(ops[index].id for _, _, indexes in blocks for index in indexes)


class StringPart:
    """A part as this fast path sees it (its writes, puts and definite reads, each read split), found
    once for :func:`decide_appends` and :func:`refute_appends` both, and only when one of them asks
    (a part another fast path decides is never classified here)."""

    def __init__(self, ops: Sequence[Operation], access: Callable[[Operation], AppendAccess | None]) -> None:
        self.ops, self.access = ops, access
        self._splits: dict[str, tuple[str, ...] | None] | None = None

    @cached_property
    def seen(self) -> Seen | None:
        """:func:`_classify`'s view of the part, found on first use."""
        return _classify(self.ops, self.access)

    def splits(self) -> dict[str, tuple[str, ...] | None]:
        """Every string read, split into the values it concatenates (``None``: not one way)."""
        if self._splits is None:
            assert self.seen is not None
            self._splits = _Splitter(self.seen[0]).all({text for _, text in self.seen[2]})
        return self._splits


def _classify(ops: Sequence[Operation], access: Callable[[Operation], AppendAccess | None]) -> Seen | None:
    """The writes of each value (by invocation), the indexes of puts, the definite reads, and the
    length each definite append made when its view says; ``None`` if the part is not one object's
    puts, appends and reads of non-empty strings."""
    writers: dict[str, list[int]] = {}
    is_put: set[int] = set()
    reads: list[tuple[int, str]] = []
    lengths: dict[int, int] = {}
    obj: Hashable = None
    definite, indeterminate = Outcome.OK, Outcome.INFO
    for index, op in enumerate(ops):
        seen = access(op)
        if seen is None:
            return None
        kind, name, value, made = seen
        if not index:
            obj = name
        elif name != obj:
            return None
        outcome = op.outcome
        if outcome is definite:
            complete = op.complete
            if complete is None or complete < op.invoke:
                return None  # malformed: the search reports it
        elif outcome is not indeterminate:
            return None
        if kind == "read":
            if outcome is definite:
                if value.__class__ is not str:
                    return None
                reads.append((index, value))
        else:
            if value.__class__ is not str or not value:
                return None
            same = writers.get(value)
            if same is None:
                writers[value] = [index]
            else:
                same.append(index)
            if kind == "put":
                is_put.add(index)
            elif made is not None and outcome is definite:
                lengths[index] = made
    for same in writers.values():
        if len(same) > 1:
            same.sort(key=lambda index: ops[index].invoke)
    return writers, is_put, reads, lengths


class _Splitter:
    """Strings split into the values they concatenate, if each splits exactly one way greedily (at
    every position exactly one written value fits).  Reads of one string grow by appends, so each
    split reuses what it can of the one before: a value found at a position where every written
    value's length fitted in the earlier string was checked against all of them, and the longer
    string starts with the same characters there, so the same value is found again."""

    def __init__(self, writers: dict[str, list[int]]) -> None:
        self.writers = writers
        self.lengths = sorted({len(value) for value in writers})
        self.longest = self.lengths[-1] if self.lengths else 0
        self.last_text = ""
        self.last_found: list[str] = []

    def __call__(self, text: str) -> tuple[str, ...] | None:
        found: list[str] = []
        position = 0
        last = self.last_text
        if last and text.startswith(last):
            checked = len(last) - self.longest  # a value found at or before this was checked against all
            for value in self.last_found:
                if position > checked:
                    break
                found.append(value)
                position += len(value)
        writers, lengths, end = self.writers, self.lengths, len(text)
        while position < end:
            match = None
            for length in lengths:
                if length > end - position:
                    break
                piece = text[position:position + length]
                if piece in writers:
                    if match is not None:
                        return None  # two values fit here: not one way
                    match = piece
            if match is None:
                return None
            found.append(match)
            position += len(match)
        self.last_text, self.last_found = text, found
        return tuple(found)

    def all(self, texts: Iterable[str]) -> dict[str, tuple[str, ...] | None]:
        """Each of ``texts`` split, shortest first (so the most is reused)."""
        return {text: self(text) for text in sorted(texts, key=len)}


def _parents(reads: list[tuple[int, str]], writers: dict[str, list[int]], is_put: set[int],
             ops: Sequence[Operation], splits: dict[str, tuple[str, ...] | None]
             ) -> tuple[dict[int, int | None], dict[str, int]] | None:
    """Each observed write's parent (the write before it, ``_INITIAL`` for an append made onto the
    empty string, ``None`` for a put), and the write that made each string read (the last value in
    it, ``_INITIAL`` for ``""``); ``None`` if reads disagree or one could not be split.

    A *version* is a string some read shows, whole or as a prefix ending at a value; each is made
    by a write of its last value.  When values repeat, the versions ending with a value take that
    value's writes in turn, the version needed earliest (the first completion of a read showing
    it) first, each the write invoked last before it was needed.  A wrong guess only fails the
    replay."""
    # Versions are numbered in a trie: (parent version, value) -> version, the empty string 0.
    trie: dict[tuple[int, str], int] = {}
    value_of: list[str] = [""]
    parent_of: list[int] = [-1]
    needed: list[float] = [_INF]  # by version: the earliest completion of a read showing it
    shown: dict[str, int] = {}  # each string read -> its version
    earliest: dict[str, float] = {}
    for index, text in reads:
        complete = ops[index].complete
        finish = _INF if complete is None else complete
        known = earliest.get(text)
        if known is None or known > finish:
            earliest[text] = finish
    # Shortest first: a string that extends the one before it continues its walk down the trie (its
    # split extends that one's, when both split one way), and each version's need is the least of
    # its descendants', set once every string has its version.
    last_text: str | None = None
    path: list[int] = [0]  # the versions along the last string, the empty string's first
    for text in sorted(earliest, key=len):
        values = splits[text]
        if values is None:
            return None
        if last_text is None or not text.startswith(last_text):
            path = [0]
        version = path[-1]
        for value in values[len(path) - 1:]:
            step = trie.get((version, value))
            if step is None:
                step = trie[(version, value)] = len(value_of)
                value_of.append(value)
                parent_of.append(version)
                needed.append(_INF)
            version = step
            path.append(version)
        if needed[version] > earliest[text]:
            needed[version] = earliest[text]
        shown[text] = version
        last_text = text
    for version in range(len(value_of) - 1, 0, -1):  # a child's version always comes after its parent's
        parent = parent_of[version]
        if needed[parent] > needed[version]:
            needed[parent] = needed[version]
    made: list[int] = [_INITIAL] * len(value_of)
    taken: set[int] = set()
    for version in sorted(range(1, len(value_of)), key=needed.__getitem__):
        # Of the writes of its value not taken yet (a put only for a string's first value), the
        # last one invoked before a read showed the version.
        need, first = needed[version], parent_of[version] == 0
        same = writers[value_of[version]]
        if len(same) == 1:  # the usual case: unique values
            write: int | None = same[0]
            if write in taken or (not first and write in is_put) or ops[same[0]].invoke > need:
                write = None
        else:
            write = max((write for write in same if write not in taken
                         and (first or write not in is_put) and ops[write].invoke <= need),
                        key=lambda write: ops[write].invoke, default=None)
        if write is None:
            return None  # shown before any write of its value began: the search explains it
        taken.add(write)
        made[version] = write
    parents: dict[int, int | None] = {}
    for version in range(1, len(value_of)):
        write = made[version]
        if write in is_put:
            if parent_of[version]:
                return None  # a put in the middle of a string: impossible, the search explains it
            parents[write] = None
        else:
            parents[write] = made[parent_of[version]]  # (_INITIAL for an append onto "")
    return parents, {text: made[version] for text, version in shown.items()}


def _clusters(ops: Sequence[Operation], reads: list[tuple[int, str]], parents: dict[int, int | None],
              last_write: dict[str, int]) -> tuple[dict[int, float], dict[int, float], dict[int, list[int]]] | None:
    """Each observed version's cluster (keyed by its write, ``_INITIAL`` for ``""``): latest
    invocation, earliest completion, and operations (write first, reads by invocation)."""
    members: dict[int, list[int]] = {}
    starts: dict[int, float] = {}
    finishes: dict[int, float] = {}
    for write in parents:
        op = ops[write]
        members[write] = [write]
        starts[write] = op.invoke
        finishes[write] = _INF if op.complete is None else op.complete
    for index, text in sorted(reads, key=lambda read: ops[read[0]].invoke):
        op = ops[index]
        write = last_write[text]
        if write not in members:
            members[write], starts[write], finishes[write] = [], _NEG_INF, _INF
        members[write].append(index)
        if op.invoke > starts[write]:
            starts[write] = op.invoke
        complete = op.complete if op.complete is not None else _INF
        if write != _INITIAL and complete < ops[write].invoke:
            return None  # read before it was written
        if complete < finishes[write]:
            finishes[write] = complete
    return starts, finishes, members


def _epoch(root: int, child: dict[int, int], starts: dict[int, float], finishes: dict[int, float],
           members: dict[int, list[int]]) -> tuple[float, float, list[int]] | None:
    """The block of the epoch that starts at ``root``: its ``s``, its ``f`` and its operations in
    the chain's order, or ``None`` if the forced order breaks real time."""
    chain = [root] if root in members else []
    write = root
    while write in child:
        write = child[write]
        chain.append(write)
    latest_start = start = _NEG_INF
    finish = _INF
    indexes: list[int] = []
    for cluster in chain:
        cluster_start, cluster_finish = starts[cluster], finishes[cluster]
        if cluster_finish < latest_start:
            return None
        if cluster_start > latest_start:
            latest_start = cluster_start
        if cluster_finish < finish:
            finish = cluster_finish
        indexes += members[cluster]
    start = latest_start
    return start, finish, indexes


def refute_appends(ops: Sequence[Operation], access: Callable[[Operation], AppendAccess | None],
                   part: StringPart | None = None) -> tuple[int, int] | None:
    """Two definite reads, as indexes ``(earlier, later)`` into ``ops``, that no order of the part
    explains (a fork or a stale read, see the module docstring), or ``None`` when neither pattern
    is found (which proves nothing: the search decides)."""
    part = StringPart(ops, access) if part is None else part
    if part.seen is None:
        return None
    writers, _, reads, _ = part.seen
    split = part.splits()
    longest: dict[str, tuple[int, tuple[str, ...]]] = {}  # first value -> a read of the longest string
    for index, text in reads:
        values = split[text]
        if values and len(writers[values[0]]) == 1:
            known = longest.get(values[0])
            if known is None or len(known[1]) < len(values):
                longest[values[0]] = (index, values)
    for index, text in reads:  # a fork: a string that is not a prefix of the longest one
        values = split[text]
        if values and values[0] in longest:
            other, whole = longest[values[0]]
            if whole[:len(values)] != values:
                return (other, index) if ops[other].invoke <= ops[index].invoke else (index, other)
    # Stale reads, in one sweep: the reads by invocation, against those completed before each.
    done = sorted(reads, key=lambda read: ops[read[0]].complete or 0.0)
    reached: dict[str, tuple[int, int]] = {}  # first value -> (most values, its read) completed so far
    any_done: int | None = None
    position = 0
    for index, text in sorted(reads, key=lambda read: ops[read[0]].invoke):
        invoke = ops[index].invoke
        while position < len(done) and (ops[done[position][0]].complete or 0.0) < invoke:
            earlier, values = done[position][0], split[done[position][1]]
            position += 1
            if values:
                any_done = earlier
                if values[0] in longest and len(values) > reached.get(values[0], (0, -1))[0]:
                    reached[values[0]] = (len(values), earlier)
        values = split[text]
        if values is not None and not values and any_done is not None:
            return any_done, index  # "" after a non-empty string
        if values and values[0] in reached and reached[values[0]][0] > len(values):
            return reached[values[0]][1], index
    return None
