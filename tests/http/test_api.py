"""The HTTP API: answers, catalogues, health, and a problem+json for every kind of bad request."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.domain.findings import FINDINGS
from service.domain.ruleset import Ruleset
from tests.helpers import EXAMPLE, RED_FLAG_SCREEN, ROOT, AppFactory
from tests.helpers.yaml_text import load_yaml

SCREEN_CLEAR = dict.fromkeys(RED_FLAG_SCREEN, "no")

# clinical.md 2.1: the seven new findings of 2027.1 (F1-F7) and their request groups.
NEW_FINDINGS = {
    "pregnant": "patient",
    "immunosuppressed": "history",
    "anticoagulant": "history",
    "cancer_history": "history",
    "known_inflammatory_arthritis_or_gout": "history",
    "calf_or_leg_swelling": "symptoms",
    "pain_out_of_proportion": "symptoms",
}
# clinical.md 2.3: the question and help text of the new and re-worded findings, verbatim.
WORDING: dict[str, tuple[str, str]] = {
    "calf_or_leg_swelling": (
        (
            "Is your calf or whole lower leg on the painful side swollen, tender or painful "
            "\u2013 not just the foot?"
        ),
        (
            "Answer yes if the calf or the whole lower leg is swollen, tender or aching, "
            "especially after a long journey, an operation, a plaster cast or a time of not "
            "moving much. Swelling of the foot alone does not count."
        ),
    ),
    "pain_out_of_proportion": (
        (
            "Since the injury, is the pain getting worse despite painkillers, much worse "
            "than you would expect, worse when your toes are moved, or does the foot feel "
            "tight and hard?"
        ),
        "Asked only if the pain started with an injury. Answer yes if any part is true.",
    ),
    "immunosuppressed": (
        (
            "Do you take steroid tablets, chemotherapy, methotrexate, a biologic or "
            "anti-rejection medicine, or have a condition that weakens your immune system "
            "(e.g. HIV, no spleen)?"
        ),
        (
            "Steroid tablets means prednisolone or similar taken by mouth; inhalers and "
            "creams do not count. Answer unknown if you are not sure whether a medicine "
            "weakens your immune system."
        ),
    ),
    "anticoagulant": (
        (
            "Do you take a blood thinner (warfarin, apixaban, rivaroxaban, edoxaban, "
            "dabigatran) or have a bleeding disorder?"
        ),
        (
            "Heparin injections count. Aspirin or clopidogrel alone: answer no, but ask a "
            "pharmacist before taking ibuprofen."
        ),
    ),
    "pregnant": (
        "Are you pregnant, or have you given birth in the last 6 weeks?",
        "Asked of everyone aged 12 to 55. Answer unknown if you might be pregnant.",
    ),
    "cancer_history": (
        (
            "Have you ever had cancer (other than a minor skin cancer), or are you being "
            "treated for cancer now?"
        ),
        (
            "Minor skin cancer means a basal cell carcinoma. Answer yes for melanoma, "
            "leukaemia, lymphoma, myeloma and any cancer now in remission."
        ),
    ),
    "known_inflammatory_arthritis_or_gout": (
        (
            "Has a doctor told you that you have gout, rheumatoid arthritis, psoriatic "
            "arthritis or another inflammatory arthritis?"
        ),
        "Osteoarthritis (wear and tear) does not count.",
    ),
    "visible_deformity": (
        (
            "Is there a new change in the shape of your foot or a toe (for example a toe "
            "pointing sideways or bent, or the middle of the foot collapsing), after an "
            "injury or not?"
        ),
        (
            "New means it appeared in the last days or weeks. A bunion or hammer toe you "
            "have had for a long time does not count."
        ),
    ),
    "open_wound_at_injury": (
        ("Is the skin broken now over the injured area (a cut or split; bone may be visible)?"),
        "Answer no if there was no injury, or if a small graze has already healed.",
    ),
    "systemically_unwell": (
        (
            "Do you have any of these now: new confusion or drowsiness, breathing very fast "
            "or feeling breathless, a racing heart, mottled, ashen or blue skin or lips, or "
            "not having passed urine all day?"
        ),
        (
            "These are signs of a serious illness such as sepsis. Vomiting, or feeling very "
            "unwell without any of these signs, does not count here; fever is asked "
            "separately. Answer unknown if you cannot tell."
        ),
    ),
}

# clinical.md 7.8 and the advice tables of sections 7.3, 7.5 and 7.9, verbatim.
GO_NOW = "Go now; do not wait for a call."
G2_CALL_BACK = (
    "Please answer every danger-sign question; a clinician will review your answers and call you "
    "back today."
)
G2_SAFETY_NET = (
    "If you cannot be reached, or the foot becomes cold, pale or blue, redness spreads, or you "
    "feel very unwell, seek care now."
)
G3_CALL_BACK = "A clinician will call you back today to go through the missing answers."
PED1_CALL_BACK = "A clinician will review these answers."
PED1_SAFETY_NET = (
    "Contact a doctor today if your child starts to limp or cannot walk, has a fever, or is not "
    "better within 2 weeks, and within 2 days if the pain wakes them at night."
)
SC2_ADVICE = (  # SC2's lines around its pain-relief line (A2)
    "Rest and ice (about 15 minutes at a time, never directly on the skin), and elevate the foot.",
    "Wear shoes with a wide toe box, good arch support and cushioned insoles; avoid high heels "
    "and narrow flats.",
    "Seek care now for a cold, pale or blue foot, spreading redness, fever, a wound that will not "
    "heal, or if you cannot take four steps; get reassessed if pain reaches 7 out of 10 or is not "
    "improving after 6 weeks.",
)
NSAID_LINE = (
    "Over-the-counter paracetamol (acetaminophen) or ibuprofen can help for a short time; follow "
    "the label and ask a doctor first if you have other conditions or take other medicines."
)
PARACETAMOL_LINE = (
    "Over-the-counter paracetamol (acetaminophen) can help for a short time; follow the label. "
    "Do not take ibuprofen or other anti-inflammatory painkillers unless a doctor has said they "
    "are safe for you."
)
BLOOD_THINNER_LINE = (  # A3
    "You take a blood thinner: seek care today if swelling or bruising spreads, the foot feels "
    "tight, or the pain keeps getting worse. Do not take ibuprofen or aspirin for the pain."
)
PREGNANCY_LINE = (  # A4
    "As you are pregnant or have recently given birth: contact your midwife or maternity unit "
    "today if your face, hands or feet suddenly swell, or you have a bad headache or problems "
    "with your vision. Take paracetamol only for pain."
)

# A complete adult intake that fires SC2 alone (clinical.md: atraumatic, pain 3, four steps now,
# no bone tenderness, no swelling, every red flag answered no, no diabetes or neuropathy):
# self-care at home, routine, with every NSAID_OK answer given.
COMPLETE = {
    "patient": {"age_years": 30, "pregnant": "no"},
    "history": {
        "diabetes": "no",
        "neuropathy": "no",
        "dialysis": "no",
        "anticoagulant": "no",
        "immunosuppressed": "no",
    },
    "symptoms": {
        "onset": "gradual",
        "pain_nrs": 3,
        "steps_now": 4,
        "tender_metatarsal_point": "no",
        "tender_navicular": "no",
        "tender_5th_mt_base": "no",
        "swelling": "none",
        **SCREEN_CLEAR,
    },
}


def _intake(
    patient: dict[str, Any] | None = None,
    history: dict[str, Any] | None = None,
    symptoms: dict[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """COMPLETE with some answers changed; None leaves the finding out (unknown)."""
    intake: dict[str, dict[str, Any]] = {}
    for group, changes in (("patient", patient), ("history", history), ("symptoms", symptoms)):
        answers = {**COMPLETE[group], **(changes or {})}
        intake[group] = {name: value for name, value in answers.items() if value is not None}
    return intake


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = response.get_json(force=True)
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return body


def test_example_intake(client: FlaskClient, ruleset: Ruleset) -> None:
    """The design.md example: Ottawa positive, fracture clinic today, every part of the answer.

    clinical.md: UR1 (tender 5th MT base, midfoot), UR2 (2 steps, then 3), UR11 (3 steps now)
    are urgent/orthopaedic; G2 (red-flag screen unanswered) is urgent/PT call-back; SN4 (two
    tenderness answers unknown after an injury) soon; SC2 (pain 6) and SC4 (2 weeks) informational.
    Rank order (1.2 step 4): urgency, level, destination, index.
    """
    response = client.post("/v1/triage", json=EXAMPLE)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert (body["level"], body["urgency"]) == ("orthopedic_surgeon", "urgent")
    assert body["destination"] == "fracture_clinic"
    assert body["setting"] == "in_person"
    assert body["escalation"] is None
    assert body["needs_clinician_review"] is True  # G2: red-flag screen not answered
    ids = [entry["rule_id"] for entry in body["rationale"]]
    assert ids == ["UR1", "UR2", "UR11", "G2", "SN4", "SC2", "SC4"]
    assert _referral_codes(body) == [
        {"rule_id": rule, "level": level, "urgency": urgency, "destination": destination}
        for rule, level, urgency, destination in [
            ("UR1", "orthopedic_surgeon", "urgent", "fracture_clinic"),
            ("UR2", "orthopedic_surgeon", "urgent", "fracture_clinic"),
            ("UR11", "orthopedic_surgeon", "urgent", "fracture_clinic"),
            ("G2", "physical_therapist", "urgent", "clinician_call_back"),
            ("SN4", "orthopedic_surgeon", "soon", "fracture_clinic"),
        ]
    ]
    ur1 = body["rationale"][0]
    assert ur1["matched"]["tender_5th_mt_base"] == "yes"
    assert ur1["matched"]["pain_location"] == "midfoot"
    assert ur1["citations"] == ["ottawa"]
    assert (ur1["destination"], ur1["setting"], ur1["informational"]) == (
        "fracture_clinic",
        "in_person",
        False,
    )
    informational = {e["rule_id"] for e in body["rationale"] if e["informational"]}
    assert informational == {"SC2", "SC4"}
    assert body["ruleset"] == ruleset.identity
    assert body["citations"][0]["key"] == "ottawa"
    assert body["citations"][0]["references"]
    assert body["disclaimer"] == ruleset.disclaimer
    # 7.8 A1: UR1 sends the patient to the fracture clinic today, so G2's call-back line gives way.
    assert body["advice"][0] == GO_NOW
    assert body["advice"][1] == "Arrange an X-ray and fracture assessment today."
    assert G2_CALL_BACK not in body["advice"]
    # 7.8 A0: an urgent answer carries no self-care advice.
    assert not any(line.startswith("Rest and ice") for line in body["advice"])


def test_follow_up_names_only_unknown_findings_that_raise(
    client: FlaskClient, ruleset: Ruleset
) -> None:
    """follow_up: unknown findings that could raise the result, most raising first."""
    body = client.post("/v1/triage", json=EXAMPLE).get_json()
    follow = body["follow_up"]
    assert follow, "the red-flag screen is unanswered, so there is something to ask"
    answered = {name for group in EXAMPLE.values() for name in group}
    assert not answered & {item["finding"] for item in follow}
    assert all(item["could_raise_to"] == "emergency" for item in follow)
    cold = next(item for item in follow if item["finding"] == "foot_cold_pale_or_blue")
    assert cold["rules"] == ["EM1"]
    assert cold["could_raise_level"] == "orthopedic_surgeon"
    assert cold["question"] == ruleset.questions["foot_cold_pale_or_blue"].label
    # clinical.md 2.2: after an injury an unknown pain_out_of_proportion is listed (EM8).
    compartment = next(item for item in follow if item["finding"] == "pain_out_of_proportion")
    assert compartment["rules"] == ["EM8"]


def test_follow_up_is_ranked(client: FlaskClient) -> None:
    """follow_up is ranked by the outcome each answer could reach, (urgency, level), highest first.

    Fever unknown fires G2 and steps_now unknown G3: both urgent, physical therapist (R11). A
    fever answered yes would fire UR13 (urgent, orthopedic surgeon): the answer could reach the
    same urgency at a higher level, so fever is listed with that outcome.
    """
    intake = {"symptoms": {"pain_nrs": 3, "onset": "gradual", **SCREEN_CLEAR}}
    del intake["symptoms"]["fever"]
    body = client.post("/v1/triage", json=intake).get_json()
    assert (body["urgency"], body["level"]) == ("urgent", "physical_therapist")
    assert {entry["rule_id"] for entry in body["rationale"]} >= {"G2", "G3"}
    urgency = {"routine": 0, "soon": 1, "urgent": 2, "emergency": 3}
    level = {"self_care": 0, "physical_therapist": 1, "orthopedic_surgeon": 2}
    reach = [
        (urgency[item["could_raise_to"]], level[item["could_raise_level"]])
        for item in body["follow_up"]
    ]
    assert reach == sorted(reach, reverse=True)
    assert all(pair > (urgency["urgent"], level["physical_therapist"]) for pair in reach)
    assert body["follow_up"][0]["could_raise_to"] == "emergency"
    fever = next(item for item in body["follow_up"] if item["finding"] == "fever")
    assert (fever["could_raise_to"], fever["could_raise_level"], fever["rules"]) == (
        "urgent",
        "orthopedic_surgeon",
        ["UR13"],
    )


def test_empty_intake_is_all_unknown(client: FlaskClient) -> None:
    """{} is valid: every finding unknown, each read the safe way (clinical.md 1.3, 1.4).

    Unknown onset is a possible injury (INJURY_OR_UNKNOWN, R7) and unknown steps are "unable"
    (WB_UNABLE): UR2. Diabetes and neuropathy unknown are INSENSATE_RISK: UR4. Unanswered red
    flags: G2; unanswered steps now: G3; no pain score: G1. An X-ray today, a clinician reviews.
    """
    body = client.post("/v1/triage", json={}).get_json()
    assert (body["level"], body["urgency"]) == ("orthopedic_surgeon", "urgent")
    assert [entry["rule_id"] for entry in body["rationale"]] == ["UR2", "UR4", "G2", "G3", "G1"]
    assert body["destination"] == "fracture_clinic"
    assert body["setting"] == "in_person"
    assert body["escalation"] is None
    assert body["needs_clinician_review"] is True
    assert body["advice"][0] == GO_NOW


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
    rules = {rule["id"]: rule for rule in body["rules"]}
    assert {"UR5b", "SN7b", "RT1b", "PED1", "PED2", "PED3"} <= rules.keys()
    # clinical.md 7.6: SC1-SC5 and DEF are the informational rules.
    informational = {rule_id for rule_id, rule in rules.items() if rule["informational"]}
    assert informational == {"SC1", "SC2", "SC3", "SC4", "SC5", "DEF"}
    for rule in body["rules"]:
        assert rule["destination"] in ruleset.destinations
        assert rule["setting"] in ("in_person", "virtual_suitable")
        assert (rule["escalation"] == "emergency_department") == (rule["urgency"] == "emergency")
        assert rule["advice"]
        assert all(isinstance(line, str) for line in rule["advice"])
    assert (rules["PED1"]["destination"], rules["PED1"]["setting"]) == (
        "paediatric_assessment",
        "virtual_suitable",
    )
    assert (rules["RT3"]["destination"], rules["RT3"]["setting"]) == (
        "orthopaedic_clinic",
        "virtual_suitable",
    )
    # SC2's pain-relief line depends on the answers (7.8 A2): the catalogue lists both forms.
    assert {NSAID_LINE, PARACETAMOL_LINE} <= set(rules["SC2"]["advice"])


def test_questions_catalogue(client: FlaskClient, ruleset: Ruleset) -> None:
    """GET /v1/questions: all 49 findings of clinical.md section 2, with labels and groups."""
    body = client.get("/v1/questions").get_json()
    assert body["population"] == ruleset.population
    questions = body["questions"]
    assert len(questions) == 49
    by_name = {q["finding"]: q for q in questions}
    assert by_name["pain_nrs"] == {
        "finding": "pain_nrs",
        "group": "symptoms",
        "type": "integer",
        "label": ruleset.questions["pain_nrs"].label,
        "help": ruleset.questions["pain_nrs"].help,
        "minimum": 0,
        "maximum": 10,
    }
    assert by_name["fever"]["allowed_values"] == ["yes", "no", "unknown"]
    assert by_name["age_years"]["group"] == "patient"
    assert by_name["toe_deformity"]["group"] == "history"
    # clinical.md 2.1: the groups of the seven new findings F1-F7.
    assert {name: by_name[name]["group"] for name in NEW_FINDINGS} == NEW_FINDINGS
    assert all(by_name[name]["allowed_values"] == ["yes", "no", "unknown"] for name in NEW_FINDINGS)
    # clinical.md 2.2: only the situational questions say when they are asked.
    situational = {name for name, q in by_name.items() if "asked_when" in q}
    assert situational == {
        "steps_immediately",
        "injury_mechanism",
        "pain_out_of_proportion",
        "pregnant",
    }
    assert all(isinstance(by_name[name]["asked_when"], str) for name in situational)
    assert by_name["pain_out_of_proportion"]["asked_when"] == "onset is injury"
    pregnant = by_name["pregnant"]["asked_when"]
    assert all(part in pregnant for part in ("age_years", "12", "55"))


@pytest.mark.parametrize("finding", sorted(WORDING))
def test_question_wording_is_clinical_md(client: FlaskClient, finding: str) -> None:
    """The new and re-worded questions read as clinical.md 2.3 words them, with its help text."""
    questions = client.get("/v1/questions").get_json()["questions"]
    question = next(q for q in questions if q["finding"] == finding)
    assert (question["label"], question["help"]) == WORDING[finding]


def test_health_and_readiness(client: FlaskClient, ruleset: Ruleset) -> None:
    """/healthz is alive; /readyz names the loaded ruleset and the cases replayed with it."""
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz").get_json()
    cases = client.application.extensions["site_data"].identity
    assert ready == {"status": "ready", "ruleset": ruleset.identity, "cases": cases}


def test_readiness_is_503_without_a_ruleset(app: Flask, app_factory: AppFactory) -> None:
    """An app whose ruleset is gone is not ready."""
    bare = app_factory()
    bare.extensions.pop("triage")
    _problem(bare.test_client().get("/readyz"), 503)


def test_contract_is_served(client: FlaskClient) -> None:
    """GET /openapi.yaml returns the committed file."""
    response = client.get("/openapi.yaml")
    assert response.status_code == 200
    assert response.mimetype == "application/yaml"
    assert response.data == (ROOT / "openapi.yaml").read_bytes()


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
def test_fifty_thousand_deep_nesting(
    limit: int | None, status: int, app_factory: AppFactory
) -> None:
    """50,000-deep nesting: over 64 KiB it is 413; under a raised limit, 400 (never a crash)."""
    app = app_factory({"MAX_BODY_BYTES": limit} if limit else None)
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


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "gzip, identity"])
@pytest.mark.parametrize("path", ["/v1/triage", "/v1/triage/batch", "/v1/interview"])
def test_a_content_coding_is_415(client: FlaskClient, coding: str, path: str) -> None:
    """RFC 9110 8.4: a body sent with a content coding is refused (415 naming the accepted
    one), not read as JSON: a compressed body would otherwise be a misleading 400, and a plain
    one labelled gzip would be taken."""
    response = client.post(
        path, data=b"{}", content_type="application/json", headers={"Content-Encoding": coding}
    )
    body = _problem(response, 415)
    assert response.headers["Accept-Encoding"] == "identity"
    assert "Content-Encoding" in body["detail"]


@pytest.mark.parametrize("coding", ["identity", "Identity", ""])
def test_the_identity_coding_is_read(client: FlaskClient, coding: str) -> None:
    """identity (or an empty value) is no coding at all."""
    response = client.post(
        "/v1/triage",
        data=b"{}",
        content_type="application/json",
        headers={"Content-Encoding": coding},
    )
    assert response.status_code == 200


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


def test_unexpected_exception_is_a_generic_500(app: Flask, app_factory: AppFactory) -> None:
    """An unforeseen error answers 500 problem+json with no exception text."""
    broken = app_factory()

    def explode() -> None:
        raise RuntimeError("canary-secret")

    broken.add_url_rule("/explode", "explode", explode)
    response = broken.test_client().get("/explode")
    assert "canary" not in response.get_data(as_text=True)
    _problem(response, 500)


def test_engine_failure_is_a_500_not_a_level(app: Flask, app_factory: AppFactory) -> None:
    """Fail closed: if the engine fails, no level is answered."""
    broken = app_factory()
    triage = broken.extensions["triage"]

    def failing(_facts: object) -> list[str]:
        from service.exceptions import EngineError

        raise EngineError("boom")

    triage.engine.evaluate = failing
    response = broken.test_client().post("/v1/triage", json={})
    body = _problem(response, 500)
    assert "level" not in body


def test_engine_disagreeing_with_the_conditions_is_a_500(
    app: Flask, app_factory: AppFactory
) -> None:
    """A firing the conditions do not support (an engine fault) gives no answer."""
    broken = app_factory()
    triage = broken.extensions["triage"]
    real = triage.engine.evaluate
    triage.engine.evaluate = lambda facts: [*real(facts), "EM1"]
    _problem(broken.test_client().post("/v1/triage", json={"symptoms": {"pain_nrs": 3}}), 500)


def test_emergency_answer_carries_no_self_care_advice(
    client: FlaskClient, ruleset: Ruleset
) -> None:
    """Sent to the ED, the patient is not also told to carry on at home (7.8 A0).

    A cold, pale or blue foot fires EM1 (vascular surgery on call); SC2 (pain 3) and SC4 (2 weeks
    of self-care) still fire and stay in the rationale, but their advice is left out.
    """
    intake = _intake(
        history={"conservative_care_weeks": 2},
        symptoms={"foot_cold_pale_or_blue": "yes"},
    )
    body = client.post("/v1/triage", json=intake).get_json()
    assert body["urgency"] == "emergency"
    assert body["escalation"] == "emergency_department"
    assert body["destination"] == "vascular_surgery_on_call"
    assert [entry["rule_id"] for entry in body["rationale"]] == ["EM1", "SC2", "SC4"]
    self_care = {a for r in ("SC2", "SC4") for a in ruleset.advice_texts(ruleset.by_id[r])}
    assert not self_care & set(body["advice"])
    assert body["advice"] == [
        "Go to the emergency department now or call emergency services. Do not wait for a "
        "routine appointment.",
        "Do not walk on the foot.",
    ]


def test_self_care_answer_keeps_its_advice(client: FlaskClient) -> None:
    """A complete adult intake with moderate pain: SC2 alone, self-care at home, its advice."""
    body = client.post("/v1/triage", json=_intake()).get_json()
    assert (body["level"], body["urgency"]) == ("self_care", "routine")
    assert (body["destination"], body["setting"]) == ("self_care_at_home", "virtual_suitable")
    assert body["escalation"] is None
    assert body["needs_clinician_review"] is False
    assert _referral_codes(body) == []
    assert [(e["rule_id"], e["informational"]) for e in body["rationale"]] == [("SC2", True)]
    assert body["advice"] == [*SC2_ADVICE[:2], NSAID_LINE, SC2_ADVICE[2]]


def _answer(client: FlaskClient, intake: Any) -> dict[str, Any]:
    response = client.post("/v1/triage", json=intake)
    assert response.status_code == 200
    body: dict[str, Any] = response.get_json()
    return body


# --- Advice assembly, clinical.md 7.8, through POST /v1/triage -----------------------------------


@pytest.mark.parametrize(
    ("symptoms", "urgency", "rule", "advised"),
    [
        pytest.param({}, "routine", "SC2", True, id="routine-SC2-alone"),
        pytest.param({"inflammatory_pattern": "yes"}, "soon", "SN6", True, id="soon-SN6"),
        pytest.param({"calf_or_leg_swelling": "yes"}, "urgent", "UR14", False, id="urgent-UR14"),
        pytest.param({"fever": "yes"}, "urgent", "UR13", False, id="urgent-UR13"),
    ],
)
def test_a0_self_care_advice_only_in_routine_and_soon_answers(
    client: FlaskClient, symptoms: dict[str, Any], urgency: str, rule: str, advised: bool
) -> None:
    """A0: SC1-SC5 advise routine and soon answers only; their statements stay in the rationale."""
    body = _answer(client, _intake(symptoms=symptoms))
    assert body["urgency"] == urgency
    assert body["rationale"][0]["rule_id"] == rule
    assert "SC2" in [entry["rule_id"] for entry in body["rationale"]]
    assert all((line in body["advice"]) is advised for line in SC2_ADVICE)
    assert (NSAID_LINE in body["advice"]) is advised


def test_a1_g2_alone_keeps_its_call_back_line(client: FlaskClient) -> None:
    """A1: when G2 decides the urgency, the same-day call-back is the action; its line stays."""
    body = _answer(client, _intake(symptoms={"fever": None}))
    assert (body["level"], body["urgency"]) == ("physical_therapist", "urgent")
    assert body["destination"] == "clinician_call_back"
    assert body["needs_clinician_review"] is True
    assert body["advice"] == [G2_CALL_BACK, G2_SAFETY_NET]  # A0: no SC2 advice when urgent


def test_a1_g2_and_g3_keep_both_call_back_lines(client: FlaskClient) -> None:
    """A1: G2 and G3 both send to the call-back; no other rule sends the patient anywhere today."""
    body = _answer(client, _intake(symptoms={"fever": None, "steps_now": None}))
    assert [entry["rule_id"] for entry in body["rationale"]] == ["G2", "G3", "SC2"]
    assert GO_NOW not in body["advice"]
    assert body["advice"][0] == G2_CALL_BACK
    assert G3_CALL_BACK in body["advice"]


def test_a1_go_now_replaces_the_call_back_when_ur1_fires(client: FlaskClient) -> None:
    """A1: G2 with UR1 (fracture clinic today): "Go now" first, G2's call-back line dropped."""
    injury = {
        "fever": None,
        "onset": "injury",
        "pain_location": "midfoot",
        "tender_5th_mt_base": "yes",
    }
    body = _answer(client, _intake(symptoms=injury))
    assert [entry["rule_id"] for entry in body["rationale"]] == ["UR1", "G2", "SC2"]
    assert body["destination"] == "fracture_clinic"
    assert body["advice"][0] == GO_NOW
    assert body["advice"].count(GO_NOW) == 1
    assert body["advice"][1] == "Arrange an X-ray and fracture assessment today."
    assert G2_CALL_BACK not in body["advice"]
    assert body["needs_clinician_review"] is True  # a clinician still reviews the record


