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
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import IO, Any

import orjson
import structlog
from flask import Flask, Response, g, request

from service.http.headers import REQUEST_ID_ENVIRON
from service.http.log_lines import JsonLineHandler, logged_method, write_line
from service.http.metrics import observe_request

_REQUEST_ID_KEY = "HTTP_X_REQUEST_ID"  # the header as WSGI names it (read without werkzeug's view)
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
    inbound = request.environ.get(_REQUEST_ID_KEY, "")
    return inbound if _REQUEST_ID.match(inbound) else new_uuid4()


def new_uuid4() -> str:
    """A random (version 4) UUID in its text form, as str(uuid.uuid4()) gives, written
    without the UUID class, whose checks cost several times the random bytes."""
    text = os.urandom(16).hex()
    # The version digit is 4; the variant digit (RFC 4122) keeps the random digit's low two
    # bits under 10xx. Set in the text: a bytearray and two byte assignments cost a fifth more.
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{_VARIANT[text[16]]}{text[17:20]}-{text[20:]}"


_VARIANT = {digit: f"{int(digit, 16) & 0x3 | 0x8:x}" for digit in "0123456789abcdef"}


def _request_line(fields: dict[str, Any]) -> bytes:
    """The request's record, in the shape structlog's chain gives every other line (same keys,
    same order, ISO UTC timestamp), built directly: the chain cost a tenth of a triage."""
    fields["event"] = "request"
    fields["log_level"] = "info"
    fields["timestamp"] = utc_timestamp()
    return orjson.dumps(fields)


_second: tuple[int, str] = (-1, "")  # the last second stamped, and its text up to the seconds


def utc_timestamp() -> str:
    """datetime.now(UTC).isoformat() with Z for +00:00, the same text (microseconds floored,
    left out when zero), with the date and time of day made once per second: isoformat's
    formatting cost three times the rest of the request's log line."""
    global _second
    seconds, micro = divmod(time.time_ns() // 1000, 1_000_000)
    second = _second  # read once: another thread may replace it meanwhile
    if second[0] != seconds:
        stamp = datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None).isoformat()
        second = _second = (seconds, stamp)
    # %-formatting: an f-string's format spec (micro:06d) cost a tenth more.
    return "%s.%06dZ" % (second[1], micro) if micro else second[1] + "Z"  # noqa: UP031


def install_request_logging(app: Flask) -> None:
    """Bind a decision id to each request, echo it, and log one line when the answer leaves."""
    logged = logging.getLogger().isEnabledFor(logging.INFO)  # configure_logging set the level
    # Flask logs an unhandled error as "Exception on <raw path> [<method>]": its records keep
    # a fixed text; the JSON line adds the exception's type and frames, never its message.
    app.logger.addFilter(_without_request_text)

    @app.before_request
    def _start() -> None:
        g.decision_id = request_id()
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        # The objects behind Flask's proxies, looked up once: every proxy access is a lookup.
        state = g._get_current_object()
        current = request._get_current_object()  # type: ignore[attr-defined]
        decision_id = state.get("decision_id") or request_id()
        # Echoed by service.http.headers as the answer starts (with the security headers, in
        # one pass): a header set here went through werkzeug's checks and search of the list.
        current.environ[REQUEST_ID_ENVIRON] = decision_id
        outcome: dict[str, Any] = state.get("outcome") or {}
        # The route template, not the raw path: a client could put anything in a URL.
        rule = current.url_rule
        route = rule.rule if rule else "(unmatched)"
        seconds = time.perf_counter() - state.get("started", time.perf_counter())
        observe_request(route, response.status_code, seconds)
        if logged:
            line = {
                "decision_id": decision_id,
                "method": logged_method(current.method),
                "route": route,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 3),
                "level": outcome.get("level"),
                "urgency": outcome.get("urgency"),
                "ruleset_version": outcome.get("ruleset_version"),
            }
            write_line(None, _request_line(line))
        return response


def _without_request_text(record: logging.LogRecord) -> bool:
    record.msg, record.args = "unhandled exception in Flask", ()
    return True
