"""The exception hierarchy and the handlers that turn every error into application/problem+json."""

from __future__ import annotations

import difflib
from typing import Any

import structlog
from flask import Flask, Response, json
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response as ResponseBase

PROBLEM_JSON = "application/problem+json"
_log = structlog.get_logger("service.errors")


class TriageError(Exception):
    """Root of the service's own errors."""


class RulesetError(TriageError):
    """The rules folder is invalid: the service must not start."""


class EngineError(TriageError):
    """The rule engine failed during an evaluation: answer 500, never a guessed level."""


class BadRequestBody(TriageError):
    """The body is not one well-formed JSON document (400)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def problem_body(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    """A problem detail (RFC 9457) as a dict."""
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    """A problem+json response (RFC 9457)."""
    body = problem_body(status, title, detail, **extra)
    return Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)


def intake_problem(error: ValidationError, vocabulary: frozenset[str]) -> dict[str, Any]:
    """The 422 problem of an invalid intake, the same for /v1/triage and each batch item."""
    return problem_body(
        422,
        "Unprocessable Content",
        "The intake does not match the schema; see errors.",
        errors=field_errors(error.messages, vocabulary),
    )


ENGINE_FAILURE = problem_body(
    500, "Internal Server Error", "The rule engine failed; no triage result."
)


def field_errors(
    messages: Any, vocabulary: frozenset[str], prefix: str = ""
) -> list[dict[str, str]]:
    """Flatten Marshmallow's nested messages into [{field, message}] with dotted paths.

    Only names from our own vocabulary are echoed. A key the client made up could be patient
    data, so it is reported as '(unknown key)', with the closest known name as a hint.
    """
    if not isinstance(messages, dict):
        return [{"field": prefix.rstrip("."), "message": str(m)} for m in _as_list(messages)]
    found: list[dict[str, str]] = []
    for key, value in messages.items():
        if key == "_schema":
            name = prefix.rstrip(".") or "(body)"
            found.extend({"field": name, "message": str(m)} for m in _as_list(value))
        elif key in vocabulary or isinstance(key, int):  # an int is a list index
            found.extend(field_errors(value, vocabulary, f"{prefix}{key}."))
        else:
            hint = difflib.get_close_matches(str(key), vocabulary, n=1)
            message = "Unknown field." + (f" Did you mean '{hint[0]}'?" if hint else "")
            found.append({"field": f"{prefix}(unknown key)", "message": message})
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def register_error_handlers(app: Flask, vocabulary: frozenset[str]) -> None:
    """Every error leaves as problem+json; no HTML page, ever.

    vocabulary: the field names a 422 may name (the request's groups and findings).
    """

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> ResponseBase:
        # Start from werkzeug's own response so headers such as a 405's Allow are kept.
        response = error.get_response()
        status = error.code or 500
        body = {
            "type": "about:blank",
            "title": error.name,
            "status": status,
            "detail": error.description or error.name,
        }
        response.set_data(json.dumps(body))
        response.mimetype = PROBLEM_JSON
        return response

    @app.errorhandler(ValidationError)
    def _invalid(error: ValidationError) -> Response:
        body = intake_problem(error, vocabulary)
        return Response(json.dumps(body), status=422, mimetype=PROBLEM_JSON)

    @app.errorhandler(BadRequestBody)
    def _bad_body(error: BadRequestBody) -> Response:
        return problem(400, "Bad Request", error.detail)

    @app.errorhandler(EngineError)
    def _engine(error: EngineError) -> Response:
        # Fail closed: no level is guessed. The engine's own text carries the payload: not logged.
        _log.error("rule engine failure during an evaluation")
        return Response(json.dumps(ENGINE_FAILURE), status=500, mimetype=PROBLEM_JSON)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> ResponseBase:
        if isinstance(error, HTTPException):  # pragma: no cover (handled above)
            return _http(error)
        # The type name only: exception messages may quote the request.
        _log.error("unhandled exception while answering", exception_type=type(error).__name__)
        return problem(
            InternalServerError.code, "Internal Server Error", "The request could not be completed."
        )
