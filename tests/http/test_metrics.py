"""The operators' metrics through the real app: the ruleset info gauge and engine failures.

Each scrape is parsed with prometheus_client's own text parser, as Prometheus reads it.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from service.exceptions import EngineError
from tests.helpers import AppFactory

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
FAILURES = ("triage_engine_failures_total", ())


def _scrape(client: FlaskClient) -> tuple[Samples, dict[str, str]]:
    """(samples by name and labels, family name -> type) of one GET /metrics."""
    response = client.get("/metrics")
    assert response.status_code == 200
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, types


def _failing_app(app_factory: AppFactory) -> Flask:
    """A real app whose engine fails on every evaluation (as a durable-rules fault would)."""
    broken = app_factory()

    def failing(_facts: Any) -> list[str]:
        raise EngineError("boom")

    broken.extensions["triage"].engine.evaluate = failing
    return broken


def test_ruleset_info_is_there_from_the_first_scrape(app_factory: AppFactory) -> None:
    """Before any request: one series triage_ruleset_info{version, sha256} 1, a gauge, with
    exactly the version and digest /readyz reports."""
    client = app_factory().test_client()
    samples, types = _scrape(client)
    identity = client.get("/readyz").get_json()["ruleset"]
    info = {key: value for key, value in samples.items() if key[0] == "triage_ruleset_info"}
    assert info == {
        (
            "triage_ruleset_info",
            (("sha256", identity["sha256"]), ("version", identity["version"])),
        ): 1.0
    }
    assert types["triage_ruleset_info"] == "gauge"
    assert len(identity["sha256"]) == 64


def test_ruleset_info_follows_the_loaded_ruleset(app: Flask, client: FlaskClient) -> None:
    """The labels are the app's own ruleset, not a constant: a scrape of the session app agrees
    with its Triage."""
    ruleset = app.extensions["triage"].ruleset
    samples, _ = _scrape(client)
    key = ("triage_ruleset_info", (("sha256", ruleset.sha256), ("version", ruleset.version)))
    assert samples[key] == 1.0


def test_engine_failures_start_at_zero_and_a_triage_does_not_count(client: FlaskClient) -> None:
    """The counter is exposed before any failure (so a rate() alert has a series); a good
    evaluation leaves it as it was."""
    before, types = _scrape(client)
    assert types["triage_engine_failures"] == "counter"
    assert client.post("/v1/triage", json={"symptoms": {"pain_nrs": 3}}).status_code == 200
    after, _ = _scrape(client)
    assert after[FAILURES] == before[FAILURES]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "failures"),
    [
        ("post", "/v1/triage", {}, 500, 1),
        ("post", "/v1/triage/batch", {"intakes": [{}, {}, {"symptoms": {"pain_nrs": 2}}]}, 200, 3),
        ("post", "/v1/triage", {"x": 1}, 422, 0),
    ],
    ids=["v1-500", "batch-items", "invalid-never-evaluated"],
)
def test_every_evaluation_that_fails_closed_is_counted(
    app_factory: AppFactory,
    method: str,
    path: str,
    body: dict[str, Any],
    status: int,
    failures: int,
) -> None:
    """Each failed evaluation is one count, also each batch item; a request refused before the
    engine (422) is none. No level is answered for a failed one."""
    client = _failing_app(app_factory).test_client()
    before, _ = _scrape(client)
    response = getattr(client, method)(path, json=body)
    assert response.status_code == status
    if failures:
        assert '"level"' not in response.get_data(as_text=True)
    after, _ = _scrape(client)
    assert after[FAILURES] - before[FAILURES] == failures


def test_the_page_form_counts_its_engine_failure(app_factory: AppFactory) -> None:
    """The HTML form answers a failure with its safety-net page, and it is counted too."""
    client = _failing_app(app_factory).test_client()
    before, _ = _scrape(client)
    page = client.post("/", data={"pain_nrs": "3"})
    assert page.status_code == 500
    assert page.mimetype == "text/html"
    after, _ = _scrape(client)
    assert after[FAILURES] - before[FAILURES] == 1
