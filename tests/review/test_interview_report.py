"""docs/interview-report.md is current, and no interview's disposition differs from the form's."""

from __future__ import annotations

import pytest

from service.review.interview_report import build, percentile
from tests.helpers import ROOT

# Replays every vignette and rule case through the interview: seconds, not the quick loop.
pytestmark = pytest.mark.slow

REPORT = ROOT / "docs" / "interview-report.md"


@pytest.fixture(scope="module")
def report() -> tuple[str, int]:
    """Every vignette and rule case replayed now (about 15 s)."""
    return build()


def test_no_interview_disposition_differs_from_the_full_form(report: tuple[str, int]) -> None:
    """Every replayed case ends with the full form's level, urgency, destination, setting and
    review flag (any difference is a defect of the stop, never acceptable)."""
    text, differences = report
    assert differences == 0
    assert "Dispositions that differ from the full form's: **0**." in text


def test_the_committed_report_is_current(report: tuple[str, int]) -> None:
    """The report in docs/ is what the rules, cases and question order give today."""
    assert REPORT.read_text(encoding="utf-8") == report[0], "run make interview-report"


def test_the_percentile_is_nearest_rank() -> None:
    """p95 of 1..20 is 19; of one value, that value."""
    assert percentile(list(range(1, 21)), 0.95) == 19
    assert percentile([7], 0.95) == 7
    assert percentile([3, 1, 2], 0.5) == 2
