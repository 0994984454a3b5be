"""Log lines that are never torn: one JSON record and its newline in one write, on every path.

With PYTHONUNBUFFERED=1 (the image) a `print(record)` is two writes, the record and then its
newline, and the workers and the master share one pipe: under load another process's line lands
between them. Here every record, newline included, is encoded first and written with a single
os.write. A pipe takes a write of up to PIPE_BUF bytes (4096 on Linux) whole, so a record that
would be longer is shortened to its small fields first: no line is torn, at any load.

Used by structlog (the application's lines), by the standard library's logging (Flask, and any
library), and by gunicorn's error log (service.http.gunicorn_hooks). Nothing here imports the
application, so gunicorn.conf.py can use it before the app is loaded.

No line quotes a request: gunicorn's messages keep their arguments only when these are numbers
or known-safe (pids, the listening address, signal names), and an exception is logged as its
type and frames, never its message (both may quote the request line, a header or the body).
"""

from __future__ import annotations

import logging
import os
import re
import select
import sys
import threading
import time
import traceback
from types import TracebackType
from typing import IO, Any

import orjson

LINE_LIMIT = select.PIPE_BUF  # bytes, newline included
_FIELD_LIMIT = 256  # a shortened record keeps the fields whose JSON is at most this long
_FRAMES = 12  # the innermost frames of an exception's traceback that are logged
_lock = threading.Lock()  # threads of one process write one line at a time
# Methods are logged by name only from this list; anything else a client sends is "(other)".
METHODS = frozenset({"GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})
# gunicorn messages whose arguments are never request text (the rest lose their arguments).
_SAFE_TEMPLATES = frozenset(
    {
        "Starting gunicorn %s",
        "Listening at: %s (%s)",
        "Listening at: %s",
        "Using worker: %s",
        "Handling signal: %s",
        "Ignoring unknown signal: %s",
        "Unhandled signal: %s",
        "Hang up: %s",
        "Shutting down: %s",
        "Reason: %s",
        "Worker (pid:%s) was sent %s!",
        "Worker (pid:%s) was sent %s! Perhaps out of memory?",
    }
)
_PLACEHOLDER = re.compile(r"%[-#0 +]*\d*(?:\.\d+)?[sdrifx]")
# Loggers that may quote a request in their messages: gunicorn's, werkzeug's.
_QUOTING_LOGGERS = ("gunicorn", "werkzeug")


def write_line(stream: IO[str] | None, record: bytes) -> None:
    """Write one record (JSON, without its newline) as one line with one write.

    stream: where to write; None is whatever sys.stdout is at the time. A stream without a
    file descriptor (a test's capture) gets the whole line in one write() call.
    """
    data = record + b"\n"
    if len(data) > LINE_LIMIT:
        data = shortened(record) + b"\n"
    target = sys.stdout if stream is None else stream
    try:
        fd = target.fileno()
    except (AttributeError, OSError, ValueError):
        target.write(data.decode("utf-8"))
        target.flush()
        return
    view = memoryview(data)
    with _lock:
        while view:
            # Short only if interrupted or the descriptor is not a pipe or file: the rest follows.
            view = view[os.write(fd, view) :]


def shortened(record: bytes) -> bytes:
    """A record too long for one atomic write, cut to its short fields, marked truncated."""
    try:
        fields = orjson.loads(record)
    except orjson.JSONDecodeError:
        fields = {"event": "(a log record that was not JSON)"}
    if not isinstance(fields, dict):
        fields = {"event": "(a log record that was not an object)"}
    kept: dict[str, Any] = {"truncated": True}
    size = 32
    for key, value in fields.items():
        encoded = len(orjson.dumps({key: value}))
        if encoded <= _FIELD_LIMIT and size + encoded < LINE_LIMIT - 1:
            kept[key] = value
            size += encoded
    if "event" not in kept:
        kept["event"] = str(fields.get("event", ""))[: _FIELD_LIMIT // 2]
    return orjson.dumps(kept)


def logged_method(method: Any) -> str:
    """The request method if it is a standard one, else '(other)': a method is client text."""
    return str(method) if method in METHODS else "(other)"


def server_message(msg: Any, args: Any) -> str:
    """A gunicorn (or werkzeug) log message without any request text in it."""
    if not isinstance(msg, str):  # `log.exception(error)`: the exception's text is not logged
        return f"({type(msg).__name__})"
    if msg.startswith("Invalid request from ip="):
        # "...: Invalid HTTP request line: 'G@T /path?query HTTP/1.1'" quotes the request.
        return "Invalid request rejected by the HTTP parser"
    if msg.startswith("Error handling request"):
        # "Error handling request %s %s" is the method and the raw URI (a worker timeout too).
        method = args[0] if isinstance(args, tuple) and len(args) == 2 else None
        return "Error handling request" + (f" ({logged_method(method)})" if method else "")
    if not args:
        return msg
    if msg in _SAFE_TEMPLATES or all(type(arg) is int for arg in _as_tuple(args)):
        try:
            return str(msg % args)
        except (TypeError, ValueError):
            return msg
    return _PLACEHOLDER.sub("(not logged)", msg)


def _as_tuple(args: Any) -> tuple[Any, ...]:
    return args if isinstance(args, tuple) else (args,)


def timestamp(seconds: float) -> str:
    """ISO 8601 in UTC with microseconds, as structlog's TimeStamper(fmt="iso", utc=True)."""
    whole = int(seconds)
    micro = int((seconds - whole) * 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micro:06d}Z"


def exception_fields(
    exc_info: tuple[type[BaseException], BaseException, TracebackType | None],
) -> dict[str, Any]:
    """An exception's type and where it was raised, never its message (it may quote a request)."""
    kind, _error, tb = exc_info
    frames = traceback.extract_tb(tb)[-_FRAMES:]
    return {
        "exception_type": kind.__name__,
        "frames": [f"{_short_path(f.filename)}:{f.lineno} in {f.name}" for f in frames],
    }


def _short_path(path: str) -> str:
    for marker in ("/site-packages/", "/service/", "/tests/"):
        if marker in path:
            head = "" if marker == "/site-packages/" else marker.strip("/") + "/"
            return head + path.rsplit(marker, 1)[1]
    return os.path.basename(path)


class JsonLineFormatter(logging.Formatter):
    """A standard library record as one JSON object in the structlog lines' shape.

    An exception is logged as its type and frames (exception_fields), not as a traceback text.
    """

    def format(self, record: logging.LogRecord) -> str:
        return self.encode(record).decode("utf-8")

    def encode(self, record: logging.LogRecord) -> bytes:
        """The record as JSON bytes, without a newline."""
        if record.name.startswith(_QUOTING_LOGGERS):
            event = server_message(record.msg, record.args)
        else:
            event = record.getMessage()
        fields: dict[str, Any] = {
            "event": event,
            "logger": record.name,
            "pid": record.process,
        }
        if record.exc_info and record.exc_info[0] is not None:
            fields.update(exception_fields(record.exc_info))
        fields["log_level"] = record.levelname.lower()
        fields["timestamp"] = timestamp(record.created)
        return orjson.dumps(fields, default=str)


class JsonLineHandler(logging.Handler):
    """Each record as one JSON line in one write (write_line), to a stream or sys.stdout."""

    def __init__(self, stream: IO[str] | None = None, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.stream = stream
        self.setFormatter(JsonLineFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            formatter = self.formatter
            if isinstance(formatter, JsonLineFormatter):
                line = formatter.encode(record)
            else:  # pragma: no cover (a formatter set by hand)
                line = self.format(record).encode("utf-8", "backslashreplace")
            write_line(self.stream, line)
        except Exception:  # logging must never fail the caller
            self.handleError(record)
