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
thread uses the C socket type directly, never gevent's cooperative sockets. Its problems are
built once, in each language of the app (service.http.server_problems): a head that arrived
chooses by its Accept-Language; one that did not, or is not HTTP, is answered in every language.
"""

from __future__ import annotations

import _socket
import socket
import time
from typing import Any

from gevent import monkey

from service.http.problem_details import raw_answer
from service.http.server_problems import EVERY, Languages, ServerProblem

STALLED_AFTER = 10.0  # seconds without a pass of the event loop: the worker is not alive
HEAD_LIMIT = 8192  # bytes of request head read at most
READ_TIMEOUT = 1.0  # seconds a probe may take to send its whole request head
DRAIN_SECONDS = 0.2  # after an answer, unread bytes are read and dropped for at most this
JSON = "application/json"
_CLOSE = (("Connection", "close"),)
# The English of each problem (the locale files translate them by their `problem.*` keys).
DETAILS = {
    "not_found": (404, "This port answers only /healthz and /readyz."),
    "method": (405, "Probes use GET."),
    "stalled": (503, "The worker's event loop is not making progress."),
    "no_ruleset": (503, "No validated ruleset is loaded yet."),
    "stopping": (503, "The worker is shutting down."),
    "timeout": (408, "The request head did not arrive in time."),
    "not_http": (400, "Not an HTTP/1.x request head."),
}


def open_listener(host: str, port: int) -> socket.socket:
    """The probe listener, opened in the master so that every worker inherits it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host.strip("[]"), port))
    listener.listen(64)
    listener.set_inheritable(True)
    return listener


def problems(languages: Languages) -> dict[str, ServerProblem]:
    """Every problem of the probe port, built in each language and in all of them."""
    return {
        name: ServerProblem(languages, status, detail, _CLOSE)
        for name, (status, detail) in DETAILS.items()
    }


class ProbeAnswers:
    """What a probe is told, from the worker's own state: its loop's last pass and whether it
    is still alive; every answer is built once (the readiness body is the service's own
    /readyz body), each problem in each of the app's languages."""

    def __init__(
        self, worker: Any, ready_body: bytes | None, languages: Languages | None = None
    ) -> None:
        self._worker = worker
        self.languages = languages or Languages()
        self.problems = problems(self.languages)
        self._alive = raw_answer(200, b'{"status":"ok"}', JSON, _CLOSE)
        self._ready = None if ready_body is None else raw_answer(200, ready_body, JSON, _CLOSE)

    def _stalled(self) -> bool:
        # Only the gevent worker marks its passes (`tick`); another worker class is not judged.
        tick = getattr(self._worker, "tick", None)
        return tick is not None and time.monotonic() - float(tick) > STALLED_AFTER

    def answer(self, method: bytes, path: bytes, language: str = EVERY) -> bytes:
        """The whole answer to one probe; a problem in `language` (EVERY: in all)."""
        if path not in (b"/healthz", b"/readyz"):
            return self.problems["not_found"](language)
        if method not in (b"GET", b"HEAD"):
            return self.problems["method"](language)
        if self._stalled():
            return self.problems["stalled"](language)
        if path == b"/healthz":
            return self._alive
        if self._ready is None:
            return self.problems["no_ruleset"](language)
        if not self._worker.alive:
            return self.problems["stopping"](language)
        return self._ready


def _head_only(answer: bytes) -> bytes:
    return answer[: answer.index(b"\r\n\r\n") + 4]


def _accept_language(head: bytes) -> str | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"accept-language":
            return value.strip().decode("latin-1")
    return None


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


def _answer_for(conn: Any, answers: ProbeAnswers) -> bytes:
    try:
        head = _read_head(conn)
    except TimeoutError:  # no head: no language to choose by
        return answers.problems["timeout"]()
    parts = head.split(b"\r\n", 1)[0].split(b" ") if head else []
    if not head or len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        return answers.problems["not_http"]()
    method, (path, _, query) = parts[0], parts[1].partition(b"?")
    language = answers.languages.choose(_accept_language(head), query.decode("latin-1"))
    answer = answers.answer(method, path, language)
    return _head_only(answer) if method == b"HEAD" else answer


def serve_one(conn: Any, answers: ProbeAnswers) -> None:
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


def _serve_forever(listener_fd: int, answers: ProbeAnswers) -> None:
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
    """In a worker: answer the probe port from a native thread for the worker's whole life,
    in the languages of the worker's app."""
    answers = ProbeAnswers(worker, ready_body, Languages.of(getattr(worker, "wsgi", None)))
    start_thread = monkey.get_original("_thread", "start_new_thread")
    start_thread(_serve_forever, (listener_fd, answers))
