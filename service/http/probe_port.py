"""Health probes on a port of their own, answered by a native thread in each worker.

Under a flood of connections a worker's event loop runs passes of a second or more (every
ready connection's request is read and answered or shed in turn), and a probe on the service
port waits behind them: at 2,000 connections the kubelet's probes timed out and would have
restarted pods at peak load. Here the master opens a second listener (HEALTH_PORT) before the
workers fork; each worker answers it from an operating-system thread that needs only the GIL
for a few microseconds, so a probe is answered within milliseconds however busy the loop is.

The answers stay honest: liveness fails when the worker's event loop has made no pass for
STALLED_AFTER seconds (the loop, not this thread, serves patients), and readiness also fails
once the worker is shutting down. Only GET and HEAD of /healthz and /readyz are served; the
thread uses the C socket type directly, never gevent's cooperative sockets.
"""

from __future__ import annotations

import _socket
import socket
import time
from collections.abc import Callable
from typing import Any

import orjson
from gevent import monkey

STALLED_AFTER = 10.0  # seconds without a pass of the event loop: the worker is not alive
HEAD_LIMIT = 8192  # bytes of request head read at most
READ_TIMEOUT = 1.0  # seconds a probe may take to send its whole request head
DRAIN_SECONDS = 0.2  # after an answer, unread bytes are read and dropped for at most this
_PHRASES = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
_PHRASES.update({408: "Request Timeout", 503: "Service Unavailable"})


def open_listener(host: str, port: int) -> socket.socket:
    """The probe listener, opened in the master so that every worker inherits it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host.strip("[]"), port))
    listener.listen(64)
    listener.set_inheritable(True)
    return listener


def _problem(status: int, detail: str) -> tuple[int, bytes, bytes]:
    body = {"type": "about:blank", "title": _PHRASES[status], "status": status, "detail": detail}
    return status, orjson.dumps(body), b"application/problem+json"


class ProbeAnswers:
    """What a probe is told, from the worker's own state: its loop's last pass and whether it
    is still alive; the readiness body is the service's own /readyz body, built once."""

    def __init__(self, worker: Any, ready_body: bytes | None) -> None:
        self._worker = worker
        self._ready_body = ready_body

    def _stalled(self) -> bool:
        # Only the gevent worker marks its passes (`tick`); another worker class is not judged.
        tick = getattr(self._worker, "tick", None)
        return tick is not None and time.monotonic() - float(tick) > STALLED_AFTER

    def answer(self, method: bytes, path: bytes) -> tuple[int, bytes, bytes]:
        """(status, body, content type) for one probe."""
        if path not in (b"/healthz", b"/readyz"):
            return _problem(404, "This port answers only /healthz and /readyz.")
        if method not in (b"GET", b"HEAD"):
            return _problem(405, "Probes use GET.")
        if self._stalled():
            return _problem(503, "The worker's event loop is not making progress.")
        if path == b"/healthz":
            return 200, b'{"status":"ok"}', b"application/json"
        if self._ready_body is None:
            return _problem(503, "No validated ruleset is loaded yet.")
        if not self._worker.alive:
            return _problem(503, "The worker is shutting down.")
        return 200, self._ready_body, b"application/json"


def _response(status: int, body: bytes, content_type: bytes, head_only: bool) -> bytes:
    head = (
        f"HTTP/1.1 {status} {_PHRASES[status]}\r\n".encode()
        + b"Content-Type: "
        + content_type
        + b"\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
    )
    return head if head_only else head + body


def _read_head(conn: Any) -> bytes | None:
    # One deadline for the whole head: a probe trickling bytes cannot hold the thread.
    deadline = time.monotonic() + READ_TIMEOUT
    data = b""
    while b"\r\n\r\n" not in data:
        left = deadline - time.monotonic()
        if len(data) >= HEAD_LIMIT or left <= 0:
            return None
        conn.settimeout(left)
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
    return data


def _answer_for(conn: Any, answers: Callable[[bytes, bytes], tuple[int, bytes, bytes]]) -> bytes:
    try:
        head = _read_head(conn)
    except TimeoutError:
        return _response(*_problem(408, "The request head did not arrive in time."), False)
    parts = head.split(b"\r\n", 1)[0].split(b" ") if head else []
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        return _response(*_problem(400, "Not an HTTP/1.x request head."), False)
    method, target = parts[0], parts[1].split(b"?", 1)[0]
    return _response(*answers(method, target), head_only=method == b"HEAD")


def serve_one(conn: Any, answers: Callable[[bytes, bytes], tuple[int, bytes, bytes]]) -> None:
    """Read one request head from a probe and answer it; the connection is then closed."""
    try:
        conn.sendall(_answer_for(conn, answers))
        _drain(conn)
    except OSError:  # the probe went away: nothing to answer
        pass
    finally:
        conn.close()


def _drain(conn: Any) -> None:
    """Close the sending side and read what the probe still sends, briefly: closing with
    unread bytes would reset the connection and could destroy the answer in transit."""
    conn.shutdown(socket.SHUT_WR)
    deadline = time.monotonic() + DRAIN_SECONDS
    while (left := deadline - time.monotonic()) > 0:
        conn.settimeout(left)
        if not conn.recv(65536):
            return


def _serve_forever(listener_fd: int, answers: Callable[[bytes, bytes], Any]) -> None:
    # The C socket type: gevent patched the socket module's class, whose accept() would hand
    # out cooperative sockets bound to the worker's event loop.
    listener = _socket.socket(fileno=listener_fd)
    listener.setblocking(True)
    while True:
        try:
            fd, _address = listener._accept()  # type: ignore[attr-defined]
        except OSError:
            continue  # a connection reset before it was accepted, or too many open files
        serve_one(_socket.socket(fileno=fd), answers)


def start(worker: Any, listener_fd: int, ready_body: bytes | None) -> None:
    """In a worker: answer the probe port from a native thread for the worker's whole life."""
    answers = ProbeAnswers(worker, ready_body)
    start_thread = monkey.get_original("_thread", "start_new_thread")
    start_thread(_serve_forever, (listener_fd, answers.answer))
