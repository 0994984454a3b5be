"""A triage answer as an R4 GuidanceResponse with its result in a contained Parameters."""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from service.fhir_common import (
    DECISION_SYSTEM,
    FINDINGS_SYSTEM,
    MODULE_URL,
    OUTCOME_SYSTEM,
    RULES_SYSTEM,
    display,
)
from service.findings import FINDINGS
from service.schemas import UNKNOWN

# The completeness rule that fires when a danger-sign question is unanswered (clinical.md 7.3).
SCREEN_RULE = "G2"
_XHTML = "http://www.w3.org/1999/xhtml"


def _code(kind: str, code: str) -> dict[str, Any]:
    return {"system": f"{OUTCOME_SYSTEM}-{kind}", "code": code, "display": display(code)}


def _artifact(citation: Mapping[str, Any]) -> dict[str, Any]:
    artifact: dict[str, Any] = {
        "type": "citation",
        "label": citation["key"],
        "display": citation["title"],
        "citation": " ".join(citation["references"]),
    }
    if citation.get("url"):
        artifact["url"] = citation["url"]
    return artifact


def _rule(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": "rule",
        "part": [
            {
                "name": "id",
                "valueCoding": {
                    "system": RULES_SYSTEM,
                    "code": entry["rule_id"],
                    "display": entry["title"],
                },
            },
            {"name": "version", "valueInteger": entry["rule_version"]},
            {"name": "level", "valueCoding": _code("level", entry["level"])},
            {"name": "urgency", "valueCoding": _code("urgency", entry["urgency"])},
            {"name": "statement", "valueString": entry["statement"]},
            *({"name": "citation", "valueString": key} for key in entry["citations"]),
        ],
    }


def _parameters(answer: Mapping[str, Any]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": "level", "valueCoding": _code("level", answer["level"])},
        {"name": "urgency", "valueCoding": _code("urgency", answer["urgency"])},
    ]
    if answer["escalation"]:
        parameters.append(
            {"name": "escalation", "valueCoding": _code("escalation", answer["escalation"])}
        )
    if answer["destination"]:
        parameters.append(
            {"name": "destination", "valueCoding": _code("destination", answer["destination"])}
        )
    parameters.append(
        {"name": "needs_clinician_review", "valueBoolean": answer["needs_clinician_review"]}
    )
    parameters.extend(_rule(entry) for entry in answer["rationale"])
    parameters.extend({"name": "advice", "valueString": text} for text in answer["advice"])
    parameters.extend(
        {"name": "citation", "valueRelatedArtifact": _artifact(citation)}
        for citation in answer["citations"]
    )
    ruleset = answer["ruleset"]
    parameters.extend(
        [
            {"name": "ruleset_version", "valueString": ruleset["version"]},
            {"name": "ruleset_sha256", "valueString": ruleset["sha256"]},
            {"name": "disclaimer", "valueString": answer["disclaimer"]},
        ]
    )
    return {"resourceType": "Parameters", "id": "result", "parameter": parameters}


def missing_data(answer: Mapping[str, Any]) -> list[str]:
    """Findings to ask next when the red-flag screen fired because a flag is unknown, else []."""
    screen = next((e for e in answer["rationale"] if e["rule_id"] == SCREEN_RULE), None)
    if screen is None:
        return []
    unknown = [name for name, value in screen["matched"].items() if value in (None, UNKNOWN)]
    if not unknown:
        return []
    follow_up = [entry["finding"] for entry in answer["follow_up"]]
    return list(dict.fromkeys([*follow_up, *unknown]))


def _narrative(answer: Mapping[str, Any]) -> str:
    level, urgency = display(answer["level"]), display(answer["urgency"])
    rules = "".join(
        f"<li><b>{html.escape(e['rule_id'])} {html.escape(e['title'])}</b>: "
        f"{html.escape(e['statement'])}</li>"
        for e in answer["rationale"]
    )
    advice = "".join(f"<li>{html.escape(text)}</li>" for text in answer["advice"])
    # An escalation leads, in words: "Go to the emergency department now" must not be missed.
    lead = (
        f"<p><b>{html.escape(display(answer['escalation']))} now</b>"
        + (f" ({html.escape(display(answer['destination']))})" if answer["destination"] else "")
        + ".</p>"
        if answer["escalation"]
        else ""
    )
    return (
        f'<div xmlns="{_XHTML}">{lead}<p>Triage: <b>{html.escape(level)}</b>, urgency '
        f"<b>{html.escape(urgency)}</b>.</p><p>Why:</p><ul>{rules}</ul>"
        + (f"<p>Advice:</p><ul>{advice}</ul>" if advice else "")
        + f"<p>{html.escape(answer['disclaimer'])}</p></div>"
    )


def build_guidance(answer: Mapping[str, Any], subject: Any = None) -> dict[str, Any]:
    """The GuidanceResponse: data-required when unknown red flags need answers, else success."""
    needed = missing_data(answer)
    decision_id = answer["decision_id"]
    resource: dict[str, Any] = {
        "resourceType": "GuidanceResponse",
        "text": {"status": "generated", "div": _narrative(answer)},
        "contained": [_parameters(answer)],
        "requestIdentifier": {"system": DECISION_SYSTEM, "value": decision_id},
        "identifier": [{"system": DECISION_SYSTEM, "value": decision_id}],
        "moduleUri": MODULE_URL,
        "status": "data-required" if needed else "success",
    }
    if isinstance(subject, dict) and isinstance(subject.get("reference"), str):
        resource["subject"] = {"reference": subject["reference"]}
    resource["occurrenceDateTime"] = datetime.now(UTC).isoformat(timespec="seconds")
    resource["reasonCode"] = [
        {
            "coding": [{"system": RULES_SYSTEM, "code": e["rule_id"], "display": e["title"]}],
            "text": e["statement"],
        }
        for e in answer["rationale"]
    ]
    resource["outputParameters"] = {"reference": "#result"}
    if needed:
        # One requirement per question: an observation of that finding, coded by its linkId.
        # (mustSupport paths may not use where() in R4, so the finding is named by a code.)
        resource["dataRequirement"] = [
            {
                "type": "Observation",
                "codeFilter": [
                    {
                        "path": "code",
                        "code": [
                            {
                                "system": FINDINGS_SYSTEM,
                                "code": name,
                                "display": FINDINGS[name].label,
                            }
                        ],
                    }
                ],
            }
            for name in needed
        ]
    return resource
