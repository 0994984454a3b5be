"""Shared fixtures: one app per session (the engine is built once, as in a worker)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.ruleset import Ruleset

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"


@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:
    """The real application on the real rules folder."""
    yield create_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the session app."""
    return app.test_client()


@pytest.fixture(scope="session")
def ruleset(app: Flask) -> Ruleset:
    """The loaded ruleset of the session app."""
    ruleset: Ruleset = app.extensions["triage"].ruleset
    return ruleset
