"""The Redis adapter: Redis histories as a model of the generic checker.

- :mod:`redlin.adapter.redis_model` turns the executable specification (:mod:`redlin.model`) into
  a :class:`~redlin.search.model.Model`: an operation is what Redis executes atomically (one
  command, one MULTI…EXEC block, one script), sessions and the script cache are part of the
  searched state;
- :mod:`redlin.adapter.partition` cuts a history into parts by the keys the command table names,
  the sets used member by member (:mod:`redlin.adapter.members`) and the Pub/Sub objects
  (:mod:`redlin.adapter.pubsub_parts`);
- :mod:`redlin.adapter.deliveries` reads what a history says about Pub/Sub deliveries (who read
  which message, which PUBLISH could have sent it, who was subscribed when);
- :mod:`redlin.adapter.pubsub_check` checks and minimises the rounds of a Pub/Sub run;
- :mod:`redlin.adapter.views` (with :mod:`redlin.adapter.strings`) says which commands the search's
  fast paths may decide: a register's GET and SET, a string's APPEND, a list's pushes and pops, INCR.
"""

from redlin.adapter.redis_model import redis_model

__all__ = ["redis_model"]
