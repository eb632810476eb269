"""redlin's specification: a sequential, deterministic, executable model of Redis 7.0.

Other versions are profiles of it (:mod:`redlin.model._profiles`): ``initial_state("redis-6.2")``
starts a server whose steps follow Redis 6.2 wherever it is known to differ.

``step(state, client, argv, now) -> (state, reply)`` is a pure function; states are immutable and
hashable.  :class:`Redis` wraps it for sequential use.  Replies are the values of
:mod:`redlin.model._reply`, exact to the byte on the wire (:mod:`redlin.model._resp`).
"""

from . import (  # noqa: F401  (importing a family registers its commands)
    _bitmaps,
    _blocking,
    _config,
    _functions,
    _hashes,
    _hyperloglog,
    _keys,
    _lists,
    _object,
    _pubsub,
    _random_replies,
    _scan,
    _scripting,
    _server,
    _sets,
    _sort,
    _stream_groups,
    _stream_reads,
    _streams,
    _strings,
    _transactions,
    _zset_algebra,
    _zsets,
)
from ._client import Client, Redis, to_argv
from ._commands import COMMANDS, CommandSpec, keys_of, lookup
from ._engine import (
    SEQUENTIAL,
    UNSEEN,
    CommandError,
    Context,
    Unseen,
    disconnect,
    restart,
    step,
    step_reporting_undeclared,
)
from ._lua_runtime import ScriptTooLong
from ._profiles import DEFAULT_PROFILE, PROFILES, Difference, Profile, profile_from_info
from ._pubsub import (
    canonical_pubsub_reply,
    flush_mailboxes,
    is_message,
    mailbox,
    receive,
    receive_all,
    split_messages,
    stringmatch,
)
from ._random_replies import HiddenChoice
from ._reply import (
    NULL,
    NULL_ARRAY,
    OK,
    QUEUED,
    RESP3_TYPES,
    Attributed,
    BigNumber,
    Boolean,
    Double,
    Error,
    Frames,
    MapReply,
    Push,
    Reply,
    SetReply,
    Status,
    Verbatim,
    frames_of,
    sort_unordered,
)
from ._resp import Parser, ProtocolError, encode_command, encode_reply
from ._resp3 import protocol_of, to_resp2, to_resp3, use_protocol
from ._state import DEFAULT_SESSION, INITIAL_STATE, Keyspace, Session, State, ZSet, initial_state

__all__ = [
    "NULL", "RESP3_TYPES", "Attributed", "BigNumber", "Boolean", "Double", "MapReply", "Push", "SetReply", "Verbatim",
    "protocol_of", "to_resp2", "to_resp3", "use_protocol",
    "COMMANDS", "Client", "CommandError", "CommandSpec", "Context", "DEFAULT_PROFILE", "DEFAULT_SESSION",
    "Difference", "Error", "Frames", "INITIAL_STATE", "Keyspace", "NULL_ARRAY", "OK", "PROFILES", "Parser",
    "Profile", "ProtocolError", "QUEUED", "Redis", "Reply", "ScriptTooLong", "Session", "State", "Status", "ZSet",
    "canonical_pubsub_reply", "disconnect", "encode_command", "encode_reply", "flush_mailboxes", "frames_of",
    "initial_state", "is_message", "keys_of", "lookup", "mailbox", "profile_from_info", "receive", "receive_all",
    "restart", "sort_unordered", "split_messages", "step", "step_reporting_undeclared", "stringmatch", "to_argv",
    "HiddenChoice", "SEQUENTIAL", "UNSEEN", "Unseen",
]
