"""Settings come from TRIAGE_* variables and are validated before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import load_config
from service.exceptions import ConfigError
from tests.helpers import RULES, AppFactory


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


def test_body_limit_is_applied(app_factory: AppFactory) -> None:
    """A smaller limit turns a 2 KiB body into 413."""
    app = app_factory({"MAX_BODY_BYTES": 1024})
    raw = b'{"symptoms": {}, "pad": "' + b"a" * 2048 + b'"}'
    response = app.test_client().post("/v1/triage", data=raw, content_type="application/json")
    assert response.status_code == 413


def test_log_level_is_validated() -> None:
    """TRIAGE_LOG_LEVEL takes the usual names, case-insensitively."""
    assert load_config(environ={"TRIAGE_LOG_LEVEL": "warning"})["LOG_LEVEL"] == "WARNING"
    with pytest.raises(ConfigError, match="TRIAGE_LOG_LEVEL"):
        load_config(environ={"TRIAGE_LOG_LEVEL": "chatty"})


def test_debug_mode_is_impossible(monkeypatch: pytest.MonkeyPatch, app_factory: AppFactory) -> None:
    """FLASK_DEBUG=1 changes nothing: no debugger, no traceback in any answer."""
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = app_factory()
    assert app.debug is False
    assert app.config["PROPAGATE_EXCEPTIONS"] is False

    def explode() -> None:
        raise RuntimeError("secret internals")

    app.add_url_rule("/explode", "explode", explode)
    response = app.test_client().get("/explode")
    assert response.status_code == 500
    assert b"Traceback" not in response.data
    assert b"secret internals" not in response.data
