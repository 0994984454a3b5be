"""Blueprint "batch": POST /v1/triage/batch, many intakes in one call, each answered on its own."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, request
from marshmallow import ValidationError

from service.api import evaluate
from service.body import read_json
from service.errors import field_errors, problem
from service.findings import FINDINGS
from service.schemas import GROUPS
from service.validation import IntakeValidator

batch = Blueprint("batch", __name__)
_VALIDATOR = IntakeValidator()
_VOCABULARY = frozenset(GROUPS) | frozenset(FINDINGS)


def _invalid(message: str) -> Any:
    return problem(
        422,
        "Unprocessable Content",
        'The body must be {"intakes": [...]}; see errors.',
        errors=[{"field": "intakes", "message": message}],
    )


def _one(index: int, intake: Any) -> dict[str, Any]:
    """The result for one intake, or its 422 problem: one bad intake spoils nothing else."""
    try:
        loaded = _VALIDATOR.load(intake)
    except ValidationError as error:
        return {
            "index": index,
            "error": {
                "type": "about:blank",
                "title": "Unprocessable Content",
                "status": 422,
                "detail": "The intake does not match the schema; see errors.",
                "errors": field_errors(error.messages, _VOCABULARY),
            },
        }
    # Its own decision id, traceable to the request's: "<request decision id>.<index>".
    return {"index": index, "result": evaluate(loaded, decision_id=f"{g.decision_id}.{index}")}


@batch.post("/v1/triage/batch", provide_automatic_options=False)
def triage_batch() -> Any:
    """Evaluate 1 to TRIAGE_MAX_BATCH intakes, in order, exactly as /v1/triage would each."""
    body = read_json(request)
    limit: int = current_app.config["MAX_BATCH"]
    if not isinstance(body, dict) or set(body) != {"intakes"}:
        return _invalid("The body must be an object with exactly one key, 'intakes'.")
    intakes = body["intakes"]
    if not isinstance(intakes, list) or not 1 <= len(intakes) <= limit:
        return _invalid(f"'intakes' must be a list of 1 to {limit} intakes.")
    g.outcome = {"ruleset_version": current_app.extensions["triage"].ruleset.version}
    return {"results": [_one(index, intake) for index, intake in enumerate(intakes)]}
