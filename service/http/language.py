"""The language of an answer: the `lang` parameter, else Accept-Language (q-values), else English.

Every text of an answer is in that language; codes, ids and wire values never change with it.
A language asked for and not supported falls back to English, and the answer says so.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from flask import Request, request
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from service.domain.assessor import Triage
from service.domain.ruleset import SOURCE_LANGUAGE, Ruleset
from service.http.evaluation import assessor

LANG_PARAMETER = "lang"


@dataclass(frozen=True)
class Language:
    """The answer's language, its review status, and whether another one was asked for."""

    code: str
    translation_status: str
    fallback: bool

    @property
    def wire(self) -> dict[str, Any]:
        """The fields every localized answer carries (openapi.yaml AnswerLanguage)."""
        return {
            "language": self.code,
            "translation_status": self.translation_status,
            "language_fallback": self.fallback,
        }

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Language": self.code, "Vary": "Accept-Language"}

    @cached_property  # a Language is made once per choice (_language below)
    def header_list(self) -> list[tuple[str, str]]:
        """`headers` as the pairs a Response is made with."""
        return list(self.headers.items())


def choose(
    supported: tuple[str, ...], req: Request | None = None, explicit: str | None = None
) -> str | None:
    """The best supported language for the request (English first among equals), '' when the
    client asked for none, None when it asked only for unsupported ones.

    `explicit` (a page's carried choice), else the `lang` parameter (read like an
    Accept-Language value), wins over the header, so a link or a client without header control
    can choose."""
    accept = None
    if explicit is None:
        environ = (req if req is not None else request).environ
        # The query string parsed only when there is one: most API calls have none.
        if environ.get("QUERY_STRING"):
            explicit = (req if req is not None else request).args.get(LANG_PARAMETER)
        accept = environ.get("HTTP_ACCEPT_LANGUAGE")
    return _choice(supported, accept, explicit)


@functools.lru_cache(maxsize=128)
def _choice(supported: tuple[str, ...], accept: str | None, explicit: str | None) -> str | None:
    """choose on raw values, cached: clients send the same few values, and werkzeug's parse
    of a header cost more than the rest of the language choice."""
    value = explicit if explicit is not None else accept
    if value is None:
        return ""
    asked = parse_accept_header(value, LanguageAccept)
    if not asked:
        return ""
    found: str | None = asked.best_match(supported)
    return found


def choose_raw(supported: tuple[str, ...], accept: str | None, explicit: str | None = None) -> str:
    """`choose` on raw values, for the server layer below Flask (gunicorn, the gevent worker,
    the probe port): the Accept-Language header and the `lang` parameter as they came. The best
    supported language, English when none was asked for or none asked for is supported."""
    return _choice(supported, accept, explicit) or SOURCE_LANGUAGE


def answer_language(explicit: str | None = None) -> tuple[Language, Ruleset]:
    """The request's language (or `explicit`, a page's carried choice) and its ruleset."""
    triage = assessor()
    return _language(triage, choose(triage.supported, explicit=explicit))


@functools.lru_cache(maxsize=8)  # a few choices of one assessor per worker; tests make more
def _language(triage: Triage, found: str | None) -> tuple[Language, Ruleset]:
    """The answer's Language for a choice, made once per assessor and choice (a few)."""
    code = found or SOURCE_LANGUAGE
    return Language(code, triage.status(code), fallback=found is None), triage.in_language(code)
