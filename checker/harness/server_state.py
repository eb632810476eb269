"""What the server's state, not the command, did to an operation: rejections and restarts.

Some error replies are not the command's answer but the server's state speaking: it is out of
memory, a read-only replica, loading its data, busy with another client's script, cut off from
its primary, refusing more clients.  Taken as the command's reply they look like a broken server
(``GET k`` answered ``-OOM ...`` where the model says ``"v"``), so the recorder classifies them with
:func:`rejection` before anything is written as a reply:

- **FAIL** (certainly not executed, dropped by the checker) when Redis refuses the command *before
  running it*.  Redis 7.0's ``processCommand`` (``src/server.c``) checks, in order: the command
  exists and its arity, ``NOAUTH``, ``NOPERM`` (ACL), cluster redirections (``CLUSTERDOWN``,
  ``TRYAGAIN``), ``OOM`` (a ``denyoom`` command, or anything queued in MULTI, once ``maxmemory`` is
  reached and nothing can be evicted), ``MISCONF`` (writes after a failed save), ``NOREPLICAS``,
  ``READONLY`` (a write on a read-only replica), ``MASTERDOWN`` (a stale replica),
  ``LOADING``, ``BUSY`` (another client's script or function is past ``busy-reply-threshold``);
  each calls ``rejectCommand`` and returns before ``call()``.  ``max number of clients`` is written
  by ``acceptCommonHandler`` (``src/networking.c``) before the connection is even read, which is
  then closed.  In MULTI, ``rejectCommand`` flags the transaction, so its EXEC answers
  ``EXECABORT`` and nothing queued runs; an EXEC refused itself answers ``EXECABORT Transaction
  discarded because of: <error>`` and is discarded (``execCommandAbort``, ``src/multi.c``).
- **FAIL for a script refused inside** (``... script: <sha>, on @user_script:N.``) with ``OOM``,
  ``READONLY``, ``MISCONF`` or a stale replica: ``scriptCall`` (``src/script.c``) checks these only
  before the script's *first* write (``SCRIPT_WRITE_DIRTY``), and the error stops the script, so it
  wrote nothing; what it read has no effect.  An ``EVAL`` refused that way did load its body into
  the script cache: the recorder does not count such a body as loaded, so it never sends an
  ``EVALSHA`` that only this unrecorded effect could explain.
- **FAIL for a script refused bare** with ``BUSY``, ``LOADING``, ``MASTERDOWN``, ``NOAUTH``,
  ``NOPERM``, ``CLUSTERDOWN``, ``TRYAGAIN`` or max clients: a command a script calls never gets
  these texts back (it gets ``ERR ...`` texts, or the script could not have started), so only
  ``processCommand`` refusing the ``EVAL``/``EVALSHA`` itself sends them -- unless the script's
  body spells out the code word, as ``redis.error_reply`` can.
- **INFO** (indeterminate: it ran entirely or not at all) for a script whose *bare* reply is a
  state error that a script could also return itself: ``redis.pcall`` hands back ``OOM``,
  ``READONLY``, ``MISCONF`` without the suffix, and a body that spells the code word may say it.
  Also for a MULTI that was refused while later commands may have run outside it.

After a rejection the client goes on on a new connection (``Rejection.reconnect``) whenever its
session on the server may differ from the one the model keeps: a discarded transaction dropped
its WATCHes, a refused connection is closed, an unauthenticated one stays so, and the model ends
the session of an indeterminate operation.  A single command refused before running changes
nothing, so its connection is kept.

Every FAIL or INFO rejection is counted by its code word (:attr:`Recorder.rejected
<redlin.harness.recorder.Recorder.rejected>`; :func:`rejection_note` words the counts).  A
script cannot catch a state error and carry on (the model knows no memory limits, so its writes
after the refusal could not be checked): the guard redlin wraps every script in
(:mod:`redlin.harness.script_guard`, its point 5) ends it at the first ``OOM``, ``READONLY``,
``MISCONF``, ``NOREPLICAS`` or stale-replica refusal that ``redis.pcall``, ``pcall``, ``xpcall``
or ``coroutine.resume`` caught, raising the server's text, so the reply is the suffixed FAIL above
(INFO for ``NOREPLICAS``, which that list leaves out).  Not covered: errors inside an EXEC's array
(``NOPERM`` when the ACL changed between MULTI and EXEC), which stay replies.

Restarts: :class:`ProcessWatch` reads the server's ``run_id`` from ``INFO server`` on every new
connection; when it changes, the server restarted, and :func:`restart_data` reads from the new
process what it kept (see :mod:`redlin.adapter.restarts` for what the checker does with it).

>>> from redlin.model import Error
>>> rejection(((b"GET", b"k"),), (Error("LOADING Redis is loading the dataset in memory"),))
Rejection(code='LOADING', text='LOADING Redis is loading the dataset in memory', definite=True, reconnect=False)
>>> rejection(((b"GET", b"k"),), (Error("WRONGTYPE Operation against a key holding the wrong kind of value"),)) is None
True
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from redlin.adapter.restarts import DATA
from redlin.harness.script_guard import script_source
from redlin.harness.wire import Connection, WireClosed
from redlin.model import Error, MapReply, Reply, Verbatim

__all__ = [
    "CODES", "ProcessWatch", "Rejection", "Restart", "ServerRefused", "info_fields", "refuses_connection", "rejection",
    "closing_finding", "rejection_note", "restart_data", "restart_note", "state_error",
]

Argv = tuple[bytes, ...]

CODES: Final = {
    "max clients": "the server refused the connection: max number of clients reached",
    "NOAUTH": "the connection was not authenticated",
    "WRONGPASS": "the password was refused",
    "NOPERM": "the user's ACL did not allow it",
    "CLUSTERDOWN": "the cluster was down",
    "TRYAGAIN": "the cluster was moving a slot",
    "OOM": "out of memory: maxmemory reached and nothing to evict",
    "MISCONF": "writes were stopped after a failed save",
    "NOREPLICAS": "fewer replicas than min-replicas-to-write",
    "READONLY": "a read-only replica",
    "MASTERDOWN": "a replica cut off from its primary",
    "stale replica": "a replica cut off from its primary",
    "LOADING": "the server was loading its data",
    "BUSY": "another client's script was running",
    "unidentified": "the server did not say which process it is",
}
"""Every rejection code :func:`rejection` knows, with what it says about the server."""

# (error text prefix, code): exact texts of Redis 7.0 (src/server.c createSharedObjects and
# processCommand, src/networking.c acceptCommonHandler, src/script.c scriptCall).
_STATE_ERRORS: Final = (
    ("ERR max number of clients", "max clients"),
    ("NOAUTH ", "NOAUTH"),
    ("WRONGPASS ", "WRONGPASS"),
    ("NOPERM ", "NOPERM"),
    ("CLUSTERDOWN ", "CLUSTERDOWN"),
    ("TRYAGAIN ", "TRYAGAIN"),
    ("OOM command not allowed", "OOM"),
    ("MISCONF ", "MISCONF"),
    ("NOREPLICAS ", "NOREPLICAS"),
    ("READONLY You can't write against a read only replica", "READONLY"),
    ("MASTERDOWN ", "MASTERDOWN"),
    ("ERR Can not execute the command on a stale replica", "stale replica"),
    ("LOADING ", "LOADING"),
    ("BUSY Redis is busy running", "BUSY"),
)
_SCRIPT_SUFFIX: Final = re.compile(r" script: \S+, on @\S+:\d+\.$")
_SCRIPTS: Final = frozenset({b"eval", b"evalsha", b"eval_ro", b"evalsha_ro", b"fcall", b"fcall_ro"})
_FIRST_WRITE_ONLY: Final = frozenset({"OOM", "READONLY", "MISCONF", "stale replica"})
"""Refused inside a script only before its first write (scriptCall): the script wrote nothing."""
_NEVER_FROM_A_SCRIPT: Final = frozenset({"max clients", "NOAUTH", "WRONGPASS", "NOPERM", "CLUSTERDOWN", "TRYAGAIN",
                                         "MASTERDOWN", "LOADING", "BUSY"})
"""Never what ``redis.call``/``pcall`` gives a script (scripts get other texts, or cannot start):
bare, they come from processCommand, unless the script's body spells them out itself."""
_SESSION_LOST: Final = frozenset({"max clients", "NOAUTH", "WRONGPASS"})
_EXECABORT_BECAUSE: Final = "EXECABORT Transaction discarded because of: "


