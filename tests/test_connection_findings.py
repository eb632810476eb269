"""A server that drops connections after error replies is a finding (issue #12), not only a count of
indeterminate operations.

The misbehaving server is a real ``redis-server`` behind a small proxy that closes a client's
connection right after passing on a reply that holds an error.  Redis itself keeps a connection open
after an error reply (sheet M7, M8: after a command refused at queue time the client goes on and
later commands are still QUEUED).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RedisServer

from redlin.harness.runner import render_outcome, run


class ClosingProxy:
    """Forwards to ``upstream``; closes the client's connection after a reply chunk with an error."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, replies: bool) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
                if replies and (data.startswith(b"-") or b"\r\n-" in data):
                    self.closed += 1
                    break
        except OSError:
            pass
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def closing_proxy(redis_server: RedisServer) -> Iterator[ClosingProxy]:
    proxy = ClosingProxy(redis_server.port)
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.mark.redis
def test_a_server_that_closes_connections_after_errors_is_a_finding(closing_proxy: ClosingProxy,
                                                                     tmp_path: Path) -> None:
    outcome = run(f"redis://127.0.0.1:{closing_proxy.port}/0", workload="model", ops=800, seed=2,
                  out=tmp_path / "out", database=None)
    findings = [note for note in outcome.notes if note.startswith("finding: the server closed the connection")]
    assert findings and closing_proxy.closed >= 2, render_outcome(outcome)
    assert "right after an error reply" in render_outcome(outcome)
    assert outcome.verdict != "violation", render_outcome(outcome)  # closing is no wrong reply


@pytest.mark.redis
def test_redis_itself_gives_no_such_finding(redis_server: RedisServer, tmp_path: Path) -> None:
    outcome = run(redis_server.url, workload="model", ops=800, seed=2, out=tmp_path / "out", database=None)
    assert outcome.verdict == "linearizable", render_outcome(outcome)
    assert not [note for note in outcome.notes if note.startswith("finding:")]
