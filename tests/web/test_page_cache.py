"""What the pages show is loaded, checked and replayed once, at start, with the ruleset.

Rule cases, vignettes and the safety summary are built by create_app (in the gunicorn master):
files changed afterwards change nothing the pages show; a broken one refuses the start, naming
the file; their digest is shown beside the ruleset's.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask

from service import config as config_module
from service.config import VIGNETTES, load_config
from service.exceptions import ConfigError, TriageError
from tests.helpers import RULES, AppFactory, make_app
from tests.helpers.yaml_text import dump_yaml, load_yaml

# Nearly every test here starts the app on a changed copy of rules/: left out of test-fast.
pytestmark = pytest.mark.slow

PAGES_WITH_IDENTITY = ("/safety", "/rules", "/rules/UR1")
ALL_PAGES = (*PAGES_WITH_IDENTITY, "/", "/docs")
RULE_CASES_ONLY = "The vignette suite is not installed here: rule cases only."


def _digest_of(rules: Path, vignettes: Path | None) -> str:
    """The cases' digest computed from the files here, independently of the service's code."""
    cases = {
        path.name: load_yaml(path.read_text(encoding="utf-8"))
        for path in sorted(rules.glob("*_test.yaml"))
    }
    content = {
        "cases": cases,
        "vignettes": load_yaml(vignettes.read_text(encoding="utf-8")) if vignettes else None,
    }
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _edit(path: Path, change: Callable[[Any], None]) -> None:
    """Load a YAML file, change it, write it back."""
    content = load_yaml(path.read_text(encoding="utf-8"))
    change(content)
    path.write_text(dump_yaml(content, sort_keys=False), encoding="utf-8")


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of rules/ and of the vignette file, to change."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    vignettes = tmp_path / "vignettes.yaml"
    shutil.copyfile(VIGNETTES, vignettes)
    return rules, vignettes


def _app(rules: Path, vignettes: Path | str | None) -> Flask:
    settings: dict[str, Any] = {"RULES_DIR": str(rules)}
    if vignettes is not None:
        settings["VIGNETTES"] = str(vignettes)
    return make_app(settings)


def _pages(app: Flask) -> dict[str, str]:
    client = app.test_client()
    answers = {}
    for path in ALL_PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        answers[path] = response.get_data(as_text=True)
    answers["/readyz"] = json.dumps(client.get("/readyz").get_json(), sort_keys=True)
    return answers


def test_files_changed_after_start_change_nothing_the_pages_show(files: tuple[Path, Path]) -> None:
    """A changed, a broken and a removed file after start: every page the same, /safety 200."""
    rules, vignettes = files
    app = _app(rules, vignettes)
    before = _pages(app)
    safety = before["/safety"]
    assert '<tr class="suite-vignettes">' in safety

    def wrong(content: Any) -> None:
        for case in content["cases"]:
            case["expect"]["level"] = "orthopedic_surgeon"

    _edit(rules / "pain_test.yaml", wrong)  # read again, every pain case would now be a miss
    (rules / "fracture_test.yaml").write_text("family: fracture\ncases: [\n", encoding="utf-8")
    (rules / "children_test.yaml").unlink()
    vignettes.unlink()

    assert _pages(app) == before
    assert _digest_of(RULES, VIGNETTES) in safety  # the files as they were at start
    with pytest.raises(TriageError, match=r"fracture_test\.yaml: not valid YAML"):
        _app(rules, None)  # the files now: a new start would refuse them


@pytest.mark.parametrize(
    ("breakage", "where", "message"),
    [
        (
            lambda rules, _v: (rules / "pain_test.yaml").write_text(
                "family: pain\ncases: [\n", encoding="utf-8"
            ),
            "pain_test.yaml",
            "not valid YAML",
        ),
        (
            lambda rules, _v: (rules / "pain_test.yaml").write_text(
                (RULES / "pain_test.yaml")
                .read_text(encoding="utf-8")
                .replace("not_fired:", "nofired:"),
                encoding="utf-8",
            ),
            "pain_test.yaml",
            "nofired",
        ),
        (
            lambda rules, _v: _edit(
                rules / "fracture_test.yaml",
                lambda c: c["cases"][0]["expect"].update(level="self_cure"),
            ),
            "fracture_test.yaml",
            "case '.+': level 'self_cure' is not known",
        ),
        (
            lambda rules, _v: _edit(
                rules / "emergency_test.yaml",
                lambda c: c["cases"][0]["expect"].update(fired=["ZZ9"]),
            ),
            "emergency_test.yaml",
            "case '.+': no rule ZZ9",
        ),
        (
            lambda rules, _v: _edit(
                rules / "diabetes_test.yaml",
                lambda c: c["cases"][0].update(input={"symptoms": {"pain_nrs": 11}}),
            ),
            "diabetes_test.yaml",
            "case '.+': not a valid intake: .*pain_nrs",
        ),
        (
            lambda _r, vignettes: vignettes.write_text("vignettes:\n  - id: [\n", encoding="utf-8"),
            "vignettes.yaml",
            "not valid YAML",
        ),
        (
            lambda _r, vignettes: _edit(vignettes, lambda c: c["vignettes"][0].update(id="V1")),
            "vignettes.yaml",
            "id",
        ),
        (
            lambda _r, vignettes: _edit(
                vignettes, lambda c: c["vignettes"][3]["expect"].update(urgency="whenever")
            ),
            "vignettes.yaml",
            "case 'V004 .+': urgency 'whenever' is not known",
        ),
    ],
    ids=[
        "case-yaml",
        "case-shape",
        "case-level",
        "case-rule",
        "case-intake",
        "vignette-yaml",
        "vignette-shape",
        "vignette-urgency",
    ],
)
def test_a_broken_case_or_vignette_file_refuses_the_start(
    files: tuple[Path, Path],
    breakage: Callable[[Path, Path], object],
    where: str,
    message: str,
) -> None:
    """As a broken rules folder does: create_app raises, naming the file (and the case)."""
    rules, vignettes = files
    breakage(rules, vignettes)
    folder = rules if where.endswith("_test.yaml") else vignettes.parent
    with pytest.raises(TriageError, match=message) as refused:
        _app(rules, vignettes)
    assert str(refused.value).startswith(f"{folder / where}: ")


def test_a_missing_vignette_file_that_was_asked_for_refuses_the_start(
    tmp_path: Path, app_factory: AppFactory
) -> None:
    """TRIAGE_VIGNETTES names a file: one that is not there is a bad setting, not 'no vignettes'."""
    missing = tmp_path / "vignettes.yaml"
    with pytest.raises(ConfigError, match=f"TRIAGE_VIGNETTES: {missing} is not a file"):
        load_config(environ={"TRIAGE_VIGNETTES": str(missing)})
    with pytest.raises(ConfigError, match="TRIAGE_VIGNETTES"):
        app_factory({"VIGNETTES": str(missing)})


def test_vignettes_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset: the shipped file if it is there, else none; empty: none; else that file."""
    assert load_config(environ={})["VIGNETTES"] == str(VIGNETTES)
    assert load_config(environ={"TRIAGE_VIGNETTES": ""})["VIGNETTES"] is None
    copy = tmp_path / "mine.yaml"
    shutil.copyfile(VIGNETTES, copy)
    assert load_config(environ={"TRIAGE_VIGNETTES": str(copy)})["VIGNETTES"] == str(copy)
    monkeypatch.setattr(config_module, "VIGNETTES", tmp_path / "absent.yaml")
    assert load_config(environ={})["VIGNETTES"] is None


