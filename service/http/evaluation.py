"""The one path from every surface (/v1, batch, FHIR, CDS Hooks, the pages) to the assessor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app, g

from service.domain.assessment import Assessment
from service.domain.assessor import Triage
from service.domain.ruleset import SOURCE_LANGUAGE
from service.exceptions import EngineError
from service.http.metrics import observe_decision, observe_engine_failure


def assessor() -> Triage:
    """The app's assessor, built once per worker by create_app."""
    triage: Triage = current_app.extensions["triage"]
    return triage


def evaluate(
    intake: Mapping[str, Mapping[str, Any]],
    decision_id: str | None = None,
    language: str = SOURCE_LANGUAGE,
) -> Assessment:
    """Triage a validated intake, count it, and (for the request's own decision) log its outcome.

    The one path from every endpoint (/v1, FHIR, CDS Hooks, batch) to Triage.assess, so the
    one place an engine failure is counted (`language`, one of the assessor's, words the
    answer): each surface then answers it in its own way (a 500
    problem, a batch item's error, a page with the safety net), never with a level.
    """
    triage = assessor()
    try:
        answer = triage.assess(intake, decision_id or g.decision_id, language)
    except EngineError:
        observe_engine_failure()
        raise
    if decision_id is None:
        g.outcome = {
            "level": answer.level,
            "urgency": answer.urgency,
            "ruleset_version": triage.ruleset.version,
        }
    observe_decision(
        answer.level, answer.urgency, list(answer.fired), answer.needs_clinician_review
    )
    return answer
