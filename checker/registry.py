"""The history formats and models redlin knows, by the names the command line and files use.

A low module: the CLI, the report writer and the public API all read formats and models from
here, and it imports nothing above the history and search layers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from redlin.adapter.redis_model import redis_model
from redlin.errors import UsageError
from redlin.history import importers
from redlin.history.jsonl import load_history
from redlin.history.records import History
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
    """The history format, from the first non-empty line of the file."""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            for line in file:
                line = line.strip()
                if not line:
                    continue
                if line.startswith('{"'):
                    return "jsonl"
                if "jepsen.util" in line:
                    return "porcupine-etcd"
                if line.startswith("{") and ":key" in line:
                    return "porcupine-kv"
                return "jepsen-edn"
    except OSError as error:
        raise UsageError(f"{path}: {error.strerror}") from None
    return "porcupine-etcd" if path.suffix == ".log" else "jsonl"


def load(path: str | Path, fmt: str | None = None, model_name: str | None = None) -> tuple[History, Model[Any]]:
    """Read a history in any format and make the model to check it against.

    ``fmt`` defaults to a guess from the file's first line; ``model_name`` to the model the file
    names (redlin's histories) or the one its format implies.  Raises
    :class:`~redlin.errors.HistoryError` (``file:line: what is wrong``) for a malformed file and
    :class:`~redlin.errors.UsageError` for a missing one or an unknown name.
    """
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    fmt = fmt or guess_format(path)
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
    name = model_name or (default if fmt == "jsonl" else _DEFAULT_MODEL[fmt])
    if name not in _MODELS:
        raise UsageError(f"{path}: unknown model {name!r} (choose from {', '.join(MODELS)})")
    return history, make_model(name)
