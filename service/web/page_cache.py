"""What the catalogue and safety pages show: loaded, checked and replayed once, at start.

create_app builds it with the ruleset (in the gunicorn master, so every worker shares it): a case
or vignette file changed afterwards changes nothing the pages show, and one the service cannot
show stops the start, naming the file, as a broken rules folder does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from marshmallow import ValidationError

from service.domain.assessor import Triage
from service.domain.ruleset import Ruleset
from service.domain.ruleset_loader import CASES_SUFFIX, content_digest
from service.exceptions import SiteDataError, TriageError
from service.http.health import SITE_DATA
from service.review.cases import Case, load_cases, load_vignettes
from service.review.replay import Replay, replay
from service.review.safety_report import SafetySummary, summarise


@dataclass(frozen=True)
class SiteData:
    """The rule cases, the safety summary of the ruleset, and the digest of what they came from.

    sha256: of the canonical JSON (keys sorted, UTF-8) of {"cases": {file name: parsed content
    of each rules/*_test.yaml}, "vignettes": parsed content of the vignette file, or null}: the
    parsed content, not the bytes, as the ruleset's digest.
    """

    cases: tuple[Case, ...]
    safety: SafetySummary
    vignettes: int | None  # how many vignettes were replayed; None: no vignette file here
    sha256: str

    @property
    def with_vignettes(self) -> bool:
        return self.vignettes is not None

    @property
    def identity(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "rule_cases": len(self.cases), "vignettes": self.vignettes}


def digest(cases: dict[str, Any], vignettes: Any) -> str:
    """sha256 of the parsed case files (by file name) and the parsed vignette file (or None)."""
    return content_digest({"cases": cases, "vignettes": vignettes})


def _check(ruleset: Ruleset, case: Case, where: Path) -> None:
    """Every outcome a case expects is one the ruleset can give (else /safety could not rank it)."""
    known = {
        "level": ruleset.levels,
        "urgency": ruleset.urgencies,
        "destination": tuple(ruleset.destinations),
        "setting": ruleset.settings,
    }
    for name, values in known.items():
        value = getattr(case, name)
        if value is not None and value not in values:
            raise SiteDataError(f"{where}: case '{case.name}': {name} '{value}' is not known")
    if unknown := sorted({*case.fired, *case.not_fired} - set(ruleset.by_id)):
        raise SiteDataError(f"{where}: case '{case.name}': no rule {', '.join(unknown)}")


def _replay(triage: Triage, cases: Sequence[Case], where: dict[str, Path]) -> list[Replay]:
    """Each case checked and replayed as the API would; where: each family's file."""
    results = []
    for case in cases:
        _check(triage.ruleset, case, where[case.family])
        try:
            results += replay(triage, [case])
        except ValidationError as error:
            raise SiteDataError(
                f"{where[case.family]}: case '{case.name}': not a valid intake: {error.messages}"
            ) from None
        except TriageError as error:
            raise SiteDataError(f"{where[case.family]}: case '{case.name}': {error}") from None
    return results


def load_site_data(triage: Triage, rules: str | Path, vignettes: str | Path | None) -> SiteData:
    """Load, check and replay the rule cases of rules/ and the vignettes (None: rule cases only).

    Raises SiteDataError (a CaseFileError for a file of the wrong shape) naming the file.
    """
    folder = Path(rules)
    parsed_cases: dict[str, Any] = {}
    cases = load_cases(folder, parsed_cases)
    where = {case.family: folder / f"{case.family}{CASES_SUFFIX}" for case in cases}
    suites = {"rule cases": _replay(triage, cases, where)}
    parsed_vignettes: dict[str, Any] = {}
    count = None
    if vignettes is not None:
        path = Path(vignettes)
        stories = load_vignettes(path, parsed_vignettes)
        suites["vignettes"] = _replay(triage, stories, {"vignette": path})
        count = len(stories)
    sha256 = digest(parsed_cases, next(iter(parsed_vignettes.values()), None))
    return SiteData(tuple(cases), summarise(triage.ruleset, suites), count, sha256)


def site_data() -> SiteData:
    """The current app's SiteData, built by create_app."""
    data: SiteData = current_app.extensions[SITE_DATA]
    return data
