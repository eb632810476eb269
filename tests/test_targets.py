"""Targets that are wrong in every way a user can get them wrong: each ends in one line, exit 3, fast,
and never shows the password (``redlin.harness.target``, issue #11 part 3)."""

from __future__ import annotations

import http.server
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import RedisServer, start_redis_server

from redlin.cli import main
from redlin.harness.target import ServerRefused, Target, TargetError, open_connection
from redlin.harness.wire import Connection, NotRESP, WireClosed, WireError

SECRET = "Sup3r-s3cret"


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, *extra: str) -> tuple[int, str]:
    """``redlin run --target url``: the exit code and everything printed."""
    code = main(["run", "--target", url, "--workload", "register", "--ops", "20", "--out", str(tmp_path / "out"),
                 "--database", str(tmp_path / "db"), *extra])
    printed = capsys.readouterr()
    return code, printed.out + printed.err


def _one_line_usage_error(code: int, printed: str) -> None:
    assert code == 3, printed
    assert printed.count("\n") == 1 and printed.startswith("redlin: "), printed
    assert SECRET not in printed and "Traceback" not in printed


# ----------------------------------------------------------------------------- URLs


@pytest.mark.parametrize("url, message", [
    ("redis://127.0.0.1:0/0", "port 0 is not a port"),
    ("redis://127.0.0.1/\u0663", "the database must be a number"),
    ("redis://127.0.0.1:\u0663\u0663/0", "the port must be a number"),
    ("redis://127.0.0.1:70000/0", "the port must be a number"),
    ("redis://127.0.0.1/" + "9" * 5000, "too large"),
    ("redis://127.0.0.1/0?ssl_ca_certs=/tmp/ca.pem", "use rediss://"),
    ("rediss://127.0.0.1/0?ssl_cert_reqs=maybe", "ssl_cert_reqs must be one of"),
    ("rediss://127.0.0.1/0?ssl_ca_certs=/no/such/ca.pem", "the TLS CA file '/no/such/ca.pem' does not exist"),
    ("redis://127.0.0.1/0\nINFO", "the database must be a number"),
])
def test_bad_urls_are_refused_in_one_line(url: str, message: str) -> None:
    with pytest.raises(TargetError, match=message) as error:
        Target.parse(url, password_env=None)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("url", [
    f"redis://:{SECRET}@127.0.0.1:0/0",  # port 0
    f"redis://user:{SECRET}@127.0.0.1/x",  # a database that is not a number
    f"redis://:{SECRET[:4]}/{SECRET[4:]}@127.0.0.1/0",  # '/' not percent-encoded: urllib sees a host and a path
    f"redis://:{SECRET[:4]}?{SECRET[4:]}@127.0.0.1/0",  # '?' not percent-encoded
    f"redis://:{SECRET[:4]}#{SECRET[4:]}@127.0.0.1/0",  # '#' not percent-encoded
    f"redis://:{SECRET[:4]}/{SECRET[4:]}@127.0.0.1:0/0",
    f"redis://:{SECRET}@127.0.0.1:port/0",  # a port that is not a number
    f"redis://:{SECRET}@127.0.0.1/0?tls=1",  # an unknown option
    f"http://:{SECRET}@127.0.0.1/0",
])
def test_no_error_about_a_url_shows_its_password(url: str) -> None:
    with pytest.raises(TargetError) as error:
        Target.parse(url, password_env=None)
    for piece in (SECRET, SECRET[:4], SECRET[4:]):
        assert piece not in str(error.value)
    assert "***@" in str(error.value)


def test_a_percent_encoded_password_is_read_whole() -> None:
    target = Target.parse("redis://:a%2Fb%3Fc%23d%40e@db.example:6380/3", password_env=None)
    assert (target.password, target.host, target.port, target.db) == ("a/b?c#d@e", "db.example", 6380, 3)
    assert target.url == "redis://:***@db.example:6380/3"


