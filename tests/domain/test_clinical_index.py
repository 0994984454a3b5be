"""The rules give exactly the outputs of clinical.md 7.6 (ruleset 2027.1.0), and nothing else.

The table below is copied from ../shared/clinical.md 7.6, so that a rule file edited by mistake
fails here rather than being compared only with itself. Settings: I in person, V virtual.
"""

from __future__ import annotations

import pytest

from service.domain.ruleset import Ruleset

ORTHO, PT, SELF = "orthopedic_surgeon", "physical_therapist", "self_care"
SETTINGS = {"I": "in_person", "V": "virtual_suitable"}
INFORMATIONAL = {"SC1", "SC2", "SC3", "SC4", "SC5", "DEF"}  # clinical.md 1.2 step 3
INDEX = {  # rule: (version, level, urgency, destination, setting, review, citations)
    "EM1": (2, ORTHO, "emergency", "vascular_surgery_on_call", "I", False, ("vascular_ali",)),
    "EM2": (2, ORTHO, "emergency", "emergency_department", "I", False, ("afp_metatarsal",)),
    "EM3": (
        2,
        ORTHO,
        "emergency",
        "orthopaedics_on_call",
        "I",
        False,
        (
            "bsr_hot_joint",
            "nice_ng219",
            "nice_ng51",
        ),
    ),
    "EM4": (
        2,
        ORTHO,
        "emergency",
        "emergency_department",
        "I",
        False,
        (
            "nice_ng141",
            "nice_ng19",
            "iwgdf",
        ),
    ),
    "EM5": (
        2,
        ORTHO,
        "emergency",
        "emergency_department_and_mdfs",
        "I",
        False,
        (
            "nice_ng19",
            "iwgdf",
        ),
    ),
    "EM6": (1, ORTHO, "emergency", "emergency_department", "I", False, ("nice_ng51",)),
    "EM7": (
        1,
        ORTHO,
        "emergency",
        "emergency_department",
        "I",
        False,
        (
            "nice_ng128",
            "girft_ces",
            "vascular_ali",
        ),
    ),
    "EM8": (1, ORTHO, "emergency", "orthopaedics_on_call", "I", False, ("boast_cs",)),
    "EM9": (1, ORTHO, "emergency", "emergency_department", "I", False, ("nice_ng51",)),
    "UR1": (2, ORTHO, "urgent", "fracture_clinic", "I", False, ("ottawa",)),
    "UR2": (2, ORTHO, "urgent", "fracture_clinic", "I", False, ("ottawa",)),
    "UR3": (
        2,
        ORTHO,
        "urgent",
        "fracture_clinic",
        "I",
        False,
        (
            "lisfranc",
            "acr",
        ),
    ),
    "UR4": (
        2,
        ORTHO,
        "urgent",
        "fracture_clinic",
        "I",
        False,
        (
            "acr",
            "nice_ng19",
            "ottawa",
        ),
    ),
    "UR5": (
        2,
        ORTHO,
        "urgent",
        "diabetic_foot_service",
        "I",
        False,
        (
            "nice_ng19",
            "iwgdf",
        ),
    ),
    "UR5b": (
        1,
        ORTHO,
        "urgent",
        "same_day_medical_assessment",
        "I",
        False,
        (
            "nice_ng19",
            "iwgdf",
        ),
    ),
    "UR6": (
        2,
        ORTHO,
        "urgent",
        "same_day_medical_assessment",
        "I",
        False,
        (
            "nice_ng219",
            "bsr_hot_joint",
        ),
    ),
    "UR7": (
        2,
        ORTHO,
        "urgent",
        "same_day_medical_assessment",
        "I",
        False,
        (
            "article",
            "nice_ng219",
            "afp_stress",
            "nice_ng19",
        ),
    ),
    "UR9": (
        2,
        ORTHO,
        "urgent",
        "same_day_medical_assessment",
        "I",
        False,
        (
            "nice_ng141",
            "iwgdf",
            "nice_ng51",
        ),
    ),
    "UR10": (2, ORTHO, "urgent", "fracture_clinic", "I", False, ("afp_metatarsal",)),
    "UR11": (1, ORTHO, "urgent", "fracture_clinic", "I", False, ("ottawa",)),
    "UR12": (1, ORTHO, "urgent", "vascular_surgery_urgent_clinic", "I", False, ("gvg_clti",)),
    "UR13": (
        1,
        ORTHO,
        "urgent",
        "same_day_medical_assessment",
        "I",
        False,
        (
            "nice_ng51",
            "bsr_hot_joint",
        ),
    ),
    "UR14": (1, ORTHO, "urgent", "same_day_medical_assessment", "I", False, ("nice_ng158",)),
    "UR15": (1, ORTHO, "urgent", "same_day_medical_assessment", "I", False, ("boast_cs",)),
    "UR16": (1, ORTHO, "urgent", "maternity_assessment", "I", False, ("nhs_preeclampsia",)),
    "SN1": (
        2,
        ORTHO,
        "soon",
        "fracture_clinic",
        "I",
        False,
        (
            "afp_stress",
            "afp_metatarsal",
            "acr",
            "article",
        ),
    ),
    "SN2": (2, ORTHO, "soon", "fracture_clinic", "I", False, ("afp_stress",)),
    "SN3": (2, ORTHO, "soon", "fracture_clinic", "I", False, ("afp_metatarsal",)),
    "SN4": (2, ORTHO, "soon", "fracture_clinic", "I", False, ("ottawa",)),
    "SN5": (2, ORTHO, "soon", "fracture_clinic", "I", False, ("ottawa",)),
    "SN6": (1, ORTHO, "soon", "rheumatology", "I", False, ("nice_ng100",)),
    "SN7": (
        2,
        ORTHO,
        "soon",
        "medical_assessment_within_days",
        "V",
        False,
        (
            "article",
            "pain_nrs",
        ),
    ),
    "SN7b": (1, ORTHO, "soon", "medical_assessment_within_days", "V", False, ("scot_cancer_2019",)),
    "SN8": (
        2,
        PT,
        "soon",
        "physical_therapy",
        "V",
        False,
        (
            "article",
            "pain_nrs",
        ),
    ),
    "SN9": (1, PT, "soon", "podiatry_foot_protection", "I", False, ("iwgdf",)),
    "SN10": (1, ORTHO, "soon", "medical_assessment_within_days", "I", False, ("scot_cancer_2019",)),
    "SN11": (
        1,
        ORTHO,
        "soon",
        "rheumatology",
        "I",
        False,
        (
            "nice_ng219",
            "nice_ng100",
        ),
    ),
    "RT1": (
        2,
        PT,
        "routine",
        "podiatry_foot_protection",
        "V",
        False,
        (
            "iwgdf",
            "nice_ng19",
        ),
    ),
    "RT1b": (1, PT, "routine", "podiatry_foot_protection", "V", False, ("iwgdf",)),
    "RT2": (
        2,
        PT,
        "routine",
        "physical_therapy",
        "V",
        False,
        (
            "msk_pathway",
            "article",
        ),
    ),
    "RT3": (
        2,
        ORTHO,
        "routine",
        "orthopaedic_clinic",
        "V",
        False,
        (
            "acfas",
            "morton",
            "msk_pathway",
            "article",
        ),
    ),
    "RT4": (
        2,
        ORTHO,
        "routine",
        "orthopaedic_clinic",
        "V",
        False,
        (
            "acfas",
            "article",
        ),
    ),
    "G1": (2, PT, "routine", "physical_therapy", "V", False, ("pain_nrs",)),
    "G2": (
        3,
        PT,
        "urgent",
        "clinician_call_back",
        "V",
        True,
        (
            "vascular_ali",
            "nice_ng141",
            "bsr_hot_joint",
            "nice_ng19",
            "nice_ng51",
        ),
    ),
    "G3": (
        1,
        PT,
        "urgent",
        "clinician_call_back",
        "V",
        True,
        (
            "ottawa",
            "afp_stress",
            "nice_ng19",
        ),
    ),
    "G4": (
        1,
        PT,
        "soon",
        "clinician_call_back",
        "V",
        True,
        (
            "afp_metatarsal",
            "lisfranc",
        ),
    ),
    "PED1": (1, SELF, "routine", "paediatric_assessment", "V", True, ("dowling2009",)),
    "PED2": (
        1,
        ORTHO,
        "urgent",
        "paediatric_assessment",
        "I",
        True,
        (
            "healthier_together_limp",
            "nice_ng12",
            "nice_cg89",
        ),
    ),
    "PED3": (
        1,
        ORTHO,
        "soon",
        "paediatric_assessment",
        "I",
        True,
        (
            "nice_ng12",
            "dowling2009",
            "gillespie2010",
        ),
    ),
    "SC1": (
        2,
        SELF,
        "routine",
        "self_care_at_home",
        "V",
        False,
        (
            "ottawa",
            "article",
        ),
    ),
    "SC2": (
        2,
        SELF,
        "routine",
        "self_care_at_home",
        "V",
        False,
        (
            "pain_nrs",
            "article",
        ),
    ),
    "SC3": (
        2,
        SELF,
        "routine",
        "self_care_at_home",
        "V",
        False,
        (
            "morton",
            "acfas",
            "article",
        ),
    ),
    "SC4": (
        2,
        SELF,
        "routine",
        "self_care_at_home",
        "V",
        False,
        (
            "msk_pathway",
            "article",
        ),
    ),
    "SC5": (
        2,
        SELF,
        "routine",
        "self_care_at_home",
        "V",
        False,
        (
            "iwgdf",
            "article",
        ),
    ),
    "DEF": (2, SELF, "routine", "self_care_at_home", "V", False, ("article",)),
}


