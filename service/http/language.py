"""The language of an answer: the `lang` parameter, else Accept-Language (q-values), else English.

Every text of an answer is in that language; codes, ids and wire values never change with it.
A language asked for and not supported falls back to English, and the answer says so.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from flask import Request, request
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

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


def _asked(req: Request, explicit: str | None = None) -> LanguageAccept:
    """What the client asked for: `explicit` (a page's carried choice), else `lang` (read like
    an Accept-Language value), wins over the header, so a link or a client without header
    control can choose."""
    if explicit is None:
        explicit = req.args.get(LANG_PARAMETER)
    if explicit is not None:
        return parse_accept_header(explicit, LanguageAccept)
    return req.accept_languages


def choose(
    supported: tuple[str, ...], req: Request | None = None, explicit: str | None = None
) -> str | None:
    """The best supported language for the request (English first among equals), '' when the
    client asked for none, None when it asked only for unsupported ones."""
    return _best(supported, _asked(req if req is not None else request, explicit))


def _best(supported: tuple[str, ...], asked: LanguageAccept) -> str | None:
    if not asked:
        return ""
    found: str | None = asked.best_match(supported)
    return found


@functools.lru_cache(maxsize=64)
def choose_raw(supported: tuple[str, ...], accept: str | None, explicit: str | None = None) -> str:
    """`choose` on raw values, for the server layer below Flask (gunicorn, the gevent worker,
    the probe port): the Accept-Language header and the `lang` parameter as they came. The best
    supported language, English when none was asked for or none asked for is supported.
    Cached: a shed request costs a dictionary look-up, not a parse."""
    value = explicit if explicit is not None else accept
    asked = parse_accept_header(value, LanguageAccept) if value is not None else LanguageAccept()
    return _best(supported, asked) or SOURCE_LANGUAGE


def answer_language(explicit: str | None = None) -> tuple[Language, Ruleset]:
    """The request's language (or `explicit`, a page's carried choice) and its ruleset."""
    triage = assessor()
    found = choose(triage.supported, explicit=explicit)
    code = found or SOURCE_LANGUAGE
    words = triage.in_language(code)
    status = triage.status(code)
    return Language(code, status, fallback=found is None), words
