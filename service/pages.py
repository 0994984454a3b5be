"""Blueprint "pages": the try-it intake form at / for people, triaged as POST /v1/triage is."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request

from service.api import evaluate
from service.auth import is_valid_key
from service.fhir_common import display
from service.findings import FINDINGS
from service.web_form import (
    API_KEY_FIELD,
    INJURY_LEGEND,
    SECTIONS,
    FormResult,
    choices,
    read_form,
)

pages = Blueprint("pages", __name__)
pages.add_app_template_filter(display, "words")


@pages.app_context_processor
def _identity() -> dict[str, Any]:
    """Every page names the ruleset it shows (the footer)."""
    return {"ruleset": current_app.extensions["triage"].ruleset}


def _keys() -> tuple[str, ...]:
    keys: tuple[str, ...] = current_app.config["API_KEYS"]
    return keys


def _read() -> tuple[FormResult, int]:
    """The posted form, refused (401) without a valid key when API keys are configured.

    No path triages without a credential: the person types the key into the form (it is never
    put in the page), and it is compared here, server-side, in constant time, as auth.py does.
    """
    result = read_form(request.form)
    keys = _keys()
    if keys:
        if not is_valid_key(request.form.get(API_KEY_FIELD, ""), keys):
            message = "Enter a valid API key: this service is configured to require one."
            errors = [{"field": API_KEY_FIELD, "message": message}]
            return FormResult(None, errors, result.answers), 401  # what was typed is kept
    return result, 422 if result.errors else 200


def _context(result: FormResult | None = None) -> dict[str, Any]:
    """What the form and the result templates need; the answer is triaged through evaluate()."""
    answer = None
    if result is not None and result.intake is not None:
        answer = evaluate(result.intake)
    return {
        "sections": SECTIONS,
        "choices": choices,
        "findings": FINDINGS,
        "injury_legend": INJURY_LEGEND,
        "answers": result.answers if result else {},
        "errors": result.errors if result else [],
        "answer": answer,
        "needs_key": bool(_keys()),
    }


@pages.get("/", provide_automatic_options=False)
def intake_form() -> Any:
    """The empty form: every answer unknown."""
    return render_template("index.html", **_context())


@pages.post("/", provide_automatic_options=False)
def intake_result() -> Any:
    """JavaScript off: the form posted, the whole page again with the answer or field errors."""
    result, status = _read()
    return render_template("index.html", **_context(result)), status


@pages.post("/result", provide_automatic_options=False)
def intake_fragment() -> Any:
    """JavaScript on: the same post, answered with the result fragment only (in-place update)."""
    result, status = _read()
    return render_template("_result.html", **_context(result)), status
