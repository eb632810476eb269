"""Selling from a stock without overselling: WATCH the stock, check it, decrement it in MULTI/EXEC.

- ``stock`` is correct: ``buy`` runs in redis-py's ``transaction`` helper (WATCH, GET, MULTI,
  DECRBY, EXEC, retried when EXEC fails because another client changed the stock meanwhile), so a
  sale only happens if the stock it checked is still the stock it decrements.  A buyer that finds
  too little stock gets ``False`` and the stock is untouched.
- ``racy_stock`` buys by GET, compare in Python, then DECRBY, without WATCH or MULTI.  Two buyers
  of the last items both see enough stock and both succeed: the stock goes negative (3 items, two
  buyers of 2).  No order of whole calls lets both sales succeed, since the second would have seen
  too little stock.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from redlin.testing import Component

KEY = "example:stock"
INITIAL = 3
QUANTITIES = st.integers(1, 2)  # a stock of three sold one or two at a time: the last items are contested


def open_shop(r: Any) -> None:
    r.set(KEY, INITIAL)


def buy(r: Any, n: int) -> bool:
    def sell(pipe: Any) -> bool:
        if int(pipe.get(KEY) or 0) < n:  # after WATCH, before MULTI: runs immediately
            return False  # the helper still runs an empty MULTI/EXEC, which checks the stock was unchanged
        pipe.multi()
        pipe.decrby(KEY, n)
        return True

    return bool(r.transaction(sell, KEY, value_from_callable=True))


def buy_without_watch(r: Any, n: int) -> bool:
    if int(r.get(KEY) or 0) < n:
        return False
    r.decrby(KEY, n)
    return True


def stock_left(r: Any) -> int:
    return int(r.get(KEY) or 0)


def _component(name: str, buy_with: Any) -> Component:
    component = Component(name, keys=[KEY])
    component.setup(open_shop)
    component.add("buy", buy_with, weight=2, n=QUANTITIES)
    component.add("stock", stock_left)
    return component


stock = _component("stock", buy)
racy_stock = _component("racy-stock", buy_without_watch)
