"""Blueprint "cds_hooks": CDS Hooks 2.0 discovery, the forefoot-triage service and its feedback."""

from __future__ import annotations

from typing import Any

import structlog
from flask import Blueprint, Response, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from service.api import evaluate
from service.body import read_json
from service.cds_cards import build_card
from service.errors import field_errors, problem
from service.fhir_common import QUESTIONNAIRE_URL
from service.fhir_intake import ResponseError, intake_from_response
from service.metrics import observe_feedback
from service.validation import IntakeValidator

cds_hooks = Blueprint("cds_hooks", __name__)
SERVICE_ID = "forefoot-triage"
PREFETCH_KEY = "questionnaireResponse"
OUTCOMES = ("accepted", "overridden")
DISCOVERY = {
    "services": [
        {
            "hook": "patient-view",
            "id": SERVICE_ID,
            "title": "Forefoot pain triage",
            "description": (
                "Triages the patient's latest answers to the forefoot-triage Questionnaire "
                "(ball-of-foot pain): level, urgency, reasons and sources, as one card."
            ),
            "prefetch": {
                PREFETCH_KEY: "QuestionnaireResponse?subject=Patient/{{context.patientId}}"
                f"&questionnaire={QUESTIONNAIRE_URL}&_sort=-authored&_count=1"
            },
        }
    ]
}
_VALIDATOR = IntakeValidator()
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


def _load(schema: Schema, body: Any, vocabulary: frozenset[str]) -> Any:
    try:
        return schema.load(body)
    except ValidationError as error:
        raise _Invalid(field_errors(error.messages, vocabulary)) from None


class _Invalid(Exception):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("invalid")
        self.errors = errors


@cds_hooks.errorhandler(_Invalid)
def _invalid(error: _Invalid) -> Response:
    return problem(
        422, "Unprocessable Content", "The body does not match CDS Hooks 2.0.", errors=error.errors
    )


def _precondition(detail: str) -> Response:
    return problem(412, "Precondition Failed", detail)


def _prefetched(prefetch: dict[str, Any] | None) -> dict[str, Any] | None:
    """The QuestionnaireResponse itself, or the first one in a searchset Bundle."""
    resource = (prefetch or {}).get(PREFETCH_KEY)
    if not isinstance(resource, dict):
        return None
    if resource.get("resourceType") == "QuestionnaireResponse":
        return resource
    if resource.get("resourceType") == "Bundle" and isinstance(resource.get("entry"), list):
        for entry in resource["entry"]:
            found = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(found, dict) and found.get("resourceType") == "QuestionnaireResponse":
                return found
    return None


def _other_patient(resource: dict[str, Any], patient_id: str) -> bool:
    subject = resource.get("subject")
    reference = subject.get("reference") if isinstance(subject, dict) else None
    return (
        isinstance(reference, str) and reference.rsplit("/", 1)[-1] != patient_id.rsplit("/", 1)[-1]
    )


@cds_hooks.get("/cds-services", provide_automatic_options=False)
def discovery() -> Any:
    """The one service this server offers."""
    return DISCOVERY


@cds_hooks.post(f"/cds-services/{SERVICE_ID}", provide_automatic_options=False)
def service() -> Any:
    """One card for the patient's prefetched QuestionnaireResponse; 412 without a usable one."""
    call = _load(_CALL, read_json(request), _CALL_FIELDS)
    resource = _prefetched(call.get("prefetch"))
    if resource is None:
        return _precondition(
            f"Prefetch '{PREFETCH_KEY}' must hold the patient's QuestionnaireResponse to "
            f"{QUESTIONNAIRE_URL} (or a searchset Bundle with it)."
        )
    # Never logged: patientId identifies the patient.
    if _other_patient(resource, call["context"]["patientId"]):
        return _precondition("The prefetched QuestionnaireResponse is about another patient.")
    try:
        intake = intake_from_response(resource)
    except ResponseError as error:
        if error.kind != "answer":
            return _precondition(f"The prefetched resource is not usable: {error.detail}")
        field = error.link_id or "(unknown key)"
        raise _Invalid([{"field": field, "message": error.detail}]) from None
    answer = evaluate(_VALIDATOR.load(intake))  # ValidationError -> 422 problem
    return {"cards": [build_card(answer)]}


@cds_hooks.post(f"/cds-services/{SERVICE_ID}/feedback", provide_automatic_options=False)
def feedback() -> Any:
    """Count each card outcome; nothing else is kept."""
    body = _load(_FEEDBACK, read_json(request), _FEEDBACK_FIELDS)
    for item in body["feedback"]:
        observe_feedback(item["outcome"])
    _log.info("cds feedback", count=len(body["feedback"]))
    return {}
