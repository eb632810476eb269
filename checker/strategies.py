"""Hypothesis strategies for Redis commands, transactions, scripts and parallel programs.

The generators behind ``redlin run`` are public here, so that you can compose them into your own
tests and state machines (issue #17):

===========================  ======================================================================
:func:`commands`             one command of any modelled data type (or of the names you give)
:func:`transactions`         ``MULTI``, drawn commands, ``EXEC`` or ``DISCARD``, sometimes after ``WATCH``
:func:`scripts`              ``EVAL`` of a Lua script of a few ``redis.call``/``redis.pcall`` calls
:func:`programs`             parallel programs of a workload family (what one run executes)
===========================  ======================================================================

A command is an argv: a tuple of ``bytes``, keys drawn from ``keys`` (the same few keys for every
command, so that commands meet on them and types clash on purpose), arguments from the corners
where implementations differ (0, ±2^63, ``inf``, ``nan``, empty and binary strings, negative
indexes...; see :mod:`redlin.harness.grammar`).  Every command name drawn is one redlin's model
implements, with the arity Redis accepts: a reply may be an error (a wrong type, a value out of
range), never "unknown command" or "wrong number of arguments".

These are ordinary Hypothesis strategies: every choice is a Hypothesis draw (``sampled_from``), so
shrinking moves each choice towards its first option (shorter commands, the first key, no
options), failures are saved to and replayed from the example database, and settings profiles,
``@example``, ``@reproduce_failure`` and ``find`` work as with any other strategy.

>>> from hypothesis import find, settings
>>> from redlin.strategies import commands
>>> find(commands(names=["INCR"]), lambda argv: True, settings=settings(database=None))
(b'INCR', b'k0')
>>> find(commands(names=["GET", "DEL"], keys=["a", "b"]), lambda argv: b"b" in argv,
...      settings=settings(database=None))
(b'GET', b'b')

Run what you draw against redlin's model (or your own client)::

    from hypothesis import given
    from redlin.model import Redis

    @given(commands())
    def test_no_crash(argv):
        Redis().client().execute(*argv)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from hypothesis import strategies as st

from redlin.harness.actions import Action, Program
from redlin.harness.generated import LONGEST_TRANSACTION, TOKEN, AnyCommand, AnyScript, AnyTransaction
from redlin.harness.grammar import GRAMMAR, LEFT_OUT, Choose, draw_argv, keys_for
from redlin.harness.guard import possible_commands
from redlin.harness.script_guard import script_source
from redlin.harness.workloads import FAMILIES, Family, drawing, family
from redlin.harness.workloads import programs as family_programs

__all__ = ["commands", "programs", "scripts", "transactions"]

DEFAULT_KEYS: Final = ("k0", "k1", "k2")
"""The keys drawn when none are given: few, so that commands meet on them."""

DEFAULT_VALUES: Final[st.SearchStrategy[bytes]] = st.sampled_from((b"v1", b"v2", b"v3"))
"""What fills a command's value slots when ``values`` is not given (the slots a run fills with a
value unique in the program; the grammar's corner values are drawn beside them)."""

_ANY_COMMAND: Final = AnyCommand()
_ANY_TRANSACTION: Final = AnyTransaction()
_ANY_SCRIPT: Final = AnyScript()


def commands(*, keys: Sequence[str] = DEFAULT_KEYS, names: Sequence[str] | None = None,
             values: st.SearchStrategy[bytes] = DEFAULT_VALUES) -> st.SearchStrategy[tuple[bytes, ...]]:
    """Argvs of one command each, from the whole grammar or only the commands ``names``.

    Parameters
    ----------
    keys
        The key names drawn (a command that takes several keys may repeat one).
    names
        Command names, any case (``["GET", "set"]``); ``None``: every command of
        :data:`redlin.harness.grammar.GRAMMAR` (``WATCH`` and ``UNWATCH`` less often).  A name the
        grammar leaves out is a ``ValueError`` that says why (``MULTI``: use :func:`transactions`).
    values
        Where a command takes a plain value (``SET k <value>``), this strategy gives it one time in
        three or so; the other times a corner value of the grammar is drawn.

    >>> from hypothesis import find, settings
    >>> find(commands(names=["LPUSH"], values=st.just(b"x")), lambda argv: len(argv) > 3,
    ...      settings=settings(database=None))
    (b'LPUSH', b'k0', b'x', b'x')
    """
    return _commands(_pool(keys), _grammar_names(names), values)


def transactions(*, keys: Sequence[str] = DEFAULT_KEYS, max_commands: int = LONGEST_TRANSACTION,
                 values: st.SearchStrategy[bytes] = DEFAULT_VALUES) -> st.SearchStrategy[tuple[tuple[bytes, ...], ...]]:
    """Transactions as the argvs a client sends in order, as ``redlin run`` draws them.

    Each is ``MULTI``, one to ``max_commands`` commands of the whole grammar, then ``EXEC`` (or
    ``DISCARD`` one time in eight).  Sometimes ``WATCH`` of some keys comes first (often the keys
    the block works on), then half the time a ``TYPE`` of each watched key, as a check-and-set
    reads before it decides.  One transaction in ten holds a command Redis refuses at queue time
    (``GET`` without its key): ``EXEC`` then replies ``EXECABORT``.

    >>> from hypothesis import find, settings
    >>> find(transactions(), lambda tx: True, settings=settings(database=None))
    ((b'MULTI',), (b'GET', b'k0'), (b'EXEC',))
    """
    if max_commands < 1:
        raise ValueError(f"max_commands must be at least 1, not {max_commands}")
    return _transactions(_pool(keys), max_commands, values)


