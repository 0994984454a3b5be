"""The fast validation path accepts exactly what the Marshmallow schema accepts, identically."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from service.domain.facts import build_facts
from service.domain.findings import FINDINGS
from service.domain.intake_schema import TriageRequestSchema
from service.domain.intake_validator import IntakeValidator

VALIDATOR = IntakeValidator()
SCHEMA = TriageRequestSchema()
NAMES = sorted(FINDINGS)

# Values near every edge: allowed words, other words, bounds, one past them, wrong types.
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 125),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["yes", "no", "unknown", "Yes", "", "injury", "none", "rigid", "midfoot"]),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _valid_value(name: str) -> st.SearchStrategy[Any]:
    finding = FINDINGS[name]
    if finding.is_numeric:
        low, high = finding.bounds
        return st.one_of(st.none(), st.integers(low, high))
    return st.one_of(st.none(), st.sampled_from(finding.values))


# Built once: a strategy made afresh at every draw is validated afresh (most of the run's time).
VALID = {name: _valid_value(name) for name in NAMES}
NOT_A_MAPPING = st.one_of(st.none(), st.lists(st.integers()), st.text(), st.integers())
SOME_NAMES = st.lists(st.sampled_from(NAMES), max_size=12, unique=True)
ANY_GROUP = st.sampled_from(["patient", "history", "symptoms", "vitals"])
MISSPELT = st.sampled_from(["fevr", "Fever", "x"])
OPEN_GROUP = st.sampled_from(["symptoms", "history"])


@st.composite
def bodies(draw: st.DrawFn) -> Any:
    """Mostly plausible intakes with a few wrong keys, groups, types and values mixed in."""
    if draw(st.integers(0, 20)) == 0:
        return draw(NOT_A_MAPPING)
    body: dict[str, Any] = {}
    for name in draw(SOME_NAMES):
        group = FINDINGS[name].group
        if draw(st.integers(0, 30)) == 0:
            group = draw(ANY_GROUP)
        value = draw(ODD) if draw(st.integers(0, 8)) == 0 else draw(VALID[name])
        body.setdefault(group, {})[name] = value
    if draw(st.integers(0, 15)) == 0:
        body.setdefault("symptoms", {})[draw(MISSPELT)] = "yes"
    if draw(st.integers(0, 25)) == 0:
        body[draw(OPEN_GROUP)] = draw(ODD)
    return body


def _outcome(load: Any, body: Any) -> tuple[str, Any]:
    try:
        return "ok", load(body)
    except ValidationError as error:
        return "invalid", error.messages


@settings(max_examples=3000, deadline=None)
@given(body=bodies())
def test_fast_path_agrees_with_marshmallow(body: Any) -> None:
    """Same acceptance, same loaded intake, same error messages, for any body."""
    assert _outcome(VALIDATOR.load, body) == _outcome(SCHEMA.load, body)


def test_fast_path_takes_the_valid_intakes() -> None:
    """A complete valid intake does not go through Marshmallow at all."""
    body = {"symptoms": {name: None for name in NAMES if FINDINGS[name].group == "symptoms"}}
    body["patient"] = {"age_years": 40}
    assert VALIDATOR._fast(body) == body


def test_booleans_are_not_numbers_on_either_path() -> None:
    """true for a number is invalid, as Marshmallow's strict Integer says."""
    assert VALIDATOR._fast({"symptoms": {"pain_nrs": True}}) is None
    assert _outcome(VALIDATOR.load, {"symptoms": {"pain_nrs": True}})[0] == "invalid"


def _facts_plainly(intake: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The facts as clinical.md 1.3 reads: each finding's answer; unanswered or null is
    'unknown', or None for a number; in the catalogue's order."""
    facts: dict[str, Any] = {}
    for name, finding in FINDINGS.items():
        value = (intake.get(finding.group) or {}).get(name)
        facts[name] = "unknown" if value is None and not finding.is_numeric else value
    return facts


@settings(max_examples=600, deadline=None)
@given(body=bodies())
def test_facts_are_each_answer_or_unknown(body: Any) -> None:
    """build_facts gives the plain reading (values and order) for every intake that validates."""
    outcome, intake = _outcome(VALIDATOR.load, body)
    if outcome == "ok":
        facts = build_facts(intake)
        assert list(facts.items()) == list(_facts_plainly(intake).items())
