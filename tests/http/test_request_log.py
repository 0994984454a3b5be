"""One JSON log line per request, with ids and outcomes only: no patient data, ever."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.domain.findings import FINDINGS
from service.exceptions import EngineError
from service.http import request_log
from service.http.headers import REQUEST_ID_ENVIRON, SECURITY_HEADERS, with_security_headers
from service.http.log_lines import LINE_LIMIT, JsonLineFormatter, write_line
from tests.helpers import AppFactory, piped_server, vignettes
from tools.live_server import request

CANARY = "CanaryZq7"


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_one_json_line_per_request(client: FlaskClient, capsys: pytest.CaptureFixture[str]) -> None:
    """decision_id, method, route, status, duration, level, urgency and ruleset version; not the
    fired rules, which would say what the patient has (UR16 pregnancy, SN10 cancer, EM9
    immunosuppression) beside an id the client chose."""
    capsys.readouterr()
    response = client.post("/v1/triage", json={"symptoms": {"pain_nrs": 8, "onset": "gradual"}})
    (line,) = _lines(capsys)
    body = response.get_json()
    assert line["event"] == "request"
    assert line["decision_id"] == body["decision_id"] == response.headers["X-Request-ID"]
    assert (line["method"], line["route"], line["status"]) == ("POST", "/v1/triage", 200)
    assert line["duration_ms"] > 0
    assert (line["level"], line["urgency"]) == (body["level"], body["urgency"])
    assert "rules" not in line
    assert line["ruleset_version"] == body["ruleset"]["version"]


@pytest.mark.parametrize(
    ("inbound", "used"),
    [
        ("abc-123_DEF.9", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("has space", False),
        ("semi;colon", False),
        ("", False),
    ],
)
def test_request_id_is_used_only_when_plain(
    client: FlaskClient, capsys: pytest.CaptureFixture[str], inbound: str, used: bool
) -> None:
    """An inbound X-Request-ID matching ^[A-Za-z0-9._-]{1,64}$ is used and echoed."""
    capsys.readouterr()
    response = client.post("/v1/triage", json={}, headers={"X-Request-ID": inbound})
    echoed = response.headers["X-Request-ID"]
    assert (echoed == inbound) is used
    assert response.get_json()["decision_id"] == echoed
    (line,) = _lines(capsys)
    assert line["decision_id"] == echoed


def _canary_requests() -> list[tuple[str, str, Any, dict[str, str]]]:
    """Canary text in every finding, in unknown keys, headers, query and path."""
    requests: list[tuple[str, str, Any, dict[str, str]]] = []
    for name, finding in FINDINGS.items():
        requests.append(("POST", "/v1/triage", {finding.group: {name: CANARY}}, {}))
    requests += [
        ("POST", "/v1/triage", {"symptoms": {f"{CANARY}_key": "yes"}}, {}),
        ("POST", "/v1/triage", {f"{CANARY}_group": {}}, {}),
        ("POST", "/v1/triage", {"symptoms": {"fever": "no"}, "note": CANARY}, {}),
        (
            "POST",
            "/v1/triage",
            {},
            {
                "User-Agent": CANARY,
                "X-Forwarded-For": CANARY,
                "X-Request-ID": f"{CANARY} spaced",
                "Referer": CANARY,
            },
        ),
        ("GET", f"/v1/{CANARY}?q={CANARY}", None, {}),
        ("POST", f"/v1/triage?name={CANARY}", {}, {}),
    ]
    return requests


def test_no_canary_in_logs_in_process(
    capsys: pytest.CaptureFixture[str], app_factory: AppFactory
) -> None:
    """In-process, including a request that takes the 500 path."""
    app: Flask = app_factory()
    client = app.test_client()
    capsys.readouterr()
    for method, path, body, headers in _canary_requests():
        client.open(path, method=method, json=body, headers=headers)
    triage = app.extensions["triage"]

    def failing(_facts: object) -> list[str]:
        raise EngineError(f"Could not assert fact {CANARY}")

    triage.engine.evaluate = failing
    response = client.post("/v1/triage", json={"symptoms": {"pain_nrs": 3}})
    assert response.status_code == 500
    out = capsys.readouterr()
    assert '"status":500' in out.out
    assert CANARY not in out.out + out.err


def test_methods_are_logged_from_an_allow_list(
    client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """A standard method is logged by name; any other is '(other)', never the client's text."""
    capsys.readouterr()
    client.open("/v1/triage", method="PATCH")
    client.open("/v1/triage", method=CANARY.upper())
    assert [line["method"] for line in _lines(capsys)] == ["PATCH", "(other)"]


