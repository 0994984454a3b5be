"""POST /v1/interview: the request and answer, the question order policy, and its loader."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from service import create_app
from service.domain.findings import FINDINGS
from service.domain.intake_schema import UNKNOWN
from service.domain.interview import (
    DISPOSITION,
    Interviewer,
    InterviewPolicyError,
    load_policy,
)
from service.domain.ruleset import Ruleset
from tests.helpers import RED_FLAG_SCREEN, RULES, shipped_ruleset, vignettes
from tests.helpers.yaml_text import dump_yaml, load_yaml

VIGNETTES = vignettes()
CALM = {name: "no" for name in RED_FLAG_SCREEN}
# The questions asked only after an injury: their situation (rules/ruleset.yaml) reads onset.
INJURY_ONLY = tuple(
    name for name, reads in shipped_ruleset().asked_when_reads.items() if "onset" in reads
)


def _ask(client: FlaskClient, body: Any) -> tuple[int, dict[str, Any]]:
    response = client.post("/v1/interview", json=body)
    assert response.headers["Cache-Control"] == "no-store"
    return response.status_code, response.get_json()


def _patient(
    client: FlaskClient, answers: dict[str, dict[str, Any]], max_questions: int = 1
) -> tuple[list[str], dict[str, Any]]:
    """Interview a patient (left out: unknown); the questions asked and the last answer."""
    intake: dict[str, dict[str, Any]] = {}
    asked: list[str] = []
    while True:
        status, body = _ask(client, {**intake, "max_questions": max_questions})
        assert status == 200
        if body["status"] == "complete":
            return asked, body
        for question in body["questions"]:
            group, name = question["group"], question["finding"]
            unknown = None if question["type"] == "integer" else UNKNOWN
            intake.setdefault(group, {})[name] = (answers.get(group) or {}).get(name, unknown)
            asked.append(name)


def test_the_first_question_is_a_danger_sign_and_a_group_asks_them_all(
    client: FlaskClient,
) -> None:
    """An empty intake: the danger signs first, one at a time or the seven at once."""
    status, body = _ask(client, {})
    assert status == 200
    assert body["status"] == "ask"
    (question,) = body["questions"]
    assert question["finding"] == "foot_cold_pale_or_blue"
    assert question["why"]["group"] == "danger_signs"
    assert question["why"]["could_reach_urgency"] == "emergency"
    assert "EM1" in question["why"]["rules"]
    assert body["progress"] == {"answered": 0, "relevant": 45, "form_questions": 49}
    _, grouped = _ask(client, {"max_questions": 10})
    assert [q["finding"] for q in grouped["questions"]] == [
        "foot_cold_pale_or_blue",
        "sudden_numbness_or_weakness",
        "systemically_unwell",
        "fever",
        "redness_spreading_rapidly",
        "black_or_dead_tissue",
        "hot_swollen_joint",
    ]


def test_each_question_is_the_catalogue_entry_plus_why(client: FlaskClient) -> None:
    """The question carries GET /v1/questions' entry for that finding, and `why`."""
    catalogue = {q["finding"]: q for q in client.get("/v1/questions").get_json()["questions"]}
    injured = {"symptoms": {**CALM, "onset": "injury"}}
    _, body = _ask(client, {**injured, "max_questions": 10})
    for question in body["questions"]:
        why = question.pop("why")
        assert question == catalogue[question["finding"]]
        assert why["rules"], why
    # After an injury the injury-only questions are asked, with their situation in words.
    asked, _ = _patient(client, injured)
    assert "pain_out_of_proportion" in asked


def test_the_provisional_answer_is_v1_triage_on_the_same_intake(client: FlaskClient) -> None:
    """The answer is /v1/triage's on the same intake (not asked reads as unknown), every step."""
    intake = {"symptoms": {"fever": "yes", "onset": "gradual"}, "patient": {"age_years": 40}}
    _, body = _ask(client, intake)
    triage = client.post("/v1/triage", json=intake).get_json()
    for answer in (body["answer"], triage):
        answer.pop("decision_id")
    assert body["answer"] == triage
    assert body["status"] == "ask"
    assert set(body["decided"]) <= set(DISPOSITION)
    assert "UR13" in body["rules"]["fired"]
    assert body["statement"].startswith("Provisional")


def test_an_emergency_stops_early_with_the_full_forms_answer(client: FlaskClient) -> None:
    """A cold, pale foot (V002): complete well before the form's 49 questions, same answer."""
    (vignette,) = (v for v in VIGNETTES if v.name.startswith("V002"))
    asked, body = _patient(client, vignette.intake)
    assert len(asked) < 25
    assert asked[0] == "foot_cold_pale_or_blue"
    full = client.post("/v1/triage", json=vignette.intake).get_json()
    for name in (*DISPOSITION, "escalation"):
        assert body["answer"][name] == full[name]
    assert body["answer"]["urgency"] == "emergency"
    assert body["questions"] == []
    assert body["progress"]["answered"] == len(asked)
    assert body["statement"].startswith("Complete")
    assert body["policy"]["id"] == "forefoot-interview-order"


