"""Keep-alive clients are spread over the real gunicorn's workers, and a skew is undone."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tools.connections import held_by, workers_of
from tools.live_server import LiveServer, start

INTAKE = json.dumps(
    {"patient": {"age_years": 40}, "symptoms": {"onset": "gradual", "pain_nrs": 3}}
).encode()
HEAD = (
    "POST /v1/triage HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    f"Content-Length: {len(INTAKE)}\r\n\r\n"
).encode()


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    """Two workers, as `make run` starts them."""
    live = start(workers=2)
    try:
        live.wait_ready()
        _until_every_worker_answers(live)
        yield live
    finally:
        live.stop()


def _port(server: LiveServer) -> int:
    port = urlsplit(server.base).port
    assert port is not None
    return port


def _answer(sock: socket.socket) -> bytes:
    """One whole answer's head (the body is short and arrives with it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    return data


def _until_every_worker_answers(server: LiveServer) -> None:
    """Both workers past their start (a worker still starting is, rightly, not waited for)."""
    workers = workers_of(server.process.pid)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        socks = [socket.create_connection(("127.0.0.1", _port(server))) for _ in range(8)]
        for sock in socks:
            sock.sendall(HEAD + INTAKE)
            _answer(sock)
        held = held_by(workers, _port(server))
        for sock in socks:
            sock.close()
        if all(held.values()):
            return
        time.sleep(0.2)
    raise AssertionError("a worker never took a connection")


def _spread(server: LiveServer) -> list[int]:
    held = held_by(workers_of(server.process.pid), _port(server))
    return sorted(held.values())


def test_a_burst_of_keep_alive_clients_is_spread_over_the_workers(server: LiveServer) -> None:
    """64 clients connect at once and each sends an intake: neither worker takes the lot (the
    kernel left alone put 61 of 64 on one worker, at random)."""
    for _ in range(3):
        socks = [socket.create_connection(("127.0.0.1", _port(server))) for _ in range(64)]
        try:
            for sock in socks:
                sock.sendall(HEAD + INTAKE)
            for sock in socks:
                assert b" 200 " in _answer(sock).split(b"\r\n", 1)[0]
            fewest, most = _spread(server)
            assert most - fewest <= 4, (fewest, most)
        finally:
            for sock in socks:
                sock.close()
        time.sleep(0.2)


def test_a_skew_is_handed_over_to_the_worker_holding_fewer(server: LiveServer) -> None:
    """One worker is paused (SIGSTOP) while 40 clients connect, so the other takes them all;
    once both turn again, the busier one closes surplus connections after an answer
    (Connection: close), and Python's own HTTP client, reconnecting, lands on the other."""
    workers = workers_of(server.process.pid)
    paused = workers[1]
    os.kill(paused, signal.SIGSTOP)
    try:
        time.sleep(0.2)  # its row goes stale: the other worker no longer waits for it
        clients = [http.client.HTTPConnection("127.0.0.1", _port(server)) for _ in range(40)]
        for client in clients:
            client.connect()
        time.sleep(0.2)
        assert _spread(server)[0] == 0  # all on the running worker
    finally:
        os.kill(paused, signal.SIGCONT)
    closed = 0
    try:
        for _ in range(40):  # rounds: each client sends an intake, reconnecting when told to
            for client in clients:
                client.request("POST", "/v1/triage", INTAKE, {"Content-Type": "application/json"})
                answer = client.getresponse()
                answer.read()
                assert answer.status == 200
                closed += answer.getheader("Connection") == "close"
        fewest, most = _spread(server)
    finally:
        for client in clients:
            client.close()
    assert closed >= 10
    assert most - fewest <= 8, (fewest, most)
