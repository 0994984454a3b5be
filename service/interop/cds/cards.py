"""A triage answer as one CDS Hooks 2.0 card (summary, indicator, source, detail, links)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from service.domain.assessment import Assessment
from service.domain.ruleset import Ruleset
from service.domain.wording import SETTING_TEXT, URGENCY_MEANING, display, where_and_when
from service.interop.fhir.guidance import Destinations, referral_lines

SUMMARY_LIMIT = 139  # CDS Hooks: summary under 140 characters
_SERVICE_LABEL = "forefoot-triage"


def _summary(answer: Assessment, destinations: Destinations) -> str:
    """Where to go and how soon lead (clinical.md 1.2), then the deciding rule's title."""
    lead = where_and_when(destinations[answer.destination], answer.urgency)
    text = f"{lead}. Forefoot triage: {answer.rationale[0].title}"
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1] + "…"


def _detail(answer: Assessment, destinations: Destinations) -> str:
    urgency = answer.urgency
    lines = [
        f"**Where:** {destinations[answer.destination]}  ",
        f"**How soon:** {display(urgency)}, {URGENCY_MEANING[urgency]}  ",
        f"**{SETTING_TEXT[answer.setting]}**",
    ]
    if answer.escalation:
        lines[-1] += "  "
        lines.append(f"**Escalation:** {display(answer.escalation)}")
    lines += ["", "### Referrals"]
    lines += [f"- {line}" for line in referral_lines(answer, destinations)] or [
        "- None (no rule above self-care fired)"
    ]
    lines += ["", f"**Level:** {display(answer.level)}"]
    if answer.needs_clinician_review:
        lines += ["", "**A clinician should review these answers.**"]
    lines += ["", "### Why"]
    lines += [f"- **{e.rule_id} {e.title}**: {e.statement}" for e in answer.rationale]
    if answer.advice:
        lines += ["", "### Advice"] + [f"- {text}" for text in answer.advice]
    if answer.follow_up:
        lines += ["", "### Still worth asking"]
        lines += [f"- {entry.question}" for entry in answer.follow_up]
    lines += ["", f"_{answer.disclaimer}_", "", f"Decision id: `{answer.decision_id}`"]
    return "\n".join(lines)


def _source(citation: Mapping[str, Any] | None) -> dict[str, Any]:
    if citation is None:  # pragma: no cover (every answer has at least one citation)
        return {"label": _SERVICE_LABEL}
    source: dict[str, Any] = {"label": citation["title"]}
    if citation.get("url"):
        source["url"] = citation["url"]
    return source


def build_card(answer: Assessment, ruleset: Ruleset) -> dict[str, Any]:
    """The card for one answer: the leading citation is the source, the others are links.

    The ruleset gives each destination's text and each urgency's card indicator.
    """
    destinations = ruleset.destinations
    citations = list(answer.citations)
    return {
        "uuid": str(uuid.uuid4()),
        "summary": _summary(answer, destinations),
        "indicator": ruleset.card_indicators[answer.urgency],
        "detail": _detail(answer, destinations),
        "source": _source(citations[0] if citations else None),
        "links": [
            {"label": citation["title"], "url": citation["url"], "type": "absolute"}
            for citation in citations[1:]
            if citation.get("url")
        ],
    }
