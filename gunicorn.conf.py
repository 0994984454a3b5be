"""gunicorn settings for forefoot-triage; HOST, PORT, WEB_CONCURRENCY come from the environment."""

import os
import re

from service.http import probe_port
from service.http.gunicorn_hooks import (
    HEADER_FIELD_BYTES,
    HEADER_FIELDS,
    RedactingLogger,
    install,
    prepare,
)


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
# HEALTH_PORT (the image: 8001; the Deployment's probes use it): /healthz and /readyz also on a
# port of their own, answered by a thread in each worker, within milliseconds even when a flood
# of connections makes the service port's queue seconds long (service/http/probe_port.py). Unset,
# as under `make run`: the probes are on the service port only.
_health = _setting("HEALTH_PORT", "", r"(\d{1,5})?")
if _health and not (1 <= int(_health) <= 65535 and int(_health) != _port):
    raise SystemExit(f"forefoot-triage: HEALTH_PORT={_health} is out of range or the service port")
try:
    _probe_listener = probe_port.open_listener(_host, int(_health)) if _health else None
except OSError as error:
    raise SystemExit(
        f"forefoot-triage: cannot listen on HEALTH_PORT={_health}: {error.strerror}"
    ) from None
# Processes are how this service scales: the engine is CPU-bound and never yields, so each
# worker evaluates one request at a time. Connections are greenlets (gevent): a slow, idle or
# distant client costs a greenlet, never a worker (docs/serving.md).
workers = int(_setting("WEB_CONCURRENCY", "2", r"[1-9]\d{0,2}"))
worker_class = "service.http.gevent_worker.TriageWorker"
# Connections per worker (each a greenlet of a few KiB); past them the kernel queues new ones.
worker_connections = int(_setting("WORKER_CONNECTIONS", "4096", r"[1-9]\d{0,5}"))
# The app is built once in the master, so a broken rules folder stops the server before any
# worker answers. Safe with durable-rules only because the adapter starts no timer threads.
preload_app = True
# The kernel's queue of connections not yet accepted: room for a burst of 2,000 clients and the
# health probes behind them (Linux caps it at net.core.somaxconn, 4096 by default).
backlog = 4096
# A worker whose event loop is blocked this long is restarted by the master.
timeout = 30
# After SIGTERM: in-flight requests and the listen queue are answered within this time.
graceful_timeout = 30
# Seconds a connection may take to send a complete request head, counted from its opening or
# from its previous answer: covers idle keep-alive connections and trickled headers alike.
keepalive = 5
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
# gunicorn's error log as JSON lines, one write each (never torn), without the request text
# its messages quote (request lines, raw URIs, methods): service/http/gunicorn_hooks.py.
logger_class = RedactingLogger
# Request heads (README, Operations): past these, 431. The request line keeps gunicorn's
# default of 4094 bytes (414 past it); the whole header section is at most 32 KiB.
limit_request_fields = HEADER_FIELDS  # 50
limit_request_field_size = HEADER_FIELD_BYTES  # 8190 bytes, name and value
# Requests gunicorn itself rejects (request line too long, malformed headers…) are answered
# as problem+json like every other error, never as gunicorn's HTML page; what RFC 9112 asks
# and gunicorn has no setting for (Host, version, transfer codings) is checked; no Server header.
install()

# Prometheus multiprocess mode: every worker writes its metrics to files in this folder
# (PROMETHEUS_MULTIPROC_DIR; a new temporary folder when unset, as under `make run`; containers
# point it at their tmpfs /tmp). Best-effort (service/http/metric_files.py): workers create the folder
# if missing and read the variable at their first update, so import order does not matter, and a
# missing, full or unwritable folder turns a worker's metrics off, never fails an answer.
from service.http import metric_files  # noqa: E402

_metrics_dir = metric_files.choose_folder()

# CDS Hooks replay detection: the jti values of the tokens seen, in one SQLite file all the
# workers share, so a token replayed to another worker is refused (TRIAGE_CDS_REPLAY_DIR; a new
# private temporary folder when unset; containers point it at their tmpfs /tmp). The master
# creates the folder and an empty database at start; the file outlives a worker's restart.
# Fail closed (service/interop/cds/replay.py): if it cannot be used, calls with a JWT get 503.
from service.interop.cds import replay  # noqa: E402

_replay_dir = replay.choose_folder()

# Each worker's open connections, in memory shared with the workers it forks: a worker holding
# more than another leaves new connections to it (service/http/connection_balance.py).
from service.http.connection_balance import ConnectionTable  # noqa: E402

_connections = ConnectionTable()


def on_starting(server):
    """Start with an empty metrics folder (created if missing): no previous run's counts; and
    a fresh replay database."""
    metric_files.reset_folder(_metrics_dir)
    replay.prepare(_replay_dir)


def child_exit(server, worker):
    """A dead worker's files are added into the archive files: its counts stay in the totals;
    its row of connections no longer counts."""
    metric_files.compact_dead(_metrics_dir)
    if getattr(worker, "slot", None) is not None:
        _connections.release(worker.slot)


def on_exit(server):
    """Remove the temporary metrics and replay folders chosen when none was set (unless a
    re-exec uses them)."""
    if not server.reexec_pid:
        metric_files.remove_created_folder()
        replay.remove_created_folder()


def post_worker_init(worker):
    """The problems gunicorn answers itself, built once in the app's languages; the probe port
    answered from this worker (when HEALTH_PORT is set)."""
    prepare(worker.wsgi)
    if _probe_listener is not None:
        from service.http.health import ready_body

        probe_port.start(worker, _probe_listener.fileno(), ready_body(worker.wsgi))


def pre_fork(server, worker):
    """The worker's row in the connection table, one no live worker holds (none with reuse_port:
    each worker then has a listen queue of its own, which no other worker can take a deferred
    connection from). Objects built before the fork (the ruleset, the pages' replayed cases) are
    never garbage: moved out of the collector's reach, a full collection in a worker no longer
    walks them (it stalled a worker's event loop for hundreds of milliseconds), and pages the
    workers share with the master stay shared. A young-generation collection every 10,000 new
    objects instead of 700: a triage holds more than 700 at once, so the default collected once
    or twice per request (7% of its instructions, callgrind) for the few cycles a request leaves
    (werkzeug's URL matcher: 8 objects)."""
    import gc

    if not server.cfg.reuse_port:
        worker.connection_table = _connections
        taken = {getattr(w, "slot", None) for w in server.WORKERS.values()}
        worker.slot = _connections.claim(taken)
    gc.freeze()
    gc.set_threshold(10_000, *gc.get_threshold()[1:])
