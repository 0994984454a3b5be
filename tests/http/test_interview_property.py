"""The proven stop (issue 14 part 2), over HTTP with the real engine: hypothesis draws a patient,
the answers the client already sends, and how many questions it asks for at a time; the patient
answers what POST /v1/interview asks. At every step no answered question is asked again and the
interview ends within the form's question count; at `complete`, /v1/triage on the intake
completed in any way (any answer, "unknown" or null included, to every question not asked)
gives the interview's disposition, and at every `ask` step so do the fields listed as decided.

"Any way" is the full form's: a question asked only in some situations (clinical.md 2.2) is
left out when its situation does not hold on the completed answers, unless what the situation
reads was answered unknown (an unknown onset may be an injury: the interview asks those
questions then, as follow_up lists them).
"""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from service import create_app
from service.domain.facts import build_facts
from service.domain.findings import FINDINGS, Finding
from service.domain.intake_schema import UNKNOWN
from service.domain.interview import DISPOSITION
from tests.helpers import RED_FLAG_SCREEN

EXAMPLES = 300
APP = create_app()
RULESET = APP.extensions["triage"].ruleset
_ABSENT = object()


def _answer(finding: Finding) -> st.SearchStrategy[Any]:
    if finding.is_numeric:
        low, high = finding.bounds
        edges = sorted({low, high, min(low + 1, high), min(4, high), min(10, high)})
        return st.one_of(st.none(), st.sampled_from(edges), st.integers(low, high))
    return st.one_of(st.none(), st.sampled_from(finding.values))


# Built once: a strategy made afresh at every draw is validated afresh (most of the run's time).
ANSWERS = {name: _answer(finding) for name, finding in FINDINGS.items()}
ALREADY = st.sets(st.sampled_from(sorted(FINDINGS)), max_size=20)


@st.composite
def patients(draw: st.DrawFn) -> dict[str, Any]:
    """A patient's answer to every question (None: unknown), mostly calm on the danger signs so
    that interviews go past the emergencies, and what the client sends before the first call."""
    calm = draw(st.booleans())
    answers: dict[str, Any] = {}
    for name in FINDINGS:
        if calm and name in RED_FLAG_SCREEN and draw(st.integers(0, 9)) > 0:
            answers[name] = "no"
        else:
            answers[name] = draw(ANSWERS[name])
    already = draw(ALREADY)
    return {"answers": answers, "already": already}


def _intake(answers: dict[str, Any]) -> dict[str, dict[str, Any]]:
    intake: dict[str, dict[str, Any]] = {}
    for name, value in answers.items():
        intake.setdefault(FINDINGS[name].group, {})[name] = value
    return intake


def _unknown(value: Any) -> bool:
    return value is None or value == UNKNOWN


def completed(asked: dict[str, Any], fill: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The asked answers, every other question answered from `fill` (_ABSENT: left out), as
    the full form would send them (see the module docstring)."""
    answers = dict(asked)
    for name, value in fill.items():
        if name not in asked and value is not _ABSENT:
            answers[name] = value
    facts = build_facts(_intake(answers))
    for name, holds in RULESET.asked_when.items():
        reads = RULESET.asked_when_reads[name]
        if name not in asked and not holds(facts) and not any(_unknown(facts[r]) for r in reads):
            answers.pop(name, None)
    return _intake(answers)


def _disposition(answer: dict[str, Any]) -> dict[str, Any]:
    return {name: answer[name] for name in (*DISPOSITION, "escalation")}


def _post(client: FlaskClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer: dict[str, Any] = response.get_json()
    return answer


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    patients(),
    st.integers(1, 10),
    st.lists(
        st.fixed_dictionaries(
            {name: st.one_of(st.just(_ABSENT), _answer(f)) for name, f in FINDINGS.items()}
        ),
        min_size=2,
        max_size=2,
    ),
)
def test_the_stop_is_proven(
    patient: dict[str, Any], max_questions: int, fills: list[dict[str, Any]]
) -> None:
    """At `complete` any completion gives the interview's disposition; at each `ask` step the
    decided fields already equal the completion's; no question twice; within the form's count."""
    client = APP.test_client()
    answers = patient["answers"]
    asked = {name: answers[name] for name in patient["already"]}
    steps = 0
    while True:
        body = _post(client, "/v1/interview", {**_intake(asked), "max_questions": max_questions})
        assert body["progress"]["answered"] == len(asked)
        for fill in fills:
            full = _post(client, "/v1/triage", completed(asked, fill))
            for name in body["decided"]:
                assert body["answer"][name] == full[name], (name, body["status"])
            if body["status"] == "complete":
                assert _disposition(body["answer"]) == _disposition(full)
        if body["status"] == "complete":
            assert body["questions"] == []
            assert sorted(body["decided"]) == sorted(DISPOSITION)
            break
        assert 1 <= len(body["questions"]) <= max_questions
        assert len({q["why"]["group"] for q in body["questions"]}) == 1  # one group per step
        for question in body["questions"]:
            name = question["finding"]
            assert name not in asked, f"{name} asked again"
            asked[name] = answers[name]
        steps += 1
        assert len(asked) <= len(FINDINGS)
    assert steps <= len(FINDINGS)
