"""The FHIR operations this server offers, one list: their OperationDefinitions and capability."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.interop.fhir.common import PUBLISHER, FhirUrls

RESPONSE_PARAMETER = "questionnaire-response"  # the name $triage's Parameters body uses


@dataclass(frozen=True)
class Operation:
    """One operation: its OperationDefinition's content, and where the capability lists it.

    `definition` is the canonical of a standard definition (an SDC operation, say); None means
    ours, served at {base}/OperationDefinition/{id}. `base` is the canonical of the standard
    definition ours is derived from (OperationDefinition.base), when there is one.
    """

    id: str
    code: str
    resource: str
    title: str
    description: str
    parameters: tuple[dict[str, Any], ...]
    type: bool = True
    instance: bool = False
    affects_state: bool = False
    definition: str | None = None
    base: str | None = None

    def canonical(self, urls: FhirUrls) -> str:
        return self.definition or urls.operation(self.id)


TRIAGE = Operation(
    id="QuestionnaireResponse-triage",
    code="triage",
    resource="QuestionnaireResponse",
    title="Triage a QuestionnaireResponse",
    description=(
        "Triages a QuestionnaireResponse to the forefoot-triage Questionnaire exactly as "
        "POST /v1/triage would, and answers an R4 GuidanceResponse (its result in a contained "
        "Parameters). The body is the QuestionnaireResponse itself, or a Parameters resource "
        f"with it as the '{RESPONSE_PARAMETER}' parameter. Items left out, or answered with the "
        "data-absent-reason extension, are unknown, and unknown never lowers a result."
    ),
    parameters=(
        {
            "name": RESPONSE_PARAMETER,
            "use": "in",
            "min": 1,
            "max": "1",
            "documentation": "The answers to the forefoot-triage Questionnaire.",
            "type": "QuestionnaireResponse",
        },
        {
            "name": "return",
            "use": "out",
            "min": 1,
            "max": "1",
            "documentation": "The triage result; data-required when danger signs are unknown.",
            "type": "GuidanceResponse",
        },
    ),
)

SDC_NEXT_QUESTION = "http://hl7.org/fhir/uv/sdc/OperationDefinition/Questionnaire-next-question"

# Ours, derived from SDC's: SDC's definition is generic (any Questionnaire, Parameters out), ours
# says what this server asks and returns, so the CapabilityStatement names ours.
NEXT_QUESTION = Operation(
    id="Questionnaire-next-question",
    code="next-question",
    resource="Questionnaire",
    title="Forefoot triage adaptive interview: next question",
    description=(
        "The SDC adaptive-form operation for the forefoot-triage intake. Send a "
        "QuestionnaireResponse that answers a contained adaptive Questionnaire derived from "
        "this server's forefoot-triage Questionnaire (or, to start, that answers that "
        "Questionnaire itself, with no items or with answers already known); the response comes "
        "back with the contained Questionnaire grown by the next question or group of related "
        "questions, and a read-only 'triage-result' group with the disposition. A question asked "
        "and left unanswered is answered unknown. The response is 'completed' when no answer to "
        "the questions not asked could change the disposition (destination, urgency, setting, "
        "level, clinician review): that disposition is then the full form's. Errors are "
        "OperationOutcomes."
    ),
    parameters=(
        {
            "name": RESPONSE_PARAMETER,
            "use": "in",
            "min": 1,
            "max": "1",
            "documentation": (
                "The adaptive QuestionnaireResponse so far, its contained Questionnaire as the "
                "previous call returned it. It may be posted alone instead of in a Parameters; "
                "the name 'in' is accepted too."
            ),
            "type": "QuestionnaireResponse",
        },
        {
            "name": "return",
            "use": "out",
            "min": 1,
            "max": "1",
            "documentation": (
                "The QuestionnaireResponse with the contained Questionnaire grown by the next "
                "question(s), status in-progress; completed, and no question added, when the "
                "interview stops. Returned as the resource itself, not in a Parameters."
            ),
            "type": "QuestionnaireResponse",
        },
    ),
    base=SDC_NEXT_QUESTION,
)

# Every operation the server offers: the CapabilityStatement lists exactly these, and serves the
# definitions that are ours. Another operation is one more entry here.
OPERATIONS: tuple[Operation, ...] = (TRIAGE, NEXT_QUESTION)


def operation_definition(operation: Operation, urls: FhirUrls, version: str, date: str) -> Any:
    """The R4 OperationDefinition of one of our operations."""
    return {
        "resourceType": "OperationDefinition",
        "id": operation.id,
        "url": operation.canonical(urls),
        "version": version,
        "name": "".join(part[:1].upper() + part[1:] for part in operation.id.split("-")),
        "title": operation.title,
        "status": "active",
        "kind": "operation",
        "date": date,
        "publisher": PUBLISHER,
        "description": operation.description,
        "affectsState": operation.affects_state,
        "code": operation.code,
        **({"base": operation.base} if operation.base else {}),
        "resource": [operation.resource],
        "system": False,
        "type": operation.type,
        "instance": operation.instance,
        "parameter": list(operation.parameters),
    }
