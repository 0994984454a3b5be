"""Rule coverage: in how many cases a rule is expected to fire, and to stay silent."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from service.domain.ruleset import Rule
from service.review.cases import Case


@dataclass(frozen=True)
class Coverage:
    """A rule's cases: expected to fire in `fired_in`, expected silent in `silent_in`."""

    fired_in: int
    silent_in: int

    @property
    def covered(self) -> bool:
        """A rule is covered when some case fires it and some boundary case keeps it silent."""
        return bool(self.fired_in and self.silent_in)


def coverage(rule: Rule, cases: Iterable[Case]) -> Coverage:
    """Count the cases that expect the rule fired, and those that expect it silent."""
    fired_in = silent_in = 0
    for case in cases:
        fired_in += rule.id in case.fired
        silent_in += rule.id in case.not_fired
    return Coverage(fired_in, silent_in)


def own_family_coverage(rule: Rule, cases: Iterable[Case]) -> Coverage:
    """Coverage by the cases of the rule's own family file (rules/<family>_test.yaml)."""
    return coverage(rule, (case for case in cases if case.family == rule.family))
