"""Blueprint "fhir": metadata, the Questionnaire, code systems, $triage, $next-question."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import BadRequest, NotFound, UnsupportedMediaType

from service.domain.intake_validator import validate_intake
from service.domain.ruleset import SOURCE_LANGUAGE
from service.domain.wording import SURFACE_WORDS
from service.http.evaluation import evaluate
from service.http.interview_api import MAX_QUESTIONS, checked_step
from service.http.json_body import read_json
from service.http.language import Language, answer_language
from service.interop.fhir.adaptive import grown_response, read_adaptive, response_in
from service.interop.fhir.common import fhir_response, fhir_urls
from service.interop.fhir.formats import refuse_other_formats
from service.interop.fhir.guidance import build_guidance
from service.interop.fhir.operations import RESPONSE_PARAMETER
from service.interop.fhir.response_reader import intake_from_response
from service.interop.fhir.surface import KEY, build_surface, current_surface

fhir = Blueprint("fhir", __name__)
fhir.before_request(refuse_other_formats)
_SEARCH_PARAMETERS = ("_id", "url", "version")  # what a search applies; others are ignored


@fhir.record_once
def _build_surface(state: BlueprintSetupState) -> None:
    """Built once, when the app is made: an asked_when it cannot carry stops the start."""
    languages = state.app.extensions["triage"].languages
    state.app.extensions[KEY] = build_surface(languages, fhir_urls(state.app.config["FHIR_BASE"]))


def _server_base() -> str:
    """Where clients reach /fhir: the public URL when set, else the host they called."""
    public = current_app.config.get("PUBLIC_URL") or request.host_url.rstrip("/")
    return f"{public}/fhir"


def _matches(resource: dict[str, Any]) -> bool:
    """The resource meets every applied search parameter (url may carry |version)."""
    for name in _SEARCH_PARAMETERS:
        for value in request.args.getlist(name):
            if name == "url":
                url, _, version = value.partition("|")
                if url != resource["url"] or (version and version != resource["version"]):
                    return False
            elif value != resource["id" if name == "_id" else name]:
                return False
    return True


def _searchset(resource_type: str, resources: Iterable[dict[str, Any]]) -> Response:
    """A searchset Bundle of the resources that match; its self link names what was applied."""
    base = _server_base()
    found = [resource for resource in resources if _matches(resource)]
    applied = [(k, v) for k in _SEARCH_PARAMETERS for v in request.args.getlist(k)]
    query = f"?{urlencode(applied)}" if applied else ""
    return fhir_response(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(found),
            "link": [{"relation": "self", "url": f"{base}/{resource_type}{query}"}],
            "entry": [
                {
                    "fullUrl": f"{base}/{resource_type}/{resource['id']}",
                    "resource": resource,
                    "search": {"mode": "match"},
                }
                for resource in found
            ],
        }
    )


@fhir.get("/fhir/metadata", provide_automatic_options=False)
def metadata() -> Response:
    """The CapabilityStatement."""
    return fhir_response(current_surface().capability)


def _localized(response: Response, language: Language) -> Response:
    response.headers.update(language.headers)
    return response


@fhir.get("/fhir/Questionnaire/forefoot-triage", provide_automatic_options=False)
def questionnaire() -> Response:
    """The intake as an R4 Questionnaire in the language asked for (Accept-Language or lang),
    every text with its translations; its version is the ruleset version."""
    language, _words = answer_language()
    return _localized(fhir_response(current_surface().questionnaires[language.code]), language)


@fhir.get("/fhir/Questionnaire", provide_automatic_options=False)
def search_questionnaires() -> Response:
    """Questionnaire?url= (and _id, version): a searchset Bundle of ours, or an empty one."""
    language, _words = answer_language()
    found = _searchset("Questionnaire", [current_surface().questionnaires[language.code]])
    return _localized(found, language)


@fhir.get("/fhir/CodeSystem", provide_automatic_options=False)
def search_code_systems() -> Response:
    """CodeSystem?url= (and _id, version): a searchset Bundle, designations in the language
    asked for."""
    language, _words = answer_language()
    found = current_surface().translated_code_systems[language.code].values()
    return _code_system_language(_searchset("CodeSystem", found), language)


@fhir.get("/fhir/CodeSystem/<code_system_id>", provide_automatic_options=False)
def code_system(code_system_id: str) -> Response:
    """One of our code systems, every concept in it: English displays, and a designation in
    the language asked for (Accept-Language or lang) when that is not English."""
    language, _words = answer_language()
    found = current_surface().translated_code_systems[language.code].get(code_system_id)
    if found is None:
        raise NotFound(SURFACE_WORDS["problem.fhir.no_code_system"])
    return _code_system_language(fhir_response(found), language)


def _code_system_language(response: Response, language: Language) -> Response:
    """A code system's displays are English whatever was asked; its designations are in the
    language asked for: Content-Language names both."""
    response.headers.update(language.headers)
    if language.code != SOURCE_LANGUAGE:
        response.headers["Content-Language"] = f"{SOURCE_LANGUAGE}, {language.code}"
    return response


@fhir.get("/fhir/OperationDefinition/<definition_id>", provide_automatic_options=False)
def operation_definition(definition_id: str) -> Response:
    """The definition of one of our operations."""
    found = current_surface().operations.get(definition_id)
    if found is None:
        raise NotFound(SURFACE_WORDS["problem.fhir.no_operation"])
    return fhir_response(found)


def _response_of(body: Any) -> Any:
    """The QuestionnaireResponse of the body: itself, or the Parameters' one parameter."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        return body
    parameters = body.get("parameter")
    found = [
        p.get("resource")
        for p in (parameters if isinstance(parameters, list) else [])
        if isinstance(p, dict) and p.get("name") == RESPONSE_PARAMETER
    ]
    if len(found) != 1 or not isinstance(found[0], dict):
        raise BadRequest(
            SURFACE_WORDS["problem.fhir.parameters_body"].format(parameter=RESPONSE_PARAMETER)
        )
    return found[0]


