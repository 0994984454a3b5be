"""Replay case suites through the real assessor: what each case got, against what it expects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.domain.assessor import Triage
from service.domain.decision import rank_of
from service.domain.intake_validator import validate_intake
from service.domain.ruleset import Ruleset
from service.review.cases import Case


@dataclass(frozen=True)
class Replay:
    """One case and what the ruleset answered for it."""

    case: Case
    level: str
    urgency: str
    fired: tuple[str, ...]
    destination: str = ""
    setting: str = ""
    needs_clinician_review: bool = False

    def expectation_errors(self) -> list[str]:
        """What differs from the case's expectations (empty when it passes)."""
        errors = []
        if (self.level, self.urgency) != (self.case.level, self.case.urgency):
            errors.append(
                f"expected {self.case.level}/{self.case.urgency}, got {self.level}/{self.urgency}"
            )
        if missing := sorted(set(self.case.fired) - set(self.fired)):
            errors.append(f"did not fire {missing}")
        if unwanted := sorted(set(self.case.not_fired) & set(self.fired)):
            errors.append(f"fired {unwanted}, expected silent")
        for name in ("destination", "setting", "needs_clinician_review"):
            want, got = getattr(self.case, name), getattr(self, name)
            if want is not None and want != got:
                errors.append(f"expected {name} {want}, got {got}")
        return errors


def replay(triage: Triage, cases: Sequence[Case]) -> list[Replay]:
    """Each case's intake, validated as the API does, through the engine and the decision."""
    results = []
    for case in cases:
        answer = triage.assess(validate_intake(case.intake), decision_id="replay")
        results.append(
            Replay(
                case,
                answer.level,
                answer.urgency,
                answer.fired,
                answer.destination,
                answer.setting,
                answer.needs_clinician_review,
            )
        )
    return results


def triage_error(ruleset: Ruleset, result: Replay) -> int:
    """-1 under-triage, 0 as expected, 1 over-triage."""
    got = rank_of(ruleset.urgencies, ruleset.levels, result.urgency, result.level)
    want = rank_of(ruleset.urgencies, ruleset.levels, result.case.urgency, result.case.level)
    return (got > want) - (got < want)
