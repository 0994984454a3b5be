"""Shared fixtures: one app per session (the engine is built once, as in a worker)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.domain.ruleset_loader import Ruleset

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
# The seven danger signs of rule G2's screen (clinical.md 7.3).
RED_FLAG_SCREEN = (
    "fever",
    "systemically_unwell",
    "foot_cold_pale_or_blue",
    "sudden_numbness_or_weakness",
    "redness_spreading_rapidly",
    "black_or_dead_tissue",
    "hot_swollen_joint",
)


@pytest.fixture(scope="session")
def app() -> Flask:
    """The real application on the real rules folder."""
    return create_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the session app."""
    return app.test_client()


@pytest.fixture(scope="session")
def ruleset(app: Flask) -> Ruleset:
    """The loaded ruleset of the session app."""
    ruleset: Ruleset = app.extensions["triage"].ruleset
    return ruleset