def test_a1_ped1_alone_keeps_its_call_back_line(client: FlaskClient) -> None:
    """PED1 alone (a child, nothing else): its review line stays; the destination is paediatric."""
    body = _answer(client, _intake(patient={"age_years": 8, "pregnant": None}))
    assert [entry["rule_id"] for entry in body["rationale"]] == ["PED1", "SC2"]
    assert (body["level"], body["urgency"]) == ("self_care", "routine")  # PED1 never raises
    assert body["destination"] == "paediatric_assessment"
    assert body["setting"] == "virtual_suitable"
    assert body["needs_clinician_review"] is True
    assert _referral_codes(body) == []  # PED1 is at self-care level
    assert body["advice"][:2] == [PED1_CALL_BACK, PED1_SAFETY_NET]
    assert GO_NOW not in body["advice"]


def test_a1_go_now_replaces_ped1_when_ped2_fires(client: FlaskClient) -> None:
    """PED1 + PED2 (a child who cannot take four steps): "Go now" first, PED1's line dropped."""
    body = _answer(
        client, _intake(patient={"age_years": 8, "pregnant": None}, symptoms={"steps_now": 2})
    )
    ids = [entry["rule_id"] for entry in body["rationale"]]
    assert ids[0] == "PED2"
    assert {"PED1", "PED2"} <= set(ids)
    assert (body["level"], body["urgency"]) == ("orthopedic_surgeon", "urgent")
    assert body["destination"] == "paediatric_assessment"
    assert body["advice"][0] == GO_NOW
    assert PED1_CALL_BACK not in body["advice"]
    assert PED1_SAFETY_NET in body["advice"]  # only the marked line gives way
    assert body["needs_clinician_review"] is True


