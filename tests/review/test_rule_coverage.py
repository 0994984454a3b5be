"""Every rule fires in a case of its own family and stays silent in a boundary case beside it."""

from __future__ import annotations

import pytest

from service.domain.ruleset import Ruleset
from service.review.coverage import own_family_coverage
from tests.helpers import rule_cases, shipped_ruleset

CASES = rule_cases()
RULESET = shipped_ruleset()


@pytest.mark.parametrize("rule", RULESET.rules, ids=[rule.id for rule in RULESET.rules])
def test_rule_fires_in_its_family_cases(rule: object) -> None:
    """Some case in the rule's own case file lists it as fired."""
    assert isinstance(rule, type(RULESET.default))
    assert own_family_coverage(rule, CASES).fired_in


@pytest.mark.parametrize("rule", RULESET.rules, ids=[rule.id for rule in RULESET.rules])
def test_rule_stays_silent_in_a_boundary_case(rule: object) -> None:
    """Some case in the rule's own case file lists it as not fired."""
    assert isinstance(rule, type(RULESET.default))
    assert own_family_coverage(rule, CASES).silent_in


def test_case_files_name_only_real_rules(ruleset: Ruleset) -> None:
    """A case cannot expect a rule id that does not exist (a typo would pass silently)."""
    ids = set(ruleset.by_id)
    for case in CASES:
        assert set(case.fired) | set(case.not_fired) <= ids, case.name


def test_default_rule_cannot_fire_on_a_valid_intake(ruleset: Ruleset) -> None:
    """DEF is the guarantee only: no case expects it (clinical.md 1.4.4), G1/SC2/SN8 cover all."""
    assert not any(ruleset.default.id in case.fired for case in CASES)
