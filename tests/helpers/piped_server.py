"""The real gunicorn server with its stdout and stderr read through one pipe, as a container's.

tools/live_server.py writes the output to a file; here master and workers share one pipe, the
way a container runtime collects them, so that a record written in two pieces by one process
can have another's line land in between (a torn line), as it did in production.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import ROOT
from tests.helpers.image_run import parse_dockerfile
from tools.live_server import free_port, request


def image_environment() -> dict[str, str]:
    """The ENV of the Dockerfile's runtime stage (PYTHONUNBUFFERED=1 among them)."""
    return parse_dockerfile((ROOT / "Dockerfile").read_text(encoding="utf-8")).env


@dataclass
class PipedServer:
    """A gunicorn master whose whole output is collected from one pipe by a thread."""

    process: subprocess.Popen[bytes]
    base: str
    chunks: list[bytes] = field(default_factory=list)
    reader: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    def output(self) -> bytes:
        """Everything read from the pipe so far."""
        return b"".join(self.chunks)

    def wait_ready(self, seconds: float = 30) -> None:
        """Until /readyz answers 200, or fail if the server exits first."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited early:\n{self.output().decode()}")
            try:
                if request(self.base, "GET", "/readyz", timeout=2)[0] == 200:
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        raise AssertionError("gunicorn was not ready in time")

    def stop(self, timeout: float = 40) -> bytes:
        """SIGTERM, wait for the exit and for the pipe's end; the whole output."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.reader is not None:
            self.reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.output()

    def raw(self, data: bytes, timeout: float = 10) -> bytes:
        """Send bytes on a new connection; everything answered until the server closes it."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(data)
            received = b""
            try:
                while chunk := sock.recv(65536):
                    received += chunk
            except (ConnectionResetError, TimeoutError):
                pass
        return received


def start(
    app: str = "service.wsgi:app",
    env: dict[str, str] | None = None,
    args: Sequence[str] = (),
    workers: int = 2,
) -> PipedServer:
    """gunicorn with gunicorn.conf.py on 127.0.0.1 and a free port; `args` follow the config.

    env: the environment (this process's when None); HOST, PORT, WEB_CONCURRENCY and a fresh
    metrics folder are set on top of it.
    """
    port = free_port()
    metrics = Path(tempfile.mkdtemp(prefix="triage-test-metrics-")) / "metrics"
    full_env = {
        **(dict(os.environ) if env is None else env),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *args, app],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    server = PipedServer(process, f"http://127.0.0.1:{port}")

    def read() -> None:
        assert process.stdout is not None
        while chunk := os.read(process.stdout.fileno(), 65536):
            server.chunks.append(chunk)

    server.reader = threading.Thread(target=read, daemon=True)
    server.reader.start()
    return server
