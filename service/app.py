"""The application factory: settings, ruleset and engine, blueprints, error handlers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response

from service.api import api
from service.config import load_config
from service.errors import register_error_handlers
from service.findings import FINDINGS
from service.health import health
from service.ruleset import load_ruleset
from service.schemas import GROUPS
from service.triage import Triage


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; raise (so the server refuses to start) on bad settings or rules."""
    app = Flask(__name__)
    settings = load_config(overrides=test_config)
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_BODY_BYTES"]
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the documented field order

    triage = Triage(load_ruleset(settings["RULES_DIR"]))
    triage.self_check()
    app.extensions["triage"] = triage
    logging.getLogger("service").info(
        "ruleset %s %s loaded (sha256 %s)",
        triage.ruleset.id,
        triage.ruleset.version,
        triage.ruleset.sha256,
    )

    app.register_blueprint(api)
    app.register_blueprint(health)
    register_error_handlers(app, frozenset(GROUPS) | frozenset(FINDINGS))

    @app.after_request
    def _no_store(response: Response) -> Response:
        # Answers describe a patient: no cache, shared or private, may keep them.
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    return app
