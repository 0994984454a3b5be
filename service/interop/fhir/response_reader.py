"""A QuestionnaireResponse to our Questionnaire, read into the intake /v1/triage validates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.domain.findings import FINDINGS
from service.exceptions import ResponseError
from service.interop.fhir.common import DATA_ABSENT_REASON, FhirUrls

# The Questionnaire's groups: group linkId -> its questions (questionnaire.layout). A question is
# also read under its intake group (patient, history, symptoms), as responses to the Questionnaire
# before the danger signs had a group of their own have it, or with no group at all.
Layout = Mapping[str, tuple[str, ...]]

STATUSES = ("in-progress", "completed", "amended", "entered-in-error", "stopped")
_HELP_ITEMS = frozenset(f"{name}.help" for name in FINDINGS)
# The answer types each kind of question takes; valueBoolean is yes/no on a yes/no question.
_VALUE_TYPES = {
    "integer": ("valueInteger",),
    "enum": ("valueCoding",),
    "tri_state": ("valueCoding", "valueBoolean"),
}


def is_ours(canonical: Any, urls: FhirUrls) -> bool:
    """Our Questionnaire's canonical, with or without a |version."""
    return isinstance(canonical, str) and canonical.split("|", 1)[0] == urls.questionnaire


def _absent(answer: dict[str, Any]) -> bool:
    extensions = answer.get("extension")
    return isinstance(extensions, list) and any(
        isinstance(ext, dict) and ext.get("url") == DATA_ABSENT_REASON for ext in extensions
    )


def _value(name: str, answers: Any, urls: FhirUrls) -> Any:
    """The intake value of one item's answers: None is unknown; other values are validated later."""
    if answers is None or answers == []:
        return None
    if not isinstance(answers, list) or len(answers) != 1 or not isinstance(answers[0], dict):
        raise ResponseError("answer", f"'{name}' takes at most one answer.", name)
    answer: dict[str, Any] = answers[0]
    if answer.get("item"):
        # Our questions have no sub-questions: an answer nested here would be silently lost.
        raise ResponseError("answer", f"The answer to '{name}' may not contain items.", name)
    values = [key for key in answer if key.startswith("value")]
    absent = _absent(answer) or any(
        key.startswith("_value") and isinstance(answer[key], dict) and _absent(answer[key])
        for key in answer
    )
    if absent:
        if values:
            # A value and "data absent" at once: reading it as unknown could lower the result.
            raise ResponseError(
                "answer", f"The answer to '{name}' has a value and a data-absent-reason.", name
            )
        return None
    if len(values) != 1:
        raise ResponseError("answer", f"The answer to '{name}' has no value.", name)
    key = values[0]
    value = answer[key]
    if key not in _VALUE_TYPES[FINDINGS[name].kind]:
        allowed = " or ".join(_VALUE_TYPES[FINDINGS[name].kind])
        raise ResponseError("answer", f"The answer to '{name}' must be a {allowed}.", name)
    if key == "valueCoding":
        system = urls.answers
        if not isinstance(value, dict) or value.get("system", system) != system:
            raise ResponseError(
                "answer", f"The answer to '{name}' must be a code of {system}.", name
            )
        if value.get("code") is None:
            raise ResponseError("answer", f"The answer to '{name}' has no code.", name)
        return value["code"]
    if key == "valueBoolean":
        if not isinstance(value, bool):
            raise ResponseError("answer", f"The answer to '{name}' must be true or false.", name)
        return "yes" if value else "no"
    return value  # a valueInteger: the intake schema checks its type and range


def _children(element: dict[str, Any]) -> list[Any]:
    """An element's items: [] when there are none; FHIR JSON never has null or a non-array."""
    if "item" not in element:
        return []
    items = element["item"]
    if not isinstance(items, list):
        raise ResponseError("structure", "'item' must be an array.")
    return items


class _Reader:
    """One response's items read into an intake, against the Questionnaire's layout."""

    def __init__(self, layout: Layout, urls: FhirUrls) -> None:
        self.layout = layout
        self.urls = urls
        self.intake: dict[str, dict[str, Any]] = {}

    def _group_of(self, link_id: str) -> str:
        return next(group for group, names in self.layout.items() if link_id in names)

    def walk(self, items: list[Any], group: str | None) -> None:
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("linkId"), str):
                raise ResponseError("structure", "Every item needs a linkId.")
            link_id: str = item["linkId"]
            if link_id in self.layout and group is None:
                if item.get("answer"):
                    raise ResponseError(
                        "answer", f"The group '{link_id}' takes no answer.", link_id
                    )
                self.walk(_children(item), link_id)
            elif link_id in FINDINGS:
                self._question(item, link_id, group)
            elif link_id in _HELP_ITEMS and not item.get("answer") and not item.get("item"):
                continue
            else:
                # Not echoed: a made-up linkId could carry patient data.
                raise ResponseError("answer", "An item's linkId is not a question of ours.")

    def _question(self, item: dict[str, Any], link_id: str, group: str | None) -> None:
        finding = FINDINGS[link_id]
        if group is not None and group != finding.group and link_id not in self.layout[group]:
            raise ResponseError(
                "answer", f"'{link_id}' belongs to the group '{self._group_of(link_id)}'.", link_id
            )
        answers = self.intake.setdefault(finding.group, {})
        if link_id in answers:
            raise ResponseError("answer", f"'{link_id}' is answered more than once.", link_id)
        for child in _children(item):
            # Only the question's own help text may sit under it, never another answer.
            if not (
                isinstance(child, dict)
                and child.get("linkId") == f"{link_id}.help"
                and not child.get("answer")
                and not child.get("item")
            ):
                raise ResponseError("answer", f"'{link_id}' may not contain other items.", link_id)
        answers[link_id] = _value(link_id, item.get("answer"), self.urls)


def intake_from_response(
    resource: Any, layout: Layout, urls: FhirUrls
) -> dict[str, dict[str, Any]]:
    """The intake (not yet validated) of a QuestionnaireResponse; raises ResponseError."""
    if not isinstance(resource, dict):
        raise ResponseError("structure", "The body must be a FHIR resource (a JSON object).")
    if resource.get("resourceType") != "QuestionnaireResponse":
        raise ResponseError("structure", "The resource must be a QuestionnaireResponse.")
    if resource.get("status") not in STATUSES:
        raise ResponseError("structure", f"status must be one of {', '.join(STATUSES)}.")
    if not is_ours(resource.get("questionnaire"), urls):
        raise ResponseError("foreign", f"questionnaire must be {urls.questionnaire}.")
    if resource["status"] == "entered-in-error":
        raise ResponseError("foreign", "A response entered in error cannot be triaged.")
    reader = _Reader(layout, urls)
    reader.walk(_children(resource), None)
    return reader.intake
