"""Every FHIR resource the server serves, built once at start from the ruleset and the base."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import current_app

from service.domain.ruleset import SOURCE_LANGUAGE, Ruleset
from service.interop.fhir.capability import build_capability
from service.interop.fhir.code_systems import translated_code_systems
from service.interop.fhir.common import FhirUrls
from service.interop.fhir.operations import OPERATIONS, operation_definition
from service.interop.fhir.questionnaire import layout, translated_questionnaires
from service.interop.fhir.response_reader import Layout

KEY = "fhir_surface"  # app.extensions key


@dataclass(frozen=True)
class FhirSurface:
    urls: FhirUrls
    questionnaires: Mapping[str, dict[str, Any]]  # language -> the Questionnaire in it
    layout: Layout
    code_systems: Mapping[str, dict[str, Any]]  # id -> CodeSystem (English, the source)
    translated_code_systems: Mapping[str, Mapping[str, dict[str, Any]]]  # language -> id -> it
    operations: Mapping[str, dict[str, Any]]  # id -> our OperationDefinition
    capability: dict[str, Any]

    @property
    def questionnaire(self) -> dict[str, Any]:
        """The Questionnaire in English (the source), with its translations."""
        return self.questionnaires[SOURCE_LANGUAGE]


def build_surface(languages: Mapping[str, Ruleset], urls: FhirUrls) -> FhirSurface:
    """All of it; QuestionnaireError (the start stops) on an asked_when it cannot carry.

    `languages` is the ruleset worded in each language (English the source): the Questionnaire
    is built in each, its texts carrying the others' as translations; the code systems keep
    their English displays, with a designation in each other language; the rest is English.

    The resources are versioned with the ruleset; `date` is when they were built (the ruleset
    carries no date).
    """
    ruleset = languages[SOURCE_LANGUAGE]
    date = datetime.now(UTC).isoformat(timespec="seconds")
    version = ruleset.version
    code_systems = translated_code_systems(languages, urls, date)
    return FhirSurface(
        urls=urls,
        questionnaires=translated_questionnaires(languages, urls, date),
        layout=layout(ruleset),
        code_systems=code_systems[SOURCE_LANGUAGE],
        translated_code_systems=code_systems,
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
