"""redlin: does a Redis server, clone or deployment keep Redis's concurrency guarantees?

``import redlin`` gives the public API; everything else lives in subpackages whose names follow
the data flow (argv → workload → recorder → history → partitions → search → result →
explanation → report):

=========================  ===========================================================================
:mod:`redlin.model`        the specification: an executable, sequential model of Redis 7.0
:mod:`redlin.history`      histories and their files (redlin's JSON Lines, Porcupine, Jepsen EDN)
:mod:`redlin.search`       the generic linearizability checker (knows nothing of Redis)
:mod:`redlin.adapter`      the Redis model as a model of that checker
:mod:`redlin.harness`      workloads, the recorder, ``run``, the lockstep differential tester
:mod:`redlin.explain`      what a counterexample means, as data and as prose
:mod:`redlin.report`       ``report.html``, ``summary.md``, ``result.json``, ``junit.xml``
:mod:`redlin.serve`        the embedded model server and its planted faults
:mod:`redlin.testing`      your own Redis code under concurrency: components, the pytest plugin
:mod:`redlin.strategies`   public Hypothesis strategies: commands, transactions, scripts, programs
:mod:`redlin.cli`          the ``redlin`` command (the top: nothing imports it)
=========================  ===========================================================================

Check a history in a few lines:

>>> import redlin
>>> history = redlin.History([
...     redlin.Operation(id=0, client=1, call=("write", 1), result=None, invoke=0, complete=10),
...     redlin.Operation(id=1, client=2, call=("read",), result=1, invoke=20, complete=30),
... ])
>>> redlin.check(history, redlin.register()).verdict
'linearizable'
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from redlin.adapter.redis_model import redis_model
from redlin.errors import HistoryError, UsageError
from redlin.harness.recorder import Recorder, Target, TargetError
from redlin.harness.runner import RunOutcome, run
from redlin.harness.workloads import FAMILIES, Family, Program, family, load_family, programs
from redlin.history.importers import load_jepsen_edn, load_porcupine_etcd, load_porcupine_kv
from redlin.history.jsonl import HistoryWriter, load_history, save_history
from redlin.history.records import History, Operation, Outcome
from redlin.registry import FORMATS, MODELS, load, make_model
from redlin.search.check import check
from redlin.search.minimise import minimise
from redlin.search.model import Model, partition_by_keys
from redlin.search.models import cas_register, kv, kv_single, register
from redlin.search.result import Linearizable, Result, Unknown, Violation

try:
    __version__ = _version("redlin")
except PackageNotFoundError:  # pragma: no cover - running from a tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "FAMILIES",
    "FORMATS",
    "MODELS",
    "Family",
    "History",
    "HistoryError",
    "HistoryWriter",
    "Linearizable",
    "Model",
    "Operation",
    "Outcome",
    "Program",
    "Recorder",
    "Result",
    "RunOutcome",
    "Target",
    "TargetError",
    "Unknown",
    "UsageError",
    "Violation",
    "__version__",
    "cas_register",
    "check",
    "family",
    "kv",
    "kv_single",
    "load",
    "load_family",
    "load_history",
    "load_jepsen_edn",
    "load_porcupine_etcd",
    "load_porcupine_kv",
    "make_model",
    "minimise",
    "partition_by_keys",
    "programs",
    "redis_model",
    "register",
    "run",
    "save_history",
]
