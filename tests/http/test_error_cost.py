"""Errors cost no more than answers: a 422 is bounded in length and in work (behaviour only).

The timing itself is a benchmark (bench/error_cost.py), never a unit test: here, that a 422
lists at most MAX_ERRORS errors and says how many more there were, that "did you mean" hints
are looked for for at most MAX_HINTS unknown keys, that the messages listed are Marshmallow's,
and that a batch's invalid intakes are bounded the same way.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from marshmallow import ValidationError

from bench.error_cost import invalid_intake
from service.domain.findings import FINDINGS
from service.domain.intake_schema import GROUPS, TriageRequestSchema
from service.domain.intake_validator import MAX_ERRORS, IntakeInvalid, IntakeValidator
from service.http import problems as errors
from service.http.problems import MAX_HINTS, close_match
from tests.helpers.fhir import ANSWERS_SYSTEM, QUESTIONNAIRE_URL

VOCABULARY = frozenset(GROUPS) | frozenset(FINDINGS)
WRONG = {name: ("x" if not finding.is_numeric else -1) for name, finding in FINDINGS.items()}


def _every_finding_wrong() -> dict[str, dict[str, Any]]:
    body: dict[str, dict[str, Any]] = {}
    for name, value in WRONG.items():
        body.setdefault(FINDINGS[name].group, {})[name] = value
    return body


def _leaves(messages: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Marshmallow's nested messages as {(group, key): messages}."""
    if not isinstance(messages, dict):
        return {path: messages}
    found: dict[tuple[str, ...], Any] = {}
    for key, value in messages.items():
        found.update(_leaves(value, (*path, key)))
    return found


def test_at_most_max_errors_are_listed_and_the_rest_counted(client: FlaskClient) -> None:
    """Every finding wrong: MAX_ERRORS listed, errors_omitted the rest, the detail says so."""
    assert MAX_ERRORS == 20
    response = client.post("/v1/triage", json=_every_finding_wrong())
    assert response.status_code == 422
    problem = response.get_json()
    assert len(problem["errors"]) == MAX_ERRORS
    assert problem["errors_omitted"] == len(FINDINGS) - MAX_ERRORS
    assert problem["detail"] == (
        "The intake does not match the schema; see errors. Only the first 20 errors are "
        f"listed; {len(FINDINGS) - MAX_ERRORS} more are not."
    )
    # In the body's order: the first findings of the first group.
    assert problem["errors"][0]["field"] == "patient.age_years"


def test_up_to_max_errors_nothing_is_omitted(client: FlaskClient) -> None:
    """Exactly MAX_ERRORS errors: all listed, no errors_omitted field."""
    body = {"symptoms": {f"made_up_{index}": "yes" for index in range(MAX_ERRORS)}}
    problem = client.post("/v1/triage", json=body).get_json()
    assert len(problem["errors"]) == MAX_ERRORS
    assert "errors_omitted" not in problem
    assert problem["detail"] == "The intake does not match the schema; see errors."


def test_listed_messages_are_marshmallows() -> None:
    """The capped messages are a part of what schema.load reports, the count is its count."""
    body = invalid_intake(7)
    with pytest.raises(IntakeInvalid) as capped:
        IntakeValidator().load(body)
    with pytest.raises(ValidationError) as full:
        TriageRequestSchema().load(body)
    listed, everything = _leaves(capped.value.messages), _leaves(full.value.messages)
    assert len(listed) == MAX_ERRORS
    assert listed.items() <= everything.items()
    assert len(listed) + capped.value.omitted == len(everything)


def test_hints_for_at_most_max_hints_unknown_keys(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six near misses: a hint for the first three only, and three look-ups, not six."""
    assert MAX_HINTS == 3
    looked_up: list[str] = []
    real = errors.close_match

    def counting(key: str, vocabulary: frozenset[str]) -> str | None:
        looked_up.append(key)
        return real(key, vocabulary)

    monkeypatch.setattr(errors, "close_match", counting)
    misses = ["fevr", "swellin", "rednes", "warmt", "improvin", "pain_nr"]
    problem = client.post("/v1/triage", json={"symptoms": dict.fromkeys(misses, "yes")}).get_json()
    assert [e["message"] for e in problem["errors"]] == [
        "Unknown field. Did you mean 'fever'?",
        "Unknown field. Did you mean 'swelling'?",
        "Unknown field. Did you mean 'redness'?",
        "Unknown field.",
        "Unknown field.",
        "Unknown field.",
    ]
    assert looked_up == misses[:MAX_HINTS]


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("fevr", "fever"),
        ("feverr", "fever"),
        ("fevre", "fever"),
        ("Fever", "fever"),
        ("pain-nrs", "pain_nrs"),
        ("Steps Now", "steps_now"),
        ("foot_cold_pale_or_blu", "foot_cold_pale_or_blue"),
        ("symptom", "symptoms"),
        ("Jane Doe 1970", None),
        ("x" * 65, None),
        ("", None),
    ],
)
def test_a_hint_is_one_edit_from_a_known_name(key: str, hint: str | None) -> None:
    """One letter wrong, missing, extra or two swapped, ignoring case and '-' or ' ' for '_'."""
    assert close_match(key, VOCABULARY) == hint


def test_a_batch_of_invalid_intakes_is_bounded_the_same_way(client: FlaskClient) -> None:
    """Each invalid item's problem lists at most MAX_ERRORS errors, each with its count."""
    intakes = [invalid_intake(seed) for seed in range(10)]
    response = client.post("/v1/triage/batch", json={"intakes": intakes})
    assert response.status_code == 200
    for entry in response.get_json()["results"]:
        problem = entry["error"]
        assert len(problem["errors"]) == MAX_ERRORS
        assert problem["errors_omitted"] > 50
        assert sum("Did you mean" in e["message"] for e in problem["errors"]) <= MAX_HINTS


def test_the_fhir_outcome_says_errors_were_left_out(client: FlaskClient) -> None:
    """On /fhir the cut list ends with an information issue carrying the detail."""
    items = [
        {"linkId": name, "answer": [{"valueCoding": {"system": ANSWERS_SYSTEM, "code": "x"}}]}
        for name, finding in FINDINGS.items()
        if not finding.is_numeric
    ]
    resource = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": QUESTIONNAIRE_URL,
        "item": items,
    }
    response = client.post(
        "/fhir/QuestionnaireResponse/$triage",
        json=resource,
        headers={"Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 422
    issues = response.get_json()["issue"]
    assert len(issues) == MAX_ERRORS + 1
    assert issues[-1]["severity"] == "information"
    assert "more are not" in issues[-1]["diagnostics"]


def test_cds_hooks_422_is_bounded(client: FlaskClient) -> None:
    """A CDS Hooks call with many wrong fields: at most MAX_ERRORS errors, the rest counted."""
    feedback = [{"card": 1, "outcome": "maybe", "outcomeTimestamp": 2}] * 30
    response = client.post("/cds-services/forefoot-triage/feedback", json={"feedback": feedback})
    problem = response.get_json()
    assert response.status_code == 422
    assert len(problem["errors"]) == MAX_ERRORS
    assert problem["errors_omitted"] >= 1
