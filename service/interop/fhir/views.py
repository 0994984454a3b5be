"""Blueprint "fhir": GET the Questionnaire, POST $triage and the adaptive form's $next-question."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import UnsupportedMediaType

from service.domain.intake_validator import validate_intake
from service.http.evaluation import evaluate
from service.http.interview_api import MAX_QUESTIONS, checked_step
from service.http.json_body import read_json
from service.interop.fhir.adaptive import grown_response, read_adaptive, response_in
from service.interop.fhir.common import fhir_response
from service.interop.fhir.guidance import build_guidance
from service.interop.fhir.next_question import NEXT_QUESTION_PATH
from service.interop.fhir.questionnaire import build_questionnaire
from service.interop.fhir.response_reader import intake_from_response

fhir = Blueprint("fhir", __name__)
_QUESTIONNAIRE = "fhir_questionnaire"  # app.extensions key


@fhir.record_once
def _build_questionnaire(state: BlueprintSetupState) -> None:
    """Built once, when the app is made: an asked_when it cannot carry stops the start."""
    ruleset = state.app.extensions["triage"].ruleset
    state.app.extensions[_QUESTIONNAIRE] = build_questionnaire(ruleset)


@fhir.get("/fhir/Questionnaire/forefoot-triage", provide_automatic_options=False)
def questionnaire() -> Response:
    """The intake as an R4 Questionnaire; its version is the ruleset version."""
    return fhir_response(current_app.extensions[_QUESTIONNAIRE])


# "$" is an ordinary character in a werkzeug rule (it is regex-escaped, not an anchor).
@fhir.post("/fhir/QuestionnaireResponse/$triage", provide_automatic_options=False)
def triage_response() -> Response:
    """Triage a QuestionnaireResponse exactly as /v1/triage would; answer a GuidanceResponse."""
    if not request.is_json:
        raise UnsupportedMediaType("Send the QuestionnaireResponse as application/fhir+json.")
    resource = read_json(request)  # 400/413 -> OperationOutcome (service.interop.fhir.outcome)
    intake = validate_intake(intake_from_response(resource))  # ResponseError, ValidationError
    answer = evaluate(intake)
    ruleset = current_app.extensions["triage"].ruleset
    return fhir_response(build_guidance(answer, ruleset, resource.get("subject")))


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
    step, answer = checked_step(intake, MAX_QUESTIONS)
    ruleset = current_app.extensions["triage"].ruleset
    return fhir_response(grown_response(resource, adaptive.asked, intake, step, answer, ruleset))
