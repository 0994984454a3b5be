"""SDC $next-question: the adaptive QuestionnaireResponse grown step by step, then completed."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from typing import Any

import pytest
from fhir.resources.R4B.operationdefinition import OperationDefinition
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service.domain.findings import FINDINGS
from service.domain.interview import DISPOSITION
from service.interop.fhir.adaptive import ADAPTIVE, CONTAINED_ID, HIDDEN, RESULT
from service.interop.fhir.operations import NEXT_QUESTION, OPERATIONS, SDC_NEXT_QUESTION
from tests.helpers import RED_FLAG_SCREEN, vignettes
from tests.helpers.fhir import QUESTIONNAIRE_URL, URLS, answer, fhir_js_validate, needs_fhir_js

FHIR_JSON = "application/fhir+json"
NEXT_QUESTION_PATH = "/fhir/Questionnaire/$next-question"
DEFINITION_PATH = f"/fhir/OperationDefinition/{NEXT_QUESTION.id}"
VIGNETTES = {case.name.split(" ")[0]: case for case in vignettes()}
START_QUESTIONNAIRE = {
    "resourceType": "Questionnaire",
    "id": "start",
    "extension": [{"url": ADAPTIVE, "valueBoolean": True}],
    "title": "Forefoot triage",
    "derivedFrom": [QUESTIONNAIRE_URL],
    "status": "active",
}
# The SDC first call: a response to a contained adaptive Questionnaire with no items yet.
START = {
    "resourceType": "QuestionnaireResponse",
    "contained": [START_QUESTIONNAIRE],
    "questionnaire": "#start",
    "status": "in-progress",
    "subject": {"reference": "Patient/example"},
}


def _post(client: FlaskClient, body: Any, *, wrap: bool = True) -> TestResponse:
    if wrap:
        body = {
            "resourceType": "Parameters",
            "parameter": [{"name": "questionnaire-response", "resource": body}],
        }
    return client.post(NEXT_QUESTION_PATH, data=json.dumps(body), content_type=FHIR_JSON)


def _grown(client: FlaskClient, body: Any, *, wrap: bool = True) -> dict[str, Any]:
    response = _post(client, body, wrap=wrap)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == FHIR_JSON
    resource: dict[str, Any] = response.get_json(force=True)
    QuestionnaireResponse.model_validate(resource)
    return resource


def _questions(resource: Mapping[str, Any]) -> list[str]:
    (questionnaire,) = resource["contained"]
    assert questionnaire["id"] == CONTAINED_ID
    assert resource["questionnaire"] == f"#{CONTAINED_ID}"
    return [item["linkId"] for item in questionnaire["item"] if item["linkId"] != RESULT]


def _result(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The read-only result group's answers: {field: code or boolean}."""
    (group,) = [item for item in resource["item"] if item["linkId"] == RESULT]
    result = {}
    for item in group["item"]:
        (value,) = item["answer"]
        result[item["linkId"].split(".", 1)[1]] = value.get("valueCoding", {}).get(
            "code", value.get("valueBoolean")
        )
    return result


def _interview(
    client: FlaskClient, intake: Mapping[str, Mapping[str, Any]]
) -> tuple[list[str], list[dict[str, Any]]]:
    """Answer each asked question from the intake (left out: left unanswered, so unknown) until
    completed; the questions asked and every response returned."""
    resource: dict[str, Any] = START
    returned: list[dict[str, Any]] = []
    while True:
        resource = _grown(client, resource)
        returned.append(resource)
        asked = _questions(resource)
        if resource["status"] == "completed":
            return asked, returned
        assert len(returned) < 30, "the interview does not stop"
        answered = {item["linkId"] for item in resource["item"]}
        for name in asked:
            if name in answered:
                continue
            value = (intake.get(FINDINGS[name].group) or {}).get(name)
            item: dict[str, Any] = {"linkId": name}
            if value is not None:
                item["answer"] = [answer(value)]
            resource["item"].insert(-1, item)  # before the result group, as the server writes


