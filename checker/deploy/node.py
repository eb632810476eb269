"""One ``redis-server`` or ``redis-sentinel`` process redlin starts, owns, faults and always stops.

A :class:`Node` lives in a folder of its own: its configuration file (``redis.conf`` or
``sentinel.conf``, written once, so ``CONFIG REWRITE`` and Sentinel's own rewrites persist across
restarts as on a real host), its log, its RDB and AOF files, and a Cluster node's ``nodes.conf``.
It listens on a free port of 127.0.0.1 only and runs in a process group of its own, so a fault
(``kill``: SIGKILL, ``pause``: SIGSTOP) also reaches a fork of it (an AOF rewrite, a replication
RDB) and nothing else.  Only processes a Node started are ever signalled: a Node signals its
process only while it has not reaped it, so the number cannot belong to anyone else yet.

Persistence is one of the options the issue names: none (``save ""``, no AOF), AOF with
``appendfsync everysec``, AOF with ``appendfsync always``.

>>> Persistence.parse("aof-always").settings()
(('save', ''), ('appendonly', 'yes'), ('appendfsync', 'always'))
>>> Persistence.parse("rdb")
Traceback (most recent call last):
...
redlin.errors.UsageError: unknown persistence 'rdb': expected none, aof-everysec or aof-always
>>> print(config_text([("dir", "/tmp/a b"), ("save", ""), ("replicaof", ("127.0.0.1", "6379"))]))
dir "/tmp/a b"
save ""
replicaof 127.0.0.1 6379
<BLANKLINE>
"""

from __future__ import annotations

import atexit
import enum
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from redlin.deploy.binaries import distribution_binary
from redlin.errors import UsageError

HOST = "127.0.0.1"
START_TIMEOUT = 15.0  # seconds for a start to answer PING, loading an AOF included
PORT_FLOOR = 10000  # ports are picked from here up to the ephemeral range
_PORTS = random.Random()  # a generator of our own: seeding the global one must not align processes
PORT_ATTEMPTS = 5  # a free port can be taken between the probe and the server's bind: try again
Setting = tuple[str, str | tuple[str, ...]]
"""A configuration line: a directive and its one argument, or its several arguments as a tuple."""


class DeployError(UsageError):
    """A local deployment could not be started or did not reach the state asked for: one line,
    quoting the tail of the log of the node concerned."""


class Persistence(enum.Enum):
    """How the data nodes keep their data across a restart."""

    NONE = "none"
    AOF_EVERYSEC = "aof-everysec"
    AOF_ALWAYS = "aof-always"

    @classmethod
    def parse(cls, text: str) -> Persistence:
        for option in cls:
            if option.value == text:
                return option
        names = ", ".join(option.value for option in list(cls)[:-1])
        raise UsageError(f"unknown persistence {text!r}: expected {names} or {list(cls)[-1].value}")

    def settings(self) -> tuple[Setting, ...]:
        """The configuration lines of this option (RDB snapshots are always off: ``save ""``)."""
        if self is Persistence.NONE:
            return (("save", ""), ("appendonly", "no"))
        fsync = "always" if self is Persistence.AOF_ALWAYS else "everysec"
        return (("save", ""), ("appendonly", "yes"), ("appendfsync", fsync))


def _quoted(value: str) -> str:
    """``value`` as one argument of a Redis configuration line (``sdssplitargs`` quoting)."""
    if value and not any(char in value for char in ' "\\\'\t\n\r'):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


def config_text(settings: Iterable[Setting]) -> str:
    """A configuration file of ``settings``, one line each, every argument quoted as it needs."""
    lines = []
    for name, value in settings:
        arguments = (value,) if isinstance(value, str) else value
        lines.append(" ".join([name, *map(_quoted, arguments)]))
    return "\n".join(lines) + "\n"