@pytest.mark.parametrize(
    ("msg", "args", "logged"),
    [
        # gunicorn's worker (a failed request, and a worker timeout under the sync worker)
        (
            "Error handling request %s %s",
            ("GET", f"/v1/x?{CANARY}"),
            "Error handling request (GET)",
        ),
        ("Error handling request %s %s", (CANARY.upper(), "/"), "Error handling request ((other))"),
        ("Error handling request %s", (f"/{CANARY}",), "Error handling request"),
        (
            f"Invalid request from ip=127.0.0.1: Invalid HTTP request line: 'G@T /{CANARY}'",
            (),
            None,
        ),
        ("Ignored premature client disconnection. %s", (f"GET /{CANARY}",), None),
        ("Parent changed, shutting down: %s", (object(),), None),
        ("WORKER TIMEOUT (pid:%s)", (123,), "WORKER TIMEOUT (pid:123)"),
        ("Listening at: %s (%s)", ("http://127.0.0.1:8000", 7), None),
        (ValueError(CANARY), (), "(ValueError)"),
    ],
)
def test_gunicorn_messages_lose_request_text(msg: Any, args: Any, logged: str | None) -> None:
    """Only pids, addresses and the like stay in gunicorn's messages; methods are allow-listed."""
    record = logging.LogRecord("gunicorn.error", logging.ERROR, __file__, 1, msg, args, None)
    line = json.loads(JsonLineFormatter().format(record))
    assert CANARY.lower() not in line["event"].lower()
    if logged is not None:
        assert line["event"] == logged
    assert (line["logger"], line["log_level"]) == ("gunicorn.error", "error")


def test_an_exception_is_logged_as_its_type_and_frames() -> None:
    """Never its message, which may quote the request."""
    try:
        raise RuntimeError(f"failed on /v1/{CANARY}")
    except RuntimeError:
        record = logging.LogRecord(
            "gunicorn.error",
            logging.ERROR,
            __file__,
            1,
            "Error handling request",
            (),
            sys.exc_info(),
        )
    line = json.loads(JsonLineFormatter().format(record))
    assert line["exception_type"] == "RuntimeError"
    assert line["frames"][-1].startswith("tests/http/test_request_log.py:")
    assert CANARY not in json.dumps(line)


def test_one_write_per_line_and_none_longer_than_a_pipe_takes_whole() -> None:
    """Record and newline in one os.write; a record past PIPE_BUF is cut to its short fields."""
    read, write = os.pipe()
    try:
        with os.fdopen(os.dup(write), "w") as stream:
            write_line(stream, b'{"event":"short"}')
            write_line(
                stream, orjson.dumps({"event": "long", "rules": ["UR1"] * 2000, "status": 1})
            )
        chunk = os.read(read, 65536)
    finally:
        os.close(read)
        os.close(write)
    first, second, rest = chunk.split(b"\n")
    assert (json.loads(first), rest) == ({"event": "short"}, b"")
    assert len(second) < LINE_LIMIT
    assert json.loads(second) == {"truncated": True, "event": "long", "status": 1}


def _records(output: bytes) -> list[dict[str, Any]]:
    """Every line of the server's output as a JSON object; a line that is not one fails."""
    assert output.endswith(b"\n"), output[-200:]
    records = []
    for line in output.split(b"\n")[:-1]:
        record = json.loads(line)  # a torn line, or text that is not JSON, fails here
        assert isinstance(record, dict)
        assert isinstance(record["event"], str)
        records.append(record)
    return records


