"""FHIR R4: the Questionnaire, QuestionnaireResponse in, GuidanceResponse out, OperationOutcomes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.guidanceresponse import GuidanceResponse
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service.domain.conditions import Not, parse
from service.domain.findings import FINDINGS
from service.domain.ruleset import Ruleset
from service.exceptions import QuestionnaireError
from service.interop.fhir.common import DATA_ABSENT_REASON, MAX_VALUE, MIN_VALUE, UNIT
from service.interop.fhir.questionnaire import ENABLE_WHEN_EXPRESSION, enablement
from service.review.cases import Case
from tests.helpers import RED_FLAG_SCREEN, RULES, AppFactory, shipped_ruleset, vignettes
from tests.helpers.fhir import (
    ANSWERS_SYSTEM,
    CLEAR,
    MODULE_URL,
    QUESTIONNAIRE_URL,
    URLS,
    fhir_js_validate,
    needs_fhir_js,
    response_from_intake,
    without_translations,
)
from tests.helpers.yaml_text import dump_yaml, load_yaml

RULESET = shipped_ruleset()

QUESTIONNAIRE = "/fhir/Questionnaire/forefoot-triage"
TRIAGE = "/fhir/QuestionnaireResponse/$triage"
FHIR_JSON = "application/fhir+json"
VIGNETTES = vignettes()
FLAGS = RED_FLAG_SCREEN
# G2 (a danger sign unknown: same-day call-back) decides the urgency and destination; RT3 (12 weeks
# of failed supervised care) raises the level to orthopedic surgeon (aggregation v2, 1.2).
CALL_BACK_AND_RT3 = {
    "patient": {"age_years": 40},
    "history": {"diabetes": "no", "conservative_care_weeks": 12, "prior_pt_or_orthoses": "yes"},
    "symptoms": {**CLEAR["symptoms"], "improving": "no", "fever": "unknown"},
}
# An injury with a tender 5th metatarsal base: UR1, X-ray and fracture clinic today, in person.
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


def _code(parameter: dict[str, Any]) -> str:
    code: str = parameter["valueCoding"]["code"]
    return code


def _parts(parameter: dict[str, Any]) -> dict[str, Any]:
    """A multi-part parameter (rule, referral) as {part name: code or value}, citations aside."""
    parts: dict[str, Any] = {}
    for part in parameter["part"]:
        if part["name"] != "citation":
            (value,) = (v for k, v in part.items() if k.startswith("value"))
            parts[part["name"]] = value["code"] if "valueCoding" in part else value
    return parts


def _guidance(client: FlaskClient, intake: dict[str, Any]) -> dict[str, Any]:
    response = _post(client, response_from_intake(intake))
    assert response.status_code == 200, response.get_data(as_text=True)
    guidance: dict[str, Any] = response.get_json(force=True)
    GuidanceResponse.model_validate(guidance)
    return guidance


def _expression(item: dict[str, Any]) -> str | None:
    """The item's SDC enableWhenExpression (FHIRPath), if it has one."""
    for extension in item.get("extension", []):
        if extension["url"] == ENABLE_WHEN_EXPRESSION:
            assert extension["valueExpression"]["language"] == "text/fhirpath"
            expression: str = extension["valueExpression"]["expression"]
            return expression
    return None


def test_questionnaire_is_generated_from_the_catalogue(
    client: FlaskClient, ruleset: Ruleset
) -> None:
    """One item per finding in its group (the danger signs in theirs), codings, bounds, units,
    codes, canonical, version = ruleset version."""
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
    assert [group["linkId"] for group in body["item"]] == [
        "patient",
        "danger_signs",
        "history",
        "symptoms",
    ]
    groups = {group["linkId"]: [item["linkId"] for item in group["item"]] for group in body["item"]}
    assert groups["danger_signs"] == [name for name in FINDINGS if name in FLAGS]
    items = _items(body)
    assert sorted(items) == sorted(FINDINGS)
    for name, finding in ruleset.questions.items():
        item = items[name]
        assert item["text"] == finding.label
        code = without_translations(item["code"][-1])
        assert code == {"system": URLS.findings, "code": name, "display": finding.label}
        if finding.is_numeric:
            assert item["type"] == "integer"
            assert item["extension"][:2] == [
                {"url": MIN_VALUE, "valueInteger": finding.minimum},
                {"url": MAX_VALUE, "valueInteger": finding.maximum},
            ]
            (unit,) = [e for e in item["extension"] if e["url"] == UNIT]
            assert unit["valueCoding"]["system"] == "http://unitsofmeasure.org"
        else:
            assert item["type"] == "choice"
            codings = [option["valueCoding"] for option in item["answerOption"]]
            assert {c["system"] for c in codings} == {ANSWERS_SYSTEM}
            assert tuple(c["code"] for c in codings) == finding.values
        assert item["item"][0]["text"] == finding.help


