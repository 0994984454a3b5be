"""HTTP as RFC 9110/9112 say, through the real gunicorn server, with raw sockets on 127.0.0.1.

Client errors are 4xx, never 500 or 200: malformed chunked framing 400, HTTP/1.1 without Host
400, an unsupported version 505, an unknown transfer coding 501, headers past the documented
count or size 431, a lone surrogate in a FHIR string 422 (OperationOutcome). Every 401 carries
WWW-Authenticate; no answer names the server. Each answer gunicorn writes itself is
problem+json with a detail saying what was wrong.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from service.http.auth import CHALLENGE
from service.http.gunicorn_hooks import HEADER_BYTES, HEADER_FIELD_BYTES, HEADER_FIELDS
from tests.helpers import EXAMPLE
from tests.helpers.fhir import ANSWERS_SYSTEM, QUESTIONNAIRE_URL
from tools.live_server import LiveServer, start

KEY = "protocol-test-key-0123456789"
AUTH = f"X-API-Key: {KEY}\r\n"


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    """gunicorn as `make run` starts it, with an API key required."""
    live = start({"TRIAGE_API_KEYS": KEY})
    try:
        live.wait_ready()
        yield live
    finally:
        live.stop()


def _raw(live: LiveServer, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes on a new connection and read the answer until the server closes it."""
    port = int(live.base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:  # closed with part of a refused request unread
            pass
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)}
    return int(status_line.split(" ", 2)[1]), headers, body


def _get(
    target: str = "/healthz", version: str = "HTTP/1.1", headers: str = "Host: x\r\n"
) -> bytes:
    return f"GET {target} {version}\r\n{headers}Connection: close\r\n\r\n".encode()


def _post(body: bytes, extra: str = "", path: str = "/v1/triage", kind: str = "json") -> bytes:
    """A POST with its own framing in `extra` (Content-Length is added unless it has some)."""
    framing = "" if "Transfer-Encoding" in extra else f"Content-Length: {len(body)}\r\n"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\n{AUTH}Content-Type: application/{kind}\r\n"
        f"{extra}{framing}Connection: close\r\n\r\n"
    )
    return head.encode() + body


def _chunked(chunks: bytes, path: str = "/v1/triage", kind: str = "json") -> bytes:
    return _post(chunks, "Transfer-Encoding: chunked\r\n", path, kind)


def _problem(answer: tuple[int, dict[str, str], bytes], status: int) -> dict[str, Any]:
    got, headers, body = answer
    assert got == status, body[:300]
    assert headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = json.loads(body)
    assert problem["status"] == status
    assert "server" not in headers
    return problem


INTAKE = json.dumps(EXAMPLE).encode()


def test_http_1_1_without_host_is_400(server: LiveServer) -> None:
    """RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without Host."""
    problem = _problem(_raw(server, _get(headers="")), 400)
    assert problem["detail"] == "The HTTP request could not be parsed."
    assert _raw(server, _get(headers="X-Other: 1\r\n"))[0] == 400


def test_a_malformed_host_is_400_and_http_1_0_needs_none(server: LiveServer) -> None:
    """A Host value that is no host[:port] is 400; HTTP/1.0 may leave Host out."""
    assert _raw(server, _get(headers="Host: a/b\r\n"))[0] == 400
    assert _raw(server, _get(headers="Host: x\r\nHost: y\r\n"))[0] == 400
    assert _raw(server, _get(headers="Host: [::1]:8000\r\n"))[0] == 200
    assert _raw(server, _get(version="HTTP/1.0", headers=""))[0] == 200


@pytest.mark.parametrize("version", ["HTTP/1.2", "HTTP/1.9", "HTTP/2.0", "HTTP/3.0", "HTTP/0.9"])
def test_an_unsupported_version_is_505(server: LiveServer, version: str) -> None:
    """A well-formed version other than 1.0 and 1.1 is 505 (gunicorn: 200 for 1.2, 400 for 2.0)."""
    answer = _raw(server, _get(version=version))
    problem = _problem(answer, 505)
    # gunicorn refuses 2.0, 3.0 and 0.9 in the request line, before any header is read: no
    # language can be chosen, every loaded one is written, English first (docs/api.md).
    parsed = version in ("HTTP/1.2", "HTTP/1.9")
    assert answer[1]["content-language"] == ("en" if parsed else "en, es")
    assert problem["title"].split(" / ")[0] == "HTTP Version Not Supported"
    assert problem["detail"].split(" / ")[0] == (
        "The HTTP version is not supported: use HTTP/1.1 (or HTTP/1.0)."
    )


@pytest.mark.parametrize("version", ["HTTP/1.10", "HTTP/1", "HTTX/1.1", "http/1.1"])
def test_a_malformed_version_is_400(server: LiveServer, version: str) -> None:
    """Not a version at all: the request line cannot be parsed."""
    _problem(_raw(server, _get(version=version)), 400)


