"""gunicorn's workers share a burst of keep-alive connections evenly (registry/balance.py), and a worker that
dies does not leave the others refusing connections."""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest
from servers import serving

from iotmark.registry.balance import connections_per_worker

REQUEST = b"GET /api/v1/certificates/iotm-none/verify HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _answer_status(sock: socket.socket) -> bytes:
    """Read one whole HTTP answer (head and Content-Length body) from a keep-alive connection; its status."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    return head.split(b" ", 2)[1]


def _burst(port: int, count: int) -> list[socket.socket]:
    """`count` keep-alive connections opened at once, each answered once (so a worker has accepted it)."""
    socks = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(count)]
    for sock in socks:
        sock.sendall(REQUEST)
    assert {_answer_status(sock) for sock in socks} == {b"404"}  # the verify answer for an unknown id
    return socks


def test_a_burst_of_keep_alive_connections_is_shared_evenly_and_a_dead_worker_starves_nobody(tmp_path, database):
    if database != "sqlite":
        pytest.skip("about the server's workers, not the database; once is enough")
    with serving(tmp_path / "home", f"sqlite:///{tmp_path / 'registry.sqlite3'}", "--workers", "2",
                 "--threads", "2") as server:
        port = int(server.url.rsplit(":", 1)[1])
        socks = _burst(port, 24)
        try:
            split = connections_per_worker(server.process.pid, port)
            assert len(split) == 2 and sum(split) == 24
            assert split[0] - split[1] <= 8, f"connections per worker {split}"
        finally:
            for sock in socks:
                sock.close()
        # One worker killed: gunicorn starts another, and new clients are served all along.
        os.kill(max(server.children()), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while len(server.children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        for _ in range(3):
            socks = _burst(port, 12)
            for sock in socks:
                sock.sendall(REQUEST)  # and a second request on each kept connection
                assert _answer_status(sock) == b"404"
                sock.close()
