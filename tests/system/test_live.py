"""The real gunicorn server under load, signals and worker death; all on 127.0.0.1, bounded."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
import urllib.error
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import vignettes
from tools.live_server import LiveServer, request, start

# Every third vignette: adults and children, with and without a clinician's review.
INTAKES = [v.intake for v in vignettes()][::3]


def _stable(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "decision_id"}


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    """Two sync workers, as `make run` starts them."""
    live = start()
    try:
        live.wait_ready()
        yield live
    finally:
        live.stop()


def test_concurrent_clients_get_the_serial_answers(server: LiveServer) -> None:
    """16 concurrent clients, 320 requests: each answer equals the one a serial call got."""
    serial = [_stable(request(server.base, "POST", "/v1/triage", body)[1]) for body in INTAKES]

    def client(offset: int) -> list[tuple[int, int, dict[str, Any]]]:
        results = []
        for step in range(20):
            index = (offset + step) % len(INTAKES)
            status, answer = request(server.base, "POST", "/v1/triage", INTAKES[index])
            results.append((index, status, _stable(answer)))
        return results

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = [r for rs in pool.map(client, range(16)) for r in rs]
    assert len(outcomes) == 320
    assert all(status == 200 for _, status, _ in outcomes)
    assert all(answer == serial[index] for index, _, answer in outcomes)


def _children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(child) for child in path.read_text().split()}


def test_killed_worker_is_replaced(server: LiveServer) -> None:
    """SIGKILL one worker: the master starts another and requests keep succeeding."""
    before = _children(server.process.pid)
    assert len(before) == 2
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    for _ in range(30):
        status, _ = request(server.base, "POST", "/v1/triage", INTAKES[0])
        assert status == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        after = _children(server.process.pid)
        if len(after) == 2 and victim not in after:
            break
        time.sleep(0.1)
    assert len(after) == 2
    assert victim not in after


def test_sigterm_lets_in_flight_requests_finish() -> None:
    """SIGTERM while requests are in flight: each one already sent gets its 200."""
    live = start()
    try:
        live.wait_ready()
        host, port = live.base.removeprefix("http://").split(":")
        body = json.dumps(INTAKES[1]).encode()
        # A request whose body is only half sent when the signal arrives: certainly in flight.
        half = len(body) // 2
        sock = socket.create_connection((host, int(port)), timeout=20)
        sock.sendall(
            b"POST /v1/triage HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body[:half]
        )
        statuses: list[int | str] = []
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                try:
                    statuses.append(request(live.base, "POST", "/v1/triage", INTAKES[2])[0])
                except (urllib.error.URLError, ConnectionError) as error:
                    statuses.append(type(error).__name__)
                    return

        threads = [threading.Thread(target=load) for _ in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        live.process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        sock.sendall(body[half:])
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        sock.close()
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        assert live.process.wait(timeout=40) == 0
    finally:
        live.stop()
    assert answer.startswith(b"HTTP/1.1 200 ")
    answered = [s for s in statuses if isinstance(s, int)]
    assert len(answered) > 10
    assert set(answered) == {200}
    # Connections made after the signal are refused, or reset if they were still queued in the
    # kernel's backlog when the last worker closed the socket: never accepted, never answered
    # wrongly. (In Kubernetes the preStop pause drains traffic before SIGTERM arrives.)
    failures = {s for s in statuses if isinstance(s, str)}
    assert failures <= {"URLError", "ConnectionRefusedError", "ConnectionResetError"}


def test_no_answer_before_the_ruleset_is_ready() -> None:
    """From the first moment, the server either refuses connections or is ready: never half."""
    live = start()
    seen: list[int | str] = []
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and 200 not in seen:
            try:
                status, body = request(live.base, "GET", "/readyz", timeout=2)
                seen.append(status)
                if status == 200:
                    assert body["ruleset"]["sha256"]
            except (urllib.error.URLError, ConnectionError):
                seen.append("refused")
                time.sleep(0.01)
    finally:
        live.stop()
    assert seen[-1] == 200
    assert set(seen) <= {"refused", 200}


def test_metrics_add_up_across_two_workers() -> None:
    """/metrics merges both workers' counts: N triages are N, whichever worker answered."""
    live = start()
    sent = 0
    try:
        live.wait_ready()
        # Concurrent batches until both workers have answered (each writes its own file).
        with ThreadPoolExecutor(max_workers=8) as pool:
            while sent < 800 and len(list(live.metrics_dir.glob("counter_*.db"))) < 2:
                batch = [INTAKES[(sent + i) % len(INTAKES)] for i in range(40)]
                statuses = pool.map(lambda b: request(live.base, "POST", "/v1/triage", b)[0], batch)
                assert set(statuses) == {200}
                sent += len(batch)
        request(live.base, "POST", "/v1/triage", {"symptoms": {"fevr": "yes"}})
        status, text = request(live.base, "GET", "/metrics")
        files = sorted(p.name for p in live.metrics_dir.glob("counter_*.db"))
    finally:
        live.stop()
    assert status == 200
    assert len(files) == 2, "both workers answered and wrote their counts"
    samples = _samples(text)
    assert samples[("triage_responses_total", (("route", "/v1/triage"), ("status", "200")))] == sent
    assert samples[("triage_responses_total", (("route", "/v1/triage"), ("status", "422")))] == 1
    decisions = [v for (name, _), v in samples.items() if name == "triage_decisions_total"]
    assert sum(decisions) == sent
    assert (
        samples[("triage_request_duration_seconds_count", (("route", "/v1/triage"),))] == sent + 1
    )
    assert any(name == "triage_rule_fires_total" for name, _ in samples)
    assert samples[("triage_clinician_review_total", ())] >= 1


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found