def _canary_raw_requests() -> list[bytes]:
    """Requests with the canary everywhere, down every error path of the server and the app.

    The canary is in the method, path, query, header names and values and body; requests
    gunicorn rejects itself, ones it refuses by RFC 9112 (Host, version, transfer coding),
    bodies whose framing breaks while the application reads them, and faults in the application
    (tests/helpers/faulty_wsgi.py) at each level: a view, an after-request hook, the WSGI callable.
    """
    upper = CANARY.upper()
    path = f"/v1/{CANARY}?{CANARY}={CANARY}"
    body = json.dumps({"symptoms": {CANARY: CANARY}})

    def post(head: str, payload: str = body, target: str = "/v1/triage?q=" + CANARY) -> bytes:
        return (
            f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"User-Agent: {CANARY}\r\n{head}Content-Length: {len(payload)}\r\n"
            f"Connection: close\r\n\r\n{payload}"
        ).encode()

    def chunked(chunks: str, target: str = "/v1/triage?q=" + CANARY) -> bytes:
        return (
            f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Transfer-Encoding: chunked\r\nX-Note: {CANARY}\r\nConnection: close\r\n\r\n"
            f"{chunks}"
        ).encode()

    return [
        # gunicorn's parser refuses these itself
        f"G@T /{CANARY}?{CANARY} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        f"GET /{CANARY} HTTP/1.{CANARY}\r\nHost: x\r\n\r\n".encode(),
        f"GET {path} HTTP/1.1\r\nHost: x\r\n{CANARY} bad: x\r\n\r\n".encode(),
        f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Big: {CANARY * 1000}\r\n\r\n".encode(),
        f"GET /{CANARY * 500} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        # refused by RFC 9112: no Host, HTTP/1.2, an unknown transfer coding
        f"GET {path} HTTP/1.1\r\nX-Note: {CANARY}\r\n\r\n".encode(),
        f"GET {path} HTTP/1.2\r\nHost: x\r\n\r\n".encode(),
        post(f"Transfer-Encoding: {CANARY}, chunked\r\n").replace(b"Content-Length", b"X-CL"),
        # a method that is not a standard one reaches the application (405)
        f"{upper} /v1/triage?{CANARY} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
        # the body's framing fails while the application reads it
        chunked(f"{CANARY}\r\n{body}\r\n0\r\n\r\n"),
        chunked(f"{len(body):x}\r\n{body}{CANARY}0\r\n\r\n"),
        chunked(f"{len(body):x};{CANARY}=\r\n{body}\r\n0\r\n\r\n"),
        # faults in the application, each quoting the request in its exception
        post(f"X-Fault: view\r\nX-Note: {CANARY}\r\n"),
        post(f"X-Fault: after\r\nX-Note: {CANARY}\r\n"),
        post(f"X-Fault: wsgi\r\nX-Note: {CANARY}\r\n"),
        post("X-Fault: view\r\n", target=path),
        post("X-Fault: wsgi\r\n", target=path),
    ]


def _cut_short(server: piped_server.PipedServer) -> None:
    """A body that stops halfway: the client closes its side before the rest is sent."""
    head = (
        f"POST /v1/triage?{CANARY} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f'Content-Length: 1000\r\n\r\n{{"symptoms": {{"{CANARY}": '
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head)
        sock.shutdown(socket.SHUT_WR)
        with contextlib.suppress(OSError):
            sock.recv(65536)


