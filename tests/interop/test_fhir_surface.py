"""The FHIR R4 server surface: metadata, operations, code systems, search, formats, base URL."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.guidanceresponse import GuidanceResponse
from fhir.resources.R4B.operationdefinition import OperationDefinition
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.parameters import Parameters
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service.config import load_config
from service.domain.ruleset import Ruleset
from service.exceptions import ConfigError
from service.interop.fhir.capability import build_capability
from service.interop.fhir.common import fhir_urls
from service.interop.fhir.operations import NEXT_QUESTION, OPERATIONS, TRIAGE, Operation
from tests.helpers import RED_FLAG_SCREEN, AppFactory, vignettes
from tests.helpers.fhir import (
    CLEAR,
    QUESTIONNAIRE_URL,
    URLS,
    answer,
    fhir_js_validate,
    needs_fhir_js,
    response_from_intake,
)

FHIR_JSON = "application/fhir+json"
TRIAGE_PATH = "/fhir/QuestionnaireResponse/$triage"
QUESTIONNAIRE = "/fhir/Questionnaire/forefoot-triage"
# An injury with a tender 5th metatarsal base: UR1, fracture clinic today.
FRACTURE = {
    **CLEAR,
    "symptoms": {
        **CLEAR["symptoms"],
        "onset": "injury",
        "injury_mechanism": "twist",
        "pain_location": "midfoot",
        "steps_immediately": 4,
        "tender_5th_mt_base": "yes",
        "pain_out_of_proportion": "no",
    },
}


def _fhir(response: TestResponse, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == FHIR_JSON
    body: dict[str, Any] = response.get_json(force=True)
    return body


def _post(client: FlaskClient, resource: Any, **kwargs: Any) -> TestResponse:
    return client.post(TRIAGE_PATH, data=json.dumps(resource), content_type=FHIR_JSON, **kwargs)


def _result(guidance: dict[str, Any]) -> list[dict[str, Any]]:
    """The contained Parameters, which carry the whole triage answer."""
    (parameters,) = guidance["contained"]
    result: list[dict[str, Any]] = parameters["parameter"]
    return result


def _as_parameters(resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": "questionnaire-response", "resource": resource}],
    }


# --- /fhir/metadata and the operation registry ------------------------------------------------


def test_metadata_is_an_r4_capability_statement(client: FlaskClient) -> None:
    """fhirVersion 4.0.1, JSON only, every registered operation under its resource type."""
    body = _fhir(client.get("/fhir/metadata"))
    CapabilityStatement.model_validate(body)
    assert (body["fhirVersion"], body["kind"], body["status"]) == ("4.0.1", "instance", "active")
    assert "application/fhir+xml" not in body["format"]
    (rest,) = body["rest"]
    resources = {resource["type"]: resource for resource in rest["resource"]}
    for operation in OPERATIONS:
        listed = resources[operation.resource]["operation"]
        assert {"name": operation.code, "definition": operation.canonical(URLS)} in listed
    questionnaire = resources["Questionnaire"]
    assert {i["code"] for i in questionnaire["interaction"]} == {"read", "search-type"}
    assert [p["name"] for p in questionnaire["searchParam"]] == ["url"]
    assert {"read"} <= {i["code"] for i in resources["CodeSystem"]["interaction"]}


def test_every_operation_definition_listed_is_served(client: FlaskClient) -> None:
    """Each definition the CapabilityStatement names resolves under /fhir (our own ones)."""
    body = _fhir(client.get("/fhir/metadata"))
    definitions = [
        op["definition"] for r in body["rest"][0]["resource"] for op in r.get("operation", [])
    ]
    assert URLS.operation(TRIAGE.id) in definitions
    for canonical in definitions:
        assert canonical.startswith(URLS.base + "/OperationDefinition/")
        served = _fhir(client.get(canonical.removeprefix(URLS.base.removesuffix("/fhir"))))
        OperationDefinition.model_validate(served)
        assert served["url"] == canonical


def test_the_triage_operation_definition(client: FlaskClient) -> None:
    """$triage: type-level on QuestionnaireResponse, one QuestionnaireResponse in, one out."""
    body = _fhir(client.get(f"/fhir/OperationDefinition/{TRIAGE.id}"))
    OperationDefinition.model_validate(body)
    assert (body["code"], body["resource"], body["type"], body["instance"]) == (
        "triage",
        ["QuestionnaireResponse"],
        True,
        False,
    )
    assert body["affectsState"] is False
    parameters = {(p["use"], p["name"]): p["type"] for p in body["parameter"]}
    assert parameters == {
        ("in", "questionnaire-response"): "QuestionnaireResponse",
        ("out", "return"): "GuidanceResponse",
    }


def test_an_unknown_definition_is_a_404_operation_outcome(client: FlaskClient) -> None:
    OperationOutcome.model_validate(_fhir(client.get("/fhir/OperationDefinition/nope"), 404))
    OperationOutcome.model_validate(_fhir(client.get("/fhir/CodeSystem/nope"), 404))


def test_another_operation_is_one_more_registry_entry() -> None:
    """An operation added to the list (here SDC $populate, by SDC's canonical) appears in the
    capability after ours on the same resource type, and is not served as ours."""
    populate = Operation(
        id="Questionnaire-populate",
        code="populate",
        resource="Questionnaire",
        title="Populate",
        description="SDC populate",
        parameters=(),
        definition="http://hl7.org/fhir/uv/sdc/OperationDefinition/Questionnaire-populate",
    )
    body = build_capability((*OPERATIONS, populate), URLS, "1", "2026-01-01")
    CapabilityStatement.model_validate(body)
    resources = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert resources["Questionnaire"]["operation"] == [
        {"name": "next-question", "definition": URLS.operation(NEXT_QUESTION.id)},
        {"name": "populate", "definition": populate.definition},
    ]
    assert resources["QuestionnaireResponse"]["operation"] == [
        {"name": "triage", "definition": URLS.operation(TRIAGE.id)}
    ]


def test_an_operation_on_another_resource_type_gets_its_own_entry() -> None:
    everything = Operation(
        id="Patient-everything",
        code="everything",
        resource="Patient",
        title="Everything",
        description="A made-up example",
        parameters=(),
        instance=True,
    )
    body = build_capability((*OPERATIONS, everything), URLS, "1", "2026-01-01")
    CapabilityStatement.model_validate(body)
    (patient,) = [r for r in body["rest"][0]["resource"] if r["type"] == "Patient"]
    assert patient == {
        "type": "Patient",
        "operation": [{"name": "everything", "definition": URLS.operation("Patient-everything")}],
    }


# --- $triage with a Parameters body ------------------------------------------------------------


def test_parameters_body_triages_as_the_bare_response(client: FlaskClient) -> None:
    """What HAPI's generic client sends: the same answer as the QuestionnaireResponse alone."""
    resource = response_from_intake(FRACTURE)
    bare = _fhir(_post(client, resource))
    wrapped_body = _as_parameters(resource)
    Parameters.model_validate(wrapped_body)
    wrapped = _fhir(_post(client, wrapped_body))
    GuidanceResponse.model_validate(wrapped)
    assert _result(wrapped) == _result(bare)
    assert wrapped["subject"] == {"reference": "Patient/example"}
    urgency = next(p for p in _result(wrapped) if p["name"] == "urgency")
    assert urgency["valueCoding"]["code"] == "urgent"


@pytest.mark.parametrize(
    "parameters",
    [
        [],
        [{"name": "response", "resource": response_from_intake(CLEAR)}],
        [{"name": "questionnaire-response", "resource": response_from_intake(CLEAR)}] * 2,
        [{"name": "questionnaire-response", "valueString": "x"}],
    ],
    ids=["none", "wrong-name", "two", "no-resource"],
)
def test_a_parameters_body_without_one_response_is_400(
    client: FlaskClient, parameters: list[Any]
) -> None:
    body = _fhir(_post(client, {"resourceType": "Parameters", "parameter": parameters}), 400)
    OperationOutcome.model_validate(body)
    assert "questionnaire-response" in body["issue"][0]["diagnostics"]


def test_a_parameters_body_is_read_like_a_bare_one(client: FlaskClient) -> None:
    """The response inside is checked as strictly: a foreign Questionnaire is 422."""
    foreign = {**response_from_intake(CLEAR), "questionnaire": "http://other.org/Questionnaire/x"}
    OperationOutcome.model_validate(_fhir(_post(client, _as_parameters(foreign)), 422))


# --- search and code systems -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "total"),
    [
        (f"url={QUESTIONNAIRE_URL}", 1),
        (f"url={QUESTIONNAIRE_URL}|{{version}}", 1),
        (f"url={QUESTIONNAIRE_URL}|1999.1.0", 0),
        ("url=http://other.org/Questionnaire/forefoot-triage", 0),
        ("_id=forefoot-triage", 1),
        ("_id=other", 0),
        ("version={version}", 1),
        ("version=1999.1.0", 0),
        ("", 1),
    ],
)
def test_questionnaire_search_by_url(
    client: FlaskClient, ruleset: Ruleset, query: str, total: int
) -> None:
    """{version} is the ruleset's version: the Questionnaire's."""
    body = _fhir(client.get(f"/fhir/Questionnaire?{query.format(version=ruleset.version)}"))
    Bundle.model_validate(body)
    assert (body["type"], body["total"], len(body["entry"])) == ("searchset", total, total)
    if total:
        (entry,) = body["entry"]
        assert entry["resource"] == _fhir(client.get(QUESTIONNAIRE))
        assert entry["fullUrl"] == "http://localhost/fhir/Questionnaire/forefoot-triage"
        assert entry["search"] == {"mode": "match"}


