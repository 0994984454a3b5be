"""Aggregate fired rules into one decision (clinical.md 1.2, aggregation v2): pure, no I/O."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter

from service.domain.records import fast_init
from service.domain.ruleset import Rule, Ruleset


@fast_init
@dataclass(frozen=True)
class Referral:
    """One indicated referral: a fired rule above self-care (clinical.md 1.2 step 9)."""

    rule_id: str
    level: str
    urgency: str
    destination: str


@fast_init
@dataclass(frozen=True)
class Decision:
    """The outcome of one evaluation and the rules behind it, in rank order."""

    level: str
    urgency: str
    escalation: str | None
    destination: str
    setting: str
    needs_clinician_review: bool
    rationale: tuple[Rule, ...]
    referrals: tuple[Referral, ...]
    rank: tuple[int, int]  # (urgency index, level index) of the answer


def order_rules(rules: Iterable[Rule]) -> list[Rule]:
    """Rank order (1.2 step 4): urgency, then level (highest first), destination, rule index."""
    return sorted(rules, key=_SORT_KEY)


_SORT_KEY = attrgetter("sort_key")
_SETTING = attrgetter("setting")
_NEEDS_REVIEW = attrgetter("needs_clinician_review")


@functools.lru_cache(maxsize=4096)  # a rule's referral never changes: one per rule object
def _referral(rule: Rule) -> Referral:
    """The referral a rule above self-care indicates (made once: building it per request cost
    more than finding it again)."""
    return Referral(rule.id, rule.level, rule.urgency, rule.destination)


def rank_of(
    urgencies: Sequence[str], levels: Sequence[str], urgency: str, level: str
) -> tuple[int, int]:
    """(urgency, level) indexes of a result: the order of results, urgency first, then level."""
    return urgencies.index(urgency), levels.index(level)


def outcome_rank(rules: Iterable[Rule]) -> tuple[int, int]:
    """(urgency, level) of an answer from these fired rules (1.2 steps 2-3).

    Urgency is the highest of all; level the highest of the rules that are not informational
    (the lowest level when only informational rules fired). Both are indexes, lowest first.
    """
    urgency, level = 0, 0
    for rule in rules:
        # Compared here, not by max(): a call to max() cost more than the whole step.
        rule_urgency, rule_level = rule.rank
        if rule_urgency > urgency:
            urgency = rule_urgency
        if rule_level > level and not rule.informational:
            level = rule_level
    return urgency, level


def decide(fired_ids: Iterable[str], ruleset: Ruleset) -> Decision:
    """The answer's outcome from the fired rule ids; no fired rule means the default rule.

    Destination (and escalation) come from the first rule in rank order, so urgency and
    destination always come from the same rule; the level may come from a less urgent rule,
    whose own destination is then among the referrals (1.2 step 5).
    """
    fired = set(fired_ids)
    by_id = ruleset.by_id  # order_rules gives the order: each rule's `order` is its own
    try:
        rules = [by_id[rule_id] for rule_id in fired] or [ruleset.default]
    except KeyError:  # pragma: no cover (the engine only knows ruleset ids)
        raise ValueError(f"fired ids not in the ruleset: {sorted(fired - by_id.keys())}") from None
    rationale = order_rules(rules)
    first = rationale[0]
    rank = outcome_rank(rationale)
    lowest_level = ruleset.levels[0]
    above_self_care = [rule for rule in rationale if rule.level != lowest_level]
    in_person = ruleset.settings[-1]
    return Decision(
        level=ruleset.levels[rank[1]],
        urgency=ruleset.urgencies[rank[0]],
        escalation=first.escalation,
        destination=first.destination,
        # Attributes read by attrgetter in C: a generator per question cost more.
        setting=in_person if in_person in map(_SETTING, above_self_care) else ruleset.settings[0],
        needs_clinician_review=any(map(_NEEDS_REVIEW, rationale)),
        rationale=tuple(rationale),
        referrals=tuple(map(_referral, above_self_care)),
        rank=rank,
    )
