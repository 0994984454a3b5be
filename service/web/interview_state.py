"""The web interview's state: the answers so far and the screens shown, read from a form or URL.

No server session: every page carries the answers given so far as hidden fields named like the
long form's (`fever=no`, `age_years=30`, `age_years=unknown`), the screens shown in order
(`screens`, one field per screen, the finding names separated by spaces), the questions of
the screen being answered (`shown`) and the page's language (`lang`). A GET
/interview?fever=no&... starts from such answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from service.domain.findings import FINDINGS, Finding
from service.domain.intake_schema import GROUPS, UNKNOWN
from service.domain.intake_validator import validate_intake
from service.http.problems import field_errors

SCREENS, SHOWN, GO = "screens", "shown", "go"
# The page's language, carried from page to page, and a language-switch button pressed.
LANG, SWITCH = "lang", "switch_to"
RESERVED = (SCREENS, SHOWN, GO, LANG, SWITCH)
_VOCABULARY = frozenset(GROUPS) | frozenset(FINDINGS)
_NUMBER = re.compile(r"-?\d{1,7}")

Errors = list[dict[str, str]]


class StateError(ValueError):
    """The carried state is not one this service writes (edited by hand, or cut short)."""


@dataclass
class State:
    """Answers so far (finding -> the text carried), the screens shown, this screen's questions."""

    answers: dict[str, str] = field(default_factory=dict)
    screens: list[tuple[str, ...]] = field(default_factory=list)
    shown: tuple[str, ...] = ()
    errors: Errors = field(default_factory=list)  # answers that are not valid, by field


def _wire(finding: Finding, text: str) -> Any:
    """The wire value of one carried answer: "" and "unknown" are an answer of unknown."""
    text = text.strip()
    if text in ("", UNKNOWN):
        return None if finding.is_numeric else UNKNOWN
    if finding.is_numeric and _NUMBER.fullmatch(text):
        return int(text)
    return text  # not valid: the schema names the problem


def carried(value: Any) -> str:
    """The text a validated answer is carried as (numbers as digits, unknown as 'unknown')."""
    return UNKNOWN if value is None else str(value)


def as_intake(answers: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Answers (finding -> text) as the intake body, in the catalogue's group layout."""
    body: dict[str, dict[str, Any]] = {}
    for name, text in answers.items():
        finding = FINDINGS[name]
        body.setdefault(finding.group, {})[name] = _wire(finding, text)
    return body


def validate(answers: Mapping[str, str]) -> tuple[dict[str, dict[str, Any]] | None, Errors]:
    """The intake validated exactly as /v1/triage validates it, or the field errors."""
    try:
        return validate_intake(as_intake(answers), limit=len(FINDINGS)), []
    except ValidationError as error:
        return None, field_errors(error.messages, _VOCABULARY)


def _names(text: str) -> tuple[str, ...]:
    names = tuple(text.split())
    if not names or any(name not in FINDINGS for name in names):
        raise StateError("a screen names a question that does not exist")
    return names


def _screen_answer(finding: Finding, values: Sequence[str]) -> tuple[str, str | None]:
    """One question of this screen as posted: the text carried, or an error message.

    Nothing chosen, or an empty number, is "I don't know" (as untouched is Unknown on the long
    form). A number field has an "I don't know" box of the same name: both is a contradiction.
    """
    given = [value.strip() for value in values if value.strip()]
    if not given:
        return UNKNOWN, None
    if len(given) > 1:
        if finding.is_numeric and UNKNOWN in given:
            return UNKNOWN, "Give a number or tick 'I don't know', not both."
        return UNKNOWN, "Answered twice."
    return given[0], None


def read_post(form: MultiDict[str, str]) -> State:
    """The state a posted screen carries; raises StateError when it is not one we wrote.

    The answers of the screen being answered (`shown`) are read from the visible fields; the
    others are the hidden answers so far, each once, each on exactly one screen.
    """
    shown_fields = form.getlist(SHOWN)
    if len(shown_fields) > 1:
        raise StateError("two screens at once")
    state = State(shown=_names(shown_fields[0]) if shown_fields else ())  # none: the result
    state.screens = [_names(text) for text in form.getlist(SCREENS)]
    if len(state.screens) > len(FINDINGS):
        raise StateError("more screens than questions")
    on_screens = [name for screen in state.screens for name in screen]
    if len(set(on_screens)) != len(on_screens) or set(on_screens) & set(state.shown):
        raise StateError("a question is on two screens")
    _read_answers(form, {*RESERVED, *state.shown}, state)
    if set(state.answers) != set(on_screens) and not state.errors:
        raise StateError("the answers so far and the screens shown do not match")
    return state


def read_screen(form: MultiDict[str, str], shown: Iterable[str]) -> tuple[dict[str, str], Errors]:
    """The answers given on this screen (finding -> text), and the ones answered twice."""
    answers: dict[str, str] = {}
    errors: Errors = []
    for name in shown:
        text, problem = _screen_answer(FINDINGS[name], form.getlist(name))
        answers[name] = text
        if problem:
            errors.append({"field": _field(name), "message": problem})
    return answers, errors


def read_query(args: MultiDict[str, str], order: Mapping[str, int]) -> State:
    """GET /interview?fever=no&age_years=30: answers brought in, shown again on one screen.

    Values are read as the form reads them (an empty value is unknown); a key that is not a
    question, or one given twice, is an error. `order` places the questions on that screen.
    """
    state = State()
    _read_answers(args, {LANG}, state)
    if state.answers and not state.errors:
        state.screens = [tuple(sorted(state.answers, key=order.__getitem__))]
    return state


def _read_answers(fields: MultiDict[str, str], skipped: AbstractSet[str], state: State) -> None:
    """Each field not `skipped` into state.answers (text stripped, an empty one unknown); a key
    that is not a question, or one given twice, into state.errors."""
    for name in fields:
        if name in skipped:
            continue
        if name not in FINDINGS:
            state.errors.append({"field": "(unknown key)", "message": "Unknown field."})
            continue
        values = fields.getlist(name)
        if len(values) != 1:
            state.errors.append({"field": _field(name), "message": "Answered twice."})
            continue
        state.answers[name] = values[0].strip()


def _field(name: str) -> str:
    return f"{FINDINGS[name].group}.{name}"
