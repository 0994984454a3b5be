"""Shared fixtures (the session app, the app factory), markers by folder, hypothesis profiles."""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings

from service.domain.ruleset import Ruleset
from tests.helpers import AppFactory, make_app
from tests.helpers.locales import rules_with_pseudo_locale

# `make test-fast` loads "fast": few examples for the property tests that do not fix their own.
settings.register_profile("fast", max_examples=10, deadline=None)
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])

_TESTS = Path(__file__).resolve().parent
# Every test in these folders carries the marker: `-m "not system"` and the like select by it.
_FOLDER_MARKERS = {"system": "system", "contract": "contract"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by folder (system, contract), browser, hypothesis (property), own app (slow)."""
    for item in items:
        folder = Path(str(item.path)).relative_to(_TESTS).parts[0]
        if folder in _FOLDER_MARKERS:
            item.add_marker(_FOLDER_MARKERS[folder])
        if item.path.name == "test_browser.py":
            item.add_marker("browser")
        function = getattr(item, "obj", None)
        if getattr(function, "is_hypothesis_test", False):
            item.add_marker("property")
            # Thousands of generated intakes through code the other tests cover already: run
            # without coverage tracing, which would double the suite's time (pytest-cov).
            item.add_marker("no_cover")
        # A test that builds its own app (about half a second each) is slow.
        if callable(function) and "app_factory" in inspect.signature(function).parameters:
            item.add_marker("slow")


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A no_cover test runs untraced on a pytest-xdist worker too. pytest-cov pauses coverage
    there, but the worker's tracer stays installed on the thread running the test (every line
    still paid for: the property tests took three times as long); it is put back afterwards."""
    tracer = sys.gettrace()
    # Only coverage's tracer: a debugger's stays.
    if item.get_closest_marker("no_cover") is None or type(tracer).__module__ != "coverage":
        yield
        return
    sys.settrace(None)
    try:
        yield
    finally:
        sys.settrace(tracer)


@pytest.fixture(scope="session")
def app_factory() -> AppFactory:
    """Build a new app with test settings (`app_factory({"API_KEYS": key})`): the session app
    is shared, so a test that needs other settings or patches the app builds its own."""
    return make_app


@pytest.fixture(scope="session")
def app(app_factory: AppFactory) -> Flask:
    """The real application on the real rules folder."""
    return app_factory()


@pytest.fixture(scope="session")
def pseudo_app(tmp_path_factory: pytest.TempPathFactory, app_factory: AppFactory) -> Flask:
    """The app on a copy of rules/ with the pseudo-locale (every text wrapped in ⟦…⟧), shared:
    the tests only read it."""
    folder = rules_with_pseudo_locale(Path(tmp_path_factory.mktemp("pseudo")))
    return app_factory({"RULES_DIR": str(folder)})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the session app."""
    return app.test_client()


@pytest.fixture(scope="session")
def ruleset(app: Flask) -> Ruleset:
    """The loaded ruleset of the session app."""
    ruleset: Ruleset = app.extensions["triage"].ruleset
    return ruleset
