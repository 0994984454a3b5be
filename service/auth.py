"""Optional API keys for /v1: several may be valid at once (rotation), compared in constant time."""

from __future__ import annotations

import hmac

from flask import Flask, request
from werkzeug.exceptions import Unauthorized

API_KEY_HEADER = "X-API-Key"


def install_api_keys(app: Flask, keys: tuple[str, ...]) -> None:
    """With keys configured, every /v1 request needs one of them; health, metrics stay open."""
    if not keys:
        return
    encoded = tuple(key.encode() for key in keys)

    @app.before_request
    def _require_key() -> None:
        if not request.path.startswith("/v1/"):
            return
        offered = request.headers.get(API_KEY_HEADER, "").encode()
        # Compare with every key, without stopping early: timing reveals nothing.
        matches = [hmac.compare_digest(offered, key) for key in encoded]
        if not any(matches):
            raise Unauthorized(f"Send a valid API key in the {API_KEY_HEADER} header.")