# clinical.md 2.3: the wording of three new and re-worded questions, copied here on purpose.
WORDING = {
    "visible_deformity": (
        "Is there a new change in the shape of your foot or a toe (for example a toe pointing "
        "sideways or bent, or the middle of the foot collapsing), after an injury or not?"
    ),
    "pain_out_of_proportion": (
        "Since the injury, is the pain getting worse despite painkillers, much worse than you "
        "would expect, worse when your toes are moved, or does the foot feel tight and hard?"
    ),
    "pregnant": "Are you pregnant, or have you given birth in the last 6 weeks?",
}
PREGNANT_EXPRESSION = (
    "%resource.repeat(item).where(linkId='age_years').answer.value.empty() or "
    "(%resource.repeat(item).where(linkId='age_years').answer.value.where($this >= 12).exists() "
    "and %resource.repeat(item).where(linkId='age_years').answer.value.where($this <= 55).exists())"
)


def test_all_49_findings_with_the_2027_1_wording(client: FlaskClient) -> None:
    """49 questions, the new ones among them, worded as clinical.md 2.3."""
    items = _items(client.get(QUESTIONNAIRE).get_json(force=True))
    assert len(items) == len(FINDINGS) == 49
    for name, text in WORDING.items():
        assert items[name]["text"] == text
    for new in ("calf_or_leg_swelling", "immunosuppressed", "anticoagulant", "cancer_history"):
        assert [o["valueCoding"]["code"] for o in items[new]["answerOption"]] == [
            "yes",
            "no",
            "unknown",
        ]


def test_situational_questions_follow_the_manifest(client: FlaskClient, ruleset: Ruleset) -> None:
    """Exactly the manifest's asked_when questions are conditional (clinical.md 2.2)."""
    items = _items(client.get(QUESTIONNAIRE).get_json(force=True))
    conditional = {
        name for name, item in items.items() if "enableWhen" in item or _expression(item)
    }
    assert conditional == set(ruleset.asked_when_source)
    for name in ("steps_immediately", "injury_mechanism", "pain_out_of_proportion"):
        item = without_translations(items[name])
        assert item["enableWhen"] == [
            {
                "question": "onset",
                "operator": "=",
                "answerCoding": {"system": ANSWERS_SYSTEM, "code": "injury", "display": "Injury"},
            }
        ]
        assert "enableBehavior" not in item
        assert _expression(item) is None
    # Asked of everyone since 2027.1 (decisions Q1, R4).
    for name in ("visible_deformity", "open_wound_at_injury", "plantar_bruising"):
        assert "enableWhen" not in items[name]
        assert _expression(items[name]) is None


def test_pregnant_is_asked_by_an_enable_when_expression(client: FlaskClient) -> None:
    """'Age not given, or 12 to 55' is no single enableWhen list: SDC enableWhenExpression."""
    pregnant = _items(client.get(QUESTIONNAIRE).get_json(force=True))["pregnant"]
    assert "enableWhen" not in pregnant  # SDC: only when the item has no enableWhen
    assert _expression(pregnant) == PREGNANT_EXPRESSION


