"""Blueprint "api": POST /v1/triage, GET /v1/rules, GET /v1/questions, GET /openapi.yaml."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from service.config import ROOT
from service.domain.intake_validator import validate_intake
from service.http.answer import assessment_json, question_to_wire, rule_to_wire
from service.http.evaluation import evaluate
from service.http.json_body import read_json
from service.http.language import answer_language
from service.http.response import Response

api = Blueprint("api", __name__)
_CONTRACT = (ROOT / "openapi.yaml").read_bytes()
JSON = "application/json"


@api.post("/v1/triage", provide_automatic_options=False)
def triage() -> Any:
    """Evaluate one intake."""
    intake = validate_intake(read_json(request))  # ValidationError -> 422 problem
    language, _words = answer_language()
    answer = assessment_json(evaluate(intake, language=language.code), language.fallback)
    # The answer built here, headers and all: Flask's path from a (dict, headers) pair (the
    # JSON provider, then a header update) cost more than the serialisation. Content-Type and
    # Content-Length are given with the others, where `mimetype=` and a bytes body add them
    # (in this order) one at a time, each with a search of the headers.
    headers = [*language.header_list, ("Content-Type", JSON), ("Content-Length", str(len(answer)))]
    return Response([answer], headers=headers)


@api.get("/v1/rules", provide_automatic_options=False)
def rules() -> Any:
    """The rule catalogue with the ruleset identity and the citations registry."""
    language, words = answer_language()
    body = {
        "ruleset": words.identity,
        **language.wire,
        "rules": [rule_to_wire(rule, words) for rule in (*words.rules, words.default)],
        "citations": list(words.citations.values()),
    }
    return body, language.headers


@api.get("/v1/questions", provide_automatic_options=False)
def questions() -> Any:
    """The question catalogue, in intake order, with when each situational question is asked."""
    language, words = answer_language()
    body = {
        **language.wire,
        "population": words.population,
        "questions": [question_to_wire(question, words) for question in words.questions.values()],
    }
    return body, language.headers


@api.get("/openapi.yaml", provide_automatic_options=False)
def contract() -> Response:
    """The contract file itself."""
    return Response(_CONTRACT, mimetype="application/yaml")
