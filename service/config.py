"""Settings: defaults, then TRIAGE_* environment variables, then test overrides; validated."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from service.cds_config import (
    parse_fhir_servers,
    parse_issuers,
    parse_origins,
    parse_public_url,
    parse_smart_launch_url,
)
from service.exceptions import ConfigError

ROOT = Path(__file__).resolve().parent.parent
# The vignette suite for the /safety page: in the repository and in the image (Dockerfile).
VIGNETTES = ROOT / "tests" / "vignettes" / "vignettes.yaml"
# The FHIR canonical base when neither TRIAGE_FHIR_BASE nor TRIAGE_PUBLIC_URL is set: where
# `make run` serves /fhir, so the Questionnaire's and code systems' URLs resolve locally.
DEFAULT_FHIR_BASE = "http://127.0.0.1:8000/fhir"


DEFAULTS: dict[str, Any] = {
    "RULES_DIR": str(ROOT / "rules"),
    "MAX_BODY_BYTES": 64 * 1024,
    "API_KEYS": "",
    "LOG_LEVEL": "INFO",
    "MAX_BATCH": 100,
    "VIGNETTES": None,  # VIGNETTES if it is there, else none; "" for none; else a file
    "CDS_ISSUERS": "",  # CDS Hooks 2.0 trusted issuers: JSON {iss: JWKS URL} or a file of it
    "PUBLIC_URL": "",  # the base URL clients call (JWT `aud`, absolute links on cards)
    "CORS_ORIGINS": "",  # browser origins allowed on /cds-services*
    "CDS_FHIR_SERVERS": "",  # FHIR base URLs a missing CDS prefetch may be fetched from
    "CDS_SMART_LAUNCH_URL": "",  # a SMART app launch URL for the card's "finish the form" link
    "FHIR_BASE": "",  # the canonical base of our FHIR resources; empty: PUBLIC_URL + /fhir
}

_ENV = {key: f"TRIAGE_{key}" for key in DEFAULTS}
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_KEY = re.compile(r"^[A-Za-z0-9._~+/=-]{16,256}$")


def load_config(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The effective settings; raise ConfigError naming the variable at fault."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for key, variable in _ENV.items():
        if variable in environ:
            config[key] = environ[variable]
    config.update(overrides or {})
    return _validated(config)


def _validated(config: dict[str, Any]) -> dict[str, Any]:
    raw = config["MAX_BODY_BYTES"]
    try:
        size = int(raw)
    except (TypeError, ValueError):
        raise ConfigError(
            f"TRIAGE_MAX_BODY_BYTES must be a whole number of bytes, not {raw!r}"
        ) from None
    if not 1024 <= size <= 16 * 1024 * 1024:
        raise ConfigError("TRIAGE_MAX_BODY_BYTES must be between 1024 and 16777216")
    rules_dir = Path(str(config["RULES_DIR"]))
    if not rules_dir.is_dir():
        raise ConfigError(f"TRIAGE_RULES_DIR: {rules_dir} is not a folder")
    level = str(config["LOG_LEVEL"]).upper()
    if level not in _LOG_LEVELS:
        raise ConfigError(f"TRIAGE_LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}")
    raw_batch = config["MAX_BATCH"]
    try:
        batch = int(raw_batch)
    except (TypeError, ValueError):
        raise ConfigError(
            f"TRIAGE_MAX_BATCH must be a whole number of intakes, not {raw_batch!r}"
        ) from None
    if not 1 <= batch <= 1000:
        raise ConfigError("TRIAGE_MAX_BATCH must be between 1 and 1000")
    cds = _cds(config)
    return {
        **config,
        "VIGNETTES": _vignettes(config["VIGNETTES"]),
        "MAX_BATCH": batch,
        "MAX_BODY_BYTES": size,
        "RULES_DIR": str(rules_dir),
        "API_KEYS": _api_keys(config["API_KEYS"]),
        "LOG_LEVEL": level,
        **cds,
        "FHIR_BASE": _fhir_base(config["FHIR_BASE"], cds["PUBLIC_URL"]),
    }


def _fhir_base(raw: Any, public_url: str | None) -> str:
    """The canonical base (http or https, no query, fragment or credentials; no trailing slash).

    Unset, it is the public URL's /fhir (where clients reach the resources), else the local one.
    """
    text = "" if raw is None else str(raw).strip()
    if not text:
        return f"{public_url}/fhir" if public_url else DEFAULT_FHIR_BASE
    parts = urlsplit(text)
    if (
        parts.scheme not in ("https", "http")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
        or len(text) > 1024
    ):
        raise ConfigError(
            "TRIAGE_FHIR_BASE must be an absolute http(s) URL without a query, fragment or "
            "credentials, such as https://triage.example.org/fhir"
        )
    return text.rstrip("/")


def _cds(config: Mapping[str, Any]) -> dict[str, Any]:
    """The CDS Hooks settings (service.cds_config); trusted issuers need the public URL."""
    parsed: dict[str, Any] = {}
    for key, parse in (
        ("CDS_ISSUERS", parse_issuers),
        ("PUBLIC_URL", parse_public_url),
        ("CORS_ORIGINS", parse_origins),
        ("CDS_FHIR_SERVERS", parse_fhir_servers),
        ("CDS_SMART_LAUNCH_URL", parse_smart_launch_url),
    ):
        try:
            parsed[key] = parse(config[key])
        except ValueError as error:
            raise ConfigError(f"{_ENV[key]}: {error}") from None
    if parsed["CDS_ISSUERS"] and not parsed["PUBLIC_URL"]:
        raise ConfigError(
            "TRIAGE_PUBLIC_URL must be set with TRIAGE_CDS_ISSUERS: a token's `aud` is the URL "
            "the client called"
        )
    return parsed


def _vignettes(raw: Any) -> str | None:
    """The vignette file the pages replay, or None: the pages then show the rule cases only."""
    if raw is None:  # not set: the shipped file when it is there (not every install has tests/)
        return str(VIGNETTES) if VIGNETTES.is_file() else None
    if not str(raw).strip():
        return None  # set empty: no vignettes, on purpose
    path = Path(str(raw))
    if not path.is_file():
        raise ConfigError(f"TRIAGE_VIGNETTES: {path} is not a file")
    return str(path)


def _api_keys(raw: Any) -> tuple[str, ...]:
    """Comma-separated keys; each 16 to 256 URL-safe characters. The keys are never echoed."""
    keys = (
        tuple(raw)
        if isinstance(raw, list | tuple)
        else tuple(part.strip() for part in str(raw).split(",") if part.strip())
    )
    for position, key in enumerate(keys, start=1):
        if not _KEY.match(key):
            raise ConfigError(
                f"TRIAGE_API_KEYS: key {position} must be 16 to 256 characters of "
                "A-Z a-z 0-9 . _ ~ + / = -"
            )
    return keys
