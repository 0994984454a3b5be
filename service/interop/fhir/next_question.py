"""The OperationDefinition of our SDC $next-question, for the server's CapabilityStatement."""

from __future__ import annotations

import copy
from typing import Any

from service.interop.fhir.common import BASE, QUESTIONNAIRE_URL

SDC_NEXT_QUESTION = "http://hl7.org/fhir/uv/sdc/OperationDefinition/Questionnaire-next-question"
NEXT_QUESTION_URL = f"{BASE}/OperationDefinition/Questionnaire-next-question"
NEXT_QUESTION_PATH = "/fhir/Questionnaire/$next-question"

_DEFINITION: dict[str, Any] = {
    "resourceType": "OperationDefinition",
    "id": "Questionnaire-next-question",
    "url": NEXT_QUESTION_URL,
    "name": "ForefootTriageNextQuestion",
    "title": "Forefoot triage adaptive interview: next question",
    "status": "active",
    "kind": "operation",
    "description": (
        "The SDC adaptive-form operation for the forefoot-triage intake. Send a "
        "QuestionnaireResponse that answers a contained adaptive Questionnaire derived from "
        f"{QUESTIONNAIRE_URL} (or, to start, that answers {QUESTIONNAIRE_URL} itself, with no "
        "items or with answers already known); the response comes back with the contained "
        "Questionnaire grown by the next question or group of related questions, and a read-only "
        "'triage-result' group with the disposition. A question asked and left unanswered is "
        "answered unknown. The response is 'completed' when no answer to the questions not asked "
        "could change the disposition (destination, urgency, setting, level, clinician review): "
        "that disposition is then the full form's. Errors are OperationOutcomes."
    ),
    "code": "next-question",
    "base": SDC_NEXT_QUESTION,
    "resource": ["Questionnaire"],
    "system": False,
    "type": True,
    "instance": False,
    "parameter": [
        {
            "name": "questionnaire-response",
            "use": "in",
            "min": 1,
            "max": "1",
            "documentation": (
                "The adaptive QuestionnaireResponse so far, its contained Questionnaire as the "
                "previous call returned it. It may be posted alone instead of in a Parameters; "
                "the name 'in' is accepted too."
            ),
            "type": "QuestionnaireResponse",
        },
        {
            "name": "return",
            "use": "out",
            "min": 1,
            "max": "1",
            "documentation": (
                "The QuestionnaireResponse with the contained Questionnaire grown by the next "
                "question(s), status in-progress; completed, and no question added, when the "
                "interview stops. Returned as the resource itself, not in a Parameters."
            ),
            "type": "QuestionnaireResponse",
        },
    ],
}


def next_question_definition() -> dict[str, Any]:
    """The OperationDefinition (a copy: the caller may add to it)."""
    return copy.deepcopy(_DEFINITION)