@pytest.mark.parametrize(
    ("patient", "history", "line"),
    [
        pytest.param({}, {}, NSAID_LINE, id="30-all-no"),
        pytest.param({"age_years": None}, {}, PARACETAMOL_LINE, id="age-unknown"),
        pytest.param({"age_years": 64, "pregnant": None}, {}, NSAID_LINE, id="64"),
        pytest.param({"age_years": 65, "pregnant": None}, {}, PARACETAMOL_LINE, id="65"),
        pytest.param({"age_years": 70, "pregnant": None}, {}, PARACETAMOL_LINE, id="70"),
        pytest.param({}, {"anticoagulant": "yes"}, PARACETAMOL_LINE, id="anticoagulant-yes"),
        pytest.param({}, {"anticoagulant": None}, PARACETAMOL_LINE, id="anticoagulant-unknown"),
        pytest.param({}, {"dialysis": None}, PARACETAMOL_LINE, id="dialysis-unknown"),
        pytest.param({"pregnant": None}, {}, PARACETAMOL_LINE, id="pregnant-unknown-30"),
        pytest.param({"pregnant": "yes"}, {}, PARACETAMOL_LINE, id="pregnant-yes-30"),
        pytest.param({"age_years": 60, "pregnant": None}, {}, NSAID_LINE, id="pregnant-unknown-60"),
        pytest.param({"age_years": 11, "pregnant": None}, {}, NSAID_LINE, id="pregnant-unknown-11"),
    ],
)
def test_a2_ibuprofen_only_when_nsaid_ok(
    client: FlaskClient, patient: dict[str, Any], history: dict[str, Any], line: str
) -> None:
    """A2: SC2 names ibuprofen only when NSAID_OK; otherwise paracetamol only."""
    body = _answer(client, _intake(patient=patient, history=history))
    assert body["urgency"] in ("routine", "soon")
    assert line in body["advice"]
    other = PARACETAMOL_LINE if line == NSAID_LINE else NSAID_LINE
    assert other not in body["advice"]


