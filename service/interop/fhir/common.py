"""FHIR constants and canonical URLs (under the TRIAGE_FHIR_BASE setting), the fhir+json answer."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
from flask import Response, current_app

FHIR_JSON = "application/fhir+json"
FHIR_VERSION = "4.0.1"
PUBLISHER = "forefoot-triage"
DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
UNIT = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"
UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
# The ids of the code systems under {base}/CodeSystem/: answers, rules, findings, then the five
# outcome code systems (outcome-level, -urgency, -escalation, -destination, -setting).
OUTCOME_KINDS = ("level", "urgency", "escalation", "destination", "setting")
CODE_SYSTEM_IDS = ("answers", "rules", "findings", *(f"outcome-{kind}" for kind in OUTCOME_KINDS))


@dataclass(frozen=True)
class FhirUrls:
    """The canonical URLs of our resources under one base (no trailing slash)."""

    base: str

    @property
    def questionnaire(self) -> str:
        return f"{self.base}/Questionnaire/forefoot-triage"

    @property
    def module(self) -> str:
        """The ruleset, as GuidanceResponse.moduleUri."""
        return f"{self.base}/Library/forefoot-triage"

    @property
    def capability(self) -> str:
        return f"{self.base}/CapabilityStatement/forefoot-triage"

    @property
    def answers(self) -> str:
        """Every tri-state and enum answer code."""
        return self.code_system("answers")

    @property
    def rules(self) -> str:
        """Rule ids."""
        return self.code_system("rules")

    @property
    def findings(self) -> str:
        """Finding names (= the Questionnaire's linkIds)."""
        return self.code_system("findings")

    @property
    def decision(self) -> str:
        return f"{self.base}/NamingSystem/decision-id"

    def outcome(self, kind: str) -> str:
        """One of the five outcome code systems (OUTCOME_KINDS)."""
        return self.code_system(f"outcome-{kind}")

    def code_system(self, code_system_id: str) -> str:
        return f"{self.base}/CodeSystem/{code_system_id}"

    def operation(self, definition_id: str) -> str:
        return f"{self.base}/OperationDefinition/{definition_id}"


@cache
def fhir_urls(base: str) -> FhirUrls:
    """The URLs under a base; one object per base."""
    return FhirUrls(base.rstrip("/"))


def current_urls() -> FhirUrls:
    """The URLs of the running app (its FHIR_BASE setting)."""
    return fhir_urls(str(current_app.config["FHIR_BASE"]))


def fhir_response(resource: dict[str, Any], status: int = 200) -> Response:
    """A FHIR resource as application/fhir+json."""
    return Response(orjson.dumps(resource), status=status, mimetype=FHIR_JSON)
