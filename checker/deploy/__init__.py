"""Servers redlin starts itself, from the distribution's Redis binaries (found without mistaking a
Python package's bundled copy for them, :mod:`redlin.deploy.binaries`): single nodes and the local
topologies of issue #14 (:mod:`redlin.deploy.node`, :mod:`redlin.deploy.topology`,
:mod:`redlin.deploy.cluster`), on free loopback ports, torn down afterwards; the nemesis that faults them
(:mod:`redlin.deploy.nemesis`), through proxies between clients and nodes (:mod:`redlin.deploy.proxy`)
and between the nodes themselves (:mod:`redlin.deploy.network`)."""
