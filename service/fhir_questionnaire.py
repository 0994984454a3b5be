"""The R4 Questionnaire generated from the question catalogue (FINDINGS)."""

from __future__ import annotations

from typing import Any

from service.fhir_common import (
    ANSWERS_SYSTEM,
    MAX_VALUE,
    MIN_VALUE,
    QUESTIONNAIRE_URL,
    display,
)
from service.findings import FINDINGS, INJURY_ONLY, Finding
from service.schemas import GROUPS

_GROUP_TEXT = {"patient": "Patient", "history": "History", "symptoms": "Symptoms"}
_ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"


def _coding(code: str) -> dict[str, str]:
    return {"system": ANSWERS_SYSTEM, "code": code, "display": display(code)}


def _help(finding: Finding) -> dict[str, Any]:
    """The help text as a display item shown on demand (SDC itemControl 'help')."""
    return {
        "linkId": f"{finding.name}.help",
        "text": finding.help,
        "type": "display",
        "extension": [
            {
                "url": _ITEM_CONTROL,
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://hl7.org/fhir/questionnaire-item-control",
                            "code": "help",
                            "display": "Help-Button",
                        }
                    ]
                },
            }
        ],
    }


def _question(finding: Finding) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": finding.name, "text": finding.label}
    if finding.is_numeric:
        low, high = finding.bounds
        item["type"] = "integer"
        item["extension"] = [
            {"url": MIN_VALUE, "valueInteger": low},
            {"url": MAX_VALUE, "valueInteger": high},
        ]
    else:
        item["type"] = "choice"
        item["answerOption"] = [{"valueCoding": _coding(value)} for value in finding.values]
    if finding.name in INJURY_ONLY:
        item["enableWhen"] = [
            {"question": "onset", "operator": "=", "answerCoding": _coding("injury")}
        ]
    item["item"] = [_help(finding)]
    return item


def build_questionnaire(version: str) -> dict[str, Any]:
    """The Questionnaire for a ruleset version: one group per intake group, linkId = finding."""
    return {
        "resourceType": "Questionnaire",
        "id": "forefoot-triage",
        "url": QUESTIONNAIRE_URL,
        "version": version,
        "name": "ForefootTriage",
        "title": "Forefoot (ball-of-foot) pain triage",
        "status": "active",
        "subjectType": ["Patient"],
        "description": (
            "The intake of the forefoot-triage service. Answer what you can: an item left out, "
            "or answered with the data-absent-reason extension, is unknown, and unknown never "
            "lowers a result."
        ),
        "item": [
            {
                "linkId": group,
                "text": _GROUP_TEXT[group],
                "type": "group",
                "item": [
                    _question(finding) for finding in FINDINGS.values() if finding.group == group
                ],
            }
            for group in GROUPS
        ],
    }