def _wait_for(server: piped_server.PipedServer, text: bytes, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while text not in server.output():
        assert time.monotonic() < deadline, f"{text!r} never logged"
        time.sleep(0.1)


@pytest.mark.system
def test_no_canary_in_the_real_servers_output() -> None:
    """Through gunicorn, on every path (its own logs included), nothing of a canary is written.

    Paths: answers, 4xx of every kind, requests gunicorn rejects, framing failures while the
    body is read, exceptions in a view, in an after-request hook (Flask's own logger) and in
    the WSGI callable (gunicorn's "Error handling request"), and a worker timeout. Every line of
    the output is also a whole JSON record.
    """
    server = piped_server.start("tests.helpers.faulty_wsgi:app", args=["--timeout", "3"])
    try:
        server.wait_ready()
        for method, path, body, headers in _canary_requests():
            status, _ = request(server.base, method, path, body, headers)
            assert status in (404, 422, 200)
        statuses = []
        for raw in _canary_raw_requests():
            answer = server.raw(raw)
            statuses.append(int(answer.split(b" ", 2)[1]) if answer else 0)
            assert CANARY.lower().encode() not in answer.lower()
        assert statuses == [
            *(400, 400, 400, 431, 414),
            *(400, 505, 501),
            405,
            *(400, 400, 400),
            *(500, 500, 500, 500, 500),
        ]
        _cut_short(server)
        # A worker timeout: the request holds its worker's event loop until the master kills it.
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(
                f"GET /v1/rules?{CANARY} HTTP/1.1\r\nHost: x\r\nX-Fault: spin\r\n"
                f"X-Note: {CANARY}\r\n\r\n".encode()
            )
            _wait_for(server, b"WORKER TIMEOUT", 20)
            with contextlib.suppress(OSError):
                sock.recv(65536)
        server.wait_ready()  # the replacement worker answers
    finally:
        output = server.stop()
    records = _records(output)
    events = {str(record["event"]) for record in records}
    assert "request" in events
    assert "Invalid request rejected by the HTTP parser" in events
    assert "Error handling request (POST)" in events  # gunicorn's, for the WSGI fault
    assert "unhandled exception in Flask" in events  # Flask's logger, for the after-request fault
    assert "unhandled exception while answering" in events  # the service's, for the view fault
    assert any(event.startswith("WORKER TIMEOUT") for event in events)
    assert {"(other)", "POST", "GET"} <= {str(r.get("method")) for r in records if "method" in r}
    assert any(record.get("exception_type") == "FaultError" for record in records)
    assert CANARY.lower().encode() not in output.lower()


VIGNETTES = vignettes()


def _drive(base: str, port: int, count: int) -> list[int]:
    """One client's requests: answers, 4xx of the app and of gunicorn, a batch; statuses."""
    intake = VIGNETTES[count % len(VIGNETTES)].intake
    statuses = []
    for index in range(count):
        kind = index % 6
        if kind == 0:
            statuses.append(request(base, "POST", "/v1/triage", intake)[0])
        elif kind == 1:
            statuses.append(request(base, "POST", "/v1/triage", {"symptoms": {"fevr": 1}})[0])
        elif kind == 2:
            statuses.append(request(base, "GET", "/v1/nowhere")[0])
        elif kind == 3:
            statuses.append(request(base, "POST", "/v1/triage/batch", {"intakes": [intake] * 8})[0])
        elif kind == 4:
            statuses.append(request(base, "GET", "/healthz")[0])
        else:  # rejected by gunicorn itself: a line in its error log
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n")
                statuses.append(int(sock.recv(65536).split(b" ", 2)[1]))
    return statuses


@pytest.mark.system
def test_no_torn_line_under_concurrency_with_the_images_environment() -> None:
    """32 clients against 4 workers, stdout and stderr in one pipe, the Dockerfile's ENV
    (PYTHONUNBUFFERED=1): every line the server writes is one whole JSON record."""
    env = {"PATH": os.environ["PATH"], **piped_server.image_environment()}
    assert env["PYTHONUNBUFFERED"] == "1"
    server = piped_server.start(env=env, workers=4)
    clients, each = 32, 60
    try:
        server.wait_ready()
        with ThreadPoolExecutor(clients) as pool:
            runs = [pool.submit(_drive, server.base, server.port, each) for _ in range(clients)]
            statuses = [status for run in runs for status in run.result(timeout=120)]
    finally:
        output = server.stop()
    # 503: shed by the worker under this load (service/http/gevent_worker.py), before the app.
    assert {200, 400, 404, 422} <= set(statuses) <= {200, 400, 404, 422, 503}
    records = _records(output)  # 0 torn: every line parses
    requests = [r for r in records if r["event"] == "request" and r["route"] != "/readyz"]
    assert len(requests) == sum(status in (200, 404, 422) for status in statuses)
    assert sum(r["event"].startswith("Invalid request rejected") for r in records) >= clients * 10


@pytest.mark.parametrize(
    "nanoseconds",
    [
        0,
        999,
        1_000,
        1_764_000_000_000_000_000,
        1_764_000_000_999_999_999,
        1_764_000_001_000_123_456,
    ],
)
def test_the_timestamp_is_datetimes_isoformat(
    monkeypatch: pytest.MonkeyPatch, nanoseconds: int
) -> None:
    """utc_timestamp writes datetime.now(UTC).isoformat() with Z: microseconds floored, left
    out when zero, the cached second replaced when the clock moves on."""
    expected = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=nanoseconds // 1000)
    monkeypatch.setattr(request_log.time, "time_ns", lambda: nanoseconds)
    assert request_log.utc_timestamp() == expected.isoformat().replace("+00:00", "Z")


def test_the_request_id_is_a_version_4_uuid() -> None:
    made = [request_log.new_uuid4() for _ in range(400)]
    for text in made:
        parsed = uuid.UUID(text)
        assert (str(parsed), parsed.version, parsed.variant) == (text, 4, uuid.RFC_4122)
    assert {text[19] for text in made} == set("89ab")  # every variant digit occurs
    assert len(set(made)) == len(made)


def test_one_request_id_header_however_the_answer_was_made() -> None:
    """The wrapper echoes the id the app left, replacing any X-Request-ID a view set, and adds
    none when the app left none."""

    def view(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ.get("leave"):  # the app's hook does this before the answer starts
            environ[REQUEST_ID_ENVIRON] = "the-id"
        start_response("200 OK", [("X-Request-ID", "from-view"), ("Content-Type", "text/plain")])
        return [b""]

    started: list[list[tuple[str, str]]] = []
    app = with_security_headers(view)
    for leave in (True, False):
        app({"leave": leave}, lambda status, headers, exc_info=None: started.append(headers))
    with_id, without = started
    assert [v for k, v in with_id if k == "X-Request-ID"] == ["the-id"]
    assert with_id[:2] == [("Content-Type", "text/plain"), ("X-Request-ID", "the-id")]
    assert [v for k, v in without if k == "X-Request-ID"] == ["from-view"]
    assert with_id[2:] == without[2:] == list(SECURITY_HEADERS)