@pytest.mark.parametrize(
    "codings", ["gzip, chunked", "deflate, chunked", "identity, chunked", "x-custom, chunked"]
)
def test_an_unknown_transfer_coding_is_501(server: LiveServer, codings: str) -> None:
    """RFC 9112 6.1: a coding the server does not understand is 501, never ignored."""
    body = f"{len(INTAKE):x}\r\n".encode() + INTAKE + b"\r\n0\r\n\r\n"
    problem = _problem(_raw(server, _post(body, f"Transfer-Encoding: {codings}\r\n")), 501)
    assert problem["title"] == "Not Implemented"
    assert problem["detail"] == "The transfer coding is not supported: only chunked is."


@pytest.mark.parametrize("codings", ["chunked, gzip", "gzip", "chunked, chunked"])
def test_a_coding_list_not_ending_in_one_chunked_is_400(server: LiveServer, codings: str) -> None:
    """RFC 9112 6.3: without chunked last, once, the body's length is unknown: 400."""
    body = f"{len(INTAKE):x}\r\n".encode() + INTAKE + b"\r\n0\r\n\r\n"
    _problem(_raw(server, _post(body, f"Transfer-Encoding: {codings}\r\n")), 400)


MALFORMED_CHUNKS = [
    pytest.param(b"zz\r\n{}\r\n0\r\n\r\n", id="size not hex"),
    pytest.param(b"-2\r\n{}\r\n0\r\n\r\n", id="negative size"),
    pytest.param(b"2\r\n{}XX0\r\n\r\n", id="no CRLF after the data"),
    pytest.param(b"2;a b\r\n{}\r\n0\r\n\r\n", id="bad extension"),
    pytest.param(b"2\r\n{}\r\n0\r\nHost: y\r\n\r\n", id="forbidden trailer"),
    pytest.param(b"2\r\n{}\r\n" + b"0" * 200 + b"x\r\n\r\n", id="size line overlong"),
]


@pytest.mark.parametrize("chunks", MALFORMED_CHUNKS)
def test_malformed_chunked_framing_is_400(server: LiveServer, chunks: bytes) -> None:
    """gunicorn raises while the application reads the body: 400, not 500."""
    problem = _problem(_raw(server, _chunked(chunks)), 400)
    assert problem["detail"] == "The request body's framing is malformed or cut short."


def test_malformed_chunked_framing_on_fhir_is_an_operation_outcome(server: LiveServer) -> None:
    """On /fhir the same 400 is an OperationOutcome."""
    status, headers, body = _raw(
        server, _chunked(b"zz\r\n{}\r\n0\r\n\r\n", "/fhir/QuestionnaireResponse/$triage")
    )
    assert status == 400
    assert headers["content-type"] == "application/fhir+json"
    assert json.loads(body)["resourceType"] == "OperationOutcome"


def test_well_formed_chunked_framing_is_answered(server: LiveServer) -> None:
    """The same intake, chunked in two pieces with an extension: answered."""
    half = len(INTAKE) // 2
    chunks = (
        f"{half:x};note=1\r\n".encode()
        + INTAKE[:half]
        + f"\r\n{len(INTAKE) - half:x}\r\n".encode()
        + INTAKE[half:]
        + b"\r\n0\r\n\r\n"
    )
    status, _, body = _raw(server, _chunked(chunks))
    assert status == 200
    assert json.loads(body)["urgency"] == "urgent"


def _fields(count: int, size: int = 20) -> str:
    """`count` header fields, each line `size` bytes long without its CRLF."""
    return "".join(f"X-F{index:03d}: {'v' * (size - 8)}\r\n" for index in range(count))


def test_header_count_limit_is_431(server: LiveServer) -> None:
    """At most HEADER_FIELDS fields (Host and Connection among them): one more is 431."""
    assert _raw(server, _get(headers="Host: x\r\n" + _fields(HEADER_FIELDS - 2)))[0] == 200
    problem = _problem(_raw(server, _get(headers="Host: x\r\n" + _fields(HEADER_FIELDS - 1))), 431)
    # A head too large is not read for its language: every loaded one, English first.
    assert problem["detail"].split(" / ")[0] == (
        f"The request headers are too large: at most {HEADER_FIELDS} fields, each at most "
        f"{HEADER_FIELD_BYTES} bytes, {HEADER_BYTES} bytes in all."
    )


def test_header_field_size_limit_is_431(server: LiveServer) -> None:
    """A field line of HEADER_FIELD_BYTES with its CRLF is accepted; one byte more is 431."""
    fits = _fields(1, HEADER_FIELD_BYTES - 2)
    assert _raw(server, _get(headers="Host: x\r\n" + fits))[0] == 200
    _problem(_raw(server, _get(headers="Host: x\r\n" + _fields(1, HEADER_FIELD_BYTES - 1))), 431)


def test_header_section_size_limit_is_431(server: LiveServer) -> None:
    """Fields each within their limit, HEADER_BYTES in all at most: 431 past it."""
    size = 7000
    within = HEADER_BYTES // (size + 4)
    assert _raw(server, _get(headers="Host: x\r\n" + _fields(within, size)))[0] == 200
    _problem(_raw(server, _get(headers="Host: x\r\n" + _fields(within + 1, size))), 431)