def test_pages_show_the_digest_of_the_files(app: Flask) -> None:
    """The pages, the footer and /readyz show the digest computed from the files, beside the
    ruleset's."""
    digest = _digest_of(RULES, VIGNETTES)
    client = app.test_client()
    ruleset = app.extensions["triage"].ruleset
    for path in PAGES_WITH_IDENTITY:
        html = client.get(path).get_data(as_text=True)
        start = html.index('<dl class="identity">')
        identity = html[start : html.index("</dl>", start)]
        assert f'<code class="sha">{ruleset.sha256}</code>' in identity
        assert f'<code class="sha cases-sha">{digest}</code>' in identity, path
        assert "rule cases and 127 clinical vignettes, replayed at start" in identity
    for path in ALL_PAGES:
        footer = client.get(path).get_data(as_text=True).split('<footer class="site">')[1]
        assert f'<code title="{ruleset.sha256}">{ruleset.sha256[:12]}</code>' in footer
        assert f'<code class="cases-sha" title="{digest}">{digest[:12]}</code>' in footer, path
        assert "rule cases only" not in footer
    cases = client.get("/readyz").get_json()["cases"]
    assert cases == {
        "sha256": digest,
        "rule_cases": len(app.extensions["site_data"].cases),
        "vignettes": 127,
    }


