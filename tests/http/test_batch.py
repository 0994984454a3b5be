"""POST /v1/triage/batch: each intake answered exactly as /v1/triage would, in order, on its own."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.config import load_config
from service.exceptions import ConfigError, EngineError
from tests.helpers import AppFactory, vignettes

BATCH = "/v1/triage/batch"
VIGNETTES = vignettes()


@pytest.fixture(scope="module")
def roomy(app_factory: AppFactory) -> Flask:
    """An app with a 1 MiB body limit and room for every vignette in one batch."""
    return app_factory({"MAX_BODY_BYTES": 1024 * 1024, "MAX_BATCH": len(VIGNETTES)})


def _without_id(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "decision_id"}


def test_results_equal_single_calls(roomy: Flask) -> None:
    """Every vignette, in batches of TRIAGE_MAX_BATCH: each result is the /v1/triage answer,
    apart from decision_id."""
    client = roomy.test_client()
    limit = roomy.config["MAX_BATCH"]
    intakes = [vignette.intake for vignette in VIGNETTES]
    for first in range(0, len(intakes), limit):
        chunk = intakes[first : first + limit]
        request_id = f"req-{first}"
        response = client.post(BATCH, json={"intakes": chunk}, headers={"X-Request-ID": request_id})
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "no-store"
        results = response.get_json()["results"]
        assert [entry["index"] for entry in results] == list(range(len(chunk)))
        for index, (entry, intake) in enumerate(zip(results, chunk, strict=True)):
            single = client.post("/v1/triage", json=intake).get_json()
            assert _without_id(entry["result"]) == _without_id(single)
            assert entry["result"]["decision_id"] == f"{request_id}.{index}"


def test_one_bad_intake_spoils_nothing(client: FlaskClient) -> None:
    """The bad intake gets the 422 problem /v1/triage gives; its neighbours get their results."""
    bad = {"symptoms": {"pain_nrs": 11}}
    intakes = [VIGNETTES[0].intake, bad, "not an intake", VIGNETTES[1].intake]
    results = client.post(BATCH, json={"intakes": intakes}).get_json()["results"]
    assert [("result" in entry, "error" in entry) for entry in results] == [
        (True, False),
        (False, True),
        (False, True),
        (True, False),
    ]
    single = client.post("/v1/triage", json=bad).get_json()
    error = results[1]["error"]
    assert error["status"] == 422
    assert (
        error["errors"]
        == single["errors"]
        == [{"field": "symptoms.pain_nrs", "message": single["errors"][0]["message"]}]
    )
    assert results[2]["error"]["errors"][0]["field"] == "(body)"


@pytest.mark.parametrize(
    "body",
    [{}, {"intakes": []}, {"intakes": {}}, {"intakes": [{}], "extra": 1}, [], "intakes"],
    ids=["no-intakes", "empty", "not-a-list", "extra-key", "array", "string"],
)
def test_a_body_that_is_not_a_batch_is_422(client: FlaskClient, body: Any) -> None:
    """Not {"intakes": [1 or more]}: 422 problem+json naming intakes."""
    response = client.post(BATCH, json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["field"] == "intakes"


def test_over_the_limit_is_422(app_factory: AppFactory) -> None:
    """TRIAGE_MAX_BATCH=2: three intakes are refused, two are answered."""
    client = app_factory({"MAX_BATCH": 2}).test_client()
    assert client.post(BATCH, json={"intakes": [{}, {}, {}]}).status_code == 422
    assert client.post(BATCH, json={"intakes": [{}, {}]}).status_code == 200


def test_a_full_default_batch_fits(client: FlaskClient) -> None:
    """100 complete intakes (about 100 KB) fit the batch's body limit with default settings."""
    intakes = [VIGNETTES[i % len(VIGNETTES)].intake for i in range(100)]
    response = client.post(BATCH, json={"intakes": intakes})
    assert response.status_code == 200
    assert len(response.get_json()["results"]) == 100


def test_over_the_body_limit_is_413(client: FlaskClient) -> None:
    """The batch body is limited to TRIAGE_MAX_BATCH x 4 KiB (at least TRIAGE_MAX_BODY_BYTES)."""
    raw = b'{"intakes": [{}], "pad": "' + b"a" * (100 * 4096) + b'"}'
    response = client.post(BATCH, data=raw, content_type="application/json")
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def _second_evaluation_fails(app: Flask) -> Flask:
    """`app`, whose engine raises EngineError on its second evaluation (and only then)."""
    triage = app.extensions["triage"]
    real = triage.engine.evaluate
    calls = {"n": 0}

    def flaky(facts: Any) -> list[str]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise EngineError("boom")
        return real(facts)

    triage.engine.evaluate = flaky
    return app


def test_an_engine_failure_spoils_only_its_intake(app_factory: AppFactory) -> None:
    """A failing evaluation gives that item a 500 problem; the others are answered."""
    app = _second_evaluation_fails(app_factory())
    results = app.test_client().post(BATCH, json={"intakes": [{}, {}, {}]}).get_json()["results"]
    assert [("result" in r, "error" in r) for r in results] == [
        (True, False),
        (False, True),
        (True, False),
    ]
    assert results[1]["error"]["status"] == 500


def test_an_engine_failure_in_a_spanish_batch_is_said_in_spanish(app_factory: AppFactory) -> None:
    """The failed item's 500 problem is in the batch's language, like its neighbours."""
    app = _second_evaluation_fails(app_factory())
    results = (
        app.test_client().post(BATCH + "?lang=es", json={"intakes": [{}, {}]}).get_json()["results"]
    )
    assert results[0]["result"]["language"] == "es"
    assert results[1]["error"] == {
        "type": "about:blank",
        "title": "Error interno del servidor",
        "status": 500,
        "detail": "El motor de reglas falló; no se da ningún resultado de clasificación.",
    }


def test_batch_takes_the_api_key(app_factory: AppFactory) -> None:
    """With TRIAGE_API_KEYS set, the batch needs a key like /v1/triage."""
    key = "batch-key-aaaaaaaaaaaaaaa"
    client = app_factory({"API_KEYS": key}).test_client()
    assert client.post(BATCH, json={"intakes": [{}]}).status_code == 401
    assert client.post(BATCH, json={"intakes": [{}]}, headers={"X-API-Key": key}).status_code == 200


def test_max_batch_setting() -> None:
    """TRIAGE_MAX_BATCH: 100 by default, read from the environment, 1 to 1000."""
    assert load_config(environ={})["MAX_BATCH"] == 100
    assert load_config(environ={"TRIAGE_MAX_BATCH": "7"})["MAX_BATCH"] == 7
    with pytest.raises(ConfigError, match="TRIAGE_MAX_BATCH must be a whole number"):
        load_config(environ={"TRIAGE_MAX_BATCH": "many"})
    with pytest.raises(ConfigError, match="between 1 and 1000"):
        load_config(environ={"TRIAGE_MAX_BATCH": "0"})
