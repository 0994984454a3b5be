"""Command line for rule review: check, catalogue, report, diff (python -m service.review)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from service.config import ROOT, VIGNETTES
from service.domain.assessor import Triage
from service.domain.ruleset_loader import load_ruleset
from service.exceptions import TriageError
from service.review.cases import Case, load_cases, load_vignettes
from service.review.changes_report import changes, render_changes
from service.review.coverage import own_family_coverage
from service.review.release_replay import replay_here, replay_release
from service.review.replay import Replay, replay
from service.review.rule_catalogue import render_catalogue
from service.review.safety_report import render_safety_report
from service.review.unknown_audit import audit, render_counts

RULES = ROOT / "rules"


def _triage(folder: Path) -> Triage:
    triage = Triage(load_ruleset(folder))
    triage.self_check()
    return triage


def _check(args: argparse.Namespace) -> int:
    triage = _triage(args.rules)
    cases = load_cases(args.rules)
    failures = [result for result in replay(triage, cases) if result.expectation_errors()]
    for result in failures:
        print(
            f"FAIL {result.case.family}: {result.case.name}: "
            f"{'; '.join(result.expectation_errors())}"
        )
    gaps = 0
    print(f"{'rule':6} {'fires in':>8} {'silent in':>9}  family")
    for rule in triage.ruleset.rules:
        counts = own_family_coverage(rule, cases)
        gaps += not counts.covered
        flag = "" if counts.covered else "  <- needs a firing and a silent case"
        print(f"{rule.id:6} {counts.fired_in:>8} {counts.silent_in:>9}  {rule.family}{flag}")
    ruleset = triage.ruleset
    print(f"{ruleset.id} {ruleset.version} sha256 {ruleset.sha256}")
    print(
        f"{len(cases) - len(failures)} passed, {len(failures)} failed; "
        f"{len(ruleset.rules) - gaps}/{len(ruleset.rules)} rules covered"
    )
    return 1 if failures or gaps else 0


def _write(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}")


def _catalogue(args: argparse.Namespace) -> int:
    ruleset = load_ruleset(args.rules)
    _write(render_catalogue(ruleset, load_cases(args.rules)), args.out)
    return 0


def suites(triage: Triage, rules: Path, vignettes: Path) -> dict[str, list[Replay]]:
    """The rule cases and the vignettes, replayed."""
    return {
        "rule cases": replay(triage, load_cases(rules)),
        "vignettes": replay(triage, load_vignettes(vignettes)),
    }


def _report(args: argparse.Namespace) -> int:
    triage = _triage(args.rules)
    _write(
        render_safety_report(triage.ruleset, suites(triage, args.rules, args.vignettes)), args.out
    )
    return 0


def _union(old: Sequence[Case], new: Sequence[Case]) -> list[Case]:
    by_key = {(case.family, case.name): case for case in old}
    by_key.update({(case.family, case.name): case for case in new})
    return list(by_key.values())


def _diff(args: argparse.Namespace) -> int:
    new = _triage(args.new)
    cases = _union(load_cases(args.old), load_cases(args.new)) + load_vignettes(args.vignettes)
    intakes = [case.intake for case in cases]
    # The older release through its own code when given: its vocabulary, loader and aggregation.
    before = (
        replay_release(args.old_code, args.old, intakes)
        if args.old_code
        else replay_here(_triage(args.old), intakes)
    )
    after = replay_here(new, intakes)
    command = "python -m service.review " + " ".join(args.raw)
    text = render_changes(cases, before, after, new.ruleset.urgencies, new.ruleset.levels, command)
    _write(text, args.out)
    return 1 if changes(cases, before, after) else 0


def _unknowns(args: argparse.Namespace) -> int:
    counts = audit(_triage(args.rules))
    sys.stdout.write(render_counts(counts))
    return 0 if all(entry.listed == entry.lowered for entry in counts.values()) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run one command; exit 2 on an invalid rules folder."""
    parser = argparse.ArgumentParser(prog="python -m service.review", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="load the rules, run every case, print coverage")
    check.add_argument("--rules", type=Path, default=RULES)
    check.set_defaults(run=_check)
    catalogue = commands.add_parser("catalogue", help="write the rule catalogue (Markdown)")
    catalogue.add_argument("--rules", type=Path, default=RULES)
    catalogue.add_argument("--out", type=Path, default=None)
    catalogue.set_defaults(run=_catalogue)
    report = commands.add_parser("report", help="write the safety report (Markdown)")
    report.add_argument("--rules", type=Path, default=RULES)
    report.add_argument("--vignettes", type=Path, default=VIGNETTES)
    report.add_argument("--out", type=Path, default=None)
    report.set_defaults(run=_report)
    diff = commands.add_parser("diff", help="replay cases and vignettes against two rule sets")
    diff.add_argument("old", type=Path)
    diff.add_argument("new", type=Path)
    diff.add_argument("--vignettes", type=Path, default=VIGNETTES)
    diff.add_argument(
        "--old-code", type=Path, default=None, help="source tree of the older release"
    )
    diff.add_argument("--out", type=Path, default=None)
    diff.set_defaults(run=_diff)
    unknowns = commands.add_parser(
        "unknowns", help="count where an unknown number or choice gives less than an answer"
    )
    unknowns.add_argument("--rules", type=Path, default=RULES)
    unknowns.set_defaults(run=_unknowns)
    args = parser.parse_args(argv)
    args.raw = list(argv if argv is not None else sys.argv[1:])
    try:
        code: int = args.run(args)
    except TriageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
