"""The exception hierarchy and the handlers that turn every error into application/problem+json."""

from __future__ import annotations

import difflib
import functools
from typing import Any

import structlog
from flask import Flask, Response, json
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response as ResponseBase

from service.domain.intake_validator import MAX_ERRORS
from service.exceptions import BadRequestBody, EngineError, UnencodableBody
from service.http.evaluation import assessor
from service.http.language import answer_language
from service.http.problem_details import PROBLEM_JSON, problem_body

# A 422 looks for a "did you mean" hint for at most this many unknown keys.
MAX_HINTS = 3
_log = structlog.get_logger("service.errors")


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    """A problem+json response (RFC 9457)."""
    return problem_response(problem_body(status, title, detail, **extra), status)


def localized_problem(body: dict[str, Any], response: ResponseBase | None = None) -> ResponseBase:
    """A problem in the request's language (`lang`, else Accept-Language): its title, detail
    and messages, sentence by sentence; field paths, codes and values stay as they are."""
    language = answer_language()[0]
    body = in_language(body, language.code)
    if response is None:
        response = Response(status=body["status"])
    response.set_data(json.dumps(body))
    response.mimetype = PROBLEM_JSON
    response.headers.update(language.headers)
    return response


def problem_response(body: dict[str, Any], status: int) -> Response:
    """A problem body as a problem+json response."""
    return Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)


def intake_problem(
    error: ValidationError, vocabulary: frozenset[str], language: str | None = None
) -> dict[str, Any]:
    """The 422 problem of an invalid intake, the same for /v1/triage and each batch item, in
    `language` (the request's when None); field paths and values stay as they are."""
    body = validation_problem(
        "The intake does not match the schema; see errors.",
        error.messages,
        vocabulary,
        omitted=getattr(error, "omitted", 0),
    )
    return in_language(body, language)


def in_language(body: dict[str, Any], language: str | None = None) -> dict[str, Any]:
    """A 422 problem's title, detail and messages in `language` (the request's when None)."""
    if language is None:
        language = answer_language()[0].code
    translate = assessor().problem_texts[language]
    body["title"] = translate(body["title"])
    body["detail"] = translate(body["detail"])
    for entry in body.get("errors", ()):
        entry["message"] = translate(entry["message"])
    return body


def validation_problem(
    detail: str, messages: Any, vocabulary: frozenset[str], omitted: int = 0
) -> dict[str, Any]:
    """A 422 problem listing at most MAX_ERRORS field errors, and how many more there were.

    omitted: errors the caller already left out of `messages` (IntakeInvalid.omitted).
    """
    errors = field_errors(messages, vocabulary)
    omitted += max(len(errors) - MAX_ERRORS, 0)
    extra: dict[str, Any] = {"errors": errors[:MAX_ERRORS]}
    if omitted:
        detail += f" Only the first {MAX_ERRORS} errors are listed; {omitted} more are not."
        extra["errors_omitted"] = omitted
    return problem_body(422, "Unprocessable Content", detail, **extra)


ENGINE_FAILURE = problem_body(
    500, "Internal Server Error", "The rule engine failed; no triage result."
)


def field_errors(messages: Any, vocabulary: frozenset[str]) -> list[dict[str, str]]:
    """Flatten Marshmallow's nested messages into [{field, message}] with dotted paths.

    Only names from our own vocabulary are echoed. A key the client made up could be patient
    data, so it is reported as '(unknown key)', with the closest known name as a hint for the
    first MAX_HINTS such keys only (each hint is a lookup, but a body may hold hundreds).
    """
    found: list[dict[str, str]] = []
    unknown: list[tuple[dict[str, str], str]] = []
    _flatten(messages, vocabulary, "", found, unknown)
    for entry, key in unknown[:MAX_HINTS]:
        hint = close_match(key, vocabulary)
        if hint:
            entry["message"] += f" Did you mean '{hint}'?"
    return found


def _flatten(
    messages: Any,
    vocabulary: frozenset[str],
    prefix: str,
    found: list[dict[str, str]],
    unknown: list[tuple[dict[str, str], str]],
) -> None:
    if not isinstance(messages, dict):
        found.extend({"field": prefix.rstrip("."), "message": str(m)} for m in _as_list(messages))
        return
    for key, value in messages.items():
        if key == "_schema":
            name = prefix.rstrip(".") or "(body)"
            found.extend({"field": name, "message": str(m)} for m in _as_list(value))
        elif key in vocabulary or isinstance(key, int):  # an int is a list index
            _flatten(value, vocabulary, f"{prefix}{key}.", found, unknown)
        else:
            entry = {"field": f"{prefix}(unknown key)", "message": "Unknown field."}
            found.append(entry)
            unknown.append((entry, str(key)))