@pytest.mark.parametrize(
    ("age", "asked"),
    [
        ("absent", True),
        (None, True),
        (0, False),
        (11, False),
        (12, True),
        (40, True),
        (55, True),
        (56, False),
        (120, False),
    ],
)
def test_the_pregnant_expression_agrees_with_the_manifest(
    ruleset: Ruleset, age: Any, asked: bool
) -> None:
    """Evaluated by a FHIRPath engine (fhirpathpy) on a QuestionnaireResponse: asked as 2.2 says."""
    fhirpathpy = pytest.importorskip("fhirpathpy")
    from fhirpathpy.models import models

    intake = {} if age == "absent" else {"patient": {"age_years": age}}
    resource = response_from_intake(intake)
    facts = {"age_years": None if age == "absent" else age}
    assert ruleset.asked_when["pregnant"](facts) is asked
    result = fhirpathpy.evaluate(
        resource, PREGNANT_EXPRESSION, {"resource": resource}, models["r4"]
    )
    assert result == [asked]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (
            "onset == injury",
            {
                "enableWhen": [
                    {
                        "question": "onset",
                        "operator": "=",
                        "answerCoding": {
                            "system": ANSWERS_SYSTEM,
                            "code": "injury",
                            "display": "Injury",
                        },
                    }
                ]
            },
        ),
        (
            "onset in [gradual, sudden_no_injury]",
            {
                "enableWhen": [
                    {
                        "question": "onset",
                        "operator": "=",
                        "answerCoding": {
                            "system": ANSWERS_SYSTEM,
                            "code": code,
                            "display": display,
                        },
                    }
                    for code, display in (
                        ("gradual", "Gradual"),
                        ("sudden_no_injury", "Sudden no injury"),
                    )
                ],
                "enableBehavior": "any",
            },
        ),
        (
            {"all": ["age_years is not null", "age_years < 16"]},
            {
                "enableWhen": [
                    {"question": "age_years", "operator": "exists", "answerBoolean": True},
                    {"question": "age_years", "operator": "<", "answerInteger": 16},
                ],
                "enableBehavior": "all",
            },
        ),
    ],
    ids=["equals", "in", "all-numeric"],
)
def test_enable_when_is_generated_from_the_condition(condition: Any, expected: Any) -> None:
    """A comparison, or an all/any of comparisons, R4 states exactly becomes enableWhen."""
    assert enablement("pregnant", parse(condition), ANSWERS_SYSTEM, RULESET) == expected


@pytest.mark.parametrize(
    ("condition", "expression"),
    [
        # An unanswered onset is unknown to the rules but never equal in R4 enableWhen.
        ("onset == unknown", "{onset}.where(code != 'unknown').empty()"),
        ("onset != injury", "{onset}.where(code = 'injury').empty()"),
        ("pain_nrs != 3", "{pain}.where($this != 3).exists()"),
        ({"not": "Y(fever)"}, "{fever}.where(code = 'yes').exists().not()"),
        (
            {"any": ["YU(fever)", {"all": ["pain_nrs >= 7", "pain_nrs <= 9"]}]},
            "{fever}.where(code = 'no').empty() or ({pain}.where($this >= 7).exists() and "
            "{pain}.where($this <= 9).exists())",
        ),
    ],
    ids=["unknown", "not-equal", "numeric-not-equal", "not", "nested"],
)
def test_other_conditions_become_fhirpath(condition: Any, expression: str) -> None:
    """Anything enableWhen cannot state exactly is an enableWhenExpression, never dropped."""
    values = {
        name: f"%resource.repeat(item).where(linkId='{finding}').answer.value"
        for name, finding in (("onset", "onset"), ("pain", "pain_nrs"), ("fever", "fever"))
    }
    elements = enablement("pregnant", parse(condition), ANSWERS_SYSTEM, RULESET)
    assert elements == {
        "extension": [
            {
                "url": ENABLE_WHEN_EXPRESSION,
                "valueExpression": {
                    "description": RULESET.texts["asked_when.pregnant"],
                    "language": "text/fhirpath",
                    "expression": expression.format(**values),
                },
            }
        ]
    }


def test_a_condition_it_cannot_carry_fails_loudly() -> None:
    """A question enabled by its own answer, or a node it does not know: an error, not a drop."""
    with pytest.raises(QuestionnaireError, match="cannot depend on itself"):
        enablement("pain_nrs", parse("pain_nrs is null"), ANSWERS_SYSTEM, RULESET)
    with pytest.raises(QuestionnaireError, match="cannot read the condition"):
        enablement("pregnant", Not(object()), ANSWERS_SYSTEM, RULESET)  # type: ignore[arg-type]


