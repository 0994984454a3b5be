"""Our code systems (answers, rules, findings, the five outcome ones) as R4 CodeSystems."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.domain.ruleset import SOURCE_LANGUAGE, Ruleset
from service.interop.fhir.common import CODE_SYSTEM_IDS, PUBLISHER, FhirUrls

Concept = dict[str, str]
_TITLES = {
    "answers": "Answers to the forefoot-triage questions",
    "rules": "Forefoot-triage rules",
    "findings": "Forefoot-triage findings (the Questionnaire's questions)",
    "outcome-level": "Triage level (care tier)",
    "outcome-urgency": "Triage urgency (how soon)",
    "outcome-escalation": "Triage escalation",
    "outcome-destination": "Triage destination (where to go)",
    "outcome-setting": "Triage setting (in person or not)",
}


def _concept(code: str, text: str, definition: str | None = None) -> Concept:
    concept = {"code": code, "display": text}
    if definition:
        concept["definition"] = definition
    return concept


def _concepts(ruleset: Ruleset) -> dict[str, list[Concept]]:
    """Each code system's concepts, read off the ruleset (worded in its language) and the
    question catalogue."""
    texts = ruleset.texts
    questions = ruleset.questions.values()
    answer_codes = dict.fromkeys(v for q in questions if not q.is_numeric for v in q.values)
    escalations = dict.fromkeys(r.escalation for r in ruleset.rules if r.escalation)
    return {
        "answers": [_concept(code, texts[f"choice.{code}"]) for code in answer_codes],
        "rules": [_concept(r.id, r.title, r.statement) for r in ruleset.rules],
        "findings": [_concept(q.name, q.label, q.help) for q in questions],
        "outcome-level": [_concept(code, texts[f"level.{code}"]) for code in ruleset.levels],
        "outcome-urgency": [
            _concept(code, texts[f"urgency.{code}"], texts.get(f"urgency_meaning.{code}"))
            for code in ruleset.urgencies
        ],
        "outcome-escalation": [_concept(code, texts[f"escalation.{code}"]) for code in escalations],
        "outcome-destination": [
            _concept(code, text) for code, text in ruleset.destinations.items()
        ],
        "outcome-setting": [
            _concept(code, texts[f"setting_display.{code}"], texts.get(f"setting_text.{code}"))
            for code in ruleset.settings
        ],
    }


def _name(code_system_id: str) -> str:
    """A computer-friendly name: ForefootTriageOutcomeLevel."""
    words = ["forefoot", "triage", *code_system_id.split("-")]
    return "".join(word.capitalize() for word in words)


def build_code_systems(ruleset: Ruleset, urls: FhirUrls, date: str) -> dict[str, dict[str, Any]]:
    """id -> CodeSystem (complete content), versioned with the ruleset."""
    concepts = _concepts(ruleset)
    return {
        code_system_id: {
            "resourceType": "CodeSystem",
            "id": code_system_id,
            "url": urls.code_system(code_system_id),
            "version": ruleset.version,
            "name": _name(code_system_id),
            "title": _TITLES[code_system_id],
            "status": "active",
            "date": date,
            "publisher": PUBLISHER,
            "caseSensitive": True,
            "content": "complete",
            "count": len(concepts[code_system_id]),
            "concept": concepts[code_system_id],
        }
        for code_system_id in CODE_SYSTEM_IDS
    }


def translated_code_systems(
    rulesets: Mapping[str, Ruleset], urls: FhirUrls, date: str
) -> dict[str, dict[str, dict[str, Any]]]:
    """language -> id -> CodeSystem: the English one (the source: its displays are what
    codings of ours show), each concept with a designation in that language (none in English)."""
    english = build_code_systems(rulesets[SOURCE_LANGUAGE], urls, date)
    built = {SOURCE_LANGUAGE: english}
    for language, ruleset in rulesets.items():
        if language == SOURCE_LANGUAGE:
            continue
        words = _concepts(ruleset)
        built[language] = {
            code_system_id: {
                **resource,
                "concept": [
                    {**concept, "designation": [{"language": language, "value": worded["display"]}]}
                    for concept, worded in zip(
                        resource["concept"], words[code_system_id], strict=True
                    )
                ],
            }
            for code_system_id, resource in english.items()
        }
    return built
