"""The application factory: settings, ruleset and engine, blueprints, error handlers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import structlog
from flask import Flask

from service.config import load_config
from service.domain.assessor import Triage
from service.domain.findings import FINDINGS
from service.domain.intake_schema import GROUPS
from service.domain.ruleset_loader import load_ruleset
from service.http.api import api
from service.http.auth import install_api_keys
from service.http.batch import batch
from service.http.gunicorn_hooks import BODY_FRAMING_ERRORS
from service.http.headers import install_headers
from service.http.health import SITE_DATA, health
from service.http.interview_api import interview
from service.http.json_provider import OrjsonProvider
from service.http.metrics import metrics
from service.http.problems import register_error_handlers
from service.http.request_log import configure_logging, install_request_logging
from service.http.response import Response
from service.interop.cds.cors import install_cors
from service.interop.cds.jwt_auth import install_cds_auth
from service.interop.cds.views import cds_hooks
from service.interop.fhir.outcome import install_fhir_errors
from service.interop.fhir.views import fhir
from service.web.intake_views import pages
from service.web.interview_views import interview_pages
from service.web.page_cache import load_site_data
from service.web.rule_views import catalogue_pages
from service.web.swagger_views import docs_page


class _TriageFlask(Flask):
    """Flask, asking once per view or hook (not on every request) whether it is a coroutine
    function: the check inspected each of a request's five hooks and its view each time; its
    answers handed to the server without werkzeug's copies when nothing needs adjusting."""

    response_class = Response

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
    app = _TriageFlask(__name__, template_folder="web/templates", static_folder="web/static")
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
    app.register_blueprint(interview_pages)  # /interview, one screen at a time
    app.register_blueprint(catalogue_pages)
    app.register_blueprint(docs_page)
    register_error_handlers(app, frozenset(GROUPS) | frozenset(FINDINGS), BODY_FRAMING_ERRORS)
    install_fhir_errors(app)  # after the problem+json handlers: /fhir errors become FHIR

    install_headers(app)  # no-store, nosniff, CSP, no referrer on every answer

    return app
