"""Errors on /fhir paths as an application/fhir+json OperationOutcome instead of problem+json,
their texts (diagnostics) in the request's language (Accept-Language, or `lang`), with
Content-Language; codes, linkIds and FHIRPath expressions never change with it."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, request
from werkzeug.wrappers import Response as ResponseBase

from service.exceptions import ResponseError
from service.http.evaluation import assessor
from service.http.language import answer_language
from service.http.problem_details import PROBLEM_JSON
from service.http.problems import in_language
from service.interop.fhir.common import FHIR_JSON, fhir_response

FHIR_PREFIX = "/fhir/"
# HTTP status -> OperationOutcome issue type (http://hl7.org/fhir/issue-type).
_ISSUE_TYPE = {
    400: "structure",
    401: "login",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    413: "too-costly",
    415: "not-supported",
    422: "processing",
}
_KIND_STATUS = {"structure": (400, "structure"), "foreign": (422, "not-supported")}


def expression(link_id: str) -> str:
    """FHIRPath to the item with this linkId, nested or flat."""
    return f"QuestionnaireResponse.descendants().where(linkId='{link_id}')"


def operation_outcome(status: int, detail: str, issues: list[dict[str, Any]] | None = None) -> Any:
    """An OperationOutcome with one error issue per problem (at least one)."""
    code = _ISSUE_TYPE.get(status, "exception")
    return {
        "resourceType": "OperationOutcome",
        "issue": issues or [{"severity": "error", "code": code, "diagnostics": detail}],
    }


def response_error(error: ResponseError) -> Response:
    """400 for a resource that is not a usable QuestionnaireResponse, 422 for the rest."""
    status, code = _KIND_STATUS.get(error.kind, (422, "value"))
    language = answer_language()[0]
    detail = assessor().problem_texts[language.code](error.detail)
    issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": detail}
    if error.link_id:
        issue["expression"] = [expression(error.link_id)]
    response = fhir_response(operation_outcome(status, detail, [issue]), status)
    response.headers.update(language.headers)
    return response


def _from_problem(response: ResponseBase) -> None:
    """Rewrite a problem+json body in place; a 422's field errors name the linkIds."""
    try:
        problem = json.loads(response.get_data())
    except ValueError:  # pragma: no cover (every problem body is JSON)
        problem = {}
    if "Content-Language" not in response.headers:  # a problem not yet in the request's language
        language = answer_language()[0]
        problem = in_language({"title": "", "detail": "", **problem}, language.code)
        response.headers.update(language.headers)
    status = response.status_code
    detail = str(problem.get("detail") or problem.get("title") or _failed())
    issues = []
    for error in problem.get("errors") or []:
        field = str(error.get("field", ""))
        link_id = field.rsplit(".", 1)[-1]
        issue: dict[str, Any] = {
            "severity": "error",
            "code": "value",
            "diagnostics": f"{link_id}: {error.get('message', '')}",
        }
        if "(" not in link_id:  # '(unknown key)' and '(body)' name no item
            issue["expression"] = [expression(link_id)]
        issues.append(issue)
    if issues and problem.get("errors_omitted"):
        # The problem's list was cut: say so, as the problem's detail does.
        issues.append({"severity": "information", "code": "informational", "diagnostics": detail})
    response.set_data(json.dumps(operation_outcome(status, detail, issues)))
    response.mimetype = FHIR_JSON


def _failed() -> str:
    """What a problem without title or detail says (none is expected), in the language."""
    return assessor().problem_texts[answer_language()[0].code]("The request failed.")


def install_fhir_errors(app: Flask) -> None:
    """Answer ResponseError, and every problem+json on /fhir paths, as an OperationOutcome."""
    app.register_error_handler(ResponseError, response_error)

    @app.after_request
    def _outcome(response: ResponseBase) -> ResponseBase:
        # A problem is an error: the status first, as this runs after every answer of the app.
        if (
            response.status_code >= 400
            and request.path.startswith(FHIR_PREFIX)
            and response.mimetype == PROBLEM_JSON
        ):
            _from_problem(response)
        return response
