"""Blueprint "batch": POST /v1/triage/batch, many intakes in one call, each answered on its own."""

from __future__ import annotations

from typing import Any

import structlog
from flask import Blueprint, current_app, g, request
from marshmallow import ValidationError

from service.domain.findings import FINDINGS
from service.domain.intake_schema import GROUPS
from service.domain.intake_validator import validate_intake
from service.domain.wording import SURFACE_WORDS
from service.exceptions import EngineError
from service.http.answer import assessment_to_wire
from service.http.evaluation import evaluate
from service.http.json_body import read_json
from service.http.language import Language, answer_language
from service.http.problem_details import problem_body
from service.http.problems import ENGINE_FAILURE, in_language, intake_problem, localized_problem

batch = Blueprint("batch", __name__)
_VOCABULARY = frozenset(GROUPS) | frozenset(FINDINGS)
_log = structlog.get_logger("service.batch")
BYTES_PER_INTAKE = 4096


def _invalid(message: str) -> Any:
    """422 for a body that is not {"intakes": [...]}, in the request's language."""
    body = problem_body(
        422,
        "Unprocessable Content",
        SURFACE_WORDS["problem.batch.body"].format(shape='{"intakes": [...]}'),
        errors=[{"field": "intakes", "message": message}],
    )
    return localized_problem(body)


def _one(index: int, intake: Any, language: Language) -> dict[str, Any]:
    """The result for one intake, or its problem: one bad intake spoils nothing else."""
    try:
        loaded = validate_intake(intake)
    except ValidationError as error:
        return {"index": index, "error": intake_problem(error, _VOCABULARY, language.code)}
    try:
        # Its own decision id, traceable to the request's: "<request decision id>.<index>".
        result = evaluate(loaded, f"{g.decision_id}.{index}", language.code)
    except EngineError:
        # Fail closed for this intake only: no level is guessed, the others still count.
        _log.error("rule engine failure during a batch evaluation", index=index)
        return {"index": index, "error": in_language(dict(ENGINE_FAILURE), language.code)}
    return {"index": index, "result": assessment_to_wire(result, language.fallback)}


@batch.post("/v1/triage/batch", provide_automatic_options=False)
def triage_batch() -> Any:
    """Evaluate 1 to TRIAGE_MAX_BATCH intakes, in order, exactly as /v1/triage would each."""
    limit: int = current_app.config["MAX_BATCH"]
    # Room for a full batch: a complete intake is about 1.2 KB; 4 KiB each allows layout.
    request.max_content_length = max(current_app.config["MAX_BODY_BYTES"], limit * BYTES_PER_INTAKE)
    body = read_json(request)
    if not isinstance(body, dict) or set(body) != {"intakes"}:
        return _invalid(SURFACE_WORDS["problem.batch.one_key"])
    intakes = body["intakes"]
    if not isinstance(intakes, list) or not 1 <= len(intakes) <= limit:
        return _invalid(SURFACE_WORDS["problem.batch.size"].format(limit=limit))
    g.outcome = {"ruleset_version": current_app.extensions["triage"].ruleset.version}
    language, _words = answer_language()
    results = [_one(index, intake, language) for index, intake in enumerate(intakes)]
    return {**language.wire, "results": results}, language.headers
