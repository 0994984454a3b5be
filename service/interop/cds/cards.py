"""A triage answer as one CDS Hooks 2.0 card: summary, indicator, source, detail and links."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from service.domain.assessment import Assessment
from service.domain.findings import FINDINGS
from service.domain.intake_schema import UNKNOWN
from service.domain.ruleset import Ruleset
from service.domain.wording import Words
from service.interop.fhir.guidance import Destinations, referral_lines, translation_note

SUMMARY_LIMIT = 139  # CDS Hooks: summary under 140 characters
_SERVICE_LABEL = "forefoot-triage"
TRANSLATION_EXTENSION = "forefoot-triage.translation"  # the card's extension member
INTERVIEW_PATH = "/interview"  # the web interview page (GET, the answers so far as its fields)


def _summary(answer: Assessment, destinations: Destinations, words: Words) -> str:
    """Where to go and how soon lead (clinical.md 1.2), then the deciding rule's title."""
    lead = words.where_and_when(destinations[answer.destination], answer.urgency)
    text = f"{lead}. {words['report.service']}: {answer.rationale[0].title}"
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1] + "…"


def _detail(answer: Assessment, destinations: Destinations, words: Words) -> str:
    urgency = answer.urgency
    lines = [
        f"**{words['report.where']}:** {destinations[answer.destination]}  ",
        f"**{words['report.how_soon']}:** {words.code('urgency', urgency)}, "
        f"{words[f'urgency_meaning.{urgency}']}  ",
        f"**{words[f'setting_text.{answer.setting}']}**",
    ]
    if answer.escalation:
        lines[-1] += "  "
        escalation = words.code("escalation", answer.escalation)
        lines.append(f"**{words['report.escalation']}:** {escalation}")
    lines += ["", f"### {words['report.referrals']}"]
    lines += [f"- {line}" for line in referral_lines(answer, destinations, words)] or [
        f"- {words['report.no_referral_above_self_care']}"
    ]
    lines += ["", f"**{words['report.level']}:** {words.code('level', answer.level)}"]
    if answer.needs_clinician_review:
        lines += ["", f"**{words['report.review']}**"]
    lines += ["", f"### {words['report.why']}"]
    lines += [f"- **{e.rule_id} {e.title}**: {e.statement}" for e in answer.rationale]
    if answer.advice:
        lines += ["", f"### {words['report.advice']}"] + [f"- {text}" for text in answer.advice]
    if answer.follow_up:
        lines += ["", f"### {words['report.still_worth_asking']}"]
        lines += [f"- {entry.question}" for entry in answer.follow_up]
    lines += ["", f"_{answer.disclaimer}_", ""]
    if note := translation_note(answer, words):
        lines += [f"_{note}_", ""]
    lines += [f"{words['report.decision_id']}: `{answer.decision_id}`"]
    return "\n".join(lines)


def _source(answer: Assessment, ruleset_version: str, public_url: str | None) -> dict[str, Any]:
    """The service itself: its name, the ruleset version, the deciding rule's catalogue page."""
    label = f"{_SERVICE_LABEL} (ruleset {ruleset_version})" if ruleset_version else _SERVICE_LABEL
    source: dict[str, Any] = {"label": label}
    if public_url:  # a card's URLs must be absolute: without TRIAGE_PUBLIC_URL there is none
        source["url"] = f"{public_url}/rules/{quote(answer.rationale[0].rule_id, safe='')}"
    return source


def interview_url(public_url: str, intake: Mapping[str, Mapping[str, Any]]) -> str:
    """The web interview with the answers so far as its form fields (finding=value, catalogue
    order); a question answered unknown, or asked and left blank, is 'unknown'."""
    answers: list[tuple[str, str]] = []
    for name, finding in FINDINGS.items():
        given = intake.get(finding.group) or {}
        if name in given:
            answers.append((name, UNKNOWN if given[name] is None else str(given[name])))
    query = urlencode(answers)
    return f"{public_url}{INTERVIEW_PATH}" + (f"?{query}" if query else "")


def _links(
    answer: Assessment,
    words: Words,
    public_url: str | None,
    smart_url: str | None,
    interview: Mapping[str, Mapping[str, Any]] | None,
) -> list[dict[str, Any]]:
    """Every citation with a URL, then (questions left unanswered) the web interview with the
    answers so far where there is one, else the intake form: absolute, and as a SMART app
    launch where one is configured."""
    links = [
        {"label": citation["title"], "url": citation["url"], "type": "absolute"}
        for citation in answer.citations
        if citation.get("url")
    ]
    if public_url and answer.follow_up and interview is not None:
        url = interview_url(public_url, interview)
        links.append({"label": words["cds.link.interview"], "url": url, "type": "absolute"})
    elif public_url and answer.follow_up:
        label = words["cds.link.intake"]
        links.append({"label": label, "url": f"{public_url}/", "type": "absolute"})
    if smart_url and answer.follow_up:
        links.append({"label": words["cds.link.smart"], "url": smart_url, "type": "smart"})
    return links


def build_card(
    answer: Assessment,
    ruleset: Ruleset,
    public_url: str | None = None,
    smart_url: str | None = None,
    interview: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The card for one answer: the service is the source, the citations and the form are links.

    The ruleset (worded in the answer's language) gives every text, each urgency's card
    indicator and its version;
    public_url: TRIAGE_PUBLIC_URL, the base of the absolute links (none without it);
    smart_url: TRIAGE_CDS_SMART_LAUNCH_URL, the SMART launch URL of an intake app (or none);
    interview: the answers so far (a validated intake) when the server has the web interview:
    the link to finish the questions then opens it with them, instead of the empty form.
    """
    destinations = ruleset.destinations
    words = Words(ruleset.texts)
    return {
        "uuid": str(uuid.uuid4()),
        "summary": _summary(answer, destinations, words),
        "indicator": ruleset.card_indicators[answer.urgency],
        "detail": _detail(answer, destinations, words),
        "source": _source(answer, ruleset.version, public_url),
        "links": _links(answer, words, public_url, smart_url, interview),
        # CDS Hooks 2.0 reserves `extension` for this: the card's language and the review
        # status of its texts, as /v1 answers carry them (machine_assisted until signed off).
        "extension": {
            TRANSLATION_EXTENSION: {
                "language": answer.language,
                "translation_status": answer.translation_status,
            }
        },
    }
