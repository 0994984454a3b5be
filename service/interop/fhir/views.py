"""Blueprint "fhir": GET the Questionnaire, POST $triage and the adaptive form's $next-question."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import UnsupportedMediaType

from service.domain.intake_validator import validate_intake
from service.http.evaluation import evaluate
from service.http.interview_api import MAX_QUESTIONS, checked_step
from service.http.json_body import read_json
from service.http.language import Language, answer_language
from service.interop.fhir.adaptive import grown_response, read_adaptive, response_in
from service.interop.fhir.common import fhir_response
from service.interop.fhir.guidance import build_guidance
from service.interop.fhir.next_question import NEXT_QUESTION_PATH
from service.interop.fhir.questionnaire import translated_questionnaires
from service.interop.fhir.response_reader import intake_from_response

fhir = Blueprint("fhir", __name__)
_QUESTIONNAIRE = "fhir_questionnaire"  # app.extensions key


@fhir.record_once
def _build_questionnaire(state: BlueprintSetupState) -> None:
    """Built once, when the app is made: an asked_when it cannot carry stops the start."""
    triage = state.app.extensions["triage"]
    state.app.extensions[_QUESTIONNAIRE] = translated_questionnaires(triage.languages)


def _localized(response: Response, language: Language) -> Response:
    response.headers.update(language.headers)
    return response


@fhir.get("/fhir/Questionnaire/forefoot-triage", provide_automatic_options=False)
def questionnaire() -> Response:
    """The intake as an R4 Questionnaire in the language asked for (Accept-Language or lang),
    every text with its translations; its version is the ruleset version."""
    language, _words = answer_language()
    return _localized(
        fhir_response(current_app.extensions[_QUESTIONNAIRE][language.code]), language
    )


# "$" is an ordinary character in a werkzeug rule (it is regex-escaped, not an anchor).
@fhir.post("/fhir/QuestionnaireResponse/$triage", provide_automatic_options=False)
def triage_response() -> Response:
    """Triage a QuestionnaireResponse exactly as /v1/triage would; answer a GuidanceResponse."""
    if not request.is_json:
        raise UnsupportedMediaType("Send the QuestionnaireResponse as application/fhir+json.")
    resource = read_json(request)  # 400/413 -> OperationOutcome (service.interop.fhir.outcome)
    intake = validate_intake(intake_from_response(resource))  # ResponseError, ValidationError
    language, words = answer_language()
    answer = evaluate(intake, language=language.code)
    return _localized(
        fhir_response(build_guidance(answer, words, resource.get("subject"))), language
    )


@fhir.post(NEXT_QUESTION_PATH, provide_automatic_options=False)
def next_question() -> Response:
    """SDC $next-question: the adaptive response grown by the next question(s), or completed.

    A step asks what POST /v1/interview asks with max_questions 10: the next question, or the
    rest of its group of related questions (the seven danger signs come on one screen).
    """
    if not request.is_json:
        raise UnsupportedMediaType("Send the QuestionnaireResponse as application/fhir+json.")
    resource = response_in(read_json(request))  # 400/413 -> OperationOutcome
    adaptive = read_adaptive(resource)  # ResponseError
    intake = validate_intake(adaptive.intake)  # ValidationError -> 422 OperationOutcome
    language, words = answer_language()
    step, answer = checked_step(intake, MAX_QUESTIONS, language.code)
    grown = grown_response(resource, adaptive.asked, intake, step, answer, words)
    return _localized(fhir_response(grown), language)
