"""A missing CDS Hooks prefetch fetched from the call's fhirServer: allow-listed, bounded in time.

CDS Hooks 2.0: a service may query the client's FHIR server itself, with the `fhirAuthorization`
access token, when the prefetch it asked for is missing. This service does so only for FHIR
servers listed in TRIAGE_CDS_FHIR_SERVERS (the request body names the URL: without a list the
service would fetch any URL a caller names). It runs the discovery's prefetch query, bounded to
FETCH_SECONDS in all and FETCH_MAX_BYTES; the Bundle it gets is then checked like a prefetch.
Any failure is FetchFailed (412). The access token is sent to that server only, never logged.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlencode

import structlog

from service.interop.cds.outbound import NO_REDIRECTS

FETCH_SECONDS = 3.0  # the whole query: connect, headers and body
FETCH_MAX_BYTES = 1024 * 1024
_CHUNK = 64 * 1024
_FHIR_ID = re.compile(r"[A-Za-z0-9.-]{1,64}")
_FHIR_JSON = ("application/fhir+json", "application/json")
_log = structlog.get_logger("service.interop.cds.fhir_fetch")


class FetchFailed(Exception):
    """The missing prefetch could not be fetched: 412 with this detail."""


def wants_fetch(call: dict[str, Any], prefetch_key: str, servers: tuple[str, ...]) -> bool:
    """Whether the prefetch is missing and the call lets (and the settings allow) a fetch."""
    if prefetch_key in (call.get("prefetch") or {}) or not servers:
        return False
    server = call.get("fhirServer")
    authorization = call.get("fhirAuthorization")
    return (
        isinstance(server, str)
        and server.rstrip("/") in servers
        and isinstance(authorization, dict)
        and isinstance(authorization.get("access_token"), str)
        and str(authorization.get("token_type", "")).lower() == "bearer"
    )


def query_url(server: str, patient_id: str, questionnaire: str) -> str:
    """The discovery's prefetch query for this patient, under the FHIR server's base URL."""
    if not _FHIR_ID.fullmatch(patient_id):
        raise FetchFailed("The context's patientId is not a FHIR id: no query is made.")
    query = urlencode(
        {
            "subject": f"Patient/{patient_id}",
            "questionnaire": questionnaire,
            "_sort": "-authored",
            "_count": "1",
        },
        quote_via=quote,
        safe="/",
    )
    return f"{server.rstrip('/')}/QuestionnaireResponse?{query}"


def fetch_prefetch(call: dict[str, Any], questionnaire: str) -> dict[str, Any]:
    """The search Bundle from the call's fhirServer; FetchFailed on any failure or timeout."""
    url = query_url(call["fhirServer"], call["context"]["patientId"], questionnaire)
    token = call["fhirAuthorization"]["access_token"]
    headers = {"Accept": "application/fhir+json", "Authorization": f"Bearer {token}"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (allow-listed base)
    deadline = time.monotonic() + FETCH_SECONDS
    try:
        with NO_REDIRECTS.open(request, timeout=FETCH_SECONDS) as answer:
            media = answer.headers.get_content_type()
            body = bytearray()
            while chunk := answer.read1(_CHUNK):
                body += chunk
                if len(body) > FETCH_MAX_BYTES or time.monotonic() > deadline:
                    raise FetchFailed("The FHIR server's answer was too large or too slow.")
    except FetchFailed:
        _log.warning("cds prefetch fetch failed", reason="limit")
        raise
    except (OSError, ValueError) as error:  # URLError, HTTPError, timeouts, a bad URL
        status = error.code if isinstance(error, urllib.error.HTTPError) else None
        _log.warning("cds prefetch fetch failed", reason=type(error).__name__, status=status)
        raise FetchFailed(
            "The prefetch is missing and the FHIR server could not be queried for it."
        ) from None
    if media not in _FHIR_JSON:
        raise FetchFailed("The FHIR server did not answer with FHIR JSON.")
    try:
        bundle = json.loads(bytes(body))
    except ValueError:
        raise FetchFailed("The FHIR server's answer is not JSON.") from None
    if not isinstance(bundle, dict):
        raise FetchFailed("The FHIR server's answer is not a FHIR resource.")
    return bundle