def scripts(*, keys: Sequence[str] = DEFAULT_KEYS, values: st.SearchStrategy[bytes] = DEFAULT_VALUES,
            guarded: bool = False) -> st.SearchStrategy[tuple[bytes, ...]]:
    """``EVAL`` argvs: ``(b"EVAL", script, numkeys, *keys, *args)``.

    The script makes one to four ``redis.call`` or ``redis.pcall`` calls (GET, SET, INCR, LPUSH,
    SADD, HSET, ZADD...) on one to three of its declared ``KEYS`` and its one or two ``ARGV``, and
    returns every reply in a table.  With ``guarded``, the script is wrapped in redlin's script
    guard (:mod:`redlin.harness.script_guard`, about 8 kB), as ``redlin run`` sends it to a server
    it must not harm; the script's own text is the same.

    >>> from hypothesis import find, settings
    >>> argv = find(scripts(), lambda argv: True, settings=settings(database=None))
    >>> argv[0], argv[1].decode(), argv[2:]
    (b'EVAL', "local r1 = redis.call('GET', KEYS[1])\\nreturn {r1}", (b'1', b'k0', b'v1'))
    """
    return _scripts(_pool(keys), values, guarded)


def programs(workload: str | Family = "register", *, clients: int = 2, steps: int = 5,
             setup_steps: int = 3) -> st.SearchStrategy[Program]:
    """Parallel programs of a workload family (:func:`redlin.harness.workloads.programs`).

    ``workload`` is a family or its name (``register``, ``counter``, ``cas``, ``list-append``,
    ``transfer``, ``set``, ``stream``, ``mixed``, ``model``, ``default``, or a ``.json`` file of
    your own, see :func:`redlin.load_family`).  A program has a sequential setup (the family's own
    and up to ``setup_steps`` drawn steps), then up to ``steps`` actions for each of ``clients``
    clients; :func:`redlin.run` runs one against a server and checks it.

    >>> from hypothesis import find, settings
    >>> find(programs("counter"), lambda p: p.size >= 2, settings=settings(database=None)).describe()
    'client 1: GET c0; GET c0'
    """
    return family_programs(_family(workload), clients=clients, steps=steps, setup_steps=setup_steps)


# ----------------------------------------------------------------------------- how they draw


def _chooser(draw: st.DrawFn) -> Choose:
    """The internal generators' ``choose``, fed by Hypothesis as the workloads' programs are
    (:func:`redlin.harness.workloads.drawing`)."""
    return drawing(draw)


def _argvs(action: Action) -> list[tuple[bytes, ...]]:
    """What a client sends for ``action`` (keys by their names, no prefix); EVAL for a script."""
    sent = possible_commands(action, b"")
    return [tuple(arg for arg in argv if isinstance(arg, bytes)) for argv in sent]


@st.composite
def _commands(draw: st.DrawFn, pool: tuple[str, ...], names: tuple[str, ...] | None,
              values: st.SearchStrategy[bytes]) -> tuple[bytes, ...]:
    choose = _chooser(draw)
    if names is None:
        skeleton = _ANY_COMMAND.draw(choose, pool)
    else:
        name = choose(names)
        skeleton = draw_argv(GRAMMAR[name], choose, keys_for(name, pool, choose), TOKEN)
    return _argvs(_ANY_COMMAND.build(skeleton, draw(values)))[0]


@st.composite
def _transactions(draw: st.DrawFn, pool: tuple[str, ...], max_commands: int,
                  values: st.SearchStrategy[bytes]) -> tuple[tuple[bytes, ...], ...]:
    queued, watch, discard, reads = _ANY_TRANSACTION.draw(_chooser(draw), pool)
    # The internal lengths (up to LONGEST_TRANSACTION) are kept, so that shrinking and the
    # database see the same choices whatever the limit; a longer block is cut.
    skeleton = (queued[:max_commands], watch, discard, reads)
    return tuple(_argvs(_ANY_TRANSACTION.build(skeleton, draw(values))))


@st.composite
def _scripts(draw: st.DrawFn, pool: tuple[str, ...], values: st.SearchStrategy[bytes],
             guarded: bool) -> tuple[bytes, ...]:
    body, keys, args = _ANY_SCRIPT.draw(_chooser(draw), pool)
    argv = _argvs(_ANY_SCRIPT.build((body, keys, args), draw(values)))[0]
    return argv if guarded else (argv[0], script_source(argv[1]), *argv[2:])


# ----------------------------------------------------------------------------- checking arguments


def _pool(keys: Sequence[str]) -> tuple[str, ...]:
    if isinstance(keys, str | bytes) or not all(isinstance(key, str) for key in keys):
        raise TypeError(f"keys must be a sequence of str (key names), not {keys!r}")
    if not keys:
        raise ValueError("keys must name at least one key")
    return tuple(keys)


def _grammar_names(names: Sequence[str] | None) -> tuple[str, ...] | None:
    if names is None:
        return None
    if isinstance(names, str | bytes):
        raise TypeError(f"names must be a sequence of command names, not {names!r}")
    wanted = tuple(dict.fromkeys(name.lower() for name in names))
    if not wanted:
        raise ValueError("names must name at least one command (None: every command)")
    for name in wanted:
        if name not in GRAMMAR:
            why = LEFT_OUT.get(name, "redlin's model does not implement it")
            raise ValueError(f"commands(): {name.upper()} is not drawn: {why}")
    return wanted


def _family(workload: str | Family) -> Family:
    if isinstance(workload, Family):
        return workload
    try:
        return family(workload)
    except KeyError:
        raise ValueError(f"unknown workload {workload!r}: one of {', '.join(sorted(FAMILIES))}, "
                         "or a .json file") from None

