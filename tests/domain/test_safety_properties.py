"""Safety properties over the whole input space (hypothesis), through the real engine."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.assessor import Triage
from service.domain.findings import FINDINGS, Finding
from service.domain.intake_schema import TriageRequestSchema
from service.domain.ruleset import Ruleset
from service.http.answer import assessment_to_wire
from service.review.unknown_audit import audit, render_counts
from tests.helpers import RED_FLAG_SCREEN, ROOT, shipped_ruleset

# Every test here replays many intakes: left out of `make test-fast`.
pytestmark = pytest.mark.property

EXAMPLES = 400
SCHEMA = TriageRequestSchema()
# clinical.md 1.3: the danger signs, whose yes must never weigh less than their unknown.
RED_FLAGS = (
    *RED_FLAG_SCREEN,
    "open_wound_at_injury",
    "plantar_bruising",
    "visible_deformity",
    "pain_out_of_proportion",
    "calf_or_leg_swelling",
    "wound_pus_or_odour",
)
# "Unknown never lowers" is promised for yes/no answers (all 49 findings' tri-states).
NO = {name: "no" for name, finding in FINDINGS.items() if finding.kind == "tri_state"}
_ABSENT = object()


def _answer(finding: Finding) -> st.SearchStrategy[Any]:
    if finding.is_numeric:
        low, high = finding.bounds
        values: st.SearchStrategy[Any] = st.integers(low, high)
    else:
        values = st.sampled_from(finding.values)
    return st.one_of(st.just(_ABSENT), st.none(), values)


# Built once: a strategy made afresh at every draw is validated afresh (most of the run's time).
ANSWERS = {name: _answer(finding) for name, finding in FINDINGS.items()}


@st.composite
def intakes(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    """Any valid intake: each finding absent, null or any allowed value.

    Half the intakes have every red flag but one answered no: the nearly calm patient around
    whom a single changed answer matters most. The other half are unconstrained.
    """
    intake: dict[str, dict[str, Any]] = {}
    screen_clear = draw(st.booleans())
    open_flag = draw(st.sampled_from(RED_FLAGS))
    for name, finding in FINDINGS.items():
        calm = screen_clear and name in RED_FLAGS and name != open_flag
        value = "no" if calm else draw(ANSWERS[name])
        if value is not _ABSENT:
            intake.setdefault(finding.group, {})[name] = value
    return intake


# Module-level, not fixtures: hypothesis would print a fixture's whole dataclass on failure.
TRIAGE = Triage(shipped_ruleset())
RULESET = TRIAGE.ruleset


def _assess(triage: Triage, intake: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return assessment_to_wire(triage.assess(SCHEMA.load(intake), decision_id="property"))


def _rank(ruleset: Ruleset, answer: dict[str, Any]) -> tuple[int, int]:
    return ruleset.urgencies.index(answer["urgency"]), ruleset.levels.index(answer["level"])


def _rank_of(triage: Triage, intake: dict[str, dict[str, Any]]) -> tuple[int, int]:
    return _rank(triage.ruleset, _assess(TRIAGE, intake))


def _with(intake: dict[str, dict[str, Any]], name: str, value: Any) -> dict[str, dict[str, Any]]:
    changed = {group: dict(answers) for group, answers in intake.items()}
    group = changed.setdefault(FINDINGS[name].group, {})
    if value is _ABSENT:
        group.pop(name, None)
    else:
        group[name] = value
    return changed


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    intake=intakes(),
    names=st.lists(st.sampled_from(sorted(NO)), min_size=1, max_size=6, unique=True),
    replacement=st.sampled_from(["unknown", None, _ABSENT]),
)
def test_unknown_instead_of_no_never_lowers(
    intake: dict[str, dict[str, Any]],
    names: list[str],
    replacement: Any,
) -> None:
    """Answers of no replaced by unknown, null or nothing never lower (urgency, level)."""
    answered_no = intake
    for name in names:
        answered_no = _with(answered_no, name, NO[name])
    unknown = answered_no
    for name in names:
        unknown = _with(unknown, name, replacement)
    lowered_to, answered = _rank_of(TRIAGE, unknown), _rank_of(TRIAGE, answered_no)
    # Neither the urgency nor the level falls (stronger than the pair's order of 1.3).
    assert lowered_to[0] >= answered[0]
    assert lowered_to[1] >= answered[1]


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    intake=intakes(),
    sign=st.sampled_from(RED_FLAGS),
    unknown=st.sampled_from(["unknown", None, _ABSENT]),
)
def test_yes_instead_of_unknown_on_a_danger_sign_never_lowers(
    intake: dict[str, dict[str, Any]], sign: str, unknown: Any
) -> None:
    """A danger sign answered yes where it was unknown (or left out) never lowers the result."""
    before = _rank_of(TRIAGE, _with(intake, sign, unknown))
    after = _rank_of(TRIAGE, _with(intake, sign, "yes"))
    assert after[0] >= before[0]
    assert after[1] >= before[1]


@settings(max_examples=EXAMPLES, deadline=None)
@given(intake=intakes(), flag=st.sampled_from(RED_FLAGS))
def test_adding_a_red_flag_never_lowers(intake: dict[str, dict[str, Any]], flag: str) -> None:
    """A red flag answered yes, in place of whatever it was, never lowers the result."""
    before = _rank_of(TRIAGE, intake)
    after = _rank_of(TRIAGE, _with(intake, flag, "yes"))
    assert after[0] >= before[0]
    assert after[1] >= before[1]


@settings(max_examples=EXAMPLES, deadline=None)
@given(intake=intakes())
def test_same_input_same_answer(intake: dict[str, dict[str, Any]]) -> None:
    """Deterministic: the same intake gives the same answer, rationale and digest."""
    first, second = _assess(TRIAGE, intake), _assess(TRIAGE, intake)
    same = first == second
    assert same
    assert first["ruleset"]["sha256"] == RULESET.sha256


@settings(max_examples=EXAMPLES, deadline=None)
@given(intake=intakes())
def test_every_answer_has_a_cited_reason(intake: dict[str, dict[str, Any]]) -> None:
    """At least one rationale entry, each with citations that resolve in the registry."""
    answer = _assess(TRIAGE, intake)
    assert answer["rationale"]
    for entry in answer["rationale"]:
        assert entry["citations"]
        assert set(entry["citations"]) <= set(RULESET.citations)
    assert {c["key"] for c in answer["citations"]} == {
        key for entry in answer["rationale"] for key in entry["citations"]
    }


@settings(max_examples=EXAMPLES, deadline=None)
@given(intake=intakes())
def test_follow_up_never_names_an_answered_finding(intake: dict[str, dict[str, Any]]) -> None:
    """follow_up asks only what is unknown, and only what would raise the result (or add a
    clinician's review)."""
    answer = _assess(TRIAGE, intake)
    answered = {
        name
        for answers in intake.values()
        for name, value in answers.items()
        if value is not None and value != "unknown"
    }
    current = _rank(RULESET, answer)
    for item in answer["follow_up"]:
        assert item["finding"] not in answered
        raised = (
            RULESET.urgencies.index(item["could_raise_to"]),
            RULESET.levels.index(item["could_raise_level"]),
        )
        # A higher urgency or level, or the same with a clinician's review the answer does not
        # have yet (PED1).
        assert (
            raised[0] > current[0]
            or raised[1] > current[1]
            or (
                raised == current
                and not answer["needs_clinician_review"]
                and all(RULESET.by_id[rule].needs_clinician_review for rule in item["rules"])
            )
        )


def test_every_unknown_that_could_raise_is_in_follow_up() -> None:
    """Numbers and choices: where an unknown gives less than some answer would, follow_up lists
    it, in every audited intake; the counts per finding are the ones committed for sign-off."""
    counts = audit(TRIAGE)
    for name, entry in counts.items():
        assert entry.listed == entry.lowered, name
    assert sum(entry.lowered for entry in counts.values()) > 0  # the audit does find some
    committed = (ROOT / "docs" / "clinical-questions.md").read_text(encoding="utf-8")
    assert render_counts(counts) in committed, "run: python -m service.review unknowns"
