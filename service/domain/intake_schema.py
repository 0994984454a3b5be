"""Marshmallow schemas of the intake: the findings, their types and values (clinical.md 2).

What each question says (label and help) is data: rules/questions.yaml.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.domain.strict_schema import StrictSchema

TRI_STATE = ("yes", "no", "unknown")
UNKNOWN = "unknown"

# Upper bounds the clinical table leaves open ("≥0"): a century of days or weeks. They keep
# absurd numbers out of the engine, whose parser mishandles very large values.
MAX_DAYS = 36500
MAX_WEEKS = 5200


def _tri() -> fields.String:
    """A yes/no/unknown answer; absent or null means unknown."""
    return fields.String(allow_none=True, validate=validate.OneOf(TRI_STATE))


def _enum(*values: str) -> fields.String:
    return fields.String(allow_none=True, validate=validate.OneOf(values))


def _int(low: int, high: int) -> fields.Integer:
    # strict: a float such as 63.5 would otherwise be truncated to 63 (dependencies.md 3.1).
    return fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=low, max=high))


class PatientSchema(StrictSchema):
    age_years = _int(0, 120)
    pregnant = _tri()


class HistorySchema(StrictSchema):
    diabetes = _tri()
    neuropathy = _tri()
    pad = _tri()
    prior_foot_ulcer_or_amputation = _tri()
    dialysis = _tri()
    prior_stress_fracture = _tri()
    high_impact_activity = _tri()
    recent_activity_increase = _tri()
    toe_deformity = _enum("none", "flexible", "rigid", "unknown")
    arch_type = _enum("normal", "high", "flat", "unknown")
    conservative_care_weeks = _int(0, MAX_WEEKS)
    prior_pt_or_orthoses = _tri()
    immunosuppressed = _tri()
    anticoagulant = _tri()
    cancer_history = _tri()
    known_inflammatory_arthritis_or_gout = _tri()


class SymptomsSchema(StrictSchema):
    onset = _enum("injury", "gradual", "sudden_no_injury", "unknown")
    injury_mechanism = _enum(
        "none", "twist", "direct_blow_or_crush", "fall_or_jump_landing", "stubbed_toe", "unknown"
    )
    days_since_onset = _int(0, MAX_DAYS)
    pain_location = _enum(
        "ball_of_foot",
        "dorsal_forefoot",
        "web_space_toes",
        "big_toe_joint",
        "lesser_toes",
        "midfoot",
        "diffuse",
        "unknown",
    )
    pain_nrs = _int(0, 10)
    pain_at_rest_or_night = _tri()
    neuro_symptoms_toes = _tri()
    steps_immediately = _int(0, 4)
    steps_now = _int(0, 4)
    tender_5th_mt_base = _tri()
    tender_navicular = _tri()
    tender_metatarsal_point = _tri()
    visible_deformity = _tri()
    open_wound_at_injury = _tri()
    plantar_bruising = _tri()
    swelling = _enum("none", "localized", "diffuse", "unknown")
    redness = _tri()
    warmth = _tri()
    redness_spreading_rapidly = _tri()
    hot_swollen_joint = _tri()
    inflammatory_pattern = _tri()
    fever = _tri()
    systemically_unwell = _tri()
    wound_or_ulcer = _tri()
    wound_pus_or_odour = _tri()
    black_or_dead_tissue = _tri()
    foot_cold_pale_or_blue = _tri()
    sudden_numbness_or_weakness = _tri()
    improving = _tri()
    calf_or_leg_swelling = _tri()
    pain_out_of_proportion = _tri()


class TriageRequestSchema(StrictSchema):
    # A group may be left out (all its findings unknown); null groups are not accepted.
    patient = fields.Nested(PatientSchema)
    history = fields.Nested(HistorySchema)
    symptoms = fields.Nested(SymptomsSchema)


GROUPS: dict[str, type[Schema]] = {
    "patient": PatientSchema,
    "history": HistorySchema,
    "symptoms": SymptomsSchema,
}
