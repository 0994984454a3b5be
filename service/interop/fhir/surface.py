"""Every FHIR resource the server serves, built once at start from the ruleset and the base."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import current_app

from service.domain.ruleset import Ruleset
from service.interop.fhir.capability import build_capability
from service.interop.fhir.code_systems import build_code_systems
from service.interop.fhir.common import FhirUrls
from service.interop.fhir.operations import OPERATIONS, operation_definition
from service.interop.fhir.questionnaire import build_questionnaire, layout
from service.interop.fhir.response_reader import Layout

KEY = "fhir_surface"  # app.extensions key


@dataclass(frozen=True)
class FhirSurface:
    urls: FhirUrls
    questionnaire: dict[str, Any]
    layout: Layout
    code_systems: Mapping[str, dict[str, Any]]  # id -> CodeSystem
    operations: Mapping[str, dict[str, Any]]  # id -> our OperationDefinition
    capability: dict[str, Any]


def build_surface(ruleset: Ruleset, urls: FhirUrls) -> FhirSurface:
    """All of it; QuestionnaireError (the start stops) on an asked_when it cannot carry.

    The resources are versioned with the ruleset; `date` is when they were built (the ruleset
    carries no date).
    """
    date = datetime.now(UTC).isoformat(timespec="seconds")
    version = ruleset.version
    return FhirSurface(
        urls=urls,
        questionnaire=build_questionnaire(ruleset, urls, date),
        layout=layout(ruleset),
        code_systems=build_code_systems(ruleset, urls, date),
        operations={
            op.id: operation_definition(op, urls, version, date)
            for op in OPERATIONS
            if op.definition is None
        },
        capability=build_capability(OPERATIONS, urls, version, date),
    )


def current_surface() -> FhirSurface:
    """The running app's surface (built when the fhir blueprint was registered)."""
    surface: FhirSurface = current_app.extensions[KEY]
    return surface
