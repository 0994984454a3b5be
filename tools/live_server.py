"""Start the real gunicorn server on 127.0.0.1 and a free port (tests, bench, make soak)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# What `make run` gives gunicorn (tests/contract/test_readme.py checks the Makefile against it).
GUNICORN_ARGS = ("-c", "gunicorn.conf.py", "service.wsgi:app")


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    """A gunicorn master with its workers; output goes to a file the test can read."""

    process: subprocess.Popen[bytes]
    base: str
    output: Path
    metrics_dir: Path
    extra: dict[str, str] = field(default_factory=dict)

    def log(self) -> str:
        """Everything the server wrote so far (stdout and stderr)."""
        return self.output.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, seconds: float = 20) -> None:
        """Until /readyz answers 200, or fail if the server exits first."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                status = self.process.returncode
                raise AssertionError(f"gunicorn exited early (status {status}):\n{self.log()}")
            try:
                status, _ = request(self.base, "GET", "/readyz")
                if status == 200:
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        raise AssertionError("gunicorn was not ready in time")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 40) -> int:
        """Signal the master and wait for it to exit; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def start(
    env_extra: dict[str, str] | None = None,
    workers: int = 2,
    prefix: Sequence[str] = (),
    metrics_dir: Path | None = None,
) -> LiveServer:
    """gunicorn as `make run` starts it, on a free port, with its own metrics folder.

    The metrics folder does not exist yet (gunicorn creates it, as in a container); `prefix`
    runs the server under another command (e.g. `unshare` with its own mounts).
    """
    port = free_port()
    handle, name = tempfile.mkstemp(prefix="triage-server-", suffix=".log")
    os.close(handle)
    if metrics_dir is None:
        metrics_dir = Path(tempfile.mkdtemp(prefix="triage-test-metrics-")) / "metrics"
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        **(env_extra or {}),
    }
    with open(name, "wb") as out:
        process = subprocess.Popen(
            [
                *prefix,
                sys.executable,
                "-m",
                "gunicorn",
                *GUNICORN_ARGS,
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return LiveServer(process, f"http://127.0.0.1:{port}", Path(name), metrics_dir, env_extra or {})


def request(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> tuple[int, Any]:
    """One HTTP request; (status, parsed JSON body or text)."""
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    req = urllib.request.Request(  # noqa: S310 (loopback only)
        base + path, data=data, headers=all_headers, method=method
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", errors="replace")
