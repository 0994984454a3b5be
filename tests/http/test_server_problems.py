"""The problems answered below Flask (gunicorn, the gevent worker's shed, the probe port), built
once per language from the locale files: in the language of a head that was read, in every
language when none was; the pseudo-locale proves each of their texts goes through the locale
files. The real server writes them in tests/system/test_server_languages.py."""

from __future__ import annotations

import json
import socket
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask

from service.http import gevent_worker, gunicorn_hooks, probe_port
from service.http.server_problems import EVERY, SEPARATOR, Languages, ServerProblem
from tests.helpers.locales import PSEUDO, is_wrapped


def _parsed(answer: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    assert int(headers["content-length"]) == len(body)
    return int(status_line.split(" ")[1]), headers, json.loads(body)


# Every problem written below Flask: (status, English detail, extra headers).
SERVER_PROBLEMS = [
    *((status, detail, ()) for status, detail in gunicorn_hooks._DETAIL.items()),
    (503, gevent_worker.OVERLOADED, (("Retry-After", "1"),)),
    *((status, detail, ()) for status, detail in probe_port.DETAILS.values()),
]


@pytest.mark.slow  # builds its own app
def test_no_english_bypasses_the_locale_files_below_flask(pseudo_app: Flask) -> None:
    """In the pseudo-locale every title and detail the server layer writes is wrapped; written
    in every language, the English comes first, then each loaded language, all named by
    Content-Language."""
    languages = Languages.of(pseudo_app)
    assert languages.supported == ("en", PSEUDO, "es")
    for status, detail, headers in SERVER_PROBLEMS:
        problem = ServerProblem(languages, status, detail, headers)
        got, head, body = _parsed(problem(PSEUDO))
        assert (got, body["status"], head["content-language"]) == (status, status, PSEUDO)
        assert is_wrapped(body["title"]), body
        assert body["detail"] == f"⟦{detail}⟧"
        got, head, body = _parsed(problem(EVERY))
        assert head["content-language"] == f"en, {PSEUDO}, es"
        english, pseudo, spanish = body["detail"].split(SEPARATOR)
        assert (english, pseudo) == (detail, f"⟦{detail}⟧")
        assert spanish not in (english, pseudo)
        assert body["title"].split(SEPARATOR)[1].startswith("⟦")
        for name, value in headers:
            assert head[name.lower()] == value


def test_the_server_layer_negotiates_as_flask_does(app: Flask) -> None:
    """Accept-Language with q-values, `lang` first, English when nothing supported is asked."""
    languages = Languages.of(app)
    assert languages.choose("es-MX, es;q=0.9, en;q=0.5") == "es"
    assert languages.choose("fr;q=1, es;q=0.8, en;q=0.5") == "es"
    assert languages.choose("es;q=0.2, en") == "en"
    assert languages.choose(None) == "en"
    assert languages.choose("fr, de") == "en"
    assert languages.choose("en", "a=1&lang=es") == "es"
    assert languages.choose("es", "lang=xx") == "en"
    assert Languages.of(None).supported == ("en",)  # no app yet: English alone


def test_the_shed_answer_in_spanish_and_in_every_language(app: Flask) -> None:
    """The 503 of a shed request: Spanish for Accept-Language es, Retry-After kept; in every
    language when none can be chosen."""
    shed = gevent_worker.overloaded_answer(Languages.of(app))
    status, head, body = _parsed(shed("es"))
    assert (status, head["retry-after"], head["content-language"]) == (503, "1", "es")
    assert body == {
        "type": "about:blank",
        "title": "Servicio no disponible",
        "status": 503,
        "detail": "El servicio está ocupado; vuelva a intentarlo en unos segundos.",
    }
    assert "connection" not in head  # kept alive
    _, head, body = _parsed(shed(EVERY))
    assert head["content-language"] == "en, es"
    assert body["title"] == "Service Unavailable / Servicio no disponible"


def _exchange(answers: probe_port.ProbeAnswers, raw: bytes) -> bytes:
    server, client = socket.socketpair()
    with server, client:
        client.sendall(raw)
        client.shutdown(socket.SHUT_WR)
        probe_port.serve_one(server, answers)
        data = b""
        while chunk := client.recv(65536):
            data += chunk
        return data


def test_probe_port_problems_follow_the_head_or_speak_every_language(app: Flask) -> None:
    """A probe's head that was read chooses the language; one that is not HTTP cannot."""
    worker = SimpleNamespace(tick=None, alive=True, wsgi=app)
    answers = probe_port.ProbeAnswers(worker, b"{}", Languages.of(app))
    raw = b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Language: es-ES,es;q=0.9\r\n\r\n"
    status, head, body = _parsed(_exchange(answers, raw))
    assert (status, head["content-language"]) == (404, "es")
    assert body["detail"] == "Este puerto solo responde a /healthz y /readyz."
    status, head, body = _parsed(_exchange(answers, b"nonsense\r\n\r\n"))
    assert (status, head["content-language"]) == (400, "en, es")
    assert body["detail"] == (
        "Not an HTTP/1.x request head. / No es una cabecera de solicitud HTTP/1.x."
    )
    status, head, _ = _parsed(_exchange(answers, b"GET /healthz HTTP/1.1\r\n\r\n"))
    assert (status, "content-language" in head) == (200, False)
