"""openapi.yaml and the Marshmallow schemas describe the same intake, field for field."""

from __future__ import annotations

from typing import Any

import pytest
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from service.domain.intake_schema import (
    TRI_STATE,
    HistorySchema,
    PatientSchema,
    SymptomsSchema,
    TriageRequestSchema,
)
from service.domain.ruleset_loader import read_yaml
from tests.helpers import ROOT, shipped_ruleset
from tests.helpers.yaml_text import load_yaml

QUESTIONS = shipped_ruleset().questions
CONTRACT: dict[str, Any] = load_yaml((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
SCHEMAS: dict[str, type[Schema]] = {
    "Patient": PatientSchema,
    "History": HistorySchema,
    "Symptoms": SymptomsSchema,
    "TriageRequest": TriageRequestSchema,
}
# Every choice question has its own shared enum component; the yes/no questions share TriState.
CHOICES = {
    "toe_deformity": "ToeDeformity",
    "arch_type": "ArchType",
    "onset": "Onset",
    "injury_mechanism": "InjuryMechanism",
    "pain_location": "PainLocation",
    "swelling": "Swelling",
}
NULL = "#/components/schemas/JsonNull"


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
    for name in ("Patient", "History", "Symptoms"):
        properties = generated[name]["properties"]
        for finding, schema in properties.items():
            if "enum" in schema:
                properties[finding] = _shared_enum(finding, schema)
            # Each question's wording is data (rules/questions.yaml): an x-label (a title would
            # name a generated class) and the description.
            question = QUESTIONS[finding]
            properties[finding].update({"x-label": question.label, "description": question.help})
    return generated


def _shared_enum(finding: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The contract's spelling of a nullable string enum: its shared component, or JsonNull."""
    values = [value for value in schema["enum"] if value is not None]
    assert schema == {"type": "string", "enum": [*values, None], "nullable": True}
    component = "TriState" if values == list(TRI_STATE) else CHOICES[finding]
    return {"anyOf": [{"$ref": f"#/components/schemas/{component}"}, {"$ref": NULL}]}


@pytest.mark.parametrize("name", SCHEMAS)
def test_contract_schema_equals_marshmallow(name: str) -> None:
    """The YAML component is what apispec derives from Marshmallow, its enums the shared ones."""
    assert CONTRACT["components"]["schemas"][name] == _generated()[name]


@pytest.mark.parametrize("component", ["TriState", *CHOICES.values()])
def test_shared_enum_components_equal_marshmallow(component: str) -> None:
    """Each shared answer enum holds exactly the values Marshmallow accepts, null aside."""
    wanted = {tuple(TRI_STATE)} if component == "TriState" else set()
    for schema in SCHEMAS.values():
        for finding, field in schema().fields.items():
            if CHOICES.get(finding) == component:
                wanted.add(tuple(field.validate.choices))  # type: ignore[union-attr]
    shared = CONTRACT["components"]["schemas"][component]
    assert {key: shared[key] for key in ("type", "enum")} == {
        "type": "string",
        "enum": list(wanted.pop()),
    }
    assert not wanted
    assert set(shared) == {"type", "enum", "description"}


def test_json_null_is_the_one_null() -> None:
    """JsonNull admits null only; unknown is spelt "unknown" in TriState and every choice."""
    assert CONTRACT["components"]["schemas"]["JsonNull"]["enum"] == [None]
    for component in ["TriState", *CHOICES.values()]:
        assert "unknown" in CONTRACT["components"]["schemas"][component]["enum"]


def test_drift_is_detected() -> None:
    """A changed maximum in the YAML would fail the comparison (the test can fail)."""
    tampered = load_yaml((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
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
