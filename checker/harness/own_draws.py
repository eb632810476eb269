"""redlin's program draws do not depend on which modules Hypothesis finds "local".

Hypothesis (6.131 and later) collects the numbers, strings and bytes written in the source of every
*local* module -- one outside site-packages and the standard library -- and returns one of them in
place of about one integer draw in twenty (``HypothesisProvider._maybe_draw_constant``).  In a
user's own property test that finds the boundary values of the user's code.  In redlin's program
searches it does harm:

- in an editable install (the README's ``pip install -e .``) redlin's own modules are local, so the
  same ``--seed`` draws other programs than an installed wheel does, and other programs again when
  a number anywhere in redlin's source changes, or when another module was imported first;
- the first draw of a process parses the source of every local module it has not seen (redlin's
  150 modules: ``python bench/draws.py`` drew 30 programs of the default family in 2.5 s with a
  cold cache, 1.5 s with a warm one, 0.5 s without the scan) and writes a cache file for each under
  ``.hypothesis/constants`` in the working directory.

Hypothesis has no setting for it (HypothesisWorks/hypothesis#4627).  Inside :func:`own_draws`, the
calling thread's draws see no local constants, as in a wheel install with no local code: the
scanner is wrapped once, and answers an empty pool to a thread inside the block.  Hypothesis's
global constants (integers near powers of two and ten, float corners, a few strings) are still
drawn as usual.  Outside the block, and in every other thread, Hypothesis behaves as it always does
(a user's tests keep their own constants).
The filtered pools Hypothesis caches per thread are dropped on the way in and out, so that neither
side sees the other's.  With a Hypothesis that has no such scanner the block changes nothing.

>>> with own_draws() as active:
...     scanning_skipped = not active or not len(_scan())
>>> scanning_skipped
True
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

try:  # Hypothesis's internals: present from 6.131 on (pinned in constraints.txt)
    from hypothesis.internal import constants_ast as _constants_ast
    from hypothesis.internal.conjecture import providers as _providers
except ImportError:  # pragma: no cover - an older Hypothesis draws no local constants
    _constants_ast = _providers = None  # type: ignore[assignment]

__all__ = ["own_draws", "supported"]

_inside = threading.local()
_wrapped: Callable[[], Any] | None = None


def supported() -> bool:
    """Whether this Hypothesis draws local constants in a way :func:`own_draws` can switch off."""
    return (_providers is not None and callable(getattr(_providers, "_get_local_constants", None))
            and hasattr(_providers, "CONSTANTS_CACHE") and hasattr(_constants_ast, "Constants"))


def _scan() -> Any:
    """Hypothesis's pool of local constants as the calling thread sees it now."""
    assert _providers is not None
    return _providers._get_local_constants()


def _install() -> None:
    """Wrap Hypothesis's scanner (once): inside :func:`own_draws` it answers an empty pool."""
    global _wrapped
    if _wrapped is not None:
        return
    original = _providers._get_local_constants
    empty = _constants_ast.Constants()

    def local_constants() -> Any:
        return empty if getattr(_inside, "depth", 0) else original()

    _wrapped = local_constants
    _providers._get_local_constants = local_constants


def _drop_cached_pools() -> None:
    """Forget the constant pools Hypothesis filtered for the calling thread (it refills them lazily)."""
    cache = getattr(_providers.CONSTANTS_CACHE, "cache", None)
    if cache is not None:
        cache.clear()


@contextmanager
def own_draws() -> Iterator[bool]:
    """Hypothesis draws of the calling thread see no local constants until the block ends; yields
    whether that could be arranged (``False``: this Hypothesis has no local constants to hide)."""
    if not supported():
        yield False
        return
    _install()
    _inside.depth = getattr(_inside, "depth", 0) + 1
    _drop_cached_pools()
    try:
        yield True
    finally:
        _inside.depth -= 1
        _drop_cached_pools()
