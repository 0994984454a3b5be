"""CDS Hooks replay detection across the workers of the real gunicorn server (127.0.0.1 only).

Tokens are signed here and verified against a JWKS served by a thread (as in
tests/interop/test_cds_security.py); every call is a new connection, so the kernel spreads them
over the workers. Every server is stopped in a finally block.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from tests.helpers.cds import call as cds_call
from tests.helpers.cds import qr
from tests.interop.test_cds_security import (
    FHIR_BASE,
    ISSUER,
    PUBLIC,
    RSA_KEY,
    SERVICE,
    VIGNETTES,
    JwksServer,
    _jwk,
    _token,
)
from tools import live_server
from tools.live_server import LiveServer

BODY = cds_call(qr(VIGNETTES[0].intake))
SENDS = 40  # the same token, each over a new connection


@pytest.fixture(scope="module")
def jwks() -> Iterator[JwksServer]:
    server = JwksServer()
    server.jwks = {"keys": [_jwk(RSA_KEY, "rsa-1", "RS384")]}
    yield server
    server.close()


def _environment(jwks: JwksServer, **extra: str) -> dict[str, str]:
    return {
        "TRIAGE_CDS_ISSUERS": json.dumps({ISSUER: jwks.url}),
        "TRIAGE_PUBLIC_URL": PUBLIC,
        "TRIAGE_FHIR_BASE": FHIR_BASE,
        **extra,
    }


def _send(live: LiveServer, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return live_server.request(live.base, "POST", SERVICE, BODY, headers)[0]


def _log_lines(live: LiveServer) -> list[dict[str, Any]]:
    lines = []
    for line in live.log().splitlines():
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            lines.append(parsed)
    return lines


def _workers(live: LiveServer) -> set[int]:
    pid = live.process.pid
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def _replays_by_worker(live: LiveServer) -> dict[int, int]:
    """401 answers per worker pid, from each worker's own metric file (this test's only 401s
    are replays; the app's log lines carry no pid)."""
    counts: dict[int, int] = {}
    for path in live.metrics_dir.glob("counter_*.db"):
        pid = path.stem.removeprefix("counter_")
        if not pid.isdigit():
            continue
        for family in MultiProcessCollector.merge([str(path)]):  # type: ignore[no-untyped-call]
            for sample in family.samples:
                if sample.name == "triage_responses_total" and sample.labels["status"] == "401":
                    counts[int(pid)] = counts.get(int(pid), 0) + int(sample.value)
    return {pid: count for pid, count in counts.items() if count}


def test_a_token_is_accepted_once_whichever_worker_it_reaches(jwks: JwksServer) -> None:
    """Two workers; each token sent 40 times over new connections, 8 at a time: exactly one
    200, every other 401, and both workers refused replays. The replay window also holds for
    a worker started after another was killed (the file stays with the master)."""
    live = live_server.start(_environment(jwks), workers=2)
    try:
        live.wait_ready()
        tokens = []
        with ThreadPoolExecutor(max_workers=8) as pool:
            for _ in range(5):  # until both workers have refused a replay (usually at once)
                token = _token()
                tokens.append(token)
                statuses = list(pool.map(lambda t: _send(live, t), [token] * SENDS))
                assert sorted(statuses) == [200] + [401] * (SENDS - 1)
                if len(_replays_by_worker(live)) == 2:
                    break
        assert set(_replays_by_worker(live)) == _workers(live), "both workers saw a replay"
        assert "already used" in json.dumps(
            live_server.request(
                live.base, "POST", SERVICE, BODY, {"Authorization": f"Bearer {tokens[0]}"}
            )[1]
        )

        # A worker killed and replaced: the new one still refuses the tokens used before.
        before = _workers(live)
        os.kill(min(before), signal.SIGKILL)
        deadline = time.monotonic() + 20
        while len(_workers(live) - before) < 1 or len(_workers(live)) < 2:
            assert time.monotonic() < deadline, "no worker replaced the killed one"
            time.sleep(0.05)
        new = (_workers(live) - before).pop()
        deadline = time.monotonic() + 20
        with ThreadPoolExecutor(max_workers=8) as pool:
            while time.monotonic() < deadline:  # until the new worker has answered some
                statuses = list(pool.map(lambda t: _send(live, t), tokens * 4))
                assert set(statuses) == {401}
                if new in _replays_by_worker(live):
                    break
        assert new in _replays_by_worker(live), "the new worker refused a replay"
        fresh = _token()
        assert sorted(_send(live, fresh) for _ in range(4)) == [200, 401, 401, 401]
        for token in tokens:
            assert token.split(".")[2] not in live.log()
    finally:
        live.stop()


def test_an_unusable_replay_folder_refuses_tokens_and_nothing_else(
    jwks: JwksServer, tmp_path: Path
) -> None:
    """TRIAGE_CDS_REPLAY_DIR that cannot be a folder: the server starts, CDS calls with a
    token are 503 (never accepted unprotected), /v1 still answers; one log line per worker."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    live = live_server.start(
        _environment(jwks, TRIAGE_CDS_REPLAY_DIR=str(blocker / "replay")), workers=2
    )
    try:
        live.wait_ready()
        token = _token()
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda _: _send(live, token), range(20)))
        assert set(statuses) == {503}
        assert _send(live, _token()) == 503
        assert live_server.request(live.base, "POST", "/v1/triage", VIGNETTES[0].intake)[0] == 200
        lines = _log_lines(live)
        assert [line["event"] for line in lines if "replay store not ready" in line["event"]]
        failures = [line for line in lines if "replay store unavailable" in line["event"]]
        assert 1 <= len(failures) <= 2  # logged once per worker, not per call
        assert token.split(".")[2] not in live.log()
    finally:
        live.stop()
