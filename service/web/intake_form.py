"""The intake form: fieldsets generated from the question catalogue, and a posted form as intake."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from service.domain.conditions import Node, findings_of, parse
from service.domain.facts import build_facts
from service.domain.findings import FINDINGS, Finding, Question
from service.domain.intake_schema import GROUPS, UNKNOWN
from service.domain.intake_validator import validate_intake
from service.domain.ruleset import Ruleset
from service.domain.wording import SURFACE_WORDS, display
from service.exceptions import ConditionError
from service.http.problems import field_errors

_VOCABULARY = frozenset(GROUPS) | frozenset(FINDINGS)
_NUMBER = re.compile(r"-?\d{1,7}")
_ONSET_FIRST = ("onset", "days_since_onset")  # asked before the injury-only questions
INJURY_LEGEND = SURFACE_WORDS["page.section.injury"]
API_KEY_FIELD = "api_key"  # asked only when TRIAGE_API_KEYS is set; never part of the intake


@dataclass(frozen=True)
class Situation:
    """When the form shows a question asked only in some situations (clinical.md 2.2).

    Read off the ruleset's `asked_when` by trying every answer of the one question it depends
    on: `values` are the word answers, `ranges` the whole numbers, and `when_empty` says whether
    an unanswered (unknown, empty) question asks it. The page's script hides the question
    otherwise; without the script every question is shown.
    """

    finding: str
    depends_on: str
    values: tuple[str, ...] = ()
    ranges: tuple[tuple[int, int], ...] = ()
    when_empty: bool = False

    def attributes(self) -> dict[str, str]:
        """The data-* attributes intake.js reads (no inline script: the policy forbids it)."""
        attributes = {
            "data-asked-if": self.depends_on,
            "data-asked-empty": "yes" if self.when_empty else "no",
        }
        depends_on = FINDINGS[self.depends_on]
        if depends_on.is_numeric:
            low, high = depends_on.bounds
            attributes["data-asked-ranges"] = " ".join(f"{a}-{b}" for a, b in self.ranges)
            attributes["data-asked-bounds"] = f"{low}-{high}"
        else:
            attributes["data-asked-values"] = " ".join(self.values)
        return attributes

    @property
    def is_injury(self) -> bool:
        """Asked exactly when the pain started with an injury (onset is injury)."""
        return self.depends_on == "onset" and self.values == ("injury",) and not self.when_empty


@dataclass(frozen=True)
class Section:
    """One fieldset of the form; `situation` when the whole fieldset is situational."""

    key: str
    legend: str
    questions: tuple[Question, ...]
    situation: Situation | None = None


@dataclass(frozen=True)
class FormLayout:
    """The fieldsets, and the questions shown only in some situations, of one ruleset."""

    sections: tuple[Section, ...]
    situations: Mapping[str, Situation]  # finding -> situation, for questions outside `injury`


def _ranges(numbers: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """Consecutive runs of sorted whole numbers: [12, 13, 14, 20] -> ((12, 14), (20, 20))."""
    runs: list[tuple[int, int]] = []
    for number in numbers:
        if runs and runs[-1][1] == number - 1:
            runs[-1] = (runs[-1][0], number)
        else:
            runs.append((number, number))
    return tuple(runs)


def _situation(ruleset: Ruleset, name: str, helpers: Mapping[str, Node]) -> Situation | None:
    """The situation of one `asked_when` entry; None (always shown) unless it reads one answer."""
    try:
        depends_on = findings_of(parse(ruleset.asked_when_source[name], helpers))
    except ConditionError:  # pragma: no cover (the loader parsed it already)
        return None
    if len(depends_on) != 1:
        return None
    (other,) = depends_on
    finding, asks = FINDINGS[other], ruleset.asked_when[name]

    def asked(value: Any) -> bool:
        return asks(build_facts({finding.group: {other: value}}))

    if finding.is_numeric:
        low, high = finding.bounds
        numbers = [n for n in range(low, high + 1) if asked(n)]
        return Situation(name, other, ranges=_ranges(numbers), when_empty=asked(None))
    values = tuple(v for v in finding.values if v != UNKNOWN and asked(v))
    return Situation(name, other, values=values, when_empty=asked(UNKNOWN))


def _helper_nodes(ruleset: Ruleset) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    for helper, tree in ruleset.helpers.items():
        nodes[helper] = parse(tree, nodes)
    return nodes


def _in_group(
    ruleset: Ruleset, group: str, names: Sequence[str] = (), leave_out: Sequence[str] = ()
) -> list[Question]:
    return [
        finding
        for finding in ruleset.questions.values()
        if finding.group == group
        and (not names or finding.name in names)
        and finding.name not in leave_out
    ]


def _layout(ruleset: Ruleset) -> FormLayout:
    helpers = _helper_nodes(ruleset)
    situations = {
        name: situation
        for name in ruleset.asked_when_source
        if (situation := _situation(ruleset, name, helpers)) is not None
    }
    injury = tuple(name for name, situation in situations.items() if situation.is_injury)
    later = (*_ONSET_FIRST, *injury)
    injury_section = (
        Section(
            "injury",
            ruleset.texts["page.section.injury"],
            tuple(f for f in ruleset.questions.values() if f.name in injury),
            situations[injury[0]],
        )
        if injury
        else None
    )
    legend = {key: ruleset.texts[f"page.section.{key}"] for key in ("patient", "history")}
    legend |= {key: ruleset.texts[f"page.section.{key}"] for key in ("onset", "symptoms")}
    sections = (
        Section("patient", legend["patient"], tuple(_in_group(ruleset, "patient", (), injury))),
        Section("history", legend["history"], tuple(_in_group(ruleset, "history", (), injury))),
        Section("onset", legend["onset"], tuple(_in_group(ruleset, "symptoms", _ONSET_FIRST))),
        *((injury_section,) if injury_section else ()),
        Section("symptoms", legend["symptoms"], tuple(_in_group(ruleset, "symptoms", (), later))),
    )
    return FormLayout(
        sections,
        {name: situation for name, situation in situations.items() if name not in injury},
    )


# The names of the answers in English (the catalogue's `choice.*`), for callers without a ruleset.
SURFACE_CHOICES = {
    f"choice.{value}": display(value) for finding in FINDINGS.values() for value in finding.values
}
_LAYOUTS: dict[tuple[str, str], FormLayout] = {}
_LOCK = threading.Lock()


def form_layout(ruleset: Ruleset) -> FormLayout:
    """The form of this ruleset in its language, built once per ruleset content (its sha256)
    and language, then reused."""
    key = (ruleset.sha256, ruleset.language)
    layout = _LAYOUTS.get(key)
    if layout is None:
        with _LOCK:
            layout = _LAYOUTS.setdefault(key, _layout(ruleset))
    return layout


def choices(finding: Finding, texts: Mapping[str, str] = SURFACE_CHOICES) -> list[tuple[str, str]]:
    """(value, text) of a word answer, unknown first: the default, so untouched means unknown;
    `texts`: a ruleset's texts, for the names of the answers in its language."""
    values = [UNKNOWN, *(value for value in finding.values if value != UNKNOWN)]
    return [(value, texts[f"choice.{value}"]) for value in values]


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
        # Situational answers (clinical.md 2.2) are kept whatever onset or age says, hidden by
        # the script or not, as /v1/triage keeps them: dropping them changed the follow-up
        # questions and, with a padded onset, even the result.
        value = _value(finding, values[0])
        if value is not None:
            body.setdefault(finding.group, {})[name] = value
    intake = None
    try:
        intake = validate_intake(body, limit=len(FINDINGS))  # one error a question at most
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