def close_match(key: str, vocabulary: frozenset[str]) -> str | None:
    """The known name a made-up key most probably misspells, or None.

    A name is a candidate when the key is one edit (a letter wrong, missing, extra, or two
    swapped) from it, ignoring case and '-' or ' ' for '_'; difflib's ratio picks among several.
    10 to 100 µs a key, where difflib over the whole vocabulary took 200 to 700 µs.
    """
    if len(key) > _HINT_MAX_KEY:
        return None
    index = _hint_index(vocabulary)
    typed = _normal(key)
    candidates: set[str] = set(index.get(typed, ()))
    for variant in _one_deleted(typed):
        candidates.update(index.get(variant, ()))
    if not candidates:
        return None
    return max(
        candidates, key=lambda name: (difflib.SequenceMatcher(None, typed, name).ratio(), name)
    )


_HINT_MAX_KEY = 64  # longer than any name of ours by far: no hint is looked for


def _normal(key: str) -> str:
    return key.lower().replace("-", "_").replace(" ", "_")


def _one_deleted(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@functools.lru_cache(maxsize=8)
def _hint_index(vocabulary: frozenset[str]) -> dict[str, frozenset[str]]:
    """Every name, and every name with one letter deleted, to the names it comes from."""
    index: dict[str, set[str]] = {}
    for name in vocabulary:
        for variant in {name} | _one_deleted(name):
            index.setdefault(variant, set()).add(name)
    return {variant: frozenset(names) for variant, names in index.items()}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def register_error_handlers(
    app: Flask,
    vocabulary: frozenset[str],
    framing_errors: tuple[type[Exception], ...] = (),
) -> None:
    """Every error leaves as problem+json; no HTML page, ever.

    vocabulary: the field names a 422 may name (the request's groups and findings).
    framing_errors: the server's exceptions for a malformed or cut-short body (400).
    """

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> ResponseBase:
        # Start from werkzeug's own response so headers such as a 405's Allow are kept.
        status = error.code or 500
        body = problem_body(status, error.name, error.description or error.name)
        return localized_problem(body, error.get_response())

    @app.errorhandler(ValidationError)
    def _invalid(error: ValidationError) -> Response:
        language = answer_language()[0]
        body = intake_problem(error, vocabulary, language.code)
        response = Response(json.dumps(body), status=422, mimetype=PROBLEM_JSON)
        response.headers.update(language.headers)
        return response

    @app.errorhandler(BadRequestBody)
    def _bad_body(error: BadRequestBody) -> ResponseBase:
        return localized_problem(problem_body(400, "Bad Request", error.detail))

    @app.errorhandler(UnencodableBody)
    def _unencodable(_error: UnencodableBody) -> ResponseBase:
        # Such a string cannot be answered, logged or passed on: refused like any invalid value.
        message = "A string holds half of a UTF-16 surrogate pair (escaped): not Unicode text."
        body = problem_body(
            422,
            "Unprocessable Content",
            "The body holds a string that is not valid Unicode; see errors.",
            errors=[{"field": "(body)", "message": message}],
        )
        return localized_problem(body)

    def _framing(_error: Exception) -> ResponseBase:
        detail = "The request body's framing is malformed or cut short."
        return localized_problem(problem_body(400, "Bad Request", detail))

    for framing_error in framing_errors:  # the server's own body-framing errors
        app.register_error_handler(framing_error, _framing)

    @app.errorhandler(EngineError)
    def _engine(error: EngineError) -> ResponseBase:
        # Fail closed: no level is guessed. The engine's own text carries the payload: not logged.
        _log.error("rule engine failure during an evaluation")
        try:
            return localized_problem(dict(ENGINE_FAILURE))
        except Exception:  # the error answer itself must not fail: English then
            return problem_response(ENGINE_FAILURE, 500)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> ResponseBase:
        if isinstance(error, HTTPException):  # pragma: no cover (handled above)
            return _http(error)
        # The type name only: exception messages may quote the request.
        _log.error("unhandled exception while answering", exception_type=type(error).__name__)
        body = problem_body(
            InternalServerError.code, "Internal Server Error", "The request could not be completed."
        )
        try:
            return localized_problem(body)
        except Exception:  # the error answer itself must not fail: English then
            return problem_response(body, InternalServerError.code)
