"""Opt-in CORS for the configured browser origins on /cds-services* only (TRIAGE_CORS_ORIGINS).

A preflight (OPTIONS with Origin and Access-Control-Request-Method) from a configured origin is
answered 204 with the allowed methods and headers (Authorization, Content-Type) before any
credential check: a preflight carries none. An actual request from a configured origin gets
Access-Control-Allow-Origin on its answer, 401s included, so the browser can read the problem.
Other origins and other paths get no CORS header at all. Every /cds-services* answer carries
`Vary: Origin` when CORS is on, so a cache never serves one origin's answer to another.
"""

from __future__ import annotations

from flask import Flask, Response, request

PREFIX = "/cds-services"
ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type"
MAX_AGE = "600"  # seconds a browser may keep the preflight answer


def install_cors(app: Flask, origins: tuple[str, ...]) -> None:
    """Answer preflights and label answers for `origins`; nothing when there are none."""
    if not origins:
        return
    allowed = frozenset(origins)

    def _allowed_origin() -> str | None:
        origin = request.headers.get("Origin")
        if request.path.startswith(PREFIX) and origin and origin.lower() in allowed:
            return origin
        return None

    @app.before_request
    def _preflight() -> Response | None:
        if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
            return None
        origin = _allowed_origin()
        if origin is None:
            return None  # not ours to allow: the route answers as it would (405)
        response = Response(status=204)
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = MAX_AGE
        return response

    @app.after_request
    def _label(response: Response) -> Response:
        if not request.path.startswith(PREFIX):
            return response
        response.vary.add("Origin")
        origin = _allowed_origin()
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
        return response