@pytest.mark.parametrize(
    ("symptoms", "urgency", "added"),
    [
        pytest.param({}, "routine", True, id="routine"),
        pytest.param({"inflammatory_pattern": "yes"}, "soon", True, id="soon"),
        pytest.param({"calf_or_leg_swelling": "yes"}, "urgent", False, id="urgent"),
        pytest.param({"foot_cold_pale_or_blue": "yes"}, "emergency", False, id="emergency"),
    ],
)
def test_a3_blood_thinner_line(
    client: FlaskClient, symptoms: dict[str, Any], urgency: str, added: bool
) -> None:
    """A3: with a blood thinner, routine and soon answers add the blood-thinner line, last."""
    body = _answer(client, _intake(history={"anticoagulant": "yes"}, symptoms=symptoms))
    assert body["urgency"] == urgency
    assert (BLOOD_THINNER_LINE in body["advice"]) is added
    if added:
        assert body["advice"][-1] == BLOOD_THINNER_LINE  # after the rules' advice


def test_a3_needs_a_blood_thinner_answered_yes(client: FlaskClient) -> None:
    """A3 reads Y(anticoagulant): an unknown answer blocks ibuprofen but adds no line."""
    body = _answer(client, _intake(history={"anticoagulant": "unknown"}))
    assert body["urgency"] == "routine"
    assert BLOOD_THINNER_LINE not in body["advice"]