def test_800_kb_of_headers_is_431(server: LiveServer) -> None:
    """What gunicorn's own limits let through (100 fields of 8 KB) is refused."""
    _problem(_raw(server, _get(headers="Host: x\r\n" + _fields(48, 8000) * 2)), 431)
    _problem(_raw(server, _get(headers="Host: x\r\n" + _fields(98, 8000))), 431)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/triage", b"{}"),
        ("GET", "/v1/rules", None),
        ("POST", "/v1/triage/batch", b'{"intakes": [{}]}'),
        ("GET", "/fhir/Questionnaire/forefoot-triage", None),
        ("POST", "/fhir/QuestionnaireResponse/$triage", b"{}"),
        ("GET", "/cds-services", None),
        ("POST", "/cds-services/forefoot-triage", b"{}"),
        ("POST", "/", b"fever=no"),
    ],
)
def test_every_401_has_www_authenticate(
    server: LiveServer, method: str, path: str, body: bytes | None
) -> None:
    """Without a key (and with a wrong one), 401 with the contract's scheme as challenge."""
    kind = "x-www-form-urlencoded" if path == "/" else "json"
    for key in ("", "X-API-Key: wrong-key-0123456789\r\n"):
        framing = f"Content-Length: {len(body)}\r\n" if body is not None else ""
        data = (
            f"{method} {path} HTTP/1.1\r\nHost: x\r\n{key}Content-Type: application/{kind}\r\n"
            f"{framing}Connection: close\r\n\r\n"
        ).encode() + (body or b"")
        status, headers, _ = _raw(server, data)
        assert status == 401
        assert headers["www-authenticate"] == CHALLENGE
        assert CHALLENGE == 'ApiKey realm="forefoot-triage", header="X-API-Key"'


def test_no_answer_names_the_server(server: LiveServer) -> None:
    """No Server header, on the application's answers and on gunicorn's own."""
    for data in (
        _get(),
        _post(INTAKE),
        _get("/nowhere"),
        b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
        _get(version="HTTP/1.2"),
    ):
        status, headers, _ = _raw(server, data)
        assert status in (200, 400, 404, 505)
        assert "server" not in headers, data


def _response(subject: str, code: str = "injury") -> bytes:
    """A QuestionnaireResponse as JSON text, its strings spliced in verbatim (escapes kept)."""
    text = json.dumps(
        {
            "resourceType": "QuestionnaireResponse",
            "status": "completed",
            "questionnaire": QUESTIONNAIRE_URL,
            "subject": {"reference": "SUBJECT"},
            "item": [
                {
                    "linkId": "onset",
                    "answer": [{"valueCoding": {"system": ANSWERS_SYSTEM, "code": "CODE"}}],
                }
            ],
        }
    )
    return text.replace('"SUBJECT"', f'"{subject}"').replace('"CODE"', f'"{code}"').encode()


@pytest.mark.parametrize(
    ("subject", "code"),
    [
        ("Patient/\\ud800", "injury"),
        ("Patient/\\udfff\\ud800", "injury"),
        ("Patient/1", "inj\\udc00ury"),
    ],
    ids=["lone high surrogate", "reversed pair", "in an answer code"],
)
def test_a_lone_surrogate_in_a_fhir_string_is_422(
    server: LiveServer, subject: str, code: str
) -> None:
    """Valid JSON, but a string with no UTF-8 form: 422 OperationOutcome, not 500."""
    status, headers, body = _raw(
        server, _post(_response(subject, code), path="/fhir/QuestionnaireResponse/$triage")
    )
    assert status == 422
    assert headers["content-type"] == "application/fhir+json"
    outcome = json.loads(body)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["severity"] == "error"
    assert "surrogate" in outcome["issue"][0]["diagnostics"]


def test_a_surrogate_pair_is_text_and_is_answered(server: LiveServer) -> None:
    """An escaped pair is one character (here U+1F600): an ordinary reference, answered."""
    status, _, body = _raw(
        server,
        _post(_response("Patient/\\ud83d\\ude00"), path="/fhir/QuestionnaireResponse/$triage"),
    )
    assert status == 200
    assert json.loads(body)["subject"] == {"reference": "Patient/\U0001f600"}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/triage", b'{"symptoms": {"fever": "\\ud800"}}'),
        ("/v1/triage", b'{"symptoms": {"\\ud800": "yes"}}'),
        ("/cds-services/forefoot-triage", b'{"hook": "\\udbff"}'),
    ],
)
def test_a_lone_surrogate_elsewhere_is_422(server: LiveServer, path: str, body: bytes) -> None:
    """The same 422 problem on every JSON endpoint, the string never echoed."""
    problem = _problem(_raw(server, _post(body, path=path)), 422)
    assert problem["errors"][0]["field"] == "(body)"
    assert "ud800" not in json.dumps(problem)
