"""Three-valued evaluation with NOT_ASKED: exact on answered findings, sound on unasked ones."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.conditions import findings_of, parse
from service.domain.facts import build_facts
from service.domain.findings import FINDINGS, Finding
from service.domain.kleene import NOT_ASKED, NotAsked, evaluate, residual
from tests.helpers import shipped_ruleset

RULESET = shipped_ruleset()
RULES_WITH_CONDITIONS = [rule for rule in RULESET.rules if rule.when is not None]
_ABSENT = object()


def _answer(finding: Finding) -> st.SearchStrategy[Any]:
    if finding.is_numeric:
        low, high = finding.bounds
        return st.one_of(st.none(), st.integers(low, high))
    return st.one_of(st.none(), st.sampled_from(finding.values))


# Built once: a strategy made afresh at every draw is validated afresh (most of the run's time).
ANSWERS = {
    name: st.one_of(st.just(_ABSENT), _answer(finding)) for name, finding in FINDINGS.items()
}


@st.composite
def intakes(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    """Any valid intake: each finding absent, null or any allowed value."""
    intake: dict[str, dict[str, Any]] = {}
    for name, finding in FINDINGS.items():
        value = draw(ANSWERS[name])
        if value is not _ABSENT:
            intake.setdefault(finding.group, {})[name] = value
    return intake


def test_not_asked_is_one_value() -> None:
    """NOT_ASKED is a singleton that prints as its name."""
    assert NotAsked() is NOT_ASKED
    assert repr(NOT_ASKED) == "NOT_ASKED"


def test_kleene_connectives() -> None:
    """all/any/not over true, false and unknown follow Kleene's strong logic."""
    node = parse({"all": ["Y(fever)", {"any": ["Y(redness)", {"not": "Y(warmth)"}]}]})
    assert evaluate(node, {}) is None
    assert evaluate(node, {"fever": "no"}) is False  # false absorbs an all
    assert evaluate(node, {"fever": "yes", "redness": "yes"}) is True  # true absorbs an any
    assert evaluate(node, {"fever": "yes", "redness": "no", "warmth": "yes"}) is False
    assert evaluate(node, {"fever": "yes", "warmth": "no"}) is True
    # What is left undecided is simplified: only the findings that can still change it.
    assert findings_of(residual(node, {"fever": "yes", "redness": "no"})) == {"warmth"}  # type: ignore[arg-type]


def test_comparisons_with_not_asked_are_unknown() -> None:
    """A not-asked number may be any value or null: every comparison and null test is unknown."""
    for text in ("pain_nrs >= 7", "pain_nrs is null", "pain_nrs is not null", "pain_nrs != 3"):
        assert evaluate(parse(text), {"pain_nrs": NOT_ASKED}) is None
    assert evaluate(parse("pain_nrs >= 7"), {"pain_nrs": None}) is False  # known unknown
    assert evaluate(parse({"not": "pain_nrs >= 7"}), {"pain_nrs": None}) is True
    assert evaluate(parse("pain_nrs is null"), {"pain_nrs": None}) is True
    assert evaluate(parse("onset == unknown"), {"onset": "unknown"}) is True
    assert evaluate(parse("onset == unknown"), {"onset": NOT_ASKED}) is None


@settings(max_examples=300, deadline=None)
@given(intakes())
def test_kleene_equals_the_predicates_when_everything_is_asked(
    intake: dict[str, dict[str, Any]],
) -> None:
    """With every finding answered (absent read as the rules read it), Kleene evaluation gives
    exactly what the compiled predicates (and so the engine) give, rule by rule."""
    facts = build_facts(intake)
    for rule in RULES_WITH_CONDITIONS:
        assert rule.when is not None
        assert evaluate(rule.when, facts) is rule.predicate(facts), rule.id


@settings(max_examples=300, deadline=None)
@given(intakes(), intakes(), st.sets(st.sampled_from(sorted(FINDINGS))))
def test_a_decided_condition_holds_under_every_completion(
    partial: dict[str, dict[str, Any]],
    completion: dict[str, dict[str, Any]],
    unasked: set[str],
) -> None:
    """Soundness: a rule decided True (False) with some findings NOT_ASKED is true (false) once
    they are answered in any way, and only the findings of its residual can change it."""
    facts: dict[str, Any] = dict(build_facts(partial))
    completed = build_facts(completion)
    for name in unasked:
        facts[name] = NOT_ASKED
    filled = {
        name: completed[name] if value is NOT_ASKED else value for name, value in facts.items()
    }
    for rule in RULES_WITH_CONDITIONS:
        assert rule.when is not None
        value = residual(rule.when, facts)
        if isinstance(value, bool):
            assert rule.predicate(filled) is value, rule.id
        else:
            assert findings_of(value) <= unasked, rule.id
            assert evaluate(value, filled) is rule.predicate(filled), rule.id