def test_an_asked_when_it_cannot_carry_stops_the_start(
    tmp_path: Path, app_factory: AppFactory
) -> None:
    """The Questionnaire is built with the app: a bad asked_when refuses to start the service."""
    rules = tmp_path / "rules"
    rules.mkdir()
    for path in RULES.glob("*.yaml"):
        (rules / path.name).write_bytes(path.read_bytes())
    manifest = load_yaml((rules / "ruleset.yaml").read_text(encoding="utf-8"))
    manifest["asked_when"]["pain_nrs"] = {"any": ["pain_nrs is null", "Y(fever)"]}
    (rules / "ruleset.yaml").write_text(dump_yaml(manifest, sort_keys=False), encoding="utf-8")
    with pytest.raises(QuestionnaireError, match="asked_when pain_nrs"):
        app_factory({"RULES_DIR": str(rules)})


@pytest.mark.parametrize("nested", [True, False], ids=["nested", "flat"])
@pytest.mark.parametrize("vignette", VIGNETTES, ids=[v.name.split()[0] for v in VIGNETTES])
def test_round_trip_equals_v1_triage(
    client: FlaskClient, ruleset: Ruleset, vignette: Case, nested: bool
) -> None:
    """A QuestionnaireResponse of the vignette gives /v1/triage's outcome, referrals and rules."""
    expected = client.post("/v1/triage", json=vignette.intake).get_json()
    response = _post(client, response_from_intake(vignette.intake, nested=nested))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == FHIR_JSON
    guidance = response.get_json(force=True)
    GuidanceResponse.model_validate(guidance)
    (destination,) = _parameter(guidance, "destination")  # always present (clinical.md 1.5)
    assert _code(destination) == expected["destination"]
    assert destination["valueCoding"]["display"] == ruleset.destinations[expected["destination"]]
    (setting,) = _parameter(guidance, "setting")
    assert _code(setting) == expected["setting"]
    for name in ("level", "urgency"):
        assert [_code(p) for p in _parameter(guidance, name)] == [expected[name]]
    escalation = [_code(p) for p in _parameter(guidance, "escalation")]
    assert escalation == ([expected["escalation"]] if expected["escalation"] else [])
    review = _parameter(guidance, "needs_clinician_review")[0]["valueBoolean"]
    assert review is expected["needs_clinician_review"]
    # The referral's destination_name is its destination Coding's display in FHIR.
    assert [_parts(p) for p in _parameter(guidance, "referral")] == [
        {k: v for k, v in r.items() if k != "destination_name"} for r in expected["referrals"]
    ]
    rules = [_parts(p) for p in _parameter(guidance, "rule")]
    assert rules == [
        {
            "id": entry["rule_id"],
            "version": entry["rule_version"],
            "level": entry["level"],
            "urgency": entry["urgency"],
            "destination": entry["destination"],
            "setting": entry["setting"],
            "informational": entry["informational"],
            "statement": entry["statement"],
        }
        for entry in expected["rationale"]
    ]
    codes = [rule["id"] for rule in rules]
    assert [reason["coding"][0]["code"] for reason in guidance["reasonCode"]] == codes
    cited = [p["valueRelatedArtifact"]["label"] for p in _parameter(guidance, "citation")]
    assert cited == [citation["key"] for citation in expected["citations"]]
    # data-required when G2 fired, unless another rule already sends the patient somewhere
    # today (7.8 A1): then the result is actionable (success) and the missing data still listed.
    today = any(
        e["urgency"] in ("urgent", "emergency") and e["destination"] != "clinician_call_back"
        for e in expected["rationale"]
    )
    assert guidance["status"] == ("data-required" if "G2" in codes and not today else "success")
    assert ("dataRequirement" in guidance) == ("G2" in codes)


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
    assert guidance["text"]["div"].startswith(
        '<div xmlns="http://www.w3.org/1999/xhtml" lang="en" xml:lang="en">'
    )


