"""Outbound HTTP for CDS Hooks (JWKS and FHIR prefetch): an opener that follows no redirect."""

from __future__ import annotations

import urllib.request
from typing import Any


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a failure: urllib would carry the request (a FHIR access token with it) to
    a location nobody configured, and a JWKS must come from the URL configured for its issuer."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


NO_REDIRECTS = urllib.request.build_opener(_NoRedirect)
