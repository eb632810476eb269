"""redlin's linearizability checker: is a concurrent history explainable by a sequential model?

Public surface (everything else lives in ``_``-prefixed modules):

- records: :class:`Operation`, :class:`Outcome`, :class:`History`;
- models: :class:`Model`, :func:`partition_by_keys`, and the generic models :func:`register`,
  :func:`cas_register`, :func:`kv`, :func:`kv_single`;
- checking: :func:`check` returns :class:`Linearizable`, :class:`Violation` or :class:`Unknown`;
  :func:`minimise` shrinks a violation to a core of operations;
- importers: :func:`load_jepsen_edn`, :func:`load_porcupine_etcd`, :func:`load_porcupine_kv`, which
  raise :class:`HistoryError` on malformed input.
"""

from ._check import check
from ._errors import HistoryError
from ._history import History, Operation, Outcome
from ._importers import load_jepsen_edn, load_porcupine_etcd, load_porcupine_kv
from ._minimise import minimise
from ._model import Model, partition_by_keys
from ._models import cas_register, kv, kv_single, register
from ._result import Linearizable, Result, Unknown, Violation

__all__ = [
    "History",
    "HistoryError",
    "Linearizable",
    "Model",
    "Operation",
    "Outcome",
    "Result",
    "Unknown",
    "Violation",
    "cas_register",
    "check",
    "kv",
    "kv_single",
    "load_jepsen_edn",
    "load_porcupine_etcd",
    "load_porcupine_kv",
    "minimise",
    "partition_by_keys",
    "register",
]
