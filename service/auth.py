"""Optional API keys for /v1 and /fhir: several valid at once (rotation), constant-time compare."""

from __future__ import annotations

import hmac

from flask import Flask, request
from werkzeug.exceptions import Unauthorized

API_KEY_HEADER = "X-API-Key"
_GUARDED = ("/v1/", "/fhir/")


def install_api_keys(app: Flask, keys: tuple[str, ...]) -> None:
    """With keys configured, every /v1 and /fhir request needs one; health, metrics stay open.

    /fhir triages as /v1 does, so it is guarded alike. CDS Hooks (/cds-services) is not: the
    spec authenticates clients with a signed JWT instead, which this service does not verify yet.
    """
    if not keys:
        return
    encoded = tuple(key.encode() for key in keys)

    @app.before_request
    def _require_key() -> None:
        if not request.path.startswith(_GUARDED):
            return
        offered = request.headers.get(API_KEY_HEADER, "").encode()
        # Compare with every key, without stopping early: timing reveals nothing.
        matches = [hmac.compare_digest(offered, key) for key in encoded]
        if not any(matches):
            raise Unauthorized(f"Send a valid API key in the {API_KEY_HEADER} header.")
