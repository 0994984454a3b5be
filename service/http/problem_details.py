"""A problem detail (RFC 9457): the one shape of every error, as a dict for Flask and as the
whole HTTP/1.1 answer for the layers below it (gunicorn, the gevent worker, the probe port)."""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

import orjson

PROBLEM_JSON = "application/problem+json"
# The titles (and reason phrases) of the problems answered below Flask, as RFC 9110 names them:
# the English source of their `problem.title_*` locale keys, fixed here rather than taken from
# the Python version's http.HTTPStatus (3.11 still says "Request-URI Too Long").
REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    414: "URI Too Long",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}
# What every answer written below Flask carries, as service.http.headers adds above it.
_BASE_HEADERS = "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"


def problem_body(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    """A problem detail (RFC 9457) as a dict."""
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}


def reason(status: int) -> str:
    """The status's reason phrase (and a problem's English title)."""
    return REASONS.get(status) or HTTPStatus(status).phrase


def raw_answer(
    status: int, body: bytes, content_type: str, headers: Iterable[tuple[str, str]] = ()
) -> bytes:
    """A whole HTTP/1.1 answer as bytes, for a layer that writes to the socket itself; the
    reason phrase is the standard one."""
    head = (
        f"HTTP/1.1 {status} {reason(status)}\r\nContent-Type: {content_type}\r\n"
        + _BASE_HEADERS
        + "".join(f"{name}: {value}\r\n" for name, value in headers)
        + f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def raw_problem(
    status: int, title: str, detail: str, headers: Iterable[tuple[str, str]] = ()
) -> bytes:
    """A problem (RFC 9457) as a whole HTTP/1.1 answer: its body is UTF-8 JSON."""
    body = orjson.dumps(problem_body(status, title, detail))
    return raw_answer(status, body, PROBLEM_JSON, headers)
