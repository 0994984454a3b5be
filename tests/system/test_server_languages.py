"""The problems written below Flask, through the real gunicorn server with raw sockets, in the
pseudo-locale and in Spanish: gunicorn's own (a parsed head chooses the language; a head too
large or not HTTP gets every language), the gevent worker's shed 503 and the probe port's.
One server (every request but the probes shed, the probe port open) for all of them."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.http.gunicorn_hooks import HEADER_FIELDS
from service.http.server_problems import SEPARATOR
from tests.helpers.locales import PSEUDO, is_wrapped, rules_with_pseudo_locale
from tools.live_server import LiveServer, free_port, start

EVERY = f"en, {PSEUDO}, es"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, int]]:
    folder = rules_with_pseudo_locale(Path(tmp_path_factory.mktemp("pseudo")))
    health = free_port()
    live = start(
        {
            "TRIAGE_RULES_DIR": str(folder),
            "HEALTH_PORT": str(health),
            "TRIAGE_SHED_AFTER_MS": "0.001",  # every request but the probes is shed
        },
        workers=1,
    )
    try:
        live.wait_ready()
        yield live, health
    finally:
        live.stop()


def _raw(port: int, data: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Send bytes on a new connection; the answer's status, headers and problem."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received or len(received.partition(b"\r\n\r\n")[2]) < int(
            received.lower().partition(b"content-length:")[2].split(b"\r\n")[0] or 0
        ):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)}
    assert headers["content-type"] == "application/problem+json"
    return int(status_line.split(" ", 2)[1]), headers, json.loads(body)


def _port(live: LiveServer) -> int:
    return int(live.base.rsplit(":", 1)[1])


def _wrapped(problem: dict[str, Any]) -> bool:
    return is_wrapped(problem["title"]) and is_wrapped(problem["detail"])


def test_gunicorn_answers_in_the_language_of_a_parsed_head(server: tuple[LiveServer, int]) -> None:
    """HTTP/1.1 without Host, an unknown transfer coding, HTTP/1.2: the head was parsed, so
    Accept-Language (or lang) chooses; Spanish and the pseudo-locale both."""
    port = _port(server[0])
    status, headers, problem = _raw(port, b"GET /v1/rules HTTP/1.1\r\nAccept-Language: es\r\n\r\n")
    assert (status, headers["content-language"]) == (400, "es")
    assert (problem["title"], problem["detail"]) == (
        "Solicitud incorrecta",
        "No se pudo leer la solicitud HTTP.",
    )
    for raw, expected in (
        (b"GET /v1/rules HTTP/1.2\r\nHost: x\r\nAccept-Language: " + PSEUDO.encode(), 505),
        (b"POST /v1/triage?lang=" + PSEUDO.encode() + b" HTTP/1.1\r\nHost: x\r\n"
         b"Transfer-Encoding: gzip, chunked", 501),
    ):  # fmt: skip
        status, headers, problem = _raw(port, raw + b"\r\nConnection: close\r\n\r\n")
        assert (status, headers["content-language"]) == (expected, PSEUDO)
        assert _wrapped(problem), problem


def test_gunicorn_answers_in_every_language_without_a_head(server: tuple[LiveServer, int]) -> None:
    """A head too large, or no HTTP request line: no language can be chosen, every one is
    written, English first, and Content-Language names them all."""
    port = _port(server[0])
    fields = "".join(f"X-F{index:03d}: vvvvvvvvvvvv\r\n" for index in range(HEADER_FIELDS))
    too_large = f"GET / HTTP/1.1\r\nHost: x\r\nAccept-Language: es\r\n{fields}\r\n".encode()
    for raw, expected in ((too_large, 431), (b"GARBAGE\r\n\r\n", 400)):
        status, headers, problem = _raw(port, raw)
        assert (status, headers["content-language"]) == (expected, EVERY)
        english, pseudo, spanish = problem["detail"].split(SEPARATOR)
        assert pseudo == f"⟦{english}⟧"
        assert spanish.startswith(("Las cabeceras", "No se pudo leer"))
        assert len(problem["title"].split(SEPARATOR)) == 3


def test_the_shed_503_and_the_probe_port_follow_accept_language(
    server: tuple[LiveServer, int],
) -> None:
    """The worker's shed answer (its head was read) and the probe port's problems."""
    live, health = server
    status, headers, problem = _raw(
        _port(live),
        b"POST /v1/triage HTTP/1.1\r\nHost: x\r\nAccept-Language: es-MX,es;q=0.9\r\n"
        b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    )
    assert (status, headers["content-language"], headers["retry-after"]) == (503, "es", "1")
    assert problem["detail"].startswith("El servicio está ocupado")
    status, headers, problem = _raw(
        _port(live), f"GET /v1/rules?lang={PSEUDO} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    )
    assert (status, headers["content-language"]) == (503, PSEUDO)
    assert _wrapped(problem)
    status, headers, problem = _raw(
        health, b"GET /nope HTTP/1.1\r\nHost: x\r\nAccept-Language: es\r\n\r\n"
    )
    assert (status, headers["content-language"]) == (404, "es")
    assert problem["detail"] == "Este puerto solo responde a /healthz y /readyz."
    status, headers, problem = _raw(health, b"POST /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (status, headers["content-language"]) == (405, "en")
