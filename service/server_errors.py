"""gunicorn's own error answers (bad request line, oversized headers…) as problem+json, not HTML."""

from __future__ import annotations

import json
from typing import Any

from gunicorn import glogging, util

_DETAIL = {
    400: "The HTTP request could not be parsed.",
    403: "The request was refused.",
    414: "The request line is too long.",
    417: "The expectation cannot be met.",
    431: "The request headers are too large.",
    500: "The request could not be completed.",
    501: "The transfer coding is not supported.",
}


def write_problem(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """Drop-in for gunicorn.util.write_error. `mesg` quotes the request, so it is never sent."""
    body = json.dumps(
        {
            "type": "about:blank",
            "title": reason,
            "status": status_int,
            "detail": _DETAIL.get(status_int, reason),
        }
    )
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/problem+json\r\n"
        "Cache-Control: no-store\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, (head + body).encode("latin-1"))


def install() -> None:
    """Replace gunicorn's HTML error page writer for this process (called by gunicorn.conf.py)."""
    util.write_error = write_problem


class RedactingLogger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's error log, without the request text it quotes when it rejects a request."""

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None:
        if str(msg).startswith("Invalid request from ip="):
            msg, args = "Invalid request rejected by the HTTP parser", ()
        super().warning(msg, *args, **kwargs)
