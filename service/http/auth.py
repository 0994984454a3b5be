"""Optional API keys for /v1, /fhir and CDS Hooks: several valid at once, constant-time compare."""

from __future__ import annotations

import hmac

from flask import Flask, Response, request
from werkzeug.exceptions import Unauthorized

API_KEY_HEADER = "X-API-Key"
# RFC 9110 11.6.1: every 401 carries a challenge. The scheme is the contract's security scheme
# (openapi.yaml: ApiKey, in the X-API-Key header).
CHALLENGE = f'ApiKey realm="forefoot-triage", header="{API_KEY_HEADER}"'
_GUARDED = ("/v1/", "/fhir/", "/cds-services")


def is_valid_key(offered: str, keys: tuple[str, ...]) -> bool:
    """Whether the offered key is one of the keys, compared in constant time with every one."""
    given = offered.encode()
    # Compare with every key, without stopping early: timing reveals nothing.
    matches = [hmac.compare_digest(given, key.encode()) for key in keys]
    return any(matches)


def install_api_keys(app: Flask, keys: tuple[str, ...], cds_by_jwt: bool = False) -> None:
    """With keys configured, every /v1, /fhir and /cds-services request needs one.

    Health, readiness, metrics and the contract stay open. With trusted CDS Hooks issuers
    configured (cds_by_jwt), /cds-services* is guarded by service.cds_jwt instead: a verified
    JWT, or one of these keys. Without issuers the API key guards those paths too, so that no
    path triages without a credential.
    """
    if not keys:
        return
    guarded = tuple(p for p in _GUARDED if not (cds_by_jwt and p == "/cds-services"))

    @app.after_request
    def _challenge(response: Response) -> Response:
        # Every 401, the API's and the web form's alike, says how to authenticate.
        if response.status_code == 401:
            response.headers.setdefault("WWW-Authenticate", CHALLENGE)
        return response

    @app.before_request
    def _require_key() -> None:
        if not request.path.startswith(guarded):
            return
        if not is_valid_key(request.headers.get(API_KEY_HEADER, ""), keys):
            raise Unauthorized(f"Send a valid API key in the {API_KEY_HEADER} header.")