def test_the_first_call_asks_the_danger_signs_on_one_screen(client: FlaskClient) -> None:
    """SDC first call: the contained Questionnaire grows by the seven danger signs."""
    resource = _grown(client, START)
    assert resource["status"] == "in-progress"
    assert _questions(resource) == [
        "foot_cold_pale_or_blue",
        "sudden_numbness_or_weakness",
        "systemically_unwell",
        "fever",
        "redness_spreading_rapidly",
        "black_or_dead_tissue",
        "hot_swollen_joint",
    ]
    assert set(_questions(resource)) == set(RED_FLAG_SCREEN)
    (questionnaire,) = resource["contained"]
    assert questionnaire["extension"] == [{"url": ADAPTIVE, "valueBoolean": True}]
    assert questionnaire["derivedFrom"][0].startswith(QUESTIONNAIRE_URL + "|")
    assert "url" not in questionnaire  # sdc-questionnaire-adapt: the one-off form has no url
    assert not any("enableWhen" in item for item in questionnaire["item"])
    assert resource["subject"] == {"reference": "Patient/example"}
    # Nothing answered yet: only the server's result group, hidden while provisional.
    assert [item["linkId"] for item in resource["item"]] == [RESULT]
    (group,) = [item for item in questionnaire["item"] if item["linkId"] == RESULT]
    assert group["extension"] == [{"url": HIDDEN, "valueBoolean": True}]
    assert all(item["readOnly"] for item in group["item"])
    # The same start posted bare, or as a response to the Questionnaire itself, under 'in'.
    bare = _grown(client, START, wrap=False)
    canonical = {"resourceType": "QuestionnaireResponse", "status": "in-progress"}
    canonical["questionnaire"] = QUESTIONNAIRE_URL
    by_in = client.post(
        NEXT_QUESTION_PATH,
        json={"resourceType": "Parameters", "parameter": [{"name": "in", "resource": canonical}]},
    )
    assert by_in.status_code == 200
    assert _questions(bare) == _questions(by_in.get_json()) == _questions(resource)


@pytest.mark.parametrize("name", ["V001", "V002", "V005", "V010", "V020"])
def test_a_vignette_interviewed_to_completion_has_the_full_forms_disposition(
    client: FlaskClient, name: str
) -> None:
    """Driven through $next-question: completed, with /v1/triage's disposition on the full intake,
    after asking what POST /v1/interview asks (ten at most a step)."""
    case = VIGNETTES[name]
    asked, returned = _interview(client, case.intake)
    full = client.post("/v1/triage", json=case.intake).get_json()
    final = returned[-1]
    assert _result(final) == {field: full[field] for field in DISPOSITION}
    (questionnaire,) = final["contained"]
    (group,) = [item for item in questionnaire["item"] if item["linkId"] == RESULT]
    assert "extension" not in group  # final: shown
    assert all(item["text"].endswith("(final)") for item in group["item"])
    # Every earlier step was in progress and grew the form by what it asked, keeping the rest.
    assert [r["status"] for r in returned] == ["in-progress"] * (len(returned) - 1) + ["completed"]
    for before, after in itertools.pairwise(returned):
        assert _questions(after)[: len(_questions(before))] == _questions(before)
    assert len(_questions(returned[-2])) == len(asked)  # completing asks nothing more
    # The same questions, in the same order, as the JSON interview asks.
    body: dict[str, Any] = {}
    for step in returned[:-1]:
        reply = client.post("/v1/interview", json={**body, "max_questions": 10}).get_json()
        new = [q["finding"] for q in reply["questions"]]
        assert _questions(step)[-len(new) :] == new
        for question in reply["questions"]:
            value = (case.intake.get(question["group"]) or {}).get(question["finding"])
            body.setdefault(question["group"], {})[question["finding"]] = value
    assert client.post("/v1/interview", json=body).get_json()["status"] == "complete"


