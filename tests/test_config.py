"""Settings come from TRIAGE_* variables and are validated before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from service import create_app
from service.config import ConfigError, load_config
from tests.conftest import RULES


def test_defaults() -> None:
    """64 KiB body limit and the repository's rules folder."""
    config = load_config(environ={})
    assert config["MAX_BODY_BYTES"] == 65536
    assert Path(config["RULES_DIR"]) == RULES


def test_environment_overrides(tmp_path: Path) -> None:
    """TRIAGE_MAX_BODY_BYTES and TRIAGE_RULES_DIR are read and typed."""
    config = load_config(
        environ={"TRIAGE_MAX_BODY_BYTES": "2048", "TRIAGE_RULES_DIR": str(tmp_path)}
    )
    assert config["MAX_BODY_BYTES"] == 2048
    assert config["RULES_DIR"] == str(tmp_path)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"TRIAGE_MAX_BODY_BYTES": "64k"}, "must be a whole number of bytes"),
        ({"TRIAGE_MAX_BODY_BYTES": "10"}, "between 1024 and 16777216"),
        ({"TRIAGE_RULES_DIR": "/nonexistent/rules"}, "is not a folder"),
    ],
)
def test_bad_settings_are_refused(environ: dict[str, str], message: str) -> None:
    """A bad value stops start-up with a message naming the variable."""
    with pytest.raises(ConfigError, match=message):
        load_config(environ=environ)


def test_body_limit_is_applied() -> None:
    """A smaller limit turns a 2 KiB body into 413."""
    app = create_app({"MAX_BODY_BYTES": 1024})
    raw = b'{"symptoms": {}, "pad": "' + b"a" * 2048 + b'"}'
    response = app.test_client().post("/v1/triage", data=raw, content_type="application/json")
    assert response.status_code == 413
