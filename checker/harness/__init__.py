"""The harness: drive a target with concurrent clients and record what they saw.

argv → :mod:`~redlin.harness.workloads` (Hypothesis draws programs) →
:mod:`~redlin.harness.recorder` (one connection per client, every operation written as it happens)
→ a history, which :mod:`~redlin.harness.runner` checks, shrinks and reports.
:mod:`~redlin.harness.pubsub` does the same for Pub/Sub rounds; :mod:`~redlin.harness.differential`
runs the model and a real server in lockstep; :mod:`~redlin.harness.wire` is the RESP2 client that
keeps every reply exactly as the server sent it.
"""
