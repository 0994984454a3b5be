"""A triage answer as an R4 GuidanceResponse with its result in a contained Parameters."""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from service.domain.assessment import Assessment, Reason
from service.domain.decision import Referral
from service.domain.intake_schema import UNKNOWN
from service.domain.ruleset import STATUSES, AdvicePolicy, Ruleset
from service.domain.wording import Words
from service.interop.fhir.common import FhirUrls

_XHTML = "http://www.w3.org/1999/xhtml"
Destinations = Mapping[str, str]  # destination code -> display text (ruleset.destinations)
MACHINE_ASSISTED = STATUSES[0]  # a locale entry not yet signed off (service.domain.ruleset)


class Codes:
    """Codings of our code systems under one canonical base, displayed in one language."""

    def __init__(self, urls: FhirUrls, destinations: Destinations, words: Words) -> None:
        self.urls = urls
        self.destinations = destinations
        self.words = words

    def outcome(self, kind: str, code: str, text: str | None = None) -> dict[str, Any]:
        """A Coding of level, urgency or escalation: its display the code's name in `words`."""
        display = text if text is not None else self.words.code(kind, code)
        return {"system": self.urls.outcome(kind), "code": code, "display": display}

    def destination(self, code: str) -> dict[str, Any]:
        return self.outcome("destination", code, self.destinations[code])

    def setting(self, code: str) -> dict[str, Any]:
        """The setting's Coding, its display what it means ('Virtual (video or phone) suitable')."""
        return self.outcome("setting", code, self.words[f"setting_display.{code}"])

    def rule_id(self, rule_id: str, title: str) -> dict[str, Any]:
        return {"system": self.urls.rules, "code": rule_id, "display": title}


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


def _rule(entry: Reason, codes: Codes) -> dict[str, Any]:
    return {
        "name": "rule",
        "part": [
            {"name": "id", "valueCoding": codes.rule_id(entry.rule_id, entry.title)},
            {"name": "version", "valueInteger": entry.rule_version},
            {"name": "level", "valueCoding": codes.outcome("level", entry.level)},
            {"name": "urgency", "valueCoding": codes.outcome("urgency", entry.urgency)},
            {"name": "destination", "valueCoding": codes.destination(entry.destination)},
            {"name": "setting", "valueCoding": codes.setting(entry.setting)},
            {"name": "informational", "valueBoolean": entry.informational},
            {"name": "statement", "valueString": entry.statement},
            *({"name": "citation", "valueString": key} for key in entry.citations),
        ],
    }


def _referral(referral: Referral, titles: Mapping[str, str], codes: Codes) -> dict[str, Any]:
    """One indicated referral (clinical.md 1.2 step 9): rule, level, urgency, destination."""
    rule_id = referral.rule_id
    return {
        "name": "referral",
        "part": [
            {"name": "rule_id", "valueCoding": codes.rule_id(rule_id, titles[rule_id])},
            {"name": "level", "valueCoding": codes.outcome("level", referral.level)},
            {"name": "urgency", "valueCoding": codes.outcome("urgency", referral.urgency)},
            {"name": "destination", "valueCoding": codes.destination(referral.destination)},
        ],
    }


def _parameters(answer: Assessment, codes: Codes) -> dict[str, Any]:
    # Where to go leads (consumers route on it, clinical.md 1.2), then how soon and how.
    parameters: list[dict[str, Any]] = [
        {"name": "destination", "valueCoding": codes.destination(answer.destination)},
        {"name": "urgency", "valueCoding": codes.outcome("urgency", answer.urgency)},
        {"name": "setting", "valueCoding": codes.setting(answer.setting)},
    ]
    if answer.escalation:
        parameters.append(
            {"name": "escalation", "valueCoding": codes.outcome("escalation", answer.escalation)}
        )
    parameters += [
        {"name": "level", "valueCoding": codes.outcome("level", answer.level)},
        {"name": "needs_clinician_review", "valueBoolean": answer.needs_clinician_review},
    ]
    titles = {entry.rule_id: entry.title for entry in answer.rationale}
    parameters.extend(_referral(r, titles, codes) for r in answer.referrals)
    parameters.extend(_rule(entry, codes) for entry in answer.rationale)
    parameters.extend({"name": "advice", "valueString": text} for text in answer.advice)
    parameters.extend(
        {"name": "citation", "valueRelatedArtifact": _artifact(citation)}
        for citation in answer.citations
    )
    ruleset = answer.ruleset
    parameters.extend(
        [
            {"name": "ruleset_version", "valueString": ruleset["version"]},
            {"name": "ruleset_sha256", "valueString": ruleset["sha256"]},
            # The review status of the texts, as /v1's translation_status (source: English).
            {"name": "translation_status", "valueCode": answer.translation_status},
            {"name": "disclaimer", "valueString": answer.disclaimer},
        ]
    )
    return {"resourceType": "Parameters", "id": "result", "parameter": parameters}


def missing_data(answer: Assessment, screen_rule: str) -> list[str]:
    """Findings to ask next when the red-flag screen (the manifest's red_flag_screen) fired.

    G2 v3 fires only on an unknown danger sign, so when it fired the data really is missing: its
    unknown flags, after the answer's follow-up questions. Other unknowns (G1, G3) do not make
    the response data-required: their rules already give the result a call-back or a referral.
    """
    screen = next((e for e in answer.rationale if e.rule_id == screen_rule), None)
    if screen is None:
        return []
    unknown = [name for name, value in screen.matched.items() if value in (None, UNKNOWN)]
    if not unknown:
        return []
    follow_up = [entry.finding for entry in answer.follow_up]
    return list(dict.fromkeys([*follow_up, *unknown]))


