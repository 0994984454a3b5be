"""The container recipe and the two commands keep their promises (read as text: no Docker here)."""

from __future__ import annotations

import json
import re

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
