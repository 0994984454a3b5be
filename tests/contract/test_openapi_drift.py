"""openapi.yaml and the Marshmallow schemas describe the same intake, field for field."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from service.domain.intake_schema import (
    HistorySchema,
    PatientSchema,
    SymptomsSchema,
    TriageRequestSchema,
)
from service.domain.ruleset_loader import load_ruleset, read_yaml
from tests.helpers import ROOT

QUESTIONS = load_ruleset(ROOT / "rules").questions
CONTRACT: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
SCHEMAS: dict[str, type[Schema]] = {
    "Patient": PatientSchema,
    "History": HistorySchema,
    "Symptoms": SymptomsSchema,
    "TriageRequest": TriageRequestSchema,
}


def _generated() -> dict[str, Any]:
    spec = APISpec(
        title="drift",
        version="0",
        openapi_version=CONTRACT["openapi"],
        plugins=[MarshmallowPlugin()],
    )
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    generated: dict[str, Any] = spec.to_dict()["components"]["schemas"]
    # Each question's wording is data (rules/questions.yaml), shown as its title and description.
    for name in ("Patient", "History", "Symptoms"):
        for finding, schema in generated[name]["properties"].items():
            question = QUESTIONS[finding]
            schema.update(title=question.label, description=question.help)
    return generated


@pytest.mark.parametrize("name", SCHEMAS)
def test_contract_schema_equals_marshmallow(name: str) -> None:
    """The YAML component is exactly what apispec derives from the Marshmallow schema."""
    assert CONTRACT["components"]["schemas"][name] == _generated()[name]


def test_drift_is_detected() -> None:
    """A changed maximum in the YAML would fail the comparison (the test can fail)."""
    tampered = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    tampered["components"]["schemas"]["Symptoms"]["properties"]["pain_nrs"]["maximum"] = 11
    assert tampered["components"]["schemas"]["Symptoms"] != _generated()["Symptoms"]


def test_contract_is_openapi_3_0_3() -> None:
    """3.0.3, so generated integers are never 63.0 (dependencies.md 2.4)."""
    assert CONTRACT["openapi"] == "3.0.3"


def _enum(name: str) -> list[Any]:
    schema: dict[str, Any] = CONTRACT["components"]["schemas"][name]
    return list(schema["enum"])


def test_outcome_enums_equal_the_manifest() -> None:
    """Level, Urgency, Setting and the 17 destination codes are those of rules/ruleset.yaml."""
    manifest = read_yaml(ROOT / "rules" / "ruleset.yaml")
    assert _enum("Level") == manifest["levels"]
    assert _enum("Urgency") == manifest["urgencies"]
    assert _enum("Setting") == manifest["settings"]
    assert _enum("Destination") == list(manifest["destinations"])  # in precedence order
    assert len(_enum("Destination")) == 17


def test_destination_is_required_and_never_null() -> None:
    """The answer's destination is required, not nullable (clinical.md 1.2 step 5)."""
    response = CONTRACT["components"]["schemas"]["TriageResponse"]
    assert {"destination", "setting", "referrals"} <= set(response["required"])
    destination = response["properties"]["destination"]
    assert destination["allOf"] == [{"$ref": "#/components/schemas/Destination"}]
    assert "nullable" not in destination
    assert "nullable" not in CONTRACT["components"]["schemas"]["Destination"]


def test_triage_description_states_the_unknown_promise() -> None:
    """POST /v1/triage states the manifest's unknown promise word for word."""
    promise = " ".join(read_yaml(ROOT / "rules" / "ruleset.yaml")["unknown_promise"].split())
    description = " ".join(CONTRACT["paths"]["/v1/triage"]["post"]["description"].split())
    assert promise in description
