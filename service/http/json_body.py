"""Read a request body as exactly one JSON object: strict about content type, encoding and form."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from flask import Request
from werkzeug.exceptions import (
    ClientDisconnected,
    RequestEntityTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
)

from service.exceptions import BadRequestBody, UnencodableBody


class UnsupportedContentCoding(UnsupportedMediaType):
    """415 for a body sent with a content coding (gzip, ...): bodies are read as sent."""

    description = "Send the body without a content coding (Content-Encoding: identity)."

    def get_headers(self, environ: Any = None, scope: Any = None) -> list[tuple[str, str]]:
        # RFC 9110 12.5.3: a 415 for a content coding says which codings are accepted.
        return [*super().get_headers(environ, scope), ("Accept-Encoding", "identity")]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # An intake answering the same question twice is ambiguous: refuse rather than pick one.
    result = dict(pairs)  # a repeated key leaves the dict shorter than the pairs
    if len(result) != len(pairs):
        raise BadRequestBody("The JSON body repeats a key.")
    return result


def _no_constants(_name: str) -> Any:
    raise BadRequestBody("The JSON body contains NaN or Infinity, which JSON does not allow.")


# Built once: json.loads with options builds a new decoder (and its scanner) on every call,
# a fifth of the parse.
_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


def _body(request: Request, environ: dict[str, Any]) -> bytes:
    """The body, or 413 if it is over the limit, whether or not Content-Length was sent."""
    limit = request.max_content_length
    declared = environ.get("CONTENT_LENGTH", "")
    if limit is not None and declared.isascii() and declared.isdigit():
        # The common case read straight from the server's stream: werkzeug's wrappers (its
        # LimitedStream, header parsing) cost as much as the JSON parse. The same answers:
        # 413 past the limit, a disconnect when the body ends early.
        length = int(declared)
        if length > limit:
            raise RequestEntityTooLarge()
        raw: bytes = environ["wsgi.input"].read(length) if length else b""
        if len(raw) != length:
            raise ClientDisconnected()
        return raw
    if request.content_length is not None or limit is None:
        return request.get_data(cache=False)  # werkzeug answers 413 past Content-Length limit
    # A chunked body: werkzeug would stop reading at the limit and pass on a truncated body.
    # Read one byte more than allowed, straight from the server's terminated stream.
    stream = environ["wsgi.input"]
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise RequestEntityTooLarge()
    return raw


def read_json(request: Request) -> Any:
    """The parsed body; 415 unless the content type is JSON, 400 unless it is valid JSON."""
    # The usual exact type checked first; any other is parsed as werkzeug parses it.
    # The environ read once: `request` is Flask's proxy, each attribute a lookup of its own.
    environ = request.environ
    if environ.get("CONTENT_TYPE") != "application/json" and not request.is_json:
        raise UnsupportedMediaType("Send the intake as application/json.")
    coding = environ.get("HTTP_CONTENT_ENCODING")
    if coding is not None and coding.strip().lower() not in ("", "identity"):
        # A compressed body read as JSON would be a misleading 400; RFC 9110 8.4: 415.
        raise UnsupportedContentCoding()
    try:
        raw = _body(request, environ)
    except TimeoutError:  # the server's request deadline passed while the body trickled in
        raise RequestTimeout("The request body did not arrive in time.") from None
    except ClientDisconnected as error:
        # werkzeug reports any failed read as a disconnect: the deadline is a timeout.
        if isinstance(error.__context__, TimeoutError):
            raise RequestTimeout("The request body did not arrive in time.") from None
        raise
    fast = _parsed_fast(raw)
    return _parsed(raw) if fast is _UNSURE else fast


def _parsed(raw: bytes) -> Any:
    """The body parsed by the json module: exact about every way a body can be wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestBody("The body is not valid UTF-8.") from None
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise BadRequestBody("The JSON body is nested too deeply.") from None
    except ValueError:  # JSONDecodeError, and integers beyond Python's digit limit
        raise BadRequestBody("The body is not valid JSON.") from None
    if "\\u" in text and _SURROGATE_ESCAPE.search(text) and not _encodable(value):
        raise UnencodableBody()
    return value


_UNSURE = object()
# What orjson reads exactly as the json module does: it reads an integer beyond 64 bits as a
# float, so a body with any float is left to the json module.
_PLAIN = frozenset({str, int, bool, type(None)})


def _parsed_fast(raw: bytes) -> Any:
    """The body parsed by orjson when that is provably what the json module path would give,
    else _UNSURE: orjson parses an intake in a third of the instructions, but keeps the last
    of repeated keys, so its answer is taken only when the body has no more colons than the
    parsed objects have keys. Every key is followed by a colon, so a repeated key would leave
    more colons than keys (a colon inside a string only adds to them). Anything orjson refuses
    (NaN, a lone surrogate, invalid UTF-8, deep nesting) goes the json module's way, for the
    same answer as before."""
    try:
        value = orjson.loads(raw)
        keys = _keys(value)
    except (orjson.JSONDecodeError, RecursionError):
        return _UNSURE
    if keys is None or raw.count(b":") != keys:
        return _UNSURE
    return value


def _keys(value: Any) -> int | None:
    """How many keys the objects in `value` hold, or None if it holds a float."""
    kind = type(value)
    if kind is dict:
        members, keys = value.values(), len(value)
    elif kind is list:
        members, keys = value, 0
    else:
        return 0 if kind in _PLAIN else None
    kinds = set(map(type, members))
    if kinds <= _PLAIN:  # the usual intake section: answers only, no walk in Python
        return keys
    if float in kinds:
        return None
    for member in members:
        if type(member) in (dict, list):
            inner = _keys(member)
            if inner is None:
                return None
            keys += inner
    return keys


# JSON may escape a UTF-16 surrogate ("\ud800") that no pair completes: json.loads gives a str
# with no UTF-8 form, which fails later when it is answered (a FHIR reference is echoed) or
# logged. Only a body with such an escape is checked; the check is one more serialisation.
# (A plain substring test first: the pattern's search over every body cost more than the test.)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    except RecursionError:
        raise BadRequestBody("The JSON body is nested too deeply.") from None
    return True