@pytest.mark.parametrize(
    ("symptoms", "urgency", "added"),
    [
        pytest.param({}, "routine", True, id="routine"),
        pytest.param({"inflammatory_pattern": "yes"}, "soon", True, id="soon"),
        pytest.param({"calf_or_leg_swelling": "yes"}, "urgent", False, id="urgent"),
        pytest.param({"foot_cold_pale_or_blue": "yes"}, "emergency", False, id="emergency"),
    ],
)
def test_a4_pregnancy_line(
    client: FlaskClient, symptoms: dict[str, Any], urgency: str, added: bool
) -> None:
    """A4: pregnant (or recently given birth): routine and soon answers add the pregnancy line."""
    body = _answer(client, _intake(patient={"pregnant": "yes"}, symptoms=symptoms))
    assert body["urgency"] == urgency
    assert (PREGNANCY_LINE in body["advice"]) is added
    if added:
        assert body["advice"][-1] == PREGNANCY_LINE
        assert PARACETAMOL_LINE in body["advice"]  # and no ibuprofen (A2)


def test_a4_not_added_when_ur16_sends_to_maternity_today(client: FlaskClient) -> None:
    """Diffuse swelling without an injury in pregnancy: UR16, maternity today, its own advice."""
    body = _answer(client, _intake(patient={"pregnant": "yes"}, symptoms={"swelling": "diffuse"}))
    assert (body["urgency"], body["destination"]) == ("urgent", "maternity_assessment")
    assert body["rationale"][0]["rule_id"] == "UR16"
    assert PREGNANCY_LINE not in body["advice"]
    assert body["advice"][0].startswith("Contact your midwife or maternity assessment unit today")


