"""SDC adaptive form: the QuestionnaireResponse of $next-question read, and grown by the next step.

The response answers a contained adaptive Questionnaire (SDC sdc-questionnaire-adapt) that the
server grows: it holds the questions asked so far, flat, linkId = finding, in the order asked.
A question asked and left unanswered is answered unknown, as in POST /v1/interview. The server
also writes, at the end, a read-only group of calculated items (the SDC way to return a score)
with the triage disposition: provisional, and hidden, while questions are left; final, shown,
when the interview stops and the response is `completed`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from service.domain.assessment import Assessment
from service.domain.findings import FINDINGS
from service.domain.interview import Step
from service.domain.ruleset import Ruleset
from service.domain.wording import Words
from service.exceptions import ResponseError
from service.interop.fhir.common import FhirUrls
from service.interop.fhir.guidance import Codes
from service.interop.fhir.operations import RESPONSE_PARAMETER
from service.interop.fhir.questionnaire import question_item
from service.interop.fhir.response_reader import Layout, intake_from_response, is_ours

ADAPTIVE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-questionnaireAdaptive"
HIDDEN = "http://hl7.org/fhir/StructureDefinition/questionnaire-hidden"
CONTAINED_ID = "forefoot-triage-adaptive"
RESULT = "triage-result"  # the linkId of the server's read-only result group
# The input parameter's name: SDC STU3 on calls it questionnaire-response; 'in' is accepted too.
INPUT_NAMES = (RESPONSE_PARAMETER, "in")
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


@dataclass(frozen=True)
class AdaptiveResponse:
    """What an adaptive response says: the questions asked, in order, and the intake so far."""

    asked: tuple[str, ...]
    intake: dict[str, dict[str, Any]]  # not yet validated; an asked, unanswered question: None


def response_in(body: Any) -> dict[str, Any]:
    """The QuestionnaireResponse of the call: a Parameters' one input, or the resource itself."""
    if not isinstance(body, dict):
        raise ResponseError("structure", "The body must be a FHIR resource (a JSON object).")
    if body.get("resourceType") != "Parameters":
        return body
    parameters = body.get("parameter")
    found = (
        [p for p in parameters or [] if isinstance(p, dict) and p.get("name") in INPUT_NAMES]
        if isinstance(parameters, list)
        else []
    )
    if len(found) != 1 or not isinstance(found[0].get("resource"), dict):
        raise ResponseError(
            "structure",
            "The Parameters must hold one 'questionnaire-response' parameter with the resource.",
        )
    resource: dict[str, Any] = found[0]["resource"]
    return resource


def _contained(resource: dict[str, Any], urls: FhirUrls) -> dict[str, Any] | None:
    """The adaptive Questionnaire the response answers; None when it answers ours directly."""
    reference = resource.get("questionnaire")
    if is_ours(reference, urls):
        return None  # the first call may start from the Questionnaire itself
    if not (isinstance(reference, str) and reference.startswith("#")):
        raise ResponseError(
            "foreign",
            f"questionnaire must reference a contained adaptive Questionnaire derived from "
            f"{urls.questionnaire}, or be {urls.questionnaire}.",
        )
    contained = resource.get("contained")
    found = [
        item
        for item in (contained if isinstance(contained, list) else [])
        if isinstance(item, dict)
        and item.get("resourceType") == "Questionnaire"
        and item.get("id") == reference[1:]
    ]
    if len(found) != 1:
        raise ResponseError("structure", "questionnaire must name one contained Questionnaire.")
    derived = found[0].get("derivedFrom")
    if not (isinstance(derived, list) and any(is_ours(c, urls) for c in derived)):
        raise ResponseError(
            "foreign", f"The contained Questionnaire must derive from {urls.questionnaire}."
        )
    return found[0]


def _asked(questionnaire: Mapping[str, Any]) -> tuple[str, ...]:
    """The questions of the contained Questionnaire, in order; the result group is the server's."""
    items = questionnaire.get("item", [])
    if not isinstance(items, list):
        raise ResponseError("structure", "'item' must be an array.")
    asked: list[str] = []
    for item in items:
        link_id = item.get("linkId") if isinstance(item, dict) else None
        if link_id == RESULT:
            continue
        if link_id not in FINDINGS:
            # Not echoed: a made-up linkId could carry patient data.
            raise ResponseError(
                "answer", "An item of the contained Questionnaire is not a question of ours."
            )
        if link_id in asked:
            raise ResponseError(
                "answer", f"'{link_id}' is in the contained Questionnaire twice.", link_id
            )
        asked.append(link_id)
    return tuple(asked)


