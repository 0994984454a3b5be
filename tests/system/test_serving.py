"""The serving model with the real gunicorn: slow and idle clients, deadlines, shedding, drain.

Speed targets are `make bench`'s; these tests check behaviour, each bounded to seconds, on
127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from service.review.cases import load_vignettes
from tests.helpers import ROOT
from tools.live_server import LiveServer, start

INTAKE = json.dumps(
    {
        "patient": {"age_years": 40},
        "symptoms": {"onset": "gradual", "pain_nrs": 3, "steps_now": 4},
    }
).encode()
BATCH = json.dumps(
    {"intakes": [v.intake for v in load_vignettes(ROOT / "tests/vignettes/vignettes.yaml")][:100]}
).encode()


def _post(path: str, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _connect(server: LiveServer) -> socket.socket:
    address = urlsplit(server.base)
    return socket.create_connection((address.hostname, address.port), timeout=10)


def _status(sock: socket.socket) -> tuple[int, bytes]:
    """The status code and head of one answer (0 when the connection closed first)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return 0, data
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0]
    return int(head.split(b" ", 2)[1]), head


def _probe(server: LiveServer, path: str = "/v1/triage") -> tuple[int, float]:
    started = time.monotonic()
    with _connect(server) as sock:
        if path == "/v1/triage":
            sock.sendall(_post(path, INTAKE))
        else:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        status, _ = _status(sock)
    return status, time.monotonic() - started


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    """One gevent worker, so every slow client below lands on the worker the probe needs."""
    live = start({"TRIAGE_REQUEST_TIMEOUT": "2"}, workers=1)
    try:
        live.wait_ready()
        yield live
    finally:
        live.stop()


@pytest.mark.parametrize("kind", ["headers", "body", "idle"])
def test_slow_clients_do_not_hold_the_worker(server: LiveServer, kind: str) -> None:
    """64 clients trickling headers, a body or nothing, on the only worker: an intake is still
    answered at once (under sync workers two such clients blocked the service for 30 s)."""
    held = []
    try:
        for _ in range(64):
            sock = _connect(server)
            if kind == "headers":
                sock.sendall(b"POST /v1/triage HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
            elif kind == "body":
                sock.sendall(
                    b"POST /v1/triage HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"
                )
            held.append(sock)
        time.sleep(0.3)
        for _ in range(3):
            status, seconds = _probe(server)
            assert status == 200
            assert seconds < 1.0
    finally:
        for sock in held:
            sock.close()


def test_a_trickled_body_gets_408_at_the_deadline(server: LiveServer) -> None:
    """A body that does not arrive within TRIAGE_REQUEST_TIMEOUT (2 s here): 408, then closed."""
    with _connect(server) as sock:
        sock.sendall(
            b"POST /v1/triage HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        started = time.monotonic()
        status, head = _status(sock)
        assert status == 408
        assert b"application/problem+json" in head
        assert 1.5 < time.monotonic() - started < 5
        sock.settimeout(3)
        rest = sock.recv(65536)
        while rest and b"\r\n\r\n" not in rest:  # the body of the 408, then the close
            rest = sock.recv(65536)


def test_an_idle_connection_is_closed_after_the_keepalive_time(server: LiveServer) -> None:
    """A connection that sends nothing is closed after gunicorn's keepalive (5 s), not held."""
    with _connect(server) as sock:
        started = time.monotonic()
        sock.settimeout(15)
        assert sock.recv(1) == b""
        assert 4 < time.monotonic() - started < 10


def test_overload_is_shed_with_503_and_probes_still_answer() -> None:
    """With the shedding threshold at 1 ms, requests queued behind a long pass get 503 with
    Retry-After as problem+json on a kept-open connection; the health probes are never shed."""
    live = start({"TRIAGE_SHED_AFTER_MS": "1"}, workers=1)
    busy: list[socket.socket] = []
    waiting: list[socket.socket] = []
    try:
        live.wait_ready()
        busy = [_connect(live) for _ in range(4)]
        waiting = [_connect(live) for _ in range(20)]
        # Every connection accepted first (an idle worker takes one per pass): the requests
        # below then all become ready in one pass, behind the batches.
        time.sleep(0.5)
        for sock in busy:
            sock.sendall(_post("/v1/triage/batch", BATCH))
        for sock in waiting:
            sock.sendall(_post("/v1/triage", INTAKE))
        answers = [_status(sock) for sock in waiting]
        shed = [head for status, head in answers if status == 503]
        assert shed, [status for status, _ in answers]
        assert all(b"Retry-After: 1" in head for head in shed)
        assert all(b"application/problem+json" in head for head in shed)
        assert all(status in (200, 503) for status, _ in answers)
        for sock in waiting:  # kept open: the same connection is answered again
            sock.sendall(_post("/v1/triage", INTAKE))
            assert _status(sock)[0] in (200, 503)
        for sock in busy:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        for path in ("/healthz", "/readyz"):
            status, _ = _probe(live, path)
            assert status == 200
    finally:
        for sock in busy + waiting:
            sock.close()
        live.stop()


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_answers_every_request_the_kernel_accepted(workers: int) -> None:
    """Requests sent on 200 connections, some still in the listen queue behind busy work when
    SIGTERM arrives: each gets an answer (200, or 503 if shed), none a reset. With two workers
    they also balance their connections (service.http.connection_balance) while draining."""
    live = start(workers=workers)
    try:
        live.wait_ready()
        busy = [_connect(live) for _ in range(6)]
        for sock in busy:
            sock.sendall(_post("/v1/triage/batch", BATCH))
        time.sleep(0.05)
        queued = [_connect(live) for _ in range(200)]
        for sock in queued:
            sock.sendall(_post("/v1/triage", INTAKE))
        live.process.send_signal(15)
        statuses = []
        for sock in busy + queued:
            try:
                statuses.append(_status(sock)[0])
            except ConnectionResetError:
                statuses.append(-1)
            sock.close()
        assert live.process.wait(timeout=40) == 0
    finally:
        live.stop()
    assert -1 not in statuses
    assert 0 not in statuses
    assert set(statuses) <= {200, 503}
    assert statuses.count(200) >= len(busy)


def test_a_client_with_requests_waiting_takes_turns_with_the_others() -> None:
    """One worker; client A pipelines 400 intakes at once, and while they are being answered
    client B sends one: B is answered while half of A's or more are still to come (gevent would
    otherwise read A's next request, already there, again and again before B's)."""
    live = start(workers=1)
    try:
        live.wait_ready()
        eager, other = _connect(live), _connect(live)
        with eager, other:
            time.sleep(0.3)  # both accepted (an idle worker takes one connection per pass)
            eager.sendall(_post("/v1/triage", INTAKE) * 400)
            time.sleep(0.02)
            other.sendall(_post("/v1/triage", INTAKE))
            assert _status(other)[0] == 200
            eager.setblocking(False)
            received = b""
            with contextlib.suppress(BlockingIOError):
                while chunk := eager.recv(1 << 20):
                    received += chunk
            assert received.count(b"HTTP/1.1 200") < 200
    finally:
        live.stop()
