"""openapi.yaml passes openapi-spec-validator, Spectral (spectral:oas) and Redocly (strict)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
from referencing.exceptions import Unresolvable

from tests.helpers import ROOT
from tests.helpers.yaml_text import dump_yaml, load_yaml

CONTRACT = ROOT / "openapi.yaml"
RULESET = ROOT / ".spectral.yaml"
SPECTRAL = ROOT / "node_modules" / ".bin" / "spectral"
REDOCLY = ROOT / "node_modules" / ".bin" / "redocly"
REDOCLY_CONFIG = ROOT / "redocly.yaml"

needs_spectral = pytest.mark.skipif(
    not SPECTRAL.exists(),
    reason="node_modules/.bin/spectral is missing: make test installs Spectral "
    "with npm ci only when npm exists",
)


needs_redocly = pytest.mark.skipif(
    not REDOCLY.exists(),
    reason="node_modules/.bin/redocly is missing: make test installs it when npm exists",
)


def _redocly(spec: Path) -> tuple[int, list[dict[str, Any]]]:
    """Redocly's exit code and its problems (JSON) with redocly.yaml (recommended-strict)."""
    result = subprocess.run(
        [str(REDOCLY), "lint", str(spec), "--config", str(REDOCLY_CONFIG), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"},
        timeout=120,
        check=False,
    )
    problems: list[dict[str, Any]] = json.loads(result.stdout)["problems"]
    return result.returncode, problems


def _spectral(spec: Path) -> tuple[int, list[dict[str, Any]]]:
    """Spectral's exit code and its findings (JSON) for one file, failing on warnings."""
    result = subprocess.run(
        [
            str(SPECTRAL),
            "lint",
            str(spec),
            "--ruleset",
            str(RULESET),
            "--fail-severity=warn",
            "--format",
            "json",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    findings: list[dict[str, Any]] = json.loads(result.stdout)
    return result.returncode, findings


@pytest.fixture
def broken_contract(tmp_path: Path) -> Path:
    """A copy of openapi.yaml with a $ref to nowhere and an operation without a description."""
    spec = load_yaml(CONTRACT.read_text(encoding="utf-8"))
    operation = spec["paths"]["/healthz"]["get"]
    del operation["description"]
    operation["responses"]["200"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/Missing"
    }
    path = tmp_path / "openapi.yaml"
    path.write_text(dump_yaml(spec, sort_keys=False), encoding="utf-8")
    return path


def test_openapi_spec_validator_accepts_the_contract() -> None:
    """openapi-spec-validator finds no error in openapi.yaml."""
    spec, _ = read_from_filename(str(CONTRACT))
    validate(spec)


@needs_spectral
@pytest.mark.slow  # runs Spectral under node
def test_spectral_reports_nothing() -> None:
    """Spectral with spectral:oas exits 0 with zero findings, warnings included."""
    returncode, findings = _spectral(CONTRACT)
    assert findings == []
    assert returncode == 0


def test_openapi_spec_validator_rejects_a_broken_ref(broken_contract: Path) -> None:
    """openapi-spec-validator raises on a $ref to nowhere (the validator test can fail)."""
    spec, _ = read_from_filename(str(broken_contract))
    with pytest.raises(Unresolvable, match="/components/schemas/Missing"):
        validate(spec)


@needs_spectral
@pytest.mark.slow  # runs Spectral under node
def test_spectral_reports_a_broken_ref_and_a_missing_description(broken_contract: Path) -> None:
    """Spectral exits 1 naming invalid-ref and operation-description (its test can fail)."""
    returncode, findings = _spectral(broken_contract)
    assert returncode == 1
    assert {"invalid-ref", "operation-description"} <= {finding["code"] for finding in findings}


@needs_redocly
@pytest.mark.slow  # runs Redocly under node
def test_redocly_reports_nothing() -> None:
    """Redocly's recommended rules, warnings raised to errors, find nothing in openapi.yaml."""
    returncode, problems = _redocly(CONTRACT)
    assert problems == []
    assert returncode == 0


@needs_redocly
@pytest.mark.slow  # runs Redocly under node
def test_redocly_reports_an_open_operation_without_security(tmp_path: Path) -> None:
    """An open operation without security: [] is an error (security-defined; it can fail)."""
    spec = load_yaml(CONTRACT.read_text(encoding="utf-8"))
    del spec["paths"]["/healthz"]["get"]["security"]
    path = tmp_path / "openapi.yaml"
    path.write_text(dump_yaml(spec, sort_keys=False), encoding="utf-8")
    returncode, problems = _redocly(path)
    assert returncode == 1
    assert {problem["ruleId"] for problem in problems} == {"security-defined"}
