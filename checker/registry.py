"""The history formats and models redlin knows, by the names the command line and files use.

A low module: the CLI, the report writer and the public API all read formats and models from
here, and it imports nothing above the history and search layers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from redlin.adapter.profiles import profile_in
from redlin.adapter.redis_model import redis_model
from redlin.errors import HistoryError, UsageError
from redlin.history import importers
from redlin.history.jsonl import MAX_LINE, REDIS_MODELS, load_history
from redlin.history.records import History, Outcome
from redlin.history.source import BOM, read_lines, regular_file
from redlin.model import PROFILES
from redlin.search import models
from redlin.search.model import Model

FORMATS: Final = ("jsonl", "porcupine-etcd", "porcupine-kv", "jepsen-edn")
"""History formats: redlin's JSON Lines, Porcupine's etcd logs and kv files, Jepsen/Knossos EDN."""

_MODELS: Final[dict[str, Callable[[], Model[Any]]]] = {
    "redis": lambda: redis_model(),
    "redis-single": lambda: redis_model(partitioned=False),
    "register": models.register,
    "cas-register": models.cas_register,
    "kv": models.kv,
    "kv-single": models.kv_single,
}
MODELS: Final = tuple(_MODELS)
"""Model names: the Redis model (partitioned by key, or whole) and the generic models."""

TRANSACTION_FORMATS: Final = ("elle-edn",)
"""Formats of transactional histories only: Jepsen/Elle's EDN list-append and rw-register logs."""
TRANSACTION_MODELS: Final = ("list-append", "rw-register")
"""Models checked by :func:`redlin.cycles.check_transactions` (dependency cycles), not by the search."""

_DEFAULT_MODEL: Final = {"porcupine-etcd": "cas-register", "porcupine-kv": "kv", "jepsen-edn": "cas-register"}


def make_model(name: str) -> Model[Any]:
    """A fresh model by name (one of :data:`MODELS`).

    >>> make_model("cas-register").name
    'cas-register'
    """
    try:
        return _MODELS[name]()
    except KeyError:
        raise UsageError(f"unknown model {name!r} (choose from {', '.join(MODELS)})") from None


def guess_format(path: Path) -> str:
    """The history format, from the first non-empty line of the file (a byte order mark aside)."""
    regular_file(path)
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            for line in file:
                line = line.strip().lstrip(BOM).strip()
                if not line:
                    continue
                if line.startswith('{"'):
                    return "jsonl"
                if "jepsen.util" in line:
                    return "porcupine-etcd"
                if line.startswith("{") and (":txn" in line or "[[:" in line):
                    return "elle-edn"
                if line.startswith("{") and ":key" in line:
                    return "porcupine-kv"
                return "jepsen-edn"
    except OSError as error:
        raise UsageError(f"{path}: {error.strerror}") from None
    return "porcupine-etcd" if path.suffix == ".log" else "jsonl"


