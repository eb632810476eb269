"""The script cache in the partition of a Redis history: which operations it ties together.

The script cache is server state that no key names.  An EVALSHA succeeds only after an EVAL or
SCRIPT LOAD of the same body (redis-semantics.md E20, E21: EVAL caches its body too; a sha is
case-insensitive), and SCRIPT EXISTS reads entries (E21), so the partition
(:mod:`redlin.adapter.redis_model`) gives each entry a pseudo-key (:func:`script_cache_keys`) that
keeps them in one part.  Filling an entry gives the same cache whatever the order, and no reply
depends on it: an entry nothing reads (:func:`cache_reads`) ties nothing, so the EVALs of one script
on different keys fall into different parts.

>>> script_cache_keys(b"eval", (b"EVAL", b"return 1", b"0")) == (script_entry(b"return 1"),)
True
>>> fills_cache(b"eval", (b"EVAL", b"return 1", b"0")), fills_cache(b"evalsha", (b"EVALSHA", b"e0e1", b"0"))
(True, False)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

from redlin.adapter.deliveries import is_receive_argv
from redlin.adapter.restarts import is_restart_argv
from redlin.model._scripting import script_sha

__all__ = ["cache_reads", "fills_cache", "script_cache_keys", "script_entry"]

_CACHE_COMMANDS = frozenset({b"eval", b"evalsha", b"eval_ro", b"evalsha_ro", b"script"})


def script_entry(body: bytes) -> bytes:
    """The pseudo-key of the script-cache entry of ``body`` (its SHA1 as the model names it, which
    the model remembers for the few bodies a history sends again and again)."""
    return b"\0script:" + script_sha(body)


def fills_cache(name: bytes, argv: Sequence[bytes]) -> bool:
    """Whether a command with script-cache entries only fills them (EVAL, EVAL_RO, SCRIPT LOAD) rather
    than reads them (EVALSHA, EVALSHA_RO, SCRIPT EXISTS)."""
    return name in (b"eval", b"eval_ro") or (name == b"script" and argv[1].lower() == b"load")


def cache_reads(calls: Iterable[Sequence[Sequence[bytes]]]) -> frozenset[Hashable]:
    """The script-cache entries some call of ``calls`` (the operations' calls) reads.

    Filling an entry (EVAL, SCRIPT LOAD) gives the same cache whatever the order, and no reply
    depends on it, so an entry that nothing reads ties no operations together: the EVALs of one
    script on different keys land in different parts (P-compositionality holds: their only
    shared state is one nobody observes).  An EVALSHA or SCRIPT EXISTS of the entry ties them all.

    >>> sorted(cache_reads([((b"EVAL", b"return 1", b"0"),), ((b"EVALSHA", b"E0E1", b"0"),)]))
    [b'\\x00script:e0e1']
    """
    read: set[Hashable] = set()
    for call in calls:
        for argv in call:
            if not argv or is_receive_argv(argv) or is_restart_argv(argv):
                continue
            name = argv[0].lower()
            if name in _CACHE_COMMANDS:
                scripts = script_cache_keys(name, argv)
                if scripts is not None and not fills_cache(name, argv):
                    read.update(scripts)
    return frozenset(read)


def script_cache_keys(name: bytes, argv: Sequence[bytes]) -> tuple[bytes, ...] | None:
    """The pseudo-keys of the script-cache entries a command reads or fills, if it touches any.

    The script cache is server state that no key names: an EVALSHA succeeds only after an EVAL or
    SCRIPT LOAD of the same body, and SCRIPT EXISTS reads entries.  Giving each SHA1 a key no client
    can use (it starts with a NUL byte) keeps these in the part of every operation that may have
    loaded their scripts (when some operation reads the entry: :func:`cache_reads`).  SCRIPT FLUSH
    and KILL still keep the history whole.

    >>> script_cache_keys(b"script", (b"SCRIPT", b"EXISTS", b"AB", b"cd"))
    (b'\\x00script:ab', b'\\x00script:cd')
    """
    if name in (b"evalsha", b"evalsha_ro") and len(argv) > 1:
        return (b"\0script:" + argv[1].lower(),)
    if name in (b"eval", b"eval_ro") and len(argv) > 1:
        return (script_entry(argv[1]),)
    sub = argv[1].lower() if name == b"script" and len(argv) > 1 else b""
    if sub == b"load" and len(argv) > 2:
        return (script_entry(argv[2]),)
    if sub == b"exists" and len(argv) > 2:
        return tuple(b"\0script:" + sha.lower() for sha in argv[2:])
    return None