class ServerRefused(WireClosed):
    """The server refused a connection because of its state (``code``, a key of :data:`CODES`):
    nothing ran, the connection is closed, and a later attempt may succeed."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(f"{CODES.get(code, 'the server refused the connection')} ({text})")
        self.code = code


@dataclass(frozen=True, slots=True)
class Rejection:
    """An operation the server's state refused: ``code`` (a key of :data:`CODES`), the error
    ``text``, whether it certainly did not run (``definite``: FAIL, else INFO), and whether the
    client must continue on a new connection (its session on the server no longer matches the
    model's: a discarded transaction also dropped its WATCHes; a refused connection is closed)."""

    code: str
    text: str
    definite: bool
    reconnect: bool


def state_error(reply: Reply) -> str | None:
    """The rejection code of an error reply that comes from the server's state, else ``None``.

    >>> state_error(Error("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."))
    'BUSY'
    >>> state_error(Error("ERR value is not an integer or out of range")), state_error(b"OOM")
    (None, None)
    """
    if type(reply) is not Error:
        return None
    text = reply.text
    for prefix, code in _STATE_ERRORS:
        if text.startswith(prefix):
            return code
    return None


def refuses_connection(reply: Reply) -> bool:
    """Whether ``reply`` is the error Redis writes to a connection it refuses (and then closes)."""
    return state_error(reply) == "max clients"


def rejection(call: Sequence[Argv], replies: Sequence[Reply], *, script_body: bytes | None = None) -> Rejection | None:
    """Whether the server's state, not the commands, answered the operation ``call`` (see the module
    docstring); ``None`` when the replies are the commands' own.

    ``replies`` may be shorter than ``call`` when the server closed the connection after refusing
    it.  ``script_body`` is the body of an ``EVALSHA`` (an ``EVAL`` carries its own): a bare state
    error that the body spells out may be its own reply, so it is only indeterminate.

    >>> from redlin.model import Status
    >>> oom = Error("OOM command not allowed when used memory > 'maxmemory'.")
    >>> rejection(((b"MULTI",), (b"INCR", b"k"), (b"EXEC",)),
    ...           (Status("OK"), oom, Error("EXECABORT Transaction discarded because of previous errors."))).definite
    True
    >>> inside = Error(oom.text + " script: 87fada2bdb5944df9d1dbba9f182d132f4d4fed5, on @user_script:1.")
    >>> rejection(((b"EVAL", b"return redis.call('SET', KEYS[1], 1)", b"1", b"k"),), (inside,)).definite
    True
    >>> rejection(((b"EVAL", b"return redis.pcall('SET', KEYS[1], 1)", b"1", b"k"),), (oom,)).definite
    False
    """
    if not replies:
        return None
    if len(call) == 1 or not call[0] or call[0][0].lower() != b"multi":
        return _single(call[0], replies[0], script_body, several=len(call) > 1)
    return _transaction(call, replies)


def _single(argv: Argv, reply: Reply, script_body: bytes | None, *, several: bool) -> Rejection | None:
    code = state_error(reply)
    if code is None:
        return None
    assert type(reply) is Error
    text = reply.text
    if code == "max clients":  # written before the connection is read, which is then closed
        return Rejection(code, text, True, True)
    if not argv or argv[0].lower() not in _SCRIPTS:
        definite = True
    else:
        # A script may raise a state error's text itself, after writing: only the workload's own
        # text can say so (redlin's guard around it spells the codes it re-raises).
        body = argv[1] if argv[0].lower() in (b"eval", b"eval_ro") and len(argv) > 1 else script_body
        spelled = body is None or text.split(" ", 1)[0].encode() in script_source(body)
        if _SCRIPT_SUFFIX.search(text):
            definite = code in _FIRST_WRITE_ONLY and not spelled
        else:
            definite = code in _NEVER_FROM_A_SCRIPT and not spelled
    definite = definite and not several  # commands pipelined after it may have run
    # An indeterminate operation ends its client's session in the model: end it on the server too.
    return Rejection(code, text, definite, several or code in _SESSION_LOST or not definite)


def _transaction(call: Sequence[Argv], replies: Sequence[Reply]) -> Rejection | None:
    first = state_error(replies[0])
    if first is not None:  # MULTI itself refused: what followed was not queued
        assert type(replies[0]) is Error
        rest = replies[1:]
        nothing_ran = len(rest) == len(call) - 1 and all(
            state_error(r) is not None or (type(r) is Error and r.text == "ERR EXEC without MULTI") for r in rest)
        return Rejection(first, replies[0].text, nothing_ran or first == "max clients", True)
    if len(replies) < len(call):
        return None
    exec_reply = replies[-1]
    if type(exec_reply) is not Error or not exec_reply.text.startswith("EXECABORT "):
        return None
    if exec_reply.text.startswith(_EXECABORT_BECAUSE):  # EXEC itself refused (execCommandAbort)
        code = state_error(Error(exec_reply.text[len(_EXECABORT_BECAUSE):]))
        if code is not None:
            return Rejection(code, exec_reply.text, True, True)
    for reply in replies[1:-1]:  # a queued command refused: rejectCommand flagged the transaction
        code = state_error(reply)
        if code is not None:
            assert type(reply) is Error
            return Rejection(code, reply.text, True, True)
    return None


def closing_finding(closed: Counter[bool]) -> str | None:
    """A finding when the server closed connections right after error replies, at least twice and
    at least as often as otherwise (a dropped connection now and then is the network's).

    >>> closing_finding(Counter({True: 5, False: 1}))
    'finding: the server closed the connection right after an error reply 5 times (of 6 connections it closed under an operation); Redis keeps a connection open after an error reply'
    >>> closing_finding(Counter({True: 1, False: 4})) is None
    True
    """
    after, total = closed[True], closed[True] + closed[False]
    if after < 2 or after * 2 < total:
        return None
    return (f"finding: the server closed the connection right after an error reply {after} times (of {total} "
            "connections it closed under an operation); Redis keeps a connection open after an error reply")


def rejection_note(counts: Mapping[str, int]) -> str | None:
    """One line for a run report about the operations the server's state rejected, or ``None``.

    >>> rejection_note({"OOM": 10, "BUSY": 2})
    "12 operations rejected by the server's state, not taken as replies: 10 OOM (out of memory: maxmemory reached and nothing to evict), 2 BUSY (another client's script was running)"
    >>> rejection_note({}) is None
    True
    """
    total = sum(counts.values())
    if not total:
        return None
    parts = ", ".join(f"{count} {code} ({CODES.get(code, 'the server state')})"
                      for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    return f"{total} operation{'s' if total != 1 else ''} rejected by the server's state, not taken as replies: {parts}"


# ----------------------------------------------------------------------------- restarts


@dataclass(frozen=True, slots=True)
class Restart:
    """A restart of the server the recorder noticed: the ``run_id`` before and after, the bounds
    of when it happened (client monotonic nanoseconds: after ``earliest``, the latest invocation
    the old process answered; before ``latest``, the first reply of the new one), what the new
    process kept (a key of :data:`redlin.adapter.restarts.DATA`) and how that was read."""

    before: str
    after: str
    earliest: int
    latest: int
    data: str
    why: str
    execution: int | None = None
    """The execution during which it was noticed (``None``: between executions)."""

    def describe(self) -> str:
        """``the server restarted (run 4d63651619ea -> 2bf3303f9009) and came back empty (no AOF ...)``."""
        return (f"the server restarted (run {self.before[:12]} -> {self.after[:12]}) and "
                f"{DATA.get(self.data, DATA['unknown'])} ({self.why})")


def info_fields(reply: Reply) -> dict[str, str]:
    """The ``name:value`` lines of an ``INFO`` reply (empty for anything else).

    >>> info_fields(b"# Server\\r\\nredis_version:7.0.15\\r\\nrun_id:4d63\\r\\n")
    {'redis_version': '7.0.15', 'run_id': '4d63'}
    """
    if type(reply) is Verbatim:  # RESP3
        reply = reply.body
    if type(reply) is not bytes:
        return {}
    fields = {}
    for line in reply.decode("utf-8", "replace").splitlines():
        name, colon, value = line.partition(":")
        if colon and not name.startswith("#"):
            fields[name.strip()] = value.strip()
    return fields


def restart_data(conn: Connection) -> tuple[str, str]:
    """What a server that just restarted kept of its keys, and how that is known: ``kept`` with an
    AOF fsynced on every write (nothing acknowledged can be lost); ``emptied`` without AOF when it
    loaded no keys at start; ``unknown`` otherwise: an RDB snapshot or an AOF fsynced every second
    may miss the last writes before a crash, and a replica fetches its primary's data.
    ``WireError`` if the connection fails."""
    fields = info_fields(conn.execute(b"INFO", b"persistence"))
    if not fields:
        return "unknown", "the server does not describe its persistence (INFO persistence)"
    if info_fields(conn.execute(b"INFO", b"replication")).get("role") != "master":
        return "unknown", "a replica, which fetches its primary's data"
    appendonly = _config(conn, b"appendonly")  # INFO says aof_enabled:0 while the AOF loads
    if appendonly == b"yes" or (appendonly is None and fields.get("aof_enabled") == "1"):
        fsync = _config(conn, b"appendfsync")
        if fsync == b"always":
            return "kept", "AOF with appendfsync always"
        shown = "unreadable" if fsync is None else fsync.decode("utf-8", "replace")
        return "unknown", f"AOF with appendfsync {shown}: the last writes before a crash may be lost"
    if fields.get("loading") == "0" and fields.get("rdb_last_load_keys_loaded") == "0":
        return "emptied", "no AOF, and no keys loaded at start"
    return "unknown", "no AOF: an RDB snapshot may miss the last writes"


def _config(conn: Connection, name: bytes) -> bytes | None:
    """A setting from ``CONFIG GET`` (``None`` if the server does not tell: CONFIG is often disabled)."""
    reply = conn.execute(b"CONFIG", b"GET", name)
    if type(reply) is MapReply:  # RESP3
        reply = tuple(part for pair in reply.pairs for part in pair)
    return reply[1] if type(reply) is tuple and len(reply) == 2 and type(reply[1]) is bytes else None


def restart_note(restarts: Sequence[Restart]) -> str | None:
    """One line for a run report about the restarts noticed, or ``None``.

    >>> restart_note([Restart("4d63651619ea951319f6", "2bf3303f9009", 10, 20, "emptied", "no AOF")])
    'the server restarted once: the server restarted (run 4d63651619ea -> 2bf3303f9009) and came back empty (no AOF)'
    """
    if not restarts:
        return None
    times = "once" if len(restarts) == 1 else f"{len(restarts)} times"
    return f"the server restarted {times}: " + "; ".join(restart.describe() for restart in restarts)


class ProcessWatch:
    """Which server process answers a run, and when it changed: the recorder's restart detector.

    :meth:`identify` reads the ``run_id`` on every new connection; :meth:`answered` notes, for
    each reply, that its process was running after the command's invocation.  A ``run_id`` never
    seen before, after another one, is a restart: its :class:`Restart` spans from the latest
    invocation the old process answered to the reply that named the new one (see
    :mod:`redlin.adapter.restarts` for why those bounds are safe).
    """

    def __init__(self) -> None:
        self.run_id: str | None = None
        """The process answering now; ``None`` while no connection could tell."""
        self.restarts: list[Restart] = []
        """Every restart noticed, in order."""
        self._alive: dict[str, int] = {}  # run_id -> latest invocation that process answered
        self._lock = threading.Lock()  # one restart is noticed once

    def answered(self, process: str | None, invoked: int) -> None:
        """Process ``process`` answered a command invoked at ``invoked`` (client nanoseconds): it
        was running after that instant, which bounds when it can have been restarted."""
        if process is not None:
            with self._lock:
                if invoked > self._alive.get(process, invoked - 1):
                    self._alive[process] = invoked

    def identify(self, conn: Connection, execution: int | None = None,
                 on_restart: Callable[[Restart], None] | None = None) -> str | None:
        """Ask the server on ``conn`` which process it is; its ``run_id``, or ``None`` if it does
        not say.  A restart is added to :attr:`restarts` and given to ``on_restart`` (still under
        the watch's lock, so that every connection opened after it sees it recorded).
        ``WireError`` if the connection fails; :class:`ServerRefused` if the server does not say
        now but said before (busy, loading): operations on this connection could not be placed."""
        asked = time.monotonic_ns()
        reply = conn.execute(b"INFO", b"server")
        told = time.monotonic_ns()
        process = info_fields(reply).get("run_id") or None
        with self._lock:
            current = self.run_id
            if process is None:
                if current is not None:
                    shown = reply.text if type(reply) is Error else repr(reply)[:80]
                    raise ServerRefused(state_error(reply) or "unidentified",
                                        f"INFO server did not name the server's process: {shown}")
                return None
            if current is not None and process != current and process not in self._alive:
                data, why = restart_data(conn)
                restart = Restart(current, process, self._alive.get(current, asked), told, data, why, execution)
                self.restarts.append(restart)
                if on_restart is not None:
                    on_restart(restart)
            self.run_id = process
            self._alive[process] = max(self._alive.get(process, asked), asked)
        return process