def test_a4_needs_pregnant_answered_yes(client: FlaskClient) -> None:
    """A4 reads Y(pregnant): an unknown answer adds no line."""
    body = _answer(client, _intake(patient={"pregnant": "unknown"}))
    assert PREGNANCY_LINE not in body["advice"]


# --- Aggregation v2 on the wire, clinical.md 1.2 -------------------------------------------------


def test_referrals_keep_rt3_when_g2_decides(client: FlaskClient) -> None:
    """G2 (urgent call-back) decides urgency and destination; RT3 raises the level and stays listed.

    12 weeks of supervised care without improvement: RT3 (orthopaedic clinic) and RT2 (physical
    therapy), both routine. Route on the destination (the call-back), never on the level.
    """
    body = _answer(
        client,
        _intake(
            history={
                "conservative_care_weeks": 12,
                "prior_pt_or_orthoses": "yes",
            },
            symptoms={"fever": None, "improving": "no"},
        ),
    )
    assert (body["level"], body["urgency"]) == ("orthopedic_surgeon", "urgent")
    assert body["destination"] == "clinician_call_back"
    assert _referral_codes(body) == [
        {
            "rule_id": "G2",
            "level": "physical_therapist",
            "urgency": "urgent",
            "destination": "clinician_call_back",
        },
        {
            "rule_id": "RT3",
            "level": "orthopedic_surgeon",
            "urgency": "routine",
            "destination": "orthopaedic_clinic",
        },
        {
            "rule_id": "RT2",
            "level": "physical_therapist",
            "urgency": "routine",
            "destination": "physical_therapy",
        },
    ]
    assert body["setting"] == "virtual_suitable"  # G2, RT3 and RT2 are all virtual_suitable
    assert body["advice"][0] == G2_CALL_BACK  # G2 decides: the call-back is the action (A1)


