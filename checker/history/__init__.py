"""Histories: what a concurrent run looked like from its clients, and the files that hold them.

The data flow starts here: a recorder (:mod:`redlin.harness`) writes a history as it happens, an
importer reads another tool's, and the checker (:mod:`redlin.search`) reads the records.

- :mod:`redlin.history.records`: the frozen records :class:`Operation`, :class:`Outcome`,
  :class:`History` (re-exported here: the lowest layer, which every other one reads);
- :mod:`redlin.history.jsonl`: redlin's own JSON Lines format, written line by line;
- :mod:`redlin.history.importers`: Porcupine's etcd and kv logs, Jepsen/Knossos EDN.

The formats are modules of their own, not re-exported here, because the JSON Lines format reads
Redis replies through the Redis adapter, which itself is built on the records.
"""

from redlin.history.records import History, Operation, Outcome

__all__ = ["History", "Operation", "Outcome"]