def load(path: str | Path, fmt: str | None = None, model_name: str | None = None,
         profile: str | None = None) -> tuple[History, Model[Any]]:
    """Read a history in any format and make the model to check it against.

    ``fmt`` defaults to a guess from the file's first line; ``model_name`` to the model the file
    names (redlin's histories) or the one its format implies.  A Redis history is checked as the
    version profile its meta names (``"profile": "redis-6.2"``; Redis 7.0 when it names none), or
    as ``profile`` when given, which the returned history's meta then names.  Raises
    :class:`~redlin.errors.HistoryError` (``file:line: what is wrong``) for a malformed file and
    :class:`~redlin.errors.UsageError` for a missing one or an unknown name.
    """
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    regular_file(path)
    fmt = fmt or guess_format(path)
    if fmt in TRANSACTION_FORMATS:
        raise UsageError(f"{path}: a {fmt} history holds transactions: check it with --model "
                         f"{' or --model '.join(TRANSACTION_MODELS)}")
    if fmt not in FORMATS:
        raise UsageError(f"{path}: unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    if fmt == "jsonl":
        history = load_history(path)
        default = str(history.meta.get("model", "redis"))
    elif fmt == "porcupine-etcd":
        history = importers.load_porcupine_etcd(path)
    elif fmt == "porcupine-kv":
        history = importers.load_porcupine_kv(path)
    else:
        history = importers.load_jepsen_edn(path)
    if not history.operations and _blank(path):
        raise HistoryError(path, None, "no events: the history is empty")
    name = model_name or (default if fmt == "jsonl" else _DEFAULT_MODEL[fmt])
    if name not in _MODELS:
        raise UsageError(f"{path}: unknown model {name!r} (choose from {', '.join(MODELS)})")
    kind = fmt if fmt != "jsonl" else "jsonl-redis" if default in REDIS_MODELS else "jsonl-generic"
    if name not in _FITS[kind]:
        raise UsageError(f"{path}: model {name} does not fit a {_KIND_TEXT[kind]} history "
                         f"(choose from {', '.join(_FITS[kind])})")
    _check_calls(path, history, name)
    if name not in REDIS_MODELS:
        if profile is not None:
            raise UsageError(f"{path}: a version profile applies to the Redis models, not to model {name}")
        return history, make_model(name)
    if profile is not None:
        if profile not in PROFILES:
            raise UsageError(f"{path}: unknown profile {profile!r} (choose from {', '.join(PROFILES)})")
        meta = {key: value for key, value in history.meta.items() if key not in ("profile_reason", "profile_warning")}
        recorded = profile_in(history.meta)
        why = "given when checking" + (f" (the history was recorded as {recorded})" if recorded != profile else "")
        history = History(history.operations, {**meta, "profile": profile, "profile_reason": why})
    protocol = 3 if history.meta.get("protocol") == 3 else 2  # recorded over RESP3, or RESP2
    return history, redis_model(partitioned=name == "redis", protocol=protocol, profile=profile_in(history.meta))


# Which models can read which histories: a model given calls it does not know would fail inside
# the search, so the mismatch is refused up front with the choices that fit.
_FITS: Final = {
    "porcupine-etcd": ("cas-register", "register"),
    "jepsen-edn": ("cas-register", "register"),
    "porcupine-kv": ("kv", "kv-single"),
    "jsonl-redis": ("redis", "redis-single"),
    "jsonl-generic": ("register", "cas-register", "kv", "kv-single"),
}
_KIND_TEXT: Final = {"porcupine-etcd": "Porcupine etcd", "jepsen-edn": "Jepsen EDN register",
                     "porcupine-kv": "Porcupine key/value", "jsonl-redis": "Redis",
                     "jsonl-generic": "generic (register or key/value)"}
# The calls each generic model understands: name -> number of arguments.
_CALLS: Final = {
    "register": {"read": 0, "write": 1},
    "cas-register": {"read": 0, "write": 1, "cas": 2},
    "kv": {"get": 1, "put": 2, "append": 2},
    "kv-single": {"get": 1, "put": 2, "append": 2},
}


def _check_calls(path: Path, history: History, name: str) -> None:
    calls = _CALLS.get(name)
    if calls is None:
        return  # the Redis model validates its own calls when the history is read
    for op in history:
        call = op.call
        ok = isinstance(call, tuple) and call and isinstance(call[0], str) and calls.get(call[0]) == len(call) - 1
        if ok and name.startswith("kv"):
            ok = all(isinstance(part, str) for part in call[1:])
            ok = ok and (op.outcome is not Outcome.OK or call[0] != "get" or isinstance(op.result, str))
        if not ok:
            raise HistoryError(path, op.line, f"model {name} cannot read the call {call!r} (it knows "
                                              f"{', '.join(f'{c}/{n}' for c, n in calls.items())})")


def _blank(path: Path) -> bool:
    """Whether the file holds nothing but white space (and a byte order mark)."""
    return all(not line.strip() for _, line in read_lines(path, max_line=MAX_LINE))
