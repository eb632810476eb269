"""Test your own Redis code: declare its operations, run them concurrently, check they are atomic.

The flow, module by module:

- :mod:`~redlin.testing.component`: a :class:`Component` and its operations (functions over a
  redis-py client, Lua scripts, MULTI/EXEC blocks), with Hypothesis strategies for arguments and
  for concurrent programs;
- :mod:`~redlin.testing.execute`: run a program on a target, one thread per client, each call one
  operation of the history (with the commands it sent);
- :mod:`~redlin.testing.model_client`: the same functions on redlin's model, through a real
  redis-py client: the sequential specification;
- :mod:`~redlin.testing.judge`: linearizability of the run against that specification, the minimal
  counterexample, the report;
- :mod:`~redlin.testing.concurrent`: the property test (Hypothesis draws programs and shrinks a
  failing one), as :func:`concurrent` for pytest and :func:`check_component` without it;
- :mod:`~redlin.testing.plugin`: the pytest plugin (``--redlin-target``, the ``redlin_*`` fixtures).

>>> from redlin.testing import Component, concurrent
>>> lock = Component("lock", keys=["lock"])
>>> lock.name
'lock'
"""

from redlin.testing.component import Call, Component, ConcurrentProgram, canonical
from redlin.testing.concurrent import ConcurrencyViolation, check_component, concurrent
from redlin.testing.execute import Recorded, run_program
from redlin.testing.judge import Verdict, component_model, judge
from redlin.testing.model_client import StateBox, model_client

__all__ = [
    "Call",
    "Component",
    "ConcurrencyViolation",
    "ConcurrentProgram",
    "Recorded",
    "StateBox",
    "Verdict",
    "canonical",
    "check_component",
    "component_model",
    "concurrent",
    "judge",
    "model_client",
    "run_program",
]
