"""JSON logging: one canonical line per request, with ids and outcomes only, never patient data.

Every line is one JSON record written with one write (service.http.log_lines): structlog's, and the
standard library's (Flask, libraries), whose records are rendered in the same shape.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import uuid
from collections.abc import MutableMapping
from typing import IO, Any

import orjson
import structlog
from flask import Flask, Response, g, request

from service.http.log_lines import JsonLineHandler, logged_method, write_line
from service.http.metrics import observe_request

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _log_level(
    _logger: Any, method_name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # Not structlog's add_log_level: its "level" key would overwrite the triage level.
    event["log_level"] = method_name
    return event


class LineLogger:
    """structlog's logger: each rendered record (bytes) as one line in one write.

    stream None is whatever sys.stdout is when a line is written (as structlog's PrintLogger).
    """

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream

    def msg(self, message: bytes | str) -> None:
        """Write one record."""
        write_line(self._stream, message if isinstance(message, bytes) else message.encode())

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


def _line_logger(*_args: Any) -> LineLogger:
    return LineLogger()


def configure_logging(level: str) -> None:
    """structlog to stdout as JSON lines (containers collect stdout); stdlib logging too."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # orjson: structlog's recipe for speed, a third of the stdlib encoder's cost.
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=_line_logger,
        cache_logger_on_first_use=True,
    )
    # The standard library's records (Flask's, any library's) as JSON lines on stdout too,
    # instead of its plain-text last-resort handler on stderr.
    root = logging.getLogger()
    # One handler per process, kept: a replaced handler collected while the interpreter shuts
    # down made logging print a plain-text "Exception ignored" line.
    if not any(isinstance(handler, JsonLineHandler) for handler in root.handlers):
        root.addHandler(JsonLineHandler())
    root.setLevel(level)
    sys.unraisablehook = _unraisable_as_json


def _unraisable_as_json(
    unraisable: Any, _write: Any = os.write, _dumps: Any = orjson.dumps, _time: Any = time.time
) -> None:
    """Python's "Exception ignored in ..." reports as one JSON line on stderr, type only (its
    text could quote data); the defaults keep what it needs alive while the interpreter ends."""
    try:
        record = {
            "event": "exception ignored",
            "exception_type": type(unraisable.exc_value).__name__,
            "log_level": "warning",
            "timestamp": _time(),
        }
        _write(2, _dumps(record) + b"\n")
    except Exception:  # noqa: S110 (nothing may escape the hook, nor be printed in plain text)
        pass


def request_id() -> str:
    """The inbound X-Request-ID when it is a plain token, else a new uuid."""
    inbound = request.headers.get(REQUEST_ID_HEADER, "")
    return inbound if _REQUEST_ID.match(inbound) else str(uuid.uuid4())


def install_request_logging(app: Flask) -> None:
    """Bind a decision id to each request, echo it, and log one line when the answer leaves."""
    log = structlog.get_logger("service.request")
    # Flask logs an unhandled error as "Exception on <raw path> [<method>]": its records keep
    # a fixed text; the JSON line adds the exception's type and frames, never its message.
    app.logger.addFilter(_without_request_text)

    @app.before_request
    def _start() -> None:
        g.decision_id = request_id()
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        decision_id = g.get("decision_id") or request_id()
        response.headers[REQUEST_ID_HEADER] = decision_id
        outcome: dict[str, Any] = g.get("outcome") or {}
        # The route template, not the raw path: a client could put anything in a URL.
        route = request.url_rule.rule if request.url_rule else "(unmatched)"
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        observe_request(route, response.status_code, seconds)
        log.info(
            "request",
            decision_id=decision_id,
            method=logged_method(request.method),
            route=route,
            status=response.status_code,
            duration_ms=round(seconds * 1000, 3),
            level=outcome.get("level"),
            urgency=outcome.get("urgency"),
            ruleset_version=outcome.get("ruleset_version"),
        )
        return response


def _without_request_text(record: logging.LogRecord) -> bool:
    record.msg, record.args = "unhandled exception in Flask", ()
    return True
