"""FHIR R4: the Questionnaire, QuestionnaireResponse in, GuidanceResponse out, OperationOutcomes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fhir.resources.R4B.guidanceresponse import GuidanceResponse
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service import create_app
from service.cases import Case, load_vignettes
from service.fhir_common import (
    ANSWERS_SYSTEM,
    DATA_ABSENT_REASON,
    MAX_VALUE,
    MIN_VALUE,
    MODULE_URL,
    QUESTIONNAIRE_URL,
)
from service.findings import FINDINGS, INJURY_ONLY
from service.ruleset import Ruleset
from tests.conftest import RED_FLAG_SCREEN, ROOT
from tests.fhir_support import fhir_js_validate, needs_fhir_js, response_from_intake

QUESTIONNAIRE = "/fhir/Questionnaire/forefoot-triage"
TRIAGE = "/fhir/QuestionnaireResponse/$triage"
FHIR_JSON = "application/fhir+json"
VIGNETTES = load_vignettes(ROOT / "tests" / "vignettes" / "vignettes.yaml")
FLAGS = RED_FLAG_SCREEN
CLEAR = {
    "patient": {"age_years": 40},
    "symptoms": {"onset": "gradual", "pain_nrs": 3, **{flag: "no" for flag in FLAGS}},
}


def _post(client: FlaskClient, resource: Any) -> TestResponse:
    return client.post(TRIAGE, data=json.dumps(resource), content_type=FHIR_JSON)


def _outcome(response: TestResponse, status: int) -> dict[str, Any]:
    """The OperationOutcome of an error answer, checked against R4B."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == FHIR_JSON
    body: dict[str, Any] = response.get_json(force=True)
    OperationOutcome.model_validate(body)
    return body


def _items(questionnaire: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["linkId"]: item for group in questionnaire["item"] for item in group["item"]}


def _parameter(guidance: dict[str, Any], name: str) -> list[dict[str, Any]]:
    (parameters,) = guidance["contained"]
    return [p for p in parameters["parameter"] if p["name"] == name]


def test_questionnaire_is_generated_from_the_catalogue(
    client: FlaskClient, ruleset: Ruleset
) -> None:
    """One item per finding in its group, codings, bounds, canonical, version = ruleset version."""
    response = client.get(QUESTIONNAIRE)
    assert response.status_code == 200
    assert response.mimetype == FHIR_JSON
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json(force=True)
    Questionnaire.model_validate(body)
    assert (body["url"], body["version"], body["status"]) == (
        QUESTIONNAIRE_URL,
        ruleset.version,
        "active",
    )
    assert [group["linkId"] for group in body["item"]] == ["patient", "history", "symptoms"]
    items = _items(body)
    assert list(items) == list(FINDINGS)
    for name, finding in FINDINGS.items():
        item = items[name]
        assert item["text"] == finding.label
        if finding.is_numeric:
            assert item["type"] == "integer"
            assert item["extension"] == [
                {"url": MIN_VALUE, "valueInteger": finding.minimum},
                {"url": MAX_VALUE, "valueInteger": finding.maximum},
            ]
        else:
            assert item["type"] == "choice"
            codings = [option["valueCoding"] for option in item["answerOption"]]
            assert {c["system"] for c in codings} == {ANSWERS_SYSTEM}
            assert tuple(c["code"] for c in codings) == finding.values
        assert item["item"][0]["text"] == finding.help


def test_injury_only_questions_are_enabled_by_onset_injury(client: FlaskClient) -> None:
    """enableWhen onset = injury on exactly the injury-only questions."""
    items = _items(client.get(QUESTIONNAIRE).get_json(force=True))
    enabled = {name for name, item in items.items() if "enableWhen" in item}
    assert enabled == set(INJURY_ONLY)
    for name in INJURY_ONLY:
        (condition,) = items[name]["enableWhen"]
        assert condition["question"] == "onset"
        assert condition["operator"] == "="
        assert condition["answerCoding"]["code"] == "injury"


@pytest.mark.parametrize("nested", [True, False], ids=["nested", "flat"])
@pytest.mark.parametrize("vignette", VIGNETTES, ids=[v.name.split()[0] for v in VIGNETTES])
def test_round_trip_equals_v1_triage(client: FlaskClient, vignette: Case, nested: bool) -> None:
    """A QuestionnaireResponse of the vignette gives /v1/triage's level, urgency and rules."""
    expected = client.post("/v1/triage", json=vignette.intake).get_json()
    response = _post(client, response_from_intake(vignette.intake, nested=nested))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == FHIR_JSON
    guidance = response.get_json(force=True)
    GuidanceResponse.model_validate(guidance)
    assert _parameter(guidance, "level")[0]["valueCoding"]["code"] == expected["level"]
    assert _parameter(guidance, "urgency")[0]["valueCoding"]["code"] == expected["urgency"]
    review = _parameter(guidance, "needs_clinician_review")[0]["valueBoolean"]
    assert review is expected["needs_clinician_review"]
    rules = [rule["part"][0]["valueCoding"]["code"] for rule in _parameter(guidance, "rule")]
    assert rules == [entry["rule_id"] for entry in expected["rationale"]]
    assert [reason["coding"][0]["code"] for reason in guidance["reasonCode"]] == rules
    cited = [p["valueRelatedArtifact"]["label"] for p in _parameter(guidance, "citation")]
    assert cited == [citation["key"] for citation in expected["citations"]]