def read_adaptive(resource: Any, layout: Layout, urls: FhirUrls) -> AdaptiveResponse:
    """The questions asked and the answers of an adaptive QuestionnaireResponse (ResponseError).

    The items are read as a response to our Questionnaire (`layout` its groups): flat, as the
    adaptive form has them, or, on a first call that answers our Questionnaire, in its groups
    (the danger_signs group included).
    """
    if not isinstance(resource, dict) or resource.get("resourceType") != "QuestionnaireResponse":
        raise ResponseError("structure", "The resource must be a QuestionnaireResponse.")
    questionnaire = _contained(resource, urls)
    items = resource.get("item", [])
    if not isinstance(items, list):
        raise ResponseError("structure", "'item' must be an array.")
    answers = [
        item for item in items if not (isinstance(item, dict) and item.get("linkId") == RESULT)
    ]
    as_ours = {**resource, "questionnaire": urls.questionnaire, "item": answers}
    intake = intake_from_response(as_ours, layout, urls)
    answered = [name for name in FINDINGS if name in intake.get(FINDINGS[name].group, {})]
    if questionnaire is None:
        return AdaptiveResponse(tuple(answered), intake)  # answers given up front: asked
    asked = _asked(questionnaire)
    for name in answered:
        if name not in asked:
            raise ResponseError(
                "answer", f"'{name}' is not a question of the contained Questionnaire.", name
            )
    for name in asked:
        intake.setdefault(FINDINGS[name].group, {}).setdefault(name, None)  # asked: unknown
    return AdaptiveResponse(asked, intake)


def _answer(value: Any, urls: FhirUrls, words: Words) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, int):
        return [{"valueInteger": value}]
    display = words.code("choice", value)
    return [{"valueCoding": {"system": urls.answers, "code": value, "display": display}}]


def _result(
    step: Step, answer: Assessment, ruleset: Ruleset, urls: FhirUrls
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The read-only result group: its Questionnaire item and its response item."""
    words = Words(ruleset.texts)
    codes = Codes(urls, ruleset.destinations, words)
    values: dict[str, dict[str, Any]] = {
        "destination": {"valueCoding": codes.destination(answer.destination)},
        "urgency": {"valueCoding": codes.outcome("urgency", answer.urgency)},
        "setting": {"valueCoding": codes.setting(answer.setting)},
        "level": {"valueCoding": codes.outcome("level", answer.level)},
        "needs_clinician_review": {"valueBoolean": answer.needs_clinician_review},
    }
    complete = step.status == "complete"
    text = words["result.title" if complete else "result.title_provisional"]
    questions: list[dict[str, Any]] = []
    responses: list[dict[str, Any]] = []
    for name, value in values.items():
        state = words["result.final" if name in step.decided else "result.provisional"]
        label = f"{words[f'result.{name}']} ({state})"
        link_id = f"{RESULT}.{name}"
        kind = "boolean" if name == "needs_clinician_review" else "choice"
        questions.append({"linkId": link_id, "text": label, "type": kind, "readOnly": True})
        responses.append({"linkId": link_id, "text": label, "answer": [value]})
    group: dict[str, Any] = {"linkId": RESULT, "text": text, "type": "group", "item": questions}
    if not complete:
        # A patient-facing form should not show a result the next answers may still change.
        group["extension"] = [{"url": HIDDEN, "valueBoolean": True}]
    return group, {"linkId": RESULT, "text": text, "item": responses}


def grown_response(
    previous: Mapping[str, Any],
    asked: Sequence[str],
    intake: Mapping[str, Mapping[str, Any]],
    step: Step,
    answer: Assessment,
    ruleset: Ruleset,
    urls: FhirUrls,
) -> dict[str, Any]:
    """The response returned: the contained Questionnaire grown by the step's questions, the
    answers so far, the result group; `completed` when the interview stops."""
    questions = list(dict.fromkeys([*asked, *(q.finding.name for q in step.questions)]))
    group, result = _result(step, answer, ruleset, urls)
    words = Words(ruleset.texts)
    questionnaire = {
        "resourceType": "Questionnaire",
        "id": CONTAINED_ID,
        "language": answer.language,
        "extension": [{"url": ADAPTIVE, "valueBoolean": True}],
        "version": ruleset.version,
        "name": "ForefootTriageAdaptive",
        "title": ruleset.texts["questionnaire.adaptive_title"],
        "derivedFrom": [f"{urls.questionnaire}|{ruleset.version}"],
        "status": "active",
        "subjectType": ["Patient"],
        "item": [question_item(ruleset.questions[name], urls, ruleset) for name in questions]
        + [group],
    }
    items = []
    for name in asked:
        item: dict[str, Any] = {"linkId": name, "text": ruleset.questions[name].label}
        value = _answer((intake.get(FINDINGS[name].group) or {}).get(name), urls, words)
        if value:
            item["answer"] = value
        items.append(item)
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "language": answer.language,
    }
    if isinstance(previous.get("id"), str) and _FHIR_ID.fullmatch(previous["id"]):
        response["id"] = previous["id"]
    response.update(
        contained=[questionnaire],
        questionnaire=f"#{CONTAINED_ID}",
        status="completed" if step.status == "complete" else "in-progress",
    )
    subject = previous.get("subject")
    if isinstance(subject, dict) and isinstance(subject.get("reference"), str):
        response["subject"] = {"reference": subject["reference"]}
    response["authored"] = datetime.now(UTC).isoformat(timespec="seconds")
    response["item"] = [*items, result]
    return response