def _ephemeral_floor() -> int:
    """The lowest port the kernel hands out to outgoing connections (Linux's default 32768)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(avoid: Iterable[int] = ()) -> int:
    """A loopback port nobody has bound now, not one of ``avoid``.

    Picked below the kernel's ephemeral range when there is room: an outgoing connection's local
    port always comes from that range, so none can take a node's port between a kill and its
    restart.  Otherwise (or after many taken ports) the kernel's pick for port 0."""
    taken, ceiling = set(avoid), _ephemeral_floor()
    for attempt in range(100):
        port = _PORTS.randrange(PORT_FLOOR, ceiling) if ceiling - PORT_FLOOR >= 1024 and attempt < 90 else 0
        with socket.socket() as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
            port = int(sock.getsockname()[1])
        if port not in taken:
            return port
    raise DeployError("no free loopback port")


def _answers_ping(port: int) -> bool:
    """True when the server on ``port`` answers PING with PONG (not ``-LOADING`` while reading its
    AOF, nor a connection refused before it listens)."""
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


_LIVE: set[Node] = set()  # strong references: a running process is not dropped with its Node


@atexit.register
def _kill_leftovers() -> None:
    """The safety net: a Node still running when the interpreter exits is killed (a test or run
    that forgot to stop it, or died of an exception outside a ``with``)."""
    for node in list(_LIVE):
        node.kill()


