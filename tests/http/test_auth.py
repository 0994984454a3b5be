"""Optional API keys: several at once for rotation; 401 problem+json; health stays open."""

from __future__ import annotations

import pytest
from flask import Flask

from service.config import load_config
from service.exceptions import ConfigError
from tests.helpers import AppFactory

KEY_A = "rotation-key-aaaaaaaaaaaa"
KEY_B = "rotation-key-bbbbbbbbbbbb"


@pytest.fixture(scope="module")
def keyed(app_factory: AppFactory) -> Flask:
    """An app that requires one of two keys."""
    return app_factory({"API_KEYS": f"{KEY_A}, {KEY_B}"})


@pytest.mark.parametrize("key", [KEY_A, KEY_B])
def test_either_key_is_accepted(keyed: Flask, key: str) -> None:
    """During a rotation both the old and the new key work."""
    response = keyed.test_client().post("/v1/triage", json={}, headers={"X-API-Key": key})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "wrong-key-cccccccccccccc"}, {"X-API-Key": KEY_A[:-1]}, {"X-API-Key": ""}],
    ids=["none", "wrong", "prefix of a key", "empty"],
)
def test_missing_or_wrong_key_is_401(keyed: Flask, headers: dict[str, str]) -> None:
    """401 problem+json on every /v1 path, before the body is even read."""
    client = keyed.test_client()
    for method, path in [("POST", "/v1/triage"), ("GET", "/v1/rules"), ("GET", "/v1/questions")]:
        response = client.open(path, method=method, json={}, headers=headers)
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        assert response.headers["Cache-Control"] == "no-store"


def test_the_401_in_spanish(keyed: Flask) -> None:
    """The 401's title and detail follow the language; the header's name and the challenge stay."""
    response = keyed.test_client().post("/v1/triage?lang=es", json={})
    assert response.status_code == 401
    assert (response.get_json()["title"], response.get_json()["detail"]) == (
        "No autorizado",
        "Envíe una clave de API válida en la cabecera X-API-Key.",
    )
    assert response.headers["Content-Language"] == "es"
    assert "WWW-Authenticate" in response.headers
    english = keyed.test_client().post("/v1/triage", json={}).get_json()
    assert english["detail"] == "Send a valid API key in the X-API-Key header."


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.yaml"])
def test_operational_paths_stay_open(keyed: Flask, path: str) -> None:
    """Probes, metrics and the contract need no key."""
    assert keyed.test_client().get(path).status_code == 200


def test_no_keys_configured_means_open(client: object) -> None:
    """Without TRIAGE_API_KEYS the API is open (the default, for local use)."""
    assert load_config(environ={})["API_KEYS"] == ()


@pytest.mark.parametrize("raw", ["short", "has space in it 123456", "é" * 20])
def test_weak_or_malformed_keys_are_refused(raw: str) -> None:
    """Keys must be 16+ URL-safe characters; the message never repeats the key."""
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"TRIAGE_API_KEYS": raw})
    assert raw not in str(caught.value)


def test_keys_never_reach_the_logs(keyed: Flask, capsys: pytest.CaptureFixture[str]) -> None:
    """Neither a valid nor an invalid key appears in any log line."""
    client = keyed.test_client()
    client.post("/v1/triage", json={}, headers={"X-API-Key": KEY_A})
    client.post("/v1/triage", json={}, headers={"X-API-Key": "wrong-key-dddddddddddddd"})
    out = capsys.readouterr()
    logged = out.out + out.err
    assert '"status":401' in logged
    assert KEY_A not in logged
    assert "dddddddddddddd" not in logged
