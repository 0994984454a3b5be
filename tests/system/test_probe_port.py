"""The probe port (HEALTH_PORT): answers from the worker's own state, by a thread of its own.

The answers are checked on the logic with a stand-in for the worker's two state fields, then
with the real gunicorn: the same readiness body as the service port, and an answer while the
worker's event loop is busy with work queued on the service port.
"""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from service.http import probe_port
from tests.helpers import ROOT
from tools.live_server import free_port, request, start

BATCH = json.dumps(
    {"intakes": [{"symptoms": {"onset": "injury", "pain_nrs": n % 11}} for n in range(100)]}
).encode()
HEAD = b"POST /v1/triage/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


def _answers(
    *, stalled: bool = False, alive: bool = True, ready: bytes | None = b"{}"
) -> probe_port.ProbeAnswers:
    tick = time.monotonic() - (probe_port.STALLED_AFTER + 1 if stalled else 0)
    return probe_port.ProbeAnswers(SimpleNamespace(tick=tick, alive=alive), ready)


@pytest.mark.parametrize(
    ("state", "path", "status"),
    [
        ({}, b"/healthz", 200),
        ({}, b"/readyz", 200),
        ({"stalled": True}, b"/healthz", 503),
        ({"stalled": True}, b"/readyz", 503),
        ({"alive": False}, b"/healthz", 200),  # draining, still alive
        ({"alive": False}, b"/readyz", 503),  # no new traffic while it drains
        ({"ready": None}, b"/readyz", 503),
        ({}, b"/v1/triage", 404),
    ],
)
def test_answers_follow_the_worker_state(
    state: dict[str, object], path: bytes, status: int
) -> None:
    """Liveness fails only on a stalled loop; readiness also on shutdown or no ruleset."""
    answers = _answers(**state)
    answer = answers.answer(b"GET", path)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode())
    kind = b"application/json" if status == 200 else b"application/problem+json"
    assert b"\r\nContent-Type: " + kind + b"\r\n" in head
    if status != 200:
        assert json.loads(body)["status"] == status
    elif path == b"/healthz":
        assert json.loads(body) == {"status": "ok"}


def _exchange(raw: bytes) -> bytes:
    server, client = socket.socketpair()
    with server, client:
        client.sendall(raw)
        client.shutdown(socket.SHUT_WR)
        probe_port.serve_one(server, _answers())
        data = b""
        while chunk := client.recv(65536):
            data += chunk
        return data


def test_head_gets_no_body_and_other_methods_405() -> None:
    """HEAD as GET without a body; POST refused; every answer closes its connection."""
    head = _exchange(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert head.endswith(b"\r\n\r\n")
    assert b"Connection: close" in head
    assert b"Content-Length: 15" in head
    assert _exchange(b"POST /healthz HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 405 ")


@pytest.mark.parametrize("raw", [b"garbage\r\n\r\n", b"", b"GET /healthz SPDY/3\r\n\r\n"])
def test_not_an_http_head_is_400(raw: bytes) -> None:
    """Anything but an HTTP/1.x request line is answered 400, never left hanging."""
    assert _exchange(raw).startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_an_endless_head_is_refused() -> None:
    """A head past HEAD_LIMIT bytes is not read further: 400."""
    raw = b"GET /healthz HTTP/1.1\r\n" + b"X-Pad: " + b"a" * probe_port.HEAD_LIMIT + b"\r\n\r\n"
    assert _exchange(raw).startswith(b"HTTP/1.1 400 ")


def test_probe_port_answers_while_the_event_loop_is_busy() -> None:
    """One worker busy with 20 batches of 100 intakes queued on the service port: a probe on
    the probe port is answered, with the service's own /readyz body, before they are done."""
    health = free_port()
    live = start({"HEALTH_PORT": str(health)}, workers=1)
    busy: list[socket.socket] = []
    try:
        live.wait_ready()
        status, ready = request(live.base, "GET", "/readyz")
        assert status == 200
        assert request(f"http://127.0.0.1:{health}", "GET", "/readyz") == (200, ready)
        port = int(live.base.rsplit(":", 1)[1])
        busy = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(20)]
        time.sleep(0.5)  # all accepted: the batches then become ready in one pass
        for sock in busy:
            sock.sendall(HEAD + f"Content-Length: {len(BATCH)}\r\n\r\n".encode() + BATCH)
        time.sleep(0.05)
        assert request(f"http://127.0.0.1:{health}", "GET", "/healthz", timeout=5) == (
            200,
            {"status": "ok"},
        )
        readable, _, _ = select.select(busy, [], [], 0)
        assert len(readable) < len(busy), "every batch was answered before the probe"
        # Answered or, past the worker's shedding threshold, shed: never dropped.
        assert all(sock.recv(12) in (b"HTTP/1.1 200", b"HTTP/1.1 503") for sock in busy)
    finally:
        for sock in busy:
            sock.close()
        live.stop()


@pytest.mark.parametrize(
    ("value", "message"),
    [("abc", "HEALTH_PORT='abc' is not valid"), ("70000", "out of range or the service port")],
)
def test_a_bad_health_port_stops_the_start(value: str, message: str) -> None:
    """A HEALTH_PORT that is not a port, or is the service port, stops gunicorn at once."""
    env = {"PATH": "/usr/bin:/bin", "HEALTH_PORT": value, "PORT": str(free_port())}
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "service.wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert message in done.stderr + done.stdout


def test_a_trickled_head_is_cut_at_the_deadline() -> None:
    """A probe that stops sending its head holds the thread for READ_TIMEOUT at most: 408."""
    server, client = socket.socketpair()
    with server, client:
        client.sendall(b"GET /hea")  # and nothing more
        started = time.monotonic()
        probe_port.serve_one(server, _answers())
        took = time.monotonic() - started
        assert took < probe_port.READ_TIMEOUT + probe_port.DRAIN_SECONDS + 0.5
        assert client.recv(65536).startswith(b"HTTP/1.1 408 Request Timeout\r\n")


def test_the_probe_thread_serves_the_inherited_listener() -> None:
    """The listener the master opens, served by the worker's native thread (in this process):
    each probe gets its own answer, and the thread keeps serving after a bad one."""
    port = free_port()
    # The thread owns the descriptor from here (as a worker's thread owns the inherited one).
    listener_fd = probe_port.open_listener("127.0.0.1", port).detach()
    state = SimpleNamespace(tick=time.monotonic(), alive=True)
    probe_port.start(state, listener_fd, b'{"status":"ready"}')
    base = f"http://127.0.0.1:{port}"
    assert request(base, "GET", "/readyz") == (200, {"status": "ready"})
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"nonsense\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 400 ")
    state.alive = False  # draining: not ready any more, still alive
    assert request(base, "GET", "/readyz")[0] == 503
    assert request(base, "GET", "/healthz") == (200, {"status": "ok"})
