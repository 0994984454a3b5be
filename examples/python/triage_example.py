"""Every /v1 operation of a running forefoot-triage, through the generated Python client.

Generate the client first (examples/README.md), then run, with the folder holding the
forefoot_triage_client package on PYTHONPATH:

    python examples/python/triage_example.py http://127.0.0.1:8000

TRIAGE_API_KEY, if set, is sent as X-API-Key. Prints one JSON summary of the answers; exits
with an error on any answer that is not the documented 200.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from forefoot_triage_client import AuthenticatedClient, Client
from forefoot_triage_client.api.catalogue import contract, list_questions, list_rules
from forefoot_triage_client.api.triage import interview, triage, triage_batch
from forefoot_triage_client.models import (
    BatchError,
    BatchRequest,
    BatchResponse,
    BatchResult,
    History,
    InterviewRequest,
    InterviewResponse,
    Onset,
    PainLocation,
    Patient,
    QuestionCatalogue,
    RuleCatalogue,
    Symptoms,
    TriageRequest,
    TriageResponse,
    TriState,
)


def _intake() -> TriageRequest:
    """An injury at the midfoot, the Ottawa rule positive; unknown spelt the documented way."""
    return TriageRequest(
        patient=Patient(age_years=34),
        # Asked and not known: "unknown" for a yes/no question, null (None) for a number.
        history=History(
            diabetes=TriState.NO, neuropathy=TriState.UNKNOWN, conservative_care_weeks=None
        ),
        symptoms=Symptoms(
            onset=Onset.INJURY,
            pain_location=PainLocation.MIDFOOT,
            pain_nrs=6,
            steps_immediately=2,
            steps_now=3,
            tender_5th_mt_base=TriState.YES,
        ),
    )


def _emergency() -> TriageRequest:
    """A cold, pale foot: an emergency, so escalation is set."""
    return TriageRequest(symptoms=Symptoms(foot_cold_pale_or_blue=TriState.YES))


def _expect(parsed: Any, kind: type) -> Any:
    if not isinstance(parsed, kind):
        raise SystemExit(f"expected {kind.__name__}, got {parsed!r}")
    return parsed


def _answer(answer: TriageResponse) -> dict[str, Any]:
    return {
        "destination": answer.destination.value,
        "urgency": answer.urgency.value,
        "level": answer.level.value,
        "escalation": None if answer.escalation is None else answer.escalation.value,
        "rules": [entry.rule_id for entry in answer.rationale],
    }


def main(base_url: str) -> dict[str, Any]:
    """Call triage, batch, interview, rules and questions (and fetch the contract)."""
    key = os.environ.get("TRIAGE_API_KEY")
    client: Client | AuthenticatedClient = (
        AuthenticatedClient(base_url, token=key, prefix="", auth_header_name="X-API-Key")
        if key
        else Client(base_url)
    )
    with client as api:
        one = _expect(triage.sync(client=api, body=_intake()), TriageResponse)
        emergency = _expect(triage.sync(client=api, body=_emergency()), TriageResponse)
        # The second intake is out of range (pain 0-10): its own error entry, the rest answered.
        bad = TriageRequest(symptoms=Symptoms(pain_nrs=11))
        batch = _expect(
            triage_batch.sync(client=api, body=BatchRequest(intakes=[_intake(), bad])),
            BatchResponse,
        )
        entries = []
        for entry in batch.results:
            if isinstance(entry, BatchResult):
                entries.append({"index": entry.index, **_answer(entry.result)})
            else:
                error = _expect(entry, BatchError).error
                fields = [item.field for item in error.errors]
                entries.append({"index": entry.index, "status": error.status, "fields": fields})
        asked = _expect(
            interview.sync(client=api, body=InterviewRequest(max_questions=7)), InterviewResponse
        )
        rules = _expect(list_rules.sync(client=api), RuleCatalogue)
        questions = _expect(list_questions.sync(client=api), QuestionCatalogue)
        document = contract.sync(client=api)
    if not isinstance(document, str):
        raise SystemExit(f"expected the contract as text, got {document!r}")
    return {
        "triage": _answer(one),
        "emergency": _answer(emergency),
        "batch": entries,
        "interview": {
            "status": asked.status.value,
            "questions": [question.finding for question in asked.questions],
            "answer_destination": asked.answer.destination.value,
        },
        "rules": [rule.id for rule in rules.rules],
        "questions": [question.finding for question in questions.questions],
        "contract": document.splitlines()[0],
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")))
