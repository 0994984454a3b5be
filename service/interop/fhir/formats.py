"""FHIR content negotiation: `_format` and Accept; JSON only, anything else is 406."""

from __future__ import annotations

from flask import request
from werkzeug.exceptions import NotAcceptable

from service.domain.wording import SURFACE_WORDS
from service.interop.fhir.common import FHIR_JSON

# The _format values of JSON (FHIR R4 http.html#mime-type); a '+' unescaped in a query is a space.
_JSON_FORMATS = frozenset({"json", "application/json", FHIR_JSON, "application/fhir json"})
_PRODUCED = [FHIR_JSON, "application/json"]


def refuse_other_formats() -> None:
    """406 when `_format` (which wins) or Accept asks for a format we do not produce (XML, RDF)."""
    requested = request.args.get("_format")
    if requested is not None:
        if requested.split(";", 1)[0].strip().lower() not in _JSON_FORMATS:
            raise NotAcceptable(SURFACE_WORDS["problem.fhir.format"])
        return
    accept = request.accept_mimetypes
    if accept and accept.best_match(_PRODUCED) is None:
        raise NotAcceptable(SURFACE_WORDS["problem.fhir.accept"])