def test_situational_questions_are_asked_only_where_they_apply(client: FlaskClient) -> None:
    """No injury-only question without an injury onset; no pregnancy question at 70."""
    everything_no: dict[str, dict[str, Any]] = {}
    for name, finding in FINDINGS.items():
        value: Any = "no" if finding.kind == "tri_state" else None
        everything_no.setdefault(finding.group, {})[name] = value
    everything_no["symptoms"].update(onset="gradual", swelling="none", steps_now=4, pain_nrs=3)
    everything_no["patient"]["age_years"] = 70
    asked, body = _patient(client, everything_no)
    assert not set(asked) & {*INJURY_ONLY, "pregnant"}
    assert body["answer"]["urgency"] == "routine"
    # Onset answered unknown may be an injury (R7): steps right after it can still matter.
    unknown_onset = {"symptoms": {**CALM, "onset": "unknown", "steps_now": 2}}
    asked, _ = _patient(client, unknown_onset)
    assert "steps_immediately" in asked


def test_related_questions_stay_together(client: FlaskClient) -> None:
    """Started, the three bone-tenderness points are asked one after the other."""
    (vignette,) = (v for v in VIGNETTES if v.name.startswith("V001"))
    asked, _ = _patient(client, vignette.intake)
    points = [asked.index(name) for name in asked if name.startswith("tender_")]
    assert len(points) == 3
    assert points == list(range(points[0], points[0] + 3))


@pytest.mark.parametrize("value", [0, 11, True, "2", 1.5, None])
def test_max_questions_must_be_a_small_whole_number(client: FlaskClient, value: Any) -> None:
    """max_questions is 1 to 10; anything else is a 422 naming it."""
    status, body = _ask(client, {"max_questions": value})
    assert status == 422
    assert body["errors"] == [
        {"field": "max_questions", "message": "Must be a whole number from 1 to 10."}
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"symptoms": {"fevr": "no"}},
        {"symptoms": {"pain_nrs": 11}},
        {"patient": None},
        [],
        {"max_questions": 2, "history": {"diabetes": "maybe"}},
    ],
)
def test_it_rejects_what_v1_triage_rejects(client: FlaskClient, body: Any) -> None:
    """The same 422 problem as /v1/triage for an invalid intake."""
    status, problem = _ask(client, body)
    intake = (
        {k: v for k, v in body.items() if k != "max_questions"} if isinstance(body, dict) else body
    )
    triage = client.post("/v1/triage", json=intake)
    assert status == triage.status_code == 422
    assert problem == triage.get_json()


def test_a_non_json_body_is_refused(client: FlaskClient) -> None:
    """415 for a form post, as every JSON endpoint."""
    response = client.post("/v1/interview", data="a=b")
    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"


def _policy_copy(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """The rules without their translations (which would refuse a renamed group title first)."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules, ignore=shutil.ignore_patterns("locales"))
    path = rules / "interview" / "order.yaml"
    return rules, load_yaml(path.read_text(encoding="utf-8"))


def _write(rules: Path, policy: dict[str, Any]) -> None:
    path = rules / "interview" / "order.yaml"
    path.write_text(dump_yaml(policy, sort_keys=False), encoding="utf-8")


@pytest.mark.slow  # builds its own app
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["groups"][0]["questions"].append("fevr"), "not a finding of the intake: fevr"),
        (lambda p: p["groups"][1]["questions"].append("fever"), "listed more than once: fever"),
        (lambda p: p["groups"][-1]["questions"].pop(), "not listed: "),
        (lambda p: p["groups"][1].update(id="danger_signs"), "a group id is used twice"),
        (lambda p: p["groups"][0].update(order=1), "order"),
    ],
)
def test_an_invalid_policy_stops_the_start(tmp_path: Path, change: Any, message: str) -> None:
    """Every question exactly once, known names, no unknown keys: else the service won't start."""
    rules, policy = _policy_copy(tmp_path)
    change(policy)
    _write(rules, policy)
    with pytest.raises(InterviewPolicyError, match=message):
        create_app({"RULES_DIR": str(rules)})


@pytest.mark.slow  # builds its own app
def test_a_missing_policy_stops_the_start(tmp_path: Path) -> None:
    """The question order is part of the rules folder: without it the service won't start."""
    rules, _ = _policy_copy(tmp_path)
    (rules / "interview" / "order.yaml").unlink()
    with pytest.raises(InterviewPolicyError, match="cannot be read"):
        create_app({"RULES_DIR": str(rules)})


def test_the_policy_is_the_order_and_its_digest_is_reported(ruleset: Ruleset) -> None:
    """The policy lists every finding once; its sha256 changes with its content."""
    policy = load_policy(RULES)
    listed = [name for group in policy.groups for name in group.questions]
    assert sorted(listed) == sorted(FINDINGS)
    assert [group.id for group in policy.groups if group.first] == ["danger_signs"]
    assert len(policy.sha256) == 64
    interviewer = Interviewer(ruleset, policy)
    with pytest.raises(ValueError, match="at least 1"):
        interviewer.step({}, 0)
