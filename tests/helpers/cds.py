"""CDS Hooks requests and the spec's JSON schemas, shared by the CDS Hooks test modules."""

from __future__ import annotations

import json
import uuid
from typing import Any

from jsonschema import Draft202012Validator

from tests.helpers import ROOT
from tests.helpers.fhir import response_from_intake

PATIENT_ID = "pat-4711-secret"
SCHEMAS = ROOT / "tests" / "interop" / "cds_schemas"


def validator(name: str) -> Draft202012Validator:
    """The checked validator of one CDS Hooks 2.0 JSON schema (tests/interop/cds_schemas)."""
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def call(resource: Any = None, **overrides: Any) -> dict[str, Any]:
    """A patient-view request; prefetch is the questionnaireResponse entry when given."""
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": "https://ehr.example.org/fhir",
        "context": {"userId": "Practitioner/123", "patientId": PATIENT_ID},
    }
    if resource is not None:
        body["prefetch"] = {"questionnaireResponse": resource}
    body.update(overrides)
    return body


def qr(intake: dict[str, Any]) -> dict[str, Any]:
    """The QuestionnaireResponse of an intake, about the patient of `call`."""
    resource = response_from_intake(intake)
    resource["subject"] = {"reference": f"Patient/{PATIENT_ID}"}
    return resource