def _codings(resource: Any) -> list[dict[str, Any]]:
    """Every Coding (a dict with system and code) anywhere in a resource."""
    if isinstance(resource, list):
        return [coding for element in resource for coding in _codings(element)]
    if not isinstance(resource, dict):
        return []
    found = [resource] if {"system", "code"} <= resource.keys() else []
    return found + [coding for value in resource.values() for coding in _codings(value)]


def test_every_code_of_ours_resolves(client: FlaskClient) -> None:
    """Each of our codings in the Questionnaire and in answers is in a CodeSystem we serve."""
    emergency = next(v for v in vignettes() if v.urgency == "emergency")
    resources = [
        _fhir(client.get(QUESTIONNAIRE)),
        _fhir(_post(client, response_from_intake(emergency.intake))),
        _fhir(_post(client, response_from_intake(FRACTURE))),
        _fhir(_post(client, response_from_intake({"symptoms": {"fever": None}}))),
    ]
    ours = [c for c in _codings(resources) if c["system"].startswith(URLS.base + "/")]
    assert len({c["system"] for c in ours}) >= 8
    served: dict[str, set[str]] = {}
    for system in {c["system"] for c in ours}:
        bundle = _fhir(client.get("/fhir/CodeSystem", query_string={"url": system}))
        Bundle.model_validate(bundle)
        (entry,) = bundle["entry"]
        code_system = entry["resource"]
        CodeSystem.model_validate(code_system)
        assert code_system["content"] == "complete"
        assert code_system["count"] == len(code_system["concept"])
        served[system] = {concept["code"] for concept in code_system["concept"]}
        assert _fhir(client.get(f"/fhir/CodeSystem/{code_system['id']}")) == code_system
    for coding in ours:
        assert coding["code"] in served[coding["system"]], coding


