"""What the catalogue and safety pages show, computed once per worker on first use."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from service.cases import Case, load_cases
from service.rules import VIGNETTES, suites
from service.safety import SafetySummary, replay, summarise
from service.triage import Triage

_LOCK = threading.Lock()
_KEY = "site_data"


@dataclass(frozen=True)
class SiteData:
    """The rule cases and the safety summary of the app's ruleset."""

    cases: tuple[Case, ...]
    safety: SafetySummary
    with_vignettes: bool


def _build(triage: Triage, rules: Path, vignettes: Path) -> SiteData:
    cases = load_cases(rules)
    if vignettes.is_file():
        replayed = suites(triage, rules, vignettes)
    else:  # the container ships rules/ but not tests/: the rule cases only
        replayed = {"rule cases": replay(triage, cases)}
    return SiteData(tuple(cases), summarise(triage.ruleset, replayed), vignettes.is_file())


def site_data() -> SiteData:
    """The current app's SiteData, built on the first call in this worker and then reused."""
    extensions = current_app.extensions
    if _KEY not in extensions:
        with _LOCK:
            if _KEY not in extensions:
                triage: Triage = extensions["triage"]
                rules = Path(current_app.config["RULES_DIR"])
                extensions[_KEY] = _build(triage, rules, VIGNETTES)
    data: SiteData = extensions[_KEY]
    return data