def test_an_emergency_stops_early(client: FlaskClient) -> None:
    """A cold, pale foot (V002): emergency, completed after far fewer than the form's questions."""
    asked, returned = _interview(client, VIGNETTES["V002"].intake)
    assert _result(returned[-1])["urgency"] == "emergency"
    assert len(asked) < 25 < len(FINDINGS)
    assert asked[0] == "foot_cold_pale_or_blue"


def test_a_question_asked_and_left_unanswered_is_unknown(client: FlaskClient) -> None:
    """The danger signs sent back unanswered read as unknown: the provisional result is
    /v1/triage's with them 'unknown', and the next step moves on past them."""
    first = _grown(client, START)
    second = _grown(client, first)
    signs = {name: "unknown" for name in RED_FLAG_SCREEN}
    triage = client.post("/v1/triage", json={"symptoms": signs}).get_json()
    assert _result(second) == {field: triage[field] for field in DISPOSITION}
    assert [item["linkId"] for item in second["item"][:-1]] == _questions(first)
    assert all("answer" not in item for item in second["item"][:-1])
    assert len(_questions(second)) > len(_questions(first))
    # Answered explicitly 'unknown' instead: the same step.
    explicit = {**first, "item": [{"linkId": n, "answer": [answer("unknown")]} for n in signs]}
    assert _questions(_grown(client, explicit)) == _questions(second)


def test_the_result_group_says_what_is_final(client: FlaskClient) -> None:
    """Each result item is 'final' exactly when /v1/interview lists its field as decided."""
    intake = {"symptoms": {"fever": "yes", "onset": "gradual"}, "patient": {"age_years": 40}}
    start = {"resourceType": "QuestionnaireResponse", "status": "in-progress"}
    start["questionnaire"] = QUESTIONNAIRE_URL
    start["item"] = [
        {"linkId": name, "answer": [answer(value)]}
        for group in intake.values()
        for name, value in group.items()
    ]
    resource = _grown(client, start)
    decided = client.post("/v1/interview", json=intake).get_json()["decided"]
    (group,) = [item for item in resource["item"] if item["linkId"] == RESULT]
    final = {i["linkId"].split(".")[1] for i in group["item"] if i["text"].endswith("(final)")}
    assert final == set(decided)
    # Answers given up front count as asked: they head the contained Questionnaire.
    given = {name for group in intake.values() for name in group}
    assert _questions(resource)[:3] == [name for name in FINDINGS if name in given]


@needs_fhir_js
def test_every_resource_validates_with_fhir_js(client: FlaskClient) -> None:
    """The grown responses (an emergency and a routine case), an OperationOutcome and the
    OperationDefinition pass FHIR.js's R4 validation, bindings included."""
    _, emergency = _interview(client, VIGNETTES["V002"].intake)
    _, routine = _interview(client, VIGNETTES["V001"].intake)
    outcome = _post(client, {"resourceType": "Patient"}).get_json(force=True)
    definition = client.get(DEFINITION_PATH).get_json(force=True)
    resources = [*emergency, *routine, outcome, definition]
    results = fhir_js_validate(resources)
    assert [r["messages"] for r in results] == [[]] * len(resources)
    assert all(r["valid"] for r in results)


