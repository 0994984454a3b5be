"""GET /fhir/metadata: the R4 CapabilityStatement, its operations from the one list (OPERATIONS)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.interop.fhir.common import FHIR_JSON, FHIR_VERSION, PUBLISHER, FhirUrls
from service.interop.fhir.operations import Operation

_URL_PARAMETER = {
    "name": "url",
    "definition": "http://hl7.org/fhir/SearchParameter/conformance-url",
    "type": "uri",
    "documentation": "The canonical URL, with or without |version.",
}
# What each resource type supports beyond its operations: interactions and search parameters.
_RESOURCES: dict[str, dict[str, Any]] = {
    "Questionnaire": {
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [_URL_PARAMETER],
    },
    "QuestionnaireResponse": {},
    "CodeSystem": {
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [_URL_PARAMETER],
    },
    "OperationDefinition": {"interaction": [{"code": "read"}]},
}


def build_capability(
    operations: Sequence[Operation], urls: FhirUrls, version: str, date: str
) -> dict[str, Any]:
    """The CapabilityStatement of this server: what it reads, searches and runs."""
    resources = []
    for resource_type, supported in _RESOURCES.items():
        entry: dict[str, Any] = {"type": resource_type, **supported}
        offered = [
            {"name": op.code, "definition": op.canonical(urls)}
            for op in operations
            if op.resource == resource_type
        ]
        if offered:
            entry["operation"] = offered
        resources.append(entry)
    for resource_type in sorted({op.resource for op in operations} - _RESOURCES.keys()):
        resources.append(
            {
                "type": resource_type,
                "operation": [
                    {"name": op.code, "definition": op.canonical(urls)}
                    for op in operations
                    if op.resource == resource_type
                ],
            }
        )
    return {
        "resourceType": "CapabilityStatement",
        "id": "forefoot-triage",
        "url": urls.capability,
        "version": version,
        "name": "ForefootTriage",
        "title": "forefoot-triage FHIR R4 server",
        "status": "active",
        "date": date,
        "publisher": PUBLISHER,
        "description": (
            "A stateless clinical triage service: the intake as a Questionnaire, $triage of a "
            "QuestionnaireResponse to a GuidanceResponse, and the code systems its answers use. "
            "JSON only; nothing is stored."
        ),
        "kind": "instance",
        "software": {"name": "forefoot-triage"},
        "implementation": {"description": "forefoot-triage", "url": urls.base},
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_JSON, "json"],
        "rest": [{"mode": "server", "resource": resources}],
    }
