"""The application factory: settings, ruleset and engine, blueprints, error handlers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import structlog
from flask import Flask

from service.api import api
from service.auth import install_api_keys
from service.batch import batch
from service.catalogue_pages import catalogue_pages
from service.cds_hooks import cds_hooks
from service.cds_jwt import install_cds_auth
from service.config import load_config
from service.cors import install_cors
from service.docs_page import docs_page
from service.errors import register_error_handlers
from service.fhir_api import fhir
from service.fhir_errors import install_fhir_errors
from service.findings import FINDINGS
from service.health import health
from service.interview_api import interview
from service.jsonio import OrjsonProvider
from service.log import configure_logging, install_request_logging
from service.metrics import metrics
from service.pages import pages
from service.ruleset import load_ruleset
from service.schemas import GROUPS
from service.security_headers import with_security_headers
from service.site_data import SITE_DATA, load_site_data
from service.triage import Triage


class _TriageFlask(Flask):
    """Flask, asking once per view or hook (not on every request) whether it is a coroutine
    function: the check inspected each of a request's five hooks and its view each time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Any, Any] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        found = self._sync.get(func)
        if found is None:
            found = self._sync[func] = super().ensure_sync(func)
        return found


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; raise (so the server refuses to start) on bad settings or rules."""
    app = _TriageFlask(__name__)
    settings = load_config(overrides=test_config)
    configure_logging(settings["LOG_LEVEL"])
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_BODY_BYTES"]
    # Never debug: no interactive debugger, no traceback in an answer, whatever FLASK_DEBUG says.
    app.config.update(DEBUG=False, PROPAGATE_EXCEPTIONS=False)
    app.debug = False
    app.json = OrjsonProvider(app)  # keeps the documented field order

    triage = Triage(load_ruleset(settings["RULES_DIR"]))
    triage.self_check()
    app.extensions["triage"] = triage
    structlog.get_logger("service").info("ruleset loaded", **triage.ruleset.identity)
    # What the pages show (rule cases, vignettes, the safety summary): loaded, checked and
    # replayed now, with the ruleset, never again; a broken case or vignette file stops the start.
    site = load_site_data(triage, settings["RULES_DIR"], settings["VIGNETTES"])
    app.extensions[SITE_DATA] = site
    structlog.get_logger("service").info("cases loaded", **site.identity)

    install_request_logging(app)  # first: every later hook and error has a decision id
    install_cors(app, settings["CORS_ORIGINS"])  # before the credential checks: preflights
    install_cds_auth(app, settings["CDS_ISSUERS"], settings["PUBLIC_URL"], settings["API_KEYS"])
    install_api_keys(app, settings["API_KEYS"], cds_by_jwt=bool(settings["CDS_ISSUERS"]))
    app.register_blueprint(api)
    app.register_blueprint(batch)
    app.register_blueprint(fhir)
    app.register_blueprint(interview)  # POST /v1/interview (after fhir: its start-up checks first)
    app.register_blueprint(cds_hooks)
    app.register_blueprint(health)
    app.register_blueprint(metrics)
    app.register_blueprint(pages)  # HTML for people: /, /rules, /safety, /docs
    app.register_blueprint(catalogue_pages)
    app.register_blueprint(docs_page)
    register_error_handlers(app, frozenset(GROUPS) | frozenset(FINDINGS))
    install_fhir_errors(app)  # after the problem+json handlers: /fhir errors become FHIR

    app.wsgi_app = with_security_headers(app.wsgi_app)  # type: ignore[method-assign,assignment]

    return app
