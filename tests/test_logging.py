"""One JSON log line per request, with ids and outcomes only: no patient data, ever."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.errors import EngineError
from service.findings import FINDINGS
from tests.live_server import request, start

CANARY = "CanaryZq7"


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_one_json_line_per_request(client: FlaskClient, capsys: pytest.CaptureFixture[str]) -> None:
    """decision_id, method, route, status, duration, level, urgency, rules, ruleset version."""
    capsys.readouterr()
    response = client.post("/v1/triage", json={"symptoms": {"pain_nrs": 8, "onset": "gradual"}})
    (line,) = _lines(capsys)
    body = response.get_json()
    assert line["event"] == "request"
    assert line["decision_id"] == body["decision_id"] == response.headers["X-Request-ID"]
    assert (line["method"], line["route"], line["status"]) == ("POST", "/v1/triage", 200)
    assert line["duration_ms"] > 0
    assert (line["level"], line["urgency"]) == (body["level"], body["urgency"])
    assert line["rules"] == [entry["rule_id"] for entry in body["rationale"]]
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


def test_no_canary_in_logs_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    """In-process, including a request that takes the 500 path."""
    app: Flask = create_app()
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


def test_no_canary_in_the_real_servers_output() -> None:
    """Through gunicorn (its own logs included), nothing of the canaries is written anywhere."""
    live = start()
    try:
        live.wait_ready()
        for method, path, body, headers in _canary_requests():
            status, _ = request(live.base, method, path, body, headers)
            assert status in (404, 422, 200)
        host, port = live.base.removeprefix("http://").split(":")
        import socket

        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(f"G@T /{CANARY} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            sock.recv(4096)
    finally:
        live.stop()
    log = live.log()
    assert '"event":"request"' in log
    assert "Invalid request rejected" in log
    assert CANARY not in log
