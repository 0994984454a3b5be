"""What openapi.yaml says in words is what the service does: who needs an API key, what a null
or missing CDS Hooks prefetch gives, which paths answer outside the contract, and where "Try it
out" sends a request."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import ROOT, AppFactory
from tests.helpers.yaml_text import load_yaml

CONTRACT: dict[str, Any] = load_yaml((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
KEY = "example-key-not-a-secret"
CDS_CALL = json.loads((ROOT / "docs" / "examples" / "cds-request.json").read_text("utf-8"))
METHODS = ("get", "post")
OPERATIONS = [
    (path, method, operation)
    for path, item in CONTRACT["paths"].items()
    for method, operation in item.items()
    if method in METHODS
]


def _flat(text: str) -> str:
    return " ".join(text.split())


def _schemes(operation: dict[str, Any]) -> set[str]:
    return {name for requirement in operation.get("security", []) for name in requirement}


@pytest.fixture(scope="module")
def keyed(app_factory: AppFactory) -> Flask:
    """The app with an API key configured (TRIAGE_API_KEYS), no CDS Hooks issuers."""
    return app_factory({"API_KEYS": KEY})


@pytest.mark.parametrize(
    ("path", "method", "operation"), OPERATIONS, ids=[f"{m} {p}" for p, m, _ in OPERATIONS]
)
def test_the_api_key_guards_exactly_the_operations_whose_security_names_it(
    keyed: Flask, path: str, method: str, operation: dict[str, Any]
) -> None:
    """With TRIAGE_API_KEYS set, an operation whose `security` lists ApiKey (the /v1, /fhir and
    the CDS Hooks paths alike) answers 401 without the key and never with it; the others stay
    open. Every answer is one the operation documents."""
    client = keyed.test_client()
    body = {} if method == "post" else None
    without = client.open(path, method=method.upper(), json=body)
    with_key = client.open(path, method=method.upper(), json=body, headers={"X-API-Key": KEY})
    assert (without.status_code == 401) == ("ApiKey" in _schemes(operation))
    assert with_key.status_code != 401
    documented = set(operation["responses"])
    assert {str(without.status_code), str(with_key.status_code)} <= documented


def test_the_cds_paths_say_the_api_key_guards_them() -> None:
    """The CDS Hooks texts do not claim an API key is refused there: without issuers the key
    guards them; with issuers a key is taken instead of a JWT."""
    discovery = _flat(CONTRACT["paths"]["/cds-services"]["get"]["description"])
    assert "without them the API key guards these paths when TRIAGE_API_KEYS is set" in discovery
    api_key = _flat(CONTRACT["components"]["securitySchemes"]["ApiKey"]["description"])
    assert "Required on /v1, /fhir and /cds-services" in api_key
    assert "or one of these keys" in api_key


@pytest.mark.parametrize(
    "prefetch", [None, {"resourceType": "Bundle", "type": "searchset"}], ids=["null", "empty"]
)
def test_a_null_or_empty_prefetch_gives_no_card_as_the_contract_says(
    client: FlaskClient, prefetch: Any
) -> None:
    """A null prefetch or an empty Bundle is 200 with no card, not 412."""
    call = copy.deepcopy(CDS_CALL)
    call["prefetch"]["questionnaireResponse"] = prefetch
    response = client.post("/cds-services/forefoot-triage", json=call)
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}
    operation = CONTRACT["paths"]["/cds-services/forefoot-triage"]["post"]
    assert "A null prefetch or an empty Bundle gives no card." in _flat(operation["description"])
    assert "null" not in _flat(operation["responses"]["412"]["description"])


def test_a_missing_prefetch_is_412_as_the_contract_says(client: FlaskClient) -> None:
    """With no prefetch key and nothing to fetch it from, the documented 412 problem."""
    call = copy.deepcopy(CDS_CALL)
    call["prefetch"] = {}
    response = client.post("/cds-services/forefoot-triage", json=call)
    assert response.status_code == 412
    assert response.mimetype == "application/problem+json"
    operation = CONTRACT["paths"]["/cds-services/forefoot-triage"]["post"]
    assert "missing and not fetched" in _flat(operation["description"])


@pytest.mark.parametrize("page", ["/", "/interview", "/rules", "/safety", "/docs"])
def test_only_the_named_web_pages_answer_outside_the_contract(
    client: FlaskClient, page: str
) -> None:
    """The pages answer HTML though not in the contract, which names them; any other path not
    in the contract is a 404 problem."""
    assert page not in CONTRACT["paths"]
    assert client.get(page).status_code == 200
    description = _flat(CONTRACT["info"]["description"])
    assert "(/, /interview, /rules, /safety, /docs and their assets)" in description
    missing = client.get(page.rstrip("/") + "/not-a-path")
    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"


def test_the_server_is_the_one_the_contract_is_read_from() -> None:
    """One relative server: Swagger UI's "Try it out" calls the page's own host and port
    (tests/web/test_browser.py clicks it), never make run's 127.0.0.1:8000."""
    assert [server["url"] for server in CONTRACT["servers"]] == ["/"]
