"""Sets used one member at a time are checked member by member: the set fast path.

A Redis set that only ``SADD k m``, ``SREM k m``, ``SISMEMBER k m`` and ``SMISMEMBER k m`` touch,
each with a single member and each an operation of its own (not inside a transaction or a script,
and never the key of any other command), is a product of independent objects, one per member: a
boolean "is ``m`` in ``k``".  Each of those commands reads and changes its own member's boolean
and nothing else: its reply (``1``/``0``, or ``[1]``/``[0]``) depends on that boolean alone
(``SADD`` answers the number added, ``SREM`` the number removed: the sheet's D14), and with no
other command on the key, neither the key's existence nor its type can show (removing the last
member deletes the key, D14, which only a whole-key command could see; a no-op ``SADD`` or
``SREM`` touches nothing, W7, which only a WATCH on the key could see, and a WATCH is another
command on the key).
Linearizability is local (Herlihy & Wing, "Linearizability: a correctness condition for
concurrent objects", TOPLAS 1990, Theorem 1): a history of a product of objects is linearizable
iff each object's projection is.  So such a key's operations split into one part per member,
each a two-state object that the search decides at once, however many operations the key has.
This is the reduction Abdulla et al. use for their linear-time set monitor; a set read whole
(``SMEMBERS``, ``SCARD``) or touched by anything else keeps its key's part as before.

:func:`by_member` wraps the function that gives an operation's keys for the partition:

>>> from redlin.history.records import Operation
>>> def op(i, *argv): return Operation(i, i, (tuple(argv),), None, invoke=i, complete=i + 1)
>>> ops = [op(0, b"SADD", b"s", b"a"), op(1, b"SISMEMBER", b"s", b"b"), op(2, b"SADD", b"t", b"a"),
...        op(3, b"SMEMBERS", b"t")]
>>> keys = by_member([member_of(o) for o in ops], [frozenset({o.call[0][1]}) for o in ops])
>>> [sorted(found) for found in keys]
[[('member', b's', b'a')], [('member', b's', b'b')], [b't'], [b't']]
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Final

from redlin.history.records import Operation

MEMBER_COMMANDS: Final = frozenset({b"sadd", b"srem", b"sismember", b"smismember"})
"""The set commands whose reply and effect depend on their one member alone."""

Keys = frozenset[Hashable] | None
"""What an operation touches (``None``: everything)."""


def member_of(op: Operation) -> tuple[bytes, bytes] | None:
    """``(key, member)`` when ``op`` is one single-member set command of :data:`MEMBER_COMMANDS`.

    >>> member_of(Operation(0, 0, ((b"srem", b"k", b"m"),), None, invoke=0, complete=1))
    (b'k', b'm')
    >>> member_of(Operation(0, 0, ((b"SADD", b"k", b"m", b"n"),), None, invoke=0, complete=1)) is None
    True
    """
    return call_member(op.call)


def call_member(call: Sequence[Sequence[bytes]]) -> tuple[bytes, bytes] | None:
    """:func:`member_of` an operation whose call is ``call``."""
    if len(call) != 1:
        return None
    argv = call[0]
    if len(argv) != 3 or not isinstance(argv[0], bytes) or argv[0].lower() not in MEMBER_COMMANDS:
        return None
    return argv[1], argv[2]


def by_member(members: Sequence[tuple[bytes, bytes] | None], touched: Sequence[Keys]) -> list[Keys]:
    """The keys each operation touches (``touched``), except that an operation on a set only
    single-member commands touch (see the module docstring) has the key ``("member", key, member)``
    instead.  ``members``: each operation's :func:`member_of`."""
    mixed: set[Hashable] = set()  # keys some other operation touches: they stay whole
    for keys, pair in zip(touched, members):
        if keys is None:
            return list(touched)  # one part of all anyway
        if pair is None or keys != frozenset({pair[0]}):
            mixed.update(keys)
    return [frozenset({("member", *pair)}) if pair is not None and pair[0] not in mixed and keys == frozenset({pair[0]})
            else keys for keys, pair in zip(touched, members)]
