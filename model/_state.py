"""The model's state: immutable, hashable values the checker can memoise by the million.

A :class:`State` is the whole server: 16 databases (:class:`Keyspace`), the per-connection
:class:`Session` records, and the script cache.  Every part is immutable; a step builds a new
State that shares everything it did not change (``immutables.Map`` is a persistent hash map).
Equal states compare and hash equal whatever path produced them, so the checker's cache hits.

Values stored under keys, by Redis type:

==========  =========================================================
``string``  ``bytes``
``list``    ``tuple[bytes, ...]`` (head first)
``hash``    ``immutables.Map[bytes, bytes]``
``set``     ``frozenset[bytes]``
``zset``    :class:`ZSet` (member -> score)
``stream``  :class:`~redlin.model._streams.Stream` (registers its TYPE name)
==========  =========================================================
"""

from __future__ import annotations

from collections.abc import Collection, Hashable
from typing import TYPE_CHECKING, Any, TypeAlias

from immutables import Map

from ._profiles import DEFAULT_PROFILE, PROFILES, Profile, profile

if TYPE_CHECKING:
    from ._streams import Stream

DATABASES = 16
ClientId: TypeAlias = Hashable


ZSET_MAX_LISTPACK_ENTRIES = 128  # redis.conf 7.0's zset-max-listpack-entries
ZSET_MAX_LISTPACK_VALUE = 64  # and zset-max-listpack-value


def fits_listpack(members: Collection[bytes]) -> bool:
    """Whether a sorted set of these members fits a listpack: what a set created whole
    (ZUNIONSTORE, ZRANGESTORE, a reload) is kept as."""
    return len(members) <= ZSET_MAX_LISTPACK_ENTRIES and all(len(member) <= ZSET_MAX_LISTPACK_VALUE
                                                             for member in members)


class ZSet:
    """A sorted set: a persistent map member -> score; ordering is computed when asked for.

    ``skiplist``: Redis keeps the set as a skiplist, not a listpack.  The encoding shows in replies
    (a skiplist keeps a score of -0; its lexicographic walks over members of different scores
    depend on its random levels), and Redis never converts a skiplist back, so it is state: set
    once the set outgrows a listpack (:mod:`redlin.model._zsets`) or a SORT reads it
    (``zsetConvert`` in sort.c, even SORT_RO).
    """

    __slots__ = ("scores", "skiplist", "_hash")

    def __init__(self, scores: Map, skiplist: bool = False) -> None:  # type: ignore[type-arg]
        self.scores = scores
        self.skiplist = skiplist
        self._hash = -1

    def __len__(self) -> int:
        return len(self.scores)

    def ordered(self) -> list[tuple[float, bytes]]:
        """(score, member) pairs in Redis order: by score, then member bytes."""
        return sorted((score, member) for member, score in self.scores.items())

    def __eq__(self, other: object) -> bool:
        return type(other) is ZSet and other.scores == self.scores and other.skiplist == self.skiplist

    def __hash__(self) -> int:
        if self._hash == -1:
            self._hash = hash(("zset", self.scores, self.skiplist))
        return self._hash

    def __repr__(self) -> str:
        return f"ZSet({dict(self.ordered_items())!r}{', skiplist=True' if self.skiplist else ''})"

    def ordered_items(self) -> list[tuple[bytes, float]]:
        return [(member, score) for score, member in self.ordered()]


Value: TypeAlias = "bytes | tuple | frozenset | Map | ZSet | Stream"  # type: ignore[type-arg]
Mail: TypeAlias = tuple | frozenset  # type: ignore[type-arg]  # a message frame, or a group of them


def mail_frames(mail: Mail) -> tuple[Any, ...]:
    """The frames of one mailbox entry in the order the model writes them (a group sorted)."""
    return tuple(sorted(mail, key=repr)) if type(mail) is frozenset else (mail,)

TYPE_NAMES: dict[type, str] = {bytes: "string", tuple: "list", Map: "hash", frozenset: "set", ZSet: "zset"}

EMPTY_MAP: Map = Map()  # type: ignore[type-arg]


class Keyspace:
    """One database: key -> value, and key -> absolute expiry deadline in milliseconds."""

    __slots__ = ("data", "expires", "_hash")

    def __init__(self, data: Map = EMPTY_MAP, expires: Map = EMPTY_MAP) -> None:  # type: ignore[type-arg]
        self.data = data
        self.expires = expires
        self._hash = -1

    def __eq__(self, other: object) -> bool:
        return self is other or (
            type(other) is Keyspace and other.data == self.data and other.expires == self.expires
        )

    def __hash__(self) -> int:
        if self._hash == -1:
            self._hash = hash((self.data, self.expires))
        return self._hash

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"Keyspace({dict(self.data)!r}, expires={dict(self.expires)!r})"


