"""The typed result of one assessment: the decision, its reasons, advice and follow-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.domain.decision import Referral
from service.domain.records import fast_init
from service.domain.ruleset import Rule


@fast_init
@dataclass(frozen=True)
class Reason:
    """One fired rule of the rationale, with the findings that made its condition true."""

    rule: Rule
    matched: Mapping[str, Any]

    @property
    def rule_id(self) -> str:
        return self.rule.id

    @property
    def rule_version(self) -> int:
        return self.rule.version

    @property
    def family(self) -> str:
        return self.rule.family

    @property
    def title(self) -> str:
        return self.rule.title

    @property
    def statement(self) -> str:
        return self.rule.statement

    @property
    def level(self) -> str:
        return self.rule.level

    @property
    def urgency(self) -> str:
        return self.rule.urgency

    @property
    def destination(self) -> str:
        return self.rule.destination

    @property
    def setting(self) -> str:
        return self.rule.setting

    @property
    def informational(self) -> bool:
        return self.rule.informational

    @property
    def citations(self) -> tuple[str, ...]:
        return self.rule.citations


@fast_init
@dataclass(frozen=True)
class FollowUp:
    """An unanswered question whose answer could raise the result, and how far."""

    finding: str
    question: str
    could_raise_to: str
    could_raise_level: str
    rules: tuple[str, ...]


@fast_init
@dataclass(frozen=True)
class Assessment:
    """Everything one intake's answer says; each surface renders it in its own form."""

    decision_id: str
    level: str
    urgency: str
    escalation: str | None
    destination: str
    setting: str
    needs_clinician_review: bool
    referrals: tuple[Referral, ...]
    rationale: tuple[Reason, ...]
    advice: tuple[str, ...]
    follow_up: tuple[FollowUp, ...]
    citations: tuple[Mapping[str, Any], ...]  # the ruleset's citation entries, in order of use
    ruleset: Mapping[str, Any]  # the ruleset's identity: id, version, sha256, locales
    disclaimer: str
    destination_names: Mapping[str, str]  # destination code -> its name in `language`
    language: str = "en"  # the language of every text above; codes never change with it
    translation_status: str = "source"  # the review status of those texts (locale files)

    @property
    def fired(self) -> tuple[str, ...]:
        """The ids of the rationale's rules, in rank order."""
        return tuple(reason.rule_id for reason in self.rationale)
