"""Replay every vignette and rule case as a patient of the interview; docs/interview-report.md.

Each case's intake holds the patient's answers; a question the case leaves out is answered
"unknown" (null for a number) when the interview asks it. The interview's disposition at
`complete` is compared with the full form's: /v1/triage's answer on the case's whole intake.
`python -m service.review.interview_report --out docs/interview-report.md` (make
interview-report) writes the report; tests/review/test_interview_report.py fails on any
difference and on a stale report.
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.config import ROOT
from service.domain.assessor import Triage
from service.domain.findings import FINDINGS
from service.domain.intake_validator import validate_intake
from service.domain.interview import Disposition, Interviewer, load_policy
from service.domain.ruleset_loader import load_ruleset
from service.review.cases import Case, load_cases, load_vignettes

GROUPED = 10  # max_questions for the grouped replay: one whole group per screen


class ReplayError(AssertionError):
    """The interview asked a question twice or did not stop within the form's questions."""


@dataclass(frozen=True)
class Replay:
    """One case interviewed: the questions asked, the screens, and both dispositions."""

    source: str  # "vignette" or "rule case"
    name: str
    asked: tuple[str, ...]
    screens: int
    grouped_questions: int
    grouped_screens: int
    interview: Disposition
    full_form: Disposition

    @property
    def differs(self) -> bool:
        return self.interview != self.full_form


