"""Blueprint "api": POST /v1/triage, GET /v1/rules, GET /v1/questions, GET /openapi.yaml."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from service.config import ROOT
from service.domain.condition_wording import describe_plain
from service.domain.intake_validator import validate_intake
from service.http.answer import assessment_to_wire, question_to_wire, rule_to_wire
from service.http.evaluation import assessor, evaluate
from service.http.json_body import read_json

api = Blueprint("api", __name__)
_CONTRACT = (ROOT / "openapi.yaml").read_bytes()


@api.post("/v1/triage", provide_automatic_options=False)
def triage() -> Any:
    """Evaluate one intake."""
    intake = validate_intake(read_json(request))  # ValidationError -> 422 problem
    return assessment_to_wire(evaluate(intake))


@api.get("/v1/rules", provide_automatic_options=False)
def rules() -> Any:
    """The rule catalogue with the ruleset identity and the citations registry."""
    ruleset = assessor().ruleset
    return {
        "ruleset": ruleset.identity,
        "rules": [rule_to_wire(rule, ruleset) for rule in (*ruleset.rules, ruleset.default)],
        "citations": list(ruleset.citations.values()),
    }


@api.get("/v1/questions", provide_automatic_options=False)
def questions() -> Any:
    """The question catalogue, in intake order, with when each situational question is asked."""
    ruleset = assessor().ruleset
    questions = []
    for finding in ruleset.questions.values():
        question = question_to_wire(finding)
        if finding.name in ruleset.asked_when_source:
            question["asked_when"] = describe_plain(
                ruleset.asked_when_source[finding.name], ruleset.helpers
            )
        questions.append(question)
    return {"population": ruleset.population, "questions": questions}


@api.get("/openapi.yaml", provide_automatic_options=False)
def contract() -> Response:
    """The contract file itself."""
    return Response(_CONTRACT, mimetype="application/yaml")
