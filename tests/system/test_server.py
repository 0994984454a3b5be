"""The real gunicorn server on 127.0.0.1: it answers, and it refuses to start on broken rules."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import EXAMPLE, ROOT, RULES


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(env_extra: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "2"}
    env.update(env_extra)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "service.wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    return process, f"http://127.0.0.1:{port}"


def _wait_ready(base: str, process: subprocess.Popen[bytes], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("gunicorn exited before it was ready")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise AssertionError("gunicorn was not ready in time")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """gunicorn with 2 sync workers, as `make run` starts it, stopped with SIGTERM."""
    process, base = _start({})
    try:
        _wait_ready(base, process)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)  # drains and closes the output pipe


def _post(base: str, body: bytes, content_type: str = "application/json") -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310
        f"{base}/v1/triage", data=body, headers={"Content-Type": content_type}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_server_answers_the_readme_example(server: str) -> None:
    """The README's example through gunicorn: Ottawa positive, urgent."""
    status, body = _post(server, json.dumps(EXAMPLE).encode())
    assert status == 200
    assert (body["level"], body["urgency"]) == ("orthopedic_surgeon", "urgent")


def test_server_answers_problems_not_html(server: str) -> None:
    """Through the real server too, errors are problem+json."""
    status, body = _post(server, b"{not json")
    assert status == 400
    assert body["status"] == 400


def test_server_refuses_to_start_on_broken_rules(tmp_path: Path) -> None:
    """A broken rules folder never starts a service that answers: gunicorn exits, naming it."""
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    pain = folder / "pain.yaml"
    pain.write_text(pain.read_text().replace("Y(pain_at_rest_or_night)", "Y(night_pain)"))
    process, base = _start({"TRIAGE_RULES_DIR": str(folder)})
    output, _ = process.communicate(timeout=30)
    assert process.returncode != 0
    text = output.decode()
    assert "pain.yaml: rule SN7: unknown finding 'night_pain'" in text
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{base}/healthz", timeout=1)  # noqa: S310


def test_server_refuses_to_start_on_bad_settings() -> None:
    """A bad TRIAGE_* value stops the server with a clear message."""
    process, _ = _start({"TRIAGE_MAX_BODY_BYTES": "lots"})
    output, _ = process.communicate(timeout=30)
    assert process.returncode != 0
    assert "TRIAGE_MAX_BODY_BYTES must be a whole number of bytes" in output.decode()


def _raw(base: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes and read the whole answer (the server closes the connection)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return int(status_line.split()[1]), headers, body


def _chunked(body: bytes) -> bytes:
    return (
        b"POST /v1/triage HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + f"{len(body):x}".encode()
        + b"\r\n"
        + body
        + b"\r\n0\r\n\r\n"
    )


def test_chunked_body_over_the_limit_is_413_not_truncated(server: str) -> None:
    """Without Content-Length, a body past 64 KiB is refused, never cut short and answered."""
    body = b'{"symptoms": {"pain_nrs": 3}}' + b" " * 70000 + b"garbage"
    status, headers, _ = _raw(server, _chunked(body))
    assert status == 413
    assert headers["content-type"] == "application/problem+json"


def test_chunked_body_within_the_limit_is_answered(server: str) -> None:
    """A chunked intake under the limit is read whole."""
    status, _, body = _raw(server, _chunked(json.dumps(EXAMPLE).encode()))
    assert status == 200
    assert json.loads(body)["urgency"] == "urgent"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"G@T /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
    ],
    ids=["request line too long", "invalid method", "header too large"],
)
def test_server_level_errors_are_problem_json(
    server: str, request_bytes: bytes, status: int
) -> None:
    """Requests gunicorn rejects itself get problem+json, never its HTML page or an echo."""
    got, headers, body = _raw(server, request_bytes)
    assert got == status
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == status
    assert b"G@T" not in body
    assert b"<html" not in body.lower()


@pytest.mark.parametrize(
    ("variable", "value"), [("PORT", "80a"), ("PORT", "70000"), ("WEB_CONCURRENCY", "0")]
)
def test_server_refuses_bad_server_settings(variable: str, value: str) -> None:
    """HOST, PORT and WEB_CONCURRENCY are checked before gunicorn starts."""
    process, _ = _start({variable: value})
    output, _ = process.communicate(timeout=30)
    assert process.returncode != 0
    assert f"forefoot-triage: {variable}=" in output.decode()


def test_no_server_version_banner(server: str) -> None:
    """The Server header names no version; security headers are on every answer."""
    status, headers, _ = _raw(
        server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status == 200
    assert not any(char.isdigit() for char in headers.get("server", ""))
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
