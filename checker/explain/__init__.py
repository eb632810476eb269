"""Explanations: what a counterexample means, as data (anomalies) and as prose.

:mod:`~redlin.explain.recognise` is the entry point (:func:`~redlin.explain.recognise.classify`,
:func:`~redlin.explain.recognise.explain`); :mod:`~redlin.explain.anomalies` holds the records,
:mod:`~redlin.explain.generic`, :mod:`~redlin.explain.redis` and :mod:`~redlin.explain.pubsub` the
recognisers, :mod:`~redlin.explain.render` the sentences and :mod:`~redlin.explain.names` the way
every report names times, clients and keys.
"""