@pytest.mark.parametrize(
    ("symptoms", "setting"),
    [
        pytest.param({}, "virtual_suitable", id="self-care-only"),
        pytest.param({"fever": None}, "virtual_suitable", id="G2-virtual"),
        pytest.param({"fever": None, "inflammatory_pattern": "yes"}, "in_person", id="G2+SN6"),
        pytest.param({"calf_or_leg_swelling": "yes"}, "in_person", id="UR14"),
    ],
)
def test_setting_is_in_person_when_any_rule_above_self_care_is(
    client: FlaskClient, symptoms: dict[str, Any], setting: str
) -> None:
    """1.2 step 8: in_person when any fired rule above self-care is, deciding or not."""
    body = _answer(client, _intake(symptoms=symptoms))
    assert body["setting"] == setting


def test_in_person_rule_that_does_not_decide_still_sets_the_setting(client: FlaskClient) -> None:
    """G2 (virtual, urgent) decides; SN6 (in person, soon) is a referral and makes it in person."""
    body = _answer(client, _intake(symptoms={"fever": None, "inflammatory_pattern": "yes"}))
    assert body["destination"] == "clinician_call_back"
    assert [referral["rule_id"] for referral in body["referrals"]] == ["G2", "SN6"]
    assert body["setting"] == "in_person"


@pytest.mark.parametrize(
    ("symptoms", "urgency", "escalation"),
    [
        pytest.param({"foot_cold_pale_or_blue": "yes"}, "emergency", "emergency_department"),
        pytest.param({"systemically_unwell": "yes"}, "emergency", "emergency_department"),
        pytest.param({"calf_or_leg_swelling": "yes"}, "urgent", None),
        pytest.param({"fever": None}, "urgent", None),
        pytest.param({"inflammatory_pattern": "yes"}, "soon", None),
        pytest.param({}, "routine", None),
    ],
)
def test_escalation_only_on_emergencies(
    client: FlaskClient, symptoms: dict[str, Any], urgency: str, escalation: str | None
) -> None:
    """1.2 step 6: escalation is emergency_department when the urgency is emergency, else null."""
    body = _answer(client, _intake(symptoms=symptoms))
    assert (body["urgency"], body["escalation"]) == (urgency, escalation)


def _random_intake(rng: random.Random) -> dict[str, dict[str, Any]]:
    """Any valid intake: each finding left out, null, or one of its allowed values."""
    intake: dict[str, dict[str, Any]] = {"patient": {}, "history": {}, "symptoms": {}}
    for finding in FINDINGS.values():
        if rng.random() < 0.3:
            continue
        if finding.is_numeric:
            low, high = finding.bounds
            value: Any = rng.choice([None, low, high, *range(low, min(high, 20) + 1)])
        else:
            value = rng.choice([None, *finding.values])
        intake[finding.group][finding.name] = value
    return intake


