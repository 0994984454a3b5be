"""Measure where an unknown number or choice gives less than a known answer would (clinical.md 1.3).

"Unknown never lowers" holds for yes/no answers (a property test proves it). For numbers and
choices an unknown can miss a rule that some known answer fires. This audit replays seeded
random intakes through the real triage, once with the finding unknown and once with each answer
worth trying, and counts per finding how often the unknown gives a lower (urgency, level), and
whether `follow_up` then lists the finding (it must, every time). Lower means a lower urgency or
a lower level than some known answer would give (the two are compared one by one).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from service.domain.assessor import Triage
from service.domain.facts import build_facts
from service.domain.findings import FINDINGS, Finding
from service.domain.intake_schema import UNKNOWN
from service.domain.intake_validator import validate_intake

SEED = 2027
INTAKES = 120
NUMBERS_UP_TO = 60  # every whole number up to this (and the maximum) is tried
# The findings that are not yes/no/unknown: numbers and choices (clinical.md section 2).
AUDITED = tuple(name for name, finding in FINDINGS.items() if finding.kind != "tri_state")


@dataclass
class FindingCounts:
    """One finding's counts over the audit."""

    trials: int = 0  # intakes in which the finding was made unknown
    lowered: int = 0  # ... and some known answer gave a higher urgency or a higher level
    listed: int = 0  # ... and follow_up listed the finding
    lost_rules: Counter[str] = field(default_factory=Counter)  # rules a known answer fires


def _random_answer(finding: Finding, rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.2:
        return None
    if finding.is_numeric:
        low, high = finding.bounds
        # Mostly small numbers, where the thresholds are; sometimes anywhere in range.
        return rng.randint(low, min(high, 60)) if roll < 0.9 else rng.randint(low, high)
    return rng.choice(finding.values)


def random_intake(rng: random.Random) -> dict[str, dict[str, Any]]:
    """An intake with every finding null or any allowed answer (mostly calm yes/no answers)."""
    intake: dict[str, dict[str, Any]] = {}
    for name, finding in FINDINGS.items():
        if finding.kind == "tri_state":
            # Mostly calm: one yes among many no answers is where a single answer matters.
            value: Any = rng.choices(["no", "yes", "unknown", None], [0.88, 0.05, 0.04, 0.03])[0]
        else:
            value = _random_answer(finding, rng)
        intake.setdefault(finding.group, {})[name] = value
    return intake


def _with(intake: dict[str, dict[str, Any]], name: str, value: Any) -> dict[str, dict[str, Any]]:
    changed = {group: dict(answers) for group, answers in intake.items()}
    changed[FINDINGS[name].group][name] = value
    return changed


def every_answer(name: str) -> tuple[Any, ...]:
    """Every answer of a choice; every number from the minimum to 60, and the maximum.

    Independent of the rules' thresholds (the follow-up planner's own probes use those), so the
    audit can catch a threshold the planner missed; no rule compares above 60 but age (< 65,
    advice only) and none reads age above 55 for the level.
    """
    finding = FINDINGS[name]
    if finding.is_numeric:
        low, high = finding.bounds
        upper = min(high, NUMBERS_UP_TO)
        return (*range(low, upper + 1), *((high,) if high > upper else ()))
    return tuple(value for value in finding.values if value != UNKNOWN)


def audit(
    triage: Triage,
    probes: Callable[[str], tuple[Any, ...]] = every_answer,
    intakes: int = INTAKES,
    seed: int = SEED,
) -> dict[str, FindingCounts]:
    """Counts per audited finding; `probes(name)` gives the known answers to try."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible sample, not a secret)
    counts = {name: FindingCounts() for name in AUDITED}

    for _ in range(intakes):
        facts = build_facts(validate_intake(random_intake(rng)))
        for name in AUDITED:
            unknown = {**facts, name: None if FINDINGS[name].is_numeric else UNKNOWN}
            base = triage.decide(unknown)
            base_fired = {rule.id for rule in base.rationale}
            entry = counts[name]
            entry.trials += 1
            lost: set[str] = set()
            lowered = False
            for value in probes(name):
                known = triage.decide({**unknown, name: value})
                lowered |= known.rank[0] > base.rank[0] or known.rank[1] > base.rank[1]
                lost |= {
                    rule.id
                    for rule in known.rationale
                    if not rule.informational and rule.id not in base_fired
                }
            entry.lost_rules.update(lost)
            if lowered:
                entry.lowered += 1
                follow_up = triage.answer("audit", unknown, base).follow_up
                entry.listed += any(item.finding == name for item in follow_up)
    return counts


def render_counts(counts: dict[str, FindingCounts], intakes: int = INTAKES) -> str:
    """The Markdown table committed in docs/clinical-questions.md."""
    lines = [
        f"Seeded audit (`python -m service.review unknowns`, seed {SEED}, {intakes} random "
        "intakes, each finding made unknown in each intake and compared with every allowed "
        f"answer, numbers 0 to {NUMBERS_UP_TO} and the maximum):",
        "",
        "| finding | intakes where unknown gives a lower urgency or level | of those, listed in "
        "`follow_up` | rules a known answer would add (intakes) |",
        "|---|---|---|---|",
    ]
    for name, entry in counts.items():
        rules = ", ".join(f"{rule} ({n})" for rule, n in sorted(entry.lost_rules.items())) or "—"
        lines.append(f"| `{name}` | {entry.lowered} of {entry.trials} | {entry.listed} | {rules} |")
    return "\n".join(lines) + "\n"
