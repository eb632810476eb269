"""One ``redlin run``: its arguments, checked (:class:`RunPlan`), its identity and its defaults.

The plan opens the target (:mod:`redlin.harness.preflight`), says what the history file's meta
line and the report tell about the run (:meth:`RunPlan.record`), and starts the run's clock
(:meth:`RunPlan.budget`, whose promises :mod:`redlin.harness.budget` writes down).
"""

from __future__ import annotations

import datetime
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from redlin.harness.budget import Budget
from redlin.harness.preflight import OpenTarget, open_target
from redlin.harness.run_profile import DEFAULT_CHOICE, ProfileChoice
from redlin.harness.run_report import RunRecord

__all__ = ["DEFAULT_CHECK_TIME", "DEFAULT_CLIENTS", "DEFAULT_DATABASE", "DEFAULT_OPS", "DEFAULT_RECONNECT_FOR",
           "DEFAULT_REPEAT", "DEFAULT_SHRINK_TIME", "DEFAULT_STEPS", "DEFAULT_TIMEOUT", "RunPlan"]

DEFAULT_CLIENTS: Final = 4
DEFAULT_STEPS: Final = 25
DEFAULT_OPS: Final = 3000
DEFAULT_REPEAT: Final = 3
DEFAULT_TIMEOUT: Final = 5.0
DEFAULT_CHECK_TIME: Final = 10.0
DEFAULT_SHRINK_TIME: Final = 10.0
DEFAULT_RECONNECT_FOR: Final = 30.0
DEFAULT_DATABASE: Final = Path(".hypothesis") / "redlin"


@dataclass(frozen=True, slots=True)
class RunPlan:
    """One call of :func:`redlin.run`: its arguments (checked) and the run's identity."""

    target: str | None
    fault: str | None
    clients: int
    steps: int
    ops: int | None
    duration: float | None
    rate: float | None
    seed: int
    repeat: int
    timeout: float
    check_time: float
    shrink_time: float
    reconnect_for: float
    password_env: str | None
    run_id: str
    out_dir: Path
    protocol: int = 2
    """The RESP version the recorder's connections speak (``--protocol``)."""
    profile: ProfileChoice = DEFAULT_CHOICE
    """The version the target is checked as (``--profile``, resolved by
    :func:`~redlin.harness.preflight.resolve_profile`); the embedded server plays it."""
    engine: str = "programs"
    """How the run records (``--engine``): ``programs`` drawn and run between barriers
    (:mod:`redlin.harness.runner`), or ``async``, the pressure engine (:mod:`redlin.harness.pressure_run`)."""

    @property
    def prefix(self) -> bytes:
        """Every key of the run starts with it: ``redlin:<run-id>:``."""
        return f"redlin:{self.run_id}:".encode()

    def open(self, stack: ExitStack) -> OpenTarget:
        """Reach the target (the embedded server, started, stops when ``stack`` closes)."""
        return open_target(stack, self.target, fault=self.fault, seed=self.seed, password_env=self.password_env,
                           timeout=self.timeout, out_dir=self.out_dir, profile=self.profile.name)

    def budget(self) -> Budget:
        """The run's clock, started now."""
        return Budget(check_time=self.check_time, shrink_time=self.shrink_time, timeout=self.timeout,
                      duration=self.duration, started=time.monotonic())

    def record(self, opened: OpenTarget, **meta: Any) -> RunRecord:
        """What the history file's meta line and the report say about the run."""
        facts = {"run_id": self.run_id, "target": opened.target.url, "embedded": self.target is None,
                 "fault": self.fault, "seed": self.seed, "clients": self.clients, "steps": self.steps, **meta,
                 "prefix": self.prefix.decode(), "server_version": opened.server_version,
                 "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        if self.protocol != 2:  # RESP2 histories keep the meta they always had
            facts["protocol"] = self.protocol
        if self.engine != "programs":
            facts["engine"] = self.engine
        facts.update(self.profile.meta())
        return RunRecord(self.run_id, self.prefix, opened.described, self.out_dir, opened.history_path, facts,
                         self.profile)
