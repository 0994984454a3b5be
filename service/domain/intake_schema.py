"""Marshmallow schemas of the intake: the finding vocabulary of clinical.md section 2."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

TRI_STATE = ("yes", "no", "unknown")
UNKNOWN = "unknown"

# Upper bounds the clinical table leaves open ("≥0"): a century of days or weeks. They keep
# absurd numbers out of the engine, whose parser mishandles very large values.
MAX_DAYS = 36500
MAX_WEEKS = 5200


def _meta(label: str, help_text: str) -> dict[str, Any]:
    return {"title": label, "description": help_text}


def _tri(label: str, help_text: str) -> fields.String:
    """A yes/no/unknown answer; absent or null means unknown."""
    return fields.String(
        allow_none=True, validate=validate.OneOf(TRI_STATE), metadata=_meta(label, help_text)
    )


def _enum(values: tuple[str, ...], label: str, help_text: str) -> fields.String:
    return fields.String(
        allow_none=True, validate=validate.OneOf(values), metadata=_meta(label, help_text)
    )


def _int(low: int, high: int, label: str, help_text: str) -> fields.Integer:
    # strict: a float such as 63.5 would otherwise be truncated to 63 (dependencies.md 3.1).
    return fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=low, max=high),
        metadata=_meta(label, help_text),
    )


class _Strict(Schema):
    class Meta:
        unknown = RAISE  # a misspelled red flag silently ignored would be a safety defect


class PatientSchema(_Strict):
    age_years = _int(
        0, 120, "Age (years)", "Age in years. Under 16, the children's rules apply as well."
    )
    pregnant = _tri(
        "Are you pregnant, or have you given birth in the last 6 weeks?",
        "Asked of everyone aged 12 to 55. Answer unknown if you might be pregnant.",
    )


class HistorySchema(_Strict):
    diabetes = _tri("Diabetes", "Diagnosed diabetes (type 1 or 2).")
    neuropathy = _tri(
        "Neuropathy",
        "Known peripheral neuropathy, loss of protective sensation (10 g monofilament), "
        "or 'I can't feel my feet properly'.",
    )
    pad = _tri(
        "Poor leg circulation",
        "Known peripheral arterial disease or poor leg circulation, calf pain on walking "
        "relieved by rest, or told foot pulses are absent.",
    )
    prior_foot_ulcer_or_amputation = _tri(
        "Foot ulcer or amputation before", "Ever had a foot ulcer or any lower-limb amputation."
    )
    dialysis = _tri("Dialysis", "On dialysis or renal replacement therapy.")
    prior_stress_fracture = _tri(
        "Stress fracture before", "Previous stress fracture anywhere in the legs or feet."
    )
    high_impact_activity = _tri("High-impact activity", "Regular running, jumping or dance.")
    recent_activity_increase = _tri(
        "Recent increase in activity",
        "Recent increase in running or walking distance or intensity, or a new hard surface "
        "or new shoes.",
    )
    toe_deformity = _enum(
        ("none", "flexible", "rigid", "unknown"),
        "Hammer or claw toe",
        "Hammer or claw toe: 'flexible' straightens by hand, 'rigid' does not.",
    )
    arch_type = _enum(
        ("normal", "high", "flat", "unknown"), "Arch type", "High arch (pes cavus) or flat foot."
    )
    conservative_care_weeks = _int(
        0,
        MAX_WEEKS,
        "Weeks of self-care",
        "Weeks of adequate self-care for this problem (supportive wide-toe-box shoes, "
        "metatarsal pads or insoles, activity modification).",
    )
    prior_pt_or_orthoses = _tri(
        "Physical therapy or orthoses before",
        "Already had supervised physical therapy or podiatry, or prescribed orthoses, "
        "for this problem.",
    )
    immunosuppressed = _tri(
        "Do you take steroid tablets, chemotherapy, methotrexate, a biologic or anti-rejection "
        "medicine, or have a condition that weakens your immune system (e.g. HIV, no spleen)?",
        "Steroid tablets means prednisolone or similar taken by mouth; inhalers and creams do "
        "not count. Answer unknown if you are not sure whether a medicine weakens your immune "
        "system.",
    )
    anticoagulant = _tri(
        "Do you take a blood thinner (warfarin, apixaban, rivaroxaban, edoxaban, dabigatran) or "
        "have a bleeding disorder?",
        "Heparin injections count. Aspirin or clopidogrel alone: answer no, but ask a "
        "pharmacist before taking ibuprofen.",
    )
    cancer_history = _tri(
        "Have you ever had cancer (other than a minor skin cancer), or are you being treated for "
        "cancer now?",
        "Minor skin cancer means a basal cell carcinoma. Answer yes for melanoma, leukaemia, "
        "lymphoma, myeloma and any cancer now in remission.",
    )
    known_inflammatory_arthritis_or_gout = _tri(
        "Has a doctor told you that you have gout, rheumatoid arthritis, psoriatic arthritis or "
        "another inflammatory arthritis?",
        "Osteoarthritis (wear and tear) does not count.",
    )


class SymptomsSchema(_Strict):
    onset = _enum(
        ("injury", "gradual", "sudden_no_injury", "unknown"),
        "How the pain started",
        "Injury means the pain began with a specific trauma.",
    )
    injury_mechanism = _enum(
        ("none", "twist", "direct_blow_or_crush", "fall_or_jump_landing", "stubbed_toe", "unknown"),
        "How the injury happened",
        "'none' when the pain did not start with an injury.",
    )
    days_since_onset = _int(
        0, MAX_DAYS, "Days since it started", "Days since the injury or since symptoms began."
    )
    pain_location = _enum(
        (
            "ball_of_foot",
            "dorsal_forefoot",
            "web_space_toes",
            "big_toe_joint",
            "lesser_toes",
            "midfoot",
            "diffuse",
            "unknown",
        ),
        "Where it hurts most",
        "'midfoot' is the zone of the navicular, cuboid, cuneiforms and base of the "
        "5th metatarsal.",
    )
    pain_nrs = _int(
        0, 10, "Worst pain (0-10)", "Worst pain in the last 24 hours, 0 = none, 10 = worst."
    )
    pain_at_rest_or_night = _tri(
        "Pain at rest or at night", "Pain at rest, or pain that wakes you at night."
    )
    neuro_symptoms_toes = _tri(
        "Burning or tingling into the toes",
        "Burning, tingling, numbness or electric pain into the toes.",
    )
    steps_immediately = _int(
        0,
        4,
        "Steps right after the injury",
        "Injury only: steps you could take on the foot immediately after the injury, limping "
        "allowed; 4 means 4 or more.",
    )
    steps_now = _int(
        0, 4, "Steps now", "Steps you can take on the foot now, limping allowed; 4 means 4 or more."
    )
    tender_5th_mt_base = _tri(
        "Tender bony bump on the outer midfoot",
        "Pain when pressing the bony bump on the outer edge of the midfoot (base of the "
        "5th metatarsal).",
    )
    tender_navicular = _tri(
        "Tender bony point on the inner midfoot",
        "Pain when pressing the bony point on the inner midfoot (navicular).",
    )
    tender_metatarsal_point = _tri(
        "Tender point on a metatarsal bone",
        "Sharp pain when pressing one spot on a metatarsal bone (usually on top of the foot), "
        "not general soreness under the ball of the foot.",
    )
    visible_deformity = _tri(
        "Is there a new change in the shape of your foot or a toe (for example a toe pointing "
        "sideways or bent, or the middle of the foot collapsing), after an injury or not?",
        "New means it appeared in the last days or weeks. A bunion or hammer toe you have had "
        "for a long time does not count.",
    )
    open_wound_at_injury = _tri(
        "Is the skin broken now over the injured area (a cut or split; bone may be visible)?",
        "Answer no if there was no injury, or if a small graze has already healed.",
    )
    plantar_bruising = _tri(
        "Bruising on the sole", "Bruising on the sole of the midfoot after an injury."
    )
    swelling = _enum(
        ("none", "localized", "diffuse", "unknown"),
        "Swelling",
        "Foot swelling: 'localized' is one area, 'diffuse' is much or all of the foot.",
    )
    redness = _tri("Redness", "Redness of the foot skin (may be less visible on darker skin).")
    warmth = _tri("Warmth", "The foot or a joint feels hotter than the other foot.")
    redness_spreading_rapidly = _tri(
        "Redness spreading fast", "Redness visibly spreading over hours."
    )
    hot_swollen_joint = _tri(
        "Hot swollen joint",
        "One joint (for example the big-toe joint) is hot, swollen, very tender and painful "
        "to move, with a short history.",
    )
    inflammatory_pattern = _tri(
        "Swelling of several joints",
        "Joint swelling for 2 weeks or more in more than one joint or in the small joints of "
        "the feet or hands, often with morning stiffness over 30 minutes.",
    )
    fever = _tri("Fever", "Temperature of 38 °C or more, chills or rigors.")
    systemically_unwell = _tri(
        "Do you have any of these now: new confusion or drowsiness, breathing very fast or "
        "feeling breathless, a racing heart, mottled, ashen or blue skin or lips, or not having "
        "passed urine all day?",
        "These are signs of a serious illness such as sepsis. Vomiting, or feeling very unwell "
        "without any of these signs, does not count here; fever is asked separately. Answer "
        "unknown if you cannot tell.",
    )
    wound_or_ulcer = _tri(
        "Wound or ulcer",
        "Any open sore, ulcer or broken blister on the foot (other than a fresh injury wound).",
    )
    wound_pus_or_odour = _tri("Pus or bad smell", "Pus or a bad smell from a wound.")
    black_or_dead_tissue = _tri(
        "Black or dead-looking skin", "Black, dark blue or dead-looking skin or toe."
    )
    foot_cold_pale_or_blue = _tri(
        "Cold, pale or blue foot", "New: the foot is colder, paler or bluer than the other foot."
    )
    sudden_numbness_or_weakness = _tri(
        "Sudden numbness or weakness",
        "New (hours to days) loss of feeling, or cannot move the toes or foot.",
    )
    improving = _tri("Improving", "Symptoms clearly improving over the last 2 weeks.")
    calf_or_leg_swelling = _tri(
        # The en dash is clinical.md 2.3's wording, verbatim.
        "Is your calf or whole lower leg on the painful side swollen, tender or painful – not "  # noqa: RUF001
        "just the foot?",
        "Answer yes if the calf or the whole lower leg is swollen, tender or aching, especially "
        "after a long journey, an operation, a plaster cast or a time of not moving much. "
        "Swelling of the foot alone does not count.",
    )
    pain_out_of_proportion = _tri(
        "Since the injury, is the pain getting worse despite painkillers, much worse than you "
        "would expect, worse when your toes are moved, or does the foot feel tight and hard?",
        "Asked only if the pain started with an injury. Answer yes if any part is true.",
    )


class TriageRequestSchema(_Strict):
    # A group may be left out (all its findings unknown); null groups are not accepted.
    patient = fields.Nested(PatientSchema)
    history = fields.Nested(HistorySchema)
    symptoms = fields.Nested(SymptomsSchema)


GROUPS: dict[str, type[Schema]] = {
    "patient": PatientSchema,
    "history": HistorySchema,
    "symptoms": SymptomsSchema,
}
