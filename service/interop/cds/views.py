"""Blueprint "cds_hooks": CDS Hooks 2.0 discovery, the forefoot-triage service and its feedback."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import structlog
from flask import Blueprint, current_app, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from werkzeug.wrappers import Response as ResponseBase

from service.domain.intake_validator import validate_intake
from service.exceptions import ResponseError
from service.http.evaluation import evaluate
from service.http.json_body import read_json
from service.http.language import answer_language
from service.http.metrics import observe_feedback
from service.http.problem_details import problem_body
from service.http.problems import localized_problem, validation_problem
from service.interop.cds.cards import INTERVIEW_PATH, build_card
from service.interop.cds.fhir_fetch import FetchFailed, fetch_prefetch, wants_fetch
from service.interop.fhir.common import current_urls
from service.interop.fhir.response_reader import intake_from_response, is_ours
from service.interop.fhir.surface import current_surface

cds_hooks = Blueprint("cds_hooks", __name__)
SERVICE_ID = "forefoot-triage"
PREFETCH_KEY = "questionnaireResponse"
OUTCOMES = ("accepted", "overridden")


def _discovery(questionnaire: str, texts: Mapping[str, str]) -> dict[str, Any]:
    """The discovery document, its title and description from `texts` (the locale's); the
    prefetch names our Questionnaire by its canonical. Ids and the prefetch never change."""
    return {
        "services": [
            {
                "hook": "patient-view",
                "id": SERVICE_ID,
                "title": texts["cds.service.title"],
                "description": texts["cds.service.description"],
                "prefetch": {
                    PREFETCH_KEY: "QuestionnaireResponse?subject=Patient/{{context.patientId}}"
                    f"&questionnaire={questionnaire}&_sort=-authored&_count=1"
                },
            }
        ]
    }


_PATIENT_REFERENCE = re.compile(r"Patient/([A-Za-z0-9.-]{1,64})(?:/_history/[A-Za-z0-9.-]{1,64})?")
_log = structlog.get_logger("service.cds_hooks")


class _Open(Schema):
    class Meta:
        unknown = EXCLUDE  # CDS Hooks lets clients add fields; only ours are read


class _Context(_Open):
    userId = fields.String(required=True)
    patientId = fields.String(required=True)
    encounterId = fields.String()


class _Call(_Open):
    hook = fields.String(required=True, validate=validate.Equal("patient-view"))
    hookInstance = fields.String(required=True)
    fhirServer = fields.String()
    fhirAuthorization = fields.Dict()
    context = fields.Nested(_Context, required=True)
    prefetch = fields.Dict(keys=fields.String(), values=fields.Dict(allow_none=True))


class _Feedback(_Open):
    card = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    outcomeTimestamp = fields.String(required=True)
    overrideReason = fields.Dict()
    acceptedSuggestions = fields.List(fields.Dict())


class _FeedbackBody(_Open):
    feedback = fields.List(
        fields.Nested(_Feedback), required=True, validate=validate.Length(min=1, max=100)
    )


_CALL = _Call()
_FEEDBACK = _FeedbackBody()
_CALL_FIELDS = frozenset(
    {"hook", "hookInstance", "fhirServer", "fhirAuthorization", "context", "prefetch"}
    | set(_Context().fields)
)
_FEEDBACK_FIELDS = frozenset({"feedback", *_Feedback().fields})


_NOT_CDS = "The body does not match CDS Hooks 2.0."


def _load(schema: Schema, body: Any, vocabulary: frozenset[str]) -> Any:
    try:
        return schema.load(body)
    except ValidationError as error:
        raise _Invalid(validation_problem(_NOT_CDS, error.messages, vocabulary)) from None


class _Invalid(Exception):
    """A 422: the problem body to answer."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__("invalid")
        self.body = body


@cds_hooks.errorhandler(_Invalid)
def _invalid(error: _Invalid) -> ResponseBase:
    return localized_problem(error.body)


def _precondition(detail: str) -> ResponseBase:
    return localized_problem(problem_body(412, "Precondition Failed", detail))


class _NoPrefetch(Exception):
    """No usable prefetch: 412 with this detail."""


_NO_DATA = object()  # the client says the patient has no such response: no card, not an error


def _responses(resource: dict[str, Any]) -> list[Any]:
    if resource.get("resourceType") == "QuestionnaireResponse":
        return [resource]
    if resource.get("resourceType") == "Bundle":
        entries = resource.get("entry") or []
        if not isinstance(entries, list):
            raise _NoPrefetch("The prefetched Bundle's entry must be an array.")
        return [e.get("resource") if isinstance(e, dict) else None for e in entries]
    raise _NoPrefetch("The prefetch holds neither a QuestionnaireResponse nor a Bundle of them.")


def _patient_id(reference: Any, fhir_server: Any) -> str | None:
    """The id of a Patient reference, relative or under the call's fhirServer; else None."""
    if not isinstance(reference, str):
        return None
    if isinstance(fhir_server, str) and reference.startswith(fhir_server.rstrip("/") + "/"):
        reference = reference[len(fhir_server.rstrip("/")) + 1 :]
    match = _PATIENT_REFERENCE.fullmatch(reference)
    return match.group(1) if match else None


def _prefetched(call: dict[str, Any]) -> Any:
    """The patient's latest QuestionnaireResponse to our Questionnaire, or _NO_DATA.

    Every response in the prefetch must be about the context's patient, and the latest by
    `authored` is used whatever the order the client sent them in.
    """
    prefetch = call.get("prefetch") or {}
    if PREFETCH_KEY not in prefetch:
        raise _NoPrefetch(
            f"Prefetch '{PREFETCH_KEY}' must hold the patient's QuestionnaireResponse to "
            f"{current_urls().questionnaire} (or a searchset Bundle with it)."
        )
    resource = prefetch[PREFETCH_KEY]
    if resource is None:
        return _NO_DATA
    found, others = [], 0
    for response in _responses(resource):
        if not isinstance(response, dict) or response.get("resourceType") != (
            "QuestionnaireResponse"
        ):
            others += 1  # an OperationOutcome (a failed search) or an included resource
            continue
        subject = response.get("subject")
        reference = subject.get("reference") if isinstance(subject, dict) else None
        # Never logged: patientId identifies the patient.
        if _patient_id(reference, call.get("fhirServer")) != call["context"]["patientId"]:
            raise _NoPrefetch("A prefetched QuestionnaireResponse is not about this patient.")
        if not is_ours(response.get("questionnaire"), current_urls()):
            raise _NoPrefetch(f"A prefetched response is not to {current_urls().questionnaire}.")
        if response.get("status") != "entered-in-error":
            found.append(response)
    if not found:
        if others:
            raise _NoPrefetch("The prefetch holds no usable QuestionnaireResponse.")
        return _NO_DATA  # an empty search: the patient has not answered the Questionnaire
    latest = max(found, key=_authored)
    if sum(_authored(r) == _authored(latest) for r in found) > 1:
        raise _NoPrefetch("Several responses share the latest 'authored' time: none is chosen.")
    return latest


def _authored(response: dict[str, Any]) -> datetime:
    try:
        moment = datetime.fromisoformat(str(response.get("authored")))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@cds_hooks.get("/cds-services", provide_automatic_options=False)
def discovery() -> Any:
    """The one service this server offers, its title and description in the language asked
    for (Accept-Language, or `lang`)."""
    language, words = answer_language()
    return _discovery(current_urls().questionnaire, words.texts), language.headers


@cds_hooks.post(f"/cds-services/{SERVICE_ID}", provide_automatic_options=False)
def service() -> Any:
    """One card for the patient's prefetched (or fetched) QuestionnaireResponse; else 412."""
    call = _load(_CALL, read_json(request), _CALL_FIELDS)
    try:
        if wants_fetch(call, PREFETCH_KEY, current_app.config["CDS_FHIR_SERVERS"]):
            call["prefetch"] = {
                **(call.get("prefetch") or {}),
                PREFETCH_KEY: fetch_prefetch(call, current_urls().questionnaire),
            }
        resource = _prefetched(call)
    except (_NoPrefetch, FetchFailed) as error:
        return _precondition(str(error))
    if resource is _NO_DATA:
        return {"cards": []}  # the patient has not answered the Questionnaire: nothing to say
    try:
        surface = current_surface()
        intake = intake_from_response(resource, surface.layout, surface.urls)
    except ResponseError as error:
        if error.kind != "answer":
            return _precondition(f"The prefetched resource is not usable: {error.detail}")
        field = error.link_id or "(unknown key)"
        errors = [{"field": field, "message": error.detail}]
        raise _Invalid(
            problem_body(422, "Unprocessable Content", _NOT_CDS, errors=errors)
        ) from None
    valid = validate_intake(intake)  # ValidationError -> 422 problem
    language, words = answer_language()  # Accept-Language of the CDS client, or lang
    answer = evaluate(valid, language=language.code)
    config = current_app.config
    card = build_card(
        answer,
        words,
        config["PUBLIC_URL"],
        config["CDS_SMART_LAUNCH_URL"],
        valid if _serves_interview() else None,
    )
    return {"cards": [card]}, language.headers


def _serves_interview() -> bool:
    """Whether this server has the web interview page (service.web) to send the clinician to."""
    return any(
        rule.rule == INTERVIEW_PATH and "GET" in (rule.methods or ())
        for rule in current_app.url_map.iter_rules()
    )


@cds_hooks.post(f"/cds-services/{SERVICE_ID}/feedback", provide_automatic_options=False)
def feedback() -> Any:
    """Count each card outcome; nothing else is kept."""
    body = _load(_FEEDBACK, read_json(request), _FEEDBACK_FIELDS)
    for item in body["feedback"]:
        observe_feedback(item["outcome"])
    _log.info("cds feedback", count=len(body["feedback"]))
    return {}