EMPTY_KEYSPACE = Keyspace()

_new_session = object.__new__


class Session:
    """What the server remembers about one connection.

    ``multi`` is ``None`` outside MULTI, else the tuple of queued argv.  ``dirty_exec`` is Redis's
    CLIENT_DIRTY_EXEC (a queue-time error: EXEC will abort), ``dirty_cas`` is CLIENT_DIRTY_CAS (a
    watched key was touched: EXEC will return a null array).  ``watched`` holds (db, key) pairs;
    ``stale`` the subset that was already logically expired when watched (sheet W11).

    ``channels``, ``patterns`` and ``shard_channels`` are the connection's Pub/Sub subscriptions
    (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE).  ``mailbox`` holds the messages the server has written to
    the connection that its client has not read yet, oldest first: each entry is a message frame
    (``(b"message", channel, payload)``), or a frozenset of the ``pmessage`` frames one PUBLISH wrote
    for several matching patterns, whose order Redis leaves to its hash table.  The mailbox is what
    makes delivery checkable: a PUBLISH appends, a client's read takes from the front (sheet P5).
    ``protocol`` is the RESP version the connection speaks (3 after ``HELLO 3``): a RESP3 client
    may run any command while subscribed (:mod:`redlin.model._resp3`).
    """

    __slots__ = ("db", "multi", "dirty_exec", "dirty_cas", "watched", "stale", "channels", "patterns",
                 "shard_channels", "mailbox", "protocol", "_hash")

    def __init__(
        self,
        db: int = 0,
        multi: tuple[tuple[bytes, ...], ...] | None = None,
        dirty_exec: bool = False,
        dirty_cas: bool = False,
        watched: frozenset[tuple[int, bytes]] = frozenset(),
        stale: frozenset[tuple[int, bytes]] = frozenset(),
        channels: frozenset[bytes] = frozenset(),
        patterns: frozenset[bytes] = frozenset(),
        shard_channels: frozenset[bytes] = frozenset(),
        mailbox: tuple[Mail, ...] = (),
        protocol: int = 2,
    ) -> None:
        self.db = db
        self.multi = multi
        self.dirty_exec = dirty_exec
        self.dirty_cas = dirty_cas
        self.watched = watched
        self.stale = stale
        self.channels = channels
        self.patterns = patterns
        self.shard_channels = shard_channels
        self.mailbox = mailbox
        self.protocol = protocol
        self._hash = -1

    def _key(self) -> tuple[Any, ...]:
        return (self.db, self.multi, self.dirty_exec, self.dirty_cas, self.watched, self.stale,
                self.channels, self.patterns, self.shard_channels, self.mailbox, self.protocol)

    def replace(self, **changes: Any) -> Session:
        """This session with ``changes`` (fields by name).  Written out, as the model replaces a
        session on most commands a transaction or a subscriber sends."""
        new = _new_session(Session)
        new.db, new.multi, new.dirty_exec, new.dirty_cas = self.db, self.multi, self.dirty_exec, self.dirty_cas
        new.watched, new.stale, new.channels, new.patterns = self.watched, self.stale, self.channels, self.patterns
        new.shard_channels, new.mailbox, new.protocol = self.shard_channels, self.mailbox, self.protocol
        for name, value in changes.items():
            setattr(new, name, value)
        new._hash = -1
        return new

    @property
    def subscriptions(self) -> int:
        """How many channels, patterns and shard channels the connection is subscribed to (RESP2:
        while this is not 0, only Pub/Sub commands, PING, QUIT and RESET are allowed, sheet P6)."""
        return len(self.channels) + len(self.patterns) + len(self.shard_channels)

    @property
    def unread(self) -> int:
        """How many message frames are in the mailbox."""
        return sum(len(mail) if type(mail) is frozenset else 1 for mail in self.mailbox)

    def is_default(self) -> bool:
        return self == DEFAULT_SESSION

    def __eq__(self, other: object) -> bool:
        # Field by field, the likeliest difference first: a step compares the session it leaves
        # with the one it found, and with the default one.
        return self is other or (
            type(other) is Session and self.multi == other.multi and self.mailbox == other.mailbox
            and self.db == other.db and self.dirty_exec == other.dirty_exec and self.dirty_cas == other.dirty_cas
            and self.watched == other.watched and self.stale == other.stale and self.channels == other.channels
            and self.patterns == other.patterns and self.shard_channels == other.shard_channels
            and self.protocol == other.protocol)

    def __hash__(self) -> int:
        if self._hash == -1:
            self._hash = hash(self._key())
        return self._hash

    def __repr__(self) -> str:
        parts = [f"{name}={getattr(self, name)!r}" for name in Session.__slots__[:-1]
                 if getattr(self, name) != getattr(DEFAULT_SESSION, name)]
        return f"Session({', '.join(parts)})"


