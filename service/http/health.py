"""Blueprint "health": GET /healthz (the process answers) and GET /readyz (a ruleset is loaded)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from flask import Blueprint, Flask, current_app

from service.http.problems import problem

# The app.extensions key of what the pages show (web/page_cache.py): ready once it is loaded.
SITE_DATA = "site_data"
health = Blueprint("health", __name__)


@health.get("/healthz", provide_automatic_options=False)
def healthz() -> Any:
    """Alive: the worker answers."""
    return {"status": "ok"}


@health.get("/readyz", provide_automatic_options=False)
def readyz() -> Any:
    """Ready only once a validated ruleset is loaded and its engine passed the self-check.

    The cases the pages show were loaded, checked and replayed with it: their digest too.
    """
    readiness = _readiness(current_app.extensions)
    if readiness is None:
        return problem(503, "Service Unavailable", "No validated ruleset is loaded yet.")
    return readiness


def _readiness(extensions: Mapping[str, Any]) -> dict[str, Any] | None:
    triage, site = extensions.get("triage"), extensions.get(SITE_DATA)
    if triage is None or site is None:
        return None
    return {"status": "ready", "ruleset": triage.ruleset.identity, "cases": site.identity}


def ready_body(app: Flask) -> bytes | None:
    """The /readyz body of a built app (the probe port's, service.http.probe_port), or None."""
    readiness = _readiness(getattr(app, "extensions", {}))
    return None if readiness is None else orjson.dumps(readiness)
