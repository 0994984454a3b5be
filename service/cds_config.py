"""CDS Hooks settings (issuers, public URL, CORS, FHIR servers), parsed and checked at start."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_LOOPBACK_NAMES = ("localhost",)


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _checked_url(url: Any, what: str) -> str:
    """An absolute https URL (http only on the loopback interface, for tests and local use)."""
    if not isinstance(url, str) or not url or len(url) > 2048:
        raise ValueError(f"{what} must be an absolute URL")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{what} must be an absolute http(s) URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(f"{what} must use https (http is allowed on 127.0.0.1 only)")
    if parts.username or parts.password or parts.fragment:
        raise ValueError(f"{what} must not hold credentials or a fragment")
    return url


def parse_issuers(raw: Any) -> dict[str, str]:
    """TRIAGE_CDS_ISSUERS: a JSON object {issuer: JWKS URL}, inline or in a file; empty: none."""
    if isinstance(raw, dict):
        data: Any = raw
    else:
        text = "" if raw is None else str(raw).strip()
        if not text:
            return {}
        if not text.startswith("{"):
            path = Path(text)
            if not path.is_file():
                raise ValueError(f"{path} is neither a JSON object nor a file")
            text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise ValueError("is not valid JSON") from None
    if not isinstance(data, dict) or not data:
        raise ValueError("must be a non-empty JSON object {issuer: JWKS URL}")
    issuers: dict[str, str] = {}
    for position, (issuer, jwks_url) in enumerate(data.items(), start=1):
        if not isinstance(issuer, str) or not issuer.strip() or len(issuer) > 2048:
            raise ValueError(f"issuer {position} must be a non-empty string")
        issuers[issuer] = _checked_url(jwks_url, f"the JWKS URL of issuer {position}")
    return issuers


def parse_public_url(raw: Any) -> str | None:
    """TRIAGE_PUBLIC_URL: the service's base URL as clients call it, without a trailing slash."""
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    url = _checked_url(text, "the public URL").rstrip("/")
    if urlsplit(url).query:
        raise ValueError("the public URL must not hold a query")
    return url


def parse_origins(raw: Any) -> tuple[str, ...]:
    """TRIAGE_CORS_ORIGINS: comma-separated origins (scheme://host[:port]); empty: no CORS."""
    parts = (
        list(raw)
        if isinstance(raw, list | tuple)
        else [part.strip() for part in str(raw or "").split(",") if part.strip()]
    )
    origins = []
    for position, origin in enumerate(parts, start=1):
        split = urlsplit(str(origin))
        if (
            split.scheme not in ("https", "http")
            or not split.hostname
            or str(origin) != f"{split.scheme}://{split.netloc}"
            or split.username
            or split.password
        ):
            raise ValueError(
                f"origin {position} must be scheme://host[:port] with nothing after it "
                "(no '*', path or trailing slash)"
            )
        origins.append(str(origin).lower())
    return tuple(origins)


def parse_fhir_servers(raw: Any) -> tuple[str, ...]:
    """TRIAGE_CDS_FHIR_SERVERS: comma-separated FHIR base URLs a missing prefetch may be fetched
    from (the call's fhirServer must be one of them); empty: never fetch."""
    parts = (
        list(raw)
        if isinstance(raw, list | tuple)
        else [part.strip() for part in str(raw or "").split(",") if part.strip()]
    )
    servers = []
    for position, server in enumerate(parts, start=1):
        url = _checked_url(server, f"FHIR server {position}").rstrip("/")
        if urlsplit(url).query:
            raise ValueError(f"FHIR server {position} must not hold a query")
        servers.append(url)
    return tuple(servers)


def parse_smart_launch_url(raw: Any) -> str | None:
    """TRIAGE_CDS_SMART_LAUNCH_URL: the launch URL of a SMART app that finishes the intake."""
    text = "" if raw is None else str(raw).strip()
    return _checked_url(text, "the SMART launch URL") if text else None
