"""Security and caching headers on every answer: no-store, nosniff, CSP, no referrer."""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def install_headers(app: Flask) -> None:
    """Add the headers to every response the app gives, errors and pages included."""

    @app.after_request
    def _no_store(response: Response) -> Response:
        # Answers describe a patient: no cache, shared or private, may keep them.
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        # The pages load only their own scripts, styles and images: no inline script, no CDN.
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["Referrer-Policy"] = "no-referrer"
        return response
