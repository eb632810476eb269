"""A token-bucket rate limiter: a Lua script takes tokens atomically, ``refill`` fills the bucket.

- ``rate_limiter`` is correct: ``take`` is one script (GET, compare, DECRBY), so no other client
  runs between its read and its write.
- ``racy_rate_limiter`` takes by GET, compare in Python, then SET (read-then-write instead of a
  script).  Two clients both read 3 tokens, both take 2, both succeed: four tokens spent from a
  bucket of three.  No order of whole calls lets both takes succeed without a refill between them
  (and a later ``tokens()`` read sees the second write overwrite the first).

No wall-clock time: redlin's model does not advance time, and Lua's ``TIME`` would differ between
the model and the server, so the bucket is refilled by an explicit ``refill`` operation instead of
by the time elapsed since the last take.  A real limiter computes the refill from the time; the
atomicity question (read, decide and write as one step) is the same.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from redlin.testing import Component

KEY = "example:bucket"
CAPACITY = 3
AMOUNTS = st.integers(1, 2)  # small amounts of a small bucket: takes compete for the last tokens

TAKE = """
local tokens = tonumber(redis.call('GET', KEYS[1]) or '0')
local wanted = tonumber(ARGV[1])
if tokens < wanted then
    return 0
end
redis.call('DECRBY', KEYS[1], wanted)
return 1
"""


def refill(r: Any) -> bool:
    return bool(r.set(KEY, CAPACITY))


def take_by_read_then_write(r: Any, n: int) -> int:
    tokens = int(r.get(KEY) or 0)
    if tokens < n:
        return 0
    r.set(KEY, tokens - n)
    return 1


def tokens_left(r: Any) -> int:
    return int(r.get(KEY) or 0)


def _component(name: str, *, atomic: bool) -> Component:
    component = Component(name, keys=[KEY])
    component.setup(refill)  # a full bucket to start with
    if atomic:
        component.script("take", TAKE, keys=[KEY], weight=2, n=AMOUNTS)
    else:
        component.add("take", take_by_read_then_write, weight=2, n=AMOUNTS)
    component.add("refill", refill)
    component.add("tokens", tokens_left)
    return component


rate_limiter = _component("rate-limiter", atomic=True)
racy_rate_limiter = _component("racy-rate-limiter", atomic=False)