def interview(
    interviewer: Interviewer,
    patient: Mapping[str, Mapping[str, Any]],
    max_questions: int = 1,
    start: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[dict[str, dict[str, Any]], list[str], int]:
    """Interview a patient whose answers are `patient` (left out: unknown) from `start`.

    Returns the intake at `complete`, the questions asked in order, and the screens (steps).
    Raises ReplayError if a question is asked twice or more steps than questions are needed.
    """
    intake = {group: dict(answers) for group, answers in (start or {}).items()}
    asked: list[str] = []
    screens = 0
    while (step := interviewer.step(intake, max_questions)).status == "ask":
        screens += 1
        if not step.questions or screens > len(FINDINGS):
            raise ReplayError("the interview neither asks nor stops")
        for question in step.questions:
            finding = question.finding
            answers = intake.setdefault(finding.group, {})
            if finding.name in answers:
                raise ReplayError(f"{finding.name} asked again")
            given = patient.get(finding.group) or {}
            unknown = None if finding.is_numeric else "unknown"
            answers[finding.name] = given.get(finding.name, unknown)
            asked.append(finding.name)
    return intake, asked, screens


def _disposition(triage: Triage, intake: Mapping[str, Mapping[str, Any]]) -> Disposition:
    return Disposition.of(triage.assess(validate_intake(dict(intake)), decision_id="replay"))


def replay(triage: Triage, interviewer: Interviewer, source: str, case: Case) -> Replay:
    """One case through the interview, one question at a time and a group at a time."""
    patient = validate_intake(case.intake)
    intake, asked, screens = interview(interviewer, patient)
    grouped_intake, grouped, grouped_screens = interview(interviewer, patient, GROUPED)
    interviewed = _disposition(triage, intake)
    if _disposition(triage, grouped_intake) != interviewed:
        raise ReplayError(f"{case.name}: grouped and single interviews disagree")
    return Replay(
        source,
        case.name,
        tuple(asked),
        screens,
        len(grouped),
        grouped_screens,
        interviewed,
        _disposition(triage, patient),
    )


def replay_all(rules_dir: Path, vignettes: Path) -> list[Replay]:
    """Every vignette, then every rule case, replayed."""
    ruleset = load_ruleset(rules_dir)
    triage = Triage(ruleset)
    interviewer = Interviewer(ruleset, load_policy(rules_dir))
    cases = [("vignette", case) for case in load_vignettes(vignettes)]
    cases += [("rule case", case) for case in load_cases(rules_dir)]
    return [replay(triage, interviewer, source, case) for source, case in cases]


def percentile(values: Sequence[int], share: float) -> int:
    """The nearest-rank percentile: the smallest value with at least `share` of them at or below."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def _figures(counts: Sequence[int]) -> str:
    return (
        f"{statistics.fmean(counts):.1f} | {statistics.median(counts):g} | "
        f"{percentile(counts, 0.95)} | {max(counts)} | {min(counts)}"
    )


def render(replays: Sequence[Replay], ruleset_identity: str, policy_identity: str) -> str:
    """The report, in Markdown: deterministic (no dates), so a test can check it is current."""
    form = len(FINDINGS)
    asked = [len(r.asked) for r in replays]
    differences = [r for r in replays if r.differs]
    lines = [
        "# Interview report",
        "",
        "Generated by `make interview-report` (`python -m service.review.interview_report`); "
        "`tests/review/test_interview_report.py` fails when it is not current or when any "
        "disposition differs. Each vignette (`tests/vignettes/vignettes.yaml`) and each rule case "
        "(`rules/*_test.yaml`) is a patient of `POST /v1/interview`'s interview: the case's "
        "answers are the patient's, and a question the case leaves out is answered unknown "
        "(null for a number) when it is asked. The interview's disposition at `complete` (level, "
        "urgency, destination, setting, clinician-review flag) is compared with the full form's: "
        "`/v1/triage` on the case's whole intake. How the questions are ordered and why the stop "
        "is exact: [interview.md](interview.md).",
        "",
        f"Ruleset {ruleset_identity}; question order {policy_identity}.",
        "",
        "## Summary",
        "",
        f"- Cases: **{len(replays)}** ({sum(r.source == 'vignette' for r in replays)} vignettes, "
        f"{sum(r.source == 'rule case' for r in replays)} rule cases).",
        f"- The full form: **{form}** questions.",
        f"- Questions asked, one at a time: mean **{statistics.fmean(asked):.1f}** "
        f"({statistics.fmean(asked) / form:.0%} of the form), median "
        f"**{statistics.median(asked):g}**, 95th percentile **{percentile(asked, 0.95)}**, "
        f"maximum **{max(asked)}**.",
        f"- Dispositions that differ from the full form's: **{len(differences)}**.",
        "",
        "## Questions asked",
        "",
        "Percentiles are nearest-rank. *Grouped* asks with `max_questions` "
        f"{GROUPED}: each screen shows the chosen question with the other questions of its group "
        "that can still matter (the danger signs on one screen, the three bone-tenderness "
        "points together); a group may ask a question that one at a time would have skipped.",
        "",
        "| cases | n | mean | median | p95 | max | min |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, chosen in (
        ("all, one at a time", replays),
        ("vignettes", [r for r in replays if r.source == "vignette"]),
        ("rule cases", [r for r in replays if r.source == "rule case"]),
    ):
        lines.append(f"| {label} | {len(chosen)} | {_figures([len(r.asked) for r in chosen])} |")
    lines += [
        f"| all, grouped: questions | {len(replays)} | "
        f"{_figures([r.grouped_questions for r in replays])} |",
        f"| all, grouped: screens | {len(replays)} | "
        f"{_figures([r.grouped_screens for r in replays])} |",
        f"| the full form | {len(replays)} | {form} | {form} | {form} | {form} | {form} |",
        "",
        "## By the disposition's urgency",
        "",
        "| urgency | cases | mean questions | max |",
        "|---|---:|---:|---:|",
    ]
    urgencies = sorted({r.full_form.urgency for r in replays}, key=_URGENCY_ORDER.index)
    for urgency in reversed(urgencies):
        counts = [len(r.asked) for r in replays if r.full_form.urgency == urgency]
        lines.append(
            f"| {urgency} | {len(counts)} | {statistics.fmean(counts):.1f} | {max(counts)} |"
        )
    lines += [
        "",
        "## How often each question is asked",
        "",
        "Share of the cases whose interview asks it, one at a time (a question never asked is "
        "listed with 0%).",
        "",
        "| question | asked in |",
        "|---|---:|",
    ]
    for name in sorted(FINDINGS, key=lambda n: (-sum(n in r.asked for r in replays), n)):
        share = sum(name in r.asked for r in replays) / len(replays)
        lines.append(f"| `{name}` | {share:.0%} |")
    lines += ["", "## Differences from the full form", ""]
    if not differences:
        lines.append("None: every interview ends with the full form's disposition.")
    for replay_ in differences:
        lines.append(
            f"- {replay_.source} {replay_.name}: interview {replay_.interview}, "
            f"full form {replay_.full_form}"
        )
    return "\n".join(lines) + "\n"


_URGENCY_ORDER = ("routine", "soon", "urgent", "emergency")


def build(rules_dir: Path | None = None, vignettes: Path | None = None) -> tuple[str, int]:
    """The report for the repository's rules and vignettes, and the number of differences."""
    rules_dir = rules_dir or ROOT / "rules"
    vignettes = vignettes or ROOT / "tests" / "vignettes" / "vignettes.yaml"
    replays = replay_all(rules_dir, vignettes)
    ruleset = load_ruleset(rules_dir)
    policy = load_policy(rules_dir)
    text = render(
        replays,
        f"`{ruleset.id}` {ruleset.version} (sha256 `{ruleset.sha256[:12]}…`)",
        f"`{policy.id}` {policy.version} (sha256 `{policy.sha256[:12]}…`)",
    )
    return text, sum(r.differs for r in replays)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the report; exit 1 when any disposition differs from the full form's."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "interview-report.md")
    args = parser.parse_args(argv)
    text, differences = build()
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}: {differences} disposition difference(s)")
    return 1 if differences else 0


if __name__ == "__main__":
    raise SystemExit(main())
