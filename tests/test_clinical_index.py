"""The rules give exactly the outputs of clinical.md: the rule index (7.6) and destinations.

The tables below are copied from ../shared/clinical.md sections 3 to 7.6, so that a rule file
edited by mistake fails here rather than being compared only with itself.
"""

from __future__ import annotations

import pytest

from service.ruleset import Ruleset

ORTHO, PT, SELF = "orthopedic_surgeon", "physical_therapist", "self_care"
INDEX = {  # rule: (level, urgency, citation keys), clinical.md 7.6
    "EM1": (ORTHO, "emergency", {"vascular_ali"}),
    "EM2": (ORTHO, "emergency", {"afp_metatarsal"}),
    "EM3": (ORTHO, "emergency", {"bsr_hot_joint", "nice_ng219"}),
    "EM4": (ORTHO, "emergency", {"nice_ng141", "nice_ng19", "iwgdf"}),
    "EM5": (ORTHO, "emergency", {"nice_ng19", "iwgdf"}),
    "UR1": (ORTHO, "urgent", {"ottawa"}),
    "UR2": (ORTHO, "urgent", {"ottawa"}),
    "UR3": (ORTHO, "urgent", {"lisfranc", "acr"}),
    "UR4": (ORTHO, "urgent", {"acr", "nice_ng19"}),
    "UR5": (ORTHO, "urgent", {"nice_ng19", "iwgdf"}),
    "UR6": (ORTHO, "urgent", {"nice_ng219", "bsr_hot_joint"}),
    "UR7": (ORTHO, "urgent", {"article"}),
    "UR9": (ORTHO, "urgent", {"nice_ng141"}),
    "UR10": (ORTHO, "urgent", {"afp_metatarsal"}),
    "SN1": (ORTHO, "soon", {"afp_stress", "afp_metatarsal", "acr", "article"}),
    "SN2": (ORTHO, "soon", {"afp_stress"}),
    "SN3": (ORTHO, "soon", {"afp_metatarsal"}),
    "SN4": (ORTHO, "soon", {"ottawa"}),
    "SN5": (ORTHO, "soon", {"ottawa"}),
    "SN6": (ORTHO, "soon", {"nice_ng100"}),
    "SN7": (ORTHO, "soon", {"article", "pain_nrs"}),
    "SN8": (PT, "soon", {"article", "pain_nrs"}),
    "RT1": (PT, "routine", {"iwgdf", "nice_ng19"}),
    "RT2": (PT, "routine", {"msk_pathway", "article"}),
    "RT3": (ORTHO, "routine", {"acfas", "morton", "msk_pathway", "article"}),
    "RT4": (ORTHO, "routine", {"acfas", "article"}),
    "G1": (PT, "routine", {"pain_nrs"}),
    "G2": (PT, "soon", {"vascular_ali", "nice_ng141", "bsr_hot_joint", "nice_ng19"}),
    "SC1": (SELF, "routine", {"ottawa", "article"}),
    "SC2": (SELF, "routine", {"pain_nrs", "article"}),
    "SC3": (SELF, "routine", {"morton", "acfas", "article"}),
    "SC4": (SELF, "routine", {"msk_pathway", "article"}),
    "SC5": (SELF, "routine", {"iwgdf", "article"}),
    "DEF": (SELF, "routine", {"article"}),
}
DESTINATIONS = {  # clinical.md 3 (EM), 4.2 (UR1), 5.2 (UR5, RT1), 6 (UR6, UR9, SN6), 8
    "EM1": "vascular_surgery_on_call",
    "EM2": "emergency_department",
    "EM3": "orthopaedics_on_call",
    "EM4": "emergency_department",
    "EM5": "diabetic_foot_service",
    "UR1": "fracture_clinic",
    "UR2": "fracture_clinic",
    "UR3": "fracture_clinic",
    "UR4": "fracture_clinic",
    "UR10": "fracture_clinic",
    "UR5": "diabetic_foot_service",
    "RT1": "podiatry_foot_protection",
    "UR6": "same_day_medical_assessment",
    "UR9": "same_day_medical_assessment",
    "SN6": "rheumatology",
}


@pytest.mark.parametrize("rule_id", INDEX)
def test_rule_outputs_match_the_index(ruleset: Ruleset, rule_id: str) -> None:
    """Level, urgency and citation keys exactly as clinical.md 7.6."""
    rule = ruleset.by_id[rule_id]
    assert (rule.level, rule.urgency, set(rule.citations)) == INDEX[rule_id]


def test_no_rule_outside_the_index(ruleset: Ruleset) -> None:
    """Nothing was added that clinical.md does not list."""
    assert set(ruleset.by_id) == set(INDEX)


@pytest.mark.parametrize("rule_id", INDEX)
def test_destination_and_escalation(ruleset: Ruleset, rule_id: str) -> None:
    """Emergency rules escalate to the ED; destinations where clinical.md names a service."""
    rule = ruleset.by_id[rule_id]
    assert rule.destination == DESTINATIONS.get(rule_id)
    emergency = rule.urgency == "emergency"
    assert rule.escalation == ("emergency_department" if emergency else None)


def test_only_g2_asks_for_a_clinician(ruleset: Ruleset) -> None:
    """needs_clinician_review comes from G2 alone (clinical.md 7.3)."""
    flagged = {rule.id for rule in ruleset.by_id.values() if rule.needs_clinician_review}
    assert flagged == {"G2"}
