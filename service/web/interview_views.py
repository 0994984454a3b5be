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
from service.domain.ruleset import SOURCE_LANGUAGE, Ruleset
from service.exceptions import EngineError
from service.http.evaluation import evaluate
from service.http.interview_api import INTERVIEWER
from service.web.intake_views import (
    also_referred,
    choose_page_language,
    languages,
    page_ruleset,
)
from service.web.interview_state import (
    GO,
    LANG,
    SWITCH,
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
# Why a question is asked, in words (page.interview.why.<urgency>): the most urgent answer it
# could still lead to; an urgency without words of its own reads as routine.
WHY_URGENCIES = ("emergency", "urgent", "soon", "routine")


def _interviewer() -> Interviewer:
    interviewer: Interviewer = current_app.extensions[INTERVIEWER]
    return interviewer


def _words() -> Ruleset:
    """The ruleset worded in the page's language (chosen by _choose_language)."""
    return page_ruleset()


def _choose_language() -> dict[str, Any]:
    """The page's language: a switch button pressed, else the language the form carries, else
    `lang`, else Accept-Language; and what the layout needs to show and offer it."""
    explicit = request.form.get(SWITCH) or request.form.get(LANG) or None
    code = choose_page_language(explicit).code
    return {
        "lang": code,
        "languages": languages(),
        "lang_query": "" if code == SOURCE_LANGUAGE else f"?{LANG}={code}",
    }


def _options(question: Question) -> list[tuple[str, str]]:
    """(value, text) of a word answer: the answers in the catalogue's order, I don't know last."""
    texts = _words().texts
    values = [value for value in question.values if value != "unknown"]
    return [(value, texts[f"choice.{value}"]) for value in values] + [
        ("unknown", texts["page.interview.dont_know"])
    ]


def _answer_words(text: str) -> str:
    """A carried answer in the page's language: a word answer by its choice text, a number as
    it is."""
    texts = _words().texts
    if text == "unknown":
        return texts["page.interview.dont_know"]
    return texts.get(f"choice.{text}", text)


def _translated(errors: Errors) -> Errors:
    """Field errors in the page's language (field paths unchanged)."""
    translate = current_app.extensions["triage"].problem_texts[_words().language]
    return [{**error, "message": translate(error["message"])} for error in errors]


def _keys_required() -> bool:
    return bool(current_app.config["API_KEYS"])


def _unavailable() -> Any:
    """With API keys configured no page may triage without one, and no key is put in a page:
    the interview, which would carry it from page to page, is off; the form at / asks for it."""
    return render_template("interview/unavailable.html", **_choose_language()), 403


def _error_page(errors: Errors, status: int) -> Any:
    return render_template(
        "interview/error.html",
        errors=_translated(errors),
        findings=_words().questions,
        **_choose_language(),
    ), status


def _state_error() -> Any:
    message = _words().texts["page.interview.state_error"]
    return _error_page([{"field": "(interview)", "message": message}], 400)


def _screen(
    state: State, before: dict[str, dict[str, Any]], preselect: dict[str, str], errors: Errors
) -> Any:
    """One screen: the questions `state.shown`, asked after the answers `before`."""
    interviewer = _interviewer()
    texts = _words().texts
    step = interviewer.step(before, SCREEN_QUESTIONS)
    why: dict[str, NextQuestion] = {q.finding.name: q for q in step.questions}
    shown = state.shown
    if all(name in why for name in shown):
        heading = texts[f"interview.group.{why[shown[0]].group.id}.title"]
    else:  # the answers brought in by a link, shown again after Back
        heading = texts["page.interview.brought"]
    questions = _words().questions
    urgency = {
        name: q.urgency if q.urgency in WHY_URGENCIES else "routine" for name, q in why.items()
    }
    return render_template(
        "interview/screen.html",
        state=state,
        questions=[questions[name] for name in shown],
        why={name: texts[f"page.interview.why.{u}"] for name, u in urgency.items()},
        heading=heading,
        options=_options,
        preselect=preselect,
        errors=_translated(errors),
        bad=[error["field"] for error in errors],
        answered=len(step.answered),
        relevant=len(step.relevant),
        number=len(state.screens) + 1,
        findings=questions,
        switch_form=True,
        **_choose_language(),
    ), 422 if errors else 200


def _result(state: State, step: Step, answer: Assessment | None, engine_failed: bool) -> Any:
    ruleset = _words()
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
        answer_words=_answer_words,
        screens_shown=len(state.screens),
        emergency_stop=emergency_stop,
        answer=answer,
        also_referred=also_referred(answer) if answer else [],
        errors=[],
        engine_failed=engine_failed,
        findings=ruleset.questions,
        safety_net=ruleset.disclaimer,
        switch_form=True,
        **_choose_language(),
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
        # As /v1/triage: the questions not asked read as unknown; worded in the page's language.
        answer = evaluate(intake, language=_words().language)
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
    _choose_language()
    if _keys_required():
        return _unavailable()
    policy = _interviewer().policy
    state = read_query(request.args, {name: policy.position(name) for name in FINDINGS})
    if state.errors:
        return _error_page(state.errors, 422)
    return _next(state)


@interview_pages.post("/interview", provide_automatic_options=False)
def interview_step() -> Any:
    """A screen answered (Next), left for the one before it (Back), or shown again in another
    language (a switch button: the answers so far and this screen's are kept)."""
    _choose_language()
    if _keys_required():
        return _unavailable()
    try:
        state = read_post(request.form)
    except StateError:
        return _state_error()
    if state.errors:
        return _error_page(state.errors, 422)
    go = request.form.get(GO, "next")
    if request.form.get(SWITCH):
        go = "switch"
    if go == "back":
        return _back(state)
    if go not in ("next", "switch"):
        return _state_error()
    before, errors = validate(state.answers)
    if before is None:
        return _error_page(errors, 422)
    given, errors = read_screen(request.form, state.shown)
    if go == "switch":
        if not state.shown:  # the result page: the same result in the other language
            return _next(state)
        # The header's switch form carries the answers so far, not this screen's choices; a
        # client that posts them too gets them back chosen. Nothing posted is not "unknown".
        posted = {name: given[name] for name in state.shown if name in request.form}
        kept = {name: text for name, text in posted.items() if _valid_alone(name, text)}
        return _screen(state, before, kept, [])
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
