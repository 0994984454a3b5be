"""gunicorn settings for forefoot-triage; HOST, PORT, WEB_CONCURRENCY come from the environment."""

import os
import re
import shutil
import tempfile

from service.server_errors import RedactingLogger, install


def _setting(name: str, default: str, pattern: str) -> str:
    value = os.environ.get(name, default)
    if not re.fullmatch(pattern, value):
        raise SystemExit(f"forefoot-triage: {name}={value!r} is not valid")
    return value


_port = int(_setting("PORT", "8000", r"\d{1,5}"))
if not 1 <= _port <= 65535:
    raise SystemExit(f"forefoot-triage: PORT={_port} is out of range")
_host = _setting("HOST", "127.0.0.1", r"[A-Za-z0-9.:\[\]-]{1,255}")
bind = f"{_host}:{_port}"
# Processes are how this service scales: the engine is CPU-bound, never releases the GIL and is
# not thread-safe, so each sync worker evaluates one request at a time (dependencies.md 1.6).
workers = int(_setting("WEB_CONCURRENCY", "2", r"[1-9]\d{0,2}"))
worker_class = "sync"
# The app is built once in the master, so a broken rules folder stops the server before any
# worker answers. Safe with durable-rules only because the adapter starts no timer threads.
preload_app = True
timeout = 30
graceful_timeout = 30
keepalive = 2
# Workers are not recycled (max_requests 0): `make soak` shows flat memory over 100,000
# requests, and each recycled worker would leave its metric files behind in the tmpfs.
max_requests = 0
# No runtime control socket: nothing here is managed at run time, and it would be written under
# $HOME, which a read-only container root forbids.
control_socket_disable = True
# The access log is off: it records URLs and client details. The application writes one JSON
# line per request with ids and outcomes only.
accesslog = None
errorlog = "-"
loglevel = "info"
# gunicorn's own messages about rejected requests quote the request line: redacted.
logger_class = RedactingLogger
# Requests gunicorn itself rejects (request line too long, malformed headers…) are answered
# as problem+json like every other error, never as gunicorn's HTML page.
install()

# Prometheus multiprocess mode: every worker writes its metrics to files in this folder, which
# must exist, be empty at start and be set before prometheus_client is imported (the app is
# preloaded after this file runs). Containers point it at a tmpfs (/tmp is the one writable path).
_metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="triage-metrics-")
)


def on_starting(server):
    """Start with an empty metrics folder: stale files would add a previous run's counts."""
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(server, worker):
    """A dead worker's live gauges are dropped; its counters stay in the totals."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
