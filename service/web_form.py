"""The intake form: fieldsets generated from the question catalogue, and a posted form as intake."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from service.errors import field_errors
from service.fhir_common import display
from service.findings import FINDINGS, INJURY_ONLY, Finding
from service.schemas import GROUPS, UNKNOWN
from service.validation import validate_intake

_VOCABULARY = frozenset(GROUPS) | frozenset(FINDINGS)
_NUMBER = re.compile(r"-?\d{1,7}")
_ONSET_FIRST = ("onset", "days_since_onset")  # asked before the injury-only questions
INJURY_LEGEND = "Only if the pain started with an injury"
API_KEY_FIELD = "api_key"  # asked only when TRIAGE_API_KEYS is set; never part of the intake


@dataclass(frozen=True)
class Section:
    """One fieldset of the form."""

    key: str
    legend: str
    questions: tuple[Finding, ...]


def _in_group(
    group: str, names: Sequence[str] = (), leave_out: Sequence[str] = ()
) -> list[Finding]:
    return [
        finding
        for finding in FINDINGS.values()
        if finding.group == group
        and (not names or finding.name in names)
        and finding.name not in leave_out
    ]


def _sections() -> tuple[Section, ...]:
    symptoms_later = (*_ONSET_FIRST, *INJURY_ONLY)
    return (
        Section("patient", "About you", tuple(_in_group("patient"))),
        Section("history", "Your history", tuple(_in_group("history"))),
        Section("onset", "How the pain started", tuple(_in_group("symptoms", _ONSET_FIRST))),
        Section("injury", INJURY_LEGEND, tuple(_in_group("symptoms", INJURY_ONLY))),
        Section("symptoms", "Your symptoms", tuple(_in_group("symptoms", (), symptoms_later))),
    )


SECTIONS = _sections()


def choices(finding: Finding) -> list[tuple[str, str]]:
    """(value, text) of a word answer, unknown first: the default, so untouched means unknown."""
    values = [UNKNOWN, *(value for value in finding.values if value != UNKNOWN)]
    return [(value, display(value)) for value in values]


@dataclass
class FormResult:
    """A posted form read as an intake: the intake, or field errors; the answers to show again."""

    intake: dict[str, dict[str, Any]] | None
    errors: list[dict[str, str]]
    answers: dict[str, str]


def _value(finding: Finding, raw: str) -> Any:
    """The wire value of one answer; None is unknown. An invalid value is left for the schema."""
    text = raw.strip()
    if text in ("", UNKNOWN):
        return None
    if finding.is_numeric and _NUMBER.fullmatch(text):
        return int(text)
    return text


def read_form(form: MultiDict[str, str]) -> FormResult:
    """Map the form to the /v1/triage body and validate it exactly as /v1/triage does."""
    errors: list[dict[str, str]] = []
    body: dict[str, dict[str, Any]] = {}
    for name in form:
        if name == API_KEY_FIELD:
            continue
        finding = FINDINGS.get(name)
        if finding is None:
            errors.append({"field": "(unknown key)", "message": "Unknown field."})
            continue
        values = form.getlist(name)
        if len(values) > 1:
            errors.append({"field": f"{finding.group}.{name}", "message": "Answered twice."})
            continue
        # Injury-only answers are kept whatever onset says, as /v1/triage keeps them: dropping
        # them changed the follow-up questions and, with a padded onset, even the result.
        value = _value(finding, values[0])
        if value is not None:
            body.setdefault(finding.group, {})[name] = value
    intake = None
    try:
        intake = validate_intake(body)
    except ValidationError as error:
        errors.extend(field_errors(error.messages, _VOCABULARY))
    return FormResult(None if errors else intake, errors, _answers_to_show(form))


def _answers_to_show(form: MultiDict[str, str]) -> dict[str, str]:
    """The answers to fill the form in again with: valid ones only, so nothing invalid is echoed."""
    shown: dict[str, str] = {}
    for name, finding in FINDINGS.items():
        text = form.get(name, "").strip()
        if finding.is_numeric:
            low, high = finding.bounds
            if _NUMBER.fullmatch(text) and low <= int(text) <= high:
                shown[name] = str(int(text))
        elif text in finding.values:
            shown[name] = text
    return shown
