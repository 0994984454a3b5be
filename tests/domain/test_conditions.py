"""The condition language: parsing, the vocabulary checks, and unknown-number semantics."""

from __future__ import annotations

from typing import Any

import pytest

from service.domain.conditions import (
    All,
    Any_,
    Compare,
    IsNull,
    Node,
    Not,
    findings_of,
    matched,
    parse,
    to_firing,
    to_predicate,
)
from service.domain.engine import to_durable
from service.domain.facts import Facts, build_facts
from service.domain.intake_validator import validate_intake
from service.domain.ruleset import Ruleset
from service.exceptions import ConditionError
from service.review.cases import load_cases
from tests.helpers import RULES, vignettes


def test_leaves_parse_as_written_in_clinical_md() -> None:
    """Y, YU, comparisons, null tests and lists."""
    assert parse("Y(fever)") == Compare("fever", "==", "yes")
    assert parse("YU(neuropathy)") == Compare("neuropathy", "!=", "no")
    assert parse("pain_nrs >= 7") == Compare("pain_nrs", ">=", 7)
    assert parse("steps_now is not null") == IsNull("steps_now", negated=True)
    assert parse("swelling in [localized, diffuse]") == Any_(
        (Compare("swelling", "==", "localized"), Compare("swelling", "==", "diffuse"))
    )
    assert parse({"all": ["Y(fever)", "Y(redness)"]}) == All(
        (Compare("fever", "==", "yes"), Compare("redness", "==", "yes"))
    )


@pytest.mark.parametrize(
    "tree",
    [
        "fever is null",  # words are never null: they are 'unknown'
        "pain_nrs == high",
        "pain_nrs >= -1",
        {"all": "Y(fever)"},
        {"all": ["Y(fever)"], "any": ["Y(redness)"]},
        ["Y(fever)"],
        "Y(fever",
        "YU(onset)",
    ],
)
def test_malformed_conditions_are_refused(tree: object) -> None:
    """Anything outside the grammar or the vocabulary is a ConditionError."""
    with pytest.raises(ConditionError):
        parse(tree)


@pytest.mark.parametrize(
    ("tree", "pain", "expected"),
    [
        ("pain_nrs >= 7", None, False),
        ("pain_nrs < 7", None, False),
        ("pain_nrs != 7", None, False),
        ({"not": "pain_nrs >= 7"}, None, True),
        ({"not": "pain_nrs >= 7"}, 7, False),
        ({"not": "pain_nrs >= 7"}, 6, True),
        ({"not": {"any": ["pain_nrs is null", "pain_nrs < 4"]}}, None, False),
        ({"not": {"any": ["pain_nrs is null", "pain_nrs < 4"]}}, 4, True),
    ],
)
def test_unknown_numbers_compare_false_and_negate_true(
    tree: object, pain: int | None, expected: bool
) -> None:
    """clinical.md 1.4.2: a comparison with an unknown number is false; its negation is true."""
    facts = build_facts({"symptoms": {"pain_nrs": pain}})
    assert to_predicate(parse(tree))(facts) is expected


def test_negation_is_pushed_to_the_leaves_for_durable() -> None:
    """not(pain >= 7) becomes (pain < 7 or pain unknown) in durable's dialect."""
    assert to_durable(parse({"not": "pain_nrs >= 7"})) == {
        "$or": [{"$lt": {"pain_nrs": 7}}, {"$nex": {"pain_nrs": 1}}]
    }
    assert to_durable(parse({"not": "Y(fever)"})) == {"$neq": {"fever": "yes"}}


def test_matched_names_the_findings_that_made_it_true() -> None:
    """Only the true branches of an any are reported."""
    node = parse({"any": ["Y(fever)", "Y(redness)", "pain_nrs >= 7"]})
    facts = build_facts({"symptoms": {"fever": "yes", "redness": "no", "pain_nrs": 8}})
    assert matched(node, facts) == {"fever": "yes", "pain_nrs": 8}


def test_one_compiled_firing_function_agrees_with_each_rule(ruleset: Ruleset) -> None:
    """The cross-check's single compiled function gives exactly the rules whose own predicate
    holds, on every rule case and vignette intake."""
    firing = to_firing([(rule.id, rule.when) for rule in ruleset.rules if rule.when is not None])
    cases = [*load_cases(RULES), *vignettes()]
    for case in cases:
        facts = build_facts(validate_intake(case.intake))
        assert firing(facts) == {rule.id for rule in ruleset.rules if rule.predicate(facts)}


def _reference_explanation(node: Node, facts: Facts) -> dict[str, Any]:
    """What `matched` means, written plainly: a leaf that holds names its finding; a `not` names
    every finding under it; all/any name what their true branches name, in order."""
    if isinstance(node, Compare | IsNull):
        return {node.finding: facts.get(node.finding)} if to_predicate(node)(facts) else {}
    if isinstance(node, Not):
        return {name: facts.get(name) for name in sorted(findings_of(node.child))}
    found: dict[str, Any] = {}
    for child in node.children:
        if to_predicate(child)(facts):
            found.update(_reference_explanation(child, facts))
    return found


def test_compiled_explanations_equal_the_plain_reading(ruleset: Ruleset) -> None:
    """Every rule's compiled explainer gives the plain reading's findings, values and order,
    on every rule case and vignette intake (where rules fire and where they do not)."""
    cases = [*load_cases(RULES), *vignettes()]
    rules = [rule for rule in ruleset.rules if rule.when is not None]
    compared = 0
    for case in cases:
        facts = build_facts(validate_intake(case.intake))
        for rule in rules:
            assert rule.when is not None
            if rule.predicate(facts):
                expected = _reference_explanation(rule.when, facts)
                got = rule.explain(facts)
                assert list(got.items()) == list(expected.items()), (case.name, rule.id)
                compared += 1
    assert compared > 500
