"""docs/safety-report.md is current, and no case or vignette is under-triaged."""

from __future__ import annotations

from dataclasses import replace

from service.domain.assessor import Triage
from service.review.cli import RULES, VIGNETTES, suites
from service.review.replay import triage_error
from service.review.safety_report import render_safety_report
from tests.helpers import ROOT, shipped_ruleset

TRIAGE = Triage(shipped_ruleset())
SUITES = suites(TRIAGE, RULES, VIGNETTES)


def test_no_under_triage() -> None:
    """Not one case or vignette gets a result below what it expects."""
    under = [
        f"{result.case.family}: {result.case.name} ({result.urgency}/{result.level})"
        for results in SUITES.values()
        for result in results
        if triage_error(TRIAGE.ruleset, result) < 0
    ]
    assert under == []


def test_committed_report_is_up_to_date() -> None:
    """The committed report is what `make safety-report` writes today."""
    expected = render_safety_report(TRIAGE.ruleset, SUITES)
    assert (ROOT / "docs" / "safety-report.md").read_text(encoding="utf-8") == expected


def test_report_shows_an_under_triage() -> None:
    """The report would show an under-triage: a case expecting more than it gets is counted."""
    (first, *rest) = SUITES["rule cases"]
    demanding = replace(first, case=replace(first.case, urgency="emergency"))
    text = render_safety_report(TRIAGE.ruleset, {"rule cases": [demanding, *rest]})
    assert "| rule cases | " in text
    assert triage_error(TRIAGE.ruleset, demanding) == -1
    row = next(line for line in text.splitlines() if line.startswith("| rule cases |"))
    assert row.split("|")[4].strip().startswith("1 ")


def test_change_report_describes_this_ruleset() -> None:
    """docs/ruleset-2027.1-changes.md was generated against the rules as they are now (rerun
    `python -m service.review diff ... --old-code ...` after a rule change, see rules/README.md),
    and no case went to a lower (urgency, level) from 2026.11.2."""
    text = (ROOT / "docs" / "ruleset-2027.1-changes.md").read_text(encoding="utf-8")
    assert f"- after: {TRIAGE.ruleset.version}, sha256 `{TRIAGE.ruleset.sha256}`" in text
    assert ", 0 to a lower one," in text