# --- formats -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "accept"),
    [
        ("?_format=xml", None),
        ("?_format=application/fhir%2Bxml", None),
        ("?_format=ttl", None),
        ("", "application/fhir+xml"),
        ("", "application/xml, text/xml"),
    ],
)
def test_formats_we_do_not_produce_are_406(
    client: FlaskClient, query: str, accept: str | None
) -> None:
    headers = {"Accept": accept} if accept else {}
    for path in ("/fhir/metadata", QUESTIONNAIRE, "/fhir/CodeSystem/answers"):
        body = _fhir(client.get(path + query, headers=headers), 406)
        OperationOutcome.model_validate(body)
        assert body["issue"][0]["code"] == "not-supported"
    body = _fhir(
        client.post(
            TRIAGE_PATH + query,
            data=json.dumps(response_from_intake(CLEAR)),
            content_type=FHIR_JSON,
            headers=headers,
        ),
        406,
    )
    OperationOutcome.model_validate(body)


@pytest.mark.parametrize(
    ("query", "accept"),
    [
        ("?_format=json", None),
        ("?_format=application/fhir%2Bjson", None),
        ("?_format=application/fhir+json", None),  # the '+' a client forgot to escape
        ("?_format=application/json", "application/fhir+xml"),  # _format wins
        ("", "application/json"),
        ("", "application/fhir+xml, application/fhir+json;q=0.5"),
        ("", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ],
)
def test_json_formats_are_answered(client: FlaskClient, query: str, accept: str | None) -> None:
    headers = {"Accept": accept} if accept else {}
    assert _fhir(client.get("/fhir/metadata" + query, headers=headers))["fhirVersion"] == "4.0.1"


# --- the Questionnaire for SDC form fillers ----------------------------------------------------


def _groups(client: FlaskClient) -> dict[str, dict[str, Any]]:
    return {g["linkId"]: g for g in _fhir(client.get(QUESTIONNAIRE))["item"]}


def test_danger_signs_are_grouped_required_and_unknown_is_an_answer(client: FlaskClient) -> None:
    group = _groups(client)["danger_signs"]
    assert "required" not in group  # its items are (LHC-Forms reads a required group as empty)
    assert sorted(item["linkId"] for item in group["item"]) == sorted(RED_FLAG_SCREEN)
    for item in group["item"]:
        assert item["required"] is True
        assert "unknown" in [o["valueCoding"]["code"] for o in item["answerOption"]]
    others = [
        i for g in _groups(client).values() if g["linkId"] != "danger_signs" for i in g["item"]
    ]
    assert not any(item.get("required") for item in others)


def test_metadata_of_the_questionnaire(client: FlaskClient) -> None:
    body = _fhir(client.get(QUESTIONNAIRE))
    assert body["meta"]["profile"] == [
        "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire"
    ]
    assert body["publisher"] == "forefoot-triage"
    assert body["date"][:2] == "20"


def test_standard_codes_and_units(client: FlaskClient) -> None:
    """LOINC for age and the 0-10 pain score; UCUM units on integers."""
    items = {i["linkId"]: i for g in _groups(client).values() for i in g["item"]}
    assert items["age_years"]["code"][0] == {
        "system": "http://loinc.org",
        "code": "30525-0",
        "display": "Age",
    }
    assert items["pain_nrs"]["code"][0]["code"] == "72514-3"
    units = {
        name: ext["valueCoding"]["code"]
        for name, item in items.items()
        for ext in item.get("extension", [])
        if ext["url"] == "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"
    }
    assert units == {
        "age_years": "a",
        "conservative_care_weeks": "wk",
        "days_since_onset": "d",
        "pain_nrs": "{score}",
        "steps_immediately": "{steps}",
        "steps_now": "{steps}",
    }
    assert {name for name, item in items.items() if item["type"] == "integer"} == set(units)


def _response_as_laid_out(client: FlaskClient, intake: dict[str, Any]) -> dict[str, Any]:
    """A response that follows the Questionnaire's own groups (as a form filler sends it)."""
    values = {name: value for answers in intake.values() for name, value in answers.items()}
    items = []
    for group in _fhir(client.get(QUESTIONNAIRE))["item"]:
        children = [
            {"linkId": item["linkId"], "answer": [answer(values[item["linkId"]])]}
            for item in group["item"]
            if item["linkId"] in values
        ]
        if children:
            items.append({"linkId": group["linkId"], "item": children})
    return {**response_from_intake({}), "item": items}


def test_a_response_in_the_questionnaires_groups_equals_one_in_intake_groups(
    client: FlaskClient,
) -> None:
    laid_out = _response_as_laid_out(client, FRACTURE)
    assert "danger_signs" in [group["linkId"] for group in laid_out["item"]]
    new = _fhir(_post(client, laid_out))
    old = _fhir(_post(client, response_from_intake(FRACTURE)))
    assert _result(new) == _result(old)


def test_a_question_under_the_wrong_group_is_422(client: FlaskClient) -> None:
    resource = {
        **response_from_intake({}),
        "item": [{"linkId": "danger_signs", "item": [{"linkId": "onset", **{"answer": []}}]}],
    }
    body = _fhir(_post(client, resource), 422)
    assert body["issue"][0]["diagnostics"] == "'onset' belongs to the group 'symptoms'."


def test_every_danger_sign_unknown_is_accepted(client: FlaskClient) -> None:
    """Required, yet Unknown is an answer: the response is triaged (data-required, call-back)."""
    intake = {
        **CLEAR,
        "symptoms": {**CLEAR["symptoms"], **dict.fromkeys(RED_FLAG_SCREEN, "unknown")},
    }
    body = _fhir(_post(client, _response_as_laid_out(client, intake)))
    assert body["status"] == "data-required"
    assert len(body["dataRequirement"]) >= len(RED_FLAG_SCREEN)


# --- the canonical base ------------------------------------------------------------------------


def test_the_base_defaults_to_the_public_url_then_the_local_one() -> None:
    assert load_config(environ={})["FHIR_BASE"] == "http://127.0.0.1:8000/fhir"
    public = {"TRIAGE_PUBLIC_URL": "https://triage.example.org/"}
    assert load_config(environ=public)["FHIR_BASE"] == "https://triage.example.org/fhir"
    both = {**public, "TRIAGE_FHIR_BASE": "https://terminology.example.org/fhir/"}
    assert load_config(environ=both)["FHIR_BASE"] == "https://terminology.example.org/fhir"


@pytest.mark.parametrize(
    "base", ["ftp://x.org/fhir", "x.org/fhir", "https://x.org/fhir?a=1", "https://u:p@x.org/fhir"]
)
def test_a_bad_base_stops_the_start(base: str) -> None:
    with pytest.raises(ConfigError, match="TRIAGE_FHIR_BASE"):
        load_config(environ={"TRIAGE_FHIR_BASE": base})


@pytest.mark.slow
def test_the_configured_base_names_every_resource(app_factory: AppFactory) -> None:
    """Questionnaire, code systems, operations, CDS discovery; responses to it are accepted."""
    base = "https://triage.example.org/fhir"
    urls = fhir_urls(base)
    # TRIAGE_PUBLIC_URL alone: the base is its /fhir, and search answers name it too.
    client = app_factory({"PUBLIC_URL": "https://triage.example.org"}).test_client()
    questionnaire = _fhir(client.get(QUESTIONNAIRE))
    assert questionnaire["url"] == urls.questionnaire
    search = _fhir(client.get("/fhir/Questionnaire", query_string={"url": urls.questionnaire}))
    assert search["entry"][0]["fullUrl"] == urls.questionnaire
    assert search["link"] == [
        {"relation": "self", "url": f"{base}/Questionnaire?url={quote(urls.questionnaire, '')}"}
    ]
    assert _fhir(client.get("/fhir/metadata"))["url"] == urls.capability
    assert _fhir(client.get("/fhir/CodeSystem/rules"))["url"] == urls.rules
    discovery = client.get("/cds-services").get_json()
    assert (
        f"questionnaire={urls.questionnaire}&"
        in discovery["services"][0]["prefetch"]["questionnaireResponse"]
    )
    resource = json.loads(json.dumps(response_from_intake(FRACTURE)).replace(URLS.base, base))
    guidance = _fhir(_post(client, resource))
    assert guidance["moduleUri"] == urls.module
    assert {c["system"] for c in _codings(guidance)} <= {
        urls.outcome(kind) for kind in ("level", "urgency", "escalation", "destination", "setting")
    } | {urls.rules, urls.findings, urls.decision}
    # A response to the Questionnaire under another base is not to ours.
    _fhir(_post(client, response_from_intake(FRACTURE)), 422)


# --- FHIR.js -----------------------------------------------------------------------------------


@needs_fhir_js
def test_fhir_js_accepts_the_server_resources(client: FlaskClient) -> None:
    """CapabilityStatement, OperationDefinition, every CodeSystem, a searchset, a 406."""
    resources = [
        _fhir(client.get("/fhir/metadata")),
        _fhir(client.get(f"/fhir/OperationDefinition/{TRIAGE.id}")),
        _fhir(client.get("/fhir/Questionnaire", query_string={"url": QUESTIONNAIRE_URL})),
        _fhir(client.get("/fhir/metadata?_format=xml"), 406),
        _as_parameters(response_from_intake(CLEAR)),
        *(e["resource"] for e in _fhir(client.get("/fhir/CodeSystem"))["entry"]),
    ]
    assert len(resources) == 5 + 8
    for resource, result in zip(resources, fhir_js_validate(resources), strict=True):
        assert result == {"valid": True, "messages": []}, (resource["resourceType"], result)