# "$" is an ordinary character in a werkzeug rule (it is regex-escaped, not an anchor).
@fhir.post("/fhir/QuestionnaireResponse/$triage", provide_automatic_options=False)
def triage_response() -> Response:
    """Triage a QuestionnaireResponse exactly as /v1/triage would; answer a GuidanceResponse."""
    if not request.is_json:
        raise UnsupportedMediaType(SURFACE_WORDS["problem.fhir.media_type"])
    body = read_json(request)  # 400/413 -> OperationOutcome (service.interop.fhir.outcome)
    resource = _response_of(body)
    surface = current_surface()
    # ResponseError, ValidationError
    intake = validate_intake(intake_from_response(resource, surface.layout, surface.urls))
    language, words = answer_language()
    answer = evaluate(intake, language=language.code)
    guidance = build_guidance(answer, words, surface.urls, resource.get("subject"))
    return _localized(fhir_response(guidance), language)


@fhir.post("/fhir/Questionnaire/$next-question", provide_automatic_options=False)
def next_question() -> Response:
    """SDC $next-question: the adaptive response grown by the next question(s), or completed.

    A step asks what POST /v1/interview asks with max_questions 10: the next question, or the
    rest of its group of related questions (the seven danger signs come on one screen).
    """
    if not request.is_json:
        raise UnsupportedMediaType(SURFACE_WORDS["problem.fhir.media_type"])
    resource = response_in(read_json(request))  # 400/413 -> OperationOutcome
    surface = current_surface()
    adaptive = read_adaptive(resource, surface.layout, surface.urls)  # ResponseError
    intake = validate_intake(adaptive.intake)  # ValidationError -> 422 OperationOutcome
    language, words = answer_language()
    step, answer = checked_step(intake, MAX_QUESTIONS, language.code)
    grown = grown_response(resource, adaptive.asked, intake, step, answer, words, surface.urls)
    return _localized(fhir_response(grown), language)
