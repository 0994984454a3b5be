"""A pseudo-locale made from the English catalogue: every text wrapped in ⟦…⟧, through the same
locale mechanism as Spanish, so that any text that bypasses the locale files shows unwrapped."""

from __future__ import annotations

import html
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from service.domain.locales import locale_document
from service.domain.ruleset_loader import load_ruleset
from tests.helpers import RULES
from tests.helpers.yaml_text import dump_yaml

PSEUDO = "en-XA"  # the pseudo-locale tag Android and Chromium use for wrapped English
OPEN, CLOSE = "⟦", "⟧"


def pseudo(_key: str, text: str) -> str:
    """English wrapped: a text shown wrapped went through the locale files."""
    return f"{OPEN}{text}{CLOSE}"


def is_wrapped(text: str) -> bool:
    return text.startswith(OPEN) and text.endswith(CLOSE)


def write_locale(folder: Path, document: dict[str, Any]) -> Path:
    """Write a locale file into a rules folder's locales/ (replacing one of that language)."""
    path = folder / "locales" / f"{document['language']}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(dump_yaml(document, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def rules_with_pseudo_locale(tmp: Path) -> Path:
    """A copy of rules/ with the pseudo-locale added beside the real locale files."""
    folder = tmp / "rules"
    shutil.copytree(RULES, folder)
    english = load_ruleset(folder).texts
    write_locale(folder, locale_document(english, PSEUDO, "Pseudo (wrapped English)", pseudo))
    return folder


class PageTexts(HTMLParser):
    """The text a person reads on a page (and the attributes read aloud), without the parts
    that are codes or bibliography (<code>, the rule and source ids, the sources list) and
    those the page itself marks as English (`lang="en"`: the rule conditions, case names)."""

    SKIP_CLASSES = frozenset({"citations", "rule-ids", "meta-codes", "cite"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._skip: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        classes = set((values.get("class") or "").split())
        declared_english = values.get("lang") == "en" and tag != "html"  # said to be English
        if tag in ("code", "script", "style", "title") or classes & self.SKIP_CLASSES:
            self._skip.append(tag)
        elif declared_english and not self._skip:
            self._skip.append(tag)
        elif self._skip and tag == self._skip[-1]:
            self._skip.append(tag)
        for name in ("aria-label", "title"):
            if values.get(name) and not self._skip:
                self.texts.append(str(values[name]))

    def handle_endtag(self, tag: str) -> None:
        if self._skip and tag == self._skip[-1]:
            self._skip.pop()

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def english_left(text: str) -> str:
    """The English words of a text once every wrapped part, id, digest and code is taken out."""
    while (unwrapped := re.sub(r"⟦[^⟦⟧]*⟧", " ", text)) != text:  # innermost first: nested
        text = unwrapped
    text = re.sub(r"\b[A-Z]+[0-9]+[a-z]?\b|\bDEF\b", " ", text)  # rule ids
    text = re.sub(r"\b[0-9a-f]{12,64}\b|\b[0-9a-f-]{36}\b", " ", text)  # digests, decision ids
    text = re.sub(r"\b(forefoot-triage|English|Español|Pseudo|wrapped|sha256)\b", " ", text)
    text = re.sub(
        r"\b[a-z]+[a-z0-9]*_[a-z0-9_]+\b|\b(ottawa|acr|lisfranc|iwgdf|article)\b", " ", text
    )
    return " ".join(re.findall(r"[A-Za-z]{2,}", text))


def english_left_on(page: str) -> list[tuple[str, str]]:
    """(text, English words) of every text on an HTML page that was not wrapped."""
    reader = PageTexts()
    reader.feed(page)
    left = [(text, english_left(html.unescape(text))) for text in reader.texts]
    return [(text, words) for text, words in left if words]
