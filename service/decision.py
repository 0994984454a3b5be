"""Aggregate fired rules into one decision (clinical.md 1.2): pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from service.ruleset import Rule, Ruleset


@dataclass(frozen=True)
class Decision:
    """The outcome of one evaluation and the rules behind it, most acute first."""

    level: str
    urgency: str
    escalation: str | None
    destination: str | None
    needs_clinician_review: bool
    rationale: tuple[Rule, ...]

    @property
    def rank(self) -> tuple[int, int]:
        return self.rationale[0].rank


def order_rules(rules: Iterable[Rule]) -> list[Rule]:
    """Most urgent first, then highest level; ties keep ruleset (file) order."""
    return sorted(rules, key=lambda rule: (-rule.rank[0], -rule.rank[1]))


def decide(fired_ids: Iterable[str], ruleset: Ruleset) -> Decision:
    """Urgency = highest among fired rules; level = highest among those at that urgency.

    No fired rule means the default rule. Among the deciding rules (those of the result's
    urgency and level), escalation is the first named; destination is the one listed first in
    the manifest, which orders destinations from the most specific service.
    """
    by_id = ruleset.by_id
    fired = {rule_id for rule_id in fired_ids}
    rules = [rule for rule in ruleset.rules if rule.id in fired] or [ruleset.default]
    rationale = order_rules(rules)
    top = rationale[0].rank
    deciding = [rule for rule in rationale if rule.rank == top]
    unknown = fired - by_id.keys()
    if unknown:  # pragma: no cover (the engine only knows ruleset ids)
        raise ValueError(f"fired ids not in the ruleset: {sorted(unknown)}")
    return Decision(
        level=rationale[0].level,
        urgency=rationale[0].urgency,
        escalation=next((r.escalation for r in deciding if r.escalation), None),
        destination=min(
            (r.destination for r in deciding if r.destination),
            key=list(ruleset.destinations).index,
            default=None,
        ),
        needs_clinician_review=any(rule.needs_clinician_review for rule in rationale),
        rationale=tuple(rationale),
    )
