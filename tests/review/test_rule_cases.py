"""Every case of rules/<family>_test.yaml, each its own test, through POST /v1/triage."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from service.domain.ruleset import Ruleset
from service.review.cases import Case
from tests.helpers import expectation_errors, rule_cases

CASES = rule_cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.family}: {c.name}" for c in CASES])
def test_rule_case(case: Case, client: FlaskClient, ruleset: Ruleset) -> None:
    """The case's intake gives its expected level and urgency and fires (or not) its rules."""
    response = client.post("/v1/triage", json=case.intake)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert not expectation_errors(case, body), expectation_errors(case, body)
    fired = [entry["rule_id"] for entry in body["rationale"]]
    keys = {key for rule_id in fired for key in ruleset.by_id[rule_id].citations}
    assert {c["key"] for c in body["citations"]} == keys


def test_cases_exist_for_every_family(ruleset: Ruleset) -> None:
    """Each family file has a case file beside it, and no case file lacks a family."""
    families = {rule.family for rule in (*ruleset.rules, ruleset.default)}
    assert {case.family for case in CASES} == families