def test_guidance_response_carries_identity_and_narrative(client: FlaskClient) -> None:
    """moduleUri, decision id as identifiers, occurrence, outputParameters and a narrative."""
    response = client.post(
        TRIAGE,
        json=response_from_intake(CLEAR, version="2026.11.2"),
        headers={"X-Request-ID": "abc-123"},
    )
    guidance = response.get_json(force=True)
    assert guidance["status"] == "success"
    assert "dataRequirement" not in guidance
    assert guidance["moduleUri"] == MODULE_URL
    assert guidance["requestIdentifier"]["value"] == "abc-123"
    assert guidance["identifier"][0]["value"] == "abc-123"
    assert guidance["occurrenceDateTime"].endswith("+00:00")
    assert guidance["outputParameters"] == {"reference": "#result"}
    assert guidance["contained"][0]["id"] == "result"
    assert guidance["subject"] == {"reference": "Patient/example"}
    assert guidance["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')


def test_unknown_red_flags_give_data_required(client: FlaskClient) -> None:
    """G2 fired by an unknown flag: data-required with a dataRequirement per question to ask."""
    intake = {"symptoms": {**CLEAR["symptoms"], "fever": None, "systemically_unwell": "unknown"}}
    guidance = _post(client, response_from_intake(intake)).get_json(force=True)
    assert guidance["status"] == "data-required"
    wanted = {req["codeFilter"][0]["code"][0]["code"] for req in guidance["dataRequirement"]}
    assert {"fever", "systemically_unwell"} <= wanted
    assert {req["type"] for req in guidance["dataRequirement"]} == {"Observation"}
    assert {req["codeFilter"][0]["path"] for req in guidance["dataRequirement"]} == {"code"}


def test_an_emergency_leads_with_the_escalation(client: FlaskClient) -> None:
    """The narrative of an emergency says 'Emergency department now' before anything else."""
    intake = {"symptoms": {**CLEAR["symptoms"], "foot_cold_pale_or_blue": "yes"}}
    guidance = _post(client, response_from_intake(intake)).get_json(force=True)
    assert guidance["text"]["div"].split("<p>")[1].startswith("<b>Emergency department now</b>")


def test_a_flag_answered_yes_is_not_missing_data(client: FlaskClient) -> None:
    """G2 fired by a yes only: the data is there, so the status stays success."""
    intake = {"symptoms": {**CLEAR["symptoms"], "fever": "yes"}}
    guidance = _post(client, response_from_intake(intake)).get_json(force=True)
    assert "G2" in [reason["coding"][0]["code"] for reason in guidance["reasonCode"]]
    assert guidance["status"] == "success"


def test_missing_absent_and_unknown_answers_are_the_same(client: FlaskClient) -> None:
    """An item left out, a data-absent-reason answer and the code unknown give one result."""
    absent = response_from_intake({"symptoms": {**CLEAR["symptoms"], "fever": None}})
    unknown = response_from_intake({"symptoms": {**CLEAR["symptoms"], "fever": "unknown"}})
    left_out = response_from_intake(
        {"symptoms": {k: v for k, v in CLEAR["symptoms"].items() if k != "fever"}}
    )
    results = [
        _post(client, resource).get_json(force=True) for resource in (absent, unknown, left_out)
    ]
    assert len({json.dumps(r["reasonCode"]) for r in results}) == 1


def test_boolean_answers_to_yes_no_questions(client: FlaskClient) -> None:
    """valueBoolean true/false reads as yes/no on a tri-state question."""
    coded = response_from_intake({"symptoms": {**CLEAR["symptoms"], "fever": "yes"}})
    boolean = response_from_intake(CLEAR)
    fever = next(i for i in boolean["item"][1]["item"] if i["linkId"] == "fever")
    fever["answer"] = [{"valueBoolean": True}]
    first, second = (_post(client, r).get_json(force=True) for r in (coded, boolean))
    assert first["reasonCode"] == second["reasonCode"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("{not json", 400),
        ('{"resourceType": "Patient"}', 400),
        ("[]", 400),
        ('{"resourceType": "QuestionnaireResponse", "status": "done"}', 400),
        (
            '{"resourceType": "QuestionnaireResponse", "status": "completed", '
            '"questionnaire": "https://example.org/Questionnaire/other"}',
            422,
        ),
        (
            '{"resourceType": "QuestionnaireResponse", "status": "completed", '
            f'"questionnaire": "{QUESTIONNAIRE_URL}", "item": {{}}}}',
            400,
        ),
        (
            '{"resourceType": "QuestionnaireResponse", "status": "entered-in-error", '
            f'"questionnaire": "{QUESTIONNAIRE_URL}"}}',
            422,
        ),
    ],
)
def test_unusable_bodies_get_an_operation_outcome(
    client: FlaskClient, body: str, status: int
) -> None:
    """Malformed JSON, another resource or a foreign questionnaire: a 4xx OperationOutcome."""
    response = client.post(TRIAGE, data=body, content_type=FHIR_JSON)
    assert _outcome(response, status)["issue"][0]["severity"] == "error"


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("pain_nrs", {"valueInteger": 11}),
        ("pain_nrs", {"valueDecimal": 6.5}),
        ("onset", {"valueCoding": {"system": ANSWERS_SYSTEM, "code": "yesterday"}}),
        ("onset", {"valueCoding": {"system": "http://snomed.info/sct", "code": "123"}}),
        ("fever", {"valueString": "yes"}),
        ("fever", {}),
    ],
)
def test_disallowed_answers_are_422_naming_the_link_id(
    client: FlaskClient, name: str, answer: dict[str, Any]
) -> None:
    """An answer the intake does not allow: 422 OperationOutcome whose expression names the item."""
    resource = response_from_intake({"symptoms": {"onset": "gradual"}}, nested=False)
    resource["item"].append({"linkId": name, "answer": [answer]})
    resource["item"] = [i for i in resource["item"] if i["linkId"] != name] + [resource["item"][-1]]
    issues = _outcome(_post(client, resource), 422)["issue"]
    assert any(f"linkId='{name}'" in expr for i in issues for expr in i.get("expression", []))


