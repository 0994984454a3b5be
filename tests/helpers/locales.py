"""A pseudo-locale made from the English catalogue: every text wrapped in ⟦…⟧, through the same
locale mechanism as Spanish, so that any text that bypasses the locale files shows unwrapped."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from service.domain.locales import locale_document
from service.domain.ruleset_loader import load_ruleset
from tests.helpers import RULES

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
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def rules_with_pseudo_locale(tmp: Path) -> Path:
    """A copy of rules/ with the pseudo-locale added beside the real locale files."""
    folder = tmp / "rules"
    shutil.copytree(RULES, folder)
    english = load_ruleset(folder).texts
    write_locale(folder, locale_document(english, PSEUDO, "Pseudo (wrapped English)", pseudo))
    return folder