@pytest.mark.parametrize("rule_id", INDEX)
def test_rule_outputs_match_the_index(ruleset: Ruleset, rule_id: str) -> None:
    """Version, level, urgency, destination, setting, review and citations as clinical.md 7.6."""
    rule = ruleset.by_id[rule_id]
    version, level, urgency, destination, setting, review, citations = INDEX[rule_id]
    assert (rule.version, rule.level, rule.urgency) == (version, level, urgency)
    assert (rule.destination, rule.setting) == (destination, SETTINGS[setting])
    assert rule.needs_clinician_review is review
    assert rule.citations == citations
    assert rule.informational is (rule_id in INFORMATIONAL)


def test_no_rule_outside_the_index(ruleset: Ruleset) -> None:
    """Nothing was added that clinical.md does not list: 55 rules."""
    assert set(ruleset.by_id) == set(INDEX)
    assert len(INDEX) == 55


@pytest.mark.parametrize("rule_id", INDEX)
def test_escalation_exactly_on_emergency_rules(ruleset: Ruleset, rule_id: str) -> None:
    """Escalation is emergency_department on every emergency rule and on no other (7.6)."""
    rule = ruleset.by_id[rule_id]
    emergency = rule.urgency == "emergency"
    assert rule.escalation == ("emergency_department" if emergency else None)


def test_destination_precedence_is_clinical_md_1_5(ruleset: Ruleset) -> None:
    """The manifest lists the seventeen destinations in the precedence order of 1.5."""
    assert list(ruleset.destinations) == [
        "vascular_surgery_on_call",
        "emergency_department_and_mdfs",
        "orthopaedics_on_call",
        "emergency_department",
        "maternity_assessment",
        "paediatric_assessment",
        "vascular_surgery_urgent_clinic",
        "diabetic_foot_service",
        "fracture_clinic",
        "same_day_medical_assessment",
        "rheumatology",
        "medical_assessment_within_days",
        "orthopaedic_clinic",
        "clinician_call_back",
        "podiatry_foot_protection",
        "physical_therapy",
        "self_care_at_home",
    ]


def test_ruleset_version_is_2027_1_0(ruleset: Ruleset) -> None:
    """The manifest carries the clinical.md ruleset version."""
    assert ruleset.version == "2027.1.0"
