"""A distributed lock: ``SET key token NX PX ttl`` to acquire, a compare-and-delete script to release.

- ``lock`` is correct.
- ``racy_lock`` acquires by GET then SET from the client (read-then-write instead of one
  ``SET NX``): two clients both see the lock free, and both "acquire" it.  No order of whole calls
  lets two acquires succeed without a release between them.
- ``careless_lock`` releases with a plain DEL, not checking that the caller holds the lock.  A DEL
  is atomic, so this one is checked against a reference release (``spec=``, the script): a release
  by a client that does not hold the lock must fail and leave it held.

Time to live: redlin's model does not advance time, so keep the TTL longer than a test run.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from redlin.testing import Component

KEY = "example:lock"
TTL_MS = 60_000
TOKENS = st.sampled_from(["a", "b", "c"])

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


def acquire(r: Any, token: str) -> bool:
    return bool(r.set(KEY, token, nx=True, px=TTL_MS))


def acquire_by_get_then_set(r: Any, token: str) -> bool:
    if r.get(KEY) is not None:
        return False
    r.set(KEY, token, px=TTL_MS)
    return True


def release(r: Any, token: str) -> bool:
    return bool(r.register_script(RELEASE)(keys=[KEY], args=[token]))


def release_without_checking(r: Any, token: str) -> bool:
    return bool(r.delete(KEY))


def holder(r: Any) -> bytes | None:
    return r.get(KEY)  # type: ignore[no-any-return]


def _component(name: str, acquire_with: Any, release_with: Any, *, spec: Any = None) -> Component:
    component = Component(name, keys=[KEY])
    component.add("acquire", acquire_with, token=TOKENS)
    component.add("release", release_with, token=TOKENS, spec=spec)
    component.add("holder", holder)
    return component


lock = _component("lock", acquire, release)
racy_lock = _component("racy-lock", acquire_by_get_then_set, release)
careless_lock = _component("careless-lock", acquire, release_without_checking, spec=release)
