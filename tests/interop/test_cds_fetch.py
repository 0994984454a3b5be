"""A missing CDS Hooks prefetch, fetched from the call's fhirServer: a fake FHIR server locally."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.config import load_config
from service.exceptions import ConfigError
from service.interop.cds import fhir_fetch as cds_fetch
from tests.helpers import vignettes
from tests.helpers.cds import PATIENT_ID, validator
from tests.helpers.cds import call as _call
from tests.helpers.cds import qr as _qr
from tests.helpers.fhir import QUESTIONNAIRE_URL

# Each test builds its own app against its own fake FHIR server.
pytestmark = pytest.mark.slow

CARDS = validator("cds-cards")
VIGNETTES = vignettes()

SERVICE = "/cds-services/forefoot-triage"
ACCESS_TOKEN = "ehr-access-token-0123456789abcdef"  # noqa: S105 (made up for the test)


class FakeFhir:
    """Answers QuestionnaireResponse searches; records what it was asked; can misbehave."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.bundle: dict[str, Any] = {}
        self.status = 200
        self.delay = 0.0
        self.media = "application/fhir+json"
        self.location: str | None = None
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append(
                    {"path": self.path, "authorization": self.headers.get("Authorization")}
                )
                time.sleep(owner.delay)
                body = json.dumps(owner.bundle).encode()
                self.send_response(owner.status)
                if owner.location:
                    self.send_header("Location", owner.location)
                self.send_header("Content-Type", owner.media)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except BrokenPipeError:  # the service gave up waiting: as intended
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/fhir"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def fhir_server() -> Iterator[FakeFhir]:
    server = FakeFhir()
    yield server
    server.close()


@pytest.fixture
def fake(fhir_server: FakeFhir) -> FakeFhir:
    fhir_server.requests.clear()
    fhir_server.bundle = _bundle(_qr(VIGNETTES[0].intake))
    fhir_server.status, fhir_server.delay = 200, 0.0
    fhir_server.media, fhir_server.location = "application/fhir+json", None
    return fhir_server


@pytest.fixture(scope="module")
def fetching_app(fhir_server: FakeFhir) -> Flask:
    return create_app({"CDS_FHIR_SERVERS": fhir_server.base + "/"})


@pytest.fixture
def fetching(fetching_app: Flask) -> FlaskClient:
    return fetching_app.test_client()


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": resource} for resource in resources],
    }


def _no_prefetch(server: str, **overrides: Any) -> dict[str, Any]:
    authorization = {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "scope": "x"}
    return _call(fhirServer=server, fhirAuthorization=authorization, **overrides)


def test_a_missing_prefetch_is_fetched(
    fetching: FlaskClient, client: FlaskClient, fake: FakeFhir
) -> None:
    response = fetching.post(SERVICE, json=_no_prefetch(fake.base))
    assert response.status_code == 200, response.get_data(as_text=True)
    CARDS.validate(response.get_json())
    (asked,) = fake.requests
    assert asked["authorization"] == f"Bearer {ACCESS_TOKEN}"
    url = urlsplit(asked["path"])
    assert url.path == "/fhir/QuestionnaireResponse"
    assert parse_qs(url.query) == {
        "subject": [f"Patient/{PATIENT_ID}"],
        "questionnaire": [QUESTIONNAIRE_URL],
        "_sort": ["-authored"],
        "_count": ["1"],
    }
    prefetched = client.post(SERVICE, json=_call(_qr(VIGNETTES[0].intake))).get_json()
    (fetched_card,), (prefetched_card,) = response.get_json()["cards"], prefetched["cards"]
    assert fetched_card["summary"] == prefetched_card["summary"]


def test_an_empty_search_gives_no_card(fetching: FlaskClient, fake: FakeFhir) -> None:
    fake.bundle = _bundle()
    response = fetching.post(SERVICE, json=_no_prefetch(fake.base))
    assert response.get_json() == {"cards": []}


def test_a_fetched_response_is_checked_like_a_prefetch(
    fetching: FlaskClient, fake: FakeFhir
) -> None:
    other = _qr(VIGNETTES[0].intake)
    other["subject"] = {"reference": "Patient/someone-else"}
    fake.bundle = _bundle(other)
    assert fetching.post(SERVICE, json=_no_prefetch(fake.base)).status_code == 412


@pytest.mark.parametrize(
    ("setup", "says"),
    [
        ({"status": 401}, "could not be queried"),
        ({"status": 500}, "could not be queried"),
        ({"status": 302, "location": "http://127.0.0.1:9/elsewhere"}, "could not be queried"),
        ({"delay": 1.0}, "could not be queried"),
        ({"media": "text/html"}, "FHIR JSON"),
    ],
    ids=["401", "500", "redirect-not-followed", "timeout", "not-fhir"],
)
def test_a_failed_fetch_is_412(
    fetching: FlaskClient,
    fake: FakeFhir,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setup: dict[str, Any],
    says: str,
) -> None:
    monkeypatch.setattr(cds_fetch, "FETCH_SECONDS", 0.3)
    for name, value in setup.items():
        setattr(fake, name, value)
    started = time.monotonic()
    response = fetching.post(SERVICE, json=_no_prefetch(fake.base))
    assert time.monotonic() - started < 1.0  # bounded
    assert response.status_code == 412
    assert says in response.get_json()["detail"]
    assert len(fake.requests) == 1  # a redirect is not followed with the token
    logged = capsys.readouterr()
    assert ACCESS_TOKEN not in logged.out + logged.err
    assert PATIENT_ID not in logged.out + logged.err


def test_no_fetch_without_authorization_or_from_unlisted_servers(
    fetching: FlaskClient, client: FlaskClient, fake: FakeFhir
) -> None:
    """Only listed servers, and only with a bearer fhirAuthorization: else 412 as before."""
    no_auth = _call(fhirServer=fake.base)
    assert fetching.post(SERVICE, json=no_auth).status_code == 412
    unlisted = _no_prefetch("http://127.0.0.1:9/fhir")
    assert fetching.post(SERVICE, json=unlisted).status_code == 412
    assert client.post(SERVICE, json=_no_prefetch(fake.base)).status_code == 412  # no setting
    assert fake.requests == []


def test_an_odd_patient_id_is_never_put_in_a_query(fetching: FlaskClient, fake: FakeFhir) -> None:
    call = _no_prefetch(fake.base)
    call["context"]["patientId"] = "1&_include=*"
    assert fetching.post(SERVICE, json=call).status_code == 412
    assert fake.requests == []


def test_fhir_servers_are_checked_at_start() -> None:
    with pytest.raises(ConfigError, match="TRIAGE_CDS_FHIR_SERVERS"):
        load_config(environ={"TRIAGE_CDS_FHIR_SERVERS": "http://ehr.example.org/fhir"})
    config = load_config(environ={"TRIAGE_CDS_FHIR_SERVERS": "https://ehr.example.org/fhir/"})
    assert config["CDS_FHIR_SERVERS"] == ("https://ehr.example.org/fhir",)