@pytest.mark.parametrize(
    "items",
    [
        [{"linkId": "my name is Jane Doe", "answer": [{"valueString": "x"}]}],
        [{"linkId": "fever", "answer": [{"valueBoolean": True}, {"valueBoolean": False}]}],
        [{"linkId": "fever"}, {"linkId": "fever"}],
        [{"linkId": "history", "item": [{"linkId": "fever"}]}],
    ],
    ids=["unknown-link-id", "two-answers", "repeated", "wrong-group"],
)
def test_items_that_are_not_ours_are_422(client: FlaskClient, items: list[Any]) -> None:
    """Unknown linkIds (never echoed), repeated items, several answers or a wrong group: 422."""
    resource = response_from_intake({})
    resource["item"] = items
    body = _outcome(_post(client, resource), 422)
    assert "Jane" not in json.dumps(body)


def test_wrong_content_type_is_415_operation_outcome(client: FlaskClient) -> None:
    """text/plain: 415 as an OperationOutcome."""
    response = client.post(TRIAGE, data="{}", content_type="text/plain")
    _outcome(response, 415)


def test_routing_errors_on_fhir_paths_are_operation_outcomes(client: FlaskClient) -> None:
    """404 and 405 under /fhir are OperationOutcomes; elsewhere they stay problem+json."""
    _outcome(client.get("/fhir/Patient/1"), 404)
    not_allowed = client.delete(QUESTIONNAIRE)
    _outcome(not_allowed, 405)
    assert "GET" in not_allowed.headers["Allow"]
    assert client.get("/v1/nowhere").mimetype == "application/problem+json"


def test_fhir_paths_take_the_api_key() -> None:
    """With TRIAGE_API_KEYS set, /fhir needs a key (401 OperationOutcome without one)."""
    key = "fhir-key-aaaaaaaaaaaaaaaa"
    app: Flask = create_app({"API_KEYS": key})
    client = app.test_client()
    _outcome(client.get(QUESTIONNAIRE), 401)
    assert client.get(QUESTIONNAIRE, headers={"X-API-Key": key}).status_code == 200


def test_data_absent_reason_extension_is_fhir_valid(client: FlaskClient) -> None:
    """The QuestionnaireResponses built in these tests are valid R4B resources themselves."""
    resource = response_from_intake({"symptoms": {"fever": None, "pain_nrs": 4, "onset": "injury"}})
    QuestionnaireResponse.model_validate(resource)
    assert resource["item"][0]["item"][0]["answer"][0]["extension"][0]["url"] == DATA_ABSENT_REASON


