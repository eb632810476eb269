"""Histories: what a concurrent run looked like from its clients, and the files that hold them.

The data flow starts here: a recorder (:mod:`redlin.harness`) writes a history as it happens, an
importer reads another tool's, and the checker (:mod:`redlin.search`) reads the records.

- :mod:`redlin.history.records`: the frozen records :class:`Operation`, :class:`Outcome`, :class:`History`;
- :mod:`redlin.history.jsonl`: redlin's own JSON Lines format, written line by line;
- :mod:`redlin.history.importers`: Porcupine's etcd and kv logs, Jepsen/Knossos EDN.
"""

from redlin.history.importers import load_jepsen_edn, load_porcupine_etcd, load_porcupine_kv
from redlin.history.jsonl import HistoryWriter, load_history, save_history
from redlin.history.records import History, Operation, Outcome

__all__ = [
    "History", "HistoryWriter", "Operation", "Outcome", "load_history", "load_jepsen_edn",
    "load_porcupine_etcd", "load_porcupine_kv", "save_history",
]
