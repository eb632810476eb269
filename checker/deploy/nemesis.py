"""The nemesis: a schedule of faults injected into a deployment while a workload runs against it.

A :class:`Nemesis` runs in a background thread.  Every few seconds (``interval``) it picks a fault
kind and a target with a generator seeded by ``seed``, injects the fault, waits ``duration`` and
heals it, one fault at a time, and records each as a :class:`~redlin.deploy.faults.FaultEvent`
timed by ``time.monotonic_ns()``, the clock the history's operations are timed by, so the events
sit on the same timeline.  The same seed on the same deployment gives the same kinds and targets.

The faults (:data:`~redlin.deploy.faults.FAULT_KINDS`), all on processes and proxies redlin started:

- ``kill``: SIGKILL a server, start it again after ``duration``;
- ``pause``: SIGSTOP a server, SIGCONT after ``duration``;
- ``restart``: a clean stop (SIGTERM) and start;
- ``failover``: ``SENTINEL FAILOVER`` (Sentinel), ``CLUSTER FAILOVER [FORCE|TAKEOVER]`` on a
  replica (Cluster), or ``REPLICAOF NO ONE`` on a replica and the others repointed (primary-replica);
- ``client-pause``: ``CLIENT PAUSE ms WRITE|ALL`` on a primary (a command, not a signal), ``ms``
  the fault's duration; a WRITE pause is lifted early by ``CLIENT UNPAUSE`` when the nemesis
  stops, an ALL pause cannot be (it holds ``CLIENT UNPAUSE`` too) and is waited out;
- ``partition`` (clients from a node) and ``latency``: through the node's
  :class:`~redlin.deploy.proxy.Proxy` of the clients' layer;
- ``isolate`` (one server, by ``target``, cut off from every other node, sentinels included) and
  ``split`` (every node, sentinels included, dealt at random into two halves, the links between
  them cut): partitions between nodes, through the :class:`~redlin.deploy.network.PeerNetwork`;
  the clients still reach every node, so an isolated primary goes on taking writes while the others
  elect a new one (the split brain that loses acknowledged writes);
- a name of the user's ``--nemesis-cmd``: the user's command, and its ``heal-`` command.

:meth:`Nemesis.stop` (and leaving a ``with``) stops the schedule and heals everything: paused nodes
resumed, killed ones started, partitions and latency removed, client pauses lifted.

>>> from redlin.deploy.topology import PrimaryReplica
>>> topology = PrimaryReplica(1)  # built, not started: nothing runs until start()
>>> nemesis = Nemesis(topology, "kill:target=primary,pause", seed=7, interval=(2, 5), duration=(1, 3))
>>> [spec.kind for spec in nemesis.faults], nemesis.events()
(['kill', 'pause'], [])
>>> Nemesis(topology, "partition")
Traceback (most recent call last):
...
redlin.errors.UsageError: --nemesis partition needs the proxy layer (clients connecting through redlin's proxies)
>>> topology.close()
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import redis

from redlin.deploy.cluster import Cluster
from redlin.deploy.faults import (
    NODE_PARTITIONS,
    FaultEvent,
    FaultSpec,
    UserCommand,
    parse_nemesis,
    run_command,
)
from redlin.deploy.network import PeerNetwork
from redlin.deploy.node import DeployError, Node, Topology
from redlin.deploy.proxy import ProxyLayer
from redlin.deploy.topology import PrimaryReplica, SentinelGroup
from redlin.errors import UsageError

INTERVAL: Final = (2.0, 5.0)
"""Seconds between the heal of one fault and the start of the next, by default."""
DURATION: Final = (1.0, 3.0)
"""Seconds a fault lasts before it is healed, by default."""
Heal = Callable[[], dict[str, Any]]
"""What undoes a fault; returns what it learned (a command's exit status) for the event's detail."""


def clock() -> int:
    """The time of fault events: the monotonic clock the recorders time operations by."""
    return time.monotonic_ns()


def stopped(node: Node) -> bool:
    """True when ``node``'s process is stopped (SIGSTOP): state ``T`` in ``/proc``."""
    pid = node.pid
    if pid is None:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("T", "t")
    except (OSError, IndexError):
        return False


def _nothing() -> dict[str, Any]:
    return {}


class Nemesis:
    """Inject ``faults`` (a ``--nemesis`` string or parsed specs) into ``topology`` (``None`` for a
    deployment redlin does not own: then only ``commands`` apply).

    ``interval`` and ``duration`` are ``(low, high)`` seconds, drawn uniformly for each fault (a
    fault's own options override them); ``proxies`` is the proxy layer clients go through (needed by
    ``partition`` and ``latency``), ``network`` the one between nodes (needed by ``isolate`` and
    ``split``); ``commands`` the user's ``--nemesis-cmd`` faults; ``limit`` stops
    the schedule after that many faults; each fault is appended to ``journal`` and given to
    ``listener`` once healed.
    """

    def __init__(self, topology: Topology | None, faults: str | Sequence[FaultSpec], *, seed: int = 0,
                 interval: tuple[float, float] = INTERVAL, duration: tuple[float, float] = DURATION,
                 proxies: ProxyLayer | None = None, network: PeerNetwork | None = None,
                 commands: Mapping[str, UserCommand] | None = None,
                 limit: int | None = None, journal: Path | None = None,
                 listener: Callable[[FaultEvent], None] | None = None) -> None:
        self.topology = topology
        self.journal = journal
        self.listener = listener
        self.proxies = proxies
        self.network = network
        self.commands = dict(commands or {})
        specs = parse_nemesis(faults, self.commands) if isinstance(faults, str) else tuple(faults)
        self.faults = [spec for spec in specs if self._applies(spec)]
        if not self.faults:
            raise UsageError("--nemesis: none of the faults applies to this deployment")
        self.seed = seed
        self.interval = interval
        self.duration = duration
        self.limit = limit
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._events: list[FaultEvent] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._paused: set[Node] = set()
        self._down: set[Node] = set()
        self._client_paused: set[Node] = set()
        self._failure: Exception | None = None

    # -- what applies where -----------------------------------------------------------------------

    def _applies(self, spec: FaultSpec) -> bool:
        """Whether ``spec`` can run here: a UsageError for a fault the user named that cannot,
        False for one ``all`` implied."""
        if spec.kind in self.commands:
            return True
        problem = self._problem(spec)
        if problem and not spec.implied:
            raise UsageError(f"--nemesis {spec.kind} {problem}")
        return not problem

    def _problem(self, spec: FaultSpec) -> str:
        topology = self.topology
        if topology is None:
            return "needs a deployment redlin started (or a --nemesis-cmd of that name)"
        if spec.kind in ("partition", "latency") and self.proxies is None:
            return "needs the proxy layer (clients connecting through redlin's proxies)"
        if spec.kind in NODE_PARTITIONS:
            if self.network is None or len(self.network.nodes) < 2:
                return "needs the network between nodes (a deployment of several nodes redlin starts)"
            if spec.kind == "split" and spec.target != "any":
                return "splits every node into halves at random: it takes no target"
        if spec.kind == "failover":
            if isinstance(topology, PrimaryReplica) and not topology.replicas:
                return "needs a replica to promote (primary-replica, sentinel or cluster)"
            if spec.mode and not isinstance(topology, Cluster):
                return f"mode={spec.mode} is a CLUSTER FAILOVER option: it needs a cluster"
        return ""

    # -- running ------------------------------------------------------------------------------------

    def start(self) -> Nemesis:
        """Begin the schedule in a background thread (the first fault comes after one interval)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="redlin-nemesis", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        count = 0
        try:
            while self.limit is None or count < self.limit:
                spec = self._random.choice(self.faults)
                wait = self._random.uniform(*(spec.interval or self.interval))
                hold = self._random.uniform(*(spec.duration or self.duration))
                if self._stopping.wait(wait):
                    return
                self.inject(spec, hold)
                count += 1
        except Exception as error:  # a bug: kept for stop() to raise, after it has healed everything
            self._failure = error

    def inject(self, spec: FaultSpec, hold: float) -> FaultEvent:
        """Inject one fault now, keep it ``hold`` seconds (less if :meth:`stop` is called), heal it
        and return its event (also in :meth:`events` from the moment its target is chosen).  An
        error (a node that would not start, a failover that did not settle) is recorded in the
        event's detail, and the schedule goes on."""
        start = clock()
        aimed: list[FaultEvent] = []
        index = -1

        def aim(target: Node | str) -> None:
            nonlocal index
            name, port = (target.name, target.port) if isinstance(target, Node) else (target, 0)
            aimed.append(FaultEvent(spec.kind, name, port, start, None))
            index = self._record(aimed[0])

        detail: dict[str, Any] = {}
        try:
            heal, detail = self._inject(spec, hold, aim)
            self._replace(index, replace(aimed[0], detail=detail))
            if heal is not _nothing:
                self._stopping.wait(hold)
            detail = {**detail, **heal()}
        except (DeployError, redis.RedisError, OSError) as error:
            detail = {**detail, "error": str(error)}
            if not aimed:
                aim("")
        event = replace(aimed[0], end=clock(), detail=detail)
        self._replace(index, event)
        if self.journal is not None:  # written as it happens: a crash keeps every fault healed so far
            with self._lock, self.journal.open("a", encoding="utf-8") as journal:
                journal.write(event.to_json() + "\n")
        if self.listener is not None:
            self.listener(event)
        return event

    def _record(self, event: FaultEvent) -> int:
        with self._lock:
            self._events.append(event)
            return len(self._events) - 1

    def _replace(self, index: int, event: FaultEvent) -> None:
        with self._lock:
            self._events[index] = event

    def events(self) -> list[FaultEvent]:
        """The faults so far, in the order they began (the one under way has ``end`` None)."""
        with self._lock:
            return list(self._events)

    # -- targets ------------------------------------------------------------------------------------

    def _servers(self) -> list[Node]:
        assert self.topology is not None
        return [node for node in self.topology.nodes if not node.sentinel]

    def _primaries(self) -> list[Node]:
        topology = self.topology
        if isinstance(topology, Cluster):
            return topology.primaries()
        assert isinstance(topology, PrimaryReplica)
        return [topology.primary]

    def _pick(self, spec: FaultSpec, pool: Sequence[Node] | None = None) -> Node:
        """The target of ``spec``: one of ``pool`` (by default the running servers) that its
        ``target`` option names, chosen by the seeded generator."""
        among = [node for node in self._servers() if node.running] if pool is None else list(pool)
        if spec.target in ("primary", "replica"):
            primaries = self._primaries()
            among = [node for node in among if (node in primaries) == (spec.target == "primary")]
        elif spec.target != "any":
            among = [node for node in among if node.name == spec.target]
        if not among:
            raise DeployError(f"no running node is a {spec.target} target for {spec.kind}")
        return self._random.choice(among)

    # -- the faults ---------------------------------------------------------------------------------

    def _inject(self, spec: FaultSpec, hold: float, aim: Callable[[Node | str], None]) -> tuple[Heal, dict[str, Any]]:
        """Inject ``spec``'s fault, calling ``aim`` with its target first: what heals it, and what
        to record of it."""
        if spec.kind in self.commands:
            aim(spec.kind)
            return self._command(self.commands[spec.kind])
        if spec.kind == "failover":
            return self._failover(spec, aim)
        if spec.kind == "split":
            return self._split(spec, aim)
        if spec.kind in ("partition", "latency"):
            assert self.proxies is not None
            pool: list[Node] | None = [node for node in self._servers() if node in self.proxies]
        elif spec.kind == "client-pause" and spec.target == "any":
            pool = self._primaries()  # a CLIENT PAUSE matters on a primary: replicas take no writes
        else:
            pool = None
        node = self._pick(spec, pool)
        aim(node)
        if spec.kind in ("partition", "latency"):
            return self._network(spec, node)
        if spec.kind == "isolate":
            assert self.network is not None
            others = self.network.isolate(node, spec.mode or "stall")
            return self._mend, {"mode": spec.mode or "stall", "from": others}
        if spec.kind == "client-pause":
            return self._client_pause(spec, node, hold)
        if spec.kind == "kill":
            self._down.add(node)
            node.kill()
            return (lambda: self._start(node)), {"signal": "SIGKILL"}
        if spec.kind == "pause":
            self._paused.add(node)
            node.pause()
            return (lambda: self._resume(node)), {"signal": "SIGSTOP"}
        if spec.kind == "restart":
            self._down.add(node)
            node.stop()
            return _nothing, self._start(node)
        raise UsageError(f"--nemesis: unknown fault {spec.kind!r}")

    def _start(self, node: Node) -> dict[str, Any]:
        node.start()
        self._down.discard(node)
        if isinstance(self.topology, SentinelGroup):
            try:  # the sentinels may have failed over while it was down: follow them
                return {"primary": self.topology.follow().name}
            except DeployError:
                pass
        return {}

    def _resume(self, node: Node) -> dict[str, Any]:
        node.resume()
        self._paused.discard(node)
        return {}

    def _network(self, spec: FaultSpec, node: Node) -> tuple[Heal, dict[str, Any]]:
        assert self.proxies is not None
        proxy = self.proxies[node]
        if spec.kind == "latency":
            proxy.delay(spec.ms)
            detail: dict[str, Any] = {"ms": spec.ms, "proxy_port": proxy.port}
        else:
            proxy.partition(spec.mode or "stall")
            detail = {"mode": spec.mode or "stall", "proxy_port": proxy.port}

        def heal() -> dict[str, Any]:
            proxy.heal()
            return {}

        return heal, detail

    def _split(self, spec: FaultSpec, aim: Callable[[Node | str], None]) -> tuple[Heal, dict[str, Any]]:
        """Deal every node into two halves at random (the smaller first) and cut between them; the
        event's target names the smaller half."""
        assert self.network is not None
        names = sorted(node.name for node in self.network.nodes)
        self._random.shuffle(names)
        half = len(names) // 2
        aim("+".join(sorted(names[:half])))
        sides = self.network.split(names[:half], names[half:], mode=spec.mode or "stall")
        return self._mend, {"mode": spec.mode or "stall", "sides": sides}

    def _mend(self) -> dict[str, Any]:
        assert self.network is not None
        self.network.heal()
        if isinstance(self.topology, SentinelGroup):
            try:  # the sentinels may have elected a new primary while the links were cut: follow them
                return {"primary": self.topology.follow().name}
            except DeployError:
                pass
        return {}

    def _client_pause(self, spec: FaultSpec, node: Node, hold: float) -> tuple[Heal, dict[str, Any]]:
        """``CLIENT PAUSE`` for ``hold`` seconds: the server lifts it by itself then, should redlin
        die first.  A WRITE pause is lifted by ``CLIENT UNPAUSE`` at the heal (at once on
        :meth:`stop`); an ALL pause holds ``CLIENT UNPAUSE`` too (Redis exempts only replicas), so
        its heal waits for it to expire: a PING answered marks its end."""
        mode = (spec.mode or "write").upper()
        node.command("CLIENT", "PAUSE", max(1, round(hold * 1000)), mode)
        if mode == "ALL":
            def expired() -> dict[str, Any]:
                with node.client(timeout=hold + 5) as client:
                    client.ping()
                return {}

            return expired, {"mode": mode}
        self._client_paused.add(node)

        def heal() -> dict[str, Any]:
            node.command("CLIENT", "UNPAUSE")
            self._client_paused.discard(node)
            return {}

        return heal, {"mode": mode}

    def _failover(self, spec: FaultSpec, aim: Callable[[Node | str], None]) -> tuple[Heal, dict[str, Any]]:
        """A failover is not undone: its event, aimed at the old primary, lasts until the
        deployment agrees on the new one."""
        topology = self.topology
        if isinstance(topology, SentinelGroup):
            aim(topology.primary)
            return _nothing, {"new_primary": topology.failover().name}
        if isinstance(topology, Cluster):
            old = self._pick(spec, self._primaries())
            aim(old)
            new = topology.failover(old, spec.mode)
            return _nothing, {"new_primary": new.name, "mode": spec.mode.upper() or "coordinated"}
        assert isinstance(topology, PrimaryReplica)
        aim(topology.primary)
        named = spec.target if spec.target not in ("primary", "replica") else "any"  # a node name: promote it
        new = self._pick(replace(spec, target=named), [node for node in topology.replicas if node.running])
        topology.promote(new)
        return _nothing, {"new_primary": new.name}

    def _command(self, command: UserCommand) -> tuple[Heal, dict[str, Any]]:
        detail = {"command": " ".join(command.argv), **run_command(command.argv)}
        heal_argv = command.heal
        if heal_argv is None:
            return _nothing, detail

        def heal() -> dict[str, Any]:
            done = run_command(heal_argv)
            return {"heal_command": " ".join(heal_argv), "heal_status": done["status"],
                    "heal_output": done["output"]}

        return heal, detail

    # -- stopping -----------------------------------------------------------------------------------

    def stop(self, timeout: float = 60.0) -> list[FaultEvent]:
        """End the schedule (a fault under way is healed at once), then heal whatever is left:
        every paused node resumed, every node the nemesis took down started, every proxy healed,
        every client pause lifted.  Returns the events.  An unexpected error of the schedule's thread
        is raised here, after the heal."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.heal_all()
        if self._failure is not None:
            raise self._failure
        return self.events()

    def heal_all(self) -> None:
        """Undo every fault still in place (see :meth:`stop`), stopped processes first.  Every heal
        is tried; a node that would not start again is reported afterwards as a DeployError."""
        failures: list[str] = []
        if self.topology is not None:
            for node in self.topology.nodes:
                if node.running and (node in self._paused or stopped(node)):
                    node.resume()
            self._paused.clear()
            for node in list(self._down):
                try:
                    node.start()
                    self._down.discard(node)
                except DeployError as error:
                    failures.append(str(error))
        if self.proxies is not None:
            self.proxies.heal_all()
        if self.network is not None:
            self.network.heal()
        for node in list(self._client_paused):  # WRITE pauses only: an ALL pause is waited out
            with contextlib.suppress(redis.RedisError, OSError):  # a node down has no pause left
                node.command("CLIENT", "UNPAUSE")
        self._client_paused.clear()
        if failures:
            raise DeployError("the nemesis could not heal everything: " + "; ".join(failures))

    def __enter__(self) -> Nemesis:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
