"""python -m service.review: check, catalogue (kept current), diff between two rule folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.domain.ruleset_loader import load_ruleset
from service.review.cases import load_cases
from service.review.cli import main
from service.review.rule_catalogue import render_catalogue
from tests.helpers import ROOT, RULES
from tests.helpers.yaml_text import dump_yaml, load_yaml


def test_check_passes_on_the_real_rules(capsys: pytest.CaptureFixture[str]) -> None:
    """Every case passes and every rule is covered: exit 0 and a coverage table."""
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "0 failed" in out
    assert "54/54 rules covered" in out


def test_check_fails_on_a_wrong_expectation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A case whose expectation no longer holds makes check exit 1 and name it."""
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    path = folder / "pain_test.yaml"
    content = load_yaml(path.read_text(encoding="utf-8"))
    content["cases"][0]["expect"]["urgency"] = "emergency"
    path.write_text(dump_yaml(content, sort_keys=False), encoding="utf-8")
    assert main(["check", "--rules", str(folder)]) == 1
    assert f"FAIL pain: {content['cases'][0]['name']}" in capsys.readouterr().out


def test_check_refuses_a_broken_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An invalid rules folder: exit 2 with the loader's message."""
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    (folder / "pain.yaml").write_text("family: [\n", encoding="utf-8")
    assert main(["check", "--rules", str(folder)]) == 2
    assert "pain.yaml: not valid YAML" in capsys.readouterr().err


def test_catalogue_is_up_to_date() -> None:
    """docs/rules.md is what `catalogue` writes today (run `make catalogue` after a change)."""
    expected = render_catalogue(load_ruleset(RULES), load_cases(RULES))
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == expected


def test_catalogue_lists_every_rule_in_words() -> None:
    """Each rule has its condition in the question wording, level, urgency and citation titles."""
    ruleset = load_ruleset(RULES)
    text = render_catalogue(ruleset, load_cases(RULES))
    assert "### UR1 v2: Ottawa-positive" in text
    assert f"- {ruleset.questions['pain_nrs'].label} ≥ 7" in text
    assert "`orthopedic_surgeon` / `urgent`" in text
    assert "`ottawa` Ottawa ankle and foot (midfoot) rules" in text


@pytest.mark.slow
def test_diff_of_identical_folders_is_empty(capsys: pytest.CaptureFixture[str]) -> None:
    """Same rules on both sides: nothing changes, exit 0."""
    assert main(["diff", str(RULES), str(RULES)]) == 0
    assert "## Summary\n\n0 of" in capsys.readouterr().out


@pytest.mark.slow
def test_diff_lists_cases_whose_answer_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Raising the severe-pain threshold to 8 changes the pain-7 cases: exit 1, each listed."""
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    path = folder / "pain.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("pain_nrs >= 7", "pain_nrs >= 8"),
        encoding="utf-8",
    )
    assert main(["diff", str(RULES), str(folder)]) == 1
    out = capsys.readouterr().out
    assert "no longer fires SN8" in out
    assert "| soon · physical_therapist · physical_therapy · virtual_suitable | " in out
    assert "| lower |" in out


@pytest.mark.slow
def test_diff_replays_the_older_release_through_its_own_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--old-code runs the older side in a child process from that source tree: this tree
    against itself changes nothing, and a changed copy of the rules is seen through it."""
    out = tmp_path / "changes.md"
    assert main(["diff", str(RULES), str(RULES), "--old-code", str(ROOT), "--out", str(out)]) == 0
    assert "0 of" in out.read_text(encoding="utf-8")
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    path = folder / "pain.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("pain_nrs >= 7", "pain_nrs >= 8"),
        encoding="utf-8",
    )
    assert main(["diff", str(folder), str(RULES), "--old-code", str(ROOT)]) == 1
    assert "now fires SN8" in capsys.readouterr().out


def test_diff_refuses_a_folder_that_is_not_a_release(tmp_path: Path) -> None:
    """--old-code must be a source tree of this service: exit 2 with the reason."""
    assert main(["diff", str(RULES), str(RULES), "--old-code", str(tmp_path)]) == 2
