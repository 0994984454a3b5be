"""The headers every answer carries: no caching, no sniffing, a strict content policy, and the
request's id when the app gave it one (service.http.request_log).

Added as the answer starts (a WSGI wrapper around the app), replacing any a view set: one pass
over the answer's headers, where four header assignments per request in an after-request hook
cost more than the JSON parse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    # Answers describe a patient: no cache, shared or private, may keep them.
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    # The pages load only their own scripts, styles and images: no inline script, no CDN.
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("Referrer-Policy", "no-referrer"),
)
_REPLACED = frozenset(name.lower() for name, _ in SECURITY_HEADERS)
REQUEST_ID_HEADER = "X-Request-ID"
# Where the app leaves the request's id for the answer's header (the WSGI environ).
REQUEST_ID_ENVIRON = "triage.request_id"
_REPLACED_WITH_ID = _REPLACED | {REQUEST_ID_HEADER.lower()}

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def with_security_headers(app: WsgiApp) -> WsgiApp:
    """`app` with SECURITY_HEADERS on every answer, and X-Request-ID on every answer the app left
    an id for, its own headers of those names dropped."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            request_id = environ.get(REQUEST_ID_ENVIRON)
            if request_id is None:
                kept = [header for header in headers if header[0].lower() not in _REPLACED]
            else:
                kept = [header for header in headers if header[0].lower() not in _REPLACED_WITH_ID]
                kept.append((REQUEST_ID_HEADER, request_id))
            kept += SECURITY_HEADERS
            return start_response(status, kept, exc_info)

        return app(environ, start)

    return wrapped


def install_headers(app: Flask) -> None:
    """Add the headers to every answer the app gives, errors and pages included."""
    app.wsgi_app = with_security_headers(app.wsgi_app)  # type: ignore[method-assign,assignment]
