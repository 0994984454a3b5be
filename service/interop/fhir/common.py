"""FHIR constants shared by our resources (canonical URLs, media type) and the fhir+json answer."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response

FHIR_JSON = "application/fhir+json"
BASE = "https://forefoot-triage.example/fhir"
QUESTIONNAIRE_URL = f"{BASE}/Questionnaire/forefoot-triage"
MODULE_URL = f"{BASE}/Library/forefoot-triage"  # the ruleset, as GuidanceResponse.moduleUri
ANSWERS_SYSTEM = f"{BASE}/CodeSystem/answers"  # every tri-state and enum answer code
RULES_SYSTEM = f"{BASE}/CodeSystem/rules"  # rule ids
FINDINGS_SYSTEM = f"{BASE}/CodeSystem/findings"  # finding names (= the Questionnaire's linkIds)
# The prefix of five code systems: outcome-level, -urgency, -escalation, -destination, -setting.
OUTCOME_SYSTEM = f"{BASE}/CodeSystem/outcome"
DECISION_SYSTEM = f"{BASE}/NamingSystem/decision-id"
DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"


def fhir_response(resource: dict[str, Any], status: int = 200) -> Response:
    """A FHIR resource as application/fhir+json."""
    return Response(orjson.dumps(resource), status=status, mimetype=FHIR_JSON)
