"""gunicorn settings for forefoot-triage; HOST, PORT and WEB_CONCURRENCY come from the environment."""

import os

from service.server_errors import install

# Requests gunicorn itself rejects (request line too long, malformed headers…) are answered
# as problem+json like every other error, never as gunicorn's HTML page.
install()

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Processes are how this service scales: the engine is CPU-bound, never releases the GIL and is
# not thread-safe, so each sync worker evaluates one request at a time (dependencies.md 1.6).
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
# The app is built once in the master, so a broken rules folder stops the server before any
# worker answers. Safe with durable-rules only because the adapter starts no timer threads.
preload_app = True
timeout = 30
graceful_timeout = 30
keepalive = 2
# Recycle workers now and then, a safety valve against slow growth in the C engine.
max_requests = 10000
max_requests_jitter = 1000
# No runtime control socket: nothing here is managed at run time, and it would be written under
# $HOME, which a read-only container root forbids.
control_socket_disable = True
# The access log is off: it would record URLs and client details; request logging without
# patient data is the application's job.
accesslog = None
errorlog = "-"
loglevel = "info"