def test_a_ca_file_that_holds_no_certificate_is_named(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not a certificate\n")
    target = Target.parse(f"rediss://127.0.0.1:1/0?ssl_ca_certs={ca}", password_env=None)
    with pytest.raises(TargetError, match=f"the TLS CA file '{ca}' holds no usable certificate"):
        open_connection(target, 1.0)  # refused before connecting: nothing listens on port 1


def test_bad_urls_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for url, message in [("redis://127.0.0.1:0/0", "port 0"), ("redis://127.0.0.1/\u0663", "database"),
                         ("rediss://127.0.0.1/0?ssl_ca_certs=/no/such/ca.pem", "/no/such/ca.pem"),
                         (f"redis://:{SECRET}@127.0.0.1:0/0", "port 0")]:
        code, printed = _run(tmp_path, capsys, url)
        _one_line_usage_error(code, printed)
        assert message in printed


# ----------------------------------------------------------------------------- servers that are not Redis


class _HTTPHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HTTPHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


class _Talker:
    """A socket server that writes ``greeting`` on every connection, then reads and ignores."""

    def __init__(self, greeting: bytes) -> None:
        self.greeting = greeting
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.sendall(self.greeting)
                while conn.recv(65536):
                    pass
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()


def test_an_http_server_does_not_speak_resp(http_port: int, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    target = Target.parse(f"redis://127.0.0.1:{http_port}/0", password_env=None)
    with pytest.raises(NotRESP, match="does not speak RESP") as error:
        open_connection(target, 5.0)
    assert isinstance(error.value, WireError) and "(it sent b'<!DOCTYPE HTML>" in str(error.value)  # an HTTP/0.9 error page
    code, printed = _run(tmp_path, capsys, f"redis://:{SECRET}@127.0.0.1:{http_port}/0")
    _one_line_usage_error(code, printed)
    assert f"cannot use redis://:***@127.0.0.1:{http_port}/0" in printed and "does not speak RESP" in printed


@pytest.mark.parametrize("greeting", [b"SSH-2.0-OpenSSH_9.2\r\n", bytes(range(256)), b"\x16\x03\x01\x00\x05hello"])
def test_a_socket_that_sends_garbage_does_not_speak_resp(greeting: bytes, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    talker = _Talker(greeting)
    try:
        started = time.monotonic()
        code, printed = _run(tmp_path, capsys, f"redis://127.0.0.1:{talker.port}/0", "--timeout", "10")
    finally:
        talker.close()
    _one_line_usage_error(code, printed)
    assert "does not speak RESP" in printed and time.monotonic() - started < 5


def test_the_first_bytes_are_shown_only_before_any_reply() -> None:
    talker = _Talker(b"+PONG\r\n!garbage\r\n")
    try:
        with Connection("127.0.0.1", talker.port) as conn:
            assert conn.receive().text == "PONG"  # type: ignore[union-attr]
            with pytest.raises(NotRESP, match="sent bytes that are not RESP"):
                conn.receive()
    finally:
        talker.close()


# ----------------------------------------------------------------------------- reachability


def test_a_refused_port_is_one_line_naming_the_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, printed = _run(tmp_path, capsys, f"redis://:{SECRET}@127.0.0.1:{port}/0")
    _one_line_usage_error(code, printed)
    assert f"cannot use redis://:***@127.0.0.1:{port}/0" in printed


def test_an_unknown_host_is_one_line_naming_the_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, printed = _run(tmp_path, capsys, f"redis://:{SECRET}@no-such-host.invalid:6379/0", "--timeout", "3")
    _one_line_usage_error(code, printed)
    assert "cannot use redis://:***@no-such-host.invalid:6379/0" in printed


# ----------------------------------------------------------------------------- Redis that refuses


@pytest.fixture
def private_server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], RedisServer]]:
    process, server = start_redis_server(str(tmp_path))
    try:
        yield process, server
    finally:
        process.kill()
        process.wait()


@pytest.mark.redis
def test_tls_to_a_plain_server_fails_fast(redis_server: RedisServer, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    target = Target.parse(f"rediss://127.0.0.1:{redis_server.port}/0?ssl_cert_reqs=none", password_env=None)
    started = time.monotonic()
    with pytest.raises(TargetError, match="speaks plain RESP, not TLS: use redis://"):
        open_connection(target, 10.0)
    assert time.monotonic() - started < 3
    started = time.monotonic()
    code, printed = _run(tmp_path, capsys, f"rediss://:{SECRET}@127.0.0.1:{redis_server.port}/0", "--timeout", "10")
    _one_line_usage_error(code, printed)
    assert "use redis:// instead of rediss://" in printed and time.monotonic() - started < 5


@pytest.mark.redis
def test_a_full_server_refuses_the_connection(private_server: tuple[subprocess.Popen[bytes], RedisServer],
                                              tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, server = private_server
    held = []
    try:
        with Connection(server.host, server.port) as conn:
            conn.execute(b"CONFIG", b"SET", b"maxclients", b"2")
        target = Target.parse(server.url, password_env=None)
        while True:  # fill every slot (CONFIG SET may keep the old limit if the process cannot lower it)
            try:
                held.append(open_connection(target, 2.0))
            except ServerRefused as error:
                assert error.code == "max clients" and "max number of clients reached" in str(error)
                assert isinstance(error, WireClosed)
                break
            assert len(held) < 50
        code, printed = _run(tmp_path, capsys, server.url)
        _one_line_usage_error(code, printed)
        assert "max number of clients reached" in printed
    finally:
        for conn in held:
            conn.close()


@pytest.mark.redis
def test_a_missing_password_is_named(private_server: tuple[subprocess.Popen[bytes], RedisServer]) -> None:
    _, server = private_server
    with Connection(server.host, server.port) as conn:
        conn.execute(b"CONFIG", b"SET", b"requirepass", SECRET.encode())
    with pytest.raises(TargetError, match="the server requires a password"):
        open_connection(Target.parse(server.url, password_env=None), 2.0)
    with pytest.raises(TargetError, match="authentication failed: WRONGPASS") as error:
        open_connection(Target.parse(f"redis://:not-{SECRET}@{server.host}:{server.port}/0", password_env=None), 2.0)
    assert SECRET not in str(error.value)
    with open_connection(Target.parse(f"redis://:{SECRET}@{server.host}:{server.port}/3", password_env=None), 2.0) as conn:
        assert conn.execute(b"CLIENT", b"INFO").split(b" db=")[1].startswith(b"3 ")  # type: ignore[union-attr]


def test_a_stale_replica_is_named_as_such_not_as_a_non_redis_server(
        server_in: Callable[..., RedisServer], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A replica cut off from its primary with replica-serve-stale-data no answers everything, PING
    included, with MASTERDOWN: a Redis server that serves nothing now, said so (exit 3)."""
    server = server_in()
    with Connection(server.host, server.port) as conn:
        conn.execute(b"CONFIG", b"SET", b"replica-serve-stale-data", b"no")  # our own private server
        conn.execute(b"REPLICAOF", b"127.0.0.1", b"1")
    assert main(["run", "--target", server.url, "--ops", "10", "--out", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err
    assert "serves no commands now" in err and "MASTERDOWN" in err and "replica cut off from its primary" in err
    assert "like a Redis server" not in err