class Node:
    """One server (``program`` ``redis-server``) or sentinel (``redis-sentinel``) on a free port.

    ``settings`` are the configuration lines beyond those every node has (port, bind, dir, log,
    file names) and ``persistence``'s; ``directory`` is a folder for this node alone (created if
    missing, and removed by :meth:`close` only when the Node made it itself).  A ``cluster_bus``
    node also gets a second free port, its ``cluster-port`` (:attr:`bus_port`).
    """

    def __init__(self, name: str, *, program: str = "redis-server", settings: Sequence[Setting] = (),
                 persistence: Persistence = Persistence.NONE, directory: Path | str | None = None,
                 binary: str | None = None, start_timeout: float = START_TIMEOUT, cluster_bus: bool = False) -> None:
        self.name = name
        self.program = program
        self.binary = binary
        self.persistence = persistence
        self.start_timeout = start_timeout
        self._own_directory = directory is None
        self.directory = Path(tempfile.mkdtemp(prefix=f"redlin-{name}-") if directory is None else directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.settings: list[Setting] = list(settings)
        self.port = 0  # chosen at the first start
        self.cluster_bus = cluster_bus
        self.bus_port = 0
        self.peer_port = 0  # where the other nodes reach this one, when not at :attr:`port` (a proxy)
        self.peer_bus_port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._written = False

    # -- where things are ---------------------------------------------------------------------

    @property
    def sentinel(self) -> bool:
        return self.program == "redis-sentinel"

    @property
    def config(self) -> Path:
        return self.directory / ("sentinel.conf" if self.sentinel else "redis.conf")

    @property
    def log(self) -> Path:
        return self.directory / "server.log"

    @property
    def output(self) -> Path:
        """Where the process's stdout and stderr go (what it says before its log file opens)."""
        return self.directory / "output.log"

    @property
    def host(self) -> str:
        return HOST

    @property
    def address(self) -> tuple[str, int]:
        return (HOST, self.port)

    @property
    def peer_address(self) -> tuple[str, int]:
        """Where the other nodes reach this one: its own address, or the proxy of a
        :class:`~redlin.deploy.network.PeerNetwork` in front of it (what it announces)."""
        return (HOST, self.peer_port or self.port)

    def listens_on(self, port: int) -> bool:
        """Whether ``port`` reaches this node: its own, or the port it announces to its peers."""
        return port != 0 and port in (self.port, self.peer_port)

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0" if not self.sentinel else f"redis://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.running else None

    @property
    def running(self) -> bool:
        """True while the process this Node started has not exited (paused counts as running)."""
        return self.process is not None and self.process.poll() is None

    def __repr__(self) -> str:
        state = "running" if self.running else "down"
        return f"Node({self.name!r}, {self.program}, port={self.port}, {state})"

    def client(self, timeout: float = 5.0) -> redis.Redis:
        """A redis-py client of this node, its socket operations bounded by ``timeout`` seconds.

        It never retries: redis-py's default would re-send a command after a timeout, and hide for
        seconds that the node is down or paused."""
        return redis.Redis(host=HOST, port=self.port, socket_timeout=timeout, socket_connect_timeout=timeout,
                           retry=Retry(NoBackoff(), 0))

    def log_tail(self, lines: int = 15) -> str:
        """The last ``lines`` lines the process wrote (its log file, then its stdout and stderr)."""
        tail: list[str] = []
        for path in (self.log, self.output):
            if path.exists():
                tail += path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        return " | ".join(line.strip() for line in tail[-lines:] if line.strip()) or "(nothing logged)"

    def info(self, section: str) -> dict[str, Any]:
        """``INFO section`` as redis-py parses it, on a connection closed afterwards."""
        with self.client() as client:
            return dict(client.info(section))

    def command(self, *argv: str | int) -> Any:
        """One command's reply, on a connection closed afterwards."""
        with self.client() as client:
            return client.execute_command(*argv)

    def replicate(self, primary: Node | None) -> None:
        """Make this server a replica of ``primary`` (``None``: a primary, ``REPLICAOF NO ONE``), now
        if it runs and in its configuration file either way, so a restart keeps the role."""
        if self.running:
            self.command("REPLICAOF", *(("NO", "ONE") if primary is None else primary.peer_address))
            self.command("CONFIG", "REWRITE")
            return
        # A node that is down reads its file at the next start; the last ``replicaof`` line wins.
        line = "replicaof no one" if primary is None else "replicaof {} {}".format(*primary.peer_address)
        with self.config.open("a", encoding="utf-8") as config:
            config.write(line + "\n")

    # -- lifecycle ----------------------------------------------------------------------------

    def _binary(self) -> str:
        found = self.binary or distribution_binary(self.program)
        if found is None:
            raise DeployError(f"{self.program} is not installed (apt-get install redis-server redis-sentinel)")
        return found

    def _write_config(self) -> None:
        """The configuration file, written at the first start only: a restart reads back what the
        node (or Sentinel) rewrote in it since."""
        base: list[Setting] = [
            ("port", str(self.port)), ("bind", HOST), ("dir", str(self.directory)),
            ("logfile", str(self.log)), ("daemonize", "no"), ("loglevel", "notice"),
        ]
        if not self.sentinel:
            base += [("dbfilename", "dump.rdb"), ("appendfilename", "appendonly.aof"), *self.persistence.settings()]
        if self.cluster_bus:
            base += [("cluster-port", str(self.bus_port))]
        self.config.write_text(config_text([*base, *self.settings]), encoding="utf-8")
        self._written = True

    def start(self) -> Node:
        """Start the process and wait until it answers PING.

        The first start picks a free port (another, up to :data:`PORT_ATTEMPTS` times, when the
        server could not bind it); later starts reuse the port, folder, configuration and data.
        """
        if self.running:
            return self
        if self._written:
            self._launch()
            return self
        for attempt in range(PORT_ATTEMPTS):
            mark = self._log_sizes()
            self.port = free_port()
            self.bus_port = free_port(avoid=[self.port]) if self.cluster_bus else 0
            self._write_config()
            try:
                self._launch()
                return self
            except DeployError:
                if attempt == PORT_ATTEMPTS - 1 or "Address already in use" not in self._logged_since(mark):
                    raise
                self._written = False
        raise AssertionError("unreachable")

    def _log_sizes(self) -> tuple[int, int]:
        return (_size(self.log), _size(self.output))

    def _logged_since(self, mark: tuple[int, int]) -> str:
        """What the process logged after ``mark`` (:meth:`_log_sizes` before a start)."""
        text = ""
        for path, size in zip((self.log, self.output), mark):
            if path.exists():
                with path.open("rb") as handle:
                    handle.seek(size)
                    text += handle.read().decode("utf-8", errors="replace")
        return text

    def _ours(self) -> bool:
        """True when the server answering on our port is our process (not one that took the port)."""
        assert self.process is not None
        try:
            return int(self.info("server")["process_id"]) == self.process.pid
        except (redis.RedisError, OSError):
            return False

    def _launch(self) -> None:
        binary = self._binary()
        with self.output.open("ab") as output:
            # A session of its own: the process group is the node and its forks, nothing else.
            self.process = subprocess.Popen([binary, str(self.config)], cwd=self.directory, stdin=subprocess.DEVNULL,
                                            stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        _LIVE.add(self)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if _answers_ping(self.port) and self._ours():
                return
            if not self.running:
                raise DeployError(f"{self.name}: {self.program} exited at start (status {self.process.returncode}) "
                                  f"on port {self.port}: {self.log_tail()}")
            time.sleep(0.02)
        self.kill()
        raise DeployError(f"{self.name}: {self.program} did not answer PING within {self.start_timeout:g} s "
                          f"on port {self.port}: {self.log_tail()}")

    def _signal_group(self, number: signal.Signals) -> bool:
        """Send ``number`` to the node's process group; False when the node is not running.

        ``running`` polls first, so a process that already exited is reaped and never signalled
        (its number, or its group's, may then be someone else's)."""
        if not self.running:
            return False
        assert self.process is not None
        try:
            os.killpg(self.process.pid, number)
        except ProcessLookupError:
            return False
        return True

    def kill(self) -> None:
        """SIGKILL, as a crash: no AOF flush, no shutdown save.  Waits for the process to exit."""
        if self._signal_group(signal.SIGKILL):
            assert self.process is not None
            self.process.wait()
        _LIVE.discard(self)

    def pause(self) -> None:
        """SIGSTOP the node (and its forks): connections stay open and nothing answers."""
        if not self._signal_group(signal.SIGSTOP):
            raise DeployError(f"{self.name} is not running: cannot pause it")

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`."""
        if not self._signal_group(signal.SIGCONT):
            raise DeployError(f"{self.name} is not running: cannot resume it")

    def restart(self) -> Node:
        """Start again on the same port, folder and files: a node with an AOF loads it back.  A
        running node is killed first (SIGKILL), as a crash and restart."""
        self.kill()
        return self.start()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (resuming a paused node so it can take it) and wait; SIGKILL after ``timeout``."""
        if self._signal_group(signal.SIGTERM):
            self._signal_group(signal.SIGCONT)
            assert self.process is not None
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        _LIVE.discard(self)

    def close(self) -> None:
        """Kill the node (the data is thrown away) and remove its folder if the Node made it."""
        self.kill()
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Node:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


GroupT = TypeVar("GroupT", bound="Topology")


class Topology:
    """Nodes started together and always stopped together, each in a folder of ``directory`` (a
    temporary folder of its own when None, removed by :meth:`close`)."""

    def __init__(self, directory: Path | str | None = None, binary: str | None = None) -> None:
        self._own_directory = directory is None
        self.directory = Path(tempfile.mkdtemp(prefix="redlin-deploy-") if directory is None else directory)
        self.binary = binary
        self.nodes: list[Node] = []

    def _node(self, name: str, **options: Any) -> Node:
        node = Node(name, directory=self.directory / name, binary=self.binary, **options)
        self.nodes.append(node)
        return node

    def start(self: GroupT) -> GroupT:
        raise NotImplementedError

    def close(self) -> None:
        """Kill every node (sentinels first, so none reacts to the others going) and remove the
        folder if the topology made it."""
        for node in sorted(self.nodes, key=lambda node: not node.sentinel):
            node.kill()
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self: GroupT) -> GroupT:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def wait_until(condition: Callable[[], object], what: str, timeout: float, *, interval: float = 0.05,
               nodes: Sequence[Node] = ()) -> None:
    """Poll ``condition`` (a callable returning a truth value; connection errors count as false)
    until true, or raise :class:`DeployError` saying ``what`` was awaited, quoting ``nodes``' logs."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() >= deadline:
            logs = "; ".join(f"{node.name}: {node.log_tail(5)}" for node in nodes)
            raise DeployError(f"timed out after {timeout:g} s waiting for {what}" + (f" ({logs})" if logs else ""))
        time.sleep(interval)
