"""Blueprint "interview": POST /v1/interview, the next question(s) or a proven complete answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app, request
from flask.blueprints import BlueprintSetupState

from service.domain.assessment import Assessment
from service.domain.findings import FINDINGS
from service.domain.intake_validator import validate_intake
from service.domain.interview import Disposition, Interviewer, NextQuestion, Step, load_policy
from service.domain.ruleset import SOURCE_LANGUAGE, Ruleset
from service.exceptions import TriageError
from service.http.answer import assessment_to_wire, question_to_wire
from service.http.evaluation import evaluate
from service.http.json_body import read_json
from service.http.language import Language, answer_language
from service.http.problem_details import problem_body
from service.http.problems import in_language, problem_response

interview = Blueprint("interview", __name__)
INTERVIEWER = "interviewer"  # app.extensions key
MAX_QUESTIONS = 10  # more than the largest group: a step never mixes two groups anyway


class InterviewMismatch(TriageError):
    """The answer at `complete` disagrees with the proven disposition: a defect, never answered."""


@interview.record_once
def _build_interviewer(state: BlueprintSetupState) -> None:
    """Built once, when the app is made: a missing or invalid question order stops the start."""
    ruleset = state.app.extensions["triage"].ruleset
    policy = load_policy(state.app.config["RULES_DIR"])
    state.app.extensions[INTERVIEWER] = Interviewer(ruleset, policy)


def _max_questions(body: Any) -> tuple[Any, int | None]:
    """The body without `max_questions`, and its value (1 when absent; None when invalid)."""
    if not isinstance(body, dict) or "max_questions" not in body:
        return body, 1
    rest = {key: value for key, value in body.items() if key != "max_questions"}
    value = body["max_questions"]
    if type(value) is not int or not 1 <= value <= MAX_QUESTIONS:  # bool is not a count
        return rest, None
    return rest, value


def _question(question: NextQuestion, words: Ruleset) -> dict[str, Any]:
    """The catalogue entry of GET /v1/questions, and why it is asked now, in `words`' language."""
    entry = question_to_wire(words.questions[question.finding.name], words)
    entry["why"] = {
        "group": question.group.id,
        "group_title": words.texts[f"interview.group.{question.group.id}.title"],
        "rules": [rule.id for rule in question.rules],
        "could_reach_urgency": question.urgency,
        "could_reach_level": question.level,
    }
    return entry


def _body(
    interviewer: Interviewer,
    step: Step,
    answer: dict[str, Any],
    language: Language,
    words: Ruleset,
) -> dict[str, Any]:
    return {
        "status": step.status,
        **language.wire,
        "questions": [_question(question, words) for question in step.questions],
        "progress": {
            "answered": len(step.answered),
            "relevant": len(step.relevant),
            "form_questions": len(FINDINGS),
        },
        "decided": list(step.decided),
        "rules": {
            "fired": [rule.id for rule in step.fired],
            "undecided": [rule.id for rule in step.undecided],
        },
        "statement": words.texts[
            "interview.complete" if step.status == "complete" else "interview.ask"
        ],
        "policy": interviewer.policy.identity,
        "answer": answer,
    }


@interview.post("/v1/interview", provide_automatic_options=False)
def interview_step() -> Any:
    """The next question(s) for a partial intake, or `complete` with the proven answer."""
    body, max_questions = _max_questions(read_json(request))
    if max_questions is None:
        body = problem_body(
            422,
            "Unprocessable Content",
            "The request does not match the schema; see errors.",
            errors=[
                {
                    "field": "max_questions",
                    "message": f"Must be a whole number from 1 to {MAX_QUESTIONS}.",
                }
            ],
        )
        return problem_response(in_language(body), 422)
    intake = validate_intake(body)  # ValidationError -> the 422 problem of /v1/triage
    language, words = answer_language()
    step, assessment = checked_step(intake, max_questions, language.code)
    answer = assessment_to_wire(assessment, language.fallback)
    body = _body(current_app.extensions[INTERVIEWER], step, answer, language, words)
    return body, language.headers


def checked_step(
    intake: Mapping[str, Mapping[str, Any]],
    max_questions: int,
    language: str = SOURCE_LANGUAGE,
) -> tuple[Step, Assessment]:
    """The interview's step on a validated intake and /v1/triage's answer on it, which at
    `complete` must have the proven disposition (InterviewMismatch otherwise: never answered)."""
    interviewer: Interviewer = current_app.extensions[INTERVIEWER]
    step = interviewer.step(intake, max_questions)
    assessment = evaluate(
        intake, language=language
    )  # the same path as /v1/triage: not asked reads as unknown
    if step.disposition is not None and Disposition.of(assessment) != step.disposition:
        raise InterviewMismatch("the answer disagrees with the proven disposition")
    return step, assessment
