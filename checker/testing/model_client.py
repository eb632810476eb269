"""A redis-py client whose server is redlin's model: run a user's function sequentially on a model state.

The checker needs the *sequential specification* of a user's operation (a Python function over a
redis-py client): what it returns, and what it leaves behind, when it runs alone on a given state.
That is the function itself, run against the model instead of a server.  :func:`model_client`
builds a real ``redis.Redis`` whose connection pool hands out :class:`ModelConnection` objects;
each command they send is one :func:`redlin.model.step` on a shared :class:`StateBox`, and each
reply goes back through redis-py's own RESP2 parser (the model's reply encoded to the bytes Redis
would send), so the function sees exactly the values, exceptions and response callbacks a server's
reply would give it: ``SET ... NX`` is ``True`` or ``None``, ``HGETALL`` a dict, a ``WRONGTYPE``
reply a ``ResponseError``, EVALSHA of an unknown script a ``NoScriptError``.

Both sides speak RESP2 (redlin opens the real clients with ``protocol=2`` too), so one function
gets the same reply types from the server and from the model.  Each connection the pool makes is a
model session of its own, ``(client, n)``, reused in the order redis-py's pool reuses connections,
so MULTI, WATCH and the script cache behave as on a server.  The model's clock does not move: keys
with a time to live do not expire during a check.

>>> box = StateBox()
>>> r = model_client(box, client=1)
>>> r.set("lock", "me", nx=True, px=30000), r.set("lock", "you", nx=True), r.get("lock")
(True, None, b'me')
>>> pipe = r.pipeline()
>>> pipe.incr("n").incr("n").execute()
[1, 2]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import redis
from redis._parsers import Encoder, _RESP2Parser  # redis-py's own: replies decode as from a socket
from redis.backoff import NoBackoff
from redis.exceptions import ResponseError
from redis.retry import Retry

from redlin.model import State, initial_state, step
from redlin.model._client import to_argv
from redlin.model._resp import encode_reply

__all__ = ["ModelConnection", "ModelPool", "StateBox", "model_client"]


class StateBox:
    """The model state a function runs on; every connection of its clients steps it in turn."""

    def __init__(self, state: State | None = None) -> None:
        self.state: State = initial_state() if state is None else state


class _Bytes:
    """The buffer redis-py's parser reads from, over bytes in memory instead of a socket."""

    def __init__(self) -> None:
        self._data = b""
        self._pos = 0

    def feed(self, data: bytes) -> None:
        self._data = self._data[self._pos:] + data
        self._pos = 0

    def readline(self, timeout: object = None) -> bytes:
        end = self._data.index(b"\r\n", self._pos)
        line = self._data[self._pos:end]
        self._pos = end + 2
        return line

    def read(self, length: int, timeout: object = None) -> bytes:
        data = self._data[self._pos:self._pos + length]
        self._pos += length + 2
        return data

    def get_pos(self) -> int:
        return self._pos

    def rewind(self, pos: int) -> None:
        self._pos = pos

    def purge(self) -> None:
        """Nothing to free: :meth:`feed` drops what was read."""

    def close(self) -> None:
        """Nothing to close."""


def _split_name(args: Sequence[Any]) -> tuple[Any, ...]:
    """redis-py sends ``"SCRIPT LOAD"`` as two words; so does this connection."""
    if args and isinstance(args[0], str) and " " in args[0]:
        return (*args[0].split(), *args[1:])
    return tuple(args)


class ModelConnection:
    """One connection (model session ``session``) of a :class:`ModelPool`: the part of redis-py's
    ``Connection`` interface that ``Redis``, pipelines and scripts use, over the model."""

    # What redis-py's client reads off a connection, with a model's values.
    db = 0
    host = "redlin-model"
    port = 0
    pid = None
    _resp2_fallback = False

    def __init__(self, box: StateBox, session: Hashable, encoder: Any) -> None:
        self.box = box
        self.session = session
        self.encoder = encoder
        self.retry = Retry(NoBackoff(), 0)
        self._replies: deque[bytes] = deque()
        self._parser = _RESP2Parser(socket_read_size=65536)  # type: ignore[no-untyped-call]
        self._buffer = _Bytes()
        self._parser._buffer = self._buffer
        self._parser.encoder = encoder

    def connect(self) -> None:
        """Nothing to connect: the model is here."""

    def disconnect(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to close; the session stays, as the function's next call expects of a pool."""

    def should_reconnect(self) -> bool:
        return False

    def check_health(self) -> None:
        """Always healthy."""

    def can_read(self, timeout: float = 0) -> bool:
        return bool(self._replies)

    def pack_command(self, *args: Any) -> list[tuple[Any, ...]]:
        return [_split_name(args)]

    def pack_commands(self, commands: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
        return [_split_name(args) for args in commands]

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        self.send_packed_command(self.pack_command(*args))

    def send_packed_command(self, command: Sequence[tuple[Any, ...]], check_health: bool = True) -> None:
        for args in command:
            argv = to_argv(args)
            self.box.state, reply = step(self.box.state, self.session, argv)
            self._replies.append(encode_reply(reply))

    def read_response(self, disable_decoding: bool = False, **kwargs: Any) -> Any:
        self._buffer.feed(self._replies.popleft())
        response = self._parser.read_response(disable_decoding=disable_decoding)
        if isinstance(response, ResponseError):
            raise response
        return response


class ModelPool:
    """The connection pool of a :func:`model_client`: connections ``(client, 1)``, ``(client, 2)``...
    made on demand and reused last-released first, as redis-py's own pool does."""

    def __init__(self, box: StateBox, client: Hashable, *, decode_responses: bool = False) -> None:
        self.box = box
        self.client = client
        self.connection_kwargs: dict[str, Any] = {"decode_responses": decode_responses, "protocol": 2}
        self.encoder = Encoder("utf-8", "strict", decode_responses)  # type: ignore[no-untyped-call]
        self._made = 0
        self._free: list[ModelConnection] = []

    def get_encoder(self) -> Any:
        return self.encoder

    def get_protocol(self) -> int:
        return 2

    def get_connection(self, command_name: object = None, *keys: object, **options: object) -> ModelConnection:
        if self._free:
            return self._free.pop()
        self._made += 1
        return ModelConnection(self.box, (self.client, self._made), self.encoder)

    def release(self, connection: ModelConnection) -> None:
        self._free.append(connection)

    def disconnect(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to close."""

    def close(self) -> None:
        """Nothing to close."""


def model_client(box: StateBox, client: Hashable, *, decode_responses: bool = False) -> redis.Redis:
    """A ``redis.Redis`` for ``client`` that runs every command on ``box``'s model state."""
    return redis.Redis(connection_pool=ModelPool(box, client, decode_responses=decode_responses))  # type: ignore[arg-type]
