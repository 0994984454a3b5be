"""Problems answered below Flask (gunicorn, the gevent worker, the probe port) in the locale
files' languages, as whole HTTP/1.1 answers built once per language when a worker starts.

A request whose head was read names its language as Flask's answers do (`lang`, else
Accept-Language: service.http.language). Without a head to trust (none arrived in time, it
was too large or not HTTP) no language can be chosen: the problem is written in every loaded
language at once, English first, " / " between them, and Content-Language names them all
(docs/api.md, Languages). The English texts stay where they are written (the module that
answers); the locale files translate them by their `problem.*` keys, as for Flask's problems.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from service.domain.ruleset import SOURCE_LANGUAGE
from service.http.language import LANG_PARAMETER, choose_raw
from service.http.problem_details import raw_problem, reason

EVERY = "*"  # the key of the answer written in every language: no head to choose by
SEPARATOR = " / "


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class Languages:
    """The loaded languages (English first) and, for each, how a problem text is translated."""

    supported: tuple[str, ...] = (SOURCE_LANGUAGE,)
    translate: Mapping[str, Callable[[str], str]] = field(
        default_factory=lambda: {SOURCE_LANGUAGE: _same}
    )

    @classmethod
    def of(cls, app: Any) -> Languages:
        """The languages of a built app (service.app.create_app), English alone without one."""
        triage = getattr(app, "extensions", {}).get("triage")
        if triage is None:
            return cls()
        return cls(triage.supported, triage.problem_texts)

    def choose(self, accept: str | None, query: str | None = None) -> str:
        """The language for a request head's Accept-Language and query string, as Flask's
        answers choose it (the `lang` parameter first)."""
        explicit = None
        if query and LANG_PARAMETER in query:
            values = parse_qs(query).get(LANG_PARAMETER)
            explicit = values[0] if values else None
        return choose_raw(self.supported, accept, explicit)

    def in_every(self, text: str) -> str:
        """The text in every language, English first (a translation equal to another once)."""
        return SEPARATOR.join(dict.fromkeys(self.translate[code](text) for code in self.supported))


class ServerProblem:
    """One problem, built once in each language and once in all of them."""

    def __init__(
        self,
        languages: Languages,
        status: int,
        detail: str,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        title = reason(status)
        headers = tuple(headers)
        self.answers = {
            code: raw_problem(
                status,
                languages.translate[code](title),
                languages.translate[code](detail),
                (*headers, ("Content-Language", code), ("Vary", "Accept-Language")),
            )
            for code in languages.supported
        }
        self.answers[EVERY] = raw_problem(
            status,
            languages.in_every(title),
            languages.in_every(detail),
            (*headers, ("Content-Language", ", ".join(languages.supported))),
        )

    def __call__(self, language: str = EVERY) -> bytes:
        """The answer in `language` (one of the loaded ones), or in every one (EVERY)."""
        return self.answers.get(language) or self.answers[EVERY]
