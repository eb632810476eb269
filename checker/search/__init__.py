"""The generic linearizability checker: nothing in it knows about Redis.

- :mod:`redlin.search.model`: the model record a user fills in (Porcupine's shape, plus
  ``read_only`` and ``effect``);
- :mod:`redlin.search.models`: register, cas-register and key/value models;
- :mod:`redlin.search.check`: partition a history (Horn & Kroening) and search each part within a budget;
- :mod:`redlin.search.wgl`: the search of one part (Wing & Gong, with Lowe's memoisation);
- :mod:`redlin.search.minimise`: shrink a violation to a core of operations;
- :mod:`redlin.search.result`: the three verdicts, as values;
- :mod:`redlin.search.sequential`: the weaker check for replica reads, sequential consistency;
- :mod:`redlin.search.fastpath`: unique-value register parts decided without a search;
- :mod:`redlin.search.parallel` and :mod:`redlin.search.distributed`: the parts checked in worker
  processes (``--jobs``) or on a Dask cluster (``--dask``), with :mod:`redlin.search.rounds`
  keeping check()'s rounds and violation order between them.
"""

from redlin.search.check import check
from redlin.search.minimise import minimise
from redlin.search.model import Model, partition_by_keys
from redlin.search.models import cas_register, kv, kv_single, register
from redlin.search.result import Linearizable, Result, Unknown, Violation
from redlin.search.sequential import SequentialResult, check_sequential

__all__ = [
    "Linearizable", "Model", "Result", "SequentialResult", "Unknown", "Violation", "cas_register", "check",
    "check_sequential", "kv", "kv_single", "minimise", "partition_by_keys", "register",
]