def test_aggregation_v2_holds_on_random_intakes(client: FlaskClient, ruleset: Ruleset) -> None:
    """On 200 random intakes the answer follows 1.2 from its own rationale, step by step.

    destination is never null and is a manifest code; urgency and destination come from the first
    rule; level is the highest non-informational level; escalation only on emergencies; setting
    in person when any rule above self-care is; referrals are the rules above self-care.
    """
    rng = random.Random(2027)  # noqa: S311 (a reproducible sample, not a secret)
    levels, urgencies = list(ruleset.levels), list(ruleset.urgencies)
    for _ in range(200):
        body = _answer(client, _random_intake(rng))
        rationale = body["rationale"]
        first = rationale[0]
        assert body["destination"] is not None
        assert body["destination"] in ruleset.destinations
        assert (body["urgency"], body["destination"]) == (first["urgency"], first["destination"])
        assert body["urgency"] == max((e["urgency"] for e in rationale), key=urgencies.index)
        deciding = [e["level"] for e in rationale if not e["informational"]]
        assert body["level"] == max(deciding or [levels[0]], key=levels.index)
        assert body["escalation"] == (
            "emergency_department" if body["urgency"] == "emergency" else None
        )
        above = [e for e in rationale if e["level"] != "self_care"]
        assert _referral_codes(body) == [
            {key: e[key] for key in ("level", "urgency", "destination")} | {"rule_id": e["rule_id"]}
            for e in above
        ]
        in_person = any(e["setting"] == "in_person" for e in above)
        assert body["setting"] == ("in_person" if in_person else "virtual_suitable")
        assert body["needs_clinician_review"] == any(
            ruleset.by_id[e["rule_id"]].needs_clinician_review for e in rationale
        )


# --- Children, clinical.md 7.9 -------------------------------------------------------------------


def test_a_four_year_old_is_never_refused(client: FlaskClient) -> None:
    """A 4-year-old after an injury: 200, PED1 (review), PED3 (injury under 5, within 48 h)."""
    body = _answer(
        client,
        _intake(patient={"age_years": 4, "pregnant": None}, symptoms={"onset": "injury"}),
    )
    ids = [entry["rule_id"] for entry in body["rationale"]]
    assert {"PED1", "PED3"} <= set(ids)
    assert body["needs_clinician_review"] is True
    assert body["destination"] == "paediatric_assessment"
    assert body["urgency"] == "soon"


@pytest.mark.parametrize("age", [0, 1, 4, 15])
def test_children_get_an_answer_with_review(client: FlaskClient, age: int) -> None:
    """Under 16, whatever else is known: 200, PED1 fires, a clinician reviews."""
    body = _answer(client, {"patient": {"age_years": age}})
    assert "PED1" in [entry["rule_id"] for entry in body["rationale"]]
    assert body["needs_clinician_review"] is True


def test_sixteen_uses_the_adult_rules(client: FlaskClient) -> None:
    """16-year-olds use the adult rules only (7.9): no PED rule fires."""
    body = _answer(client, _intake(patient={"age_years": 16}))
    assert not [e for e in body["rationale"] if e["rule_id"].startswith("PED")]
    assert body["destination"] == "self_care_at_home"


def test_a_blank_age_is_asked_in_follow_up(client: FlaskClient) -> None:
    """clinical.md 7.9: "Age left blank: adult rules, age asked in follow_up (1.4.2)"."""
    body = _answer(client, _intake(patient={"age_years": None}))
    age = next(item for item in body["follow_up"] if item["finding"] == "age_years")
    # No raise of urgency or level: the age would add PED1's clinician review, listed last.
    assert age["rules"] == ["PED1"]
    assert body["follow_up"][-1] == age


@pytest.mark.parametrize("age", [10, 70])
def test_follow_up_asks_pregnancy_only_at_12_to_55(client: FlaskClient, age: int) -> None:
    """Diffuse swelling without an injury: pregnant is not asked at 10 or 70 (2.2)."""
    body = _answer(
        client,
        _intake(patient={"age_years": age, "pregnant": None}, symptoms={"swelling": "diffuse"}),
    )
    assert "pregnant" not in [item["finding"] for item in body["follow_up"]]


def test_follow_up_asks_pregnancy_at_30(client: FlaskClient) -> None:
    """At 30 the pregnancy question is asked: unknown, with diffuse swelling, it could fire UR16."""
    body = _answer(client, _intake(patient={"pregnant": None}, symptoms={"swelling": "diffuse"}))
    pregnant = next(item for item in body["follow_up"] if item["finding"] == "pregnant")
    assert (pregnant["could_raise_to"], pregnant["rules"]) == ("urgent", ["UR16"])


# --- The contract's own examples ----------------------------------------------------------------

CONTRACT = load_yaml((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
TRIAGE_EXAMPLES = CONTRACT["paths"]["/v1/triage"]["post"]["requestBody"]["content"][
    "application/json"
]["examples"]


@pytest.mark.parametrize(
    ("name", "destination"),
    [
        ("ottawa_positive", "fracture_clinic"),
        ("self_care", "self_care_at_home"),
        ("pregnancy", "maternity_assessment"),
        ("young_child", "paediatric_assessment"),
    ],
)
def test_contract_examples_answer_as_their_summaries_say(
    client: FlaskClient, name: str, destination: str
) -> None:
    """Each request example of openapi.yaml is answered 200 with the destination it announces."""
    assert set(TRIAGE_EXAMPLES) == {
        "ottawa_positive",
        "self_care",
        "pregnancy",
        "young_child",
    }
    body = _answer(client, TRIAGE_EXAMPLES[name]["value"])
    assert body["destination"] == destination


def _referral_codes(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The referrals without their destination_name, which must name the destination."""
    manifest = load_yaml((ROOT / "rules" / "ruleset.yaml").read_text(encoding="utf-8"))
    names = manifest["destinations"]
    for referral in body["referrals"]:
        assert referral.pop("destination_name") == names[referral["destination"]]
    referrals: list[dict[str, Any]] = body["referrals"]
    return referrals