def test_the_operation_definition(app: Flask, client: FlaskClient) -> None:
    """Served at its canonical, R4-valid, derived from SDC's, type-level on Questionnaire, at the
    path the app serves, and listed by the CapabilityStatement under Questionnaire."""
    response = client.get(DEFINITION_PATH)
    assert (response.status_code, response.mimetype) == (200, FHIR_JSON)
    definition = response.get_json(force=True)
    OperationDefinition.model_validate(definition)
    assert definition["url"] == URLS.operation(NEXT_QUESTION.id)
    assert definition["version"] == app.extensions["triage"].ruleset.version
    assert (definition["code"], definition["base"]) == ("next-question", SDC_NEXT_QUESTION)
    assert (definition["type"], definition["instance"], definition["system"]) == (
        True,
        False,
        False,
    )
    assert [(p["name"], p["use"]) for p in definition["parameter"]] == [
        ("questionnaire-response", "in"),
        ("return", "out"),
    ]
    assert f"/fhir/{definition['resource'][0]}/${definition['code']}" == NEXT_QUESTION_PATH
    assert any(rule.rule == NEXT_QUESTION_PATH for rule in app.url_map.iter_rules())
    assert NEXT_QUESTION in OPERATIONS
    metadata = client.get("/fhir/metadata").get_json(force=True)
    (questionnaire,) = [r for r in metadata["rest"][0]["resource"] if r["type"] == "Questionnaire"]
    assert questionnaire["operation"] == [
        {"name": "next-question", "definition": definition["url"]}
    ]


def _with_contained_items(items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    questionnaire = {**START_QUESTIONNAIRE, "item": items}
    return {**START, "contained": [questionnaire], **extra}


@pytest.mark.parametrize(
    ("body", "status", "expression"),
    [
        ([START], 400, None),
        ({"resourceType": "Patient"}, 400, None),
        (
            {"resourceType": "Parameters", "parameter": [{"name": "x", "resource": START}]},
            400,
            None,
        ),
        ({"resourceType": "Parameters", "parameter": "no"}, 400, None),
        ({**START, "questionnaire": "https://elsewhere.example/Questionnaire/q"}, 422, None),
        ({**START, "questionnaire": "#missing"}, 400, None),
        ({**START, "contained": [{**START_QUESTIONNAIRE, "derivedFrom": ["x"]}]}, 422, None),
        (_with_contained_items([{"linkId": "my name is Jane"}]), 422, None),
        (_with_contained_items([{"linkId": "fever"}, {"linkId": "fever"}]), 422, "fever"),
        ({**START, "item": [{"linkId": "fever", "answer": [answer("yes")]}]}, 422, "fever"),
        (
            _with_contained_items(
                [{"linkId": "age_years"}],
                item=[{"linkId": "age_years", "answer": [answer(500)]}],
            ),
            422,
            "age_years",
        ),
        ({**START, "status": "entered-in-error"}, 422, None),
        ({**START, "item": "x"}, 400, None),
        ({**START, "contained": [{**START_QUESTIONNAIRE, "item": "x"}]}, 400, None),
        ({**START, "contained": "x"}, 400, None),
    ],
)
def test_bad_input_is_an_operation_outcome(
    client: FlaskClient, body: Any, status: int, expression: str | None
) -> None:
    """A body that is not an adaptive response to our form: 400; a wrong answer or form: 422;
    the issue names the item when it is one of ours, and never echoes a made-up linkId."""
    response = _post(client, body, wrap=False)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == FHIR_JSON
    outcome = response.get_json(force=True)
    OperationOutcome.model_validate(outcome)
    assert "Jane" not in response.get_data(as_text=True)
    if expression:
        assert any(expression in e for i in outcome["issue"] for e in i.get("expression", []))


def test_not_json_and_not_fhir_are_refused(client: FlaskClient) -> None:
    """415 for another content type, 400 for a body that is not JSON; both OperationOutcomes."""
    for data, content_type, status in (
        ("x", "text/plain", 415),
        ("{not json", FHIR_JSON, 400),
    ):
        response = client.post(NEXT_QUESTION_PATH, data=data, content_type=content_type)
        assert response.status_code == status
        OperationOutcome.model_validate(response.get_json(force=True))


def test_the_id_and_subject_are_kept_and_nothing_else_is_echoed(client: FlaskClient) -> None:
    """A valid id and the subject's reference come back; a made-up element or id does not."""
    kept = _grown(client, {**START, "id": "qr-1", "note": "free text"})
    assert (kept["id"], kept["subject"]) == ("qr-1", {"reference": "Patient/example"})
    assert "note" not in kept
    assert "id" not in _grown(client, {**START, "id": "not a valid id!"})
