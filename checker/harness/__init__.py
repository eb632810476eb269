"""The harness: drive a target with concurrent clients, record what they saw, and judge it.

The flow of ``redlin run`` (:func:`redlin.harness.runner.run`), module by module:

- :mod:`~redlin.harness.preflight`: check the arguments and the workload, open the target
  (:mod:`~redlin.harness.target`) and the output folder;
- :mod:`~redlin.harness.workloads` and :mod:`~redlin.harness.actions`: the families and the
  Hypothesis strategy that draws parallel programs of commands, transactions and scripts;
- :mod:`~redlin.harness.recorder`: one connection per client, each operation written to the
  history as it happens, every outgoing command checked against the key-prefix guard;
- :mod:`~redlin.harness.program_search`: run, check, shrink a failing program;
- :mod:`~redlin.harness.run_report`, :mod:`~redlin.harness.outcome`,
  :mod:`~redlin.harness.progress`: the verdict over all runs, its report, what the console shows.

:mod:`~redlin.harness.pubsub` records Pub/Sub rounds (checked by
:mod:`redlin.adapter.pubsub_check`); :mod:`~redlin.harness.differential` runs the model and a real
server in lockstep (its command families in :mod:`~redlin.harness.lockstep_commands`);
:mod:`~redlin.harness.wire` is the RESP2 client that keeps every reply exactly as sent.
"""