def test_unknown_red_flags_give_data_required(client: FlaskClient) -> None:
    """G2 fired by an unknown flag: data-required with a dataRequirement per question to ask."""
    intake = {"symptoms": {**CLEAR["symptoms"], "fever": None, "systemically_unwell": "unknown"}}
    guidance = _post(client, response_from_intake(intake)).get_json(force=True)
    assert guidance["status"] == "data-required"
    wanted = {req["codeFilter"][0]["code"][0]["code"] for req in guidance["dataRequirement"]}
    assert {"fever", "systemically_unwell"} <= wanted
    # What $triage takes: a QuestionnaireResponse, the items named by their Questionnaire code.
    assert {req["type"] for req in guidance["dataRequirement"]} == {"QuestionnaireResponse"}
    paths = {req["codeFilter"][0]["path"] for req in guidance["dataRequirement"]}
    assert paths == {"questionnaire.resolve().item.item.code"}
    item_codes = [
        without_translations(coding)
        for group in client.get(QUESTIONNAIRE).get_json(force=True)["item"]
        for item in group["item"]
        for coding in item["code"]
    ]
    for requirement in guidance["dataRequirement"]:
        (coding,) = requirement["codeFilter"][0]["code"]
        assert coding in item_codes


def _paragraphs(guidance: dict[str, Any]) -> list[str]:
    div: str = guidance["text"]["div"]
    return [chunk.split("</p>")[0] for chunk in div.split("<p>")[1:]]


def test_an_emergency_leads_with_where_to_go_now(client: FlaskClient) -> None:
    """A cold foot (EM1): the narrative's first words are the destination and 'now'."""
    intake = {**CLEAR, "symptoms": {**CLEAR["symptoms"], "foot_cold_pale_or_blue": "yes"}}
    first, *_ = _paragraphs(_guidance(client, intake))
    assert first == "<b>Emergency department and on-call vascular surgery now</b>."


def test_the_narrative_leads_with_where_how_soon_and_how(client: FlaskClient) -> None:
    """Where, how soon, in person or not, then the referrals, then the level, then why."""
    paragraphs = _paragraphs(_guidance(client, CALL_BACK_AND_RT3))
    assert paragraphs[:5] == [
        "<b>A clinician calls back to go through the answers today</b>.",
        "How soon: <b>Urgent</b>, same day (within 24 hours).",
        "A video or phone assessment can be the first step.",
        "Referrals:",
        "Triage level: <b>Orthopedic surgeon</b>.",
    ]
    div = _guidance(client, CALL_BACK_AND_RT3)["text"]["div"]
    referrals = div[div.index("Referrals:") : div.index("Triage level:")]
    assert referrals.index("A clinician calls back to go through the answers: urgent (G2)") < (
        referrals.index("Orthopaedic foot and ankle clinic (referral): routine (RT3)")
    )
    assert div.index("Triage level:") < div.index("Why:")


def test_an_in_person_answer_says_so(client: FlaskClient) -> None:
    """UR1: X-ray and fracture clinic today, must be seen in person (clinical.md 1.6)."""
    guidance = _guidance(client, FRACTURE)
    assert [_code(p) for p in _parameter(guidance, "setting")] == ["in_person"]
    assert _parameter(guidance, "setting")[0]["valueCoding"]["display"] == "In person"
    assert _paragraphs(guidance)[:3] == [
        "<b>X-ray and fracture clinic today</b>.",
        "How soon: <b>Urgent</b>, same day (within 24 hours).",
        "Must be seen in person.",
    ]


def test_g2_with_rt3_carries_both_referrals_and_the_setting(client: FlaskClient) -> None:
    """Aggregation v2: the call-back decides where and when, RT3 the level; both are referrals."""
    guidance = _guidance(client, CALL_BACK_AND_RT3)
    assert [_code(p) for p in _parameter(guidance, "destination")] == ["clinician_call_back"]
    assert [_code(p) for p in _parameter(guidance, "urgency")] == ["urgent"]
    assert [_code(p) for p in _parameter(guidance, "level")] == ["orthopedic_surgeon"]
    assert [_code(p) for p in _parameter(guidance, "setting")] == ["virtual_suitable"]
    referrals = {r["rule_id"]: r for r in map(_parts, _parameter(guidance, "referral"))}
    assert referrals["G2"] == {
        "rule_id": "G2",
        "level": "physical_therapist",
        "urgency": "urgent",
        "destination": "clinician_call_back",
    }
    assert referrals["RT3"] == {
        "rule_id": "RT3",
        "level": "orthopedic_surgeon",
        "urgency": "routine",
        "destination": "orthopaedic_clinic",
    }
    assert "SC2" not in referrals  # informational self-care rules are never referrals
    assert guidance["status"] == "data-required"  # G2 fired: the fever answer is missing


