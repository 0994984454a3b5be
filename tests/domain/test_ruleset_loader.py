"""The loader refuses every broken rules folder, naming the file and the rule at fault."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from service.domain.ruleset_loader import load_ruleset
from service.exceptions import RulesetError
from tests.helpers import RULES
from tests.helpers.yaml_text import dump_yaml, load_yaml


def test_wording_is_part_of_the_digest(tmp_path: Path) -> None:
    """A question's wording is ruleset content: changing it changes the digest."""
    folder = _copy(tmp_path)
    before = load_ruleset(folder).sha256
    _edit(folder, "questions.yaml", lambda d: d["questions"]["fever"].update(label="Fever?"))
    after = load_ruleset(folder)
    assert after.sha256 != before
    assert after.questions["fever"].label == "Fever?"


def _copy(tmp_path: Path) -> Path:
    """The rules without their translations: these tests change English texts at will
    (tests/domain/test_locales.py checks the translations)."""
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder, ignore=shutil.ignore_patterns("locales"))
    return folder


def _edit(folder: Path, name: str, change: Callable[[Any], None]) -> None:
    path = folder / name
    data = load_yaml(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(dump_yaml(data, sort_keys=False), encoding="utf-8")


def _rule(data: Any, rule_id: str) -> dict[str, Any]:
    rule: dict[str, Any] = next(r for r in data["rules"] if r["id"] == rule_id)
    return rule


def _set(rule_id: str, key: str, value: Any) -> Callable[[Any], None]:
    def change(data: Any) -> None:
        _rule(data, rule_id)[key] = value

    return change


REFUSALS = [
    (
        "unknown finding",
        "fracture.yaml",
        _set("UR3", "when", "Y(plantar_bruises)"),
        "rule UR3: unknown finding 'plantar_bruises'",
    ),
    (
        "unknown value",
        "fracture.yaml",
        _set("UR3", "when", "onset == trauma"),
        "rule UR3: unknown value 'trauma' for 'onset'",
    ),
    (
        "unknown operator",
        "pain.yaml",
        _set("SN8", "when", {"xor": ["Y(fever)"]}),
        "rule SN8: unknown operator 'xor'",
    ),
    (
        "unreadable leaf",
        "pain.yaml",
        _set("SN8", "when", "pain_nrs ~ 7"),
        "rule SN8: cannot read the condition 'pain_nrs ~ 7'",
    ),
    (
        "number out of range",
        "pain.yaml",
        _set("SN8", "when", "pain_nrs >= 11"),
        "rule SN8: value 11 is outside the range of 'pain_nrs'",
    ),
    (
        "ordering a word",
        "pain.yaml",
        _set("SN8", "when", "onset > injury"),
        "rule SN8: operator '>' does not apply to 'onset'",
    ),
    (
        "Y() of a number",
        "pain.yaml",
        _set("SN8", "when", "Y(pain_nrs)"),
        "rule SN8: Y() needs a yes/no/unknown finding",
    ),
    (
        "unknown helper",
        "pain.yaml",
        _set("SN8", "when", "SEVERE"),
        "rule SN8: unknown helper 'SEVERE'",
    ),
    (
        "empty any",
        "pain.yaml",
        _set("SN8", "when", {"any": []}),
        "rule SN8: 'any' needs a non-empty list",
    ),
    (
        "unknown citation",
        "pain.yaml",
        _set("SN8", "citations", ["pain_vas"]),
        "rule SN8: unknown citation key 'pain_vas'",
    ),
    (
        "no citation",
        "pain.yaml",
        _set("SN8", "citations", []),
        "rule SN8: a rule must carry at least one citation",
    ),
    (
        "missing citations key",
        "pain.yaml",
        lambda d: _rule(d, "SN8").pop("citations"),
        "rule SN8: citations: Missing data for required field.",
    ),
    (
        "level outside manifest",
        "pain.yaml",
        _set("SN8", "level", "podiatrist"),
        "rule SN8: level 'podiatrist' is not in the manifest",
    ),
    (
        "urgency outside manifest",
        "pain.yaml",
        _set("SN8", "urgency", "asap"),
        "rule SN8: urgency 'asap' is not in the manifest",
    ),
    (
        "destination outside manifest",
        "pain.yaml",
        _set("SN8", "destination", "gym"),
        "rule SN8: destination 'gym' is not in the manifest",
    ),
    (
        "emergency without escalation",
        "emergency.yaml",
        lambda d: _rule(d, "EM2").pop("escalation"),
        "rule EM2: rules of the highest urgency, and only they, escalate",
    ),
    (
        "unknown rule key",
        "pain.yaml",
        _set("SN8", "severity", "high"),
        "rule SN8: severity: Unknown field.",
    ),
    (
        "non-integer version",
        "pain.yaml",
        _set("SN8", "version", "1"),
        "rule SN8: version: Not a valid integer.",
    ),
    (
        "second rule without condition",
        "pain.yaml",
        lambda d: _rule(d, "SN8").pop("when"),
        "rule SN8: only the default rule (DEF) has no condition",
    ),
    (
        "default rule removed",
        "self_care.yaml",
        lambda d: d.update(rules=[r for r in d["rules"] if r["id"] != "DEF"]),
        "ruleset.yaml: default_rule DEF is not defined",
    ),
    ("duplicate id", "pain.yaml", _set("SN8", "id", "SN7"), "pain.yaml: rule SN7: duplicate id"),
    (
        "duplicate id across files",
        "pain.yaml",
        _set("SN8", "id", "UR1"),
        "rule UR1: duplicate id (also in fracture.yaml)",
    ),
    (
        "wrong family name",
        "pain.yaml",
        lambda d: d.update(family="ache"),
        "pain.yaml: declares family 'ache', not 'pain'",
    ),
    (
        "citation without references",
        "citations.yaml",
        lambda d: d["ottawa"].pop("references"),
        "citations.yaml: ottawa: references: Missing data for required field.",
    ),
    (
        "helper error",
        "ruleset.yaml",
        lambda d: d["helpers"].update(INJURY="onset == trauma"),
        "ruleset.yaml: helper INJURY: unknown value 'trauma'",
    ),
    (
        "rule without a setting",
        "pain.yaml",
        lambda d: _rule(d, "SN8").pop("setting"),
        "rule SN8: setting: Missing data for required field.",
    ),
    (
        "setting outside manifest",
        "pain.yaml",
        _set("SN8", "setting", "by_post"),
        "rule SN8: setting 'by_post' is not in the manifest",
    ),
    (
        "rule without a destination",
        "pain.yaml",
        lambda d: _rule(d, "SN8").pop("destination"),
        "rule SN8: destination: Missing data for required field.",
    ),
    (
        "informational rule above self-care",
        "pain.yaml",
        _set("SN8", "informational", True),
        "rule SN8: an informational rule has the lowest level and urgency",
    ),
    (
        "unknown shared advice line",
        "self_care.yaml",
        _set("SC2", "advice", [{"shared": "painkillers"}]),
        "rule SC2: unknown shared advice line 'painkillers'",
    ),
    (
        "malformed advice line",
        "completeness.yaml",
        _set("G2", "advice", [{"callback": "We will call."}]),
        "rule G2: advice: each line is text, 'call_back: <text>' or 'shared: <name>'",
    ),
    (
        "rule id prefix outside the index",
        "pain.yaml",
        _set("SN8", "id", "XX8"),
        "rule XX8: id prefix is not in the manifest's rule_index",
    ),
    (
        "advice condition error",
        "ruleset.yaml",
        lambda d: d["advice"]["additions"][0].update(when="Y(blood_thinner)"),
        "ruleset.yaml: advice A3: unknown finding 'blood_thinner'",
    ),
    (
        "situational question of an unknown finding",
        "ruleset.yaml",
        lambda d: d["asked_when"].update(pregnancy="INJURY"),
        "ruleset.yaml: asked_when: unknown finding 'pregnancy'",
    ),
    (
        "call-back destination outside the manifest",
        "ruleset.yaml",
        lambda d: d["advice"]["call_back"].update(destination="phone"),
        "ruleset.yaml: advice: call_back destination is not in the manifest",
    ),
    (
        "level listed twice",
        "ruleset.yaml",
        lambda d: d["levels"].append("self_care"),
        "ruleset.yaml: levels lists a name twice",
    ),
    (
        "a finding without wording",
        "questions.yaml",
        lambda d: d["questions"].pop("pain_nrs"),
        "questions.yaml: no wording for pain_nrs",
    ),
    (
        "wording for an unknown finding",
        "questions.yaml",
        lambda d: d["questions"].update(pain_score={"label": "Pain", "help": "0 to 10."}),
        "questions.yaml: unknown finding pain_score",
    ),
    (
        "a question without help",
        "questions.yaml",
        lambda d: d["questions"]["fever"].pop("help"),
        "questions.yaml: questions.fever.value.help: Missing data for required field.",
    ),
    (
        "a red-flag screen that is not a rule",
        "ruleset.yaml",
        lambda d: d.update(red_flag_screen="G99"),
        "ruleset.yaml: red_flag_screen: no rule G99",
    ),
    (
        "a card indicator missing for an urgency",
        "ruleset.yaml",
        lambda d: d["card_indicators"].pop("soon"),
        "ruleset.yaml: card_indicators: one indicator for each urgency",
    ),
]


@pytest.mark.parametrize(
    ("file_name", "change", "message"),
    [pytest.param(f, c, m, id=label) for label, f, c, m in REFUSALS],
)
def test_loader_refuses(
    tmp_path: Path, file_name: str, change: Callable[[Any], None], message: str
) -> None:
    """Each broken folder raises RulesetError whose message names the file and the rule."""
    folder = _copy(tmp_path)
    _edit(folder, file_name, change)
    with pytest.raises(RulesetError) as caught:
        load_ruleset(folder)
    assert message in str(caught.value)
    # The manifest is named when it declares what is missing; otherwise the edited file.
    named = "ruleset.yaml" if message.startswith("ruleset.yaml") else file_name
    assert named in str(caught.value)


def test_loader_refuses_invalid_yaml(tmp_path: Path) -> None:
    """A YAML syntax error names the file."""
    folder = _copy(tmp_path)
    (folder / "fracture.yaml").write_text("rules: [unclosed\n", encoding="utf-8")
    with pytest.raises(RulesetError, match=r"fracture\.yaml: not valid YAML"):
        load_ruleset(folder)


def test_loader_refuses_a_missing_family_file(tmp_path: Path) -> None:
    """A family listed in the manifest must exist."""
    folder = _copy(tmp_path)
    (folder / "pain.yaml").unlink()
    with pytest.raises(RulesetError, match=r"pain\.yaml: file is missing"):
        load_ruleset(folder)


def test_loader_refuses_a_stray_rule_file(tmp_path: Path) -> None:
    """A rule file the manifest does not list is an error, not silently skipped."""
    folder = _copy(tmp_path)
    shutil.copy(folder / "pain.yaml", folder / "extra.yaml")
    with pytest.raises(RulesetError, match=r"extra\.yaml: not a family listed in ruleset\.yaml"):
        load_ruleset(folder)


def test_loader_refuses_a_missing_folder(tmp_path: Path) -> None:
    """No folder, no service."""
    with pytest.raises(RulesetError, match="rules folder not found"):
        load_ruleset(tmp_path / "nowhere")


def test_digest_ignores_comments_but_not_content(tmp_path: Path) -> None:
    """sha256 covers what is loaded: a comment leaves it, a changed threshold moves it."""
    original = load_ruleset(RULES).sha256
    folder = _copy(tmp_path)
    pain = folder / "pain.yaml"
    pain.write_text("# a reviewer's comment\n" + pain.read_text(encoding="utf-8"), "utf-8")
    assert load_ruleset(folder).sha256 == original
    _edit(folder, "pain.yaml", _set("SN8", "when", "pain_nrs >= 8"))
    assert load_ruleset(folder).sha256 != original


def test_case_files_do_not_change_the_digest(tmp_path: Path) -> None:
    """Case files are tests, not rules: editing one keeps the digest."""
    folder = _copy(tmp_path)
    (folder / "pain_test.yaml").write_text("cases: []\n", encoding="utf-8")
    assert load_ruleset(folder).sha256 == load_ruleset(RULES).sha256


def test_loader_refuses_a_key_written_twice(tmp_path: Path) -> None:
    """A second `when:` in one rule would silently replace the first: refused, with its line."""
    folder = _copy(tmp_path)
    path = folder / "emergency.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            "    level: orthopedic_surgeon\n",
            "    when: Y(fever)\n    level: orthopedic_surgeon\n",
            1,
        ),
        encoding="utf-8",
    )
    with pytest.raises(
        RulesetError, match=r"emergency\.yaml: not valid YAML: .*duplicate key 'when'"
    ):
        load_ruleset(folder)