@needs_fhir_js
def test_fhir_js_accepts_every_resource_we_produce(client: FlaskClient) -> None:
    """FHIR.js (npm fhir 4.12.0) finds no error or warning in our resources."""
    questionnaire = client.get(QUESTIONNAIRE).get_json(force=True)
    success = _post(client, response_from_intake(CLEAR)).get_json(force=True)
    required = _post(client, response_from_intake({"symptoms": {"fever": None}})).get_json(
        force=True
    )
    emergency = next(v for v in VIGNETTES if v.urgency == "emergency")
    urgent = _post(client, response_from_intake(emergency.intake)).get_json(force=True)
    outcome = client.post(TRIAGE, data="{", content_type=FHIR_JSON).get_json(force=True)
    invalid = _post(
        client,
        {
            **response_from_intake({}),
            "item": [{"linkId": "pain_nrs", "answer": [{"valueInteger": 99}]}],
        },
    ).get_json(force=True)
    resources = [
        questionnaire,
        success,
        required,
        urgent,
        outcome,
        invalid,
        response_from_intake(CLEAR),
    ]
    assert required["status"] == "data-required"
    for resource, result in zip(resources, fhir_js_validate(resources), strict=True):
        assert result == {"valid": True, "messages": []}, (resource["resourceType"], result)


@needs_fhir_js
def test_fhir_js_can_fail() -> None:
    """FHIR.js rejects a status outside its value set (the validator test can fail)."""
    (result,) = fhir_js_validate([{"resourceType": "GuidanceResponse", "status": "done"}])
    assert result["valid"] is False


INJURY_TENDER = {
    "symptoms": {
        **CLEAR["symptoms"],
        "onset": "injury",
        "pain_location": "midfoot",
        "pain_nrs": 5,
        "steps_immediately": 4,
        "steps_now": 4,
    }
}


def _with_answer(resource: dict[str, Any], link_id: str, answer: dict[str, Any]) -> None:
    for group in resource["item"]:
        for item in group.get("item", []):
            if item["linkId"] == link_id:
                item["answer"] = [answer]
                return
    resource["item"][-1]["item"].append({"linkId": link_id, "answer": [answer]})


def test_a_value_with_data_absent_reason_is_refused(client: FlaskClient) -> None:
    """A yes that also says 'data absent' is contradictory: 422, never read as unknown."""
    resource = response_from_intake(INJURY_TENDER)
    _with_answer(
        resource,
        "tender_5th_mt_base",
        {
            "valueCoding": {"system": ANSWERS_SYSTEM, "code": "yes"},
            "extension": [{"url": DATA_ABSENT_REASON, "valueCode": "asked-unknown"}],
        },
    )
    outcome = _outcome(_post(client, resource), 422)
    assert "tender_5th_mt_base" in json.dumps(outcome)


def test_primitive_data_absent_reason_is_unknown(client: FlaskClient) -> None:
    """_valueBoolean carrying only a data-absent-reason is an unknown answer."""
    left_out = response_from_intake(
        {"symptoms": {k: v for k, v in CLEAR["symptoms"].items() if k != "fever"}}
    )
    primitive = response_from_intake(CLEAR)
    _with_answer(
        primitive,
        "fever",
        {
            "_valueBoolean": {
                "extension": [{"url": DATA_ABSENT_REASON, "valueCode": "asked-unknown"}]
            }
        },
    )
    first, second = (_post(client, r).get_json(force=True) for r in (left_out, primitive))
    assert first["reasonCode"] == second["reasonCode"]


@pytest.mark.parametrize("where", ["answer.item", "item.item"])
def test_nested_answers_are_refused_not_dropped(client: FlaskClient, where: str) -> None:
    """An answer nested under a question would be lost: 422 naming the question."""
    resource = response_from_intake(INJURY_TENDER)
    nested = {"linkId": "tender_5th_mt_base", "answer": [answer_yes()]}
    onset = next(i for i in resource["item"][-1]["item"] if i["linkId"] == "onset")
    if where == "answer.item":
        onset["answer"][0]["item"] = [nested]
    else:
        onset["item"] = [nested]
    outcome = _outcome(_post(client, resource), 422)
    assert "onset" in json.dumps(outcome)


def test_help_items_may_sit_under_their_question(client: FlaskClient) -> None:
    """The question's own display item, without an answer, is accepted and ignored."""
    resource = response_from_intake(INJURY_TENDER)
    onset = next(i for i in resource["item"][-1]["item"] if i["linkId"] == "onset")
    onset["item"] = [{"linkId": "onset.help"}]
    assert _post(client, resource).status_code == 200


def answer_yes() -> dict[str, Any]:
    """A coded yes."""
    return {"valueCoding": {"system": ANSWERS_SYSTEM, "code": "yes"}}