def test_a_flag_answered_yes_is_not_missing_data(client: FlaskClient) -> None:
    """G2 v3 fires on unknown only (clinical.md 7.3): a fever answered yes fires UR13, not G2."""
    intake = {**CLEAR, "symptoms": {**CLEAR["symptoms"], "fever": "yes"}}
    guidance = _guidance(client, intake)
    reasons = [reason["coding"][0]["code"] for reason in guidance["reasonCode"]]
    assert "UR13" in reasons
    assert "G2" not in reasons
    assert guidance["status"] == "success"
    assert "dataRequirement" not in guidance


def test_only_the_unknown_flags_are_data_required(client: FlaskClient) -> None:
    """Fever yes, systemically unwell unknown: G2 fires for the unknown one, only it is asked;
    UR13 already sends the patient for a same-day assessment, so the status is success."""
    symptoms = {**CLEAR["symptoms"], "fever": "yes", "systemically_unwell": "unknown"}
    guidance = _guidance(client, {**CLEAR, "symptoms": symptoms})
    assert guidance["status"] == "success"
    wanted = {req["codeFilter"][0]["code"][0]["code"] for req in guidance["dataRequirement"]}
    assert "systemically_unwell" in wanted
    assert "fever" not in wanted


def test_other_unknowns_are_not_data_required(client: FlaskClient) -> None:
    """G3 (steps now unknown) is a call-back, not the red-flag screen: the status is success."""
    symptoms = {k: v for k, v in CLEAR["symptoms"].items() if k != "steps_now"}
    guidance = _guidance(client, {**CLEAR, "symptoms": symptoms})
    assert "G3" in [reason["coding"][0]["code"] for reason in guidance["reasonCode"]]
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
    coded = response_from_intake({**CLEAR, "symptoms": {**CLEAR["symptoms"], "fever": "yes"}})
    boolean = response_from_intake(CLEAR)
    symptoms = next(group for group in boolean["item"] if group["linkId"] == "symptoms")
    fever = next(i for i in symptoms["item"] if i["linkId"] == "fever")
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


def test_fhir_paths_take_the_api_key(app_factory: AppFactory) -> None:
    """With TRIAGE_API_KEYS set, /fhir needs a key (401 OperationOutcome without one)."""
    key = "fhir-key-aaaaaaaaaaaaaaaa"
    app: Flask = app_factory({"API_KEYS": key})
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
    required = _post(
        client, response_from_intake({**CLEAR, "symptoms": {**CLEAR["symptoms"], "fever": None}})
    ).get_json(force=True)
    emergency = next(v for v in VIGNETTES if v.urgency == "emergency")
    urgent = _post(client, response_from_intake(emergency.intake)).get_json(force=True)
    referrals = _post(client, response_from_intake(CALL_BACK_AND_RT3)).get_json(force=True)
    in_person = _post(client, response_from_intake(FRACTURE)).get_json(force=True)
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
        referrals,
        in_person,
        outcome,
        invalid,
        response_from_intake(CLEAR),
    ]
    assert required["status"] == "data-required"
    assert _expression(_items(questionnaire)["pregnant"])  # the SDC extension is checked too
    assert _parameter(referrals, "referral")
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


def test_an_emergency_with_unanswered_danger_signs_is_a_result_not_a_wait(
    client: FlaskClient,
) -> None:
    """A cold foot (EM1) with the other danger signs unanswered: the GuidanceResponse is success
    (go now), and the unanswered signs are still listed as data requirements."""
    intake = {"patient": {"age_years": 60}, "symptoms": {"foot_cold_pale_or_blue": "yes"}}
    guidance = _post(client, response_from_intake(intake)).get_json(force=True)
    assert guidance["status"] == "success"
    (destination,) = _parameter(guidance, "destination")
    assert _code(destination) == "vascular_surgery_on_call"
    required = {
        code["code"]
        for requirement in guidance["dataRequirement"]
        for code in requirement["codeFilter"][0]["code"]
    }
    assert {"fever", "systemically_unwell", "hot_swollen_joint"} <= required