def referral_lines(answer: Assessment, destinations: Destinations, words: Words) -> list[str]:
    """Each referral as text: 'X-ray and fracture clinic: urgent (UR1)'; [] when none."""
    return [
        f"{destinations[r.destination]}: {words.code('urgency', r.urgency).lower()} ({r.rule_id})"
        for r in answer.referrals
    ]


def _narrative(answer: Assessment, destinations: Destinations, words: Words) -> str:
    """Where to go and how soon lead (clinical.md 1.2), in person or not, referrals, level, why."""
    esc = html.escape
    urgency = answer.urgency
    lead = words.where_and_when(destinations[answer.destination], urgency)
    referrals = "".join(
        f"<li>{esc(line)}</li>" for line in referral_lines(answer, destinations, words)
    )
    rules = "".join(
        f"<li><b>{esc(e.rule_id)} {esc(e.title)}</b>: {esc(e.statement)}</li>"
        for e in answer.rationale
    )
    advice = "".join(f"<li>{esc(text)}</li>" for text in answer.advice)
    review = f"<p>{esc(words['report.review'])}</p>" if answer.needs_clinician_review else ""
    heading = {key: esc(words[f"report.{key}"]) for key in ("referrals", "why", "advice")}
    return (
        f'<div xmlns="{_XHTML}" lang="{esc(answer.language)}" xml:lang="{esc(answer.language)}">'
        f"<p><b>{esc(lead)}</b>.</p>"
        f"<p>{esc(words['report.how_soon'])}: <b>{esc(words.code('urgency', urgency))}</b>, "
        f"{esc(words[f'urgency_meaning.{urgency}'])}.</p>"
        f"<p>{esc(words[f'setting_text.{answer.setting}'])}</p>"
        + (
            f"<p>{heading['referrals']}:</p><ul>{referrals}</ul>"
            if referrals
            else f"<p>{esc(words['report.no_referral'])}</p>"
        )
        + f"<p>{esc(words['report.triage_level'])}: "
        f"<b>{esc(words.code('level', answer.level))}</b>.</p>{review}"
        f"<p>{heading['why']}:</p><ul>{rules}</ul>"
        + (f"<p>{heading['advice']}:</p><ul>{advice}</ul>" if advice else "")
        + f"<p>{esc(answer.disclaimer)}</p>{_translation_note(answer, words)}</div>"
    )


def translation_note(answer: Assessment, words: Words) -> str | None:
    """The sentence saying the answer's texts are a machine-assisted translation, in their
    language; None for English (the source) and for a translation signed off."""
    if answer.translation_status != MACHINE_ASSISTED:
        return None
    return words["report.machine_assisted"]


def _translation_note(answer: Assessment, words: Words) -> str:
    note = translation_note(answer, words)
    return f"<p><i>{html.escape(note)}</i></p>" if note else ""


def sends_today(answer: Assessment, policy: AdvicePolicy) -> bool:
    """A fired rule sends the patient somewhere today, other than to a call-back (7.8 A1)."""
    return any(
        entry.urgency in policy.today and entry.destination != policy.call_back_destination
        for entry in answer.rationale
    )


# DataRequirement.codeFilter.path: identifiers and resolve() only (R4), so the items of the
# Questionnaire a response answers (every question sits in a group) are named by their code.
ITEM_CODE_PATH = "questionnaire.resolve().item.item.code"


def build_guidance(
    answer: Assessment, ruleset: Ruleset, urls: FhirUrls, subject: Any = None
) -> dict[str, Any]:
    """The GuidanceResponse: data-required when unknown red flags need answers, else success.

    The ruleset, worded in the answer's language, gives every text (the destinations', the
    questions' wording, the headings) and the advice policy and red-flag screen. When a rule
    already sends the patient somewhere today, the answer is
    complete enough to act on: success, with the missing data still listed as requirements (an
    EHR may read data-required as "no result yet", and an emergency must not wait for it).
    """
    destinations = ruleset.destinations
    words = Words(ruleset.texts)
    codes = Codes(urls, destinations, words)
    needed = missing_data(answer, ruleset.red_flag_screen)
    final = sends_today(answer, ruleset.advice)
    decision_id = answer.decision_id
    resource: dict[str, Any] = {
        "resourceType": "GuidanceResponse",
        "language": answer.language,
        "text": {"status": "generated", "div": _narrative(answer, destinations, words)},
        "contained": [_parameters(answer, codes)],
        "requestIdentifier": {"system": urls.decision, "value": decision_id},
        "identifier": [{"system": urls.decision, "value": decision_id}],
        "moduleUri": urls.module,
        "status": "data-required" if needed and not final else "success",
    }
    if isinstance(subject, dict) and isinstance(subject.get("reference"), str):
        resource["subject"] = {"reference": subject["reference"]}
    resource["occurrenceDateTime"] = datetime.now(UTC).isoformat(timespec="seconds")
    resource["reasonCode"] = [
        {"coding": [codes.rule_id(e.rule_id, e.title)], "text": e.statement}
        for e in answer.rationale
    ]
    resource["outputParameters"] = {"reference": "#result"}
    if needed:
        # One requirement per question: a QuestionnaireResponse to our Questionnaire answering
        # the item with that code (what $triage takes), not an Observation.
        resource["dataRequirement"] = [
            {
                "type": "QuestionnaireResponse",
                "codeFilter": [
                    {
                        "path": ITEM_CODE_PATH,
                        "code": [
                            {
                                "system": urls.findings,
                                "code": name,
                                "display": ruleset.questions[name].label,
                            }
                        ],
                    }
                ],
            }
            for name in needed
        ]
    return resource
