"""Blueprint "interview_pages": /interview, the adaptive interview one screen at a time, for people.

Each screen asks the next question, or the next small group (Interviewer.step), and posts the
answers so far with it (service.web.interview_state): nothing is stored between pages. The
result page is the long form's result; an answer that proves an emergency ends the interview.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request

from service.domain.assessment import Assessment
from service.domain.findings import FINDINGS, Question
from service.domain.interview import Disposition, Interviewer, NextQuestion, Step
from service.domain.wording import display
from service.exceptions import EngineError
from service.http.evaluation import evaluate
from service.http.interview_api import INTERVIEWER
from service.web.intake_views import also_referred
from service.web.interview_state import (
    GO,
    Errors,
    State,
    StateError,
    carried,
    read_post,
    read_query,
    read_screen,
    validate,
)

interview_pages = Blueprint("interview_pages", __name__)

# Up to seven questions a screen: the seven danger signs come on one screen (docs/interview.md),
# every other group of the order is smaller; a screen never mixes two groups.
SCREEN_QUESTIONS = 7
# Why a question is asked, in words: the most urgent answer it could still lead to.
WHY = {
    "emergency": "Your answer could show that you need emergency care now.",
    "urgent": "Your answer could show that your foot should be seen today.",
    "soon": "Your answer could show that your foot should be seen within a few days.",
    "routine": "Your answer helps decide whether you need an appointment, and with whom.",
}
BROUGHT = "The answers you brought"


def _interviewer() -> Interviewer:
    interviewer: Interviewer = current_app.extensions[INTERVIEWER]
    return interviewer


def _options(question: Question) -> list[tuple[str, str]]:
    """(value, text) of a word answer: the answers in the catalogue's order, I don't know last."""
    values = [value for value in question.values if value != "unknown"]
    return [(value, display(value)) for value in values] + [("unknown", "I don't know")]


def _keys_required() -> bool:
    return bool(current_app.config["API_KEYS"])


def _unavailable() -> Any:
    """With API keys configured no page may triage without one, and no key is put in a page:
    the interview, which would carry it from page to page, is off; the form at / asks for it."""
    return render_template("interview/unavailable.html"), 403


def _error_page(errors: Errors, status: int) -> Any:
    return render_template(
        "interview/error.html", errors=errors, findings=_interviewer().ruleset.questions
    ), status


def _state_error() -> Any:
    message = "This page's answers could not be read. Please start the interview again."
    return _error_page([{"field": "(interview)", "message": message}], 400)


def _screen(
    state: State, before: dict[str, dict[str, Any]], preselect: dict[str, str], errors: Errors
) -> Any:
    """One screen: the questions `state.shown`, asked after the answers `before`."""
    interviewer = _interviewer()
    step = interviewer.step(before, SCREEN_QUESTIONS)
    why: dict[str, NextQuestion] = {q.finding.name: q for q in step.questions}
    shown = state.shown
    if all(name in why for name in shown):
        heading = why[shown[0]].group.title
    else:  # the answers brought in by a link, shown again after Back
        heading = BROUGHT
    questions = interviewer.ruleset.questions
    return render_template(
        "interview/screen.html",
        state=state,
        questions=[questions[name] for name in shown],
        why={name: WHY.get(q.urgency, WHY["routine"]) for name, q in why.items()},
        heading=heading,
        options=_options,
        preselect=preselect,
        errors=errors,
        bad=[error["field"] for error in errors],
        answered=len(step.answered),
        relevant=len(step.relevant),
        number=len(state.screens) + 1,
        findings=questions,
    ), 422 if errors else 200


def _result(state: State, step: Step, answer: Assessment | None, engine_failed: bool) -> Any:
    ruleset = _interviewer().ruleset
    emergency_stop = step.status == "ask" and not engine_failed
    summary = [
        (ruleset.questions[name], state.answers[name])
        for screen in state.screens
        for name in screen
    ]
    return render_template(
        "interview/result.html",
        state=state,
        summary=summary,
        screens_shown=len(state.screens),
        emergency_stop=emergency_stop,
        answer=answer,
        also_referred=also_referred(answer) if answer else [],
        errors=[],
        engine_failed=engine_failed,
        findings=ruleset.questions,
        safety_net=ruleset.disclaimer,
    ), 500 if engine_failed else 200


def _next(state: State) -> Any:
    """The answers so far are valid: the next screen, or the result."""
    intake, errors = validate(state.answers)
    if intake is None:
        return _error_page(errors, 422)
    # Carried on as the service writes them (an empty number in a link is 'unknown').
    state.answers = {name: carried(intake[FINDINGS[name].group][name]) for name in state.answers}
    interviewer = _interviewer()
    step = interviewer.step(intake, SCREEN_QUESTIONS)
    try:
        answer = evaluate(intake)  # as /v1/triage: the questions not asked read as unknown
    except EngineError:
        return _result(state, step, None, engine_failed=True)  # fail closed: no triage guessed
    if step.disposition is not None and Disposition.of(answer) != step.disposition:
        return _result(state, step, None, engine_failed=True)  # a defect: never answered
    top = interviewer.ruleset.urgencies[-1]
    if step.status == "complete" or ("urgency" in step.decided and answer.urgency == top):
        # An emergency, proven whatever the answers left: go now, nothing more is asked.
        return _result(state, step, answer, engine_failed=False)
    state.shown = tuple(question.finding.name for question in step.questions)
    return _screen(state, intake, {}, [])


@interview_pages.get("/interview", provide_automatic_options=False)
def interview_start() -> Any:
    """The first screen; with answers in the query (`?fever=no&...`), the screen after them."""
    if _keys_required():
        return _unavailable()
    policy = _interviewer().policy
    state = read_query(request.args, {name: policy.position(name) for name in FINDINGS})
    if state.errors:
        return _error_page(state.errors, 422)
    return _next(state)


@interview_pages.post("/interview", provide_automatic_options=False)
def interview_step() -> Any:
    """A screen answered (Next) or left for the one before it (Back)."""
    if _keys_required():
        return _unavailable()
    try:
        state = read_post(request.form)
    except StateError:
        return _state_error()
    if state.errors:
        return _error_page(state.errors, 422)
    go = request.form.get(GO, "next")
    if go == "back":
        return _back(state)
    if go != "next":
        return _state_error()
    before, errors = validate(state.answers)
    if before is None:
        return _error_page(errors, 422)
    given, errors = read_screen(request.form, state.shown)
    if not errors:
        _, errors = validate({**state.answers, **given})
    if errors:
        # Only this screen's answers can be wrong here: asked again, nothing invalid echoed.
        kept = {name: text for name, text in given.items() if _valid_alone(name, text)}
        return _screen(state, before, kept, errors)
    state.answers.update(given)
    state.screens.append(state.shown)
    return _next(state)


def _valid_alone(name: str, text: str) -> bool:
    intake, _ = validate({name: text})
    return intake is not None


def _back(state: State) -> Any:
    """The screen before this one again, its answers chosen; they, and this screen's, are
    dropped from the answers so far (Next asks everything after it again, as it now applies)."""
    if not state.screens:  # the first screen: no answers so far (read_post checks)
        return _screen(state, {}, {}, [])
    previous = state.screens.pop()
    preselect = {name: state.answers.pop(name) for name in previous}
    before, errors = validate(state.answers)
    if before is None:
        return _error_page(errors, 422)
    state.shown = previous
    return _screen(state, before, preselect, [])