DEFAULT_SESSION = Session()


_DEFAULT = PROFILES[DEFAULT_PROFILE]


class State:
    """The whole server.  Sessions equal to the default one are not stored (canonical form).

    ``profile`` is the server version the state belongs to (:mod:`redlin.model._profiles`): steps
    from it follow that version's semantics, and states of two versions are never equal.
    ``functions`` holds the function libraries (FUNCTION LOAD): library name -> its code.
    ``config`` holds the parameters CONFIG SET changed, only those that differ from their defaults
    (:mod:`redlin.model._config_table`): primary name -> the value CONFIG GET reports.
    """

    __slots__ = ("dbs", "sessions", "scripts", "watched", "profile", "functions", "config", "_hash")

    def __init__(
        self,
        dbs: tuple[Keyspace, ...] = (EMPTY_KEYSPACE,) * DATABASES,
        sessions: Map = EMPTY_MAP,  # type: ignore[type-arg]
        scripts: Map = EMPTY_MAP,  # type: ignore[type-arg]
        watched: frozenset[tuple[int, bytes]] | None = None,
        profile: Profile = _DEFAULT,
        functions: Map = EMPTY_MAP,  # type: ignore[type-arg]
        config: Map = EMPTY_MAP,  # type: ignore[type-arg]
    ) -> None:
        self.dbs = dbs
        self.profile = profile
        self.functions = functions
        self.config = config
        self.sessions = sessions
        self.scripts = scripts
        # Derived: every (db, key) some session watches, so that most writes can skip the
        # watcher scan.  Not part of equality.
        if watched is None:
            watched = frozenset().union(*(s.watched for s in sessions.values())) if sessions else frozenset()
        self.watched = watched
        self._hash = -1

    def session(self, client: ClientId) -> Session:
        return self.sessions.get(client, DEFAULT_SESSION)

    def __eq__(self, other: object) -> bool:
        return self is other or (
            type(other) is State
            and other.dbs == self.dbs
            and other.sessions == self.sessions
            and other.scripts == self.scripts
            and other.functions == self.functions
            and other.config == self.config
            and (other.profile is self.profile or other.profile == self.profile)
        )

    def __hash__(self) -> int:
        if self._hash == -1:
            self._hash = hash((self.dbs, self.sessions, self.scripts, self.profile.name, self.functions,
                               self.config))
        return self._hash

    def replace(self, *, dbs: tuple[Keyspace, ...] | None = None, sessions: Map | None = None,  # type: ignore[type-arg]
                scripts: Map | None = None, profile: Profile | None = None,  # type: ignore[type-arg]
                config: Map | None = None) -> State:  # type: ignore[type-arg]
        """This state with some of ``dbs``, ``sessions``, ``scripts``, ``profile``, ``config`` replaced.

        >>> State().replace(profile=PROFILES["redis-6.2"]).profile.name
        'redis-6.2'
        """
        return State(
            self.dbs if dbs is None else dbs,
            self.sessions if sessions is None else sessions,
            self.scripts if scripts is None else scripts,
            self.watched if sessions is None else None,
            self.profile if profile is None else profile,
            self.functions,
            self.config if config is None else config,
        )

    def __repr__(self) -> str:
        dbs = {i: db for i, db in enumerate(self.dbs) if db.data}
        extra = "" if self.profile is _DEFAULT else f", profile={self.profile.name!r}"
        extra += f", functions={sorted(self.functions)!r}" if self.functions else ""
        extra += f", config={dict(self.config)!r}" if self.config else ""
        return f"State(dbs={dbs!r}, sessions={dict(self.sessions)!r}, scripts={len(self.scripts)}{extra})"


INITIAL_STATE = State()
_INITIAL_STATES = {name: State(profile=p) for name, p in PROFILES.items()}
_INITIAL_STATES[DEFAULT_PROFILE] = INITIAL_STATE


def initial_state(profile_name: str = DEFAULT_PROFILE) -> State:
    """The empty server of a version profile (:data:`INITIAL_STATE` for the default, Redis 7.0).

    >>> initial_state("redis-6.2").profile.name
    'redis-6.2'
    >>> initial_state() is INITIAL_STATE, initial_state("redis-6.2") == INITIAL_STATE
    (True, False)
    """
    state = _INITIAL_STATES.get(profile_name)
    if state is None:
        profile(profile_name)  # raises ValueError naming the valid profiles
    assert state is not None
    return state
