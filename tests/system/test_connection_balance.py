"""Keep-alive clients are spread over the real gunicorn's workers, and a skew is undone."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from typing import TypeVar
from urllib.parse import urlsplit

import pytest

from tools.connections import held_by, workers_of
from tools.live_server import LiveServer, start

INTAKE = json.dumps(
    {"patient": {"age_years": 40}, "symptoms": {"onset": "gradual", "pain_nrs": 3}}
).encode()
T = TypeVar("T")
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


def _client(server: LiveServer) -> http.client.HTTPConnection:
    client = http.client.HTTPConnection("127.0.0.1", _port(server), timeout=10)
    client.connect()
    return client


def _raw(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", _port(server)))
    sock.settimeout(10)
    return sock


def _on_one_worker(
    server: LiveServer, count: int, connect: Callable[[LiveServer], T] = _client
) -> list[T]:
    """`count` connections, all taken by the first worker: the second is paused (SIGSTOP)
    while they connect, so its row goes stale and the first does not wait for it."""
    paused = workers_of(server.process.pid)[1]
    os.kill(paused, signal.SIGSTOP)
    try:
        time.sleep(0.2)
        clients = [connect(server) for _ in range(count)]
        time.sleep(0.2)
        assert _spread(server)[0] == 0  # all on the running worker
    finally:
        os.kill(paused, signal.SIGCONT)
    time.sleep(0.2)  # both turning again
    return clients


def _rounds(clients: list[http.client.HTTPConnection], rounds: int) -> int:
    """Each client sends an intake per round (Python's own client, which reconnects after
    `Connection: close`); how many answers closed their connection."""
    closed = 0
    for _ in range(rounds):
        for client in clients:
            client.request("POST", "/v1/triage", INTAKE, {"Content-Type": "application/json"})
            answer = client.getresponse()
            answer.read()
            assert answer.status == 200
            closed += answer.getheader("Connection") == "close"
    return closed


def test_new_connections_go_to_the_worker_holding_fewer(server: LiveServer) -> None:
    """The first worker holds 10 connections, the second none: 8 new connections (idle, so
    nothing is handed over) are left by the first worker to the second."""
    held = _on_one_worker(server, 10)
    try:
        fresh = [_client(server) for _ in range(8)]
        time.sleep(0.3)
        fewest, most = _spread(server)
        for client in fresh:
            client.close()
    finally:
        for client in held:
            client.close()
    assert (fewest, most) == (8, 10)


def test_a_skew_is_handed_over_to_the_worker_holding_fewer(server: LiveServer) -> None:
    """40 clients on the first worker; once both turn, the busier one closes surplus
    connections after an answer (Connection: close), and the clients, reconnecting, land on
    the other."""
    clients = _on_one_worker(server, 40)
    try:
        closed = _rounds(clients, 40)
        fewest, most = _spread(server)
    finally:
        for client in clients:
            client.close()
    assert closed >= 10
    assert most - fewest <= 8, (fewest, most)


def test_a_burst_of_keep_alive_clients_ends_spread_over_the_workers(server: LiveServer) -> None:
    """64 clients connect at once and keep sending intakes: neither worker keeps the lot (the
    kernel left alone put 64 of 64 on one worker, at random, and they stayed)."""
    clients = [
        http.client.HTTPConnection("127.0.0.1", _port(server), timeout=10) for _ in range(64)
    ]
    try:
        for client in clients:
            client.connect()
        _rounds(clients, 10)
        fewest, most = _spread(server)
    finally:
        for client in clients:
            client.close()
    assert most - fewest <= 8, (fewest, most)


def test_a_pipelined_request_is_never_lost_to_a_hand_over(server: LiveServer) -> None:
    """Clients on the busier worker send their intakes two at a time, pipelined: a hand-over
    never closes a connection with a request already behind the one answered (the client
    could not safely resend a POST), only after the last of the pair."""
    socks: list[socket.socket | None] = list(_on_one_worker(server, 40, _raw))
    answered = closed = 0
    try:
        for _ in range(5):
            for index, sock in enumerate(socks):
                if sock is None:
                    sock = socks[index] = _raw(server)
                sock.sendall((HEAD + INTAKE) * 2)
                data = b""
                while data.count(b"HTTP/1.1 ") < 2 or not data.endswith(b"}"):
                    chunk = sock.recv(65536)
                    assert chunk, f"closed after {data.count(b'HTTP/1.1 ')} of 2 answers"
                    data += chunk
                answered += data.count(b"HTTP/1.1 200 ")
                first, second = data.split(b"HTTP/1.1 ")[1:]
                assert b"Connection: close" not in first
                if b"Connection: close" in second:  # the client follows it and reconnects
                    closed += 1
                    sock.close()
                    socks[index] = None
    finally:
        for sock in socks:
            if sock is not None:
                sock.close()
    assert answered == 400
    assert closed >= 5


def test_no_balancing_with_reuse_port() -> None:
    """With gunicorn's reuse_port each worker has a listen queue of its own, which the other
    cannot take a deferred connection from: no slot is claimed, and 64 clients are answered at
    once (a deferral there waited for the 5 s keep-alive timeout)."""
    live = start({"GUNICORN_CMD_ARGS": "--reuse-port"}, workers=2)
    try:
        live.wait_ready()
        for _ in range(3):
            started = time.monotonic()
            socks = [socket.create_connection(("127.0.0.1", _port(live))) for _ in range(64)]
            try:
                for sock in socks:
                    sock.settimeout(10)
                    sock.sendall(HEAD + INTAKE)
                for sock in socks:
                    assert b" 200 " in _answer(sock).split(b"\r\n", 1)[0]
            finally:
                for sock in socks:
                    sock.close()
            assert time.monotonic() - started < 3
    finally:
        live.stop()
