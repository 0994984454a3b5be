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
    ours, served at {base}/OperationDefinition/{id}.
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

# Every operation the server offers: the CapabilityStatement lists exactly these, and serves the
# definitions that are ours. Another operation is one more entry here.
OPERATIONS: tuple[Operation, ...] = (TRIAGE,)


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
        "resource": [operation.resource],
        "system": False,
        "type": operation.type,
        "instance": operation.instance,
        "parameter": list(operation.parameters),
    }
