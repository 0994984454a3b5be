"""The answer in words for people: how soon, in person or not, where and when (no framework)."""

from __future__ import annotations

import re

# How soon, in words (clinical.md 1.1): follows the destination in a lead, "X-ray and fracture
# clinic today"; after a comma when it is not an adverb.
WHEN = {"emergency": "now", "urgent": "today", "soon": "within days", "routine": "routine"}
URGENCY_MEANING = {
    "emergency": "now (emergency department / emergency services)",
    "urgent": "same day (within 24 hours)",
    "soon": "within days (up to a week)",
    "routine": "within weeks (normal booking)",
}
# clinical.md 1.6: what the answer's setting means for the patient.
SETTING_DISPLAY = {
    "in_person": "In person",
    "virtual_suitable": "Virtual (video or phone) suitable",
}
SETTING_TEXT = {
    "in_person": "Must be seen in person.",
    "virtual_suitable": "A video or phone assessment can be the first step.",
}
# The setting as a page's "In person?" answer.
SETTING_LABEL = {
    "in_person": "Must be seen in person",
    "virtual_suitable": "A video or phone appointment can be the first step",
}
# How soon as a label of its own (a page's "How soon", a referral): the answer's urgency.
HOW_SOON = {
    "emergency": "now",
    "urgent": "today",
    "soon": "within a few days",
    "routine": "routine appointment",
}


def display(code: str) -> str:
    """A readable display for one of our codes: 'sudden_no_injury' -> 'Sudden no injury'."""
    return code.replace("_", " ").capitalize()


# Destination texts of the manifest that already name a time ("..., today", "... now; ...",
# "... within a few days", "(same or next day)").
_SAYS_WHEN = re.compile(r"\b(today|now|within|same[- ]day|same or next day)\b", re.IGNORECASE)


def says_when(text: str) -> bool:
    """The text names a time already ('today', 'now', 'within a few days', 'same-day')."""
    return _SAYS_WHEN.search(text) is not None


def where_and_when(destination: str, urgency: str) -> str:
    """Where to go and how soon, for a lead: 'X-ray and fracture clinic today'.

    A destination text that already says when ('Maternity assessment unit or midwife, today',
    'Emergency department now; ...', "Doctor's assessment (GP) within a few days", 'Urgent
    vascular surgery assessment (same or next day)') is not told twice.
    """
    when = WHEN[urgency]
    if says_when(destination):
        return destination
    return f"{destination}, {when}" if urgency == "routine" else f"{destination} {when}"
