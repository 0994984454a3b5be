"""Aggregation (clinical.md 1.2): urgency first, then level at that urgency; DEF when none."""

from __future__ import annotations

import pytest

from service.decision import decide
from service.ruleset import Ruleset

TABLE = [
    # fired ids, level, urgency, escalation, destination
    ([], "self_care", "routine", None, None),
    (["SC2"], "self_care", "routine", None, None),
    (["SC2", "RT2"], "physical_therapist", "routine", None, None),
    (["RT2", "RT3"], "orthopedic_surgeon", "routine", None, None),
    # A lower-urgency rule with a higher level does not raise the level.
    (["RT3", "SN8"], "physical_therapist", "soon", None, None),
    (["SN8", "SN7"], "orthopedic_surgeon", "soon", None, None),
    (["G2", "RT1"], "physical_therapist", "soon", None, None),
    (["SN6", "RT1"], "orthopedic_surgeon", "soon", None, "rheumatology"),
    (["UR1", "SN8", "SC2"], "orthopedic_surgeon", "urgent", None, "fracture_clinic"),
    (["UR7", "UR5"], "orthopedic_surgeon", "urgent", None, "diabetic_foot_service"),
    (
        ["EM5", "UR5", "G2"],
        "orthopedic_surgeon",
        "emergency",
        "emergency_department",
        "diabetic_foot_service",
    ),
    (
        ["EM1", "EM5"],
        "orthopedic_surgeon",
        "emergency",
        "emergency_department",
        "vascular_surgery_on_call",
    ),
    # The diabetic foot team is named over the plain ED (NG19: inform the MDFS).
    (
        ["EM4", "EM5"],
        "orthopedic_surgeon",
        "emergency",
        "emergency_department",
        "diabetic_foot_service",
    ),
    (["UR1", "UR5"], "orthopedic_surgeon", "urgent", None, "diabetic_foot_service"),
]


@pytest.mark.parametrize(("fired", "level", "urgency", "escalation", "destination"), TABLE)
def test_decide(
    ruleset: Ruleset,
    fired: list[str],
    level: str,
    urgency: str,
    escalation: str | None,
    destination: str | None,
) -> None:
    """The table of clinical.md 1.2 and the destination of the first deciding rule."""
    decision = decide(fired, ruleset)
    assert (decision.level, decision.urgency) == (level, urgency)
    assert (decision.escalation, decision.destination) == (escalation, destination)


def test_no_firing_gives_the_default_rule(ruleset: Ruleset) -> None:
    """No fired rule means DEF, which supplies the rationale (every answer has a reason)."""
    decision = decide([], ruleset)
    assert [rule.id for rule in decision.rationale] == ["DEF"]


def test_rationale_is_most_urgent_first_and_keeps_every_rule(ruleset: Ruleset) -> None:
    """Every fired rule is listed, ordered by urgency then level, ties in ruleset order."""
    decision = decide(["SC2", "RT2", "SN8", "UR6", "EM3", "G2", "SN7"], ruleset)
    assert [rule.id for rule in decision.rationale] == [
        "EM3",
        "UR6",
        "SN7",
        "SN8",
        "G2",
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
