"""The HTTP API: answers, catalogues, health, and a problem+json for every kind of bad request."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.findings import FINDINGS
from service.ruleset import Ruleset
from tests.conftest import RED_FLAG_SCREEN

EXAMPLE = {
    "patient": {"age_years": 34},
    "history": {"diabetes": "no", "neuropathy": "no", "conservative_care_weeks": 2},
    "symptoms": {
        "onset": "injury",
        "pain_location": "midfoot",
        "pain_nrs": 6,
        "steps_immediately": 2,
        "steps_now": 3,
        "tender_5th_mt_base": "yes",
    },
}
SCREEN_CLEAR = dict.fromkeys(RED_FLAG_SCREEN, "no")


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = response.get_json(force=True)
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return body


def test_example_intake(client: FlaskClient, ruleset: Ruleset) -> None:
    """The design.md example: Ottawa positive, fracture clinic today, every part of the answer."""
    response = client.post("/v1/triage", json=EXAMPLE)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert (body["level"], body["urgency"]) == ("orthopedic_surgeon", "urgent")
    assert body["destination"] == "fracture_clinic"
    assert body["escalation"] is None
    assert body["needs_clinician_review"] is True  # red-flag screen not answered
    ids = [entry["rule_id"] for entry in body["rationale"]]
    assert ids[:2] == ["UR1", "UR2"]
    assert {"SN4", "G2", "SC2", "SC4"} <= set(ids)
    ur1 = body["rationale"][0]
    assert ur1["matched"]["tender_5th_mt_base"] == "yes"
    assert ur1["matched"]["pain_location"] == "midfoot"
    assert ur1["citations"] == ["ottawa"]
    assert body["ruleset"] == ruleset.identity
    assert body["citations"][0]["key"] == "ottawa"
    assert body["citations"][0]["references"]
    assert body["disclaimer"] == ruleset.disclaimer
    assert body["advice"][0].startswith("Arrange an X-ray")


def test_follow_up_names_only_unknown_findings_that_raise(client: FlaskClient) -> None:
    """follow_up: unknown findings that could raise the result, most raising first."""
    body = client.post("/v1/triage", json=EXAMPLE).get_json()
    follow = body["follow_up"]
    assert follow, "the red-flag screen is unanswered, so there is something to ask"
    answered = {name for group in EXAMPLE.values() for name in group}
    assert not answered & {item["finding"] for item in follow}
    assert all(item["could_raise_to"] == "emergency" for item in follow)
    cold = next(item for item in follow if item["finding"] == "foot_cold_pale_or_blue")
    assert cold["rules"] == ["EM1"]
    assert cold["question"] == FINDINGS["foot_cold_pale_or_blue"].label


def test_follow_up_is_ranked(client: FlaskClient) -> None:
    """A routine result: an emergency question comes before a soon one."""
    intake = {"symptoms": {"pain_nrs": 3, "onset": "gradual", **SCREEN_CLEAR}}
    del intake["symptoms"]["fever"]
    body = client.post("/v1/triage", json=intake).get_json()
    rank = {"routine": 0, "soon": 1, "urgent": 2, "emergency": 3}
    raises = [rank[item["could_raise_to"]] for item in body["follow_up"]]
    assert raises == sorted(raises, reverse=True)
    assert body["urgency"] == "soon"  # G2: fever unknown


def test_empty_intake_is_all_unknown(client: FlaskClient) -> None:
    """{} is valid: every finding unknown, never self-care (G1 and G2)."""
    body = client.post("/v1/triage", json={}).get_json()
    assert (body["level"], body["urgency"]) == ("physical_therapist", "soon")
    assert {"G1", "G2"} <= {entry["rule_id"] for entry in body["rationale"]}
    assert body["needs_clinician_review"] is True


def test_null_means_unknown(client: FlaskClient) -> None:
    """A null answer gives exactly the answer of leaving it out."""
    left_out = client.post("/v1/triage", json={"symptoms": {"pain_nrs": 5}}).get_json()
    nulls = {"symptoms": {"pain_nrs": 5, "fever": None, "onset": None, "steps_now": None}}
    with_nulls = client.post("/v1/triage", json=nulls).get_json()
    for key in ("level", "urgency", "rationale", "follow_up"):
        assert left_out[key] == with_nulls[key]


def test_rules_catalogue(client: FlaskClient, ruleset: Ruleset) -> None:
    """GET /v1/rules lists every rule with its outputs and citations, and the registry."""
    body = client.get("/v1/rules").get_json()
    assert body["ruleset"] == ruleset.identity
    assert len(body["rules"]) == len(ruleset.rules) + 1
    ur1 = next(rule for rule in body["rules"] if rule["id"] == "UR1")
    assert (ur1["level"], ur1["urgency"], ur1["citations"]) == (
        "orthopedic_surgeon",
        "urgent",
        ["ottawa"],
    )
    assert {c["key"] for c in body["citations"]} == set(ruleset.citations)


def test_questions_catalogue(client: FlaskClient) -> None:
    """GET /v1/questions: all 42 findings of clinical.md section 2, with labels and groups."""
    questions = client.get("/v1/questions").get_json()["questions"]
    assert len(questions) == 42
    by_name = {q["finding"]: q for q in questions}
    assert by_name["pain_nrs"] == {
        "finding": "pain_nrs",
        "group": "symptoms",
        "type": "integer",
        "label": FINDINGS["pain_nrs"].label,
        "help": FINDINGS["pain_nrs"].help,
        "minimum": 0,
        "maximum": 10,
    }
    assert by_name["fever"]["allowed_values"] == ["yes", "no", "unknown"]
    assert by_name["age_years"]["group"] == "patient"
    assert by_name["toe_deformity"]["group"] == "history"


def test_health_and_readiness(client: FlaskClient, ruleset: Ruleset) -> None:
    """/healthz is alive; /readyz names the loaded ruleset."""
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz").get_json()
    assert ready == {"status": "ready", "ruleset": ruleset.identity}


def test_readiness_is_503_without_a_ruleset(app: Flask) -> None:
    """An app whose ruleset is gone is not ready."""
    bare = create_app()
    bare.extensions.pop("triage")
    _problem(bare.test_client().get("/readyz"), 503)


def test_contract_is_served(client: FlaskClient) -> None:
    """GET /openapi.yaml returns the committed file."""
    response = client.get("/openapi.yaml")
    assert response.status_code == 200
    assert response.mimetype == "application/yaml"
    assert response.data.startswith(b"openapi: 3.0.3")


INVALID = [
    ("string for an integer", {"symptoms": {"pain_nrs": "7"}}, "symptoms.pain_nrs"),
    ("float for an integer", {"symptoms": {"pain_nrs": 6.5}}, "symptoms.pain_nrs"),
    ("integral float", {"symptoms": {"pain_nrs": 7.0}}, "symptoms.pain_nrs"),
    ("boolean for an integer", {"symptoms": {"steps_now": True}}, "symptoms.steps_now"),
    ("pain above 10", {"symptoms": {"pain_nrs": 11}}, "symptoms.pain_nrs"),
    ("negative days", {"symptoms": {"days_since_onset": -1}}, "symptoms.days_since_onset"),
    ("huge number", {"patient": {"age_years": 10**30}}, "patient.age_years"),
    ("steps above 4", {"symptoms": {"steps_now": 5}}, "symptoms.steps_now"),
    ("boolean for yes", {"symptoms": {"fever": True}}, "symptoms.fever"),
    ("enum typo", {"symptoms": {"fever": "Yes"}}, "symptoms.fever"),
    ("unknown enum", {"symptoms": {"onset": "fall"}}, "symptoms.onset"),
    ("misspelled red flag", {"symptoms": {"fevr": "yes"}}, "symptoms.(unknown key)"),
    ("finding in the wrong group", {"history": {"fever": "yes"}}, "history.fever"),
    ("unknown group", {"vitals": {}}, "(unknown key)"),
    ("null group", {"symptoms": None}, "symptoms"),
    ("group not an object", {"symptoms": ["fever"]}, "symptoms"),
    ("huge float", {"patient": {"age_years": 1e300}}, "patient.age_years"),
    (
        "negative huge integer",
        {"symptoms": {"days_since_onset": -(10**40)}},
        "symptoms.days_since_onset",
    ),
    ("tiny float", {"symptoms": {"pain_nrs": 1e-300}}, "symptoms.pain_nrs"),
    ("object for an integer", {"symptoms": {"pain_nrs": {"value": 5}}}, "symptoms.pain_nrs"),
    ("list for an integer", {"symptoms": {"steps_now": [4]}}, "symptoms.steps_now"),
    ("empty string for an integer", {"symptoms": {"pain_nrs": ""}}, "symptoms.pain_nrs"),
    ("number for an enum", {"symptoms": {"fever": 1}}, "symptoms.fever"),
    ("list for an enum", {"symptoms": {"swelling": ["diffuse"]}}, "symptoms.swelling"),
    ("padded enum", {"symptoms": {"fever": "yes "}}, "symptoms.fever"),
    ("empty enum", {"symptoms": {"onset": ""}}, "symptoms.onset"),
    (
        "misspelled red flag, nested deep",
        {"symptoms": {"foot_cold_pale_or_blu": "yes"}},
        "symptoms.(unknown key)",
    ),
    ("array body", [], "(body)"),
    ("string body", "fever", "(body)"),
    ("null body", None, "(body)"),
]


@pytest.mark.parametrize(("body", "field"), [pytest.param(b, f, id=i) for i, b, f in INVALID])
def test_invalid_intake_is_422_naming_the_field(client: FlaskClient, body: Any, field: str) -> None:
    """Wrong types, ranges, enums and unknown keys: 422 with the field path."""
    response = client.post("/v1/triage", data=json.dumps(body), content_type="application/json")
    problem = _problem(response, 422)
    assert field in [error["field"] for error in problem["errors"]]


def test_errors_never_echo_input_values(client: FlaskClient) -> None:
    """No value sent comes back in a 422 (values may be patient data)."""
    canary = "canary-Jane-Doe-1970"
    intake = {"symptoms": {"fever": canary, "onset": canary, "pain_nrs": canary}}
    response = client.post("/v1/triage", json=intake)
    assert canary not in response.get_data(as_text=True)
    _problem(response, 422)


@pytest.mark.parametrize("key", ["Jane Doe, 1970", "John_Smith_DOB_19700101"])
def test_unknown_keys_are_not_echoed(client: FlaskClient, key: str) -> None:
    """A key the client made up may be patient data: it is reported without its text."""
    response = client.post("/v1/triage", json={"symptoms": {key: "yes"}})
    assert key not in response.get_data(as_text=True)
    assert _problem(response, 422)["errors"][0]["field"] == "symptoms.(unknown key)"


def test_misspelled_finding_gets_a_hint(client: FlaskClient) -> None:
    """A near miss of a known finding names the finding it probably meant."""
    response = client.post("/v1/triage", json={"symptoms": {"fevr": "yes"}})
    (error,) = _problem(response, 422)["errors"]
    assert error == {
        "field": "symptoms.(unknown key)",
        "message": "Unknown field. Did you mean 'fever'?",
    }


BAD_BODIES = [
    ("empty body", b""),
    ("truncated JSON", b'{"symptoms": {"fever": "no"'),
    ("duplicate keys", b'{"symptoms": {"fever": "no", "fever": "yes"}}'),
    ("NaN", b'{"symptoms": {"pain_nrs": NaN}}'),
    ("Infinity", b'{"symptoms": {"pain_nrs": Infinity}}'),
    ("deep nesting", b"[" * 30000 + b"]" * 30000),
    ("non-UTF-8 bytes", b'{"symptoms": {"fever": "\xff\xfe"}}'),
    ("integer past the digit limit", b'{"patient": {"age_years": ' + b"9" * 5000 + b"}}"),
    ("trailing garbage", b"{} {}"),
    ("negative infinity", b'{"patient": {"age_years": -Infinity}}'),
    ("single quotes", b"{'symptoms': {}}"),
    ("byte order mark", b"\xef\xbb\xbf{}"),
    ("control character in a string", b'{"symptoms": {"fever": "no\x01"}}'),
]


@pytest.mark.parametrize("raw", [pytest.param(b, id=i) for i, b in BAD_BODIES])
def test_malformed_body_is_400(client: FlaskClient, raw: bytes) -> None:
    """Bodies that are not exactly one valid JSON document: 400 problem+json."""
    response = client.post("/v1/triage", data=raw, content_type="application/json")
    _problem(response, 400)


@pytest.mark.parametrize(
    ("limit", "status"), [(None, 413), (200_000, 400)], ids=["default limit", "raised limit"]
)
def test_fifty_thousand_deep_nesting(limit: int | None, status: int) -> None:
    """50,000-deep nesting: over 64 KiB it is 413; under a raised limit, 400 (never a crash)."""
    app = create_app({"MAX_BODY_BYTES": limit} if limit else None)
    raw = b'{"symptoms": ' + b"[" * 50000 + b"]" * 50000 + b"}"
    response = app.test_client().post("/v1/triage", data=raw, content_type="application/json")
    _problem(response, status)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"patient": {"age_years": 1e400}}', id="huge exponent"),
        pytest.param(b'{"symptoms": {"fever": "\\ud800"}}', id="lone surrogate"),
        pytest.param(b'{"symptoms": {"fever": "no\\u0000"}}', id="escaped NUL"),
    ],
)
def test_valid_json_with_impossible_values_is_422(client: FlaskClient, raw: bytes) -> None:
    """Well-formed JSON whose values no finding allows: 422, the value not echoed."""
    response = client.post("/v1/triage", data=raw, content_type="application/json")
    body = _problem(response, 422)
    assert "ud800" not in json.dumps(body)


def test_nul_in_a_string_is_422(client: FlaskClient) -> None:
    """A NUL inside a value is valid JSON but never a valid answer."""
    response = client.post(
        "/v1/triage", data=b'{"symptoms": {"fever": "no\\u0000"}}', content_type="application/json"
    )
    _problem(response, 422)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_non_json_content_type_is_415(client: FlaskClient, content_type: str) -> None:
    """Only application/json is read."""
    response = client.post("/v1/triage", data=b"{}", content_type=content_type)
    _problem(response, 415)


def test_json_with_charset_is_accepted(client: FlaskClient) -> None:
    """application/json; charset=utf-8 is JSON."""
    response = client.post("/v1/triage", data=b"{}", content_type="application/json; charset=utf-8")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/v1/triage", {"POST"}),
        ("PUT", "/v1/triage", {"POST"}),
        ("OPTIONS", "/v1/triage", {"POST"}),
        ("POST", "/v1/rules", {"GET", "HEAD"}),
        ("DELETE", "/healthz", {"GET", "HEAD"}),
    ],
)
def test_wrong_method_is_405_with_allow(
    client: FlaskClient, method: str, path: str, allow: set[str]
) -> None:
    """405 problem+json keeps the Allow header."""
    response = client.open(path, method=method)
    _problem(response, 405)
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allow


def test_unknown_path_is_404(client: FlaskClient) -> None:
    """No HTML 404 page."""
    _problem(client.get("/v1/nothing-here"), 404)


def test_very_long_url_is_404_not_5xx(client: FlaskClient) -> None:
    """A 10,000-character path is a plain 404."""
    _problem(client.get("/" + "a" * 10000), 404)


def test_body_over_the_limit_is_413(client: FlaskClient) -> None:
    """The default limit is 64 KiB."""
    raw = b'{"symptoms": {"fever": "no"}, "x": "' + b"a" * 70000 + b'"}'
    _problem(client.post("/v1/triage", data=raw, content_type="application/json"), 413)


def test_unexpected_exception_is_a_generic_500(app: Flask) -> None:
    """An unforeseen error answers 500 problem+json with no exception text."""
    broken = create_app()

    def explode() -> None:
        raise RuntimeError("canary-secret")

    broken.add_url_rule("/explode", "explode", explode)
    response = broken.test_client().get("/explode")
    assert "canary" not in response.get_data(as_text=True)
    _problem(response, 500)


def test_engine_failure_is_a_500_not_a_level(app: Flask) -> None:
    """Fail closed: if the engine fails, no level is answered."""
    broken = create_app()
    triage = broken.extensions["triage"]

    def failing(_facts: object) -> list[str]:
        from service.errors import EngineError

        raise EngineError("boom")

    triage.engine.evaluate = failing
    response = broken.test_client().post("/v1/triage", json={})
    body = _problem(response, 500)
    assert "level" not in body


def test_engine_disagreeing_with_the_conditions_is_a_500(app: Flask) -> None:
    """A firing the conditions do not support (an engine fault) gives no answer."""
    broken = create_app()
    triage = broken.extensions["triage"]
    real = triage.engine.evaluate
    triage.engine.evaluate = lambda facts: [*real(facts), "EM1"]
    _problem(broken.test_client().post("/v1/triage", json={"symptoms": {"pain_nrs": 3}}), 500)


def test_emergency_answer_carries_no_self_care_advice(
    client: FlaskClient, ruleset: Ruleset
) -> None:
    """Sent to the ED, the patient is not also told to carry on at home (SC rules still listed)."""
    intake = {
        "history": {"conservative_care_weeks": 2},
        "symptoms": {**SCREEN_CLEAR, "foot_cold_pale_or_blue": "yes", "pain_nrs": 3},
    }
    body = client.post("/v1/triage", json=intake).get_json()
    assert body["urgency"] == "emergency"
    fired = {entry["rule_id"] for entry in body["rationale"]}
    assert {"EM1", "SC2", "SC4"} <= fired
    self_care = {a for r in ("SC2", "SC4") for a in ruleset.by_id[r].advice}
    assert not self_care & set(body["advice"])
    assert body["advice"][0].startswith("Go to the emergency department now")


def test_self_care_answer_keeps_its_advice(client: FlaskClient, ruleset: Ruleset) -> None:
    """A self-care result gives the self-care advice."""
    intake = {"symptoms": {**SCREEN_CLEAR, "pain_nrs": 3}}
    body = client.post("/v1/triage", json=intake).get_json()
    assert body["level"] == "self_care"
    assert body["advice"] == list(ruleset.by_id["SC2"].advice)