def test_the_digest_follows_the_content_not_the_layout(files: tuple[Path, Path]) -> None:
    """Comments and layout leave the digest alone; a changed expectation changes it."""
    rules, vignettes = files
    original = _app(rules, vignettes).extensions["site_data"].sha256
    assert original == _digest_of(RULES, VIGNETTES)
    pain = rules / "pain_test.yaml"
    pain.write_text("# a new comment\n" + pain.read_text(encoding="utf-8"), encoding="utf-8")
    assert _app(rules, vignettes).extensions["site_data"].sha256 == original
    _edit(pain, lambda c: c["cases"][0]["expect"].update(level="orthopedic_surgeon"))
    changed = _app(rules, vignettes).extensions["site_data"].sha256
    assert changed != original
    assert changed == _digest_of(rules, vignettes)


def test_without_a_vignette_file_the_pages_say_rule_cases_only(files: tuple[Path, Path]) -> None:
    """TRIAGE_VIGNETTES empty: the rule cases only, said on /safety, beside the digest and in the
    footer; /readyz has vignettes null; the digest is that of the case files alone."""
    rules, _vignettes = files
    app = _app(rules, "")
    client = app.test_client()
    digest = _digest_of(rules, None)
    safety = client.get("/safety").get_data(as_text=True)
    assert RULE_CASES_ONLY in safety
    assert '<tr class="suite-vignettes">' not in safety
    assert '<tr class="suite-rule-cases">' in safety
    for path in PAGES_WITH_IDENTITY:
        html = client.get(path).get_data(as_text=True)
        assert "rule cases only (no vignette file here), replayed at start" in html
        assert f'<code class="sha cases-sha">{digest}</code>' in html
    assert "(rule cases only)" in client.get("/").get_data(as_text=True)
    assert client.get("/readyz").get_json()["cases"]["vignettes"] is None
    assert app.extensions["site_data"].sha256 == digest


def test_whether_there_are_vignettes_is_decided_at_start(
    files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default file absent at start (an image without tests/): it appearing later changes
    nothing; the app keeps showing the rule cases only."""
    rules, vignettes = files
    later = vignettes.parent / "later" / "vignettes.yaml"
    monkeypatch.setattr(config_module, "VIGNETTES", later)
    app = _app(rules, None)
    before = _pages(app)
    assert RULE_CASES_ONLY in before["/safety"]
    later.parent.mkdir()
    shutil.copyfile(vignettes, later)
    assert _pages(app) == before


def test_the_fast_yaml_reader_reads_what_the_pure_one_reads(tmp_path: Path) -> None:
    """read_yaml uses libyaml's parser when PyYAML has it (start-up time): the same documents
    for every rules/ file and the vignettes, and a duplicate key refused all the same."""
    from service.domain.ruleset_loader import _LOADER, _UniqueKeyLoader, read_yaml

    assert yaml.__with_libyaml__, "PyYAML's wheels bundle libyaml: start-up time counts on it"
    for path in [*sorted(RULES.glob("*.yaml")), VIGNETTES]:
        with path.open(encoding="utf-8") as handle:
            pure = yaml.load(handle, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
        assert read_yaml(path) == pure, path
    twice = tmp_path / "twice.yaml"
    twice.write_text("a: 1\nb: {c: 1, c: 2}\n", encoding="utf-8")
    for loader in (_LOADER, _UniqueKeyLoader):
        with pytest.raises(yaml.YAMLError, match="duplicate key 'c'"), twice.open() as handle:
            yaml.load(handle, Loader=loader)  # noqa: S506 (SafeConstructor only)
