"""The step function: ``step(state, client, argv, now) -> (state, reply)``, pure and deterministic.

A step reproduces what Redis 7.0's ``processCommand`` does with one command from one connection:
look the command up, check arity, queue it if the connection is inside MULTI, otherwise run it.
Handlers work on a short-lived mutable :class:`Context` layered over the immutable :class:`State`;
``commit`` turns the context back into a new State that shares everything unchanged.

Time is an input: ``now`` is the server's clock in milliseconds, supplied by the caller.  The model
never reads the machine's clock, so a step is a pure function of (state, client, argv, now).

The state also says which server version to imitate (``state.profile``, see
:mod:`redlin.model._profiles`); handlers read it as ``ctx.profile``.  The command table is the same
for every version: a command a version lacks, or whose arity differs, is told apart here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from immutables import Map

from ._commands import COMMANDS, CommandSpec, lookup
from ._config_table import DEFAULTS
from ._notify import EXPIRED, NEW, event_flags, notify
from ._profiles import Profile
from ._reply import (
    NULL_ARRAY,
    QUEUED,
    WRONGTYPE,
    Error,
    Reply,
    Status,
    arity_error,
)
from ._state import (
    DEFAULT_SESSION,
    EMPTY_KEYSPACE,
    INITIAL_STATE,
    ClientId,
    Keyspace,
    Session,
    State,
    Value,
    ZSet,
    fits_listpack,
)

EXECABORT = Error("EXECABORT Transaction discarded because of previous errors.")
NOT_IN_MULTI = Error("ERR Command not allowed inside a transaction")
NOREPLICAS = Error("NOREPLICAS Not enough good replicas to write.")
# Commands that run even inside MULTI instead of being queued (multi.c / processCommand).
NEVER_QUEUED = frozenset({b"exec", b"discard", b"multi", b"watch", b"quit", b"reset"})
SUBSCRIBED_ALLOWED = frozenset({
    b"subscribe", b"unsubscribe", b"psubscribe", b"punsubscribe", b"ssubscribe", b"sunsubscribe",
    b"ping", b"quit", b"reset",
})


class Unseen:
    """No observed reply: :data:`SEQUENTIAL` (nobody is checking) or :data:`UNSEEN` (a checker is,
    but cannot see this command's reply)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


SEQUENTIAL = Unseen("SEQUENTIAL")
"""``step``'s default: sequential use, where the model makes every choice itself."""
UNSEEN = Unseen("UNSEEN")
"""``step(..., observed=UNSEEN)``: the step is checked, but this command's reply is not known."""


class HiddenChoice(Exception):
    """A command chose at random (:mod:`redlin.model._random_replies`), or walked a structure whose
    shape Redis drew at random (a sorted set's skiplist levels, :mod:`redlin.model._zsets`), and
    the reply that would show the choice is not visible or does not settle it."""


class CommandError(Exception):
    """Raised by a handler (or a parsing helper) to reply with an error."""

    def __init__(self, reply: Error) -> None:
        super().__init__(reply.text)
        self.reply = reply


def unknown_command(argv: Sequence[bytes], profile: Profile | None = None) -> Error:
    """Redis's text for an unknown command: the name and the first arguments, 128 bytes at most.

    >>> unknown_command([b"foo", b"bar"]).text
    "ERR unknown command 'foo', with args beginning with: 'bar' "
    """
    quote, after = ("`", "`, ") if profile is not None and profile.has("unknown-command-backquotes") else ("'", "' ")
    args = ""
    for arg in argv[1:]:
        if len(args) >= 128:
            break
        args += quote + arg.decode("utf-8", "surrogateescape")[: 128 - len(args)] + after
    name = argv[0].decode("utf-8", "surrogateescape")[:128]
    return Error(_oneline(f"ERR unknown command {quote}{name}{quote}, with args beginning with: {args}"))


def _oneline(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


class Context:
    """A step in progress: the state being changed, the calling client and its session.

    Handlers read and write keys of the selected database through ``read``/``write``/``delete``;
    every successful modification *touches* the key (marks watchers dirty, sheet W1-W16).
    """

    __slots__ = ("base", "client", "session", "now", "dbs", "db", "data", "expires",
                 "sessions", "scripts", "changed", "watched", "in_script", "script_flags",
                 "in_exec", "undeclared", "profile", "observed", "functions", "settings", "salt",
                 "notify_flags", "interrupt")

    def __init__(self, state: State, client: ClientId, now: int, observed: Reply | Unseen = SEQUENTIAL,
                 salt: int = 0, interrupt: Callable[..., bool] | None = None) -> None:
        self.base = state
        # The server's SCRIPT KILL, polled by a running script (redlin.model._lua_runtime.Interrupt).
        self.interrupt = interrupt
        self.client = client
        self.session: Session = state.sessions.get(client, DEFAULT_SESSION)
        self.now = now
        self.dbs: list[Keyspace] | None = None  # copied on first write
        self.db = self.session.db
        keyspace = state.dbs[self.db]
        self.data: Map = keyspace.data  # type: ignore[type-arg]
        self.expires: Map = keyspace.expires  # type: ignore[type-arg]
        self.sessions: Map = state.sessions  # type: ignore[type-arg]
        self.scripts: Map = state.scripts  # type: ignore[type-arg]
        self.functions: Map = state.functions  # type: ignore[type-arg]  # FUNCTION's libraries
        self.settings: Map = state.config  # type: ignore[type-arg]  # what CONFIG SET changed
        self.changed = False
        self.watched = state.watched
        self.in_script = False
        self.script_flags = 0
        self.in_exec = False
        self.undeclared = False  # a script called a command on a key it did not declare in KEYS
        self.profile: Profile = state.profile  # the server version whose semantics apply
        # The reply the server sent for the command being run, when a checker steps the model
        # (None in sequential use): commands whose reply the server chooses follow it.
        self.observed = observed
        self.salt = salt
        # Keyspace notifications (_notify.py): 0, the usual case, makes each notify() one test.
        self.notify_flags = event_flags(self.settings) if self.settings else 0

    def config(self, name: bytes) -> bytes:
        """The value of configuration parameter ``name`` (its primary name), as CONFIG GET reports it.

        >>> Context(INITIAL_STATE, 1, 0).config(b"proto-max-bulk-len")
        b'536870912'
        """
        value = self.settings.get(name)
        return DEFAULTS[name] if value is None else value

    def config_int(self, name: bytes) -> int:
        """A numeric parameter's value (a memory one in bytes)."""
        return int(self.config(name))

    def lacks_good_replicas(self) -> bool:
        """``!checkGoodReplicasStatus()``: min-replicas-to-write is set (and min-replicas-max-lag is
        not 0), and the model, a master with no replica, never has enough.  Writes get NOREPLICAS."""
        return bool(self.settings) and self.config(b"min-replicas-to-write") != b"0" and (
            self.config(b"min-replicas-max-lag") != b"0")

    def observation(self) -> Reply | Unseen:
        """The observed reply of the command being run (:mod:`redlin.model._random_replies`):
        :data:`SEQUENTIAL` in sequential use, :data:`UNSEEN` when checking a command whose reply is
        not visible (a script's command: the script consumes its reply)."""
        if self.observed is not SEQUENTIAL and self.in_script:
            return UNSEEN
        return self.observed

    # ----------------------------------------------------------------- keyspace access

    def read(self, key: bytes) -> Value | None:
        """The value under ``key`` in the selected db, or None (expired keys are deleted first)."""
        value = self.data.get(key)
        if value is not None and self.expires and key in self.expires and self.expires[key] <= self.now:
            self._expire(key)
            return None
        return value

    def read_as(self, key: bytes, kind: type) -> Value | None:
        """Like :meth:`read`, raising WRONGTYPE if the key holds another type."""
        value = self.read(key)
        if value is not None and type(value) is not kind:
            raise CommandError(WRONGTYPE)
        return value

    def exists(self, key: bytes) -> bool:
        return self.read(key) is not None

    def write(self, key: bytes, value: Value) -> None:
        """Store ``value`` under ``key`` keeping any TTL; an empty aggregate deletes the key."""
        if not value and type(value) is not bytes:
            self.delete(key)
            return
        if self.notify_flags and self.read(key) is None:
            notify(self, NEW, b"new", key)  # dbAdd
        self.data = self.data.set(key, value)
        self.changed = True
        self.touch(key)

    def write_unsignalled(self, key: bytes, value: Value) -> None:
        """Store ``value`` without signalModifiedKey (a change in place, or a dbAdd, that Redis does
        not signal): WATCH does not see it; a created key is still notified as "new"."""
        if self.notify_flags and self.data.get(key) is None:
            notify(self, NEW, b"new", key)
        self.data = self.data.set(key, value)
        self.changed = True

    def replace(self, key: bytes, value: Value) -> None:
        """Store ``value`` and drop any TTL (what SET without KEEPTTL does)."""
        if self.expires and key in self.expires:
            self.expires = self.expires.delete(key)
        self.write(key, value)

    def delete(self, key: bytes) -> bool:
        """Remove ``key``; True if it existed (only then is it touched, sheet W5)."""
        if self.read(key) is None:
            return False
        self._remove(key)
        self.touch(key)
        return True

    def deadline(self, key: bytes) -> int | None:
        """The key's expiry time in ms, or None if it has no TTL."""
        return self.expires.get(key) if self.expires else None

    def set_deadline(self, key: bytes, when: int | None) -> None:
        """Set or (``None``) remove the key's TTL; the key must exist.  Touches the key."""
        if when is None:
            self.expires = self.expires.delete(key)
        else:
            self.expires = self.expires.set(key, when)
        self.changed = True
        self.touch(key)

    def _remove(self, key: bytes) -> None:
        self.data = self.data.delete(key)
        if self.expires and key in self.expires:
            self.expires = self.expires.delete(key)
        self.changed = True

    def _expire(self, key: bytes) -> None:
        # Lazy expiry deletes the key and signals it modified, as Redis's expireIfNeeded does.
        self._remove(key)
        self.touch(key)
        notify(self, EXPIRED, b"expired", key)

    def keyspace(self, index: int) -> Keyspace:
        """Database ``index`` as it is now in this step."""
        if index == self.db:
            return Keyspace(self.data, self.expires)
        return self._dbs()[index]

    def _dbs(self) -> Sequence[Keyspace]:
        return self.dbs if self.dbs is not None else self.base.dbs

    def select(self, index: int) -> None:
        """Make ``index`` the selected database of this step (the session is updated by the caller)."""
        if index == self.db:
            return
        self._flush_db()
        self.db = index
        keyspace = self._dbs()[index]
        self.data, self.expires = keyspace.data, keyspace.expires

    def set_keyspace(self, index: int, keyspace: Keyspace) -> None:
        """Replace a whole database (FLUSHDB, SWAPDB)."""
        self._flush_db()
        assert self.dbs is not None
        self.dbs[index] = keyspace
        if index == self.db:
            self.data, self.expires = keyspace.data, keyspace.expires
        self.changed = True

    def _flush_db(self) -> None:
        if self.dbs is None:
            self.dbs = list(self.base.dbs)
        current = self.dbs[self.db]
        if current.data is not self.data or current.expires is not self.expires:
            empty = not self.data and not self.expires
            self.dbs[self.db] = EMPTY_KEYSPACE if empty else Keyspace(self.data, self.expires)

    # ----------------------------------------------------------------- WATCH bookkeeping

    def touch(self, key: bytes, db: int | None = None) -> None:
        """Redis's ``touchWatchedKey``: mark every session watching (db, key) dirty."""
        if not self.watched:
            return
        where = (self.db if db is None else db, key)
        if where not in self.watched:
            return
        data = self.data if where[0] == self.db else self._dbs()[where[0]].data
        present = data.get(key) is not None
        for client, session in list(self._all_sessions()):
            if where in session.watched:
                if where in session.stale and not present:
                    # Watched while already expired, now deleted: logically no change (W11).
                    self.set_session(session.replace(stale=session.stale - {where}), client)
                else:
                    self.set_session(_dirty(session), client)

    def _all_sessions(self) -> list[tuple[ClientId, Session]]:
        items = [(c, s) for c, s in self.sessions.items() if c != self.client]
        items.append((self.client, self.session))
        return items

    def set_session(self, session: Session, client: ClientId | None = None) -> None:
        """Replace a session (the caller's by default)."""
        if client is None or client == self.client:
            old = self.session
            self.session = session
        else:
            old = self.sessions.get(client, DEFAULT_SESSION)
            if session == DEFAULT_SESSION:
                self.sessions = self.sessions.delete(client) if client in self.sessions else self.sessions
            else:
                self.sessions = self.sessions.set(client, session)
        if old.watched is not session.watched:
            self.watched = None  # type: ignore[assignment]
            self.watched = frozenset().union(*(s.watched for _, s in self._all_sessions()))

    def touch_db(self, index: int, replaced_with: Keyspace | None = None) -> None:
        """``touchAllWatchedKeysInDb``: FLUSHDB/FLUSHALL/SWAPDB touch watched keys that exist (W12, W13)."""
        if not self.watched:
            return
        emptied = self.keyspace(index)
        for client, session in self._all_sessions():
            for db, key in sorted(session.watched):
                if db != index:
                    continue
                in_emptied = key in emptied.data
                in_new = replaced_with is not None and key in replaced_with.data
                if in_emptied or in_new:
                    if (db, key) in session.stale and not in_new:
                        # An already-expired watched key now deleted: no logical change (W11).
                        session = session.replace(stale=session.stale - {(db, key)})
                        self.set_session(session, client)
                        continue
                    self.set_session(_dirty(session), client)
                    break

    # ----------------------------------------------------------------- running commands

    def process(self, argv: Sequence[bytes]) -> Reply:
        """What ``processCommand`` does with one command from this client (queue or run)."""
        profile = self.profile
        spec = COMMANDS.get(argv[0].lower())
        session = self.session
        if spec is None or not profile.knows(spec.name):
            return self._reject(unknown_command(argv, profile))
        # Redis 6.2 has no subcommand table: the container's handler picks the subcommand when it
        # runs, so a bad one is not a queue-time error there.
        dispatch_late = bool(spec.subcommands) and profile.has("subcommand-errors-6.2")
        if spec.subcommands and len(argv) > 1 and not dispatch_late:
            spec = spec.subcommands.get(argv[1].lower(), spec)
        arity = profile.arity(spec.name, spec.arity)
        if (arity > 0 and len(argv) != arity) or len(argv) < -arity:
            if spec.name == "exec":
                return self._abort_exec(Error(arity_error("exec").text[4:]))
            return self._reject(arity_error(spec.name))
        if spec.subcommands and not dispatch_late:
            return self._reject(unknown_subcommand(argv))
        if session.multi is not None and (
            ("no_multi" in spec.flags and not profile.has("no-multi-commands-queued"))
            or (spec.name in ("multi", "watch") and profile.has("multi-watch-not-allowed-in-multi"))
        ):
            return self._reject(NOT_IN_MULTI)
        if self.settings and self.lacks_good_replicas() and self._writes(spec):
            return self._abort_exec(NOREPLICAS) if spec.name == "exec" else self._reject(NOREPLICAS)
        if ((session.channels or session.patterns or session.shard_channels) and session.protocol == 2
                and spec.name.split("|")[0].encode() not in SUBSCRIBED_ALLOWED):  # RESP2 only (P6)
            allowed = ("(P)SUBSCRIBE / (P)UNSUBSCRIBE" if profile.has("subscribed-context-text")
                       else "(P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE")
            return self._reject(Error(
                f"ERR Can't execute '{spec.name}': only {allowed} / PING / QUIT / RESET are allowed in this context"))
        if (spec.name in ("unsubscribe", "punsubscribe", "sunsubscribe") and not session.subscriptions
                and profile.has("unsubscribe-needs-subscription")):  # Valkey's processCommand
            return self._reject(Error(f"NOSUB '{spec.name}' command executed not in subscribed mode"))
        if session.multi is not None and argv[0].lower() not in NEVER_QUEUED:
            self.set_session(session.replace(multi=session.multi + (tuple(argv),)))
            return QUEUED
        return self.call(spec, argv)

    def _abort_exec(self, error: Error) -> Error:
        # rejectCommand on EXEC calls execCommandAbort: the transaction is discarded and every
        # key unwatched, even outside MULTI.
        self.set_session(self.session.replace(
            multi=None, dirty_exec=False, dirty_cas=False, watched=frozenset(), stale=frozenset()))
        return Error("EXECABORT Transaction discarded because of: " + error.text)

    def _writes(self, spec: CommandSpec) -> bool:
        # processCommand's is_write_command: EXEC counts as a write if a queued command is one.
        if spec.name == "exec":
            return any(getattr(lookup(argv), "write", False) for argv in self.session.multi or ())
        return spec.write

    def _reject(self, error: Error) -> Error:
        # rejectCommand: inside MULTI the transaction is flagged and EXEC will abort (M7, M8, M13).
        if self.session.multi is not None:
            self.set_session(self.session.replace(dirty_exec=True))
        return error

    def call(self, spec: CommandSpec, argv: Sequence[bytes]) -> Reply:
        """Run one (already validated) command now."""
        if spec.subcommands:  # a container reaches here only under subcommand-errors-6.2
            found = self.subcommand(spec, argv)
            if type(found) is Error:
                return found
            spec = found  # type: ignore[assignment]
        try:
            return spec.handler(self, argv)  # type: ignore[no-any-return]
        except CommandError as error:
            return error.reply

    def subcommand(self, spec: CommandSpec, argv: Sequence[bytes]) -> CommandSpec | Error:
        """Redis 6.2's dispatch inside a container's handler (``addReplySubcommandSyntaxError``)."""
        sub = spec.subcommands.get(argv[1].lower()) if len(argv) > 1 else None
        if sub is not None and self.profile.knows(sub.name):
            arity = self.profile.arity(sub.name, sub.arity)
            if not ((arity > 0 and len(argv) != arity) or len(argv) < -arity):
                return sub
        name = argv[1].decode("utf-8", "surrogateescape")[:128] if len(argv) > 1 else ""
        return Error(_oneline(f"ERR Unknown subcommand or wrong number of arguments for '{name}'. "
                              f"Try {spec.name.upper()} HELP."))

    def run(self, argv: Sequence[bytes]) -> Reply:
        """Look up, check arity and run ``argv`` without MULTI queuing (EXEC, scripts)."""
        profile = self.profile
        spec = COMMANDS.get(argv[0].lower())
        if spec is None or not profile.knows(spec.name):
            return unknown_command(argv, profile)
        if spec.subcommands and len(argv) > 1 and not profile.has("subcommand-errors-6.2"):
            spec = spec.subcommands.get(argv[1].lower(), spec)
        arity = profile.arity(spec.name, spec.arity)
        if (arity > 0 and len(argv) != arity) or len(argv) < -arity:
            return arity_error(spec.name)
        return self.call(spec, argv)

    def commit(self) -> State:
        """The new state (the old one itself if nothing changed)."""
        base = self.base
        session = self.session
        sessions = self.sessions
        own = sessions.get(self.client, DEFAULT_SESSION)
        if own is not session and own != session:
            sessions = sessions.delete(self.client) if session == DEFAULT_SESSION else sessions.set(self.client, session)
        if (not self.changed and sessions is base.sessions and self.scripts is base.scripts and self.dbs is None
                and self.functions is base.functions and self.settings is base.config):
            return base
        if self.dbs is not None or self.changed:
            self._flush_db()
            assert self.dbs is not None
            dbs = tuple(self.dbs)
        else:
            dbs = base.dbs
        watched = self.watched if self.watched is not None else None
        return State(dbs, sessions, self.scripts, watched, base.profile, self.functions, self.settings)


def _dirty(session: Session) -> Session:
    # Once dirty, a session's watches no longer matter (Redis unwatches it at once): dropping
    # them keeps equal situations equal for the checker's cache.
    if session.dirty_cas and not session.watched:
        return session
    return session.replace(dirty_cas=True, watched=frozenset(), stale=frozenset())


def expire_time_error(ctx: Context, name: str) -> Error:
    """The error for an expire time out of range (sheet D4; 6.2 names the command bare)."""
    if ctx.profile.has("expire-time-error-text"):
        return Error(f"ERR invalid expire time in {name}")
    return Error(f"ERR invalid expire time in '{name}' command")


def help_reply(ctx: Context, lines: Sequence[str]) -> Reply:
    """A HELP reply: one status per line (7.2 ends it with "Print this help.", 7.0 with "Prints")."""
    if ctx.profile.has("help-print-wording"):
        lines = [line.replace("Prints this help.", "Print this help.") for line in lines]
    return tuple(Status(line) for line in lines)


def unknown_subcommand(argv: Sequence[bytes]) -> Error:
    sub = argv[1].decode("utf-8", "surrogateescape") if len(argv) > 1 else ""
    return Error(_oneline(f"ERR unknown subcommand '{sub[:128]}'. Try {argv[0].decode().upper()} HELP."))


def step(state: State, client: ClientId, argv: Sequence[bytes], now: int = 0,
         observed: Reply | Unseen = SEQUENTIAL, salt: int = 0,
         interrupt: Callable[..., bool] | None = None) -> tuple[State, Reply]:
    """Run one command sent by ``client``; returns the new state and the reply.

    ``argv`` is the command as the client sent it (bytes, name first); ``now`` is the server clock
    in milliseconds.  ``observed``, given by a checker, is the reply the server sent (or
    :data:`UNSEEN`): a command whose reply the server chooses (SPOP...) follows it when Redis could
    have sent it.  ``salt`` varies the model's own pseudo-random choices in sequential use (the
    embedded server numbers its commands, so that two SRANDMEMBERs in one millisecond differ).
    ``interrupt`` (:data:`redlin.model._lua_runtime.Interrupt`) is how a server kills a script
    the step runs (SCRIPT KILL); without one, a script runs to its end.
    Pure: the given state is never modified.

    >>> state, reply = step(INITIAL_STATE, 1, [b"SET", b"k", b"v"])
    >>> step(state, 2, [b"GET", b"k"])[1]
    b'v'
    """
    ctx = Context(state, client, now, observed, salt, interrupt)
    reply = ctx.process(argv)
    return ctx.commit(), reply


def step_reporting_undeclared(
    state: State, client: ClientId, argv: Sequence[bytes], now: int = 0, observed: Reply | Unseen = SEQUENTIAL
) -> tuple[State, Reply, bool]:
    """:func:`step`, also saying whether a script touched a key it did not declare in KEYS.

    Redis allows such scripts, but they make a history impossible to split by key soundly.
    """
    ctx = Context(state, client, now, observed)
    reply = ctx.process(argv)
    return ctx.commit(), reply, ctx.undeclared


def disconnect(state: State, client: ClientId) -> State:
    """The connection closed: its session (MULTI, WATCH, SELECT, subscriptions) is gone."""
    if client not in state.sessions:
        return state
    return State(state.dbs, state.sessions.delete(client), state.scripts, profile=state.profile,
                 functions=state.functions, config=state.config)


def restart(state: State, *, keep_data: bool) -> State:
    """The server process restarted: every connection and its session (MULTI, WATCH, SELECT,
    subscriptions, unread messages) is gone, and the script cache is empty: Redis 7.0 keeps
    scripts in memory only (``rdbLoad`` skips the ``lua`` field older versions wrote, and the AOF
    holds a script's effects, not its EVAL), so EVALSHA answers NOSCRIPT again (sheet E20).  The
    databases stay as they were when ``keep_data`` (the server reloaded everything it had
    acknowledged), or are empty (it kept nothing on disk); so do the function libraries, which
    Redis saves with the data (the RDB's function records, the AOF's FUNCTION LOAD).  What CONFIG
    SET changed is gone either way: the model's server runs without a config file.

    >>> state, _ = step(INITIAL_STATE, 1, [b"SET", b"k", b"v"])
    >>> state, _ = step(state, 1, [b"SCRIPT", b"LOAD", b"return 1"])
    >>> state, _ = step(state, 2, [b"SELECT", b"3"])
    >>> after = restart(state, keep_data=True)
    >>> after.dbs == state.dbs, len(state.scripts), len(after.scripts), len(after.sessions)
    (True, 1, 0, 0)
    >>> restart(state, keep_data=False) == INITIAL_STATE
    True
    """
    dbs = tuple(_reloaded(keyspace) for keyspace in state.dbs) if keep_data else INITIAL_STATE.dbs
    return State(dbs, profile=state.profile, functions=state.functions if keep_data else INITIAL_STATE.functions)


def _reloaded(keyspace: Keyspace) -> Keyspace:
    """A database as a restarted server loads it: a sorted set that fits a listpack is one again
    (rdbLoad converts it, and an AOF's ZADDs rebuild it; one that outgrew a listpack and shrank
    stays a skiplist only when an AOF replays its growth, which the model does not follow)."""
    converted = {key: ZSet(value.scores) for key, value in keyspace.data.items()
                 if type(value) is ZSet and value.skiplist and fits_listpack(value.scores)}
    if not converted:
        return keyspace
    data = keyspace.data.mutate()
    for key, value in converted.items():
        data[key] = value
    return Keyspace(data.finish(), keyspace.expires)


__all__ = ["Context", "CommandError", "SEQUENTIAL", "UNSEEN", "Unseen", "step", "step_reporting_undeclared", "disconnect", "restart", "INITIAL_STATE",
           "NULL_ARRAY", "EXECABORT"]
