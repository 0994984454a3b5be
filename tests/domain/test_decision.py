"""Aggregation v2 (clinical.md 1.2): urgency, level, destination, setting, referrals."""

from __future__ import annotations

import pytest

from service.domain.decision import decide
from service.domain.ruleset import Ruleset

TABLE = [
    # fired ids, level, urgency, escalation, destination, setting
    ([], "self_care", "routine", None, "self_care_at_home", "virtual_suitable"),
    (["SC2"], "self_care", "routine", None, "self_care_at_home", "virtual_suitable"),
    (["SC2", "RT2"], "physical_therapist", "routine", None, "physical_therapy", "virtual_suitable"),
    (
        ["RT2", "RT3"],
        "orthopedic_surgeon",
        "routine",
        None,
        "orthopaedic_clinic",
        "virtual_suitable",
    ),
    # v2: a lower-urgency rule with a higher level raises the level; urgency and destination
    # still come from the most urgent rule.
    (["RT3", "SN8"], "orthopedic_surgeon", "soon", None, "physical_therapy", "virtual_suitable"),
    (
        ["RT3", "G2"],
        "orthopedic_surgeon",
        "urgent",
        None,
        "clinician_call_back",
        "virtual_suitable",
    ),
    (
        ["SN8", "SN7"],
        "orthopedic_surgeon",
        "soon",
        None,
        "medical_assessment_within_days",
        "virtual_suitable",
    ),
    (
        ["G2", "RT1"],
        "physical_therapist",
        "urgent",
        None,
        "clinician_call_back",
        "virtual_suitable",
    ),
    (["SN6", "RT1"], "orthopedic_surgeon", "soon", None, "rheumatology", "in_person"),
    (["UR1", "SN8", "SC2"], "orthopedic_surgeon", "urgent", None, "fracture_clinic", "in_person"),
    # Ties of urgency and level go to the destination listed first (clinical.md 1.5).
    (["UR7", "UR5"], "orthopedic_surgeon", "urgent", None, "diabetic_foot_service", "in_person"),
    (["UR1", "UR5"], "orthopedic_surgeon", "urgent", None, "diabetic_foot_service", "in_person"),
    (
        ["UR13", "UR12"],
        "orthopedic_surgeon",
        "urgent",
        None,
        "vascular_surgery_urgent_clinic",
        "in_person",
    ),
    (
        ["EM5", "UR5", "G2"],
        "orthopedic_surgeon",
        "emergency",
        "emergency_department",
        "emergency_department_and_mdfs",
        "in_person",
    ),
    (
        ["EM1", "EM5"],
        "orthopedic_surgeon",
        "emergency",
        "emergency_department",
        "vascular_surgery_on_call",
        "in_person",
    ),
    (
        ["EM4", "EM5"],
        "orthopedic_surgeon",
        "emergency",
        "emergency_department",
        "emergency_department_and_mdfs",
        "in_person",
    ),
    # Informational rules never set the level; PED1 never raises it but names the destination.
    (["SC1", "SC2", "SC3"], "self_care", "routine", None, "self_care_at_home", "virtual_suitable"),
    (["PED1", "SC2"], "self_care", "routine", None, "paediatric_assessment", "virtual_suitable"),
    (
        ["PED1", "PED3", "SC2"],
        "orthopedic_surgeon",
        "soon",
        None,
        "paediatric_assessment",
        "in_person",
    ),
    # A self-care-level in-person rule does not exist; a virtual rule above self-care stays virtual.
    (
        ["SN7b", "SC2"],
        "orthopedic_surgeon",
        "soon",
        None,
        "medical_assessment_within_days",
        "virtual_suitable",
    ),
    (
        ["SN10", "SN7b"],
        "orthopedic_surgeon",
        "soon",
        None,
        "medical_assessment_within_days",
        "in_person",
    ),
]


@pytest.mark.parametrize(
    ("fired", "level", "urgency", "escalation", "destination", "setting"), TABLE
)
def test_decide(
    ruleset: Ruleset,
    fired: list[str],
    level: str,
    urgency: str,
    escalation: str | None,
    destination: str,
    setting: str,
) -> None:
    """Aggregation v2 of clinical.md 1.2: urgency, level, destination, escalation, setting."""
    decision = decide(fired, ruleset)
    assert (decision.level, decision.urgency) == (level, urgency)
    assert (decision.escalation, decision.destination) == (escalation, destination)
    assert decision.setting == setting


def test_referrals_keep_every_indicated_referral_in_rank_order(ruleset: Ruleset) -> None:
    """Every fired rule above self-care is a referral, most urgent first (1.2 step 9)."""
    decision = decide(["G2", "RT1", "SN8", "SC2", "PED1"], ruleset)
    assert [(r.rule_id, r.destination) for r in decision.referrals] == [
        ("G2", "clinician_call_back"),
        ("SN8", "physical_therapy"),
        ("RT1", "podiatry_foot_protection"),
    ]
    assert decide(["SC2", "SC4"], ruleset).referrals == ()


def test_no_firing_gives_the_default_rule(ruleset: Ruleset) -> None:
    """No fired rule means DEF, which supplies the rationale (every answer has a reason)."""
    decision = decide([], ruleset)
    assert [rule.id for rule in decision.rationale] == ["DEF"]


def test_rationale_is_most_urgent_first_and_keeps_every_rule(ruleset: Ruleset) -> None:
    """Every fired rule is listed: urgency, level, destination precedence, rule index."""
    decision = decide(["SC2", "RT2", "SN8", "UR6", "EM3", "G2", "SN7", "UR13", "UR3"], ruleset)
    assert [rule.id for rule in decision.rationale] == [
        "EM3",
        "UR3",
        "UR6",
        "UR13",
        "G2",
        "SN7",
        "SN8",
        "RT2",
        "SC2",
    ]


def test_clinician_review_comes_from_any_fired_rule(ruleset: Ruleset) -> None:
    """G2 asks for a clinician even when it does not decide the result."""
    assert decide(["EM1", "G2"], ruleset).needs_clinician_review is True
    assert decide(["EM1"], ruleset).needs_clinician_review is False


def test_order_of_fired_ids_does_not_matter(ruleset: Ruleset) -> None:
    """The same set of firings always gives the same decision."""
    assert decide(["SN8", "UR1", "SC2"], ruleset) == decide(["SC2", "SN8", "UR1"], ruleset)
