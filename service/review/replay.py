"""Replay case suites through the real engine and report under- and over-triage."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from service.domain.assessor import Triage
from service.domain.decision import rank_of
from service.domain.intake_validator import validate_intake
from service.domain.ruleset import Ruleset
from service.review.cases import Case


@dataclass(frozen=True)
class Replay:
    """One case and what the ruleset answered for it."""

    case: Case
    level: str
    urgency: str
    fired: tuple[str, ...]
    destination: str = ""
    setting: str = ""
    needs_clinician_review: bool = False

    def expectation_errors(self) -> list[str]:
        """What differs from the case's expectations (empty when it passes)."""
        errors = []
        if (self.level, self.urgency) != (self.case.level, self.case.urgency):
            errors.append(
                f"expected {self.case.level}/{self.case.urgency}, got {self.level}/{self.urgency}"
            )
        if missing := sorted(set(self.case.fired) - set(self.fired)):
            errors.append(f"did not fire {missing}")
        if unwanted := sorted(set(self.case.not_fired) & set(self.fired)):
            errors.append(f"fired {unwanted}, expected silent")
        for name in ("destination", "setting", "needs_clinician_review"):
            want, got = getattr(self.case, name), getattr(self, name)
            if want is not None and want != got:
                errors.append(f"expected {name} {want}, got {got}")
        return errors


def replay(triage: Triage, cases: Sequence[Case]) -> list[Replay]:
    """Each case's intake, validated as the API does, through the engine and the decision."""
    results = []
    for case in cases:
        answer = triage.assess(validate_intake(case.intake), decision_id="replay")
        fired = tuple(entry["rule_id"] for entry in answer["rationale"])
        results.append(
            Replay(
                case,
                answer["level"],
                answer["urgency"],
                fired,
                answer["destination"],
                answer["setting"],
                answer["needs_clinician_review"],
            )
        )
    return results


def triage_error(ruleset: Ruleset, result: Replay) -> int:
    """-1 under-triage, 0 as expected, 1 over-triage."""
    got = rank_of(ruleset.urgencies, ruleset.levels, result.urgency, result.level)
    want = rank_of(ruleset.urgencies, ruleset.levels, result.case.urgency, result.case.level)
    return (got > want) - (got < want)


@dataclass(frozen=True)
class SuiteRow:
    """One line of the summary: a suite's counts."""

    suite: str
    cases: int
    as_expected: int
    under: int
    over: int
    other: int


@dataclass(frozen=True)
class SafetySummary:
    """Everything the safety report shows, computed once from replayed suites."""

    ruleset: Ruleset
    suites: tuple[str, ...]
    total: int
    rows: tuple[SuiteRow, ...]
    levels: Counter[tuple[str, str]]  # (expected, returned) -> count
    urgencies: Counter[tuple[str, str]]
    misses: tuple[Replay, ...]
    fires: Counter[str]  # rule id -> cases it fired in, all suites
    fires_by_suite: dict[str, Counter[str]]
    never_fired: tuple[str, ...]


def summarise(ruleset: Ruleset, suites: Mapping[str, Sequence[Replay]]) -> SafetySummary:
    """Confusion counts, under/over-triage per suite, misses and rule firing frequencies."""
    everything = [result for results in suites.values() for result in results]
    rows = []
    for name, results in (*suites.items(), ("all", everything)):
        errors = Counter(triage_error(ruleset, result) for result in results)
        other = sum(
            1
            for result in results
            if triage_error(ruleset, result) == 0 and result.expectation_errors()
        )
        rows.append(SuiteRow(name, len(results), errors[0], errors[-1], errors[1], other))
    fires = Counter(rule_id for result in everything for rule_id in set(result.fired))
    return SafetySummary(
        ruleset=ruleset,
        suites=tuple(suites),
        total=len(everything),
        rows=tuple(rows),
        levels=Counter((result.case.level, result.level) for result in everything),
        urgencies=Counter((result.case.urgency, result.urgency) for result in everything),
        misses=tuple(result for result in everything if result.expectation_errors()),
        fires=fires,
        fires_by_suite={
            name: Counter(rule_id for result in results for rule_id in set(result.fired))
            for name, results in suites.items()
        },
        never_fired=tuple(
            rule.id for rule in (*ruleset.rules, ruleset.default) if not fires[rule.id]
        ),
    )


def _table(title: str, names: Sequence[str], pairs: Counter[tuple[str, str]]) -> list[str]:
    lines = [f"| {title} | " + " | ".join(f"got {n}" for n in names) + " |"]
    lines.append("|---" * (len(names) + 1) + "|")
    for expected in names:
        row = [str(pairs[(expected, got)]) for got in names]
        lines.append(f"| expected {expected} | " + " | ".join(row) + " |")
    return lines


def _rate(count: int, total: int) -> str:
    return f"{count} ({100 * count / total:.1f}%)" if total else "0"


def render_safety_report(ruleset: Ruleset, suites: Mapping[str, Sequence[Replay]]) -> str:
    """Markdown report: confusion tables, under/over-triage, rule firing frequencies."""
    summary = summarise(ruleset, suites)
    lines = [
        f"# Safety report: {ruleset.id} {ruleset.version}",
        "",
        "Generated by `make safety-report` (`python -m service.review report`); do not edit.",
        "`tests/review/test_safety_report.py` fails when it is out of date, "
        "and on any under-triage.",
        "",
        f"- ruleset sha256: `{ruleset.sha256}`",
        "- results are ordered by urgency, then level: under-triage is a returned result below the",
        "  expected one, over-triage one above it.",
        "",
        "## Summary",
        "",
        "| suite | cases | as expected | under-triage | over-triage | other expectation failures |",
        "|---|---|---|---|---|---|",
    ]
    for row in summary.rows:
        lines.append(
            f"| {row.suite} | {row.cases} | {_rate(row.as_expected, row.cases)} | "
            f"{_rate(row.under, row.cases)} | {_rate(row.over, row.cases)} | {row.other} |"
        )
    lines += ["", "## Level: expected against returned", ""]
    lines += _table("level", ruleset.levels, summary.levels)
    lines += ["", "## Urgency: expected against returned", ""]
    lines += _table("urgency", ruleset.urgencies, summary.urgencies)
    lines += ["", "## Cases not as expected", ""]
    lines += [
        f"- {result.case.family}: {result.case.name}: {'; '.join(result.expectation_errors())}"
        for result in summary.misses
    ] or ["None."]
    lines += ["", "## How often each rule fires", ""]
    lines.append("| rule | level / urgency | " + " | ".join(suites) + f" | all ({summary.total}) |")
    lines.append("|---" * (len(suites) + 3) + "|")
    for rule in (*ruleset.rules, ruleset.default):
        counts = " | ".join(str(summary.fires_by_suite[name][rule.id]) for name in suites)
        lines.append(
            f"| {rule.id} | {rule.level} / {rule.urgency} | {counts} | {summary.fires[rule.id]} |"
        )
    never = summary.never_fired
    lines += ["", "## Rules never fired", ""]
    lines.append(", ".join(never) if never else "None.")
    if ruleset.default.id in never:
        lines.append(
            f"\n{ruleset.default.id} is the default: it cannot fire on a valid intake "
            "(clinical.md 1.4.4)."
        )
    return "\n".join(lines).rstrip() + "\n"
